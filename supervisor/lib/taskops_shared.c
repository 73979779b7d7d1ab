/* taskops_shared.c - what the operations on one task share; see
 * taskops_shared.h (each operation lives in its own file: taskops_pause.c,
 * taskops_stop.c, taskops_restart.c, taskops_delete.c). */
#define _GNU_SOURCE
#include "taskops_shared.h"

#include <string.h>

#include "common/cleanup.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/reconcile.h"

bool taskops_same_str(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && !strcmp(a, b);
}

int taskops_open_engine(const struct task *t, const char *verb, struct engine **ret,
			struct rv_error **err)
{
	int r = launch_engine_for_task(t, ret, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot %s task %lld", verb, taskops_lid(t));
	engine_set_timeouts(*ret, OPS_CONNECT_MS, OPS_REQUEST_MS);
	return 0;
}

bool taskops_has_checkpoint(const struct task_store *st, int64_t id, int64_t n)
{
	_cleanup_free_ char *cp = task_store_iteration_file(st, id, n, TASK_FILE_CHECKPOINT);
	return iterfile_exists(cp);
}

/* Apply the iteration's status.json (the runner's own word) to t; a status
 * file that cannot be read leaves t as it is: the exit code still decides. */
void taskops_refresh_from_status(const struct task_store *st, struct task *t, int64_t now_ms)
{
	_cleanup_free_ char *path =
		task_store_iteration_file(st, t->id, task_iterations(t), TASK_FILE_STATUS);
	bool changed = false;
	_cleanup_error_ struct rv_error *e = NULL;
	(void)reconcile_from_status(t, path, now_ms, &changed, &e);
}

/* The orphan detector's verdict for an active task whose container exited
 * with exit_code (-1: the container is gone). */
int taskops_classify_exit(struct task *t, int exit_code, int64_t now_ms, struct rv_error **err)
{
	if (!task_status_is_running(task_status(t)))
		return 0;
	struct orphan_observation obs = {
		.status = task_status(t),
		.has_container_id = true,
		.now_ms = now_ms,
		.container = exit_code < 0 ? ORPHAN_CONTAINER_MISSING : ORPHAN_CONTAINER_EXITED,
		.exit_code = exit_code,
	};
	struct orphan_verdict v;
	orphan_decide(&obs, &v);
	bool changed = false;
	int r = orphan_apply(t, &v, exit_code, now_ms, &changed, err);
	orphan_verdict_release(&v);
	return r;
}

bool taskops_id_matches(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return false;
	size_t la = strlen(a), lb = strlen(b);
	return !strncmp(a, b, la < lb ? la : lb);
}
