/*
 * log.h: the one logging family of netsvcd (after OpenBSD's log.c).
 * log_warn appends strerror(errno), log_warnx does not; both keep errno.
 * Under systemd (stderr is the journal) lines carry <N> priority prefixes,
 * elsewhere a timestamp.  Safe to call from any thread.
 */
#ifndef NETSVCD_LOG_H
#define NETSVCD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void	log_init(int level);
void	log_setlevel(int level);
int	log_getlevel(void);
int	log_is_journal(void);
int	log_level_parse(const char *name);	/* -1 when unknown */
const char *log_level_name(int level);

/* Errors: what stops the daemon or a reload (journalctl -p err). */
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Debug lines cost nothing (not even their arguments) when filtered out. */
#define log_debug(...)							\
	(log_getlevel() >= LOG_LEVEL_DEBUG ? log_debug(__VA_ARGS__) : (void)0)
void	log_emit(int level, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/* For main() during startup only. */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * The one rate limit for log lines (zero-initialised): log_ratelimit()
 * returns the number of events to report (>0) at most once per second, 0
 * when this event is only counted; log_rate_take() lets per_sec through
 * in each second given as now.
 */
struct log_rate {
	long		last;		/* second being counted */
	unsigned int	passed;		/* events reported in it */
	unsigned long	suppressed;	/* events held back since the last */
};
unsigned long	log_ratelimit(struct log_rate *);
unsigned long	log_rate_take(struct log_rate *, long now,
		    unsigned int per_sec);
/*
 * The events held back, once their second is over (0: none, or not yet),
 * so that the end of a burst is reported without waiting for another
 * event: log_rate_flush() for now, log_rate_drain() for now given.
 */
unsigned long	log_rate_flush(struct log_rate *);
unsigned long	log_rate_drain(struct log_rate *, long now);

#endif
