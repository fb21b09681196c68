/*
 * spawn.c: programs run per connection, for services that hand their
 * socket over (services/exec.c, through conn_spawn and dgram_spawn).
 *
 * A child is started with posix_spawn(3) (glibc: clone(CLONE_VM |
 * CLONE_VFORK), no copy of the daemon's memory) with explicit file
 * actions: the socket becomes fds 0 and 1, a pipe to this file becomes fd
 * 2, and every other descriptor of the daemon is O_CLOEXEC, so the program
 * holds exactly 0, 1 and 2.  Signals get their default dispositions and an
 * empty mask (posix_spawnattr setsigdef/setsigmask); the child leads a
 * process group of its own so that max_duration and shutdown reach the
 * processes it forks.  What posix_spawn cannot do (resource limits, nice,
 * user and group) is done by the daemon's own binary in a tiny helper mode
 * (spawn_helper_main) that sets them and execs the program: plain
 * sequential code in a fresh process, instead of async-signal-safe code in
 * a vfork child that shares the daemon's memory.  It costs one more exec,
 * only for instances that ask for these.
 *
 * Each child is owned by the worker that accepted its connection: its
 * pidfd (pidfd_open) and stderr pipe are EV_READ events on that worker's
 * base, so the exit is seen and reaped there (waitid(P_PIDFD, WNOHANG))
 * without SIGCHLD, without a blocking wait, and with any number of
 * workers.  d->children lists every child (under d->child_lock) for the
 * status dump and the shutdown signals; a child leaves the list in the
 * same locked step that reaps it, so a PID in the list is never reused.
 */
#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "netsvcd.h"

#define SPAWN_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"
#define SPAWN_HELPER	"--exec-helper"
#define SPAWN_ENV_MAX	64		/* host variables + env keys */
#define SPAWN_ARGV_MAX	256
#define ERR_LINE_MAX	512		/* longer stderr lines are cut */
#define ERR_READS	8		/* reads per wakeup: others get a turn */
#define ERR_RATE	20		/* stderr lines logged per second */
#define ERR_BURST	100		/* per instance */
#define POLL_MS		50		/* no pidfd (EMFILE): poll waitpid */

struct child {
	LIST_ENTRY(child)	 entry;		/* d->children */
	struct daemon		*d;
	struct worker		*w;
	struct instance		*inst;		/* holds a reference */
	struct listener		*l;		/* UDP wait: read again at exit */
	struct timespec		 stamp;		/* its datagram's arrival */
	int			 admitted;	/* holds a TCP admission */
	uint32_t		 src;
	pid_t			 pid;
	int			 pidfd;		/* -1: polled */
	int			 errfd;		/* stderr pipe, -1: closed */
	int			 signalled;	/* 0, SIGTERM or SIGKILL sent */
	struct event		 ev_exit;
	struct event		 ev_err;
	struct event		 timer;		/* max_duration, or the poll */
	uint64_t		 started;
	char			 peer[64];
	size_t			 linelen;
	int			 cut;		/* dropping the rest of a line */
	char			 line[ERR_LINE_MAX + 1];
};

static int	spawn_testing;

static int	child_start(struct worker *, struct instance *, int fd,
		    int proto, const struct sockaddr *peer,
		    const struct sockaddr *local, const struct spawn_spec *,
		    struct child **);
static void	child_on_exit(evutil_socket_t, short, void *);
static void	child_on_err(evutil_socket_t, short, void *);
static void	child_on_timer(evutil_socket_t, short, void *);
static void	child_done(struct child *, const siginfo_t *);
static void	child_report_dropped(struct instance *);
static void	child_signal(struct child *, int);
static void	spawn_on_kill(evutil_socket_t, short, void *);

const char *
child_exit_name(enum child_exit e)
{
	static const char *const names[CHILD_EXIT_COUNT] = {
		[CHILD_EXIT_OK] = "ok", [CHILD_EXIT_ERROR] = "error",
		[CHILD_EXIT_SIGNAL] = "signal",
	};

	return (unsigned int)e < CHILD_EXIT_COUNT ? names[e] : "unknown";
}

/* The daemon's side: the child list and the shutdown kill timer. */
int
spawn_init(struct daemon *d)
{
	pthread_mutex_init(&d->child_lock, NULL);
	LIST_INIT(&d->children);
	d->ev_child_kill = evtimer_new(d->base, spawn_on_kill, d);
	return d->ev_child_kill == NULL ? -1 : 0;
}

/*
 * At exit: forget children still listed (only when the loop failed; a
 * normal stop waits for every one).  They are not waited for.
 */
void
spawn_free(struct daemon *d)
{
	struct child	*c;

	while ((c = LIST_FIRST(&d->children)) != NULL) {
		LIST_REMOVE(c, entry);
		event_del(&c->ev_exit);
		event_del(&c->ev_err);
		event_del(&c->timer);
		if (c->pidfd != -1)
			close(c->pidfd);
		if (c->errfd != -1)
			close(c->errfd);
		instance_unref(c->inst);
		free(c);
	}
	if (d->ev_child_kill != NULL)
		event_free(d->ev_child_kill);
	pthread_mutex_destroy(&d->child_lock);
}

/* -t: svc_conf_can_setid() answers "unknown" rather than "no". */
void
spawn_set_testing(int on)
{
	spawn_testing = on;
}

/* Service API: see service.h. */
int
svc_conf_can_setid(struct svc_conf *sc)
{
	if (geteuid() == 0 && sc->ic->conf->daemon.user == NULL)
		return 1;
	return spawn_testing ? -1 : 0;
}

/* Set or clear O_NONBLOCK; the child gets a blocking socket. */
static void
fd_blocking(int fd, int on)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return;
	(void)fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

/* "NAME=address" and "NAME=port" of sa into two env strings. */
static void
env_addr(const struct sockaddr *sa, const char *ipname, char *ip,
    size_t iplen, const char *portname, char *port, size_t portlen)
{
	char		host[INET6_ADDRSTRLEN] = "";
	unsigned int	p = 0;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    host, sizeof(host));
		p = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
		    sizeof(host));
		p = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(ip, iplen, "%s=%s", ipname, host);
	snprintf(port, portlen, "%s=%u", portname, p);
}

/* Does env set PATH itself? */
static int
env_has_path(char *const *env)
{
	for (; env != NULL && *env != NULL; env++) {
		if (strncmp(*env, "PATH=", 5) == 0)
			return 1;
	}
	return 0;
}

/*
 * The helper's settings as one argument: "flags:uid:gid:nice:cpu:as:nofile".
 */
static void
helper_arg(const struct spawn_spec *sp, char *buf, size_t len)
{
	snprintf(buf, len, "%d:%lu:%lu:%d:%" PRIu64 ":%" PRIu64 ":%" PRIu64,
	    sp->flags, (unsigned long)sp->uid, (unsigned long)sp->gid,
	    sp->nice, sp->rlim_cpu, sp->rlim_as, sp->rlim_nofile);
}

/*
 * posix_spawn sp with fd as stdin/stdout and errfd as stderr.  Returns 0
 * with *pid, or an errno value.
 */
static int
spawn_exec(const struct spawn_spec *sp, int fd, int errfd, char **envp,
    pid_t *pid)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 all, none;
	char				*argv[SPAWN_ARGV_MAX + 5];
	char				 hbuf[160], self[] = "/proc/self/exe";
	char				 hname[] = SPAWN_HELPER;
	const char			*path = sp->path;
	char *const			*av = sp->argv;
	size_t				 i, n;
	int				 error;

	if (sp->flags != 0 || sp->rlim_cpu != 0 || sp->rlim_as != 0 ||
	    sp->rlim_nofile != 0) {
		/* netsvcd --exec-helper SETTINGS PATH ARGV... */
		helper_arg(sp, hbuf, sizeof(hbuf));
		argv[0] = sp->argv[0];
		argv[1] = hname;
		argv[2] = hbuf;
		argv[3] = (char *)(uintptr_t)sp->path;
		for (n = 0; n < SPAWN_ARGV_MAX && sp->argv[n] != NULL; n++)
			argv[4 + n] = sp->argv[n];
		argv[4 + n] = NULL;
		path = self;
		av = argv;
	}
	sigfillset(&all);
	sigemptyset(&none);
	if ((error = posix_spawn_file_actions_init(&fa)) != 0)
		return error;
	if ((error = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return error;
	}
	if ((error = posix_spawn_file_actions_adddup2(&fa, fd, 0)) != 0 ||
	    (error = posix_spawn_file_actions_adddup2(&fa, fd, 1)) != 0 ||
	    (error = posix_spawn_file_actions_adddup2(&fa, errfd, 2)) != 0 ||
	    (error = posix_spawn_file_actions_addchdir_np(&fa,
	    sp->dir != NULL ? sp->dir : "/")) != 0 ||
	    (error = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (error = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (error = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (error = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP)) != 0)
		goto out;
	error = posix_spawn(pid, path, &fa, &attr, av, envp);
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < sizeof(hbuf); i++)
		hbuf[i] = 0;
	return error;
}

/*
 * Start sp on fd (already admitted) for instance inst on worker w.  The
 * child and its events are set up, but not yet listed.  Returns 0 with
 * *out, or -1 with errno set (nothing left behind).
 */
static int
child_start(struct worker *w, struct instance *inst, int fd, int proto,
    const struct sockaddr *peer, const struct sockaddr *local,
    const struct spawn_spec *sp, struct child **out)
{
	struct child	*c;
	char		*envp[SPAWN_ENV_MAX + 8];
	char		 rip[80], rport[32], lip[80], lport[32];
	char		 proto_env[] = "PROTO=TCP", path_env[] = SPAWN_PATH;
	int		 errp[2], error, e;
	size_t		 n = 0, i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	if (pipe2(errp, O_CLOEXEC) == -1) {
		e = errno;
		free(c);
		errno = e;
		return -1;
	}
	fd_blocking(errp[0], 0);
	if (proto == SERVICE_UDP)
		memcpy(proto_env, "PROTO=UDP", sizeof(proto_env));
	if (!env_has_path(sp->env))
		envp[n++] = path_env;
	envp[n++] = proto_env;
	env_addr(local, "TCPLOCALIP", lip, sizeof(lip), "TCPLOCALPORT",
	    lport, sizeof(lport));
	env_addr(peer, "TCPREMOTEIP", rip, sizeof(rip), "TCPREMOTEPORT",
	    rport, sizeof(rport));
	envp[n++] = lip;
	envp[n++] = lport;
	envp[n++] = rip;
	envp[n++] = rport;
	for (i = 0; sp->env != NULL && sp->env[i] != NULL &&
	    n < SPAWN_ENV_MAX; i++)
		envp[n++] = sp->env[i];
	envp[n] = NULL;

	fd_blocking(fd, 1);
	error = spawn_exec(sp, fd, errp[1], envp, &c->pid);
	close(errp[1]);
	if (error != 0) {
		fd_blocking(fd, 0);
		close(errp[0]);
		free(c);
		errno = error;
		return -1;
	}
	c->d = w->d;
	c->w = w;
	c->inst = inst;
	c->errfd = errp[0];
	c->started = clock_ms();
	sockaddr_format(peer, c->peer, sizeof(c->peer));
	event_assign(&c->ev_err, w->base, c->errfd, EV_READ | EV_PERSIST,
	    child_on_err, c);
	event_add(&c->ev_err, NULL);
	evtimer_assign(&c->timer, w->base, child_on_timer, c);
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd != -1) {
		event_assign(&c->ev_exit, w->base, c->pidfd, EV_READ,
		    child_on_exit, c);
		event_add(&c->ev_exit, NULL);
	} else {
		/* Out of descriptors: poll for the exit instead. */
		log_warn("%s: pidfd_open (child %ld polled)", inst->ic->name,
		    (long)c->pid);
		event_assign(&c->ev_exit, w->base, -1, 0, child_on_exit, c);
	}
	if (inst->ic->lim.max_duration_ms != 0 || c->pidfd == -1) {
		struct timeval	tv;
		uint64_t	ms = inst->ic->lim.max_duration_ms;

		if (c->pidfd == -1 && (ms == 0 || ms > POLL_MS))
			ms = POLL_MS;
		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
		event_add(&c->timer, &tv);
	}
	instance_ref(inst);
	*out = c;
	return 0;
}

/* List a started child and count it. */
static void
child_list(struct child *c)
{
	struct daemon	*d = c->d;

	pthread_mutex_lock(&d->child_lock);
	LIST_INSERT_HEAD(&d->children, c, entry);
	atomic_fetch_add(&d->nchildren, 1);
	pthread_mutex_unlock(&d->child_lock);
	atomic_fetch_add(&c->inst->stats->children, 1);
	atomic_fetch_add_explicit(&c->inst->stats->spawned, 1,
	    memory_order_relaxed);
	log_debug("%s: %s: child %ld started", c->inst->ic->name, c->peer,
	    (long)c->pid);
}

/* Count a failed spawn and log it, at most once a second per instance. */
static void
spawn_failed(struct instance *inst, const char *peer, int error)
{
	unsigned long	n;

	atomic_fetch_add_explicit(&inst->stats->spawn_failed, 1,
	    memory_order_relaxed);
	pthread_mutex_lock(&inst->d->lock);
	n = log_ratelimit(&inst->spawn_log);
	pthread_mutex_unlock(&inst->d->lock);
	if (n > 0)
		log_warnx("%s: %s: cannot start the program: %s (%lu "
		    "failure%s)", inst->ic->name, peer, strerror(error), n,
		    n == 1 ? "" : "s");
}

/*
 * TCP: run sp on the accepted socket fd, whose admission (src) the child
 * keeps until it is reaped.  The caller closes its fd either way.
 * Returns 0, or -1 (counted and logged; the admission stays the caller's).
 */
int
spawn_conn(struct worker *w, struct instance *inst, int fd,
    const struct sockaddr *peer, uint32_t src, const struct spawn_spec *sp)
{
	struct sockaddr_storage	 local;
	socklen_t		 len = sizeof(local);
	struct child		*c;
	char			 buf[64];

	memset(&local, 0, sizeof(local));
	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		local.ss_family = peer->sa_family;
	if (child_start(w, inst, fd, SERVICE_TCP, peer,
	    (struct sockaddr *)&local, sp, &c) == -1) {
		sockaddr_format(peer, buf, sizeof(buf));
		spawn_failed(inst, buf, errno);
		return -1;
	}
	c->admitted = 1;
	c->src = src;
	child_list(c);
	return 0;
}

/*
 * UDP wait: run sp on l's socket and stop reading it until the child
 * exits.  Returns 0, or -1 (counted and logged).
 */
int
spawn_dgram(struct listener *l, const struct sockaddr *peer,
    const struct timespec *stamp, const struct spawn_spec *sp)
{
	struct child	*c;
	char		 buf[64];

	if (child_start(l->w, l->inst, l->fd, SERVICE_UDP, peer,
	    (const struct sockaddr *)&l->ep.addr, sp, &c) == -1) {
		fd_blocking(l->fd, 0);
		sockaddr_format(peer, buf, sizeof(buf));
		spawn_failed(l->inst, buf, errno);
		return -1;
	}
	c->l = l;
	c->stamp = *stamp;
	l->held = 1;
	event_del(l->ev);
	child_list(c);
	return 0;
}

/* A listener goes away (reload, stop): its waiting child forgets it. */
void
spawn_listener_gone(struct listener *l)
{
	struct child	*c;

	pthread_mutex_lock(&l->d->child_lock);
	LIST_FOREACH(c, &l->d->children, entry) {
		if (c->l == l)
			c->l = NULL;
	}
	pthread_mutex_unlock(&l->d->child_lock);
}

/* Log one line the program wrote on stderr, if the instance's rate allows. */
static void
child_log_line(struct child *c, int cut)
{
	struct instance	*inst = c->inst;
	size_t		 i;
	int		 ok;

	for (i = 0; i < c->linelen; i++) {
		if ((unsigned char)c->line[i] < 0x20 || c->line[i] == 0x7f)
			c->line[i] = '?';
	}
	c->line[c->linelen] = '\0';
	pthread_mutex_lock(&inst->d->lock);
	ok = bucket_take(&inst->err_bucket, ERR_RATE, ERR_BURST, clock_ms());
	if (!ok)
		inst->err_dropped++;
	pthread_mutex_unlock(&inst->d->lock);
	c->linelen = 0;
	if (!ok)
		return;
	child_report_dropped(inst);
	log_info("%s[%ld]: %s%s", inst->ic->name, (long)c->pid, c->line,
	    cut ? "..." : "");
}

/*
 * Say how many stderr lines of inst's programs the rate limit dropped,
 * at most once a second per instance: at the next line logged, or when a
 * program is gone.
 */
static void
child_report_dropped(struct instance *inst)
{
	unsigned long	dropped = 0;

	pthread_mutex_lock(&inst->d->lock);
	if (inst->err_dropped > 0 && log_ratelimit(&inst->err_log) > 0) {
		dropped = inst->err_dropped;
		inst->err_dropped = 0;
	}
	pthread_mutex_unlock(&inst->d->lock);
	if (dropped > 0)
		log_warnx("%s: %lu stderr line%s of its programs not logged "
		    "(rate limit)", inst->ic->name, dropped,
		    dropped == 1 ? "" : "s");
}

/* Split n bytes of stderr into lines, each cut at ERR_LINE_MAX. */
static void
child_err_bytes(struct child *c, const char *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!c->cut)
				child_log_line(c, 0);
			c->cut = 0;
			c->linelen = 0;
			continue;
		}
		if (c->cut)
			continue;
		if (c->linelen == ERR_LINE_MAX) {
			child_log_line(c, 1);
			c->cut = 1;
			continue;
		}
		c->line[c->linelen++] = buf[i];
	}
}

/* Close the stderr pipe, logging an unfinished last line. */
static void
child_err_close(struct child *c)
{
	if (c->errfd == -1)
		return;
	event_del(&c->ev_err);
	close(c->errfd);
	c->errfd = -1;
	if (c->linelen > 0 && !c->cut)
		child_log_line(c, 0);
}

/* Read what the program wrote on stderr, a bounded amount per wakeup. */
static void
child_on_err(evutil_socket_t fd, short what, void *arg)
{
	struct child	*c = arg;
	char		 buf[4096];
	ssize_t		 n;
	int		 i;

	UNUSED(what);
	for (i = 0; i < ERR_READS; i++) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			child_err_close(c);
			return;
		}
		child_err_bytes(c, buf, (size_t)n);
	}
}

/*
 * Signal the child's process group (the program and what it forked),
 * or the child alone if the group is gone.  Called with the child
 * listed and unreaped, so its PID is still its own.
 */
static void
child_signal(struct child *c, int sig)
{
	if (kill(-c->pid, sig) == -1 && (c->pidfd == -1 ||
	    pidfd_send_signal(c->pidfd, sig, NULL, 0) == -1))
		(void)kill(c->pid, sig);
	c->signalled = sig;
}

/* max_duration (SIGTERM, then SIGKILL after the grace), or the poll. */
static void
child_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child	*c = arg;
	struct timeval	 tv;
	uint64_t	 max = c->inst->ic->lim.max_duration_ms, now;
	uint64_t	 next = UINT64_MAX;

	UNUSED(fd);
	UNUSED(what);
	if (c->pidfd == -1) {
		child_on_exit(-1, 0, c);	/* may free c */
		return;
	}
	now = clock_ms();
	if (max != 0 && now >= c->started + max && c->signalled == 0) {
		log_info("%s: %s: child %ld ran for max_duration: SIGTERM",
		    c->inst->ic->name, c->peer, (long)c->pid);
		atomic_fetch_add_explicit(&c->inst->stats->timed_out, 1,
		    memory_order_relaxed);
		pthread_mutex_lock(&c->d->child_lock);
		child_signal(c, SIGTERM);
		pthread_mutex_unlock(&c->d->child_lock);
		next = SPAWN_KILL_GRACE_MS;
	} else if (c->signalled == SIGTERM) {
		log_info("%s: %s: child %ld still running: SIGKILL",
		    c->inst->ic->name, c->peer, (long)c->pid);
		pthread_mutex_lock(&c->d->child_lock);
		child_signal(c, SIGKILL);
		pthread_mutex_unlock(&c->d->child_lock);
	} else if (max != 0 && c->signalled == 0)
		next = c->started + max - now;
	if (next != UINT64_MAX) {
		tv.tv_sec = (time_t)(next / 1000);
		tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
		event_add(&c->timer, &tv);
	}
}

/* The pidfd is readable (the child exited), or the poll timer fired. */
static void
child_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct child	*c = arg;
	struct daemon	*d = c->d;
	siginfo_t	 si;
	struct timeval	 tv;
	int		 r;

	UNUSED(fd);
	UNUSED(what);
	memset(&si, 0, sizeof(si));
	pthread_mutex_lock(&d->child_lock);
	do {
		if (c->pidfd != -1)
			r = waitid(P_PIDFD, (id_t)c->pidfd, &si,
			    WEXITED | WNOHANG);
		else
			r = waitid(P_PID, (id_t)c->pid, &si,
			    WEXITED | WNOHANG);
	} while (r == -1 && errno == EINTR);
	if (r == 0 && si.si_pid != 0)
		LIST_REMOVE(c, entry);
	pthread_mutex_unlock(&d->child_lock);
	if (r == -1) {
		log_warn("%s: waitid %ld", c->inst->ic->name, (long)c->pid);
		si.si_pid = c->pid;	/* not our child: forget it */
		si.si_code = CLD_KILLED;
		si.si_status = 0;
		pthread_mutex_lock(&d->child_lock);
		LIST_REMOVE(c, entry);
		pthread_mutex_unlock(&d->child_lock);
	} else if (si.si_pid == 0) {
		if (c->pidfd == -1) {
			tv.tv_sec = 0;
			tv.tv_usec = POLL_MS * 1000;
			event_add(&c->timer, &tv);
		} else
			event_add(&c->ev_exit, NULL);
		return;
	}
	child_done(c, &si);
}

/*
 * The child was reaped: log, count, give back the admission or the UDP
 * socket, and free it.
 */
static void
child_done(struct child *c, const siginfo_t *si)
{
	struct daemon	*d = c->d;
	struct instance	*inst = c->inst;
	enum child_exit	 how;
	char		 status[48];
	int		 i;

	/* What the program wrote before it exited; grandchildren lose. */
	for (i = 0; i < 16 && c->errfd != -1; i++)
		child_on_err(c->errfd, EV_READ, c);
	child_err_close(c);
	child_report_dropped(inst);
	event_del(&c->ev_exit);
	event_del(&c->timer);
	if (c->pidfd != -1)
		close(c->pidfd);
	if (si->si_code == CLD_EXITED) {
		how = si->si_status == 0 ? CHILD_EXIT_OK : CHILD_EXIT_ERROR;
		snprintf(status, sizeof(status), "exit %d", si->si_status);
	} else {
		how = CHILD_EXIT_SIGNAL;
		snprintf(status, sizeof(status), "signal %d (%s)",
		    si->si_status, strsignal(si->si_status));
	}
	atomic_fetch_add_explicit(&inst->stats->exits[how], 1,
	    memory_order_relaxed);
	atomic_fetch_sub(&inst->stats->children, 1);
	if (inst->ic->lim.log_connections == LOG_CONN_CLOSE)
		log_info("%s: %s: child %ld %s after %llu ms", inst->ic->name,
		    c->peer, (long)c->pid, status,
		    (unsigned long long)(clock_ms() - c->started));
	if (c->l != NULL) {
		c->l->held = 0;
		fd_blocking(c->l->fd, 0);
		dgram_wait_done(c->l, &c->stamp);
		if (!atomic_load(&d->stopping))
			event_add(c->l->ev, NULL);
	}
	atomic_fetch_sub(&d->nchildren, 1);
	if (c->admitted)
		instance_release(inst, c->src);	/* may end a stop */
	else
		daemon_conn_gone(d);
	instance_unref(inst);
	free(c);
}

/*
 * shutdown_timeout passed: SIGTERM to every child, SIGKILL after the
 * grace.  Returns the number of children still running.
 */
int
spawn_shutdown(struct daemon *d)
{
	struct child	*c;
	struct timeval	 tv;
	unsigned int	 n = 0;

	atomic_store(&d->shutdown_expired, 1);
	pthread_mutex_lock(&d->child_lock);
	LIST_FOREACH(c, &d->children, entry) {
		child_signal(c, SIGTERM);
		n++;
	}
	pthread_mutex_unlock(&d->child_lock);
	if (n > 0) {
		log_notice("shutdown_timeout: SIGTERM to %u program%s, "
		    "SIGKILL in %d ms", n, n == 1 ? "" : "s",
		    SPAWN_KILL_GRACE_MS);
		tv.tv_sec = SPAWN_KILL_GRACE_MS / 1000;
		tv.tv_usec = (SPAWN_KILL_GRACE_MS % 1000) * 1000;
		event_add(d->ev_child_kill, &tv);
	}
	return (int)n;
}

/* The grace after the shutdown SIGTERM is over. */
static void
spawn_on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct child	*c;

	UNUSED(fd);
	UNUSED(what);
	pthread_mutex_lock(&d->child_lock);
	LIST_FOREACH(c, &d->children, entry) {
		log_notice("%s: child %ld still running: SIGKILL",
		    c->inst->ic->name, (long)c->pid);
		child_signal(c, SIGKILL);
	}
	pthread_mutex_unlock(&d->child_lock);
}

/* SIGUSR1: one line per running child. */
void
spawn_dump(struct daemon *d)
{
	struct child	*c;
	uint64_t	 now = clock_ms();

	pthread_mutex_lock(&d->child_lock);
	log_notice("status: %u program%s running", atomic_load(&d->nchildren),
	    atomic_load(&d->nchildren) == 1 ? "" : "s");
	LIST_FOREACH(c, &d->children, entry)
		log_notice("status: %s child %ld for %s%s, running %llu ms",
		    c->inst->ic->name, (long)c->pid, c->peer,
		    c->l != NULL ? " (udp wait)" : "",
		    (unsigned long long)(now - c->started));
	pthread_mutex_unlock(&d->child_lock);
}

/*
 * -t notes for instances that hand their sockets to programs: the
 * per-connection limits of the host cannot apply to them.
 */
void
spawn_check_config(const struct config *conf, FILE *fp)
{
	const struct instance_conf	*ic;

	TAILQ_FOREACH(ic, &conf->instances, entry) {
		if (!ic->service->spawns)
			continue;
		/* Set in the section: not the [daemon] value it inherits. */
		if (ic->idle_timeout_ms != conf->daemon.idle_timeout_ms ||
		    ic->lim.write_timeout_ms !=
		    conf->daemon.lim.write_timeout_ms ||
		    ic->lim.max_bytes != conf->daemon.lim.max_bytes)
			fprintf(fp, "%s:%d: warning: [%s]: idle_timeout, "
			    "write_timeout and max_bytes do not apply to a "
			    "program that owns its socket (use max_duration)\n",
			    conf->path, ic->line, ic->name);
	}
}

/*
 * netsvcd --exec-helper SETTINGS PATH ARGV...: the child side of the
 * settings posix_spawn cannot make.  Sets resource limits, nice, group
 * and user, then execs PATH with its environment.  Only returns (127) on
 * failure, after a line on stderr (the daemon's log).
 */
int
spawn_helper_main(int argc, char **argv)
{
	struct rlimit	 rl;
	long long	 v[7];
	char		*p, *end;
	gid_t		 gid;
	int		 i;

	if (argc < 5)
		goto bad;
	p = argv[2];
	for (i = 0; i < 7; i++) {
		errno = 0;
		v[i] = strtoll(p, &end, 10);
		if (end == p || errno != 0 || (i < 3 && v[i] < 0) ||
		    (i > 3 && v[i] < 0) || *end != (i < 6 ? ':' : '\0'))
			goto bad;
		p = end + 1;
	}
	if (v[4] != 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)v[4];
		if (setrlimit(RLIMIT_CPU, &rl) == -1)
			goto fail;
	}
	if (v[5] != 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)v[5];
		if (setrlimit(RLIMIT_AS, &rl) == -1)
			goto fail;
	}
	if (v[6] != 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)v[6];
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			goto fail;
	}
	if ((v[0] & SPAWN_NICE) &&
	    setpriority(PRIO_PROCESS, 0, (int)(int64_t)v[3]) == -1)
		goto fail;
	if (v[0] & (SPAWN_SETGID | SPAWN_SETUID)) {
		gid = (v[0] & SPAWN_SETGID) ? (gid_t)v[2] : getgid();
		if (setgroups(1, &gid) == -1 || setgid(gid) == -1)
			goto fail;
	}
	if ((v[0] & SPAWN_SETUID) && setuid((uid_t)v[1]) == -1)
		goto fail;
	execv(argv[3], argv + 4);
	goto fail;
bad:
	fprintf(stderr, "netsvcd exec helper: bad arguments\n");
	return 127;
fail:
	fprintf(stderr, "netsvcd exec helper: %s: %s\n", argv[3],
	    strerror(errno));
	return 127;
}
