/*
 * execload.c: the client of bench/exec.sh, the process-per-connection load.
 *
 *   execload -p PORT [-c INFLIGHT] [-k BYTES] [-d SECONDS] [-n MAX]
 *
 * Keeps INFLIGHT connections to 127.0.0.1:PORT going: connect, send BYTES
 * (64) of a pattern, shut down the sending side, read the echo to EOF,
 * check it, close, and start the next one.  Two latencies are recorded
 * per connection: from connect() to the first byte of the echo (the
 * server accepted, started the program and the program answered: the
 * spawn latency as a client sees it) and to EOF (the program exited).
 * Connections still open at the end of the run are not counted.  Each
 * connection has a 10 s deadline; a refused, reset, short or wrong echo
 * is an error.  Bounded by -d and -n, and by an alarm at twice -d + 10 s.
 *
 * Output: one line on stdout,
 *   RESULT load=exec-cat value=CONN_PER_S unit=conn/s ok=0|1 extra=k=v,...
 * ok=0 when any connection failed (the errors are counted in extra).
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT	1024
#define MAX_SEND	4096
#define CONN_DEADLINE	10000000	/* us */

/* One connection slot. */
struct slot {
	int		 fd;
	int		 sent;		/* the request is out */
	size_t		 got;		/* echo bytes read */
	uint64_t	 t0;		/* connect(), us */
	uint64_t	 tfirst;	/* first echo byte, us; 0: none yet */
};

static struct sockaddr_in	 target;
static char			 payload[MAX_SEND];
static size_t			 ksend = 64;
static int			 epfd = -1;
static uint32_t			*lat_first, *lat_total;
static size_t			 nlat, caplat;
static unsigned long		 errs_refused, errs_reset, errs_short,
				 errs_data, errs_timeout, errs_other;

static uint64_t	 now_us(void);
static int	 slot_open(struct slot *);
static void	 slot_close(struct slot *);
static void	 slot_done(struct slot *, uint64_t);
static void	 slot_fail(struct slot *, int);
static void	 slot_event(struct slot *, uint32_t, uint64_t);
static int	 cmp_u32(const void *, const void *);
static void	 usage(void);

/* Monotonic microseconds. */
static uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Start a connection in slot s; -1 when no socket could be made. */
static int
slot_open(struct slot *s)
{
	struct epoll_event	 ev;
	int			 one = 1;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		return -1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->t0 = now_us();
	if (connect(s->fd, (struct sockaddr *)&target, sizeof(target)) == -1 &&
	    errno != EINPROGRESS) {
		slot_fail(s, errno);
		return 0;
	}
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = s;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
		slot_fail(s, errno);
		return 0;
	}
	return 0;
}

/* Close the slot's socket; the slot is free. */
static void
slot_close(struct slot *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

/* A connection that got its whole echo and EOF: record its latencies. */
static void
slot_done(struct slot *s, uint64_t t)
{
	uint32_t	*a, *b;

	if (nlat == caplat) {
		caplat = caplat ? 2 * caplat : 65536;
		a = realloc(lat_first, caplat * sizeof(*a));
		if (a != NULL)
			lat_first = a;
		b = realloc(lat_total, caplat * sizeof(*b));
		if (b != NULL)
			lat_total = b;
		if (a == NULL || b == NULL) {
			fprintf(stderr, "execload: out of memory\n");
			exit(1);
		}
	}
	lat_first[nlat] = (uint32_t)(s->tfirst - s->t0);
	lat_total[nlat] = (uint32_t)(t - s->t0);
	nlat++;
	slot_close(s);
}

/* A failed connection: count it by kind. */
static void
slot_fail(struct slot *s, int error)
{
	switch (error) {
	case ECONNREFUSED:
		errs_refused++;
		break;
	case ECONNRESET:
	case EPIPE:
		errs_reset++;
		break;
	case ETIMEDOUT:
		errs_timeout++;
		break;
	case 0:
		errs_short++;
		break;
	case EBADMSG:
		errs_data++;
		break;
	default:
		errs_other++;
		break;
	}
	slot_close(s);
}

/* Progress on slot s. */
static void
slot_event(struct slot *s, uint32_t events, uint64_t t)
{
	char		 buf[MAX_SEND + 1];
	struct epoll_event ev;
	socklen_t	 len = sizeof(int);
	ssize_t		 n;
	int		 error = 0;

	if (!s->sent && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len) ==
		    -1 || error != 0) {
			slot_fail(s, error ? error : errno);
			return;
		}
		n = send(s->fd, payload, ksend, MSG_NOSIGNAL);
		if (n != (ssize_t)ksend) {
			slot_fail(s, n == -1 ? errno : 0);
			return;
		}
		shutdown(s->fd, SHUT_WR);
		s->sent = 1;
		ev.events = EPOLLIN;
		ev.data.ptr = s;
		epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
		return;
	}
	if (!s->sent)
		return;
	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			slot_fail(s, errno);
			return;
		}
		if (n == 0) {
			if (s->got != ksend)
				slot_fail(s, 0);
			else
				slot_done(s, t);
			return;
		}
		if (s->tfirst == 0)
			s->tfirst = t;
		if (s->got + (size_t)n > ksend ||
		    memcmp(buf, payload + s->got, (size_t)n) != 0) {
			slot_fail(s, EBADMSG);
			return;
		}
		s->got += (size_t)n;
	}
}

/* qsort comparator for latencies. */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: execload -p PORT [-c INFLIGHT] [-k BYTES] "
	    "[-d SECONDS] [-n MAX]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct slot	 slots[MAX_INFLIGHT];
	struct epoll_event	 evs[256];
	uint64_t		 start, end, t, last_check = 0;
	unsigned long		 errors;
	double			 secs = 2.0;
	long			 max = 100000000, port = 0, inflight = 64;
	long			 started = 0;
	size_t			 i;
	int			 ch, n, k, open_slots;

	while ((ch = getopt(argc, argv, "p:c:k:d:n:")) != -1) {
		switch (ch) {
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'c':
			inflight = strtol(optarg, NULL, 10);
			break;
		case 'k':
			ksend = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			break;
		case 'n':
			max = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (port < 1 || port > 65535 || inflight < 1 ||
	    inflight > MAX_INFLIGHT || ksend < 1 || ksend > MAX_SEND ||
	    secs <= 0 || secs > 600 || max < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned int)(2 * secs) + 10);
	for (i = 0; i < ksend; i++)
		payload[i] = (char)('A' + (i * 7 + i / 26) % 26);
	memset(&target, 0, sizeof(target));
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)port);
	target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("execload: epoll_create1");
		return 1;
	}

	start = now_us();
	end = start + (uint64_t)(secs * 1e6);
	for (i = 0; i < (size_t)inflight; i++)
		slots[i].fd = -1;
	for (;;) {
		t = now_us();
		open_slots = 0;
		for (i = 0; i < (size_t)inflight; i++) {
			if (slots[i].fd == -1 && t < end && started < max) {
				if (slot_open(&slots[i]) == -1) {
					perror("execload: socket");
					return 1;
				}
				started++;
			}
			open_slots += slots[i].fd != -1;
		}
		if (open_slots == 0 || t >= end)
			break;
		n = epoll_wait(epfd, evs, 256, 100);
		t = now_us();
		for (k = 0; k < n; k++)
			slot_event(evs[k].data.ptr, evs[k].events, t);
		if (t - last_check > 100000) {
			last_check = t;
			for (i = 0; i < (size_t)inflight; i++)
				if (slots[i].fd != -1 &&
				    t - slots[i].t0 > CONN_DEADLINE)
					slot_fail(&slots[i], ETIMEDOUT);
		}
	}
	t = now_us();
	for (i = 0; i < (size_t)inflight; i++)
		slot_close(&slots[i]);

	errors = errs_refused + errs_reset + errs_short + errs_data +
	    errs_timeout + errs_other;
	if (nlat > 0) {
		qsort(lat_first, nlat, sizeof(*lat_first), cmp_u32);
		qsort(lat_total, nlat, sizeof(*lat_total), cmp_u32);
	}
	printf("RESULT load=exec-cat value=%.1f unit=conn/s ok=%d "
	    "extra=conns=%zu,errors=%lu,refused=%lu,reset=%lu,short=%lu,"
	    "data=%lu,timeout=%lu,other=%lu,first_p50_us=%u,first_p99_us=%u,"
	    "total_p50_us=%u,total_p99_us=%u,secs=%.3f,inflight=%ld\n",
	    (double)nlat / ((double)(t - start) / 1e6), errors == 0 && nlat > 0,
	    nlat, errors, errs_refused, errs_reset, errs_short, errs_data,
	    errs_timeout, errs_other,
	    nlat ? lat_first[nlat / 2] : 0, nlat ? lat_first[nlat * 99 / 100] : 0,
	    nlat ? lat_total[nlat / 2] : 0, nlat ? lat_total[nlat * 99 / 100] : 0,
	    (double)(t - start) / 1e6, inflight);
	free(lat_first);
	free(lat_total);
	close(epfd);
	return errors == 0 && nlat > 0 ? 0 : 1;
}
