/*
 * <netsvcd/log.h>: the logging calls a netsvcd module may make, part of
 * the module SDK (NETSVCD_SERVICE_ABI).  They are the daemon's own log
 * functions (daemon/log.h declares the same prototypes, with the calls
 * only the daemon makes): one line per call, to the journal under systemd
 * (with its priority) or to stderr with a timestamp; lines below the
 * daemon's log_level are dropped.  log_warn appends ": strerror(errno)",
 * log_warnx does not; both keep errno.  Safe from any worker thread.
 * There is no fatal(): a module never ends the process.
 */
#ifndef NETSVCD_PUBLIC_LOG_H
#define NETSVCD_PUBLIC_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NETSVCD_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#else
#define NETSVCD_PRINTF(f, a)
#endif

/* The names in parentheses: daemon/log.h makes log_debug a macro. */
void	(log_warn)(const char *, ...) NETSVCD_PRINTF(1, 2);
void	(log_warnx)(const char *, ...) NETSVCD_PRINTF(1, 2);
void	(log_notice)(const char *, ...) NETSVCD_PRINTF(1, 2);
void	(log_info)(const char *, ...) NETSVCD_PRINTF(1, 2);
void	(log_debug)(const char *, ...) NETSVCD_PRINTF(1, 2);
/* The current level: 3 (err) to 7 (debug), as syslog(3) numbers them. */
int	(log_getlevel)(void);

#ifdef __cplusplus
}
#endif

#endif
