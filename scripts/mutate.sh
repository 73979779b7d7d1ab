#!/usr/bin/env bash
# Mutation check (make mutate): break the durability, lock and pause code one
# line at a time and show that a test catches each break.  A test suite that
# still passes with the directory fsync removed does not guard it.
#
#   scripts/mutate.sh [--tap FILE]            every mutant
#   scripts/mutate.sh [--tap FILE] NAME...    only those (names as printed)
#
# --tap FILE also writes one TAP line per mutant (tests/run.sh's mutation
# lane).
#
# Works on a copy of the checkout (tracked files as they are in the working
# tree) under a temporary directory: the checkout is never modified.  The copy
# is built once; each mutant changes one line (the original must occur exactly
# once, or the script stops: a mutant that no longer applies is a bug here),
# rebuilds incrementally, and runs the tests named for it.  Prints one line
# per mutant, "caught" or "SURVIVED", and exits 1 if any survived.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/rover-mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT

# name | file | original line (exact text, once in the file) | mutant | what runs
mutants=(
	"fileio-no-dir-fsync|common/fileio.c|	r = fileio_fsync_dir(dir, err);|	r = 0;|unit:test_fileio"
	"fileio-no-data-fsync|common/fileio.c|	if (durable != VOLATILE && fsync(fd) < 0) {|	if (0) {|unit:test_fileio"
	"fileio-no-rename|common/fileio.c|	if (rename(tmp, path) < 0) {|	if (0) {|unit:test_fileio"
	"checkpoint-no-read-back|agent-runner/checkpoint.c|	r = checkpoint_verify_file(st->path, seq, st->cp.workflow_hash, err);|	r = 0;|unit:test_checkpoint"
	"checkpoint-verify-ignores-seq|agent-runner/checkpoint.c|	if (!jsonutil_get_int64(o, \"seq\", &got) \|\| got != seq)|	if (!jsonutil_get_int64(o, \"seq\", &got))|unit:test_checkpoint"
	"lock-no-start-time-check|supervisor/lib/lock.c|		if (start != c->start)|		if (0)|unit:test_lock"
	"lock-no-age-limit|supervisor/lib/lock.c|	if (age >= LOCK_STALE_MS)|	if (0)|unit:test_lock"
	"pause-drain-as-signal|agent-runner/runner.c|		runner_feed(r, PAUSE_EV_DRAIN);|		runner_feed(r, PAUSE_EV_SIGTERM);|bats:agent_local:drain file"
	"pause-sigterm-as-drain|agent-runner/pause.c|		return PAUSE_EV_SIGTERM;|		return PAUSE_EV_DRAIN;|unit:test_pause bats:agent_local:SIGTERM mid-step"
	"pause-grace-not-fed|agent-runner/spawn.c|			carry_out(pause_machine_handle(pm, PAUSE_EV_GRACE_EXPIRED), pid, 0,|			carry_out(pause_machine_handle(pm, PAUSE_EV_STEP_ENDED), pid, 0,|bats:agent_local:killed after the grace"
	"pause-table-drain-reason|agent-runner/pause.c|		[PAUSE_EV_DRAIN] = {PAUSE_DRAINING, PAUSE_ACT_NONE, PAUSE_REASON_USER},|		[PAUSE_EV_DRAIN] = {PAUSE_DRAINING, PAUSE_ACT_NONE, PAUSE_REASON_SIGNAL},|unit:test_pause"
)

tap=
if [ "${1:-}" = --tap ]; then
	tap=$2
	shift 2
	: >"$tap"
fi
want=("$@")
selected() {
	[ ${#want[@]} -eq 0 ] && return 0
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

echo "mutate: copying the checkout to $work"
(cd "$root" && git ls-files -z | xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work"
cd "$work"
echo "mutate: building the unmutated copy and its unit tests"
make -s -j2 all unit >"$work/base.log" 2>&1 || {
	tail -20 "$work/base.log"
	echo "mutate: the unmutated tree does not pass its unit tests" >&2
	exit 1
}

# One runner of a mutant's tests: unit:NAME (a unit test binary) or
# bats:FILE:FILTER (tests/integration/FILE.bats, tests whose name matches).
run_check() {
	local what=$1
	case $what in
	unit:*)
		local t=${what#unit:}
		make -s "build/tests/unit/$t" >/dev/null 2>&1 || return 1
		"build/tests/unit/$t" >/dev/null 2>&1
		;;
	bats:*)
		local rest=${what#bats:}
		local file=${rest%%:*} filter=${rest#*:}
		ROVER_BIN_DIR=$work/bin bats --filter "$filter" "tests/integration/$file.bats" >/dev/null 2>&1
		;;
	esac
}

caught=0 survived=0
for m in "${mutants[@]}"; do
	IFS='|' read -r name file orig mutant checks <<<"${m//\\|/$'\x1f'}"
	orig=${orig//$'\x1f'/|}
	mutant=${mutant//$'\x1f'/|}
	selected "$name" || continue
	cp "$file" "$work/orig.c"
	python3 - "$file" "$orig" "$mutant" <<'PY' || exit 1
import sys
path, orig, mutant = sys.argv[1:]
text = open(path).read()
lines = text.split("\n")
hits = [i for i, l in enumerate(lines) if l == orig]
if len(hits) != 1:
    sys.exit(f"mutate: '{orig.strip()}' occurs {len(hits)} times in {path}, not once: update scripts/mutate.sh")
lines[hits[0]] = mutant
open(path, "w").write("\n".join(lines))
PY
	if ! make -s -j2 all >"$work/m.log" 2>&1; then
		echo "mutate: $name does not build:" >&2
		tail -5 "$work/m.log" >&2
		cp "$work/orig.c" "$file"
		exit 1
	fi
	by=""
	read -r -a list <<<"$checks"
	# bats filters may contain spaces: re-join words after the first colon pair
	items=() cur=""
	for w in "${list[@]}"; do
		case $w in unit:* | bats:*) [ -n "$cur" ] && items+=("$cur"); cur=$w ;; *) cur="$cur $w" ;; esac
	done
	[ -n "$cur" ] && items+=("$cur")
	for c in "${items[@]}"; do
		if ! run_check "$c"; then
			by=$c
			break
		fi
	done
	n=$((caught + survived + 1))
	if [ -n "$by" ]; then
		printf 'mutate: %-34s caught by %s\n' "$name" "$by"
		caught=$((caught + 1))
		[ -z "$tap" ] || echo "ok $n - mutant $name caught by $by" >>"$tap"
	else
		printf 'mutate: %-34s SURVIVED (%s)\n' "$name" "$checks"
		survived=$((survived + 1))
		[ -z "$tap" ] || echo "not ok $n - mutant $name survived $checks" >>"$tap"
	fi
	cp "$work/orig.c" "$file"
	touch "$file"
done
make -s -j2 all >/dev/null 2>&1 || true
echo "mutate: $caught caught, $survived survived"
[ "$survived" -eq 0 ]
