#!/bin/bash
# before.sh: netsvcd against netsvcd built from an earlier commit, in the
# same repetitions of bench/run.sh (--also before=...), on the
# connection-rate loads (daytime-64, echo-64B-64).
#
#   bench/before.sh [--ref REV] [--after REV] [run.sh options...]
#
# REV defaults to the commit before the PROXY protocol landed: the first
# parent of the merge of branch 'proxy' in HEAD's history (issue 14: with
# proxy_protocol off, netsvcd must lose at most 2 %).  Its tree is
# exported with git archive (no worktree, nothing written to the
# repository) into a temporary folder under /tmp, built there (Release, no
# tests) and removed on exit.  The netsvcd measured against it is
# run.sh's own (build-bench/, or --netsvcd PATH), or with --after REV one
# built the same way from REV: --ref M^1 --after M measures merge M alone.
# The other options go to run.sh, after the defaults (--loads
# daytime-64,echo-64B-64), so a later --loads or --reps wins.  The table's
# "netsvcd / netsvcd-before" line has the ratio and its target (0.98).
# Exit status: run.sh's; 1 when a commit does not build, 2 on usage.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ref=""
after=""
while [ $# -gt 0 ]; do
	case $1 in
	--ref) ref=${2:?}; shift 2 ;;
	--after) after=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) break ;;
	esac
done

# proxy_parent: the first parent of the merge of branch 'proxy'.
proxy_parent()
{
	local m
	m=$(git -C "$root" log -1 --merges --format=%H \
	    --grep="^Merge branch 'proxy'" HEAD) && [ -n "$m" ] || return 1
	echo "$m^1"
}

# build REV DIR: REV's tree exported into DIR/src and built into
# DIR/build (Release, no tests); the log in DIR/build.log.
build()
{
	local rev=$1 d=$2
	echo "before.sh: building $(git -C "$root" log -1 --format='%h %s' \
	    "$rev" | cut -c1-60) in $d" >&2
	mkdir -p "$d/src" &&
	    git -C "$root" archive "$rev" | tar -x -C "$d/src" &&
	    timeout 900 cmake -S "$d/src" -B "$d/build" \
	    -DCMAKE_BUILD_TYPE=Release -DNETSVCD_TESTS=OFF >"$d/build.log" \
	    2>&1 && timeout 900 cmake --build "$d/build" -j "$(nproc)" \
	    >>"$d/build.log" 2>&1 && [ -x "$d/build/daemon/netsvcd" ] &&
	    return 0
	tail -n 20 "$d/build.log" >&2
	return 1
}

if [ -z "$ref" ] && ! ref=$(proxy_parent); then
	echo "before.sh: no merge of branch 'proxy' in HEAD's history;" \
	    "give --ref" >&2
	exit 2
fi
for r in "$ref" ${after:+"$after"}; do
	if ! git -C "$root" rev-parse -q --verify "$r^{commit}" >/dev/null; then
		echo "before.sh: $r is not a commit" >&2
		exit 2
	fi
done
TMP=$(mktemp -d /tmp/netsvcd-before.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
build "$ref" "$TMP/before" || exit 1
now=()
if [ -n "$after" ]; then
	build "$after" "$TMP/after" || exit 1
	now=(--netsvcd "$TMP/after/build/daemon/netsvcd")
fi
echo "before.sh: netsvcd-before is $(git -C "$root" rev-parse --short \
    "$ref"), netsvcd is ${after:-the one run.sh builds or is given}" >&2
"$here/run.sh" --loads daytime-64,echo-64B-64 "${now[@]}" \
    --also "before=$TMP/before/build/daemon/netsvcd" "$@"
