#!/bin/sh
# run.sh: run the libFuzzer targets for longer than the ctest entries do.
#
#   fuzz/run.sh [SECONDS [TARGET...]]
#
# SECONDS per target (default 600); TARGETs among config, parsers, proxy,
# services, sources and handover (default: all six, one after the other).  Builds
# build-fuzz/ as scripts/test.sh does (clang, ASan+UBSan, NETSVCD_FUZZ), then
# fuzzes from build-fuzz/fuzz-corpus/TARGET, which keeps what every run
# found and gets the seeds (fuzz/corpus/, etc/, the unit tests' configs)
# added each time.  Crash, leak, timeout and out-of-memory inputs land in
# build-fuzz/fuzz-artifacts/; replay one with
#
#   build-fuzz/fuzz/fuzz-TARGET build-fuzz/fuzz-artifacts/FILE
#
# (fuzz-config from tests/unit/data/config, where its seeds' relative file
# names resolve).  JOBS=N runs N fuzzing processes per target (libFuzzer's
# -fork mode).  Exits 1 when any target found something.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)

secs=${1:-600}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- config parsers services sources proxy handover
jobs=${JOBS:-1}

CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNETSVCD_FUZZ=ON -DNETSVCD_SANITIZE=address,undefined \
    -DNETSVCD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)"

corpus=$src/build-fuzz/fuzz-corpus
artifacts=$src/build-fuzz/fuzz-artifacts
mkdir -p "$artifacts"
sh fuzz/seed-corpus.sh "$src" "$corpus" "$@"

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

failed=""
for t in "$@"; do
	bin=$src/build-fuzz/fuzz/fuzz-$t
	if [ ! -x "$bin" ]; then
		echo "run.sh: no target fuzz-$t" >&2
		exit 2
	fi
	dict=""
	case $t in
	config)		dict=-dict=$src/build-fuzz/fuzz/config.dict ;;
	parsers)	dict=-dict=$src/fuzz/parsers.dict ;;
	esac
	fork=""
	[ "$jobs" -gt 1 ] && fork=-fork=$jobs
	dir=$src
	[ "$t" = config ] && dir=$src/tests/unit/data/config
	echo "==== fuzz-$t: $secs s, corpus $corpus/$t ====" >&2
	# shellcheck disable=SC2086 # $dict and $fork are one word or none
	if ! (cd "$dir" && "$bin" -max_total_time="$secs" -rss_limit_mb=2048 \
	    -timeout=20 -print_final_stats=1 $dict $fork \
	    -artifact_prefix="$artifacts/$t-" "$corpus/$t"); then
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "run.sh: found something in:$failed; inputs in $artifacts:" >&2
	ls -l "$artifacts" >&2
	exit 1
fi
echo "run.sh: nothing found in $secs s per target ($*)"
