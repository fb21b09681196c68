/*
 * instance.c: a running service instance, its counters and its connection
 * limits.  An instance holds a reference on the config generation it came
 * from; each connection holds a reference on its instance, so a connection
 * always finishes under the settings it started with.
 */
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"

const char *
refuse_reason_name(enum refuse_reason r)
{
	static const char *const names[REFUSE_COUNT] = {
		[REFUSE_LIMIT] = "limit", [REFUSE_SOURCE] = "source",
		[REFUSE_RATE] = "rate", [REFUSE_ACCESS] = "access",
	};

	return (unsigned int)r < REFUSE_COUNT ? names[r] : "unknown";
}

const char *
drop_reason_name(enum drop_reason r)
{
	static const char *const names[DROP_COUNT] = {
		[DROP_ACCESS] = "access", [DROP_RATE] = "rate",
		[DROP_REFLECT] = "reflection", [DROP_AMPLIFY] = "amplification",
		[DROP_NOREPLY] = "noreply", [DROP_ERROR] = "error",
	};

	return (unsigned int)r < DROP_COUNT ? names[r] : "unknown";
}

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

/*
 * The running instance with this name, or NULL: the current one, or with
 * retired set, also one still finishing its connections.
 */
struct instance *
instance_find(struct daemon *d, const char *name, int retired)
{
	struct instance	*inst, *found = NULL;

	TAILQ_FOREACH(inst, &d->instances, entry) {
		if (strcmp(inst->ic->name, name) != 0)
			continue;
		if (inst->state == INSTANCE_CURRENT)
			return inst;
		if (inst->state == INSTANCE_RETIRED && retired)
			found = inst;
	}
	return found;
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

/* Count a refusal; log at most once a second, with the count since. */
void
instance_refuse(struct instance *inst, enum refuse_reason why)
{
	unsigned long	n;

	atomic_fetch_add_explicit(&inst->stats->refused[why], 1,
	    memory_order_relaxed);
	if ((n = log_ratelimit(&inst->refuse_log)) > 0)
		log_warnx("%s: refused %lu connection%s (latest: %s)",
		    inst->ic->name, n, n == 1 ? "" : "s",
		    refuse_reason_name(why));
}

/*
 * The checks every new TCP connection and UDP request passes, in order:
 * access lists, the instance's bucket, the source's bucket.  Returns
 * REFUSE_COUNT when it may go on, else the reason to refuse it.  *src is
 * the source's entry when per-source limits apply, else SOURCE_NONE.
 */
static enum refuse_reason
instance_check(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src)
{
	const struct limits_conf	*lim = &inst->ic->lim;
	struct source_table		*t = inst->d->sources;
	uint64_t			 now;

	*src = SOURCE_NONE;
	if (!acl_allows(&lim->allow, &lim->deny,
	    &inst->ic->conf->daemon.lim.deny, sa))
		return REFUSE_ACCESS;
	if (lim->instance_rate == 0 && lim->rate == 0 &&
	    lim->max_per_source == 0)
		return REFUSE_COUNT;
	now = clock_ms();
	if (!bucket_take(&inst->bucket, lim->instance_rate,
	    lim->instance_burst, now))
		return REFUSE_RATE;
	if ((lim->rate == 0 && lim->max_per_source == 0) || t == NULL)
		return REFUSE_COUNT;
	if ((*src = source_get(t, sa, inst->stats)) == SOURCE_NONE)
		return REFUSE_COUNT;	/* every entry pinned: fail open */
	if (!bucket_take(source_rate(t, *src), lim->rate, lim->burst, now))
		return REFUSE_RATE;
	return REFUSE_COUNT;
}

/*
 * Admit a new TCP connection from sa: access lists, rates, the source's,
 * the instance's and the global connection caps.  Returns 0 when it may
 * proceed (give it back with instance_release(inst, *src)), or -1 when it
 * must be refused; the refusal is counted and logged.
 */
int
instance_admit(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src)
{
	struct daemon		*d = inst->d;
	unsigned int		 max = inst->ic->max_connections;
	unsigned int		 per = inst->ic->lim.max_per_source;
	enum refuse_reason	 why;

	if ((why = instance_check(inst, sa, src)) != REFUSE_COUNT)
		goto refuse;
	why = REFUSE_SOURCE;
	if (per != 0 && *src != SOURCE_NONE &&
	    source_conns(d->sources, *src) >= per)
		goto refuse;
	why = REFUSE_LIMIT;
	if (atomic_fetch_add(&d->nconns, 1) >=
	    inst->ic->conf->daemon.max_connections) {
		atomic_fetch_sub(&d->nconns, 1);
		goto refuse;
	}
	if (atomic_fetch_add(&inst->nconns, 1) >= max && max != 0) {
		atomic_fetch_sub(&inst->nconns, 1);
		atomic_fetch_sub(&d->nconns, 1);
		goto refuse;
	}
	if (*src != SOURCE_NONE)
		source_hold(d->sources, *src);
	atomic_fetch_add_explicit(&inst->stats->accepted, 1,
	    memory_order_relaxed);
	return 0;
refuse:
	*src = SOURCE_NONE;
	instance_refuse(inst, why);
	return -1;
}

/* Give back what instance_admit took. */
void
instance_release(struct instance *inst, uint32_t src)
{
	if (src != SOURCE_NONE)
		source_release(inst->d->sources, src);
	atomic_fetch_sub(&inst->nconns, 1);
	atomic_fetch_sub(&inst->d->nconns, 1);
	daemon_conn_gone(inst->d);
}

/*
 * May a UDP request from sa be served?  Returns DROP_COUNT when yes (with
 * *src as in instance_check), else why it is dropped.
 */
int
instance_dgram_ok(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src)
{
	switch (instance_check(inst, sa, src)) {
	case REFUSE_ACCESS:
		return DROP_ACCESS;
	case REFUSE_RATE:
		return DROP_RATE;
	default:
		return DROP_COUNT;
	}
}
