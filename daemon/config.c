/*
 * config.c: read an INI file into a new, fully validated struct config.
 *
 * Loading runs in two passes.  Pass one (config-read.c) reads the lines
 * and only records sections and (key, value, line); pass two, here,
 * resolves them: [daemon] first, so that instance defaults come from it
 * wherever it appears, then each instance, whose "service =" may come
 * after the keys that depend on it.  What each key is, its type, range
 * and default, is in the table of config-keys.c.  Every error is
 * collected as "FILE:LINE: message" and a config with errors is never
 * returned.
 *
 * Limits and access lists (struct limits_conf) are set in [daemon] and
 * per instance.  An instance takes the [daemon] value of each one it does
 * not set; "allow" so inherited is a copy that the instance owns.  "deny"
 * is the exception: an instance keeps only its own list, and the runtime
 * checks it together with [daemon]'s, so a deny adds and never replaces.
 *
 * A key that is not in the table belongs to the instance's service: the
 * host checks it against the service's keys[] and hands it to conf_key,
 * with the conf_size bytes of settings the host allocated for it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-int.h"

#define CONFIG_DESCRIBE_MAX	1024		/* conf_describe output */
#define CONFIG_NEAR_MAX		8		/* names checked for [daemon] */

static struct config *config_run(struct cf_load *, const char *);
static struct config *config_resolve(struct cf_load *, const char *);
static int	 config_is_daemon(const struct cf_section *);
static int	 config_near_daemon(const struct cf_section *);
static int	 config_earlier_key(struct cf_load *,
		    const struct cf_section *, const struct cf_key *);
static struct cf_key *config_find_key(const struct cf_section *,
		    const char *);
static void	 config_mark_dups(struct cf_load *, int);
static int	 config_key_line(struct cf_load *, const struct cf_section *,
		    const char *);
static void	 config_check_rate(struct cf_load *, const struct cf_section *,
		    const char *, unsigned int, const char *, unsigned int);
static void	 config_check_limits(struct cf_load *,
		    const struct cf_section *, const struct limits_conf *);
static void	 config_daemon(struct cf_load *, struct cf_section *);
static void	 config_check_user(struct cf_load *);
static void	 config_service(struct cf_load *, struct instance_conf *,
		    const struct cf_key *);
static int	 config_service_has_key(const struct service *, const char *);
static void	 config_check_proxy(struct cf_load *, struct instance_conf *,
		    const struct cf_section *);
static int	 config_service_key(struct cf_load *, struct instance_conf *,
		    const struct cf_key *);
static int	 config_service_line(struct cf_load *,
		    struct instance_conf *, const struct cf_key *);
static void	 config_service_check(struct cf_load *,
		    struct instance_conf *, const struct cf_section *);
static int	 config_wildcard(const struct endpoint *);
static int	 config_clash(const struct endpoint *, const struct endpoint *);
static int	 config_port_first(struct cf_load *, const struct endpoint *);
static void	 config_report_clash(struct cf_load *,
		    const struct instance_conf *, const struct endpoint *,
		    const struct instance_conf *, const struct endpoint *);
static void	 config_check_endpoints(struct cf_load *,
		    struct instance_conf *);
static struct instance_conf *config_instance_new(struct cf_load *,
		    const struct cf_section *);
static void	 config_instance_defaults(struct cf_load *,
		    struct instance_conf *, const struct cf_section *);
static int	 config_instance_keys(struct cf_load *,
		    struct instance_conf *, struct cf_section *);
static void	 config_instance(struct cf_load *, struct cf_section *);
static void	 config_modules(struct cf_load *);
static void	 config_free(struct config *);
static void	 config_print_section(const struct daemon_conf *,
		    const struct instance_conf *, int, FILE *);

/* Whether sec is a [daemon] section. */
static int
config_is_daemon(const struct cf_section *sec)
{
	return sec->name != NULL && strcmp(sec->name, "daemon") == 0;
}

/*
 * The line of the first earlier occurrence of key k of section sec, or 0.
 * For [daemon] the earlier [daemon] sections count too.
 */
static int
config_earlier_key(struct cf_load *ld, const struct cf_section *sec,
    const struct cf_key *k)
{
	const struct cf_section	*s;
	const struct cf_key	*k2;

	TAILQ_FOREACH(s, &ld->sections, entry) {
		if (s != sec && !(config_is_daemon(s) && config_is_daemon(sec)))
			continue;
		TAILQ_FOREACH(k2, &s->keys, entry) {
			if (k2 == k)
				return 0;
			if (strcmp(k2->key, k->key) == 0)
				return k2->line;
		}
	}
	return 0;
}

/* The first (not repeated) key called name in sec, or NULL. */
static struct cf_key *
config_find_key(const struct cf_section *sec, const char *name)
{
	struct cf_key	*k;

	TAILQ_FOREACH(k, &sec->keys, entry) {
		if (!k->dup && strcmp(k->key, name) == 0)
			return k;
	}
	return NULL;
}
/*
 * May key repeat in sec, by its service's repeat_keys?  The service may
 * be a module's: instance sections are checked after the modules load.
 */
static int
config_repeatable(struct cf_load *ld, const struct cf_section *sec,
    const char *key)
{
	const struct cf_key	*svckey = config_find_key(sec, "service");
	const struct service	*svc = NULL;
	size_t			 i;

	if (svckey != NULL && (svc = service_find(svckey->value)) == NULL)
		svc = module_service_find(&ld->conf->modules, svckey->value,
		    NULL);
	if (svc == NULL || svc->repeat_keys == NULL)
		return 0;
	for (i = 0; svc->repeat_keys[i] != NULL; i++) {
		if (strcmp(svc->repeat_keys[i], key) == 0)
			return 1;
	}
	return 0;
}


/*
 * Report repeated section headers and flag (and report) repeated keys:
 * of the [daemon] sections (daemon 1), which say what modules to load,
 * or of the instance sections (daemon 0), once the modules are loaded.
 */
static void
config_mark_dups(struct cf_load *ld, int daemon)
{
	struct cf_section	*sec, *s2;
	struct cf_key		*k;
	const struct config_key	*kd;
	char			 where[CONFIG_WHERE_MAX];
	int			 first;

	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (sec->name == NULL || config_is_daemon(sec) != daemon)
			continue;
		TAILQ_FOREACH(s2, &ld->sections, entry) {
			if (s2 == sec)
				break;
			if (s2->name == NULL ||
			    strcmp(s2->name, sec->name) != 0)
				continue;
			/* Two files defining one instance: both named. */
			config_error(ld, sec->line, "duplicate section [%s] "
			    "(first at %s)", sec->name, config_where(ld,
			    sec->line, s2->line, where, sizeof(where)));
			break;
		}
		TAILQ_FOREACH(k, &sec->keys, entry) {
			if ((first = config_earlier_key(ld, sec, k)) == 0)
				continue;
			/* Lists (access lists, listen) may take lines. */
			kd = key_find(k->key, config_is_daemon(sec) ?
			    KEY_SCOPE_DAEMON : KEY_SCOPE_INSTANCE);
			if (kd != NULL && (kd->type == KEY_ACL ||
			    kd->type == KEY_MODULES ||
			    kd->type == KEY_ENDPOINTS)) {
				k->more = 1;
				continue;
			}
			/* A service's repeatable key (exec's env). */
			if (kd == NULL && config_repeatable(ld, sec, k->key))
				continue;
			config_error(ld, k->line, "duplicate key '%s' "
			    "(first at %s)", k->key, config_where(ld, k->line,
			    first, where, sizeof(where)));
			k->dup = 1;
		}
	}
}

/* Apply the keys of a [daemon] section. */
static void
config_daemon(struct cf_load *ld, struct cf_section *sec)
{
	const struct config_key	*kd;
	struct cf_key		*k;

	TAILQ_FOREACH(k, &sec->keys, entry) {
		if (k->dup)
			continue;
		if ((kd = key_find(k->key, KEY_SCOPE_DAEMON)) == NULL) {
			config_error(ld, k->line,
			    "unknown key '%s' in [daemon]", k->key);
			continue;
		}
		key_set(ld, kd, key_field(kd, &ld->conf->daemon, NULL), k);
	}
}

/*
 * user and group must exist (a start as root would otherwise fail after
 * binding every port), and group only goes with user: alone it would be
 * silently ignored.  Looked up here, so -t and a reload see it.
 */
static void
config_check_user(struct cf_load *ld)
{
	const struct daemon_conf *d = &ld->conf->daemon;
	int			 line;

	if (d->user != NULL) {
		line = config_key_line(ld, NULL, "user");
		errno = 0;
		if (getpwnam(d->user) == NULL)
			config_error(ld, line, "user: '%s': %s", d->user,
			    errno != 0 ? strerror(errno) : "no such user "
			    "(create it, or leave user unset)");
	}
	if (d->group == NULL)
		return;
	line = config_key_line(ld, NULL, "group");
	if (d->user == NULL) {
		/* Unless user failed: that is reported already. */
		if (config_key_line(ld, NULL, "user") == 0)
			config_error(ld, line, "group without user (the "
			    "group is applied only when switching to user)");
		return;
	}
	errno = 0;
	if (getgrnam(d->group) == NULL)
		config_error(ld, line, "group: '%s': %s", d->group,
		    errno != 0 ? strerror(errno) : "no such group");
}

/*
 * The line of key name in sec, or in any [daemon] section when sec is
 * NULL; 0 when it is not set there.
 */
static int
config_key_line(struct cf_load *ld, const struct cf_section *sec,
    const char *name)
{
	const struct cf_section	*s;
	const struct cf_key	*k;

	if (sec != NULL)
		return (k = config_find_key(sec, name)) != NULL ? k->line : 0;
	TAILQ_FOREACH(s, &ld->sections, entry) {
		if (config_is_daemon(s) &&
		    (k = config_find_key(s, name)) != NULL)
			return k->line;
	}
	return 0;
}

/*
 * Report a token bucket whose burst is below its rate, at the line of
 * whichever of the two keys sec (NULL: [daemon]) sets.  When sec sets
 * neither, both came from [daemon], which has been checked already.
 */
static void
config_check_rate(struct cf_load *ld, const struct cf_section *sec,
    const char *rname, unsigned int rate, const char *bname,
    unsigned int burst)
{
	int	line;

	if (rate == 0 || burst == 0 || burst >= rate)
		return;
	if ((line = config_key_line(ld, sec, bname)) == 0 &&
	    (line = config_key_line(ld, sec, rname)) == 0)
		return;
	config_error(ld, line, "%s must be at least %s (%s = %u, %s = %u; "
	    "0 means twice the rate)", bname, rname, bname, burst, rname,
	    rate);
}

/* Check the limits of [daemon] (sec NULL) or of an instance's section. */
static void
config_check_limits(struct cf_load *ld, const struct cf_section *sec,
    const struct limits_conf *lim)
{
	config_check_rate(ld, sec, "rate", lim->rate, "burst", lim->burst);
	config_check_rate(ld, sec, "instance_rate", lim->instance_rate,
	    "instance_burst", lim->instance_burst);
}

/*
 * proxy_protocol and proxy_from go together (a header is trusted only
 * from the balancers listed), on an instance with a TCP endpoint.
 */
static void
config_check_proxy(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_section *sec)
{
	const struct cf_key	*k = config_find_key(sec, "proxy_protocol");
	size_t			 i;
	int			 line;

	if (ic->proxy_accept == 0) {
		/* A bad proxy_protocol value has been reported already. */
		if (ic->proxy_from.n > 0 &&
		    (k == NULL || strcmp(k->value, "off") == 0))
			config_error(ld, config_key_line(ld, sec, "proxy_from"),
			    "proxy_from without proxy_protocol");
		return;
	}
	line = config_key_line(ld, sec, "proxy_protocol");
	if (ic->proxy_from.n == 0)
		config_error(ld, line, "proxy_protocol needs proxy_from: the "
		    "addresses of the balancers allowed to send the header");
	for (i = 0; i < ic->nendpoints; i++) {
		if (ic->endpoints[i].proto == SERVICE_TCP)
			return;
	}
	if (ic->nendpoints > 0)
		config_error(ld, line, "proxy_protocol: [%s] has no tcp "
		    "endpoint (the PROXY protocol is for TCP)", ic->name);
}

/*
 * Look up "service =" for ic, naming the known services when unknown,
 * and allocate the service's conf_size bytes of settings (zeroed) before
 * any of its keys is seen.
 */
static void
config_service(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	const struct module	*m;
	char			 names[256];
	size_t			 i, off = 0;
	int			 n;

	if ((ic->service = service_find(k->value)) != NULL ||
	    (ic->service = module_service_find(&ld->conf->modules, k->value,
	    &ic->module)) != NULL) {
		if (ic->service->conf_size > 0 && (ic->svc.data =
		    calloc(1, ic->service->conf_size)) == NULL) {
			config_nomem(ld);
			ic->service = NULL;	/* nothing to free */
		}
		return;
	}
	/* Most likely the failed module's: its error says why already. */
	if (ld->module_failed)
		return;
	names[0] = '\0';
	for (i = 0; services[i] != NULL; i++) {
		n = snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", services[i]->name);
		if (n < 0 || (size_t)n >= sizeof(names) - off)
			break;
		off += (size_t)n;
	}
	TAILQ_FOREACH(m, &ld->conf->modules, entry) {
		for (i = 0; i < m->nservices; i++) {
			n = snprintf(names + off, sizeof(names) - off, ", %s",
			    m->desc->services[i]->name);
			if (n < 0 || (size_t)n >= sizeof(names) - off)
				break;
			off += (size_t)n;
		}
	}
	config_error(ld, k->line, "service: unknown service '%s' (known: %s)",
	    k->value, names);
}

/* Whether key is in the service's keys[] list. */
static int
config_service_has_key(const struct service *svc, const char *key)
{
	const char *const	*p;

	if (svc->keys == NULL)
		return 0;
	for (p = svc->keys; *p != NULL; p++) {
		if (strcmp(*p, key) == 0)
			return 1;
	}
	return 0;
}

/*
 * Hand a key that is not in the table to the instance's service.  A key
 * that is not in its keys[] is refused here, so conf_key only ever sees
 * its own keys.  Its causes name the key themselves ("log_data: ...").
 * Returns 0 or -1.
 */
static int
config_service_key(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	const struct service	*svc = ic->service;
	char			*cause = NULL;
	int			 r;

	r = SERVICE_KEY_UNKNOWN;
	if (config_service_has_key(svc, k->key)) {
		r = SERVICE_KEY_OK;
		if (svc->conf_key != NULL)
			r = svc->conf_key(&ic->svc, k->key, k->value, &cause);
	}
	if (r == SERVICE_KEY_OK) {
		free(cause);	/* a module may set one and still say OK */
		return config_service_line(ld, ic, k);
	}
	if (r == SERVICE_KEY_UNKNOWN)
		config_error(ld, k->line, "unknown key '%s' for service '%s'",
		    k->key, svc->name);
	else
		config_error(ld, k->line, "%s", cause != NULL ? cause :
		    "bad value (out of memory?)");
	free(cause);
	return -1;
}

/* Keep a service key as it was set, for -T to print it back. */
static int
config_service_line(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	char	**lines;

	lines = reallocarray(ic->svc_lines, ic->nsvc_lines + 1,
	    sizeof(*lines));
	if (lines == NULL) {
		config_nomem(ld);
		return -1;
	}
	ic->svc_lines = lines;
	if (asprintf(&lines[ic->nsvc_lines], "%s = %s", k->key,
	    k->value) == -1) {
		config_nomem(ld);
		return -1;
	}
	ic->nsvc_lines++;
	return 0;
}

/* Let the service judge its settings as a whole (conf_check). */
static void
config_service_check(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_section *sec)
{
	char	*cause = NULL;

	if (ic->service == NULL || ic->service->conf_check == NULL)
		return;
	if (ic->service->conf_check(&ic->svc, &cause) != 0)
		config_error(ld, sec->line, "[%s]: %s", ic->name,
		    cause != NULL ? cause : "bad settings");
	free(cause);
}

/* Whether ep's address is the wildcard of its family (0.0.0.0, [::]). */
static int
config_wildcard(const struct endpoint *ep)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (ep->addr.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&ep->addr;
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	sin6 = (const struct sockaddr_in6 *)&ep->addr;
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

/*
 * Whether a and b (port not 0) cannot both be bound: the same endpoint,
 * or a wildcard and a specific address of the same protocol, family and
 * port.  tcp and udp, IPv4 and IPv6 never clash (IPV6_V6ONLY).
 */
static int
config_clash(const struct endpoint *a, const struct endpoint *b)
{
	if (endpoint_same(a, b))
		return 1;
	return a->proto == b->proto &&
	    a->addr.ss_family == b->addr.ss_family &&
	    endpoint_port(a) == endpoint_port(b) &&
	    config_wildcard(a) != config_wildcard(b);
}

/*
 * Report that ep (of ic) cannot be bound beside other (of oic, NULL: it
 * is metrics_listen), at the later of their two lines, naming the other.
 */
static void
config_report_clash(struct cf_load *ld, const struct instance_conf *ic,
    const struct endpoint *ep, const struct instance_conf *oic,
    const struct endpoint *other)
{
	const char	*why = ": a wildcard address takes the port on every "
			    "address of its family";
	char		 at[CONFIG_WHERE_MAX];
	int		 ml = ld->metrics_line;

	if (oic == NULL && endpoint_same(ep, other)) {
		if (ml > ep->line)
			config_error(ld, ml, "metrics_listen: '%s' is already "
			    "used by [%s] (%s)", ep->text, ic->name,
			    config_where(ld, ml, ep->line, at, sizeof(at)));
		else
			config_error(ld, ep->line, "listen: '%s' is already "
			    "used by metrics_listen (%s)", ep->text,
			    config_where(ld, ep->line, ml, at, sizeof(at)));
	} else if (oic == NULL && ml > ep->line)
		config_error(ld, ml, "metrics_listen: '%s' clashes with '%s' "
		    "of [%s] (%s)%s", other->text, ep->text, ic->name,
		    config_where(ld, ml, ep->line, at, sizeof(at)), why);
	else if (oic == NULL)
		config_error(ld, ep->line, "listen: '%s' clashes with "
		    "metrics_listen '%s' (%s)%s", ep->text, other->text,
		    config_where(ld, ep->line, ml, at, sizeof(at)), why);
	else if (endpoint_same(ep, other))
		config_error(ld, ep->line, "listen: '%s' is already used by "
		    "[%s] (%s)", ep->text, oic->name, config_where(ld,
		    ep->line, other->line, at, sizeof(at)));
	else
		config_error(ld, ep->line, "listen: '%s' clashes with '%s' of "
		    "[%s] (%s)%s", ep->text, other->text, oic->name,
		    config_where(ld, ep->line, other->line, at, sizeof(at)),
		    why);
}

/*
 * Whether ep is the first endpoint checked with its protocol, family and
 * port (and mark it seen).  0 also when memory ran out: then every pair
 * is compared.
 */
static int
config_port_first(struct cf_load *ld, const struct endpoint *ep)
{
	size_t	bit;

	if (ld->ports_seen == NULL &&
	    (ld->ports_seen = calloc(1, 4 * 65536 / 8)) == NULL)
		return 0;
	bit = ((size_t)(ep->proto == SERVICE_UDP) * 2 +
	    (ep->addr.ss_family == AF_INET6)) * 65536 + endpoint_port(ep);
	if (ld->ports_seen[bit / 8] & (1u << (bit % 8)))
		return 0;
	ld->ports_seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
	return 1;
}

/*
 * Check ic's endpoints against its service's protocols and, when ic is
 * enabled, against its own earlier ones, those of the enabled instances
 * before it and metrics_listen: an endpoint that cannot be bound beside
 * another (config_clash) is reported with both lines.  Each endpoint
 * carries the line of its "listen =" (the key may repeat).  Port 0 is
 * never a clash: the kernel gives each one its own port.
 */
static void
config_check_endpoints(struct cf_load *ld, struct instance_conf *ic)
{
	const struct daemon_conf *d = &ld->conf->daemon;
	struct instance_conf	*other;
	struct endpoint		*ep;
	size_t			 i, j, n;

	for (i = 0; i < ic->nendpoints; i++) {
		ep = &ic->endpoints[i];
		if (ic->service != NULL &&
		    (ic->service->protocols & ep->proto) == 0)
			config_error(ld, ep->line, "listen: '%s': service '%s' "
			    "does not support %s", ep->text, ic->service->name,
			    ep->proto == SERVICE_TCP ? "tcp" : "udp");
		if (!ic->enabled || endpoint_port(ep) == 0)
			continue;
		if (d->metrics && config_clash(ep, &d->metrics_listen))
			config_report_clash(ld, ic, ep, NULL,
			    &d->metrics_listen);
		if (config_port_first(ld, ep))
			continue;	/* nothing before it can clash */
		TAILQ_FOREACH(other, &ld->conf->instances, entry) {
			if (!other->enabled)
				continue;
			/* Its own: the same one is reported as listed twice. */
			n = other == ic ? i : other->nendpoints;
			for (j = 0; j < n; j++) {
				if (other == ic && endpoint_same(ep,
				    &other->endpoints[j]))
					continue;
				if (config_clash(ep, &other->endpoints[j]))
					break;
			}
			if (j < n) {
				config_report_clash(ld, ic, ep, other,
				    &other->endpoints[j]);
				break;
			}
			if (other == ic)
				break;
		}
	}
}

/* A new instance for section sec, linked into the config; NULL: no memory. */
static struct instance_conf *
config_instance_new(struct cf_load *ld, const struct cf_section *sec)
{
	struct instance_conf	*ic;

	if ((ic = calloc(1, sizeof(*ic))) == NULL ||
	    (ic->name = strdup(sec->name)) == NULL) {
		free(ic);
		config_nomem(ld);
		return NULL;
	}
	ic->conf = ld->conf;
	ic->line = sec->line;
	ic->svc.ic = ic;
	TAILQ_INSERT_TAIL(&ld->conf->instances, ic, entry);
	return ic;
}

/*
 * Give every common key of ic its value before the section's keys (the
 * table's default, or [daemon]'s), reporting the required ones sec lacks.
 */
static void
config_instance_defaults(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_section *sec)
{
	const struct config_key	*kd;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if ((kd->scope & KEY_SCOPE_INSTANCE) == 0)
			continue;
		/* A section with a bad line has had its cause reported. */
		if ((kd->flags & KEY_REQUIRED) && sec->bad_lines == 0 &&
		    config_find_key(sec, kd->name) == NULL)
			config_error(ld, sec->line, "[%s]: no '%s' key",
			    ic->name, kd->name);
		if (key_set_default(kd, &ld->conf->daemon, ic) == -1)
			config_nomem(ld);
	}
}

/*
 * Apply the keys of sec to ic in file order: common keys from the table,
 * the others to the service (not judged when the service is unknown).
 * Returns the number of keys the service refused.
 */
static int
config_instance_keys(struct cf_load *ld, struct instance_conf *ic,
    struct cf_section *sec)
{
	const struct config_key	*kd;
	struct cf_key		*k;
	int			 svc_errors = 0;

	TAILQ_FOREACH(k, &sec->keys, entry) {
		if (k->dup)
			continue;
		if ((kd = key_find(k->key, KEY_SCOPE_INSTANCE)) == NULL) {
			if (ic->service != NULL &&
			    config_service_key(ld, ic, k) == -1)
				svc_errors++;
		} else if (kd->type == KEY_SERVICE)
			continue;		/* looked up first */
		else if (kd->type == KEY_ENDPOINTS)
			key_set_listen(ld, ic, k);
		else
			key_set(ld, kd, key_field(kd, NULL, ic), k);
	}
	return svc_errors;
}

/*
 * Build and validate the instance of one section.  The service is looked
 * up first, since conf_key needs it and "service =" may come last; keys
 * of an unknown service are not judged.  conf_check runs only when all of
 * the service's own keys were accepted and no line of the section was bad,
 * so that it does not report what follows from an error already reported.
 */
static void
config_instance(struct cf_load *ld, struct cf_section *sec)
{
	struct instance_conf	*ic;
	struct cf_key		*k;
	int			 svc_errors;

	if ((ic = config_instance_new(ld, sec)) == NULL)
		return;
	config_instance_defaults(ld, ic, sec);
	if ((k = config_find_key(sec, "service")) != NULL)
		config_service(ld, ic, k);
	svc_errors = config_instance_keys(ld, ic, sec);
	config_check_limits(ld, sec, &ic->lim);
	if (ic->service != NULL && ic->max_connections == 0)
		ic->max_connections = ic->service->default_max_connections;
	config_check_proxy(ld, ic, sec);
	config_check_endpoints(ld, ic);
	if (svc_errors == 0 && sec->bad_lines == 0)
		config_service_check(ld, ic, sec);	/* see above */
}

/*
 * Whether sec, which has no "service" key, looks like a misspelt [daemon]
 * ([Daemon], [deamon], [daemons]): the same letters in another case, or
 * at most two edits (insert, delete, replace, swap) away.
 */
static int
config_near_daemon(const struct cf_section *sec)
{
	static const char	 want[] = "daemon";
	const size_t		 m = sizeof(want) - 1;
	unsigned int		 d[CONFIG_NEAR_MAX + 1][sizeof(want)];
	const char		*s = sec->name;
	size_t			 n, i, j;
	unsigned int		 c;

	if (s == NULL || config_find_key(sec, "service") != NULL)
		return 0;
	if (strcasecmp(s, want) == 0)
		return 1;
	if ((n = strlen(s)) > CONFIG_NEAR_MAX || n + 2 < m || n > m + 2)
		return 0;
	/* Damerau-Levenshtein (optimal string alignment), case folded. */
	for (i = 0; i <= n; i++)
		d[i][0] = (unsigned int)i;
	for (j = 0; j <= m; j++)
		d[0][j] = (unsigned int)j;
	for (i = 1; i <= n; i++) {
		for (j = 1; j <= m; j++) {
			c = tolower((unsigned char)s[i - 1]) != want[j - 1];
			d[i][j] = d[i - 1][j - 1] + c;
			if (d[i - 1][j] + 1 < d[i][j])
				d[i][j] = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < d[i][j])
				d[i][j] = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && tolower((unsigned char)
			    s[i - 1]) == want[j - 2] && tolower((unsigned char)
			    s[i - 2]) == want[j - 1] && d[i - 2][j - 2] + 1 <
			    d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[n][m] <= 2;
}

/* Resolve the recorded sections into a config; NULL on any error. */
static struct config *
config_resolve(struct cf_load *ld, const char *dir)
{
	const struct config_key	*kd;
	struct cf_section	*sec;
	struct config		*conf;
	int			 ninstances = 0;

	if ((conf = calloc(1, sizeof(*conf))) == NULL ||
	    (conf->path = strdup(ld->name)) == NULL ||
	    (conf->dir = strdup(dir)) == NULL) {
		if (conf != NULL)
			free(conf->path);
		free(conf);
		config_nomem(ld);
		return NULL;
	}
	conf->refs = 1;
	TAILQ_INIT(&conf->instances);
	TAILQ_INIT(&conf->modules);
	ld->conf = conf;
	for (kd = config_keys; kd->name != NULL; kd++) {
		if (kd->scope & KEY_SCOPE_DAEMON)
			key_set_default(kd, &conf->daemon, NULL);
	}

	config_mark_dups(ld, 1);
	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (config_is_daemon(sec))
			config_daemon(ld, sec);
	}
	config_check_user(ld);
	conf->daemon.metrics = conf->daemon.metrics_listen.proto != 0;
	ld->metrics_line = config_key_line(ld, NULL, "metrics_listen");
	config_check_limits(ld, NULL, &conf->daemon.lim);
	config_modules(ld);
	config_mark_dups(ld, 0);
	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (sec->name == NULL || config_is_daemon(sec))
			continue;
		ninstances++;
		/* The cause, not "no 'service' key" and the like. */
		if (config_near_daemon(sec))
			config_error(ld, sec->line, "unknown section [%s] "
			    "without a service: did you mean [daemon]?",
			    sec->name);
		else
			config_instance(ld, sec);
	}
	if (ninstances == 0)
		config_error(ld, 0, "no service instances configured");

	ld->conf = NULL;
	if (ld->failed) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

/* Run both passes over the opened file or string. */
static struct config *
config_run(struct cf_load *ld, const char *dir)
{
	struct config	*conf = NULL;

	if (config_read_sections(ld) == 0)
		conf = config_resolve(ld, dir);
	config_free_sections(ld);
	return conf;
}

/*
 * Load the config file at path.  errs is reset first and gets every
 * error, in file order; free it with config_errors_free().
 */
struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct cf_load	 ld;
	struct config	*conf = NULL;
	const char	*slash;
	char		*dir = NULL, *real;

	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	memset(&ld, 0, sizeof(ld));
	ld.name = path;
	if ((ld.f = config_open(&ld, path)) != NULL) {
		/* Relative file names in the config are from its directory. */
		if ((slash = strrchr(path, '/')) == NULL)
			dir = strdup(".");
		else if (slash == path)
			dir = strdup("/");
		else
			dir = strndup(path, (size_t)(slash - path));
		/* The drop-ins, named as the main file is (docs/DESIGN.md). */
		if (dir != NULL && asprintf(&ld.dropins, "%s%s" CONFIG_DROPIN_DIR,
		    strcmp(dir, "/") == 0 ? "" : dir, "/") == -1)
			ld.dropins = NULL;
		if (dir != NULL && (real = realpath(dir, NULL)) != NULL) {
			free(dir);
			dir = real;
		}
		if (dir == NULL || ld.dropins == NULL)
			config_nomem(&ld);
		else
			conf = config_run(&ld, dir);
		fclose(ld.f);
		free(ld.dropins);
		free(dir);
	}
	config_errors_finish(&ld, errs);
	return conf;
}

/*
 * Load a config from text; name stands for the file in messages and
 * relative file names are taken from the current directory.  errs is
 * reset first, as for config_load().
 */
struct config *
config_load_string(const char *text, const char *name,
    struct config_errors *errs)
{
	struct cf_load	 ld;
	struct config	*conf;

	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	memset(&ld, 0, sizeof(ld));
	ld.name = name != NULL ? name : "(string)";
	ld.text = text;
	conf = config_run(&ld, ".");
	config_errors_finish(&ld, errs);
	return conf;
}

/*
 * Load the modules of every "modules =" line of [daemon], in file order,
 * once the other [daemon] keys are known (modules_strict).  Names are
 * separated by blanks; relative ones are from the config's directory.
 */
static void
config_modules(struct cf_load *ld)
{
	struct config		*conf = ld->conf;
	struct module_policy	 pol;
	struct cf_section	*sec;
	struct cf_key		*k;
	char			*list, *name, *last, *cause;
	int			 n;

	memset(&pol, 0, sizeof(pol));
	pol.strict = conf->daemon.modules_strict;
	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (!config_is_daemon(sec))
			continue;
		TAILQ_FOREACH(k, &sec->keys, entry) {
			if (strcmp(k->key, "modules") != 0)
				continue;
			if ((list = strdup(k->value)) == NULL) {
				config_nomem(ld);
				return;
			}
			n = 0;
			for (name = strtok_r(list, " \t", &last); name != NULL;
			    name = strtok_r(NULL, " \t", &last)) {
				n++;
				if (module_load(&conf->modules, conf->dir,
				    name, k->line, &pol, &cause) == 0)
					continue;
				ld->module_failed = 1;
				if (cause == NULL)
					config_nomem(ld);
				else
					config_error(ld, k->line, "modules: %s",
					    cause);
				free(cause);
			}
			if (n == 0)
				config_error(ld, k->line, "modules: empty value");
			free(list);
		}
	}
}

/*
 * Free conf and everything in it.  conf_free runs for each instance whose
 * service has data (its conf_size block, or what it set itself), so a
 * service that stored nothing is not called; the host frees the
 * conf_size block after it.
 */
static void
config_free(struct config *conf)
{
	struct instance_conf	*ic;

	while ((ic = TAILQ_FIRST(&conf->instances)) != NULL) {
		TAILQ_REMOVE(&conf->instances, ic, entry);
		if (ic->service != NULL && ic->service->conf_free != NULL &&
		    ic->svc.data != NULL)
			ic->service->conf_free(&ic->svc);
		if (ic->service != NULL && ic->service->conf_size > 0)
			free(ic->svc.data);
		while (ic->nsvc_lines > 0)
			free(ic->svc_lines[--ic->nsvc_lines]);
		free(ic->svc_lines);
		acl_free(&ic->proxy_from);
		acl_free(&ic->lim.allow);
		acl_free(&ic->lim.deny);
		free(ic->endpoints);
		free(ic->name);
		free(ic);
	}
	module_unload_all(&conf->modules);
	acl_free(&conf->daemon.lim.allow);
	acl_free(&conf->daemon.lim.deny);
	free(conf->daemon.user);
	free(conf->daemon.group);
	free(conf->path);
	free(conf->dir);
	free(conf);
}

/* Take a reference to conf; a loaded config starts with one. */
void
config_ref(struct config *conf)
{
	conf->refs++;
}

/* Drop a reference to conf, freeing it with the last one. */
void
config_unref(struct config *conf)
{
	if (conf != NULL && --conf->refs == 0)
		config_free(conf);
}

/*
 * Print the table keys of [daemon] (ic NULL) or of instance ic; the
 * service and listen keys, which only instances have, come from ic.
 */
static void
config_print_section(const struct daemon_conf *d,
    const struct instance_conf *ic, int scope, FILE *fp)
{
	const struct config_key	*kd;
	size_t			 i, col = 0;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if ((kd->scope & scope) == 0)
			continue;
		if (ic != NULL && kd->type == KEY_SERVICE)
			fprintf(fp, "%s = %s\n", kd->name, ic->service->name);
		else if (ic != NULL && kd->type == KEY_ENDPOINTS) {
			for (i = 0; i < ic->nendpoints; i++)
				key_print_item(fp, kd->name,
				    ic->endpoints[i].text, &col);
			fprintf(fp, "\n");
		} else
			key_print(kd, key_cfield(kd, d, ic), fp);
	}
}

/*
 * Print the resolved config for -t, in INI form with every value in its
 * canonical unit: [daemon] first, then one section per instance with its
 * effective values (inherited ones included; deny is the instance's own
 * list only), its service's keys as they were set, and a "; SERVICE:
 * key=value ..." comment from conf_describe.  Loading the output (from
 * the same directory: relative file names stay relative) gives the same
 * config.
 */
void
config_print(const struct config *conf, FILE *fp)
{
	struct instance_conf	*ic;
	char			 desc[CONFIG_DESCRIBE_MAX], *p;
	size_t			 i;

	fprintf(fp, "[daemon]\n");
	config_print_section(&conf->daemon, NULL, KEY_SCOPE_DAEMON, fp);
	module_print(&conf->modules, 1, fp);
	TAILQ_FOREACH(ic, &conf->instances, entry) {
		fprintf(fp, "\n[%s]\n", ic->name);
		config_print_section(&conf->daemon, ic, KEY_SCOPE_INSTANCE, fp);
		for (i = 0; i < ic->nsvc_lines; i++)
			fprintf(fp, "%s\n", ic->svc_lines[i]);
		if (ic->service->conf_describe == NULL)
			continue;
		desc[0] = '\0';
		ic->service->conf_describe(&ic->svc, desc, sizeof(desc));
		if (desc[0] == '\0')
			continue;
		for (p = desc; *p != '\0'; p++) {
			if (iscntrl((unsigned char)*p))
				*p = '?';	/* keep it one line */
		}
		fprintf(fp, "; %s:%s%s\n", ic->service->name,
		    desc[0] == ' ' ? "" : " ", desc);
	}
}

/* The service's data for this instance (host API for services). */
void *
svc_conf_data(struct svc_conf *sc)
{
	return sc->data;
}

/* Set the service's data for this instance (host API for services). */
void
svc_conf_set_data(struct svc_conf *sc, void *data)
{
	sc->data = data;
}

/* The instance's name, its section name (host API for services). */
const char *
svc_conf_name(struct svc_conf *sc)
{
	return sc->ic->name;
}

/*
 * Resolve a file name from the config: absolute names stay, relative ones
 * are taken from the config file's directory.  Returns 0, or -1 when the
 * result does not fit in len.
 */
int
svc_conf_path(struct svc_conf *sc, const char *name, char *buf, size_t len)
{
	const char	*dir = sc->ic->conf->dir;
	int		 n;

	if (name[0] == '/' || dir == NULL)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}
