/*
 * limits.c: what every limit does when it is hit.  A limit that backs off
 * (stops accepting, stops reading, closes a connection, fails open) goes
 * through limit_hit(), which counts it (netsvcd_limit_hits_total and the
 * SIGUSR1 dump), logs it at most once a second with the number of hits
 * since, and returns how long to back off.  A new limit is one line in
 * the table below, so none can be added without its counter and its log.
 * (Refusals and drops have their own counters, per instance and reason,
 * and the same rate-limited log.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "netsvcd.h"

static const struct limit_info {
	const char	*name;		/* the metrics label */
	const char	*what;		/* for the log line */
	int		 backoff_ms;	/* 0: none */
} limit_info[LIMIT_COUNT] = {
	[LIMIT_EMFILE] = { "emfile",
	    "out of file descriptors: accept paused", 250 },
	[LIMIT_SOURCE_TABLE] = { "source_table",
	    "source table full: per-source limits not applied", 0 },
	[LIMIT_UDP_NOMEM] = { "udp_nomem",
	    "no memory for UDP buffers: reading paused", 1000 },
	[LIMIT_NOMEM] = { "nomem",
	    "out of memory: connection closed", 0 },
	[LIMIT_MAX_BYTES] = { "max_bytes",
	    "max_bytes reached: connection closed", 0 },
	[LIMIT_IO] = { "io_error",
	    "unexpected socket error", 100 },
	[LIMIT_METRICS_EMFILE] = { "metrics_emfile",
	    "out of file descriptors: accept paused", 250 },
	[LIMIT_METRICS_CONNS] = { "metrics_connections",
	    "metrics_max_connections reached: oldest connection closed", 0 },
	[LIMIT_METRICS_DEADLINE] = { "metrics_deadline",
	    "request not done within its deadline: closed", 0 },
};

const char *
limit_name(enum limit k)
{
	return (unsigned int)k < LIMIT_COUNT ? limit_info[k].name : "unknown";
}

/* The back-off of limit k in milliseconds (0: none). */
int
limit_backoff_ms(enum limit k)
{
	return (unsigned int)k < LIMIT_COUNT ? limit_info[k].backoff_ms : 0;
}

/*
 * Count a hit of limit k (n hits at once) and log it, rate-limited; ctx
 * says where ("echo: udp://0.0.0.0:7").  Any thread.  Returns the back-off
 * in milliseconds that the caller applies.
 */
int
limit_hit(struct limit_stats *ls, enum limit k, unsigned long n,
    const char *ctx)
{
	const struct limit_info	*li = &limit_info[k];
	unsigned long		 total;

	atomic_fetch_add_explicit(&ls->hits[k], n, memory_order_relaxed);
	pthread_mutex_lock(&ls->lock);
	snprintf(ls->ctx[k], sizeof(ls->ctx[k]), "%s", ctx);
	ls->log[k].suppressed += n - 1;
	total = log_ratelimit(&ls->log[k]);
	pthread_mutex_unlock(&ls->lock);
	if (total > 0 && li->backoff_ms > 0)
		log_warnx("%s: %s for %d ms (%lu time%s)", ctx, li->what,
		    li->backoff_ms, total, total == 1 ? "" : "s");
	else if (total > 0)
		log_warnx("%s: %s (%lu time%s)", ctx, li->what, total,
		    total == 1 ? "" : "s");
	return li->backoff_ms;
}

/* Log the hits held back by the rate limit, once their second is over. */
void
limits_flush(struct limit_stats *ls)
{
	unsigned long	n;
	char		ctx[96];
	int		k;

	for (k = 0; k < LIMIT_COUNT; k++) {
		pthread_mutex_lock(&ls->lock);
		n = log_rate_flush(&ls->log[k]);
		memcpy(ctx, ls->ctx[k], sizeof(ctx));
		pthread_mutex_unlock(&ls->lock);
		if (n > 0)
			log_warnx("%s: %s (%lu more time%s)", ctx,
			    limit_info[k].what, n, n == 1 ? "" : "s");
	}
}

/* The count of hits of limit k. */
unsigned long
limit_hits(struct limit_stats *ls, enum limit k)
{
	return atomic_load(&ls->hits[k]);
}
