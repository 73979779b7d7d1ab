#!/usr/bin/env bash
# Install what is needed, build, start the container engines and run every test.
# The closing line is "N passed, N failed, N skipped"; the exit status is 0 only
# when nothing failed.  Run as root on Debian 12 (it installs packages and starts
# dockerd and the Podman API service on sockets under /run/rover-test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make -j"$(nproc)"
# Every lane must run here: a test file whose tests were all skipped (an
# engine that did not start, say) fails the run instead of passing quietly.
ROVER_TEST_STRICT=1 make -j"$(nproc)" test
