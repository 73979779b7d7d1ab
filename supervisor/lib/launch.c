#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "common/sha256.h"
#include "common/timeutil.h"
#include "supervisor/lib/agent_logins.h"
#include "supervisor/lib/approval.h"
#include "supervisor/lib/engine_logs.h"
#include "supervisor/lib/hardening.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/worktree.h"

/* Environment passed to the runner when set on the host: its own knobs and
 * the agent tools' credentials (the TypeScript rover passes these through too). */
static const char *const passthrough_env[] = {
	"ROVER_AGENT_GRACE",
	"ROVER_AGENT_RETRY_DELAY_MS",
	"ANTHROPIC_API_KEY",
	"ANTHROPIC_BASE_URL",
	"ANTHROPIC_MODEL",
	"CLAUDE_CODE_OAUTH_TOKEN",
	"OPENAI_API_KEY",
	"OPENAI_BASE_URL",
	"GEMINI_API_KEY",
	"GOOGLE_API_KEY",
	"GOOGLE_GEMINI_BASE_URL",
	"DASHSCOPE_API_KEY",
	"CURSOR_API_KEY",
	"HTTP_PROXY",
	"HTTPS_PROXY",
	"NO_PROXY",
	"ROVER_HEARTBEAT_SECONDS", /* stall detection on a short time (retry-policy.md) */
};

char *launch_container_name(int64_t id, int64_t iteration)
{
	return xasprintf("rover-task-%lld-%lld", (long long)id, (long long)iteration);
}

int launch_agent_binary(char **ret, struct rv_error **err)
{
	const char *env = getenv("ROVER_AGENT_BIN");
	if (env && *env) {
		if (access(env, X_OK) < 0)
			return rv_error_errno(err, errno, "ROVER_AGENT_BIN '%s' is not executable",
					      env);
		*ret = realpath(env, NULL);
		if (!*ret)
			return rv_error_errno(err, errno, "cannot resolve '%s'", env);
		return 0;
	}
	_cleanup_free_ char *dir = proc_self_dir();
	if (!dir)
		return rv_error_errno(err, errno, "cannot find the rover binary");
	_cleanup_free_ char *path = fileio_join(dir, "rover-agent");
	if (access(path, X_OK) < 0)
		return rv_error_set(
			err, ENOENT,
			"the runner '%s' was not found; set ROVER_AGENT_BIN to the static "
			"rover-agent",
			path);
	*ret = TAKE_PTR(path);
	return 0;
}

int launch_engine_for_task(const struct task *t, struct engine **ret, struct rv_error **err)
{
	const char *endpoint = NULL;
	/* The record names the endpoint, but only one the user configured is
	 * ever contacted (a record may have come from elsewhere). */
	if (task_get_engine(t, NULL, &endpoint) && endpoint && *endpoint)
		return engine_open_recorded((long long)t->id, endpoint, ret, err);
	return engine_discover(NULL, ret, err);
}

/* Output is appended to container.log lazily: the header goes in with the
 * first byte, so a container with nothing to say leaves no empty header. */
struct log_sink {
	int fd;
	const char *header;
	bool header_done;
};

static int sink_write(void *userdata, enum engine_stream stream, const char *data, size_t len,
		      struct rv_error **err)
{
	(void)stream;
	struct log_sink *s = userdata;
	int r = 0;
	if (!s->header_done) {
		r = fileio_write_all(s->fd, s->header, strlen(s->header));
		s->header_done = true;
	}
	if (r == 0)
		r = fileio_write_all(s->fd, data, len);
	if (r < 0)
		return rv_error_errno(err, -r, "cannot write container.log");
	return 0;
}

/* A save is complete only once its trailer line is in: a save cut short
 * (full disk, killed) is truncated away or, if we died, lacks it and is
 * done again whole by the next attempt. */
#define LOG_TRAILER_FMT "==== end of container %s ====\n"

/* container.log names each container whose output it holds completely:
 * saving the same container twice (observed terminal, then replaced) must
 * not repeat it.  Read line by line through iterfile.h: the log can be far
 * larger than we want in memory, and the container may have planted a
 * symlink or FIFO there (then nothing counts as saved). */
static bool already_saved(const char *path, const char *full_id)
{
	int fd = iterfile_open_read(path, NULL, NULL);
	if (fd < 0)
		return false;
	_cleanup_fclose_ FILE *f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return false;
	}
	_cleanup_free_ char *needle = xasprintf(LOG_TRAILER_FMT, full_id);
	size_t nl = strlen(needle);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) >= 0)
		if ((size_t)n == nl && !memcmp(line, needle, nl))
			return true;
	return false;
}

/* Append the container's output and its trailer to fd; on any failure cut
 * the file back to where it was, so no partial save is left behind. */
static int append_logs(struct engine *e, int fd, const char *path, const char *full_id,
		       const char *ref, struct rv_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rv_error_errno(err, errno, "cannot stat '%s'", path);
	off_t start = st.st_size;
	/* A save a crash cut mid-line: ours still starts on a line of its own. */
	char last = '\n';
	if (start > 0 && pread(fd, &last, 1, start - 1) != 1)
		last = '\n';
	char iso[TIMEUTIL_ISO_LEN];
	_cleanup_free_ char *hdr =
		xasprintf("%s==== container %s, saved %s ====\n", last == '\n' ? "" : "\n", full_id,
			  timeutil_format_iso(timeutil_now_ms(), iso));
	struct log_sink sink = {.fd = fd, .header = hdr};
	_cleanup_error_ struct rv_error *e2 = NULL;
	int r = engine_container_logs(e, full_id, 0, sink_write, &sink, &e2);
	if (r == -ENOENT) {
		(void)ftruncate(fd, start);
		return 0;
	}
	if (r < 0) {
		rv_error_pass(err, &e2);
		r = rv_error_wrap(err, "cannot save the output of container '%s'", ref);
		goto undo;
	}
	if (sink.header_done) {
		_cleanup_free_ char *trailer = xasprintf(LOG_TRAILER_FMT, full_id);
		r = fileio_write_all(fd, trailer, strlen(trailer));
		if (r < 0) {
			r = rv_error_errno(err, -r, "cannot write '%s'", path);
			goto undo;
		}
	}
	if (fsync(fd) < 0) {
		r = rv_error_errno(err, errno, "cannot fsync '%s'", path);
		goto undo;
	}
	return 0;
undo:
	/* Best effort: ftruncate needs no space.  If even that fails, the
	 * missing trailer still makes the next attempt save it whole. */
	(void)ftruncate(fd, start);
	return r;
}

int launch_save_logs(struct engine *e, const struct task_store *st, int64_t id, int64_t iteration,
		     const char *ref, struct rv_error **err)
{
	return launch_save_logs_seen(e, st, id, iteration, ref, NULL, err);
}

int launch_save_logs_seen(struct engine *e, const struct task_store *st, int64_t id,
			  int64_t iteration, const char *ref,
			  struct engine_container_info *ret_seen, struct rv_error **err)
{
	if (ret_seen)
		*ret_seen = (struct engine_container_info){0};
	_cleanup_free_ char *path =
		task_store_iteration_file(st, id, iteration, TASK_FILE_CONTAINER_LOG);
	_cleanup_free_ char *dir = fileio_dirname(path);
	if (!fileio_is_dir(dir))
		return 0;
	struct engine_container_info info = {0};
	_cleanup_error_ struct rv_error *e2 = NULL;
	int r = engine_container_inspect(e, ref, &info, &e2);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		rv_error_pass(err, &e2);
		return rv_error_wrap(err, "cannot save the output of container '%s'", ref);
	}
	_cleanup_free_ char *full_id = xstrdup(info.id);
	if (ret_seen)
		*ret_seen = info; /* the caller's to release */
	else
		engine_container_info_release(&info);
	/* Two commands that see the container end together (logs -f and a
	 * list, two followers) must not both append it: the look and the
	 * append are one step under the task's logs lock (outside the
	 * directory the container writes, so only rover processes take it;
	 * the holder's work is bounded by the engine's timeouts).  A store
	 * where it cannot be had (read-only) saves nothing anyway: the save
	 * goes on without it. */
	_cleanup_close_ int lock = -1;
	(void)task_store_lock_named(st, id, TASK_STORE_LOGS_LOCK, &lock, NULL);
	if (already_saved(path, full_id))
		return 0;
	/* Appended, not replaced: every run of this iteration keeps its
	 * output.  Never through a planted symlink or into a FIFO: anything
	 * but a regular file at the name is removed first (iterfile.h). */
	r = iterfile_open_append(path, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot save the output of container '%s'", ref);
	_cleanup_close_ int fd = r;
	return append_logs(e, fd, path, full_id, ref, err);
}

int launch_remove_container(struct engine *e, const struct task_store *st, int64_t id,
			    int64_t iteration, const char *ref, struct rv_error **err)
{
	int r = launch_save_logs(e, st, id, iteration, ref, err);
	if (r < 0)
		return r; /* never remove a container whose output we could not keep */
	_cleanup_error_ struct rv_error *e2 = NULL;
	r = engine_container_remove(e, ref, true, &e2);
	if (r < 0 && r != -ENOENT) {
		rv_error_pass(err, &e2);
		return r;
	}
	return 0;
}

/* Remove the earlier containers of this iteration of THIS store, found by
 * label: the name alone is shared with every other project's task of the
 * same id on this engine, and their containers are not ours to touch. */
static int remove_previous(struct engine *e, const struct task_store *st, int64_t id, int64_t n,
			   struct rv_error **err)
{
	_cleanup_free_ char *l_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	_cleanup_free_ char *l_task = layout_label_id(LAYOUT_LABEL_TASK, id);
	_cleanup_free_ char *l_iter = layout_label_id(LAYOUT_LABEL_ITERATION, n);
	const char *filters[] = {l_store, l_task, l_iter, NULL};
	struct engine_container_summary *list = NULL;
	size_t count = 0;
	int r = engine_container_list(e, filters, &list, &count, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count && r == 0; i++)
		r = launch_remove_container(e, st, id, n, list[i].id, err);
	engine_container_list_free(list, count);
	return r;
}

static void approval_args_freep(char ***p)
{
	approval_args_free(*p);
}

static const char *with_ro(const char *const parts[3], char *buf, size_t n)
{
	snprintf(buf, n, "%s:%s%s", parts[0], parts[1], parts[2]);
	return buf;
}

void launch_confine(struct engine_create_spec *spec, const struct hardening_launch *hl)
{
	spec->user = hl->user.spec;
	spec->cap_drop_all = true;
	spec->cap_add = (const char *const *)hl->h.cap_add;
	spec->no_new_privileges = hl->h.no_new_privileges;
	spec->pids_limit = hl->h.pids_limit ? hl->h.pids_limit : -1;
	spec->memory = hl->h.memory;
	spec->nano_cpus = hl->h.nano_cpus;
	spec->read_only_rootfs = hl->h.read_only_rootfs;
}

int launch_container(struct engine *e, const struct task_store *st, struct task *t,
		     const struct launch_opts *o, char **ret_id, struct rv_error **err)
{
	int64_t n = task_iterations(t);
	char idbuf[32], iterbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)t->id);
	snprintf(iterbuf, sizeof(iterbuf), "%lld", (long long)n);
	_cleanup_free_ char *name = launch_container_name(t->id, n);
	_cleanup_free_ char *agent = NULL;
	int r = launch_agent_binary(&agent, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *iter_dir = task_store_iteration_dir(st, t->id, n);
	_cleanup_free_ char *workflow = task_store_workflow_path(st, t->id);
	_cleanup_free_ char *checkpoint =
		task_store_iteration_file(st, t->id, n, TASK_FILE_CHECKPOINT);
	_cleanup_free_ char *objects = NULL;
	if (o->project_root) {
		r = worktree_shared_objects(o->project_root, &objects, err);
		if (r < 0)
			return r;
	}

	/* A previous container of this iteration (a run that paused or failed):
	 * keep its output, then make room. */
	r = o->fresh ? 0 : remove_previous(e, st, t->id, n, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot replace the previous container of task %lld",
				     (long long)t->id);

	char b0[PATH_MAX + 32], b1[PATH_MAX + 32], b2[PATH_MAX + 32], b3[PATH_MAX + 32],
		b4[2 * PATH_MAX + 32];
	const char *binds[6 + 3] = {0}; /* + the login copies (agent_logins.h) */
	size_t nb = 0;
	binds[nb++] =
		with_ro((const char *const[]){agent, LAYOUT_CT_RUNNER, ":ro"}, b0, sizeof(b0));
	binds[nb++] = with_ro((const char *const[]){o->workspace, LAYOUT_CT_WORKSPACE, ""}, b1,
			      sizeof(b1));
	binds[nb++] =
		with_ro((const char *const[]){iter_dir, LAYOUT_CT_OUTPUT, ""}, b2, sizeof(b2));
	binds[nb++] =
		with_ro((const char *const[]){workflow, LAYOUT_CT_WORKFLOW, ":ro"}, b3, sizeof(b3));
	if (objects)
		binds[nb++] =
			with_ro((const char *const[]){objects, objects, ":ro"}, b4, sizeof(b4));
	binds[nb] = NULL;

	const char *tool = task_get_str(t, "agent");
	const char *model = task_get_str(t, "agentModel");
	/* Breakpoints a person let pass (approval.h): on the command line,
	 * which nothing in the container can change. */
	_cleanup_(approval_args_freep) char **approvals = approval_runner_args(t);
	size_t n_approvals = 0;
	while (approvals[n_approvals])
		n_approvals++;
	_cleanup_free_ const char **cmd = xcalloc(24 + n_approvals, sizeof(char *));
	static const char *const base_cmd[] = {
		"run",           LAYOUT_CT_WORKFLOW,
		"--output",      LAYOUT_CT_OUTPUT,
		"--task-id",     NULL,
		"--status-file", LAYOUT_CT_OUTPUT_FILE(LAYOUT_STATUS_FILE),
		"--inputs-json", LAYOUT_CT_OUTPUT_FILE(LAYOUT_INPUTS_FILE),
		"--workdir",     LAYOUT_CT_WORKSPACE};
	memcpy(cmd, base_cmd, sizeof(base_cmd));
	cmd[5] = idbuf;
	size_t nc = ARRAY_SIZE(base_cmd);
	if (tool && *tool) {
		cmd[nc++] = "--agent-tool";
		cmd[nc++] = tool;
	}
	if (model && *model) {
		cmd[nc++] = "--agent-model";
		cmd[nc++] = model;
	}
	char budget[32];
	if (o->budget_usd > 0) {
		snprintf(budget, sizeof(budget), "%.6f", o->budget_usd);
		cmd[nc++] = "--budget-usd";
		cmd[nc++] = budget;
	}
	if (o->resume && fileio_exists(checkpoint)) {
		cmd[nc++] = "--checkpoint";
		cmd[nc++] = LAYOUT_CT_OUTPUT_FILE(LAYOUT_CHECKPOINT_FILE);
		if (o->allow_workflow_change)
			cmd[nc++] = "--allow-workflow-change";
	}
	for (size_t i = 0; i < n_approvals; i++)
		cmd[nc++] = approvals[i];
	cmd[nc] = NULL;
	const char *entrypoint[] = {LAYOUT_CT_RUNNER, NULL};

	_cleanup_free_ char *l_task = layout_label(LAYOUT_LABEL_TASK, idbuf);
	_cleanup_free_ char *l_iter = layout_label(LAYOUT_LABEL_ITERATION, iterbuf);
	_cleanup_free_ char *l_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	const char *labels[] = {l_task, l_iter, l_store, NULL};

	char *env[ARRAY_SIZE(passthrough_env) + 2] = {0};
	size_t ne = 0;
	for (size_t i = 0; i < ARRAY_SIZE(passthrough_env); i++) {
		const char *v = getenv(passthrough_env[i]);
		if (v)
			env[ne++] = xasprintf("%s=%s", passthrough_env[i], v);
	}
	env[ne] = NULL;

	/* Confinement and the agent's user; the files it writes become its own. */
	struct hardening_launch hl = {0};
	r = hardening_prepare(o->project_root, st->dir, o->workspace, iter_dir, &hl, err);
	if (r < 0) {
		for (size_t i = 0; i < ne; i++)
			free(env[i]);
		return rv_error_wrap(err, "cannot prepare the container of task %lld",
				     (long long)t->id);
	}
	if (hl.user.set_home)
		env[ne++] = xstrdup("HOME=" HARDENING_HOME);
	env[ne] = NULL;
	/* Subscription logins the user chose to share: read-only copies. */
	_cleanup_free_ char *task_dir = task_store_task_dir(st, t->id);
	char **login_binds = NULL;
	r = agent_logins_prepare(getenv(AGENT_LOGINS_ENV), getenv("HOME"), task_dir,
				 geteuid() == 0 && hl.user.numeric, hl.user.uid, hl.user.gid,
				 &login_binds, err);
	if (r < 0) {
		for (size_t i = 0; i < ne; i++)
			free(env[i]);
		hardening_launch_release(&hl);
		return rv_error_wrap(err, "cannot share the agent's login with task %lld",
				     (long long)t->id);
	}
	for (size_t i = 0; login_binds[i] && nb + 1 < ARRAY_SIZE(binds); i++)
		binds[nb++] = login_binds[i];
	binds[nb] = NULL;
	const char *network = getenv("ROVER_NETWORK");
	struct engine_create_spec spec = {
		.name = name,
		.image = o->image,
		.cmd = cmd,
		.entrypoint = entrypoint,
		.labels = labels,
		.binds = binds,
		.env = (const char *const *)env,
		.working_dir = LAYOUT_CT_WORKSPACE,
		.network_mode = network && *network ? network : NULL,
		.stop_signal = "SIGTERM",
		.stop_timeout = LAUNCH_STOP_TIMEOUT_S,
	};
	launch_confine(&spec, &hl);
	_cleanup_free_ char *id = NULL;
	_cleanup_error_ struct rv_error *name_err = NULL;
	r = engine_container_create(e, &spec, &id, &name_err);
	if (r == -EEXIST && o->fresh && remove_previous(e, st, t->id, n, NULL) == 0) {
		/* Ours after all (see launch_opts.fresh): room made, once more. */
		rv_error_free(name_err);
		name_err = NULL;
		r = engine_container_create(e, &spec, &id, &name_err);
	}
	if (r == -EEXIST) {
		/* The contract's name is taken by another store's task of the same
		 * id on this engine: ours gets the store's hash appended (lookups go
		 * by label and stored id, never by name alone). */
		char hash[SHA256_HEX_LEN];
		sha256_hex(st->dir, strlen(st->dir), hash);
		_cleanup_free_ char *alt = xasprintf("%s-%.8s", name, hash);
		spec.name = alt;
		r = engine_container_create(e, &spec, &id, err);
	} else if (r < 0) {
		*err = TAKE_PTR(name_err);
	}
	for (size_t i = 0; i < ne; i++)
		free(env[i]);
	hardening_launch_release(&hl);
	agent_logins_free(login_binds);
	if (r < 0)
		return rv_error_wrap(err, "cannot create container '%s'", name);
	r = engine_container_start(e, id, err);
	if (r < 0) {
		/* A container that never ran is not left behind for the task to
		 * be judged by (a NEW task has none: create.h). */
		(void)engine_container_remove(e, id, true, NULL);
		return rv_error_wrap(err, "cannot start container '%s'", name);
	}

	task_set_str(t, "containerId", id);
	task_set_engine(t, engine_kind_name(engine_get_kind(e)), engine_get_uri(e));
	task_set_str(t, "executionStatus", "running");
	task_set_time(t, "runningAt", timeutil_now_ms());
	task_set_str(t, "agentImage", o->image);
	*ret_id = TAKE_PTR(id);
	return 0;
}
