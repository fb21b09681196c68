#!/bin/bash
# e2e.sh SRCDIR [DEB_PATH_FILE]: the end-to-end suite under a real systemd.
#
# Installs the freshly built .deb into a copy of a cached, debootstrapped
# Debian 12 root, boots it with systemd-nspawn -b (real systemd 252,
# journald and the package's own units, in a private network namespace)
# and runs tests/systemd/checks.sh there from a oneshot unit that powers the
# container off when it is done.  checks.sh writes its TAP-like log and exit
# status into /e2e of the container; this script prints them.
#
#   SRCDIR          the source tree (checks.sh, packaging/build-deb.sh)
#   DEB_PATH_FILE   a file holding the path of the .deb (package-deb writes
#                   it); without it the .deb is built here
#
# The root is cached in $NETSVCD_E2E_CACHE (default /var/cache/netsvcd-e2e),
# outside the work tree, keyed by the suite, the mirror and the package
# list (which includes the .deb's Depends), so a stale cache is rebuilt;
# building it needs the Debian mirror ($NETSVCD_E2E_MIRROR) and about two
# minutes.  Each run copies it, so the cache is never modified.
#
# Exits 77 (skipped, with the reason) only where the host cannot boot a
# container: not root, no systemd-nspawn or debootstrap, no mirror to build
# the root from, or nspawn cannot run a command in the root.  Whatever
# happens, the container, its copy of the root and nspawn's propagation
# directory are removed on exit (trap).
set -u

src=$(cd "${1:?usage: e2e.sh SRCDIR [DEB_PATH_FILE]}" && pwd)
deb_path_file=${2:-}
cache=${NETSVCD_E2E_CACHE:-/var/cache/netsvcd-e2e}
mirror=${NETSVCD_E2E_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# Bump when the way the root is built changes.
cache_format=1
# What the checks use besides the package: systemd, nc, apt (to purge).
base_packages="systemd systemd-sysv dbus netcat-openbsd apt"
# The whole run inside the container, boot and power-off included.
boot_timeout=${NETSVCD_E2E_TIMEOUT:-280}

skip() { echo "e2e: $*, skipped"; exit 77; }
die() { echo "e2e: FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "not root (systemd-nspawn needs root)"
command -v systemd-nspawn >/dev/null 2>&1 ||
    skip "no systemd-nspawn (apt-get install systemd-container)"
command -v debootstrap >/dev/null 2>&1 ||
    skip "no debootstrap (apt-get install debootstrap)"
command -v flock >/dev/null 2>&1 || skip "no flock (util-linux)"

start=$(date +%s)
work=$(mktemp -d /var/tmp/netsvcd-e2e.XXXXXX)
machine=netsvcd-e2e-$$
root=$work/root
nspawn_pid=""

# Processes whose root directory is the container's: its init and
# everything under it.  Killing them ends the container even when nspawn
# itself is gone.
container_pids()
{
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$r" = "$root" ] && echo "${p#/proc/}"
	done
}

# shellcheck disable=SC2317  # called by the trap
cleanup()
{
	local pids
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill -KILL "$nspawn_pid" 2>/dev/null
	fi
	pids=$(container_pids)
	if [ -n "$pids" ]; then
		echo "e2e: killing what is left of the container: $pids"
		# shellcheck disable=SC2086  # a list of pids
		kill -KILL $pids 2>/dev/null
		sleep 1
	fi
	rm -rf "/run/systemd/nspawn/propagate/$machine"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The .deb under test.
if [ -n "$deb_path_file" ]; then
	[ -s "$deb_path_file" ] || die "$deb_path_file: no .deb path"
	deb=$(cat "$deb_path_file")
else
	echo "e2e: building the .deb (packaging/build-deb.sh)"
	deb=$(DEB_BUILD_OPTIONS=nocheck "$src/packaging/build-deb.sh" \
	    "$work/deb" 2>"$work/build-deb.log") || {
		tail -n 30 "$work/build-deb.log"
		die "packaging/build-deb.sh failed"
	}
fi
[ -f "$deb" ] || die "$deb not found"

# Runtime dependencies of the .deb go into the cached root: the container
# installs it with dpkg -i and has no mirror to fetch anything from.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
    sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep . | sort -u)
packages=$(printf '%s\n' $base_packages $deps | sort -u | tr '\n' ' ')
key=$(printf '%s\n' "$cache_format" "$suite" "$mirror" "$packages" |
    sha256sum | cut -c1-16)
cached=$cache/root-$key

# build_root: debootstrap the root once, under a lock; stale roots go.
build_root()
{
	local tmp
	mkdir -p "$cache" || return 1
	exec 9>"$cache/lock"
	flock -w 900 9 || { echo "e2e: cannot lock $cache/lock"; return 1; }
	if [ -f "$cached/.complete" ]; then
		exec 9>&-
		return 0
	fi
	echo "e2e: building the cached root $cached ($suite from $mirror:" \
	    "$packages)"
	tmp=$cache/tmp-$key
	rm -rf "$tmp"
	if ! debootstrap --variant=minbase --include="${packages// /,}" \
	    "$suite" "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -n 20 "$cache/debootstrap.log"
		rm -rf "$tmp"
		exec 9>&-
		return 1
	fi
	apt-get -o RootDir="$tmp" clean 2>/dev/null || rm -rf \
	    "$tmp"/var/cache/apt/archives/*.deb
	touch "$tmp/.complete"
	rm -rf "$cached"
	mv "$tmp" "$cached"
	# Roots of other keys are stale: this suite only uses its own.
	for old in "$cache"/root-*; do
		[ "$old" = "$cached" ] || rm -rf "$old"
	done
	exec 9>&-
}

if [ ! -f "$cached/.complete" ]; then
	t0=$(date +%s)
	build_root || skip "cannot build the Debian root from $mirror" \
	    "(no access to the mirror?), see $cache/debootstrap.log"
	echo "e2e: cached root built in $(($(date +%s) - t0)) s"
	start=$(date +%s)	# the first debootstrap is not the suite's time
fi

# A copy of the root for this run.  Its top directory must be 0755: the
# daemon's dynamic user could not reach anything under a 0700 /.
mkdir "$root" || die "mkdir $root"
cp -a --reflink=auto "$cached/." "$root/" || die "cannot copy $cached"
chmod 0755 "$root"

# Can nspawn run anything at all here?
if ! timeout 60 systemd-nspawn -q -D "$root" --register=no --keep-unit \
    --private-network -M "$machine" /bin/true >"$work/probe.log" 2>&1; then
	cat "$work/probe.log"
	skip "systemd-nspawn cannot run a container on this host"
fi
rm -rf "/run/systemd/nspawn/propagate/$machine"

# No D-Bus and no logind: systemctl talks to PID 1 on its private socket.
for u in dbus.service dbus.socket systemd-logind.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# A persistent journal, read from the host when something fails.
mkdir -p "$root/var/log/journal" "$root/e2e"
cp "$deb" "$root/e2e/netsvcd.deb"
cp "$src/tests/systemd/checks.sh" "$root/e2e/checks.sh"
# The documented exposure figure (lint-units.sh checks the unit file).
sed -n 's/^MAX_EXPOSURE=//p' "$src/tests/package/lint-units.sh" \
    >"$root/e2e/max-exposure"
cat >"$root/etc/systemd/system/netsvcd-e2e.service" <<'UNIT'
[Unit]
Description=netsvcd end-to-end checks
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/bash /e2e/checks.sh
ExecStopPost=/bin/systemctl --no-block poweroff
TimeoutStartSec=infinity
UNIT
ln -s /etc/systemd/system/netsvcd-e2e.service \
    "$root/etc/systemd/system/multi-user.target.wants/netsvcd-e2e.service"

echo "e2e: booting $root (systemd-nspawn -b, timeout ${boot_timeout}s)"
timeout -k 15 "$boot_timeout" systemd-nspawn -q -D "$root" -b \
    --register=no --keep-unit --private-network -M "$machine" \
    --console=pipe </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!
wait "$nspawn_pid"
rc=$?
nspawn_pid=""

if [ -f "$root/e2e/log" ]; then
	cat "$root/e2e/log"
fi
status=$(cat "$root/e2e/status" 2>/dev/null)
elapsed=$(($(date +%s) - start))
if [ -z "$status" ]; then
	echo "e2e: the checks did not finish (systemd-nspawn exited $rc)"
	echo "---- console ----"
	tail -n 40 "$work/console.log"
	echo "---- journal ----"
	journalctl -D "$root/var/log/journal" --no-pager 2>/dev/null |
	    tail -n 60
	die "no result after ${elapsed}s"
fi
if [ "$status" != 0 ]; then
	echo "---- journal of netsvcd.service and netsvcd.socket ----"
	journalctl -D "$root/var/log/journal" --no-pager \
	    -u netsvcd.service -u netsvcd.socket 2>/dev/null | tail -n 80
	die "checks failed (see above), ${elapsed}s"
fi
echo "e2e: ok, ${elapsed}s"
exit 0
