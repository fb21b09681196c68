#!/bin/sh
# shipped-config.sh SRCDIR NETSVCD: what etc/netsvcd.ini promises holds.
#   1. UDP is on loopback only: no uncommented udp:// endpoint on another
#      address; each instance with UDP has a ready-to-uncomment listen line
#      for every address, and the file with those lines uncommented passes
#      "netsvcd -t".
#   2. The [motd] example, uncommented as its comment says, passes -t.
#   3. README.md and netsvcd.ini(5) say the same as the file about UDP.
set -u
src=$1
netsvcd=$2
ini=$src/etc/netsvcd.ini
tmp=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-shipped.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "shipped-config: FAIL: $*"; fail=1; }

# 1. UDP on loopback only.
wide=$(grep '^listen' "$ini" | tr ' ' '\n' | grep '^udp://' |
    grep -v -e '^udp://127\.0\.0\.1:' -e '^udp://\[::1\]:')
[ -z "$wide" ] || bad "UDP on non-loopback addresses:" $wide
grep '^listen.*udp://' "$ini" | grep -q . || bad "no UDP endpoint at all"
alts=$(grep -c '^;listen = .*udp://0\.0\.0\.0:[0-9]* udp://\[::\]:' "$ini")
loop=$(grep -c '^listen = .*udp://127\.0\.0\.1:' "$ini")
[ "$alts" -ge "$loop" ] ||
    bad "$loop instances with loopback UDP, $alts ready-to-uncomment lines"
# Uncomment the alternatives: each replaces the listen line just above it.
awk '/^;listen = .*udp:\/\/0\.0\.0\.0/ && prev ~ /^listen = / {
		sub(/^;/, ""); prev = $0; next }
	NR > 1 { print prev }
	{ prev = $0 }
	END { print prev }' "$ini" >"$tmp/wide.ini"
[ "$(grep -c '^listen = .*udp://0\.0\.0\.0' "$tmp/wide.ini")" -ge "$loop" ] ||
    bad "uncommenting the UDP lines did not give UDP on every address"
"$netsvcd" -t -c "$tmp/wide.ini" >"$tmp/wide.out" 2>&1 || {
	cat "$tmp/wide.out"
	bad "netsvcd -t fails with the UDP lines uncommented"
}

# 2. [motd], uncommented from its section line to the end of the block.
awk '/^;\[motd\]/ { on = 1 }
	on && /^;/ { sub(/^;/, "") }
	on && !/^[a-z[]/ { on = 0 }
	{ print }' "$ini" >"$tmp/motd.ini"
grep -q '^\[motd\]' "$tmp/motd.ini" || bad "no [motd] example found"
if "$netsvcd" -T -c "$tmp/motd.ini" >"$tmp/motd.out" 2>&1; then
	grep -q '^\[motd\]' "$tmp/motd.out" ||
	    bad "netsvcd -T does not show [motd] once uncommented"
else
	cat "$tmp/motd.out"
	bad "netsvcd -t fails on the uncommented [motd] example"
fi

# 3. The docs say what the file does.
grep -q 'UDP on loopback only' "$src/README.md" ||
    bad "README.md does not say the shipped config has UDP on loopback only"
grep -q 'loopback' "$src/etc/netsvcd.ini.5" ||
    bad "netsvcd.ini(5) does not say the shipped config has UDP on loopback only"

[ "$fail" -eq 0 ] && echo "shipped-config: ok"
exit "$fail"
