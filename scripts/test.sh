#!/bin/sh
# test.sh: install what is missing, then build and run the whole ctest suite
# twice: build/ with gcc, and build-asan/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer.  Extra arguments go to both ctest runs, e.g.
# scripts/test.sh -R unit-test-config.  Exits non-zero when anything fails.
set -eu
cd "$(dirname "$0")/.."

scripts/deps.sh

jobs=$(nproc)

# build_and_test DIR CC CMAKE_ARG [CTEST_ARGS...]: configure, build and test
# one tree.  CC only matters the first time a tree is configured; CMAKE_ARG
# may be empty.
build_and_test()
{
	dir=$1
	cc=$2
	extra=$3
	shift 3
	echo "==== $dir ($cc) ====" >&2
	CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    ${extra:+"$extra"} &&
	    cmake --build "$dir" -j "$jobs" &&
	    (cd "$dir" && ctest --output-on-failure "$@")
}

plain=FAIL
asan=FAIL

if build_and_test build gcc "" "$@"; then
	plain=ok
fi

if (
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	build_and_test build-asan clang -DNETSVCD_SANITIZE=address,undefined "$@"
); then
	asan=ok
fi

echo "test.sh: gcc build: $plain; clang ASan+UBSan build: $asan"
[ "$plain" = ok ] && [ "$asan" = ok ]
