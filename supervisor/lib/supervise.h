/*
 * supervise.h - the supervisor loop, shared by `rover supervise` (headless,
 * for systemd) and `rover list --watch` (the same loop with a display).
 *
 * One thread, one poll() over:
 *   - a signalfd for SIGINT and SIGTERM: the loop ends cleanly (0); and
 *     SIGUSR1: drain mode (as opts.drain from the start): every pass asks
 *     each running task to pause after its current step (pauseReason drain,
 *     taskops_request_pause), and schedules nothing - no auto-retry, no
 *     breakpoint timeout; the scheduler adds "draining": true to
 *     .supervisor.json.  Only a restart without drain ends it;
 *   - the task files (watch.h: inotify in its own thread, seen through a
 *     pipe): a status.json or description.json change triggers a pass that
 *     reads the status files (no engine call);
 *   - the engine event stream of every endpoint the store's tasks use
 *     (engine_events.h, its connection polled with the rest; die/destroy of containers labelled
 *     rover.store=<store>): an exit triggers a full pass, so it shows as a
 *     task status change well within a second.  A stream that ends (engine
 *     restarted, socket gone) is reopened with backoff (0.5 s doubling to
 *     30 s); after a reopen the full pass lists and inspects (Docker keeps no
 *     events across a restart), and while a stream is down full passes run
 *     every SUPERVISE_FALLBACK_MS;
 *   - deadlines: the next due retry, the periodic full pass
 *     (SUPERVISE_FULL_INTERVAL_MS, the safety net), the display interval.
 * A pass visits only the tasks that need it - the ones re-read since the
 * last pass, the NEW and running ones, the PAUSED ones while this process
 * schedules (their due times are the deadlines above) - and every task only
 * on the first pass, after lost file events, on a change of scheduler and
 * every SUPERVISE_ALL_INTERVAL_MS (supervise_state.h); its listing is kept
 * and patched (task_live_list_update), so a pass over an unchanged store of
 * any size costs next to nothing.
 * A pass: list the tasks, finish or undo resumes that died half-way
 * (resume_recover; scheduler, full passes), observe them (observe.h: status
 * files; full passes also the containers), report status changes, then
 * schedule: persist due times, record give-ups; for a task waiting at a
 * breakpoint whose timeout passed, fail it or let it go on (approval.h);
 * then the queue (gate.h, admit.h), under the queue lock: close the gate of
 * an account whose task paused on a limit with a reset time, plan the due
 * retries and the queued NEW tasks, fire the retries (resume helper, auto
 * mode) and start the queued tasks (RESUME_START) the plan lets go, record
 * why the others wait, open gates nobody waits for; then stalls: a running
 * task whose status file shows no progress (updatedAt, outputAt, its start)
 * for project stallSeconds gets `stallRequest` and SIGTERM (task.h turns the
 * resulting pause into pauseReason stalled, auto-retried).  A pass starts
 * at most SUPERVISE_MAX_RESUMES_PER_TURN resumes; the rest follow in the
 * next pass, once the loop has read its descriptors.  The modules the loop
 * is made of are listed in supervise_state.h.
 *
 * Exactly one process per store schedules retries: the holder of flock on
 * <store>/.supervisor.lock (taken non-blocking; the kernel drops it when the
 * holder dies).  It describes itself in <store>/.supervisor.json {pid, role,
 * host, since} (written atomically; the lock file itself is never replaced,
 * or a second process could lock a new inode).  The others only observe and
 * display, and try to take over every SUPERVISE_LOCK_RETRY_MS.
 *
 * Reports: on_event gets one event per happening (status changes, warnings
 * - the same warning for a task only once in a row -, retries scheduled,
 * fired, failed, given up - once per task until it changes -, recoveries,
 * engine stream lost/back, scheduler role); on_view gets the listing after
 * each pass and at least every view_interval_ms.  Neither may call back
 * into the loop.  Nothing is printed here.
 */
#ifndef ROVER_SUPERVISE_H
#define ROVER_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/task_store.h"

#define SUPERVISE_LOCK_FILE ".supervisor.lock"
#define SUPERVISE_INFO_FILE ".supervisor.json"
#define SUPERVISE_FULL_INTERVAL_MS 30000
#define SUPERVISE_FALLBACK_MS 5000
/* Every task is visited by a pass at least this often (most passes visit
 * only the changed and the active ones; supervise_state.h). */
#define SUPERVISE_ALL_INTERVAL_MS (10 * 60 * 1000)
#define SUPERVISE_LOCK_RETRY_MS 2000
#define SUPERVISE_RECONNECT_MIN_MS 500
#define SUPERVISE_RECONNECT_MAX_MS 30000
/* A container the engine said ended while its task still looks active is
 * looked at again after 25 ms, doubling, for up to 3 s (the engine's
 * listing may lag its own event). */
#define SUPERVISE_RECHECK_FIRST_MS 25
#define SUPERVISE_RECHECK_FOR_MS 3000
#define SUPERVISE_MAX_PENDING_EXITS 256
/* Most resumes (auto-retries, queued starts, tasks back from a pause
 * window) one pass starts: each starts a container, which takes the engine
 * a second or more, and the loop must not leave its descriptors (signals,
 * engine events) unread that long.  The others wait for the next pass,
 * which follows at once. */
#define SUPERVISE_MAX_RESUMES_PER_TURN 4

enum supervise_event_kind {
	SUPERVISE_STARTED,
	SUPERVISE_SCHEDULER, /* became the scheduler, or learned who is */
	SUPERVISE_STATUS,    /* a task's status changed (from, to) */
	SUPERVISE_WARNING,
	SUPERVISE_RETRY_SCHEDULED, /* at_ms, attempt, max */
	SUPERVISE_RETRY_FIRED,     /* the container of attempt n/max started */
	SUPERVISE_RETRY_FAILED,    /* the resume failed; rescheduled */
	SUPERVISE_RETRY_GAVE_UP,   /* budget spent: a person must resume */
	SUPERVISE_RECOVERED,       /* a resume that died half-way was settled */
	SUPERVISE_ENGINE,          /* an event stream was lost or is back */
	SUPERVISE_STOPPING,
	SUPERVISE_HOOK,             /* a user hook was started, or could not be */
	SUPERVISE_APPROVAL_TIMEOUT, /* a breakpoint's timeout passed: failed or went on */
	SUPERVISE_DRAIN,            /* drain mode began, or a task was asked to pause */
	SUPERVISE_GATE,             /* an account's gate closed or opened (gate.h) */
	SUPERVISE_QUEUE,            /* a queued task started, or work waits */
	SUPERVISE_STALL,            /* a task without progress was paused */
	SUPERVISE_WINDOW,           /* a pause window paused a task, or resumed it */
};

struct supervise_event {
	enum supervise_event_kind kind;
	int64_t time_ms;
	int64_t task_id;     /* 0: not about one task */
	const char *from;    /* STATUS: previous status ("" for a new task) */
	const char *to;      /* STATUS: new status ("" for a removed task) */
	int64_t at_ms;       /* RETRY_SCHEDULED: when */
	int attempt;         /* RETRY_*: the attempt (1-based) */
	int max;             /* RETRY_*: the budget */
	const char *message; /* one line for people */
};

struct supervise_view {
	const struct task_list *tasks;
	bool scheduler;             /* this process schedules retries */
	pid_t scheduler_pid;        /* else: the process that does (0: none known) */
	const char *scheduler_role; /* its role, or NULL */
	bool engine_ok;             /* every engine stream in use is up */
	int64_t now_ms;
};

typedef void (*supervise_event_fn)(void *userdata, const struct supervise_event *ev);
typedef void (*supervise_view_fn)(void *userdata, const struct supervise_view *v);

/* An auto-retry refused for what its checkpoint lacks (a lost workspace, a
 * changed workflow) is not tried again before this long. */
#define SUPERVISE_REFUSED_RETRY_MS (10 * 60 * 1000)

struct supervise_opts {
	const struct project *project;
	const struct task_store *store;
	const char *role; /* "supervise", "list --watch": shown to the others */
	struct retry_policy policy;
	const char *image;         /* image override for resumes (NULL: the task's) */
	bool no_engine;            /* status files only: no engine calls, no retries */
	bool drain;                /* start in drain mode (else SIGUSR1 turns it on) */
	int view_interval_ms;      /* > 0: on_view at least this often */
	const struct hooks *hooks; /* the user's hooks (hooks.h), or NULL */
	supervise_event_fn on_event;
	supervise_view_fn on_view;
	void *userdata;
};

/* Run until SIGINT or SIGTERM (0).  Blocks those two and SIGUSR1 for the
 * process while it runs (restored on return).  Fails only when it cannot
 * start (signalfd, the store's directories). */
int supervise_run(const struct supervise_opts *o, struct rv_error **err);

/* ---- pieces exposed for tests ------------------------------------------- */

/* Take the scheduler lock of store_dir without waiting: *ret_fd >= 0 when
 * taken (close it to release), -1 when another process holds it. */
int supervise_lock_try(const char *store_dir, int *ret_fd, struct rv_error **err);

/* Whether the live scheduler of store_dir is in drain mode
 * (.supervisor.json "draining"). */
bool supervise_draining(const char *store_dir);

/* Who schedules, from <store>/.supervisor.json: false when nobody alive. */
bool supervise_scheduler_info(const char *store_dir, pid_t *ret_pid, char **ret_role);

/* Delay before reopening a stream after `failures` failures in a row:
 * SUPERVISE_RECONNECT_MIN_MS doubling to SUPERVISE_RECONNECT_MAX_MS. */
int64_t supervise_reconnect_delay_ms(int failures);

/* The one-line text of a status change, e.g. "task 7: IN_PROGRESS -> PAUSED
 * (retryable_error, claude): You've hit your limit" (caller frees). */
char *supervise_status_message(const struct task *t, const char *from);

#endif
