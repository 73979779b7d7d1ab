/*
 * create.h - create a task and start its container, crash-safe.
 *
 * create_task() does, in order:
 *   1. allocate the id and write the NEW record (task_store_create) with
 *      everything a later command needs to finish or undo the creation:
 *      workflow name, agent, model, image, inputs, the engine chosen, and in
 *      a git project the workspace path `<store>/workspaces/<id>`, branch
 *      `rover/task-<id>` and base commit it WILL have (none exists yet);
 *   2. write the task's files: its copy of the workflow, iteration 1 and
 *      inputs.json;
 *   3. start it the way a resume starts a container (resume.h, RESUME_START):
 *      under the iteration's resume lock, mark it IN_PROGRESS with the
 *      `resumeInFlight` marker, create the workspace, launch the container
 *      with no lock held, record the container in one write.
 * Between 2 and 3, admit_new_task() (admit.h) may hold it: it stays NEW
 * with `queued`, ret->result RESUME_QUEUED (err says why), and the
 * supervisor starts it later.
 * A failure in 2 or 3 leaves the task NEW with the reason in `error` (ready
 * for `rover restart`), never half-made and silent.  A process killed at any
 * point leaves a record that every reconciling command (list, inspect,
 * resume, supervise: observe.h) settles: a container of the task found by
 * label is adopted, else the task goes back to NEW with "task creation was
 * interrupted"; the workspace and branch are the ones the record names, so
 * nothing is stray.
 *
 * Nothing is printed.  Pre-flight checks (the workflow parses, the image and
 * engine are given, the project has a commit) are the caller's, before
 * anything exists.
 */
#ifndef ROVER_CREATE_H
#define ROVER_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/task_store.h"

struct create_opts {
	const char *title;
	const char *description;
	const char *workflow_name;
	const char *workflow_text; /* the task's own copy is written from this */
	size_t workflow_len;
	const char *agent; /* NULL: the workflow's default */
	const char *model; /* NULL: the tool's default */
	const char *image; /* required */
	struct json_object *inputs;
	const struct engine *engine; /* the engine it will run on (recorded) */
	const char *base_commit;     /* git projects: the commit it starts from */
	double budget_usd;           /* > 0: the task's cost budget (budgetUsd) */
};

/* Steps 1-3.  Returns 0 when the task exists (*ret_id set): ret->result is
 * RESUME_OK when its container runs, else RESUME_FAILED with err set and the
 * task NEW with the reason.  -errno (no task was created) when step 1
 * failed. */
int create_task(const struct project *p, const struct task_store *st, const struct create_opts *o,
		int64_t *ret_id, struct resume_outcome *ret, struct rv_error **err);

/* What `rover task` asks for, as given: nothing resolved or checked yet. */
struct create_request {
	const char *description; /* required, not empty */
	const char *workflow;    /* a YAML file, else a built-in name; NULL: "default" */
	const char *agent;       /* NULL: the project's rover.json "agent", else the workflow's */
	const char *model;
	const char *image;          /* NULL: project_agent_image() */
	const char *engine;         /* engine_discover()'s argument */
	struct json_object *inputs; /* "description" is added when missing */
	double budget_usd;
};

/* The one entry point of `rover task`: first every check that needs no
 * side effect (the workflow is found and parses, its required inputs are
 * given: preflight_inputs; an image is chosen; rover.json's container
 * settings load: hardening.h; the project's HEAD in a git project; the
 * engine answers and has the image: preflight_image), so a refusal leaves
 * no record, workspace or branch; then create_task().  Returns as
 * create_task(): < 0 with nothing created, or 0 with *ret_id and *ret. */
int create_task_checked(const struct project *p, const struct task_store *st,
			const struct create_request *rq, int64_t *ret_id,
			struct resume_outcome *ret, struct rv_error **err);

/* The title a task gets from its description: the first line, at most 72
 * characters ("..." past 69).  The caller frees it. */
char *create_title(const char *description);

#endif
