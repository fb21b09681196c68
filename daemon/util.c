/*
 * util.c: small helpers the daemon's files share, one of each (OpenBSD
 * ntpd's util.c): the port of an address or endpoint, address formatting,
 * the coarse clock and the "cause" strings of functions that fail.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "netsvcd.h"

/* The port of an AF_INET or AF_INET6 address in host order; 0 otherwise. */
unsigned int
sockaddr_port(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->
		    sin_port);
	case AF_INET6:
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_port);
	default:
		return 0;
	}
}

/* The endpoint's port in host order (0: any free port). */
unsigned int
endpoint_port(const struct endpoint *ep)
{
	return sockaddr_port((const struct sockaddr *)&ep->addr);
}

/* Format an address as "1.2.3.4:5" or "[::1]:5". */
void
sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, sockaddr_port(sa));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, sockaddr_port(sa));
		break;
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
		break;
	}
}

/* Coarse monotonic milliseconds: cheap enough for every read. */
uint64_t
clock_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Set *cause to a new message, or to NULL when memory ran out (callers
 * then say "out of memory" themselves).  Returns -1, so a failing path
 * can end with "return cause_set(cause, ...);".
 */
int
cause_set(char **cause, const char *fmt, ...)
{
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = vasprintf(cause, fmt, ap);
	va_end(ap);
	if (r == -1)
		*cause = NULL;
	return -1;
}
