/*
 * reactor.c: the daemon object, its event loop and its life: start (bind
 * every endpoint, then tell systemd), signals as libevent events, and a
 * graceful stop that lets connections finish up to shutdown_timeout.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "netsvcd.h"

enum { SIG_TERM, SIG_INT, SIG_HUP, SIG_USR1, SIG_USR2, SIG_COUNT };

#define STATUS_INTERVAL_S	10	/* STATUS= refresh, under systemd */

static void	daemon_on_signal(evutil_socket_t, short, void *);
static void	daemon_on_shutdown_timer(evutil_socket_t, short, void *);
static void	daemon_on_drain_timer(evutil_socket_t, short, void *);
static void	daemon_terminate(struct daemon *);
static void	daemon_finish(struct daemon *);
static void	daemon_on_sweep(evutil_socket_t, short, void *);
static void	status_endpoints(struct daemon *, struct instance *);
static void	daemon_summary(struct daemon *, const char *, char *, size_t);
static void	daemon_on_status(evutil_socket_t, short, void *);
static void	daemon_on_logflush(evutil_socket_t, short, void *);
static void	daemon_raise_nofile(void);
static void	daemon_check_nofile(struct daemon *);
static void	daemon_ready_log(struct daemon *, const char *);

/* Use every descriptor the hard limit allows (as inetd's bump_nofile). */
static void
daemon_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

/*
 * Make the daemon and its event loops (nworkers of them); daemon_start()
 * gives it a config.
 */
struct daemon *
daemon_new(unsigned int nworkers)
{
	static const int	 signo[SIG_COUNT] = {
		[SIG_TERM] = SIGTERM, [SIG_INT] = SIGINT,
		[SIG_HUP] = SIGHUP, [SIG_USR1] = SIGUSR1,
		[SIG_USR2] = SIGUSR2,
	};
	struct daemon		*d;
	int			 i;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->reserve_fd = -1;
	d->lock_fd = -1;
	TAILQ_INIT(&d->instances);
	TAILQ_INIT(&d->listeners);
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->limits.lock, NULL);
	pthread_mutex_init(&d->park_mtx, NULL);
	pthread_cond_init(&d->park_cv, NULL);
	if (workers_init(d, nworkers) == -1 || spawn_init(d) == -1 ||
	    (d->ev_shutdown = evtimer_new(d->base, daemon_on_shutdown_timer,
	    d)) == NULL ||
	    (d->ev_drain = evtimer_new(d->base, daemon_on_drain_timer,
	    d)) == NULL ||
	    (d->ev_sweep = event_new(d->base, -1, 0, daemon_on_sweep,
	    d)) == NULL)
		goto fail;
	for (i = 0; i < SIG_COUNT; i++) {
		d->ev_sig[i] = evsignal_new(d->base, signo[i],
		    daemon_on_signal, d);
		if (d->ev_sig[i] == NULL || event_add(d->ev_sig[i], NULL) == -1)
			goto fail;
	}
	return d;
fail:
	daemon_free(d);
	return NULL;
}

/*
 * Serve a validated config: adopt sockets passed by systemd, bind every
 * other endpoint.  All or nothing: on failure, logs why and returns -1
 * (the caller exits).  Takes over the reference to conf either way.
 */
int
daemon_start(struct daemon *d, struct config *conf)
{
	struct timeval	 tv;
	char		*cause;
	uint32_t	 cap;
	size_t		 n;

	daemon_raise_nofile();
	clock_gettime(CLOCK_MONOTONIC, &d->started);
	d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Above max_connections, so an unpinned entry is always there. */
	cap = conf->daemon.max_sources;
	if (cap < conf->daemon.max_connections + 64)
		cap = conf->daemon.max_connections + 64;
	d->sources = source_table_new(cap, conf->daemon.source_prefix4 ?
	    conf->daemon.source_prefix4 : 32, conf->daemon.source_prefix6 ?
	    conf->daemon.source_prefix6 : 64);
	if (d->sources == NULL) {
		log_err("source table");
		config_unref(conf);
		return -1;
	}
	if (systemd_listen_fds(&d->passed_fds, &d->npassed) == -1)
		log_warnx("socket activation: cannot read LISTEN_FDS");
	if (daemon_apply(d, conf, &cause) == -1) {
		log_errx("cannot listen on %s", cause ? cause : "(no memory)");
		free(cause);
		config_unref(conf);
		return -1;
	}
	reexec_adopt(d);	/* connections handed over by SIGUSR2 */
	/* A passed socket left over would accept and never answer. */
	if ((n = listener_close_passed(d)) > 0) {
		log_warnx("socket activation: %zu passed socket%s match%s no "
		    "endpoint of %s: make the socket unit (ListenStream=, "
		    "ListenDatagram=) and the listen lines agree", n,
		    n == 1 ? "" : "s", n == 1 ? "es" : "", d->conf->path);
		return -1;
	}
	/* metrics.c: bound with the listeners, before privileges go. */
	if (d->conf->daemon.metrics) {
		d->metrics = metrics_start(d, &d->conf->daemon.metrics_listen,
		    &cause);
		if (d->metrics == NULL) {
			log_errx("cannot serve metrics: %s",
			    cause ? cause : "(no memory)");
			free(cause);
			return -1;
		}
	}
	if (priv_drop(d->conf->daemon.user, d->conf->daemon.group,
	    &cause) == -1) {
		log_errx("cannot drop privileges: %s",
		    cause ? cause : "(no memory)");
		free(cause);
		return -1;
	}
	if (workers_start(d) == -1)
		return -1;
	d->ev_watchdog = systemd_watchdog_start(d->base, !reexec_by_signal(d));
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	if ((d->ev_logflush = event_new(d->base, -1, EV_PERSIST,
	    daemon_on_logflush, d)) == NULL ||
	    event_add(d->ev_logflush, &tv) == -1)
		log_warnx("cannot start the log flush timer");
	if (systemd_notifying()) {
		tv.tv_sec = STATUS_INTERVAL_S;
		tv.tv_usec = 0;
		if ((d->ev_status = event_new(d->base, -1, EV_PERSIST,
		    daemon_on_status, d)) == NULL ||
		    event_add(d->ev_status, &tv) == -1)
			log_warnx("cannot start the status timer");
	}
	control_publish(0, 1, "started");	/* before READY=1 */
	if (reexec_ready(d)) {
		daemon_ready_log(d, "");	/* the old process tells systemd */
		fdstore_refresh_later(d);
	} else {
		daemon_ready(d, "");
		fdstore_refresh(d);	/* a crash keeps the listeners */
	}
	return 0;
}

/* The one-line summary for STATUS= and the log. */
static void
daemon_summary(struct daemon *d, const char *prefix, char *buf, size_t len)
{
	struct instance	*inst;
	struct listener	*l;
	int		 ni = 0, nl = 0;
	unsigned int	 nc = atomic_load(&d->nconns);

	TAILQ_FOREACH(inst, &d->instances, entry) {
		if (inst->state == INSTANCE_CURRENT)
			ni++;
	}
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->w->id == 0)
			nl++;	/* each endpoint once, whatever the workers */
	}
	snprintf(buf, len, "%s%d instance%s, %d endpoint%s, %u connection%s",
	    prefix, ni, ni == 1 ? "" : "s", nl, nl == 1 ? "" : "s", nc,
	    nc == 1 ? "" : "s");
}

/*
 * Say so when max_connections cannot be reached: past the descriptor
 * limit, connections are refused (listener.c's EMFILE path) long before
 * max_connections counts them.
 */
static void
daemon_check_nofile(struct daemon *d)
{
	struct listener	*l;
	struct rlimit	 rl;
	unsigned long	 need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return;
	/* Connections, listeners, the workers' pipes, a few to spare. */
	need = d->conf->daemon.max_connections + 2UL * d->nworkers + 16;
	if (d->conf->daemon.metrics)
		need += d->conf->daemon.metrics_max_connections + 1UL;
	TAILQ_FOREACH(l, &d->listeners, entry)
		need++;
	if (need > rl.rlim_cur)
		log_warnx("max_connections = %u needs about %lu descriptors, "
		    "but RLIMIT_NOFILE allows %llu: raise it (LimitNOFILE=, "
		    "ulimit -n) or lower max_connections",
		    d->conf->daemon.max_connections, need,
		    (unsigned long long)rl.rlim_cur);
}

/* Tell the log that we are serving, and what. */
static void
daemon_ready_log(struct daemon *d, const char *prefix)
{
	char	status[160];

	daemon_check_nofile(d);
	daemon_summary(d, prefix, status, sizeof(status));
	log_notice("netsvcd %s ready: %s", NETSVCD_VERSION, status);
}

/* Tell the log and systemd that we are serving, and what. */
void
daemon_ready(struct daemon *d, const char *prefix)
{
	char	status[160];

	daemon_ready_log(d, prefix);
	daemon_summary(d, prefix, status, sizeof(status));
	systemd_ready(status);
}

/*
 * Every second: log what the rate limits of the refusal, drop and limit
 * lines held back, so that the end of a burst is in the log at once.
 */
static void
daemon_on_logflush(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct instance	*inst;

	UNUSED(fd);
	UNUSED(what);
	TAILQ_FOREACH(inst, &d->instances, entry)
		instance_log_flush(inst);
	limits_flush(&d->limits);
}

/* Keep STATUS= (systemctl status) current while a manager listens. */
static void
daemon_on_status(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	char		 status[160];

	UNUSED(fd);
	UNUSED(what);
	if (atomic_load(&d->stopping))
		return;
	daemon_summary(d, "", status, sizeof(status));
	systemd_status(status);
}

/* Run the loop until stopped.  Returns 0, or -1 if the loop failed. */
int
daemon_run(struct daemon *d)
{
	if (event_base_dispatch(d->base) == -1) {
		log_errx("the event loop failed");
		return -1;
	}
	return 0;
}

/*
 * Graceful stop: close the listeners, let connections finish, and end the
 * loop when the last one is gone or shutdown_timeout passes.
 */
void
daemon_stop(struct daemon *d)
{
	uint64_t	ms = d->conf->daemon.shutdown_timeout_ms;
	unsigned int	n = atomic_load(&d->nconns);
	struct timeval	tv;

	if (atomic_load(&d->stopping))
		return;
	atomic_store(&d->stopping, 1);
	workers_park(d);
	listener_close_all(d);
	workers_unpark(d);
	/* After the close: from STOPPING=1 on, no worker accepts any more. */
	if (!d->handed_over)	/* systemd follows the new process now */
		systemd_stopping();
	metrics_stop(d->metrics);	/* metrics.c */
	d->metrics = NULL;
	if (atomic_load(&d->nconns) == 0 && atomic_load(&d->nchildren) == 0) {
		log_notice("stopping");
		event_base_loopbreak(d->base);
		return;
	}
	/* exec: TCP programs hold connections, UDP ones only the socket. */
	log_notice("stopping: waiting up to %llu ms for %u connection%s "
	    "(%u program%s running)", (unsigned long long)ms, n,
	    n == 1 ? "" : "s", atomic_load(&d->nchildren),
	    atomic_load(&d->nchildren) == 1 ? "" : "s");
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(d->ev_shutdown, &tv);
}

/*
 * A connection or a spawned program is gone: the last one ends a graceful
 * stop (once shutdown_timeout passed, the last program: connections are
 * closed then).  Any worker may call this; breaking the main loop from
 * another thread is safe.
 */
void
daemon_conn_gone(struct daemon *d)
{
	if (atomic_load(&d->stopping) && atomic_load(&d->nchildren) == 0 &&
	    (atomic_load(&d->nconns) == 0 || atomic_load(&d->shutdown_expired)))
		event_base_loopbreak(d->base);
}

/*
 * SIGTERM: with drain_delay, first keep serving with /ready at 503 so that
 * a balancer moves new connections elsewhere, then stop.  A second signal
 * stops at once.
 */
static void
daemon_terminate(struct daemon *d)
{
	uint64_t	ms = d->conf->daemon.drain_delay_ms;
	struct timeval	tv;

	if (ms == 0 || atomic_load(&d->draining) ||
	    atomic_load(&d->stopping)) {
		event_del(d->ev_drain);
		daemon_finish(d);
		return;
	}
	atomic_store(&d->draining, 1);
	log_notice("draining: /ready answers 503, stopping in %llu ms",
	    (unsigned long long)ms);
	systemd_status("draining: still serving, /ready answers 503");
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(d->ev_drain, &tv);
}

/* drain_delay is over: the graceful stop proper. */
static void
daemon_on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	daemon_finish(arg);
}

/*
 * The stop after drain_delay, if any.  Under systemd with a store, after a
 * SIGTERM, the listeners and the connections that can go there first:
 * a restart keeps them all.  After a SIGINT the store is emptied instead.
 */
static void
daemon_finish(struct daemon *d)
{
	if (d->stop_to_store)
		(void)fdstore_stop(d);
	else
		fdstore_close(d);
	daemon_stop(d);
}

static void
daemon_on_shutdown_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	UNUSED(fd);
	UNUSED(what);
	/* Programs get SIGTERM, then SIGKILL; the loop ends at the last. */
	if (spawn_shutdown(d) > 0)
		return;
	log_notice("shutdown_timeout: closing %u connection%s",
	    atomic_load(&d->nconns), atomic_load(&d->nconns) == 1 ? "" : "s");
	event_base_loopbreak(d->base);	/* daemon_free closes the rest */
}

/* Free the instances whose last connection went away. */
static void
daemon_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	instance_sweep(arg);
}

/* Signals arrive here as ordinary events, never in a handler. */
static void
daemon_on_signal(evutil_socket_t signo, short what, void *arg)
{
	struct daemon	*d = arg;

	UNUSED(what);
	switch (signo) {
	case SIGTERM:
	case SIGINT:
		log_notice("%s received", strsignal((int)signo));
		reexec_abort(d);
		if (signo == SIGTERM)
			d->stop_to_store = 1;
		daemon_terminate(d);
		break;
	case SIGHUP:
		if (atomic_load(&d->draining))
			log_notice("draining: SIGHUP ignored");
		else if (d->rx != NULL)
			log_notice("handover under way: SIGHUP ignored");
		else if (!atomic_load(&d->stopping))
			daemon_reload(d);
		break;
	case SIGUSR1:
		daemon_status_dump(d);
		break;
	case SIGUSR2:
		reexec_start(d);
		break;
	}
}

/* The sum of a counter array. */
static unsigned long
status_sum(atomic_ulong *v, int n)
{
	unsigned long	sum = 0;
	int		i;

	for (i = 0; i < n; i++)
		sum += atomic_load(&v[i]);
	return sum;
}

/* Write one line per instance with its counters (SIGUSR1). */
void
daemon_status_dump(struct daemon *d)
{
	struct instance		*inst;
	struct instance_stats	*s;
	char			 from[160];

	char			 buf[512];
	size_t			 len = 0;
	int			 k, n;

	log_notice("status: %u open connection%s", atomic_load(&d->nconns),
	    atomic_load(&d->nconns) == 1 ? "" : "s");
	for (k = 0; k < LIMIT_COUNT; k++) {
		n = snprintf(buf + len, sizeof(buf) - len, " %s %lu",
		    limit_name((enum limit)k),
		    limit_hits(&d->limits, (enum limit)k));
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break;
		len += (size_t)n;
	}
	log_notice("status: limit hits:%s", buf);
	TAILQ_FOREACH(inst, &d->instances, entry) {
		s = inst->stats;
		if (inst->ic->module != NULL)
			snprintf(from, sizeof(from), "module %s %s",
			    module_name(inst->ic->module),
			    module_version(inst->ic->module));
		else
			snprintf(from, sizeof(from), "built-in");
		log_notice("status: %s (%s, %s%s): open %u accepted %lu "
		    "refused %lu timed_out %lu bytes_in %lu bytes_out %lu "
		    "dgrams_in %lu dgrams_out %lu dropped %lu", inst->ic->name,
		    inst->ic->service->name, from,
		    inst->state == INSTANCE_RETIRED ? ", retired" : "",
		    atomic_load(&inst->nconns),
		    atomic_load(&s->accepted), status_sum(s->refused, REFUSE_COUNT),
		    atomic_load(&s->timed_out),
		    status_sum(s->bytes_in, PROTO_COUNT),
		    status_sum(s->bytes_out, PROTO_COUNT),
		    atomic_load(&s->dgrams_in),
		    atomic_load(&s->dgrams_out),
		    status_sum(s->dropped, DROP_COUNT));
		status_endpoints(d, inst);
	}
	spawn_dump(d);
}

/* One status line with the endpoints an instance listens on. */
static void
status_endpoints(struct daemon *d, struct instance *inst)
{
	struct listener	*l;
	char		 buf[1024];
	size_t		 len = 0;
	int		 n;

	buf[0] = '\0';
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->inst != inst || l->w->id != 0)
			continue;
		n = snprintf(buf + len, sizeof(buf) - len, " %s", l->ep.text);
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break;
		len += (size_t)n;
	}
	if (len > 0)
		log_notice("status: %s listens on%s", inst->ic->name, buf);
}

/* Free everything, so that valgrind and LeakSanitizer see a clean exit. */
void
daemon_free(struct daemon *d)
{
	int	i;

	if (d == NULL)
		return;
	reexec_cleanup(d);
	workers_park(d);
	listener_close_all(d);
	workers_unpark(d);
	workers_stop(d);
	instance_sweep(d);
	metrics_stop(d->metrics);	/* metrics.c */
	d->metrics = NULL;
	for (i = 0; i < SIG_COUNT; i++) {
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	}
	if (d->ev_shutdown != NULL)
		event_free(d->ev_shutdown);
	if (d->ev_drain != NULL)
		event_free(d->ev_drain);
	if (d->ev_sweep != NULL)
		event_free(d->ev_sweep);
	if (d->ev_watchdog != NULL)
		event_free(d->ev_watchdog);
	if (d->ev_status != NULL)
		event_free(d->ev_status);
	if (d->ev_logflush != NULL)
		event_free(d->ev_logflush);
	spawn_free(d);
	workers_free(d);
	source_table_free(d->sources);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->limits.lock);
	pthread_mutex_destroy(&d->park_mtx);
	pthread_cond_destroy(&d->park_cv);
	if (d->reserve_fd != -1)
		close(d->reserve_fd);
	for (i = 0; i < (int)d->npassed; i++) {
		if (d->passed_fds[i] != -1)
			close(d->passed_fds[i]);
	}
	free(d->passed_fds);
	reexec_inherit_free(d->hin);
	if (d->conf != NULL)
		config_unref(d->conf);
	free(d);
}
