#!/usr/bin/env bats
# libcurl is loaded only when rover talks to an engine (curl_lazy.h): commands
# that need no engine neither load it nor need it, and a missing libcurl is a
# clear error, with nothing created, for the commands that do.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover

setup() {
	S=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-curl.XXXXXX")
	python3 "$ROOT/bench/gen_store.py" "$S/store" 5 >/dev/null
	export ROVER_STORE=$S/store ROVER_ENGINE=unix://$S/no-engine.sock
	cd "$S"
}
teardown() { rm -rf "$S"; }

# Run rover in a mount namespace where libcurl.so.4 is an empty file.
without_libcurl() {
	local lib
	lib=$(readlink -f "$(ldconfig -p | awk '/libcurl\.so\.4 .*x86-64/ {print $NF; exit}')")
	[ -f "$lib" ] || skip "no libcurl.so.4 found by ldconfig"
	unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" "$@"
}

# The shared libraries a rover command opens (strace: LD_DEBUG says nothing
# of a static program's dlopen).
libraries_opened() {
	strace -f -e trace=open,openat -o "$S/trace" "$ROVER" "$@" >/dev/null 2>&1 || true
	grep -o '[^"/]*\.so[.0-9]*"' "$S/trace" | tr -d '"' | sort -u | tr '\n' ' '
}

@test "--version, list and inspect of finished tasks do not load libcurl" {
	command -v strace >/dev/null || skip "strace is not installed"
	for cmd in "--version" "list" "list --json" "inspect 3" "inspect --json 3"; do
		# shellcheck disable=SC2086
		run "$ROVER" $cmd
		[ "$status" -eq 0 ]
		# shellcheck disable=SC2086
		libs=$(libraries_opened $cmd)
		[[ "$libs" != *libcurl* ]]
	done
}

@test "rover opens no shared library at start-up but libc.so.6 (start-up cost)" {
	command -v strace >/dev/null || skip "strace is not installed"
	# Each shared library is a map, relocations and page faults on every
	# command; libm went for three roundings (common/numutil.h).  The static
	# rover reads libc.so.6's build id, its dynamic twin loads it.
	[ "$(libraries_opened --version)" = "libc.so.6 " ]
}

@test "an engine command loads libcurl when it needs it" {
	command -v strace >/dev/null || skip "strace is not installed"
	[[ "$(libraries_opened info)" == *libcurl.so.4* ]]
}

@test "without libcurl: engine-free commands work, engine commands fail clearly" {
	[ "$(id -u)" = 0 ] || skip "needs root for a mount namespace"
	run without_libcurl "$ROVER" list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq length)" -eq 5 ]
	run without_libcurl "$ROVER" inspect 2
	[ "$status" -eq 0 ]
	git init -q proj && git -C proj -c user.email=t@t -c user.name=t commit -q --allow-empty -m i
	cd proj
	before=$(ls "$S/store/tasks" | sort)
	run without_libcurl "$ROVER" task --image some:image "do something"
	[ "$status" -ne 0 ]
	[ "$(grep -c . <<<"$output")" -eq 1 ]
	grep -q 'cannot load libcurl.so.4.*apt-get install libcurl4' <<<"$output"
	[ "$(ls "$S/store/tasks" | sort)" = "$before" ]
	[ -z "$(git branch --list 'rover/*')" ]
}
