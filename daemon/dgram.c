/*
 * dgram.c: UDP.  Datagrams are read in batches with recvmmsg(2) and the
 * replies sent in one sendmmsg(2), at most DGRAM_ROUNDS batches per wakeup
 * so that TCP is not starved.  A reply is built in the slot its request
 * came in (echo replies are not even copied), so a worker needs one set of
 * slot buffers, allocated the first time it serves UDP.
 *
 * Before a service sees a datagram, the source is checked (udp_protect):
 * replies never go to port 0, to privileged ports or to the port of any
 * UDP service configured here (the echo <-> chargen loop of CERT
 * CA-1996-01), nor to broadcast, multicast or unspecified addresses.  Then
 * the access lists and rate buckets apply, and a reply larger than
 * udp_max_amplification times its request costs a token from the source's
 * amplification bucket: a spoofed victim gets little traffic.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "netsvcd.h"

#define DGRAM_BATCH	32
#define DGRAM_ROUNDS	2
#define DGRAM_SLOT	65536		/* holds any UDP payload */
#define DGRAM_MAX4	65507		/* largest UDP payload, IPv4 */
#define DGRAM_MAX6	65527		/* and IPv6 (no jumbograms) */

struct dgram {
	struct listener		*l;
	struct mmsghdr		*reply;		/* this datagram's reply slot */
	unsigned char		*slot;
	const struct sockaddr	*peer;
	const struct msghdr	*req;		/* its control data: pktinfo */
	struct timespec		 stamp;		/* udp_wait: its arrival */
	int			 replied;
};

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
union dgram_ctl {
	char			 buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr		 align;
};

struct dgram_batch {
	struct mmsghdr		 msg[DGRAM_BATCH];
	struct mmsghdr		 out[DGRAM_BATCH];
	struct iovec		 iov[DGRAM_BATCH];
	struct iovec		 oiov[DGRAM_BATCH];
	struct sockaddr_storage	 addr[DGRAM_BATCH];
	union dgram_ctl		 ctl[DGRAM_BATCH];	/* as received */
	union dgram_ctl		 octl[DGRAM_BATCH];	/* for the replies */
	unsigned char		*slots;		/* DGRAM_BATCH * DGRAM_SLOT */
};

static struct dgram_batch	*dgram_batch_get(struct worker *);
static int			 dgram_source_ok(const struct daemon *,
				    const struct sockaddr *);
static int			 dgram_amplify_ok(struct listener *,
				    const struct sockaddr *, uint32_t *src,
				    size_t req, size_t reply);
static void			 dgram_drop(struct listener *, enum drop_reason,
				    unsigned long);
static void			 dgram_reply_from(const struct msghdr *req,
				    struct msghdr *, union dgram_ctl *);

/* The worker's batch buffers, made on first use. */
static struct dgram_batch *
dgram_batch_get(struct worker *w)
{
	struct dgram_batch	*b;

	if (w->batch != NULL)
		return w->batch;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	/* Untouched pages cost no memory; small datagrams touch one each. */
	if ((b->slots = malloc((size_t)DGRAM_BATCH * DGRAM_SLOT)) == NULL) {
		free(b);
		return NULL;
	}
	w->batch = b;
	return b;
}

void
dgram_batch_free(struct dgram_batch *b)
{
	if (b == NULL)
		return;
	free(b->slots);
	free(b);
}

/* May a reply go to this source?  See the comment at the top. */
static int
dgram_source_ok(const struct daemon *d, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	in_addr_t			 a;
	unsigned int			 port;

	port = sockaddr_port(sa);
	if (port < 1024 || (d->udp_ports[port / 8] & (1U << (port % 8))))
		return 0;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		a = ntohl(sin->sin_addr.s_addr);
		if (a == INADDR_ANY || a == INADDR_BROADCAST ||
		    IN_MULTICAST(a))
			return 0;
		return 1;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
		    IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr))
			return 0;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&a, &sin6->sin6_addr.s6_addr[12], sizeof(a));
			a = ntohl(a);
			if (a == INADDR_ANY || a == INADDR_BROADCAST ||
			    IN_MULTICAST(a))
				return 0;
		}
		return 1;
	}
	return 0;
}

/*
 * Count datagrams that get no reply, and log them at most once a second
 * per instance (with the count since), except for services that never
 * reply: discard drops by design.
 */
static void
dgram_drop(struct listener *l, enum drop_reason why, unsigned long n)
{
	struct instance	*inst = l->inst;
	unsigned long	 total;

	atomic_fetch_add_explicit(&inst->stats->dropped[why], n,
	    memory_order_relaxed);
	if (why == DROP_NOREPLY)
		return;
	pthread_mutex_lock(&l->d->lock);
	inst->drop_latest = why;
	inst->drop_log.suppressed += n - 1;
	total = log_ratelimit(&inst->drop_log);
	pthread_mutex_unlock(&l->d->lock);
	if (total > 0)
		log_warnx("%s: dropped %lu datagram%s (latest: %s, on %s)",
		    inst->ic->name, total, total == 1 ? "" : "s",
		    drop_reason_name(why), l->ep.text);
}

/*
 * A reply more than udp_max_amplification times its request needs a token
 * from the source's amplification bucket.
 */
static int
dgram_amplify_ok(struct listener *l, const struct sockaddr *sa,
    uint32_t *src, size_t req, size_t reply)
{
	const struct limits_conf	*lim = &l->inst->ic->lim;
	struct source_table		*t = l->d->sources;
	uint32_t			 i;
	int				 ok = 1;

	UNUSED(src);
	if (lim->udp_max_amplification == 0 || lim->udp_amplify_rate == 0 ||
	    reply <= (uint64_t)lim->udp_max_amplification * req || t == NULL)
		return 1;
	pthread_mutex_lock(&l->d->lock);
	if ((i = source_get(t, sa, l->inst->stats)) != SOURCE_NONE)
		ok = bucket_take(source_amplify(t, i), lim->udp_amplify_rate,
		    lim->udp_amplify_burst, clock_ms());
	pthread_mutex_unlock(&l->d->lock);
	if (i == SOURCE_NONE)
		limit_hit(&l->d->limits, LIMIT_SOURCE_TABLE, 1,
		    l->inst->ic->name);
	return ok;
}

/* Run one batch; returns the number of datagrams read (0: nothing left). */
static int
dgram_round(struct listener *l, struct dgram_batch *b)
{
	const struct service	*svc = l->inst->ic->service;
	const struct limits_conf *lim = &l->inst->ic->lim;
	struct dgram		 dg;
	uint32_t		 src;
	enum admit		 a;
	char			 ctx[160];
	int			 i, j, n, nout, sent;

	for (i = 0; i < DGRAM_BATCH; i++) {
		b->iov[i].iov_base = b->slots + (size_t)i * DGRAM_SLOT;
		b->iov[i].iov_len = DGRAM_SLOT;
		memset(&b->msg[i].msg_hdr, 0, sizeof(b->msg[i].msg_hdr));
		b->msg[i].msg_hdr.msg_name = &b->addr[i];
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
		if (l->pktinfo) {
			b->msg[i].msg_hdr.msg_control = &b->ctl[i];
			b->msg[i].msg_hdr.msg_controllen = sizeof(b->ctl[i]);
		}
	}
	n = recvmmsg(l->fd, b->msg, DGRAM_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			snprintf(ctx, sizeof(ctx), "%s: recvmmsg: %s",
			    l->ep.text, strerror(errno));
			listener_pause(l->w, SERVICE_UDP,
			    limit_hit(&l->d->limits, LIMIT_IO, 1, ctx));
		}
		return 0;
	}
	atomic_fetch_add_explicit(&l->inst->stats->dgrams_in,
	    (unsigned long)n, memory_order_relaxed);
	nout = 0;
	for (i = 0; i < n; i++) {
		dg.l = l;
		dg.slot = b->iov[i].iov_base;
		dg.peer = (const struct sockaddr *)&b->addr[i];
		dg.req = l->pktinfo ? &b->msg[i].msg_hdr : NULL;
		dg.reply = &b->out[nout];
		dg.replied = 0;
		atomic_fetch_add_explicit(&l->inst->stats->bytes_in[PROTO_UDP],
		    b->msg[i].msg_len, memory_order_relaxed);
		if (b->msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
			dgram_drop(l, DROP_ERROR, 1);
			continue;
		}
		if (lim->udp_protect && !dgram_source_ok(l->d, dg.peer)) {
			dgram_drop(l, DROP_REFLECT, 1);
			continue;
		}
		if ((a = instance_dgram_ok(l->inst, dg.peer,
		    &src)) != ADMIT_OK) {
			dgram_drop(l, a == ADMIT_ACCESS ? DROP_ACCESS :
			    DROP_RATE, 1);
			continue;
		}
		if (svc->udp_datagram == NULL) {
			dgram_drop(l, DROP_NOREPLY, 1);
			continue;
		}
		svc->udp_datagram(&dg, dg.slot, b->msg[i].msg_len);
		if (!dg.replied)
			dgram_drop(l, DROP_NOREPLY, 1);
		else if (!dgram_amplify_ok(l, dg.peer, &src,
		    b->msg[i].msg_len, b->oiov[nout].iov_len))
			dgram_drop(l, DROP_AMPLIFY, 1);
		else
			nout++;
	}
	sent = 0;
	while (sent < nout) {
		i = sendmmsg(l->fd, b->out + sent, (unsigned int)(nout - sent),
		    MSG_DONTWAIT);
		if (i == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS) {
				/* A full socket buffer: UDP may lose. */
				dgram_drop(l, DROP_ERROR,
				    (unsigned long)(nout - sent));
				break;
			}
			/* This one cannot go (unreachable...): the rest can. */
			dgram_drop(l, DROP_ERROR, 1);
			sent++;
			continue;
		}
		for (j = sent; j < sent + i; j++)
			atomic_fetch_add_explicit(
			    &l->inst->stats->bytes_out[PROTO_UDP],
			    b->out[j].msg_len, memory_order_relaxed);
		atomic_fetch_add_explicit(&l->inst->stats->dgrams_out,
		    (unsigned long)i, memory_order_relaxed);
		sent += i;
	}
	return n;
}

/* Drop the datagram at the head of the socket, unread. */
static void
dgram_skip(struct listener *l)
{
	char	byte;

	(void)recv(l->fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC);
}

/*
 * Peek at the datagram at the head of l's socket: its sender, and the
 * time the kernel took it in (SO_TIMESTAMPNS, turned on at the first
 * call), which tells it from any other.  Returns 0, or -1 with errno.
 */
static int
dgram_peek_head(struct listener *l, struct sockaddr_storage *ss,
    struct timespec *stamp)
{
	union {
		char		 buf[CMSG_SPACE(sizeof(struct timespec)) +
				    CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr	 align;
	}			 ctl;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	char			 byte;
	int			 on = 1;

	if (!l->stamped) {
		(void)setsockopt(l->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on,
		    sizeof(on));
		l->stamped = 1;
	}
	memset(ss, 0, sizeof(*ss));
	memset(stamp, 0, sizeof(*stamp));
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_name = ss;
	msg.msg_namelen = sizeof(*ss);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	if (recvmsg(l->fd, &msg, MSG_PEEK | MSG_DONTWAIT) == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(stamp, CMSG_DATA(cm), sizeof(*stamp));
	}
	return 0;
}

/*
 * A udp_wait program has exited.  If the datagram that started it is
 * still at the head of the socket, the program never read it (it failed
 * before, or crashed): drop it, or it would start the next program, and
 * the next, for ever.
 */
void
dgram_wait_done(struct listener *l, const struct timespec *stamp)
{
	struct sockaddr_storage	ss;
	struct timespec		now;

	if ((stamp->tv_sec == 0 && stamp->tv_nsec == 0) ||
	    dgram_peek_head(l, &ss, &now) == -1 ||
	    now.tv_sec != stamp->tv_sec || now.tv_nsec != stamp->tv_nsec)
		return;
	dgram_skip(l);
	dgram_drop(l, DROP_ERROR, 1);
}

/*
 * UDP wait mode (udp_wait): the first datagram stays in the socket for
 * the program; only its sender is peeked at, for the same checks as any
 * datagram.  One that fails them, or that no program takes, is dropped.
 */
static void
dgram_wait(struct listener *l)
{
	struct sockaddr_storage	 ss;
	struct timespec		 stamp;
	struct dgram		 dg;
	uint32_t		 src;
	enum admit		 a;
	int			 why;

	if (dgram_peek_head(l, &ss, &stamp) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_warn("%s: recvfrom", l->ep.text);
			dgram_skip(l);
		}
		return;
	}
	atomic_fetch_add_explicit(&l->inst->stats->dgrams_in, 1,
	    memory_order_relaxed);
	memset(&dg, 0, sizeof(dg));
	dg.l = l;
	dg.peer = (const struct sockaddr *)&ss;
	dg.stamp = stamp;
	if (l->inst->ic->lim.udp_protect && !dgram_source_ok(l->d, dg.peer))
		why = DROP_REFLECT;
	else if ((a = instance_dgram_ok(l->inst, dg.peer, &src)) != ADMIT_OK)
		why = a == ADMIT_ACCESS ? DROP_ACCESS : DROP_RATE;
	else
		why = DROP_COUNT;
	if (why == DROP_COUNT) {
		l->inst->ic->service->udp_wait(&dg);
		if (dg.replied)
			return;		/* a program has the socket */
		why = DROP_ERROR;
	}
	dgram_skip(l);
	dgram_drop(l, why, 1);
}

/* Service API: see service.h. */
int
dgram_spawn(struct dgram *dg, const struct spawn_spec *sp)
{
	if (dg->replied || dg->slot != NULL ||
	    spawn_dgram(dg->l, dg->peer, &dg->stamp, sp) == -1)
		return -1;
	dg->replied = 1;
	return 0;
}

/* The UDP socket is readable: serve a bounded number of batches. */
void
dgram_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct listener		*l = arg;
	struct dgram_batch	*b;
	int			 round;

	UNUSED(fd);
	UNUSED(what);
	if (l->inst->ic->service->udp_wait != NULL) {
		/*
		 * One socket that several workers share (passed by systemd):
		 * only worker 0's copy may hand it to a program, or each
		 * worker would start one for the same datagram.
		 */
		if (l->shared)
			event_del(l->ev);
		else
			dgram_wait(l);
		return;
	}
	/*
	 * The socket is level-triggered: returning with its datagrams
	 * unread would bring the loop straight back, at 100 % CPU for as
	 * long as memory is short.  Stop reading UDP for a while instead.
	 */
	if ((b = dgram_batch_get(l->w)) == NULL) {
		listener_pause(l->w, SERVICE_UDP, limit_hit(&l->d->limits,
		    LIMIT_UDP_NOMEM, 1, l->ep.text));
		return;
	}
	for (round = 0; round < DGRAM_ROUNDS; round++) {
		if (dgram_round(l, b) < DGRAM_BATCH)
			break;
	}
}

/*
 * Service API: queue the reply in this datagram's slot (memmove: the
 * service may pass a pointer into the request itself, as echo does).
 */
int
dgram_reply(struct dgram *dg, const void *buf, size_t len)
{
	struct mmsghdr	*m = dg->reply;
	struct iovec	*iov;
	size_t		 max;

	if (dg->replied || dg->slot == NULL)
		return -1;	/* answered, or udp_wait: no slot */
	max = dg->peer->sa_family == AF_INET6 ? DGRAM_MAX6 : DGRAM_MAX4;
	if (len > max)
		len = max;
	if (buf == NULL && len > 0)
		return -1;
	if (len > 0 && buf != dg->slot)
		memmove(dg->slot, buf, len);
	iov = &dg->l->w->batch->oiov[m - dg->l->w->batch->out];
	iov->iov_base = dg->slot;
	iov->iov_len = len;
	memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
	m->msg_hdr.msg_name = (void *)(uintptr_t)dg->peer;
	m->msg_hdr.msg_namelen = dg->peer->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
	if (dg->req != NULL)
		dgram_reply_from(dg->req, &m->msg_hdr,
		    &dg->l->w->batch->octl[m - dg->l->w->batch->out]);
	dg->replied = 1;
	return 0;
}

/*
 * On a wildcard socket, answer from the address the request was sent to:
 * the kernel would pick the source by route, and a client that sent to
 * another local address (a connected UDP socket, NAT, a stateful firewall)
 * would drop the reply.  The request's pktinfo becomes the reply's.
 */
static void
dgram_reply_from(const struct msghdr *req, struct msghdr *out,
    union dgram_ctl *ctl)
{
	struct cmsghdr		*c, *o;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;

	for (c = CMSG_FIRSTHDR(req); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)(uintptr_t)req, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_ifindex = 0;	/* the route decides */
			pi.ipi_addr.s_addr = 0;
			out->msg_control = ctl;
			out->msg_controllen = CMSG_SPACE(sizeof(pi));
			o = CMSG_FIRSTHDR(out);
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			if (IN6_IS_ADDR_MULTICAST(&pi6.ipi6_addr))
				return;
			out->msg_control = ctl;
			out->msg_controllen = CMSG_SPACE(sizeof(pi6));
			o = CMSG_FIRSTHDR(out);
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi6));
			memcpy(CMSG_DATA(o), &pi6, sizeof(pi6));
			return;
		}
	}
}

const void *
dgram_conf(struct dgram *dg)
{
	return dg->l->inst->ic->svc.data;
}

/* The sender as text, in a per-thread buffer valid until the next call. */
const char *
dgram_peer(struct dgram *dg)
{
	static _Thread_local char	buf[64];

	sockaddr_format(dg->peer, buf, sizeof(buf));
	return buf;
}
