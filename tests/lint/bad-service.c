/*
 * bad-service.c: a service that breaks the boundary on purpose, for the
 * lint-service-symbols-bad test: it calls libevent and the daemon.  It is
 * compiled, never linked.
 */
struct event_base;
struct event_base	*event_base_new(void);
int			 config_load(const char *);
int			 bad_service(void);

/* Reach past service.h. */
int
bad_service(void)
{
	return event_base_new() != 0 && config_load("x") == 0;
}
