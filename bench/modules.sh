#!/bin/sh
# modules.sh: a service from a module against the equivalent built-in.
#
#   bench/modules.sh [--quick] [--reps N] [--conns N] [--netsvcd PATH]
#
# Builds bench/linebench.c and two modules (gcc -O2, the SDK headers from
# this tree) into a temporary directory: examples/modules/linereply.c, and
# "modecho", services/echo.c itself built as a module (only its name
# changed).  It starts netsvcd (build/daemon/netsvcd unless --netsvcd;
# workers = 1) with three instances on loopback: "builtin", the built-in
# echo; "modecho", the same code loaded from a module; "linereply", the
# example without a prefix, which answers a line with the same line.  Then
# it runs the load "connect + line + reply + close" (linebench, 32 in
# flight) against each, in turn (the order rotates), REPS times.  It
# prints, per instance, the median connection rate and the median CPU
# time of the daemon per connection (utime + stime from /proc, which the
# other load of a shared machine disturbs much less than the rate), each
# with its ratio to the built-in.  Exit 0 when every run passed its checks
# (and, without --quick, modecho costs at most 5 % more CPU per connection
# than the built-in), 1 otherwise.
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
{
	sed 's/^const struct service service_echo/static &/
	    s/\.name = "echo",/.name = "modecho",/' "$root/services/echo.c"
	cat <<'C'
static const struct service *const modecho_services[] = {
	&service_echo, NULL
};
const struct netsvcd_module netsvcd_module = {
	.abi = NETSVCD_SERVICE_ABI, .name = "modecho", .version = "bench",
	.services = modecho_services,
};
C
} > "$tmp/modecho.c"
grep -q '"modecho"' "$tmp/modecho.c" || { echo "modules.sh: echo.c changed" >&2;
    exit 1; }
gcc -std=c11 -O2 -shared -fPIC -I"$tmp/sdk/netsvcd" -o "$tmp/modecho.so" \
    "$tmp/modecho.c"
cat > "$tmp/bench.ini" <<INI
[daemon]
modules = linereply.so modecho.so
workers = 1
max_connections = 4096
backlog = 1024
log_level = notice

[builtin]
service = echo
listen = tcp://127.0.0.1:0

[modecho]
service = modecho
listen = tcp://127.0.0.1:0

[linereply]
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
	sed -n "s|.*instance $1 listening on tcp://127\\.0\\.0\\.1:||p" \
	    "$tmp/daemon.log" | head -n 1 | sed 's/[^0-9].*//'
}

# The daemon's CPU time so far, in clock ticks.
cpu_ticks()
{
	awk '{ print $14 + $15 }' "/proc/$pid/stat"
}
hz=$(getconf CLK_TCK)

fail=0
: > "$tmp/builtin"
: > "$tmp/modecho"
: > "$tmp/linereply"
r=1
while [ $r -le "$reps" ]; do
	# Rotate the order, so that no instance always runs first.
	case $((r % 3)) in
	0) order="builtin modecho linereply" ;;
	1) order="modecho linereply builtin" ;;
	*) order="linereply builtin modecho" ;;
	esac
	for inst in $order; do
		t0=$(cpu_ticks)
		out=$("$tmp/linebench" -p "$(port $inst)" -n "$conns" -c 32 \
		    -S 32 -T 120) || fail=1
		t1=$(cpu_ticks)
		us=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$conns" \
		    'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
		echo "rep $r $inst: $out cpu_us_per_conn=$us"
		echo "$out" | sed -n 's/.* rate=\([0-9]*\) .*/\1/p' \
		    >> "$tmp/$inst"
		echo "$us" >> "$tmp/$inst.cpu"
	done
	r=$((r + 1))
done
median()
{
	sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio()
{
	awk -v b="$1" -v m="$2" 'BEGIN { printf "%.3f", (b > 0 ? m / b : 0) }'
}
b=$(median "$tmp/builtin")
bc=$(median "$tmp/builtin.cpu")
echo "connect + line + reply + close, $conns connections x $reps," \
    "32 in flight (medians):"
printf '  %-34s %8s %6s %14s %6s\n' "" "conn/s" "ratio" "cpu us/conn" \
    "ratio"
printf '  %-34s %8s %6s %14s %6s\n' "built-in echo" "$b" "1" "$bc" "1"
for inst in modecho linereply; do
	m=$(median "$tmp/$inst")
	mc=$(median "$tmp/$inst.cpu")
	case $inst in
	modecho) what="module: echo.c loaded as modecho" ;;
	*) what="module: linereply (no prefix)" ;;
	esac
	printf '  %-34s %8s %6s %14s %6s\n' "$what" "$m" "$(ratio "$b" "$m")" \
	    "$mc" "$(ratio "$bc" "$mc")"
	if [ "$inst" = modecho ] && [ "$quick" -eq 0 ] &&
	    ! awk -v r="$(ratio "$bc" "$mc")" 'BEGIN { exit !(r <= 1.05) }'
	then
		echo "modules.sh: the module path costs more than 5 %" >&2
		fail=1
	fi
done
exit $fail
