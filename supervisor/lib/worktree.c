#define _GNU_SOURCE
#include "worktree.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"

/* Read a whole pipe into a string (capped: git's answers here are short). */
static char *slurp(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= (1u << 20))
				break;
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	return buf;
}

int worktree_git(const char *cwd, const char *const *argv, char **ret_out,
		 struct rv_error **err)
{
	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return rv_error_errno(err, errno, "cannot run git");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]);
		return rv_error_errno(err, errno, "cannot run git");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
		return rv_error_errno(err, e, "cannot run git");
	}
	if (pid == 0) {
		/* The supervisor blocks SIGINT/SIGTERM for its signalfd; git must
		 * start with the default mask, or it could not be interrupted. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvp("git", (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	/* git's stderr is small; read stdout first, then stderr. */
	_cleanup_free_ char *o = slurp(out[0]);
	_cleanup_free_ char *e = slurp(errp[0]);
	close(out[0]);
	close(errp[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			return rv_error_set(err, ENOENT, "git is not installed");
		char *nl = strchr(e, '\n');
		if (nl && strncmp(e, "Preparing", 9) == 0)
			memmove(e, nl + 1, strlen(nl + 1) + 1);
		e[strcspn(e, "\n")] = '\0';
		return rv_error_set(err, EIO, "git %s failed: %s", argv[1], *e ? e : "(no message)");
	}
	if (ret_out)
		*ret_out = TAKE_PTR(o);
	return 0;
}

/* Keep the store out of the project's `git status`. */
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
	const char *rev[] = {"git", "rev-parse", "--verify", "HEAD", NULL};
	r = worktree_git(root, rev, &base, err);
	if (r < 0)
		return rv_error_wrap(err, "the project has no commit to start a worktree from");
	const char *add[] = {"git", "worktree", "add", "-b", branch, path, base, NULL};
	r = worktree_git(root, add, NULL, err);
	if (r < 0)
		return r;
	ret->path = TAKE_PTR(path);
	ret->branch = TAKE_PTR(branch);
	ret->base_commit = TAKE_PTR(base);
	return 0;
}

int worktree_remove(const char *root, const char *path, const char *branch,
		    struct rv_error **err)
{
	if (path && *path && fileio_exists(path)) {
		const char *rm[] = {"git", "worktree", "remove", "--force", path, NULL};
		if (worktree_git(root, rm, NULL, NULL) < 0) {
			/* Not a worktree git knows (any more): remove the files. */
			int r = fileio_remove_tree(path, err);
			if (r < 0)
				return r;
			const char *prune[] = {"git", "worktree", "prune", NULL};
			(void)worktree_git(root, prune, NULL, NULL);
		}
	}
	if (branch && *branch) {
		const char *del[] = {"git", "branch", "-D", branch, NULL};
		(void)worktree_git(root, del, NULL, NULL);
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

int worktree_restore(const char *root, const char *path, const char *branch, const char *base,
		     struct rv_error **err)
{
	if (!branch || !*branch)
		return rv_error_set(err, EINVAL, "cannot re-create worktree '%s': no branch recorded",
				    path);
	if (fileio_is_dir(path))
		return 0;
	const char *prune[] = {"git", "worktree", "prune", NULL};
	(void)worktree_git(root, prune, NULL, NULL);
	_cleanup_free_ char *parent = fileio_dirname(path);
	int r = fileio_mkdir_p(parent, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *ref = xasprintf("refs/heads/%s", branch);
	const char *verify[] = {"git", "rev-parse", "--verify", "--quiet", ref, NULL};
	if (worktree_git(root, verify, NULL, NULL) == 0) {
		const char *add[] = {"git", "worktree", "add", path, branch, NULL};
		r = worktree_git(root, add, NULL, err);
	} else {
		const char *from = base && *base ? base : "HEAD";
		const char *add[] = {"git", "worktree", "add", "-b", branch, path, from, NULL};
		r = worktree_git(root, add, NULL, err);
	}
	if (r < 0)
		return rv_error_wrap(err, "cannot re-create worktree '%s'", path);
	return 0;
}
