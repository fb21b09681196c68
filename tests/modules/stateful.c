/*
 * stateful.c: a test module (tests/modules/test-modules.c), service
 * "stateful", that keeps heap state per connection as MODULES.md teaches
 * and checks the host's promises about it:
 *
 * - tcp_close never runs inside another of its callbacks, even when that
 *   callback closed the connection (conn_close, or a conn_write past
 *   max_bytes): the callback touches its state after either, and
 *   tcp_close aborts the daemon if a callback is still running;
 * - a repeat key ("line") reaches conf_key once per line: the greeting
 *   is every line, in order;
 * - UDP by udp_wait alone (no udp_datagram) is a valid service; this one
 *   hands the socket to no program, so datagrams are dropped.
 *
 * TCP: the greeting, then each chunk echoed; "quit" answers "bye" and
 * closes.
 */
#include <stdlib.h>
#include <string.h>

#include <netsvcd/log.h>
#include <netsvcd/service.h>

#define ST_GREETING_MAX	512

struct st_conf {
	char		 greeting[ST_GREETING_MAX];
	size_t		 len;
};

struct st_conn {
	unsigned long	 chunks;
	size_t		 bytes;
};

static _Thread_local int	st_in_callback;

static const char *const st_keys[] = { "line", NULL };

/* line = TEXT, repeatable: one more line of the greeting. */
static int
st_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct st_conf	*cf = svc_conf_data(sc);
	size_t		 n = strlen(value);

	(void)cause;
	if (strcmp(key, "line") != 0)
		return SERVICE_KEY_UNKNOWN;
	if (n + 1 > sizeof(cf->greeting) - cf->len)
		return SERVICE_KEY_ERROR;	/* no cause: "invalid value" */
	memcpy(cf->greeting + cf->len, value, n);
	cf->greeting[cf->len + n] = '\n';
	cf->len += n + 1;
	return SERVICE_KEY_OK;
}

static void
st_accept(struct conn *c)
{
	const struct st_conf	*cf = conn_conf(c);
	struct st_conn		*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		conn_close(c);
		return;
	}
	conn_set_data(c, s);
	st_in_callback = 1;
	if (cf->len > 0)
		conn_write(c, cf->greeting, cf->len);
	s->chunks++;
	st_in_callback = 0;
}

/* Whatever happened to the connection, the state is still ours here. */
static void
st_read(struct conn *c, const void *buf, size_t len)
{
	struct st_conn	*s = conn_data(c);

	st_in_callback = 1;
	if (len >= 4 && memcmp(buf, "quit", 4) == 0) {
		conn_write(c, "bye\n", 4);
		conn_close(c);
	} else
		conn_write(c, buf, len);
	s->chunks++;
	s->bytes += len;
	st_in_callback = 0;
}

static void
st_close(struct conn *c)
{
	if (st_in_callback) {
		log_warnx("stateful: tcp_close inside another callback");
		abort();
	}
	free(conn_data(c));
}

static void
st_wait(struct dgram *d)
{
	(void)d;
}

static const struct service st_service = {
	.name = "stateful",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = st_keys,
	.repeat_keys = st_keys,
	.conf_size = sizeof(struct st_conf),
	.conf_key = st_conf_key,
	.tcp_accept = st_accept,
	.tcp_read = st_read,
	.tcp_close = st_close,
	.udp_wait = st_wait,
};

static const struct service *const st_services[] = { &st_service, NULL };

const struct netsvcd_module netsvcd_module = {
	.abi = NETSVCD_SERVICE_ABI,
	.name = "stateful",
	.version = "1",
	.services = st_services,
};
