/*
 * test-tcp.c: every service over TCP on 127.0.0.1 and ::1, against the
 * services fixture of harness.c: echo (small, 4 MiB, half-close, 100
 * concurrent clients, a client that resets), discard, chargen, daytime,
 * time, qotd and the three banners.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define TCP_TMO		5000		/* ms for one small exchange */
#define NCLIENTS	100
#define CLIENT_LEN	(16 * 1024)

static const int families[] = { AF_INET, AF_INET6 };
#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

/* One of the concurrent echo clients. */
struct tcp_client {
	int		 fd;
	size_t		 sent;
	size_t		 got;
	int		 shut;
	int		 eof;
	unsigned char	 out[CLIENT_LEN];
	unsigned char	 in[CLIENT_LEN];
};

static size_t	 tcp_mismatch(const void *, const void *, size_t);
static void	 tcp_echo_check(struct hs_daemon *, int, const char *,
		    size_t);
static int	 tcp_client_io(struct tcp_client *, short);

TestSuite(tcp, .fini = hs_teardown);

/* Index of the first differing byte, or len. */
static size_t
tcp_mismatch(const void *a, const void *b, size_t len)
{
	const unsigned char	*p = a, *q = b;
	size_t			 i;

	for (i = 0; i < len && p[i] == q[i]; i++)
		;
	return i;
}

/* Send msg to echo, read it back, then check EOF after a half-close. */
static void
tcp_echo_check(struct hs_daemon *d, int family, const char *msg, size_t len)
{
	char	buf[256];
	ssize_t	n;
	int	fd;

	fd = hs_connect(d, "echo", SOCK_STREAM, family);
	cr_assert(len <= sizeof(buf), "message too long");
	cr_assert(hs_send_all(fd, msg, len, hs_ms(TCP_TMO)) == 0,
	    "echo %s: send: %s", hs_family_name(family), strerror(errno));
	n = hs_recv_n(fd, buf, len, hs_ms(TCP_TMO));
	cr_assert(n == (ssize_t)len && memcmp(buf, msg, len) == 0,
	    "echo %s: sent %s, got %s (%s)", hs_family_name(family),
	    hs_show(msg, len), n < 0 ? "nothing" : hs_show(buf, (size_t)n),
	    n < 0 ? strerror(errno) : "short or different");
	hs_close(fd);
}

Test(tcp, echo_small, .timeout = 30)
{
	static const char	 hello[] = "hello, netsvcd\r\n";
	static const char	 more[] = "second line, no newline";
	struct hs_daemon	*d = hs_spawn_services();
	struct hs_xfer		 x;
	char			 buf[64];
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		tcp_echo_check(d, families[i], hello, strlen(hello));
		tcp_echo_check(d, families[i], "x", 1);

		/* A second message, a half-close, and nothing more. */
		fd = hs_connect(d, "echo", SOCK_STREAM, families[i]);
		memset(&x, 0, sizeof(x));
		x.out = more;
		x.outlen = strlen(more);
		x.shut_wr = 1;
		x.in = buf;
		x.incap = sizeof(buf);
		x.until_eof = 1;
		cr_assert(hs_xfer(fd, &x, hs_ms(TCP_TMO)) == 0,
		    "echo %s: %s after sending %s and SHUT_WR, got %s",
		    hs_family_name(families[i]), strerror(errno),
		    hs_show(more, strlen(more)), hs_show(buf, x.inlen));
		cr_assert(x.inlen == strlen(more) &&
		    memcmp(buf, more, x.inlen) == 0, "echo %s: sent %s, got %s",
		    hs_family_name(families[i]), hs_show(more, strlen(more)),
		    hs_show(buf, x.inlen));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* 4 MiB of random bytes, written and read at once, back byte for byte. */
Test(tcp, echo_4mib, .timeout = 90)
{
	struct hs_daemon	*d = hs_spawn_services();
	size_t			 len = 4 * 1024 * 1024, i, bad;
	unsigned char		*out, *in;
	struct hs_xfer		 x;
	int			 fd;

	out = malloc(len);
	in = malloc(len);
	cr_assert(out != NULL && in != NULL, "out of memory");
	for (i = 0; i < NFAMILIES; i++) {
		hs_pattern(out, len, 4000 + i, 0);
		fd = hs_connect(d, "echo", SOCK_STREAM, families[i]);
		cr_assert(hs_stream(fd, out, in, len, &x, hs_ms(30000)) == 0,
		    "4 MiB echo %s: %s with %zu bytes sent, %zu received",
		    hs_family_name(families[i]), strerror(errno), x.sent,
		    x.inlen);
		cr_assert(x.inlen == len, "4 MiB echo %s: %zu bytes came back",
		    hs_family_name(families[i]), x.inlen);
		bad = tcp_mismatch(out, in, len);
		cr_assert(bad == len, "4 MiB echo %s: byte %zu differs: sent "
		    "%s, got %s", hs_family_name(families[i]), bad,
		    hs_show(out + bad, len - bad < 16 ? len - bad : 16),
		    hs_show(in + bad, len - bad < 16 ? len - bad : 16));
		hs_close(fd);
	}
	free(out);
	free(in);
	hs_stop_ok(d);
}

/*
 * A child that opens connections to the address of fd, each held for 2 ms
 * with 2 ms between them, until killed (at most 20 s).  Its pid.
 */
static pid_t
tcp_churn(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int64_t			 end;
	pid_t			 pid;
	int			 c;

	cr_assert(getpeername(fd, (struct sockaddr *)&ss, &len) == 0);
	cr_assert((pid = fork()) != -1, "fork: %s", strerror(errno));
	if (pid != 0)
		return pid;
	end = hs_now_ms() + 20000;
	while (hs_now_ms() < end) {
		if ((c = socket(ss.ss_family, SOCK_STREAM, 0)) != -1) {
			(void)connect(c, (struct sockaddr *)&ss, len);
			usleep(2000);
			close(c);
		}
		usleep(2000);
	}
	_exit(0);
}

/*
 * Echo splices only while its worker has other connections, and copies
 * for a connection alone: 16 MiB back byte for byte while other
 * connections come and go, so the stream switches path many times.
 */
Test(tcp, echo_16mib_while_others_come_and_go, .timeout = 90)
{
	struct hs_daemon	*d = hs_spawn_services();
	size_t			 len = 16 * 1024 * 1024, bad;
	unsigned char		*out, *in;
	struct hs_xfer		 x;
	pid_t			 churn;
	int			 fd, st, r, e;

	out = malloc(len);
	in = malloc(len);
	cr_assert(out != NULL && in != NULL, "out of memory");
	hs_pattern(out, len, 4242, 0);
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	churn = tcp_churn(fd);
	r = hs_stream(fd, out, in, len, &x, hs_ms(60000));
	e = errno;
	kill(churn, SIGKILL);
	cr_assert(waitpid(churn, &st, 0) == churn);
	cr_assert(r == 0, "16 MiB echo: %s with %zu bytes sent, %zu received",
	    strerror(e), x.sent, x.inlen);
	cr_assert(x.inlen == len, "16 MiB echo: %zu bytes came back",
	    x.inlen);
	bad = tcp_mismatch(out, in, len);
	cr_assert(bad == len, "16 MiB echo: byte %zu differs", bad);
	hs_close(fd);
	free(out);
	free(in);
	hs_stop_ok(d);
}

/* Send 100 KiB (more than buffer_limit), SHUT_WR, then read it all back. */
Test(tcp, echo_half_close, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	static unsigned char	 out[100 * 1024], in[100 * 1024];
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		hs_pattern(out, sizeof(out), 100 + i, 0);
		fd = hs_connect(d, "echo", SOCK_STREAM, families[i]);
		cr_assert(hs_send_all(fd, out, sizeof(out),
		    hs_ms(TCP_TMO)) == 0, "echo %s: send 100 KiB: %s",
		    hs_family_name(families[i]), strerror(errno));
		cr_assert(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
		    strerror(errno));
		n = hs_read_eof(fd, in, sizeof(in), hs_ms(TCP_TMO));
		cr_assert(n == (ssize_t)sizeof(in), "echo %s after SHUT_WR: "
		    "%s (%zd of %zu bytes before EOF)",
		    hs_family_name(families[i]), n < 0 ? strerror(errno) :
		    "short", n, sizeof(in));
		cr_assert(memcmp(out, in, sizeof(in)) == 0,
		    "echo %s after SHUT_WR: byte %zu differs",
		    hs_family_name(families[i]),
		    tcp_mismatch(out, in, sizeof(in)));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* One step of a concurrent client; -1 on a socket error. */
static int
tcp_client_io(struct tcp_client *c, short revents)
{
	ssize_t	n;

	if ((revents & POLLOUT) && c->sent < CLIENT_LEN) {
		n = send(c->fd, c->out + c->sent, CLIENT_LEN - c->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			c->sent += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			return -1;
	}
	if (c->sent == CLIENT_LEN && !c->shut) {
		if (shutdown(c->fd, SHUT_WR) == -1)
			return -1;
		c->shut = 1;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (c->got < CLIENT_LEN)
			n = recv(c->fd, c->in + c->got, CLIENT_LEN - c->got,
			    MSG_DONTWAIT);
		else {
			/* Anything past our own bytes is cross-talk. */
			n = recv(c->fd, c->in, 1, MSG_DONTWAIT);
			if (n > 0) {
				errno = EMSGSIZE;
				return -1;
			}
		}
		if (n > 0)
			c->got += (size_t)n;
		else if (n == 0)
			c->eof = 1;
		else if (errno != EAGAIN)
			return -1;
	}
	return 0;
}

/* 100 clients at once, each with its own random bytes: no cross-talk. */
Test(tcp, echo_100_clients, .timeout = 90)
{
	struct hs_daemon	*d = hs_spawn_services();
	struct tcp_client	*c;
	struct pollfd		 pfd[NCLIENTS];
	int64_t			 deadline, left;
	unsigned int		 rounds;
	size_t			 i, done, bad;

	c = calloc(NCLIENTS, sizeof(*c));
	cr_assert(c != NULL, "out of memory");
	for (i = 0; i < NCLIENTS; i++) {
		hs_pattern(c[i].out, CLIENT_LEN, 10000 + i, 0);
		c[i].fd = hs_connect(d, "echo", SOCK_STREAM,
		    families[i % NFAMILIES]);
	}
	deadline = hs_now_ms() + hs_ms(30000);
	for (rounds = 0, done = 0; done < NCLIENTS && rounds < 1000000;
	    rounds++) {
		for (i = 0, done = 0; i < NCLIENTS; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = 0;
			if (c[i].sent < CLIENT_LEN)
				pfd[i].events |= POLLOUT;
			if (!c[i].eof)
				pfd[i].events |= POLLIN;
			if (pfd[i].events == 0) {
				pfd[i].fd = -1;
				done++;
			}
		}
		if (done == NCLIENTS)
			break;
		left = deadline - hs_now_ms();
		cr_assert(left > 0, "100 echo clients: not done in time; "
		    "%zu of %d finished", done, NCLIENTS);
		if (poll(pfd, NCLIENTS, (int)left) <= 0)
			continue;
		for (i = 0; i < NCLIENTS; i++)
			if (pfd[i].fd != -1 && pfd[i].revents != 0)
				cr_assert(tcp_client_io(&c[i],
				    pfd[i].revents) == 0, "echo client %zu: "
				    "%s (sent %zu, got %zu)", i,
				    strerror(errno), c[i].sent, c[i].got);
	}
	for (i = 0; i < NCLIENTS; i++) {
		cr_assert(c[i].got == CLIENT_LEN, "echo client %zu: got %zu "
		    "of %d bytes before EOF", i, c[i].got, CLIENT_LEN);
		bad = tcp_mismatch(c[i].out, c[i].in, CLIENT_LEN);
		cr_assert(bad == CLIENT_LEN, "echo client %zu (%s): byte %zu "
		    "is not its own", i,
		    hs_family_name(families[i % NFAMILIES]), bad);
		hs_close(c[i].fd);
	}
	free(c);
	hs_stop_ok(d);
}

/* A client that resets the connection with data in flight. */
Test(tcp, echo_client_reset, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	static unsigned char	 out[64 * 1024];
	struct linger		 lg = { .l_onoff = 1, .l_linger = 0 };
	size_t			 i, k;
	int			 fd;

	hs_pattern(out, sizeof(out), 7, 0);
	for (i = 0; i < NFAMILIES; i++) {
		for (k = 0; k < 10; k++) {
			fd = hs_connect(d, "echo", SOCK_STREAM, families[i]);
			cr_assert(hs_send_all(fd, out, sizeof(out),
			    hs_ms(TCP_TMO)) == 0, "send: %s", strerror(errno));
			cr_assert(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg)) == 0, "SO_LINGER: %s", strerror(errno));
			close(fd);
		}
		tcp_echo_check(d, families[i], "after resets\r\n", 14);
	}
	hs_stop_ok(d);
}

/* discard: 1 MiB in, nothing out, EOF after the half-close. */
Test(tcp, discard, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	static unsigned char	 out[1024 * 1024];
	struct hs_xfer		 x;
	size_t			 i;
	int			 fd;

	hs_pattern(out, sizeof(out), 9, 0);
	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "discard", SOCK_STREAM, families[i]);
		memset(&x, 0, sizeof(x));
		x.out = out;
		x.outlen = sizeof(out);
		x.shut_wr = 1;
		x.until_eof = 1;
		cr_assert(hs_xfer(fd, &x, hs_ms(15000)) == 0, "discard %s: "
		    "%s (sent %zu; any reply is an error)",
		    hs_family_name(families[i]), strerror(errno), x.sent);
		cr_assert(x.sent == sizeof(out) && x.eof && x.inlen == 0,
		    "discard %s: sent %zu, got %zu bytes",
		    hs_family_name(families[i]), x.sent, x.inlen);
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* chargen: 100 lines (past the 95-line wrap) of the RFC 864 pattern. */
Test(tcp, chargen_lines, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	static char		 buf[100 * 74];
	static const char	 junk[] = "input is discarded\r\n";
	const char		*why;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "chargen", SOCK_STREAM, families[i]);
		cr_assert(hs_send_all(fd, junk, strlen(junk),
		    hs_ms(TCP_TMO)) == 0, "send: %s", strerror(errno));
		n = hs_recv_n(fd, buf, sizeof(buf), hs_ms(TCP_TMO));
		cr_assert(n == (ssize_t)sizeof(buf), "chargen %s: %s after %zd "
		    "of %zu bytes", hs_family_name(families[i]),
		    n < 0 ? strerror(errno) : "EOF", n, sizeof(buf));
		why = hs_check_chargen_tcp(buf, sizeof(buf));
		cr_assert(why == NULL, "chargen %s: %s; first lines: %s",
		    hs_family_name(families[i]), why,
		    hs_show(buf, 3 * 74));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* daytime: one line in the default format, within 2 s of now, then EOF. */
Test(tcp, daytime, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	const char		*why;
	char			 buf[256];
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "daytime", SOCK_STREAM, families[i]);
		n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(TCP_TMO));
		cr_assert(n >= 0, "daytime %s: no EOF after the line: %s",
		    hs_family_name(families[i]), strerror(errno));
		why = hs_check_daytime(buf, (size_t)n);
		cr_assert(why == NULL, "daytime %s: %s: %s",
		    hs_family_name(families[i]), why,
		    hs_show(buf, (size_t)n));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/*
 * A service that answers and closes (daytime, time, qotd, banner) sends
 * its answer and its FIN in one segment: the client receives the
 * handshake's SYN-ACK and that segment, 2 in all (3 with the FIN apart).
 * A listener kept by a reload that makes it echo writes uncorked again:
 * echo answers at once, not after the cork's 200 ms ceiling.  Best of
 * three tries: a slow machine may retransmit or delay one.
 */
Test(tcp, answer_and_fin_in_one_segment, .timeout = 60)
{
	static const char *const svcs[] = { "daytime", "time", "qotd",
	    "banner" };
	struct hs_daemon	*d = hs_spawn_services();
	char			 conf[256];
	unsigned		 segs, best;
	int64_t			 t0, ms, fastest = 0;
	size_t			 i, k;
	int			 port, fd;

	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		for (best = 0, k = 0; k < 3; k++) {
			segs = hs_segments_in(d, svcs[i], NULL, 0);
			best = k == 0 || segs < best ? segs : best;
		}
		cr_assert_eq(best, 2, "%s: %u segments came, not 2: the FIN "
		    "came apart from the answer", svcs[i], best);
	}
	hs_stop_ok(d);

	hs_free_ports(SOCK_STREAM, AF_INET, &port, 1);
	snprintf(conf, sizeof(conf), "[kept]\nservice = daytime\n"
	    "listen = tcp://127.0.0.1:%d\n", port);
	d = hs_spawn(conf);
	cr_assert_eq(hs_segments_in(d, "kept", NULL, 0), 2);
	snprintf(conf, sizeof(conf), "[kept]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:%d\n", port);
	hs_reload(d, conf);
	cr_assert(strstr(d->last_status, "reload failed") == NULL,
	    "STATUS=%s", d->last_status);
	for (k = 0; k < 3; k++) {
		fd = hs_connect(d, "kept", SOCK_STREAM, AF_INET);
		t0 = hs_now_ms();
		hs_echo(fd, "at once\n", hs_ms(TCP_TMO));
		ms = hs_now_ms() - t0;
		fastest = k == 0 || ms < fastest ? ms : fastest;
		hs_close(fd);
	}
	cr_assert(fastest < 100, "echo on a listener kept from daytime took "
	    "%lld ms: it stayed corked", (long long)fastest);
	hs_stop_ok(d);
}

/* daytime with format = %Y-%m-%dT%H:%M:%SZ and utc = yes. */
Test(tcp, daytime_format, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[256], *end;
	struct tm		 tm;
	time_t			 t, now;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "daytime_fmt", SOCK_STREAM, families[i]);
		n = hs_read_eof(fd, buf, sizeof(buf) - 1, hs_ms(TCP_TMO));
		now = time(NULL);
		cr_assert(n >= 0, "daytime_fmt %s: %s",
		    hs_family_name(families[i]), strerror(errno));
		buf[n] = '\0';
		memset(&tm, 0, sizeof(tm));
		end = strptime(buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
		cr_assert(n == 22 && end != NULL && strcmp(end, "\r\n") == 0,
		    "daytime_fmt %s: expected \"YYYY-mm-ddTHH:MM:SSZ\\r\\n\", "
		    "got %s", hs_family_name(families[i]),
		    hs_show(buf, (size_t)n));
		t = timegm(&tm);
		cr_assert(t >= now - 2 && t <= now + 2, "daytime_fmt %s: %s is "
		    "%lld s away from now (UTC)", hs_family_name(families[i]),
		    hs_show(buf, (size_t)n), (long long)(t - now));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* time: exactly 4 bytes, seconds since 1900 within 2 s, then EOF. */
Test(tcp, time, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	unsigned char		 buf[16];
	const char		*why;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "time", SOCK_STREAM, families[i]);
		n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(TCP_TMO));
		cr_assert(n >= 0, "time %s: no EOF after 4 bytes: %s",
		    hs_family_name(families[i]), strerror(errno));
		why = hs_check_time(buf, (size_t)n);
		cr_assert(why == NULL, "time %s: %s: %s",
		    hs_family_name(families[i]), why,
		    hs_show(buf, (size_t)n));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* qotd: each connection gets one quote of the file, then EOF. */
Test(tcp, qotd, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[1024];
	unsigned int		 seen = 0, distinct = 0;
	ssize_t			 n;
	size_t			 i;
	int			 fd, q;

	for (i = 0; i < 12; i++) {
		fd = hs_connect(d, "qotd", SOCK_STREAM,
		    families[i % NFAMILIES]);
		n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(TCP_TMO));
		cr_assert(n >= 0, "qotd %s: no EOF after the quote: %s",
		    hs_family_name(families[i % NFAMILIES]), strerror(errno));
		cr_assert(n > 0 && n <= 512, "qotd: %s is not 1..512 bytes",
		    hs_show(buf, (size_t)n));
		q = hs_quote_index(buf, (size_t)n);
		cr_assert(q >= 0, "qotd: %s is not a quote of the file",
		    hs_show(buf, (size_t)n));
		if (!(seen & (1U << q)))
			distinct++;
		seen |= 1U << q;
		hs_close(fd);
	}
	cr_assert(distinct >= 2, "qotd: 12 connections, always the same "
	    "quote");
	hs_stop_ok(d);
}

/* banner: the configured bytes exactly, then EOF. */
Test(tcp, banner, .timeout = 30)
{
	const struct hs_banner	*cases = hs_banners;
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[1024];
	ssize_t			 n;
	size_t			 i, k, len;
	int			 fd;

	for (k = 0; k < HS_NBANNERS; k++) {
		len = strlen(cases[k].bytes);
		for (i = 0; i < NFAMILIES; i++) {
			fd = hs_connect(d, cases[k].instance, SOCK_STREAM,
			    families[i]);
			n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(TCP_TMO));
			cr_assert(n >= 0, "%s %s: no EOF after the message: "
			    "%s", cases[k].instance,
			    hs_family_name(families[i]), strerror(errno));
			cr_assert(n == (ssize_t)len &&
			    memcmp(buf, cases[k].bytes, len) == 0,
			    "%s %s: expected %s, got %s", cases[k].instance,
			    hs_family_name(families[i]),
			    hs_show(cases[k].bytes, len),
			    hs_show(buf, (size_t)n));
			hs_close(fd);
		}
	}
	hs_stop_ok(d);
}

/*
 * A client that sends before reading ("echo | nc host 13", telnet's CR LF)
 * gets the reply and a clean EOF from every service that answers and
 * closes, never a reset: netsvcd drops unread input before it closes.
 */
Test(tcp, reply_and_close_after_client_input, .timeout = 60)
{
	static const char *const names[] = { "daytime", "time", "qotd",
					    "banner" };
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[1024];
	ssize_t			 n;
	size_t			 i, k, round;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++)
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			for (round = 0; round < 10; round++) {
				fd = hs_connect(d, names[k], SOCK_STREAM,
				    families[i]);
				cr_assert(send(fd, "hello\r\n", 7, 0) == 7,
				    "send: %s", strerror(errno));
				usleep(10000);	/* the input arrives first */
				n = hs_read_eof(fd, buf, sizeof(buf),
				    hs_ms(TCP_TMO));
				cr_assert(n > 0, "%s %s, round %zu: %s",
				    names[k], hs_family_name(families[i]),
				    round, n == 0 ? "no reply" :
				    strerror(errno));
				hs_close(fd);
			}
	hs_stop_ok(d);
}
