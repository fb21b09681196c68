#!/bin/sh
# cppcheck.sh: run cppcheck over daemon/ and services/ (ctest entry
# static-cppcheck).  Usage: tests/static/cppcheck.sh [SRCDIR]
# Fails on any finding that tests/static/cppcheck.supp does not list; exits
# 77 (ctest: skipped) when cppcheck is not installed (scripts/deps.sh
# installs it).
#
# Checks: warning (real bugs: null pointers, leaks, bounds, uninitialised
# data), performance and portability, with the posix library so that
# descriptors, sockets and the non-reentrant libc calls are understood.
# Not "style": the house style declares variables at the top of a function,
# which cppcheck's variableScope would flag everywhere.
#
# cppcheck does not read system headers, so it never sees the macros of
# <sys/queue.h> and would take LIST_HEAD(, conn) for a syntax error: that
# one header is included by force.
set -u

src=${1:-$(dirname "$0")/../..}
cd "$src" || exit 1

CPPCHECK=${CPPCHECK:-cppcheck}
if ! command -v "$CPPCHECK" >/dev/null 2>&1; then
	echo "static-cppcheck: $CPPCHECK not found, skipped"
	exit 77
fi

queue=""
for p in /usr/include/sys/queue.h \
    "/usr/include/$(cc -print-multiarch 2>/dev/null)/sys/queue.h"; do
	if [ -f "$p" ]; then
		queue=$p
		break
	fi
done
if [ -z "$queue" ]; then
	echo "static-cppcheck: <sys/queue.h> not found" >&2
	exit 1
fi

echo "static-cppcheck: $("$CPPCHECK" --version) over daemon/ services/"
"$CPPCHECK" --quiet --error-exitcode=1 --inline-suppr \
    --enable=warning,performance,portability --library=posix \
    --std=c11 -D_GNU_SOURCE -I daemon -I services --include="$queue" \
    --suppress=missingIncludeSystem \
    --suppressions-list=tests/static/cppcheck.supp \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    -j "$(nproc 2>/dev/null || echo 2)" daemon services 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	echo "static-cppcheck: clean"
else
	echo "static-cppcheck: findings above (a false positive goes into" \
	    "tests/static/cppcheck.supp with its reason)"
fi
exit $rc
