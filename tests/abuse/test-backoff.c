/*
 * test-backoff.c: limits that used to fail open, spin or go uncounted.
 * Sequential clients under max_per_source = 1 are never refused; a reload
 * that raises max_connections past the source table grows it, so
 * per-source limits still apply; a UDP batch that cannot be allocated
 * backs off instead of spinning, and recovers; EMFILE pauses and
 * max_bytes closes are counted (metrics and SIGUSR1) and logged at most
 * once a second.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define NSEQ		(AB_SANITIZED ? 150 : 400)
#define NSOURCES	100

static long	bk_status_kib(pid_t, const char *key);
static int	bk_count(const char *text, const char *needle);

TestSuite(backoff, .fini = hs_teardown);

/* A "Key:   N kB" line of /proc/PID/status, or -1. */
static long
bk_status_kib(pid_t pid, const char *key)
{
	char	path[64], line[256];
	FILE	*f;
	long	v = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, strlen(key)) == 0 &&
		    line[strlen(key)] == ':') {
			v = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Occurrences of needle in text. */
static int
bk_count(const char *text, const char *needle)
{
	int	n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text++;
	}
	return n;
}

/*
 * Item 11: with max_per_source = 1 and an instance cap of 1, strictly
 * sequential clients (each reads to the server's EOF before the next
 * connects) are never refused: the slot is free once the client sees the
 * close, not when the reaper runs.
 */
Test(backoff, sequential_never_refused, .timeout = 180)
{
	struct hs_daemon	*d;
	char			 buf[256];
	ssize_t			 n;
	long			 refused;
	int			 i, fd, served = 0;

	d = hs_spawn("[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[daytime]\nservice = daytime\nlisten = tcp://127.0.0.1:0\n"
	    "max_per_source = 1\nmax_connections = 1\n");
	for (i = 0; i < NSEQ; i++) {
		fd = hs_connect(d, "daytime", SOCK_STREAM, AF_INET);
		n = hs_read_eof(fd, buf, sizeof(buf), ab_ms(5000));
		if (n > 2)
			served++;
		hs_close(fd);
	}
	refused = ab_metric(d, "netsvcd_connections_refused_total",
	    "daytime", "source") + ab_metric(d,
	    "netsvcd_connections_refused_total", "daytime", "limit");
	cr_assert(refused == 0 && served == NSEQ, "%d sequential clients: "
	    "%d served, %ld refused", NSEQ, served, refused);
	hs_stop_ok(d);
}

/*
 * Item 4: a reload raises max_connections from 4 to 200, past the source
 * table made for 4 (max_sources = 64, so 68 entries); 100 sources then
 * hold a connection each and a second one from any of them is still
 * refused by max_per_source = 1.  Nothing failed open.
 */
Test(backoff, source_table_grows, .timeout = 180)
{
	struct hs_daemon		*d;
	const struct hs_endpoint	*ep;
	char				 conf[512], src[32];
	int				 fds[NSOURCES], port, i;
	enum ab_fate			 f;

	ab_nofile(1024);
	hs_free_ports(SOCK_STREAM, AF_INET, &port, 1);
	snprintf(conf, sizeof(conf), "[daemon]\nworkers = 1\n"
	    "max_connections = 4\nmax_sources = 64\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:%d\n"
	    "max_per_source = 1\n", port);
	d = hs_spawn(conf);
	snprintf(conf, sizeof(conf), "[daemon]\nworkers = 1\n"
	    "max_connections = 200\nmax_sources = 64\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:%d\n"
	    "max_per_source = 1\n", port);
	hs_reload(d, conf);
	ep = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	for (i = 0; i < NSOURCES; i++) {
		snprintf(src, sizeof(src), "127.0.1.%d", i + 1);
		fds[i] = ab_tcp(ep, src);
		f = ab_echo_fate(fds[i], "x", ab_ms(5000));
		cr_assert(f == AB_SERVED, "source %s: %s", src,
		    ab_fate_name(f));
	}
	for (i = NSOURCES - 1; i >= NSOURCES - 20; i--) {
		snprintf(src, sizeof(src), "127.0.1.%d", i + 1);
		f = ab_fate_once(ep, src, "y", ab_ms(5000));
		cr_assert(f == AB_CLOSED, "a 2nd connection from %s with "
		    "max_per_source = 1 was %s: the source table failed open",
		    src, ab_fate_name(f));
	}
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"source_table\"}") == 0);
	for (i = 0; i < NSOURCES; i++)
		hs_close(fds[i]);
	hs_stop_ok(d);
}

/*
 * Item 5: the UDP batch buffers (2 MiB) cannot be allocated: an address
 * space limit put on the running daemon with prlimit(2) makes the
 * allocation fail.  The daemon must not spin on the readable socket: its
 * CPU time over 2 s of pending datagrams stays near idle, the failure is
 * counted and logged at most about once a second; with the limit lifted
 * it answers again.
 */
Test(backoff, udp_alloc_failure, .timeout = 120)
{
	struct hs_daemon	*d;
	struct rlimit		 rl = { RLIM_INFINITY, RLIM_INFINITY };
	const char		*asan = getenv("ASAN_OPTIONS");
	char			 opts[512], buf[64], *log;
	long			 vm, cpu0, cpu1;
	ssize_t			 n;
	int			 fd, i, lines;

	/* The sanitizer's allocator must return NULL, not abort. */
	snprintf(opts, sizeof(opts), "%s%sallocator_may_return_null=1",
	    asan != NULL ? asan : "", asan != NULL && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	d = hs_spawn("[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = udp://127.0.0.1:0\n");
	vm = bk_status_kib(d->pid, "VmSize");
	cr_assert(vm > 0);
	rl.rlim_cur = (rlim_t)(vm + 512) * 1024;
	cr_assert(prlimit(d->pid, RLIMIT_AS, &rl, NULL) == 0, "prlimit: %s",
	    strerror(errno));
	fd = hs_connect(d, "echo", SOCK_DGRAM, AF_INET);
	for (i = 0; i < 20; i++)
		send(fd, "x", 1, 0);
	ab_pause_ms(300);
	cpu0 = hs_cpu_ms(d);
	ab_pause_ms(2000);
	cpu1 = hs_cpu_ms(d);
	cr_assert(cpu1 - cpu0 < 400, "the daemon used %ld ms of CPU in 2 s "
	    "with its UDP buffers unallocatable: it spins", cpu1 - cpu0);
	rl.rlim_cur = RLIM_INFINITY;
	cr_assert(prlimit(d->pid, RLIMIT_AS, &rl, NULL) == 0);
	/* Drain what was queued, then ask again: served after the back-off. */
	while (hs_udp_recv(fd, buf, sizeof(buf), ab_ms(3000)) >= 0)
		;
	n = hs_udp_ask(fd, "back", 4, buf, sizeof(buf), ab_ms(5000));
	cr_assert(n == 4 && memcmp(buf, "back", 4) == 0, "no echo once "
	    "memory is back");
	hs_close(fd);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"udp_nomem\"}") >= 1);
	log = hs_log(d);
	lines = bk_count(log, "no memory for UDP buffers");
	free(log);
	cr_assert(lines >= 1 && lines <= 5, "%d log lines about UDP "
	    "buffers in about 3 s: not rate-limited", lines);
	hs_stop_ok(d);
}

/*
 * Item 6: max_bytes closes and EMFILE pauses are counted in the metrics
 * and in the SIGUSR1 dump.
 */
Test(backoff, limits_counted, .timeout = 120)
{
	struct hs_daemon		*d;
	const struct hs_endpoint	*ep;
	struct rlimit			 rl;
	static char			 big[4096];
	int				 fd, fds[16], i, nfds;
	char				*log;

	d = hs_spawn("[daemon]\nworkers = 1\n"
	    "metrics_listen = tcp://127.0.0.1:0\n\n"
	    "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n"
	    "max_bytes = 1000\n");
	ep = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_send_all(fd, big, sizeof(big), ab_ms(2000));
	cr_assert(hs_wait_closed(fd, ab_ms(5000)) == 0);
	hs_close(fd);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"max_bytes\"}") == 1);

	/* A few descriptors to spare, then more clients than that. */
	nfds = hs_nfds(d);
	rl.rlim_cur = rl.rlim_max = (rlim_t)nfds + 2;
	cr_assert(prlimit(d->pid, RLIMIT_NOFILE, &rl, NULL) == 0);
	for (i = 0; i < 16; i++)
		fds[i] = ab_tcp_start(ep, NULL);
	ab_pause_ms(500);
	for (i = 0; i < 16; i++)
		hs_close(fds[i]);
	rl.rlim_cur = rl.rlim_max = 4096;
	prlimit(d->pid, RLIMIT_NOFILE, &rl, NULL);
	ab_pause_ms(300);
	cr_assert(hs_scrape(hs_metrics_port(d), "netsvcd_limit_hits_total"
	    "{limit=\"emfile\"}") >= 1);
	hs_signal(d, SIGUSR1);
	ab_pause_ms(300);
	log = hs_log(d);
	cr_assert(strstr(log, "status: limit hits: emfile ") != NULL &&
	    strstr(log, " max_bytes 1") != NULL, "no limits in the "
	    "SIGUSR1 dump");
	free(log);
	hs_stop_ok(d);
}
