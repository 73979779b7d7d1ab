/* rover iterate ID INSTRUCTIONS... [--json]: a new iteration of a finished
 * task (iterate.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h> /* optind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/iterate.h"

static const struct cmdopt_spec spec = {
	.verb = "iterate",
	.header = "Usage: rover iterate ID INSTRUCTIONS [--json]\n"
		  "\n"
		  "Start a new iteration of a finished task (COMPLETED, FAILED, MERGED or PUSHED)\n"
		  "with follow-up instructions, in the same workspace and on the same branch.\n"
		  "The instructions replace the workflow's `description` input for the new\n"
		  "iteration (the built-in workflows' prompt).  The new iteration has its own\n"
		  "directory, status, checkpoint, logs (rover logs --iteration N) and pause and\n"
		  "resume; it starts from the beginning of the workflow.  The commits of the\n"
		  "finished iteration are imported into the project's branch first.\n"
		  "\n"
		  "Refused while the task runs (wait for it, or stop it) and while it is PAUSED\n"
		  "(resume it first).\n"
		  "\n",
	.footer = "\n"
		  "Environment: ROVER_AGENT_IMAGE overrides the task's image.\n"
		  "Exit status: 0 started, 1 not started (not found, not finished, the\n"
		  "container could not start), 2 usage error.\n",
	.column = 15,
	.stop_at_operand = true,
};

/* The options, the id and the instructions (the rest of the words, so
 * quoting is optional; *instructions is the caller's to free).  -1 to go
 * on, else the exit code. */
static int iterate_args(int argc, char **argv, bool *json, int64_t *id, char **instructions)
{
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("json", 0, json,
			    "print {\"success\": true, \"taskId\": N, \"iteration\": N, ...}"),
		CMDOPT_END,
	};
	/* stop_at_operand: instructions may contain words starting with '-'
	 * after the id. */
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cmd_usage_error("iterate", "missing task id");
	if (!cmd_parse_id("iterate", argv[optind], id))
		return CMD_USAGE;
	int first = optind + 1;
	/* A trailing --json after the instructions is the option, as users type it. */
	int last = argc;
	if (last > first && !strcmp(argv[last - 1], "--json")) {
		*json = true;
		last--;
	}
	if (first >= last)
		return cmd_usage_error("iterate", "missing INSTRUCTIONS");
	*instructions = cmd_join_words(last - first, argv + first);
	if (!**instructions)
		return cmd_usage_error("iterate", "INSTRUCTIONS is empty");
	return -1;
}

/* iterate_task()'s answer as the exit code, the error printed; -1: started. */
static int iterate_failure(int r, const struct resume_outcome *out, int64_t id,
			   struct rv_error *err, bool json)
{
	if (r < 0)
		return cmd_fail(json, CMD_FAILED, err);
	switch (out->result) {
	case RESUME_ALREADY_RESUMING:
		return cmd_failf(json, CMD_FAILED,
				 "Task %lld is being started by another process; try again in a "
				 "moment",
				 (long long)id);
	case RESUME_NOT_RESUMABLE:
		return cmd_fail(json, CMD_FAILED, err);
	case RESUME_FAILED:
		return cmd_failf(json, CMD_FAILED,
				 "Failed to start a new iteration of task %lld: %s (the task is as "
				 "it was; fix the cause and run rover iterate again)",
				 (long long)id, rv_error_msg(err));
	case RESUME_QUEUED: /* create.h only: an iteration is never queued */
	case RESUME_OK:
		break;
	}
	if (!out->task)
		return cmd_failf(json, CMD_FAILED, "Task %lld was removed while it was started",
				 (long long)id);
	return -1;
}

static void print_iterated(const struct resume_outcome *out, int64_t id, const char *instructions,
			   bool json)
{
	int64_t n = task_iterations(out->task);
	if (json) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_bool(o, "success", true);
		jsonutil_set_int64(o, "taskId", id);
		jsonutil_set_int64(o, "iteration", n);
		jsonutil_set_str(o, "status", task_status_name(task_status(out->task)));
		jsonutil_set_str(o, "previousStatus", task_status_name(out->previous));
		jsonutil_set_str(o, "containerId", out->container_id);
		jsonutil_set_str(o, "instructions", instructions);
		cmd_print_json(o);
		return;
	}
	if (out->worktree_recreated)
		printf("ℹ The worktree was re-created from branch %s\n",
		       task_get_str(out->task, "branchName"));
	printf("✓ Task %lld: iteration %lld started in container %.12s\n"
	       "  Use rover logs -f %lld to watch it, rover inspect %lld for its status\n",
	       (long long)id, (long long)n, out->container_id ? out->container_id : "?",
	       (long long)id, (long long)id);
}

int cmd_iterate(int argc, char **argv)
{
	bool json = false;
	int64_t id;
	_cleanup_free_ char *instructions = NULL;
	int rc = iterate_args(argc, argv, &json, &id, &instructions);
	if (rc >= 0)
		return rc;
	struct cmd_env env;
	rc = cmd_open(&env, json);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	const char *image = getenv("ROVER_AGENT_IMAGE");
	struct iterate_opts io = {.instructions = instructions,
				  .image = image && *image ? image : NULL,
				  .report = json ? NULL : cmd_report_stderr};
	struct resume_outcome out = {0};
	int r = iterate_task(env.project, env.store, id, &io, &out, &err);
	rc = iterate_failure(r, &out, id, err, json);
	if (rc < 0) {
		print_iterated(&out, id, instructions, json);
		rc = CMD_OK;
	}
	resume_outcome_release(&out);
	cmd_env_release(&env);
	return rc;
}
