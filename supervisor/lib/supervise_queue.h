/*
 * supervise_queue.h - the queue, under <store>'s queue lock (gate.h,
 * admit.h): close the gate of an account whose task paused on a limit with
 * a reset time, plan the due retries and the queued NEW tasks
 * (queue_plan), fire the retries and start the queued tasks the plan lets
 * go - within the turn's resume budget (supervise_state.h) -, record why
 * the others wait, open gates nobody waits for.  Without gates, queued
 * tasks or retries it takes no lock and reads no file.  Scheduler only.
 */
#ifndef ROVER_SUPERVISE_QUEUE_H
#define ROVER_SUPERVISE_QUEUE_H

#include "supervisor/lib/supervise_state.h"

void sv_queue_pass(struct sv *s);

#endif
