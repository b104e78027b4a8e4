#!/bin/sh
# VMM start-up cost: vessel vs qemu-system-x86_64 -M microvm on the same tiny
# PVH guest, in one run. Prints medians (exec -> guest's first port write;
# RSS beyond guest RAM) and the vessel/QEMU ratios. Usage: bench/vm-start.sh [--runs N]
set -e
cd "$(dirname "$0")/.."
make -s all guests >/dev/null
exec /usr/bin/python3 bench/vm_start.py "$@"
