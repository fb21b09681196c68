/*
 * service.h: the contract between the netsvcd host (daemon/) and its
 * service modules (services/).  A service is one const struct service;
 * everything a service may call on the host is declared below.  Service
 * files include this header, proto.h and log.h, and nothing of libevent,
 * inih, systemd or daemon/netsvcd.h.
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
	 * is pending and closes.  tcp_close runs once, last, on every path;
	 * it frees what conn_set_data() holds.
	 */
	void		(*tcp_accept)(struct conn *);
	void		(*tcp_read)(struct conn *, const void *buf, size_t len);
	void		(*tcp_write_ready)(struct conn *);
	void		(*tcp_close)(struct conn *);

	/* UDP: one call per datagram; reply (at most once) with dgram_reply. */
	void		(*udp_datagram)(struct dgram *, const void *buf,
			    size_t len);

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
 * whose data stays valid (chargen's pattern).
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

/* Send one reply datagram to the sender.  Returns 0 or -1. */
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

/* services/registry.c */
extern const struct service *const services[];
const struct service *service_find(const char *name);

#endif
