/*
 * harness-client.c: bounded clients for the integration tests.  They talk
 * only to the daemon's endpoints on 127.0.0.1 and ::1, on non-blocking
 * sockets, each wait a poll() bounded in time and each loop in rounds.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>		/* tcpi_segs_in, not in glibc's tcp_info */
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness-int.h"

#define HS_MAX_ROUNDS	(1U << 22)	/* poll/IO rounds per transfer */

static int	 hs_udp_port_used(int);
static int	 hs_connect_udp(const struct hs_endpoint *);

/* ---- Clients ---- */

/* Whether port is a UDP port of a daemon of this test. */
static int
hs_udp_port_used(int port)
{
	size_t	i, j;

	for (i = 0; i < hs_ndaemons; i++)
		for (j = 0; j < hs_daemons[i]->neps; j++)
			if (hs_daemons[i]->eps[j].type == SOCK_DGRAM &&
			    hs_daemons[i]->eps[j].port == port)
				return 1;
	return 0;
}

/*
 * A connected UDP socket whose own port is none of the daemons' UDP
 * ports.  netsvcd never answers a source port that one of its UDP
 * services uses, whatever the address (no echo <-> chargen loops), and
 * with port 0 its ports come from the same ephemeral range as ours.
 */
static int
hs_connect_udp(const struct hs_endpoint *ep)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	unsigned int		 attempt;
	int			 fd, port;

	for (attempt = 0; attempt < 32; attempt++) {
		fd = socket(ep->family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		len = sizeof(ss);
		if (connect(fd, (const struct sockaddr *)&ep->addr,
		    ep->addrlen) == -1 || getsockname(fd,
		    (struct sockaddr *)&ss, &len) == -1) {
			hs_close(fd);
			return -1;
		}
		port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		if (!hs_udp_port_used(port))
			return fd;
		close(fd);
	}
	errno = EADDRINUSE;
	return -1;
}

/* A connected non-blocking socket to ep, or -1 with errno. */
int
hs_connect_ep(const struct hs_endpoint *ep, int timeout_ms)
{
	struct pollfd	 pfd;
	socklen_t	 len = sizeof(int);
	int		 fd, error = 0, r;

	if (ep->type == SOCK_DGRAM)
		return hs_connect_udp(ep);
	fd = socket(ep->family, ep->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&ep->addr,
	    ep->addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if ((r = poll(&pfd, 1, timeout_ms)) <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		goto fail;
	if (error != 0) {
		errno = error;
		goto fail;
	}
	return fd;
fail:
	error = errno;
	close(fd);
	errno = error;
	return -1;
}

/* Connect to an instance's endpoint or fail the test. */
int
hs_connect(struct hs_daemon *d, const char *instance, int type, int family)
{
	const struct hs_endpoint	*ep;
	int				 fd;

	ep = hs_endpoint(d, instance, type, family);
	fd = hs_connect_ep(ep, hs_ms(5000));
	cr_assert(fd != -1, "connect to instance %s at %s: %s", instance,
	    ep->url, strerror(errno));
	return fd;
}

/*
 * Run one transfer (see struct hs_xfer).  Returns 0, or -1 with errno:
 * ETIMEDOUT, EMSGSIZE (more than incap bytes before EOF) or a socket error.
 */
int
hs_xfer(int fd, struct hs_xfer *x, int timeout_ms)
{
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	const char	*out = x->out;
	char		*in = x->in, extra;
	struct pollfd	 pfd;
	unsigned int	 rounds;
	size_t		 chunk;
	ssize_t		 n;
	int		 shut = 0, want_out, want_in, progress;

	x->sent = x->inlen = 0;
	x->eof = 0;
	for (rounds = 0; rounds < HS_MAX_ROUNDS; rounds++) {
		want_out = x->sent < x->outlen;
		if (!want_out && x->shut_wr && !shut) {
			if (shutdown(fd, SHUT_WR) == -1)
				return -1;
			shut = 1;
		}
		want_in = !x->eof && (x->until_eof || x->inlen < x->incap);
		if (!want_out && !want_in)
			return 0;
		progress = 0;
		if (want_out) {
			chunk = x->outlen - x->sent;
			if (chunk > 256 * 1024)
				chunk = 256 * 1024;
			n = send(fd, out + x->sent, chunk,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				x->sent += (size_t)n;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (want_in) {
			if (x->inlen < x->incap)
				n = recv(fd, in + x->inlen,
				    x->incap - x->inlen, MSG_DONTWAIT);
			else
				n = recv(fd, &extra, 1, MSG_DONTWAIT);
			if (n > 0 && x->inlen == x->incap) {
				errno = EMSGSIZE;
				return -1;
			}
			if (n > 0) {
				x->inlen += (size_t)n;
				progress = 1;
			} else if (n == 0) {
				x->eof = 1;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if ((left = deadline - hs_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (progress)
			continue;
		pfd.fd = fd;
		pfd.events = (want_out ? POLLOUT : 0) | (want_in ? POLLIN : 0);
		poll(&pfd, 1, (int)left);
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Send all of buf. */
int
hs_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	struct hs_xfer	x = { .out = buf, .outlen = len };

	return hs_xfer(fd, &x, timeout_ms);
}

/* Read len bytes, fewer only at EOF; -1 on error or timeout. */
ssize_t
hs_recv_n(int fd, void *buf, size_t len, int timeout_ms)
{
	struct hs_xfer	x = { .in = buf, .incap = len };

	if (hs_xfer(fd, &x, timeout_ms) == -1)
		return -1;
	return (ssize_t)x.inlen;
}

/* Read until EOF, at most cap bytes; -1 on error, timeout or overflow. */
ssize_t
hs_read_eof(int fd, void *buf, size_t cap, int timeout_ms)
{
	struct hs_xfer	x = { .in = buf, .incap = cap, .until_eof = 1 };

	if (hs_xfer(fd, &x, timeout_ms) == -1)
		return -1;
	return (ssize_t)x.inlen;
}

/* Discard input until EOF or reset: 0, or -1 on timeout or 64 MiB read. */
int
hs_wait_closed(int fd, int timeout_ms)
{
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	struct pollfd	 pfd;
	char		 buf[16384];
	unsigned int	 rounds;
	ssize_t		 n;

	for (rounds = 0; rounds < 4096; rounds++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return 0;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return 0;
		if ((left = deadline - hs_now_ms()) <= 0)
			break;
		if (n > 0)
			continue;
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, (int)left);
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * Send one datagram on a connected UDP socket and wait for one reply.
 * Returns the reply's length (which may exceed len: MSG_TRUNC), or -1.
 */
ssize_t
hs_udp_ask(int fd, const void *out, size_t outlen, void *in, size_t len,
    int timeout_ms)
{
	if (send(fd, out, outlen, MSG_NOSIGNAL) != (ssize_t)outlen)
		return -1;
	return hs_udp_recv(fd, in, len, timeout_ms);
}

/* Wait for one datagram; its full length (MSG_TRUNC), or -1. */
ssize_t
hs_udp_recv(int fd, void *in, size_t len, int timeout_ms)
{
	struct pollfd	 pfd;
	int		 r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if ((r = poll(&pfd, 1, timeout_ms)) <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	return recv(fd, in, len, MSG_TRUNC | MSG_DONTWAIT);
}

/* 1 if no datagram arrives within timeout_ms, 0 if one does. */
int
hs_udp_silent(int fd, int timeout_ms)
{
	struct pollfd	 pfd;
	char		 buf[1];

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) == 0)
		return 1;
	(void)recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	return 0;
}

/* One echo round trip on an open connection, or fail the test. */
void
hs_echo(int fd, const char *msg, int timeout_ms)
{
	char	buf[256];
	size_t	len = strlen(msg);
	ssize_t	n;

	cr_assert(len <= sizeof(buf), "message too long");
	cr_assert(hs_send_all(fd, msg, len, timeout_ms) == 0, "send: %s",
	    strerror(errno));
	n = hs_recv_n(fd, buf, len, timeout_ms);
	cr_assert(n == (ssize_t)len && memcmp(buf, msg, len) == 0,
	    "echo of %s: %s", hs_show(msg, len), n < 0 ? strerror(errno) :
	    hs_show(buf, (size_t)n));
}

/*
 * Write len bytes of out while reading into in (len bytes of room),
 * half-close, read to EOF: hs_xfer's result, the counts in *x.
 */
int
hs_stream(int fd, const void *out, void *in, size_t len, struct hs_xfer *x,
    int timeout_ms)
{
	memset(x, 0, sizeof(*x));
	x->out = out;
	x->outlen = len;
	x->shut_wr = 1;
	x->in = in;
	x->incap = len;
	x->until_eof = 1;
	return hs_xfer(fd, x, timeout_ms);
}

/*
 * Warm an echo instance up before a memory baseline: 1 MiB of the pattern
 * of seed through fd, half-closed, all of it back before EOF, so the
 * baseline holds the allocator's working set.  Closes fd.
 */
void
hs_warm_echo(int fd, uint64_t seed, int timeout_ms)
{
	static unsigned char	 warm[1024 * 1024], back[1024 * 1024];
	struct hs_xfer		 x;

	hs_pattern(warm, sizeof(warm), seed, 0);
	cr_assert(hs_stream(fd, warm, back, sizeof(warm), &x,
	    timeout_ms) == 0 && x.inlen == sizeof(warm), "warm-up echo: %s",
	    strerror(errno));
	hs_close(fd);
}

/* close(2) that keeps errno out of the way. */
void
hs_close(int fd)
{
	int	saved = errno;

	if (fd != -1)
		close(fd);
	errno = saved;
}

/*
 * As a client (or a balancer): connect to inst's IPv4 TCP endpoint, send
 * hdr (if any), read the answer to EOF; the TCP segments received,
 * handshake included (TCP_INFO).
 */
unsigned
hs_segments_in(struct hs_daemon *d, const char *inst, const void *hdr,
    size_t hdrlen)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);
	char		in[4096];
	int		fd;

	fd = hs_connect(d, inst, SOCK_STREAM, AF_INET);
	if (hdrlen > 0)
		cr_assert(hs_send_all(fd, hdr, hdrlen, hs_ms(5000)) == 0);
	cr_assert(hs_read_eof(fd, in, sizeof(in), hs_ms(5000)) > 0);
	memset(&ti, 0, sizeof(ti));
	cr_assert(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
	hs_close(fd);
	return ti.tcpi_segs_in;
}
