/*
 * list_view.h - how tasks are shown: the `rover list` table (reference C.6
 * columns) and the JSON objects of `list --json` / `inspect --json`.
 * Presentation only: the records are not changed.
 */
#ifndef ROVER_LIST_VIEW_H
#define ROVER_LIST_VIEW_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "supervisor/lib/project.h"
#include "supervisor/lib/task_store.h"

/* What the iteration's status.json adds to a row (read when useful). */
struct list_view_iter {
	int progress;          /* -1: unknown */
	char *current_step;    /* NULL: unknown */
	char *provider;        /* NULL: none */
};

void list_view_iter_read(const struct task_store *st, const struct task *t,
			 struct list_view_iter *ret);
void list_view_iter_release(struct list_view_iter *it);

/* True when the task is PAUSED for a retryable error and its retry budget
 * is spent: a person must run `rover resume`. */
bool list_view_needs_person(const struct task *t, const struct project_retry *policy);

/* "Paused (claude)", "In Progress", ... into buf. */
const char *list_view_status_label(const struct task *t, const struct list_view_iter *it,
				   char *buf, size_t n);

/* The "Current Step" cell: retry time, the manual-resume hint, the step. */
const char *list_view_step_label(const struct task *t, const struct list_view_iter *it,
				 const struct project_retry *policy, char *buf, size_t n);

/* The whole table (header and one row per task; broken tasks as a row that
 * names the problem). */
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

/* Print the --json array of a listing to f, one element at a time. */
void list_view_print_json(FILE *f, const struct task_store *st, struct task_list *l,
			  const struct project_retry *policy);

/* "1h 5m", "3m 2s", "42s" into buf; "-" for negative. */
const char *list_view_duration(int64_t ms, char *buf, size_t n);

#endif
