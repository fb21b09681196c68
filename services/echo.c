/*
 * echo.c: the echo service of RFC 862.  Whatever arrives goes back; the
 * host pauses reading while too much output is pending, so echo needs no
 * flow control of its own.
 */
#include <stddef.h>

#include "service.h"

static void	echo_accept(struct conn *);
static int	echo_restore(struct conn *, const void *, size_t);
static void	echo_read(struct conn *, const void *, size_t);
static void	echo_datagram(struct dgram *, const void *, size_t);

/* Let the host echo in the kernel when it can. */
static void
echo_accept(struct conn *c)
{
	conn_echo_input(c);
}

/*
 * Handover: an echo connection has no state of its own (what the old
 * process had not sent yet comes with the host's pending output).
 */
static int
echo_restore(struct conn *c, const void *buf, size_t len)
{
	(void)buf;
	if (len != 0)
		return -1;
	echo_accept(c);
	return 0;
}

/* Send back the bytes read. */
static void
echo_read(struct conn *c, const void *buf, size_t len)
{
	conn_write(c, buf, len);	/* on failure the host closes c */
}

/* Send the datagram back, empty ones included (RFC 862). */
static void
echo_datagram(struct dgram *d, const void *buf, size_t len)
{
	dgram_reply(d, buf, len);
}

const struct service service_echo = {
	.name = "echo",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.tcp_accept = echo_accept,
	.tcp_read = echo_read,
	.udp_datagram = echo_datagram,
	.tcp_restore = echo_restore,
};
