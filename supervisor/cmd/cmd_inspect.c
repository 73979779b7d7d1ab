/* rover inspect ID [--json] */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/checkpoint.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/tty.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/lib/approval.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/observe.h"

static const struct cmdopt_spec spec = {
	.verb = "inspect",
	.header =
		"Usage: rover inspect ID [--json]\n"
		"\n"
		"Show one task: its status and why, the current iteration, the checkpoint\n"
		"(completed steps, pause reason, provider reset time), the container and the\n"
		"auto-retry state.  An active task is first reconciled with its container.\n"
		"\n",
	.column = 17,
};

/* Everything inspect shows, as JSON (the human view prints from it too). */
static struct json_object *inspect_json(const struct cmd_env *env, struct task *t)
{
	struct json_object *o = list_view_task_json(env->store, t, &env->project->settings.retry);
	int64_t n = task_iterations(t);
	_cleanup_free_ char *iter_dir = task_store_iteration_dir(env->store, t->id, n);
	jsonutil_set_str(o, "iterationPath", iter_dir);
	queue_view_add_gate_json(o, env->store, t);

	_cleanup_free_ char *status_path = task_store_iteration_file(env->store, t->id, n,
								     TASK_FILE_STATUS);
	struct json_object *st = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (iterfile_read_json(status_path, &st, &e) == 0)
		json_object_object_add(o, "iteration", st);
	else if (e->code != ENOENT)
		jsonutil_set_str(o, "iterationError", rv_error_msg(e));
	e = rv_error_free(e);

	_cleanup_free_ char *cp_path = task_store_iteration_file(env->store, t->id, n,
								 TASK_FILE_CHECKPOINT);
	struct checkpoint *cp = NULL;
	struct json_object *cpj = json_object_new_object();
	_cleanup_json_ struct json_object *root = NULL;
	int r = iterfile_read_json(cp_path, &root, &e);
	if (r == 0)
		r = checkpoint_from_json(root, cp_path, &cp, NULL, &e);
	if (r == 0) {
		jsonutil_set_bool(cpj, "exists", true);
		jsonutil_set_int64(cpj, "seq", cp->seq);
		struct json_object *ids = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(cp->completed_steps); i++) {
			const char *id = jsonutil_get_str(
				json_object_array_get_idx(cp->completed_steps, i), "id");
			json_object_array_add(ids, json_object_new_string(id ? id : "?"));
		}
		json_object_object_add(cpj, "completedSteps", ids);
		if (cp->pause_reason)
			jsonutil_set_str(cpj, "pauseReason", cp->pause_reason);
		if (cp->failed_step_id)
			jsonutil_set_str(cpj, "failedStepId", cp->failed_step_id);
		/* The container wrote it: judged against the 7-day horizon. */
		const char *raw = jsonutil_get_str(root, "resetAt");
		int64_t ms = 0;
		enum retry_reset_check rc = retry_reset_check(raw, timeutil_now_ms(), &ms);
		if (rc == RETRY_RESET_OK) {
			char iso[TIMEUTIL_ISO_LEN];
			jsonutil_set_str(cpj, "resetAt", timeutil_format_iso(ms, iso));
		} else if (rc != RETRY_RESET_NONE) {
			_cleanup_free_ char *note = retry_reset_note(rc, raw);
			jsonutil_set_str(cpj, "resetAt", raw);
			jsonutil_set_str(cpj, "resetAtIgnored", note);
		}
		checkpoint_free(cp);
	} else {
		jsonutil_set_bool(cpj, "exists", false);
		if (e->code != ENOENT)
			jsonutil_set_str(cpj, "error", rv_error_msg(e));
	}
	json_object_object_add(o, "checkpoint", cpj);
	e = rv_error_free(e);

	struct lock_info li;
	if (lock_inspect(iter_dir, &li, NULL) == 0 && li.held) {
		struct json_object *lj = json_object_new_object();
		jsonutil_set_int64(lj, "pid", li.pid);
		jsonutil_set_int64(lj, "ageMs", li.age_ms);
		json_object_object_add(o, "resumeLock", lj);
	}

	const char *cid = task_container_id(t);
	if (cid && *cid) {
		struct json_object *cj = json_object_new_object();
		struct engine *eng = NULL;
		if (launch_engine_for_task(t, &eng, &e) == 0) {
			engine_set_timeouts(eng, 3000, 10000);
			struct engine_container_info info = {0};
			if (engine_container_inspect(eng, cid, &info, &e) == 0) {
				jsonutil_set_str(cj, "id", info.id);
				jsonutil_set_str(cj, "name", info.name);
				jsonutil_set_str(cj, "state", info.status);
				jsonutil_set_int64(cj, "exitCode", info.exit_code);
				jsonutil_set_bool(cj, "oomKilled", info.oom_killed);
				engine_container_info_release(&info);
			} else {
				jsonutil_set_str(cj, "id", cid);
				jsonutil_set_str(cj, "state", e->code == ENOENT ? "missing" : "unknown");
				if (e->code != ENOENT)
					jsonutil_set_str(cj, "error", rv_error_msg(e));
			}
			engine_free(eng);
		} else {
			jsonutil_set_str(cj, "id", cid);
			jsonutil_set_str(cj, "state", "unknown");
			jsonutil_set_str(cj, "error", rv_error_msg(e));
		}
		json_object_object_add(o, "container", cj);
	}
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

static void print_human(const struct cmd_env *env, const struct task *t, struct json_object *o)
{
	char buf[256], b2[256];
	struct list_view_iter it = {.progress = -1};
	list_view_iter_read(env->store, t, &it);
	_cleanup_free_ char *title = textutil_escape_terminal(task_title(t));
	printf("Task %lld: %s\n", (long long)t->id, title ? title : "");
	const char *label = list_view_status_label(t, &it, buf, sizeof(buf));
	const char *color = tty_color(STDOUT_FILENO) ? list_view_status_color(task_status(t)) : NULL;
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
	bool asked = task_status(t) == TASK_PAUSED &&
		     (pr == TASK_PAUSE_USER || pr == TASK_PAUSE_SIGNAL || pr == TASK_PAUSE_OPERATOR ||
		      pr == TASK_PAUSE_DRAIN || pr == TASK_PAUSE_APPROVAL || pr == TASK_PAUSE_WINDOW ||
		      pr == TASK_PAUSE_BUDGET);
	line(asked ? "Message" : "Error", task_error(t));
	queue_view_print_task(stdout, env->store, t, timeutil_now_ms());
	/* What the agent CLIs reported, summed over runs and resumes. */
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
	line("Current step", it.current_step);
	if (it.progress >= 0) {
		snprintf(b2, sizeof(b2), "%d%%", it.progress);
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
	struct json_object *c = jsonutil_get_obj(o, "container");
	if (c) {
		int64_t code = 0;
		bool has_code = jsonutil_get_int64(c, "exitCode", &code);
		const char *state = jsonutil_get_str(c, "state");
		snprintf(b2, sizeof(b2), "%.12s %s%s", jsonutil_get_str(c, "id"), state ? state : "",
			 has_code && state && strcmp(state, "running") ? "" : "");
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
			off += (size_t)snprintf(b2 + off, sizeof(b2) - off, "%s%s", i ? ", " : ": ",
						json_object_get_string(json_object_array_get_idx(ids, i)));
		line("Checkpoint", b2);
		line("Provider reset", jsonutil_get_str(cp, "resetAtIgnored")
					       ? jsonutil_get_str(cp, "resetAtIgnored")
					       : jsonutil_get_str(cp, "resetAt"));
	} else {
		line("Checkpoint", jsonutil_get_str(cp, "error") ? jsonutil_get_str(cp, "error")
								   : "none");
	}
	struct json_object *lk = jsonutil_get_obj(o, "resumeLock");
	if (lk) {
		int64_t pid = 0;
		jsonutil_get_int64(lk, "pid", &pid);
		snprintf(b2, sizeof(b2), "held by process %lld", (long long)pid);
		line("Resume lock", b2);
	}
	line("Created", task_get_str(t, "createdAt"));
	line("Iteration dir", jsonutil_get_str(o, "iterationPath"));
	list_view_iter_release(&it);
}

int cmd_inspect(int argc, char **argv)
{
	bool json = false;
	int rc = cmd_parse_json_only(&spec, "print one JSON object", argc, argv, &json);
	if (rc >= 0)
		return rc;
	struct cmd_env env;
	struct task *t = NULL;
	rc = cmd_open_task("inspect", argc, argv, json, true, &env, &t);
	if (rc >= 0)
		return rc;
	_cleanup_json_ struct json_object *o = inspect_json(&env, t);
	if (json)
		cmd_print_json(o);
	else
		print_human(&env, t, o);
	task_free(t);
	cmd_env_release(&env);
	return CMD_OK;
}
