#!/bin/bash
# deploy.sh: netsvcd behind a real HAProxy with the PROXY protocol, scraped
# by a real Prometheus, in network namespaces this script creates and
# always removes.
#
#   tests/deploy/deploy.sh NETSVCD
#
# Five namespaces joined by a bridge in the balancer's: two clients (c1,
# c2), the balancer (lb: HAProxy in TCP mode with send-proxy-v2 and an HTTP
# check of /ready, and Prometheus), two backends (b1, b2: netsvcd with the
# same config).  The addresses are 198.18.0.0/24 (RFC 2544's benchmarking
# range), assigned only to this script's own veth pairs: nothing leaves
# the machine.  Checks, in order:
#   1. echo and daytime answer through the balancer, from both backends;
#   2. the backends log the clients' addresses, not the balancer's;
#   3. a rate limit hit by client 1 does not refuse client 2;
#   4. a connection straight to a backend from outside proxy_from is
#      refused and counted;
#   5. Prometheus scrapes both backends (up == 1) and the echo connections
#      it counts are those the clients made;
#   6. SIGTERM to backend 1 with drain_delay: /ready turns 503 at once, and
#      no connection started after the drain began is lost.
# Exits 0 when all pass, 77 (skipped, with the reason) when the host cannot
# run it, 1 otherwise.
set -u

netsvcd=${1:?usage: $0 NETSVCD}
netsvcd=$(readlink -f "$netsvcd")
tag=nsd$$
tmp=$(mktemp -d /tmp/netsvcd-deploy.XXXXXX)
pass=0
fail=0
pids=""

skip() { echo "deploy: SKIP: $*"; exit 77; }
ok() { echo "deploy: ok: $*"; pass=$((pass + 1)); }
bad() { echo "deploy: FAIL: $*"; fail=$((fail + 1)); }
in_ns() { local ns=$1; shift; ip netns exec "$tag-$ns" "$@"; }

cleanup()
{
	local p ns
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	sleep 0.3
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	# Whatever still runs in the namespaces goes with them.
	for ns in c1 c2 lb b1 b2; do
		p=$(ip netns pids "$tag-$ns" 2>/dev/null)
		[ -n "$p" ] && kill -9 $p 2>/dev/null
		ip netns del "$tag-$ns" 2>/dev/null
	done
	if [ "$fail" -gt 0 ]; then
		for f in "$tmp"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 30 lines) ----"
			tail -n 30 "$f"
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
for t in haproxy prometheus curl nc ip; do
	command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh)"
done
ip netns add "$tag-probe" 2>/dev/null || skip "ip netns does not work here"
ip netns del "$tag-probe"

# The network: a bridge in lb, one veth pair per other namespace.
declare -A addr=([lb]=198.18.0.1 [c1]=198.18.0.11 [c2]=198.18.0.12
    [b1]=198.18.0.21 [b2]=198.18.0.22)
for ns in lb c1 c2 b1 b2; do
	ip netns add "$tag-$ns" || { bad "netns $ns"; exit 1; }
	in_ns "$ns" ip link set lo up
done
in_ns lb ip link add br0 type bridge
in_ns lb ip addr add "${addr[lb]}/24" dev br0
in_ns lb ip link set br0 up
for ns in c1 c2 b1 b2; do
	ip link add "v$tag$ns" type veth peer name "p$tag$ns"
	ip link set "v$tag$ns" netns "$tag-$ns"
	ip link set "p$tag$ns" netns "$tag-lb"
	in_ns "$ns" ip link set "v$tag$ns" name eth0
	in_ns "$ns" ip addr add "${addr[$ns]}/24" dev eth0
	in_ns "$ns" ip link set eth0 up
	in_ns lb ip link set "p$tag$ns" master br0
	in_ns lb ip link set "p$tag$ns" up
done

# Background processes are started with ip netns exec itself (which execs
# the program), so that $! is the program and a signal reaches it.

# The backends: one config, the balancer the only PROXY sender.
cat > "$tmp/netsvcd.ini" <<EOF
[daemon]
metrics_listen = tcp://0.0.0.0:9100
drain_delay = 3s
shutdown_timeout = 2s
log_connections = close

[echo]
service = echo
listen = tcp://0.0.0.0:7
proxy_protocol = v2
proxy_from = ${addr[lb]}/32
rate = 2
burst = 5

[daytime]
service = daytime
listen = tcp://0.0.0.0:13
proxy_protocol = v2
proxy_from = ${addr[lb]}/32
EOF
"$netsvcd" -t -c "$tmp/netsvcd.ini" >/dev/null 2>"$tmp/check.log" ||
    { bad "netsvcd -t: $(cat "$tmp/check.log")"; exit 1; }
for b in b1 b2; do
	# Each backend stands for a host of its own: its own runtime
	# directory, so the lock against a second copy sees two hosts.
	mkdir -p "$tmp/run-$b"
	RUNTIME_DIRECTORY=$tmp/run-$b ip netns exec "$tag-$b" "$netsvcd" -f \
	    -c "$tmp/netsvcd.ini" >"$tmp/$b.log" 2>&1 &
	pids="$pids $!"
	eval "pid_$b=$!"
done

cat > "$tmp/haproxy.cfg" <<EOF
global
	maxconn 512
defaults
	mode tcp
	timeout connect 2s
	timeout client 10s
	timeout server 10s
	timeout check 1s
frontend echo
	bind ${addr[lb]}:7
	default_backend echo
frontend daytime
	bind ${addr[lb]}:13
	default_backend daytime
backend echo
	balance roundrobin
	option httpchk GET /ready
	http-check expect status 200
	default-server check port 9100 inter 200ms fall 1 rise 2 send-proxy-v2
	server b1 ${addr[b1]}:7
	server b2 ${addr[b2]}:7
backend daytime
	balance roundrobin
	option httpchk GET /ready
	http-check expect status 200
	default-server check port 9100 inter 200ms fall 1 rise 2 send-proxy-v2
	server b1 ${addr[b1]}:13
	server b2 ${addr[b2]}:13
EOF
ip netns exec "$tag-lb" haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids="$pids $!"

cat > "$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: netsvcd
    static_configs:
      - targets: ['${addr[b1]}:9100', '${addr[b2]}:9100']
EOF
ip netns exec "$tag-lb" prometheus --config.file="$tmp/prometheus.yml" \
    --storage.tsdb.path="$tmp/tsdb" --web.listen-address=127.0.0.1:9090 \
    >"$tmp/prometheus.log" 2>&1 &
pids="$pids $!"

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for()
{
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
ready() { in_ns lb curl -sf "http://${addr[$1]}:9100/ready"; }
echo_via() { in_ns "$1" sh -c "printf '$2' | nc -N -w 3 $3 7"; }

for b in b1 b2; do
	wait_for 15 ready "$b" || { bad "backend $b never ready"; exit 1; }
done
# HAProxy marks a server up after rise (2) good checks.
sleep 1.5

# 1. Both services through the balancer, spread over both backends.
n=0
for i in 1 2 3 4; do
	[ "$(echo_via c2 "hello$i" "${addr[lb]}")" = "hello$i" ] && n=$((n + 1))
done
echoes=$n
[ "$n" -eq 4 ] && ok "echo through HAProxy (4 of 4)" ||
    bad "echo through HAProxy: $n of 4"
d=$(in_ns c2 nc -d -w 3 "${addr[lb]}" 13)
case $d in
*[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*) ok "daytime through HAProxy: $d" ;;
*) bad "daytime through HAProxy: '$d'" ;;
esac
sleep 0.5
if grep -q "${addr[c2]}" "$tmp/b1.log" && grep -q "${addr[c2]}" "$tmp/b2.log"
then
	ok "connections spread over both backends"
else
	bad "not spread over both backends"
fi

# 2. The logs name the client, never the balancer.
if grep -qE "echo.*${addr[lb]}:" "$tmp/b1.log" "$tmp/b2.log"; then
	bad "a connection log names the balancer"
else
	ok "connection logs name the clients"
fi

# 3. Client 1 floods past its rate; client 2 still gets every echo.
n=0
for i in $(seq 1 20); do
	[ "$(echo_via c1 "a$i" "${addr[lb]}")" = "a$i" ] && n=$((n + 1))
done
echoes=$((echoes + n))
[ "$n" -lt 20 ] && ok "client 1 rate-limited ($n of 20 served)" ||
    bad "client 1 was never rate-limited (20 of 20)"
n=0
for i in 1 2 3 4; do
	[ "$(echo_via c2 "b$i" "${addr[lb]}")" = "b$i" ] && n=$((n + 1))
done
echoes=$((echoes + n))
[ "$n" -eq 4 ] && ok "client 2 unaffected (4 of 4)" ||
    bad "client 2 refused with client 1's limit: $n of 4"

# 4. Straight to a backend from outside proxy_from: refused, counted.
r=$(echo_via c1 direct "${addr[b1]}")
m=$(in_ns lb curl -sf "http://${addr[b1]}:9100/metrics")
if [ -z "$r" ] && echo "$m" | grep -E \
    'netsvcd_connections_refused_total\{instance="echo".*reason="proxy_from"\} [1-9]' \
    >/dev/null; then
	ok "direct connection from outside proxy_from refused and counted"
else
	bad "direct connection: reply '$r', refused counter: $(echo "$m" |
	    grep 'refused_total{instance="echo"' | tr '\n' ' ')"
fi

# 5. Prometheus: both targets up, and the echo connections add up.
promq() {
	in_ns lb curl -sf --get --data-urlencode "query=$1" \
	    http://127.0.0.1:9090/api/v1/query |
	    sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
up_both() { [ "$(promq 'sum(up{job="netsvcd"})')" = 2 ]; }
count_is() {
	[ "$(promq 'sum(netsvcd_connections_accepted_total{exported_instance="echo"})')" = "$echoes" ]
}
if wait_for 30 up_both; then
	ok "Prometheus: up == 1 for both backends"
else
	bad "Prometheus: up is '$(promq 'sum(up{job="netsvcd"})')', want 2"
fi
if wait_for 20 count_is; then
	ok "Prometheus counts $echoes echo connections, as the clients made"
else
	bad "Prometheus counts $(promq 'sum(netsvcd_connections_accepted_total{exported_instance="echo"})') echo connections, clients made $echoes"
fi

# 6. Drain: SIGTERM to b1; /ready is 503 at once; HAProxy moves the new
# connections to b2 before b1 stops listening (drain_delay = 3s).  The
# loop uses daytime, which has no rate limit.
in_ns c2 sh -c '
	i=0 lost=0
	end=$(($(date +%s) + 5))
	while [ "$(date +%s)" -lt "$end" ] && [ $i -lt 200 ]; do
		i=$((i + 1))
		r=$(nc -d -w 3 '"${addr[lb]}"' 13)
		case $r in
		*:[0-9][0-9]:*) ;;
		*) lost=$((lost + 1)); echo "lost $i: $r" ;;
		esac
		sleep 0.05
	done
	echo "drain: $i connections, $lost lost"
	[ $lost -eq 0 ]' >"$tmp/drain.log" 2>&1 &
loop=$!
sleep 1
kill -TERM "$pid_b1"
ready_code() {
	in_ns lb curl -s -o /dev/null -w '%{http_code}' \
	    "http://${addr[b1]}:9100/ready"
}
draining() { [ "$(ready_code)" = 503 ]; }
wait_for 1 draining && ok "/ready is 503 once SIGTERM arrived" ||
    bad "/ready after SIGTERM: $(ready_code)"
if wait "$loop"; then
	ok "$(tail -n 1 "$tmp/drain.log") during the drain"
else
	bad "$(tail -n 3 "$tmp/drain.log" | tr '\n' ' ')"
fi
wait_for 10 sh -c "! kill -0 $pid_b1" ||
    bad "backend 1 still running after drain_delay + shutdown_timeout"

echo "deploy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
