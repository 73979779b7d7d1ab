/*
 * taskops.h - what a person does to one task besides creating and resuming
 * it: pause it, stop it, restart it, delete it, read its output.  The
 * commands (supervisor/cmd/cmd_{pause,stop,restart,delete}.c) parse
 * options and print; everything that decides or changes something is here.
 *
 * Calling sequence (every operation but delete):
 *     task_store_load_id(st, id, &t, &err);
 *     observe_task(st, &t, 0, report, ud);        (reconcile it first)
 *     taskops_stop(st, t, &res, &err);             (or pause, restart)
 *     ... res.task is the record as written ...
 *     taskops_stop_result_release(&res);
 *
 * Rules all of them follow:
 *   - The status decides what is allowed (below); a refusal is -EPERM with a
 *     message naming the task and its status, and nothing is touched.
 *   - The engine is the one the task was started on (launch_engine_for_task),
 *     whatever ROVER_ENGINE says now.
 *   - No engine call is made with the task lock held: the outcome is written
 *     afterwards by task_store_update(), which re-reads the record; when the
 *     task moved on meanwhile (another container was started for it) the
 *     outcome is not written and -ESTALE says so.
 *   - The checkpoint is never deleted.  Only restart moves it, aside.
 *
 * Each operation has its own module and header, included here:
 *   taskops_pause.h    pause a running task, or ask it to (no waiting);
 *   taskops_stop.h     stop a task for good (FAILED, resumable);
 *   taskops_restart.h  run the whole workflow again in a fresh container;
 *   taskops_delete.h   remove the task, its containers, worktree and branch.
 * What they share (the engine they open, how an exit is judged) is in
 * taskops_shared.h, internal.
 *
 * Logs: tasklogs.h.
 */
#ifndef ROVER_TASKOPS_H
#define ROVER_TASKOPS_H

#include "supervisor/lib/engine_logs.h"
#include "supervisor/lib/taskops_delete.h"
#include "supervisor/lib/taskops_pause.h"
#include "supervisor/lib/taskops_restart.h"
#include "supervisor/lib/taskops_stop.h"

#endif
