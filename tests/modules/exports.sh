#!/bin/sh
# exports.sh NETSVCD API_LIST: the dynamic symbols that netsvcd defines are
# exactly the SDK's host API (API_LIST, one name a line, made from the SDK
# headers by daemon/CMakeLists.txt): modules can call the host API and
# nothing else of the daemon.  Copy relocations of libc data (stderr@GLIBC)
# are the linker's, not ours.
set -eu
bin=$1
api=$2
got=$(nm -D --defined-only "$bin" | awk '{ print $3 }' | grep -v '@' |
    sort)
want=$(sort "$api")
if [ "$got" != "$want" ]; then
	echo "exports.sh: $bin exports other symbols than the host API:" >&2
	printf '%s\n' "$got" > "${TMPDIR:-/tmp}/exports.$$.got"
	printf '%s\n' "$want" > "${TMPDIR:-/tmp}/exports.$$.want"
	diff -u "${TMPDIR:-/tmp}/exports.$$.want" \
	    "${TMPDIR:-/tmp}/exports.$$.got" >&2 || true
	rm -f "${TMPDIR:-/tmp}/exports.$$.got" "${TMPDIR:-/tmp}/exports.$$.want"
	exit 1
fi
for f in conn_write dgram_reply svc_conf_data log_warnx; do
	echo "$want" | grep -qx "$f" || { echo "exports.sh: $f missing" >&2;
	    exit 1; }
done
echo "exports.sh: $(echo "$got" | wc -l) symbols, all of the host API"
