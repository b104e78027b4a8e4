#!/bin/sh
# Install the Debian packages vessel needs to build, test, demo and bench.
# Idempotent: only calls apt-get when something is missing.
set -e
PKGS="build-essential pkg-config libjson-c-dev libcap-dev libcmocka-dev libseccomp-dev python3-pytest \
busybox-static runc crun hyperfine qemu-system-x86 qemu-system-common clang podman containerd \
lz4 xz-utils zstd acpica-tools iptables erofs-utils"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
