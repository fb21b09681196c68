#!/bin/bash
# multicore.sh: the multi-core run of the benchmark suite (issue 11, item
# 5), made to be carried to a borrowed machine and run there in minutes.
#
#   bench/multicore.sh pack [OUT.tar.gz]   on the build machine: builds
#       netsvcd (Release), loadgen and refecho, fetches xinetd (apt-get
#       download), and packs them with every library they link, the
#       dynamic loader and the two scripts.  Nothing to build over there.
#   bench/multicore.sh run [WORKERS...]    on the borrowed machine, from the
#       unpacked folder, as root: bench/run.sh with workers = 1 2 4 8 auto
#       (or the given list), netsvcd against refecho and xinetd; one
#       table per workers value in results/, with the machine's
#       description.
#
# Environment for run: REPS (default 5), LOADS (default the scaling set
# below), THREADS (loadgen threads, default half the CPUs, at most 8).
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
LOADS_DEFAULT="echo-64x160M,echo-14x1G,echo-64B-64,daytime-64,udp-64B"

# wrapper NAME: a script in bin/ running real/NAME with the packed loader
# and libraries, so the host's glibc does not matter.  exec keeps the PID.
wrapper()
{
	cat >"$1/bin/$2" <<'WRAP'
#!/bin/sh
d=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
n=$(basename "$0")
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/real/$n" "$@"
WRAP
	chmod +x "$1/bin/$2"
}

# pack OUT: build, collect, tar.
pack()
{
	local out=${1:-$root/netsvcd-multicore.tar.gz} d f cc=${CC:-gcc}
	local flags="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread"
	tmp=$(mktemp -d) || exit 1	# global: the EXIT trap reads it
	trap 'rm -rf "$tmp"' EXIT
	d=$tmp/netsvcd-multicore
	mkdir -p "$d/bin" "$d/real" "$d/lib" "$d/bench" || exit 1
	cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release \
	    -DNETSVCD_TESTS=OFF >/dev/null &&
	    cmake --build "$root/build-bench" -j "$(nproc)" >/dev/null ||
	    { echo "multicore.sh: netsvcd does not build" >&2; exit 1; }
	cp "$root/build-bench/daemon/netsvcd" "$d/real/" || exit 1
	$cc $flags -o "$d/real/loadgen" "$here/loadgen.c" &&
	    $cc $flags -o "$d/real/refecho" "$here/refecho.c" || exit 1
	# xinetd and libwrap0 (which it links) unpacked, never installed.
	fetch_debs "$tmp/x" "$tmp/debs" xinetd libwrap0 &&
	    cp "$tmp/x/xinetd/usr/sbin/xinetd" "$d/real/" ||
	    echo "multicore.sh: no xinetd (apt-get download failed)" >&2
	for f in "$d"/real/*; do
		LD_LIBRARY_PATH=$(echo "$tmp"/x/libwrap0/usr/lib/*-linux-gnu) \
		    ldd "$f" |
		    awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'
	done | sort -u | while read -r f; do
		cp -L "$f" "$d/lib/"
	done
	[ -e "$d/lib/ld-linux-x86-64.so.2" ] ||
	    { echo "multicore.sh: no x86-64 loader found" >&2; exit 1; }
	for f in "$d"/real/*; do
		wrapper "$d" "$(basename "$f")"
	done
	cp "$here/run.sh" "$here/multicore.sh" "$here/lib.sh" "$d/bench/"
	git -C "$root" log -1 --format='%H %s' >"$d/COMMIT" 2>/dev/null
	tar -C "$tmp" -czf "$out" netsvcd-multicore || exit 1
	echo "multicore.sh: packed $out ($(du -h "$out" | cut -f1));" \
	    "on the other machine: tar xzf, then" \
	    "netsvcd-multicore/bench/multicore.sh run" >&2
}

# run [WORKERS...]: the suite once per workers value.
run()
{
	local top=$root ws=("$@") w n threads res xi=""
	[ ${#ws[@]} -gt 0 ] || ws=(1 2 4 8 auto)
	n=$(nproc)
	threads=${THREADS:-$(( n / 2 > 8 ? 8 : (n / 2 < 1 ? 1 : n / 2) ))}
	res=$top/results
	mkdir -p "$res" || exit 1
	{
		date -u
		uname -a
		echo "nproc: $n; loadgen threads: $threads"
		cat /proc/loadavg
		lscpu 2>/dev/null | head -n 20
		cat "$top/COMMIT" 2>/dev/null
	} >"$res/machine.txt"
	# From a pack: the carried binaries; in a source tree: build-bench/.
	if [ -x "$top/bin/netsvcd" ]; then
		[ -x "$top/bin/xinetd" ] && xi="--xinetd $top/bin/xinetd"
		set -- --netsvcd "$top/bin/netsvcd" --tools "$top/bin" $xi
	else
		set -- --peers
	fi
	for w in "${ws[@]}"; do
		echo "multicore.sh: workers = $w" >&2
		# shellcheck disable=SC2086 # LOADS is a comma list, one word
		"$top/bench/run.sh" "$@" --workers "$w" --threads "$threads" \
		    --reps "${REPS:-5}" --loads "${LOADS:-$LOADS_DEFAULT}" \
		    >"$res/workers-$w.txt" 2>"$res/workers-$w.log"
		echo "multicore.sh: workers = $w: exit $?," \
		    "results/workers-$w.txt" >&2
	done
}

case ${1:-} in
pack) shift; pack "$@" ;;
run) shift; run "$@" ;;
*)
	echo "usage: bench/multicore.sh pack [OUT.tar.gz] |" \
	    "run [WORKERS...]" >&2
	exit 2 ;;
esac
