/*
 * task_live.h - a store's listing kept in memory and brought up to date task
 * by task, for a process that lists the store again and again (`rover list
 * --watch`, whose supervisor loop lists it after every change and every few
 * seconds): a change of one task costs the re-read of that one task, not of
 * all of them.
 *
 * Attached to a store (task_store.live), it serves task_store_list(): the
 * first listing reads every task (task_store_list_disk) and is kept; each
 * later one takes what the file watch noted (watch_changes_take, watch.h)
 * and re-reads only those tasks (task_store_list_ids): one that is gone is
 * dropped, a new one inserted.  Everything is read again when:
 *   - no watch runs in this process, or it is another watch than the one the
 *     model was read under (started later, stopped, its thread failed): the
 *     model is then no better than a fresh listing, and is one;
 *   - the watch lost events (IN_Q_OVERFLOW) or noted more than it keeps;
 *   - TASK_LIVE_FULL_MS passed since the last full read (the safety net).
 * Writes of this process (task_store_save, _create, _delete) are noted here
 * at once (task_live_touch): the watch thread sees them a moment later, and
 * the same loop may list again before that (e.g. right after settling a
 * resume) and must see its own write.
 *
 * A task whose directory was listed without its record (being created, see
 * TASK_STORE_CREATE_GRACE_MS) is re-read on every listing until it has one
 * or is reported broken: that changes with time, not with an event.
 *
 * The listing handed out shares the records' JSON with the model (one
 * reference each, json_object_get): cheap, and the caller frees it with
 * task_list_release() as any listing.  A caller must not change a listed
 * record in place (the loop's code replaces entries, never edits them).
 * Not thread-safe: one thread lists.
 */
#ifndef ROVER_TASK_LIVE_H
#define ROVER_TASK_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct task_store;
struct task_list;

/* Everything is read again at least this often. */
#define TASK_LIVE_FULL_MS (10 * 60 * 1000)

struct task_live;

struct task_live *task_live_new(void);
void task_live_free(struct task_live *m); /* NULL-safe */

/* The listing of s as task_store_list() gives it (see above). */
int task_live_list(struct task_live *m, const struct task_store *s, struct task_list *ret,
		   struct rv_error **err);

/* task_live_list() into a listing the caller keeps from call to call:
 * *list (from an earlier call, or zeroed) is patched - the entries of the
 * tasks re-read since its last call (by any listing of the process) are
 * replaced, inserted or removed - rather than handed out
 * anew, so an unchanged store costs nothing.  The caller may replace
 * entries meanwhile (with records it wrote: those are re-read anyway),
 * never reorder them.  Release with task_list_release(). */
int task_live_list_update(struct task_live *m, const struct task_store *s, struct task_list *list,
			  struct rv_error **err);

/* This process changed task id (written, created, removed): re-read it at
 * the next listing. */
void task_live_touch(struct task_live *m, int64_t id);

/* What the listings since the last call re-read, for a caller that keeps
 * facts about each task (the supervisor loop, supervise_state.h): true when
 * they read everything (a full read, or more than WATCH_MAX_NOTED ids) -
 * then every task may have changed; else the ids re-read (sorted, unique;
 * *ret_ids NULL when none; free() it).  Any caller of task_store_list()
 * in the process may have done the listing: the ids are kept until taken.
 * A new model answers true. */
bool task_live_take_changed(struct task_live *m, int64_t **ret_ids, size_t *ret_n);

/* How the last listing was made, for tests and benchmarks: the number of
 * tasks re-read, and whether it was a full read. */
void task_live_last(const struct task_live *m, size_t *ret_read, bool *ret_full);

#endif
