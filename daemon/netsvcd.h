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
#include "proxy.h"
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
	int			 line;		/* in the config; 0: none */
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

/* ---- module.c: service modules from shared objects ---- */

/* One loaded module of one config. */
struct module {
	TAILQ_ENTRY(module)	 entry;		/* in its config */
	TAILQ_ENTRY(module)	 live;		/* in every live config's */
	char			*path;
	char			*real;		/* links resolved: dlopen()ed */
	void			*handle;	/* dlopen() */
	const struct netsvcd_module *desc;
	size_t			 nservices;
	dev_t			 dev;		/* of the file loaded */
	ino_t			 ino;
	off_t			 size;
	struct timespec		 mtime;
	int			 line;		/* its "modules =" line */
};
TAILQ_HEAD(modules, module);

/* How module files are checked. */
struct module_policy {
	int			 strict;	/* modules_strict */
};

int		 module_load(struct modules *, const char *dir,
		    const char *name, int line, const struct module_policy *,
		    char **cause);
const struct service *module_service_find(const struct modules *,
		    const char *name, const struct module **);
void		 module_unload_all(struct modules *);
void		 module_print(const struct modules *, int ini, FILE *);
const char	*module_name(const struct module *);	/* "built-in" */
const char	*module_version(const struct module *);

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
	const struct module	*module;	/* NULL: built in */
	struct endpoint		*endpoints;
	size_t			 nendpoints;
	int			 enabled;
	unsigned int		 backlog;
	uint64_t		 idle_timeout_ms;	/* 0: none */
	unsigned int		 max_connections;	/* 0: only the global cap */
	size_t			 buffer_limit;		/* bytes */
	struct limits_conf	 lim;
	int			 proxy_accept;	/* PROXY_ACCEPT_*, 0: off */
	struct acl		 proxy_from;	/* balancers that may send it */
	uint64_t		 proxy_timeout_ms;
	struct svc_conf		 svc;
	char			**svc_lines;	/* its keys as set, for -T */
	size_t			 nsvc_lines;
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
	uint64_t		 drain_delay_ms;	/* SIGTERM: keep serving */
	size_t			 buffer_limit;
	char			*user;		/* NULL: unset */
	char			*group;
	int			 modules_strict;	/* bool */
	unsigned int		 workers;	/* 0: one per core ("auto") */
	unsigned int		 source_prefix4;	/* grouping of sources */
	unsigned int		 source_prefix6;
	unsigned int		 max_sources;	/* source table entries */
	int			 metrics;	/* metrics_listen is set */
	struct endpoint		 metrics_listen;
	unsigned int		 metrics_max_connections;
	struct limits_conf	 lim;		/* instance defaults */
};

struct config {
	char			*path;		/* file name, or the string's name */
	char			*dir;		/* for relative file names */
	struct daemon_conf	 daemon;
	struct instance_confs	 instances;	/* every section but [daemon] */
	struct modules		 modules;	/* loaded for this config */
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

/* ---- config-keys.c: the table of [daemon] and common instance keys ---- */

/* The type of a key's value; the C type it is stored as. */
enum config_key_type {
	KEY_LOGLEVEL,		/* int: debug ... err */
	KEY_UINT,		/* unsigned int, in min..max */
	KEY_DURATION,		/* uint64_t ms, in min..max: "500ms" "5m" */
	KEY_SIZE,		/* size_t bytes, in min..max: "64KiB" */
	KEY_SIZE64,		/* uint64_t bytes, in min..max */
	KEY_BOOL,		/* int: yes/no */
	KEY_LOGCONN,		/* int: LOG_CONN_* */
	KEY_PROXY,		/* int: PROXY_ACCEPT_*, 0 for off */
	KEY_STRING,		/* char *, NULL when unset */
	KEY_SERVICE,		/* const struct service * */
	KEY_ENDPOINTS,		/* struct endpoint * with nendpoints: listen */
	KEY_ENDPOINT,		/* struct endpoint: one tcp:// endpoint */
	KEY_ACL,		/* struct acl of CIDR prefixes, may repeat */
	KEY_MODULES,		/* module files, may repeat: config.c's own */
};

/* Where a key may be set. */
#define KEY_SCOPE_DAEMON	0x1	/* in [daemon] */
#define KEY_SCOPE_INSTANCE	0x2	/* in every instance section */
#define KEY_SCOPE_BOTH		(KEY_SCOPE_DAEMON | KEY_SCOPE_INSTANCE)

/* The struct a key's offset is into. */
enum config_key_store {
	KEY_IN_DAEMON,		/* struct daemon_conf */
	KEY_IN_INSTANCE,	/* struct instance_conf */
	KEY_IN_LIMITS,		/* struct limits_conf: [daemon]'s or the
				   instance's, by the section */
};

#define KEY_INHERIT	0x1	/* instance default: the [daemon] value */
#define KEY_REQUIRED	0x2	/* every instance must set it */
#define KEY_AUTO	0x4	/* "auto" stands for 0 */
#define KEY_RESTART	0x8	/* [daemon] only: a reload warns, no effect */

/*
 * One key.  A name may have two entries, one per scope, when [daemon]
 * and instances store it apart (backlog: daemon_conf and instance_conf).
 */
struct config_key {
	const char		*name;
	enum config_key_type	 type;
	int			 scope;		/* KEY_SCOPE_* */
	enum config_key_store	 store;
	int			 flags;		/* KEY_INHERIT ... */
	size_t			 offset;	/* into the store's struct */
	uint64_t		 min;		/* numeric types */
	uint64_t		 max;
	uint64_t		 def;		/* numeric default */
	const char		*help;		/* one line, for -T and docs */
};

/* Ends with an entry whose name is NULL. */
extern const struct config_key	 config_keys[];
/* Whether a [daemon] key has different values in two configs. */
int		 config_key_changed(const struct config_key *,
		    const struct config *, const struct config *);
/* A reload: the new config takes the running restart-only values. */
int		 config_keep_restart(struct config *, const struct config *);

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
int		 source_table_grow(struct source_table *, uint32_t cap);
uint32_t	 source_table_cap(const struct source_table *);
uint32_t	 source_get(struct source_table *, const struct sockaddr *,
		    const void *owner);
uint32_t	 source_conns(struct source_table *, uint32_t);
void		 source_hold(struct source_table *, uint32_t);
void		 source_release(struct source_table *, uint32_t);
struct bucket	*source_rate(struct source_table *, uint32_t);
struct bucket	*source_amplify(struct source_table *, uint32_t);

/* ---- limits.c: every back-off with its counter and its log line ---- */

enum limit {
	LIMIT_EMFILE,		/* accept: out of descriptors */
	LIMIT_SOURCE_TABLE,	/* every source entry pinned: fail open */
	LIMIT_UDP_NOMEM,	/* no UDP batch buffers */
	LIMIT_NOMEM,		/* a connection closed for want of memory */
	LIMIT_MAX_BYTES,	/* a connection closed at max_bytes */
	LIMIT_IO,		/* accept/recvmmsg failed unexpectedly */
	LIMIT_METRICS_EMFILE,	/* metrics accept: out of descriptors */
	LIMIT_METRICS_CONNS,	/* metrics_max_connections reached */
	LIMIT_METRICS_DEADLINE,	/* a metrics request over its deadline */
	LIMIT_COUNT
};

struct limit_stats {
	atomic_ulong		 hits[LIMIT_COUNT];
	pthread_mutex_t		 lock;		/* the log rates */
	struct log_rate		 log[LIMIT_COUNT];
	char			 ctx[LIMIT_COUNT][96];	/* the latest hit's */
};
void		 limits_flush(struct limit_stats *);
const char	*limit_name(enum limit);
int		 limit_backoff_ms(enum limit);
int		 limit_hit(struct limit_stats *, enum limit, unsigned long n,
		    const char *ctx);
unsigned long	 limit_hits(struct limit_stats *, enum limit);

/* ---- handover.c: the state passed to a new process (SIGUSR2) ---- */

/*
 * A restart or an upgrade without systemd (netsvcd(8), RESTART AND
 * UPGRADE): the running daemon writes the state of its listeners and
 * connections into a sealed memfd, and a new copy of the binary inherits
 * it with the sockets themselves.  The format is in docs/DESIGN.md; every
 * field is checked when read back (handover_parse), and every descriptor
 * against its record (handover_check_*).
 */
#define HANDOVER_VERSION	1
#define HANDOVER_ENV		"NETSVCD_HANDOVER"	/* "MEMFD[:PIPE]" */
#define HANDOVER_LOCK_ENV	"NETSVCD_LOCK_FD"
#define HANDOVER_MAX_SIZE	(64UL << 20)	/* the whole state */
#define HANDOVER_MAX_INSTANCES	4096
#define HANDOVER_MAX_LISTENERS	4096
#define HANDOVER_MAX_CONNS	65536
#define HANDOVER_MAX_PENDING	(1UL << 20)	/* output per connection */
#define HANDOVER_MAX_COUNTERS	64		/* per instance */
#define HANDOVER_MAX_NAME	255
#define HANDOVER_MAX_AGE_MS	(10ULL * 366 * 86400 * 1000)

/* One named counter of an instance ("accepted", "refused.rate"...). */
struct ho_counter {
	char			 name[32];
	uint64_t		 value;
};

/* The counters of one instance, so that they go on in the new process. */
struct ho_instance {
	char			 name[HANDOVER_MAX_NAME + 1];
	char			 service[HANDOVER_MAX_NAME + 1];
	struct ho_counter	*counters;
	size_t			 ncounters;
};

/* One listening socket. */
struct ho_listener {
	int			 fd;
	int			 proto;		/* SERVICE_TCP or SERVICE_UDP */
	int			 activated;	/* systemd holds a copy */
	unsigned int		 worker;
	char			 instance[HANDOVER_MAX_NAME + 1];
	struct sockaddr_storage	 cfg;		/* as configured (port 0...) */
	struct sockaddr_storage	 bound;		/* getsockname() */
};

#define HO_CONN_FLUSHED	0x1	/* output was flushed: nothing pending */

/* One established TCP connection. */
struct ho_conn {
	int			 fd;
	unsigned int		 worker;
	unsigned int		 flags;		/* HO_CONN_* */
	char			 instance[HANDOVER_MAX_NAME + 1];
	char			 service[HANDOVER_MAX_NAME + 1];
	struct sockaddr_storage	 local;		/* getsockname() */
	struct sockaddr_storage	 peer;		/* getpeername() */
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	uint64_t		 age_ms;	/* since accepted */
	uint64_t		 idle_ms;	/* since the last traffic */
	uint64_t		 write_idle_ms;	/* since output progressed */
	const unsigned char	*pending;	/* output not sent yet */
	size_t			 npending;
	unsigned char		 state[SERVICE_STATE_MAX];	/* tcp_save */
	size_t			 nstate;
};

struct handover_state {
	uint64_t		 stopped_us;	/* CLOCK_MONOTONIC: accept stopped */
	uint32_t		 pid;		/* the old process */
	uint32_t		 kept;		/* connections it did not pass */
	struct ho_instance	*instances;
	size_t			 ninstances;
	struct ho_listener	*listeners;
	size_t			 nlisteners;
	struct ho_conn		*conns;
	size_t			 nconns;
	unsigned char		*buf;		/* parsed bytes: pending points in */
};

struct handover_state *handover_state_new(void);
void		 handover_state_free(struct handover_state *);
struct ho_instance *handover_add_instance(struct handover_state *);
struct ho_counter *handover_add_counter(struct ho_instance *);
struct ho_listener *handover_add_listener(struct handover_state *);
struct ho_conn	*handover_add_conn(struct handover_state *);
int		 handover_encode(const struct handover_state *,
		    unsigned char **, size_t *, char **cause);
struct handover_state *handover_parse(const void *, size_t, char **cause);
int		 handover_seal(const void *, size_t, char **cause);
struct handover_state *handover_load(int fd, char **cause);
int		 handover_check_listener(const struct ho_listener *,
		    char **cause);
int		 handover_check_conn(const struct ho_conn *, char **cause);
int		 handover_addr_cmp(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
int		 handover_addr_same(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
uint64_t	 handover_now_us(void);

/* ---- runtime types ---- */

struct event_base;
struct event;

/* Why a TCP connection was refused; see refuse_reason_name(). */
enum refuse_reason {
	REFUSE_LIMIT,		/* global or instance max_connections */
	REFUSE_SOURCE,		/* max_per_source */
	REFUSE_RATE,		/* per-source or instance token bucket */
	REFUSE_ACCESS,		/* allow/deny */
	REFUSE_PROXY_FROM,	/* PROXY header expected, not a balancer */
	REFUSE_PROXY_HEADER,	/* no valid PROXY header in time */
	REFUSE_COUNT
};

/* The verdict of the admission checks on a connection or a datagram. */
enum admit {
	ADMIT_OK,		/* may proceed */
	ADMIT_ACCESS,		/* allow/deny */
	ADMIT_LIMIT,		/* global or instance max_connections */
	ADMIT_SOURCE,		/* max_per_source */
	ADMIT_RATE,		/* per-source or instance token bucket */
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

/* How a spawned program ended, for the metrics; see child_exit_name(). */
enum child_exit {
	CHILD_EXIT_OK,		/* status 0 */
	CHILD_EXIT_ERROR,	/* another status */
	CHILD_EXIT_SIGNAL,	/* killed by a signal */
	CHILD_EXIT_COUNT
};

/*
 * What one instance name keeps over a reload (while its service stays):
 * the counters, and what its limits count, so that a reload neither
 * lets more connections in nor refills the instance_rate bucket.  Apart
 * from the instance, which each generation makes anew; atomics so that
 * workers can share them.
 */
struct instance_stats {
	int			 refs;
	atomic_uint		 open;		/* connections, all generations */
	struct bucket		 bucket;	/* instance_rate, under d->lock */
	atomic_ulong		 accepted;
	atomic_ulong		 refused[REFUSE_COUNT];
	atomic_ulong		 timed_out;
	atomic_ulong		 bytes_in[PROTO_COUNT];
	atomic_ulong		 bytes_out[PROTO_COUNT];
	atomic_ulong		 dgrams_in;
	atomic_ulong		 dgrams_out;
	atomic_ulong		 dropped[DROP_COUNT];
	atomic_ulong		 proxy_refused[PROXY_E_COUNT];	/* by reason */
	atomic_uint		 children;	/* spawned programs running */
	atomic_ulong		 spawned;
	atomic_ulong		 spawn_failed;
	atomic_ulong		 exits[CHILD_EXIT_COUNT];
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
	atomic_uint		 nconns;	/* this generation's */
	struct log_rate		 refuse_log;	/* under d->lock */
	enum refuse_reason	 refuse_latest;	/* under d->lock */
	struct log_rate		 drop_log;	/* under d->lock */
	enum drop_reason	 drop_latest;	/* under d->lock */
	struct bucket		 err_bucket;	/* child stderr lines, d->lock */
	unsigned long		 err_dropped;	/* stderr lines not logged */
	struct log_rate		 err_log;	/* their count, d->lock */
	struct log_rate		 spawn_log;	/* under d->lock */
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
	/*
	 * The reload mark: the staged instance that keeps this listener
	 * (same endpoint in the new config).  Unmarked (NULL) at commit, a
	 * running listener is closed.
	 */
	struct instance		*kept_by;
	struct endpoint		 cfg;		/* as configured */
	struct endpoint		 ep;		/* as bound: the real port */
	int			 fd;
	int			 activated;	/* passed in by systemd */
	int			 handed;	/* from the old process (SIGUSR2) */
	int			 pktinfo;	/* UDP wildcard: reply from dst */
	int			 held;		/* a udp_wait program has it */
	int			 stamped;	/* SO_TIMESTAMPNS is on */
	int			 shared;	/* first's socket, dup()ed */
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
	unsigned int		 nconns;	/* in conns */
	LIST_HEAD(, conn)	 dead;		/* closed, freed by reaper */
	LIST_HEAD(, conn)	 spare;		/* freed, kept for reuse */
	LIST_HEAD(, proxy_wait)	 proxy_waits;	/* waiting for a PROXY header */
	unsigned int		 nspare;
	struct event		*reaper;
	struct event		*ev_resume;	/* accept again after EMFILE */
	struct event		*ev_park;	/* stop the world, see reload */
	struct event		*ev_stop;	/* close everything, end loop */
	pthread_t		 thread;
	int			 running;	/* thread started */
};

#define RBUF_SIZE	(1024 * 1024)	/* largest read, and per wakeup */

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
	atomic_int		 draining;	/* SIGTERM seen, drain_delay */
	int			 stop_to_store;	/* a SIGTERM: try the fd store */
	int			 reload_failing;	/* the last reload failed */
	struct event		*ev_drain;
	int			 log_level_forced;	/* -l given */
	int			 reserve_fd;	/* spare descriptor for EMFILE */
	int			*passed_fds;	/* socket activation, -1: taken */
	size_t			 npassed;
	unsigned long		 reloads_ok;
	unsigned long		 reloads_failed;
	struct event		*ev_sig[5];
	struct event		*ev_shutdown;
	struct event		*ev_watchdog;
	struct event		*ev_status;	/* STATUS= refresh */
	struct event		*ev_logflush;	/* rate-limited log tails */
	struct metrics		*metrics;
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	struct limit_stats	 limits;
	struct log_rate		 emfile_log;
	pthread_mutex_t		 child_lock;	/* children */
	LIST_HEAD(, child)	 children;	/* spawn.c, every worker's */
	atomic_uint		 nchildren;
	atomic_int		 shutdown_expired;	/* children get signals */
	struct event		*ev_child_kill;	/* SIGKILL after the grace */
	/* reexec.c: restart and upgrade (SIGUSR2) */
	const char		*exe;		/* the binary on disk */
	char *const		*argv;		/* as started */
	int			 lock_fd;	/* main.c's lock, passed on */
	struct reexec		*rx;		/* old side: under way */
	struct handover_in	*hin;		/* new side: until ready */
	int			 handed_over;	/* pid that took over, or 0 */
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

/* ---- fdstore.c: restart under systemd (the fd store) ---- */
void		 fdstore_refresh(struct daemon *);
void		 fdstore_refresh_later(struct daemon *);
int		 fdstore_stop(struct daemon *);
void		 fdstore_close(struct daemon *);

/* ---- reexec.c: SIGUSR2, the handover to a new process ---- */
struct reexec;
struct handover_in;
void		 reexec_start(struct daemon *);
void		 reexec_abort(struct daemon *);
void		 reexec_cleanup(struct daemon *);
int		 reexec_lock_fd(void);
int		 reexec_by_signal(const struct daemon *);
struct handover_in *reexec_inherit(int lock_fd);
struct handover_in *reexec_inherit_store(int lock_fd);
int		 reexec_save_instances(struct daemon *,
		    struct handover_state *);
void		 reexec_inherit_free(struct handover_in *);
int		 reexec_take_listener(struct daemon *, const struct endpoint *,
		    const char *instance, unsigned int worker, int *activated);
void		 reexec_adopt(struct daemon *);
int		 reexec_ready(struct daemon *);

/* ---- control.c: "netsvcd -s reload|stop" and the status file ---- */
#define CONTROL_TIMEOUT_MS	30000
#define CONTROL_STOP_TIMEOUT_MS	120000	/* no config to go by */
#define CONTROL_STOP_MARGIN_MS	5000	/* over drain_delay + shutdown_timeout */
void		 control_publish(unsigned long gen, int ok, const char *text);
void		 control_withdraw(void);
int		 control_reload(int timeout_ms);
int		 control_stop(int timeout_ms);

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
int		 instance_admit_place(struct instance *);
int		 instance_admit_client(struct instance *,
		    const struct sockaddr *, uint32_t *src);
void		 instance_release(struct instance *, uint32_t src);
enum admit	 instance_dgram_ok(struct instance *,
		    const struct sockaddr *, uint32_t *src);
void		 instance_refuse(struct instance *, enum refuse_reason);
uint32_t	 instance_adopt(struct instance *, const struct sockaddr *);
void		 instance_log_flush(struct instance *);
int		 instance_answers_at_once(const struct instance *);
int		 instance_answers_and_closes(const struct instance *);

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
void		 listener_close_all(struct daemon *);
void		 listener_pause(struct worker *, int proto, int ms);
void		 listener_resume(struct worker *);
void		 listener_reserve_accept(struct daemon *, int lfd);

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
struct conn	*conn_first(struct worker *);
struct conn	*conn_next(struct conn *);
int		 conn_handover_save(struct conn *, struct ho_conn *);
ssize_t		 conns_handover_save(struct daemon *, struct handover_state *,
		    size_t room, struct conn ***, int **fds);
void		 conn_handover_done(struct conn *, int taken);
int		 conn_adopt(struct worker *, struct instance *,
		    const struct ho_conn *, uint32_t src);

/* ---- proxywait.c: the PROXY header before a connection starts ---- */
void		 proxy_wait_start(struct worker *, struct instance *, int fd,
		    const struct sockaddr *, socklen_t);
void		 proxy_wait_close_all(struct worker *);

/* ---- dgram.c ---- */
void		 dgram_on_read(int fd, short what, void *arg);
void		 dgram_wait_done(struct listener *, const struct timespec *);
void		 dgram_batch_free(struct dgram_batch *);

/* ---- spawn.c: programs run per connection (services/exec.c) ---- */
struct child;
const char	*child_exit_name(enum child_exit);
int		 spawn_init(struct daemon *);
void		 spawn_free(struct daemon *);
void		 spawn_set_testing(int);
int		 spawn_conn(struct worker *, struct instance *, int fd,
		    const struct sockaddr *peer, uint32_t src,
		    const struct spawn_spec *);
int		 spawn_dgram(struct listener *, const struct sockaddr *peer,
		    const struct timespec *stamp, const struct spawn_spec *);
void		 spawn_listener_gone(struct listener *);
int		 spawn_shutdown(struct daemon *);	/* children left */
void		 spawn_dump(struct daemon *);
int		 spawn_helper_main(int, char **);
void		 spawn_check_config(const struct config *, FILE *);

/* ---- metrics.c: Prometheus text exposition over evhttp ---- */
struct metrics;
struct metrics	*metrics_start(struct daemon *, const struct endpoint *,
		    char **cause);
void		 metrics_stop(struct metrics *);

/* ---- systemd.c ---- */
int		 systemd_notifying(void);
void		 systemd_ready(const char *status);
void		 systemd_status(const char *status);
void		 systemd_reloading(void);
void		 systemd_stopping(void);
void		 systemd_mainpid(pid_t);
int		 systemd_listen_fds(int **fds, size_t *n);
#define FDSTORE_STATE		0	/* the sealed memfd (handover.c) */
#define FDSTORE_LISTENER	1
#define FDSTORE_CONN		2
#define FDSTORE_NKINDS		3
#define FDSTORE_BATCH		250	/* descriptors per message */
int		 systemd_listen_init(void);
int		 systemd_fdstore_fds(int **fds, int **kinds, size_t *n);
unsigned long	 systemd_fdstore_max(void);
int		 systemd_fdstore_push(const int *fds, size_t n, int kind);
void		 systemd_fdstore_clear(void);
size_t		 systemd_fdstore_conn_room(size_t nlisteners);
int		 systemd_stop_is_restart(void);
int		 systemd_barrier(void);
struct event	*systemd_watchdog_start(struct event_base *, int ping_now);
unsigned int	 systemd_peer(const struct sockaddr *, char *host, size_t);
void		 systemd_log_conn(const char *instance, const struct sockaddr *,
		    uint64_t bytes_in, uint64_t bytes_out, uint64_t usec,
		    const char *why);

/* ---- priv.c ---- */
int		 priv_resolve(const char *user, const char *group, uid_t *,
		    gid_t *, char **cause);
int		 priv_drop(const char *user, const char *group, char **cause);

/* ---- import.c: --import-inetd, inetd.conf to INI sections ---- */
struct import_stats {
	unsigned int	 sections;	/* written */
	unsigned int	 skipped;	/* lines written as comments */
};
int		 import_inetd(FILE *in, const char *name, FILE *out, FILE *err,
		    struct import_stats *);
int		 import_inetd_main(const char *path);
int		 import_port(const char *name, int proto);
int		 import_port_table(const char *name, int proto);
int		 import_quote(const char *word, char *buf, size_t size);

/* ---- util.c: small shared helpers ---- */
unsigned int	 sockaddr_port(const struct sockaddr *);	/* host order */
unsigned int	 endpoint_port(const struct endpoint *);	/* 0: any */
void		 sockaddr_format(const struct sockaddr *, char *, size_t);
uint64_t	 clock_ms(void);	/* coarse monotonic milliseconds */
int		 cause_set(char **cause, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));	/* -1 */

#endif
