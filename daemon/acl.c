/*
 * acl.c: access lists of CIDR prefixes, matched against client addresses.
 *
 * Pure functions: no I/O, no logging, no allocation but what acl_free()
 * releases.  An address is matched in its own family only, after an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
 * reports for an IPv4 client) is turned back into the IPv4 address it
 * carries.  So "192.0.2.0/24" matches that client on an IPv4 and on an
 * IPv6 socket alike, and "::/0" means every IPv6 client, not IPv4 ones.
 * parse_cidr() stores mapped prefixes as IPv4 for the same reason.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"

static int	acl_addr(const struct sockaddr *, int *, const uint8_t **);
static int	cidr_contains(const struct cidr *, const uint8_t *);

/*
 * Find the family and address bytes (network order) that sa is matched
 * as, unmapping IPv4-mapped IPv6 addresses.  Returns -1 for a family
 * that no list can match.
 */
static int
acl_addr(const struct sockaddr *sa, int *family, const uint8_t **addr)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		*family = AF_INET;
		*addr = (const uint8_t *)&sin->sin_addr;
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			*family = AF_INET;
			*addr = sin6->sin6_addr.s6_addr + 12;
		} else {
			*family = AF_INET6;
			*addr = sin6->sin6_addr.s6_addr;
		}
		return 0;
	}
	return -1;
}

/* Whether addr, of c's family, lies within the prefix c. */
static int
cidr_contains(const struct cidr *c, const uint8_t *addr)
{
	unsigned int	full = c->prefix / 8, rest = c->prefix % 8;
	uint8_t		mask;

	if (memcmp(c->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xffU << (8 - rest));
	return (addr[full] & mask) == c->addr[full];
}

/* 1 when sa falls within one of the prefixes of acl (NULL: none). */
int
acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	const uint8_t	*addr;
	size_t		 i;
	int		 family;

	if (acl == NULL || acl->n == 0 || acl_addr(sa, &family, &addr) == -1)
		return 0;
	for (i = 0; i < acl->n; i++) {
		if (acl->v[i].family == family &&
		    cidr_contains(&acl->v[i], addr))
			return 1;
	}
	return 0;
}

/*
 * 1 when sa may connect: a match in deny or deny2 (the instance's and the
 * daemon's lists; either may be NULL or empty) refuses it whatever allow
 * says, and otherwise an empty allow list lets everyone in.
 */
int
acl_allows(const struct acl *allow, const struct acl *deny,
    const struct acl *deny2, const struct sockaddr *sa)
{
	if ((deny == NULL || deny->n == 0) && (deny2 == NULL ||
	    deny2->n == 0) && (allow == NULL || allow->n == 0))
		return 1;	/* the common case: no lists at all */
	if (acl_match(deny, sa) || acl_match(deny2, sa))
		return 0;
	if (allow == NULL || allow->n == 0)
		return 1;
	return acl_match(allow, sa);
}

/* Free the prefixes of acl and leave it empty; NULL is allowed. */
void
acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->v);
	acl->v = NULL;
	acl->n = 0;
}
