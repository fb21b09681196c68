/*
 * metrics.c: the metrics endpoint.  GET /metrics answers with the daemon's
 * counters in the Prometheus text exposition format, version 0.0.4, served
 * by libevent's evhttp on the daemon's own event loop (there is no HTTP
 * parser of ours).  It only reads counters: the instances' stats, which
 * carry over reloads, and the daemon's totals.
 *
 * evhttp is kept on a short leash, since anything that can connect may talk
 * to it: small header and body limits, a read/write timeout, one path, two
 * methods, at most metrics_max_connections connections (accepting pauses
 * at the cap), a total deadline for each request however slowly it
 * trickles in, a bounded read-ahead (evhttp keeps reading while a reply
 * waits for a client that does not read it), and on EMFILE the reserve
 * descriptor and a pause, as the service listeners do.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "netsvcd.h"

#define METRICS_PATH		"/metrics"
#define METRICS_HEALTHZ		"/healthz"
#define METRICS_READY		"/ready"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_BACKLOG		16
#define METRICS_TIMEOUT_S	10	/* read and write, per connection */
#define METRICS_MAX_HEADERS	8192	/* request line and headers */
#define METRICS_MAX_BODY	1024	/* nothing we serve takes a body */
#define METRICS_DEADLINE_MS	10000	/* to read and answer one request */
#define METRICS_READ_AHEAD	16384	/* input buffered per connection */

/*
 * The methods that reach metrics_on_request, which answers 405 to all but
 * GET and HEAD.  evhttp itself answers a method outside this mask with
 * 501, not the 405 its header promises: CONNECT is left to that (evhttp
 * then keeps the connection open for a tunnel, until the timeout).
 */
#define METRICS_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |		\
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |	\
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_PATCH)

/*
 * One metrics connection, as evhttp's bufferevent that we made for it (and
 * hold a reference on, so that we learn when evhttp is done with it: its
 * callbacks are then unset).  The timer attaches the close callback once
 * evhttp has set the connection up, enforces the deadline, and releases.
 */
struct metrics_conn {
	LIST_ENTRY(metrics_conn)	 entry;
	struct metrics			*m;
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;		/* NULL: not known yet */
	struct event			*ev;
	uint64_t			 deadline;	/* monotonic ms */
	int				 evicted;	/* closing: made room */
};

struct metrics {
	struct daemon			*d;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	struct event			*ev_resume;	/* accept again */
	LIST_HEAD(, metrics_conn)	 conns;
	unsigned int			 nconns;
	unsigned int			 nevicted;	/* closing, still counted */
	unsigned int			 max_conns;
	int				 paused;	/* by EMFILE */
};

/* A body being built; the first failed append marks it failed. */
struct metrics_out {
	struct evbuffer		*b;
	int			 failed;
};

/*
 * One series of the per-instance families: the sum over every stats
 * object whose instance has these labels, and the open connections of
 * every instance object (current and retired) sharing those stats.
 */
struct metrics_row {
	const char		*instance;
	const char		*service;
	const struct module	*module;	/* NULL: built in */
	unsigned long		 accepted;
	unsigned long		 refused[REFUSE_COUNT];
	unsigned long		 active;
	unsigned long		 timed_out;
	unsigned long		 bytes_in[PROTO_COUNT];
	unsigned long		 bytes_out[PROTO_COUNT];
	unsigned long		 dgrams_in;
	unsigned long		 dgrams_out;
	unsigned long		 dropped[DROP_COUNT];
	unsigned long		 children;
	unsigned long		 spawned;
	unsigned long		 spawn_failed;
	unsigned long		 exits[CHILD_EXIT_COUNT];
	unsigned long		 proxy_refused[PROXY_E_COUNT];
	int			 proxied;	/* proxy_protocol is on */
	int			 spawns;	/* the service runs programs */
};

/* One per-instance family: a field of metrics_row, or an array of them. */
#define METRICS_SPAWNS	2	/* proxied_only: exec instances only */

struct metrics_family {
	const char		*name;
	const char		*type;
	const char		*help;
	size_t			 off;		/* in struct metrics_row */
	const char		*label;		/* of the array index */
	const char		*(*reason)(int);
	int			 nreasons;	/* 0: one value, no label */
	int			 proxied_only;	/* rows with proxy_protocol (1),
						   of spawning services (2) */
};

static const char	*metrics_refuse_name(int);
static const char	*metrics_drop_name(int);
static const char	*metrics_proto_name(int);
static const char	*metrics_exit_name(int);
static const char	*metrics_proxy_name(int);
static void		 metrics_add(struct metrics_out *, const void *,
			    size_t);
static void		 metrics_printf(struct metrics_out *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
static void		 metrics_escape(struct metrics_out *, const char *);
static void		 metrics_head(struct metrics_out *, const char *,
			    const char *, const char *);
static void		 metrics_sample(struct metrics_out *, const char *,
			    const struct metrics_row *, const char *,
			    const char *, unsigned long);
static struct instance	*metrics_rep(struct daemon *, struct instance *,
			    int *first);
static int		 metrics_rows(struct daemon *, struct metrics_row **,
			    size_t *);
static int		 metrics_body(struct daemon *, struct evbuffer *);
static void		 metrics_reply(struct evhttp_request *, int,
			    const char *, const char *);
static int		 metrics_health(struct daemon *, struct evhttp_request *,
			    const char *);
static void		 metrics_on_request(struct evhttp_request *, void *);
static void		 metrics_on_accept_error(struct evconnlistener *,
			    void *);
static void		 metrics_on_resume(evutil_socket_t, short, void *);
static struct bufferevent *metrics_on_conn(struct event_base *, void *);
static void		 metrics_conn_tick(evutil_socket_t, short, void *);
static void		 metrics_conn_closed(struct evhttp_connection *,
			    void *);
static void		 metrics_conn_free(struct metrics_conn *);
static void		 metrics_accepting(struct metrics *);
static void		 metrics_make_room(struct metrics *);
static void		 metrics_request_done(struct metrics *,
			    struct evhttp_request *);
static int		 metrics_socket(const struct endpoint *, char **cause);

static const struct metrics_family metrics_families[] = {
	{ "netsvcd_connections_accepted_total", "counter",
	    "TCP connections accepted.",
	    offsetof(struct metrics_row, accepted), NULL, NULL, 0, 0 },
	{ "netsvcd_connections_refused_total", "counter",
	    "TCP connections refused, by reason.",
	    offsetof(struct metrics_row, refused), "reason", metrics_refuse_name,
	    REFUSE_COUNT, 0 },
	{ "netsvcd_connections_active", "gauge",
	    "TCP connections open now.",
	    offsetof(struct metrics_row, active), NULL, NULL, 0, 0 },
	{ "netsvcd_connections_timed_out_total", "counter",
	    "TCP connections closed by a timeout.",
	    offsetof(struct metrics_row, timed_out), NULL, NULL, 0, 0 },
	{ "netsvcd_bytes_received_total", "counter",
	    "Bytes received from clients, by protocol.",
	    offsetof(struct metrics_row, bytes_in), "proto", metrics_proto_name,
	    PROTO_COUNT, 0 },
	{ "netsvcd_bytes_sent_total", "counter",
	    "Bytes sent to clients, by protocol.",
	    offsetof(struct metrics_row, bytes_out), "proto", metrics_proto_name,
	    PROTO_COUNT, 0 },
	{ "netsvcd_datagrams_received_total", "counter",
	    "UDP datagrams received.",
	    offsetof(struct metrics_row, dgrams_in), NULL, NULL, 0, 0 },
	{ "netsvcd_datagrams_sent_total", "counter",
	    "UDP datagrams sent.",
	    offsetof(struct metrics_row, dgrams_out), NULL, NULL, 0, 0 },
	{ "netsvcd_datagrams_dropped_total", "counter",
	    "UDP datagrams that got no reply, by reason.",
	    offsetof(struct metrics_row, dropped), "reason", metrics_drop_name,
	    DROP_COUNT, 0 },
	{ "netsvcd_proxy_headers_refused_total", "counter",
	    "TCP connections closed for a missing or bad PROXY header, by reason.",
	    offsetof(struct metrics_row, proxy_refused), "reason",
	    metrics_proxy_name, PROXY_E_COUNT, 1 },
	{ "netsvcd_children_running", "gauge",
	    "Programs running now (exec instances).",
	    offsetof(struct metrics_row, children), NULL, NULL, 0, METRICS_SPAWNS },
	{ "netsvcd_children_spawned_total", "counter",
	    "Programs started (exec instances).",
	    offsetof(struct metrics_row, spawned), NULL, NULL, 0, METRICS_SPAWNS },
	{ "netsvcd_children_spawn_failures_total", "counter",
	    "Programs that could not be started (exec instances).",
	    offsetof(struct metrics_row, spawn_failed), NULL, NULL, 0, METRICS_SPAWNS },
	{ "netsvcd_children_exits_total", "counter",
	    "Programs reaped, by how they ended (ok, error, signal).",
	    offsetof(struct metrics_row, exits), "reason", metrics_exit_name,
	    CHILD_EXIT_COUNT, METRICS_SPAWNS },
};
#define METRICS_NFAMILIES \
	(sizeof(metrics_families) / sizeof(metrics_families[0]))

/*
 * The error callback of an evconnlistener gets the listener's callback
 * argument, which evhttp keeps for itself; the one endpoint of the process
 * is found here instead.
 */
static struct metrics	*metrics_self;

static const char *
metrics_refuse_name(int i)
{
	return refuse_reason_name((enum refuse_reason)i);
}

static const char *
metrics_drop_name(int i)
{
	return drop_reason_name((enum drop_reason)i);
}

static const char *
metrics_exit_name(int i)
{
	return child_exit_name((enum child_exit)i);
}

static const char *
metrics_proto_name(int i)
{
	return i == PROTO_TCP ? "tcp" : "udp";
}

/* The reasons of a refused PROXY header; NULL (no series) for "none". */
static const char *
metrics_proxy_name(int i)
{
	return i == PROXY_E_NONE ? NULL : proxy_error_name((enum proxy_error)i);
}

/* Append bytes to the body. */
static void
metrics_add(struct metrics_out *o, const void *p, size_t len)
{
	if (!o->failed && evbuffer_add(o->b, p, len) == -1)
		o->failed = 1;
}

/* Append formatted text to the body. */
static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list	ap;

	if (o->failed)
		return;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(o->b, fmt, ap) == -1)
		o->failed = 1;
	va_end(ap);
}

/*
 * Append a label value, escaped as the format asks: backslash, double
 * quote and line feed become \\, \" and \n.
 */
static void
metrics_escape(struct metrics_out *o, const char *s)
{
	size_t	n;

	while (*s != '\0') {
		n = strcspn(s, "\\\"\n");
		metrics_add(o, s, n);
		s += n;
		switch (*s) {
		case '\\':
			metrics_add(o, "\\\\", 2);
			break;
		case '"':
			metrics_add(o, "\\\"", 2);
			break;
		case '\n':
			metrics_add(o, "\\n", 2);
			break;
		default:
			return;
		}
		s++;
	}
}

/* The HELP and TYPE lines of a family (help text has no \ or newline). */
static void
metrics_head(struct metrics_out *o, const char *name, const char *type,
    const char *help)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* One sample of a per-instance family; label is NULL or label="value". */
static void
metrics_sample(struct metrics_out *o, const char *name,
    const struct metrics_row *r, const char *label, const char *value,
    unsigned long v)
{
	metrics_printf(o, "%s{instance=\"", name);
	metrics_escape(o, r->instance);
	metrics_add(o, "\",service=\"", 11);
	metrics_escape(o, r->service);
	if (label != NULL) {
		metrics_printf(o, "\",%s=\"", label);
		metrics_escape(o, value);
	}
	metrics_printf(o, "\"} %lu\n", v);
}

/*
 * The instance whose labels the stats of inst are shown under: after a
 * reload several instance objects of one name share one stats object, and
 * the current one names the series.  *first is set when inst is the first
 * in the list with those stats, so that each stats object is counted once.
 */
static struct instance *
metrics_rep(struct daemon *d, struct instance *inst, int *first)
{
	struct instance	*i, *rep = NULL;
	int		 seen = 0;

	*first = 1;
	TAILQ_FOREACH(i, &d->instances, entry) {
		if (i->state == INSTANCE_STAGED || i->stats != inst->stats)
			continue;
		if (i == inst)
			seen = 1;
		else if (!seen)
			*first = 0;
		if (rep == NULL || (i->state == INSTANCE_CURRENT &&
		    rep->state != INSTANCE_CURRENT))
			rep = i;
	}
	return rep;
}

/*
 * Gather the per-instance series, one row per label set.  A name removed
 * by a reload and added again by a later one gets fresh stats while the
 * retired instance still has connections: both land in one row, so that
 * no series is written twice.  Sets *rowsp to a calloc'd array (NULL when
 * there are no instances) of *n rows; returns 0, or -1 out of memory.
 */
static int
metrics_rows(struct daemon *d, struct metrics_row **rowsp, size_t *n)
{
	struct metrics_row	*rows, *r;
	struct instance_stats	*s;
	struct instance		*inst, *rep;
	size_t			 max = 0, i;
	int			 first, k;

	*rowsp = NULL;
	*n = 0;
	TAILQ_FOREACH(inst, &d->instances, entry)
		max++;
	if (max == 0)
		return 0;
	if ((rows = calloc(max, sizeof(*rows))) == NULL)
		return -1;
	TAILQ_FOREACH(inst, &d->instances, entry) {
		/* Staged instances exist only inside daemon_apply(). */
		if (inst->state == INSTANCE_STAGED)
			continue;
		rep = metrics_rep(d, inst, &first);
		for (i = 0; i < *n; i++) {
			if (strcmp(rows[i].instance, rep->ic->name) == 0 &&
			    strcmp(rows[i].service,
			    rep->ic->service->name) == 0)
				break;
		}
		r = &rows[i];
		if (i == *n) {
			r->instance = rep->ic->name;
			r->service = rep->ic->service->name;
			r->module = rep->ic->module;
			r->proxied = rep->ic->proxy_accept != 0;
			r->spawns = rep->ic->service->spawns;
			(*n)++;
		}
		r->active += atomic_load(&inst->nconns);
		if (!first)
			continue;
		s = inst->stats;
		r->accepted += atomic_load(&s->accepted);
		for (k = 0; k < REFUSE_COUNT; k++)
			r->refused[k] += atomic_load(&s->refused[k]);
		r->timed_out += atomic_load(&s->timed_out);
		for (k = 0; k < PROTO_COUNT; k++) {
			r->bytes_in[k] += atomic_load(&s->bytes_in[k]);
			r->bytes_out[k] += atomic_load(&s->bytes_out[k]);
		}
		r->dgrams_in += atomic_load(&s->dgrams_in);
		r->dgrams_out += atomic_load(&s->dgrams_out);
		for (k = 0; k < DROP_COUNT; k++)
			r->dropped[k] += atomic_load(&s->dropped[k]);
		r->children += atomic_load(&s->children);
		r->spawned += atomic_load(&s->spawned);
		r->spawn_failed += atomic_load(&s->spawn_failed);
		for (k = 0; k < CHILD_EXIT_COUNT; k++)
			r->exits[k] += atomic_load(&s->exits[k]);
		for (k = 0; k < PROXY_E_COUNT; k++)
			r->proxy_refused[k] += atomic_load(&s->proxy_refused[k]);
	}
	*rowsp = rows;
	return 0;
}

/* Write the whole exposition into b.  Returns 0, or -1 out of memory. */
static int
metrics_body(struct daemon *d, struct evbuffer *b)
{
	const struct metrics_family	*f;
	const unsigned long		*v;
	struct metrics_out		 o = { b, 0 };
	struct metrics_row		*rows;
	struct timespec			 now;
	long long			 up;
	size_t				 nrows, i, j;
	int				 k;

	if (metrics_rows(d, &rows, &nrows) == -1)
		return -1;

	metrics_head(&o, "netsvcd_info", "gauge",
	    "Version of netsvcd; the value is always 1.");
	metrics_printf(&o, "netsvcd_info{version=\"");
	metrics_escape(&o, NETSVCD_VERSION);
	metrics_printf(&o, "\"} 1\n");

	clock_gettime(CLOCK_MONOTONIC, &now);
	up = (long long)now.tv_sec - (long long)d->started.tv_sec;
	if (now.tv_nsec < d->started.tv_nsec)
		up--;
	metrics_head(&o, "netsvcd_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	metrics_printf(&o, "netsvcd_uptime_seconds %lld\n", up < 0 ? 0 : up);

	metrics_head(&o, "netsvcd_reloads_total", "counter",
	    "Configuration reloads, by result.");
	metrics_printf(&o, "netsvcd_reloads_total{result=\"ok\"} %lu\n"
	    "netsvcd_reloads_total{result=\"failed\"} %lu\n", d->reloads_ok,
	    d->reloads_failed);

	metrics_head(&o, "netsvcd_connections_open", "gauge",
	    "TCP connections open now, over all instances.");
	metrics_printf(&o, "netsvcd_connections_open %u\n",
	    atomic_load(&d->nconns));

	metrics_head(&o, "netsvcd_instance_info", "gauge", "Where the service "
	    "of each instance comes from: built-in or a module, with its "
	    "version; the value is always 1.");
	for (i = 0; i < nrows; i++) {
		metrics_printf(&o, "netsvcd_instance_info{instance=\"");
		metrics_escape(&o, rows[i].instance);
		metrics_printf(&o, "\",module=\"");
		metrics_escape(&o, module_name(rows[i].module));
		metrics_printf(&o, "\",module_version=\"");
		metrics_escape(&o, module_version(rows[i].module));
		metrics_printf(&o, "\",service=\"");
		metrics_escape(&o, rows[i].service);
		metrics_printf(&o, "\"} 1\n");
	}

	metrics_head(&o, "netsvcd_limit_hits_total", "counter",
	    "Times a limit backed off, closed or failed open, by limit.");
	for (k = 0; k < LIMIT_COUNT; k++)
		metrics_printf(&o, "netsvcd_limit_hits_total{limit=\"%s\"} "
		    "%lu\n", limit_name((enum limit)k),
		    limit_hits(&d->limits, (enum limit)k));

	for (j = 0; j < METRICS_NFAMILIES; j++) {
		f = &metrics_families[j];
		metrics_head(&o, f->name, f->type, f->help);
		for (i = 0; i < nrows; i++) {
			if (f->proxied_only == 1 && !rows[i].proxied)
				continue;
			if (f->proxied_only == METRICS_SPAWNS &&
			    !rows[i].spawns)
				continue;
			v = (const unsigned long *)(const void *)
			    ((const char *)&rows[i] + f->off);
			if (f->nreasons == 0) {
				metrics_sample(&o, f->name, &rows[i], NULL,
				    NULL, *v);
				continue;
			}
			for (k = 0; k < f->nreasons; k++) {
				if (f->reason(k) == NULL)
					continue;
				metrics_sample(&o, f->name, &rows[i],
				    f->label, f->reason(k), v[k]);
			}
		}
	}
	free(rows);
	return o.failed ? -1 : 0;
}

/* A short plain text reply (errors); HEAD gets the headers only. */
static void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b;

	char			 len[32];

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* As for GET /metrics: the length a GET would get. */
		snprintf(len, sizeof(len), "%zu", strlen(text));
		evhttp_add_header(h, "Content-Length", len);
		evhttp_send_reply(req, code, reason, NULL);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_reply(req, code, reason, NULL);
		return;
	}
	if (evbuffer_add(b, text, strlen(text)) == -1)
		evhttp_send_reply(req, code, reason, NULL);
	else
		evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/*
 * The balancer's checks: /healthz answers 200 while the daemon serves at
 * all; /ready answers 200 while it takes new work, and 503 from SIGTERM on
 * (drain_delay) and while the last reload failed to apply.  Returns 1 when
 * path was one of them (and answered).
 */
static int
metrics_health(struct daemon *d, struct evhttp_request *req,
    const char *path)
{
	if (strcmp(path, METRICS_HEALTHZ) == 0) {
		metrics_reply(req, HTTP_OK, "OK", "ok\n");
		return 1;
	}
	if (strcmp(path, METRICS_READY) != 0)
		return 0;
	if (atomic_load(&d->draining) || atomic_load(&d->stopping))
		metrics_reply(req, HTTP_SERVUNAVAIL, "Service Unavailable",
		    "draining\n");
	else if (d->reload_failing)
		metrics_reply(req, HTTP_SERVUNAVAIL, "Service Unavailable",
		    "the last reload failed\n");
	else
		metrics_reply(req, HTTP_OK, "OK", "ready\n");
	return 1;
}

/*
 * Every request: GET or HEAD /metrics gets the exposition (a query string
 * is ignored), /healthz and /ready their status, other methods on them
 * 405, other paths 404.
 */
static void
metrics_on_request(struct evhttp_request *req, void *arg)
{
	struct metrics		*m = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = NULL;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evbuffer		*b;
	char			 len[32];

	metrics_request_done(m, req);
	if (uri != NULL)
		path = evhttp_uri_get_path(uri);
	if (path == NULL || (strcmp(path, METRICS_PATH) != 0 &&
	    strcmp(path, METRICS_HEALTHZ) != 0 &&
	    strcmp(path, METRICS_READY) != 0)) {
		metrics_reply(req, HTTP_NOTFOUND, "Not Found",
		    "not found: the metrics are at " METRICS_PATH "\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET, HEAD");
		metrics_reply(req, HTTP_BADMETHOD, "Method Not Allowed",
		    "method not allowed: use GET or HEAD\n");
		return;
	}
	if (metrics_health(m->d, req, path))
		return;
	if ((b = evbuffer_new()) == NULL || metrics_body(m->d, b) == -1) {
		if (b != NULL)
			evbuffer_free(b);
		limit_hit(&m->d->limits, LIMIT_NOMEM, 1, "metrics");
		metrics_reply(req, HTTP_INTERNAL, "Internal Server Error",
		    "out of memory\n");
		return;
	}
	evhttp_add_header(h, "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (cmd == EVHTTP_REQ_HEAD) {
		/*
		 * evhttp 2.1 would send a HEAD reply's body, and gives it no
		 * Content-Length: say how long a GET would be, send nothing.
		 */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(b));
		evhttp_add_header(h, "Content-Length", len);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
	} else
		evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/*
 * accept() failed with something other than EAGAIN or EINTR, most likely
 * EMFILE: the waiting client would make the listener fire again at once.
 * Close it with the reserve descriptor and stop accepting for a moment,
 * as the service listeners do.
 */
static void
metrics_on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct metrics	*m = metrics_self;
	struct timeval	 tv;
	char		 ctx[128];
	int		 ms;

	UNUSED(arg);
	if (m == NULL)
		return;
	snprintf(ctx, sizeof(ctx), "metrics: accept: %s", strerror(errno));
	listener_reserve_accept(m->d, evconnlistener_get_fd(lev));
	ms = limit_hit(&m->d->limits, LIMIT_METRICS_EMFILE, 1, ctx);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	m->paused = 1;
	evconnlistener_disable(lev);
	evtimer_add(m->ev_resume, &tv);
}

static void
metrics_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics	*m = arg;

	UNUSED(fd);
	UNUSED(what);
	m->paused = 0;
	metrics_accepting(m);
}

/*
 * Accept while not paused by EMFILE and under the cap, or able to make
 * room (metrics_make_room).
 */
static void
metrics_accepting(struct metrics *m)
{
	struct evconnlistener	*lev;
	struct metrics_conn	*mc;
	int			 room = m->nconns - m->nevicted < m->max_conns;

	if (m->bound == NULL)
		return;
	LIST_FOREACH(mc, &m->conns, entry) {
		if (!mc->evicted && mc->evcon != NULL)
			room = 1;
	}
	lev = evhttp_bound_socket_get_listener(m->bound);
	if (m->paused || !room)
		evconnlistener_disable(lev);
	else
		evconnlistener_enable(lev);
}

/*
 * Over the cap: close the oldest connection, so that a few clients that
 * hold theirs open (a slow request, an idle keep-alive) cannot lock out a
 * balancer's health check, whose request comes whole and is answered at
 * once.  Connections evhttp has not set up yet are left alone.
 */
static void
metrics_make_room(struct metrics *m)
{
	struct metrics_conn	*mc, *oldest = NULL;

	LIST_FOREACH(mc, &m->conns, entry) {
		if (!mc->evicted && mc->evcon != NULL)
			oldest = mc;	/* newest first: the last is oldest */
	}
	limit_hit(&m->d->limits, LIMIT_METRICS_CONNS, 1, "metrics");
	if (oldest == NULL)
		return;
	oldest->evicted = 1;
	m->nevicted++;
	/* Calls metrics_conn_closed: freed from the loop. */
	evhttp_connection_free(oldest->evcon);
}

/*
 * evhttp accepted a connection and asks for its bufferevent: make it with
 * a read-ahead bound, count the connection, and stop accepting at the
 * cap.  The timer runs once the loop is back, when evhttp has set the
 * connection up.  NULL lets evhttp make its own (out of memory).
 */
static struct bufferevent *
metrics_on_conn(struct event_base *base, void *arg)
{
	struct metrics		*m = arg;
	struct metrics_conn	*mc;
	struct timeval		 now = { 0, 0 };

	if ((mc = calloc(1, sizeof(*mc))) == NULL)
		return NULL;
	mc->m = m;
	mc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	mc->ev = evtimer_new(base, metrics_conn_tick, mc);
	if (mc->bev == NULL || mc->ev == NULL) {
		if (mc->bev != NULL)
			bufferevent_free(mc->bev);
		if (mc->ev != NULL)
			event_free(mc->ev);
		free(mc);
		return NULL;
	}
	bufferevent_setwatermark(mc->bev, EV_READ, 0, METRICS_READ_AHEAD);
	bufferevent_incref(mc->bev);	/* ours: see metrics_conn_tick */
	mc->deadline = clock_ms() + METRICS_DEADLINE_MS;
	evtimer_add(mc->ev, &now);
	LIST_INSERT_HEAD(&m->conns, mc, entry);
	if (++m->nconns - m->nevicted > m->max_conns)
		metrics_make_room(m);
	metrics_accepting(m);
	return mc->bev;
}

/*
 * The connection's timer.  evhttp is done with the bufferevent once it has
 * unset its callbacks (bufferevent_free): release it.  Otherwise learn the
 * connection (the callbacks' argument) and watch the request's deadline.
 */
static void
metrics_conn_tick(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_conn	*mc = arg;
	struct metrics		*m = mc->m;
	bufferevent_event_cb	 ecb;
	struct timeval		 tv;
	uint64_t		 now = clock_ms();
	void			*cbarg;

	UNUSED(fd);
	UNUSED(what);
	bufferevent_getcb(mc->bev, NULL, NULL, &ecb, &cbarg);
	if (ecb == NULL) {
		metrics_conn_free(mc);
		metrics_accepting(m);
		return;
	}
	if (mc->evcon == NULL) {
		mc->evcon = cbarg;
		evhttp_connection_set_closecb(mc->evcon, metrics_conn_closed,
		    mc);
		metrics_accepting(m);	/* one more that can make room */
	}
	if (now >= mc->deadline) {
		limit_hit(&m->d->limits, LIMIT_METRICS_DEADLINE, 1,
		    "metrics");
		/* Calls metrics_conn_closed, which brings us back. */
		evhttp_connection_free(mc->evcon);
		return;
	}
	tv.tv_sec = (time_t)((mc->deadline - now) / 1000);
	tv.tv_usec = (suseconds_t)((mc->deadline - now) % 1000) * 1000;
	evtimer_add(mc->ev, &tv);
}

/* evhttp frees the connection: release it from the loop, not from here. */
static void
metrics_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct metrics_conn	*mc = arg;

	UNUSED(evcon);
	mc->evcon = NULL;
	event_active(mc->ev, EV_TIMEOUT, 0);
}

/* Drop our reference (closing the socket) and forget the connection. */
static void
metrics_conn_free(struct metrics_conn *mc)
{
	LIST_REMOVE(mc, entry);
	mc->m->nconns--;
	if (mc->evicted)
		mc->m->nevicted--;
	event_free(mc->ev);
	bufferevent_decref(mc->bev);
	free(mc);
}

/* A request was read: the next one on its connection gets a new deadline. */
static void
metrics_request_done(struct metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct metrics_conn		*mc;

	evcon = evhttp_request_get_connection(req);
	LIST_FOREACH(mc, &m->conns, entry) {
		if (mc->evcon == evcon && evcon != NULL) {
			mc->deadline = clock_ms() + METRICS_DEADLINE_MS;
			return;
		}
	}
}

/* A bound, listening TCP socket for ep; the fd, or -1 with *cause. */
static int
metrics_socket(const struct endpoint *ep, char **cause)
{
	int	fd, on = 1;

	fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (ep->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&ep->addr, ep->addrlen) == -1 ||
	    listen(fd, METRICS_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	cause_set(cause, "metrics_listen %s: %s", ep->text,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Serve the metrics on ep (a TCP endpoint; port 0 picks a free port, and
 * the log line tells which).  Returns NULL with *cause allocated (or NULL
 * when out of memory) on failure.
 */
struct metrics *
metrics_start(struct daemon *d, const struct endpoint *ep, char **cause)
{
	struct metrics		*m;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 addr[80];
	int			 fd;

	*cause = NULL;
	if (ep->proto != SERVICE_TCP) {
		cause_set(cause, "metrics_listen %s: not a tcp:// "
		    "endpoint", ep->text);
		return NULL;
	}
	if (metrics_self != NULL) {
		cause_set(cause, "metrics_listen %s: already serving",
		    ep->text);
		return NULL;
	}
	if (d->started.tv_sec == 0 && d->started.tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, &d->started);
	if ((fd = metrics_socket(ep, cause)) == -1)
		return NULL;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		memcpy(&ss, &ep->addr, sizeof(ss));
	sockaddr_format((struct sockaddr *)&ss, addr, sizeof(addr));

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->http = evhttp_new(d->base)) == NULL ||
	    (m->ev_resume = evtimer_new(d->base, metrics_on_resume,
	    m)) == NULL) {
		cause_set(cause, "metrics_listen %s: out of memory",
		    ep->text);
		close(fd);
		metrics_stop(m);
		return NULL;
	}
	m->d = d;
	LIST_INIT(&m->conns);
	m->max_conns = d->conf->daemon.metrics_max_connections;
	if (m->max_conns == 0)
		m->max_conns = 16;
	evhttp_set_bevcb(m->http, metrics_on_conn, m);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	evhttp_set_allowed_methods(m->http, METRICS_METHODS);
	evhttp_set_gencb(m->http, metrics_on_request, m);
	/* On success the listener owns fd and closes it when freed. */
	if ((m->bound = evhttp_accept_socket_with_handle(m->http,
	    fd)) == NULL) {
		cause_set(cause, "metrics_listen %s: cannot serve HTTP",
		    ep->text);
		close(fd);
		metrics_stop(m);
		return NULL;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(m->bound),
	    metrics_on_accept_error);
	metrics_self = m;
	log_info("metrics listening on http://%s%s", addr, METRICS_PATH);
	return m;
}

/* Close the endpoint and its HTTP connections; NULL is fine. */
void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	if (metrics_self == m)
		metrics_self = NULL;
	if (m->http != NULL)
		evhttp_free(m->http);	/* every connection: closecb */
	while (!LIST_EMPTY(&m->conns))
		metrics_conn_free(LIST_FIRST(&m->conns));
	if (m->ev_resume != NULL)
		event_free(m->ev_resume);
	free(m);
}
