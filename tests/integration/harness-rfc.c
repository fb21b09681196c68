/*
 * harness-rfc.c: the services fixture (every service on TCP and UDP, both
 * families), test data, and the checks of what RFC 864, 867 and 868
 * services send.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness-int.h"

/* 1900-01-01 to 1970-01-01 in seconds, the offset of RFC 868. */
#define HS_RFC868_EPOCH	2208988800U

static const char *hs_check_chargen(const char *, size_t, int);
static int	 hs_cycle(int, int);
static uint64_t	 hs_splitmix(uint64_t);

/* ---- The services fixture ---- */

/* The quotes file of instance "qotd": three quotes, "%" lines between. */
const char *const hs_quotes[HS_NQUOTES] = {
	"Every loop needs a bound.",
	"Measure twice, cut once.",
	"A quote that spans\ntwo lines of the file.",
};

/* "Network programming test." in Chinese, the tutorial's greeting. */
const char hs_banner_utf8[] = "\xe7\xbd\x91\xe7\xbb\x9c\xe7\xbc\x96"
    "\xe7\xa8\x8b\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x82\r\n";
const char hs_banner_file[] = "from a file\r\nsecond line\r\n";
const char hs_banner_esc[] = "tab\there\x21 back\\slash\r\n";

/* The banner instances and their bytes, for tests that walk them all. */
const struct hs_banner hs_banners[HS_NBANNERS] = {
	{ "banner", hs_banner_utf8 },
	{ "banner_file", hs_banner_file },
	{ "banner_esc", hs_banner_esc },
};

#define HS_LISTEN_ALL	"listen = tcp://127.0.0.1:0 tcp://[::1]:0 " \
			"udp://127.0.0.1:0 udp://[::1]:0\n"

/* Start the services fixture described in harness.h. */
struct hs_daemon *
hs_spawn_services(void)
{
	struct hs_daemon	*d = hs_new();
	const char		*quotes, *message;
	char			 text[512], *conf;
	int			 n;

	n = snprintf(text, sizeof(text), "%s\n%%\n%s\n%%\n%s\n",
	    hs_quotes[0], hs_quotes[1], hs_quotes[2]);
	quotes = hs_file(d, "quotes.txt", text, (size_t)n);
	message = hs_file(d, "banner.txt", hs_banner_file,
	    strlen(hs_banner_file));
	n = asprintf(&conf,
	    "[daemon]\n"
	    "max_connections = 512\n"
	    "shutdown_timeout = 5s\n"
	    "\n"
	    "[echo]\nservice = echo\n" HS_LISTEN_ALL "\n"
	    "[discard]\nservice = discard\n" HS_LISTEN_ALL "\n"
	    "[chargen]\nservice = chargen\n" HS_LISTEN_ALL "\n"
	    "[daytime]\nservice = daytime\n" HS_LISTEN_ALL "\n"
	    "[time]\nservice = time\n" HS_LISTEN_ALL "\n"
	    "[qotd]\nservice = qotd\n" HS_LISTEN_ALL
	    "quotes_file = %s\n\n"
	    "[banner]\nservice = banner\n" HS_LISTEN_ALL
	    "message = \xe7\xbd\x91\xe7\xbb\x9c\xe7\xbc\x96\xe7\xa8\x8b"
	    "\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x82\\r\\n\n\n"
	    "[banner_file]\nservice = banner\n" HS_LISTEN_ALL
	    "message_file = %s\n\n"
	    "[banner_esc]\nservice = banner\n" HS_LISTEN_ALL
	    "message = tab\\there\\x21 back\\\\slash\\r\\n\n\n"
	    "[daytime_fmt]\nservice = daytime\n" HS_LISTEN_ALL
	    "format = %%Y-%%m-%%dT%%H:%%M:%%SZ\nutc = yes\n",
	    quotes, message);
	cr_assert(n != -1, "harness: out of memory");
	hs_start(d, conf);
	free(conf);
	return d;
}

/* Which of hs_quotes the bytes are (CR dropped, end trimmed), or -1. */
int
hs_quote_index(const char *buf, size_t len)
{
	char	text[1024];
	size_t	i, n = 0;

	for (i = 0; i < len && n < sizeof(text) - 1; i++)
		if (buf[i] != '\r')
			text[n++] = buf[i];
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' ||
	    text[n - 1] == '\t'))
		n--;
	text[n] = '\0';
	for (i = 0; i < HS_NQUOTES; i++)
		if (strcmp(text, hs_quotes[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- Data and checks ---- */

/* SplitMix64, a tiny good PRNG step. */
static uint64_t
hs_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Fill buf with bytes offset .. offset+len-1 of the pseudo-random stream
 * named by seed, so a long stream can be checked piece by piece.
 */
void
hs_pattern(void *buf, size_t len, uint64_t seed, uint64_t offset)
{
	unsigned char	*p = buf;
	uint64_t	 pos, word = 0, block = UINT64_MAX;
	size_t		 i;

	seed = hs_splitmix(seed);
	for (i = 0; i < len; i++) {
		pos = offset + i;
		if (pos / 8 != block) {
			block = pos / 8;
			word = hs_splitmix(seed ^
			    (block * 0xd1342543de82ef95ULL));
		}
		p[i] = (unsigned char)(word >> (8 * (pos % 8)));
	}
}

/* Printable form of bytes for messages (at most ~200 shown). */
const char *
hs_show(const void *data, size_t len)
{
	static char		 ring[4][1024];
	static unsigned int	 next;
	const unsigned char	*p = data;
	char			*s = ring[next++ % 4];
	size_t			 i, off;

	off = (size_t)snprintf(s, 64, "%zu bytes \"", len);
	for (i = 0; i < len && i < 200; i++) {
		if (p[i] == '\r')
			off += (size_t)snprintf(s + off, 8, "\\r");
		else if (p[i] == '\n')
			off += (size_t)snprintf(s + off, 8, "\\n");
		else if (p[i] == '\\' || p[i] == '"')
			off += (size_t)snprintf(s + off, 8, "\\%c", p[i]);
		else if (p[i] >= 32 && p[i] < 127)
			s[off++] = (char)p[i];
		else
			off += (size_t)snprintf(s + off, 8, "\\x%02x", p[i]);
	}
	snprintf(s + off, 8, "\"%s", i < len ? "..." : "");
	return s;
}

/* "127.0.0.1" or "::1", for messages. */
const char *
hs_family_name(int family)
{
	return family == AF_INET6 ? "[::1]" : "127.0.0.1";
}

/* c + k in the cycle of the 95 printable characters 32..126 (RFC 864). */
static int
hs_cycle(int c, int k)
{
	return (c - 32 + k % 95 + 95) % 95 + 32;
}

/*
 * Check bytes against RFC 864's pattern: runs of printable characters, each
 * the next of the 95-character cycle, separated by CR LF; every complete
 * line is 72 characters and each line starts one character later than the
 * previous one.  With whole set, the bytes must be complete lines; without,
 * they may start and end anywhere in the pattern.
 */
static const char *
hs_check_chargen(const char *buf, size_t len, int whole)
{
	static char		 why[256];
	const unsigned char	*p = (const unsigned char *)buf;
	size_t			 i, run = 0, line = 0;
	int			 c, first = -1, prev_first = -1;
	int			 start_known = whole;

	if (whole && (len == 0 || len % 74 != 0))
		return "not a whole number of 74-byte lines";
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == '\r') {
			if (i + 1 < len && p[i + 1] != '\n')
				goto bad;
			if (i == 0 && !whole)
				continue;
			if (start_known ? run != 72 : run == 0 || run > 72) {
				snprintf(why, sizeof(why), "line %zu has %zu "
				    "characters, not 72", line, run);
				return why;
			}
			/* A line's first character, seen or worked out. */
			prev_first = start_known ? first :
			    hs_cycle(p[i - 1], -71);
			continue;
		}
		if (c == '\n') {
			if (i > 0 && p[i - 1] != '\r')
				goto bad;
			run = 0;
			start_known = 1;
			first = -1;
			line++;
			continue;
		}
		if (c < 32 || c > 126)
			goto bad;
		if (run == 0 && start_known) {
			if (prev_first != -1 && c != hs_cycle(prev_first, 1)) {
				snprintf(why, sizeof(why), "line %zu starts "
				    "with '%c', not one after '%c'", line, c,
				    prev_first);
				return why;
			}
			first = c;
		} else if (run > 0 && c != hs_cycle(p[i - 1], 1))
			goto bad;
		if (++run > 72) {
			snprintf(why, sizeof(why), "line %zu is longer than "
			    "72 characters", line);
			return why;
		}
	}
	if (whole && run != 0)
		return "does not end in CR LF";
	return NULL;
bad:
	snprintf(why, sizeof(why), "byte %zu (0x%02x) of line %zu breaks the "
	    "pattern", i, p[i], line);
	return why;
}

/* TCP chargen: complete 74-byte lines.  NULL when good, else why not. */
const char *
hs_check_chargen_tcp(const char *buf, size_t len)
{
	return hs_check_chargen(buf, len, 1);
}

/* UDP chargen: 0..512 bytes of the pattern.  NULL when good. */
const char *
hs_check_chargen_run(const char *buf, size_t len)
{
	if (len > 512)
		return "longer than 512 bytes";
	return hs_check_chargen(buf, len, 0);
}

/*
 * Daytime default format: "Wednesday, November 25, 2026 10:24:29-UTC\r\n",
 * and the time within 2 s of now.  NULL when good, else why not.
 */
const char *
hs_check_daytime(const char *buf, size_t len)
{
	static const char re_text[] = "^(Monday|Tuesday|Wednesday|Thursday|"
	    "Friday|Saturday|Sunday), (January|February|March|April|May|"
	    "June|July|August|September|October|November|December) "
	    "( ?[0-9]|[0-9]{2}), [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}-UTC$";
	static char	 why[128];
	char		 line[256];
	regex_t		 re;
	struct tm	 tm;
	time_t		 t, now = time(NULL);
	int		 r;

	if (len < 2 || len >= sizeof(line) || buf[len - 2] != '\r' ||
	    buf[len - 1] != '\n')
		return "not one line ending in CR LF";
	memcpy(line, buf, len - 2);
	line[len - 2] = '\0';
	if (strpbrk(line, "\r\n") != NULL)
		return "more than one line";
	if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
		return "harness: bad regex";
	r = regexec(&re, line, 0, NULL, 0);
	regfree(&re);
	if (r != 0)
		return "does not match \"DAYNAME, MONTHNAME DD, YYYY "
		    "HH:MM:SS-UTC\"";
	memset(&tm, 0, sizeof(tm));
	if (strptime(line, "%A, %B %d, %Y %H:%M:%S", &tm) == NULL)
		return "strptime failed";
	t = timegm(&tm);
	if (t < now - 2 || t > now + 2) {
		snprintf(why, sizeof(why), "%lld s away from now (UTC)",
		    (long long)(t - now));
		return why;
	}
	return NULL;
}

/*
 * RFC 868: exactly 4 bytes, big-endian seconds since 1900 modulo 2^32,
 * within 2 s of time(NULL).  NULL when good, else why not.
 */
const char *
hs_check_time(const unsigned char *buf, size_t len)
{
	static char	 why[128];
	uint32_t	 got, want;
	int32_t		 diff;

	if (len != 4)
		return "not exactly 4 bytes";
	got = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	want = (uint32_t)((uint64_t)time(NULL) + HS_RFC868_EPOCH);
	diff = (int32_t)(got - want);
	if (diff < -2 || diff > 2) {
		snprintf(why, sizeof(why), "%u is %d s away from %u", got,
		    diff, want);
		return why;
	}
	return NULL;
}
