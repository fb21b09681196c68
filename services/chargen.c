/*
 * chargen.c: the character generator of RFC 864.  TCP streams the 72
 * column rotating pattern for as long as the peer reads; UDP answers each
 * datagram with 0 to 512 bytes of it.  Nothing is formatted at run time:
 * both copy from chargen_ring() (proto.c), one period of the pattern
 * followed by 64 KiB more of it, so any chunk is one contiguous slice.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "service.h"
#include "proto.h"

static void	chargen_write_ready(struct conn *);
static int	chargen_save(struct conn *, void *, size_t *);
static int	chargen_restore(struct conn *, const void *, size_t);
static void	chargen_datagram(struct dgram *, const void *, size_t);

/*
 * Offer the socket one 64 KiB slice of the pattern per wakeup; the write
 * event is level-triggered, so the loop comes back while the socket has
 * room.  Trying again at once mostly meets EAGAIN (measured: about 15 %
 * slower in bench/ chargen-sink).  The position in the pattern (an offset
 * below CHARGEN_PERIOD) is kept in the connection's data pointer itself,
 * so a connection costs no allocation and tcp_close has nothing to free;
 * it starts at 0, line 0, because conn_data() is NULL for a new
 * connection.
 */
static void
chargen_write_ready(struct conn *c)
{
	const char	*ring = chargen_ring();
	uintptr_t	 off = (uintptr_t)conn_data(c);
	size_t		 n;

	n = conn_write_some(c, ring + off, CHARGEN_CHUNK);
	off = (off + n) % CHARGEN_PERIOD;
	conn_set_data(c, (void *)off);
}

/*
 * Handover: the position in the pattern, as 4 bytes little-endian, so
 * that the new process goes on from the very next byte.
 */
static int
chargen_save(struct conn *c, void *buf, size_t *len)
{
	uintptr_t	 off = (uintptr_t)conn_data(c);
	unsigned char	*p = buf;
	int		 i;

	if (*len < 4)
		return -1;
	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(off >> (8 * i));
	*len = 4;
	return 0;
}

/* The position chargen_save wrote: 4 bytes, below CHARGEN_PERIOD. */
static int
chargen_restore(struct conn *c, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	uintptr_t		 off = 0;
	int			 i;

	if (len != 4)
		return -1;
	for (i = 0; i < 4; i++)
		off |= (uintptr_t)p[i] << (8 * i);
	if (off >= CHARGEN_PERIOD)
		return -1;
	conn_set_data(c, (void *)off);
	return 0;
}

/*
 * RFC 864: reply with a random number (between 0 and 512) of characters;
 * no state is kept between datagrams, so start at a random line.
 */
static void
chargen_datagram(struct dgram *d, const void *buf, size_t len)
{
	size_t	line, n;

	(void)buf;
	(void)len;
	line = arc4random_uniform(CHARGEN_NCHARS);
	n = arc4random_uniform(CHARGEN_UDP_MAX + 1);
	dgram_reply(d, chargen_ring() + line * CHARGEN_LINE, n);
}

const struct service service_chargen = {
	.name = "chargen",
	.protocols = SERVICE_TCP | SERVICE_UDP,
	.tcp_write_ready = chargen_write_ready,
	.udp_datagram = chargen_datagram,
	.tcp_save = chargen_save,
	.tcp_restore = chargen_restore,
};
