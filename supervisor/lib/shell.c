#define _GNU_SOURCE
#include "shell.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "supervisor/lib/hardening.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/worktree.h"

struct shell {
	struct engine *e;
	char *id;
	char *name;
	char *image;
	struct engine_attach *a;
	bool removed;
};

struct engine_attach *shell_attach(struct shell *s)
{
	return s->a;
}

const char *shell_container_name(const struct shell *s)
{
	return s->name;
}

const char *shell_image(const struct shell *s)
{
	return s->image;
}

/* The workspace the task's container mounts (resume.c's rule). */
static int workspace_of(const struct project *p, const struct task_store *st, const struct task *t,
			char **ret, struct rv_error **err)
{
	int r = task_store_check_record(st, t, err);
	if (r < 0)
		return r;
	const char *wt = task_get_str(t, "worktreePath");
	if (!(wt && *wt)) {
		if (p->is_git)
			return rv_error_set(err, EPERM,
					    "task %lld records no workspace; refusing to mount the "
					    "project itself",
					    (long long)t->id);
		*ret = xstrdup(p->root);
		return 0;
	}
	r = task_store_check_workspace(st, t->id, wt, err);
	if (r == -ENOENT) {
		*err = rv_error_free(*err);
		return rv_error_set(
			err, ENOENT,
			"the workspace of task %lld ('%s') is gone; 'rover resume %lld' "
			"or 'rover restart %lld' makes it again",
			(long long)t->id, wt, (long long)t->id, (long long)t->id);
	}
	if (r < 0)
		return r;
	*ret = xstrdup(wt);
	return 0;
}

static char *shell_name(int64_t id)
{
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)getpid() ^ (uint32_t)rand();
	return xasprintf("rover-shell-%lld-%08x", (long long)id, rnd);
}

#define OWNER_LABEL LAYOUT_LABEL_SHELL_OWNER

/* "<boot id>:<pid>:<start ticks>" of this process, or NULL when unknown. */
static char *owner_value(void)
{
	char boot[40];
	uint64_t start = 0;
	if (!proc_boot_id(boot, sizeof(boot)) || !proc_start_time(getpid(), &start))
		return NULL;
	return xasprintf("%s:%d:%llu", boot, (int)getpid(), (unsigned long long)start);
}

/* Whether the rover named by an owner label is gone: only when it ran on
 * this boot of this host (a store shared with another host names its live
 * sessions too, which are not ours to judge). */
static bool owner_gone(const char *owner)
{
	char boot[40];
	if (!owner || !proc_boot_id(boot, sizeof(boot)))
		return false;
	size_t bl = strlen(boot);
	if (strncmp(owner, boot, bl) != 0 || owner[bl] != ':')
		return false;
	char *end = NULL;
	long pid = strtol(owner + bl + 1, &end, 10);
	if (pid <= 0 || !end || *end != ':')
		return false;
	unsigned long long want = strtoull(end + 1, NULL, 10);
	uint64_t start = 0;
	return !proc_start_time((pid_t)pid, &start) || start != want;
}

/* Shell containers a killed rover (SIGKILL, a crash) left behind: the
 * session's rover is gone, or the container has exited.  Best effort. */
static void reap_stale(struct shell *s, const struct task_store *st)
{
	_cleanup_free_ char *l_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	const char *filters[] = {l_store, LAYOUT_LABEL_SHELL "=1", NULL};
	struct engine_container_summary *list = NULL;
	size_t n = 0;
	if (engine_container_list(s->e, filters, &list, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *state = list[i].state ? list[i].state : "";
		const char *owner = engine_label_get(list[i].labels, list[i].n_labels, OWNER_LABEL);
		if (!strcmp(state, "exited") || !strcmp(state, "dead") || owner_gone(owner))
			(void)engine_container_remove(s->e, list[i].id, true, NULL);
	}
	engine_container_list_free(list, n);
}

static int create_container(struct shell *s, const struct project *p, const struct task_store *st,
			    const struct task *t, const struct shell_opts *o, const char *ws,
			    struct rv_error **err)
{
	_cleanup_free_ char *objects = NULL;
	int r = 0;
	if (p->is_git) {
		r = worktree_shared_objects(p->root, &objects, err);
		if (r < 0)
			return r;
	}
	/* The task's own confinement and user (no iteration dir: nothing of
	 * the runner's is mounted). */
	struct hardening_launch hl = {0};
	r = hardening_prepare(p->is_git ? p->root : NULL, st->dir, ws, NULL, &hl, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot prepare the shell container of task %lld",
				     (long long)t->id);

	_cleanup_free_ char *b_ws = xasprintf("%s:/workspace", ws);
	_cleanup_free_ char *b_obj = objects ? xasprintf("%s:%s:ro", objects, objects) : NULL;
	const char *binds[] = {b_ws, b_obj, NULL};
	_cleanup_free_ char *l_task = layout_label_id(LAYOUT_LABEL_TASK, t->id);
	_cleanup_free_ char *l_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	_cleanup_free_ char *owner = owner_value();
	_cleanup_free_ char *l_owner = owner ? xasprintf(OWNER_LABEL "=%s", owner) : NULL;
	const char *labels[] = {l_task, l_store, LAYOUT_LABEL_SHELL "=1", l_owner, NULL};
	_cleanup_free_ char *e_term = o->term && *o->term ? xasprintf("TERM=%s", o->term) : NULL;
	const char *env[3] = {0};
	size_t ne = 0;
	if (hl.user.set_home)
		env[ne++] = "HOME=" HARDENING_HOME;
	if (e_term)
		env[ne++] = e_term;
	static const char *const default_cmd[] = {SHELL_DEFAULT_COMMAND, NULL};
	const char *const *cmd = o->cmd && o->cmd[0] ? o->cmd : default_cmd;
	const char *entrypoint[] = {cmd[0], NULL};
	const char *network = getenv("ROVER_NETWORK");
	struct engine_create_spec spec = {
		.name = s->name,
		.image = s->image,
		.cmd = cmd + 1,
		.entrypoint = entrypoint,
		.labels = labels,
		.binds = binds,
		.env = env,
		.working_dir = LAYOUT_CT_WORKSPACE,
		.network_mode = network && *network ? network : NULL,
		.stop_timeout = -1,
		.open_stdin = true,
		.tty = o->tty,
	};
	launch_confine(&spec, &hl);
	r = engine_container_create(s->e, &spec, &s->id, err);
	hardening_launch_release(&hl);
	if (r == -ENOENT && err && *err && (*err)->http_status == 404)
		return rv_error_wrap(err,
				     "image '%s' is not on the engine at %s (pull or build it, "
				     "or name another with --image)",
				     s->image, engine_get_uri(s->e));
	return r;
}

int shell_start(const struct project *p, const struct task_store *st, const struct task *t,
		const struct shell_opts *o, struct shell **ret, struct rv_error **err)
{
	_cleanup_free_ char *ws = NULL;
	int r = workspace_of(p, st, t, &ws, err);
	if (r < 0)
		return r;
	if (!fileio_is_dir(ws))
		return rv_error_set(err, ENOENT, "the workspace of task %lld ('%s') is gone",
				    (long long)t->id, ws);
	const char *image = o->image && *o->image ? o->image : task_get_str(t, "agentImage");
	if (!image || !*image)
		image = project_agent_image(p);
	if (!image || !*image)
		return rv_error_set(err, EINVAL,
				    "task %lld records no image: use --image, ROVER_AGENT_IMAGE or "
				    "agentImage in rover.json",
				    (long long)t->id);
	struct shell *s = xcalloc(1, sizeof(*s));
	s->image = xstrdup(image);
	s->name = shell_name(t->id);
	r = launch_engine_for_task(t, &s->e, err);
	if (r < 0) {
		shell_free(s);
		return r;
	}
	reap_stale(s, st);
	r = create_container(s, p, st, t, o, ws, err);
	if (r == 0)
		r = engine_attach_open(s->e, s->id, o->tty, &s->a, err);
	if (r == 0)
		r = engine_container_start(s->e, s->id, err);
	if (r < 0) {
		shell_free(s);
		return rv_error_wrap(err, "cannot open a shell in task %lld", (long long)t->id);
	}
	*ret = s;
	return 0;
}

int shell_resize(struct shell *s, unsigned rows, unsigned cols, struct rv_error **err)
{
	if (rows == 0 || cols == 0)
		return 0;
	return engine_container_resize(s->e, s->id, rows, cols, err);
}

int shell_finish(struct shell *s, int *ret_exit_code, struct rv_error **err)
{
	s->a = engine_attach_free(s->a);
	int code = 0;
	int r = engine_container_wait(s->e, s->id, ENGINE_WAIT_NOT_RUNNING, SHELL_FINISH_TIMEOUT_MS,
				      &code, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot learn how the shell of container '%s' ended",
				     s->name);
	r = shell_remove(s, err);
	if (r < 0)
		return r;
	*ret_exit_code = code;
	return 0;
}

int shell_remove(struct shell *s, struct rv_error **err)
{
	s->a = engine_attach_free(s->a);
	if (!s->e || !s->id || s->removed)
		return 0;
	_cleanup_error_ struct rv_error *first = NULL;
	int r = engine_container_remove(s->e, s->id, true, &first);
	if (r < 0 && r != -ENOENT) {
		/* Once more: a container that is still starting or being
		 * signalled may refuse the first time. */
		r = engine_container_remove(s->e, s->id, true, err);
	}
	if (r < 0 && r != -ENOENT)
		return rv_error_wrap(err, "cannot remove the shell container '%s'", s->name);
	s->removed = true;
	return 0;
}

struct shell *shell_free(struct shell *s)
{
	if (!s)
		return NULL;
	s->a = engine_attach_free(s->a);
	if (!s->removed)
		(void)shell_remove(s, NULL);
	engine_free(s->e);
	free(s->id);
	free(s->name);
	free(s->image);
	free(s);
	return NULL;
}
