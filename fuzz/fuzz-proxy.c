/*
 * fuzz-proxy.c: libFuzzer target for the PROXY protocol parser (proxy.c).
 * The first byte picks the accepted versions; the rest is what a balancer
 * (or anyone) sends.  Besides crashes and reads past the end, it checks
 * what the reader in conn.c relies on: a header never claims more bytes
 * than it was given nor more than PROXY_MAX; every proper prefix of a
 * header is "more"; once bytes are refused, longer inputs are refused too;
 * a header with addresses carries an AF_INET or AF_INET6 client.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "fuzz.h"

static void	check_prefixes(const uint8_t *, size_t, int,
		    const struct proxy_header *);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Prefixes shorter than the header ask for more; none is refused. */
static void
check_prefixes(const uint8_t *buf, size_t len, int accept,
    const struct proxy_header *h)
{
	struct proxy_header	p;
	enum proxy_error	err;
	size_t			i;

	for (i = 0; i < h->len && i < len; i++)
		FUZZ_CHECK(proxy_parse(buf, i, accept, &p, &err) == PROXY_MORE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header	 h, h2;
	enum proxy_error	 err, err2;
	enum proxy_status	 st;
	uint8_t			*buf;
	int			 accept;
	size_t			 len;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	accept = data[0] % 3 + 1;	/* v1, v2 or both */
	len = size - 1;
	/* An exact-size copy, so a read past the end is seen. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, data + 1, len);
	st = proxy_parse(buf, len, accept, &h, &err);
	switch (st) {
	case PROXY_DONE:
		FUZZ_CHECK(h.len > 0 && h.len <= len && h.len <= PROXY_MAX);
		FUZZ_CHECK(h.local || h.src.ss_family == AF_INET ||
		    h.src.ss_family == AF_INET6);
		FUZZ_CHECK(err == PROXY_E_NONE);
		check_prefixes(buf, len, accept, &h);
		/* What follows the header does not change it. */
		FUZZ_CHECK(proxy_parse(buf, h.len, accept, &h2, &err2) ==
		    PROXY_DONE && h2.len == h.len && h2.local == h.local &&
		    memcmp(&h2.src, &h.src, sizeof(h.src)) == 0);
		break;
	case PROXY_MORE:
		FUZZ_CHECK(len < PROXY_MAX);
		FUZZ_CHECK(err == PROXY_E_NONE);
		break;
	case PROXY_BAD:
		FUZZ_CHECK(err > PROXY_E_NONE && err < PROXY_E_TIMEOUT);
		/* Refused bytes stay refused when more follow. */
		if (len > 0) {
			FUZZ_CHECK(proxy_parse(buf, len - 1, accept, &h2,
			    &err2) != PROXY_DONE);
		}
		break;
	default:
		FUZZ_CHECK(0);
	}
	free(buf);
	return 0;
}
