/*
 * config-read.c: pass one of loading a config, and its errors.  This is
 * the only file that knows inih (the design fixes inih as the INI reader).
 *
 * inih reads the lines through our ini_reader, config_read(), which hands
 * it exactly one real line per call, so line numbers are always right,
 * and checks each line first, so that nothing inih would reject or
 * misread reaches it (docs/DESIGN.md, "Reading the file"):
 *
 *  - a line longer than inih's buffer (199 bytes in Debian's build) is an
 *    error, not two lines (a comment line is skipped whole instead);
 *  - "key: value" is an error: inih would split at ':' as at '=';
 *  - an indented line is an error, not a continuation of the last value;
 *    a section with a bad line does not also report what it then lacks;
 *  - a header is checked and named here (inih cuts names at 49 bytes);
 *  - a value ends at " ;" (inih's inline comments) or " #": "message =
 *    hi ; x" gives "hi".  Text with arbitrary content belongs in a file.
 *
 * Each "key = value" is recorded in file order with its line, repeats
 * included: pass two (config.c) decides what a repeat means.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config-int.h"

#define CONFIG_NAME_MAX		64		/* instance name length */

static int	 config_error_cmp(const void *, const void *);
static int	 config_add_file(struct cf_load *, const char *);
static int	 config_name_cmp(const void *, const void *);
static int	 config_list_dropins(struct cf_load *, char ***, size_t *);
static void	 config_read_dropins(struct cf_load *);
static void	 config_parse(struct cf_load *);
static int	 config_getc(struct cf_load *);
static int	 config_next_line(struct cf_load *);
static struct cf_section *config_add_section(struct cf_load *,
		    const char *, size_t);
static int	 config_check_header(struct cf_load *, const char *);
static int	 config_check_line(struct cf_load *, char *);
static void	 config_bad_line(struct cf_load *);
static const char *config_long_hint(const char *, char *, size_t);
static char	*config_read(char *, int, void *);
static int	 config_handler(void *, const char *, const char *,
		    const char *);

/* The index in ld->files of the file that holds line (0 without files). */
int
config_file_of(const struct cf_load *ld, int line)
{
	size_t	i;

	for (i = ld->nfiles; i > 1; i--) {
		if (ld->files[i - 1].base <= line)
			return (int)i - 1;
	}
	return 0;
}

/*
 * Where line is, for a message about line ref: "line N" in the same file,
 * "FILE:N" in another one (a drop-in and the main file).
 */
const char *
config_where(struct cf_load *ld, int ref, int line, char *buf, size_t len)
{
	int	f = config_file_of(ld, line);

	if (ld->nfiles == 0 || f == config_file_of(ld, ref))
		snprintf(buf, len, "line %d", ld->nfiles == 0 ? line :
		    line - ld->files[f].base);
	else
		snprintf(buf, len, "%s:%d", ld->files[f].name,
		    line - ld->files[f].base);
	return buf;
}

/*
 * Record one error of the load at line (the base of a file: the file as
 * a whole), as "FILE:LINE: message" with the file that holds the line.
 */
void
config_error(struct cf_load *ld, int line, const char *fmt, ...)
{
	struct cf_error	*e;
	va_list		 ap;
	const char	*name = ld->name;
	char		*body, *msg;
	size_t		 size;
	int		 r, f, local = line;

	if (ld->nfiles > 0) {
		f = config_file_of(ld, line);
		name = ld->files[f].name;
		local = line - ld->files[f].base;
	}
	ld->failed = 1;
	va_start(ap, fmt);
	r = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (r == -1) {
		ld->nomem = 1;
		return;
	}
	r = asprintf(&msg, "%s:%d: %s", name, local, body);
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
void
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

/*
 * Open a config file for reading, the way the qotd and banner files are:
 * without blocking (a FIFO named by mistake, or put there, must never
 * hang -t or a reload), regular files only; the size is bounded while
 * reading (CONFIG_FILE_MAX).  Returns the stream, or NULL after
 * recording why at line 0.
 */
FILE *
config_open(struct cf_load *ld, const char *path)
{
	struct stat	 st;
	FILE		*f;
	int		 fd, flags;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		config_error(ld, ld->base, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		config_error(ld, ld->base, "cannot open: %s",
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		config_error(ld, ld->base, "not a regular file (%s)",
		    S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ?
		    "a FIFO" : "a device or socket");
		close(fd);
		return NULL;
	}
	if ((flags = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if ((f = fdopen(fd, "r")) == NULL) {
		config_error(ld, ld->base, "cannot open: %s",
		    strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
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
			config_error(ld, ld->base, "file larger than %d bytes",
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
		config_error(ld, ld->base, "cannot read: %s",
		    strerror(errno));
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
		config_nomem(ld);
		return NULL;
	}
	if (name != NULL && (sec->name = strndup(name, len)) == NULL) {
		free(sec);
		config_nomem(ld);
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
	if (ld->in_dropin && n == 6 && strncmp(p + 1, "daemon", n) == 0) {
		config_error(ld, ld->lineno, "[daemon] in a drop-in file: "
		    "global settings belong in %s", ld->files[0].name);
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
 * treats an indented line after a key as more of that key's value.  An
 * indented line is an error; when it is a well-formed "key = value" its
 * key is kept all the same (from line), so that the error is the only
 * one and not followed by "no 'service' key" and the like.  A '#' after
 * a space or tab starts a comment, as " ;" does for inih.  Returns 0 for
 * a line to hand to inih (from line), -1 for one to hide from it.
 */
static int
config_check_line(struct cf_load *ld, char *line)
{
	char	*p, *q;
	int	 was_space, indented;

	if (ld->lineno == ld->base + 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		memmove(line, line + 3, strlen(line + 3) + 1);
	for (p = line; isspace((unsigned char)*p); p++)
		continue;
	if (*p == '\0' || *p == ';' || *p == '#')
		return 0;
	if ((indented = p != line) != 0) {
		config_error(ld, ld->lineno, "line starts with whitespace "
		    "(continuation lines are not supported)");
		memmove(line, p, strlen(p) + 1);
		p = line;
	}
	if (*p == '[')
		return config_check_header(ld, p);

	/* inih splits at the first '=' or ':' before any " ;" comment. */
	was_space = 0;
	for (q = p; *q != '\0' && *q != '=' && *q != ':'; q++) {
		if (was_space && (*q == ';' || *q == '#'))
			break;
		was_space = isspace((unsigned char)*q);
	}
	if (*q != '=' || q == p) {
		if (!indented && *q != '=')
			config_error(ld, ld->lineno, "expected '[section]', "
			    "'key = value' or a comment");
		else if (!indented)
			config_error(ld, ld->lineno, "missing key name before "
			    "'='");
		config_bad_line(ld);
		return -1;
	}
	/* " #" ends the value like " ;" (inih's own inline comments). */
	for (was_space = 0; *q != '\0'; q++) {
		if (was_space && *q == '#') {
			*q = '\0';
			break;
		}
		was_space = isspace((unsigned char)*q);
	}
	return 0;
}

/* Note a bad line in the current section: its keys are incomplete. */
static void
config_bad_line(struct cf_load *ld)
{
	if (ld->cur != NULL)
		ld->cur->bad_lines++;
}

/*
 * What to do about a line too long for inih, by its key: a text key
 * belongs in a file, a list key may repeat (each line adds).  Returns
 * " (...)" or "".
 */
static const char *
config_long_hint(const char *line, char *buf, size_t len)
{
	static const char *const lists[] = { "listen", "allow", "deny",
	    "proxy_from" };
	size_t	 n, i;

	line += strspn(line, " \t");
	n = strcspn(line, " \t=");
	if (n == 7 && strncmp(line, "message", n) == 0)
		return " (use message_file)";
	for (i = 0; i < nitems(lists); i++) {
		if (n == strlen(lists[i]) && strncmp(line, lists[i], n) == 0) {
			snprintf(buf, len, " (repeat the key: each '%s =' "
			    "line adds to the list)", lists[i]);
			return buf;
		}
	}
	return "";
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
	const char	*p;
	char		 hint[96];
	size_t		 max;

	if (num < 2 || config_next_line(ld) == -1)
		return NULL;
	ld->lineno++;
	str[0] = '\0';
	max = (size_t)num - 1;
	if (max > sizeof(ld->line) - 1)
		max = sizeof(ld->line) - 1;
	p = ld->line + strspn(ld->line, " \t");
	if (ld->linenul) {
		config_error(ld, ld->lineno, "line contains a NUL byte");
		config_bad_line(ld);
	} else if (ld->linelen > max && (*p == ';' || *p == '#'))
		;				/* a comment, of any length */
	else if (ld->linelen > max) {
		config_error(ld, ld->lineno, "line longer than %zu bytes%s",
		    max, config_long_hint(ld->line, hint, sizeof(hint)));
		config_bad_line(ld);
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
		config_nomem(ld);
		return 1;
	}
	k->line = ld->lineno;
	TAILQ_INSERT_TAIL(&ld->cur->keys, k, entry);
	return 1;
}

/* Free the records of pass one. */
void
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
	while (ld->nfiles > 0)
		free(ld->files[--ld->nfiles].name);
	free(ld->files);
	ld->files = NULL;
	free(ld->ports_seen);
	ld->ports_seen = NULL;
}

/* Note that memory ran out: the load fails with "out of memory". */
void
config_nomem(struct cf_load *ld)
{
	ld->nomem = ld->failed = 1;
}

/*
 * Start file name (the main file, a drop-in, or the drop-in directory)
 * at the next line number, so that its lines and its line 0 are its own.
 * Returns 0, or -1 when out of memory.
 */
static int
config_add_file(struct cf_load *ld, const char *name)
{
	struct cf_file	*v;

	v = reallocarray(ld->files, ld->nfiles + 1, sizeof(*v));
	if (v == NULL) {
		config_nomem(ld);
		return -1;
	}
	ld->files = v;
	if ((v[ld->nfiles].name = strdup(name)) == NULL) {
		config_nomem(ld);
		return -1;
	}
	ld->base = ld->nfiles == 0 ? 0 : ld->lineno + 1;
	v[ld->nfiles++].base = ld->base;
	ld->lineno = ld->base;
	ld->nread = 0;
	ld->cur = NULL;			/* a file starts outside sections */
	return 0;
}

/* Order drop-in names bytewise (lexical, whatever the locale). */
static int
config_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names of the drop-ins, "*.ini" but not ".*", in lexical order, into
 * *names (*n of them).  A directory that does not exist has none.
 * Returns 0, or -1 after recording why (the directory counts as a file).
 */
static int
config_list_dropins(struct cf_load *ld, char ***names, size_t *n)
{
	DIR		*dir;
	struct dirent	*de;
	char		**v;
	size_t		 len;
	int		 bad = 0;

	*names = NULL;
	*n = 0;
	if ((dir = opendir(ld->dropins)) == NULL) {
		if (errno == ENOENT)
			return 0;
		if (config_add_file(ld, ld->dropins) == 0)
			config_error(ld, ld->base, "cannot read the drop-in "
			    "directory: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 4 ||
		    strcmp(de->d_name + len - 4, ".ini") != 0)
			continue;
		if (*n == CONFIG_DROPIN_MAX) {
			if (config_add_file(ld, ld->dropins) == 0)
				config_error(ld, ld->base, "more than %d "
				    "drop-in files", CONFIG_DROPIN_MAX);
			bad = 1;
			break;
		}
		if ((v = reallocarray(*names, *n + 1, sizeof(*v))) == NULL ||
		    (v[*n] = strdup(de->d_name)) == NULL) {
			if (v != NULL)
				*names = v;
			config_nomem(ld);
			bad = 1;
			break;
		}
		*names = v;
		(*n)++;
	}
	closedir(dir);
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), config_name_cmp);
	return bad ? -1 : 0;
}

/*
 * Read the drop-ins after the main file, each one as a file of its own:
 * its lines are numbered from 1 and keys before its first header are
 * outside any section.
 */
static void
config_read_dropins(struct cf_load *ld)
{
	FILE	 *main_f = ld->f;
	char	**names, *path;
	size_t	  n, i;

	if (config_list_dropins(ld, &names, &n) == 0) {
		ld->in_dropin = 1;
		for (i = 0; i < n && !ld->nomem && !ld->readfail; i++) {
			if (asprintf(&path, "%s/%s", ld->dropins,
			    names[i]) == -1) {
				config_nomem(ld);
				break;
			}
			if (config_add_file(ld, path) == 0 &&
			    (ld->f = config_open(ld, path)) != NULL) {
				config_parse(ld);
				fclose(ld->f);
			}
			free(path);
		}
		ld->in_dropin = 0;
	}
	ld->f = main_f;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Hand the open file or string to inih, through config_read. */
static void
config_parse(struct cf_load *ld)
{
	int	r;

	r = ini_parse_stream(config_read, ld, config_handler, ld);
	if (r == -2)
		config_nomem(ld);
	else if (r > 0 && !ld->failed)
		config_error(ld, ld->base + r, "syntax error");
}

/*
 * Pass one: read every line of the main file (or string), then of the
 * drop-ins when ld->dropins is set, into ld->sections.  Returns 0, or -1
 * when a file could not be read whole or memory ran out (then pass two is
 * not worth running); other errors are recorded and reading goes on.
 */
int
config_read_sections(struct cf_load *ld)
{
	TAILQ_INIT(&ld->sections);
	if (ld->f != NULL && config_add_file(ld, ld->name) == -1)
		return -1;
	config_parse(ld);
	if (ld->dropins != NULL && !ld->nomem && !ld->readfail)
		config_read_dropins(ld);
	return ld->nomem || ld->readfail ? -1 : 0;
}
