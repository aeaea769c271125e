#!/usr/bin/env bash
# Install what mkemu needs on Debian 12 (as root): python3 with its venv module,
# the aarch64 cross compiler (guest test programs), qemu-user (the reference
# emulator), arm64 packages from Debian (the test rootfs, cached under
# ~/.cache/mkemu/rootfs), and mkemu itself in the virtual environment .venv of
# this checkout, linked as /usr/local/bin/mkemu (MKEMU_BIN_DIR to choose
# another directory).  The same steps as CI's, without running the tests.
set -euo pipefail
exec bash "$(dirname "$0")/../.ci/run" --setup-only
