/*
 * test-examples.c: etc/examples/exec.ini run as shipped (its programs taken
 * from the source tree, its ports made free ones): the request/reply server
 * answers one message per connection, the UDP receiver acknowledges each
 * datagram, and what the programs write to stderr reaches the log.  Skipped
 * while this build has no exec service (it lands in a parallel branch).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define EX_TMO		10000	/* ms for one exchange */
#define EX_INSTALLED	"/usr/share/doc/netsvcd/examples"

static char	*ex_replace(const char *, const char *, const char *);
static char	*ex_config(void);

TestSuite(examples, .fini = hs_teardown);

/* text with every from replaced by to, newly allocated. */
static char *
ex_replace(const char *text, const char *from, const char *to)
{
	const char	*p, *hit;
	char		*out, *o;
	size_t		 n = 0;

	for (p = text; (hit = strstr(p, from)) != NULL; p = hit + strlen(from))
		n++;
	out = malloc(strlen(text) + n * strlen(to) + 1);
	cr_assert(out != NULL);
	for (o = out, p = text; (hit = strstr(p, from)) != NULL;
	    p = hit + strlen(from)) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, to, strlen(to));
		o += strlen(to);
	}
	strcpy(o, p);
	return out;
}

/* exec.ini with the source tree's programs and free ports. */
static char *
ex_config(void)
{
	char	 path[4096], *text, *a, *b, *c;
	FILE	*f;
	long	 len;

	snprintf(path, sizeof(path), "%s/etc/examples/exec.ini", hs_srcdir());
	f = fopen(path, "r");
	cr_assert(f != NULL, "cannot open %s", path);
	cr_assert(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	cr_assert(text != NULL);
	cr_assert(fread(text, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	cr_assert(strstr(text, EX_INSTALLED "/exec/reply.sh") != NULL);
	snprintf(path, sizeof(path), "%s/etc/examples", hs_srcdir());
	a = ex_replace(text, EX_INSTALLED, path);
	b = ex_replace(a, "127.0.0.1:8080", "127.0.0.1:0");
	c = ex_replace(b, "127.0.0.1:7788", "127.0.0.1:0");
	free(text);
	free(a);
	free(b);
	return c;
}

/* The shipped config passes -T once its programs are where it says. */
Test(examples, exec_ini_checks, .timeout = 60)
{
	struct hs_daemon	*d;
	struct hs_result	 r;
	const char		*path;
	char			*conf;

	if (!hs_has_service("exec"))
		cr_skip("this build has no exec service yet");
	conf = ex_config();
	d = hs_new();
	path = hs_file(d, "exec.ini", conf, strlen(conf));
	cr_assert(hs_run(&r, hs_ms(EX_TMO), "-T", "-c", path, NULL) == 0);
	cr_assert(r.exit_code == 0, "netsvcd -T: exit %d; stderr: %s",
	    r.exit_code, r.err);
	cr_expect(strstr(r.out, "[reply]") != NULL &&
	    strstr(r.out, "[udp-receiver]") != NULL, "-T: %s",
	    hs_show(r.out, r.outlen));
	hs_result_free(&r);
	free(conf);
}

/* request/reply: one message in, one answer out, then EOF; twice. */
Test(examples, reply, .timeout = 120)
{
	static const char *const msgs[] = { "hello\n", "ping" };
	struct hs_daemon	*d;
	struct hs_xfer		 x;
	char			*conf, in[256], want[64];
	size_t			 i;
	int			 fd;

	if (!hs_has_service("exec"))
		cr_skip("this build has no exec service yet");
	conf = ex_config();
	d = hs_spawn(conf);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		fd = hs_connect(d, "reply", SOCK_STREAM, AF_INET);
		memset(&x, 0, sizeof(x));
		x.out = msgs[i];
		x.outlen = strlen(msgs[i]);
		x.shut_wr = 0;		/* the tutorial's client: send, recv */
		x.in = in;
		x.incap = sizeof(in) - 1;
		x.until_eof = 1;
		cr_assert(hs_xfer(fd, &x, hs_ms(EX_TMO)) == 0,
		    "reply: no answer and EOF for '%s'", msgs[i]);
		in[x.inlen] = '\0';
		snprintf(want, sizeof(want), "received: %.*s\n",
		    (int)strcspn(msgs[i], "\n"), msgs[i]);
		cr_expect(strcmp(in, want) == 0, "reply: got '%s', want '%s'",
		    hs_show(in, x.inlen), want);
		hs_close(fd);
	}
	cr_expect(hs_log_wait(d, "reply.sh: 5 bytes from 127.0.0.1 port ",
	    hs_ms(EX_TMO)), "the program's stderr is not in the log");
	hs_stop_ok(d);
	free(conf);
}

/* UDP receiver: each datagram acknowledged, by one program or the next. */
Test(examples, udp_receiver, .timeout = 120)
{
	static const char *const msgs[] = { "hello", "second datagram" };
	struct hs_daemon	*d;
	char			*conf, in[256], want[64];
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	if (!hs_has_service("exec"))
		cr_skip("this build has no exec service yet");
	conf = ex_config();
	d = hs_spawn(conf);
	fd = hs_connect(d, "udp-receiver", SOCK_DGRAM, AF_INET);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		n = hs_udp_ask(fd, msgs[i], strlen(msgs[i]), in,
		    sizeof(in) - 1, hs_ms(EX_TMO));
		cr_assert(n > 0, "udp-receiver: no answer to '%s'", msgs[i]);
		in[n] = '\0';
		snprintf(want, sizeof(want), "received %zu bytes\n",
		    strlen(msgs[i]));
		cr_expect(strcmp(in, want) == 0, "udp-receiver: got '%s', "
		    "want '%s'", hs_show(in, (size_t)n), want);
	}
	hs_close(fd);
	cr_expect(hs_log_wait(d, "udp-receiver.py: 5 bytes from 127.0.0.1 "
	    "port ", hs_ms(EX_TMO)), "the program's stderr is not in the log");
	hs_stop_ok(d);
	free(conf);
}
