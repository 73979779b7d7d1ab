/*
 * worktree.c - a task's workspace (worktree.h): creating it, importing its
 * branch into the project, restoring and removing it.  Every git command
 * here goes through the hardened runner in worktree_git.c.
 */
#define _GNU_SOURCE
#include "worktree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strbuf.h"
#include "supervisor/lib/hardening.h"

/* Keep an in-project store out of the project's `git status`. */
static void exclude_store(const char *root, const char *store_dir)
{
	size_t lr = strlen(root);
	if (strncmp(store_dir, root, lr) != 0 || store_dir[lr] != '/')
		return;
	const char *rel = store_dir + lr + 1;
	_cleanup_free_ char *exclude = xasprintf("%s/.git/info/exclude", root);
	_cleanup_free_ char *text = NULL;
	if (fileio_read_bounded(exclude, 1 << 20, &text, NULL, NULL) < 0)
		text = xstrdup("");
	_cleanup_free_ char *line = xasprintf("/%s/", rel);
	if (strstr(text, line))
		return;
	_cleanup_free_ char *info = xasprintf("%s/.git/info", root);
	if (fileio_mkdir_p(info, 0755, NULL) < 0)
		return;
	size_t l = strlen(text);
	_cleanup_free_ char *next = xasprintf("%s%s# rover's task store\n%s\n", text,
					      l && text[l - 1] != '\n' ? "\n" : "", line);
	(void)fileio_write_atomic(exclude, next, strlen(next), 0644, NULL);
}

/* True when path/.git is a directory itself, not a symlink or a file. */
static bool has_own_git_dir(const char *path)
{
	_cleanup_free_ char *dotgit = fileio_join(path, ".git");
	struct stat s;
	return lstat(dotgit, &s) == 0 && S_ISDIR(s.st_mode);
}

static int common_dir(const char *root, char **ret, struct rv_error **err)
{
	/* The common case needs no git: a project whose .git is a directory of
	 * its own (not a linked worktree's, which has a `commondir` file). */
	_cleanup_free_ char *dotgit = fileio_join(root, ".git");
	_cleanup_free_ char *commondir = fileio_join(dotgit, "commondir");
	struct stat s;
	if (root[0] == '/' && lstat(dotgit, &s) == 0 && S_ISDIR(s.st_mode) &&
	    lstat(commondir, &s) < 0 && errno == ENOENT) {
		*ret = TAKE_PTR(dotgit);
		return 0;
	}
	const char *argv[] = {"git", "rev-parse", "--path-format=absolute", "--git-common-dir",
			      NULL};
	return worktree_git(root, argv, ret, err);
}

int worktree_shared_objects(const char *root, char **ret, struct rv_error **err)
{
	_cleanup_free_ char *common = NULL;
	int r = common_dir(root, &common, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot find the object directory of '%s'", root);
	*ret = fileio_join(common, "objects");
	return 0;
}

static int branch_exists(const char *root, const char *branch)
{
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", branch);
	const char *argv[] = {"git", "rev-parse", "--verify", "--quiet", ref, NULL};
	return worktree_git(root, argv, NULL, NULL) == 0;
}

/* A file that must not exist yet, in a repository being assembled (no
 * fsync: a crash leaves the whole assembly directory, which is discarded). */
static int write_new(const char *dir, const char *name, const char *text, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(dir, name);
	_cleanup_close_ int fd =
		open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fileio_write_all(fd, text, strlen(text)) < 0)
		return rv_error_errno(err, errno, "cannot write '%s'", path);
	return 0;
}

/* A new repository at dest borrowing root's objects (what `git clone
 * --shared` makes), HEAD on `branch` at `start`, nothing checked out yet.
 * Written here rather than by `git clone`: a clone costs three processes
 * and a pack negotiation through upload-pack, most of a task's start-up
 * beside the engine's own (bench/task_overhead.sh).  The layout is git's
 * documented repository format 0 (gitrepository-layout(5)): HEAD, config,
 * objects/ with info/alternates naming the project's object directory,
 * refs/.  Only the task's branch exists in it. */
static int clone_shared(const char *root, const char *dest, const char *branch, const char *start,
			struct rv_error **err)
{
	_cleanup_free_ char *objects = NULL;
	int r = worktree_shared_objects(root, &objects, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *git = fileio_join(dest, ".git");
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", branch);
	_cleanup_free_ char *ref_path = fileio_join(git, ref);
	_cleanup_free_ char *ref_dir = fileio_dirname(ref_path);
	_cleanup_free_ char *info = fileio_join(git, "objects/info");
	_cleanup_free_ char *pack = fileio_join(git, "objects/pack");
	_cleanup_free_ char *tags = fileio_join(git, "refs/tags");
	const char *dirs[] = {info, pack, tags, ref_dir};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		r = fileio_mkdir_p(dirs[i], 0755, err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *head = xasprintf("ref: %s\n", ref);
	_cleanup_free_ char *alternates = xasprintf("%s\n", objects);
	_cleanup_free_ char *tip = xasprintf("%s\n", start);
	static const char config[] = "[core]\n"
				     "\trepositoryformatversion = 0\n"
				     "\tfilemode = true\n"
				     "\tbare = false\n"
				     "\tlogallrefupdates = true\n";
	if ((r = write_new(git, "config", config, err)) < 0 ||
	    (r = write_new(info, "alternates", alternates, err)) < 0 ||
	    (r = write_new(git, ref, tip, err)) < 0 || (r = write_new(git, "HEAD", head, err)) < 0)
		return r;
	return 0;
}

/* Where a workspace is assembled before it appears at path: a crash leaves
 * this, never a half-made workspace (removed by the next attempt). */
static char *assembly_path(const char *path)
{
	_cleanup_free_ char *dir = fileio_dirname(path);
	const char *base = strrchr(path, '/');
	return xasprintf("%s/.%s.new", dir, base ? base + 1 : path);
}

/* The workspace at path (which must not exist), checked out on branch at
 * start. */
static int make_workspace(const char *root, const char *path, const char *branch, const char *start,
			  struct rv_error **err)
{
	_cleanup_free_ char *tmp = assembly_path(path);
	(void)fileio_remove_tree(tmp, NULL);
	int r = clone_shared(root, tmp, branch, start, err);
	if (r == 0) {
		const char *co[] = {"git", "checkout", "--quiet", "--force", branch, NULL};
		r = worktree_git(tmp, co, NULL, err);
	}
	if (r == 0 && rename(tmp, path) < 0)
		r = rv_error_errno(err, errno, "cannot move '%s' to '%s'", tmp, path);
	if (r < 0)
		(void)fileio_remove_tree(tmp, NULL);
	return r;
}

void worktree_discard_partial(const char *path)
{
	if (!path || !*path)
		return;
	_cleanup_free_ char *tmp = assembly_path(path);
	(void)fileio_remove_tree(tmp, NULL);
}

int worktree_head(const char *root, char **ret, struct rv_error **err)
{
	const char *rev[] = {"git", "rev-parse", "--verify", "HEAD^{commit}", NULL};
	int r = worktree_git(root, rev, ret, err);
	if (r < 0)
		return rv_error_wrap(err,
				     "the project '%s' has no commit to start a task from "
				     "(make one first)",
				     root);
	return 0;
}

int worktree_create(const char *root, const char *store_dir, int64_t id, struct worktree *ret,
		    struct rv_error **err)
{
	_cleanup_free_ char *dir = fileio_join(store_dir, "workspaces");
	int r = fileio_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	exclude_store(root, store_dir);
	_cleanup_free_ char *path = xasprintf("%s/%lld", dir, (long long)id);
	_cleanup_free_ char *branch = xasprintf("rover/task-%lld", (long long)id);
	_cleanup_free_ char *base = NULL;
	r = worktree_head(root, &base, err);
	if (r < 0)
		return r;
	/* Fails when the branch exists: it would hold someone's work. */
	const char *mk[] = {"git", "branch", "--no-track", branch, base, NULL};
	r = worktree_git(root, mk, NULL, err);
	if (r < 0)
		return r;
	r = make_workspace(root, path, branch, base, err);
	if (r < 0) {
		/* Leave nothing half-made: no directory, no branch. */
		const char *del[] = {"git", "branch", "-D", branch, NULL};
		(void)worktree_git(root, del, NULL, NULL);
		return rv_error_wrap(err, "cannot create the workspace '%s'", path);
	}
	ret->path = TAKE_PTR(path);
	ret->branch = TAKE_PTR(branch);
	ret->base_commit = TAKE_PTR(base);
	return 0;
}

char *worktree_import_ref(const char *branch)
{
	return xasprintf("refs/rover/imported/%s", branch);
}

/* The commit rev names, or NULL when there is none. */
static char *rev_parse_quiet(const char *root, const char *rev)
{
	_cleanup_free_ char *spec = xasprintf("%s^{commit}", rev);
	const char *argv[] = {"git", "rev-parse", "--verify", "--quiet", spec, NULL};
	char *out = NULL;
	if (worktree_git(root, argv, &out, NULL) < 0 || !*out) {
		free(out);
		return NULL;
	}
	return out;
}

int worktree_is_ancestor(const char *root, const char *a, const char *b, bool *ret,
			 struct rv_error **err)
{
	int st = 0;
	struct worktree_git_opts o = {.cwd = root, .ret_status = &st};
	const char *argv[] = {"git", "merge-base", "--is-ancestor", a, b, NULL};
	int r = worktree_git_run(&o, argv, NULL, NULL, err);
	if (r < 0)
		return r;
	if (st > 1)
		return rv_error_set(err, EIO, "git merge-base failed (exit status %d)", st);
	*ret = st == 0;
	return 0;
}

/* The worktree of the project that has ref checked out, or NULL. */
static char *checked_out_in(const char *root, const char *ref)
{
	const char *argv[] = {"git", "worktree", "list", "--porcelain", "-z", NULL};
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	struct worktree_git_opts o = {.cwd = root};
	if (worktree_git_run(&o, argv, &out, &len, NULL) < 0)
		return NULL;
	_cleanup_free_ char *want = xasprintf("branch %s", ref);
	const char *wt = NULL;
	for (size_t i = 0; i < len;) {
		const char *line = out + i;
		size_t l = strnlen(line, len - i);
		if (!strncmp(line, "worktree ", 9))
			wt = line + 9;
		else if (!strcmp(line, want))
			return xstrdup(wt ? wt : root);
		i += l + 1;
	}
	return NULL;
}

const char *const *worktree_identity_env(const char *root)
{
	static const char *const fallback[] = {
		"GIT_AUTHOR_NAME=rover", "GIT_AUTHOR_EMAIL=rover@localhost",
		"GIT_COMMITTER_NAME=rover", "GIT_COMMITTER_EMAIL=rover@localhost", NULL};
	const char *probe[] = {"git", "var", "GIT_AUTHOR_IDENT", NULL};
	const char *probe2[] = {"git", "var", "GIT_COMMITTER_IDENT", NULL};
	if (worktree_git(root, probe, NULL, NULL) < 0 || worktree_git(root, probe2, NULL, NULL) < 0)
		return fallback;
	return NULL;
}

int worktree_commit_tree(const char *root, const char *tree, const char *const *parents,
			 const char *message, char **ret, struct rv_error **err)
{
	const char *argv[16];
	size_t k = 0;
	argv[k++] = "git";
	argv[k++] = "commit-tree";
	argv[k++] = tree;
	for (size_t i = 0; parents && parents[i] && k < 12; i++) {
		argv[k++] = "-p";
		argv[k++] = parents[i];
	}
	argv[k++] = "-m";
	argv[k++] = message;
	argv[k] = NULL;
	struct worktree_git_opts o = {.cwd = root, .env = worktree_identity_env(root)};
	_cleanup_free_ char *out = NULL;
	int r = worktree_git_run(&o, argv, &out, NULL, err);
	if (r < 0)
		return r;
	out[strcspn(out, "\n")] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

/* Where the project's branch goes after an import of the workspace's tip
 * w.  prev: the tip imported last time (NULL: none recorded), tip: the
 * branch now (NULL: none).  docs/design/user-loop.md explains the cases. */
static int import_target(const char *root, const char *branch, const char *prev, const char *tip,
			 const char *w, char **ret, struct rv_error **err)
{
	bool anc = false;
	int r;
	/* Nobody moved the branch since the last import (or it is new): the
	 * workspace's branch is the task's, even rewritten. */
	if (!tip || !prev || !strcmp(tip, prev) || !strcmp(tip, w)) {
		*ret = xstrdup(w);
		return 0;
	}
	/* The branch moved in the project (a snapshot commit of rover merge or
	 * push, or the user's own commit) and the agent made nothing new. */
	if (!strcmp(w, prev)) {
		*ret = xstrdup(tip);
		return 0;
	}
	if ((r = worktree_is_ancestor(root, w, tip, &anc, err)) < 0)
		return r;
	if (anc) {
		*ret = xstrdup(tip);
		return 0;
	}
	if ((r = worktree_is_ancestor(root, tip, w, &anc, err)) < 0)
		return r;
	if (anc) {
		*ret = xstrdup(w);
		return 0;
	}
	/* Both moved: the agent's files win (they are the workspace as it is,
	 * including whatever it did with the files rover committed), and the
	 * project's commits stay in the history as the second parent. */
	_cleanup_free_ char *tree_spec = xasprintf("%s^{tree}", w);
	_cleanup_free_ char *msg = xasprintf("rover: import the agent's new commits on %s "
					     "(keeping the commits made in the project)",
					     branch);
	const char *parents[] = {w, tip, NULL};
	return worktree_commit_tree(root, tree_spec, parents, msg, ret, err);
}

/* The commits refs a and b name (NULL for a missing one), in one git
 * process: an import reads both before its fetch. */
static void read_two_refs(const char *root, const char *a, const char *b, char **ret_a,
			  char **ret_b)
{
	const char *argv[] = {"git", "for-each-ref", "--format=%(objectname) %(refname)", a, b,
			      NULL};
	_cleanup_free_ char *out = NULL;
	*ret_a = *ret_b = NULL;
	if (worktree_git(root, argv, &out, NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		/* for-each-ref also matches refs below a pattern: exact names only */
		if (!strcmp(sp + 1, a) && !*ret_a)
			*ret_a = xstrdup(line);
		else if (!strcmp(sp + 1, b) && !*ret_b)
			*ret_b = xstrdup(line);
	}
}

static bool is_full_hex_id(const char *s)
{
	size_t n = s ? strspn(s, "0123456789abcdef") : 0;
	return (n == 40 || n == 64) && s[n] == '\0';
}

/* Entries of a workspace's .git looked at before an import, at most. */
#define WORKTREE_GIT_DIR_MAX_ENTRIES 1000000
#define WORKTREE_GIT_DIR_MAX_DEPTH 64

/* Whether the directory dfd (shown as `shown`) holds, at any depth,
 * anything but regular files and directories: the first such entry goes to
 * *ret_what (newly allocated).  Nothing is followed or opened but
 * directories (O_NOFOLLOW); *budget counts the entries left to look at. */
static bool planted_below(int dfd, const char *shown, int depth, long *budget, char **ret_what)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		*ret_what = xasprintf("%s (unreadable)", shown);
		return true;
	}
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *name = xasprintf("%s/%s", shown, de->d_name);
		unsigned char type = de->d_type;
		struct stat st;
		if (type == DT_UNKNOWN)
			type = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
				       ? DT_UNKNOWN
			       : S_ISREG(st.st_mode) ? DT_REG
			       : S_ISDIR(st.st_mode) ? DT_DIR
						     : DT_UNKNOWN;
		if (--*budget < 0) {
			*ret_what = xasprintf("%s (more than %d entries)", shown,
					      WORKTREE_GIT_DIR_MAX_ENTRIES);
			found = true;
		} else if (type == DT_DIR && depth < WORKTREE_GIT_DIR_MAX_DEPTH) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				found = planted_below(sub, name, depth + 1, budget, ret_what);
			} else {
				*ret_what = TAKE_PTR(name);
				found = true;
			}
		} else if (type != DT_REG) {
			*ret_what = TAKE_PTR(name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The workspace's git directory as the import's git will read it: git
 * upload-pack opens every ref, packed-refs and the objects it sends with a
 * plain open(), so a FIFO anywhere there would block the import - and the
 * list, inspect or supervisor pass that runs it - for ever, and a symlink
 * would send it outside the workspace.  NULL when it holds only regular
 * files and directories, else the first other entry (newly allocated). */
static char *git_dir_planted(const char *git_dir)
{
	int fd = open(git_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return xasprintf("%s (%s)", git_dir, strerror(errno));
	long budget = WORKTREE_GIT_DIR_MAX_ENTRIES;
	char *what = NULL;
	return planted_below(fd, git_dir, 0, &budget, &what) ? what : NULL;
}

/* The regular file rel of the workspace's git directory (opened by
 * descriptor, nothing followed, O_NONBLOCK against a FIFO swapped in since
 * the walk), at most max bytes: 0 and *ret_text, -ENOENT, or another
 * -errno (EINVAL for something not a regular file, EFBIG above max). */
static int read_git_file(int git_fd, const char *rel, size_t max, char **ret_text)
{
	_cleanup_free_ char *dir_rel = xstrdup(rel);
	char *slash = strrchr(dir_rel, '/');
	const char *name = rel;
	_cleanup_close_ int dir = -1;
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		dir = fileio_open_dir_beneath(git_fd, dir_rel);
		if (dir < 0)
			return dir == -ENOENT || dir == -ENOTDIR ? -ENOENT : dir;
	}
	_cleanup_close_ int fd = openat(slash ? dir : git_fd, name,
					O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return fileio_read_fd(fd, rel, max, max < 4096 ? max : 4096, ret_text, NULL, NULL);
}

/* A section header of a git config line ("[include]", "[includeIf ...]"),
 * compared without case as git does. */
static bool config_line_includes(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != '[')
		return false;
	i++;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return len - i >= 7 && !strncasecmp(line + i, "include", 7);
}

/* path with "." components and repeated slashes taken out; NULL for a
 * relative path or one with ".." (newly allocated). */
static char *plain_absolute(const char *path)
{
	if (path[0] != '/')
		return NULL;
	struct strbuf b = STRBUF_INIT;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2)) {
			strbuf_release(&b);
			return NULL;
		}
		if (n && !(n == 1 && *p == '.')) {
			strbuf_add(&b, "/", 1);
			strbuf_add(&b, p, n);
		}
		p += n;
	}
	if (!b.len)
		strbuf_add(&b, "/", 1);
	return strbuf_detach(&b, NULL);
}

/* The project's object directory, symlinks resolved; NULL if unknown. */
static char *project_objects_real(const char *root)
{
	char *objects = NULL;
	if (worktree_shared_objects(root, &objects, NULL) < 0)
		return NULL;
	char *real = realpath(objects, NULL);
	free(objects);
	return real;
}

/* Every line of an alternates file (text; NULL: unreadable) names the
 * project's object directory, as rover (or an older rover's `git clone
 * --shared`) wrote it: an absolute path without symlinks or "..", so no
 * part of it lies in the workspace for the container to swap after this
 * look.  Comment lines (#) are ignored, as git does. */
static bool alternates_only_project(const char *text, const char *root)
{
	_cleanup_free_ char *want = text ? project_objects_real(root) : NULL;
	if (!want)
		return false;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, n);
		p += n + (p[n] == '\n');
		if (!*line || line[0] == '#')
			continue;
		_cleanup_free_ char *plain = plain_absolute(line);
		_cleanup_free_ char *real = plain ? realpath(plain, NULL) : NULL;
		if (!real || strcmp(real, plain) || strcmp(real, want))
			return false;
	}
	return true;
}

/* What in the workspace's git directory would send the import's git
 * elsewhere, or NULL.  git upload-pack reads the repository's config (whose
 * includes name files anywhere, a FIFO among them), its commondir (another
 * git directory) and the object directories its alternates name (a FIFO
 * for a pack index there blocks it for ever): the workspace may name only
 * the project's objects, as rover wrote them, and nothing else. */
static char *git_dir_redirect(const char *git_dir, const char *root)
{
	_cleanup_close_ int fd = open(git_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return xasprintf("%s (%s)", git_dir, strerror(errno));
	_cleanup_free_ char *alternates = NULL, *config = NULL;
	int r = read_git_file(fd, "objects/info/alternates", 64 * 1024, &alternates);
	if (r != -ENOENT && !alternates_only_project(r == 0 ? alternates : NULL, root))
		return xasprintf("objects/info/alternates names object directories other than "
				 "the project's");
	static const char *const never[] = {"objects/info/http-alternates", "commondir"};
	for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
		struct stat st;
		if (fstatat(fd, never[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			return xasprintf("%s exists (rover never writes one)", never[i]);
	}
	r = read_git_file(fd, "config", 1024 * 1024, &config);
	if (r < 0 && r != -ENOENT)
		return xasprintf("config cannot be read (%s)", strerror(-r));
	for (const char *p = config; p && *p;) {
		size_t n = strcspn(p, "\n");
		if (config_line_includes(p, n))
			return xasprintf("config includes other files ([include] or [includeIf])");
		p += n + (p[n] == '\n');
	}
	return NULL;
}

/* The commit the workspace's loose ref refs/heads/<branch> names, read
 * without git and without following anything (each directory O_NOFOLLOW,
 * the file regular and at most 128 bytes, O_NONBLOCK against a FIFO); NULL
 * when it is not a loose ref holding a full hex id.  The workspace is the
 * container's: the value is only a hint (see worktree_sync). */
static char *workspace_loose_ref(const char *path, const char *branch)
{
	_cleanup_free_ char *git_dir = fileio_join(path, ".git");
	_cleanup_close_ int git_fd = open(git_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (git_fd < 0)
		return NULL;
	_cleanup_free_ char *rel = xasprintf("refs/heads/%s", branch);
	_cleanup_free_ char *text = NULL;
	if (read_git_file(git_fd, rel, 128, &text) < 0 || !text)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return is_full_hex_id(text) ? TAKE_PTR(text) : NULL;
}

/* Nothing new to import: the workspace's loose ref names the commit
 * imported last time (prev), or, before the first import, the project's
 * branch (tip), whose import is then only recorded.  This spares the usual
 * stop of a task that committed nothing its fetch (three processes and a
 * pack negotiation).  The hint can lie: a container that makes it name the
 * old commit only keeps its own new commits out of the project, which it
 * could do anyway by not committing them; a fetch would move nothing. */
static bool import_is_noop(const char *root, const char *path, const char *branch,
			   const char *imported, const char *prev, const char *tip)
{
	_cleanup_free_ char *hint = workspace_loose_ref(path, branch);
	if (!hint)
		return false;
	if (prev)
		return !strcmp(hint, prev);
	if (!tip || strcmp(hint, tip))
		return false;
	const char *record[] = {"git",    "update-ref", "-m", "rover: import the task's commits",
				imported, tip,          "",   NULL};
	return worktree_git(root, record, NULL, NULL) == 0;
}

int worktree_sync(const char *root, const char *path, const char *branch, struct rv_error **err)
{
	if (!branch || !*branch || !path || !*path)
		return 0;
	if (!has_own_git_dir(path))
		return rv_error_set(err, EPERM,
				    "the workspace '%s' no longer has a .git directory of its own "
				    "(replaced in the container?); its commits were not imported",
				    path);
	_cleanup_free_ char *src = fileio_join(path, ".git");
	_cleanup_free_ char *planted = git_dir_planted(src);
	if (planted)
		return rv_error_set(
			err, EPERM,
			"the workspace's git directory holds '%s', which is not a regular "
			"file or directory (planted in the container?); its commits were "
			"not imported",
			planted);
	_cleanup_free_ char *redirect = git_dir_redirect(src, root);
	if (redirect)
		return rv_error_set(err, EPERM,
				    "the workspace's git directory was changed to read elsewhere: "
				    "%s (done in the container?); its commits were not imported",
				    redirect);
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", branch);
	/* Fetched into a ref of rover's own first: the project's branch may
	 * have moved since the last import (rover merge/push committed the
	 * workspace's uncommitted files on it), and that must not be lost. */
	_cleanup_free_ char *imported = worktree_import_ref(branch);
	_cleanup_free_ char *prev = NULL, *tip = NULL;
	read_two_refs(root, imported, ref, &prev, &tip);
	if (import_is_noop(root, path, branch, imported, prev, tip))
		return 0;
	_cleanup_free_ char *spec = xasprintf("+%s:%s", ref, imported);
	/* The workspace belongs to the container's user, so upload-pack is told
	 * that this one directory is safe to serve: upload-pack is made to be
	 * run in untrusted repositories (git(1), SECURITY). */
	const char *fetch[] = {"git", "-c", "fetch.fsckObjects=true", "fetch", "--quiet",
			       "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
			       /* the user's own git keeps the project tidy; a task's
				  stop should not pay for `git maintenance` */
			       "--no-auto-maintenance",
			       "--upload-pack=git -c safe.directory=* upload-pack", src, spec,
			       NULL};
	/* What cannot be checked beforehand (a file swapped for a FIFO while
	 * git reads, a huge one) meets the deadline. */
	struct worktree_git_opts go = {.cwd = root, .timeout_s = worktree_git_timeout_s()};
	_cleanup_error_ struct rv_error *fetch_err = NULL;
	int r = worktree_git_run(&go, fetch, NULL, NULL, &fetch_err);
	if (r < 0) {
		/* A workspace whose branch is gone (the agent deleted or renamed
		 * it) has nothing to import: asked through upload-pack too, never
		 * by reading the workspace's files.  Only after a failed fetch, so
		 * the usual import costs one fetch. */
		const char *probe[] = {
			"git",     "ls-remote", "--upload-pack=git -c safe.directory=* upload-pack",
			"--heads", src,         ref,
			NULL};
		_cleanup_free_ char *heads = NULL;
		if (r != -ETIMEDOUT && worktree_git_run(&go, probe, &heads, NULL, NULL) == 0 &&
		    !*heads)
			return 0;
		int code = fetch_err ? fetch_err->code : EIO;
		rv_error_pass(err, &fetch_err);
		rv_error_wrap(err, "cannot import the commits of '%s' into branch '%s'", path,
			      branch);
		return -code;
	}
	_cleanup_free_ char *w = rev_parse_quiet(root, imported);
	if (!w)
		return rv_error_set(err, EIO, "cannot read the imported ref '%s'", imported);
	_cleanup_free_ char *target = NULL;
	r = import_target(root, branch, prev, tip, w, &target, err);
	/* !target never holds (import_target sets it whenever it returns 0);
	 * gcc -fanalyzer, which cannot see into worktree_git.c, needs telling. */
	if (r < 0 || !target || !strcmp(target, tip ? tip : ""))
		return r;
	_cleanup_free_ char *where = checked_out_in(root, ref);
	if (where)
		return rv_error_set(
			err, EIO,
			"branch '%s' is checked out in '%s', so it was not updated; the "
			"agent's commits are in '%s'",
			branch, where, imported);
	const char *update[] = {
		"git", "update-ref", "-m",           "rover: import the task's commits",
		ref,   target,       tip ? tip : "", NULL};
	r = worktree_git(root, update, NULL, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot update branch '%s'", branch);
	return 0;
}

/* An older rover made workspaces linked worktrees of the project: forget
 * the registration whose gitdir names path/.git, so the branch is no longer
 * "checked out" there.  Only the project's own files are read. */
static void forget_linked_worktree(const char *root, const char *path)
{
	_cleanup_free_ char *common = NULL;
	if (common_dir(root, &common, NULL) < 0)
		return;
	_cleanup_free_ char *admin = fileio_join(common, "worktrees");
	_cleanup_free_ char *want = fileio_join(path, ".git");
	DIR *d = opendir(admin);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *entry = fileio_join(admin, de->d_name);
		_cleanup_free_ char *gitdir_file = fileio_join(entry, "gitdir");
		_cleanup_free_ char *text = NULL;
		if (fileio_read_bounded(gitdir_file, 4096, &text, NULL, NULL) < 0)
			continue;
		text[strcspn(text, "\n")] = '\0';
		if (!strcmp(text, want))
			(void)fileio_remove_tree(entry, NULL);
	}
	closedir(d);
}

/* The tip of the project's branch, made at base (NULL or "": HEAD) when it
 * does not exist.  Creation is tried first: it is the case of every new
 * task, and `git branch` refuses an existing branch without touching it. */
static int branch_tip_or_create(const char *root, const char *branch, const char *base, char **ret,
				struct rv_error **err)
{
	const char *from = base && *base ? base : "HEAD";
	const char *mk[] = {"git", "branch", "--no-track", branch, from, NULL};
	_cleanup_error_ struct rv_error *create_err = NULL;
	int made = worktree_git(root, mk, NULL, &create_err);
	if (made == 0 && is_full_hex_id(from)) {
		*ret = xstrdup(from);
		return 0;
	}
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", branch);
	const char *rev[] = {"git", "rev-parse", "--verify", "--quiet", ref, NULL};
	if (worktree_git(root, rev, ret, NULL) == 0)
		return 0;
	if (made < 0) {
		/* Neither there nor made: git's own reason (e.g. an unknown base). */
		int code = create_err ? create_err->code : EIO;
		rv_error_pass(err, &create_err);
		return -code;
	}
	return rv_error_set(err, EIO, "the branch '%s' was made but cannot be read", branch);
}

/* Give the existing workspace at path a fresh repository of its own on
 * branch (which must exist in the project), keeping its files. */
static int replace_git_dir(const char *root, const char *path, const char *branch,
			   struct rv_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.git-new-%d", path, (int)getpid());
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", branch);
	_cleanup_free_ char *tip = NULL;
	const char *rev[] = {"git", "rev-parse", "--verify", ref, NULL};
	(void)fileio_remove_tree(tmp, NULL);
	int r = worktree_git(root, rev, &tip, err);
	if (r == 0)
		r = clone_shared(root, tmp, branch, tip, err);
	_cleanup_free_ char *new_git = fileio_join(tmp, ".git");
	_cleanup_free_ char *old_git = fileio_join(path, ".git");
	if (r == 0) {
		forget_linked_worktree(root, path);
		/* Whatever is there (a gitdir file, a symlink) is the
		 * container's: removed without being followed. */
		if (unlink(old_git) < 0 && errno != ENOENT && errno != EISDIR)
			r = rv_error_errno(err, errno, "cannot remove '%s'", old_git);
	}
	if (r == 0 && rename(new_git, old_git) < 0)
		r = rv_error_errno(err, errno, "cannot move '%s' to '%s'", new_git, old_git);
	if (r == 0) {
		/* The index from HEAD; the files in the workspace stay as they are.
		 * The repository is the one just made here, so git may run in it
		 * although the workspace belongs to the container's user. */
		_cleanup_free_ char *safe = xasprintf("safe.directory=%s", path);
		const char *reset[] = {"git", "-c", safe, "reset", "--quiet", NULL};
		r = worktree_git(path, reset, NULL, err);
		if (r < 0 && fileio_is_dir(old_git))
			r = 0; /* e.g. an unreadable file: the repository itself is fine */
	}
	struct stat ws;
	if (r == 0 && stat(path, &ws) == 0 && ws.st_uid != geteuid())
		/* The workspace was given to the agent's user: so is its new .git. */
		r = hardening_chown_tree(old_git, ws.st_uid, ws.st_gid, err);
	(void)fileio_remove_tree(tmp, NULL);
	return r;
}

int worktree_restore(const char *root, const char *path, const char *branch, const char *base,
		     bool *ret_recreated, struct rv_error **err)
{
	if (ret_recreated)
		*ret_recreated = false;
	if (!branch || !*branch)
		return rv_error_set(err, EINVAL,
				    "cannot re-create workspace '%s': no branch recorded", path);
	if (fileio_is_dir(path) && has_own_git_dir(path))
		return 0;
	int r;
	if (fileio_is_dir(path)) {
		r = branch_exists(root, branch)
			    ? replace_git_dir(root, path, branch, err)
			    : rv_error_set(err, ENOENT, "the branch '%s' is gone", branch);
	} else {
		_cleanup_free_ char *parent = fileio_dirname(path);
		_cleanup_free_ char *tip = NULL;
		r = fileio_mkdir_p(parent, 0755, err);
		if (r == 0)
			r = branch_tip_or_create(root, branch, base, &tip, err);
		if (r == 0)
			r = make_workspace(root, path, branch, tip, err);
	}
	if (r < 0)
		return rv_error_wrap(err, "cannot re-create workspace '%s'", path);
	if (ret_recreated)
		*ret_recreated = true;
	return 0;
}

int worktree_remove(const char *root, const char *path, const char *branch, struct rv_error **err)
{
	worktree_discard_partial(path); /* a creation that was killed */
	if (path && *path && fileio_exists(path)) {
		if (!has_own_git_dir(path))
			forget_linked_worktree(root, path); /* an older rover's worktree */
		int r = fileio_remove_tree(path, err);
		if (r < 0)
			return r;
	}
	if (branch && *branch) {
		const char *del[] = {"git", "branch", "-D", branch, NULL};
		(void)worktree_git(root, del, NULL, NULL);
		_cleanup_free_ char *imported = worktree_import_ref(branch);
		const char *drop[] = {"git", "update-ref", "-d", imported, NULL};
		(void)worktree_git(root, drop, NULL, NULL);
	}
	return 0;
}

void worktree_release(struct worktree *w)
{
	free(w->path);
	free(w->branch);
	free(w->base_commit);
	w->path = w->branch = w->base_commit = NULL;
}
