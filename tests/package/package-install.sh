#!/bin/bash
# package-install.sh DEB_PATH_FILE: install the .deb that package-deb built
# (its path is in DEB_PATH_FILE) with dpkg -i, check what it installed, run
# "/usr/sbin/netsvcd -t" on the shipped config, start the installed binary
# as nobody on a temporary config (loopback, port 0), check that daytime and
# echo answer, stop it with SIGTERM, then remove and purge the package.
#
# Exits 77 (skipped) when not root, without dpkg, without the .deb, or when
# netsvcd is already on this machine (a package, or files from
# "cmake --install"): the test never touches an installation it did not make.
set -u

deb_path_file=$1

skip() { echo "package-install: $*, skipped"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "not root"
command -v dpkg >/dev/null 2>&1 || skip "dpkg not found"
[ -s "$deb_path_file" ] || skip "no .deb (package-deb did not build one)"
deb=$(cat "$deb_path_file")
[ -f "$deb" ] || skip "$deb not found"
status=$(dpkg-query -W -f='${db:Status-Status}' netsvcd 2>/dev/null)
case $status in
"" | not-installed) ;;
*) skip "package netsvcd is already on this machine ($status)" ;;
esac
for f in /usr/sbin/netsvcd /etc/netsvcd /lib/systemd/system/netsvcd.service \
    /lib/systemd/system/netsvcd.socket; do
	[ -e "$f" ] && skip "$f exists (not from the package)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-pkg.XXXXXX")
pid=""
# The module SDK, when it was built and pkg-config and cc are here.
dev=$(dirname "$deb")/$(basename "$deb" | sed 's/^netsvcd_/netsvcd-dev_/')
if [ ! -f "$dev" ] || ! command -v pkg-config >/dev/null 2>&1 ||
    ! command -v cc >/dev/null 2>&1 ||
    [ -n "$(dpkg-query -W -f='${db:Status-Status}' netsvcd-dev 2>/dev/null |
    grep -v not-installed)" ]; then
	echo "package-install: no netsvcd-dev test (no package, pkg-config or cc)"
	dev=""
fi
# shellcheck disable=SC2317  # called by the trap
cleanup()
{
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
	fi
	if [ -n "$dev" ] && [ "$(dpkg-query -W -f='${db:Status-Status}' \
	    netsvcd-dev 2>/dev/null)" != not-installed ]; then
		dpkg --purge netsvcd-dev >/dev/null 2>&1
	fi
	if [ "$(dpkg-query -W -f='${db:Status-Status}' netsvcd 2>/dev/null)" \
	    != not-installed ]; then
		dpkg --purge netsvcd >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail=0
bad() { echo "package-install: FAIL: $*"; fail=1; }
die() { echo "package-install: FAIL: $*"; exit 1; }

echo "package-install: dpkg -i $deb"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" || die "dpkg -i failed"

for f in /usr/sbin/netsvcd /etc/netsvcd/netsvcd.ini \
    /lib/systemd/system/netsvcd.service /lib/systemd/system/netsvcd.socket; do
	[ -f "$f" ] || bad "$f not installed"
done
dpkg-query -W -f='${Conffiles}\n' netsvcd |
    grep -q '^ /etc/netsvcd/netsvcd.ini ' ||
    bad "/etc/netsvcd/netsvcd.ini is not a registered conffile"
# Installing enables nothing (the admin picks the service or the socket).
for w in /etc/systemd/system/multi-user.target.wants/netsvcd.service \
    /etc/systemd/system/sockets.target.wants/netsvcd.socket; do
	[ -e "$w" ] && bad "$w exists: the package enabled a unit"
done

version=$(dpkg-query -W -f='${Version}' netsvcd)
/usr/sbin/netsvcd -V | grep -qF "${version%-*}" ||
    bad "netsvcd -V does not print ${version%-*}"
# The default -c is the shipped config.
/usr/sbin/netsvcd -t >"$tmp/t.out" 2>&1 || {
	cat "$tmp/t.out"
	bad "/usr/sbin/netsvcd -t fails on /etc/netsvcd/netsvcd.ini"
}

# The installed units, with the installed binary and man pages.
if command -v systemd-analyze >/dev/null 2>&1; then
	man=no
	if command -v man >/dev/null 2>&1 &&
	    [ -e /usr/share/man/man8/netsvcd.8.gz ]; then
		man=yes
	fi
	if ! systemd-analyze verify --man=$man \
	    /lib/systemd/system/netsvcd.service \
	    /lib/systemd/system/netsvcd.socket >"$tmp/verify" 2>&1 ||
	    [ -s "$tmp/verify" ]; then
		cat "$tmp/verify"
		bad "systemd-analyze verify on the installed units"
	fi
fi

# Run the installed binary as nobody (as the unit's dynamic user would be).
cat >"$tmp/netsvcd.ini" <<'INI'
[daemon]
shutdown_timeout = 1s
[daytime]
service = daytime
listen = tcp://127.0.0.1:0
[echo]
service = echo
listen = tcp://127.0.0.1:0
INI
chmod 755 "$tmp"
chmod 644 "$tmp/netsvcd.ini"
run=()
if command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	run=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi
echo "package-install: starting /usr/sbin/netsvcd as $([ ${#run[@]} -gt 0 ] &&
    echo nobody || echo root) on $tmp/netsvcd.ini"
"${run[@]}" /usr/sbin/netsvcd -f -c "$tmp/netsvcd.ini" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do
	grep -q ' ready: ' "$tmp/log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
cat "$tmp/log"
grep -q ' ready: ' "$tmp/log" || die "the installed netsvcd did not start"

port() {
	sed -n "s|.*instance $1 listening on tcp://127\.0\.0\.1:\([0-9]*\).*|\1|p" \
	    "$tmp/log" | head -n 1
}
daytime_port=$(port daytime)
echo_port=$(port echo)

# bash's /dev/tcp; timeout keeps a silent server from hanging the test.
# The inner bash expands $1 (the port), hence single quotes.
# shellcheck disable=SC2016
line=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && \
    IFS= read -r l <&3 && printf "%s" "$l"' _ "$daytime_port")
echo "package-install: daytime on 127.0.0.1:$daytime_port: $line"
[[ $line =~ ^[A-Z][a-z]+day,\ [A-Z][a-z]+\ [0-9]{2},\ [0-9]{4}\ .*UTC ]] ||
    bad "daytime answer '$line'"
# shellcheck disable=SC2016
line=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && \
    printf "netsvcd package test\r\n" >&3 && IFS= read -r l <&3 && \
    printf "%s" "$l"' _ "$echo_port")
echo "package-install: echo on 127.0.0.1:$echo_port: $line"
[ "$line" = $'netsvcd package test\r' ] || bad "echo answer '$line'"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ] || bad "netsvcd exited $rc after SIGTERM"

# netsvcd-dev: the README's module, built exactly as the README says
# against the installed SDK, loaded by the installed daemon.
if [ -n "$dev" ]; then
	echo "package-install: dpkg -i $dev"
	DEBIAN_FRONTEND=noninteractive dpkg -i "$dev" || die "dpkg -i dev failed"
	mkdir -m 0755 "$tmp/mod"
	zcat /usr/share/doc/netsvcd/README.md.gz |
	    awk '/<!-- module-example:/ { on = 1; next }
	    on && /^```c$/ { body = 1; next }
	    body && /^```$/ { exit }
	    body { print }' >"$tmp/mod/upper.c"
	(cd "$tmp/mod" && cc -shared -fPIC $(pkg-config --cflags netsvcd) \
	    -o upper.so upper.c) || bad "the module does not build with the SDK"
	printf '[daemon]\nmodules = upper.so\n\n[upper]\nservice = upper\n%s\n' \
	    'listen = tcp://127.0.0.1:0' >"$tmp/mod/upper.ini"
	/usr/sbin/netsvcd -f -c "$tmp/mod/upper.ini" 2>"$tmp/log" &
	pid=$!
	for _ in $(seq 100); do
		grep -q ' ready: ' "$tmp/log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/log"
	upper_port=$(port upper)
	# shellcheck disable=SC2016
	line=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && \
	    printf "from a module\n" >&3 && IFS= read -r l <&3 && \
	    printf "%s" "$l"' _ "$upper_port")
	echo "package-install: module upper on 127.0.0.1:$upper_port: $line"
	[ "$line" = "FROM A MODULE" ] || bad "module answer '$line'"
	kill -TERM "$pid"
	wait "$pid" || bad "netsvcd with a module exited $? after SIGTERM"
	pid=""
	dpkg -P netsvcd-dev || bad "dpkg -P netsvcd-dev failed"
	[ -e /usr/include/netsvcd ] && bad "/usr/include/netsvcd left"
fi

echo "package-install: dpkg -r netsvcd"
dpkg -r netsvcd || bad "dpkg -r failed"
[ -e /usr/sbin/netsvcd ] && bad "/usr/sbin/netsvcd left after dpkg -r"
[ -f /etc/netsvcd/netsvcd.ini ] || bad "dpkg -r removed the conffile"
echo "package-install: dpkg -P netsvcd"
dpkg -P netsvcd || bad "dpkg -P failed"
[ -e /etc/netsvcd ] && bad "/etc/netsvcd left after dpkg -P"

[ "$fail" -eq 0 ] && echo "package-install: ok"
exit $fail
