/*
 * test-acl.c: the access list matcher of acl.c: IPv4 and IPv6 prefixes,
 * IPv4-mapped IPv6 clients matched as IPv4, /0, host prefixes, deny over
 * allow, an empty allow list letting everyone in, and the second deny
 * list (the [daemon] one).  Lists are built with parse_cidr().
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "netsvcd.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Build an access list from prefixes, NULL-terminated. */
#define ACL(...)	acl_make((const char *const []){ __VA_ARGS__, NULL })

static struct acl		 acl_make(const char *const *);
static struct sockaddr_storage	 addr(const char *);
static int			 match(const struct acl *, const char *);
static int			 allows(const struct acl *, const struct acl *,
				    const struct acl *, const char *);

/* A list of the prefixes in v, each of which must parse. */
static struct acl
acl_make(const char *const *v)
{
	struct acl	 acl = { NULL, 0 };
	const char	*cause = NULL;
	size_t		 n;

	for (n = 0; v[n] != NULL; n++)
		continue;
	acl.v = calloc(n + 1, sizeof(*acl.v));
	cr_assert(acl.v != NULL);
	for (acl.n = 0; acl.n < n; acl.n++) {
		cr_assert(eq(int, parse_cidr(v[acl.n], &acl.v[acl.n], &cause),
		    0), "%s: %s", v[acl.n], cause);
	}
	return acl;
}

/* A socket address for a numeric IPv4 or IPv6 address, port 1234. */
static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(1234);
		cr_assert(eq(int, inet_pton(AF_INET6, s, &sin6->sin6_addr),
		    1), "%s", s);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
		cr_assert(eq(int, inet_pton(AF_INET, s, &sin->sin_addr), 1),
		    "%s", s);
	}
	return ss;
}

/* acl_match() for the address in s. */
static int
match(const struct acl *acl, const char *s)
{
	struct sockaddr_storage	ss = addr(s);

	return acl_match(acl, (struct sockaddr *)&ss);
}

/* acl_allows() for the address in s. */
static int
allows(const struct acl *allow, const struct acl *deny,
    const struct acl *deny2, const char *s)
{
	struct sockaddr_storage	ss = addr(s);

	return acl_allows(allow, deny, deny2, (struct sockaddr *)&ss);
}

Test(acl, ipv4)
{
	struct acl	acl = ACL("192.0.2.0/24", "10.0.0.0/8",
	    "198.51.100.7", "172.16.0.0/12");

	cr_expect(match(&acl, "192.0.2.0"));
	cr_expect(match(&acl, "192.0.2.255"));
	cr_expect(not(match(&acl, "192.0.3.0")));
	cr_expect(not(match(&acl, "192.0.1.255")));
	cr_expect(match(&acl, "10.255.255.255"));
	cr_expect(not(match(&acl, "11.0.0.0")));
	cr_expect(match(&acl, "198.51.100.7"), "a host is a /32");
	cr_expect(not(match(&acl, "198.51.100.6")));
	cr_expect(not(match(&acl, "198.51.100.8")));
	cr_expect(match(&acl, "172.31.255.255"), "/12 ends in a byte");
	cr_expect(not(match(&acl, "172.32.0.0")));
	cr_expect(not(match(&acl, "172.15.255.255")));
	cr_expect(not(match(&acl, "::1")), "IPv6 never matches IPv4");
	acl_free(&acl);
	cr_assert(acl.v == NULL);
	cr_assert(eq(sz, acl.n, 0));
}

Test(acl, ipv6)
{
	struct acl	acl = ACL("2001:db8::/32", "::1", "fe80::/10",
	    "2001:db8:1:2::/63");

	cr_expect(match(&acl, "2001:db8::"));
	cr_expect(match(&acl, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	cr_expect(not(match(&acl, "2001:db9::")));
	cr_expect(not(match(&acl, "2001:db7:ffff::")));
	cr_expect(match(&acl, "::1"), "a host is a /128");
	cr_expect(not(match(&acl, "::2")));
	cr_expect(not(match(&acl, "::")));
	cr_expect(match(&acl, "febf:ffff::1"), "/10 ends in a byte");
	cr_expect(not(match(&acl, "fec0::1")));
	cr_expect(not(match(&acl, "127.0.0.1")), "IPv4 never matches IPv6");
	acl_free(&acl);

	acl = ACL("2001:db8:1:2::/63");
	cr_expect(match(&acl, "2001:db8:1:3::1"));
	cr_expect(not(match(&acl, "2001:db8:1:4::1")));
	cr_expect(not(match(&acl, "2001:db8:1:1::1")));
	acl_free(&acl);
}

Test(acl, mapped_address_is_ipv4)
{
	struct acl	v4 = ACL("192.0.2.0/24");
	struct acl	v6 = ACL("::/0");
	struct acl	mapped = ACL("::ffff:198.51.100.0/120");

	/* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d. */
	cr_expect(match(&v4, "::ffff:192.0.2.1"));
	cr_expect(not(match(&v4, "::ffff:192.0.3.1")));
	cr_expect(not(match(&v4, "::192.0.2.1")), "not a mapped address");
	cr_expect(not(match(&v4, "64:ff9b::192.0.2.1")), "NAT64 is IPv6");
	cr_expect(not(match(&v6, "::ffff:192.0.2.1")), "::/0 is IPv6 only");
	cr_expect(match(&v6, "::192.0.2.1"));
	/* A mapped prefix in the list is stored as IPv4: both forms match. */
	cr_assert(eq(int, mapped.v[0].family, AF_INET));
	cr_expect(match(&mapped, "198.51.100.200"));
	cr_expect(match(&mapped, "::ffff:198.51.100.200"));
	cr_expect(not(match(&mapped, "198.51.101.0")));
	acl_free(&v4);
	acl_free(&v6);
	acl_free(&mapped);
}

Test(acl, everything)
{
	struct acl	v4 = ACL("0.0.0.0/0");
	struct acl	v6 = ACL("::/0");
	struct acl	both = ACL("0.0.0.0/0", "::/0");
	static const char *const a[] = { "0.0.0.0", "255.255.255.255",
	    "127.0.0.1", "::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "::ffff:10.0.0.1" };
	size_t		i;

	for (i = 0; i < nitems(a); i++) {
		cr_expect(eq(int, match(&v4, a[i]), strchr(a[i], '.') != NULL),
		    "0.0.0.0/0: %s", a[i]);
		cr_expect(eq(int, match(&v6, a[i]), strchr(a[i], '.') == NULL),
		    "::/0: %s", a[i]);
		cr_expect(match(&both, a[i]), "both: %s", a[i]);
	}
	acl_free(&v4);
	acl_free(&v6);
	acl_free(&both);
}

Test(acl, empty_and_null)
{
	struct acl		 empty = { NULL, 0 };
	struct sockaddr_un	 sun;

	cr_expect(not(match(&empty, "127.0.0.1")));
	cr_expect(not(match(NULL, "::1")));
	cr_expect(allows(&empty, &empty, &empty, "127.0.0.1"),
	    "no allow list: everyone");
	cr_expect(allows(NULL, NULL, NULL, "::1"));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_expect(acl_allows(NULL, NULL, NULL, (struct sockaddr *)&sun));
	acl_free(&empty);
	acl_free(NULL);
}

Test(acl, allow_list)
{
	struct acl	allow = ACL("127.0.0.0/8", "::1");

	cr_expect(allows(&allow, NULL, NULL, "127.0.0.2"));
	cr_expect(allows(&allow, NULL, NULL, "::ffff:127.0.0.1"));
	cr_expect(allows(&allow, NULL, NULL, "::1"));
	cr_expect(not(allows(&allow, NULL, NULL, "192.0.2.1")));
	cr_expect(not(allows(&allow, NULL, NULL, "::2")));
	acl_free(&allow);
}

Test(acl, deny_wins)
{
	struct acl	allow = ACL("10.0.0.0/8", "2001:db8::/32");
	struct acl	deny = ACL("10.1.0.0/16", "2001:db8:bad::/48");
	struct acl	all = ACL("0.0.0.0/0", "::/0");

	cr_expect(allows(&allow, &deny, NULL, "10.2.0.1"));
	cr_expect(not(allows(&allow, &deny, NULL, "10.1.0.1")));
	cr_expect(not(allows(&allow, &deny, NULL, "::ffff:10.1.0.1")));
	cr_expect(allows(&allow, &deny, NULL, "2001:db8:900d::1"));
	cr_expect(not(allows(&allow, &deny, NULL, "2001:db8:bad::1")));
	/* Deny without allow: everyone else is let in. */
	cr_expect(allows(NULL, &deny, NULL, "192.0.2.1"));
	cr_expect(not(allows(NULL, &deny, NULL, "10.1.2.3")));
	/* Denying everything beats allowing everything. */
	cr_expect(not(allows(&all, &all, NULL, "127.0.0.1")));
	cr_expect(not(allows(&all, NULL, &all, "::1")));
	acl_free(&allow);
	acl_free(&deny);
	acl_free(&all);
}

Test(acl, second_deny_list)
{
	struct acl	own = ACL("192.0.2.0/24");
	struct acl	daemon = ACL("198.51.100.0/24", "2001:db8::/32");
	struct acl	empty = { NULL, 0 };

	cr_expect(not(allows(NULL, &own, &daemon, "192.0.2.1")));
	cr_expect(not(allows(NULL, &own, &daemon, "198.51.100.1")));
	cr_expect(not(allows(NULL, &own, &daemon, "2001:db8::1")));
	cr_expect(not(allows(NULL, NULL, &daemon, "198.51.100.1")),
	    "the first deny list may be NULL");
	cr_expect(not(allows(NULL, &empty, &daemon, "198.51.100.1")),
	    "or empty");
	cr_expect(allows(NULL, &own, &daemon, "203.0.113.1"));
	cr_expect(allows(NULL, &own, &empty, "203.0.113.1"));
	acl_free(&own);
	acl_free(&daemon);
}
