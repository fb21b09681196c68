/*
 * harness-http.c: the daemon's metrics endpoint as the tests see it: its
 * port from the log, one HTTP exchange on a new connection read until the
 * server closes, and the value of one series in the Prometheus text.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness-int.h"

#define HS_HTTP_MAX	(1024 * 1024)	/* bytes of one HTTP response */
#define HS_HTTP_TMO	15000		/* ms for one exchange */

static int	 hs_label_match(const char *, size_t, const char *, size_t);

/* ---- The metrics endpoint ---- */

/*
 * The port of the last "metrics listening on
 * http://127.0.0.1:PORT/metrics" line: a reload does not move it.
 */
int
hs_metrics_port(struct hs_daemon *d)
{
	static const char	 key[] =
	    "metrics listening on http://127.0.0.1:";
	char			*log = hs_log(d), *at, *next, *end;
	long			 port;

	for (at = strstr(log, key), next = at; next != NULL;
	    next = strstr(at + 1, key))
		at = next;
	cr_assert(at != NULL, "no \"%s...\" line in the log (%s)", key,
	    d->log_path);
	port = strtol(at + strlen(key), &end, 10);
	cr_assert(port > 0 && port < 65536 &&
	    strncmp(end, "/metrics", 8) == 0 && (end[8] == '\n' ||
	    end[8] == '\0'), "bad metrics line: %.80s", at);
	free(log);
	return (int)port;
}

/* The endpoint of 127.0.0.1:port, for hs_connect_ep(). */
void
hs_loopback_ep(int port, struct hs_endpoint *ep)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ep->addr;

	memset(ep, 0, sizeof(*ep));
	ep->type = SOCK_STREAM;
	ep->family = AF_INET;
	ep->port = port;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep->addrlen = sizeof(*sin);
	snprintf(ep->url, sizeof(ep->url), "tcp://127.0.0.1:%d", port);
}

/*
 * Send a request to 127.0.0.1:port and read the response until EOF.
 * Returns 0, or -1 with errno when the exchange broke off (the response,
 * if any, is then not parsed).
 */
int
hs_http_try(int port, const char *req, struct hs_http *h)
{
	struct hs_endpoint	 ep;
	char			*sep;
	ssize_t			 n;
	int			 fd, saved;

	memset(h, 0, sizeof(*h));
	hs_loopback_ep(port, &ep);
	fd = hs_connect_ep(&ep, hs_ms(HS_HTTP_TMO));
	cr_assert(fd != -1, "connect to the metrics port %d: %s", port,
	    strerror(errno));
	h->raw = malloc(HS_HTTP_MAX + 1);
	cr_assert(h->raw != NULL, "out of memory");
	if (hs_send_all(fd, req, strlen(req), hs_ms(HS_HTTP_TMO)) == -1 ||
	    (n = hs_read_eof(fd, h->raw, HS_HTTP_MAX,
	    hs_ms(HS_HTTP_TMO))) < 0) {
		saved = errno;
		hs_close(fd);
		errno = saved;
		return -1;
	}
	hs_close(fd);
	h->raw[n] = '\0';
	h->rawlen = (size_t)n;
	cr_assert(sscanf(h->raw, "HTTP/%1d.%1d %3d ", &h->major, &h->minor,
	    &h->status) == 3, "not an HTTP status line: %s",
	    hs_show(h->raw, h->rawlen));
	sep = strstr(h->raw, "\r\n\r\n");
	cr_assert(sep != NULL, "no end of the headers: %s",
	    hs_show(h->raw, h->rawlen));
	h->body = sep + 4;
	h->bodylen = h->rawlen - (size_t)(h->body - h->raw);
	return 0;
}

/* hs_http_try(), failing the test unless a whole response came back. */
void
hs_http(int port, const char *req, struct hs_http *h)
{
	cr_assert(hs_http_try(port, req, h) == 0, "%s: no complete HTTP "
	    "response (the server must close after Connection: close): %s",
	    hs_show(req, strcspn(req, "\r")), strerror(errno));
}

/*
 * GET path from 127.0.0.1:port; the status.  With body, the body is copied
 * there, NUL-terminated and cut at len - 1 bytes.
 */
int
hs_http_get(int port, const char *path, char *body, size_t len)
{
	struct hs_http	 h;
	char		 req[512];
	int		 status;

	cr_assert((size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n", path) <
	    sizeof(req), "path too long: %s", path);
	hs_http(port, req, &h);
	if (body != NULL && len > 0)
		snprintf(body, len, "%s", h.body);
	status = h.status;
	hs_http_free(&h);
	return status;
}

/* A response header's value (first of that name), or NULL. */
const char *
hs_http_header(const struct hs_http *h, const char *name)
{
	static char	 value[256];
	const char	*p = strstr(h->raw, "\r\n"), *end, *v;
	size_t		 n = strlen(name);

	while (p != NULL && p < h->body - 2) {
		p += 2;
		end = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			for (v = p + n + 1; *v == ' '; v++)
				continue;
			snprintf(value, sizeof(value), "%.*s",
			    (int)(end - v), v);
			return value;
		}
		p = end;
	}
	return NULL;
}

/* Free what hs_http_try() read. */
void
hs_http_free(struct hs_http *h)
{
	free(h->raw);
	h->raw = NULL;
}

/*
 * Whether the label set set (len bytes, between the braces) holds every
 * name="value" pair of want (wlen bytes, comma-separated).
 */
static int
hs_label_match(const char *set, size_t len, const char *want, size_t wlen)
{
	const char	*p = want, *wend = want + wlen, *end, *at;
	size_t		 n;
	int		 quoted;

	while (p < wend) {
		for (end = p, quoted = 0; end < wend &&
		    (quoted || *end != ','); end++) {
			if (*end == '\\' && quoted && end + 1 < wend)
				end++;
			else if (*end == '"')
				quoted = !quoted;
		}
		n = (size_t)(end - p);
		for (at = set; at + n <= set + len; at++) {
			if ((at == set || at[-1] == ',') &&
			    strncmp(at, p, n) == 0 &&
			    (at + n == set + len || at[n] == ','))
				break;
		}
		if (at + n > set + len)
			return 0;
		p = end < wend ? end + 1 : end;
	}
	return 1;
}

/*
 * The value of the first sample of series, "name" for a sample without
 * labels or "name{a=\"x\",b=\"y\"}" for one whose labels include those
 * pairs (in any order), or -1 when there is none.
 */
long long
hs_metric(const char *body, const char *series)
{
	const char	*line, *p, *close, *want;
	size_t		 n, wlen = 0;
	unsigned int	 rounds;

	if ((want = strchr(series, '{')) != NULL) {
		n = (size_t)(want - series);
		want++;
		wlen = strlen(want);
		cr_assert(wlen > 0 && want[wlen - 1] == '}',
		    "bad series: %s", series);
		wlen--;
	} else
		n = strlen(series);
	for (line = body, rounds = 0; line != NULL && *line != '\0' &&
	    rounds < 1000000; rounds++) {
		p = line;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
		if (strncmp(p, series, n) != 0)
			continue;
		p += n;
		if (want == NULL) {
			if (*p == ' ')
				return strtoll(p + 1, NULL, 10);
			continue;
		}
		if (*p != '{' || (close = strchr(p, '}')) == NULL ||
		    close[1] != ' ' || !hs_label_match(p + 1,
		    (size_t)(close - p - 1), want, wlen))
			continue;
		return strtoll(close + 2, NULL, 10);
	}
	return -1;
}

/* GET /metrics from 127.0.0.1:port (200 or fail), one series' value. */
long long
hs_scrape(int port, const char *series)
{
	struct hs_http	 h;
	long long	 v;

	hs_http(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n", &h);
	cr_assert(h.status == 200, "GET /metrics: %s",
	    hs_show(h.raw, h.rawlen));
	v = hs_metric(h.body, series);
	hs_http_free(&h);
	return v;
}
