/*
 * Why one file over 800 lines: everything here acts on one snapshot of a
 * task's work (taskgit.h) - taking it, diffing it, committing, merging,
 * pushing it, and telling what a delete would lose.  Taking the snapshot
 * (from "the walk before git looks" to "diff") is the part that would stand
 * alone, and was split out once; gcc 12's -fanalyzer (make lint) then
 * reported a false "uninitialized" in taskgit_merge, which it does not when
 * taskgit_snapshot() is in this file.  Split it again once the analyzer
 * copes.
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
#include "common/timeutil.h"
#include "supervisor/lib/worktree.h"

/* Directories nested deeper than this are left out of a snapshot. */
#define SCAN_MAX_DEPTH 128

static void list_add(char ***list, size_t *n, char *s)
{
	*list = xrealloc(*list, (*n + 2) * sizeof(char *));
	(*list)[(*n)++] = s;
	(*list)[*n] = NULL;
}

static void list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int timeout_s(void)
{
	return worktree_git_timeout_s();
}

static size_t max_file_bytes(void)
{
	const char *v = getenv("ROVER_SNAPSHOT_MAX_FILE_BYTES");
	long long n = v && *v ? strtoll(v, NULL, 10) : 0;
	return n > 0 ? (size_t)n : (size_t)TASKGIT_MAX_FILE_BYTES;
}

/* git in the project, output captured whole (NULs kept). */
static int git_out(const char *root, const char *const *argv, char **ret, size_t *ret_len,
		   struct rv_error **err)
{
	struct worktree_git_opts o = {.cwd = root, .timeout_s = timeout_s()};
	return worktree_git_run(&o, argv, ret, ret_len, err);
}

/* The first line of git's output (a commit or tree id). */
static int git_line(const char *root, const char *const *argv, char **ret, struct rv_error **err)
{
	_cleanup_free_ char *out = NULL;
	int r = git_out(root, argv, &out, NULL, err);
	if (r < 0)
		return r;
	out[strcspn(out, "\n")] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static char *rev_quiet(const char *root, const char *rev)
{
	const char *argv[] = {"git", "rev-parse", "--verify", "--quiet", rev, NULL};
	char *out = NULL;
	if (worktree_git(root, argv, &out, NULL) < 0 || !*out) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- open ------------------------------------------------------------- */

int taskgit_open(const struct project *p, const struct task_store *st, const struct task *t,
		 struct taskgit_task *ret, struct rv_error **err)
{
	if (!p->is_git)
		return rv_error_set(err, ENOTSUP,
				    "task %lld worked in '%s', which is not a git repository: "
				    "its changes are already there",
				    (long long)t->id, p->root);
	const char *branch = task_get_str(t, "branchName");
	if (!branch || !*branch)
		return rv_error_set(err, ENOENT, "task %lld has no branch", (long long)t->id);
	int r = task_store_check_record(st, t, err);
	if (r < 0)
		return r;
	const char *path = task_get_str(t, "worktreePath");
	bool have_ws = false;
	if (path && *path) {
		_cleanup_error_ struct rv_error *we = NULL;
		r = task_store_check_workspace(st, t->id, path, &we);
		if (r < 0 && r != -ENOENT) {
			*err = TAKE_PTR(we);
			return r;
		}
		have_ws = r == 0;
	}
	const char *base = task_get_str(t, "baseCommit");
	memset(ret, 0, sizeof(*ret));
	ret->id = t->id;
	ret->root = xstrdup(p->root);
	ret->branch = xstrdup(branch);
	ret->workspace = have_ws ? xstrdup(path) : NULL;
	ret->base = base && *base ? xstrdup(base) : NULL;
	ret->title = xstrdup(task_title(t));
	return 0;
}

void taskgit_task_release(struct taskgit_task *tg)
{
	free(tg->root);
	free(tg->branch);
	free(tg->workspace);
	free(tg->base);
	free(tg->title);
	memset(tg, 0, sizeof(*tg));
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
	list_add(&sc->paths, &n, xstrdup(path));
	n = sc->n;
	list_add(&sc->whys, &n, xstrdup(why));
	sc->work = xrealloc(sc->work, (sc->n + 1) * sizeof(bool));
	sc->work[sc->n++] = work;
}

static void scan_release(struct scan *sc)
{
	free(sc->pathspec);
	free(sc->blocker);
	list_free(sc->paths, sc->n);
	list_free(sc->whys, sc->n);
	free(sc->work);
}

static void skipped_add(struct taskgit_snapshot *s, char *what, bool work)
{
	/* A description, not a path to use: made valid UTF-8 once here so
	 * that --json can carry it (terminals still get it escaped). */
	size_t n = s->n_skipped;
	list_add(&s->skipped, &n, textutil_utf8_clean(what, strlen(what)));
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
			skipped_add(s, xasprintf("%s (%s)", sc->paths[i], sc->whys[i]),
				    sc->work[i]);
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
						: xasprintf("larger than %zu MiB",
							    sc->max_file >> 20);
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
		char *b = rev_quiet(tg->root, spec);
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
	struct worktree_git_opts o = {.cwd = tg->root, .env = env, .timeout_s = timeout_s()};
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
	s->tip = rev_quiet(tg->root, ref);
	if (!s->tip && (!tg->base || !(s->tip = rev_quiet(tg->root, tg->base))))
		return rv_error_set(
			err, ENOENT,
			"task %lld's branch '%s' is gone and no start commit is recorded",
			(long long)tg->id, tg->branch);
	int r = resolve_base(tg, s->tip, &s->base, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tip_tree_spec = xasprintf("%s^{tree}", s->tip);
	_cleanup_free_ char *tip_tree = rev_quiet(tg->root, tip_tree_spec);
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
	list_free(s->skipped, s->n_skipped);
	free(s->skipped_work);
	memset(s, 0, sizeof(*s));
}

/* ---- diff ----------------------------------------------------------------- */

static int parse_fail(struct taskgit_file *f, size_t n, struct rv_error **err)
{
	taskgit_files_free(f, n);
	return rv_error_set(err, EBADMSG, "cannot read git's list of changed files");
}

int taskgit_parse_diff(const char *numstat, size_t nlen, const char *names, size_t slen,
		       struct taskgit_file **ret, size_t *ret_n, struct rv_error **err)
{
	struct taskgit_file *f = NULL;
	size_t n = 0;
	for (size_t i = 0; i < slen;) {
		const char *st = names + i;
		size_t l = strnlen(st, slen - i);
		if (l == 0 || i + l + 1 >= slen)
			return parse_fail(f, n, err);
		i += l + 1;
		const char *path = names + i;
		size_t pl = strnlen(path, slen - i);
		if (pl == 0 || i + pl >= slen)
			return parse_fail(f, n, err);
		i += pl + 1;
		if (!strchr("AMDT", st[0]) || st[1])
			return parse_fail(f, n, err);
		f = xrealloc(f, (n + 1) * sizeof(*f));
		f[n++] = (struct taskgit_file){
			.path = xstrndup(path, pl), .status = st[0], .added = -1, .deleted = -1};
	}
	for (size_t i = 0; i < nlen;) {
		const char *rec = numstat + i;
		size_t l = strnlen(rec, nlen - i);
		if (i + l >= nlen)
			return parse_fail(f, n, err);
		i += l + 1;
		const char *t1 = memchr(rec, '\t', l);
		const char *t2 = t1 ? memchr(t1 + 1, '\t', l - (size_t)(t1 + 1 - rec)) : NULL;
		if (!t1 || !t2)
			return parse_fail(f, n, err);
		const char *path = t2 + 1;
		size_t pl = l - (size_t)(path - rec);
		bool binary = rec[0] == '-';
		char *end = NULL;
		long long a = binary ? -1 : strtoll(rec, &end, 10);
		if (!binary && end != t1)
			return parse_fail(f, n, err);
		long long d = binary ? -1 : strtoll(t1 + 1, &end, 10);
		if (!binary && end != t2)
			return parse_fail(f, n, err);
		for (size_t k = 0; k < n; k++) {
			if (strlen(f[k].path) == pl && !memcmp(f[k].path, path, pl)) {
				f[k].added = a;
				f[k].deleted = d;
				break;
			}
		}
	}
	*ret = f;
	*ret_n = n;
	return 0;
}

void taskgit_files_free(struct taskgit_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].path);
	free(f);
}

int taskgit_diff_files(const struct taskgit_task *tg, const struct taskgit_snapshot *s,
		       const char *file, struct taskgit_file **ret, size_t *ret_n,
		       struct rv_error **err)
{
	_cleanup_free_ char *from = xasprintf("%s^{tree}", s->base);
	_cleanup_free_ char *ps = file ? xasprintf(":(top,literal)%s", file) : NULL;
	const char *numstat[] = {"git",       "diff-tree", "-r", "--no-renames",
				 "--numstat", "-z",        from, s->tree,
				 "--",        ps,          NULL};
	const char *names[] = {"git", "diff-tree", "-r",    "--no-renames", "--name-status",
			       "-z",  from,        s->tree, "--",           ps,
			       NULL};
	_cleanup_free_ char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	int r = git_out(tg->root, numstat, &a, &al, err);
	if (r == 0)
		r = git_out(tg->root, names, &b, &bl, err);
	if (r == 0)
		r = taskgit_parse_diff(a, al, b, bl, ret, ret_n, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot list the changes of task %lld",
				     (long long)tg->id);
	return 0;
}

int taskgit_diff_patch(const struct taskgit_task *tg, const struct taskgit_snapshot *s,
		       const char *file, int (*fn)(void *ud, const char *buf, size_t len), void *ud,
		       struct rv_error **err)
{
	_cleanup_free_ char *from = xasprintf("%s^{tree}", s->base);
	_cleanup_free_ char *ps = file ? xasprintf(":(top,literal)%s", file) : NULL;
	const char *argv[] = {"git",
			      "diff-tree",
			      "-r",
			      "-p",
			      "--no-renames",
			      "--no-color",
			      "--no-ext-diff",
			      "--no-textconv",
			      from,
			      s->tree,
			      "--",
			      ps,
			      NULL};
	struct worktree_git_opts o = {
		.cwd = tg->root, .timeout_s = timeout_s(), .out_fn = fn, .out_userdata = ud};
	int r = worktree_git_run(&o, argv, NULL, NULL, err);
	if (r == -EPIPE)
		return r;
	if (r < 0)
		return rv_error_wrap(err, "cannot show the changes of task %lld",
				     (long long)tg->id);
	return 0;
}

/* ---- the snapshot as a commit ------------------------------------------ */

/* The commit holding the task's whole work: the tip, or a new commit of
 * the snapshot on it.  *ret_new: newly made (NULL when the tip is it). */
static int work_commit(const struct taskgit_task *tg, const struct taskgit_snapshot *s, char **ret,
		       char **ret_new, struct rv_error **err)
{
	*ret_new = NULL;
	if (!s->dirty) {
		*ret = xstrdup(s->tip);
		return 0;
	}
	_cleanup_free_ char *msg =
		xasprintf("rover: uncommitted work of task %lld\n\n"
			  "The files the agent left uncommitted in its workspace when\n"
			  "they were merged or pushed (task: %s).\n",
			  (long long)tg->id, tg->title ? tg->title : "");
	const char *parents[] = {s->tip, NULL};
	int r = worktree_commit_tree(tg->root, s->tree, parents, msg, ret_new, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot commit the uncommitted work of task %lld",
				     (long long)tg->id);
	*ret = xstrdup(*ret_new);
	return 0;
}

/* Move the task's branch from the tip the snapshot saw to commit (refused
 * by git when it moved meanwhile). */
static int advance_branch(const struct taskgit_task *tg, const struct taskgit_snapshot *s,
			  const char *commit, struct rv_error **err)
{
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", tg->branch);
	const char *argv[] = {
		"git", "update-ref", "-m",   "rover: commit the task's uncommitted work",
		ref,   commit,       s->tip, NULL};
	return worktree_git(tg->root, argv, NULL, err);
}

/* ---- merge -------------------------------------------------------------- */

int taskgit_parse_merge_tree(const char *out, size_t len, char **ret_tree, char ***ret_paths,
			     size_t *ret_n)
{
	char **paths = NULL;
	size_t n = 0;
	size_t tl = strnlen(out, len);
	size_t i = tl + 1;
	/* Without -z git ends the tree line with a newline. */
	size_t nl = strcspn(out, "\n");
	if (nl < tl)
		tl = nl;
	while (i < len) {
		const char *p = out + i;
		size_t l = strnlen(p, len - i);
		if (l == 0)
			break; /* the informational messages follow */
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = strlen(paths[k]) == l && !memcmp(paths[k], p, l);
		if (!dup)
			list_add(&paths, &n, xstrndup(p, l));
		i += l + 1;
	}
	*ret_tree = xstrndup(out, tl);
	*ret_paths = paths;
	*ret_n = n;
	return 0;
}

/* "a.txt, b.txt and 3 more" */
static char *name_some(char *const *items, size_t n, size_t total)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < n && i < TASKGIT_LOSS_NAMED; i++) {
		char *next = xasprintf("%s%s%s", s, i ? ", " : "", items[i]);
		free(s);
		s = next;
	}
	if (total > TASKGIT_LOSS_NAMED) {
		char *next = xasprintf("%s and %zu more", s, total - TASKGIT_LOSS_NAMED);
		free(s);
		s = next;
	}
	return s;
}

/* The user's changed tracked files ("M path"), from git status. */
static int user_changes(const char *root, char ***ret, size_t *ret_n, struct rv_error **err)
{
	const char *argv[] = {"git", "--no-optional-locks",  "status", "--porcelain=v1",
			      "-z",  "--untracked-files=no", NULL};
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	int r = git_out(root, argv, &out, &len, err);
	if (r < 0)
		return r;
	char **list = NULL;
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		const char *e = out + i;
		size_t l = strnlen(e, len - i);
		i += l + 1;
		if (l < 4)
			continue;
		bool rename = e[0] == 'R' || e[0] == 'C';
		list_add(&list, &n, xasprintf("%.2s %s", e, e + 3));
		if (rename && i < len)
			i += strnlen(out + i, len - i) + 1; /* the old name */
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

int taskgit_merge(const struct taskgit_task *tg, struct taskgit_merge_result *ret,
		  struct rv_error **err)
{
	struct taskgit_merge_result res = {0};
	const char *root = tg->root;
	long long id = (long long)tg->id;
	_cleanup_free_ char *work = NULL, *head = NULL, *mt_out = NULL, *msg = NULL;
	const char *rev[] = {"git", "rev-parse", "--verify", "HEAD^{commit}", NULL};
	_cleanup_free_ char *head_ref = NULL;
	const char *sym[] = {"git", "symbolic-ref", "--quiet", "HEAD", NULL};
	int r = worktree_git(root, sym, &head_ref, NULL);
	if (r < 0 || strncmp(head_ref, "refs/heads/", 11) != 0)
		return rv_error_set(err, EINVAL,
				    "cannot merge task %lld: the project is not on a branch "
				    "(detached HEAD); check out the branch to merge into first",
				    id);
	_cleanup_free_ char *task_ref = xasprintf("refs/heads/%s", tg->branch);
	if (!strcmp(head_ref, task_ref))
		return rv_error_set(
			err, EINVAL,
			"cannot merge task %lld: the project has its branch '%s' checked "
			"out; check out the branch to merge into first",
			id, tg->branch);
	res.into = xstrdup(head_ref + 11);

	char **changed = NULL;
	size_t n_changed = 0;
	if ((r = user_changes(root, &changed, &n_changed, err)) < 0)
		goto fail;
	if (n_changed) {
		_cleanup_free_ char *names = name_some(changed, n_changed, n_changed);
		r = rv_error_set(
			err, EBUSY,
			"cannot merge task %lld into '%s': your working tree has %zu "
			"uncommitted change(s) (%s); commit or stash them, then run 'rover "
			"merge %lld' again",
			id, res.into, n_changed, names, id);
		list_free(changed, n_changed);
		goto fail;
	}
	if ((r = taskgit_snapshot(tg, &res.snap, err)) < 0)
		goto fail;
	if ((r = work_commit(tg, &res.snap, &work, &res.snapshot, err)) < 0)
		goto fail;
	if ((r = worktree_git(root, rev, &head, err)) < 0)
		goto fail;
	bool merged = false;
	if ((r = worktree_is_ancestor(root, work, head, &merged, err)) < 0)
		goto fail;
	if (merged) {
		res.already = true;
		res.commit = TAKE_PTR(head);
		*ret = res;
		return 0;
	}

	/* The conflict check writes objects only: no ref, index or file. */
	int st = 0;
	struct worktree_git_opts o = {.cwd = root, .timeout_s = timeout_s(), .ret_status = &st};
	const char *mt[] = {"git",           "merge-tree", "--write-tree", "--name-only", "-z",
			    "--no-messages", head,         work,           NULL};
	size_t mt_len = 0;
	if ((r = worktree_git_run(&o, mt, &mt_out, &mt_len, err)) < 0)
		goto fail;
	if (st > 1) {
		r = rv_error_set(err, EIO,
				 "cannot merge task %lld: git merge-tree failed (exit "
				 "status %d)",
				 id, st);
		goto fail;
	}
	if (st != 0) {
		_cleanup_free_ char *tree = NULL;
		char **paths = NULL;
		size_t np = 0;
		taskgit_parse_merge_tree(mt_out, mt_len, &tree, &paths, &np);
		_cleanup_free_ char *names = name_some(paths, np, np);
		list_free(paths, np);
		r = rv_error_set(
			err, EEXIST,
			"cannot merge task %lld into '%s': it conflicts with your branch "
			"in %zu file(s) (%s); nothing was changed. Merge by hand ('git merge "
			"%s' has its commits, 'rover diff %lld' shows all of its work)",
			id, res.into, np, names, tg->branch, id);
		goto fail;
	}

	msg = xasprintf("Merge rover task %lld: %s", id, tg->title);
	const char *merge[] = {"git", "merge", "--quiet", "--no-ff", "--no-edit",
			       "-m",  msg,     work,      NULL};
	struct worktree_git_opts om = {.cwd = root, .env = worktree_identity_env(root)};
	r = worktree_git_run(&om, merge, NULL, NULL, err);
	if (r < 0) {
		/* git refuses before it writes (an untracked file in the way);
		 * a merge it left half-done is undone. */
		const char *mh[] = {"git", "rev-parse", "--verify", "--quiet", "MERGE_HEAD", NULL};
		if (worktree_git(root, mh, NULL, NULL) == 0) {
			const char *abort_[] = {"git", "merge", "--abort", NULL};
			(void)worktree_git(root, abort_, NULL, NULL);
		}
		rv_error_wrap(err, "cannot merge task %lld into '%s'", id, res.into);
		goto fail;
	}
	if ((r = worktree_git(root, rev, &res.commit, err)) < 0)
		goto fail;
	if (res.snapshot) {
		_cleanup_error_ struct rv_error *ue = NULL;
		if (advance_branch(tg, &res.snap, res.snapshot, &ue) < 0)
			res.warning = xasprintf("the merge is done, but branch '%s' was not moved "
						"to its commit %.12s: %s",
						tg->branch, res.snapshot, rv_error_msg(ue));
	}
	*ret = res;
	return 0;
fail:
	taskgit_merge_result_release(&res);
	return r;
}

void taskgit_merge_result_release(struct taskgit_merge_result *r)
{
	free(r->into);
	free(r->commit);
	free(r->snapshot);
	free(r->warning);
	taskgit_snapshot_release(&r->snap);
	memset(r, 0, sizeof(*r));
}

/* ---- push --------------------------------------------------------------- */

int taskgit_push(const struct taskgit_task *tg, const char *remote, struct taskgit_push_result *ret,
		 struct rv_error **err)
{
	struct taskgit_push_result res = {0};
	const char *root = tg->root;
	long long id = (long long)tg->id;
	_cleanup_free_ char *spec =
		xasprintf("refs/heads/%s:refs/heads/%s", tg->branch, tg->branch);
	int r;
	if (remote && *remote) {
		res.remote = xstrdup(remote);
	} else {
		_cleanup_free_ char *key = xasprintf("branch.%s.remote", tg->branch);
		const char *cfg[] = {"git", "config", "--get", key, NULL};
		if (worktree_git(root, cfg, &res.remote, NULL) < 0 || !*res.remote) {
			free(res.remote);
			res.remote = xstrdup("origin");
		}
	}
	const char *url[] = {"git", "remote", "get-url", res.remote, NULL};
	if (worktree_git(root, url, NULL, NULL) < 0) {
		r = rv_error_set(err, ENOENT,
				 "cannot push task %lld: the project has no remote '%s'; name one "
				 "with --remote (see 'git remote -v')",
				 id, res.remote);
		goto fail;
	}
	if ((r = taskgit_snapshot(tg, &res.snap, err)) < 0)
		goto fail;
	if ((r = work_commit(tg, &res.snap, &res.commit, &res.snapshot, err)) < 0)
		goto fail;
	if (res.snapshot && (r = advance_branch(tg, &res.snap, res.snapshot, err)) < 0) {
		rv_error_wrap(err, "cannot commit the uncommitted work of task %lld on '%s'", id,
			      tg->branch);
		goto fail;
	}
	const char *push[] = {"git", "push", "--quiet", "--", res.remote, spec, NULL};
	if ((r = worktree_git(root, push, NULL, err)) < 0) {
		rv_error_wrap(err, "cannot push task %lld's branch '%s' to '%s'", id, tg->branch,
			      res.remote);
		goto fail;
	}
	*ret = res;
	return 0;
fail:
	taskgit_push_result_release(&res);
	return r;
}

void taskgit_push_result_release(struct taskgit_push_result *r)
{
	free(r->remote);
	free(r->commit);
	free(r->snapshot);
	taskgit_snapshot_release(&r->snap);
	memset(r, 0, sizeof(*r));
}

/* ---- loss ----------------------------------------------------------------- */

/* Count one more item; keep it (owned) only among the first named ones. */
static void count_named(char ***list, size_t *total, char *item)
{
	if (*total < TASKGIT_LOSS_NAMED) {
		size_t kept = *total;
		list_add(list, &kept, item);
	} else {
		free(item);
	}
	(*total)++;
}

int taskgit_loss(const struct taskgit_task *tg, struct taskgit_loss *ret, struct rv_error **err)
{
	struct taskgit_loss l = {0};
	const char *root = tg->root;
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", tg->branch);
	_cleanup_free_ char *tip = rev_quiet(root, ref);
	int r = 0;
	if (tip) {
		/* Commits reachable from no other branch, local or remote. */
		_cleanup_free_ char *excl = xasprintf("--exclude=%s", tg->branch);
		const char *argv[] = {
			"git",   "rev-list", "--no-commit-header", "--format=%h %s", tip,
			"--not", excl,       "--branches",         "--remotes",      NULL};
		_cleanup_free_ char *out = NULL;
		if ((r = git_out(root, argv, &out, NULL, err)) < 0)
			goto fail;
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
			count_named(&l.commits, &l.n_commits, xstrdup(line));
		}
	}
	if (tg->workspace && fileio_is_dir(tg->workspace)) {
		struct taskgit_snapshot s = {0};
		if ((r = taskgit_snapshot(tg, &s, err)) < 0)
			goto fail;
		if (s.dirty) {
			_cleanup_free_ char *from = xasprintf("%s^{tree}", s.tip);
			const char *argv[] = {"git",          "diff-tree",     "-r",
					      "--no-renames", "--name-status", "-z",
					      from,           s.tree,          NULL};
			_cleanup_free_ char *out = NULL;
			size_t len = 0;
			r = git_out(root, argv, &out, &len, err);
			for (size_t i = 0; r == 0 && i < len;) {
				const char *st = out + i;
				size_t sl = strnlen(st, len - i);
				i += sl + 1;
				if (i >= len)
					break;
				const char *p = out + i;
				i += strnlen(p, len - i) + 1;
				count_named(&l.changes, &l.n_changes, xasprintf("%s %s", st, p));
			}
		}
		for (size_t i = 0; r == 0 && i < s.n_skipped; i++) {
			if (!s.skipped_work[i])
				continue;
			count_named(&l.changes, &l.n_changes, xasprintf("? %s", s.skipped[i]));
		}
		taskgit_snapshot_release(&s);
		if (r < 0)
			goto fail;
	}
	*ret = l;
	return 0;
fail:
	taskgit_loss_release(&l);
	return rv_error_wrap(err, "cannot tell whether deleting task %lld loses work",
			     (long long)tg->id);
}

bool taskgit_loss_any(const struct taskgit_loss *l)
{
	return l->n_commits || l->n_changes;
}

char *taskgit_loss_describe(const struct taskgit_loss *l, const char *branch)
{
	_cleanup_free_ char *commits = NULL, *changes = NULL;
	size_t nc = l->n_commits < TASKGIT_LOSS_NAMED ? l->n_commits : TASKGIT_LOSS_NAMED;
	size_t nf = l->n_changes < TASKGIT_LOSS_NAMED ? l->n_changes : TASKGIT_LOSS_NAMED;
	if (l->n_commits) {
		_cleanup_free_ char *names = name_some(l->commits, nc, l->n_commits);
		commits = xasprintf("%zu commit(s) on %s and no other branch (%s)", l->n_commits,
				    branch, names);
	}
	if (l->n_changes) {
		_cleanup_free_ char *names = name_some(l->changes, nf, l->n_changes);
		changes = xasprintf("%zu uncommitted change(s) in its workspace (%s)", l->n_changes,
				    names);
	}
	if (commits && changes)
		return xasprintf("%s; %s", commits, changes);
	return xstrdup(commits ? commits : changes ? changes : "nothing");
}

void taskgit_loss_release(struct taskgit_loss *l)
{
	size_t nc = l->n_commits < TASKGIT_LOSS_NAMED ? l->n_commits : TASKGIT_LOSS_NAMED;
	size_t nf = l->n_changes < TASKGIT_LOSS_NAMED ? l->n_changes : TASKGIT_LOSS_NAMED;
	list_free(l->commits, nc);
	list_free(l->changes, nf);
	memset(l, 0, sizeof(*l));
}

/* ---- the task record ------------------------------------------------------ */

int taskgit_check_idle(const struct task *t, const char *verb, struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (s == TASK_NEW)
		return rv_error_set(err, EBUSY, "cannot %s task %lld: it has not run yet (NEW)",
				    verb, (long long)t->id);
	if (task_status_is_running(s))
		return rv_error_set(err, EBUSY,
				    "cannot %s task %lld: its container is running (%s); wait for "
				    "it to finish, or stop it with 'rover stop %lld'",
				    verb, (long long)t->id, task_status_name(s), (long long)t->id);
	return 0;
}

static int mark_status(struct task *t, void *userdata, struct rv_error **err)
{
	enum task_status to = *(enum task_status *)userdata;
	if (!task_transition_allowed(task_status(t), to))
		return TASK_UPDATE_SKIP;
	return task_set_status(t, to, NULL, TASK_PAUSE_NONE, timeutil_now_ms(), err);
}

int taskgit_mark(const struct task_store *st, int64_t id, enum task_status to,
		 struct rv_error **err)
{
	return task_store_update(st, id, mark_status, &to, NULL, err);
}
