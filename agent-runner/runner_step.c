/*
 * runner_step.c - running one step of a workflow run (runner_internal.h):
 * an agent (the adapter, in-process retries of transient failures, a pause
 * for retryable ones, the budget), a command, a breakpoint, a loop of steps,
 * and the `if` that may skip any of them.  The run around the steps -
 * setup, the top level, pause requests, checkpoint saves and endings - is
 * runner.c.
 */
#define _GNU_SOURCE
#include "agent-runner/runner_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-runner/adapters.h"
#include "agent-runner/agent_tool.h"
#include "agent-runner/classify.h"
#include "agent-runner/condition.h"
#include "agent-runner/placeholder.h"
#include "agent-runner/spawn.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"

/* Kept of each output stream of a step (100 000 chars, as the TypeScript rover keeps). */
#define CAPTURE_CAP (100u * 1000u)
/* In-process retries of a transient agent failure. */
#define MAX_TRANSIENT_RETRIES 2

/* The heartbeat interval: ROVER_HEARTBEAT_SECONDS (1-3600), else the
 * default.  The supervisor passes the variable on when it judges stalls
 * on a shorter time. */
static int heartbeat_ms(void)
{
	const char *s = getenv("ROVER_HEARTBEAT_SECONDS");
	char *end = NULL;
	long v = s && *s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || v < 1 || v > 3600)
		v = STATUS_HEARTBEAT_DEFAULT_S;
	return (int)v * 1000;
}

static void on_heartbeat(void *userdata, bool output)
{
	struct run *r = userdata;
	_cleanup_error_ struct rv_error *e = NULL;
	/* Like any status update during the run, a failure only informs. */
	(void)status_file_heartbeat(r->status, output, &e);
}

/* How every step's process runs: in the workspace, teed, captured up to
 * CAPTURE_CAP, with the step's timeout and the run's grace and heartbeat. */
static struct spawn_opts step_spawn_opts(struct run *r, char **argv, char *const *env,
					 int timeout_s)
{
	return (struct spawn_opts){.argv = argv,
				   .cwd = r->o->workdir,
				   .timeout_s = timeout_s,
				   .grace_s = r->o->grace_s,
				   .capture_cap = CAPTURE_CAP,
				   .tee = true,
				   .env = env,
				   .heartbeat_ms = heartbeat_ms(),
				   .heartbeat = on_heartbeat,
				   .heartbeat_ud = r};
}

/* The last non-empty lines of a stream, at most max bytes, for error texts. */
static char *tail_text(const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		len--;
	if (len == 0)
		return NULL;
	size_t start = len > max ? len - max : 0;
	return xstrndup(s + start, len - start);
}

/* ---- agent steps ---------------------------------------------------------- */

static const char *provider_of(struct run *r, const struct workflow_step *s)
{
	if (s->tool)
		return s->tool;
	return r->tool;
}

static enum step_outcome pause_for_retryable(struct run *r, const struct workflow_step *s,
					     const char *error, const char *provider,
					     const char *full_text)
{
	/* Saved with the pause fields, in the pause's one save. */
	checkpoint_store_stage_failure(r->cp, s->id, error, true, provider);
	runner_set_str(&r->pause_error, error);
	runner_set_str(&r->pause_provider, provider);
	int64_t reset = 0;
	if (classify_reset_time(full_text, timeutil_now_ms(), &reset))
		r->reset_at_ms = reset;
	runner_feed(r, PAUSE_EV_RETRYABLE);
	return STEP_STOP;
}

/* The text an agent failure is described by: the tool's last words. */
static char *agent_error_text(const struct workflow_step *s, const struct spawn_result *res,
			      int timeout_s, const char *tool)
{
	if (res->timed_out)
		return xasprintf("step '%s' timed out after %ds", s->id, timeout_s);
	if (res->exit_code == 127)
		return xasprintf("agent tool '%s' not found on PATH", tool);
	_cleanup_free_ char *t = tail_text(res->err, 2000);
	if (!t)
		t = tail_text(res->out, 2000);
	if (t)
		return xasprintf("%s", t);
	return xasprintf("agent exited with code %d", res->exit_code);
}

/* Wait for a transient retry; false when a pause was requested meanwhile. */
static bool wait_retry(struct run *r, int64_t delay_ms)
{
	int64_t deadline = timeutil_mono_ms() + delay_ms;
	for (;;) {
		int s = signals_wait_until(&r->sig, deadline);
		if (s == 0)
			return true;
		runner_feed_signal(r, s);
		if (pause_machine_stopping(&r->pm))
			return false;
	}
}

static const char *runner_getenv(const char *name)
{
	return getenv(name);
}

/* Dollars the agent CLIs reported so far, across pauses (the checkpoint's
 * usage.costUsd; 0 when none reported any). */
double runner_spent_usd(const struct run *r)
{
	struct json_object *u = checkpoint_store_usage(r->cp), *c = NULL;
	if (u && json_object_object_get_ex(u, "costUsd", &c) &&
	    (json_object_is_type(c, json_type_double) || json_object_is_type(c, json_type_int)))
		return json_object_get_double(c);
	return 0;
}

static enum step_outcome run_agent(struct run *r, const struct workflow_step *s,
				   struct json_object *outputs)
{
	/* The budget is checked before an agent runs, so a resume whose budget
	 * was not raised pauses again at once, having spent nothing more. */
	if (r->o->budget_usd > 0 && runner_spent_usd(r) >= r->o->budget_usd) {
		runner_say("⏸ Cost budget reached: $%.2f spent of $%.2f; step \"%s\" not started",
			   runner_spent_usd(r), r->o->budget_usd, s->name);
		runner_feed(r, PAUSE_EV_BUDGET);
		return STEP_STOP;
	}
	const char *tool = s->tool ? s->tool : r->tool;
	const char *model = s->model            ? s->model
			    : r->o->agent_model ? r->o->agent_model
						: r->wf->default_model;
	_cleanup_free_ char *prompt = NULL, *unresolved = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (placeholder_resolve(s->prompt, r->inputs, r->steps, PLACEHOLDER_LENIENT, &prompt,
				&unresolved, &e) < 0) {
		jsonutil_set_str(outputs, "error", rv_error_msg(e));
		return STEP_FAILED;
	}
	if (unresolved) {
		runner_say("⚠ Step '%s': unresolved placeholders left in the prompt: %s", s->id,
			   unresolved);
		runner_log_event(r, "warn", "agent_error", s, NULL, "unresolved placeholders: %s",
				 unresolved);
	}
	_cleanup_free_ char *full_prompt = agent_tool_prompt(prompt, s, r->o->output_dir);
	/* The CLI's own settings home (codex, gemini), private to this step. */
	char scratch[] = "/tmp/rover-agent-XXXXXX";
	bool have_scratch = mkdtemp(scratch) != NULL;
	struct adapter_ctx ac = {.tool = tool,
				 .model = model,
				 .as_root = geteuid() == 0,
				 .scratch_dir = have_scratch ? scratch : NULL,
				 .getenv_fn = runner_getenv};
	char **argv = NULL, **env = NULL;
	if (adapter_prepare(&ac, full_prompt, &argv, &env, &e) < 0) {
		_cleanup_free_ char *msg =
			xasprintf("step '%s': cannot prepare agent tool '%s': %s", s->id, tool,
				  rv_error_msg(e));
		jsonutil_set_str(outputs, "error", msg);
		if (have_scratch)
			(void)fileio_remove_tree(scratch, NULL);
		return STEP_FAILED;
	}
	int timeout_s = workflow_step_timeout(r->wf, s);
	enum step_outcome outcome = STEP_FAILED;

	for (int attempt = 0;; attempt++) {
		struct spawn_opts so = step_spawn_opts(r, argv, env, timeout_s);
		struct spawn_result res = {0};
		if (spawn_run(&so, &r->sig, &r->pm, &res, &e) < 0) {
			jsonutil_set_str(outputs, "error", rv_error_msg(e));
			outcome = STEP_FAILED;
			break;
		}
		if (res.exit_now) {
			r->exit_now = true;
			spawn_result_release(&res);
			outcome = STEP_STOP;
			break;
		}
		/* What the CLI said in its structured output: answer, error, reset
		 * time, cost.  Spending counts whether the run worked or not. */
		_cleanup_(adapter_report_release) struct adapter_report rep = {0};
		adapter_parse(tool, res.out, res.err, timeutil_now_ms(), &rep);
		if (rep.structured) {
			_cleanup_json_ struct json_object *u = adapter_usage_record(
				checkpoint_store_usage(r->cp), s->id, &rep.usage);
			checkpoint_store_set_usage(r->cp, u);
			status_file_set_usage(r->status, u);
		}
		if (res.exit_code == 0 && !res.timed_out &&
		    !(rep.structured && rep.error && !rep.answer)) {
			_cleanup_free_ char *missing = NULL;
			const char *answer = rep.structured && rep.answer ? rep.answer : res.out;
			agent_tool_extract_outputs(s, answer, r->o->output_dir, outputs, &missing);
			jsonutil_set_str(outputs, "raw_output", answer);
			jsonutil_set_str(outputs, "input_prompt", prompt);
			spawn_result_release(&res);
			if (missing) {
				_cleanup_free_ char *msg = xasprintf(
					"agent did not produce required outputs: %s", missing);
				jsonutil_set_str(outputs, "error", msg);
				outcome = STEP_FAILED;
			} else {
				outcome = STEP_OK;
			}
			break;
		}
		/* The step ended because we forwarded a pause signal: it did not
		 * fail, it was interrupted, and will run again on resume. */
		if (pause_machine_stopping(&r->pm)) {
			spawn_result_release(&res);
			outcome = STEP_STOP;
			break;
		}
		_cleanup_free_ char *error = rep.error && !res.timed_out
						     ? xstrdup(rep.error)
						     : agent_error_text(s, &res, timeout_s, tool);
		struct adapter_verdict v;
		adapter_judge(&rep, res.out, res.err, error, res.exit_code, res.timed_out, &v);
		struct classify_result cls = v.cls;
		bool transient = v.transient;
		_cleanup_free_ char *full = v.full_text;
		spawn_result_release(&res);
		if (transient && attempt < MAX_TRANSIENT_RETRIES) {
			int64_t delay = r->o->retry_delay_ms << attempt;
			runner_say(
				"⚠ Transient error detected. Retrying in %llds (attempt %d/%d)...",
				(long long)(delay / 1000), attempt + 1, MAX_TRANSIENT_RETRIES);
			runner_log_event(r, "warn", "agent_error", s, NULL,
					 "transient error, retrying: %s", error);
			if (!wait_retry(r, delay)) {
				outcome = STEP_STOP;
				break;
			}
			continue;
		}
		bool retryable = v.retryable;
		jsonutil_set_str(outputs, "error", error);
		jsonutil_set_str(outputs, "error_code", classify_code_name(cls.code));
		jsonutil_set_str(outputs, "error_retryable", retryable ? "true" : "false");
		_cleanup_json_ struct json_object *extra = json_object_new_object();
		jsonutil_set_str(extra, "error", error);
		jsonutil_set_str(extra, "errorCode", classify_code_name(cls.code));
		jsonutil_set_bool(extra, "errorRetryable", retryable);
		runner_log_event(r, "error",
				 cls.code == CLASSIFY_AUTH ? "agent_auth_error"
				 : res.timed_out           ? "agent_timeout"
							   : "agent_error",
				 s, extra, "%s", error);
		if (retryable) {
			outcome = pause_for_retryable(r, s, error, provider_of(r, s), full);
			if (rep.reset_at_ms > 0)
				r->reset_at_ms = rep.reset_at_ms;
		} else {
			outcome = STEP_FAILED;
		}
		break;
	}
	adapter_strv_free(argv);
	adapter_strv_free(env);
	if (have_scratch)
		(void)fileio_remove_tree(scratch, NULL);
	return outcome;
}

/* ---- command steps -------------------------------------------------------- */

static enum step_outcome run_command(struct run *r, const struct workflow_step *s,
				     struct json_object *outputs)
{
	_cleanup_free_ char *cmd = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	/* Values travel in the environment, never in the shell text. */
	char **env = NULL;
	if (placeholder_resolve_env(s->command, r->inputs, r->steps, &cmd, &env, &e) < 0) {
		_cleanup_free_ char *msg = xasprintf("step '%s': %s", s->id, rv_error_msg(e));
		jsonutil_set_str(outputs, "error", msg);
		jsonutil_set_str(outputs, "exit_code", "-1");
		jsonutil_set_str(outputs, "success", "false");
		placeholder_env_free(env);
		return STEP_FAILED;
	}
	for (size_t i = 0; i < s->n_args; i++) {
		_cleanup_free_ char *arg = NULL;
		if (placeholder_resolve(s->args[i], r->inputs, r->steps, PLACEHOLDER_STRICT, &arg,
					NULL, &e) < 0) {
			_cleanup_free_ char *msg =
				xasprintf("step '%s': %s", s->id, rv_error_msg(e));
			jsonutil_set_str(outputs, "error", msg);
			placeholder_env_free(env);
			return STEP_FAILED;
		}
		_cleanup_free_ char *q = placeholder_shell_quote(arg);
		char *joined = xasprintf("%s %s", cmd, q);
		free(cmd);
		cmd = joined;
	}
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
	int timeout_s = workflow_step_timeout(r->wf, s);
	struct spawn_opts so = step_spawn_opts(r, argv, env, timeout_s);
	struct spawn_result res = {0};
	int spawned = spawn_run(&so, &r->sig, &r->pm, &res, &e);
	placeholder_env_free(env);
	if (spawned < 0) {
		jsonutil_set_str(outputs, "error", rv_error_msg(e));
		jsonutil_set_str(outputs, "exit_code", "-1");
		jsonutil_set_str(outputs, "success", "false");
		return STEP_FAILED;
	}
	if (res.exit_now) {
		r->exit_now = true;
		spawn_result_release(&res);
		return STEP_STOP;
	}
	char code[16];
	snprintf(code, sizeof(code), "%d", res.exit_code);
	jsonutil_set_str(outputs, "exit_code", code);
	jsonutil_set_str(outputs, "stdout", res.out);
	jsonutil_set_str(outputs, "stderr", res.err);
	bool ok = res.exit_code == 0 && !res.timed_out;
	jsonutil_set_str(outputs, "success", ok ? "true" : "false");
	if (ok) {
		_cleanup_free_ char *missing = NULL;
		agent_tool_extract_outputs(s, res.out, r->o->output_dir, outputs, &missing);
		spawn_result_release(&res);
		if (missing) {
			_cleanup_free_ char *msg =
				xasprintf("command did not produce required outputs: %s", missing);
			jsonutil_set_str(outputs, "error", msg);
			return STEP_FAILED;
		}
		return STEP_OK;
	}
	if (pause_machine_stopping(&r->pm)) {
		spawn_result_release(&res);
		return STEP_STOP;
	}
	_cleanup_free_ char *tail = tail_text(res.err, 2000);
	_cleanup_free_ char *error =
		res.timed_out ? xasprintf("step '%s' timed out after %ds", s->id, timeout_s)
		: tail        ? xstrdup(tail)
			      : xasprintf("Command exited with code %d", res.exit_code);
	jsonutil_set_str(outputs, "error", error);
	bool tempfail = !res.timed_out && classify_command_exit(res.exit_code);
	_cleanup_free_ char *full = xasprintf("%s\n%s", res.err, res.out);
	spawn_result_release(&res);
	if (tempfail) {
		_cleanup_free_ char *msg =
			xasprintf("Command exited with code 75 (temporary failure)%s%s",
				  tail ? ": " : "", tail ? tail : "");
		return pause_for_retryable(r, s, msg, NULL, full);
	}
	if (s->allow_failure) {
		runner_say("⚠ Step '%s' failed but allows failure: %s", s->id, error);
		return STEP_OK;
	}
	return STEP_FAILED;
}

/* ---- breakpoints ---------------------------------------------------------- */

/* The host's word on a breakpoint (--approve / --approve-timeout), or NULL. */
struct json_object *runner_approval_of(const struct run *r, const char *id)
{
	struct json_object *a = NULL;
	if (r->o->approvals && json_object_object_get_ex(r->o->approvals, id, &a))
		return a;
	return NULL;
}

/* Pass when the host approved it (or let it time out with onTimeout:
 * continue); otherwise pause, reason "approval".  Never from the
 * checkpoint: see load_checkpoint(). */
static enum step_outcome run_breakpoint(struct run *r, const struct workflow_step *s,
					struct json_object *outputs)
{
	struct json_object *a = runner_approval_of(r, s->id);
	if (a) {
		bool timed_out = false;
		jsonutil_get_bool(a, "timedOut", &timed_out);
		const char *msg = jsonutil_get_str(a, "message");
		jsonutil_set_str(outputs, "message", msg ? msg : "");
		jsonutil_set_str(outputs, "approved", timed_out ? "false" : "true");
		jsonutil_set_str(outputs, "timedOut", timed_out ? "true" : "false");
		if (timed_out)
			runner_say(
				"⏭ Breakpoint \"%s\" timed out; continuing (onTimeout: continue)",
				s->name);
		else
			runner_say("✓ Breakpoint \"%s\" approved%s%s", s->name,
				   msg && *msg ? ": " : "", msg ? msg : "");
		return STEP_OK;
	}
	runner_say("⏸ Breakpoint \"%s\": %s", s->name, s->message);
	runner_say("  Waiting for approval: rover approve %s / rover reject %s",
		   r->o->task_id ? r->o->task_id : "ID", r->o->task_id ? r->o->task_id : "ID");
	r->breakpoint = s;
	runner_feed(r, PAUSE_EV_BREAKPOINT);
	return STEP_STOP;
}

/* ---- conditions ----------------------------------------------------------- */

/* True when the step has an `if` that is false now: it is skipped, with the
 * evaluator's warning (if any) and the TypeScript rover's message. */
bool runner_skipped_by_condition(struct run *r, const struct workflow_step *s)
{
	if (!s->if_cond)
		return false;
	_cleanup_free_ char *warning = NULL;
	if (condition_eval(s->if_cond, r->steps, &warning))
		return false;
	if (warning)
		runner_say("⚠ %s", warning);
	runner_say("⏭ Skipping step \"%s\" (condition not met)", s->name);
	return true;
}

/* ---- loops ---------------------------------------------------------------- */

static bool array_has(struct json_object *arr, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), id))
			return true;
	return false;
}

static void array_remove(struct json_object *arr, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), id)) {
			json_object_array_del_idx(arr, i, 1);
			return;
		}
}

static void persist_loop(struct run *r, const struct workflow_step *loop, int iteration, int next,
			 struct json_object *sub_outputs, struct json_object *skipped)
{
	_cleanup_error_ struct rv_error *e = NULL;
	if (checkpoint_store_set_loop_progress(r->cp, loop->id, iteration, next, sub_outputs,
					       skipped, &e) < 0) {
		r->last_save_ok = false;
		runner_say_err("cannot save loop progress for \"%s\": %s", loop->id,
			       rv_error_msg(e));
	} else {
		r->last_save_ok = true;
	}
}

static void clear_loop(struct run *r, const struct workflow_step *loop)
{
	_cleanup_error_ struct rv_error *e = NULL;
	if (checkpoint_store_clear_loop_progress(r->cp, loop->id, &e) < 0) {
		r->last_save_ok = false;
		runner_say_err("cannot save loop progress removal for \"%s\": %s", loop->id,
			       rv_error_msg(e));
	}
}

static enum step_outcome run_loop(struct run *r, const struct workflow_step *loop,
				  struct json_object *outputs)
{
	int max = workflow_loop_max_iterations(r->wf, loop);
	int start_iter = 1, start_index = 0;
	_cleanup_json_ struct json_object *sub_outputs = json_object_new_object();
	_cleanup_json_ struct json_object *skipped = json_object_new_array();
	struct checkpoint_loop_progress lp;

	if (checkpoint_loop_progress(checkpoint_store_get(r->cp), loop->id, &lp)) {
		if (lp.iteration > max) {
			runner_say(
				"⚠ Checkpoint iteration %d exceeds maxIterations %d — restarting loop "
				"\"%s\"",
				lp.iteration, max, loop->name);
			clear_loop(r, loop);
		} else if (lp.iteration < 1 || lp.next_sub_step_index < 0 ||
			   (size_t)lp.next_sub_step_index > loop->n_steps) {
			runner_say("⚠ Ignoring invalid checkpoint state for loop \"%s\"",
				   loop->name);
			clear_loop(r, loop);
		} else {
			start_iter = lp.iteration;
			start_index = lp.next_sub_step_index;
			for (size_t k = 0; k < loop->n_steps; k++) {
				const char *id = loop->steps[k].id;
				struct json_object *v = NULL;
				if (lp.sub_step_outputs &&
				    json_object_object_get_ex(lp.sub_step_outputs, id, &v)) {
					json_object_object_add(sub_outputs, id, json_object_get(v));
					runner_store_outputs(r, id, v);
				} else if (lp.skipped && array_has(lp.skipped, id)) {
					_cleanup_json_ struct json_object *empty =
						json_object_new_object();
					json_object_array_add(skipped, json_object_new_string(id));
					runner_store_outputs(r, id, empty);
				}
			}
			if ((size_t)start_index == loop->n_steps)
				runner_say(
					"↺ Resuming loop \"%s\" at iteration %d, pending until check",
					loop->name, start_iter);
			else
				runner_say("↺ Resuming loop \"%s\" at iteration %d, sub-step %d",
					   loop->name, start_iter, start_index + 1);
		}
	}

	char *last_error = NULL;
	for (int iter = start_iter; iter <= max; iter++) {
		size_t first = iter == start_iter ? (size_t)start_index : 0;
		for (size_t k = first; k < loop->n_steps; k++) {
			if (runner_must_stop(r)) {
				free(last_error);
				return STEP_STOP;
			}
			const struct workflow_step *sub = &loop->steps[k];
			_cleanup_json_ struct json_object *so = json_object_new_object();
			if (runner_skipped_by_condition(r, sub)) {
				runner_store_outputs(r, sub->id, so);
				json_object_object_add(sub_outputs, sub->id, json_object_get(so));
				if (!array_has(skipped, sub->id))
					json_object_array_add(skipped,
							      json_object_new_string(sub->id));
				persist_loop(r, loop, iter, (int)k + 1, sub_outputs, skipped);
				continue;
			}
			enum step_outcome oc = runner_run_step(r, sub, so);
			if (oc == STEP_STOP) {
				free(last_error);
				return STEP_STOP; /* progress stays before this sub-step */
			}
			runner_store_outputs(r, sub->id, so);
			json_object_object_add(sub_outputs, sub->id, json_object_get(so));
			array_remove(skipped, sub->id);
			if (oc == STEP_FAILED) {
				const char *msg = jsonutil_get_str(so, "error");
				runner_say("⚠ Sub-step \"%s\" failed: %s", sub->id,
					   msg ? msg : "failed");
				runner_set_str(&last_error, msg ? msg : "failed");
			}
			persist_loop(r, loop, iter, (int)k + 1, sub_outputs, skipped);
		}
		_cleanup_free_ char *warning = NULL;
		if (condition_eval(loop->until, r->steps, &warning)) {
			runner_say("✓ Loop condition met, exiting loop");
			clear_loop(r, loop);
			char n[16];
			snprintf(n, sizeof(n), "%d", iter);
			jsonutil_set_str(outputs, "iterations", n);
			jsonutil_set_str(outputs, "condition_met", "true");
			free(last_error);
			return STEP_OK;
		}
		if (warning)
			runner_say("⚠ %s", warning);
		if (iter < max)
			persist_loop(r, loop, iter + 1, 0, sub_outputs, skipped);
	}
	clear_loop(r, loop);
	runner_say("⚠ Loop \"%s\" reached max iterations (%d) without condition being met",
		   loop->name, max);
	char n[16];
	snprintf(n, sizeof(n), "%d", max);
	jsonutil_set_str(outputs, "iterations", n);
	jsonutil_set_str(outputs, "condition_met", "false");
	_cleanup_free_ char *msg =
		last_error ? xstrdup(last_error)
			   : xasprintf("Loop condition not met after %d iterations", max);
	jsonutil_set_str(outputs, "error", msg);
	free(last_error);
	return STEP_FAILED;
}

enum step_outcome runner_run_step(struct run *r, const struct workflow_step *s,
				  struct json_object *outputs)
{
	static const char *const type_names[] = {"agent", "command", "loop", "breakpoint"};
	runner_say("▶ Step \"%s\" (%s)", s->name,
		   (size_t)s->type < ARRAY_SIZE(type_names) ? type_names[s->type] : "?");
	runner_log_event(r, "info", "step_start", s, NULL, "Starting step %s", s->name);
	int64_t t0 = timeutil_mono_ms();
	enum step_outcome oc;
	switch (s->type) {
	case WORKFLOW_STEP_AGENT:
		oc = run_agent(r, s, outputs);
		break;
	case WORKFLOW_STEP_COMMAND:
		oc = run_command(r, s, outputs);
		break;
	case WORKFLOW_STEP_BREAKPOINT:
		oc = run_breakpoint(r, s, outputs);
		break;
	default:
		oc = run_loop(r, s, outputs);
		break;
	}
	_cleanup_json_ struct json_object *extra = json_object_new_object();
	jsonutil_set_int64(extra, "duration", timeutil_mono_ms() - t0);
	if (oc == STEP_OK) {
		runner_say("✓ Step \"%s\" completed", s->name);
		runner_log_event(r, "info", "step_complete", s, extra, "Step %s completed",
				 s->name);
	} else if (oc == STEP_FAILED) {
		const char *e = jsonutil_get_str(outputs, "error");
		jsonutil_set_str(extra, "error", e);
		runner_say("✗ Step \"%s\" failed: %s", s->name, e ? e : "failed");
		runner_log_event(r, "error", "step_fail", s, extra, "Step %s failed", s->name);
	}
	return oc;
}
