/*
 * fuzz.h: what the libFuzzer targets of fuzz/ share: the two entry points
 * libFuzzer calls, and a tiny reader that cuts the fuzzer's bytes into
 * numbers and chunks.  Past the end every read gives 0 or an empty chunk,
 * so a target never has to check how much is left.
 */
#ifndef NETSVCD_FUZZ_H
#define NETSVCD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Inputs longer than this are skipped: they find nothing shorter ones miss. */
#define FUZZ_MAX_INPUT	(64 * 1024)

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The unread part of an input. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

/* The next byte, or 0 at the end. */
static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

/* The next two bytes, big-endian, or 0 at the end. */
static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t	hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* Take up to want bytes; *len says how many there were. */
static inline const uint8_t *
fuzz_take(struct fuzz_in *in, size_t want, size_t *len)
{
	const uint8_t	*p = in->p;

	*len = want < in->left ? want : in->left;
	in->p += *len;
	in->left -= *len;
	return p;
}

/*
 * A malloc'd copy of buf[0..len) of exactly len bytes (at least 1 is
 * allocated), so that AddressSanitizer sees any read past the end.
 */
static inline void *
fuzz_dup(const void *buf, size_t len)
{
	void	*p;

	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

/* A malloc'd C string of buf[0..len), cut at its first NUL byte. */
static inline char *
fuzz_str(const void *buf, size_t len)
{
	const void	*nul = memchr(buf, '\0', len);
	char		*s;

	if (nul != NULL)
		len = (size_t)((const char *)nul - (const char *)buf);
	if ((s = malloc(len + 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(s, buf, len);
	s[len] = '\0';
	return s;
}

/*
 * Report a broken invariant the sanitizers cannot see, and abort so that
 * libFuzzer saves the input (as a crash-* file).
 */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)

void	fuzz_fail(const char *, int, const char *)
	    __attribute__((noreturn));

#endif
