/*
 * placeholder.h - `{{inputs.<name>}}` and `{{steps.<id>.outputs.<name>}}`
 * substitution (docs/design/workflow-format.md).  Whitespace inside the braces is
 * allowed (`{{ inputs.x }}`).
 *
 * PLACEHOLDER_STRICT (command steps): any unresolved placeholder is an error
 * (EINVAL) whose message lists all of them:
 *     "unresolved placeholders: {{inputs.x}}, {{steps.a.outputs.b}}".
 * PLACEHOLDER_LENIENT (prompts): unresolved placeholders are left as written
 * and *ret_unresolved (when not NULL) gets the same comma-separated list, or
 * NULL when everything resolved.
 *
 * PLACEHOLDER_SHELL_QUOTE: each substituted value is single-quote escaped for
 * /bin/sh, so an output cannot inject shell syntax into a command.
 *
 * inputs: {name: "value"}; steps: {stepId: {name: "value"}}; both only read,
 * either may be NULL.  A value that is a JSON string is used as is, any other
 * value by its JSON text; JSON null counts as unresolved.
 *
 * Only `{{inputs.<name>}}` and `{{steps.<id>.outputs.<name>}}` (names and ids
 * [A-Za-z0-9_-]+) are placeholders: any other `{{...}}`, such as docker's
 * `{{.State.Running}}`, is ordinary text and never reported.  The unresolved
 * list names each placeholder once, in order of first appearance, written
 * without the inner whitespace.  A result larger than PLACEHOLDER_MAX_OUTPUT
 * fails with E2BIG.  On failure *ret and *ret_unresolved are not written.
 *
 * Limits (text from a repository's workflow, values from agents' outputs):
 * the work is linear in the text plus the values substituted; the result,
 * the unresolved list and, for placeholder_resolve_env, the environment
 * values together are each capped at PLACEHOLDER_MAX_OUTPUT bytes, and
 * substitution stops at the first value that would pass the cap (E2BIG), so
 * a short text naming a large value many times costs at most the cap.
 */
#ifndef ROVER_PLACEHOLDER_H
#define ROVER_PLACEHOLDER_H

#include <json-c/json.h>

#include "common/error.h"

enum placeholder_flags {
	PLACEHOLDER_LENIENT = 0,
	PLACEHOLDER_STRICT = 1 << 0,
	PLACEHOLDER_SHELL_QUOTE = 1 << 1,
};

#define PLACEHOLDER_MAX_OUTPUT (16u * 1024u * 1024u)

/* Substitute the placeholders of text into a newly allocated *ret.  0, or
 * -EINVAL (strict mode, unresolved placeholders; text NULL), -E2BIG. */
int placeholder_resolve(const char *text, struct json_object *inputs, struct json_object *steps,
			unsigned flags, char **ret, char **ret_unresolved, struct rv_error **err);

/* For a /bin/sh command: resolve strictly, but put no value into the text.
 * Each placeholder becomes "${ROVER_PH_<n>}" (double quotes included) and its
 * value is returned as "ROVER_PH_<n>=value" in *ret_env, a NULL-terminated
 * array for the command's environment (free with placeholder_env_free).  A
 * value can then hold quotes, $() or newlines without ever being parsed as
 * shell, and the TypeScript rover's workflows work unquoted and inside double quotes alike. */
int placeholder_resolve_env(const char *text, struct json_object *inputs, struct json_object *steps,
			    char **ret, char ***ret_env, struct rv_error **err);
void placeholder_env_free(char **env);

/* Single-quote s for /bin/sh: abc'd -> 'abc'\''d'.  Newly allocated. */
char *placeholder_shell_quote(const char *s);

#endif
