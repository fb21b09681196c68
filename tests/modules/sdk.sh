#!/bin/sh
# sdk.sh SRCDIR BUILDDIR: the module SDK as a user gets it.
#  1. "cmake --install" of BUILDDIR into a staging root (DESTDIR);
#  2. the installed headers compile alone, as C11 (-pedantic) and as C++,
#     and a C++ module exports an unmangled netsvcd_module;
#  3. examples/modules/, copied out of the tree, builds with its Makefile,
#     which finds the SDK through pkg-config only (PKG_CONFIG_PATH and
#     PKG_CONFIG_SYSROOT_DIR point into the staging root);
#  4. the README's module (upper.c), its cc line, its INI and its nc lines,
#     taken from README.md as they are written there;
#  5. the staged netsvcd loads both modules, and both answer over TCP and
#     UDP on loopback.
# Skipped (77) without nc or pkg-config.  Everything is bounded in time and
# the daemon is stopped on any exit.
set -eu
src=$1
build=$2
for tool in nc pkg-config c++; do
	command -v $tool >/dev/null 2>&1 || { echo "sdk.sh: no $tool"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netsvcd-sdk.XXXXXX")
chmod 0755 "$tmp"
pid=""
cleanup()
{
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail()
{
	echo "sdk.sh: FAIL: $*" >&2
	if [ -f "$tmp/run/daemon.log" ]; then
		sed 's/^/  daemon: /' "$tmp/run/daemon.log" >&2
	fi
	exit 1
}

# 1. Stage.
stage=$tmp/stage
DESTDIR=$stage cmake --install "$build" >/dev/null
pc=$(find "$stage" -name netsvcd.pc | head -n 1)
[ -n "$pc" ] || fail "no netsvcd.pc installed"
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
netsvcd=$(find "$stage" -type f -name netsvcd -perm -u+x | head -n 1)
cflags=$(pkg-config --cflags netsvcd)
abi=$(pkg-config --variable=abi netsvcd)
grep -q "^#define NETSVCD_SERVICE_ABI[[:space:]]*$abi\$" \
    "$src/services/service.h" || fail "netsvcd.pc abi=$abi is not service.h's"
# Only the SDK: no internal header is installed.
hdrs=$(cd "$stage" && find . -path '*/include/*' -type f | sort)
[ "$hdrs" = "./usr/local/include/netsvcd/log.h
./usr/local/include/netsvcd/service.h" ] ||
	[ "$(echo "$hdrs" | sed 's|.*/include/||')" = "netsvcd/log.h
netsvcd/service.h" ] || fail "installed headers: $hdrs"

# 2. The headers alone, C and C++, each and together.
mkdir "$tmp/hdr"
for h in service log; do
	printf '#include <netsvcd/%s.h>\n' $h > "$tmp/hdr/$h.c"
	cp "$tmp/hdr/$h.c" "$tmp/hdr/$h.cc"
	cc -std=c11 -Wall -Wextra -pedantic -Werror $cflags -fsyntax-only \
	    "$tmp/hdr/$h.c" || fail "<netsvcd/$h.h> alone is not clean C11"
	c++ -std=c++11 -Wall -Wextra -pedantic -Werror $cflags -fsyntax-only \
	    "$tmp/hdr/$h.cc" || fail "<netsvcd/$h.h> alone is not clean C++"
done
cat > "$tmp/hdr/mod.cc" <<'CXX'
#include <netsvcd/log.h>
#include <netsvcd/service.h>

static void
cxx_read(struct conn *c, const void *buf, size_t len)
{
	log_debug("cxx: %zu bytes", len);
	conn_write(c, buf, len);
}

static struct service
cxx_service()
{
	struct service s = {};
	s.name = "cxx";
	s.protocols = SERVICE_TCP;
	s.tcp_read = cxx_read;
	return s;
}

static const struct service cxx = cxx_service();
static const struct service *const cxx_services[] = { &cxx, NULL };
extern "C" const struct netsvcd_module netsvcd_module = {
	NETSVCD_SERVICE_ABI, "cxx", "1", cxx_services
};
CXX
c++ -std=c++11 -Wall -Wextra -Werror -shared -fPIC $cflags \
    -o "$tmp/hdr/cxx.so" "$tmp/hdr/mod.cc" || fail "a C++ module does not build"
nm -D "$tmp/hdr/cxx.so" | grep -q ' U conn_write$' ||
	fail "C++: conn_write is mangled (no extern \"C\")"
nm -D --defined-only "$tmp/hdr/cxx.so" | grep -q ' netsvcd_module$' ||
	fail "C++: no netsvcd_module"

# 3. The example, out of the tree, with its own Makefile.
mkdir "$tmp/example"
cp "$src/examples/modules/linereply.c" "$src/examples/modules/Makefile" \
    "$tmp/example/"
make -s -C "$tmp/example" CFLAGS="-O2 -Werror -pedantic" >&2 ||
	fail "examples/modules does not build against the staged SDK"

# 4. The README's module and commands, as written.
mkdir -m 0755 "$tmp/run"
cp "$tmp/example/linereply.so" "$tmp/run/"
awk '/<!-- module-example:/ { on = 1; next }
    on && /^```c$/ { body = 1; next }
    body && /^```$/ { exit }
    body { print }' "$src/README.md" > "$tmp/run/upper.c"
awk '/<!-- module-example-run:/ { on = 1; next }
    on && /^```sh$/ { body = 1; next }
    body && /^```$/ { exit }
    body { print }' "$src/README.md" > "$tmp/readme.sh"
[ "$(wc -l < "$tmp/run/upper.c")" -le 60 ] || fail "README module > 60 lines"
# And the complete minimal module of docs/MODULES.md.
awk '/<!-- modules-doc-example:/ { on = 1; next }
    on && /^```c$/ { body = 1; next }
    body && /^```$/ { exit }
    body { print }' "$src/docs/MODULES.md" > "$tmp/hdr/health.c"
cc -std=c11 -Wall -Wextra -pedantic -Werror -shared -fPIC $cflags \
    -o "$tmp/hdr/health.so" "$tmp/hdr/health.c" ||
	fail "the module of docs/MODULES.md does not build"
ccline=$(grep '^cc -shared -fPIC' "$tmp/readme.sh")
[ -n "$ccline" ] || fail "no cc line in the README"
(cd "$tmp/run" && sh -c "$ccline") || fail "README: $ccline"
awk '/^cat > upper.ini/ { on = 1; next } /^INI$/ { exit } on { print }' \
    "$tmp/readme.sh" | sed 's/127\.0\.0\.1:7070/127.0.0.1:0/' \
    > "$tmp/run/upper.ini"
grep -q '^modules = upper.so$' "$tmp/run/upper.ini" ||
	fail "README INI: $(cat "$tmp/run/upper.ini")"
cat >> "$tmp/run/upper.ini" <<'INI'

[lines]
service = linereply
listen = tcp://127.0.0.1:0 udp://127.0.0.1:0
prefix = you said:
udp_max_amplification = 4
INI
sed -i 's/^modules = upper.so$/modules = upper.so\nmodules = linereply.so/' \
    "$tmp/run/upper.ini"

"$netsvcd" -V -c "$tmp/run/upper.ini" > "$tmp/version" ||
	fail "netsvcd -V -c: $(cat "$tmp/version")"
grep -q '^module upper 1.0 ' "$tmp/version" &&
    grep -q '^module linereply 1.0 ' "$tmp/version" ||
	fail "netsvcd -V does not list both modules: $(cat "$tmp/version")"

# 5. Run it; the ports come from the "listening on" lines.
"$netsvcd" -f -c "$tmp/run/upper.ini" -l info 2> "$tmp/run/daemon.log" &
pid=$!
i=0
while ! grep -q ' ready' "$tmp/run/daemon.log"; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "netsvcd not ready after 20 s"
	kill -0 "$pid" 2>/dev/null || fail "netsvcd exited"
	sleep 0.1
done
port()
{
	sed -n "s|.*instance $1 listening on $2://127\\.0\\.0\\.1:||p" \
	    "$tmp/run/daemon.log" | head -n 1 | sed 's/[^0-9].*//'
}
for inst in upper lines; do
	for proto in tcp udp; do
		[ -n "$(port $inst $proto)" ] || fail "no $proto port for $inst"
	done
done

# The README's nc lines, with the ports the daemon got.
tcpline=$(grep "^echo .* | nc -q1 127.0.0.1 7070" "$tmp/readme.sh")
udpline=$(grep "^echo .* | nc -u -w1 127.0.0.1 7070" "$tmp/readme.sh")
got=$(timeout 10 sh -c "$(echo "$tcpline" | sed "s/7070/$(port upper tcp)/")")
[ "$got" = "HELLO, MODULE" ] || fail "upper over TCP: '$got'"
got=$(timeout 10 sh -c "$(echo "$udpline" | sed "s/7070/$(port upper udp)/")")
[ "$got" = "OVER UDP" ] || fail "upper over UDP: '$got'"

got=$(printf 'one\ntwo\n' | timeout 10 nc -q1 127.0.0.1 "$(port lines tcp)")
[ "$got" = "you said:one
you said:two" ] || fail "linereply over TCP: '$got'"
got=$(printf 'three' | timeout 10 nc -u -w1 127.0.0.1 "$(port lines udp)")
[ "$got" = "you said:three" ] || fail "linereply over UDP: '$got'"

kill "$pid"
wait "$pid" || fail "netsvcd exited with $? on SIGTERM"
pid=""
echo "sdk.sh: SDK staged, headers clean in C and C++, example and README" \
    "module built and served over TCP and UDP"
