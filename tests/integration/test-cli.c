/*
 * test-cli.c: the command line of netsvcd, run as a command: -V, -h, usage
 * errors (exit 2), -t on good and bad configs (exit 0, or 1 with one
 * "FILE:LINE: message" per error), -t on the shipped configs, and a bad
 * config or a taken port keeping the daemon from starting at all.
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

#include "harness.h"

#define CLI_TMO		10000	/* ms for one command */

static const char *cli_config(const char *);
static int	 cli_error_lines(const char *, const char *, int);
static void	 cli_check_shipped(const char *, const char *);
static void	 cli_run_ok(struct hs_result *, const char *);

TestSuite(cli, .fini = hs_teardown);

/* A config file with the given text, in a fresh directory. */
static const char *
cli_config(const char *text)
{
	struct hs_daemon	*d = hs_new();

	return hs_file(d, "test.ini", text, strlen(text));
}

/*
 * Lines of err that carry "PATH:LINE:" (any line number when line is 0).
 * The text may be preceded by a timestamp or a priority prefix.
 */
static int
cli_error_lines(const char *err, const char *path, int line)
{
	const char	*p = err, *end, *hit;
	size_t		 plen = strlen(path);
	unsigned int	 rounds;
	char		*num_end;
	long		 num;
	int		 n = 0;

	for (rounds = 0; p != NULL && *p != '\0' && rounds < 100000;
	    rounds++) {
		end = strchr(p, '\n');
		for (hit = strstr(p, path); hit != NULL &&
		    (end == NULL || hit < end); hit = strstr(hit + 1, path)) {
			if (hit[plen] != ':')
				continue;
			num = strtol(hit + plen + 1, &num_end, 10);
			if (num_end == hit + plen + 1 || *num_end != ':')
				continue;
			if (line == 0 || num == line)
				n++;
			break;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return n;
}

/* Run netsvcd with the one flag; it must finish and exit 0. */
static void
cli_run_ok(struct hs_result *r, const char *flag)
{
	cr_assert(hs_run(r, hs_ms(CLI_TMO), flag, NULL) == 0,
	    "netsvcd %s did not finish", flag);
	cr_assert(r->exit_code == 0, "netsvcd %s: exit %d, stderr: %s",
	    flag, r->exit_code, r->err);
}

Test(cli, version, .timeout = 30)
{
	static const char *const flags[] = { "-V", "--version" };
	struct hs_result	 r;
	size_t			 i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		cli_run_ok(&r, flags[i]);
		cr_assert(strcmp(r.out, "netsvcd 0.1.0\n") == 0,
		    "netsvcd %s printed %s, expected \"netsvcd 0.1.0\\n\"",
		    flags[i], hs_show(r.out, r.outlen));
		hs_result_free(&r);
	}
}

Test(cli, help, .timeout = 30)
{
	static const char *const flags[] = { "-h", "--help" };
	struct hs_result	 r;
	size_t			 i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		cli_run_ok(&r, flags[i]);
		cr_assert(strcasestr(r.out, "usage") != NULL &&
		    strstr(r.out, "-c") != NULL && strstr(r.out, "-t") != NULL,
		    "netsvcd %s: no usage with -c and -t on stdout: %s",
		    flags[i], hs_show(r.out, r.outlen));
		hs_result_free(&r);
	}
}

/* Usage errors: a message on stderr and exit 2, before anything else. */
Test(cli, usage_errors, .timeout = 60)
{
	const char		*good = cli_config("[e]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n");
	const char *const	 cases[][6] = {
		{ "-Z" },
		{ "--bogus" },
		{ "-c" },
		{ "--config" },
		{ "-l" },
		{ "--log-level" },
		{ "-t", "-c", good, "-l", "loud" },
		{ "-t", "-c", good, "--log-level=loud" },
		{ "-t", "-c", good, "-Z" },
	};
	struct hs_result	 r;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert(hs_run(&r, hs_ms(CLI_TMO), cases[i][0], cases[i][1],
		    cases[i][2], cases[i][3], cases[i][4], cases[i][5]) == 0,
		    "case %zu (%s) did not finish", i, cases[i][0]);
		cr_assert(r.exit_code == 2, "netsvcd %s %s %s %s %s: exit %d, "
		    "expected 2; stderr: %s", cases[i][0],
		    cases[i][1] ? cases[i][1] : "", cases[i][2] ?
		    cases[i][2] : "", cases[i][3] ? cases[i][3] : "",
		    cases[i][4] ? cases[i][4] : "", r.exit_code, r.err);
		cr_assert(r.errlen > 0, "netsvcd %s: exit 2 but no message on "
		    "stderr", cases[i][0]);
		hs_result_free(&r);
	}
}

/* The harness's probe (hs_has_service) tells known from unknown. */
Test(cli, harness_service_probe, .timeout = 60)
{
	cr_assert(hs_has_service("echo"), "echo is not known to -t");
	cr_assert(!hs_has_service("no_such_service"),
	    "-t took an unknown service");
}

/* -T on a good config, in every spelling: exit 0, instances on stdout. */
Test(cli, check_good, .timeout = 60)
{
	const char		*good = cli_config(
				    "[daemon]\n"
				    "log_level = info\n"
				    "max_connections = 100\n"
				    "idle_timeout = 30s\n"
				    "shutdown_timeout = 500ms\n"
				    "buffer_limit = 64KiB\n"
				    "\n"
				    "[alpha]\n"
				    "service = echo\n"
				    "listen = tcp://127.0.0.1:0 udp://[::1]:0\n"
				    "backlog = 5\n"
				    "idle_timeout = 5m\n"
				    "\n"
				    "[beta]\n"
				    "service = daytime\n"
				    "listen = tcp://[::1]:0\n"
				    "format = %Y\n"
				    "utc = yes\n"
				    "\n"
				    "[gamma]\n"
				    "service = banner\n"
				    "listen = tcp://127.0.0.1:0\n"
				    "message = hello\\r\\n\n"
				    "max_connections = 3\n"
				    "enabled = yes\n");
	char			 conf_eq[512];
	const char *const	 cases[][6] = {
		{ "-T", "-c", good },
		{ "--test-print", "--config", good },
		{ "-f", "-T", "-c", good },
		{ "-T", "-l", "debug", "-c", good },
		{ "--log-level=warning", "-T", "-c", good },
		{ "-T", conf_eq },
		{ "-t", "-T", "-c", good },
	};
	static const char *const names[] = { "alpha", "beta", "gamma" };
	struct hs_result	 r;
	size_t			 i, j;

	snprintf(conf_eq, sizeof(conf_eq), "--config=%s", good);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert(hs_run(&r, hs_ms(CLI_TMO), cases[i][0], cases[i][1],
		    cases[i][2], cases[i][3], cases[i][4], cases[i][5]) == 0,
		    "case %zu did not finish", i);
		cr_assert(r.exit_code == 0, "netsvcd %s %s %s: exit %d, "
		    "expected 0; stderr: %s", cases[i][0], cases[i][1],
		    cases[i][2] ? cases[i][2] : "", r.exit_code, r.err);
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			cr_assert(strstr(r.out, names[j]) != NULL,
			    "netsvcd -T: instance %s missing from stdout: %s",
			    names[j], hs_show(r.out, r.outlen));
		hs_result_free(&r);
	}
}

/*
 * -t on a good config prints one line and nothing on stderr (it runs at
 * every start and reload under systemd), in every spelling.
 */
Test(cli, check_one_line, .timeout = 60)
{
	const char		*good = cli_config("[a]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n"
				    "[b]\nservice = daytime\n"
				    "listen = udp://127.0.0.1:0\n");
	const char *const	 cases[][5] = {
		{ "-t", "-c", good },
		{ "--test", "--config", good },
		{ "-f", "-t", "-c", good },
	};
	struct hs_result	 r;
	char			 want[4200];
	size_t			 i;

	snprintf(want, sizeof(want), "netsvcd: configuration file %s test "
	    "is successful\n", good);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert(hs_run(&r, hs_ms(CLI_TMO), cases[i][0], cases[i][1],
		    cases[i][2], cases[i][3], cases[i][4]) == 0,
		    "case %zu did not finish", i);
		cr_assert(r.exit_code == 0, "netsvcd %s: exit %d; stderr: %s",
		    cases[i][0], r.exit_code, r.err);
		cr_assert(strcmp(r.out, want) == 0, "netsvcd %s %s %s printed "
		    "%s, expected one line: %s", cases[i][0], cases[i][1],
		    cases[i][2], hs_show(r.out, r.outlen), want);
		cr_assert(r.errlen == 0, "netsvcd -t wrote to stderr: %s",
		    r.err);
		hs_result_free(&r);
	}
}

/* Two errors in one file: exit 1 and one FILE:LINE: line for each. */
Test(cli, check_bad_two_errors, .timeout = 30)
{
	const char		*bad = cli_config(
				    "[daemon]\n"			/* 1 */
				    "log_level = info\n"		/* 2 */
				    "[a]\n"				/* 3 */
				    "service = nosuchservice\n"		/* 4 */
				    "listen = tcp://127.0.0.1:0\n"	/* 5 */
				    "[b]\n"				/* 6 */
				    "service = echo\n"			/* 7 */
				    "listen = tcp://127.0.0.1:0\n"	/* 8 */
				    "bogus_key = 1\n");			/* 9 */
	struct hs_result	 r;

	cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-t", "-c", bad, NULL) == 0,
	    "netsvcd -t did not finish");
	cr_assert(r.exit_code == 1, "netsvcd -t on a bad config: exit %d, "
	    "expected 1; stderr: %s", r.exit_code, r.err);
	cr_assert(cli_error_lines(r.err, bad, 4) == 1,
	    "no single \"%s:4:\" line (unknown service) in stderr: %s", bad,
	    r.err);
	cr_assert(cli_error_lines(r.err, bad, 9) == 1,
	    "no single \"%s:9:\" line (unknown key) in stderr: %s", bad,
	    r.err);
	cr_assert(cli_error_lines(r.err, bad, 0) == 2,
	    "expected exactly 2 FILE:LINE: lines, got %d; stderr: %s",
	    cli_error_lines(r.err, bad, 0), r.err);
	hs_result_free(&r);
}

/* One error per file: exit 1 and FILE:LINE: naming the line (0: any). */
Test(cli, check_bad_each_kind, .timeout = 120)
{
	static const struct {
		const char	*what;
		const char	*text;
		int		 line;
	} cases[] = {
		{ "unknown key", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:0\nbogus = 1\n", 4 },
		{ "unknown service", "[e]\nservice = gopher\n"
		    "listen = tcp://127.0.0.1:0\n", 2 },
		{ "port out of range", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:99999\n", 3 },
		{ "unknown scheme", "[e]\nservice = echo\n"
		    "listen = sctp://127.0.0.1:7\n", 3 },
		{ "bad address", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.256:7\n", 3 },
		{ "bad IPv6 address", "[e]\nservice = echo\n"
		    "listen = tcp://[::1:7\n", 3 },
		{ "negative number", "[daemon]\nmax_connections = -5\n", 2 },
		{ "huge number", "[daemon]\n"
		    "max_connections = 99999999999999999999\n", 2 },
		{ "bad duration", "[daemon]\nidle_timeout = 5 fortnights\n",
		    2 },
		{ "bad size", "[daemon]\nbuffer_limit = lots\n", 2 },
		{ "bad log level", "[daemon]\nlog_level = loud\n", 2 },
		{ "unknown daemon key", "[daemon]\nfrobnicate = 1\n", 2 },
		{ "bad boolean", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:0\nenabled = maybe\n", 4 },
		{ "missing service", "[e]\nlisten = tcp://127.0.0.1:0\n", 0 },
		{ "duplicate instance", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:40001\n[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:40002\n", 0 },
		{ "duplicate endpoint", "[a]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:40003\n[b]\nservice = discard\n"
		    "listen = tcp://127.0.0.1:40003\n", 0 },
		{ "banner without message", "[g]\nservice = banner\n"
		    "listen = tcp://127.0.0.1:0\n", 0 },
		{ "unreadable quotes file", "[q]\nservice = qotd\n"
		    "listen = tcp://127.0.0.1:0\n"
		    "quotes_file = /nonexistent/netsvcd/quotes\n", 0 },
		{ "unreadable message file", "[g]\nservice = banner\n"
		    "listen = tcp://127.0.0.1:0\n"
		    "message_file = /nonexistent/netsvcd/banner\n", 0 },
		{ "key of another service", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:0\n"
		    "quotes_file = /dev/null\n", 4 },
		{ "syntax error", "[e]\nservice = echo\n"
		    "listen = tcp://127.0.0.1:0\nthis line is not ini\n", 4 },
	};
	struct hs_result	 r;
	const char		*path;
	char			 want[16];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path = cli_config(cases[i].text);
		if (cases[i].line == 0)
			snprintf(want, sizeof(want), "N");
		else
			snprintf(want, sizeof(want), "%d", cases[i].line);
		cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-t", "-c", path,
		    NULL) == 0, "%s: netsvcd -t did not finish",
		    cases[i].what);
		cr_assert(r.exit_code == 1, "%s: exit %d, expected 1; "
		    "config:\n%s\nstderr: %s", cases[i].what, r.exit_code,
		    cases[i].text, r.err);
		cr_assert(cli_error_lines(r.err, path, cases[i].line) >= 1,
		    "%s: no \"%s:%s:\" line in stderr; config:\n%s\n"
		    "stderr: %s", cases[i].what, path, want, cases[i].text,
		    r.err);
		hs_result_free(&r);
	}
}

/* A config file that does not exist: exit 1 and the path on stderr. */
Test(cli, check_missing_file, .timeout = 30)
{
	static const char	 path[] = "/nonexistent/netsvcd/netsvcd.ini";
	struct hs_result	 r;

	cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-t", "-c", path, NULL) == 0,
	    "netsvcd -t did not finish");
	cr_assert(r.exit_code == 1, "missing config: exit %d, expected 1; "
	    "stderr: %s", r.exit_code, r.err);
	cr_assert(strstr(r.err, path) != NULL, "missing config: stderr "
	    "does not name %s: %s", path, r.err);
	hs_result_free(&r);
}

/* A FIFO as the config file: -t fails at once, it does not wait. */
Test(cli, check_fifo, .timeout = 30)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	char			 path[256];

	snprintf(path, sizeof(path), "%s/fifo.ini", d->dir);
	cr_assert(mkfifo(path, 0600) == 0, "mkfifo %s: %s", path,
	    strerror(errno));
	cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-t", "-c", path, NULL) == 0,
	    "netsvcd -t -c FIFO did not finish within %d ms",
	    hs_ms(CLI_TMO));
	cr_assert(r.exit_code == 1, "netsvcd -t -c FIFO: exit %d; stderr: %s",
	    r.exit_code, r.err);
	cr_assert(strstr(r.err, "not a regular file") != NULL,
	    "netsvcd -t -c FIFO does not say why: %s", r.err);
	unlink(path);
	hs_result_free(&r);
}

/* -T on a file of the source tree, skipped while it is not written yet. */
static void
cli_check_shipped(const char *rel, const char *instance)
{
	struct hs_result	 r;
	char			 path[4096];

	snprintf(path, sizeof(path), "%s/%s", hs_srcdir(), rel);
	if (access(path, R_OK) != 0)
		cr_skip("%s does not exist yet", path);
	cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-T", "-c", path, NULL) == 0,
	    "netsvcd -T -c %s did not finish", path);
	cr_assert(r.exit_code == 0, "netsvcd -T -c %s: exit %d; stderr: %s",
	    path, r.exit_code, r.err);
	cr_assert(r.outlen > 0, "netsvcd -T -c %s printed nothing", path);
	if (instance != NULL)
		cr_assert(strstr(r.out, instance) != NULL,
		    "netsvcd -T -c %s: no instance %s in %s", path, instance,
		    hs_show(r.out, r.outlen));
	hs_result_free(&r);
}

Test(cli, check_shipped_netsvcd_ini, .timeout = 30)
{
	cli_check_shipped("etc/netsvcd.ini", "echo");
}

Test(cli, check_shipped_dev_ini, .timeout = 30)
{
	cli_check_shipped("etc/netsvcd-dev.ini", "greeting");
}

Test(cli, check_shipped_tutorial_ini, .timeout = 30)
{
	cli_check_shipped("etc/examples/tutorial.ini", NULL);
}

/*
 * -T prints a config that loads back to itself: the services' own keys
 * (a banner's message, exec's command and repeated env, daytime's format)
 * as they were set, not only as a comment.
 */
Test(cli, test_print_round_trip, .timeout = 30)
{
	static const char	 text[] = "[g]\nservice = banner\n"
	    "listen = tcp://127.0.0.1:0\nmessage = hi there\\r\\n\n"
	    "[x]\nservice = exec\nlisten = tcp://127.0.0.1:0\n"
	    "command = /bin/sh -c \"echo a b\"\nenv = A=1\n"
	    "env = B=two words\n"
	    "[d]\nservice = daytime\nlisten = tcp://127.0.0.1:0\n"
	    "format = %Y\n";
	static const char *const want[] = { "\nmessage = hi there\\r\\n\n",
	    ("\ncommand = /bin/sh -c \"echo a b\"\nenv = A=1\n"
	    "env = B=two words\n"), "\nformat = %Y\n" };
	struct hs_result	 r1, r2;
	const char		*again;
	size_t			 i;

	cr_assert(hs_run(&r1, hs_ms(CLI_TMO), "-T", "-c", cli_config(text),
	    NULL) == 0 && r1.exit_code == 0, "-T: %s", r1.err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(r1.out, want[i]) != NULL, "-T output lacks "
		    "%s: %s", hs_show(want[i], strlen(want[i])),
		    hs_show(r1.out, r1.outlen));
	again = cli_config(r1.out);
	cr_assert(hs_run(&r2, hs_ms(CLI_TMO), "-T", "-c", again, NULL) == 0,
	    "-T on -T's output did not finish");
	cr_assert(r2.exit_code == 0, "-T's output does not load: %s", r2.err);
	cr_assert(r1.outlen == r2.outlen && memcmp(r1.out, r2.out,
	    r1.outlen) == 0, "-T's output loads to another config:\n%s\n"
	    "then\n%s", r1.out, r2.out);
	hs_result_free(&r1);
	hs_result_free(&r2);
}

/* Without -t, a bad config ends the daemon with exit 1 before READY. */
Test(cli, bad_config_does_not_start, .timeout = 30)
{
	const char		*bad = cli_config("[e]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n"
				    "[f]\nservice = gopher\n"
				    "listen = tcp://127.0.0.1:0\n");
	struct hs_result	 r;

	cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-f", "-c", bad, NULL) == 0,
	    "netsvcd -f on a bad config did not exit within %d ms",
	    hs_ms(CLI_TMO));
	cr_assert(r.exit_code == 1, "netsvcd -f on a bad config: exit %d, "
	    "expected 1; stderr: %s", r.exit_code, r.err);
	cr_assert(cli_error_lines(r.err, bad, 5) == 1,
	    "no \"%s:5:\" line in stderr: %s", bad, r.err);
	hs_result_free(&r);
}

/* A port that is taken: the daemon reports it and exits, not half-up. */
Test(cli, taken_port_does_not_start, .timeout = 30)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct hs_result	 r;
	const char		*conf;
	char			 text[256];
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    listen(fd, 1) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "bind: %s", strerror(errno));
	snprintf(text, sizeof(text), "[e]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0 tcp://127.0.0.1:%u\n",
	    ntohs(sin.sin_port));
	conf = cli_config(text);
	cr_assert(hs_run(&r, hs_ms(CLI_TMO), "-f", "-c", conf, NULL) == 0,
	    "netsvcd did not exit within %d ms with port %u taken",
	    hs_ms(CLI_TMO), ntohs(sin.sin_port));
	cr_assert(r.exit_code > 0, "netsvcd with port %u taken: exit %d, "
	    "expected an error; stderr: %s", ntohs(sin.sin_port), r.exit_code,
	    r.err);
	cr_assert(strstr(r.err, "in use") != NULL || strstr(r.err, "bind")
	    != NULL, "netsvcd with a taken port does not say why: %s", r.err);
	hs_result_free(&r);
	close(fd);
}
