# Sourced by the benchmarks: crun 1.8 runs on this hybrid host only once
# hugetlb is a cgroup v1 hierarchy (VESSEL_BENCH_MOUNT_HUGETLB=1, opt-in:
# it can keep hugetlb out of cgroup2). hugetlb_to_v1 moves it there,
# restore_hugetlb puts it back and says whether that worked.
hugetlb_mounted=0

hugetlb_to_v1() {
	echo "NOTE: mounting the hugetlb controller as a cgroup v1 hierarchy at /sys/fs/cgroup/hugetlb"
	echo "      so crun 1.8 accepts this hybrid host (hugetlb leaves cgroup2 for as long as it stays)."
	# It must not be enabled anywhere in cgroup2 to move to a v1 hierarchy.
	find /sys/fs/cgroup/unified -depth -name cgroup.subtree_control | while read -r f; do
		echo -hugetlb >"$f" 2>/dev/null || true
	done
	mkdir -p /sys/fs/cgroup/hugetlb
	hugetlb_mounted=1 # from here restore_hugetlb removes the directory, mounted or not
	mountpoint -q /sys/fs/cgroup/hugetlb || mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
}

restore_hugetlb() {
	[ "$hugetlb_mounted" = 1 ] || return 0
	# Remove crun's leftovers first: a v1 hierarchy with children outlives its unmount.
	find /sys/fs/cgroup/hugetlb -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
	# Removed cgroups leave the hierarchy's child list asynchronously; unmounting
	# before that keeps the v1 root alive. Wait, and if it still lingers,
	# mount and unmount it once more now that it is empty.
	sleep 1
	umount /sys/fs/cgroup/hugetlb
	sleep 1
	if ! grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers; then
		mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && umount /sys/fs/cgroup/hugetlb
		sleep 1
	fi
	rmdir /sys/fs/cgroup/hugetlb
	if grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
		echo +hugetlb >/sys/fs/cgroup/unified/cgroup.subtree_control 2>/dev/null || true
		echo "NOTE: hugetlb is back in cgroup2"
	else
		echo "WARNING: hugetlb did not return to cgroup2 after unmounting its v1 hierarchy"
	fi
}

# crun_available PROBE...: 0 when the probe (a crun command) works, moving
# hugetlb to a v1 hierarchy first when crun needs it and the opt-in allows.
crun_available() {
	"$@" && return 0
	if [ "${VESSEL_BENCH_MOUNT_HUGETLB:-0}" != 1 ]; then
		echo "NOTE: crun 1.8 refuses this hybrid cgroup layout; skipping it."
		echo "      Set VESSEL_BENCH_MOUNT_HUGETLB=1 to mount hugetlb as v1 so crun runs (see header)."
		return 1
	fi
	hugetlb_to_v1
	"$@" && return 0
	echo "NOTE: crun still refuses to run here; benchmarking without it"
	return 1
}
