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

static int	apply_sources(struct daemon *, struct config *, char **cause);
static int	apply_stage(struct daemon *, struct config *, char **cause);
static void	apply_rollback(struct daemon *);
static void	apply_commit(struct daemon *, struct config *);
static void	apply_check_restart(const struct config *,
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
		/*
		 * The counters carry over when the name and the service stay;
		 * a new service starts its own series, and connections of the
		 * old one keep counting under the old service's label.
		 */
		prev = instance_find(d, ic->name, 1);
		if (prev != NULL && prev->ic->service != ic->service)
			prev = NULL;
		inst = instance_new(d, ic, prev != NULL ? prev->stats : NULL);
		if (inst == NULL) {
			cause_set(cause, "instance %s: out of memory",
			    ic->name);
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
					l->kept_by = inst;
				if (l == NULL)
					return -1;
				if (first == NULL)
					first = l;
			}
		}
	}
	return 0;
}

/*
 * The source table must stay larger than max_connections, or its entries
 * could all be pinned by open connections and per-source limits would fail
 * open: grow it (keeping every entry) when a reload raises the cap.
 */
static int
apply_sources(struct daemon *d, struct config *nc, char **cause)
{
	uint32_t	cap = nc->daemon.max_sources;

	if (cap < nc->daemon.max_connections + 64)
		cap = nc->daemon.max_connections + 64;
	if (d->sources == NULL || cap <= source_table_cap(d->sources))
		return 0;
	if (source_table_grow(d->sources, cap) == 0) {
		if (d->conf != NULL)
			log_info("source table grown to %u entries", cap);
		return 0;
	}
	if (asprintf(cause, "source table of %u entries: out of memory",
	    cap) == -1)
		*cause = NULL;
	return -1;
}

/* Undo apply_stage: the running generation is left as it was. */
static void
apply_rollback(struct daemon *d)
{
	struct listener	*l, *lnext;
	struct instance	*inst, *inext;

	for (l = TAILQ_FIRST(&d->listeners); l != NULL; l = lnext) {
		lnext = TAILQ_NEXT(l, entry);
		l->kept_by = NULL;
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
		} else if (l->kept_by != NULL) {
			old = l->inst;
			l->inst = l->kept_by;
			l->kept_by = NULL;
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
		apply_check_restart(d->conf, nc);
		if (config_keep_restart(nc, d->conf) == -1)
			log_warnx("reload: out of memory keeping the running "
			    "values of the restart-only keys");
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

/*
 * Keys that only a restart can change (KEY_RESTART in the key table) are
 * reported, not applied: the running daemon keeps what it started with.
 */
static void
apply_check_restart(const struct config *old, const struct config *nc)
{
	const struct config_key	*kd;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if ((kd->flags & KEY_RESTART) &&
		    config_key_changed(kd, old, nc))
			log_warnx("%s changed; restart required to apply it",
			    kd->name);
	}
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
	if (apply_sources(d, nc, cause) == -1 ||
	    apply_stage(d, nc, cause) == -1) {
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
		d->reload_failing = 1;	/* /ready: 503 */
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
		d->reload_failing = 1;
		log_warnx("%s", status);
		control_publish(d->reloads_ok + d->reloads_failed, 0, status);
		systemd_ready(status);
		return;
	}
	d->reloads_ok++;
	d->reload_failing = 0;
	if (!d->log_level_forced)
		log_setlevel(d->conf->daemon.log_level);
	control_publish(d->reloads_ok + d->reloads_failed, 1, "reloaded");
	daemon_ready(d, "reloaded: ");
	fdstore_refresh(d);	/* the listeners of the new config */
}
