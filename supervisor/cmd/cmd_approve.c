/* rover approve ID [--message TEXT] [--json]
 * rover reject ID [--message TEXT] [--json]
 * A task waiting at a breakpoint step (approval.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/approval.h"
#include "supervisor/lib/resume.h"

static const struct cmdopt_spec approve_spec = {
	.verb = "approve",
	.header = "Usage: rover approve ID [--message TEXT] [--json]\n"
		  "\n"
		  "Let a task waiting at a breakpoint step go on: the approval is recorded and\n"
		  "the task is resumed from its checkpoint past the breakpoint.  TEXT is the\n"
		  "breakpoint's outputs.message for the steps after it\n"
		  "({{steps.<id>.outputs.message}}).\n"
		  "\n",
	.footer =
		"\n"
		"Environment: ROVER_AGENT_IMAGE overrides the task's image.\n"
		"Exit status: 0 approved and resumed, 1 not waiting for approval or not\n"
		"resumed (the approval stays: 'rover resume ID' then passes it), 2 usage error.\n",
	.column = 22,
};

static const struct cmdopt_spec reject_spec = {
	.verb = "reject",
	.header = "Usage: rover reject ID [--message TEXT] [--json]\n"
		  "\n"
		  "Refuse a task waiting at a breakpoint step: it ends FAILED with \"Rejected at\n"
		  "breakpoint '<id>': TEXT\".  It is never retried automatically; 'rover resume\n"
		  "ID' would run it up to the breakpoint again and wait.\n"
		  "\n",
	.column = 22,
};

static bool parse_message(const char *verb, const char *arg, void *ptr)
{
	if (strlen(arg) > APPROVAL_MESSAGE_MAX) {
		cmd_usage_error(verb, "--message is longer than %d bytes", APPROVAL_MESSAGE_MAX);
		return false;
	}
	*(const char **)ptr = arg;
	return true;
}

/* approve and reject: --message, --json, --help, then body over the task. */
static int run_approval(const struct cmdopt_spec *spec, const char *message_help,
			const char *json_help, int argc, char **argv, cmd_task_body body)
{
	const char *message = "";
	bool json = false;
	const struct cmdopt opts[] = {
		CMDOPT_CALL("message", 'm', parse_message, &message, "TEXT", message_help),
		CMDOPT_FLAG("json", 0, &json, json_help),
		CMDOPT_END,
	};
	return cmd_run_task(spec, opts, argc, argv, &json, body, &message);
}

static int approve(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	const char *message = *(const char **)ctx;
	int64_t id = t->id;
	int rc;
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *step = NULL, *shown = NULL;
	struct resume_outcome out = {0};
	if (approval_approve(env->store, id, message, false, NULL, &step, &err) < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	shown = textutil_escape_terminal(step);
	if (!json)
		fprintf(stderr, "✓ Task %lld: breakpoint '%s' approved; resuming\n", (long long)id,
			shown);
	const char *image = getenv("ROVER_AGENT_IMAGE");
	struct resume_opts ro = {.mode = RESUME_MANUAL,
				 .image = image && *image ? image : NULL,
				 .report = json ? NULL : cmd_report_stderr};
	int r = resume_task(env->project, env->store, id, &ro, &out, &err);
	if (r < 0 || out.result != RESUME_OK) {
		rc = cmd_failf(json, CMD_FAILED,
			       "task %lld: the approval is recorded but the task could not be "
			       "resumed: %s; run rover resume %lld",
			       (long long)id, rv_error_msg(err), (long long)id);
		goto out;
	}
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "success", true);
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_str(j, "stepId", step);
		jsonutil_set_str(j, "message", message);
		jsonutil_set_str(j, "status",
				 out.task ? task_status_name(task_status(out.task)) : NULL);
		jsonutil_set_str(j, "containerId", out.container_id);
		cmd_print_json(j);
	} else {
		fprintf(stderr, "▶ Task %lld resumed past breakpoint '%s' (container %.12s)\n",
			(long long)id, shown, out.container_id ? out.container_id : "?");
	}
	rc = CMD_OK;
out:
	resume_outcome_release(&out);
	return rc;
}

int cmd_approve(int argc, char **argv)
{
	return run_approval(&approve_spec, "what to tell the next steps (at most 4096 bytes)",
			    "print {success, taskId, stepId, status, containerId}", argc, argv,
			    approve);
}

static int reject(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	const char *message = *(const char **)ctx;
	int64_t id = t->id;
	int rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct task *f = NULL;
	if (approval_reject(env->store, id, message, &f, &err) < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "success", true);
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_str(j, "status", task_status_name(task_status(f)));
		jsonutil_set_str(j, "error", task_error(f));
		cmd_print_json(j);
	} else {
		_cleanup_free_ char *shown = textutil_escape_terminal(task_error(f));
		fprintf(stderr, "■ Task %lld rejected: %s\n", (long long)id, shown);
	}
	rc = CMD_OK;
out:
	task_free(f);
	return rc;
}

int cmd_reject(int argc, char **argv)
{
	return run_approval(&reject_spec, "why (at most 4096 bytes)",
			    "print {success, taskId, status, error}", argc, argv, reject);
}
