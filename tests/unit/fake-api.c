/*
 * fake-api.c: the service.h host API for unit tests, recording writes and
 * replies in memory instead of touching sockets (see fake-api.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "fake-api.h"

static void	fake_append(struct conn *, const void *, size_t);

/* Keep bytes written to a connection; abort if memory runs out. */
static void
fake_append(struct conn *c, const void *buf, size_t len)
{
	size_t	ncap;

	if (c->outlen + len > c->outcap) {
		ncap = c->outcap == 0 ? 4096 : c->outcap;
		while (ncap < c->outlen + len)
			ncap *= 2;
		if ((c->out = realloc(c->out, ncap)) == NULL)
			abort();
		c->outcap = ncap;
	}
	if (len > 0)
		memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
}

/* A fresh connection from 192.0.2.1:4242 with no socket capacity. */
void
fake_conn_init(struct conn *c, const void *conf)
{
	memset(c, 0, sizeof(*c));
	c->conf = conf;
	c->peer = "192.0.2.1:4242";
}

/* Free what a connection recorded. */
void
fake_conn_free(struct conn *c)
{
	free(c->out);
	memset(c, 0, sizeof(*c));
}

/* A fresh datagram from 192.0.2.1:4242. */
void
fake_dgram_init(struct dgram *d, const void *conf)
{
	memset(d, 0, sizeof(*d));
	d->conf = conf;
	d->peer = "192.0.2.1:4242";
}

/* Free the last reply. */
void
fake_dgram_free(struct dgram *d)
{
	free(d->reply);
	memset(d, 0, sizeof(*d));
}

/*
 * An instance of sv called name whose config file lives in dir, with
 * sv->conf_size zeroed bytes as the host gives it before conf_key.
 */
void
fake_svc_conf_init(struct svc_conf *sc, const struct service *sv,
    const char *name, const char *dir)
{
	memset(sc, 0, sizeof(*sc));
	sc->name = name;
	sc->dir = dir;
	if (sv != NULL && sv->conf_size > 0 &&
	    (sc->data = calloc(1, sv->conf_size)) == NULL)
		abort();
}

/* Run sv's conf_free and free the block, as the host does. */
void
fake_svc_conf_free(struct svc_conf *sc, const struct service *sv)
{
	if (sv->conf_free != NULL && sc->data != NULL)
		sv->conf_free(sc);
	if (sv->conf_size > 0) {
		free(sc->data);
		sc->data = NULL;
	}
}

/* Take everything, as the host's buffer would; -1 once closed. */
int
conn_write(struct conn *c, const void *buf, size_t len)
{
	c->writes++;
	if (c->closes > 0) {
		c->after_close++;
		return -1;
	}
	fake_append(c, buf, len);
	return 0;
}

/* Take at most the capacity the test left in the "socket". */
size_t
conn_write_some(struct conn *c, const void *buf, size_t len)
{
	size_t	n;

	c->write_some++;
	c->write_some_asked = len;
	if (c->closes > 0) {
		c->after_close++;
		return 0;
	}
	n = len < c->capacity ? len : c->capacity;
	c->capacity -= n;
	fake_append(c, buf, n);
	return n;
}

/* Count the calls. */
void
conn_drop_input(struct conn *c)
{
	c->drop_input++;
}

/* Count the calls. */
void
conn_echo_input(struct conn *c)
{
	c->echo_input++;
}

/* What the test set as pending output. */
size_t
conn_pending(struct conn *c)
{
	return c->pending;
}

/* Count closes; writes after one fail. */
void
conn_close(struct conn *c)
{
	c->closes++;
}

/* The per-connection pointer of the service. */
void *
conn_data(struct conn *c)
{
	return c->data;
}

/* Set the per-connection pointer. */
void
conn_set_data(struct conn *c, void *data)
{
	c->data = data;
}

/* The instance data the test gave the connection. */
const void *
conn_conf(struct conn *c)
{
	return c->conf;
}

/* A fixed documentation address (RFC 5737). */
const char *
conn_peer(struct conn *c)
{
	return c->peer;
}

/* Keep the last reply and count them. */
int
dgram_reply(struct dgram *d, const void *buf, size_t len)
{
	free(d->reply);
	if ((d->reply = malloc(len + 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(d->reply, buf, len);
	d->replylen = len;
	d->replies++;
	return 0;
}

/* The instance data the test gave the datagram. */
const void *
dgram_conf(struct dgram *d)
{
	return d->conf;
}

/* A fixed documentation address (RFC 5737). */
const char *
dgram_peer(struct dgram *d)
{
	return d->peer;
}

/* No process is started in unit tests: the spawn always fails. */
int
conn_spawn(struct conn *c, const struct spawn_spec *sp)
{
	(void)sp;
	c->closes++;
	return -1;
}

int
dgram_spawn(struct dgram *d, const struct spawn_spec *sp)
{
	(void)d;
	(void)sp;
	return -1;
}

/* Unit tests check configs as -t does. */
int
svc_conf_can_setid(struct svc_conf *sc)
{
	(void)sc;
	return -1;
}

/* The service's config-time data. */
void *
svc_conf_data(struct svc_conf *sc)
{
	return sc->data;
}

/* Set the service's config-time data. */
void
svc_conf_set_data(struct svc_conf *sc, void *data)
{
	sc->data = data;
}

/* The instance name the test chose. */
const char *
svc_conf_name(struct svc_conf *sc)
{
	return sc->name;
}

/* Absolute names as they are, relative ones under sc->dir. */
int
svc_conf_path(struct svc_conf *sc, const char *name, char *buf, size_t len)
{
	int	n;

	if (name[0] == '/' || sc->dir == NULL)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "%s/%s", sc->dir, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
