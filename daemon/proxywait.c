/*
 * proxywait.c: a connection from a load balancer, between accept and its
 * PROXY header.  Order of checks: the real peer must be in proxy_from
 * (listener.c, before anything else) and takes a place under the
 * connection caps; the header must then arrive whole within proxy_timeout;
 * only then is the client it names checked (access lists, rates,
 * max_per_source) and the connection started as if accepted from it.
 *
 * The header is read exactly: recv(MSG_PEEK) looks at what came, and
 * only the header's own bytes are taken out of the socket, so the service
 * (or an exec'd program) sees the client's data from its first byte.  The
 * read event is edge-triggered and stays registered: a partial header
 * peeked and left in the socket does not wake the loop again until more
 * bytes arrive.  A timer of its own holds the deadline.
 *
 * A built-in service that discards its input (daytime, time, qotd,
 * chargen, banner) loses nothing to a read past the header: for those the
 * header is read, not peeked, one call instead of two, and a partial
 * header waits in a buffer of the wait's own (and is acked at once: those
 * connections delay their ACKs, see listener_defer).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "netsvcd.h"

struct proxy_wait {
	LIST_ENTRY(proxy_wait)	 entry;
	struct worker		*w;
	struct instance		*inst;		/* holds a reference */
	int			 fd;
	struct sockaddr_storage	 peer;		/* the balancer */
	socklen_t		 peerlen;
	struct event		 ev;		/* readable, edge-triggered */
	struct event		 timer;		/* proxy_timeout */
	uint8_t			*got;		/* read, not peeked: the bytes */
	size_t			 have;
};

static enum proxy_status proxy_look(struct worker *, struct instance *,
		    int, short, uint8_t *, size_t *, struct proxy_header *,
		    enum proxy_error *);
static void	proxy_ack_now(int);
static void	proxy_refuse(struct instance *, int, enum proxy_error);
static void	proxy_admit(struct worker *, struct instance *, int,
		    const struct sockaddr *, socklen_t,
		    const struct proxy_header *);
static void	proxy_wait_on_read(evutil_socket_t, short, void *);
static void	proxy_wait_on_timer(evutil_socket_t, short, void *);
static void	proxy_wait_end(struct proxy_wait *);
static void	proxy_wait_refuse(struct proxy_wait *, enum proxy_error);

/*
 * Wait for the PROXY header of an accepted socket that holds a place
 * (instance_admit_place).  On any failure the socket is closed and the
 * place given back.
 */
void
proxy_wait_start(struct worker *w, struct instance *inst, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct proxy_wait	*pw;
	struct proxy_header	 h;
	enum proxy_error	 err;
	uint64_t		 ms = inst->ic->proxy_timeout_ms;
	struct timeval		 tv;
	size_t			 have = 0;
	int			 reads = instance_answers_at_once(inst);

	/*
	 * Balancers send the header with the connection: most often it is
	 * here already, and the connection starts without a wait.
	 */
	switch (proxy_look(w, inst, fd, 0, reads ? w->rbuf : NULL, &have, &h,
	    &err)) {
	case PROXY_DONE:
		proxy_admit(w, inst, fd, sa, salen, &h);
		return;
	case PROXY_BAD:
		proxy_refuse(inst, fd, err);
		return;
	case PROXY_MORE:
		break;
	}
	if ((pw = calloc(1, sizeof(*pw))) == NULL ||
	    (reads && (pw->got = malloc(PROXY_MAX)) == NULL)) {
		log_warn("%s: PROXY header", inst->ic->name);
		free(pw);
		close(fd);
		instance_release(inst, SOURCE_NONE);
		return;
	}
	if (pw->got != NULL) {		/* the part of the header read */
		memcpy(pw->got, w->rbuf, have);
		pw->have = have;
	}
	pw->w = w;
	pw->inst = inst;
	pw->fd = fd;
	if (salen <= sizeof(pw->peer))
		memcpy(&pw->peer, sa, salen);
	pw->peerlen = salen;
	instance_ref(inst);
	LIST_INSERT_HEAD(&w->proxy_waits, pw, entry);
	event_assign(&pw->ev, w->base, fd,
	    EV_READ | EV_ET | EV_CLOSED | EV_PERSIST, proxy_wait_on_read, pw);
	evtimer_assign(&pw->timer, w->base, proxy_wait_on_timer, pw);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (event_add(&pw->ev, NULL) == -1 || event_add(&pw->timer, &tv) == -1)
		proxy_wait_refuse(pw, PROXY_E_CLOSED);
	/*
	 * Edge-triggered: bytes that came between the peek and event_add
	 * raise no edge of their own.  Look once more.
	 */
	else
		proxy_wait_on_read(fd, EV_READ, pw);
}

/* Close every connection still waiting (the worker stops). */
void
proxy_wait_close_all(struct worker *w)
{
	struct proxy_wait	*pw;

	while ((pw = LIST_FIRST(&w->proxy_waits)) != NULL) {
		close(pw->fd);
		instance_release(pw->inst, SOURCE_NONE);
		proxy_wait_end(pw);
	}
}

/* Free the wait; the socket has been closed or handed on. */
static void
proxy_wait_end(struct proxy_wait *pw)
{
	event_del(&pw->ev);
	event_del(&pw->timer);
	LIST_REMOVE(pw, entry);
	instance_unref(pw->inst);
	free(pw->got);
	free(pw);
}

/* A bad or missing header: count its reason, refuse, close. */
static void
proxy_refuse(struct instance *inst, int fd, enum proxy_error why)
{
	atomic_fetch_add_explicit(&inst->stats->proxy_refused[why], 1,
	    memory_order_relaxed);
	close(fd);
	instance_release(inst, SOURCE_NONE);
	instance_refuse(inst, REFUSE_PROXY_HEADER);
}

/* The same for a connection that was waiting. */
static void
proxy_wait_refuse(struct proxy_wait *pw, enum proxy_error why)
{
	proxy_refuse(pw->inst, pw->fd, why);
	proxy_wait_end(pw);
}

/*
 * Look at what came on fd; PROXY_DONE once the header is whole, PROXY_MORE,
 * or PROXY_BAD with the reason in *err.  what: the event's flags
 * (EV_CLOSED: the balancer hung up, so a partial header stays partial).
 * With buf NULL the bytes are peeked into w->rbuf and, once the header is
 * whole, exactly its bytes are taken out of the socket.  Otherwise they
 * are read into buf (PROXY_MAX long) after the *have kept from earlier
 * reads; what was read past the header is dropped and counted as input,
 * as the host drops a discarding service's input.
 */
static enum proxy_status
proxy_look(struct worker *w, struct instance *inst, int fd, short what,
    uint8_t *buf, size_t *have, struct proxy_header *h,
    enum proxy_error *err)
{
	enum proxy_status	 r;
	size_t			 len = buf != NULL ? *have : 0;
	ssize_t			 n;
	int			 peek = buf == NULL;

	if (peek)
		buf = w->rbuf;
	n = recv(fd, buf + len, PROXY_MAX - len, peek ? MSG_PEEK : 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return PROXY_MORE;	/* the next edge, or the timer */
	if (n <= 0) {
		*err = PROXY_E_CLOSED;
		return PROXY_BAD;
	}
	len += (size_t)n;
	if (!peek)
		*have = len;
	r = proxy_parse(buf, len, inst->ic->proxy_accept, h, err);
	if (r == PROXY_MORE && (what & EV_CLOSED)) {
		*err = PROXY_E_CLOSED;
		return PROXY_BAD;
	}
	if (r == PROXY_MORE && !peek)
		proxy_ack_now(fd);
	if (r != PROXY_DONE)
		return r;
	if (peek && recv(fd, buf, h->len, 0) != (ssize_t)h->len) {
		*err = PROXY_E_CLOSED;
		return PROXY_BAD;
	}
	if (!peek && len > h->len)
		atomic_fetch_add_explicit(&inst->stats->bytes_in[PROTO_TCP],
		    (unsigned long)(len - h->len), memory_order_relaxed);
	return r;
}

/*
 * Ack what came of a header now.  A service that answers at once delays
 * its ACKs (listener.c) so that the answer carries the header's; a
 * balancer with Nagle's algorithm on would hold the header's rest until
 * that ACK, 40 ms.
 */
static void
proxy_ack_now(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

/* The socket became readable: the header, or more of it. */
static void
proxy_wait_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait	*pw = arg;
	struct proxy_header	 h;
	enum proxy_error	 err;

	switch (proxy_look(pw->w, pw->inst, fd, what, pw->got, &pw->have, &h,
	    &err)) {
	case PROXY_MORE:
		return;
	case PROXY_BAD:
		proxy_wait_refuse(pw, err);
		return;
	case PROXY_DONE:
		/* The events are this wait's; the connection sets up its own. */
		event_del(&pw->ev);
		event_del(&pw->timer);
		proxy_admit(pw->w, pw->inst, pw->fd,
		    (const struct sockaddr *)&pw->peer, pw->peerlen, &h);
		proxy_wait_end(pw);
		return;
	}
}

/* proxy_timeout passed without a whole header. */
static void
proxy_wait_on_timer(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	proxy_wait_refuse(arg, PROXY_E_TIMEOUT);
}

/*
 * The header is in: the client it names (or the balancer peer, for LOCAL
 * and UNKNOWN) goes through the client checks and the connection starts.
 */
static void
proxy_admit(struct worker *w, struct instance *inst, int fd,
    const struct sockaddr *peer, socklen_t peerlen,
    const struct proxy_header *h)
{
	const struct sockaddr	*client = peer;
	socklen_t		 len = peerlen;
	uint32_t		 src;

	if (!h->local) {
		client = (const struct sockaddr *)&h->src;
		len = h->src.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	}
	if (instance_admit_client(inst, client, &src) == -1)
		close(fd);
	else
		conn_start(w, inst, fd, client, len, src);
}
