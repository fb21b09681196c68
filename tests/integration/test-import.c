/*
 * test-import.c: netsvcd --import-inetd run as a command: its output for
 * the stock inetd.conf fixtures, the FILE:LINE report of what it left
 * out, its exit codes, and its output accepted by netsvcd -t (built-ins
 * always; exec instances once this build has the exec service).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define IMP_TMO		10000	/* ms for one command */

static void	 imp_check_t(const char *, size_t);

TestSuite(import, .fini = hs_teardown);

/* netsvcd --import-inetd on inetd.conf text; the result. */
static void
imp_run(struct hs_result *r, const char *text)
{
	struct hs_daemon	*d = hs_new();
	const char		*path;

	path = hs_file(d, "inetd.conf", text, strlen(text));
	cr_assert(hs_run(r, hs_ms(IMP_TMO), "--import-inetd", path, NULL) == 0,
	    "netsvcd --import-inetd did not finish");
}

/* netsvcd -T must accept out, with exactly n instances listed. */
static void
imp_check_t(const char *out, size_t n)
{
	struct hs_daemon	*d = hs_new();
	struct hs_result	 r;
	const char		*path, *p;
	size_t			 got = 0;

	path = hs_file(d, "converted.ini", out, strlen(out));
	cr_assert(hs_run(&r, hs_ms(IMP_TMO), "-T", "-c", path, NULL) == 0,
	    "netsvcd -T did not finish");
	cr_assert(r.exit_code == 0, "netsvcd -T: exit %d; stderr: %s\n"
	    "config:\n%s", r.exit_code, r.err, out);
	cr_assert(strncmp(r.out, "[daemon]\n", 9) == 0, "netsvcd -T: %s",
	    hs_show(r.out, r.outlen));
	for (p = r.out; (p = strstr(p, "\n[")) != NULL; p++)
		got += strncmp(p, "\n[daemon]", 9) != 0;
	cr_expect(got == n, "netsvcd -T listed %zu instances, want %zu:\n%s",
	    got, n, r.out);
	hs_result_free(&r);
}

/* The stock openbsd-inetd lines: sections on stdout, skips on stderr. */
Test(import, stock_openbsd_inetd, .timeout = 30)
{
	struct hs_result	 r;
	char			 path[4096];

	snprintf(path, sizeof(path), "%s/tests/unit/data/inetd/"
	    "openbsd-inetd.conf", hs_srcdir());
	cr_assert(hs_run(&r, hs_ms(IMP_TMO), "--import-inetd", path,
	    NULL) == 0, "netsvcd --import-inetd did not finish");
	cr_assert(r.exit_code == 0, "exit %d; stderr: %s", r.exit_code,
	    r.err);
	cr_expect(strstr(r.out, "[echo]\nservice = echo\n"
	    "listen = tcp://0.0.0.0:7 tcp://[::]:7\n") != NULL,
	    "no [echo] in: %s", r.out);
	cr_expect(strstr(r.out, "; not converted: RPC services are not "
	    "supported: rusers/1-3 ") != NULL, "no RPC comment in: %s", r.out);
	cr_expect(strstr(r.err, "openbsd-inetd.conf:35: not converted: RPC "
	    "services are not supported\n") != NULL, "stderr: %s", r.err);
	cr_expect(strstr(r.err, "15 sections written, 3 lines not "
	    "converted") != NULL, "stderr: %s", r.err);
	hs_result_free(&r);
}

/* Exit 1 for a file that cannot be read, 2 for a missing argument. */
Test(import, errors, .timeout = 30)
{
	struct hs_result	 r;

	cr_assert(hs_run(&r, hs_ms(IMP_TMO), "--import-inetd",
	    "/nonexistent/inetd.conf", NULL) == 0);
	cr_expect(r.exit_code == 1, "exit %d", r.exit_code);
	cr_expect(strstr(r.err, "/nonexistent/inetd.conf: No such file") !=
	    NULL, "stderr: %s", r.err);
	cr_expect(r.outlen == 0, "stdout: %s", r.out);
	hs_result_free(&r);

	cr_assert(hs_run(&r, hs_ms(IMP_TMO), "--import-inetd", NULL) == 0);
	cr_expect(r.exit_code == 2, "exit %d", r.exit_code);
	hs_result_free(&r);

	cr_assert(hs_run(&r, hs_ms(IMP_TMO), "--import-inetd",
	    "/dev/null", "-Z", NULL) == 0);
	cr_expect(r.exit_code == 2, "exit %d", r.exit_code);
	hs_result_free(&r);
}

/* The built-in lines of both stock files convert to a config -t accepts. */
Test(import, builtins_pass_check, .timeout = 60)
{
	static const char	 text[] =
	    "# openbsd-inetd, on 127.0.0.1\n"
	    "127.0.0.1:\n"
	    "echo\t\tstream\ttcp\tnowait\troot\tinternal\n"
	    "discard\t\tstream\ttcp\tnowait\troot\tinternal\n"
	    "discard\t\tdgram\tudp\twait\troot\tinternal\n"
	    "daytime\t\tstream\ttcp\tnowait\troot\tinternal\n"
	    "time\t\tstream\ttcp\tnowait\troot\tinternal\n"
	    "chargen\t\tstream\ttcp\tnowait.600\troot\tinternal\n"
	    "# inetutils-inetd, on ::1\n"
	    "::1:\n"
	    "discard\t\tstream\ttcp6\tnowait\troot\tinternal\n"
	    "discard\t\tdgram\tudp6\twait\troot\tinternal\n"
	    "daytime\t\tstream\ttcp6\tnowait\troot\tinternal\n"
	    "time\t\tstream\ttcp6\tnowait\troot\tinternal\n"
	    "time\t\tstream\ttcp4\tnowait\troot\tinternal\n"
	    "rusers/1-3\tdgram\trpc/udp\twait\troot\t/x\trpc.rusersd\n";
	struct hs_result	 r;

	imp_run(&r, text);
	cr_assert(r.exit_code == 0, "exit %d; stderr: %s", r.exit_code,
	    r.err);
	cr_expect(strstr(r.err, "inetd.conf:15: not converted: address "
	    "'::1' does not fit the protocol's address family\n") != NULL,
	    "stderr: %s", r.err);
	cr_expect(strstr(r.err, "inetd.conf:16: not converted: RPC") != NULL,
	    "stderr: %s", r.err);
	cr_expect(strstr(r.out, "[echo]\nservice = echo\n"
	    "listen = tcp://127.0.0.1:7\n") != NULL, "stdout: %s", r.out);
	imp_check_t(r.out, 10);
	hs_result_free(&r);
}

/* Programs (exec) convert to a config -t accepts, once exec exists. */
Test(import, exec_pass_check, .timeout = 60)
{
	static const char	 text[] =
	    "127.0.0.1:\n"
	    "8080\tstream\ttcp\tnowait.600\troot\t/bin/cat\tcat\n"
	    "8081\tdgram\tudp\twait\troot\t/bin/cat\tcat -u\n"
	    "8082\tstream\ttcp\tnowait\troot\t/bin/sh\tsh -c "
	    "'echo\t$TCPREMOTEIP'\n"
	    "*:\n"
	    "8083\tstream\ttcp4\tnowait\troot\t/usr/sbin/tcpd\t/bin/cat\n";
	struct hs_result	 r;

	if (!hs_has_service("exec"))
		cr_skip("this build has no exec service yet");
	imp_run(&r, text);
	cr_assert(r.exit_code == 0, "exit %d; stderr: %s", r.exit_code,
	    r.err);
	cr_expect(strstr(r.out, "command = /bin/sh -c \"'echo\" "
	    "\"$TCPREMOTEIP'\"\n") != NULL, "stdout: %s", r.out);
	imp_check_t(r.out, 4);
	hs_result_free(&r);
}
