#!/usr/bin/env bash
# Run each real agent CLI by hand in the real agent image (as the
# unprivileged agent user, every capability dropped, host network) against
# the stand-in provider (tests/agents/provider_stub.py) once per case, with
# the argv and environment rover's adapters give it (agent-runner/adapters.c),
# and keep what it printed as a fixture:
#     tests/fixtures/agents/<cli>/<case>/{stdout,stderr,exit_code,version,seconds}
# "seconds" is the time from the stub's first refused request to the CLI's
# exit (absent when nothing was refused).  Prints one line per case.
#
#   tests/agents/capture-fixtures.sh [cli...]     (default: claude codex gemini)
#
# Needs: scripts/engines.sh running, scripts/build-agent-image.sh done.
# Environment: ROVER_FIXTURE_ENGINE (docker, default, or podman),
# ROVER_FIXTURES_DIR (default tests/fixtures/agents).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${ROVER_FIXTURES_DIR:-$root/tests/fixtures/agents}
engine=${ROVER_FIXTURE_ENGINE:-docker}
run_dir=${ROVER_TEST_RUN_DIR:-/run/rover-test}
image=rover-agent-real:latest
clis=("$@")
[ ${#clis[@]} -gt 0 ] || clis=(claude codex gemini)

if [ "$engine" = docker ]; then
	eng=(/usr/bin/docker -H "unix://$run_dir/docker.sock")
else
	export CONTAINERS_CONF=$run_dir/containers.conf
	eng=(podman)
	image=localhost/$image
fi

tmp=$(mktemp -d /tmp/rover-capture.XXXXXX)
python3 "$root/tests/agents/provider_stub.py" --port-file "$tmp/port" >"$tmp/stub.log" 2>&1 &
stub=$!
trap 'kill $stub 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
base=http://127.0.0.1:$port

control() { curl -fsS -X POST "$base/_control" -d "$1" >/dev/null; }
first_refusal() { # -> epoch seconds of the first non-200 model request, or nothing
	curl -fsS "$base/_log" | python3 -c 'import json,sys
r=[e["t"] for e in json.load(sys.stdin) if e["status"]!=200]
print(min(r) if r else "")'
}

# The adapters' argv and environment, per CLI (keep in step with adapters.c).
# The commands expand in the container's shell, not here.
# shellcheck disable=SC2016
cli_cmd() { # cli -> the shell command run in the container
	case $1 in
	claude) echo 'exec claude -p "Say hello." --output-format stream-json --verbose --dangerously-skip-permissions' ;;
	codex) echo 'mkdir -p "$CODEX_HOME"; exec codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -c model_provider=\"rover\" -c model_providers.rover.name=\"rover\" -c model_providers.rover.env_key=\"OPENAI_API_KEY\" -c model_providers.rover.wire_api=\"responses\" -c model_providers.rover.request_max_retries=0 -c model_providers.rover.stream_max_retries=0 -c model_providers.rover.base_url=\"$OPENAI_BASE_URL\" "Say hello."' ;;
	gemini) echo 'mkdir -p "$GEMINI_CLI_HOME/.gemini" && chmod 700 "$GEMINI_CLI_HOME" "$GEMINI_CLI_HOME/.gemini" && echo "{\"security\":{\"auth\":{\"selectedType\":\"gemini-api-key\"}},\"general\":{\"maxAttempts\":1}}" >"$GEMINI_CLI_HOME/.gemini/settings.json" && exec gemini -p "Say hello." --yolo -o stream-json --model gemini-2.5-pro' ;;
	esac
}

cli_env() { # cli case -> -e options
	local tz=UTC
	[ "$2" = session_limit_zone ] && tz=Europe/Berlin
	echo "-e TZ=$tz -e HOME=/tmp"
	case $1 in
	claude)
		echo "-e ANTHROPIC_BASE_URL=$base -e CLAUDE_CODE_MAX_RETRIES=0 -e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 -e DISABLE_AUTOUPDATER=1"
		case $2 in
		session_limit*) echo "-e CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-stub" ;;
		*) echo "-e ANTHROPIC_API_KEY=sk-ant-stub" ;;
		esac ;;
	codex) echo "-e OPENAI_API_KEY=sk-stub -e OPENAI_BASE_URL=$base/v1 -e CODEX_HOME=/tmp/codex-home" ;;
	gemini) echo "-e GEMINI_API_KEY=stub-key -e GOOGLE_GEMINI_BASE_URL=$base -e GEMINI_CLI_TRUST_WORKSPACE=true -e GEMINI_CLI_HOME=/tmp/gemini-home" ;;
	esac
}

cases_of() {
	case $1 in
	claude) echo success rate_limit rate_limit_noreset blip server_error credit bad_key session_limit session_limit_zone ;;
	*) echo success rate_limit rate_limit_noreset blip server_error credit bad_key ;;
	esac
}

version_of() {
	node -e 'process.stdout.write(require(process.argv[1]).version)' \
		"$root/build/agents-npm/node_modules/$1/package.json"
}

for cli in "${clis[@]}"; do
	case $cli in
	claude) pkg=@anthropic-ai/claude-code ;;
	codex) pkg=@openai/codex ;;
	gemini) pkg=@google/gemini-cli ;;
	*) echo "capture: unknown cli $cli" >&2; exit 2 ;;
	esac
	ver=$(version_of "$pkg")
	for c in $(cases_of "$cli"); do
		scenario=$c
		[ "$c" = session_limit_zone ] && scenario=session_limit
		reset=120
		[ "$cli" = gemini ] && [ "$c" = rate_limit ] && reset=20
		[[ $c == session_limit* ]] && reset=3600
		control "{\"scenario\":\"$scenario\",\"fail_count\":2,\"reset_s\":$reset}"
		d=$out/$cli/$c
		mkdir -p "$d"
		set +e
		# shellcheck disable=SC2046 # the -e options split on purpose
		timeout 300 "${eng[@]}" run --rm --network host --user 1000:1000 --cap-drop ALL \
			--security-opt no-new-privileges $(cli_env "$cli" "$c") -w /workspace \
			"$image" sh -c "$(cli_cmd "$cli")" >"$d/stdout" 2>"$d/stderr" </dev/null
		rc=$?
		set -e
		end=$(date +%s.%N)
		echo "$rc" >"$d/exit_code"
		echo "$pkg $ver" >"$d/version"
		first=$(first_refusal)
		secs=
		if [ -n "$first" ]; then
			secs=$(python3 -c "print(round($end - $first, 1))")
			echo "$secs" >"$d/seconds"
		else
			rm -f "$d/seconds"
		fi
		# The stub's port changes from run to run; fixtures should not.
		sed -i "s/127\.0\.0\.1:$port/127.0.0.1:PORT/g" "$d/stdout" "$d/stderr"
		echo "capture: $cli $c exit=$rc refused-to-exit=${secs:-n/a}s"
	done
done
