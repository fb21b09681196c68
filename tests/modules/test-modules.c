/*
 * test-modules.c: service modules loaded from shared objects.  A module's
 * service over TCP and UDP next to the built-ins; the built-ins with no
 * module; -V listing; the metrics and SIGUSR1 naming each instance's
 * module; every bad module -t must refuse with FILE:LINE (and the daemon
 * must not start with); StrictModes and its override; reloads that add,
 * refuse (all-or-nothing) and drop modules; a dropped module staying
 * mapped while a connection of its instance lives, and unmapped after;
 * a module's state kept until the callback that closed its connection
 * returns; repeatable module keys; UDP by udp_wait.  The modules are built by tests/modules/CMakeLists.txt into
 * NETSVCD_MODDIR and copied next to each config.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define MOD_TMO		10000	/* ms for one command or exchange */

static const char *mod_copy(struct hs_daemon *, const char *, const char *);
static int	 mod_mapped(pid_t, const char *);
static int	 mod_wait_mapped(pid_t, const char *, int, int);
static void	 mod_line(int, const char *, const char *);
static void	 mod_check_fails(const char *, int, const char *,
		    const char *);
static void	 mod_strict_paths(struct hs_daemon *);

TestSuite(modules, .fini = hs_teardown);

/* Copy module NAME.so of NETSVCD_MODDIR into d's directory as file. */
static const char *
mod_copy(struct hs_daemon *d, const char *name, const char *file)
{
	char		 src[512], *buf;
	const char	*path;
	FILE		*f;
	long		 len;

	snprintf(src, sizeof(src), "%s/%s.so", NETSVCD_MODDIR, name);
	cr_assert((f = fopen(src, "rb")) != NULL, "%s: %s", src,
	    strerror(errno));
	cr_assert(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0);
	rewind(f);
	cr_assert((buf = malloc((size_t)len)) != NULL);
	cr_assert(fread(buf, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	path = hs_file(d, file, buf, (size_t)len);
	free(buf);
	cr_assert(chmod(path, 0644) == 0);
	return path;
}

/* Whether the process maps a file called path. */
static int
mod_mapped(pid_t pid, const char *path)
{
	char	 maps[64], line[1024];
	FILE	*f;
	int	 found = 0;

	snprintf(maps, sizeof(maps), "/proc/%ld/maps", (long)pid);
	if ((f = fopen(maps, "r")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, path) != NULL;
	fclose(f);
	return found;
}

/* Poll until path is (want 1) or is not (want 0) mapped; 0 or -1. */
static int
mod_wait_mapped(pid_t pid, const char *path, int want, int timeout_ms)
{
	int64_t	end = hs_now_ms() + timeout_ms;

	do {
		if (mod_mapped(pid, path) == want)
			return 0;
		usleep(20000);
	} while (hs_now_ms() < end);
	return -1;
}

/* Send line on TCP socket fd and expect reply back, exactly. */
static void
mod_line(int fd, const char *line, const char *reply)
{
	char	buf[256];
	ssize_t	n;

	cr_assert(hs_send_all(fd, line, strlen(line), hs_ms(MOD_TMO)) == 0);
	n = hs_recv_n(fd, buf, strlen(reply), hs_ms(MOD_TMO));
	cr_assert(n == (ssize_t)strlen(reply) &&
	    memcmp(buf, reply, strlen(reply)) == 0, "sent %s, got %s, "
	    "expected %s", line, n > 0 ? hs_show(buf, (size_t)n) : "nothing",
	    reply);
}

/*
 * netsvcd -t on conf (a file in its own directory) fails with one error
 * "conf:line: modules: ..." that contains want (and want2 unless NULL);
 * and netsvcd itself, started on it, exits 1 without ever being ready.
 */
static void
mod_check_fails(const char *conf, int line, const char *want,
    const char *want2)
{
	struct hs_result	 r;
	char			 prefix[512];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", conf, line);
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-t", "-c", conf, NULL) == 0,
	    "netsvcd -t did not finish");
	cr_assert(r.exit_code == 1, "-t on a bad module: exit %d, stderr %s",
	    r.exit_code, r.err);
	cr_assert(strstr(r.err, prefix) != NULL && strstr(r.err, want) !=
	    NULL && (want2 == NULL || strstr(r.err, want2) != NULL),
	    "expected \"%s...%s%s%s\" on stderr, got: %s", prefix, want,
	    want2 != NULL ? "..." : "", want2 != NULL ? want2 : "", r.err);
	cr_assert(strstr(r.out, "is OK") == NULL, "-t said OK: %s", r.out);
	hs_result_free(&r);

	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-f", "-c", conf, NULL) == 0,
	    "netsvcd did not stop on a bad module");
	cr_assert(r.exit_code == 1 && strstr(r.err, "not started") != NULL &&
	    strstr(r.err, "listening on") == NULL, "netsvcd on a bad module: "
	    "exit %d, stderr %s", r.exit_code, r.err);
	hs_result_free(&r);
}

#define CONF_LINES(mods)						\
	"[daemon]\n"							\
	mods								\
	"\n"								\
	"[lines]\n"							\
	"service = linereply\n"						\
	"listen = tcp://127.0.0.1:0 udp://127.0.0.1:0 tcp://[::1]:0\n"	\
	"prefix = you said:\n"						\
	"udp_max_amplification = 4\n"					\
	"\n"								\
	"[echo]\n"							\
	"service = echo\n"						\
	"listen = tcp://127.0.0.1:0 udp://127.0.0.1:0\n"

/*
 * The example module next to a built-in: lines over TCP (IPv4 and IPv6,
 * in pieces and several per write), datagrams over UDP, and echo still
 * as it was.  With NETSVCD_WORKERS=2 this runs on two threads.
 */
Test(modules, serve_tcp_udp, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[256];
	ssize_t			 n;
	int			 fd, i;

	mod_copy(d, "linereply", "linereply.so");
	hs_start(d, CONF_LINES("modules = linereply.so\n"));

	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET);
	mod_line(fd, "hello\n", "you said:hello\n");
	mod_line(fd, "a\r\nb\n", "you said:a\r\nyou said:b\n");
	cr_assert(hs_send_all(fd, "par", 3, hs_ms(MOD_TMO)) == 0);
	usleep(20000);
	mod_line(fd, "tial\n", "you said:partial\n");
	hs_close(fd);
	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET6);
	for (i = 0; i < 50; i++)
		mod_line(fd, "six\n", "you said:six\n");
	hs_close(fd);

	fd = hs_connect(d, "lines", SOCK_DGRAM, AF_INET);
	n = hs_udp_ask(fd, "ping", 4, buf, sizeof(buf), hs_ms(MOD_TMO));
	cr_assert(n == 13 && memcmp(buf, "you said:ping", 13) == 0,
	    "UDP reply %s", n > 0 ? hs_show(buf, (size_t)n) : "none");
	hs_close(fd);

	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	mod_line(fd, "plain echo\n", "plain echo\n");
	hs_close(fd);
	fd = hs_connect(d, "echo", SOCK_DGRAM, AF_INET);
	n = hs_udp_ask(fd, "e", 1, buf, sizeof(buf), hs_ms(MOD_TMO));
	cr_assert(n == 1 && buf[0] == 'e');
	hs_close(fd);
	hs_stop_ok(d);
}

/* The built-ins with no modules key at all: nothing is loaded. */
Test(modules, builtins_without_modules, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	char			 buf[256];
	ssize_t			 n;
	int			 fd;

	hs_start(d, "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0 "
	    "udp://127.0.0.1:0\n\n[day]\nservice = daytime\n"
	    "listen = tcp://127.0.0.1:0\n");
	fd = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	mod_line(fd, "still here\n", "still here\n");
	hs_close(fd);
	fd = hs_connect(d, "echo", SOCK_DGRAM, AF_INET);
	n = hs_udp_ask(fd, "u", 1, buf, sizeof(buf), hs_ms(MOD_TMO));
	cr_assert(n == 1 && buf[0] == 'u');
	hs_close(fd);
	fd = hs_connect(d, "day", SOCK_STREAM, AF_INET);
	n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(MOD_TMO));
	cr_assert(n >= 2 && buf[n - 1] == '\n', "daytime: %zd bytes", n);
	hs_close(fd);
	cr_assert(mod_mapped(d->pid, ".so") >= 0);
	cr_assert(mod_mapped(d->pid, NETSVCD_MODDIR) == 0);

	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-V", "-c", d->conf_path,
	    NULL) == 0);
	cr_assert(r.exit_code == 0 && strstr(r.out, "module ABI 1\n") !=
	    NULL && strstr(r.out, "\nmodule ") == strstr(r.out, "\nmodule ABI"),
	    "-V -c without modules: %s", r.out);
	hs_result_free(&r);
	hs_stop_ok(d);
}

/*
 * -V -c and -t list the modules with their versions; the metrics and the
 * SIGUSR1 dump name the module of each instance.
 */
Test(modules, listed, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	const char		*so;
	char			 want[600], buf[16384];
	int			 n;

	so = mod_copy(d, "linereply", "linereply.so");
	hs_start(d, CONF_LINES("modules = linereply.so\n"
	    "metrics_listen = tcp://127.0.0.1:0\n"));
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-V", "-c", d->conf_path,
	    NULL) == 0);
	snprintf(want, sizeof(want), "module linereply 1.0 (%s): service "
	    "linereply\n", so);
	cr_assert(r.exit_code == 0 && strstr(r.out, want) != NULL,
	    "-V -c: expected %s, got %s", want, r.out);
	hs_result_free(&r);
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-T", "-c", d->conf_path,
	    NULL) == 0);
	snprintf(want, sizeof(want), "modules = %s\n; module linereply 1.0 ",
	    so);
	cr_assert(r.exit_code == 0 && strstr(r.out, want) != NULL,
	    "-T: expected %s, got %s", want, r.out);
	hs_result_free(&r);

	hs_signal(d, SIGUSR1);
	for (n = 0; n < 200 && !(hs_log_has(d, "status: lines (linereply, "
	    "module linereply 1.0)") && hs_log_has(d, "status: echo (echo, "
	    "built-in)")); n++)
		usleep(50000);
	cr_assert(n < 200, "the SIGUSR1 dump does not name the modules");

	cr_assert(hs_http_get(hs_metrics_port(d), "/metrics", buf,
	    sizeof(buf)) == 200, "GET /metrics: %s", buf);
	cr_assert(strstr(buf, "netsvcd_instance_info{instance=\"lines\","
	    "module=\"linereply\",module_version=\"1.0\",service=\"linereply\"}"
	    " 1\n") != NULL && strstr(buf, "netsvcd_instance_info{instance="
	    "\"echo\",module=\"built-in\",module_version=\"0.1.0\","
	    "service=\"echo\"} 1\n") != NULL, "metrics: %s", buf);
	hs_stop_ok(d);
}

/* One bad module per case: -t names the problem at its line. */
struct bad_case {
	const char	*module;	/* in NETSVCD_MODDIR; NULL: see file */
	const char	*file;		/* as copied, or written */
	const char	*content;	/* written instead of a module */
	const char	*want;
	const char	*want2;
};

static const struct bad_case bad_cases[] = {
	{ NULL, "missing.so", NULL, "missing.so: No such file", NULL },
	{ NULL, "text.so", "#!/bin/sh\necho not a module\n",
	    "text.so: not an ELF shared object", NULL },
	{ "bad-no-desc", "m.so", NULL, "no 'netsvcd_module' symbol", NULL },
	{ "bad-desc-func", "m.so", NULL, "malformed module",
	    "not a data object" },
	{ "bad-desc-small", "m.so", NULL, "malformed module", "is 4 bytes" },
	{ "bad-old-abi", "m.so", NULL, "built for module ABI 0",
	    "this netsvcd has ABI 1" },
	{ "bad-no-name", "m.so", NULL, "malformed module", "name" },
	{ "bad-no-services", "m.so", NULL, "declares no services", NULL },
	{ "bad-version", "m.so", NULL, "malformed module", "its version is "
	    "not 1-63 printable characters" },
	{ "bad-svc-empty", "m.so", NULL, "service 1 has an empty name", NULL },
	{ "bad-svc-dup", "m.so", NULL, "duplicate service name 'other'",
	    NULL },
	{ "bad-svc-builtin", "m.so", NULL, "service 'echo' clashes with the "
	    "built-in service", NULL },
	{ "bad-svc-noudp", "m.so", NULL, "service 'other' declares UDP but "
	    "has neither udp_datagram nor udp_wait", NULL },
	{ "bad-svc-notcp", "m.so", NULL, "service 'other' declares TCP but "
	    "implements none", NULL },
	{ "bad-undef", "m.so", NULL, "cannot load: ",
	    "undefined symbol: config_unref" },
};

Test(modules, bad_modules, .timeout = 300)
{
	const struct bad_case	*bc;
	struct hs_daemon	*d;
	char			 conf[512];
	const char		*path;
	size_t			 i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		bc = &bad_cases[i];
		d = hs_new();
		if (bc->module != NULL)
			mod_copy(d, bc->module, bc->file);
		else if (bc->content != NULL)
			cr_assert(chmod(hs_file(d, bc->file, bc->content,
			    strlen(bc->content)), 0644) == 0);
		snprintf(conf, sizeof(conf), "[daemon]\nmodules = %s\n\n"
		    "[e]\nservice = echo\nlisten = tcp://127.0.0.1:0\n",
		    bc->file);
		path = hs_file(d, "test.ini", conf, strlen(conf));
		mod_check_fails(path, 2, bc->want, bc->want2);
	}
}

/* A failing conf_check is reported at the instance, and nothing starts. */
Test(modules, conf_check_fails, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	const char		*path;
	char			 prefix[512];
	static const char	 conf[] = "[daemon]\nmodules = m.so\n\n"
				    "[x]\nservice = other\n"
				    "listen = tcp://127.0.0.1:0\n";

	mod_copy(d, "bad-check-fails", "m.so");
	path = hs_file(d, "test.ini", conf, strlen(conf));
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-t", "-c", path, NULL) == 0);
	snprintf(prefix, sizeof(prefix), "%s:4: [x]: cannot open "
	    "/nonexistent/bad.txt", path);
	cr_assert(r.exit_code == 1 && strstr(r.err, prefix) != NULL,
	    "conf_check: exit %d, stderr %s", r.exit_code, r.err);
	hs_result_free(&r);
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-f", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 1 && strstr(r.err, "listening on") == NULL,
	    "started on a failing conf_check: %s", r.err);
	hs_result_free(&r);
}

/*
 * Names and files that clash: two modules with one service name, one
 * file listed twice, a module's service unknown without its module, an
 * empty modules value.
 */
Test(modules, clashes, .timeout = 120)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	const char		*path;
	char			 prefix[512];
	static const char	 unknown[] = "[x]\nservice = linereply\n"
				    "listen = tcp://127.0.0.1:0\n";
	static const char	 empty[] = "[daemon]\nmodules =\n\n"
				    "[e]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n";
	char			 conf[512];

	mod_copy(d, "linereply", "linereply.so");
	mod_copy(d, "bad-clash", "clash.so");
	mod_copy(d, "other", "other.so");
	snprintf(conf, sizeof(conf), "[daemon]\nmodules = linereply.so "
	    "other.so\nmodules = clash.so\n\n[e]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0\n");
	path = hs_file(d, "clash.ini", conf, strlen(conf));
	mod_check_fails(path, 3, "service 'linereply' clashes with module "
	    "'linereply' (line 2)", NULL);

	snprintf(conf, sizeof(conf), "[daemon]\nmodules = linereply.so\n"
	    "modules = %s/linereply.so\n\n[e]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:0\n", d->dir);
	path = hs_file(d, "twice.ini", conf, strlen(conf));
	mod_check_fails(path, 3, "already loaded (line 2)", NULL);

	path = hs_file(d, "empty.ini", empty, strlen(empty));
	mod_check_fails(path, 2, "modules: empty value", NULL);

	path = hs_file(d, "unknown.ini", unknown, strlen(unknown));
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-t", "-c", path, NULL) == 0);
	snprintf(prefix, sizeof(prefix), "%s:2: service: unknown service "
	    "'linereply'", path);
	cr_assert(r.exit_code == 1 && strstr(r.err, prefix) != NULL,
	    "unknown module service: %s", r.err);
	hs_result_free(&r);
}

/*
 * StrictModes: a module file or directory writable by group or others,
 * or owned by another user (only checkable as root; "user =" included,
 * since a root daemon loads modules as root), is refused unless
 * modules_strict = no, which loads it with a warning.
 */
/*
 * StrictModes follows the module where it really is, and up to /: a link
 * to a module in a directory anyone may write, and a module below such a
 * directory, are refused; a sticky one (/tmp) is fine.
 */
static void
mod_strict_paths(struct hs_daemon *d)
{
	struct hs_result	 r;
	char			 ww[256], sub[512], link[512], want[700];
	const char		*path;
	static const char	 conf[] = "[daemon]\nmodules = m.so\n\n"
	    "[l]\nservice = linereply\nlisten = tcp://127.0.0.1:0\n";

	snprintf(ww, sizeof(ww), "%s/ww", d->dir);
	snprintf(sub, sizeof(sub), "%s/sub", ww);
	snprintf(link, sizeof(link), "%s/m.so", d->dir);
	cr_assert(mkdir(ww, 0755) == 0 && chmod(ww, 0777) == 0);
	snprintf(sub, sizeof(sub), "%s/in-ww.so", ww);
	cr_assert(rename(mod_copy(d, "linereply", "in-ww.so"), sub) == 0,
	    "rename: %s", strerror(errno));
	cr_assert(symlink(sub, link) == 0);
	path = hs_file(d, "link.ini", conf, strlen(conf));
	snprintf(want, sizeof(want), "m.so: its directory %s is writable by "
	    "group or others (mode 0777", ww);
	mod_check_fails(path, 2, want, NULL);

	/* Below it: ww/deeper/m.so, deeper itself fine. */
	snprintf(sub, sizeof(sub), "%s/deeper", ww);
	cr_assert(mkdir(sub, 0755) == 0 && unlink(link) == 0);
	snprintf(link, sizeof(link), "%s/deeper/m.so", ww);
	snprintf(want, sizeof(want), "%s/in-ww.so", ww);
	cr_assert(rename(want, link) == 0);
	snprintf(want, sizeof(want), "[daemon]\nmodules = %s\n\n[l]\n"
	    "service = linereply\nlisten = tcp://127.0.0.1:0\n", link);
	path = hs_file(d, "deep.ini", want, strlen(want));
	snprintf(want, sizeof(want), "its directory %s is writable by group "
	    "or others (mode 0777", ww);
	mod_check_fails(path, 2, want, NULL);

	/* Sticky, as /tmp: nobody else can replace what is in it. */
	cr_assert(chmod(ww, 01777) == 0);
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-t", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 0, "a module below a sticky directory: "
	    "exit %d, stderr %s", r.exit_code, r.err);
	hs_result_free(&r);
}

Test(modules, strict_modes, .timeout = 120)
{
	struct hs_daemon	*d = hs_new(), *d2;
	struct hs_result	 r;
	const char		*so, *path;
	char			 conf[1024], sub[512];

	so = mod_copy(d, "linereply", "linereply.so");
	snprintf(conf, sizeof(conf), "[daemon]\nmodules = linereply.so\n\n"
	    "[l]\nservice = linereply\nlisten = tcp://127.0.0.1:0\n");
	path = hs_file(d, "test.ini", conf, strlen(conf));
	cr_assert(chmod(so, 0664) == 0);
	mod_check_fails(path, 2, "linereply.so: its file is writable by "
	    "group or others (mode 0664", "modules_strict = no");
	cr_assert(chmod(so, 0644) == 0 && chmod(d->dir, 0775) == 0);
	mod_check_fails(path, 2, "its directory is writable by group or "
	    "others (mode 0775", NULL);
	cr_assert(chmod(d->dir, 0755) == 0);
	mod_strict_paths(d);
	if (geteuid() == 0) {
		cr_assert(chown(so, 65534, 65534) == 0);
		mod_check_fails(path, 2, "its file is not owned by root or the "
		    "daemon's user", NULL);
		/* Not even by the user a root daemon drops to. */
		snprintf(conf, sizeof(conf), "[daemon]\nmodules = linereply.so\n"
		    "user = nobody\n\n[l]\nservice = linereply\n"
		    "listen = tcp://127.0.0.1:0\n");
		mod_check_fails(hs_file(d, "user.ini", conf, strlen(conf)), 2,
		    "its file is not owned by root or the daemon's user", NULL);
		cr_assert(chown(so, 0, 0) == 0);
	}

	/* The development override. */
	d2 = hs_new();
	so = mod_copy(d2, "linereply", "linereply.so");
	cr_assert(chmod(so, 0666) == 0);
	snprintf(sub, sizeof(sub), "linereply.so: its file is writable by "
	    "group or others (allowed: modules_strict = no)");
	snprintf(conf, sizeof(conf), "[daemon]\nmodules = linereply.so\n"
	    "modules_strict = no\n\n[l]\nservice = linereply\n"
	    "listen = tcp://127.0.0.1:0\n");
	path = hs_file(d2, "test.ini", conf, strlen(conf));
	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-t", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 0 && strstr(r.err, sub) != NULL,
	    "modules_strict = no: exit %d, stderr %s", r.exit_code, r.err);
	hs_result_free(&r);
}

/*
 * Reload is all-or-nothing with the rest of the config: adding a module
 * works; a bad one (another ABI) fails the reload and the running config
 * keeps serving; a file replaced in place while its code still runs is
 * refused.
 */
Test(modules, reload, .timeout = 120)
{
	struct hs_daemon	*d = hs_new();
	struct stat		 st;
	struct timespec		 ts[2];
	char			 conf[1024];
	int			 fd;
	static const char	 plain[] = "[echo]\nservice = echo\n"
				    "listen = tcp://127.0.0.1:0\n";

	mod_copy(d, "linereply", "linereply.so");
	mod_copy(d, "bad-old-abi", "old.so");
	hs_start(d, plain);
	cr_assert(mod_mapped(d->pid, "linereply.so") == 0);

	hs_reload(d, CONF_LINES("modules = linereply.so\n"));
	cr_assert(!hs_log_has(d, "reload failed"), "reload failed");
	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET);
	mod_line(fd, "after reload\n", "you said:after reload\n");
	hs_close(fd);

	snprintf(conf, sizeof(conf), "%s", CONF_LINES("modules = "
	    "linereply.so old.so\n"));
	hs_reload(d, conf);
	cr_assert(hs_log_has(d, "built for module ABI 0") &&
	    hs_log_has(d, "reload failed"), "bad reload not reported");
	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET);
	mod_line(fd, "kept\n", "you said:kept\n");
	hs_close(fd);

	/* Rewritten in place (cp over it: the same inode, a new mtime). */
	cr_assert(stat(d->files[0], &st) == 0);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	ts[1].tv_sec += 10;
	cr_assert(utimensat(AT_FDCWD, d->files[0], ts, 0) == 0);
	hs_reload(d, CONF_LINES("modules = linereply.so\n"));
	cr_assert(hs_log_has(d, "the file was replaced while an older "
	    "generation still runs its code"), "rewritten file not refused");
	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET);
	mod_line(fd, "same\n", "you said:same\n");
	hs_close(fd);

	/* Replaced in place (a new inode at the same path). */
	cr_assert(unlink(d->files[0]) == 0);
	mod_copy(d, "linereply", "linereply.so");
	hs_reload(d, CONF_LINES("modules = linereply.so\n"));
	cr_assert(hs_log_has(d, "the file was replaced while an older "
	    "generation still runs its code"), "replaced file not refused");
	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET);
	mod_line(fd, "still\n", "you said:still\n");
	hs_close(fd);
	hs_stop_ok(d);
}

/*
 * Refcount until swept: a reload that drops the module keeps it mapped
 * while a connection of its instance lives (which goes on being served by
 * it); once that connection is gone the module is unloaded.
 */
Test(modules, unload_after_last_connection, .timeout = 120)
{
	struct hs_daemon	*d = hs_new();
	const char		*so;
	int			 fd, fd2;

	so = mod_copy(d, "linereply", "linereply.so");
	hs_start(d, CONF_LINES("modules = linereply.so\n"));
	cr_assert(mod_mapped(d->pid, so) == 1, "%s not mapped", so);
	fd = hs_connect(d, "lines", SOCK_STREAM, AF_INET);
	mod_line(fd, "one\n", "you said:one\n");

	hs_reload(d, "[echo]\nservice = echo\nlisten = tcp://127.0.0.1:0\n");
	cr_assert(!hs_log_has(d, "reload failed"), "reload failed");
	fd2 = hs_connect(d, "echo", SOCK_STREAM, AF_INET);
	mod_line(fd2, "new gen\n", "new gen\n");
	hs_close(fd2);
	usleep(200000);
	cr_assert(mod_mapped(d->pid, so) == 1, "unloaded under a connection");
	mod_line(fd, "two\n", "you said:two\n");

	hs_close(fd);
	cr_assert(mod_wait_mapped(d->pid, so, 0, hs_ms(10000)) == 0,
	    "%s still mapped after its last connection", so);
	hs_stop_ok(d);
}

/*
 * A module's state outlives the callback that closes its connection:
 * "quit" (conn_close) and an echo past max_bytes (conn_write fails) both
 * close inside tcp_read, which then still updates its state; tcp_close
 * aborts the daemon if it runs before that callback returned.  The
 * module's repeatable key gives the greeting, one line per key.
 */
Test(modules, state_outlives_closing_callback, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[256];
	ssize_t			 n;
	int			 fd, i;

	mod_copy(d, "stateful", "stateful.so");
	hs_start(d, "[daemon]\nmodules = stateful.so\n\n"
	    "[st]\nservice = stateful\nlisten = tcp://127.0.0.1:0 "
	    "udp://127.0.0.1:0\nline = hello\nline = world\n\n"
	    "[stmax]\nservice = stateful\nlisten = tcp://127.0.0.1:0\n"
	    "max_bytes = 16\n");
	for (i = 0; i < 3; i++) {
		fd = hs_connect(d, "st", SOCK_STREAM, AF_INET);
		n = hs_recv_n(fd, buf, 12, hs_ms(MOD_TMO));
		cr_assert(n == 12 && memcmp(buf, "hello\nworld\n", 12) == 0,
		    "greeting %s", n > 0 ? hs_show(buf, (size_t)n) : "none");
		mod_line(fd, "ping\n", "ping\n");
		cr_assert(hs_send_all(fd, "quit\n", 5, hs_ms(MOD_TMO)) == 0);
		n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(MOD_TMO));
		cr_assert(n == 4 && memcmp(buf, "bye\n", 4) == 0,
		    "after quit: %s", n > 0 ? hs_show(buf, (size_t)n) : "none");
		hs_close(fd);

		fd = hs_connect(d, "stmax", SOCK_STREAM, AF_INET);
		cr_assert(hs_send_all(fd, "a line far longer than 16 bytes\n",
		    32, hs_ms(MOD_TMO)) == 0);
		n = hs_read_eof(fd, buf, sizeof(buf), hs_ms(MOD_TMO));
		cr_assert(n >= 12 && n < 12 + 32, "max_bytes = 16: %zd bytes",
		    n);
		hs_close(fd);
	}
	cr_assert(!hs_log_has(d, "tcp_close inside"), "tcp_close ran early");
	fd = hs_connect(d, "st", SOCK_DGRAM, AF_INET);
	cr_assert(send(fd, "x", 1, 0) == 1);
	cr_assert(hs_udp_silent(fd, hs_ms(300)), "udp_wait without a program "
	    "answered");
	hs_close(fd);
	hs_stop_ok(d);
}

/* A module may take UDP by udp_wait, not by both ways at once. */
Test(modules, udp_wait_checks, .timeout = 60)
{
	struct hs_daemon	*d;
	const char		*path;
	static const char	*const variants[][2] = {
		{ "bad-udp-both", "has both udp_datagram and udp_wait" },
		{ "bad-wait-noudp", "has a UDP callback but does not declare "
		    "SERVICE_UDP" },
	};
	static const char	 conf[] = "[daemon]\nmodules = m.so\n\n"
	    "[e]\nservice = echo\nlisten = tcp://127.0.0.1:0\n";
	size_t			 i;

	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		d = hs_new();
		mod_copy(d, variants[i][0], "m.so");
		path = hs_file(d, "test.ini", conf, strlen(conf));
		mod_check_fails(path, 2, variants[i][1], NULL);
	}
}

/* An empty reply may be given as (NULL, 0): an empty datagram goes back. */
Test(modules, empty_udp_reply, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	char			 buf[16];
	ssize_t			 n;
	int			 fd;

	mod_copy(d, "other", "other.so");
	hs_start(d, "[daemon]\nmodules = other.so\n\n[o]\nservice = other\n"
	    "listen = udp://127.0.0.1:0\n");
	fd = hs_connect(d, "o", SOCK_DGRAM, AF_INET);
	n = hs_udp_ask(fd, "", 0, buf, sizeof(buf), hs_ms(MOD_TMO));
	cr_assert(n == 0, "an empty datagram: %zd bytes back", n);
	n = hs_udp_ask(fd, "x", 1, buf, sizeof(buf), hs_ms(MOD_TMO));
	cr_assert(n == 1 && buf[0] == 'x', "the daemon stopped answering");
	hs_close(fd);
	hs_stop_ok(d);
}

/*
 * A module that fails to load is the one error: the instances of its
 * services do not add "unknown service" each.
 */
Test(modules, failed_module_one_error, .timeout = 60)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	static const char	 conf[] = "[daemon]\nmodules = missing.so\n\n"
	    "[l]\nservice = linereply\nlisten = tcp://127.0.0.1:0\n\n"
	    "[l2]\nservice = linereply\nlisten = tcp://127.0.0.1:0\n";
	const char		*path = hs_file(d, "t.ini", conf, strlen(conf));

	cr_assert(hs_run(&r, hs_ms(MOD_TMO), "-t", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 1 && strstr(r.err, "missing.so: No such "
	    "file") != NULL && strstr(r.err, "unknown service") == NULL &&
	    strstr(r.err, "1 error,") != NULL, "stderr: %s", r.err);
	hs_result_free(&r);
}
