/*
 * fdstore.c: restart under systemd without dropping a connection.
 *
 * With FileDescriptorStoreMax= (the unit also exports it as $FDSTORE, as
 * systemd 254 and later do themselves), the daemon keeps systemd's fd
 * store current: while it serves, the store holds its listening sockets
 * and a sealed memfd describing them (handover.c's format), so that a
 * crash with Restart=on-failure finds the ports still bound.  On SIGTERM
 * it stops reading, describes its established connections as well, and
 * pushes them with the listeners and the new memfd; the next start finds
 * them in LISTEN_FDS (reexec_inherit_store) and carries on byte-exact.
 *
 * systemd 252 keeps the store across "systemctl restart" and automatic
 * restarts, and closes it when the unit ends up inactive or failed
 * without a job queued ("systemctl stop"): then the sockets close there.
 * Sockets of netsvcd.socket are never pushed: systemd holds them anyway.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "netsvcd.h"

/* One push under way: the descriptors, by kind, and the conns saved. */
struct fdstore_push {
	int		*lfds;
	size_t		 nlfds;
	int		*cfds;
	struct conn	**conns;
	size_t		 nconns;
};

/* Whether fd is the same socket as one of fds[0..n). */
static int
fdstore_same_socket(int fd, const int *fds, size_t n)
{
	struct stat	a, b;
	size_t		i;

	if (fstat(fd, &a) == -1)
		return 1;	/* not pushed */
	for (i = 0; i < n; i++) {
		if (fstat(fds[i], &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return 1;
	}
	return 0;
}

/*
 * Describe the listeners bound here (not those of netsvcd.socket), each
 * socket once: workers sharing one socket share one record.
 */
static int
fdstore_save_listeners(struct daemon *d, struct handover_state *st,
    struct fdstore_push *p)
{
	struct ho_listener	*hl;
	struct listener		*l;
	size_t			 n = 0;

	TAILQ_FOREACH(l, &d->listeners, entry)
		n++;
	if ((p->lfds = calloc(n + 1, sizeof(int))) == NULL)
		return -1;
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->activated || l->fd == -1 ||
		    fdstore_same_socket(l->fd, p->lfds, p->nlfds))
			continue;
		if ((hl = handover_add_listener(st)) == NULL)
			return -1;
		hl->fd = l->fd;
		hl->proto = l->ep.proto;
		hl->worker = l->w->id;
		snprintf(hl->instance, sizeof(hl->instance), "%s",
		    l->inst->ic->name);
		memcpy(&hl->cfg, &l->cfg.addr, sizeof(hl->cfg));
		memcpy(&hl->bound, &l->ep.addr, sizeof(hl->bound));
		p->lfds[p->nlfds++] = l->fd;
	}
	return 0;
}

/* The connections for the store, up to room descriptors.  0 or -1. */
static int
fdstore_save_conns(struct daemon *d, struct handover_state *st,
    struct fdstore_push *p, size_t room)
{
	ssize_t	n;

	if ((n = conns_handover_save(d, st, room, &p->conns, &p->cfds)) == -1)
		return -1;
	p->nconns = (size_t)n;
	return 0;
}

/*
 * How many connections go to a store of max entries beside nlfds
 * listeners and the state: no more than the next start can be passed
 * (systemd_fdstore_conn_room).  The others drain here.
 */
static size_t
fdstore_conn_room(unsigned long max, size_t nlfds)
{
	size_t	room = max - nlfds - 1, names;

	names = systemd_fdstore_conn_room(nlfds);
	return names < room ? names : room;
}

/* Seal st into a memfd and push everything, the memfd last.  0 or -1. */
static int
fdstore_send(struct handover_state *st, struct fdstore_push *p)
{
	unsigned char	*buf = NULL;
	char		*cause = NULL;
	size_t		 len;
	int		 memfd = -1, ret = -1;

	if (handover_encode(st, &buf, &len, &cause) == -1 ||
	    (memfd = handover_seal(buf, len, &cause)) == -1) {
		log_warnx("fd store: %s", cause ? cause : "out of memory");
		goto out;
	}
	systemd_fdstore_clear();
	if (systemd_fdstore_push(p->lfds, p->nlfds, FDSTORE_LISTENER) == -1 ||
	    systemd_fdstore_push(p->cfds, p->nconns, FDSTORE_CONN) == -1 ||
	    systemd_fdstore_push(&memfd, 1, FDSTORE_STATE) == -1) {
		log_warnx("fd store: cannot push: %s", strerror(errno));
		systemd_fdstore_clear();
		goto out;
	}
	ret = 0;
out:
	if (memfd != -1)
		close(memfd);
	free(buf);
	free(cause);
	return ret;
}

/* Free a push's arrays. */
static void
fdstore_push_free(struct fdstore_push *p)
{
	free(p->lfds);
	free(p->cfds);
	free(p->conns);
}

/*
 * While serving (after the start and each reload): the store holds the
 * listeners and a state that names them, nothing else.  A no-op without
 * a store.
 */
void
fdstore_refresh(struct daemon *d)
{
	struct handover_state	*st;
	struct fdstore_push	 p;
	unsigned long		 max = systemd_fdstore_max();

	if (max == 0 || atomic_load(&d->stopping) || d->handed_over)
		return;
	memset(&p, 0, sizeof(p));
	if ((st = handover_state_new()) == NULL)
		return;
	st->pid = (uint32_t)getpid();
	st->stopped_us = 0;	/* still accepting: read back after a crash */
	workers_park(d);
	if (fdstore_save_listeners(d, st, &p) == 0 && p.nlfds + 1 <= max &&
	    fdstore_send(st, &p) == 0)
		log_info("fd store: %zu listener%s kept by systemd",
		    p.nlfds, p.nlfds == 1 ? "" : "s");
	else
		log_warnx("fd store: listeners not stored (%zu, store of %lu)",
		    p.nlfds, max);
	workers_unpark(d);
	handover_state_free(st);
	fdstore_push_free(&p);
}

/* event_base_once: the store after a SIGUSR2 handover (see below). */
static void
fdstore_on_later(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	fdstore_refresh(arg);
}

/*
 * After a SIGUSR2 handover, systemd hears from this process only once the
 * old one said MAINPID= (NotifyAccess=main): refresh the store a little
 * later.
 */
void
fdstore_refresh_later(struct daemon *d)
{
	struct timeval	tv = { 2, 0 };

	if (systemd_fdstore_max() == 0)
		return;
	if (event_base_once(d->base, -1, EV_TIMEOUT, fdstore_on_later, d,
	    &tv) == -1)
		log_warnx("fd store: cannot schedule the refresh");
}

/*
 * SIGTERM with a store: stop accepting and reading, push listeners,
 * connections and the state, wait until systemd has them, and let go of
 * the connections pushed (no FIN: systemd holds them).  The caller then
 * stops as usual; what could not be pushed drains.  Returns 0 when the
 * store has it all, -1 when nothing was pushed (a normal stop follows).
 */
int
fdstore_stop(struct daemon *d)
{
	struct handover_state	*st;
	struct fdstore_push	 p;
	struct listener		*l;
	unsigned long		 max = systemd_fdstore_max();
	size_t			 i;
	unsigned int		 w;
	int			 ok, sent = 0;

	if (max == 0 || d->handed_over || d->rx != NULL ||
	    atomic_load(&d->stopping))
		return -1;
	memset(&p, 0, sizeof(p));
	if ((st = handover_state_new()) == NULL)
		return -1;
	st->pid = (uint32_t)getpid();
	st->stopped_us = handover_now_us();
	workers_park(d);
	for (w = 0; w < d->nworkers; w++)
		event_del(d->workers[w].ev_resume);	/* an EMFILE pause */
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->ev != NULL)
			event_del(l->ev);
	}
	ok = fdstore_save_listeners(d, st, &p) == 0 &&
	    p.nlfds + 1 <= max &&
	    reexec_save_instances(d, st) == 0 &&
	    fdstore_save_conns(d, st, &p,
	    fdstore_conn_room(max, p.nlfds)) == 0 &&
	    (sent = fdstore_send(st, &p) == 0) && systemd_barrier() == 0;
	if (sent && !ok)
		systemd_fdstore_clear();	/* never served twice */
	for (i = 0; i < p.nconns; i++)
		conn_handover_done(p.conns[i], ok);
	if (!ok) {
		for (w = 0; w < d->nworkers; w++)
			listener_resume(&d->workers[w]);	/* as they were */
	}
	workers_unpark(d);
	if (ok)
		log_notice("fd store: %zu listener%s and %zu connection%s "
		    "kept by systemd for the next start; %u left here to "
		    "drain", p.nlfds, p.nlfds == 1 ? "" : "s", p.nconns,
		    p.nconns == 1 ? "" : "s", atomic_load(&d->nconns));
	else
		log_warnx("fd store: connections not stored; stopping as "
		    "usual");
	handover_state_free(st);
	fdstore_push_free(&p);
	return ok ? 0 : -1;
}

/*
 * A stop for good under the store (SIGINT: "netsvcd -s stop" under
 * "systemctl stop"): take the listeners out of it, so that the ports
 * refuse now, as without a store, instead of queueing clients that
 * systemd resets once the unit is down.  The connections finish here.
 */
void
fdstore_close(struct daemon *d)
{
	if (systemd_fdstore_max() == 0 || d->handed_over ||
	    atomic_load(&d->stopping))
		return;
	systemd_fdstore_clear();
	log_info("fd store: emptied, a stop without restart");
}
