/*
 * abuse-util.c: helpers of the fault suite; see abuse-util.h.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define AB_HTTP_CAP	(1024 * 1024)	/* most of a /metrics answer read */

static int	ab_sockaddr(int family, const char *addr, int port,
		    struct sockaddr_storage *, socklen_t *);
static int	ab_udp_port_used(struct hs_daemon *, int);

/* ---- Time ---- */

int
ab_ms(int ms)
{
	return hs_ms(AB_SANITIZED ? 3 * ms : ms);
}

int
ab_quick_ms(int ms)
{
	return hs_ms(AB_SANITIZED ? 4 * ms : ms);
}

void
ab_pause_ms(int ms)
{
	int64_t		deadline = hs_now_ms() + ms, left;
	unsigned int	rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		if ((left = deadline - hs_now_ms()) <= 0)
			return;
		poll(NULL, 0, (int)left);
	}
}

/* ---- Limits ---- */

void
ab_nofile(unsigned long n)
{
	struct rlimit	rl;

	cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit: %s",
	    strerror(errno));
	if (rl.rlim_cur >= n)
		return;
	if (rl.rlim_max < n) {
		/* Root may raise the hard limit; others get what there is. */
		rl.rlim_max = n;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max < n ? rl.rlim_max : n;
	cr_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= n,
	    "this case needs %lu descriptors; RLIMIT_NOFILE allows %lu "
	    "(raise the hard limit: ulimit -Hn)", n,
	    (unsigned long)rl.rlim_cur);
}

/* ---- Sockets ---- */

/* addr ("127.0.0.2", "::1"; NULL: any) and port as a sockaddr of family. */
static int
ab_sockaddr(int family, const char *addr, int port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (addr != NULL && inet_pton(AF_INET, addr,
		    &sin->sin_addr) != 1)
			return -1;
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (addr != NULL && inet_pton(AF_INET6, addr,
		    &sin6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*sin6);
	}
	return 0;
}

int
ab_tcp_start(const struct hs_endpoint *ep, const char *src)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, saved;

	fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (src != NULL) {
		if (ab_sockaddr(ep->family, src, 0, &ss, &len) == -1) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		if (bind(fd, (struct sockaddr *)&ss, len) == -1)
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&ep->addr,
	    ep->addrlen) == 0 || errno == EINPROGRESS)
		return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
ab_tcp_wait(int fd, int timeout_ms)
{
	struct pollfd	pfd;
	socklen_t	len = sizeof(int);
	int		r, error = 0;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	if ((r = poll(&pfd, 1, timeout_ms)) <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return -1;
	if (error != 0) {
		errno = error;
		return -1;
	}
	return 0;
}

int
ab_tcp(const struct hs_endpoint *ep, const char *src)
{
	int	fd;

	fd = ab_tcp_start(ep, src);
	cr_assert(fd != -1, "connect to %s from %s: %s", ep->url,
	    src != NULL ? src : "any", strerror(errno));
	if (ab_tcp_wait(fd, ab_ms(5000)) == -1)
		cr_assert_fail("connect to %s from %s: %s", ep->url,
		    src != NULL ? src : "any", strerror(errno));
	return fd;
}

/* Whether port is a UDP port of this daemon. */
static int
ab_udp_port_used(struct hs_daemon *d, int port)
{
	size_t	i;

	for (i = 0; i < d->neps; i++)
		if (d->eps[i].type == SOCK_DGRAM && d->eps[i].port == port)
			return 1;
	return 0;
}

int
ab_udp(const struct hs_endpoint *ep, const char *src, int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	unsigned int		 attempt;
	int			 fd, saved, on = 1;

	for (attempt = 0; attempt < 32; attempt++) {
		fd = socket(ep->family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (ab_sockaddr(ep->family, src, port, &ss, &len) == -1) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		/* A port bound by a UDP server elsewhere is still fine. */
		if (port != 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
		if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
		    connect(fd, (const struct sockaddr *)&ep->addr,
		    ep->addrlen) == -1)
			goto fail;
		if (port != 0)
			return fd;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			goto fail;
		port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		/* Not a port of the daemon (it would not answer). */
		if (!ab_udp_port_used(criterion_current_test != NULL ?
		    NULL : NULL, 0))
			;
		port = 0;
		return fd;
	}
	errno = EADDRINUSE;
	return -1;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
