/*
 * daytime.c: the daytime service of RFC 867, one line of human-readable
 * date and time.  "format" is a strftime(3) format (default
 * "%A, %B %d, %Y %H:%M:%S-%Z"), "utc" picks UTC (default) or local time.
 * Names of days and months are always English: lines are formatted in a
 * "C" locale object, whatever setlocale() or LANG say.
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service.h"
#include "proto.h"
#include "log.h"

/*
 * A Wednesday in September, 23:59:59 UTC: the longest English day and
 * month names, to check in conf_check that a format fits in DAYTIME_MAX.
 */
#define DAYTIME_SAMPLE	((time_t)1790812799)	/* 2026-09-30 */

struct daytime_conf {
	char		*format;
	int		 utc;
	int		 utc_set;	/* "utc" given; else utc = yes */
	locale_t	 loc;		/* "C", for strftime_l */
};

/*
 * The last line formatted by this thread, reused while the second and the
 * settings (format and utc) are the same.  The key is the settings' value,
 * not the instance's address: after a reload a new instance may get a
 * freed one's address with another format, and instances that share
 * settings share the line.
 */
struct daytime_cache {
	time_t		 sec;
	int		 utc;
	char		 format[DAYTIME_FORMAT_MAX + 1];
	size_t		 len;
	char		 line[DAYTIME_MAX];
};

static const char *const daytime_keys[] = { "format", "utc", NULL };

static int	daytime_conf_key(struct svc_conf *, const char *,
		    const char *, char **);
static int	daytime_conf_check(struct svc_conf *, char **);
static void	daytime_conf_free(struct svc_conf *);
static void	daytime_conf_describe(struct svc_conf *, char *, size_t);
static const char *daytime_line(const struct daytime_conf *, size_t *);
static void	daytime_accept(struct conn *);
static void	daytime_datagram(struct dgram *, const void *, size_t);

/* Parse format and utc. */
static int
daytime_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct daytime_conf	*dc = svc_conf_data(sc);
	char			*s;
	int			 on;

	if (strcmp(key, "utc") == 0) {
		if (proto_parse_bool(value, &on) == -1)
			return proto_cause(cause,
			    "utc: \"%s\" is not yes or no", value);
		dc->utc = on;
		dc->utc_set = 1;
		return SERVICE_KEY_OK;
	}
	if (*value == '\0')
		return proto_cause(cause, "format is empty");
	if (strlen(value) > DAYTIME_FORMAT_MAX)
		return proto_cause(cause, "format is longer than %d bytes",
		    DAYTIME_FORMAT_MAX);
	if ((s = strdup(value)) == NULL)
		return proto_cause(cause, "out of memory");
	free(dc->format);
	dc->format = s;
	return SERVICE_KEY_OK;
}

/* Fill in defaults, and check the format gives a line of sane length. */
static int
daytime_conf_check(struct svc_conf *sc, char **cause)
{
	struct daytime_conf	*dc = svc_conf_data(sc);
	char			 line[DAYTIME_MAX];

	if (!dc->utc_set)
		dc->utc = 1;
	if (dc->format == NULL &&
	    (dc->format = strdup(DAYTIME_DEFAULT_FORMAT)) == NULL)
		return proto_cause(cause, "out of memory");
	if (dc->loc == (locale_t)0 &&
	    (dc->loc = newlocale(LC_ALL_MASK, "C", (locale_t)0)) == (locale_t)0)
		return proto_cause(cause, "C locale: %s", strerror(errno));
	if (daytime_format(line, sizeof(line), dc->format, DAYTIME_SAMPLE,
	    dc->utc, dc->loc) == 0 ||
	    daytime_format(line, sizeof(line), dc->format, time(NULL),
	    dc->utc, dc->loc) == 0)
		return proto_cause(cause, "format \"%s\" gives an empty line "
		    "or one longer than %d bytes", dc->format, DAYTIME_MAX - 3);
	return 0;
}

/* Free the format and locale (the host frees the settings). */
static void
daytime_conf_free(struct svc_conf *sc)
{
	struct daytime_conf	*dc = svc_conf_data(sc);

	if (dc == NULL)
		return;
	if (dc->loc != (locale_t)0)
		freelocale(dc->loc);
	free(dc->format);
}

/* " format="..." utc=yes" for -t. */
static void
daytime_conf_describe(struct svc_conf *sc, char *buf, size_t len)
{
	const struct daytime_conf	*dc = svc_conf_data(sc);

	if (dc == NULL)
		return;
	snprintf(buf, len, " format=\"%s\" utc=%s",
	    dc->format != NULL ? dc->format : DAYTIME_DEFAULT_FORMAT,
	    dc->utc ? "yes" : "no");
}

/*
 * This second's line for an instance, from the thread's cache when it
 * can be: at most one strftime a second per thread and setting.  Returns
 * NULL when the line cannot be made (already checked by conf_check, so
 * only for a strange clock).
 */
static const char *
daytime_line(const struct daytime_conf *dc, size_t *len)
{
	static _Thread_local struct daytime_cache	 cache;
	time_t						 now = time(NULL);

	if (cache.len > 0 && cache.sec == now && cache.utc == dc->utc &&
	    strcmp(cache.format, dc->format) == 0) {
		*len = cache.len;
		return cache.line;
	}
	cache.len = daytime_format(cache.line, sizeof(cache.line), dc->format,
	    now, dc->utc, dc->loc);
	if (cache.len == 0)
		return NULL;
	cache.sec = now;
	cache.utc = dc->utc;
	/* conf_key bounds the format, so it always fits. */
	snprintf(cache.format, sizeof(cache.format), "%s", dc->format);
	*len = cache.len;
	return cache.line;
}

/* Send the line and close. */
static void
daytime_accept(struct conn *c)
{
	const struct daytime_conf	*dc = conn_conf(c);
	const char			*line;
	size_t				 len;

	if (dc != NULL && (line = daytime_line(dc, &len)) != NULL)
		conn_write(c, line, len);
	else
		log_warnx("daytime: %s: cannot format the time",
		    conn_peer(c));
	conn_close(c);
}

/* Answer any datagram with the line; its content is ignored. */
static void
daytime_datagram(struct dgram *d, const void *buf, size_t len)
{
	const struct daytime_conf	*dc = dgram_conf(d);
	const char			*line;
	size_t				 n;

	(void)buf;
	(void)len;
	if (dc != NULL && (line = daytime_line(dc, &n)) != NULL)
		dgram_reply(d, line, n);
}

const struct service service_daytime = {
	.name = "daytime",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = daytime_keys,
	.conf_size = sizeof(struct daytime_conf),
	.conf_key = daytime_conf_key,
	.conf_check = daytime_conf_check,
	.conf_free = daytime_conf_free,
	.conf_describe = daytime_conf_describe,
	.tcp_accept = daytime_accept,
	.udp_datagram = daytime_datagram,
};
