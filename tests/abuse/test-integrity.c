/*
 * test-integrity.c: no legitimate client loses a byte under load.  200
 * echo clients each send 1 MiB of their own pseudo-random stream in chunks
 * of random size (1 byte to 64 KiB), read with random sizes too, all at
 * once through one poll() loop, and check every byte that comes back, in
 * order, then EOF after their half-close.
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

#define IN_CLIENTS	200
#define IN_BYTES	(1024 * 1024)	/* per client */
#define IN_CHUNK_MAX	(64 * 1024)
#define IN_SEED_BASE	0x5eedULL

struct in_client {
	int		 fd;
	size_t		 sent;
	size_t		 got;
	int		 shut;
	int		 eof;
};

static uint64_t	in_rand(uint64_t *);
static size_t	in_chunk(uint64_t *, size_t);

TestSuite(integrity, .fini = hs_teardown);

/* xorshift64*: the chunk sizes. */
static uint64_t
in_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* A chunk size from 1 to IN_CHUNK_MAX, at most left. */
static size_t
in_chunk(uint64_t *s, size_t left)
{
	size_t	n = (size_t)(in_rand(s) % IN_CHUNK_MAX) + 1;

	return n < left ? n : left;
}

/* Case 8. */
Test(integrity, echo_200_clients_1mib_random_chunks, .timeout = 180)
{
	static const char	 conf[] =
	    "[daemon]\n"
	    "max_connections = 1000\n"
	    "shutdown_timeout = 2s\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0 tcp://[::1]:0\n"
	    "backlog = 512\n";
	static struct in_client	 c[IN_CLIENTS];
	static struct pollfd	 pfd[IN_CLIENTS];
	static size_t		 idx[IN_CLIENTS];
	static unsigned char	 buf[IN_CHUNK_MAX], want[IN_CHUNK_MAX];
	const struct hs_endpoint *ep4, *ep6;
	struct hs_daemon	*d;
	struct in_client	*k;
	const char		*env = getenv("NETSVCD_ABUSE_SEED");
	uint64_t		 rng, seed0;
	int64_t			 t0, deadline, elapsed;
	unsigned int		 rounds;
	size_t			 i, j, n, done = 0, len;
	ssize_t			 r;
	int			 base;

	/* Fixed chunk sizes unless NETSVCD_ABUSE_SEED asks for others. */
	rng = env != NULL ? strtoull(env, NULL, 0) : IN_SEED_BASE;
	if (rng == 0)
		rng = IN_SEED_BASE;
	seed0 = rng;
	ab_nofile(IN_CLIENTS + 256);
	d = hs_spawn(conf);
	ep4 = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET);
	ep6 = hs_endpoint(d, "echo", SOCK_STREAM, AF_INET6);
	(void)ab_probe(d, "echo", AF_INET, NULL, ab_ms(2000));
	base = hs_nfds(d);
	cr_log_info("chunk sizes from seed %#llx (NETSVCD_ABUSE_SEED)",
	    (unsigned long long)seed0);

	for (i = 0; i < IN_CLIENTS; i++) {
		/* A quarter over IPv6, from several IPv4 sources. */
		if (i % 4 == 3)
			c[i].fd = ab_tcp_start(ep6, NULL);
		else {
			snprintf((char *)buf, 32, "127.0.0.%zu", 1 + i % 8);
			c[i].fd = ab_tcp_start(ep4, (char *)buf);
		}
		cr_assert(c[i].fd != -1, "client %zu: %s", i,
		    strerror(errno));
	}
	for (i = 0; i < IN_CLIENTS; i++)
		cr_assert(ab_tcp_wait(c[i].fd, ab_ms(5000)) == 0, "client %zu: "
		    "connect: %s", i, strerror(errno));

	t0 = hs_now_ms();
	deadline = t0 + ab_ms(90000);
	for (rounds = 0; rounds < 10000000 && done < IN_CLIENTS; rounds++) {
		cr_assert(hs_now_ms() < deadline, "echo under load: %zu of %d "
		    "clients done after %d ms", done, IN_CLIENTS,
		    ab_ms(90000));
		for (i = 0, n = 0; i < IN_CLIENTS; i++) {
			if (c[i].eof)
				continue;
			pfd[n].fd = c[i].fd;
			pfd[n].events = POLLIN |
			    (c[i].sent < IN_BYTES ? POLLOUT : 0);
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		r = poll(pfd, n, 1000);
		cr_assert(r >= 0, "poll: %s", strerror(errno));
		for (j = 0; j < n; j++) {
			k = &c[idx[j]];
			if (pfd[j].revents & POLLOUT) {
				len = in_chunk(&rng, IN_BYTES - k->sent);
				hs_pattern(buf, len, IN_SEED_BASE + idx[j],
				    k->sent);
				r = send(k->fd, buf, len,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
				cr_assert(r > 0 || errno == EAGAIN, "client "
				    "%zu: send at %zu: %s", idx[j], k->sent,
				    strerror(errno));
				if (r > 0)
					k->sent += (size_t)r;
				if (k->sent == IN_BYTES && !k->shut) {
					cr_assert(shutdown(k->fd, SHUT_WR) ==
					    0, "shutdown: %s",
					    strerror(errno));
					k->shut = 1;
				}
			}
			if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			len = in_chunk(&rng, sizeof(buf));
			r = recv(k->fd, buf, len, MSG_DONTWAIT);
			if (r == -1 && errno == EAGAIN)
				continue;
			cr_assert(r >= 0, "client %zu: recv after %zu of %d "
			    "bytes: %s", idx[j], k->got, IN_BYTES,
			    strerror(errno));
			if (r == 0) {
				cr_assert(k->got == IN_BYTES, "client %zu: "
				    "EOF after %zu of %d bytes (sent %zu)",
				    idx[j], k->got, IN_BYTES, k->sent);
				k->eof = 1;
				done++;
				continue;
			}
			cr_assert(k->got + (size_t)r <= k->sent, "client %zu: "
			    "%zu bytes back, more than the %zu sent", idx[j],
			    k->got + (size_t)r, k->sent);
			hs_pattern(want, (size_t)r, IN_SEED_BASE + idx[j],
			    k->got);
			if (memcmp(buf, want, (size_t)r) != 0) {
				for (len = 0; len < (size_t)r &&
				    buf[len] == want[len]; len++)
					;
				cr_assert_fail("client %zu: byte %zu of its "
				    "stream came back as 0x%02x, not 0x%02x",
				    idx[j], k->got + len, buf[len],
				    want[len]);
			}
			k->got += (size_t)r;
		}
	}
	elapsed = hs_now_ms() - t0;
	cr_log_info("%d clients x %d bytes echoed and checked in %lld ms "
	    "(%.0f MiB/s each way)", IN_CLIENTS, IN_BYTES, (long long)elapsed,
	    elapsed > 0 ? (double)IN_CLIENTS * IN_BYTES / 1048576.0 /
	    ((double)elapsed / 1000.0) : 0.0);
	cr_assert(done == IN_CLIENTS, "only %zu of %d clients finished",
	    done, IN_CLIENTS);
	for (i = 0; i < IN_CLIENTS; i++)
		hs_close(c[i].fd);
	ab_wait_nfds(d, base, ab_ms(5000), "the echo load");
	hs_stop_ok(d);
}
