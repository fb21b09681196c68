/*
 * fixture.c: a test-only service, added to the unit tests' registry by
 * this file and one line in services-test.list, to prove that adding a
 * service takes no more.  TCP: the greeting, then the number of bytes
 * read so far after each read.  Key: greeting (default "hi").
 */
#include <stdio.h>
#include <string.h>

#include "service.h"
#include "proto.h"

struct fixture_conf {
	char		 greeting[32];
};

static const char *const fixture_keys[] = { "greeting", NULL };

/* Parse greeting: 1 to 31 bytes. */
static int
fixture_conf_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct fixture_conf	*fc = svc_conf_data(sc);

	(void)key;
	if (*value == '\0' || strlen(value) >= sizeof(fc->greeting))
		return proto_cause(cause, "greeting: 1 to %zu bytes",
		    sizeof(fc->greeting) - 1);
	strcpy(fc->greeting, value);
	return SERVICE_KEY_OK;
}

/* Default the greeting. */
static int
fixture_conf_check(struct svc_conf *sc, char **cause)
{
	struct fixture_conf	*fc = svc_conf_data(sc);

	(void)cause;
	if (fc->greeting[0] == '\0')
		strcpy(fc->greeting, "hi");
	return 0;
}

/* Nothing inside the block to free. */
static void
fixture_conf_free(struct svc_conf *sc)
{
	(void)sc;
}

/* Send the greeting. */
static void
fixture_accept(struct conn *c)
{
	const struct fixture_conf	*fc = conn_conf(c);

	conn_write(c, fc->greeting, strlen(fc->greeting));
}

/* Count what was read. */
static void
fixture_read(struct conn *c, const void *buf, size_t len)
{
	char	line[32];
	int	n;

	(void)buf;
	n = snprintf(line, sizeof(line), "%zu", len);
	conn_write(c, line, (size_t)n);
}

const struct service service_fixture = {
	.name = "fixture",
	.protocols = SERVICE_TCP,
	.keys = fixture_keys,
	.conf_size = sizeof(struct fixture_conf),
	.conf_key = fixture_conf_key,
	.conf_check = fixture_conf_check,
	.conf_free = fixture_conf_free,
	.tcp_accept = fixture_accept,
	.tcp_read = fixture_read,
};
