/*
 * test-parse.c: the pure config value parsers of config-parse.c:
 * endpoints, durations, sizes, numbers, booleans and the formatters;
 * and the small helpers of util.c.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "netsvcd.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Expect string got to equal want, showing both when it does not. */
#define expect_str(got, want) do {					\
	const char	*got_ = (got), *want_ = (want);			\
									\
	cr_expect(strcmp(got_, want_) == 0, "got '%s', want '%s'",	\
	    got_, want_);						\
} while (0)

#define SCHEME	"unknown scheme (use tcp:// or udp://)"
#define BADV4	"bad IPv4 address (numeric only, names are not resolved)"
#define SCOPE	"IPv6 scope ids are not supported"

struct bad {
	const char	*in;
	const char	*cause;		/* expected *cause */
};

/* The port of ep in host order. */
static unsigned int
test_port(const struct endpoint *ep)
{
	const struct sockaddr_in	*sin = (const void *)&ep->addr;
	const struct sockaddr_in6	*sin6 = (const void *)&ep->addr;

	if (ep->addr.ss_family == AF_INET6)
		return ntohs(sin6->sin6_port);
	return ntohs(sin->sin_port);
}

/* Parse s, which must be a good endpoint. */
static struct endpoint
test_endpoint(const char *s)
{
	struct endpoint	 ep;
	const char	*cause = NULL;

	cr_assert(eq(int, parse_endpoint(s, &ep, &cause), 0), "%s: %s", s,
	    cause);
	return ep;
}

Test(endpoint, ipv4_wildcard)
{
	struct endpoint			 ep = test_endpoint("tcp://0.0.0.0:7");
	const struct sockaddr_in	*sin = (const void *)&ep.addr;

	cr_assert(eq(int, ep.proto, SERVICE_TCP));
	cr_assert(eq(int, sin->sin_family, AF_INET));
	cr_assert(eq(u32, sin->sin_addr.s_addr, htonl(INADDR_ANY)));
	cr_assert(eq(u16, sin->sin_port, htons(7)));
	cr_assert(eq(u32, ep.addrlen, sizeof(struct sockaddr_in)));
	expect_str(ep.text, "tcp://0.0.0.0:7");
}

Test(endpoint, ipv4_udp)
{
	struct endpoint			 ep = test_endpoint(
	    "udp://127.0.0.1:10007");
	const struct sockaddr_in	*sin = (const void *)&ep.addr;

	cr_assert(eq(int, ep.proto, SERVICE_UDP));
	cr_assert(eq(u32, sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK)));
	cr_assert(eq(u16, sin->sin_port, htons(10007)));
	expect_str(ep.text, "udp://127.0.0.1:10007");
}

Test(endpoint, ipv6_loopback)
{
	struct endpoint			 ep = test_endpoint(
	    "udp://[::1]:10007");
	const struct sockaddr_in6	*sin6 = (const void *)&ep.addr;

	cr_assert(eq(int, ep.proto, SERVICE_UDP));
	cr_assert(eq(int, sin6->sin6_family, AF_INET6));
	cr_assert(eq(int, memcmp(&sin6->sin6_addr, &in6addr_loopback,
	    sizeof(in6addr_loopback)), 0));
	cr_assert(eq(u16, sin6->sin6_port, htons(10007)));
	cr_assert(eq(u32, sin6->sin6_scope_id, 0));
	cr_assert(eq(u32, ep.addrlen, sizeof(struct sockaddr_in6)));
	expect_str(ep.text, "udp://[::1]:10007");
}

Test(endpoint, ipv6_wildcard)
{
	struct endpoint			 ep = test_endpoint("tcp://[::]:7");
	const struct sockaddr_in6	*sin6 = (const void *)&ep.addr;

	cr_assert(eq(int, memcmp(&sin6->sin6_addr, &in6addr_any,
	    sizeof(in6addr_any)), 0));
	expect_str(ep.text, "tcp://[::]:7");
}

Test(endpoint, canonical_text)
{
	static const struct {
		const char	*in, *text;
	} t[] = {
		{ "tcp://[0:0:0:0:0:0:0:1]:7", "tcp://[::1]:7" },
		{ "tcp://[2001:DB8::A]:80", "tcp://[2001:db8::a]:80" },
		{ "udp://[::ffff:192.0.2.1]:9", "udp://[::ffff:192.0.2.1]:9" },
		{ "tcp://10.0.0.1:007", "tcp://10.0.0.1:7" },
		{ "tcp://255.255.255.255:65535",
		    "tcp://255.255.255.255:65535" },
	};
	struct endpoint	ep;
	size_t		i;

	for (i = 0; i < nitems(t); i++) {
		ep = test_endpoint(t[i].in);
		cr_expect(strcmp(ep.text, t[i].text) == 0, "%s: got %s",
		    t[i].in, ep.text);
	}
}

Test(endpoint, port_zero_and_max)
{
	struct endpoint	ep;

	ep = test_endpoint("tcp://127.0.0.1:0");
	cr_assert(eq(uint, test_port(&ep), 0));
	expect_str(ep.text, "tcp://127.0.0.1:0");
	ep = test_endpoint("udp://[::1]:65535");
	cr_assert(eq(uint, test_port(&ep), 65535));
}

Test(endpoint, bad_forms)
{
	static const struct bad	t[] = {
		{ "", SCHEME },
		{ "127.0.0.1:7", SCHEME },
		{ "sctp://127.0.0.1:7", SCHEME },
		{ "TCP://127.0.0.1:7", SCHEME },
		{ "tcp:/127.0.0.1:7", SCHEME },
		{ " tcp://127.0.0.1:7", SCHEME },
		{ "tcp://", "missing address" },
		{ "tcp://:7", "missing address" },
		{ "tcp://[]:7", "missing address" },
		{ "tcp://127.0.0.1", "missing port" },
		{ "tcp://127.0.0.1:", "missing port" },
		{ "tcp://[::1]", "missing port" },
		{ "tcp://[::1]:", "missing port" },
		{ "tcp://127.0.0.1:65536", "port out of range (0-65535)" },
		{ "tcp://127.0.0.1:99999999999999999999999",
		    "port out of range (0-65535)" },
		{ "tcp://127.0.0.1:+7", "bad port (digits only)" },
		{ "tcp://127.0.0.1:-7", "bad port (digits only)" },
		{ "tcp://127.0.0.1: 7", "bad port (digits only)" },
		{ "tcp://127.0.0.1:7 ", "bad port (digits only)" },
		{ "tcp://127.0.0.1:7x", "bad port (digits only)" },
		{ "tcp://127.0.0.1:0x10", "bad port (digits only)" },
		{ "tcp://127.0.0.1:echo", "bad port (digits only)" },
		{ "tcp://[::1]:7:8", "bad port (digits only)" },
		{ "tcp://localhost:7", BADV4 },
		{ "tcp://1.2.3:7", BADV4 },
		{ "tcp://1.2.3.256:7", BADV4 },
		{ "tcp:// 1.2.3.4:7", BADV4 },
		{ "tcp://1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20:7",
		    "bad IPv4 address" },
		{ "tcp://::1:7", "an IPv6 address needs brackets: [::1]" },
		{ "tcp://::7", "an IPv6 address needs brackets: [::1]" },
		{ "tcp://[::1:7", "missing ']' after the IPv6 address" },
		{ "tcp://[fe80::1%eth0]:7", SCOPE },
		{ "tcp://[fe80::1%2]:7", SCOPE },
		{ "tcp://[1.2.3.4]:7", "bad IPv6 address" },
		{ "tcp://[::g]:7", "bad IPv6 address" },
		{ "tcp://[ ::1]:7", "bad IPv6 address" },
		{ "tcp://[::1]7", "expected ':' after ']'" },
		{ "tcp://[::1]x:7", "expected ':' after ']'" },
	};
	struct endpoint	 ep;
	const char	*cause;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		cause = NULL;
		cr_expect(eq(int, parse_endpoint(t[i].in, &ep, &cause), -1),
		    "accepted '%s'", t[i].in);
		cr_expect(cause != NULL && strcmp(cause, t[i].cause) == 0,
		    "'%s': cause '%s', expected '%s'", t[i].in,
		    cause != NULL ? cause : "(null)", t[i].cause);
	}
}

Test(endpoint, same)
{
	struct endpoint	a = test_endpoint("tcp://127.0.0.1:7");
	struct endpoint	b = test_endpoint("tcp://127.0.0.1:007");
	struct endpoint	v6a = test_endpoint("tcp://[::1]:7");
	struct endpoint	v6b = test_endpoint("tcp://[0::1]:7");

	cr_assert(endpoint_same(&a, &b));
	cr_assert(endpoint_same(&v6a, &v6b));
	cr_assert(not(endpoint_same(&a, &v6a)));
	b = test_endpoint("udp://127.0.0.1:7");
	cr_assert(not(endpoint_same(&a, &b)), "tcp and udp differ");
	b = test_endpoint("tcp://127.0.0.1:8");
	cr_assert(not(endpoint_same(&a, &b)), "ports differ");
	b = test_endpoint("tcp://127.0.0.2:7");
	cr_assert(not(endpoint_same(&a, &b)), "addresses differ");
	b = test_endpoint("tcp://0.0.0.0:7");
	cr_assert(not(endpoint_same(&a, &b)), "wildcard is not specific");
	v6b = test_endpoint("tcp://[::2]:7");
	cr_assert(not(endpoint_same(&v6a, &v6b)), "v6 addresses differ");
	a = test_endpoint("udp://127.0.0.1:0");
	b = test_endpoint("udp://127.0.0.1:0");
	cr_assert(endpoint_same(&a, &b), "port 0 is port 0 here");
}

Test(endpoint, format_real_port)
{
	struct endpoint		 ep = test_endpoint("tcp://[::1]:0");
	struct sockaddr_in6	*sin6 = (void *)&ep.addr;
	struct endpoint		 ep4 = test_endpoint("udp://127.0.0.1:0");
	struct sockaddr_in	*sin = (void *)&ep4.addr;
	char			 buf[64];

	sin6->sin6_port = htons(43210);		/* as after bind() */
	endpoint_format(&ep, buf, sizeof(buf));
	expect_str(buf, "tcp://[::1]:43210");
	sin->sin_port = htons(1);
	endpoint_format(&ep4, buf, sizeof(buf));
	expect_str(buf, "udp://127.0.0.1:1");
	endpoint_format(&ep4, buf, 10);
	expect_str(buf, "udp://127");		/* cut, but terminated */
}

Test(duration, good)
{
	static const struct {
		const char	*in;
		uint64_t	 ms;
	} t[] = {
		{ "0", 0 }, { "0ms", 0 }, { "0s", 0 }, { "0h", 0 },
		{ "1", 1000 }, { "30", 30000 }, { "500ms", 500 },
		{ "1ms", 1 }, { "30s", 30000 }, { "5m", 300000 },
		{ "1h", 3600000 }, { "24h", 86400000 }, { "90m", 5400000 },
		{ "0005s", 5000 },
	};
	const char	*cause;
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		v = 12345;
		cause = NULL;
		cr_expect(eq(int, parse_duration_ms(t[i].in, UINT64_MAX, &v,
		    &cause), 0), "%s: %s", t[i].in, cause);
		cr_expect(eq(u64, v, t[i].ms), "%s", t[i].in);
	}
}

Test(duration, bad)
{
	static const struct bad	t[] = {
		{ "", "empty value" },
		{ " 5s", "not a number" },
		{ "-1", "not a number" },
		{ "+1", "not a number" },
		{ "s", "not a number" },
		{ "ms", "not a number" },
		{ "5s ", "unknown unit (use ms, s, m or h)" },
		{ "5 s", "unknown unit (use ms, s, m or h)" },
		{ "1.5s", "unknown unit (use ms, s, m or h)" },
		{ "5sec", "unknown unit (use ms, s, m or h)" },
		{ "5S", "unknown unit (use ms, s, m or h)" },
		{ "1d", "unknown unit (use ms, s, m or h)" },
		{ "1m30s", "unknown unit (use ms, s, m or h)" },
		{ "99999999999999999999", "number too large" },
		{ "18446744073709551615", "number too large" },
		{ "18446744073709551615h", "number too large" },
		{ "18446744073709552s", "number too large" },
	};
	const char	*cause;
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		cause = NULL;
		cr_expect(eq(int, parse_duration_ms(t[i].in, UINT64_MAX, &v,
		    &cause), -1), "accepted '%s'", t[i].in);
		cr_expect(cause != NULL && strcmp(cause, t[i].cause) == 0,
		    "'%s': cause '%s', expected '%s'", t[i].in,
		    cause != NULL ? cause : "(null)", t[i].cause);
	}
}

Test(duration, max)
{
	const char	*cause = NULL;
	uint64_t	 v = 0;

	cr_assert(eq(int, parse_duration_ms("24h", 86400000, &v, &cause), 0));
	cr_assert(eq(u64, v, 86400000));
	cr_assert(eq(int, parse_duration_ms("86400001ms", 86400000, &v,
	    &cause), -1));
	expect_str(cause, "out of range");
	cr_assert(eq(int, parse_duration_ms("25h", 86400000, &v, &cause),
	    -1));
	cr_assert(eq(u64, v, 86400000), "untouched on failure");
}

Test(size, good)
{
	static const struct {
		const char	*in;
		uint64_t	 bytes;
	} t[] = {
		{ "0", 0 }, { "512", 512 }, { "1K", 1024 }, { "1KiB", 1024 },
		{ "64KiB", 65536 }, { "64K", 65536 }, { "1M", 1048576 },
		{ "1MiB", 1048576 }, { "1G", 1073741824 },
		{ "2GiB", 2147483648ULL }, { "4096", 4096 },
		{ "17179869183G", 17179869183ULL << 30 },
	};
	const char	*cause;
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		cause = NULL;
		v = 1;
		cr_expect(eq(int, parse_size(t[i].in, UINT64_MAX, &v, &cause),
		    0), "%s: %s", t[i].in, cause);
		cr_expect(eq(u64, v, t[i].bytes), "%s", t[i].in);
	}
}

Test(size, bad)
{
	static const char	*unit = "unknown unit (use K, KiB, M, MiB, G "
	    "or GiB)";
	static const struct bad	t[] = {
		{ "", "empty value" },
		{ " 1K", "not a number" },
		{ "-1", "not a number" },
		{ "+1", "not a number" },
		{ "K", "not a number" },
		{ "1K ", NULL },
		{ "64kb", NULL },
		{ "64k", NULL },
		{ "64KB", NULL },
		{ "64kib", NULL },
		{ "1.5K", NULL },
		{ "1T", NULL },
		{ "1 KiB", NULL },
		{ "17179869184G", "number too large" },
		{ "18446744073709551616", "number too large" },
	};
	const char	*cause, *want;
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		cause = NULL;
		want = t[i].cause != NULL ? t[i].cause : unit;
		cr_expect(eq(int, parse_size(t[i].in, UINT64_MAX, &v, &cause),
		    -1), "accepted '%s'", t[i].in);
		cr_expect(cause != NULL && strcmp(cause, want) == 0,
		    "'%s': cause '%s', expected '%s'", t[i].in,
		    cause != NULL ? cause : "(null)", want);
	}
}

Test(size, max)
{
	const char	*cause = NULL;
	uint64_t	 v = 0;

	cr_assert(eq(int, parse_size("64MiB", 64 << 20, &v, &cause), 0));
	cr_assert(eq(u64, v, 64 << 20));
	cr_assert(eq(int, parse_size("67108865", 64 << 20, &v, &cause), -1));
	expect_str(cause, "out of range");
}

Test(uint, good_and_range)
{
	const char	*cause = NULL;
	uint64_t	 v = 0;

	cr_assert(eq(int, parse_uint("0", 0, 10, &v, &cause), 0));
	cr_assert(eq(u64, v, 0));
	cr_assert(eq(int, parse_uint("65535", 1, 65535, &v, &cause), 0));
	cr_assert(eq(u64, v, 65535));
	cr_assert(eq(int, parse_uint("007", 1, 65535, &v, &cause), 0));
	cr_assert(eq(u64, v, 7));
	cr_assert(eq(int, parse_uint("18446744073709551615", 0, UINT64_MAX,
	    &v, &cause), 0));
	cr_assert(eq(u64, v, UINT64_MAX));
	cr_assert(eq(int, parse_uint("65536", 1, 65535, &v, &cause), -1));
	expect_str(cause, "out of range");
	cr_assert(eq(int, parse_uint("0", 1, 65535, &v, &cause), -1));
	expect_str(cause, "out of range");
	cr_assert(eq(u64, v, UINT64_MAX), "untouched on failure");
}

Test(uint, bad)
{
	static const struct bad	t[] = {
		{ "", "empty value" },
		{ "+1", "not a number" },
		{ "-1", "not a number" },
		{ " 1", "not a number" },
		{ "1 ", "not a number" },
		{ "0x10", "not a number" },
		{ "1e3", "not a number" },
		{ "1K", "not a number" },
		{ "ten", "not a number" },
		{ "18446744073709551616", "number too large" },
	};
	const char	*cause;
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		cause = NULL;
		cr_expect(eq(int, parse_uint(t[i].in, 0, UINT64_MAX, &v,
		    &cause), -1), "accepted '%s'", t[i].in);
		cr_expect(cause != NULL && strcmp(cause, t[i].cause) == 0,
		    "'%s': cause '%s', expected '%s'", t[i].in,
		    cause != NULL ? cause : "(null)", t[i].cause);
	}
}

Test(bool, forms)
{
	static const char *const yes[] = { "yes", "YES", "Yes", "true",
	    "TRUE", "on", "On", "1" };
	static const char *const no[] = { "no", "NO", "false", "False",
	    "off", "OFF", "0" };
	static const char *const bad[] = { "", "2", "y", "n", "yess",
	    " yes", "yes ", "enabled", "01" };
	const char		*cause;
	size_t			 i;
	int			 v;

	for (i = 0; i < nitems(yes); i++) {
		v = 0;
		cr_expect(eq(int, parse_bool(yes[i], &v, &cause), 0), "%s",
		    yes[i]);
		cr_expect(eq(int, v, 1), "%s", yes[i]);
	}
	for (i = 0; i < nitems(no); i++) {
		v = 1;
		cr_expect(eq(int, parse_bool(no[i], &v, &cause), 0), "%s",
		    no[i]);
		cr_expect(eq(int, v, 0), "%s", no[i]);
	}
	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		cr_expect(eq(int, parse_bool(bad[i], &v, &cause), -1),
		    "accepted '%s'", bad[i]);
		cr_expect(cause != NULL && strcmp(cause,
		    "not a boolean (use yes or no)") == 0, "'%s'", bad[i]);
	}
}

Test(format, duration)
{
	static const struct {
		uint64_t	 ms;
		const char	*text;
	} t[] = {
		{ 0, "0" }, { 1, "1ms" }, { 500, "500ms" }, { 1000, "1s" },
		{ 1500, "1500ms" }, { 30000, "30s" }, { 60000, "1m" },
		{ 90000, "90s" }, { 300000, "5m" }, { 3600000, "1h" },
		{ 5400000, "90m" }, { 86400000, "24h" },
		{ 3600001, "3600001ms" },
	};
	char	buf[32];
	size_t	i;

	for (i = 0; i < nitems(t); i++) {
		format_duration_ms(t[i].ms, buf, sizeof(buf));
		cr_expect(strcmp(buf, t[i].text) == 0, "%llu: got %s",
		    (unsigned long long)t[i].ms, buf);
	}
}

Test(format, size)
{
	static const struct {
		uint64_t	 bytes;
		const char	*text;
	} t[] = {
		{ 0, "0" }, { 1, "1" }, { 512, "512" }, { 1024, "1KiB" },
		{ 1536, "1536" }, { 4096, "4KiB" }, { 65536, "64KiB" },
		{ 1048576, "1MiB" }, { 1049600, "1025KiB" },
		{ 67108864, "64MiB" }, { 1073741824, "1GiB" },
		{ 3221225472ULL, "3GiB" },
	};
	char	buf[32];
	size_t	i;

	for (i = 0; i < nitems(t); i++) {
		format_size(t[i].bytes, buf, sizeof(buf));
		cr_expect(strcmp(buf, t[i].text) == 0, "%llu: got %s",
		    (unsigned long long)t[i].bytes, buf);
	}
}

Test(format, round_trip)
{
	static const uint64_t	 v[] = { 0, 1, 7, 999, 1000, 1001, 1024,
	    59999, 60000, 61000, 65536, 3599999, 3600000, 7200000, 1048577,
	    86400000, 1ULL << 40, UINT64_MAX / 3600000 * 3600000,
	    UINT64_MAX };
	const char		*cause;
	char			 buf[32];
	uint64_t		 back;
	size_t			 i;

	for (i = 0; i < nitems(v); i++) {
		format_duration_ms(v[i], buf, sizeof(buf));
		back = v[i] + 1;
		cr_expect(eq(int, parse_duration_ms(buf, UINT64_MAX, &back,
		    &cause), 0), "%s", buf);
		cr_expect(eq(u64, back, v[i]), "duration %s", buf);

		format_size(v[i], buf, sizeof(buf));
		back = v[i] + 1;
		cr_expect(eq(int, parse_size(buf, UINT64_MAX, &back, &cause),
		    0), "%s", buf);
		cr_expect(eq(u64, back, v[i]), "size %s", buf);
	}
}

/* Parse s, which must be a good CIDR prefix. */
static struct cidr
test_cidr(const char *s)
{
	struct cidr	 c;
	const char	*cause = NULL;

	cr_assert(eq(int, parse_cidr(s, &c, &cause), 0), "%s: %s", s, cause);
	return c;
}

Test(cidr, ipv4)
{
	static const uint8_t	 net[4] = { 192, 0, 2, 0 };
	static const uint8_t	 host[4] = { 10, 1, 2, 3 };
	static const uint8_t	 zero[16];
	struct cidr		 c;

	c = test_cidr("192.0.2.0/24");
	cr_assert(eq(int, c.family, AF_INET));
	cr_assert(eq(uint, c.prefix, 24));
	cr_assert(eq(int, memcmp(c.addr, net, 4), 0));
	cr_assert(eq(int, memcmp(c.addr + 4, zero, 12), 0));
	c = test_cidr("10.1.2.3");
	cr_assert(eq(int, c.family, AF_INET));
	cr_assert(eq(uint, c.prefix, 32), "a bare address is a /32");
	cr_assert(eq(int, memcmp(c.addr, host, 4), 0));
	c = test_cidr("0.0.0.0/0");
	cr_assert(eq(uint, c.prefix, 0));
	cr_assert(eq(int, memcmp(c.addr, zero, 16), 0));
	c = test_cidr("10.1.2.3/32");
	cr_assert(eq(uint, c.prefix, 32));
	c = test_cidr("172.16.0.0/12");
	cr_assert(eq(uint, c.prefix, 12));
	c = test_cidr("128.0.0.0/1");
	cr_assert(eq(uint, c.prefix, 1));
	c = test_cidr("10.0.0.0/008");
	cr_assert(eq(uint, c.prefix, 8));
}

Test(cidr, ipv6)
{
	static const uint8_t	 doc[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t	 lo[16] = { [15] = 1 };
	static const uint8_t	 zero[16];
	struct cidr		 c;

	c = test_cidr("2001:db8::/32");
	cr_assert(eq(int, c.family, AF_INET6));
	cr_assert(eq(uint, c.prefix, 32));
	cr_assert(eq(int, memcmp(c.addr, doc, 16), 0));
	c = test_cidr("::1");
	cr_assert(eq(int, c.family, AF_INET6));
	cr_assert(eq(uint, c.prefix, 128), "a bare address is a /128");
	cr_assert(eq(int, memcmp(c.addr, lo, 16), 0));
	c = test_cidr("::/0");
	cr_assert(eq(int, c.family, AF_INET6));
	cr_assert(eq(uint, c.prefix, 0));
	cr_assert(eq(int, memcmp(c.addr, zero, 16), 0));
	c = test_cidr("2001:DB8:0:0::/64");
	cr_assert(eq(uint, c.prefix, 64));
	cr_assert(eq(int, memcmp(c.addr, doc, 16), 0));
	c = test_cidr("fe80::/10");
	cr_assert(eq(uint, c.prefix, 10));
	/* Not mapped (::/96 and NAT64): these stay IPv6. */
	c = test_cidr("::192.0.2.0/120");
	cr_assert(eq(int, c.family, AF_INET6));
	c = test_cidr("64:ff9b::/96");
	cr_assert(eq(int, c.family, AF_INET6));
}

Test(cidr, mapped_becomes_ipv4)
{
	static const uint8_t	 net[16] = { 192, 0, 2, 0 };
	static const uint8_t	 host[16] = { 198, 51, 100, 7 };
	static const uint8_t	 fffe[16] = { [10] = 0xff, [11] = 0xfe };
	struct cidr		 c;

	c = test_cidr("::ffff:192.0.2.0/120");
	cr_assert(eq(int, c.family, AF_INET));
	cr_assert(eq(uint, c.prefix, 24));
	cr_assert(eq(int, memcmp(c.addr, net, 16), 0), "IPv4 bytes first");
	c = test_cidr("::ffff:198.51.100.7");
	cr_assert(eq(int, c.family, AF_INET));
	cr_assert(eq(uint, c.prefix, 32));
	cr_assert(eq(int, memcmp(c.addr, host, 16), 0));
	c = test_cidr("::FFFF:c000:0200/120");
	cr_assert(eq(int, c.family, AF_INET));
	cr_assert(eq(uint, c.prefix, 24));
	c = test_cidr("::ffff:0.0.0.0/96");
	cr_assert(eq(int, c.family, AF_INET), "all of IPv4");
	cr_assert(eq(uint, c.prefix, 0));
	/* Shorter than /96 it covers more than IPv4: it stays IPv6. */
	c = test_cidr("::fffe:0:0/95");
	cr_assert(eq(int, c.family, AF_INET6));
	cr_assert(eq(uint, c.prefix, 95));
	cr_assert(eq(int, memcmp(c.addr, fffe, 16), 0));
}

Test(cidr, bad_forms)
{
	static const struct bad	t[] = {
		{ "", "missing address" },
		{ "/24", "missing address" },
		{ "192.0.2.0/", "missing prefix length after '/'" },
		{ "::/", "missing prefix length after '/'" },
		{ "192.0.2.0/x", "bad prefix length (digits only)" },
		{ "192.0.2.0/-1", "bad prefix length (digits only)" },
		{ "192.0.2.0/+8", "bad prefix length (digits only)" },
		{ "192.0.2.0/24 ", "bad prefix length (digits only)" },
		{ "192.0.2.0/2 4", "bad prefix length (digits only)" },
		{ "192.0.2.0/24/8", "bad prefix length (digits only)" },
		{ "192.0.2.0/33", "prefix length out of range (0-32)" },
		{ "0.0.0.0/99999999999999999999999",
		    "prefix length out of range (0-32)" },
		{ "::/129", "prefix length out of range (0-128)" },
		{ "::ffff:192.0.2.0/129",
		    "prefix length out of range (0-128)" },
		{ "localhost", BADV4 },
		{ "192.0.2", BADV4 },
		{ "192.0.2.256", BADV4 },
		{ "192.0.2.0.0/24", BADV4 },
		{ " 192.0.2.0/24", BADV4 },
		{ "192.0.02.0/24", BADV4 },
		{ "0x7f.0.0.1", BADV4 },
		{ "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20",
		    "bad IPv4 address" },
		{ "[::1]", "bad IPv6 address" },
		{ "[::1]/128", "bad IPv6 address" },
		{ "::g", "bad IPv6 address" },
		{ "1:2:3:4:5:6:7:8:9", "bad IPv6 address" },
		{ "2001:db8:::/48", "bad IPv6 address" },
		{ "fe80::1%eth0", SCOPE },
		{ "fe80::%2/64", SCOPE },
		{ "192.0.2.1/24", "host bits set (the address must be the "
		    "first of its prefix)" },
		{ "10.0.0.1/0", "host bits set (the address must be the first "
		    "of its prefix)" },
		{ "172.17.0.0/12", "host bits set (the address must be the "
		    "first of its prefix)" },
		{ "2001:db8::1/64", "host bits set (the address must be the "
		    "first of its prefix)" },
		{ "::1/0", "host bits set (the address must be the first of "
		    "its prefix)" },
		{ "::ffff:192.0.2.1/120", "host bits set (the address must be "
		    "the first of its prefix)" },
		{ "::ffff:0:0/95", "host bits set (the address must be the "
		    "first of its prefix)" },
		{ "2001:db8:8000::/33", NULL },
		{ "fee0::/10", "host bits set (the address must be the first "
		    "of its prefix)" },
	};
	struct cidr	 c;
	const char	*cause;
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		cause = NULL;
		if (t[i].cause == NULL) {
			cr_expect(eq(int, parse_cidr(t[i].in, &c, &cause), 0),
			    "refused '%s': %s", t[i].in, cause);
			continue;
		}
		cr_expect(eq(int, parse_cidr(t[i].in, &c, &cause), -1),
		    "accepted '%s'", t[i].in);
		cr_expect(cause != NULL && strcmp(cause, t[i].cause) == 0,
		    "'%s': cause '%s', expected '%s'", t[i].in,
		    cause != NULL ? cause : "(null)", t[i].cause);
	}
}

Test(cidr, prefix_ranges)
{
	const char	*cause;
	struct cidr	 c;
	char		 s[64];
	unsigned int	 p;

	/* Every length of both families, on an address with no host bits. */
	for (p = 0; p <= 32; p++) {
		snprintf(s, sizeof(s), "0.0.0.0/%u", p);
		cr_expect(eq(int, parse_cidr(s, &c, &cause), 0), "%s", s);
		cr_expect(eq(uint, c.prefix, p), "%s", s);
		snprintf(s, sizeof(s), "255.255.255.255/%u", p);
		cr_expect(eq(int, parse_cidr(s, &c, &cause), p == 32 ? 0 : -1),
		    "%s", s);
	}
	for (p = 0; p <= 128; p++) {
		snprintf(s, sizeof(s), "::/%u", p);
		cr_expect(eq(int, parse_cidr(s, &c, &cause), 0), "%s", s);
		cr_expect(eq(uint, c.prefix, p), "%s", s);
		snprintf(s, sizeof(s), "::1/%u", p);
		cr_expect(eq(int, parse_cidr(s, &c, &cause), p == 128 ? 0 : -1),
		    "%s", s);
	}
}

Test(cidr, format)
{
	static const struct {
		const char	*in, *text;
	} t[] = {
		{ "192.0.2.0/24", "192.0.2.0/24" },
		{ "10.1.2.3", "10.1.2.3" },
		{ "10.1.2.3/32", "10.1.2.3" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.0.0/008", "10.0.0.0/8" },
		{ "2001:DB8:0:0::/32", "2001:db8::/32" },
		{ "0:0:0:0:0:0:0:1", "::1" },
		{ "::1/128", "::1" },
		{ "::/0", "::/0" },
		{ "fe80::/10", "fe80::/10" },
		{ "::ffff:192.0.2.0/120", "192.0.2.0/24" },
		{ "::ffff:198.51.100.7", "198.51.100.7" },
		{ "::ffff:0:0/96", "0.0.0.0/0" },
		{ "::fffe:0:0/95", "::fffe:0:0/95" },
	};
	struct cidr	c, back;
	char		buf[64];
	size_t		i;

	for (i = 0; i < nitems(t); i++) {
		c = test_cidr(t[i].in);
		cidr_format(&c, buf, sizeof(buf));
		cr_expect(strcmp(buf, t[i].text) == 0, "%s: got %s",
		    t[i].in, buf);
		/* What cidr_format writes parses back to the same prefix. */
		back = test_cidr(buf);
		cr_expect(eq(int, memcmp(&back, &c, sizeof(c)), 0), "%s", buf);
	}
	cidr_format(&c, buf, 4);
	expect_str(buf, "::f");				/* cut, terminated */
	memset(&c, 0, sizeof(c));
	cidr_format(&c, buf, sizeof(buf));
	expect_str(buf, "?");
}

/* util.c: the port of addresses and endpoints, and cause_set(). */

Test(util, ports)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr		 sa;
	struct endpoint		 ep;
	const char		*cause;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4242);
	cr_expect(eq(uint, sockaddr_port((struct sockaddr *)&sin), 4242));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	cr_expect(eq(uint, sockaddr_port((struct sockaddr *)&sin6), 65535));
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	cr_expect(eq(uint, sockaddr_port(&sa), 0), "no port: 0");

	cr_assert(eq(int, parse_endpoint("udp://[::1]:10007", &ep, &cause), 0));
	cr_expect(eq(uint, endpoint_port(&ep), 10007));
	cr_assert(eq(int, parse_endpoint("tcp://127.0.0.1:0", &ep, &cause), 0));
	cr_expect(eq(uint, endpoint_port(&ep), 0));
}

Test(util, cause_set)
{
	char	*cause = NULL;

	cr_expect(eq(int, cause_set(&cause, "%s: %d", "port", 7), -1));
	cr_assert(cause != NULL);
	cr_expect(strcmp(cause, "port: 7") == 0, "got '%s'", cause);
	free(cause);
}

/*
 * The journal's REMOTE_ADDR and REMOTE_PORT come from the sockaddr, not
 * from re-parsing its text: no brackets, the port as a number.
 */
Test(systemd, peer_fields)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct sockaddr		sa;
	char			host[64];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4242);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	cr_assert_eq(systemd_peer((struct sockaddr *)&sin, host,
	    sizeof(host)), 4242);
	cr_assert_str_eq(host, "192.0.2.1");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(7);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	cr_assert_eq(systemd_peer((struct sockaddr *)&sin6, host,
	    sizeof(host)), 7);
	cr_assert_str_eq(host, "::1");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	cr_assert_eq(systemd_peer(&sa, host, sizeof(host)), 0);
	cr_assert_str_eq(host, "");
}
