#!/bin/sh
# package-deb.sh SRCDIR OUTDIR: build the .deb with packaging/build-deb.sh
# into OUTDIR, check what it holds and run lintian on it (fails on errors
# and warnings; packaging/README.md lists what is left and why).  Exits 77
# (skipped) when dpkg-buildpackage, debhelper or lintian is missing:
# scripts/deps.sh installs them.
set -eu

src=$1
out=$2

for tool in dpkg-buildpackage dh lintian; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "package-deb: $tool not found (scripts/deps.sh), skipped"
		exit 77
	fi
done

rm -rf "$out"
mkdir -p "$out"
log="$out/build.log"
if ! deb=$("$src/packaging/build-deb.sh" "$out" 2>"$log"); then
	tail -n 40 "$log"
	echo "package-deb: packaging/build-deb.sh failed (log: $log)"
	exit 1
fi
echo "package-deb: built $deb"
echo "$deb" >"$out/deb-path"

fail=0
dpkg-deb -c "$deb" >"$out/listing"
awk '{ print $6 }' "$out/listing" | sed 's|^\./|/|' >"$out/contents"
for f in /usr/sbin/netsvcd /etc/netsvcd/netsvcd.ini \
    /lib/systemd/system/netsvcd.service /lib/systemd/system/netsvcd.socket \
    /usr/share/man/man8/netsvcd.8.gz /usr/share/man/man5/netsvcd.ini.5.gz \
    /usr/share/doc/netsvcd/copyright /usr/share/doc/netsvcd/README.md.gz \
    /usr/share/doc/netsvcd/examples/tutorial.ini \
    /usr/share/doc/netsvcd/examples/netsvcd-dev.ini \
    /usr/share/doc/netsvcd/examples/exec.ini \
    /usr/share/doc/netsvcd/examples/exec/reply.sh \
    /usr/share/doc/netsvcd/examples/exec/udp-receiver.py; do
	if ! grep -qx "$f" "$out/contents"; then
		echo "package-deb: $f missing from the package"
		fail=1
	fi
done
# exec.ini names its programs by their installed path: they must run.
for f in reply.sh udp-receiver.py; do
	if ! grep -q "^-rwxr-xr-x .*/examples/exec/$f\$" "$out/listing"; then
		echo "package-deb: examples/exec/$f is not executable"
		fail=1
	fi
done
# Every docs/*.md the packaged README refers to is in the package, beside
# it (compressed or not).
for d in $(grep -o 'docs/[A-Z]*\.md' "$src/README.md" | sort -u); do
	if ! grep -qx "/usr/share/doc/netsvcd/$d\(\.gz\)\{0,1\}" \
	    "$out/contents"; then
		echo "package-deb: $d (referred to by README.md) missing"
		fail=1
	fi
done
if [ "$(dpkg-deb -f "$deb" Package Section Priority)" != "$(printf \
    'Package: netsvcd\nSection: net\nPriority: optional')" ]; then
	echo "package-deb: unexpected control fields:"
	dpkg-deb -f "$deb" Package Section Priority
	fail=1
fi
if ! dpkg-deb --info "$deb" conffiles | grep -qx /etc/netsvcd/netsvcd.ini
then
	echo "package-deb: /etc/netsvcd/netsvcd.ini is not a conffile"
	fail=1
fi

# The module SDK, in netsvcd-dev next to it.
dev=$(dirname "$deb")/$(basename "$deb" | sed 's/^netsvcd_/netsvcd-dev_/')
if [ ! -f "$dev" ]; then
	echo "package-deb: $dev was not built"
	fail=1
	dev=""
else
	dpkg-deb -c "$dev" | awk '{ print $6 }' | sed 's|^\./|/|' \
	    >"$out/contents-dev"
	for f in /usr/include/netsvcd/service.h /usr/include/netsvcd/log.h \
	    /usr/share/man/man3/netsvcd-module.3.gz \
	    /usr/share/doc/netsvcd-dev/MODULES.md.gz \
	    /usr/share/doc/netsvcd-dev/examples/modules/linereply.c \
	    /usr/share/doc/netsvcd-dev/examples/modules/Makefile; do
		if ! grep -qx "$f" "$out/contents-dev"; then
			echo "package-deb: $f missing from netsvcd-dev"
			fail=1
		fi
	done
	if ! grep -q '/pkgconfig/netsvcd\.pc$' "$out/contents-dev" ||
	    grep -q '/include/' "$out/contents"; then
		echo "package-deb: netsvcd.pc not in netsvcd-dev, or" \
		    "headers in netsvcd"
		fail=1
	fi
	if ! dpkg-deb -f "$dev" Depends | grep -q 'netsvcd (= '; then
		echo "package-deb: netsvcd-dev does not depend on netsvcd (=)"
		fail=1
	fi
fi

if lintian --fail-on error,warning --display-info --tag-display-limit 0 \
    "$deb" $dev >"$out/lintian.log" 2>&1; then
	status=0
else
	status=$?
fi
# lintian warns when run as root; that line is noise here.
echo "package-deb: lintian (exit status $status):"
grep -v 'running with root privileges' "$out/lintian.log" || true
if [ "$status" -ne 0 ]; then
	echo "package-deb: lintian reports errors or warnings"
	fail=1
fi
exit $fail
