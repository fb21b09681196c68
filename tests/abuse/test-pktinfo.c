/*
 * test-pktinfo.c: on a wildcard UDP endpoint, every reply comes from the
 * address its request was sent to.  The test runs in a network namespace
 * of its own (made with unshare(2), gone with the test's process) whose
 * loopback also has 127.0.0.2 and ::2; skipped, with the reason, where
 * the host cannot make one.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define NASK	3

static int	pk_netns(void);
static void	pk_check(struct hs_daemon *, const char *, int family,
		    const char *dst);

TestSuite(pktinfo, .fini = hs_teardown);

/* Write one line to a /proc file; 0 or -1. */
static int
pk_write(const char *path, const char *text)
{
	int	fd, ok;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Move this test's process into a new network namespace (and a user
 * namespace when not root) with lo up, 127.0.0.2 and ::2.  Returns 0, or
 * -1 after printing why it cannot.
 */
static int
pk_netns(void)
{
	char	map[64];
	uid_t	uid = geteuid();
	gid_t	gid = getegid();

	if (uid == 0) {
		if (unshare(CLONE_NEWNET) == -1) {
			cr_log_warn("skipped: unshare(CLONE_NEWNET): %s",
			    strerror(errno));
			return -1;
		}
	} else {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == -1) {
			cr_log_warn("skipped: unshare(CLONE_NEWUSER|"
			    "CLONE_NEWNET): %s", strerror(errno));
			return -1;
		}
		snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)uid);
		pk_write("/proc/self/setgroups", "deny");
		if (pk_write("/proc/self/uid_map", map) == -1)
			return -1;
		snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)gid);
		pk_write("/proc/self/gid_map", map);
	}
	if (system("ip link set lo up && ip addr add 127.0.0.2/8 dev lo && "
	    "ip -6 addr add ::2/128 dev lo nodad") != 0) {
		cr_log_warn("skipped: ip(8) cannot set up lo in the namespace");
		return -1;
	}
	return 0;
}

/*
 * Ask instance name on dst (its port from the log) and check that each
 * reply's source is exactly dst and that port.
 */
static void
pk_check(struct hs_daemon *d, const char *name, int family, const char *dst)
{
	const struct hs_endpoint	*ep;
	struct sockaddr_storage		 to, from;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&to;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&to;
	struct pollfd			 pfd;
	socklen_t			 tolen, fromlen;
	char				 buf[256], got[96];
	int				 fd, i;
	ssize_t				 n;

	ep = hs_endpoint(d, name, SOCK_DGRAM, family);
	memset(&to, 0, sizeof(to));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)ep->port);
		cr_assert(inet_pton(AF_INET, dst, &sin->sin_addr) == 1);
		tolen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)ep->port);
		cr_assert(inet_pton(AF_INET6, dst, &sin6->sin6_addr) == 1);
		tolen = sizeof(*sin6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	for (i = 0; i < NASK; i++) {
		cr_assert(sendto(fd, "hi\r\n", 4, 0, (struct sockaddr *)&to,
		    tolen) == 4, "sendto: %s", strerror(errno));
		pfd.fd = fd;
		pfd.events = POLLIN;
		cr_assert(poll(&pfd, 1, hs_ms(3000)) == 1, "%s on %s: no "
		    "reply", name, dst);
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fromlen);
		cr_assert(n >= 0, "recvfrom: %s", strerror(errno));
		if (family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->
			    sin_addr, got, sizeof(got));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->
			    sin6_addr, got, sizeof(got));
		cr_assert(strcmp(got, dst) == 0, "%s: a request to %s was "
		    "answered from %s", name, dst, got);
		cr_assert(ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&from)->sin_port :
		    ((struct sockaddr_in6 *)&from)->sin6_port) == ep->port);
	}
	close(fd);
}

/*
 * Echo, daytime and time on udp://0.0.0.0:0 and udp://[::]:0: replies
 * come from 127.0.0.1 and 127.0.0.2, ::1 and ::2, as asked.
 */
Test(pktinfo, wildcard_reply_source, .timeout = 90)
{
	static const char *const	 names[] = { "echo", "daytime", "time" };
	static const char *const	 v4[] = { "127.0.0.1", "127.0.0.2" };
	static const char *const	 v6[] = { "::1", "::2" };
	struct hs_daemon		*d;
	size_t				 i, k;

	if (pk_netns() == -1)
		return;
	d = hs_spawn("[echo]\nservice = echo\n"
	    "listen = udp://0.0.0.0:0 udp://[::]:0\n\n"
	    "[daytime]\nservice = daytime\n"
	    "listen = udp://0.0.0.0:0 udp://[::]:0\n\n"
	    "[time]\nservice = time\n"
	    "listen = udp://0.0.0.0:0 udp://[::]:0\n");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (k = 0; k < 2; k++) {
			pk_check(d, names[i], AF_INET, v4[k]);
			pk_check(d, names[i], AF_INET6, v6[k]);
		}
	}
	hs_stop_ok(d);
}
