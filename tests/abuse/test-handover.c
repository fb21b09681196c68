/*
 * test-handover.c: restart and upgrade without dropping a connection
 * (SIGUSR2, daemon/reexec.c; issue 15).  The real daemon re-executes
 * itself under load again and again: echo clients stream their own
 * pseudo-random data and check every byte that comes back, in order;
 * chargen readers check that the pattern never skips or repeats; a connect
 * loop on daytime counts every refusal and reset.  Then what must not be
 * handed over (an instance gone from the config), a new process that fails
 * (the old one resumes), and hostile handover states given to a fresh
 * daemon (each rejected, the daemon starts afresh).
 *
 * The test process is a child subreaper, so the new daemon, orphaned when
 * the old one exits, becomes its child and the harness can wait for it.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define HO_ECHO		(AB_SANITIZED ? 50 : 150)	/* echo clients */
#define HO_CHARGEN	(AB_SANITIZED ? 5 : 15)		/* chargen readers */
#define HO_ROUNDS	(AB_SANITIZED ? 4 : 10)		/* handovers */
#define HO_WINDOW	8192	/* echo bytes in flight per client */
#define HO_CHUNK	1500	/* echo bytes per send */
#define HO_CG_READ	8192	/* chargen bytes per read */
#define HO_DAYTIME	4	/* daytime connects in flight */
#define HO_SEED		0xa11ce5ULL
#define HO_MAXFD	1024

#define RING95	"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		"[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ "

enum ho_kind { HO_KIND_ECHO, HO_KIND_CHARGEN, HO_KIND_DAYTIME };

/* One client of the load. */
struct ho_client {
	enum ho_kind	 kind;
	int		 fd;
	uint64_t	 seed;
	size_t		 sent;		/* echo: bytes sent */
	size_t		 got;		/* bytes received (chargen: position) */
	int		 connected;	/* daytime: connect finished */
	int		 shut;		/* echo: SHUT_WR done */
};

/* What the load saw. */
struct ho_load {
	struct ho_client	 c[HO_ECHO + HO_CHARGEN + HO_DAYTIME];
	size_t			 n;
	unsigned long		 day_ok;
	unsigned long		 day_refused;
	unsigned long		 day_reset;
	unsigned long		 day_other;
	const struct hs_endpoint *day_ep;
	char			 failure[256];
};

static void	ho_teardown(void);
static char	*ho_read_all(const char *);

TestSuite(handover, .fini = ho_teardown);

static struct hs_daemon	*ho_daemons[8];	/* spawned here, for ho_teardown */
static size_t		 ho_ndaemons;

static const char	ho_conf[] =
    "[daemon]\n"
    "shutdown_timeout = 2s\n"
    "\n"
    "[echo]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0 tcp://[::1]:0 udp://127.0.0.1:0\n"
    "max_connections = 1000\n"
    "\n"
    "[chargen]\n"
    "service = chargen\n"
    "listen = tcp://127.0.0.1:0\n"
    "\n"
    "[daytime]\n"
    "service = daytime\n"
    "listen = tcp://127.0.0.1:0\n";

/* Byte p of the chargen stream (RFC 864, as proto.c makes it). */
static char
ho_chargen_byte(size_t p)
{
	size_t	line = (p / 74) % 95, col = p % 74;

	if (col == 72)
		return '\r';
	if (col == 73)
		return '\n';
	return RING95[(line + col) % 95];
}

/* hs_spawn(), remembered for ho_teardown. */
static struct hs_daemon *
ho_spawn(const char *conf)
{
	struct hs_daemon	*d = hs_spawn(conf);

	if (ho_ndaemons < sizeof(ho_daemons) / sizeof(ho_daemons[0]))
		ho_daemons[ho_ndaemons++] = d;
	return d;
}

/*
 * Test .fini: a test that failed half-way may leave a new process the
 * harness does not know about (our child, as the subreaper): kill every
 * one the log names that is still our child, then the harness's teardown.
 */
static void
ho_teardown(void)
{
	char	*log, *at;
	size_t	 i;
	long	 pid;
	int	 status;

	for (i = 0; i < ho_ndaemons; i++) {
		log = ho_read_all(ho_daemons[i]->log_path);
		for (at = log; at != NULL &&
		    (at = strstr(at, "handed over to pid ")) != NULL; at++) {
			pid = strtol(at + strlen("handed over to pid "), NULL,
			    10);
			if (pid > 1 && pid != (long)ho_daemons[i]->pid &&
			    waitpid((pid_t)pid, &status, WNOHANG) == 0) {
				kill((pid_t)pid, SIGKILL);
				waitpid((pid_t)pid, &status, 0);
			}
		}
		free(log);
	}
	ho_ndaemons = 0;
	hs_teardown();
}

/* The whole file at path, NUL-terminated (NULL if unreadable); free() it. */
static char *
ho_read_all(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	size_t	 n;

	if (f == NULL)
		return NULL;
	if ((buf = calloc(1, 4 << 20)) != NULL) {
		n = fread(buf, 1, (4 << 20) - 1, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* Become the reaper of the daemons' orphans (the new processes). */
static void
ho_subreaper(void)
{
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0, "prctl: %s",
	    strerror(errno));
}

/* The pid in the last "handed over to pid N" line since offset start. */
static pid_t
ho_new_pid(struct hs_daemon *d)
{
	char	*log = hs_log(d), *at, *last = NULL;
	long	 pid = -1;

	for (at = log; (at = strstr(at, "handed over to pid ")) != NULL;
	    at++)
		last = at;
	if (last != NULL)
		pid = strtol(last + strlen("handed over to pid "), NULL, 10);
	free(log);
	return (pid_t)pid;
}

/* How many times the log holds text. */
static int
ho_count(struct hs_daemon *d, const char *text)
{
	char	*log = hs_log(d), *at;
	int	 n = 0;

	for (at = log; (at = strstr(at, text)) != NULL; at++)
		n++;
	free(log);
	return n;
}

/*
 * Follow the daemon to the process that took over, once the old one has
 * exited (0) on its own.
 */
static void
ho_follow(struct hs_daemon *d, pid_t pid)
{
	cr_assert(pid > 0, "no \"handed over to pid\" in the log");
	cr_assert(!d->running, "the old process still runs");
	cr_assert(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	    "the old process did not exit 0 (status 0x%x)", d->status);
	d->pid = pid;
	d->running = 1;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- the load ---- */

/* A non-blocking connection to ep, or fail the test. */
static int
ho_connect(const struct hs_endpoint *ep)
{
	return ab_tcp(ep, NULL);
}

static void
ho_load_start(struct ho_load *L, struct hs_daemon *d)
{
	const struct hs_endpoint	*echo4, *echo6, *cg;
	struct ho_client		*c;
	size_t				 i;

	memset(L, 0, sizeof(*L));
	echo4 = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	echo6 = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6);
	cg = hs_endpoint(d, "chargen", SOCK_STREAM, AF_INET);
	L->day_ep = hs_endpoint(d, "daytime", SOCK_STREAM, AF_INET);
	for (i = 0; i < HO_ECHO; i++) {
		c = &L->c[L->n++];
		c->kind = HO_KIND_ECHO;
		c->seed = HO_SEED + i;
		c->fd = ho_connect(i % 4 == 3 ? echo6 : echo4);
	}
	for (i = 0; i < HO_CHARGEN; i++) {
		c = &L->c[L->n++];
		c->kind = HO_KIND_CHARGEN;
		c->fd = ho_connect(cg);
	}
	for (i = 0; i < HO_DAYTIME; i++) {
		c = &L->c[L->n++];
		c->kind = HO_KIND_DAYTIME;
		c->fd = -1;
	}
}

/* Start a daytime connect in slot c; refusals are counted at once. */
static void
ho_day_start(struct ho_load *L, struct ho_client *c)
{
	c->fd = ab_tcp_start(L->day_ep, NULL);
	c->got = 0;
	c->connected = 0;
	if (c->fd == -1) {
		if (errno == ECONNREFUSED)
			L->day_refused++;
		else
			L->day_other++;
	}
}

/* One daytime connection is over: count how it ended. */
static void
ho_day_end(struct ho_load *L, struct ho_client *c, int err)
{
	if (err == 0 && c->got > 0)
		L->day_ok++;
	else if (err == ECONNREFUSED)
		L->day_refused++;
	else if (err == ECONNRESET || err == EPIPE)
		L->day_reset++;
	else
		L->day_other++;
	close(c->fd);
	c->fd = -1;
}

/* Send the next echo chunk if the window allows. */
static int
ho_echo_send(struct ho_load *L, struct ho_client *c)
{
	unsigned char	buf[HO_CHUNK];
	size_t		len = HO_CHUNK;
	ssize_t		n;

	if (c->shut || c->sent - c->got >= HO_WINDOW)
		return 0;
	hs_pattern(buf, len, c->seed, c->sent);
	n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		snprintf(L->failure, sizeof(L->failure), "echo client %llu: "
		    "send: %s after %zu bytes",
		    (unsigned long long)(c->seed - HO_SEED), strerror(errno),
		    c->sent);
		return -1;
	}
	c->sent += (size_t)n;
	return 0;
}

/* Read what the echo sent back and check it, byte for byte. */
static int
ho_echo_recv(struct ho_load *L, struct ho_client *c)
{
	unsigned char	buf[16384], want[16384];
	ssize_t		n;
	size_t		i;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		snprintf(L->failure, sizeof(L->failure), "echo client %llu: "
		    "%s after %zu of %zu bytes",
		    (unsigned long long)(c->seed - HO_SEED), n == 0 ? "EOF" :
		    strerror(errno), c->got, c->sent);
		return -1;
	}
	if (c->got + (size_t)n > c->sent) {
		snprintf(L->failure, sizeof(L->failure), "echo client %llu: "
		    "more back than sent", (unsigned long long)(c->seed -
		    HO_SEED));
		return -1;
	}
	hs_pattern(want, (size_t)n, c->seed, c->got);
	for (i = 0; i < (size_t)n; i++) {
		if (buf[i] != want[i]) {
			snprintf(L->failure, sizeof(L->failure), "echo client "
			    "%llu: byte %zu differs", (unsigned long long)
			    (c->seed - HO_SEED), c->got + i);
			return -1;
		}
	}
	c->got += (size_t)n;
	return 0;
}

/* Read some chargen and check it continues the pattern exactly. */
static int
ho_chargen_recv(struct ho_load *L, struct ho_client *c)
{
	char	buf[HO_CG_READ];
	ssize_t	n;
	size_t	i;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		snprintf(L->failure, sizeof(L->failure), "chargen reader: %s "
		    "at byte %zu", n == 0 ? "EOF" : strerror(errno), c->got);
		return -1;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (buf[i] != ho_chargen_byte(c->got + i)) {
			snprintf(L->failure, sizeof(L->failure), "chargen "
			    "reader: byte %zu is '%c', want '%c'", c->got + i,
			    buf[i], ho_chargen_byte(c->got + i));
			return -1;
		}
	}
	c->got += (size_t)n;
	return 0;
}

/* One daytime event: connect done, data, EOF or error. */
static void
ho_day_event(struct ho_load *L, struct ho_client *c, short rev)
{
	char		buf[256];
	socklen_t	len = sizeof(int);
	ssize_t		n;
	int		err = 0;

	if (!c->connected) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			ho_day_end(L, c, err);
			return;
		}
		c->connected = 1;
	}
	if (!(rev & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n > 0) {
		c->got += (size_t)n;
		return;
	}
	ho_day_end(L, c, n == 0 ? 0 : errno);
}

/*
 * Drive every client for ms milliseconds (or until the daemon's old
 * process exits, with stop_on_exit), through one poll() loop.  Returns 0,
 * or -1 with L->failure set.
 */
static int
ho_load_run(struct ho_load *L, struct hs_daemon *d, int ms, int stop_on_exit)
{
	struct pollfd		 pfd[HO_ECHO + HO_CHARGEN + HO_DAYTIME];
	struct ho_client	*c;
	int64_t			 end = hs_now_ms() + ms;
	unsigned int		 rounds;
	size_t			 i;
	int			 r;

	for (rounds = 0; rounds < 1000000 && hs_now_ms() < end; rounds++) {
		if (stop_on_exit && hs_wait_exit(d, 0) == 0)
			return 0;
		for (i = 0; i < L->n; i++) {
			c = &L->c[i];
			if (c->kind == HO_KIND_DAYTIME && c->fd == -1)
				ho_day_start(L, c);
			if (c->kind == HO_KIND_ECHO &&
			    ho_echo_send(L, c) == -1)
				return -1;
			pfd[i].fd = c->fd;
			pfd[i].revents = 0;
			pfd[i].events = POLLIN;
			if (c->kind == HO_KIND_DAYTIME && !c->connected)
				pfd[i].events = POLLOUT;
		}
		if (poll(pfd, L->n, 10) == -1 && errno != EINTR) {
			snprintf(L->failure, sizeof(L->failure), "poll: %s",
			    strerror(errno));
			return -1;
		}
		for (i = 0; i < L->n; i++) {
			c = &L->c[i];
			if (pfd[i].revents == 0 || c->fd == -1)
				continue;
			r = 0;
			if (c->kind == HO_KIND_ECHO)
				r = ho_echo_recv(L, c);
			else if (c->kind == HO_KIND_CHARGEN)
				r = ho_chargen_recv(L, c);
			else
				ho_day_event(L, c, pfd[i].revents);
			if (r == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * The end: every echo client half-closes and must get back all it sent,
 * then EOF.  Returns 0 or -1 with L->failure set.
 */
static int
ho_load_finish(struct ho_load *L)
{
	struct ho_client	*c;
	char			 buf[16384];
	ssize_t			 n;
	size_t			 i;

	for (i = 0; i < L->n; i++) {
		c = &L->c[i];
		if (c->kind != HO_KIND_ECHO)
			continue;
		/* Read what is still on its way, then the EOF. */
		shutdown(c->fd, SHUT_WR);
		c->shut = 1;
		while (c->got < c->sent) {
			n = hs_recv_n(c->fd, buf, c->sent - c->got <
			    sizeof(buf) ? c->sent - c->got : sizeof(buf),
			    ab_ms(10000));
			if (n <= 0) {
				snprintf(L->failure, sizeof(L->failure),
				    "echo client %zu: %zu of %zu bytes back "
				    "at the end", i, c->got, c->sent);
				return -1;
			}
			{
				unsigned char	want[16384];

				hs_pattern(want, (size_t)n, c->seed, c->got);
				if (memcmp(want, buf, (size_t)n) != 0) {
					snprintf(L->failure,
					    sizeof(L->failure), "echo client "
					    "%zu: bytes differ at the end", i);
					return -1;
				}
			}
			c->got += (size_t)n;
		}
		if (hs_read_eof(c->fd, buf, sizeof(buf), ab_ms(10000)) != 0) {
			snprintf(L->failure, sizeof(L->failure), "echo client "
			    "%zu: no clean EOF after its half-close", i);
			return -1;
		}
	}
	return 0;
}

/* Close every client. */
static void
ho_load_close(struct ho_load *L)
{
	size_t	i;

	for (i = 0; i < L->n; i++) {
		if (L->c[i].fd != -1)
			close(L->c[i].fd);
		L->c[i].fd = -1;
	}
}

/*
 * The handover lines that say want connections were handed over and none
 * closed (daytime connections, which cannot be handed over, may drain).
 */
static int
ho_handed(struct hs_daemon *d, size_t want)
{
	char	*log = hs_log(d), *at;
	size_t	 handed, drained, closed;
	int	 n = 0;

	for (at = log; (at = strstr(at, "connections: ")) != NULL; at++) {
		if (sscanf(at, "connections: %zu handed over, %zu drained, %zu "
		    "closed", &handed, &drained, &closed) != 3)
			continue;
		cr_assert_eq(handed, want, "a handover took %zu connections, "
		    "not %zu", handed, want);
		cr_assert_eq(closed, 0);
		cr_assert_leq(drained, HO_DAYTIME);
		n++;
	}
	free(log);
	return n;
}

/* The largest "not accepting for X ms" in the log, in µs. */
static long
ho_max_gap_us(struct hs_daemon *d, int *count)
{
	char		*log = hs_log(d), *at;
	unsigned long	 ms, frac;
	long		 max = -1, us;

	*count = 0;
	for (at = log; (at = strstr(at, "not accepting for ")) != NULL;
	    at++) {
		if (sscanf(at, "not accepting for %lu.%lu ms", &ms,
		    &frac) != 2)
			continue;
		us = (long)(ms * 1000 + frac);
		if (us > max)
			max = us;
		(*count)++;
	}
	free(log);
	return max;
}

/*
 * HO_ROUNDS handovers in a row under load: no echo byte lost or
 * reordered, chargen continuous, no daytime connect refused or reset, the
 * counters carried on, and descriptors back to where they were.
 */
Test(handover, reexec_under_load_loses_nothing, .timeout = 600)
{
	static struct ho_load	 L;
	struct hs_daemon	*d;
	unsigned long		 accepted = 0;
	char			*log, *at;
	long			 gap;
	int			 base, round, handed, count;
	size_t			 i, echoed = 0, charged = 0;

	ab_nofile(4096);
	ho_subreaper();
	d = ho_spawn(ho_conf);
	base = hs_nfds(d);
	cr_assert(base > 0);
	ho_load_start(&L, d);
	cr_assert_eq(ho_load_run(&L, d, 300, 0), 0, "%s", L.failure);
	for (round = 0; round < HO_ROUNDS; round++) {
		handed = ho_count(d, "handed over to pid ");
		cr_assert_eq(hs_signal(d, SIGUSR2), 0);
		/* Keep the load going while the processes change hands. */
		cr_assert_eq(ho_load_run(&L, d, ab_ms(15000), 1), 0,
		    "round %d: %s", round, L.failure);
		cr_assert_eq(hs_wait_exit(d, ab_ms(1000)), 0, "round %d: the "
		    "old process did not exit", round);
		cr_assert_eq(ho_count(d, "handed over to pid "), handed + 1);
		ho_follow(d, ho_new_pid(d));
		cr_assert_eq(ho_load_run(&L, d, 300, 0), 0, "round %d: %s",
		    round, L.failure);
	}
	cr_assert_eq(ho_load_finish(&L), 0, "%s", L.failure);
	for (i = 0; i < L.n; i++) {
		if (L.c[i].kind == HO_KIND_ECHO)
			echoed += L.c[i].got;
		else if (L.c[i].kind == HO_KIND_CHARGEN)
			charged += L.c[i].got;
	}
	cr_assert_eq(L.day_refused, 0, "%lu daytime connects refused",
	    L.day_refused);
	cr_assert_eq(L.day_reset, 0, "%lu daytime connects reset",
	    L.day_reset);
	cr_assert_eq(L.day_other, 0, "%lu daytime connects failed otherwise",
	    L.day_other);
	cr_assert_gt(L.day_ok, (unsigned long)HO_ROUNDS);
	/* Every handover took every echo and chargen client, and said so. */
	cr_assert_eq(ho_handed(d, HO_ECHO + HO_CHARGEN), HO_ROUNDS);
	gap = ho_max_gap_us(d, &count);
	cr_assert_eq(count, HO_ROUNDS);
	cr_log_info("handover: %d rounds, %d echo clients (%zu bytes back), "
	    "%d chargen readers (%zu bytes), %lu daytime connects; longest "
	    "time not accepting %ld.%03ld ms", HO_ROUNDS, HO_ECHO, echoed,
	    HO_CHARGEN, charged, L.day_ok, gap / 1000, gap % 1000);
	printf("handover: %d rounds, longest time not accepting %ld.%03ld ms, "
	    "%lu daytime connects, 0 refused, 0 reset\n", HO_ROUNDS,
	    gap / 1000, gap % 1000, L.day_ok);
	/* The counters went on: echo accepted each client once. */
	cr_assert_eq(hs_signal(d, SIGUSR1), 0);
	for (i = 0; i < 200 && accepted == 0; i++) {
		ab_pause_ms(20);
		log = hs_log(d);
		if ((at = strstr(log, "status: echo (echo, built-in): open ")) != NULL)
			(void)sscanf(at, "status: echo (echo, built-in): open %*u "
			    "accepted %lu", &accepted);
		free(log);
	}
	cr_assert_eq(accepted, (unsigned long)HO_ECHO,
	    "echo accepted %lu, want %d: counters lost in a handover",
	    accepted, HO_ECHO);
	ho_load_close(&L);
	ab_wait_nfds(d, base, ab_ms(10000), "after the handovers");
	hs_stop_ok(d);
}

/*
 * An echo client that sends without reading: its echo piles up in the
 * daemon's output buffer (buffer_limit) and in both kernels' buffers.  The
 * handover carries the daemon's part over, and every byte comes back, in
 * order.
 */
Test(handover, pending_output_carried_over, .timeout = 120)
{
	static unsigned char	 buf[65536], want[65536];
	struct hs_result	 r;
	struct hs_daemon	*d;
	const struct hs_endpoint *e;
	size_t			 sent = 0, got = 0, len;
	ssize_t			 n;
	int64_t			 idle_since;
	unsigned int		 rounds;
	int			 fd;

	ho_subreaper();
	d = ho_spawn(ho_conf);
	e = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	fd = ho_connect(e);
	/* Send until nothing has gone for 300 ms (32 MiB at most). */
	idle_since = hs_now_ms();
	for (rounds = 0; rounds < 100000 && sent < (32u << 20) &&
	    hs_now_ms() - idle_since < 300; rounds++) {
		hs_pattern(buf, sizeof(buf), HO_SEED, sent);
		n = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			idle_since = hs_now_ms();
		} else {
			cr_assert(n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK), "send: %s", strerror(errno));
			ab_pause_ms(5);
		}
	}
	cr_assert_gt(sent, 65536u);
	cr_assert_eq(hs_signal(d, SIGUSR2), 0);
	cr_assert_eq(hs_wait_exit(d, ab_ms(15000)), 0);
	ho_follow(d, ho_new_pid(d));
	cr_assert(ab_log_has(d, "bytes of output pending carried over"),
	    "nothing was pending at the handover");
	cr_assert(ab_log_has(d, "connections: 1 handed over, 0 drained, 0 "
	    "closed"));
	shutdown(fd, SHUT_WR);
	for (rounds = 0; rounds < 100000 && got < sent; rounds++) {
		len = sent - got < sizeof(buf) ? sent - got : sizeof(buf);
		n = hs_recv_n(fd, buf, len, ab_ms(10000));
		cr_assert_eq(n, (ssize_t)len, "%zu of %zu bytes back", got,
		    sent);
		hs_pattern(want, len, HO_SEED, got);
		cr_assert_eq(memcmp(buf, want, len), 0, "bytes differ after "
		    "%zu", got);
		got += len;
	}
	cr_assert_eq(got, sent);
	cr_assert_eq(hs_read_eof(fd, buf, sizeof(buf), ab_ms(10000)), 0);
	close(fd);
	/* The new process holds the old one's lock: no second copy. */
	cr_assert_eq(hs_run(&r, ab_ms(5000), "-f", "-c", d->conf_path, NULL),
	    0);
	cr_assert(r.exit_code == 1 && strstr(r.err, "already serves") != NULL,
	    "a second copy started after the handover: %s", r.err);
	hs_result_free(&r);
	hs_stop_ok(d);
}

/* Play the service manager: bind d's notify socket, as systemd would. */
static void
ho_notify_bind(struct hs_daemon *d)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_lt(strlen(d->notify_path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, d->notify_path, strlen(d->notify_path) + 1);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	cr_assert(d->notify_fd != -1);
	cr_assert_eq(bind(d->notify_fd, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
}

/*
 * Write conf (without a [daemon] section) over the daemon's config file,
 * with the harness's "workers = N" when NETSVCD_WORKERS is set.
 */
static void
ho_rewrite(struct hs_daemon *d, const char *conf)
{
	const char	*n = getenv("NETSVCD_WORKERS");
	FILE		*f = fopen(d->conf_path, "w");

	cr_assert_not_null(f);
	if (n != NULL && *n != '\0')
		fprintf(f, "[daemon]\nworkers = %s\n\n", n);
	cr_assert(fputs(conf, f) >= 0);
	cr_assert_eq(fclose(f), 0);
}

/*
 * An instance gone from the new config: its connection stays with the
 * old process, which serves it until it ends, then exits; the other
 * instance's connection goes on in the new process.
 */
Test(handover, removed_instance_drains_in_old_process, .timeout = 120)
{
	struct hs_daemon	*d;
	const struct hs_endpoint *a, *b;
	char			 conf[512], conf2[512];
	int			 ports[2], fa, fb, fa2, i, r, err, workers;
	pid_t			 pid;

	ho_subreaper();
	hs_free_ports(SOCK_STREAM, AF_INET, ports, 2);
	snprintf(conf, sizeof(conf), "[keep]\nservice = echo\nlisten = "
	    "tcp://127.0.0.1:%d\n\n[gone]\nservice = echo\nlisten = "
	    "tcp://127.0.0.1:%d\n", ports[0], ports[1]);
	snprintf(conf2, sizeof(conf2), "[keep]\nservice = echo\nlisten = "
	    "tcp://127.0.0.1:%d\n", ports[0]);
	d = ho_spawn(conf);
	a = hs_endpoint(d, "keep", SOCK_STREAM, AF_INET);
	b = hs_endpoint(d, "gone", SOCK_STREAM, AF_INET);
	fa = hs_connect_ep(a, ab_ms(5000));
	fb = hs_connect_ep(b, ab_ms(5000));
	hs_echo(fa, "before\n", ab_ms(5000));
	hs_echo(fb, "before\n", ab_ms(5000));
	ho_rewrite(d, conf2);
	cr_assert_eq(hs_signal(d, SIGUSR2), 0);
	/* The new process is there; the old one drains the other. */
	for (i = 0; i < 1000 && !ab_log_has(d, "left here to drain"); i++)
		ab_pause_ms(20);
	pid = ho_new_pid(d);
	cr_assert(pid > 0);
	cr_assert(ab_log_has(d, "connections: 1 handed over, 1 drained, 0 "
	    "closed"), "the handover line");
	/* One socket of the removed endpoint per worker. */
	workers = getenv("NETSVCD_WORKERS") != NULL ?
	    atoi(getenv("NETSVCD_WORKERS")) : 1;
	cr_assert_eq(ho_count(d, "handover: gone: no endpoint here for its "
	    "listener; closing it"), workers > 0 ? workers : 1);
	cr_assert_eq(hs_wait_exit(d, 300), -1, "the old process left its "
	    "connection");
	hs_echo(fa, "after, new process\n", ab_ms(5000));
	hs_echo(fb, "after, old process\n", ab_ms(5000));
	fa2 = hs_connect_ep(a, ab_ms(5000));
	hs_echo(fa2, "a new client\n", ab_ms(5000));
	close(fb);
	cr_assert_eq(hs_wait_exit(d, ab_ms(10000)), 0, "the old process "
	    "did not exit once its connection ended");
	ho_follow(d, pid);
	/* The removed endpoint is closed with the old process. */
	fb = ab_tcp_start(b, NULL);
	r = fb == -1 ? -1 : ab_tcp_wait(fb, ab_ms(5000));
	err = errno;
	if (fb != -1)
		close(fb);
	cr_assert(r == -1 && err == ECONNREFUSED, "the removed endpoint "
	    "still accepts");
	hs_echo(fa, "still\n", ab_ms(5000));
	close(fa);
	close(fa2);
	hs_stop_ok(d);
}

/*
 * The new process fails (here: the config has an error by then): the old
 * one resumes everything, connections and listeners, and says so.
 */
Test(handover, failed_new_process_old_resumes, .timeout = 120)
{
	struct hs_daemon	*d;
	const struct hs_endpoint *e;
	pid_t			 old;
	int			 fd, fd2, i;

	d = ho_spawn(ho_conf);
	old = d->pid;
	e = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	fd = hs_connect_ep(e, ab_ms(5000));
	hs_echo(fd, "before\n", ab_ms(5000));
	ho_rewrite(d, "[echo]\nservice = echo\nlisten = nonsense\n");
	cr_assert_eq(hs_signal(d, SIGUSR2), 0);
	for (i = 0; i < 1000 && !ab_log_has(d, "handover failed"); i++)
		ab_pause_ms(20);
	cr_assert(ab_log_has(d, "handover failed: the new process exited "
	    "before it was ready"));
	cr_assert(ab_log_has(d, "still serving, nothing lost"));
	cr_assert_eq(d->pid, old);
	cr_assert_eq(hs_wait_exit(d, 0), -1, "the old process exited");
	hs_echo(fd, "after\n", ab_ms(5000));
	fd2 = hs_connect_ep(e, ab_ms(5000));
	hs_echo(fd2, "a new client\n", ab_ms(5000));
	close(fd);
	close(fd2);
	hs_stop_ok(d);
}

/* ---- hostile states, given to a fresh daemon ---- */

/* A memfd with len bytes of buf and the given seals. */
static int
ho_memfd(const void *buf, size_t len, int seals)
{
	int	fd = memfd_create("hostile", MFD_ALLOW_SEALING);

	cr_assert(fd != -1);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	if (seals != 0)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

#define SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/*
 * Start the daemon on conf with HANDOVER=memfd and the descriptors
 * pass[] inherited at the same numbers, and wait for READY=1.
 */
static struct hs_daemon *
ho_spawn_hostile(const char *conf, int memfd, const int *pass, size_t npass)
{
	struct hs_daemon	*d = hs_new();
	char			 env[64];
	pid_t			 pid;
	size_t			 i;
	int			 fd;

	ho_rewrite(d, conf);
	ho_notify_bind(d);
	snprintf(env, sizeof(env), "%d", memfd);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		setenv("NETSVCD_HANDOVER", env, 1);
		setenv("NOTIFY_SOCKET", d->notify_path, 1);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		fcntl(memfd, F_SETFD, 0);
		for (i = 0; i < npass; i++)
			fcntl(pass[i], F_SETFD, 0);
		signal(SIGPIPE, SIG_DFL);
		execl(hs_bin(), hs_bin(), "-f", "-c", d->conf_path, "-l",
		    "info", (char *)NULL);
		_exit(127);
	}
	cr_assert(pid > 0);
	d->pid = pid;
	d->running = 1;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_eq(hs_wait_notify(d, "READY=1", ab_ms(10000)), 0,
	    "no READY=1 after a hostile state (log %s)", d->log_path);
	return d;
}

/* A TCP listener on 127.0.0.1:port (0: the kernel's port). */
static int
ho_listen_on(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	return fd;
}

/* A TCP listener on 127.0.0.1 (kernel's port); *port gets it. */
static int
ho_listener(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = ho_listen_on(0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* conf: echo alone, on a free TCP port of 127.0.0.1 put in *port. */
static void
ho_echo_conf(char *conf, size_t size, int *port)
{
	hs_free_ports(SOCK_STREAM, AF_INET, port, 1);
	snprintf(conf, size, "[echo]\nservice = echo\nlisten = "
	    "tcp://127.0.0.1:%d\n", *port);
}

/* The echo instance of conf at port answers. */
static void
ho_serves(int port)
{
	struct hs_endpoint	ep;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ep.addr;
	int			fd;

	memset(&ep, 0, sizeof(ep));
	ep.type = SOCK_STREAM;
	ep.family = AF_INET;
	ep.port = port;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep.addrlen = sizeof(*sin);
	fd = hs_connect_ep(&ep, ab_ms(5000));
	hs_echo(fd, "fresh\n", ab_ms(5000));
	close(fd);
}

/* Little-endian helpers to forge a state by hand. */
static size_t
put_le(unsigned char *p, uint64_t v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return n;
}

/*
 * A state with one TCP listener record (fd, bound to 127.0.0.1:port,
 * instance echo), length and checksum right; returns its length.
 */
static size_t
ho_forge(unsigned char *b, int version, int fd, int port)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		n = 0, i;

	memcpy(b, "NSVDHAND", 8);
	n = 8;
	n += put_le(b + n, (uint64_t)version, 4);
	n += put_le(b + n, 0, 4);
	n += put_le(b + n, 0, 8);	/* length, below */
	n += put_le(b + n, 0, 8);	/* checksum, below */
	n += put_le(b + n, 1, 8);
	n += put_le(b + n, 1, 4);	/* pid */
	n += put_le(b + n, 0, 4);	/* instances */
	n += put_le(b + n, 1, 4);	/* listeners */
	n += put_le(b + n, 0, 4);	/* connections */
	n += put_le(b + n, 0, 4);	/* kept */
	n += put_le(b + n, (uint64_t)fd, 4);
	b[n++] = 1;			/* TCP */
	b[n++] = 0;
	n += put_le(b + n, 0, 2);
	b[n++] = 4;
	memcpy(b + n, "echo", 4);
	n += 4;
	for (i = 0; i < 2; i++) {	/* configured, bound */
		b[n++] = 4;
		n += put_le(b + n, (uint64_t)port, 2);
		memset(b + n, 0, 16);
		b[n] = 127;
		b[n + 3] = 1;
		n += 16;
		n += put_le(b + n, 0, 4);
	}
	for (i = 60; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	put_le(b + 16, n, 8);
	put_le(b + 24, h, 8);
	return n;
}

/* Whether the daemon holds the socket fd is (by inode). */
static int
ho_has_sock(struct hs_daemon *d, int fd)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*dir;
	char		 path[320], link[64], want[64];
	ssize_t		 n;
	int		 found = 0, rounds = 0;

	cr_assert_eq(fstat(fd, &sb), 0);
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)sb.st_ino);
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)d->pid);
	cr_assert_not_null(dir = opendir(path));
	while (!found && (de = readdir(dir)) != NULL && rounds++ < 100000) {
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", (long)d->pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(dir);
	return found;
}

Test(handover, hostile_states_rejected_daemon_starts_afresh, .timeout = 180)
{
	static const struct {
		const char	*what;
		int		 version;
		int		 seals;
		int		 cut;		/* bytes off the end */
		int		 grow;		/* bytes of zeros added */
		const char	*log;
	} cases[] = {
		{ "truncated", 1, SEALS, 9, 0, "handover state of" },
		{ "oversized", 1, SEALS, 0, 65 << 20, "not a handover state" },
		{ "unsealed", 1, 0, 0, 0, "memfd not sealed" },
		{ "write seal missing", 1, F_SEAL_SHRINK | F_SEAL_GROW, 0, 0,
		    "memfd not sealed" },
		{ "wrong version", 7, SEALS, 0, 0,
		    "version 7, this build reads version 1" },
	};
	unsigned char	 b[512];
	char		 conf[256];
	struct hs_daemon *d;
	size_t		 i, len;
	int		 port, lfd, mfd, fake, fport;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ho_echo_conf(conf, sizeof(conf), &port);
		/* A listener on another port: it must not be adopted. */
		lfd = ho_listener(&fport);
		len = ho_forge(b, cases[i].version, lfd, port);
		len -= (size_t)cases[i].cut;
		mfd = memfd_create("hostile", MFD_ALLOW_SEALING);
		cr_assert_eq(write(mfd, b, len), (ssize_t)len);
		if (cases[i].grow != 0)
			cr_assert_eq(ftruncate(mfd, (off_t)(len +
			    (size_t)cases[i].grow)), 0);
		if (cases[i].seals != 0)
			cr_assert_eq(fcntl(mfd, F_ADD_SEALS, cases[i].seals),
			    0);
		d = ho_spawn_hostile(conf, mfd, &lfd, 1);
		cr_assert(ab_log_has(d, cases[i].log), "%s: no \"%s\" in the "
		    "log", cases[i].what, cases[i].log);
		cr_assert(ab_log_has(d, "starting afresh"), "%s",
		    cases[i].what);
		ho_serves(port);
		hs_stop_ok(d);
		close(mfd);
		close(lfd);
	}

	/*
	 * A valid state whose listener record names a socket bound
	 * elsewhere: that descriptor is closed, the endpoint bound afresh.
	 */
	ho_echo_conf(conf, sizeof(conf), &port);
	fake = ho_listener(&fport);
	len = ho_forge(b, 1, fake, port);
	mfd = ho_memfd(b, len, SEALS);
	d = ho_spawn_hostile(conf, mfd, &fake, 1);
	cr_assert(ab_log_has(d, "bound elsewhere; not used"));
	cr_assert(ab_log_has(d, "listeners: 0 adopted, 1 closed; "
	    "connections: 0 handed over, 0 drained, 0 closed"));
	cr_assert(!ho_has_sock(d, fake), "the mismatched socket is still "
	    "open");
	ho_serves(port);
	hs_stop_ok(d);
	close(mfd);
	close(fake);

	/* The record names a UDP socket: not a listening TCP one. */
	ho_echo_conf(conf, sizeof(conf), &port);
	fake = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	len = ho_forge(b, 1, fake, port);
	mfd = ho_memfd(b, len, SEALS);
	d = ho_spawn_hostile(conf, mfd, &fake, 1);
	cr_assert(ab_log_has(d, "not a stream socket; not used"));
	cr_assert(!ho_has_sock(d, fake));
	ho_serves(port);
	hs_stop_ok(d);
	close(mfd);
	close(fake);

	/* NETSVCD_HANDOVER naming no memfd at all. */
	ho_echo_conf(conf, sizeof(conf), &port);
	mfd = open("/dev/null", O_RDONLY);
	d = ho_spawn_hostile(conf, mfd, NULL, 0);
	cr_assert(ab_log_has(d, "not a sealed memfd"));
	ho_serves(port);
	hs_stop_ok(d);
	close(mfd);
}

/* ---- the systemd fd store (daemon/fdstore.c), with a fake manager ---- */

#define FM_MAX	64	/* entries of the fake store */

/* A fake fd store, as systemd keeps one per service: fds with names. */
struct fm_store {
	int		 fd[FM_MAX];
	char		 name[FM_MAX][64];
	size_t		 n;
	int		 ready;
	int		 barriers;
	int		 removes;
	int		 hold_barrier;	/* keep BARRIER=1's fd: no answer */
	int		 held[8];
	size_t		 nheld;
};

/* FDSTOREREMOVE=1 of name: close every entry of that name. */
static void
fm_remove(struct fm_store *s, const char *name)
{
	size_t	i, k = 0;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->name[i], name) == 0) {
			close(s->fd[i]);
			continue;
		}
		s->fd[k] = s->fd[i];
		memcpy(s->name[k++], s->name[i], sizeof(s->name[0]));
	}
	s->n = k;
	s->removes++;
}

/*
 * Read the notify messages, as systemd does: FDSTORE=1 keeps the fds
 * under FDNAME=, FDSTOREREMOVE=1 drops a name, BARRIER=1 is answered by
 * closing its fd.  Until READY=1 (ready) or the daemon's exit.
 */
static void
fm_pump(struct hs_daemon *d, struct fm_store *s, int until_exit, int ms)
{
	int64_t		 end = hs_now_ms() + ab_ms(ms);
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 253)];
	}		 cm;
	char		 buf[4096], name[64], *line, *save;
	struct iovec	 iov;
	struct msghdr	 msg;
	struct cmsghdr	*c;
	struct pollfd	 pfd;
	int		 fds[253], store, remove, barrier;
	size_t		 nfds, i;
	ssize_t		 n;

	while (hs_now_ms() < end) {
		if (!until_exit && s->ready)
			return;
		if (until_exit && hs_wait_exit(d, 0) == 0) {
			until_exit = 0;	/* drain what is left, then stop */
			end = hs_now_ms() + 200;
			s->ready = 1;
		}
		pfd.fd = d->notify_fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf) - 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &cm;
		msg.msg_controllen = sizeof(cm);
		if ((n = recvmsg(d->notify_fd, &msg, MSG_DONTWAIT |
		    MSG_CMSG_CLOEXEC)) < 0)
			continue;
		buf[n] = '\0';
		nfds = 0;
		for (c = CMSG_FIRSTHDR(&msg); c != NULL;
		    c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
			}
		}
		store = remove = barrier = 0;
		name[0] = '\0';
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, "READY=1") == 0)
				s->ready = 1;
			else if (strcmp(line, "FDSTORE=1") == 0)
				store = 1;
			else if (strcmp(line, "FDSTOREREMOVE=1") == 0)
				remove = 1;
			else if (strcmp(line, "BARRIER=1") == 0)
				barrier = 1;
			else if (strncmp(line, "FDNAME=", 7) == 0)
				snprintf(name, sizeof(name), "%s", line + 7);
		}
		if (remove)
			fm_remove(s, name);
		for (i = 0; i < nfds; i++) {
			if (barrier && s->hold_barrier && s->nheld < 8) {
				s->held[s->nheld++] = fds[i];
				continue;
			}
			if (store && s->n < FM_MAX) {
				s->fd[s->n] = fds[i];
				snprintf(s->name[s->n++], sizeof(s->name[0]),
				    "%s", name);
			} else
				close(fds[i]);
		}
		if (barrier)
			s->barriers++;
	}
}

/*
 * Start the daemon on conf as systemd would after a restart: the store's
 * descriptors (fds, with names) as 3... with LISTEN_FDS, LISTEN_PID and
 * LISTEN_FDNAMES; FDSTORE=fdstore when not NULL.  The notify socket is
 * ours to read (fm_pump).
 */
static struct hs_daemon *
fm_spawn(const char *conf, const int *fds, char names[][64], size_t n,
    const char *fdstore)
{
	struct hs_daemon	*d = hs_new();
	char			 env[FM_MAX * 66], num[32];
	int			 tmp[FM_MAX];
	pid_t			 pid;
	size_t			 i;
	int			 fd;

	ho_rewrite(d, conf);
	ho_notify_bind(d);
	env[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(env, i == 0 ? "" : ":");
		strcat(env, names[i]);
	}
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		for (i = 0; i < n; i++)
			if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 200)) == -1)
				_exit(125);
		for (i = 0; i < n; i++)
			if (dup2(tmp[i], 3 + (int)i) == -1)
				_exit(125);
		unsetenv("NETSVCD_HANDOVER");
		unsetenv("FDSTORE");
		if (fdstore != NULL)
			setenv("FDSTORE", fdstore, 1);
		setenv("NOTIFY_SOCKET", d->notify_path, 1);
		unsetenv("LISTEN_FDS");
		if (n > 0) {
			snprintf(num, sizeof(num), "%zu", n);
			setenv("LISTEN_FDS", num, 1);
			snprintf(num, sizeof(num), "%ld", (long)getpid());
			setenv("LISTEN_PID", num, 1);
			setenv("LISTEN_FDNAMES", env, 1);
		}
		signal(SIGPIPE, SIG_DFL);
		execl(hs_bin(), hs_bin(), "-f", "-c", d->conf_path, "-l",
		    "info", (char *)NULL);
		_exit(127);
	}
	cr_assert(pid > 0);
	d->pid = pid;
	d->running = 1;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ho_ndaemons < sizeof(ho_daemons) / sizeof(ho_daemons[0]))
		ho_daemons[ho_ndaemons++] = d;
	return d;
}

/* A connection to 127.0.0.1:port. */
static int
fm_connect(int port)
{
	struct hs_endpoint	ep;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ep.addr;

	memset(&ep, 0, sizeof(ep));
	ep.type = SOCK_STREAM;
	ep.family = AF_INET;
	ep.port = port;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep.addrlen = sizeof(*sin);
	return hs_connect_ep(&ep, ab_ms(5000));
}

/* Close the fake store's descriptors. */
static void
fm_clear(struct fm_store *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		close(s->fd[i]);
	s->n = 0;
	for (i = 0; i < s->nheld; i++)
		close(s->held[i]);
	s->nheld = 0;
}

/* How many entries of the store bear name. */
static size_t
fm_count(const struct fm_store *s, const char *name)
{
	size_t	i, k = 0;

	for (i = 0; i < s->n; i++)
		k += strcmp(s->name[i], name) == 0;
	return k;
}

/*
 * An echo daemon on a free port, [daemon] keys daemon_keys, started under
 * the fake manager with FDSTORE=64; its config in conf (for a next start)
 * and its port in *port.  Returns once it said READY=1.
 */
static struct hs_daemon *
fm_echo_start(const char *daemon_keys, char *conf, size_t len, int *port,
    struct fm_store *s)
{
	struct hs_daemon	*d;

	memset(s, 0, sizeof(*s));
	hs_free_ports(SOCK_STREAM, AF_INET, port, 1);
	snprintf(conf, len, "[daemon]\n%s\n[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:%d\n", daemon_keys, *port);
	d = fm_spawn(conf, NULL, NULL, 0, "64");
	fm_pump(d, s, 0, 10000);
	cr_assert(s->ready, "no READY=1 (log %s)", d->log_path);
	return d;
}

/*
 * Pump until the store holds what a serving daemon keeps there: its
 * listener and the state naming it (the refresh after READY=1).
 */
static void
fm_wait_serving_store(struct hs_daemon *d, struct fm_store *s)
{
	int	i;

	fm_pump(d, s, 0, 500);
	for (i = 0; i < 50 && fm_count(s, "netsvcd-handover-state") == 0;
	    i++) {
		s->ready = 0;
		fm_pump(d, s, 0, 100);
	}
	cr_assert_eq(fm_count(s, "netsvcd-handover-listener"), 1,
	    "the listener is not in the store while serving");
	cr_assert_eq(fm_count(s, "netsvcd-handover-state"), 1);
}

/*
 * A restart through the fd store, with a fake manager: the first daemon
 * keeps its listener in the store while it serves; on SIGTERM it pushes
 * the listener, an echo connection with output still pending and the
 * state; the next one, started with those as LISTEN_FDS, carries on
 * byte-exact and empties the store of what it took before pushing its
 * listener again.  SIGTERM without FDSTORE: nothing pushed.
 */
Test(handover, fdstore_restart_keeps_connection, .timeout = 120)
{
	struct fm_store		 s;
	struct hs_daemon	*d;
	char			 conf[256], buf[64];
	int			 port, fd;

	d = fm_echo_start("shutdown_timeout = 2s\n", conf, sizeof(conf), &port,
	    &s);
	fm_wait_serving_store(d, &s);

	fd = fm_connect(port);
	hs_echo(fd, "before the restart\n", ab_ms(5000));
	cr_assert_eq(kill(d->pid, SIGTERM), 0);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
	cr_assert(ab_log_has(d, "fd store: 1 listener and 1 connection kept "
	    "by systemd"), "log %s", d->log_path);
	cr_assert_gt(s.barriers, 0, "no BARRIER=1 before the exit");
	cr_assert_eq(fm_count(&s, "c"), 1);
	cr_assert_eq(fm_count(&s, "netsvcd-handover-listener"), 1);
	cr_assert_eq(fm_count(&s, "netsvcd-handover-state"), 1);
	/* Sent while no process runs: it waits in the socket. */
	cr_assert_eq(hs_send_all(fd, "between\n", 8, ab_ms(5000)), 0);

	d = fm_spawn(conf, s.fd, s.name, s.n, "64");
	fm_clear(&s);	/* the daemon has its copies; ours go */
	s.ready = 0;
	fm_pump(d, &s, 0, 10000);
	cr_assert(s.ready, "no READY=1 after the restart (log %s)",
	    d->log_path);
	cr_assert(ab_log_has(d, "(systemd fd store): listeners: 1 adopted, "
	    "0 closed; connections: 1 handed over, 0 drained, 0 closed"),
	    "log %s", d->log_path);
	cr_assert_eq(hs_recv_n(fd, buf, 8, ab_ms(5000)), 8);
	cr_assert_eq(memcmp(buf, "between\n", 8), 0);
	hs_echo(fd, "after the restart\n", ab_ms(5000));
	cr_assert_gt(s.removes, 0, "the taken entries stay in the store");
	close(fd);
	fm_clear(&s);
	cr_assert_eq(kill(d->pid, SIGTERM), 0);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
	cr_assert(ab_log_has(d, "fd store: 1 listener and 0 connections "
	    "kept"), "log %s", d->log_path);
	fm_clear(&s);
	/* SIGTERM without a store behind it (FDSTORE unset): a plain stop. */
	d = fm_spawn(conf, NULL, NULL, 0, NULL);
	s.ready = 0;
	fm_pump(d, &s, 0, 10000);
	cr_assert(s.ready);
	fd = fm_connect(port);
	hs_echo(fd, "plain\n", ab_ms(5000));
	cr_assert_eq(kill(d->pid, SIGTERM), 0);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(s.n, 0, "pushed %zu descriptors without FDSTORE", s.n);
	cr_assert(!ab_log_has(d, "fd store:"));
	close(fd);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
}

/*
 * Connections used to be stored as "netsvcd-handover-conn" (now "c": the
 * names come back in one environment string, which the kernel caps at
 * 128 KiB): a store filled by an older netsvcd is still taken over, and
 * its entries removed from the store.
 */
Test(handover, fdstore_former_conn_name, .timeout = 120)
{
	struct fm_store		 s;
	struct hs_daemon	*d;
	char			 conf[256];
	size_t			 i;
	int			 port, fd;

	d = fm_echo_start("shutdown_timeout = 2s\n", conf, sizeof(conf), &port,
	    &s);
	fd = fm_connect(port);
	hs_echo(fd, "before\n", ab_ms(5000));
	cr_assert_eq(kill(d->pid, SIGTERM), 0);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
	cr_assert_eq(fm_count(&s, "c"), 1);
	for (i = 0; i < s.n; i++) {
		if (strcmp(s.name[i], "c") == 0)
			snprintf(s.name[i], sizeof(s.name[i]),
			    "netsvcd-handover-conn");
	}
	d = fm_spawn(conf, s.fd, s.name, s.n, "64");
	s.ready = 0;
	fm_pump(d, &s, 0, 10000);
	cr_assert(s.ready, "no READY=1 (log %s)", d->log_path);
	cr_assert(ab_log_has(d, "connections: 1 handed over"), "log %s",
	    d->log_path);
	hs_echo(fd, "after\n", ab_ms(5000));
	s.ready = 0;
	fm_pump(d, &s, 0, 300);
	cr_assert_eq(fm_count(&s, "netsvcd-handover-conn"), 0, "the former "
	    "entry stays in the store, and with it the connection");
	close(fd);
	fm_clear(&s);
}

/*
 * drain_delay under the fd store: on SIGTERM the daemon first goes on
 * serving for drain_delay (a balancer's /ready says 503), a connection
 * made meanwhile is served by it, and only then does everything go into
 * the store, that connection too.
 */
Test(handover, fdstore_drains_first, .timeout = 120)
{
	struct fm_store		 s;
	struct hs_daemon	*d;
	char			 conf[256];
	int			 port, fd, late;

	d = fm_echo_start("drain_delay = 1500ms\nshutdown_timeout = 2s\n", conf,
	    sizeof(conf), &port, &s);
	fd = fm_connect(port);
	hs_echo(fd, "before the stop\n", ab_ms(5000));
	cr_assert_eq(kill(d->pid, SIGTERM), 0);
	cr_assert(hs_log_wait(d, "draining: /ready answers 503", ab_ms(5000)),
	    "no drain under the store (log %s)", d->log_path);
	late = fm_connect(port);
	hs_echo(late, "while draining\n", ab_ms(5000));
	cr_assert(!ab_log_has(d, "for the next start"), "pushed to the store "
	    "before drain_delay was over (log %s)", d->log_path);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
	cr_assert(ab_log_has(d, "fd store: 1 listener and 2 connections kept "
	    "by systemd"), "log %s", d->log_path);
	cr_assert_eq(fm_count(&s, "c"), 2);
	fm_clear(&s);
	close(fd);
	close(late);
}

/*
 * SIGINT under the store, what "netsvcd -s stop" sends when systemd stops
 * the unit for good (and then closes the store): nothing goes into the
 * store, the listener is taken out of it, so the port refuses at once
 * rather than queue clients, and an open connection is served here until
 * it ends.
 */
Test(handover, fdstore_sigint_stops_here, .timeout = 120)
{
	struct fm_store		 s;
	struct hs_daemon	*d;
	char			 conf[256];
	int			 port, fd, late;

	d = fm_echo_start("shutdown_timeout = 10s\n", conf, sizeof(conf),
	    &port, &s);
	fm_wait_serving_store(d, &s);
	fd = fm_connect(port);
	hs_echo(fd, "before the stop\n", ab_ms(5000));
	cr_assert_eq(kill(d->pid, SIGINT), 0);
	cr_assert(hs_log_wait(d, "stopping: waiting up to", ab_ms(5000)),
	    "no graceful stop (log %s)", d->log_path);
	s.ready = 0;
	fm_pump(d, &s, 0, 300);
	cr_assert_eq(s.n, 0, "%zu entries left in the store at a stop (%zu "
	    "listener)", s.n, fm_count(&s, "netsvcd-handover-listener"));
	late = fm_connect(port);
	cr_assert(late == -1 && errno == ECONNREFUSED, "the port still "
	    "takes connections during the stop (log %s)", d->log_path);
	hs_echo(fd, "during the stop\n", ab_ms(5000));
	close(fd);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
	cr_assert(!ab_log_has(d, "for the next start"), "log %s",
	    d->log_path);
	fm_clear(&s);
}

/*
 * Start on the store entries fds/names (no FDSTORE) and wait for READY=1;
 * close_fd (or -1) is closed here once the daemon has its copy, so that
 * only the daemon holds that socket.
 */
static struct hs_daemon *
fm_start(const char *conf, const int *fds, char names[][64], size_t n,
    int close_fd)
{
	struct fm_store		 s;
	struct hs_daemon	*d;

	memset(&s, 0, sizeof(s));
	d = fm_spawn(conf, fds, names, n, NULL);
	if (close_fd != -1)
		close(close_fd);
	fm_pump(d, &s, 0, 10000);
	cr_assert(s.ready, "no READY=1 after a hostile store (log %s)",
	    d->log_path);
	return d;
}

/*
 * Hostile fd store entries (LISTEN_FDNAMES that lie, a socket that is not
 * the one its record names, a bad or doubled state memfd, a connection no
 * record describes, a socket of netsvcd.socket beside the store): each is
 * closed and logged, the daemon starts and serves its config afresh.
 */
Test(handover, fdstore_hostile_entries_rejected, .timeout = 180)
{
	unsigned char	 b[512];
	char		 conf[256], names[4][64];
	struct hs_daemon *d;
	size_t		 len;
	int		 port, fport, lfd, mfd, mfd2, cfd, afd, fds[4];

	/* A listener named as a connection: it is neither. */
	ho_echo_conf(conf, sizeof(conf), &port);
	lfd = ho_listen_on(port);
	len = ho_forge(b, 1, 3, port);
	mfd = ho_memfd(b, len, SEALS);
	fds[0] = lfd;
	fds[1] = mfd;
	snprintf(names[0], 64, "netsvcd-handover-conn");
	snprintf(names[1], 64, "netsvcd-handover-state");
	d = fm_start(conf, fds, names, 2, lfd);	/* the port is its */
	cr_assert(ab_log_has(d, "(a connection entry) matches no record of "
	    "the state; closed"), "log %s", d->log_path);
	cr_assert(ab_log_has(d, "listeners: 0 adopted, 1 closed"));
	ho_serves(port);
	hs_stop_ok(d);
	close(mfd);

	/* A listener entry bound elsewhere than its record says. */
	ho_echo_conf(conf, sizeof(conf), &port);
	lfd = ho_listener(&fport);
	len = ho_forge(b, 1, 3, port);
	mfd = ho_memfd(b, len, SEALS);
	fds[0] = mfd;
	fds[1] = lfd;
	snprintf(names[0], 64, "netsvcd-handover-state");
	snprintf(names[1], 64, "netsvcd-handover-listener");
	d = fm_start(conf, fds, names, 2, -1);
	cr_assert(ab_log_has(d, "(a listener entry) matches no record of "
	    "the state; closed"), "log %s", d->log_path);
	cr_assert(!ho_has_sock(d, lfd), "the mismatched socket is open");
	ho_serves(port);
	hs_stop_ok(d);
	close(mfd);
	close(lfd);

	/* An unsealed state: nothing of the store is used. */
	ho_echo_conf(conf, sizeof(conf), &port);
	lfd = ho_listener(&fport);
	len = ho_forge(b, 1, 3, fport);
	mfd = ho_memfd(b, len, 0);
	fds[0] = mfd;
	fds[1] = lfd;
	d = fm_start(conf, fds, names, 2, -1);
	cr_assert(ab_log_has(d, "fd store: state rejected: "), "log %s",
	    d->log_path);
	cr_assert(ab_log_has(d, "memfd not sealed"));
	cr_assert(ab_log_has(d, "closing its 2 entries, starting afresh"));
	cr_assert(!ho_has_sock(d, lfd));
	ho_serves(port);
	hs_stop_ok(d);
	close(mfd);

	/* Two states, and a connection that no record describes. */
	len = ho_forge(b, 1, 3, fport);
	mfd = ho_memfd(b, len, SEALS);
	mfd2 = ho_memfd(b, len, SEALS);
	cfd = fm_connect(fport);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(afd != -1);
	fds[0] = mfd;
	fds[1] = mfd2;
	fds[2] = afd;
	snprintf(names[1], 64, "netsvcd-handover-state");
	snprintf(names[2], 64, "netsvcd-handover-conn");
	d = fm_start(conf, fds, names, 3, afd);
	cr_assert(ab_log_has(d, "fd store: 2 state descriptors, not one; "
	    "closing its 3 entries"), "log %s", d->log_path);
	cr_assert_eq(hs_wait_closed(cfd, ab_ms(5000)), 0,
	    "the stray connection was not closed");
	hs_stop_ok(d);
	close(cfd);
	close(mfd);
	close(mfd2);

	/* One state, the connection entry without a record: closed too. */
	mfd = ho_memfd(b, len, SEALS);
	cfd = fm_connect(fport);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(afd != -1);
	fds[0] = mfd;
	fds[1] = afd;
	snprintf(names[1], 64, "netsvcd-handover-conn");
	d = fm_start(conf, fds, names, 2, afd);
	cr_assert(ab_log_has(d, "(a connection entry) matches no record of "
	    "the state; closed"), "log %s", d->log_path);
	cr_assert_eq(hs_wait_closed(cfd, ab_ms(5000)), 0);
	hs_stop_ok(d);
	close(cfd);
	close(mfd);
	close(lfd);

	/*
	 * netsvcd.socket's socket beside the store: taken as activated (its
	 * own name), not as a store entry, and the start does not fail.
	 */
	ho_echo_conf(conf, sizeof(conf), &port);
	afd = ho_listen_on(port);
	lfd = ho_listener(&fport);
	len = ho_forge(b, 1, 3, fport);
	mfd = ho_memfd(b, len, SEALS);
	fds[0] = afd;
	fds[1] = mfd;
	fds[2] = lfd;
	snprintf(names[0], 64, "netsvcd.socket");
	snprintf(names[1], 64, "netsvcd-handover-state");
	snprintf(names[2], 64, "netsvcd-handover-listener");
	d = fm_start(conf, fds, names, 3, -1);
	cr_assert(ho_has_sock(d, afd), "the socket unit's socket is not used");
	cr_assert(!ho_has_sock(d, lfd), "a store listener of no endpoint is "
	    "still open");
	cr_assert(ab_log_has(d, "no endpoint here for its listener; closing "
	    "it"), "log %s", d->log_path);
	ho_serves(port);
	hs_stop_ok(d);
	close(afd);
	close(lfd);
	close(mfd);
}

/*
 * A manager that never confirms the push (BARRIER=1 unanswered): the
 * daemon takes the entries back out of the store and stops as usual, so
 * its connection drains here and nothing is served twice.
 */
Test(handover, fdstore_unconfirmed_push_drains, .timeout = 120)
{
	struct fm_store		 s;
	struct hs_daemon	*d;
	char			 conf[256];
	int			 port, fd, i;

	d = fm_echo_start("shutdown_timeout = 5s\n", conf, sizeof(conf), &port,
	    &s);
	fd = fm_connect(port);
	hs_echo(fd, "before\n", ab_ms(5000));
	s.hold_barrier = 1;
	cr_assert_eq(kill(d->pid, SIGTERM), 0);
	for (i = 0; i < 200 && !ab_log_has(d, "fd store: connections not "
	    "stored; stopping as usual"); i++) {
		s.ready = 0;
		fm_pump(d, &s, 0, 50);
	}
	cr_assert(ab_log_has(d, "fd store: connections not stored"),
	    "log %s", d->log_path);
	s.ready = 0;
	fm_pump(d, &s, 0, 200);	/* the FDSTOREREMOVE=1 that follow */
	cr_assert_eq(fm_count(&s, "c"), 0,
	    "a connection stays in the store after a failed push");
	cr_assert_eq(fm_count(&s, "netsvcd-handover-state"), 0);
	/* Still served by this process while it drains. */
	hs_echo(fd, "during the drain\n", ab_ms(5000));
	close(fd);
	fm_pump(d, &s, 1, 15000);
	cr_assert_eq(hs_wait_exit(d, ab_ms(5000)), 0);
	fm_clear(&s);
}
