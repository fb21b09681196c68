/*
 * test-docs.c: the documentation must not drift from the code.  Every key
 * the config parser accepts (the key table config_keys[], where each key
 * also has its one line of help text, and each service's keys) and every
 * service must be documented in etc/netsvcd.ini.5, as
 * ".It Cm KEY" and ".Ss NAME", and shown in the annotated etc/netsvcd.ini
 * (as "KEY =", possibly commented out).  Every ".It Cm" of the man page
 * must be a real key.  NETSVCD_SRCDIR names the source tree (ctest sets
 * it); without it the test reads from the current directory.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "netsvcd.h"
#include "service.h"

#define MAN_PAGE      "etc/netsvcd.ini.5"
#define ANNOTATED     "etc/netsvcd.ini"
#define KEY_MACRO     ".It Cm "
#define SERVICE_MACRO ".Ss "

static char *docs_read(const char *);
static const char *docs_next_line(const char *);
static int docs_line_is(const char *, const char *, const char *);
static int docs_man_has(const char *, const char *, const char *);
static int docs_ini_has_key(const char *, const char *);
static int docs_ini_has_service(const char *, const char *);
static int docs_known_key(const char *, size_t);

/* Read a file of the source tree into a NUL-terminated malloc'd buffer. */
static char *
docs_read(const char *rel)
{
	const char *dir = getenv("NETSVCD_SRCDIR");
	char path[4096];
	char *buf;
	FILE *f;
	long len;

	if (dir == NULL || *dir == '\0')
		dir = ".";
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "r");
	cr_assert(f != NULL, "cannot open %s", path);
	cr_assert(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	cr_assert(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	cr_assert(buf != NULL);
	cr_assert(fread(buf, 1, (size_t)len, f) == (size_t)len,
	    "cannot read %s", path);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* The line after line, or NULL at the end of the text. */
static const char *
docs_next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl != NULL && nl[1] != '\0' ? nl + 1 : NULL;
}

/*
 * Whether line (up to its '\n') is "PREFIX WORD", alone or followed by a
 * space and more.
 */
static int
docs_line_is(const char *line, const char *prefix, const char *word)
{
	size_t plen = strlen(prefix), wlen = strlen(word);
	char c;

	if (strncmp(line, prefix, plen) != 0 ||
	    strncmp(line + plen, word, wlen) != 0)
		return 0;
	c = line[plen + wlen];
	return c == '\0' || c == '\n' || c == ' ';
}

/* Whether the man page has a line "PREFIX WORD...". */
static int
docs_man_has(const char *man, const char *prefix, const char *word)
{
	const char *line;

	for (line = man; line != NULL; line = docs_next_line(line)) {
		if (docs_line_is(line, prefix, word))
			return 1;
	}
	return 0;
}

/*
 * Whether the INI text sets key on some line, possibly in a comment:
 * "key = v", "key=v", ";key = v", "; key = v", "#key = v".
 */
static int
docs_ini_has_key(const char *ini, const char *key)
{
	const char *line, *p;
	size_t klen = strlen(key);

	for (line = ini; line != NULL; line = docs_next_line(line)) {
		p = line;
		while (*p == ' ' || *p == '\t' || *p == ';' || *p == '#')
			p++;
		if (strncmp(p, key, klen) != 0)
			continue;
		p += klen;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=')
			return 1;
	}
	return 0;
}

/* Whether the INI text has "service = NAME", possibly commented out. */
static int
docs_ini_has_service(const char *ini, const char *name)
{
	const char *line, *p;
	size_t nlen = strlen(name);

	for (line = ini; line != NULL; line = docs_next_line(line)) {
		p = line;
		while (*p == ' ' || *p == '\t' || *p == ';' || *p == '#')
			p++;
		if (strncmp(p, "service", 7) != 0)
			continue;
		p += 7;
		p += strspn(p, " \t");
		if (*p++ != '=')
			continue;
		p += strspn(p, " \t");
		if (strncmp(p, name, nlen) == 0 &&
		    (p[nlen] == '\0' || isspace((unsigned char)p[nlen])))
			return 1;
	}
	return 0;
}

/* Whether the first len bytes of word name a key of the config or a service. */
static int
docs_known_key(const char *word, size_t len)
{
	const struct config_key *kd;
	const char *const *k;
	size_t i;

	for (kd = config_keys; kd->name != NULL; kd++) {
		if (strlen(kd->name) == len && strncmp(kd->name, word, len) == 0)
			return 1;
	}
	for (i = 0; services[i] != NULL; i++) {
		if (services[i]->keys == NULL)
			continue;
		for (k = services[i]->keys; *k != NULL; k++) {
			if (strlen(*k) == len && strncmp(*k, word, len) == 0)
				return 1;
		}
	}
	return 0;
}

Test(docs, config_keys_in_man_page)
{
	const struct config_key *kd;
	char *man = docs_read(MAN_PAGE);
	size_t n = 0;

	for (kd = config_keys; kd->name != NULL; kd++, n++) {
		cr_expect(docs_man_has(man, KEY_MACRO, kd->name),
		    MAN_PAGE " does not document key %s (\"" KEY_MACRO "%s\")",
		    kd->name, kd->name);
		cr_expect(kd->help != NULL && kd->help[0] != '\0' &&
			      strchr(kd->help, '\n') == NULL,
		    "key %s has no one-line help text in config-keys.c",
		    kd->name);
	}
	cr_expect(n >= 10, "config_keys[] has only %zu keys", n);
	free(man);
}

Test(docs, service_keys_in_man_page)
{
	const char *const *k;
	char *man = docs_read(MAN_PAGE);
	size_t i;

	for (i = 0; services[i] != NULL; i++) {
		if (services[i]->keys == NULL)
			continue;
		for (k = services[i]->keys; *k != NULL; k++) {
			cr_expect(docs_man_has(man, KEY_MACRO, *k),
			    MAN_PAGE " does not document key %s of service %s",
			    *k, services[i]->name);
		}
	}
	free(man);
}

Test(docs, services_in_man_page)
{
	char *man = docs_read(MAN_PAGE);
	size_t i;

	cr_expect(services[0] != NULL, "the service registry is empty");
	for (i = 0; services[i] != NULL; i++) {
		cr_expect(docs_man_has(man, SERVICE_MACRO, services[i]->name),
		    MAN_PAGE " does not document service %s (\"" SERVICE_MACRO
			     "%s\")",
		    services[i]->name, services[i]->name);
	}
	free(man);
}

/* The other direction: a documented key that the parser rejects is a bug. */
Test(docs, man_page_keys_exist)
{
	char *man = docs_read(MAN_PAGE);
	const char *line, *word;
	size_t len;

	for (line = man; line != NULL; line = docs_next_line(line)) {
		if (strncmp(line, KEY_MACRO, strlen(KEY_MACRO)) != 0)
			continue;
		word = line + strlen(KEY_MACRO);
		len = strcspn(word, " \n");
		cr_expect(docs_known_key(word, len),
		    MAN_PAGE " documents \"%.*s\", which is no config key",
		    (int)len, word);
	}
	free(man);
}

Test(docs, keys_in_annotated_config)
{
	const struct config_key *kd;
	const char *const *k;
	char *ini = docs_read(ANNOTATED);
	size_t i;

	for (kd = config_keys; kd->name != NULL; kd++) {
		cr_expect(docs_ini_has_key(ini, kd->name),
		    ANNOTATED " does not show key %s", kd->name);
	}
	for (i = 0; services[i] != NULL; i++) {
		cr_expect(docs_ini_has_service(ini, services[i]->name),
		    ANNOTATED " has no \"service = %s\"", services[i]->name);
		if (services[i]->keys == NULL)
			continue;
		for (k = services[i]->keys; *k != NULL; k++) {
			cr_expect(docs_ini_has_key(ini, *k),
			    ANNOTATED " does not show key %s of service %s", *k,
			    services[i]->name);
		}
	}
	free(ini);
}
