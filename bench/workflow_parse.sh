#!/usr/bin/env bash
# A 1 MiB workflow of each hostile shape (deep nesting, aliases, huge
# scalars, random bytes, ...) parsed or refused, timed against a 1 MiB
# workflow of ordinary steps; the goal is under one second for every shape.
#
#   bench/workflow_parse.sh [REPEAT]     (best of REPEAT runs each, default 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
make -s -C "$root" BUILD="$build" "$build/bench/workflow_parse" >/dev/null
"$root/$build/bench/workflow_parse" "${1:-3}"
