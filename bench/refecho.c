/*
 * refecho.c: the reference server of the netsvcd benchmark suite.
 *
 * What a competent engineer's first epoll server for the small services
 * would be, in plain C with no library: the yardstick every netsvcd ratio
 * is taken against.  No splice, no io_uring, no threads, no MSG_TRUNC.
 * One thread, level-triggered epoll; for each service:
 *
 *   echo (RFC 862)     read into a 1 MiB buffer until it is full or the
 *                      socket is drained (a short read), then one write
 *                      of what came.  What the socket does not take is
 *                      parked: the connection keeps that buffer (no copy,
 *                      the reader takes a spare one) and waits for
 *                      EPOLLOUT instead of input until it is sent
 *   discard (RFC 863)  read as echo does, thrown away
 *   chargen (RFC 864)  one write of 1 MiB a wakeup from a precomputed
 *                      ring of the 95 lines, never formatted per line
 *   daytime (RFC 867)  on accept, write the line (formatted once a second)
 *                      and close
 *   UDP echo           recvmmsg(2) batches of 32, up to 2 a wakeup, each
 *                      sent back with sendmmsg(2): netsvcd's batching
 *
 * Accepts are batched, with accept4(2); an idle connection costs a small
 * struct and the kernel socket.  It binds only to a loopback address.
 * The obvious variants are flags, so that the benchmark can show they are
 * not faster: -b the buffer size, -E edge-triggered epoll (read and write
 * until EAGAIN, interest set once), -1 one read per wakeup.
 *
 * usage: refecho [-1E] [-a addr] [-b size] [-e port] [-d port] [-c port]
 *            [-t port] [-u port]
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REF_BUFSIZE	(1024 * 1024)	/* default read and write size */
#define REF_SPARES	64		/* echo buffers kept for reuse */
#define REF_EVENTS	256
#define REF_ACCEPTS	64		/* accepts per wakeup and listener */
#define REF_BATCH	32		/* datagrams per recvmmsg, as netsvcd */
#define REF_ROUNDS	2		/* recvmmsg calls per wakeup, as netsvcd */
#define REF_DGRAM	65536
#define RING_LINE	74
#define RING_LEN	(95 * RING_LINE)

enum ref_kind {
	REF_ECHO,
	REF_DISCARD,
	REF_CHARGEN,
	REF_DAYTIME,
	REF_UDP
};

/* A listener or a connection; epoll hands these back. */
struct ref_conn {
	int		 fd;
	unsigned char	 kind;
	unsigned char	 listening;
	unsigned int	 off;		/* echo: next unsent; chargen: ring */
	unsigned int	 len;		/* echo: end of the unsent bytes */
	unsigned char	*pend;		/* echo: unsent bytes, or NULL */
};

static int			 ep;
static int			 reserve = -1;
static size_t			 bufsize = REF_BUFSIZE;	/* -b */
static int			 edge;		/* -E: edge-triggered */
static int			 oneread;	/* -1: one read a wakeup */
static unsigned char		*buf;		/* bufsize bytes */
static unsigned char		*spare[REF_SPARES];
static int			 nspare;
static unsigned char		*ring;		/* RING_LEN + bufsize */
static char			 dayline[64];
static size_t			 daylen;
static time_t			 dayat = -1;
static struct sockaddr_storage	 bindaddr;
static socklen_t		 bindlen;
static struct mmsghdr		 dmsg[REF_BATCH];
static struct iovec		 diov[REF_BATCH];
static struct sockaddr_storage	 dfrom[REF_BATCH];
static unsigned char		 dbuf[REF_BATCH][REF_DGRAM];

static void	usage(void) __attribute__((noreturn));
static size_t	ref_size(const char *);
static void	ref_ring_init(void);
static int	ref_addr(const char *);
static void	ref_listen(int, enum ref_kind);
static void	ref_watch(struct ref_conn *, int, unsigned int);
static void	ref_close(struct ref_conn *);
static void	ref_daytime(int);
static int	ref_accept_fd(int);
static unsigned int ref_events(int);
static void	ref_accept(struct ref_conn *);
static unsigned char *ref_buf_get(void);
static void	ref_buf_put(unsigned char *);
static int	ref_fill(int, size_t *);
static int	ref_echo_send(struct ref_conn *, size_t);
static int	ref_echo_flush(struct ref_conn *);
static void	ref_echo(struct ref_conn *, unsigned int);
static void	ref_discard(struct ref_conn *);
static void	ref_chargen(struct ref_conn *);
static int	ref_dgram_ok(const struct sockaddr_storage *);
static int	ref_udp_round(struct ref_conn *);
static void	ref_udp(struct ref_conn *);
static void	ref_dispatch(struct ref_conn *, unsigned int);
static void	ref_nofile(void);

/* Print the usage and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: refecho [-1E] [-a addr] [-b size] "
	    "[-e echo_port] [-d discard_port]\n"
	    "               [-c chargen_port] [-t daytime_port] "
	    "[-u udp_echo_port]\n"
	    "  addr: a loopback address, 127.0.0.1 by default\n"
	    "  -b: read and write size, 4k..16m, 1m by default\n"
	    "  -E: edge-triggered epoll (default: level-triggered)\n"
	    "  -1: one read per wakeup, not until drained or full\n");
	exit(2);
}

/* A size such as 65536, 64k or 1m, 4 KiB to 16 MiB; usage() if not. */
static size_t
ref_size(const char *s)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (errno != 0 || *end != '\0' || v < 4096 || v > 16UL << 20)
		usage();
	return v;
}

/* The chargen ring: the 95 lines of RFC 864, then bufsize more of them. */
static void
ref_ring_init(void)
{
	size_t	i;
	int	line, col;

	if ((ring = malloc(RING_LEN + bufsize)) == NULL ||
	    (buf = malloc(bufsize)) == NULL) {
		perror("refecho: malloc");
		exit(1);
	}
	for (i = 0; i < RING_LEN + bufsize; i++) {
		line = (int)(i % RING_LEN / RING_LINE);
		col = (int)(i % RING_LINE);
		if (col < 72)
			ring[i] = (unsigned char)(32 + (line + col) % 95);
		else
			ring[i] = col == 72 ? '\r' : '\n';
	}
}

/* Parse the address to bind to; loopback only. */
static int
ref_addr(const char *s)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&bindaddr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&bindaddr;

	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1 &&
	    ntohl(sin->sin_addr.s_addr) >> 24 == 127) {
		sin->sin_family = AF_INET;
		bindlen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
		bindlen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Open a listener (or the UDP socket) of kind on port; exit on failure. */
static void
ref_listen(int port, enum ref_kind kind)
{
	struct ref_conn	*l;
	int		 fd, one = 1, type;

	type = kind == REF_UDP ? SOCK_DGRAM : SOCK_STREAM;
	((struct sockaddr_in *)&bindaddr)->sin_port = htons((uint16_t)port);
	if (bindaddr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&bindaddr)->sin6_port =
		    htons((uint16_t)port);
	fd = socket(bindaddr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&bindaddr, bindlen) == -1 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) == -1)) {
		fprintf(stderr, "refecho: port %d: %s\n", port,
		    strerror(errno));
		exit(1);
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		exit(1);
	l->fd = fd;
	l->kind = (unsigned char)kind;
	l->listening = kind != REF_UDP;
	ref_watch(l, EPOLL_CTL_ADD, EPOLLIN);
}

/* Add or change what epoll watches for c; a failure ends the process. */
static void
ref_watch(struct ref_conn *c, int op, unsigned int events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(ep, op, c->fd, &ev) == -1) {
		perror("refecho: epoll_ctl");
		exit(1);
	}
}

/* Close a connection and free it (close removes it from epoll). */
static void
ref_close(struct ref_conn *c)
{
	close(c->fd);
	if (c->pend != NULL)
		ref_buf_put(c->pend);
	free(c);
}

/* daytime: the line, formatted once a second, written; then close. */
static void
ref_daytime(int fd)
{
	struct tm	tm;
	time_t		now = time(NULL);

	if (now != dayat) {
		localtime_r(&now, &tm);
		daylen = strftime(dayline, sizeof(dayline),
		    "%a %b %e %H:%M:%S %Y\r\n", &tm);
		dayat = now;
	}
	(void)send(fd, dayline, daylen, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* accept4 one connection; on EMFILE shed it with the reserve descriptor. */
static int
ref_accept_fd(int lfd)
{
	int	fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE) &&
	    reserve != -1) {
		close(reserve);
		fd = accept(lfd, NULL, NULL);
		if (fd != -1)
			close(fd);
		reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return -1;
	}
	return fd;
}

/*
 * What a new connection of kind waits for: level-triggered, input (output
 * for chargen) until echo parks bytes; edge-triggered, all it may need,
 * set once.
 */
static unsigned int
ref_events(int kind)
{
	if (kind == REF_CHARGEN)
		return EPOLLOUT | (edge ? EPOLLET : 0);
	if (!edge)
		return EPOLLIN;
	return EPOLLIN | EPOLLET | (kind == REF_ECHO ? EPOLLOUT : 0);
}

/* Accept a batch of connections from listener l. */
static void
ref_accept(struct ref_conn *l)
{
	struct ref_conn	*c;
	int		 fd, i;

	for (i = 0; i < REF_ACCEPTS; i++) {
		if ((fd = ref_accept_fd(l->fd)) == -1)
			return;
		if (l->kind == REF_DAYTIME) {
			ref_daytime(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->kind = l->kind;
		ref_watch(c, EPOLL_CTL_ADD, ref_events(c->kind));
	}
}

/* A free echo buffer of bufsize bytes, from the spares or malloc. */
static unsigned char *
ref_buf_get(void)
{
	if (nspare > 0)
		return spare[--nspare];
	return malloc(bufsize);
}

/* Give back an echo buffer: kept as a spare, or freed. */
static void
ref_buf_put(unsigned char *p)
{
	if (nspare < REF_SPARES)
		spare[nspare++] = p;
	else
		free(p);
}

/*
 * Read into buf until it is full or the socket is drained (a read shorter
 * than asked, or EAGAIN); *len gets the bytes read.  Returns 1 when the
 * buffer is full (more may wait), 0 when drained, -1 on EOF or an error.
 */
static int
ref_fill(int fd, size_t *len)
{
	size_t	ask;
	ssize_t	n;

	*len = 0;
	while (*len < bufsize) {
		ask = bufsize - *len;
		n = read(fd, buf + *len, ask);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		*len += (size_t)n;
		/*
		 * A short read means drained for level-triggered epoll,
		 * which reports what is left anyway; edge-triggered must
		 * see EAGAIN, or it may miss bytes that came meanwhile.
		 */
		if (oneread || (!edge && (size_t)n < ask))
			return 0;
	}
	return 1;
}

/*
 * echo: send the len bytes in buf.  What the socket does not take is
 * parked: the connection keeps buf (no copy), the reader gets a spare
 * buffer, and the connection waits for EPOLLOUT.  0: all sent, 1: parked,
 * -1: c closed.
 */
static int
ref_echo_send(struct ref_conn *c, size_t len)
{
	ssize_t	w;

	do {
		w = send(c->fd, buf, len, MSG_NOSIGNAL);
	} while (w == -1 && errno == EINTR);
	if (w == -1 && errno != EAGAIN) {
		ref_close(c);
		return -1;
	}
	if (w == (ssize_t)len)
		return 0;
	if (w < 0)
		w = 0;
	c->pend = buf;
	c->off = (unsigned int)w;
	c->len = (unsigned int)len;
	if ((buf = ref_buf_get()) == NULL) {
		perror("refecho: malloc");
		exit(1);
	}
	if (!edge)
		ref_watch(c, EPOLL_CTL_MOD, EPOLLOUT);
	return 1;
}

/* echo: send the parked bytes.  1: all gone, 0: some left, -1: closed. */
static int
ref_echo_flush(struct ref_conn *c)
{
	ssize_t	w;

	w = send(c->fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);
	if (w == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (w == -1) {
		ref_close(c);
		return -1;
	}
	c->off += (unsigned int)w;
	if (c->off < c->len)
		return 0;
	ref_buf_put(c->pend);
	c->pend = NULL;
	if (!edge)
		ref_watch(c, EPOLL_CTL_MOD, EPOLLIN);
	return 1;
}

/*
 * echo: send what is parked, then read until drained or the buffer is
 * full and write what came.  Level-triggered, one buffer a wakeup (epoll
 * comes back); edge-triggered, until the socket is drained or refuses.
 */
static void
ref_echo(struct ref_conn *c, unsigned int events)
{
	size_t	len;
	int	r;

	if (c->pend != NULL) {
		if (ref_echo_flush(c) != 1)
			return;
	} else if (edge && !(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;		/* room to write, nothing to send */
	do {
		r = ref_fill(c->fd, &len);
		if (len > 0 && ref_echo_send(c, len) != 0)
			return;
		if (r == -1) {
			ref_close(c);
			return;
		}
	} while (edge && r == 1);
}

/* discard: read as echo does, thrown away; close on EOF or error. */
static void
ref_discard(struct ref_conn *c)
{
	size_t	len;
	int	r;

	do {
		r = ref_fill(c->fd, &len);
	} while (edge && r == 1);
	if (r == -1)
		ref_close(c);
}

/* chargen: writes of bufsize bytes from the ring, where the last ended. */
static void
ref_chargen(struct ref_conn *c)
{
	ssize_t	w;

	do {
		w = send(c->fd, ring + c->off, bufsize, MSG_NOSIGNAL);
		if (w == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w == -1) {
			ref_close(c);
			return;
		}
		c->off = (unsigned int)((c->off + (size_t)w) % RING_LEN);
	} while (edge);
}

/* UDP: never reply to port 0 or a privileged port (echo loops). */
static int
ref_dgram_ok(const struct sockaddr_storage *ss)
{
	in_port_t	port;

	if (ss->ss_family == AF_INET)
		port = ((const struct sockaddr_in *)ss)->sin_port;
	else
		port = ((const struct sockaddr_in6 *)ss)->sin6_port;
	return ntohs(port) >= 1024;
}

/*
 * UDP echo: one recvmmsg batch, sent back with sendmmsg; returns the
 * datagrams read.
 */
static int
ref_udp_round(struct ref_conn *c)
{
	int	i, n, k = 0, r, sent;

	for (i = 0; i < REF_BATCH; i++) {
		diov[i].iov_base = dbuf[i];
		diov[i].iov_len = REF_DGRAM;
		dmsg[i].msg_hdr.msg_iov = &diov[i];
		dmsg[i].msg_hdr.msg_iovlen = 1;
		dmsg[i].msg_hdr.msg_name = &dfrom[i];
		dmsg[i].msg_hdr.msg_namelen = sizeof(dfrom[i]);
	}
	n = recvmmsg(c->fd, dmsg, REF_BATCH, MSG_DONTWAIT, NULL);
	for (i = 0; i < n; i++) {
		if (!ref_dgram_ok(&dfrom[i]))
			continue;
		diov[i].iov_len = dmsg[i].msg_len;
		if (k != i)
			dmsg[k] = dmsg[i];
		k++;
	}
	for (sent = 0; sent < k; sent += r) {
		r = sendmmsg(c->fd, dmsg + sent, (unsigned int)(k - sent),
		    MSG_DONTWAIT);
		if (r == -1 && errno == EAGAIN)
			break;
		if (r == -1)
			r = 1;		/* drop the one that failed */
	}
	return n;
}

/* UDP echo: up to REF_ROUNDS batches a wakeup, as netsvcd reads. */
static void
ref_udp(struct ref_conn *c)
{
	int	round;

	for (round = 0; round < REF_ROUNDS; round++)
		if (ref_udp_round(c) < REF_BATCH)
			break;
}

/* Hand one epoll event to its handler. */
static void
ref_dispatch(struct ref_conn *c, unsigned int events)
{
	if (c->listening) {
		ref_accept(c);
		return;
	}
	switch (c->kind) {
	case REF_ECHO:
		ref_echo(c, events);
		break;
	case REF_DISCARD:
		ref_discard(c);
		break;
	case REF_CHARGEN:
		ref_chargen(c);
		break;
	case REF_UDP:
		ref_udp(c);
		break;
	default:
		break;
	}
}

/* Allow as many descriptors as the hard limit does. */
static void
ref_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Parse the ports, open the listeners, serve until killed. */
int
main(int argc, char **argv)
{
	struct epoll_event	ev[REF_EVENTS];
	int			ch, i, n, ports = 0;
	int			port[5] = { 0, 0, 0, 0, 0 };
	const char		*addr = "127.0.0.1";

	while ((ch = getopt(argc, argv, "1a:b:c:d:Ee:t:u:h")) != -1) {
		switch (ch) {
		case '1':
			oneread = 1;
			break;
		case 'b':
			bufsize = ref_size(optarg);
			break;
		case 'E':
			edge = 1;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'e':
			port[REF_ECHO] = atoi(optarg);
			break;
		case 'd':
			port[REF_DISCARD] = atoi(optarg);
			break;
		case 'c':
			port[REF_CHARGEN] = atoi(optarg);
			break;
		case 't':
			port[REF_DAYTIME] = atoi(optarg);
			break;
		case 'u':
			port[REF_UDP] = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || ref_addr(addr) == -1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	ref_nofile();
	ref_ring_init();
	reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("refecho: epoll_create1");
		return 1;
	}
	for (i = 0; i < 5; i++) {
		if (port[i] < 0 || port[i] > 65535)
			usage();
		if (port[i] > 0) {
			ref_listen(port[i], (enum ref_kind)i);
			ports++;
		}
	}
	if (ports == 0)
		usage();
	for (;;) {
		n = epoll_wait(ep, ev, REF_EVENTS, -1);
		for (i = 0; i < n; i++)
			ref_dispatch(ev[i].data.ptr, ev[i].events);
	}
}
