# lib.sh: shell helpers shared by the bench scripts (sourced, bash).
# shellcheck shell=bash

# alive PID: is PID running (not gone, not a zombie)?
alive()
{
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st%% *}" != Z ]
}

# stop_group PID TRIES: end the process group PID was started in; TERM,
# up to TRIES waits of 50 ms, then KILL.
stop_group()
{
	local pid=$1 tries=$2 _

	kill -TERM -- "-$pid" 2>/dev/null
	for _ in $(seq 1 "$tries"); do
		alive "$pid" || break
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# fetch_debs DEST WORK PKG...: each PKG downloaded (apt-get download, into
# WORK, log in WORK/apt.log) and unpacked (dpkg -x) into DEST/PKG, never
# installed; a PKG already in DEST is kept.  Unpacked beside, then moved,
# so a failed try leaves nothing that looks done.  1 if any PKG fails.
fetch_debs()
{
	local dest=$1 work=$2 p
	shift 2
	mkdir -p "$dest" "$work" || return 1
	for p; do
		[ -d "$dest/$p" ] && continue
		rm -rf "$dest/$p.part"
		(cd "$work" && timeout 300 apt-get download "$p" \
		    >>"$work/apt.log" 2>&1) &&
		    dpkg -x "$work/$p"_*.deb "$dest/$p.part" &&
		    mv "$dest/$p.part" "$dest/$p" || return 1
	done
}

# note TEXT: a line for under the table (the caller's NOTES), and on
# stderr now, after the script's name.
note()
{
	NOTES+=("$*")
	echo "${0##*/}: $*" >&2
}

# stop_pid PID: end the process group the server was started in (up to
# STOP_TRIES waits of 50 ms, default 60) and forget PID in PIDS.
stop_pid()
{
	local pid=$1

	stop_group "$pid" "${STOP_TRIES:-60}"
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
}

# stop_all: stop every server still in PIDS.
stop_all()
{
	local pid

	for pid in $PIDS; do
		stop_pid "$pid"
	done
}
