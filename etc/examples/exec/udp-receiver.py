#!/usr/bin/python3
"""udp-receiver.py: the socket tutorial's UDP receiver, as a program that
netsvcd starts when a datagram arrives (service = exec on a udp:// endpoint,
inetd's "wait" mode; see exec.ini).

The UDP socket itself is stdin.  netsvcd stops reading it while this
program runs: take the datagrams that are there (the first one waits at
most 5 seconds), print each (stderr goes to netsvcd's log), acknowledge
each to its sender, and exit; netsvcd then watches the socket again.
"""
import socket
import sys

sock = socket.socket(fileno=0)
sock.settimeout(5.0)
for _ in range(64):
    try:
        data, addr = sock.recvfrom(65535)
    except (BlockingIOError, socket.timeout):
        break
    print(f"udp-receiver.py: {len(data)} bytes from {addr[0]} port "
          f"{addr[1]}: {data[:64]!r}", file=sys.stderr)
    sock.sendto(b"received %d bytes\n" % len(data), addr)
    sock.settimeout(0.0)
