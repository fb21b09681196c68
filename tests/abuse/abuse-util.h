/*
 * abuse-util.h: helpers of the fault suite on top of the integration
 * harness (tests/integration/harness.h): clients bound to other loopback
 * addresses (127.0.0.2... act as other sources) and to chosen UDP ports,
 * non-blocking connection floods, "served or refused" checks, the daemon's
 * log lines and metrics.  Every wait is bounded in time and in rounds; every
 * address is on 127.0.0.0/8 or ::1.
 */
#ifndef NETSVCD_ABUSE_UTIL_H
#define NETSVCD_ABUSE_UTIL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* The sanitizer build: heavy cases get lighter, timing bounds looser. */
#ifdef NETSVCD_ABUSE_SANITIZED
#define AB_SANITIZED	1
#else
#define AB_SANITIZED	0
#endif

/* What happened to a client: served, closed by the daemon, or neither. */
enum ab_fate {
	AB_SERVED,		/* the echo came back */
	AB_CLOSED,		/* EOF or reset: refused or dropped */
	AB_HUNG,		/* nothing within the time allowed */
	AB_ERROR,		/* a local error (see errno) */
};

/* Timeouts: hs_ms() (wrappers), times 3 in the sanitizer build. */
int		 ab_ms(int ms);
/* A time bound for what must be quick (latency): x 4 when sanitized. */
int		 ab_quick_ms(int ms);
/* Sleep for a measuring window or a refill, not to wait for readiness. */
void		 ab_pause_ms(int ms);

/* Raise this process's RLIMIT_NOFILE to at least n, or fail the test. */
void		 ab_nofile(unsigned long n);

/*
 * A non-blocking TCP socket to ep, bound to the source address src
 * ("127.0.0.2", "::1"; NULL: any), connect() started.  Returns the fd
 * (connected or in progress) or -1 with errno.
 */
int		 ab_tcp_start(const struct hs_endpoint *, const char *src);
/* Wait for a started connect to finish: 0, or -1 with errno. */
int		 ab_tcp_wait(int fd, int timeout_ms);
/* ab_tcp_start() + ab_tcp_wait(), failing the test on error. */
int		 ab_tcp(const struct hs_endpoint *, const char *src);

/*
 * A non-blocking UDP socket bound to src:port and connected to ep.  With
 * port 0 the kernel picks one, never one of this test's daemons' UDP
 * ports (netsvcd would rightly not answer those).  -1 with errno when
 * the port is taken.
 */
int		 ab_udp(struct hs_daemon *, const struct hs_endpoint *,
		    const char *src, int port);

/*
 * Send msg on an echo connection and wait for it to come back (SERVED),
 * or for EOF or a reset (CLOSED), or neither within timeout_ms (HUNG).
 */
enum ab_fate	 ab_echo_fate(int fd, const char *msg, int timeout_ms);
/* ab_echo_fate() on a new connection from src (ab_tcp), then closed. */
enum ab_fate	 ab_fate_once(const struct hs_endpoint *, const char *src,
		    const char *msg, int timeout_ms);
const char	*ab_fate_name(enum ab_fate);

/* Whether the peer has closed or reset (poll POLLRDHUP), without reading. */
int		 ab_peer_closed(int fd);
/* Wait up to timeout_ms for ab_peer_closed(): 0, or -1 on timeout. */
int		 ab_wait_peer_closed(int fd, int timeout_ms);
/* Close with SO_LINGER 0: the peer gets a reset. */
void		 ab_reset(int fd);

/*
 * One echo exchange on a fresh connection from src; fails the test unless
 * it is served within timeout_ms.  Returns the round trip, connect
 * included, in ms.
 */
long		 ab_probe(struct hs_daemon *, const char *instance,
		    int family, const char *src, int timeout_ms);

/* Wait until the daemon has at most base descriptors; fails otherwise. */
void		 ab_wait_nfds(struct hs_daemon *, int base, int timeout_ms,
		    const char *what);

/*
 * Sum of N over the log lines "<instance>: <verb> N <noun>..." from the
 * start of this daemon run (for "refused N connections").
 */
unsigned long	 ab_log_sum(struct hs_daemon *, const char *instance,
		    const char *verb);
/* Whether the daemon's log holds text. */
int		 ab_log_has(struct hs_daemon *, const char *text);

/*
 * One sample of GET /metrics ("metrics listening on ..." in the log):
 * name{instance="...",reason="..."} (reason NULL: any), hs_scrape().  -1
 * when the sample is missing; fails the test when the endpoint does not
 * answer.  A whole series: hs_scrape(hs_metrics_port(d), series).
 */
long		 ab_metric(struct hs_daemon *, const char *name,
		    const char *instance, const char *reason);
#endif
