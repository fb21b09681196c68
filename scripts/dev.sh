#!/bin/sh
# dev.sh: install what is missing, build into build/ and run netsvcd in the
# foreground on the development config (127.0.0.1 and ::1, ports 10000+n and
# 9999).  Extra arguments go to netsvcd, e.g. scripts/dev.sh -l debug.
set -eu
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"
exec build/daemon/netsvcd -f -c etc/netsvcd-dev.ini "$@"
