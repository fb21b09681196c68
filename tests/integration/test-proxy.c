/*
 * test-proxy.c: the PROXY protocol on TCP instances (proxy_protocol,
 * proxy_from, proxy_timeout) and the checks a load balancer uses (/healthz,
 * /ready, drain_delay).  The test plays the balancer from 127.0.0.1: it
 * sends v1 and v2 headers naming documentation addresses as clients, and
 * checks that only the header's bytes are consumed, that the client it
 * names is the source for deny, max_per_source and the connection log,
 * that other peers and bad, split or late headers are handled as
 * documented, and that every refusal is counted by reason.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/tcp.h>		/* tcpi_segs_in, not in glibc's tcp_info */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define PX_TMO		5000

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static size_t	v2_header(uint8_t *, int cmd, const char *src, int sport);
static void	px_wait_metric(int port, const char *series, long long want);
static int	px_echo(struct hs_daemon *, const char *inst, const void *hdr,
		    size_t hdrlen, const char *msg);
static int	px_hold(struct hs_daemon *, const char *inst, const void *hdr,
		    size_t hdrlen);
static int64_t	px_nagle_ms(struct hs_daemon *, const char *inst,
		    const void *first, size_t firstlen, const void *then,
		    size_t thenlen, size_t want);

/* The configs: one balancer address allowed, 127.0.0.1. */
#define PX_DAEMON							\
	"[daemon]\n"							\
	"metrics_listen = tcp://127.0.0.1:0\n"				\
	"log_connections = close\n"

#define PX_ECHO(name, ver, from, extra)					\
	"[" name "]\n"							\
	"service = echo\n"						\
	"listen = tcp://127.0.0.1:0\n"					\
	"proxy_protocol = " ver "\n"					\
	"proxy_from = " from "\n"					\
	extra

/* Instance "day" behind the balancer on 127.0.0.1:%d. */
#define PX_ANSWER(service)						\
	"[day]\n"							\
	"service = " service "\n"					\
	"listen = tcp://127.0.0.1:%d\n"				\
	"proxy_protocol = v2\n"					\
	"proxy_from = 127.0.0.1/32\n"

/* A v2 PROXY (cmd 1) or LOCAL (cmd 0) header for an IPv4 TCP client. */
static size_t
v2_header(uint8_t *out, int cmd, const char *src, int sport)
{
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = (uint8_t)(0x20 | cmd);
	out[13] = 0x11;
	out[14] = 0;
	out[15] = 12;
	cr_assert(inet_pton(AF_INET, src, out + 16) == 1);
	cr_assert(inet_pton(AF_INET, "127.0.0.1", out + 20) == 1);
	out[24] = (uint8_t)(sport >> 8);
	out[25] = (uint8_t)sport;
	out[26] = 0;
	out[27] = 7;
	return 28;
}

/* Scrape until series is want: counters move after the client sees EOF. */
static void
px_wait_metric(int port, const char *series, long long want)
{
	int64_t		deadline = hs_now_ms() + hs_ms(PX_TMO);
	long long	got;

	while ((got = hs_scrape(port, series)) != want &&
	    hs_now_ms() < deadline)
		usleep(20000);
	cr_assert(got == want, "%s = %lld, want %lld", series, got, want);
}

/*
 * As a balancer: connect to inst, send hdr then msg, shut down writing and
 * read to EOF.  Returns 1 when exactly msg came back, 0 when the
 * connection was closed without it.
 */
static int
px_echo(struct hs_daemon *d, const char *inst, const void *hdr,
    size_t hdrlen, const char *msg)
{
	char		 out[512], in[512];
	struct hs_xfer	 x;
	size_t		 len = strlen(msg);
	int		 fd;

	cr_assert(hdrlen + len <= sizeof(out));
	memcpy(out, hdr, hdrlen);
	memcpy(out + hdrlen, msg, len);
	fd = hs_connect(d, inst, SOCK_STREAM, AF_INET);
	memset(&x, 0, sizeof(x));
	x.out = out;
	x.outlen = hdrlen + len;
	x.shut_wr = 1;
	x.in = in;
	x.incap = sizeof(in);
	x.until_eof = 1;
	hs_xfer(fd, &x, hs_ms(PX_TMO));
	hs_close(fd);
	return x.inlen == len && memcmp(in, msg, len) == 0;
}

/*
 * As a balancer: open a connection to inst with hdr and one echoed byte,
 * and keep it open.  Returns the socket, or -1 when it was refused.
 */
static int
px_hold(struct hs_daemon *d, const char *inst, const void *hdr,
    size_t hdrlen)
{
	char	buf[256];
	int	fd;

	memcpy(buf, hdr, hdrlen);
	buf[hdrlen] = 'h';
	fd = hs_connect(d, inst, SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(fd, buf, hdrlen + 1, hs_ms(PX_TMO)) == 0);
	if (hs_recv_n(fd, buf, 1, hs_ms(PX_TMO)) != 1 || buf[0] != 'h') {
		hs_close(fd);
		return -1;
	}
	return fd;
}

Test(proxy, v1_and_v2_name_the_client, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(PX_DAEMON
	    PX_ECHO("e1", "v1", "127.0.0.1/32", "")
	    PX_ECHO("e2", "v2", "127.0.0.1/32", "")
	    PX_ECHO("any", "any", "127.0.0.0/8", ""));
	const char		*v1 = "PROXY TCP4 192.0.2.55 127.0.0.1 40001 7\r\n";
	uint8_t			 v2[64];
	size_t			 v2len = v2_header(v2, 1, "198.51.100.66", 40002);
	char			*log;

	/* The echo is the data alone: the header was consumed exactly. */
	cr_assert(px_echo(d, "e1", v1, strlen(v1), "one\n"));
	cr_assert(px_echo(d, "e2", v2, v2len, "two\n"));
	cr_assert(px_echo(d, "any", v1, strlen(v1), "three\n"));
	cr_assert(px_echo(d, "any", v2, v2len, "four\n"));
	/* Header and data in separate writes, the header itself split. */
	{
		int	fd = hs_connect(d, "e2", SOCK_STREAM, AF_INET);
		char	in[8];

		cr_assert(hs_send_all(fd, v2, 10, hs_ms(PX_TMO)) == 0);
		usleep(100000);
		cr_assert(hs_send_all(fd, v2 + 10, v2len - 10,
		    hs_ms(PX_TMO)) == 0);
		usleep(100000);
		cr_assert(hs_send_all(fd, "split", 5, hs_ms(PX_TMO)) == 0);
		cr_assert(hs_recv_n(fd, in, 5, hs_ms(PX_TMO)) == 5);
		cr_assert(memcmp(in, "split", 5) == 0);
		hs_close(fd);
	}
	hs_stop_ok(d);
	/* The connection log names the clients, never the balancer. */
	log = hs_log(d);
	cr_assert(strstr(log, "192.0.2.55:40001") != NULL, "log: %s", log);
	cr_assert(strstr(log, "198.51.100.66:40002") != NULL, "log: %s", log);
	free(log);
}

Test(proxy, client_checks_use_the_named_client, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(PX_DAEMON
	    PX_ECHO("e", "v2", "127.0.0.1/32",
	    "max_per_source = 1\ndeny = 203.0.113.0/24\n"));
	int			 port = hs_metrics_port(d);
	uint8_t			 a[64], b[64], bad[64];
	size_t			 alen = v2_header(a, 1, "192.0.2.1", 1000);
	size_t			 blen = v2_header(b, 1, "192.0.2.2", 1000);
	size_t			 badlen = v2_header(bad, 1, "203.0.113.9", 1);
	int			 fa, fb, fa2;

	/* One connection per client: two clients, both from the balancer. */
	fa = px_hold(d, "e", a, alen);
	cr_assert(fa != -1, "client A refused");
	fb = px_hold(d, "e", b, blen);
	cr_assert(fb != -1, "client B refused: max_per_source counted the "
	    "balancer, not the clients");
	fa2 = px_hold(d, "e", a, alen);
	cr_assert(fa2 == -1, "client A's second connection was admitted");
	px_wait_metric(port, "netsvcd_connections_refused_total{instance=\"e\""
	    ",service=\"echo\",reason=\"source\"}", 1);
	/* deny applies to the client named in the header. */
	cr_assert(!px_echo(d, "e", bad, badlen, "x"));
	px_wait_metric(port, "netsvcd_connections_refused_total{instance=\"e\""
	    ",service=\"echo\",reason=\"access\"}", 1);
	/* A LOCAL header (a balancer's health check): the real peer. */
	alen = v2_header(a, 0, "192.0.2.1", 1000);
	cr_assert(px_echo(d, "e", a, alen, "local"));
	hs_close(fa);
	hs_close(fb);
	hs_stop_ok(d);
}

Test(proxy, refused_peers_and_headers_are_counted, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(PX_DAEMON
	    PX_ECHO("other", "v2", "127.0.0.2/32", "")
	    PX_ECHO("v2only", "v2", "127.0.0.1/32", "")
	    PX_ECHO("slow", "any", "127.0.0.1/32", "proxy_timeout = 300ms\n"));
	int			 port = hs_metrics_port(d);
	const char		*v1 = "PROXY TCP4 192.0.2.55 127.0.0.1 1 7\r\n";
	uint8_t			 v2[64];
	size_t			 v2len = v2_header(v2, 1, "192.0.2.9", 9);
	char			 in[16];
	int64_t			 t0;
	int			 fd;

#define REFUSED(inst, why) "netsvcd_connections_refused_total{instance=\"" \
	inst "\",service=\"echo\",reason=\"" why "\"}"
#define BADHDR(inst, why) "netsvcd_proxy_headers_refused_total{instance=\"" \
	inst "\",service=\"echo\",reason=\"" why "\"}"

	/* 127.0.0.1 is not a balancer of [other]: refused, never trusted. */
	cr_assert(!px_echo(d, "other", v2, v2len, "x"));
	px_wait_metric(port, REFUSED("other", "proxy_from"), 1);
	/* A v1 header where only v2 is taken; plain data with no header. */
	cr_assert(!px_echo(d, "v2only", v1, strlen(v1), "x"));
	px_wait_metric(port, BADHDR("v2only", "version"), 1);
	cr_assert(!px_echo(d, "v2only", "", 0, "GET / HTTP/1.0\r\n\r\n"));
	px_wait_metric(port, BADHDR("v2only", "signature"), 1);
	px_wait_metric(port, REFUSED("v2only", "proxy_header"), 2);
	/* A v1 line with a bad port. */
	cr_assert(!px_echo(d, "slow", "PROXY TCP4 1.2.3.4 1.2.3.4 99999 7\r\n",
	    37, "x"));
	px_wait_metric(port, BADHDR("slow", "port"), 1);
	/* Half a header, then nothing: closed at proxy_timeout. */
	fd = hs_connect(d, "slow", SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(fd, v2, 10, hs_ms(PX_TMO)) == 0);
	t0 = hs_now_ms();
	/* EOF, or a reset for the unread half header: never data. */
	cr_assert(hs_read_eof(fd, in, sizeof(in), hs_ms(PX_TMO)) <= 0);
	cr_assert(hs_now_ms() - t0 >= 250, "closed after %lld ms",
	    (long long)(hs_now_ms() - t0));
	hs_close(fd);
	px_wait_metric(port, BADHDR("slow", "timeout"), 1);
	/* A balancer that leaves mid-header. */
	fd = hs_connect(d, "slow", SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(fd, v1, 10, hs_ms(PX_TMO)) == 0);
	hs_close(fd);
	px_wait_metric(port, BADHDR("slow", "closed"), 1);
	/* The waits gave their places back. */
	px_wait_metric(port, "netsvcd_connections_open", 0);
	hs_stop_ok(d);
#undef REFUSED
#undef BADHDR
}

/*
 * As a balancer in front of a daytime instance: send the parts with a
 * pause between them, then read to EOF.  Returns 1 when the reply was one
 * CRLF-terminated line followed by a clean EOF, 0 when nothing came.
 */
static int
px_daytime(struct hs_daemon *d, const char *inst, const void *const *part,
    const size_t *len, int nparts)
{
	char	in[128];
	ssize_t	n;
	int	fd, i;

	fd = hs_connect(d, inst, SOCK_STREAM, AF_INET);
	for (i = 0; i < nparts; i++) {
		if (i > 0)
			usleep(100000);
		cr_assert(hs_send_all(fd, part[i], len[i], hs_ms(PX_TMO)) == 0);
	}
	n = hs_read_eof(fd, in, sizeof(in), hs_ms(PX_TMO));
	hs_close(fd);
	if (n <= 0)
		return 0;
	cr_assert(n >= 2 && in[n - 2] == '\r' && in[n - 1] == '\n' &&
	    memchr(in, '\n', (size_t)n - 1) == NULL, "reply: %.*s", (int)n,
	    in);
	return 1;
}

/*
 * A built-in that discards its input reads the header instead of peeking
 * at it (one call, not two): whole, split over writes (kept between
 * reads), followed by data (dropped and counted as input), bad in its
 * second part, or cut short.
 */
Test(proxy, discarding_service_reads_the_header, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(PX_DAEMON
	    "[day]\nservice = daytime\nlisten = tcp://127.0.0.1:0\n"
	    "proxy_protocol = any\nproxy_from = 127.0.0.1/32\n");
	int			 port = hs_metrics_port(d);
	const char		*v1 = "PROXY TCP4 192.0.2.88 127.0.0.1 40008 13\r\n";
	uint8_t			 v2[64], bad[64];
	size_t			 v2len = v2_header(v2, 1, "198.51.100.77", 40007);
	char			 v1data[128], *log;
	const void		*p[3];
	size_t			 l[3];
	int			 fd;

#define DAY(what) "{instance=\"day\",service=\"daytime\"" what "}"
	p[0] = v2;
	l[0] = v2len;
	cr_assert(px_daytime(d, "day", p, l, 1));
	/* The header and data in one write: the data is dropped, counted. */
	snprintf(v1data, sizeof(v1data), "%signored\r\n", v1);
	p[0] = v1data;
	l[0] = strlen(v1data);
	cr_assert(px_daytime(d, "day", p, l, 1));
	px_wait_metric(port, "netsvcd_bytes_received_total"
	    DAY(",proto=\"tcp\""), 9);
	/* Split in three: the first parts wait in the buffer. */
	p[0] = v2;
	l[0] = 5;
	p[1] = v2 + 5;
	l[1] = 13;
	p[2] = v2 + 18;
	l[2] = v2len - 18;
	cr_assert(px_daytime(d, "day", p, l, 3));
	/* A good first part, then a family no one knows: refused. */
	memcpy(bad, v2, v2len);
	bad[13] = 0x99;
	p[0] = bad;
	l[0] = 12;
	p[1] = bad + 12;
	l[1] = v2len - 12;
	cr_assert(!px_daytime(d, "day", p, l, 2));
	px_wait_metric(port, "netsvcd_proxy_headers_refused_total"
	    DAY(",reason=\"family\""), 1);
	/* Half a header, and the balancer leaves. */
	fd = hs_connect(d, "day", SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(fd, v2, 10, hs_ms(PX_TMO)) == 0);
	hs_close(fd);
	px_wait_metric(port, "netsvcd_proxy_headers_refused_total"
	    DAY(",reason=\"closed\""), 1);
	px_wait_metric(port, "netsvcd_connections_open", 0);
	hs_stop_ok(d);
	log = hs_log(d);
	cr_assert(strstr(log, "198.51.100.77:40007") != NULL, "log: %s", log);
	cr_assert(strstr(log, "192.0.2.88:40008") != NULL, "log: %s", log);
	free(log);
#undef DAY
}

/*
 * A balancer's connection that sends nothing stays in the kernel
 * (TCP_DEFER_ACCEPT) instead of holding a wait: no header timeout at
 * proxy_timeout, but one once the kernel hands it over (about a second).
 */
Test(proxy, silent_connection_is_deferred_by_the_kernel, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(PX_DAEMON
	    PX_ECHO("slow", "v2", "127.0.0.1/32", "proxy_timeout = 300ms\n"));
	int			 port = hs_metrics_port(d);
	const char		*timeout = "netsvcd_proxy_headers_refused_total"
	    "{instance=\"slow\",service=\"echo\",reason=\"timeout\"}";
	long long		 got;
	int			 fd;

	fd = hs_connect(d, "slow", SOCK_STREAM, AF_INET);
	usleep(700000);		/* over twice proxy_timeout */
	got = hs_scrape(port, timeout);
	cr_assert(got == 0, "a silent connection was accepted at once and "
	    "timed out (%s = %lld)", timeout, got);
	px_wait_metric(port, timeout, 1);
	hs_close(fd);
	px_wait_metric(port, "netsvcd_connections_open", 0);
	hs_stop_ok(d);
}

/*
 * As a balancer with Nagle's algorithm on (HAProxy's default): send first,
 * then at once then, which the kernel holds until first is acked; the
 * milliseconds until want bytes of answer came.
 */
static int64_t
px_nagle_ms(struct hs_daemon *d, const char *inst, const void *first,
    size_t firstlen, const void *then, size_t thenlen, size_t want)
{
	char	in[128];
	int64_t	t0, ms;
	int	fd, off = 0;

	fd = hs_connect(d, inst, SOCK_STREAM, AF_INET);
	cr_assert(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &off,
	    sizeof(off)) == 0);
	t0 = hs_now_ms();
	cr_assert(hs_send_all(fd, first, firstlen, hs_ms(PX_TMO)) == 0);
	cr_assert(hs_send_all(fd, then, thenlen, hs_ms(PX_TMO)) == 0);
	cr_assert(hs_recv_n(fd, in, want, hs_ms(PX_TMO)) == (ssize_t)want);
	ms = hs_now_ms() - t0;
	hs_close(fd);
	return ms;
}

/*
 * A service that answers at once (daytime) acks the header with its
 * answer, not with a segment of its own: behind a balancer a connection
 * costs one segment more than a direct one (the header), not two.  The
 * delayed ACK that makes this is for such services only, and a partial
 * header is acked at once: a Nagle sender is never held for the delayed
 * ACK's 40 ms, neither between two parts of a header (daytime) nor
 * between the header and the client's first bytes (echo, which waits for
 * them).  Best of three tries: a slow machine may delay one.
 */
Test(proxy, answer_acks_the_header, .timeout = 60)
{
	struct hs_daemon	*d;
	uint8_t			 v2[64];
	size_t			 v2len = v2_header(v2, 1, "198.51.100.9", 40009);
	unsigned		 direct = 0, behind = 0;
	int64_t			 split = 0, echo = 0, kept = 0, ms;
	char			 conf[1024];
	int			 i, port;

	hs_free_ports(SOCK_STREAM, AF_INET, &port, 1);
	snprintf(conf, sizeof(conf), PX_DAEMON PX_ANSWER("daytime")
	    "[direct]\nservice = daytime\nlisten = tcp://127.0.0.1:0\n"
	    PX_ECHO("echo", "v2", "127.0.0.1/32", ""), port);
	d = hs_spawn(conf);
	for (i = 0; i < 3; i++) {
		direct = hs_segments_in(d, "direct", NULL, 0);
		behind = hs_segments_in(d, "day", v2, v2len);
		if (behind == direct)
			break;
	}
	cr_assert(behind == direct, "behind the balancer %u segments came "
	    "back, %u direct: the header had an ACK of its own", behind,
	    direct);
	for (i = 0; i < 3; i++) {
		ms = px_nagle_ms(d, "day", v2, 9, v2 + 9, v2len - 9, 1);
		split = i == 0 || ms < split ? ms : split;
		ms = px_nagle_ms(d, "echo", v2, v2len, "ab", 2, 2);
		echo = i == 0 || ms < echo ? ms : echo;
	}
	cr_assert(split < 20, "a header in two parts was answered after "
	    "%lld ms: its first part waited for a delayed ACK",
	    (long long)split);
	cr_assert(echo < 20, "echo behind a Nagle sender took %lld ms: the "
	    "header waited for a delayed ACK", (long long)echo);
	/* The listener is kept when a reload makes its service echo. */
	snprintf(conf, sizeof(conf), PX_DAEMON PX_ANSWER("echo"), port);
	hs_reload(d, conf);
	cr_assert(strstr(d->last_status, "reload failed") == NULL,
	    "STATUS=%s", d->last_status);
	for (i = 0; i < 3; i++) {
		ms = px_nagle_ms(d, "day", v2, v2len, "ab", 2, 2);
		kept = i == 0 || ms < kept ? ms : kept;
	}
	cr_assert(kept < 20, "echo on a listener kept from daytime took "
	    "%lld ms: its delayed ACKs stayed", (long long)kept);
	hs_stop_ok(d);
}

Test(proxy, ready_and_drain, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(
	    "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "drain_delay = 1500ms\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	int			 port = hs_metrics_port(d);
	char			 body[64];
	int64_t			 t0;

	cr_assert(hs_http_get(port, "/healthz", NULL, 0) == 200);
	cr_assert(hs_http_get(port, "/ready", body, sizeof(body)) == 200);
	cr_assert(strcmp(body, "ready\n") == 0, "body: %s", body);
	/* A reload that fails: not ready until one succeeds. */
	hs_reload(d, "[daemon\n");
	cr_assert(hs_http_get(port, "/ready", body, sizeof(body)) == 503);
	cr_assert(strstr(body, "reload") != NULL, "body: %s", body);
	cr_assert(hs_http_get(port, "/healthz", NULL, 0) == 200);
	hs_reload(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "drain_delay = 1500ms\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	cr_assert(hs_http_get(port, "/ready", NULL, 0) == 200);
	/* SIGTERM: /ready is 503 at once, and echo still answers. */
	t0 = hs_now_ms();
	hs_signal(d, SIGTERM);
	while (hs_http_get(port, "/ready", NULL, 0) != 503 &&
	    hs_now_ms() - t0 < 1000)
		usleep(10000);
	cr_assert(hs_http_get(port, "/ready", NULL, 0) == 503);
	cr_assert(px_echo(d, "echo", "", 0, "still here"));
	cr_assert(hs_wait_exit(d, hs_ms(PX_TMO)) == 0);
	cr_assert(hs_now_ms() - t0 >= 1400, "stopped after %lld ms, before "
	    "drain_delay", (long long)(hs_now_ms() - t0));
}
