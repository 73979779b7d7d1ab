/* rover list --watch [SECONDS]: the live table over the supervisor loop. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textutil.h"
#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/supervise.h"

#define WATCH_DEFAULT_INTERVAL_S 3
/* Recent supervisor events shown under the table. */
#define WATCH_RECENT 5

struct watch_screen {
	const struct cmd_env *env;
	const struct supervise_opts *so;
	int interval_s;
	bool json;
	char *recent[WATCH_RECENT];
	size_t n_recent;
};

static void on_event(void *userdata, const struct supervise_event *ev)
{
	struct watch_screen *w = userdata;
	if (w->json || ev->kind == SUPERVISE_STARTED || ev->kind == SUPERVISE_STOPPING)
		return;
	char hhmm[8];
	/* Messages quote task errors, which the container wrote. */
	_cleanup_free_ char *msg = textutil_escape_terminal(ev->message ? ev->message : "");
	char *line = xasprintf("%s %s%s", timeutil_format_hhmm(ev->time_ms, hhmm),
			       ev->kind == SUPERVISE_WARNING ? "⚠ " : "", msg);
	if (w->n_recent == WATCH_RECENT) {
		free(w->recent[0]);
		memmove(w->recent, w->recent + 1, (WATCH_RECENT - 1) * sizeof(w->recent[0]));
		w->n_recent--;
	}
	w->recent[w->n_recent++] = line;
}

static void on_view(void *userdata, const struct supervise_view *v)
{
	struct watch_screen *w = userdata;
	const struct project_retry *policy = &w->env->project->settings.retry;
	if (w->json) {
		_cleanup_json_ struct json_object *arr = list_view_json(w->env->store, v->tasks, policy);
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		fflush(stdout);
		return;
	}
	fputs("\033[2J\033[H", stdout);
	if (v->tasks->n == 0)
		printf("No tasks yet. Create one with: rover task \"what to do\"\n");
	else
		list_view_print_table(stdout, w->env->store, v->tasks, policy, v->now_ms);
	queue_view_print_gates(stdout, w->env->store->dir, v->now_ms);
	printf("\n⏱ Refreshing every %ds (Ctrl+C to exit)...\n", w->interval_s);
	if (w->so->no_engine)
		printf("ℹ Engine not asked (--no-engine): no container checks, no auto-retries.\n");
	else if (v->scheduler)
		printf("↻ This process schedules auto-retries: paused tasks retry when credits "
		       "reset (up to %d attempts).\n",
		       w->so->policy.max);
	else if (v->scheduler_pid > 0)
		printf("↻ Auto-retries are scheduled by process %d (rover %s).\n",
		       (int)v->scheduler_pid, v->scheduler_role ? v->scheduler_role : "supervise");
	else
		printf("↻ Auto-retries are scheduled by another process.\n");
	if (!v->engine_ok)
		printf("⚠ An engine event stream is down; containers are checked every %ds.\n",
		       SUPERVISE_FALLBACK_MS / 1000);
	if (w->n_recent) {
		printf("\n");
		for (size_t i = 0; i < w->n_recent; i++)
			printf("  %s\n", w->recent[i]);
	}
	fflush(stdout);
}

int cmd_list_watch(struct cmd_env *env, int interval_s, bool json, bool no_engine)
{
	if (interval_s <= 0)
		interval_s = WATCH_DEFAULT_INTERVAL_S;
	_cleanup_error_ struct rv_error *err = NULL;
	const char *image = getenv("ROVER_AGENT_IMAGE");
	struct supervise_opts so = {
		.project = env->project,
		.store = env->store,
		.role = "list --watch",
		.image = image && *image ? image : NULL,
		.no_engine = no_engine,
		.view_interval_ms = interval_s * 1000,
		.on_event = on_event,
		.on_view = on_view,
	};
	struct watch_screen w = {.env = env, .so = &so, .interval_s = interval_s, .json = json};
	so.userdata = &w;
	retry_policy_init(&so.policy, &env->project->settings.retry);
	int rc = CMD_OK;
	if (retry_policy_set_reset_window(&so.policy, getenv("ROVER_RETRY_RESET_WINDOW"), &err) < 0 ||
	    supervise_run(&so, &err) < 0)
		rc = cmd_fail(json, CMD_FAILED, err);
	for (size_t i = 0; i < w.n_recent; i++)
		free(w.recent[i]);
	return rc;
}
