#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-runner/adapters.h"
#include "agent-runner/agent_tool.h"
#include "agent-runner/checkpoint.h"
#include "agent-runner/classify.h"
#include "agent-runner/condition.h"
#include "agent-runner/eventlog.h"
#include "agent-runner/pause.h"
#include "agent-runner/placeholder.h"
#include "agent-runner/signals.h"
#include "agent-runner/spawn.h"
#include "agent-runner/status.h"
#include "agent-runner/workflow.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/layout.h"
#include "common/sha256.h"
#include "common/timeutil.h"

/* Kept of each output stream of a step (100 000 chars, as the TypeScript rover keeps). */
#define CAPTURE_CAP (100u * 1000u)
/* In-process retries of a transient agent failure. */
#define MAX_TRANSIENT_RETRIES 2

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

	bool exit_now;  /* PAUSE_ACT_EXIT_NOW: stop without a new save */
	bool save_due;  /* PAUSE_ACT_SAVE: the pause's one save is to be made */
	bool last_save_ok;
	char *pause_error;
	char *pause_provider;
	int64_t reset_at_ms;
	char *fail_error;      /* the first failure of the run */
	char *fail_step_id;
	char *current_step;    /* name of the step running now */
	char *save_error;      /* first checkpoint save that failed, or NULL */
	const struct workflow_step *breakpoint; /* the one we wait at, or NULL */
};

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

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void set_str(char **slot, const char *v)
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

static void log_event(struct run *r, const char *level, const char *event,
		      const struct workflow_step *s, struct json_object *extra, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void log_event(struct run *r, const char *level, const char *event,
		      const struct workflow_step *s, struct json_object *extra, const char *fmt, ...)
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
static void say_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say_err(const char *fmt, ...)
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
		say_err("cannot save status: %s", rv_error_msg(*e));
		*e = rv_error_free(*e);
	}
	return rc;
}

/* A checkpoint save after completed work failed: the run must end failed
 * (exit 1) at the next step boundary, never COMPLETED with work that a
 * resume would not know about. */
static void save_failed(struct run *r, const char *what, const struct rv_error *e)
{
	say_err("cannot save checkpoint: %s%s%s", rv_error_msg(e), what ? " " : "",
		what ? what : "");
	if (!r->save_error)
		r->save_error = xasprintf("cannot save checkpoint: %s", rv_error_msg(e));
}

static void status_running(struct run *r, const char *step, int progress)
{
	_cleanup_error_ struct rv_error *e = NULL;
	set_str(&r->current_step, step);
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

static unsigned feed(struct run *r, enum pause_event ev)
{
	return take(r, pause_machine_handle(&r->pm, ev));
}

/* A signal read while no step runs (there is no group to forward it to). */
static void feed_signal(struct run *r, int s)
{
	if (take(r, pause_feed_signal(&r->pm, s)) != PAUSE_ACT_NONE)
		say("⚠ Received %s — saving checkpoint before exit...", strsignal(s));
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
			feed_signal(r, s);
	}
	if (!pause_machine_stopping(&r->pm) && fileio_exists(r->drain_path)) {
		feed(r, PAUSE_EV_DRAIN);
		say("⏸ Pause requested (%s): finishing the current step", LAYOUT_DRAIN_FILE);
	}
}

/* After a step (or before one): true when the run must stop now. */
static bool must_stop(struct run *r)
{
	poll_pause_requests(r);
	if (r->exit_now)
		return true;
	feed(r, PAUSE_EV_STEP_ENDED);
	return pause_machine_stopping(&r->pm);
}

/* ---- outputs ------------------------------------------------------------ */

static void store_outputs(struct run *r, const char *id, struct json_object *outputs)
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
	set_str(&r->pause_error, error);
	set_str(&r->pause_provider, provider);
	int64_t reset = 0;
	if (classify_reset_time(full_text, timeutil_now_ms(), &reset))
		r->reset_at_ms = reset;
	feed(r, PAUSE_EV_RETRYABLE);
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
		feed_signal(r, s);
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
static double spent_usd(const struct run *r)
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
	if (r->o->budget_usd > 0 && spent_usd(r) >= r->o->budget_usd) {
		say("⏸ Cost budget reached: $%.2f spent of $%.2f; step \"%s\" not started",
		    spent_usd(r), r->o->budget_usd, s->name);
		feed(r, PAUSE_EV_BUDGET);
		return STEP_STOP;
	}
	const char *tool = s->tool ? s->tool : r->tool;
	const char *model = s->model ? s->model
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
		say("⚠ Step '%s': unresolved placeholders left in the prompt: %s", s->id, unresolved);
		log_event(r, "warn", "agent_error", s, NULL, "unresolved placeholders: %s", unresolved);
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
		_cleanup_free_ char *msg = xasprintf("step '%s': cannot prepare agent tool '%s': %s",
						     s->id, tool, rv_error_msg(e));
		jsonutil_set_str(outputs, "error", msg);
		if (have_scratch)
			(void)fileio_remove_tree(scratch, NULL);
		return STEP_FAILED;
	}
	int timeout_s = workflow_step_timeout(r->wf, s);
	enum step_outcome outcome = STEP_FAILED;

	for (int attempt = 0;; attempt++) {
		struct spawn_opts so = {.argv = argv,
					.cwd = r->o->workdir,
					.timeout_s = timeout_s,
					.grace_s = r->o->grace_s,
					.capture_cap = CAPTURE_CAP,
					.tee = true,
					.env = env,
					.heartbeat_ms = heartbeat_ms(),
					.heartbeat = on_heartbeat,
					.heartbeat_ud = r};
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
			_cleanup_json_ struct json_object *u =
				adapter_usage_record(checkpoint_store_usage(r->cp), s->id, &rep.usage);
			checkpoint_store_set_usage(r->cp, u);
			status_file_set_usage(r->status, u);
		}
		if (res.exit_code == 0 && !res.timed_out && !(rep.structured && rep.error && !rep.answer)) {
			_cleanup_free_ char *missing = NULL;
			const char *answer = rep.structured && rep.answer ? rep.answer : res.out;
			agent_tool_extract_outputs(s, answer, r->o->output_dir, outputs, &missing);
			jsonutil_set_str(outputs, "raw_output", answer);
			jsonutil_set_str(outputs, "input_prompt", prompt);
			spawn_result_release(&res);
			if (missing) {
				_cleanup_free_ char *msg =
					xasprintf("agent did not produce required outputs: %s", missing);
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
			say("⚠ Transient error detected. Retrying in %llds (attempt %d/%d)...",
			    (long long)(delay / 1000), attempt + 1, MAX_TRANSIENT_RETRIES);
			log_event(r, "warn", "agent_error", s, NULL, "transient error, retrying: %s",
				  error);
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
		log_event(r, "error", cls.code == CLASSIFY_AUTH ? "agent_auth_error"
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
			_cleanup_free_ char *msg = xasprintf("step '%s': %s", s->id, rv_error_msg(e));
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
	struct spawn_opts so = {.argv = argv,
				.cwd = r->o->workdir,
				.timeout_s = timeout_s,
				.grace_s = r->o->grace_s,
				.capture_cap = CAPTURE_CAP,
				.tee = true,
				.env = env,
				.heartbeat_ms = heartbeat_ms(),
				.heartbeat = on_heartbeat,
				.heartbeat_ud = r};
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
		: tail	      ? xstrdup(tail)
			      : xasprintf("Command exited with code %d", res.exit_code);
	jsonutil_set_str(outputs, "error", error);
	bool tempfail = !res.timed_out && classify_command_exit(res.exit_code);
	_cleanup_free_ char *full = xasprintf("%s\n%s", res.err, res.out);
	spawn_result_release(&res);
	if (tempfail) {
		_cleanup_free_ char *msg = xasprintf("Command exited with code 75 (temporary failure)%s%s",
						     tail ? ": " : "", tail ? tail : "");
		return pause_for_retryable(r, s, msg, NULL, full);
	}
	if (s->allow_failure) {
		say("⚠ Step '%s' failed but allows failure: %s", s->id, error);
		return STEP_OK;
	}
	return STEP_FAILED;
}

/* ---- breakpoints ---------------------------------------------------------- */

/* The host's word on a breakpoint (--approve / --approve-timeout), or NULL. */
static struct json_object *approval_of(const struct run *r, const char *id)
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
	struct json_object *a = approval_of(r, s->id);
	if (a) {
		bool timed_out = false;
		jsonutil_get_bool(a, "timedOut", &timed_out);
		const char *msg = jsonutil_get_str(a, "message");
		jsonutil_set_str(outputs, "message", msg ? msg : "");
		jsonutil_set_str(outputs, "approved", timed_out ? "false" : "true");
		jsonutil_set_str(outputs, "timedOut", timed_out ? "true" : "false");
		if (timed_out)
			say("⏭ Breakpoint \"%s\" timed out; continuing (onTimeout: continue)",
			    s->name);
		else
			say("✓ Breakpoint \"%s\" approved%s%s", s->name, msg && *msg ? ": " : "",
			    msg ? msg : "");
		return STEP_OK;
	}
	say("⏸ Breakpoint \"%s\": %s", s->name, s->message);
	say("  Waiting for approval: rover approve %s / rover reject %s",
	    r->o->task_id ? r->o->task_id : "ID", r->o->task_id ? r->o->task_id : "ID");
	r->breakpoint = s;
	feed(r, PAUSE_EV_BREAKPOINT);
	return STEP_STOP;
}

/* ---- conditions ----------------------------------------------------------- */

/* True when the step has an `if` that is false now: it is skipped, with the
 * evaluator's warning (if any) and the TypeScript rover's message. */
static bool skipped_by_condition(struct run *r, const struct workflow_step *s)
{
	if (!s->if_cond)
		return false;
	_cleanup_free_ char *warning = NULL;
	if (condition_eval(s->if_cond, r->steps, &warning))
		return false;
	if (warning)
		say("⚠ %s", warning);
	say("⏭ Skipping step \"%s\" (condition not met)", s->name);
	return true;
}

/* ---- loops ---------------------------------------------------------------- */

static enum step_outcome run_step(struct run *r, const struct workflow_step *s,
				  struct json_object *outputs);

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

static void persist_loop(struct run *r, const struct workflow_step *loop, int iteration,
			 int next, struct json_object *sub_outputs, struct json_object *skipped)
{
	_cleanup_error_ struct rv_error *e = NULL;
	if (checkpoint_store_set_loop_progress(r->cp, loop->id, iteration, next, sub_outputs,
					       skipped, &e) < 0) {
		r->last_save_ok = false;
		say_err("cannot save loop progress for \"%s\": %s", loop->id,
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
		say_err("cannot save loop progress removal for \"%s\": %s", loop->id,
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
			say("⚠ Checkpoint iteration %d exceeds maxIterations %d — restarting loop "
			    "\"%s\"",
			    lp.iteration, max, loop->name);
			clear_loop(r, loop);
		} else if (lp.iteration < 1 || lp.next_sub_step_index < 0 ||
			   (size_t)lp.next_sub_step_index > loop->n_steps) {
			say("⚠ Ignoring invalid checkpoint state for loop \"%s\"", loop->name);
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
					store_outputs(r, id, v);
				} else if (lp.skipped && array_has(lp.skipped, id)) {
					_cleanup_json_ struct json_object *empty =
						json_object_new_object();
					json_object_array_add(skipped, json_object_new_string(id));
					store_outputs(r, id, empty);
				}
			}
			if ((size_t)start_index == loop->n_steps)
				say("↺ Resuming loop \"%s\" at iteration %d, pending until check",
				    loop->name, start_iter);
			else
				say("↺ Resuming loop \"%s\" at iteration %d, sub-step %d", loop->name,
				    start_iter, start_index + 1);
		}
	}

	char *last_error = NULL;
	for (int iter = start_iter; iter <= max; iter++) {
		size_t first = iter == start_iter ? (size_t)start_index : 0;
		for (size_t k = first; k < loop->n_steps; k++) {
			if (must_stop(r)) {
				free(last_error);
				return STEP_STOP;
			}
			const struct workflow_step *sub = &loop->steps[k];
			_cleanup_json_ struct json_object *so = json_object_new_object();
			if (skipped_by_condition(r, sub)) {
				store_outputs(r, sub->id, so);
				json_object_object_add(sub_outputs, sub->id, json_object_get(so));
				if (!array_has(skipped, sub->id))
					json_object_array_add(skipped, json_object_new_string(sub->id));
				persist_loop(r, loop, iter, (int)k + 1, sub_outputs, skipped);
				continue;
			}
			enum step_outcome oc = run_step(r, sub, so);
			if (oc == STEP_STOP) {
				free(last_error);
				return STEP_STOP; /* progress stays before this sub-step */
			}
			store_outputs(r, sub->id, so);
			json_object_object_add(sub_outputs, sub->id, json_object_get(so));
			array_remove(skipped, sub->id);
			if (oc == STEP_FAILED) {
				const char *msg = jsonutil_get_str(so, "error");
				say("⚠ Sub-step \"%s\" failed: %s", sub->id, msg ? msg : "failed");
				set_str(&last_error, msg ? msg : "failed");
			}
			persist_loop(r, loop, iter, (int)k + 1, sub_outputs, skipped);
		}
		_cleanup_free_ char *warning = NULL;
		if (condition_eval(loop->until, r->steps, &warning)) {
			say("✓ Loop condition met, exiting loop");
			clear_loop(r, loop);
			char n[16];
			snprintf(n, sizeof(n), "%d", iter);
			jsonutil_set_str(outputs, "iterations", n);
			jsonutil_set_str(outputs, "condition_met", "true");
			free(last_error);
			return STEP_OK;
		}
		if (warning)
			say("⚠ %s", warning);
		if (iter < max)
			persist_loop(r, loop, iter + 1, 0, sub_outputs, skipped);
	}
	clear_loop(r, loop);
	say("⚠ Loop \"%s\" reached max iterations (%d) without condition being met", loop->name,
	    max);
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

static enum step_outcome run_step(struct run *r, const struct workflow_step *s,
				  struct json_object *outputs)
{
	static const char *const type_names[] = {"agent", "command", "loop", "breakpoint"};
	say("▶ Step \"%s\" (%s)", s->name,
	    (size_t)s->type < ARRAY_SIZE(type_names) ? type_names[s->type] : "?");
	log_event(r, "info", "step_start", s, NULL, "Starting step %s", s->name);
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
		say("✓ Step \"%s\" completed", s->name);
		log_event(r, "info", "step_complete", s, extra, "Step %s completed", s->name);
	} else if (oc == STEP_FAILED) {
		const char *e = jsonutil_get_str(outputs, "error");
		jsonutil_set_str(extra, "error", e);
		say("✗ Step \"%s\" failed: %s", s->name, e ? e : "failed");
		log_event(r, "error", "step_fail", s, extra, "Step %s failed", s->name);
	}
	return oc;
}

/* ---- the top level -------------------------------------------------------- */

/* Restore a completed loop's sub-step outputs recorded at its completion. */
static void restore_nested(struct run *r, const struct workflow_step *loop)
{
	for (size_t k = 0; k < loop->n_steps; k++) {
		const struct workflow_step *sub = &loop->steps[k];
		struct json_object *o = checkpoint_completed_outputs(r->prior, sub->id);
		if (o)
			store_outputs(r, sub->id, o);
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
		set_str(&r->fail_error, error ? error : "step failed");
		set_str(&r->fail_step_id, s->id);
	}
}

static enum step_outcome run_top(struct run *r)
{
	for (size_t i = 0; i < r->wf->n_steps; i++) {
		const struct workflow_step *s = &r->wf->steps[i];
		r->index = i;
		if (must_stop(r))
			return STEP_STOP;
		struct json_object *done = r->prior ? checkpoint_completed_outputs(r->prior, s->id)
						    : NULL;
		if (done) {
			say("⏭ Skipping completed step: %s", s->name);
			store_outputs(r, s->id, done);
			if (s->type == WORKFLOW_STEP_LOOP)
				restore_nested(r, s);
			continue;
		}
		_cleanup_json_ struct json_object *outputs = json_object_new_object();
		if (skipped_by_condition(r, s)) {
			store_outputs(r, s->id, outputs);
			continue;
		}
		status_running(r, s->name, progress_of(i, r->total));
		enum step_outcome oc = run_step(r, s, outputs);
		if (oc == STEP_STOP)
			return STEP_STOP;
		store_outputs(r, s->id, outputs);
		if (oc == STEP_OK) {
			save_completed(r, s->id, outputs);
			if (s->type == WORKFLOW_STEP_LOOP)
				save_nested(r, s);
			if (r->save_error) {
				/* continueOnError does not cover this: the run's own
				 * record is broken, not a step. */
				set_str(&r->fail_error, r->save_error);
				set_str(&r->fail_step_id, s->id);
				return STEP_FAILED;
			}
			status_running(r, s->name, progress_of(i + 1, r->total));
		} else {
			note_failure(r, s, jsonutil_get_str(outputs, "error"));
			if (!r->wf->continue_on_error) {
				_cleanup_free_ char *msg = xasprintf("Workflow stopped due to step failure: %s",
								     r->fail_error);
				set_str(&r->fail_error, msg);
				return STEP_FAILED;
			}
			say("⚠ Continuing after failure (continueOnError)");
		}
	}
	if (must_stop(r))
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
			const char *s = json_object_is_type(v, json_type_string)
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
	if (!approval_of(r, id))
		say("⚠ The checkpoint records breakpoint \"%s\" as passed, but rover did not "
		    "approve it: it waits again",
		    id);
	return false;
}

static int load_checkpoint(struct run *r, struct rv_error **err)
{
	if (!r->o->checkpoint_path)
		return 0;
	if (!fileio_exists(r->o->checkpoint_path)) {
		say("⚠ Checkpoint file not found, running full workflow");
		return 0;
	}
	_cleanup_free_ char *warning = NULL;
	int rc = checkpoint_load(r->o->checkpoint_path, &r->prior, &warning, err);
	if (rc < 0)
		/* Refuse rather than start over: a full rerun would overwrite the
		 * checkpoint at the first completed step and lose what it records. */
		return rv_error_wrap(err, "cannot resume");
	if (warning)
		say("⚠ %s", warning);
	if (strcmp(r->prior->workflow_hash, r->hash) != 0) {
		if (!r->o->allow_workflow_change)
			return rv_error_set(err, EINVAL,
					    "cannot resume: workflow changed since the checkpoint "
					    "(checkpoint %.12s, workflow %.12s); pass "
					    "--allow-workflow-change to resume anyway",
					    r->prior->workflow_hash, r->hash);
		say("⚠ Workflow changed since the checkpoint; resuming anyway "
		    "(--allow-workflow-change)");
	}
	int dropped = checkpoint_drop_unknown(r->prior, keep_known, r->wf);
	if (dropped > 0)
		say("⚠ Dropped %d checkpoint entry(s) referencing steps no longer in the workflow",
		    dropped);
	(void)checkpoint_drop_unknown(r->prior, keep_not_breakpoint, r);
	size_t n = json_object_array_length(r->prior->completed_steps);
	say("🔄 Resuming from checkpoint: %zu step(s) will be skipped", n);
	_cleanup_json_ struct json_object *meta = json_object_new_object();
	_cleanup_json_ struct json_object *extra = json_object_new_object();
	jsonutil_set_int64(meta, "completedSteps", (int64_t)n);
	if (r->prior->failed_step_id)
		jsonutil_set_str(meta, "failedStepId", r->prior->failed_step_id);
	json_object_object_add(extra, "metadata", json_object_get(meta));
	log_event(r, "info", "workflow_resume", NULL, extra, "Resuming from checkpoint");
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
		if (fileio_read_bounded(r->drain_path, LAYOUT_DRAIN_FILE_MAX, &why, NULL, NULL) == 0 && why[0]) {
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
				   spent_usd(r), r->o->budget_usd);
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
		say("⏸ Stopped at once (second SIGINT)");
		return r->last_save_ok ? RUNNER_EXIT_PAUSED : RUNNER_EXIT_FAILED;
	}
	/* No step runs any more: a pause that waited for one goes on to its save. */
	feed(r, PAUSE_EV_STEP_ENDED);
	unsigned act = PAUSE_ACT_NONE;
	if (r->save_due) {
		/* The pause's one checkpoint save (a retryable failure was staged
		 * in memory for it). */
		int rc = checkpoint_store_set_pause(r->cp, reason, r->reset_at_ms, &e);
		act = feed(r, rc < 0 ? PAUSE_EV_SAVE_FAILED : PAUSE_EV_SAVED);
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
		say("⚠ WARNING: %s. Exiting as failed.", why);
		log_event(r, "error", "workflow_fail", NULL, extra, "%s", why);
		return RUNNER_EXIT_FAILED;
	}
	if (r->pm.reason == PAUSE_REASON_APPROVAL && r->breakpoint)
		status_file_set_breakpoint(r->status, r->breakpoint->id);
	/* The pause's one status save, exit code included. */
	warn_status(status_file_pause(r->status, step, msg,
				      r->pm.reason == PAUSE_REASON_RETRYABLE ? r->pause_provider : NULL,
				      reason, r->reset_at_ms, RUNNER_EXIT_PAUSED, &e),
		    &e);
	log_event(r, "warn", "workflow_pause", NULL, extra, "%s", msg);
	if (r->reset_at_ms) {
		char iso[TIMEUTIL_ISO_LEN];
		say("⏸ %s (provider resets at %s)", msg, timeutil_format_iso(r->reset_at_ms, iso));
	} else {
		say("⏸ %s", msg);
	}
	return RUNNER_EXIT_PAUSED;
}

static int finish_failed(struct run *r)
{
	_cleanup_error_ struct rv_error *e = NULL;
	const char *msg = r->fail_error ? r->fail_error : "workflow failed";
	if (checkpoint_store_set_failure(r->cp, r->fail_step_id, msg, false, NULL, &e) < 0) {
		say_err("cannot save checkpoint: %s", rv_error_msg(e));
		e = rv_error_free(e);
	}
	warn_status(status_file_fail(r->status, "Workflow execution", msg, &e), &e);
	_cleanup_json_ struct json_object *extra = json_object_new_object();
	jsonutil_set_str(extra, "error", msg);
	log_event(r, "error", "workflow_fail", NULL, extra, "Workflow failed");
	say("✗ %s", msg);
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
		say_err("the workflow completed but its status could not be saved; exiting as "
			"failed (rover resume finishes it from the checkpoint)");
		say("✗ Workflow completed, but the status file could not be saved");
		return RUNNER_EXIT_FAILED;
	}
	if (checkpoint_store_remove(r->cp, &e) < 0) {
		say("Warning: Failed to clear checkpoint: %s", rv_error_msg(e));
		e = rv_error_free(e);
	}
	log_event(r, "info", "workflow_complete", NULL, NULL, "Workflow completed");
	say("✓ Workflow completed successfully");
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
		say("Warning: cannot open the event log: %s", rv_error_msg(log_err));

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

	log_event(&r, "info", "workflow_start", NULL, NULL, "Starting workflow %s",
		  r.wf->name ? r.wf->name : o->workflow_path);
	say("🚀 Running workflow \"%s\" (%zu steps)", r.wf->name ? r.wf->name : o->workflow_path,
	    workflow_count_steps(r.wf));
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

out_fail_status: {
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
