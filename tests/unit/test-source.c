/*
 * test-source.c: the per-source table and token buckets (daemon/source.c).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <criterion/criterion.h>

#include "netsvcd.h"

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1,
		    "bad test address %s", text);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40000);
	}
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

Test(bucket, burst_then_rate)
{
	struct bucket	b = { 0, 0 };
	int		i, taken = 0;

	/* rate 10/s, burst 5: five at once, then one per 100 ms. */
	for (i = 0; i < 20; i++)
		taken += bucket_take(&b, 10, 5, 1000);
	cr_assert_eq(taken, 5);
	cr_assert_eq(bucket_take(&b, 10, 5, 1050), 0);
	cr_assert_eq(bucket_take(&b, 10, 5, 1100), 1);
	cr_assert_eq(bucket_take(&b, 10, 5, 1100), 0);
	/* A long pause refills to the burst, not beyond. */
	taken = 0;
	for (i = 0; i < 20; i++)
		taken += bucket_take(&b, 10, 5, 100000);
	cr_assert_eq(taken, 5);
}

Test(bucket, zero_rate_is_off_and_zero_burst_is_twice_rate)
{
	struct bucket	b = { 0, 0 };
	int		i, taken = 0;

	for (i = 0; i < 1000; i++)
		cr_assert_eq(bucket_take(&b, 0, 0, 5), 1);
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 100; i++)
		taken += bucket_take(&b, 3, 0, 5);
	cr_assert_eq(taken, 6);
}

Test(source, same_address_same_entry_other_owner_other_entry)
{
	struct source_table	*t = source_table_new(64, 32, 64);
	struct sockaddr_storage	 a = addr("127.0.0.1"), b = addr("127.0.0.2");
	int			 o1, o2;
	uint32_t		 i1, i2, i3;

	cr_assert_not_null(t);
	i1 = source_get(t, SA(a), &o1);
	i2 = source_get(t, SA(a), &o1);
	i3 = source_get(t, SA(b), &o1);
	cr_assert_eq(i1, i2);
	cr_assert_neq(i1, i3);
	cr_assert_neq(source_get(t, SA(a), &o2), i1);
	source_table_free(t);
}

Test(source, ipv4_mapped_is_ipv4_and_ipv6_grouped_by_prefix)
{
	struct source_table	*t = source_table_new(64, 32, 64);
	struct sockaddr_storage	 v4 = addr("192.0.2.7");
	struct sockaddr_storage	 mapped = addr("::ffff:192.0.2.7");
	struct sockaddr_storage	 a = addr("2001:db8:1:2::1");
	struct sockaddr_storage	 b = addr("2001:db8:1:2:ffff::9");
	struct sockaddr_storage	 c = addr("2001:db8:1:3::1");
	int			 o;

	cr_assert_eq(source_get(t, SA(v4), &o), source_get(t, SA(mapped), &o));
	cr_assert_eq(source_get(t, SA(a), &o), source_get(t, SA(b), &o));
	cr_assert_neq(source_get(t, SA(a), &o), source_get(t, SA(c), &o));
	source_table_free(t);
}

Test(source, ipv4_prefix_grouping)
{
	struct source_table	*t = source_table_new(64, 24, 64);
	struct sockaddr_storage	 a = addr("198.51.100.1");
	struct sockaddr_storage	 b = addr("198.51.100.200");
	struct sockaddr_storage	 c = addr("198.51.101.1");
	int			 o;

	cr_assert_eq(source_get(t, SA(a), &o), source_get(t, SA(b), &o));
	cr_assert_neq(source_get(t, SA(a), &o), source_get(t, SA(c), &o));
	source_table_free(t);
}

/* A flood of new sources reuses old entries: memory stays fixed. */
Test(source, full_table_reuses_least_recent_and_keeps_pinned)
{
	struct source_table	*t = source_table_new(4, 32, 64);
	struct sockaddr_storage	 pinned = addr("10.0.0.1"), s;
	char			 text[32];
	uint32_t		 ip, i;
	int			 o;

	ip = source_get(t, SA(pinned), &o);
	source_hold(t, ip);
	source_hold(t, ip);
	for (i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "10.1.%u.%u", i / 256, i % 256);
		s = addr(text);
		cr_assert_lt(source_get(t, SA(s), &o), 4);
	}
	/* The pinned entry survived the flood with its count. */
	cr_assert_eq(source_get(t, SA(pinned), &o), ip);
	cr_assert_eq(source_conns(t, ip), 2);
	source_release(t, ip);
	source_release(t, ip);
	cr_assert_eq(source_conns(t, ip), 0);
	source_table_free(t);
}

Test(source, all_pinned_fails_open)
{
	struct source_table	*t = source_table_new(2, 32, 64);
	struct sockaddr_storage	 a = addr("10.0.0.1"), b = addr("10.0.0.2");
	struct sockaddr_storage	 c = addr("10.0.0.3");
	int			 o;

	source_hold(t, source_get(t, SA(a), &o));
	source_hold(t, source_get(t, SA(b), &o));
	cr_assert_eq(source_get(t, SA(c), &o), SOURCE_NONE);
	source_table_free(t);
}

Test(source, buckets_are_per_entry)
{
	struct source_table	*t = source_table_new(8, 32, 64);
	struct sockaddr_storage	 a = addr("10.0.0.1"), b = addr("10.0.0.2");
	uint32_t		 ia, ib;
	int			 o;

	ia = source_get(t, SA(a), &o);
	ib = source_get(t, SA(b), &o);
	cr_assert_eq(bucket_take(source_rate(t, ia), 1, 1, 10), 1);
	cr_assert_eq(bucket_take(source_rate(t, ia), 1, 1, 10), 0);
	cr_assert_eq(bucket_take(source_rate(t, ib), 1, 1, 10), 1);
	cr_assert_eq(bucket_take(source_amplify(t, ia), 1, 1, 10), 1);
	source_table_free(t);
}
