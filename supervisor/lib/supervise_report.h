/*
 * supervise_report.h - what the loop tells its caller (supervise.h,
 * "Reports"): events through on_event, the listing through on_view.
 * Nothing here prints.  The per-task memory the reports need (last status,
 * last warning) is the struct seen array, sorted by id, carried over from
 * pass to pass by sv_report_diff.
 */
#ifndef ROVER_SUPERVISE_REPORT_H
#define ROVER_SUPERVISE_REPORT_H

#include <stdint.h>

#include "supervisor/lib/supervise_state.h"

/* One event of kind about task id (0: none), its message formatted. */
void sv_emit(struct sv *s, enum supervise_event_kind kind, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* ev as filled by the caller; its time is set here. */
void sv_emit_ev(struct sv *s, struct supervise_event *ev);
/* A WARNING, unless it is the one last said for the same task (id <= 0:
 * about no task in particular). */
void sv_warn(struct sv *s, int64_t id, const char *msg);

/* The per-task memory of task id, or NULL (binary search). */
struct seen *sv_seen_find(struct sv *s, int64_t id);
void sv_seen_free_all(struct seen *v, size_t n);

/* The provider a task's limit came from ("claude"), else its agent, else
 * "unknown"; borrowed from t. */
const char *sv_provider_of(const struct task *t);

/* observe_report_fn: observe's warnings wait for the diff (a task marked
 * FAILED is a status change, reported once by the diff). */
void sv_report_on_observe(void *userdata, const char *level, int64_t id, const char *msg);
/* Report the waiting warnings of tasks whose status did not change. */
void sv_report_flush_warnings(struct sv *s);
/* Report status changes (and removed tasks) since the last pass and carry
 * the per-task memory over; the first pass only records.  s->list is the
 * whole listing; only its entries at focus (n_focus ascending indexes; NULL:
 * all) are compared, the others keep what was seen. */
void sv_report_diff(struct sv *s, const size_t *focus, size_t n_focus);
/* on_view with the current listing; plans the next one. */
void sv_report_view(struct sv *s);
/* hooks_report_fn: a HOOK event. */
void sv_report_on_hook(void *userdata, int64_t task_id, const char *msg);

#endif
