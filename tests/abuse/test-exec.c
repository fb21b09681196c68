/*
 * test-exec.c: the exec service (issue 12) against the real daemon.  TCP
 * request/reply through a shell program, UDP wait mode, the child's
 * descriptors and environment, limits applied before any fork, max_duration,
 * stderr logging and its rate limit, misbehaving programs, a connection
 * flood against default limits, reload and shutdown.  After each case the
 * daemon's descriptors and children return to their baseline.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define EX_CONF_MAX	4096

/* Write an executable program into the daemon's directory. */
static const char *
ex_prog(struct hs_daemon *d, const char *name, const char *text)
{
	const char	*path = hs_file(d, name, text, strlen(text));

	cr_assert(chmod(path, 0755) == 0, "chmod %s", path);
	return path;
}

/* The daemon's direct children, from /proc. */
static int
ex_children(struct hs_daemon *d)
{
	char	 path[96], buf[8192];
	FILE	*fp;
	size_t	 n, i;
	int	 count = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)d->pid, (long)d->pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	for (i = 0; i < n; i++) {
		if (buf[i] == ' ')
			count++;
	}
	return count;
}

/* Wait until the daemon has at most n children; fails otherwise. */
static void
ex_wait_children(struct hs_daemon *d, int n, int timeout_ms)
{
	int64_t	deadline = hs_now_ms() + hs_ms(timeout_ms);
	int	now;

	while ((now = ex_children(d)) > n && hs_now_ms() < deadline)
		usleep(20000);
	cr_assert(now <= n, "%d children, expected at most %d", now, n);
}

/* Wait until the daemon has n children. */
static void
ex_wait_started(struct hs_daemon *d, int n)
{
	int64_t	deadline = hs_now_ms() + hs_ms(10000);

	while (ex_children(d) < n && hs_now_ms() < deadline)
		usleep(20000);
	cr_assert_eq(ex_children(d), n);
}

/*
 * Connect to instance, send msg, half-close, read until EOF into buf.
 * Returns the length read.
 */
static size_t
ex_ask(struct hs_daemon *d, const char *instance, const char *msg,
    char *buf, size_t len)
{
	struct hs_xfer	x = { .out = msg, .outlen = strlen(msg),
			    .shut_wr = 1, .in = buf, .incap = len - 1,
			    .until_eof = 1 };
	int		fd = hs_connect(d, instance, SOCK_STREAM, AF_INET);

	cr_assert(hs_xfer(fd, &x, hs_ms(10000)) == 0, "%s: %s", instance,
	    strerror(errno));
	hs_close(fd);
	buf[x.inlen] = '\0';
	return x.inlen;
}

/*
 * As ex_ask, but the program may reset the connection (a program that
 * exits without reading its input makes the kernel send a reset).
 */
static void
ex_try(struct hs_daemon *d, const char *instance, const char *msg,
    char *buf, size_t len)
{
	struct hs_xfer	x = { .out = msg, .outlen = strlen(msg),
			    .shut_wr = 1, .in = buf, .incap = len - 1,
			    .until_eof = 1 };
	int		fd = hs_connect(d, instance, SOCK_STREAM, AF_INET);

	if (hs_xfer(fd, &x, hs_ms(10000)) == -1)
		cr_assert(errno == ECONNRESET || errno == EPIPE ||
		    errno == ENOTCONN, "%s: %s",
		    instance, strerror(errno));
	hs_close(fd);
}

/* Wait until the log has text; fails otherwise. */
static void
ex_wait_log(struct hs_daemon *d, const char *text)
{
	int64_t	deadline = hs_now_ms() + hs_ms(5000);

	while (!ab_log_has(d, text) && hs_now_ms() < deadline)
		usleep(20000);
	cr_assert(ab_log_has(d, text), "no '%s' in the log", text);
}

/* Start a daemon on text, with its directory in place of each @D@. */
static struct hs_daemon *
ex_start(struct hs_daemon *d, const char *text)
{
	char		 conf[EX_CONF_MAX];
	const char	*at;
	size_t		 n = 0, len;

	while ((at = strstr(text, "@D@")) != NULL) {
		len = (size_t)(at - text);
		cr_assert(n + len + strlen(d->dir) < sizeof(conf));
		memcpy(conf + n, text, len);
		n += len;
		memcpy(conf + n, d->dir, strlen(d->dir));
		n += strlen(d->dir);
		text = at + 3;
	}
	cr_assert(n + strlen(text) < sizeof(conf));
	memcpy(conf + n, text, strlen(text) + 1);
	hs_start(d, conf);
	return d;
}

/* Echo on another instance still answers at once. */
static void
ex_probe(struct hs_daemon *d)
{
	ab_probe(d, "echo", AF_INET, NULL, hs_ms(3000));
}

Test(exec, tcp_reply_env_fds, .timeout = 60)
{
	struct hs_daemon		*d = hs_new();
	const struct hs_endpoint	*ep;
	char				 buf[4096], want[1024];
	struct sockaddr_in		 me;
	socklen_t			 len = sizeof(me);
	int				 fd;
	struct hs_xfer			 x = { .out = "", .outlen = 0,
					    .shut_wr = 1, .in = buf,
					    .incap = sizeof(buf) - 1,
					    .until_eof = 1 };

	ex_prog(d, "reply.sh", "#!/bin/sh\nread line\n"
	    "echo \"reply: $line\"\n");
	ex_start(d, "[daemon]\nlog_level = info\n"
	    "[reply]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/reply.sh\nlog_connections = close\n"
	    "[env]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /usr/bin/env\nenv = GREETING=hi there\n"
	    "env = QUOTED=\"a b\"\n"
	    "[fds]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/ls -1 /proc/self/fd\n");
	ex_ask(d, "reply", "hello world\n", buf, sizeof(buf));
	cr_assert_str_eq(buf, "reply: hello world\n");

	/* Exactly the documented environment. */
	fd = hs_connect(d, "env", SOCK_STREAM, AF_INET);
	cr_assert(getsockname(fd, (struct sockaddr *)&me, &len) == 0);
	cr_assert(hs_xfer(fd, &x, hs_ms(10000)) == 0);
	hs_close(fd);
	buf[x.inlen] = '\0';
	ep = hs_endpoint(d, "env", SOCK_STREAM, AF_INET);
	snprintf(want, sizeof(want), "PATH=/usr/local/bin:/usr/bin:/bin\n"
	    "PROTO=TCP\nTCPLOCALIP=127.0.0.1\nTCPLOCALPORT=%d\n"
	    "TCPREMOTEIP=127.0.0.1\nTCPREMOTEPORT=%u\n"
	    "GREETING=hi there\nQUOTED=\"a b\"\n", ep->port,
	    ntohs(me.sin_port));
	cr_assert_str_eq(buf, want);

	/* ls holds 0, 1, 2 and its own directory (3): nothing else. */
	ex_ask(d, "fds", "", buf, sizeof(buf));
	cr_assert_str_eq(buf, "0\n1\n2\n3\n");
	ex_wait_children(d, 0, 5000);
	cr_assert(ab_log_has(d, "child "), "no close line");
	cr_assert(ab_log_has(d, " exit 0 after "), "no exit status");
	hs_stop_ok(d);
}

Test(exec, workers_reap_their_children, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[256], msg[32], want[64];
	int			 i;

	ex_start(d, "[daemon]\nworkers = 2\n"
	    "[rev]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sh -c \"read x; echo got $x\"\n");
	for (i = 0; i < 40; i++) {
		snprintf(msg, sizeof(msg), "%d\n", i);
		snprintf(want, sizeof(want), "got %d\n", i);
		ex_ask(d, "rev", msg, buf, sizeof(buf));
		cr_assert_str_eq(buf, want);
	}
	ex_wait_children(d, 0, 5000);
	hs_stop_ok(d);
}

/*
 * A descriptor netsvcd inherited from whatever started it (a shell's
 * redirection, here fd 7) does not reach the programs it runs.
 */
Test(exec, inherited_descriptors_not_passed, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[256], fd7[64], target[256];
	const char		*wrapper;

	if (hs_wrapped())
		cr_skip_test("NETSVCD_WRAPPER is set: this test sets its own");
	wrapper = ex_prog(d, "wrap.sh", "#!/bin/sh\nexec 7</dev/null\n"
	    "exec \"$@\"\n");
	cr_assert(setenv("NETSVCD_WRAPPER", wrapper, 1) == 0);
	ex_start(d, "[fds]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/ls -1 /proc/self/fd\n");
	unsetenv("NETSVCD_WRAPPER");
	snprintf(fd7, sizeof(fd7), "/proc/%ld/fd/7", (long)d->pid);
	memset(target, 0, sizeof(target));
	cr_assert(readlink(fd7, target, sizeof(target) - 1) > 0 &&
	    strcmp(target, "/dev/null") == 0, "the daemon did not inherit "
	    "fd 7 (%s)", target);
	ex_ask(d, "fds", "", buf, sizeof(buf));
	cr_assert_str_eq(buf, "0\n1\n2\n3\n");
	ex_wait_children(d, 0, 5000);
	hs_stop_ok(d);
}

Test(exec, udp_wait, .timeout = 60)
{
	struct hs_daemon		*d = hs_new();
	const struct hs_endpoint	*ep;
	char				 buf[256], first[256];
	int				 fd, i;

	ex_prog(d, "udp.py", "#!/usr/bin/python3\nimport os, socket\n"
	    "s = socket.socket(fileno=0)\n"
	    "data, addr = s.recvfrom(65535)\n"
	    "s.sendto(b'%d %s ' % (os.getpid(), os.environ['PROTO']."
	    "encode()) + data, addr)\n");
	ex_start(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[udp]\nservice = exec\nlisten = udp://127.0.0.1:0\n"
	    "command = @D@/udp.py\n"
	    "[udeny]\nservice = exec\nlisten = udp://127.0.0.1:0\n"
	    "command = @D@/udp.py\ndeny = 127.0.0.0/8\n");
	ep = hs_endpoint(d, "udp", SOCK_DGRAM, AF_INET);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(connect(fd, (const struct sockaddr *)&ep->addr,
	    ep->addrlen) == 0);
	first[0] = '\0';
	for (i = 0; i < 3; i++) {
		ssize_t	n = hs_udp_ask(fd, "ping", 4, buf, sizeof(buf) - 1,
			    hs_ms(10000));

		cr_assert(n > 0, "datagram %d unanswered", i);
		buf[n] = '\0';
		cr_assert(strstr(buf, " UDP ping") != NULL, "%s", buf);
		/* A new program for each datagram: a new PID. */
		cr_assert_str_neq(buf, first);
		snprintf(first, sizeof(first), "%s", buf);
	}
	hs_close(fd);
	/* A datagram the access list refuses never starts a program. */
	fd = hs_connect(d, "udeny", SOCK_DGRAM, AF_INET);
	cr_assert(send(fd, "ping", 4, 0) == 4);
	cr_assert(hs_udp_silent(fd, hs_ms(500)) == 1);
	hs_close(fd);
	cr_assert_eq(ab_metric(d, "netsvcd_datagrams_dropped_total", "udeny",
	    "access"), 1);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "udeny",
	    NULL), 0);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "udp",
	    NULL), 3);
	ex_wait_children(d, 0, 5000);
	hs_stop_ok(d);
}

/*
 * A UDP program that exits without reading the datagram that started it
 * (it fails before it gets there) starts once per datagram, not in a loop
 * on the datagram it left: that one is dropped and counted.
 */
Test(exec, udp_wait_program_that_never_reads, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	int			 fd;

	ex_prog(d, "noread.sh", "#!/bin/sh\nexit 1\n");
	ex_start(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[noread]\nservice = exec\nlisten = udp://127.0.0.1:0\n"
	    "command = @D@/noread.sh\n");
	fd = hs_connect(d, "noread", SOCK_DGRAM, AF_INET);
	cr_assert(send(fd, "one", 3, 0) == 3);
	cr_assert(hs_udp_silent(fd, hs_ms(1000)) == 1);
	ex_wait_children(d, 0, 5000);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "noread",
	    NULL), 1, "one datagram started %ld programs",
	    ab_metric(d, "netsvcd_children_spawned_total", "noread", NULL));
	cr_assert_eq(ab_metric(d, "netsvcd_datagrams_dropped_total", "noread",
	    "error"), 1);
	cr_assert(send(fd, "two", 3, 0) == 3);
	cr_assert(hs_udp_silent(fd, hs_ms(1000)) == 1);
	ex_wait_children(d, 0, 5000);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "noread",
	    NULL), 2);
	hs_close(fd);
	hs_stop_ok(d);
}

/*
 * A UDP socket passed by systemd is one socket for all the workers: one
 * datagram starts one program, not one per worker.
 */
Test(exec, udp_wait_passed_socket_workers, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 conf[512], buf[256];
	const char		*u4;
	ssize_t			 n;
	int			 fd;

	ex_prog(d, "slow.py", "#!/usr/bin/python3\nimport socket, time\n"
	    "s = socket.socket(fileno=0)\n"
	    "data, addr = s.recvfrom(65535)\n"
	    "time.sleep(0.5)\n"
	    "s.sendto(b'got ' + data, addr)\n");
	u4 = hs_bind(d, "udp://127.0.0.1:0");
	snprintf(conf, sizeof(conf), "[daemon]\nworkers = 2\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "[slow]\nservice = exec\nlisten = %s\ncommand = @D@/slow.py\n",
	    u4);
	ex_start(d, conf);
	fd = hs_connect(d, "slow", SOCK_DGRAM, AF_INET);
	n = hs_udp_ask(fd, "one", 3, buf, sizeof(buf), hs_ms(10000));
	cr_assert(n == 7 && memcmp(buf, "got one", 7) == 0, "no reply");
	ex_wait_children(d, 0, 5000);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "slow",
	    NULL), 1, "one datagram started %ld programs",
	    ab_metric(d, "netsvcd_children_spawned_total", "slow", NULL));
	n = hs_udp_ask(fd, "two", 3, buf, sizeof(buf), hs_ms(10000));
	cr_assert(n == 7 && memcmp(buf, "got two", 7) == 0, "no reply");
	hs_close(fd);
	ex_wait_children(d, 0, 5000);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "slow",
	    NULL), 2);
	hs_stop_ok(d);
}

Test(exec, limits_before_fork, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[64];
	int			 fd[3], i;

	ex_start(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[hold]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/cat\nmax_connections = 2\n"
	    "[denied]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/cat\ndeny = 127.0.0.0/8\n");
	for (i = 0; i < 2; i++) {
		fd[i] = hs_connect(d, "hold", SOCK_STREAM, AF_INET);
		cr_assert(hs_send_all(fd[i], "x", 1, hs_ms(3000)) == 0);
		cr_assert(hs_recv_n(fd[i], buf, 1, hs_ms(10000)) == 1);
	}
	cr_assert_eq(ex_children(d), 2);
	/* Over max_connections: closed, never forked. */
	fd[2] = hs_connect(d, "hold", SOCK_STREAM, AF_INET);
	cr_assert(hs_read_eof(fd[2], buf, sizeof(buf), hs_ms(5000)) == 0);
	hs_close(fd[2]);
	fd[2] = hs_connect(d, "denied", SOCK_STREAM, AF_INET);
	cr_assert(hs_read_eof(fd[2], buf, sizeof(buf), hs_ms(5000)) == 0);
	hs_close(fd[2]);
	cr_assert_eq(ex_children(d), 2);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "hold",
	    NULL), 2);
	cr_assert_eq(ab_metric(d, "netsvcd_children_running", "hold", NULL),
	    2);
	cr_assert_eq(ab_metric(d, "netsvcd_connections_refused_total",
	    "hold", "limit"), 1);
	cr_assert_eq(ab_metric(d, "netsvcd_connections_refused_total",
	    "denied", "access"), 1);
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawned_total", "denied",
	    NULL), 0);
	/* The status dump lists both running programs. */
	cr_assert(hs_signal(d, SIGUSR1) == 0);
	ex_wait_log(d, "status: 2 programs running");
	cr_assert(ab_log_has(d, "status: hold child "));
	/* The slots come back when the children exit (cat sees EOF). */
	hs_close(fd[0]);
	hs_close(fd[1]);
	ex_wait_children(d, 0, 5000);
	fd[0] = hs_connect(d, "hold", SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(fd[0], "y", 1, hs_ms(3000)) == 0);
	cr_assert(hs_recv_n(fd[0], buf, 1, hs_ms(10000)) == 1);
	hs_close(fd[0]);
	ex_wait_children(d, 0, 5000);
	cr_assert_eq(ab_metric(d, "netsvcd_children_exits_total", "hold",
	    "ok"), 3);
	hs_stop_ok(d);
}

Test(exec, max_duration, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[64];
	int64_t			 t0;
	int			 fd;

	ex_prog(d, "stubborn.sh", "#!/bin/sh\ntrap '' TERM\nwhile :; do "
	    "sleep 1; done\n");
	ex_start(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[sleepy]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sleep 60\nmax_duration = 1s\n"
	    "[stubborn]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/stubborn.sh\nmax_duration = 1s\n");
	t0 = hs_now_ms();
	fd = hs_connect(d, "sleepy", SOCK_STREAM, AF_INET);
	cr_assert(hs_read_eof(fd, buf, sizeof(buf), hs_ms(10000)) == 0);
	hs_close(fd);
	cr_assert(hs_now_ms() - t0 < hs_ms(5000));
	fd = hs_connect(d, "stubborn", SOCK_STREAM, AF_INET);
	cr_assert(hs_read_eof(fd, buf, sizeof(buf), hs_ms(15000)) == 0);
	hs_close(fd);
	ex_wait_children(d, 0, 5000);
	cr_assert(ab_log_has(d, "max_duration: SIGTERM"));
	cr_assert(ab_log_has(d, "still running: SIGKILL"));
	cr_assert_eq(ab_metric(d, "netsvcd_children_exits_total", "sleepy",
	    "signal"), 1);
	cr_assert_eq(ab_metric(d, "netsvcd_children_exits_total", "stubborn",
	    "signal"), 1);
	hs_stop_ok(d);
}

Test(exec, stderr_logged_and_limited, .timeout = 90)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[64], *log, *p;
	int			 base, lines = 0;

	ex_prog(d, "say.sh", "#!/bin/sh\necho 'first complaint' >&2\n"
	    "echo 'second complaint' >&2\n");
	/* 5 MB in 50,000 lines of 100 bytes. */
	ex_prog(d, "chatty.sh", "#!/bin/sh\nhead -c 5000000 /dev/zero | "
	    "tr '\\000' x | fold -w 100 >&2\n");
	ex_start(d, "[say]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/say.sh\n"
	    "[chatty]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/chatty.sh\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	base = hs_nfds(d);
	ex_ask(d, "say", "", buf, sizeof(buf));
	ex_wait_children(d, 0, 5000);
	cr_assert(ab_log_has(d, "]: first complaint"));
	cr_assert(ab_log_has(d, "]: second complaint"));
	ex_ask(d, "chatty", "", buf, sizeof(buf));
	ex_probe(d);
	ex_wait_children(d, 0, 30000);
	ex_probe(d);
	cr_assert(ab_log_has(d, "not logged (rate limit)"));
	log = hs_log(d);
	for (p = log; (p = strstr(p, "xxxxxxxxxx")) != NULL; p = strchr(p,
	    '\n'))
		lines++;
	free(log);
	cr_assert(lines > 0 && lines < 1000, "%d stderr lines logged", lines);
	ab_wait_nfds(d, base, hs_ms(5000), "after the chatty program");
	hs_stop_ok(d);
}

/*
 * Many programs that each write one stderr line, past the rate limit: the
 * lines dropped are reported at most once a second, not once a program
 * (which would be the per-connection log flood the limit is there for).
 */
Test(exec, stderr_drops_reported_rate_limited, .timeout = 120)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[64];
	int64_t			 t0;
	int			 i, secs, noted, logged;

	ex_prog(d, "oops.sh", "#!/bin/sh\necho oops >&2\n");
	ex_start(d, "[oops]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/oops.sh\n");
	t0 = hs_now_ms();
	for (i = 0; i < 400; i++)
		ex_try(d, "oops", "", buf, sizeof(buf));
	ex_wait_children(d, 0, 5000);
	secs = (int)((hs_now_ms() - t0) / 1000) + 1;
	logged = hs_log_count(d, "]: oops\n");
	noted = hs_log_count(d, "not logged (rate limit)");
	cr_assert(logged < 400 && logged <= 100 + 20 * secs + 20,
	    "%d of 400 stderr lines logged in %d s", logged, secs);
	cr_assert(noted >= 1, "the dropped lines are never reported");
	cr_assert(noted <= 2 * secs + 2, "%d reports of dropped lines in "
	    "%d s", noted, secs);
	hs_stop_ok(d);
}

Test(exec, misbehaving_programs, .timeout = 120)
{
	static const char *const names[] = { "quick", "deaf", "forker",
		"closer", "gone" };
	struct hs_daemon	*d = hs_new();
	char			 buf[256];
	size_t			 i;
	int			 base;

	ex_prog(d, "deaf.sh", "#!/bin/sh\nsleep 1\n");
	ex_prog(d, "forker.sh", "#!/bin/sh\n(sleep 3; echo late >&2) &\n"
	    "echo parent\nexit 0\n");
	ex_prog(d, "closer.sh", "#!/bin/sh\nexec 1>&- 0<&-\nsleep 1\n");
	ex_prog(d, "gone.sh", "#!/bin/sh\necho here\n");
	ex_start(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[quick]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/true\n"
	    "[deaf]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/deaf.sh\n"
	    "[forker]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/forker.sh\n"
	    "[closer]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/closer.sh\n"
	    "[gone]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/gone.sh\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	base = hs_nfds(d);
	/* Deleted after the config was checked: a spawn failure. */
	snprintf(buf, sizeof(buf), "%s/gone.sh", d->dir);
	cr_assert(unlink(buf) == 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ex_try(d, names[i], "some input\n", buf, sizeof(buf));
		ex_probe(d);
	}
	ex_wait_children(d, 0, 10000);
	ab_wait_nfds(d, base, hs_ms(5000), "after the programs");
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawn_failures_total",
	    "gone", NULL), 1);
	cr_assert(ab_log_has(d, "cannot start the program"));
	cr_assert_eq(ab_metric(d, "netsvcd_children_exits_total", "forker",
	    "ok"), 1);
	/* The grandchild outlives its parent: nothing is kept for it. */
	sleep(3);
	ex_probe(d);
	ab_wait_nfds(d, base, hs_ms(5000), "after the grandchild");
	hs_stop_ok(d);
}

/* Out of descriptors at spawn time: that connection closes, counted. */
Test(exec, spawn_failure_emfile, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	struct rlimit		 rl, old;
	char			 buf[64];
	int			 fd, n;

	ex_start(d, "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[cat]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/cat\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	n = hs_nfds(d);
	cr_assert(prlimit(d->pid, RLIMIT_NOFILE, NULL, &old) == 0);
	/* Room for the accepted socket, not for the stderr pipe. */
	rl.rlim_cur = (rlim_t)n + 1;
	rl.rlim_max = old.rlim_max;
	cr_assert(prlimit(d->pid, RLIMIT_NOFILE, &rl, NULL) == 0);
	fd = hs_connect(d, "cat", SOCK_STREAM, AF_INET);
	cr_assert(hs_read_eof(fd, buf, sizeof(buf), hs_ms(5000)) == 0,
	    "not closed");
	hs_close(fd);
	cr_assert(prlimit(d->pid, RLIMIT_NOFILE, &old, NULL) == 0);
	ex_wait_log(d, "cannot start the program: Too many open files");
	cr_assert_eq(ab_metric(d, "netsvcd_children_spawn_failures_total",
	    "cat", NULL), 1);
	/* And it serves again once descriptors are back. */
	ex_ask(d, "cat", "again", buf, sizeof(buf));
	cr_assert_str_eq(buf, "again");
	ex_probe(d);
	ex_wait_children(d, 0, 5000);
	hs_stop_ok(d);
}

Test(exec, fork_bomb_guard, .timeout = 120)
{
	struct hs_daemon		*d = hs_new();
	const struct hs_endpoint	*ep;
	int				 fds[1000], i, n = 0, most = 0, c;
	int64_t				 end;

	ex_start(d, "[daemon]\nmax_connections = 4000\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "[bomb]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sleep 3\nbacklog = 1024\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	ep = hs_endpoint(d, "bomb", SOCK_STREAM, AF_INET);
	ab_nofile(4096);
	end = hs_now_ms() + 1000;
	for (i = 0; i < 1000; i++) {
		fds[n] = ab_tcp_start(ep, NULL);
		if (fds[n] != -1)
			n++;
		if (i % 50 == 0 && (c = ex_children(d)) > most)
			most = c;
		if (hs_now_ms() > end && i < 999)
			cr_log_warn("flood slower than 1 s: %d sent", i);
		if (hs_now_ms() > end)
			end = INT64_MAX;
	}
	ex_probe(d);
	for (i = 0; i < 20; i++) {
		if ((c = ex_children(d)) > most)
			most = c;
		usleep(50000);
	}
	cr_assert(most <= 64, "%d children, max_connections is 64", most);
	cr_assert(ab_metric(d, "netsvcd_children_spawned_total", "bomb",
	    NULL) <= 1000);
	cr_assert(ab_metric(d, "netsvcd_connections_refused_total", "bomb",
	    "limit") > 0);
	for (i = 0; i < n; i++)
		hs_close(fds[i]);
	ex_probe(d);
	ex_wait_children(d, 0, 20000);
	hs_stop_ok(d);
}

Test(exec, reload_keeps_children, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 conf[EX_CONF_MAX], buf[256];
	int			 fd;
	static const char	 fmt[] = "[r]\nservice = exec\n"
	    "listen = tcp://127.0.0.1:0\ncommand = %s/%s\n";

	ex_prog(d, "a.sh", "#!/bin/sh\nread x\necho A\n");
	ex_prog(d, "b.sh", "#!/bin/sh\nread x\necho B\n");
	snprintf(conf, sizeof(conf), fmt, d->dir, "a.sh");
	hs_start(d, conf);
	fd = hs_connect(d, "r", SOCK_STREAM, AF_INET);
	ex_wait_started(d, 1);
	snprintf(conf, sizeof(conf), fmt, d->dir, "b.sh");
	hs_reload(d, conf);
	ex_ask(d, "r", "new\n", buf, sizeof(buf));
	cr_assert_str_eq(buf, "B\n");
	ex_wait_children(d, 1, 5000);	/* B's child is reaped */
	cr_assert_eq(ex_children(d), 1, "the old child was touched");
	cr_assert(hs_send_all(fd, "old\n", 4, hs_ms(3000)) == 0);
	cr_assert(hs_read_eof(fd, buf, sizeof(buf), hs_ms(5000)) == 2);
	cr_assert(strncmp(buf, "A\n", 2) == 0);
	hs_close(fd);
	ex_wait_children(d, 0, 5000);
	hs_stop_ok(d);
}

Test(exec, shutdown_kills_children, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	int			 fd;
	int64_t			 t0;

	ex_prog(d, "stubborn.sh", "#!/bin/sh\ntrap '' TERM\nwhile :; do "
	    "sleep 1; done\n");
	ex_start(d, "[daemon]\nshutdown_timeout = 1s\n"
	    "[s]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = @D@/stubborn.sh\n");
	fd = hs_connect(d, "s", SOCK_STREAM, AF_INET);
	ex_wait_started(d, 1);
	t0 = hs_now_ms();
	cr_assert(hs_signal(d, SIGTERM) == 0);
	cr_assert(hs_wait_exit(d, hs_ms(15000)) == 0, "no exit");
	cr_assert(hs_now_ms() - t0 >= 2500, "left before the grace");
	cr_assert(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0);
	cr_assert(ab_log_has(d, "SIGTERM to 1 program"));
	cr_assert(ab_log_has(d, "still running: SIGKILL"));
	hs_close(fd);
}

Test(exec, user_nice_limits, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[256];

	if (geteuid() != 0)
		cr_skip_test("needs root");
	ex_start(d, "[who]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sh -c \"id -u; id -g; ulimit -n; nice; pwd\"\n"
	    "user = nobody\ngroup = nogroup\nnice = 5\nchild_files = 64\n"
	    "chdir = /tmp\n"
	    "[who2]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sh -c \"echo $(id -u) $(id -g) $(id -G)\"\n"
	    "user = nobody\n");
	ex_ask(d, "who", "", buf, sizeof(buf));
	cr_assert_str_eq(buf, "65534\n65534\n64\n5\n/tmp\n");
	/* user alone: its primary group, not root's. */
	ex_ask(d, "who2", "", buf, sizeof(buf));
	cr_assert_str_eq(buf, "65534 65534 65534\n");
	hs_stop_ok(d);
}

/* Limits work when the daemon dropped root ([daemon] user). */
Test(exec, limits_without_root, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[256];

	if (geteuid() != 0)
		cr_skip_test("needs root to drop it");
	ex_start(d, "[daemon]\nuser = nobody\n"
	    "[lim]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sh -c \"id -u; ulimit -n\"\nchild_files = 32\n");
	ex_ask(d, "lim", "", buf, sizeof(buf));
	cr_assert_str_eq(buf, "65534\n32\n");
	hs_stop_ok(d);
}

/* -t on a config with one bad exec section: the exit code and message. */
static void
ex_check(const char *body, int code, const char *want)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	char			 conf[EX_CONF_MAX];
	const char		*path;

	snprintf(conf, sizeof(conf), "[x]\nservice = exec\n"
	    "listen = tcp://127.0.0.1:0\n%s", body);
	path = hs_file(d, "check.ini", conf, strlen(conf));
	cr_assert(hs_run(&r, hs_ms(10000), "-t", "-c", path, NULL) == 0);
	cr_assert_eq(r.exit_code, code, "%s: %s", body, r.err);
	cr_assert(strstr(r.err, want) != NULL, "%s: got %s", body, r.err);
	hs_result_free(&r);
}

Test(exec, check_errors, .timeout = 60)
{
	ex_check("command = bin/cat\n", 1, "check.ini:4: command: 'bin/cat' "
	    "is not an absolute path");
	ex_check("command = /nonexistent/prog\n", 1, "check.ini:4: command: "
	    "/nonexistent/prog: No such file");
	ex_check("command = /etc/passwd\n", 1, "check.ini:4: command: "
	    "/etc/passwd: not an executable file");
	ex_check("command = /bin/cat \"open\n", 1, "unterminated");
	ex_check("command = /bin/cat\nenv = 1X=y\n", 1, "check.ini:5: env: "
	    "bad name");
	ex_check("command = /bin/cat\nenv = PROTO=y\n", 1, "check.ini:5: env: "
	    "PROTO is set by netsvcd");
	ex_check("command = /bin/cat\nuser = no-such-user-here\n", 1,
	    "check.ini:5: user: unknown user");
	ex_check("command = /bin/cat\ngroup = no-such-group-here\n", 1,
	    "check.ini:5: group: unknown group");
	ex_check("command = /bin/cat\nnice = 20\n", 1, "check.ini:5: nice");
	ex_check("command = /bin/cat\nchild_memory = 12 parsecs\n", 1,
	    "check.ini:5: child_memory");
	ex_check("env = A=b\n", 1, "exec needs command");
	ex_check("command = /bin/cat\nidle_timeout = 10s\n", 0,
	    "do not apply");
	/* The daemon drops to nobody: -t warns, the start fails (below). */
	ex_check("command = /bin/cat\nuser = nobody\n[daemon]\n"
	    "user = nobody\n", 0, "warning: user = nobody");
}

/*
 * A command the kernel cannot run as it is (a script without a #! line)
 * gets a warning from -t, where it would otherwise fail on every
 * connection; a script with one and a program get none.
 */
Test(exec, check_warns_unrunnable_format, .timeout = 60)
{
	static const char *const progs[][2] = {
		{ "bare.sh", "echo hi\n" },
		{ "good.sh", "#!/bin/sh\necho hi\n" },
	};
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	char			 conf[1024];
	const char		*path;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		snprintf(conf, sizeof(conf), "[x]\nservice = exec\n"
		    "listen = tcp://127.0.0.1:0\ncommand = %s\n", i < 2 ?
		    ex_prog(d, progs[i][0], progs[i][1]) : "/bin/cat");
		path = hs_file(d, "check.ini", conf, strlen(conf));
		cr_assert(hs_run(&r, hs_ms(10000), "-t", "-c", path,
		    NULL) == 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert((strstr(r.err, "neither an ELF program nor a script "
		    "starting with #!") != NULL) == (i == 0), "%s: %s",
		    i < 2 ? progs[i][0] : "/bin/cat", r.err);
		hs_result_free(&r);
	}
}

Test(exec, setid_without_root_fails_at_start, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	static const char	 conf[] = "[daemon]\nuser = nobody\n"
	    "[x]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/cat\nuser = nobody\n";
	const char		*path = hs_file(d, "c.ini", conf, strlen(conf));

	cr_assert(hs_run(&r, hs_ms(10000), "-f", "-c", path, NULL) == 0);
	cr_assert_eq(r.exit_code, 1, "%s", r.err);
	cr_assert(strstr(r.err, "c.ini:7: user: netsvcd cannot switch") !=
	    NULL, "%s", r.err);
	hs_result_free(&r);
}
