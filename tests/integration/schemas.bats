#!/usr/bin/env bats
# The JSON Schemas in schemas/ describe what we really read and write.
# (status.json and checkpoint.json written by the runner are validated in
# agent_local.bats and agent_container_*.bats; description.json here.)

load agent_helpers

teardown() { if [ -n "${P:-}" ]; then rover_teardown; fi; }

validate_yaml() { # schema file.yml
	/usr/bin/python3 - "$ROOT/schemas/$1.schema.json" "$2" <<'PY'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
doc = yaml.safe_load(open(sys.argv[2]))
jsonschema.Draft202012Validator(schema).validate(doc)
PY
}

@test "the workflow schema accepts the fixtures, the demo and the built-in workflow" {
	for f in "$ROOT"/tests/fixtures/workflows/valid-*.yml "$ROOT/demo/rate-limit.yml"; do
		validate_yaml workflow "$f" || { echo "rejected: $f" >&2; false; }
	done
	# the built-in default workflow, as rover writes it into a task
	sed -n '/^static const char default_workflow\[\] =/,/;$/p' \
		"$ROOT/supervisor/lib/builtin_workflows.c" |
		sed '1d; s/^[[:space:]]*"//; s/\\n"[;]*$//; s/\\"/"/g' >"$BATS_TEST_TMPDIR/default.yml"
	validate_yaml workflow "$BATS_TEST_TMPDIR/default.yml"
	# and rover-agent agrees it is a valid workflow
	mkdir -p "$BATS_TEST_TMPDIR/out"
	run "$AGENT" run "$BATS_TEST_TMPDIR/default.yml" --output "$BATS_TEST_TMPDIR/out" -i description=x -C /nonexistent
	[[ "$output" != *"default.yml:"* ]]
}

@test "the workflow schema rejects invalid workflows" {
	for f in "$ROOT"/tests/fixtures/workflows/invalid-{unknown-type,missing-prompt,bad-if,version,timeout}.yml; do
		[ -e "$f" ] || continue
		! validate_yaml workflow "$f" 2>/dev/null || { echo "accepted: $f" >&2; false; }
	done
}

@test "description.json of a real task validates against its schema, at each stage" {
	load helpers
	load rover_helpers
	rover_setup docker
	write_wf wf.yml <<'YML'
version: '1.0'
name: schema
steps:
  - id: a
    type: agent
    prompt: "work [[rate-limit-once:a]]"
YML
	run rover task -w wf.yml --json "schema check"
	[ "$status" -eq 0 ]
	id=$(echo "$output" | jq -r .taskId)
	validate_schema description "$STORE/tasks/$id/description.json"
	wait_status "$id" PAUSED 60
	validate_schema description "$STORE/tasks/$id/description.json"
	validate_schema status "$STORE/tasks/$id/iterations/1/status.json"
	validate_schema checkpoint "$STORE/tasks/$id/iterations/1/checkpoint.json"
}
