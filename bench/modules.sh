#!/bin/sh
# modules.sh: a service from a module against the equivalent built-in.
#
#   bench/modules.sh [--quick] [--reps N] [--conns N] [--netsvcd PATH]
#
# Builds bench/linebench.c and examples/modules/linereply.c (gcc -O2, the
# SDK headers from this tree) into a temporary directory, starts netsvcd
# (build/daemon/netsvcd unless --netsvcd; workers = 1) with two instances
# on loopback: "builtin", the built-in echo, and "module", linereply with
# no prefix, which answers a line with the same line.  Then it runs the
# load "connect + line + reply + close" (linebench, 32 in flight) against
# each, alternating, REPS times, and prints the median rates and the ratio
# module/builtin.  Exit 0 when every run passed its checks (and, without
# --quick, the module is within 5 % of the built-in), 1 otherwise.
# Separate from bench/run.sh; everything is bounded and the daemon is
# stopped on exit.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
reps=5
conns=20000
quick=0
netsvcd=$root/build/daemon/netsvcd
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; reps=1; conns=500 ;;
	--reps) reps=${2:?}; shift ;;
	--conns) conns=${2:?}; shift ;;
	--netsvcd) netsvcd=${2:?}; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "modules.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$netsvcd" ] || { echo "modules.sh: no $netsvcd (build first)" >&2;
    exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-modbench.XXXXXX")
chmod 0755 "$tmp"
pid=""
cleanup()
{
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$tmp/sdk/netsvcd"
cp "$root/services/service.h" "$root/include/netsvcd/log.h" \
    "$tmp/sdk/netsvcd/"
gcc -O2 -o "$tmp/linebench" "$here/linebench.c"
gcc -std=c11 -O2 -shared -fPIC -I"$tmp/sdk" -o "$tmp/linereply.so" \
    "$root/examples/modules/linereply.c"
cat > "$tmp/bench.ini" <<INI
[daemon]
modules = linereply.so
workers = 1
max_connections = 4096
backlog = 1024
log_level = notice

[builtin]
service = echo
listen = tcp://127.0.0.1:0

[module]
service = linereply
listen = tcp://127.0.0.1:0
INI
"$netsvcd" -f -l info -c "$tmp/bench.ini" 2> "$tmp/daemon.log" &
pid=$!
i=0
while ! grep -q ' ready' "$tmp/daemon.log"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "modules.sh: netsvcd did not start" >&2
		cat "$tmp/daemon.log" >&2
		exit 1
	fi
	sleep 0.1
done
port()
{
	sed -n "s|.*instance $1 listening on tcp://127\\.0\\.0\\.1:\\([0-9]*\\).*|\\1|p" \
	    "$tmp/daemon.log" | head -n 1
}

fail=0
: > "$tmp/builtin"
: > "$tmp/module"
r=1
while [ $r -le "$reps" ]; do
	for inst in builtin module; do
		out=$("$tmp/linebench" -p "$(port $inst)" -n "$conns" -c 32 \
		    -S 32 -T 120) || fail=1
		echo "rep $r $inst: $out"
		echo "$out" | sed -n 's/.* rate=\([0-9]*\) .*/\1/p' \
		    >> "$tmp/$inst"
	done
	r=$((r + 1))
done
median()
{
	sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
b=$(median "$tmp/builtin")
m=$(median "$tmp/module")
ratio=$(awk -v b="$b" -v m="$m" 'BEGIN { printf "%.3f", (b > 0 ? m / b : 0) }')
echo "connect + line + reply + close, $conns connections x $reps, 32 in flight:"
printf '  %-28s %10s conn/s\n' "built-in echo" "$b" \
    "module linereply (no prefix)" "$m"
echo "  ratio module/built-in: $ratio"
if [ "$quick" -eq 0 ] &&
    ! awk -v r="$ratio" 'BEGIN { exit !(r >= 0.95) }'; then
	echo "modules.sh: the module is more than 5 % slower" >&2
	fail=1
fi
exit $fail
