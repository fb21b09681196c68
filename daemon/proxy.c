/*
 * proxy.c: parse the PROXY protocol header of HAProxy's spec, version 1
 * (one text line) and version 2 (binary).  Strict and bounded: a v1 line
 * is at most 107 bytes, a v2 header's fixed part is checked before any
 * byte of its block is used, and nothing past the header is consumed.
 * Every result is decided from the bytes seen so far, so a caller that
 * peeks at a growing prefix refuses garbage as soon as it arrives.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "proxy.h"

#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6

#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_FAM_UNSPEC	0x0
#define V2_FAM_INET	0x1
#define V2_FAM_INET6	0x2
#define V2_FAM_UNIX	0x3
#define V2_TRANS_UNSPEC	0x0
#define V2_TRANS_STREAM	0x1
#define V2_INET_LEN	12	/* two IPv4 addresses, two ports */
#define V2_INET6_LEN	36	/* two IPv6 addresses, two ports */

static const uint8_t v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static const char *const proxy_error_names[PROXY_E_COUNT] = {
	[PROXY_E_NONE] = "none",
	[PROXY_E_SIGNATURE] = "signature",
	[PROXY_E_VERSION] = "version",
	[PROXY_E_COMMAND] = "command",
	[PROXY_E_FAMILY] = "family",
	[PROXY_E_LENGTH] = "length",
	[PROXY_E_ADDRESS] = "address",
	[PROXY_E_PORT] = "port",
	[PROXY_E_SYNTAX] = "syntax",
	[PROXY_E_TLV] = "tlv",
	[PROXY_E_TIMEOUT] = "timeout",
	[PROXY_E_CLOSED] = "closed",
};

static enum proxy_status bad(enum proxy_error *, enum proxy_error);
static int	prefix_matches(const uint8_t *, size_t, const void *, size_t);
static enum proxy_status parse_v1(const uint8_t *, size_t,
		    struct proxy_header *, enum proxy_error *);
static enum proxy_status v1_fields(char *, struct proxy_header *,
		    enum proxy_error *);
static int	v1_port(const char *, uint16_t *);
static enum proxy_status parse_v2(const uint8_t *, size_t,
		    struct proxy_header *, enum proxy_error *);
static enum proxy_status v2_addresses(const uint8_t *, int, size_t,
		    struct proxy_header *, enum proxy_error *);
static int	v2_tlvs_fit(const uint8_t *, size_t);
static void	set_inet(struct sockaddr_storage *, const void *, uint16_t);
static void	set_inet6(struct sockaddr_storage *, const void *, uint16_t);

/* The metrics label of a refusal reason. */
const char *
proxy_error_name(enum proxy_error e)
{
	if ((unsigned int)e >= PROXY_E_COUNT)
		return "unknown";
	return proxy_error_names[e];
}

/* Parse "off", "v1", "v2" or "any" into *accept (0 for off).  0 or -1. */
int
proxy_parse_accept(const char *s, int *accept)
{
	if (strcmp(s, "off") == 0 || strcmp(s, "no") == 0)
		*accept = 0;
	else if (strcmp(s, "v1") == 0)
		*accept = PROXY_ACCEPT_V1;
	else if (strcmp(s, "v2") == 0)
		*accept = PROXY_ACCEPT_V2;
	else if (strcmp(s, "any") == 0)
		*accept = PROXY_ACCEPT_ANY;
	else
		return -1;
	return 0;
}

/*
 * Look at the len bytes received so far.  PROXY_DONE fills *h (h->len is
 * what to consume); PROXY_MORE means they are a valid beginning; PROXY_BAD
 * sets *err.  accept is a mask of PROXY_ACCEPT_V1 and PROXY_ACCEPT_V2.
 */
enum proxy_status
proxy_parse(const uint8_t *buf, size_t len, int accept,
    struct proxy_header *h, enum proxy_error *err)
{
	memset(h, 0, sizeof(*h));
	*err = PROXY_E_NONE;
	if (len == 0)
		return PROXY_MORE;
	if (prefix_matches(buf, len, V1_PREFIX, V1_PREFIX_LEN)) {
		if ((accept & PROXY_ACCEPT_V1) == 0)
			return bad(err, PROXY_E_VERSION);
		return parse_v1(buf, len, h, err);
	}
	if (prefix_matches(buf, len, v2_signature, sizeof(v2_signature))) {
		if ((accept & PROXY_ACCEPT_V2) == 0)
			return bad(err, PROXY_E_VERSION);
		return parse_v2(buf, len, h, err);
	}
	return bad(err, PROXY_E_SIGNATURE);
}

static enum proxy_status
bad(enum proxy_error *err, enum proxy_error why)
{
	*err = why;
	return PROXY_BAD;
}

/* The first min(len, plen) bytes of buf are those of p. */
static int
prefix_matches(const uint8_t *buf, size_t len, const void *p, size_t plen)
{
	return memcmp(buf, p, len < plen ? len : plen) == 0;
}

/*
 * Version 1: "PROXY TCP4 SRC DST SPORT DPORT\r\n", TCP6 likewise, or
 * "PROXY UNKNOWN" with anything up to the CR LF (the balancer's own
 * connection: keep the real peer).  Printable ASCII only.
 */
static enum proxy_status
parse_v1(const uint8_t *buf, size_t len, struct proxy_header *h,
    enum proxy_error *err)
{
	char	 line[PROXY_V1_MAX + 1] = { 0 };
	size_t	 i;

	for (i = 0; i < len && i < PROXY_V1_MAX; i++) {
		if (buf[i] == '\r')
			break;
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return bad(err, PROXY_E_SYNTAX);
	}
	if (i == PROXY_V1_MAX)
		return bad(err, PROXY_E_LENGTH);
	if (i + 1 >= len)
		return PROXY_MORE;		/* no CR yet, or CR alone */
	if (buf[i + 1] != '\n' || i + 2 > PROXY_V1_MAX)
		return bad(err, PROXY_E_SYNTAX);
	memcpy(line, buf, i);
	line[i] = '\0';
	h->len = i + 2;
	return v1_fields(line + V1_PREFIX_LEN, h, err);
}

/* The fields after "PROXY ", separated by exactly one space each. */
static enum proxy_status
v1_fields(char *s, struct proxy_header *h, enum proxy_error *err)
{
	char		*field[5];
	int		 n, family;
	uint16_t	 sport, dport;
	uint8_t		 a[16], b[16];

	if (strncmp(s, "UNKNOWN", 7) == 0 && (s[7] == '\0' || s[7] == ' ')) {
		h->local = 1;
		return PROXY_DONE;
	}
	if (strncmp(s, "TCP4 ", 5) == 0)
		family = AF_INET;
	else if (strncmp(s, "TCP6 ", 5) == 0)
		family = AF_INET6;
	else
		return bad(err, PROXY_E_FAMILY);
	s += 5;
	/* Four fields: n counts the spaces between them. */
	for (n = 0; n < 5; n++) {
		field[n] = s;
		if ((s = strchr(s, ' ')) == NULL)
			break;
		*s++ = '\0';
	}
	if (n != 3)
		return bad(err, PROXY_E_SYNTAX);
	if (inet_pton(family, field[0], a) != 1 ||
	    inet_pton(family, field[1], b) != 1)
		return bad(err, PROXY_E_ADDRESS);
	if (v1_port(field[2], &sport) == -1 || v1_port(field[3], &dport) == -1)
		return bad(err, PROXY_E_PORT);
	if (family == AF_INET) {
		set_inet(&h->src, a, sport);
		set_inet(&h->dst, b, dport);
	} else {
		set_inet6(&h->src, a, sport);
		set_inet6(&h->dst, b, dport);
	}
	return PROXY_DONE;
}

/* A decimal port 0-65535 without sign or leading zero.  0 or -1. */
static int
v1_port(const char *s, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * Version 2: 12-byte signature, version 2 and command, family and
 * transport, a 16-bit length, then the block.  The fixed part is checked
 * first; the block is bounded by PROXY_V2_MAX_BLOCK before it is waited for.
 */
static enum proxy_status
parse_v2(const uint8_t *buf, size_t len, struct proxy_header *h,
    enum proxy_error *err)
{
	size_t	block;
	int	cmd, fam;

	if (len > 12 && (buf[12] >> 4) != 2)
		return bad(err, PROXY_E_VERSION);
	cmd = len > 12 ? (buf[12] & 0x0f) : V2_CMD_LOCAL;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return bad(err, PROXY_E_COMMAND);
	if (len < PROXY_V2_HEAD)
		return PROXY_MORE;
	fam = buf[13];
	block = ((size_t)buf[14] << 8) | buf[15];
	if (block > PROXY_V2_MAX_BLOCK)
		return bad(err, PROXY_E_LENGTH);
	if (cmd == V2_CMD_PROXY) {
		/* Checked now, so a bad family is refused before its block. */
		switch (fam >> 4) {
		case V2_FAM_UNSPEC:
		case V2_FAM_UNIX:
			break;
		case V2_FAM_INET:
		case V2_FAM_INET6:
			if ((fam & 0x0f) != V2_TRANS_STREAM)
				return bad(err, PROXY_E_FAMILY);
			if (block < ((fam >> 4) == V2_FAM_INET ?
			    V2_INET_LEN : V2_INET6_LEN))
				return bad(err, PROXY_E_LENGTH);
			break;
		default:
			return bad(err, PROXY_E_FAMILY);
		}
	}
	if (len < PROXY_V2_HEAD + block)
		return PROXY_MORE;
	h->len = PROXY_V2_HEAD + block;
	if (cmd == V2_CMD_LOCAL || (fam >> 4) == V2_FAM_UNSPEC ||
	    (fam >> 4) == V2_FAM_UNIX) {
		/* Health checks and addresses we cannot use: the real peer. */
		h->local = 1;
		return PROXY_DONE;
	}
	return v2_addresses(buf + PROXY_V2_HEAD, fam >> 4, block, h, err);
}

/* The address block of a PROXY command over TCP, then its TLVs. */
static enum proxy_status
v2_addresses(const uint8_t *p, int fam, size_t block,
    struct proxy_header *h, enum proxy_error *err)
{
	uint16_t	sport, dport;
	size_t		alen;

	if (fam == V2_FAM_INET) {
		alen = V2_INET_LEN;
		sport = (uint16_t)((p[8] << 8) | p[9]);
		dport = (uint16_t)((p[10] << 8) | p[11]);
		set_inet(&h->src, p, sport);
		set_inet(&h->dst, p + 4, dport);
	} else {
		alen = V2_INET6_LEN;
		sport = (uint16_t)((p[32] << 8) | p[33]);
		dport = (uint16_t)((p[34] << 8) | p[35]);
		set_inet6(&h->src, p, sport);
		set_inet6(&h->dst, p + 16, dport);
	}
	if (!v2_tlvs_fit(p + alen, block - alen))
		return bad(err, PROXY_E_TLV);
	return PROXY_DONE;
}

/* Each TLV (type, 16-bit length, value) ends inside the block. */
static int
v2_tlvs_fit(const uint8_t *p, size_t len)
{
	size_t	vlen;

	while (len > 0) {
		if (len < 3)
			return 0;
		vlen = ((size_t)p[1] << 8) | p[2];
		if (vlen > len - 3)
			return 0;
		p += 3 + vlen;
		len -= 3 + vlen;
	}
	return 1;
}

static void
set_inet(struct sockaddr_storage *ss, const void *addr, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	memcpy(&sin->sin_addr, addr, 4);
}

static void
set_inet6(struct sockaddr_storage *ss, const void *addr, uint16_t port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, addr, 16);
}
