/*
 * config-keys.c: the table of [daemon] and common instance keys, and
 * everything typed about one key: where it is stored, its default, how
 * one value is parsed and range-checked, compared and printed.  A key is
 * defined here and nowhere else; the -t listing, config_key_names(), the
 * restart-only warnings of a reload (KEY_RESTART) and the docs test all
 * read this table.  Keys of a service are in its own keys[] list.
 *
 * To add a key: add its field to struct daemon_conf, instance_conf or
 * limits_conf, an entry below, and its entry in etc/netsvcd.ini.5 (and
 * etc/netsvcd.ini); test-docs fails until the docs have it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define KIB	1024ULL
#define MIB	(1024 * KIB)
#define TIB	(1024 * 1024 * MIB)

#define PRINT_WIDTH	160	/* -T: longest list line, well under 199 */

/* Where a key lives: its store and the offset of its field there. */
#define IN_DAEMON(f)	.store = KEY_IN_DAEMON, \
			.offset = offsetof(struct daemon_conf, f)
#define IN_INSTANCE(f)	.store = KEY_IN_INSTANCE, \
			.offset = offsetof(struct instance_conf, f)
#define IN_LIMITS(f)	.store = KEY_IN_LIMITS, \
			.offset = offsetof(struct limits_conf, f)

const struct config_key config_keys[] = {
	/* [daemon] only. */
	{ .name = "log_level", .type = KEY_LOGLEVEL,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(log_level),
	  .def = LOG_LEVEL_INFO,
	  .help = "least severe level logged: debug, info, notice, "
	      "warning or err" },
	{ .name = "max_connections", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(max_connections),
	  .min = 1, .max = 1000000, .def = 1024,
	  .help = "TCP connections open at once, all instances together" },
	{ .name = "backlog", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(backlog),
	  .min = 1, .max = 65535, .def = 128,
	  .help = "listen(2) queue length of every TCP socket" },
	{ .name = "idle_timeout", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(idle_timeout_ms),
	  .min = 0, .max = 24 * HOUR, .def = 5 * MIN,
	  .help = "close a TCP connection idle this long (0: never)" },
	{ .name = "shutdown_timeout", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(shutdown_timeout_ms),
	  .min = 0, .max = HOUR, .def = 5 * SEC,
	  .help = "time connections get to finish at shutdown" },
	{ .name = "drain_delay", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(drain_delay_ms),
	  .min = 0, .max = HOUR, .def = 0,
	  .help = "on SIGTERM, keep serving this long with /ready at 503" },
	{ .name = "buffer_limit", .type = KEY_SIZE,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(buffer_limit),
	  .min = 4 * KIB, .max = 64 * MIB, .def = 64 * KIB,
	  .help = "pending output above which a peer is no longer read" },
	{ .name = "user", .type = KEY_STRING,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(user), .flags = KEY_RESTART,
	  .help = "user to run as once the sockets are open" },
	{ .name = "group", .type = KEY_STRING,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(group), .flags = KEY_RESTART,
	  .help = "group to run as (default: the user's group)" },
	{ .name = "workers", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(workers),
	  .min = 1, .max = 256, .def = 1, .flags = KEY_AUTO | KEY_RESTART,
	  .help = "threads serving connections (auto: one per core)" },
	{ .name = "source_prefix4", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(source_prefix4),
	  .min = 8, .max = 32, .def = 32, .flags = KEY_RESTART,
	  .help = "IPv4 prefix length that makes one source" },
	{ .name = "source_prefix6", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(source_prefix6),
	  .min = 16, .max = 128, .def = 64, .flags = KEY_RESTART,
	  .help = "IPv6 prefix length that makes one source" },
	{ .name = "max_sources", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(max_sources),
	  .min = 64, .max = 1048576, .def = 16384, .flags = KEY_RESTART,
	  .help = "entries of the per-source table" },
	{ .name = "metrics_listen", .type = KEY_ENDPOINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(metrics_listen),
	  .flags = KEY_RESTART,
	  .help = "tcp:// endpoint serving Prometheus metrics (unset: none)" },
	{ .name = "metrics_max_connections", .type = KEY_UINT,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(metrics_max_connections),
	  .min = 1, .max = 1024, .def = 16, .flags = KEY_RESTART,
	  .help = "metrics connections open at once" },
	{ .name = "modules", .type = KEY_MODULES,
	  .scope = KEY_SCOPE_DAEMON, .store = KEY_IN_DAEMON,
	  .help = "service modules (shared objects) to load; may repeat" },
	{ .name = "modules_strict", .type = KEY_BOOL,
	  .scope = KEY_SCOPE_DAEMON, IN_DAEMON(modules_strict),
	  .min = 0, .max = 1, .def = 1,
	  .help = "refuse module files others could write (no: only warn)" },

	/* Every instance section. */
	{ .name = "service", .type = KEY_SERVICE,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(service),
	  .flags = KEY_REQUIRED,
	  .help = "the service this instance runs" },
	{ .name = "enabled", .type = KEY_BOOL,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(enabled),
	  .min = 0, .max = 1, .def = 1,
	  .help = "whether the instance runs at all" },
	{ .name = "listen", .type = KEY_ENDPOINTS,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(endpoints),
	  .flags = KEY_REQUIRED,
	  .help = "tcp:// and udp:// endpoints, separated by spaces or "
	      "commas; may repeat" },
	{ .name = "backlog", .type = KEY_UINT,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(backlog),
	  .min = 1, .max = 65535, .flags = KEY_INHERIT,
	  .help = "listen(2) queue length of the instance's TCP sockets" },
	{ .name = "idle_timeout", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(idle_timeout_ms),
	  .min = 0, .max = 24 * HOUR, .flags = KEY_INHERIT,
	  .help = "close a TCP connection idle this long (0: never)" },
	{ .name = "max_connections", .type = KEY_UINT,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(max_connections),
	  .min = 0, .max = 1000000, .def = 0,
	  .help = "TCP connections of this instance (0: only the global cap)" },
	{ .name = "buffer_limit", .type = KEY_SIZE,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(buffer_limit),
	  .min = 4 * KIB, .max = 64 * MIB, .flags = KEY_INHERIT,
	  .help = "pending output above which a peer is no longer read" },
	{ .name = "proxy_protocol", .type = KEY_PROXY,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(proxy_accept),
	  .def = 0,
	  .help = "PROXY header expected on TCP: off, v1, v2 or any" },
	{ .name = "proxy_from", .type = KEY_ACL,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(proxy_from),
	  .help = "CIDR prefixes of the balancers that send it; may repeat" },
	{ .name = "proxy_timeout", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_INSTANCE, IN_INSTANCE(proxy_timeout_ms),
	  .min = 100, .max = MIN, .def = 3 * SEC,
	  .help = "time a balancer has to send the whole PROXY header" },

	/* Limits: set in [daemon] as defaults, and per instance. */
	{ .name = "max_per_source", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(max_per_source),
	  .min = 0, .max = 1000000, .flags = KEY_INHERIT,
	  .help = "concurrent TCP connections of one source (0: no limit)" },
	{ .name = "rate", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(rate),
	  .min = 0, .max = 1000000, .flags = KEY_INHERIT,
	  .help = "new connections and datagrams per second of one source" },
	{ .name = "burst", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(burst),
	  .min = 0, .max = 10000000, .flags = KEY_INHERIT,
	  .help = "bucket size of rate (0: twice the rate)" },
	{ .name = "instance_rate", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(instance_rate),
	  .min = 0, .max = 1000000, .flags = KEY_INHERIT,
	  .help = "new connections and datagrams per second, all sources" },
	{ .name = "instance_burst", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(instance_burst),
	  .min = 0, .max = 10000000, .flags = KEY_INHERIT,
	  .help = "bucket size of instance_rate (0: twice the rate)" },
	{ .name = "max_duration", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(max_duration_ms),
	  .min = 0, .max = 7 * DAY, .flags = KEY_INHERIT,
	  .help = "longest a TCP connection may last (0: no limit)" },
	{ .name = "write_timeout", .type = KEY_DURATION,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(write_timeout_ms),
	  .min = 0, .max = DAY, .def = 60 * SEC, .flags = KEY_INHERIT,
	  .help = "close a peer that reads none of its output this long" },
	{ .name = "max_bytes", .type = KEY_SIZE64,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(max_bytes),
	  .min = 0, .max = TIB, .flags = KEY_INHERIT,
	  .help = "bytes in and out of one TCP connection (0: no limit)" },
	{ .name = "udp_max_amplification", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(udp_max_amplification),
	  .min = 0, .max = 1000, .def = 1, .flags = KEY_INHERIT,
	  .help = "largest reply/request size ratio of a UDP reply" },
	{ .name = "udp_amplify_rate", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(udp_amplify_rate),
	  .min = 0, .max = 100000, .def = 50, .flags = KEY_INHERIT,
	  .help = "replies per second larger than the request, per source" },
	{ .name = "udp_amplify_burst", .type = KEY_UINT,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(udp_amplify_burst),
	  .min = 0, .max = 1000000, .def = 200, .flags = KEY_INHERIT,
	  .help = "bucket size of udp_amplify_rate" },
	{ .name = "udp_protect", .type = KEY_BOOL,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(udp_protect),
	  .min = 0, .max = 1, .def = 1, .flags = KEY_INHERIT,
	  .help = "no UDP replies to privileged or service ports" },
	{ .name = "log_connections", .type = KEY_LOGCONN,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(log_connections),
	  .def = LOG_CONN_OFF, .flags = KEY_INHERIT,
	  .help = "log each TCP connection when it closes: off or close" },
	{ .name = "allow", .type = KEY_ACL,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(allow), .flags = KEY_INHERIT,
	  .help = "CIDR prefixes served (unset: every address); may repeat" },
	/* deny is not inherited: the runtime checks [daemon]'s too. */
	{ .name = "deny", .type = KEY_ACL,
	  .scope = KEY_SCOPE_BOTH, IN_LIMITS(deny),
	  .help = "CIDR prefixes refused, on top of [daemon]'s; may repeat" },

	{ .name = NULL }
};

/* The names of log_connections, indexed by LOG_CONN_*. */
static const char *const log_conn_names[] = { "off", "close" };

/* A list item of a key that takes several (listen, allow, deny). */
typedef int (*token_fn)(struct cf_load *, const struct config_key *,
    const struct cf_key *, const char *, void *);

static uint64_t	 key_get(const struct config_key *, const void *);
static void	 key_put(const struct config_key *, void *, uint64_t);
static void	 key_format(const struct config_key *, uint64_t, char *,
		    size_t);
static int	 acl_copy(struct acl *, const struct acl *);
static int	 acl_same(const struct acl *, const struct acl *);
static int	 key_tokens(struct cf_load *, const struct config_key *,
		    const struct cf_key *, size_t, token_fn, void *);
static int	 acl_add(struct cf_load *, const struct config_key *,
		    const struct cf_key *, const char *, void *);
static int	 listen_add(struct cf_load *, const struct config_key *,
		    const struct cf_key *, const char *, void *);
static int	 endpoint_mapped(struct cf_load *, const struct config_key *,
		    const struct cf_key *, const struct endpoint *);
static int	 key_set_acl(struct cf_load *, const struct config_key *,
		    struct acl *, const struct cf_key *);
static int	 key_set_endpoint(struct cf_load *, const struct config_key *,
		    struct endpoint *, const struct cf_key *);
static int	 key_set_string(struct cf_load *, const struct config_key *,
		    char **, const struct cf_key *);
static int	 key_parse_number(const struct config_key *, const char *,
		    uint64_t *, const char **);
static int	 key_set_number(struct cf_load *, const struct config_key *,
		    void *, const struct cf_key *);

/* The table entry for key in a section of the given scope, or NULL. */
const struct config_key *
key_find(const char *key, int scope)
{
	const struct config_key	*kd;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if ((kd->scope & scope) && strcmp(kd->name, key) == 0)
			return kd;
	}
	return NULL;
}

/*
 * The field of kd in d (a [daemon] key, ic NULL) or in ic (an instance
 * key).  Limits live in the lim member of whichever is given.
 */
void *
key_field(const struct config_key *kd, struct daemon_conf *d,
    struct instance_conf *ic)
{
	char	*base;

	switch (kd->store) {
	case KEY_IN_DAEMON:
		base = (char *)d;
		break;
	case KEY_IN_INSTANCE:
		base = (char *)ic;
		break;
	case KEY_IN_LIMITS:
	default:
		base = ic != NULL ? (char *)&ic->lim : (char *)&d->lim;
		break;
	}
	return base + kd->offset;
}

/* key_field() for reading. */
const void *
key_cfield(const struct config_key *kd, const struct daemon_conf *d,
    const struct instance_conf *ic)
{
	const char	*base;

	switch (kd->store) {
	case KEY_IN_DAEMON:
		base = (const char *)d;
		break;
	case KEY_IN_INSTANCE:
		base = (const char *)ic;
		break;
	case KEY_IN_LIMITS:
	default:
		base = ic != NULL ? (const char *)&ic->lim :
		    (const char *)&d->lim;
		break;
	}
	return base + kd->offset;
}

/* Read the numeric value of kd from its field p. */
static uint64_t
key_get(const struct config_key *kd, const void *p)
{
	switch (kd->type) {
	case KEY_UINT:
		return *(const unsigned int *)p;
	case KEY_DURATION:
	case KEY_SIZE64:
		return *(const uint64_t *)p;
	case KEY_SIZE:
		return *(const size_t *)p;
	case KEY_LOGLEVEL:
	case KEY_BOOL:
	case KEY_LOGCONN:
	case KEY_PROXY:
		return (uint64_t)*(const int *)p;
	default:
		return 0;
	}
}

/* Store a numeric value of kd in its field p. */
static void
key_put(const struct config_key *kd, void *p, uint64_t v)
{
	switch (kd->type) {
	case KEY_UINT:
		*(unsigned int *)p = (unsigned int)v;
		break;
	case KEY_DURATION:
	case KEY_SIZE64:
		*(uint64_t *)p = v;
		break;
	case KEY_SIZE:
		*(size_t *)p = (size_t)v;
		break;
	case KEY_LOGLEVEL:
	case KEY_BOOL:
	case KEY_LOGCONN:
	case KEY_PROXY:
		*(int *)p = (int)v;
		break;
	default:
		break;
	}
}

/* Write a numeric value of kd in its canonical form. */
static void
key_format(const struct config_key *kd, uint64_t v, char *buf, size_t len)
{
	switch (kd->type) {
	case KEY_DURATION:
		format_duration_ms(v, buf, len);
		break;
	case KEY_SIZE:
	case KEY_SIZE64:
		format_size(v, buf, len);
		break;
	case KEY_LOGCONN:
		snprintf(buf, len, "%s", v < nitems(log_conn_names) ?
		    log_conn_names[v] : "?");
		break;
	case KEY_BOOL:
		snprintf(buf, len, "%s", v ? "yes" : "no");
		break;
	case KEY_PROXY:
		snprintf(buf, len, "%s", v == 0 ? "off" :
		    v == PROXY_ACCEPT_V1 ? "v1" : v == PROXY_ACCEPT_V2 ? "v2" :
		    "any");
		break;
	case KEY_LOGLEVEL:
		snprintf(buf, len, "%s", log_level_name((int)v));
		break;
	default:
		if ((kd->flags & KEY_AUTO) && v == 0)
			snprintf(buf, len, "auto");
		else
			snprintf(buf, len, "%llu", (unsigned long long)v);
		break;
	}
}

/*
 * Give kd its value before the section's keys are read: the table's
 * default in [daemon] (ic NULL); in an instance, [daemon]'s value for a
 * KEY_INHERIT key (an access list is copied, the instance owns it), else
 * the table's default.  Returns 0, or -1 when out of memory.
 */
int
key_set_default(const struct config_key *kd, struct daemon_conf *d,
    struct instance_conf *ic)
{
	const struct config_key	*dkd;

	if (ic == NULL || (kd->flags & KEY_INHERIT) == 0) {
		key_put(kd, key_field(kd, d, ic), kd->def);
		return 0;
	}
	if (kd->store == KEY_IN_LIMITS) {
		if (kd->type == KEY_ACL)
			return acl_copy(key_field(kd, NULL, ic),
			    key_cfield(kd, d, NULL));
		key_put(kd, key_field(kd, NULL, ic),
		    key_get(kd, key_cfield(kd, d, NULL)));
		return 0;
	}
	/* An instance field: [daemon] has an entry of the same name. */
	dkd = key_find(kd->name, KEY_SCOPE_DAEMON);
	key_put(kd, key_field(kd, NULL, ic), key_get(dkd,
	    key_cfield(dkd, d, NULL)));
	return 0;
}

/* Make dst, which must be empty, an array of its own equal to src. */
static int
acl_copy(struct acl *dst, const struct acl *src)
{
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return -1;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

/* Whether two access lists hold the same prefixes in the same order. */
static int
acl_same(const struct acl *a, const struct acl *b)
{
	return a->n == b->n && (a->n == 0 ||
	    memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/*
 * Split the value of k, a list separated by whitespace and/or commas,
 * and hand each item (shorter than max bytes) to fn.  An item that is
 * too long is reported and skipped.  Returns 0, 1 when an item was bad,
 * or -1 when out of memory.
 */
static int
key_tokens(struct cf_load *ld, const struct config_key *kd,
    const struct cf_key *k, size_t max, token_fn fn, void *arg)
{
	static const char	 seps[] = " \t,";
	const char		*p;
	char			 tok[128];
	size_t			 n;
	int			 bad = 0, r;

	if (max > sizeof(tok))
		max = sizeof(tok);
	for (p = k->value + strspn(k->value, seps); *p != '\0';
	    p += n, p += strspn(p, seps)) {
		n = strcspn(p, seps);
		if (n >= max) {
			config_error(ld, k->line, "%s: '%.*s': too long",
			    kd->name, (int)n, p);
			bad = 1;
			continue;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		if ((r = fn(ld, kd, k, tok, arg)) == -1)
			return -1;
		if (r != 0)
			bad = 1;
	}
	return bad;
}

/* Add one CIDR prefix to the access list arg; 1 when it is bad. */
static int
acl_add(struct cf_load *ld, const struct config_key *kd,
    const struct cf_key *k, const char *tok, void *arg)
{
	struct acl	*acl = arg;
	struct cidr	 c, *v;
	const char	*cause;
	char		 text[64];
	size_t		 i;

	if (parse_cidr(tok, &c, &cause) == -1) {
		config_error(ld, k->line, "%s: '%s': %s", kd->name, tok,
		    cause);
		return 1;
	}
	for (i = 0; i < acl->n; i++) {
		if (acl->v[i].family == c.family &&
		    acl->v[i].prefix == c.prefix &&
		    memcmp(acl->v[i].addr, c.addr, sizeof(c.addr)) == 0) {
			cidr_format(&c, text, sizeof(text));
			config_error(ld, k->line, "%s: '%s' is listed twice",
			    kd->name, text);
			return 1;
		}
	}
	if ((v = reallocarray(acl->v, acl->n + 1, sizeof(*v))) == NULL) {
		config_nomem(ld);
		return -1;
	}
	acl->v = v;
	acl->v[acl->n++] = c;
	return 0;
}

/*
 * Refuse an IPv4-mapped IPv6 address (tcp://[::ffff:127.0.0.1]:7): IPv6
 * sockets are IPV6_V6ONLY, so it could never be bound (EINVAL at start).
 * The message gives the IPv4 form to use.  Returns 1 when refused.
 */
static int
endpoint_mapped(struct cf_load *ld, const struct config_key *kd,
    const struct cf_key *k, const struct endpoint *ep)
{
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&ep->addr;
	char			 v4[INET_ADDRSTRLEN];

	if (ep->addr.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return 0;
	if (inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], v4,
	    sizeof(v4)) == NULL)
		snprintf(v4, sizeof(v4), "?");
	config_error(ld, k->line, "%s: '%s': an IPv4-mapped address cannot "
	    "be bound (IPv6 sockets are IPv6-only): use %s://%s:%u", kd->name,
	    ep->text, ep->proto == SERVICE_TCP ? "tcp" : "udp", v4,
	    endpoint_port(ep));
	return 1;
}

/*
 * Add one endpoint to the instance arg; 1 when it is bad.  An endpoint
 * listed twice is an error, except with port 0, where each one gets its
 * own port.
 */
static int
listen_add(struct cf_load *ld, const struct config_key *kd,
    const struct cf_key *k, const char *tok, void *arg)
{
	struct instance_conf	*ic = arg;
	struct endpoint		 ep, *eps;
	const char		*cause;
	size_t			 i;

	if (parse_endpoint(tok, &ep, &cause) == -1) {
		config_error(ld, k->line, "%s: '%s': %s", kd->name, tok,
		    cause);
		return 1;
	}
	if (endpoint_mapped(ld, kd, k, &ep))
		return 1;
	for (i = 0; i < ic->nendpoints && endpoint_port(&ep) != 0; i++) {
		if (endpoint_same(&ic->endpoints[i], &ep)) {
			config_error(ld, k->line, "%s: '%s' is listed twice",
			    kd->name, ep.text);
			return 1;
		}
	}
	eps = reallocarray(ic->endpoints, ic->nendpoints + 1, sizeof(*eps));
	if (eps == NULL) {
		config_nomem(ld);
		return -1;
	}
	ep.line = k->line;
	ic->endpoints = eps;
	ic->endpoints[ic->nendpoints++] = ep;
	return 0;
}

/*
 * Parse a list of CIDR prefixes (allow, deny) into acl: the first line of
 * the key in a section replaces what acl held (an inherited copy), a
 * repeated one adds to it.  Every bad prefix is reported; a line may not
 * be empty, nor a list name the same prefix twice.  Returns 0 or -1.
 */
static int
key_set_acl(struct cf_load *ld, const struct config_key *kd,
    struct acl *acl, const struct cf_key *k)
{
	size_t	first;
	int	r;

	if (!k->more)
		acl_free(acl);
	first = acl->n;
	if ((r = key_tokens(ld, kd, k, 64, acl_add, acl)) == -1)
		return -1;
	if (acl->n == first && r == 0) {
		config_error(ld, k->line, "%s: no prefixes (0.0.0.0/0 and ::/0 "
		    "are every address)", kd->name);
		r = 1;
	}
	return r ? -1 : 0;
}

/*
 * Parse one "listen =" line into ic's endpoints: the key may repeat, each
 * line adds (an instance may need more endpoints than one line holds).
 * Returns 0 or -1.
 */
int
key_set_listen(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	const struct config_key	*kd = key_find("listen", KEY_SCOPE_INSTANCE);
	size_t			 first = ic->nendpoints;
	int			 r;

	if ((r = key_tokens(ld, kd, k, 128, listen_add, ic)) == -1)
		return -1;
	if (ic->nendpoints == first && r == 0) {
		config_error(ld, k->line, "listen: no endpoints");
		r = 1;
	}
	return r ? -1 : 0;
}

/* Parse the single tcp:// endpoint of kd (metrics_listen) into ep. */
static int
key_set_endpoint(struct cf_load *ld, const struct config_key *kd,
    struct endpoint *ep, const struct cf_key *k)
{
	const char	*cause;

	if (strpbrk(k->value, " \t,") != NULL) {
		config_error(ld, k->line, "%s: '%s': one endpoint only",
		    kd->name, k->value);
		return -1;
	}
	if (parse_endpoint(k->value, ep, &cause) == -1) {
		config_error(ld, k->line, "%s: '%s': %s", kd->name, k->value,
		    cause);
		return -1;
	}
	if (endpoint_mapped(ld, kd, k, ep)) {
		memset(ep, 0, sizeof(*ep));
		return -1;
	}
	if (ep->proto != SERVICE_TCP) {
		config_error(ld, k->line, "%s: '%s': served over tcp:// only",
		    kd->name, k->value);
		memset(ep, 0, sizeof(*ep));
		return -1;
	}
	return 0;
}

/* Store a copy of a non-empty string value. */
static int
key_set_string(struct cf_load *ld, const struct config_key *kd, char **sp,
    const struct cf_key *k)
{
	if (*k->value == '\0') {
		config_error(ld, k->line, "%s: empty value", kd->name);
		return -1;
	}
	free(*sp);
	if ((*sp = strdup(k->value)) == NULL) {
		config_nomem(ld);
		return -1;
	}
	return 0;
}

/* Parse the text of a numeric key (not yet range-checked). */
static int
key_parse_number(const struct config_key *kd, const char *s, uint64_t *v,
    const char **cause)
{
	int	level, b;

	switch (kd->type) {
	case KEY_LOGLEVEL:
		if ((level = log_level_parse(s)) == -1) {
			*cause = "unknown level (use debug, info, notice, "
			    "warning or err)";
			return -1;
		}
		*v = (uint64_t)level;
		return 0;
	case KEY_UINT:
		if ((kd->flags & KEY_AUTO) && strcmp(s, "auto") == 0) {
			*v = 0;
			return 0;
		}
		return parse_uint(s, 0, UINT64_MAX, v, cause);
	case KEY_DURATION:
		return parse_duration_ms(s, UINT64_MAX, v, cause);
	case KEY_SIZE:
	case KEY_SIZE64:
		return parse_size(s, UINT64_MAX, v, cause);
	case KEY_LOGCONN:
		for (*v = 0; *v < nitems(log_conn_names); (*v)++) {
			if (strcmp(s, log_conn_names[*v]) == 0)
				return 0;
		}
		*cause = "use off or close";
		return -1;
	case KEY_PROXY:
		if (proxy_parse_accept(s, &b) == -1) {
			*cause = "use off, v1, v2 or any";
			return -1;
		}
		*v = (uint64_t)b;
		return 0;
	case KEY_BOOL:
		if (parse_bool(s, &b, cause) == -1)
			return -1;
		*v = (uint64_t)b;
		return 0;
	default:
		*cause = "not a number";
		return -1;
	}
}

/*
 * Parse, range-check and store a numeric key, recording an error that
 * names the allowed range.  "auto" (0) of a KEY_AUTO key is never out of
 * range.  Returns 0 or -1.
 */
static int
key_set_number(struct cf_load *ld, const struct config_key *kd, void *field,
    const struct cf_key *k)
{
	const char	*cause = NULL;
	char		 lo[32], hi[32];
	uint64_t	 v;
	int		 ranged;

	if (key_parse_number(kd, k->value, &v, &cause) == -1) {
		config_error(ld, k->line, "%s: '%s': %s%s", kd->name, k->value,
		    cause, (kd->flags & KEY_AUTO) ? " (or auto)" : "");
		return -1;
	}
	ranged = kd->type == KEY_UINT || kd->type == KEY_DURATION ||
	    kd->type == KEY_SIZE || kd->type == KEY_SIZE64;
	if ((kd->flags & KEY_AUTO) && strcmp(k->value, "auto") == 0)
		ranged = 0;
	if (ranged && (v < kd->min || v > kd->max)) {
		key_format(kd, kd->min, lo, sizeof(lo));
		key_format(kd, kd->max, hi, sizeof(hi));
		config_error(ld, k->line, "%s: '%s' is out of range "
		    "(%s to %s%s)", kd->name, k->value, lo, hi,
		    (kd->flags & KEY_AUTO) ? ", or auto" : "");
		return -1;
	}
	key_put(kd, field, v);
	return 0;
}

/*
 * Parse and store one table key (not service or listen) into its field.
 * Every error is recorded with k's line.  Returns 0 or -1.
 */
int
key_set(struct cf_load *ld, const struct config_key *kd, void *field,
    const struct cf_key *k)
{
	switch (kd->type) {
	case KEY_ENDPOINT:
		return key_set_endpoint(ld, kd, field, k);
	case KEY_ACL:
		return key_set_acl(ld, kd, field, k);
	case KEY_STRING:
		return key_set_string(ld, kd, field, k);
	case KEY_SERVICE:
	case KEY_ENDPOINTS:
		return -1;		/* config.c's own */
	case KEY_MODULES:
		return 0;		/* loaded by config.c's config_modules */
	default:
		return key_set_number(ld, kd, field, k);
	}
}

/*
 * Print item of list key name, starting a new "name =" line when the
 * current one (*col bytes so far, 0: none) would pass PRINT_WIDTH: the
 * -T output must load again, and a line may take 199 bytes.  The caller
 * ends the last line when *col > 0.
 */
void
key_print_item(FILE *fp, const char *name, const char *item, size_t *col)
{
	int	n;

	if (*col > 0 && *col + 1 + strlen(item) > PRINT_WIDTH) {
		fputc('\n', fp);
		*col = 0;
	}
	if (*col == 0 && (n = fprintf(fp, "%s =", name)) > 0)
		*col = (size_t)n;
	if ((n = fprintf(fp, " %s", item)) > 0)
		*col += (size_t)n;
}

/*
 * Print one key as "key = value" from its field; unset strings, an unset
 * endpoint and empty access lists are left out.  The service and listen
 * keys are printed by config.c.
 */
void
key_print(const struct config_key *kd, const void *field, FILE *fp)
{
	const struct endpoint	*ep;
	const struct acl	*acl;
	const char		*s;
	char			 buf[64];
	size_t			 i, col;

	switch (kd->type) {
	case KEY_STRING:
		s = *(const char *const *)field;
		if (s != NULL)
			fprintf(fp, "%s = %s\n", kd->name, s);
		break;
	case KEY_ENDPOINT:
		ep = field;
		if (ep->proto != 0)
			fprintf(fp, "%s = %s\n", kd->name, ep->text);
		break;
	case KEY_ACL:
		acl = field;
		col = 0;
		for (i = 0; i < acl->n; i++) {
			cidr_format(&acl->v[i], buf, sizeof(buf));
			key_print_item(fp, kd->name, buf, &col);
		}
		if (col > 0)
			fprintf(fp, "\n");
		break;
	case KEY_SERVICE:
	case KEY_ENDPOINTS:
	case KEY_MODULES:
		break;
	default:
		key_format(kd, key_get(kd, field), buf, sizeof(buf));
		fprintf(fp, "%s = %s\n", kd->name, buf);
		break;
	}
}

/*
 * Whether the [daemon] key kd has different values in configs a and b
 * (unset strings and endpoints are equal to each other only).  A reload
 * warns about the KEY_RESTART keys that changed.
 */
int
config_key_changed(const struct config_key *kd, const struct config *a,
    const struct config *b)
{
	const void	*fa = key_cfield(kd, &a->daemon, NULL);
	const void	*fb = key_cfield(kd, &b->daemon, NULL);
	const char	*sa, *sb;
	const struct endpoint *ea = fa, *eb = fb;

	switch (kd->type) {
	case KEY_STRING:
		sa = *(const char *const *)fa;
		sb = *(const char *const *)fb;
		return strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") != 0;
	case KEY_ENDPOINT:
		if (ea->proto == 0 || eb->proto == 0)
			return ea->proto != eb->proto;
		return !endpoint_same(ea, eb);
	case KEY_ACL:
		return !acl_same(fa, fb);
	case KEY_SERVICE:
	case KEY_ENDPOINTS:
	case KEY_MODULES:
		return 0;	/* not [daemon] values; modules load anew */
	default:
		return key_get(kd, fa) != key_get(kd, fb);
	}
}

/*
 * The names of all [daemon] keys and all common instance keys, once each,
 * NULL-terminated; filled from the table on the first call (from main()
 * or a test, before any thread starts).  Service keys are in each
 * service's keys list.
 */
const char *const *
config_key_names(void)
{
	static const char	*names[64];
	const struct config_key	*kd;
	size_t			 j, n = 0;

	if (names[0] != NULL)
		return names;
	for (kd = config_keys; kd->name != NULL; kd++) {
		for (j = 0; j < n; j++) {
			if (strcmp(names[j], kd->name) == 0)
				break;
		}
		if (j == n && n < nitems(names) - 1)
			names[n++] = kd->name;
	}
	names[n] = NULL;
	return names;
}

/*
 * A reload: give nc the running values of the keys that only a restart
 * changes (KEY_RESTART), so that the config the daemon holds says what
 * it runs: a later reload compares with those, and a failed handover
 * restarts the metrics endpoint where it was.  Returns 0, or -1 out of
 * memory (nc then keeps some of its own).
 */
int
config_keep_restart(struct config *nc, const struct config *old)
{
	const struct config_key	*kd;
	const void		*from;
	void			*to;
	char			*s;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if (!(kd->flags & KEY_RESTART) ||
		    !config_key_changed(kd, old, nc))
			continue;
		from = key_cfield(kd, &old->daemon, NULL);
		to = key_field(kd, &nc->daemon, NULL);
		switch (kd->type) {
		case KEY_STRING:
			s = NULL;
			if (*(char *const *)from != NULL &&
			    (s = strdup(*(char *const *)from)) == NULL)
				return -1;
			free(*(char **)to);
			*(char **)to = s;
			break;
		case KEY_ENDPOINT:
			memcpy(to, from, sizeof(struct endpoint));
			break;
		default:
			key_put(kd, to, key_get(kd, from));
			break;
		}
	}
	nc->daemon.metrics = nc->daemon.metrics_listen.proto != 0;
	return 0;
}
