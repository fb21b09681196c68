/*
 * harness-proc.c: child processes of the harness (argv, environment,
 * exec, waiting on a pidfd), the daemon as seen from /proc, and running
 * the binary as a command for the CLI tests.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness-int.h"

#define HS_RUN_CAP	(1024 * 1024)	/* bytes kept per captured stream */

static long	 hs_status_kib(struct hs_daemon *, const char *);

/* ---- Child processes ---- */

/*
 * Build argv: the words of $NETSVCD_WRAPPER, the binary, then args.
 * Returns the count, or -1 if it does not fit.
 */
int
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

/* In a child: the environment of a service started by systemd, no more. */
void
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
void
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
int
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
int
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

/*
 * Whether the binary knows service = name: -t on a config that names it
 * must not say "unknown service".  For suites that run before or without
 * a service.
 */
int
hs_has_service(const char *name)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	char			 text[256], unknown[128];
	const char		*path;
	int			 has;

	snprintf(text, sizeof(text), "[x]\nservice = %s\n"
	    "listen = tcp://127.0.0.1:0\n", name);
	snprintf(unknown, sizeof(unknown), "unknown service '%s'", name);
	path = hs_file(d, "probe.ini", text, strlen(text));
	cr_assert(hs_run(&r, hs_ms(10000), "-t", "-c", path, NULL) == 0,
	    "netsvcd -t did not finish");
	has = strstr(r.err, unknown) == NULL;
	hs_result_free(&r);
	return has;
}
