/*
 * test-udp.c: UDP abuse.  Datagrams from the ports of other servers (7,
 * 19, 512, and a UDP port configured in netsvcd itself) get no reply, so no
 * forged datagram can start an echo <-> chargen loop (CERT CA-1996-01);
 * from a client port they do.  A flood from one source is throttled by its
 * rate while another source is served.  Replies larger than the request
 * (daytime) are throttled per source by the amplification bucket, while
 * echo, never larger, is not.  Every drop is counted by reason.
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

#define UDP_BATCH	16		/* datagrams sent between pauses */
#define UDP_PACE_MS	3		/* pause: no loss in socket buffers */

static unsigned long	udp_drain(int, size_t *);
static unsigned long	udp_volley(int, size_t, size_t *, int64_t *);
static unsigned long	udp_setting(struct hs_daemon *, const char *,
			    const char *);
static int		udp_from(struct hs_daemon *,
			    const struct hs_endpoint *, const char *, int);

TestSuite(udp, .fini = hs_teardown);

/* Read every datagram waiting; count them, and the bytes if asked. */
static unsigned long
udp_drain(int fd, size_t *bytes)
{
	char		 buf[2048];
	unsigned long	 n = 0;
	unsigned int	 rounds;
	ssize_t		 r;

	for (rounds = 0; rounds < 100000; rounds++) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			break;
		n++;
		if (bytes != NULL)
			*bytes += (size_t)r;
	}
	return n;
}

/*
 * Send count 1-byte datagrams in paced batches, collecting replies as
 * they come, then wait until no reply has come for 300 ms.  Returns the
 * replies; *bytes gets their total size, *ms the time spent sending.
 */
static unsigned long
udp_volley(int fd, size_t count, size_t *bytes, int64_t *ms)
{
	struct pollfd	 pfd;
	int64_t		 t0 = hs_now_ms();
	unsigned long	 got = 0;
	unsigned int	 rounds;
	size_t		 i;

	*bytes = 0;
	for (i = 0; i < count; i++) {
		cr_assert(send(fd, "?", 1, 0) == 1, "send: %s",
		    strerror(errno));
		if (i % UDP_BATCH == UDP_BATCH - 1) {
			ab_pause_ms(UDP_PACE_MS);
			got += udp_drain(fd, bytes);
		}
	}
	*ms = hs_now_ms() - t0;
	for (rounds = 0; rounds < 10000; rounds++) {
		got += udp_drain(fd, bytes);
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ab_ms(300)) <= 0)
			break;
	}
	return got;
}

/* A numeric key of an instance as "netsvcd -T" shows it (defaults too). */
static unsigned long
udp_setting(struct hs_daemon *d, const char *instance, const char *key)
{
	struct hs_result	 res;
	char			 head[96], want[96], *sec, *at, *end;
	unsigned long		 v;

	cr_assert(hs_run(&res, ab_ms(10000), "-T", "-c", d->conf_path,
	    (char *)NULL) == 0 && res.exit_code == 0, "netsvcd -T failed: %s",
	    res.err != NULL ? res.err : "");
	snprintf(head, sizeof(head), "[%s]\n", instance);
	snprintf(want, sizeof(want), "\n%s = ", key);
	sec = strstr(res.out, head);
	cr_assert(sec != NULL, "no [%s] in netsvcd -T", instance);
	if ((end = strstr(sec + 1, "\n[")) != NULL)
		*end = '\0';
	at = strstr(sec, want);
	cr_assert(at != NULL, "no %s in [%s] of netsvcd -T", key, instance);
	v = strtoul(at + strlen(want), NULL, 10);
	hs_result_free(&res);
	return v;
}

/*
 * A UDP socket from src:port to ep.  Another process may hold a low port
 * on 127.0.0.1: then a nearby loopback address is as good a source.
 */
static int
udp_from(struct hs_daemon *d, const struct hs_endpoint *ep, const char *src,
    int port)
{
	static const char *const alt[] = { "127.0.0.91", "127.0.0.92",
	    "127.0.0.93" };
	size_t	i;
	int	fd;

	if ((fd = ab_udp(d, ep, src, port)) != -1 || ep->family != AF_INET)
		return fd;
	for (i = 0; i < sizeof(alt) / sizeof(alt[0]) && fd == -1; i++)
		fd = ab_udp(d, ep, alt[i], port);
	return fd;
}

/*
 * Case 5a.  No reply to source ports 7, 19 and 512, over IPv4 and IPv6,
 * nor to the configured UDP port of another netsvcd service (chargen):
 * the echo <-> chargen loop cannot start.  A client port is answered.
 * Each drop is counted as "reflection".
 */
Test(udp, reflection_ports, .timeout = 60)
{
	static const int	 low[] = { 7, 19, 512 };
	static const int	 fams[] = { AF_INET, AF_INET6 };
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	char			*conf, buf[64];
	long			 dropped;
	size_t			 i, j, sent = 0;
	ssize_t			 n;
	int			 port, fd;

	hs_free_ports(SOCK_DGRAM, AF_INET, &port, 1);
	cr_assert(asprintf(&conf,
	    "[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = udp://127.0.0.1:0 udp://[::1]:0\n"
	    "\n"
	    "[chargen]\n"
	    "service = chargen\n"
	    "listen = udp://127.0.0.1:%d\n", port) != -1, "out of memory");
	d = hs_spawn(conf);
	free(conf);

	for (j = 0; j < 2; j++) {
		ep = hs_endpoint(d, "echo", SOCK_DGRAM, fams[j]);
		for (i = 0; i < 3; i++) {
			fd = udp_from(d, ep, fams[j] == AF_INET ?
			    "127.0.0.1" : "::1", low[i]);
			cr_assert(fd != -1, "cannot bind UDP port %d on %s "
			    "(%s): this case needs root", low[i],
			    hs_family_name(fams[j]), strerror(errno));
			cr_assert(send(fd, "loop?", 5, 0) == 5, "send: %s",
			    strerror(errno));
			sent++;
			cr_assert(hs_udp_silent(fd, ab_ms(300)), "echo "
			    "answered a datagram from %s port %d",
			    hs_family_name(fams[j]), low[i]);
			hs_close(fd);
		}
		/* A client port gets its echo. */
		fd = ab_udp(d, ep, NULL, 0);
		cr_assert(fd != -1, "UDP socket: %s", strerror(errno));
		n = hs_udp_ask(fd, "hello", 5, buf, sizeof(buf), ab_ms(2000));
		cr_assert(n == 5 && memcmp(buf, "hello", 5) == 0, "echo over "
		    "%s from a client port: %s", hs_family_name(fams[j]),
		    n < 0 ? strerror(errno) : hs_show(buf, (size_t)n));
		hs_close(fd);
	}

	/* From the chargen port (on another address): no echo, no loop. */
	ep = hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	fd = ab_udp(d, ep, "127.0.0.2", port);
	cr_assert(fd != -1, "cannot bind 127.0.0.2:%d: %s", port,
	    strerror(errno));
	cr_assert(send(fd, "loop?", 5, 0) == 5, "send: %s", strerror(errno));
	sent++;
	cr_assert(hs_udp_silent(fd, ab_ms(300)), "echo answered a datagram "
	    "from the port of the chargen service (%d)", port);
	hs_close(fd);

	dropped = ab_metric(d, "netsvcd_datagrams_dropped_total", "echo",
	    "reflection");
	cr_assert(dropped == (long)sent, "dropped{reason=\"reflection\"} is "
	    "%ld after %zu such datagrams", dropped, sent);
	hs_stop_ok(d);
}

/*
 * Case 5b.  A UDP flood from one source against rate = 20, burst = 20:
 * most datagrams get no reply, another source (127.0.0.2) is answered
 * throughout, the drops are counted as "rate", and the flooder is served
 * again a second later.
 */
Test(udp, flood_throttled_per_source, .timeout = 60)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = udp://127.0.0.1:0\n"
	    "rate = 20\n"
	    "burst = 20\n";
	const size_t		 total = AB_SANITIZED ? 200 : 400;
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	char			 buf[64];
	unsigned long		 got = 0, allowed;
	unsigned int		 rounds, probes = 0;
	struct pollfd		 pfd;
	int64_t			 t0, elapsed;
	long			 dropped;
	ssize_t			 n;
	size_t			 i;
	int			 fd, other;

	d = hs_spawn(conf);
	ep = hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	fd = ab_udp(d, ep, "127.0.0.1", 0);
	other = ab_udp(d, ep, "127.0.0.2", 0);
	cr_assert(fd != -1 && other != -1, "UDP sockets: %s",
	    strerror(errno));
	t0 = hs_now_ms();
	for (i = 0; i < total; i++) {
		cr_assert(send(fd, "flood", 5, 0) == 5, "send: %s",
		    strerror(errno));
		if (i % UDP_BATCH != UDP_BATCH - 1)
			continue;
		ab_pause_ms(UDP_PACE_MS);
		got += udp_drain(fd, NULL);
		/* Every 6th batch, another source asks. */
		if ((i / UDP_BATCH) % 6 == 5) {
			n = hs_udp_ask(other, "other", 5, buf, sizeof(buf),
			    ab_ms(1000));
			cr_assert(n == 5 && memcmp(buf, "other", 5) == 0,
			    "127.0.0.2 got %s while 127.0.0.1 flooded",
			    n < 0 ? "no reply" : hs_show(buf, (size_t)n));
			probes++;
		}
	}
	elapsed = hs_now_ms() - t0;
	for (rounds = 0; rounds < 1000; rounds++) {
		got += udp_drain(fd, NULL);
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ab_ms(300)) <= 0)
			break;
	}
	allowed = 20 + (unsigned long)(elapsed * 20 / 1000) + 2;
	cr_log_info("UDP flood, rate = 20, burst = 20: %zu datagrams in %lld "
	    "ms, %lu answered; 127.0.0.2 answered %u times", total,
	    (long long)elapsed, got, probes);
	cr_assert(got >= 20 && got <= allowed, "%lu of %zu flood datagrams "
	    "answered in %lld ms (expected 20..%lu)", got, total,
	    (long long)elapsed, allowed);
	dropped = ab_metric(d, "netsvcd_datagrams_dropped_total", "echo",
	    "rate");
	cr_assert(dropped == (long)(total - got), "dropped{reason=\"rate\"} "
	    "is %ld, the client missed %lu replies", dropped,
	    (unsigned long)total - got);

	ab_pause_ms(1000);
	n = hs_udp_ask(fd, "again", 5, buf, sizeof(buf), ab_ms(1000));
	cr_assert(n == 5, "127.0.0.1 still got no reply a second after its "
	    "flood");
	hs_close(fd);
	hs_close(other);
	hs_stop_ok(d);
}

/*
 * Case 5c.  The amplification bucket: daytime's reply is larger than a
 * 1-byte request, so with the default settings (udp_max_amplification 1)
 * one source gets about udp_amplify_burst quick replies, then only
 * udp_amplify_rate a second.  Echo, whose reply is never larger than the
 * request, answers every datagram of the same source.
 */
Test(udp, amplification_bucket, .timeout = 60)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "\n"
	    "[daytime]\n"
	    "service = daytime\n"
	    "listen = udp://127.0.0.1:0\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = udp://127.0.0.1:0\n";
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	unsigned long		 rate, burst, got, allowed, amp;
	size_t			 count, bytes;
	int64_t			 ms;
	long			 dropped;
	char			 buf[64];
	ssize_t			 n;
	int			 fd;

	d = hs_spawn(conf);
	rate = udp_setting(d, "daytime", "udp_amplify_rate");
	burst = udp_setting(d, "daytime", "udp_amplify_burst");
	amp = udp_setting(d, "daytime", "udp_max_amplification");
	cr_assert(rate > 0 && amp > 0, "the amplification bucket is off by "
	    "default (udp_max_amplification %lu, udp_amplify_rate %lu)",
	    amp, rate);
	if (burst == 0)
		burst = 2 * rate;
	count = burst + 150;

	ep = hs_endpoint(d, "daytime", SOCK_DGRAM, AF_INET);
	fd = ab_udp(d, ep, "127.0.0.1", 0);
	cr_assert(fd != -1, "UDP socket: %s", strerror(errno));
	got = udp_volley(fd, count, &bytes, &ms);
	allowed = burst + (unsigned long)ms * rate / 1000 + 2;
	cr_log_info("daytime, udp_amplify_rate %lu, burst %lu: %zu 1-byte "
	    "requests in %lld ms, %lu answered (%zu bytes)", rate, burst,
	    count, (long long)ms, got, bytes);
	cr_assert(got >= burst && got <= allowed, "daytime answered %lu of "
	    "%zu 1-byte requests in %lld ms (expected %lu..%lu)", got, count,
	    (long long)ms, burst, allowed);
	dropped = ab_metric(d, "netsvcd_datagrams_dropped_total", "daytime",
	    "amplification");
	cr_assert(dropped == (long)(count - got), "dropped{reason="
	    "\"amplification\"} is %ld, the client missed %lu replies",
	    dropped, (unsigned long)count - got);
	/* The bucket refills: a little later the source is answered. */
	ab_pause_ms(1000 / (int)rate + 100);
	n = hs_udp_ask(fd, "?", 1, buf, sizeof(buf), ab_ms(1000));
	cr_assert(n > 1, "daytime did not answer after the bucket refilled");
	hs_close(fd);

	/* Echo replies are request-sized: never throttled. */
	ep = hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	fd = ab_udp(d, ep, "127.0.0.1", 0);
	cr_assert(fd != -1, "UDP socket: %s", strerror(errno));
	got = udp_volley(fd, count, &bytes, &ms);
	cr_assert(got == count && bytes == count, "echo answered %lu of %zu "
	    "1-byte requests (%zu bytes): throttled by amplification?", got,
	    count, bytes);
	dropped = ab_metric(d, "netsvcd_datagrams_dropped_total", "echo",
	    "amplification");
	cr_assert(dropped == 0, "echo dropped %ld datagrams as amplification",
	    dropped);
	hs_close(fd);
	hs_stop_ok(d);
}

/*
 * Dropped datagrams are logged, at most once a second per instance, with
 * a count (netsvcd.ini(5), LIMITS AND ACCESS CONTROL: "Every refusal and
 * every dropped datagram is counted by reason and logged at most once a
 * second per instance, with the number of events").  A flood of 200
 * reflected datagrams must leave a line or two naming the instance and
 * the reason, not 200 lines, and not none.
 */
Test(udp, drops_logged_with_count, .timeout = 60)
{
	static const char	 conf[] =
	    "[echo]\n"
	    "service = echo\n"
	    "listen = udp://127.0.0.1:0\n";
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	char			*log, *p, *eol;
	unsigned int		 lines = 0, rounds;
	size_t			 i;
	int			 fd;

	d = hs_spawn(conf);
	ep = hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	fd = udp_from(d, ep, "127.0.0.1", 19);
	cr_assert(fd != -1, "cannot bind UDP port 19: %s", strerror(errno));
	for (i = 0; i < 200; i++) {
		cr_assert(send(fd, "loop?", 5, 0) == 5, "send: %s",
		    strerror(errno));
		if (i % UDP_BATCH == UDP_BATCH - 1)
			ab_pause_ms(UDP_PACE_MS);
	}
	cr_assert(hs_udp_silent(fd, ab_ms(300)), "echo answered port 19");
	/* One more a second later flushes the count of the first second. */
	ab_pause_ms(1100);
	cr_assert(send(fd, "loop?", 5, 0) == 5, "send: %s", strerror(errno));
	cr_assert(hs_udp_silent(fd, ab_ms(300)), "echo answered port 19");
	hs_close(fd);

	log = hs_log(d);
	p = log;
	for (rounds = 0; rounds < 100000 && p != NULL && *p != '\0';
	    rounds++) {
		if ((eol = strchr(p, '\n')) != NULL)
			*eol = '\0';
		if (strstr(p, "echo") != NULL && strstr(p, "reflection") !=
		    NULL)
			lines++;
		p = eol != NULL ? eol + 1 : NULL;
	}
	free(log);
	cr_assert(lines >= 1 && lines <= 3, "%u log lines name instance echo "
	    "and reason \"reflection\" after 201 reflected datagrams in about "
	    "a second (expected 1 to 3: logged at most once a second, with "
	    "a count)", lines);
	hs_stop_ok(d);
}

/*
 * A flood from many addresses, as from forged sources: 2,000 loopback
 * addresses (127.1.x.y) each send a datagram to an echo instance with
 * rate = 2.  The source table has a fixed size (max_sources, here the
 * minimum the daemon allows), so memory does not grow; every new source
 * starts with a full bucket and is answered; and a single source that
 * floods afterwards is still throttled.
 */
Test(udp, many_sources_bounded, .timeout = 60)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "max_connections = 10\n"
	    "max_sources = 64\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = udp://127.0.0.1:0\n"
	    "rate = 2\n"
	    "burst = 2\n";
	const size_t		 nsrc = 2000;
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	char			 src[32], buf[16];
	unsigned long		 got;
	long			 rss0, rss1;
	size_t			 i, answered = 0, bytes;
	int64_t			 ms;
	ssize_t			 n;
	int			 fd;

	d = hs_spawn(conf);
	ep = hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	/* Warm up: the daemon's UDP buffers exist before the baseline. */
	fd = ab_udp(d, ep, "127.0.0.9", 0);
	cr_assert(fd != -1 && hs_udp_ask(fd, "w", 1, buf, sizeof(buf),
	    ab_ms(2000)) == 1, "warm-up echo: %s", strerror(errno));
	hs_close(fd);
	rss0 = hs_rss_kib(d);
	for (i = 0; i < nsrc; i++) {
		snprintf(src, sizeof(src), "127.1.%zu.%zu", i / 250,
		    i % 250 + 1);
		fd = ab_udp(d, ep, src, 0);
		cr_assert(fd != -1, "UDP socket on %s: %s", src,
		    strerror(errno));
		n = hs_udp_ask(fd, "s", 1, buf, sizeof(buf), ab_ms(1000));
		if (n == 1)
			answered++;
		hs_close(fd);
	}
	rss1 = hs_rss_kib(d);
	cr_log_info("%zu sources, one datagram each: %zu answered; RSS %ld -> "
	    "%ld KiB", nsrc, answered, rss0, rss1);
	cr_assert(answered == nsrc, "%zu of %zu new sources answered (each "
	    "has a full bucket of 2)", answered, nsrc);
	cr_assert(rss1 - rss0 < 1024, "RSS grew by %ld KiB with %zu sources "
	    "and max_sources = 64", rss1 - rss0, nsrc);

	/* One source flooding now is still held to its rate. */
	fd = ab_udp(d, ep, "127.0.0.1", 0);
	cr_assert(fd != -1, "UDP socket: %s", strerror(errno));
	got = udp_volley(fd, 100, &bytes, &ms);
	cr_assert(got >= 2 && got <= 2 + (unsigned long)ms * 2 / 1000 + 1,
	    "a flooding source got %lu of 100 answered in %lld ms with "
	    "rate = 2, burst = 2", got, (long long)ms);
	hs_close(fd);
	hs_stop_ok(d);
}
