/*
 * fuzz-handover.c: libFuzzer target for the reader of the handover state
 * (daemon/handover.c), the bytes a new process finds in the memfd its
 * predecessor left it.  The first byte says whether to fix up the length
 * and checksum fields of the header before parsing, so that the fuzzer
 * reaches the records rather than stopping at the checksum.  Besides
 * crashes and reads past the end, it checks that a state the reader
 * accepts stays within every bound and writes out to the very same bytes
 * (the format has one spelling of each state), and that every proper
 * prefix of an accepted state is refused.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netsvcd.h"
#include "fuzz.h"

#define HEADER	60

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERR);
	return 0;
}

/* Write the real length and checksum into the header, as a writer would. */
static void
fix_header(uint8_t *buf, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	if (len < HEADER)
		return;
	for (i = HEADER; i < len; i++)
		h = (h ^ buf[i]) * 1099511628211ULL;
	for (i = 0; i < 8; i++) {
		buf[16 + i] = (uint8_t)((uint64_t)len >> (8 * i));
		buf[24 + i] = (uint8_t)(h >> (8 * i));
	}
}

/* The bounds the daemon relies on when it adopts the records. */
static void
check_bounds(const struct handover_state *st)
{
	size_t	i;

	FUZZ_CHECK(st->ninstances <= HANDOVER_MAX_INSTANCES);
	FUZZ_CHECK(st->nlisteners <= HANDOVER_MAX_LISTENERS);
	FUZZ_CHECK(st->nconns <= HANDOVER_MAX_CONNS);
	for (i = 0; i < st->ninstances; i++) {
		FUZZ_CHECK(st->instances[i].ncounters <=
		    HANDOVER_MAX_COUNTERS);
		FUZZ_CHECK(strlen(st->instances[i].name) > 0);
	}
	for (i = 0; i < st->nlisteners; i++) {
		FUZZ_CHECK(st->listeners[i].fd > 2);
		FUZZ_CHECK(st->listeners[i].proto == SERVICE_TCP ||
		    st->listeners[i].proto == SERVICE_UDP);
		FUZZ_CHECK(st->listeners[i].bound.ss_family == AF_INET ||
		    st->listeners[i].bound.ss_family == AF_INET6);
	}
	for (i = 0; i < st->nconns; i++) {
		FUZZ_CHECK(st->conns[i].fd > 2);
		FUZZ_CHECK(st->conns[i].npending <= HANDOVER_MAX_PENDING);
		FUZZ_CHECK(st->conns[i].nstate <= SERVICE_STATE_MAX);
		FUZZ_CHECK(st->conns[i].idle_ms <= st->conns[i].age_ms);
		FUZZ_CHECK(st->conns[i].local.ss_family ==
		    st->conns[i].peer.ss_family);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handover_state	*st, *st2;
	unsigned char		*out;
	uint8_t			*buf;
	size_t			 len, outlen, cut;
	char			*cause = NULL;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	len = size - 1;
	buf = fuzz_dup(data + 1, len);
	if (data[0] & 1)
		fix_header(buf, len);
	st = handover_parse(buf, len, &cause);
	FUZZ_CHECK((st == NULL) == (cause != NULL));
	free(cause);
	cause = NULL;
	if (st != NULL) {
		check_bounds(st);
		FUZZ_CHECK(handover_encode(st, &out, &outlen, &cause) == 0);
		FUZZ_CHECK(outlen == len && memcmp(out, buf, len) == 0);
		free(out);
		/* A few proper prefixes, each with a fixed header. */
		for (cut = HEADER; cut < len; cut += 1 + len / 8) {
			fix_header(buf, cut);
			st2 = handover_parse(buf, cut, &cause);
			FUZZ_CHECK(st2 == NULL);
			free(cause);
			cause = NULL;
		}
	}
	handover_state_free(st);
	free(buf);
	return 0;
}
