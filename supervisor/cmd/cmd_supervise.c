/* rover supervise [--json]: the headless supervisor loop (supervise.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/hooks.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/supervise.h"
#include "supervisor/lib/task_live.h"

static const struct cmdopt_spec spec = {
	.verb = "supervise",
	.header = "Usage: rover supervise [--drain] [--json]\n"
		  "\n"
		  "Supervise this project's tasks until SIGTERM or SIGINT: container exits are\n"
		  "seen from the engine's event stream and the task files as they change,\n"
		  "tasks whose container died are classified, and tasks paused by a provider's\n"
		  "limit are resumed automatically (at the reset time plus 2-9 minutes when\n"
		  "known, else with exponential backoff; at most retry.max attempts).  One\n"
		  "process per project schedules retries; others only watch.  It also starts\n"
		  "queued tasks (an account limited until its reset, or rover.json maxRunning)\n"
		  "and pauses tasks that stall (stallSeconds).  When it starts scheduling it\n"
		  "says what it found scheduled.  One line per event on stdout.  See\n"
		  "docs/rover-supervise.service for systemd.\n"
		  "\n"
		  "Drain mode (--drain, or SIGUSR1 to a running supervisor): running tasks\n"
		  "finish their current step and pause (pauseReason drain), nothing new starts\n"
		  "and no auto-retry fires; 'rover resume --all' brings them back.\n"
		  "\n",
	.footer =
		"\n"
		"Environment: ROVER_RETRY_MAX, ROVER_RETRY_BASE_SECONDS, ROVER_RETRY_CAP_SECONDS\n"
		"(override rover.json \"retry\"), ROVER_RETRY_RESET_WINDOW=MIN-MAX (seconds\n"
		"after a provider's reset time, default 120-540), ROVER_AGENT_IMAGE,\n"
		"ROVER_MAX_RUNNING and ROVER_STALL_SECONDS (override rover.json maxRunning and\n"
		"stallSeconds), ROVER_GATE_PROBE_SECONDS and ROVER_GATE_STAGGER_SECONDS (how\n"
		"an account's tasks are released after its reset time).\n",
	.column = 15,
	.no_operands = true,
};

static const char *kind_name(enum supervise_event_kind k)
{
	static const char *const names[] = {
		"started",     "scheduler",    "status",           "warning",   "retry_scheduled",
		"retry_fired", "retry_failed", "retry_gave_up",    "recovered", "engine",
		"stopping",    "hook",         "approval_timeout", "drain",     "gate",
		"queue",       "stall",        "window",
	};
	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "event";
}

static void on_event(void *userdata, const struct supervise_event *ev)
{
	bool json = *(bool *)userdata;
	char iso[TIMEUTIL_ISO_LEN];
	timeutil_format_iso(ev->time_ms, iso);
	if (ev->kind == SUPERVISE_DRAIN && ev->task_id == 0) {
		/* Said where a person running it sees it, whatever stdout is. */
		fprintf(stderr, "rover supervise: %s\n", ev->message ? ev->message : "drain mode");
		fflush(stderr);
	}
	if (!json) {
		/* Messages quote task errors the container wrote (textutil.h). */
		_cleanup_free_ char *msg = textutil_escape_terminal(ev->message ? ev->message : "");
		printf("%s %s%s\n", iso, ev->kind == SUPERVISE_WARNING ? "⚠ " : "", msg);
		fflush(stdout);
		return;
	}
	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_str(o, "time", iso);
	jsonutil_set_str(o, "event", kind_name(ev->kind));
	if (ev->task_id > 0)
		jsonutil_set_int64(o, "taskId", ev->task_id);
	if (ev->kind == SUPERVISE_STATUS) {
		jsonutil_set_str(o, "from", ev->from && *ev->from ? ev->from : NULL);
		jsonutil_set_str(o, "to", ev->to && *ev->to ? ev->to : NULL);
	}
	if (ev->at_ms > 0) {
		char at[TIMEUTIL_ISO_LEN];
		jsonutil_set_str(o, "at", timeutil_format_iso(ev->at_ms, at));
	}
	if (ev->kind >= SUPERVISE_RETRY_SCHEDULED && ev->kind <= SUPERVISE_RETRY_GAVE_UP) {
		jsonutil_set_int64(o, "attempt", ev->attempt);
		jsonutil_set_int64(o, "max", ev->max);
	}
	jsonutil_set_str(o, "message", ev->message);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

int cmd_supervise(int argc, char **argv)
{
	bool json = false, drain = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("drain", 0, &drain, "start in drain mode"),
		CMDOPT_FLAG("json", 0, &json, "one JSON object per event and line"),
		CMDOPT_END,
	};
	struct cmd_env env;
	int rc = cmd_open_opts(&spec, opts, argc, argv, &json, NULL, &env);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct hooks hooks;
	rc = cmd_load_hooks(&env, json, &hooks);
	if (rc >= 0) {
		cmd_env_release(&env);
		return rc;
	}
	const char *image = getenv("ROVER_AGENT_IMAGE");
	struct supervise_opts so = {
		.project = env.project,
		.store = env.store,
		.hooks = &hooks,
		.role = "supervise",
		.drain = drain,
		.image = image && *image ? image : NULL,
		.on_event = on_event,
		.userdata = &json,
	};
	retry_policy_init(&so.policy, &env.project->settings.retry);
	rc = CMD_OK;
	/* The loop lists the store after every change: from memory, re-reading
	 * only the tasks the file watch names (task_live.h). */
	env.store->live = task_live_new();
	if (retry_policy_set_reset_window(&so.policy, getenv("ROVER_RETRY_RESET_WINDOW"), &err) <
		    0 ||
	    supervise_run(&so, &err) < 0)
		rc = cmd_fail(json, CMD_FAILED, err);
	task_live_free(env.store->live);
	env.store->live = NULL;
	hooks_release(&hooks);
	cmd_env_release(&env);
	return rc;
}
