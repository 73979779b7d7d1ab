#!/usr/bin/env bash
# Install what is needed, build, start the container engines and run every test.
# The closing line is "N passed, N failed, N skipped"; the exit status is 0 only
# when nothing failed.  Run as root on Debian 12 (it installs packages and starts
# dockerd and the Podman API service on sockets under /run/rover-test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make -j"$(nproc)"
make -j"$(nproc)" test
