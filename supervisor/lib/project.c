/*
 * Why one file over 800 lines: everything here answers project.h's one
 * question - where a project lives, where its store is and what rover.json
 * says - and the migration of the previous rover's in-project store (from
 * "the store the previous rover kept inside the project") needs the same
 * root and store-path rules.  The migration is the part to move out
 * (project_migrate.c) if this file grows further.
 */
#define _GNU_SOURCE
#include "project.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-runner/agent_tool.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/sha256.h"
#include "supervisor/lib/task_store.h"
#include "supervisor/lib/worktree.h"

static int absolute_dir(const char *start, char **ret, struct rv_error **err)
{
	char *abs = realpath(start ? start : ".", NULL);
	if (!abs) {
		int e = errno;
		rv_error_errno(err, e, "cannot resolve directory '%s'", start ? start : ".");
		return -e;
	}
	if (!fileio_is_dir(abs)) {
		int r = rv_error_set(err, ENOTDIR, "'%s' is not a directory", abs);
		free(abs);
		return r;
	}
	*ret = abs;
	return 0;
}

int project_find_root(const char *start, char **ret_root, bool *ret_is_git, struct rv_error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = absolute_dir(start, &dir, err);
	if (r < 0 || !dir)
		return r < 0 ? r : -EIO;

	/* Walk up in place: dir is cut at each '/' from the end. */
	_cleanup_free_ char *probe = xmalloc(strlen(dir) + sizeof("/.git"));
	size_t len = strlen(dir);
	for (;;) {
		memcpy(probe, dir, len);
		strcpy(probe + len, len == 1 ? ".git" : "/.git"); /* "/" + ".git" */
		struct stat st;
		/* A .git file marks a linked worktree or a submodule: its top
		 * level is the root, as `git rev-parse --show-toplevel` says. */
		if (stat(probe, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
			*ret_root = xstrndup(dir, len);
			if (ret_is_git)
				*ret_is_git = true;
			return 0;
		}
		if (len == 1)
			break;
		while (len > 1 && dir[len - 1] != '/')
			len--;
		if (len > 1)
			len--; /* drop the '/' unless it is the root */
	}
	*ret_root = TAKE_PTR(dir);
	if (ret_is_git)
		*ret_is_git = false;
	return 0;
}

/* Strict decimal: digits only (an optional '-' so that a negative value is
 * reported as out of range rather than as garbage). */
static bool parse_int64(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return false;
	const char *p = s[0] == '-' ? s + 1 : s;
	if (!*p)
		return false;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

static int check_range(int64_t v, int64_t lo, int64_t hi, const char *where, const char *name,
		       struct rv_error **err)
{
	if (v < lo || v > hi)
		return rv_error_set(err, EINVAL,
				    "%s: %s must be an integer from %lld to %lld (got %lld)", where,
				    name, (long long)lo, (long long)hi, (long long)v);
	return 0;
}

/* An integer member of retry; absent or null keeps *val. */
static int json_retry_int(struct json_object *retry, const char *key, const char *where,
			  int64_t *val, struct rv_error **err)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(retry, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return rv_error_set(err, EINVAL, "%s: retry.%s must be an integer, not %s", where,
				    key, json_type_to_name(json_object_get_type(v)));
	*val = json_object_get_int64(v);
	return 0;
}

static int settings_from_text(const char *buf, size_t len, const char *what,
			      struct project_settings *s, int64_t *max, int64_t *base, int64_t *cap,
			      int64_t *max_running, int64_t *stall, struct rv_error **err);

/* A top-level integer setting; absent or null keeps *val. */
static int json_top_int(struct json_object *obj, const char *key, int64_t lo, int64_t hi,
			const char *where, int64_t *val, struct rv_error **err)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return rv_error_set(err, EINVAL, "%s: %s must be an integer, not %s", where, key,
				    json_type_to_name(json_object_get_type(v)));
	int r = check_range(json_object_get_int64(v), lo, hi, where, key, err);
	if (r == 0)
		*val = json_object_get_int64(v);
	return r;
}

static int read_settings_file(const char *root, struct project_settings *s, int64_t *max,
			      int64_t *base, int64_t *cap, int64_t *max_running, int64_t *stall,
			      struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(root, PROJECT_SETTINGS_FILE);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_error_ struct rv_error *rerr = NULL;
	int r = fileio_read_bounded(path, PROJECT_SETTINGS_MAX_BYTES, &buf, &len, &rerr);
	if (r == -ENOENT)
		return 0; /* optional */
	if (r < 0) {
		rv_error_pass(err, &rerr);
		return r;
	}
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	return settings_from_text(buf, len, what, s, max, base, cap, max_running, stall, err);
}

static int settings_from_text(const char *buf, size_t len, const char *what,
			      struct project_settings *s, int64_t *max, int64_t *base, int64_t *cap,
			      int64_t *max_running, int64_t *stall, struct rv_error **err)
{
	_cleanup_json_ struct json_object *obj = NULL;
	int r = jsonutil_parse(buf, len, what, &obj, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EINVAL, "%s is not a JSON object", what);

	struct json_object *v = NULL;
	s->repo_hooks_ignored = json_object_object_get_ex(obj, "hooks", NULL);
	if (json_object_object_get_ex(obj, "agentImage", &v) && v) {
		if (!json_object_is_type(v, json_type_string))
			return rv_error_set(err, EINVAL, "%s: agentImage must be a string", what);
		if (json_object_get_string_len(v) > 0)
			s->agent_image = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(obj, "agent", &v) && v) {
		if (!json_object_is_type(v, json_type_string) ||
		    !agent_tool_is_known(json_object_get_string(v)))
			return rv_error_set(err, EINVAL,
					    "%s: agent must be one of claude, codex, gemini, qwen, "
					    "opencode, cursor",
					    what);
		s->agent = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(obj, "retry", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return rv_error_set(err, EINVAL, "%s: retry must be an object", what);
		if ((r = json_retry_int(v, "max", what, max, err)) < 0 ||
		    (r = json_retry_int(v, "baseSeconds", what, base, err)) < 0 ||
		    (r = json_retry_int(v, "capSeconds", what, cap, err)) < 0)
			return r;
		if ((r = check_range(*max, 0, PROJECT_RETRY_MAX_LIMIT, what, "retry.max", err)) <
			    0 ||
		    (r = check_range(*base, 1, PROJECT_RETRY_CAP_LIMIT, what, "retry.baseSeconds",
				     err)) < 0 ||
		    (r = check_range(*cap, 1, PROJECT_RETRY_CAP_LIMIT, what, "retry.capSeconds",
				     err)) < 0)
			return r;
	}
	struct json_object *mr = NULL;
	if (json_object_object_get_ex(obj, "maxRunning", &mr) && mr &&
	    json_object_is_type(mr, json_type_object)) {
		json_object_object_foreach(mr, kind, lim)
		{
			int *slot = !strcmp(kind, "docker")   ? &s->max_running_docker
				    : !strcmp(kind, "podman") ? &s->max_running_podman
							      : NULL;
			if (!slot)
				return rv_error_set(err, EINVAL,
						    "%s: maxRunning names engine '%.40s'; expected "
						    "docker or podman",
						    what, kind);
			_cleanup_free_ char *name = xasprintf("maxRunning.%s", kind);
			if (!json_object_is_type(lim, json_type_int))
				return rv_error_set(err, EINVAL, "%s: %s must be an integer", what,
						    name);
			if ((r = check_range(json_object_get_int64(lim), 0,
					     PROJECT_MAX_RUNNING_LIMIT, what, name, err)) < 0)
				return r;
			*slot = (int)json_object_get_int64(lim);
		}
	} else if ((r = json_top_int(obj, "maxRunning", 0, PROJECT_MAX_RUNNING_LIMIT, what,
				     max_running, err)) < 0) {
		return r;
	}
	if ((r = json_top_int(obj, "stallSeconds", 0, PROJECT_RETRY_CAP_LIMIT, what, stall, err)) <
	    0)
		return r;
	struct json_object *bu = NULL;
	if (json_object_object_get_ex(obj, "budgetUsd", &bu) && bu) {
		double d = json_object_get_double(bu);
		if ((!json_object_is_type(bu, json_type_double) &&
		     !json_object_is_type(bu, json_type_int)) ||
		    !(d > 0) || d > PROJECT_BUDGET_LIMIT_USD)
			return rv_error_set(
				err, EINVAL,
				"%s: budgetUsd must be a number of dollars above 0 and at "
				"most %d",
				what, PROJECT_BUDGET_LIMIT_USD);
		s->budget_usd = d;
	}
	struct json_object *pw = NULL;
	if (json_object_object_get_ex(obj, "pauseWindows", &pw) && pw) {
		windows_release(&s->pause_windows);
		if ((r = windows_parse(pw, what, &s->pause_windows, err)) < 0)
			return r;
	}
	return 0;
}

static int env_int(const char *name, int64_t lo, int64_t hi, int64_t *val, struct rv_error **err)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return 0;
	int64_t v;
	if (!parse_int64(s, &v))
		return rv_error_set(err, EINVAL,
				    "environment variable %s must be an integer, not '%.64s'", name,
				    s);
	_cleanup_free_ char *where = xasprintf("environment variable %s", name);
	int r = check_range(v, lo, hi, "invalid setting", where, err);
	if (r < 0)
		return r;
	*val = v;
	return 0;
}

int project_load_settings(const char *root, struct project_settings *ret, struct rv_error **err)
{
	struct project_settings s = {0};
	int64_t max = PROJECT_RETRY_DEFAULT_MAX, base = PROJECT_RETRY_DEFAULT_BASE,
		cap = PROJECT_RETRY_DEFAULT_CAP, max_running = 0, stall = 0;
	int r = read_settings_file(root, &s, &max, &base, &cap, &max_running, &stall, err);
	if (r >= 0)
		r = env_int("ROVER_RETRY_MAX", 0, PROJECT_RETRY_MAX_LIMIT, &max, err);
	if (r >= 0)
		r = env_int("ROVER_RETRY_BASE_SECONDS", 1, PROJECT_RETRY_CAP_LIMIT, &base, err);
	if (r >= 0)
		r = env_int("ROVER_RETRY_CAP_SECONDS", 1, PROJECT_RETRY_CAP_LIMIT, &cap, err);
	if (r >= 0)
		r = env_int("ROVER_MAX_RUNNING", 0, PROJECT_MAX_RUNNING_LIMIT, &max_running, err);
	if (r >= 0)
		r = env_int("ROVER_STALL_SECONDS", 0, PROJECT_RETRY_CAP_LIMIT, &stall, err);
	if (r >= 0 && base > cap)
		r = rv_error_set(
			err, EINVAL,
			"invalid retry settings: baseSeconds (%lld) is larger than capSeconds "
			"(%lld); check %s/%s and ROVER_RETRY_*_SECONDS",
			(long long)base, (long long)cap, root, PROJECT_SETTINGS_FILE);
	if (r < 0) {
		project_settings_release(&s);
		return r;
	}
	s.retry.max = (int)max;
	s.retry.base_seconds = base;
	s.retry.cap_seconds = cap;
	s.max_running = (int)max_running;
	s.stall_seconds = stall;
	*ret = s;
	return 0;
}

void project_settings_release(struct project_settings *s)
{
	if (!s)
		return;
	free(s->agent_image);
	free(s->agent);
	s->agent_image = NULL;
	s->agent = NULL;
	windows_release(&s->pause_windows);
}

/* realpath() of the part of path that exists, the rest appended as it is:
 * the store is canonical before it is created. */
static char *canonical_path(const char *path, int depth)
{
	char *real = realpath(path, NULL);
	if (real)
		return real;
	if (errno != ENOENT || depth > 64 || !strcmp(path, "/"))
		return xstrdup(path);
	_cleanup_free_ char *dir = fileio_dirname(path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return xstrdup(path);
	_cleanup_free_ char *cdir = canonical_path(dir, depth + 1);
	return fileio_join(cdir, base);
}

int project_default_store(const char *root, char **ret, const char **ret_source,
			  struct rv_error **err)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	_cleanup_free_ char *data = NULL;
	const char *source;
	/* The XDG spec: a relative XDG_DATA_HOME is invalid and ignored. */
	if (xdg && xdg[0] == '/') {
		data = xstrdup(xdg);
		source = "XDG_DATA_HOME";
	} else if (home && home[0] == '/') {
		data = xasprintf("%s/.local/share", home);
		source = "HOME";
	} else {
		rv_error_set(err, ENOENT,
			     "cannot tell where rover's task store goes: neither XDG_DATA_HOME nor "
			     "HOME is an absolute path; set one of them, or ROVER_STORE");
		return -ENOENT;
	}
	const char *base = strrchr(root, '/');
	base = base && base[1] ? base + 1 : "root";
	char name[65];
	size_t n = 0;
	for (; n < sizeof(name) - 1 && base[n]; n++) {
		char c = base[n];
		/* ':' and ',' would break a bind "src:dst:opts"; keep it plain. */
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		name[n] = plain ? c : '_';
	}
	name[n] = '\0';
	if (name[0] == '.')
		name[0] = '_'; /* no hidden or "." / ".." names */
	char hex[SHA256_HEX_LEN];
	sha256_hex(root, strlen(root), hex);
	*ret = xasprintf("%s/rover/projects/%s-%.16s", data, name, hex);
	if (ret_source)
		*ret_source = source;
	return 0;
}

static int store_dir_of(const char *root, char **ret, const char **ret_source,
			struct rv_error **err)
{
	const char *env = getenv("ROVER_STORE");
	/* Freed at the end (not _cleanup_free_: gcc 12's -fanalyzer misreads it
	 * past an early return) */
	char *dir = NULL;
	if (!env || !*env) {
		int r = project_default_store(root, &dir, ret_source, err);
		if (r < 0)
			return r;
	} else if (env[0] == '/') {
		dir = xstrdup(env);
		*ret_source = "ROVER_STORE";
	} else {
		char *cwd = getcwd(NULL, 0);
		if (!cwd) {
			int e = errno;
			rv_error_errno(err, e, "cannot resolve ROVER_STORE '%s'", env);
			return -e;
		}
		dir = fileio_join(cwd, env);
		free(cwd);
		*ret_source = "ROVER_STORE";
	}
	*ret = canonical_path(dir, 0);
	free(dir);
	return 0;
}

int project_open(const char *start, struct project **ret, struct rv_error **err)
{
	struct project *p = xcalloc(1, sizeof(*p));
	int r = project_find_root(start, &p->root, &p->is_git, err);
	if (r >= 0)
		r = store_dir_of(p->root, &p->store_dir, &p->store_source, err);
	if (r >= 0)
		r = project_load_settings(p->root, &p->settings, err);
	if (r < 0) {
		project_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void project_free(struct project *p)
{
	if (!p)
		return;
	free(p->root);
	free(p->store_dir);
	project_settings_release(&p->settings);
	free(p);
}

const char *project_agent_image(const struct project *p)
{
	const char *env = getenv("ROVER_AGENT_IMAGE");
	if (env && *env)
		return env;
	return p ? p->settings.agent_image : NULL;
}

/* ---- the store the previous rover kept inside the project ------------------ */

#define LEGACY_IGNORED_FILE ".in-repo-store-ignored"
#define MIGRATE_LOCK_SUFFIX ".migrate.lock"

static bool rover_store_set(void)
{
	const char *env = getenv("ROVER_STORE");
	return env && *env;
}

/* The two lines the previous rover appended to .git/info/exclude. */
static bool has_exclude_mark(const char *text)
{
	static const char mark[] = PROJECT_LEGACY_EXCLUDE_MARK "\n/" PROJECT_LEGACY_STORE_NAME "/";
	for (const char *p = text; (p = strstr(p, mark)); p++) {
		char after = p[sizeof(mark) - 1];
		if ((p == text || p[-1] == '\n') && (after == '\0' || after == '\n'))
			return true;
	}
	return false;
}

static enum project_legacy unproven(char **ret_detail, const char *why)
{
	if (ret_detail)
		*ret_detail = xstrdup(why);
	return PROJECT_LEGACY_UNPROVEN;
}

enum project_legacy project_legacy_store(const struct project *p, char **ret_detail)
{
	if (ret_detail)
		*ret_detail = NULL;
	if (rover_store_set())
		return PROJECT_LEGACY_NONE;
	_cleanup_free_ char *old = fileio_join(p->root, PROJECT_LEGACY_STORE_NAME);
	struct stat st;
	if (lstat(old, &st) < 0)
		return PROJECT_LEGACY_NONE;
	if (!p->is_git)
		return unproven(ret_detail, "the project is not a git repository, so nothing shows "
					    "that rover made it for you");
	/* Tracked first: a shipped store is SHIPPED whatever else is true. */
	const char *ls[] = {"git", "ls-files", "-z", "--", PROJECT_LEGACY_STORE_NAME, NULL};
	_cleanup_free_ char *tracked = NULL;
	if (worktree_git(p->root, ls, &tracked, NULL) < 0)
		return unproven(ret_detail, "'git ls-files' could not tell whether it is tracked");
	if (tracked && *tracked) {
		if (ret_detail)
			*ret_detail =
				xstrdup("it is tracked by git, so it came with the repository");
		return PROJECT_LEGACY_SHIPPED;
	}
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
		return unproven(ret_detail, "it is not a directory");
	if (st.st_uid != geteuid())
		return unproven(ret_detail, "it belongs to another user");
	_cleanup_free_ char *dotgit = fileio_join(p->root, ".git");
	struct stat gst;
	if (lstat(dotgit, &gst) < 0 || !S_ISDIR(gst.st_mode))
		return unproven(ret_detail, "the project's .git is not a directory");
	_cleanup_free_ char *exclude = fileio_join(p->root, ".git/info/exclude");
	_cleanup_free_ char *text = NULL;
	if (fileio_read_bounded(exclude, 1 << 20, &text, NULL, NULL) < 0 || !has_exclude_mark(text))
		return unproven(ret_detail, "rover's mark in .git/info/exclude is missing");
	return PROJECT_LEGACY_OURS;
}

void project_migration_release(struct project_migration *m)
{
	if (!m)
		return;
	free(m->message);
	*m = (struct project_migration){0};
}

static void say(struct project_migration *m, bool warning, char *msg)
{
	free(m->message);
	m->message = msg;
	m->warning = warning;
}

/* Remember that the in-project .rover was reported, so it is reported once. */
static void mark_ignored(const struct project *p, const char *detail)
{
	if (fileio_mkdir_p(p->store_dir, 0700, NULL) < 0)
		return;
	_cleanup_free_ char *path = fileio_join(p->store_dir, LEGACY_IGNORED_FILE);
	_cleanup_free_ char *text = xasprintf("%s/%s: %s\n", p->root, PROJECT_LEGACY_STORE_NAME,
					      detail ? detail : "ignored");
	(void)fileio_write_atomic(path, text, strlen(text), 0644, NULL);
}

struct rewrite_ctx {
	const char *old_prefix; /* "<old store>/" */
	const char *new_store;
};

static int rewrite_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct rewrite_ctx *c = userdata;
	const char *wt = task_get_str(t, "worktreePath");
	size_t n = strlen(c->old_prefix);
	if (!wt || strncmp(wt, c->old_prefix, n) != 0)
		return TASK_UPDATE_SKIP;
	_cleanup_free_ char *moved = xasprintf("%s/%s", c->new_store, wt + n);
	task_set_str(t, "worktreePath", moved);
	return 0;
}

/* Re-point the records and git's worktree registrations at the new place.
 * Returns how many tasks the store holds. */
static size_t repoint(const struct project *p, const char *old, struct project_migration *m)
{
	_cleanup_(task_store_freep) struct task_store *st = NULL;
	if (task_store_open(p->store_dir, &st, NULL) < 0)
		return 0;
	struct task_list l = {0};
	if (task_store_list(st, &l, NULL) < 0)
		return 0;
	_cleanup_free_ char *prefix = xasprintf("%s/", old);
	struct rewrite_ctx c = {.old_prefix = prefix, .new_store = p->store_dir};
	size_t n = l.n;
	size_t nargs = 0;
	_cleanup_free_ const char **argv = xcalloc(l.n + 4, sizeof(*argv));
	_cleanup_free_ char **paths = xcalloc(l.n + 1, sizeof(*paths));
	argv[nargs++] = "git";
	argv[nargs++] = "worktree";
	argv[nargs++] = "repair";
	for (size_t i = 0; i < l.n; i++) {
		struct task *t = NULL;
		if (!l.entries[i].task ||
		    task_store_update(st, l.entries[i].id, rewrite_fn, &c, &t, NULL) < 0)
			continue;
		const char *wt = task_get_str(t, "worktreePath");
		_cleanup_free_ char *want =
			xasprintf("%s/workspaces/%lld", p->store_dir, (long long)l.entries[i].id);
		/* Only linked worktrees (a .git file) have anything to repair. */
		_cleanup_free_ char *dotgit = fileio_join(want, ".git");
		struct stat sb;
		if (wt && !strcmp(wt, want) && lstat(dotgit, &sb) == 0 && S_ISREG(sb.st_mode))
			argv[nargs++] = paths[i] = TAKE_PTR(want);
		task_free(t);
	}
	task_list_release(&l);
	if (p->is_git && nargs > 3) {
		_cleanup_error_ struct rv_error *e = NULL;
		if (worktree_git(p->root, argv, NULL, &e) < 0)
			say(m, true,
			    xasprintf(
				    "rover moved its task store from %s to %s, but 'git worktree "
				    "repair' failed (%s); run 'git worktree repair %s/workspaces/*' "
				    "in %s",
				    old, p->store_dir, rv_error_msg(e), p->store_dir, p->root));
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	return n;
}

/* The first running task of the store at dir, or 0. */
static int64_t running_task(const char *dir)
{
	_cleanup_(task_store_freep) struct task_store *st = NULL;
	struct task_list l = {0};
	if (task_store_open(dir, &st, NULL) < 0 || task_store_list(st, &l, NULL) < 0)
		return 0;
	int64_t id = 0;
	for (size_t i = 0; i < l.n && !id; i++)
		if (l.entries[i].task && task_status_is_running(task_status(l.entries[i].task)))
			id = l.entries[i].id;
	task_list_release(&l);
	return id;
}

static bool holds_tasks(const char *store_dir)
{
	_cleanup_(task_store_freep) struct task_store *st = NULL;
	struct task_list l = {0};
	if (task_store_open(store_dir, &st, NULL) < 0 || task_store_list(st, &l, NULL) < 0)
		return true; /* cannot tell: do not overwrite */
	bool any = l.n > 0;
	task_list_release(&l);
	return any;
}

static int move_store(const char *old, const char *to, struct rv_error **err)
{
	if (rename(old, to) == 0)
		return fileio_fsync_dir(to, NULL), 0;
	if (errno != EXDEV)
		return rv_error_errno(err, errno, "cannot move '%s' to '%s'", old, to);
	/* Another filesystem: copy beside the target, rename it into place,
	 * then remove the old tree; a crash leaves at most a stray copy. */
	_cleanup_free_ char *tmp = xasprintf("%s.migrating-%d", to, (int)getpid());
	fileio_remove_tree(tmp, NULL);
	int r = fileio_copy_tree(old, tmp, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot copy '%s' to '%s'", old, to);
	if (rename(tmp, to) < 0) {
		r = rv_error_errno(err, errno, "cannot move '%s' to '%s'", tmp, to);
		fileio_remove_tree(tmp, NULL);
		return r;
	}
	r = fileio_remove_tree(old, err);
	if (r < 0)
		return rv_error_wrap(err,
				     "the store was copied to '%s', but the old one could not be "
				     "removed; remove '%s' yourself",
				     to, old);
	return 0;
}

static int migrate_locked(const struct project *p, const char *old, struct project_migration *m,
			  struct rv_error **err)
{
	struct stat st;
	if (lstat(old, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0; /* another rover moved it meanwhile */
	int64_t busy = running_task(old);
	if (busy) {
		say(m, true,
		    xasprintf("not moving rover's old task store %s to %s yet: task %lld is still "
			      "running; stop it with 'ROVER_STORE=%s rover stop %lld' (or let it "
			      "finish), then run rover again",
			      old, p->store_dir, (long long)busy, old, (long long)busy));
		return 0;
	}
	if (lstat(p->store_dir, &st) == 0) {
		if (holds_tasks(p->store_dir)) {
			say(m, true,
			    xasprintf("not moving rover's old task store %s: %s already holds "
				      "tasks; move the tasks you need yourself, then remove %s",
				      old, p->store_dir, old));
			return 0;
		}
		/* Only rover's own bookkeeping is there (a lock, a cache). */
		int r = fileio_remove_tree(p->store_dir, err);
		if (r < 0)
			return rv_error_wrap(err, "cannot move rover's old task store %s", old);
	}
	int r = move_store(old, p->store_dir, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot move rover's old task store to %s", p->store_dir);
	m->migrated = true;
	size_t n = repoint(p, old, m);
	if (!m->message)
		say(m, false,
		    xasprintf("Moved rover's task store (%zu task%s) from %s to %s; a .rover "
			      "directory inside a project is no longer used",
			      n, n == 1 ? "" : "s", old, p->store_dir));
	return 0;
}

int project_migrate_store(const struct project *p, struct project_migration *ret,
			  struct rv_error **err)
{
	struct project_migration m = {0};
	*ret = m;
	if (rover_store_set())
		return 0;
	_cleanup_free_ char *old = fileio_join(p->root, PROJECT_LEGACY_STORE_NAME);
	struct stat st;
	if (lstat(old, &st) < 0)
		return 0; /* the common case: one lstat */
	_cleanup_free_ char *ignored = fileio_join(p->store_dir, LEGACY_IGNORED_FILE);
	if (fileio_exists(ignored))
		return 0; /* reported once already */
	_cleanup_free_ char *detail = NULL;
	switch (project_legacy_store(p, &detail)) {
	case PROJECT_LEGACY_NONE:
		return 0;
	case PROJECT_LEGACY_SHIPPED:
		mark_ignored(p, detail);
		say(ret, true,
		    xasprintf("ignoring %s: %s; rover keeps this project's tasks in %s", old,
			      detail, p->store_dir));
		return 0;
	case PROJECT_LEGACY_UNPROVEN:
		mark_ignored(p, detail);
		say(ret, true,
		    xasprintf("ignoring %s (%s); rover keeps this project's tasks in %s - if it is "
			      "your old store, move it there yourself (rover(1), FILES)",
			      old, detail, p->store_dir));
		return 0;
	case PROJECT_LEGACY_OURS:
		break;
	}
	_cleanup_free_ char *parent = fileio_dirname(p->store_dir);
	int r = fileio_mkdir_p(parent, 0700, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot move rover's old task store %s", old);
	const char *base = strrchr(p->store_dir, '/');
	_cleanup_free_ char *lock_path =
		xasprintf("%s/.%s%s", parent, base ? base + 1 : "store", MIGRATE_LOCK_SUFFIX);
	_cleanup_close_ int fd =
		open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", lock_path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return rv_error_errno(err, errno, "cannot lock '%s'", lock_path);
	r = migrate_locked(p, old, &m, err);
	if (r < 0) {
		project_migration_release(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int project_settings_read_json(const char *root, struct json_object **ret, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(root, PROJECT_SETTINGS_FILE);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fileio_read_bounded(path, PROJECT_SETTINGS_MAX_BYTES, &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	_cleanup_json_ struct json_object *obj = NULL;
	r = jsonutil_parse(buf, len, what, &obj, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EINVAL, "%s is not a JSON object", what);
	*ret = TAKE_PTR(obj);
	return 0;
}

struct json_object *project_settings_for_init(struct json_object *existing, const char *image,
					      const char *agent)
{
	struct json_object *o = NULL;
	if (!existing || json_object_deep_copy(existing, &o, NULL) != 0 || !o)
		o = json_object_new_object();
	jsonutil_set_str(o, "agentImage", image);
	if (agent)
		jsonutil_set_str(o, "agent", agent);
	struct json_object *retry = NULL;
	if (!json_object_object_get_ex(o, "retry", &retry) ||
	    !json_object_is_type(retry, json_type_object)) {
		retry = json_object_new_object();
		json_object_object_add(o, "retry", retry);
	}
	static const struct {
		const char *key;
		int64_t dflt;
	} keys[] = {{"max", PROJECT_RETRY_DEFAULT_MAX},
		    {"baseSeconds", PROJECT_RETRY_DEFAULT_BASE},
		    {"capSeconds", PROJECT_RETRY_DEFAULT_CAP}};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!json_object_object_get_ex(retry, keys[i].key, NULL))
			jsonutil_set_int64(retry, keys[i].key, keys[i].dflt);
	return o;
}

int project_settings_write(const char *root, struct json_object *obj, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(root, PROJECT_SETTINGS_FILE);
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	_cleanup_free_ char *text = jsonutil_to_pretty(obj);
	/* The same reader as every later command, on the text about to be
	 * written: a file that rover would then refuse is never written. */
	struct project_settings s = {0};
	int64_t max = PROJECT_RETRY_DEFAULT_MAX, base = PROJECT_RETRY_DEFAULT_BASE,
		cap = PROJECT_RETRY_DEFAULT_CAP, max_running = 0, stall = 0;
	int r = settings_from_text(text, strlen(text), what, &s, &max, &base, &cap, &max_running,
				   &stall, err);
	project_settings_release(&s);
	if (r < 0)
		return r;
	if (base > cap)
		return rv_error_set(err, EINVAL,
				    "%s: retry.baseSeconds (%lld) is larger than retry.capSeconds "
				    "(%lld)",
				    what, (long long)base, (long long)cap);
	return fileio_write_atomic(path, text, strlen(text), 0644, err);
}
int project_max_running_of(const struct project_settings *s, const char *kind)
{
	if (!kind)
		return 0;
	if (!strcmp(kind, "docker"))
		return s->max_running_docker;
	if (!strcmp(kind, "podman"))
		return s->max_running_podman;
	return 0;
}
