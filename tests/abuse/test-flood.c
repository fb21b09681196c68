/*
 * test-flood.c: connection floods and the limits that contain them, seen
 * from the clients.  2,000 connections at once against max_connections =
 * 100; one source over its rate; max_per_source with IPv4 and IPv6 sources
 * and source_prefix4 grouping; allow/deny lists.  In each case the
 * offending connections are closed at once, everyone else is served, and
 * the limited source recovers by itself.  Other sources are other loopback
 * addresses (127.0.0.2...), which Linux routes to lo.
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

#include "abuse-util.h"

#define FLOOD_N		2000		/* connections at once */
#define FLOOD_HELD	100		/* max_connections of the instance */
#define FLOOD_LATENCY	100		/* ms for a fresh client, flooded */

TestSuite(flood, .fini = hs_teardown);

/*
 * Case 1.  2,000 connections at once against an instance with
 * max_connections = 100 (and a global cap well above): the 1,900 extra
 * ones are closed at once, the 100 held ones all echo, a client of another
 * instance is answered within 100 ms during and after the flood, the log
 * counts every refusal (once a second, with the count), and when all close
 * the daemon is back to its descriptor count.
 */
Test(flood, max_connections_2000_at_once, .timeout = 120)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "max_connections = 5000\n"
	    "shutdown_timeout = 2s\n"
	    "\n"
	    "[held]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "max_connections = 100\n"
	    "backlog = 4096\n"
	    "\n"
	    "[fresh]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n";
	static int		 fds[FLOOD_N];
	static int64_t		 started[FLOOD_N];
	static unsigned char	 closed[FLOOD_N];
	static struct pollfd	 pfd[FLOOD_N];
	static size_t		 idx[FLOOD_N];
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	int64_t			 t0, deadline, last_change, worst = 0;
	long			 during, after, lat;
	unsigned long		 logged;
	unsigned int		 rounds, k;
	size_t			 i, n, nclosed = 0, nopen;
	char			 msg[32], buf[32];
	int			 base, fd, r;

	ab_nofile(FLOOD_N + 512);
	d = hs_spawn(conf);
	ep = hs_endpoint(d, "held", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "fresh", AF_INET, NULL, ab_ms(5000));
	base = hs_nfds(d);
	cr_assert(base > 0, "cannot count the daemon's descriptors");

	t0 = hs_now_ms();
	for (i = 0; i < FLOOD_N; i++) {
		started[i] = hs_now_ms();
		fds[i] = ab_tcp_start(ep, NULL);
		cr_assert(fds[i] != -1, "flood connection %zu: %s", i,
		    strerror(errno));
	}
	cr_log_info("%d connects issued in %lld ms", FLOOD_N,
	    (long long)(hs_now_ms() - t0));
	/* The daemon is busy refusing: a client elsewhere is still served. */
	during = ab_probe(d, "fresh", AF_INET, NULL, ab_ms(5000));

	/* Wait until the extra ones are closed and nothing changes. */
	deadline = hs_now_ms() + ab_ms(10000);
	last_change = hs_now_ms();
	for (rounds = 0; rounds < 100000; rounds++) {
		for (i = 0, n = 0; i < FLOOD_N; i++) {
			if (closed[i])
				continue;
			pfd[n].fd = fds[i];
			pfd[n].events = POLLRDHUP;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (nclosed >= FLOOD_N - FLOOD_HELD &&
		    hs_now_ms() - last_change >= 300)
			break;
		if (hs_now_ms() >= deadline)
			break;
		r = poll(pfd, n, 50);
		cr_assert(r >= 0, "poll: %s", strerror(errno));
		for (i = 0; i < n && r > 0; i++) {
			if (!(pfd[i].revents & (POLLRDHUP | POLLHUP |
			    POLLERR)))
				continue;
			closed[idx[i]] = 1;
			nclosed++;
			last_change = hs_now_ms();
			if (last_change - started[idx[i]] > worst)
				worst = last_change - started[idx[i]];
		}
	}
	nopen = FLOOD_N - nclosed;
	cr_log_info("%zu of %d connections closed by the daemon, the last "
	    "%lld ms after its connect; %zu held; fresh client answered in "
	    "%ld ms during the flood", nclosed, FLOOD_N, (long long)worst,
	    nopen, during);
	cr_assert(nopen == FLOOD_HELD, "max_connections = %d, %d clients at "
	    "once: %zu stayed open and %zu were closed (expected %d and %d)",
	    FLOOD_HELD, FLOOD_N, nopen, nclosed, FLOOD_HELD,
	    FLOOD_N - FLOOD_HELD);
	cr_assert(worst <= ab_ms(1000), "a refused connection was closed "
	    "only %lld ms after its connect", (long long)worst);
	cr_assert(during <= ab_quick_ms(FLOOD_LATENCY), "a client of another "
	    "instance waited %ld ms during the flood (bound %d ms)", during,
	    ab_quick_ms(FLOOD_LATENCY));

	/* The 100 held ones all work, and a fresh client is still quick. */
	for (i = 0, k = 0; i < FLOOD_N; i++) {
		if (closed[i])
			continue;
		cr_assert(ab_tcp_wait(fds[i], 0) == 0, "held connection %zu "
		    "is not connected: %s", i, strerror(errno));
		snprintf(msg, sizeof(msg), "held %zu\r\n", i);
		cr_assert(hs_send_all(fds[i], msg, strlen(msg),
		    ab_ms(5000)) == 0, "held %zu: send: %s", i,
		    strerror(errno));
		k++;
	}
	for (i = 0; i < FLOOD_N; i++) {
		if (closed[i])
			continue;
		snprintf(msg, sizeof(msg), "held %zu\r\n", i);
		cr_assert(hs_recv_n(fds[i], buf, strlen(msg), ab_ms(5000)) ==
		    (ssize_t)strlen(msg) && memcmp(buf, msg, strlen(msg)) == 0,
		    "held connection %zu: no echo (%s)", i, strerror(errno));
	}
	after = 0;
	for (k = 0; k < 5; k++) {
		lat = ab_probe(d, "fresh", AF_INET, NULL, ab_ms(5000));
		if (lat > after)
			after = lat;
	}
	cr_log_info("with %d held: the slowest of 5 fresh clients took %ld ms",
	    FLOOD_HELD, after);
	cr_assert(after <= ab_quick_ms(FLOOD_LATENCY), "a fresh client of "
	    "another instance waited %ld ms while %d connections were held",
	    after, FLOOD_HELD);

	/*
	 * Refusals are logged at most once a second, with the count since;
	 * what was held back follows within a second, so the lines add up
	 * to every refusal, one more a second later included.
	 */
	ab_pause_ms(1100);
	fd = ab_tcp(ep, NULL);
	cr_assert(ab_echo_fate(fd, "one more\r\n", ab_ms(2000)) == AB_CLOSED,
	    "a connection over max_connections was not closed");
	hs_close(fd);
	for (k = 0; k < 50 && (logged = ab_log_sum(d, "held", "refused")) <
	    FLOOD_N - FLOOD_HELD + 1; k++)
		ab_pause_ms(100);
	cr_assert(logged == FLOOD_N - FLOOD_HELD + 1, "the log lines "
	    "\"held: refused N connections\" add up to %lu, not %d", logged,
	    FLOOD_N - FLOOD_HELD + 1);
	cr_assert(ab_log_has(d, "(latest: limit)"), "refusal reason is not "
	    "\"limit\" in the log");

	/* Everyone leaves: no descriptor stays behind, and held serves. */
	for (i = 0; i < FLOOD_N; i++)
		hs_close(fds[i]);
	ab_wait_nfds(d, base, ab_ms(5000), "2,000 connections");
	(void)ab_probe(d, "held", AF_INET, NULL, ab_ms(5000));
	hs_stop_ok(d);
}

/*
 * The end of a burst of refusals reaches the log without waiting for
 * another refusal: a second after the last one, the lines add up to all.
 */
Test(flood, refusal_burst_tail_logged, .timeout = 60)
{
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	unsigned long		 logged = 0;
	int			 held, fd, i;

	d = hs_spawn("[one]\nservice = echo\nlisten = tcp://127.0.0.1:0\n"
	    "max_connections = 1\n");
	ep = hs_endpoint(d, "one", SOCK_STREAM, AF_INET);
	held = ab_tcp(ep, NULL);
	cr_assert(ab_echo_fate(held, "held\r\n", ab_ms(2000)) == AB_SERVED);
	for (i = 0; i < 20; i++) {
		fd = ab_tcp(ep, NULL);
		cr_assert(ab_echo_fate(fd, "x\r\n", ab_ms(2000)) == AB_CLOSED,
		    "connection %d over max_connections = 1 not closed", i);
		hs_close(fd);
	}
	for (i = 0; i < 50 && (logged = ab_log_sum(d, "one", "refused")) < 20;
	    i++)
		ab_pause_ms(100);
	cr_assert(logged == 20, "a second after 20 refusals, the log lines "
	    "add up to %lu", logged);
	hs_close(held);
	hs_stop_ok(d);
}

/*
 * Case 2.  rate = 5, burst = 5: one source opening 50 connections quickly
 * gets about 5 served and the rest closed at once; another source
 * (127.0.0.2) is served throughout; a second later the first one is
 * served again by itself.
 */
Test(flood, rate_limits_one_source_only, .timeout = 60)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "\n"
	    "[rated]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "rate = 5\n"
	    "burst = 5\n";
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	enum ab_fate		 f, fates[50];
	int64_t			 t0, elapsed;
	long			 metric;
	size_t			 i, served = 0, refused = 0, allowed;

	d = hs_spawn(conf);
	ep = hs_endpoint(d, "rated", SOCK_STREAM, AF_INET);
	t0 = hs_now_ms();
	for (i = 0; i < 50; i++) {
		fates[i] = ab_fate_once(ep, "127.0.0.1", "x\r\n", ab_ms(2000));
		cr_assert(fates[i] == AB_SERVED || fates[i] == AB_CLOSED,
		    "connection %zu from 127.0.0.1: %s", i,
		    ab_fate_name(fates[i]));
		if (fates[i] == AB_SERVED)
			served++;
		else
			refused++;
		/* Four probes of another source during the flood. */
		if (i % 12 == 11) {
			f = ab_fate_once(ep, "127.0.0.2", "other\r\n",
			    ab_ms(2000));
			cr_assert(f == AB_SERVED, "127.0.0.2 was %s while "
			    "127.0.0.1 exceeded its rate", ab_fate_name(f));
		}
	}
	elapsed = hs_now_ms() - t0;
	/* The burst, plus what refilled at 5 a second meanwhile. */
	allowed = 5 + (size_t)(elapsed * 5 / 1000) + 1;
	cr_log_info("rate = 5, burst = 5: 50 connections in %lld ms, %zu "
	    "served, %zu refused", (long long)elapsed, served, refused);
	for (i = 0; i < 5; i++)
		cr_assert(fates[i] == AB_SERVED, "connection %zu of the burst "
		    "was refused", i);
	cr_assert(served >= 5 && served <= allowed, "%zu of 50 connections "
	    "served in %lld ms with rate = 5, burst = 5 (expected 5..%zu)",
	    served, (long long)elapsed, allowed);
	cr_assert(ab_log_has(d, "rated: refused ") &&
	    ab_log_has(d, "(latest: rate)"), "no \"rated: refused ... "
	    "(latest: rate)\" line in the log");
	metric = ab_metric(d, "netsvcd_connections_refused_total", "rated",
	    "rate");
	cr_assert(metric == (long)refused, "refused{reason=\"rate\"} is %ld, "
	    "the client saw %zu refusals", metric, refused);

	/* Tokens refill: a second later 127.0.0.1 is served by itself. */
	ab_pause_ms(1000);
	for (i = 0; i < 3; i++) {
		f = ab_fate_once(ep, "127.0.0.1", "back\r\n", ab_ms(2000));
		cr_assert(f == AB_SERVED, "127.0.0.1 was still %s a second "
		    "after its flood (connection %zu)", ab_fate_name(f), i);
	}
	hs_stop_ok(d);
}

/*
 * Three echo connections to ep from src, each served, held in held; then
 * a 4th from src must be closed (max_per_source = 3).
 */
static void
fl_fill_source(const struct hs_endpoint *ep, const char *src, int held[3])
{
	enum ab_fate	f;
	size_t		i;

	for (i = 0; i < 3; i++) {
		held[i] = ab_tcp(ep, src);
		f = ab_echo_fate(held[i], "mine\r\n", ab_ms(2000));
		cr_assert(f == AB_SERVED, "%s connection %zu of 3: %s", src,
		    i, ab_fate_name(f));
	}
	f = ab_fate_once(ep, src, "fourth\r\n", ab_ms(2000));
	cr_assert(f == AB_CLOSED, "a 4th connection from %s with "
	    "max_per_source = 3 was %s", src, ab_fate_name(f));
}

/*
 * Case 3.  max_per_source = 3: a 4th concurrent connection from 127.0.0.1
 * is closed, 127.0.0.2 and ::1 are their own sources and are served; ::1
 * has its own limit of 3; after 127.0.0.1 closes one, it gets a new one.
 */
Test(flood, max_per_source, .timeout = 60)
{
	static const char	 conf[] =
	    "[persrc]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0 tcp://[::1]:0\n"
	    "max_per_source = 3\n";
	const struct hs_endpoint *ep4, *ep6;
	struct hs_daemon	*d;
	enum ab_fate		 f;
	unsigned int		 attempt;
	int			 v4[3], v6[3], base;
	size_t			 i;

	d = hs_spawn(conf);
	ep4 = hs_endpoint(d, "persrc", SOCK_STREAM, AF_INET);
	ep6 = hs_endpoint(d, "persrc", SOCK_STREAM, AF_INET6);
	base = hs_nfds(d);
	fl_fill_source(ep4, "127.0.0.1", v4);

	f = ab_fate_once(ep4, "127.0.0.2", "other\r\n", ab_ms(2000));
	cr_assert(f == AB_SERVED, "127.0.0.2 was %s while 127.0.0.1 was at "
	    "its limit", ab_fate_name(f));

	/* ::1 (its /64) is a source of its own, with its own limit. */
	fl_fill_source(ep6, "::1", v6);
	cr_assert(ab_log_has(d, "(latest: source)"), "refusal reason is not "
	    "\"source\" in the log");

	/* One of 127.0.0.1's closes: the daemon gives its slot back. */
	cr_assert(shutdown(v4[0], SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	cr_assert(hs_wait_closed(v4[0], ab_ms(5000)) == 0, "echo did not "
	    "close after the client's FIN");
	hs_close(v4[0]);
	for (attempt = 0; attempt < 20; attempt++) {
		f = ab_fate_once(ep4, "127.0.0.1", "again\r\n", ab_ms(2000));
		if (f == AB_SERVED)
			break;
		ab_pause_ms(50);	/* the reaper runs after the close */
	}
	cr_assert(f == AB_SERVED, "127.0.0.1 did not get a connection back "
	    "after closing one of its 3");
	for (i = 0; i < 3; i++)
		hs_close(v6[i]);
	for (i = 1; i < 3; i++)
		hs_close(v4[i]);
	ab_wait_nfds(d, base, ab_ms(5000), "per-source refusals");
	hs_stop_ok(d);
}

/*
 * Many addresses of one network are one source with source_prefix4 = 24:
 * a client cannot escape max_per_source by changing its address within
 * the prefix, while another /24 is a separate source.
 */
Test(flood, source_prefix4_groups, .timeout = 60)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "source_prefix4 = 24\n"
	    "\n"
	    "[persrc]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "max_per_source = 3\n";
	static const char *const same[] = { "127.0.0.1", "127.0.0.2",
	    "127.0.0.3" };
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	enum ab_fate		 f;
	int			 held[3];
	size_t			 i;

	d = hs_spawn(conf);
	ep = hs_endpoint(d, "persrc", SOCK_STREAM, AF_INET);
	for (i = 0; i < 3; i++) {
		held[i] = ab_tcp(ep, same[i]);
		f = ab_echo_fate(held[i], "x\r\n", ab_ms(2000));
		cr_assert(f == AB_SERVED, "%s: %s", same[i], ab_fate_name(f));
	}
	f = ab_fate_once(ep, "127.0.0.77", "x\r\n", ab_ms(2000));
	cr_assert(f == AB_CLOSED, "127.0.0.77, in the same /24 as three open "
	    "connections, was %s with max_per_source = 3", ab_fate_name(f));
	f = ab_fate_once(ep, "127.0.1.1", "x\r\n", ab_ms(2000));
	cr_assert(f == AB_SERVED, "127.0.1.1, another /24, was %s",
	    ab_fate_name(f));
	for (i = 0; i < 3; i++)
		hs_close(held[i]);
	hs_stop_ok(d);
}

/*
 * Case 9.  Access lists, TCP and UDP, from 127.0.0.1, 127.0.0.2, ... and
 * ::1.  A deny match wins (also the [daemon] one over an instance's
 * allow); no allow means everyone; refused TCP is closed at once and
 * denied datagrams get no reply.
 */
struct acl_case {
	const char	*instance;
	int		 type;
	int		 family;
	const char	*src;
	int		 served;
};

Test(flood, allow_deny, .timeout = 60)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "deny = 127.0.0.3/32\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "\n"
	    "[denied]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0 udp://127.0.0.1:0\n"
	    "deny = 127.0.0.1/32\n"
	    "\n"
	    "[v6only]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0 tcp://[::1]:0 udp://127.0.0.1:0 "
	    "udp://[::1]:0\n"
	    "allow = ::1/128\n"
	    "\n"
	    "[lan]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0 udp://127.0.0.1:0\n"
	    "allow = 127.0.0.0/8\n";
	static const struct acl_case cases[] = {
		{ "denied", SOCK_STREAM, AF_INET, "127.0.0.1", 0 },
		{ "denied", SOCK_STREAM, AF_INET, "127.0.0.2", 1 },
		{ "denied", SOCK_DGRAM, AF_INET, "127.0.0.1", 0 },
		{ "denied", SOCK_DGRAM, AF_INET, "127.0.0.2", 1 },
		{ "v6only", SOCK_STREAM, AF_INET6, "::1", 1 },
		{ "v6only", SOCK_STREAM, AF_INET, "127.0.0.1", 0 },
		{ "v6only", SOCK_DGRAM, AF_INET6, "::1", 1 },
		{ "v6only", SOCK_DGRAM, AF_INET, "127.0.0.1", 0 },
		{ "lan", SOCK_STREAM, AF_INET, "127.0.0.3", 0 },
		{ "lan", SOCK_STREAM, AF_INET, "127.0.0.4", 1 },
		{ "lan", SOCK_DGRAM, AF_INET, "127.0.0.3", 0 },
		{ "lan", SOCK_DGRAM, AF_INET, "127.0.0.4", 1 },
	};
	const struct acl_case	*c;
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	enum ab_fate		 f;
	char			 buf[64];
	long			 tcp_refused, udp_dropped;
	ssize_t			 n;
	size_t			 i;
	int			 fd, got;

	d = hs_spawn(conf);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		ep = hs_endpoint(d, c->instance, c->type, c->family);
		if (c->type == SOCK_STREAM) {
			f = ab_fate_once(ep, c->src, "acl\r\n", ab_ms(2000));
			cr_assert(f == (c->served ? AB_SERVED : AB_CLOSED),
			    "%s over TCP from %s: %s, expected %s",
			    c->instance, c->src, ab_fate_name(f),
			    c->served ? "served" : "closed at once");
			continue;
		}
		fd = ab_udp(d, ep, c->src, 0);
		cr_assert(fd != -1, "UDP socket on %s: %s", c->src,
		    strerror(errno));
		if (c->served) {
			n = hs_udp_ask(fd, "acl", 3, buf, sizeof(buf),
			    ab_ms(2000));
			got = n == 3 && memcmp(buf, "acl", 3) == 0;
		} else {
			cr_assert(send(fd, "acl", 3, 0) == 3, "send: %s",
			    strerror(errno));
			got = !hs_udp_silent(fd, ab_ms(300));
		}
		hs_close(fd);
		cr_assert(got == c->served, "%s over UDP from %s: %s",
		    c->instance, c->src, got ? "answered, expected no reply" :
		    "no reply, expected an echo");
	}
	tcp_refused = ab_metric(d, "netsvcd_connections_refused_total",
	    "denied", "access") + ab_metric(d,
	    "netsvcd_connections_refused_total", "v6only", "access") +
	    ab_metric(d, "netsvcd_connections_refused_total", "lan",
	    "access");
	udp_dropped = ab_metric(d, "netsvcd_datagrams_dropped_total",
	    "denied", "access") + ab_metric(d,
	    "netsvcd_datagrams_dropped_total", "v6only", "access") +
	    ab_metric(d, "netsvcd_datagrams_dropped_total", "lan", "access");
	cr_assert(tcp_refused == 3 && udp_dropped == 3, "access refusals "
	    "counted: %ld TCP and %ld UDP, expected 3 and 3", tcp_refused,
	    udp_dropped);
	cr_assert(ab_log_has(d, "(latest: access)"), "no access refusal in "
	    "the log");
	hs_stop_ok(d);
}
