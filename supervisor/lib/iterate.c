#define _GNU_SOURCE
#include "iterate.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "supervisor/lib/worktree.h"

struct json_object *iterate_inputs(const struct task *t, const char *instructions)
{
	struct json_object *in = jsonutil_get_obj(task_json(t), "inputs");
	struct json_object *out = NULL;
	if (!in || !json_object_is_type(in, json_type_object) ||
	    json_object_deep_copy(in, &out, NULL) < 0 || !out)
		out = json_object_new_object();
	jsonutil_set_str(out, "description", instructions);
	return out;
}

/* Step 3: only the workspace rover made for this task is read, as observe.c
 * does; a task without one (outside git) has nothing to import. */
static int import_previous(const struct task_store *st, const struct task *t, struct rv_error **err)
{
	const char *path = task_get_str(t, "worktreePath");
	const char *branch = task_get_str(t, "branchName");
	if (!st->project_root || !st->project_is_git || !path || !*path || !branch || !*branch)
		return 0;
	_cleanup_free_ char *own = xasprintf("%s/workspaces/%lld", st->dir, (long long)t->id);
	if (strcmp(path, own) != 0 || !fileio_is_dir(path))
		return 0; /* resume.c refuses a foreign path; a missing one is re-made */
	int r = worktree_sync(st->project_root, path, branch, err);
	if (r < 0)
		return rv_error_wrap(err,
				     "cannot import the commits of iteration %lld of task %lld "
				     "before starting the next one; nothing was changed",
				     (long long)task_iterations(t), (long long)t->id);
	return 0;
}

int iterate_task(const struct project *p, const struct task_store *st, int64_t id,
		 const struct iterate_opts *o, struct resume_outcome *ret, struct rv_error **err)
{
	*ret = (struct resume_outcome){.result = RESUME_FAILED};
	if (!o->instructions || !*o->instructions)
		return rv_error_set(err, EINVAL, "the instructions for task %lld are empty",
				    (long long)id);
	if (strlen(o->instructions) > ITERATE_MAX_INSTRUCTIONS)
		return rv_error_set(err, EINVAL,
				    "the instructions for task %lld are longer than %u bytes",
				    (long long)id, ITERATE_MAX_INSTRUCTIONS);
	struct task *t = NULL;
	int r = resume_prepare(st, id, o->report, o->userdata, &t, err);
	if (r < 0)
		return r;
	ret->task = t;
	ret->previous = task_status(t);
	_cleanup_free_ char *why = resume_iterate_refusal(t, 0);
	if (why) {
		ret->result = RESUME_NOT_RESUMABLE;
		(void)rv_error_set(err, EPERM, "%s", why);
		return 0;
	}
	r = import_previous(st, t, err);
	if (r < 0) {
		ret->result = RESUME_FAILED;
		return 0;
	}
	_cleanup_json_ struct json_object *inputs = iterate_inputs(t, o->instructions);
	struct resume_opts ro = {.mode = RESUME_ITERATE,
				 .image = o->image,
				 .observed = true,
				 .report = o->report,
				 .userdata = o->userdata,
				 .iterate_from = task_iterations(t),
				 .iterate_inputs = inputs};
	ret->task = NULL;
	task_free(t);
	return resume_task(p, st, id, &ro, ret, err);
}
