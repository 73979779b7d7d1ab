/*
 * journal.h - a task's event journal: every transition, in order, once.
 *
 * `<store>/tasks/<id>/events.jsonl` holds one JSON object per line, appended
 * by the host only (the task directory is never mounted in a container):
 *
 *     {"at":"2026-11-25T23:06:59.471Z","taskId":12,"type":"paused",
 *      "iteration":1,"reason":"retryable_error","error":"rate limit ..."}
 *
 * Where the events come from:
 *   - Every change of a task's record goes through task_store_update() or
 *     task_store_create(), under the task's lock.  The store compares the
 *     record's facts before and after (journal_facts_of) and appends what
 *     the change means (journal_changes): created, started, resumed (with
 *     the pause's duration and the checkpoint's age), iteration_started,
 *     paused (with its reason), completed, failed, restarted, merged,
 *     pushed, retry_scheduled, retry_fired, and resume_undone: a resume
 *     that marked the task running and was then rolled back (it failed
 *     before its container ran, or its process died and a later one
 *     settled it, resume.h) puts the task back as it was; that is not a
 *     new pause or failure, and fires no hook.  So no code path that changes a task can
 *     forget to journal it, and the order in the file is the order of the
 *     changes (one lock).
 *   - Decisions that change no record (an account gate closing, say) are
 *     appended by their owner with journal_append().
 *   - Step events come from the runner's own log of each iteration
 *     (iterations/<n>/rover.jsonl, written in the container, hence read
 *     through iterfile.c and taken as data only): step_started, step_done,
 *     step_failed.  journal_read() merges them in, marked "source":"runner".
 *
 * Each event is one write(2) of a whole line to an O_APPEND descriptor,
 * followed by fdatasync: a crash loses at most the event being written, and
 * a torn last line is skipped by the reader.  The journal is an account of
 * what happened, never an input to a decision: losing it changes nothing
 * but what `rover events` can show.  Appending never fails the change it
 * describes (errors are returned to the caller, who may ignore them).
 */
#ifndef ROVER_JOURNAL_H
#define ROVER_JOURNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/task.h"

#define JOURNAL_FILE "events.jsonl"
/* A journal larger than this is read from its last JOURNAL_MAX_BYTES. */
#define JOURNAL_MAX_BYTES (8u << 20)

struct task_store;

/* What a record change is compared on. */
struct journal_facts {
	enum task_status status;
	enum task_pause_reason reason;
	int64_t iteration;
	int64_t retry_count;
	int64_t next_retry_at_ms;
	int64_t paused_at_ms;  /* 0: none */
	char container[72];    /* the container's id ("" none), truncated */
	bool resume_in_flight; /* a resume marked it running (resume.h) */
};

void journal_facts_of(const struct task *t, struct journal_facts *ret);

/* The events that the change before -> after of task t means (a JSON array,
 * possibly empty; "at" and "taskId" are added by journal_append).  before
 * NULL: t was created.  checkpoint_age_ms < 0: unknown.  Pure. */
struct json_object *journal_changes(const struct journal_facts *before, const struct task *t,
				    int64_t now_ms, int64_t checkpoint_age_ms);

/* Append one event (its "type" set by the caller) to task id's journal,
 * adding "at" (now) and "taskId". */
int journal_append(const struct task_store *st, int64_t id, struct json_object *event,
		   struct rv_error **err);

/* A "needs_attention" event (why: the reason) for task id, unless one was
 * journaled since its last "paused" (the supervisor learns it gave up on
 * every start; the journal says it once per pause). */
void journal_needs_attention(const struct task_store *st, int64_t id, const char *why);

/* The change before -> after of t, journaled (task_store's hook). */
void journal_record_change(const struct task_store *st, const struct journal_facts *before,
			   const struct task *t);

/* Task id's events: without with_steps, the journal in the order it was
 * written; with it, merged with the runner's step events of each of its
 * iterations, in order of time (stable).  A JSON array. */
int journal_read(const struct task_store *st, int64_t id, bool with_steps, struct json_object **ret,
		 struct rv_error **err);

#endif
