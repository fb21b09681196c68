#!/bin/bash
# run.sh: the netsvcd benchmark suite.
#
# Builds bench/loadgen and bench/refecho (gcc -O2) into a temporary folder
# and netsvcd (Release) into build-bench/, starts the reference, netsvcd
# and, with --peers, the Debian inetds on loopback ports, runs every load
# REPS times (default 5; all servers in each repetition, the order rotated),
# and prints one table: per load and server the median, the median and the
# min-max spread of the per-repetition ratios to the reference (flagged
# when the spread crosses the target), server and client CPU per GB, the
# server's memory, the CPU count and the load average.  Bulk loads are
# sized to last at least 2 seconds; --quick runs are shorter and say so.
# A second table compares the other netsvcd rows (--also, --proxy) with
# netsvcd in the same repetitions.
# docs/PERFORMANCE.md explains the loads and the columns.
#
# Exit status: 0 when every run of the reference and of netsvcd (and of
# netsvcd-pv2) passed its checks, 1 otherwise (peers and --also binaries
# do not count), 2 on a usage error.  Everything
# is bounded in time, and every server is stopped on exit.
set -u

# usage: the options.
usage()
{
	cat <<EOF
usage: bench/run.sh [options]
  --quick           tiny loads, one repetition: a smoke test, runs far
                    shorter than 2 s, not a measurement (< 60 s)
  --reps N          repetitions of every load (default 5)
  --loads L,L...    only these loads (default: all; see below)
  --no-netsvcd      reference (and peers) only
  --netsvcd PATH    use this netsvcd binary instead of building build-bench/
  --also NAME=PATH  one more netsvcd binary, shown as netsvcd-NAME (before
                    and after a change in the same run); repeatable
  --variant NAME=ARGS  one more refecho, started with ARGS (e.g. -E or
                    "-b 64k"), shown as ref-NAME; repeatable
  --proxy           also netsvcd-pv2: the same netsvcd with proxy_protocol
                    = v2 on echo and daytime, loadgen sending a PROXY v2
                    header on every connection (connection-rate loads)
  --peers           also openbsd-inetd and xinetd (installs them if missing)
  --xinetd PATH     also xinetd, this binary (no apt; bench/multicore.sh)
  --tools DIR       take loadgen and refecho from DIR, do not build them
  --iperf           also iperf3 on loopback, the physical limit row
  --threads N       loadgen threads for echo-tput, connrate and udp-echo
  --workers N       netsvcd's workers = N (default 1; auto = one per core)
  --port BASE       first port to try (default 21000)
  -h, --help        this help
loads: $DEFAULT_LOADS
  not by default: echo-14x1G (14 parallel clients, for multi-core runs)
EOF
}

ALL_LOADS="echo-1x8G echo-64x160M echo-1x4G-16K daytime-64 echo-64B-64"
ALL_LOADS="$ALL_LOADS hold-10k udp-64B chargen-sink discard-64K"
DEFAULT_LOADS=$ALL_LOADS
ALL_LOADS="$ALL_LOADS echo-14x1G"
BULK_LOADS=" echo-1x8G echo-64x160M echo-1x4G-16K echo-14x1G chargen-sink"
BULK_LOADS="$BULK_LOADS discard-64K "
TARGET=1.0			# every ratio row: >= 1.0x the reference
PROXY_TARGET=0.90		# netsvcd-pv2 / netsvcd (issue 14)
ALSO_TARGET=0.98		# netsvcd / netsvcd-NAME: a change costs <= 2 %
RATE_LOADS=" daytime-64 echo-64B-64 "	# what netsvcd-pv2 runs
MIN_SECS=2			# shortest throughput run that counts
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
quick=0
reps=5
declare -A EXTRA_BIN VARIANT_ARGS
extras=()
loads=$DEFAULT_LOADS
tools=""
XINETD=""
use_netsvcd=1
netsvcd=""
peers=0
proxy=0
iperf=0
threads=1
workers=1
base=21000
peer_hold=1000			# idle connections for a forking peer

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; reps=1 ;;
	--reps) reps=${2:?}; shift ;;
	--loads) loads=$(echo "${2:?}" | tr ',' ' '); shift ;;
	--no-netsvcd) use_netsvcd=0 ;;
	--netsvcd) netsvcd=${2:?}; shift ;;
	--also)
		x=${2:?}; shift
		[ "${x#*=}" != "$x" ] || { usage >&2; exit 2; }
		EXTRA_BIN[netsvcd-${x%%=*}]=${x#*=}
		extras+=("netsvcd-${x%%=*}") ;;
	--variant)
		x=${2:?}; shift
		[ "${x#*=}" != "$x" ] || { usage >&2; exit 2; }
		VARIANT_ARGS[ref-${x%%=*}]=${x#*=}
		extras+=("ref-${x%%=*}") ;;
	--peers) peers=1 ;;
	--proxy) proxy=1 ;;
	--xinetd) XINETD=${2:?}; shift ;;
	--tools) tools=${2:?}; shift ;;
	--iperf) iperf=1 ;;
	--threads) threads=${2:?}; shift ;;
	--workers) workers=${2:?}; shift ;;
	--port) base=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
case "$reps$threads$base" in
*[!0-9]*) usage >&2; exit 2 ;;
esac
case $workers in
auto|[1-9]|[1-9][0-9]) ;;
*) usage >&2; exit 2 ;;
esac
for l in $loads; do
	case " $ALL_LOADS " in
	*" $l "*) ;;
	*) echo "run.sh: unknown load $l" >&2; exit 2 ;;
	esac
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-bench.XXXXXX") || exit 1
PIDS=""
TW_KNOB=/proc/sys/net/ipv4/tcp_max_tw_buckets
TW_SAVED=""
NOTES=()
SERVERS=()
PAGE_KB=$(( $(getconf PAGESIZE) / 1024 ))
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
declare -A VAL OK CPU RSS HWM PORTS SPIDS CCPU BYTES SECS LOADAVG CONNS
status=0

# cleanup: on exit, stop every server still running and remove TMP.
cleanup()
{
	stop_all
	if [ -n "$TW_SAVED" ]; then
		echo "$TW_SAVED" >"$TW_KNOB" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bound: the local ports of TCP listeners and UDP sockets, one a line
# (ss asks the kernel for listeners only; /proc/net/tcp lists every
# TIME_WAIT socket too, which is slow after a connection-rate load).
bound()
{
	if command -v ss >/dev/null 2>&1; then
		ss -Hltun 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }'
		return
	fi
	awk 'FNR > 1 && (FILENAME ~ /udp/ || $4 == "0A") {
	    split($2, a, ":"); print ("0x" a[2]) + 0 }' /proc/net/tcp \
	    /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# listening PORT...: are all these ports bound?
listening()
{
	local have p
	have=" $(bound | tr '\n' ' ') "
	for p; do
		case $have in
		*" $p "*) ;;
		*) return 1 ;;
		esac
	done
}

# pick_ports: a base with 100 free ports (10 per server); sets base.
pick_ports()
{
	local have
	have=$(bound | sort -un)
	for _ in $(seq 1 20); do
		if ! echo "$have" | awk -v lo="$base" -v hi=$((base + 99)) \
		    '$1 >= lo && $1 <= hi { f = 1 } END { exit !f }'; then
			return 0
		fi
		base=$((base + 100))
	done
	echo "run.sh: no 100 free ports found" >&2
	exit 1
}

# tree_stat PID: "CPU_TICKS RSS_KIB NPROCS" of PID and its descendants;
# the ticks include the children it has reaped (cutime, cstime).
tree_stat()
{
	cat /proc/[0-9]*/stat 2>/dev/null | sed 's/^\([0-9]*\) (.*) /\1 /' |
	    awk -v root="$1" -v pg="$PAGE_KB" '
	{ pp[$1] = $3; t[$1] = $13 + $14; c[$1] = $15 + $16; r[$1] = $23 }
	END {
		if (!(root in pp)) { print "0 0 0"; exit }
		in_tree[root] = 1
		do {
			more = 0
			for (p in pp)
				if (!(p in in_tree) && (pp[p] in in_tree)) {
					in_tree[p] = 1
					more = 1
				}
		} while (more)
		for (p in in_tree) { ticks += t[p]; rss += r[p] * pg; n++ }
		print ticks + c[root], rss, n
	}'
}

# hwm PID: VmHWM of PID in KiB.
hwm()
{
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# build_tools: loadgen and refecho into TMP.
build_tools()
{
	local cc=${BENCH_CC:-gcc}
	local flags="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread"
	mkdir -p "$TMP/bin" || return 1
	if [ -n "$tools" ]; then
		ln -sf "$(cd "$tools" && pwd)/loadgen" \
		    "$(cd "$tools" && pwd)/refecho" "$TMP/bin/"
		"$TMP/bin/loadgen" -h 2>&1 | grep -q usage
		return
	fi
	$cc $flags -o "$TMP/bin/loadgen" "$here/loadgen.c" &&
	    $cc $flags -o "$TMP/bin/refecho" "$here/refecho.c"
}

# build_netsvcd: a Release build in build-bench/; sets netsvcd.
build_netsvcd()
{
	local b="$root/build-bench"
	echo "run.sh: building netsvcd in $b" >&2
	if timeout 600 cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Release \
	    -DNETSVCD_TESTS=OFF >"$TMP/cmake.log" 2>&1 &&
	    timeout 600 cmake --build "$b" -j "$(nproc)" >>"$TMP/cmake.log" \
	    2>&1 && [ -x "$b/daemon/netsvcd" ]; then
		netsvcd="$b/daemon/netsvcd"
		return 0
	fi
	tail -n 20 "$TMP/cmake.log" >&2
	return 1
}

# need_pkg CMD PKG: install PKG from apt when CMD is missing.
need_pkg()
{
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "run.sh: installing $2" >&2
	if ! DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y \
	    -qq "$2" >"$TMP/apt-$2.log" 2>&1; then
		timeout 300 apt-get update -qq >>"$TMP/apt-$2.log" 2>&1
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install \
		    -y -qq "$2" >>"$TMP/apt-$2.log" 2>&1
	fi
	command -v "$1" >/dev/null 2>&1
}

# setup_inetd: openbsd-inetd's binary; its system service stays off.
setup_inetd()
{
	if ! need_pkg /usr/sbin/inetd openbsd-inetd; then
		note "openbsd-inetd: cannot be installed; skipped"
		return 1
	fi
	# The package starts its service where it can: stop it, keep it off.
	if command -v systemctl >/dev/null 2>&1 &&
	    systemctl is-active --quiet inetd 2>/dev/null; then
		systemctl disable --now inetd >/dev/null 2>&1
	elif [ -x /etc/init.d/openbsd-inetd ]; then
		/etc/init.d/openbsd-inetd stop >/dev/null 2>&1
		update-rc.d openbsd-inetd disable >/dev/null 2>&1
	fi
	return 0
}

# setup_xinetd: xinetd unpacked into build-bench/peers (it conflicts with
# openbsd-inetd in apt, so it is never installed).
setup_xinetd()
{
	local d="$root/build-bench/peers/xinetd"
	if [ ! -x "$d/usr/sbin/xinetd" ]; then
		rm -rf "$d"	# an empty one from an older run.sh
		fetch_debs "$root/build-bench/peers" "$TMP/debs" xinetd
	fi
	if [ ! -x "$d/usr/sbin/xinetd" ]; then
		note "xinetd: cannot be downloaded; skipped"
		return 1
	fi
	if ldd "$d/usr/sbin/xinetd" | grep -q 'not found'; then
		note "xinetd: libraries missing ($(ldd "$d/usr/sbin/xinetd" |
		    awk '/not found/ { printf "%s ", $1 }')); skipped"
		return 1
	fi
	XINETD="$d/usr/sbin/xinetd"
}

# services_file PORTBASE FILE: a private /etc/services for a peer; inetds
# find their internal services by name, so the names carry our ports.
services_file()
{
	local p=$1
	printf '%s\t%d/%s\n' echo "$p" tcp echo "$p" udp discard $((p + 1)) tcp \
	    chargen $((p + 2)) tcp daytime $((p + 3)) tcp >"$2"
}

# inetd_conf FILE: openbsd-inetd's internal services on 127.0.0.1, with the
# per-minute limit (default 256) lifted.
inetd_conf()
{
	cat >"$1" <<EOF
127.0.0.1:
echo	stream	tcp4	nowait.10000000	root	internal
echo	dgram	udp4	wait	root	internal
discard	stream	tcp4	nowait.10000000	root	internal
chargen	stream	tcp4	nowait.10000000	root	internal
daytime	stream	tcp4	nowait.10000000	root	internal
EOF
}

# xinetd_conf FILE: xinetd's internal services on 127.0.0.1, no limits.
xinetd_conf()
{
	local s
	{
		printf 'defaults\n{\n\tinstances = UNLIMITED\n'
		printf '\tper_source = UNLIMITED\n\tcps = 10000000 1\n}\n'
		for s in echo-stream echo-dgram discard-stream \
		    chargen-stream daytime-stream; do
			printf 'service %s\n{\n\ttype = INTERNAL\n' "${s%-*}"
			printf '\tid = %s\n\tsocket_type = %s\n' "$s" "${s#*-}"
			if [ "${s#*-}" = dgram ]; then
				printf '\tprotocol = udp\n\twait = yes\n'
			else
				printf '\tprotocol = tcp\n\twait = no\n'
			fi
			printf '\tuser = root\n\tbind = 127.0.0.1\n}\n'
		done
	} >"$1"
}

# netsvcd_conf FILE PORTBASE [PROXY]: the generated configuration of
# netsvcd; with PROXY, echo and daytime take a PROXY v2 header from the
# addresses connrate connects from (127.0.0.1-16, -S).
netsvcd_conf()
{
	local p=$2 px=""
	[ -n "${3:-}" ] && px="proxy_protocol = v2
proxy_from = 127.0.0.0/27"
	cat >"$1" <<EOF
[daemon]
log_level = warning
workers = $workers
max_connections = 20000
idle_timeout = 0
backlog = 4096
buffer_limit = 1M

[echo]
service = echo
listen = tcp://127.0.0.1:$p udp://127.0.0.1:$p
$px

[discard]
service = discard
listen = tcp://127.0.0.1:$((p + 1))

[chargen]
service = chargen
listen = tcp://127.0.0.1:$((p + 2))

[daytime]
service = daytime
listen = tcp://127.0.0.1:$((p + 3))
$px
EOF
}

# start_server NAME: start it on its ports and wait until it listens;
# sets SPID.  Ports: echo (TCP and UDP) = P, discard P+1, chargen P+2,
# daytime P+3.
start_server()
{
	local name=$1 p=${PORTS[$1]} d="$TMP/srv/$1" i
	mkdir -p "$d"
	case $name in
	refecho|ref-*)
		# shellcheck disable=SC2086 # the variant's arguments split
		setsid "$TMP/bin/refecho" ${VARIANT_ARGS[$name]:-} \
		    -a 127.0.0.1 -e "$p" -u "$p" \
		    -d $((p + 1)) -c $((p + 2)) -t $((p + 3)) \
		    >"$d/log" 2>&1 &
		;;
	netsvcd|netsvcd-*)
		netsvcd_conf "$d/netsvcd.ini" "$p" \
		    "$([ "$name" = netsvcd-pv2 ] && echo proxy)"
		setsid "${EXTRA_BIN[$name]:-$netsvcd}" -f -c "$d/netsvcd.ini" \
		    >"$d/log" 2>&1 &
		;;
	openbsd-inetd)
		services_file "$p" "$d/services"
		inetd_conf "$d/inetd.conf"
		setsid unshare -m sh -c 'mount --bind "$1" /etc/services &&
		    exec /usr/sbin/inetd -i -q 4096 -R 10000000 "$2"' sh \
		    "$d/services" "$d/inetd.conf" >"$d/log" 2>&1 &
		;;
	xinetd)
		services_file "$p" "$d/services"
		xinetd_conf "$d/xinetd.conf"
		setsid unshare -m sh -c 'mount --bind "$1" /etc/services &&
		    exec "$2" -dontfork -f "$3" -filelog "$4"' sh \
		    "$d/services" "$XINETD" "$d/xinetd.conf" "$d/xinetd.log" \
		    >"$d/log" 2>&1 &
		;;
	esac
	SPID=$!
	PIDS="$PIDS $SPID"
	for i in $(seq 1 200); do
		alive "$SPID" || break
		if listening "$p" $((p + 1)) $((p + 2)) $((p + 3)); then
			return 0
		fi
		sleep 0.05
	done
	echo "run.sh: $name did not start:" >&2
	tail -n 20 "$d/log" >&2
	stop_pid "$SPID"
	return 1
}

# load_args LOAD SERVER: loadgen's arguments for LOAD against SERVER.
load_args()
{
	# Sized by bytes so that even the fastest server here (about 2.5
	# GB/s on one connection) takes more than 2 seconds: 8 GiB, 64 x 96
	# MiB, 4 GiB in 16 KiB writes, 8 GiB to discard; the others by time.
	local p=${PORTS[$2]} t="-t $threads" d=3 big=8589934592
	local each=167772160 small=4294967296 disc=8589934592 n=10000 hs=5
	local fourteen=1073741824
	if [ $quick = 1 ]; then
		d=0.5 big=8388608 each=262144 small=8388608 disc=67108864
		fourteen=1048576
		n=200 hs=1
	fi
	# Forking peers stay far below the TIME_WAIT limit that -S lifts, and
	# xinetd (libwrap) looks up a name for every address but 127.0.0.1.
	# A forking peer moves bulk echo at a tenth of netsvcd's rate or
	# less on 2 CPUs: 100 s, not 60, before a bulk run is failed.
	local lim=60
	case $2 in
	openbsd-inetd|xinetd)
		[ $n -gt $peer_hold ] && n=$peer_hold
		lim=100
		t="$t -S 1" ;;
	netsvcd-pv2) t="$t -P" ;;
	esac
	case $1 in
	echo-1x8G) echo "echo-tput -p $p -c 1 -b $big -d $lim $t" ;;
	echo-64x160M) echo "echo-tput -p $p -c 64 -b $each -d $lim $t" ;;
	echo-14x1G) echo "echo-tput -p $p -c 14 -b $fourteen -d $lim $t" ;;
	echo-1x4G-16K)
		echo "echo-tput -p $p -c 1 -b $small -w 16384 -d $lim $t" ;;
	# The server closes a daytime connection first, so the TIME_WAIT
	# 4-tuples are on its side: one source address for every server.
	daytime-64)
		case $t in
		*-S*) ;;
		*) t="$t -S 1" ;;
		esac
		echo "connrate -p $((p + 3)) -c 64 -n 10000000 -d $d $t" ;;
	echo-64B-64) echo "connrate -p $p -c 64 -n 10000000 -k 64 -d $d $t" ;;
	hold-10k) echo "hold -p $p -c $n -s $hs -d 30" ;;
	udp-64B) echo "udp-echo -p $p -c 16 -w 8 -s 64 -d $d $t" ;;
	chargen-sink)
		if [ "$2" = xinetd ]; then
			echo "sink -p $((p + 2)) -d $d -x"
		else
			echo "sink -p $((p + 2)) -d $d"
		fi ;;
	discard-64K) echo "discard-tput -p $((p + 1)) -b $disc -w 65536 -d 60" ;;
	esac
}

# field NAME LINE: the value of NAME=... in a RESULT line.
field()
{
	local x=" $2 "
	x=${x#* "$1"=}
	[ "$x" = " $2 " ] && return 1
	echo "${x%% *}"
}

# xfield NAME LINE: the value of NAME=... in the extra= list of a RESULT.
xfield()
{
	local x
	x=$(field extra "$2") || return 1
	echo ",$x," | tr ',' '\n' | sed -n "s/^$1=//p" | head -n 1 | grep .
}

# run_hold PID ARGS...: the hold load; sets HOLDLINE, its RESULT line with
# the value replaced by the growth of the server's RSS per connection in
# bytes, sampled halfway through the hold, and HOLDRSS, the RSS then.
run_hold()
{
	local pid=$1 lpid i before during n secs growth
	shift
	n=$(echo "$*" | sed 's/.*-c \([0-9]*\).*/\1/')
	secs=$(echo "$*" | sed 's/.*-s \([0-9.]*\).*/\1/')
	before=$(tree_stat "$pid" | cut -d' ' -f2)
	timeout -k 2 120 "$TMP/bin/loadgen" "$@" >"$TMP/lg.out" 2>"$TMP/lg.err" &
	lpid=$!
	for i in $(seq 1 700); do
		grep -q 'established=' "$TMP/lg.err" && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.05
	done
	sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 }')"
	during=$(tree_stat "$pid" | cut -d' ' -f2)
	wait "$lpid"
	growth=$(awk -v a="$before" -v b="$during" -v n="$n" \
	    'BEGIN { printf "%.1f", (b - a) * 1024 / n }')
	growth="value=$growth unit=B\/conn"
	HOLDLINE=$(sed -n "s/^\(RESULT.*\) value=[^ ]* unit=[^ ]* /\1 $growth /p" \
	    "$TMP/lg.out")
	HOLDRSS=$during
}

# run_one LOAD SERVER REP: one run; fills VAL OK CPU RSS HWM.
run_one()
{
	local load=$1 srv=$2 rep=$3 pid=$SPID args line v ok s0 s1 rss
	local k="$load/$srv/$rep"
	args=$(load_args "$load" "$srv")
	s0=$(tree_stat "$pid")
	if [ "$load" = hold-10k ]; then
		run_hold "$pid" $args
		line=$HOLDLINE
		rss=$HOLDRSS
	else
		line=$(timeout -k 2 150 "$TMP/bin/loadgen" $args 2>"$TMP/lg.err" |
		    grep '^RESULT')
		rss=$(tree_stat "$pid" | cut -d' ' -f2)
	fi
	s1=$(tree_stat "$pid")
	echo "[$load rep $rep] $srv: ${line:-no result}" >&2
	if [ -s "$TMP/lg.err" ]; then
		sed 's/^/    /' "$TMP/lg.err" | grep -v established= >&2
	fi
	v=$(field value "$line") || v=0
	ok=$(field ok "$line") || ok=0
	alive "$pid" || ok=0
	VAL[$k]=$v
	OK[$k]=$ok
	CCPU[$k]=$(xfield cpu_s "$line") || CCPU[$k]=""
	BYTES[$k]=$(xfield bytes "$line") || BYTES[$k]=""
	SECS[$k]=$(xfield secs "$line") || SECS[$k]=""
	CONNS[$k]=$(xfield conns "$line") || CONNS[$k]=""
	CPU[$k]=$(awk -v a="${s0%% *}" -v b="${s1%% *}" -v hz="$HZ" \
	    'BEGIN { printf "%.2f", (b - a) / hz }')
	RSS[$k]=$rss
	s1=$(hwm "$pid")
	[ "${HWM[$load/$srv]:-0}" -lt "${s1:-0}" ] && HWM[$load/$srv]=$s1
	case $ok/$srv in
	1/*) ;;
	*/refecho|*/netsvcd|*/netsvcd-pv2) status=1 ;;
	esac
}

# skip LOAD SERVER: why SERVER does not run LOAD, or nothing.
skip()
{
	if [ "$1" = udp-64B ] && [ "$2" = openbsd-inetd ]; then
		echo "openbsd-inetd drops UDP from 127.0.0.0/8 (dg_badinput)"
	fi
	case $2/$RATE_LOADS in
	netsvcd-pv2/*" $1 "*) ;;
	netsvcd-pv2/*) echo "the PROXY load is the connection-rate loads" ;;
	esac
}

# start_all LOAD: start every server that runs LOAD; fills SPIDS.
start_all()
{
	local load=$1 srv
	for srv in "${SERVERS[@]}"; do
		[ -n "$(skip "$load" "$srv")" ] && continue
		if start_server "$srv"; then
			SPIDS[$srv]=$SPID
		elif [ "$srv" = refecho ] || [ "${srv%-pv2}" = netsvcd ]; then
			note "$srv: did not start for $load"
			status=1
		fi
	done
}

# stop_all: stop the servers start_all started.
stop_all()
{
	local srv
	for srv in "${!SPIDS[@]}"; do
		stop_pid "${SPIDS[$srv]}"
	done
	SPIDS=()
}

# run_load LOAD: every server, REPS times.  The servers are started fresh
# for each load, and for each repetition of hold-10k, whose RSS growth
# would otherwise be hidden by memory the first repetition left free.
run_load()
{
	local load=$1 srv rep
	LOADAVG[$load]=$(cut -d' ' -f1 /proc/loadavg)
	for rep in $(seq 1 "$reps"); do
		if [ "$rep" = 1 ] || [ "$load" = hold-10k ]; then
			stop_all
			start_all "$load"
		fi
		# Each repetition starts with the next server: a server that
		# runs later finds more TIME_WAIT sockets of the others.
		for srv in $(rotated "$rep"); do
			[ -n "${SPIDS[$srv]:-}" ] || continue
			SPID=${SPIDS[$srv]}
			run_one "$load" "$srv" "$rep"
		done
	done
	stop_all
}

# rotated REP: the servers, rotated by (REP-1)/2 and, in even
# repetitions, in reverse: over 2N repetitions of N servers each one comes
# first twice and each pair runs in either order equally often.
rotated()
{
	local n=${#SERVERS[@]} i k=$((($1 - 1) / 2))
	for i in $(seq 0 $((n - 1))); do
		[ $(($1 % 2)) = 0 ] && i=$((n - 1 - i))
		echo "${SERVERS[$(((i + k) % n))]}"
	done
}

# tw_unbound: the connection-rate loads leave about 60,000 TIME_WAIT
# sockets a run, for 60 seconds.  Past tcp_max_tw_buckets (131,072 here)
# the kernel stops keeping them, and the servers measured then close
# connections more cheaply than those measured before.  Lift the limit for
# the run (cleanup puts it back) so that every server pays the same.
tw_unbound()
{
	if [ -w "$TW_KNOB" ] && TW_SAVED=$(cat "$TW_KNOB") &&
	    echo 4194304 >"$TW_KNOB" 2>/dev/null; then
		return
	fi
	TW_SAVED=""
	note "cannot raise $TW_KNOB (not root?): in daytime-64 and" \
	    "echo-64B-64, servers measured later may gain when it overflows"
}

# median FORMAT: the median of the numbers on stdin, or "-".
median()
{
	sort -g | awk -v f="$1" 'NF { a[++n] = $1 } END { if (n == 0)
	    print "-"; else if (n % 2) printf f "\n", a[(n + 1) / 2];
	    else printf f "\n", (a[n / 2] + a[n / 2 + 1]) / 2 }'
}

# run_iperf: iperf3, one TCP stream on loopback, REPS times.
run_iperf()
{
	local p=$((base + 90)) rep pid secs=3 v
	[ $quick = 1 ] && secs=1
	if ! need_pkg iperf3 iperf3; then
		note "iperf3: cannot be installed; no limit row"
		return
	fi
	for rep in $(seq 1 "$reps"); do
		setsid iperf3 -s -1 -B 127.0.0.1 -p "$p" >"$TMP/iperf-s.log" \
		    2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		for _ in $(seq 1 100); do
			listening "$p" && break
			sleep 0.05
		done
		v=$(timeout 30 iperf3 -c 127.0.0.1 -p "$p" -t "$secs" -J \
		    2>/dev/null | awk '/"sum_received"/ { f = 1 }
		    f && /"bits_per_second"/ { gsub(/,/, ""); print $2 / 8e6;
		    exit }')
		echo "[tcp-1stream rep $rep] iperf3: ${v:-failed} MB/s" >&2
		VAL[tcp-1stream/iperf3/$rep]=$v
		stop_pid "$pid"
	done
}

# stats [DIGITS]: "median min max" of the numbers on stdin (2 decimals
# unless told), or "- - -".
stats()
{
	sort -g | awk -v d="${1:-2}" 'NF { a[++n] = $1 } END { if (n == 0) {
	    print "- - -"; exit } f = "%." d "f"
	    m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	    printf f " " f " " f "\n", m, a[1], a[n] }'
}

# per_gb CPU BYTES: seconds of CPU per GB (10^9 bytes), or nothing.
per_gb()
{
	awk -v c="$1" -v b="$2" 'BEGIN { if (c != "" && b > 0)
	    printf "%.3f", c / (b / 1e9) }'
}

# ratios LOAD A B [cpu|ccpu]: A's value / B's value in each repetition
# where both passed, one a line; with cpu (ccpu), A's server (loadgen) CPU
# time per connection over B's.
ratios()
{
	local rep a b
	for rep in $(seq 1 "$reps"); do
		a=$1/$2/$rep b=$1/$3/$rep
		[ "${OK[$a]:-0}" = 1 ] && [ "${OK[$b]:-0}" = 1 ] || continue
		if [ -n "${4:-}" ]; then
			per_conn_ratio "$4" "$a" "$b"
			continue
		fi
		awk -v a="${VAL[$a]}" -v b="${VAL[$b]}" 'BEGIN { if (b != 0)
		    printf "%.4f\n", a / b }'
	done
}

# per_conn_ratio cpu|ccpu A B: the server's (cpu) or loadgen's (ccpu) CPU
# time per connection in run A over the same in run B.
per_conn_ratio()
{
	local ca cb
	if [ "$1" = cpu ]; then
		ca=${CPU[$2]} cb=${CPU[$3]}
	else
		ca=${CCPU[$2]:-0} cb=${CCPU[$3]:-0}
	fi
	awk -v a="$ca" -v na="${CONNS[$2]:-0}" -v b="$cb" \
	    -v nb="${CONNS[$3]:-0}" 'BEGIN {
	    if (na > 0 && b > 0) printf "%.4f\n", a * nb / na / b }'
}

# flagged MIN MAX TARGET: BELOW when the whole spread is under TARGET, CROSS
# when it crosses it, else nothing.
flagged()
{
	awk -v lo="$1" -v hi="$2" -v t="$3" 'BEGIN {
	    if (hi < t) print "BELOW"; else if (lo < t) print "CROSS" }'
}

# row LOAD SERVER: one line of the table.
row()
{
	local load=$1 srv=$2 rep k vals="" ratios="" cpus="" rsss="" n=0 good=0
	local unit="MB/s" sgb="" cgb="" flag="" short=0 st med lo hi
	case $load in
	daytime-64|echo-64B-64) unit="conn/s" ;;
	udp-64B) unit="replies/s" ;;
	hold-10k) unit="B/conn" ;;
	esac
	for rep in $(seq 1 "$reps"); do
		k="$load/$srv/$rep"
		[ -n "${OK[$k]:-}" ] || continue
		n=$((n + 1))
		cpus="$cpus ${CPU[$k]:-}"
		rsss="$rsss ${RSS[$k]:-}"
		[ "${OK[$k]}" = 1 ] || continue
		good=$((good + 1))
		vals="$vals ${VAL[$k]}"
		case $BULK_LOADS in
		*" $load "*)
			sgb="$sgb $(per_gb "${CPU[$k]}" "${BYTES[$k]}")"
			cgb="$cgb $(per_gb "${CCPU[$k]}" "${BYTES[$k]}")"
			if awk -v s="${SECS[$k]:-99}" -v m=$MIN_SECS \
			    'BEGIN { exit !(s < m) }'; then
				short=1
			fi ;;
		esac
	done
	[ $n = 0 ] && return
	# hold-10k has an absolute target: no ratio.
	[ "$load" != hold-10k ] && ratios=$(ratios "$load" "$srv" refecho)
	st=$(echo "$ratios" | stats)
	read -r med lo hi <<<"$st"
	if [ "$srv" != refecho ] && [ "$med" != - ]; then
		flag=$(flagged "$lo" "$hi" $TARGET)
	fi
	if [ $short = 1 ] && [ $quick = 0 ]; then
		flag="${flag:+$flag,}SHORT"
	fi
	printf '%-13s %-14s %10s %-9s %5s %11s %-11s %6s %6s %6s %8s %5s %4s %5s\n' \
	    "$load" "$srv" "$(echo $vals | tr ' ' '\n' | median %.1f)" "$unit" \
	    "$med" "$([ "$med" = - ] && echo - || echo "$lo-$hi")" \
	    "${flag:--}" \
	    "$(echo $sgb | tr ' ' '\n' | median %.3f)" \
	    "$(echo $cgb | tr ' ' '\n' | median %.3f)" \
	    "$(echo $cpus | tr ' ' '\n' | median %.2f)" \
	    "$(echo $rsss | tr ' ' '\n' | median %d)" \
	    "$good/$n" "$NCPU" "${LOADAVG[$load]:--}"
}

# versus: the other netsvcd rows against netsvcd, per repetition:
# netsvcd-pv2 / netsvcd (the PROXY header's cost) and netsvcd /
# netsvcd-NAME (what the change since NAME costs), each with its target.
versus()
{
	local load srv a b t st med lo hi n cpu cli head=0
	for load in $loads; do
		for srv in "${SERVERS[@]}"; do
			case $srv in
			netsvcd-pv2) a=$srv b=netsvcd t=$PROXY_TARGET ;;
			netsvcd-*) a=netsvcd b=$srv t=$ALSO_TARGET ;;
			*) continue ;;
			esac
			n=$(ratios "$load" "$a" "$b" | grep -c .)
			st=$(ratios "$load" "$a" "$b" | stats 3)
			read -r med lo hi <<<"$st"
			[ "$med" = - ] && continue
			cpu=$(ratios "$load" "$a" "$b" cpu | stats 3)
			cli=$(ratios "$load" "$a" "$b" ccpu | stats 3)
			if [ $head = 0 ]; then
				echo
				printf '%-13s %-29s %6s %13s %6s %-5s %4s %13s %13s\n' \
				    load "netsvcd against itself" ratio \
				    spread target flag reps cpu/conn cli/conn
				head=1
			fi
			printf '%-13s %-29s %6s %13s %6s %-5s %4s %6s %-13s %6s %s\n' \
			    "$load" "$a / $b" "$med" "$lo-$hi" "$t" \
			    "$(flagged "$lo" "$hi" "$t" | grep . || echo -)" "$n" \
			    "${cpu%% *}" "$(echo "$cpu" | awk '{ print $2 "-" $3 }')" \
			    "${cli%% *}" "$(echo "$cli" | awk '{ print $2 "-" $3 }')"
		done
	done
	[ $head = 0 ] && return
	echo
	echo "ratio: median over repetitions of the first server's rate over"
	echo "the second's in the same repetition; spread: the smallest and"
	echo "largest; flag against the target as above.  cpu/conn: the same"
	echo "for the servers' CPU time per connection (median, spread; above"
	echo "1: the first costs more); cli/conn: the same for loadgen's CPU"
	echo "time (the client's side of the cost).  netsvcd-pv2: loadgen sends a PROXY v2"
	echo "header on every connection (proxy_protocol = v2); netsvcd-NAME:"
	echo "the binary given by --also."
}

# table: everything measured, and the notes.
table()
{
	local load srv n
	echo
	if [ $quick = 1 ]; then
		echo "QUICK RUN: one repetition of tiny loads, far shorter than"
		echo "$MIN_SECS s; a smoke test of the suite, not a measurement."
	fi
	printf '%-13s %-14s %10s %-9s %5s %11s %-11s %6s %6s %6s %8s %5s %4s %5s\n' \
	    load server median unit ratio spread flag srv/GB cli/GB cpu_s \
	    rss_kib ok cpus load1
	for load in $loads; do
		for srv in "${SERVERS[@]}"; do
			row "$load" "$srv"
		done
	done
	if [ $iperf = 1 ]; then
		n=$(for n in $(seq 1 "$reps"); do
			echo "${VAL[tcp-1stream/iperf3/$n]:-}"
		done)
		printf '%-13s %-14s %10s %-9s %5s %11s %-11s %6s %6s %6s %8s %5s %4s %5s\n' \
		    tcp-1stream iperf3 "$(echo "$n" | median %.1f)" MB/s - - - \
		    - - - - "$(echo "$n" | grep -c .)/$reps" "$NCPU" -
	fi
	echo
	echo "ratio: median over repetitions of value / refecho's value in the"
	echo "same repetition; spread: the smallest and largest of those"
	echo "ratios; flag: CROSS when the spread crosses the target ($TARGET),"
	echo "BELOW when all of it is under, SHORT when a run lasted under"
	echo "$MIN_SECS s.  srv/GB, cli/GB: CPU seconds of the server and of"
	echo "loadgen per 10^9 bytes (bulk loads; echo counts each byte once)."
	echo "cpu_s: server CPU time per run (children included); rss_kib:"
	echo "server RSS after the run (during it for hold, all processes of a"
	echo "forking server).  cpus: online CPUs; load1: the 1-minute load"
	echo "average as the load started (other work on the machine)."
	echo "hold-10k: value = RSS growth per idle connection, in bytes;"
	echo "ok = all established and still echoing."
	versus
	for n in "${NOTES[@]}"; do
		echo "note: $n"
	done
}

# main: build, start, measure, print the table; the exit status.
main()
{
	local load busy
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	busy=$(awk '$1 > 1 { print $1 }' /proc/loadavg)
	[ -n "$busy" ] && note "load average $busy before the run: other" \
	    "work shares the cores, the numbers are noisy"
	if ! build_tools; then
		echo "run.sh: cannot build loadgen and refecho" >&2
		exit 1
	fi
	SERVERS=(refecho)
	if [ $use_netsvcd = 1 ]; then
		if [ -z "$netsvcd" ] && ! build_netsvcd; then
			note "netsvcd: does not build; skipped"
			status=1
		elif [ ! -x "$netsvcd" ]; then
			note "netsvcd: $netsvcd is not executable; skipped"
			status=1
		else
			SERVERS+=(netsvcd)
			[ $proxy = 1 ] && SERVERS+=(netsvcd-pv2)
		fi
	fi
	if [ $peers = 1 ]; then
		if ! unshare -m true 2>/dev/null; then
			note "peers: need unshare -m (root) for their private" \
			    "/etc/services; skipped"
		else
			setup_inetd && SERVERS+=(openbsd-inetd)
			setup_xinetd && SERVERS+=(xinetd)
		fi
	elif [ -n "$XINETD" ]; then
		if ! unshare -m true 2>/dev/null; then
			note "xinetd: needs unshare -m (root); skipped"
		elif [ -x "$XINETD" ]; then
			SERVERS+=(xinetd)
		else
			note "xinetd: $XINETD is not executable; skipped"
		fi
	fi
	SERVERS+=("${extras[@]}")
	if [ ${#SERVERS[@]} -gt 10 ]; then
		echo "run.sh: at most 10 servers" >&2
		exit 2
	fi
	pick_ports
	tw_unbound
	local i=0 srv
	for srv in "${SERVERS[@]}"; do
		PORTS[$srv]=$((base + 10 * i))
		i=$((i + 1))
	done
	echo "run.sh: servers: ${SERVERS[*]}; ports from $base;" \
	    "$reps repetition(s)" >&2
	for load in $loads; do
		run_load "$load"
	done
	[ $iperf = 1 ] && run_iperf
	case " ${SERVERS[*]} / $loads " in
	*" xinetd "*" chargen-sink "*)
		note "xinetd: its chargen ring is not RFC 864 (93 characters," \
		    "33..125), so its sink run checks only the line form" ;;
	esac
	case " ${SERVERS[*]} / $loads " in
	*" openbsd-inetd "*" udp-64B "*) note "openbsd-inetd: no udp-64B" \
	    "row: $(skip udp-64B openbsd-inetd)" ;;
	esac
	table
	exit $status
}

main
