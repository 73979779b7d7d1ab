/*
 * supervise_pauses.h - the pauses the supervisor asks for on its own
 * (taskops_request_pause: the runner pauses after its current step):
 *   - drain mode: every running task, pauseReason drain;
 *   - pause windows (windows.h): a running task a window covers, pauseReason
 *     window, and resumed once no window covers it (within the turn's
 *     resume budget); the loop wakes at the next window boundary;
 *   - stalls: a running task whose status file shows no progress for the
 *     project's stallSeconds gets stallRequest and SIGTERM (task.h turns
 *     the pause into pauseReason stalled, auto-retried).
 * Scheduler only.
 */
#ifndef ROVER_SUPERVISE_PAUSES_H
#define ROVER_SUPERVISE_PAUSES_H

#include <stdbool.h>

#include "supervisor/lib/supervise_state.h"
#include "supervisor/lib/windows.h"

void sv_pauses_drain(struct sv *s);
void sv_pauses_window(struct sv *s);
void sv_pauses_stall(struct sv *s);

/* The pause window covering t, of those marked active, or NULL. */
const struct pause_window *sv_window_of(const struct sv *s, const bool active[WINDOWS_MAX],
					const struct task *t);

#endif
