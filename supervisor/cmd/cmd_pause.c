/* rover pause ID [--now] [--timeout SECONDS] [--reason TEXT] [--json] */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/taskops.h"

static const struct cmdopt_spec spec = {
	.verb = "pause",
	.header =
		"Usage: rover pause ID [--now] [--timeout SECONDS] [--reason TEXT] [--json]\n"
		"       rover pause --all [--now] ... (every running task: rover pause --all --help)\n"
		"\n"
		"Pause a running task after its current step: the runner finishes the step,\n"
		"saves its checkpoint and stops, and 'rover resume ID' continues from there.\n"
		"If the step is not done within the timeout, the container gets SIGTERM (the\n"
		"step is interrupted and runs again on resume), then SIGKILL after 30 s.\n"
		"A task paused by a person is never retried automatically.\n"
		"\n",
	.column = 25,
};

struct progress {
	bool tty;
	bool shown;
	int last_phase;
	int64_t last_s;
};

/* On a terminal one line that counts up; in a log a line every 10 s. */
static void on_progress(void *userdata, int64_t id, enum taskops_pause_phase phase,
			int64_t elapsed_ms)
{
	struct progress *p = userdata;
	int64_t s = elapsed_ms / 1000;
	if (!p->tty && p->shown && (int)phase == p->last_phase && s - p->last_s < 10)
		return;
	const char *what = phase == TASKOPS_PAUSE_DRAINING ? "to finish its current step"
			   : phase == TASKOPS_PAUSE_TERMINATING
				   ? "to save its checkpoint after SIGTERM"
				   : "to stop after SIGKILL";
	if (p->tty && p->shown && (int)phase != p->last_phase)
		fputc('\n', stderr);
	fprintf(stderr, "%s⏳ waiting for task %lld %s (%llds)...%s", p->tty ? "\r" : "",
		(long long)id, what, (long long)s, p->tty ? "" : "\n");
	fflush(stderr);
	p->shown = true;
	p->last_phase = (int)phase;
	p->last_s = s;
}

/* The outcome of a pause; the exit code (1 when the task failed first). */
static int print_paused(const struct taskops_pause_result *res, int64_t id, const char *reason,
			bool json)
{
	const struct task *f = res->task;
	enum task_status s = task_status(f);
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_int64(j, "taskId", f->id);
		jsonutil_set_str(j, "title", task_title(f));
		jsonutil_set_str(j, "status", task_status_name(s));
		const char *at = task_get_str(f, "pausedAt");
		json_object_object_add(j, "pausedAt", at ? json_object_new_string(at) : NULL);
		jsonutil_set_str(j, "reason",
				 reason && *reason ? reason : TASKOPS_PAUSE_DEFAULT_REASON);
		jsonutil_set_bool(j, "hasCheckpoint", res->has_checkpoint);
		jsonutil_set_bool(j, "paused", res->paused);
		if (res->exit_code >= 0)
			jsonutil_set_int64(j, "exitCode", res->exit_code);
		if (!res->paused && task_error(f))
			jsonutil_set_str(j, "error", task_error(f));
		cmd_print_json(j);
	}
	if (res->paused) {
		if (!json) {
			const char *how = res->reached == TASKOPS_PAUSE_DRAINING
						  ? "after its current step"
					  : res->reached == TASKOPS_PAUSE_TERMINATING
						  ? "(its current step was interrupted)"
						  : "(its container had to be killed)";
			fprintf(stderr,
				"⏸ Task %lld paused %s; %s. Continue it with: rover resume %lld\n",
				(long long)id, how,
				res->has_checkpoint ? "its checkpoint is saved"
						    : "it had no checkpoint yet",
				(long long)id);
		}
	} else if (s == TASK_FAILED) {
		fprintf(stderr, "rover: task %lld failed before it could be paused: %s\n",
			(long long)id, task_error(f) ? task_error(f) : "failed");
	} else {
		fprintf(stderr,
			"ℹ Task %lld ended on its own before it could be paused: it is %s\n",
			(long long)id, task_status_name(s));
	}
	return s == TASK_FAILED ? CMD_FAILED : CMD_OK;
}

static int pause_task(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	struct taskops_pause_opts *o = ctx;
	_cleanup_error_ struct rv_error *err = NULL;
	struct progress prog = {.tty = isatty(STDERR_FILENO), .last_phase = -1};
	o->progress = on_progress;
	o->userdata = &prog;
	struct taskops_pause_result res = {0};
	int r = taskops_pause(env->store, t, o, &res, &err);
	if (prog.shown && prog.tty)
		fputc('\n', stderr);
	if (r < 0)
		return cmd_fail(json, CMD_FAILED, err);
	int rc = print_paused(&res, t->id, o->reason, json);
	taskops_pause_result_release(&res);
	return rc;
}

int cmd_pause(int argc, char **argv)
{
	if (cmd_wants_all(argc, argv))
		return cmd_pause_all(argc, argv);
	struct taskops_pause_opts o = {.timeout_s = -1};
	bool json = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("now", 0, &o.now, "interrupt the current step at once (SIGTERM)"),
		CMDOPT_UINT("timeout", 't', &o.timeout_s, 7 * 24 * 3600, "SECONDS",
			    "how long the current step may take (default 600)"),
		CMDOPT_STRING("reason", 'r', &o.reason, "TEXT", "why; shown by 'rover inspect'"),
		CMDOPT_FLAG("json", 0, &json,
			    "print {taskId, title, status, pausedAt, reason,\n"
			    "hasCheckpoint}"),
		CMDOPT_END,
	};
	return cmd_run_task(&spec, opts, argc, argv, &json, pause_task, &o);
}
