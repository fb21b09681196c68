/*
 * linereply.c: an example netsvcd module, built outside the daemon's tree
 * against the installed SDK (see Makefile).  Service "linereply": every
 * line a TCP client sends comes back, after the instance's "prefix"; each
 * UDP datagram gets one reply, the prefix and the datagram.  With
 * "max_line" (default 512) a longer line ends the connection with an
 * error line.
 *
 *	[daemon]
 *	modules = /usr/lib/x86_64-linux-gnu/netsvcd/modules/linereply.so
 *
 *	[shout]
 *	service = linereply
 *	listen = tcp://127.0.0.1:7777 udp://127.0.0.1:7777
 *	prefix = you said:
 *
 * Everything runs in the daemon's event loop: no call here may block, and
 * with workers > 1 callbacks of different connections run at the same
 * time, so per-connection state hangs off the connection (conn_set_data)
 * and the instance's settings are read-only once conf_check has run.
 */
#define _POSIX_C_SOURCE 200809L	/* strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netsvcd/log.h>
#include <netsvcd/service.h>

#define LINEREPLY_VERSION	"1.0"
#define LINEREPLY_MAX_LINE	65536

/* The settings of one instance: the host allocates them (conf_size). */
struct lr_conf {
	char		*prefix;	/* "" when unset */
	size_t		 prefix_len;
	size_t		 max_line;	/* 0 until set: 512 */
};

/* One TCP connection: the start of a line not complete yet. */
struct lr_conn {
	size_t		 len;
	char		 line[];	/* max_line bytes */
};

static const char *const lr_keys[] = { "prefix", "max_line", NULL };

/* Set *cause (allocated, the host frees it) and fail. */
static int
lr_cause(char **cause, const char *msg)
{
	*cause = strdup(msg);
	return SERVICE_KEY_ERROR;
}

/* prefix = TEXT, max_line = BYTES. */
static int
lr_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct lr_conf	*lc = svc_conf_data(sc);
	char		*end;
	unsigned long	 n;

	if (strcmp(key, "prefix") != 0 && strcmp(key, "max_line") != 0)
		return SERVICE_KEY_UNKNOWN;
	if (strcmp(key, "prefix") == 0) {
		free(lc->prefix);
		if ((lc->prefix = strdup(value)) == NULL)
			return lr_cause(cause, "out of memory");
		lc->prefix_len = strlen(value);
		return SERVICE_KEY_OK;
	}
	n = strtoul(value, &end, 10);
	if (*value == '\0' || *end != '\0' || n < 2 || n > LINEREPLY_MAX_LINE)
		return lr_cause(cause, "max_line: use 2 to 65536 bytes");
	lc->max_line = n;
	return SERVICE_KEY_OK;
}

/* The defaults of what was not set. */
static int
lr_conf_check(struct svc_conf *sc, char **cause)
{
	struct lr_conf	*lc = svc_conf_data(sc);

	if (lc->max_line == 0)
		lc->max_line = 512;
	if (lc->prefix == NULL && (lc->prefix = strdup("")) == NULL)
		return lr_cause(cause, "out of memory");
	log_debug("linereply: [%s] prefix '%s' max_line %zu",
	    svc_conf_name(sc), lc->prefix, lc->max_line);
	return 0;
}

/* Free what the settings hold; the host frees the settings. */
static void
lr_conf_free(struct svc_conf *sc)
{
	struct lr_conf	*lc = svc_conf_data(sc);

	free(lc->prefix);
}

/* " prefix=... max_line=..." for netsvcd -t. */
static void
lr_conf_describe(struct svc_conf *sc, char *buf, size_t len)
{
	const struct lr_conf	*lc = svc_conf_data(sc);

	snprintf(buf, len, " prefix='%s' max_line=%zu", lc->prefix,
	    lc->max_line);
}

/* A connection starts with an empty line buffer. */
static void
lr_accept(struct conn *c)
{
	const struct lr_conf	*lc = conn_conf(c);
	struct lr_conn		*lrc;

	if ((lrc = malloc(sizeof(*lrc) + lc->max_line)) == NULL) {
		conn_close(c);		/* the host counts nothing more */
		return;
	}
	lrc->len = 0;
	conn_set_data(c, lrc);
}

/* Reply to each complete line; a line longer than max_line ends it all. */
static void
lr_read(struct conn *c, const void *buf, size_t len)
{
	const struct lr_conf	*lc = conn_conf(c);
	struct lr_conn		*lrc = conn_data(c);
	const char		*p = buf, *nl;
	size_t			 n;

	if (lrc == NULL)
		return;
	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		if (lrc->len + n > lc->max_line) {
			conn_write(c, "error: line too long\r\n", 22);
			conn_close(c);
			return;
		}
		memcpy(lrc->line + lrc->len, p, n);
		lrc->len += n;
		p += n;
		len -= n;
		if (nl == NULL)
			break;
		if ((lc->prefix_len > 0 &&
		    conn_write(c, lc->prefix, lc->prefix_len) == -1) ||
		    conn_write(c, lrc->line, lrc->len) == -1)
			return;
		lrc->len = 0;
	}
}

static void
lr_close(struct conn *c)
{
	free(conn_data(c));
}

/* One datagram, one reply: the prefix and the datagram. */
static void
lr_datagram(struct dgram *d, const void *buf, size_t len)
{
	const struct lr_conf	*lc = dgram_conf(d);
	char			 out[LINEREPLY_MAX_LINE];

	if (len > lc->max_line || lc->prefix_len + len > sizeof(out))
		return;
	memcpy(out, lc->prefix, lc->prefix_len);
	memcpy(out + lc->prefix_len, buf, len);
	dgram_reply(d, out, lc->prefix_len + len);
}

static const struct service linereply_service = {
	.name = "linereply",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = lr_keys,
	.conf_size = sizeof(struct lr_conf),
	.conf_key = lr_conf_key,
	.conf_check = lr_conf_check,
	.conf_free = lr_conf_free,
	.conf_describe = lr_conf_describe,
	.tcp_accept = lr_accept,
	.tcp_read = lr_read,
	.tcp_close = lr_close,
	.udp_datagram = lr_datagram,
};

static const struct service *const linereply_services[] = {
	&linereply_service, NULL
};

/* The one symbol netsvcd looks for. */
const struct netsvcd_module netsvcd_module = {
	.abi = NETSVCD_SERVICE_ABI,
	.name = "linereply",
	.version = LINEREPLY_VERSION,
	.services = linereply_services,
};
