/*
 * test-proto.c: unit tests of the pure protocol helpers in services/proto.h
 * (chargen pattern, RFC 868 time, daytime lines, qotd files, banner
 * escapes, UTF-8 checks, log escapes and the log rate limiter).
 */
#include <sys/stat.h>

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "log.h"
#include "proto.h"

/* 2026-11-25 10:24:29 UTC, a Wednesday. */
#define T_SAMPLE	((time_t)1795602269)

/*
 * The first lines of the example in RFC 864, and lines 22 to 24 around
 * the place where the space (character 94 of the ring) first shows.
 */
static const char *const rfc864_lines[] = {
	"!\"#$%&'()*+,-./0123456789:;<=>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh",
	"\"#$%&'()*+,-./0123456789:;<=>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi",
	"#$%&'()*+,-./0123456789:;<=>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghij",
	"$%&'()*+,-./0123456789:;<=>?@"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijk",
};
static const char rfc864_line22[] =
    "789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
static const char rfc864_line23[] =
    "89:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ";
static const char rfc864_line24[] =
    "9:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ !";

/* Expect qotd_split to fail on a string literal with the message want. */
#define SPLIT_ERROR(text, want)	expect_split_error(text, sizeof(text) - 1, want)

static void	expect_line(unsigned int, const char *);
static void	*ring_thread(void *);
static void	expect_quote(const struct qotd_quotes *, size_t, const char *);
static void	expect_split_error(const char *, size_t, const char *);
static void	expect_unescape(const char *, const char *, size_t);
static void	expect_unescape_error(const char *);

/* Check that chargen line k is text followed by CR LF. */
static void
expect_line(unsigned int k, const char *text)
{
	char	line[CHARGEN_LINE];

	cr_assert_eq(strlen(text), CHARGEN_WIDTH);
	chargen_line(line, k);
	cr_assert(memcmp(line, text, CHARGEN_WIDTH) == 0,
	    "line %u is \"%.72s\", want \"%s\"", k, line, text);
	cr_assert_eq(line[CHARGEN_WIDTH], '\r');
	cr_assert_eq(line[CHARGEN_WIDTH + 1], '\n');
}

Test(chargen, rfc864_example_lines)
{
	unsigned int	k;

	for (k = 0; k < sizeof(rfc864_lines) / sizeof(rfc864_lines[0]); k++)
		expect_line(k, rfc864_lines[k]);
	expect_line(22, rfc864_line22);
	expect_line(23, rfc864_line23);
	expect_line(24, rfc864_line24);
}

Test(chargen, ring_is_bang_to_tilde_then_space)
{
	unsigned int	i;

	for (i = 0; i < 94; i++)
		cr_assert_eq(chargen_char(i), (char)('!' + i));
	cr_assert_eq(chargen_char(94), ' ');
	cr_assert_eq(chargen_char(95), '!');
	cr_assert_eq(chargen_char(95 * 3 + 94), ' ');
}

Test(chargen, wraps_after_95_lines)
{
	char		a[CHARGEN_LINE], b[CHARGEN_LINE];
	unsigned int	k, j;

	cr_assert_eq(CHARGEN_PERIOD, 7030);
	for (k = 0; k < 3 * CHARGEN_NCHARS; k++) {
		chargen_line(a, k);
		chargen_line(b, k % CHARGEN_NCHARS);
		cr_assert(memcmp(a, b, CHARGEN_LINE) == 0, "line %u", k);
	}
	/* Within one period, the 95 lines all differ (first characters). */
	for (k = 0; k < CHARGEN_NCHARS; k++) {
		chargen_line(a, k);
		for (j = k + 1; j < CHARGEN_NCHARS; j++) {
			chargen_line(b, j);
			cr_assert_neq(a[0], b[0], "lines %u and %u", k, j);
		}
	}
	/* Line 94 starts with the space, line 95 is line 0 again. */
	chargen_line(a, 94);
	cr_assert_eq(a[0], ' ');
	cr_assert_eq(a[1], '!');
	expect_line(95, rfc864_lines[0]);
	chargen_line(a, UINT32_MAX);
	chargen_line(b, UINT32_MAX % CHARGEN_NCHARS);
	cr_assert(memcmp(a, b, CHARGEN_LINE) == 0);
}

Test(chargen, every_line_printable)
{
	char		line[CHARGEN_LINE];
	unsigned int	k, j;

	for (k = 0; k < CHARGEN_NCHARS; k++) {
		chargen_line(line, k);
		for (j = 0; j < CHARGEN_WIDTH; j++)
			cr_assert(line[j] >= 32 && line[j] <= 126,
			    "line %u col %u: %d", k, j, line[j]);
		/* Each line walks the ring one step per column. */
		for (j = 1; j < CHARGEN_WIDTH; j++)
			cr_assert_eq(line[j], chargen_char(k + j));
	}
}

Test(chargen, ring_matches_lines_everywhere)
{
	const char	*ring = chargen_ring();
	char		 line[CHARGEN_LINE];
	size_t		 p;

	cr_assert_geq(CHARGEN_RING_LEN - (CHARGEN_PERIOD - 1), CHARGEN_CHUNK);
	for (p = 0; p < CHARGEN_RING_LEN; p++) {
		if (p % CHARGEN_LINE == 0)
			chargen_line(line, (unsigned int)(p / CHARGEN_LINE));
		cr_assert_eq(ring[p], line[p % CHARGEN_LINE], "ring[%zu]", p);
		if (p >= CHARGEN_PERIOD)
			cr_assert_eq(ring[p], ring[p - CHARGEN_PERIOD]);
	}
	cr_assert_eq(chargen_ring(), ring, "built once");
}

/* Get the ring from a thread; store it in *arg if it starts with line 0. */
static void *
ring_thread(void *arg)
{
	const char	**slot = arg;
	const char	 *ring = chargen_ring();

	if (memcmp(ring, rfc864_lines[0], CHARGEN_WIDTH) == 0 &&
	    ring[CHARGEN_RING_LEN - 1] ==
	    ring[CHARGEN_RING_LEN - 1 - CHARGEN_PERIOD])
		*slot = ring;
	return NULL;
}

Test(chargen, ring_first_use_from_threads)
{
	pthread_t	 t[8];
	const char	*r[8] = { NULL };
	size_t		 i;

	for (i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, ring_thread, &r[i]),
		    0);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert(r[i] != NULL, "thread %zu", i);
		cr_assert_eq(r[i], r[0]);
	}
}

Test(time, known_values)
{
	cr_assert_eq(time_rfc868(0), 2208988800U);
	cr_assert_eq(time_rfc868(946684800), 3155673600U);
	/* 1900-01-01 00:00:00 UTC. */
	cr_assert_eq(time_rfc868((time_t)-2208988800LL), 0);
	cr_assert_eq(time_rfc868(T_SAMPLE), 4004591069U);
}

Test(time, wraps_on_2036_02_07)
{
	/* 2036-02-07 06:28:15 and 06:28:16 UTC. */
	cr_assert_eq(time_rfc868((time_t)2085978495), 0xffffffffU);
	cr_assert_eq(time_rfc868((time_t)2085978496), 0);
	cr_assert_eq(time_rfc868((time_t)2085978497), 1);
	/* 2100-01-01 00:00:00 UTC: 4102444800 + 2208988800 - 2^32. */
	cr_assert_eq(time_rfc868((time_t)4102444800LL), 2016466304U);
}

Test(time, wire_bytes_big_endian)
{
	unsigned char	b[4];

	time_rfc868_bytes(0, b);
	cr_assert_eq(b[0], 0x83);
	cr_assert_eq(b[1], 0xaa);
	cr_assert_eq(b[2], 0x7e);
	cr_assert_eq(b[3], 0x80);
	time_rfc868_bytes((time_t)2085978495, b);
	cr_assert(b[0] == 0xff && b[1] == 0xff && b[2] == 0xff && b[3] == 0xff);
	time_rfc868_bytes((time_t)2085978497, b);
	cr_assert(b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 1);
}

Test(daytime, default_format_utc)
{
	locale_t	loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char		buf[DAYTIME_MAX];
	size_t		n;

	n = daytime_format(buf, sizeof(buf), DAYTIME_DEFAULT_FORMAT, T_SAMPLE,
	    1, loc);
	cr_assert_str_eq(buf, "Wednesday, November 25, 2026 10:24:29-UTC\r\n");
	cr_assert_eq(n, strlen(buf));
	freelocale(loc);
}

Test(daytime, custom_format)
{
	locale_t	loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char		buf[DAYTIME_MAX];

	cr_assert_gt(daytime_format(buf, sizeof(buf),
	    "%Y-%m-%dT%H:%M:%SZ", T_SAMPLE, 1, loc), 0);
	cr_assert_str_eq(buf, "2026-11-25T10:24:29Z\r\n");
	cr_assert_gt(daytime_format(buf, sizeof(buf), "%a %b %e %j",
	    T_SAMPLE, 1, loc), 0);
	cr_assert_str_eq(buf, "Wed Nov 25 329\r\n");
	freelocale(loc);
}

Test(daytime, local_time_follows_tz)
{
	locale_t	loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char		buf[DAYTIME_MAX];

	setenv("TZ", "JST-9", 1);
	tzset();
	cr_assert_gt(daytime_format(buf, sizeof(buf),
	    DAYTIME_DEFAULT_FORMAT, T_SAMPLE, 0, loc), 0);
	cr_assert_str_eq(buf, "Wednesday, November 25, 2026 19:24:29-JST\r\n");
	/* utc ignores TZ. */
	cr_assert_gt(daytime_format(buf, sizeof(buf),
	    DAYTIME_DEFAULT_FORMAT, T_SAMPLE, 1, loc), 0);
	cr_assert_str_eq(buf, "Wednesday, November 25, 2026 10:24:29-UTC\r\n");
	setenv("TZ", "EST5", 1);
	tzset();
	cr_assert_gt(daytime_format(buf, sizeof(buf), "%H:%M %Z",
	    T_SAMPLE, 0, loc), 0);
	cr_assert_str_eq(buf, "05:24 EST\r\n");
	freelocale(loc);
}

Test(daytime, too_small_or_empty)
{
	locale_t	loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char		buf[DAYTIME_MAX];

	/* "2026\r\n" needs 7 bytes with its NUL. */
	cr_assert_eq(daytime_format(buf, 7, "%Y", T_SAMPLE, 1, loc), 6);
	cr_assert_str_eq(buf, "2026\r\n");
	cr_assert_eq(daytime_format(buf, 6, "%Y", T_SAMPLE, 1, loc), 0);
	cr_assert_eq(daytime_format(buf, 2, "%Y", T_SAMPLE, 1, loc), 0);
	cr_assert_eq(daytime_format(buf, sizeof(buf), "", T_SAMPLE, 1,
	    loc), 0);
	freelocale(loc);
}

/* Check quote i of q against its expected wire text. */
static void
expect_quote(const struct qotd_quotes *q, size_t i, const char *text)
{
	cr_assert_lt(i, q->count);
	cr_assert_eq(q->quote[i].len, strlen(text), "quote %zu", i);
	cr_assert_str_eq(q->quote[i].text, text, "quote %zu", i);
}

Test(qotd, percent_separated)
{
	static const char	 text[] =
	    "%\nFirst,\nin two lines.\n%\n\n  \nSecond.\n\nParagraph two.\n\n"
	    "%\n%\r\nThird, no LF at the end.";
	struct qotd_quotes	 q;
	char			*cause = NULL;

	cr_assert_eq(qotd_split(text, strlen(text), &q, &cause), 0);
	cr_assert_null(cause);
	cr_assert_eq(q.count, 3);
	expect_quote(&q, 0, "First,\r\nin two lines.\r\n");
	expect_quote(&q, 1, "Second.\r\n\r\nParagraph two.\r\n");
	expect_quote(&q, 2, "Third, no LF at the end.\r\n");
	qotd_quotes_free(&q);
	cr_assert_eq(q.count, 0);
}

Test(qotd, blank_line_separated)
{
	static const char	 text[] =
	    "\n\nOne: first line\r\nsecond line\r\n\r\n\r\n"
	    "Two\n \t \nThree: caf\xc3\xa9\n\n";
	struct qotd_quotes	 q;
	char			*cause = NULL;

	cr_assert_eq(qotd_split(text, strlen(text), &q, &cause), 0);
	cr_assert_eq(q.count, 3);
	expect_quote(&q, 0, "One: first line\r\nsecond line\r\n");
	expect_quote(&q, 1, "Two\r\n");
	expect_quote(&q, 2, "Three: caf\xc3\xa9\r\n");
	qotd_quotes_free(&q);
}

Test(qotd, percent_must_be_alone_on_its_line)
{
	static const char	 text[] = "50 %\n%%\nstill one quote\n";
	struct qotd_quotes	 q;
	char			*cause = NULL;

	cr_assert_eq(qotd_split(text, strlen(text), &q, &cause), 0);
	cr_assert_eq(q.count, 1);
	expect_quote(&q, 0, "50 %\r\n%%\r\nstill one quote\r\n");
	qotd_quotes_free(&q);
}

Test(qotd, longest_quote_fits)
{
	char			 text[600];
	struct qotd_quotes	 q;
	char			*cause = NULL;

	/* 510 characters and CR LF: exactly QOTD_MAX bytes on the wire. */
	memset(text, 'a', 510);
	text[510] = '\n';
	text[511] = '\0';
	cr_assert_eq(qotd_split(text, strlen(text), &q, &cause), 0);
	cr_assert_eq(q.quote[0].len, QOTD_MAX);
	qotd_quotes_free(&q);
}

Test(qotd, too_long_names_quote_and_line)
{
	char			 text[700];
	struct qotd_quotes	 q;
	char			*cause = NULL;
	size_t			 n;

	n = (size_t)snprintf(text, sizeof(text), "short\n\n\nlong:\n");
	memset(text + n, 'b', 509);
	text[n + 509] = '\0';
	/* "long:" CR LF (7) + 509 + CR LF = 518 bytes. */
	cr_assert_eq(qotd_split(text, strlen(text), &q, &cause), -1);
	cr_assert_str_eq(cause, "quote 2 (line 4) is longer than 512 bytes");
	cr_assert_eq(q.count, 0);
	cr_assert_null(q.buf);
	free(cause);
}

Test(qotd, no_quotes)
{
	SPLIT_ERROR("", "no quotes");
	SPLIT_ERROR("\n\n \n\t\n", "no quotes");
	SPLIT_ERROR("%\n%\n\n%\n", "no quotes");
}

Test(qotd, bad_characters)
{
	SPLIT_ERROR("fine\nbell \a here\n",
	    "line 2: control character or invalid UTF-8");
	SPLIT_ERROR("fine\n\nlatin-1 caf\xe9\n",
	    "line 3: control character or invalid UTF-8");
	SPLIT_ERROR("nul\0byte", "line 1: control character or "
	    "invalid UTF-8");
}

/* Split len bytes of text and expect the error want. */
static void
expect_split_error(const char *text, size_t len, const char *want)
{
	struct qotd_quotes	 q;
	char			*cause = NULL;

	cr_assert_eq(qotd_split(text, len, &q, &cause), -1, "%s", want);
	cr_assert_not_null(cause);
	cr_assert_str_eq(cause, want);
	cr_assert_eq(q.count, 0);
	free(cause);
}

Test(qotd, builtin_quotes_are_wire_ready)
{
	size_t	i;

	cr_assert_geq(qotd_nbuiltin, 5);
	for (i = 0; i < qotd_nbuiltin; i++) {
		cr_assert_eq(strlen(qotd_builtin[i].text), qotd_builtin[i].len);
		cr_assert_leq(qotd_builtin[i].len, QOTD_MAX);
		cr_assert_gt(qotd_builtin[i].len, 2);
		cr_assert_eq(memcmp(qotd_builtin[i].text +
		    qotd_builtin[i].len - 2, "\r\n", 2), 0);
		cr_assert_null(memchr(qotd_builtin[i].text, '\n',
		    qotd_builtin[i].len - 1), "one line each");
	}
}

/* Unescape in and expect len bytes of want. */
static void
expect_unescape(const char *in, const char *want, size_t len)
{
	char		 out[256];
	const char	*cause = NULL;
	ssize_t		 n;

	n = banner_unescape(in, out, &cause);
	cr_assert_eq((size_t)n, len, "\"%s\": %s", in,
	    cause != NULL ? cause : "");
	cr_assert(memcmp(out, want, len) == 0, "\"%s\"", in);
}

/* Unescape in and expect an error. */
static void
expect_unescape_error(const char *in)
{
	char		 out[256];
	const char	*cause = NULL;

	cr_assert_eq(banner_unescape(in, out, &cause), -1, "\"%s\"", in);
	cr_assert(cause != NULL, "\"%s\" has no cause", in);
}

Test(banner, unescape)
{
	expect_unescape("plain", "plain", 5);
	expect_unescape("Hi\\r\\n", "Hi\r\n", 4);
	expect_unescape("a\\tb\\\\c", "a\tb\\c", 5);
	expect_unescape("\\x41\\x7e\\x7E\\x00z", "A~~\0z", 5);
	expect_unescape("\\xe7\\xbd\\x91", "\xe7\xbd\x91", 3);
	expect_unescape("网络编程测试。\\r\\n",
	    "网络编程测试。\r\n", strlen("网络编程测试。\r\n"));
	expect_unescape("", "", 0);
}

Test(banner, unescape_errors)
{
	expect_unescape_error("bad \\q escape");
	expect_unescape_error("trailing\\");
	expect_unescape_error("\\x4");
	expect_unescape_error("\\x4g");
	expect_unescape_error("\\xZZ");
	expect_unescape_error("\\X41");
}

Test(utf8, valid)
{
	static const char *const ok[] = {
		"", "plain ASCII\r\n", "caf\xc3\xa9", "网络编程测试。\r\n",
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
		"\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
		"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
	};
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(utf8_valid(ok[i], strlen(ok[i])), "case %zu", i);
	cr_assert(utf8_valid("a\0b", 3), "NUL is U+0000");
}

Test(utf8, invalid)
{
	static const char *const bad[] = {
		/* overlong forms */
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
		/* UTF-16 surrogates */
		"\xed\xa0\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbf\xbf",
		/* above U+10FFFF, and bytes never used */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
		"\xfe", "\xff",
		/* truncated sequences */
		"\xc3", "\xe7\xbd", "\xf0\x9f\x98", "ok \xe7\xbd",
		/* stray or missing continuation bytes */
		"\x80", "a\xbf\x62", "\xc3\x28", "\xe7\x28\x91", "\xe7\xbd\x28",
		"\xf0\x9f\x28\x80", "\xf0\x9f\x98\x28",
		/* Latin-1 text */
		"caf\xe9",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(utf8_valid(bad[i], strlen(bad[i])),
		    "case %zu", i);
	/* A valid sequence cut by the length given. */
	cr_assert_not(utf8_valid("\xe7\xbd\x91", 2));
}

Test(escape, log_escapes)
{
	char	out[64];
	size_t	n;

	n = proto_escape(out, sizeof(out), "a\\b\r\n\t\x01\xff~ ", 10);
	cr_assert_eq(n, 10);
	cr_assert_str_eq(out, "a\\\\b\\r\\n\\t\\x01\\xff~ ");
	n = proto_escape(out, sizeof(out), "x\0y", 3);
	cr_assert_str_eq(out, "x\\x00y");
}

Test(escape, never_cuts_an_escape)
{
	char	out[8];
	size_t	n;

	/* "ab" fits, "\x01" (4) would need 7 bytes with the NUL: 6 only. */
	n = proto_escape(out, 6, "ab\x01" "c", 4);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out, "ab");
	n = proto_escape(out, 7, "ab\x01" "c", 4);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(out, "ab\\x01");
	n = proto_escape(out, 1, "abc", 3);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(out, "");
}

Test(rate, ten_per_second)
{
	struct log_rate	r = { 0 };
	unsigned long	n;
	int		i, allowed = 0;

	for (i = 0; i < 25; i++) {
		n = log_rate_take(&r, 100, 10);
		cr_assert(n <= 1);
		allowed += (int)n;
	}
	cr_assert_eq(allowed, 10);
	/* The next second reports the 15 held back, once. */
	cr_assert_eq(log_rate_take(&r, 101, 10), 16);
	cr_assert_eq(log_rate_take(&r, 101, 10), 1);
	cr_assert_eq(log_rate_take(&r, 205, 10), 1);
	/* One a second: the daemon's limits. */
	cr_assert_eq(log_rate_take(&r, 300, 1), 1);
	cr_assert_eq(log_rate_take(&r, 300, 1), 0);
	cr_assert_eq(log_rate_take(&r, 300, 1), 0);
	cr_assert_eq(log_rate_take(&r, 301, 1), 3);
}

/* The tail of a burst: reported once its second is over, then counted anew. */
Test(rate, drain_after_the_second)
{
	struct log_rate	r = { 0 };

	cr_assert_eq(log_rate_drain(&r, 100), 0);	/* nothing held */
	cr_assert_eq(log_rate_take(&r, 100, 1), 1);
	cr_assert_eq(log_rate_take(&r, 100, 1), 0);
	cr_assert_eq(log_rate_take(&r, 100, 1), 0);
	cr_assert_eq(log_rate_drain(&r, 100), 0);	/* its second goes on */
	cr_assert_eq(log_rate_drain(&r, 101), 2);
	cr_assert_eq(log_rate_drain(&r, 102), 0);	/* reported once */
	/* The drain used up second 101: an event in it is held back. */
	cr_assert_eq(log_rate_take(&r, 101, 1), 0);
	cr_assert_eq(log_rate_take(&r, 102, 1), 2);
}

Test(conf, bools)
{
	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "False", "off", "0" };
	static const char *const bad[] = { "", "y", "2", "maybe", "yes " };
	size_t	i;
	int	v;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		cr_assert_eq(proto_parse_bool(yes[i], &v), 0, "%s", yes[i]);
		cr_assert_eq(v, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = -1;
		cr_assert_eq(proto_parse_bool(no[i], &v), 0, "%s", no[i]);
		cr_assert_eq(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(proto_parse_bool(bad[i], &v), -1, "\"%s\"",
		    bad[i]);
}

Test(conf, read_file)
{
	char	 dir[] = "/tmp/netsvcd-test-XXXXXX", path[300], *buf, *cause;
	size_t	 len;
	FILE	*f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("0123456789", f);
	fclose(f);

	cr_assert_eq(proto_read_file(path, 10, &buf, &len, &cause), 0);
	cr_assert_eq(len, 10);
	cr_assert_str_eq(buf, "0123456789");
	free(buf);

	cr_assert_eq(proto_read_file(path, 9, &buf, &len, &cause), -1);
	cr_assert_not_null(strstr(cause, "larger than 9 bytes"), "%s", cause);
	cr_assert_null(buf);
	free(cause);

	cr_assert_eq(proto_read_file(dir, 10, &buf, &len, &cause), -1);
	cr_assert_not_null(strstr(cause, "not a regular file"), "%s", cause);
	free(cause);

	unlink(path);
	cr_assert_eq(proto_read_file(path, 10, &buf, &len, &cause), -1);
	cr_assert_not_null(strstr(cause, path), "%s", cause);
	cr_assert_not_null(strstr(cause, strerror(ENOENT)), "%s", cause);
	free(cause);
	rmdir(dir);
}

/* A FIFO (a config mistake) is refused at once, never waited on. */
Test(proto, read_file_refuses_fifo_without_blocking, .timeout = 10)
{
	char	 dir[] = "/tmp/netsvcd-test-XXXXXX", path[300], *buf, *cause;
	size_t	 len;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(proto_read_file(path, 10, &buf, &len, &cause), -1);
	cr_assert_not_null(strstr(cause, "not a regular file"), "%s", cause);
	free(cause);
	unlink(path);
	rmdir(dir);
}
