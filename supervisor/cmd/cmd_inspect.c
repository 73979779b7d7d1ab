/* rover inspect ID [--json] */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/tty.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/lib/approval.h"
#include "supervisor/lib/taskview.h"
#include "supervisor/cmd/queue_view.h"

static const struct cmdopt_spec spec = {
	.verb = "inspect",
	.header = "Usage: rover inspect ID [--json]\n"
		  "\n"
		  "Show one task: its status and why, the current iteration, the checkpoint\n"
		  "(completed steps, pause reason, provider reset time), the container and the\n"
		  "auto-retry state.  An active task is first reconciled with its container;\n"
		  "a task that no longer runs shows its container as it was when it ended\n"
		  "(recorded then: the engine is not asked).\n"
		  "\n",
	.column = 17,
};

/* Everything inspect shows, as JSON (the human view prints from it too):
 * the list's columns, then the account gate, the iteration's files, the
 * resume lock and the container (taskview.h). */
static struct json_object *inspect_json(const struct cmd_env *env, struct task *t)
{
	struct json_object *o = list_view_task_json(env->store, t, &env->project->settings.retry);
	taskview_add_inspect(env->store, t, o);
	return o;
}

/* Values may come from the container (error, step, title): escaped. */
static void line(const char *label, const char *value)
{
	if (value && *value) {
		_cleanup_free_ char *safe = textutil_escape_terminal(value);
		printf("%-16s %s\n", label, safe);
	}
}

/* Title, status and what stopped it: the reason, the breakpoint, the
 * error (or, for a pause someone asked for, the message), the queue. */
static void print_state(const struct cmd_env *env, const struct task *t,
			const struct list_view_iter *it, struct json_object *o)
{
	char buf[256];
	_cleanup_free_ char *title = textutil_escape_terminal(task_title(t));
	printf("Task %lld: %s\n", (long long)t->id, title ? title : "");
	const char *label = list_view_status_label(t, it, buf, sizeof(buf));
	const char *color =
		tty_color(STDOUT_FILENO) ? list_view_status_color(task_status(t)) : NULL;
	if (color)
		printf("%-16s %s%s\033[0m\n", "Status", color, label);
	else
		line("Status", label);
	if (list_view_needs_person(t, &env->project->settings.retry))
		printf("%-16s auto-retry gave up: run rover resume %lld\n", "Action needed",
		       (long long)t->id);
	line("Pause reason", task_get_str(t, "pauseReason"));
	const char *bp = NULL;
	if (approval_waiting(t, &bp)) {
		line("Breakpoint", bp);
		printf("%-16s rover approve %lld [--message TEXT], or rover reject %lld\n",
		       "Action needed", (long long)t->id, (long long)t->id);
	}
	/* A pause someone asked for (a person, a signal, pause --all, drain)
	 * is no error: its note is a message. */
	enum task_pause_reason pr = task_pause_reason(t);
	bool asked =
		task_status(t) == TASK_PAUSED &&
		(pr == TASK_PAUSE_USER || pr == TASK_PAUSE_SIGNAL || pr == TASK_PAUSE_OPERATOR ||
		 pr == TASK_PAUSE_DRAIN || pr == TASK_PAUSE_APPROVAL || pr == TASK_PAUSE_WINDOW ||
		 pr == TASK_PAUSE_BUDGET);
	line(asked ? "Message" : "Error", task_error(t));
	queue_view_print_task(stdout, t, jsonutil_get_obj(o, "gate"), timeutil_now_ms());
}

/* What the agent CLIs reported, summed over runs and resumes, and the
 * auto-retry state. */
static void print_usage_retry(const struct cmd_env *env, const struct task *t)
{
	char b2[256];
	struct json_object *u = jsonutil_get_obj(t->obj, "usage"), *cost = NULL;
	int64_t in = 0, out = 0;
	if (u && jsonutil_get_int64(u, "inputTokens", &in) &&
	    jsonutil_get_int64(u, "outputTokens", &out)) {
		snprintf(b2, sizeof(b2), "%lld input, %lld output tokens", (long long)in,
			 (long long)out);
		line("Usage", b2);
		if (json_object_object_get_ex(u, "costUsd", &cost) && cost) {
			snprintf(b2, sizeof(b2), "$%.4f", json_object_get_double(cost));
			line("Cost", b2);
		}
	}
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	if (ar.count || ar.next_retry_at_ms) {
		char iso[TIMEUTIL_ISO_LEN];
		snprintf(b2, sizeof(b2), "%lld of %lld attempts%s%s", (long long)ar.count,
			 (long long)(ar.max ? ar.max : env->project->settings.retry.max),
			 ar.next_retry_at_ms ? ", next at " : "",
			 ar.next_retry_at_ms ? timeutil_format_iso(ar.next_retry_at_ms, iso) : "");
		line("Auto-retry", b2);
	}
	struct json_object *arj = jsonutil_get_obj(t->obj, "autoRetry");
	line("Reset time", arj ? jsonutil_get_str(arj, "resetAtIgnored") : NULL);
}

/* Where it is in its workflow and what it runs with. */
static void print_setup(const struct task *t, const struct list_view_iter *it)
{
	char b2[256];
	line("Current step", it->current_step);
	if (it->progress >= 0) {
		snprintf(b2, sizeof(b2), "%d%%", it->progress);
		line("Progress", b2);
	}
	snprintf(b2, sizeof(b2), "%lld", (long long)task_iterations(t));
	line("Iteration", b2);
	line("Workflow", task_get_str(t, "workflowName"));
	line("Agent", task_get_str(t, "agent"));
	line("Image", task_get_str(t, "agentImage"));
	line("Workspace", task_get_str(t, "worktreePath"));
	line("Branch", task_get_str(t, "branchName"));
	const char *kind = NULL, *endpoint = NULL;
	if (task_get_engine(t, &kind, &endpoint)) {
		snprintf(b2, sizeof(b2), "%s at %s", kind ? kind : "?", endpoint ? endpoint : "?");
		line("Engine", b2);
	}
}

/* The container, the checkpoint and the resume lock, as gathered in o. */
static void print_gathered(struct json_object *o)
{
	char b2[256];
	struct json_object *c = jsonutil_get_obj(o, "container");
	if (c) {
		int64_t code = 0;
		bool has_code = jsonutil_get_int64(c, "exitCode", &code);
		const char *state = jsonutil_get_str(c, "state");
		snprintf(b2, sizeof(b2), "%.12s %s", jsonutil_get_str(c, "id"), state ? state : "");
		if (has_code && state && !strcmp(state, "exited"))
			snprintf(b2 + strlen(b2), sizeof(b2) - strlen(b2), " (exit %lld)",
				 (long long)code);
		line("Container", b2);
	}
	struct json_object *cp = jsonutil_get_obj(o, "checkpoint");
	bool exists = false;
	jsonutil_get_bool(cp, "exists", &exists);
	if (exists) {
		struct json_object *ids = jsonutil_get_array(cp, "completedSteps");
		size_t nids = ids ? json_object_array_length(ids) : 0;
		size_t off = (size_t)snprintf(b2, sizeof(b2), "%zu completed step(s)", nids);
		for (size_t i = 0; i < nids && off < sizeof(b2) - 1; i++)
			off += (size_t)snprintf(
				b2 + off, sizeof(b2) - off, "%s%s", i ? ", " : ": ",
				json_object_get_string(json_object_array_get_idx(ids, i)));
		line("Checkpoint", b2);
		const char *ignored = jsonutil_get_str(cp, "resetAtIgnored");
		line("Provider reset", ignored ? ignored : jsonutil_get_str(cp, "resetAt"));
	} else {
		const char *error = jsonutil_get_str(cp, "error");
		line("Checkpoint", error ? error : "none");
	}
	struct json_object *lk = jsonutil_get_obj(o, "resumeLock");
	if (lk) {
		int64_t pid = 0;
		jsonutil_get_int64(lk, "pid", &pid);
		snprintf(b2, sizeof(b2), "held by process %lld", (long long)pid);
		line("Resume lock", b2);
	}
}

static void print_human(const struct cmd_env *env, const struct task *t, struct json_object *o)
{
	/* status.json and the gate as taskview gathered them: each file once. */
	struct list_view_iter it;
	list_view_iter_from_status(jsonutil_get_obj(o, "iteration"), &it);
	print_state(env, t, &it, o);
	print_usage_retry(env, t);
	print_setup(t, &it);
	print_gathered(o);
	line("Created", task_get_str(t, "createdAt"));
	line("Iteration dir", jsonutil_get_str(o, "iterationPath"));
	list_view_iter_release(&it);
}

static int inspect(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	(void)ctx;
	_cleanup_json_ struct json_object *o = inspect_json(env, t);
	if (json)
		cmd_print_json(o);
	else
		print_human(env, t, o);
	return CMD_OK;
}

int cmd_inspect(int argc, char **argv)
{
	bool json = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("json", 0, &json, "print one JSON object"),
		CMDOPT_END,
	};
	/* A screenful written once, not a write per line (main.c buffers
	 * stdout by line for the commands that report progress). */
	static char outbuf[16384];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	return cmd_run_task(&spec, opts, argc, argv, &json, inspect, NULL);
}
