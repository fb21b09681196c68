/*
 * registry.c: the table of built-in services, looked up by name once at
 * config time.  The services are listed once, in registry.list; a build
 * may add its own list (the unit tests add a test-only service) with
 * -DSERVICE_LIST_EXTRA='"file"'.
 */
#include <stddef.h>
#include <string.h>

#include "service.h"

#define SERVICE(name)	extern const struct service service_##name;
#include "registry.list"
#ifdef SERVICE_LIST_EXTRA
#include SERVICE_LIST_EXTRA
#endif
#undef SERVICE

#define SERVICE(name)	&service_##name,
const struct service *const services[] = {
#include "registry.list"
#ifdef SERVICE_LIST_EXTRA
#include SERVICE_LIST_EXTRA
#endif
	NULL
};
#undef SERVICE

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
