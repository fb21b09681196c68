#!/bin/sh
# test.sh: install what is missing, then build and run the whole ctest suite
# twice: build/ with gcc, and build-asan/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer.  In build/ the static analysis (cppcheck and
# clang-tidy, label static) runs as a step of its own.  Last, build-fuzz/
# builds the libFuzzer targets (clang, ASan+UBSan) and runs each briefly
# from the seed corpus (label fuzz, about 20 s in all; fuzz/run.sh runs
# them longer).  Extra arguments go to every ctest run, e.g.
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
static=FAIL
asan=FAIL
fuzz=FAIL

if build_and_test build gcc "" -LE static "$@"; then
	plain=ok
fi

# Static analysis needs only build/compile_commands.json.  Without ctest
# arguments, finding no static test at all is a failure, not a pass.
echo "==== static analysis (build) ====" >&2
if [ -f build/compile_commands.json ] && (
	cd build
	if [ $# -eq 0 ]; then
		set -- --no-tests=error
	fi
	ctest --output-on-failure -L static "$@"
); then
	static=ok
fi

if (
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	build_and_test build-asan clang -DNETSVCD_SANITIZE=address,undefined "$@"
); then
	asan=ok
fi

# The fuzz tree builds the libraries and the fuzz targets only.
echo "==== build-fuzz (clang) ====" >&2
if CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNETSVCD_FUZZ=ON -DNETSVCD_SANITIZE=address,undefined \
    -DNETSVCD_TESTS=OFF &&
    cmake --build build-fuzz -j "$jobs" &&
    (cd build-fuzz && ctest --output-on-failure -L fuzz "$@"); then
	fuzz=ok
fi

echo "test.sh: gcc build: $plain; static analysis: $static;" \
    "clang ASan+UBSan build: $asan; clang libFuzzer build: $fuzz"
[ "$plain" = ok ] && [ "$static" = ok ] && [ "$asan" = ok ] &&
    [ "$fuzz" = ok ]
