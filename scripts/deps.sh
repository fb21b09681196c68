#!/bin/sh
# deps.sh: install the Debian 12 packages netsvcd needs to build and test,
# but only those that are missing.  Uses sudo when not run as root.
set -eu

PACKAGES="build-essential cmake pkg-config libevent-dev libinih-dev
libsystemd-dev libcriterion-dev clang valgrind mandoc netcat-openbsd
dpkg-dev debhelper lintian systemd systemd-container debootstrap
cppcheck clang-tidy libclang-rt-14-dev
iproute2 curl haproxy prometheus"

missing=""
for p in $PACKAGES; do
	if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'
	then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps.sh: not root and no sudo; install as root:$missing" >&2
	exit 1
fi

# $missing is a list of plain package names: split it on purpose.
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
