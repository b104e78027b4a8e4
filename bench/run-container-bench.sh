#!/bin/bash
# Container start-up benchmark: the same busybox /bin/true bundle run by
# vessel, crun and runc in one hyperfine session; prints medians and ratios.
#
# crun 1.8 refuses hybrid cgroup hosts unless every controller has left
# cgroup2. VESSEL_BENCH_MOUNT_HUGETLB=1 lets this script mount hugetlb as a v1
# hierarchy so crun can run. That is opt-in because it can take hugetlb out of
# cgroup2 for the rest of the machine's life; without it crun is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
VESSEL=${VESSEL:-$PWD/build/vessel}
RUNS=${RUNS:-60}
work=$(mktemp -d /tmp/vessel-bench.XXXXXX)
# State roots on a tmpfs, as /run is on production hosts (runtimes keep
# /run/runc, /run/crun, /run/vessel there); this machine's /run is on disk.
state=$(mktemp -d /tmp/vessel-bench-state.XXXXXX)
mount -t tmpfs -o size=64m tmpfs "$state"
. bench/hugetlb.sh
cleanup() {
	restore_hugetlb
	for rt in vessel runc crun; do
		[ -d "$state/$rt" ] || continue
		for id in $(ls "$state/$rt" 2>/dev/null); do
			case $rt in
			vessel) "$VESSEL" --root "$state/$rt" delete -f "$id" ;;
			*) $rt --root "$state/$rt" delete -f "$id" ;;
			esac
		done
	done >/dev/null 2>&1 || true
	umount "$state" 2>/dev/null
	rm -rf "$work" "$state"
}
trap cleanup EXIT

scripts/make-busybox-rootfs.sh "$work/bundle/rootfs"
"$VESSEL" spec --bundle "$work/bundle"
/usr/bin/python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)
PY

cmds=("$VESSEL --root $state/vessel run -b $work/bundle bench-vessel"
      "runc --root $state/runc run -b $work/bundle bench-runc")
names=(vessel runc)

crun_ok() { crun --root "$state/crun" run -b "$work/bundle" bench-crun-probe >/dev/null 2>&1; }
if crun_available crun_ok; then
	cmds+=("crun --root $state/crun run -b $work/bundle bench-crun"); names+=(crun)
fi

hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/result.json" "${cmds[@]}"

/usr/bin/python3 bench/ratios.py "$work/result.json" "run /bin/true" "${names[@]}"
