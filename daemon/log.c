/*
 * log.c: logging to stderr.  Under systemd, stderr is the journal and each
 * line starts with a <N> priority prefix that journald understands
 * (sd-daemon(3)); elsewhere lines start with a timestamp.  One fprintf per
 * line, so lines from several threads do not interleave.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static atomic_int	log_level = LOG_LEVEL_INFO;
static int		log_journal;	/* stderr is the journal */

static const char *const log_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static int	log_stderr_is_journal(void);
static void	log_printf(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	log_emit_errno(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/* True when $JOURNAL_STREAM names our stderr (systemd.exec(5)). */
static int
log_stderr_is_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;
	char			*end;

	if (env == NULL)
		return 0;
	errno = 0;
	dev = strtoull(env, &end, 10);
	if (errno != 0 || end == env || *end != ':')
		return 0;
	env = end + 1;
	ino = strtoull(env, &end, 10);
	if (errno != 0 || end == env || *end != '\0')
		return 0;
	if (fstat(fileno(stderr), &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Pick the destination format once and set the level. */
void
log_init(int level)
{
	log_journal = log_stderr_is_journal();
	log_setlevel(level);
}

/* True when lines go to the journal (structured fields make sense). */
int
log_is_journal(void)
{
	return log_journal;
}

void
log_setlevel(int level)
{
	atomic_store(&log_level, level);
}

int
log_getlevel(void)
{
	return atomic_load(&log_level);
}

/* Map "debug".."err" (and "warn", "error") to a level; -1 when unknown. */
int
log_level_parse(const char *name)
{
	size_t	i;

	if (strcasecmp(name, "warn") == 0)
		return LOG_LEVEL_WARNING;
	if (strcasecmp(name, "error") == 0)
		return LOG_LEVEL_ERR;
	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (log_names[i] != NULL && strcasecmp(name, log_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		return "unknown";
	return log_names[level];
}

/* Format one line and write it with a single call. */
void
log_emit(int level, const char *fmt, va_list ap)
{
	char		 msg[1024], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 saved = errno;

	if (level > atomic_load(&log_level)) {
		errno = saved;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", level, msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld netsvcd[%s]: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_level_name(level), msg);
	}
	errno = saved;
}

/* Emit a preformatted message, with printf-style arguments. */
static void
log_printf(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(level, fmt, ap);
	va_end(ap);
}

/* Emit the message followed by ": strerror(errno)". */
static void
log_emit_errno(int level, const char *fmt, va_list ap)
{
	char	buf[1024];
	int	saved = errno;

	if (level > atomic_load(&log_level))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_printf(level, "%s: %s", buf, strerror(saved));
	errno = saved;
}

void
log_err(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit_errno(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit_errno(LOG_LEVEL_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_WARNING, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_NOTICE, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void
(log_debug)(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_DEBUG, fmt, ap);
	va_end(ap);
}

/* Log with strerror(errno) and exit 1: for main() before the loop runs. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit_errno(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log and exit 1: for main() before the loop runs. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * The one rate limit for log lines: at most per_sec events pass in each
 * second (now, in seconds), the others are only counted.  Returns 0 for
 * an event only counted, else how many to report: this one and those held
 * back since the last that passed.  Pure, for the unit tests.
 */
unsigned long
log_rate_take(struct log_rate *r, long now, unsigned int per_sec)
{
	unsigned long	n;

	if (now != r->last) {
		r->last = now;
		r->passed = 0;
	}
	if (r->passed >= per_sec) {
		r->suppressed++;
		return 0;
	}
	r->passed++;
	n = r->suppressed + 1;
	r->suppressed = 0;
	return n;
}

/* See log.h.  Pure, for the unit tests. */
unsigned long
log_rate_drain(struct log_rate *r, long now)
{
	unsigned long	n = r->suppressed;

	if (n == 0 || now == r->last)
		return 0;
	r->last = now;
	r->passed = 1;
	r->suppressed = 0;
	return n;
}

/* log_rate_drain() now. */
unsigned long
log_rate_flush(struct log_rate *r)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return log_rate_drain(r, (long)ts.tv_sec);
}

/* log_rate_take() at one line a second, now. */
unsigned long
log_ratelimit(struct log_rate *r)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return log_rate_take(r, (long)ts.tv_sec, 1);
}
