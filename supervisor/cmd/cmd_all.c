/* rover pause --all [--now] [--timeout SECONDS] [--reason TEXT] [--json]
 * rover resume --all [--json]
 * Every task of the project at once: pause the running ones (pauseReason
 * operator), and later resume exactly the tasks paused that way (or by the
 * supervisor's drain mode) - never one waiting for approval or for a person. */
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
#include "supervisor/lib/observe.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/taskops.h"

#define ALL_PAUSE_REASON "Paused by operator via rover pause --all"

static const struct cmdopt_spec pause_spec = {
	.verb = "pause",
	.header = "Usage: rover pause --all [--now] [--timeout SECONDS] [--reason TEXT] [--json]\n"
		  "\n"
		  "Pause every running task of this project: each finishes its current step\n"
		  "(all at once), saves its checkpoint and stops; --now interrupts the steps\n"
		  "at once (SIGTERM; about a second per task).  The tasks are PAUSED with\n"
		  "pauseReason operator: 'rover resume --all' brings exactly those back.\n"
		  "\n",
	.column = 25,
};

static const struct cmdopt_spec resume_spec = {
	.verb = "resume",
	.header = "Usage: rover resume --all [--json]\n"
		  "\n"
		  "Resume every task paused by 'rover pause --all' (pauseReason operator) or by\n"
		  "the supervisor's drain mode (drain).  Tasks waiting for approval at a\n"
		  "breakpoint, paused by a person, by a signal or by a provider's limit are\n"
		  "left as they are.\n"
		  "\n",
	.column = 15,
};

bool cmd_wants_all(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--all"))
			return true;
	}
	return false;
}

static void add_failure(struct json_object *failed, int64_t id, const char *msg)
{
	struct json_object *f = json_object_new_object();
	jsonutil_set_int64(f, "taskId", id);
	jsonutil_set_str(f, "error", msg);
	json_object_array_add(failed, f);
}

static void say_failure(bool json, int64_t id, const char *verb, const char *msg)
{
	if (json)
		return;
	_cleanup_free_ char *shown = textutil_escape_terminal(msg);
	fprintf(stderr, "rover: cannot %s task %lld: %s\n", verb, (long long)id, shown);
}

/* The project and all its tasks; -1 to go on (release both), else the exit
 * code (the error printed). */
static int open_all(bool json, struct cmd_env *env, struct task_list *list)
{
	int rc = cmd_open(env, json);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	*list = (struct task_list){0};
	if (task_store_list(env->store, list, &err) < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		cmd_env_release(env);
		return rc;
	}
	return -1;
}

/* {success, <done_key>: [ids], failed: [...]}; the exit code. */
static int print_all_json(const char *done_key, struct json_object *done,
			  struct json_object *failed)
{
	bool ok = json_object_array_length(failed) == 0;
	_cleanup_json_ struct json_object *j = json_object_new_object();
	jsonutil_set_bool(j, "success", ok);
	json_object_object_add(j, done_key, json_object_get(done));
	json_object_object_add(j, "failed", json_object_get(failed));
	cmd_print_json(j);
	return ok ? CMD_OK : CMD_FAILED;
}

/* Ask every running task to pause, so that they all drain at the same
 * time; the ids of those asked (a new array, ended by 0), *ret_n of them. */
static int64_t *request_pauses(const struct cmd_env *env, const struct task_list *list,
			       const char *reason, bool json, struct json_object *failed,
			       size_t *ret_n)
{
	int64_t *ids = xcalloc(list->n + 1, sizeof(int64_t));
	size_t n = 0;
	for (size_t i = 0; i < list->n; i++) {
		const struct task_list_entry *e = &list->entries[i];
		if (!e->task || !task_status_is_running(task_status(e->task)))
			continue;
		bool asked = false;
		_cleanup_error_ struct rv_error *e2 = NULL;
		if (taskops_request_pause(env->store, e->id, TASK_PAUSE_OPERATOR, reason, &asked,
					  &e2) < 0) {
			add_failure(failed, e->id, rv_error_msg(e2));
			say_failure(json, e->id, "pause", rv_error_msg(e2));
			continue;
		}
		if (asked)
			ids[n++] = e->id;
	}
	*ret_n = n;
	return ids;
}

/* Wait for one asked task to pause (taskops_pause); its id into paused, or
 * the error into failed. */
static void finish_pause(const struct cmd_env *env, int64_t id, const struct taskops_pause_opts *o,
			 bool json, struct json_object *paused, struct json_object *failed)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e2 = NULL;
	struct taskops_pause_result res = {0};
	if (task_store_load_id(env->store, id, &t, &e2) < 0 ||
	    taskops_pause(env->store, t, o, &res, &e2) < 0) {
		add_failure(failed, id, rv_error_msg(e2));
		say_failure(json, id, "pause", rv_error_msg(e2));
		task_free(t);
		return;
	}
	task_free(t);
	if (res.paused) {
		json_object_array_add(paused, json_object_new_int64(id));
		if (!json)
			fprintf(stderr, "⏸ Task %lld paused%s\n", (long long)id,
				res.reached == TASKOPS_PAUSE_DRAINING ? " after its current step"
								      : "");
	} else if (!json) {
		fprintf(stderr, "ℹ Task %lld ended on its own before it could be paused: %s\n",
			(long long)id, task_status_name(task_status(res.task)));
	}
	taskops_pause_result_release(&res);
}

/* The options of pause --all or resume --all, and no task id. */
static int parse_all(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc,
		     char **argv)
{
	int rc = cmdopt_parse(spec, opts, argc, argv);
	if (rc < 0 && optind < argc)
		return cmd_usage_error(spec->verb, "--all takes no task id (got '%s')",
				       argv[optind]);
	return rc;
}

/* The options of pause --all; -1 to go on, else the exit code. */
static int parse_pause_all(int argc, char **argv, struct taskops_pause_opts *o, bool *json)
{
	bool all = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("all", 0, &all, NULL),
		CMDOPT_FLAG("now", 0, &o->now, "interrupt the current steps at once"),
		CMDOPT_UINT("timeout", 't', &o->timeout_s, 7 * 24 * 3600, "SECONDS",
			    "how long a step may take before SIGTERM (default 600)"),
		CMDOPT_STRING("reason", 'r', &o->reason, "TEXT", "why; shown by 'rover inspect'"),
		CMDOPT_FLAG("json", 0, json,
			    "print {success, paused: [ids], failed: [{taskId, error}]}"),
		CMDOPT_END,
	};
	int rc = parse_all(&pause_spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (!o->reason || !*o->reason)
		o->reason = ALL_PAUSE_REASON;
	return -1;
}

int cmd_pause_all(int argc, char **argv)
{
	struct taskops_pause_opts o = {.timeout_s = -1, .pause_reason = TASK_PAUSE_OPERATOR};
	bool json = false;
	int rc = parse_pause_all(argc, argv, &o, &json);
	if (rc >= 0)
		return rc;
	struct cmd_env env;
	struct task_list list;
	rc = open_all(json, &env, &list);
	if (rc >= 0)
		return rc;
	/* A task whose container already ended is classified, not paused. */
	observe_tasks(env.store, &list, 0, json ? NULL : cmd_report_stderr, NULL);

	_cleanup_json_ struct json_object *paused = json_object_new_array();
	_cleanup_json_ struct json_object *failed = json_object_new_array();
	size_t n = 0;
	_cleanup_free_ int64_t *ids = request_pauses(&env, &list, o.reason, json, failed, &n);
	task_list_release(&list);
	for (size_t i = 0; i < n; i++)
		finish_pause(&env, ids[i], &o, json, paused, failed);
	cmd_env_release(&env);
	if (json)
		return print_all_json("paused", paused, failed);
	if (n == 0)
		fprintf(stderr, "ℹ No running task to pause\n");
	else
		fprintf(stderr, "%zu task(s) paused; continue them with: rover resume --all\n",
			json_object_array_length(paused));
	return json_object_array_length(failed) == 0 ? CMD_OK : CMD_FAILED;
}

/* Resume one task if pause --all or drain mode (or a window) paused it. */
static void resume_one(const struct cmd_env *env, const struct task_list_entry *e, bool json,
		       struct json_object *resumed, struct json_object *failed)
{
	if (!e->task || task_status(e->task) != TASK_PAUSED)
		return;
	enum task_pause_reason why = task_pause_reason(e->task);
	if (why != TASK_PAUSE_OPERATOR && why != TASK_PAUSE_DRAIN && why != TASK_PAUSE_WINDOW)
		return;
	const char *image = getenv("ROVER_AGENT_IMAGE");
	struct resume_opts ro = {.mode = RESUME_MANUAL,
				 .image = image && *image ? image : NULL,
				 .observed = true,
				 .report = json ? NULL : cmd_report_stderr};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *e2 = NULL;
	int r = resume_task(env->project, env->store, e->id, &ro, &out, &e2);
	if (r == 0 && out.result == RESUME_OK) {
		json_object_array_add(resumed, json_object_new_int64(e->id));
		if (!json)
			fprintf(stderr, "▶ Task %lld resumed (paused by %s)\n", (long long)e->id,
				task_pause_reason_name(why));
	} else {
		add_failure(failed, e->id, rv_error_msg(e2));
		say_failure(json, e->id, "resume", rv_error_msg(e2));
	}
	resume_outcome_release(&out);
}

int cmd_resume_all(int argc, char **argv)
{
	bool json = false, all = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("all", 0, &all, NULL),
		CMDOPT_FLAG("json", 0, &json,
			    "print {success, resumed: [ids], failed: [{taskId, error}]}"),
		CMDOPT_END,
	};
	int rc = parse_all(&resume_spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	struct cmd_env env;
	struct task_list list;
	rc = open_all(json, &env, &list);
	if (rc >= 0)
		return rc;
	_cleanup_json_ struct json_object *resumed = json_object_new_array();
	_cleanup_json_ struct json_object *failed = json_object_new_array();
	for (size_t i = 0; i < list.n; i++)
		resume_one(&env, &list.entries[i], json, resumed, failed);
	task_list_release(&list);
	cmd_env_release(&env);
	if (json)
		return print_all_json("resumed", resumed, failed);
	bool ok = json_object_array_length(failed) == 0;
	if (json_object_array_length(resumed) == 0 && ok)
		fprintf(stderr, "ℹ No task paused by 'rover pause --all' or drain mode\n");
	return ok ? CMD_OK : CMD_FAILED;
}
