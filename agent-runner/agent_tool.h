/*
 * agent_tool.h - how an agent step talks to an AI coding agent's CLI.
 *
 * Each supported tool (claude, codex, gemini, qwen, opencode, cursor) runs
 * headless, once per step, found on PATH; its argv, environment and the
 * reading of its structured output are its adapter's (adapters.h).
 *
 * When the step declares outputs, the prompt is extended with an instruction
 * to end the answer with one JSON object holding them (and to write file
 * outputs under the output directory).  agent_tool_extract_outputs() takes the
 * last top-level JSON object in the tool's stdout and copies the declared keys.
 */
#ifndef ROVER_AGENT_TOOL_H
#define ROVER_AGENT_TOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/error.h"

/* workflow.h (which asks agent_tool_is_known() about a workflow's tools)
 * is not included: the two headers stay independent of each other. */
struct workflow_step;

/* True when name is a tool we know how to run. */
bool agent_tool_is_known(const char *name);

/* The prompt with the outputs instruction appended (newly allocated). */
char *agent_tool_prompt(const char *prompt, const struct workflow_step *step,
			const char *output_dir);

/* The last top-level JSON object in text, or NULL (caller puts). */
struct json_object *agent_tool_last_json_object(const char *text);

/* Fill `outputs` (an object) with the step's declared outputs found in the
 * last JSON object of stdout_text, and file outputs read from output_dir.
 * Missing required outputs are listed in *ret_missing (newly allocated,
 * comma-separated) or NULL. */
void agent_tool_extract_outputs(const struct workflow_step *step, const char *stdout_text,
				const char *output_dir, struct json_object *outputs,
				char **ret_missing);

#endif
