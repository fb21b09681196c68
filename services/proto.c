/*
 * proto.c: the pure protocol helpers of proto.h (RFC 864 chargen, RFC 867
 * daytime, RFC 868 time, RFC 865 qotd, banner escapes, UTF-8 checks), plus
 * the file reader conf_check uses.  Nothing here logs or touches sockets.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static void	chargen_ring_init(void);
static int	qotd_line_blank(const char *, size_t);
static int	qotd_line_check(const char *, size_t);
static int	qotd_add(struct qotd_quotes *, size_t *, const char *, size_t);
static int	banner_hex(int);

/*
 * The chargen stream, built once by chargen_ring() and read-only after
 * that (pthread_once orders the build before every reader).
 */
static char		chargen_ring_buf[CHARGEN_RING_LEN];
static pthread_once_t	chargen_ring_once = PTHREAD_ONCE_INIT;

/* Proverbs, public domain, already in wire form. */
#define QOTD_Q(s)	{ s, sizeof(s) - 1 }
const struct qotd_quote qotd_builtin[] = {
	QOTD_Q("A journey of a thousand miles begins with a single step.\r\n"),
	QOTD_Q("Well begun is half done.\r\n"),
	QOTD_Q("Measure twice, cut once.\r\n"),
	QOTD_Q("Many hands make light work.\r\n"),
	QOTD_Q("Still waters run deep.\r\n"),
	QOTD_Q("The pen is mightier than the sword.\r\n"),
	QOTD_Q("Rome was not built in a day.\r\n"),
	QOTD_Q("Slow and steady wins the race.\r\n"),
};
const size_t qotd_nbuiltin = sizeof(qotd_builtin) / sizeof(qotd_builtin[0]);

/* Set *cause to a malloc'd message (NULL if memory ran out); return -1. */
int
proto_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

/* Parse a config boolean. */
int
proto_parse_bool(const char *s, int *val)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t			 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*val = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*val = 0;
			return 0;
		}
	}
	return -1;
}

/* Read a regular file of at most max bytes into a new buffer. */
int
proto_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
    char **cause)
{
	struct stat	 st;
	char		*buf, *nbuf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, saved;

	*bufp = NULL;
	*lenp = 0;
	/* O_NONBLOCK: a FIFO named by mistake must not hang a config check. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return proto_cause(cause, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		return proto_cause(cause, "%s: %s", path, strerror(saved));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return proto_cause(cause, "%s: not a regular file", path);
	}
	if ((uintmax_t)st.st_size > max) {
		close(fd);
		return proto_cause(cause, "%s: larger than %zu bytes", path,
		    max);
	}
	/* Room for one byte more than allowed, to notice a growing file. */
	if ((buf = malloc(max + 2)) == NULL) {
		close(fd);
		return proto_cause(cause, "%s: %s", path, strerror(ENOMEM));
	}
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(buf);
			close(fd);
			return proto_cause(cause, "%s: %s", path,
			    strerror(saved));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > max) {
		free(buf);
		return proto_cause(cause, "%s: larger than %zu bytes", path,
		    max);
	}
	buf[len] = '\0';
	/* Give back the room a short file did not use. */
	if ((nbuf = realloc(buf, len + 1)) != NULL)
		buf = nbuf;
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* Check UTF-8 byte by byte, after the table in RFC 3629 section 4. */
int
utf8_valid(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 i = 0, k, need;
	unsigned char		 c, lo, hi;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xc2)		/* continuation, or overlong C0 C1 */
			return 0;
		lo = 0x80;
		hi = 0xbf;
		if (c < 0xe0)
			need = 1;
		else if (c < 0xf0) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c < 0xf5) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return 0;
		if (len - i - 1 < need)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		}
		i += need + 1;
	}
	return 1;
}

/* Escape bytes for a log line; see proto.h. */
size_t
proto_escape(char *out, size_t outlen, const void *buf, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = buf;
	char			 e[4];
	size_t			 i, o = 0, elen;

	if (outlen == 0)
		return 0;
	for (i = 0; i < len; i++) {
		elen = 2;
		e[0] = '\\';
		switch (p[i]) {
		case '\\':
			e[1] = '\\';
			break;
		case '\r':
			e[1] = 'r';
			break;
		case '\n':
			e[1] = 'n';
			break;
		case '\t':
			e[1] = 't';
			break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f) {
				e[0] = (char)p[i];
				elen = 1;
			} else {
				e[1] = 'x';
				e[2] = hex[p[i] >> 4];
				e[3] = hex[p[i] & 0xf];
				elen = 4;
			}
			break;
		}
		if (o + elen >= outlen)
			break;
		memcpy(out + o, e, elen);
		o += elen;
	}
	out[o] = '\0';
	return i;
}

/* Character i of the ring: '!' .. '~', then ' ' (see proto.h). */
char
chargen_char(unsigned int i)
{
	i %= CHARGEN_NCHARS;
	return i == CHARGEN_NCHARS - 1 ? ' ' : (char)('!' + i);
}

/* Line k of the RFC 864 pattern. */
void
chargen_line(char out[CHARGEN_LINE], unsigned int k)
{
	unsigned int	j;

	k %= CHARGEN_NCHARS;
	for (j = 0; j < CHARGEN_WIDTH; j++)
		out[j] = chargen_char(k + j);
	out[CHARGEN_WIDTH] = '\r';
	out[CHARGEN_WIDTH + 1] = '\n';
}

/* Fill the ring buffer: one period of lines, then the period repeated. */
static void
chargen_ring_init(void)
{
	unsigned int	k;
	size_t		p;

	for (k = 0; k < CHARGEN_NCHARS; k++)
		chargen_line(chargen_ring_buf + k * CHARGEN_LINE, k);
	for (p = CHARGEN_PERIOD; p < CHARGEN_RING_LEN; p++)
		chargen_ring_buf[p] = chargen_ring_buf[p - CHARGEN_PERIOD];
}

/* The chargen stream as one buffer, built on first use. */
const char *
chargen_ring(void)
{
	pthread_once(&chargen_ring_once, chargen_ring_init);
	return chargen_ring_buf;
}

/* Format one daytime line (RFC 867: any human-readable text will do). */
size_t
daytime_format(char *buf, size_t len, const char *fmt, time_t t, int utc,
    locale_t loc)
{
	struct tm	tm;
	size_t		n;

	if (len < 3)
		return 0;
	if (utc) {
		if (gmtime_r(&t, &tm) == NULL)
			return 0;
		tm.tm_zone = "UTC";	/* glibc's gmtime_r says "GMT" */
	} else if (localtime_r(&t, &tm) == NULL)
		return 0;
	/* Keep two bytes for CR LF; strftime_l keeps one for the NUL. */
	n = strftime_l(buf, len - 2, fmt, &tm, loc);
	if (n == 0)
		return 0;
	buf[n++] = '\r';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

/* RFC 868 time: the modular sum is the wrap-around the RFC implies. */
uint32_t
time_rfc868(time_t t)
{
	return (uint32_t)((uint64_t)t + RFC868_EPOCH_OFFSET);
}

/* RFC 868 time in network byte order. */
void
time_rfc868_bytes(time_t t, unsigned char out[4])
{
	uint32_t	v = time_rfc868(t);

	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

/* True when a line holds only spaces and tabs. */
static int
qotd_line_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	}
	return 1;
}

/* 0 when a line is UTF-8 without control characters other than TAB. */
static int
qotd_line_check(const char *s, size_t len)
{
	size_t		i;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	return utf8_valid(s, len) ? 0 : -1;
}

/* Record text as the next quote; -1 when out of memory. */
static int
qotd_add(struct qotd_quotes *q, size_t *cap, const char *text, size_t len)
{
	struct qotd_quote	*nq;
	size_t			 ncap;

	if (q->count == *cap) {
		ncap = *cap == 0 ? 16 : *cap * 2;
		nq = reallocarray(q->quote, ncap, sizeof(*nq));
		if (nq == NULL)
			return -1;
		q->quote = nq;
		*cap = ncap;
	}
	q->quote[q->count].text = text;
	q->quote[q->count].len = len;
	q->count++;
	return 0;
}

/* Split a quotes file; the rules are in proto.h. */
int
qotd_split(const char *text, size_t len, struct qotd_quotes *q, char **cause)
{
	const char	*p, *s, *end = text + len, *nl;
	size_t		 llen, o = 0, start = 0, cap = 0, i;
	size_t		 blanks = 0;	/* blank lines held back in a quote */
	unsigned int	 line = 0, first = 0;
	int		 percent = 0, in_quote = 0, sep, blank;

	memset(q, 0, sizeof(*q));

	/* Pass 1: does any line read exactly "%"? */
	for (p = text; p < end && !percent; p = (nl != NULL ? nl + 1 : end)) {
		nl = memchr(p, '\n', (size_t)(end - p));
		llen = (size_t)((nl != NULL ? nl : end) - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		percent = (llen == 1 && p[0] == '%');
	}

	/*
	 * Each input line of n bytes and its LF come out as n + 2 bytes, and
	 * each quote ends with a NUL: 2 * len + 3 bytes are always enough.
	 */
	if (len > (SIZE_MAX - 3) / 2 || (q->buf = malloc(2 * len + 3)) == NULL)
		return proto_cause(cause, "%s", strerror(ENOMEM));

	/* Pass 2: copy lines out with CR LF, quote after quote. */
	for (p = text; p < end || in_quote; ) {
		sep = 1;		/* the end of the text ends a quote */
		blank = 0;
		s = p;
		llen = 0;
		if (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			llen = (size_t)((nl != NULL ? nl : end) - p);
			p = (nl != NULL ? nl + 1 : end);
			if (llen > 0 && s[llen - 1] == '\r')
				llen--;
			line++;
			if (qotd_line_check(s, llen) == -1) {
				qotd_quotes_free(q);
				return proto_cause(cause, "line %u: control "
				    "character or invalid UTF-8", line);
			}
			blank = qotd_line_blank(s, llen);
			if (percent)
				sep = (llen == 1 && s[0] == '%');
			else
				sep = blank;
		}
		if (sep) {
			blanks = 0;
			if (!in_quote)
				continue;
			in_quote = 0;
			if (qotd_add(q, &cap, q->buf + start,
			    o - start) == -1) {
				qotd_quotes_free(q);
				return proto_cause(cause, "%s",
				    strerror(ENOMEM));
			}
			q->buf[o++] = '\0';
			continue;
		}
		if (blank) {
			/* Kept only if more text follows in this quote. */
			if (in_quote)
				blanks++;
			continue;
		}
		if (!in_quote) {
			in_quote = 1;
			start = o;
			first = line;
		}
		for (; blanks > 0; blanks--) {
			q->buf[o++] = '\r';
			q->buf[o++] = '\n';
		}
		memcpy(q->buf + o, s, llen);
		o += llen;
		q->buf[o++] = '\r';
		q->buf[o++] = '\n';
		if (o - start > QOTD_MAX) {
			i = q->count + 1;
			qotd_quotes_free(q);
			return proto_cause(cause, "quote %zu (line %u) is "
			    "longer than %d bytes", i, first, QOTD_MAX);
		}
	}
	if (q->count == 0) {
		qotd_quotes_free(q);
		return proto_cause(cause, "no quotes");
	}
	return 0;
}

/* Free what qotd_split allocated; q is left empty. */
void
qotd_quotes_free(struct qotd_quotes *q)
{
	free(q->quote);
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

/* The value of one hex digit, or -1. */
static int
banner_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode banner escapes; see proto.h. */
ssize_t
banner_unescape(const char *in, char *out, const char **cause)
{
	size_t	o = 0;
	int	hi, lo;

	while (*in != '\0') {
		if (*in != '\\') {
			out[o++] = *in++;
			continue;
		}
		switch (in[1]) {
		case 'r':
			out[o++] = '\r';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case '\\':
			out[o++] = '\\';
			break;
		case 'x':
			if ((hi = banner_hex(in[2])) == -1 ||
			    (lo = banner_hex(in[3])) == -1) {
				*cause = "\\x needs two hex digits";
				return -1;
			}
			out[o++] = (char)(hi << 4 | lo);
			in += 2;
			break;
		case '\0':
			*cause = "backslash at the end";
			return -1;
		default:
			*cause = "unknown escape (use \\r \\n \\t \\\\ \\xHH)";
			return -1;
		}
		in += 2;
	}
	return (ssize_t)o;
}
