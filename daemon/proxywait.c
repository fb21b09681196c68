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
 */
#include <sys/types.h>
#include <sys/socket.h>

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
};

static void	proxy_wait_on_read(evutil_socket_t, short, void *);
static void	proxy_wait_on_timer(evutil_socket_t, short, void *);
static void	proxy_wait_end(struct proxy_wait *);
static void	proxy_wait_refuse(struct proxy_wait *, enum proxy_error);
static void	proxy_wait_done(struct proxy_wait *,
		    const struct proxy_header *);

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
	uint64_t		 ms = inst->ic->proxy_timeout_ms;
	struct timeval		 tv;

	if ((pw = calloc(1, sizeof(*pw))) == NULL) {
		log_warn("%s: PROXY header", inst->ic->name);
		close(fd);
		instance_release(inst, SOURCE_NONE);
		return;
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
	if (event_add(&pw->ev, NULL) == -1 || event_add(&pw->timer, &tv) == -1) {
		proxy_wait_refuse(pw, PROXY_E_CLOSED);
		return;
	}
	/* Balancers send the header with the connection: try it now. */
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
	free(pw);
}

/* A bad or missing header: count its reason, refuse, close. */
static void
proxy_wait_refuse(struct proxy_wait *pw, enum proxy_error why)
{
	atomic_fetch_add_explicit(&pw->inst->stats->proxy_refused[why], 1,
	    memory_order_relaxed);
	close(pw->fd);
	instance_release(pw->inst, SOURCE_NONE);
	instance_refuse(pw->inst, REFUSE_PROXY_HEADER);
	proxy_wait_end(pw);
}

/* Peek at what came; take the header out when it is whole. */
static void
proxy_wait_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait	*pw = arg;
	struct proxy_header	 h;
	enum proxy_error	 err;
	ssize_t			 n;

	n = recv(fd, pw->w->rbuf, PROXY_MAX, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;		/* the next edge, or the timer */
	if (n <= 0) {
		proxy_wait_refuse(pw, PROXY_E_CLOSED);
		return;
	}
	switch (proxy_parse(pw->w->rbuf, (size_t)n, pw->inst->ic->proxy_accept,
	    &h, &err)) {
	case PROXY_MORE:
		/* A balancer that hung up mid-header sends no more. */
		if (what & EV_CLOSED)
			proxy_wait_refuse(pw, PROXY_E_CLOSED);
		return;		/* else the next edge, or the timer */
	case PROXY_BAD:
		proxy_wait_refuse(pw, err);
		return;
	case PROXY_DONE:
		/* The bytes were peeked: this takes exactly them. */
		if (recv(fd, pw->w->rbuf, h.len, 0) != (ssize_t)h.len) {
			proxy_wait_refuse(pw, PROXY_E_CLOSED);
			return;
		}
		proxy_wait_done(pw, &h);
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
 * The header is in: the client it names (or the balancer, for LOCAL and
 * UNKNOWN) goes through the client checks and the connection starts.
 */
static void
proxy_wait_done(struct proxy_wait *pw, const struct proxy_header *h)
{
	const struct sockaddr	*client;
	socklen_t		 len;
	uint32_t		 src;

	/* The events are this wait's; the connection sets up its own. */
	event_del(&pw->ev);
	event_del(&pw->timer);
	if (h->local) {
		client = (const struct sockaddr *)&pw->peer;
		len = pw->peerlen;
	} else {
		client = (const struct sockaddr *)&h->src;
		len = h->src.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	}
	if (instance_admit_client(pw->inst, client, &src) == -1)
		close(pw->fd);
	else
		conn_start(pw->w, pw->inst, pw->fd, client, len, src);
	proxy_wait_end(pw);
}
