/*
 * badmod.c: test modules, one per BAD_* definition, each wrong in one way
 * that "netsvcd -t" must report (tests/modules/test-modules.c); without
 * a BAD_* definition, a good module called "other" (service "other").
 */
#define _POSIX_C_SOURCE 200809L	/* strdup */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netsvcd/service.h>

__attribute__((used)) static void bad_read(struct conn *, const void *,
		    size_t);
__attribute__((used)) static void bad_datagram(struct dgram *,
		    const void *, size_t);
__attribute__((used)) static void bad_wait(struct dgram *);
#if defined(BAD_CHECK_FAILS)
static int	bad_check(struct svc_conf *, char **);
#endif

/* Line echo: enough for a service that is not the point of the test. */
static void
bad_read(struct conn *c, const void *buf, size_t len)
{
	conn_write(c, buf, len);
}

static void
bad_datagram(struct dgram *d, const void *buf, size_t len)
{
	dgram_reply(d, len > 0 ? buf : NULL, len);	/* NULL, 0: empty */
}

/* Takes the waiting datagram nowhere: never loaded, only refused. */
static void
bad_wait(struct dgram *d)
{
	(void)d;
}

#if defined(BAD_CHECK_FAILS)
/* A conf_check that always fails, as for a missing file. */
static int
bad_check(struct svc_conf *sc, char **cause)
{
	(void)sc;
	*cause = strdup("cannot open /nonexistent/bad.txt: No such file or "
	    "directory");
	return -1;
}
#endif

#if defined(BAD_UNDEF)
/* A daemon function that is not part of the host API. */
extern void	config_unref(void *);
#endif

/* Some variants leave these out of the descriptor. */
__attribute__((used)) static const struct service bad_one = {
#if defined(BAD_SVC_EMPTY)
	.name = "",
#elif defined(BAD_SVC_BUILTIN)
	.name = "echo",
#elif defined(BAD_CLASH)
	.name = "linereply",
#else
	.name = "other",
#endif
#if defined(BAD_SVC_NOTCP)
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.udp_datagram = bad_datagram,
#elif defined(BAD_SVC_NOUDP)
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.tcp_read = bad_read,
#elif defined(BAD_UDP_BOTH)
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.tcp_read = bad_read,
	.udp_datagram = bad_datagram,
	.udp_wait = bad_wait,
#elif defined(BAD_WAIT_NOUDP)
	.protocols = SERVICE_TCP,
	.tcp_read = bad_read,
	.udp_wait = bad_wait,
#else
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.tcp_read = bad_read,
	.udp_datagram = bad_datagram,
#endif
#if defined(BAD_CHECK_FAILS)
	.conf_check = bad_check,
#endif
};

__attribute__((used)) static const struct service *const bad_services[] = {
#if !defined(BAD_NO_SERVICES)
	&bad_one,
#endif
#if defined(BAD_SVC_DUP)
	&bad_one,
#endif
	NULL
};

#if defined(BAD_NO_DESC)
/* The right type under the wrong name. */
const struct netsvcd_module netsvcd_modul = {
	.abi = NETSVCD_SERVICE_ABI, .name = "nodesc", .version = "1",
	.services = bad_services,
};
#elif defined(BAD_DESC_FUNC)
/* A function where the descriptor should be. */
int	netsvcd_module(void);
int
netsvcd_module(void)
{
	return bad_services[0] != NULL;
}
#elif defined(BAD_DESC_SMALL)
/* Only the ABI number. */
const unsigned int netsvcd_module = NETSVCD_SERVICE_ABI;
#else
const struct netsvcd_module netsvcd_module = {
#if defined(BAD_OLD_ABI)
	.abi = NETSVCD_SERVICE_ABI - 1,	/* built for the previous ABI */
#else
	.abi = NETSVCD_SERVICE_ABI,
#endif
#if defined(BAD_NO_NAME)
	.name = "",
#elif defined(BAD_CLASH)
	.name = "clash",
#else
	.name = "other",
#endif
#if defined(BAD_VERSION)
	.version = "1.0\nmodules = /etc/evil.so",	/* a line of its own */
#else
	.version = "0.1-test",
#endif
	.services = bad_services,
};
#endif

#if defined(BAD_UNDEF)
/* Referenced from data, so the loader must resolve it at once. */
void	(*const bad_undef)(void *) = config_unref;
#endif
