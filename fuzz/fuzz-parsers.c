/*
 * fuzz-parsers.c: libFuzzer target for the pure parsers of config values
 * (daemon/config-parse.c, daemon/acl.c) and of service settings
 * (services/proto.c).
 *
 * The input up to its first NUL byte is one config value: it goes to every
 * parser, and what parses must survive a round trip through its formatter
 * (parse, format, parse again: the same value).  The bytes after the NUL
 * are binary: client addresses for the access-list matcher, which is
 * checked against a bit-by-bit reference, and the text of a quotes file.
 * Formatters also write into buffers of exactly the size they are given,
 * so AddressSanitizer sees a write past the end.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"
#include "proto.h"
#include "fuzz.h"

static char	*exact_buf(size_t);
static void	exact_done(char *, size_t);
static void	fuzz_duration(const char *);
static void	fuzz_size(const char *);
static void	fuzz_uint(const char *);
static void	fuzz_bool(const char *);
static void	fuzz_endpoint(const char *);
static void	fuzz_cidr(const char *, struct fuzz_in *);
static int	ref_bit(const uint8_t *, unsigned int);
static int	ref_contains(const struct cidr *, int, const uint8_t *);
static void	check_acl(const struct cidr *, int, const uint8_t *);
static void	fuzz_escape(const uint8_t *, size_t);
static int	ref_utf8(const uint8_t *, size_t);
static void	fuzz_banner(const char *);
static void	fuzz_qotd(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERR);
	return 0;
}

/* A buffer of exactly len bytes, for a formatter to write into. */
static char *
exact_buf(size_t len)
{
	char	*b;

	if ((b = malloc(len)) == NULL)
		abort();
	return b;
}

/* The formatter NUL terminated its output within len bytes; free it. */
static void
exact_done(char *b, size_t len)
{
	FUZZ_CHECK(memchr(b, '\0', len) != NULL);
	free(b);
}

/* parse_duration_ms: range, round trip through format_duration_ms. */
static void
fuzz_duration(const char *s)
{
	const char	*cause = NULL;
	char		 buf[64];
	uint64_t	 v, v2;
	char		*b;
	size_t		 n, k;

	if (parse_duration_ms(s, UINT64_MAX, &v, &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		return;
	}
	FUZZ_CHECK(parse_duration_ms(s, v, &v2, &cause) == 0 && v2 == v);
	if (v > 0)
		FUZZ_CHECK(parse_duration_ms(s, v - 1, &v2, &cause) == -1);
	format_duration_ms(v, buf, sizeof(buf));
	FUZZ_CHECK(parse_duration_ms(buf, UINT64_MAX, &v2, &cause) == 0);
	FUZZ_CHECK(v2 == v);
	n = strlen(buf);
	k = n / 2 + 1;
	b = exact_buf(k);
	format_duration_ms(v, b, k);
	exact_done(b, k);
}

/* parse_size: range, round trip through format_size. */
static void
fuzz_size(const char *s)
{
	const char	*cause = NULL;
	char		 buf[64];
	uint64_t	 v, v2;
	char		*b;
	size_t		 n, k;

	if (parse_size(s, UINT64_MAX, &v, &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		return;
	}
	FUZZ_CHECK(parse_size(s, v, &v2, &cause) == 0 && v2 == v);
	if (v > 0)
		FUZZ_CHECK(parse_size(s, v - 1, &v2, &cause) == -1);
	format_size(v, buf, sizeof(buf));
	FUZZ_CHECK(parse_size(buf, UINT64_MAX, &v2, &cause) == 0);
	FUZZ_CHECK(v2 == v);
	n = strlen(buf);
	k = n / 2 + 1;
	b = exact_buf(k);
	format_size(v, b, k);
	exact_done(b, k);
}

/* parse_uint: the bounds are inclusive; digits only. */
static void
fuzz_uint(const char *s)
{
	const char	*cause = NULL;
	char		 buf[32];
	uint64_t	 v, v2;

	if (parse_uint(s, 0, UINT64_MAX, &v, &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		return;
	}
	FUZZ_CHECK(s[strspn(s, "0123456789")] == '\0');
	FUZZ_CHECK(parse_uint(s, v, v, &v2, &cause) == 0 && v2 == v);
	if (v < UINT64_MAX)
		FUZZ_CHECK(parse_uint(s, v + 1, UINT64_MAX, &v2, &cause) == -1);
	if (v > 0)
		FUZZ_CHECK(parse_uint(s, 0, v - 1, &v2, &cause) == -1);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	FUZZ_CHECK(parse_uint(buf, 0, UINT64_MAX, &v2, &cause) == 0);
	FUZZ_CHECK(v2 == v);
}

/*
 * The daemon's parse_bool and the services' proto_parse_bool must agree,
 * or "utc = on" would mean one thing in [daemon] and another in a
 * service.  Log levels round-trip through their names.
 */
static void
fuzz_bool(const char *s)
{
	const char	*cause = NULL;
	int		 a = -1, b = -1, ra, rb, level;

	ra = parse_bool(s, &a, &cause);
	rb = proto_parse_bool(s, &b);
	FUZZ_CHECK(ra == rb);
	if (ra == 0)
		FUZZ_CHECK(a == b && (a == 0 || a == 1));
	else
		FUZZ_CHECK(cause != NULL);

	if ((level = log_level_parse(s)) != -1) {
		FUZZ_CHECK(level >= LOG_LEVEL_ERR && level <= LOG_LEVEL_DEBUG);
		FUZZ_CHECK(log_level_parse(log_level_name(level)) == level);
	}
}

/* parse_endpoint: its canonical text parses back to the same socket. */
static void
fuzz_endpoint(const char *s)
{
	struct endpoint	 ep, ep2;
	const char	*cause = NULL;
	char		*b;
	size_t		 n, k;

	if (parse_endpoint(s, &ep, &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		return;
	}
	FUZZ_CHECK(ep.proto == SERVICE_TCP || ep.proto == SERVICE_UDP);
	FUZZ_CHECK((ep.addr.ss_family == AF_INET &&
	    ep.addrlen == sizeof(struct sockaddr_in)) ||
	    (ep.addr.ss_family == AF_INET6 &&
	    ep.addrlen == sizeof(struct sockaddr_in6)));
	FUZZ_CHECK(memchr(ep.text, '\0', sizeof(ep.text)) != NULL);
	FUZZ_CHECK(parse_endpoint(ep.text, &ep2, &cause) == 0);
	FUZZ_CHECK(endpoint_same(&ep, &ep2));
	FUZZ_CHECK(strcmp(ep.text, ep2.text) == 0);
	n = strlen(ep.text);
	k = n / 2 + 1;
	b = exact_buf(k);
	endpoint_format(&ep, b, k);
	exact_done(b, k);
}

/* Bit i (0 = the top bit of the first byte) of addr. */
static int
ref_bit(const uint8_t *addr, unsigned int i)
{
	return addr[i / 8] >> (7 - i % 8) & 1;
}

/* The reference matcher: addr of family lies in c, bit by bit. */
static int
ref_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	unsigned int	i;

	if (family != c->family)
		return 0;
	for (i = 0; i < c->prefix; i++) {
		if (ref_bit(addr, i) != ref_bit(c->addr, i))
			return 0;
	}
	return 1;
}

/*
 * Match one client address (family AF_INET: 4 bytes, AF_INET6: 16) against
 * a one-prefix list, as a plain sockaddr and, for IPv4, also as the
 * IPv4-mapped IPv6 address a dual-stack socket reports: acl_match() must
 * agree with the reference, and acl_allows() with the allow/deny rules.
 */
static void
check_acl(const struct cidr *c, int family, const uint8_t *addr)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct cidr		 cc = *c;
	struct acl		 one = { &cc, 1 }, none = { NULL, 0 };
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	const struct sockaddr	*sa;
	int			 want, mfamily = family;
	const uint8_t		*maddr = addr;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (family == AF_INET) {
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, addr, 4);
		sa = (const struct sockaddr *)(const void *)&sin;
	} else {
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, addr, 16);
		sa = (const struct sockaddr *)(const void *)&sin6;
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			mfamily = AF_INET;	/* matched as IPv4 */
			maddr = addr + 12;
		}
	}
	want = ref_contains(c, mfamily, maddr);
	FUZZ_CHECK(acl_match(&one, sa) == want);
	FUZZ_CHECK(acl_match(&none, sa) == 0);
	FUZZ_CHECK(acl_allows(&none, &none, NULL, sa) == 1);
	FUZZ_CHECK(acl_allows(&one, NULL, NULL, sa) == want);
	FUZZ_CHECK(acl_allows(NULL, &one, NULL, sa) == !want);
	FUZZ_CHECK(acl_allows(&one, &none, &one, sa) == 0 || !want);

	if (family == AF_INET) {
		/* The same client seen on a dual-stack socket. */
		sin6.sin6_family = AF_INET6;
		memcpy(sin6.sin6_addr.s6_addr, mapped, sizeof(mapped));
		memcpy(sin6.sin6_addr.s6_addr + 12, addr, 4);
		FUZZ_CHECK(acl_match(&one,
		    (const struct sockaddr *)(const void *)&sin6) == want);
	}
}

/*
 * parse_cidr: family and prefix in range, host bits clear, round trip
 * through cidr_format; then the matcher, on the network address itself,
 * on its neighbours across the prefix boundary and on addresses from in.
 */
static void
fuzz_cidr(const char *s, struct fuzz_in *in)
{
	struct cidr	 c, c2;
	const char	*cause = NULL;
	char		 buf[INET6_ADDRSTRLEN + 8];
	const uint8_t	*p;
	uint8_t		 addr[16];
	unsigned int	 max, i;
	char		*b;
	size_t		 n, k, alen;

	if (parse_cidr(s, &c, &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		return;
	}
	FUZZ_CHECK(c.family == AF_INET || c.family == AF_INET6);
	max = c.family == AF_INET ? 32 : 128;
	alen = max / 8;
	FUZZ_CHECK(c.prefix <= max);
	for (i = c.prefix; i < 128; i++)
		FUZZ_CHECK(ref_bit(c.addr, i) == 0);

	cidr_format(&c, buf, sizeof(buf));
	FUZZ_CHECK(parse_cidr(buf, &c2, &cause) == 0);
	FUZZ_CHECK(c2.family == c.family && c2.prefix == c.prefix &&
	    memcmp(c2.addr, c.addr, sizeof(c.addr)) == 0);
	n = strlen(buf);
	k = n / 2 + 1;
	b = exact_buf(k);
	cidr_format(&c, b, k);
	exact_done(b, k);

	check_acl(&c, c.family, c.addr);
	if (c.prefix < max) {			/* first host bit set: in */
		memcpy(addr, c.addr, alen);
		addr[c.prefix / 8] ^= (uint8_t)(0x80 >> c.prefix % 8);
		check_acl(&c, c.family, addr);
	}
	if (c.prefix > 0) {			/* last prefix bit flipped: out */
		memcpy(addr, c.addr, alen);
		addr[(c.prefix - 1) / 8] ^= (uint8_t)(0x80 >> (c.prefix - 1) % 8);
		check_acl(&c, c.family, addr);
	}
	/* Client addresses from the input: a family byte, then the bytes. */
	while (in->left > 0) {
		if (fuzz_u8(in) & 1) {
			p = fuzz_take(in, 16, &n);
			memset(addr, 0, sizeof(addr));
			memcpy(addr, p, n);
			check_acl(&c, AF_INET6, addr);
		} else {
			p = fuzz_take(in, 4, &n);
			memset(addr, 0, sizeof(addr));
			memcpy(addr, p, n);
			check_acl(&c, AF_INET, addr);
		}
	}
}

/*
 * proto_escape (discard's log lines): cut anywhere, the output is NUL
 * terminated within outlen, no escape is cut in half, and the output is
 * the escape of exactly the bytes it says it took.
 */
static void
fuzz_escape(const uint8_t *buf, size_t len)
{
	char	*full, *part, *again;
	size_t	 fulllen = 4 * len + 1, k, took;

	if ((full = malloc(fulllen)) == NULL)
		abort();
	FUZZ_CHECK(proto_escape(full, fulllen, buf, len) == len);
	FUZZ_CHECK(strlen(full) < fulllen);
	for (k = 1; k <= 9 && k < fulllen; k++) {
		if ((part = malloc(k)) == NULL || (again = malloc(k)) == NULL)
			abort();
		took = proto_escape(part, k, buf, len);
		FUZZ_CHECK(took <= len);
		FUZZ_CHECK(memchr(part, '\0', k) != NULL);
		FUZZ_CHECK(strncmp(part, full, strlen(part)) == 0);
		FUZZ_CHECK(proto_escape(again, k, buf, took) == took);
		FUZZ_CHECK(strcmp(again, part) == 0);
		free(part);
		free(again);
	}
	free(full);
}

/*
 * A second UTF-8 validator, written from the table of well-formed byte
 * sequences (Unicode 15, table 3-7), to check utf8_valid() against.
 */
static int
ref_utf8(const uint8_t *p, size_t len)
{
	size_t	i = 0, n, k;
	uint8_t	lo, hi;

	while (i < len) {
		lo = 0x80;
		hi = 0xbf;
		if (p[i] <= 0x7f)
			n = 0;
		else if (p[i] >= 0xc2 && p[i] <= 0xdf)
			n = 1;
		else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2;
			if (p[i] == 0xe0)
				lo = 0xa0;
			if (p[i] == 0xed)
				hi = 0x9f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			if (p[i] == 0xf0)
				lo = 0x90;
			if (p[i] == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if (k == 1 && (p[i + 1] < lo || p[i + 1] > hi))
				return 0;
			if (k > 1 && (p[i + k] < 0x80 || p[i + k] > 0xbf))
				return 0;
		}
		i += n + 1;
	}
	return 1;
}

/* banner_unescape: the result is never longer than the escaped text. */
static void
fuzz_banner(const char *s)
{
	const char	*cause = NULL;
	size_t		 len = strlen(s);
	char		*out;
	ssize_t		 n;

	/* proto.h: out must have room for strlen(in) bytes, no more. */
	if ((out = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	n = banner_unescape(s, out, &cause);
	if (n == -1)
		FUZZ_CHECK(cause != NULL);
	else
		FUZZ_CHECK((size_t)n <= len);
	free(out);
}

/*
 * qotd_split (quotes_file): every quote is 1 to QOTD_MAX bytes of CR LF
 * lines, NUL terminated, UTF-8; on failure there is a cause and no quote.
 */
static void
fuzz_qotd(const uint8_t *buf, size_t len)
{
	struct qotd_quotes	 q;
	char			*text, *cause = NULL;
	size_t			 i;

	text = fuzz_dup(buf, len);
	if (qotd_split(text, len, &q, &cause) == -1) {
		FUZZ_CHECK(cause != NULL);
		FUZZ_CHECK(q.count == 0 && q.quote == NULL);
		free(cause);
	} else {
		FUZZ_CHECK(cause == NULL);
		for (i = 0; i < q.count; i++) {
			FUZZ_CHECK(q.quote[i].len >= 2);
			FUZZ_CHECK(q.quote[i].len <= QOTD_MAX);
			FUZZ_CHECK(q.quote[i].text[q.quote[i].len] == '\0');
			FUZZ_CHECK(memcmp(q.quote[i].text + q.quote[i].len - 2,
			    "\r\n", 2) == 0);
			FUZZ_CHECK(utf8_valid(q.quote[i].text, q.quote[i].len));
		}
	}
	qotd_quotes_free(&q);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in;
	const uint8_t	*nul;
	char		*s;
	size_t		 slen;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	nul = memchr(data, '\0', size);
	slen = nul != NULL ? (size_t)(nul - data) : size;
	s = fuzz_str(data, slen);
	in.p = data + slen + (nul != NULL);
	in.left = size - slen - (nul != NULL);

	fuzz_duration(s);
	fuzz_size(s);
	fuzz_uint(s);
	fuzz_bool(s);
	fuzz_endpoint(s);
	fuzz_banner(s);
	FUZZ_CHECK(utf8_valid(data, size) == ref_utf8(data, size));
	fuzz_escape(data, size < 256 ? size : 256);
	fuzz_qotd(in.p, in.left);
	fuzz_cidr(s, &in);		/* reads what is left of in */

	free(s);
	return 0;
}
