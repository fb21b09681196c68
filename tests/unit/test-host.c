/*
 * test-host.c: the host's side of the service contract at config time,
 * with a probe service of its own instead of the built-in registry (this
 * file defines services[] and service_find(), so registry.c is not
 * linked): the host allocates conf_size zeroed bytes before the first
 * conf_key or conf_check and frees them after conf_free, and it refuses a
 * key that is not in keys[] before conf_key ever sees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "netsvcd.h"

/* The probe's per-instance settings, allocated by the host. */
struct probe_conf {
	unsigned int	nkeys;
	char		last[32];
	unsigned char	pad[200];	/* must be zero at first sight */
};

/* What the probe saw, across all instances of one test. */
static struct {
	unsigned int	keys;		/* conf_key calls */
	unsigned int	foreign;	/* conf_key calls with another key */
	unsigned int	unzeroed;	/* first sight of non-zero data */
	unsigned int	nodata;		/* a call without data */
	unsigned int	checks;
	unsigned int	frees;
	void		*data;		/* the block of the last call */
} seen;

static int	probe_key(struct svc_conf *, const char *, const char *,
		    char **);
static int	probe_check(struct svc_conf *, char **);
static void	probe_free(struct svc_conf *);
static void	probe_first_sight(const struct probe_conf *);

static const char *const probe_keys[] = { "word", NULL };

static const struct service service_probe = {
	.name = "probe",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.keys = probe_keys,
	.conf_size = sizeof(struct probe_conf),
	.conf_key = probe_key,
	.conf_check = probe_check,
	.conf_free = probe_free,
};

/* A service without keys: every service key is unknown to it. */
static const struct service service_bare = {
	.name = "bare",
	.protocols = SERVICE_TCP,
	.conf_key = probe_key,
};

const struct service *const services[] = {
	&service_probe, &service_bare, NULL
};

/* The service called name, or NULL (this test's registry). */
const struct service *
service_find(const char *name)
{
	size_t	i;

	for (i = 0; services[i] != NULL; i++) {
		if (strcmp(services[i]->name, name) == 0)
			return services[i];
	}
	return NULL;
}

/* Count a block seen for the first time that is not all zero. */
static void
probe_first_sight(const struct probe_conf *pc)
{
	static const struct probe_conf	zero;

	if (memcmp(pc, &zero, sizeof(zero)) != 0)
		seen.unzeroed++;
}

/* conf_key: accepts anything, so only the host can refuse a key. */
static int
probe_key(struct svc_conf *sc, const char *key, const char *value,
    char **cause)
{
	struct probe_conf	*pc = svc_conf_data(sc);

	(void)value;
	(void)cause;
	seen.keys++;
	if (strcmp(key, "word") != 0)
		seen.foreign++;
	if (pc == NULL) {
		seen.nodata++;
		return SERVICE_KEY_OK;
	}
	if (pc->nkeys == 0)
		probe_first_sight(pc);
	pc->nkeys++;
	snprintf(pc->last, sizeof(pc->last), "%s", value);
	seen.data = pc;
	return SERVICE_KEY_OK;
}

/* conf_check: the block is there even when no key was set. */
static int
probe_check(struct svc_conf *sc, char **cause)
{
	struct probe_conf	*pc = svc_conf_data(sc);

	(void)cause;
	seen.checks++;
	if (pc == NULL) {
		seen.nodata++;
		return 0;
	}
	if (pc->nkeys == 0)
		probe_first_sight(pc);
	seen.data = pc;
	return 0;
}

/* conf_free: the block is still there; the host frees it afterwards. */
static void
probe_free(struct svc_conf *sc)
{
	struct probe_conf	*pc = svc_conf_data(sc);

	seen.frees++;
	if (pc == NULL)
		seen.nodata++;
	else
		memset(pc, 0xa5, sizeof(*pc));	/* still ours to write */
}

/* Load text; return the config or NULL, with the first error in first. */
static struct config *
load(const char *text, char *first, size_t len)
{
	struct config_errors	 errs;
	struct config		*conf;

	memset(&seen, 0, sizeof(seen));
	conf = config_load_string(text, "t.ini", &errs);
	snprintf(first, len, "%s", errs.count > 0 ? errs.msg[0] : "");
	config_errors_free(&errs);
	return conf;
}

Test(host, conf_size_allocated_zeroed_and_freed)
{
	struct config		*conf;
	struct instance_conf	*ic;
	char			 first[256];

	conf = load("[a]\nservice = probe\nlisten = tcp://127.0.0.1:0\n"
	    "word = one\n"
	    "[b]\nservice = probe\nlisten = tcp://127.0.0.1:0\n",
	    first, sizeof(first));
	cr_assert(conf != NULL, "rejected: %s", first);
	cr_expect(eq(u32, seen.keys, 1));
	cr_expect(eq(u32, seen.checks, 2), "conf_check for each instance");
	cr_expect(eq(u32, seen.nodata, 0), "data before every call");
	cr_expect(eq(u32, seen.unzeroed, 0), "zeroed at first sight");
	ic = TAILQ_FIRST(&conf->instances);
	cr_assert(ic->svc.data != NULL);
	cr_expect(strcmp(((struct probe_conf *)ic->svc.data)->last, "one") == 0);
	cr_expect(eq(u32, ((struct probe_conf *)ic->svc.data)->nkeys, 1));
	config_unref(conf);
	cr_expect(eq(u32, seen.frees, 2), "conf_free for each instance");
	cr_expect(eq(u32, seen.nodata, 0), "conf_free sees the data");
	/* The blocks themselves: ASan (build-asan) reports a leak. */
}

Test(host, unknown_key_refused_before_conf_key)
{
	struct config	*conf;
	char		 first[256];

	conf = load("[a]\nservice = probe\nlisten = tcp://127.0.0.1:0\n"
	    "word = one\nother = two\n", first, sizeof(first));
	cr_expect(conf == NULL);
	cr_expect(strcmp(first, "t.ini:5: unknown key 'other' for service "
	    "'probe'") == 0, "got '%s'", first);
	cr_expect(eq(u32, seen.foreign, 0), "conf_key never saw 'other'");
	cr_expect(eq(u32, seen.keys, 1));
	cr_expect(eq(u32, seen.checks, 0), "no conf_check after an error");
}

Test(host, service_without_keys_takes_none)
{
	struct config	*conf;
	char		 first[256];

	conf = load("[a]\nservice = bare\nlisten = tcp://127.0.0.1:0\n"
	    "word = one\n", first, sizeof(first));
	cr_expect(conf == NULL);
	cr_expect(strcmp(first, "t.ini:4: unknown key 'word' for service "
	    "'bare'") == 0, "got '%s'", first);
	cr_expect(eq(u32, seen.keys, 0), "conf_key never called");
}

Test(host, no_conf_size_no_data)
{
	struct instance_conf	*ic;
	struct config		*conf;
	char		 first[256];

	conf = load("[a]\nservice = bare\nlisten = tcp://127.0.0.1:0\n",
	    first, sizeof(first));
	cr_assert(conf != NULL, "rejected: %s", first);
	ic = TAILQ_FIRST(&conf->instances);
	cr_expect(ic->svc.data == NULL);
	config_unref(conf);
}
