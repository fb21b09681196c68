#!/bin/sh
# activate.sh NETSVCD: socket activation the way an operator tries it, with
# systemd-socket-activate(1): a TCP and a UDP echo socket bound by it and
# passed to netsvcd (LISTEN_FDS), then served.  Exit 77 (skipped) without
# systemd-socket-activate or nc.  Loopback only, every wait bounded.
set -u
bin=$1
command -v systemd-socket-activate >/dev/null 2>&1 ||
	{ echo "activate: no systemd-socket-activate, skipped"; exit 77; }
command -v nc >/dev/null 2>&1 || { echo "activate: no nc, skipped"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

fail()
{
	echo "activate: FAIL: $*"
	echo "---- daemon log ----"
	cat "$tmp/log" 2>/dev/null
	exit 1
}

# free_port: a port no TCP or UDP socket uses (any state: a UDP client's
# ephemeral port blocks a bind too), nor anything on 127.0.0.1 listens on.
free_port()
{
	p=$((20000 + ($$ * 7 + $1) % 20000))
	while nc -z 127.0.0.1 "$p" 2>/dev/null || { command -v ss >/dev/null &&
	    [ -n "$(ss -Htuan "( sport = :$p )" 2>/dev/null)" ]; }; do
		p=$((p + 1))
	done
	echo "$p"
}

# activate PROTO PORT: start systemd-socket-activate with netsvcd behind it.
activate()
{
	proto=$1 port=$2
	cat >"$tmp/a.ini" <<INI
[echo]
service = echo
listen = $proto://127.0.0.1:$port
INI
	extra=
	[ "$proto" = udp ] && extra=--datagram
	: >"$tmp/log"
	systemd-socket-activate $extra -l "127.0.0.1:$port" \
	    "$bin" -f -c "$tmp/a.ini" 2>"$tmp/log" &
	pid=$!
	i=0
	until grep -q "Listening on" "$tmp/log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "systemd-socket-activate did not listen"
		sleep 0.1
	done
}

stop()
{
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# TCP: the first connection starts netsvcd, which serves it.
port=$(free_port 1)
activate tcp "$port"
out=$(printf 'hello\n' | timeout 10 nc -N 127.0.0.1 "$port")
[ "$out" = hello ] || fail "tcp echo gave '$out'"
grep -q "listening on tcp://127.0.0.1:$port (from systemd)" "$tmp/log" ||
	fail "tcp socket not adopted from systemd"
stop

# UDP: the first datagram starts netsvcd, which answers it.
port=$(free_port 2)
activate udp "$port"
out=$(printf 'ping' | timeout 10 nc -u -w 2 127.0.0.1 "$port")
[ "$out" = ping ] || fail "udp echo gave '$out'"
grep -q "listening on udp://127.0.0.1:$port (from systemd)" "$tmp/log" ||
	fail "udp socket not adopted from systemd"
stop
echo "activate: tcp and udp ok"
