/*
 * test-udp.c: every service over UDP on 127.0.0.1 and ::1, against the
 * services fixture of harness.c: echo from 0 to 65507 bytes, many
 * datagrams and many senders, discard's silence, chargen's 0..512 bytes,
 * daytime, time, qotd and the banners.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define UDP_TMO		3000		/* ms to wait for one reply */
#define UDP_MAX		65507		/* largest UDP payload over IPv4 */
#define UDP_MAX6	65527		/* and over IPv6 */
#define NSENDERS	20
/*
 * chargen queries per family: netsvcd lets a source have 200 replies larger
 * than their query in a burst (udp_amplify_burst), then 50 a second.
 */
#define UDP_NCHARGEN	40

static const int families[] = { AF_INET, AF_INET6 };
#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

static void	 udp_echo_probe(struct hs_daemon *, int);

TestSuite(udp, .fini = hs_teardown);

/* One small echo datagram, to show the daemon still answers. */
static void
udp_echo_probe(struct hs_daemon *d, int family)
{
	static const char	 probe[] = "probe";
	char			 buf[64];
	ssize_t			 n;
	int			 fd;

	fd = hs_connect(d, "echo", SOCK_DGRAM, family);
	n = hs_udp_ask(fd, probe, 5, buf, sizeof(buf), hs_ms(UDP_TMO));
	cr_assert(n == 5 && memcmp(buf, probe, 5) == 0, "udp echo %s: no "
	    "answer to a probe (%s)", hs_family_name(family),
	    n < 0 ? strerror(errno) : hs_show(buf, (size_t)n));
	hs_close(fd);
}

/*
 * echo: each size comes back unchanged, including 0 bytes and the largest
 * payload of each family (65507 bytes over IPv4, 65527 over IPv6).
 */
Test(udp, echo_sizes, .timeout = 60)
{
	static const size_t	 sizes[] = { 0, 1, 512, 1472, 8192, 65000,
				    UDP_MAX, UDP_MAX6 };
	struct hs_daemon	*d = hs_spawn_services();
	static unsigned char	 out[UDP_MAX6], in[UDP_MAX6 + 1];
	ssize_t			 n;
	size_t			 i, k;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "echo", SOCK_DGRAM, families[i]);
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			if (sizes[k] > UDP_MAX && families[i] == AF_INET)
				continue;
			hs_pattern(out, sizes[k], 65 + k, 0);
			n = hs_udp_ask(fd, out, sizes[k], in, sizeof(in),
			    hs_ms(UDP_TMO));
			cr_assert(n >= 0, "udp echo %s: no reply to %zu bytes: "
			    "%s", hs_family_name(families[i]), sizes[k],
			    strerror(errno));
			cr_assert(n == (ssize_t)sizes[k] &&
			    memcmp(out, in, sizes[k]) == 0, "udp echo %s: "
			    "sent %zu bytes, got %zd different bytes",
			    hs_family_name(families[i]), sizes[k], n);
		}
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* echo: a burst of datagrams, all answered, each to its sender. */
Test(udp, echo_burst_and_senders, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn_services();
	int			 fds[NSENDERS];
	unsigned char		 got[NSENDERS][100];
	char			 msg[32], buf[64];
	unsigned int		 a, b, rounds;
	ssize_t			 n;
	size_t			 i, k, total;

	memset(got, 0, sizeof(got));
	for (i = 0; i < NSENDERS; i++)
		fds[i] = hs_connect(d, "echo", SOCK_DGRAM,
		    families[i % NFAMILIES]);
	/* 5 datagrams from each of 20 sockets, sent before any is read. */
	for (k = 0; k < 5; k++)
		for (i = 0; i < NSENDERS; i++) {
			n = snprintf(msg, sizeof(msg), "%zu/%zu", i, k);
			cr_assert(send(fds[i], msg, (size_t)n, 0) == n,
			    "send: %s", strerror(errno));
		}
	for (i = 0, total = 0; i < NSENDERS; i++) {
		for (rounds = 0; rounds < 5; rounds++) {
			n = hs_udp_recv(fds[i], buf, sizeof(buf) - 1,
			    hs_ms(UDP_TMO));
			cr_assert(n >= 0 && n < (ssize_t)sizeof(buf),
			    "udp sender %zu: reply %u missing: %s", i, rounds,
			    strerror(errno));
			buf[n] = '\0';
			cr_assert(sscanf(buf, "%u/%u", &a, &b) == 2 && a == i &&
			    b < 5, "udp sender %zu got %s: not its own", i,
			    hs_show(buf, (size_t)n));
			cr_assert(!got[i][b], "udp sender %zu got %s twice", i,
			    buf);
			got[i][b] = 1;
			total++;
		}
		hs_close(fds[i]);
	}
	cr_assert(total == 5 * NSENDERS, "udp echo: %zu of %d datagrams came "
	    "back", total, 5 * NSENDERS);
	hs_stop_ok(d);
}

/* discard: never a reply, and the daemon keeps answering others. */
Test(udp, discard_silent, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	static const char	 msg[] = "into the void";
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "discard", SOCK_DGRAM, families[i]);
		cr_assert(send(fd, msg, strlen(msg), 0) ==
		    (ssize_t)strlen(msg), "send: %s", strerror(errno));
		cr_assert(send(fd, msg, 0, 0) == 0, "send: %s",
		    strerror(errno));
		cr_assert(hs_udp_silent(fd, 300), "udp discard %s replied",
		    hs_family_name(families[i]));
		hs_close(fd);
		udp_echo_probe(d, families[i]);
	}
	hs_stop_ok(d);
}

/* chargen: each reply is 0..512 bytes of the pattern, of varied length. */
Test(udp, chargen, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[2048];
	const char		*why;
	ssize_t			 n, first = -1;
	size_t			 i, k;
	int			 fd, varied = 0;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "chargen", SOCK_DGRAM, families[i]);
		for (k = 0; k < UDP_NCHARGEN; k++) {
			n = hs_udp_ask(fd, "x", 1, buf, sizeof(buf),
			    hs_ms(UDP_TMO));
			cr_assert(n >= 0, "udp chargen %s: no reply: %s",
			    hs_family_name(families[i]), strerror(errno));
			cr_assert(n <= 512, "udp chargen %s: %zd bytes, more "
			    "than 512", hs_family_name(families[i]), n);
			why = hs_check_chargen_run(buf, (size_t)n);
			cr_assert(why == NULL, "udp chargen %s: %s: %s",
			    hs_family_name(families[i]), why,
			    hs_show(buf, (size_t)n));
			if (first == -1)
				first = n;
			else if (n != first)
				varied = 1;
		}
		hs_close(fd);
	}
	cr_assert(varied, "udp chargen: %d replies all of %zd bytes; RFC 864 "
	    "asks for a random length", 2 * UDP_NCHARGEN, first);
	hs_stop_ok(d);
}

/* daytime: one datagram with the line. */
Test(udp, daytime, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[512];
	const char		*why;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "daytime", SOCK_DGRAM, families[i]);
		n = hs_udp_ask(fd, "", 0, buf, sizeof(buf), hs_ms(UDP_TMO));
		cr_assert(n >= 0, "udp daytime %s: no reply: %s",
		    hs_family_name(families[i]), strerror(errno));
		why = hs_check_daytime(buf, (size_t)n);
		cr_assert(why == NULL, "udp daytime %s: %s: %s",
		    hs_family_name(families[i]), why,
		    hs_show(buf, (size_t)n));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* time: one 4-byte datagram, even in answer to an empty one (RFC 868). */
Test(udp, time, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	unsigned char		 buf[64];
	const char		*why;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "time", SOCK_DGRAM, families[i]);
		n = hs_udp_ask(fd, "", 0, buf, sizeof(buf), hs_ms(UDP_TMO));
		cr_assert(n >= 0, "udp time %s: no reply: %s",
		    hs_family_name(families[i]), strerror(errno));
		why = hs_check_time(buf, (size_t)n);
		cr_assert(why == NULL, "udp time %s: %s: %s",
		    hs_family_name(families[i]), why,
		    hs_show(buf, (size_t)n));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* qotd: one datagram holding a quote of the file. */
Test(udp, qotd, .timeout = 30)
{
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[2048];
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	for (i = 0; i < NFAMILIES; i++) {
		fd = hs_connect(d, "qotd", SOCK_DGRAM, families[i]);
		n = hs_udp_ask(fd, "", 0, buf, sizeof(buf), hs_ms(UDP_TMO));
		cr_assert(n >= 0, "udp qotd %s: no reply: %s",
		    hs_family_name(families[i]), strerror(errno));
		cr_assert(n > 0 && n <= 512 &&
		    hs_quote_index(buf, (size_t)n) >= 0, "udp qotd %s: %s is "
		    "not a quote of the file", hs_family_name(families[i]),
		    hs_show(buf, (size_t)n));
		hs_close(fd);
	}
	hs_stop_ok(d);
}

/* banner: the reply is the message, byte for byte. */
Test(udp, banner, .timeout = 30)
{
	const struct hs_banner	*cases = hs_banners;
	struct hs_daemon	*d = hs_spawn_services();
	char			 buf[1024];
	ssize_t			 n;
	size_t			 i, k, len;
	int			 fd;

	for (k = 0; k < HS_NBANNERS; k++) {
		len = strlen(cases[k].bytes);
		for (i = 0; i < NFAMILIES; i++) {
			fd = hs_connect(d, cases[k].instance, SOCK_DGRAM,
			    families[i]);
			n = hs_udp_ask(fd, "hi", 2, buf, sizeof(buf),
			    hs_ms(UDP_TMO));
			cr_assert(n == (ssize_t)len &&
			    memcmp(buf, cases[k].bytes, len) == 0,
			    "udp %s %s: expected %s, got %s", cases[k].instance,
			    hs_family_name(families[i]),
			    hs_show(cases[k].bytes, len), n < 0 ?
			    strerror(errno) : hs_show(buf, (size_t)n));
			hs_close(fd);
		}
	}
	hs_stop_ok(d);
}
