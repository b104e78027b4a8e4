#!/bin/sh
# make demo: run a busybox container from the embedded bundle
# (scripts/demo/config.json + a rootfs made from busybox-static).
set -e
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/vessel-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp scripts/demo/config.json "$work/config.json"
scripts/make-busybox-rootfs.sh "$work/rootfs"
echo "+ vessel run --bundle $work demo-$$"
build/vessel --root "$work/state" run --bundle "$work" "demo-$$"
