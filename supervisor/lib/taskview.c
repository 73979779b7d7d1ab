#define _GNU_SOURCE
#include "taskview.h"

#include <errno.h>

#include "agent-runner/checkpoint.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/retry.h"

int taskview_account_gate(const struct task_store *st, const struct task *t,
			  struct gate_table *table, const struct gate **ret_gate, char **ret_label)
{
	_cleanup_free_ char *key = NULL, *label = NULL;
	admit_account_of_task(t, &key, &label);
	*table = (struct gate_table){0};
	if (gate_table_load(st->dir, table, NULL) < 0)
		return -1;
	*ret_gate = gate_find(table, key);
	*ret_label = TAKE_PTR(label);
	return 0;
}

static void add_gate(const struct task_store *st, const struct task *t, struct json_object *o)
{
	struct gate_table g;
	const struct gate *gt = NULL;
	_cleanup_free_ char *label = NULL;
	if (taskview_account_gate(st, t, &g, &gt, &label) < 0)
		return;
	if (gt) {
		char iso[TIMEUTIL_ISO_LEN];
		struct json_object *j = json_object_new_object();
		jsonutil_set_str(j, "account", gt->account);
		jsonutil_set_str(j, "label", gt->label);
		jsonutil_set_str(j, "limitedUntil", timeutil_format_iso(gt->until_ms, iso));
		if (gt->task_id > 0)
			jsonutil_set_int64(j, "task", gt->task_id);
		if (gt->probe_task > 0)
			jsonutil_set_int64(j, "probeTask", gt->probe_task);
		json_object_object_add(o, "gate", j);
	}
	gate_table_release(&g);
}

static void add_iteration_status(const struct task_store *st, const struct task *t, int64_t n,
				 struct json_object *o)
{
	_cleanup_free_ char *path = task_store_iteration_file(st, t->id, n, TASK_FILE_STATUS);
	struct json_object *status = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (iterfile_read_json(path, &status, &e) == 0)
		json_object_object_add(o, "iteration", status);
	else if (e->code != ENOENT)
		jsonutil_set_str(o, "iterationError", rv_error_msg(e));
}

/* The checkpoint's resetAt: a time within the horizon, else shown raw with
 * why it is ignored. */
static void add_reset_at(struct json_object *cpj, struct json_object *root)
{
	/* The container wrote it: judged against the 7-day horizon. */
	const char *raw = jsonutil_get_str(root, "resetAt");
	int64_t ms = 0;
	enum retry_reset_check rc = retry_reset_check(raw, timeutil_now_ms(), &ms);
	if (rc == RETRY_RESET_OK) {
		char iso[TIMEUTIL_ISO_LEN];
		jsonutil_set_str(cpj, "resetAt", timeutil_format_iso(ms, iso));
	} else if (rc != RETRY_RESET_NONE) {
		_cleanup_free_ char *note = retry_reset_note(rc, raw);
		jsonutil_set_str(cpj, "resetAt", raw);
		jsonutil_set_str(cpj, "resetAtIgnored", note);
	}
}

static void add_checkpoint(const struct task_store *st, const struct task *t, int64_t n,
			   struct json_object *o)
{
	_cleanup_free_ char *cp_path =
		task_store_iteration_file(st, t->id, n, TASK_FILE_CHECKPOINT);
	_cleanup_error_ struct rv_error *e = NULL;
	struct checkpoint *cp = NULL;
	struct json_object *cpj = json_object_new_object();
	_cleanup_json_ struct json_object *root = NULL;
	int r = iterfile_read_json(cp_path, &root, &e);
	if (r == 0)
		r = checkpoint_from_json(root, cp_path, &cp, NULL, &e);
	json_object_object_add(o, "checkpoint", cpj);
	jsonutil_set_bool(cpj, "exists", r == 0 && cp);
	if (r < 0 || !cp) {
		if (e && e->code != ENOENT)
			jsonutil_set_str(cpj, "error", rv_error_msg(e));
		return;
	}
	jsonutil_set_int64(cpj, "seq", cp->seq);
	struct json_object *ids = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(cp->completed_steps); i++) {
		const char *id =
			jsonutil_get_str(json_object_array_get_idx(cp->completed_steps, i), "id");
		json_object_array_add(ids, json_object_new_string(id ? id : "?"));
	}
	json_object_object_add(cpj, "completedSteps", ids);
	if (cp->pause_reason)
		jsonutil_set_str(cpj, "pauseReason", cp->pause_reason);
	if (cp->failed_step_id)
		jsonutil_set_str(cpj, "failedStepId", cp->failed_step_id);
	add_reset_at(cpj, root);
	checkpoint_free(cp);
}

static void add_resume_lock(const char *iter_dir, struct json_object *o)
{
	struct lock_info li;
	if (lock_inspect(iter_dir, &li, NULL) == 0 && li.held) {
		struct json_object *lj = json_object_new_object();
		jsonutil_set_int64(lj, "pid", li.pid);
		jsonutil_set_int64(lj, "ageMs", li.age_ms);
		json_object_object_add(o, "resumeLock", lj);
	}
}

static void add_container(const struct task *t, struct json_object *o)
{
	const char *cid = task_container_id(t);
	if (!cid || !*cid)
		return;
	struct json_object *end = task_container_end(t);
	if (end && !task_status_is_running(task_status(t))) {
		/* It ended, and rover recorded how when it saw that: the engine
		 * (and the client library's start-up) is not needed. */
		json_object_object_add(o, "container", json_object_get(end));
		return;
	}
	struct json_object *cj = json_object_new_object();
	json_object_object_add(o, "container", cj);
	_cleanup_error_ struct rv_error *e = NULL;
	struct engine *eng = NULL;
	struct engine_container_info info = {0};
	if (launch_engine_for_task(t, &eng, &e) < 0) {
		jsonutil_set_str(cj, "id", cid);
		jsonutil_set_str(cj, "state", "unknown");
		jsonutil_set_str(cj, "error", rv_error_msg(e));
		return;
	}
	engine_set_timeouts(eng, 3000, 10000);
	if (engine_container_inspect(eng, cid, &info, &e) == 0) {
		jsonutil_set_str(cj, "id", info.id);
		jsonutil_set_str(cj, "name", info.name);
		jsonutil_set_str(cj, "state", info.status);
		jsonutil_set_int64(cj, "exitCode", info.exit_code);
		jsonutil_set_bool(cj, "oomKilled", info.oom_killed);
		engine_container_info_release(&info);
	} else {
		jsonutil_set_str(cj, "id", cid);
		jsonutil_set_str(cj, "state", e->code == ENOENT ? "missing" : "unknown");
		if (e->code != ENOENT)
			jsonutil_set_str(cj, "error", rv_error_msg(e));
	}
	engine_free(eng);
}

void taskview_add_inspect(const struct task_store *st, const struct task *t, struct json_object *o)
{
	int64_t n = task_iterations(t);
	_cleanup_free_ char *iter_dir = task_store_iteration_dir(st, t->id, n);
	jsonutil_set_str(o, "iterationPath", iter_dir);
	add_gate(st, t, o);
	add_iteration_status(st, t, n, o);
	add_checkpoint(st, t, n, o);
	add_resume_lock(iter_dir, o);
	add_container(t, o);
}
