/*
 * taskview.h - what `rover inspect` shows of one task beyond its record,
 * gathered from the places it lives:
 *
 *   - the account gate of the task's account (gate.h), if it has one,
 *   - the iteration's status file (status.json, written in the container),
 *   - the iteration's checkpoint (checkpoint.json, written in the container),
 *   - the iteration's resume lock (lock.h: who holds it, since when),
 *   - the task's container, asked of the engine the task runs on.
 *
 * Calling sequence: the caller builds the task's JSON (the list's columns),
 * then taskview_add_inspect(st, t, obj) adds to it:
 *
 *   "iterationPath"  the iteration directory
 *   "gate"           {account, label, limitedUntil, task, probeTask}, only
 *                    while the task's account has a gate
 *   "iteration"      status.json as read, or "iterationError" when it cannot
 *                    be read for another reason than not existing
 *   "checkpoint"     {exists, seq, completedSteps: [ids], pauseReason,
 *                    failedStepId, resetAt, resetAtIgnored} or {exists:
 *                    false, error}
 *   "resumeLock"     {pid, ageMs}, only while it is held
 *   "container"      {id, name, state, exitCode, oomKilled} or {id, state:
 *                    "missing"|"unknown", error}, only when the task has one;
 *                    for a task that no longer runs, its recorded
 *                    containerEnd when there is one (the same fields and
 *                    seenAt: how it ended, the engine not asked)
 *
 * Both iteration files are the container's to write: they are read only
 * through iterfile.c, and a checkpoint's resetAt is judged against the
 * retry horizon (retry_reset_check) before it is shown as a time.  The
 * engine is asked with short timeouts (3 s to connect, 10 s in all), so a
 * hung engine delays inspect, never blocks it.  A source that cannot be read
 * is described in the object, never an error: nothing is printed and
 * nothing fails.
 */
#ifndef ROVER_TASKVIEW_H
#define ROVER_TASKVIEW_H

#include <json-c/json.h>

#include "supervisor/lib/task_store.h"

/* The account t runs under (*ret_label, newly allocated, for people) and,
 * while that account has one, its gate: *ret_gate points into *table
 * (gate_table_release it), NULL when there is none.  -1 (nothing to
 * release) when the store's gate table cannot be read. */
struct gate;
struct gate_table;
int taskview_account_gate(const struct task_store *st, const struct task *t,
			  struct gate_table *table, const struct gate **ret_gate, char **ret_label);

void taskview_add_inspect(const struct task_store *st, const struct task *t, struct json_object *o);

#endif
