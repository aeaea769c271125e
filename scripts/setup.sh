#!/usr/bin/env bash
# Install what mkemu needs on Debian 12 (as root): the aarch64 cross compiler
# (guest test programs), qemu-user (the reference emulator), arm64 packages from
# Debian (the test rootfs, cached under ~/.cache/mkemu/rootfs) and the Python
# package.  The same steps as CI's, without running the tests.
set -euo pipefail
exec bash "$(dirname "$0")/../.ci/run" --setup-only
