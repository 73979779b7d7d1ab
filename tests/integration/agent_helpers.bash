# Shared helpers for the rover-agent integration tests (bats).
# ROVER_BIN_DIR points at the binaries under test (tests/run.sh sets it).

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
AGENT=${ROVER_BIN_DIR:-$ROOT/bin}/rover-agent
FAKE_AGENT_SRC=$ROOT/tests/fake-agent/fake-agent

# A fresh work area per test: $W/out (iteration dir), $W/ws (workspace),
# $W/bin (fake agent tools on PATH).
agent_setup() {
	W=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-agent-test.XXXXXX")
	mkdir -p "$W/out" "$W/ws" "$W/bin"
	for t in claude codex gemini qwen opencode cursor-agent; do
		ln -s "$FAKE_AGENT_SRC" "$W/bin/$t"
	done
	export PATH="$W/bin:$PATH"
	export FAKE_AGENT_STATE="$W/state"
	export ROVER_AGENT_RETRY_DELAY_MS=50
}

agent_teardown() {
	[ -n "${W:-}" ] && rm -rf "$W"
}

# run_agent WORKFLOW [extra args...]: run rover-agent in the workspace
run_agent() {
	local wf=$1
	shift
	run "$AGENT" run "$wf" --output "$W/out" --task-id 7 -C "$W/ws" "$@"
}

# write_wf NAME <<EOF ... : a workflow file under $W
write_wf() {
	cat >"$W/$1"
	echo "$W/$1"
}

# jq on a file, failing the test when the file is not JSON
jqf() {
	jq -e -r "$1" "$2"
}

completed_ids() {
	jq -r '[.completedSteps[].id] | join(",")' "$1"
}

# Validate a JSON file against one of our schemas.
validate_schema() { # schema-name file
	/usr/bin/python3 - "$ROOT/schemas/$1.schema.json" "$2" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator
                    if hasattr(jsonschema, "Draft202012Validator") else None)
PY
}
