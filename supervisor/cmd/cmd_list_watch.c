/* rover list --watch [SECONDS]: the live table over the supervisor loop. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/textutil.h"
#include "common/tty.h"
#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/hooks.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/supervise.h"
#include "supervisor/lib/task_live.h"

#define WATCH_DEFAULT_INTERVAL_S 3
/* Recent supervisor events shown under the table. */
#define WATCH_RECENT 5
/* Task rows drawn on a terminal however small. */
#define WATCH_MIN_ROWS 5

struct watch_screen {
	const struct cmd_env *env;
	struct supervise_opts *so;
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
	char *line =
		xasprintf("%s %s%s", timeutil_format_hhmm(ev->time_ms, hhmm),
			  ev->kind == SUPERVISE_WARNING ? (tty_utf8() ? "⚠ " : "! ") : "", msg);
	if (w->n_recent == WATCH_RECENT) {
		free(w->recent[0]);
		memmove(w->recent, w->recent + 1, (WATCH_RECENT - 1) * sizeof(w->recent[0]));
		w->n_recent--;
	}
	w->recent[w->n_recent++] = line;
}

/* One line under the table, cut to the terminal's width (never wrapped)
 * and ASCII outside a UTF-8 locale. */
__attribute__((format(printf, 2, 3))) static void footer(const struct list_view_style *style,
							 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *line = xvasprintf(fmt, ap);
	va_end(ap);
	if (style->width <= 0 && style->utf8) {
		puts(line);
		return;
	}
	_cleanup_free_ char *fit = textutil_fit(line, style->width > 0 ? style->width : INT_MAX / 2,
						style->utf8, false);
	puts(fit);
}

/* The lines under the table: the refresh, who schedules, the engine. */
static void print_footers(const struct watch_screen *w, const struct supervise_view *v,
			  const struct list_view_style *style)
{
	bool u = style->utf8;
	footer(style, "%sRefreshing every %ds (Ctrl+C to exit)...", u ? "⏱ " : "", w->interval_s);
	if (w->so->no_engine)
		footer(style,
		       "%sEngine not asked (--no-engine): no container checks, no "
		       "auto-retries.",
		       u ? "ℹ " : "");
	else if (v->scheduler)
		footer(style,
		       "%sThis process schedules auto-retries: paused tasks retry when "
		       "credits reset (up to %d attempts).",
		       u ? "↻ " : "", w->so->policy.max);
	else if (v->scheduler_pid > 0)
		footer(style, "%sAuto-retries are scheduled by process %d (rover %s).",
		       u ? "↻ " : "", (int)v->scheduler_pid,
		       v->scheduler_role ? v->scheduler_role : "supervise");
	else
		footer(style, "%sAuto-retries are scheduled by another process.", u ? "↻ " : "");
	if (!v->engine_ok)
		footer(style, "%sAn engine event stream is down; containers are checked every %ds.",
		       u ? "⚠ " : "! ", SUPERVISE_FALLBACK_MS / 1000);
}

/* On a terminal, the newest tasks that fit on the screen with the lines
 * around them (the older ones would scroll away unseen, and drawing 10,000
 * rows per change costs more than everything else the watch does); else
 * all of them.  *ret_hidden: how many were left out. */
static struct task_list visible_tasks(const struct task_list *l, unsigned rows,
				      unsigned other_lines, size_t *ret_hidden)
{
	*ret_hidden = 0;
	if (rows == 0)
		return *l;
	/* The header, the "older tasks" line, and at least a few rows. */
	size_t fit =
		rows > other_lines + 2 + WATCH_MIN_ROWS ? rows - other_lines - 2 : WATCH_MIN_ROWS;
	if (l->n <= fit + 1)
		return *l;
	*ret_hidden = l->n - fit;
	return (struct task_list){.entries = l->entries + (l->n - fit), .n = fit};
}

/* The gates' lines, counted before the table is drawn. */
static char *gates_text(const char *store_dir, int64_t now_ms, unsigned *ret_lines)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return xstrdup("");
	queue_view_print_gates(f, store_dir, now_ms);
	fclose(f);
	*ret_lines = 0;
	for (size_t i = 0; i < len; i++)
		*ret_lines += buf[i] == '\n';
	return buf;
}

/* On a terminal the timer redraws only a screen that would look different:
 * one with a row whose duration runs, or a gate's line.  Otherwise the next
 * frame comes with the next change, and an idle watch does no work.  The
 * loop reads view_interval_ms after each on_view.  A pipe keeps its frame
 * every interval (a log of the screen). */
static void set_timer(struct watch_screen *w, bool tty, const struct task_list *shown,
		      unsigned gate_lines)
{
	bool ticks = !tty || gate_lines > 0;
	for (size_t i = 0; i < shown->n && !ticks; i++)
		ticks = shown->entries[i].task && list_view_row_ticks(shown->entries[i].task);
	w->so->view_interval_ms = ticks ? w->interval_s * 1000 : 0;
}

static void on_view_json(struct watch_screen *w, const struct supervise_view *v)
{
	const struct project_retry *policy = &w->env->project->settings.retry;
	_cleanup_json_ struct json_object *arr = list_view_json(w->env->store, v->tasks, policy);
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

static void on_view(void *userdata, const struct supervise_view *v)
{
	struct watch_screen *w = userdata;
	if (w->json) {
		on_view_json(w, v);
		return;
	}
	/* A terminal is redrawn; a pipe or file gets one frame after another,
	 * without screen codes. */
	bool tty = isatty(STDOUT_FILENO);
	struct list_view_style style = {.width = tty_columns(STDOUT_FILENO),
					.color = tty_color(STDOUT_FILENO),
					.utf8 = tty_utf8()};
	unsigned rows = 0, cols = 0, gate_lines = 0;
	if (tty) {
		fputs("\033[2J\033[H", stdout);
		if (!tty_size(STDOUT_FILENO, &rows, &cols))
			rows = 0;
	} else {
		char iso[TIMEUTIL_ISO_LEN];
		printf("---- %s ----\n", timeutil_format_iso(v->now_ms, iso));
	}
	_cleanup_free_ char *gates = gates_text(w->env->store->dir, v->now_ms, &gate_lines);
	unsigned other = gate_lines + 1 + 3 + (w->n_recent ? (unsigned)w->n_recent + 1 : 0);
	size_t hidden = 0;
	struct task_list shown = visible_tasks(v->tasks, rows, other, &hidden);
	set_timer(w, tty, &shown, gate_lines);
	if (v->tasks->n == 0)
		printf("No tasks yet. Create one with: rover task \"what to do\"\n");
	else
		list_view_print_table_styled(stdout, w->env->store, &shown,
					     &w->env->project->settings.retry, v->now_ms, &style);
	if (hidden)
		footer(&style, "(%zu older tasks above; rover list shows them all)", hidden);
	fputs(gates, stdout);
	printf("\n");
	print_footers(w, v, &style);
	if (w->n_recent) {
		printf("\n");
		for (size_t i = 0; i < w->n_recent; i++)
			footer(&style, "  %s", w->recent[i]);
	}
	fflush(stdout);
}

int cmd_list_watch(struct cmd_env *env, int interval_s, bool json, bool no_engine)
{
	if (interval_s <= 0)
		interval_s = WATCH_DEFAULT_INTERVAL_S;
	_cleanup_error_ struct rv_error *err = NULL;
	struct hooks hooks;
	int loaded = cmd_load_hooks(env, json, &hooks);
	if (loaded >= 0)
		return loaded;
	const char *image = getenv("ROVER_AGENT_IMAGE");
	struct supervise_opts so = {
		.project = env->project,
		.store = env->store,
		.hooks = &hooks,
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
	/* The loop lists the store after every change: from memory, re-reading
	 * only the tasks the file watch names (task_live.h). */
	env->store->live = task_live_new();
	if (retry_policy_set_reset_window(&so.policy, getenv("ROVER_RETRY_RESET_WINDOW"), &err) <
		    0 ||
	    supervise_run(&so, &err) < 0)
		rc = cmd_fail(json, CMD_FAILED, err);
	task_live_free(env->store->live);
	env->store->live = NULL;
	for (size_t i = 0; i < w.n_recent; i++)
		free(w.recent[i]);
	hooks_release(&hooks);
	return rc;
}
