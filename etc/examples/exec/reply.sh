#!/bin/sh
# reply.sh: the socket tutorial's request/reply server, as a program that
# netsvcd starts for each TCP connection (service = exec, see exec.ini).
# The connection is stdin and stdout: read one message (a single read of
# at most 1024 bytes, as the tutorial's conn.recv(1024)), answer it, and
# exit, which closes the connection.  What goes to stderr lands in
# netsvcd's log, tagged with the instance and this process's PID.
msg=$(dd bs=1024 count=1 status=none) || exit 1
printf 'received: %s\n' "$msg"
echo "reply.sh: ${#msg} bytes from $TCPREMOTEIP port $TCPREMOTEPORT" >&2
