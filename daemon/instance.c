/*
 * instance.c: a running service instance, its counters and its connection
 * limits.  An instance holds a reference on the config generation it came
 * from; each connection holds a reference on its instance, so a connection
 * always finishes under the settings it started with.
 */
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"

/*
 * Make the running side of one configured instance, sharing the counters
 * of its predecessor when a reload keeps the name (stats may be NULL).
 */
struct instance *
instance_new(struct daemon *d, struct instance_conf *ic,
    struct instance_stats *stats)
{
	struct instance	*inst;

	if ((inst = calloc(1, sizeof(*inst))) == NULL)
		return NULL;
	if (stats == NULL && (stats = calloc(1, sizeof(*stats))) == NULL) {
		free(inst);
		return NULL;
	}
	stats->refs++;
	inst->stats = stats;
	inst->d = d;
	inst->ic = ic;
	inst->refs = 1;
	inst->state = INSTANCE_STAGED;
	config_ref(ic->conf);
	TAILQ_INSERT_TAIL(&d->instances, inst, entry);
	return inst;
}

/* The instance of the current generation with this name, or NULL. */
struct instance *
instance_find(struct daemon *d, const char *name)
{
	struct instance	*inst;

	TAILQ_FOREACH(inst, &d->instances, entry) {
		if (inst->state == INSTANCE_CURRENT && strcmp(inst->ic->name, name) == 0)
			return inst;
	}
	return NULL;
}

void
instance_ref(struct instance *inst)
{
	inst->refs++;
}

/* Drop a reference; the last one frees the instance and its config ref. */
void
instance_unref(struct instance *inst)
{
	if (--inst->refs > 0)
		return;
	TAILQ_REMOVE(&inst->d->instances, inst, entry);
	if (--inst->stats->refs == 0)
		free(inst->stats);
	config_unref(inst->ic->conf);
	free(inst);
}

/* Log a refusal at most once a second, with the count since the last. */
static void
instance_log_refusal(struct instance *inst, const char *why)
{
	unsigned long	n;

	if ((n = log_ratelimit(&inst->refuse_log)) > 0)
		log_warnx("%s: refused %lu connection%s: %s", inst->ic->name,
		    n, n == 1 ? "" : "s", why);
}

/*
 * Count a new connection against the global and the instance caps.
 * Returns 0 when it may proceed (release it with instance_release), or -1
 * when it must be refused; the refusal is counted and logged.
 */
int
instance_admit(struct instance *inst)
{
	struct daemon	*d = inst->d;
	unsigned int	 max = inst->ic->max_connections;

	if (atomic_fetch_add(&d->nconns, 1) >= d->conf->daemon.max_connections) {
		atomic_fetch_sub(&d->nconns, 1);
		atomic_fetch_add(&inst->stats->refused[REFUSE_LIMIT], 1);
		instance_log_refusal(inst,
		    "global max_connections reached");
		return -1;
	}
	if (atomic_fetch_add(&inst->nconns, 1) >= max && max != 0) {
		atomic_fetch_sub(&inst->nconns, 1);
		atomic_fetch_sub(&d->nconns, 1);
		atomic_fetch_add(&inst->stats->refused[REFUSE_LIMIT], 1);
		instance_log_refusal(inst, "max_connections reached");
		return -1;
	}
	atomic_fetch_add_explicit(&inst->stats->accepted, 1,
	    memory_order_relaxed);
	return 0;
}

/* Give back what instance_admit took. */
void
instance_release(struct instance *inst)
{
	atomic_fetch_sub(&inst->nconns, 1);
	atomic_fetch_sub(&inst->d->nconns, 1);
	daemon_conn_gone(inst->d);
}
