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
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--integration-only) mode=integration; shift ;;
esac

passed=0 failed=0 skipped=0
failures=()
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
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		grep -E '^not ok' "$tap" | sed "s|^|  $name: |"
	fi
	printf '%-44s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
}

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
fi

if [ "$mode" != unit ]; then
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
		bats --tap "$f" >"$tap" 2>&1
		tally "$name" $? "$tap"
	done
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failing: ${failures[*]} (TAP and logs in $log_dir)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
