/*
 * supervise_streams.h - one engine event stream (engine_events.h) per
 * endpoint the store's running or retry-eligible tasks use, filtered to
 * die/destroy/remove of containers labelled rover.store=<store>.  An exit
 * asks for a full pass; a container the engine said ended while its task
 * still looks active is looked at again (SUPERVISE_RECHECK_*).  A stream
 * that ends is reopened with backoff (supervise_reconnect_delay_ms), and a
 * full pass follows every (re)open.
 *
 * The loop owns the descriptors: sv_streams_pollfds adds every open
 * stream's to the loop's one poll(), and sv_streams_dispatch reads them
 * all after it, so no stream waits for another.
 */
#ifndef ROVER_SUPERVISE_STREAMS_H
#define ROVER_SUPERVISE_STREAMS_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "supervisor/lib/supervise_state.h"

/* Open streams for endpoints the tasks of s->list use; prune (s->list is
 * every task): also drop the endpoints none uses. */
void sv_streams_sync(struct sv *s, bool prune);
/* Every stream in use is up. */
bool sv_streams_all_up(const struct sv *s);
/* Reopen the streams whose backoff is over. */
void sv_streams_open_due(struct sv *s, int64_t now_mono);
/* The soonest reopen (monotonic ms), 0: none pending. */
int64_t sv_streams_next_retry(const struct sv *s);

/* Append the open streams' descriptors to fds (room for max more);
 * *ret_timeout_ms is lowered to what the streams need (-1: no limit).
 * Returns how many were added. */
unsigned sv_streams_pollfds(struct sv *s, struct pollfd *fds, unsigned max, int *ret_timeout_ms);
/* After poll(): read every open stream; a stream that ended is closed and
 * planned for reopening. */
void sv_streams_dispatch(struct sv *s);

/* After a full pass: drop the exits whose task is settled and plan the
 * next look at the others. */
void sv_exits_check(struct sv *s);

/* Close and free every stream (end of the run). */
void sv_streams_free(struct sv *s);

#endif
