/*
 * loadgen.c: the load generator of the netsvcd benchmark suite.
 *
 * One binary, one load per run, chosen by the first argument:
 *
 *   echo-tput     N connections x B bytes, written and read concurrently
 *   connrate      connect, optionally send K bytes, read to EOF, close
 *                 (-P: a PROXY v2 header first, as a load balancer sends)
 *   hold          N idle echo connections held S seconds
 *   udp-echo      N UDP sockets x a window of datagrams in flight
 *   sink          read chargen as fast as possible
 *   discard-tput  write B bytes to discard in W-byte writes
 *
 * Every byte that comes back is verified: echo streams against a PRNG
 * stream of the connection (a shared block made by splitmix64, entered at
 * an offset drawn from the connection number; its period, PAT_LEN, is a
 * prime, so no shift, loss or repeat of a power-of-two-sized chunk can
 * match), chargen against the RFC 864 pattern.  A mismatch, an early EOF
 * or a reset fails the run: ok=0 and exit status 1.
 *
 * Multi-connection loads use non-blocking sockets and level-triggered
 * epoll, one epoll set per thread (-t).  The two single-connection loads,
 * sink and discard-tput, use one blocking socket with send and receive
 * timeouts: the cheapest client, so that the server is what is measured.
 * Every load is bounded in count and in time (-d, and the alarm of -T that
 * ends the process).  Targets are refused unless they are loopback.
 *
 * Output: one line on stdout,
 *   RESULT load=NAME value=X unit=U ok=0|1 extra=k=v,k=v,...
 * and diagnostics on stderr.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAT_LEN		1048573		/* prime: the period of a stream */
#define RING_LINES	95
#define RING_LINE	74		/* 72 characters, CR, LF */
#define RING_LEN	(RING_LINES * RING_LINE)
#define IOBUF		(256 * 1024)	/* read buffer, largest write */
#define MAX_EVENTS	256
#define MAX_THREADS	64
#define HOLD_BURST	256		/* connects in flight while opening */
#define HOLD_SAMPLE	64		/* connections verified after a hold */
#define HOLD_PROBE	16		/* bytes sent to each of them */
#define RATE_MAXLINE	512		/* longest acceptable daytime reply */
#define UDP_HDR		24
#define UDP_MAGIC	0x4c475544u	/* "LGUD" */
#define UDP_BATCH	64
#define UDP_LOSS_NS	(200 * 1000000ULL)
#define UDP_SCAN_NS	(10 * 1000000ULL)
#define SOCK_TIMEO_S	2
#define PP2_LEN		28		/* PROXY v2 header, TCP over IPv4 */
#define NS		1000000000ULL

struct opts {
	const char	*load;
	const char	*host;
	int		 port;
	long		 conns;		/* -c */
	long		 total;		/* -n */
	long		 sendlen;	/* -k */
	long long	 bytes;		/* -b */
	long		 wsize;		/* -w: write size, or UDP window */
	double		 sopt;		/* -s: hold seconds, or datagram size */
	double		 secs;		/* -d */
	double		 alarm;		/* -T */
	int		 threads;	/* -t */
	int		 lines;		/* -x: sink checks line form only */
	int		 sources;	/* -S: source addresses (IPv4) */
	int		 proxy;		/* -P: connrate sends a PROXY v2 header */
	int		 smart;		/* -A: what is sent rides on the ACK */
};

struct worker {
	pthread_t	 thread;
	int		 id;
	int		 ep;
	long		 first;		/* first connection or socket */
	long		 count;		/* connections or sockets */
	long		 total;		/* connrate: connections to make */
	long		 launched;
	uint64_t	 bytes;
	uint64_t	 done;
	uint64_t	 sent;
	uint64_t	 lost;
	uint64_t	 late;
	uint64_t	 t_end;
	uint32_t	*lat;		/* connrate: latencies in us */
	size_t		 nlat;
	size_t		 caplat;
	unsigned char	*buf;		/* IOBUF bytes */
};

/* echo-tput: one connection. */
struct tconn {
	int		 fd;
	int		 up;
	uint64_t	 wpos;
	uint64_t	 rpos;
	size_t		 woff;
	size_t		 roff;
};

/* connrate: one slot of the in-flight window. */
struct rslot {
	int		 fd;
	size_t		 sent;
	size_t		 got;
	size_t		 woff;
	size_t		 roff;
	uint64_t	 t_start;
	unsigned char	 tail[2];
	size_t		 hlen;		/* PROXY header: length, 0 without -P */
	size_t		 hsent;
	unsigned char	 hdr[PP2_LEN];
};

/* hold: one idle connection. */
struct hconn {
	int		 fd;
	int		 up;
	size_t		 got;
	size_t		 roff;
};

/* udp-echo: one datagram in flight. */
struct uslot {
	uint64_t	 seq;
	uint64_t	 t_sent;
	int		 busy;
};

/* udp-echo: one socket and its window. */
struct usock {
	int		 fd;
	uint32_t	 id;
	uint64_t	 next_seq;
	int		 nbusy;
	struct uslot	*slot;
};

/* udp-echo: a worker's batch buffers. */
struct ubatch {
	struct mmsghdr	*msg;
	struct iovec	*iov;
	unsigned char	*data;
	size_t		 stride;
};

static struct opts		 o;
static struct sockaddr_storage	 target;
static socklen_t		 targetlen;
static unsigned char		*pat;		/* 2 * PAT_LEN bytes */
static unsigned char		 ring[2 * RING_LEN];
static uint64_t			 t0;
static uint64_t			 deadline;
static atomic_int		 failed;
static pthread_mutex_t		 errlock = PTHREAD_MUTEX_INITIALIZER;
static char			 errkind[32];
static char			 alarmline[160];

static void	 usage(void) __attribute__((noreturn));
static uint64_t	 clock_ns(void);
static uint64_t	 splitmix64(uint64_t *);
static void	 pat_init(void);
static size_t	 pat_start(uint64_t);
static long	 pat_check(const unsigned char *, size_t, size_t *);
static void	 ring_init(void);
static void	 lg_fail(const char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 lg_failed(void);
static void	 lg_alarm(int);
static double	 limit_secs(void);
static void	 lg_alarm_arm(const char *, double);
static void	 lg_result(double, const char *, int, const char *);
static int	 wait_ms(uint64_t);
static void	 nofile_raise(long);
static int	 target_parse(const char *, int);
static int	 net_open(int, uint64_t);
static int	 net_open_blocking(void);
static int	 net_soerror(int);
static int	 ep_set(int, int, int, uint32_t, void *);
static int	 workers_run(void *(*)(void *), long, long, struct worker **);
static void	 workers_free(struct worker *, int);
static void	 tput_close(struct tconn *);
static int	 tput_read(struct worker *, struct tconn *);
static void	 tput_write(struct worker *, struct tconn *);
static int	 tput_event(struct worker *, struct tconn *, uint32_t);
static void	*tput_run(void *);
static int	 load_echo_tput(void);
static size_t	 pp2_header(uint64_t, unsigned char *);
static int	 rate_launch(struct worker *, struct rslot *);
static int	 rate_finish(struct worker *, struct rslot *);
static int	 rate_take(struct worker *, struct rslot *, size_t);
static int	 rate_read(struct worker *, struct rslot *);
static int	 rate_send(struct rslot *);
static void	*rate_run(void *);
static int	 rate_cmp(const void *, const void *);
static int	 load_connrate(void);
static int	 hold_open(int, struct hconn *, long);
static int	 hold_connect(int, struct hconn *, long, uint64_t);
static void	 hold_idle(int, uint64_t, long *);
static int	 hold_probe_read(struct hconn *, long, unsigned char *);
static int	 hold_probe(int, struct hconn *, long, long *);
static int	 load_hold(void);
static uint64_t	 udp_offset(uint32_t, uint64_t);
static int	 udp_fill(struct worker *, struct usock *, struct ubatch *);
static int	 udp_check(struct worker *, struct usock *,
		    const unsigned char *, size_t);
static int	 udp_recv(struct worker *, struct usock *, struct ubatch *);
static void	 udp_scan(struct worker *, struct usock *, long, uint64_t);
static int	 udp_batch_init(struct ubatch *);
static int	 udp_open(struct worker *, struct usock *, long);
static void	 udp_loop(struct worker *, struct usock *, struct ubatch *);
static void	*udp_run(void *);
static int	 load_udp_echo(void);
static int	 sink_sync(const unsigned char *, size_t, size_t *);
static int	 sink_verify(const unsigned char *, size_t, size_t *, int *);
static int	 sink_lines(const unsigned char *, size_t, size_t *, int *);
static int	 load_sink(void);
static int	 disc_drain(int);
static int	 load_discard_tput(void);
static int	 opts_parse(int, char **);

/* Print the usage and exit 2. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen LOAD [-H host] [-p port] [-t threads] [-T alarm]"
	    " [options]\n"
	    "  echo-tput     -c CONNS -b BYTES [-w WRITE_SIZE]"
	    " [-d max_seconds]\n"
	    "  connrate      -c INFLIGHT -n TOTAL [-k SEND_BYTES]"
	    " [-d seconds] [-S SOURCES] [-P [-A]]\n"
	    "  hold          -c CONNS -s SECONDS [-d connect_seconds]\n"
	    "  udp-echo      -c SOCKETS -w WINDOW -s SIZE -d SECONDS\n"
	    "  sink          -d SECONDS [-x]\n"
	    "  discard-tput  -b BYTES -w WRITE_SIZE [-d max_seconds]\n"
	    "-S: connrate spreads its connections over source addresses"
	    " 127.0.0.1..N\n"
	    "    (default 16; 1 for 127.0.0.1 only)\n"
	    "-P: connrate sends a PROXY v2 header (PROXY, TCP over IPv4,"
	    " its own address\n"
	    "    and port as the client's) in front of its bytes\n"
	    "-A: with -P, the header rides on the handshake's last ACK"
	    " (TCP_QUICKACK off\n"
	    "    before connect, as HAProxy's option tcp-smart-connect)\n"
	    "-x: only check that chargen sends lines of 72 printable"
	    " characters and CRLF\n"
	    "Prints: RESULT load=L value=X unit=U ok=0|1 extra=k=v,...\n"
	    "The host (default 127.0.0.1) must be a loopback address.\n");
	exit(2);
}

/* Monotonic time in nanoseconds. */
static uint64_t
clock_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* One step of splitmix64 (Steele, Lea, Flood 2014). */
static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t	z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Fill the pattern block, twice over so any PAT_LEN window is contiguous. */
static void
pat_init(void)
{
	uint64_t	s = 0x6e657473766364ULL, v;
	size_t		i;

	if ((pat = malloc(2 * (size_t)PAT_LEN)) == NULL) {
		perror("loadgen: malloc");
		exit(1);
	}
	for (i = 0; i < PAT_LEN; i += 8) {
		v = splitmix64(&s);
		memcpy(pat + i, &v, PAT_LEN - i < 8 ? PAT_LEN - i : 8);
	}
	memcpy(pat + PAT_LEN, pat, PAT_LEN);
}

/* Where the stream of connection (or datagram) number id starts. */
static size_t
pat_start(uint64_t id)
{
	uint64_t	s = id ^ 0x5eedULL;

	return (size_t)(splitmix64(&s) % PAT_LEN);
}

/* Compare n bytes with the stream at *off and advance it; -1 or mismatch. */
static long
pat_check(const unsigned char *p, size_t n, size_t *off)
{
	size_t	done = 0, k, i;

	while (done < n) {
		k = n - done < PAT_LEN ? n - done : PAT_LEN;
		if (memcmp(p + done, pat + *off, k) != 0) {
			for (i = 0; p[done + i] == pat[*off + i]; i++)
				;
			return (long)(done + i);
		}
		done += k;
		*off = (*off + k) % PAT_LEN;
	}
	return -1;
}

/* The RFC 864 ring: line i is 72 characters from 32 + i (mod 95), CR LF. */
static void
ring_init(void)
{
	int	i, j;

	for (i = 0; i < RING_LINES; i++) {
		for (j = 0; j < 72; j++)
			ring[i * RING_LINE + j] = (unsigned char)(32 +
			    (i + j) % 95);
		ring[i * RING_LINE + 72] = '\r';
		ring[i * RING_LINE + 73] = '\n';
	}
	memcpy(ring + RING_LEN, ring, RING_LEN);
}

/* Record the first failure (a short kind for the RESULT line) and stop. */
static void
lg_fail(const char *kind, const char *fmt, ...)
{
	va_list	ap;

	pthread_mutex_lock(&errlock);
	if (errkind[0] == '\0') {
		snprintf(errkind, sizeof(errkind), "%s", kind);
		fprintf(stderr, "loadgen: %s: ", o.load);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	atomic_store(&failed, 1);
	pthread_mutex_unlock(&errlock);
}

/* Has any thread failed? */
static int
lg_failed(void)
{
	return atomic_load_explicit(&failed, memory_order_relaxed);
}

/* SIGALRM: the overall time limit; print the prepared line and exit. */
static void
lg_alarm(int sig)
{
	ssize_t	r;

	(void)sig;
	r = write(STDOUT_FILENO, alarmline, strlen(alarmline));
	(void)r;
	_exit(1);
}

/* The time limit of the load: -d, or 60 seconds. */
static double
limit_secs(void)
{
	return o.secs > 0 ? o.secs : 60;
}

/* Prepare the line lg_alarm prints; arm -T, or the limit plus slack. */
static void
lg_alarm_arm(const char *unit, double slack)
{
	double	secs = o.alarm > 0 ? o.alarm : limit_secs() + slack;

	snprintf(alarmline, sizeof(alarmline),
	    "RESULT load=%s value=0 unit=%s ok=0 extra=err=alarm\n", o.load,
	    unit);
	signal(SIGALRM, lg_alarm);
	alarm((unsigned int)secs + 1);
}

/* Print the RESULT line. */
static void
lg_result(double value, const char *unit, int ok, const char *extra)
{
	struct rusage	ru;
	double		cpu = 0;

	alarm(0);
	ok = ok && !lg_failed();
	/* The client's own CPU time, for the cost per byte of both sides. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("RESULT load=%s value=%.1f unit=%s ok=%d extra=%s,cpu_s=%.3f"
	    "%s%s\n", o.load, ok ? value : 0.0, unit, ok, extra, cpu,
	    errkind[0] != '\0' ? ",err=" : "", errkind);
	fflush(stdout);
}

/* Milliseconds to wait in epoll_wait before the time limit t; 0 if past. */
static int
wait_ms(uint64_t t)
{
	uint64_t	now = clock_ns();

	if (now >= t)
		return 0;
	if (t - now > 100 * 1000000ULL)
		return 100;
	return (int)((t - now) / 1000000) + 1;
}

/* Make room for need descriptors. */
static void
nofile_raise(long need)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need)
		rl.rlim_max = (rlim_t)need;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fprintf(stderr, "loadgen: cannot raise RLIMIT_NOFILE to %ld: "
		    "%s\n", need, strerror(errno));
}

/* Resolve the numeric host and port; loopback only. */
static int
target_parse(const char *host, int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&target;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&target;

	memset(&target, 0, sizeof(target));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		targetlen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		targetlen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/*
 * A non-blocking socket of type (SOCK_STREAM or SOCK_DGRAM), connecting.
 * With -S N and an IPv4 target, connection number id comes from source
 * address 127.0.0.(1 + id % N) (connrate numbers its connections; the
 * other loads pass 0): the client that closes first keeps each 4-tuple in
 * TIME_WAIT, and one source address has only the ephemeral ports.
 */
static int
net_open(int type, uint64_t id)
{
	struct sockaddr_in	src;
	int			fd, one = 1, zero = 0;

	fd = socket(target.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		lg_fail("socket", "socket: %s", strerror(errno));
		return -1;
	}
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (type == SOCK_STREAM && o.smart)
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	if (o.sources > 1 && id % (uint64_t)o.sources != 0 &&
	    target.ss_family == AF_INET) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001u +
		    (uint32_t)(id % (uint64_t)o.sources));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			lg_fail("bind", "bind: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&target, targetlen) == -1 &&
	    errno != EINPROGRESS) {
		lg_fail("connect", "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A connected blocking TCP socket with send and receive timeouts. */
static int
net_open_blocking(void)
{
	struct timeval	tv = { SOCK_TIMEO_S, 0 };
	int		fd;

	fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		lg_fail("socket", "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&target, targetlen) == -1) {
		lg_fail("connect", "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The pending error of a connecting socket (0 once connected). */
static int
net_soerror(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/* epoll_ctl with a pointer; fails the run on error. */
static int
ep_set(int ep, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(ep, op, fd, &ev) == -1) {
		lg_fail("epoll", "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Share count units and total among -t threads running fn; wait for all. */
static int
workers_run(void *(*fn)(void *), long count, long total, struct worker **wp)
{
	struct worker	*w;
	int		 i, n = o.threads;

	if (n > count)
		n = (int)count;
	if (n < 1 || (w = calloc((size_t)n, sizeof(*w))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		w[i].id = i;
		w[i].first = count * i / n;
		w[i].count = count * (i + 1) / n - w[i].first;
		w[i].total = total * (i + 1) / n - total * i / n;
		w[i].ep = epoll_create1(EPOLL_CLOEXEC);
		w[i].buf = malloc(IOBUF);
		if (w[i].ep == -1 || w[i].buf == NULL) {
			perror("loadgen: worker");
			exit(1);
		}
	}
	t0 = clock_ns();
	deadline = t0 + (uint64_t)(limit_secs() * NS);
	for (i = 0; i < n; i++)
		if (pthread_create(&w[i].thread, NULL, fn, &w[i]) != 0) {
			perror("loadgen: pthread_create");
			exit(1);
		}
	for (i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	*wp = w;
	return n;
}

/* Free what workers_run made. */
static void
workers_free(struct worker *w, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		close(w[i].ep);
		free(w[i].buf);
		free(w[i].lat);
	}
	free(w);
}

/* echo-tput: close the connection, if open. */
static void
tput_close(struct tconn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* echo-tput: read and verify; 1 when the connection is complete. */
static int
tput_read(struct worker *w, struct tconn *c)
{
	ssize_t	n;
	long	bad;
	int	tries;

	for (tries = 0; tries < 4; tries++) {
		n = read(c->fd, w->buf, IOBUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1) {
			lg_fail("read", "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			lg_fail("eof", "EOF after %llu of %lld bytes",
			    (unsigned long long)c->rpos, o.bytes);
			return -1;
		}
		if (c->rpos + (uint64_t)n > (uint64_t)o.bytes) {
			lg_fail("extra", "more bytes than were sent");
			return -1;
		}
		if ((bad = pat_check(w->buf, (size_t)n, &c->roff)) != -1) {
			lg_fail("mismatch", "byte %llu differs",
			    (unsigned long long)(c->rpos + (uint64_t)bad));
			return -1;
		}
		c->rpos += (uint64_t)n;
		w->bytes += (uint64_t)n;
		if (c->rpos == (uint64_t)o.bytes)
			return 1;
	}
	return 0;
}

/* echo-tput: write the next chunk of the stream. */
static void
tput_write(struct worker *w, struct tconn *c)
{
	uint64_t	left = (uint64_t)o.bytes - c->wpos;
	uint64_t	chunk = o.wsize > 0 ? (uint64_t)o.wsize : IOBUF;
	ssize_t		n;

	n = send(c->fd, pat + c->woff, left < chunk ? left : chunk,
	    MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		lg_fail("write", "write: %s", strerror(errno));
		return;
	}
	c->wpos += (uint64_t)n;
	c->woff = (c->woff + (size_t)n) % PAT_LEN;
	if (c->wpos == (uint64_t)o.bytes)
		ep_set(w->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
}

/* echo-tput: handle one event; 1 when the connection is complete. */
static int
tput_event(struct worker *w, struct tconn *c, uint32_t events)
{
	int	err, r;

	if (!c->up) {
		if ((err = net_soerror(c->fd)) != 0) {
			lg_fail("connect", "connect: %s", strerror(err));
			return 0;
		}
		c->up = 1;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if ((r = tput_read(w, c)) != 0)
			return r == 1;
	}
	if ((events & EPOLLOUT) && c->wpos < (uint64_t)o.bytes)
		tput_write(w, c);
	return 0;
}

/* echo-tput: one thread and its connections. */
static void *
tput_run(void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 ev[MAX_EVENTS];
	struct tconn		*c;
	long			 i, left = 0;
	int			 n, k;

	if ((c = calloc((size_t)w->count, sizeof(*c))) == NULL) {
		lg_fail("malloc", "calloc: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < w->count; i++) {
		c[i].roff = c[i].woff = pat_start((uint64_t)(w->first + i));
		if ((c[i].fd = net_open(SOCK_STREAM, 0)) == -1)
			break;
		left++;
		ep_set(w->ep, EPOLL_CTL_ADD, c[i].fd, EPOLLIN | EPOLLOUT,
		    &c[i]);
	}
	for (; i < w->count; i++)
		c[i].fd = -1;
	while (left > 0 && !lg_failed()) {
		if (clock_ns() >= deadline) {
			lg_fail("timeout", "%ld connections not done", left);
			break;
		}
		n = epoll_wait(w->ep, ev, MAX_EVENTS, wait_ms(deadline));
		for (k = 0; k < n; k++) {
			struct tconn	*tc = ev[k].data.ptr;

			if (tput_event(w, tc, ev[k].events)) {
				tput_close(tc);
				left--;
			}
		}
	}
	w->t_end = clock_ns();
	for (i = 0; i < w->count; i++)
		tput_close(&c[i]);
	free(c);
	return NULL;
}

/* echo-tput: N connections x B bytes echoed, MB/s of payload. */
static int
load_echo_tput(void)
{
	struct worker	*w;
	uint64_t	 bytes = 0, t_end = 0;
	char		 extra[256];
	double		 secs, mbs;
	int		 i, n;

	if (o.conns <= 0 || o.bytes <= 0 || o.wsize < 0 || o.wsize > IOBUF)
		usage();
	lg_alarm_arm("MB/s", 30);
	nofile_raise(o.conns + 64);
	if ((n = workers_run(tput_run, o.conns, 0, &w)) == -1)
		return 1;
	for (i = 0; i < n; i++) {
		bytes += w[i].bytes;
		if (w[i].t_end > t_end)
			t_end = w[i].t_end;
	}
	secs = (double)(t_end - t0) / NS;
	mbs = secs > 0 ? (double)bytes / secs / 1e6 : 0;
	snprintf(extra, sizeof(extra), "conns=%ld,bytes=%llu,secs=%.3f,"
	    "threads=%d", o.conns, (unsigned long long)bytes, secs, n);
	lg_result(mbs, "MB/s", bytes == (uint64_t)o.conns *
	    (uint64_t)o.bytes, extra);
	workers_free(w, n);
	return lg_failed();
}

/*
 * connrate: open the next connection in slot s, or leave it idle.  What
 * there is to send goes at once: on loopback the handshake is usually done
 * when connect() returns, and a balancer writes the header as soon as it
 * can; the socket waits for EPOLLOUT only when it is not connected yet.
 */
static int
rate_launch(struct worker *w, struct rslot *s)
{
	uint64_t	id;
	int		r = 1;

	s->fd = -1;
	if (w->launched >= w->total || clock_ns() >= deadline || lg_failed())
		return 0;
	id = (uint64_t)w->id << 40 | (uint64_t)w->launched;
	w->launched++;
	s->sent = s->got = 0;
	s->woff = s->roff = pat_start(id);
	s->t_start = clock_ns();
	if ((s->fd = net_open(SOCK_STREAM, id)) == -1)
		return -1;
	s->hsent = 0;
	s->hlen = o.proxy ? pp2_header(id, s->hdr) : 0;
	if ((o.sendlen > 0 || o.proxy) && (r = rate_send(s)) == -1)
		return -1;
	/* Nothing (more) to send: only the reply matters. */
	return ep_set(w->ep, EPOLL_CTL_ADD, s->fd, r ? EPOLLIN : EPOLLOUT, s);
}

/* connrate: EOF; check the reply, record the latency, close. */
static int
rate_finish(struct worker *w, struct rslot *s)
{
	uint64_t	us;
	uint32_t	*nl;

	if (o.sendlen > 0 && s->got != (size_t)o.sendlen) {
		lg_fail("short", "echoed %zu of %ld bytes", s->got, o.sendlen);
		return -1;
	}
	if (o.sendlen == 0 && (s->got < 2 || s->tail[0] != '\r' ||
	    s->tail[1] != '\n')) {
		lg_fail("noline", "reply of %zu bytes is not a CRLF line",
		    s->got);
		return -1;
	}
	if (w->nlat == w->caplat) {
		w->caplat = w->caplat ? 2 * w->caplat : 65536;
		if ((nl = realloc(w->lat, w->caplat * sizeof(*nl))) == NULL) {
			lg_fail("malloc", "realloc: %s", strerror(errno));
			return -1;
		}
		w->lat = nl;
	}
	us = (clock_ns() - s->t_start) / 1000;
	w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	w->done++;
	close(s->fd);
	return rate_launch(w, s);
}

/* connrate: take n reply bytes from w->buf. */
static int
rate_take(struct worker *w, struct rslot *s, size_t n)
{
	if (o.sendlen > 0) {
		if (s->got + n > (size_t)o.sendlen) {
			lg_fail("extra", "more bytes than were sent");
			return -1;
		}
		if (pat_check(w->buf, n, &s->roff) != -1) {
			lg_fail("mismatch", "echoed bytes differ");
			return -1;
		}
	} else {
		if (s->got + n > RATE_MAXLINE) {
			lg_fail("long", "reply longer than %d bytes",
			    RATE_MAXLINE);
			return -1;
		}
		if (n >= 2)
			s->tail[0] = w->buf[n - 2];
		else
			s->tail[0] = s->tail[1];
		s->tail[1] = w->buf[n - 1];
	}
	s->got += n;
	return 0;
}

/* connrate: read what is there; on EOF finish the connection. */
static int
rate_read(struct worker *w, struct rslot *s)
{
	ssize_t	n;

	for (;;) {
		n = read(s->fd, w->buf, 4096);
		if (n > 0) {
			if (rate_take(w, s, (size_t)n) == -1)
				return -1;
			continue;
		}
		if (n == 0)
			return rate_finish(w, s);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		lg_fail("read", "read: %s", strerror(errno));
		return -1;
	}
}

/*
 * The PROXY v2 header (HAProxy's proxy-protocol.txt, section 2.2) a
 * balancer would send for connection id: the signature, version 2 and
 * PROXY (0x21), TCP over IPv4 (0x11), 12 address bytes.  The client is the
 * address the connection comes from (-S) with a port made of id, as a
 * balancer knows its client from accept() without asking the kernel again;
 * the destination is the target.  Returns its length.
 */
static size_t
pp2_header(uint64_t id, unsigned char *h)
{
	static const unsigned char	 sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a,
	    0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	const struct sockaddr_in	*dst = (struct sockaddr_in *)&target;
	uint32_t			 addr = 0x7f000001u;
	uint16_t			 port;

	if (o.sources > 1)
		addr += (uint32_t)(id % (uint64_t)o.sources);
	addr = htonl(addr);
	port = htons((uint16_t)(1024 + id % 64000));
	memcpy(h, sig, sizeof(sig));
	h[12] = 0x21;
	h[13] = 0x11;
	h[14] = 0;
	h[15] = 12;
	memcpy(h + 16, &addr, 4);
	memcpy(h + 20, &dst->sin_addr, 4);
	memcpy(h + 24, &port, 2);
	memcpy(h + 26, &dst->sin_port, 2);
	return PP2_LEN;
}

/*
 * connrate: send the PROXY header (-P) and the K bytes in one call, then
 * half-close (with K bytes).  1 when all is sent, 0 when the socket takes
 * no more yet (or is still connecting), -1 after failing the run.
 */
static int
rate_send(struct rslot *s)
{
	struct iovec	iov[2];
	struct msghdr	msg;
	size_t		h = s->hlen - s->hsent;
	ssize_t		n;

	if (h == 0)
		n = send(s->fd, pat + s->woff, (size_t)o.sendlen - s->sent,
		    MSG_NOSIGNAL);
	else {
		iov[0].iov_base = s->hdr + s->hsent;
		iov[0].iov_len = h;
		iov[1].iov_base = pat + s->woff;
		iov[1].iov_len = (size_t)o.sendlen - s->sent;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1) {
		lg_fail("connect", "connect or send: %s", strerror(errno));
		return -1;
	}
	if ((size_t)n < h) {
		s->hsent += (size_t)n;
		return 0;
	}
	s->hsent = s->hlen;
	s->sent += (size_t)n - h;
	s->woff += (size_t)n - h;
	if (s->sent < (size_t)o.sendlen)
		return 0;
	if (o.sendlen > 0 && shutdown(s->fd, SHUT_WR) == -1) {
		lg_fail("shutdown", "shutdown: %s", strerror(errno));
		return -1;
	}
	return 1;
}

/* connrate: one thread and its share of the in-flight window. */
static void *
rate_run(void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 ev[MAX_EVENTS];
	struct rslot		*s;
	uint64_t		 drain = deadline + 10 * NS;
	long			 i, busy;
	int			 n, k;

	if ((s = calloc((size_t)w->count, sizeof(*s))) == NULL) {
		lg_fail("malloc", "calloc: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < w->count; i++)
		if (rate_launch(w, &s[i]) == -1)
			break;
	for (;;) {
		for (busy = 0, i = 0; i < w->count; i++)
			busy += s[i].fd != -1;
		if (busy == 0 || lg_failed())
			break;
		if (clock_ns() >= drain) {
			lg_fail("timeout", "%ld connections hang", busy);
			break;
		}
		n = epoll_wait(w->ep, ev, MAX_EVENTS, wait_ms(drain));
		for (k = 0; k < n && !lg_failed(); k++) {
			struct rslot	*rs = ev[k].data.ptr;

			if (rs->sent < (size_t)o.sendlen ||
			    rs->hsent < rs->hlen) {
				if (rate_send(rs) == 1)
					ep_set(w->ep, EPOLL_CTL_MOD, rs->fd,
					    EPOLLIN, rs);
			} else
				rate_read(w, rs);
		}
	}
	w->t_end = clock_ns();
	for (i = 0; i < w->count; i++)
		if (s[i].fd != -1)
			close(s[i].fd);
	free(s);
	return NULL;
}

/* qsort comparator for latencies. */
static int
rate_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* connrate: connections per second, with p50 and p99 latency. */
static int
load_connrate(void)
{
	struct worker	*w;
	uint32_t	*all;
	uint64_t	 t_end = 0, p50 = 0, p99 = 0;
	size_t		 nall = 0;
	char		 extra[256];
	double		 secs, rate;
	int		 i, n;

	if (o.conns <= 0 || o.total <= 0 || o.sendlen < 0 ||
	    o.sendlen > PAT_LEN || (o.proxy && target.ss_family != AF_INET))
		usage();
	lg_alarm_arm("conn/s", 40);
	nofile_raise(o.conns + 64);
	if ((n = workers_run(rate_run, o.conns, o.total, &w)) == -1)
		return 1;
	for (i = 0; i < n; i++)
		nall += w[i].nlat;
	if ((all = malloc((nall + 1) * sizeof(*all))) == NULL) {
		workers_free(w, n);
		return 1;
	}
	for (nall = 0, i = 0; i < n; i++) {
		if (w[i].nlat > 0)
			memcpy(all + nall, w[i].lat,
			    w[i].nlat * sizeof(*all));
		nall += w[i].nlat;
		if (w[i].t_end > t_end)
			t_end = w[i].t_end;
	}
	qsort(all, nall, sizeof(*all), rate_cmp);
	if (nall > 0) {
		p50 = all[nall / 2];
		p99 = all[nall * 99 / 100];
	}
	secs = (double)(t_end - t0) / NS;
	rate = secs > 0 ? (double)nall / secs : 0;
	snprintf(extra, sizeof(extra), "conns=%zu,inflight=%ld,sendlen=%ld,"
	    "p50_us=%llu,p99_us=%llu,secs=%.3f,threads=%d,sources=%d,"
	    "proxy=%s", nall, o.conns, o.sendlen, (unsigned long long)p50,
	    (unsigned long long)p99, secs, n,
	    target.ss_family == AF_INET ? o.sources : 1,
	    o.proxy ? "v2" : "none");
	lg_result(rate, "conn/s", nall > 0, extra);
	free(all);
	workers_free(w, n);
	return lg_failed();
}

/* hold: start connecting connection i. */
static int
hold_open(int ep, struct hconn *c, long i)
{
	c->roff = pat_start((uint64_t)i);
	if ((c->fd = net_open(SOCK_STREAM, 0)) == -1)
		return -1;
	return ep_set(ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c);
}

/* hold: open all n connections, HOLD_BURST at a time, before limit. */
static int
hold_connect(int ep, struct hconn *c, long n, uint64_t limit)
{
	struct epoll_event	 ev[MAX_EVENTS];
	long			 next = 0, up = 0, pending = 0;
	int			 k, m, err;

	while (up < n) {
		while (pending < HOLD_BURST && next < n) {
			if (hold_open(ep, &c[next], next) == -1)
				return -1;
			next++;
			pending++;
		}
		if (clock_ns() >= limit) {
			lg_fail("timeout", "%ld of %ld connected", up, n);
			return -1;
		}
		m = epoll_wait(ep, ev, MAX_EVENTS, wait_ms(limit));
		for (k = 0; k < m; k++) {
			struct hconn	*hc = ev[k].data.ptr;

			if (hc->up) {
				lg_fail("closed", "server closed or wrote"
				    " on an idle connection");
				return -1;
			}
			if ((err = net_soerror(hc->fd)) != 0) {
				lg_fail("connect", "connect: %s",
				    strerror(err));
				return -1;
			}
			hc->up = 1;
			up++;
			pending--;
			if (ep_set(ep, EPOLL_CTL_MOD, hc->fd, EPOLLIN, hc) == -1)
				return -1;
		}
	}
	return 0;
}

/* hold: wait until end; count connections the server closed or wrote to. */
static void
hold_idle(int ep, uint64_t end, long *closed)
{
	struct epoll_event	 ev[MAX_EVENTS];
	int			 k, m;

	while (clock_ns() < end) {
		m = epoll_wait(ep, ev, MAX_EVENTS, wait_ms(end));
		for (k = 0; k < m; k++) {
			struct hconn	*hc = ev[k].data.ptr;

			if (epoll_ctl(ep, EPOLL_CTL_DEL, hc->fd, NULL) == 0)
				(*closed)++;
		}
	}
}

/* hold: read a sampled connection's echo; 1 when all of it is back. */
static int
hold_probe_read(struct hconn *c, long i, unsigned char *buf)
{
	ssize_t	n;

	n = read(c->fd, buf, 4096);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		lg_fail("closed", "sampled connection %ld: %s", i,
		    n == 0 ? "EOF" : strerror(errno));
		return -1;
	}
	if (c->got + (size_t)n > HOLD_PROBE ||
	    pat_check(buf, (size_t)n, &c->roff) != -1) {
		lg_fail("mismatch", "sampled connection %ld echoed wrong"
		    " bytes", i);
		return -1;
	}
	c->got += (size_t)n;
	return c->got == HOLD_PROBE;
}

/* hold: send a probe on a sample of connections and await every echo. */
static int
hold_probe(int ep, struct hconn *c, long n, long *ok)
{
	struct epoll_event	 ev[MAX_EVENTS];
	unsigned char		 buf[4096];
	uint64_t		 limit = clock_ns() + 5 * NS;
	long			 i, step, want = 0;
	int			 k, m, r;

	step = n > HOLD_SAMPLE ? n / HOLD_SAMPLE : 1;
	for (i = 0; i < n; i += step) {
		if (send(c[i].fd, pat + c[i].roff, HOLD_PROBE,
		    MSG_NOSIGNAL) != HOLD_PROBE) {
			lg_fail("closed", "sampled connection %ld: send: %s",
			    i, strerror(errno));
			return -1;
		}
		want++;
	}
	while (*ok < want && clock_ns() < limit && !lg_failed()) {
		m = epoll_wait(ep, ev, MAX_EVENTS, wait_ms(limit));
		for (k = 0; k < m; k++) {
			struct hconn	*hc = ev[k].data.ptr;

			if ((r = hold_probe_read(hc, hc - c, buf)) == -1)
				return -1;
			*ok += r;
		}
	}
	if (*ok < want)
		lg_fail("noecho", "%ld of %ld sampled connections echoed",
		    *ok, want);
	return *ok == want ? 0 : -1;
}

/* hold: N idle echo connections held S seconds; value: still open. */
static int
load_hold(void)
{
	struct hconn	*c;
	uint64_t	 limit, t_hold;
	long		 i, closed = 0, echoed = 0, est = 0;
	char		 extra[256];
	int		 ep, ok;

	if (o.conns <= 0 || o.sopt <= 0)
		usage();
	lg_alarm_arm("conns", o.sopt + 40);
	nofile_raise(o.conns + 64);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	if ((c = calloc((size_t)o.conns, sizeof(*c))) == NULL) {
		close(ep);
		return 1;
	}
	for (i = 0; i < o.conns; i++)
		c[i].fd = -1;
	t0 = clock_ns();
	limit = t0 + (uint64_t)(limit_secs() * NS);
	ok = hold_connect(ep, c, o.conns, limit) == 0;
	t_hold = clock_ns();
	if (ok) {
		fprintf(stderr, "loadgen: hold: established=%ld\n", o.conns);
		hold_idle(ep, t_hold + (uint64_t)(o.sopt * NS), &closed);
		est = o.conns - closed;
		if (closed > 0)
			lg_fail("closed", "%ld connections closed by the"
			    " server while idle", closed);
		else
			ok = hold_probe(ep, c, o.conns, &echoed) == 0;
	}
	snprintf(extra, sizeof(extra), "conns=%ld,closed=%ld,echoed=%ld,"
	    "connect_secs=%.3f,hold_secs=%.1f", o.conns, closed, echoed,
	    (double)(t_hold - t0) / NS, o.sopt);
	lg_result((double)est, "conns", ok && est == o.conns, extra);
	for (i = 0; i < o.conns; i++)
		if (c[i].fd != -1)
			close(c[i].fd);
	free(c);
	close(ep);
	return lg_failed();
}

/* udp-echo: the pattern offset of the payload of datagram seq of sock. */
static uint64_t
udp_offset(uint32_t sock, uint64_t seq)
{
	return pat_start(seq ^ (uint64_t)sock << 48);
}

/* udp-echo: send a datagram in every free slot of the window. */
static int
udp_fill(struct worker *w, struct usock *s, struct ubatch *b)
{
	uint32_t	 hdr[4];
	unsigned char	*d;
	uint64_t	 now = clock_ns();
	size_t		 size = (size_t)o.sopt;
	long		 i;
	int		 n = 0, r, j;

	if (now >= deadline)
		return 0;
	for (i = 0; i < o.wsize && n < UDP_BATCH; i++) {
		if (s->slot[i].busy)
			continue;
		s->slot[i].busy = 1;
		s->slot[i].seq = s->next_seq++;
		s->slot[i].t_sent = now;
		d = b->data + (size_t)n * b->stride;
		hdr[0] = UDP_MAGIC;
		hdr[1] = s->id;
		hdr[2] = (uint32_t)i;
		hdr[3] = (uint32_t)size;
		memcpy(d, hdr, sizeof(hdr));
		memcpy(d + 16, &s->slot[i].seq, 8);
		memcpy(d + UDP_HDR, pat + udp_offset(s->id, s->slot[i].seq),
		    size - UDP_HDR);
		b->iov[n].iov_base = d;
		b->iov[n].iov_len = size;
		b->msg[n].msg_hdr.msg_iov = &b->iov[n];
		b->msg[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	if (n == 0)
		return 0;
	r = sendmmsg(s->fd, b->msg, (unsigned int)n, MSG_DONTWAIT);
	if (r == -1 && errno != EAGAIN && errno != ENOBUFS) {
		lg_fail("send", "sendmmsg: %s", strerror(errno));
		return -1;
	}
	if (r < 0)
		r = 0;
	/* Slots whose datagram did not go out are free again. */
	for (j = r; j < n; j++) {
		memcpy(hdr, b->data + (size_t)j * b->stride, sizeof(hdr));
		s->slot[hdr[2]].busy = 0;
	}
	s->nbusy += r;
	w->sent += (uint64_t)r;
	return 0;
}

/* udp-echo: verify one reply and free its slot. */
static int
udp_check(struct worker *w, struct usock *s, const unsigned char *d,
    size_t len)
{
	uint32_t	hdr[4];
	uint64_t	seq;
	size_t		off;

	memcpy(hdr, d, sizeof(hdr));
	memcpy(&seq, d + 16, 8);
	if (len != (size_t)o.sopt || hdr[0] != UDP_MAGIC || hdr[1] != s->id ||
	    hdr[2] >= (uint32_t)o.wsize || hdr[3] != (uint32_t)len) {
		lg_fail("mismatch", "bad reply header or length %zu", len);
		return -1;
	}
	off = udp_offset(s->id, seq);
	if (memcmp(d + UDP_HDR, pat + off, len - UDP_HDR) != 0) {
		lg_fail("mismatch", "reply payload differs");
		return -1;
	}
	if (!s->slot[hdr[2]].busy || s->slot[hdr[2]].seq != seq) {
		w->late++;
		return 0;
	}
	s->slot[hdr[2]].busy = 0;
	s->nbusy--;
	w->done++;
	return 0;
}

/* udp-echo: take one batch of replies, then refill the window. */
static int
udp_recv(struct worker *w, struct usock *s, struct ubatch *b)
{
	int	n, j;

	for (j = 0; j < UDP_BATCH; j++) {
		b->iov[j].iov_base = b->data + (size_t)j * b->stride;
		b->iov[j].iov_len = b->stride;
		b->msg[j].msg_hdr.msg_iov = &b->iov[j];
		b->msg[j].msg_hdr.msg_iovlen = 1;
		b->msg[j].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(s->fd, b->msg, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == -1) {
		lg_fail("recv", "recvmmsg: %s", strerror(errno));
		return -1;
	}
	for (j = 0; j < n; j++) {
		if (b->msg[j].msg_hdr.msg_flags & MSG_TRUNC) {
			lg_fail("mismatch", "reply longer than %g bytes",
			    o.sopt);
			return -1;
		}
		if (udp_check(w, s, b->data + (size_t)j * b->stride,
		    b->msg[j].msg_len) == -1)
			return -1;
	}
	return udp_fill(w, s, b);
}

/* udp-echo: count datagrams older than UDP_LOSS_NS as lost. */
static void
udp_scan(struct worker *w, struct usock *s, long n, uint64_t now)
{
	long	i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < o.wsize; j++) {
			if (!s[i].slot[j].busy ||
			    now - s[i].slot[j].t_sent < UDP_LOSS_NS)
				continue;
			s[i].slot[j].busy = 0;
			s[i].nbusy--;
			w->lost++;
		}
}

/* udp-echo: batch buffers for sendmmsg and recvmmsg. */
static int
udp_batch_init(struct ubatch *b)
{
	b->stride = ((size_t)o.sopt + 64) & ~(size_t)63;
	b->msg = calloc(UDP_BATCH, sizeof(*b->msg));
	b->iov = calloc(UDP_BATCH, sizeof(*b->iov));
	b->data = malloc(UDP_BATCH * b->stride);
	if (b->msg == NULL || b->iov == NULL || b->data == NULL) {
		lg_fail("malloc", "malloc: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* udp-echo: open socket number id. */
static int
udp_open(struct worker *w, struct usock *s, long id)
{
	s->id = (uint32_t)id;
	s->slot = calloc((size_t)o.wsize, sizeof(*s->slot));
	if (s->slot == NULL) {
		lg_fail("malloc", "calloc: %s", strerror(errno));
		return -1;
	}
	if ((s->fd = net_open(SOCK_DGRAM, 0)) == -1)
		return -1;
	return ep_set(w->ep, EPOLL_CTL_ADD, s->fd, EPOLLIN, s);
}

/* udp-echo: the event loop, until the deadline and a short drain. */
static void
udp_loop(struct worker *w, struct usock *s, struct ubatch *b)
{
	struct epoll_event	 ev[MAX_EVENTS];
	uint64_t		 now, last_scan = 0;
	uint64_t		 end = deadline + UDP_LOSS_NS;
	long			 i, busy;
	int			 n, k;

	for (;;) {
		now = clock_ns();
		if (now - last_scan >= UDP_SCAN_NS) {
			udp_scan(w, s, w->count, now);
			for (i = 0; i < w->count && !lg_failed(); i++)
				udp_fill(w, &s[i], b);
			last_scan = now;
		}
		for (busy = 0, i = 0; i < w->count; i++)
			busy += s[i].nbusy;
		if (lg_failed() || now >= end || (now >= deadline &&
		    busy == 0))
			break;
		n = epoll_wait(w->ep, ev, MAX_EVENTS, 10);
		for (k = 0; k < n && !lg_failed(); k++)
			udp_recv(w, ev[k].data.ptr, b);
	}
	w->t_end = clock_ns();
	udp_scan(w, s, w->count, UINT64_MAX);
}

/* udp-echo: one thread and its sockets. */
static void *
udp_run(void *arg)
{
	struct worker	*w = arg;
	struct usock	*s;
	struct ubatch	 b;
	long		 i;

	memset(&b, 0, sizeof(b));
	if ((s = calloc((size_t)w->count, sizeof(*s))) == NULL ||
	    udp_batch_init(&b) == -1)
		goto out;
	for (i = 0; i < w->count; i++)
		s[i].fd = -1;
	for (i = 0; i < w->count; i++)
		if (udp_open(w, &s[i], w->first + i) == -1)
			goto out;
	udp_loop(w, s, &b);
out:
	for (i = 0; s != NULL && i < w->count; i++) {
		if (s[i].fd != -1)
			close(s[i].fd);
		free(s[i].slot);
	}
	free(s);
	free(b.msg);
	free(b.iov);
	free(b.data);
	return NULL;
}

/* udp-echo: replies per second and loss. */
static int
load_udp_echo(void)
{
	struct worker	*w;
	uint64_t	 sent = 0, done = 0, lost = 0, late = 0;
	char		 extra[256];
	double		 loss;
	int		 i, n;

	if (o.conns <= 0 || o.wsize <= 0 || o.wsize > 65536 ||
	    o.sopt < UDP_HDR || o.sopt > 65507 || o.secs <= 0)
		usage();
	lg_alarm_arm("replies/s", 30);
	nofile_raise(o.conns + 64);
	if ((n = workers_run(udp_run, o.conns, 0, &w)) == -1)
		return 1;
	for (i = 0; i < n; i++) {
		sent += w[i].sent;
		done += w[i].done;
		lost += w[i].lost;
		late += w[i].late;
	}
	loss = sent > 0 ? 100.0 * (double)lost / (double)sent : 0;
	snprintf(extra, sizeof(extra), "sockets=%ld,window=%ld,size=%g,"
	    "sent=%llu,replies=%llu,lost=%llu,late=%llu,loss_pct=%.3f,"
	    "threads=%d", o.conns, o.wsize, o.sopt, (unsigned long long)sent,
	    (unsigned long long)done, (unsigned long long)lost,
	    (unsigned long long)late, loss, n);
	lg_result((double)done / o.secs, "replies/s", done > 0, extra);
	workers_free(w, n);
	return lg_failed();
}

/*
 * sink: find the ring offset of the first byte from the first CRLF and the
 * character after it; -1 until the n bytes seen so far tell, -2 if never.
 */
static int
sink_sync(const unsigned char *p, size_t n, size_t *off)
{
	size_t	i;
	int	c;

	for (i = 0; i + 2 < n; i++) {
		if (p[i] != '\r' || p[i + 1] != '\n')
			continue;
		c = p[i + 2];
		if (c < 32 || c > 126)
			return -2;
		*off = ((size_t)(c - 32) * RING_LINE + RING_LEN - (i + 2) %
		    RING_LEN) % RING_LEN;
		return 0;
	}
	return n > 2 * RING_LINE ? -2 : -1;
}

/* sink: verify n bytes against the ring at *off; -1 on a mismatch. */
static int
sink_verify(const unsigned char *p, size_t n, size_t *off, int *synced)
{
	static unsigned char	pre[3 * RING_LINE];
	static size_t		npre;
	size_t			k, done = 0;
	int			r;

	if (!*synced) {
		k = n < sizeof(pre) - npre ? n : sizeof(pre) - npre;
		memcpy(pre + npre, p, k);
		npre += k;
		if ((r = sink_sync(pre, npre, off)) == -2)
			return -1;
		if (r == -1)
			return 0;
		*synced = 1;
		if (sink_verify(pre, npre, off, synced) == -1)
			return -1;
		done = k;
	}
	while (done < n) {
		k = n - done < RING_LEN ? n - done : RING_LEN;
		if (memcmp(p + done, ring + *off, k) != 0)
			return -1;
		done += k;
		*off = (*off + k) % RING_LEN;
	}
	return 0;
}

/*
 * sink -x: check only the form of the lines, 72 characters from 32..126
 * then CR LF, for servers whose ring is not the one of RFC 864.  *col is
 * the column of the next byte; bytes before the first CRLF are skipped.
 */
static int
sink_lines(const unsigned char *p, size_t n, size_t *col, int *synced)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!*synced) {
			if (i > 0 && p[i - 1] == '\r' && p[i] == '\n') {
				*synced = 1;
				*col = 0;
			}
			continue;
		}
		if (*col < 72 ? p[i] < 32 || p[i] > 126 :
		    p[i] != (*col == 72 ? '\r' : '\n'))
			return -1;
		*col = *col == RING_LINE - 1 ? 0 : *col + 1;
	}
	return 0;
}

/* sink: read chargen for -d seconds; MB/s, every byte verified. */
static int
load_sink(void)
{
	unsigned char	*buf;
	uint64_t	 bytes = 0, end, now;
	size_t		 off = 0;
	ssize_t		 n;
	char		 extra[256];
	double		 secs;
	int		 fd, synced = 0;

	if (o.secs <= 0)
		usage();
	lg_alarm_arm("MB/s", 30);
	if ((buf = malloc(IOBUF)) == NULL)
		return 1;
	t0 = clock_ns();
	end = t0 + (uint64_t)(o.secs * NS);
	if ((fd = net_open_blocking()) == -1)
		goto out;
	while ((now = clock_ns()) < end) {
		n = read(fd, buf, IOBUF);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			lg_fail(n == 0 ? "eof" : "read", "after %llu bytes: %s",
			    (unsigned long long)bytes,
			    n == 0 ? "EOF" : strerror(errno));
			break;
		}
		if ((o.lines ? sink_lines(buf, (size_t)n, &off, &synced) :
		    sink_verify(buf, (size_t)n, &off, &synced)) == -1) {
			lg_fail("mismatch", "pattern broken within bytes "
			    "%llu..%llu", (unsigned long long)bytes,
			    (unsigned long long)(bytes + (uint64_t)n));
			break;
		}
		bytes += (uint64_t)n;
	}
	close(fd);
out:
	secs = (double)(clock_ns() - t0) / NS;
	snprintf(extra, sizeof(extra), "bytes=%llu,secs=%.3f,check=%s",
	    (unsigned long long)bytes, secs, o.lines ? "lines" : "rfc864");
	lg_result((double)bytes / secs / 1e6, "MB/s", synced, extra);
	free(buf);
	return lg_failed();
}

/* discard-tput: half-close and wait for the server's EOF; -1 if none. */
static int
disc_drain(int fd)
{
	char	buf[4096];
	ssize_t	n;

	if (shutdown(fd, SHUT_WR) == -1) {
		lg_fail("shutdown", "shutdown: %s", strerror(errno));
		return -1;
	}
	while (clock_ns() < deadline) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n > 0) {
			lg_fail("extra", "discard server sent data");
			return -1;
		}
		if (errno != EINTR && errno != EAGAIN) {
			lg_fail("read", "read: %s", strerror(errno));
			return -1;
		}
	}
	lg_fail("timeout", "no EOF from the server after all was written");
	return -1;
}

/* discard-tput: write B bytes in W-byte writes; MB/s until EOF. */
static int
load_discard_tput(void)
{
	uint64_t	written = 0, left;
	size_t		off = 0;
	ssize_t		n;
	char		extra[256];
	double		secs;
	int		fd, ok = 0;

	if (o.bytes <= 0 || o.wsize <= 0 || o.wsize > PAT_LEN)
		usage();
	lg_alarm_arm("MB/s", 30);
	t0 = clock_ns();
	deadline = t0 + (uint64_t)(limit_secs() * NS);
	if ((fd = net_open_blocking()) == -1)
		goto out;
	while (written < (uint64_t)o.bytes && clock_ns() < deadline) {
		left = (uint64_t)o.bytes - written;
		n = send(fd, pat + off, left < (uint64_t)o.wsize ? left :
		    (size_t)o.wsize, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			lg_fail("write", "write: %s", strerror(errno));
			break;
		}
		written += (uint64_t)n;
		off = (off + (size_t)n) % PAT_LEN;
	}
	if (written < (uint64_t)o.bytes && !lg_failed())
		lg_fail("timeout", "%llu of %lld bytes written",
		    (unsigned long long)written, o.bytes);
	ok = !lg_failed() && disc_drain(fd) == 0;
	close(fd);
out:
	secs = (double)(clock_ns() - t0) / NS;
	snprintf(extra, sizeof(extra), "bytes=%llu,write=%ld,secs=%.3f",
	    (unsigned long long)written, o.wsize, secs);
	lg_result((double)written / secs / 1e6, "MB/s", ok, extra);
	return lg_failed();
}

/* Parse the options after the load name into o. */
static int
opts_parse(int argc, char **argv)
{
	int	ch;

	o.host = "127.0.0.1";
	o.threads = 1;
	o.sources = 16;
	optind = 2;
	while ((ch = getopt(argc, argv, "H:p:c:n:k:b:w:s:d:t:T:S:xPAh")) != -1) {
		switch (ch) {
		case 'H':
			o.host = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'c':
			o.conns = atol(optarg);
			break;
		case 'n':
			o.total = atol(optarg);
			break;
		case 'k':
			o.sendlen = atol(optarg);
			break;
		case 'b':
			o.bytes = atoll(optarg);
			break;
		case 'w':
			o.wsize = atol(optarg);
			break;
		case 's':
			o.sopt = atof(optarg);
			break;
		case 'd':
			o.secs = atof(optarg);
			break;
		case 't':
			o.threads = atoi(optarg);
			break;
		case 'T':
			o.alarm = atof(optarg);
			break;
		case 'x':
			o.lines = 1;
			break;
		case 'S':
			o.sources = atoi(optarg);
			break;
		case 'P':
			o.proxy = 1;
			break;
		case 'A':
			o.smart = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o.port <= 0 || o.port > 65535 ||
	    o.threads < 1 || o.threads > MAX_THREADS || o.sources < 1 ||
	    o.sources > 65536 || (o.proxy && strcmp(o.load, "connrate") != 0) ||
	    (o.smart && !o.proxy))
		usage();
	return 0;
}

/* Parse the command line, prepare the patterns, run the load. */
int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	o.load = argv[1];
	opts_parse(argc, argv);
	if (target_parse(o.host, o.port) == -1) {
		fprintf(stderr, "loadgen: %s is not a loopback address\n",
		    o.host);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pat_init();
	ring_init();
	if (strcmp(o.load, "echo-tput") == 0)
		return load_echo_tput();
	if (strcmp(o.load, "connrate") == 0)
		return load_connrate();
	if (strcmp(o.load, "hold") == 0)
		return load_hold();
	if (strcmp(o.load, "udp-echo") == 0)
		return load_udp_echo();
	if (strcmp(o.load, "sink") == 0)
		return load_sink();
	if (strcmp(o.load, "discard-tput") == 0)
		return load_discard_tput();
	usage();
}
