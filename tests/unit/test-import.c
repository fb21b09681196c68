/*
 * test-import.c: import_inetd(), the inetd.conf conversion behind
 * netsvcd --import-inetd.  The fixtures in tests/unit/data/inetd hold the
 * stock lines of Debian's openbsd-inetd and inetutils-inetd; the small
 * cases cover each field form one at a time.  Every output is checked to
 * fit the config's line rules, and built-in output must load.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "netsvcd.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static void	 check_lines(const char *);
static char	*convert(const char *, struct import_stats *);
static char	*convert_file(const char *, struct import_stats *, size_t *);
static size_t	 count(const char *, const char *);
static void	 expect_in(const char *, const char *);
static void	 expect_not_in(const char *, const char *);
static void	 expect_loads(const char *, size_t);

/* Every output line fits the config reader: < 200 bytes, no indent. */
static void
check_lines(const char *out)
{
	const char	*p, *nl;

	for (p = out; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		cr_assert(nl != NULL, "output does not end with a newline");
		cr_expect(nl - p < 200, "line of %zu bytes: %.*s",
		    (size_t)(nl - p), (int)(nl - p), p);
		cr_expect(p[0] != ' ' && p[0] != '\t', "indented line: %.*s",
		    (int)(nl - p), p);
	}
}

/* Convert text as "inetd.conf"; the output, checked by check_lines(). */
static char *
convert(const char *text, struct import_stats *st)
{
	FILE	*in, *out;
	char	*buf = NULL;
	size_t	 len = 0;

	in = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	cr_assert(in != NULL);
	out = open_memstream(&buf, &len);
	cr_assert(out != NULL);
	cr_assert(eq(int, import_inetd(in, "inetd.conf", out, NULL, st), 0));
	fclose(in);
	fclose(out);
	check_lines(buf);
	return buf;
}

/*
 * Convert a fixture; *lines is the number of its service lines (neither
 * comments, nor blank, nor "host:" lines; "#<off>#" lines count).
 */
static char *
convert_file(const char *name, struct import_stats *st, size_t *lines)
{
	const char	*src = getenv("NETSVCD_SRCDIR");
	char		 path[4096], *buf = NULL, *line = NULL, *out;
	size_t		 len = 0, cap = 0;
	FILE		*f, *o;
	ssize_t		 n;

	cr_assert(src != NULL, "NETSVCD_SRCDIR is not set");
	snprintf(path, sizeof(path), "%s/tests/unit/data/inetd/%s", src, name);
	f = fopen(path, "r");
	cr_assert(f != NULL, "%s: cannot open", path);
	o = open_memstream(&buf, &len);
	cr_assert(o != NULL);
	*lines = 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		fputs(line, o);
		if (strncmp(line, "#<off>#", 7) == 0 ||
		    (line[0] != '#' && line[0] != '\n' &&
		    line[n - 2] != ':'))
			(*lines)++;
	}
	free(line);
	fclose(f);
	fclose(o);
	out = convert(buf, st);
	free(buf);
	return out;
}

/* How many times needle occurs in hay. */
static size_t
count(const char *hay, const char *needle)
{
	size_t	 n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

/* The output must contain want. */
static void
expect_in(const char *out, const char *want)
{
	cr_expect(strstr(out, want) != NULL, "missing:\n%s\nin:\n%s", want,
	    out);
}

/* The output must not contain text. */
static void
expect_not_in(const char *out, const char *text)
{
	cr_expect(strstr(out, text) == NULL, "unexpected:\n%s\nin:\n%s", text,
	    out);
}

/* The output loads as a config with exactly n instances. */
static void
expect_loads(const char *out, size_t n)
{
	struct config_errors	 errs;
	struct config		*conf;
	struct instance_conf	*ic;
	size_t			 got = 0;

	conf = config_load_string(out, "out.ini", &errs);
	cr_assert(conf != NULL, "rejected, first error: %s\n%s",
	    errs.count > 0 ? errs.msg[0] : "(none)", out);
	config_errors_free(&errs);
	TAILQ_FOREACH(ic, &conf->instances, entry)
		got++;
	cr_expect(eq(sz, got, n));
	config_unref(conf);
}

Test(import, port_table)
{
	static const struct {
		const char	*name;
		int		 proto;
		int		 port;
	} cases[] = {
		{ "echo", SERVICE_TCP, 7 }, { "echo", SERVICE_UDP, 7 },
		{ "discard", SERVICE_UDP, 9 }, { "chargen", SERVICE_TCP, 19 },
		{ "daytime", SERVICE_TCP, 13 }, { "time", SERVICE_UDP, 37 },
		{ "telnet", SERVICE_TCP, 23 }, { "finger", SERVICE_TCP, 79 },
		{ "tftp", SERVICE_UDP, 69 }, { "tftp", SERVICE_TCP, -1 },
		{ "exec", SERVICE_TCP, 512 }, { "exec", SERVICE_UDP, -1 },
		{ "biff", SERVICE_UDP, 512 }, { "comsat", SERVICE_UDP, 512 },
		{ "talk", SERVICE_UDP, 517 }, { "ntalk", SERVICE_UDP, 518 },
		{ "auth", SERVICE_TCP, 113 }, { "ident", SERVICE_TCP, 113 },
		{ "swat", SERVICE_TCP, 901 }, { "8080", SERVICE_TCP, 8080 },
		{ "65535", SERVICE_UDP, 65535 }, { "65536", SERVICE_TCP, -1 },
		{ "0", SERVICE_TCP, -1 }, { "12ab", SERVICE_TCP, -1 },
		{ "no-such-service", SERVICE_TCP, -1 },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		cr_expect(eq(int, import_port_table(cases[i].name,
		    cases[i].proto), cases[i].port), "%s/%s", cases[i].name,
		    cases[i].proto == SERVICE_TCP ? "tcp" : "udp");
	/* Numbers never reach getservbyname(3). */
	cr_expect(eq(int, import_port("12ab", SERVICE_TCP), -1));
	cr_expect(eq(int, import_port("7", SERVICE_TCP), 7));
	cr_expect(eq(int, import_port("no-such-service-xyz", SERVICE_TCP),
	    -1));
}

Test(import, quote)
{
	static const char *const cases[][2] = {
		{ "abc", "abc" },
		{ "/usr/sbin/in.ftpd", "/usr/sbin/in.ftpd" },
		{ "--greeting=hi,x@y:1%+", "--greeting=hi,x@y:1%+" },
		{ "", "''" },
		{ "a;b", "'a;b'" },
		{ ";", "';'" },
		{ "$HOME", "'$HOME'" },
		{ "\"a", "'\"a'" },
		{ "it's", "\"it's\"" },
		{ "a\"b'c\\", "\"a\\\"b'c\\\\\"" },
	};
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		cr_assert(eq(int, import_quote(cases[i][0], buf, sizeof(buf)),
		    0));
		cr_expect(eq(str, buf, (char *)(uintptr_t)cases[i][1]));
	}
	cr_expect(eq(int, import_quote("abcdef", buf, 6), -1));
	cr_expect(eq(int, import_quote("a b", buf, 5), -1));
	cr_expect(eq(int, import_quote("a'b", buf, 5), -1));
	cr_expect(eq(int, import_quote("a'b", buf, 6), 0));
}

/* The stock openbsd-inetd lines: every line converted or commented. */
Test(import, openbsd_inetd)
{
	struct import_stats	 st;
	size_t			 lines;
	char			*out;

	out = convert_file("openbsd-inetd.conf", &st, &lines);
	cr_expect(eq(u32, st.sections + st.skipped, (unsigned int)lines));
	cr_expect(eq(u32, st.sections, 15));
	cr_expect(eq(u32, st.skipped, 3));
	cr_expect(eq(sz, count(out, "\n; not converted: "), 3));
	cr_expect(eq(sz, count(out, "\n["), 15));
	expect_in(out, "[echo]\nservice = echo\n"
	    "listen = tcp://0.0.0.0:7 tcp://[::]:7\n\n");
	expect_in(out, "[discard-udp]\nservice = discard\n"
	    "listen = udp://0.0.0.0:9 udp://[::]:9\n\n");
	expect_in(out, "[chargen]\nservice = chargen\n"
	    "listen = tcp://0.0.0.0:19 tcp://[::]:19\n\n");
	expect_in(out, "; note: tcpd removed: put its hosts.allow and "
	    "hosts.deny rules in allow = and deny =\n[telnet]\n"
	    "service = exec\nlisten = tcp://0.0.0.0:23 tcp://[::]:23\n"
	    "command = /usr/sbin/in.telnetd\nuser = telnetd\n"
	    "enabled = no\n");
	expect_in(out, "[talk]\nservice = exec\nlisten = udp://0.0.0.0:517\n"
	    "command = /usr/sbin/in.talkd\nuser = nobody\ngroup = tty\n\n");
	expect_in(out, "[tftp]\nservice = exec\n"
	    "listen = udp://0.0.0.0:69 udp://[::]:69\n"
	    "command = /usr/sbin/in.tftpd /srv/tftp\nuser = nobody\n\n");
	expect_in(out, "[8080]\nservice = exec\n"
	    "listen = tcp://127.0.0.1:8080\n"
	    "command = /usr/local/bin/reply --greeting hi\nuser = nobody\n"
	    "group = nogroup\ninstance_rate = 10\ninstance_burst = 600\n");
	/* "*:" puts the default host back. */
	expect_in(out, "; note: socket buffer sizes 'rcvbuf=16384' not "
	    "converted (netsvcd uses the kernel's defaults)\n[swat]\n"
	    "service = exec\nlisten = tcp://0.0.0.0:901 tcp://[::]:901\n"
	    "command = /usr/sbin/swat\ninstance_rate = 7\n"
	    "instance_burst = 400\n");
	expect_in(out, "[daytime-udp6]\nservice = daytime\n"
	    "listen = udp://[::1]:13\n");
	expect_in(out, "[time-udp]\nservice = time\n"
	    "listen = udp://127.0.0.1:37 udp://[::1]:37\n");
	expect_in(out, "\n; not converted: stream wait (the program accepts "
	    "on the listening socket) is not supported: ident stream tcp "
	    "wait identd /usr/sbin/identd identd\n");
	expect_in(out, "\n; not converted: RPC services are not supported: "
	    "rusers/1-3 dgram rpc/udp wait root /usr/sbin/rpc.rusersd "
	    "rpc.rusersd\n");
	expect_in(out, "\n; not converted: UNIX-domain sockets are not "
	    "supported: /run/echo.sock stream unix nowait root internal\n");
	/* The origin of each section is quoted above it. */
	expect_in(out, "\n; inetd.conf:10: echo stream tcp nowait root "
	    "internal\n[echo]\n");
	free(out);
}

/* The stock inetutils-inetd lines and its man page's examples. */
Test(import, inetutils_inetd)
{
	struct import_stats	 st;
	size_t			 lines;
	char			*out;

	out = convert_file("inetutils-inetd.conf", &st, &lines);
	cr_expect(eq(u32, st.sections + st.skipped, (unsigned int)lines));
	cr_expect(eq(u32, st.sections, 7));
	cr_expect(eq(u32, st.skipped, 3));
	expect_in(out, "[discard]\nservice = discard\n"
	    "listen = tcp://[::]:9\n\n");
	expect_in(out, "[discard-udp6]\nservice = discard\n"
	    "listen = udp://[::]:9\n\n");
	expect_in(out, "[ftp]\nservice = exec\n"
	    "listen = tcp://0.0.0.0:21 tcp://[::]:21\n"
	    "command = /usr/libexec/ftpd -l\n\n");
	expect_in(out, "[ntalk]\nservice = exec\n"
	    "listen = udp://0.0.0.0:518 udp://[::]:518\n"
	    "command = /usr/libexec/ntalkd\n");
	expect_in(out, "[echo]\nservice = echo\nlisten = tcp://[::]:7\n");
	expect_in(out, "\n; not converted: TCPMUX services are not "
	    "supported: tcpmux/+date stream tcp nowait guest /bin/date date\n");
	expect_in(out, "\n; not converted: socket type 'seqpacket' is not "
	    "supported (only stream and dgram): echo seqpacket tcp nowait "
	    "root internal\n");
	free(out);
}

/* Built-in output of both stock files loads as a netsvcd config. */
Test(import, builtins_load)
{
	static const char	 text[] =
	    "echo\tstream\ttcp\tnowait\troot\tinternal\n"
	    "discard\tstream\ttcp\tnowait\troot\tinternal\n"
	    "discard\tdgram\tudp\twait\troot\tinternal\n"
	    "daytime\tstream\ttcp\tnowait\troot\tinternal\n"
	    "time\tstream\ttcp\tnowait\troot\tinternal\n"
	    "chargen\tstream\ttcp\tnowait.1000\tnobody\tinternal\n"
	    "daytime\tdgram\tudp6\twait\troot\tinternal\n"
	    "time\tdgram\tudp4\twait\troot\tinternal\n"
	    "#<off># echo\tdgram\tudp\twait\troot\tinternal\n";
	struct import_stats	 st;
	char			*out;

	out = convert(text, &st);
	cr_expect(eq(u32, st.sections, 9));
	cr_expect(eq(u32, st.skipped, 0));
	expect_in(out, "; note: built-in services run inside netsvcd: user "
	    "nobody not used\n[chargen]\nservice = chargen\n"
	    "listen = tcp://0.0.0.0:19 tcp://[::]:19\ninstance_rate = 17\n"
	    "instance_burst = 1000\n");
	expect_in(out, "[echo-udp]\nservice = echo\n"
	    "listen = udp://0.0.0.0:7 udp://[::]:7\nenabled = no\n");
	expect_loads(out, 9);
	free(out);
}

/* nowait.N / wait.N: N a minute as instance_rate (rounded up) and burst. */
Test(import, rates)
{
	static const char *const cases[][2] = {
		{ "nowait.600", "instance_rate = 10\ninstance_burst = 600\n" },
		{ "nowait.61", "instance_rate = 2\ninstance_burst = 61\n" },
		{ "nowait.1", "instance_rate = 1\ninstance_burst = 1\n" },
		{ "wait.120", "instance_rate = 2\ninstance_burst = 120\n" },
		{ "nowait.10000000", "instance_rate = 166667\n"
		    "instance_burst = 10000000\n" },
	};
	struct import_stats	 st;
	char			 text[128], *out;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text), "echo stream tcp4 %s root "
		    "internal\n", cases[i][0]);
		out = convert(text, &st);
		cr_expect(eq(u32, st.sections, 1), "%s", cases[i][0]);
		expect_in(out, cases[i][1]);
		expect_loads(out, 1);
		free(out);
	}
	out = convert("echo stream tcp4 nowait root internal\n", &st);
	expect_not_in(out, "instance_rate");
	free(out);
	out = convert("echo stream tcp4 nowait.20000000 root internal\n", &st);
	expect_in(out, "; note: limit of 20000000 a minute above netsvcd's "
	    "range: no instance_rate\n");
	expect_not_in(out, "instance_rate =");
	free(out);
	out = convert("echo stream tcp4 nowait.x root internal\n"
	    "echo stream tcp6 nowait. root internal\n"
	    "echo stream tcp4 sometimes root internal\n", &st);
	cr_expect(eq(u32, st.skipped, 3));
	expect_in(out, "; not converted: bad invocation limit in 'nowait.x':");
	expect_in(out, "; not converted: bad invocation limit in 'nowait.':");
	expect_in(out, "; not converted: 'sometimes' is not wait or nowait:");
	free(out);
}

/* user, user:group, user.group; root is the daemon's own user. */
Test(import, users)
{
	static const char *const cases[][2] = {
		{ "nobody", "user = nobody\n\n" },
		{ "nobody:nogroup", "user = nobody\ngroup = nogroup\n\n" },
		{ "nobody.tty", "user = nobody\ngroup = tty\n\n" },
		{ "root", "command = /bin/cat\n\n" },
		{ "root:staff", "command = /bin/cat\ngroup = staff\n\n" },
		{ "root.root", "command = /bin/cat\n\n" },
	};
	struct import_stats	 st;
	char			 text[128], *out;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text), "8080 stream tcp4 nowait %s "
		    "/bin/cat cat\n", cases[i][0]);
		out = convert(text, &st);
		cr_expect(eq(u32, st.sections, 1), "%s", cases[i][0]);
		expect_in(out, cases[i][1]);
		free(out);
	}
}

/* Every protocol form, and the socket types that go with them. */
Test(import, protocols)
{
	static const char *const cases[][3] = {
		{ "stream", "tcp", "tcp://0.0.0.0:7 tcp://[::]:7\n" },
		{ "stream", "tcp4", "tcp://0.0.0.0:7\n" },
		{ "stream", "tcp6", "tcp://[::]:7\n" },
		{ "stream", "tcp46", "tcp://0.0.0.0:7 tcp://[::]:7\n" },
		{ "stream", "tcp6only", "tcp://[::]:7\n" },
		{ "dgram", "udp", "udp://0.0.0.0:7 udp://[::]:7\n" },
		{ "dgram", "udp4", "udp://0.0.0.0:7\n" },
		{ "dgram", "udp6", "udp://[::]:7\n" },
		{ "stream", "tcp,sndbuf=64k", "tcp://0.0.0.0:7 tcp://[::]:7\n" },
		{ "stream", "udp", NULL },
		{ "dgram", "tcp", NULL },
		{ "raw", "tcp", NULL },
		{ "rdm", "udp", NULL },
		{ "stream", "sctp", NULL },
		{ "stream", "tcp7", NULL },
		{ "stream", "unix", NULL },
		{ "dgram", "rpc/udp", NULL },
	};
	struct import_stats	 st;
	char			 text[128], want[128], *out;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text), "echo %s %s nowait root "
		    "internal\n", cases[i][0], cases[i][1]);
		out = convert(text, &st);
		if (cases[i][2] != NULL) {
			snprintf(want, sizeof(want), "\nlisten = %s",
			    cases[i][2]);
			cr_expect(eq(u32, st.sections, 1), "%s", text);
			expect_in(out, want);
		} else {
			cr_expect(eq(u32, st.skipped, 1), "%s", text);
			expect_in(out, "\n; not converted: ");
			expect_not_in(out, "\n[");
		}
		free(out);
	}
}

/* Host specifiers, on the line and as "host:" lines. */
Test(import, hosts)
{
	struct import_stats	 st;
	char			*out;

	out = convert("127.0.0.1:echo stream tcp nowait root internal\n"
	    "[::1]:echo dgram udp nowait root internal\n"
	    "localhost:discard stream tcp nowait root internal\n"
	    "192.0.2.1,::1:chargen stream tcp nowait root internal\n"
	    "192.0.2.7:\n"
	    "daytime stream tcp nowait root internal\n"
	    "daytime stream tcp6 nowait root internal\n"
	    "*:\n"
	    "time stream tcp6 nowait root internal\n"
	    "example.org:qotd stream tcp nowait root /bin/cat cat\n", &st);
	expect_in(out, "[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:7\n\n");
	expect_in(out, "[echo-udp]\nservice = echo\n"
	    "listen = udp://[::1]:7\n\n");
	expect_in(out, "[discard]\nservice = discard\n"
	    "listen = tcp://127.0.0.1:9 tcp://[::1]:9\n\n");
	expect_in(out, "[chargen]\nservice = chargen\n"
	    "listen = tcp://192.0.2.1:19 tcp://[::1]:19\n\n");
	expect_in(out, "[daytime]\nservice = daytime\n"
	    "listen = tcp://192.0.2.7:13\n\n");
	expect_in(out, "; not converted: address '192.0.2.7' does not fit "
	    "the protocol's address family: daytime stream tcp6");
	expect_in(out, "[time]\nservice = time\nlisten = tcp://[::]:37\n");
	expect_in(out, "; not converted: host 'example.org' is a name (only "
	    "'*', localhost and numeric addresses are converted): ");
	cr_expect(eq(u32, st.sections, 6));
	cr_expect(eq(u32, st.skipped, 2));
	free(out);
}

/* Server program and argv: argv[0] is the 7th field, tcpd is removed. */
Test(import, commands)
{
	static const char *const cases[][2] = {
		{ "/bin/cat cat", "command = /bin/cat\n" },
		{ "/bin/cat", "command = /bin/cat\n" },
		{ "/bin/cat /bin/cat -u", "command = /bin/cat -u\n" },
		{ "/usr/bin/printf printf %s\\n it's", "command = "
		    "/usr/bin/printf '%s\\n' \"it's\"\n" },
		{ "/bin/echo echo ; x", "command = /bin/echo ';' x\n" },
		{ "/bin/echo echo \"a b\"", "command = /bin/echo '\"a' 'b\"'\n" },
		{ "/usr/sbin/tcpd in.fingerd -w", "; note: tcpd removed: put "
		    "its hosts.allow and hosts.deny rules in allow = and deny "
		    "=\n[8080]\nservice = exec\nlisten = tcp://0.0.0.0:8080\n"
		    "command = /usr/sbin/in.fingerd -w\n" },
		{ "/usr/sbin/tcpd /opt/bin/reply reply -x", "command = "
		    "/opt/bin/reply reply -x\n" },
		{ "/usr/local/bin/reply-v2 reply", "; note: inetd gave the "
		    "program argv[0] 'reply'; netsvcd gives it the path\n"
		    "[8080]\nservice = exec\nlisten = tcp://0.0.0.0:8080\n"
		    "command = /usr/local/bin/reply-v2\n" },
	};
	struct import_stats	 st;
	char			 text[256], *out;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text), "8080 stream tcp4 nowait root "
		    "%s\n", cases[i][0]);
		out = convert(text, &st);
		cr_expect(eq(u32, st.sections, 1), "%s", cases[i][0]);
		expect_in(out, cases[i][1]);
		free(out);
	}
}

/* Lines that cannot be converted: a comment each, and no section. */
Test(import, not_converted)
{
	static const char *const cases[][2] = {
		{ "8080 stream tcp nowait root bin/cat cat",
		    "server program 'bin/cat' is not an absolute path" },
		{ "8080 stream tcp nowait root /usr/sbin/tcpd",
		    "tcpd without a program" },
		{ "8080 stream tcp wait root /bin/cat cat",
		    "stream wait (the program accepts on the listening "
		    "socket) is not supported" },
		{ "no-such-service-xyz stream tcp nowait root /bin/cat cat",
		    "unknown service 'no-such-service-xyz' (not a port number, "
		    "a well-known name or in /etc/services)" },
		{ "qotd stream tcp nowait root internal",
		    "no built-in service named 'qotd'" },
		{ "tcpmux/+date stream tcp nowait guest /bin/date date",
		    "TCPMUX services are not supported" },
		{ "echo stream tcp nowait root", "5 fields, at least 6 "
		    "expected" },
	};
	struct import_stats	 st;
	char			 text[256], want[512], *out;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(text, sizeof(text), "%s\n", cases[i][0]);
		out = convert(text, &st);
		cr_expect(eq(u32, st.sections, 0), "%s", cases[i][0]);
		cr_expect(eq(u32, st.skipped, 1), "%s", cases[i][0]);
		snprintf(want, sizeof(want), "\n; not converted: %s: %s\n",
		    cases[i][1], cases[i][0]);
		expect_in(out, want);
		free(out);
	}
}

/* dgram nowait runs as wait, with a note. */
Test(import, dgram_nowait)
{
	struct import_stats	 st;
	char			*out;

	out = convert("8080 dgram udp4 nowait nobody /bin/cat cat\n", &st);
	expect_in(out, "; note: dgram nowait: netsvcd runs one program at a "
	    "time on a UDP socket (wait)\n[8080]\nservice = exec\n"
	    "listen = udp://0.0.0.0:8080\ncommand = /bin/cat\n"
	    "user = nobody\n");
	free(out);
}

/* Two lines on one endpoint: the second is a comment, not an error. */
Test(import, endpoint_twice)
{
	struct import_stats	 st;
	char			*out;

	out = convert("discard stream tcp nowait root internal\n"
	    "discard stream tcp6 nowait root internal\n"
	    "9 stream tcp4 nowait root /bin/cat cat\n"
	    "discard dgram udp4 wait root internal\n", &st);
	cr_expect(eq(u32, st.sections, 2));
	cr_expect(eq(u32, st.skipped, 2));
	expect_in(out, "; not converted: tcp://[::]:9 is already used by "
	    "[discard]: discard stream tcp6 nowait root internal\n");
	expect_in(out, "; not converted: tcp://0.0.0.0:9 is already used by "
	    "[discard]: 9 stream tcp4 nowait root /bin/cat cat\n");
	expect_in(out, "[discard-udp4]\nservice = discard\n");
	free(out);
}

/* Section names: only [A-Za-z0-9_.-], unique, within 64 bytes. */
Test(import, names)
{
	struct import_stats	 st;
	char			 text[512], *out;

	out = convert("echo stream tcp4 nowait root internal\n"
	    "127.0.0.2:echo stream tcp4 nowait root internal\n"
	    "127.0.0.3:echo stream tcp4 nowait root internal\n"
	    "127.0.0.4:echo stream tcp,rcvbuf=1k nowait root internal\n",
	    &st);
	cr_expect(eq(u32, st.sections, 4));
	expect_in(out, "\n[echo]\n");
	expect_in(out, "\n[echo-tcp4]\n");
	expect_in(out, "\n[echo-tcp4-2]\n");
	expect_in(out, "\n[echo-tcp_rcvb]\n");
	free(out);
	snprintf(text, sizeof(text), "%s stream tcp4 nowait root /bin/cat "
	    "cat\n", "1234");
	out = convert(text, &st);
	expect_in(out, "\n[1234]\n");
	free(out);
}

/* Long lines: cut in comments, refused as commands, never > 199 bytes. */
Test(import, long_lines)
{
	struct import_stats	 st;
	char			 text[1024], *out;
	size_t			 n;

	n = (size_t)snprintf(text, sizeof(text), "8080 stream tcp4 nowait "
	    "root /bin/echo echo");
	while (n < 400)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " argument");
	snprintf(text + n, sizeof(text) - n, "\n");
	out = convert(text, &st);
	cr_expect(eq(u32, st.skipped, 1));
	expect_in(out, "; not converted: command too long for one line: "
	    "8080 stream tcp4 nowait root /bin/echo echo argument");
	expect_in(out, "...\n");
	free(out);
}

/* Comments, blank lines, "#<off>#", CR LF and NUL bytes. */
Test(import, comments)
{
	static const char	 text[] =
	    "# comment\n\n   \t\n#echo stream tcp nowait root internal\n"
	    "#<off># echo stream tcp4 nowait root internal\r\n"
	    "chargen stream tcp4 nowait root internal\r\n"
	    "daytime stream\0 tcp4 nowait root internal\n";
	struct import_stats	 st;
	FILE			*in, *o;
	char			*out = NULL;
	size_t			 len = 0;

	in = fmemopen((void *)(uintptr_t)text, sizeof(text) - 1, "r");
	cr_assert(in != NULL);
	o = open_memstream(&out, &len);
	cr_assert(o != NULL);
	cr_assert(eq(int, import_inetd(in, "inetd.conf", o, NULL, &st), 0));
	fclose(in);
	fclose(o);
	check_lines(out);
	cr_expect(eq(u32, st.sections, 2));
	cr_expect(eq(u32, st.skipped, 1));
	expect_in(out, "[echo]\nservice = echo\nlisten = tcp://0.0.0.0:7\n"
	    "enabled = no\n");
	expect_in(out, "[chargen]\nservice = chargen\n"
	    "listen = tcp://0.0.0.0:19\n\n");
	expect_in(out, "; not converted: NUL byte: (binary line)\n");
	expect_loads(out, 2);
	free(out);
}
