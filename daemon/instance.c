/*
 * instance.c: a running service instance, its counters and its connection
 * limits.  An instance holds a reference on the config generation it came
 * from; each connection holds a reference on its instance, so a connection
 * always finishes under the settings it started with.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "netsvcd.h"

const char *
refuse_reason_name(enum refuse_reason r)
{
	static const char *const names[REFUSE_COUNT] = {
		[REFUSE_LIMIT] = "limit", [REFUSE_SOURCE] = "source",
		[REFUSE_RATE] = "rate", [REFUSE_ACCESS] = "access",
		[REFUSE_PROXY_FROM] = "proxy_from",
		[REFUSE_PROXY_HEADER] = "proxy_header",
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
	atomic_fetch_add(&inst->refs, 1);
}

/*
 * Drop a reference.  Any worker may drop the last one, but only the main
 * thread changes the instance list, so the free happens there, in
 * instance_sweep().
 */
void
instance_unref(struct instance *inst)
{
	if (atomic_fetch_sub(&inst->refs, 1) == 1)
		event_active(inst->d->ev_sweep, EV_TIMEOUT, 0);
}

/* Free every instance nothing refers to any more (main thread). */
void
instance_sweep(struct daemon *d)
{
	struct instance	*inst, *next;

	for (inst = TAILQ_FIRST(&d->instances); inst != NULL; inst = next) {
		next = TAILQ_NEXT(inst, entry);
		if (atomic_load(&inst->refs) > 0)
			continue;
		TAILQ_REMOVE(&d->instances, inst, entry);
		if (--inst->stats->refs == 0)
			free(inst->stats);
		config_unref(inst->ic->conf);
		free(inst);
	}
}

/*
 * Whether inst's service answers a connection at once and throws its
 * input away (daytime, time, qotd, chargen, banner): what a client sends
 * is never waited for.  Built-ins only: a module's service may hand its
 * socket on.
 */
int
instance_answers_at_once(const struct instance *inst)
{
	const struct instance_conf	*ic = inst->ic;

	return ic->module == NULL && ic->service->tcp_read == NULL &&
	    !ic->service->spawns;
}

/*
 * Whether inst's service answers at once, in one go, and closes (daytime,
 * time, qotd, banner): nothing to read, nothing streamed after.
 */
int
instance_answers_and_closes(const struct instance *inst)
{
	return instance_answers_at_once(inst) &&
	    inst->ic->service->tcp_write_ready == NULL;
}

/* Count a refusal; log at most once a second, with the count since. */
void
instance_refuse(struct instance *inst, enum refuse_reason why)
{
	unsigned long	n;

	atomic_fetch_add_explicit(&inst->stats->refused[why], 1,
	    memory_order_relaxed);
	pthread_mutex_lock(&inst->d->lock);
	inst->refuse_latest = why;
	n = log_ratelimit(&inst->refuse_log);
	pthread_mutex_unlock(&inst->d->lock);
	if (n > 0)
		log_warnx("%s: refused %lu connection%s (latest: %s)",
		    inst->ic->name, n, n == 1 ? "" : "s",
		    refuse_reason_name(why));
}

/*
 * Log the refusals and drops the rate limit held back, once their second
 * is over: the end of a burst is logged without waiting for the next.
 */
void
instance_log_flush(struct instance *inst)
{
	enum refuse_reason	rwhy;
	enum drop_reason	dwhy;
	unsigned long		refused, dropped;

	pthread_mutex_lock(&inst->d->lock);
	refused = log_rate_flush(&inst->refuse_log);
	rwhy = inst->refuse_latest;
	dropped = log_rate_flush(&inst->drop_log);
	dwhy = inst->drop_latest;
	pthread_mutex_unlock(&inst->d->lock);
	if (refused > 0)
		log_warnx("%s: refused %lu more connection%s (latest: %s)",
		    inst->ic->name, refused, refused == 1 ? "" : "s",
		    refuse_reason_name(rwhy));
	if (dropped > 0)
		log_warnx("%s: dropped %lu more datagram%s (latest: %s)",
		    inst->ic->name, dropped, dropped == 1 ? "" : "s",
		    drop_reason_name(dwhy));
}

/* Are rate or per-source limits set (and so d->lock needed)? */
static int
instance_limited(const struct limits_conf *lim)
{
	return lim->instance_rate != 0 || lim->rate != 0 ||
	    lim->max_per_source != 0;
}

/*
 * The rate buckets (instance, then source) and, for TCP, max_per_source;
 * called with d->lock held.  On ADMIT_OK, *src is the source's entry when
 * one is tracked, else SOURCE_NONE; with hold, the entry counts the
 * connection.
 */
static enum admit
instance_limits(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src, int hold)
{
	const struct limits_conf	*lim = &inst->ic->lim;
	struct source_table		*t = inst->d->sources;
	uint64_t			 now = clock_ms();

	*src = SOURCE_NONE;
	if (!bucket_take(&inst->stats->bucket, lim->instance_rate,
	    lim->instance_burst, now))
		return ADMIT_RATE;
	if ((lim->rate == 0 && lim->max_per_source == 0) || t == NULL)
		return ADMIT_OK;
	if ((*src = source_get(t, sa, inst->stats)) == SOURCE_NONE) {
		/* Every entry pinned (the table is sized so it cannot be). */
		limit_hit(&inst->d->limits, LIMIT_SOURCE_TABLE, 1,
		    inst->ic->name);
		return ADMIT_OK;
	}
	if (!bucket_take(source_rate(t, *src), lim->rate, lim->burst, now)) {
		*src = SOURCE_NONE;
		return ADMIT_RATE;
	}
	if (hold && lim->max_per_source != 0 &&
	    source_conns(t, *src) >= lim->max_per_source) {
		*src = SOURCE_NONE;
		return ADMIT_SOURCE;
	}
	if (hold)
		source_hold(t, *src);
	return ADMIT_OK;
}

/* Why a connection the verdict a turned away is refused. */
static enum refuse_reason
admit_refuse_reason(enum admit a)
{
	switch (a) {
	case ADMIT_ACCESS:
		return REFUSE_ACCESS;
	case ADMIT_SOURCE:
		return REFUSE_SOURCE;
	case ADMIT_RATE:
		return REFUSE_RATE;
	default:
		return REFUSE_LIMIT;
	}
}

static int	instance_admit_rest(struct instance *,
		    const struct sockaddr *, uint32_t *, int);

/* Take a place under the global and the instance's max_connections. */
static enum admit
instance_take_place(struct instance *inst)
{
	struct daemon	*d = inst->d;
	unsigned int	 max = inst->ic->max_connections;

	if (atomic_fetch_add(&d->nconns, 1) >=
	    inst->ic->conf->daemon.max_connections) {
		atomic_fetch_sub(&d->nconns, 1);
		return ADMIT_LIMIT;
	}
	/* Connections of retired generations count: they are still open. */
	if (atomic_fetch_add(&inst->stats->open, 1) >= max && max != 0) {
		atomic_fetch_sub(&inst->stats->open, 1);
		atomic_fetch_sub(&d->nconns, 1);
		return ADMIT_LIMIT;
	}
	atomic_fetch_add(&inst->nconns, 1);
	return ADMIT_OK;
}

/*
 * The checks on the client itself: access lists (unless done already),
 * rates, max_per_source.
 */
static enum admit
instance_check_client(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src, int check_acl)
{
	struct daemon	*d = inst->d;
	enum admit	 a = ADMIT_OK;

	*src = SOURCE_NONE;
	if (check_acl && !acl_allows(&inst->ic->lim.allow, &inst->ic->lim.deny,
	    &inst->ic->conf->daemon.lim.deny, sa))
		return ADMIT_ACCESS;
	if (instance_limited(&inst->ic->lim)) {
		pthread_mutex_lock(&d->lock);
		a = instance_limits(inst, sa, src, 1);
		pthread_mutex_unlock(&d->lock);
	}
	return a;
}

/*
 * Admit a new TCP connection from sa: access lists, the global and the
 * instance's connection caps, rates and max_per_source.  Returns 0 when it
 * may proceed (give it back with instance_release(inst, *src)), or -1 when
 * it must be refused; the refusal is counted and logged.
 */
int
instance_admit(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src)
{
	*src = SOURCE_NONE;
	/* The access lists first: a denied client costs no count. */
	if (!acl_allows(&inst->ic->lim.allow, &inst->ic->lim.deny,
	    &inst->ic->conf->daemon.lim.deny, sa)) {
		instance_refuse(inst, REFUSE_ACCESS);
		return -1;
	}
	if (instance_admit_place(inst) == -1)
		return -1;
	return instance_admit_rest(inst, sa, src, 0);
}

/*
 * The first half of instance_admit, for a connection whose client is not
 * known yet (a PROXY header is to come): only the connection caps.  0, or
 * -1 when refused (counted and logged).  instance_release gives it back.
 */
int
instance_admit_place(struct instance *inst)
{
	enum admit	a;

	if ((a = instance_take_place(inst)) != ADMIT_OK) {
		instance_refuse(inst, admit_refuse_reason(a));
		return -1;
	}
	return 0;
}

/*
 * The second half: the client sa of a connection holding a place.  0, or
 * -1 with the place given back and the refusal counted and logged.
 */
int
instance_admit_client(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src)
{
	return instance_admit_rest(inst, sa, src, 1);
}

/* instance_admit_client(), the access lists checked only with check_acl. */
static int
instance_admit_rest(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src, int check_acl)
{
	enum admit	a;

	if ((a = instance_check_client(inst, sa, src, check_acl)) !=
	    ADMIT_OK) {
		instance_release(inst, SOURCE_NONE);
		instance_refuse(inst, admit_refuse_reason(a));
		return -1;
	}
	atomic_fetch_add_explicit(&inst->stats->accepted, 1,
	    memory_order_relaxed);
	return 0;
}

/* Give back what instance_admit took. */
void
instance_release(struct instance *inst, uint32_t src)
{
	if (src != SOURCE_NONE) {
		pthread_mutex_lock(&inst->d->lock);
		source_release(inst->d->sources, src);
		pthread_mutex_unlock(&inst->d->lock);
	}
	atomic_fetch_sub(&inst->nconns, 1);
	atomic_fetch_sub(&inst->stats->open, 1);
	atomic_fetch_sub(&inst->d->nconns, 1);
	daemon_conn_gone(inst->d);
}

/*
 * May a UDP request from sa be served?  Returns ADMIT_OK (with *src as in
 * instance_limits), ADMIT_ACCESS or ADMIT_RATE.
 */
enum admit
instance_dgram_ok(struct instance *inst, const struct sockaddr *sa,
    uint32_t *src)
{
	enum admit	a;

	*src = SOURCE_NONE;
	if (!acl_allows(&inst->ic->lim.allow, &inst->ic->lim.deny,
	    &inst->ic->conf->daemon.lim.deny, sa))
		return ADMIT_ACCESS;
	if (!instance_limited(&inst->ic->lim))
		return ADMIT_OK;
	pthread_mutex_lock(&inst->d->lock);
	a = instance_limits(inst, sa, src, 0);
	pthread_mutex_unlock(&inst->d->lock);
	return a;
}

/*
 * A connection handed over by the old process (reexec.c) takes its place
 * in the counts without the admission checks: it was admitted once, and
 * max_connections only turns new ones away.  Returns its source entry
 * (SOURCE_NONE when max_per_source is off); instance_release gives back.
 */
uint32_t
instance_adopt(struct instance *inst, const struct sockaddr *sa)
{
	struct daemon	*d = inst->d;
	uint32_t	 src = SOURCE_NONE;

	atomic_fetch_add(&d->nconns, 1);
	atomic_fetch_add(&inst->nconns, 1);
	atomic_fetch_add(&inst->stats->open, 1);
	if (inst->ic->lim.max_per_source != 0 && d->sources != NULL) {
		pthread_mutex_lock(&d->lock);
		if ((src = source_get(d->sources, sa, inst->stats)) !=
		    SOURCE_NONE)
			source_hold(d->sources, src);
		pthread_mutex_unlock(&d->lock);
	}
	return src;
}
