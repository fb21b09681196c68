/*
 * banner.c: send a fixed message and close, e.g. a greeting or a notice
 * that a service moved.  The message comes from "message" (with the
 * escapes \r \n \t \\ \xHH) or from "message_file" (sent as is); either
 * way it must be UTF-8 and at most SERVICE_MAX_MESSAGE bytes.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "proto.h"

#define BANNER_UDP_MAX	65507	/* the largest UDP payload over IPv4 */

struct banner_conf {
	char		*message;	/* decoded "message" */
	size_t		 message_len;
	char		*file;		/* message_file as written */
	char		 path[PATH_MAX];	/* and resolved */
	char		*text;		/* what is sent: one of the two */
	size_t		 len;
};

static const char *const banner_keys[] = { "message", "message_file", NULL };

static int	banner_conf_key(struct svc_conf *, const char *, const char *,
		    char **);
static int	banner_conf_check(struct svc_conf *, char **);
static void	banner_conf_free(struct svc_conf *);
static void	banner_conf_describe(struct svc_conf *, char *, size_t);
static void	banner_accept(struct conn *);
static void	banner_datagram(struct dgram *, const void *, size_t);

/* Parse message (decoded and checked here) and message_file. */
static int
banner_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct banner_conf	*bc;
	const char		*why;
	char			*s;
	ssize_t			 n;

	bc = svc_conf_data(sc);
	if (*value == '\0')
		return proto_cause(cause, "%s is empty", key);
	if (strcmp(key, "message_file") == 0) {
		if ((s = strdup(value)) == NULL)
			return proto_cause(cause, "out of memory");
		free(bc->file);
		bc->file = s;
		return SERVICE_KEY_OK;
	}
	if ((s = malloc(strlen(value) + 1)) == NULL)
		return proto_cause(cause, "out of memory");
	if ((n = banner_unescape(value, s, &why)) == -1) {
		free(s);
		return proto_cause(cause, "message: %s", why);
	}
	if (n == 0 || (size_t)n > SERVICE_MAX_MESSAGE) {
		free(s);
		return proto_cause(cause, "message: %zd bytes once decoded "
		    "(1 to %d allowed)", n, SERVICE_MAX_MESSAGE);
	}
	if (!utf8_valid(s, (size_t)n)) {
		free(s);
		return proto_cause(cause, "message: not UTF-8 once decoded");
	}
	free(bc->message);
	bc->message = s;
	bc->message_len = (size_t)n;
	return SERVICE_KEY_OK;
}

/* Require exactly one source, and read message_file. */
static int
banner_conf_check(struct svc_conf *sc, char **cause)
{
	struct banner_conf	*bc = svc_conf_data(sc);
	char			*buf;
	size_t			 len;

	if (bc == NULL || (bc->message == NULL && bc->file == NULL))
		return proto_cause(cause, "banner needs message or "
		    "message_file");
	if (bc->message != NULL && bc->file != NULL)
		return proto_cause(cause, "message and message_file are "
		    "exclusive");
	if (bc->message != NULL) {
		bc->text = bc->message;
		bc->len = bc->message_len;
		return 0;
	}
	if (svc_conf_path(sc, bc->file, bc->path, sizeof(bc->path)) == -1)
		return proto_cause(cause, "message_file: name too long");
	if (proto_read_file(bc->path, SERVICE_MAX_MESSAGE, &buf, &len,
	    cause) == -1)
		return -1;
	if (len == 0) {
		free(buf);
		return proto_cause(cause, "%s: empty file", bc->path);
	}
	if (!utf8_valid(buf, len)) {
		free(buf);
		return proto_cause(cause, "%s: not UTF-8", bc->path);
	}
	if (bc->text != bc->message)
		free(bc->text);
	bc->text = buf;
	bc->len = len;
	return 0;
}

/* Free the message (the host frees the settings). */
static void
banner_conf_free(struct svc_conf *sc)
{
	struct banner_conf	*bc = svc_conf_data(sc);

	if (bc == NULL)
		return;
	if (bc->text != bc->message)
		free(bc->text);
	free(bc->message);
	free(bc->file);
}

/* " message=27 bytes" or " message_file=/path (27 bytes)" for -t. */
static void
banner_conf_describe(struct svc_conf *sc, char *buf, size_t len)
{
	const struct banner_conf	*bc = svc_conf_data(sc);

	if (bc == NULL)
		return;
	if (bc->file != NULL)
		snprintf(buf, len, " message_file=%s (%zu bytes)",
		    bc->path[0] != '\0' ? bc->path : bc->file, bc->len);
	else
		snprintf(buf, len, " message=%zu bytes", bc->message_len);
}

/* Send the message and close. */
static void
banner_accept(struct conn *c)
{
	const struct banner_conf	*bc = conn_conf(c);

	if (bc != NULL && bc->text != NULL)
		conn_write(c, bc->text, bc->len);
	conn_close(c);
}

/* Answer any datagram with the message, cut to what one datagram holds. */
static void
banner_datagram(struct dgram *d, const void *buf, size_t len)
{
	const struct banner_conf	*bc = dgram_conf(d);

	(void)buf;
	(void)len;
	if (bc != NULL && bc->text != NULL)
		dgram_reply(d, bc->text,
		    bc->len < BANNER_UDP_MAX ? bc->len : BANNER_UDP_MAX);
}

const struct service service_banner = {
	.name = "banner",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = banner_keys,
	.conf_size = sizeof(struct banner_conf),
	.conf_key = banner_conf_key,
	.conf_check = banner_conf_check,
	.conf_free = banner_conf_free,
	.conf_describe = banner_conf_describe,
	.tcp_accept = banner_accept,
	.udp_datagram = banner_datagram,
};
