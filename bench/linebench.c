/*
 * linebench.c: connection rate of a line service on loopback, for
 * bench/modules.sh.  Each connection: connect, send one line, read the
 * same line back (echo, or linereply without a prefix), close.  INFLIGHT
 * connections at a time, TOTAL in all, from source addresses 127.0.0.1 to
 * 127.0.0.SOURCES so that TIME_WAIT does not run out of ports; the whole
 * run is bounded by -T seconds.
 *
 *	linebench -p PORT [-n TOTAL] [-c INFLIGHT] [-S SOURCES] [-T SECONDS]
 *
 * Prints "RESULT conns=N secs=S rate=R ok=0|1"; exit 0 when every
 * connection got its line back in time.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE		"netsvcd module bench line\r\n"
#define LINE_LEN	(sizeof(LINE) - 1)
#define MAX_INFLIGHT	1024

struct slot {
	int	fd;
	int	sent;
	size_t	got;
	char	buf[LINE_LEN];
};

static struct slot	slots[MAX_INFLIGHT];
static long		started, done, total;
static int		sources = 16, port, ep;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open the next connection in s, or leave it idle when all are started. */
static int
launch(struct slot *s)
{
	struct sockaddr_in	sin, src;
	struct epoll_event	ev;

	s->fd = -1;
	if (started == total)
		return 0;
	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(started % sources));
	if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS)
		return -1;
	started++;
	s->sent = 0;
	s->got = 0;
	ev.events = EPOLLOUT;
	ev.data.ptr = s;
	return epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

/* Progress on s: send the line once connected, then read it back. */
static int
step(struct slot *s)
{
	struct epoll_event	ev;
	ssize_t			n;

	if (!s->sent) {
		if (send(s->fd, LINE, LINE_LEN, MSG_NOSIGNAL) !=
		    (ssize_t)LINE_LEN)
			return -1;
		s->sent = 1;
		ev.events = EPOLLIN;
		ev.data.ptr = s;
		return epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
	}
	n = recv(s->fd, s->buf + s->got, LINE_LEN - s->got, 0);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	s->got += (size_t)n;
	if (s->got < LINE_LEN)
		return 0;
	if (memcmp(s->buf, LINE, LINE_LEN) != 0)
		return -1;
	close(s->fd);
	done++;
	return launch(s);
}

int
main(int argc, char *argv[])
{
	struct epoll_event	evs[256];
	double			t0, secs, limit = 60;
	long			inflight = 32, i;
	int			ch, n, ok = 1;

	total = 10000;
	while ((ch = getopt(argc, argv, "p:n:c:S:T:")) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'c': inflight = atol(optarg); break;
		case 'S': sources = atoi(optarg); break;
		case 'T': limit = atof(optarg); break;
		default:
			fprintf(stderr, "usage: linebench -p PORT [-n TOTAL] "
			    "[-c INFLIGHT] [-S SOURCES] [-T SECONDS]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || total <= 0 || inflight <= 0 ||
	    inflight > MAX_INFLIGHT || sources < 1 || sources > 250) {
		fprintf(stderr, "linebench: bad arguments\n");
		return 2;
	}
	if ((ep = epoll_create1(0)) == -1) {
		perror("linebench: epoll_create1");
		return 1;
	}
	t0 = now();
	for (i = 0; i < inflight; i++) {
		if (launch(&slots[i]) == -1) {
			perror("linebench: connect");
			return 1;
		}
	}
	while (done < total) {
		if (now() - t0 > limit) {
			fprintf(stderr, "linebench: time limit\n");
			ok = 0;
			break;
		}
		if ((n = epoll_wait(ep, evs, 256, 1000)) == -1) {
			if (errno == EINTR)
				continue;
			perror("linebench: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (step(evs[i].data.ptr) == -1) {
				fprintf(stderr, "linebench: connection %ld "
				    "failed: %s\n", done,
				    errno ? strerror(errno) : "bad reply");
				ok = 0;
				goto out;
			}
		}
	}
out:
	secs = now() - t0;
	printf("RESULT conns=%ld secs=%.3f rate=%.0f ok=%d\n", done, secs,
	    secs > 0 ? (double)done / secs : 0.0, ok);
	return ok ? 0 : 1;
}
