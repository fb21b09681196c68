#!/bin/sh
# service-symbols.sh CC NM LIB ALLOW: print each symbol that the archive LIB
# needs from outside itself and that is neither in the allow-list ALLOW nor
# exported by CC's libc.so.6; exit 1 when there is any, 0 otherwise.
set -eu
cc=$1 nm=$2 lib=$3 allow=$4

libc=$("$cc" -print-file-name=libc.so.6)
[ -f "$libc" ] || { echo "service-symbols: no libc.so.6 from $cc"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

"$nm" --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u \
    >"$tmp/defined"
"$nm" -u "$lib" | awk 'NF == 2 { print $2 }' | sort -u >"$tmp/undefined"
"$nm" -D --defined-only "$libc" | awk 'NF == 3 { sub(/@.*/, "", $3);
    print $3 }' | sort -u >"$tmp/libc"
comm -23 "$tmp/undefined" "$tmp/defined" | comm -23 - "$tmp/libc" \
    >"$tmp/outside"

bad=0
while read -r sym; do
	ok=0
	while read -r pat; do
		case $pat in ''|'#'*) continue ;; esac
		# shellcheck disable=SC2254
		case $sym in $pat) ok=1; break ;; esac
	done <"$allow"
	if [ $ok -eq 0 ]; then
		echo "$lib: calls $sym, which services may not use"
		bad=1
	fi
done <"$tmp/outside"
[ $bad -eq 0 ] && echo "service-symbols: $lib is within the allow-list"
exit $bad
