/*
 * registry.c: the table of built-in services, looked up by name once at
 * config time.  Adding a service is one file, one line here and one in
 * CMakeLists.txt.
 */
#include <stddef.h>
#include <string.h>

#include "service.h"

extern const struct service service_echo;
extern const struct service service_discard;
extern const struct service service_chargen;
extern const struct service service_daytime;
extern const struct service service_time;
extern const struct service service_qotd;
extern const struct service service_banner;
extern const struct service service_exec;

const struct service *const services[] = {
	&service_echo, &service_discard, &service_chargen, &service_daytime,
	&service_time, &service_qotd, &service_banner, &service_exec, NULL
};

/* The service called name, or NULL. */
const struct service *
service_find(const char *name)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; services[i] != NULL; i++) {
		if (strcmp(services[i]->name, name) == 0)
			return services[i];
	}
	return NULL;
}
