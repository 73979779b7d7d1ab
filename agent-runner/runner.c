/*
 * runner.c - one workflow run (runner.h): setup (inputs, the checkpoint to
 * resume from), the top-level steps in order, pause requests between steps,
 * checkpoint saves, and the endings (completed, paused, failed).  Running a
 * step - agent, command, breakpoint or loop - is runner_step.c.
 */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-runner/checkpoint.h"
#include "agent-runner/condition.h"
#include "agent-runner/eventlog.h"
#include "agent-runner/pause.h"
#include "agent-runner/runner_internal.h"
#include "agent-runner/signals.h"
#include "agent-runner/status.h"
#include "agent-runner/workflow.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/layout.h"
#include "common/sha256.h"
#include "common/timeutil.h"

void runner_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void runner_set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static struct json_object *event_fields(const struct workflow_step *s)
{
	struct json_object *f = json_object_new_object();
	if (s) {
		jsonutil_set_str(f, "stepId", s->id);
		jsonutil_set_str(f, "stepName", s->name);
	}
	return f;
}

void runner_log_event(struct run *r, const char *level, const char *event,
		      const struct workflow_step *s, struct json_object *extra, const char *fmt,
		      ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	_cleanup_json_ struct json_object *f = event_fields(s);
	if (extra) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(f, k, json_object_get(v));
	}
	if (r->log)
		eventlog_emit(r->log, level, event, msg ? msg : "", f);
}

/* On stderr, which the engine keeps with the container's output, so it
 * reaches container.log and `rover logs` even when /output is full and
 * nothing else can be written there (docs/design/checkpoint-format.md,
 * "Save failures"). */
void runner_say_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("rover-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* Status writes during the run only inform: a failed one is reported and
 * the run goes on (the checkpoint is what a resume trusts).  Returns rc. */
static int warn_status(int rc, struct rv_error **e)
{
	if (rc < 0) {
		runner_say_err("cannot save status: %s", rv_error_msg(*e));
		*e = rv_error_free(*e);
	}
	return rc;
}

/* A checkpoint save after completed work failed: the run must end failed
 * (exit 1) at the next step boundary, never COMPLETED with work that a
 * resume would not know about. */
static void save_failed(struct run *r, const char *what, const struct rv_error *e)
{
	runner_say_err("cannot save checkpoint: %s%s%s", rv_error_msg(e), what ? " " : "",
		       what ? what : "");
	if (!r->save_error)
		r->save_error = xasprintf("cannot save checkpoint: %s", rv_error_msg(e));
}

static void status_running(struct run *r, const char *step, int progress)
{
	_cleanup_error_ struct rv_error *e = NULL;
	runner_set_str(&r->current_step, step);
	warn_status(status_file_update(r->status, "running", step, progress, NULL, &e), &e);
}

static int progress_of(size_t done, size_t total)
{
	return total ? (int)floor((double)done * 100.0 / (double)total) : 0;
}

/* ---- pause requests between steps -------------------------------------- */

/* Carry out what the machine answered, as far as it concerns the run: the
 * step's group (forward, grace, kill) is spawn.c's, the exit code
 * (PAUSE_ACT_EXIT_PAUSED/FAILED) finish_paused()'s. */
static unsigned take(struct run *r, unsigned act)
{
	if (act & PAUSE_ACT_EXIT_NOW)
		r->exit_now = true;
	if (act & PAUSE_ACT_SAVE)
		r->save_due = true;
	return act;
}

unsigned runner_feed(struct run *r, enum pause_event ev)
{
	return take(r, pause_machine_handle(&r->pm, ev));
}

/* A signal read while no step runs (there is no group to forward it to). */
void runner_feed_signal(struct run *r, int s)
{
	if (take(r, pause_feed_signal(&r->pm, s)) != PAUSE_ACT_NONE)
		runner_say("⚠ Received %s — saving checkpoint before exit...", strsignal(s));
}

/* Read pending signals and the drain file and feed them to the machine.
 * Called whenever no step runs, so a pause is never missed. */
static void poll_pause_requests(struct run *r)
{
	int s;
	while ((s = signals_next(&r->sig)) != 0) {
		if (s == SIGCHLD)
			signals_reap(-1, NULL);
		else
			runner_feed_signal(r, s);
	}
	if (!pause_machine_stopping(&r->pm) && fileio_exists(r->drain_path)) {
		runner_feed(r, PAUSE_EV_DRAIN);
		runner_say("⏸ Pause requested (%s): finishing the current step",
			   LAYOUT_DRAIN_FILE);
	}
}

/* After a step (or before one): true when the run must stop now. */
bool runner_must_stop(struct run *r)
{
	poll_pause_requests(r);
	if (r->exit_now)
		return true;
	runner_feed(r, PAUSE_EV_STEP_ENDED);
	return pause_machine_stopping(&r->pm);
}

/* ---- outputs ------------------------------------------------------------ */

void runner_store_outputs(struct run *r, const char *id, struct json_object *outputs)
{
	json_object_object_add(r->steps, id, json_object_get(outputs));
}

static void save_completed(struct run *r, const char *id, struct json_object *outputs)
{
	_cleanup_error_ struct rv_error *e = NULL;
	if (checkpoint_store_add_completed(r->cp, id, outputs, &e) < 0) {
		r->last_save_ok = false;
		save_failed(r, "(after a completed step)", e);
	} else {
		r->last_save_ok = true;
	}
}

/* ---- the top level -------------------------------------------------------- */

/* Restore a completed loop's sub-step outputs recorded at its completion. */
static void restore_nested(struct run *r, const struct workflow_step *loop)
{
	for (size_t k = 0; k < loop->n_steps; k++) {
		const struct workflow_step *sub = &loop->steps[k];
		struct json_object *o = checkpoint_completed_outputs(r->prior, sub->id);
		if (o)
			runner_store_outputs(r, sub->id, o);
		if (sub->type == WORKFLOW_STEP_LOOP)
			restore_nested(r, sub);
	}
}

static void save_nested(struct run *r, const struct workflow_step *loop)
{
	for (size_t k = 0; k < loop->n_steps; k++) {
		const struct workflow_step *sub = &loop->steps[k];
		struct json_object *o = NULL;
		if (json_object_object_get_ex(r->steps, sub->id, &o) && o &&
		    json_object_object_length(o) > 0)
			save_completed(r, sub->id, o);
		if (sub->type == WORKFLOW_STEP_LOOP)
			save_nested(r, sub);
	}
}

static void note_failure(struct run *r, const struct workflow_step *s, const char *error)
{
	if (!r->fail_error) {
		runner_set_str(&r->fail_error, error ? error : "step failed");
		runner_set_str(&r->fail_step_id, s->id);
	}
}

static enum step_outcome run_top(struct run *r)
{
	for (size_t i = 0; i < r->wf->n_steps; i++) {
		const struct workflow_step *s = &r->wf->steps[i];
		r->index = i;
		if (runner_must_stop(r))
			return STEP_STOP;
		struct json_object *done =
			r->prior ? checkpoint_completed_outputs(r->prior, s->id) : NULL;
		if (done) {
			runner_say("⏭ Skipping completed step: %s", s->name);
			runner_store_outputs(r, s->id, done);
			if (s->type == WORKFLOW_STEP_LOOP)
				restore_nested(r, s);
			continue;
		}
		_cleanup_json_ struct json_object *outputs = json_object_new_object();
		if (runner_skipped_by_condition(r, s)) {
			runner_store_outputs(r, s->id, outputs);
			continue;
		}
		status_running(r, s->name, progress_of(i, r->total));
		enum step_outcome oc = runner_run_step(r, s, outputs);
		if (oc == STEP_STOP)
			return STEP_STOP;
		runner_store_outputs(r, s->id, outputs);
		if (oc == STEP_OK) {
			save_completed(r, s->id, outputs);
			if (s->type == WORKFLOW_STEP_LOOP)
				save_nested(r, s);
			if (r->save_error) {
				/* continueOnError does not cover this: the run's own
				 * record is broken, not a step. */
				runner_set_str(&r->fail_error, r->save_error);
				runner_set_str(&r->fail_step_id, s->id);
				return STEP_FAILED;
			}
			status_running(r, s->name, progress_of(i + 1, r->total));
		} else {
			note_failure(r, s, jsonutil_get_str(outputs, "error"));
			if (!r->wf->continue_on_error) {
				_cleanup_free_ char *msg = xasprintf(
					"Workflow stopped due to step failure: %s", r->fail_error);
				runner_set_str(&r->fail_error, msg);
				return STEP_FAILED;
			}
			runner_say("⚠ Continuing after failure (continueOnError)");
		}
	}
	if (runner_must_stop(r))
		return STEP_STOP;
	return r->fail_error ? STEP_FAILED : STEP_OK;
}

/* ---- setup ---------------------------------------------------------------- */

static int load_inputs(struct run *r, struct rv_error **err)
{
	r->inputs = json_object_new_object();
	if (r->o->inputs_json) {
		_cleanup_json_ struct json_object *in = NULL;
		int rc = jsonutil_read_object(r->o->inputs_json, &in, err);
		if (rc < 0)
			return rv_error_wrap(err, "cannot read the inputs");
		json_object_object_foreach(in, k, v)
		{
			if (json_object_is_type(v, json_type_null))
				continue;
			const char *s =
				json_object_is_type(v, json_type_string)
					? json_object_get_string(v)
					: json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
			jsonutil_set_str(r->inputs, k, s);
		}
	}
	if (r->o->cli_inputs) {
		json_object_object_foreach(r->o->cli_inputs, k, v)
			jsonutil_set_str(r->inputs, k, json_object_get_string(v));
	}
	for (size_t i = 0; i < r->wf->n_inputs; i++) {
		const struct workflow_input *in = &r->wf->inputs[i];
		const char *have = jsonutil_get_str(r->inputs, in->name);
		if (!have && in->default_value) {
			jsonutil_set_str(r->inputs, in->name, in->default_value);
			have = in->default_value;
		}
		int k = workflow_check_input(in, have, err);
		if (k < 0)
			return k;
	}
	return 0;
}

static bool keep_known(const char *id, void *data)
{
	return workflow_find_step(data, id) != NULL;
}

/* checkpoint.json is in /output, which every step can write: a breakpoint
 * recorded there as passed proves nothing.  Its entry is dropped, and the
 * breakpoint passes again only on the host's approval (run_breakpoint). */
static bool keep_not_breakpoint(const char *id, void *data)
{
	struct run *r = data;
	const struct workflow_step *s = workflow_find_step(r->wf, id);
	if (!s || s->type != WORKFLOW_STEP_BREAKPOINT)
		return true;
	if (!runner_approval_of(r, id))
		runner_say(
			"⚠ The checkpoint records breakpoint \"%s\" as passed, but rover did not "
			"approve it: it waits again",
			id);
	return false;
}

static int load_checkpoint(struct run *r, struct rv_error **err)
{
	if (!r->o->checkpoint_path)
		return 0;
	if (!fileio_exists(r->o->checkpoint_path)) {
		runner_say("⚠ Checkpoint file not found, running full workflow");
		return 0;
	}
	_cleanup_free_ char *warning = NULL;
	int rc = checkpoint_load(r->o->checkpoint_path, &r->prior, &warning, err);
	if (rc < 0)
		/* Refuse rather than start over: a full rerun would overwrite the
		 * checkpoint at the first completed step and lose what it records. */
		return rv_error_wrap(err, "cannot resume");
	if (warning)
		runner_say("⚠ %s", warning);
	if (strcmp(r->prior->workflow_hash, r->hash) != 0) {
		if (!r->o->allow_workflow_change)
			return rv_error_set(err, EINVAL,
					    "cannot resume: workflow changed since the checkpoint "
					    "(checkpoint %.12s, workflow %.12s); pass "
					    "--allow-workflow-change to resume anyway",
					    r->prior->workflow_hash, r->hash);
		runner_say("⚠ Workflow changed since the checkpoint; resuming anyway "
			   "(--allow-workflow-change)");
	}
	int dropped = checkpoint_drop_unknown(r->prior, keep_known, r->wf);
	if (dropped > 0)
		runner_say(
			"⚠ Dropped %d checkpoint entry(s) referencing steps no longer in the workflow",
			dropped);
	(void)checkpoint_drop_unknown(r->prior, keep_not_breakpoint, r);
	size_t n = json_object_array_length(r->prior->completed_steps);
	runner_say("🔄 Resuming from checkpoint: %zu step(s) will be skipped", n);
	_cleanup_json_ struct json_object *meta = json_object_new_object();
	_cleanup_json_ struct json_object *extra = json_object_new_object();
	jsonutil_set_int64(meta, "completedSteps", (int64_t)n);
	if (r->prior->failed_step_id)
		jsonutil_set_str(meta, "failedStepId", r->prior->failed_step_id);
	json_object_object_add(extra, "metadata", json_object_get(meta));
	runner_log_event(r, "info", "workflow_resume", NULL, extra, "Resuming from checkpoint");
	return 0;
}

/* ---- endings -------------------------------------------------------------- */

static const char *pause_message(struct run *r, char **owned)
{
	switch (r->pm.reason) {
	case PAUSE_REASON_SIGNAL:
		*owned = xasprintf("Workflow paused by %s signal",
				   r->pm.signo == SIGINT ? "SIGINT" : "SIGTERM");
		return *owned;
	case PAUSE_REASON_USER: {
		_cleanup_free_ char *why = NULL;
		if (fileio_read_bounded(r->drain_path, LAYOUT_DRAIN_FILE_MAX, &why, NULL, NULL) ==
			    0 &&
		    why[0]) {
			why[strcspn(why, "\n")] = '\0';
			*owned = xasprintf("Workflow paused by user: %s", why);
		} else {
			*owned = xstrdup("Workflow paused by user");
		}
		return *owned;
	}
	case PAUSE_REASON_APPROVAL:
		*owned = xasprintf("Waiting for approval: %s",
				   r->breakpoint ? r->breakpoint->message : "breakpoint");
		return *owned;
	case PAUSE_REASON_BUDGET:
		*owned = xasprintf("Cost budget reached: $%.2f spent of $%.2f (raise it with rover "
				   "resume ID --budget USD)",
				   runner_spent_usd(r), r->o->budget_usd);
		return *owned;
	default:
		return r->pause_error ? r->pause_error : "Usage limit reached";
	}
}

static int finish_paused(struct run *r)
{
	_cleanup_free_ char *owned = NULL;
	const char *msg = pause_message(r, &owned);
	const char *reason = pause_reason_name(r->pm.reason);
	_cleanup_error_ struct rv_error *e = NULL;
	const char *step = r->current_step ? r->current_step : "Workflow execution interrupted";

	if (r->exit_now) {
		/* Second SIGINT: no new save; exit 2 only if what is on disk is
		 * everything that completed. */
		warn_status(status_file_pause(r->status, step, msg, NULL, reason, 0, -1, &e), &e);
		runner_say("⏸ Stopped at once (second SIGINT)");
		return r->last_save_ok ? RUNNER_EXIT_PAUSED : RUNNER_EXIT_FAILED;
	}
	/* No step runs any more: a pause that waited for one goes on to its save. */
	runner_feed(r, PAUSE_EV_STEP_ENDED);
	unsigned act = PAUSE_ACT_NONE;
	if (r->save_due) {
		/* The pause's one checkpoint save (a retryable failure was staged
		 * in memory for it). */
		int rc = checkpoint_store_set_pause(r->cp, reason, r->reset_at_ms, &e);
		act = runner_feed(r, rc < 0 ? PAUSE_EV_SAVE_FAILED : PAUSE_EV_SAVED);
	}
	_cleanup_json_ struct json_object *extra = json_object_new_object();
	_cleanup_json_ struct json_object *meta = json_object_new_object();
	jsonutil_set_str(meta, "reason", reason);
	if (r->pm.signo)
		jsonutil_set_str(meta, "signal", r->pm.signo == SIGINT ? "SIGINT" : "SIGTERM");
	json_object_object_add(extra, "metadata", json_object_get(meta));

	if (!(act & PAUSE_ACT_EXIT_PAUSED)) {
		/* PAUSE_ACT_EXIT_FAILED; anything else would be a pause the table
		 * never asked to save, which must not exit 2 either. */
		_cleanup_free_ char *why = xasprintf(
			"%s, but the checkpoint could not be saved: %s", msg,
			act & PAUSE_ACT_EXIT_FAILED ? rv_error_msg(e) : "no save was made");
		e = rv_error_free(e);
		warn_status(status_file_fail(r->status, step, why, &e), &e);
		runner_say("⚠ WARNING: %s. Exiting as failed.", why);
		runner_log_event(r, "error", "workflow_fail", NULL, extra, "%s", why);
		return RUNNER_EXIT_FAILED;
	}
	if (r->pm.reason == PAUSE_REASON_APPROVAL && r->breakpoint)
		status_file_set_breakpoint(r->status, r->breakpoint->id);
	/* The pause's one status save, exit code included. */
	warn_status(
		status_file_pause(r->status, step, msg,
				  r->pm.reason == PAUSE_REASON_RETRYABLE ? r->pause_provider : NULL,
				  reason, r->reset_at_ms, RUNNER_EXIT_PAUSED, &e),
		&e);
	runner_log_event(r, "warn", "workflow_pause", NULL, extra, "%s", msg);
	if (r->reset_at_ms) {
		char iso[TIMEUTIL_ISO_LEN];
		runner_say("⏸ %s (provider resets at %s)", msg,
			   timeutil_format_iso(r->reset_at_ms, iso));
	} else {
		runner_say("⏸ %s", msg);
	}
	return RUNNER_EXIT_PAUSED;
}

static int finish_failed(struct run *r)
{
	_cleanup_error_ struct rv_error *e = NULL;
	const char *msg = r->fail_error ? r->fail_error : "workflow failed";
	if (checkpoint_store_set_failure(r->cp, r->fail_step_id, msg, false, NULL, &e) < 0) {
		runner_say_err("cannot save checkpoint: %s", rv_error_msg(e));
		e = rv_error_free(e);
	}
	warn_status(status_file_fail(r->status, "Workflow execution", msg, &e), &e);
	_cleanup_json_ struct json_object *extra = json_object_new_object();
	jsonutil_set_str(extra, "error", msg);
	runner_log_event(r, "error", "workflow_fail", NULL, extra, "Workflow failed");
	runner_say("✗ %s", msg);
	return RUNNER_EXIT_FAILED;
}

static int finish_completed(struct run *r)
{
	_cleanup_error_ struct rv_error *e = NULL;
	/* Status first: killed in between, the task reads "completed" with a
	 * checkpoint left over, never "running" with no checkpoint (which a
	 * resume would take as "start from scratch"). */
	if (warn_status(status_file_complete(r->status, "Workflow completed successfully", &e),
			&e) < 0) {
		/* The host would read the stale "running" and a bare exit 0.  The
		 * checkpoint is kept: `rover resume` then finishes without running
		 * any step again. */
		runner_say_err(
			"the workflow completed but its status could not be saved; exiting as "
			"failed (rover resume finishes it from the checkpoint)");
		runner_say("✗ Workflow completed, but the status file could not be saved");
		return RUNNER_EXIT_FAILED;
	}
	if (checkpoint_store_remove(r->cp, &e) < 0) {
		runner_say("Warning: Failed to clear checkpoint: %s", rv_error_msg(e));
		e = rv_error_free(e);
	}
	runner_log_event(r, "info", "workflow_complete", NULL, NULL, "Workflow completed");
	runner_say("✓ Workflow completed successfully");
	return RUNNER_EXIT_COMPLETED;
}

static void run_release(struct run *r)
{
	workflow_free(r->wf);
	json_object_put(r->inputs);
	json_object_put(r->steps);
	checkpoint_free(r->prior);
	checkpoint_store_free(r->cp);
	status_file_free(r->status);
	eventlog_free(r->log);
	if (r->sig.fd >= 0)
		signals_release(&r->sig);
	free(r->drain_path);
	free(r->pause_error);
	free(r->pause_provider);
	free(r->fail_error);
	free(r->fail_step_id);
	free(r->current_step);
	free(r->save_error);
}

int runner_run(const struct runner_opts *o, struct rv_error **err)
{
	struct run r = {.o = o, .last_save_ok = true, .sig = {.fd = -1}};
	int rc, code = RUNNER_EXIT_FAILED;
	_cleanup_free_ char *log_path = fileio_join(o->output_dir, LAYOUT_EVENT_LOG_FILE);
	_cleanup_free_ char *status_default = fileio_join(o->output_dir, LAYOUT_STATUS_FILE);
	_cleanup_free_ char *cp_path = fileio_join(o->output_dir, LAYOUT_CHECKPOINT_FILE);
	_cleanup_error_ struct rv_error *log_err = NULL;
	pause_machine_init(&r.pm);
	r.steps = json_object_new_object();
	r.drain_path = fileio_join(o->output_dir, LAYOUT_DRAIN_FILE);

	if (!fileio_is_dir(o->output_dir)) {
		rc = rv_error_set(err, ENOENT, "the output directory '%s' does not exist",
				  o->output_dir);
		goto out;
	}
	/* Signals first: a SIGTERM that arrives while we load must not kill us
	 * before anything is saved. */
	rc = signals_init(&r.sig, err);
	if (rc < 0)
		goto out;
	const char *task_id = o->task_id ? o->task_id : "local";
	if (eventlog_open(log_path, task_id, &r.log, &log_err) < 0)
		runner_say("Warning: cannot open the event log: %s", rv_error_msg(log_err));

	rc = status_file_create(o->status_path ? o->status_path : status_default, task_id,
				"Starting workflow", &r.status, err);
	if (rc < 0) {
		rv_error_wrap(err, "cannot initialise the status file");
		goto out;
	}
	rc = workflow_load(o->workflow_path, &r.wf, err);
	if (rc < 0)
		goto out_fail_status;
	rc = sha256_file_hex(o->workflow_path, r.hash, err);
	if (rc < 0)
		goto out_fail_status;
	r.tool = o->agent_tool ? o->agent_tool : r.wf->default_tool ? r.wf->default_tool : "claude";
	r.total = r.wf->n_steps;
	rc = load_inputs(&r, err);
	if (rc < 0)
		goto out_fail_status;
	rc = load_checkpoint(&r, err);
	if (rc < 0)
		goto out_fail_status;

	r.cp = checkpoint_store_new(cp_path, r.hash, r.prior);
	/* This run is the only writer of the output dir: temp files are what a
	 * killed predecessor left behind. */
	fileio_remove_stale_temps(o->output_dir, LAYOUT_CHECKPOINT_FILE);
	fileio_remove_stale_temps(o->output_dir, LAYOUT_STATUS_FILE);
	/* A drain file left from a previous run was honoured there. */
	unlink(r.drain_path);

	runner_log_event(&r, "info", "workflow_start", NULL, NULL, "Starting workflow %s",
			 r.wf->name ? r.wf->name : o->workflow_path);
	runner_say("🚀 Running workflow \"%s\" (%zu steps)",
		   r.wf->name ? r.wf->name : o->workflow_path, workflow_count_steps(r.wf));
	status_running(&r, r.prior ? "Resuming workflow" : "Workflow execution", 0);

	switch (run_top(&r)) {
	case STEP_OK:
		code = finish_completed(&r);
		break;
	case STEP_FAILED:
		code = finish_failed(&r);
		break;
	case STEP_STOP:
		code = finish_paused(&r);
		break;
	}
	unlink(r.drain_path);
	goto out;

out_fail_status : {
	_cleanup_error_ struct rv_error *e = NULL;
	warn_status(status_file_fail(r.status, "Starting workflow", rv_error_msg(*err), &e), &e);
	code = RUNNER_EXIT_FAILED;
}
out:
	/* As PID 1 we own every orphan: reap what is left before leaving. */
	if (r.sig.fd >= 0)
		signals_reap(-1, NULL);
	run_release(&r);
	return code;
}
