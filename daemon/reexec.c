/*
 * reexec.c: restart and upgrade without dropping a connection (SIGUSR2).
 *
 * The old process stops accepting and reading, describes its listeners,
 * its established connections and its counters in a sealed memfd
 * (handover.c), and fork+execs the binary on disk with those descriptors
 * inherited.  The new process reads its config, adopts what still has a
 * home there, and says over a pipe which connections it took.  Only then
 * does the old process let go: of what was taken silently (the socket
 * lives on in the new process), and it serves the rest until they end
 * (drained, as on SIGTERM).  If the new process fails, exits or says
 * nothing within HANDOVER_WAIT_MS, it is killed and the old process
 * resumes everything: no connection is lost and none was touched by both.
 *
 * Between the two, accepting stops; clients that connect then wait in the
 * listen backlog (refused only when it overflows), and the gap is logged.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "netsvcd.h"

#define HANDOVER_WAIT_MS	10000	/* for the new process to be ready */
#define READY_MAGIC		'R'

extern char	**environ;

/* The old side: one handover under way. */
struct reexec {
	pid_t		 child;
	int		 rfd;		/* readiness pipe, read end */
	struct event	*ev;
	uint64_t	 stopped_us;
	uint64_t	 deadline_ms;
	struct conn	**conns;	/* in the order of the records */
	size_t		 nconns;
	unsigned char	*msg;		/* what the new process says */
	size_t		 msglen;
	size_t		 got;
};

/* The new side: what the old process passed, until the start is over. */
struct handover_in {
	struct handover_state	*st;
	int			 pipe;		/* readiness, -1: none */
	unsigned char		*taken;		/* one byte per connection */
	size_t			 nlisteners;	/* adopted */
	size_t			 nlclosed;	/* listeners refused or unused */
	size_t			 nconns;	/* adopted */
	size_t			 ndrained;	/* left with the old process */
	size_t			 nclosed;	/* connections refused here */
	size_t			 npending;	/* output bytes carried over */
	int			 store;		/* from systemd's fd store */
};

static void	reexec_on_ready(evutil_socket_t, short, void *);
static void	reexec_fail(struct daemon *, const char *);
static void	reexec_finish(struct daemon *);
static void	inherit_check_all(struct handover_in *, int);

/* ---- the counters of an instance, by name ---- */

typedef void	(*stat_fn)(const char *, atomic_ulong *, void *);

/* Call fn with the name and place of every counter of s. */
static void
stats_each(struct instance_stats *s, stat_fn fn, void *arg)
{
	char	name[32];
	int	i;

	fn("accepted", &s->accepted, arg);
	fn("timed_out", &s->timed_out, arg);
	fn("dgrams_in", &s->dgrams_in, arg);
	fn("dgrams_out", &s->dgrams_out, arg);
	fn("bytes_in.tcp", &s->bytes_in[PROTO_TCP], arg);
	fn("bytes_in.udp", &s->bytes_in[PROTO_UDP], arg);
	fn("bytes_out.tcp", &s->bytes_out[PROTO_TCP], arg);
	fn("bytes_out.udp", &s->bytes_out[PROTO_UDP], arg);
	for (i = 0; i < REFUSE_COUNT; i++) {
		snprintf(name, sizeof(name), "refused.%s",
		    refuse_reason_name((enum refuse_reason)i));
		fn(name, &s->refused[i], arg);
	}
	for (i = 0; i < DROP_COUNT; i++) {
		snprintf(name, sizeof(name), "dropped.%s",
		    drop_reason_name((enum drop_reason)i));
		fn(name, &s->dropped[i], arg);
	}
	for (i = 0; i < PROXY_E_COUNT; i++) {
		snprintf(name, sizeof(name), "proxy.%s",
		    proxy_error_name((enum proxy_error)i));
		fn(name, &s->proxy_refused[i], arg);
	}
}

/* stats_each: one counter into the record. */
static void
stat_save(const char *name, atomic_ulong *v, void *arg)
{
	struct ho_counter	*hk;

	if ((hk = handover_add_counter(arg)) == NULL)
		return;
	snprintf(hk->name, sizeof(hk->name), "%s", name);
	hk->value = atomic_load(v);
}

/* stats_each: add the record's value of this counter, if it has one. */
static void
stat_restore(const char *name, atomic_ulong *v, void *arg)
{
	const struct ho_instance	*hi = arg;
	size_t				 i;

	for (i = 0; i < hi->ncounters; i++) {
		if (strcmp(hi->counters[i].name, name) == 0) {
			atomic_fetch_add(v, (unsigned long)
			    hi->counters[i].value);
			return;
		}
	}
}

/* ---- the old process ---- */

/* Describe the listeners and stop accepting (workers parked). */
static int
reexec_save_listeners(struct daemon *d, struct handover_state *st)
{
	struct ho_listener	*hl;
	struct listener		*l;
	unsigned int		 i;

	for (i = 0; i < d->nworkers; i++)
		event_del(d->workers[i].ev_resume);	/* an EMFILE pause */
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->ev != NULL)
			event_del(l->ev);
		if ((hl = handover_add_listener(st)) == NULL)
			return -1;
		hl->fd = l->fd;
		hl->proto = l->ep.proto;
		hl->activated = l->activated;
		hl->worker = l->w->id;
		snprintf(hl->instance, sizeof(hl->instance), "%s",
		    l->inst->ic->name);
		memcpy(&hl->cfg, &l->cfg.addr, sizeof(hl->cfg));
		memcpy(&hl->bound, &l->ep.addr, sizeof(hl->bound));
	}
	return 0;
}

/* Accept again, after a handover that failed (workers parked). */
static void
reexec_resume_listeners(struct daemon *d)
{
	unsigned int	i;

	for (i = 0; i < d->nworkers; i++)
		listener_resume(&d->workers[i]);
}

/* The counters of the current instances (also fdstore.c). */
int
reexec_save_instances(struct daemon *d, struct handover_state *st)
{
	struct ho_instance	*hi;
	struct instance		*inst;

	TAILQ_FOREACH(inst, &d->instances, entry) {
		if (inst->state != INSTANCE_CURRENT)
			continue;
		if ((hi = handover_add_instance(st)) == NULL)
			return -1;
		snprintf(hi->name, sizeof(hi->name), "%s", inst->ic->name);
		snprintf(hi->service, sizeof(hi->service), "%s",
		    inst->ic->service->name);
		stats_each(inst->stats, stat_save, hi);
	}
	return 0;
}

/* Every connection that can go to the new process.  0 or -1. */
static int
reexec_save_conns(struct daemon *d, struct reexec *rx,
    struct handover_state *st)
{
	ssize_t	n;

	if ((n = conns_handover_save(d, st, SIZE_MAX, &rx->conns,
	    NULL)) == -1)
		return -1;
	rx->nconns = (size_t)n;
	return 0;
}

/*
 * The environment of the new process: ours, without what belonged to
 * this process only (socket activation, the watchdog's PID), with the
 * memfd, the readiness pipe and the lock.  NULL when out of memory.
 */
static char **
reexec_env(int memfd, int wfd, int lockfd)
{
	static const char *const drop[] = { HANDOVER_ENV "=",
	    HANDOVER_LOCK_ENV "=", "LISTEN_FDS=", "LISTEN_PID=",
	    "LISTEN_FDNAMES=", "WATCHDOG_PID=", NULL };
	char	**env;
	size_t	  n = 0, k = 0, i;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 3, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *const	*p;

		for (p = drop; *p != NULL; p++) {
			if (strncmp(environ[i], *p, strlen(*p)) == 0)
				break;
		}
		if (*p == NULL)
			env[k++] = environ[i];
	}
	if (asprintf(&env[k++], "%s=%d:%d", HANDOVER_ENV, memfd, wfd) == -1) {
		free(env);
		return NULL;
	}
	if (lockfd != -1 && asprintf(&env[k++], "%s=%d", HANDOVER_LOCK_ENV,
	    lockfd) == -1) {
		free(env[k - 2]);
		free(env);
		return NULL;
	}
	env[k] = NULL;
	return env;
}

/*
 * fork+exec the binary on disk with the descriptors in keep[] inherited
 * (close-on-exec cleared in the child only).  Returns the child's pid or
 * -1.  Between fork and exec the child calls only async-signal-safe
 * functions: other threads may hold locks.
 */
static pid_t
reexec_spawn(struct daemon *d, char **env, const int *keep, size_t nkeep)
{
	sigset_t	none;
	pid_t		pid;
	size_t		i;

	if ((pid = fork()) != 0)
		return pid;
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 0; i < nkeep; i++)
		(void)fcntl(keep[i], F_SETFD, 0);
	execve(d->exe, d->argv, env);
	_exit(127);
}

/* The descriptors the new process inherits. */
static int *
reexec_keep(const struct handover_state *st, int memfd, int wfd, int lockfd,
    size_t *n)
{
	int	*keep;
	size_t	 i, k = 0;

	keep = calloc(st->nlisteners + st->nconns + 3, sizeof(*keep));
	if (keep == NULL)
		return NULL;
	for (i = 0; i < st->nlisteners; i++)
		keep[k++] = st->listeners[i].fd;
	for (i = 0; i < st->nconns; i++)
		keep[k++] = st->conns[i].fd;
	keep[k++] = memfd;
	keep[k++] = wfd;
	if (lockfd != -1)
		keep[k++] = lockfd;
	*n = k;
	return keep;
}

/* Settle every connection described (workers parked); the others stay. */
static void
reexec_settle(struct reexec *rx, const unsigned char *bits)
{
	size_t	i;

	for (i = 0; i < rx->nconns; i++)
		conn_handover_done(rx->conns[i], bits != NULL &&
		    (bits[i / 8] & (1U << (i % 8))) != 0);
}

/* Free the old side's state. */
static void
reexec_free(struct reexec *rx)
{
	if (rx == NULL)
		return;
	if (rx->ev != NULL)
		event_free(rx->ev);
	if (rx->rfd != -1)
		close(rx->rfd);
	free(rx->conns);
	free(rx->msg);
	free(rx);
}

/*
 * Write the state, then start the new process; from here on the old one
 * waits for it (reexec_on_ready).  Returns 0, or -1 with *why set and
 * nothing started.
 */
static int
reexec_launch(struct daemon *d, struct reexec *rx, struct handover_state *st,
    const char **why)
{
	unsigned char	*buf = NULL;
	char		*cause = NULL, **env = NULL;
	int		*keep = NULL, memfd = -1, p[2] = { -1, -1 }, ret = -1;
	size_t		 len, nkeep, i;
	struct timeval	 tv = { 0, 100000 };

	if (handover_encode(st, &buf, &len, &cause) == -1 ||
	    (memfd = handover_seal(buf, len, &cause)) == -1) {
		log_warnx("handover: %s", cause ? cause : "out of memory");
		*why = "cannot write the state";
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    (env = reexec_env(memfd, p[1], d->lock_fd)) == NULL ||
	    (keep = reexec_keep(st, memfd, p[1], d->lock_fd, &nkeep)) == NULL ||
	    (rx->msg = calloc(1, 5 + (rx->nconns + 7) / 8)) == NULL) {
		*why = strerror(errno);
		goto out;
	}
	rx->msglen = 5 + (rx->nconns + 7) / 8;
	if ((rx->child = reexec_spawn(d, env, keep, nkeep)) == -1) {
		*why = strerror(errno);
		goto out;
	}
	rx->rfd = p[0];
	p[0] = -1;
	rx->deadline_ms = clock_ms() + HANDOVER_WAIT_MS;
	rx->ev = event_new(d->base, rx->rfd, EV_READ | EV_PERSIST,
	    reexec_on_ready, d);
	if (rx->ev == NULL || event_add(rx->ev, &tv) == -1) {
		*why = "cannot watch the new process";
		kill(rx->child, SIGKILL);
		waitpid(rx->child, NULL, 0);
		rx->child = 0;
		goto out;
	}
	ret = 0;
out:
	if (env != NULL) {
		for (i = 0; env[i] != NULL; i++) {
			if (strncmp(env[i], HANDOVER_ENV "=",
			    strlen(HANDOVER_ENV "=")) == 0 ||
			    strncmp(env[i], HANDOVER_LOCK_ENV "=",
			    strlen(HANDOVER_LOCK_ENV "=")) == 0)
				free(env[i]);
		}
		free(env);
	}
	free(keep);
	free(buf);
	free(cause);
	if (memfd != -1)
		close(memfd);	/* the new process has its copy */
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	return ret;
}

/*
 * A UDP socket lent to a program (udp_wait, spawn.c) cannot be handed
 * over: the program reads it.  Returns 1 (logged) when one is lent.
 */
static int
reexec_held(struct daemon *d)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->held) {
			log_warnx("SIGUSR2: a program holds %s of instance %s; "
			    "no handover until it exits", l->ep.text,
			    l->inst->ic->name);
			return 1;
		}
	}
	return 0;
}

/*
 * SIGUSR2: hand everything over to a new process of the binary on disk.
 * The old process keeps serving what cannot be handed over; on any
 * failure it resumes the rest as well.
 */
void
reexec_start(struct daemon *d)
{
	struct handover_state	*st;
	struct reexec		*rx;
	const char		*why = "out of memory";

	if (d->rx != NULL || d->handed_over || atomic_load(&d->stopping) ||
	    atomic_load(&d->draining)) {
		log_notice("SIGUSR2: %s, ignored", d->rx != NULL ?
		    "a handover is under way" : "stopping");
		return;
	}
	if (d->exe == NULL || d->argv == NULL) {
		log_warnx("SIGUSR2: the path of the binary is unknown");
		return;
	}

	workers_park(d);	/* l->held is the workers' */
	if (reexec_held(d)) {
		workers_unpark(d);
		return;
	}
	log_notice("SIGUSR2: handing over to a new %s", d->exe);
	if ((rx = calloc(1, sizeof(*rx))) == NULL ||
	    (st = handover_state_new()) == NULL) {
		workers_unpark(d);
		free(rx);
		log_warnx("handover failed: out of memory; still serving");
		return;
	}
	rx->rfd = -1;
	rx->stopped_us = st->stopped_us = handover_now_us();
	st->pid = (uint32_t)getpid();
	/* metrics.c binds again in the new process. */
	metrics_stop(d->metrics);
	d->metrics = NULL;
	d->rx = rx;
	if (reexec_save_listeners(d, st) == -1 ||
	    reexec_save_instances(d, st) == -1 ||
	    reexec_save_conns(d, rx, st) == -1 ||
	    reexec_launch(d, rx, st, &why) == -1) {
		handover_state_free(st);	/* points into the conns */
		workers_unpark(d);
		reexec_fail(d, why);
		return;
	}
	handover_state_free(st);
	workers_unpark(d);
}

/*
 * The handover did not happen: kill the new process if there is one,
 * and resume everything that was stopped.
 */
static void
reexec_fail(struct daemon *d, const char *why)
{
	struct reexec	*rx = d->rx;
	char		*cause = NULL;

	if (rx->child > 0) {
		kill(rx->child, SIGKILL);
		waitpid(rx->child, NULL, 0);
	}
	workers_park(d);
	reexec_settle(rx, NULL);
	reexec_resume_listeners(d);
	workers_unpark(d);
	d->rx = NULL;
	reexec_free(rx);
	if (d->conf->daemon.metrics) {
		d->metrics = metrics_start(d, &d->conf->daemon.metrics_listen,
		    &cause);
		if (d->metrics == NULL)
			log_warnx("cannot serve metrics again: %s",
			    cause ? cause : "out of memory");
		free(cause);
	}
	log_warnx("handover failed: %s; still serving, nothing lost", why);
}

/* What the new process says: 'R', the number of records, one bit each. */
static void
reexec_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct reexec	*rx = d->rx;
	ssize_t		 n;
	uint32_t	 count;

	if (what & EV_READ) {
		n = read(fd, rx->msg + rx->got, rx->msglen - rx->got);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN)) {
			reexec_fail(d, "the new process exited before it was "
			    "ready (see its log lines)");
			return;
		}
		if (n > 0)
			rx->got += (size_t)n;
	}
	if (rx->got < rx->msglen) {
		if (clock_ms() > rx->deadline_ms)
			reexec_fail(d, "the new process was not ready in time");
		return;
	}
	count = (uint32_t)rx->msg[1] | (uint32_t)rx->msg[2] << 8 |
	    (uint32_t)rx->msg[3] << 16 | (uint32_t)rx->msg[4] << 24;
	if (rx->msg[0] != READY_MAGIC || count != rx->nconns) {
		reexec_fail(d, "the new process answered nonsense");
		return;
	}
	reexec_finish(d);
}

/*
 * The new process is ready and serves what it took: let go of that, tell
 * systemd who the main process is now, and drain the rest.
 */
static void
reexec_finish(struct daemon *d)
{
	struct reexec	*rx = d->rx;
	size_t		 i, taken = 0;

	for (i = 0; i < rx->nconns; i++) {
		if (rx->msg[5 + i / 8] & (1U << (i % 8)))
			taken++;
	}
	workers_park(d);
	reexec_settle(rx, rx->msg + 5);
	workers_unpark(d);
	d->handed_over = (int)rx->child;
	systemd_mainpid(rx->child);
	log_notice("handed over to pid %d: %zu connection%s taken, %u left "
	    "here to drain", (int)rx->child, taken, taken == 1 ? "" : "s",
	    atomic_load(&d->nconns));
	d->rx = NULL;
	reexec_free(rx);
	daemon_stop(d);
}

/* SIGTERM during a handover: call it off first. */
void
reexec_abort(struct daemon *d)
{
	if (d->rx != NULL)
		reexec_fail(d, "stopped by a signal");
}

/* ---- the new process ---- */

/* A descriptor number from the environment, or -1. */
static int
env_fd(const char *s, const char **end)
{
	char	*e;
	long	 v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno != 0 || e == s || v < 3 || v > INT_MAX)
		return -1;
	*end = e;
	return (int)v;
}

/*
 * Whether the lock descriptor the old process passed is the lock it held;
 * closes it when not.  Called by main.c before it takes the lock.
 */
int
reexec_lock_fd(void)
{
	const char	*s = getenv(HANDOVER_LOCK_ENV), *end;
	int		 fd;

	if (s == NULL)
		return -1;
	fd = env_fd(s, &end);
	unsetenv(HANDOVER_LOCK_ENV);
	if (fd == -1 || *end != '\0' || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return fd;
}

/*
 * Check one descriptor of a record; a bad one is closed and the record
 * dropped (fd -1).  reserved: descriptors that are not the records' to
 * close (the pipe, the lock).
 */
static void
inherit_check(size_t *count, int *fd, int ok, const char *cause,
    const int *reserved, size_t nreserved)
{
	size_t	i;

	if (ok) {
		(void)fcntl(*fd, F_SETFD, FD_CLOEXEC);
		return;
	}
	log_warnx("handover: %s; not used", cause);
	for (i = 0; i < nreserved; i++) {
		if (reserved[i] == *fd)
			break;
	}
	if (i == nreserved)
		close(*fd);
	*fd = -1;
	(*count)++;
}

/*
 * At start, before anything opens a descriptor of its own: take the state
 * a predecessor passed (HANDOVER_ENV), and check each descriptor against
 * its record; what does not match is closed and logged.  Returns NULL when
 * there is no handover; a state that is not valid as a whole is logged
 * and ignored (the daemon starts afresh).
 */
struct handover_in *
reexec_inherit(int lock_fd)
{
	struct handover_in	*hin;
	const char		*s = getenv(HANDOVER_ENV), *end;
	char			*cause = NULL;
	int			 memfd;

	if (s == NULL)
		return NULL;
	if ((hin = calloc(1, sizeof(*hin))) == NULL)
		fatal("handover");
	hin->pipe = -1;
	memfd = env_fd(s, &end);
	if (memfd != -1 && *end == ':')
		hin->pipe = env_fd(end + 1, &end);
	if (memfd == -1 || (*end != '\0' && *end != ':')) {
		log_warnx("handover: %s=\"%s\" is not valid; starting afresh",
		    HANDOVER_ENV, s);
		unsetenv(HANDOVER_ENV);
		return hin;
	}
	unsetenv(HANDOVER_ENV);
	if (hin->pipe != -1)
		(void)fcntl(hin->pipe, F_SETFD, FD_CLOEXEC);
	if (memfd == lock_fd || memfd == hin->pipe ||
	    (hin->st = handover_load(memfd, &cause)) == NULL) {
		log_warnx("handover: state rejected: %s; starting afresh",
		    cause != NULL ? cause : "descriptor reused");
		free(cause);
		if (memfd != lock_fd && memfd != hin->pipe)
			close(memfd);
		return hin;
	}
	close(memfd);
	inherit_check_all(hin, lock_fd);
	return hin;
}

/*
 * Check every descriptor against its record: what does not match is
 * closed and logged, and the record dropped.  Records without a
 * descriptor (fd -1) are counted as closed.
 */
static void
inherit_check_all(struct handover_in *hin, int lock_fd)
{
	char	*cause;
	int	 reserved[2];
	size_t	 i;

	reserved[0] = lock_fd;
	reserved[1] = hin->pipe;
	for (i = 0; i < hin->st->nlisteners; i++) {
		struct ho_listener	*hl = &hin->st->listeners[i];
		int			 ok;

		if (hl->fd == -1) {
			hin->nlclosed++;
			continue;
		}
		cause = NULL;
		ok = hl->fd != lock_fd && hl->fd != hin->pipe &&
		    handover_check_listener(hl, &cause) == 0;
		inherit_check(&hin->nlclosed, &hl->fd, ok, cause ? cause :
		    "a reserved descriptor", reserved, 2);
		free(cause);
	}
	for (i = 0; i < hin->st->nconns; i++) {
		struct ho_conn	*hc = &hin->st->conns[i];
		int		 ok;

		if (hc->fd == -1) {
			log_warnx("handover: connection %zu of %s: no "
			    "descriptor for it", i, hc->instance);
			hin->nclosed++;
			continue;
		}
		cause = NULL;
		ok = hc->fd != lock_fd && hc->fd != hin->pipe &&
		    handover_check_conn(hc, &cause) == 0;
		inherit_check(&hin->nclosed, &hc->fd, ok, cause ? cause :
		    "a reserved descriptor", reserved, 2);
		free(cause);
	}
	if ((hin->taken = calloc(hin->st->nconns + 1, 1)) == NULL)
		fatal("handover");
}

/* The socket type and local address of fd; 0 or -1. */
static int
store_sock(int fd, int *type, struct sockaddr_storage *local)
{
	socklen_t	len = sizeof(*type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &len) == -1)
		return -1;
	len = sizeof(*local);
	memset(local, 0, sizeof(*local));
	return getsockname(fd, (struct sockaddr *)local, &len);
}

/*
 * Give one listener entry of the fd store to the first record it can be:
 * same type, bound to the same address, no descriptor yet.  The record
 * is checked again in full afterwards.  Returns 0, or -1 (no record).
 */
static int
store_match_listener(struct handover_state *st, int fd)
{
	struct sockaddr_storage	 local;
	int			 type;
	size_t			 i;

	if (store_sock(fd, &type, &local) == -1)
		return -1;
	for (i = 0; i < st->nlisteners; i++) {
		struct ho_listener	*hl = &st->listeners[i];

		if (hl->fd == -1 && type == (hl->proto == SERVICE_TCP ?
		    SOCK_STREAM : SOCK_DGRAM) &&
		    handover_addr_same(&local, &hl->bound)) {
			hl->fd = fd;
			return 0;
		}
	}
	return -1;
}

/*
 * The connection records sorted by address (local, then peer), so that
 * each socket of the store finds its record by binary search: systemd
 * hands the store back in no useful order (each message's descriptors go
 * through a hash set), and tens of thousands of connections must not take
 * quadratic time while the ports wait.
 */
struct store_index {
	struct ho_conn	**by_addr;
	size_t		  n;
};

/* The order of store_index: local address, then peer. */
static int
store_key_cmp(const struct sockaddr_storage *local,
    const struct sockaddr_storage *peer, const struct ho_conn *hc)
{
	int	c = handover_addr_cmp(local, &hc->local);

	return c != 0 ? c : handover_addr_cmp(peer, &hc->peer);
}

/* qsort(3) of store_index. */
static int
store_conn_cmp(const void *a, const void *b)
{
	const struct ho_conn	*y = *(struct ho_conn *const *)b;
	const struct ho_conn	*x = *(struct ho_conn *const *)a;

	return store_key_cmp(&x->local, &x->peer, y);
}

/* Index the records of st; NULL by_addr when there are none. */
static void
store_index_build(struct store_index *ix, struct handover_state *st)
{
	size_t	i;

	ix->n = st->nconns;
	ix->by_addr = NULL;
	if (ix->n == 0)
		return;
	if ((ix->by_addr = calloc(ix->n, sizeof(struct ho_conn *))) == NULL)
		fatal("handover");
	for (i = 0; i < ix->n; i++)
		ix->by_addr[i] = &st->conns[i];
	qsort(ix->by_addr, ix->n, sizeof(struct ho_conn *), store_conn_cmp);
}

/*
 * The same as store_match_listener for a connection: the first record
 * with its local address and peer and no descriptor yet.  0 or -1.
 */
static int
store_match_conn(const struct store_index *ix, int fd)
{
	struct sockaddr_storage	 local, peer;
	socklen_t		 len = sizeof(peer);
	size_t			 lo = 0, hi = ix->n, mid;
	int			 type;

	memset(&peer, 0, sizeof(peer));
	if (store_sock(fd, &type, &local) == -1 || type != SOCK_STREAM ||
	    getpeername(fd, (struct sockaddr *)&peer, &len) == -1 ||
	    (local.ss_family != AF_INET && local.ss_family != AF_INET6))
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (store_key_cmp(&local, &peer, ix->by_addr[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ix->n && store_key_cmp(&local, &peer,
	    ix->by_addr[lo]) == 0; lo++) {
		struct ho_conn	*hc = ix->by_addr[lo];

		if (hc->fd == -1) {	/* same addresses: the key */
			hc->fd = fd;
			return 0;
		}
	}
	return -1;
}

/* Close every fd store entry passed; none is used. */
static void
store_close_all(const int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * At start under systemd (fdstore.c put them there): the fd store's
 * entries, found by name in LISTEN_FDNAMES.  Exactly one state memfd,
 * valid as a whole (handover_load: version, seals, sizes), or nothing is
 * used.  Each socket goes to the record whose addresses it has (names
 * may lie: the kind only says where to look) and is then checked as a
 * SIGUSR2 handover's are; what matches no record is closed and logged.
 * Returns NULL when the store passed nothing.
 */
struct handover_in *
reexec_inherit_store(int lock_fd)
{
	struct handover_in	*hin;
	struct store_index	 ix;
	char			*cause = NULL;
	int			*fds = NULL, *kinds = NULL, memfd = -1;
	size_t			 n, i, nstate = 0;

	if (systemd_fdstore_fds(&fds, &kinds, &n) == -1 || n == 0) {
		free(fds);
		free(kinds);
		return NULL;
	}
	if ((hin = calloc(1, sizeof(*hin))) == NULL)
		fatal("handover");
	hin->pipe = -1;
	hin->store = 1;
	for (i = 0; i < n; i++) {
		if (kinds[i] == FDSTORE_STATE) {
			memfd = fds[i];
			nstate++;
		}
	}
	if (nstate != 1) {
		log_warnx("fd store: %zu state descriptors, not one; closing "
		    "its %zu entries, starting afresh", nstate, n);
		store_close_all(fds, n);
		goto out;
	}
	if ((hin->st = handover_load(memfd, &cause)) == NULL) {
		log_warnx("fd store: state rejected: %s; closing its %zu "
		    "entries, starting afresh", cause ? cause :
		    "out of memory", n);
		free(cause);
		store_close_all(fds, n);
		goto out;
	}
	close(memfd);
	for (i = 0; i < hin->st->nlisteners; i++)
		hin->st->listeners[i].fd = -1;
	for (i = 0; i < hin->st->nconns; i++)
		hin->st->conns[i].fd = -1;
	store_index_build(&ix, hin->st);
	for (i = 0; i < n; i++) {
		if (kinds[i] == FDSTORE_STATE)
			continue;
		if ((kinds[i] == FDSTORE_LISTENER ?
		    store_match_listener(hin->st, fds[i]) :
		    store_match_conn(&ix, fds[i])) == 0)
			continue;
		log_warnx("fd store: descriptor %d (a %s entry) matches no "
		    "record of the state; closed", fds[i],
		    kinds[i] == FDSTORE_LISTENER ? "listener" : "connection");
		close(fds[i]);
	}
	free(ix.by_addr);
	inherit_check_all(hin, lock_fd);
out:
	free(fds);
	free(kinds);
	return hin;
}

/*
 * A listening socket passed over for worker w of endpoint ep of instance
 * name, or -1: the one of the same worker when there is one, else any of
 * another worker (fewer workers now).  A configured port 0 matches only
 * the same instance's (it is the port its clients know).
 */
int
reexec_take_listener(struct daemon *d, const struct endpoint *ep,
    const char *name, unsigned int w, int *activated)
{
	struct handover_in	*hin = d->hin;
	struct ho_listener	*hl, *found = NULL;
	size_t			 i;
	int			 fd;

	if (hin == NULL || hin->st == NULL)
		return -1;
	for (i = 0; i < hin->st->nlisteners; i++) {
		hl = &hin->st->listeners[i];
		if (hl->fd == -1 || hl->proto != ep->proto ||
		    !handover_addr_same(&hl->cfg, &ep->addr) ||
		    (endpoint_port(ep) == 0 && strcmp(hl->instance, name) != 0))
			continue;
		if (hl->worker == w) {
			found = hl;
			break;
		}
		if (found == NULL && hl->worker >= d->nworkers)
			found = hl;
	}
	if (found == NULL)
		return -1;
	fd = found->fd;
	*activated = found->activated;
	found->fd = -1;
	hin->nlisteners++;
	return fd;
}

/*
 * Whether local is an address of one of inst's TCP listeners: a
 * connection whose endpoint left the config drains in the old process.
 */
static int
adopt_endpoint_ok(struct daemon *d, struct instance *inst,
    const struct sockaddr_storage *local)
{
	const struct sockaddr_in	*a4, *l4;
	const struct sockaddr_in6	*a6, *l6;
	struct listener			*l;

	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->inst != inst || l->ep.proto != SERVICE_TCP ||
		    l->ep.addr.ss_family != local->ss_family ||
		    endpoint_port(&l->ep) !=
		    sockaddr_port((const struct sockaddr *)local))
			continue;
		if (local->ss_family == AF_INET) {
			a4 = (const struct sockaddr_in *)local;
			l4 = (const struct sockaddr_in *)&l->ep.addr;
			if (l4->sin_addr.s_addr == htonl(INADDR_ANY) ||
			    l4->sin_addr.s_addr == a4->sin_addr.s_addr)
				return 1;
		} else {
			a6 = (const struct sockaddr_in6 *)local;
			l6 = (const struct sockaddr_in6 *)&l->ep.addr;
			if (IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr) ||
			    memcmp(&l6->sin6_addr, &a6->sin6_addr, 16) == 0)
				return 1;
		}
	}
	return 0;
}

/* Adopt one connection record; 1 when taken, 0 when left to the old. */
static int
adopt_conn(struct daemon *d, struct ho_conn *hc)
{
	struct instance	*inst;
	uint32_t	 src;

	inst = instance_find(d, hc->instance, 0);
	if (inst == NULL || strcmp(inst->ic->service->name, hc->service) != 0 ||
	    inst->ic->service->tcp_restore == NULL ||
	    !adopt_endpoint_ok(d, inst, &hc->local))
		return 0;
	src = instance_adopt(inst, (const struct sockaddr *)&hc->peer);
	if (conn_adopt(&d->workers[hc->worker % d->nworkers], inst, hc,
	    src) == -1) {
		log_warnx("handover: %s: %s: the service refused its state",
		    hc->instance, inst->ic->service->name);
		instance_release(inst, src);
		return 0;
	}
	return 1;
}

/*
 * After the config is applied (listeners adopted or bound): carry the
 * counters of the instances that remain over, adopt the connections that
 * still have a home, and close the descriptors nothing took.
 */
void
reexec_adopt(struct daemon *d)
{
	struct handover_in	*hin = d->hin;
	struct handover_state	*st;
	struct instance		*inst;
	size_t			 i;

	if (hin == NULL || (st = hin->st) == NULL)
		return;
	for (i = 0; i < st->ninstances; i++) {
		inst = instance_find(d, st->instances[i].name, 0);
		if (inst != NULL && strcmp(inst->ic->service->name,
		    st->instances[i].service) == 0)
			stats_each(inst->stats, stat_restore,
			    &st->instances[i]);
	}
	for (i = 0; i < st->nconns; i++) {
		if (st->conns[i].fd == -1)
			continue;	/* refused in reexec_inherit */
		if (adopt_conn(d, &st->conns[i])) {
			hin->taken[i] = 1;
			hin->nconns++;
			hin->npending += st->conns[i].npending;
		} else {
			close(st->conns[i].fd);	/* the old one keeps it */
			hin->ndrained++;
		}
		st->conns[i].fd = -1;
	}
	for (i = 0; i < st->nlisteners; i++) {
		if (st->listeners[i].fd == -1)
			continue;
		log_info("handover: %s: no endpoint here for its listener; "
		    "closing it", st->listeners[i].instance);
		close(st->listeners[i].fd);
		st->listeners[i].fd = -1;
		hin->nlclosed++;
	}
}

/*
 * Whether this process was started by an old one's SIGUSR2 (not from
 * systemd's fd store), until it is ready.
 */
int
reexec_by_signal(const struct daemon *d)
{
	return d->hin != NULL && !d->hin->store;
}

/*
 * The start is over and the loop is about to run: tell the old process
 * which connections are ours now (it lets go of them, then exits), and log
 * the handover.  Whether systemd heard READY=1 from us: not when the old
 * process is there to tell it our pid.
 */
int
reexec_ready(struct daemon *d)
{
	struct handover_in	*hin = d->hin;
	struct handover_state	*st;
	unsigned char		*msg;
	size_t			 len, off = 0, i;
	ssize_t			 n;
	uint64_t		 gap;
	int			 told = 0;

	if (hin == NULL)
		return 0;
	st = hin->st;
	if (st != NULL && hin->store && st->stopped_us == 0) {
		/* fdstore_refresh's state: no SIGTERM came (a crash). */
		log_notice("fd store: pid %u ended without handing over "
		    "(crashed or killed): listeners: %zu adopted, %zu closed; "
		    "its established connections were lost", st->pid,
		    hin->nlisteners, hin->nlclosed);
	} else if (st != NULL) {
		gap = handover_now_us() - st->stopped_us;
		log_notice("handover from pid %u%s: listeners: %zu adopted, "
		    "%zu closed; connections: %zu handed over, %zu drained, "
		    "%zu closed; not accepting for %llu.%03llu ms", st->pid,
		    hin->store ? " (systemd fd store)" : "",
		    hin->nlisteners, hin->nlclosed, hin->nconns,
		    hin->ndrained + st->kept, hin->nclosed,
		    (unsigned long long)(gap / 1000),
		    (unsigned long long)(gap % 1000));
		if (hin->npending > 0)
			log_info("handover: %zu bytes of output pending carried "
			    "over", hin->npending);
	}
	if (hin->pipe != -1 && st != NULL) {
		len = 5 + (st->nconns + 7) / 8;
		if ((msg = calloc(1, len)) != NULL) {
			msg[0] = READY_MAGIC;
			for (i = 0; i < 4; i++)
				msg[1 + i] = (unsigned char)(st->nconns >>
				    (8 * i));
			for (i = 0; i < st->nconns; i++) {
				if (hin->taken[i])
					msg[5 + i / 8] |= (unsigned char)
					    (1U << (i % 8));
			}
			while (off < len) {
				n = write(hin->pipe, msg + off, len - off);
				if (n == -1 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				off += (size_t)n;
			}
			told = off == len;
			free(msg);
		}
		if (!told)
			log_warnx("handover: cannot tell the old process: %s",
			    strerror(errno));
	}
	if (hin->pipe != -1)
		close(hin->pipe);
	/* Taken or closed: stale in the store now (fdstore.c pushes anew). */
	if (hin->store)
		systemd_fdstore_clear();
	handover_state_free(hin->st);
	free(hin->taken);
	free(hin);
	d->hin = NULL;
	return told;
}

/* Free what reexec_inherit kept, when the start failed. */
void
reexec_inherit_free(struct handover_in *hin)
{
	size_t	i;

	if (hin == NULL)
		return;
	if (hin->st != NULL) {
		for (i = 0; i < hin->st->nlisteners; i++) {
			if (hin->st->listeners[i].fd != -1)
				close(hin->st->listeners[i].fd);
		}
		for (i = 0; i < hin->st->nconns; i++) {
			if (hin->st->conns[i].fd != -1)
				close(hin->st->conns[i].fd);
		}
	}
	if (hin->pipe != -1)
		close(hin->pipe);
	handover_state_free(hin->st);
	free(hin->taken);
	free(hin);
}

/* daemon_free: a handover still under way ends with the old process. */
void
reexec_cleanup(struct daemon *d)
{
	if (d->rx == NULL)
		return;
	if (d->rx->child > 0) {
		kill(d->rx->child, SIGKILL);
		waitpid(d->rx->child, NULL, 0);
	}
	reexec_free(d->rx);
	d->rx = NULL;
}
