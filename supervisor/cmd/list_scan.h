/*
 * list_scan.h - one pass over a store's tasks for a listing view, shared by
 * `rover list --json` and the `rover list` table: each task's rendered text,
 * from the view's cache (list_cache.h) when its record did not change, else
 * from the record, observed first (observe.h) and put back in the cache.
 *
 * Per task, in id order (task_store_ids_sweep: one walk of tasks/, which also
 * removes abandoned deletions as task_store_list does), relative to one
 * descriptor of tasks/ (no absolute path lookups):
 *   - fstatat of description.json; a finished task whose key matches is a
 *     hit (no read);
 *   - a running one whose record and status.json keys both match is a hit
 *     once the engine says its container is alive (one listing per endpoint
 *     for the whole pass, observe_unchanged_running), or cannot tell (the
 *     warning goes to report);
 *   - anything else is loaded and observed like `rover inspect` does
 *     (reconciled, orphan-checked, written under its lock only if it
 *     changed); its text is cached only when the record is still the one
 *     whose key was taken before reading it.
 * Memory: the cache and the texts, never every parsed record at once (only
 * the running tasks that missed are held together, for one engine pass).
 * Nothing is written unless a task changed: the cache only when an entry was
 * added or dropped.
 */
#ifndef ROVER_LIST_SCAN_H
#define ROVER_LIST_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "supervisor/cmd/list_view.h"
#include "supervisor/lib/list_cache.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/task_store.h"

/* The view's text for a task (newly allocated, length in *ret_len). */
typedef char *(*list_scan_render_fn)(const struct task_store *st, struct task *t, void *userdata,
				     size_t *ret_len);

struct list_scan_opts {
	const char *cache_file; /* under the store: LIST_CACHE_FILE, LIST_CACHE_ROWS_FILE */
	const char *view_key;   /* what else the text depends on (list_cache.h) */
	list_scan_render_fn render;
	void *render_data;
	bool no_engine; /* OBSERVE_STATUS_ONLY */
	observe_report_fn report;
	void *report_data;
};

struct list_scan {
	struct list_view_item *items; /* in id order */
	size_t n;
	struct list_cache *cache;
};

void list_scan_run(const struct task_store *st, const struct list_scan_opts *o,
		   struct list_scan *ret);

/* Save the cache (when it changed; a read-only store goes without) and free. */
void list_scan_finish(struct list_scan *s);

#endif
