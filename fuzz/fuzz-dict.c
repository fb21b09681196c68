/*
 * fuzz-dict.c: print the libFuzzer dictionary entries of the config
 * format that come from the code, so that the dictionary never misses a
 * key: every [daemon] and common key of config_key_names(), every service
 * name and every service key.  fuzz/CMakeLists.txt appends this to the
 * hand-written fuzz/config.dict (syntax, units, addresses).
 */
#include <stdio.h>

#include "netsvcd.h"

int
main(void)
{
	const char *const	*names = config_key_names();
	size_t			 i, j;

	printf("# From config_key_names() and the service registry.\n");
	for (i = 0; names[i] != NULL; i++) {
		printf("\"%s\"\n", names[i]);
		printf("\"\\x0a%s = \"\n", names[i]);
	}
	for (i = 0; services[i] != NULL; i++) {
		printf("\"%s\"\n", services[i]->name);
		printf("\"service = %s\"\n", services[i]->name);
		for (j = 0; services[i]->keys != NULL &&
		    services[i]->keys[j] != NULL; j++) {
			printf("\"%s\"\n", services[i]->keys[j]);
			printf("\"\\x0a%s = \"\n", services[i]->keys[j]);
		}
	}
	return 0;
}
