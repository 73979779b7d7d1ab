/*
 * workflow.h - rover's YAML workflow format 1.0 (docs/design/workflow-format.md), parsed with
 * libyaml into a tree of steps.
 *
 * workflow_load() refuses an invalid workflow with one message of the form
 * "<file>:<line>: <reason>" (code EBADMSG), e.g.
 *     "wf.yml:12: step 'build': unknown type 'shell' (expected agent, command or loop)".
 * Checks: version '1.0'; steps present; every step has id and type; ids match
 * [A-Za-z0-9_-]+ and are unique across the whole tree (loop sub-steps
 * included); agent steps have a prompt, command steps a command, loop steps
 * steps and until; if/until clauses are well formed (condition.h); timeouts and
 * loop limits positive integers; breakpoint steps have a non-empty message
 * (at most WORKFLOW_MAX_MESSAGE bytes), an optional timeout (seconds) and
 * onTimeout (fail|continue, only with a timeout), and stand at the top level
 * (an approval is given to a step id, once per run: a breakpoint inside a
 * loop would need one per iteration); unknown step types and non-scalar values
 * where scalars belong are errors.
 *
 * Also: values have the YAML 1.2 core type their field needs (a plain `3` or
 * `true` is not a string; a quoted "3" is not an integer; `~` is null), keys
 * are not repeated, unknown keys inside steps, inputs, outputs, defaults and
 * config are errors (a typo must not silently change a run) while unknown
 * top-level keys are ignored (forward compatibility), input and output names
 * match the id pattern and are unique in their list, an output of type file
 * names a relative `filename` without "..", agent tools are ones
 * agent_tool_is_known() accepts, and a document holds a single mapping.
 * Limits on external input (a workflow may come from any repository), each
 * checked before the work it bounds: WORKFLOW_MAX_BYTES of text (before
 * libyaml sees it), WORKFLOW_MAX_YAML_DEPTH nested lists and mappings
 * (counted on libyaml's events while it scans, before any document is built:
 * libyaml has no limit of its own and is quadratic in the depth), WORKFLOW_MAX_DEPTH
 * nested loops, WORKFLOW_MAX_STEPS steps in the tree, WORKFLOW_MAX_NODES YAML
 * nodes visited (aliases count each time they are used), ids of at most
 * WORKFLOW_MAX_ID_LEN bytes.  The JSON form of a valid workflow is described
 * by schemas/workflow.schema.json.
 *
 * The tree is owned by the struct workflow; workflow_free() releases all of it.
 * Strings that were absent in the file are NULL.
 */
#ifndef ROVER_WORKFLOW_H
#define ROVER_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define WORKFLOW_DEFAULT_TIMEOUT_S 1800
#define WORKFLOW_DEFAULT_MAX_ITERATIONS 3

#define WORKFLOW_MAX_BYTES (1024 * 1024) /* larger input: EFBIG */
#define WORKFLOW_MAX_DEPTH 16            /* loops nested in loops */
#define WORKFLOW_MAX_YAML_DEPTH 64       /* lists and mappings nested (16 loops need 37) */
#define WORKFLOW_MAX_STEPS 1000          /* steps in the whole tree */
#define WORKFLOW_MAX_NODES 100000        /* YAML nodes visited while converting */
#define WORKFLOW_MAX_ID_LEN 128
#define WORKFLOW_MAX_TIMEOUT_S (30 * 24 * 3600) /* 30 days */
#define WORKFLOW_MAX_ITERATIONS_CAP 10000       /* maxIterations and loopLimit */

enum workflow_step_type {
	WORKFLOW_STEP_AGENT,
	WORKFLOW_STEP_COMMAND,
	WORKFLOW_STEP_LOOP,
	WORKFLOW_STEP_BREAKPOINT, /* wait for a person: rover approve / reject */
};

/* What a breakpoint does when nobody answered within its timeout. */
enum workflow_on_timeout { WORKFLOW_ON_TIMEOUT_FAIL, WORKFLOW_ON_TIMEOUT_CONTINUE };

/* Longest breakpoint message (it is shown in `rover list`). */
#define WORKFLOW_MAX_MESSAGE 4096

struct workflow_output {
	char *name;
	char *description;
	char *type;     /* string, number, boolean or file */
	char *filename; /* for type file: the file under the output dir */
	bool required;
};

struct workflow_input {
	char *name;
	char *description;
	char *label;
	char *type; /* string, number or boolean */
	bool required;
	char *default_value; /* NULL when the workflow declares no default (or `~`);
			      * a plain 3 or true is kept as its text "3", "true" */
};

struct workflow_step {
	enum workflow_step_type type;
	char *id;
	char *name;    /* defaults to id */
	char *if_cond; /* NULL when absent */
	int line;      /* where the step starts in the file */

	/* agent */
	char *tool;  /* NULL: the run's tool */
	char *model; /* NULL: the run's model */
	char *prompt;
	int timeout_s; /* step config.timeout; 0: the workflow's */
	int retries;   /* step config.retries: parsed, not used (as in the TypeScript rover) */

	/* command */
	char *command;
	char **args; /* n_args strings, each shell-quoted when run */
	size_t n_args;
	bool allow_failure;

	/* agent and command */
	struct workflow_output *outputs;
	size_t n_outputs;

	/* loop */
	struct workflow_step *steps;
	size_t n_steps;
	char *until;
	int max_iterations; /* as written, or WORKFLOW_DEFAULT_MAX_ITERATIONS */

	/* breakpoint (top level only; timeout_s 0: wait for ever) */
	char *message;
	enum workflow_on_timeout on_timeout;
};

struct workflow {
	char *version;
	char *name;
	char *description;
	struct workflow_input *inputs;
	size_t n_inputs;
	struct workflow_output *outputs;
	size_t n_outputs;
	char *default_tool;
	char *default_model;
	int timeout_s;          /* config.timeout, default WORKFLOW_DEFAULT_TIMEOUT_S */
	bool continue_on_error; /* config.continueOnError */
	int loop_limit;         /* config.loopLimit; 0: none */
	struct workflow_step *steps;
	size_t n_steps;
};

/* Parse a workflow file (at most WORKFLOW_MAX_BYTES).  Errors name the file and
 * line; a file that cannot be read keeps its errno (-ENOENT, -EFBIG, ...). */
int workflow_load(const char *path, struct workflow **ret, struct rv_error **err);

/* Parse YAML text; `name` is used in place of a file name in errors.  len
 * above WORKFLOW_MAX_BYTES: -EFBIG. */
int workflow_parse(const char *buf, size_t len, const char *name, struct workflow **ret,
		   struct rv_error **err);

/* Check the value an input gets (given, else its default; NULL: none):
 * a required input without one is -EINVAL "missing required input 'x'",
 * a number or boolean input with a value of another kind -EINVAL.  The
 * runner checks its inputs with it at start, `rover task` before a task
 * exists, so both refuse the same things. */
int workflow_check_input(const struct workflow_input *in, const char *value, struct rv_error **err);

/* NULL-safe; returns NULL. */
struct workflow *workflow_free(struct workflow *wf);

/* Find a step anywhere in the tree by id; NULL when there is none. */
const struct workflow_step *workflow_find_step(const struct workflow *wf, const char *id);

/* A loop's iteration cap: max_iterations, capped by config.loopLimit when set. */
int workflow_loop_max_iterations(const struct workflow *wf, const struct workflow_step *loop);

/* Effective timeout of a step in seconds (step, else workflow, else default). */
int workflow_step_timeout(const struct workflow *wf, const struct workflow_step *step);

/* Total number of steps in the tree (for progress): every step counts once,
 * a loop and each of its sub-steps included. */
size_t workflow_count_steps(const struct workflow *wf);

#endif
