/*
 * queue_view.h - how the start queue and the account gates (gate.h,
 * admit.h) are shown: `rover task` of a task that waits, the lines under
 * `rover list`, the lines of `rover inspect`.  Presentation only.
 */
#ifndef ROVER_QUEUE_VIEW_H
#define ROVER_QUEUE_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "supervisor/lib/task_store.h"

/* `rover task` when the task was queued: prints the id (stdout) and why it
 * waits (stderr), or the JSON object with "queued"; CMD_OK. */
int queue_view_task_queued(const struct task_store *st, int64_t id, const struct task *t,
			   bool json);

/* One line per gate of the store, e.g. "claude (key …3f2a): limited until
 * 14:00 (task 7 hit the limit)"; nothing without gates. */
void queue_view_print_gates(FILE *f, const char *store_dir, int64_t now_ms);

/* inspect: "Queued: #2 ..." and the task's account with its gate, if any:
 * gate is the "gate" object taskview_add_inspect() gathered (NULL: none),
 * so the gate table is read once per inspect. */
void queue_view_print_task(FILE *f, const struct task *t, struct json_object *gate, int64_t now_ms);

#endif
