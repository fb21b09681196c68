/*
 * test-slow.c: clients that hold resources instead of using them.  1,000
 * echo clients that push data and never read (memory stays bounded, all
 * are dropped by write_timeout, others are served meanwhile), and the
 * misbehaving peers: resets in the middle of a stream, half-open clients,
 * slowloris, clients that never send, sessions past max_duration and
 * max_bytes.  After each, the daemon still answers and holds no more
 * descriptors than before.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

/* Case 4: the non-reading clients. */
#define NR_N		1000
#define NR_CHUNK	(64 * 1024)
#define NR_CLIENT_RCVBUF (16 * 1024)	/* the kernel's share stays small */
#define NR_CLIENT_SNDBUF (64 * 1024)
#define NR_CLIENT_MSS	1460		/* an Ethernet MSS, not loopback's 64K */
#define NR_QUIET_MS	300		/* a socket is blocked after this */

/*
 * The bound on the daemon's RSS growth with NR_N non-reading clients,
 * documented in docs/SECURITY.md ("Memory bound").  netsvcd.ini(5) makes
 * buffer_limit the most output kept for one connection, so a stalled echo
 * connection may hold buffer_limit (64 KiB here) plus its struct conn and
 * allocator overhead; 16 KiB a connection is left for that and for
 * fragmentation: NR_N x (64 + 16) KiB.  ASan adds redzones and keeps freed
 * blocks in a quarantine (256 MiB by default): the sanitizer build checks
 * a looser bound.
 */
#define NR_BUFFER_KIB	64L		/* buffer_limit in the config */
#ifdef NETSVCD_ABUSE_SANITIZED
#define NR_BOUND_KIB	(NR_N * (NR_BUFFER_KIB + 16) + 256L * 1024)
#else
#define NR_BOUND_KIB	(NR_N * (NR_BUFFER_KIB + 16))
#endif

/* Case 6: misbehaving clients. */
#define MB_MAX_BYTES	100000

static const char mb_conf[] =
    "[daemon]\n"
    "max_connections = 1000\n"
    "shutdown_timeout = 2s\n"
    "\n"
    "[echo]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0\n"
    "idle_timeout = 1s\n"
    "write_timeout = 1s\n"
    "\n"
    "[chargen]\n"
    "service = chargen\n"
    "listen = tcp://127.0.0.1:0\n"
    "idle_timeout = 1s\n"
    "write_timeout = 1s\n"
    "\n"
    "[duration]\n"
    "service = chargen\n"
    "listen = tcp://127.0.0.1:0\n"
    "max_duration = 1s\n"
    "\n"
    "[bytes_echo]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0\n"
    "max_bytes = 100000\n"
    "\n"
    "[bytes_chargen]\n"
    "service = chargen\n"
    "listen = tcp://127.0.0.1:0\n"
    "max_bytes = 100000\n"
    "\n"
    "[wt]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0\n"
    "idle_timeout = 1m\n"
    "write_timeout = 1s\n"
    "\n"
    "[probe]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0\n";

static int	 nr_push(int, const unsigned char *, size_t *);
static void	 mb_settle(struct hs_daemon *, int);
static ssize_t	 mb_read_until_closed(int, unsigned char *, size_t,
		    size_t *, int);

TestSuite(slow, .fini = hs_teardown);

/*
 * Send until the socket takes no more.  Returns 1 while the connection
 * lives, 0 once the daemon closed or reset it.
 */
static int
nr_push(int fd, const unsigned char *chunk, size_t *pushed)
{
	unsigned int	rounds;
	ssize_t		n;

	for (rounds = 0; rounds < 4096; rounds++) {
		n = send(fd, chunk, NR_CHUNK, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			*pushed += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 1;
		return 0;
	}
	return 1;
}

/*
 * Case 4.  1,000 echo clients push data and never read, with
 * write_timeout = 2s and buffer_limit = 64KiB.  While they are stuck the
 * daemon's RSS growth stays under NR_BOUND_KIB and a fresh client is
 * served; each stuck client is then dropped by write_timeout (it sees a
 * reset or EOF) about 2 s after its output stalled, and every descriptor
 * comes back.
 */
Test(slow, nonreading_echo_clients, .timeout = 180)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "max_connections = 3000\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "shutdown_timeout = 2s\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "backlog = 4096\n"
	    "write_timeout = 2s\n"
	    "buffer_limit = 64KiB\n";
	static unsigned char	 chunk[NR_CHUNK];
	static int		 fds[NR_N];
	static int64_t		 first_send[NR_N], closed_at[NR_N];
	static int64_t		 last_push[NR_N];
	static unsigned char	 live[NR_N], blocked[NR_N];
	static struct pollfd	 pfd[NR_N];
	static size_t		 idx[NR_N];
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	int64_t			 t0, push_ms, deadline, early = INT64_MAX;
	int64_t			 late = 0, gap, now;
	long			 rss0, hwm0, rss1, hwm1, lat, timed_out;
	size_t			 i, n, pushed = 0, before, nlive, nclosed = 0;
	unsigned int		 rounds;
	int			 base, r, rcv = NR_CLIENT_RCVBUF;
	int			 snd = NR_CLIENT_SNDBUF, mss = NR_CLIENT_MSS;

	ab_nofile(NR_N + 512);
	d = hs_spawn(conf);
	ep = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);

	/* Warm up, so the baseline holds the allocator's working set. */
	hs_warm_echo(ab_tcp(ep, NULL), 4, ab_ms(20000));
	base = hs_nfds(d);
	/* The metrics endpoint's first answer is part of the baseline. */
	(void)ab_metric(d, "netsvcd_connections_active", "echo", NULL);
	ab_wait_nfds(d, base, ab_ms(5000), "the warm-up");
	rss0 = hs_rss_kib(d);
	hwm0 = hs_hwm_kib(d);
	cr_assert(rss0 > 0 && hwm0 > 0 && base > 0, "cannot read the "
	    "daemon's /proc entries");

	/* 1,000 connections, then each pushes until its socket blocks. */
	hs_pattern(chunk, sizeof(chunk), 5, 0);
	for (i = 0; i < NR_N; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		cr_assert(fds[i] != -1, "socket: %s", strerror(errno));
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
		setsockopt(fds[i], IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss));
		cr_assert(connect(fds[i], (const struct sockaddr *)&ep->addr,
		    ep->addrlen) == 0 || errno == EINPROGRESS,
		    "connect %zu: %s", i, strerror(errno));
	}
	for (i = 0; i < NR_N; i++)
		cr_assert(ab_tcp_wait(fds[i], ab_ms(5000)) == 0, "connect "
		    "%zu: %s", i, strerror(errno));
	t0 = hs_now_ms();
	for (i = 0; i < NR_N; i++) {
		first_send[i] = last_push[i] = hs_now_ms();
		live[i] = (unsigned char)nr_push(fds[i], chunk, &pushed);
		cr_assert(live[i], "client %zu: send: %s", i,
		    strerror(errno));
	}
	/*
	 * Each socket is pushed until it has taken nothing for NR_QUIET_MS:
	 * then the daemon has stopped reading it.  A client dropped meanwhile
	 * was dropped by write_timeout (checked below).
	 */
	deadline = hs_now_ms() + ab_ms(20000);
	for (rounds = 0; rounds < 100000 && hs_now_ms() < deadline;
	    rounds++) {
		now = hs_now_ms();
		for (i = 0, n = 0; i < NR_N; i++) {
			if (!live[i] || blocked[i])
				continue;
			if (now - last_push[i] >= NR_QUIET_MS) {
				blocked[i] = 1;
				continue;
			}
			pfd[n].fd = fds[i];
			pfd[n].events = POLLOUT;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (n == 0)
			break;
		if ((r = poll(pfd, n, 50)) < 0)
			cr_assert_fail("poll: %s", strerror(errno));
		for (i = 0; i < n && r > 0; i++) {
			if (pfd[i].revents == 0)
				continue;
			before = pushed;
			if (!nr_push(fds[idx[i]], chunk, &pushed)) {
				/* Dropped while still pushing. */
				live[idx[i]] = 0;
				closed_at[idx[i]] = hs_now_ms();
				nclosed++;
			} else if (pushed > before)
				last_push[idx[i]] = hs_now_ms();
		}
	}
	push_ms = hs_now_ms() - t0;
	for (i = 0, nlive = 0; i < NR_N; i++)
		nlive += live[i];
	rss1 = hs_rss_kib(d);
	cr_log_info("%d non-reading echo clients pushed %zu MiB in %lld ms; "
	    "%zu still open; daemon RSS %ld -> %ld KiB", NR_N,
	    pushed >> 20, (long long)push_ms, nlive, rss0, rss1);
	/* Not fatal: the drops below are worth checking all the same. */
	cr_expect(rss1 - rss0 < NR_BOUND_KIB, "RSS grew by %ld KiB (%ld -> "
	    "%ld) with %d non-reading echo clients; bound %ld KiB", rss1 -
	    rss0, rss0, rss1, NR_N, NR_BOUND_KIB);

	/* Others are served while they are stuck. */
	lat = ab_probe(d, "echo", AF_INET, "127.0.0.2", ab_ms(2000));
	cr_log_info("a fresh client was served in %ld ms meanwhile", lat);

	/* Each is dropped by write_timeout: it sees a reset or EOF. */
	deadline = hs_now_ms() + ab_ms(8000);
	for (rounds = 0; rounds < 100000 && nclosed < NR_N; rounds++) {
		for (i = 0, n = 0; i < NR_N; i++) {
			if (!live[i])
				continue;
			pfd[n].fd = fds[i];
			pfd[n].events = POLLRDHUP;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (hs_now_ms() >= deadline)
			break;
		r = poll(pfd, n, 100);
		cr_assert(r >= 0, "poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLRDHUP | POLLHUP |
			    POLLERR)))
				continue;
			live[idx[i]] = 0;
			closed_at[idx[i]] = hs_now_ms();
			nclosed++;
		}
	}
	for (i = 0; i < NR_N; i++) {
		if (live[i])
			continue;
		gap = closed_at[i] - first_send[i];
		if (gap < early)
			early = gap;
		if (closed_at[i] - t0 > late)
			late = closed_at[i] - t0;
	}
	hwm1 = hs_hwm_kib(d);
	timed_out = ab_metric(d, "netsvcd_connections_timed_out_total",
	    "echo", NULL);
	cr_log_info("dropped: %zu of %d, the first %lld ms after its first "
	    "send, the last %lld ms after the pushing began; %ld timed out; "
	    "peak RSS %ld -> %ld KiB (+%ld KiB, %ld bytes a client)", nclosed,
	    NR_N, (long long)early, (long long)late, timed_out, hwm0, hwm1,
	    hwm1 - hwm0, (hwm1 - rss0) * 1024 / NR_N);
	cr_assert(nclosed == NR_N, "%zu of %d non-reading clients were still "
	    "open %d ms after they stalled (write_timeout = 2s)", NR_N -
	    nclosed, NR_N, ab_ms(8000));
	cr_assert(early >= 1900, "a client was dropped %lld ms after it "
	    "started sending, before write_timeout = 2s", (long long)early);
	cr_assert(timed_out == NR_N, "timed_out is %ld for %d clients "
	    "dropped by write_timeout", timed_out, NR_N);
	cr_expect(hwm1 - rss0 < NR_BOUND_KIB, "peak RSS grew by %ld KiB "
	    "(%ld -> %ld) with %d non-reading echo clients; bound %ld KiB",
	    hwm1 - rss0, rss0, hwm1, NR_N, NR_BOUND_KIB);

	for (i = 0; i < NR_N; i++)
		hs_close(fds[i]);
	ab_wait_nfds(d, base, ab_ms(5000), "1,000 non-reading clients");
	(void)ab_probe(d, "echo", AF_INET, NULL, ab_ms(2000));
	hs_stop_ok(d);
}

/* The daemon still serves and is back to base descriptors. */
static void
mb_settle(struct hs_daemon *d, int base)
{
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	ab_wait_nfds(d, base, ab_ms(5000), "the misbehaving clients");
}

/*
 * Read (into buf while it has room, then discarding) until EOF or a
 * reset.  Returns the bytes read, or -1 on timeout; *kept gets how many
 * are in buf.
 */
static ssize_t
mb_read_until_closed(int fd, unsigned char *buf, size_t cap, size_t *kept,
    int timeout_ms)
{
	static unsigned char	 sink[65536];
	int64_t			 deadline = hs_now_ms() + timeout_ms, left;
	struct pollfd		 pfd;
	unsigned int		 rounds;
	size_t			 total = 0;
	ssize_t			 n;

	*kept = 0;
	for (rounds = 0; rounds < 10000000; rounds++) {
		if (*kept < cap)
			n = recv(fd, buf + *kept, cap - *kept, MSG_DONTWAIT);
		else
			n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return (ssize_t)total;
		if (n > 0) {
			if (*kept < cap)
				*kept += (size_t)n;
			total += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if ((left = deadline - hs_now_ms()) <= 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, (int)left);
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * Resets in the middle of a stream: while chargen writes, while echo has
 * output pending, right after connecting.  No crash, no leak.
 */
Test(slow, reset_midstream, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(mb_conf);
	static unsigned char	 out[256 * 1024];
	const struct hs_endpoint *chargen, *echo;
	unsigned int		 k;
	char			 buf[1024];
	size_t			 sent;
	ssize_t			 n;
	int			 base, fd;

	hs_pattern(out, sizeof(out), 6, 0);
	chargen = hs_endpoint(d, "chargen", SOCK_STREAM, AF_INET);
	echo = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	for (k = 0; k < 30; k++) {
		fd = ab_tcp(chargen, NULL);
		cr_assert(hs_recv_n(fd, buf, sizeof(buf), ab_ms(2000)) ==
		    (ssize_t)sizeof(buf), "chargen: %s", strerror(errno));
		ab_reset(fd);

		fd = ab_tcp(echo, NULL);
		sent = 0;
		n = send(fd, out, sizeof(out), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			sent = (size_t)n;
		cr_assert(sent > 0, "echo: send: %s", strerror(errno));
		/* Let the daemon start writing back, then reset. */
		(void)hs_recv_n(fd, buf, 1, ab_ms(2000));
		ab_reset(fd);

		ab_reset(ab_tcp(echo, NULL));
	}
	mb_settle(d, base);
	hs_stop_ok(d);
}

/*
 * Half-open clients: shutdown(SHUT_WR), then no reading for a while.
 *  - chargen: the client's FIN ends the session at once; the daemon lets
 *    go of the connection, and the client, when it reads, gets what was in
 *    flight and then EOF;
 *  - echo, 256 KiB sent and then the half-close: the client, reading
 *    within write_timeout, gets every byte back, then EOF (no data lost);
 *  - echo, pushed until nothing more fits: the daemon's output stalls and
 *    it never reads the FIN, so write_timeout = 1s drops the client, which
 *    sees a reset.
 * No busy loop meanwhile.
 */
Test(slow, half_open_clients, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(mb_conf);
	static unsigned char	 out[256 * 1024], in[256 * 1024 + 1];
	static unsigned char	 chunk[NR_CHUNK];
	const struct hs_endpoint *chargen, *echo;
	int			 cg[20], ec[20], full[20], base;
	unsigned char		 head[512];
	struct hs_xfer		 x;
	struct pollfd		 pfd;
	int64_t			 t0, elapsed;
	long			 cpu0, cpu1;
	size_t			 i, kept, pushed;
	unsigned int		 rounds;
	ssize_t			 n;

	hs_pattern(out, sizeof(out), 7, 0);
	hs_pattern(chunk, sizeof(chunk), 9, 0);
	chargen = hs_endpoint(d, "chargen", SOCK_STREAM, AF_INET);
	echo = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	cpu0 = hs_cpu_ms(d);
	t0 = hs_now_ms();

	for (i = 0; i < 20; i++) {
		cg[i] = ab_tcp(chargen, NULL);
		/* chargen is streaming before the client half-closes. */
		cr_assert(hs_recv_n(cg[i], head, 1, ab_ms(2000)) == 1,
		    "chargen: %s", strerror(errno));
		cr_assert(shutdown(cg[i], SHUT_WR) == 0, "shutdown: %s",
		    strerror(errno));
		ec[i] = ab_tcp(echo, NULL);
		cr_assert(hs_send_all(ec[i], out, sizeof(out), ab_ms(5000)) ==
		    0, "echo: send: %s", strerror(errno));
		cr_assert(shutdown(ec[i], SHUT_WR) == 0, "shutdown: %s",
		    strerror(errno));
	}
	for (i = 0; i < 20; i++) {
		n = mb_read_until_closed(cg[i], head, sizeof(head), &kept,
		    ab_ms(3000));
		cr_assert(n >= 0, "half-open chargen client %zu: no EOF after "
		    "reading what was in flight (%s)", i, strerror(errno));
		hs_close(cg[i]);
		memset(&x, 0, sizeof(x));
		x.in = in;
		x.incap = sizeof(in);
		x.until_eof = 1;
		cr_assert(hs_xfer(ec[i], &x, ab_ms(5000)) == 0 &&
		    x.inlen == sizeof(out) && memcmp(in, out, sizeof(out)) ==
		    0, "half-open echo client %zu, reading late: %zu of %zu "
		    "bytes back, then %s", i, x.inlen, sizeof(out), x.eof ?
		    "EOF" : strerror(errno));
		hs_close(ec[i]);
	}
	ab_wait_nfds(d, base, ab_ms(3000), "20 half-open chargen and 20 "
	    "half-open echo clients");

	for (i = 0; i < 20; i++) {
		full[i] = ab_tcp(echo, NULL);
		pushed = 0;
		for (rounds = 0; rounds < 1000; rounds++) {
			if (!nr_push(full[i], chunk, &pushed))
				break;
			pfd.fd = full[i];
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 100) == 0)
				break;
		}
		cr_assert(shutdown(full[i], SHUT_WR) == 0, "shutdown after %zu "
		    "bytes: %s", pushed, strerror(errno));
	}
	for (i = 0; i < 20; i++)
		cr_assert(ab_wait_peer_closed(full[i], ab_ms(4000)) == 0,
		    "half-open echo client %zu with stalled output not "
		    "dropped (write_timeout = 1s)", i);
	elapsed = hs_now_ms() - t0;
	cpu1 = hs_cpu_ms(d);
	cr_log_info("60 half-open clients done in %lld ms; the daemon used "
	    "%ld ms of CPU", (long long)elapsed, cpu1 - cpu0);
	cr_assert(cpu1 - cpu0 < ab_ms(500), "the daemon used %ld ms of CPU "
	    "in %lld ms with half-open clients: a busy loop?", cpu1 - cpu0,
	    (long long)elapsed);
	for (i = 0; i < 20; i++)
		hs_close(full[i]);
	mb_settle(d, base);
	hs_stop_ok(d);
}

/*
 * A client that sends 256 KiB to echo and then neither reads nor sends:
 * its echo is output it has not read, so write_timeout = 1s must drop it
 * (netsvcd.ini(5): "A TCP connection with output waiting that the client
 * has not read for this long is closed"), well before idle_timeout = 1m.
 * The output fits in the kernel's socket buffers (they grow to
 * net.ipv4.tcp_wmem's maximum), so the daemon's own buffer may be empty:
 * the drop is seen from the daemon's side (timed_out, descriptors), since
 * a client that does not read cannot see a FIN queued behind the data.
 */
Test(slow, write_timeout_output_in_kernel, .timeout = 60)
{
	struct hs_daemon	*d;
	static unsigned char	 out[256 * 1024];
	const struct hs_endpoint *ep;
	char			*conf;
	int64_t			 t0, waited = -1;
	unsigned int		 rounds;
	long			 timed_out = 0;
	int			 fd, base;

	cr_assert(asprintf(&conf, "[daemon]\nmetrics_listen = "
	    "tcp://127.0.0.1:0\n\n%s", mb_conf + strlen("[daemon]\n")) != -1,
	    "out of memory");
	d = hs_spawn(conf);
	free(conf);
	hs_pattern(out, sizeof(out), 10, 0);
	ep = hs_endpoint(d, "wt", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	(void)ab_metric(d, "netsvcd_connections_timed_out_total", "wt",
	    NULL);
	base = hs_nfds(d);
	fd = ab_tcp(ep, NULL);
	cr_assert(hs_send_all(fd, out, sizeof(out), ab_ms(5000)) == 0,
	    "send: %s", strerror(errno));
	t0 = hs_now_ms();
	for (rounds = 0; rounds < 100; rounds++) {
		timed_out = ab_metric(d, "netsvcd_connections_timed_out_total",
		    "wt", NULL);
		if (timed_out > 0 || hs_now_ms() - t0 > ab_ms(4000))
			break;
		ab_pause_ms(100);
	}
	waited = hs_now_ms() - t0;
	cr_assert(timed_out == 1, "a client that has not read 256 KiB of "
	    "echo for %lld ms was not dropped (write_timeout = 1s, "
	    "idle_timeout = 1m; timed_out = %ld)", (long long)waited,
	    timed_out);
	ab_wait_nfds(d, base, ab_ms(2000), "the write_timeout");
	hs_close(fd);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	hs_stop_ok(d);
}

/*
 * Slowloris: one byte every 200 ms for 3 s to echo with idle_timeout =
 * 1s: never closed while it keeps sending.  Once silent, it is closed
 * about 1 s later.
 */
Test(slow, slowloris, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(mb_conf);
	const struct hs_endpoint *echo;
	int			 fds[10], base;
	int64_t			 t_last, waited;
	unsigned int		 tick;
	size_t			 i;

	echo = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	for (i = 0; i < 10; i++)
		fds[i] = ab_tcp(echo, NULL);
	for (tick = 0; tick < 15; tick++) {
		for (i = 0; i < 10; i++) {
			cr_assert(!ab_peer_closed(fds[i]), "slowloris client "
			    "%zu sending a byte every 200 ms was closed after "
			    "%u bytes (idle_timeout = 1s)", i, tick);
			cr_assert(send(fds[i], "s", 1, MSG_NOSIGNAL) == 1,
			    "slowloris %zu: send: %s", i, strerror(errno));
		}
		ab_pause_ms(200);
	}
	t_last = hs_now_ms() - 200;
	for (i = 0; i < 10; i++)
		cr_assert(!ab_peer_closed(fds[i]), "slowloris client %zu was "
		    "closed while it kept sending", i);
	/* Now silent: idle_timeout closes each one about a second later. */
	for (i = 0; i < 10; i++)
		cr_assert(ab_wait_peer_closed(fds[i], ab_ms(3000)) == 0,
		    "silent client %zu not closed 3 s after its last byte "
		    "(idle_timeout = 1s)", i);
	waited = hs_now_ms() - t_last;
	cr_assert(waited >= 900, "silent clients closed %lld ms after their "
	    "last byte, before idle_timeout = 1s", (long long)waited);
	for (i = 0; i < 10; i++)
		hs_close(fds[i]);
	mb_settle(d, base);
	hs_stop_ok(d);
}

/*
 * 50 clients that connect and never send are closed by idle_timeout =
 * 1s (not before), with no busy loop while they wait.
 */
Test(slow, connect_and_never_send, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(mb_conf);
	const struct hs_endpoint *echo;
	int			 fds[50], base;
	int64_t			 t0, first = -1, last = 0, when;
	long			 cpu0, cpu1;
	size_t			 i;

	echo = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	cpu0 = hs_cpu_ms(d);
	t0 = hs_now_ms();
	for (i = 0; i < 50; i++)
		fds[i] = ab_tcp(echo, NULL);
	for (i = 0; i < 50; i++) {
		cr_assert(ab_wait_peer_closed(fds[i], ab_ms(3000)) == 0,
		    "a client that never sent was not closed within 3 s "
		    "(idle_timeout = 1s)");
		when = hs_now_ms() - t0;
		if (first == -1)
			first = when;
		last = when;
	}
	cpu1 = hs_cpu_ms(d);
	cr_log_info("50 silent clients closed %lld..%lld ms after they "
	    "connected; CPU %ld ms", (long long)first, (long long)last,
	    cpu1 - cpu0);
	cr_assert(first >= 900, "a silent client was closed after %lld ms, "
	    "before idle_timeout = 1s", (long long)first);
	cr_assert(cpu1 - cpu0 < ab_ms(300), "the daemon used %ld ms of CPU "
	    "with 50 silent clients", cpu1 - cpu0);
	for (i = 0; i < 50; i++)
		hs_close(fds[i]);
	mb_settle(d, base);
	hs_stop_ok(d);
}

/* max_duration = 1s ends a chargen session that reads all the time. */
Test(slow, max_duration, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(mb_conf);
	const struct hs_endpoint *ep;
	unsigned char		 head[512];
	const char		*why;
	int64_t			 t0, elapsed;
	size_t			 kept;
	ssize_t			 total;
	int			 fd, base;

	ep = hs_endpoint(d, "duration", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	t0 = hs_now_ms();
	fd = ab_tcp(ep, NULL);
	total = mb_read_until_closed(fd, head, sizeof(head), &kept,
	    ab_ms(5000));
	elapsed = hs_now_ms() - t0;
	hs_close(fd);
	cr_log_info("max_duration = 1s: chargen read %zd bytes, closed after "
	    "%lld ms", total, (long long)elapsed);
	cr_assert(total > 0, "chargen with max_duration = 1s not closed "
	    "within 5 s (%s)", strerror(errno));
	cr_assert(elapsed >= 900 && elapsed <= ab_ms(2500), "max_duration = "
	    "1s closed the session after %lld ms", (long long)elapsed);
	why = hs_check_chargen_run((const char *)head, kept);
	cr_assert(why == NULL, "chargen data: %s", why);
	mb_settle(d, base);
	hs_stop_ok(d);
}

/*
 * max_bytes = 100000 (in and out together): echo and chargen sessions end
 * soon after that many bytes; echo's output is a correct prefix of what
 * was sent, chargen's is the pattern.
 */
Test(slow, max_bytes, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(mb_conf);
	static unsigned char	 out[4 * MB_MAX_BYTES], in[4 * MB_MAX_BYTES];
	static unsigned char	 head[512];
	const struct hs_endpoint *ep;
	struct pollfd		 pfd;
	const char		*why;
	unsigned int		 rounds;
	int64_t			 deadline;
	size_t			 sent = 0, got = 0, kept;
	ssize_t			 n, total;
	int			 fd, base, closed = 0;

	hs_pattern(out, sizeof(out), 8, 0);
	(void)ab_probe(d, "probe", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);

	/* Echo: send and read until the daemon ends the session. */
	ep = hs_endpoint(d, "bytes_echo", SOCK_STREAM, AF_INET);
	fd = ab_tcp(ep, NULL);
	deadline = hs_now_ms() + ab_ms(5000);
	for (rounds = 0; rounds < 1000000 && !closed &&
	    hs_now_ms() < deadline; rounds++) {
		if (sent < sizeof(out)) {
			n = send(fd, out + sent, sizeof(out) - sent > 4096 ?
			    4096 : sizeof(out) - sent,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			else if (errno == EPIPE || errno == ECONNRESET)
				closed = 1;
		}
		n = recv(fd, in + got, sizeof(in) - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || errno == ECONNRESET || errno == EPIPE)
			closed = 1;
		else if (got == sizeof(in))
			break;
		else {
			pfd.fd = fd;
			pfd.events = POLLIN |
			    (sent < sizeof(out) ? POLLOUT : 0);
			poll(&pfd, 1, 50);
		}
	}
	hs_close(fd);
	cr_log_info("max_bytes = %d: echo took %zu bytes, echoed %zu, then "
	    "closed", MB_MAX_BYTES, sent, got);
	cr_assert(closed, "echo with max_bytes = %d still open after %zu "
	    "bytes sent and %zu echoed", MB_MAX_BYTES, sent, got);
	cr_assert(got <= MB_MAX_BYTES, "echo sent back %zu bytes with "
	    "max_bytes = %d (in and out together)", got, MB_MAX_BYTES);
	cr_assert(memcmp(in, out, got) == 0, "echo data before max_bytes "
	    "differs from what was sent");

	/* Chargen: reading all the time, the session ends after 100000. */
	ep = hs_endpoint(d, "bytes_chargen", SOCK_STREAM, AF_INET);
	fd = ab_tcp(ep, NULL);
	total = mb_read_until_closed(fd, head, sizeof(head), &kept,
	    ab_ms(5000));
	hs_close(fd);
	cr_log_info("max_bytes = %d: chargen sent %zd bytes", MB_MAX_BYTES,
	    total);
	cr_assert(total >= MB_MAX_BYTES && total < MB_MAX_BYTES + 65536,
	    "chargen with max_bytes = %d sent %zd bytes", MB_MAX_BYTES,
	    total);
	why = hs_check_chargen_run((const char *)head, kept);
	cr_assert(why == NULL, "chargen data: %s", why);
	mb_settle(d, base);
	hs_stop_ok(d);
}
