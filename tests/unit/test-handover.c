/*
 * test-handover.c: the handover state of daemon/handover.c: bytes out and
 * back, every way a state can be malformed (truncated, oversized, wrong
 * version, bad checksum, bad counts and fields), the memfd seals, and the
 * check of each descriptor against its record, on real sockets.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "netsvcd.h"

#define ALL_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | \
			    F_SEAL_SEAL)

static const unsigned char	pending_bytes[] = "pending output \r\n\0x";

/* A sockaddr for text:port. */
static struct sockaddr_storage
addr(const char *text, int port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

/* A state with one of everything (two connections). */
static struct handover_state *
sample(void)
{
	struct handover_state	*st = handover_state_new();
	struct ho_instance	*hi;
	struct ho_counter	*hk;
	struct ho_listener	*hl;
	struct ho_conn		*hc;

	cr_assert_not_null(st);
	st->stopped_us = 123456789;
	st->pid = 4242;
	st->kept = 3;
	hi = handover_add_instance(st);
	snprintf(hi->name, sizeof(hi->name), "echo");
	snprintf(hi->service, sizeof(hi->service), "echo");
	hk = handover_add_counter(hi);
	snprintf(hk->name, sizeof(hk->name), "accepted");
	hk->value = 77;
	hk = handover_add_counter(hi);
	snprintf(hk->name, sizeof(hk->name), "bytes_in.tcp");
	hk->value = UINT64_MAX;
	hl = handover_add_listener(st);
	hl->fd = 7;
	hl->proto = SERVICE_TCP;
	hl->worker = 1;
	snprintf(hl->instance, sizeof(hl->instance), "echo");
	hl->cfg = addr("127.0.0.1", 0);
	hl->bound = addr("127.0.0.1", 40007);
	hl = handover_add_listener(st);
	hl->fd = 8;
	hl->proto = SERVICE_UDP;
	hl->activated = 1;
	snprintf(hl->instance, sizeof(hl->instance), "echo");
	hl->cfg = addr("::1", 7);
	hl->bound = addr("::1", 7);
	hc = handover_add_conn(st);
	hc->fd = 9;
	hc->worker = 0;
	snprintf(hc->instance, sizeof(hc->instance), "echo");
	snprintf(hc->service, sizeof(hc->service), "echo");
	hc->local = addr("127.0.0.1", 40007);
	hc->peer = addr("127.0.0.1", 51000);
	hc->bytes_in = 1000;
	hc->bytes_out = 990;
	hc->age_ms = 5000;
	hc->idle_ms = 10;
	hc->write_idle_ms = 20;
	hc->pending = pending_bytes;
	hc->npending = sizeof(pending_bytes);
	hc = handover_add_conn(st);
	hc->fd = 10;
	hc->flags = HO_CONN_FLUSHED;
	snprintf(hc->instance, sizeof(hc->instance), "chargen");
	snprintf(hc->service, sizeof(hc->service), "chargen");
	hc->local = addr("::1", 19);
	hc->peer = addr("::1", 52000);
	hc->nstate = 4;
	memcpy(hc->state, "\x01\x02\x03\x04", 4);
	return st;
}

/* The bytes of sample(). */
static unsigned char *
sample_bytes(size_t *len)
{
	struct handover_state	*st = sample();
	unsigned char		*buf;
	char			*cause = NULL;

	cr_assert_eq(handover_encode(st, &buf, len, &cause), 0, "%s", cause);
	handover_state_free(st);
	return buf;
}

/* Recompute the checksum after a test changed a record. */
static void
reseal(unsigned char *buf, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	for (i = 60; i < len; i++)
		h = (h ^ buf[i]) * 1099511628211ULL;
	for (i = 0; i < 8; i++)
		buf[24 + i] = (unsigned char)(h >> (8 * i));
}

/* Say the state is len bytes (the field at 16) and reseal it. */
static void
set_length(unsigned char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < 8; i++)
		buf[16 + i] = (unsigned char)((uint64_t)len >> (8 * i));
	reseal(buf, len);
}

/* Parse and expect failure with cause containing what. */
static void
rejects(const unsigned char *buf, size_t len, const char *what)
{
	struct handover_state	*st;
	char			*cause = NULL;

	st = handover_parse(buf, len, &cause);
	cr_assert_null(st, "accepted a bad state (want: %s)", what);
	cr_assert_not_null(cause);
	cr_assert(strstr(cause, what) != NULL, "cause \"%s\", want \"%s\"",
	    cause, what);
	free(cause);
}

/* The offset of the first occurrence of needle in buf. */
static size_t
find(const unsigned char *buf, size_t len, const void *needle, size_t nlen)
{
	size_t	i;

	for (i = 0; i + nlen <= len; i++) {
		if (memcmp(buf + i, needle, nlen) == 0)
			return i;
	}
	cr_assert_fail("pattern not found");
	return 0;
}

Test(handover, round_trip_is_exact)
{
	struct handover_state	*st;
	unsigned char		*buf, *again;
	size_t			 len, len2;
	char			*cause = NULL;

	buf = sample_bytes(&len);
	st = handover_parse(buf, len, &cause);
	cr_assert_not_null(st, "%s", cause);
	cr_assert_eq(st->stopped_us, 123456789);
	cr_assert_eq(st->pid, 4242);
	cr_assert_eq(st->kept, 3);
	cr_assert_eq(st->ninstances, 1);
	cr_assert_str_eq(st->instances[0].name, "echo");
	cr_assert_eq(st->instances[0].ncounters, 2);
	cr_assert_str_eq(st->instances[0].counters[1].name, "bytes_in.tcp");
	cr_assert_eq(st->instances[0].counters[1].value, UINT64_MAX);
	cr_assert_eq(st->nlisteners, 2);
	cr_assert_eq(st->listeners[0].fd, 7);
	cr_assert_eq(st->listeners[0].worker, 1);
	cr_assert_eq(st->listeners[1].proto, SERVICE_UDP);
	cr_assert_eq(st->listeners[1].activated, 1);
	cr_assert(handover_addr_same(&st->listeners[0].bound,
	    &(struct sockaddr_storage){ 0 }) == 0);
	cr_assert_eq(st->nconns, 2);
	cr_assert_eq(st->conns[0].npending, sizeof(pending_bytes));
	cr_assert_eq(memcmp(st->conns[0].pending, pending_bytes,
	    sizeof(pending_bytes)), 0);
	cr_assert_eq(st->conns[0].bytes_out, 990);
	cr_assert_eq(st->conns[1].flags, HO_CONN_FLUSHED);
	cr_assert_eq(st->conns[1].nstate, 4);
	cr_assert_eq(memcmp(st->conns[1].state, "\x01\x02\x03\x04", 4), 0);
	cr_assert(st->conns[1].peer.ss_family == AF_INET6);
	/* What was read writes out to the very same bytes. */
	cr_assert_eq(handover_encode(st, &again, &len2, &cause), 0);
	cr_assert_eq(len2, len);
	cr_assert_eq(memcmp(buf, again, len), 0);
	free(again);
	free(buf);
	handover_state_free(st);
}

Test(handover, every_truncation_is_rejected)
{
	unsigned char	*buf, *cut;
	size_t		 len, i;

	buf = sample_bytes(&len);
	for (i = 0; i < len; i++) {
		/* An exact-size copy: a read past the end would be seen. */
		cut = malloc(i > 0 ? i : 1);
		memcpy(cut, buf, i);
		rejects(cut, i, "bytes");
		free(cut);
	}
	free(buf);
}

Test(handover, truncation_with_matching_length_field)
{
	unsigned char	*buf;
	size_t		 len, cut;

	buf = sample_bytes(&len);
	/* Cut and fix the length and checksum: the records run short. */
	for (cut = 61; cut < len; cut += 7) {
		set_length(buf, cut);
		rejects(buf, cut, "");
	}
	free(buf);
}

Test(handover, wrong_version_magic_length_checksum)
{
	unsigned char	*buf;
	size_t		 len;

	buf = sample_bytes(&len);
	buf[8] = 2;
	rejects(buf, len, "version 2, this build reads version 1");
	buf[8] = 1;
	buf[0] ^= 1;
	rejects(buf, len, "magic");
	buf[0] ^= 1;
	buf[16] ^= 1;
	rejects(buf, len, "bytes in");
	buf[16] ^= 1;
	buf[len - 1] ^= 0x40;
	rejects(buf, len, "checksum");
	buf[len - 1] ^= 0x40;
	free(buf);
}

Test(handover, trailing_bytes_rejected)
{
	unsigned char	*buf;
	size_t		 len;

	buf = sample_bytes(&len);
	buf = realloc(buf, len + 1);
	buf[len++] = 0;
	set_length(buf, len);
	rejects(buf, len, "after the last record");
	free(buf);
}

Test(handover, counts_over_the_bounds_rejected)
{
	unsigned char	*buf;
	size_t		 len;

	buf = sample_bytes(&len);
	/* nconns at offset 52: 65537. */
	buf[52] = 0x01;
	buf[53] = 0x00;
	buf[54] = 0x01;
	reseal(buf, len);
	rejects(buf, len, "too many");
	free(buf);
}

Test(handover, bad_fields_rejected)
{
	unsigned char	*buf;
	size_t		 len, at;

	/* The first listener's descriptor (7) as 2: stderr is not taken. */
	buf = sample_bytes(&len);
	at = find(buf, len, "\x07\x00\x00\x00\x01", 5);
	buf[at] = 2;
	reseal(buf, len);
	rejects(buf, len, "bad descriptor");
	/* Two records with descriptor 8. */
	buf[at] = 8;
	reseal(buf, len);
	rejects(buf, len, "descriptor 8 twice");
	buf[at] = 7;
	/* A protocol that is neither TCP nor UDP. */
	buf[at + 4] = 3;
	reseal(buf, len);
	rejects(buf, len, "bad protocol");
	free(buf);

	/* A control character in a name. */
	buf = sample_bytes(&len);
	at = find(buf, len, "\x07" "chargen", 8);
	buf[at + 1] = '\n';
	reseal(buf, len);
	rejects(buf, len, "bad name");
	free(buf);

	/* Pending output longer than the record. */
	buf = sample_bytes(&len);
	at = find(buf, len, pending_bytes, sizeof(pending_bytes));
	buf[at - 2] = 0x10;
	reseal(buf, len);
	rejects(buf, len, "");
	/* Over the bound on pending output. */
	buf[at - 2] = 0;
	buf[at - 1] = 0x01;
	reseal(buf, len);
	rejects(buf, len, "bytes pending");
	free(buf);
}

Test(handover, flushed_with_pending_rejected)
{
	struct handover_state	*st = sample();
	unsigned char		*buf;
	size_t			 len;
	char			*cause = NULL;

	st->conns[0].flags = HO_CONN_FLUSHED;
	cr_assert_eq(handover_encode(st, &buf, &len, &cause), 0);
	rejects(buf, len, "flushed, yet output pending");
	free(buf);
	st->conns[0].flags = 0;
	st->conns[0].idle_ms = st->conns[0].age_ms + 1;
	cr_assert_eq(handover_encode(st, &buf, &len, &cause), 0);
	rejects(buf, len, "bad times");
	free(buf);
	handover_state_free(st);
}

Test(handover, encode_refuses_what_parse_would)
{
	struct handover_state	*st = sample();
	unsigned char		*buf = NULL;
	size_t			 len;
	char			*cause = NULL;

	st->conns[0].npending = HANDOVER_MAX_PENDING + 1;
	cr_assert_eq(handover_encode(st, &buf, &len, &cause), -1);
	cr_assert_not_null(cause);
	free(cause);
	handover_state_free(st);
}

/* A memfd with the sample, sealed with seals. */
static int
memfd_with(const void *buf, size_t len, int seals)
{
	int	fd;

	fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_assert(fd != -1);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	if (seals != 0)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/* Load from fd and expect failure naming what. */
static void
load_rejects(int fd, const char *what)
{
	struct handover_state	*st;
	char			*cause = NULL;

	st = handover_load(fd, &cause);
	cr_assert_null(st);
	cr_assert(cause != NULL && strstr(cause, what) != NULL,
	    "cause \"%s\", want \"%s\"", cause ? cause : "(null)", what);
	free(cause);
}

Test(handover, sealed_memfd_round_trip)
{
	struct handover_state	*st;
	unsigned char		*buf;
	size_t			 len;
	char			*cause = NULL;
	int			 fd;

	buf = sample_bytes(&len);
	fd = handover_seal(buf, len, &cause);
	cr_assert(fd != -1, "%s", cause);
	cr_assert_eq(fcntl(fd, F_GET_SEALS) & ALL_SEALS, ALL_SEALS);
	/* Sealed: not even its writer can change it. */
	cr_assert_eq(write(fd, "x", 1), -1);
	cr_assert_eq(ftruncate(fd, 1), -1);
	st = handover_load(fd, &cause);
	cr_assert_not_null(st, "%s", cause);
	cr_assert_eq(st->nconns, 2);
	handover_state_free(st);
	close(fd);
	free(buf);
}

Test(handover, unsealed_or_partly_sealed_memfd_rejected)
{
	unsigned char	*buf;
	size_t		 len;
	int		 fd;

	buf = sample_bytes(&len);
	fd = memfd_with(buf, len, 0);
	load_rejects(fd, "not sealed");
	close(fd);
	/* Without F_SEAL_WRITE the writer could change it under the reader. */
	fd = memfd_with(buf, len, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	load_rejects(fd, "not sealed");
	close(fd);
	fd = memfd_with(buf, len, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE);
	load_rejects(fd, "not sealed");
	close(fd);
	/* A pipe or a plain file is no memfd. */
	fd = open("/dev/null", O_RDONLY);
	load_rejects(fd, "not a sealed memfd");
	close(fd);
	free(buf);
}

Test(handover, oversized_and_tiny_memfd_rejected)
{
	int	fd;

	fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_assert_eq(ftruncate(fd, (off_t)HANDOVER_MAX_SIZE + 1), 0);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, ALL_SEALS), 0);
	load_rejects(fd, "not a handover state");
	close(fd);
	fd = memfd_with("NSVDHAND", 8, ALL_SEALS);
	load_rejects(fd, "not a handover state");
	close(fd);
}

Test(handover, garbage_memfd_rejected)
{
	unsigned char	junk[4096];
	size_t		i;
	int		fd;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	fd = memfd_with(junk, sizeof(junk), ALL_SEALS);
	load_rejects(fd, "magic");
	close(fd);
}

/* A TCP listener on 127.0.0.1 (kernel's port); *ss gets its address. */
static int
tcp_listener(struct sockaddr_storage *ss)
{
	struct sockaddr_storage	a = addr("127.0.0.1", 0);
	socklen_t		len = sizeof(*ss);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a,
	    sizeof(struct sockaddr_in)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)ss, &len), 0);
	return fd;
}

/* A check returned r and cause: expect failure naming what (NULL: success). */
static void
checked(int r, char *cause, const char *what)
{
	if (what == NULL) {
		cr_assert_eq(r, 0, "%s", cause);
		return;
	}
	cr_assert_eq(r, -1, "accepted, want \"%s\"", what);
	cr_assert(strstr(cause, what) != NULL, "cause \"%s\", want \"%s\"",
	    cause, what);
	free(cause);
}

/* Check a listener record and expect failure naming what (NULL: success). */
static void
check_listener(const struct ho_listener *hl, const char *what)
{
	char	*cause = NULL;
	int	 r = handover_check_listener(hl, &cause);

	checked(r, cause, what);
}

/* Check a connection record and expect failure naming what (NULL: success). */
static void
check_conn(const struct ho_conn *hc, const char *what)
{
	char	*cause = NULL;
	int	 r = handover_check_conn(hc, &cause);

	checked(r, cause, what);
}

Test(handover, listener_descriptor_checked)
{
	struct ho_listener	hl;
	struct sockaddr_storage	ss, other;
	int			lfd, ufd, mfd;

	lfd = tcp_listener(&ss);
	memset(&hl, 0, sizeof(hl));
	hl.fd = lfd;
	hl.proto = SERVICE_TCP;
	hl.bound = ss;
	check_listener(&hl, NULL);
	/* Bound elsewhere, said to be UDP, or IPv6. */
	other = ss;
	((struct sockaddr_in *)&other)->sin_port ^= htons(1);
	hl.bound = other;
	check_listener(&hl, "bound elsewhere");
	hl.bound = ss;
	hl.proto = SERVICE_UDP;
	check_listener(&hl, "not a datagram socket");
	hl.proto = SERVICE_TCP;
	hl.bound = addr("::1", sockaddr_port((struct sockaddr *)&ss));
	check_listener(&hl, "other family");
	/* A bound TCP socket that does not listen. */
	ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	other = addr("127.0.0.1", 0);
	cr_assert_eq(bind(ufd, (struct sockaddr *)&other,
	    sizeof(struct sockaddr_in)), 0);
	hl.fd = ufd;
	hl.bound = ss;
	check_listener(&hl, "not listening");
	close(ufd);
	/* Not a socket at all, and a closed descriptor. */
	mfd = memfd_create("x", MFD_CLOEXEC);
	hl.fd = mfd;
	check_listener(&hl, "not a socket");
	close(mfd);
	hl.fd = mfd;
	check_listener(&hl, "not a socket");
	close(lfd);
}

Test(handover, connection_descriptor_checked)
{
	struct ho_conn		hc;
	struct sockaddr_storage	ss, local, peer;
	socklen_t		len;
	int			lfd, cfd, afd;

	lfd = tcp_listener(&ss);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&ss,
	    sizeof(struct sockaddr_in)), 0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(afd != -1);
	len = sizeof(local);
	getsockname(afd, (struct sockaddr *)&local, &len);
	len = sizeof(peer);
	getpeername(afd, (struct sockaddr *)&peer, &len);
	memset(&hc, 0, sizeof(hc));
	hc.fd = afd;
	hc.local = local;
	hc.peer = peer;
	check_conn(&hc, NULL);
	/* Another peer (the client's port off by one). */
	((struct sockaddr_in *)&hc.peer)->sin_port ^= htons(1);
	check_conn(&hc, "another peer");
	hc.peer = peer;
	/* The listener is no connection. */
	hc.fd = lfd;
	check_conn(&hc, "a listening socket");
	/* The client's own end: bound elsewhere. */
	hc.fd = cfd;
	check_conn(&hc, "bound elsewhere");
	/* A UDP socket. */
	hc.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	check_conn(&hc, "not a stream socket");
	close(hc.fd);
	close(afd);
	close(cfd);
	close(lfd);
}

Test(handover, fuzz_seeds_parse)
{
	static const char *const seeds[] = { "state-full", "state-empty" };
	struct handover_state	*st;
	const char		*src = getenv("NETSVCD_SRCDIR");
	char			 path[1024], *cause = NULL;
	unsigned char		 buf[4096];
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	cr_assert_not_null(src, "NETSVCD_SRCDIR is not set");
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/fuzz/corpus/handover/%s", src,
		    seeds[i]);
		cr_assert((fd = open(path, O_RDONLY)) != -1, "%s", path);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		cr_assert(n > 1);
		/* The first byte is the fuzzer's: no header fix-up. */
		st = handover_parse(buf + 1, (size_t)n - 1, &cause);
		cr_assert_not_null(st, "%s: %s", seeds[i], cause);
		handover_state_free(st);
	}
}

/*
 * handover_addr_cmp orders addresses as the fd store's index needs: equal
 * exactly when handover_addr_same says so (IPv4 and IPv6), antisymmetric,
 * and transitive over a set mixing families, ports, addresses and scopes.
 */
Test(handover, addr_cmp_agrees_with_same)
{
	struct sockaddr_storage	 a[10];
	size_t			 i, j, k, n = 0;
	int			 ij, jk, ik;

	a[n++] = addr("127.0.0.1", 7);
	a[n++] = addr("127.0.0.1", 8);
	a[n++] = addr("127.0.0.2", 7);
	a[n++] = addr("10.0.0.1", 65535);
	a[n++] = addr("::1", 7);
	a[n++] = addr("::1", 7);
	((struct sockaddr_in6 *)&a[n - 1])->sin6_scope_id = 2;
	a[n++] = addr("fe80::1", 7);
	a[n++] = addr("::1", 9);
	a[n++] = addr("127.0.0.1", 7);
	((struct sockaddr_in *)&a[n - 1])->sin_zero[0] = 1;	/* not compared */
	a[n++] = addr("::1", 7);
	((struct sockaddr_in6 *)&a[n - 1])->sin6_flowinfo = 5;	/* idem */
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			ij = handover_addr_cmp(&a[i], &a[j]);
			cr_assert_eq(ij == 0, handover_addr_same(&a[i], &a[j]) != 0,
			    "%zu and %zu: cmp %d", i, j, ij);
			cr_assert_eq(ij > 0, handover_addr_cmp(&a[j], &a[i]) < 0);
			for (k = 0; k < n; k++) {
				jk = handover_addr_cmp(&a[j], &a[k]);
				ik = handover_addr_cmp(&a[i], &a[k]);
				if (ij <= 0 && jk <= 0)
					cr_assert_leq(ik, 0, "%zu %zu %zu", i, j, k);
			}
		}
	}
	cr_assert_eq(handover_addr_cmp(&a[0], &a[8]), 0);
	cr_assert_eq(handover_addr_cmp(&a[4], &a[9]), 0);
}

/*
 * The fd store hands back no more connections than fit in LISTEN_FDNAMES,
 * one environment string, which execve(2) takes up to 128 KiB long: the
 * names of the state, nl listeners and the connections of
 * systemd_fdstore_conn_room(nl) fit with room for netsvcd.socket's names
 * (4 KiB), and one connection more would not.
 */
Test(handover, fdstore_names_fit_one_environment_string)
{
	static const size_t	nls[] = { 0, 1, 18, 1000, 5000 };
	const size_t		budget = 32 * 4096 - 4096;
	size_t			i, nl, room, len;

	for (i = 0; i < sizeof(nls) / sizeof(nls[0]); i++) {
		nl = nls[i];
		room = systemd_fdstore_conn_room(nl);
		len = strlen("LISTEN_FDNAMES=") +
		    strlen("netsvcd-handover-state") + 1 +
		    nl * (strlen("netsvcd-handover-listener") + 1) +
		    room * (strlen("c") + 1) + 1;
		if (room == 0) {
			cr_assert_gt(len + 2, budget, "%zu listeners: room 0 "
			    "while %zu bytes are used", nl, len);
			continue;
		}
		cr_assert_leq(len, budget, "%zu listeners, %zu connections: "
		    "%zu bytes", nl, room, len);
		cr_assert_gt(len + 2, budget, "%zu listeners: room for more "
		    "than %zu connections", nl, room);
	}
	cr_assert_geq(systemd_fdstore_conn_room(18), 60000,
	    "fewer connections than LimitNOFILE=65536 allows");
}
