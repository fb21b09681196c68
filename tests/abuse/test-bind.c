/*
 * test-bind.c: who may serve an endpoint.  Another user cannot take over a
 * UDP endpoint (no SO_REUSEADDR on UDP, at start and at reload), a second
 * copy on the same config is refused, and a start that fails says why at
 * error priority, naming the instance and the endpoint, and leaves no
 * port behind.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "abuse-util.h"

#define AS_NOBODY	"setpriv --reuid=65534 --regid=65534 --clear-groups"
#define NDGRAMS		50

static const char	*bind_public_dir(void);
static void		 bind_conf(char *, size_t, int proto_udp, int port,
			    int workers);
static int		 bind_udp_held(int port, int reuseaddr);

TestSuite(bind, .fini = hs_teardown);

/* A directory everyone can read, for configs of a daemon run as nobody. */
static const char *
bind_public_dir(void)
{
	static char	dir[64];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/netsvcd-bind-XXXXXX");
		cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
		cr_assert(chmod(dir, 0755) == 0);
	}
	return dir;
}

/* An echo instance on one fixed 127.0.0.1 port. */
static void
bind_conf(char *buf, size_t len, int udp, int port, int workers)
{
	snprintf(buf, len, "[daemon]\nworkers = %d\n\n[echo]\nservice = echo\n"
	    "listen = %s://127.0.0.1:%d\n", workers, udp ? "udp" : "tcp",
	    port);
}

/* A UDP socket of this test bound to 127.0.0.1:port, as a squatter. */
static int
bind_udp_held(int port, int reuseaddr)
{
	struct sockaddr_in	sin;
	int			fd, on = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	if (reuseaddr)
		cr_assert(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0);
	cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "bind 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

/*
 * Item: a second daemon, run by another user, on the UDP endpoint of a
 * first one (with two workers, so SO_REUSEPORT too) must fail to start
 * and say why; the first keeps every datagram.
 */
Test(bind, udp_other_user, .timeout = 120)
{
	struct hs_daemon		*d;
	const struct hs_endpoint	*ep;
	struct hs_result		 r;
	char				 conf[256], path[128], buf[64];
	int				 port, fd, i, got = 0;
	FILE				*f;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		cr_log_warn("skipped: needs root and setpriv(1) to run a "
		    "second daemon as another user");
		return;
	}
	hs_free_ports(SOCK_DGRAM, AF_INET, &port, 1);
	bind_conf(conf, sizeof(conf), 1, port, 2);
	d = hs_spawn(conf);
	ep = hs_endpoint(d, "echo", SOCK_DGRAM, AF_INET);

	snprintf(path, sizeof(path), "%s/other.ini", bind_public_dir());
	cr_assert((f = fopen(path, "w")) != NULL);
	fputs(conf, f);
	fclose(f);
	chmod(path, 0644);
	setenv("NETSVCD_WRAPPER", AS_NOBODY, 1);
	cr_assert(hs_run(&r, hs_ms(5000), "-f", "-c", path, NULL) == 0,
	    "the second daemon (user nobody) started on udp port %d of the "
	    "first: it should fail at bind", port);
	unsetenv("NETSVCD_WRAPPER");
	cr_assert(r.exit_code == 1, "second daemon: exit %d", r.exit_code);
	cr_assert(strstr(r.err, "Address already in use") != NULL &&
	    strstr(r.err, "instance echo") != NULL,
	    "second daemon: no reason given: %s", r.err);
	hs_result_free(&r);
	unlink(path);
	rmdir(bind_public_dir());

	fd = hs_connect_ep(ep, hs_ms(2000));
	for (i = 0; i < NDGRAMS; i++) {
		if (hs_udp_ask(fd, "x", 1, buf, sizeof(buf),
		    hs_ms(2000)) == 1)
			got++;
	}
	hs_close(fd);
	cr_assert(got == NDGRAMS, "the first daemon answered %d of %d "
	    "datagrams", got, NDGRAMS);
	hs_stop_ok(d);
}

/*
 * Item: a reload that adds a UDP endpoint another process serves (even
 * one that set SO_REUSEADDR itself) fails, and names it.
 */
Test(bind, udp_reload_taken, .timeout = 60)
{
	struct hs_daemon	*d;
	char			 conf[256];
	int			 port, held;

	hs_free_ports(SOCK_DGRAM, AF_INET, &port, 1);
	d = hs_spawn("[daemon]\nworkers = 1\n\n[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0\n");
	held = bind_udp_held(port, 1);
	bind_conf(conf, sizeof(conf), 1, port, 1);
	hs_reload(d, conf);
	cr_assert(strstr(d->last_status, "reload failed") != NULL &&
	    strstr(d->last_status, "Address already in use") != NULL,
	    "a reload onto a taken udp port: %s", d->last_status);
	close(held);
	hs_stop_ok(d);
}

/*
 * Item: a second copy on the same config, by the same user, with workers
 * (where SO_REUSEPORT would let it join), is refused with a clear message;
 * the first keeps serving.  The lock lives in $RUNTIME_DIRECTORY.
 */
Test(bind, second_copy, .timeout = 60)
{
	struct hs_daemon	*d;
	struct hs_result	 r;
	char			 rundir[64], cmd[96];
	int			 fd;

	snprintf(rundir, sizeof(rundir), "/tmp/netsvcd-run-XXXXXX");
	cr_assert(mkdtemp(rundir) != NULL);
	setenv("RUNTIME_DIRECTORY", rundir, 1);
	d = hs_spawn("[daemon]\nworkers = 2\n\n[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0 udp://127.0.0.1:0\n");
	/* Port 0 binds anew, so only the lock can tell. */
	cr_assert(hs_run(&r, hs_ms(5000), "-f", "-c", d->conf_path,
	    NULL) == 0, "a second copy on %s started", d->conf_path);
	cr_assert(r.exit_code == 1, "second copy: exit %d", r.exit_code);
	cr_assert(strstr(r.err, "another netsvcd") != NULL &&
	    strstr(r.err, "already serves") != NULL,
	    "second copy: no reason given: %s", r.err);
	hs_result_free(&r);
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	hs_close(fd);
	hs_stop_ok(d);
	/* Once the first is gone, the config may be served again. */
	hs_start(d, "[daemon]\nworkers = 2\n\n[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0\n");
	hs_stop_ok(d);
	unsetenv("RUNTIME_DIRECTORY");
	/* A clean stop leaves no lock file behind. */
	snprintf(cmd, sizeof(cmd), "rmdir %s", rundir);
	cr_assert(system(cmd) == 0, "%s is not empty after the stop", rundir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	cr_assert(system(cmd) == 0);
}

/*
 * Item: a start that fails after binding some endpoints logs the cause at
 * error priority, naming the instance and the endpoint, and has released
 * every port it bound when it exits.
 */
Test(bind, start_fails, .timeout = 60)
{
	struct hs_result	 r;
	struct hs_daemon	*d = hs_new();
	char			 conf[512], want[128];
	const char		*path;
	int			 ports[2], held, fd;

	hs_free_ports(SOCK_DGRAM, AF_INET, ports, 2);
	held = bind_udp_held(ports[1], 0);
	snprintf(conf, sizeof(conf), "[daemon]\nworkers = 1\n\n"
	    "[first]\nservice = echo\nlisten = udp://127.0.0.1:%d\n\n"
	    "[second]\nservice = echo\nlisten = udp://127.0.0.1:%d\n",
	    ports[0], ports[1]);
	path = hs_file(d, "fail.ini", conf, strlen(conf));
	cr_assert(hs_run(&r, hs_ms(5000), "-f", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 1, "exit %d: %s", r.exit_code, r.err);
	snprintf(want, sizeof(want), "netsvcd[err]: cannot listen on "
	    "udp://127.0.0.1:%d for instance second: Address already in use",
	    ports[1]);
	cr_assert(strstr(r.err, want) != NULL, "want \"%s\" in: %s", want,
	    r.err);
	cr_assert(strstr(r.err, "netsvcd[err]: not started") != NULL,
	    "\"not started\" is not an error: %s", r.err);
	hs_result_free(&r);
	close(held);
	fd = bind_udp_held(ports[0], 0);	/* released */
	close(fd);

	/* Config errors at start are errors too. */
	path = hs_file(d, "bad.ini", "[daemon]\nbogus = 1\n", 19);
	cr_assert(hs_run(&r, hs_ms(5000), "-f", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 1);
	cr_assert(strstr(r.err, "netsvcd[err]: ") != NULL &&
	    strstr(r.err, "bad.ini:2: ") != NULL,
	    "a config error at start is not logged as an error: %s", r.err);
	hs_result_free(&r);
}

/*
 * A port below 1024 without the privilege: the message says what is
 * missing and names the instance.
 */
Test(bind, privileged_port, .timeout = 60)
{
	struct hs_result	 r;
	char			 path[128];
	FILE			*f;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		cr_log_warn("skipped: needs root and setpriv(1) to start as "
		    "an unprivileged user");
		return;
	}
	snprintf(path, sizeof(path), "%s/low.ini", bind_public_dir());
	cr_assert((f = fopen(path, "w")) != NULL);
	fputs("[daemon]\nworkers = 1\n\n[low]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:7\n", f);
	fclose(f);
	chmod(path, 0644);
	setenv("NETSVCD_WRAPPER", AS_NOBODY, 1);
	cr_assert(hs_run(&r, hs_ms(5000), "-f", "-c", path, NULL) == 0);
	unsetenv("NETSVCD_WRAPPER");
	unlink(path);
	rmdir(bind_public_dir());
	cr_assert(r.exit_code == 1, "exit %d: %s", r.exit_code, r.err);
	cr_assert(strstr(r.err, "netsvcd[err]: cannot listen on "
	    "tcp://127.0.0.1:7 for instance low: Permission denied (a port "
	    "below 1024 needs root or CAP_NET_BIND_SERVICE)") != NULL,
	    "no hint: %s", r.err);
	hs_result_free(&r);
}
