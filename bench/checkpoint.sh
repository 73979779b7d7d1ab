#!/usr/bin/env bash
# Checkpoint save latency against a bare write+fsync+rename of the same bytes.
#   bench/checkpoint.sh [DIR] [SAVES] [STEPS]
# The extra cost of a checkpoint save is the directory fsync (durability of the
# rename), the JSON serialisation, and reading the file back to verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/bench/checkpoint_save
build/bench/checkpoint_save "${1:-/var/tmp}" "${2:-300}" "${3:-10}"
