/*
 * harness.c: the integration tests' service manager.  It writes a config,
 * binds an AF_UNIX datagram socket for sd_notify(3), starts netsvcd with
 * NOTIFY_SOCKET pointing at it and stderr going to a log file, waits for
 * READY=1 with poll(), then reads the "listening on" lines to learn the
 * ports.  Nothing here sleeps to wait for the daemon: every wait is a poll()
 * on the notify socket, a pidfd or a client socket, bounded in time, and
 * every loop is bounded in rounds too.
 *
 * Criterion runs each test in a worker process.  The runner creates one run
 * directory (PRE_ALL hook) and passes it down in the environment; workers
 * put each daemon in <run>/<suite>.<test>.<n>/.  When a test fails, the
 * runner prints that test's daemon logs (POST_FINI and TEST_CRASH hooks),
 * and it removes the run directory at the end unless NETSVCD_KEEP is set.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "harness.h"

#ifndef NETSVCD_BIN
#define NETSVCD_BIN	""
#endif
#ifndef NETSVCD_SRCDIR
#define NETSVCD_SRCDIR	"."
#endif

#define HS_RUNDIR_ENV	"NETSVCD_ITEST_RUNDIR"
#define HS_MAX_DAEMONS	64
#define HS_MAX_ARGS	48
#define HS_MAX_ROUNDS	(1U << 22)	/* poll/IO rounds per transfer */
#define HS_RUN_CAP	(1024 * 1024)	/* bytes kept per captured stream */
#define HS_LOG_SHOW	(64 * 1024)	/* tail of a log printed on failure */

/* 1900-01-01 to 1970-01-01 in seconds, the offset of RFC 868. */
#define HS_RFC868_EPOCH	2208988800U

static int	 hs_argv(const char **, size_t, const char *const *, size_t);
static void	 hs_child_env(const char *notify);
static void	 hs_child_journal(void);
static void	 hs_child_exec(const char **, int);
static void	 hs_child_listen_fds(struct hs_daemon *);
static int	 hs_pidfd(pid_t);
static int	 hs_waitpid(pid_t, int *, int *, int);
static int	 hs_reap(struct hs_daemon *, int);
static void	 hs_notify_read(struct hs_daemon *);
static int	 hs_notify_seen(struct hs_daemon *, const char *);
static void	 hs_parse_log(struct hs_daemon *, long);
static int	 hs_parse_url(const char *, struct hs_endpoint *, int);
static int	 hs_udp_port_used(int);
static int	 hs_connect_udp(const struct hs_endpoint *);
static void	 hs_write_file(const char *, const void *, size_t);
static void	 hs_write_conf(const char *, const char *);
static char	*hs_read_file(const char *, long, size_t, size_t *);
static long	 hs_file_size(const char *);
static void	 hs_mkdir(char *, size_t);
static int	 hs_rm_entry(const char *, const struct stat *, int,
		    struct FTW *);
static void	 hs_rm_tree(const char *);
static void	 hs_print_logs(const struct criterion_test *);
static long	 hs_status_kib(struct hs_daemon *, const char *);
static const char *hs_describe_status(int);
static const char *hs_check_chargen(const char *, size_t, int);
static int	 hs_cycle(int, int);
static uint64_t	 hs_splitmix(uint64_t);

static struct hs_daemon	*hs_daemons[HS_MAX_DAEMONS];
static size_t		 hs_ndaemons;
static unsigned int	 hs_seq;
static char		 hs_rundir[128];	/* runner side only */

/* ---- Runner side: the run directory and failure reports ---- */

/* Create the run directory before any worker starts. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	const char	*tmp = getenv("TMPDIR");
	char		 tmpl[sizeof(hs_rundir)];

	(void)set;
	/* The notify socket path must fit in sun_path: keep it short. */
	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 40)
		tmp = "/tmp";
	if (snprintf(tmpl, sizeof(tmpl), "%s/netsvcd-itest.XXXXXX", tmp) >=
	    (int)sizeof(tmpl) || mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl,
		    strerror(errno));
		return;
	}
	/* A daemon that dropped privileges still reads its config. */
	chmod(tmpl, 0755);
	memcpy(hs_rundir, tmpl, sizeof(hs_rundir));
	setenv(HS_RUNDIR_ENV, hs_rundir, 1);
}

/* A failed or timed-out test: show what its daemons logged. */
ReportHook(POST_FINI)(struct criterion_test_stats *st)
{
	if (st->test_status == CR_STATUS_FAILED || st->crashed ||
	    st->timed_out)
		hs_print_logs(st->test);
}

/* A crashed test never reaches POST_FINI. */
ReportHook(TEST_CRASH)(struct criterion_test_stats *st)
{
	hs_print_logs(st->test);
}

/* Remove the run directory unless asked to keep it. */
ReportHook(POST_ALL)(struct criterion_global_stats *st)
{
	(void)st;
	if (hs_rundir[0] == '\0')
		return;
	if (getenv("NETSVCD_KEEP") != NULL) {
		fprintf(stderr, "harness: logs kept in %s\n", hs_rundir);
		return;
	}
	hs_rm_tree(hs_rundir);
}

/* Print the tail of each daemon.log under <run>/<suite>.<test>.* */
static void
hs_print_logs(const struct criterion_test *t)
{
	DIR		*dir;
	struct dirent	*de;
	char		 prefix[256], path[PATH_MAX];
	char		*text;
	size_t		 plen, len, n = 0;

	if (hs_rundir[0] == '\0' || t == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%s.%s.", t->category, t->name);
	plen = strlen(prefix);
	if ((dir = opendir(hs_rundir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL && n++ < 1000) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/daemon.log",
		    hs_rundir, de->d_name) >= (int)sizeof(path))
			continue;
		if ((text = hs_read_file(path, -1, HS_LOG_SHOW, &len)) == NULL)
			continue;
		fprintf(stderr, "---- %s (last %zu bytes) ----\n%s%s"
		    "---- end of %s ----\n", path, len, text,
		    len > 0 && text[len - 1] != '\n' ? "\n" : "", path);
		free(text);
	}
	closedir(dir);
}

/* nftw(3) callback of hs_rm_tree(). */
static int
hs_rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* rm -r, best effort. */
static void
hs_rm_tree(const char *path)
{
	nftw(path, hs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Paths and knobs ---- */

/* The daemon binary: $NETSVCD_BIN, else the one CMake built. */
const char *
hs_bin(void)
{
	const char	*env = getenv("NETSVCD_BIN");

	if (env != NULL && *env != '\0')
		return env;
	return NETSVCD_BIN;
}

/* The source tree: $NETSVCD_SRCDIR, else the one CMake configured. */
const char *
hs_srcdir(void)
{
	const char	*env = getenv("NETSVCD_SRCDIR");

	if (env != NULL && *env != '\0')
		return env;
	return NETSVCD_SRCDIR;
}

/* True when the daemon runs under a wrapper such as valgrind. */
int
hs_wrapped(void)
{
	const char	*env = getenv("NETSVCD_WRAPPER");

	return env != NULL && *env != '\0';
}

/* Scale a timeout: wrappers like valgrind make the daemon much slower. */
int
hs_ms(int ms)
{
	const char	*env = getenv("NETSVCD_TIMEOUT_SCALE");
	long		 scale = hs_wrapped() ? 5 : 1;

	if (env != NULL && *env != '\0') {
		scale = strtol(env, NULL, 10);
		if (scale < 1 || scale > 100)
			scale = 1;
	}
	return (int)(ms * scale);
}

/* Milliseconds on the monotonic clock. */
int64_t
hs_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Daemon life cycle ---- */

/* Make a fresh directory for one daemon (or one set of files). */
static void
hs_mkdir(char *dir, size_t len)
{
	const char	*run = getenv(HS_RUNDIR_ENV);
	const struct criterion_test *t = criterion_current_test;
	char		 tmpl[] = "/tmp/netsvcd-itest.XXXXXX";

	if (run != NULL && *run != '\0' && t != NULL) {
		snprintf(dir, len, "%s/%s.%s.%u", run, t->category, t->name,
		    ++hs_seq);
		if (mkdir(dir, 0755) == 0)
			return;
		cr_assert_fail("harness: mkdir %s: %s", dir, strerror(errno));
	}
	if (mkdtemp(tmpl) == NULL)
		cr_assert_fail("harness: mkdtemp: %s", strerror(errno));
	chmod(tmpl, 0755);
	snprintf(dir, len, "%s", tmpl);
}

/* Write a whole file or fail the test. */
static void
hs_write_file(const char *path, const void *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		cr_assert_fail("harness: %s: %s", path, strerror(errno));
	if ((len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		cr_assert_fail("harness: write %s failed", path);
}

/*
 * Read up to cap bytes of a file from offset start, or its last cap bytes
 * when start is -1; NUL-terminated, NULL if there is no such file.
 */
static char *
hs_read_file(const char *path, long start, size_t cap, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 size;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (start >= 0)
		fseek(f, start, SEEK_SET);
	else if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
	    (size_t)size > cap)
		fseek(f, size - (long)cap, SEEK_SET);
	else
		rewind(f);
	if ((buf = malloc(cap + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, cap, f);
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = n;
	return buf;
}

/* Size of a file, 0 if it does not exist. */
static long
hs_file_size(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

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
 * Build argv: the words of $NETSVCD_WRAPPER, the binary, then args.
 * Returns the count, or -1 if it does not fit.
 */
static int
hs_argv(const char **argv, size_t max, const char *const *args, size_t nargs)
{
	static char	 wrapper[1024];
	const char	*env = getenv("NETSVCD_WRAPPER");
	char		*word, *save;
	size_t		 n = 0, i;

	if (env != NULL && *env != '\0') {
		snprintf(wrapper, sizeof(wrapper), "%s", env);
		for (word = strtok_r(wrapper, " \t", &save); word != NULL;
		    word = strtok_r(NULL, " \t", &save)) {
			if (n + 1 >= max)
				return -1;
			argv[n++] = word;
		}
	}
	if (n + 1 + nargs + 1 > max)
		return -1;
	argv[n++] = hs_bin();
	for (i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return (int)n;
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

/* In a child: the environment of a service started by systemd, no more. */
static void
hs_child_env(const char *notify)
{
	sigset_t	 set;

	unsetenv("JOURNAL_STREAM");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (notify != NULL)
		setenv("NOTIFY_SOCKET", notify, 1);
	else
		unsetenv("NOTIFY_SOCKET");
	/* The test ignores SIGPIPE; the daemon must cope without that. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

/*
 * In a child: close what the test runner left open, except the first keep
 * descriptors from 3 on (LISTEN_FDS), and exec argv.
 */
static void
hs_child_exec(const char **argv, int keep)
{
	int	fd;

	if (close_range(3 + (unsigned int)keep, ~0U, 0) == -1)
		for (fd = 3 + keep; fd < 4096; fd++)
			close(fd);
	execvp(argv[0], (char *const *)(uintptr_t)argv);
	fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* A pidfd for poll(), or -1 where the kernel has none. */
static int
hs_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/*
 * Wait up to timeout_ms for pid to exit.  Returns 0 and fills *status, or
 * -1 on timeout.  With a pidfd this is one poll(); without, poll() slices.
 */
static int
hs_waitpid(pid_t pid, int *pidfd, int *status, int timeout_ms)
{
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	struct pollfd	 pfd;
	unsigned int	 rounds;
	pid_t		 r;

	for (rounds = 0; rounds < 100000; rounds++) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r == -1 && errno == ECHILD)) {
			if (*pidfd != -1) {
				close(*pidfd);
				*pidfd = -1;
			}
			if (r == -1)
				*status = -1;
			return 0;
		}
		if ((left = deadline - hs_now_ms()) <= 0)
			return -1;
		if (*pidfd != -1) {
			pfd.fd = *pidfd;
			pfd.events = POLLIN;
			poll(&pfd, 1, (int)left);
		} else
			poll(NULL, 0, left < 20 ? (int)left : 20);
	}
	return -1;
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
 * has none), so a whole suite can run against a multi-threaded daemon.
 */
static void
hs_write_conf(const char *path, const char *conf)
{
	const char	*n = getenv("NETSVCD_WORKERS"), *sec;
	char		*text;
	size_t		 at;
	int		 len;

	if (n == NULL || *n == '\0') {
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

/* ---- Clients ---- */

/* Whether port is a UDP port of a daemon of this test. */
static int
hs_udp_port_used(int port)
{
	size_t	i, j;

	for (i = 0; i < hs_ndaemons; i++)
		for (j = 0; j < hs_daemons[i]->neps; j++)
			if (hs_daemons[i]->eps[j].type == SOCK_DGRAM &&
			    hs_daemons[i]->eps[j].port == port)
				return 1;
	return 0;
}

/*
 * A connected UDP socket whose own port is none of the daemons' UDP
 * ports.  netsvcd never answers a source port that one of its UDP
 * services uses, whatever the address (no echo <-> chargen loops), and
 * with port 0 its ports come from the same ephemeral range as ours.
 */
static int
hs_connect_udp(const struct hs_endpoint *ep)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	unsigned int		 attempt;
	int			 fd, port;

	for (attempt = 0; attempt < 32; attempt++) {
		fd = socket(ep->family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		len = sizeof(ss);
		if (connect(fd, (const struct sockaddr *)&ep->addr,
		    ep->addrlen) == -1 || getsockname(fd,
		    (struct sockaddr *)&ss, &len) == -1) {
			hs_close(fd);
			return -1;
		}
		port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		if (!hs_udp_port_used(port))
			return fd;
		close(fd);
	}
	errno = EADDRINUSE;
	return -1;
}

/* A connected non-blocking socket to ep, or -1 with errno. */
int
hs_connect_ep(const struct hs_endpoint *ep, int timeout_ms)
{
	struct pollfd	 pfd;
	socklen_t	 len = sizeof(int);
	int		 fd, error = 0, r;

	if (ep->type == SOCK_DGRAM)
		return hs_connect_udp(ep);
	fd = socket(ep->family, ep->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&ep->addr,
	    ep->addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if ((r = poll(&pfd, 1, timeout_ms)) <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		goto fail;
	if (error != 0) {
		errno = error;
		goto fail;
	}
	return fd;
fail:
	error = errno;
	close(fd);
	errno = error;
	return -1;
}

/* Connect to an instance's endpoint or fail the test. */
int
hs_connect(struct hs_daemon *d, const char *instance, int type, int family)
{
	const struct hs_endpoint	*ep;
	int				 fd;

	ep = hs_endpoint(d, instance, type, family);
	fd = hs_connect_ep(ep, hs_ms(5000));
	cr_assert(fd != -1, "connect to instance %s at %s: %s", instance,
	    ep->url, strerror(errno));
	return fd;
}

/*
 * Run one transfer (see struct hs_xfer).  Returns 0, or -1 with errno:
 * ETIMEDOUT, EMSGSIZE (more than incap bytes before EOF) or a socket error.
 */
int
hs_xfer(int fd, struct hs_xfer *x, int timeout_ms)
{
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	const char	*out = x->out;
	char		*in = x->in, extra;
	struct pollfd	 pfd;
	unsigned int	 rounds;
	size_t		 chunk;
	ssize_t		 n;
	int		 shut = 0, want_out, want_in, progress;

	x->sent = x->inlen = 0;
	x->eof = 0;
	for (rounds = 0; rounds < HS_MAX_ROUNDS; rounds++) {
		want_out = x->sent < x->outlen;
		if (!want_out && x->shut_wr && !shut) {
			if (shutdown(fd, SHUT_WR) == -1)
				return -1;
			shut = 1;
		}
		want_in = !x->eof && (x->until_eof || x->inlen < x->incap);
		if (!want_out && !want_in)
			return 0;
		progress = 0;
		if (want_out) {
			chunk = x->outlen - x->sent;
			if (chunk > 256 * 1024)
				chunk = 256 * 1024;
			n = send(fd, out + x->sent, chunk,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				x->sent += (size_t)n;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (want_in) {
			if (x->inlen < x->incap)
				n = recv(fd, in + x->inlen,
				    x->incap - x->inlen, MSG_DONTWAIT);
			else
				n = recv(fd, &extra, 1, MSG_DONTWAIT);
			if (n > 0 && x->inlen == x->incap) {
				errno = EMSGSIZE;
				return -1;
			}
			if (n > 0) {
				x->inlen += (size_t)n;
				progress = 1;
			} else if (n == 0) {
				x->eof = 1;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if ((left = deadline - hs_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (progress)
			continue;
		pfd.fd = fd;
		pfd.events = (want_out ? POLLOUT : 0) | (want_in ? POLLIN : 0);
		poll(&pfd, 1, (int)left);
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Send all of buf. */
int
hs_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	struct hs_xfer	x = { .out = buf, .outlen = len };

	return hs_xfer(fd, &x, timeout_ms);
}

/* Read len bytes, fewer only at EOF; -1 on error or timeout. */
ssize_t
hs_recv_n(int fd, void *buf, size_t len, int timeout_ms)
{
	struct hs_xfer	x = { .in = buf, .incap = len };

	if (hs_xfer(fd, &x, timeout_ms) == -1)
		return -1;
	return (ssize_t)x.inlen;
}

/* Read until EOF, at most cap bytes; -1 on error, timeout or overflow. */
ssize_t
hs_read_eof(int fd, void *buf, size_t cap, int timeout_ms)
{
	struct hs_xfer	x = { .in = buf, .incap = cap, .until_eof = 1 };

	if (hs_xfer(fd, &x, timeout_ms) == -1)
		return -1;
	return (ssize_t)x.inlen;
}

/* Discard input until EOF or reset: 0, or -1 on timeout or 64 MiB read. */
int
hs_wait_closed(int fd, int timeout_ms)
{
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	struct pollfd	 pfd;
	char		 buf[16384];
	unsigned int	 rounds;
	ssize_t		 n;

	for (rounds = 0; rounds < 4096; rounds++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return 0;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return 0;
		if ((left = deadline - hs_now_ms()) <= 0)
			break;
		if (n > 0)
			continue;
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, (int)left);
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * Send one datagram on a connected UDP socket and wait for one reply.
 * Returns the reply's length (which may exceed len: MSG_TRUNC), or -1.
 */
ssize_t
hs_udp_ask(int fd, const void *out, size_t outlen, void *in, size_t len,
    int timeout_ms)
{
	if (send(fd, out, outlen, MSG_NOSIGNAL) != (ssize_t)outlen)
		return -1;
	return hs_udp_recv(fd, in, len, timeout_ms);
}

/* Wait for one datagram; its full length (MSG_TRUNC), or -1. */
ssize_t
hs_udp_recv(int fd, void *in, size_t len, int timeout_ms)
{
	struct pollfd	 pfd;
	int		 r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if ((r = poll(&pfd, 1, timeout_ms)) <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	return recv(fd, in, len, MSG_TRUNC | MSG_DONTWAIT);
}

/* 1 if no datagram arrives within timeout_ms, 0 if one does. */
int
hs_udp_silent(int fd, int timeout_ms)
{
	struct pollfd	 pfd;
	char		 buf[1];

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) == 0)
		return 1;
	(void)recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	return 0;
}

/* close(2) that keeps errno out of the way. */
void
hs_close(int fd)
{
	int	saved = errno;

	if (fd != -1)
		close(fd);
	errno = saved;
}

/* ---- The daemon as seen from /proc ---- */

/* A "Key:  N kB" field of /proc/PID/status, or -1. */
static long
hs_status_kib(struct hs_daemon *d, const char *key)
{
	char		 path[64], line[256];
	FILE		*f;
	size_t		 klen = strlen(key);
	long		 kib = -1;
	unsigned int	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)d->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL && n++ < 200)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kib = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/* Resident set size in KiB, or -1. */
long
hs_rss_kib(struct hs_daemon *d)
{
	return hs_status_kib(d, "VmRSS");
}

/* Peak resident set size in KiB, or -1. */
long
hs_hwm_kib(struct hs_daemon *d)
{
	return hs_status_kib(d, "VmHWM");
}

/* Number of open descriptors, or -1. */
int
hs_nfds(struct hs_daemon *d)
{
	char		 path[64];
	DIR		*dir;
	struct dirent	*de;
	int		 n = 0;
	unsigned int	 rounds = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)d->pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL && rounds++ < 100000)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* User + system CPU time used so far, in ms, or -1. */
long
hs_cpu_ms(struct hs_daemon *d)
{
	char			 path[64], buf[1024], *p;
	FILE			*f;
	unsigned long		 utime, stime;
	size_t			 n;
	long			 hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)d->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends field 2. */
	if ((p = strrchr(buf, ')')) == NULL || hz <= 0 ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &utime, &stime) != 2)
		return -1;
	return (long)((utime + stime) * 1000 / (unsigned long)hz);
}

/* ---- Running the binary as a command ---- */

/*
 * Run the daemon binary with the NULL-terminated string arguments, no
 * NOTIFY_SOCKET, and capture stdout, stderr and the exit code.  Returns 0,
 * or -1 if it did not finish within timeout_ms (it is then killed).
 */
int
hs_run(struct hs_result *res, int timeout_ms, ...)
{
	const char	*args[HS_MAX_ARGS], *argv[HS_MAX_ARGS];
	struct pollfd	 pfd[2];
	char		**bufs[2], buf[4096];
	size_t		*lens[2], nargs = 0, i;
	int64_t		 deadline = hs_now_ms() + timeout_ms, left;
	int		 out[2], err[2], fds[2], pidfd, open_fds = 2;
	unsigned int	 rounds;
	va_list		 ap;
	ssize_t		 n;
	pid_t		 pid;

	signal(SIGPIPE, SIG_IGN);
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	va_start(ap, timeout_ms);
	while ((args[nargs] = va_arg(ap, const char *)) != NULL)
		cr_assert(++nargs < HS_MAX_ARGS, "harness: too many args");
	va_end(ap);
	cr_assert(*hs_bin() != '\0', "harness: NETSVCD_BIN is not set");
	cr_assert(hs_argv(argv, HS_MAX_ARGS, args, nargs) > 0,
	    "harness: too many args");
	res->out = calloc(1, HS_RUN_CAP + 1);
	res->err = calloc(1, HS_RUN_CAP + 1);
	cr_assert(res->out != NULL && res->err != NULL, "out of memory");
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0,
	    "harness: pipe: %s", strerror(errno));

	if ((pid = fork()) == -1)
		cr_assert_fail("harness: fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		if ((fds[0] = open("/dev/null", O_RDONLY)) != -1)
			dup2(fds[0], STDIN_FILENO);
		hs_child_env(NULL);
		hs_child_exec(argv, 0);
	}
	close(out[1]);
	close(err[1]);
	pidfd = hs_pidfd(pid);
	fds[0] = out[0];
	fds[1] = err[0];
	bufs[0] = &res->out;
	bufs[1] = &res->err;
	lens[0] = &res->outlen;
	lens[1] = &res->errlen;

	for (rounds = 0; open_fds > 0 && rounds < 100000; rounds++) {
		if ((left = deadline - hs_now_ms()) <= 0)
			break;
		for (i = 0; i < 2; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, 2, (int)left) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (fds[i] == -1 || pfd[i].revents == 0)
				continue;
			n = read(fds[i], buf, sizeof(buf));
			if (n <= 0) {
				close(fds[i]);
				fds[i] = -1;
				open_fds--;
				continue;
			}
			if ((size_t)n > HS_RUN_CAP - *lens[i])
				n = (ssize_t)(HS_RUN_CAP - *lens[i]);
			memcpy(*bufs[i] + *lens[i], buf, (size_t)n);
			*lens[i] += (size_t)n;
		}
	}
	for (i = 0; i < 2; i++)
		if (fds[i] != -1)
			close(fds[i]);
	left = deadline - hs_now_ms();
	if (hs_waitpid(pid, &pidfd, &res->status,
	    left > 0 ? (int)left : 0) == -1) {
		kill(pid, SIGKILL);
		hs_waitpid(pid, &pidfd, &res->status, 5000);
		if (pidfd != -1)
			close(pidfd);
		res->status = -1;
		return -1;
	}
	if (res->status != -1 && WIFEXITED(res->status))
		res->exit_code = WEXITSTATUS(res->status);
	return 0;
}

/* Free what hs_run() captured. */
void
hs_result_free(struct hs_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

/* ---- The services fixture ---- */

/* The quotes file of instance "qotd": three quotes, "%" lines between. */
const char *const hs_quotes[HS_NQUOTES] = {
	"Every loop needs a bound.",
	"Measure twice, cut once.",
	"A quote that spans\ntwo lines of the file.",
};

/* "Network programming test." in Chinese, the tutorial's greeting. */
const char hs_banner_utf8[] = "\xe7\xbd\x91\xe7\xbb\x9c\xe7\xbc\x96"
    "\xe7\xa8\x8b\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x82\r\n";
const char hs_banner_file[] = "from a file\r\nsecond line\r\n";
const char hs_banner_esc[] = "tab\there\x21 back\\slash\r\n";

#define HS_LISTEN_ALL	"listen = tcp://127.0.0.1:0 tcp://[::1]:0 " \
			"udp://127.0.0.1:0 udp://[::1]:0\n"

/* Start the services fixture described in harness.h. */
struct hs_daemon *
hs_spawn_services(void)
{
	struct hs_daemon	*d = hs_new();
	const char		*quotes, *message;
	char			 text[512], *conf;
	int			 n;

	n = snprintf(text, sizeof(text), "%s\n%%\n%s\n%%\n%s\n",
	    hs_quotes[0], hs_quotes[1], hs_quotes[2]);
	quotes = hs_file(d, "quotes.txt", text, (size_t)n);
	message = hs_file(d, "banner.txt", hs_banner_file,
	    strlen(hs_banner_file));
	n = asprintf(&conf,
	    "[daemon]\n"
	    "max_connections = 512\n"
	    "shutdown_timeout = 5s\n"
	    "\n"
	    "[echo]\nservice = echo\n" HS_LISTEN_ALL "\n"
	    "[discard]\nservice = discard\n" HS_LISTEN_ALL "\n"
	    "[chargen]\nservice = chargen\n" HS_LISTEN_ALL "\n"
	    "[daytime]\nservice = daytime\n" HS_LISTEN_ALL "\n"
	    "[time]\nservice = time\n" HS_LISTEN_ALL "\n"
	    "[qotd]\nservice = qotd\n" HS_LISTEN_ALL
	    "quotes_file = %s\n\n"
	    "[banner]\nservice = banner\n" HS_LISTEN_ALL
	    "message = \xe7\xbd\x91\xe7\xbb\x9c\xe7\xbc\x96\xe7\xa8\x8b"
	    "\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x82\\r\\n\n\n"
	    "[banner_file]\nservice = banner\n" HS_LISTEN_ALL
	    "message_file = %s\n\n"
	    "[banner_esc]\nservice = banner\n" HS_LISTEN_ALL
	    "message = tab\\there\\x21 back\\\\slash\\r\\n\n\n"
	    "[daytime_fmt]\nservice = daytime\n" HS_LISTEN_ALL
	    "format = %%Y-%%m-%%dT%%H:%%M:%%SZ\nutc = yes\n",
	    quotes, message);
	cr_assert(n != -1, "harness: out of memory");
	hs_start(d, conf);
	free(conf);
	return d;
}

/* Which of hs_quotes the bytes are (CR dropped, end trimmed), or -1. */
int
hs_quote_index(const char *buf, size_t len)
{
	char	text[1024];
	size_t	i, n = 0;

	for (i = 0; i < len && n < sizeof(text) - 1; i++)
		if (buf[i] != '\r')
			text[n++] = buf[i];
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' ||
	    text[n - 1] == '\t'))
		n--;
	text[n] = '\0';
	for (i = 0; i < HS_NQUOTES; i++)
		if (strcmp(text, hs_quotes[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- Data and checks ---- */

/* SplitMix64, a tiny good PRNG step. */
static uint64_t
hs_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Fill buf with bytes offset .. offset+len-1 of the pseudo-random stream
 * named by seed, so a long stream can be checked piece by piece.
 */
void
hs_pattern(void *buf, size_t len, uint64_t seed, uint64_t offset)
{
	unsigned char	*p = buf;
	uint64_t	 pos, word = 0, block = UINT64_MAX;
	size_t		 i;

	seed = hs_splitmix(seed);
	for (i = 0; i < len; i++) {
		pos = offset + i;
		if (pos / 8 != block) {
			block = pos / 8;
			word = hs_splitmix(seed ^
			    (block * 0xd1342543de82ef95ULL));
		}
		p[i] = (unsigned char)(word >> (8 * (pos % 8)));
	}
}

/* Printable form of bytes for messages (at most ~200 shown). */
const char *
hs_show(const void *data, size_t len)
{
	static char		 ring[4][1024];
	static unsigned int	 next;
	const unsigned char	*p = data;
	char			*s = ring[next++ % 4];
	size_t			 i, off;

	off = (size_t)snprintf(s, 64, "%zu bytes \"", len);
	for (i = 0; i < len && i < 200; i++) {
		if (p[i] == '\r')
			off += (size_t)snprintf(s + off, 8, "\\r");
		else if (p[i] == '\n')
			off += (size_t)snprintf(s + off, 8, "\\n");
		else if (p[i] == '\\' || p[i] == '"')
			off += (size_t)snprintf(s + off, 8, "\\%c", p[i]);
		else if (p[i] >= 32 && p[i] < 127)
			s[off++] = (char)p[i];
		else
			off += (size_t)snprintf(s + off, 8, "\\x%02x", p[i]);
	}
	snprintf(s + off, 8, "\"%s", i < len ? "..." : "");
	return s;
}

/* "127.0.0.1" or "::1", for messages. */
const char *
hs_family_name(int family)
{
	return family == AF_INET6 ? "[::1]" : "127.0.0.1";
}

/* c + k in the cycle of the 95 printable characters 32..126 (RFC 864). */
static int
hs_cycle(int c, int k)
{
	return (c - 32 + k % 95 + 95) % 95 + 32;
}

/*
 * Check bytes against RFC 864's pattern: runs of printable characters, each
 * the next of the 95-character cycle, separated by CR LF; every complete
 * line is 72 characters and each line starts one character later than the
 * previous one.  With whole set, the bytes must be complete lines; without,
 * they may start and end anywhere in the pattern.
 */
static const char *
hs_check_chargen(const char *buf, size_t len, int whole)
{
	static char		 why[256];
	const unsigned char	*p = (const unsigned char *)buf;
	size_t			 i, run = 0, line = 0;
	int			 c, first = -1, prev_first = -1;
	int			 start_known = whole;

	if (whole && (len == 0 || len % 74 != 0))
		return "not a whole number of 74-byte lines";
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == '\r') {
			if (i + 1 < len && p[i + 1] != '\n')
				goto bad;
			if (i == 0 && !whole)
				continue;
			if (start_known ? run != 72 : run == 0 || run > 72) {
				snprintf(why, sizeof(why), "line %zu has %zu "
				    "characters, not 72", line, run);
				return why;
			}
			/* A line's first character, seen or worked out. */
			prev_first = start_known ? first :
			    hs_cycle(p[i - 1], -71);
			continue;
		}
		if (c == '\n') {
			if (i > 0 && p[i - 1] != '\r')
				goto bad;
			run = 0;
			start_known = 1;
			first = -1;
			line++;
			continue;
		}
		if (c < 32 || c > 126)
			goto bad;
		if (run == 0 && start_known) {
			if (prev_first != -1 && c != hs_cycle(prev_first, 1)) {
				snprintf(why, sizeof(why), "line %zu starts "
				    "with '%c', not one after '%c'", line, c,
				    prev_first);
				return why;
			}
			first = c;
		} else if (run > 0 && c != hs_cycle(p[i - 1], 1))
			goto bad;
		if (++run > 72) {
			snprintf(why, sizeof(why), "line %zu is longer than "
			    "72 characters", line);
			return why;
		}
	}
	if (whole && run != 0)
		return "does not end in CR LF";
	return NULL;
bad:
	snprintf(why, sizeof(why), "byte %zu (0x%02x) of line %zu breaks the "
	    "pattern", i, p[i], line);
	return why;
}

/* TCP chargen: complete 74-byte lines.  NULL when good, else why not. */
const char *
hs_check_chargen_tcp(const char *buf, size_t len)
{
	return hs_check_chargen(buf, len, 1);
}

/* UDP chargen: 0..512 bytes of the pattern.  NULL when good. */
const char *
hs_check_chargen_run(const char *buf, size_t len)
{
	if (len > 512)
		return "longer than 512 bytes";
	return hs_check_chargen(buf, len, 0);
}

/*
 * Daytime default format: "Wednesday, November 25, 2026 10:24:29-UTC\r\n",
 * and the time within 2 s of now.  NULL when good, else why not.
 */
const char *
hs_check_daytime(const char *buf, size_t len)
{
	static const char re_text[] = "^(Monday|Tuesday|Wednesday|Thursday|"
	    "Friday|Saturday|Sunday), (January|February|March|April|May|"
	    "June|July|August|September|October|November|December) "
	    "( ?[0-9]|[0-9]{2}), [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}-UTC$";
	static char	 why[128];
	char		 line[256];
	regex_t		 re;
	struct tm	 tm;
	time_t		 t, now = time(NULL);
	int		 r;

	if (len < 2 || len >= sizeof(line) || buf[len - 2] != '\r' ||
	    buf[len - 1] != '\n')
		return "not one line ending in CR LF";
	memcpy(line, buf, len - 2);
	line[len - 2] = '\0';
	if (strpbrk(line, "\r\n") != NULL)
		return "more than one line";
	if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
		return "harness: bad regex";
	r = regexec(&re, line, 0, NULL, 0);
	regfree(&re);
	if (r != 0)
		return "does not match \"DAYNAME, MONTHNAME DD, YYYY "
		    "HH:MM:SS-UTC\"";
	memset(&tm, 0, sizeof(tm));
	if (strptime(line, "%A, %B %d, %Y %H:%M:%S", &tm) == NULL)
		return "strptime failed";
	t = timegm(&tm);
	if (t < now - 2 || t > now + 2) {
		snprintf(why, sizeof(why), "%lld s away from now (UTC)",
		    (long long)(t - now));
		return why;
	}
	return NULL;
}

/*
 * RFC 868: exactly 4 bytes, big-endian seconds since 1900 modulo 2^32,
 * within 2 s of time(NULL).  NULL when good, else why not.
 */
const char *
hs_check_time(const unsigned char *buf, size_t len)
{
	static char	 why[128];
	uint32_t	 got, want;
	int32_t		 diff;

	if (len != 4)
		return "not exactly 4 bytes";
	got = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	want = (uint32_t)((uint64_t)time(NULL) + HS_RFC868_EPOCH);
	diff = (int32_t)(got - want);
	if (diff < -2 || diff > 2) {
		snprintf(why, sizeof(why), "%u is %d s away from %u", got,
		    diff, want);
		return why;
	}
	return NULL;
}
