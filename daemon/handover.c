/*
 * handover.c: the state a running daemon passes to its successor (SIGUSR2,
 * reexec.c): its listeners, its established TCP connections with their
 * counters, pending output and service state, and the counters of its
 * instances.  This file only turns that state into bytes and back, puts
 * the bytes in a sealed memfd, and checks that a descriptor is the socket
 * its record says; it never touches the event loop.
 *
 * The reader trusts nothing: the memfd must carry every seal (nobody can
 * change it while it is read), the whole must match its length and its
 * checksum, every count, string and size is bounded, and a record that
 * names a descriptor is only believed once getsockname/getpeername, SO_TYPE
 * and SO_ACCEPTCONN agree with it.  The layout is in docs/DESIGN.md.
 *
 * All integers are little-endian, whatever the host: the format is the
 * same for any build of any version that reads HANDOVER_VERSION.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netsvcd.h"

#define HO_MAGIC	"NSVDHAND"
#define HO_HEADER	60	/* bytes before the records */
#define HO_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | \
			    F_SEAL_SEAL)
#define HO_FAMILY4	4
#define HO_FAMILY6	6

/* A growing output buffer; failed is set once memory ran out. */
struct ho_out {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
	int		 failed;
};

/* The unread part of the input; bad is set at the first short read. */
struct ho_in {
	const unsigned char	*p;
	size_t			 left;
	int			 bad;
};

/* The time now, for the gap a handover leaves (CLOCK_MONOTONIC, µs). */
uint64_t
handover_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* FNV-1a over the records: truncation and stray bytes are seen. */
static uint64_t
ho_checksum(const unsigned char *p, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;

	while (len-- > 0)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

/* ---- the in-memory state ---- */

struct handover_state *
handover_state_new(void)
{
	return calloc(1, sizeof(struct handover_state));
}

void
handover_state_free(struct handover_state *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < st->ninstances; i++)
		free(st->instances[i].counters);
	free(st->instances);
	free(st->listeners);
	free(st->conns);
	free(st->buf);
	free(st);
}

/* Grow an array of n elements of size sz by one; NULL when full or OOM. */
static void *
ho_grow(void *v, size_t n, size_t sz, size_t max, void **out)
{
	void	*p;

	if (n >= max)
		return NULL;
	if ((p = reallocarray(v, n + 1, sz)) == NULL)
		return NULL;
	memset((char *)p + n * sz, 0, sz);
	*out = p;
	return (char *)p + n * sz;
}

/* A new, zeroed record at the end of each list; NULL when full. */
struct ho_instance *
handover_add_instance(struct handover_state *st)
{
	void	*arr;
	void	*e;

	if ((e = ho_grow(st->instances, st->ninstances,
	    sizeof(*st->instances), HANDOVER_MAX_INSTANCES, &arr)) == NULL)
		return NULL;
	st->instances = arr;
	st->ninstances++;
	return e;
}

struct ho_counter *
handover_add_counter(struct ho_instance *hi)
{
	void	*arr;
	void	*e;

	if ((e = ho_grow(hi->counters, hi->ncounters, sizeof(*hi->counters),
	    HANDOVER_MAX_COUNTERS, &arr)) == NULL)
		return NULL;
	hi->counters = arr;
	hi->ncounters++;
	return e;
}

struct ho_listener *
handover_add_listener(struct handover_state *st)
{
	void	*arr;
	void	*e;

	if ((e = ho_grow(st->listeners, st->nlisteners,
	    sizeof(*st->listeners), HANDOVER_MAX_LISTENERS, &arr)) == NULL)
		return NULL;
	st->listeners = arr;
	st->nlisteners++;
	return e;
}

struct ho_conn *
handover_add_conn(struct handover_state *st)
{
	void	*arr;
	void	*e;

	if ((e = ho_grow(st->conns, st->nconns, sizeof(*st->conns),
	    HANDOVER_MAX_CONNS, &arr)) == NULL)
		return NULL;
	st->conns = arr;
	st->nconns++;
	return e;
}

/* ---- writing ---- */

static void
put(struct ho_out *o, const void *p, size_t len)
{
	unsigned char	*n;
	size_t		 cap;

	if (o->failed)
		return;
	if (o->len + len > HANDOVER_MAX_SIZE) {
		o->failed = 1;
		return;
	}
	if (o->len + len > o->cap) {
		cap = o->cap == 0 ? 4096 : o->cap;
		while (cap < o->len + len)
			cap *= 2;
		if ((n = realloc(o->p, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->p = n;
		o->cap = cap;
	}
	if (len > 0)
		memcpy(o->p + o->len, p, len);
	o->len += len;
}

/* Little-endian integers of 1, 2, 4 and 8 bytes. */
static void
put_uint(struct ho_out *o, uint64_t v, size_t bytes)
{
	unsigned char	b[8];
	size_t		i;

	for (i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, bytes);
}

/* A name: one length byte, then the bytes (no NUL). */
static void
put_str(struct ho_out *o, const char *s)
{
	size_t	len = strnlen(s, HANDOVER_MAX_NAME + 1);

	if (len > HANDOVER_MAX_NAME) {
		o->failed = 1;
		return;
	}
	put_uint(o, len, 1);
	put(o, s, len);
}

/* An address: family (4 or 6), port, 16 address bytes, IPv6 scope. */
static void
put_addr(struct ho_out *o, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	unsigned char			 a[16];

	memset(a, 0, sizeof(a));
	if (ss->ss_family == AF_INET) {
		memcpy(a, &sin->sin_addr, 4);
		put_uint(o, HO_FAMILY4, 1);
		put_uint(o, ntohs(sin->sin_port), 2);
		put(o, a, sizeof(a));
		put_uint(o, 0, 4);
	} else if (ss->ss_family == AF_INET6) {
		put_uint(o, HO_FAMILY6, 1);
		put_uint(o, ntohs(sin6->sin6_port), 2);
		put(o, &sin6->sin6_addr, 16);
		put_uint(o, sin6->sin6_scope_id, 4);
	} else
		o->failed = 1;
}

/*
 * The bytes of st, for handover_seal.  Returns 0 with *buf malloc'd, or
 * -1 with *cause set (too large, a bad address, no memory).
 */
int
handover_encode(const struct handover_state *st, unsigned char **buf,
    size_t *len, char **cause)
{
	struct ho_out		 o = { NULL, 0, 0, 0 };
	const struct ho_instance *hi;
	const struct ho_listener *hl;
	const struct ho_conn	*hc;
	size_t			 i, k;
	uint64_t		 sum;

	put(&o, HO_MAGIC, 8);
	put_uint(&o, HANDOVER_VERSION, 4);
	put_uint(&o, 0, 4);			/* flags, none yet */
	put_uint(&o, 0, 8);			/* total length, below */
	put_uint(&o, 0, 8);			/* checksum, below */
	put_uint(&o, st->stopped_us, 8);
	put_uint(&o, st->pid, 4);
	put_uint(&o, st->ninstances, 4);
	put_uint(&o, st->nlisteners, 4);
	put_uint(&o, st->nconns, 4);
	put_uint(&o, st->kept, 4);
	for (i = 0; i < st->ninstances; i++) {
		hi = &st->instances[i];
		put_str(&o, hi->name);
		put_str(&o, hi->service);
		put_uint(&o, hi->ncounters, 1);
		for (k = 0; k < hi->ncounters; k++) {
			put_str(&o, hi->counters[k].name);
			put_uint(&o, hi->counters[k].value, 8);
		}
	}
	for (i = 0; i < st->nlisteners; i++) {
		hl = &st->listeners[i];
		put_uint(&o, (uint64_t)hl->fd, 4);
		put_uint(&o, (uint64_t)hl->proto, 1);
		put_uint(&o, (uint64_t)hl->activated, 1);
		put_uint(&o, hl->worker, 2);
		put_str(&o, hl->instance);
		put_addr(&o, &hl->cfg);
		put_addr(&o, &hl->bound);
	}
	for (i = 0; i < st->nconns; i++) {
		hc = &st->conns[i];
		put_uint(&o, (uint64_t)hc->fd, 4);
		put_uint(&o, hc->worker, 2);
		put_uint(&o, hc->flags, 1);
		put_str(&o, hc->instance);
		put_str(&o, hc->service);
		put_addr(&o, &hc->local);
		put_addr(&o, &hc->peer);
		put_uint(&o, hc->bytes_in, 8);
		put_uint(&o, hc->bytes_out, 8);
		put_uint(&o, hc->age_ms, 8);
		put_uint(&o, hc->idle_ms, 8);
		put_uint(&o, hc->write_idle_ms, 8);
		if (hc->npending > HANDOVER_MAX_PENDING ||
		    hc->nstate > SERVICE_STATE_MAX)
			o.failed = 1;
		put_uint(&o, hc->npending, 4);
		put(&o, hc->pending, hc->npending);
		put_uint(&o, hc->nstate, 2);
		put(&o, hc->state, hc->nstate);
	}
	if (o.failed || st->ninstances > HANDOVER_MAX_INSTANCES ||
	    st->nlisteners > HANDOVER_MAX_LISTENERS ||
	    st->nconns > HANDOVER_MAX_CONNS) {
		free(o.p);
		return cause_set(cause, "handover state too large or not "
		    "valid (%zu bytes so far)", o.len);
	}
	sum = ho_checksum(o.p + HO_HEADER, o.len - HO_HEADER);
	for (i = 0; i < 8; i++) {
		o.p[16 + i] = (unsigned char)((uint64_t)o.len >> (8 * i));
		o.p[24 + i] = (unsigned char)(sum >> (8 * i));
	}
	*buf = o.p;
	*len = o.len;
	return 0;
}

/* ---- reading ---- */

static const unsigned char *
get(struct ho_in *in, size_t len)
{
	const unsigned char	*p = in->p;

	if (in->bad || len > in->left) {
		in->bad = 1;
		return NULL;
	}
	in->p += len;
	in->left -= len;
	return p;
}

static uint64_t
get_uint(struct ho_in *in, size_t bytes)
{
	const unsigned char	*p;
	uint64_t		 v = 0;
	size_t			 i;

	if ((p = get(in, bytes)) == NULL)
		return 0;
	for (i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * A name into out (HANDOVER_MAX_NAME + 1 bytes, or max + 1): 1 to max
 * printable bytes.  Returns 0 or -1.
 */
static int
get_str(struct ho_in *in, char *out, size_t max)
{
	const unsigned char	*p;
	size_t			 len, i;

	len = (size_t)get_uint(in, 1);
	if ((p = get(in, len)) == NULL || len == 0 || len > max)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f)
			return -1;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* An address (put_addr); -1 on an unknown family or scope on IPv4. */
static int
get_addr(struct ho_in *in, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const unsigned char	*a;
	unsigned int		 family, port;
	uint32_t		 scope;

	family = (unsigned int)get_uint(in, 1);
	port = (unsigned int)get_uint(in, 2);
	a = get(in, 16);
	scope = (uint32_t)get_uint(in, 4);
	if (in->bad)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (family == HO_FAMILY4) {
		if (scope != 0 || memcmp(a + 4, "\0\0\0\0\0\0\0\0\0\0\0\0",
		    12) != 0)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a, 4);
		return 0;
	}
	if (family == HO_FAMILY6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, a, 16);
		sin6->sin6_scope_id = scope;
		return 0;
	}
	return -1;
}

/* A descriptor number: above stderr, an int. */
static int
get_fd(struct ho_in *in, int *fd)
{
	uint64_t	v = get_uint(in, 4);

	if (in->bad || v < 3 || v > INT_MAX)
		return -1;
	*fd = (int)v;
	return 0;
}

/* Whether fd appears twice among the records read so far. */
static int
ho_fd_dup(const struct handover_state *st, int fd)
{
	size_t	i;

	for (i = 0; i < st->nlisteners; i++) {
		if (st->listeners[i].fd == fd)
			return 1;
	}
	for (i = 0; i < st->nconns; i++) {
		if (st->conns[i].fd == fd)
			return 1;
	}
	return 0;
}

static int
parse_instance(struct ho_in *in, struct handover_state *st, char **cause)
{
	struct ho_instance	*hi;
	struct ho_counter	*hc;
	size_t			 n, k, j;

	if ((hi = handover_add_instance(st)) == NULL)
		return cause_set(cause, "out of memory");
	if (get_str(in, hi->name, HANDOVER_MAX_NAME) == -1 ||
	    get_str(in, hi->service, HANDOVER_MAX_NAME) == -1)
		return cause_set(cause, "instance %zu: bad name",
		    st->ninstances - 1);
	n = (size_t)get_uint(in, 1);
	if (n > HANDOVER_MAX_COUNTERS)
		return cause_set(cause, "instance %s: %zu counters", hi->name,
		    n);
	for (k = 0; k < n; k++) {
		if ((hc = handover_add_counter(hi)) == NULL)
			return cause_set(cause, "out of memory");
		if (get_str(in, hc->name, sizeof(hc->name) - 1) == -1)
			return cause_set(cause, "instance %s: bad counter",
			    hi->name);
		hc->value = get_uint(in, 8);
		for (j = 0; j < k; j++) {
			if (strcmp(hi->counters[j].name, hc->name) == 0)
				return cause_set(cause, "instance %s: counter "
				    "%s twice", hi->name, hc->name);
		}
	}
	for (k = 0; k + 1 < st->ninstances; k++) {
		if (strcmp(st->instances[k].name, hi->name) == 0)
			return cause_set(cause, "instance %s twice",
			    hi->name);
	}
	return in->bad ? cause_set(cause, "truncated instance") : 0;
}

static int
parse_listener(struct ho_in *in, struct handover_state *st, char **cause)
{
	struct ho_listener	*hl;
	int			 fd;

	if (get_fd(in, &fd) == -1)
		return cause_set(cause, "listener %zu: bad descriptor",
		    st->nlisteners);
	if (ho_fd_dup(st, fd))
		return cause_set(cause, "descriptor %d twice", fd);
	if ((hl = handover_add_listener(st)) == NULL)
		return cause_set(cause, "out of memory");
	hl->fd = fd;
	hl->proto = (int)get_uint(in, 1);
	hl->activated = (int)get_uint(in, 1);
	hl->worker = (unsigned int)get_uint(in, 2);
	if ((hl->proto != SERVICE_TCP && hl->proto != SERVICE_UDP) ||
	    hl->activated > 1)
		return cause_set(cause, "listener %d: bad protocol", fd);
	if (get_str(in, hl->instance, HANDOVER_MAX_NAME) == -1 ||
	    get_addr(in, &hl->cfg) == -1 || get_addr(in, &hl->bound) == -1)
		return cause_set(cause, "listener %d: bad name or address",
		    fd);
	if (hl->cfg.ss_family != hl->bound.ss_family ||
	    sockaddr_port((struct sockaddr *)&hl->bound) == 0)
		return cause_set(cause, "listener %d: address mismatch", fd);
	return 0;
}

static int
parse_conn(struct ho_in *in, struct handover_state *st, char **cause)
{
	const unsigned char	*p;
	struct ho_conn		*hc;
	int			 fd;

	if (get_fd(in, &fd) == -1)
		return cause_set(cause, "connection %zu: bad descriptor",
		    st->nconns);
	if (ho_fd_dup(st, fd))
		return cause_set(cause, "descriptor %d twice", fd);
	if ((hc = handover_add_conn(st)) == NULL)
		return cause_set(cause, "out of memory");
	hc->fd = fd;
	hc->worker = (unsigned int)get_uint(in, 2);
	hc->flags = (unsigned int)get_uint(in, 1);
	if ((hc->flags & ~(unsigned int)HO_CONN_FLUSHED) != 0)
		return cause_set(cause, "connection %d: unknown flags", fd);
	if (get_str(in, hc->instance, HANDOVER_MAX_NAME) == -1 ||
	    get_str(in, hc->service, HANDOVER_MAX_NAME) == -1 ||
	    get_addr(in, &hc->local) == -1 || get_addr(in, &hc->peer) == -1)
		return cause_set(cause, "connection %d: bad name or address",
		    fd);
	if (hc->local.ss_family != hc->peer.ss_family)
		return cause_set(cause, "connection %d: address mismatch",
		    fd);
	hc->bytes_in = get_uint(in, 8);
	hc->bytes_out = get_uint(in, 8);
	hc->age_ms = get_uint(in, 8);
	hc->idle_ms = get_uint(in, 8);
	hc->write_idle_ms = get_uint(in, 8);
	if (hc->age_ms > HANDOVER_MAX_AGE_MS || hc->idle_ms > hc->age_ms ||
	    hc->write_idle_ms > hc->age_ms)
		return cause_set(cause, "connection %d: bad times", fd);
	hc->npending = (size_t)get_uint(in, 4);
	if (hc->npending > HANDOVER_MAX_PENDING)
		return cause_set(cause, "connection %d: %zu bytes pending",
		    fd, hc->npending);
	if ((hc->flags & HO_CONN_FLUSHED) && hc->npending != 0)
		return cause_set(cause, "connection %d: flushed, yet output "
		    "pending", fd);
	hc->pending = get(in, hc->npending);
	hc->nstate = (size_t)get_uint(in, 2);
	if (hc->nstate > SERVICE_STATE_MAX)
		return cause_set(cause, "connection %d: %zu bytes of state",
		    fd, hc->nstate);
	if ((p = get(in, hc->nstate)) == NULL)
		return cause_set(cause, "truncated connection %d", fd);
	memcpy(hc->state, p, hc->nstate);
	return 0;
}

/*
 * Read the bytes of a handover state, checking everything that can be
 * checked without the descriptors.  Returns the state (its pending output
 * points into a copy it owns) or NULL with *cause set.
 */
struct handover_state *
handover_parse(const void *buf, size_t len, char **cause)
{
	struct handover_state	*st;
	struct ho_in		 in;
	const unsigned char	*magic;
	uint64_t		 version, flags, total, sum;
	size_t			 ni, nl, nc, i;

	*cause = NULL;
	if (len < HO_HEADER || len > HANDOVER_MAX_SIZE) {
		cause_set(cause, "%zu bytes: not a handover state", len);
		return NULL;
	}
	if ((st = handover_state_new()) == NULL ||
	    (st->buf = malloc(len)) == NULL) {
		handover_state_free(st);
		cause_set(cause, "out of memory");
		return NULL;
	}
	memcpy(st->buf, buf, len);
	in.p = st->buf;
	in.left = len;
	in.bad = 0;
	magic = get(&in, 8);
	version = get_uint(&in, 4);
	flags = get_uint(&in, 4);	/* none known yet */
	total = get_uint(&in, 8);
	sum = get_uint(&in, 8);
	if (memcmp(magic, HO_MAGIC, 8) != 0) {
		cause_set(cause, "not a handover state (bad magic)");
		goto fail;
	}
	if (version != HANDOVER_VERSION) {
		cause_set(cause, "handover state version %llu, this build "
		    "reads version %d", (unsigned long long)version,
		    HANDOVER_VERSION);
		goto fail;
	}
	if (flags != 0) {
		cause_set(cause, "handover state flags 0x%llx unknown",
		    (unsigned long long)flags);
		goto fail;
	}
	if (total != len) {
		cause_set(cause, "handover state of %llu bytes in %zu bytes",
		    (unsigned long long)total, len);
		goto fail;
	}
	if (sum != ho_checksum(st->buf + HO_HEADER, len - HO_HEADER)) {
		cause_set(cause, "handover state checksum mismatch");
		goto fail;
	}
	st->stopped_us = get_uint(&in, 8);
	st->pid = (uint32_t)get_uint(&in, 4);
	ni = (size_t)get_uint(&in, 4);
	nl = (size_t)get_uint(&in, 4);
	nc = (size_t)get_uint(&in, 4);
	st->kept = (uint32_t)get_uint(&in, 4);
	if (ni > HANDOVER_MAX_INSTANCES || nl > HANDOVER_MAX_LISTENERS ||
	    nc > HANDOVER_MAX_CONNS) {
		cause_set(cause, "handover state: %zu instances, %zu "
		    "listeners, %zu connections: too many", ni, nl, nc);
		goto fail;
	}
	for (i = 0; i < ni; i++) {
		if (parse_instance(&in, st, cause) == -1)
			goto fail;
	}
	for (i = 0; i < nl; i++) {
		if (parse_listener(&in, st, cause) == -1)
			goto fail;
	}
	for (i = 0; i < nc; i++) {
		if (parse_conn(&in, st, cause) == -1)
			goto fail;
	}
	if (in.bad || in.left != 0) {
		cause_set(cause, "handover state: %s", in.bad ? "truncated" :
		    "bytes after the last record");
		goto fail;
	}
	return st;
fail:
	if (*cause == NULL)
		cause_set(cause, "handover state: truncated");
	handover_state_free(st);
	return NULL;
}

/* ---- the memfd ---- */

/*
 * A memfd holding buf, sealed so that nobody (this process included) can
 * change or resize it any more.  Returns the descriptor (close-on-exec
 * set) or -1 with *cause set.
 */
int
handover_seal(const void *buf, size_t len, char **cause)
{
	const unsigned char	*p = buf;
	size_t			 off = 0;
	ssize_t			 n;
	int			 fd;

	fd = memfd_create("netsvcd-handover", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return cause_set(cause, "memfd_create: %s", strerror(errno));
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cause_set(cause, "memfd write: %s", strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, HO_SEALS) == -1) {
		cause_set(cause, "memfd seals: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Read and parse the state in memfd fd, which must be sealed against any
 * change.  The descriptor stays open (the caller closes it).  Returns the
 * state or NULL with *cause set.
 */
struct handover_state *
handover_load(int fd, char **cause)
{
	struct handover_state	*st;
	struct stat		 sb;
	unsigned char		*buf;
	size_t			 off = 0, len;
	ssize_t			 n;
	int			 seals;

	*cause = NULL;
	if ((seals = fcntl(fd, F_GET_SEALS)) == -1) {
		cause_set(cause, "descriptor %d: not a sealed memfd: %s", fd,
		    strerror(errno));
		return NULL;
	}
	if ((seals & HO_SEALS) != HO_SEALS) {
		cause_set(cause, "descriptor %d: memfd not sealed (seals "
		    "0x%x)", fd, (unsigned int)seals);
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		cause_set(cause, "descriptor %d: not a memfd", fd);
		return NULL;
	}
	if (sb.st_size < HO_HEADER || (uint64_t)sb.st_size > HANDOVER_MAX_SIZE) {
		cause_set(cause, "memfd of %lld bytes: not a handover state",
		    (long long)sb.st_size);
		return NULL;
	}
	len = (size_t)sb.st_size;
	if ((buf = malloc(len)) == NULL) {
		cause_set(cause, "out of memory");
		return NULL;
	}
	while (off < len) {
		n = pread(fd, buf + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cause_set(cause, "memfd read: %s", n == 0 ?
			    "short" : strerror(errno));
			free(buf);
			return NULL;
		}
		off += (size_t)n;
	}
	st = handover_parse(buf, len, cause);
	free(buf);
	return st;
}

/* ---- the descriptors ---- */

/* Same family (IPv4 or IPv6), port and address (and IPv6 scope). */
int
handover_addr_same(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	return (a->ss_family == AF_INET || a->ss_family == AF_INET6) &&
	    handover_addr_cmp(a, b) == 0;
}

/*
 * An order of addresses that agrees with handover_addr_same: by family,
 * then port, address (and IPv6 scope).  Other families compare equal
 * within their family, and are never the same.  <0, 0 or >0.
 */
int
handover_addr_cmp(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss_family != b->ss_family)
		return a->ss_family < b->ss_family ? -1 : 1;
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		if (a4->sin_port != b4->sin_port)
			return a4->sin_port < b4->sin_port ? -1 : 1;
		return memcmp(&a4->sin_addr, &b4->sin_addr, 4);
	}
	if (a->ss_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		if (a6->sin6_port != b6->sin6_port)
			return a6->sin6_port < b6->sin6_port ? -1 : 1;
		if (a6->sin6_scope_id != b6->sin6_scope_id)
			return a6->sin6_scope_id < b6->sin6_scope_id ? -1 : 1;
		return memcmp(&a6->sin6_addr, &b6->sin6_addr, 16);
	}
	return 0;
}

/*
 * Whether fd is a socket of type and family, listening or not as
 * listening says, bound to local.  Returns 0 or -1 with *cause set.
 */
static int
ho_check_socket(int fd, int type, int listening,
    const struct sockaddr_storage *local, char **cause)
{
	struct sockaddr_storage	 ss;
	struct stat		 sb;
	socklen_t		 len;
	int			 v;

	if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode))
		return cause_set(cause, "descriptor %d: not a socket", fd);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1 || v != type)
		return cause_set(cause, "descriptor %d: not a %s socket", fd,
		    type == SOCK_STREAM ? "stream" : "datagram");
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == -1 ||
	    v != local->ss_family)
		return cause_set(cause, "descriptor %d: other family", fd);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 ||
	    (v != 0) != (listening != 0))
		return cause_set(cause, "descriptor %d: %s", fd, listening ?
		    "not listening" : "a listening socket");
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    !handover_addr_same(&ss, local))
		return cause_set(cause, "descriptor %d: bound elsewhere", fd);
	return 0;
}

/* Is hl->fd the listening socket the record describes?  0, or -1. */
int
handover_check_listener(const struct ho_listener *hl, char **cause)
{
	return ho_check_socket(hl->fd, hl->proto == SERVICE_TCP ?
	    SOCK_STREAM : SOCK_DGRAM, hl->proto == SERVICE_TCP, &hl->bound,
	    cause);
}

/* Is hc->fd the connected socket the record describes?  0, or -1. */
int
handover_check_conn(const struct ho_conn *hc, char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (ho_check_socket(hc->fd, SOCK_STREAM, 0, &hc->local, cause) == -1)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (getpeername(hc->fd, (struct sockaddr *)&ss, &len) == -1)
		return cause_set(cause, "descriptor %d: not connected: %s",
		    hc->fd, strerror(errno));
	if (!handover_addr_same(&ss, &hc->peer))
		return cause_set(cause, "descriptor %d: another peer",
		    hc->fd);
	return 0;
}
