/*
 * control.c: "netsvcd -s reload" and "netsvcd -s stop", for ExecReload=
 * and ExecStop=.
 *
 * Reload: a reload whose exit status says whether the reload worked
 * (systemd 252 has no notify-reload and would call any reload a success
 * once a signal was sent).  The daemon publishes one line, "PID
 * GENERATION ok|failed TEXT", in the file reload-status of its runtime
 * directory ($RUNTIME_DIRECTORY, which RuntimeDirectory=netsvcd sets):
 * generation 0 when it is ready, and a new generation after each SIGHUP,
 * with the outcome of that reload.  The client notes the generation, sends
 * SIGHUP to $MAINPID (or to the PID of the file) and waits, bounded, for a
 * newer generation of the same PID.  The file is replaced with rename(2),
 * so a reader never sees half a line.
 *
 * Stop: SIGTERM to the same process, then wait, bounded, until it is gone.
 * Under systemd this is what gives the daemon its stop: after a SIGUSR2
 * handover its main process is not systemd's child, and systemd 252 does
 * not wait for such a process after SIGTERM but sends SIGKILL at once
 * (nothing would reach the fd store).  It waits for ExecStop=.
 *
 * Under the fd store ($FDSTORE), SIGTERM puts the connections there for
 * the next start, which is right for "systemctl restart" and wrong for
 * "systemctl stop": systemd closes the store once the unit is down, and
 * the connections would end at once instead of finishing.  So the client
 * asks systemd which job it runs, and sends SIGINT, a plain graceful
 * stop, when it is a stop; SIGTERM when it is a restart or unknown.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netsvcd.h"

#define CONTROL_DIR		"/run/netsvcd"
#define CONTROL_FILE		"reload-status"
#define CONTROL_POLL_MS		20

struct control_state {
	long		pid;
	unsigned long	gen;
	int		ok;
	char		text[256];
};

static int	control_path(char *, size_t, const char *);
static int	control_read(const char *, struct control_state *);
static int	control_target(long *, const char *);
static int	control_kill(long, int);
static int	control_gone(long);
static int	control_is_netsvcd(long);
static int	control_stop_signal(void);

/* DIR/NAME in buf, DIR the first of $RUNTIME_DIRECTORY or /run/netsvcd. */
static int
control_path(char *buf, size_t len, const char *name)
{
	const char	*dir = getenv("RUNTIME_DIRECTORY");
	size_t		 n;
	int		 r;

	if (dir == NULL || *dir == '\0')
		dir = CONTROL_DIR;
	n = strcspn(dir, ":");	/* systemd joins several with ':' */
	r = snprintf(buf, len, "%.*s/%s", (int)n, dir, name);
	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/* Parse the status file.  Returns 0, or -1 with errno set. */
static int
control_read(const char *path, struct control_state *st)
{
	FILE		*f;
	char		 line[320], *p, *end;
	size_t		 n;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	(void)fclose(f);
	if (p == NULL)
		goto bad;
	line[strcspn(line, "\n")] = '\0';
	/* "PID GENERATION ok|failed TEXT" */
	errno = 0;
	st->pid = strtol(line, &end, 10);
	if (errno != 0 || end == line || *end != ' ' || st->pid <= 0)
		goto bad;
	p = end + 1;
	st->gen = strtoul(p, &end, 10);
	if (errno != 0 || end == p || *end != ' ')
		goto bad;
	p = end + 1;
	n = strcspn(p, " ");
	if ((n != 2 || strncmp(p, "ok", 2) != 0) &&
	    (n != 6 || strncmp(p, "failed", 6) != 0))
		goto bad;
	st->ok = n == 2;
	p += n;
	p += strspn(p, " ");
	snprintf(st->text, sizeof(st->text), "%s", p);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * Daemon side: publish the outcome of generation gen (0: started, then
 * one per SIGHUP).  Only under a service manager that gave us a runtime
 * directory; failures are logged, never fatal.
 */
void
control_publish(unsigned long gen, int ok, const char *text)
{
	char	path[512], tmp[512];
	FILE	*f;

	if (getenv("RUNTIME_DIRECTORY") == NULL ||
	    control_path(path, sizeof(path), CONTROL_FILE) == -1 ||
	    control_path(tmp, sizeof(tmp), "." CONTROL_FILE ".tmp") == -1)
		return;
	if ((f = fopen(tmp, "we")) == NULL) {
		log_warn("cannot write %s", tmp);
		return;
	}
	fprintf(f, "%ld %lu %s %s\n", (long)getpid(), gen,
	    ok ? "ok" : "failed", text);
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		log_warn("cannot write %s", path);
		(void)unlink(tmp);
	}
}

/*
 * Daemon side, at a clean stop: remove the file, if it is still ours, so
 * a later "-s reload" says that no daemon runs instead of waiting.
 */
void
control_withdraw(void)
{
	struct control_state	st;
	char			path[512];

	if (getenv("RUNTIME_DIRECTORY") == NULL ||
	    control_path(path, sizeof(path), CONTROL_FILE) == -1)
		return;
	if (control_read(path, &st) == 0 && st.pid == (long)getpid())
		(void)unlink(path);
}

/*
 * Client side of "netsvcd -s reload": signal the daemon and wait up to
 * timeout_ms for the outcome of that reload.  Returns the exit status:
 * 0 when the daemon applied the new configuration, 1 otherwise, with the
 * reason on stderr.
 */
int
control_reload(int timeout_ms)
{
	struct control_state	 before, now;
	struct timespec		 ts = { 0, CONTROL_POLL_MS * 1000000L };
	char			 path[512];
	long			 pid;
	int			 waited;

	if (control_path(path, sizeof(path), CONTROL_FILE) == -1) {
		fprintf(stderr, "netsvcd: $RUNTIME_DIRECTORY is too long\n");
		return 1;
	}
	if (control_read(path, &before) == -1) {
		fprintf(stderr, "netsvcd: cannot read %s: %s (is netsvcd "
		    "running, under systemd with RuntimeDirectory=netsvcd?)\n",
		    path, strerror(errno));
		return 1;
	}
	pid = before.pid;
	if (control_target(&pid, path) == -1 || control_kill(pid, SIGHUP) == -1)
		return 1;
	for (waited = 0; waited < timeout_ms; waited += CONTROL_POLL_MS) {
		nanosleep(&ts, NULL);
		if (control_read(path, &now) == 0 && now.pid == pid &&
		    (now.pid != before.pid || now.gen != before.gen)) {
			if (now.ok) {
				printf("netsvcd: %s\n", now.text);
				return 0;
			}
			fprintf(stderr, "netsvcd: %s\n", now.text);
			return 1;
		}
		if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
			fprintf(stderr, "netsvcd: process %ld exited during "
			    "the reload\n", pid);
			return 1;
		}
	}
	fprintf(stderr, "netsvcd: no outcome of the reload from process %ld "
	    "in %d s (%s)\n", pid, timeout_ms / 1000, path);
	return 1;
}

/*
 * Client side of "netsvcd -s stop": SIGTERM (or SIGINT, see
 * control_stop_signal) to the daemon ($MAINPID, or the PID of the status
 * file), then wait up to timeout_ms until it is gone.  Returns the exit
 * status: 0 once it is, 1 otherwise.
 */
int
control_stop(int timeout_ms)
{
	struct control_state	 st;
	struct timespec		 ts = { 0, CONTROL_POLL_MS * 1000000L };
	char			 path[512];
	long			 pid = 0;
	int			 waited, sig;

	if (control_path(path, sizeof(path), CONTROL_FILE) == 0 &&
	    control_read(path, &st) == 0)
		pid = st.pid;
	if (control_target(&pid, path) == -1 ||
	    control_kill(pid, sig = control_stop_signal()) == -1)
		return 1;
	for (waited = 0; waited < timeout_ms; waited += CONTROL_POLL_MS) {
		if (control_gone(pid)) {
			printf("netsvcd: process %ld stopped\n", pid);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "netsvcd: process %ld still runs %d s after %s\n",
	    pid, timeout_ms / 1000, sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 1;
}

/*
 * SIGINT when systemd stops the unit for good while the daemon keeps an
 * fd store (see the top of this file); SIGTERM otherwise.
 */
static int
control_stop_signal(void)
{
	const char	*env = getenv("FDSTORE");

	if (env == NULL || *env == '\0' || strcmp(env, "0") == 0)
		return SIGTERM;
	switch (systemd_stop_is_restart()) {
	case 0:
		printf("netsvcd: a stop, not a restart: SIGINT, connections "
		    "finish here (shutdown_timeout)\n");
		return SIGINT;
	case 1:
		printf("netsvcd: a restart: SIGTERM, connections go to the fd "
		    "store\n");
		return SIGTERM;
	default:
		fprintf(stderr, "netsvcd: cannot tell a stop from a restart: "
		    "SIGTERM, connections go to the fd store\n");
		return SIGTERM;
	}
}

/*
 * The daemon to signal: $MAINPID when it is set (ExecReload=, ExecStop=),
 * else *pid, the PID of the status file at path (0: none) if that process
 * is netsvcd.  0 with *pid set, or -1 with the reason on stderr.
 */
static int
control_target(long *pid, const char *path)
{
	const char	*env = getenv("MAINPID");
	char		*end;

	if (env != NULL && *env != '\0') {
		errno = 0;
		*pid = strtol(env, &end, 10);
		if (errno != 0 || *end != '\0' || *pid <= 0) {
			fprintf(stderr, "netsvcd: bad MAINPID '%s'\n", env);
			return -1;
		}
	}
	if (*pid <= 0) {
		fprintf(stderr, "netsvcd: no daemon: no $MAINPID and no %s (is "
		    "netsvcd running, under systemd with "
		    "RuntimeDirectory=netsvcd?)\n", path);
		return -1;
	}
	if ((env == NULL || *env == '\0') && !control_is_netsvcd(*pid)) {
		fprintf(stderr, "netsvcd: process %ld of %s is not netsvcd (a "
		    "stale file?): not signalled\n", *pid, path);
		return -1;
	}
	return 0;
}

/*
 * Whether process pid runs netsvcd, by its name (/proc/PID/comm): a status
 * file left behind must not make us signal whoever has its PID now.
 */
static int
control_is_netsvcd(long pid)
{
	char	path[64], comm[32];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	/* The kernel keeps 15 bytes of the name: compare as many. */
	return strcmp(comm, "netsvcd") == 0 ||
	    strncmp(comm, program_invocation_short_name, 15) == 0;
}

/* kill(2), or -1 with the reason on stderr. */
static int
control_kill(long pid, int sig)
{
	if (kill((pid_t)pid, sig) == -1) {
		fprintf(stderr, "netsvcd: cannot signal process %ld: %s\n",
		    pid, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Whether process pid has ended: no such process, or a zombie that its
 * parent has not reaped yet (then it is gone all the same).
 */
static int
control_gone(long pid)
{
	char	path[64], buf[512], *p;
	ssize_t	n;
	int	fd;

	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "PID (COMM) STATE ...": COMM may hold anything, ')' included. */
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z';
}
