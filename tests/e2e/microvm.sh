#!/bin/sh
# The microvm end-to-end tests (tests/integration/test_microvm_e2e.py) on a
# fresh Debian 12 host with VT-x/AMD-V, as root, in one go: packages
# (scripts/install-deps.sh), build, `make install`, the guest kernel
# (`vessel vm fetch-kernel`), then the tests. Target: under five minutes.
#
# Usage: tests/e2e/microvm.sh [--no-deps] [--refetch]
#   --no-deps   do not run scripts/install-deps.sh (packages already there)
#   --refetch   run `vessel vm fetch-kernel` even when a kernel is cached
#
# Exit status:
#   0  the tests passed
#   0  with the line "SKIPPED: ..." when the host has no VT-x/AMD-V (checked
#      first, before anything is installed or built); set
#      VESSEL_E2E_SKIP_CODE=N to exit N instead (77 is the automake/meson
#      convention for a skipped test)
#   1  a step failed: the last line names it ("FAILED: ...")
set -eu

cd "$(dirname "$0")/../.."
PREFIX=/usr/local # the agent path is built in (VS_AGENT_PATH): make install's default
VESSEL="$PREFIX/bin/vessel"
KERNELS=/var/cache/vessel/kernels
TESTS=tests/integration/test_microvm_e2e.py
start=$(date +%s)

deps=1
refetch=0
for a in "$@"; do
	case "$a" in
	--no-deps) deps=0 ;;
	--refetch) refetch=1 ;;
	*)
		echo "usage: $0 [--no-deps] [--refetch]" >&2
		exit 1
		;;
	esac
done

step() { echo "==> $* ($(($(date +%s) - start)) s)"; }
fail() {
	echo "FAILED: $*" >&2
	exit 1
}

# Hardware virtualization first: without it KVM emulates every instruction
# and a Linux guest never reaches userspace, so nothing else is worth doing.
if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "SKIPPED: no VT-x/AMD-V (vmx/svm) in /proc/cpuinfo: the microvm end-to-end tests need a host with hardware virtualization"
	exit "${VESSEL_E2E_SKIP_CODE:-0}"
fi

[ "$(id -u)" = 0 ] || fail "run as root: it installs packages and vessel, and runs podman as root"
if [ -r /etc/os-release ] && ! grep -q '^VERSION_ID="12"' /etc/os-release; then
	echo "warning: not Debian 12; the script is made for it" >&2
fi

if [ ! -c /dev/kvm ]; then
	step "loading KVM (no /dev/kvm)"
	if grep -qw vmx /proc/cpuinfo; then mod=kvm_intel; else mod=kvm_amd; fi
	modprobe "$mod" || fail "modprobe $mod: /dev/kvm is missing (nested virtualization off?)"
	[ -c /dev/kvm ] || fail "/dev/kvm is missing after modprobe $mod"
fi

if [ "$deps" = 1 ]; then
	step "packages (scripts/install-deps.sh)"
	sh scripts/install-deps.sh || fail "scripts/install-deps.sh"
fi

step "build (make all)"
make -j"$(nproc)" all >/tmp/vessel-e2e-build.log 2>&1 ||
	{
		tail -30 /tmp/vessel-e2e-build.log >&2
		fail "make all (log: /tmp/vessel-e2e-build.log)"
	}

step "make install (PREFIX=$PREFIX)"
make install PREFIX="$PREFIX" >/dev/null || fail "make install"

if [ "$refetch" = 1 ] || ! ls "$KERNELS"/*/vmlinuz >/dev/null 2>&1; then
	step "guest kernel (vessel vm fetch-kernel)"
	"$VESSEL" vm fetch-kernel || fail "vessel vm fetch-kernel"
fi
ls "$KERNELS"/*/vmlinuz >/dev/null 2>&1 || fail "no guest kernel under $KERNELS after fetch-kernel"

step "tests ($TESTS)"
out=/tmp/vessel-e2e-pytest.log
{
	VESSEL="$VESSEL" timeout 600 /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider "$TESTS"
	echo $? >"$out.rc"
} 2>&1 | tee "$out"
# On this host nothing may skip: a skip here is a setup that went wrong.
if grep -q '^SKIPPED' "$out"; then
	fail "tests skipped on a host with VT-x/AMD-V (the SKIPPED lines above say why)"
fi
[ "$(cat "$out.rc")" = 0 ] || fail "$TESTS (log: $out)"

took=$(($(date +%s) - start))
echo "PASSED: microvm end-to-end tests in $took s"
if [ "$took" -gt 300 ]; then
	echo "warning: $took s is over the five-minute target" >&2
fi
