/* Unit tests for agent-runner/workflow: the full fixture field by field, every
 * invalid fixture with its line and reason, inline rule checks, input caps,
 * and the tree helpers (find, loop limits, timeouts, counts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/workflow.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fileio.h"

/* Fixtures live next to this file's directory: tests/fixtures/workflows. */
static char *fixture(const char *name)
{
	_cleanup_free_ char *dir = fileio_dirname(__FILE__);
	return xasprintf("%s/../fixtures/workflows/%s", dir, name);
}

static struct workflow *load_ok(const char *name)
{
	_cleanup_free_ char *path = fixture(name);
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	if (workflow_load(path, &wf, &err) < 0)
		fail_msg("%s: %s", name, rv_error_msg(err));
	assert_null(err);
	return wf;
}

/* A fixture must fail with exactly "<path>:<line>: <reason>". */
static void load_fails(const char *name, int line, const char *reason)
{
	_cleanup_free_ char *path = fixture(name);
	_cleanup_free_ char *want = xasprintf("%s:%d: %s", path, line, reason);
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	int r = workflow_load(path, &wf, &err);
	if (r != -EBADMSG)
		fail_msg("%s: got %d (%s), want -EBADMSG", name, r, rv_error_msg(err));
	assert_null(wf);
	assert_int_equal(err->code, EBADMSG);
	assert_string_equal(err->msg, want);
	rv_error_free(err);
}

/* Inline text must fail with exactly "wf.yml:<line>: <reason>". */
static void parse_fails(const char *yaml, int line, const char *reason)
{
	_cleanup_free_ char *want = xasprintf("wf.yml:%d: %s", line, reason);
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	int r = workflow_parse(yaml, strlen(yaml), "wf.yml", &wf, &err);
	if (r != -EBADMSG || !err || strcmp(err->msg, want))
		fail_msg("parsing:\n%s\ngot %d \"%s\"\nwant \"%s\"", yaml, r, rv_error_msg(err),
			 want);
	assert_null(wf);
	rv_error_free(err);
}

static struct workflow *parse_ok(const char *yaml)
{
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	if (workflow_parse(yaml, strlen(yaml), "wf.yml", &wf, &err) < 0)
		fail_msg("parsing:\n%s\nfailed: %s", yaml, rv_error_msg(err));
	return wf;
}

#define HEAD "version: '1.0'\n"
#define CMD_STEP "steps:\n  - id: a\n    type: command\n    command: echo\n"

static void assert_output(const struct workflow_output *o, const char *name, const char *desc,
			  const char *type, const char *filename, bool required)
{
	assert_string_equal(o->name, name);
	if (desc)
		assert_string_equal(o->description, desc);
	else
		assert_null(o->description);
	if (type)
		assert_string_equal(o->type, type);
	else
		assert_null(o->type);
	if (filename)
		assert_string_equal(o->filename, filename);
	else
		assert_null(o->filename);
	assert_int_equal(o->required, required);
}

static void test_workflow_full_fixture(void **state)
{
	(void)state;
	struct workflow *wf = load_ok("valid-full.yml");

	assert_string_equal(wf->version, "1.0");
	assert_string_equal(wf->name, "full");
	assert_string_equal(wf->description, "Exercises every feature");

	assert_int_equal(wf->n_inputs, 2);
	assert_string_equal(wf->inputs[0].name, "description");
	assert_string_equal(wf->inputs[0].description, "What to do");
	assert_string_equal(wf->inputs[0].label, "Description");
	assert_string_equal(wf->inputs[0].type, "string");
	assert_true(wf->inputs[0].required);
	assert_null(wf->inputs[0].default_value);
	assert_string_equal(wf->inputs[1].name, "retries");
	assert_null(wf->inputs[1].label);
	assert_string_equal(wf->inputs[1].type, "number");
	assert_false(wf->inputs[1].required);
	assert_string_equal(wf->inputs[1].default_value, "3");

	assert_int_equal(wf->n_outputs, 1);
	assert_output(&wf->outputs[0], "summary", "Final summary", "file", "summary.md", false);

	assert_string_equal(wf->default_tool, "claude");
	assert_string_equal(wf->default_model, "sonnet");
	assert_int_equal(wf->timeout_s, 3600);
	assert_true(wf->continue_on_error);
	assert_int_equal(wf->loop_limit, 2);

	assert_int_equal(wf->n_steps, 3);
	const struct workflow_step *s = &wf->steps[0];
	assert_int_equal(s->type, WORKFLOW_STEP_AGENT);
	assert_string_equal(s->id, "context");
	assert_string_equal(s->name, "Context Analysis");
	assert_null(s->if_cond);
	assert_int_equal(s->line, 36);
	assert_null(s->tool);
	assert_null(s->model);
	assert_string_equal(s->prompt, "Analyse: {{inputs.description}}\n");
	assert_int_equal(s->timeout_s, 600);
	assert_int_equal(s->retries, 2);
	assert_int_equal(s->n_outputs, 2);
	assert_output(&s->outputs[0], "complexity", "simple or complex", "string", NULL, true);
	assert_output(&s->outputs[1], "context_file", "Context file", "file", "context.md", false);
	assert_null(s->command);
	assert_int_equal(s->n_steps, 0);

	s = &wf->steps[1];
	assert_int_equal(s->type, WORKFLOW_STEP_COMMAND);
	assert_string_equal(s->id, "build");
	assert_string_equal(s->name, "build"); /* defaults to the id */
	assert_int_equal(s->line, 54);
	assert_string_equal(s->command, "make");
	assert_int_equal(s->n_args, 3);
	assert_string_equal(s->args[0], "-C");
	assert_string_equal(s->args[1], "{{inputs.description}}");
	assert_string_equal(s->args[2], "it's");
	assert_true(s->allow_failure);
	assert_string_equal(s->if_cond, "steps.context.outputs.complexity == complex || "
					"steps.context.outputs.complexity == unknown");
	assert_int_equal(s->n_outputs, 1);
	assert_output(&s->outputs[0], "log", "Build log", "string", NULL, false);
	assert_null(s->prompt);
	assert_int_equal(s->timeout_s, 0);

	s = &wf->steps[2];
	assert_int_equal(s->type, WORKFLOW_STEP_LOOP);
	assert_string_equal(s->id, "fix-loop");
	assert_string_equal(s->name, "Fix until green");
	assert_int_equal(s->line, 65);
	assert_int_equal(s->max_iterations, 5);
	assert_string_equal(s->until, "steps.test.outputs.exit_code == 0");
	assert_int_equal(s->n_outputs, 0);
	assert_int_equal(s->n_steps, 3);
	const struct workflow_step *fix = &s->steps[0];
	assert_int_equal(fix->type, WORKFLOW_STEP_AGENT);
	assert_string_equal(fix->id, "fix");
	assert_string_equal(fix->tool, "codex");
	assert_string_equal(fix->model, "gpt-5");
	assert_string_equal(fix->prompt, "Fix the build: {{steps.build.outputs.stdout}}");
	assert_int_equal(fix->n_outputs, 0);
	assert_int_equal(s->steps[1].type, WORKFLOW_STEP_COMMAND);
	assert_string_equal(s->steps[1].command, "make test");
	assert_int_equal(s->steps[1].n_args, 0);
	assert_false(s->steps[1].allow_failure);
	const struct workflow_step *inner = &s->steps[2];
	assert_int_equal(inner->type, WORKFLOW_STEP_LOOP);
	assert_int_equal(inner->max_iterations, WORKFLOW_DEFAULT_MAX_ITERATIONS);
	assert_string_equal(inner->until, "steps.probe.outputs.ok == yes");
	assert_int_equal(inner->n_steps, 1);
	assert_string_equal(inner->steps[0].id, "probe");
	assert_string_equal(inner->steps[0].command, "true");
	assert_string_equal(inner->steps[0].if_cond, "steps.test.outputs.exit_code != 0");
	assert_int_equal(inner->steps[0].line, 83);

	workflow_free(wf);
}

static void test_workflow_minimal_fixture_defaults(void **state)
{
	(void)state;
	struct workflow *wf = load_ok("valid-minimal.yml");
	assert_string_equal(wf->version, "1.0"); /* written as the float 1.0 */
	assert_null(wf->name);
	assert_null(wf->description);
	assert_int_equal(wf->n_inputs, 0);
	assert_int_equal(wf->n_outputs, 0);
	assert_null(wf->default_tool);
	assert_null(wf->default_model);
	assert_int_equal(wf->timeout_s, WORKFLOW_DEFAULT_TIMEOUT_S);
	assert_false(wf->continue_on_error);
	assert_int_equal(wf->loop_limit, 0);
	assert_int_equal(wf->n_steps, 1);
	assert_string_equal(wf->steps[0].name, "only");
	assert_int_equal(workflow_step_timeout(wf, &wf->steps[0]), WORKFLOW_DEFAULT_TIMEOUT_S);
	assert_int_equal(workflow_count_steps(wf), 1);
	assert_null(workflow_free(wf));
	assert_null(workflow_free(NULL));
}

static void test_workflow_invalid_fixtures(void **state)
{
	(void)state;
	load_fails("invalid-duplicate-id.yml", 11,
		   "step 'plan': duplicate id (first used at line 4; ids must be unique across "
		   "the whole workflow, loop steps included)");
	load_fails("invalid-unknown-type.yml", 8,
		   "step 'build': unknown type 'shell' (expected agent, command, loop or "
		   "breakpoint)");
	load_fails("invalid-missing-prompt.yml", 8,
		   "step 'think': missing 'prompt' (agent steps need one)");
	load_fails("invalid-bad-if.yml", 10,
		   "step 'b': invalid 'if': \"steps.a.outputs.exit_code = 0\" is not a clause of "
		   "the form \"steps.<id>.outputs.<name> == <value>\" (or !=)");
	load_fails("invalid-yaml-syntax.yml", 3,
		   "block sequence entries are not allowed in this context");
	load_fails("invalid-version.yml", 3, "unsupported workflow version '2.0' (expected '1.0')");
	load_fails("invalid-timeout.yml", 5,
		   "config: 'timeout' must be a positive integer, not '10m'");
	load_fails("invalid-step-timeout.yml", 7,
		   "step 'a': 'timeout' must be a positive integer, not '1.5'");
}

static void test_workflow_load_errors_keep_errno(void **state)
{
	(void)state;
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(workflow_load("/nonexistent/rover/wf.yml", &wf, &err), -ENOENT);
	assert_null(wf);
	assert_non_null(strstr(err->msg, "/nonexistent/rover/wf.yml"));
	err = rv_error_free(err);

	/* over the size cap, before any parsing */
	size_t n = WORKFLOW_MAX_BYTES + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(workflow_parse(big, n, "big.yml", &wf, &err), -EFBIG);
	assert_null(wf);
	assert_non_null(strstr(err->msg, "big.yml"));
	err = rv_error_free(err);
	/* the same as a file */
	char dir[] = "/tmp/rover-test-workflow-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = fileio_join(dir, "big.yml");
	assert_int_equal(fileio_write_atomic(path, big, n, 0644, NULL), 0);
	free(big);
	assert_int_equal(workflow_load(path, &wf, &err), -EFBIG);
	assert_null(wf);
	err = rv_error_free(err);
	assert_int_equal(fileio_remove_tree(dir, NULL), 0);

	/* err may be NULL */
	assert_int_equal(workflow_parse("steps: [", 8, "x", &wf, NULL), -EBADMSG);
	assert_null(wf);
}

static void test_workflow_document_shape(void **state)
{
	(void)state;
	parse_fails("", 1, "the workflow is empty");
	parse_fails("# only a comment\n", 1, "the workflow is empty");
	parse_fails("- a\n- b\n", 1, "a workflow must be a mapping, not a list");
	parse_fails("just text\n", 1, "a workflow must be a mapping, not a scalar");
	parse_fails(HEAD CMD_STEP "---\n" HEAD CMD_STEP, 7, "more than one YAML document");
	parse_fails("name: x\n" CMD_STEP, 1, "missing 'version' (expected '1.0')");
	parse_fails(HEAD "name: x\n", 1, "missing 'steps'");
	parse_fails(HEAD "steps: []\n", 2, "'steps' is empty");
	parse_fails(HEAD "steps:\n  a: 1\n", 3, "'steps' must be a list, not a mapping");
	parse_fails(HEAD "version: '1.0'\n" CMD_STEP, 2, "duplicate key 'version'");
	parse_fails("version: 1\n" CMD_STEP, 1,
		    "unsupported workflow version '1' (expected '1.0')");
	parse_fails("version: '1.00'\n" CMD_STEP, 1,
		    "unsupported workflow version '1.00' (expected '1.0')");
	parse_fails("version: [1]\n" CMD_STEP, 1, "'version' must be a scalar, not a list");
	/* YAML errors carry libyaml's reason and the right line */
	parse_fails(HEAD "name: 'unterminated\n" CMD_STEP, 7,
		    "found unexpected end of stream (while scanning a quoted scalar at line 2)");
	parse_fails(HEAD "a: b: c\n", 2, "mapping values are not allowed in this context");
	parse_fails(HEAD "steps: *nothing\n", 2, "found undefined alias");
	/* invalid UTF-8: a reader error, located by byte offset */
	parse_fails(HEAD "name: x\ndescription: \xff\xfe\n" CMD_STEP, 3,
		    "invalid leading UTF-8 octet");
	/* unknown top-level keys are ignored, whatever their shape */
	struct workflow *wf = parse_ok(HEAD "useCases: x\nfuture:\n  - {a: [1, 2]}\n" CMD_STEP);
	assert_int_equal(wf->n_steps, 1);
	workflow_free(wf);
	/* a NUL-free buffer that is not NUL-terminated parses by length */
	static const char text[] = HEAD CMD_STEP "garbage after the length";
	wf = NULL;
	assert_int_equal(workflow_parse(text, sizeof(HEAD CMD_STEP) - 1, "wf.yml", &wf, NULL), 0);
	workflow_free(wf);
}

static void test_workflow_step_rules(void **state)
{
	(void)state;
	parse_fails(HEAD "steps:\n  - type: command\n    command: x\n", 3, "step without 'id'");
	parse_fails(HEAD "steps:\n  - id: a\n    command: x\n", 3,
		    "step 'a': missing 'type' (agent, command, loop or breakpoint)");
	parse_fails(HEAD "steps:\n  - id: 'a/b'\n    type: command\n    command: x\n", 3,
		    "step: 'id' must be 1 to 128 characters of [A-Za-z0-9_-], not 'a/b'");
	parse_fails(HEAD "steps:\n  - id: ''\n    type: command\n    command: x\n", 3,
		    "step: 'id' must be 1 to 128 characters of [A-Za-z0-9_-], not ''");
	parse_fails(HEAD "steps:\n  - id: 12\n    type: command\n    command: x\n", 3,
		    "step: 'id' must be a string, not an integer (quote it)");
	parse_fails(HEAD "steps:\n  - id: a\n    type: [agent]\n", 4,
		    "step 'a': 'type' must be a scalar, not a list");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n", 3,
		    "step 'a': missing 'command' (command steps need one)");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n    command: '  '\n", 5,
		    "step 'a': 'command' is empty");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: ''\n", 5,
		    "step 'a': 'prompt' is empty");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: |\n      x\n"
			 "    prompt: y\n",
		    7, "step 'a': duplicate key 'prompt'");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n    command: x\n    prompt: y\n", 6,
		    "step 'a': 'prompt' does not apply to command steps");
	parse_fails(
		HEAD
		"steps:\n  - id: a\n    type: command\n    command: x\n    allowFailure: true\n",
		6, "step 'a': unknown key 'allowFailure'");
	parse_fails(
		HEAD
		"steps:\n  - id: a\n    type: command\n    command: x\n    config: {timeout: 5}\n",
		6, "step 'a': 'config' does not apply to command steps");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n    command: x\n"
			 "    allow_failure: 'yes'\n",
		    6, "step 'a': 'allow_failure' must be true or false, not 'yes'");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n    command: x\n    args: [1]\n", 6,
		    "step 'a': 'args' must be a string, not an integer (quote it)");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n    command: x\n    args: y\n", 6,
		    "step 'a': 'args' must be a list, not a scalar");
	parse_fails(HEAD "steps:\n  - id: a\n    type: command\n    command: \"x\\0y\"\n", 5,
		    "step 'a': 'command' contains a NUL character");
	parse_fails(
		HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n    tool: vim\n", 6,
		"step 'a': unknown tool 'vim' (expected claude, codex, cursor, gemini, opencode "
		"or qwen)");
	parse_fails(
		HEAD
		"steps:\n  - id: a\n    type: agent\n    prompt: p\n    config: {retries: -1}\n",
		6, "step 'a': 'retries' must be a non-negative integer of at most 100, not '-1'");
	parse_fails(HEAD
		    "steps:\n  - id: a\n    type: agent\n    prompt: p\n    config: {timeout: 0}\n",
		    6,
		    "step 'a': 'timeout' must be a positive integer of at most 2592000, not '0'");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n"
			 "    config: {timeout: '60'}\n",
		    6, "step 'a': 'timeout' must be a positive integer, not '60'");
	parse_fails(HEAD
		    "steps:\n  - id: a\n    type: agent\n    prompt: p\n    config: {timout: 6}\n",
		    6, "step 'a': unknown key 'timout'");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n"
			 "    if: steps.x.outputs.y == 1 && steps.z.outputs.w == 2\n",
		    6,
		    "step 'a': invalid 'if': \"&&\" is not supported (join clauses with \"||\")");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n    if: ''\n", 6,
		    "step 'a': invalid 'if': empty condition");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n    name: 7\n", 6,
		    "step 'a': 'name' must be a string, not an integer (quote it)");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n    model: ~\n", 6,
		    "step 'a': 'model' must be a string, not null (quote it)");
	parse_fails(HEAD "steps:\n  - just a string\n", 3,
		    "a step must be a mapping, not a scalar");
	/* a quoted "true" is a string, so prompt: 'true' is fine */
	struct workflow *wf =
		parse_ok(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: 'true'\n");
	assert_string_equal(wf->steps[0].prompt, "true");
	workflow_free(wf);
}

static void test_workflow_loop_rules(void **state)
{
	(void)state;
	parse_fails(HEAD "steps:\n  - id: l\n    type: loop\n    until: steps.a.outputs.b == 1\n",
		    3, "step 'l': missing 'steps' (loop steps need them)");
	parse_fails(HEAD "steps:\n  - id: l\n    type: loop\n    steps:\n      - id: a\n"
			 "        type: command\n        command: x\n",
		    3, "step 'l': missing 'until' (loop steps need one)");
	parse_fails(HEAD "steps:\n  - id: l\n    type: loop\n    until: steps.a.outputs.b == 1\n"
			 "    steps: []\n",
		    6, "step 'l': 'steps' is empty");
	parse_fails(HEAD "steps:\n  - id: l\n    type: loop\n    until: nonsense\n    steps:\n"
			 "      - id: a\n        type: command\n        command: x\n",
		    5,
		    "step 'l': invalid 'until': \"nonsense\" is not a clause of the form "
		    "\"steps.<id>.outputs.<name> == <value>\" (or !=)");
	parse_fails(
		HEAD "steps:\n  - id: l\n    type: loop\n    until: steps.a.outputs.b == 1\n"
		     "    maxIterations: 0\n    steps:\n      - id: a\n        type: command\n"
		     "        command: x\n",
		6,
		"step 'l': 'maxIterations' must be a positive integer of at most 10000, not '0'");
	parse_fails(HEAD "steps:\n  - id: l\n    type: loop\n    until: steps.a.outputs.b == 1\n"
			 "    outputs: []\n    steps:\n      - id: a\n        type: command\n"
			 "        command: x\n",
		    6, "step 'l': 'outputs' does not apply to loop steps");
	/* an error inside a loop names the inner step and its line */
	parse_fails(HEAD "steps:\n  - id: l\n    type: loop\n    until: steps.a.outputs.b == 1\n"
			 "    steps:\n      - id: a\n        type: agent\n",
		    7, "step 'a': missing 'prompt' (agent steps need one)");
}

static void test_workflow_breakpoint_rules(void **state)
{
	(void)state;
	struct workflow *wf = parse_ok(HEAD "steps:\n  - id: gate\n    type: breakpoint\n"
					    "    message: Deploy?\n    timeout: 60\n"
					    "    onTimeout: continue\n  - id: g2\n"
					    "    type: breakpoint\n    message: again\n");
	assert_int_equal(wf->steps[0].type, WORKFLOW_STEP_BREAKPOINT);
	assert_string_equal(wf->steps[0].message, "Deploy?");
	assert_int_equal(wf->steps[0].timeout_s, 60);
	assert_int_equal(wf->steps[0].on_timeout, WORKFLOW_ON_TIMEOUT_CONTINUE);
	/* no timeout: waits for ever; the default on a timeout is to fail */
	assert_int_equal(wf->steps[1].timeout_s, 0);
	assert_int_equal(wf->steps[1].on_timeout, WORKFLOW_ON_TIMEOUT_FAIL);
	workflow_free(wf);
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n", 3,
		    "step 'b': missing 'message' (breakpoint steps need one)");
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: ' '\n", 5,
		    "step 'b': 'message' is empty");
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: m\n"
			 "    onTimeout: continue\n",
		    6, "step 'b': 'onTimeout' needs a 'timeout'");
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: m\n"
			 "    timeout: 5\n    onTimeout: approve\n",
		    7, "step 'b': unknown onTimeout 'approve' (expected fail or continue)");
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: m\n"
			 "    timeout: 0\n",
		    6,
		    "step 'b': 'timeout' must be a positive integer of at most 2592000, not '0'");
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: m\n"
			 "    command: x\n",
		    6, "step 'b': 'command' does not apply to breakpoint steps");
	parse_fails(HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: m\n"
			 "    outputs: []\n",
		    6, "step 'b': 'outputs' does not apply to breakpoint steps");
	parse_fails(HEAD
		    "steps:\n  - id: l\n    type: loop\n    until: steps.b.outputs.x == 1\n"
		    "    steps:\n      - id: b\n        type: breakpoint\n        message: m\n",
		    7,
		    "step 'b': breakpoint steps must be at the top level of the workflow, not "
		    "inside a loop");
	char *big = xcalloc(1, WORKFLOW_MAX_MESSAGE + 200);
	strcpy(big, HEAD "steps:\n  - id: b\n    type: breakpoint\n    message: ");
	memset(big + strlen(big), 'm', WORKFLOW_MAX_MESSAGE + 1);
	parse_fails(big, 5, "step 'b': 'message' is longer than 4096 bytes");
	free(big);
}

static void test_workflow_inputs_outputs_rules(void **state)
{
	(void)state;
	parse_fails(HEAD "inputs:\n  - description: x\n" CMD_STEP, 3, "input: missing 'name'");
	parse_fails(HEAD "inputs:\n  - name: a\n    type: list\n" CMD_STEP, 4,
		    "input 'a': unknown type 'list' (expected string, number or boolean)");
	parse_fails(HEAD "inputs:\n  - name: a\n  - name: a\n" CMD_STEP, 4,
		    "duplicate input name 'a'");
	parse_fails(HEAD "inputs:\n  - name: a\n    default: [1]\n" CMD_STEP, 4,
		    "input 'a': 'default' must be a scalar, not a list");
	parse_fails(HEAD "inputs:\n  - name: a\n    required: 1\n" CMD_STEP, 4,
		    "input 'a': 'required' must be true or false, not '1'");
	parse_fails(HEAD "inputs:\n  - name: a\n    secret: true\n" CMD_STEP, 4,
		    "input 'a': unknown key 'secret'");
	parse_fails(HEAD "inputs: {a: 1}\n" CMD_STEP, 2, "'inputs' must be a list, not a mapping");
	parse_fails(HEAD "outputs:\n  - name: s\n    type: file\n" CMD_STEP, 3,
		    "output 's': type 'file' needs a 'filename'");
	parse_fails(HEAD "outputs:\n  - name: s\n    type: file\n    filename: ../x.md\n" CMD_STEP,
		    5,
		    "output 's': 'filename' must be a relative path inside the output directory, "
		    "not '../x.md'");
	parse_fails(HEAD
		    "outputs:\n  - name: s\n    type: file\n    filename: /etc/passwd\n" CMD_STEP,
		    5,
		    "output 's': 'filename' must be a relative path inside the output directory, "
		    "not '/etc/passwd'");
	parse_fails(
		HEAD "outputs:\n  - name: s\n    type: file\n    filename: a/../../x\n" CMD_STEP, 5,
		"output 's': 'filename' must be a relative path inside the output directory, "
		"not 'a/../../x'");
	parse_fails(HEAD "outputs:\n  - name: s.t\n" CMD_STEP, 3,
		    "output: 'name' must be 1 to 128 characters of [A-Za-z0-9_-], not 's.t'");
	parse_fails(HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n    outputs:\n"
			 "      - name: x\n      - name: x\n",
		    8, "step 'a': duplicate output name 'x'");
	parse_fails(
		HEAD "steps:\n  - id: a\n    type: agent\n    prompt: p\n    outputs:\n"
		     "      - name: x\n        type: bool\n",
		8,
		"step 'a': output 'x': unknown type 'bool' (expected string, number, boolean or "
		"file)");
	parse_fails(HEAD "defaults:\n  tool: emacs\n" CMD_STEP, 3,
		    "defaults: unknown tool 'emacs' (expected claude, codex, cursor, gemini, "
		    "opencode or qwen)");
	parse_fails(HEAD "defaults:\n  agent: claude\n" CMD_STEP, 3,
		    "defaults: unknown key 'agent'");
	parse_fails(HEAD "config:\n  continueOnError: maybe\n" CMD_STEP, 3,
		    "config: 'continueOnError' must be true or false, not 'maybe'");
	parse_fails(HEAD "config:\n  loopLimit: -2\n" CMD_STEP, 3,
		    "config: 'loopLimit' must be a positive integer of at most 10000, not '-2'");
	parse_fails(HEAD "config: 5\n" CMD_STEP, 2, "'config' must be a mapping, not a scalar");

	/* a file filename with a dotted name is fine; defaults of every scalar kind */
	struct workflow *wf = parse_ok(HEAD "inputs:\n  - name: a\n    default: true\n"
					    "  - name: b\n    default: '007'\n  - name: c\n"
					    "    default: ~\n  - name: d\n    default: 1.5\n"
					    "outputs:\n  - name: s\n    type: file\n"
					    "    filename: out/..hidden..md\n" CMD_STEP);
	assert_string_equal(wf->inputs[0].default_value, "true");
	assert_string_equal(wf->inputs[1].default_value, "007");
	assert_null(wf->inputs[2].default_value);
	assert_string_equal(wf->inputs[3].default_value, "1.5");
	assert_string_equal(wf->outputs[0].filename, "out/..hidden..md");
	workflow_free(wf);
}

/* A chain of `depth` loops, each holding the next, the last holding a command. */
static char *nested_loops(int depth)
{
	size_t cap = (size_t)depth * 256 + 256, len = 0;
	char *s = xmalloc(cap);
	len += (size_t)snprintf(s + len, cap - len, "version: '1.0'\nsteps:\n");
	for (int i = 0; i < depth; i++) {
		int ind = 2 + 4 * i;
		len += (size_t)snprintf(s + len, cap - len,
					"%*s- id: l%d\n%*s  type: loop\n%*s  until: "
					"steps.c.outputs.x == 1\n%*s  steps:\n",
					ind, "", i, ind, "", ind, "", ind, "");
	}
	int ind = 2 + 4 * depth;
	snprintf(s + len, cap - len, "%*s- id: c\n%*s  type: command\n%*s  command: x\n", ind, "",
		 ind, "", ind, "");
	return s;
}

static void test_workflow_nesting_and_size_caps(void **state)
{
	(void)state;
	_cleanup_free_ char *ok = nested_loops(WORKFLOW_MAX_DEPTH);
	struct workflow *wf = parse_ok(ok);
	assert_int_equal(workflow_count_steps(wf), WORKFLOW_MAX_DEPTH + 1);
	const struct workflow_step *c = workflow_find_step(wf, "c");
	assert_non_null(c);
	assert_string_equal(c->command, "x");
	workflow_free(wf);

	_cleanup_free_ char *deep = nested_loops(WORKFLOW_MAX_DEPTH + 1);
	_cleanup_free_ char *reason = xasprintf("step 'l%d': loops nested more than %d deep",
						WORKFLOW_MAX_DEPTH, WORKFLOW_MAX_DEPTH);
	parse_fails(deep, 3 + 4 * WORKFLOW_MAX_DEPTH, reason);

	/* Aliases are shared nodes in libyaml; using one list many times must
	 * still be bounded.  400 outputs x 400 steps = 160000 nodes > cap. */
	size_t cap = 64 * 1024, len = 0;
	char *y = xmalloc(cap);
	len += (size_t)snprintf(y + len, cap - len, "version: '1.0'\nshared: &o\n");
	for (int i = 0; i < 400; i++)
		len += (size_t)snprintf(y + len, cap - len, "  - {name: o%d}\n", i);
	len += (size_t)snprintf(y + len, cap - len, "steps:\n");
	for (int i = 0; i < 400; i++)
		len += (size_t)snprintf(y + len, cap - len,
					"  - {id: s%d, type: command, command: x, outputs: *o}\n",
					i);
	assert_true(len < cap);
	struct rv_error *err = NULL;
	wf = NULL;
	assert_int_equal(workflow_parse(y, len, "wf.yml", &wf, &err), -EBADMSG);
	assert_null(wf);
	assert_non_null(strstr(err->msg, "workflow too large (more than 100000 YAML nodes)"));
	rv_error_free(err);
	free(y);

	/* more than WORKFLOW_MAX_STEPS steps */
	cap = (WORKFLOW_MAX_STEPS + 1) * 64 + 64;
	len = 0;
	y = xmalloc(cap);
	len += (size_t)snprintf(y + len, cap - len, "version: '1.0'\nsteps:\n");
	for (int i = 0; i <= WORKFLOW_MAX_STEPS; i++)
		len += (size_t)snprintf(y + len, cap - len,
					"  - {id: s%d, type: command, command: x}\n", i);
	_cleanup_free_ char *too_many =
		xasprintf("too many steps (at most %d)", WORKFLOW_MAX_STEPS);
	parse_fails(y, 3 + WORKFLOW_MAX_STEPS, too_many);
	free(y);
}

/* `x: ` then n opening brackets (unclosed when close is false). */
static char *brackets(const char *head, size_t n, bool close)
{
	size_t hl = strlen(head);
	char *s = xmalloc(hl + 2 * n + 8);
	memcpy(s, head, hl);
	memset(s + hl, '[', n);
	size_t len = hl + n;
	if (close) {
		memset(s + len, ']', n);
		len += n;
	}
	memcpy(s + len, "\n", 2);
	return s;
}

/* Issue 15: libyaml has no nesting limit and scans deep flow collections in
 * quadratic time; the depth is now counted while libyaml scans.  Under an
 * ignored top-level key the old parser accepted any depth (and took ~40
 * minutes at 1 MiB). */
static void test_workflow_yaml_depth_limit(void **state)
{
	(void)state;
	/* the top-level mapping is depth 1: 63 lists below it are allowed */
	_cleanup_free_ char *ok = brackets(HEAD CMD_STEP "x: ", WORKFLOW_MAX_YAML_DEPTH - 1, true);
	workflow_free(parse_ok(ok));
	_cleanup_free_ char *deep = brackets(HEAD CMD_STEP "x: ", WORKFLOW_MAX_YAML_DEPTH, true);
	_cleanup_free_ char *want =
		xasprintf("lists and mappings nested more than %d deep", WORKFLOW_MAX_YAML_DEPTH);
	parse_fails(deep, 6, want);
	_cleanup_free_ char *deeper = brackets(HEAD CMD_STEP "x: ", 100, true);
	parse_fails(deeper, 6, want);

	/* the shape, at the size limit: refused, not scanned for minutes */
	size_t n = WORKFLOW_MAX_BYTES - 8;
	_cleanup_free_ char *huge = brackets("x: ", n, false);
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(workflow_parse(huge, strlen(huge), "wf.yml", &wf, &err), -EBADMSG);
	assert_null(wf);
	assert_non_null(strstr(rv_error_msg(err), "nested more than"));
	err = rv_error_free(err);

	/* block nesting counts too ("- - - - x") */
	size_t depth = 200;
	char *block = xmalloc(depth * 2 + 16);
	memcpy(block, "x:\n", 3);
	for (size_t i = 0; i < depth; i++)
		memcpy(block + 3 + 2 * i, "- ", 2);
	memcpy(block + 3 + 2 * depth, "a\n", 3);
	assert_int_equal(workflow_parse(block, 3 + 2 * depth + 2, "wf.yml", &wf, &err), -EBADMSG);
	assert_non_null(strstr(rv_error_msg(err), "nested more than"));
	rv_error_free(err);
	free(block);

	/* more YAML nodes in the text than WORKFLOW_MAX_NODES, under an ignored key:
	 * refused while scanning, before a document is built */
	size_t items = WORKFLOW_MAX_NODES + 10, cap = items * 2 + 128, len = 0;
	char *flat = xmalloc(cap);
	len += (size_t)snprintf(flat, cap, HEAD CMD_STEP "x: [");
	for (size_t i = 0; i < items; i++) {
		flat[len++] = 'a';
		flat[len++] = ',';
	}
	len += (size_t)snprintf(flat + len, cap - len, "a]\n");
	err = NULL;
	assert_int_equal(workflow_parse(flat, len, "wf.yml", &wf, &err), -EBADMSG);
	assert_non_null(
		strstr(rv_error_msg(err), "workflow too large (more than 100000 YAML nodes)"));
	rv_error_free(err);
	free(flat);
}

static void test_workflow_helpers(void **state)
{
	(void)state;
	struct workflow *wf = load_ok("valid-full.yml");

	/* find: top level, nested, doubly nested, missing */
	assert_ptr_equal(workflow_find_step(wf, "context"), &wf->steps[0]);
	assert_ptr_equal(workflow_find_step(wf, "fix-loop"), &wf->steps[2]);
	assert_ptr_equal(workflow_find_step(wf, "test"), &wf->steps[2].steps[1]);
	assert_ptr_equal(workflow_find_step(wf, "probe"), &wf->steps[2].steps[2].steps[0]);
	assert_null(workflow_find_step(wf, "nope"));
	assert_null(workflow_find_step(wf, ""));
	assert_null(workflow_find_step(wf, NULL));
	assert_null(workflow_find_step(NULL, "context"));

	/* loopLimit 2 caps maxIterations 5 and the default 3 */
	const struct workflow_step *loop = workflow_find_step(wf, "fix-loop");
	const struct workflow_step *inner = workflow_find_step(wf, "inner");
	assert_int_equal(workflow_loop_max_iterations(wf, loop), 2);
	assert_int_equal(workflow_loop_max_iterations(wf, inner), 2);
	/* a limit above the loop's own max does not raise it */
	wf->loop_limit = 4;
	assert_int_equal(workflow_loop_max_iterations(wf, loop), 4);
	wf->loop_limit = 10;
	assert_int_equal(workflow_loop_max_iterations(wf, loop), 5);
	assert_int_equal(workflow_loop_max_iterations(wf, inner), 3);
	wf->loop_limit = 0;
	assert_int_equal(workflow_loop_max_iterations(wf, loop), 5);

	/* timeouts: the step's, else the workflow's */
	assert_int_equal(workflow_step_timeout(wf, workflow_find_step(wf, "context")), 600);
	assert_int_equal(workflow_step_timeout(wf, workflow_find_step(wf, "build")), 3600);
	assert_int_equal(workflow_step_timeout(wf, workflow_find_step(wf, "fix")), 3600);

	/* 3 top-level + fix, test, inner + probe */
	assert_int_equal(workflow_count_steps(wf), 7);
	assert_int_equal(workflow_count_steps(NULL), 0);
	workflow_free(wf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workflow_full_fixture),
		cmocka_unit_test(test_workflow_minimal_fixture_defaults),
		cmocka_unit_test(test_workflow_invalid_fixtures),
		cmocka_unit_test(test_workflow_load_errors_keep_errno),
		cmocka_unit_test(test_workflow_document_shape),
		cmocka_unit_test(test_workflow_step_rules),
		cmocka_unit_test(test_workflow_breakpoint_rules),
		cmocka_unit_test(test_workflow_loop_rules),
		cmocka_unit_test(test_workflow_inputs_outputs_rules),
		cmocka_unit_test(test_workflow_nesting_and_size_caps),
		cmocka_unit_test(test_workflow_yaml_depth_limit),
		cmocka_unit_test(test_workflow_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
