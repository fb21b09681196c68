#!/bin/sh
# lint-units.sh SRCDIR NETSVCD: check systemd/netsvcd.service and
# systemd/netsvcd.socket.
#   1. "systemd-analyze verify" on both prints nothing.  It ignores unknown
#      keys and bad values with a message but exit status 0, hence the test
#      on its output.  It also wants ExecStart= to exist and the
#      Documentation= man pages to open: the units are verified from a copy
#      whose /usr/sbin/netsvcd is NETSVCD (the built binary), with MANPATH
#      on the source tree's man pages.
#   2. "systemd-analyze security --offline=true" on the service: exposure at
#      most MAX_EXPOSURE (the figure in the README), so a weaker sandbox fails.
#   3. The socket unit listens on exactly the endpoints of the shipped
#      etc/netsvcd.ini (as "netsvcd -t" resolves them), so that netsvcd
#      adopts every socket systemd passes and binds none itself.
# Exits 77 (skipped) without systemd-analyze.
set -eu

MAX_EXPOSURE=1.4

src=$1
netsvcd=$2

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "lint-units: systemd-analyze not found, skipped"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# 1. verify
mkdir -p "$tmp/units" "$tmp/man/man5" "$tmp/man/man8"
sed "s|/usr/sbin/netsvcd|$netsvcd|g" "$src/systemd/netsvcd.service" \
    >"$tmp/units/netsvcd.service"
cp "$src/systemd/netsvcd.socket" "$tmp/units/netsvcd.socket"
ln -s "$src/daemon/netsvcd.8" "$tmp/man/man8/netsvcd.8"
ln -s "$src/etc/netsvcd.ini.5" "$tmp/man/man5/netsvcd.ini.5"
if command -v man >/dev/null 2>&1; then
	man=yes
else
	man=no
	echo "lint-units: man not found: Documentation= not checked"
fi
if ! MANPATH="$tmp/man" systemd-analyze verify --man=$man \
    "$tmp/units/netsvcd.service" "$tmp/units/netsvcd.socket" \
    >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
	echo "lint-units: systemd-analyze verify:"
	cat "$tmp/verify.log"
	fail=1
else
	echo "lint-units: systemd-analyze verify: clean"
fi

# 2. security exposure; --threshold takes tenths.
threshold=$(echo "$MAX_EXPOSURE" | awk '{ printf "%d", $1 * 10 + 0.5 }')
if systemd-analyze security --offline=true --no-pager \
    --threshold="$threshold" "$src/systemd/netsvcd.service" \
    >"$tmp/security.log" 2>&1; then
	status=0
else
	status=$?
fi
grep 'Overall exposure level' "$tmp/security.log" || cat "$tmp/security.log"
if [ "$status" -ne 0 ]; then
	echo "lint-units: exposure above $MAX_EXPOSURE; what is left:"
	grep '✗' "$tmp/security.log" || true
	fail=1
fi

# 3. socket unit == shipped config's endpoints
"$netsvcd" -T -c "$src/etc/netsvcd.ini" | awk '
	/^\[/ { on = 1; next }
	/^enabled = no$/ { on = 0 }
	/^listen = / && on { for (i = 3; i <= NF; i++) print $i }' |
    sort >"$tmp/config.txt"
sed -n 's/^ListenStream=\(.*\)/tcp:\/\/\1/p; s/^ListenDatagram=\(.*\)/udp:\/\/\1/p' \
    "$src/systemd/netsvcd.socket" | sort >"$tmp/socket.txt"
if [ ! -s "$tmp/config.txt" ]; then
	echo "lint-units: no endpoints from netsvcd -T on etc/netsvcd.ini"
	fail=1
elif ! diff -u "$tmp/config.txt" "$tmp/socket.txt" >"$tmp/diff.txt"; then
	echo "lint-units: netsvcd.socket (+) differs from etc/netsvcd.ini (-):"
	cat "$tmp/diff.txt"
	fail=1
elif grep -q '\[::\]' "$tmp/socket.txt" &&
    ! grep -qx 'BindIPv6Only=ipv6-only' "$src/systemd/netsvcd.socket"; then
	echo "lint-units: [::] sockets need BindIPv6Only=ipv6-only beside 0.0.0.0"
	fail=1
else
	echo "lint-units: netsvcd.socket matches etc/netsvcd.ini" \
	    "($(wc -l <"$tmp/socket.txt") endpoints)"
fi

exit $fail
