/*
 * runner.h - `rover-agent run`: execute a workflow step by step, durably.
 *
 * runner_run() loads the workflow, resolves the inputs (inputs file, then -i
 * overrides, then declared defaults), loads the checkpoint to resume from
 * (refusing a changed workflow unless allowed), and runs the steps (reference
 * B.3, B.4, B.8).  After every completed step and loop sub-step the checkpoint
 * is saved (checkpoint.h).  The pause protocol (pause.h) turns a retryable
 * failure, SIGTERM/SIGINT, the drain file or a breakpoint step that the host
 * did not approve into a saved checkpoint, a `paused` status and exit 2.
 *
 * This module is the runner's command layer: it reports progress on stdout
 * (the container log) and events in rover.jsonl; the modules under it do not
 * print.  It returns the process exit code: 0 completed, 1 failed (or a pause
 * whose checkpoint could not be saved), 2 paused.
 */
#ifndef ROVER_RUNNER_H
#define ROVER_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

#define RUNNER_EXIT_COMPLETED 0
#define RUNNER_EXIT_FAILED 1
#define RUNNER_EXIT_PAUSED 2

struct runner_opts {
	const char *workflow_path;
	const char *output_dir;
	const char *task_id;            /* NULL: "local" */
	const char *status_path;        /* NULL: <output>/status.json */
	const char *inputs_json;        /* NULL: none */
	struct json_object *cli_inputs; /* -i k=v, {k: "v"}; borrowed */
	const char *checkpoint_path;    /* NULL: fresh run */
	bool allow_workflow_change;
	const char *agent_tool;  /* NULL: workflow default, else claude */
	const char *agent_model; /* NULL: workflow default */
	const char *workdir;     /* where steps run; NULL: the current directory */
	/* Breakpoints the host let pass, {stepId: {"message": text, "timedOut":
	 * bool}} (--approve, --approve-timeout; borrowed, may be NULL).  Only
	 * these pass: a breakpoint recorded as completed in the checkpoint (a
	 * file the container can write) is never believed. */
	struct json_object *approvals;
	/* The task's cost budget in dollars (--budget-usd; 0: none).  An agent
	 * step is not started once the dollars the agent CLIs reported (the
	 * checkpoint's usage.costUsd, across pauses) reach it: the run pauses
	 * with reason "budget", never auto-retried. */
	double budget_usd;
	bool verbose;
	int grace_s;            /* ROVER_AGENT_GRACE, default 10 */
	int64_t retry_delay_ms; /* ROVER_AGENT_RETRY_DELAY_MS, default 10000 */
};

/* Run the workflow; returns the exit code.  Setup failures (unreadable
 * workflow, bad inputs, a checkpoint that cannot be used) are reported in
 * *err and return RUNNER_EXIT_FAILED. */
int runner_run(const struct runner_opts *opts, struct rv_error **err);

#endif
