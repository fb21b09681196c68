#!/bin/bash
# exec.sh: the process-per-connection benchmark (issue 12): netsvcd's exec
# service against openbsd-inetd and xinetd, all three running /bin/cat in
# "nowait" mode, one process per connection.
#
# The load (bench/execload.c): connect to 127.0.0.1, send 64 bytes, shut
# down the sending side, read the 64-byte echo to EOF, close; 64
# connections in flight.  Each repetition runs every server once, in an
# order rotated by one per repetition; one short warm-up run per server
# comes first.  Printed per server: the median and range of connections a
# second, the ratio of medians to the faster inetd, latency from connect
# to the first echo byte (the spawn latency a client sees) and to EOF, the
# daemon's RSS and its children (largest count and RSS seen, sampled every
# 0.25 s), and CPU time per connection (daemon + reaped children).
# The CPU count and load average are printed with the table.
#
# The peers are unpacked from their Debian packages (apt-get download +
# dpkg -x, with libwrap0) into build-bench/peers/exec: nothing is
# installed and no system service starts.  netsvcd is a Release build in
# build-bench/ unless --netsvcd PATH names a binary; a netsvcd without the
# exec service is skipped with a note.
#
# Exit status: 0 when every netsvcd run passed its checks (no failed
# connection), 1 otherwise, 2 on a usage error.  Everything is bounded in
# time, and every server is stopped on exit.
set -u

usage()
{
	cat <<EOF
usage: bench/exec.sh [options]
  --reps N          repetitions (default 5)
  --secs S          seconds per run (default 3; at least 2 for results)
  --inflight N      connections in flight (default 64)
  --netsvcd PATH    use this netsvcd binary instead of building build-bench/
  --no-netsvcd      the inetds only
  --no-peers        netsvcd only
  --workers N       netsvcd's workers (default 1)
  --port BASE       first port to try (default 23000)
  --quick           one repetition of 1 s (a smoke test)
  -h, --help        this help
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
reps=5
secs=3
inflight=64
netsvcd=""
use_netsvcd=1
use_peers=1
workers=1
base=23000

while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=${2:?}; shift ;;
	--secs) secs=${2:?}; shift ;;
	--inflight) inflight=${2:?}; shift ;;
	--netsvcd) netsvcd=${2:?}; shift ;;
	--no-netsvcd) use_netsvcd=0 ;;
	--no-peers) use_peers=0 ;;
	--workers) workers=${2:?}; shift ;;
	--port) base=${2:?}; shift ;;
	--quick) reps=1; secs=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
case "$reps$inflight$base$workers" in
*[!0-9]*) usage >&2; exit 2 ;;
esac
case $secs in
''|*[!0-9.]*) usage >&2; exit 2 ;;
esac
[ "$reps" -ge 1 ] && [ "$inflight" -ge 1 ] || { usage >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-exec.XXXXXX") || exit 1
PEERS="$root/build-bench/peers/exec"
PIDS=""
NOTES=()
SERVERS=()
HZ=$(getconf CLK_TCK)
PAGE_KB=$(( $(getconf PAGESIZE) / 1024 ))
declare -A PORT SPID VALS FIRST TOTAL CPU DRSS KIDS KRSS FAIL
status=0
STOP_TRIES=100		# stop_pid: up to 5 s for a server's group

# cleanup: on exit, stop every server still running and remove TMP.
cleanup()
{
	stop_all
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# listening PORT: is a TCP listener bound to PORT?
listening()
{
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# free_port: the first port from base up with no listener; sets base past it.
free_port()
{
	while listening "$base"; do
		base=$((base + 1))
	done
	echo "$base"
	base=$((base + 1))
}

# proc_cpu PID: utime + stime + cutime + cstime of PID, in ticks.
proc_cpu()
{
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null |
	    awk '{ print $12 + $13 + $14 + $15 }' || echo 0
}

# sample PID: one line "DAEMON_RSS_KIB CHILDREN CHILDREN_RSS_KIB".
sample()
{
	cat /proc/[0-9]*/stat 2>/dev/null | sed 's/^\([0-9]*\) (.*) /\1 /' |
	    awk -v root="$1" -v pg="$PAGE_KB" '
	{ pp[$1] = $3; r[$1] = $23 }
	END {
		n = 0; kr = 0
		for (p in pp)
			if (pp[p] == root) { n++; kr += r[p] * pg }
		print r[root] * pg, n, kr
	}'
}

# sampler PID FILE: sample every 0.25 s into FILE until killed.
sampler()
{
	while :; do
		sample "$1" >>"$2"
		sleep 0.25
	done
}

# setup_peers: openbsd-inetd and xinetd, runnable with libwrap0 beside them.
setup_peers()
{
	local b lib
	if ! fetch_debs "$PEERS" "$TMP/debs" libwrap0 openbsd-inetd \
	    xinetd; then
		note "peers: cannot download (see apt-get download); skipped"
		return 1
	fi
	lib=$(dirname "$(find "$PEERS/libwrap0" -name 'libwrap.so.0' |
	    head -n 1)")
	export PEER_LD="$lib"
	for b in "$PEERS/openbsd-inetd/usr/sbin/inetd" \
	    "$PEERS/xinetd/usr/sbin/xinetd"; do
		if LD_LIBRARY_PATH=$lib ldd "$b" | grep -q 'not found'; then
			note "$b: libraries missing; skipped"
			return 1
		fi
	done
	SERVERS+=(openbsd-inetd xinetd)
}

# build_netsvcd: a Release build in build-bench/; sets netsvcd.
build_netsvcd()
{
	local b="$root/build-bench"
	echo "exec.sh: building netsvcd in $b" >&2
	if timeout 900 cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Release \
	    -DNETSVCD_TESTS=OFF >"$TMP/cmake.log" 2>&1 &&
	    timeout 900 cmake --build "$b" -j "$(nproc)" --target netsvcd \
	    >>"$TMP/cmake.log" 2>&1 && [ -x "$b/daemon/netsvcd" ]; then
		netsvcd="$b/daemon/netsvcd"
		return 0
	fi
	tail -n 20 "$TMP/cmake.log" >&2
	return 1
}

# setup_netsvcd: build or take netsvcd; is the exec service there?
setup_netsvcd()
{
	if [ -z "$netsvcd" ] && ! build_netsvcd; then
		note "netsvcd: build failed; skipped"
		return 1
	fi
	printf '[x]\nservice = exec\nlisten = tcp://127.0.0.1:0\ncommand = %s\n' \
	    /bin/cat >"$TMP/probe.ini"
	if ! "$netsvcd" -t -c "$TMP/probe.ini" >"$TMP/probe.out" 2>&1; then
		note "netsvcd: no exec service in $netsvcd ($(grep -m1 \
		    'probe.ini' "$TMP/probe.out")); skipped"
		return 1
	fi
	SERVERS=(netsvcd "${SERVERS[@]}")
}

# start NAME: start a server on a fresh port; sets PORT[NAME], SPID[NAME].
start()
{
	local name=$1 p d="$TMP/$1" i pid
	mkdir -p "$d"
	p=$(free_port)
	case $name in
	netsvcd)
		cat >"$d/netsvcd.ini" <<EOF
[daemon]
log_level = warning
workers = $workers
max_connections = 20000
backlog = 4096

[cat]
service = exec
listen = tcp://127.0.0.1:$p
command = /bin/cat
max_connections = 4096
EOF
		setsid "$netsvcd" -f -c "$d/netsvcd.ini" >"$d/log" 2>&1 &
		;;
	openbsd-inetd)
		printf '127.0.0.1:\n%s\tstream\ttcp4\tnowait.10000000\troot\t%s\t%s\n' \
		    "$p" /bin/cat cat >"$d/inetd.conf"
		LD_LIBRARY_PATH=$PEER_LD setsid \
		    "$PEERS/openbsd-inetd/usr/sbin/inetd" -i -q 4096 \
		    -R 10000000 "$d/inetd.conf" >"$d/log" 2>&1 &
		;;
	xinetd)
		cat >"$d/xinetd.conf" <<EOF
defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 10000000 1
	log_on_success =
	log_on_failure =
}
service execcat
{
	type = UNLISTED
	id = execcat
	port = $p
	socket_type = stream
	protocol = tcp
	wait = no
	user = root
	server = /bin/cat
	bind = 127.0.0.1
	flags = NOLIBWRAP
}
EOF
		LD_LIBRARY_PATH=$PEER_LD setsid \
		    "$PEERS/xinetd/usr/sbin/xinetd" -dontfork \
		    -f "$d/xinetd.conf" -filelog "$d/xinetd.log" >"$d/log" 2>&1 &
		;;
	esac
	pid=$!
	PIDS="$PIDS $pid"
	for i in $(seq 1 200); do
		alive "$pid" || break
		if listening "$p"; then
			PORT[$name]=$p
			SPID[$name]=$pid
			return 0
		fi
		sleep 0.05
	done
	echo "exec.sh: $name did not start:" >&2
	tail -n 20 "$d/log" >&2
	stop_pid "$pid"
	return 1
}

# field NAME LINE: the value of NAME=... in a RESULT line.
field()
{
	echo "$2" | tr ', ' '\n\n' | sed 's/^extra=//' |
	    awk -F= -v k="$1" '$1 == k { print $2; exit }'
}

# run NAME SECONDS COUNT: one run against NAME; COUNT=1 records it.
run()
{
	local name=$1 d=$2 keep=$3 pid=${SPID[$1]} c0 c1 spid line conns \
	    s=$TMP/$1/samples
	: >"$s"
	c0=$(proc_cpu "$pid")
	sampler "$pid" "$s" &
	spid=$!
	line=$(timeout -k 2 $(( ${d%.*} * 2 + 20 )) "$TMP/execload" \
	    -p "${PORT[$name]}" -c "$inflight" -k 64 -d "$d" 2>>"$TMP/$1/lg")
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	c1=$(proc_cpu "$pid")
	echo "exec.sh: $name: ${line:-no result}" >&2
	[ "$keep" = 1 ] || return 0
	case $line in
	*" ok=1 "*) ;;
	*) FAIL[$name]=$(( ${FAIL[$name]:-0} + 1 ))
	   [ "$name" = netsvcd ] && status=1 ;;
	esac
	[ -n "$line" ] || return 0
	conns=$(field conns "$line")
	VALS[$name]="${VALS[$name]:-} $(field value "$line")"
	FIRST[$name]="${FIRST[$name]:-} $(field first_p50_us "$line"):$(field \
	    first_p99_us "$line")"
	TOTAL[$name]="${TOTAL[$name]:-} $(field total_p50_us "$line"):$(field \
	    total_p99_us "$line")"
	CPU[$name]="${CPU[$name]:-} $(awk -v a="$c0" -v b="$c1" -v hz="$HZ" \
	    -v n="$conns" 'BEGIN { printf "%.3f", n ? (b - a) / hz * 1000 / n : 0 }')"
	# Largest daemon RSS, child count and children's RSS of the run.
	read -r dr kc kr < <(awk 'BEGIN { a = b = c = 0 }
	    { if ($1 > a) a = $1; if ($2 > b) b = $2; if ($3 > c) c = $3 }
	    END { print a, b, c }' "$s")
	DRSS[$name]="${DRSS[$name]:-} $dr"
	KIDS[$name]="${KIDS[$name]:-} $kc"
	KRSS[$name]="${KRSS[$name]:-} $kr"
}

# median LIST: the median of numbers (the lower one of an even count).
median()
{
	echo "$@" | tr ' ' '\n' | grep . | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# range LIST: "min-max".
range()
{
	echo "$@" | tr ' ' '\n' | grep . | sort -g |
	    awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'
}

# lat LIST: the median p50 and the median p99 of "p50:p99" items, in ms.
lat()
{
	local p50 p99
	p50=$(median "$(echo "$@" | tr ' ' '\n' | cut -d: -f1 | tr '\n' ' ')")
	p99=$(median "$(echo "$@" | tr ' ' '\n' | cut -d: -f2 | tr '\n' ' ')")
	awk -v a="${p50:-0}" -v b="${p99:-0}" \
	    'BEGIN { printf "%.2f/%.2f", a / 1000, b / 1000 }'
}

# --- main ---
if ! gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
    -o "$TMP/execload" "$here/execload.c"; then
	echo "exec.sh: cannot build execload" >&2
	exit 1
fi
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null
[ $use_peers = 1 ] && setup_peers
[ $use_netsvcd = 1 ] && setup_netsvcd
if [ ${#SERVERS[@]} -eq 0 ]; then
	echo "exec.sh: no server to measure" >&2
	exit 1
fi
for s in "${SERVERS[@]}"; do
	if ! start "$s"; then
		note "$s: did not start; skipped"
		[ "$s" = netsvcd ] && status=1
	fi
done
live=()
for s in "${SERVERS[@]}"; do
	[ -n "${SPID[$s]:-}" ] && live+=("$s")
done
[ ${#live[@]} -gt 0 ] || exit 1

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${live[@]}"; do
	run "$s" 0.5 0			# warm-up
done
for r in $(seq 0 $((reps - 1))); do
	n=${#live[@]}
	for i in $(seq 0 $((n - 1))); do
		s=${live[$(( (i + r) % n ))]}
		run "$s" "$secs" 1
		alive "${SPID[$s]}" || { note "$s: died during the run"; \
		    [ "$s" = netsvcd ] && status=1; }
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# The faster inetd, by median, for the ratio column.
best=""
bestv=0
for s in openbsd-inetd xinetd; do
	[ -n "${VALS[$s]:-}" ] || continue
	v=$(median ${VALS[$s]})
	if awk -v a="$v" -v b="$bestv" 'BEGIN { exit !(a > b) }'; then
		best=$s
		bestv=$v
	fi
done

echo
echo "exec-cat: connect + 64 B + echo to EOF + close, $inflight in flight," \
    "/bin/cat per connection"
echo "$reps repetitions x ${secs} s, rotated; CPUs: $(nproc);" \
    "load average before: $load0, after: $load1"
printf '%-14s %9s %17s %7s %13s %13s %9s %9s %10s %9s %5s\n' server \
    "conn/s" "range" "x best" "first p50/99" "total p50/99" "RSS KiB" \
    "children" "child KiB" "CPU ms/conn" fails
for s in "${live[@]}"; do
	[ -n "${VALS[$s]:-}" ] || continue
	m=$(median ${VALS[$s]})
	ratio="-"
	if [ -n "$best" ] && [ "$s" != "$best" -o "$s" = netsvcd ]; then
		ratio=$(awk -v a="$m" -v b="$bestv" \
		    'BEGIN { printf "%.2f", b ? a / b : 0 }')
	fi
	[ "$s" = "$best" ] && ratio="1.00"
	printf '%-14s %9s %17s %7s %13s %13s %9s %9s %10s %9s %5s\n' "$s" \
	    "$m" "$(range ${VALS[$s]})" "$ratio" "$(lat ${FIRST[$s]})" \
	    "$(lat ${TOTAL[$s]})" "$(median ${DRSS[$s]})" \
	    "$(median ${KIDS[$s]})" "$(median ${KRSS[$s]})" \
	    "$(median ${CPU[$s]})" "${FAIL[$s]:-0}"
done
echo "(latencies in ms, medians over the repetitions; RSS, children and" \
    "their RSS: the largest sample of a run, median over the runs;" \
    "CPU: daemon + reaped children, ms per connection)"
for n in "${NOTES[@]}"; do
	echo "note: $n"
done
exit $status
