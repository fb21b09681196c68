/*
 * proto.h: the protocol logic of the small services, as pure functions
 * (no sockets, no logging, no global state) that the service files glue to
 * the host API and that the unit tests call directly.  The only I/O here is
 * proto_read_file(), which conf_check uses to load quotes and banners.
 */
#ifndef NETSVCD_PROTO_H
#define NETSVCD_PROTO_H

#include <sys/types.h>

#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- config values ---- */

/*
 * Set *cause to a malloc'd message for the host to print and free (NULL
 * when memory ran out); returns -1, which is also SERVICE_KEY_ERROR.
 */
int		 proto_cause(char **cause, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* yes/no, true/false, on/off, 1/0 (any case): 0 and *val, or -1. */
int		 proto_parse_bool(const char *, int *val);

/*
 * Read a whole file of at most max bytes into a malloc'd buffer, NUL
 * terminated (the NUL is not counted in *len).  Returns 0, or -1 with
 * *cause set to a malloc'd "PATH: reason" string.
 */
int		 proto_read_file(const char *path, size_t max, char **buf,
		    size_t *len, char **cause);

/* ---- text checks ---- */

/*
 * True when buf holds well-formed UTF-8 (RFC 3629): no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated or
 * stray continuation bytes.  NUL bytes are valid code points.
 */
int		 utf8_valid(const void *buf, size_t len);

/*
 * Write buf into out for a log line: printable ASCII as is, backslash as
 * "\\", CR, LF and TAB as "\r" "\n" "\t", other bytes as "\xHH".  Always
 * NUL terminates out (outlen > 0) and never cuts an escape in half.
 * Returns how many bytes of buf the output represents.  Four output bytes
 * per input byte, plus one, are always enough.
 */
size_t		 proto_escape(char *out, size_t outlen, const void *buf,
		    size_t len);

/* ---- chargen, RFC 864 ---- */

/*
 * RFC 864 numbers the 95 printing characters 0..94 as a ring and puts
 * characters N..N+71 (mod 95) on line N.  The RFC does not say which
 * character is number 0, but its example starts with '!' and shows the
 * space after '~' ("...|}~ !\"#"), so the ring here is '!' (33) .. '~'
 * (126) followed by ' ' (32).  Line 0 is therefore
 * !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefgh
 * exactly as the first line of the RFC's example.  Each line is 72
 * characters plus CR LF; the stream repeats after 95 lines (7030 bytes).
 */
#define CHARGEN_NCHARS		95
#define CHARGEN_WIDTH		72
#define CHARGEN_LINE		(CHARGEN_WIDTH + 2)	/* with CR LF */
#define CHARGEN_PERIOD		(CHARGEN_NCHARS * CHARGEN_LINE)	/* 7030 */
#define CHARGEN_CHUNK		(1024 * 1024)	/* most bytes one write asks for */
#define CHARGEN_RING_LEN	(CHARGEN_PERIOD + CHARGEN_CHUNK)
#define CHARGEN_UDP_MAX		512	/* RFC 864: 0 to 512 characters */

/* Character number i (mod 95) of the RFC 864 ring. */
char		 chargen_char(unsigned int i);

/* Line k (mod 95) of the stream: 72 characters, CR, LF; not terminated. */
void		 chargen_line(char out[CHARGEN_LINE], unsigned int k);

/*
 * The stream as one read-only buffer of CHARGEN_RING_LEN bytes: stream
 * byte p (p < CHARGEN_RING_LEN) is ring[p], and ring[p] == ring[p %
 * CHARGEN_PERIOD].  So from any offset below CHARGEN_PERIOD at least
 * CHARGEN_CHUNK bytes of the stream follow without a gap, and a writer
 * only keeps "offset mod CHARGEN_PERIOD".  Built once, thread-safely, on
 * the first call; never freed.
 */
const char	*chargen_ring(void);

/* ---- daytime, RFC 867 ---- */

#define DAYTIME_DEFAULT_FORMAT	"%A, %B %d, %Y %H:%M:%S-%Z"
#define DAYTIME_FORMAT_MAX	128	/* longest format string accepted */
#define DAYTIME_MAX		256	/* longest line, CR LF included */

/*
 * Format t with the strftime(3) format fmt in the locale loc (callers pass
 * a "C" locale, so that day and month names are English whatever the
 * environment says), in UTC (utc != 0, where %Z prints "UTC") or in local
 * time (TZ), then append CR LF.  Returns the length written, without a
 * terminating NUL counted, or 0 when the line would be empty or would not
 * fit in len bytes.
 */
size_t		 daytime_format(char *buf, size_t len, const char *fmt,
		    time_t t, int utc, locale_t loc);

/* ---- time, RFC 868 ---- */

/*
 * Seconds since 1900-01-01 00:00 UTC, modulo 2^32.  The Unix epoch is
 * 2208988800 seconds after 1900 (RFC 868); the 32-bit count wraps to 0 at
 * 2036-02-07 06:28:16 UTC, and the modular sum stays right after that.
 */
#define RFC868_EPOCH_OFFSET	2208988800U
uint32_t	 time_rfc868(time_t);

/* The 4-byte big-endian form sent on the wire. */
void		 time_rfc868_bytes(time_t, unsigned char out[4]);

/* ---- qotd, RFC 865 ---- */

/*
 * A quotes file follows fortune(6): if any line is exactly "%", the lines
 * "%" separate quotes, and blank lines inside a quote are kept; otherwise
 * one or more blank lines (empty, or only spaces and tabs) separate them.
 * Either way, blank lines at the start and end of a quote are dropped and
 * empty quotes are skipped.  Line ends may be LF or CR LF; on the wire
 * every line, the last one included, ends with CR LF.  A quote may take
 * at most QOTD_MAX bytes so encoded (RFC 865: "limited to 512 characters").
 * Text is UTF-8; control characters other than TAB are refused.
 */
#define QOTD_MAX		512
#define QOTD_FILE_MAX		(1024 * 1024)

struct qotd_quote {
	const char	*text;		/* CR LF line ends, NUL terminated */
	size_t		 len;
};

struct qotd_quotes {
	struct qotd_quote *quote;
	size_t		 count;
	char		*buf;		/* holds the text of every quote */
};

/* The quotes served when no quotes_file is set (proverbs). */
extern const struct qotd_quote	qotd_builtin[];
extern const size_t		qotd_nbuiltin;

/*
 * Split text into quotes.  Returns 0, or -1 with *cause set to a malloc'd
 * message naming the quote or line at fault ("quote 3 (line 12) is 530
 * bytes, more than 512"; "no quotes").  On failure q is left empty.
 */
int		 qotd_split(const char *text, size_t len, struct qotd_quotes *q,
		    char **cause);
void		 qotd_quotes_free(struct qotd_quotes *);

/* ---- banner ---- */

/*
 * Decode the escapes \r \n \t \\ and \xHH (two hex digits) of a banner
 * message from in to out, which must have room for strlen(in) bytes (the
 * result is never longer).  Returns the decoded length, or -1 with *cause
 * set to a static string for an unknown escape or a cut-off one.
 */
ssize_t		 banner_unescape(const char *in, char *out,
		    const char **cause);

/* ---- exec ---- */

/*
 * Split a command line into words, shell quoting rules only ('', "", \),
 * never a shell.  Returns a malloc'd NULL-terminated vector (each word
 * malloc'd), or NULL with *cause set to a static string.
 */
char		**exec_split(const char *, const char **cause);

#endif
