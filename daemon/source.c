/*
 * source.c: what the daemon remembers about each client address, for the
 * per-source limits (max_per_source, rate/burst, the UDP amplification
 * bucket).  The table has a fixed number of entries, allocated once, so a
 * flood from spoofed or many addresses cannot grow memory: when it is
 * full, the least recently used entry without open connections is reused.
 * Entries with open connections are pinned (out of the LRU list); the
 * table is sized above max_connections (and grown when a reload raises
 * it), so there is always one to reuse.
 *
 * Sources are grouped by prefix (source_prefix4/6; IPv6 clients usually own
 * a whole /64) and kept per instance name: the key includes the instance's
 * counters object, which survives reloads.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"

struct source {
	uint8_t		 addr[16];	/* IPv4 as ::ffff:a.b.c.d, masked */
	const void	*owner;		/* instance_stats of the instance */
	uint32_t	 hnext;		/* hash chain */
	uint32_t	 prev, next;	/* LRU list, when not pinned */
	uint32_t	 conns;		/* open TCP connections */
	struct bucket	 rate;
	struct bucket	 amplify;
};

struct source_table {
	struct source	*v;
	uint32_t	 cap;
	uint32_t	 nused;
	uint32_t	*heads;		/* hash buckets, mask + 1 of them */
	uint32_t	 mask;
	uint32_t	 lru_head;	/* most recent */
	uint32_t	 lru_tail;	/* next to reuse */
	unsigned int	 prefix4;
	unsigned int	 prefix6;
	uint32_t	 seed;
};

static void	 lru_unlink(struct source_table *, uint32_t);
static void	 lru_push(struct source_table *, uint32_t);
static uint32_t	 source_hash(const struct source_table *, const uint8_t *,
		    const void *);
static void	 source_key(const struct source_table *,
		    const struct sockaddr *, uint8_t out[16]);
static void	 source_unhash(struct source_table *, uint32_t);

/*
 * Refill a token bucket of rate tokens per second, at most burst, and take
 * one token.  Returns 1 when a token was taken, 0 when the bucket is empty.
 */
int
bucket_take(struct bucket *b, unsigned int rate, unsigned int burst,
    uint64_t now_ms)
{
	uint64_t	cap, add;

	if (rate == 0)
		return 1;
	if (burst == 0)
		burst = 2 * rate;
	cap = (uint64_t)burst * 1000;
	if (b->last_ms == 0) {
		b->milli = cap;
	} else if (now_ms > b->last_ms) {
		add = (now_ms - b->last_ms) * rate;
		b->milli = b->milli + add > cap ? cap : b->milli + add;
	}
	if (b->milli > cap)		/* also when a reload lowered burst */
		b->milli = cap;
	b->last_ms = now_ms;
	if (b->milli < 1000)
		return 0;
	b->milli -= 1000;
	return 1;
}

/* Make a table of at least cap entries. */
struct source_table *
source_table_new(uint32_t cap, unsigned int prefix4, unsigned int prefix6)
{
	struct source_table	*t;
	uint32_t		 i, nheads = 64;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	while (nheads < cap && nheads < (1U << 30))
		nheads <<= 1;
	t->v = calloc(cap, sizeof(*t->v));
	t->heads = malloc(nheads * sizeof(*t->heads));
	if (t->v == NULL || t->heads == NULL) {
		source_table_free(t);
		return NULL;
	}
	for (i = 0; i < nheads; i++)
		t->heads[i] = SOURCE_NONE;
	t->cap = cap;
	t->mask = nheads - 1;
	t->lru_head = t->lru_tail = SOURCE_NONE;
	t->prefix4 = prefix4;
	t->prefix6 = prefix6;
	arc4random_buf(&t->seed, sizeof(t->seed));
	return t;
}

/*
 * Grow the table to at least cap entries, keeping every index: open
 * connections hold theirs.  Returns 0, or -1 (the table is unchanged).
 */
int
source_table_grow(struct source_table *t, uint32_t cap)
{
	struct source	*v;
	uint32_t	*heads, i, h, nheads = t->mask + 1;

	if (cap <= t->cap)
		return 0;
	if ((v = reallocarray(t->v, cap, sizeof(*v))) == NULL)
		return -1;
	t->v = v;
	memset(v + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*v));
	t->cap = cap;
	while (nheads < cap && nheads < (1U << 30))
		nheads <<= 1;
	if (nheads == t->mask + 1)
		return 0;
	/* More buckets: chain every entry in use again. */
	if ((heads = malloc(nheads * sizeof(*heads))) == NULL)
		return 0;	/* longer chains, still correct */
	free(t->heads);
	t->heads = heads;
	t->mask = nheads - 1;
	for (i = 0; i < nheads; i++)
		t->heads[i] = SOURCE_NONE;
	for (i = 0; i < t->nused; i++) {
		h = source_hash(t, t->v[i].addr, t->v[i].owner);
		t->v[i].hnext = t->heads[h];
		t->heads[h] = i;
	}
	return 0;
}

/* The number of entries. */
uint32_t
source_table_cap(const struct source_table *t)
{
	return t->cap;
}

void
source_table_free(struct source_table *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t->heads);
	free(t);
}

/* The masked key of an address: IPv4 (and IPv4-mapped) as ::ffff:v4. */
static void
source_key(const struct source_table *t, const struct sockaddr *sa,
    uint8_t out[16])
{
	const struct sockaddr_in6	*sin6;
	unsigned int			 bits, i;

	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
		bits = 96 + t->prefix4;
	} else {
		sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(out, &sin6->sin6_addr, 16);
		bits = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) ?
		    96 + t->prefix4 : t->prefix6;
	}
	for (i = 0; i < 16; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			out[i] &= (uint8_t)(0xff << (8 - bits));
			bits = 0;
		}
	}
}

/* FNV-1a over the key, salted per table against chosen collisions. */
static uint32_t
source_hash(const struct source_table *t, const uint8_t *addr,
    const void *owner)
{
	uint32_t	h = 2166136261u ^ t->seed;
	uintptr_t	o = (uintptr_t)owner;
	size_t		i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	for (i = 0; i < sizeof(o); i++, o >>= 8)
		h = (h ^ (o & 0xff)) * 16777619u;
	return h & t->mask;
}

static void
lru_unlink(struct source_table *t, uint32_t i)
{
	struct source	*s = &t->v[i];

	if (s->prev != SOURCE_NONE)
		t->v[s->prev].next = s->next;
	else
		t->lru_head = s->next;
	if (s->next != SOURCE_NONE)
		t->v[s->next].prev = s->prev;
	else
		t->lru_tail = s->prev;
	s->prev = s->next = SOURCE_NONE;
}

static void
lru_push(struct source_table *t, uint32_t i)
{
	struct source	*s = &t->v[i];

	s->prev = SOURCE_NONE;
	s->next = t->lru_head;
	if (t->lru_head != SOURCE_NONE)
		t->v[t->lru_head].prev = i;
	t->lru_head = i;
	if (t->lru_tail == SOURCE_NONE)
		t->lru_tail = i;
}

/* Take entry i out of its hash chain. */
static void
source_unhash(struct source_table *t, uint32_t i)
{
	uint32_t	*p;

	p = &t->heads[source_hash(t, t->v[i].addr, t->v[i].owner)];
	while (*p != SOURCE_NONE && *p != i)
		p = &t->v[*p].hnext;
	if (*p == i)
		*p = t->v[i].hnext;
}

/*
 * The entry for this address and owner, made (or reused) when new.
 * Returns its index, or SOURCE_NONE when every entry is pinned.
 */
uint32_t
source_get(struct source_table *t, const struct sockaddr *sa,
    const void *owner)
{
	uint8_t		 key[16];
	uint32_t	 h, i;
	struct source	*s;

	source_key(t, sa, key);
	h = source_hash(t, key, owner);
	for (i = t->heads[h]; i != SOURCE_NONE; i = t->v[i].hnext) {
		s = &t->v[i];
		if (s->owner == owner && memcmp(s->addr, key, 16) == 0) {
			if (s->conns == 0) {
				lru_unlink(t, i);
				lru_push(t, i);
			}
			return i;
		}
	}
	if (t->nused < t->cap) {
		i = t->nused++;
	} else {
		if ((i = t->lru_tail) == SOURCE_NONE)
			return SOURCE_NONE;
		lru_unlink(t, i);
		source_unhash(t, i);
	}
	s = &t->v[i];
	memset(s, 0, sizeof(*s));
	memcpy(s->addr, key, 16);
	s->owner = owner;
	s->hnext = t->heads[h];
	t->heads[h] = i;
	s->prev = s->next = SOURCE_NONE;
	lru_push(t, i);
	return i;
}

/* Open connections of a source. */
uint32_t
source_conns(struct source_table *t, uint32_t i)
{
	return t->v[i].conns;
}

/* A connection opens: pin the entry while it has any. */
void
source_hold(struct source_table *t, uint32_t i)
{
	if (t->v[i].conns++ == 0)
		lru_unlink(t, i);
}

/* A connection closed: unpin the entry with its last one. */
void
source_release(struct source_table *t, uint32_t i)
{
	if (i == SOURCE_NONE || t->v[i].conns == 0)
		return;
	if (--t->v[i].conns == 0)
		lru_push(t, i);
}

struct bucket *
source_rate(struct source_table *t, uint32_t i)
{
	return &t->v[i].rate;
}

struct bucket *
source_amplify(struct source_table *t, uint32_t i)
{
	return &t->v[i].amplify;
}
