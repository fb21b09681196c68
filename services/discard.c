/*
 * discard.c: the discard service of RFC 863.  Input is thrown away and
 * nothing is ever sent, over TCP or UDP.  With "log_data = yes" each TCP
 * read and each datagram is logged (peer, length, the first 64 bytes
 * escaped), at most DISCARD_LOG_RATE lines a second per thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service.h"
#include "proto.h"
#include "log.h"

#define DISCARD_LOG_BYTES	64	/* logged bytes of each read */
#define DISCARD_LOG_RATE	10	/* lines a second, per thread */

struct discard_conf {
	int		 log_data;
	char		*name;		/* instance name, for the log */
};

static const char *const discard_keys[] = { "log_data", NULL };

static int	discard_conf_key(struct svc_conf *, const char *,
		    const char *, char **);
static int	discard_conf_check(struct svc_conf *, char **);
static void	discard_conf_free(struct svc_conf *);
static void	discard_conf_describe(struct svc_conf *, char *, size_t);
static void	discard_log(const struct discard_conf *, const char *,
		    const char *, const void *, size_t);
static void	discard_accept(struct conn *);
static int	discard_restore(struct conn *, const void *, size_t);
static void	discard_read(struct conn *, const void *, size_t);
static void	discard_datagram(struct dgram *, const void *, size_t);

/* Parse log_data. */
static int
discard_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct discard_conf	*dc = svc_conf_data(sc);
	int			 on;

	(void)key;		/* the host passes only log_data */
	if (proto_parse_bool(value, &on) == -1)
		return proto_cause(cause, "log_data: \"%s\" is not yes or no",
		    value);
	dc->log_data = on;
	return SERVICE_KEY_OK;
}

/* Settle the defaults and remember the instance name for log lines. */
static int
discard_conf_check(struct svc_conf *sc, char **cause)
{
	struct discard_conf	*dc = svc_conf_data(sc);

	free(dc->name);
	if ((dc->name = strdup(svc_conf_name(sc))) == NULL)
		return proto_cause(cause, "out of memory");
	return 0;
}

/* Free the name (the host frees the settings). */
static void
discard_conf_free(struct svc_conf *sc)
{
	struct discard_conf	*dc = svc_conf_data(sc);

	if (dc == NULL)
		return;
	free(dc->name);
}

/* " log_data=yes" for -t. */
static void
discard_conf_describe(struct svc_conf *sc, char *buf, size_t len)
{
	const struct discard_conf	*dc = svc_conf_data(sc);

	snprintf(buf, len, " log_data=%s",
	    dc != NULL && dc->log_data ? "yes" : "no");
}

/*
 * Log one read, rate-limited per thread: the limiter is _Thread_local,
 * so workers never share it, and the lines it held back are counted in
 * the next line logged after a busy second.
 */
static void
discard_log(const struct discard_conf *dc, const char *proto,
    const char *peer, const void *buf, size_t len)
{
	static _Thread_local struct log_rate	 rate;
	struct timespec				 ts;
	char					 text[4 * DISCARD_LOG_BYTES + 1];
	unsigned long				 n;
	size_t					 shown;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if ((n = log_rate_take(&rate, (long)ts.tv_sec,
	    DISCARD_LOG_RATE)) == 0)
		return;
	if (n > 1)
		log_info("%s: %lu discard log lines suppressed",
		    dc->name != NULL ? dc->name : "discard", n - 1);
	shown = len < DISCARD_LOG_BYTES ? len : DISCARD_LOG_BYTES;
	proto_escape(text, sizeof(text), buf, shown);
	log_info("%s: %s %s: %zu bytes: \"%s\"%s",
	    dc->name != NULL ? dc->name : "discard", proto,
	    peer != NULL ? peer : "?", len, text, len > shown ? "..." : "");
}

/* Unless the data is to be logged, it need not even be read. */
static void
discard_accept(struct conn *c)
{
	const struct discard_conf	*dc = conn_conf(c);

	if (dc == NULL || !dc->log_data)
		conn_drop_input(c);
}

/* Handover: no state; log_data comes from the new instance's settings. */
static int
discard_restore(struct conn *c, const void *buf, size_t len)
{
	(void)buf;
	if (len != 0)
		return -1;
	discard_accept(c);
	return 0;
}

/* Drop what was read, logging it if asked to. */
static void
discard_read(struct conn *c, const void *buf, size_t len)
{
	const struct discard_conf	*dc = conn_conf(c);

	if (dc != NULL && dc->log_data)
		discard_log(dc, "tcp", conn_peer(c), buf, len);
}

/* Drop a datagram, logging it if asked to; never reply (RFC 863). */
static void
discard_datagram(struct dgram *d, const void *buf, size_t len)
{
	const struct discard_conf	*dc = dgram_conf(d);

	if (dc != NULL && dc->log_data)
		discard_log(dc, "udp", dgram_peer(d), buf, len);
}

const struct service service_discard = {
	.name = "discard",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = discard_keys,
	.conf_size = sizeof(struct discard_conf),
	.conf_key = discard_conf_key,
	.conf_check = discard_conf_check,
	.conf_free = discard_conf_free,
	.conf_describe = discard_conf_describe,
	.tcp_accept = discard_accept,
	.tcp_read = discard_read,
	.udp_datagram = discard_datagram,
	.tcp_restore = discard_restore,
};
