#!/bin/sh
# The same bundle as a container and as a microVM (docs/SPECIFICATION.md
# "Hybrid"). On a host with VT-x/AMD-V: `run` of /bin/true start-to-exit
# (hyperfine, medians; crun as the container peer in the same run) and the
# memory beyond the workload. On a host without it, only the host-side part
# of the microVM runs, and the output says so: create until the guest's
# first instruction (a freestanding test guest whose first act is a serial
# write) and the monitor's RSS beyond guest RAM, through the ASan build's
# test-guest mode. Usage: bench/hybrid.sh [--runs N]
set -e
cd "$(dirname "$0")/.."
make -s all asan guests >/dev/null
exec /usr/bin/python3 bench/hybrid.py "$@"
