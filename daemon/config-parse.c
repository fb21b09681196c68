/*
 * config-parse.c: pure parsers and formatters for config values:
 * endpoints ("tcp://[::1]:7"), CIDR prefixes ("192.0.2.0/24"), durations
 * ("500ms"), sizes ("64KiB"), unsigned numbers and booleans.  Nothing here
 * allocates, does I/O or resolves names; on failure *cause points to a
 * static string.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "netsvcd.h"
#include "proto.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* A unit suffix and what one of it is worth. */
struct unit {
	const char	*name;
	uint64_t	 mult;
};

/*
 * Duration units, in milliseconds.  A bare number is seconds, the unit
 * people mean when they write "timeout = 30"; "0" is 0 whatever the unit.
 */
static const struct unit duration_units[] = {
	{ "h", 3600000 },
	{ "m", 60000 },
	{ "s", 1000 },
	{ "ms", 1 },
	{ "", 1000 },
};

/* Size units, 1024-based; a bare number is bytes. */
static const struct unit size_units[] = {
	{ "GiB", 1024 * 1024 * 1024 },
	{ "G", 1024 * 1024 * 1024 },
	{ "MiB", 1024 * 1024 },
	{ "M", 1024 * 1024 },
	{ "KiB", 1024 },
	{ "K", 1024 },
	{ "", 1 },
};

static int	parse_digits(const char **, uint64_t *, const char **);
static int	parse_scaled(const char *, const struct unit *, size_t,
		    const char *, uint64_t, uint64_t *, const char **);
static void	format_scaled(uint64_t, const struct unit *, size_t,
		    const char *, char *, size_t);
static int	cidr_host_bits(const uint8_t *, size_t, unsigned int);

/* Read the decimal digits at *sp (at least one) into *v, advancing *sp. */
static int
parse_digits(const char **sp, uint64_t *v, const char **cause)
{
	const char	*s = *sp;
	uint64_t	 n = 0;
	unsigned int	 d;

	if (*s < '0' || *s > '9') {
		*cause = *s == '\0' ? "empty value" : "not a number";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned int)(*s - '0');
		if (n > (UINT64_MAX - d) / 10) {
			*cause = "number too large";
			return -1;
		}
		n = n * 10 + d;
	}
	*sp = s;
	*v = n;
	return 0;
}

/* Parse "<digits><unit>" with one of units, checking overflow and max. */
static int
parse_scaled(const char *s, const struct unit *units, size_t nunits,
    const char *badunit, uint64_t max, uint64_t *v, const char **cause)
{
	uint64_t	 n;
	size_t		 i;

	if (parse_digits(&s, &n, cause) == -1)
		return -1;
	for (i = 0; i < nunits; i++) {
		if (strcmp(s, units[i].name) == 0)
			break;
	}
	if (i == nunits) {
		*cause = badunit;
		return -1;
	}
	if (n > UINT64_MAX / units[i].mult) {
		*cause = "number too large";
		return -1;
	}
	n *= units[i].mult;
	if (n > max) {
		*cause = "out of range";
		return -1;
	}
	*v = n;
	return 0;
}

/* Write v with the largest unit of units that divides it exactly. */
static void
format_scaled(uint64_t v, const struct unit *units, size_t nunits,
    const char *base, char *buf, size_t len)
{
	size_t	i;

	if (v == 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (i = 0; i < nunits; i++) {
		if (units[i].mult > 1 && v % units[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", v / units[i].mult,
			    units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "%s", v, base);
}

/* Parse a duration ("500ms", "30s", "5m", "1h", "30" = 30s) in ms. */
int
parse_duration_ms(const char *s, uint64_t max, uint64_t *v,
    const char **cause)
{
	return parse_scaled(s, duration_units, nitems(duration_units),
	    "unknown unit (use ms, s, m or h)", max, v, cause);
}

/* Parse a size in bytes ("512", "64K", "64KiB", "1MiB", "1G"). */
int
parse_size(const char *s, uint64_t max, uint64_t *v, const char **cause)
{
	return parse_scaled(s, size_units, nitems(size_units),
	    "unknown unit (use K, KiB, M, MiB, G or GiB)", max, v, cause);
}

/* Parse a plain decimal number within [min, max]: no sign, no spaces. */
int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v,
    const char **cause)
{
	uint64_t	n;

	if (parse_digits(&s, &n, cause) == -1)
		return -1;
	if (*s != '\0') {
		*cause = "not a number";
		return -1;
	}
	if (n < min || n > max) {
		*cause = "out of range";
		return -1;
	}
	*v = n;
	return 0;
}

/*
 * Parse yes/no, true/false, on/off or 1/0, in any case: the words of
 * proto_parse_bool(), the one list the services use too.
 */
int
parse_bool(const char *s, int *v, const char **cause)
{
	if (proto_parse_bool(s, v) == 0)
		return 0;
	*cause = "not a boolean (use yes or no)";
	return -1;
}

/* Write ms in its shortest exact form: "0", "500ms", "30s", "5m", "1h". */
void
format_duration_ms(uint64_t ms, char *buf, size_t len)
{
	/* Leave out the bare-number entry: print a unit every time. */
	format_scaled(ms, duration_units, nitems(duration_units) - 1, "ms",
	    buf, len);
}

/* Write a byte count in its shortest exact form: "512", "64KiB", "1GiB". */
void
format_size(uint64_t bytes, char *buf, size_t len)
{
	static const struct unit	units[] = {
		{ "GiB", 1024 * 1024 * 1024 },
		{ "MiB", 1024 * 1024 },
		{ "KiB", 1024 },
	};

	format_scaled(bytes, units, nitems(units), "", buf, len);
}

/*
 * Parse "tcp://ADDR:PORT" or "udp://ADDR:PORT".  ADDR is a numeric IPv4
 * address or a bracketed numeric IPv6 address without a scope; names are
 * never resolved, so a config check does not depend on DNS.  Port 0 asks
 * the kernel for a free port at bind time.
 */
int
parse_endpoint(const char *s, struct endpoint *ep, const char **cause)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ep->addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ep->addr;
	char			 host[INET6_ADDRSTRLEN];
	const char		*p, *end;
	uint64_t		 port;
	size_t			 n;
	int			 v6;

	memset(ep, 0, sizeof(*ep));
	if (strncmp(s, "tcp://", 6) == 0)
		ep->proto = SERVICE_TCP;
	else if (strncmp(s, "udp://", 6) == 0)
		ep->proto = SERVICE_UDP;
	else {
		*cause = "unknown scheme (use tcp:// or udp://)";
		return -1;
	}
	p = s + 6;

	if ((v6 = (*p == '[')) != 0) {
		p++;
		if ((end = strchr(p, ']')) == NULL) {
			*cause = "missing ']' after the IPv6 address";
			return -1;
		}
		if (memchr(p, '%', (size_t)(end - p)) != NULL) {
			*cause = "IPv6 scope ids are not supported";
			return -1;
		}
	} else {
		if ((end = strchr(p, ':')) != NULL &&
		    strchr(end + 1, ':') != NULL) {
			*cause = "an IPv6 address needs brackets: [::1]";
			return -1;
		}
		if (end == NULL)
			end = p + strlen(p);
	}
	if ((n = (size_t)(end - p)) == 0) {
		*cause = "missing address";
		return -1;
	}
	if (n >= sizeof(host)) {
		*cause = v6 ? "bad IPv6 address" : "bad IPv4 address";
		return -1;
	}
	memcpy(host, p, n);
	host[n] = '\0';
	if (v6 && inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		*cause = "bad IPv6 address";
		return -1;
	}
	if (!v6 && inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		*cause = "bad IPv4 address (numeric only, names are not "
		    "resolved)";
		return -1;
	}

	p = end + v6;
	if (*p == '\0' || (*p == ':' && p[1] == '\0')) {
		*cause = "missing port";
		return -1;
	}
	if (*p != ':') {
		*cause = "expected ':' after ']'";
		return -1;
	}
	p++;
	if (p[strspn(p, "0123456789")] != '\0') {
		*cause = "bad port (digits only)";
		return -1;
	}
	if (parse_uint(p, 0, 65535, &port, cause) == -1) {
		*cause = "port out of range (0-65535)";
		return -1;
	}

	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		ep->addrlen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		ep->addrlen = sizeof(*sin);
	}
	endpoint_format(ep, ep->text, sizeof(ep->text));
	return 0;
}

/*
 * Whether a and b are the same socket identity: protocol, family, address
 * and port.  Port 0 equals port 0 here; callers decide what that means.
 */
int
endpoint_same(const struct endpoint *a, const struct endpoint *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->proto != b->proto || a->addr.ss_family != b->addr.ss_family)
		return 0;
	if (endpoint_port(a) != endpoint_port(b))
		return 0;
	switch (a->addr.ss_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)&a->addr;
		b4 = (const struct sockaddr_in *)&b->addr;
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)&a->addr;
		b6 = (const struct sockaddr_in6 *)&b->addr;
		return memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	return 0;
}

/*
 * Write the canonical text of ep from its address, so that after bind()
 * with port 0 the real port shows: "tcp://127.0.0.1:7", "udp://[::1]:7".
 */
void
endpoint_format(const struct endpoint *ep, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const char			*scheme;
	char				 host[INET6_ADDRSTRLEN];

	scheme = ep->proto == SERVICE_UDP ? "udp" : "tcp";
	switch (ep->addr.ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)&ep->addr;
		if (inet_ntop(AF_INET, &sin->sin_addr, host,
		    sizeof(host)) == NULL)
			break;
		snprintf(buf, len, "%s://%s:%u", scheme, host,
		    endpoint_port(ep));
		return;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&ep->addr;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host)) == NULL)
			break;
		snprintf(buf, len, "%s://[%s]:%u", scheme, host,
		    endpoint_port(ep));
		return;
	}
	snprintf(buf, len, "%s://?", scheme);
}

/* Whether any bit after the first prefix bits of the len-byte addr is set. */
static int
cidr_host_bits(const uint8_t *addr, size_t len, unsigned int prefix)
{
	size_t	i;

	for (i = prefix / 8; i < len; i++) {
		if (i == prefix / 8 && prefix % 8 != 0) {
			if ((addr[i] & (0xffU >> (prefix % 8))) != 0)
				return 1;
		} else if (addr[i] != 0)
			return 1;
	}
	return 0;
}

/*
 * Parse a CIDR prefix: "192.0.2.0/24", "2001:db8::/32", or a bare address
 * for a single host (/32 or /128).  Addresses are numeric, IPv6 ones
 * without brackets or scope.  An address with bits set past the prefix
 * length ("192.0.2.1/24") is refused rather than silently widened, as a
 * typo there changes what the list matches.  IPv4-mapped prefixes of /96
 * or longer ("::ffff:192.0.2.0/120") are stored as the IPv4 prefix they
 * stand for, since mapped client addresses are matched as IPv4.
 */
int
parse_cidr(const char *s, struct cidr *c, const char **cause)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char			 host[INET6_ADDRSTRLEN];
	const char		*slash;
	uint64_t		 prefix;
	unsigned int		 max;
	size_t			 n;

	memset(c, 0, sizeof(*c));
	if ((slash = strchr(s, '/')) == NULL)
		n = strlen(s);
	else
		n = (size_t)(slash - s);
	if (n == 0) {
		*cause = "missing address";
		return -1;
	}
	if (memchr(s, ':', n) != NULL) {
		c->family = AF_INET6;
		max = 128;
	} else {
		c->family = AF_INET;
		max = 32;
	}
	if (n >= sizeof(host)) {
		*cause = max == 128 ? "bad IPv6 address" : "bad IPv4 address";
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (c->family == AF_INET6 && inet_pton(AF_INET6, host, c->addr) != 1) {
		*cause = memchr(host, '%', n) != NULL ?
		    "IPv6 scope ids are not supported" : "bad IPv6 address";
		return -1;
	}
	if (c->family == AF_INET && inet_pton(AF_INET, host, c->addr) != 1) {
		*cause = "bad IPv4 address (numeric only, names are not "
		    "resolved)";
		return -1;
	}

	prefix = max;
	if (slash != NULL) {
		if (slash[1] == '\0') {
			*cause = "missing prefix length after '/'";
			return -1;
		}
		if (slash[1 + strspn(slash + 1, "0123456789")] != '\0') {
			*cause = "bad prefix length (digits only)";
			return -1;
		}
		if (parse_uint(slash + 1, 0, max, &prefix, cause) == -1) {
			*cause = max == 128 ? "prefix length out of range "
			    "(0-128)" : "prefix length out of range (0-32)";
			return -1;
		}
	}
	c->prefix = (unsigned int)prefix;
	if (cidr_host_bits(c->addr, max / 8, c->prefix)) {
		*cause = "host bits set (the address must be the first of "
		    "its prefix)";
		return -1;
	}
	if (c->family == AF_INET6 && c->prefix >= 96 &&
	    memcmp(c->addr, mapped, sizeof(mapped)) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->prefix -= 96;
	}
	return 0;
}

/*
 * Write the canonical text of c: "192.0.2.0/24", "2001:db8::/32", and a
 * bare address for a single host ("127.0.0.1", "::1"), as parse_cidr()
 * reads it back.
 */
void
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    inet_ntop(c->family, c->addr, host, sizeof(host)) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (c->prefix == (c->family == AF_INET ? 32U : 128U))
		snprintf(buf, len, "%s", host);
	else
		snprintf(buf, len, "%s/%u", host, c->prefix);
}
