#!/usr/bin/env bats
# bin/rover is statically linked and dlopen()s libcurl only with the glibc it
# was linked with (supervisor/lib/linkage.h).  The fault injected here is a
# glibc upgrade: a copy of rover whose recorded build id of libc.so.6 is no
# longer the system's.  It must hand over to rover-dynamic with the same
# arguments, and without rover-dynamic it must still run every command that
# needs no engine and refuse the others with one clear line.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${ROVER_BIN_DIR:-$ROOT/bin}
ROVER=$BIN/rover

setup() {
	S=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-linkage.XXXXXX")
	python3 "$ROOT/bench/gen_store.py" "$S/store" 3 >/dev/null
	export ROVER_STORE=$S/store ROVER_ENGINE=unix://$S/no-engine.sock
	cd "$S"
}
teardown() { rm -rf "$S"; }

libc_build_id() {
	readelf -n "$(readlink -f "$(cc -print-file-name=libc.so.6)")" |
		awk '/Build ID:/ {print $3; exit}'
}

# $S/up/rover: bin/rover as it is after a glibc upgrade (the build id it
# recorded is zeroed), with rover-dynamic beside it unless told otherwise.
upgraded_copy() {
	mkdir -p "$S/up"
	python3 - "$ROVER" "$S/up/rover" "$(libc_build_id)" <<'EOF'
import sys
src, dst, bid = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = open(src, "rb").read()
assert len(bid) >= 16 and data.count(bid) == 1, "rover does not record libc's build id once"
open(dst, "wb").write(data.replace(bid, b"0" * len(bid)))
EOF
	chmod +x "$S/up/rover"
	[ "${1:-}" = alone ] || cp "$BIN/rover-dynamic" "$S/up/"
}

@test "bin/rover is a static PIE and starts without the dynamic loader" {
	run readelf -lW "$ROVER"
	[ "$status" -eq 0 ]
	[[ "$output" != *INTERP* ]]   # no program interpreter: static
	[[ "$output" == *"DYN ("* ]]  # position independent (ASLR kept)
	run "$ROVER" info --json
	[ "$(jq -r .binary <<<"$output")" = "static (libcurl is loaded when an engine is needed)" ]
}

@test "it records the system's glibc, and runs alone while that is unchanged" {
	command -v strace >/dev/null || skip "strace is not installed"
	grep -qF "$(libc_build_id)" "$ROVER"
	run strace -f -e trace=execve "$ROVER" --version
	[ "$status" -eq 0 ]
	[ "$(grep -c '^execve\|\] execve' <<<"$output")" -eq 1 ]
}

@test "after a glibc upgrade it hands over to rover-dynamic, same arguments and exit codes" {
	command -v strace >/dev/null || skip "strace is not installed"
	upgraded_copy
	run strace -f -s 256 -e trace=execve -o "$S/trace" "$S/up/rover" list --json
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 3 ]
	grep -q "execve(\"$S/up/rover-dynamic\", \[\"$S/up/rover\", \"list\", \"--json\"\]" "$S/trace"
	# An error's exit code and message come through unchanged.
	run "$ROVER" inspect 99
	want_status=$status want_output=$output
	run "$S/up/rover" inspect 99
	[ "$status" -eq "$want_status" ]
	[ "$output" = "$want_output" ]
	# It can load libcurl (an engine call gets as far as the missing socket),
	# and says how it runs.
	run "$S/up/rover" info --json
	[[ "$(jq -r .engine.error <<<"$output")" == *"cannot connect"* ]]
	[[ "$(jq -r .binary <<<"$output")" == "dynamic (rover-dynamic ran instead"*"reinstall rover"* ]]
}

@test "without rover-dynamic: engine-free commands work, engine commands fail clearly" {
	upgraded_copy alone
	run "$S/up/rover" list --json
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 3 ]
	run "$S/up/rover" inspect 2
	[ "$status" -eq 0 ]
	git init -q proj && git -C proj -c user.email=t@t -c user.name=t commit -q --allow-empty -m i
	cd proj
	before=$(ls "$S/store/tasks" | sort)
	run "$S/up/rover" task --image some:image "do something"
	[ "$status" -ne 0 ]
	[ "$(grep -c . <<<"$output")" -eq 1 ]
	[[ "$output" == *"statically linked rover"*"rover-dynamic is not installed"*"reinstall rover"* ]]
	[ "$(ls "$S/store/tasks" | sort)" = "$before" ]
	[ -z "$(git branch --list 'rover/*')" ]
}

@test "a static rover installed as rover-dynamic does not exec itself in a loop" {
	upgraded_copy alone
	cp "$S/up/rover" "$S/up/rover-dynamic"
	run timeout 10 "$S/up/rover" list --json
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 3 ]
	run timeout 10 "$S/up/rover" info --json
	[ "$status" -eq 0 ]
	[[ "$(jq -r .binary <<<"$output")" == "static, without libcurl"* ]]
}
