# The real agent CLIs (Claude Code, Codex, Gemini CLI, from npm) as agent
# steps of real rover tasks in real containers (the image of
# scripts/build-agent-image.sh), against the stand-in provider
# tests/agents/provider_stub.py on 127.0.0.1 - host network for these tests
# only (ROVER_NETWORK=host).  The agent runs as rover's default unprivileged
# uid with every capability dropped, as in any task.  Bodies shared by
# real_agents_docker.bats and real_agents_podman.bats.
#
# Each case prints "# <cli> <case>: <s> s from the first refused request to
# the pause" (bats shows it with --print-output-on-failure / on fd 3).

load helpers
load rover_helpers

# Once per file: the CLIs from npm (cached in build/) and the image (quick
# when up to date).
ra_setup_file() { # engine
	"$ROOT/scripts/install-agents.sh" >/dev/null 2>&1 || skip "agent CLIs could not be installed from npm"
	ROVER_TEST_ENGINES=$1 "$ROOT/scripts/build-agent-image.sh" >/dev/null 2>&1 ||
		skip "the agent image could not be built"
}

ra_setup() { # engine cli
	RA_CLI=$2
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 3000000)) >"$STORE/tasks/.last-id"
	export ROVER_AGENT_IMAGE=rover-agent-real:latest
	export ROVER_NETWORK=host
	# A transient error is retried in-process after 2 s, then 4 s.
	export ROVER_AGENT_RETRY_DELAY_MS=2000
	python3 "$ROOT/tests/agents/provider_stub.py" --port-file "$P.port" >"$P.stub.log" 2>&1 3>&- &
	STUB_PID=$!
	local _
	for _ in $(seq 100); do [ -s "$P.port" ] && break; sleep 0.05; done
	STUB=http://127.0.0.1:$(cat "$P.port")
	unset ANTHROPIC_API_KEY CLAUDE_CODE_OAUTH_TOKEN OPENAI_API_KEY GEMINI_API_KEY
	case $RA_CLI in
	claude) export ANTHROPIC_BASE_URL=$STUB ANTHROPIC_API_KEY=sk-ant-stub ;;
	codex) export OPENAI_BASE_URL=$STUB/v1 OPENAI_API_KEY=sk-stub ;;
	gemini) export GOOGLE_GEMINI_BASE_URL=$STUB GEMINI_API_KEY=stub-key ;;
	esac
	write_wf wf.yml <<YML
version: '1.0'
name: real-agent
steps:
  - id: first
    type: command
    command: echo first >> runs.log; id -u > uid.txt
  - id: plan
    type: agent
    tool: $RA_CLI
    prompt: "Say hello."
  - id: last
    type: command
    command: echo last >> runs.log
YML
}

ra_teardown() {
	[ -n "${STUB_PID:-}" ] && kill "$STUB_PID" 2>/dev/null
	rover_teardown
	rm -f "$P.port" "$P.stub.log"
}

scenario() { # name [reset_s]
	curl -fsS -X POST "$STUB/_control" -d "{\"scenario\":\"$1\",\"fail_count\":2,\"reset_s\":${2:-120}}" >/dev/null
}

first_refusal() {
	curl -fsS "$STUB/_log" | python3 -c 'import json,sys
r=[e["t"] for e in json.load(sys.stdin) if e["status"]!=200]
print(min(r) if r else "")'
}

start_task() {
	local out
	# No model named: for Gemini rover must pick one itself, or its "auto"
	# router's own retries would make every pause minutes late.
	out=$("$ROVER" task --json -w wf.yml "real agent") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	ITER=$STORE/tasks/$TID/iterations/1
}

# wait_paused_timed CASE: wait for PAUSED and print the time from the first
# refused request; fails above 60 s.
wait_paused_timed() {
	wait_status "$TID" PAUSED 120
	local end first secs
	end=$(date +%s.%N)
	first=$(first_refusal)
	[ -n "$first" ] || { echo "the stub refused nothing" >&2; return 1; }
	secs=$(python3 -c "print(round($end - $first, 1))")
	echo "# $RA_CLI $1: ${secs}s from the first refused request to the pause" >&3
	python3 -c "import sys; sys.exit(0 if $secs < 60 else 1)" || { echo "pause took ${secs}s" >&2; return 1; }
}

desc() { jq -r "$1" "$STORE/tasks/$TID/description.json"; }

schema_ok() { # schema-name file: the file holds to schemas/<name>.schema.json
	python3 - "$ROOT/schemas/$1.schema.json" "$2" <<'PY'
import json, sys
import jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))
PY
}

case_success_records_usage() {
	scenario success
	start_task
	wait_status "$TID" COMPLETED 180
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nlast')" ]
	# rover as root runs the agent as an unprivileged uid (hardening.md)
	if [ "$(id -u)" = 0 ]; then
		[ -s "$WS/uid.txt" ]
		[ "$(cat "$WS/uid.txt")" != 0 ]
	fi
	# the checkpoint is gone after success; status.json and the record keep the usage
	[ "$(jq -r .usage.inputTokens "$ITER/status.json")" -ge 1234 ]
	[ "$(jq -r .usage.steps.plan.outputTokens "$ITER/status.json")" -ge 56 ]
	[ "$(desc .usage.agentRuns)" = 1 ]
	schema_ok status "$ITER/status.json"
	schema_ok description "$STORE/tasks/$TID/description.json"
	if [ "$RA_CLI" = claude ]; then
		python3 -c "import sys; sys.exit(0 if float('$(desc .usage.costUsd)') > 0 else 1)"
	fi
	"$ROVER" inspect "$TID" | grep -E "Usage|Cost"
	"$ROVER" list --json | jq -e ".[] | select(.id == $TID) | .usage.inputTokens >= 1234" >/dev/null
}

case_rate_limit_pauses_then_resume_skips() {
	scenario rate_limit 20
	start_task
	wait_paused_timed rate_limit
	[ "$(jq -r .pauseReason "$ITER/checkpoint.json")" = retryable_error ]
	[ "$(jq -r '[.completedSteps[].id] | join(",")' "$ITER/checkpoint.json")" = first ]
	schema_ok checkpoint "$ITER/checkpoint.json"
	schema_ok status "$ITER/status.json"
	if [ "$RA_CLI" = gemini ]; then
		# "Please retry in 20.5s": a reset time about 20 s after the refusal
		[ "$(jq -r .resetAt "$ITER/checkpoint.json")" != null ]
	fi
	scenario success
	"$ROVER" resume "$TID"
	wait_status "$TID" COMPLETED 180
	# the completed command step ran once, the agent step ran again
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nlast')" ]
	[ "$(desc .usage.agentRuns)" = 2 ]
	[ "$(desc .usage.outputTokens)" -ge 56 ]
}

case_credit_pauses() {
	scenario credit
	start_task
	wait_paused_timed credit
	[ "$(jq -r .pauseReason "$ITER/checkpoint.json")" = retryable_error ]
	[ "$(jq -r .isRetryable "$ITER/checkpoint.json")" = true ]
	# a readable error, not a stack trace
	run jq -r .error "$ITER/checkpoint.json"
	[[ $output != *"    at "* ]] && [[ $output != *"[object Object]"* ]]
}

case_session_limit_reset_time() { # claude only: the subscription window
	unset ANTHROPIC_API_KEY
	export CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-stub
	scenario session_limit 3600
	start_task
	wait_paused_timed session_limit
	local reset want
	reset=$(jq -r .resetAt "$ITER/checkpoint.json")
	[ "$reset" != null ]
	want=$(python3 -c "import time; print(int(time.time()) + 3600)")
	python3 - "$reset" "$want" <<'PY'
import sys, datetime
r = datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).timestamp()
sys.exit(0 if abs(r - int(sys.argv[2])) < 120 else 1)
PY
}

case_bad_key_fails() {
	scenario bad_key
	start_task
	wait_status "$TID" FAILED 120
	[ ! -e "$WS/runs.log" ] || ! grep -q last "$WS/runs.log"
}

case_blip_absorbed() {
	scenario blip
	start_task
	wait_status "$TID" COMPLETED 180
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nlast')" ]
}

# A shared subscription login: only when asked, only the one file, read-only,
# readable by the unprivileged agent; the user's own file is untouched.  The
# "agent" here is a hostile command step.
case_login_copy_read_only() {
	local home=$P.home
	mkdir -p "$home/.codex" "$home/.ssh"
	echo '{"tokens":"login-secret"}' >"$home/.codex/auth.json"
	chmod 600 "$home/.codex/auth.json"
	echo other-secret >"$home/.ssh/id_ed25519"
	write_wf login.yml <<'YML'
version: '1.0'
name: login
steps:
  - id: look
    type: command
    command: |
      cat /rover-logins/codex/auth.json > seen.txt 2>&1 || echo unreadable > seen.txt
      if echo tampered > /rover-logins/codex/auth.json 2>/dev/null; then echo WROTE > wrote.txt; fi
      ls -a /rover-logins /rover-logins/codex > listing.txt 2>&1
      find / \( -path /proc -o -path /sys \) -prune -o -name id_ed25519 -print > found.txt 2>/dev/null || true
YML
	# Not asked: no mount at all.
	local out
	out=$(HOME=$home "$ROVER" task --json -w login.yml "no login") || { echo "$out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	wait_status "$TID" COMPLETED 60
	grep -q unreadable "$WS/seen.txt"
	# Asked: the copy, read-only.
	out=$(HOME=$home ROVER_AGENT_LOGINS=codex "$ROVER" task --json -w login.yml "login") ||
		{ echo "$out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	wait_status "$TID" COMPLETED 60
	grep -q login-secret "$WS/seen.txt"
	[ ! -e "$WS/wrote.txt" ]
	[ ! -s "$WS/found.txt" ]
	! grep -q id_ed25519 "$WS/listing.txt"
	[ "$(cat "$home/.codex/auth.json")" = '{"tokens":"login-secret"}' ]
	[ "$(stat -c %a "$home/.codex/auth.json")" = 600 ]
	# An unknown name is refused with one line naming it.
	run env HOME="$home" ROVER_AGENT_LOGINS=claude "$ROVER" task -w login.yml "bad"
	[ "$status" -ne 0 ]
	[[ $output == *"ROVER_AGENT_LOGINS: 'claude'"* ]]
	rm -rf "$home"
}
