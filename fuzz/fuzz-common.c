/*
 * fuzz-common.c: the parts of fuzz.h that are not inline.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

/* Name the broken invariant, then abort: libFuzzer keeps the input. */
void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}
