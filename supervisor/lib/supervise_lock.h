/*
 * supervise_lock.h - who schedules: the scheduler lock of a store and the
 * file that describes its holder (supervise.h, "Exactly one process per
 * store schedules retries").  The public pieces (supervise_lock_try,
 * supervise_draining, supervise_scheduler_info) are declared in
 * supervise.h; these two are the loop's.
 */
#ifndef ROVER_SUPERVISE_LOCK_H
#define ROVER_SUPERVISE_LOCK_H

#include <stdbool.h>

#include "supervisor/lib/supervise_state.h"

/* Write <store>/.supervisor.json {pid, role, host, since[, draining]}
 * atomically; a failure is ignored (the file is informative). */
void sv_info_write(const struct supervise_opts *o, bool draining);

/* Try to become the scheduler (no-op while it is one, or with no_engine);
 * plans the next try in SUPERVISE_LOCK_RETRY_MS.  Taking the lock writes
 * the info file, announces it and asks for a full pass; not taking it says
 * once who schedules instead. */
void sv_lock_try_take(struct sv *s);

#endif
