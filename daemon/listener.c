/*
 * listener.c: bound sockets.  TCP listeners accept in batches until EAGAIN;
 * UDP sockets hand their readiness to dgram.c.  Running out of descriptors
 * pauses accepting for a moment instead of spinning on EMFILE.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "netsvcd.h"

#define ACCEPT_BATCH	64	/* accepts per wakeup, so others get a turn */
#define EMFILE_PAUSE_MS	250

static void	listener_on_accept(evutil_socket_t, short, void *);
static int	listener_socket(const struct endpoint *, unsigned int backlog,
		    char **cause);
static void	listener_emfile(struct listener *);

/* Create, bind and (for TCP) listen; returns the fd or -1 with *cause. */
static int
listener_socket(const struct endpoint *ep, unsigned int backlog, char **cause)
{
	int	fd, on = 1, type;

	type = ep->proto == SERVICE_TCP ? SOCK_STREAM : SOCK_DGRAM;
	fd = socket(ep->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
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
	if (asprintf(cause, "%s: %s", ep->text, strerror(errno)) == -1)
		*cause = NULL;
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Bind one endpoint of an instance and start serving it.  Logs the real
 * address (the kernel's port when 0 was configured).  Returns 0 or -1 with
 * *cause set.
 */
int
listener_open(struct daemon *d, struct instance *inst,
    const struct endpoint *ep, char **cause)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	event_callback_fn	 cb;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		if (asprintf(cause, "%s: %s", ep->text, strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	l->d = d;
	l->inst = inst;
	l->ep = *ep;
	if ((l->fd = listener_socket(ep, inst->ic->backlog, cause)) == -1) {
		free(l);
		return -1;
	}
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    sslen <= sizeof(l->ep.addr)) {
		memcpy(&l->ep.addr, &ss, sslen);
		l->ep.addrlen = sslen;
		endpoint_format(&l->ep, l->ep.text, sizeof(l->ep.text));
	}
	cb = ep->proto == SERVICE_TCP ? listener_on_accept : dgram_on_read;
	l->ev = event_new(d->w.base, l->fd, EV_READ | EV_PERSIST, cb, l);
	if (l->ev == NULL || event_add(l->ev, NULL) == -1) {
		if (asprintf(cause, "%s: cannot add event", ep->text) == -1)
			*cause = NULL;
		if (l->ev != NULL)
			event_free(l->ev);
		close(l->fd);
		free(l);
		return -1;
	}
	instance_ref(inst);
	LIST_INSERT_HEAD(&d->listeners, l, entry);
	log_info("instance %s listening on %s", inst->ic->name, l->ep.text);
	return 0;
}

/* Stop serving one endpoint and close its socket. */
void
listener_close(struct listener *l)
{
	LIST_REMOVE(l, entry);
	event_free(l->ev);
	close(l->fd);
	instance_unref(l->inst);
	free(l);
}

void
listener_close_all(struct daemon *d)
{
	struct listener	*l;

	while ((l = LIST_FIRST(&d->listeners)) != NULL)
		listener_close(l);
}

/* Stop accepting on every TCP listener for ms milliseconds. */
void
listener_pause_all(struct daemon *d, int ms)
{
	struct listener	*l;
	struct timeval	 tv;

	LIST_FOREACH(l, &d->listeners, entry) {
		if (l->ep.proto == SERVICE_TCP)
			event_del(l->ev);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(d->ev_resume, &tv);
}

/* The resume timer: accept again after a descriptor shortage. */
void
listener_resume_all(struct daemon *d)
{
	struct listener	*l;

	LIST_FOREACH(l, &d->listeners, entry) {
		if (l->ep.proto == SERVICE_TCP)
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
	unsigned long	 n;
	int		 fd;

	if (d->reserve_fd != -1) {
		close(d->reserve_fd);
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1)
			close(fd);
		d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if ((n = log_ratelimit(&d->emfile_log)) > 0)
		log_warnx("out of file descriptors (%lu time%s): pausing "
		    "accept for %d ms", n, n == 1 ? "" : "s", EMFILE_PAUSE_MS);
	listener_pause_all(d, EMFILE_PAUSE_MS);
}

/* Accept until EAGAIN or the batch is done. */
static void
listener_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
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
				log_warn("%s: accept", l->ep.text);
				return;
			}
		}
		if (instance_admit(l->inst) == -1) {
			close(fd);
			continue;
		}
		conn_start(&l->d->w, l->inst, fd, (struct sockaddr *)&ss,
		    sslen);
	}
}
