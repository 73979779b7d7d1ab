/* rover pause --all [--now] [--timeout SECONDS] [--reason TEXT] [--json]
 * rover resume --all [--json]
 * Every task of the project at once: pause the running ones (pauseReason
 * operator), and later resume exactly the tasks paused that way (or by the
 * supervisor's drain mode) - never one waiting for approval or for a person. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/taskops.h"

#define ALL_PAUSE_REASON "Paused by operator via rover pause --all"

static const char pause_usage[] =
	"Usage: rover pause --all [--now] [--timeout SECONDS] [--reason TEXT] [--json]\n"
	"\n"
	"Pause every running task of this project: each finishes its current step\n"
	"(all at once), saves its checkpoint and stops; --now interrupts the steps\n"
	"at once (SIGTERM; about a second per task).  The tasks are PAUSED with\n"
	"pauseReason operator: 'rover resume --all' brings exactly those back.\n"
	"\n"
	"Options:\n"
	"      --now              interrupt the current steps at once\n"
	"  -t, --timeout SECONDS  how long a step may take before SIGTERM (default 600)\n"
	"  -r, --reason TEXT      why; shown by 'rover inspect'\n"
	"      --json             print {success, paused: [ids], failed: [{taskId, error}]}\n"
	"  -h, --help             this help\n";

static const char resume_usage[] =
	"Usage: rover resume --all [--json]\n"
	"\n"
	"Resume every task paused by 'rover pause --all' (pauseReason operator) or by\n"
	"the supervisor's drain mode (drain).  Tasks waiting for approval at a\n"
	"breakpoint, paused by a person, by a signal or by a provider's limit are\n"
	"left as they are.\n"
	"\n"
	"Options:\n"
	"      --json   print {success, resumed: [ids], failed: [{taskId, error}]}\n"
	"  -h, --help   this help\n";

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

int cmd_pause_all(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"now", no_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"reason", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct taskops_pause_opts o = {.timeout_s = -1, .pause_reason = TASK_PAUSE_OPERATOR};
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			break;
		case 'n':
			o.now = true;
			break;
		case 't':
			if (!cmd_parse_uint("pause", "--timeout", optarg, 7 * 24 * 3600, &o.timeout_s))
				return CMD_USAGE;
			break;
		case 'r':
			o.reason = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(pause_usage, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("pause", "invalid option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("pause", "--all takes no task id (got '%s')", argv[optind]);
	if (!o.reason || !*o.reason)
		o.reason = ALL_PAUSE_REASON;
	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	struct task_list list = {0};
	if (task_store_list(env.store, &list, &err) < 0) {
		int rc = cmd_fail(json, CMD_FAILED, err);
		cmd_env_release(&env);
		return rc;
	}
	/* A task whose container already ended is classified, not paused. */
	observe_tasks(env.store, &list, 0, json ? NULL : cmd_report_stderr, NULL);

	_cleanup_json_ struct json_object *paused = json_object_new_array();
	_cleanup_json_ struct json_object *failed = json_object_new_array();
	int64_t *ids = xcalloc(list.n + 1, sizeof(int64_t));
	size_t n = 0;
	/* First ask them all, so that every task drains at the same time. */
	for (size_t i = 0; i < list.n; i++) {
		const struct task_list_entry *e = &list.entries[i];
		if (!e->task || !task_status_is_running(task_status(e->task)))
			continue;
		bool asked = false;
		_cleanup_error_ struct rv_error *e2 = NULL;
		if (taskops_request_pause(env.store, e->id, TASK_PAUSE_OPERATOR, o.reason, &asked,
					  &e2) < 0) {
			add_failure(failed, e->id, rv_error_msg(e2));
			say_failure(json, e->id, "pause", rv_error_msg(e2));
			continue;
		}
		if (asked)
			ids[n++] = e->id;
	}
	task_list_release(&list);
	for (size_t i = 0; i < n; i++) {
		struct task *t = NULL;
		_cleanup_error_ struct rv_error *e2 = NULL;
		struct taskops_pause_result res = {0};
		if (task_store_load_id(env.store, ids[i], &t, &e2) < 0 ||
		    taskops_pause(env.store, t, &o, &res, &e2) < 0) {
			add_failure(failed, ids[i], rv_error_msg(e2));
			say_failure(json, ids[i], "pause", rv_error_msg(e2));
			task_free(t);
			continue;
		}
		task_free(t);
		if (res.paused) {
			json_object_array_add(paused, json_object_new_int64(ids[i]));
			if (!json)
				fprintf(stderr, "⏸ Task %lld paused%s\n", (long long)ids[i],
					res.reached == TASKOPS_PAUSE_DRAINING ? " after its current step"
									      : "");
		} else if (!json) {
			fprintf(stderr, "ℹ Task %lld ended on its own before it could be paused: %s\n",
				(long long)ids[i], task_status_name(task_status(res.task)));
		}
		taskops_pause_result_release(&res);
	}
	free(ids);
	bool ok = json_object_array_length(failed) == 0;
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "success", ok);
		json_object_object_add(j, "paused", json_object_get(paused));
		json_object_object_add(j, "failed", json_object_get(failed));
		cmd_print_json(j);
	} else if (n == 0) {
		fprintf(stderr, "ℹ No running task to pause\n");
	} else {
		fprintf(stderr, "%zu task(s) paused; continue them with: rover resume --all\n",
			json_object_array_length(paused));
	}
	cmd_env_release(&env);
	return ok ? CMD_OK : CMD_FAILED;
}

int cmd_resume_all(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(resume_usage, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("resume", "invalid option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("resume", "--all takes no task id (got '%s')", argv[optind]);
	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	struct task_list list = {0};
	if (task_store_list(env.store, &list, &err) < 0) {
		int rc = cmd_fail(json, CMD_FAILED, err);
		cmd_env_release(&env);
		return rc;
	}
	_cleanup_json_ struct json_object *resumed = json_object_new_array();
	_cleanup_json_ struct json_object *failed = json_object_new_array();
	const char *image = getenv("ROVER_AGENT_IMAGE");
	for (size_t i = 0; i < list.n; i++) {
		const struct task_list_entry *e = &list.entries[i];
		if (!e->task || task_status(e->task) != TASK_PAUSED)
			continue;
		enum task_pause_reason why = task_pause_reason(e->task);
		if (why != TASK_PAUSE_OPERATOR && why != TASK_PAUSE_DRAIN && why != TASK_PAUSE_WINDOW)
			continue;
		struct resume_opts ro = {.mode = RESUME_MANUAL,
					 .image = image && *image ? image : NULL,
					 .observed = true,
					 .report = json ? NULL : cmd_report_stderr};
		struct resume_outcome out;
		_cleanup_error_ struct rv_error *e2 = NULL;
		int r = resume_task(env.project, env.store, e->id, &ro, &out, &e2);
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
	task_list_release(&list);
	bool ok = json_object_array_length(failed) == 0;
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "success", ok);
		json_object_object_add(j, "resumed", json_object_get(resumed));
		json_object_object_add(j, "failed", json_object_get(failed));
		cmd_print_json(j);
	} else if (json_object_array_length(resumed) == 0 && ok) {
		fprintf(stderr, "ℹ No task paused by 'rover pause --all' or drain mode\n");
	}
	cmd_env_release(&env);
	return ok ? CMD_OK : CMD_FAILED;
}
