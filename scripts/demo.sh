#!/usr/bin/env bash
# The demo: a workflow whose agent hits a (simulated) rate limit, pauses with a
# checkpoint, and is resumed, skipping the step that had already completed.
# Installs what is needed and builds first.  Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make -j"$(nproc)" >/dev/null
exec scripts/demo-run.sh "$@"
