#!/usr/bin/env bash
# Classification time of an agent's failed output at 64 KiB, 1 MiB and 16 MiB
# (and 16 KiB: inside the window, time per byte is flat) (bench/classify.c).  The rules read only the last 64 KiB of each stream and
# match in time linear in what they read, so the time per window byte stays
# flat across texts and the time per byte of output falls as the output grows
# (only strlen still sees every byte).
#   bench/classify.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
make -s BUILD="$build" "$build/bench/classify"
"$build/bench/classify" "${1:-3}"
