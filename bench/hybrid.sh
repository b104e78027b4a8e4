#!/bin/bash
# The same bundle as a container and as a microVM (docs/SPECIFICATION.md
# "Hybrid"). On a host with VT-x/AMD-V: `run` of /bin/true start-to-exit
# (hyperfine, medians; crun as the container peer in the same run) and the
# memory beyond the workload. On a host without it, only the host-side part
# of the microVM runs, and the output says so: create until the guest's
# first instruction (a freestanding test guest whose first act is a serial
# write) and the monitor's RSS beyond guest RAM, through the ASan build's
# test-guest mode. crun is the container peer where it runs; on this hybrid
# host that needs VESSEL_BENCH_MOUNT_HUGETLB=1 (bench/hugetlb.sh), else runc.
# Usage: bench/hybrid.sh [--runs N]
set -e
cd "$(dirname "$0")/.."
make -s all asan guests >/dev/null
. bench/hugetlb.sh
if [ "${VESSEL_BENCH_MOUNT_HUGETLB:-0}" = 1 ]; then
	trap restore_hugetlb EXIT
	hugetlb_to_v1
fi
/usr/bin/python3 bench/hybrid.py "$@"
