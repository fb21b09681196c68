#!/bin/bash
# callgrind.sh: deterministic cost figures, free of timing noise: the
# instructions the server executes (user space only) per echoed KiB and
# per daytime connection, for netsvcd and the reference refecho.
#
# usage: bench/callgrind.sh [NETSVCD_BINARY]
# Each figure is (instructions with the load - instructions of an idle
# run of the same length) / work, so start-up costs cancel out.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
netsvcd=${1:-$root/build/daemon/netsvcd}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is missing" >&2; exit 2; }
[ -x "$netsvcd" ] || { echo "callgrind.sh: no $netsvcd (build first)" >&2; exit 2; }
gcc -O2 -D_GNU_SOURCE -o "$tmp/loadgen" "$here/loadgen.c" -lpthread
gcc -O2 -D_GNU_SOURCE -o "$tmp/refecho" "$here/refecho.c"
echo_bytes=67108864
day_conns=5000
cat >"$tmp/cg.ini" <<INI
[daemon]
log_level = warning
idle_timeout = 0
max_connections = 20000
[echo]
service = echo
listen = tcp://127.0.0.1:25007
[daytime]
service = daytime
listen = tcp://127.0.0.1:25013
INI

# instructions NAME LOAD SERVER...: run SERVER under callgrind with LOAD
# (idle, echo or daytime) against it; print the total instructions.
instructions()
{
	name=$1 load=$2 port_e=$3 port_d=$4
	shift 4
	valgrind --tool=callgrind --callgrind-out-file="$tmp/$name.out" \
	    "$@" >/dev/null 2>&1 &
	pid=$!
	sleep 3
	case $load in
	echo) "$tmp/loadgen" echo-tput -p "$port_e" -c 1 -b $echo_bytes \
	    -T 120 >/dev/null ;;
	daytime) "$tmp/loadgen" connrate -p "$port_d" -c 8 -n $day_conns \
	    -T 120 >/dev/null ;;
	esac
	sleep 1
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	sed -n 's/^summary: //p' "$tmp/$name.out"
}

printf '%-8s %14s %18s\n' server "instr/echo KiB" "instr/daytime conn"
for server in refecho netsvcd; do
	if [ $server = netsvcd ]; then
		set -- "$netsvcd" -f -c "$tmp/cg.ini"; pe=25007; pd=25013
	else
		set -- "$tmp/refecho" -a 127.0.0.1 -e 25107 -t 25113
		pe=25107; pd=25113
	fi
	idle=$(instructions $server-idle idle $pe $pd "$@")
	echo_i=$(instructions $server-echo echo $pe $pd "$@")
	day_i=$(instructions $server-day daytime $pe $pd "$@")
	awk -v s=$server -v i="$idle" -v e="$echo_i" -v d="$day_i" \
	    -v kib=$((echo_bytes / 1024)) -v n=$day_conns \
	    'BEGIN { printf "%-8s %14.1f %18.0f\n", s, (e - i) / kib, (d - i) / n }'
done
