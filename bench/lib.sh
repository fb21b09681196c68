# lib.sh: shell helpers shared by the bench scripts (sourced, bash).

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
	local pid=$1 tries=$2 i

	kill -TERM -- "-$pid" 2>/dev/null
	for i in $(seq 1 "$tries"); do
		alive "$pid" || break
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
