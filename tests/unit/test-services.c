/*
 * test-services.c: the registry and every service, driven through the fake
 * host API of fake-api.c (no sockets, no daemon code): what each service
 * writes, replies and closes, and how its config keys fail.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "service.h"
#include "proto.h"
#include "fake-api.h"

/* The registered service called name (the tests know no service by symbol). */
#define SVC(name)	svc_named(#name)

static const struct service *svc_named(const char *);

/* The RFC 864 ring, written out independently of proto.c. */
#define RING95	"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		"[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ "

static const char *data_dir(void);
static int	configure(const struct service *, struct svc_conf *,
		    const char *const *, char **);
static void	unconfigure(const struct service *, struct svc_conf *);
static char	stream_byte(size_t);
static void	tmp_file(char *, size_t, const void *, size_t);
static void	capture_stderr(void);
static char	*captured_stderr(void);
static unsigned int count(const char *, const char *);
static void	expect_conf_error(const struct service *, const char *const *,
		    const char *);
static void	expect_key_error(const struct service *, const char *,
		    const char *, const char *);
static void	tcp_once(const struct service *, struct svc_conf *,
		    struct conn *);
static void	udp_once(const struct service *, struct svc_conf *,
		    struct dgram *, const char *);

static int	stderr_fd = -1;		/* where capture_stderr() writes */

/* tests/unit/data, from $NETSVCD_SRCDIR (set by ctest) or this file. */
static const char *
data_dir(void)
{
	static char	 dir[PATH_MAX];
	const char	*src = getenv("NETSVCD_SRCDIR");
	char		*slash;

	if (src != NULL)
		snprintf(dir, sizeof(dir), "%s/tests/unit/data", src);
	else {
		snprintf(dir, sizeof(dir), "%s", __FILE__);
		if ((slash = strrchr(dir, '/')) != NULL)
			snprintf(slash, sizeof(dir) - (size_t)(slash - dir),
			    "/data");
		else
			snprintf(dir, sizeof(dir), "data");
	}
	return dir;
}

/*
 * Give an instance the key/value pairs kv (NULL-terminated) and run
 * conf_check, as the host does: 0, or what failed first.
 */
static int
configure(const struct service *sv, struct svc_conf *sc,
    const char *const *kv, char **cause)
{
	int	rc;

	fake_svc_conf_init(sc, sv, "test-instance", data_dir());
	*cause = NULL;
	for (; kv != NULL && kv[0] != NULL; kv += 2) {
		cr_assert_not_null(sv->conf_key, "%s has no keys", sv->name);
		rc = sv->conf_key(sc, kv[0], kv[1], cause);
		if (rc != SERVICE_KEY_OK)
			return rc;
		cr_assert_null(*cause);
	}
	if (sv->conf_check != NULL)
		return sv->conf_check(sc, cause);
	return 0;
}

/* Free an instance's data and check that nothing is left behind. */
static void
unconfigure(const struct service *sv, struct svc_conf *sc)
{
	fake_svc_conf_free(sc, sv);
	cr_assert_null(sc->data, "%s: conf_free left data", sv->name);
}

/* The registered service called name; the test fails without it. */
static const struct service *
svc_named(const char *name)
{
	const struct service	*sv;

	sv = service_find(name);
	cr_assert_not_null(sv, "no service \"%s\" in the registry", name);
	return sv;
}

/* Byte p of the endless chargen stream (RFC 864, example order). */
static char
stream_byte(size_t p)
{
	size_t	line = (p / CHARGEN_LINE) % 95, col = p % CHARGEN_LINE;

	if (col == CHARGEN_WIDTH)
		return '\r';
	if (col == CHARGEN_WIDTH + 1)
		return '\n';
	return RING95[(line + col) % 95];
}

/* Write len bytes into a new file under /tmp; its name goes to path. */
static void
tmp_file(char *path, size_t size, const void *buf, size_t len)
{
	int	fd;

	snprintf(path, size, "/tmp/netsvcd-test-XXXXXX");
	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Send stderr (where log.c writes) to a temporary file. */
static void
capture_stderr(void)
{
	FILE	*f;

	cr_assert_not_null(f = tmpfile());
	fflush(stderr);
	stderr_fd = dup(fileno(f));
	cr_assert_neq(dup2(fileno(f), STDERR_FILENO), -1);
	fclose(f);
}

/* All that was written to stderr since capture_stderr(); free it. */
static char *
captured_stderr(void)
{
	char	*buf;
	off_t	 len;

	fflush(stderr);
	cr_assert_neq(len = lseek(stderr_fd, 0, SEEK_END), -1);
	cr_assert_not_null(buf = calloc(1, (size_t)len + 1));
	cr_assert_eq(pread(stderr_fd, buf, (size_t)len, 0), len);
	return buf;
}

/* How many times needle occurs in text. */
static unsigned int
count(const char *text, const char *needle)
{
	unsigned int	n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/* Configure sv with kv and expect conf_check to fail with want in cause. */
static void
expect_conf_error(const struct service *sv, const char *const *kv,
    const char *want)
{
	struct svc_conf	 sc;
	char		*cause;

	cr_assert_eq(configure(sv, &sc, kv, &cause), -1, "%s: no error, "
	    "want \"%s\"", sv->name, want);
	cr_assert_not_null(cause);
	cr_assert_not_null(strstr(cause, want), "cause \"%s\", want \"%s\"",
	    cause, want);
	free(cause);
	unconfigure(sv, &sc);
}

/* Expect conf_key(key, value) to fail with want in the cause. */
static void
expect_key_error(const struct service *sv, const char *key,
    const char *value, const char *want)
{
	struct svc_conf	 sc;
	char		*cause = NULL;

	fake_svc_conf_init(&sc, sv, "test-instance", data_dir());
	cr_assert_eq(sv->conf_key(&sc, key, value, &cause), SERVICE_KEY_ERROR,
	    "%s = %s", key, value);
	cr_assert_not_null(cause);
	cr_assert_not_null(strstr(cause, want), "cause \"%s\", want \"%s\"",
	    cause, want);
	free(cause);
	unconfigure(sv, &sc);
}

/* Run one TCP connection of a write-and-close service. */
static void
tcp_once(const struct service *sv, struct svc_conf *sc, struct conn *c)
{
	fake_conn_init(c, sc->data);
	cr_assert_not_null(sv->tcp_accept);
	sv->tcp_accept(c);
	cr_assert_eq(c->closes, 1, "%s closes once", sv->name);
	cr_assert_eq(c->after_close, 0, "%s writes after closing", sv->name);
	if (sv->tcp_close != NULL)
		sv->tcp_close(c);
}

/* Send one datagram holding text to a service. */
static void
udp_once(const struct service *sv, struct svc_conf *sc, struct dgram *d,
    const char *text)
{
	fake_dgram_init(d, sc->data);
	sv->udp_datagram(d, text, strlen(text));
}

/* ---- registry ---- */

Test(registry, names)
{
	size_t	i, j, n;

	for (n = 0; services[n] != NULL; n++)
		cr_assert_lt(n, 100, "no NULL at the end");
	for (i = 0; i < n; i++) {
		cr_assert_gt(strlen(services[i]->name), 0);
		cr_assert_eq(strspn(services[i]->name,
		    "abcdefghijklmnopqrstuvwxyz0123456789_-"),
		    strlen(services[i]->name), "%s", services[i]->name);
		cr_assert_eq(service_find(services[i]->name), services[i]);
		for (j = i + 1; j < n; j++)
			cr_assert_str_neq(services[i]->name, services[j]->name);
	}
	cr_assert_str_eq(service_find("echo")->name, "echo");
	cr_assert_str_eq(service_find("banner")->name, "banner");
	cr_assert_null(service_find("Echo"));
	cr_assert_null(service_find("echo "));
	cr_assert_null(service_find(""));
	cr_assert_null(service_find(NULL));
}

/*
 * The rule for descriptors: SERVICE_TCP if and only if the service does
 * something on TCP (tcp_accept, tcp_read or tcp_write_ready; tcp_close
 * alone is not enough, and needs TCP); SERVICE_UDP if and only if there
 * is udp_datagram or udp_wait, never both (discard has one: it logs, and never replies).  Keys
 * come with conf_key, and whatever configures frees.
 */
Test(registry, callbacks_match_protocols)
{
	const struct service	*sv;
	size_t			 i;
	int			 tcp;

	for (i = 0; (sv = services[i]) != NULL; i++) {
		cr_assert_neq(sv->protocols, 0, "%s", sv->name);
		cr_assert_eq(sv->protocols & ~(SERVICE_TCP | SERVICE_UDP), 0,
		    "%s", sv->name);
		tcp = sv->tcp_accept != NULL || sv->tcp_read != NULL ||
		    sv->tcp_write_ready != NULL;
		cr_assert_eq(tcp, (sv->protocols & SERVICE_TCP) != 0,
		    "%s: TCP callbacks vs SERVICE_TCP", sv->name);
		if (!(sv->protocols & SERVICE_TCP))
			cr_assert_null(sv->tcp_close, "%s", sv->name);
		cr_assert_eq(sv->udp_datagram != NULL || sv->udp_wait != NULL,
		    (sv->protocols & SERVICE_UDP) != 0,
		    "%s: udp_datagram vs SERVICE_UDP", sv->name);
		cr_assert(sv->udp_datagram == NULL || sv->udp_wait == NULL,
		    "%s: udp_datagram and udp_wait", sv->name);
		cr_assert_eq(sv->keys != NULL, sv->conf_key != NULL,
		    "%s: keys vs conf_key", sv->name);
		if (sv->conf_key != NULL || sv->conf_check != NULL)
			cr_assert_not_null(sv->conf_free, "%s", sv->name);
	}
}

Test(registry, keys)
{
	const struct service	*sv;
	struct svc_conf		 sc;
	const char *const	*k;
	char			*cause;
	size_t			 i;
	int			 rc;

	for (i = 0; (sv = services[i]) != NULL; i++) {
		cr_assert_eq(sv->keys != NULL, sv->conf_key != NULL,
		    "%s: keys vs conf_key", sv->name);
		if (sv->conf_key == NULL)
			continue;
		/* Each listed key is the service's (the host filters others). */
		for (k = sv->keys; *k != NULL; k++) {
			fake_svc_conf_init(&sc, sv, "x", data_dir());
			cause = NULL;
			rc = sv->conf_key(&sc, *k, "\\q", &cause);
			cr_assert_neq(rc, SERVICE_KEY_UNKNOWN, "%s: %s",
			    sv->name, *k);
			free(cause);
			unconfigure(sv, &sc);
		}
	}
}

/* ---- echo ---- */

Test(echo, tcp_echoes_every_byte)
{
	struct svc_conf	 sc;
	struct conn	 c;
	char		*cause;

	cr_assert_eq(configure(SVC(echo), &sc, NULL, &cause), 0);
	fake_conn_init(&c, sc.data);
	/* The host may splice; tcp_read still echoes when it copies. */
	cr_assert_not_null(SVC(echo)->tcp_accept);
	SVC(echo)->tcp_accept(&c);
	cr_assert_eq(c.echo_input, 1, "echo did not offer kernel echo");
	cr_assert_eq(c.outlen, 0, "tcp_accept wrote");
	SVC(echo)->tcp_read(&c, "hello\r\n", 7);
	SVC(echo)->tcp_read(&c, "\0bin\xff", 5);
	SVC(echo)->tcp_read(&c, "", 0);
	cr_assert_eq(c.outlen, 12);
	cr_assert(memcmp(c.out, "hello\r\n\0bin\xff", 12) == 0);
	cr_assert_eq(c.closes, 0, "echo leaves closing to the peer");
	fake_conn_free(&c);
	unconfigure(SVC(echo), &sc);
}

Test(echo, udp_echoes_even_empty_datagrams)
{
	struct svc_conf	 sc;
	struct dgram	 d;
	char		*big, *cause;

	cr_assert_eq(configure(SVC(echo), &sc, NULL, &cause), 0);
	fake_dgram_init(&d, sc.data);
	SVC(echo)->udp_datagram(&d, "ping", 4);
	cr_assert_eq(d.replies, 1);
	cr_assert_eq(d.replylen, 4);
	cr_assert(memcmp(d.reply, "ping", 4) == 0);
	SVC(echo)->udp_datagram(&d, "", 0);
	cr_assert_eq(d.replies, 2);
	cr_assert_eq(d.replylen, 0);

	cr_assert_not_null(big = malloc(65507));
	memset(big, 'e', 65507);
	big[65506] = '!';
	SVC(echo)->udp_datagram(&d, big, 65507);
	cr_assert_eq(d.replylen, 65507);
	cr_assert(memcmp(d.reply, big, 65507) == 0);
	free(big);
	fake_dgram_free(&d);
	unconfigure(SVC(echo), &sc);
}

/* ---- discard ---- */

Test(discard, sends_nothing)
{
	struct svc_conf	 sc;
	struct conn	 c;
	struct dgram	 d;
	char		*cause;

	cr_assert_eq(configure(SVC(discard), &sc, NULL, &cause), 0);
	fake_conn_init(&c, sc.data);
	if (SVC(discard)->tcp_accept != NULL)
		SVC(discard)->tcp_accept(&c);
	SVC(discard)->tcp_read(&c, "data", 4);
	cr_assert_eq(c.writes, 0);
	cr_assert_eq(c.outlen, 0);
	cr_assert_eq(c.closes, 0);
	udp_once(SVC(discard), &sc, &d, "data");
	cr_assert_eq(d.replies, 0);
	fake_conn_free(&c);
	fake_dgram_free(&d);
	unconfigure(SVC(discard), &sc);
}

/* Unless it logs, discard lets the host drop input unread. */
Test(discard, drops_input_unread_unless_logging)
{
	static const char *const kv[] = { "log_data", "yes", NULL };
	struct svc_conf	 sc;
	struct conn	 c;
	char		*cause;

	cr_assert_eq(configure(SVC(discard), &sc, NULL, &cause), 0);
	fake_conn_init(&c, sc.data);
	cr_assert_not_null(SVC(discard)->tcp_accept);
	SVC(discard)->tcp_accept(&c);
	cr_assert_eq(c.drop_input, 1, "log_data = no: input not dropped");
	fake_conn_free(&c);
	unconfigure(SVC(discard), &sc);

	cr_assert_eq(configure(SVC(discard), &sc, kv, &cause), 0);
	fake_conn_init(&c, sc.data);
	SVC(discard)->tcp_accept(&c);
	cr_assert_eq(c.drop_input, 0, "log_data = yes: input dropped unread");
	fake_conn_free(&c);
	unconfigure(SVC(discard), &sc);
}

Test(discard, logs_nothing_by_default)
{
	static const char *const kv[] = { "log_data", "off", NULL };
	struct svc_conf	 sc;
	struct conn	 c;
	char		*cause, *log;

	capture_stderr();
	cr_assert_eq(configure(SVC(discard), &sc, kv, &cause), 0);
	fake_conn_init(&c, sc.data);
	SVC(discard)->tcp_read(&c, "secret", 6);
	log = captured_stderr();
	cr_assert_null(strstr(log, "secret"), "%s", log);
	free(log);
	fake_conn_free(&c);
	unconfigure(SVC(discard), &sc);
}

Test(discard, log_data_escapes_and_cuts)
{
	static const char *const kv[] = { "log_data", "yes", NULL };
	struct svc_conf	 sc;
	struct conn	 c;
	struct dgram	 d;
	char		 big[100], want[80], *cause, *log;

	capture_stderr();
	cr_assert_eq(configure(SVC(discard), &sc, kv, &cause), 0);
	fake_conn_init(&c, sc.data);
	SVC(discard)->tcp_read(&c, "GET /\r\n\x01", 8);
	memset(big, 'A', sizeof(big));
	fake_dgram_init(&d, sc.data);
	SVC(discard)->udp_datagram(&d, big, sizeof(big));
	cr_assert_eq(d.replies, 0);
	cr_assert_eq(c.writes, 0);

	log = captured_stderr();
	cr_assert_not_null(strstr(log, "192.0.2.1:4242"), "%s", log);
	cr_assert_not_null(strstr(log, "tcp"), "%s", log);
	cr_assert_not_null(strstr(log, "8 bytes"), "%s", log);
	cr_assert_not_null(strstr(log, "\"GET /\\r\\n\\x01\""), "%s", log);
	/* The datagram: 100 bytes, only the first 64 shown. */
	cr_assert_not_null(strstr(log, "udp"), "%s", log);
	cr_assert_not_null(strstr(log, "100 bytes"), "%s", log);
	snprintf(want, sizeof(want), "\"%.64s\"...", big);
	cr_assert_not_null(strstr(log, want), "%s", log);
	memset(want, 'A', 65);
	want[65] = '\0';
	cr_assert_null(strstr(log, want), "more than 64 bytes: %s", log);
	free(log);
	fake_conn_free(&c);
	fake_dgram_free(&d);
	unconfigure(SVC(discard), &sc);
}

Test(discard, log_data_rate_limited)
{
	static const char *const kv[] = { "log_data", "1", NULL };
	struct svc_conf	 sc;
	struct dgram	 d;
	char		*cause, *log;
	unsigned int	 i, n;

	capture_stderr();
	cr_assert_eq(configure(SVC(discard), &sc, kv, &cause), 0);
	fake_dgram_init(&d, sc.data);
	for (i = 0; i < 500; i++)
		SVC(discard)->udp_datagram(&d, "flood", 5);
	log = captured_stderr();
	/* 10 a second; the loop may straddle one second boundary. */
	n = count(log, "\"flood\"");
	cr_assert_geq(n, 10, "%s", log);
	cr_assert_leq(n, 20, "%u lines logged", n);
	free(log);
	fake_dgram_free(&d);
	unconfigure(SVC(discard), &sc);
}

Test(discard, conf)
{
	static const char *const kv[] = { "log_data", "TRUE", NULL };
	struct svc_conf	 sc;
	char		 buf[128] = "", *cause;

	expect_key_error(SVC(discard), "log_data", "perhaps", "log_data");
	expect_key_error(SVC(discard), "log_data", "", "log_data");
	cr_assert_eq(configure(SVC(discard), &sc, kv, &cause), 0);
	SVC(discard)->conf_describe(&sc, buf, sizeof(buf));
	cr_assert_str_eq(buf, " log_data=yes");
	unconfigure(SVC(discard), &sc);
	cr_assert_eq(configure(SVC(discard), &sc, NULL, &cause), 0);
	SVC(discard)->conf_describe(&sc, buf, sizeof(buf));
	cr_assert_str_eq(buf, " log_data=no");
	unconfigure(SVC(discard), &sc);
}

/* ---- chargen ---- */

Test(chargen, tcp_one_slice_per_wakeup)
{
	static const size_t	 caps[] = { 100000, 5, 0, 65536, 7030, 1,
	    131072, 200000, 12345, 74, 65535, 65537 };
	struct svc_conf		 sc;
	struct conn		 c;
	char			*cause;
	size_t			 i, p, before, want;
	unsigned int		 calls;

	cr_assert_eq(configure(SVC(chargen), &sc, NULL, &cause), 0);
	fake_conn_init(&c, sc.data);
	if (SVC(chargen)->tcp_accept != NULL)
		SVC(chargen)->tcp_accept(&c);
	cr_assert_eq(c.outlen, 0, "tcp_accept must not write");
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		before = c.outlen;
		calls = c.write_some;
		c.capacity = caps[i];
		want = caps[i] < CHARGEN_CHUNK ? caps[i] : CHARGEN_CHUNK;
		SVC(chargen)->tcp_write_ready(&c);
		/* One slice per wakeup: what the socket takes of one chunk. */
		cr_assert_eq(c.outlen - before, want, "round %zu", i);
		cr_assert_eq(c.capacity, caps[i] - want, "round %zu", i);
		cr_assert_eq(c.write_some - calls, 1, "round %zu", i);
		cr_assert_eq(c.write_some_asked, CHARGEN_CHUNK);
		cr_assert_lt((uintptr_t)c.data, CHARGEN_PERIOD);
		cr_assert_eq((uintptr_t)c.data, c.outlen % CHARGEN_PERIOD);
	}
	for (p = 0; p < c.outlen; p++)
		cr_assert_eq(c.out[p], stream_byte(p), "byte %zu", p);
	cr_assert_eq(c.writes, 0);
	cr_assert_eq(c.closes, 0);
	if (SVC(chargen)->tcp_close != NULL)
		SVC(chargen)->tcp_close(&c);
	fake_conn_free(&c);
	unconfigure(SVC(chargen), &sc);
}

Test(chargen, tcp_connections_are_independent)
{
	struct svc_conf	 sc;
	struct conn	 a, b;
	char		*cause;
	size_t		 p;

	cr_assert_eq(configure(SVC(chargen), &sc, NULL, &cause), 0);
	fake_conn_init(&a, sc.data);
	fake_conn_init(&b, sc.data);
	a.capacity = 1000;
	SVC(chargen)->tcp_write_ready(&a);
	b.capacity = 10;
	SVC(chargen)->tcp_write_ready(&b);
	a.capacity = 10;
	SVC(chargen)->tcp_write_ready(&a);
	cr_assert_eq(b.outlen, 10);
	for (p = 0; p < b.outlen; p++)
		cr_assert_eq(b.out[p], stream_byte(p));
	cr_assert_eq(a.outlen, 1010);
	for (p = 0; p < a.outlen; p++)
		cr_assert_eq(a.out[p], stream_byte(p));
	fake_conn_free(&a);
	fake_conn_free(&b);
	unconfigure(SVC(chargen), &sc);
}

Test(chargen, udp_random_lengths_from_line_starts)
{
	struct svc_conf	 sc;
	struct dgram	 d;
	char		*cause;
	size_t		 p, k, len[2] = { 0, 0 }, line[2] = { 0, 0 };
	unsigned int	 i, lens = 0, lines = 0;

	cr_assert_eq(configure(SVC(chargen), &sc, NULL, &cause), 0);
	for (i = 0; i < 400; i++) {
		udp_once(SVC(chargen), &sc, &d, "x");
		cr_assert_eq(d.replies, 1);
		cr_assert_leq(d.replylen, CHARGEN_UDP_MAX);
		if (d.replylen > 0) {
			/* Find the line it starts with, then check it all. */
			for (k = 0; k < 95; k++) {
				if (d.reply[0] == stream_byte(k * CHARGEN_LINE))
					break;
			}
			cr_assert_lt(k, 95);
			for (p = 0; p < d.replylen; p++)
				cr_assert_eq(d.reply[p],
				    stream_byte(k * CHARGEN_LINE + p),
				    "reply %u byte %zu", i, p);
			if (lines == 0 || (lines == 1 && k != line[0]))
				line[lines++] = k;
		}
		if (lens == 0 || (lens == 1 && d.replylen != len[0]))
			len[lens++] = d.replylen;
		fake_dgram_free(&d);
	}
	cr_assert_eq(lens, 2, "every reply had the same length");
	cr_assert_eq(lines, 2, "every reply started on the same line");
	unconfigure(SVC(chargen), &sc);
}

/* ---- daytime ---- */

Test(daytime, tcp_default_line)
{
	struct svc_conf	 sc;
	struct conn	 c;
	struct tm	 tm;
	char		 want[2][128], got[DAYTIME_MAX], *cause;
	time_t		 t[2];
	size_t		 i;

	cr_assert_eq(configure(SVC(daytime), &sc, NULL, &cause), 0);
	t[0] = time(NULL);
	tcp_once(SVC(daytime), &sc, &c);
	t[1] = time(NULL);
	for (i = 0; i < 2; i++) {
		gmtime_r(&t[i], &tm);
		strftime(want[i], sizeof(want[i]), "%A, %B %d, %Y %H:%M:%S", &tm);
		strcat(want[i], "-UTC\r\n");
	}
	cr_assert_lt(c.outlen, sizeof(got));
	memcpy(got, c.out, c.outlen);
	got[c.outlen] = '\0';
	cr_assert(strcmp(got, want[0]) == 0 || strcmp(got, want[1]) == 0,
	    "got \"%s\", want \"%s\"", got, want[0]);
	cr_assert_eq(c.writes, 1);
	fake_conn_free(&c);
	unconfigure(SVC(daytime), &sc);
}

Test(daytime, custom_local_format_tcp_and_udp)
{
	static const char *const kv[] = { "format", "%Z %Y|%H", "utc", "no",
	    NULL };
	struct svc_conf	 sc;
	struct conn	 c;
	struct dgram	 d;
	struct tm	 tm;
	char		 want[64], *cause;
	time_t		 t;

	setenv("TZ", "JST-9", 1);
	tzset();
	cr_assert_eq(configure(SVC(daytime), &sc, kv, &cause), 0);
	t = time(NULL);
	tcp_once(SVC(daytime), &sc, &c);
	udp_once(SVC(daytime), &sc, &d, "");
	localtime_r(&t, &tm);
	strftime(want, sizeof(want), "JST %Y|%H\r\n", &tm);
	/* The hour may tick between; only if the test runs at hh:59:59. */
	cr_assert_eq(c.outlen, strlen(want));
	cr_assert(memcmp(c.out, want, 9) == 0, "%.*s", (int)c.outlen, c.out);
	cr_assert_eq(d.replies, 1);
	cr_assert_eq(d.replylen, strlen(want));
	cr_assert(memcmp(d.reply, want, 9) == 0);
	fake_conn_free(&c);
	fake_dgram_free(&d);
	unconfigure(SVC(daytime), &sc);
}

Test(daytime, cache_never_mixes_instances)
{
	static const char *const one[] = { "format", "one %Y", NULL };
	static const char *const two[] = { "format", "two %Y", NULL };
	struct svc_conf	 a, b;
	struct conn	 c;
	const void	*old;
	char		*cause;
	int		 i;

	cr_assert_eq(configure(SVC(daytime), &a, one, &cause), 0);
	cr_assert_eq(configure(SVC(daytime), &b, two, &cause), 0);
	tcp_once(SVC(daytime), &a, &c);
	cr_assert(memcmp(c.out, "one ", 4) == 0);
	fake_conn_free(&c);
	tcp_once(SVC(daytime), &b, &c);
	cr_assert(memcmp(c.out, "two ", 4) == 0);
	fake_conn_free(&c);
	tcp_once(SVC(daytime), &a, &c);
	cr_assert(memcmp(c.out, "one ", 4) == 0);
	fake_conn_free(&c);
	unconfigure(SVC(daytime), &b);

	/*
	 * After a reload, a new instance often gets the freed one's address
	 * (glibc's malloc does, ASan's does not): it must still get its own
	 * format, within the same second.
	 */
	for (i = 0; i < 6; i++) {
		old = a.data;
		unconfigure(SVC(daytime), &a);
		cr_assert_eq(configure(SVC(daytime), &a,
		    i % 2 == 0 ? two : one, &cause), 0);
		tcp_once(SVC(daytime), &a, &c);
		cr_assert(memcmp(c.out, i % 2 == 0 ? "two " : "one ", 4) == 0,
		    "round %d%s: %.*s", i, a.data == old ? " (same address)" :
		    "", (int)c.outlen, c.out);
		fake_conn_free(&c);
	}
	unconfigure(SVC(daytime), &a);
}

Test(daytime, conf_errors)
{
	static const char *const wide[] = { "format",
	    "%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A%A",
	    NULL };
	char	longfmt[DAYTIME_FORMAT_MAX + 2];

	expect_key_error(SVC(daytime), "utc", "maybe", "utc");
	expect_key_error(SVC(daytime), "format", "", "format");
	memset(longfmt, 'x', sizeof(longfmt) - 1);
	longfmt[sizeof(longfmt) - 1] = '\0';
	expect_key_error(SVC(daytime), "format", longfmt, "longer than");
	/* 30 "%A" are 60 bytes of format, but 270 bytes of line. */
	expect_conf_error(SVC(daytime), wide, "longer than");
}

Test(daytime, describe)
{
	static const char *const kv[] = { "format", "%Y", "utc", "off", NULL };
	struct svc_conf	 sc;
	char		 buf[128] = "", *cause;

	cr_assert_eq(configure(SVC(daytime), &sc, kv, &cause), 0);
	SVC(daytime)->conf_describe(&sc, buf, sizeof(buf));
	cr_assert_str_eq(buf, " format=\"%Y\" utc=no");
	unconfigure(SVC(daytime), &sc);
	cr_assert_eq(configure(SVC(daytime), &sc, NULL, &cause), 0);
	SVC(daytime)->conf_describe(&sc, buf, sizeof(buf));
	cr_assert_str_eq(buf, " format=\"" DAYTIME_DEFAULT_FORMAT "\" utc=yes");
	unconfigure(SVC(daytime), &sc);
}

/* ---- time ---- */

Test(time, tcp_and_udp_send_four_bytes)
{
	struct svc_conf	 sc;
	struct conn	 c;
	struct dgram	 d;
	const unsigned char *b;
	char		*cause;
	uint32_t	 v, lo, hi;

	cr_assert_eq(configure(SVC(time), &sc, NULL, &cause), 0);
	lo = (uint32_t)(time(NULL) + 2208988800LL);
	tcp_once(SVC(time), &sc, &c);
	udp_once(SVC(time), &sc, &d, "anything");
	hi = (uint32_t)(time(NULL) + 2208988800LL);
	cr_assert_eq(c.outlen, 4);
	b = (const unsigned char *)c.out;
	v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	cr_assert(v - lo <= hi - lo, "%u not in [%u, %u]", v, lo, hi);
	cr_assert_eq(d.replies, 1);
	cr_assert_eq(d.replylen, 4);
	b = (const unsigned char *)d.reply;
	v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	cr_assert(v - lo <= hi - lo, "%u not in [%u, %u]", v, lo, hi);
	fake_conn_free(&c);
	fake_dgram_free(&d);
	unconfigure(SVC(time), &sc);
}

/* ---- qotd ---- */

Test(qotd, builtin_round_robin)
{
	struct svc_conf	 sc;
	struct conn	 c;
	char		 buf[128] = "", *cause;
	size_t		 i;

	cr_assert_eq(configure(SVC(qotd), &sc, NULL, &cause), 0);
	for (i = 0; i < 2 * qotd_nbuiltin; i++) {
		tcp_once(SVC(qotd), &sc, &c);
		cr_assert_eq(c.outlen, qotd_builtin[i % qotd_nbuiltin].len);
		cr_assert(memcmp(c.out, qotd_builtin[i % qotd_nbuiltin].text,
		    c.outlen) == 0, "connection %zu", i);
		fake_conn_free(&c);
	}
	SVC(qotd)->conf_describe(&sc, buf, sizeof(buf));
	snprintf(buf + 64, 64, " quotes=%zu built-in", qotd_nbuiltin);
	cr_assert_str_eq(buf, buf + 64);
	unconfigure(SVC(qotd), &sc);
}

Test(qotd, percent_file_tcp_then_udp)
{
	static const char *const kv[] = { "quotes_file", "quotes-percent.txt",
	    NULL };
	static const char *const want[] = {
		"The first quote,\r\nin two lines.\r\n",
		("Second quote, after blank lines.\r\n\r\n"
		    "Its second paragraph.\r\n"),
		"Third quote, with no newline at the end.\r\n",
	};
	struct svc_conf	 sc;
	struct conn	 c;
	struct dgram	 d;
	char		 buf[PATH_MAX + 64], path[PATH_MAX + 64], *cause;
	size_t		 i;

	cr_assert_eq(configure(SVC(qotd), &sc, kv, &cause), 0,
	    "%s", cause);
	for (i = 0; i < 4; i++) {
		tcp_once(SVC(qotd), &sc, &c);
		cr_assert_eq(c.outlen, strlen(want[i % 3]), "quote %zu", i);
		cr_assert(memcmp(c.out, want[i % 3], c.outlen) == 0,
		    "quote %zu: %.*s", i, (int)c.outlen, c.out);
		fake_conn_free(&c);
	}
	/* UDP takes the next one in the same rotation. */
	udp_once(SVC(qotd), &sc, &d, "");
	cr_assert_eq(d.replies, 1);
	cr_assert_eq(d.replylen, strlen(want[1]));
	cr_assert(memcmp(d.reply, want[1], d.replylen) == 0);
	fake_dgram_free(&d);

	SVC(qotd)->conf_describe(&sc, buf, sizeof(buf));
	snprintf(path, sizeof(path), " quotes=3 from %s/quotes-percent.txt",
	    data_dir());
	cr_assert_str_eq(buf, path);
	unconfigure(SVC(qotd), &sc);
}

Test(qotd, blank_line_file)
{
	static const char *const want[] = {
		"One: blank lines separate quotes\r\nin this file.\r\n",
		"Two: CR LF line ends are fine.\r\n",
		"Three: caf\xc3\xa9 is UTF-8.\r\n",
	};
	const char	*kv[] = { "quotes_file", NULL, NULL };
	struct svc_conf	 sc;
	struct conn	 c;
	char		 path[PATH_MAX + 64], *cause;
	size_t		 i;

	/* An absolute name this time. */
	snprintf(path, sizeof(path), "%s/quotes-blank.txt", data_dir());
	kv[1] = path;
	cr_assert_eq(configure(SVC(qotd), &sc, kv, &cause), 0,
	    "%s", cause);
	for (i = 0; i < 3; i++) {
		tcp_once(SVC(qotd), &sc, &c);
		cr_assert_eq(c.outlen, strlen(want[i]), "quote %zu", i);
		cr_assert(memcmp(c.out, want[i], c.outlen) == 0);
		fake_conn_free(&c);
	}
	unconfigure(SVC(qotd), &sc);
}

Test(qotd, conf_errors)
{
	static const char *const missing[] = { "quotes_file",
	    "no-such-file.txt", NULL };
	static const char *const toolong[] = { "quotes_file",
	    "quotes-toolong.txt", NULL };
	const char	*empty[] = { "quotes_file", NULL, NULL };
	char		 path[64], want[PATH_MAX + 64];

	snprintf(want, sizeof(want), "%s/no-such-file.txt: %s", data_dir(),
	    strerror(ENOENT));
	expect_conf_error(SVC(qotd), missing, want);
	expect_conf_error(SVC(qotd), toolong,
	    "quote 2 (line 3) is longer than 512 bytes");
	tmp_file(path, sizeof(path), "", 0);
	empty[1] = path;
	expect_conf_error(SVC(qotd), empty, "empty file");
	unlink(path);
	tmp_file(path, sizeof(path), "\n\n%\n%\n", 6);
	expect_conf_error(SVC(qotd), empty, "no quotes");
	unlink(path);
	expect_key_error(SVC(qotd), "quotes_file", "", "empty");
}

/* ---- banner ---- */

Test(banner, message_tcp_and_udp)
{
	static const char *const kv[] = { "message",
	    "Hello\\r\\n\\tw\\\\rld \\xe7\\xbd\\x91\\r\\n", NULL };
	static const char	 want[] = "Hello\r\n\tw\\rld \xe7\xbd\x91\r\n";
	struct svc_conf		 sc;
	struct conn		 c;
	struct dgram		 d;
	char			 buf[128] = "", *cause;

	cr_assert_eq(configure(SVC(banner), &sc, kv, &cause), 0,
	    "%s", cause);
	tcp_once(SVC(banner), &sc, &c);
	cr_assert_eq(c.outlen, sizeof(want) - 1);
	cr_assert(memcmp(c.out, want, c.outlen) == 0);
	udp_once(SVC(banner), &sc, &d, "");
	cr_assert_eq(d.replylen, sizeof(want) - 1);
	cr_assert(memcmp(d.reply, want, d.replylen) == 0);
	SVC(banner)->conf_describe(&sc, buf, sizeof(buf));
	snprintf(buf + 64, 64, " message=%zu bytes", sizeof(want) - 1);
	cr_assert_str_eq(buf, buf + 64);
	fake_conn_free(&c);
	fake_dgram_free(&d);
	unconfigure(SVC(banner), &sc);
}

Test(banner, message_file_as_is)
{
	static const char *const kv[] = { "message_file", "banner.txt", NULL };
	static const char	 want[] =
	    "网络编程测试。\r\nWelcome to netsvcd.\r\n";
	struct svc_conf		 sc;
	struct conn		 c;
	char			 buf[PATH_MAX + 64], path[PATH_MAX + 64];
	char			*cause;

	cr_assert_eq(configure(SVC(banner), &sc, kv, &cause), 0,
	    "%s", cause);
	tcp_once(SVC(banner), &sc, &c);
	cr_assert_eq(c.outlen, sizeof(want) - 1);
	cr_assert(memcmp(c.out, want, c.outlen) == 0);
	SVC(banner)->conf_describe(&sc, buf, sizeof(buf));
	snprintf(path, sizeof(path), " message_file=%s/banner.txt (%zu bytes)",
	    data_dir(), sizeof(want) - 1);
	cr_assert_str_eq(buf, path);
	fake_conn_free(&c);
	unconfigure(SVC(banner), &sc);
}

Test(banner, biggest_message_and_udp_cut)
{
	const char	*kv[] = { "message_file", NULL, NULL };
	struct svc_conf	 sc;
	struct conn	 c;
	struct dgram	 d;
	char		 path[64], *big, *cause;

	cr_assert_not_null(big = malloc(SERVICE_MAX_MESSAGE + 1));
	memset(big, 'b', SERVICE_MAX_MESSAGE + 1);
	tmp_file(path, sizeof(path), big, SERVICE_MAX_MESSAGE);
	kv[1] = path;
	cr_assert_eq(configure(SVC(banner), &sc, kv, &cause), 0,
	    "%s", cause);
	tcp_once(SVC(banner), &sc, &c);
	cr_assert_eq(c.outlen, SERVICE_MAX_MESSAGE);
	udp_once(SVC(banner), &sc, &d, "");
	cr_assert_eq(d.replylen, 65507, "one IPv4 datagram at most");
	cr_assert(memcmp(d.reply, big, d.replylen) == 0);
	fake_conn_free(&c);
	fake_dgram_free(&d);
	unconfigure(SVC(banner), &sc);
	unlink(path);

	tmp_file(path, sizeof(path), big, SERVICE_MAX_MESSAGE + 1);
	expect_conf_error(SVC(banner), kv, "larger than 65536 bytes");
	unlink(path);
	free(big);
}

Test(banner, conf_errors)
{
	static const char *const both[] = { "message", "hi",
	    "message_file", "banner.txt", NULL };
	static const char *const latin1[] = { "message_file",
	    "banner-latin1.txt", NULL };
	static const char *const missing[] = { "message_file",
	    "no-such-banner.txt", NULL };
	const char	*empty[] = { "message_file", NULL, NULL };
	char		 path[64];

	expect_conf_error(SVC(banner), NULL,
	    "banner needs message or message_file");
	expect_conf_error(SVC(banner), both,
	    "message and message_file are exclusive");
	expect_conf_error(SVC(banner), latin1, "not UTF-8");
	expect_conf_error(SVC(banner), missing, strerror(ENOENT));
	tmp_file(path, sizeof(path), "", 0);
	empty[1] = path;
	expect_conf_error(SVC(banner), empty, "empty file");
	unlink(path);
	expect_key_error(SVC(banner), "message", "bad \\q", "escape");
	expect_key_error(SVC(banner), "message", "cut \\x4", "hex");
	expect_key_error(SVC(banner), "message", "\\xff", "UTF-8");
	expect_key_error(SVC(banner), "message", "\\xed\\xa0\\x80",
	    "UTF-8");
	expect_key_error(SVC(banner), "message", "", "empty");
	expect_key_error(SVC(banner), "message_file", "", "empty");
}

/*
 * The test-only service of fixture.c, added by that file and one line in
 * services-test.list, is in the registry and runs with the block the host
 * allocates from conf_size: its keys, its defaults, its callbacks.
 */
Test(registry, test_only_service)
{
	const struct service	*sv = SVC(fixture);
	const char *const	 kv[] = { "greeting", "hello", NULL };
	struct svc_conf		 sc;
	struct conn		 c;
	char			*cause;
	size_t			 i;
	int			 found = 0;

	for (i = 0; services[i] != NULL; i++)
		found += services[i] == sv;
	cr_assert_eq(found, 1);
	cr_assert_eq(sv->conf_size, 32);
	cr_assert_eq(configure(sv, &sc, NULL, &cause), 0);
	fake_conn_init(&c, sc.data);
	sv->tcp_accept(&c);
	sv->tcp_read(&c, "abcd", 4);
	cr_assert_eq(c.outlen, 3);
	cr_assert_eq(memcmp(c.out, "hi4", 3), 0);
	fake_conn_free(&c);
	unconfigure(sv, &sc);

	cr_assert_eq(configure(sv, &sc, kv, &cause), 0);
	fake_conn_init(&c, sc.data);
	sv->tcp_accept(&c);
	cr_assert_eq(c.outlen, 5);
	cr_assert_eq(memcmp(c.out, "hello", 5), 0);
	fake_conn_free(&c);
	unconfigure(sv, &sc);
	expect_key_error(sv, "greeting", "", "1 to 31 bytes");
}

/* ---- handover (tcp_save / tcp_restore) ---- */

/*
 * Which built-ins hand their connections over (netsvcd(8)): echo, discard
 * and chargen; a restore needs TCP, and a save needs a restore.
 */
Test(handover, builtins_that_hand_over)
{
	const struct service	*sv;
	size_t			 i;

	cr_assert_not_null(svc_named("echo")->tcp_restore);
	cr_assert_not_null(svc_named("discard")->tcp_restore);
	cr_assert_not_null(svc_named("chargen")->tcp_restore);
	cr_assert_not_null(svc_named("chargen")->tcp_save);
	for (i = 0; (sv = services[i]) != NULL; i++) {
		if (sv->tcp_restore != NULL)
			cr_assert(sv->protocols & SERVICE_TCP, "%s", sv->name);
		if (sv->tcp_save != NULL)
			cr_assert_not_null(sv->tcp_restore, "%s", sv->name);
	}
}

Test(handover, echo_and_discard_restore_like_accept)
{
	struct svc_conf	 sc;
	struct conn	 c;
	char		*cause;

	fake_conn_init(&c, NULL);
	cr_assert_eq(svc_named("echo")->tcp_restore(&c, NULL, 0), 0);
	cr_assert_eq(c.echo_input, 1);
	cr_assert_eq(c.outlen, 0);
	/* They saved nothing, so any bytes are not theirs. */
	cr_assert_eq(svc_named("echo")->tcp_restore(&c, "x", 1), -1);
	fake_conn_free(&c);

	cr_assert_eq(configure(svc_named("discard"), &sc, NULL, &cause), 0);
	fake_conn_init(&c, sc.data);
	cr_assert_eq(svc_named("discard")->tcp_restore(&c, NULL, 0), 0);
	cr_assert_eq(c.drop_input, 1);
	cr_assert_eq(svc_named("discard")->tcp_restore(&c, "x", 1), -1);
	fake_conn_free(&c);
	unconfigure(svc_named("discard"), &sc);
}

Test(handover, chargen_goes_on_from_the_next_byte)
{
	static const size_t	 firsts[] = { 0, 1, 71, 72, 73, 7029, 7030,
	    100000 };
	struct svc_conf		 sc;
	struct conn		 a, b;
	unsigned char		 state[SERVICE_STATE_MAX];
	char			*cause;
	size_t			 i, p, len;

	cr_assert_eq(configure(svc_named("chargen"), &sc, NULL, &cause), 0);
	for (i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		fake_conn_init(&a, sc.data);
		a.capacity = firsts[i];
		while (a.capacity > 0)
			svc_named("chargen")->tcp_write_ready(&a);
		len = sizeof(state);
		cr_assert_eq(svc_named("chargen")->tcp_save(&a, state, &len), 0);
		cr_assert_eq(len, 4);
		/* The new process: a fresh connection, then the state. */
		fake_conn_init(&b, sc.data);
		cr_assert_eq(svc_named("chargen")->tcp_restore(&b, state, len), 0);
		b.capacity = 2 * CHARGEN_PERIOD;
		svc_named("chargen")->tcp_write_ready(&b);
		for (p = 0; p < b.outlen; p++)
			cr_assert_eq(b.out[p], stream_byte(firsts[i] + p),
			    "after %zu: byte %zu", firsts[i], p);
		fake_conn_free(&a);
		fake_conn_free(&b);
	}
	unconfigure(svc_named("chargen"), &sc);
}

Test(handover, chargen_refuses_bad_state)
{
	struct conn	c;
	unsigned char	big[4] = { 0x76, 0x1b, 0, 0 };	/* 7030 */
	size_t		len = 3;

	fake_conn_init(&c, NULL);
	cr_assert_eq(svc_named("chargen")->tcp_restore(&c, big, 4), -1);
	cr_assert_eq(svc_named("chargen")->tcp_restore(&c, big, 3), -1);
	cr_assert_eq(svc_named("chargen")->tcp_restore(&c, NULL, 0), -1);
	big[0] = 0x75;	/* 7029: the last position */
	cr_assert_eq(svc_named("chargen")->tcp_restore(&c, big, 4), 0);
	cr_assert_eq((uintptr_t)c.data, 7029);
	/* No room for the state: cannot be handed over. */
	cr_assert_eq(svc_named("chargen")->tcp_save(&c, big, &len), -1);
	fake_conn_free(&c);
}
