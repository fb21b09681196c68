/*
 * listener.c: bound sockets.  TCP listeners accept in batches until EAGAIN;
 * UDP sockets hand their readiness to dgram.c.  Running out of descriptors
 * pauses accepting for a moment instead of spinning on EMFILE.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "netsvcd.h"

#define ACCEPT_BATCH	64	/* accepts per wakeup, so others get a turn */

static void	listener_on_accept(evutil_socket_t, short, void *);
static int	listener_socket(const struct endpoint *, const char *name,
		    unsigned int backlog, int reuseport, char **cause);
static void	listener_defer(struct listener *);
static void	listener_proxied(struct listener *, int,
		    const struct sockaddr *, socklen_t);
static void	listener_emfile(struct listener *);
static int	listener_take_passed(struct daemon *, const struct endpoint *);
static int	listener_keep_passed(struct daemon *, int);
static int	listener_pktinfo(struct listener *);

/*
 * Create, bind and (for TCP) listen; returns the fd or -1 with *cause.
 * With reuseport, every worker binds a socket of its own to the endpoint.
 */
static int
listener_socket(const struct endpoint *ep, const char *name,
    unsigned int backlog, int reuseport, char **cause)
{
	int	fd, on = 1, type, saved;

	type = ep->proto == SERVICE_TCP ? SOCK_STREAM : SOCK_DGRAM;
	fd = socket(ep->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/*
	 * TCP only: for UDP, Linux lets SO_REUSEADDR sockets of any owner
	 * bind the same address and port, and the last one bound gets the
	 * datagrams, so another user could take the endpoint over.  Workers
	 * share a port with SO_REUSEPORT, which the kernel keeps to one user.
	 */
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
	    &on, sizeof(on)) == -1)
		goto fail;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1)
		goto fail;
	/* So that [::] and 0.0.0.0 can both be configured. */
	if (ep->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&ep->addr, ep->addrlen) == -1)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, (int)backlog) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	cause_set(cause, "%s for instance %s: %s%s", ep->text, name,
	    strerror(saved), saved == EACCES && endpoint_port(ep) < 1024 ?
	    " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)" : "");
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Take a socket passed by systemd that serves this endpoint: same type,
 * family, address and port (port 0 never matches).  Returns the fd or -1.
 */
static int
listener_take_passed(struct daemon *d, const struct endpoint *ep)
{
	struct endpoint	 got;
	socklen_t	 len;
	size_t		 i;
	int		 type, want;

	want = ep->proto == SERVICE_TCP ? SOCK_STREAM : SOCK_DGRAM;
	for (i = 0; i < d->npassed; i++) {
		if (d->passed_fds[i] == -1)
			continue;
		len = sizeof(type);
		if (getsockopt(d->passed_fds[i], SOL_SOCKET, SO_TYPE, &type,
		    &len) == -1 || type != want)
			continue;
		memset(&got, 0, sizeof(got));
		got.proto = ep->proto;
		len = sizeof(got.addr);
		if (getsockname(d->passed_fds[i], (struct sockaddr *)&got.addr,
		    &len) == -1)
			continue;
		got.addrlen = len;
		if (endpoint_same(&got, ep)) {
			type = d->passed_fds[i];
			d->passed_fds[i] = -1;
			return type;
		}
	}
	return -1;
}

/*
 * Make worker w's socket of one endpoint.  A socket the old process handed
 * over (SIGUSR2, reexec.c) comes first.  Worker 0 takes a socket passed
 * by systemd when one matches, else binds a new one; the other workers
 * bind their own with SO_REUSEPORT to the port worker 0's listener (first)
 * got, or share first's socket when systemd or the old process passed it.
 * It does not serve until listener_enable().  Returns NULL with *cause set
 * on failure.
 */
struct listener *
listener_new(struct daemon *d, struct instance *inst, struct worker *w,
    const struct endpoint *ep, const struct listener *first, char **cause)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int			 fl;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		cause_set(cause, "%s: %s", ep->text, strerror(errno));
		return NULL;
	}
	l->d = d;
	l->w = w;
	l->inst = inst;
	l->cfg = *ep;
	l->ep = first != NULL ? first->ep : *ep;
	if ((l->fd = reexec_take_listener(d, ep, inst->ic->name, w->id,
	    &l->activated)) != -1) {
		l->handed = 1;	/* checked against its record (reexec.c) */
	} else if (first != NULL && (first->activated || first->handed)) {
		/* Fewer sockets than workers: share the first one. */
		l->activated = first->activated;
		l->handed = first->handed;
		l->shared = 1;
		if ((l->fd = fcntl(first->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
			cause_set(cause, "%s: dup: %s", ep->text,
			    strerror(errno));
			free(l);
			return NULL;
		}
	} else if (first == NULL && ep->addrlen != 0 &&
	    endpoint_port(ep) != 0 &&
	    (l->fd = listener_take_passed(d, ep)) != -1) {
		l->activated = 1;
		/* systemd hands over blocking sockets. */
		if ((fl = fcntl(l->fd, F_GETFL)) == -1 ||
		    fcntl(l->fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(l->fd, F_SETFD, FD_CLOEXEC) == -1) {
			cause_set(cause, "%s: passed socket: %s", ep->text,
			    strerror(errno));
			close(l->fd);
			free(l);
			return NULL;
		}
	} else if ((l->fd = listener_socket(&l->ep, inst->ic->name,
	    inst->ic->backlog, d->nworkers > 1, cause)) == -1) {
		free(l);
		return NULL;
	}
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    sslen <= sizeof(l->ep.addr)) {
		memcpy(&l->ep.addr, &ss, sslen);
		l->ep.addrlen = sslen;
		endpoint_format(&l->ep, l->ep.text, sizeof(l->ep.text));
	}
	if (listener_pktinfo(l) == -1) {
		if (asprintf(cause, "%s: IP_PKTINFO: %s", ep->text,
		    strerror(errno)) == -1)
			*cause = NULL;
		close(l->fd);
		free(l);
		return NULL;
	}
	instance_ref(inst);
	TAILQ_INSERT_TAIL(&d->listeners, l, entry);
	return l;
}

/*
 * A UDP socket bound to a wildcard address learns each request's
 * destination (IP_PKTINFO, IPV6_RECVPKTINFO), so that dgram.c answers from
 * it.  Returns 0 or -1.
 */
static int
listener_pktinfo(struct listener *l)
{
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_in	*sin;
	int				 on = 1;

	if (l->ep.proto != SERVICE_UDP)
		return 0;
	if (l->ep.addr.ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)&l->ep.addr;
		if (!IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			return 0;
		l->pktinfo = 1;
		return setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		    sizeof(on));
	}
	sin = (const struct sockaddr_in *)&l->ep.addr;
	if (sin->sin_addr.s_addr != htonl(INADDR_ANY))
		return 0;
	l->pktinfo = 1;
	return setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
}

/* Start serving; logs the real address (the kernel's port for port 0). */
int
listener_enable(struct listener *l)
{
	event_callback_fn	cb;

	cb = l->ep.proto == SERVICE_TCP ? listener_on_accept : dgram_on_read;
	listener_defer(l);
	l->ev = event_new(l->w->base, l->fd, EV_READ | EV_PERSIST, cb, l);
	if (l->ev == NULL || event_add(l->ev, NULL) == -1) {
		log_warnx("%s: cannot add event", l->ep.text);
		return -1;
	}
	if (l->w->id == 0)
		log_info("instance %s listening on %s%s", l->inst->ic->name,
		    l->ep.text, l->handed ? " (handed over)" :
		    l->activated ? " (from systemd)" : "");
	return 0;
}

/*
 * A kept TCP listener takes the backlog of its new instance, and its
 * PROXY protocol setting.
 */
void
listener_rebacklog(struct listener *l)
{
	if (l->ep.proto == SERVICE_TCP && !l->activated &&
	    listen(l->fd, (int)l->inst->ic->backlog) == -1)
		log_warn("%s: listen", l->ep.text);
	listener_defer(l);
}

/*
 * Behind a balancer, accept a connection only once its first bytes (the
 * PROXY header) have come, or after about a second: most connections then
 * start at once instead of waiting for their header (proxywait.c).  A
 * service that answers at once also acks the header with its answer
 * instead of a segment of its own: its connections start with delayed
 * ACKs (TCP_QUICKACK off, inherited from the listener).  Not for the
 * others: a balancer with Nagle's algorithm on would hold the client's
 * first bytes until that ACK, 40 ms.  A service that answers and closes
 * (daytime, time, qotd, banner) writes corked (TCP_CORK, inherited too):
 * the close sends its answer and the FIN in one segment, 6 segments a
 * connection instead of 8.  All set again when a reload gives the
 * listener another instance.
 */
static void
listener_defer(struct listener *l)
{
	int	secs = l->inst->ic->proxy_accept != 0 ? 1 : 0;
	int	quick = !secs || !instance_answers_at_once(l->inst);
	int	cork = instance_answers_and_closes(l->inst);

	if (l->ep.proto != SERVICE_TCP)
		return;
	if (setsockopt(l->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
	    sizeof(secs)) == -1)
		log_debug("%s: TCP_DEFER_ACCEPT: %s", l->ep.text,
		    strerror(errno));
	if (setsockopt(l->fd, IPPROTO_TCP, TCP_QUICKACK, &quick,
	    sizeof(quick)) == -1)
		log_debug("%s: TCP_QUICKACK: %s", l->ep.text, strerror(errno));
	if (setsockopt(l->fd, IPPROTO_TCP, TCP_CORK, &cork,
	    sizeof(cork)) == -1)
		log_debug("%s: TCP_CORK: %s", l->ep.text, strerror(errno));
}

/*
 * Worker w's running listener bound to the same configured endpoint, or
 * NULL.
 */
struct listener *
listener_find(struct daemon *d, const struct endpoint *ep,
    const struct worker *w)
{
	struct listener	*l;

	if (endpoint_port(ep) == 0)
		return NULL;	/* each port 0 is a new port */
	TAILQ_FOREACH(l, &d->listeners, entry) {
		if (l->w == w && l->inst->state != INSTANCE_STAGED &&
		    endpoint_same(&l->cfg, ep))
			return l;
	}
	return NULL;
}

/*
 * Close passed sockets that no endpoint took and return how many there
 * were.  Each is an error: systemd keeps its own copy listening, so such a
 * port would accept connections that nobody ever serves.
 */
size_t
listener_close_passed(struct daemon *d)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 buf[64];
	size_t			 i, n = 0;

	for (i = 0; i < d->npassed; i++) {
		if (d->passed_fds[i] == -1)
			continue;
		len = sizeof(ss);
		if (getsockname(d->passed_fds[i], (struct sockaddr *)&ss,
		    &len) == 0)
			sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "(unknown)");
		log_warnx("socket activation: fd %d on %s matches no "
		    "configured endpoint", d->passed_fds[i], buf);
		close(d->passed_fds[i]);
		d->passed_fds[i] = -1;
		n++;
	}
	return n;
}

/* Stop serving one endpoint and close its socket. */
void
listener_close(struct listener *l)
{
	TAILQ_REMOVE(&l->d->listeners, l, entry);
	if (l->ep.proto == SERVICE_UDP)
		spawn_listener_gone(l);		/* udp_wait's child */
	if (l->ev != NULL)
		event_free(l->ev);
	/*
	 * systemd holds a copy of a socket it passed, so binding the address
	 * again would fail: keep it aside for a later reload to adopt.
	 */
	if (!l->activated || l->w->id != 0 || atomic_load(&l->d->stopping) ||
	    listener_keep_passed(l->d, l->fd) == -1)
		close(l->fd);
	instance_unref(l->inst);
	free(l);
}

/* Put a socket back among the passed ones.  Returns 0 or -1. */
static int
listener_keep_passed(struct daemon *d, int fd)
{
	int	*v;

	v = reallocarray(d->passed_fds, d->npassed + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	v[d->npassed++] = fd;
	d->passed_fds = v;
	return 0;
}

void
listener_close_all(struct daemon *d)
{
	struct listener	*l;

	while ((l = TAILQ_FIRST(&d->listeners)) != NULL)
		listener_close(l);
}

/*
 * Stop serving the worker's listeners of one protocol (accepting on TCP,
 * reading on UDP) for ms milliseconds.
 */
void
listener_pause(struct worker *w, int proto, int ms)
{
	struct listener	*l;
	struct timeval	 tv;

	TAILQ_FOREACH(l, &w->d->listeners, entry) {
		if (l->w == w && l->ep.proto == proto && l->ev != NULL)
			event_del(l->ev);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(w->ev_resume, &tv);
}

/* The resume timer: serve again after a back-off (adding twice is a no-op). */
void
listener_resume(struct worker *w)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &w->d->listeners, entry) {
		if (l->w == w && l->ev != NULL && !l->held)
			event_add(l->ev, NULL);
	}
}

/*
 * Out of descriptors: use the reserve one to accept and close the waiting
 * client (it sees a clean close rather than a hang), then pause accepting.
 */
static void
listener_emfile(struct listener *l)
{
	struct daemon	*d = l->d;

	listener_reserve_accept(d, l->fd);
	listener_pause(l->w, SERVICE_TCP, limit_hit(&d->limits, LIMIT_EMFILE,
	    1, l->ep.text));
}

/*
 * Accept and close one waiting client with the reserve descriptor, so
 * that it sees a close rather than a hang (also for metrics.c).
 */
void
listener_reserve_accept(struct daemon *d, int lfd)
{
	int	fd;

	pthread_mutex_lock(&d->lock);
	if (d->reserve_fd != -1) {
		close(d->reserve_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1)
			close(fd);
		d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Accept until EAGAIN or the batch is done. */
static void
listener_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	uint32_t		 src;
	char			 ctx[160];
	int			 fd, i;

	UNUSED(what);
	for (i = 0; i < ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				listener_emfile(l);
				return;
			default:
				snprintf(ctx, sizeof(ctx), "%s: accept: %s",
				    l->ep.text, strerror(errno));
				listener_pause(l->w, SERVICE_TCP,
				    limit_hit(&l->d->limits, LIMIT_IO, 1, ctx));
				return;
			}
		}
		if (l->inst->ic->proxy_accept != 0) {
			listener_proxied(l, fd, (struct sockaddr *)&ss, sslen);
			continue;
		}
		if (instance_admit(l->inst, (struct sockaddr *)&ss,
		    &src) == -1) {
			close(fd);
			continue;
		}
		conn_start(l->w, l->inst, fd, (struct sockaddr *)&ss,
		    sslen, src);
	}
}

/*
 * A connection that must start with a PROXY header: only a balancer of
 * proxy_from may send one, and it waits under the connection caps.
 */
static void
listener_proxied(struct listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	if (!acl_match(&l->inst->ic->proxy_from, sa)) {
		close(fd);
		instance_refuse(l->inst, REFUSE_PROXY_FROM);
		return;
	}
	if (instance_admit_place(l->inst) == -1) {
		close(fd);
		return;
	}
	proxy_wait_start(l->w, l->inst, fd, sa, salen);
}
