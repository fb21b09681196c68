/*
 * conn.c: one TCP connection, and the host side of the service API.
 *
 * The data path is the one of a plain epoll server: read() into the
 * worker's scratch buffer, hand the bytes to the service, and write()
 * its output straight to the socket.  Only output the socket does not take
 * at once is copied into a per-connection buffer, allocated on demand and
 * freed once drained, so an idle connection costs this struct and nothing
 * more.  Past buffer_limit pending bytes the connection stops reading, which
 * bounds memory for peers that send but never read.  Echo skips user space
 * (splice through the worker's pipe) and discard skips the copy
 * (MSG_TRUNC) when the service asks for it.
 *
 * Lifetime: conn_abort() closes the socket and moves the conn to the
 * worker's dead list; the memory is freed by the worker's reaper event,
 * after the callback that is running returns, so no callback (host or
 * service) ever touches freed memory.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <linux/sockios.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "netsvcd.h"

#define CONN_SPARE	256	/* closed conns a worker keeps for reuse */
#define SPLICE_MIN_CONNS 2	/* echo splices from this many conns up */

struct outbuf {
	unsigned char	*data;
	size_t		 off;		/* first unsent byte */
	size_t		 len;		/* end of data */
	size_t		 cap;
};

/* Why a connection ended, for the connection log. */
enum conn_end {
	END_NONE,
	END_EOF,		/* the peer closed */
	END_DONE,		/* the service was done */
	END_ERROR,		/* reset or socket error */
	END_IDLE,		/* idle_timeout */
	END_WRITE_TIMEOUT,	/* write_timeout: the peer stopped reading */
	END_DURATION,		/* max_duration */
	END_BYTES,		/* max_bytes */
	END_SHUTDOWN,		/* shutdown_timeout */
	END_NOMEM,
	END_CHILD,		/* handed to a program (conn_spawn) */
};

/*
 * Whether the kernel may hold output the peer has not taken, for
 * write_timeout (see conn_kernel_stalled).
 */
enum conn_unsent {
	UNSENT_NONE,		/* nothing written, or the queue was empty */
	UNSENT_WRITTEN,		/* written; the timer does not know yet */
	UNSENT_WATCHED,		/* the timer watches the socket's queue */
};

struct conn {
	LIST_ENTRY(conn)	 entry;
	struct worker		*w;
	struct instance		*inst;
	const struct service	*svc;
	int			 fd;
	enum conn_state		 state;
	enum conn_end		 end;
	uint32_t		 src;		/* source table entry */
	uint8_t			 armed;		/* events set up */
	uint8_t			 reading;	/* rev is added */
	uint8_t			 writing;	/* wev is added */
	uint8_t			 unsent;	/* enum conn_unsent */
	uint8_t			 drop_input;	/* recv(MSG_TRUNC), no tcp_read */
	uint8_t			 echo_input;	/* spliced back, no tcp_read */
	uint8_t			 handed;	/* a child holds the admission */
	struct event		 rev;
	struct event		 wev;
	struct event		 timer;		/* lazily re-armed deadlines */
	struct outbuf		 out;
	void			*data;		/* the service's */
	uint64_t		 started;	/* monotonic ms */
	uint64_t		 last_active;	/* traffic either way */
	uint64_t		 last_write;	/* output progress */
	uint64_t		 timer_at;	/* when the timer fires, 0: off */
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	uint64_t		 acked;		/* bytes_out the peer took */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 peer;
};

static void	conn_on_read(evutil_socket_t, short, void *);
static void	conn_on_write(evutil_socket_t, short, void *);
static void	conn_on_timer(evutil_socket_t, short, void *);
static void	conn_abort(struct conn *, enum conn_end);
static void	conn_release(struct conn *, int);
static void	conn_finish(struct conn *, enum conn_end);
static void	conn_schedule(struct conn *);
static void	conn_arm(struct conn *);
static void	conn_count_out(struct conn *, size_t);
static void	conn_log_end(struct conn *);
static void	conn_limit_hit(struct conn *);
static void	conn_set_state(struct conn *, enum conn_state);
static void	conn_want_read(struct conn *, int);
static void	conn_want_write(struct conn *, int);
static int	conn_flush(struct conn *);
static int	conn_buffer(struct conn *, const void *, size_t);
static int	conn_queue(struct conn *, const void *, size_t);
static ssize_t	conn_read_once(struct conn *, evutil_socket_t, size_t);
static ssize_t	conn_splice_in(struct conn *, size_t);
static void	conn_splice_out(struct conn *, size_t);
static void	conn_pipe_take(struct conn *, size_t);

const char *
conn_state_name(enum conn_state s)
{
	switch (s) {
	case CONN_OPEN:
		return "open";
	case CONN_DRAINING:
		return "draining";
	case CONN_CLOSED:
		return "closed";
	}
	return "unknown";
}

static const char *
conn_end_name(enum conn_end e)
{
	static const char *const names[] = {
		[END_NONE] = "closed", [END_EOF] = "eof", [END_DONE] = "done",
		[END_ERROR] = "error", [END_IDLE] = "idle_timeout",
		[END_WRITE_TIMEOUT] = "write_timeout",
		[END_DURATION] = "max_duration", [END_BYTES] = "max_bytes",
		[END_SHUTDOWN] = "shutdown", [END_NOMEM] = "out_of_memory",
		[END_CHILD] = "child",
	};

	return e <= END_CHILD ? names[e] : "unknown";
}

/* States only move forward: open -> draining -> closed. */
static void
conn_set_state(struct conn *c, enum conn_state s)
{
	assert(s > c->state);
	log_debug("%s: %s: %s -> %s", c->inst->ic->name, conn_peer(c),
	    conn_state_name(c->state), conn_state_name(s));
	c->state = s;
}

/* Arm a timer event for ms milliseconds. */
static void
timer_arm(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(ev, &tv);
}

/*
 * Take ownership of an accepted, non-blocking socket whose instance has
 * already admitted it (instance_admit).  Returns 0, or -1 with the socket
 * closed and the admission released.
 */
int
conn_start(struct worker *w, struct instance *inst, int fd,
    const struct sockaddr *sa, socklen_t salen, uint32_t src)
{
	struct conn	*c;

	if ((c = LIST_FIRST(&w->spare)) != NULL) {
		LIST_REMOVE(c, entry);
		w->nspare--;
		memset(c, 0, sizeof(*c));
	} else if ((c = calloc(1, sizeof(*c))) == NULL) {
		limit_hit(&inst->d->limits, LIMIT_NOMEM, 1, inst->ic->name);
		close(fd);
		instance_release(inst, src);
		return -1;
	}
	c->w = w;
	c->inst = inst;
	c->svc = inst->ic->service;
	c->fd = fd;
	c->state = CONN_OPEN;
	c->src = src;
	c->drop_input = c->svc->tcp_read == NULL;
	c->started = c->last_active = c->last_write = clock_ms();
	if (salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, salen);
	instance_ref(inst);
	LIST_INSERT_HEAD(&w->conns, c, entry);
	w->nconns++;

	/*
	 * The service goes first: a daytime-like service writes, closes and
	 * is gone before any event was ever set up for it.
	 */
	if (c->svc->tcp_accept != NULL)
		c->svc->tcp_accept(c);
	if (c->state != CONN_OPEN)
		return 0;
	conn_schedule(c);
	conn_want_read(c, 1);
	if (c->svc->tcp_write_ready != NULL)
		conn_want_write(c, 1);
	return 0;
}

/* Set up the connection's events, the first time one is needed. */
static void
conn_arm(struct conn *c)
{
	if (c->armed)
		return;
	c->armed = 1;
	event_assign(&c->rev, c->w->base, c->fd, EV_READ | EV_PERSIST,
	    conn_on_read, c);
	event_assign(&c->wev, c->w->base, c->fd, EV_WRITE | EV_PERSIST,
	    conn_on_write, c);
	evtimer_assign(&c->timer, c->w->base, conn_on_timer, c);
}

static void
conn_want_read(struct conn *c, int on)
{
	if (on == c->reading)
		return;
	conn_arm(c);
	c->reading = on;
	if (on)
		event_add(&c->rev, NULL);
	else
		event_del(&c->rev);
}

static void
conn_want_write(struct conn *c, int on)
{
	if (on == c->writing)
		return;
	conn_arm(c);
	c->writing = on;
	if (on)
		event_add(&c->wev, NULL);
	else
		event_del(&c->wev);
}

/*
 * Make close() send a reset and drop what the kernel still holds for a
 * peer that stopped reading: a FIN would wait behind that output, on a
 * zero window, for as long as the peer likes.
 */
static void
conn_reset(int fd)
{
	struct linger	l = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/*
 * The service is done (daytime, qotd...), but the client may have sent
 * something first (telnet's CR LF, "echo | nc"): closing a socket with
 * unread input makes the kernel answer with a reset, which can reach the
 * client before it has read the reply.  Drop that input first, without
 * copying it, so the close is a plain FIN after the reply.  A corked
 * reply (listener.c: services that answer and close) goes out first, with
 * the FIN: input that still comes between the drop and the close would
 * make the close a reset that throws away a reply still in the socket.
 */
static void
conn_drop_unread(struct conn *c)
{
	int	i;

	if (instance_answers_and_closes(c->inst))
		(void)shutdown(c->fd, SHUT_WR);
	for (i = 0; i < 4; i++) {
		if (recv(c->fd, c->w->rbuf, RBUF_SIZE,
		    MSG_DONTWAIT | MSG_TRUNC) <= 0)
			break;
	}
}

/*
 * Close the socket now, whatever is pending, and queue the conn for the
 * reaper.  Safe to call from any callback, more than once.
 */
static void
conn_abort(struct conn *c, enum conn_end why)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->end == END_NONE)
		c->end = why;
	if (c->end == END_BYTES || c->end == END_NOMEM)
		conn_limit_hit(c);
	conn_set_state(c, CONN_CLOSED);
	if (c->inst->ic->lim.log_connections == LOG_CONN_CLOSE && !c->handed)
		conn_log_end(c);	/* a child logs its own line */
	if (c->armed) {
		event_del(&c->rev);
		event_del(&c->wev);
		event_del(&c->timer);
	}
	if (why == END_WRITE_TIMEOUT)
		conn_reset(c->fd);
	conn_release(c, why != END_WRITE_TIMEOUT && c->end == END_DONE);
}

/*
 * The last steps of a close: give back the source slot and the place in
 * the counts (unless a child holds them, spawn.c), drop unread input if
 * the service is done, close the socket and queue c for the reaper, which
 * lets the service free its state.  The client may connect again as soon as it
 * sees the FIN, even to another worker: the slot is given back first, not
 * when the reaper runs (after an accept batch).
 */
static void
conn_release(struct conn *c, int drop_unread)
{
	struct worker	*w = c->w;

	if (!c->handed)
		instance_release(c->inst, c->src);
	c->src = SOURCE_NONE;
	if (drop_unread)
		conn_drop_unread(c);
	close(c->fd);
	c->fd = -1;
	free(c->out.data);
	memset(&c->out, 0, sizeof(c->out));
	LIST_REMOVE(c, entry);
	w->nconns--;
	if (LIST_EMPTY(&w->dead))
		event_active(w->reaper, EV_TIMEOUT, 0);
	LIST_INSERT_HEAD(&w->dead, c, entry);
}

/* A limit closed c: count it and log it, rate-limited (limits.c). */
static void
conn_limit_hit(struct conn *c)
{
	char	ctx[160];

	snprintf(ctx, sizeof(ctx), "%s: %s", c->inst->ic->name, conn_peer(c));
	limit_hit(&c->inst->d->limits, c->end == END_BYTES ? LIMIT_MAX_BYTES :
	    LIMIT_NOMEM, 1, ctx);
}

/*
 * Free every conn closed since the last run (the worker's reaper event).
 * The service's tcp_close runs here, not where the conn was closed: a
 * conn_close() or conn_write() inside the service's own callback may close
 * the conn, and the callback must still find its state when it returns.
 */
void
conn_reap(struct worker *w)
{
	struct conn	*c;
	struct instance	*inst;

	while ((c = LIST_FIRST(&w->dead)) != NULL) {
		LIST_REMOVE(c, entry);
		inst = c->inst;
		if (c->svc->tcp_close != NULL)
			c->svc->tcp_close(c);
		/* Keep a few for the next accepts: no malloc per connection. */
		if (w->nspare < CONN_SPARE) {
			LIST_INSERT_HEAD(&w->spare, c, entry);
			w->nspare++;
		} else
			free(c);
		instance_unref(inst);
	}
}

/* Close every connection of the worker at once (end of shutdown). */
void
conn_close_all(struct worker *w)
{
	struct conn	*c;

	while ((c = LIST_FIRST(&w->conns)) != NULL)
		conn_abort(c, END_SHUTDOWN);
}

/* Free the spare conns kept for reuse (the worker is going away). */
void
conn_free_spare(struct worker *w)
{
	struct conn	*c;

	while ((c = LIST_FIRST(&w->spare)) != NULL) {
		LIST_REMOVE(c, entry);
		free(c);
	}
	w->nspare = 0;
}

/*
 * Input is ready: read and hand the bytes over, and again while a read
 * filled all that was asked and nothing is pending (the socket may hold
 * more), up to RBUF_SIZE bytes a wakeup so that other connections get
 * their turn.  Level-triggered: what is left brings the loop back.
 */
static void
conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	size_t		 room, total = 0;
	ssize_t		 n;

	UNUSED(what);
	do {
		/*
		 * Never read more than the output buffer could still hold:
		 * an echo of it must fit under buffer_limit.  Reading stops
		 * at the limit, so room is at least 1 here.
		 */
		room = c->inst->ic->buffer_limit - conn_pending(c);
		if (room > RBUF_SIZE - total)
			room = RBUF_SIZE - total;
		if ((n = conn_read_once(c, fd, room)) <= 0)
			return;
		total += (size_t)n;
	} while ((size_t)n == room && total < RBUF_SIZE &&
	    conn_pending(c) == 0 && c->reading);
}

/*
 * One read of at most room bytes (a splice for echo), handed to the
 * service; the bytes read, or 0 when the caller must stop (nothing read,
 * EOF, error, c no longer open).
 */
static ssize_t
conn_read_once(struct conn *c, evutil_socket_t fd, size_t room)
{
	ssize_t		 n;
	int		 spliced;

	/*
	 * Splice while the worker has other connections to serve.  A
	 * connection alone is echoed through rbuf instead: on loopback the
	 * bytes a copy writes reach their reader warm in cache, and a lone
	 * connection's reader, not the server, sets its pace; with many the
	 * server's CPU is what counts, and splice saves it (PERFORMANCE.md).
	 */
	spliced = c->echo_input && c->out.len == c->out.off &&
	    c->w->pipefd[0] != -1 && c->w->nconns >= SPLICE_MIN_CONNS;
	if (spliced)
		n = conn_splice_in(c, room);
	else
		n = recv(fd, c->w->rbuf, room, c->drop_input ? MSG_TRUNC : 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (spliced && (errno == EINVAL || errno == ENOSYS)) {
			c->echo_input = 0;	/* no splice here: copy */
			return 0;
		}
		log_debug("%s: %s: read: %s", c->inst->ic->name, conn_peer(c),
		    strerror(errno));
		conn_abort(c, END_ERROR);
		return 0;
	}
	if (n == 0) {
		/* Peer half-closed: flush what is pending, then close. */
		conn_finish(c, END_EOF);
		return 0;
	}
	c->last_active = clock_ms();
	c->bytes_in += (uint64_t)n;
	atomic_fetch_add_explicit(&c->inst->stats->bytes_in[PROTO_TCP],
	    (unsigned long)n, memory_order_relaxed);
	if (spliced)
		conn_splice_out(c, (size_t)n);
	else if (c->state == CONN_OPEN && !c->drop_input)
		c->svc->tcp_read(c, c->w->rbuf, (size_t)n);
	if (c->state != CONN_OPEN)
		return 0;
	if (c->unsent == UNSENT_WRITTEN) {
		c->unsent = UNSENT_WATCHED;
		conn_schedule(c);	/* write_timeout now watches the kernel */
	}
	if (c->inst->ic->lim.max_bytes != 0 &&
	    c->bytes_in + c->bytes_out >= c->inst->ic->lim.max_bytes)
		conn_finish(c, END_BYTES);
	if (c->state == CONN_OPEN &&
	    c->out.len - c->out.off >= c->inst->ic->buffer_limit)
		conn_want_read(c, 0);	/* backpressure until drained */
	return c->state == CONN_OPEN ? n : 0;
}

/*
 * Echo without copies: move up to len bytes from the socket into the
 * worker's pipe (splice(2) passes page references), to be sent back from
 * there by conn_splice_out() before this callback returns, so the pipe is
 * empty again whenever another connection gets its turn.  Returns what
 * recv() would.
 */
static ssize_t
conn_splice_in(struct conn *c, size_t len)
{
	return splice(c->fd, NULL, c->w->pipefd[1], NULL, len,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/*
 * Send the n bytes in the pipe back to the peer, as far as the socket
 * takes them; the rest goes to the output buffer, the same path as a
 * copied echo.  A connection no longer open loses them, as its tcp_read
 * would.
 */
static void
conn_splice_out(struct conn *c, size_t n)
{
	ssize_t	m;

	while (n > 0 && c->state == CONN_OPEN) {
		m = splice(c->w->pipefd[0], NULL, c->fd, NULL, n,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (m == -1 && errno == EINTR)
			continue;
		if (m == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_debug("%s: %s: write: %s", c->inst->ic->name,
			    conn_peer(c), strerror(errno));
			conn_abort(c, END_ERROR);
		}
		if (m <= 0)
			break;
		n -= (size_t)m;
		conn_count_out(c, (size_t)m);
	}
	if (n > 0)
		conn_pipe_take(c, n);
}

/* Empty the pipe of its n bytes: into c's output buffer while c is open. */
static void
conn_pipe_take(struct conn *c, size_t n)
{
	struct worker	*w = c->w;
	ssize_t		 m;

	while (n > 0) {
		m = read(w->pipefd[0], w->rbuf, n < RBUF_SIZE ? n : RBUF_SIZE);
		if (m == -1 && errno == EINTR)
			continue;
		if (m <= 0) {
			/* Cannot happen; if it did, this worker copies. */
			log_warn("%s: pipe read", c->inst->ic->name);
			close(w->pipefd[0]);
			close(w->pipefd[1]);
			w->pipefd[0] = w->pipefd[1] = -1;
			conn_abort(c, END_ERROR);
			return;
		}
		/* The socket just refused more: straight to the buffer. */
		if (c->state == CONN_OPEN)
			(void)conn_queue(c, w->rbuf, (size_t)m);
		n -= (size_t)m;
	}
}

/*
 * The socket can take more: flush the buffer, then resume reading or ask a
 * streaming service for more.
 */
static void
conn_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	UNUSED(fd);
	UNUSED(what);
	if (conn_flush(c) == -1) {
		conn_abort(c, END_ERROR);
		return;
	}
	if (c->out.len != c->out.off) {
		if (c->state == CONN_OPEN && !c->reading &&
		    c->out.len - c->out.off <= c->inst->ic->buffer_limit / 2)
			conn_want_read(c, 1);
		return;
	}
	if (c->state == CONN_DRAINING) {
		conn_abort(c, c->end);	/* drained: close, as conn_finish said */
		return;
	}
	conn_want_read(c, 1);
	if (c->svc->tcp_write_ready != NULL)
		c->svc->tcp_write_ready(c);
	else
		conn_want_write(c, 0);
}

/*
 * The earliest deadline that applies now: idle_timeout since the last
 * traffic, max_duration since the start, and write_timeout since the last
 * output progress while output waits.  UINT64_MAX when none applies.
 */
static uint64_t
conn_deadline(const struct conn *c, enum conn_end *why)
{
	const struct instance_conf	*ic = c->inst->ic;
	uint64_t			 t = UINT64_MAX;

	*why = END_NONE;
	if (ic->lim.max_duration_ms != 0) {
		t = c->started + ic->lim.max_duration_ms;
		*why = END_DURATION;
	}
	if (ic->lim.write_timeout_ms != 0 && (c->out.len != c->out.off ||
	    c->svc->tcp_write_ready != NULL || c->unsent != UNSENT_NONE) &&
	    c->last_write + ic->lim.write_timeout_ms < t) {
		t = c->last_write + ic->lim.write_timeout_ms;
		*why = END_WRITE_TIMEOUT;
	}
	if (ic->idle_timeout_ms != 0 && c->last_active + ic->idle_timeout_ms < t) {
		t = c->last_active + ic->idle_timeout_ms;
		*why = END_IDLE;
	}
	return t;
}

/*
 * Arm the timer for the earliest deadline unless it already fires before.
 * Activity only moves deadlines later, so the timer is re-armed lazily
 * when it fires, not on every read or write.
 */
static void
conn_schedule(struct conn *c)
{
	enum conn_end	why;
	uint64_t	t = conn_deadline(c, &why), now;

	if (t == UINT64_MAX || (c->timer_at != 0 && c->timer_at <= t))
		return;
	now = clock_ms();
	c->timer_at = t;
	conn_arm(c);
	timer_arm(&c->timer, t > now ? t - now : 0);
}

/*
 * write_timeout came while netsvcd holds no output of its own, but the
 * kernel may: echoed bytes the peer never read sit in the socket's send
 * queue (up to net.ipv4.tcp_wmem's maximum).  The peer is making progress
 * if it acknowledged more since the last look; then the clock restarts.
 * Returns 1 when the connection should be dropped.
 */
static int
conn_kernel_stalled(struct conn *c)
{
	uint64_t	acked;
	int		queued;

	if (ioctl(c->fd, SIOCOUTQ, &queued) == -1 || queued <= 0) {
		c->unsent = UNSENT_NONE;
		return 0;
	}
	acked = c->bytes_out - (uint64_t)queued;
	if (acked != c->acked) {
		c->acked = acked;
		c->last_write = clock_ms();
		return 0;
	}
	return 1;
}

/* The timer: end the connection if a deadline really passed. */
static void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	enum conn_end	 why;
	uint64_t	 t;

	UNUSED(fd);
	UNUSED(what);
	c->timer_at = 0;
	t = conn_deadline(c, &why);
	if (t > clock_ms() || (why == END_WRITE_TIMEOUT &&
	    c->out.len == c->out.off && c->svc->tcp_write_ready == NULL &&
	    !conn_kernel_stalled(c))) {
		conn_schedule(c);
		return;
	}
	log_debug("%s: %s: %s", c->inst->ic->name, conn_peer(c),
	    conn_end_name(why));
	atomic_fetch_add_explicit(&c->inst->stats->timed_out, 1,
	    memory_order_relaxed);
	conn_abort(c, why);
}

/* Account for n bytes written. */
static void
conn_count_out(struct conn *c, size_t n)
{
	c->last_write = c->last_active = clock_ms();
	c->bytes_out += n;
	if (c->unsent == UNSENT_NONE && c->inst->ic->lim.write_timeout_ms != 0)
		c->unsent = UNSENT_WRITTEN;
	atomic_fetch_add_explicit(&c->inst->stats->bytes_out[PROTO_TCP],
	    (unsigned long)n, memory_order_relaxed);
	if (c->inst->ic->lim.max_bytes != 0 &&
	    c->bytes_in + c->bytes_out >= c->inst->ic->lim.max_bytes)
		conn_finish(c, END_BYTES);
}

/*
 * Stop reading, then close once the output is flushed (at once when
 * nothing is pending).  why is what the connection log will say.
 */
static void
conn_finish(struct conn *c, enum conn_end why)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->end == END_NONE)
		c->end = why;
	conn_want_read(c, 0);
	if (c->state == CONN_OPEN)
		conn_set_state(c, CONN_DRAINING);
	if (c->out.len == c->out.off)
		conn_abort(c, why);
}

/* One line (and journal fields) per closed connection, when asked for. */
static void
conn_log_end(struct conn *c)
{
	systemd_log_conn(c->inst->ic->name, &c->peer.sa, c->bytes_in,
	    c->bytes_out, (clock_ms() - c->started) * 1000,
	    conn_end_name(c->end));
}

/* Write buffered output; 0 (possibly with some left) or -1 on error. */
static int
conn_flush(struct conn *c)
{
	ssize_t	n;

	while (c->out.off < c->out.len) {
		n = send(c->fd, c->out.data + c->out.off,
		    c->out.len - c->out.off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out.off += (size_t)n;
		conn_count_out(c, (size_t)n);
	}
	/* Drained: give the memory back, idle connections hold none. */
	free(c->out.data);
	memset(&c->out, 0, sizeof(c->out));
	return 0;
}

/* Append to the output buffer, compacting or growing it as needed. */
static int
conn_buffer(struct conn *c, const void *buf, size_t len)
{
	struct outbuf	*o = &c->out;
	unsigned char	*p;
	size_t		 need, cap;

	if (o->off > 0 && o->len + len > o->cap) {
		memmove(o->data, o->data + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
	}
	need = o->len + len;
	if (need > o->cap) {
		cap = o->cap == 0 ? 4096 : o->cap;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(o->data, cap)) == NULL)
			return -1;
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->len, buf, len);
	o->len += len;
	return 0;
}

/* Service API: see service.h. */
int
conn_write(struct conn *c, const void *buf, size_t len)
{
	size_t	n = 0;

	if (c->state != CONN_OPEN)
		return -1;
	if (c->out.len == c->out.off)
		n = conn_write_some(c, buf, len);
	if (c->state == CONN_CLOSED)
		return -1;
	if (n == len)
		return 0;
	return conn_queue(c, (const unsigned char *)buf + n, len - n);
}

/* Buffer output for the write event to send; 0, or -1 with c closed. */
static int
conn_queue(struct conn *c, const void *buf, size_t len)
{
	int	was_empty = c->out.len == c->out.off;

	if (conn_buffer(c, buf, len) == -1) {
		conn_abort(c, END_NOMEM);	/* counted and logged there */
		return -1;
	}
	conn_want_write(c, 1);
	if (was_empty)
		conn_schedule(c);	/* write_timeout starts now */
	return 0;
}

/* Service API: see service.h. */
size_t
conn_write_some(struct conn *c, const void *buf, size_t len)
{
	uint64_t	max = c->inst->ic->lim.max_bytes, used;
	ssize_t		n;

	if (c->state != CONN_OPEN || len == 0)
		return 0;
	/* A streaming service asks for large writes: max_bytes caps them. */
	used = c->bytes_in + c->bytes_out;
	if (max != 0 && used < max && len > max - used)
		len = (size_t)(max - used);
	do {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			log_debug("%s: %s: write: %s", c->inst->ic->name,
			    conn_peer(c), strerror(errno));
			conn_abort(c, END_ERROR);
		}
		return 0;
	}
	conn_count_out(c, (size_t)n);
	return (size_t)n;
}

size_t
conn_pending(struct conn *c)
{
	return c->out.len - c->out.off;
}

/* Service API: see service.h. */
void
conn_drop_input(struct conn *c)
{
	c->drop_input = 1;
}

/* Service API: see service.h. */
void
conn_echo_input(struct conn *c)
{
	c->echo_input = 1;
}

/*
 * Service API: see service.h.  The child takes the admission along; the
 * host's side of the socket closes at once.
 */
int
conn_spawn(struct conn *c, const struct spawn_spec *sp)
{
	int	r;

	if (c->state != CONN_OPEN)
		return -1;
	r = spawn_conn(c->w, c->inst, c->fd, &c->peer.sa, c->src, sp);
	if (r == 0)
		c->handed = 1;
	conn_abort(c, r == 0 ? END_CHILD : END_ERROR);
	return r;
}

/* Service API: stop reading, flush, then close. */
void
conn_close(struct conn *c)
{
	if (c->state == CONN_OPEN)
		conn_finish(c, END_DONE);
}

void *
conn_data(struct conn *c)
{
	return c->data;
}

void
conn_set_data(struct conn *c, void *data)
{
	c->data = data;
}

const void *
conn_conf(struct conn *c)
{
	return c->inst->ic->svc.data;
}

/* The peer as text, in a per-thread buffer valid until the next call. */
const char *
conn_peer(struct conn *c)
{
	static _Thread_local char	buf[64];

	sockaddr_format(&c->peer.sa, buf, sizeof(buf));
	return buf;
}

/* ---- handover (reexec.c): connections passed to a new process ---- */

/* The worker's first connection, and the next: for reexec.c's walks. */
struct conn *
conn_first(struct worker *w)
{
	return LIST_FIRST(&w->conns);
}

struct conn *
conn_next(struct conn *c)
{
	return LIST_NEXT(c, entry);
}

/*
 * Describe every connection that can be handed over, up to room, with the
 * workers parked (conn_handover_save stops its events); the others stay
 * here and drain.  *conns gets them in the order of their records, and
 * *fds (unless NULL) their sockets; the caller frees both, also on
 * failure.  Returns how many, or -1 when out of memory.
 */
ssize_t
conns_handover_save(struct daemon *d, struct handover_state *st,
    size_t room, struct conn ***conns, int **fds)
{
	struct ho_conn	*hc;
	struct conn	*c, *next;
	size_t		 n = 0, total = atomic_load(&d->nconns);
	unsigned int	 i;

	*conns = calloc(total + 1, sizeof(struct conn *));
	if (fds != NULL)
		*fds = calloc(total + 1, sizeof(int));
	if (*conns == NULL || (fds != NULL && *fds == NULL))
		return -1;
	if (room > total)
		room = total;
	for (i = 0; i < d->nworkers; i++) {
		for (c = conn_first(&d->workers[i]); c != NULL; c = next) {
			next = conn_next(c);	/* a failed flush aborts c */
			if (n >= room || (hc = handover_add_conn(st)) == NULL) {
				st->kept++;
				continue;
			}
			if (conn_handover_save(c, hc) == -1) {
				memset(hc, 0, sizeof(*hc));
				st->nconns--;
				st->kept++;
				continue;
			}
			if (fds != NULL)
				(*fds)[n] = hc->fd;
			(*conns)[n++] = c;
		}
	}
	return (ssize_t)n;
}

/*
 * Describe c for a new process, with the workers parked: flush what the
 * socket takes, then stop every event, so that nothing here reads, writes
 * or times out while the new process starts.  hc->pending points into c's
 * buffer until conn_handover_done().  Returns 0, or -1 when c stays here
 * (not open, its service cannot hand over, too much pending output, or a
 * socket error): it then goes on untouched.
 */
int
conn_handover_save(struct conn *c, struct ho_conn *hc)
{
	socklen_t	len;
	uint64_t	now = clock_ms();

	if (c->state != CONN_OPEN || c->svc->tcp_restore == NULL)
		return -1;
	if (c->out.len != c->out.off && conn_flush(c) == -1) {
		conn_abort(c, END_ERROR);
		return -1;
	}
	if (c->state != CONN_OPEN ||
	    c->out.len - c->out.off > HANDOVER_MAX_PENDING)
		return -1;
	hc->nstate = sizeof(hc->state);
	if (c->svc->tcp_save == NULL)
		hc->nstate = 0;
	else if (c->svc->tcp_save(c, hc->state, &hc->nstate) == -1 ||
	    hc->nstate > sizeof(hc->state))
		return -1;
	len = sizeof(hc->local);
	if (getsockname(c->fd, (struct sockaddr *)&hc->local, &len) == -1)
		return -1;
	len = sizeof(hc->peer);
	if (getpeername(c->fd, (struct sockaddr *)&hc->peer, &len) == -1)
		return -1;
	hc->fd = c->fd;
	hc->worker = c->w->id;
	snprintf(hc->instance, sizeof(hc->instance), "%s", c->inst->ic->name);
	snprintf(hc->service, sizeof(hc->service), "%s", c->svc->name);
	hc->bytes_in = c->bytes_in;
	hc->bytes_out = c->bytes_out;
	hc->age_ms = now > c->started ? now - c->started : 0;
	hc->idle_ms = now > c->last_active ? now - c->last_active : 0;
	hc->write_idle_ms = now > c->last_write ? now - c->last_write : 0;
	if (hc->idle_ms > hc->age_ms)
		hc->idle_ms = hc->age_ms;
	if (hc->write_idle_ms > hc->age_ms)
		hc->write_idle_ms = hc->age_ms;
	hc->npending = c->out.len - c->out.off;
	hc->pending = hc->npending > 0 ? c->out.data + c->out.off : NULL;
	hc->flags = hc->npending == 0 ? HO_CONN_FLUSHED : 0;
	conn_want_read(c, 0);
	conn_want_write(c, 0);
	if (c->armed)
		event_del(&c->timer);
	c->timer_at = 0;
	return 0;
}

/*
 * The handover of c is settled (workers parked).  taken: the new process
 * serves it now, so this one lets go of its copy of the socket without a
 * word to the peer (the socket lives on in the other process; no FIN, no
 * log line).  Otherwise c goes on here, as if nothing happened.
 */
void
conn_handover_done(struct conn *c, int taken)
{
	if (c->state != CONN_OPEN)
		return;
	if (!taken) {
		if (c->out.len - c->out.off < c->inst->ic->buffer_limit)
			conn_want_read(c, 1);
		if (c->out.len != c->out.off || c->svc->tcp_write_ready != NULL)
			conn_want_write(c, 1);
		conn_schedule(c);
		return;
	}
	conn_set_state(c, CONN_CLOSED);
	conn_release(c, 0);
}

/*
 * In the new process: serve the connection hc describes (its descriptor
 * already checked) on worker w for inst, which has taken its place
 * (instance_adopt) with source entry src.  The service's tcp_restore runs
 * instead of tcp_accept; output the old process had not sent goes first.
 * Returns 0, or -1 when the service refused its state: then nothing was
 * kept and the caller still owns the descriptor and the place.
 */
int
conn_adopt(struct worker *w, struct instance *inst, const struct ho_conn *hc,
    uint32_t src)
{
	struct conn	*c;
	uint64_t	 now = clock_ms();

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->w = w;
	c->inst = inst;
	c->svc = inst->ic->service;
	c->fd = hc->fd;
	c->state = CONN_OPEN;
	c->src = SOURCE_NONE;
	c->drop_input = c->svc->tcp_read == NULL;
	c->started = now > hc->age_ms ? now - hc->age_ms : 0;
	c->last_active = now > hc->idle_ms ? now - hc->idle_ms : 0;
	c->last_write = now > hc->write_idle_ms ? now - hc->write_idle_ms : 0;
	c->bytes_in = hc->bytes_in;
	c->bytes_out = hc->bytes_out;
	c->acked = hc->bytes_out;
	memcpy(&c->peer, &hc->peer, sizeof(c->peer));
	if (c->svc->tcp_restore == NULL ||
	    c->svc->tcp_restore(c, hc->state, hc->nstate) == -1 ||
	    (hc->npending > 0 && conn_buffer(c, hc->pending,
	    hc->npending) == -1)) {
		if (c->svc->tcp_close != NULL)
			c->svc->tcp_close(c);
		free(c->out.data);
		free(c);
		return -1;
	}
	(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
	c->src = src;
	instance_ref(inst);
	LIST_INSERT_HEAD(&w->conns, c, entry);
	w->nconns++;
	conn_handover_done(c, 0);	/* start its events as if resumed */
	return 0;
}
