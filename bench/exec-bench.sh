#!/bin/bash
# exec benchmark: `exec ID true` into a running busybox container for vessel,
# crun and runc in one hyperfine session; prints medians and ratios.
#
# crun 1.8 refuses hybrid cgroup hosts unless every controller has left
# cgroup2. VESSEL_BENCH_MOUNT_HUGETLB=1 lets this script mount hugetlb as a v1
# hierarchy so crun can run. That is opt-in because it can take hugetlb out of
# cgroup2 for the rest of the machine's life; without it crun is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
VESSEL=${VESSEL:-$PWD/build/vessel}
RUNS=${RUNS:-60}
work=$(mktemp -d /tmp/vessel-exec-bench.XXXXXX)
# State roots on a tmpfs, as /run is on production hosts.
state=$(mktemp -d /tmp/vessel-exec-bench-state.XXXXXX)
mount -t tmpfs -o size=64m tmpfs "$state"
. bench/hugetlb.sh
cleanup() {
	for rt in vessel runc crun; do
		[ -d "$state/$rt" ] || continue
		for id in $(ls "$state/$rt" 2>/dev/null); do
			case $rt in
			vessel) "$VESSEL" --root "$state/$rt" delete -f "$id" ;;
			*) $rt --root "$state/$rt" delete -f "$id" ;;
			esac
		done
	done >/dev/null 2>&1 || true
	restore_hugetlb
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
c["process"]["args"] = ["/bin/sleep", "1000000"]
c["process"]["terminal"] = False
json.dump(c, open(p, "w"), indent=2)
PY

# One running container per runtime, detached, stdio away from the terminal.
start() { "$@" </dev/null >/dev/null 2>&1; }
cmds=()
names=()
# A failed `run -d` may leave its state behind: delete before each try.
crun_ok() {
	crun --root "$state/crun" delete -f bench-crun >/dev/null 2>&1 || true
	start crun --root "$state/crun" run -d -b "$work/bundle" bench-crun
}
if crun_available crun_ok; then
	cmds+=("crun --root $state/crun exec bench-crun /bin/true"); names+=(crun)
fi

# vessel and runc after crun: a container in cgroup2 enables hugetlb there,
# which would keep it from moving to a v1 hierarchy for crun.
start "$VESSEL" --root "$state/vessel" run -d -b "$work/bundle" bench-vessel
start runc --root "$state/runc" run -d -b "$work/bundle" bench-runc
cmds=("$VESSEL --root $state/vessel exec bench-vessel /bin/true"
      "runc --root $state/runc exec bench-runc /bin/true" "${cmds[@]}")
names=(vessel runc "${names[@]}")

hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/result.json" "${cmds[@]}"

/usr/bin/python3 bench/ratios.py "$work/result.json" "exec /bin/true" "${names[@]}"
