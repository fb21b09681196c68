/*
 * test-metrics.c: the metrics endpoint (metrics_listen in [daemon]).  The
 * daemon serves a few echo, discard and access-denied clients over TCP and
 * UDP; GET /metrics must then answer 200 with the Prometheus text format
 * (version 0.0.4), which met_parse() checks strictly: line grammar, names,
 * escapes, integer values, HELP and TYPE before the samples, one group per
 * family and no duplicate series.  The values must match what the clients
 * did.  Other paths get 404, other methods 405, HEAD no body; counters
 * carry over reloads and each series is written once.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define MET_TMO		5000		/* ms for one exchange */
#define MET_LINE_MAX	2048
#define MET_MAX_SERIES	512
#define MET_MAX_FAMILIES 64
#define MET_MAX_LABELS	8
#define MET_CTYPE	"text/plain; version=0.0.4; charset=utf-8"

/* One sample line: metric name, labels sorted by name, value. */
struct met_series {
	char			 name[128];
	char			 labels[512];
	unsigned long long	 value;
};

/* What the lines so far said about one metric family. */
struct met_family {
	char			 name[128];
	char			 type[16];
	int			 help;
	int			 typed;
	int			 samples;
	int			 closed;	/* another family came after */
};

/* A parsed exposition. */
struct met_set {
	struct met_series	 s[MET_MAX_SERIES];
	size_t			 ns;
	struct met_family	 f[MET_MAX_FAMILIES];
	size_t			 nf;
	long			 cur;		/* family of the last line */
};

/* One series and the value it must have (-1: absent). */
struct met_want {
	const char		*name;
	const char		*labels;
	long long		 want;
};

/* One label while a sample line is parsed. */
struct met_label {
	char			 name[64];
	char			 value[256];	/* as written: escaped */
};

#define NLIMITS	9	/* netsvcd_limit_hits_total series */

static int	 met_utf8(const unsigned char *, size_t);
static size_t	 met_name_len(const char *, int metric);
static struct met_family *met_family(struct met_set *, const char *, int);
static const char *met_group(struct met_set *, struct met_family *);
static const char *met_comment(struct met_set *, char *);
static const char *met_sample(struct met_set *, char *);
static const char *met_parse(const char *, size_t, struct met_set *);
static long long met_get(const struct met_set *, const char *, const char *);
static const char *met_version(void);
static struct met_set *met_scrape(int);
static void	 met_wait(int, const char *, const char *, long long);
static size_t	 met_echo_tcp(struct hs_daemon *, int, const char *);
static void	 met_expect(const struct met_set *, const char *,
		    const char *, long long);
static void	 met_counters_final(const struct met_set *, size_t, size_t,
		    size_t);

TestSuite(metrics, .fini = hs_teardown);

/* ---- A strict checker of the text exposition format, version 0.0.4 ---- */

/* 1 when the bytes are well-formed UTF-8 (no overlongs, no surrogates). */
static int
met_utf8(const unsigned char *p, size_t len)
{
	size_t		i = 0, k, n;
	unsigned int	c;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return 0;
		if (i + n >= len)
			return 0;
		c &= 0x3fU >> n;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + k] & 0x3fU);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
		    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * The length of the metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name
 * ([a-zA-Z_][a-zA-Z0-9_]*) at s; 0 when there is none.
 */
static size_t
met_name_len(const char *s, int metric)
{
	size_t	n = 0;
	char	c;

	for (;; n++) {
		c = s[n];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (metric && c == ':'))
			continue;
		if (n > 0 && c >= '0' && c <= '9')
			continue;
		return n;
	}
}

/* The family of that name, added when create is set; NULL if none. */
static struct met_family *
met_family(struct met_set *set, const char *name, int create)
{
	size_t	i;

	for (i = 0; i < set->nf; i++) {
		if (strcmp(set->f[i].name, name) == 0)
			return &set->f[i];
	}
	if (!create || set->nf == MET_MAX_FAMILIES ||
	    strlen(name) >= sizeof(set->f[0].name))
		return NULL;
	memset(&set->f[set->nf], 0, sizeof(set->f[0]));
	strcpy(set->f[set->nf].name, name);
	return &set->f[set->nf++];
}

/* All lines of a family form one group: a line of f after another's. */
static const char *
met_group(struct met_set *set, struct met_family *f)
{
	long	fi = f - set->f;

	if (set->cur != -1 && set->cur != fi)
		set->f[set->cur].closed = 1;
	if (f->closed)
		return "the family's lines are split into two groups";
	set->cur = fi;
	return NULL;
}

/* "# HELP name text" or "# TYPE name type"; nothing else is written. */
static const char *
met_comment(struct met_set *set, char *line)
{
	static const char *const types[] = { "counter", "gauge", "histogram",
	    "summary", "untyped" };
	struct met_family	*f;
	const char		*why, *q;
	char			*name, *rest;
	size_t			 n, i;
	int			 help;

	if (strncmp(line, "# HELP ", 7) == 0)
		help = 1;
	else if (strncmp(line, "# TYPE ", 7) == 0)
		help = 0;
	else
		return "a comment that is not \"# HELP \" or \"# TYPE \"";
	name = line + 7;
	if ((n = met_name_len(name, 1)) == 0)
		return "no metric name after HELP or TYPE";
	if (name[n] != ' ')
		return "no single space after the metric name";
	name[n] = '\0';
	rest = name + n + 1;
	if ((f = met_family(set, name, 1)) == NULL)
		return "too many families or too long a name";
	if ((why = met_group(set, f)) != NULL)
		return why;
	if (f->samples)
		return "HELP or TYPE after the family's samples";
	if (help) {
		if (f->help)
			return "a second HELP line";
		if (*rest == '\0')
			return "an empty HELP text";
		for (q = rest; *q != '\0'; q++) {
			if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
				return "a bad escape in the HELP text";
			if (*q == '\\')
				q++;
		}
		f->help = 1;
		return NULL;
	}
	if (f->typed)
		return "a second TYPE line";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(rest, types[i]) == 0)
			break;
	}
	if (i == sizeof(types) / sizeof(types[0]))
		return "an unknown type";
	strcpy(f->type, rest);
	f->typed = 1;
	return NULL;
}

/*
 * name{label="value",...} value: no timestamp, no trailing comma, no
 * empty braces, single spaces, a non-negative integer value without
 * leading zeros (netsvcd writes integers only).
 */
static const char *
met_sample(struct met_set *set, char *line)
{
	struct met_label	 lab[MET_MAX_LABELS], tmp;
	struct met_family	*f;
	struct met_series	*s;
	char			 name[128], fam[128], *p = line, *v;
	const char		*why, *sfx;
	size_t			 n, nl = 0, i, j, off;
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

	if ((n = met_name_len(p, 1)) == 0 || n >= sizeof(name))
		return "no valid metric name";
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	if (*p == '{') {
		p++;
		for (;;) {
			if (nl == MET_MAX_LABELS)
				return "too many labels";
			if ((n = met_name_len(p, 0)) == 0 ||
			    n >= sizeof(lab[0].name))
				return "no valid label name";
			if (p[0] == '_' && p[1] == '_')
				return "a reserved label name (__)";
			memcpy(lab[nl].name, p, n);
			lab[nl].name[n] = '\0';
			p += n;
			if (*p++ != '=')
				return "no '=' after the label name";
			if (*p++ != '"')
				return "the label value is not quoted";
			v = p;
			while (*p != '"') {
				if (*p == '\0')
					return "an unterminated label value";
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' &&
					    p[1] != 'n')
						return "a bad escape in a "
						    "label value";
					p++;
				}
				p++;
			}
			if ((size_t)(p - v) >= sizeof(lab[0].value))
				return "too long a label value";
			memcpy(lab[nl].value, v, (size_t)(p - v));
			lab[nl].value[p - v] = '\0';
			p++;
			for (i = 0; i < nl; i++) {
				if (strcmp(lab[i].name, lab[nl].name) == 0)
					return "a label given twice";
			}
			nl++;
			if (*p == '}')
				break;
			if (*p++ != ',')
				return "no ',' or '}' after a label";
			if (*p == '}')
				return "a trailing comma in the labels";
		}
		p++;
	}
	if (*p++ != ' ')
		return "no single space before the value";
	if (*p == '0' && p[1] != '\0')
		return "a value with a leading zero";
	for (n = 0; p[n] >= '0' && p[n] <= '9'; n++)
		continue;
	if (n == 0 || n > 19)
		return "a value that is not a non-negative integer";
	if (p[n] == ' ')
		return "a timestamp or another field after the value";
	if (p[n] != '\0')
		return "a value that is not an integer";

	/* The family: the name itself, or a histogram/summary's series. */
	f = met_family(set, name, 0);
	for (i = 0; (f == NULL || !f->typed) && i < 3; i++) {
		sfx = suffixes[i];
		n = strlen(name);
		if (n <= strlen(sfx) || strcmp(name + n - strlen(sfx),
		    sfx) != 0)
			continue;
		n -= strlen(sfx);
		memcpy(fam, name, n);
		fam[n] = '\0';
		f = met_family(set, fam, 0);
		if (f != NULL && strcmp(f->type, "histogram") != 0 &&
		    (strcmp(f->type, "summary") != 0 || i == 0))
			f = NULL;
	}
	if (f == NULL || !f->typed)
		return "a sample before its family's TYPE line";
	if (!f->help)
		return "a sample before its family's HELP line";
	if ((why = met_group(set, f)) != NULL)
		return why;
	f->samples++;

	/* The series, labels sorted by name: no duplicates. */
	for (i = 1; i < nl; i++) {
		for (j = i; j > 0 && strcmp(lab[j - 1].name, lab[j].name) > 0;
		    j--) {
			tmp = lab[j];
			lab[j] = lab[j - 1];
			lab[j - 1] = tmp;
		}
	}
	if (set->ns == MET_MAX_SERIES)
		return "too many series";
	s = &set->s[set->ns];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);
	for (i = 0, off = 0; i < nl; i++) {
		n = (size_t)snprintf(s->labels + off, sizeof(s->labels) - off,
		    "%s%s=\"%s\"", i == 0 ? "" : ",", lab[i].name,
		    lab[i].value);
		if (n >= sizeof(s->labels) - off)
			return "too many labels to keep";
		off += n;
	}
	s->value = strtoull(p, NULL, 10);
	for (i = 0; i < set->ns; i++) {
		if (strcmp(set->s[i].name, s->name) == 0 &&
		    strcmp(set->s[i].labels, s->labels) == 0)
			return "a duplicate series";
	}
	set->ns++;
	return NULL;
}

/*
 * Check a whole exposition and collect its series.  Returns NULL when it
 * is good, else "line N: what: the line".  Stricter than the format in
 * what netsvcd never writes: empty lines, other comments, timestamps.
 */
static const char *
met_parse(const char *text, size_t len, struct met_set *set)
{
	static char	 why[MET_LINE_MAX + 256];
	char		 line[MET_LINE_MAX], shown[MET_LINE_MAX];
	const char	*p = text, *end = text + len, *eol, *r;
	size_t		 lineno = 0, n;

	memset(set, 0, sizeof(*set));
	set->cur = -1;
	if (len == 0)
		return "an empty exposition";
	if (memchr(text, '\0', len) != NULL)
		return "a NUL byte";
	if (text[len - 1] != '\n')
		return "the last line does not end with a line feed";
	if (!met_utf8((const unsigned char *)text, len))
		return "not UTF-8";
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)(eol - p);
		lineno++;
		if (n >= sizeof(line)) {
			snprintf(why, sizeof(why), "line %zu: longer than %d "
			    "bytes", lineno, MET_LINE_MAX);
			return why;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		memcpy(shown, line, n + 1);
		if (n == 0)
			r = "an empty line";
		else if (strchr(line, '\r') != NULL || strchr(line, '\t'))
			r = "a CR or tab";
		else if (line[0] == '#')
			r = met_comment(set, line);
		else
			r = met_sample(set, line);
		if (r != NULL) {
			snprintf(why, sizeof(why), "line %zu: %s: %s", lineno,
			    r, shown);
			return why;
		}
		p = eol + 1;
	}
	return NULL;
}

/* The value of one series (labels sorted by name), or -1 if absent. */
static long long
met_get(const struct met_set *set, const char *name, const char *labels)
{
	size_t	i;

	for (i = 0; i < set->ns; i++) {
		if (strcmp(set->s[i].name, name) == 0 &&
		    strcmp(set->s[i].labels, labels) == 0)
			return (long long)set->s[i].value;
	}
	return -1;
}

/* Fail unless one series has the value (want -1: must be absent). */
static void
met_expect(const struct met_set *set, const char *name, const char *labels,
    long long want)
{
	long long	got = met_get(set, name, labels);

	if (want == -1)
		cr_assert(got == -1, "%s{%s} is present (%lld); expected none",
		    name, labels, got);
	else
		cr_assert(got == want, "%s{%s} is %s%lld, expected %lld", name,
		    labels, got == -1 ? "absent " : "", got, want);
}

/* ---- Scrapes (HTTP itself: harness-http.c) ---- */

/* The version the binary reports with -V ("netsvcd 0.1.0"). */
static const char *
met_version(void)
{
	static char		 version[64];
	struct hs_result	 r;
	int			 n = 0;

	cr_assert(hs_run(&r, hs_ms(MET_TMO), "-V", NULL) == 0 &&
	    r.exit_code == 0, "netsvcd -V failed");
	cr_assert(sscanf(r.out, "netsvcd %63[^\n]%n", version, &n) == 1 &&
	    n > 8, "netsvcd -V: %s", hs_show(r.out, r.outlen));
	hs_result_free(&r);
	return version;
}

/*
 * GET /metrics: 200, the content type of the format, a Content-Length
 * that matches, and a body that passes met_parse().  Free the result.
 */
static struct met_set *
met_scrape(int port)
{
	struct hs_http	 h;
	struct met_set	*set;
	const char	*v, *why;

	hs_http(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n", &h);
	cr_assert(h.major == 1 && h.minor == 1 && h.status == 200,
	    "GET /metrics: HTTP/%d.%d %d", h.major, h.minor, h.status);
	v = hs_http_header(&h, "Content-Type");
	cr_assert(v != NULL && strcmp(v, MET_CTYPE) == 0,
	    "GET /metrics: Content-Type %s, expected %s", v ? v : "(none)",
	    MET_CTYPE);
	v = hs_http_header(&h, "Content-Length");
	cr_assert(v != NULL && strtoull(v, NULL, 10) == h.bodylen,
	    "GET /metrics: Content-Length %s for %zu bytes of body",
	    v ? v : "(none)", h.bodylen);
	set = malloc(sizeof(*set));
	cr_assert(set != NULL, "out of memory");
	why = met_parse(h.body, h.bodylen, set);
	cr_assert(why == NULL, "GET /metrics: not the text format: %s", why);
	hs_http_free(&h);
	return set;
}

/*
 * Scrape until a series has the value: the daemon counts datagrams that
 * get no reply, and closes connections, after the client has seen all it
 * will see.  Bounded in rounds and time.
 */
static void
met_wait(int port, const char *name, const char *labels, long long want)
{
	struct met_set	*set;
	int64_t		 deadline = hs_now_ms() + hs_ms(MET_TMO);
	long long	 got = -1;
	unsigned int	 round;

	for (round = 0; round < 500; round++) {
		set = met_scrape(port);
		got = met_get(set, name, labels);
		free(set);
		if (got == want || hs_now_ms() > deadline)
			break;
		poll(NULL, 0, 10);
	}
	cr_assert(got == want, "%s{%s} stayed %lld, expected %lld", name,
	    labels, got, want);
}

/*
 * One echo exchange on a new TCP connection, ended by a half-close and
 * the daemon's EOF.  Returns the bytes sent (and echoed).
 */
static size_t
met_echo_tcp(struct hs_daemon *d, int fd, const char *msg)
{
	char		 buf[256];
	struct hs_xfer	 x;
	size_t		 len = strlen(msg);

	if (fd == -1)
		fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	memset(&x, 0, sizeof(x));
	x.out = msg;
	x.outlen = len;
	x.shut_wr = 1;
	x.in = buf;
	x.incap = sizeof(buf);
	x.until_eof = 1;
	cr_assert(hs_xfer(fd, &x, hs_ms(MET_TMO)) == 0 && x.inlen == len &&
	    memcmp(buf, msg, len) == 0, "tcp echo of %s: got %s", msg,
	    hs_show(buf, x.inlen));
	hs_close(fd);
	return len;
}

/* ---- The checker itself ---- */

/*
 * The harness's scraper (hs_metric): a series by name alone is a sample
 * without labels, a name is never a prefix, and labels given are a subset
 * of the sample's, in any order.
 */
Test(metrics, harness_series_lookup, .timeout = 10)
{
	static const char	 text[] =
	    "# HELP a_total A.\n"
	    "# TYPE a_total counter\n"
	    "a_total 3\n"
	    "a_total_more 4\n"
	    "b{instance=\"e\",service=\"echo\",reason=\"rate\"} 5\n"
	    "b{instance=\"e2\",service=\"echo\",reason=\"source\"} 6\n";

	cr_assert_eq(hs_metric(text, "a_total"), 3);
	cr_assert_eq(hs_metric(text, "a_total_more"), 4);
	cr_assert_eq(hs_metric(text, "a"), -1);
	cr_assert_eq(hs_metric(text, "b"), -1);
	cr_assert_eq(hs_metric(text, "b{reason=\"source\"}"), 6);
	cr_assert_eq(hs_metric(text, "b{reason=\"rate\",instance=\"e\"}"), 5);
	cr_assert_eq(hs_metric(text, "b{instance=\"e\"}"), 5);
	cr_assert_eq(hs_metric(text, "b{instance=\"e2\",reason=\"rate\"}"),
	    -1);
	cr_assert_eq(hs_metric(text, "b{instance=\"\"}"), -1);
	cr_assert_eq(hs_metric(text, "b{service=\"ech\"}"), -1);
}

/* met_parse() accepts good text and rejects each kind of bad text. */
Test(metrics, checker_is_strict, .timeout = 10)
{
	static const char	 head[] =
	    "# HELP a_total Some a.\n# TYPE a_total counter\n";
	static const struct {
		const char	*text;
		int		 good;
	} cases[] = {
		{ "# HELP a_total Some \\\\ a\\n.\n# TYPE a_total counter\n"
		  "a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 0\na_total{x=\"r\"} 12\n"
		  "# HELP b:c B.\n# TYPE b:c gauge\nb:c 3\n", 1 },
		{ "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
		  "h_sum 1\nh_count 1\n", 1 },
		{ "# TYPE a_total counter\na_total 1\n", 0 },	/* no HELP */
		{ "# HELP a_total A.\na_total 1\n", 0 },	/* no TYPE */
		{ "a_total 1\n# HELP a_total A.\n# TYPE a_total counter\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "# TYPE a_total counter\na_total 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total countr\na_total 1\n", 0 },
		{ "# HELP 1a A.\n# TYPE 1a counter\n1a 1\n", 0 },
		{ "# HELP a_total A\\t.\n# TYPE a_total counter\na_total 1\n",
		  0 },
		{ "# some comment\n", 0 },
		{ "\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1.5\n",
		  0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
		  0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 01\n",
		  0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1 17\n",
		  0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total  1\n",
		  0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{1x=\"a\"} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{__x=\"a\"} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=\"a\"b\"} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=\"a\\tb\"} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=a} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=\"a\",} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=\"a\",x=\"b\"} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=\"a\",y=\"b\"} 1\n"
		  "a_total{y=\"b\",x=\"a\"} 2\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
		  "# HELP b B.\n# TYPE b gauge\nb 1\na_total{x=\"y\"} 1\n", 0 },
		{ "# HELP a_total A.\n# TYPE a_total counter\n"
		  "a_total{x=\"\xff\"} 1\n", 0 },
		{ "# HELP a_total A.\r\n# TYPE a_total counter\na_total 1\n",
		  0 },
		{ "# HELP c C.\n# TYPE c counter\nc_sum 1\n", 0 },
	};
	struct met_set	*set = malloc(sizeof(*set));
	const char	*why;
	size_t		 i;

	cr_assert(set != NULL, "out of memory");
	why = met_parse(head, strlen(head), set);
	cr_assert(why == NULL, "HELP and TYPE alone: %s", why);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = met_parse(cases[i].text, strlen(cases[i].text), set);
		if (cases[i].good)
			cr_assert(why == NULL, "case %zu rejected: %s", i, why);
		else
			cr_assert(why != NULL, "case %zu accepted: %s", i,
			    hs_show(cases[i].text, strlen(cases[i].text)));
	}
	why = met_parse(cases[0].text, strlen(cases[0].text), set);
	cr_assert(why == NULL && set->ns == 3 &&
	    met_get(set, "a_total", "x=\"q\\\"\\\\\\n\",y=\"\"") == 0 &&
	    met_get(set, "a_total", "x=\"r\"") == 12 &&
	    met_get(set, "b:c", "") == 3, "the good case parsed wrong");
	free(set);
}

/* ---- The endpoint ---- */

static const char met_conf[] =
    "[daemon]\n"
    "metrics_listen = tcp://127.0.0.1:0\n"
    "shutdown_timeout = 5s\n"
    "\n"
    "[echo]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0 udp://127.0.0.1:0\n"
    "max_connections = 2\n"
    "\n"
    "[sink]\n"
    "service = discard\n"
    "listen = udp://127.0.0.1:0\n"
    "\n"
    "[walled]\n"
    "service = echo\n"
    "listen = tcp://127.0.0.1:0 udp://127.0.0.1:0\n"
    "deny = 127.0.0.0/8\n";

#define L_ECHO		"instance=\"echo\",service=\"echo\""
#define L_SINK		"instance=\"sink\",service=\"discard\""
#define L_WALLED	"instance=\"walled\",service=\"echo\""
#define L_REASON(i, r, s) \
	"instance=\"" i "\",reason=\"" r "\",service=\"" s "\""
#define L_PROTO(i, p, s) \
	"instance=\"" i "\",proto=\"" p "\",service=\"" s "\""

/*
 * The end of metrics/counters: every series of the three instances at the
 * count the exchanges left, and the series count.
 */
static void
met_counters_final(const struct met_set *set, size_t tcp_bytes,
    size_t udp_bytes, size_t sink_bytes)
{
	static const char *const limits[NLIMITS] = { "emfile",
	    "source_table", "udp_nomem", "nomem", "max_bytes", "io_error",
	    "metrics_emfile", "metrics_connections", "metrics_deadline" };
	static const char *const refuse[] = { "limit", "source", "rate",
	    "access", "proxy_from", "proxy_header" };
	static const char *const drop[] = { "access", "rate", "reflection",
	    "amplification", "noreply", "error" };
	/* Each instance: the one refusal and the one drop reason it sees. */
	static const struct {
		const char	*name;
		const char	*service;
		const char	*refused;	/* 1 connection */
		const char	*dropped;
		long long	 ndropped;
	} inst[] = {
		{ "echo", "echo", "limit", NULL, 0 },
		{ "sink", "discard", NULL, "noreply", 3 },
		{ "walled", "echo", "access", "access", 2 },
	};
	const struct met_want	 want[] = {
		/* The daemon. */
		{ "netsvcd_connections_open", "", 0 },
		{ "netsvcd_reloads_total", "result=\"ok\"", 0 },
		{ "netsvcd_reloads_total", "result=\"failed\"", 0 },
		/* echo: bytes by protocol. */
		{ "netsvcd_connections_accepted_total", L_ECHO, 3 },
		{ "netsvcd_connections_active", L_ECHO, 0 },
		{ "netsvcd_connections_timed_out_total", L_ECHO, 0 },
		{ "netsvcd_bytes_received_total",
		    L_PROTO("echo", "tcp", "echo"), (long long)tcp_bytes },
		{ "netsvcd_bytes_received_total",
		    L_PROTO("echo", "udp", "echo"), (long long)udp_bytes },
		{ "netsvcd_bytes_sent_total",
		    L_PROTO("echo", "tcp", "echo"), (long long)tcp_bytes },
		{ "netsvcd_bytes_sent_total",
		    L_PROTO("echo", "udp", "echo"), (long long)udp_bytes },
		{ "netsvcd_datagrams_received_total", L_ECHO, 4 },
		{ "netsvcd_datagrams_sent_total", L_ECHO, 4 },
		/* sink: datagrams only, none answered. */
		{ "netsvcd_connections_accepted_total", L_SINK, 0 },
		{ "netsvcd_bytes_received_total",
		    L_PROTO("sink", "udp", "discard"), (long long)sink_bytes },
		{ "netsvcd_bytes_received_total",
		    L_PROTO("sink", "tcp", "discard"), 0 },
		{ "netsvcd_bytes_sent_total",
		    L_PROTO("sink", "udp", "discard"), 0 },
		{ "netsvcd_datagrams_received_total", L_SINK, 3 },
		{ "netsvcd_datagrams_sent_total", L_SINK, 0 },
		/* walled: nothing served. */
		{ "netsvcd_connections_accepted_total", L_WALLED, 0 },
		{ "netsvcd_bytes_sent_total",
		    L_PROTO("walled", "tcp", "echo"), 0 },
		{ "netsvcd_bytes_sent_total",
		    L_PROTO("walled", "udp", "echo"), 0 },
		{ "netsvcd_datagrams_received_total", L_WALLED, 2 },
		{ "netsvcd_datagrams_sent_total", L_WALLED, 0 },
		/* Where each service comes from (modules). */
		{ "netsvcd_instance_info", "instance=\"echo\","
		    "module=\"built-in\",module_version=\"0.1.0\","
		    "service=\"echo\"", 1 },
		{ "netsvcd_instance_info", "instance=\"sink\","
		    "module=\"built-in\",module_version=\"0.1.0\","
		    "service=\"discard\"", 1 },
	};
	char			 lab[256];
	size_t			 i, k;

	cr_assert(met_get(set, "netsvcd_uptime_seconds", "") >= 0,
	    "no netsvcd_uptime_seconds");
	cr_assert(met_get(set, "netsvcd_uptime_seconds", "") < 3600,
	    "netsvcd_uptime_seconds is %lld after a few seconds",
	    met_get(set, "netsvcd_uptime_seconds", ""));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		met_expect(set, want[i].name, want[i].labels, want[i].want);
	/* Every reason of every instance, at the count expected. */
	for (i = 0; i < sizeof(inst) / sizeof(inst[0]); i++) {
		for (k = 0; k < sizeof(refuse) / sizeof(refuse[0]); k++) {
			snprintf(lab, sizeof(lab), "instance=\"%s\","
			    "reason=\"%s\",service=\"%s\"", inst[i].name,
			    refuse[k], inst[i].service);
			met_expect(set, "netsvcd_connections_refused_total",
			    lab, inst[i].refused != NULL &&
			    strcmp(refuse[k], inst[i].refused) == 0);
		}
		for (k = 0; k < sizeof(drop) / sizeof(drop[0]); k++) {
			snprintf(lab, sizeof(lab), "instance=\"%s\","
			    "reason=\"%s\",service=\"%s\"", inst[i].name,
			    drop[k], inst[i].service);
			met_expect(set, "netsvcd_datagrams_dropped_total",
			    lab, inst[i].dropped != NULL &&
			    strcmp(drop[k], inst[i].dropped) == 0 ?
			    inst[i].ndropped : 0);
		}
	}
	/* Every limit has its counter; none was hit here. */
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		snprintf(lab, sizeof(lab), "limit=\"%s\"", limits[i]);
		met_expect(set, "netsvcd_limit_hits_total", lab, 0);
	}
	/*
	 * 5 daemon series + the limits + 3 instances x (5 + 1 info + 2 x 2
	 * bytes by protocol + 6 refused + 6 dropped); no PROXY header series
	 * without proxy_protocol.
	 */
	cr_assert(set->ns == 5 + NLIMITS + 3 * 22, "%zu series, expected %d",
	    set->ns, 5 + NLIMITS + 3 * 22);
}

/*
 * Three echo connections, two held open and one refused by
 * max_connections = 2, then a fourth once they are gone; UDP echo,
 * discard and an instance that denies 127.0.0.0/8: every counter says so.
 */
Test(metrics, counters, .timeout = 90)
{
	static const size_t	 usizes[] = { 1, 100, 1000, 4000 };
	struct hs_daemon	*d = hs_spawn(met_conf);
	struct met_set		*set;
	unsigned char		 out[4000], in[4001];
	char			 buf[64], ver[128];
	size_t			 tcp_bytes = 0, udp_bytes = 0, sink_bytes = 0;
	size_t			 i;
	ssize_t			 n;
	int			 port, a, b, c, fd;

	port = hs_metrics_port(d);

	/* Before any client: every series is there, at zero. */
	set = met_scrape(port);
	met_expect(set, "netsvcd_connections_accepted_total", L_ECHO, 0);
	met_expect(set, "netsvcd_connections_open", "", 0);
	snprintf(ver, sizeof(ver), "version=\"%s\"", met_version());
	met_expect(set, "netsvcd_info", ver, 1);
	free(set);

	/* Two held open (each echoes once), a third refused at once. */
	a = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	b = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(a, "a1\n", 3, hs_ms(MET_TMO)) == 0 &&
	    hs_recv_n(a, buf, 3, hs_ms(MET_TMO)) == 3 &&
	    hs_send_all(b, "bb2\n", 4, hs_ms(MET_TMO)) == 0 &&
	    hs_recv_n(b, buf, 4, hs_ms(MET_TMO)) == 4,
	    "echo on the held connections: %s", strerror(errno));
	c = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	cr_assert(hs_wait_closed(c, hs_ms(MET_TMO)) == 0, "the third "
	    "connection was not closed at once with max_connections = 2");
	hs_close(c);
	set = met_scrape(port);
	met_expect(set, "netsvcd_connections_accepted_total", L_ECHO, 2);
	met_expect(set, "netsvcd_connections_refused_total",
	    L_REASON("echo", "limit", "echo"), 1);
	met_expect(set, "netsvcd_connections_active", L_ECHO, 2);
	met_expect(set, "netsvcd_connections_open", "", 2);
	free(set);

	/* Finish both with a half-close, then a fourth is served. */
	tcp_bytes += 3 + met_echo_tcp(d, a, "rest of a\n");
	tcp_bytes += 4 + met_echo_tcp(d, b, "and b\n");
	met_wait(port, "netsvcd_connections_open", "", 0);
	tcp_bytes += met_echo_tcp(d, -1, "the third one served\n");

	/* UDP echo: each datagram comes back. */
	fd = hs_connect(d, "echo", SOCK_DGRAM, AF_INET);
	for (i = 0; i < sizeof(usizes) / sizeof(usizes[0]); i++) {
		hs_pattern(out, usizes[i], 7 + i, 0);
		n = hs_udp_ask(fd, out, usizes[i], in, sizeof(in),
		    hs_ms(MET_TMO));
		cr_assert(n == (ssize_t)usizes[i] &&
		    memcmp(in, out, usizes[i]) == 0, "udp echo of %zu bytes: "
		    "%s", usizes[i], n < 0 ? strerror(errno) : "wrong reply");
		udp_bytes += usizes[i];
	}
	hs_close(fd);

	/* discard over UDP: counted in, never answered. */
	fd = hs_connect(d, "sink", SOCK_DGRAM, AF_INET);
	for (i = 0; i < 3; i++) {
		cr_assert(send(fd, "into the sink", 13, 0) == 13, "send: %s",
		    strerror(errno));
		sink_bytes += 13;
	}
	hs_close(fd);
	met_wait(port, "netsvcd_datagrams_dropped_total",
	    L_REASON("sink", "noreply", "discard"), 3);

	/* deny = 127.0.0.0/8: the connection and datagrams are refused. */
	fd = hs_connect(d, "walled", SOCK_STREAM, AF_INET);
	cr_assert(hs_wait_closed(fd, hs_ms(MET_TMO)) == 0, "a denied "
	    "connection was not closed at once");
	hs_close(fd);
	fd = hs_connect(d, "walled", SOCK_DGRAM, AF_INET);
	cr_assert(send(fd, "let me in", 9, 0) == 9 &&
	    send(fd, "please", 6, 0) == 6, "send: %s", strerror(errno));
	cr_assert(hs_udp_silent(fd, 200), "a denied datagram got a reply");
	hs_close(fd);
	met_wait(port, "netsvcd_datagrams_dropped_total",
	    L_REASON("walled", "access", "echo"), 2);

	set = met_scrape(port);
	met_counters_final(set, tcp_bytes, udp_bytes, sink_bytes);
	free(set);
	hs_stop_ok(d);
}

/* One path, GET and HEAD only; the endpoint keeps serving after errors. */
Test(metrics, http, .timeout = 60)
{
	static const struct {
		const char	*req;
		int		 status;
	} cases[] = {
		{ "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		  404 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		  404 },
		{ "GET /metrics/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "Content-Length: 3\r\n\r\nx=1", 405 },
		{ "PUT /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "Content-Length: 0\r\n\r\n", 405 },
		{ "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "\r\n", 405 },
		{ "OPTIONS /metrics HTTP/1.1\r\nHost: x\r\n"
		  "Connection: close\r\n\r\n", 405 },
		{ "PATCH /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "\r\n", 405 },
		{ "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n"
		  "Connection: close\r\n\r\n", 200 },
		{ "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		  "Content-Length: 100000\r\n\r\n", 413 },
		{ "NONSENSE\r\n\r\n", 400 },
	};
	struct hs_daemon	*d = hs_spawn(met_conf);
	struct hs_http		 h;
	struct met_set		*set;
	const char		*v;
	char			 big[16384];
	size_t			 i;
	int			 port = hs_metrics_port(d);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hs_http(port, cases[i].req, &h);
		cr_assert(h.status == cases[i].status, "%s: status %d, "
		    "expected %d", hs_show(cases[i].req,
		    strcspn(cases[i].req, "\r")), h.status, cases[i].status);
		if (h.status == 405) {
			v = hs_http_header(&h, "Allow");
			cr_assert(v != NULL && strcmp(v, "GET, HEAD") == 0,
			    "405 with Allow: %s", v ? v : "(none)");
		}
		hs_http_free(&h);
	}

	/* HEAD: the headers of a GET, no body. */
	hs_http(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n", &h);
	cr_assert(h.status == 200, "HEAD /metrics: status %d", h.status);
	v = hs_http_header(&h, "Content-Type");
	cr_assert(v != NULL && strcmp(v, MET_CTYPE) == 0, "HEAD /metrics: "
	    "Content-Type %s", v ? v : "(none)");
	cr_assert(h.bodylen == 0, "HEAD /metrics sent a body: %s",
	    hs_show(h.body, h.bodylen));
	v = hs_http_header(&h, "Content-Length");
	cr_assert(v != NULL && strtoull(v, NULL, 10) > 100,
	    "HEAD /metrics: Content-Length %s", v ? v : "(none)");
	hs_http_free(&h);

	/* Headers over the limit: refused, and the endpoint lives on. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
	if (hs_http_try(port, big, &h) == 0)
		cr_assert(h.status == 400 || h.status == 413, "16 KiB of "
		    "headers: status %d", h.status);
	else	/* closed with our bytes unread: a reset may come first */
		cr_assert(errno == ECONNRESET || errno == EPIPE, "16 KiB of "
		    "headers: %s", strerror(errno));
	hs_http_free(&h);

	/* Two requests on one keep-alive connection, then close. */
	hs_http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    &h);
	cr_assert(h.status == 200, "keep-alive: status %d", h.status);
	cr_assert(strstr(h.body, "\r\n\r\n") != NULL &&
	    strstr(h.body, "HTTP/1.1 200 ") != NULL, "keep-alive: no second "
	    "response");
	hs_http_free(&h);

	set = met_scrape(port);
	met_expect(set, "netsvcd_connections_open", "", 0);
	free(set);
	hs_stop_ok(d);
}

/*
 * Reloads: counted by result; the counters of an instance carry over, a
 * connection held across reloads stays in connections_active, and a name
 * removed and added again (fresh counters beside a retired instance that
 * still has a connection) is still written once.
 */
Test(metrics, reloads, .timeout = 90)
{
	static const char	 other[] =
	    "[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"
	    "shutdown_timeout = 5s\n"
	    "\n"
	    "[other]\n"
	    "service = discard\n"
	    "listen = tcp://127.0.0.1:0\n";
	struct hs_daemon	*d = hs_spawn(met_conf);
	struct met_set		*set;
	size_t			 bytes;
	long long		 sent, acc;
	char			 buf[8];
	int			 port, held;

	port = hs_metrics_port(d);
	bytes = met_echo_tcp(d, -1, "before\n");
	held = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	cr_assert(hs_send_all(held, "h\n", 2, hs_ms(MET_TMO)) == 0 &&
	    hs_recv_n(held, buf, 2, hs_ms(MET_TMO)) == 2, "held: no echo");
	bytes += 2;

	/* The same config: echo keeps its counters and its connection. */
	hs_reload(d, met_conf);
	set = met_scrape(port);
	met_expect(set, "netsvcd_reloads_total", "result=\"ok\"", 1);
	met_expect(set, "netsvcd_reloads_total", "result=\"failed\"", 0);
	met_expect(set, "netsvcd_connections_accepted_total", L_ECHO, 2);
	met_expect(set, "netsvcd_connections_active", L_ECHO, 1);
	met_expect(set, "netsvcd_bytes_received_total",
	    L_PROTO("echo", "tcp", "echo"), (long long)bytes);
	free(set);

	/* A bad config: counted as failed, nothing else changes. */
	hs_reload(d, "[daemon]\nno_such_key = 1\n");
	set = met_scrape(port);
	met_expect(set, "netsvcd_reloads_total", "result=\"ok\"", 1);
	met_expect(set, "netsvcd_reloads_total", "result=\"failed\"", 1);
	met_expect(set, "netsvcd_connections_accepted_total", L_ECHO, 2);
	free(set);

	/* echo removed: its retired instance lives on for the connection. */
	hs_reload(d, other);
	set = met_scrape(port);
	met_expect(set, "netsvcd_connections_active", L_ECHO, 1);
	met_expect(set, "netsvcd_connections_accepted_total", L_ECHO, 2);
	met_expect(set, "netsvcd_connections_accepted_total",
	    "instance=\"other\",service=\"discard\"", 0);
	free(set);

	/* echo back with fresh counters: one series, the sum of both. */
	hs_reload(d, met_conf);
	bytes += met_echo_tcp(d, -1, "after\n");
	set = met_scrape(port);
	met_expect(set, "netsvcd_reloads_total", "result=\"ok\"", 3);
	met_expect(set, "netsvcd_connections_accepted_total", L_ECHO, 3);
	met_expect(set, "netsvcd_connections_active", L_ECHO, 1);
	met_expect(set, "netsvcd_bytes_received_total",
	    L_PROTO("echo", "tcp", "echo"), (long long)bytes);
	met_expect(set, "netsvcd_connections_accepted_total",
	    "instance=\"other\",service=\"discard\"", -1);
	free(set);

	/*
	 * The held connection still echoes.  Once it is gone, its retired
	 * instance is freed with the counters nobody shared, and the series
	 * falls back to those of the new echo: a counter reset, which
	 * Prometheus expects.  (Should reload.c hand a re-added name the
	 * counters of its retired namesake, the series keeps the sum.)
	 */
	bytes += met_echo_tcp(d, held, "bye\n");
	met_wait(port, "netsvcd_connections_open", "", 0);
	set = met_scrape(port);
	met_expect(set, "netsvcd_connections_active", L_ECHO, 0);
	sent = met_get(set, "netsvcd_bytes_sent_total",
	    L_PROTO("echo", "tcp", "echo"));
	acc = met_get(set, "netsvcd_connections_accepted_total", L_ECHO);
	cr_assert((sent == 6 && acc == 1) ||
	    (sent == (long long)bytes && acc == 3), "after the retired echo "
	    "went: bytes_sent %lld and accepted %lld; expected 6 and 1 (its "
	    "counters gone) or %zu and 3 (kept)", sent, acc, bytes);
	free(set);
	hs_stop_ok(d);
}

/* A metrics_listen that cannot be bound stops the start, with a reason. */
Test(metrics, bind_failure, .timeout = 60)
{
	struct hs_daemon	*d = hs_spawn(met_conf);
	struct hs_daemon	*d2 = hs_new();
	struct hs_result	 r;
	const char		*path;
	char			 conf[512];
	int			 port = hs_metrics_port(d);

	snprintf(conf, sizeof(conf),
	    "[daemon]\n"
	    "metrics_listen = tcp://127.0.0.1:%d\n"
	    "\n"
	    "[echo]\n"
	    "service = echo\n"
	    "listen = tcp://127.0.0.1:0\n", port);
	path = hs_file(d2, "taken.ini", conf, strlen(conf));
	cr_assert(hs_run(&r, hs_ms(10000), "-f", "-c", path, NULL) == 0,
	    "a second daemon started on the metrics port in use");
	cr_assert(r.exit_code == 1, "exit %d, expected 1", r.exit_code);
	cr_assert(strstr(r.err, "metrics_listen tcp://127.0.0.1:") != NULL &&
	    strstr(r.err, "Address already in use") != NULL, "no reason in "
	    "the log: %s", hs_show(r.err, r.errlen));
	hs_result_free(&r);
	free(met_scrape(port));	/* still serving */
	hs_stop_ok(d);
}

/*
 * Keys that only a restart applies keep their running values in the
 * daemon's config: every reload that asks for another metrics_listen says
 * a restart is needed (not only the first), asking for the running one
 * again says nothing, and the endpoint stays where it runs.
 */
Test(metrics, restart_only_keys_keep_running_values, .timeout = 60)
{
	struct hs_daemon	*d;
	char			 conf[2][256];
	int			 port[3], i;

	hs_free_ports(SOCK_STREAM, AF_INET, port, 3);
	for (i = 0; i < 2; i++)
		snprintf(conf[i], sizeof(conf[i]), "[daemon]\n"
		    "metrics_listen = tcp://127.0.0.1:%d\n\n[echo]\n"
		    "service = echo\nlisten = tcp://127.0.0.1:%d\n", port[i],
		    port[2]);
	d = hs_spawn(conf[0]);
	for (i = 0; i < 2; i++) {
		hs_reload(d, conf[1]);
		cr_assert(hs_log_count(d, "metrics_listen changed; restart "
		    "required") == i + 1, "reload %d to another "
		    "metrics_listen: no restart warning", i + 1);
		cr_assert(hs_scrape(port[0], "netsvcd_reloads_total"
		    "{result=\"ok\"}") == i + 1, "metrics moved on reload");
	}
	hs_reload(d, conf[0]);
	cr_assert(hs_log_count(d, "metrics_listen changed") == 2, "the "
	    "running metrics_listen asked again: a restart warning");
	hs_stop_ok(d);
}
