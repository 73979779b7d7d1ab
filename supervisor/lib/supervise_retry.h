/*
 * supervise_retry.h - auto-retries, as the scheduler runs them (retry.h
 * holds the policy and the record; this module the actions): persist due
 * times, record give-ups, fire a due retry (resume helper, auto mode),
 * settle resumes that died half-way, and time out breakpoints (approval.h).
 * Scheduler only (the holder of the scheduler lock).
 *
 * Firing is left to the queue (supervise_queue.h): sv_retry_schedule_pass
 * only marks a due retry (seen.due), so the account's gate and the free
 * slots are asked first.
 */
#ifndef ROVER_SUPERVISE_RETRY_H
#define ROVER_SUPERVISE_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "supervisor/lib/retry.h"
#include "supervisor/lib/supervise_state.h"

/* Settle the resumes that died half-way (resume_recover).  True when a
 * record changed: the caller lists again. */
bool sv_retry_recover_pass(struct sv *s);

/* Every listed task: persist a due time, mark a due retry, record a
 * give-up, or time out its breakpoint.  Resets and sets s->next_due_wall. */
void sv_retry_schedule_pass(struct sv *s);

/* Fire the retry d of e now.  True when the attempt was given back (the
 * engine could not be reached: nothing started, nothing counted). */
bool sv_retry_fire(struct sv *s, struct task_list_entry *e, struct seen *sn,
		   const struct retry_decision *d);

/* Once per scheduler term: one line per scheduled retry and gate, and a
 * summary. */
void sv_retry_announce(struct sv *s);

/* Put fresh (NULL: nothing) in place of e's task. */
void sv_replace_task(struct task_list_entry *e, struct task *fresh);

/* The provider's reset time of t's limit, from its checkpoint or status
 * file (hostile: iterfile.h), judged against a 7-day horizon; *ret_note
 * (may be NULL) says why a value was ignored. */
int64_t sv_checkpoint_reset_at(const struct task_store *st, const struct task *t, int64_t now_ms,
			       char **ret_note);

#endif
