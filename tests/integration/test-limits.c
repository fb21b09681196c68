/*
 * test-limits.c: what keeps the daemon's resources bounded.  A client that
 * pushes 64 MiB into echo without reading, and one that never reads
 * chargen, leave RSS (and CPU) bounded while others are still served;
 * max_connections (per instance and global) closes extra connections at
 * once; idle_timeout closes idle connections only; descriptors do not leak.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define LIM_TMO		5000		/* ms for one small exchange */
#define PUSH_MAX	(64U * 1024 * 1024)
#define PUSH_CHUNK	(64 * 1024)
#define PUSH_SEED	64

/*
 * RSS growth allowed while a client does not read.  ASan keeps freed
 * memory in quarantine (256 MiB by default), so the sanitizer build gets
 * a looser bound: it still catches unbounded buffering of 64 MiB.
 */
#ifdef NETSVCD_ITEST_SANITIZED
#define RSS_BOUND_KIB	(48L * 1024)
#else
#define RSS_BOUND_KIB	(16L * 1024)
#endif

static const char lim_conf[] =
    "[daemon]\n"
    "max_connections = 300\n"
    "buffer_limit = 64KiB\n"
    "shutdown_timeout = 5s\n"
    "\n"
    "[echo]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0 tcp://[::1]:0\n"
    "\n"
    "[chargen]\n"
    "service = chargen\n"
    "listen = tcp://127.0.0.1:0\n";

static void	 lim_probe(struct hs_daemon *, const char *, int);
static void	 lim_max_conns(const char *, const char *, const char *,
		    int);
static void	 lim_idle(const char *);

TestSuite(limits, .fini = hs_teardown);

/*
 * One echo exchange on a fresh connection, ended by a half-close and the
 * daemon's EOF: the daemon still serves, and is done with the connection.
 */
static void
lim_probe(struct hs_daemon *d, const char *instance, int family)
{
	static const char	 msg[] = "still there?\r\n";
	char			 buf[sizeof(msg)];
	struct hs_xfer		 x;
	int			 fd, r;

	fd = hs_connect(d, instance, SOCK_STREAM, family);
	memset(&x, 0, sizeof(x));
	x.out = msg;
	x.outlen = sizeof(msg) - 1;
	x.shut_wr = 1;
	x.in = buf;
	x.incap = sizeof(buf);
	x.until_eof = 1;
	r = hs_xfer(fd, &x, hs_ms(LIM_TMO));
	cr_assert(r == 0 && x.inlen == sizeof(msg) - 1 &&
	    memcmp(buf, msg, x.inlen) == 0, "probe %s %s: no echo then EOF "
	    "(%s, got %s)", instance, hs_family_name(family),
	    r == -1 ? strerror(errno) : "ok", hs_show(buf, x.inlen));
	hs_close(fd);
}

/*
 * Push up to 64 MiB into echo without reading, until the socket takes
 * nothing for a second: RSS must stay bounded, another client must still
 * be served, and reading afterwards must give back every byte pushed.
 */
Test(limits, echo_nonreader_rss_bounded, .timeout = 120)
{
	struct hs_daemon	*d = hs_spawn(lim_conf);
	static unsigned char	 chunk[PUSH_CHUNK], want[PUSH_CHUNK];
	struct pollfd		 pfd;
	long			 rss0, hwm0, rss1, hwm1;
	int64_t			 deadline;
	size_t			 pushed = 0, coff = 0, got = 0;
	unsigned int		 rounds;
	ssize_t			 n;
	int			 fd, stalled = 0;

	/* Warm up, so the baseline holds the allocator's working set. */
	hs_warm_echo(hs_connect(d, "echo", SOCK_STREAM, AF_INET), 1,
	    hs_ms(20000));
	rss0 = hs_rss_kib(d);
	hwm0 = hs_hwm_kib(d);
	cr_assert(rss0 > 0 && hwm0 > 0, "cannot read the daemon's RSS");

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_pattern(chunk, sizeof(chunk), PUSH_SEED, 0);
	deadline = hs_now_ms() + hs_ms(40000);
	for (rounds = 0; rounds < 1000000 && pushed < PUSH_MAX &&
	    hs_now_ms() < deadline; rounds++) {
		n = send(fd, chunk + coff, sizeof(chunk) - coff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			pushed += (size_t)n;
			coff += (size_t)n;
			if (coff == sizeof(chunk)) {
				hs_pattern(chunk, sizeof(chunk), PUSH_SEED,
				    pushed);
				coff = 0;
			}
			continue;
		}
		cr_assert(n == -1 && errno == EAGAIN, "push: send: %s after "
		    "%zu bytes", strerror(errno), pushed);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 1000) == 0) {
			stalled = 1;
			break;
		}
	}
	rss1 = hs_rss_kib(d);
	hwm1 = hs_hwm_kib(d);
	cr_log_info("non-reading echo client: pushed %zu bytes (%s); RSS "
	    "%ld -> %ld KiB, peak %ld -> %ld KiB", pushed, stalled ?
	    "then the socket stalled" : "no stall", rss0, rss1, hwm0, hwm1);
	cr_assert(rss1 - rss0 < RSS_BOUND_KIB, "RSS grew by %ld KiB (%ld -> "
	    "%ld) while a client pushed %zu bytes without reading; bound "
	    "%ld KiB", rss1 - rss0, rss0, rss1, pushed, RSS_BOUND_KIB);
	cr_assert(hwm1 - hwm0 < RSS_BOUND_KIB, "peak RSS grew by %ld KiB "
	    "(%ld -> %ld) while a client pushed %zu bytes without reading",
	    hwm1 - hwm0, hwm0, hwm1, pushed);

	/* Others are still served while that client is stuck. */
	lim_probe(d, "echo", AF_INET);
	lim_probe(d, "echo", AF_INET6);

	/* Now read: every byte pushed comes back, in order, then EOF. */
	cr_assert(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	deadline = hs_now_ms() + hs_ms(40000);
	for (rounds = 0; rounds < 10000000; rounds++) {
		n = hs_recv_n(fd, chunk, sizeof(chunk),
		    (int)(deadline - hs_now_ms()));
		cr_assert(n >= 0, "reading back: %s after %zu of %zu bytes",
		    strerror(errno), got, pushed);
		if (n == 0)
			break;
		hs_pattern(want, (size_t)n, PUSH_SEED, got);
		cr_assert(memcmp(chunk, want, (size_t)n) == 0,
		    "reading back: bytes %zu..%zu differ from what was pushed",
		    got, got + (size_t)n);
		got += (size_t)n;
		cr_assert(got <= pushed, "reading back: more than pushed");
		if ((size_t)n < sizeof(chunk))
			break;		/* hs_recv_n stopped at EOF */
	}
	cr_assert(got == pushed, "reading back: %zu of %zu bytes", got,
	    pushed);
	hs_close(fd);
	hs_stop_ok(d);
}

/*
 * A chargen client that never reads: the daemon writes only while the
 * socket takes more, so it neither buffers without bound nor spins.
 */
Test(limits, chargen_nonreader_bounded, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(lim_conf);
	static char		 buf[10 * 74];
	const char		*why;
	long			 rss0, rss1, cpu0, cpu1;
	ssize_t			 n;
	int			 fd;

	lim_probe(d, "echo", AF_INET);
	rss0 = hs_rss_kib(d);
	cpu0 = hs_cpu_ms(d);
	cr_assert(rss0 > 0 && cpu0 >= 0, "cannot read /proc for the daemon");
	fd = hs_connect(d, "chargen", SOCK_STREAM, AF_INET);
	/* A measuring window, not a wait for readiness. */
	poll(NULL, 0, 1500);
	rss1 = hs_rss_kib(d);
	cpu1 = hs_cpu_ms(d);
	cr_log_info("non-reading chargen client: RSS %ld -> %ld KiB, CPU %ld "
	    "ms in 1.5 s", rss0, rss1, cpu1 - cpu0);
	cr_assert(cpu1 - cpu0 < 500, "the daemon used %ld ms of CPU in 1.5 s "
	    "with one non-reading chargen client: a busy loop?", cpu1 - cpu0);
	cr_assert(rss1 - rss0 < RSS_BOUND_KIB, "RSS grew by %ld KiB with one "
	    "non-reading chargen client", rss1 - rss0);
	n = hs_recv_n(fd, buf, sizeof(buf), hs_ms(LIM_TMO));
	cr_assert(n == (ssize_t)sizeof(buf), "chargen: %s",
	    n < 0 ? strerror(errno) : "short read");
	why = hs_check_chargen_tcp(buf, sizeof(buf));
	cr_assert(why == NULL, "chargen after the stall: %s", why);
	hs_close(fd);
	lim_probe(d, "echo", AF_INET);
	hs_stop_ok(d);
}

/*
 * Open 10 connections (alternating between instances a and b) to a daemon
 * allowing `limit`: exactly `limit` are served, the others are closed at
 * once, and a fresh connection is served once the served ones are gone.
 */
static void
lim_max_conns(const char *conf, const char *a, const char *b, int limit)
{
	struct hs_daemon	*d = hs_spawn(conf);
	static const char	 ping[] = "ping\n";
	int			 fds[10], ok[10], served = 0, closed = 0;
	char			 buf[8];
	unsigned int		 attempt;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < 10; i++)
		fds[i] = hs_connect(d, i % 2 ? b : a, SOCK_STREAM, AF_INET);
	for (i = 0; i < 10; i++) {
		ok[i] = 0;
		/* A closed peer may already refuse the send: that is fine. */
		(void)send(fds[i], ping, 5, MSG_NOSIGNAL);
		n = hs_recv_n(fds[i], buf, 5, hs_ms(2000));
		if (n == 5 && memcmp(buf, ping, 5) == 0) {
			ok[i] = 1;
			served++;
		} else if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			closed++;
		else
			cr_assert_fail("connection %zu over max_connections = "
			    "%d: neither served nor closed within 2 s (%s)", i,
			    limit, n < 0 ? strerror(errno) :
			    hs_show(buf, (size_t)n));
	}
	cr_assert(served == limit && closed == 10 - limit,
	    "max_connections = %d, 10 clients: %d served, %d closed", limit,
	    served, closed);

	/* Let the served ones finish, then a newcomer gets a slot. */
	for (i = 0; i < 10; i++) {
		if (ok[i]) {
			cr_assert(shutdown(fds[i], SHUT_WR) == 0, "shutdown");
			cr_assert(hs_wait_closed(fds[i], hs_ms(LIM_TMO)) == 0,
			    "echo did not close after SHUT_WR");
		}
		hs_close(fds[i]);
	}
	for (attempt = 0; attempt < 20; attempt++) {
		fd = hs_connect(d, a, SOCK_STREAM, AF_INET);
		(void)send(fd, ping, 5, MSG_NOSIGNAL);
		n = hs_recv_n(fd, buf, 5, hs_ms(2000));
		hs_close(fd);
		if (n == 5 && memcmp(buf, ping, 5) == 0)
			break;
		/* The daemon may not have freed the slots yet: back off. */
		poll(NULL, 0, 50);
	}
	cr_assert(attempt < 20, "max_connections = %d: no slot came free "
	    "after all clients left", limit);
	if (attempt > 0)
		cr_log_warn("max_connections: a slot came free only after %u "
		    "retries", attempt);
	lim_probe(d, b, AF_INET);
	hs_stop_ok(d);
}

Test(limits, max_connections_instance, .timeout = 60)
{
	lim_max_conns(
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "max_connections = 5\n", "echo", "echo", 5);
}

Test(limits, max_connections_global, .timeout = 60)
{
	lim_max_conns(
	    "[daemon]\n"
	    "max_connections = 5\n"
	    "\n"
	    "[echo_a]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "\n"
	    "[echo_b]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n", "echo_a", "echo_b", 5);
}

/*
 * With idle_timeout = 500ms: a connection kept busy every 200 ms for
 * 1.6 s stays open; once idle, it is closed after about 500 ms.
 */
static void
lim_idle(const char *conf)
{
	struct hs_daemon	*d = hs_spawn(conf);
	struct pollfd		 pfd;
	int64_t			 t0, elapsed;
	unsigned int		 i;
	char			 c;
	int			 fd;

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	for (i = 0; i < 8; i++) {
		c = (char)('a' + i);
		cr_assert(hs_send_all(fd, &c, 1, hs_ms(LIM_TMO)) == 0 &&
		    hs_recv_n(fd, &c, 1, hs_ms(LIM_TMO)) == 1 &&
		    c == 'a' + (char)i, "busy connection: echo %u failed (%s)",
		    i, strerror(errno));
		/* 200 ms of quiet: the connection must stay open. */
		pfd.fd = fd;
		pfd.events = POLLIN;
		cr_assert(poll(&pfd, 1, 200) == 0, "a connection active every "
		    "200 ms was closed by idle_timeout = 500ms");
	}
	t0 = hs_now_ms();
	cr_assert(hs_wait_closed(fd, hs_ms(5000)) == 0, "idle connection not "
	    "closed within 5 s with idle_timeout = 500ms");
	elapsed = hs_now_ms() - t0;
	cr_assert(elapsed <= hs_ms(2000), "idle connection closed after %lld "
	    "ms, expected about 500 ms", (long long)elapsed);
	hs_close(fd);

	/* A connection that never sends anything is idle too. */
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	t0 = hs_now_ms();
	cr_assert(hs_wait_closed(fd, hs_ms(5000)) == 0, "silent connection "
	    "not closed within 5 s");
	elapsed = hs_now_ms() - t0;
	cr_assert(elapsed >= 300 && elapsed <= hs_ms(2000), "silent "
	    "connection closed after %lld ms, expected about 500 ms",
	    (long long)elapsed);
	hs_close(fd);
	lim_probe(d, "echo", AF_INET);
	hs_stop_ok(d);
}

Test(limits, idle_timeout_instance, .timeout = 60)
{
	lim_idle("[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "idle_timeout = 500ms\n");
}

Test(limits, idle_timeout_daemon_default, .timeout = 60)
{
	lim_idle("[daemon]\n"
	    "idle_timeout = 500ms\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n");
}

/* Every way a connection can end gives its descriptor back. */
Test(limits, no_descriptor_leak, .timeout = 120)
{
	struct hs_daemon	*d = hs_spawn_services();
	static unsigned char	 out[32 * 1024], in[32 * 1024];
	struct linger		 lg = { .l_onoff = 1, .l_linger = 0 };
	int			 fds[100], base, now = -1, fd;
	unsigned int		 k, rounds;
	struct hs_xfer		 x;
	char			 buf[512];
	size_t			 i;

	hs_pattern(out, sizeof(out), 3, 0);
	lim_probe(d, "echo", AF_INET);
	fd = hs_connect(d, "daytime", SOCK_STREAM, AF_INET);
	(void)hs_read_eof(fd, buf, sizeof(buf), hs_ms(LIM_TMO));
	hs_close(fd);
	/*
	 * daytime's FIN leaves before its descriptor is closed (conn.c,
	 * conn_drop_unread): the quiet count is the lowest of a few readings.
	 */
	base = hs_nfds(d);
	for (rounds = 0; rounds < 5; rounds++) {
		poll(NULL, 0, 20);
		if ((now = hs_nfds(d)) < base)
			base = now;
	}
	cr_assert(base > 0, "cannot count the daemon's descriptors");

	for (k = 0; k < 40; k++) {
		/* A complete echo with a half-close. */
		fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET6);
		cr_assert(hs_stream(fd, out, in, sizeof(in), &x,
		    hs_ms(LIM_TMO)) == 0 &&
		    x.inlen == sizeof(in), "echo: %s", strerror(errno));
		hs_close(fd);
		/* A service that closes first. */
		fd = hs_connect(d, "daytime", SOCK_STREAM, AF_INET);
		cr_assert(hs_read_eof(fd, buf, sizeof(buf),
		    hs_ms(LIM_TMO)) > 0, "daytime: %s", strerror(errno));
		hs_close(fd);
		/* A reset with echo output pending. */
		fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
		cr_assert(hs_send_all(fd, out, sizeof(out),
		    hs_ms(LIM_TMO)) == 0, "send: %s", strerror(errno));
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		hs_close(fd);
		/* A client leaving chargen while it writes. */
		fd = hs_connect(d, "chargen", SOCK_STREAM, AF_INET6);
		cr_assert(hs_recv_n(fd, buf, 74, hs_ms(LIM_TMO)) == 74,
		    "chargen: %s", strerror(errno));
		hs_close(fd);
		/* A client that connects and leaves at once. */
		hs_close(hs_connect(d, "qotd", SOCK_STREAM, AF_INET));
	}
	/* 100 connections open at the same time, then all closed. */
	for (i = 0; i < 100; i++)
		fds[i] = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	lim_probe(d, "echo", AF_INET);
	for (i = 0; i < 100; i++)
		hs_close(fds[i]);

	/*
	 * The daemon learns of the last closes asynchronously; give it a
	 * bounded moment, checking /proc between short waits.
	 */
	lim_probe(d, "echo", AF_INET);
	for (rounds = 0; rounds < 100; rounds++) {
		if ((now = hs_nfds(d)) <= base)
			break;
		poll(NULL, 0, 20);
	}
	cr_assert(now == base, "the daemon had %d descriptors before 300 "
	    "connections and %d after all of them closed", base, now);
	hs_stop_ok(d);
}

/*
 * A client that has seen a service's close may connect again at once, even
 * to another worker: the daemon gives the slot back before the client can
 * see the FIN.  Everything on one CPU, so that the client and the other
 * worker tend to run right when the first worker sends it.
 */
Test(limits, slot_free_when_client_sees_close, .timeout = 60)
{
	struct hs_daemon	*d;
	char			 buf[128];
	unsigned int		 i, refused = 0;
	ssize_t			 n;
	int			 fd;

	(void)hs_pin_one_cpu();
	d = hs_spawn("[daemon]\n"
	    "workers = 2\n"
	    "\n"
	    "[daytime]\n"
	    "service = daytime\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "max_connections = 1\n");
	for (i = 0; i < 500; i++) {
		fd = hs_connect(d, "daytime", SOCK_STREAM, AF_INET);
		n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(LIM_TMO));
		hs_close(fd);
		if (n <= 0)
			refused++;
	}
	hs_unpin();
	cr_assert(refused == 0, "max_connections = 1: %u of 500 clients that "
	    "came back right after the close were refused", refused);
	hs_stop_ok(d);
}

/*
 * Connect to instance and send a line: 1 when it comes back (the
 * connection stays open in *fd), 0 when the daemon closed the connection
 * instead (refused).
 */
static int
lim_served(struct hs_daemon *d, const char *instance, int *fd)
{
	char	buf[8];
	ssize_t	n;

	*fd = hs_connect(d, instance, SOCK_STREAM, AF_INET);
	(void)send(*fd, "ping\n", 5, MSG_NOSIGNAL);
	n = hs_recv_n(*fd, buf, 5, hs_ms(2000));
	if (n == 5 && memcmp(buf, "ping\n", 5) == 0)
		return 1;
	cr_assert(n == 0 || (n == -1 && (errno == ECONNRESET ||
	    errno == EPIPE)), "%s: neither served nor closed within 2 s (%s)",
	    instance, n < 0 ? strerror(errno) : hs_show(buf, (size_t)n));
	hs_close(*fd);
	*fd = -1;
	return 0;
}

/*
 * A reload, even of the same file, makes new instances; the connections
 * of the old ones still count: max_connections holds across it (it let
 * as many more in as the cap before), and the instance_rate bucket is not
 * refilled by it.
 */
Test(limits, reload_keeps_instance_limits, .timeout = 60)
{
	struct hs_daemon	*d;
	char			 conf[512];
	int			 port[2], fds[3], fd, i;
	int64_t			 t0;

	hs_free_ports(SOCK_STREAM, AF_INET, port, 2);
	snprintf(conf, sizeof(conf), "[capped]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:%d\nmax_connections = 3\n\n"
	    "[rated]\nservice = echo\nlisten = tcp://127.0.0.1:%d\n"
	    "instance_rate = 1\ninstance_burst = 2\n", port[0], port[1]);
	d = hs_spawn(conf);
	for (i = 0; i < 3; i++)
		cr_assert(lim_served(d, "capped", &fds[i]), "connection %d of "
		    "max_connections = 3 refused", i + 1);
	cr_assert(!lim_served(d, "capped", &fd), "a 4th connection served");
	hs_reload(d, conf);
	cr_assert(!lim_served(d, "capped", &fd), "max_connections = 3: a 4th "
	    "connection served after a reload, 3 still open");
	for (i = 0; i < 3; i++)
		hs_close(fds[i]);
	for (i = 0; i < 40 && !lim_served(d, "capped", &fd); i++)
		poll(NULL, 0, 50);
	cr_assert(i < 40, "no place came free after the old connections left");
	hs_close(fd);

	/* 2 tokens, then none; the bucket refills at 1 a second. */
	t0 = hs_now_ms();
	for (i = 0; i < 2; i++) {
		cr_assert(lim_served(d, "rated", &fd), "connection %d of "
		    "instance_burst = 2 refused", i + 1);
		hs_close(fd);
	}
	cr_assert(!lim_served(d, "rated", &fd), "a 3rd connection served");
	hs_reload(d, conf);
	i = lim_served(d, "rated", &fd);
	if (i)
		hs_close(fd);
	if (hs_now_ms() - t0 < 900)
		cr_assert(!i, "instance_rate: the reload refilled the bucket");
	else
		cr_log_warn("instance_rate: too slow to tell (%lld ms)",
		    (long long)(hs_now_ms() - t0));
	hs_stop_ok(d);
}
