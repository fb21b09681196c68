/*
 * test-systemd.c: what a service manager does besides start and stop.
 * Socket activation: the harness binds the sockets and passes them as
 * fds 3... with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES.  Reload: SIGHUP,
 * RELOADING=1 then READY=1; kept endpoints keep their sockets, moved and
 * removed ones stop answering, open connections go on, and a broken config
 * or a port that cannot be bound changes nothing.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define SD_TMO		5000		/* ms for one exchange, unscaled */
/* The start of sd_conf1() and sd_conf2(): the daemon and echo's service. */
#define SD_CONF_HEAD	"[daemon]\nshutdown_timeout = 5s\n\n" \
			"[echo]\nservice = echo\n"

/*
 * Reload tests use fixed ports: a reload keeps the socket of an endpoint
 * only when its configured identity is the same, and each port 0 is new.
 */
struct sd_ports {
	int	tcp[3];		/* echo, gone, added on 127.0.0.1 */
	int	udp;		/* echo on 127.0.0.1 */
};

static void	 sd_ports(struct sd_ports *);
static const char *sd_conf1(const struct sd_ports *);
static const char *sd_conf2(const struct sd_ports *);
static void	 sd_echo_ep(const struct hs_endpoint *, const char *);
static void	 sd_refused(const struct hs_endpoint *, const char *);
static void	 sd_close(int);
static void	 sd_conf1_serves(struct hs_daemon *, int);

TestSuite(activation, .fini = hs_teardown);
TestSuite(reload, .fini = hs_teardown);

/* Pick the fixed ports of one test. */
static void
sd_ports(struct sd_ports *p)
{
	hs_free_ports(SOCK_STREAM, AF_INET, p->tcp, 3);
	hs_free_ports(SOCK_DGRAM, AF_INET, &p->udp, 1);
}

/* echo on TCP and UDP, gone (daytime) on TCP. */
static const char *
sd_conf1(const struct sd_ports *p)
{
	static char	conf[512];

	snprintf(conf, sizeof(conf),
	    SD_CONF_HEAD
	    "listen = tcp://127.0.0.1:%d udp://127.0.0.1:%d\n"
	    "\n"
	    "[gone]\n"
	    "service = daytime\n"
	    "listen = tcp://127.0.0.1:%d\n", p->tcp[0], p->udp, p->tcp[1]);
	return conf;
}

/* echo's TCP endpoint moves to ::1, gone goes, added (banner) comes. */
static const char *
sd_conf2(const struct sd_ports *p)
{
	static char	conf[512];

	snprintf(conf, sizeof(conf),
	    SD_CONF_HEAD
	    "listen = tcp://[::1]:0 udp://127.0.0.1:%d\n"
	    "\n"
	    "[added]\n"
	    "service = banner\n"
	    "listen = tcp://127.0.0.1:%d\n"
	    "message = added\\r\\n\n", p->udp, p->tcp[2]);
	return conf;
}

/* An echo exchange with a fresh TCP or UDP socket to ep. */
static void
sd_echo_ep(const struct hs_endpoint *ep, const char *msg)
{
	char	buf[128];
	ssize_t	n;
	int	fd;

	fd = hs_connect_ep(ep, hs_ms(SD_TMO));
	cr_assert(fd != -1, "connect to %s: %s", ep->url, strerror(errno));
	if (ep->type == SOCK_STREAM)
		hs_echo(fd, msg, hs_ms(SD_TMO));
	else {
		n = hs_udp_ask(fd, msg, strlen(msg), buf, sizeof(buf),
		    hs_ms(SD_TMO));
		cr_assert(n == (ssize_t)strlen(msg) &&
		    memcmp(buf, msg, (size_t)n) == 0, "udp echo at %s: %s",
		    ep->url, n < 0 ? strerror(errno) : hs_show(buf, (size_t)n));
	}
	hs_close(fd);
}

/* Nobody listens at ep any more. */
static void
sd_refused(const struct hs_endpoint *ep, const char *why)
{
	int	fd;

	fd = hs_connect_ep(ep, hs_ms(SD_TMO));
	if (fd != -1)
		hs_close(fd);
	cr_assert(fd == -1 && errno == ECONNREFUSED, "%s: %s still accepts "
	    "connections", why, ep->url);
}

/* End a connection politely: SHUT_WR, then the daemon's EOF. */
static void
sd_close(int fd)
{
	cr_assert(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
	cr_assert(hs_wait_closed(fd, hs_ms(SD_TMO)) == 0, "no EOF after "
	    "SHUT_WR");
	hs_close(fd);
}

/* Everything of sd_conf1() answers, and the open echo connection fd. */
static void
sd_conf1_serves(struct hs_daemon *d, int fd)
{
	char	buf[256];
	ssize_t	n;
	int	g;

	hs_echo(fd, "old connection\n", hs_ms(SD_TMO));
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET), "tcp\n");
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET), "udp\n");
	g = hs_connect(d, "gone", SOCK_STREAM, AF_INET);
	n = hs_read_eof(g, buf, sizeof(buf), hs_ms(SD_TMO));
	cr_assert(n > 0 && hs_check_daytime(buf, (size_t)n) == NULL,
	    "daytime after a failed reload: %s", n < 0 ? strerror(errno) :
	    hs_show(buf, (size_t)n));
	hs_close(g);
}

/* Sockets passed by the service manager are served, not bound again. */
Test(activation, adopts_passed_sockets, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	const char		*t4, *u4, *t6;
	char			 conf[512];

	/*
	 * The harness keeps its copies open, as systemd does: binding the
	 * same ports again would fail, so only adoption can work.
	 */
	t4 = hs_bind(d, "tcp://127.0.0.1:0");
	u4 = hs_bind(d, "udp://127.0.0.1:0");
	t6 = hs_bind(d, "tcp://[::1]:0");
	snprintf(conf, sizeof(conf), "[echo]\nservice = echo\n"
	    "listen = %s %s %s\n", t4, u4, t6);
	hs_start(d, conf);
	cr_assert(strcmp(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET)->url,
	    t4) == 0, "echo listens on %s, not on the passed %s",
	    hs_endpoint(d, "echo", SOCK_STREAM, AF_INET)->url, t4);
	cr_assert(strcmp(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6)->url,
	    t6) == 0, "echo listens on %s, not on the passed %s",
	    hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6)->url, t6);
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET), "t4\n");
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET), "u4\n");
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6), "t6\n");
	hs_stop_ok(d);
}

/* A passed socket and one the daemon binds itself, side by side. */
Test(activation, mixed_with_bound, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	const char		*t4;
	char			 conf[512];

	t4 = hs_bind(d, "tcp://127.0.0.1:0");
	snprintf(conf, sizeof(conf), "[echo]\nservice = echo\n"
	    "listen = %s tcp://[::1]:0\n"
	    "[daytime]\nservice = daytime\nlisten = tcp://127.0.0.1:0\n", t4);
	hs_start(d, conf);
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET), "passed\n");
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6), "bound\n");
	hs_stop_ok(d);
}

/*
 * Reload with an endpoint moved, an instance removed and one added: the
 * open connection goes on, kept sockets stay, the new ones answer and the
 * old ones refuse.
 */
Test(reload, moves_adds_removes, .timeout = 60)
{
	struct hs_daemon	*d;
	struct hs_endpoint	 old_tcp, old_udp, gone;
	struct sd_ports		 p;
	char			 buf[64];
	ssize_t			 n;
	int			 fd, b;

	sd_ports(&p);
	d = hs_spawn(sd_conf1(&p));
	old_tcp = *hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	old_udp = *hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	gone = *hs_endpoint(d, "gone", SOCK_STREAM, AF_INET);
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "before reload\n", hs_ms(SD_TMO));

	hs_reload(d, sd_conf2(&p));
	cr_assert(strstr(d->last_status, "fail") == NULL, "reload: STATUS=%s",
	    d->last_status);
	hs_echo(fd, "after reload\n", hs_ms(SD_TMO));
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6), "moved\n");
	cr_assert(hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET)->port ==
	    old_udp.port, "the kept UDP endpoint moved from port %d to %d",
	    old_udp.port, hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET)->port);
	sd_echo_ep(&old_udp, "kept\n");
	b = hs_connect(d, "added", SOCK_STREAM, AF_INET);
	n = hs_read_eof(b, buf, sizeof(buf), hs_ms(SD_TMO));
	cr_assert(n == 7 && memcmp(buf, "added\r\n", 7) == 0, "added banner: "
	    "%s", n < 0 ? strerror(errno) : hs_show(buf, (size_t)n));
	hs_close(b);
	sd_refused(&old_tcp, "moved endpoint");
	sd_refused(&gone, "removed instance");
	hs_echo(fd, "still after reload\n", hs_ms(SD_TMO));
	sd_close(fd);
	hs_stop_ok(d);
}

/*
 * The same config again keeps every socket: connections queued in the
 * backlog while the daemon was stopped are served after the reload.
 */
Test(reload, same_config_keeps_queued, .timeout = 60)
{
	struct hs_daemon	*d;
	struct hs_endpoint	 tcp, udp;
	struct sd_ports		 p;
	int			 fd, queued[5];
	size_t			 i;

	sd_ports(&p);
	d = hs_spawn(sd_conf1(&p));
	tcp = *hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	udp = *hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "before reload\n", hs_ms(SD_TMO));

	/* Stopped, the daemon cannot accept: the kernel queues these. */
	cr_assert(hs_signal(d, SIGSTOP) == 0, "kill: %s", strerror(errno));
	for (i = 0; i < 5; i++) {
		queued[i] = hs_connect_ep(&tcp, hs_ms(SD_TMO));
		cr_assert(queued[i] != -1, "connect while stopped: %s",
		    strerror(errno));
	}
	hs_reload(d, sd_conf1(&p));		/* SIGHUP, then SIGCONT */
	for (i = 0; i < 5; i++) {
		hs_echo(queued[i], "queued before the reload\n", hs_ms(SD_TMO));
		sd_close(queued[i]);
	}
	sd_echo_ep(&tcp, "same tcp port\n");
	sd_echo_ep(&udp, "same udp port\n");
	sd_conf1_serves(d, fd);
	sd_close(fd);
	hs_stop_ok(d);
}

/* A broken config: RELOADING=1, READY=1 saying so, nothing changed. */
Test(reload, broken_config_changes_nothing, .timeout = 60)
{
	struct hs_daemon	*d;
	struct sd_ports		 p;
	int			 fd;

	sd_ports(&p);
	d = hs_spawn(sd_conf1(&p));
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "before reload\n", hs_ms(SD_TMO));
	hs_reload(d, "[echo]\nservice = nosuchservice\n"
	    "listen = tcp://127.0.0.1:0\nbogus = 1\n");
	cr_assert(strstr(d->last_status, "fail") != NULL, "a failed reload "
	    "sent READY=1 with STATUS=%s", d->last_status);
	sd_conf1_serves(d, fd);
	sd_close(fd);
	hs_stop_ok(d);
}

/* A listening socket on a free loopback port, which the daemon cannot bind. */
static int
sd_taken_port(unsigned int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd != -1 && bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 && listen(fd, 1) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "bind: %s", strerror(errno));
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A port that cannot be bound: the reload is rolled back as a whole. */
Test(reload, bind_failure_rolls_back, .timeout = 60)
{
	struct hs_daemon	*d;
	unsigned int		 port;
	struct sd_ports		 p;
	char			 conf[1024];
	int			 fd, taken;

	sd_ports(&p);
	d = hs_spawn(sd_conf1(&p));
	taken = sd_taken_port(&port);

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "before reload\n", hs_ms(SD_TMO));
	/* New endpoints that bind, and one that cannot. */
	snprintf(conf, sizeof(conf), "%s\n[extra]\nservice = echo\n"
	    "listen = tcp://[::1]:0 tcp://127.0.0.1:%u\n", sd_conf1(&p),
	    port);
	hs_reload(d, conf);
	cr_assert(strstr(d->last_status, "fail") != NULL, "a reload that "
	    "cannot bind port %u sent READY=1 with STATUS=%s",
	    port, d->last_status);
	sd_conf1_serves(d, fd);
	sd_close(fd);
	close(taken);
	hs_stop_ok(d);
}

/*
 * A socket passed by the service manager that matches no endpoint fails
 * the start: systemd keeps its own copy listening, so serving nothing on
 * it would leave a port that accepts and never answers.
 */
Test(activation, unmatched_socket_fails_start, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	const char		*t4, *extra;
	char			 conf[512], *log;
	int			 rc;

	t4 = hs_bind(d, "tcp://127.0.0.1:0");
	extra = hs_bind(d, "tcp://127.0.0.1:0");
	snprintf(conf, sizeof(conf), "[echo]\nservice = echo\n"
	    "listen = %s\n", t4);
	rc = hs_start_fails(d, conf);
	log = hs_log(d);
	cr_assert(rc == 1, "exit code %d with an unmatched passed socket "
	    "(log: %s)", rc, log);
	cr_assert(strstr(log, extra + strlen("tcp://")) != NULL &&
	    strstr(log, "matches no endpoint") != NULL, "the log does not "
	    "name the unmatched socket %s: %s", extra, log);
	free(log);
}

/* hs_run "netsvcd -s reload -c d's config": the exit code; out/err kept. */
static int
sd_signal_reload(struct hs_daemon *d, struct hs_result *r)
{
	cr_assert(hs_run(r, hs_ms(40000), "-s", "reload", "-c", d->conf_path,
	    NULL) == 0, "netsvcd -s reload did not finish");
	return r->exit_code;
}

/*
 * "netsvcd -s reload" (ExecReload=): exit 0 when the reload applied, 1
 * when it failed, for a bad file (found by the client itself) and for a
 * port that the daemon cannot bind (found only by the reload).  The
 * daemon serves on throughout.
 */
Test(reload, signal_reload_reports_outcome, .timeout = 120)
{
	struct hs_daemon	*d;
	struct hs_result	 r;
	unsigned int		 port;
	struct sd_ports		 p;
	char			 conf[1024], pid[32], line[256];
	FILE			*f;
	int			 taken;

	sd_ports(&p);
	d = hs_new();
	/* What RuntimeDirectory= and ExecReload= give, systemd-style. */
	setenv("RUNTIME_DIRECTORY", d->dir, 1);
	hs_start(d, sd_conf1(&p));
	snprintf(pid, sizeof(pid), "%ld", (long)d->pid);
	setenv("MAINPID", pid, 1);
	snprintf(conf, sizeof(conf), "%s/reload-status", d->dir);
	line[0] = '\0';
	if ((f = fopen(conf, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	cr_assert(strncmp(line, pid, strlen(pid)) == 0 &&
	    strstr(line, " 0 ok ") != NULL, "reload-status at start: %s",
	    line);

	/* A good reload. */
	hs_file(d, "netsvcd.ini", sd_conf2(&p), strlen(sd_conf2(&p)));
	cr_assert(sd_signal_reload(d, &r) == 0, "good reload: exit %d, "
	    "stderr: %s", r.exit_code, r.err);
	cr_assert(strstr(r.out, "reloaded") != NULL, "stdout: %s", r.out);
	hs_result_free(&r);
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET), "good\n");

	/* A bad file: the client says why and signals nothing. */
	hs_file(d, "netsvcd.ini", "[echo]\nservice = nosuch\n", 24);
	cr_assert(sd_signal_reload(d, &r) == 1, "bad file: exit %d",
	    r.exit_code);
	cr_assert(strstr(r.err, "netsvcd.ini:2") != NULL &&
	    strstr(r.err, "not reloaded") != NULL &&
	    strstr(r.err, "not started") == NULL, "stderr: %s", r.err);
	hs_result_free(&r);

	/* A port the daemon cannot bind: only the reload itself fails. */
	taken = sd_taken_port(&port);
	snprintf(conf, sizeof(conf), "%s\n[extra]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:%u\n", sd_conf2(&p),
	    port);
	hs_file(d, "netsvcd.ini", conf, strlen(conf));
	cr_assert(sd_signal_reload(d, &r) == 1, "reload with a port in "
	    "use: exit %d, stdout: %s", r.exit_code, r.out);
	cr_assert(strstr(r.err, "reload failed") != NULL, "stderr: %s",
	    r.err);
	hs_result_free(&r);
	close(taken);
	sd_echo_ep(hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET), "kept\n");

	/* Without a status file there is nothing to wait for: an error. */
	setenv("RUNTIME_DIRECTORY", "/nonexistent", 1);
	cr_assert(sd_signal_reload(d, &r) == 1, "no status file: exit %d",
	    r.exit_code);
	hs_result_free(&r);
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("MAINPID");
	hs_stop_ok(d);
}

/*
 * "netsvcd -s stop" (ExecStop=): SIGTERM to $MAINPID, and exit 0 only
 * once the daemon is gone, here after shutdown_timeout let an open
 * connection finish; exit 1 with a reason when there is no daemon.
 */
Test(reload, signal_stop_waits_until_gone, .timeout = 60)
{
	struct hs_daemon	*d;
	struct hs_result	 r;
	char			 pid[32];
	int64_t			 t0;
	int			 fd;

	d = hs_new();
	setenv("RUNTIME_DIRECTORY", d->dir, 1);
	hs_start(d, "[daemon]\nshutdown_timeout = 1500ms\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	unsetenv("RUNTIME_DIRECTORY");
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_echo(fd, "open at the stop\n", hs_ms(5000));
	snprintf(pid, sizeof(pid), "%ld", (long)d->pid);
	setenv("MAINPID", pid, 1);
	t0 = hs_now_ms();
	cr_assert(hs_run(&r, hs_ms(40000), "-s", "stop", NULL) == 0,
	    "netsvcd -s stop did not finish");
	unsetenv("MAINPID");
	cr_assert(r.exit_code == 0, "exit %d, stderr: %s", r.exit_code,
	    r.err);
	cr_assert(strstr(r.out, pid) != NULL, "stdout: %s", r.out);
	cr_assert(hs_wait_exit(d, hs_ms(200)) == 0, "-s stop returned after "
	    "%lld ms with the daemon still running",
	    (long long)(hs_now_ms() - t0));
	cr_assert(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	    "daemon: %d", d->status);
	cr_assert(hs_now_ms() - t0 >= 1000, "stopped after %lld ms, before "
	    "shutdown_timeout let the connection finish",
	    (long long)(hs_now_ms() - t0));
	hs_result_free(&r);
	hs_close(fd);

	/* Nothing to stop: a reason, exit 1. */
	setenv("RUNTIME_DIRECTORY", d->dir, 1);
	cr_assert(hs_run(&r, hs_ms(40000), "-s", "stop", NULL) == 0);
	unsetenv("RUNTIME_DIRECTORY");
	cr_assert(r.exit_code == 1 && strstr(r.err, "no daemon") !=
	    NULL, "exit %d, stderr: %s", r.exit_code, r.err);
	hs_result_free(&r);
}

/*
 * A status file left behind names a PID that another program may have
 * now: "netsvcd -s stop" and "-s reload" signal it only if it is netsvcd.
 */
Test(reload, signal_skips_a_stale_pid, .timeout = 60)
{
	const char		*cmds[] = { "stop", "reload" };
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	static const char	 conf[] = "[echo]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n";
	const char		*path;
	char			 line[64];
	size_t			 i;
	pid_t			 pid;
	int			 status;

	if ((pid = fork()) == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	snprintf(line, sizeof(line), "%ld 0 ok ready\n", (long)pid);
	hs_file(d, "reload-status", line, strlen(line));
	path = hs_file(d, "stale.ini", conf, strlen(conf));
	setenv("RUNTIME_DIRECTORY", d->dir, 1);
	unsetenv("MAINPID");
	for (i = 0; i < 2; i++) {
		cr_assert(hs_run(&r, hs_ms(20000), "-s", cmds[i], "-c", path,
		    NULL) == 0,
		    "netsvcd -s %s did not finish", cmds[i]);
		cr_assert(r.exit_code == 1 && strstr(r.err, "not netsvcd") !=
		    NULL, "-s %s: exit %d, stderr: %s", cmds[i], r.exit_code,
		    r.err);
		hs_result_free(&r);
	}
	unsetenv("RUNTIME_DIRECTORY");
	cr_assert(waitpid(pid, &status, WNOHANG) == 0, "the sleeper was "
	    "signalled (status %d)", status);
	kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}

/*
 * "netsvcd -s stop" waits as long as the file's drain_delay and
 * shutdown_timeout (and the programs' grace) allow, plus a margin, not a
 * fixed time: a daemon that does not end (stopped here) is given up on
 * after 1 + 2 + 5 s, with exit 1 and the reason.
 */
Test(reload, signal_stop_waits_by_the_config, .timeout = 90)
{
	struct hs_daemon	*d;
	struct hs_result	 r;
	char			 pid[32];
	int64_t			 t0, took;

	d = hs_spawn("[daemon]\nshutdown_timeout = 1s\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	snprintf(pid, sizeof(pid), "%ld", (long)d->pid);
	setenv("MAINPID", pid, 1);
	cr_assert(kill(d->pid, SIGSTOP) == 0);
	t0 = hs_now_ms();
	cr_assert(hs_run(&r, hs_ms(60000), "-s", "stop", "-c", d->conf_path,
	    NULL) == 0, "netsvcd -s stop did not finish");
	took = hs_now_ms() - t0;
	unsetenv("MAINPID");
	cr_assert(kill(d->pid, SIGCONT) == 0);
	cr_assert(r.exit_code == 1 && strstr(r.err, "still runs") != NULL,
	    "exit %d, stderr: %s", r.exit_code, r.err);
	cr_assert(took >= 7500 && took < hs_ms(30000), "gave up after %lld "
	    "ms, not 8 s", (long long)took);
	hs_result_free(&r);
	cr_assert(hs_wait_exit(d, hs_ms(10000)) == 0, "the SIGTERM was lost");
}
