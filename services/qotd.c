/*
 * qotd.c: the quote of the day service of RFC 865.  Quotes come from
 * "quotes_file" (format in proto.h: "%" lines or blank lines separate
 * them), read and checked by conf_check, or from a few built-in proverbs.
 * Each connection or datagram gets the next quote in turn.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "proto.h"

struct qotd_conf {
	char			*file;		/* quotes_file as written */
	char			 path[PATH_MAX];	/* and resolved */
	struct qotd_quotes	 loaded;	/* from the file */
	const struct qotd_quote	*quote;		/* loaded, or qotd_builtin */
	size_t			 count;
	/*
	 * The next quote to serve.  Services only get a const view of their
	 * settings at run time, so the one mutable field lives apart.
	 */
	atomic_uint		*next;
};

static const char *const qotd_keys[] = { "quotes_file", NULL };

static int	qotd_conf_key(struct svc_conf *, const char *, const char *,
		    char **);
static int	qotd_conf_check(struct svc_conf *, char **);
static void	qotd_conf_free(struct svc_conf *);
static void	qotd_conf_describe(struct svc_conf *, char *, size_t);
static const struct qotd_quote *qotd_pick(const struct qotd_conf *);
static void	qotd_accept(struct conn *);
static void	qotd_datagram(struct dgram *, const void *, size_t);

/* Parse quotes_file; the file is read by conf_check. */
static int
qotd_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct qotd_conf	*qc = svc_conf_data(sc);
	char			*s;

	(void)key;		/* the host passes only quotes_file */
	if (*value == '\0')
		return proto_cause(cause, "quotes_file is empty");
	if ((s = strdup(value)) == NULL)
		return proto_cause(cause, "out of memory");
	free(qc->file);
	qc->file = s;
	return SERVICE_KEY_OK;
}

/* Load and split the quotes file, or settle for the built-in quotes. */
static int
qotd_conf_check(struct svc_conf *sc, char **cause)
{
	struct qotd_conf	*qc;
	char			*text, *why;
	size_t			 len;
	int			 rc;

	qc = svc_conf_data(sc);
	if (qc->next == NULL) {
		if ((qc->next = malloc(sizeof(*qc->next))) == NULL)
			return proto_cause(cause, "out of memory");
		atomic_init(qc->next, 0);
	}
	qotd_quotes_free(&qc->loaded);
	qc->quote = qotd_builtin;
	qc->count = qotd_nbuiltin;
	if (qc->file == NULL)
		return 0;
	if (svc_conf_path(sc, qc->file, qc->path, sizeof(qc->path)) == -1)
		return proto_cause(cause, "quotes_file: name too long");
	if (proto_read_file(qc->path, QOTD_FILE_MAX, &text, &len, cause) == -1)
		return -1;
	if (len == 0) {
		free(text);
		return proto_cause(cause, "%s: empty file", qc->path);
	}
	rc = qotd_split(text, len, &qc->loaded, &why);
	free(text);
	if (rc == -1) {
		proto_cause(cause, "%s: %s", qc->path,
		    why != NULL ? why : "out of memory");
		free(why);
		return -1;
	}
	qc->quote = qc->loaded.quote;
	qc->count = qc->loaded.count;
	return 0;
}

/* Free the settings and the quotes. */
static void
qotd_conf_free(struct svc_conf *sc)
{
	struct qotd_conf	*qc = svc_conf_data(sc);

	if (qc == NULL)
		return;
	qotd_quotes_free(&qc->loaded);
	free(qc->file);
	free(qc->next);
}

/* " quotes=12 from /path" or " quotes=8 built-in" for -t. */
static void
qotd_conf_describe(struct svc_conf *sc, char *buf, size_t len)
{
	const struct qotd_conf	*qc = svc_conf_data(sc);

	if (qc == NULL)
		return;
	if (qc->file != NULL)
		snprintf(buf, len, " quotes=%zu from %s", qc->count,
		    qc->path[0] != '\0' ? qc->path : qc->file);
	else
		snprintf(buf, len, " quotes=%zu built-in", qc->count);
}

/*
 * The next quote, round robin.  The counter is shared by every thread
 * serving the instance; relaxed order is enough, since it only has to
 * spread the quotes, not order anything else.
 */
static const struct qotd_quote *
qotd_pick(const struct qotd_conf *qc)
{
	unsigned int	n;

	if (qc == NULL || qc->count == 0)
		return &qotd_builtin[0];
	n = atomic_fetch_add_explicit(qc->next, 1, memory_order_relaxed);
	return &qc->quote[n % qc->count];
}

/* Send one quote and close. */
static void
qotd_accept(struct conn *c)
{
	const struct qotd_quote	*q = qotd_pick(conn_conf(c));

	conn_write(c, q->text, q->len);
	conn_close(c);
}

/* Answer any datagram with one quote; its content is ignored. */
static void
qotd_datagram(struct dgram *d, const void *buf, size_t len)
{
	const struct qotd_quote	*q = qotd_pick(dgram_conf(d));

	(void)buf;
	(void)len;
	dgram_reply(d, q->text, q->len);
}

const struct service service_qotd = {
	.name = "qotd",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = qotd_keys,
	.conf_size = sizeof(struct qotd_conf),
	.conf_key = qotd_conf_key,
	.conf_check = qotd_conf_check,
	.conf_free = qotd_conf_free,
	.conf_describe = qotd_conf_describe,
	.tcp_accept = qotd_accept,
	.udp_datagram = qotd_datagram,
};
