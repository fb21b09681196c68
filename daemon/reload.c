/*
 * reload.c: configuration generations.  daemon_apply() builds the
 * instances and listeners of a new config beside the running ones and then
 * swaps them in, all or nothing (OpenBSD inetd's mark, match, swap, sweep).
 * The same path starts the daemon: the first generation simply has no
 * predecessor.
 *
 * Listeners are matched by identity (protocol, address, port as
 * configured): a kept endpoint keeps its very socket, so nothing queued on
 * it is lost and no client is refused during a reload.  An endpoint
 * configured with port 0 never matches: each load binds a new port.  Connections keep a
 * reference to the instance they were accepted by and finish under the
 * settings they started with.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"

static int	apply_stage(struct daemon *, struct config *, char **cause);
static void	apply_rollback(struct daemon *);
static void	apply_commit(struct daemon *, struct config *);
static void	apply_check_immutable(const struct config *,
		    const struct config *);
static void	apply_udp_ports(struct daemon *);

/* Build every new instance and open every new endpoint (state STAGED). */
static int
apply_stage(struct daemon *d, struct config *nc, char **cause)
{
	struct instance_conf	*ic;
	struct instance		*inst, *prev;
	struct listener		*l, *first;
	size_t			 i;
	unsigned int		 k;

	TAILQ_FOREACH(ic, &nc->instances, entry) {
		if (!ic->enabled)
			continue;
		prev = instance_find(d, ic->name, 1);
		inst = instance_new(d, ic, prev != NULL ? prev->stats : NULL);
		if (inst == NULL) {
			if (asprintf(cause, "instance %s: out of memory",
			    ic->name) == -1)
				*cause = NULL;
			return -1;
		}
		for (i = 0; i < ic->nendpoints; i++) {
			first = NULL;
			for (k = 0; k < d->nworkers; k++) {
				l = listener_find(d, &ic->endpoints[i],
				    &d->workers[k]);
				if (l == NULL)
					l = listener_new(d, inst,
					    &d->workers[k], &ic->endpoints[i],
					    first, cause);
				else
					l->next = inst;
				if (l == NULL)
					return -1;
				if (first == NULL)
					first = l;
			}
		}
	}
	return 0;
}

/* Undo apply_stage: the running generation is left as it was. */
static void
apply_rollback(struct daemon *d)
{
	struct listener	*l, *lnext;
	struct instance	*inst, *inext;

	for (l = TAILQ_FIRST(&d->listeners); l != NULL; l = lnext) {
		lnext = TAILQ_NEXT(l, entry);
		l->next = NULL;
		if (l->inst->state == INSTANCE_STAGED)
			listener_close(l);
	}
	for (inst = TAILQ_FIRST(&d->instances); inst != NULL; inst = inext) {
		inext = TAILQ_NEXT(inst, entry);
		if (inst->state == INSTANCE_STAGED)
			instance_unref(inst);
	}
}

/* Swap the staged generation in and sweep what it does not keep. */
static void
apply_commit(struct daemon *d, struct config *nc)
{
	struct listener	*l, *lnext;
	struct instance	*inst, *inext, *old;

	for (l = TAILQ_FIRST(&d->listeners); l != NULL; l = lnext) {
		lnext = TAILQ_NEXT(l, entry);
		if (l->inst->state == INSTANCE_STAGED) {
			listener_enable(l);
		} else if (l->next != NULL) {
			old = l->inst;
			l->inst = l->next;
			l->next = NULL;
			instance_ref(l->inst);
			instance_unref(old);
			listener_rebacklog(l);
			if (l->w->id == 0)
				log_info("instance %s keeps %s",
				    l->inst->ic->name, l->ep.text);
		} else {
			if (l->w->id == 0)
				log_info("instance %s: closing %s",
				    l->inst->ic->name, l->ep.text);
			listener_close(l);
		}
	}
	for (inst = TAILQ_FIRST(&d->instances); inst != NULL; inst = inext) {
		inext = TAILQ_NEXT(inst, entry);
		if (inst->state == INSTANCE_CURRENT)
			inst->state = INSTANCE_RETIRED;
	}
	for (inst = TAILQ_FIRST(&d->instances); inst != NULL; inst = inext) {
		inext = TAILQ_NEXT(inst, entry);
		if (inst->state == INSTANCE_STAGED) {
			inst->state = INSTANCE_CURRENT;
			instance_unref(inst);	/* its listeners hold it */
		}
	}
	if (d->conf != NULL) {
		apply_check_immutable(d->conf, nc);
		config_unref(d->conf);
	}
	d->conf = nc;
	apply_udp_ports(d);
}

/*
 * Note the configured port of every UDP service, so that none replies to
 * another.  Ports the kernel picked (port 0) are ephemeral ports that
 * clients use too, so they are left out.
 */
static void
apply_udp_ports(struct daemon *d)
{
	struct listener	*l;
	unsigned int	 port;

	memset(d->udp_ports, 0, sizeof(d->udp_ports));
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->cfg.proto != SERVICE_UDP ||
		    (port = endpoint_port(&l->cfg)) == 0)
			continue;
		d->udp_ports[port / 8] |= (uint8_t)(1U << (port % 8));
	}
}

/* Settings that only a restart can change are reported, not applied. */
static void
apply_check_immutable(const struct config *old, const struct config *nc)
{
	const char	*o, *n;

	o = old->daemon.user ? old->daemon.user : "";
	n = nc->daemon.user ? nc->daemon.user : "";
	if (strcmp(o, n) != 0)
		log_warnx("user changed; restart required to apply it");
	o = old->daemon.group ? old->daemon.group : "";
	n = nc->daemon.group ? nc->daemon.group : "";
	if (strcmp(o, n) != 0)
		log_warnx("group changed; restart required to apply it");
	if (old->daemon.metrics != nc->daemon.metrics || (nc->daemon.metrics &&
	    !endpoint_same(&old->daemon.metrics_listen,
	    &nc->daemon.metrics_listen)))
		log_warnx("metrics_listen changed; restart required to apply it");
	if (old->daemon.workers != nc->daemon.workers)
		log_warnx("workers changed; restart required to apply it");
	if (old->daemon.source_prefix4 != nc->daemon.source_prefix4 ||
	    old->daemon.source_prefix6 != nc->daemon.source_prefix6 ||
	    old->daemon.max_sources != nc->daemon.max_sources)
		log_warnx("source_prefix4/6 or max_sources changed; restart "
		    "required to apply them");
}

/*
 * Make nc the running configuration.  On success takes over the reference
 * to nc and returns 0; on failure returns -1 with *cause set, and the
 * running generation is untouched.  The other workers stay parked
 * throughout, so they never see a half-built or half-swapped generation.
 */
int
daemon_apply(struct daemon *d, struct config *nc, char **cause)
{
	*cause = NULL;
	workers_park(d);	/* the listener list changes from here */
	if (apply_stage(d, nc, cause) == -1) {
		apply_rollback(d);
		workers_unpark(d);
		return -1;
	}
	apply_commit(d, nc);
	workers_unpark(d);
	return 0;
}

/*
 * SIGHUP: load the file again beside the running config and apply it.
 * Any error leaves everything as it was; the daemon never exits here.
 */
void
daemon_reload(struct daemon *d)
{
	struct config_errors	 errs = { NULL, 0 };
	struct config		*nc;
	char			*cause, status[256];
	size_t			 i;

	systemd_reloading();
	log_notice("reloading %s", d->conf->path);
	if ((nc = config_load(d->conf->path, &errs)) == NULL) {
		for (i = 0; i < errs.count; i++)
			log_warnx("%s", errs.msg[i]);
		snprintf(status, sizeof(status), "reload failed: %zu error%s "
		    "in %s (see log); serving the previous configuration",
		    errs.count, errs.count == 1 ? "" : "s", d->conf->path);
		config_errors_free(&errs);
		d->reloads_failed++;
		log_warnx("%s", status);
		control_publish(d->reloads_ok + d->reloads_failed, 0, status);
		systemd_ready(status);
		return;
	}
	config_errors_free(&errs);
	if (daemon_apply(d, nc, &cause) == -1) {
		snprintf(status, sizeof(status), "reload failed: %s; serving "
		    "the previous configuration", cause ? cause : "no memory");
		free(cause);
		config_unref(nc);
		d->reloads_failed++;
		log_warnx("%s", status);
		control_publish(d->reloads_ok + d->reloads_failed, 0, status);
		systemd_ready(status);
		return;
	}
	d->reloads_ok++;
	if (!d->log_level_forced)
		log_setlevel(d->conf->daemon.log_level);
	control_publish(d->reloads_ok + d->reloads_failed, 1, "reloaded");
	daemon_ready(d, "reloaded: ");
}
