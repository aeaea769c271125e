#!/usr/bin/env bash
# Install what mkemu and its tests need on Debian 12 (as root): the aarch64
# cross compiler (guest test programs), qemu-user (the reference emulator),
# arm64 packages from Debian (the test rootfs), and the Python package.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
need=""
for pkg in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
$SUDO apt-get update -qq
if [ -n "$need" ]; then
    $SUDO apt-get install -y -qq $need
fi
python3 -m pip install -q -e '.[test]'
# build (or find) the cached busybox test rootfs and print where it is
python3 -c "from tests.support.rootfs import busybox_rootfs; print(busybox_rootfs())"
