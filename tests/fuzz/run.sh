#!/usr/bin/env bash
# Run every libFuzzer harness of tests/fuzz/ (or the ones named) for
# FUZZ_SECONDS each, one after the other, and print per harness: execs,
# coverage (libFuzzer's final "cov:" and "ft:"), corpus size, the slowest
# input's time, peak memory and wall time.  Exit 1 when any
# harness crashed, leaked, timed out or did not run at all; each failing
# input is kept under $FUZZ_BUILD/crashes/<name>/ and its path printed.
#
#   tests/fuzz/run.sh [--no-build] [--tap FILE] [NAME...]
#
# Environment:
#   FUZZ_BUILD    build directory (default build-fuzz); harnesses are built
#                 there with `make fuzz-build` unless --no-build
#   FUZZ_SECONDS  seconds per harness (default 30)
#   FUZZ_JOBS     harnesses run at once (default 1)
# --tap FILE: also write one TAP line per harness ("ok N - fuzz NAME ...").
#
# The committed seeds (tests/fuzz/corpus/NAME/) are only read; what libFuzzer
# finds goes to $FUZZ_BUILD/corpus/NAME/, so later runs start from there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-build-fuzz}
case "$build" in /*) ;; *) build=$root/$build ;; esac
secs=${FUZZ_SECONDS:-30}
do_build=1 tap=
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) do_build=0; shift ;;
	--tap) tap=$2; shift 2 ;;
	*) break ;;
	esac
done
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$here"/*.c; do names+=("$(basename "$f" .c)"); done
fi
[ -n "$tap" ] && : >"$tap"

if [ "$do_build" = 1 ]; then
	if ! make -C "$root" -j"${FUZZ_BUILD_JOBS:-2}" FUZZ_BUILD="$build" fuzz-build \
		>"$build.build.log" 2>&1; then
		echo "fuzz: could not build the harnesses; see $build.build.log" >&2
		tail -n 20 "$build.build.log" >&2
		i=0
		for n in "${names[@]}"; do
			i=$((i + 1))
			[ -n "$tap" ] && echo "not ok $i - fuzz $n: harness did not build" >>"$tap"
		done
		exit 1
	fi
fi

# libFuzzer options per harness: inputs big enough to reach the limits each
# parser enforces (the classifier's 64 KiB window, workflows of many steps).
max_len() {
	case "$1" in
	classify) echo 140000 ;;
	workflow) echo 65536 ;;
	*) echo 16384 ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() { # index name
	local i=$1 n=$2 bin=$build/clang/tests/fuzz/$2 log=$build/logs/$2.log
	local work=$build/corpus/$n crashes=$build/crashes/$n seeds=$here/corpus/$n
	mkdir -p "$work" "$crashes" "$build/logs"
	local dict=() start end rc
	[ -f "$here/$n.dict" ] && dict=(-dict="$here/$n.dict")
	if [ ! -x "$bin" ]; then
		echo "not ok $i - fuzz $n: no harness at $bin" >"$build/logs/$n.tap"
		printf '%-16s NOT BUILT\n' "$n" >"$build/logs/$n.line"
		return
	fi
	start=$(date +%s)
	# -timeout: an input that takes this long is a hang (quadratic parsing
	# is a bug here); -rss_limit_mb: so is runaway memory.
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$n")" -artifact_prefix="$crashes/" "${dict[@]}" \
		"$work" $([ -d "$seeds" ] && echo "$seeds") >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	local execs cov ft corpus found slowest rss
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -n 1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	found=$(grep -oE "$crashes/[^ ]+" "$log" | sort -u | tr '\n' ' ')
	local line
	line=$(printf '%-16s execs %-10s cov %-5s ft %-5s corpus %-5s slowest %ss rss %sMB %4ss' \
		"$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "${slowest:-?}" "${rss:-?}" \
		"$((end - start))")
	if [ $rc -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
		echo "ok $i - fuzz $n: $execs execs, cov $cov, $((end - start)) s" >"$build/logs/$n.tap"
		echo "$line" >"$build/logs/$n.line"
	else
		echo "not ok $i - fuzz $n: exit $rc after ${execs:-0} execs; input ${found:-none} (log $log)" \
			>"$build/logs/$n.tap"
		{
			echo "$line  FAILED (exit $rc)"
			[ -n "$found" ] && echo "    failing input: $found"
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|ALARM|.*Timeout)' "$log" | head -n 5 |
				sed 's/^/    /'
			echo "    log: $log"
		} >"$build/logs/$n.line"
	fi
}

for n in "${names[@]}"; do rm -f "$build/logs/$n.tap" "$build/logs/$n.line"; done
jobs=${FUZZ_JOBS:-1}
i=0
for n in "${names[@]}"; do
	i=$((i + 1))
	run_one "$i" "$n" &
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait

failed=0 ran=0 i=0
for n in "${names[@]}"; do
	i=$((i + 1))
	cat "$build/logs/$n.line" 2>/dev/null || echo "$n: no result"
	t=$(cat "$build/logs/$n.tap" 2>/dev/null)
	t=${t:-not ok $i - fuzz $n: no result}
	[ -n "$tap" ] && echo "$t" >>"$tap"
	case "$t" in ok*) ran=$((ran + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "fuzz: ${#names[@]} harnesses, $ran passed, $failed failed, ${secs}s each"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
