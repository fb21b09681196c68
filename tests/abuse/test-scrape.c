/*
 * test-scrape.c: the metrics endpoint as an attacker uses it.  A client
 * that pipelines requests without reading the replies costs a bounded
 * amount of memory; hundreds of partial requests under a low descriptor
 * limit leave every service answering; a request trickled in byte by byte
 * is closed at its deadline.  And what the metrics say: connections are
 * labelled by the service they serve after a reload changes it, and HEAD
 * of a 404 has a Content-Length.
 */

#include <sys/types.h>
#include <sys/resource.h>
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

/* RSS growth allowed under a pipelining scraper (docs/SECURITY.md). */
#define SCRAPE_RSS_KIB	(AB_SANITIZED ? 65536 : 16384)
#define SCRAPE_MS	1500
#define NPARTIAL	300

static struct hs_endpoint	sc_ep;

static const struct hs_endpoint *sc_metrics_ep(struct hs_daemon *);
static void	sc_pipeline(const char *req, int ms);

TestSuite(scrape, .fini = hs_teardown);

/* The metrics endpoint, from its log line. */
static const struct hs_endpoint *
sc_metrics_ep(struct hs_daemon *d)
{
	hs_loopback_ep(hs_metrics_port(d), &sc_ep);
	return &sc_ep;
}

/* Send req over and over for ms, 64 KiB at a time, never reading. */
static void
sc_pipeline(const char *req, int ms)
{
	static char	chunk[65536];
	struct pollfd	pfd;
	int64_t		end = hs_now_ms() + ms;
	size_t		len = strlen(req), fill = 0, off = 0;
	unsigned long	sent = 0;
	ssize_t		n;
	int		fd;

	while (fill + len <= sizeof(chunk)) {
		memcpy(chunk + fill, req, len);
		fill += len;
	}
	fd = ab_tcp(&sc_ep, NULL);
	pfd.fd = fd;
	pfd.events = POLLOUT;
	while (hs_now_ms() < end) {
		n = send(fd, chunk + off, fill - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			sent += (unsigned long)n;
			off = (off + (size_t)n) % fill;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		(void)poll(&pfd, 1, 50);
	}
	cr_log_info("%lu bytes of requests pipelined", sent);
	ab_reset(fd);
}

/*
 * Item 8: GET, HEAD and 404 requests pipelined without reading replies:
 * the daemon's RSS grows by less than SCRAPE_RSS_KIB (it grew by hundreds
 * of MiB: evhttp kept reading while a reply waited).
 */
Test(scrape, pipelining_bounded, .timeout = 120)
{
	static const char *const	 reqs[] = {
		"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	struct hs_daemon		*d;
	const char			*asan = getenv("ASAN_OPTIONS");
	char				 opts[512];
	long				 rss0, hwm;
	size_t				 i;

	/*
	 * ASan keeps freed memory in a quarantine (256 MiB by default): each
	 * answered request's body would count.  Keep it small, so that RSS
	 * measures what the daemon holds.
	 */
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=8",
	    asan != NULL ? asan : "", asan != NULL && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	d = hs_spawn("[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	sc_metrics_ep(d);
	ab_probe(d, "echo", AF_INET, NULL, ab_ms(3000));
	rss0 = hs_rss_kib(d);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		sc_pipeline(reqs[i], SCRAPE_MS);
		hwm = hs_hwm_kib(d);
		cr_assert(hwm - rss0 < SCRAPE_RSS_KIB, "pipelined \"%.*s\": "
		    "peak RSS grew by %ld KiB (bound %d KiB)",
		    (int)strcspn(reqs[i], "\r"), reqs[i], hwm - rss0,
		    SCRAPE_RSS_KIB);
	}
	ab_probe(d, "echo", AF_INET, NULL, ab_ms(3000));
	hs_stop_ok(d);
}

/*
 * Item 9: with 160 descriptors and max_connections = 100, 300 partial
 * metrics requests must not take the descriptors the services need:
 * daytime still answers every client.  The cap is counted.
 */
Test(scrape, partial_requests_capped, .timeout = 120)
{
	struct hs_daemon		*d;
	struct rlimit			 rl = { 160, 160 };
	static int			 fds[NPARTIAL];
	char				 buf[256];
	int				 i, fd, served = 0;

	ab_nofile(NPARTIAL + 200);
	d = hs_spawn("[daemon]\nworkers = 1\nmax_connections = 100\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[daytime]\nservice = daytime\nlisten = tcp://127.0.0.1:0\n");
	sc_metrics_ep(d);
	cr_assert(prlimit(d->pid, RLIMIT_NOFILE, &rl, NULL) == 0,
	    "prlimit: %s", strerror(errno));
	for (i = 0; i < NPARTIAL; i++) {
		fds[i] = ab_tcp_start(&sc_ep, NULL);
		cr_assert(fds[i] != -1, "connect %d: %s", i, strerror(errno));
	}
	ab_pause_ms(300);
	for (i = 0; i < NPARTIAL; i++)
		send(fds[i], "GET /metrics HTTP/1.1\r\nHost:", 28,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	ab_pause_ms(500);
	for (i = 0; i < 5; i++) {
		fd = hs_connect(d, "daytime", SOCK_STREAM, AF_INET);
		if (hs_read_eof(fd, buf, sizeof(buf), ab_ms(3000)) > 2)
			served++;
		hs_close(fd);
	}
	cr_assert(served == 5, "daytime answered %d of 5 clients while %d "
	    "partial metrics requests were open", served, NPARTIAL);
	cr_assert(hs_nfds(d) < 100, "the daemon holds %d descriptors",
	    hs_nfds(d));
	for (i = 0; i < NPARTIAL; i++)
		hs_close(fds[i]);
	ab_pause_ms(300);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"metrics_connections\"}") >= 1);
	hs_stop_ok(d);
}

/* GET path on a fresh connection; the status, or -1 without one in 2 s. */
static int
sc_get_status(const char *path)
{
	char	req[128], buf[512];
	ssize_t	n;
	int	fd, status = -1;

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	fd = ab_tcp(&sc_ep, NULL);
	if (hs_send_all(fd, req, strlen(req), ab_ms(2000)) == 0 &&
	    (n = hs_read_eof(fd, buf, sizeof(buf) - 1, ab_ms(2000))) > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
			status = -1;
	}
	hs_close(fd);
	return status;
}

/*
 * A few clients holding metrics connections open (slow requests) must
 * not lock a balancer's health check out: at metrics_max_connections the
 * oldest connection is closed to make room, and /healthz answers at once.
 */
Test(scrape, slow_clients_leave_room_for_health_checks, .timeout = 60)
{
	struct hs_daemon	*d;
	int			 fds[8], i, closed = 0, status;

	d = hs_spawn("[daemon]\nworkers = 1\nmetrics_max_connections = 4\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	sc_metrics_ep(d);
	for (i = 0; i < 8; i++) {
		fds[i] = ab_tcp(&sc_ep, NULL);
		send(fds[i], "GET /metrics HTTP/1.1\r\nHost:", 28,
		    MSG_NOSIGNAL);
		ab_pause_ms(20);
	}
	ab_pause_ms(300);
	for (i = 0; i < 5; i++) {
		status = sc_get_status("/healthz");
		cr_assert(status == 200, "health check %d with 8 slow clients "
		    "at metrics_max_connections = 4: %s %d", i + 1,
		    status == -1 ? "no answer in 2 s" : "status", status);
	}
	for (i = 0; i < 8; i++) {
		if (ab_peer_closed(fds[i]))
			closed++;
		hs_close(fds[i]);
	}
	cr_assert(closed >= 4, "only %d of the 8 slow clients closed", closed);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"metrics_connections\"}") >= 1);
	hs_stop_ok(d);
}

/*
 * Item 9: a request trickled one byte every 400 ms (never idle for the
 * 10 s timeout) is closed by its 10 s deadline.
 */
Test(scrape, trickle_deadline, .timeout = 60)
{
	static const char	 req[] = "GET /metrics HTTP/1.1\r\n"
				    "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct hs_daemon	*d;
	int64_t			 start, end;
	size_t			 i = 0;
	int			 fd, closed = 0;

	d = hs_spawn("[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	sc_metrics_ep(d);
	fd = ab_tcp(&sc_ep, NULL);
	start = hs_now_ms();
	end = start + 16000;
	while (hs_now_ms() < end) {
		if (ab_peer_closed(fd)) {
			closed = 1;
			break;
		}
		send(fd, &req[i++ % (sizeof(req) - 1)], 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		ab_pause_ms(400);
	}
	cr_assert(closed, "a trickled request is still open after %lld ms",
	    (long long)(hs_now_ms() - start));
	cr_assert(hs_now_ms() - start >= 9000, "closed too early: %lld ms",
	    (long long)(hs_now_ms() - start));
	hs_close(fd);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"metrics_deadline\"}") == 1);
	hs_stop_ok(d);
}

/*
 * Item 13: a reload changes the service of an instance; its open
 * connection is still counted under the service it serves (echo), and
 * HEAD of a 404 says how long the body would be.
 */
Test(scrape, labels_and_head, .timeout = 60)
{
	static const char	 head[] = "HEAD /nope HTTP/1.1\r\nHost: x\r\n"
				    "Connection: close\r\n\r\n";
	struct hs_daemon	*d;
	struct hs_xfer		 x;
	char			 conf[256], buf[2048];
	int			 port, fd, mfd;
	enum ab_fate		 f;

	hs_free_ports(SOCK_STREAM, AF_INET, &port, 1);
	snprintf(conf, sizeof(conf), "[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[svc]\nservice = echo\nlisten = tcp://127.0.0.1:%d\n", port);
	d = hs_spawn(conf);
	fd = hs_connect(d, "svc", SOCK_STREAM, AF_INET);
	f = ab_echo_fate(fd, "x", ab_ms(3000));
	cr_assert(f == AB_SERVED);
	snprintf(conf, sizeof(conf), "[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[svc]\nservice = discard\nlisten = tcp://127.0.0.1:%d\n", port);
	hs_reload(d, conf);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_connections_active"
	    "{instance=\"svc\",service=\"echo\"}") == 1,
	    "the echo connection is not labelled echo after the reload");
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_connections_active"
	    "{instance=\"svc\",service=\"discard\"}") == 0);
	cr_assert(hs_scrape(hs_metrics_port(d),
	    "netsvcd_connections_accepted_total"
	    "{instance=\"svc\",service=\"echo\"}") == 1,
	    "echo's history moved to discard");
	hs_close(fd);

	sc_metrics_ep(d);
	mfd = ab_tcp(&sc_ep, NULL);
	memset(&x, 0, sizeof(x));
	x.out = head;
	x.outlen = sizeof(head) - 1;
	x.in = buf;
	x.incap = sizeof(buf) - 1;
	x.until_eof = 1;
	cr_assert(hs_xfer(mfd, &x, ab_ms(3000)) == 0);
	hs_close(mfd);
	buf[x.inlen] = '\0';
	cr_assert(strncmp(buf, "HTTP/1.1 404", 12) == 0, "%s", buf);
	cr_assert(strstr(buf, "Content-Length: ") != NULL, "HEAD of a 404 "
	    "has no Content-Length: %s", buf);
	hs_stop_ok(d);
}
