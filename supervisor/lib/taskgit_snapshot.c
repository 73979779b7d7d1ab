/*
 * taskgit_snapshot.c - taskgit_snapshot() (taskgit.h, "SNAPSHOT"): the walk
 * of the workspace that decides, without following anything, which files
 * git may read, then the tree git writes of them from a temporary index.
 * Everything that uses a snapshot is in taskgit.c.
 */
#define _GNU_SOURCE
#include "taskgit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/textutil.h"
#include "supervisor/lib/taskgit_internal.h"
#include "supervisor/lib/worktree.h"

/* Directories nested deeper than this are left out of a snapshot. */
#define SCAN_MAX_DEPTH 128

static size_t max_file_bytes(void)
{
	const char *v = getenv("ROVER_SNAPSHOT_MAX_FILE_BYTES");
	long long n = v && *v ? strtoll(v, NULL, 10) : 0;
	return n > 0 ? (size_t)n : (size_t)TASKGIT_MAX_FILE_BYTES;
}

/* The first line of git's output (a commit or tree id). */
static int git_line(const char *root, const char *const *argv, char **ret, struct rv_error **err)
{
	_cleanup_free_ char *out = NULL;
	int r = taskgit_git_out(root, argv, &out, NULL, err);
	if (r < 0)
		return r;
	out[strcspn(out, "\n")] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- the walk before git looks ---------------------------------------- */

struct scan {
	char *pathspec; /* ":(top)\0:(top,exclude,literal)a\0..." */
	size_t ps_len;
	size_t max_file;
	char *blocker; /* a .gitignore/.gitattributes git would block on */
	/* what was left out: paths, why, whether it is work (a file or a
	 * repository, not a FIFO) */
	char **paths, **whys;
	bool *work;
	size_t n;
};

static void ps_add(struct scan *sc, const char *s)
{
	size_t l = strlen(s) + 1;
	sc->pathspec = xrealloc(sc->pathspec, sc->ps_len + l);
	memcpy(sc->pathspec + sc->ps_len, s, l);
	sc->ps_len += l;
}

static void leave_out(struct scan *sc, const char *path, bool work, const char *why)
{
	_cleanup_free_ char *spec = xasprintf(":(top,exclude,literal)%s", path);
	ps_add(sc, spec);
	size_t n = sc->n;
	taskgit_list_add(&sc->paths, &n, xstrdup(path));
	n = sc->n;
	taskgit_list_add(&sc->whys, &n, xstrdup(why));
	sc->work = xrealloc(sc->work, (sc->n + 1) * sizeof(bool));
	sc->work[sc->n++] = work;
}

static void scan_release(struct scan *sc)
{
	free(sc->pathspec);
	free(sc->blocker);
	taskgit_list_free(sc->paths, sc->n);
	taskgit_list_free(sc->whys, sc->n);
	free(sc->work);
}

static void skipped_add(struct taskgit_snapshot *s, char *what, bool work)
{
	/* A description, not a path to use: made valid UTF-8 once here so
	 * that --json can carry it (terminals still get it escaped). */
	size_t n = s->n_skipped;
	taskgit_list_add(&s->skipped, &n, textutil_utf8_clean(what, strlen(what)));
	free(what);
	s->skipped_work = xrealloc(s->skipped_work, (s->n_skipped + 1) * sizeof(bool));
	s->skipped_work[s->n_skipped++] = work;
	if (work)
		s->n_skipped_work++;
}

/* Most paths checked against the ignore rules at once (they go on the
 * command line); beyond, left-out paths are reported whether ignored or
 * not. */
#define CHECK_IGNORE_MAX 1000

/* What the walk left out and git would not have taken anyway (ignored:
 * a node_modules/ with a clone in it) is no loss and no news: only the
 * rest goes into s->skipped. */
static void report_left_out(const struct scan *sc, const struct worktree_git_opts *o,
			    const char *gitdir_opt, const char *wt_opt, struct taskgit_snapshot *s)
{
	_cleanup_free_ char *ignored = NULL;
	if (sc->n && sc->n <= CHECK_IGNORE_MAX) {
		const char **argv = xcalloc(sc->n + 8, sizeof(char *));
		size_t k = 0;
		/* -z needs --stdin, and git's stdin is /dev/null: one path a
		 * line, unquoted; a name with a newline never matches (and is
		 * reported: the safe side). */
		argv[k++] = "git";
		argv[k++] = "-c";
		argv[k++] = "core.quotePath=false";
		argv[k++] = gitdir_opt;
		argv[k++] = wt_opt;
		argv[k++] = "check-ignore";
		argv[k++] = "--";
		for (size_t i = 0; i < sc->n; i++)
			argv[k++] = sc->paths[i];
		argv[k] = NULL;
		int st = 0;
		struct worktree_git_opts oc = *o;
		oc.ret_status = &st;
		if (worktree_git_run(&oc, argv, &ignored, NULL, NULL) < 0 || st > 1) {
			free(ignored);
			ignored = NULL;
		}
		free(argv);
	}
	for (size_t i = 0; i < sc->n; i++) {
		bool skip = false;
		size_t pl = strlen(sc->paths[i]);
		for (const char *line = ignored; line && !skip && *line;) {
			const char *nl = strchr(line, '\n');
			size_t ll = nl ? (size_t)(nl - line) : strlen(line);
			skip = ll == pl && !memcmp(line, sc->paths[i], pl);
			line = nl ? nl + 1 : NULL;
		}
		if (!skip)
			skipped_add(s, xasprintf("%s (%s)", sc->paths[i], sc->whys[i]), sc->work[i]);
	}
}

static const char *kind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : "a device";
}

/* dfd is taken over.  rel: the directory's path in the workspace ("" at
 * the top). */
static void scan_dir(struct scan *sc, int dfd, const char *rel, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while (!sc->blocker && (de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (depth == 0 && !strcmp(name, ".git"))
			continue; /* the workspace's own repository: git never looks */
		_cleanup_free_ char *path = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		struct stat s;
		if (fstatat(dirfd(d), name, &s, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(s.st_mode))
			continue; /* recorded as a link */
		if (S_ISREG(s.st_mode)) {
			if ((size_t)s.st_size > sc->max_file) {
				_cleanup_free_ char *why =
					sc->max_file % (1u << 20)
						? xasprintf("larger than %zu bytes", sc->max_file)
						: xasprintf("larger than %zu MiB", sc->max_file >> 20);
				leave_out(sc, path, true, why);
			}
			continue;
		}
		if (!S_ISDIR(s.st_mode)) {
			if (!strcmp(name, ".gitignore") || !strcmp(name, ".gitattributes")) {
				sc->blocker = xasprintf("'%s' is %s", path, kind(s.st_mode));
				break;
			}
			leave_out(sc, path, false, kind(s.st_mode));
			continue;
		}
		/* O_DIRECTORY|O_NOFOLLOW: whatever replaced it meanwhile is not
		 * opened (a FIFO would block, a link would lead elsewhere). */
		int sub = openat(dirfd(d), name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (sub < 0) {
			leave_out(sc, path, true, "cannot be read");
			continue;
		}
		struct stat g;
		if (fstatat(sub, ".git", &g, AT_SYMLINK_NOFOLLOW) == 0) {
			close(sub);
			leave_out(sc, path, true, "a repository of its own");
			continue;
		}
		if (depth + 1 >= SCAN_MAX_DEPTH) {
			close(sub);
			leave_out(sc, path, true, "nested too deep");
			continue;
		}
		scan_dir(sc, sub, path, depth + 1);
	}
	closedir(d);
}

/* ---- snapshot ----------------------------------------------------------- */

struct tmpdir {
	char *dir;
};

static void tmpdir_release(struct tmpdir *t)
{
	if (t->dir)
		(void)fileio_remove_tree(t->dir, NULL);
	free(t->dir);
}

static int resolve_base(const struct taskgit_task *tg, const char *tip, char **ret,
			struct rv_error **err)
{
	if (tg->base) {
		_cleanup_free_ char *spec = xasprintf("%s^{commit}", tg->base);
		char *b = taskgit_rev_quiet(tg->root, spec);
		if (b) {
			*ret = b;
			return 0;
		}
	}
	/* No base recorded (an older task): where the branch left HEAD. */
	const char *mb[] = {"git", "merge-base", "HEAD", tip, NULL};
	int r = git_line(tg->root, mb, ret, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot tell where task %lld started", (long long)tg->id);
	return 0;
}

/* The workspace's files over s->tip: s->tree, s->skipped. */
static int add_workspace(const struct taskgit_task *tg, struct taskgit_snapshot *s,
			 struct rv_error **err)
{
	/* What git must not look at, found without git. */
	_cleanup_(scan_release) struct scan sc = {.max_file = max_file_bytes()};
	ps_add(&sc, ":(top)");
	int top = open(tg->workspace, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return rv_error_errno(err, errno, "cannot read the workspace '%s'", tg->workspace);
	scan_dir(&sc, top, "", 0);
	if (sc.blocker)
		return rv_error_set(err, EPERM,
				    "task %lld's workspace '%s' cannot be read safely: %s, which "
				    "git would block on; remove it and try again",
				    (long long)tg->id, tg->workspace, sc.blocker);

	_cleanup_(tmpdir_release) struct tmpdir tmp = {NULL};
	const char *tdir = getenv("TMPDIR");
	char *dir = xasprintf("%s/rover-snapshot.XXXXXX", tdir && *tdir ? tdir : "/tmp");
	if (!mkdtemp(dir)) {
		int e = errno;
		free(dir);
		return rv_error_errno(err, e, "cannot create a temporary directory");
	}
	tmp.dir = dir;
	_cleanup_free_ char *ps_file = fileio_join(tmp.dir, "pathspec");
	int r = fileio_write_atomic(ps_file, sc.pathspec, sc.ps_len, 0600, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *index_env = xasprintf("GIT_INDEX_FILE=%s/index", tmp.dir);
	const char *env[] = {index_env, NULL};
	_cleanup_free_ char *gitdir = NULL;
	const char *gd[] = {"git", "rev-parse", "--absolute-git-dir", NULL};
	if ((r = worktree_git(tg->root, gd, &gitdir, err)) < 0)
		return r;
	_cleanup_free_ char *gitdir_opt = xasprintf("--git-dir=%s", gitdir);
	_cleanup_free_ char *wt_opt = xasprintf("--work-tree=%s", tg->workspace);
	_cleanup_free_ char *ps_opt = xasprintf("--pathspec-from-file=%s", ps_file);
	struct worktree_git_opts o = {.cwd = tg->root, .env = env, .timeout_s = taskgit_timeout_s()};
	const char *read_tree[] = {"git", gitdir_opt, "read-tree", s->tip, NULL};
	if ((r = worktree_git_run(&o, read_tree, NULL, NULL, err)) < 0)
		return r;
	/* --ignore-errors: a file that cannot be read is named, not fatal. */
	int st = 0;
	_cleanup_free_ char *add_err = NULL;
	struct worktree_git_opts oa = o;
	oa.ret_status = &st;
	oa.ret_stderr = &add_err;
	const char *add[] = {"git",
			     "-c",
			     "advice.addEmbeddedRepo=false",
			     "-c",
			     "core.quotePath=false",
			     gitdir_opt,
			     wt_opt,
			     "add",
			     "-A",
			     "--ignore-errors",
			     ps_opt,
			     "--pathspec-file-nul",
			     NULL};
	if ((r = worktree_git_run(&oa, add, NULL, NULL, err)) < 0)
		return r;
	if (st != 0) {
		if (st != 1) {
			add_err[strcspn(add_err, "\n")] = '\0';
			return rv_error_set(err, EIO, "git add failed in task %lld's workspace: %s",
					    (long long)tg->id, add_err);
		}
		char *save = NULL;
		for (char *line = strtok_r(add_err, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (!strncmp(line, "error: ", 7))
				skipped_add(s, xstrdup(line + 7), true);
	}
	report_left_out(&sc, &o, gitdir_opt, wt_opt, s);
	const char *write_tree[] = {"git", gitdir_opt, "write-tree", NULL};
	_cleanup_free_ char *tree = NULL;
	if ((r = worktree_git_run(&o, write_tree, &tree, NULL, err)) < 0)
		return r;
	tree[strcspn(tree, "\n")] = '\0';
	s->tree = TAKE_PTR(tree);
	return 0;
}

static int snapshot_fill(const struct taskgit_task *tg, struct taskgit_snapshot *s,
			 struct rv_error **err)
{
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s^{commit}", tg->branch);
	s->tip = taskgit_rev_quiet(tg->root, ref);
	if (!s->tip && (!tg->base || !(s->tip = taskgit_rev_quiet(tg->root, tg->base))))
		return rv_error_set(err, ENOENT,
				    "task %lld's branch '%s' is gone and no start commit is recorded",
				    (long long)tg->id, tg->branch);
	int r = resolve_base(tg, s->tip, &s->base, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tip_tree_spec = xasprintf("%s^{tree}", s->tip);
	_cleanup_free_ char *tip_tree = taskgit_rev_quiet(tg->root, tip_tree_spec);
	if (!tip_tree)
		return rv_error_set(err, EIO, "cannot read the tree of %s", s->tip);
	if (!tg->workspace || !fileio_is_dir(tg->workspace)) {
		s->tree = TAKE_PTR(tip_tree);
		return 0;
	}
	if ((r = add_workspace(tg, s, err)) < 0)
		return r;
	s->dirty = strcmp(s->tree, tip_tree) != 0;
	return 0;
}

int taskgit_snapshot(const struct taskgit_task *tg, struct taskgit_snapshot *ret,
		     struct rv_error **err)
{
	struct taskgit_snapshot s = {0};
	int r = snapshot_fill(tg, &s, err);
	if (r < 0) {
		taskgit_snapshot_release(&s);
		return rv_error_wrap(err, "cannot read the work of task %lld", (long long)tg->id);
	}
	*ret = s;
	return 0;
}

void taskgit_snapshot_release(struct taskgit_snapshot *s)
{
	free(s->tip);
	free(s->tree);
	free(s->base);
	taskgit_list_free(s->skipped, s->n_skipped);
	free(s->skipped_work);
	memset(s, 0, sizeof(*s));
}
