/*
 * test-config.c: config_load_string() and config_load(): every accepted
 * form and default, every kind of error with its exact line number, the
 * -t listing and the host functions services use at config time.
 * Fixtures are in tests/unit/data/config, found through $NETSVCD_SRCDIR.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "netsvcd.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Expect string got to equal want, showing both when it does not. */
#define expect_str(got, want) do {					\
	const char	*got_ = (got), *want_ = (want);			\
									\
	cr_expect(strcmp(got_, want_) == 0, "got '%s', want '%s'",	\
	    got_, want_);						\
} while (0)

/* Load text, which must fail with exactly the listed errors, in order. */
#define expect_errors(text, ...)					\
	check_errors((text), (const char *const []){ __VA_ARGS__, NULL })

/* A minimal instance, to make a config valid around what is tested. */
#define ECHO	"[echo]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"

/* The -t lines of the limits at their defaults, in table order. */
#define LIMITS_DEFAULT							\
	"max_per_source = 0\n"						\
	"rate = 0\n"							\
	"burst = 0\n"							\
	"instance_rate = 0\n"						\
	"instance_burst = 0\n"						\
	"max_duration = 0\n"						\
	"write_timeout = 1m\n"						\
	"max_bytes = 0\n"						\
	"udp_max_amplification = 1\n"					\
	"udp_amplify_rate = 50\n"					\
	"udp_amplify_burst = 200\n"					\
	"udp_protect = yes\n"						\
	"log_connections = off\n"

static struct config	*load_ok(const char *);
static void		 check_errors(const char *, const char *const *);
static struct instance_conf *instance(struct config *, const char *);
static char		*print_config(const struct config *);
static char		*data_path(const char *);
static void		 check_default_limits(const struct limits_conf *);
static void		 expect_acl(const struct acl *, const char *);

/* Load text as "t.ini"; it must be accepted. */
static struct config *
load_ok(const char *text)
{
	struct config_errors	 errs;
	struct config		*conf;

	conf = config_load_string(text, "t.ini", &errs);
	cr_assert(conf != NULL, "rejected, first error: %s",
	    errs.count > 0 ? errs.msg[0] : "(none)");
	cr_assert(eq(sz, errs.count, 0));
	config_errors_free(&errs);
	return conf;
}

/* Load text as "t.ini"; it must fail with exactly the errors in want. */
static void
check_errors(const char *text, const char *const *want)
{
	struct config_errors	 errs;
	struct config		*conf;
	size_t			 i, n;
	char			*all = NULL;
	size_t			 alllen = 0;
	FILE			*fp;

	conf = config_load_string(text, "t.ini", &errs);
	cr_assert(conf == NULL, "accepted:\n%s", text);
	if ((fp = open_memstream(&all, &alllen)) != NULL) {
		for (i = 0; i < errs.count; i++)
			fprintf(fp, "  %s\n", errs.msg[i]);
		fclose(fp);
	}
	for (n = 0; want[n] != NULL; n++)
		continue;
	cr_expect(eq(sz, errs.count, n), "errors for:\n%s\ngot:\n%s", text,
	    all);
	for (i = 0; i < n && i < errs.count; i++)
		expect_str(errs.msg[i], want[i]);
	free(all);
	config_errors_free(&errs);
	cr_assert(eq(sz, errs.count, 0), "config_errors_free empties it");
	cr_assert(errs.msg == NULL);
}

/* The instance called name, which must exist. */
static struct instance_conf *
instance(struct config *conf, const char *name)
{
	struct instance_conf	*ic;

	TAILQ_FOREACH(ic, &conf->instances, entry) {
		if (strcmp(ic->name, name) == 0)
			return ic;
	}
	cr_fatal("no instance %s", name);
	return NULL;
}

/* The -t listing of conf, allocated. */
static char *
print_config(const struct config *conf)
{
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*fp;

	fp = open_memstream(&out, &len);
	cr_assert(fp != NULL);
	config_print(conf, fp);
	fclose(fp);
	return out;
}

/* The path of a fixture file, allocated. */
static char *
data_path(const char *name)
{
	const char	*src = getenv("NETSVCD_SRCDIR");
	char		*path;

	cr_assert(src != NULL, "NETSVCD_SRCDIR is not set (ctest sets it)");
	cr_assert(asprintf(&path, "%s/tests/unit/data/config/%s", src,
	    name) != -1);
	return path;
}

/* Every field of lim must hold its default. */
static void
check_default_limits(const struct limits_conf *lim)
{
	cr_assert(eq(uint, lim->max_per_source, 0));
	cr_assert(eq(uint, lim->rate, 0));
	cr_assert(eq(uint, lim->burst, 0));
	cr_assert(eq(uint, lim->instance_rate, 0));
	cr_assert(eq(uint, lim->instance_burst, 0));
	cr_assert(eq(u64, lim->max_duration_ms, 0));
	cr_assert(eq(u64, lim->write_timeout_ms, 60000));
	cr_assert(eq(u64, lim->max_bytes, 0));
	cr_assert(eq(uint, lim->udp_max_amplification, 1));
	cr_assert(eq(uint, lim->udp_amplify_rate, 50));
	cr_assert(eq(uint, lim->udp_amplify_burst, 200));
	cr_assert(eq(int, lim->udp_protect, 1));
	cr_assert(eq(int, lim->log_connections, LOG_CONN_OFF));
	cr_assert(eq(sz, lim->allow.n, 0));
	cr_assert(eq(ptr, lim->allow.v, NULL));
	cr_assert(eq(sz, lim->deny.n, 0));
	cr_assert(eq(ptr, lim->deny.v, NULL));
}

/* acl must hold exactly the prefixes of want, space-separated, in order. */
static void
expect_acl(const struct acl *acl, const char *want)
{
	char	*got = NULL, buf[64];
	size_t	 len = 0, i;
	FILE	*fp;

	fp = open_memstream(&got, &len);
	cr_assert(fp != NULL);
	for (i = 0; i < acl->n; i++) {
		cidr_format(&acl->v[i], buf, sizeof(buf));
		fprintf(fp, "%s%s", i > 0 ? " " : "", buf);
	}
	fclose(fp);
	expect_str(got, want);
	free(got);
}

/* ---- accepted forms and defaults ---- */

Test(config, daemon_defaults)
{
	struct config	*conf = load_ok(ECHO);

	cr_assert(eq(int, conf->daemon.log_level, LOG_LEVEL_INFO));
	cr_assert(eq(uint, conf->daemon.max_connections, 1024));
	cr_assert(eq(uint, conf->daemon.backlog, 128));
	cr_assert(eq(u64, conf->daemon.idle_timeout_ms, 300000));
	cr_assert(eq(u64, conf->daemon.shutdown_timeout_ms, 5000));
	cr_assert(eq(sz, conf->daemon.buffer_limit, 65536));
	cr_assert(conf->daemon.user == NULL);
	cr_assert(conf->daemon.group == NULL);
	cr_assert(eq(uint, conf->daemon.workers, 1));
	cr_assert(eq(uint, conf->daemon.source_prefix4, 32));
	cr_assert(eq(uint, conf->daemon.source_prefix6, 64));
	cr_assert(eq(uint, conf->daemon.max_sources, 16384));
	cr_assert(eq(int, conf->daemon.metrics, 0));
	cr_assert(eq(int, conf->daemon.metrics_listen.proto, 0));
	check_default_limits(&conf->daemon.lim);
	cr_assert(eq(int, conf->refs, 1));
	expect_str(conf->path, "t.ini");
	expect_str(conf->dir, ".");
	config_unref(conf);
}

Test(config, instance_defaults)
{
	struct config		*conf = load_ok("; comment\n" ECHO);
	struct instance_conf	*ic = TAILQ_FIRST(&conf->instances);
	const struct sockaddr_in *sin;

	cr_assert(ic != NULL);
	cr_assert(eq(ptr, TAILQ_NEXT(ic, entry), NULL));
	expect_str(ic->name, "echo");
	cr_assert(ic->service == service_find("echo"));
	cr_assert(eq(int, ic->enabled, 1));
	cr_assert(eq(uint, ic->backlog, 128));
	cr_assert(eq(u64, ic->idle_timeout_ms, 300000));
	cr_assert(eq(uint, ic->max_connections, 0));
	cr_assert(eq(sz, ic->buffer_limit, 65536));
	cr_assert(eq(int, ic->line, 2));
	cr_assert(ic->conf == conf);
	cr_assert(ic->svc.ic == ic);
	cr_assert(eq(sz, ic->nendpoints, 1));
	cr_assert(eq(int, ic->endpoints[0].proto, SERVICE_TCP));
	sin = (const void *)&ic->endpoints[0].addr;
	cr_assert(eq(u16, sin->sin_port, htons(7)));
	expect_str(ic->endpoints[0].text, "tcp://127.0.0.1:7");
	check_default_limits(&ic->lim);
	config_unref(conf);
}

Test(config, daemon_values)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "log_level = debug\n"
	    "max_connections = 1000000\n"
	    "backlog = 65535\n"
	    "idle_timeout = 0\n"
	    "shutdown_timeout = 1h\n"
	    "buffer_limit = 64MiB\n"
	    "user = nobody\n"
	    "group = nogroup\n"
	    ECHO);

	cr_assert(eq(int, conf->daemon.log_level, LOG_LEVEL_DEBUG));
	cr_assert(eq(uint, conf->daemon.max_connections, 1000000));
	cr_assert(eq(uint, conf->daemon.backlog, 65535));
	cr_assert(eq(u64, conf->daemon.idle_timeout_ms, 0));
	cr_assert(eq(u64, conf->daemon.shutdown_timeout_ms, 3600000));
	cr_assert(eq(sz, conf->daemon.buffer_limit, 64 << 20));
	expect_str(conf->daemon.user, "nobody");
	expect_str(conf->daemon.group, "nogroup");
	config_unref(conf);
}

Test(config, daemon_minimums)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "max_connections = 1\n"
	    "backlog = 1\n"
	    "idle_timeout = 24h\n"
	    "shutdown_timeout = 0\n"
	    "buffer_limit = 4KiB\n"
	    ECHO);

	cr_assert(eq(uint, conf->daemon.max_connections, 1));
	cr_assert(eq(uint, conf->daemon.backlog, 1));
	cr_assert(eq(u64, conf->daemon.idle_timeout_ms, 86400000));
	cr_assert(eq(u64, conf->daemon.shutdown_timeout_ms, 0));
	cr_assert(eq(sz, conf->daemon.buffer_limit, 4096));
	config_unref(conf);
}

Test(config, log_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} t[] = {
		{ "debug", LOG_LEVEL_DEBUG }, { "info", LOG_LEVEL_INFO },
		{ "notice", LOG_LEVEL_NOTICE },
		{ "warning", LOG_LEVEL_WARNING }, { "err", LOG_LEVEL_ERR },
	};
	struct config	*conf;
	char		 text[256];
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		snprintf(text, sizeof(text), "[daemon]\nlog_level = %s\n" ECHO,
		    t[i].name);
		conf = load_ok(text);
		cr_expect(eq(int, conf->daemon.log_level, t[i].level), "%s",
		    t[i].name);
		config_unref(conf);
	}
}

Test(config, defaults_from_daemon_anywhere)
{
	struct config		*conf = load_ok(
	    "[a]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:1\n"
	    "[b]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:2\n"
	    "backlog = 7\n"
	    "idle_timeout = 500ms\n"
	    "buffer_limit = 8K\n"
	    "max_connections = 3\n"
	    "[daemon]\n"
	    "backlog = 5\n"
	    "idle_timeout = 30s\n"
	    "buffer_limit = 1MiB\n"
	    "max_connections = 99\n");
	struct instance_conf	*a = instance(conf, "a");
	struct instance_conf	*b = instance(conf, "b");

	cr_assert(eq(uint, a->backlog, 5));
	cr_assert(eq(u64, a->idle_timeout_ms, 30000));
	cr_assert(eq(sz, a->buffer_limit, 1 << 20));
	cr_assert(eq(uint, a->max_connections, 0), "not inherited");
	cr_assert(eq(uint, b->backlog, 7));
	cr_assert(eq(u64, b->idle_timeout_ms, 500));
	cr_assert(eq(sz, b->buffer_limit, 8192));
	cr_assert(eq(uint, b->max_connections, 3));
	cr_assert(eq(ptr, TAILQ_FIRST(&conf->instances), a), "file order");
	config_unref(conf);
}

Test(config, instance_ranges)
{
	struct config		*conf = load_ok(
	    "[a]\nservice = echo\nlisten = tcp://127.0.0.1:1\n"
	    "backlog = 65535\nidle_timeout = 0\nmax_connections = 1000000\n"
	    "buffer_limit = 64MiB\n"
	    "[b]\nservice = echo\nlisten = tcp://127.0.0.1:2\n"
	    "backlog = 1\nidle_timeout = 24h\nmax_connections = 0\n"
	    "buffer_limit = 4096\n");
	struct instance_conf	*a = instance(conf, "a");
	struct instance_conf	*b = instance(conf, "b");

	cr_assert(eq(uint, a->backlog, 65535));
	cr_assert(eq(u64, a->idle_timeout_ms, 0));
	cr_assert(eq(uint, a->max_connections, 1000000));
	cr_assert(eq(sz, a->buffer_limit, 64 << 20));
	cr_assert(eq(uint, b->backlog, 1));
	cr_assert(eq(u64, b->idle_timeout_ms, 86400000));
	cr_assert(eq(sz, b->buffer_limit, 4096));
	config_unref(conf);
}

Test(config, listen_forms)
{
	static const char *const want[] = {
		"tcp://0.0.0.0:7", "udp://0.0.0.0:7", "tcp://[::]:7",
		"udp://[::]:7", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0",
		"udp://[::1]:8",
	};
	struct config		*conf = load_ok(
	    "[e]\n"
	    "service = echo\n"
	    "listen =  tcp://0.0.0.0:7 udp://0.0.0.0:7,tcp://[::]:7 ,"
	    "\tudp://[::]:7,, tcp://127.0.0.1:0 tcp://127.0.0.1:0 "
	    "udp://[::1]:8 ,\n");
	struct instance_conf	*ic = instance(conf, "e");
	size_t			 i;

	cr_assert(eq(sz, ic->nendpoints, nitems(want)));
	for (i = 0; i < nitems(want); i++)
		expect_str(ic->endpoints[i].text, want[i]);
	config_unref(conf);
}

Test(config, enabled_forms)
{
	struct config	*conf = load_ok(
	    "[a]\nservice = echo\nlisten = tcp://127.0.0.1:1\nenabled = no\n"
	    "[b]\nservice = echo\nlisten = tcp://127.0.0.1:2\nenabled = YES\n"
	    "[c]\nservice = echo\nlisten = tcp://127.0.0.1:3\nenabled = off\n"
	    "[d]\nservice = echo\nlisten = tcp://127.0.0.1:4\nenabled = 1\n"
	    "[e]\nservice = echo\nlisten = tcp://127.0.0.1:5\n"
	    "enabled = False\n");

	cr_assert(eq(int, instance(conf, "a")->enabled, 0));
	cr_assert(eq(int, instance(conf, "b")->enabled, 1));
	cr_assert(eq(int, instance(conf, "c")->enabled, 0));
	cr_assert(eq(int, instance(conf, "d")->enabled, 1));
	cr_assert(eq(int, instance(conf, "e")->enabled, 0));
	config_unref(conf);
}

Test(config, syntax_accepted)
{
	char			 text[1024];
	char			 name[65];
	struct config		*conf;
	struct instance_conf	*ic;

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text),
	    "\xef\xbb\xbf; a BOM, then comments and blank lines\r\n"
	    "# hash comment\r\n"
	    "   ; indented comment\r\n"
	    "\r\n"
	    "\t\r\n"
	    "[A-z_0.9]   ; comment after a header\r\n"
	    "service=echo\r\n"
	    "listen\t=\ttcp://127.0.0.1:7   ; inline comment\r\n"
	    "[%s]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:8\n"
	    "[daemon] # comment\n"
	    "user = nobody # comment\n", name);
	conf = load_ok(text);
	ic = instance(conf, "A-z_0.9");
	expect_str(ic->endpoints[0].text, "tcp://127.0.0.1:7");
	cr_assert(eq(int, ic->line, 6));
	ic = instance(conf, name);
	cr_assert(eq(sz, strlen(ic->name), 64), "not cut at inih's 49");
	cr_assert(eq(int, ic->line, 9));
	expect_str(conf->daemon.user, "nobody");
	config_unref(conf);
}

Test(config, service_after_its_keys)
{
	struct config		*conf = load_ok(
	    "[greet]\n"
	    "message = hello\\r\\n\n"
	    "listen = tcp://127.0.0.1:9999\n"
	    "service = banner\n");
	struct instance_conf	*ic = instance(conf, "greet");
	char			*out;

	cr_assert(ic->service == service_find("banner"));
	cr_assert(svc_conf_data(&ic->svc) != NULL, "banner got its key");
	out = print_config(conf);
	cr_assert(strstr(out, "\n; banner: message=7 bytes\n") != NULL, "%s",
	    out);
	free(out);
	config_unref(conf);
}

Test(config, inline_comment_ends_value)
{
	/*
	 * inih ends a value at " ;", and we at " #" too (issue 10 item
	 * 10): "hi", 2 bytes; "hi;there#x", 10 bytes.
	 */
	struct config	*conf = load_ok(
	    "[b]\nservice = banner\nlisten = tcp://127.0.0.1:1\n"
	    "message = hi ; there\n"
	    "[c]\nservice = banner\nlisten = tcp://127.0.0.1:2\n"
	    "message = hi;there#x # and this\n");
	char		*out = print_config(conf);

	cr_assert(strstr(out, "[b]\n") != NULL);
	cr_assert(strstr(out, "; banner: message=2 bytes\n") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "; banner: message=10 bytes\n") != NULL, "%s",
	    out);
	free(out);
	config_unref(conf);
}

Test(config, service_keys_routed)
{
	struct config		*conf = load_ok(
	    "[sink]\nservice = discard\nlisten = udp://127.0.0.1:9\n"
	    "log_data = yes\n"
	    "[day]\nservice = daytime\nlisten = udp://127.0.0.1:13\n"
	    "utc = no\nformat = %H:%M\n");
	char			*out = print_config(conf);

	cr_assert(svc_conf_data(&instance(conf, "sink")->svc) != NULL);
	cr_assert(strstr(out, "\n; discard: log_data=yes\n") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "%H:%M") != NULL, "%s", out);
	free(out);
	config_unref(conf);
}

Test(config, disabled_instances_share_endpoints)
{
	struct config	*conf = load_ok(
	    "[new]\nenabled = no\nservice = echo\n"
	    "listen = tcp://127.0.0.1:7\n"
	    ECHO
	    "[old]\nenabled = no\nservice = echo\n"
	    "listen = tcp://127.0.0.1:7\n"
	    "[older]\nservice = discard\nlisten = tcp://127.0.0.1:7\n"
	    "enabled = no\n");

	cr_assert(eq(int, instance(conf, "new")->enabled, 0));
	cr_assert(eq(int, instance(conf, "old")->enabled, 0));
	cr_assert(eq(int, instance(conf, "older")->enabled, 0));
	cr_assert(eq(int, instance(conf, "echo")->enabled, 1));
	config_unref(conf);
}

Test(config, distinct_endpoints_accepted)
{
	/* Same port, but protocol, family or address differ; port 0 twice. */
	struct config	*conf = load_ok(
	    "[a]\nservice = echo\n"
	    "listen = tcp://0.0.0.0:7 udp://0.0.0.0:7 tcp://[::]:7\n"
	    "[b]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:8 udp://[::]:7 tcp://127.0.0.1:0\n"
	    "[c]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");

	cr_assert(eq(sz, instance(conf, "b")->nendpoints, 3));
	config_unref(conf);
}

Test(config, host_functions)
{
	struct config		*conf = load_ok(ECHO);
	struct instance_conf	*ic = instance(conf, "echo");
	char			 buf[64];
	int			 x;

	expect_str(svc_conf_name(&ic->svc), "echo");
	cr_assert(svc_conf_data(&ic->svc) == NULL);
	svc_conf_set_data(&ic->svc, &x);
	cr_assert(svc_conf_data(&ic->svc) == &x);
	svc_conf_set_data(&ic->svc, NULL);
	cr_assert(eq(int, svc_conf_path(&ic->svc, "q.txt", buf, sizeof(buf)),
	    0));
	expect_str(buf, "./q.txt");
	cr_assert(eq(int, svc_conf_path(&ic->svc, "/etc/q.txt", buf,
	    sizeof(buf)), 0));
	expect_str(buf, "/etc/q.txt");
	cr_assert(eq(int, svc_conf_path(&ic->svc, "quotes.txt", buf, 12),
	    -1), "too long for the buffer");
	cr_assert(eq(int, svc_conf_path(&ic->svc, "quotes.tx", buf, 12), 0));
	expect_str(buf, "./quotes.tx");
	config_unref(conf);
}

Test(config, references)
{
	struct config	*conf = load_ok(ECHO
	    "[sink]\nservice = discard\nlisten = udp://127.0.0.1:9\n");

	cr_assert(eq(int, conf->refs, 1));
	config_ref(conf);
	cr_assert(eq(int, conf->refs, 2));
	config_unref(conf);
	cr_assert(eq(int, conf->refs, 1));
	expect_str(instance(conf, "sink")->name, "sink");
	config_unref(conf);		/* frees, discard's data too */
	config_unref(NULL);
}

Test(config, key_names)
{
	static const char *const want[] = { "log_level", "max_connections",
	    "backlog", "idle_timeout", "shutdown_timeout", "buffer_limit",
	    "user", "group", "service", "enabled", "listen", "workers",
	    "source_prefix4", "source_prefix6", "max_sources",
	    "metrics_listen", "metrics_max_connections", "modules",
	    "modules_strict", "max_per_source",
	    "rate", "burst",
	    "instance_rate", "instance_burst", "max_duration",
	    "write_timeout", "max_bytes", "udp_max_amplification",
	    "udp_amplify_rate", "udp_amplify_burst", "udp_protect",
	    "log_connections", "allow", "deny", "drain_delay",
	    "proxy_protocol", "proxy_from", "proxy_timeout" };
	const char *const	*names = config_key_names();
	size_t			 i, j, n;

	for (n = 0; names[n] != NULL; n++)
		continue;
	cr_assert(eq(sz, n, nitems(want)));
	for (i = 0; i < nitems(want); i++) {
		for (j = 0; j < n; j++) {
			if (strcmp(names[j], want[i]) == 0)
				break;
		}
		cr_expect(j < n, "%s missing", want[i]);
	}
	cr_assert(config_key_names() == names, "a static list");
}

/* The key a reload cannot apply, as config_key_changed() sees it. */
static const struct config_key *
restart_key(const char *name)
{
	const struct config_key	*kd;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if (strcmp(kd->name, name) == 0 && (kd->flags & KEY_RESTART))
			return kd;
	}
	cr_fatal("%s is not a restart-only key", name);
	return NULL;
}

Test(config, restart_keys_in_table)
{
	static const char *const want[] = { "user", "group", "workers",
	    "source_prefix4", "source_prefix6", "max_sources",
	    "metrics_listen", "metrics_max_connections" };
	const struct config_key	*kd;
	size_t			 i, n = 0;

	for (kd = config_keys; kd->name != NULL; kd++) {
		cr_expect(kd->help != NULL && kd->help[0] != '\0',
		    "%s has no help text", kd->name);
		if ((kd->flags & KEY_RESTART) == 0)
			continue;
		n++;
		cr_expect(eq(int, kd->scope, KEY_SCOPE_DAEMON),
		    "restart-only %s is not a [daemon] key", kd->name);
	}
	cr_expect(eq(sz, n, nitems(want)));
	for (i = 0; i < nitems(want); i++)
		(void)restart_key(want[i]);
}

Test(config, restart_key_changed)
{
	static const struct {
		const char	*key;
		const char	*line;
	} cases[] = {
		{ "user", "user = root\n" },
		{ "group", "group = nogroup\n" },
		{ "workers", "workers = 2\n" },
		{ "source_prefix4", "source_prefix4 = 24\n" },
		{ "source_prefix6", "source_prefix6 = 48\n" },
		{ "max_sources", "max_sources = 64\n" },
		{ "metrics_listen", "metrics_listen = tcp://127.0.0.1:9\n" },
	};
	const struct config_key	*kd;
	struct config		*base, *nc, *other;
	char			 text[512];
	size_t			 i;

	base = load_ok("[daemon]\nuser = nobody\n" ECHO);
	other = load_ok("[daemon]\nuser = nobody\n"
	    "metrics_listen = tcp://127.0.0.1:10\n" ECHO);
	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text), "[daemon]\n%s%s" ECHO,
		    strcmp(cases[i].key, "user") == 0 ? "" : "user = nobody\n",
		    cases[i].line);
		nc = load_ok(text);
		for (kd = config_keys; kd->name != NULL; kd++) {
			if ((kd->flags & KEY_RESTART) == 0)
				continue;
			cr_expect(eq(int, config_key_changed(kd, base, nc),
			    strcmp(kd->name, cases[i].key) == 0),
			    "%s after changing %s", kd->name, cases[i].key);
			cr_expect(eq(int, config_key_changed(kd, nc, nc), 0));
		}
		config_unref(nc);
	}
	kd = restart_key("metrics_listen");
	cr_expect(config_key_changed(kd, base, other), "unset to set");
	cr_expect(config_key_changed(kd, other, base), "set to unset");
	nc = load_ok("[daemon]\nmetrics_listen = tcp://127.0.0.1:9\n" ECHO);
	cr_expect(config_key_changed(kd, nc, other), "another endpoint");
	config_unref(nc);
	config_unref(other);
	config_unref(base);
}

Test(config, daemon_only_keys)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "workers = 256\n"
	    "source_prefix4 = 8\n"
	    "source_prefix6 = 128\n"
	    "max_sources = 64\n"
	    "metrics_listen = tcp://[::1]:0\n"
	    ECHO);

	cr_assert(eq(uint, conf->daemon.workers, 256));
	cr_assert(eq(uint, conf->daemon.source_prefix4, 8));
	cr_assert(eq(uint, conf->daemon.source_prefix6, 128));
	cr_assert(eq(uint, conf->daemon.max_sources, 64));
	cr_assert(eq(int, conf->daemon.metrics, 1));
	cr_assert(eq(int, conf->daemon.metrics_listen.proto, SERVICE_TCP));
	cr_assert(eq(int, conf->daemon.metrics_listen.addr.ss_family,
	    AF_INET6));
	expect_str(conf->daemon.metrics_listen.text, "tcp://[::1]:0");
	config_unref(conf);

	conf = load_ok(ECHO "[daemon]\nworkers = auto\nsource_prefix4 = 32\n"
	    "source_prefix6 = 16\nmax_sources = 1048576\n"
	    "metrics_listen = tcp://127.0.0.1:9180\n");
	cr_assert(eq(uint, conf->daemon.workers, 0), "auto is 0");
	cr_assert(eq(uint, conf->daemon.source_prefix6, 16));
	cr_assert(eq(uint, conf->daemon.max_sources, 1048576));
	expect_str(conf->daemon.metrics_listen.text, "tcp://127.0.0.1:9180");
	config_unref(conf);
}

Test(config, limits_in_daemon)
{
	struct config		*conf = load_ok(
	    "[daemon]\n"
	    "max_per_source = 1000000\n"
	    "rate = 1000000\n"
	    "burst = 10000000\n"
	    "instance_rate = 1\n"
	    "instance_burst = 1\n"
	    "max_duration = 168h\n"
	    "write_timeout = 24h\n"
	    "max_bytes = 1024GiB\n"
	    "udp_max_amplification = 1000\n"
	    "udp_amplify_rate = 100000\n"
	    "udp_amplify_burst = 1000000\n"
	    "udp_protect = no\n"
	    "log_connections = close\n"
	    ECHO);
	const struct limits_conf *lim = &conf->daemon.lim;

	cr_assert(eq(uint, lim->max_per_source, 1000000));
	cr_assert(eq(uint, lim->rate, 1000000));
	cr_assert(eq(uint, lim->burst, 10000000));
	cr_assert(eq(uint, lim->instance_rate, 1));
	cr_assert(eq(uint, lim->instance_burst, 1));
	cr_assert(eq(u64, lim->max_duration_ms, 7 * 86400000ULL));
	cr_assert(eq(u64, lim->write_timeout_ms, 86400000));
	cr_assert(eq(u64, lim->max_bytes, 1ULL << 40));
	cr_assert(eq(uint, lim->udp_max_amplification, 1000));
	cr_assert(eq(uint, lim->udp_amplify_rate, 100000));
	cr_assert(eq(uint, lim->udp_amplify_burst, 1000000));
	cr_assert(eq(int, lim->udp_protect, 0));
	cr_assert(eq(int, lim->log_connections, LOG_CONN_CLOSE));
	/* The instance sets none of them: it has them all from [daemon]. */
	lim = &instance(conf, "echo")->lim;
	cr_assert(eq(uint, lim->max_per_source, 1000000));
	cr_assert(eq(uint, lim->rate, 1000000));
	cr_assert(eq(uint, lim->burst, 10000000));
	cr_assert(eq(uint, lim->instance_rate, 1));
	cr_assert(eq(uint, lim->instance_burst, 1));
	cr_assert(eq(u64, lim->max_duration_ms, 7 * 86400000ULL));
	cr_assert(eq(u64, lim->write_timeout_ms, 86400000));
	cr_assert(eq(u64, lim->max_bytes, 1ULL << 40));
	cr_assert(eq(uint, lim->udp_max_amplification, 1000));
	cr_assert(eq(uint, lim->udp_amplify_rate, 100000));
	cr_assert(eq(uint, lim->udp_amplify_burst, 1000000));
	cr_assert(eq(int, lim->udp_protect, 0));
	cr_assert(eq(int, lim->log_connections, LOG_CONN_CLOSE));
	config_unref(conf);
}

Test(config, limits_minimums)
{
	struct config		*conf = load_ok(
	    "[daemon]\n"
	    "max_per_source = 0\nrate = 0\nburst = 0\ninstance_rate = 0\n"
	    "instance_burst = 0\nmax_duration = 0\nwrite_timeout = 0\n"
	    "max_bytes = 0\nudp_max_amplification = 0\n"
	    "udp_amplify_rate = 0\nudp_amplify_burst = 0\n"
	    "udp_protect = yes\nlog_connections = off\n"
	    ECHO);
	const struct limits_conf *lim = &instance(conf, "echo")->lim;

	cr_assert(eq(u64, lim->write_timeout_ms, 0));
	cr_assert(eq(uint, lim->udp_max_amplification, 0));
	cr_assert(eq(uint, lim->udp_amplify_rate, 0));
	cr_assert(eq(uint, lim->udp_amplify_burst, 0));
	cr_assert(eq(int, lim->udp_protect, 1));
	cr_assert(eq(int, lim->log_connections, LOG_CONN_OFF));
	config_unref(conf);
}

Test(config, limits_override_and_inherit)
{
	/* [daemon] comes after the instances, which still inherit from it. */
	struct config		*conf = load_ok(
	    "[a]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:1\n"
	    "[b]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:2\n"
	    "max_per_source = 4\n"
	    "rate = 5\n"
	    "burst = 6\n"
	    "instance_rate = 70\n"
	    "instance_burst = 0\n"
	    "max_duration = 2m\n"
	    "write_timeout = 0\n"
	    "max_bytes = 1MiB\n"
	    "udp_max_amplification = 3\n"
	    "udp_amplify_rate = 0\n"
	    "udp_amplify_burst = 7\n"
	    "udp_protect = yes\n"
	    "log_connections = off\n"
	    "[daemon]\n"
	    "max_per_source = 32\n"
	    "rate = 50\n"
	    "burst = 100\n"
	    "instance_rate = 500\n"
	    "instance_burst = 1000\n"
	    "max_duration = 1h\n"
	    "write_timeout = 30s\n"
	    "max_bytes = 1GiB\n"
	    "udp_max_amplification = 2\n"
	    "udp_amplify_rate = 5\n"
	    "udp_amplify_burst = 9\n"
	    "udp_protect = no\n"
	    "log_connections = close\n");
	const struct limits_conf *a = &instance(conf, "a")->lim;
	const struct limits_conf *b = &instance(conf, "b")->lim;

	cr_assert(eq(uint, a->max_per_source, 32));
	cr_assert(eq(uint, a->rate, 50));
	cr_assert(eq(uint, a->burst, 100));
	cr_assert(eq(uint, a->instance_rate, 500));
	cr_assert(eq(uint, a->instance_burst, 1000));
	cr_assert(eq(u64, a->max_duration_ms, 3600000));
	cr_assert(eq(u64, a->write_timeout_ms, 30000));
	cr_assert(eq(u64, a->max_bytes, 1 << 30));
	cr_assert(eq(uint, a->udp_max_amplification, 2));
	cr_assert(eq(uint, a->udp_amplify_rate, 5));
	cr_assert(eq(uint, a->udp_amplify_burst, 9));
	cr_assert(eq(int, a->udp_protect, 0));
	cr_assert(eq(int, a->log_connections, LOG_CONN_CLOSE));

	cr_assert(eq(uint, b->max_per_source, 4));
	cr_assert(eq(uint, b->rate, 5));
	cr_assert(eq(uint, b->burst, 6));
	cr_assert(eq(uint, b->instance_rate, 70));
	cr_assert(eq(uint, b->instance_burst, 0), "0 overrides too");
	cr_assert(eq(u64, b->max_duration_ms, 120000));
	cr_assert(eq(u64, b->write_timeout_ms, 0));
	cr_assert(eq(u64, b->max_bytes, 1 << 20));
	cr_assert(eq(uint, b->udp_max_amplification, 3));
	cr_assert(eq(uint, b->udp_amplify_rate, 0));
	cr_assert(eq(uint, b->udp_amplify_burst, 7));
	cr_assert(eq(int, b->udp_protect, 1));
	cr_assert(eq(int, b->log_connections, LOG_CONN_OFF));
	config_unref(conf);
}

Test(config, burst_zero_or_above_rate)
{
	/* burst 0 means twice the rate; equal is enough. */
	struct config	*conf = load_ok("[daemon]\nrate = 100\nburst = 0\n"
	    "instance_rate = 10\ninstance_burst = 10\n"
	    ECHO "burst = 100\n"
	    "[two]\nservice = echo\nlisten = tcp://127.0.0.1:8\n"
	    "rate = 1\n");

	cr_assert(eq(uint, instance(conf, "echo")->lim.burst, 100));
	cr_assert(eq(uint, instance(conf, "two")->lim.rate, 1));
	cr_assert(eq(uint, instance(conf, "two")->lim.burst, 0));
	config_unref(conf);
}

Test(config, acl_allow_replaces_deny_adds)
{
	struct config		*conf = load_ok(
	    "[inherit]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:1\n"
	    "[own]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:2\n"
	    "allow = 127.0.0.0/8\n"
	    "deny = 127.0.0.2\n"
	    "[daemon]\n"
	    "allow = 192.0.2.0/24, 2001:db8::/32\n"
	    "deny = 192.0.2.128/25\n");
	struct instance_conf	*inh = instance(conf, "inherit");
	struct instance_conf	*own = instance(conf, "own");

	expect_acl(&conf->daemon.lim.allow, "192.0.2.0/24 2001:db8::/32");
	expect_acl(&conf->daemon.lim.deny, "192.0.2.128/25");
	/* allow: the daemon's list, as a copy the instance owns. */
	expect_acl(&inh->lim.allow, "192.0.2.0/24 2001:db8::/32");
	cr_assert(inh->lim.allow.v != conf->daemon.lim.allow.v, "a copy");
	/* deny: only the instance's own; the runtime adds [daemon]'s. */
	cr_assert(eq(sz, inh->lim.deny.n, 0));
	cr_assert(eq(ptr, inh->lim.deny.v, NULL));
	expect_acl(&own->lim.allow, "127.0.0.0/8");
	expect_acl(&own->lim.deny, "127.0.0.2");
	config_unref(conf);
}

/* A long list may take several lines: a repeated key adds to it. */
Test(config, acl_repeated_key_adds)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "allow = 192.0.2.0/24\n"
	    "deny = 192.0.2.7\n"
	    "allow = 2001:db8::/32\n"
	    ECHO
	    "allow = 10.0.0.0/8\n"
	    "deny = 10.1.0.0/16\n"
	    "allow = 172.16.0.0/12 ::1\n"
	    "deny = 10.2.0.0/16\n");

	expect_acl(&conf->daemon.lim.allow, "192.0.2.0/24 2001:db8::/32");
	expect_acl(&conf->daemon.lim.deny, "192.0.2.7");
	/* The instance's first allow replaces the inherited list. */
	expect_acl(&instance(conf, "echo")->lim.allow,
	    "10.0.0.0/8 172.16.0.0/12 ::1");
	expect_acl(&instance(conf, "echo")->lim.deny,
	    "10.1.0.0/16 10.2.0.0/16");
	config_unref(conf);
}

Test(config, acl_forms)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "deny =  ::ffff:10.0.0.0/104,\t2001:DB8:0::/48 ,, 198.51.100.7 ,\n"
	    ECHO
	    "allow = 0.0.0.0/0 ::/0 ::1 fe80::/10\n");
	const struct acl *deny = &conf->daemon.lim.deny;

	expect_acl(deny, "10.0.0.0/8 2001:db8::/48 198.51.100.7");
	cr_assert(eq(int, deny->v[0].family, AF_INET), "mapped is IPv4");
	expect_acl(&instance(conf, "echo")->lim.allow,
	    "0.0.0.0/0 ::/0 ::1 fe80::/10");
	config_unref(conf);
}

Test(config, metrics_endpoint_not_an_instance_clash)
{
	/* Port 0, another address, UDP or a disabled instance: no clash. */
	struct config	*conf = load_ok(
	    "[daemon]\nmetrics_listen = tcp://127.0.0.1:0\n"
	    "[a]\nservice = echo\nlisten = tcp://127.0.0.1:0\n"
	    "[b]\nservice = echo\nlisten = udp://127.0.0.1:9180 "
	    "tcp://127.0.0.2:9180 tcp://[::1]:9180\n");

	config_unref(conf);
	conf = load_ok("[daemon]\nmetrics_listen = tcp://127.0.0.1:9180\n"
	    "[off]\nservice = echo\nenabled = no\n"
	    "listen = tcp://127.0.0.1:9180\n" ECHO);
	cr_assert(eq(int, conf->daemon.metrics, 1));
	config_unref(conf);
}

/* ---- the -t listing ---- */

Test(config, print_limits)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "workers = auto\n"
	    "source_prefix6 = 56\n"
	    "metrics_listen = tcp://[0::1]:9180\n"
	    "rate = 50\n"
	    "burst = 100\n"
	    "max_duration = 3600s\n"
	    "max_bytes = 1048576\n"
	    "allow = ::ffff:192.0.2.0/120 10.0.0.0/8,::1\n"
	    "deny = 10.9.0.0/16\n"
	    "[e]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:7\n"
	    "rate = 0\n"
	    "log_connections = close\n"
	    "deny = 10.8.0.0/16\n"
	    "[d]\n"
	    "service = discard\n"
	    "listen = tcp://127.0.0.1:9\n"
	    "allow = 2001:db8::/32\n");
	char		*out = print_config(conf);

	expect_str(out,
	    "[daemon]\n"
	    "log_level = info\n"
	    "max_connections = 1024\n"
	    "backlog = 128\n"
	    "idle_timeout = 5m\n"
	    "shutdown_timeout = 5s\n"
	    "drain_delay = 0\n"
	    "buffer_limit = 64KiB\n"
	    "workers = auto\n"
	    "source_prefix4 = 32\n"
	    "source_prefix6 = 56\n"
	    "max_sources = 16384\n"
	    "metrics_listen = tcp://[::1]:9180\n"
	    "metrics_max_connections = 16\n"
	    "modules_strict = yes\n"
	    "max_per_source = 0\n"
	    "rate = 50\n"
	    "burst = 100\n"
	    "instance_rate = 0\n"
	    "instance_burst = 0\n"
	    "max_duration = 1h\n"
	    "write_timeout = 1m\n"
	    "max_bytes = 1MiB\n"
	    "udp_max_amplification = 1\n"
	    "udp_amplify_rate = 50\n"
	    "udp_amplify_burst = 200\n"
	    "udp_protect = yes\n"
	    "log_connections = off\n"
	    "allow = 192.0.2.0/24 10.0.0.0/8 ::1\n"
	    "deny = 10.9.0.0/16\n"
	    "\n"
	    "[e]\n"
	    "service = echo\n"
	    "enabled = yes\n"
	    "listen = tcp://127.0.0.1:7\n"
	    "backlog = 128\n"
	    "idle_timeout = 5m\n"
	    "max_connections = 0\n"
	    "buffer_limit = 64KiB\n"
	    "proxy_protocol = off\n"
	    "proxy_timeout = 3s\n"
	    "max_per_source = 0\n"
	    "rate = 0\n"
	    "burst = 100\n"
	    "instance_rate = 0\n"
	    "instance_burst = 0\n"
	    "max_duration = 1h\n"
	    "write_timeout = 1m\n"
	    "max_bytes = 1MiB\n"
	    "udp_max_amplification = 1\n"
	    "udp_amplify_rate = 50\n"
	    "udp_amplify_burst = 200\n"
	    "udp_protect = yes\n"
	    "log_connections = close\n"
	    "allow = 192.0.2.0/24 10.0.0.0/8 ::1\n"
	    "deny = 10.8.0.0/16\n"
	    "\n"
	    "[d]\n"
	    "service = discard\n"
	    "enabled = yes\n"
	    "listen = tcp://127.0.0.1:9\n"
	    "backlog = 128\n"
	    "idle_timeout = 5m\n"
	    "max_connections = 0\n"
	    "buffer_limit = 64KiB\n"
	    "proxy_protocol = off\n"
	    "proxy_timeout = 3s\n"
	    "max_per_source = 0\n"
	    "rate = 50\n"
	    "burst = 100\n"
	    "instance_rate = 0\n"
	    "instance_burst = 0\n"
	    "max_duration = 1h\n"
	    "write_timeout = 1m\n"
	    "max_bytes = 1MiB\n"
	    "udp_max_amplification = 1\n"
	    "udp_amplify_rate = 50\n"
	    "udp_amplify_burst = 200\n"
	    "udp_protect = yes\n"
	    "log_connections = off\n"
	    "allow = 2001:db8::/32\n"
	    "; discard: log_data=no\n");
	free(out);
	config_unref(conf);
}


Test(config, print_exact)
{
	struct config	*conf = load_ok(
	    "[daemon]\n"
	    "log_level = notice\n"
	    "user = nobody\n"
	    "buffer_limit = 131072\n"
	    "shutdown_timeout = 1500ms\n"
	    "drain_delay = 0\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:7, udp://[0::1]:7\n"
	    "max_connections = 10\n"
	    "idle_timeout = 120s\n"
	    "[gen]\n"
	    "service = chargen\n"
	    "enabled = no\n"
	    "listen = tcp://0.0.0.0:19\n"
	    "backlog = 16\n"
	    "buffer_limit = 1M\n");
	char		*out = print_config(conf);

	expect_str(out,
	    "[daemon]\n"
	    "log_level = notice\n"
	    "max_connections = 1024\n"
	    "backlog = 128\n"
	    "idle_timeout = 5m\n"
	    "shutdown_timeout = 1500ms\n"
	    "drain_delay = 0\n"
	    "buffer_limit = 128KiB\n"
	    "user = nobody\n"
	    "workers = 1\n"
	    "source_prefix4 = 32\n"
	    "source_prefix6 = 64\n"
	    "max_sources = 16384\n"
	    "metrics_max_connections = 16\n"
	    "modules_strict = yes\n"
	    LIMITS_DEFAULT
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "enabled = yes\n"
	    "listen = tcp://127.0.0.1:7 udp://[::1]:7\n"
	    "backlog = 128\n"
	    "idle_timeout = 2m\n"
	    "max_connections = 10\n"
	    "buffer_limit = 128KiB\n"
	    "proxy_protocol = off\n"
	    "proxy_timeout = 3s\n"
	    LIMITS_DEFAULT
	    "\n"
	    "[gen]\n"
	    "service = chargen\n"
	    "enabled = no\n"
	    "listen = tcp://0.0.0.0:19\n"
	    "backlog = 16\n"
	    "idle_timeout = 5m\n"
	    "max_connections = 0\n"
	    "buffer_limit = 1MiB\n"
	    "proxy_protocol = off\n"
	    "proxy_timeout = 3s\n"
	    LIMITS_DEFAULT);
	free(out);
	config_unref(conf);
}

Test(config, print_reloads_the_same)
{
	struct config	*conf = load_ok(
	    "[daemon]\nidle_timeout = 90000ms\nuser = nobody\n"
	    "group = daemon\n"
	    "[t]\nservice = time\nlisten = udp://[::]:37 tcp://[::]:37\n"
	    "max_connections = 5\n" ECHO);
	struct config	*again;
	char		*out = print_config(conf), *out2;

	again = load_ok(out);
	out2 = print_config(again);
	expect_str(out2, out);
	free(out);
	free(out2);
	config_unref(again);
	config_unref(conf);
}

Test(config, print_limits_reloads_the_same)
{
	struct config	*conf = load_ok(
	    "[e]\nservice = echo\nlisten = udp://[::]:7\n"
	    "deny = ::ffff:203.0.113.0/120\nudp_amplify_burst = 0\n"
	    "write_timeout = 90s\nlog_connections = close\n"
	    "[daemon]\nworkers = 4\nmetrics_listen = tcp://127.0.0.1:9180\n"
	    "allow = 0.0.0.0/0,::/0\ninstance_rate = 9\nmax_bytes = 3K\n"
	    "udp_protect = off\nmax_per_source = 2\n"
	    "[t]\nservice = time\nlisten = tcp://[::1]:37\n"
	    "allow = ::1 127.0.0.1\n");
	struct config	*again;
	char		*out = print_config(conf), *out2;

	again = load_ok(out);
	out2 = print_config(again);
	expect_str(out2, out);
	cr_assert(strstr(out, "\nworkers = 4\n") != NULL, "%s", out);
	cr_assert(strstr(out, "\ndeny = 203.0.113.0/24\n") != NULL, "%s",
	    out);
	expect_acl(&instance(again, "t")->lim.allow, "::1 127.0.0.1");
	expect_acl(&instance(again, "e")->lim.allow, "0.0.0.0/0 ::/0");
	free(out);
	free(out2);
	config_unref(again);
	config_unref(conf);
}

/* ---- errors: each kind, with its exact line ---- */

Test(errors, empty_config)
{
	expect_errors("", "t.ini:0: no service instances configured");
	expect_errors("; only a comment\n\n",
	    "t.ini:0: no service instances configured");
	expect_errors("[daemon]\nbacklog = 5\n",
	    "t.ini:0: no service instances configured");
}

Test(errors, daemon_keys)
{
	expect_errors("[daemon]\nlisten = tcp://127.0.0.1:1\n" ECHO,
	    "t.ini:2: unknown key 'listen' in [daemon]");
	expect_errors(ECHO "[daemon]\nlog_level = loud\n",
	    "t.ini:5: log_level: 'loud': unknown level (use debug, info, "
	    "notice, warning or err)");
	expect_errors("[daemon]\n\nmax_connections = 0\n" ECHO,
	    "t.ini:3: max_connections: '0' is out of range (1 to 1000000)");
	expect_errors("[daemon]\nmax_connections = 1000001\n" ECHO,
	    "t.ini:2: max_connections: '1000001' is out of range "
	    "(1 to 1000000)");
	expect_errors("[daemon]\nbacklog = 65536\n" ECHO,
	    "t.ini:2: backlog: '65536' is out of range (1 to 65535)");
	expect_errors("[daemon]\nbacklog = -1\n" ECHO,
	    "t.ini:2: backlog: '-1': not a number");
	expect_errors("[daemon]\nidle_timeout = 25h\n" ECHO,
	    "t.ini:2: idle_timeout: '25h' is out of range (0 to 24h)");
	expect_errors("[daemon]\nidle_timeout = 5 minutes\n" ECHO,
	    "t.ini:2: idle_timeout: '5 minutes': unknown unit (use ms, s, m "
	    "or h)");
	expect_errors("[daemon]\nshutdown_timeout = 61m\n" ECHO,
	    "t.ini:2: shutdown_timeout: '61m' is out of range (0 to 1h)");
	expect_errors("[daemon]\nbuffer_limit = 4095\n" ECHO,
	    "t.ini:2: buffer_limit: '4095' is out of range (4KiB to 64MiB)");
	expect_errors("[daemon]\nbuffer_limit = 65MiB\n" ECHO,
	    "t.ini:2: buffer_limit: '65MiB' is out of range (4KiB to 64MiB)");
	expect_errors("[daemon]\nbuffer_limit = 64kb\n" ECHO,
	    "t.ini:2: buffer_limit: '64kb': unknown unit (use K, KiB, M, "
	    "MiB, G or GiB)");
	expect_errors("[daemon]\nuser =\n" ECHO,
	    "t.ini:2: user: empty value");
	expect_errors("[daemon]\ngroup = ; nothing\n" ECHO,
	    "t.ini:2: group: empty value");
}

/*
 * user and group must exist, and group goes with user (issue 10 item 4):
 * a start as root would fail only after binding every port.
 */
Test(errors, user_and_group)
{
	expect_errors("[daemon]\nuser = netsvcd-no-such-user\n" ECHO,
	    "t.ini:2: user: 'netsvcd-no-such-user': no such user (create it, "
	    "or leave user unset)");
	expect_errors(ECHO "[daemon]\ngroup = nogroup\n",
	    "t.ini:5: group without user (the group is applied only when "
	    "switching to user)");
	expect_errors("[daemon]\nuser = nobody\n"
	    "group = netsvcd-no-such-group\n" ECHO,
	    "t.ini:3: group: 'netsvcd-no-such-group': no such group");
	/* An unknown user is the one error, not group's too. */
	expect_errors("[daemon]\ngroup = nogroup\nuser = netsvcd-nope\n"
	    ECHO,
	    "t.ini:3: user: 'netsvcd-nope': no such user (create it, or leave "
	    "user unset)");
	config_unref(load_ok("[daemon]\nuser = root\ngroup = root\n" ECHO));
}

Test(errors, daemon_only_keys)
{
	expect_errors("[daemon]\nworkers = 0\n" ECHO,
	    "t.ini:2: workers: '0' is out of range (1 to 256, or auto)");
	expect_errors("[daemon]\nworkers = 257\n" ECHO,
	    "t.ini:2: workers: '257' is out of range (1 to 256, or auto)");
	expect_errors(ECHO "[daemon]\nworkers = lots\n",
	    "t.ini:5: workers: 'lots': not a number (or auto)");
	expect_errors("[daemon]\nworkers = AUTO\n" ECHO,
	    "t.ini:2: workers: 'AUTO': not a number (or auto)");
	expect_errors("[daemon]\nsource_prefix4 = 7\n" ECHO,
	    "t.ini:2: source_prefix4: '7' is out of range (8 to 32)");
	expect_errors("[daemon]\nsource_prefix4 = 33\n" ECHO,
	    "t.ini:2: source_prefix4: '33' is out of range (8 to 32)");
	expect_errors("[daemon]\nsource_prefix6 = 15\n" ECHO,
	    "t.ini:2: source_prefix6: '15' is out of range (16 to 128)");
	expect_errors("[daemon]\nsource_prefix6 = 129\n" ECHO,
	    "t.ini:2: source_prefix6: '129' is out of range (16 to 128)");
	expect_errors("[daemon]\nmax_sources = 63\n" ECHO,
	    "t.ini:2: max_sources: '63' is out of range (64 to 1048576)");
	expect_errors("[daemon]\nmax_sources = 1048577\n" ECHO,
	    "t.ini:2: max_sources: '1048577' is out of range (64 to "
	    "1048576)");
	/* Per-instance use of a [daemon]-only key. */
	expect_errors(ECHO "workers = 2\nmetrics_listen = tcp://[::1]:1\n",
	    "t.ini:4: unknown key 'workers' for service 'echo'",
	    "t.ini:5: unknown key 'metrics_listen' for service 'echo'");
}

Test(errors, metrics_listen)
{
	expect_errors("[daemon]\nmetrics_listen = udp://127.0.0.1:9180\n" ECHO,
	    "t.ini:2: metrics_listen: 'udp://127.0.0.1:9180': served over "
	    "tcp:// only");
	expect_errors("[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:1 tcp://[::1]:1\n" ECHO,
	    "t.ini:2: metrics_listen: 'tcp://127.0.0.1:1 tcp://[::1]:1': one "
	    "endpoint only");
	expect_errors("[daemon]\nmetrics_listen = tcp://localhost:9180\n" ECHO,
	    "t.ini:2: metrics_listen: 'tcp://localhost:9180': bad IPv4 "
	    "address (numeric only, names are not resolved)");
	expect_errors("[daemon]\nmetrics_listen =\n" ECHO,
	    "t.ini:2: metrics_listen: '': unknown scheme (use tcp:// or "
	    "udp://)");
	expect_errors("[daemon]\nmetrics_listen = tcp://127.0.0.1:1\n"
	    "metrics_listen = tcp://127.0.0.1:2\n" ECHO,
	    "t.ini:3: duplicate key 'metrics_listen' (first at line 2)");
}

/*
 * Among many endpoints, a clash with the very first one and a wildcard
 * over a specific address far apart are still found (the check compares
 * only endpoints that share protocol, family and port).
 */
Test(errors, clashes_among_many_endpoints)
{
	char	*text, *p;
	size_t	 cap = 64 * 1024, off = 0;
	int	 i;

	text = malloc(cap);
	cr_assert(text != NULL, "out of memory");
	for (i = 0; i < 500; i++)
		off += (size_t)snprintf(text + off, cap - off, "[i%d]\n"
		    "service = echo\nlisten = tcp://127.0.0.1:%d "
		    "udp://127.0.0.1:%d\n", i, 20000 + i, 20000 + i);
	/* Lines 1501 to 1506. */
	snprintf(text + off, cap - off, "[late]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:20000\n[wild]\nservice = echo\n"
	    "listen = udp://0.0.0.0:20499\n");
	p = text;
	expect_errors(p,
	    "t.ini:1503: listen: 'tcp://127.0.0.1:20000' is already used by "
	    "[i0] (line 3)",
	    "t.ini:1506: listen: 'udp://0.0.0.0:20499' clashes with "
	    "'udp://127.0.0.1:20499' of [i499] (line 1500): a wildcard "
	    "address takes the port on every address of its family");
	free(text);
}

Test(errors, metrics_listen_used_by_an_instance)
{
	/* [daemon] first: reported at the instance's listen line. */
	expect_errors("[daemon]\nmetrics_listen = tcp://127.0.0.1:7\n" ECHO,
	    "t.ini:5: listen: 'tcp://127.0.0.1:7' is already used by "
	    "metrics_listen (line 2)");
	/* [daemon] last: reported at the metrics_listen line. */
	expect_errors(ECHO "\n[daemon]\nmetrics_listen = tcp://127.0.0.1:7\n",
	    "t.ini:6: metrics_listen: 'tcp://127.0.0.1:7' is already used by "
	    "[echo] (line 3)");
	expect_errors("[a]\nservice = echo\n"
	    "listen = tcp://[::1]:9180 udp://[::1]:9180\n"
	    "[daemon]\nmetrics_listen = tcp://[::1]:9180\n"
	    "[b]\nservice = discard\nlisten = tcp://[0::1]:9180\n",
	    "t.ini:5: metrics_listen: 'tcp://[::1]:9180' is already used by "
	    "[a] (line 3)",
	    "t.ini:8: listen: 'tcp://[::1]:9180' is already used by "
	    "metrics_listen (line 5)",
	    "t.ini:8: listen: 'tcp://[::1]:9180' is already used by [a] "
	    "(line 3)");
}

/*
 * Endpoints of one file that cannot all be bound (issue 10 item 5, issue
 * 16 item 12): a wildcard and a specific address of the same protocol,
 * family and port, in one instance or two, or against metrics_listen;
 * both lines are named.  tcp/udp and IPv4/IPv6 pairs are fine.
 */
Test(errors, wildcard_collisions)
{
	expect_errors("[a]\nservice = echo\nlisten = tcp://0.0.0.0:7\n"
	    "[b]\nservice = discard\nlisten = tcp://127.0.0.1:7\n",
	    "t.ini:6: listen: 'tcp://127.0.0.1:7' clashes with "
	    "'tcp://0.0.0.0:7' of [a] (line 3): a wildcard address takes the "
	    "port on every address of its family");
	expect_errors("[a]\nservice = echo\n"
	    "listen = udp://[::1]:7 tcp://[::]:8\nlisten = udp://[::]:7\n",
	    "t.ini:4: listen: 'udp://[::]:7' clashes with 'udp://[::1]:7' of "
	    "[a] (line 3): a wildcard address takes the port on every "
	    "address of its family");
	expect_errors("[daemon]\nmetrics_listen = tcp://127.0.0.1:9100\n"
	    "[a]\nservice = echo\nlisten = tcp://0.0.0.0:9100\n",
	    "t.ini:5: listen: 'tcp://0.0.0.0:9100' clashes with metrics_listen "
	    "'tcp://127.0.0.1:9100' (line 2): a wildcard address takes the "
	    "port on every address of its family");
	expect_errors("[a]\nservice = echo\nlisten = tcp://[::]:9100\n"
	    "[daemon]\nmetrics_listen = tcp://[::1]:9100\n",
	    "t.ini:5: metrics_listen: 'tcp://[::1]:9100' clashes with "
	    "'tcp://[::]:9100' of [a] (line 3): a wildcard address takes the "
	    "port on every address of its family");
	/* Not clashes: other protocol, family, port 0, a disabled one. */
	config_unref(load_ok("[daemon]\nmetrics_listen = tcp://[::1]:7\n"
	    "[a]\nservice = echo\n"
	    "listen = tcp://0.0.0.0:7 udp://127.0.0.1:7 tcp://127.0.0.1:0\n"
	    "listen = tcp://[::1]:8 udp://[::]:7 tcp://0.0.0.0:0\n"
	    "[b]\nservice = echo\nenabled = no\nlisten = tcp://[::]:7\n"));
}

Test(errors, limits_ranges)
{
	expect_errors("[daemon]\nmax_per_source = 1000001\n" ECHO,
	    "t.ini:2: max_per_source: '1000001' is out of range (0 to "
	    "1000000)");
	expect_errors("[daemon]\nrate = 1000001\n" ECHO,
	    "t.ini:2: rate: '1000001' is out of range (0 to 1000000)");
	expect_errors("[daemon]\nburst = 10000001\n" ECHO,
	    "t.ini:2: burst: '10000001' is out of range (0 to 10000000)");
	expect_errors(ECHO "instance_rate = 1000001\n",
	    "t.ini:4: instance_rate: '1000001' is out of range (0 to "
	    "1000000)");
	expect_errors(ECHO "instance_burst = 10000001\n",
	    "t.ini:4: instance_burst: '10000001' is out of range (0 to "
	    "10000000)");
	expect_errors(ECHO "max_duration = 169h\n",
	    "t.ini:4: max_duration: '169h' is out of range (0 to 168h)");
	expect_errors(ECHO "write_timeout = 1441m\n",
	    "t.ini:4: write_timeout: '1441m' is out of range (0 to 24h)");
	expect_errors(ECHO "max_bytes = 1025G\n",
	    "t.ini:4: max_bytes: '1025G' is out of range (0 to 1024GiB)");
	expect_errors(ECHO "max_bytes = 1TiB\n",
	    "t.ini:4: max_bytes: '1TiB': unknown unit (use K, KiB, M, MiB, G "
	    "or GiB)");
	expect_errors(ECHO "udp_max_amplification = 1001\n",
	    "t.ini:4: udp_max_amplification: '1001' is out of range (0 to "
	    "1000)");
	expect_errors(ECHO "udp_amplify_rate = 100001\n",
	    "t.ini:4: udp_amplify_rate: '100001' is out of range (0 to "
	    "100000)");
	expect_errors(ECHO "udp_amplify_burst = 1000001\n",
	    "t.ini:4: udp_amplify_burst: '1000001' is out of range (0 to "
	    "1000000)");
	expect_errors(ECHO "udp_protect = sometimes\n",
	    "t.ini:4: udp_protect: 'sometimes': not a boolean (use yes or "
	    "no)");
	expect_errors(ECHO "log_connections = on\n",
	    "t.ini:4: log_connections: 'on': use off or close");
	expect_errors("[daemon]\nlog_connections = Close\n" ECHO,
	    "t.ini:2: log_connections: 'Close': use off or close");
	expect_errors(ECHO "rate = -1\n",
	    "t.ini:4: rate: '-1': not a number");
}

Test(errors, burst_below_rate)
{
	expect_errors("[daemon]\nrate = 100\nburst = 99\n" ECHO,
	    "t.ini:3: burst must be at least rate (burst = 99, rate = 100; "
	    "0 means twice the rate)");
	/* Reported once, in [daemon], not again for each instance. */
	expect_errors("[daemon]\nburst = 10\n" ECHO "[daemon]\nrate = 20\n"
	    "[e2]\nservice = echo\nlisten = tcp://127.0.0.1:8\n",
	    "t.ini:2: burst must be at least rate (burst = 10, rate = 20; "
	    "0 means twice the rate)",
	    "t.ini:6: duplicate section [daemon] (first at line 1)");
	/* An instance's own rate against the inherited burst. */
	expect_errors("[daemon]\nrate = 50\nburst = 100\n" ECHO
	    "rate = 200\n",
	    "t.ini:7: burst must be at least rate (burst = 100, rate = 200; "
	    "0 means twice the rate)");
	/* An instance's own burst against the inherited rate. */
	expect_errors(ECHO "burst = 5\n\n[daemon]\nrate = 6\n",
	    "t.ini:4: burst must be at least rate (burst = 5, rate = 6; "
	    "0 means twice the rate)");
	expect_errors(ECHO "instance_rate = 1000\ninstance_burst = 999\n",
	    "t.ini:5: instance_burst must be at least instance_rate "
	    "(instance_burst = 999, instance_rate = 1000; 0 means twice the "
	    "rate)");
}

Test(errors, acl)
{
	expect_errors("[daemon]\nallow = 10.0.0.1/8\n" ECHO,
	    "t.ini:2: allow: '10.0.0.1/8': host bits set (the address must "
	    "be the first of its prefix)");
	expect_errors(ECHO "deny = 192.0.2.0/24 bogus 2001:db8::/129 "
	    "::ffff:192.0.2.0/120\n",
	    "t.ini:4: deny: 'bogus': bad IPv4 address (numeric only, names "
	    "are not resolved)",
	    "t.ini:4: deny: '2001:db8::/129': prefix length out of range "
	    "(0-128)",
	    "t.ini:4: deny: '192.0.2.0/24' is listed twice");
	expect_errors(ECHO "allow = [::1]\n",
	    "t.ini:4: allow: '[::1]': bad IPv6 address");
	expect_errors(ECHO "allow = fe80::1%lo\n",
	    "t.ini:4: allow: 'fe80::1%lo': IPv6 scope ids are not supported");
	expect_errors(ECHO "allow = 10.0.0.0/33\n",
	    "t.ini:4: allow: '10.0.0.0/33': prefix length out of range "
	    "(0-32)");
	expect_errors(ECHO "allow = 10.0.0.0/\n",
	    "t.ini:4: allow: '10.0.0.0/': missing prefix length after '/'");
	expect_errors("[daemon]\ndeny = , ,\n" ECHO,
	    "t.ini:2: deny: no prefixes (0.0.0.0/0 and ::/0 are every "
	    "address)");
	expect_errors(ECHO "allow =\n",
	    "t.ini:4: allow: no prefixes (0.0.0.0/0 and ::/0 are every "
	    "address)");
	expect_errors(ECHO "allow = 2001:0db8:0000:0000:0000:0000:0000:0000:"
	    "0000:0000:0000:0000:0000/128\n",
	    "t.ini:4: allow: '2001:0db8:0000:0000:0000:0000:0000:0000:0000:"
	    "0000:0000:0000:0000/128': too long");
	/* A repeated allow adds; a prefix is still listed only once. */
	expect_errors(ECHO "allow = 10.0.0.0/8\nallow = 192.0.2.0/24 "
	    "10.0.0.0/8\n",
	    "t.ini:5: allow: '10.0.0.0/8' is listed twice");
	expect_errors(ECHO "deny = 10.0.0.0/8\ndeny =\n",
	    "t.ini:5: deny: no prefixes (0.0.0.0/0 and ::/0 are every "
	    "address)");
	/* Other keys stay one line each. */
	expect_errors(ECHO "rate = 5\nrate = 6\n",
	    "t.ini:5: duplicate key 'rate' (first at line 4)");
}

Test(errors, instance_keys)
{
	expect_errors(ECHO "backlog = 0\n",
	    "t.ini:4: backlog: '0' is out of range (1 to 65535)");
	expect_errors(ECHO "idle_timeout = 1d\n",
	    "t.ini:4: idle_timeout: '1d': unknown unit (use ms, s, m or h)");
	expect_errors(ECHO "max_connections = 1000001\n",
	    "t.ini:4: max_connections: '1000001' is out of range "
	    "(0 to 1000000)");
	expect_errors(ECHO "buffer_limit = 1K\n",
	    "t.ini:4: buffer_limit: '1K' is out of range (4KiB to 64MiB)");
	expect_errors(ECHO "enabled = maybe\n",
	    "t.ini:4: enabled: 'maybe': not a boolean (use yes or no)");
	expect_errors(ECHO "enabled =\n",
	    "t.ini:4: enabled: '': not a boolean (use yes or no)");
}

Test(errors, service_key)
{
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "colour = red\n",
	    "t.ini:4: unknown key 'colour' for service 'echo'");
	expect_errors("[d]\ncolour = red\nservice = discard\n"
	    "listen = tcp://127.0.0.1:9\n",
	    "t.ini:2: unknown key 'colour' for service 'discard'");
	expect_errors("[d]\nservice = discard\nlisten = tcp://127.0.0.1:9\n"
	    "log_data = loud\n",
	    "t.ini:4: log_data: \"loud\" is not yes or no");
}

Test(errors, service_missing_or_unknown)
{
	expect_errors("\n[e]\nlisten = tcp://127.0.0.1:7\n",
	    "t.ini:2: [e]: no 'service' key");
	expect_errors("[e]\nlisten = tcp://127.0.0.1:7\nservice = ech0\n",
	    "t.ini:3: service: unknown service 'ech0' (known: echo, discard, "
	    "chargen, daytime, time, qotd, banner, exec)");
	/* Without a service, its keys cannot be judged: no more errors. */
	expect_errors("[e]\nlisten = tcp://127.0.0.1:7\nmessage = hi\n",
	    "t.ini:1: [e]: no 'service' key");
	expect_errors("[e]\nservice =\nlisten = tcp://127.0.0.1:7\n",
	    "t.ini:2: service: unknown service '' (known: echo, discard, "
	    "chargen, daytime, time, qotd, banner, exec)");
}

Test(errors, listen)
{
	expect_errors("[e]\nservice = echo\n",
	    "t.ini:1: [e]: no 'listen' key");
	expect_errors("[e]\nservice = echo\nlisten =\n",
	    "t.ini:3: listen: no endpoints");
	expect_errors("[e]\nservice = echo\nlisten = , ,\n",
	    "t.ini:3: listen: no endpoints");
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1\n",
	    "t.ini:3: listen: 'tcp://127.0.0.1': missing port");
	expect_errors("[e]\nservice = echo\n"
	    "listen = tcp://localhost:7 tcp://[::1]:7 udp://::1:7\n",
	    "t.ini:3: listen: 'tcp://localhost:7': bad IPv4 address (numeric "
	    "only, names are not resolved)",
	    "t.ini:3: listen: 'udp://::1:7': an IPv6 address needs brackets: "
	    "[::1]");
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:65536\n",
	    "t.ini:3: listen: 'tcp://127.0.0.1:65536': port out of range "
	    "(0-65535)");
	expect_errors("[e]\nservice = echo\nlisten = http://127.0.0.1:80\n",
	    "t.ini:3: listen: 'http://127.0.0.1:80': unknown scheme (use "
	    "tcp:// or udp://)");
}

/* IPv4-mapped addresses cannot be bound (IPV6_V6ONLY): the IPv4 form. */
Test(errors, ipv4_mapped_endpoint)
{
	expect_errors("[e]\nservice = echo\n"
	    "listen = tcp://[::ffff:127.0.0.1]:7 udp://[::FFFF:10.0.0.1]:0\n",
	    "t.ini:3: listen: 'tcp://[::ffff:127.0.0.1]:7': an IPv4-mapped "
	    "address cannot be bound (IPv6 sockets are IPv6-only): use "
	    "tcp://127.0.0.1:7",
	    "t.ini:3: listen: 'udp://[::ffff:10.0.0.1]:0': an IPv4-mapped "
	    "address cannot be bound (IPv6 sockets are IPv6-only): use "
	    "udp://10.0.0.1:0");
	expect_errors("[daemon]\nmetrics_listen = tcp://[::ffff:127.0.0.1]:9\n"
	    ECHO,
	    "t.ini:2: metrics_listen: 'tcp://[::ffff:127.0.0.1]:9': an "
	    "IPv4-mapped address cannot be bound (IPv6 sockets are "
	    "IPv6-only): use tcp://127.0.0.1:9");
}

/*
 * listen may repeat, each line adding endpoints, so that an instance can
 * hold more IPv6 endpoints than one 199-byte line (issue 10 item 11);
 * errors name the line of the endpoint, and -T wraps long lists.
 */
Test(config, listen_repeats)
{
	struct config		*conf;
	struct instance_conf	*ic;
	char			 text[4096], *out;
	const char		*p, *nl;
	size_t			 off, i;

	off = (size_t)snprintf(text, sizeof(text), "[e]\nservice = echo\n");
	for (i = 0; i < 12; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "listen = tcp://[2001:db8:1234:5678:9abc:def0:1234:%zx]:7 "
		    "udp://[2001:db8:1234:5678:9abc:def0:1234:%zx]:7\n", i, i);
	conf = load_ok(text);
	ic = instance(conf, "e");
	cr_assert(eq(sz, ic->nendpoints, 24));
	cr_assert(eq(int, ic->endpoints[0].line, 3));
	cr_assert(eq(int, ic->endpoints[23].line, 14));
	/* -T: no line over 199 bytes, and it loads to the same list. */
	out = print_config(conf);
	for (p = out; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		cr_assert(nl - p <= 199, "-T line of %d bytes: %.*s",
		    (int)(nl - p), (int)(nl - p), p);
	config_unref(conf);
	conf = load_ok(out);
	ic = instance(conf, "e");
	cr_assert(eq(sz, ic->nendpoints, 24));
	config_unref(conf);
	free(out);

	expect_errors("[e]\nservice = daytime\nlisten = tcp://127.0.0.1:1\n"
	    "listen =\nlisten = tcp://127.0.0.1:2 udp://127.0.0.1:1\n"
	    "listen = tcp://127.0.0.1:1\n",
	    "t.ini:4: listen: no endpoints",
	    "t.ini:6: listen: 'tcp://127.0.0.1:1' is listed twice");
	expect_errors("[e]\nservice = discard\nlisten = tcp://127.0.0.1:1\n"
	    "[f]\nservice = echo\nlisten = tcp://127.0.0.1:2\n"
	    "listen = tcp://127.0.0.1:1\n",
	    "t.ini:7: listen: 'tcp://127.0.0.1:1' is already used by [e] "
	    "(line 3)");
}

/* A line too long for inih: the hint fits the key; comments are fine. */
Test(errors, long_line_hints)
{
	char	*text;

	cr_assert(asprintf(&text, "[e]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:1 %0200d\n"
	    "allow = 127.0.0.1 %0200d\n"
	    "# %0300d\n"
	    "   ; %0300d\n"
	    "backlog = %0200d\n"
	    "message = %0200d\n", 0, 0, 0, 0, 0, 0) != -1);
	expect_errors(text,
	    "t.ini:3: line longer than 199 bytes (repeat the key: each "
	    "'listen =' line adds to the list)",
	    "t.ini:4: line longer than 199 bytes (repeat the key: each "
	    "'allow =' line adds to the list)",
	    "t.ini:7: line longer than 199 bytes",
	    "t.ini:8: line longer than 199 bytes (use message_file)");
	free(text);
}

Test(errors, duplicate_endpoints)
{
	/* Within one instance, whatever the spelling. */
	expect_errors("[e]\nservice = echo\n"
	    "listen = tcp://[::1]:7 tcp://[0:0::1]:7\n",
	    "t.ini:3: listen: 'tcp://[::1]:7' is listed twice");
	/* Within a disabled one too. */
	expect_errors("[e]\nservice = echo\nenabled = no\n"
	    "listen = udp://127.0.0.1:7,udp://127.0.0.1:7\n",
	    "t.ini:4: listen: 'udp://127.0.0.1:7' is listed twice");
	/* Across enabled instances: reported where the second one is. */
	expect_errors(ECHO "\n[echo2]\nservice = discard\n"
	    "listen = udp://127.0.0.1:7 tcp://127.0.0.1:7\n",
	    "t.ini:7: listen: 'tcp://127.0.0.1:7' is already used by [echo] "
	    "(line 3)");
	expect_errors(ECHO "[x]\nenabled = no\nservice = echo\n"
	    "listen = tcp://127.0.0.1:7\n"
	    "[y]\nservice = echo\nlisten = tcp://127.0.0.1:7\n",
	    "t.ini:10: listen: 'tcp://127.0.0.1:7' is already used by [echo] "
	    "(line 3)");
}

Test(errors, duplicates)
{
	expect_errors(ECHO "[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:8\n",
	    "t.ini:4: duplicate section [echo] (first at line 1)");
	expect_errors(ECHO "service = echo\n",
	    "t.ini:4: duplicate key 'service' (first at line 2)");
	expect_errors("[b]\nservice = banner\nmessage = a\n"
	    "listen = tcp://127.0.0.1:1\nmessage = b\n",
	    "t.ini:5: duplicate key 'message' (first at line 3)");
	expect_errors("[daemon]\nbacklog = 1\n" ECHO "[daemon]\nbacklog = 2\n",
	    "t.ini:6: duplicate section [daemon] (first at line 1)",
	    "t.ini:7: duplicate key 'backlog' (first at line 2)");
}

Test(errors, service_check)
{
	/* conf_check's errors carry the line of the section header. */
	expect_errors(ECHO "\n[b]\nservice = banner\n"
	    "listen = tcp://127.0.0.1:1\n",
	    "t.ini:5: [b]: banner needs message or message_file");
	expect_errors("[q]\nservice = qotd\nlisten = tcp://127.0.0.1:17\n"
	    "quotes_file = /nonexistent/quotes.txt\n",
	    "t.ini:1: [q]: /nonexistent/quotes.txt: No such file or "
	    "directory");
	expect_errors("[b]\nservice = banner\nlisten = tcp://127.0.0.1:1\n"
	    "message_file = no-such-file.txt\n",
	    "t.ini:1: [b]: ./no-such-file.txt: No such file or directory");
	/* A failed key: conf_check is not asked, so no second error. */
	expect_errors("[b]\nservice = banner\nlisten = tcp://127.0.0.1:1\n"
	    "message =\n",
	    "t.ini:4: message is empty");
}

Test(errors, disabled_still_validated)
{
	expect_errors(ECHO "[off]\nservice = echo\nenabled = no\n"
	    "listen = tcp://127.0.0.1:8\nbacklog = 0\n",
	    "t.ini:8: backlog: '0' is out of range (1 to 65535)");
	expect_errors(ECHO "[off]\nservice = banner\nenabled = no\n"
	    "listen = tcp://127.0.0.1:8\n",
	    "t.ini:4: [off]: banner needs message or message_file");
}

Test(errors, syntax)
{
	expect_errors(ECHO "garbage\n",
	    "t.ini:4: expected '[section]', 'key = value' or a comment");
	expect_errors(ECHO "listen: tcp://127.0.0.1:8\n",
	    "t.ini:4: expected '[section]', 'key = value' or a comment");
	expect_errors(ECHO "x ;= y\n",
	    "t.ini:4: expected '[section]', 'key = value' or a comment");
	expect_errors(ECHO "= value\n",
	    "t.ini:4: missing key name before '='");
	expect_errors(ECHO "  backlog = 5\n",
	    "t.ini:4: line starts with whitespace (continuation lines are "
	    "not supported)");
	expect_errors("listen = tcp://127.0.0.1:8\n" ECHO,
	    "t.ini:1: key 'listen' outside of any section");
	expect_errors(ECHO "[x\nservice = echo\n",
	    "t.ini:4: section header without ']'");
	expect_errors(ECHO "[x] y\nservice = echo\n",
	    "t.ini:4: text after the section header");
	expect_errors(ECHO "[]\nservice = echo\n",
	    "t.ini:4: bad section name '' (1 to 64 letters, digits, '_', '.' "
	    "or '-')");
	expect_errors(ECHO "[my echo]\nservice = echo\n",
	    "t.ini:4: bad section name 'my echo' (1 to 64 letters, digits, "
	    "'_', '.' or '-')");
	expect_errors(ECHO "[e/1]\n",
	    "t.ini:4: bad section name 'e/1' (1 to 64 letters, digits, '_', "
	    "'.' or '-')");
	expect_errors(ECHO "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaa]\n",
	    "t.ini:4: bad section name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaa' (1 to 64 letters, digits, '_', '.' "
	    "or '-')");
}

/*
 * The first error is the cause (issue 10 item 10): a misspelt [daemon],
 * an indented line, an inline "# comment" (accepted as a comment).
 */
Test(errors, cause_first)
{
	expect_errors("[deamon]\nlog_level = debug\n" ECHO,
	    "t.ini:1: unknown section [deamon] without a service: did you mean "
	    "[daemon]?");
	expect_errors(ECHO "[Daemon]\nlog_level = debug\n",
	    "t.ini:4: unknown section [Daemon] without a service: did you mean "
	    "[daemon]?");
	expect_errors(ECHO "[daemons]\n[demon]\n[dae_mon]\n",
	    "t.ini:4: unknown section [daemons] without a service: did you "
	    "mean [daemon]?",
	    "t.ini:5: unknown section [demon] without a service: did you mean "
	    "[daemon]?",
	    "t.ini:6: unknown section [dae_mon] without a service: did you "
	    "mean [daemon]?");
	/* Far from it, or with a service: an instance as before. */
	expect_errors("[demo]\nservice = echo\nlisten = tcp://127.0.0.1:8\n"
	    "[monday]\nlisten = tcp://127.0.0.1:9\n",
	    "t.ini:4: [monday]: no 'service' key");
	/* An indented key is the one error: it is kept, no cascade. */
	expect_errors("[e]\n  service = echo\n\tlisten = tcp://127.0.0.1:7\n",
	    "t.ini:2: line starts with whitespace (continuation lines are "
	    "not supported)",
	    "t.ini:3: line starts with whitespace (continuation lines are "
	    "not supported)");
	/* An indented header too: the section opens, nothing cascades. */
	expect_errors("[a]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "  [b]\nservice = echo\nlisten = tcp://127.0.0.1:8\n",
	    "t.ini:4: line starts with whitespace (continuation lines are "
	    "not supported)");
	/* A bad line in a section: not also what the section then lacks. */
	expect_errors("[e]\nservice: echo\nlisten = tcp://127.0.0.1:7\n",
	    "t.ini:2: expected '[section]', 'key = value' or a comment");
	/* " #" starts a comment, as " ;" does. */
	config_unref(load_ok("[daemon]\nbacklog = 5 # five\n"
	    "[e]\nservice = echo # the echo\n"
	    "listen = tcp://127.0.0.1:7 tcp://[::1]:7\t# both families\n"));
}

Test(errors, continuation_line)
{
	/* inih would append "world" to message: we refuse the line. */
	expect_errors("[b]\nservice = banner\nlisten = tcp://127.0.0.1:1\n"
	    "message = hello\n  world\n",
	    "t.ini:5: line starts with whitespace (continuation lines are "
	    "not supported)");
}

Test(errors, long_line_keeps_line_numbers)
{
	char	*text;

	cr_assert(asprintf(&text, "[b]\nservice = banner\nmessage = %0200d\n"
	    "listen = tcp://127.0.0.1:1\nbogus\n[c]\nservice = nope\n", 0)
	    != -1);
	/* Not "[b]: banner needs message": the cause is the long line. */
	expect_errors(text,
	    "t.ini:3: line longer than 199 bytes (use message_file)",
	    "t.ini:5: expected '[section]', 'key = value' or a comment",
	    "t.ini:6: [c]: no 'listen' key",
	    "t.ini:7: service: unknown service 'nope' (known: echo, discard, "
	    "chargen, daytime, time, qotd, banner, exec)");
	free(text);
}

Test(errors, longest_line_accepted)
{
	char		*text;
	struct config	*conf;

	/* "message = " is 10 bytes: 189 more make exactly 199. */
	cr_assert(asprintf(&text, "[b]\nservice = banner\nmessage = %0189d\n"
	    "listen = tcp://127.0.0.1:1\n", 0) != -1);
	conf = load_ok(text);
	config_unref(conf);
	free(text);
	/* A "\r\n" ending is not part of the line. */
	cr_assert(asprintf(&text, "[b]\r\nservice = banner\r\n"
	    "message = %0189d\r\nlisten = tcp://127.0.0.1:1\r\n", 0) != -1);
	conf = load_ok(text);
	config_unref(conf);
	free(text);
	cr_assert(asprintf(&text, "[b]\nservice = banner\nmessage = %0190d\n"
	    "listen = tcp://127.0.0.1:1\n", 0) != -1);
	expect_errors(text,
	    "t.ini:3: line longer than 199 bytes (use message_file)");
	free(text);
}

Test(errors, all_reported_in_file_order)
{
	expect_errors(
	    "[daemon]\n"				/* 1 */
	    "bogus = 1\n"				/* 2 */
	    "backlog = 0\n"				/* 3 */
	    "[echo]\n"					/* 4 */
	    "listen = tcp://127.0.0.1:7 udp://x:7\n"	/* 5 */
	    "enabled = maybe\n"				/* 6 */
	    "colour = red\n"				/* 7 */
	    "service = echo\n"				/* 8 */
	    "garbage\n"					/* 9 */
	    "[two]\n"					/* 10 */
	    "service = discard\n"			/* 11 */
	    "listen = tcp://127.0.0.1:7\n"		/* 12 */
	    "listen = tcp://127.0.0.1:7\n"		/* 13 */
	    "[b]\n"					/* 14 */
	    "service = banner\n"			/* 15 */
	    "listen = tcp://127.0.0.1:9\n"		/* 16 */
	    "[echo]\n"					/* 17 */
	    "[bad name]\n"				/* 18 */
	    "ignored = 1\n",				/* 19 */
	    "t.ini:2: unknown key 'bogus' in [daemon]",
	    "t.ini:3: backlog: '0' is out of range (1 to 65535)",
	    "t.ini:5: listen: 'udp://x:7': bad IPv4 address (numeric only, "
	    "names are not resolved)",
	    "t.ini:6: enabled: 'maybe': not a boolean (use yes or no)",
	    "t.ini:7: unknown key 'colour' for service 'echo'",
	    "t.ini:9: expected '[section]', 'key = value' or a comment",
	    "t.ini:12: listen: 'tcp://127.0.0.1:7' is already used by [echo] "
	    "(line 5)",
	    "t.ini:13: listen: 'tcp://127.0.0.1:7' is listed twice",
	    "t.ini:14: [b]: banner needs message or message_file",
	    "t.ini:17: duplicate section [echo] (first at line 4)",
	    "t.ini:17: [echo]: no 'service' key",
	    "t.ini:17: [echo]: no 'listen' key",
	    "t.ini:18: bad section name 'bad name' (1 to 64 letters, digits, "
	    "'_', '.' or '-')");
}

Test(errors, null_errs_allowed)
{
	cr_assert(config_load_string("garbage", "t.ini", NULL) == NULL);
	cr_assert(config_load("/nonexistent/netsvcd.ini", NULL) == NULL);
}

/* ---- files ---- */

Test(file, good)
{
	struct config_errors	 errs;
	struct config		*conf;
	struct instance_conf	*ic;
	char			*path = data_path("good.ini");
	char			*dir = data_path(""), *real, *out, *want;

	conf = config_load(path, &errs);
	cr_assert(conf != NULL, "%s", errs.count > 0 ? errs.msg[0] : "?");
	cr_assert(eq(sz, errs.count, 0));
	expect_str(conf->path, path);
	real = realpath(dir, NULL);
	cr_assert(real != NULL);
	expect_str(conf->dir, real);
	cr_assert(eq(uint, conf->daemon.backlog, 64));
	ic = instance(conf, "greeting");
	cr_assert(eq(uint, ic->backlog, 64), "[daemon] comes last");
	cr_assert(eq(int, ic->line, 9));
	/* message_file is relative: it is taken from the config's dir. */
	out = print_config(conf);
	cr_assert(asprintf(&want, "; banner: message_file=%s/greeting.txt "
	    "(20 bytes)\n", real) != -1);
	cr_assert(strstr(out, want) != NULL, "want %s in:\n%s", want, out);
	cr_assert(eq(int, instance(conf, "spare")->enabled, 0));
	free(want);
	free(out);
	free(real);
	free(dir);
	free(path);
	config_unref(conf);
}

Test(file, limits)
{
	struct config_errors	 errs;
	struct config		*conf;
	struct instance_conf	*ic;
	char			*path = data_path("limits.ini");

	conf = config_load(path, &errs);
	cr_assert(conf != NULL, "%s", errs.count > 0 ? errs.msg[0] : "?");
	cr_assert(eq(uint, conf->daemon.workers, 0));
	cr_assert(eq(int, conf->daemon.metrics, 1));
	expect_str(conf->daemon.metrics_listen.text, "tcp://127.0.0.1:0");
	expect_acl(&conf->daemon.lim.deny, "192.0.2.0/24 2001:db8::/32");
	ic = instance(conf, "open");
	cr_assert(eq(uint, ic->lim.rate, 50), "[daemon] comes last");
	cr_assert(eq(uint, ic->lim.max_per_source, 32));
	expect_acl(&ic->lim.allow, "127.0.0.0/8 ::1");
	cr_assert(eq(sz, ic->lim.deny.n, 0));
	ic = instance(conf, "local");
	cr_assert(eq(uint, ic->lim.rate, 0));
	cr_assert(eq(uint, ic->lim.max_per_source, 32));
	cr_assert(eq(u64, ic->lim.max_duration_ms, 3600000));
	expect_acl(&ic->lim.allow, "127.0.0.1");
	expect_acl(&ic->lim.deny, "127.0.0.2");
	cr_assert(eq(int, ic->lim.udp_protect, 0));
	free(path);
	config_unref(conf);
}

Test(file, missing)
{
	struct config_errors	 errs;

	cr_assert(config_load("/nonexistent/netsvcd.ini", &errs) == NULL);
	cr_assert(eq(sz, errs.count, 1));
	expect_str(errs.msg[0], "/nonexistent/netsvcd.ini:0: cannot open: "
	    "No such file or directory");
	config_errors_free(&errs);
}

Test(file, directory)
{
	struct config_errors	 errs;
	char			*path = data_path(""), *want;

	cr_assert(config_load(path, &errs) == NULL);
	cr_assert(eq(sz, errs.count, 1));
	cr_assert(asprintf(&want, "%s:0: not a regular file (a directory)",
	    path) != -1);
	expect_str(errs.msg[0], want);
	free(want);
	free(path);
	config_errors_free(&errs);
}

/* A FIFO at the path fails at once: opened without blocking, refused. */
Test(file, fifo, .timeout = 10)
{
	struct config_errors	 errs;
	char			 dir[] = "/tmp/netsvcd-test-XXXXXX", *path, *want;

	cr_assert(mkdtemp(dir) != NULL);
	cr_assert(asprintf(&path, "%s/netsvcd.ini", dir) != -1);
	cr_assert(mkfifo(path, 0600) == 0);
	cr_assert(config_load(path, &errs) == NULL);
	cr_assert(eq(sz, errs.count, 1));
	cr_assert(asprintf(&want, "%s:0: not a regular file (a FIFO)",
	    path) != -1);
	expect_str(errs.msg[0], want);
	config_errors_free(&errs);
	unlink(path);
	rmdir(dir);
	free(want);
	free(path);
}

Test(file, long_line)
{
	struct config_errors	 errs;
	char			*path = data_path("long-line.ini"), *want;

	/* Line 3, a comment too long for inih, is skipped whole. */
	cr_assert(config_load(path, &errs) == NULL);
	cr_assert(eq(sz, errs.count, 1));
	cr_assert(asprintf(&want, "%s:5: expected '[section]', "
	    "'key = value' or a comment", path) != -1);
	expect_str(errs.msg[0], want);
	free(want);
	free(path);
	config_errors_free(&errs);
}

Test(file, nul_byte)
{
	struct config_errors	 errs;
	char			 path[] = "/tmp/netsvcd-test-XXXXXX", *want;
	static const char	 text[] = "[e]\nservice = echo\nx = a\0b\n"
	    "listen = tcp://127.0.0.1:7\n";
	FILE			*fp;
	int			 fd;

	fd = mkstemp(path);
	cr_assert(ne(int, fd, -1));
	fp = fdopen(fd, "w");
	cr_assert(fp != NULL);
	cr_assert(eq(sz, fwrite(text, 1, sizeof(text) - 1, fp),
	    sizeof(text) - 1));
	fclose(fp);
	cr_assert(config_load(path, &errs) == NULL);
	unlink(path);
	cr_assert(eq(sz, errs.count, 1));
	cr_assert(asprintf(&want, "%s:3: line contains a NUL byte", path)
	    != -1);
	expect_str(errs.msg[0], want);
	free(want);
	config_errors_free(&errs);
}

/*
 * modules = (daemon/module.c): a missing file and an empty value are
 * errors at their lines, in file order, and a file that is not ELF is
 * named as such; the other defects are in tests/modules.
 */
Test(config, modules_errors)
{
	static const char *const want[] = {
		"t.ini:2: modules: ./no-such-module.so: No such file or "
		    "directory",
		"t.ini:3: modules: empty value",
		NULL
	};
	struct config_errors	 errs;
	struct config		*conf;
	char			*text, *path = data_path("good.ini");

	check_errors("[daemon]\nmodules = no-such-module.so\nmodules =\n\n"
	    "[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n", want);

	cr_assert(asprintf(&text, "[daemon]\nmodules = %s\n\n[e]\n"
	    "service = echo\nlisten = tcp://127.0.0.1:7\n", path) != -1);
	conf = config_load_string(text, "t.ini", &errs);
	cr_assert(conf == NULL && errs.count == 1);
	cr_assert(strstr(errs.msg[0], "t.ini:2: modules: ") == errs.msg[0] &&
	    strstr(errs.msg[0], ": not an ELF shared object") != NULL, "%s",
	    errs.msg[0]);
	config_errors_free(&errs);
	free(text);
	free(path);
}

Test(config, proxy_protocol)
{
	struct config		*conf = load_ok(
	    "[daemon]\n"
	    "drain_delay = 2s\n"
	    "[e]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:7 udp://127.0.0.1:7\n"
	    "proxy_protocol = v2\n"
	    "proxy_from = 192.0.2.10/32\n"
	    "proxy_from = 2001:db8::/64\n"
	    "proxy_timeout = 500ms\n"
	    "[f]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:8\n"
	    "proxy_protocol = any\n"
	    "proxy_from = 10.0.0.0/8\n");
	struct instance_conf	*e = instance(conf, "e");
	struct instance_conf	*f = instance(conf, "f");

	cr_assert(eq(u64, conf->daemon.drain_delay_ms, 2000));
	cr_assert(eq(int, e->proxy_accept, PROXY_ACCEPT_V2));
	cr_assert(eq(sz, e->proxy_from.n, 2));
	cr_assert(eq(u64, e->proxy_timeout_ms, 500));
	cr_assert(eq(int, f->proxy_accept, PROXY_ACCEPT_ANY));
	cr_assert(eq(u64, f->proxy_timeout_ms, 3000));
	config_unref(conf);
}

Test(errors, proxy_protocol)
{
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "proxy_protocol = v3\nproxy_from = 10.0.0.1\n",
	    "t.ini:4: proxy_protocol: 'v3': use off, v1, v2 or any");
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "proxy_protocol = v1\n",
	    "t.ini:4: proxy_protocol needs proxy_from: the addresses of the "
	    "balancers allowed to send the header");
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "proxy_from = 10.0.0.1\n",
	    "t.ini:4: proxy_from without proxy_protocol");
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "proxy_protocol = off\nproxy_from = 10.0.0.1\n",
	    "t.ini:5: proxy_from without proxy_protocol");
	expect_errors("[e]\nservice = echo\nlisten = udp://127.0.0.1:7\n"
	    "proxy_protocol = v2\nproxy_from = 10.0.0.1\n",
	    "t.ini:4: proxy_protocol: [e] has no tcp endpoint (the PROXY "
	    "protocol is for TCP)");
	expect_errors("[e]\nservice = echo\nlisten = tcp://127.0.0.1:7\n"
	    "proxy_protocol = v2\nproxy_from = 10.0.0.1\n"
	    "proxy_timeout = 50ms\n",
	    "t.ini:6: proxy_timeout: '50ms' is out of range (100ms to 1m)");
	expect_errors("[daemon]\nproxy_protocol = v2\n" ECHO,
	    "t.ini:2: unknown key 'proxy_protocol' in [daemon]");
}

/* ---- drop-ins: netsvcd.d/NAME.ini beside the main file (issue 10) ---- */

/* A fresh directory for a main file and its netsvcd.d. */
struct dropin_dir {
	char	 dir[64];
	char	 sub[96];
	char	*paths[16];
	size_t	 npaths;
};

/* Write text to name under dd->dir ("netsvcd.d/x.ini" for a drop-in). */
static char *
dropin_write(struct dropin_dir *dd, const char *name, const char *text)
{
	FILE	*fp;
	char	*path;

	cr_assert(dd->npaths < nitems(dd->paths));
	cr_assert(asprintf(&path, "%s/%s", dd->dir, name) != -1);
	fp = fopen(path, "w");
	cr_assert(fp != NULL, "%s", path);
	cr_assert(eq(sz, fwrite(text, 1, strlen(text), fp), strlen(text)));
	fclose(fp);
	dd->paths[dd->npaths++] = path;
	return path;
}

/* Make the directory and its netsvcd.d (unless flat). */
static void
dropin_init(struct dropin_dir *dd, int flat)
{
	memset(dd, 0, sizeof(*dd));
	snprintf(dd->dir, sizeof(dd->dir), "/tmp/netsvcd-test-XXXXXX");
	cr_assert(mkdtemp(dd->dir) != NULL);
	snprintf(dd->sub, sizeof(dd->sub), "%s/netsvcd.d", dd->dir);
	if (!flat)
		cr_assert(mkdir(dd->sub, 0700) == 0);
}

/* Remove what dropin_init and dropin_write made. */
static void
dropin_clean(struct dropin_dir *dd)
{
	while (dd->npaths > 0) {
		unlink(dd->paths[--dd->npaths]);
		free(dd->paths[dd->npaths]);
	}
	rmdir(dd->sub);
	rmdir(dd->dir);
}

/* Drop-ins come after the main file, in lexical order, *.ini only. */
Test(dropin, read_in_order)
{
	struct dropin_dir	 dd;
	struct config_errors	 errs;
	struct config		*conf;
	struct instance_conf	*ic;
	const char		*want[] = { "a", "b", "c" };
	char			*path;
	size_t			 i = 0;

	dropin_init(&dd, 0);
	path = dropin_write(&dd, "netsvcd.ini", "[a]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:1\n[daemon]\nbacklog = 7\n");
	dropin_write(&dd, "netsvcd.d/20-c.ini",
	    "; c\n[c]\nservice = discard\nlisten = tcp://127.0.0.1:3\n");
	dropin_write(&dd, "netsvcd.d/10-b.ini",
	    "[b]\nservice = echo\nlisten = tcp://127.0.0.1:2\n");
	dropin_write(&dd, "netsvcd.d/README", "not read\n");
	dropin_write(&dd, "netsvcd.d/.hidden.ini", "not read\n");
	dropin_write(&dd, "netsvcd.d/b.ini.dpkg-old", "not read\n");
	conf = config_load(path, &errs);
	cr_assert(conf != NULL, "%s", errs.count > 0 ? errs.msg[0] : "?");
	TAILQ_FOREACH(ic, &conf->instances, entry) {
		cr_assert(i < nitems(want));
		expect_str(ic->name, want[i]);
		i++;
	}
	cr_assert(eq(sz, i, 3));
	ic = instance(conf, "b");
	cr_assert(eq(uint, ic->backlog, 7), "[daemon] of the main file");
	cr_assert(eq(int, ic->endpoints[0].line, 3 + 6),
	    "lines numbered across files");
	config_unref(conf);
	dropin_clean(&dd);
}

/* A drop-in may start with a UTF-8 BOM, as the main file may. */
Test(dropin, bom_at_the_start)
{
	struct dropin_dir	 dd;
	struct config_errors	 errs;
	struct config		*conf;
	char			*path;

	dropin_init(&dd, 0);
	path = dropin_write(&dd, "netsvcd.ini", "\xef\xbb\xbf[a]\n"
	    "service = echo\nlisten = tcp://127.0.0.1:1\n");
	dropin_write(&dd, "netsvcd.d/b.ini", "\xef\xbb\xbf[b]\n"
	    "service = echo\nlisten = tcp://127.0.0.1:2\n");
	conf = config_load(path, &errs);
	cr_assert(conf != NULL, "%s", errs.count > 0 ? errs.msg[0] : "?");
	(void)instance(conf, "b");
	config_unref(conf);
	dropin_clean(&dd);
}

/*
 * Errors carry the drop-in's own FILE:LINE; an instance defined twice
 * names both files; [daemon] belongs in the main file.
 */
Test(dropin, errors_name_their_file)
{
	struct dropin_dir	 dd;
	struct config_errors	 errs;
	char			*path, *b, *c, *d, *want[6];
	size_t			 i;

	dropin_init(&dd, 0);
	path = dropin_write(&dd, "netsvcd.ini", "[daemon]\nbogus = 1\n"
	    "[a]\nservice = echo\nlisten = tcp://0.0.0.0:1\n");
	b = dropin_write(&dd, "netsvcd.d/10-b.ini", "x = 1\n[b]\n"
	    "service = echo\nlisten = tcp://127.0.0.1:1\n");
	c = dropin_write(&dd, "netsvcd.d/20-c.ini", "\n[a]\n"
	    "service = echo\nlisten = tcp://127.0.0.1:2\n");
	d = dropin_write(&dd, "netsvcd.d/30-d.ini", "[daemon]\nbacklog = 1\n"
	    "[d]\nservice = echo\nlisten = tcp://127.0.0.1:4\nbacklog = 0\n");
	cr_assert(config_load(path, &errs) == NULL);
	cr_assert(asprintf(&want[0], "%s:2: unknown key 'bogus' in [daemon]",
	    path) != -1);
	cr_assert(asprintf(&want[1], "%s:1: key 'x' outside of any section",
	    b) != -1);
	cr_assert(asprintf(&want[2], "%s:4: listen: 'tcp://127.0.0.1:1' "
	    "clashes with 'tcp://0.0.0.0:1' of [a] (%s:5): a wildcard address "
	    "takes the port on every address of its family", b, path) != -1);
	cr_assert(asprintf(&want[3], "%s:2: duplicate section [a] (first at "
	    "%s:3)", c, path) != -1);
	cr_assert(asprintf(&want[4], "%s:1: [daemon] in a drop-in file: "
	    "global settings belong in %s", d, path) != -1);
	cr_assert(asprintf(&want[5], "%s:6: backlog: '0' is out of range "
	    "(1 to 65535)", d) != -1);
	for (i = 0; i < errs.count; i++)
		cr_log_info("%s", errs.msg[i]);
	cr_assert(eq(sz, errs.count, 6));
	for (i = 0; i < 6; i++) {
		expect_str(errs.msg[i], want[i]);
		free(want[i]);
	}
	config_errors_free(&errs);
	dropin_clean(&dd);
}

/* netsvcd.d that is not a directory is an error naming it; none is fine. */
Test(dropin, not_a_directory)
{
	struct dropin_dir	 dd;
	struct config_errors	 errs;
	struct config		*conf;
	char			*path, *want;

	dropin_init(&dd, 1);
	path = dropin_write(&dd, "netsvcd.ini", ECHO);
	conf = config_load(path, NULL);
	cr_assert(conf != NULL, "no netsvcd.d at all is fine");
	config_unref(conf);
	dropin_write(&dd, "netsvcd.d", "a file\n");
	cr_assert(config_load(path, &errs) == NULL);
	cr_assert(eq(sz, errs.count, 1));
	cr_assert(asprintf(&want, "%s:0: cannot read the drop-in directory: "
	    "Not a directory", dd.sub) != -1);
	expect_str(errs.msg[0], want);
	free(want);
	config_errors_free(&errs);
	dropin_clean(&dd);
}
