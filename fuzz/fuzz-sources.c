/*
 * fuzz-sources.c: libFuzzer target for the per-source table and the token
 * buckets of daemon/source.c, the state a flood from many (or spoofed)
 * addresses drives.  The input is a sequence of what the daemon does with
 * them, checked step by step against a plain model kept here:
 *
 *	header		cap (1 byte, % 16 + 1), prefix4, prefix6, rate (2
 *			bytes, % 2000), burst (2 bytes, % 4000)
 *	then ops	1 byte each, % 5, until the input ends:
 *	  0 get		owner byte, family byte, 4 or 16 address bytes
 *	  1 hold	a live entry (byte): a connection opens
 *	  2 release	a live entry (byte): a connection closes
 *	  3 take	a live entry (byte): one token of its rate bucket
 *	  4 time	the clock moves on (2 bytes, ms)
 *
 * What must hold: an address maps to the entry of its prefix (IPv4 and
 * IPv4-mapped IPv6 alike) and owner while that entry lives; the table
 * never holds more than cap entries; a new address evicts the least
 * recently used entry that has no open connection, and gets none only
 * when every entry has one; a bucket never grants more than burst plus
 * rate per second, and a source that waited 1/rate s gets a token again.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"
#include "fuzz.h"

#define MAX_CAP		16

/* The model of one live entry. */
struct model {
	int		 live;
	uint32_t	 idx;		/* what source_get returned */
	uint8_t		 key[16];
	const void	*owner;
	uint32_t	 conns;
	uint64_t	 used;		/* LRU stamp, when conns == 0 */
	uint64_t	 first_ms;	/* of the first take */
	uint64_t	 last_ms;	/* of the last take */
	uint64_t	 granted;	/* tokens taken */
	int		 taken;		/* any take yet */
};

static const char	 owners[3];	/* three instances' stats objects */

static void	ref_key(const struct sockaddr *, unsigned int, unsigned int,
		    uint8_t[16]);
static struct model *model_find(struct model *, const uint8_t *,
		    const void *);
static struct model *model_pick(struct model *, uint8_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERR);
	return 0;
}

/*
 * The key an address is grouped under, computed apart from source.c:
 * IPv4 as ::ffff:a.b.c.d, all bits after 96 + prefix4 (IPv4, mapped) or
 * prefix6 (other IPv6) cleared.
 */
static void
ref_key(const struct sockaddr *sa, unsigned int prefix4,
    unsigned int prefix6, uint8_t key[16])
{
	static const uint8_t		 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	unsigned int			 bits, i;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(key, mapped, 12);
		memcpy(key + 12, &sin->sin_addr, 4);
		bits = 96 + prefix4;
	} else {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(key, &sin6->sin6_addr, 16);
		bits = memcmp(key, mapped, 12) == 0 ? 96 + prefix4 : prefix6;
	}
	for (i = bits; i < 128; i++)
		key[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

/* The live model entry of key and owner, or NULL. */
static struct model *
model_find(struct model *m, const uint8_t *key, const void *owner)
{
	size_t	i;

	for (i = 0; i < MAX_CAP; i++) {
		if (m[i].live && m[i].owner == owner &&
		    memcmp(m[i].key, key, 16) == 0)
			return &m[i];
	}
	return NULL;
}

/* The sel-th live model entry (mod their number), or NULL when none. */
static struct model *
model_pick(struct model *m, uint8_t sel)
{
	size_t	i, n = 0;

	for (i = 0; i < MAX_CAP; i++)
		n += m[i].live;
	if (n == 0)
		return NULL;
	n = sel % n;
	for (i = 0; i < MAX_CAP; i++) {
		if (m[i].live && n-- == 0)
			return &m[i];
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct model		 m[MAX_CAP], *e, *lru;
	struct source_table	*t;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	const struct sockaddr	*sa;
	const void		*owner;
	const uint8_t		*p;
	uint8_t			 key[16];
	uint64_t		 now = 1, stamp = 0, allowed;
	unsigned int		 cap, prefix4, prefix6, rate, burst;
	size_t			 i, n, live;
	uint32_t		 idx;
	int			 got;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	memset(m, 0, sizeof(m));
	cap = fuzz_u8(&in) % MAX_CAP + 1;
	prefix4 = fuzz_u8(&in) % 33;
	prefix6 = fuzz_u8(&in) % 129;
	rate = fuzz_u16(&in) % 2000;
	burst = fuzz_u16(&in) % 4000;
	if ((t = source_table_new(cap, prefix4, prefix6)) == NULL)
		abort();

	while (in.left > 0) {
		switch (fuzz_u8(&in) % 5) {
		case 0:
			owner = &owners[fuzz_u8(&in) % 3];
			if (fuzz_u8(&in) & 1) {
				memset(&sin6, 0, sizeof(sin6));
				sin6.sin6_family = AF_INET6;
				p = fuzz_take(&in, 16, &n);
				memcpy(&sin6.sin6_addr, p, n);
				sa = (const struct sockaddr *)(const void *)&sin6;
			} else {
				memset(&sin, 0, sizeof(sin));
				sin.sin_family = AF_INET;
				p = fuzz_take(&in, 4, &n);
				memcpy(&sin.sin_addr, p, n);
				sa = (const struct sockaddr *)(const void *)&sin;
			}
			ref_key(sa, prefix4, prefix6, key);
			idx = source_get(t, sa, owner);
			if ((e = model_find(m, key, owner)) != NULL) {
				/* Known: the same entry, now the most recent. */
				FUZZ_CHECK(idx == e->idx);
				if (e->conns == 0)
					e->used = ++stamp;
				break;
			}
			live = 0;
			lru = NULL;
			for (i = 0; i < MAX_CAP; i++) {
				if (!m[i].live)
					continue;
				live++;
				if (m[i].conns == 0 &&
				    (lru == NULL || m[i].used < lru->used))
					lru = &m[i];
			}
			if (live == cap) {
				/* Full: evict the LRU unpinned entry, if any. */
				if (lru == NULL) {
					FUZZ_CHECK(idx == SOURCE_NONE);
					break;
				}
				FUZZ_CHECK(idx == lru->idx);
				e = lru;
			} else {
				/* Room: a fresh entry, no live one's. */
				FUZZ_CHECK(idx != SOURCE_NONE && idx < cap);
				for (i = 0; i < MAX_CAP; i++)
					FUZZ_CHECK(!m[i].live || m[i].idx != idx);
				for (i = 0; m[i].live; i++)
					continue;
				e = &m[i];
			}
			memset(e, 0, sizeof(*e));
			e->live = 1;
			e->idx = idx;
			memcpy(e->key, key, 16);
			e->owner = owner;
			e->used = ++stamp;
			FUZZ_CHECK(source_conns(t, idx) == 0);
			break;
		case 1:
			if ((e = model_pick(m, fuzz_u8(&in))) == NULL)
				break;
			source_hold(t, e->idx);
			e->conns++;
			FUZZ_CHECK(source_conns(t, e->idx) == e->conns);
			break;
		case 2:
			if ((e = model_pick(m, fuzz_u8(&in))) == NULL)
				break;
			source_release(t, e->idx);
			if (e->conns > 0 && --e->conns == 0)
				e->used = ++stamp;	/* back in the LRU */
			FUZZ_CHECK(source_conns(t, e->idx) == e->conns);
			break;
		case 3:
			if ((e = model_pick(m, fuzz_u8(&in))) == NULL)
				break;
			got = bucket_take(source_rate(t, e->idx), rate, burst,
			    now);
			if (rate == 0) {
				FUZZ_CHECK(got == 1);	/* no limit */
				break;
			}
			/* Waiting 1/rate s always earns a token back. */
			if (!e->taken || now - e->last_ms >= (1000 + rate - 1) /
			    rate)
				FUZZ_CHECK(got == 1);
			if (!e->taken)
				e->first_ms = now;
			e->taken = 1;
			e->last_ms = now;
			e->granted += (uint64_t)got;
			/* Never more than a full bucket plus the refill. */
			allowed = (burst != 0 ? burst : 2ULL * rate) +
			    (now - e->first_ms) * rate / 1000;
			FUZZ_CHECK(e->granted <= allowed);
			break;
		case 4:
			now += fuzz_u16(&in);
			break;
		}
	}
	source_table_free(t);
	return 0;
}
