/*
 * service.h: the contract between the netsvcd host (daemon/) and its
 * services, built in (services/) or loaded from shared objects (modules).
 * A service is one const struct service; everything a service may call on
 * the host is declared below.  Service files include this header, proto.h
 * and log.h, and nothing of libevent, inih, systemd or daemon/netsvcd.h.
 *
 * This file is also the public SDK, installed as <netsvcd/service.h>
 * (with <netsvcd/log.h>, see netsvcd.pc): the layout of struct service and
 * struct netsvcd_module and the host API below are what NETSVCD_SERVICE_ABI
 * numbers.  docs/MODULES.md says what is stable.
 *
 * Threading: with several workers, callbacks for different connections
 * may run at the same time in different threads.  Per-instance data set
 * up at config time is read-only afterwards; per-thread caches use
 * _Thread_local.
 */
#ifndef NETSVCD_SERVICE_H
#define NETSVCD_SERVICE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of the module ABI: the layout of struct service and struct
 * netsvcd_module and the host API functions below.  It goes up by one
 * whenever any of them changes incompatibly; netsvcd loads only modules
 * built with its own number.
 */
#define NETSVCD_SERVICE_ABI	1

struct conn;		/* one TCP connection (opaque) */
struct dgram;		/* one received datagram, with its sender (opaque) */
struct svc_conf;	/* one configured instance, at config time (opaque) */

#define SERVICE_TCP	0x1
#define SERVICE_UDP	0x2

/* conf_key return values. */
#define SERVICE_KEY_OK		0
#define SERVICE_KEY_ERROR	(-1)	/* *cause says why */
#define SERVICE_KEY_UNKNOWN	1	/* not a key of this service */

/* Longest message/quote/line any service keeps (banner, qotd, daytime). */
#define SERVICE_MAX_MESSAGE	65536

/* Most bytes of per-connection state tcp_save may write (handover). */
#define SERVICE_STATE_MAX	256

struct service {
	const char	*name;		/* value of "service =" in the INI */
	int		 protocols;	/* SERVICE_TCP | SERVICE_UDP */
	const char *const *keys;	/* NULL-terminated service keys, or NULL */
	/* Those of keys that may repeat, each line passed on, or NULL. */
	const char *const *repeat_keys;
	/*
	 * Bytes of per-instance settings the host allocates, zeroed, before
	 * the first conf_key or conf_check call and frees after conf_free;
	 * svc_conf_data() returns them.  0: the service manages its own data
	 * with svc_conf_set_data().
	 */
	size_t		 conf_size;

	/*
	 * Config time: no sockets, no event base.  All optional.
	 * conf_key sees each service key in file order; conf_check runs once
	 * after all keys (read files here, so -t reports them); conf_free
	 * releases whatever conf_key/conf_check allocated.  conf_describe
	 * writes " key=value" pairs for the -t listing.
	 */
	int		(*conf_key)(struct svc_conf *, const char *key,
			    const char *value, char **cause);
	int		(*conf_check)(struct svc_conf *, char **cause);
	void		(*conf_free)(struct svc_conf *);
	void		(*conf_describe)(struct svc_conf *, char *buf,
			    size_t len);

	/*
	 * TCP, one connection at a time.  tcp_accept runs first.  tcp_read
	 * gets each chunk read from the peer (NULL: input is discarded).
	 * A service with tcp_write_ready streams: the host calls it whenever
	 * the socket can take more and the host's own output buffer is
	 * empty.  On EOF from the peer the host stops reading, flushes what
	 * is pending and closes.  tcp_close runs once, last, on every path,
	 * never inside another callback of the service (a conn_close() or a
	 * failed conn_write() leaves the conn_data() in place until the
	 * callback returns); it frees what conn_set_data() holds.
	 */
	void		(*tcp_accept)(struct conn *);
	void		(*tcp_read)(struct conn *, const void *buf, size_t len);
	void		(*tcp_write_ready)(struct conn *);
	void		(*tcp_close)(struct conn *);

	/* UDP: one call per datagram; reply (at most once) with dgram_reply. */
	void		(*udp_datagram)(struct dgram *, const void *buf,
			    size_t len);

	/*
	 * UDP "wait" mode (inetd's, for programs such as tftpd), instead of
	 * udp_datagram: called when the socket is readable, with the first
	 * datagram still unread in it (dgram_peer() names its sender, the
	 * access lists, rates and udp_protect have passed).  The service
	 * hands the socket to a program with dgram_spawn(); the host reads
	 * that socket again only once the program has exited.  If it does
	 * not, the datagram is dropped and counted.
	 */
	void		(*udp_wait)(struct dgram *);

	/*
	 * max_connections of an instance whose config sets none (or 0); 0
	 * here: only the global cap.  Services that start a process per
	 * connection set a low one.
	 */
	unsigned int	 default_max_connections;

	/*
	 * 1: the service hands its connections to programs (conn_spawn,
	 * dgram_spawn).  The host then reports the children metrics for its
	 * instances, and -t warns that idle_timeout, write_timeout and
	 * max_bytes do not apply.
	 */
	int		 spawns;

	/*
	 * Handover (netsvcd(8), RESTART AND UPGRADE): a new process of the
	 * daemon takes over the established connections of a service with
	 * tcp_restore; those of a service without it stay with the old
	 * process and drain there.  Both optional, both for TCP only.
	 *
	 * tcp_save runs in the old process, between two callbacks, with
	 * reading stopped: it writes the connection's state (at most
	 * *len bytes, SERVICE_STATE_MAX) to buf and sets *len to what it
	 * wrote (0: no state).  It returns 0, or -1 when this connection
	 * cannot be handed over (it then drains in the old process).  It
	 * must not write to the connection; tcp_close still runs later in
	 * the old process and frees conn_data().  NULL: no state to save.
	 *
	 * tcp_restore runs in the new process instead of tcp_accept, with
	 * the bytes tcp_save wrote (len may be 0), before any other callback
	 * of the connection.  It sets up what tcp_accept would (conn_data,
	 * conn_echo_input, conn_drop_input) and must treat buf as untrusted:
	 * it returns 0, or -1 when the state is not valid (the connection is
	 * then closed).  Output the old process had not sent yet is sent
	 * first, by the host, before tcp_write_ready is called.
	 */
	int		(*tcp_save)(struct conn *, void *buf, size_t *len);
	int		(*tcp_restore)(struct conn *, const void *buf,
			    size_t len);
};

/* Host API for services (implemented in daemon/, faked in tests/unit). */

/*
 * Queue len bytes for the peer: written at once when the socket takes them,
 * the rest kept in the host's buffer.  The host stops reading from a peer
 * whose pending output passes the instance's buffer_limit.  Returns 0, or -1
 * when the connection is closing or memory ran out (the host then closes it).
 */
int		 conn_write(struct conn *, const void *, size_t);

/*
 * Write what the socket takes right now, buffering nothing; returns the
 * number of bytes taken (0 when it would block).  For streaming services
 * whose data stays valid (chargen's pattern); never more than max_bytes
 * leaves.
 */
size_t		 conn_write_some(struct conn *, const void *, size_t);

/*
 * The service needs none of what the peer sends from now on: the host
 * drops it inside the kernel without copying it (recv with MSG_TRUNC) and
 * stops calling tcp_read.  Services without tcp_read get this anyway.
 */
void		 conn_drop_input(struct conn *);

/*
 * The service sends back everything the peer sends, unchanged, in order
 * (echo): the host may move the bytes inside the kernel (splice(2))
 * instead of calling tcp_read.  tcp_read must still do the same, for the
 * times the host copies.
 */
void		 conn_echo_input(struct conn *);

size_t		 conn_pending(struct conn *);	/* bytes buffered, not sent */
void		 conn_close(struct conn *);	/* close once output drains */
void		*conn_data(struct conn *);
void		 conn_set_data(struct conn *, void *);
const void	*conn_conf(struct conn *);	/* svc_conf_data of its instance */
const char	*conn_peer(struct conn *);	/* "127.0.0.1:4242", "[::1]:4242" */

/*
 * Send one reply datagram to the sender (len 0, buf may be NULL: an empty
 * one).  Returns 0 or -1.
 */
int		 dgram_reply(struct dgram *, const void *, size_t);
const void	*dgram_conf(struct dgram *);
const char	*dgram_peer(struct dgram *);

void		*svc_conf_data(struct svc_conf *);
void		 svc_conf_set_data(struct svc_conf *, void *);
const char	*svc_conf_name(struct svc_conf *);	/* instance name */
/*
 * Resolve a file name from the config: absolute names stay as they are,
 * relative ones are taken from the config file's directory.  Returns 0, or
 * -1 when the result does not fit in len.
 */
int		 svc_conf_path(struct svc_conf *, const char *name, char *buf,
		    size_t len);

/*
 * Running a program per connection (the exec service).  The host starts
 * path with posix_spawn: the socket as fds 0 and 1, a pipe to the host's
 * log as fd 2 (one log line per line written, tagged with the instance and
 * the PID, rate-limited), no other descriptor, default signal
 * dispositions, an empty signal mask, its own process group, and an
 * environment made only of PATH=/usr/local/bin:/usr/bin:/bin, the
 * UCSPI-TCP variables PROTO, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP,
 * TCPREMOTEPORT (set by the host), then env (which may replace PATH, not
 * the others).  flags ask for more, done in the child before the program
 * runs: resource limits, nice, then group and user (the daemon must run
 * as root).  The host reaps the child from the event loop, enforces the
 * instance's max_duration (SIGTERM to the process group, SIGKILL
 * SPAWN_KILL_GRACE_MS later) and keeps the connection's admission (it
 * counts against max_connections and max_per_source) until the child has
 * exited.  posix_spawn failures and exec failures close the connection
 * and are counted and logged.
 */
#define SPAWN_SETUID	0x01
#define SPAWN_SETGID	0x02
#define SPAWN_NICE	0x04
#define SPAWN_KILL_GRACE_MS	2000

struct spawn_spec {
	const char	*path;		/* absolute */
	char *const	*argv;		/* argv[0] first, NULL-terminated */
	char *const	*env;		/* "NAME=value", NULL-terminated, or NULL */
	const char	*dir;		/* working directory; NULL: "/" */
	int		 flags;		/* SPAWN_* */
	uid_t		 uid;		/* with SPAWN_SETUID */
	gid_t		 gid;		/* with SPAWN_SETGID */
	int		 nice;		/* with SPAWN_NICE: -20..19 */
	uint64_t	 rlim_cpu;	/* RLIMIT_CPU, seconds; 0: unchanged */
	uint64_t	 rlim_as;	/* RLIMIT_AS, bytes; 0: unchanged */
	uint64_t	 rlim_nofile;	/* RLIMIT_NOFILE; 0: unchanged */
};

/*
 * From tcp_accept: hand the connection to a new child running sp, and
 * close the host's side of it (no tcp_read, no tcp_write_ready, no
 * timeouts of the host apply any more; tcp_close still runs).  Returns 0,
 * or -1 when the child could not be started (the connection is closed).
 */
int		 conn_spawn(struct conn *, const struct spawn_spec *);

/*
 * From udp_wait: hand the UDP socket to a new child running sp (fds 0 and
 * 1; PROTO=UDP and TCPREMOTE* name the sender of the waiting datagram) and
 * stop reading it until the child exits.  Returns 0 or -1.
 */
int		 dgram_spawn(struct dgram *, const struct spawn_spec *);

/*
 * Can spawned programs get another user or group?  1: yes (the daemon
 * runs as root and keeps root: no [daemon] user); 0: no, a config that
 * asks for it is an error; -1: no, but this is only a check (-t), which
 * warns, since the real daemon may run as root.
 */
int		 svc_conf_can_setid(struct svc_conf *);

/*
 * A loadable module: a shared object that exports one symbol,
 * netsvcd_module, of this type.  abi comes first and keeps its type and
 * place in every ABI, so that the host can always tell which one a module
 * was built for.
 */
struct netsvcd_module {
	unsigned int		 abi;		/* NETSVCD_SERVICE_ABI */
	const char		*name;		/* [A-Za-z0-9_.-]+ */
	const char		*version;	/* 1-63 printable chars: -V, logs */
	const struct service *const *services;	/* NULL-terminated */
};

#ifdef NETSVCD_INTERNAL
/* services/registry.c: the built-in services (not part of the SDK). */
extern const struct service *const services[];
const struct service *service_find(const char *name);
#endif

#ifdef __cplusplus
}
#endif

#endif
