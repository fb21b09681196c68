/*
 * test-fdlimit.c: descriptor exhaustion.  The daemon runs with a hard
 * RLIMIT_NOFILE of 64, as after "ulimit -n 64" (it raises its soft limit to
 * the hard one at start, so the hard one is what counts), and 200 clients
 * connect at once.  It must not spin on EMFILE: it logs "out of file
 * descriptors", pauses accepting, uses little CPU, keeps serving the
 * connections it has, and serves new clients once descriptors are free.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define FD_LIMIT	64
#define FD_CLIENTS	200
#define FD_CPU_MS	300		/* CPU allowed in the 2 s window */

static long	fd_daemon_limit(struct hs_daemon *);

TestSuite(fdlimit, .fini = hs_teardown);

/* The daemon's "Max open files" hard limit, or -1. */
static long
fd_daemon_limit(struct hs_daemon *d)
{
	char		 path[64], line[256];
	FILE		*f;
	long		 soft = -1, hard = -1;
	unsigned int	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)d->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL && n++ < 100)
		if (strncmp(line, "Max open files", 14) == 0 &&
		    sscanf(line + 14, "%ld %ld", &soft, &hard) == 2)
			break;
	fclose(f);
	return hard;
}

/*
 * Case 7.  RLIMIT_NOFILE 64 and 200 clients: no busy loop, the shortage is
 * logged, the clients the daemon holds are served, and after they all
 * close a new client is served.
 */
Test(fdlimit, nofile_64_and_200_clients, .timeout = 90)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "max_connections = 1000\n"
	    "shutdown_timeout = 2s\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n"
	    "backlog = 512\n";
	static int		 fds[FD_CLIENTS];
	const struct hs_endpoint *ep;
	struct hs_daemon	*d;
	const char		*old;
	char			*saved = NULL, wrapper[1200], buf[16];
	long			 limit, cpu0, cpu1;
	unsigned int		 attempt, rounds;
	size_t			 i, served = 0, closed = 0;
	enum ab_fate		 f;
	int64_t			 deadline;
	ssize_t			 n;
	int			 base;

	ab_nofile(FD_CLIENTS + 256);
	/* "prlimit --nofile=64:64 netsvcd ...", keeping any other wrapper. */
	old = getenv("NETSVCD_WRAPPER");
	if (old != NULL && (saved = strdup(old)) == NULL)
		cr_assert_fail("out of memory");
	snprintf(wrapper, sizeof(wrapper), "prlimit --nofile=%d:%d %s",
	    FD_LIMIT, FD_LIMIT, saved != NULL ? saved : "");
	setenv("NETSVCD_WRAPPER", wrapper, 1);
	d = hs_spawn(conf);
	if (saved != NULL)
		setenv("NETSVCD_WRAPPER", saved, 1);
	else
		unsetenv("NETSVCD_WRAPPER");
	free(saved);

	limit = fd_daemon_limit(d);
	cr_assert(limit == FD_LIMIT, "the daemon's hard RLIMIT_NOFILE is %ld, "
	    "not %d", limit, FD_LIMIT);
	/* max_connections = 1000 cannot be reached: said at start. */
	cr_assert(ab_log_has(d, "max_connections = 1000 needs about"),
	    "no warning that RLIMIT_NOFILE %d is below max_connections",
	    FD_LIMIT);
	ep = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	(void)ab_probe(d, "echo", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	cr_log_info("daemon with RLIMIT_NOFILE %ld: %d descriptors at rest",
	    limit, base);

	for (i = 0; i < FD_CLIENTS; i++) {
		fds[i] = ab_tcp_start(ep, NULL);
		cr_assert(fds[i] != -1, "client %zu: %s", i, strerror(errno));
	}
	deadline = hs_now_ms() + ab_ms(5000);
	for (rounds = 0; rounds < 1000 && !ab_log_has(d, "out of file "
	    "descriptors"); rounds++) {
		cr_assert(hs_now_ms() < deadline, "no \"out of file "
		    "descriptors\" in the log with %d clients and "
		    "RLIMIT_NOFILE %d", FD_CLIENTS, FD_LIMIT);
		ab_pause_ms(20);
	}

	/* A 2 s window with the backlog full of clients it cannot take. */
	cpu0 = hs_cpu_ms(d);
	ab_pause_ms(2000);
	cpu1 = hs_cpu_ms(d);
	cr_log_info("out of descriptors with %d clients waiting: %ld ms of "
	    "CPU in 2 s", FD_CLIENTS, cpu1 - cpu0);
	cr_assert(cpu0 >= 0 && cpu1 - cpu0 < ab_ms(FD_CPU_MS), "the daemon "
	    "used %ld ms of CPU in 2 s while out of descriptors: a busy "
	    "loop?", cpu1 - cpu0);

	/* The connections it holds are served. */
	for (i = 0; i < FD_CLIENTS; i++)
		(void)send(fds[i], "ping", 4, MSG_NOSIGNAL);
	ab_pause_ms(ab_ms(500));
	for (i = 0; i < FD_CLIENTS; i++) {
		n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 4 && memcmp(buf, "ping", 4) == 0)
			served++;
		else if (n == 0 || (n == -1 && errno == ECONNRESET))
			closed++;
	}
	cr_log_info("%zu clients served, %zu closed, %zu still waiting",
	    served, closed, FD_CLIENTS - served - closed);
	cr_assert(served >= FD_LIMIT / 2 && served < FD_LIMIT, "%zu clients "
	    "served with RLIMIT_NOFILE %d (expected the daemon's spare "
	    "descriptors' worth)", served, FD_LIMIT);

	/* All leave; the daemon recovers and serves a new client. */
	for (i = 0; i < FD_CLIENTS; i++)
		hs_close(fds[i]);
	deadline = hs_now_ms() + ab_ms(10000);
	for (attempt = 0; attempt < 200; attempt++) {
		f = AB_HUNG;
		if ((fds[0] = ab_tcp_start(ep, NULL)) != -1 &&
		    ab_tcp_wait(fds[0], ab_ms(1000)) == 0)
			f = ab_echo_fate(fds[0], "back\r\n", ab_ms(1000));
		hs_close(fds[0]);
		if (f == AB_SERVED || hs_now_ms() >= deadline)
			break;
		ab_pause_ms(100);
	}
	cr_assert(f == AB_SERVED, "no new client served within 10 s after "
	    "the %d clients closed (last: %s)", FD_CLIENTS, ab_fate_name(f));
	ab_wait_nfds(d, base, ab_ms(5000), "descriptor exhaustion");
	(void)ab_probe(d, "echo", AF_INET, NULL, ab_ms(2000));
	hs_stop_ok(d);
}
