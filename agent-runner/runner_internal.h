/*
 * runner_internal.h - what runner.c (the run: setup, the top level, pause
 * requests, checkpoint saves, endings) and runner_step.c (running one step:
 * an agent, a command, a breakpoint, a loop of steps) share: the state of
 * one run and the helpers each side calls on the other.  Only those two
 * files include it; runner.h is the module's API.
 */
#ifndef ROVER_RUNNER_INTERNAL_H
#define ROVER_RUNNER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "agent-runner/checkpoint.h"
#include "agent-runner/eventlog.h"
#include "agent-runner/pause.h"
#include "agent-runner/runner.h"
#include "agent-runner/signals.h"
#include "agent-runner/status.h"
#include "agent-runner/workflow.h"
#include "common/sha256.h"

enum step_outcome {
	STEP_OK,
	STEP_FAILED,
	STEP_STOP, /* a pause was decided: do not run anything more */
};

struct run {
	const struct runner_opts *o;
	struct workflow *wf;
	char hash[SHA256_HEX_LEN];
	struct json_object *inputs; /* {name: value} */
	struct json_object *steps;  /* {stepId: {output: value}} */
	struct checkpoint *prior;   /* what we resume from, or NULL */
	struct checkpoint_store *cp;
	struct status_file *status;
	struct eventlog *log;
	struct signals sig;
	struct pause_machine pm;
	const char *tool; /* the run's default tool */
	size_t total;     /* top-level steps, for progress */
	size_t index;     /* current top-level step */
	char *drain_path;

	bool exit_now; /* PAUSE_ACT_EXIT_NOW: stop without a new save */
	bool save_due; /* PAUSE_ACT_SAVE: the pause's one save is to be made */
	bool last_save_ok;
	char *pause_error;
	char *pause_provider;
	int64_t reset_at_ms;
	char *fail_error; /* the first failure of the run */
	char *fail_step_id;
	char *current_step;                     /* name of the step running now */
	char *save_error;                       /* first checkpoint save that failed, or NULL */
	const struct workflow_step *breakpoint; /* the one we wait at, or NULL */
};

/* ---- runner.c ---- */

/* A progress line on stdout (the container's log). */
void runner_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "rover-agent: ..." on stderr, which reaches container.log even when
 * /output is full. */
void runner_say_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Replace *slot with a copy of v (NULL: none). */
void runner_set_str(char **slot, const char *v);
/* One event in the run's event log; s (may be NULL) names the step, extra
 * (may be NULL) adds fields. */
void runner_log_event(struct run *r, const char *level, const char *event,
		      const struct workflow_step *s, struct json_object *extra, const char *fmt,
		      ...) __attribute__((format(printf, 6, 7)));
/* Feed the pause machine an event and carry out its answer (pause.h). */
unsigned runner_feed(struct run *r, enum pause_event ev);
/* A signal read while no step runs (there is no group to forward it to). */
void runner_feed_signal(struct run *r, int s);
/* After a step (or before one): true when the run must stop now. */
bool runner_must_stop(struct run *r);
/* Record a step's outputs ({name: value}) for later conditions and
 * placeholders (not in the checkpoint). */
void runner_store_outputs(struct run *r, const char *id, struct json_object *outputs);

/* ---- runner_step.c ---- */

/* Run one step of any kind (a loop runs its sub-steps); outputs gets what it
 * produced.  STEP_STOP: a pause was decided, nothing more may run. */
enum step_outcome runner_run_step(struct run *r, const struct workflow_step *s,
				  struct json_object *outputs);
/* True when the step has an `if` that is false now: it is skipped (and
 * says so). */
bool runner_skipped_by_condition(struct run *r, const struct workflow_step *s);
/* Dollars the agent CLIs reported so far, across pauses (the checkpoint's
 * usage.costUsd; 0 when none reported any). */
double runner_spent_usd(const struct run *r);
/* The host's word on a breakpoint (--approve / --approve-timeout), or NULL. */
struct json_object *runner_approval_of(const struct run *r, const char *id);

#endif
