#!/usr/bin/env bash
# The suite runner: cmocka unit test binaries (TAP) and bats integration files
# (TAP), with one closing line "N passed, N failed, N skipped".
#
#   tests/run.sh [--unit-only|--integration-only] [UNIT_BINARY...]
#
# Environment:
#   ROVER_BIN_DIR          where rover and rover-agent are (default bin)
#   ROVER_TEST_LOCAL_ONLY  1: skip tests that need a container engine
#   ROVER_TEST_FILTER      only integration files whose name matches this regex
#   ROVER_VALGRIND         1: run unit binaries under valgrind
#   ROVER_TEST_FUZZ        1: run the fuzz lane, 0: do not (default: on for a
#                          whole run - no --unit-only/--integration-only, no
#                          filter, engines used - as `make test` and CI do)
#   FUZZ_SECONDS           seconds per fuzz harness (default 30)
#   ROVER_TEST_MUTATE      0: no mutation lane (it runs beside the fuzz lane)
#   ROVER_FUZZ_BUILD       the fuzz lane's build directory (default build-fuzz)
#   ROVER_TEST_STRICT      1: a test file whose every test was skipped counts as
#                          a failure (scripts/test.sh, and so CI, set it: a lane
#                          that could not run must not pass quietly)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--integration-only) mode=integration; shift ;;
esac

passed=0 failed=0 skipped=0
failures=() failed_taps=()
log_dir=${ROVER_TEST_LOG_DIR:-$root/build/test-logs}
mkdir -p "$log_dir"

# Count one TAP stream; a runner that died without reporting counts as a failure.
tally() { # name rc tapfile
	local name=$1 rc=$2 tap=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$tap" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# (skip|SKIP)' "$tap" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$tap" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited $rc without reporting a failing test" >>"$tap"
	fi
	if [ "${ROVER_TEST_STRICT:-0}" = 1 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name ran no test ($s skipped): a lane that cannot run fails" >>"$tap"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		failed_taps+=("$name=$tap")
		grep -E '^not ok' "$tap" | sed "s|^|  $name: |"
	fi
	printf '%-44s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
}

# The fuzz lane (tests/fuzz/run.sh): every libFuzzer harness for FUZZ_SECONDS,
# one TAP line each.  It builds with clang and fuzzes in the background, at a
# lower priority, while the unit and integration lanes run; its result is
# tallied at the end.
fuzz_lane=0
if [ "$mode" = all ] && [ -z "${ROVER_TEST_FILTER:-}" ] && [ "${ROVER_TEST_LOCAL_ONLY:-0}" != 1 ] &&
	[ "${ROVER_VALGRIND:-0}" != 1 ]; then
	fuzz_lane=1
fi
fuzz_lane=${ROVER_TEST_FUZZ:-$fuzz_lane}
fuzz_pid=
if [ "$fuzz_lane" = 1 ]; then
	fuzz_tap=$log_dir/fuzz.tap fuzz_log=$log_dir/fuzz.log fuzz_start=$(date +%s)
	: >"$fuzz_tap"
	FUZZ_BUILD=${ROVER_FUZZ_BUILD:-build-fuzz} nice -n 10 "$here/fuzz/run.sh" --tap "$fuzz_tap" \
		>"$fuzz_log" 2>&1 &
	fuzz_pid=$!
	echo "fuzz lane: started in the background (pid $fuzz_pid, log $fuzz_log)"
fi

# The mutation lane (scripts/mutate.sh, make mutate): one-line breakages of
# the durability, lock and pause code, each of which a test must catch.  It
# works on a copy of the checkout, in the background like the fuzz lane.
mutate_pid=
if [ "$fuzz_lane" = 1 ] && [ "${ROVER_TEST_MUTATE:-1}" = 1 ]; then
	mutate_tap=$log_dir/mutate.tap mutate_log=$log_dir/mutate.log mutate_start=$(date +%s)
	nice -n 10 "$root/scripts/mutate.sh" --tap "$mutate_tap" >"$mutate_log" 2>&1 &
	mutate_pid=$!
	echo "mutation lane: started in the background (pid $mutate_pid, log $mutate_log)"
fi

lane_start=$SECONDS
if [ "$mode" != integration ]; then
	for t in "$@"; do
		name=unit/$(basename "$t")
		tap=$log_dir/$(basename "$t").tap
		if [ "${ROVER_VALGRIND:-0}" = 1 ]; then
			CMOCKA_MESSAGE_OUTPUT=TAP valgrind -q --error-exitcode=99 --leak-check=full \
				--errors-for-leak-kinds=definite "$t" >"$tap" 2>"$tap.err"
		else
			CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$tap" 2>"$tap.err"
		fi
		rc=$?
		[ $rc -ne 0 ] && tail -n 20 "$tap.err"
		tally "$name" $rc "$tap"
	done
	echo "unit lane: $((SECONDS - lane_start)) s"
fi

if [ "$mode" != unit ]; then
	lane_start=$SECONDS
	export ROVER_BIN_DIR=${ROVER_BIN_DIR:-$root/bin}
	case "$ROVER_BIN_DIR" in /*) ;; *) ROVER_BIN_DIR=$root/$ROVER_BIN_DIR ;; esac
	if [ "${ROVER_TEST_LOCAL_ONLY:-0}" != 1 ]; then
		# Engines and the test image come from the project's own scripts.
		if ! "$root/scripts/engines.sh" start >"$log_dir/engines.log" 2>&1; then
			echo "run.sh: could not start the container engines; see $log_dir/engines.log" >&2
			tail -n 20 "$log_dir/engines.log" >&2
		fi
		"$root/scripts/build-image.sh" >"$log_dir/image.log" 2>&1 ||
			{ echo "run.sh: could not build the test image; see $log_dir/image.log" >&2; tail -n 20 "$log_dir/image.log" >&2; }
	fi
	# Sanitizer builds are not static: only the host-local runner tests apply.
	if [ "${ROVER_TEST_LOCAL_ONLY:-0}" = 1 ] && [ -z "${ROVER_TEST_FILTER:-}" ]; then
		ROVER_TEST_FILTER='agent_local|list_cache'
	fi
	for f in "$here"/integration/*.bats; do
		[ -e "$f" ] || continue
		name=integration/$(basename "$f" .bats)
		if [ -n "${ROVER_TEST_FILTER:-}" ] && ! [[ $name =~ $ROVER_TEST_FILTER ]]; then
			continue
		fi
		tap=$log_dir/$(basename "$f" .bats).tap
		t0=$SECONDS
		bats --tap "$f" >"$tap" 2>&1
		tally "$name" $? "$tap"
		# The real agent CLIs lane is the slow one: show what it costs.
		if [[ $name == *real_agents* ]]; then
			echo "real-agent lane: $name took $((SECONDS - t0)) s"
		fi
	done
	echo "integration lane: $((SECONDS - lane_start)) s"
fi

if [ -n "$fuzz_pid" ]; then
	wait "$fuzz_pid"
	rc=$?
	sed 's/^/  /' "$fuzz_log"
	# A lane that ran nothing failed, whatever its exit status.
	if ! grep -qE '^(not )?ok [0-9]+' "$fuzz_tap"; then
		echo "not ok 1 - fuzz lane ran no harness (see $fuzz_log)" >>"$fuzz_tap"
		rc=1
	fi
	tally fuzz "$rc" "$fuzz_tap"
	echo "fuzz lane: $(($(date +%s) - fuzz_start)) s"
fi

if [ -n "$mutate_pid" ]; then
	wait "$mutate_pid"
	rc=$?
	sed 's/^/  /' "$mutate_log"
	if ! grep -qE '^(not )?ok [0-9]+' "$mutate_tap" 2>/dev/null; then
		echo "not ok 1 - mutation lane ran no mutant (see $mutate_log)" >>"$mutate_tap"
		rc=1
	fi
	tally mutate "$rc" "$mutate_tap"
	echo "mutation lane: $(($(date +%s) - mutate_start)) s"
fi

# What failed, with the last diagnostic lines of each failing test, at the
# very end: CI keeps only the tail of the output, and the log directory
# does not outlive the machine.
failure_details() {
	local entry name tap
	for entry in "${failed_taps[@]}"; do
		name=${entry%%=*} tap=${entry#*=}
		# bats puts the failing line first and the test's output after it:
		# keep the first 3 lines and the last 10.
		awk -v name="$name" '
			function flush(   i) {
				print "  " name ": " hdr
				for (i = 0; i < n; i++)
					if (i < 3 || i >= n - 10) print "    " buf[i]
					else if (i == 3) print "    # ..."
				n = 0
			}
			/^not ok/ { if (inside) flush(); hdr = $0; n = 0; inside = 1; next }
			/^(ok|not ok) / || /^[0-9]+\.\.[0-9]+/ { if (inside) flush(); inside = 0; next }
			inside && /^#/ { buf[n++] = $0 }
			END { if (inside) flush() }' "$tap"
	done
}

echo
if [ ${#failures[@]} -gt 0 ]; then
	failure_details
	echo "failing: ${failures[*]} (TAP and logs in $log_dir)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
