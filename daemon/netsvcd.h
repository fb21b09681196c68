/*
 * netsvcd.h: internal types and prototypes of the daemon, grouped by the
 * file that implements them.  Services never include this header.
 */
#ifndef NETSVCD_H
#define NETSVCD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "service.h"

#define NETSVCD_VERSION		"0.1.0"
#define NETSVCD_DEFAULT_CONFIG	"/etc/netsvcd/netsvcd.ini"

#define UNUSED(x)	((void)(x))

/* ---- config-parse.c: pure parsers for config values ---- */

/* One endpoint: "tcp://0.0.0.0:7", "udp://[::1]:10007". */
struct endpoint {
	int			 proto;		/* SERVICE_TCP or SERVICE_UDP */
	struct sockaddr_storage	 addr;		/* AF_INET or AF_INET6 */
	socklen_t		 addrlen;
	char			 text[64];	/* canonical form */
};

/*
 * Each parser returns 0 on success, or -1 and sets *cause to a static
 * string saying what is wrong (never allocated, never NULL on failure).
 */
int	 parse_endpoint(const char *, struct endpoint *, const char **cause);
int	 parse_duration_ms(const char *, uint64_t max, uint64_t *,
	    const char **cause);		/* "500ms" "30s" "5m" "1h" */
int	 parse_size(const char *, uint64_t max, uint64_t *,
	    const char **cause);		/* "512" "64KiB" "1MiB" "64K" */
int	 parse_uint(const char *, uint64_t min, uint64_t max, uint64_t *,
	    const char **cause);
int	 parse_bool(const char *, int *, const char **cause);
void	 format_duration_ms(uint64_t, char *, size_t);	/* "30s", "500ms" */
void	 format_size(uint64_t, char *, size_t);		/* "64KiB" */
int	 endpoint_same(const struct endpoint *, const struct endpoint *);
void	 endpoint_format(const struct endpoint *, char *, size_t);

/* One CIDR prefix: "192.0.2.0/24", "2001:db8::/32", "127.0.0.1" (a /32). */
struct cidr {
	int			 family;	/* AF_INET or AF_INET6 */
	uint8_t			 addr[16];	/* network order, host bits 0 */
	unsigned int		 prefix;	/* 0..32 or 0..128 */
};
int	 parse_cidr(const char *, struct cidr *, const char **cause);
void	 cidr_format(const struct cidr *, char *, size_t);

/* ---- acl.c: access lists (pure) ---- */

struct acl {
	struct cidr		*v;
	size_t			 n;
};
/* 1 when the address falls in one of the prefixes; IPv4-mapped IPv6
 * addresses are matched as IPv4. */
int	 acl_match(const struct acl *, const struct sockaddr *);
/* 1 when allowed: no deny entry matches and allow is empty or matches. */
int	 acl_allows(const struct acl *allow, const struct acl *deny,
	    const struct acl *deny2, const struct sockaddr *);
void	 acl_free(struct acl *);

/* ---- config.c: INI file -> validated struct config ---- */

/* The private side of the service's opaque struct svc_conf. */
struct svc_conf {
	struct instance_conf	*ic;
	void			*data;		/* owned by the service */
};

/*
 * Limits and protections: set in [daemon] (the defaults) and overridden
 * per instance.  0 means "off" for every count, rate and duration here.
 */
struct limits_conf {
	unsigned int		 max_per_source;	/* concurrent TCP */
	unsigned int		 rate;		/* new conns + datagrams/s */
	unsigned int		 burst;		/* bucket size; 0: 2 x rate */
	unsigned int		 instance_rate;	/* whole-instance bucket */
	unsigned int		 instance_burst;
	uint64_t		 max_duration_ms;
	uint64_t		 write_timeout_ms;
	uint64_t		 max_bytes;		/* in + out per session */
	unsigned int		 udp_max_amplification;	/* reply/request */
	unsigned int		 udp_amplify_rate;	/* per source, /s */
	unsigned int		 udp_amplify_burst;
	int			 udp_protect;	/* reflection checks, bool */
	int			 log_connections;	/* LOG_CONN_* */
	struct acl		 allow;		/* empty: everyone */
	struct acl		 deny;
};
#define LOG_CONN_OFF	0
#define LOG_CONN_CLOSE	1

struct instance_conf {
	TAILQ_ENTRY(instance_conf) entry;
	char			*name;		/* section name */
	const struct service	*service;
	struct endpoint		*endpoints;
	size_t			 nendpoints;
	int			 enabled;
	unsigned int		 backlog;
	uint64_t		 idle_timeout_ms;	/* 0: none */
	unsigned int		 max_connections;	/* 0: only the global cap */
	size_t			 buffer_limit;		/* bytes */
	struct limits_conf	 lim;
	struct svc_conf		 svc;
	struct config		*conf;		/* back pointer */
	int			 line;		/* of the [section] header */
};
TAILQ_HEAD(instance_confs, instance_conf);

struct daemon_conf {
	int			 log_level;
	unsigned int		 max_connections;
	unsigned int		 backlog;
	uint64_t		 idle_timeout_ms;
	uint64_t		 shutdown_timeout_ms;
	size_t			 buffer_limit;
	char			*user;		/* NULL: unset */
	char			*group;
	unsigned int		 workers;	/* 0: one per core ("auto") */
	unsigned int		 source_prefix4;	/* grouping of sources */
	unsigned int		 source_prefix6;
	unsigned int		 max_sources;	/* source table entries */
	int			 metrics;	/* metrics_listen is set */
	struct endpoint		 metrics_listen;
	struct limits_conf	 lim;		/* instance defaults */
};

struct config {
	char			*path;		/* file name, or the string's name */
	char			*dir;		/* for relative file names */
	struct daemon_conf	 daemon;
	struct instance_confs	 instances;	/* every section but [daemon] */
	int			 refs;		/* see config_ref() */
};

/* Config errors, each "FILE:LINE: message", in file order. */
struct config_errors {
	char			**msg;
	size_t			  count;
};

struct config	*config_load(const char *path, struct config_errors *);
struct config	*config_load_string(const char *text, const char *name,
		    struct config_errors *);
void		 config_ref(struct config *);
void		 config_unref(struct config *);	/* frees at zero */
void		 config_print(const struct config *, FILE *);	/* for -t */
void		 config_errors_free(struct config_errors *);
const char *const *config_key_names(void);	/* [daemon] + common keys */

/* ---- source.c: per-source limits in a bounded table ---- */

/* A token bucket in thousandths of a token. */
struct bucket {
	uint64_t		 milli;
	uint64_t		 last_ms;
};
int		 bucket_take(struct bucket *, unsigned int rate,
		    unsigned int burst, uint64_t now_ms);

#define SOURCE_NONE	UINT32_MAX
struct source_table;
struct source_table *source_table_new(uint32_t cap, unsigned int prefix4,
		    unsigned int prefix6);
void		 source_table_free(struct source_table *);
uint32_t	 source_get(struct source_table *, const struct sockaddr *,
		    const void *owner);
uint32_t	 source_conns(struct source_table *, uint32_t);
void		 source_hold(struct source_table *, uint32_t);
void		 source_release(struct source_table *, uint32_t);
struct bucket	*source_rate(struct source_table *, uint32_t);
struct bucket	*source_amplify(struct source_table *, uint32_t);

/* ---- runtime types ---- */

struct event_base;
struct event;

/* Why a TCP connection was refused; see refuse_reason_name(). */
enum refuse_reason {
	REFUSE_LIMIT,		/* global or instance max_connections */
	REFUSE_SOURCE,		/* max_per_source */
	REFUSE_RATE,		/* per-source or instance token bucket */
	REFUSE_ACCESS,		/* allow/deny */
	REFUSE_COUNT
};

/* Why a datagram got no reply; see drop_reason_name(). */
enum drop_reason {
	DROP_ACCESS,		/* allow/deny */
	DROP_RATE,		/* token buckets */
	DROP_REFLECT,		/* source port or address (reflection) */
	DROP_AMPLIFY,		/* reply bound, udp_max_amplification */
	DROP_NOREPLY,		/* the service never replies (discard) */
	DROP_ERROR,		/* truncated, or the send failed */
	DROP_COUNT
};

/* The transport a byte counter is for (the proto label of the metrics). */
enum stat_proto {
	PROTO_TCP,
	PROTO_UDP,
	PROTO_COUNT
};

/*
 * Counters of one instance name.  They live apart from the instance so
 * that they carry over a reload; atomics so that workers can share them.
 */
struct instance_stats {
	int			 refs;
	atomic_ulong		 accepted;
	atomic_ulong		 refused[REFUSE_COUNT];
	atomic_ulong		 timed_out;
	atomic_ulong		 bytes_in[PROTO_COUNT];
	atomic_ulong		 bytes_out[PROTO_COUNT];
	atomic_ulong		 dgrams_in;
	atomic_ulong		 dgrams_out;
	atomic_ulong		 dropped[DROP_COUNT];
};
const char	*refuse_reason_name(enum refuse_reason);
const char	*drop_reason_name(enum drop_reason);

/*
 * A running instance: one config section of one generation.  Listeners
 * and connections hold references, so an instance retired by a reload
 * lives until its last connection is gone: connections always finish
 * under the settings they started with.
 */
enum instance_state {
	INSTANCE_STAGED,	/* built by a reload that may still fail */
	INSTANCE_CURRENT,	/* in the running config */
	INSTANCE_RETIRED,	/* replaced; lives on for its connections */
};

struct instance {
	TAILQ_ENTRY(instance)	 entry;
	struct daemon		*d;
	struct instance_conf	*ic;		/* holds a config reference */
	struct instance_stats	*stats;
	atomic_uint		 nconns;
	struct log_rate		 refuse_log;	/* under d->lock */
	struct log_rate		 drop_log;	/* under d->lock */
	struct bucket		 bucket;	/* instance_rate, under d->lock */
	atomic_int		 refs;		/* freed by the main thread */
	enum instance_state	 state;
};
TAILQ_HEAD(instances, instance);

/*
 * One bound socket of an instance, served by one worker; with several
 * workers each endpoint has one listener per worker (SO_REUSEPORT).  Only
 * the main thread changes listeners, and only while the other workers are
 * parked (workers_park), so worker callbacks read them without locks.
 */
struct listener {
	TAILQ_ENTRY(listener)	 entry;
	struct daemon		*d;
	struct worker		*w;
	struct instance		*inst;
	struct instance		*next;		/* taker during a reload */
	struct endpoint		 cfg;		/* as configured */
	struct endpoint		 ep;		/* as bound: the real port */
	int			 fd;
	int			 activated;	/* passed in by systemd */
	struct event		*ev;
};
TAILQ_HEAD(listeners, listener);

/*
 * A worker owns one event_base and everything that runs on it: the
 * connections it accepted and the scratch buffers of its hot paths.
 * Worker 0 runs in the main thread, which also owns signals, reload,
 * metrics and the watchdog; the others run in threads of their own.
 */
struct worker {
	struct daemon		*d;
	unsigned int		 id;
	struct event_base	*base;
	unsigned char		*rbuf;		/* TCP read scratch, RBUF_SIZE */
	int			 pipefd[2];	/* echo splice, -1: none */
	struct dgram_batch	*batch;		/* UDP scratch, on first use */
	LIST_HEAD(, conn)	 conns;
	LIST_HEAD(, conn)	 dead;		/* closed, freed by reaper */
	LIST_HEAD(, conn)	 spare;		/* freed, kept for reuse */
	unsigned int		 nspare;
	struct event		*reaper;
	struct event		*ev_resume;	/* accept again after EMFILE */
	struct event		*ev_park;	/* stop the world, see reload */
	struct event		*ev_stop;	/* close everything, end loop */
	pthread_t		 thread;
	int			 running;	/* thread started */
};

#define RBUF_SIZE	65536

struct daemon {
	struct config		*conf;		/* the current generation */
	struct event_base	*base;		/* worker 0's, the main thread's */
	struct worker		*workers;
	unsigned int		 nworkers;
	struct instances	 instances;	/* current and retired */
	struct listeners	 listeners;
	atomic_uint		 nconns;
	pthread_mutex_t		 lock;		/* sources, buckets, rate logs */
	struct source_table	*sources;
	uint8_t			 udp_ports[65536 / 8];	/* udp_protect */
	pthread_mutex_t		 park_mtx;	/* workers_park() */
	pthread_cond_t		 park_cv;
	unsigned int		 parked;
	unsigned long		 park_gen;
	struct event		*ev_sweep;	/* free unreferenced instances */
	atomic_int		 stopping;
	int			 log_level_forced;	/* -l given */
	int			 reserve_fd;	/* spare descriptor for EMFILE */
	int			*passed_fds;	/* socket activation, -1: taken */
	size_t			 npassed;
	unsigned long		 reloads_ok;
	unsigned long		 reloads_failed;
	struct event		*ev_sig[4];
	struct event		*ev_shutdown;
	struct event		*ev_watchdog;
	struct event		*ev_status;	/* STATUS= refresh */
	struct metrics		*metrics;
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	struct log_rate		 emfile_log;
};

/* ---- reactor.c ---- */
struct daemon	*daemon_new(unsigned int workers);
int		 daemon_start(struct daemon *, struct config *);
void		 daemon_ready(struct daemon *, const char *prefix);
int		 daemon_run(struct daemon *);
void		 daemon_free(struct daemon *);
void		 daemon_stop(struct daemon *);
void		 daemon_conn_gone(struct daemon *);
void		 daemon_status_dump(struct daemon *);

/* ---- reload.c ---- */
int		 daemon_apply(struct daemon *, struct config *, char **cause);
void		 daemon_reload(struct daemon *);

/* ---- control.c: "netsvcd -s reload" and its status file ---- */
#define CONTROL_TIMEOUT_MS	30000
void		 control_publish(unsigned long gen, int ok, const char *text);
int		 control_reload(int timeout_ms);

/* ---- worker.c ---- */
int		 workers_init(struct daemon *, unsigned int n);
int		 workers_start(struct daemon *);
void		 workers_park(struct daemon *);
void		 workers_unpark(struct daemon *);
void		 workers_stop(struct daemon *);
void		 workers_free(struct daemon *);
unsigned int	 workers_auto(void);

/* ---- instance.c ---- */
struct instance	*instance_new(struct daemon *, struct instance_conf *,
		    struct instance_stats *);
struct instance	*instance_find(struct daemon *, const char *name,
		    int retired);
void		 instance_ref(struct instance *);
void		 instance_unref(struct instance *);
void		 instance_sweep(struct daemon *);
int		 instance_admit(struct instance *, const struct sockaddr *,
		    uint32_t *src);	/* 0, or -1: refused */
void		 instance_release(struct instance *, uint32_t src);
int		 instance_dgram_ok(struct instance *, const struct sockaddr *,
		    uint32_t *src);
void		 instance_refuse(struct instance *, enum refuse_reason);

/* ---- listener.c ---- */
struct listener	*listener_new(struct daemon *, struct instance *,
		    struct worker *, const struct endpoint *,
		    const struct listener *first, char **cause);
int		 listener_enable(struct listener *);
struct listener	*listener_find(struct daemon *, const struct endpoint *,
		    const struct worker *);
void		 listener_close(struct listener *);
size_t		 listener_close_passed(struct daemon *);
void		 listener_rebacklog(struct listener *);
unsigned int	 endpoint_port(const struct endpoint *);
void		 listener_close_all(struct daemon *);
void		 listener_pause(struct worker *, int ms);
void		 listener_resume(struct worker *);

/* ---- conn.c ---- */
enum conn_state {
	CONN_OPEN,		/* reading and writing */
	CONN_DRAINING,		/* no more reading: flush, then close */
	CONN_CLOSED,		/* socket closed, waiting for the reaper */
};
const char	*conn_state_name(enum conn_state);
int		 conn_start(struct worker *, struct instance *, int fd,
		    const struct sockaddr *, socklen_t, uint32_t src);
void		 conn_close_all(struct worker *);
void		 conn_reap(struct worker *);
void		 conn_free_spare(struct worker *);

/* ---- dgram.c ---- */
void		 dgram_on_read(int fd, short what, void *arg);
void		 dgram_batch_free(struct dgram_batch *);

/* ---- metrics.c: Prometheus text exposition over evhttp ---- */
struct metrics;
struct metrics	*metrics_start(struct daemon *, const struct endpoint *,
		    char **cause);
void		 metrics_stop(struct metrics *);

/* ---- systemd.c ---- */
void		 systemd_ready(const char *status);
void		 systemd_status(const char *status);
void		 systemd_reloading(void);
void		 systemd_stopping(void);
int		 systemd_listen_fds(int **fds, size_t *n);
struct event	*systemd_watchdog_start(struct event_base *);
void		 systemd_log_conn(const char *instance, const struct sockaddr *,
		    uint64_t bytes_in, uint64_t bytes_out, uint64_t usec,
		    const char *why);

/* ---- priv.c ---- */
int		 priv_resolve(const char *user, const char *group, uid_t *,
		    gid_t *, char **cause);
int		 priv_drop(const char *user, const char *group, char **cause);

/* ---- util (reactor.c) ---- */
void		 sockaddr_format(const struct sockaddr *, char *, size_t);
uint64_t	 clock_ms(void);	/* coarse monotonic milliseconds */

#endif
