#!/bin/sh
# build-deb.sh: build the netsvcd Debian package from this working tree.
#
#   packaging/build-deb.sh [OUTDIR]
#
# Copies the tree (without .git and build directories) to a temporary
# directory, adds packaging/debian as debian/, runs
# "dpkg-buildpackage -b -us -uc" there and moves the .deb files to OUTDIR
# (default: the current directory).  The log goes to stderr; stdout gets one
# line, the path of netsvcd_VERSION_ARCH.deb.  DEB_BUILD_OPTIONS passes
# through (DEB_BUILD_OPTIONS=nocheck skips the config checks).  Needs
# dpkg-dev, debhelper and the build dependencies of packaging/debian/control
# (scripts/deps.sh installs them); root is not needed.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-deb.sh: $tool not found (apt-get install dpkg-dev" \
		    "debhelper, or scripts/deps.sh)" >&2
		exit 1
	fi
done

# The Debian version must carry the project's version.
cmake_version=$(sed -n 's/^project(netsvcd VERSION \([0-9.]*\).*/\1/p' \
    "$src/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" \
    -S Version)
if [ "${deb_version%-*}" != "$cmake_version" ]; then
	echo "build-deb.sh: packaging/debian/changelog has $deb_version," \
	    "CMakeLists.txt has $cmake_version" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
tree="$tmp/netsvcd-$cmake_version"
mkdir "$tree"

# The working tree as it is (uncommitted changes included), less what
# .gitignore keeps out of the repository.
(cd "$src" && tar -cf - --exclude=./.git --exclude='./build*' \
    --exclude=./.device --exclude=./debian --exclude='./obj-*' \
    --exclude='./*.deb' \
    --exclude='*.o' --exclude='*.swp' .) | (cd "$tree" && tar -xf -)
cp -R "$src/packaging/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage -b -us -uc -Jauto) >&2

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="netsvcd_${deb_version}_${arch}.deb"
if [ ! -f "$tmp/$deb" ]; then
	echo "build-deb.sh: $deb was not built" >&2
	exit 1
fi
for f in "$tmp"/*.deb; do
	mv -f "$f" "$out/"
done
echo "$out/$deb"
