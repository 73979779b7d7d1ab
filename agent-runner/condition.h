/*
 * condition.h - the `if`/`until` evaluator (docs/design/workflow-format.md).
 *
 * Grammar: clauses `steps.<id>.outputs.<name> (==|!=) <value>` joined by ` || `
 * (split only where `||` has whitespace around it and is followed by
 * `steps.`).  Values are compared as trimmed strings; true/yes and false/no
 * (any case) are normalized to "true"/"false".  A missing step or output is
 * undefined: `==` is false and `!=` is true.  A clause joined with ` && `, a
 * malformed clause or an empty expression evaluates to false with a warning.
 *
 * `steps` is a JSON object {stepId: {outputName: "value", ...}, ...} (values
 * that are not strings are compared by their JSON text).  It is only read.
 *
 * Limits (the expression comes from a repository's workflow, the values from
 * agents' outputs): an expression longer than CONDITION_MAX_LEN bytes (after
 * trimming) is invalid and evaluates to false with a warning, before any
 * clause is looked at; the work is then linear in the expression plus one
 * lookup (and at most one serialization of a non-string value) per clause.
 */
#ifndef ROVER_CONDITION_H
#define ROVER_CONDITION_H

#include <stdbool.h>

#include <json-c/json.h>

#define CONDITION_MAX_LEN 4096

/* Evaluate expr.  When the expression is not usable (&&, empty) or one of its
 * clauses is malformed (that clause counts as false, the others still count),
 * *ret_warning (if not NULL) receives a newly allocated one-line explanation;
 * otherwise it is set to NULL.  expr NULL is the empty expression. */
bool condition_eval(const char *expr, struct json_object *steps, char **ret_warning);

/* Syntax check used by the workflow parser: every `||` part (any spacing)
 * must be one clause, and a ` && ` followed by `steps.` is refused here too
 * (it could only ever evaluate to false).  On failure returns false and, when
 * ret_reason is not NULL, a newly allocated reason (*ret_reason is set to NULL
 * on success). */
bool condition_is_valid(const char *expr, char **ret_reason);

#endif
