#!/bin/sh
# seed-corpus.sh: copy the seed corpus of the fuzz targets into a corpus
# directory that libFuzzer may write to, so that the repository is never
# written to.
#
#   fuzz/seed-corpus.sh [-f] SRCDIR DEST [TARGET...]
#
# SRCDIR is the repository root; DEST gets one directory per target
# (config, parsers, services, sources, proxy, handover; all by default).
# -f starts DEST/TARGET afresh (the brief ctest runs); without it, seeds
# are added to what earlier runs found (fuzz/run.sh).  The seeds are
# fuzz/corpus/TARGET/, and for config also the shipped configs (etc/) and
# the unit tests'.
set -eu

fresh=0
if [ "${1:-}" = -f ]; then
	fresh=1
	shift
fi
if [ $# -lt 2 ]; then
	echo "usage: $0 [-f] SRCDIR DEST [TARGET...]" >&2
	exit 2
fi
src=$1
dest=$2
shift 2
[ $# -gt 0 ] || set -- config parsers services sources proxy handover

# seed DIR FILE PREFIX: copy FILE into DIR as PREFIX-NAME, keeping what
# is there (a name clash would only drop a duplicate seed).
seed()
{
	[ -f "$2" ] || return 0
	name="$3-$(basename "$2")"
	[ -e "$1/$name" ] || cp "$2" "$1/$name"
}

for t in "$@"; do
	d="$dest/$t"
	if [ "$fresh" = 1 ]; then
		rm -rf "$d"
	fi
	mkdir -p "$d"
	for f in "$src/fuzz/corpus/$t"/*; do
		seed "$d" "$f" seed
	done
	if [ "$t" = config ]; then
		for f in "$src"/etc/*.ini "$src"/etc/examples/*.ini; do
			seed "$d" "$f" etc
		done
		for f in "$src"/tests/unit/data/config/*; do
			seed "$d" "$f" unit
		done
	fi
	chmod -R u+w "$d"
done
