/*
 * list_view.h - how tasks are shown: the `rover list` table (the TypeScript
 * rover's columns) and the JSON objects of `list --json` / `inspect --json`.
 * Presentation only: the records are not changed.
 */
#ifndef ROVER_LIST_VIEW_H
#define ROVER_LIST_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "supervisor/lib/project.h"
#include "supervisor/lib/task_store.h"

/* What the iteration's status.json adds to a row (read when useful). */
struct list_view_iter {
	int progress;       /* -1: unknown */
	char *current_step; /* NULL: unknown */
	char *provider;     /* NULL: none */
};

void list_view_iter_read(const struct task_store *st, const struct task *t,
			 struct list_view_iter *ret);
/* The same from a status.json already read (NULL: nothing known). */
void list_view_iter_from_status(struct json_object *status, struct list_view_iter *ret);
void list_view_iter_release(struct list_view_iter *it);

/* True when the task is PAUSED for a retryable error and its retry budget
 * is spent: a person must run `rover resume`. */
bool list_view_needs_person(const struct task *t, const struct project_retry *policy);

/* "Paused (claude)", "In Progress", ... into buf. */
const char *list_view_status_label(const struct task *t, const struct list_view_iter *it, char *buf,
				   size_t n);

/* The "Current Step" cell: retry time, the manual-resume hint, the step. */
const char *list_view_step_label(const struct task *t, const struct list_view_iter *it,
				 const struct project_retry *policy, char *buf, size_t n);

/* The SGR colour of a status on a terminal (green done, red failed, yellow
 * paused, cyan running), or NULL (New). */
const char *list_view_status_color(enum task_status s);

/* How the table is printed (tty.h tells what the terminal takes). */
struct list_view_style {
	int width;  /* columns of the terminal; 0: no limit (a pipe or a file) */
	bool color; /* statuses in colour (SGR) */
	bool utf8;  /* else plain ASCII: "..." for the ellipsis, '#' and '.' for
		       the progress bar, '?' for any other non-ASCII character */
};

/* What the rows of a listing want, in display columns. */
struct list_view_want {
	int id, title, agent, workflow, status, step;
	int step_natural; /* the step column without a width limit */
};

/* The width of each column; 0: the column is left out. */
struct list_view_layout {
	int id, title, agent, workflow, status, progress, step, duration;
};

/* Pure: the columns for a terminal of width columns.  width <= 0: the
 * natural widths (title 30, agent 14, workflow 10, status 20, progress 10,
 * step step_natural, duration 8), the same whatever the rows hold.  Else
 * each column is as wide as its widest value (at least its header, at most
 * its natural width), and the title and the step share what is left - up to
 * what they want, at least 10 each, in proportion to what they want when
 * cut.  When that minimum does not fit, Workflow, then Agent, then
 * Progress, then Duration are left out.  The row's width is the sum plus a
 * space between columns. */
void list_view_layout(int width, const struct list_view_want *want, struct list_view_layout *ret);

/* The whole table (header and one row per task; broken tasks as a row that
 * names the problem), laid out by list_view_layout: on a terminal no line
 * is wider than style->width (a cut cell ends with an ellipsis) and never
 * wraps; style NULL: no width limit, no colour, UTF-8. */
void list_view_print_table_styled(FILE *f, const struct task_store *st, const struct task_list *l,
				  const struct project_retry *policy, int64_t now_ms,
				  const struct list_view_style *style);
void list_view_print_table(FILE *f, const struct task_store *st, const struct task_list *l,
			   const struct project_retry *policy, int64_t now_ms);

/* A task as JSON: its record plus progress, currentStep and
 * needsManualResume.  The fields are added to the task's own object (no copy:
 * a listing of 10 000 tasks must not duplicate them), so the task must not be
 * saved afterwards.  Returns a new reference. */
struct json_object *list_view_task_json(const struct task_store *st, struct task *t,
					const struct project_retry *policy);

/* The --json array of a listing as one object (for callers that embed it;
 * list_view_print_json is cheaper for printing).  New reference. */
struct json_object *list_view_json(const struct task_store *st, const struct task_list *l,
				   const struct project_retry *policy);

/* list_view_task_json as compact text (newly allocated, length in *ret_len):
 * exactly what `list --json` prints for the task. */
char *list_view_task_text(const struct task_store *st, struct task *t,
			  const struct project_retry *policy, size_t *ret_len);

/* A listed task as a view shows it: its rendered text (a JSON object of
 * list_view_task_text, or a row of list_view_row_text), or why its record
 * could not be read (text NULL). */
struct list_view_item {
	int64_t id;
	const char *text;
	size_t len;
	struct rv_error *err;
	char *owned; /* text, when not borrowed from a cache */
};

/* What the table shows of a task, as one line of text (the cells escaped
 * for a terminal, the duration and retry time left to the printing):
 * cached by `rover list` like the JSON of `--json` (list_cache.h).  Newly
 * allocated, length in *ret_len. */
char *list_view_row_text(const struct task_store *st, struct task *t,
			 const struct project_retry *policy, size_t *ret_len);

/* The table of items (rows of list_view_row_text), laid out like
 * list_view_print_table_styled.  Into a pipe (style->width 0) each row is
 * printed as it is read; on a terminal a first pass measures the columns.
 * Holds one row at a time. */
void list_view_print_rows(FILE *f, const struct list_view_item *items, size_t n, int64_t now_ms,
			  const struct list_view_style *style);

/* The --json array of items (JSON texts; a broken record as {id, status:
 * null, loadError}). */
void list_view_print_items_json(FILE *f, const struct list_view_item *items, size_t n);

/* Whether the task's row changes with time alone, nothing written (the
 * duration of a task that has started and not ended): a screen without such
 * rows need not be redrawn until something changes. */
bool list_view_row_ticks(const struct task *t);

/* "1h 5m", "3m 2s", "42s" into buf; "-" for negative. */
const char *list_view_duration(int64_t ms, char *buf, size_t n);

#endif
