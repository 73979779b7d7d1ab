/* rover wait ID... [--timeout SECONDS] [--json]: taskwait.h over the CLI. */
#define _GNU_SOURCE
#include <getopt.h> /* optind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/taskwait.h"

static const struct cmdopt_spec spec = {
	.verb = "wait",
	.header = "Usage: rover wait ID... [--timeout SECONDS] [--json]\n"
		  "\n"
		  "Wait until the tasks stop running: COMPLETED, FAILED, or PAUSED with no\n"
		  "auto-retry coming (a paused task that 'rover supervise' will retry is still\n"
		  "waited for).  Learns of changes from the task files and the engine's\n"
		  "events, and notices a container that ended without saying so.\n"
		  "\n",
	.footer = "\n"
		  "Exit status: 0 all COMPLETED, 1 the wait failed (no such task...), 2 usage\n"
		  "error, 3 some FAILED (or could not start), 4 some PAUSED (none FAILED),\n"
		  "124 the timeout passed with a task still running.\n",
	.column = 25,
};

/* A terminal shows one line that is redrawn; it is cleared at the end. */
static bool progress_shown;

static void on_progress(void *userdata, const struct taskwait_progress *p)
{
	(void)userdata;
	long s = (long)(p->elapsed_ms / 1000);
	if (p->running > 1)
		fprintf(stderr, "\r\033[K⏳ waiting for %zu of %zu tasks (task %lld %s) %ldm%02lds",
			p->running, p->n, (long long)p->first_running, p->status, s / 60, s % 60);
	else
		fprintf(stderr, "\r\033[K⏳ waiting for task %lld (%s) %ldm%02lds",
			(long long)p->first_running, p->status, s / 60, s % 60);
	progress_shown = true;
}

static void on_report(void *userdata, const char *level, int64_t id, const char *msg)
{
	/* Status changes show in the final lines; warnings (the engine could
	 * not be asked) are worth a line of their own. */
	if (strcmp(level, "warn") != 0)
		return;
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = false;
	}
	cmd_report_stderr(userdata, level, id, msg);
}

static void print_wait_json(const struct taskwait_result *res, int code)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < res->n; i++) {
		const struct task *t = res->tasks[i];
		struct json_object *e = json_object_new_object();
		jsonutil_set_int64(e, "id", t->id);
		jsonutil_set_str(e, "status", task_status_name(task_status(t)));
		jsonutil_set_str(e, "state", taskwait_state_name(res->states[i]));
		jsonutil_set_str(e, "pauseReason", task_pause_reason_name(task_pause_reason(t)));
		jsonutil_set_str(e, "error", task_get_str(t, "error"));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "tasks", arr);
	jsonutil_set_bool(o, "timedOut", res->timed_out);
	jsonutil_set_int64(o, "exitCode", code);
	cmd_print_json(o);
}

static void print_wait_text(const struct taskwait_result *res, long timeout_s)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct task *t = res->tasks[i];
		const char *status = task_status_name(task_status(t));
		const char *reason = task_pause_reason_name(task_pause_reason(t));
		const char *error = task_get_str(t, "error");
		/* The error may quote what the container wrote. */
		_cleanup_free_ char *safe = error ? textutil_escape_terminal(error) : NULL;
		if (res->states[i] == TASKWAIT_RUNNING)
			printf("task %lld: still %s after %lds\n", (long long)t->id, status,
			       timeout_s);
		else if (res->states[i] == TASKWAIT_COMPLETED)
			printf("task %lld: %s\n", (long long)t->id, status);
		else
			printf("task %lld: %s%s%s%s%s%s\n", (long long)t->id, status,
			       reason ? " (" : "", reason ? reason : "", reason ? ")" : "",
			       safe && *safe ? ": " : "", safe ? safe : "");
	}
}

int cmd_wait(int argc, char **argv)
{
	bool json = false;
	long timeout_s = -1;
	const struct cmdopt opts[] = {
		CMDOPT_UINT("timeout", 0, &timeout_s, 365L * 24 * 3600, "SECONDS",
			    "give up after this long (exit 124); 0: look once"),
		CMDOPT_FLAG("json", 0, &json,
			    "print {\"tasks\": [...], \"timedOut\", \"exitCode\"}"),
		CMDOPT_END,
	};
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cmd_usage_error("wait", "missing task id");
	size_t n = (size_t)(argc - optind);
	_cleanup_free_ int64_t *ids = xcalloc(n, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		if (!cmd_parse_id("wait", argv[optind + (int)i], &ids[i]))
			return CMD_USAGE;

	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, TASKWAIT_EXIT_ERROR, err);
	bool tty = !json && isatty(STDERR_FILENO);
	struct taskwait_opts o = {
		.store = env.store,
		.ids = ids,
		.n = n,
		.timeout_ms = timeout_s < 0 ? -1 : timeout_s * 1000,
		.retry_max = env.project->settings.retry.max,
		.progress_interval_ms = tty ? 1000 : 0,
		.on_progress = tty ? on_progress : NULL,
		.report = json ? NULL : on_report,
	};
	struct taskwait_result res = {0};
	int r = taskwait_run(&o, &res, &err);
	if (progress_shown)
		fputs("\r\033[K", stderr);
	if (r < 0) {
		rc = cmd_fail(json, TASKWAIT_EXIT_ERROR, err);
		cmd_env_release(&env);
		return rc;
	}
	int code = taskwait_exit_code(res.states, res.n, res.timed_out);
	if (json)
		print_wait_json(&res, code);
	else
		print_wait_text(&res, timeout_s);
	taskwait_result_release(&res);
	cmd_env_release(&env);
	return code;
}
