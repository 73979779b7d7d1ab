#define _GNU_SOURCE
#include "status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"

struct status_file {
	char *path;
	/* The whole document, unknown keys included: they are written back. */
	struct json_object *doc;
	char *current_step;
};

static const char *const known_keys[] = {
	"taskId",      "status",     "currentStep", "progress",    "startedAt", "updatedAt",
	"completedAt", "error",      "provider",    "pauseReason", "resetAt",   "exitCode",
	"usage",       "breakpoint", "heartbeatAt", "outputAt",    NULL,
};

static const char *const statuses[] = {"initializing", "running", "completed",
				       "failed",       "paused",  NULL};

/* stalled: written by the supervisor's resume helper when it puts a stalled
 * task back after a failed retry (the runner never pauses for it). */
static const char *const pause_reasons[] = {"retryable_error", "signal", "user", "approval",
					    "stalled",         "budget", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static void set_time(struct json_object *doc, const char *key, int64_t ms)
{
	char iso[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(doc, key, timeutil_format_iso(ms, iso));
}

static void set_step(struct status_file *sf, const char *step)
{
	if (!step)
		return;
	_cleanup_free_ char *clean = textutil_tail(step, STATUS_MAX_TEXT);
	free(sf->current_step);
	sf->current_step = xstrdup(clean);
	jsonutil_set_str(sf->doc, "currentStep", clean);
}

/* An empty error counts as none. */
static void set_error(struct status_file *sf, const char *error)
{
	if (!error || !*error) {
		json_object_object_del(sf->doc, "error");
		return;
	}
	_cleanup_free_ char *clean = textutil_tail(error, STATUS_MAX_TEXT);
	jsonutil_set_str(sf->doc, "error", clean);
}

static void clear_pause(struct status_file *sf)
{
	json_object_object_del(sf->doc, "provider");
	json_object_object_del(sf->doc, "pauseReason");
	json_object_object_del(sf->doc, "resetAt");
	json_object_object_del(sf->doc, "breakpoint");
}

/* now is taken once per operation, so that the times an operation sets
 * (startedAt, completedAt) equal its updatedAt exactly. */
static int save(struct status_file *sf, int64_t now, struct rv_error **err)
{
	set_time(sf->doc, "updatedAt", now);
	return jsonutil_write_file(sf->path, sf->doc, err);
}

/* A running task's progress (and its heartbeat) only informs: it is
 * replaced atomically but not fsynced.  What a recovery reads - the first
 * write, a pause, a failure, a completion, the exit code - goes through
 * save(), durably, and carries every field the volatile writes set.  A
 * one-step task's run makes three progress writes: six fsyncs saved. */
static int save_progress(struct status_file *sf, int64_t now, struct rv_error **err)
{
	set_time(sf->doc, "updatedAt", now);
	return jsonutil_write_file_volatile(sf->path, sf->doc, err);
}

int status_file_create(const char *path, const char *task_id, const char *step,
		       struct status_file **ret, struct rv_error **err)
{
	struct status_file *sf = xcalloc(1, sizeof(*sf));
	sf->path = xstrdup(path);
	sf->doc = json_object_new_object();

	/* A resumed run rewrites the iteration's status.json: keep what others
	 * added to it.  A file that does not parse is simply replaced. */
	_cleanup_json_ struct json_object *old = NULL;
	if (jsonutil_read_object(path, &old, NULL) == 0) {
		json_object_object_foreach(old, key, val)
		{
			if (!in_list(key, known_keys))
				json_object_object_add(sf->doc, key, json_object_get(val));
		}
	}

	jsonutil_set_str(sf->doc, "taskId", task_id ? task_id : "");
	jsonutil_set_str(sf->doc, "status", "initializing");
	set_step(sf, step ? step : "Starting workflow");
	jsonutil_set_int64(sf->doc, "progress", 0);
	int64_t now = timeutil_now_ms();
	set_time(sf->doc, "startedAt", now);
	int r = save(sf, now, err);
	if (r < 0) {
		status_file_free(sf);
		return r;
	}
	*ret = sf;
	return 0;
}

struct status_file *status_file_free(struct status_file *sf)
{
	if (!sf)
		return NULL;
	json_object_put(sf->doc);
	free(sf->current_step);
	free(sf->path);
	free(sf);
	return NULL;
}

int status_file_update(struct status_file *sf, const char *status, const char *step, int progress,
		       const char *error, struct rv_error **err)
{
	if (!status || !in_list(status, statuses))
		return rv_error_set(err, EINVAL, "invalid status \"%s\" for '%s'",
				    status ? status : "(null)", sf->path);
	jsonutil_set_str(sf->doc, "status", status);
	set_step(sf, step);
	jsonutil_set_int64(sf->doc, "progress", progress < 0 ? 0 : progress > 100 ? 100 : progress);
	set_error(sf, error);
	clear_pause(sf);
	json_object_object_del(sf->doc, "exitCode");
	if (!strcmp(status, "running"))
		return save_progress(sf, timeutil_now_ms(), err);
	return save(sf, timeutil_now_ms(), err);
}

int status_file_complete(struct status_file *sf, const char *step, struct rv_error **err)
{
	jsonutil_set_str(sf->doc, "status", "completed");
	set_step(sf, step);
	jsonutil_set_int64(sf->doc, "progress", 100);
	int64_t now = timeutil_now_ms();
	set_time(sf->doc, "completedAt", now);
	set_error(sf, NULL);
	clear_pause(sf);
	jsonutil_set_int64(sf->doc, "exitCode", 0);
	return save(sf, now, err);
}

int status_file_fail(struct status_file *sf, const char *step, const char *error,
		     struct rv_error **err)
{
	jsonutil_set_str(sf->doc, "status", "failed");
	set_step(sf, step);
	jsonutil_set_int64(sf->doc, "progress", 100);
	int64_t now = timeutil_now_ms();
	set_time(sf->doc, "completedAt", now);
	set_error(sf, error);
	clear_pause(sf);
	jsonutil_set_int64(sf->doc, "exitCode", 1);
	return save(sf, now, err);
}

int status_file_pause(struct status_file *sf, const char *step, const char *error,
		      const char *provider, const char *pause_reason, int64_t reset_at_ms,
		      int exit_code, struct rv_error **err)
{
	if (pause_reason && !in_list(pause_reason, pause_reasons))
		return rv_error_set(err, EINVAL,
				    "pause reason \"%s\" is not retryable_error, signal, user, "
				    "approval, stalled or budget",
				    pause_reason);
	jsonutil_set_str(sf->doc, "status", "paused");
	set_step(sf, step);
	set_error(sf, error);
	jsonutil_set_str(sf->doc, "provider", provider && *provider ? provider : NULL);
	jsonutil_set_str(sf->doc, "pauseReason", pause_reason);
	if (reset_at_ms > 0) {
		char iso[TIMEUTIL_ISO_LEN];
		jsonutil_set_str(sf->doc, "resetAt", timeutil_format_iso(reset_at_ms, iso));
	} else {
		json_object_object_del(sf->doc, "resetAt");
	}
	if (exit_code >= 0)
		jsonutil_set_int64(sf->doc, "exitCode", exit_code);
	else
		json_object_object_del(sf->doc, "exitCode");
	return save(sf, timeutil_now_ms(), err);
}

int status_file_heartbeat(struct status_file *sf, bool output, struct rv_error **err)
{
	char iso[TIMEUTIL_ISO_LEN];
	int64_t now = timeutil_now_ms();
	timeutil_format_iso(now, iso);
	jsonutil_set_str(sf->doc, "heartbeatAt", iso);
	if (output)
		jsonutil_set_str(sf->doc, "outputAt", iso);
	/* Not save(): updatedAt is the time of the last status change. */
	return jsonutil_write_file_volatile(sf->path, sf->doc, err);
}

const char *status_file_current_step(const struct status_file *sf)
{
	return sf ? sf->current_step : NULL;
}

void status_file_set_usage(struct status_file *sf, struct json_object *usage)
{
	if (usage)
		json_object_object_add(sf->doc, "usage", json_object_get(usage));
	else
		json_object_object_del(sf->doc, "usage");
}

void status_file_set_breakpoint(struct status_file *sf, const char *step_id)
{
	jsonutil_set_str(sf->doc, "breakpoint", step_id);
}

/* ---- reading ---------------------------------------------------------- */

static int64_t time_of(struct json_object *doc, const char *key)
{
	int64_t ms = 0;
	const char *v = jsonutil_get_str(doc, key);
	return v && timeutil_parse_iso(v, &ms) ? ms : 0;
}

void status_parse(struct json_object *doc, struct status_view *ret)
{
	*ret = (struct status_view){0};
	if (!doc || !json_object_is_type(doc, json_type_object))
		return;
	ret->status = jsonutil_get_str(doc, "status");
	ret->current_step = jsonutil_get_str(doc, "currentStep");
	ret->error = jsonutil_get_str(doc, "error");
	ret->provider = jsonutil_get_str(doc, "provider");
	ret->pause_reason = jsonutil_get_str(doc, "pauseReason");
	ret->breakpoint = jsonutil_get_str(doc, "breakpoint");
	ret->usage = jsonutil_get_obj(doc, "usage");
	ret->has_progress = jsonutil_get_int64(doc, "progress", &ret->progress);
	ret->has_exit_code = jsonutil_get_int64(doc, "exitCode", &ret->exit_code);
	ret->updated_at_ms = time_of(doc, "updatedAt");
	ret->heartbeat_at_ms = time_of(doc, "heartbeatAt");
	ret->output_at_ms = time_of(doc, "outputAt");
}
