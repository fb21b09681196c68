/*
 * test-priv.c: privilege drop and the connection log.  Started as root
 * with user = nobody, the daemon binds a privileged port, then runs as
 * nobody for good: a reload that needs a new privileged port fails and
 * changes nothing.  Skipped when the tests do not run as root.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define PV_TMO		5000		/* ms for one exchange, unscaled */

/* Run as nobody: echo on the endpoints %s, daytime on port %d. */
#define PV_CONF \
	"[daemon]\n" \
	"user = nobody\n" \
	"\n" \
	"[echo]\n" \
	"service = echo\n" \
	"listen = %s\n" \
	"\n" \
	"[day]\n" \
	"service = daytime\n" \
	"listen = tcp://127.0.0.1:%d\n"

TestSuite(priv, .fini = hs_teardown);
TestSuite(connlog, .fini = hs_teardown);

static int	 pv_port_free(int);
static void	 pv_ids(pid_t, uid_t *, gid_t *);
static void	 pv_echo(struct hs_daemon *, const char *);

/* Can a TCP socket bind 127.0.0.1:port right now? */
static int
pv_port_free(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* The real, effective, saved and file-system ids must all agree. */
static void
pv_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	char		 path[64], line[256];
	unsigned int	 u[4], g[4];
	int		 nu = 0, ng = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	cr_assert_not_null(f = fopen(path, "r"), "%s: %s", path,
	    strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1], &u[2],
		    &u[3]) == 4)
			nu = 4;
		if (sscanf(line, "Gid: %u %u %u %u", &g[0], &g[1], &g[2],
		    &g[3]) == 4)
			ng = 4;
	}
	fclose(f);
	cr_assert(nu == 4 && ng == 4, "no Uid/Gid lines in %s", path);
	cr_assert(u[0] == u[1] && u[1] == u[2] && u[2] == u[3],
	    "uids differ: %u %u %u %u", u[0], u[1], u[2], u[3]);
	cr_assert(g[0] == g[1] && g[1] == g[2] && g[2] == g[3],
	    "gids differ: %u %u %u %u", g[0], g[1], g[2], g[3]);
	*uid = u[0];
	*gid = g[0];
}

/* One echo round trip with the TCP echo instance on 127.0.0.1. */
static void
pv_echo(struct hs_daemon *d, const char *msg)
{
	int	fd;

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	cr_assert(fd != -1, "connect: %s", strerror(errno));
	hs_echo(fd, msg, hs_ms(PV_TMO));
	hs_close(fd);
}

Test(priv, binds_port_7_then_runs_as_nobody_for_good, .timeout = 60)
{
	struct passwd		*pw;
	struct hs_daemon	*d;
	char			 conf[512];
	uid_t			 uid;
	gid_t			 gid;
	int			 ports[1];

	if (geteuid() != 0)
		cr_skip_test("needs root: started as root, drops to nobody");
	if (!pv_port_free(7) || !pv_port_free(8))
		cr_skip_test("127.0.0.1:7 or :8 is taken on this machine");
	cr_assert_not_null(pw = getpwnam("nobody"), "no user nobody");
	hs_free_ports(SOCK_STREAM, AF_INET, ports, 1);
	snprintf(conf, sizeof(conf), PV_CONF, "tcp://127.0.0.1:7", ports[0]);
	d = hs_spawn(conf);
	pv_ids(d->pid, &uid, &gid);
	cr_assert_eq(uid, pw->pw_uid, "runs as uid %u, not nobody",
	    (unsigned int)uid);
	cr_assert_eq(gid, pw->pw_gid, "runs as gid %u", (unsigned int)gid);
	cr_assert_eq(hs_endpoint(d, "echo", SOCK_STREAM, AF_INET)->port, 7);
	pv_echo(d, "privileged port\n");

	/* Port 8 needs root again: the reload fails and changes nothing. */
	snprintf(conf, sizeof(conf), PV_CONF,
	    "tcp://127.0.0.1:7 tcp://127.0.0.1:8", ports[0]);
	hs_reload(d, conf);
	cr_assert(strstr(d->last_status, "reload failed") != NULL,
	    "STATUS=%s", d->last_status);
	cr_assert(pv_port_free(8), "port 8 was bound by a failed reload");
	pv_echo(d, "still served\n");
	pv_ids(d->pid, &uid, &gid);
	cr_assert_eq(uid, pw->pw_uid, "root regained after reload");
	hs_stop_ok(d);
}

/* An echo that logs each closed connection. */
#define PV_CONNLOG_CONF \
	"[echo]\n" \
	"service = echo\n" \
	"listen = tcp://127.0.0.1:0\n" \
	"log_connections = close\n"

/* One connection: 5 bytes echoed, then EOF both ways; then stop d. */
static void
pv_echo_5_and_stop(struct hs_daemon *d)
{
	char	buf[16];
	int	fd;

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	cr_assert(fd != -1, "connect: %s", strerror(errno));
	cr_assert(hs_send_all(fd, "12345", 5, hs_ms(PV_TMO)) == 0, "send");
	cr_assert(hs_recv_n(fd, buf, 5, hs_ms(PV_TMO)) == 5, "echo");
	shutdown(fd, SHUT_WR);
	cr_assert(hs_wait_closed(fd, hs_ms(PV_TMO)) == 0, "not closed");
	hs_close(fd);
	hs_stop_ok(d);
}

Test(connlog, one_line_per_closed_connection, .timeout = 60)
{
	struct hs_daemon	*d;
	char			*log;

	d = hs_spawn(PV_CONNLOG_CONF);
	pv_echo_5_and_stop(d);
	log = hs_log(d);
	cr_assert_not_null(strstr(log, "closed (eof): 5 bytes in, 5 bytes out"),
	    "no connection line in:\n%s", log);
	free(log);
}

/*
 * Under systemd (JOURNAL_STREAM names stderr) every line carries an
 * sd-daemon priority prefix and no timestamp: the journal adds its own.
 * With no journald to take the structured connection entry, the plain
 * line still reaches the log.
 */
Test(connlog, journal_stream_lines_carry_priorities, .timeout = 60)
{
	struct hs_daemon	*d;
	char			*log, *line, *save;
	int			 nlines = 0, journald;

	d = hs_new();
	d->journal = 1;
	hs_start(d, PV_CONNLOG_CONF);
	pv_echo_5_and_stop(d);
	log = hs_log(d);
	cr_assert_not_null(strstr(log, "<6>instance echo listening on tcp://"),
	    "no info line with its prefix in:\n%s", log);
	cr_assert_not_null(strstr(log, "<5>netsvcd "), "no notice line with "
	    "its prefix in:\n%s", log);
	journald = access("/run/systemd/journal/socket", F_OK) == 0;
	if (!journald)
		cr_assert_not_null(strstr(log, "<6>echo: 127.0.0.1:"),
		    "no plain connection line without journald in:\n%s", log);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		cr_assert(line[0] == '<' && line[1] >= '0' && line[1] <= '7' &&
		    line[2] == '>', "a line without a priority prefix: %s",
		    line);
		nlines++;
	}
	cr_assert_geq(nlines, 3, "%d lines", nlines);
	free(log);
}
