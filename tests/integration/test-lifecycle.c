/*
 * test-lifecycle.c: start, serve, stop.  The daemon answers every service
 * right after READY=1, sends STOPPING=1 at SIGTERM, stops listening, lets
 * open connections finish up to shutdown_timeout and exits 0.  This suite
 * also runs as the ctest entry integration-valgrind, with NETSVCD_WRAPPER
 * set to valgrind, so a leak or a memory error on these paths fails it.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define LC_TMO		5000		/* ms for one exchange, unscaled */

static const int families[] = { AF_INET, AF_INET6 };
#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

static const char lc_conf[] =
    "[daemon]\n"
    "shutdown_timeout = %s\n"
    "\n"
    "[echo]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0 tcp://[::1]:0 udp://127.0.0.1:0\n";

static struct hs_daemon *lc_spawn(const char *);
static void	 lc_tcp_read(struct hs_daemon *, const char *, int, char *,
		    size_t, size_t *);
static void	 lc_serve_tcp(struct hs_daemon *, int);
static void	 lc_serve_udp(struct hs_daemon *, int);

TestSuite(lifecycle, .fini = hs_teardown);

/* The echo daemon of lc_conf with the given shutdown_timeout. */
static struct hs_daemon *
lc_spawn(const char *shutdown_timeout)
{
	char	conf[512];

	snprintf(conf, sizeof(conf), lc_conf, shutdown_timeout);
	return hs_spawn(conf);
}

/* Connect to a TCP instance and read what it sends until EOF. */
static void
lc_tcp_read(struct hs_daemon *d, const char *instance, int family, char *buf,
    size_t cap, size_t *len)
{
	ssize_t	n;
	int	fd;

	fd = hs_connect(d, instance, SOCK_STREAM, family);
	n = hs_read_eof(fd, buf, cap, hs_ms(LC_TMO));
	cr_assert(n >= 0, "tcp %s %s: %s", instance, hs_family_name(family),
	    strerror(errno));
	*len = (size_t)n;
	hs_close(fd);
}

/* Each TCP service once. */
static void
lc_serve_tcp(struct hs_daemon *d, int family)
{
	static char	 buf[8192];
	struct hs_xfer	 x;
	const char	*why;
	size_t		 len;
	int		 fd;

	fd = hs_connect(d, "echo", SOCK_STREAM, family);
	hs_echo(fd, "hello\r\n", hs_ms(LC_TMO));
	hs_close(fd);

	fd = hs_connect(d, "discard", SOCK_STREAM, family);
	memset(&x, 0, sizeof(x));
	x.out = "gone";
	x.outlen = 4;
	x.shut_wr = 1;
	x.until_eof = 1;
	cr_assert(hs_xfer(fd, &x, hs_ms(LC_TMO)) == 0, "discard: %s",
	    strerror(errno));
	hs_close(fd);

	fd = hs_connect(d, "chargen", SOCK_STREAM, family);
	cr_assert(hs_recv_n(fd, buf, 3 * 74, hs_ms(LC_TMO)) == 3 * 74,
	    "chargen: %s", strerror(errno));
	why = hs_check_chargen_tcp(buf, 3 * 74);
	cr_assert(why == NULL, "chargen: %s", why);
	hs_close(fd);

	lc_tcp_read(d, "daytime", family, buf, sizeof(buf), &len);
	why = hs_check_daytime(buf, len);
	cr_assert(why == NULL, "daytime: %s: %s", why, hs_show(buf, len));

	lc_tcp_read(d, "time", family, buf, sizeof(buf), &len);
	why = hs_check_time((unsigned char *)buf, len);
	cr_assert(why == NULL, "time: %s", why);

	lc_tcp_read(d, "qotd", family, buf, sizeof(buf), &len);
	cr_assert(hs_quote_index(buf, len) >= 0, "qotd: %s",
	    hs_show(buf, len));

	lc_tcp_read(d, "banner", family, buf, sizeof(buf), &len);
	cr_assert(len == strlen(hs_banner_utf8) &&
	    memcmp(buf, hs_banner_utf8, len) == 0, "banner: %s",
	    hs_show(buf, len));
}

/* Each UDP service once. */
static void
lc_serve_udp(struct hs_daemon *d, int family)
{
	static char	 out[65507], in[65508];
	const char	*why;
	ssize_t		 n;
	int		 fd;

	hs_pattern(out, sizeof(out), 5, 0);
	fd = hs_connect(d, "echo", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, out, sizeof(out), in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n == (ssize_t)sizeof(out) && memcmp(in, out, sizeof(out))
	    == 0, "udp echo of 65507 bytes: %zd", n);
	n = hs_udp_ask(fd, out, 0, in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n == 0, "udp echo of 0 bytes: %zd (%s)", n,
	    strerror(errno));
	hs_close(fd);

	fd = hs_connect(d, "discard", SOCK_DGRAM, family);
	cr_assert(send(fd, "x", 1, 0) == 1, "send: %s", strerror(errno));
	cr_assert(hs_udp_silent(fd, 100), "udp discard replied");
	hs_close(fd);

	fd = hs_connect(d, "chargen", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, "x", 1, in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n >= 0 && (why = hs_check_chargen_run(in, (size_t)n)) ==
	    NULL, "udp chargen: %s", n < 0 ? strerror(errno) :
	    hs_show(in, (size_t)n));
	hs_close(fd);

	fd = hs_connect(d, "daytime", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, "", 0, in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n >= 0 && hs_check_daytime(in, (size_t)n) == NULL,
	    "udp daytime: %s", n < 0 ? strerror(errno) :
	    hs_show(in, (size_t)n));
	hs_close(fd);

	fd = hs_connect(d, "time", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, "", 0, in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n >= 0 && hs_check_time((unsigned char *)in, (size_t)n) ==
	    NULL, "udp time: %s", n < 0 ? strerror(errno) :
	    hs_show(in, (size_t)n));
	hs_close(fd);

	fd = hs_connect(d, "qotd", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, "", 0, in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n > 0 && hs_quote_index(in, (size_t)n) >= 0, "udp qotd: %s",
	    n < 0 ? strerror(errno) : hs_show(in, (size_t)n));
	hs_close(fd);

	fd = hs_connect(d, "banner", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, "", 0, in, sizeof(in), hs_ms(LC_TMO));
	cr_assert(n == (ssize_t)strlen(hs_banner_utf8) &&
	    memcmp(in, hs_banner_utf8, (size_t)n) == 0, "udp banner: %s",
	    n < 0 ? strerror(errno) : hs_show(in, (size_t)n));
	hs_close(fd);
}

/* Every service, TCP and UDP, both families; then SIGTERM and exit 0. */
Test(lifecycle, serve_then_sigterm, .timeout = 240)
{
	struct hs_daemon	*d = hs_spawn_services();
	size_t			 i;

	for (i = 0; i < NFAMILIES; i++) {
		lc_serve_tcp(d, families[i]);
		lc_serve_udp(d, families[i]);
	}
	hs_stop_ok(d);
	cr_assert(hs_wait_notify(d, "STOPPING=1", 0) == 0,
	    "no STOPPING=1 on the notify socket after SIGTERM");
}

/* No connection open: SIGTERM ends the daemon at once, with exit 0. */
Test(lifecycle, sigterm_prompt, .timeout = 120)
{
	struct hs_daemon	*d = lc_spawn("10s");
	int64_t			 t0, elapsed;
	int			 status;

	t0 = hs_now_ms();
	status = hs_stop(d, hs_ms(10000));
	elapsed = hs_now_ms() - t0;
	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "SIGTERM: exit status 0x%x", status);
	cr_assert(elapsed <= hs_ms(1000), "SIGTERM with no connection took "
	    "%lld ms", (long long)elapsed);
	cr_assert(hs_wait_notify(d, "STOPPING=1", 0) == 0,
	    "no STOPPING=1 after SIGTERM");
}

/* SIGINT is handled like SIGTERM. */
Test(lifecycle, sigint, .timeout = 120)
{
	struct hs_daemon	*d = lc_spawn("10s");

	cr_assert(hs_signal(d, SIGINT) == 0, "kill: %s", strerror(errno));
	cr_assert(hs_wait_exit(d, hs_ms(2000)) == 0, "no exit within %d ms "
	    "of SIGINT", hs_ms(2000));
	cr_assert(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	    "SIGINT: exit status 0x%x", d->status);
}

/*
 * STOPPING=1 means the ports are closed: with two workers, a client that
 * connects once it is sent is not served.  On one CPU the client and a
 * worker tend to run right after the notification, so that a worker still
 * listening would accept; 10 rounds.
 */
Test(lifecycle, no_accept_after_stopping, .timeout = 120)
{
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	char			 buf[8];
	unsigned int		 round;
	ssize_t			 n;
	int			 fd;

	(void)hs_pin_one_cpu();
	for (round = 0; round < 10; round++) {
		d = hs_spawn("[daemon]\nworkers = 2\n"
		    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
		ep = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
		cr_assert(hs_signal(d, SIGTERM) == 0, "kill: %s",
		    strerror(errno));
		cr_assert(hs_wait_notify(d, "STOPPING=1", hs_ms(LC_TMO)) == 0,
		    "no STOPPING=1 after SIGTERM");
		if ((fd = hs_connect_ep(ep, hs_ms(LC_TMO))) != -1) {
			(void)send(fd, "late\n", 5, MSG_NOSIGNAL);
			n = hs_recv_n(fd, buf, 5, hs_ms(1000));
			cr_assert(n <= 0, "round %u: a connection made after "
			    "STOPPING=1 was served: %s", round,
			    hs_show(buf, (size_t)n));
			hs_close(fd);
		}
		cr_assert(hs_wait_exit(d, hs_ms(LC_TMO)) == 0, "round %u: "
		    "netsvcd still running after SIGTERM", round);
	}
	hs_unpin();
}

/* A connection that stays open is cut at shutdown_timeout (1 s here). */
Test(lifecycle, sigterm_shutdown_timeout, .timeout = 120)
{
	struct hs_daemon	*d = lc_spawn("1s");
	int64_t			 t0, elapsed;
	int			 fd;

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "before SIGTERM\n", hs_ms(LC_TMO));
	t0 = hs_now_ms();
	cr_assert(hs_signal(d, SIGTERM) == 0, "kill: %s", strerror(errno));
	cr_assert(hs_wait_exit(d, hs_ms(5000)) == 0, "netsvcd still running "
	    "%d ms after SIGTERM with shutdown_timeout = 1s", hs_ms(5000));
	elapsed = hs_now_ms() - t0;
	cr_assert(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	    "SIGTERM with a connection open: exit status 0x%x", d->status);
	cr_assert(elapsed <= 1000 + hs_ms(1000), "exit took %lld ms with "
	    "shutdown_timeout = 1s", (long long)elapsed);
	cr_assert(hs_wait_closed(fd, hs_ms(1000)) == 0, "the open connection "
	    "was not closed when the daemon exited");
	hs_close(fd);
}

/*
 * After SIGTERM: STOPPING=1, no new connections, the open one is still
 * served, and the daemon exits as soon as it ends (shutdown_timeout 10s).
 */
Test(lifecycle, sigterm_lets_connection_finish, .timeout = 120)
{
	struct hs_daemon	*d = lc_spawn("10s");
	const struct hs_endpoint *ep;
	char			 buf[64];
	int64_t			 t0, elapsed;
	ssize_t			 n;
	int			 fd, late;

	ep = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "before SIGTERM\n", hs_ms(LC_TMO));
	cr_assert(hs_signal(d, SIGTERM) == 0, "kill: %s", strerror(errno));
	cr_assert(hs_wait_notify(d, "STOPPING=1", hs_ms(LC_TMO)) == 0,
	    "no STOPPING=1 after SIGTERM");

	/* The listener is gone: refused, or reset from the dying backlog. */
	late = hs_connect_ep(ep, hs_ms(LC_TMO));
	if (late != -1) {
		(void)send(late, "late\n", 5, MSG_NOSIGNAL);
		n = hs_recv_n(late, buf, 5, hs_ms(2000));
		cr_assert(n <= 0, "a connection made after STOPPING=1 was "
		    "served: %s", hs_show(buf, (size_t)n));
		hs_close(late);
	} else
		cr_assert(errno == ECONNREFUSED || errno == ECONNRESET,
		    "connect after STOPPING=1: %s", strerror(errno));

	hs_echo(fd, "during shutdown\n", hs_ms(LC_TMO));
	cr_assert(d->running && hs_wait_exit(d, 0) == -1, "netsvcd exited "
	    "with a connection still open and shutdown_timeout = 10s");
	t0 = hs_now_ms();
	cr_assert(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	cr_assert(hs_wait_closed(fd, hs_ms(LC_TMO)) == 0, "no EOF after "
	    "SHUT_WR");
	hs_close(fd);
	cr_assert(hs_wait_exit(d, hs_ms(2000)) == 0, "netsvcd still running "
	    "%d ms after its last connection ended", hs_ms(2000));
	elapsed = hs_now_ms() - t0;
	cr_assert(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	    "exit status 0x%x", d->status);
	cr_log_info("exit %lld ms after the last connection ended",
	    (long long)elapsed);
}

/*
 * A FIFO at the config path (issue 16 item 10): SIGHUP must not block
 * the main loop in open(2) waiting for a writer.  The reload fails at
 * once with a clear error and every service keeps answering.
 */
Test(lifecycle, reload_fifo_config, .timeout = 240)
{
	struct hs_daemon	*d = hs_spawn_services();
	char			*log;
	size_t			 i;

	cr_assert(unlink(d->conf_path) == 0 && mkfifo(d->conf_path, 0600) ==
	    0, "mkfifo %s: %s", d->conf_path, strerror(errno));
	d->ready = d->reloading = 0;
	d->last_status[0] = '\0';
	cr_assert(hs_signal(d, SIGHUP) == 0, "kill: %s", strerror(errno));
	cr_assert(hs_wait_notify(d, "RELOADING=1", hs_ms(10000)) == 0 &&
	    hs_wait_notify(d, "READY=1", hs_ms(10000)) == 0,
	    "no READY=1 after SIGHUP with a FIFO at the config path (blocked "
	    "in open?)");
	cr_assert(strstr(d->last_status, "reload failed") != NULL,
	    "STATUS after the failed reload: %s", d->last_status);
	log = hs_log(d);
	cr_assert(strstr(log, "not a regular file (a FIFO)") != NULL,
	    "no clear error in the log: %s", log);
	free(log);
	for (i = 0; i < NFAMILIES; i++) {
		lc_serve_tcp(d, families[i]);
		lc_serve_udp(d, families[i]);
	}
	hs_stop_ok(d);
}

/*
 * Drop-ins (issue 10 item 12): netsvcd.d/NAME.ini beside the config is
 * read at start and again on SIGHUP; -t names an error by the drop-in's
 * own FILE:LINE.
 */
Test(lifecycle, reload_reads_dropins, .timeout = 120)
{
	static const char	 conf[] = "[echo]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n";
	static const char	 extra[] = "[extra]\nservice = daytime\n"
				    "listen = tcp://127.0.0.1:0\n";
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	char			 dir[256], buf[256];
	const char		*bad;
	size_t			 len;
	int			 fd;

	snprintf(dir, sizeof(dir), "%s/netsvcd.d", d->dir);
	cr_assert(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir,
	    strerror(errno));
	hs_start(d, conf);
	hs_file(d, "netsvcd.d/50-extra.ini", extra, strlen(extra));
	hs_reload(d, conf);
	cr_assert(strstr(d->last_status, "reloaded") != NULL,
	    "STATUS after the reload: %s", d->last_status);
	lc_tcp_read(d, "extra", AF_INET, buf, sizeof(buf), &len);
	cr_assert(hs_check_daytime(buf, len) == NULL, "daytime of the "
	    "drop-in: %s", hs_show(buf, len));
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "still here\r\n", hs_ms(LC_TMO));
	hs_close(fd);

	snprintf(buf, sizeof(buf), "[x]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0\nbogus = 1\n");
	bad = hs_file(d, "netsvcd.d/60-bad.ini", buf, strlen(buf));
	cr_assert(hs_run(&r, hs_ms(10000), "-t", "-c", d->conf_path,
	    NULL) == 0, "netsvcd -t did not finish");
	snprintf(buf, sizeof(buf), "%s:4: unknown key 'bogus'", bad);
	cr_assert(r.exit_code == 1 && strstr(r.err, buf) != NULL,
	    "-t with a bad drop-in: exit %d, stderr: %s (want %s)",
	    r.exit_code, r.err, buf);
	hs_result_free(&r);
	hs_stop_ok(d);
}

/* -t under the wrapper too: the config paths free what they allocate. */
Test(lifecycle, check_config, .timeout = 120)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	const char		*good, *bad, *quotes;
	char			 text[1024];

	snprintf(text, sizeof(text), "one\n%%\ntwo\n");
	quotes = hs_file(d, "quotes.txt", text, strlen(text));
	snprintf(text, sizeof(text),
	    "[daemon]\nidle_timeout = 30s\n\n"
	    "[e]\nservice = echo\nlisten = tcp://127.0.0.1:0 udp://[::1]:0\n"
	    "[q]\nservice = qotd\nlisten = tcp://127.0.0.1:0\n"
	    "quotes_file = %s\n"
	    "[b]\nservice = banner\nlisten = tcp://127.0.0.1:0\n"
	    "message = hi\\r\\n\n"
	    "[t]\nservice = daytime\nlisten = udp://127.0.0.1:0\n"
	    "format = %%c\nutc = no\n", quotes);
	good = hs_file(d, "good.ini", text, strlen(text));
	snprintf(text, sizeof(text), "[e]\nservice = echo\nbogus = 1\n"
	    "listen = tcp://127.0.0.1:99999\n[e]\nservice = nope\n");
	bad = hs_file(d, "bad.ini", text, strlen(text));

	cr_assert(hs_run(&r, hs_ms(10000), "-t", "-c", good, NULL) == 0,
	    "netsvcd -t did not finish");
	cr_assert(r.exit_code == 0, "-t on a good config: exit %d; "
	    "stderr: %s", r.exit_code, r.err);
	hs_result_free(&r);
	cr_assert(hs_run(&r, hs_ms(10000), "-t", "-c", bad, NULL) == 0,
	    "netsvcd -t did not finish");
	cr_assert(r.exit_code == 1, "-t on a bad config: exit %d; "
	    "stderr: %s", r.exit_code, r.err);
	hs_result_free(&r);
}
