/*
 * config.c: read an INI file into a new, fully validated struct config.
 *
 * Loading runs in two passes.  Pass one reads the file through inih with
 * our own line reader and only records sections and (key, value, line);
 * pass two resolves them: [daemon] first, so that instance defaults come
 * from it wherever it appears, then each instance, whose "service =" may
 * come after the keys that depend on it.  Every error is collected as
 * "FILE:LINE: message" and a config with errors is never returned.
 *
 * Limits and access lists (struct limits_conf) are set in [daemon] and
 * per instance.  An instance takes the [daemon] value of each one it does
 * not set; "allow" so inherited is a copy that the instance owns.  "deny"
 * is the exception: an instance keeps only its own list, and the runtime
 * checks it together with [daemon]'s, so a deny adds and never replaces.
 *
 * The syntax is what inih accepts, narrowed so nothing is misread:
 * "[name]" headers, "key = value" lines, and blank or comment lines (";"
 * or "#" first).  Note that inih ends a value at " ;" (whitespace, then a
 * semicolon): "message = hi ; there" gives "hi".  Text with arbitrary
 * content belongs in a file (message_file, quotes_file).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "netsvcd.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define CONFIG_NAME_MAX		64		/* instance name length */
#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes read from a file */
#define CONFIG_LINE_KEEP	4096		/* bytes kept of one line */
#define CONFIG_DESCRIBE_MAX	1024		/* conf_describe output */

#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define KIB	1024ULL
#define MIB	(1024 * KIB)
#define TIB	(1024 * 1024 * MIB)

enum key_type {
	KEY_LOGLEVEL,		/* int: debug ... err */
	KEY_UINT,		/* unsigned int */
	KEY_DURATION,		/* uint64_t, milliseconds */
	KEY_SIZE,		/* size_t, bytes */
	KEY_BOOL,		/* int */
	KEY_STRING,		/* char *, NULL when unset */
	KEY_SERVICE,		/* const struct service * */
	KEY_ENDPOINTS,		/* struct endpoint *, with nendpoints */
	KEY_SIZE64,		/* uint64_t, bytes */
	KEY_LOGCONN,		/* int: LOG_CONN_* */
	KEY_ENDPOINT,		/* struct endpoint: one tcp:// endpoint */
	KEY_ACL,		/* struct acl, empty when unset */
};

#define KEY_DAEMON	0x1	/* a [daemon] key */
#define KEY_INSTANCE	0x2	/* a key of every instance section */
#define KEY_INHERIT	0x4	/* instance default: the [daemon] value */
#define KEY_REQUIRED	0x8	/* every instance must set it */
#define KEY_LIMIT	0x10	/* a struct limits_conf field */
#define KEY_AUTO	0x20	/* "auto" stands for 0 */

/* A limit: set in [daemon] and per instance, inherited when unset. */
#define KEY_LIMITS	(KEY_DAEMON | KEY_INSTANCE | KEY_INHERIT | KEY_LIMIT)

/*
 * One config key.  The table drives parsing, defaults, range messages,
 * the -t listing and config_key_names().  offset is into struct
 * limits_conf for KEY_LIMIT keys (daemon_conf.lim or instance_conf.lim),
 * else into struct daemon_conf for KEY_DAEMON keys and struct
 * instance_conf otherwise.
 */
struct key_def {
	const char	*name;
	enum key_type	 type;
	int		 flags;
	uint64_t	 min;
	uint64_t	 max;
	uint64_t	 def;
	size_t		 offset;
};

#define DOFF(f)	offsetof(struct daemon_conf, f)
#define IOFF(f)	offsetof(struct instance_conf, f)
#define LOFF(f)	offsetof(struct limits_conf, f)

static const struct key_def config_keys[] = {
	{ "log_level", KEY_LOGLEVEL, KEY_DAEMON,
	    0, 0, LOG_LEVEL_INFO, DOFF(log_level) },
	{ "max_connections", KEY_UINT, KEY_DAEMON,
	    1, 1000000, 1024, DOFF(max_connections) },
	{ "backlog", KEY_UINT, KEY_DAEMON,
	    1, 65535, 128, DOFF(backlog) },
	{ "idle_timeout", KEY_DURATION, KEY_DAEMON,
	    0, 24 * HOUR, 5 * MIN, DOFF(idle_timeout_ms) },
	{ "shutdown_timeout", KEY_DURATION, KEY_DAEMON,
	    0, HOUR, 5 * SEC, DOFF(shutdown_timeout_ms) },
	{ "buffer_limit", KEY_SIZE, KEY_DAEMON,
	    4 * KIB, 64 * MIB, 64 * KIB, DOFF(buffer_limit) },
	{ "user", KEY_STRING, KEY_DAEMON, 0, 0, 0, DOFF(user) },
	{ "group", KEY_STRING, KEY_DAEMON, 0, 0, 0, DOFF(group) },
	{ "workers", KEY_UINT, KEY_DAEMON | KEY_AUTO,
	    1, 256, 1, DOFF(workers) },
	{ "source_prefix4", KEY_UINT, KEY_DAEMON,
	    8, 32, 32, DOFF(source_prefix4) },
	{ "source_prefix6", KEY_UINT, KEY_DAEMON,
	    16, 128, 64, DOFF(source_prefix6) },
	{ "max_sources", KEY_UINT, KEY_DAEMON,
	    64, 1048576, 16384, DOFF(max_sources) },
	{ "metrics_listen", KEY_ENDPOINT, KEY_DAEMON,
	    0, 0, 0, DOFF(metrics_listen) },

	{ "service", KEY_SERVICE, KEY_INSTANCE | KEY_REQUIRED,
	    0, 0, 0, IOFF(service) },
	{ "enabled", KEY_BOOL, KEY_INSTANCE, 0, 1, 1, IOFF(enabled) },
	{ "listen", KEY_ENDPOINTS, KEY_INSTANCE | KEY_REQUIRED,
	    0, 0, 0, IOFF(endpoints) },
	{ "backlog", KEY_UINT, KEY_INSTANCE | KEY_INHERIT,
	    1, 65535, 0, IOFF(backlog) },
	{ "idle_timeout", KEY_DURATION, KEY_INSTANCE | KEY_INHERIT,
	    0, 24 * HOUR, 0, IOFF(idle_timeout_ms) },
	{ "max_connections", KEY_UINT, KEY_INSTANCE,
	    0, 1000000, 0, IOFF(max_connections) },
	{ "buffer_limit", KEY_SIZE, KEY_INSTANCE | KEY_INHERIT,
	    4 * KIB, 64 * MIB, 0, IOFF(buffer_limit) },

	{ "max_per_source", KEY_UINT, KEY_LIMITS,
	    0, 1000000, 0, LOFF(max_per_source) },
	{ "rate", KEY_UINT, KEY_LIMITS, 0, 1000000, 0, LOFF(rate) },
	{ "burst", KEY_UINT, KEY_LIMITS, 0, 10000000, 0, LOFF(burst) },
	{ "instance_rate", KEY_UINT, KEY_LIMITS,
	    0, 1000000, 0, LOFF(instance_rate) },
	{ "instance_burst", KEY_UINT, KEY_LIMITS,
	    0, 10000000, 0, LOFF(instance_burst) },
	{ "max_duration", KEY_DURATION, KEY_LIMITS,
	    0, 7 * DAY, 0, LOFF(max_duration_ms) },
	{ "write_timeout", KEY_DURATION, KEY_LIMITS,
	    0, DAY, 60 * SEC, LOFF(write_timeout_ms) },
	{ "max_bytes", KEY_SIZE64, KEY_LIMITS, 0, TIB, 0, LOFF(max_bytes) },
	{ "udp_max_amplification", KEY_UINT, KEY_LIMITS,
	    0, 1000, 1, LOFF(udp_max_amplification) },
	{ "udp_amplify_rate", KEY_UINT, KEY_LIMITS,
	    0, 100000, 50, LOFF(udp_amplify_rate) },
	{ "udp_amplify_burst", KEY_UINT, KEY_LIMITS,
	    0, 1000000, 200, LOFF(udp_amplify_burst) },
	{ "udp_protect", KEY_BOOL, KEY_LIMITS, 0, 1, 1, LOFF(udp_protect) },
	{ "log_connections", KEY_LOGCONN, KEY_LIMITS,
	    0, 0, LOG_CONN_OFF, LOFF(log_connections) },
	{ "allow", KEY_ACL, KEY_LIMITS, 0, 0, 0, LOFF(allow) },
	{ "deny", KEY_ACL, KEY_DAEMON | KEY_INSTANCE | KEY_LIMIT,
	    0, 0, 0, LOFF(deny) },
};

/* The names of log_connections, indexed by LOG_CONN_*. */
static const char *const log_conn_names[] = { "off", "close" };

/* One "key = value" line, as recorded in pass one. */
struct cf_key {
	TAILQ_ENTRY(cf_key)	 entry;
	char			*key;
	char			*value;
	int			 line;
	int			 dup;		/* repeats an earlier key */
	int			 more;		/* allow, deny: adds to it */
};
TAILQ_HEAD(cf_keys, cf_key);

/* One "[name]" section; bad ones are kept so their keys are ignored. */
struct cf_section {
	TAILQ_ENTRY(cf_section)	 entry;
	char			*name;		/* NULL when bad */
	int			 line;
	struct cf_keys		 keys;
};
TAILQ_HEAD(cf_sections, cf_section);

/* One error; seq keeps errors of one line in the order found. */
struct cf_error {
	int			 line;
	size_t			 seq;
	char			*msg;
};

/* The state of one load. */
struct cf_load {
	const char		*name;		/* file name in messages */
	FILE			*f;		/* reading a file, or */
	const char		*text;		/* reading a string */
	size_t			 nread;		/* bytes read so far */
	int			 lineno;	/* of the line last read */
	char			 line[CONFIG_LINE_KEEP];
	size_t			 linelen;	/* true length, may exceed */
	int			 linenul;	/* the line has a NUL byte */

	struct cf_sections	 sections;
	struct cf_section	*cur;		/* NULL before any header */

	struct cf_error		*errors;
	size_t			 nerrors;
	size_t			 errorsize;
	int			 failed;	/* an error was found */
	int			 readfail;	/* the file was not all read */
	int			 nomem;

	struct config		*conf;
	int			 metrics_line;	/* of metrics_listen */
};

static void	 config_error(struct cf_load *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 config_error_cmp(const void *, const void *);
static void	 config_errors_finish(struct cf_load *,
		    struct config_errors *);
static int	 config_getc(struct cf_load *);
static int	 config_next_line(struct cf_load *);
static struct cf_section *config_add_section(struct cf_load *,
		    const char *, size_t);
static int	 config_check_header(struct cf_load *, const char *);
static int	 config_check_line(struct cf_load *, char *);
static char	*config_read(char *, int, void *);
static int	 config_handler(void *, const char *, const char *,
		    const char *);
static void	 config_free_sections(struct cf_load *);
static struct config *config_run(struct cf_load *, const char *);
static struct config *config_resolve(struct cf_load *, const char *);
static int	 config_is_daemon(const struct cf_section *);
static int	 config_earlier_key(struct cf_load *,
		    const struct cf_section *, const struct cf_key *);
static struct cf_key *config_find_key(const struct cf_section *,
		    const char *);
static void	 config_mark_dups(struct cf_load *);
static int	 endpoint_any_port(const struct endpoint *);
static const struct key_def *key_find(const char *, int);
static uint64_t	 key_get(const struct key_def *, const void *);
static void	 key_put(const struct key_def *, void *, uint64_t);
static void	 key_format(const struct key_def *, uint64_t, char *, size_t);
static void	*key_dbase(const struct key_def *, struct daemon_conf *);
static void	*key_ibase(const struct key_def *, struct instance_conf *);
static int	 key_copy(const struct key_def *, void *, const void *);
static int	 acl_copy(struct acl *, const struct acl *);
static int	 config_acl(struct cf_load *, const struct key_def *,
		    struct acl *, const struct cf_key *);
static int	 config_endpoint(struct cf_load *, const struct key_def *,
		    struct endpoint *, const struct cf_key *);
static int	 config_key_line(struct cf_load *, const struct cf_section *,
		    const char *);
static void	 config_check_rate(struct cf_load *, const struct cf_section *,
		    const char *, unsigned int, const char *, unsigned int);
static void	 config_check_limits(struct cf_load *,
		    const struct cf_section *, const struct limits_conf *);
static int	 config_set(struct cf_load *, const struct key_def *, void *,
		    const struct cf_key *);
static int	 config_listen(struct cf_load *, struct instance_conf *,
		    const struct cf_key *);
static void	 config_daemon(struct cf_load *, struct cf_section *);
static void	 config_instance(struct cf_load *, struct cf_section *);
static void	 config_service(struct cf_load *, struct instance_conf *,
		    const struct cf_key *);
static int	 config_service_key(struct cf_load *, struct instance_conf *,
		    const struct cf_key *);
static void	 config_check_endpoints(struct cf_load *,
		    struct instance_conf *, int);
static void	 config_free(struct config *);
static void	 config_print_key(const struct key_def *, const void *,
		    FILE *);

/* Record one error of the load at line (0: the file as a whole). */
static void
config_error(struct cf_load *ld, int line, const char *fmt, ...)
{
	struct cf_error	*e;
	va_list		 ap;
	char		*body, *msg;
	size_t		 size;
	int		 r;

	ld->failed = 1;
	va_start(ap, fmt);
	r = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (r == -1) {
		ld->nomem = 1;
		return;
	}
	r = asprintf(&msg, "%s:%d: %s", ld->name, line, body);
	free(body);
	if (r == -1) {
		ld->nomem = 1;
		return;
	}
	if (ld->nerrors == ld->errorsize) {
		size = ld->errorsize == 0 ? 16 : ld->errorsize * 2;
		e = reallocarray(ld->errors, size, sizeof(*e));
		if (e == NULL) {
			free(msg);
			ld->nomem = 1;
			return;
		}
		ld->errors = e;
		ld->errorsize = size;
	}
	e = &ld->errors[ld->nerrors];
	e->line = line;
	e->seq = ld->nerrors++;
	e->msg = msg;
}

/* Order errors by line, then in the order they were found. */
static int
config_error_cmp(const void *a, const void *b)
{
	const struct cf_error	*ea = a, *eb = b;

	if (ea->line != eb->line)
		return ea->line < eb->line ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq;
}

/* Hand the load's errors, in file order, to errs (or free them). */
static void
config_errors_finish(struct cf_load *ld, struct config_errors *errs)
{
	size_t	i;

	if (ld->nomem)
		config_error(ld, 0, "out of memory");
	if (ld->nerrors > 1)
		qsort(ld->errors, ld->nerrors, sizeof(*ld->errors),
		    config_error_cmp);
	if (errs != NULL && ld->nerrors > 0 &&
	    (errs->msg = calloc(ld->nerrors, sizeof(*errs->msg))) != NULL) {
		for (i = 0; i < ld->nerrors; i++)
			errs->msg[i] = ld->errors[i].msg;
		errs->count = ld->nerrors;
	} else {
		for (i = 0; i < ld->nerrors; i++)
			free(ld->errors[i].msg);
	}
	free(ld->errors);
	ld->errors = NULL;
	ld->nerrors = ld->errorsize = 0;
}

/* Free the messages in errs and leave it empty. */
void
config_errors_free(struct config_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->count; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->count = 0;
}

/* The next byte of the file or string, or EOF. */
static int
config_getc(struct cf_load *ld)
{
	if (ld->f != NULL)
		return getc(ld->f);
	if (*ld->text == '\0')
		return EOF;
	return (unsigned char)*ld->text++;
}

/*
 * Read one line into ld->line without its "\n" or "\r\n", keeping at most
 * CONFIG_LINE_KEEP - 1 bytes but counting them all in ld->linelen.
 * Returns -1 at the end, or after a read error or once the file is too
 * large (both recorded, and ld->readfail set).
 */
static int
config_next_line(struct cf_load *ld)
{
	int	c;

	ld->linelen = 0;
	ld->linenul = 0;
	if ((c = config_getc(ld)) == EOF)
		goto end;
	for (;;) {
		if (++ld->nread > CONFIG_FILE_MAX) {
			config_error(ld, 0, "file larger than %d bytes",
			    CONFIG_FILE_MAX);
			ld->readfail = 1;
			return -1;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			ld->linenul = 1;
		if (ld->linelen < sizeof(ld->line) - 1)
			ld->line[ld->linelen] = (char)c;
		ld->linelen++;
		if ((c = config_getc(ld)) == EOF) {
			if (ld->f != NULL && ferror(ld->f))
				goto end;
			break;
		}
	}
	if (ld->linelen > 0 && ld->linelen < sizeof(ld->line) &&
	    ld->line[ld->linelen - 1] == '\r')
		ld->linelen--;
	ld->line[ld->linelen < sizeof(ld->line) ? ld->linelen :
	    sizeof(ld->line) - 1] = '\0';
	return 0;

end:
	if (ld->f != NULL && ferror(ld->f)) {
		config_error(ld, 0, "cannot read: %s", strerror(errno));
		ld->readfail = 1;
	}
	return -1;
}

/* Append a section record (name NULL: a bad header) and make it current. */
static struct cf_section *
config_add_section(struct cf_load *ld, const char *name, size_t len)
{
	struct cf_section	*sec;

	if ((sec = calloc(1, sizeof(*sec))) == NULL) {
		ld->nomem = 1;
		ld->failed = 1;
		return NULL;
	}
	if (name != NULL && (sec->name = strndup(name, len)) == NULL) {
		free(sec);
		ld->nomem = 1;
		ld->failed = 1;
		return NULL;
	}
	sec->line = ld->lineno;
	TAILQ_INIT(&sec->keys);
	TAILQ_INSERT_TAIL(&ld->sections, sec, entry);
	ld->cur = sec;
	return sec;
}

/*
 * Check a "[name]" header and start its section.  Names are 1 to 64 of
 * [A-Za-z0-9_.-]; we keep the name ourselves because inih cuts section
 * names at 49 bytes.
 */
static int
config_check_header(struct cf_load *ld, const char *p)
{
	const char	*end, *rest;
	size_t		 n, i;

	if ((end = strchr(p + 1, ']')) == NULL) {
		config_error(ld, ld->lineno, "section header without ']'");
		goto bad;
	}
	for (rest = end + 1; isspace((unsigned char)*rest); rest++)
		continue;
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		config_error(ld, ld->lineno, "text after the section header");
		goto bad;
	}
	n = (size_t)(end - (p + 1));
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)p[1 + i]) &&
		    strchr("_.-", p[1 + i]) == NULL)
			break;
	}
	if (n == 0 || n > CONFIG_NAME_MAX || i != n) {
		config_error(ld, ld->lineno, "bad section name '%.*s' (1 to "
		    "%d letters, digits, '_', '.' or '-')", (int)n, p + 1,
		    CONFIG_NAME_MAX);
		goto bad;
	}
	config_add_section(ld, p + 1, n);
	return 0;

bad:
	config_add_section(ld, NULL, 0);
	return -1;
}

/*
 * Check one line the way inih will read it, recording what it would
 * reject or misread: inih stops reporting after the first bad line, and
 * treats an indented line after a key as more of that key's value.
 * Returns 0 for a line to hand to inih, -1 for one to hide from it.
 */
static int
config_check_line(struct cf_load *ld, char *line)
{
	char	*p, *q;
	int	 was_space;

	if (ld->lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		memmove(line, line + 3, strlen(line + 3) + 1);
	for (p = line; isspace((unsigned char)*p); p++)
		continue;
	if (*p == '\0' || *p == ';' || *p == '#')
		return 0;
	if (p != line) {
		config_error(ld, ld->lineno, "line starts with whitespace "
		    "(continuation lines are not supported)");
		return -1;
	}
	if (*p == '[')
		return config_check_header(ld, p);

	/* inih splits at the first '=' or ':' before any " ;" comment. */
	was_space = 0;
	for (q = p; *q != '\0' && *q != '=' && *q != ':'; q++) {
		if (was_space && *q == ';')
			break;
		was_space = isspace((unsigned char)*q);
	}
	if (*q != '=') {
		config_error(ld, ld->lineno,
		    "expected '[section]', 'key = value' or a comment");
		return -1;
	}
	if (q == p) {
		config_error(ld, ld->lineno, "missing key name before '='");
		return -1;
	}
	return 0;
}

/*
 * The ini_reader: give inih exactly one real line per call, so that
 * ld->lineno is the true line number of what the handler sees next.
 * Lines that are too long for inih's buffer (it would split them and
 * miscount every line after) or that inih would misread are recorded
 * as errors and replaced with an empty line.
 */
static char *
config_read(char *str, int num, void *arg)
{
	struct cf_load	*ld = arg;
	size_t		 max;

	if (num < 2 || config_next_line(ld) == -1)
		return NULL;
	ld->lineno++;
	str[0] = '\0';
	max = (size_t)num - 1;
	if (max > sizeof(ld->line) - 1)
		max = sizeof(ld->line) - 1;
	if (ld->linenul)
		config_error(ld, ld->lineno, "line contains a NUL byte");
	else if (ld->linelen > max) {
		config_error(ld, ld->lineno, "line longer than %zu bytes "
		    "(use message_file)", max);
		if (ld->line[0] == '[')
			config_add_section(ld, NULL, 0);
	} else if (config_check_line(ld, ld->line) == 0)
		memcpy(str, ld->line, strlen(ld->line) + 1);
	return str;
}

/*
 * The ini_handler: record one key of the current section.  Its section
 * argument is ignored since inih truncates long names; ld->cur is ours.
 */
static int
config_handler(void *arg, const char *section, const char *key,
    const char *value)
{
	struct cf_load	*ld = arg;
	struct cf_key	*k;

	UNUSED(section);
	if (ld->cur == NULL) {
		config_error(ld, ld->lineno, "key '%s' outside of any section",
		    key);
		return 1;
	}
	if (ld->cur->name == NULL)
		return 1;			/* under a bad header */
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->key = strdup(key)) == NULL ||
	    (k->value = strdup(value)) == NULL) {
		if (k != NULL)
			free(k->key);
		free(k);
		ld->nomem = 1;
		ld->failed = 1;
		return 1;
	}
	k->line = ld->lineno;
	TAILQ_INSERT_TAIL(&ld->cur->keys, k, entry);
	return 1;
}

/* Free the records of pass one. */
static void
config_free_sections(struct cf_load *ld)
{
	struct cf_section	*sec;
	struct cf_key		*k;

	while ((sec = TAILQ_FIRST(&ld->sections)) != NULL) {
		TAILQ_REMOVE(&ld->sections, sec, entry);
		while ((k = TAILQ_FIRST(&sec->keys)) != NULL) {
			TAILQ_REMOVE(&sec->keys, k, entry);
			free(k->key);
			free(k->value);
			free(k);
		}
		free(sec->name);
		free(sec);
	}
}

/* The table entry for key in a section of the given kind, or NULL. */
static const struct key_def *
key_find(const char *key, int where)
{
	size_t	i;

	for (i = 0; i < nitems(config_keys); i++) {
		if ((config_keys[i].flags & where) &&
		    strcmp(config_keys[i].name, key) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* Read the numeric value of kd stored in base. */
static uint64_t
key_get(const struct key_def *kd, const void *base)
{
	const char	*p = (const char *)base + kd->offset;

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
		return (uint64_t)*(const int *)p;
	default:
		return 0;
	}
}

/* Store a numeric value of kd in base. */
static void
key_put(const struct key_def *kd, void *base, uint64_t v)
{
	char	*p = (char *)base + kd->offset;

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
		*(int *)p = (int)v;
		break;
	default:
		break;
	}
}

/* Write a numeric value of kd in its canonical form. */
static void
key_format(const struct key_def *kd, uint64_t v, char *buf, size_t len)
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

/* Where kd is stored in d: in d->lim for a limit. */
static void *
key_dbase(const struct key_def *kd, struct daemon_conf *d)
{
	return (kd->flags & KEY_LIMIT) ? (void *)&d->lim : (void *)d;
}

/* Where kd is stored in ic: in ic->lim for a limit. */
static void *
key_ibase(const struct key_def *kd, struct instance_conf *ic)
{
	return (kd->flags & KEY_LIMIT) ? (void *)&ic->lim : (void *)ic;
}

/* Copy the value of kd from base src to base dst; -1 when out of memory. */
static int
key_copy(const struct key_def *kd, void *dst, const void *src)
{
	if (kd->type == KEY_ACL)
		return acl_copy((struct acl *)(void *)((char *)dst +
		    kd->offset), (const struct acl *)(const void *)
		    ((const char *)src + kd->offset));
	key_put(kd, dst, key_get(kd, src));
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

/*
 * Parse a list of CIDR prefixes (allow, deny) separated by whitespace
 * and/or commas into acl: the first line of the key in a section replaces
 * what acl held (an inherited copy), a repeated one adds to it.  Every bad
 * prefix is reported; a line may not be empty, nor a list name the same
 * prefix twice.  Returns 0 or -1.
 */
static int
config_acl(struct cf_load *ld, const struct key_def *kd, struct acl *acl,
    const struct cf_key *k)
{
	static const char	 seps[] = " \t,";
	struct cidr		 c, *v;
	const char		*p, *cause;
	char			 tok[64], text[64];
	size_t			 n, i, first;
	int			 bad = 0;

	if (!k->more)
		acl_free(acl);
	first = acl->n;
	for (p = k->value + strspn(k->value, seps); *p != '\0';
	    p += n, p += strspn(p, seps)) {
		n = strcspn(p, seps);
		if (n >= sizeof(tok)) {
			config_error(ld, k->line, "%s: '%.*s': too long",
			    kd->name, (int)n, p);
			bad = 1;
			continue;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (parse_cidr(tok, &c, &cause) == -1) {
			config_error(ld, k->line, "%s: '%s': %s", kd->name,
			    tok, cause);
			bad = 1;
			continue;
		}
		for (i = 0; i < acl->n; i++) {
			if (acl->v[i].family == c.family &&
			    acl->v[i].prefix == c.prefix &&
			    memcmp(acl->v[i].addr, c.addr, sizeof(c.addr)) == 0)
				break;
		}
		if (i < acl->n) {
			cidr_format(&c, text, sizeof(text));
			config_error(ld, k->line, "%s: '%s' is listed twice",
			    kd->name, text);
			bad = 1;
			continue;
		}
		v = reallocarray(acl->v, acl->n + 1, sizeof(*v));
		if (v == NULL) {
			ld->nomem = ld->failed = 1;
			return -1;
		}
		acl->v = v;
		acl->v[acl->n++] = c;
	}
	if (acl->n == first && !bad) {
		config_error(ld, k->line, "%s: no prefixes (0.0.0.0/0 and ::/0 "
		    "are every address)", kd->name);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* Parse the single tcp:// endpoint of kd (metrics_listen) into ep. */
static int
config_endpoint(struct cf_load *ld, const struct key_def *kd,
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
	if (ep->proto != SERVICE_TCP) {
		config_error(ld, k->line, "%s: '%s': served over tcp:// only",
		    kd->name, k->value);
		memset(ep, 0, sizeof(*ep));
		return -1;
	}
	return 0;
}

/*
 * Parse and store one table key (not service or listen) into base, the
 * struct that kd's offset is into, recording an error that names the
 * allowed range.  Returns 0 or -1.
 */
static int
config_set(struct cf_load *ld, const struct key_def *kd, void *base,
    const struct cf_key *k)
{
	const char	*cause = NULL;
	char		 lo[32], hi[32];
	char		**sp;
	uint64_t	 v = 0;
	int		 r = -1, b, level;

	switch (kd->type) {
	case KEY_LOGLEVEL:
		if ((level = log_level_parse(k->value)) == -1)
			cause = "unknown level (use debug, info, notice, "
			    "warning or err)";
		else {
			v = (uint64_t)level;
			r = 0;
		}
		break;
	case KEY_UINT:
		if ((kd->flags & KEY_AUTO) && strcmp(k->value, "auto") == 0) {
			key_put(kd, base, 0);
			return 0;
		}
		r = parse_uint(k->value, 0, UINT64_MAX, &v, &cause);
		break;
	case KEY_DURATION:
		r = parse_duration_ms(k->value, UINT64_MAX, &v, &cause);
		break;
	case KEY_SIZE:
	case KEY_SIZE64:
		r = parse_size(k->value, UINT64_MAX, &v, &cause);
		break;
	case KEY_LOGCONN:
		for (v = 0; v < nitems(log_conn_names); v++) {
			if (strcmp(k->value, log_conn_names[v]) == 0)
				break;
		}
		if (v < nitems(log_conn_names))
			r = 0;
		else
			cause = "use off or close";
		break;
	case KEY_ENDPOINT:
		return config_endpoint(ld, kd, (struct endpoint *)(void *)
		    ((char *)base + kd->offset), k);
	case KEY_ACL:
		return config_acl(ld, kd, (struct acl *)(void *)
		    ((char *)base + kd->offset), k);
	case KEY_BOOL:
		if ((r = parse_bool(k->value, &b, &cause)) == 0)
			v = (uint64_t)b;
		break;
	case KEY_STRING:
		if (*k->value == '\0') {
			config_error(ld, k->line, "%s: empty value", kd->name);
			return -1;
		}
		sp = (char **)(void *)((char *)base + kd->offset);
		free(*sp);
		if ((*sp = strdup(k->value)) == NULL) {
			ld->nomem = ld->failed = 1;
			return -1;
		}
		return 0;
	default:
		return -1;
	}
	if (r == -1) {
		config_error(ld, k->line, "%s: '%s': %s%s", kd->name, k->value,
		    cause, (kd->flags & KEY_AUTO) ? " (or auto)" : "");
		return -1;
	}
	if (kd->type != KEY_LOGLEVEL && kd->type != KEY_BOOL &&
	    kd->type != KEY_LOGCONN && (v < kd->min || v > kd->max)) {
		key_format(kd, kd->min, lo, sizeof(lo));
		key_format(kd, kd->max, hi, sizeof(hi));
		config_error(ld, k->line, "%s: '%s' is out of range "
		    "(%s to %s%s)", kd->name, k->value, lo, hi,
		    (kd->flags & KEY_AUTO) ? ", or auto" : "");
		return -1;
	}
	key_put(kd, base, v);
	return 0;
}

/* Whether ep asks for any free port (port 0): never a clash. */
static int
endpoint_any_port(const struct endpoint *ep)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (ep->addr.ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)&ep->addr;
		return sin6->sin6_port == 0;
	}
	sin = (const struct sockaddr_in *)&ep->addr;
	return sin->sin_port == 0;
}

/*
 * Parse "listen =": one or more endpoints separated by whitespace and/or
 * commas.  An endpoint listed twice in one instance is an error, except
 * with port 0, where each one gets its own port.
 */
static int
config_listen(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	static const char	 seps[] = " \t,";
	struct endpoint		 ep, *eps;
	const char		*p, *cause;
	char			 tok[128];
	size_t			 n, i;
	int			 bad = 0;

	for (p = k->value + strspn(k->value, seps); *p != '\0';
	    p += n, p += strspn(p, seps)) {
		n = strcspn(p, seps);
		if (n >= sizeof(tok)) {
			config_error(ld, k->line, "listen: '%.*s': too long",
			    (int)n, p);
			bad = 1;
			continue;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (parse_endpoint(tok, &ep, &cause) == -1) {
			config_error(ld, k->line, "listen: '%s': %s", tok,
			    cause);
			bad = 1;
			continue;
		}
		for (i = 0; i < ic->nendpoints; i++) {
			if (endpoint_same(&ic->endpoints[i], &ep) &&
			    !endpoint_any_port(&ep))
				break;
		}
		if (i < ic->nendpoints) {
			config_error(ld, k->line, "listen: '%s' is listed "
			    "twice", ep.text);
			bad = 1;
			continue;
		}
		eps = reallocarray(ic->endpoints, ic->nendpoints + 1,
		    sizeof(*eps));
		if (eps == NULL) {
			ld->nomem = ld->failed = 1;
			return -1;
		}
		ic->endpoints = eps;
		ic->endpoints[ic->nendpoints++] = ep;
	}
	if (ic->nendpoints == 0 && !bad) {
		config_error(ld, k->line, "listen: no endpoints");
		bad = 1;
	}
	return bad ? -1 : 0;
}

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

/* Report repeated section headers and flag (and report) repeated keys. */
static void
config_mark_dups(struct cf_load *ld)
{
	struct cf_section	*sec, *s2;
	struct cf_key		*k;
	const struct key_def	*kd;
	int			 first;

	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (sec->name == NULL)
			continue;
		TAILQ_FOREACH(s2, &ld->sections, entry) {
			if (s2 == sec)
				break;
			if (s2->name == NULL ||
			    strcmp(s2->name, sec->name) != 0)
				continue;
			config_error(ld, sec->line, "duplicate section [%s] "
			    "(first at line %d)", sec->name, s2->line);
			break;
		}
		TAILQ_FOREACH(k, &sec->keys, entry) {
			if ((first = config_earlier_key(ld, sec, k)) == 0)
				continue;
			/* A long access list may take several lines. */
			kd = key_find(k->key, config_is_daemon(sec) ?
			    KEY_DAEMON : KEY_INSTANCE);
			if (kd != NULL && kd->type == KEY_ACL) {
				k->more = 1;
				continue;
			}
			config_error(ld, k->line, "duplicate key '%s' "
			    "(first at line %d)", k->key, first);
			k->dup = 1;
		}
	}
}

/* Apply the keys of a [daemon] section. */
static void
config_daemon(struct cf_load *ld, struct cf_section *sec)
{
	const struct key_def	*kd;
	struct cf_key		*k;

	TAILQ_FOREACH(k, &sec->keys, entry) {
		if (k->dup)
			continue;
		if ((kd = key_find(k->key, KEY_DAEMON)) == NULL) {
			config_error(ld, k->line,
			    "unknown key '%s' in [daemon]", k->key);
			continue;
		}
		config_set(ld, kd, key_dbase(kd, &ld->conf->daemon), k);
	}
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

/* Look up "service =" for ic, naming the known services when unknown. */
static void
config_service(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	char	names[256];
	size_t	i, off = 0;
	int	n;

	if ((ic->service = service_find(k->value)) != NULL) {
		/* svc branch stand-in for the house branch: conf_size. */
		if (ic->service->conf_size > 0 && ic->svc.data == NULL &&
		    (ic->svc.data = calloc(1, ic->service->conf_size)) == NULL)
			config_error(ld, k->line, "out of memory");
		return;
	}
	names[0] = '\0';
	for (i = 0; services[i] != NULL; i++) {
		n = snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", services[i]->name);
		if (n < 0 || (size_t)n >= sizeof(names) - off)
			break;
		off += (size_t)n;
	}
	config_error(ld, k->line, "service: unknown service '%s' (known: %s)",
	    k->value, names);
}

/*
 * Hand a key that is not in the table to the instance's service.  Its
 * causes name the key themselves ("log_data: ...").  Returns 0 or -1.
 */
static int
config_service_key(struct cf_load *ld, struct instance_conf *ic,
    const struct cf_key *k)
{
	const struct service	*svc = ic->service;
	char			*cause = NULL;
	size_t			 i;
	int			 r;

	r = SERVICE_KEY_UNKNOWN;
	/* svc branch stand-in for the house branch: keys[] filter. */
	for (i = 0; svc->keys != NULL && svc->keys[i] != NULL; i++)
		if (strcmp(svc->keys[i], k->key) == 0)
			break;
	if (svc->conf_key != NULL && svc->keys != NULL &&
	    svc->keys[i] != NULL && (svc->conf_size == 0 || ic->svc.data != NULL))
		r = svc->conf_key(&ic->svc, k->key, k->value, &cause);
	if (r == SERVICE_KEY_OK)
		return 0;
	if (r == SERVICE_KEY_UNKNOWN)
		config_error(ld, k->line, "unknown key '%s' for service '%s'",
		    k->key, svc->name);
	else
		config_error(ld, k->line, "%s", cause != NULL ? cause :
		    "bad value (out of memory?)");
	free(cause);
	return -1;
}

/*
 * Check ic's endpoints against its service's protocols and, when ic is
 * enabled, against those of the enabled instances before it and against
 * metrics_listen, reported at whichever of the two lines comes later.
 * Port 0 is never a clash: the kernel gives each one its own port.
 */
static void
config_check_endpoints(struct cf_load *ld, struct instance_conf *ic,
    int line)
{
	const struct daemon_conf *d = &ld->conf->daemon;
	struct instance_conf	*other;
	struct endpoint		*ep;
	size_t			 i, j;

	for (i = 0; i < ic->nendpoints; i++) {
		ep = &ic->endpoints[i];
		if (ic->service != NULL &&
		    (ic->service->protocols & ep->proto) == 0)
			config_error(ld, line, "listen: '%s': service '%s' "
			    "does not support %s", ep->text, ic->service->name,
			    ep->proto == SERVICE_TCP ? "tcp" : "udp");
		if (!ic->enabled || endpoint_any_port(ep))
			continue;
		if (d->metrics && endpoint_same(ep, &d->metrics_listen)) {
			if (ld->metrics_line > line)
				config_error(ld, ld->metrics_line,
				    "metrics_listen: '%s' is already used by "
				    "[%s] (line %d)", ep->text, ic->name,
				    ic->line);
			else
				config_error(ld, line, "listen: '%s' is "
				    "already used by metrics_listen (line %d)",
				    ep->text, ld->metrics_line);
		}
		TAILQ_FOREACH(other, &ld->conf->instances, entry) {
			if (other == ic)
				break;
			if (!other->enabled)
				continue;
			for (j = 0; j < other->nendpoints; j++) {
				if (endpoint_same(ep, &other->endpoints[j]))
					break;
			}
			if (j < other->nendpoints) {
				config_error(ld, line, "listen: '%s' is "
				    "already used by [%s] (line %d)", ep->text,
				    other->name, other->line);
				break;
			}
		}
	}
}

/*
 * Build and validate the instance of one section.  The service is looked
 * up first, since conf_key needs it and "service =" may come last; keys
 * of an unknown service are not judged.  conf_check runs only when all of
 * the service's own keys were accepted, so that it does not report what
 * follows from an error already reported.
 */
static void
config_instance(struct cf_load *ld, struct cf_section *sec)
{
	const struct key_def	*kd;
	struct instance_conf	*ic;
	struct cf_key		*k, *svckey, *listen;
	size_t			 i;
	char			*cause;
	int			 svc_errors = 0;

	if ((ic = calloc(1, sizeof(*ic))) == NULL ||
	    (ic->name = strdup(sec->name)) == NULL) {
		free(ic);
		ld->nomem = ld->failed = 1;
		return;
	}
	ic->conf = ld->conf;
	ic->line = sec->line;
	ic->svc.ic = ic;
	TAILQ_INSERT_TAIL(&ld->conf->instances, ic, entry);

	for (i = 0; i < nitems(config_keys); i++) {
		kd = &config_keys[i];
		if ((kd->flags & KEY_INSTANCE) == 0)
			continue;
		if ((kd->flags & KEY_REQUIRED) &&
		    config_find_key(sec, kd->name) == NULL)
			config_error(ld, sec->line, "[%s]: no '%s' key",
			    ic->name, kd->name);
		if ((kd->flags & (KEY_INHERIT | KEY_LIMIT)) ==
		    (KEY_INHERIT | KEY_LIMIT)) {
			if (key_copy(kd, &ic->lim, &ld->conf->daemon.lim) == -1)
				ld->nomem = ld->failed = 1;
		} else if (kd->flags & KEY_INHERIT)
			key_put(kd, ic, key_get(key_find(kd->name, KEY_DAEMON),
			    &ld->conf->daemon));
		else
			key_put(kd, key_ibase(kd, ic), kd->def);
	}

	if ((svckey = config_find_key(sec, "service")) != NULL)
		config_service(ld, ic, svckey);
	TAILQ_FOREACH(k, &sec->keys, entry) {
		if (k->dup || k == svckey)
			continue;
		if ((kd = key_find(k->key, KEY_INSTANCE)) == NULL) {
			if (ic->service != NULL &&
			    config_service_key(ld, ic, k) == -1)
				svc_errors++;
		} else if (kd->type == KEY_ENDPOINTS)
			config_listen(ld, ic, k);
		else
			config_set(ld, kd, key_ibase(kd, ic), k);
	}
	config_check_limits(ld, sec, &ic->lim);

	listen = config_find_key(sec, "listen");
	config_check_endpoints(ld, ic, listen != NULL ? listen->line : 0);
	if (ic->service != NULL && ic->service->conf_check != NULL &&
	    svc_errors == 0) {
		cause = NULL;
		if (ic->service->conf_check(&ic->svc, &cause) != 0)
			config_error(ld, sec->line, "[%s]: %s", ic->name,
			    cause != NULL ? cause : "bad settings");
		free(cause);
	}
}

/* Resolve the recorded sections into a config; NULL on any error. */
static struct config *
config_resolve(struct cf_load *ld, const char *dir)
{
	const struct key_def	*kd;
	struct cf_section	*sec;
	struct config		*conf;
	size_t			 i;
	int			 ninstances = 0;

	if ((conf = calloc(1, sizeof(*conf))) == NULL ||
	    (conf->path = strdup(ld->name)) == NULL ||
	    (conf->dir = strdup(dir)) == NULL) {
		if (conf != NULL)
			free(conf->path);
		free(conf);
		ld->nomem = ld->failed = 1;
		return NULL;
	}
	conf->refs = 1;
	TAILQ_INIT(&conf->instances);
	ld->conf = conf;
	for (i = 0; i < nitems(config_keys); i++) {
		kd = &config_keys[i];
		if (kd->flags & KEY_DAEMON)
			key_put(kd, key_dbase(kd, &conf->daemon), kd->def);
	}

	config_mark_dups(ld);
	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (config_is_daemon(sec))
			config_daemon(ld, sec);
	}
	conf->daemon.metrics = conf->daemon.metrics_listen.proto != 0;
	ld->metrics_line = config_key_line(ld, NULL, "metrics_listen");
	config_check_limits(ld, NULL, &conf->daemon.lim);
	TAILQ_FOREACH(sec, &ld->sections, entry) {
		if (sec->name != NULL && !config_is_daemon(sec)) {
			config_instance(ld, sec);
			ninstances++;
		}
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
	int		 r;

	TAILQ_INIT(&ld->sections);
	r = ini_parse_stream(config_read, ld, config_handler, ld);
	if (r == -2)
		ld->nomem = ld->failed = 1;
	else if (r != 0 && !ld->failed)
		config_error(ld, r, "syntax error");
	if (!ld->nomem && !ld->readfail)
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
	if ((ld.f = fopen(path, "re")) == NULL)
		config_error(&ld, 0, "cannot open: %s", strerror(errno));
	else {
		/* Relative file names in the config are from its directory. */
		if ((slash = strrchr(path, '/')) == NULL)
			dir = strdup(".");
		else if (slash == path)
			dir = strdup("/");
		else
			dir = strndup(path, (size_t)(slash - path));
		if (dir != NULL && (real = realpath(dir, NULL)) != NULL) {
			free(dir);
			dir = real;
		}
		if (dir == NULL)
			ld.nomem = ld.failed = 1;
		else
			conf = config_run(&ld, dir);
		fclose(ld.f);
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
 * Free conf and everything in it.  conf_free runs for each instance whose
 * service set data, so a service that stored nothing is not called.
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
			free(ic->svc.data);	/* svc branch stand-in */
		acl_free(&ic->lim.allow);
		acl_free(&ic->lim.deny);
		free(ic->endpoints);
		free(ic->name);
		free(ic);
	}
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
 * Print one table key of base as "key = value"; unset strings, an unset
 * metrics_listen and empty access lists are left out.
 */
static void
config_print_key(const struct key_def *kd, const void *base, FILE *fp)
{
	const struct instance_conf	*ic = base;
	const struct endpoint		*ep;
	const struct acl		*acl;
	const char			*s;
	char				 buf[64];
	size_t				 i;

	switch (kd->type) {
	case KEY_STRING:
		s = *(char *const *)(const void *)((const char *)base +
		    kd->offset);
		if (s != NULL)
			fprintf(fp, "%s = %s\n", kd->name, s);
		break;
	case KEY_SERVICE:
		fprintf(fp, "%s = %s\n", kd->name, ic->service->name);
		break;
	case KEY_ENDPOINTS:
		fprintf(fp, "%s =", kd->name);
		for (i = 0; i < ic->nendpoints; i++)
			fprintf(fp, " %s", ic->endpoints[i].text);
		fprintf(fp, "\n");
		break;
	case KEY_ENDPOINT:
		ep = (const void *)((const char *)base + kd->offset);
		if (ep->proto != 0)
			fprintf(fp, "%s = %s\n", kd->name, ep->text);
		break;
	case KEY_ACL:
		acl = (const void *)((const char *)base + kd->offset);
		if (acl->n == 0)
			break;
		fprintf(fp, "%s =", kd->name);
		for (i = 0; i < acl->n; i++) {
			cidr_format(&acl->v[i], buf, sizeof(buf));
			fprintf(fp, " %s", buf);
		}
		fprintf(fp, "\n");
		break;
	default:
		key_format(kd, key_get(kd, base), buf, sizeof(buf));
		fprintf(fp, "%s = %s\n", kd->name, buf);
		break;
	}
}

/*
 * Print the resolved config for -t, in INI form with every value in its
 * canonical unit: [daemon] first, then one section per instance with its
 * effective values (inherited ones included; deny is the instance's own
 * list only), ending with a "; SERVICE: key=value ..." comment from
 * conf_describe.  Loading the output gives the same config.
 */
void
config_print(const struct config *conf, FILE *fp)
{
	const struct key_def	*kd;
	struct instance_conf	*ic;
	char			 desc[CONFIG_DESCRIBE_MAX], *p;
	size_t			 i;

	fprintf(fp, "[daemon]\n");
	for (i = 0; i < nitems(config_keys); i++) {
		kd = &config_keys[i];
		if (kd->flags & KEY_DAEMON)
			config_print_key(kd, (kd->flags & KEY_LIMIT) ?
			    (const void *)&conf->daemon.lim :
			    (const void *)&conf->daemon, fp);
	}
	TAILQ_FOREACH(ic, &conf->instances, entry) {
		fprintf(fp, "\n[%s]\n", ic->name);
		for (i = 0; i < nitems(config_keys); i++) {
			kd = &config_keys[i];
			if (kd->flags & KEY_INSTANCE)
				config_print_key(kd, (kd->flags & KEY_LIMIT) ?
				    (const void *)&ic->lim : (const void *)ic,
				    fp);
		}
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

/*
 * The names of all [daemon] keys and all common instance keys, once each,
 * NULL-terminated; filled from the table on the first call (from main()
 * or a test, before any thread starts).  Service keys are in each
 * service's keys list.
 */
const char *const *
config_key_names(void)
{
	static const char	*names[nitems(config_keys) + 1];
	size_t			 i, j, n = 0;

	if (names[0] != NULL)
		return names;
	for (i = 0; i < nitems(config_keys); i++) {
		for (j = 0; j < n; j++) {
			if (strcmp(names[j], config_keys[i].name) == 0)
				break;
		}
		if (j == n)
			names[n++] = config_keys[i].name;
	}
	names[n] = NULL;
	return names;
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
