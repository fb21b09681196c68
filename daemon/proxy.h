/*
 * proxy.h: the PROXY protocol header (HAProxy's spec, versions 1 and 2)
 * that a load balancer sends before the client's first byte.  The parser
 * is pure: bytes in, addresses or a reason out.  It never reads more than
 * the header, so the service sees the client's data from its first byte.
 */
#ifndef NETSVCD_PROXY_H
#define NETSVCD_PROXY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* Which versions an instance accepts (proxy_protocol = v1 | v2 | any). */
#define PROXY_ACCEPT_V1		0x1
#define PROXY_ACCEPT_V2		0x2
#define PROXY_ACCEPT_ANY	(PROXY_ACCEPT_V1 | PROXY_ACCEPT_V2)

#define PROXY_V1_MAX		107	/* the spec's bound, CR LF included */
#define PROXY_V2_HEAD		16	/* signature, version, family, length */
/* Longest v2 address block + TLVs taken (the spec allows 65535). */
#define PROXY_V2_MAX_BLOCK	2048
/* Longest header of either version: what a reader must be able to hold. */
#define PROXY_MAX		(PROXY_V2_HEAD + PROXY_V2_MAX_BLOCK)

/* What proxy_parse() made of the bytes so far. */
enum proxy_status {
	PROXY_DONE,		/* a whole header: see struct proxy_header */
	PROXY_MORE,		/* a valid prefix: read more */
	PROXY_BAD		/* not a header we take: see enum proxy_error */
};

/* Why a header was refused; the order is that of the metrics labels. */
enum proxy_error {
	PROXY_E_NONE,
	PROXY_E_SIGNATURE,	/* neither "PROXY " nor the v2 signature */
	PROXY_E_VERSION,	/* a version this instance does not accept */
	PROXY_E_COMMAND,	/* v2 command other than LOCAL or PROXY */
	PROXY_E_FAMILY,		/* unknown family or a datagram transport */
	PROXY_E_LENGTH,		/* block too short for its family, or too long */
	PROXY_E_ADDRESS,	/* an address that does not parse */
	PROXY_E_PORT,		/* a port that does not parse */
	PROXY_E_SYNTAX,		/* v1: bad separators, characters or ending */
	PROXY_E_TLV,		/* v2: a TLV that overruns the block */
	PROXY_E_TIMEOUT,	/* not a parser result: the header came too late */
	PROXY_E_CLOSED,		/* nor this: the peer left before a whole header */
	PROXY_E_COUNT
};

struct proxy_header {
	int			 local;	/* LOCAL/UNKNOWN: keep the real peer */
	struct sockaddr_storage	 src;	/* the client, when !local */
	struct sockaddr_storage	 dst;	/* the address it connected to */
	size_t			 len;	/* bytes the header takes */
};

enum proxy_status proxy_parse(const uint8_t *, size_t, int accept,
		    struct proxy_header *, enum proxy_error *);
const char	*proxy_error_name(enum proxy_error);
int		 proxy_parse_accept(const char *, int *);

#endif
