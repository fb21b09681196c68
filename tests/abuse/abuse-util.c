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


static int	ab_sockaddr(int family, const char *addr, int port,
		    struct sockaddr_storage *, socklen_t *);
static int	ab_udp_port_used(struct hs_daemon *, int);
static char	*ab_run_log(struct hs_daemon *);

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
ab_udp(struct hs_daemon *d, const struct hs_endpoint *ep, const char *src,
    int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	unsigned int		 attempt;
	int			 fd, saved, got, on = 1;

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
		/* A fixed port that another socket holds is still ours. */
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
		got = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		/* netsvcd rightly never answers its own UDP ports. */
		if (!ab_udp_port_used(d, got))
			return fd;
		close(fd);
	}
	errno = EADDRINUSE;
	return -1;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ---- Outcomes ---- */

const char *
ab_fate_name(enum ab_fate f)
{
	switch (f) {
	case AB_SERVED:
		return "served";
	case AB_CLOSED:
		return "closed (EOF or reset)";
	case AB_HUNG:
		return "neither served nor closed";
	case AB_ERROR:
		return "local error";
	}
	return "?";
}

enum ab_fate
ab_echo_fate(int fd, const char *msg, int timeout_ms)
{
	char		 buf[256];
	size_t		 len = strlen(msg);
	ssize_t		 n;

	cr_assert(len > 0 && len < sizeof(buf), "ab_echo_fate: bad message");
	/* A refused connection may already reject the send: that is fine. */
	if (send(fd, msg, len, MSG_NOSIGNAL) == -1 && errno != EPIPE &&
	    errno != ECONNRESET && errno != EAGAIN)
		return AB_ERROR;
	n = hs_recv_n(fd, buf, len, timeout_ms);
	if (n == (ssize_t)len && memcmp(buf, msg, len) == 0)
		return AB_SERVED;
	if (n >= 0 && (size_t)n < len)
		return AB_CLOSED;	/* EOF (after part of it, if any) */
	if (n == -1 && (errno == ECONNRESET || errno == EPIPE))
		return AB_CLOSED;
	if (n == -1 && errno == ETIMEDOUT)
		return AB_HUNG;
	return AB_ERROR;
}

enum ab_fate
ab_fate_once(const struct hs_endpoint *ep, const char *src, const char *msg,
    int timeout_ms)
{
	enum ab_fate	 f;
	int		 fd;

	fd = ab_tcp(ep, src);
	f = ab_echo_fate(fd, msg, timeout_ms);
	hs_close(fd);
	return f;
}

int
ab_peer_closed(int fd)
{
	struct pollfd	pfd;

	pfd.fd = fd;
	pfd.events = POLLRDHUP;
	if (poll(&pfd, 1, 0) != 1)
		return 0;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

int
ab_wait_peer_closed(int fd, int timeout_ms)
{
	struct pollfd	pfd;
	int64_t		deadline = hs_now_ms() + timeout_ms, left;
	unsigned int	rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		if (ab_peer_closed(fd))
			return 0;
		if ((left = deadline - hs_now_ms()) <= 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLRDHUP;
		poll(&pfd, 1, (int)left);
	}
	errno = ETIMEDOUT;
	return -1;
}

void
ab_reset(int fd)
{
	struct linger	lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

long
ab_probe(struct hs_daemon *d, const char *instance, int family,
    const char *src, int timeout_ms)
{
	const struct hs_endpoint	*ep;
	enum ab_fate			 f;
	int64_t				 t0 = hs_now_ms(), left;
	int				 fd;

	ep = hs_endpoint(d, instance, SOCK_STREAM, family);
	fd = ab_tcp_start(ep, src);
	cr_assert(fd != -1, "probe of %s from %s: connect: %s", ep->url,
	    src != NULL ? src : "any", strerror(errno));
	if (ab_tcp_wait(fd, timeout_ms) == -1)
		cr_assert_fail("probe of %s from %s: connect: %s", ep->url,
		    src != NULL ? src : "any", strerror(errno));
	left = t0 + timeout_ms - hs_now_ms();
	f = ab_echo_fate(fd, "probe\r\n", left > 0 ? (int)left : 0);
	hs_close(fd);
	cr_assert(f == AB_SERVED, "probe of %s (%s) from %s: %s within %d ms",
	    instance, ep->url, src != NULL ? src : "any", ab_fate_name(f),
	    timeout_ms);
	return (long)(hs_now_ms() - t0);
}

/* ---- The daemon ---- */

void
ab_wait_nfds(struct hs_daemon *d, int base, int timeout_ms, const char *what)
{
	int64_t		deadline = hs_now_ms() + timeout_ms;
	unsigned int	rounds;
	int		now = -1;

	for (rounds = 0; rounds < 10000; rounds++) {
		if ((now = hs_nfds(d)) != -1 && now <= base)
			return;
		if (hs_now_ms() >= deadline)
			break;
		poll(NULL, 0, 20);
	}
	cr_assert_fail("descriptor leak after %s: the daemon had %d "
	    "descriptors before and %d %d ms after", what, base, now,
	    timeout_ms);
}

/* This run's part of the log, NUL-terminated; free() it. */
static char *
ab_run_log(struct hs_daemon *d)
{
	char	*all = hs_log(d), *run;
	size_t	 len = strlen(all), skip;

	/* hs_log() keeps the last 1 MiB; this run starts at log_start. */
	skip = d->log_start > 0 && (size_t)d->log_start < len ?
	    (size_t)d->log_start : 0;
	if (skip == 0)
		return all;
	run = strdup(all + skip);
	free(all);
	cr_assert(run != NULL, "out of memory");
	return run;
}

unsigned long
ab_log_sum(struct hs_daemon *d, const char *instance, const char *verb)
{
	char		 key[128], *text, *p, *end;
	unsigned long	 sum = 0, n;
	unsigned int	 rounds;

	snprintf(key, sizeof(key), ": %s: %s ", instance, verb);
	text = ab_run_log(d);
	p = text;
	for (rounds = 0; rounds < 1000000; rounds++) {
		if ((p = strstr(p, key)) == NULL)
			break;
		p += strlen(key);
		n = strtoul(p, &end, 10);
		if (end != p)
			sum += n;
	}
	free(text);
	return sum;
}

int
ab_log_has(struct hs_daemon *d, const char *text)
{
	char	*log = ab_run_log(d);
	int	 found = strstr(log, text) != NULL;

	free(log);
	return found;
}

long
ab_metric(struct hs_daemon *d, const char *name, const char *instance,
    const char *reason)
{
	char	series[256];

	if (reason != NULL)
		snprintf(series, sizeof(series),
		    "%s{instance=\"%s\",reason=\"%s\"}", name, instance,
		    reason);
	else
		snprintf(series, sizeof(series), "%s{instance=\"%s\"}", name,
		    instance);
	return (long)hs_scrape(hs_metrics_port(d), series);
}
