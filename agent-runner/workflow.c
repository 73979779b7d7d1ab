/* workflow.c - rover's YAML workflow format 1.0 with libyaml's document API;
 * see workflow.h.  The typed, bounded reading of YAML nodes it is built on
 * is workflow_yaml.c.
 *
 * The whole file is loaded into a libyaml document, then converted node by
 * node into struct workflow.  The tree is allocated zeroed and attached to
 * the workflow as soon as each array exists, so any failure can release what
 * was built so far with workflow_free(). */
#define _GNU_SOURCE
#include "workflow.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "agent-runner/agent_tool.h"
#include "agent-runner/condition.h"
#include "agent-runner/workflow_yaml.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fileio.h"

#define TOOL_LIST "claude, codex, cursor, gemini, opencode or qwen"

static int get_tool(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, char **ret)
{
	int r = wfyaml_get_string(c, n, where, "tool", ret);
	if (r < 0)
		return r;
	if (!agent_tool_is_known(*ret))
		return wfyaml_fail(c, n, where, "unknown tool '" ECHO "' (expected " TOOL_LIST ")",
				   *ret);
	return 0;
}

static int get_condition(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			 const char *key, char **ret)
{
	int r = wfyaml_get_string(c, n, where, key, ret);
	if (r < 0)
		return r;
	_cleanup_free_ char *reason = NULL;
	if (!condition_is_valid(*ret, &reason))
		return wfyaml_fail(c, n, where, "invalid '%s': %s", key, reason);
	return 0;
}

/* ---- inputs and outputs ---- */

static const char *const input_keys[] = {"name", "description", "label",
					 "type", "required",    "default"};
static const char *const input_types[] = {"string", "number", "boolean"};
static const char *const output_keys[] = {"name", "description", "type", "filename", "required"};
static const char *const output_types[] = {"string", "number", "boolean", "file"};

static bool safe_filename(const char *f)
{
	if (!*f || *f == '/')
		return false;
	/* no ".." component anywhere */
	for (const char *p = f; (p = strstr(p, "..")); p += 2)
		if ((p == f || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return false;
	return true;
}

static int parse_input(struct wfyaml_ctx *c, const yaml_node_t *map, struct workflow_input *in)
{
	static const struct wfyaml_key_rule rule = {input_keys, ARRAY_SIZE(input_keys), false, NULL,
						    NULL};
	const char *where = "input";
	yaml_node_t *v;
	int r;
	if (map->type != YAML_MAPPING_NODE)
		return wfyaml_fail(c, map, NULL, "an input must be a mapping, not %s",
				   wfyaml_kind_name(map));
	if (!(v = wfyaml_map_get(c, map, "name")))
		return wfyaml_fail(c, map, where, "missing 'name'");
	if ((r = wfyaml_get_name(c, v, where, "name", &in->name)) < 0)
		return r;
	char w[WORKFLOW_MAX_ID_LEN + 16];
	snprintf(w, sizeof(w), "input '%s'", in->name);
	if ((r = wfyaml_check_keys(c, map, w, &rule)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "description")) &&
	    (r = wfyaml_get_string(c, v, w, "description", &in->description)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "label")) &&
	    (r = wfyaml_get_string(c, v, w, "label", &in->label)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "type")) &&
	    (r = wfyaml_get_enum(c, v, w, "type", input_types, ARRAY_SIZE(input_types),
				 "string, number or boolean", &in->type)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "required")) &&
	    (r = wfyaml_get_bool(c, v, w, "required", &in->required)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "default"))) {
		if ((r = wfyaml_check_scalar(c, v, w, "default")) < 0)
			return r;
		if (wfyaml_scalar_kind(v) != WFYAML_NULL)
			in->default_value = xstrdup(wfyaml_scalar_text(v));
	}
	return 0;
}

static int parse_output(struct wfyaml_ctx *c, const yaml_node_t *map, const char *owner,
			struct workflow_output *out)
{
	static const struct wfyaml_key_rule rule = {output_keys, ARRAY_SIZE(output_keys), false,
						    NULL, NULL};
	char w[2 * WORKFLOW_MAX_ID_LEN + 32];
	yaml_node_t *v;
	int r;
	snprintf(w, sizeof(w), "%s%soutput", owner ? owner : "", owner ? ": " : "");
	if (map->type != YAML_MAPPING_NODE)
		return wfyaml_fail(c, map, owner, "an output must be a mapping, not %s",
				   wfyaml_kind_name(map));
	if (!(v = wfyaml_map_get(c, map, "name")))
		return wfyaml_fail(c, map, w, "missing 'name'");
	if ((r = wfyaml_get_name(c, v, w, "name", &out->name)) < 0)
		return r;
	snprintf(w, sizeof(w), "%s%soutput '%s'", owner ? owner : "", owner ? ": " : "", out->name);
	if ((r = wfyaml_check_keys(c, map, w, &rule)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "description")) &&
	    (r = wfyaml_get_string(c, v, w, "description", &out->description)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "type")) &&
	    (r = wfyaml_get_enum(c, v, w, "type", output_types, ARRAY_SIZE(output_types),
				 "string, number, boolean or file", &out->type)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "filename"))) {
		if ((r = wfyaml_get_string(c, v, w, "filename", &out->filename)) < 0)
			return r;
		if (!safe_filename(out->filename))
			return wfyaml_fail(c, v, w,
					   "'filename' must be a relative path inside the output "
					   "directory, not '" ECHO "'",
					   out->filename);
	}
	if ((v = wfyaml_map_get(c, map, "required")) &&
	    (r = wfyaml_get_bool(c, v, w, "required", &out->required)) < 0)
		return r;
	if (out->type && !strcmp(out->type, "file") && !out->filename)
		return wfyaml_fail(c, map, w, "type 'file' needs a 'filename'");
	return 0;
}

/* owner: NULL for the workflow's outputs, "step 'x'" for a step's. */
static int parse_outputs(struct wfyaml_ctx *c, const yaml_node_t *seq, const char *owner,
			 struct workflow_output **ret, size_t *ret_n)
{
	size_t n = 0;
	int r = wfyaml_expect_sequence(c, seq, owner, "outputs", &n);
	if (r < 0)
		return r;
	*ret = xcalloc(n ? n : 1, sizeof(**ret));
	*ret_n = n;
	for (size_t i = 0; i < n; i++) {
		if ((r = parse_output(c, wfyaml_seq_item(c, seq, i), owner, &(*ret)[i])) < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (!strcmp((*ret)[j].name, (*ret)[i].name))
				return wfyaml_fail(c, wfyaml_seq_item(c, seq, i), owner,
						   "duplicate output name '%s'", (*ret)[i].name);
	}
	return 0;
}

/* ---- steps ---- */

static const char *const agent_keys[] = {"id",    "name",   "type",    "if",    "tool",
					 "model", "prompt", "outputs", "config"};
static const char *const command_keys[] = {"id",      "name", "type",          "if",
					   "command", "args", "allow_failure", "outputs"};
static const char *const loop_keys[] = {"id",    "name",  "type",         "if",
					"steps", "until", "maxIterations"};
static const char *const breakpoint_keys[] = {"id",      "name",    "type",     "if",
					      "message", "timeout", "onTimeout"};
static const char *const on_timeout_values[] = {"fail", "continue"};
/* Every step key, for "does not apply to" messages. */
static const char *const all_step_keys[] = {
	"tool",          "model",         "prompt",  "config",    "command",
	"args",          "allow_failure", "outputs", "steps",     "until",
	"maxIterations", "message",       "timeout", "onTimeout", NULL};
static const char *const step_config_keys[] = {"timeout", "retries"};

static int parse_steps(struct wfyaml_ctx *c, const yaml_node_t *seq, const char *where, int depth,
		       struct workflow_step **ret, size_t *ret_n);

static int register_id(struct wfyaml_ctx *c, const yaml_node_t *n, const char *id)
{
	for (size_t i = 0; i < c->n_ids; i++)
		if (!strcmp(c->ids[i].id, id))
			return wfyaml_fail(
				c, n, NULL,
				"step '%s': duplicate id (first used at line %d; ids must be "
				"unique across the whole workflow, loop steps included)",
				id, c->ids[i].line);
	if (c->n_ids >= WORKFLOW_MAX_STEPS)
		return wfyaml_fail(c, n, NULL, "too many steps (at most %d)", WORKFLOW_MAX_STEPS);
	c->ids = xrealloc(c->ids, (c->n_ids + 1) * sizeof(*c->ids));
	c->ids[c->n_ids++] = (struct seen_id){id, wfyaml_line_of(n)};
	return 0;
}

static int parse_agent(struct wfyaml_ctx *c, const yaml_node_t *map, const char *w,
		       struct workflow_step *s)
{
	yaml_node_t *v;
	int r;
	if ((v = wfyaml_map_get(c, map, "tool")) && (r = get_tool(c, v, w, &s->tool)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "model")) &&
	    (r = wfyaml_get_string(c, v, w, "model", &s->model)) < 0)
		return r;
	if (!(v = wfyaml_map_get(c, map, "prompt")))
		return wfyaml_fail(c, map, w, "missing 'prompt' (agent steps need one)");
	if ((r = wfyaml_get_string(c, v, w, "prompt", &s->prompt)) < 0)
		return r;
	if (!s->prompt[strspn(s->prompt, " \t\r\n")])
		return wfyaml_fail(c, v, w, "'prompt' is empty");
	if ((v = wfyaml_map_get(c, map, "config"))) {
		static const struct wfyaml_key_rule rule = {
			step_config_keys, ARRAY_SIZE(step_config_keys), false, NULL, NULL};
		yaml_node_t *t;
		if ((r = wfyaml_expect_mapping(c, v, w, "config")) < 0 ||
		    (r = wfyaml_check_keys(c, v, w, &rule)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "timeout")) &&
		    (r = wfyaml_get_int(c, t, w, "timeout", 1, WORKFLOW_MAX_TIMEOUT_S,
					&s->timeout_s)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "retries")) &&
		    (r = wfyaml_get_int(c, t, w, "retries", 0, 100, &s->retries)) < 0)
			return r;
	}
	return 0;
}

static int parse_command(struct wfyaml_ctx *c, const yaml_node_t *map, const char *w,
			 struct workflow_step *s)
{
	yaml_node_t *v;
	int r;
	if (!(v = wfyaml_map_get(c, map, "command")))
		return wfyaml_fail(c, map, w, "missing 'command' (command steps need one)");
	if ((r = wfyaml_get_string(c, v, w, "command", &s->command)) < 0)
		return r;
	if (!s->command[strspn(s->command, " \t\r\n")])
		return wfyaml_fail(c, v, w, "'command' is empty");
	if ((v = wfyaml_map_get(c, map, "args"))) {
		size_t n = 0;
		if ((r = wfyaml_expect_sequence(c, v, w, "args", &n)) < 0)
			return r;
		s->args = xcalloc(n ? n : 1, sizeof(char *));
		s->n_args = n;
		for (size_t i = 0; i < n; i++)
			if ((r = wfyaml_get_string(c, wfyaml_seq_item(c, v, i), w, "args",
						   &s->args[i])) < 0)
				return r;
	}
	if ((v = wfyaml_map_get(c, map, "allow_failure")) &&
	    (r = wfyaml_get_bool(c, v, w, "allow_failure", &s->allow_failure)) < 0)
		return r;
	return 0;
}

static int parse_loop(struct wfyaml_ctx *c, const yaml_node_t *map, const char *w, int depth,
		      struct workflow_step *s)
{
	yaml_node_t *v;
	int r;
	if (depth >= WORKFLOW_MAX_DEPTH)
		return wfyaml_fail(c, map, w, "loops nested more than %d deep", WORKFLOW_MAX_DEPTH);
	if (!(v = wfyaml_map_get(c, map, "steps")))
		return wfyaml_fail(c, map, w, "missing 'steps' (loop steps need them)");
	if ((r = parse_steps(c, v, w, depth + 1, &s->steps, &s->n_steps)) < 0)
		return r;
	if (!(v = wfyaml_map_get(c, map, "until")))
		return wfyaml_fail(c, map, w, "missing 'until' (loop steps need one)");
	if ((r = get_condition(c, v, w, "until", &s->until)) < 0)
		return r;
	s->max_iterations = WORKFLOW_DEFAULT_MAX_ITERATIONS;
	if ((v = wfyaml_map_get(c, map, "maxIterations")) &&
	    (r = wfyaml_get_int(c, v, w, "maxIterations", 1, WORKFLOW_MAX_ITERATIONS_CAP,
				&s->max_iterations)) < 0)
		return r;
	return 0;
}

static int parse_breakpoint(struct wfyaml_ctx *c, const yaml_node_t *map, const char *w, int depth,
			    struct workflow_step *s)
{
	yaml_node_t *v;
	int r;
	/* An approval is given to a step id, once per run: inside a loop the
	 * same id would come back every iteration. */
	if (depth > 0)
		return wfyaml_fail(c, map, w,
				   "breakpoint steps must be at the top level of the workflow, not "
				   "inside a loop");
	if (!(v = wfyaml_map_get(c, map, "message")))
		return wfyaml_fail(c, map, w, "missing 'message' (breakpoint steps need one)");
	if ((r = wfyaml_get_string(c, v, w, "message", &s->message)) < 0)
		return r;
	if (!s->message[strspn(s->message, " \t\r\n")])
		return wfyaml_fail(c, v, w, "'message' is empty");
	if (strlen(s->message) > WORKFLOW_MAX_MESSAGE)
		return wfyaml_fail(c, v, w, "'message' is longer than %d bytes",
				   WORKFLOW_MAX_MESSAGE);
	if ((v = wfyaml_map_get(c, map, "timeout")) &&
	    (r = wfyaml_get_int(c, v, w, "timeout", 1, WORKFLOW_MAX_TIMEOUT_S, &s->timeout_s)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, map, "onTimeout"))) {
		_cleanup_free_ char *how = NULL;
		if ((r = wfyaml_get_enum(c, v, w, "onTimeout", on_timeout_values,
					 ARRAY_SIZE(on_timeout_values), "fail or continue", &how)) <
		    0)
			return r;
		if (!s->timeout_s)
			return wfyaml_fail(c, v, w, "'onTimeout' needs a 'timeout'");
		s->on_timeout = !strcmp(how, "continue") ? WORKFLOW_ON_TIMEOUT_CONTINUE
							 : WORKFLOW_ON_TIMEOUT_FAIL;
	}
	return 0;
}

static int parse_step(struct wfyaml_ctx *c, const yaml_node_t *map, int depth,
		      struct workflow_step *s)
{
	static const char *const types[] = {"agent", "command", "loop", "breakpoint"};
	static const struct wfyaml_key_rule rules[] = {
		{agent_keys, ARRAY_SIZE(agent_keys), false, all_step_keys, "agent steps"},
		{command_keys, ARRAY_SIZE(command_keys), false, all_step_keys, "command steps"},
		{loop_keys, ARRAY_SIZE(loop_keys), false, all_step_keys, "loop steps"},
		{breakpoint_keys, ARRAY_SIZE(breakpoint_keys), false, all_step_keys,
		 "breakpoint steps"},
	};
	yaml_node_t *v;
	int r;

	s->line = wfyaml_line_of(map);
	if (map->type != YAML_MAPPING_NODE)
		return wfyaml_fail(c, map, NULL, "a step must be a mapping, not %s",
				   wfyaml_kind_name(map));
	/* id and type first: every later message names the step, and the type
	 * decides which keys are allowed. */
	if (!(v = wfyaml_map_get(c, map, "id")))
		return wfyaml_fail(c, map, NULL, "step without 'id'");
	if ((r = wfyaml_get_name(c, v, "step", "id", &s->id)) < 0)
		return r;
	char w[WORKFLOW_MAX_ID_LEN + 16];
	snprintf(w, sizeof(w), "step '%s'", s->id);
	if ((r = register_id(c, v, s->id)) < 0)
		return r;
	if (!(v = wfyaml_map_get(c, map, "type")))
		return wfyaml_fail(c, map, w,
				   "missing 'type' (agent, command, loop or breakpoint)");
	_cleanup_free_ char *type = NULL;
	if ((r = wfyaml_get_enum(c, v, w, "type", types, ARRAY_SIZE(types),
				 "agent, command, loop or breakpoint", &type)) < 0)
		return r;
	size_t t = 0;
	while (strcmp(type, types[t]))
		t++;
	/* types[] is in the order of enum workflow_step_type. */
	s->type = (enum workflow_step_type)t;
	if ((r = wfyaml_check_keys(c, map, w, &rules[t])) < 0)
		return r;

	if ((v = wfyaml_map_get(c, map, "name")) &&
	    (r = wfyaml_get_string(c, v, w, "name", &s->name)) < 0)
		return r;
	if (!s->name)
		s->name = xstrdup(s->id);
	if ((v = wfyaml_map_get(c, map, "if")) &&
	    (r = get_condition(c, v, w, "if", &s->if_cond)) < 0)
		return r;

	switch (s->type) {
	case WORKFLOW_STEP_AGENT:
		r = parse_agent(c, map, w, s);
		break;
	case WORKFLOW_STEP_COMMAND:
		r = parse_command(c, map, w, s);
		break;
	case WORKFLOW_STEP_LOOP:
		r = parse_loop(c, map, w, depth, s);
		break;
	case WORKFLOW_STEP_BREAKPOINT:
		r = parse_breakpoint(c, map, w, depth, s);
		break;
	}
	if (r < 0)
		return r;
	if ((s->type == WORKFLOW_STEP_AGENT || s->type == WORKFLOW_STEP_COMMAND) &&
	    (v = wfyaml_map_get(c, map, "outputs")) &&
	    (r = parse_outputs(c, v, w, &s->outputs, &s->n_outputs)) < 0)
		return r;
	return 0;
}

static int parse_steps(struct wfyaml_ctx *c, const yaml_node_t *seq, const char *where, int depth,
		       struct workflow_step **ret, size_t *ret_n)
{
	size_t n = 0;
	int r = wfyaml_expect_sequence(c, seq, where, "steps", &n);
	if (r < 0)
		return r;
	if (n == 0)
		return wfyaml_fail(c, seq, where, "'steps' is empty");
	*ret = xcalloc(n, sizeof(**ret));
	*ret_n = n;
	for (size_t i = 0; i < n; i++)
		if ((r = parse_step(c, wfyaml_seq_item(c, seq, i), depth, &(*ret)[i])) < 0)
			return r;
	return 0;
}

/* ---- the document ---- */

static const char *const top_keys[] = {"version", "name",     "description", "inputs",
				       "outputs", "defaults", "config",      "steps"};
static const char *const defaults_keys[] = {"tool", "model"};
static const char *const config_keys[] = {"timeout", "continueOnError", "loopLimit"};

static int parse_version(struct wfyaml_ctx *c, const yaml_node_t *v, struct workflow *wf)
{
	int r = wfyaml_check_scalar(c, v, NULL, "version");
	if (r < 0)
		return r;
	enum wfyaml_scalar_kind k = wfyaml_scalar_kind(v);
	/* '1.0' quoted, or written bare (a YAML float): both mean 1.0.  A bare
	 * 1 or 1.00 is not how anyone writes this version. */
	if ((k != WFYAML_STRING && k != WFYAML_FLOAT) || strcmp(wfyaml_scalar_text(v), "1.0"))
		return wfyaml_fail(c, v, NULL,
				   "unsupported workflow version '" ECHO "' (expected '1.0')",
				   wfyaml_scalar_text(v));
	wf->version = xstrdup("1.0");
	return 0;
}

static int parse_root(struct wfyaml_ctx *c, const yaml_node_t *root, struct workflow *wf)
{
	static const struct wfyaml_key_rule rule = {top_keys, ARRAY_SIZE(top_keys), true, NULL,
						    NULL};
	yaml_node_t *v;
	int r;
	if (root->type != YAML_MAPPING_NODE)
		return wfyaml_fail(c, root, NULL, "a workflow must be a mapping, not %s",
				   wfyaml_kind_name(root));
	if ((r = wfyaml_check_keys(c, root, NULL, &rule)) < 0)
		return r;

	if (!(v = wfyaml_map_get(c, root, "version")))
		return wfyaml_fail(c, root, NULL, "missing 'version' (expected '1.0')");
	if ((r = parse_version(c, v, wf)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, root, "name")) &&
	    (r = wfyaml_get_string(c, v, NULL, "name", &wf->name)) < 0)
		return r;
	if ((v = wfyaml_map_get(c, root, "description")) &&
	    (r = wfyaml_get_string(c, v, NULL, "description", &wf->description)) < 0)
		return r;

	if ((v = wfyaml_map_get(c, root, "inputs"))) {
		size_t n = 0;
		if ((r = wfyaml_expect_sequence(c, v, NULL, "inputs", &n)) < 0)
			return r;
		wf->inputs = xcalloc(n ? n : 1, sizeof(*wf->inputs));
		wf->n_inputs = n;
		for (size_t i = 0; i < n; i++) {
			if ((r = parse_input(c, wfyaml_seq_item(c, v, i), &wf->inputs[i])) < 0)
				return r;
			for (size_t j = 0; j < i; j++)
				if (!strcmp(wf->inputs[j].name, wf->inputs[i].name))
					return wfyaml_fail(c, wfyaml_seq_item(c, v, i), NULL,
							   "duplicate input name '%s'",
							   wf->inputs[i].name);
		}
	}
	if ((v = wfyaml_map_get(c, root, "outputs")) &&
	    (r = parse_outputs(c, v, NULL, &wf->outputs, &wf->n_outputs)) < 0)
		return r;

	if ((v = wfyaml_map_get(c, root, "defaults"))) {
		static const struct wfyaml_key_rule drule = {
			defaults_keys, ARRAY_SIZE(defaults_keys), false, NULL, NULL};
		yaml_node_t *t;
		if ((r = wfyaml_expect_mapping(c, v, NULL, "defaults")) < 0 ||
		    (r = wfyaml_check_keys(c, v, "defaults", &drule)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "tool")) &&
		    (r = get_tool(c, t, "defaults", &wf->default_tool)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "model")) &&
		    (r = wfyaml_get_string(c, t, "defaults", "model", &wf->default_model)) < 0)
			return r;
	}

	wf->timeout_s = WORKFLOW_DEFAULT_TIMEOUT_S;
	if ((v = wfyaml_map_get(c, root, "config"))) {
		static const struct wfyaml_key_rule crule = {config_keys, ARRAY_SIZE(config_keys),
							     false, NULL, NULL};
		yaml_node_t *t;
		if ((r = wfyaml_expect_mapping(c, v, NULL, "config")) < 0 ||
		    (r = wfyaml_check_keys(c, v, "config", &crule)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "timeout")) &&
		    (r = wfyaml_get_int(c, t, "config", "timeout", 1, WORKFLOW_MAX_TIMEOUT_S,
					&wf->timeout_s)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "continueOnError")) &&
		    (r = wfyaml_get_bool(c, t, "config", "continueOnError",
					 &wf->continue_on_error)) < 0)
			return r;
		if ((t = wfyaml_map_get(c, v, "loopLimit")) &&
		    (r = wfyaml_get_int(c, t, "config", "loopLimit", 1, WORKFLOW_MAX_ITERATIONS_CAP,
					&wf->loop_limit)) < 0)
			return r;
	}

	if (!(v = wfyaml_map_get(c, root, "steps")))
		return wfyaml_fail(c, root, NULL, "missing 'steps'");
	return parse_steps(c, v, NULL, 0, &wf->steps, &wf->n_steps);
}

struct parser_guard {
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool parser_ok, doc_ok, extra_ok;
};

static void parser_guard_release(struct parser_guard *g)
{
	if (g->extra_ok)
		yaml_document_delete(&g->extra);
	if (g->doc_ok)
		yaml_document_delete(&g->doc);
	if (g->parser_ok)
		yaml_parser_delete(&g->parser);
}

int workflow_parse(const char *buf, size_t len, const char *name, struct workflow **ret,
		   struct rv_error **err)
{
	_cleanup_(parser_guard_release) struct parser_guard g = {0};
	struct wfyaml_ctx c = {.name = name ? name : "<workflow>", .err = err};

	if (len > WORKFLOW_MAX_BYTES)
		return rv_error_set(err, EFBIG, "%s: workflow larger than %d bytes", c.name,
				    WORKFLOW_MAX_BYTES);
	int r = wfyaml_check_nesting(&c, buf, len);
	if (r < 0)
		return r;
	if (!yaml_parser_initialize(&g.parser))
		return rv_error_set(err, ENOMEM, "%s: cannot initialize the YAML parser", c.name);
	g.parser_ok = true;
	yaml_parser_set_input_string(&g.parser, (const unsigned char *)(buf ? buf : ""),
				     buf ? len : 0);
	if (!yaml_parser_load(&g.parser, &g.doc))
		return wfyaml_failure(&c, &g.parser, buf, len);
	g.doc_ok = true;
	c.doc = &g.doc;

	yaml_node_t *root = yaml_document_get_root_node(&g.doc);
	if (!root)
		return rv_error_set(err, EBADMSG, "%s:1: the workflow is empty", c.name);
	/* A second document would be silently ignored: refuse it. */
	if (!yaml_parser_load(&g.parser, &g.extra))
		return wfyaml_failure(&c, &g.parser, buf, len);
	g.extra_ok = true;
	yaml_node_t *extra_root = yaml_document_get_root_node(&g.extra);
	if (extra_root)
		return rv_error_set(err, EBADMSG, "%s:%d: more than one YAML document", c.name,
				    wfyaml_line_of(extra_root));

	struct workflow *wf = xcalloc(1, sizeof(*wf));
	r = parse_root(&c, root, wf);
	free(c.ids);
	if (r < 0) {
		workflow_free(wf);
		return r;
	}
	*ret = wf;
	return 0;
}

int workflow_load(const char *path, struct workflow **ret, struct rv_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fileio_read_bounded(path, WORKFLOW_MAX_BYTES, &buf, &len, err);
	if (r < 0)
		return r;
	return workflow_parse(buf, len, path, ret, err);
}

/* ---- the tree ---- */

static void outputs_free(struct workflow_output *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		free(o[i].name);
		free(o[i].description);
		free(o[i].type);
		free(o[i].filename);
	}
	free(o);
}

static void step_release(struct workflow_step *s)
{
	free(s->id);
	free(s->name);
	free(s->if_cond);
	free(s->tool);
	free(s->model);
	free(s->prompt);
	free(s->command);
	for (size_t i = 0; s->args && i < s->n_args; i++)
		free(s->args[i]);
	free(s->args);
	outputs_free(s->outputs, s->n_outputs);
	for (size_t i = 0; s->steps && i < s->n_steps; i++)
		step_release(&s->steps[i]);
	free(s->steps);
	free(s->until);
	free(s->message);
}

struct workflow *workflow_free(struct workflow *wf)
{
	if (!wf)
		return NULL;
	free(wf->version);
	free(wf->name);
	free(wf->description);
	for (size_t i = 0; wf->inputs && i < wf->n_inputs; i++) {
		free(wf->inputs[i].name);
		free(wf->inputs[i].description);
		free(wf->inputs[i].label);
		free(wf->inputs[i].type);
		free(wf->inputs[i].default_value);
	}
	free(wf->inputs);
	outputs_free(wf->outputs, wf->n_outputs);
	free(wf->default_tool);
	free(wf->default_model);
	for (size_t i = 0; wf->steps && i < wf->n_steps; i++)
		step_release(&wf->steps[i]);
	free(wf->steps);
	free(wf);
	return NULL;
}

static const struct workflow_step *find_in(const struct workflow_step *steps, size_t n,
					   const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(steps[i].id, id))
			return &steps[i];
		const struct workflow_step *s = find_in(steps[i].steps, steps[i].n_steps, id);
		if (s)
			return s;
	}
	return NULL;
}

const struct workflow_step *workflow_find_step(const struct workflow *wf, const char *id)
{
	if (!wf || !id)
		return NULL;
	return find_in(wf->steps, wf->n_steps, id);
}

int workflow_loop_max_iterations(const struct workflow *wf, const struct workflow_step *loop)
{
	int max = loop->max_iterations;
	if (wf && wf->loop_limit > 0 && wf->loop_limit < max)
		max = wf->loop_limit;
	return max;
}

int workflow_step_timeout(const struct workflow *wf, const struct workflow_step *step)
{
	if (step && step->timeout_s > 0)
		return step->timeout_s;
	if (wf && wf->timeout_s > 0)
		return wf->timeout_s;
	return WORKFLOW_DEFAULT_TIMEOUT_S;
}

static size_t count_in(const struct workflow_step *steps, size_t n)
{
	size_t total = n;
	for (size_t i = 0; i < n; i++)
		total += count_in(steps[i].steps, steps[i].n_steps);
	return total;
}

size_t workflow_count_steps(const struct workflow *wf)
{
	return wf ? count_in(wf->steps, wf->n_steps) : 0;
}

int workflow_check_input(const struct workflow_input *in, const char *value, struct rv_error **err)
{
	if (!value)
		value = in->default_value;
	if (!value)
		return in->required
			       ? rv_error_set(err, EINVAL, "missing required input '%s'", in->name)
			       : 0;
	if (in->type && !strcmp(in->type, "number")) {
		char *end = NULL;
		strtod(value, &end);
		if (end == value || *end)
			return rv_error_set(err, EINVAL, "input '%s' must be a number, got '%s'",
					    in->name, value);
	}
	if (in->type && !strcmp(in->type, "boolean") && strcasecmp(value, "true") &&
	    strcasecmp(value, "false"))
		return rv_error_set(err, EINVAL, "input '%s' must be true or false, got '%s'",
				    in->name, value);
	return 0;
}
