/*
 * test-proxy.c: the PROXY protocol parser of proxy.c, field by field.
 * Version 1 lines (TCP4, TCP6, UNKNOWN, every malformation the spec
 * rules out, the 107-byte bound), version 2 headers (PROXY and LOCAL,
 * IPv4 and IPv6, TLVs, every byte of the fixed part), the accepted
 * versions, and the promise that a prefix of a header is "more" and
 * that garbage is refused from its first wrong byte.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "proxy.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxy_status parse(const void *, size_t, int,
		    struct proxy_header *, enum proxy_error *);
static enum proxy_status parse_str(const char *, int, struct proxy_header *,
		    enum proxy_error *);
static void	addr_is(const struct sockaddr_storage *, const char *, int);
static size_t	v2_build(uint8_t *, int, int, const void *, size_t);
static size_t	v2_inet(uint8_t *, const char *, const char *, int, int);
static void	every_prefix_is_more(const uint8_t *, size_t, int);

static enum proxy_status
parse(const void *buf, size_t len, int accept, struct proxy_header *h,
    enum proxy_error *err)
{
	return proxy_parse(buf, len, accept, h, err);
}

static enum proxy_status
parse_str(const char *s, int accept, struct proxy_header *h,
    enum proxy_error *err)
{
	return parse(s, strlen(s), accept, h, err);
}

/* ss is the numeric address a with port. */
static void
addr_is(const struct sockaddr_storage *ss, const char *a, int port)
{
	char	buf[INET6_ADDRSTRLEN];
	int	p;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		p = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		cr_assert(eq(int, ss->ss_family, AF_INET6));
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		p = ntohs(sin6->sin6_port);
	}
	cr_assert(strcmp(buf, a) == 0, "got %s, want %s", buf, a);
	cr_assert(eq(int, p, port));
}

/* A v2 header: version 2, command cmd, family byte fam, then block. */
static size_t
v2_build(uint8_t *out, int cmd, int fam, const void *block, size_t len)
{
	memcpy(out, sig, sizeof(sig));
	out[12] = (uint8_t)(0x20 | cmd);
	out[13] = (uint8_t)fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	memcpy(out + 16, block, len);
	return 16 + len;
}

/* A v2 PROXY header for a TCP connection src:sport -> dst:dport. */
static size_t
v2_inet(uint8_t *out, const char *src, const char *dst, int sport,
    int dport)
{
	uint8_t	block[36];
	size_t	alen;
	int	family = strchr(src, ':') != NULL ? AF_INET6 : AF_INET;

	alen = family == AF_INET ? 4 : 16;
	cr_assert(eq(int, inet_pton(family, src, block), 1));
	cr_assert(eq(int, inet_pton(family, dst, block + alen), 1));
	block[2 * alen] = (uint8_t)(sport >> 8);
	block[2 * alen + 1] = (uint8_t)sport;
	block[2 * alen + 2] = (uint8_t)(dport >> 8);
	block[2 * alen + 3] = (uint8_t)dport;
	return v2_build(out, 1, family == AF_INET ? 0x11 : 0x21, block,
	    2 * alen + 4);
}

/* Every proper prefix of a whole header asks for more. */
static void
every_prefix_is_more(const uint8_t *buf, size_t len, int accept)
{
	struct proxy_header	h;
	enum proxy_error	err;
	size_t			i;

	for (i = 0; i < len; i++) {
		cr_assert(eq(int, parse(buf, i, accept, &h, &err), PROXY_MORE),
		    "prefix of %zu bytes", i);
	}
}

Test(proxy_v1, tcp4)
{
	const char		*s = "PROXY TCP4 192.0.2.1 198.51.100.2 "
				    "56324 443\r\nGET /";
	struct proxy_header	 h;
	enum proxy_error	 err;

	cr_assert(eq(int, parse_str(s, PROXY_ACCEPT_ANY, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(int, h.local, 0));
	cr_assert(eq(sz, h.len, strlen(s) - 5));
	addr_is(&h.src, "192.0.2.1", 56324);
	addr_is(&h.dst, "198.51.100.2", 443);
	every_prefix_is_more((const uint8_t *)s, h.len, PROXY_ACCEPT_V1);
}

Test(proxy_v1, tcp6)
{
	const char		*s = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
	struct proxy_header	 h;
	enum proxy_error	 err;

	cr_assert(eq(int, parse_str(s, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_DONE));
	addr_is(&h.src, "2001:db8::1", 65535);
	addr_is(&h.dst, "::1", 0);
	cr_assert(eq(sz, h.len, strlen(s)));
}

Test(proxy_v1, unknown_keeps_the_real_peer)
{
	const char		*s[] = { "PROXY UNKNOWN\r\n",
				    "PROXY UNKNOWN ffff::1 ::1 1 2\r\n" };
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 i;

	for (i = 0; i < nitems(s); i++) {
		cr_assert(eq(int, parse_str(s[i], PROXY_ACCEPT_V1, &h, &err),
		    PROXY_DONE));
		cr_assert(eq(int, h.local, 1));
		cr_assert(eq(sz, h.len, strlen(s[i])));
	}
}

Test(proxy_v1, malformed)
{
	static const struct {
		const char		*line;
		enum proxy_error	 err;
	} c[] = {
		{ "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", PROXY_E_FAMILY },
		{ "PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n", PROXY_E_FAMILY },
		{ "PROXY UNKNOWNX\r\n", PROXY_E_FAMILY },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", PROXY_E_SYNTAX },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", PROXY_E_SYNTAX },
		{ "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n", PROXY_E_SYNTAX },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", PROXY_E_SYNTAX },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", PROXY_E_SYNTAX },
		{ "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", PROXY_E_SYNTAX },
		{ "PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", PROXY_E_SYNTAX },
		{ "PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n", PROXY_E_ADDRESS },
		{ "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", PROXY_E_ADDRESS },
		{ "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", PROXY_E_ADDRESS },
		{ "PROXY TCP6 ::1 ::1 65536 2\r\n", PROXY_E_PORT },
		{ "PROXY TCP6 ::1 ::1 01 2\r\n", PROXY_E_PORT },
		{ "PROXY TCP6 ::1 ::1 1 -2\r\n", PROXY_E_PORT },
		{ "PROXY TCP6 ::1 ::1 1 +2\r\n", PROXY_E_PORT },
		{ "PROXY TCP6 ::1 ::1 1 \r\n", PROXY_E_PORT },
		{ "PROXY TCP6 ::1 ::1 1 2a\r\n", PROXY_E_PORT },
		{ "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", PROXY_E_SIGNATURE },
		{ "GET / HTTP/1.0\r\n", PROXY_E_SIGNATURE },
	};
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 i, len;

	for (i = 0; i < nitems(c); i++) {
		len = strlen(c[i].line);
		cr_assert(eq(int, parse(c[i].line, len, PROXY_ACCEPT_ANY, &h,
		    &err), PROXY_BAD), "%s", c[i].line);
		cr_assert(eq(int, err, c[i].err), "%s: %s", c[i].line,
		    proxy_error_name(err));
	}
}

Test(proxy_v1, control_bytes)
{
	const char		 nul[] = "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\0\r\n";
	const char		 high[] = "PROXY TCP4 1.2.3.4 1.2.3.\xb4 1 2\r\n";
	struct proxy_header	 h;
	enum proxy_error	 err;

	cr_assert(eq(int, parse(nul, sizeof(nul) - 1, PROXY_ACCEPT_V1, &h,
	    &err), PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_SYNTAX));
	cr_assert(eq(int, parse_str(high, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_SYNTAX));
}

Test(proxy_v1, bounded_at_107_bytes)
{
	char			 line[200];
	struct proxy_header	 h;
	enum proxy_error	 err;

	/* 105 bytes + CR LF = 107: the longest line taken. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + 105, "\r\n", 2);
	cr_assert(eq(int, parse(line, 107, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(sz, h.len, 107));
	/* 106 bytes without a CR: still a prefix of a 107-byte line. */
	memset(line + 105, 'x', 2);
	cr_assert(eq(int, parse(line, 106, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_MORE));
	/* The CR in position 107 makes it 108 bytes long. */
	line[106] = '\r';
	line[107] = '\n';
	cr_assert(eq(int, parse(line, 108, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_SYNTAX));
	/* No CR at all in 200 bytes. */
	memset(line + 14, 'x', sizeof(line) - 14);
	cr_assert(eq(int, parse(line, sizeof(line), PROXY_ACCEPT_V1, &h,
	    &err), PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_LENGTH));
}

Test(proxy_v2, inet)
{
	uint8_t			 buf[128];
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 len;

	len = v2_inet(buf, "203.0.113.7", "10.0.0.1", 40000, 7);
	memcpy(buf + len, "data", 4);
	cr_assert(eq(int, parse(buf, len + 4, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(sz, h.len, 28));
	cr_assert(eq(int, h.local, 0));
	addr_is(&h.src, "203.0.113.7", 40000);
	addr_is(&h.dst, "10.0.0.1", 7);
	every_prefix_is_more(buf, len, PROXY_ACCEPT_ANY);
}

Test(proxy_v2, inet6)
{
	uint8_t			 buf[128];
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 len;

	len = v2_inet(buf, "2001:db8::42", "fd00::1", 1, 65535);
	cr_assert(eq(int, parse(buf, len, PROXY_ACCEPT_ANY, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(sz, h.len, 52));
	addr_is(&h.src, "2001:db8::42", 1);
	addr_is(&h.dst, "fd00::1", 65535);
}

Test(proxy_v2, local_is_the_balancer)
{
	uint8_t			 buf[64], block[5] = { 1, 2, 3, 4, 5 };
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 len;

	/* LOCAL with any family, its block skipped whole. */
	len = v2_build(buf, 0, 0x11, block, sizeof(block));
	cr_assert(eq(int, parse(buf, len, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(int, h.local, 1));
	cr_assert(eq(sz, h.len, 21));
	len = v2_build(buf, 0, 0x00, block, 0);
	cr_assert(eq(int, parse(buf, len, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(sz, h.len, 16));
	/* PROXY with UNSPEC or UNIX: addresses unusable, the real peer. */
	len = v2_build(buf, 1, 0x00, block, sizeof(block));
	cr_assert(eq(int, parse(buf, len, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(int, h.local, 1));
}

Test(proxy_v2, tlvs)
{
	uint8_t			 buf[256], *block;
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 len;

	len = v2_inet(buf, "192.0.2.1", "192.0.2.2", 1, 2);
	block = buf + 16;
	/* Two TLVs: ALPN "h2" and an empty NOOP. */
	memcpy(block + 12, "\x01\x00\x02h2\x04\x00\x00", 8);
	buf[15] = 12 + 8;
	cr_assert(eq(int, parse(buf, len + 8, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_DONE));
	cr_assert(eq(sz, h.len, len + 8));
	addr_is(&h.src, "192.0.2.1", 1);
	/* A TLV whose length runs past the block. */
	memcpy(block + 12, "\x01\x00\x09h2\x04\x00\x00", 8);
	cr_assert(eq(int, parse(buf, len + 8, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_TLV));
	/* Two stray bytes: too short for a TLV header. */
	buf[15] = 12 + 2;
	cr_assert(eq(int, parse(buf, len + 2, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_TLV));
}

Test(proxy_v2, fixed_part_checked_before_the_block)
{
	static const struct {
		int			 byte, value;
		enum proxy_error	 err;
	} c[] = {
		{ 12, 0x11, PROXY_E_VERSION },	/* version 1 in binary */
		{ 12, 0x31, PROXY_E_VERSION },
		{ 12, 0x22, PROXY_E_COMMAND },
		{ 12, 0x2f, PROXY_E_COMMAND },
		{ 13, 0x12, PROXY_E_FAMILY },	/* UDP over IPv4 */
		{ 13, 0x10, PROXY_E_FAMILY },
		{ 13, 0x41, PROXY_E_FAMILY },
		{ 15, 11, PROXY_E_LENGTH },	/* IPv4 block too short */
		{ 14, 0x08, PROXY_E_LENGTH },	/* over PROXY_V2_MAX_BLOCK */
		{ 0, 0x0e, PROXY_E_SIGNATURE },
		{ 11, 0x0b, PROXY_E_SIGNATURE },
	};
	uint8_t			 buf[64];
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 i, len;

	for (i = 0; i < nitems(c); i++) {
		len = v2_inet(buf, "192.0.2.1", "192.0.2.2", 1, 2);
		buf[c[i].byte] = (uint8_t)c[i].value;
		/* Refused with only the fixed part (up to that byte) seen. */
		cr_assert(eq(int, parse(buf, (size_t)c[i].byte + 1 < 16 ?
		    16 : (size_t)c[i].byte + 1, PROXY_ACCEPT_V2, &h, &err),
		    PROXY_BAD), "case %zu", i);
		cr_assert(eq(int, err, c[i].err), "case %zu: %s", i,
		    proxy_error_name(err));
		(void)len;
	}
}

Test(proxy_v2, ipv6_block_too_short)
{
	uint8_t			 buf[128];
	struct proxy_header	 h;
	enum proxy_error	 err;

	v2_inet(buf, "::1", "::2", 1, 2);
	buf[15] = 35;
	cr_assert(eq(int, parse(buf, 16, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_LENGTH));
}

Test(proxy, accepted_versions)
{
	const char		*v1 = "PROXY UNKNOWN\r\n";
	uint8_t			 v2[64];
	struct proxy_header	 h;
	enum proxy_error	 err;
	size_t			 len;

	len = v2_inet(v2, "192.0.2.1", "192.0.2.2", 1, 2);
	cr_assert(eq(int, parse_str(v1, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_VERSION));
	cr_assert(eq(int, parse(v2, len, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, err, PROXY_E_VERSION));
	/* Refused from the first bytes, before a whole header came. */
	cr_assert(eq(int, parse(v2, 1, PROXY_ACCEPT_V1, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, parse("P", 1, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_BAD));
	cr_assert(eq(int, parse("", 0, PROXY_ACCEPT_V2, &h, &err),
	    PROXY_MORE));
}

Test(proxy, accept_keyword)
{
	int	a = -1;

	cr_assert(eq(int, proxy_parse_accept("v1", &a), 0));
	cr_assert(eq(int, a, PROXY_ACCEPT_V1));
	cr_assert(eq(int, proxy_parse_accept("v2", &a), 0));
	cr_assert(eq(int, a, PROXY_ACCEPT_V2));
	cr_assert(eq(int, proxy_parse_accept("any", &a), 0));
	cr_assert(eq(int, a, PROXY_ACCEPT_ANY));
	cr_assert(eq(int, proxy_parse_accept("off", &a), 0));
	cr_assert(eq(int, a, 0));
	cr_assert(eq(int, proxy_parse_accept("v3", &a), -1));
	cr_assert(eq(int, proxy_parse_accept("", &a), -1));
	cr_assert(strcmp(proxy_error_name(PROXY_E_TLV), "tlv") == 0);
	cr_assert(strcmp(proxy_error_name(PROXY_E_COUNT), "unknown") == 0);
}
