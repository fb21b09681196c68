/*
 * config-int.h: private to the three files of the config loader.
 *
 *	config-read.c	pass one: the file's lines into sections and
 *			(key, value, line) records; errors.  The only file
 *			that knows inih.
 *	config-keys.c	the key table and everything typed about a key:
 *			parsing one value, its range, defaults, printing.
 *	config.c	pass two: records into a validated struct config;
 *			instances and their services; -t; the svc_conf API.
 */
#ifndef NETSVCD_CONFIG_INT_H
#define NETSVCD_CONFIG_INT_H

#include <sys/queue.h>

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "netsvcd.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes read from a file */
#define CONFIG_LINE_KEEP	4096		/* bytes kept of one line */
#define CONFIG_DROPIN_DIR	"netsvcd.d"	/* beside the main file */
#define CONFIG_DROPIN_MAX	256		/* files read from it */
#define CONFIG_WHERE_MAX	(PATH_MAX + 32)	/* "line N" or "FILE:N" */

/*
 * One file of a load: the main file, then the drop-ins.  Lines are
 * numbered across all of them: line L of file k is base + L, and
 * base + 0 (the file as a whole) belongs to no other file.
 */
struct cf_file {
	char			*name;
	int			 base;
};

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
	int			 bad_lines;	/* hidden from inih */
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
	struct cf_file		*files;		/* NULL: name only */
	size_t			 nfiles;
	char			*dropins;	/* drop-in directory, or NULL */
	FILE			*f;		/* reading a file, or */
	const char		*text;		/* reading a string */
	size_t			 nread;		/* bytes read of this file */
	int			 base;		/* line 0 of this file */
	int			 in_dropin;	/* reading a drop-in */
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
	/*
	 * The (protocol, family, port) of every endpoint checked so far, a
	 * bit each: only an endpoint whose bit is set can clash, so a big
	 * file is not checked pair by pair.  NULL: not allocated.
	 */
	uint8_t			*ports_seen;
	int			 module_failed;	/* a module did not load */
};

/* config-read.c */
void	 config_error(struct cf_load *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 config_nomem(struct cf_load *);
FILE	*config_open(struct cf_load *, const char *);
int	 config_file_of(const struct cf_load *, int);
void	 config_errors_finish(struct cf_load *, struct config_errors *);
const char *config_where(struct cf_load *, int ref, int line, char *,
	    size_t);
int	 config_read_sections(struct cf_load *);
void	 config_free_sections(struct cf_load *);

/* config-keys.c */
const struct config_key *key_find(const char *, int scope);
void	*key_field(const struct config_key *, struct daemon_conf *,
	    struct instance_conf *);
const void *key_cfield(const struct config_key *, const struct daemon_conf *,
	    const struct instance_conf *);
int	 key_set_default(const struct config_key *, struct daemon_conf *,
	    struct instance_conf *);
int	 key_set(struct cf_load *, const struct config_key *, void *field,
	    const struct cf_key *);
int	 key_set_listen(struct cf_load *, struct instance_conf *,
	    const struct cf_key *);
void	 key_print(const struct config_key *, const void *field, FILE *);
void	 key_print_item(FILE *, const char *, const char *, size_t *);

#endif
