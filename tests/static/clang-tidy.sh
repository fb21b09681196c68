#!/bin/sh
# clang-tidy.sh: run clang-tidy with the checks of .clang-tidy over the
# daemon/ and services/ sources of a build's compile_commands.json (ctest
# entry static-clang-tidy).  Usage: tests/static/clang-tidy.sh SRCDIR BUILDDIR
#
# Fails on any diagnostic that tests/static/clang-tidy.supp does not list,
# and on a file that does not compile; exits 77 (ctest: skipped) when
# clang-tidy is not installed (scripts/deps.sh installs it).  The sources
# are checked in parallel, one clang-tidy per core.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 SRCDIR BUILDDIR" >&2
	exit 2
fi
src=$(cd "$1" && pwd) || exit 1
build=$(cd "$2" && pwd) || exit 1
supp=$src/tests/static/clang-tidy.supp
db=$build/compile_commands.json

tidy=${CLANG_TIDY:-}
if [ -z "$tidy" ]; then
	for t in clang-tidy-14 clang-tidy; do
		if command -v "$t" >/dev/null 2>&1; then
			tidy=$t
			break
		fi
	done
fi
if [ -z "$tidy" ]; then
	echo "static-clang-tidy: clang-tidy not found, skipped"
	exit 77
fi
if [ ! -f "$db" ]; then
	echo "static-clang-tidy: $db missing (CMAKE_EXPORT_COMPILE_COMMANDS)" >&2
	exit 1
fi

# The sources as the build compiles them; nothing else has flags.
files=$(sed -n 's/^ *"file": *"\(.*\)",\{0,1\} *$/\1/p' "$db" |
    grep -E "^$src/(daemon|services)/[^/]*\.c$" | sort -u)
if [ -z "$files" ]; then
	echo "static-clang-tidy: no daemon/ or services/ sources in $db" >&2
	exit 1
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/clang-tidy.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT INT TERM

echo "static-clang-tidy: $("$tidy" --version | sed -n 's/.*version /clang-tidy /p')" \
    "on $(echo "$files" | wc -l) files"
# One report per file (parallel output would interleave), with its status.
echo "$files" | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} \
    sh -c 'f=$(echo "$1" | tr / _); "$2" -p "$3" --quiet "$1" \
	>"$4/$f.out" 2>"$4/$f.err"; echo $? >"$4/$f.rc"' \
    sh {} "$tidy" "$build" "$out"

# clang-tidy exits 1 for findings; anything else is a crash or worse.
status=0
for rc in "$out"/*.rc; do
	r=$(cat "$rc")
	if [ "$r" != 0 ] && [ "$r" != 1 ]; then
		f=${rc%.rc}
		echo "static-clang-tidy: clang-tidy failed ($r) on" \
		    "$(basename "$f" | tr _ /):"
		cat "$f.err"
		status=1
	fi
done

# Keep what the suppressions do not cover; headers are reported once.
cat "$out"/*.out | awk -v src="$src/" -v supp="$supp" '
BEGIN {
	FS = "\t"
	n = 0
	while ((getline l < supp) > 0) {
		if (l ~ /^#/ || l ~ /^[ \t]*$/)
			continue
		split(l, a, "\t")
		n++
		scheck[n] = a[1]; sfile[n] = a[2]; sre[n] = a[3]
	}
	close(supp)
	FS = " "
	show = 0
}
/^[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[[^]]+\]$/ {
	split($1, loc, ":")
	file = loc[1]; line = loc[2] + 0
	check = $NF
	sub(/^\[/, "", check); sub(/\]$/, "", check); sub(/,.*/, "", check)
	key = loc[1] ":" loc[2] ":" loc[3] ":" check
	show = 0
	if (key in seen)
		next
	seen[key] = 1
	rel = file
	if (index(rel, src) == 1)
		rel = substr(rel, length(src) + 1)
	text = ""
	i = 0
	while ((getline l < file) > 0)
		if (++i == line) {
			text = l
			break
		}
	close(file)
	for (i = 1; i <= n; i++)
		if (scheck[i] == check && sfile[i] == rel && text ~ sre[i]) {
			used[i] = 1
			suppressed++
			next
		}
	show = 1
	found++
	print
	next
}
/^[^ ]+:[0-9]+:[0-9]+: (warning|error): / {
	# a diagnostic without a check name: a compiler error
	show = 1
	found++
	print
	next
}
show { print }
END {
	for (i = 1; i <= n; i++)
		if (!(i in used))
			printf "static-clang-tidy: note: suppression %d (%s in %s) matched nothing; remove it?\n", i, scheck[i], sfile[i]
	printf "static-clang-tidy: %d finding(s), %d suppressed\n", found, suppressed
	exit found > 0
}'
[ $? -eq 0 ] || status=1
if [ $status -ne 0 ]; then
	echo "static-clang-tidy: fix the findings above, or list a false" \
	    "positive in tests/static/clang-tidy.supp with its reason"
fi
exit $status
