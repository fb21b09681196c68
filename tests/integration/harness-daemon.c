/*
 * harness-daemon.c: the daemon's life cycle as the harness drives it:
 * write a config, launch, wait for notify states, reload, stop, and learn
 * the endpoints from the "instance NAME listening on URL" log lines.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness-int.h"

static void	 hs_child_journal(void);
static void	 hs_child_listen_fds(struct hs_daemon *);
static int	 hs_reap(struct hs_daemon *, int);
static void	 hs_notify_read(struct hs_daemon *);
static int	 hs_notify_seen(struct hs_daemon *, const char *);
static void	 hs_parse_log(struct hs_daemon *, long);
static int	 hs_parse_url(const char *, struct hs_endpoint *, int);
static void	 hs_write_conf(const char *, const char *);
static const char *hs_describe_status(int);

struct hs_daemon	*hs_daemons[HS_MAX_DAEMONS];
size_t			 hs_ndaemons;

/* ---- Daemon life cycle ---- */

/* A new daemon slot with its own directory; the test ignores SIGPIPE. */
struct hs_daemon *
hs_new(void)
{
	struct sockaddr_un	 sun;
	struct hs_daemon	*d;

	signal(SIGPIPE, SIG_IGN);
	cr_assert(hs_ndaemons < HS_MAX_DAEMONS, "harness: too many daemons");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		cr_assert_fail("harness: out of memory");
	d->notify_fd = -1;
	d->pidfd = -1;
	d->pid = -1;
	hs_mkdir(d->dir, sizeof(d->dir));
	snprintf(d->conf_path, sizeof(d->conf_path), "%s/netsvcd.ini",
	    d->dir);
	snprintf(d->log_path, sizeof(d->log_path), "%s/daemon.log", d->dir);
	snprintf(d->notify_path, sizeof(d->notify_path), "%s/notify",
	    d->dir);
	/* sun_path is short: fall back to a short name in the run dir. */
	if (strlen(d->notify_path) >= sizeof(sun.sun_path))
		snprintf(d->notify_path, sizeof(d->notify_path),
		    "%s/notify.%ld.%u", getenv(HS_RUNDIR_ENV) != NULL ?
		    getenv(HS_RUNDIR_ENV) : "/tmp", (long)getpid(), hs_seq);
	hs_daemons[hs_ndaemons++] = d;
	return d;
}

/* Put a data file (quotes, banner text) in the daemon's directory. */
const char *
hs_file(struct hs_daemon *d, const char *name, const void *data, size_t len)
{
	char	path[PATH_MAX];

	cr_assert(d->nfiles < HS_MAX_FILES, "harness: too many files");
	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	hs_write_file(path, data, len);
	if ((d->files[d->nfiles] = strdup(path)) == NULL)
		cr_assert_fail("harness: out of memory");
	return d->files[d->nfiles++];
}

/*
 * In a child: tell the daemon that its stderr (the log file) is the
 * journal's stream, as systemd does for StandardError=journal.
 */
static void
hs_child_journal(void)
{
	struct stat	st;
	char		val[64];

	if (fstat(STDERR_FILENO, &st) == -1)
		_exit(126);
	snprintf(val, sizeof(val), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", val, 1);
}

/* Collect the daemon's exit status if it has exited. */
static int
hs_reap(struct hs_daemon *d, int timeout_ms)
{
	if (!d->running)
		return 0;
	if (hs_waitpid(d->pid, &d->pidfd, &d->status, timeout_ms) == -1)
		return -1;
	d->running = 0;
	return 0;
}

/* Read every pending sd_notify datagram and record what it says. */
static void
hs_notify_read(struct hs_daemon *d)
{
	char		 buf[4096], *line, *save;
	ssize_t		 n;
	unsigned int	 i;

	for (i = 0; i < 64; i++) {
		n = recv(d->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0)
			return;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, "READY=1") == 0)
				d->ready = 1;
			else if (strcmp(line, "STOPPING=1") == 0)
				d->stopping = 1;
			else if (strcmp(line, "RELOADING=1") == 0)
				d->reloading = 1;
			else if (strncmp(line, "STATUS=", 7) == 0)
				snprintf(d->last_status,
				    sizeof(d->last_status), "%s", line + 7);
		}
	}
}

/* Whether a notify state ("READY=1", ...) has been seen. */
static int
hs_notify_seen(struct hs_daemon *d, const char *what)
{
	if (strcmp(what, "READY=1") == 0)
		return d->ready;
	if (strcmp(what, "STOPPING=1") == 0)
		return d->stopping;
	if (strcmp(what, "RELOADING=1") == 0)
		return d->reloading;
	return 0;
}

/*
 * Wait up to timeout_ms until the daemon has sent `what`.  Returns 0, or -1
 * on timeout or if the daemon exited first.  The flag stays set, so a
 * caller waiting again after a reload clears it first (d->ready = 0).
 */
int
hs_wait_notify(struct hs_daemon *d, const char *what, int timeout_ms)
{
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	struct pollfd	 pfd[2];
	unsigned int	 rounds;
	nfds_t		 n;

	for (rounds = 0; rounds < 10000; rounds++) {
		hs_notify_read(d);
		if (hs_notify_seen(d, what))
			return 0;
		if (!d->running || hs_reap(d, 0) == 0) {
			/* It may have said it just before exiting. */
			hs_notify_read(d);
			return hs_notify_seen(d, what) ? 0 : -1;
		}
		if ((left = deadline - hs_now_ms()) <= 0)
			return -1;
		pfd[0].fd = d->notify_fd;
		pfd[0].events = POLLIN;
		n = 1;
		if (d->pidfd != -1) {
			pfd[1].fd = d->pidfd;
			pfd[1].events = POLLIN;
			n = 2;
		} else if (left > 50)
			left = 50;
		poll(pfd, n, (int)left);
	}
	return -1;
}

/* Describe a wait status for messages. */
static const char *
hs_describe_status(int status)
{
	static char	buf[64];

	if (status == -1)
		snprintf(buf, sizeof(buf), "no exit (timed out)");
	else if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", status);
	return buf;
}

/*
 * Write a config file.  With NETSVCD_WORKERS=N in the environment, every
 * config gets "workers = N" in its [daemon] section (one is added when it
 * has none), so a whole suite can run against a multi-threaded daemon;
 * a config that sets workers itself keeps its own.
 */
static void
hs_write_conf(const char *path, const char *conf)
{
	const char	*n = getenv("NETSVCD_WORKERS"), *sec;
	char		*text;
	size_t		 at;
	int		 len;

	if (n == NULL || *n == '\0' || strstr(conf, "\nworkers =") != NULL) {
		hs_write_file(path, conf, strlen(conf));
		return;
	}
	if ((sec = strstr(conf, "[daemon]\n")) != NULL) {
		at = (size_t)(sec - conf) + strlen("[daemon]\n");
		len = asprintf(&text, "%.*sworkers = %s\n%s", (int)at, conf, n,
		    conf + at);
	} else
		len = asprintf(&text, "[daemon]\nworkers = %s\n\n%s", n, conf);
	cr_assert(len != -1, "harness: asprintf");
	hs_write_file(path, text, (size_t)len);
	free(text);
}

/*
 * Launch the daemon on the config text conf: bind the notify socket, fork
 * and exec "netsvcd -f -c conf -l info" with stderr to daemon.log.
 */
static void
hs_launch(struct hs_daemon *d, const char *conf)
{
	const char		*args[] = { "-f", "-c", d->conf_path,
				    "-l", "info" };
	const char		*argv[HS_MAX_ARGS];
	struct sockaddr_un	 sun;
	pid_t			 pid;
	int			 fd;

	cr_assert(!d->running, "harness: daemon already running");
	hs_write_conf(d->conf_path, conf);
	cr_assert(*hs_bin() != '\0', "harness: NETSVCD_BIN is not set");
	cr_assert(hs_argv(argv, HS_MAX_ARGS, args,
	    sizeof(args) / sizeof(args[0])) > 0, "harness: too many args");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert(strlen(d->notify_path) < sizeof(sun.sun_path),
	    "harness: notify path too long: %s", d->notify_path);
	memcpy(sun.sun_path, d->notify_path, strlen(d->notify_path) + 1);
	if (d->notify_fd == -1) {
		d->notify_fd = socket(AF_UNIX,
		    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		cr_assert(d->notify_fd != -1, "harness: socket: %s",
		    strerror(errno));
		cr_assert(bind(d->notify_fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0, "harness: bind %s: %s",
		    d->notify_path, strerror(errno));
		/* As systemd's: a daemon that dropped root still notifies. */
		chmod(d->notify_path, 0666);
	}
	d->ready = d->stopping = d->reloading = 0;
	d->log_start = hs_file_size(d->log_path);
	d->neps = 0;

	if ((pid = fork()) == -1)
		cr_assert_fail("harness: fork: %s", strerror(errno));
	if (pid == 0) {
		/* Die with the test worker, even when Criterion kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd == -1)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		hs_child_env(d->notify_path);
		if (d->journal)
			hs_child_journal();
		hs_child_listen_fds(d);
		hs_child_exec(argv, (int)d->nact);
	}
	d->pid = pid;
	d->running = 1;
	d->pidfd = hs_pidfd(pid);
}

/*
 * Start the daemon on the config text conf (hs_launch), wait for READY=1,
 * then learn the endpoints from the log.
 */
void
hs_start(struct hs_daemon *d, const char *conf)
{
	hs_launch(d, conf);
	if (hs_wait_notify(d, "READY=1", hs_ms(10000)) == -1) {
		if (d->running)
			cr_assert_fail("harness: no READY=1 from %s within "
			    "%d ms (log: %s)", hs_bin(), hs_ms(10000),
			    d->log_path);
		cr_assert_fail("harness: %s ended before READY=1: %s "
		    "(log: %s)", hs_bin(), hs_describe_status(d->status),
		    d->log_path);
	}
	hs_parse_log(d, d->log_start);
}

/*
 * In a child: pass the sockets of hs_bind() as systemd does, as fds 3...
 * with LISTEN_FDS, LISTEN_PID (this process, which exec keeps) and
 * LISTEN_FDNAMES.  Moved out of the way first, so no dup2() clobbers one.
 */
static void
hs_child_listen_fds(struct hs_daemon *d)
{
	char	names[HS_MAX_ACTIVATED * 16], num[32];
	int	tmp[HS_MAX_ACTIVATED];
	size_t	i;

	if (d->nact == 0)
		return;
	names[0] = '\0';
	for (i = 0; i < d->nact; i++) {
		if ((tmp[i] = fcntl(d->act_fds[i], F_DUPFD_CLOEXEC, 100)) == -1)
			_exit(125);
		strcat(names, i == 0 ? "netsvcd" : ":netsvcd");
	}
	for (i = 0; i < d->nact; i++)
		if (dup2(tmp[i], 3 + (int)i) == -1)
			_exit(125);
	snprintf(num, sizeof(num), "%zu", d->nact);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
}

/*
 * Bind url ("tcp://127.0.0.1:0", "udp://[::1]:0") here, as systemd would
 * for a .socket unit, to be passed to the daemon at hs_start().  Returns
 * the url with the real port, for the config's listen line.
 */
const char *
hs_bind(struct hs_daemon *d, const char *url)
{
	struct hs_endpoint	 ep;
	socklen_t		 len;
	int			 fd, on = 1;

	cr_assert(d->nact < HS_MAX_ACTIVATED, "harness: too many sockets");
	memset(&ep, 0, sizeof(ep));
	cr_assert(hs_parse_url(url, &ep, 1) == 0, "harness: bad url %s", url);
	fd = socket(ep.family, ep.type | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "harness: socket: %s", strerror(errno));
	if (ep.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	len = ep.addrlen;
	cr_assert(bind(fd, (struct sockaddr *)&ep.addr, ep.addrlen) == 0 &&
	    (ep.type != SOCK_STREAM || listen(fd, 64) == 0) &&
	    getsockname(fd, (struct sockaddr *)&ep.addr, &len) == 0,
	    "harness: bind %s: %s", url, strerror(errno));
	ep.port = ntohs(ep.family == AF_INET ?
	    ((struct sockaddr_in *)&ep.addr)->sin_port :
	    ((struct sockaddr_in6 *)&ep.addr)->sin6_port);
	snprintf(d->act_urls[d->nact], sizeof(d->act_urls[d->nact]),
	    "%s://%s:%d", ep.type == SOCK_STREAM ? "tcp" : "udp",
	    hs_family_name(ep.family), ep.port);
	d->act_fds[d->nact] = fd;
	return d->act_urls[d->nact++];
}

/*
 * Replace the config and reload with SIGHUP, waiting for RELOADING=1 and
 * then READY=1; endpoints logged since then replace those of the same
 * instance, type and family.  d->last_status holds the STATUS= line.
 */
void
hs_reload(struct hs_daemon *d, const char *conf)
{
	long	start = hs_file_size(d->log_path);

	cr_assert(d->running, "harness: reload of a daemon that is not "
	    "running");
	hs_write_conf(d->conf_path, conf);
	hs_notify_read(d);
	d->ready = d->reloading = 0;
	d->last_status[0] = '\0';
	/* SIGCONT too, for a test that stopped the daemon to queue work. */
	cr_assert(kill(d->pid, SIGHUP) == 0 && kill(d->pid, SIGCONT) == 0,
	    "kill: %s", strerror(errno));
	cr_assert(hs_wait_notify(d, "RELOADING=1", hs_ms(10000)) == 0,
	    "no RELOADING=1 after SIGHUP (%s)", d->running ? "still running" :
	    hs_describe_status(d->status));
	cr_assert(hs_wait_notify(d, "READY=1", hs_ms(10000)) == 0,
	    "no READY=1 after RELOADING=1 (%s)", d->running ?
	    "still running" : hs_describe_status(d->status));
	d->log_start = start;
	d->reloads++;
	hs_parse_log(d, start);
}

/*
 * n distinct ports that are free now on the loopback address of family,
 * for configs that need a fixed port (a reload keeps only those).  They
 * are held until all are picked, then released: another process could
 * take one in between, a small race accepted for these few tests.
 */
void
hs_free_ports(int type, int family, int *ports, size_t n)
{
	struct hs_endpoint	 ep;
	int			 fds[16];
	socklen_t		 len;
	size_t			 i;

	cr_assert(n <= sizeof(fds) / sizeof(fds[0]), "harness: too many");
	for (i = 0; i < n; i++) {
		memset(&ep, 0, sizeof(ep));
		hs_parse_url(family == AF_INET6 ? "tcp://[::1]:0" :
		    "tcp://127.0.0.1:0", &ep, 1);
		len = ep.addrlen;
		fds[i] = socket(family, type | SOCK_CLOEXEC, 0);
		cr_assert(fds[i] != -1 && bind(fds[i],
		    (struct sockaddr *)&ep.addr, ep.addrlen) == 0 &&
		    getsockname(fds[i], (struct sockaddr *)&ep.addr,
		    &len) == 0, "harness: bind: %s", strerror(errno));
		ports[i] = ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&ep.addr)->sin_port :
		    ((struct sockaddr_in6 *)&ep.addr)->sin6_port);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* hs_new() + hs_start(). */
struct hs_daemon *
hs_spawn(const char *conf)
{
	struct hs_daemon	*d = hs_new();

	hs_start(d, conf);
	return d;
}

/* Send a signal to the running daemon. */
int
hs_signal(struct hs_daemon *d, int sig)
{
	if (!d->running)
		return -1;
	return kill(d->pid, sig);
}

/*
 * Start the daemon on conf and expect it to fail: it must exit without
 * READY=1 within 10 s.  Returns its exit code (-1: killed by a signal).
 */
int
hs_start_fails(struct hs_daemon *d, const char *conf)
{
	hs_launch(d, conf);
	if (hs_reap(d, hs_ms(10000)) == -1) {
		hs_stop(d, 1000);
		cr_assert_fail("harness: %s still running, expected it to "
		    "fail at start (log: %s)", hs_bin(), d->log_path);
	}
	hs_notify_read(d);
	cr_assert(!d->ready, "harness: READY=1 from a start that failed");
	return WIFEXITED(d->status) ? WEXITSTATUS(d->status) : -1;
}

/* Wait for the daemon to exit; 0 and d->status set, or -1 on timeout. */
int
hs_wait_exit(struct hs_daemon *d, int timeout_ms)
{
	return hs_reap(d, timeout_ms);
}

/*
 * SIGTERM, then wait up to timeout_ms.  Returns the wait status, or -1
 * if the daemon had to be killed.
 */
int
hs_stop(struct hs_daemon *d, int timeout_ms)
{
	if (!d->running)
		return d->status;
	kill(d->pid, SIGTERM);
	if (hs_reap(d, timeout_ms) == 0)
		return d->status;
	kill(d->pid, SIGKILL);
	hs_reap(d, 5000);
	return -1;
}

/* Stop the daemon and require a clean exit 0 within 10 s. */
void
hs_stop_ok(struct hs_daemon *d)
{
	int	status = hs_stop(d, hs_ms(10000));

	cr_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0,
	    "netsvcd after SIGTERM: %s, expected exit 0 (log: %s)",
	    hs_describe_status(status), d->log_path);
}

/* The daemon's stderr so far (last 1 MiB), NUL-terminated; free() it. */
char *
hs_log(struct hs_daemon *d)
{
	char	*text = hs_read_file(d->log_path, -1, 1024 * 1024, NULL);

	cr_assert(text != NULL, "harness: cannot read %s", d->log_path);
	return text;
}

/* Whether the daemon's stderr so far (hs_log) holds text. */
int
hs_log_has(struct hs_daemon *d, const char *text)
{
	char	*log = hs_log(d);
	int	 found = strstr(log, text) != NULL;

	free(log);
	return found;
}

/* Occurrences of text in the daemon's log. */
int
hs_log_count(struct hs_daemon *d, const char *text)
{
	char	*log = hs_log(d), *p;
	int	 n = 0;

	for (p = log; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(log);
	return n;
}

/* Poll the daemon's log for text for up to timeout_ms; whether it came. */
int
hs_log_wait(struct hs_daemon *d, const char *text, int timeout_ms)
{
	int64_t		deadline = hs_now_ms() + timeout_ms;
	unsigned int	rounds;

	for (rounds = 0; rounds < 100000; rounds++) {
		if (hs_log_has(d, text))
			return 1;
		if (hs_now_ms() > deadline)
			break;
		poll(NULL, 0, 20);
	}
	return 0;
}

/* Test .fini: stop what is still running and release everything. */
void
hs_teardown(void)
{
	struct hs_daemon	*d;
	size_t			 i, j;

	for (i = 0; i < hs_ndaemons; i++) {
		d = hs_daemons[i];
		if (d->running) {
			/* A failed test may leave clients open: no waiting. */
			kill(d->pid, SIGTERM);
			if (hs_reap(d, hs_ms(2000)) == -1) {
				kill(d->pid, SIGKILL);
				hs_reap(d, 5000);
			}
		}
		if (d->pidfd != -1)
			close(d->pidfd);
		if (d->notify_fd != -1)
			close(d->notify_fd);
		for (j = 0; j < d->nact; j++)
			close(d->act_fds[j]);
		unlink(d->notify_path);
		for (j = 0; j < d->nfiles; j++)
			free(d->files[j]);
		free(d);
		hs_daemons[i] = NULL;
	}
	hs_ndaemons = 0;
}

/* ---- Endpoints ---- */

/* Parse "tcp://127.0.0.1:5000" or "udp://[::1]:5000". */
static int
hs_parse_url(const char *url, struct hs_endpoint *ep, int port0)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ep->addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ep->addr;
	char			 host[64];
	const char		*p, *end;
	char			*ep_end;
	long			 port;
	size_t			 len;

	memset(&ep->addr, 0, sizeof(ep->addr));
	if (strncmp(url, "tcp://", 6) == 0)
		ep->type = SOCK_STREAM;
	else if (strncmp(url, "udp://", 6) == 0)
		ep->type = SOCK_DGRAM;
	else
		return -1;
	p = url + 6;
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL || end[1] != ':')
			return -1;
		p++;
		len = (size_t)(end - p);
		end++;
	} else {
		if ((end = strrchr(p, ':')) == NULL)
			return -1;
		len = (size_t)(end - p);
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, p, len);
	host[len] = '\0';
	port = strtol(end + 1, &ep_end, 10);
	if (port < (port0 ? 0 : 1) || port > 65535 || ep_end == end + 1)
		return -1;
	ep->port = (int)port;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		ep->family = sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		ep->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		ep->family = sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		ep->addrlen = sizeof(*sin6);
	} else
		return -1;
	return 0;
}

/*
 * Collect the "instance NAME listening on URL" lines of the log from byte
 * start on.  After a reload, a line replaces the older generation's entry
 * of the same instance, type and family (the endpoint moved); other lines
 * are added.
 */
static void
hs_parse_log(struct hs_daemon *d, long start)
{
	static const char	 key[] = " listening on ";
	struct hs_endpoint	 ep;
	char			*text, *line, *save, *at, *name, *url;
	size_t			 i, len;
	int			 dup;

	text = hs_read_file(d->log_path, start, 1024 * 1024, NULL);
	cr_assert(text != NULL, "harness: cannot read %s", d->log_path);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((at = strstr(line, key)) == NULL)
			continue;
		*at = '\0';
		if ((name = strstr(line, "instance ")) == NULL)
			continue;
		name += strlen("instance ");
		url = at + strlen(key);
		url[strcspn(url, " \t\r")] = '\0';
		memset(&ep, 0, sizeof(ep));
		len = strlen(name);
		if (len == 0 || len >= sizeof(ep.instance) ||
		    strlen(url) >= sizeof(ep.url) ||
		    hs_parse_url(url, &ep, 0) == -1)
			continue;
		memcpy(ep.instance, name, len + 1);
		snprintf(ep.url, sizeof(ep.url), "%s", url);
		ep.gen = d->reloads;
		for (dup = 0, i = 0; i < d->neps && !dup; i++) {
			if (strcmp(d->eps[i].instance, ep.instance) != 0)
				continue;
			if (strcmp(d->eps[i].url, ep.url) == 0)
				dup = 1;
			else if (d->eps[i].gen < d->reloads &&
			    d->eps[i].type == ep.type &&
			    d->eps[i].family == ep.family) {
				d->eps[i] = ep;
				dup = 1;
			}
		}
		if (!dup && d->neps < HS_MAX_ENDPOINTS)
			d->eps[d->neps++] = ep;
	}
	free(text);
}

/* Find an endpoint of an instance, or fail listing what is known. */
const struct hs_endpoint *
hs_endpoint(struct hs_daemon *d, const char *instance, int type, int family)
{
	char		 known[1024];
	size_t		 i, off = 0;
	unsigned int	 pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < d->neps; i++)
			if (strcmp(d->eps[i].instance, instance) == 0 &&
			    d->eps[i].type == type &&
			    d->eps[i].family == family)
				return &d->eps[i];
		/* The lines precede READY=1, but read once more anyway. */
		hs_parse_log(d, d->log_start);
	}
	known[0] = '\0';
	for (i = 0; i < d->neps && off < sizeof(known) - 1; i++)
		off += (size_t)snprintf(known + off, sizeof(known) - off,
		    " %s=%s", d->eps[i].instance, d->eps[i].url);
	cr_assert_fail("harness: no \"instance %s listening on %s://%s\" "
	    "line in %s; known:%s", instance,
	    type == SOCK_STREAM ? "tcp" : "udp", hs_family_name(family),
	    d->log_path, known[0] != '\0' ? known : " none");
	return NULL;
}
