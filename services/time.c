/*
 * time.c: the time service of RFC 868.  Four bytes, big-endian: seconds
 * since 1900-01-01 00:00 UTC modulo 2^32 (see time_rfc868() in proto.c for
 * the 2208988800 offset and the 2036 wrap).
 */
#include <stddef.h>
#include <time.h>

#include "service.h"
#include "proto.h"

static void	time_accept(struct conn *);
static void	time_datagram(struct dgram *, const void *, size_t);

/* Send the time and close (RFC 868: the server closes). */
static void
time_accept(struct conn *c)
{
	unsigned char	out[4];

	time_rfc868_bytes(time(NULL), out);
	conn_write(c, out, sizeof(out));
	conn_close(c);
}

/* Answer any datagram with the time; its content is ignored. */
static void
time_datagram(struct dgram *d, const void *buf, size_t len)
{
	unsigned char	out[4];

	(void)buf;
	(void)len;
	time_rfc868_bytes(time(NULL), out);
	dgram_reply(d, out, sizeof(out));
}

const struct service service_time = {
	.name = "time",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.tcp_accept = time_accept,
	.udp_datagram = time_datagram,
};
