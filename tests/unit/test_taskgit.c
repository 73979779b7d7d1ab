/* taskgit: the parsers of git's output, the loss report, and against real
 * git repositories in a temporary directory: the snapshot of a hostile
 * workspace (FIFOs, a nested repository whose HEAD is a FIFO, a link to a
 * host file, a FIFO .gitignore), worktree_git_run's deadline, and
 * worktree_sync keeping a commit made in the project since the last
 * import. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "supervisor/lib/taskgit.h"
#include "supervisor/lib/worktree.h"

static char *tmp_root;

static int setup(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/rover-taskgit.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	tmp_root = xstrdup(tmpl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	(void)fileio_remove_tree(tmp_root, NULL);
	free(tmp_root);
	tmp_root = NULL;
	return 0;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *cmd = NULL;
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static char *git1(const char *root, const char *rev)
{
	const char *argv[] = {"git", "rev-parse", "--verify", rev, NULL};
	char *out = NULL;
	assert_int_equal(worktree_git(root, argv, &out, NULL), 0);
	return out;
}

#define GITC "git -c user.email=t@x.invalid -c user.name=t -c core.hooksPath=/dev/null"

/* A project with README at base, branch rover/task-1 there, and its
 * workspace cloned --shared; *tg describes task 1. */
static void project(struct taskgit_task *tg)
{
	sh("cd '%s' && git init -q proj && cd proj && echo hello > README && git add README && " GITC
	   " commit -q -m init && git branch rover/task-1 && "
	   "git clone -q --shared . ../ws && cd ../ws && git checkout -q rover/task-1",
	   tmp_root);
	memset(tg, 0, sizeof(*tg));
	tg->id = 1;
	tg->root = xasprintf("%s/proj", tmp_root);
	tg->branch = xstrdup("rover/task-1");
	tg->workspace = xasprintf("%s/ws", tmp_root);
	tg->base = git1(tg->root, "HEAD");
	tg->title = xstrdup("t");
}

/* ---- pure ------------------------------------------------------------------ */

static void test_parse_diff(void **state)
{
	(void)state;
	static const char numstat[] = "1\t0\tREADME\0-\t-\timg.png\0"
				      "0\t3\tgone file\0";
	static const char names[] = "M\0README\0A\0img.png\0D\0gone file\0";
	struct taskgit_file *f = NULL;
	size_t n = 0;
	assert_int_equal(taskgit_parse_diff(numstat, sizeof(numstat) - 1, names, sizeof(names) - 1,
					    &f, &n, NULL),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(f[0].path, "README");
	assert_int_equal(f[0].status, 'M');
	assert_int_equal(f[0].added, 1);
	assert_int_equal(f[0].deleted, 0);
	assert_int_equal(f[1].added, -1); /* binary */
	assert_string_equal(f[2].path, "gone file");
	assert_int_equal(f[2].status, 'D');
	assert_int_equal(f[2].deleted, 3);
	taskgit_files_free(f, n);

	/* nothing changed */
	assert_int_equal(taskgit_parse_diff("", 0, "", 0, &f, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(f);

	/* a status git never prints here (renames are off), a cut record */
	struct rv_error *err = NULL;
	static const char bad[] = "R100\0a\0";
	assert_int_equal(taskgit_parse_diff("", 0, bad, sizeof(bad) - 1, &f, &n, &err), -EBADMSG);
	err = rv_error_free(err);
	static const char cut[] = "M\0";
	assert_int_equal(taskgit_parse_diff("", 0, cut, sizeof(cut) - 1, &f, &n, &err), -EBADMSG);
	err = rv_error_free(err);
	static const char badnum[] = "x\t1\tREADME\0";
	assert_int_equal(taskgit_parse_diff(badnum, sizeof(badnum) - 1, names, 9, &f, &n, &err),
			 -EBADMSG);
	rv_error_free(err);
}

static void test_parse_merge_tree(void **state)
{
	(void)state;
	static const char out[] = "abc123\0README\0README\0src/a.c\0\0"
				  "1\0README\0Auto-merging\0";
	char *tree = NULL, **paths = NULL;
	size_t n = 0;
	assert_int_equal(taskgit_parse_merge_tree(out, sizeof(out) - 1, &tree, &paths, &n), 0);
	assert_string_equal(tree, "abc123");
	assert_int_equal(n, 2);
	assert_string_equal(paths[0], "README");
	assert_string_equal(paths[1], "src/a.c");
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(tree);
}

static void test_loss_describe(void **state)
{
	(void)state;
	struct taskgit_loss l = {0};
	_cleanup_free_ char *none = taskgit_loss_describe(&l, "rover/task-5");
	assert_false(taskgit_loss_any(&l));
	assert_string_equal(none, "nothing");
	char *commits[] = {xstrdup("abc1234 add x"), xstrdup("def5678 fix"), xstrdup("0123456 y"),
			   NULL};
	char *changes[] = {xstrdup("M notes.txt"), NULL};
	l.commits = xcalloc(4, sizeof(char *));
	memcpy(l.commits, commits, sizeof(commits));
	l.n_commits = 5;
	l.changes = xcalloc(2, sizeof(char *));
	memcpy(l.changes, changes, sizeof(changes));
	l.n_changes = 1;
	assert_true(taskgit_loss_any(&l));
	_cleanup_free_ char *s = taskgit_loss_describe(&l, "rover/task-5");
	assert_string_equal(s, "5 commit(s) on rover/task-5 and no other branch (abc1234 add x, "
			       "def5678 fix, 0123456 y and 2 more); 1 uncommitted change(s) in its "
			       "workspace (M notes.txt)");
	taskgit_loss_release(&l);
}

/* ---- against git ----------------------------------------------------------- */

static void test_snapshot_hostile_workspace(void **state)
{
	(void)state;
	struct taskgit_task tg;
	project(&tg);
	sh("cd '%s' && echo changed >> README && echo new > new.txt && mkfifo fifo && "
	   "ln -s /etc/passwd link && mkdir -p nested/.git/objects nested/.git/refs && "
	   "mkfifo nested/.git/HEAD && echo x > nested/f && head -c 100 /dev/zero > big && "
	   "mkdir d && mkfifo d/.gitmodules && echo 'ignored/' > .gitignore && "
	   "mkdir -p ignored/clone/.git/refs ignored/clone/.git/objects && "
	   "mkfifo ignored/clone/.git/HEAD ignored/pipe",
	   tg.workspace);
	setenv("ROVER_SNAPSHOT_MAX_FILE_BYTES", "50", 1);
	setenv("ROVER_GIT_TIMEOUT_S", "10", 1); /* a regression fails, not hangs */
	struct taskgit_snapshot s = {0};
	struct rv_error *err = NULL;
	time_t t0 = time(NULL);
	int r = taskgit_snapshot(&tg, &s, &err);
	if (r < 0)
		fail_msg("%s", rv_error_msg(err));
	assert_true(time(NULL) - t0 < 20);
	assert_true(s.dirty);
	assert_int_equal(s.n_skipped, 4);
	assert_int_equal(s.n_skipped_work, 2);
	_cleanup_free_ char *joined = xstrdup("");
	for (size_t i = 0; i < s.n_skipped; i++) {
		char *j = xasprintf("%s|%s", joined, s.skipped[i]);
		free(joined);
		joined = j;
	}
	assert_non_null(strstr(joined, "|fifo (a FIFO)"));
	assert_non_null(strstr(joined, "|nested (a repository of its own)"));
	assert_non_null(strstr(joined, "|big (larger than 50 bytes)"));
	assert_non_null(strstr(joined, "|d/.gitmodules (a FIFO)"));
	struct taskgit_file *f = NULL;
	size_t n = 0;
	assert_int_equal(taskgit_diff_files(&tg, &s, NULL, &f, &n, NULL), 0);
	assert_int_equal(n, 4); /* .gitignore, README, link, new.txt; nothing ignored */
	assert_string_equal(f[0].path, ".gitignore");
	assert_string_equal(f[1].path, "README");
	assert_string_equal(f[2].path, "link");
	assert_string_equal(f[3].path, "new.txt");
	taskgit_files_free(f, n);
	/* the link is a link: its blob is the target's name */
	_cleanup_free_ char *spec = xasprintf("%s:link", s.tree);
	const char *cat[] = {"git", "cat-file", "-p", spec, NULL};
	_cleanup_free_ char *blob = NULL;
	assert_int_equal(worktree_git(tg.root, cat, &blob, NULL), 0);
	assert_string_equal(blob, "/etc/passwd");
	/* nothing in the project changed: no ref, no index */
	_cleanup_free_ char *tip = git1(tg.root, "rover/task-1");
	assert_string_equal(tip, s.tip);
	taskgit_snapshot_release(&s);

	/* the loss report counts the work, not the FIFOs, not what is ignored */
	struct taskgit_loss l = {0};
	assert_int_equal(taskgit_loss(&tg, &l, NULL), 0);
	assert_int_equal(l.n_commits, 0);
	assert_int_equal(l.n_changes, 6); /* .gitignore, README, link, new.txt, ? nested, ? big */
	taskgit_loss_release(&l);

	/* a FIFO .gitignore: refused at once, naming it */
	sh("mkfifo '%s/d/.gitignore'", tg.workspace);
	t0 = time(NULL);
	assert_int_equal(taskgit_snapshot(&tg, &s, &err), -EPERM);
	assert_true(time(NULL) - t0 < 20);
	assert_non_null(strstr(rv_error_msg(err), "'d/.gitignore' is a FIFO"));
	err = rv_error_free(err);
	unsetenv("ROVER_SNAPSHOT_MAX_FILE_BYTES");
	unsetenv("ROVER_GIT_TIMEOUT_S");
	taskgit_task_release(&tg);
}

static void test_git_run_deadline(void **state)
{
	(void)state;
	/* git blocks reading a FIFO given as its input: killed at the deadline */
	_cleanup_free_ char *fifo = xasprintf("%s/fifo", tmp_root);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	struct worktree_git_opts o = {.cwd = tmp_root, .timeout_s = 1};
	const char *argv[] = {"git", "hash-object", fifo, NULL};
	struct rv_error *err = NULL;
	time_t t0 = time(NULL);
	assert_int_equal(worktree_git_run(&o, argv, NULL, NULL, &err), -ETIMEDOUT);
	assert_true(time(NULL) - t0 < 10);
	assert_non_null(strstr(rv_error_msg(err), "did not finish within 1 s"));
	rv_error_free(err);

	/* an exit status asked for is no error */
	int st = -1;
	struct worktree_git_opts os = {.cwd = tmp_root, .ret_status = &st};
	const char *fail[] = {"git", "config", "--file", "/dev/null", "--get", "no.such", NULL};
	assert_int_equal(worktree_git_run(&os, fail, NULL, NULL, NULL), 0);
	assert_int_equal(st, 1);
}

static void test_sync_keeps_project_commits(void **state)
{
	(void)state;
	struct taskgit_task tg;
	project(&tg);
	const char *root = tg.root, *ws = tg.workspace;
	/* the agent commits; the import moves the branch there */
	sh("cd '%s' && echo a > a && git add a && " GITC " commit -q -m a", ws);
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", NULL), 0);
	_cleanup_free_ char *t1 = git1(ws, "HEAD");
	_cleanup_free_ char *b1 = git1(root, "rover/task-1");
	assert_string_equal(b1, t1);

	/* rover merge commits the uncommitted work on the branch (S) */
	sh("echo draft > '%s/draft'", ws);
	struct taskgit_snapshot s = {0};
	assert_int_equal(taskgit_snapshot(&tg, &s, NULL), 0);
	assert_true(s.dirty);
	const char *parents[] = {s.tip, NULL};
	_cleanup_free_ char *snap = NULL;
	assert_int_equal(worktree_commit_tree(root, s.tree, parents, "snap", &snap, NULL), 0);
	sh("git -C '%s' update-ref refs/heads/rover/task-1 %s", root, snap);
	taskgit_snapshot_release(&s);

	/* the next import, the agent having done nothing: S stays */
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", NULL), 0);
	_cleanup_free_ char *b2 = git1(root, "rover/task-1");
	assert_string_equal(b2, snap);

	/* the agent goes on (an iteration) and commits: both are kept, the
	 * files are the agent's */
	sh("cd '%s' && git add draft && echo more > more && git add more && " GITC
	   " commit -q -m more",
	   ws);
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", NULL), 0);
	_cleanup_free_ char *t3 = git1(ws, "HEAD");
	_cleanup_free_ char *b3 = git1(root, "rover/task-1");
	_cleanup_free_ char *p1 = git1(root, "rover/task-1^1");
	_cleanup_free_ char *p2 = git1(root, "rover/task-1^2");
	_cleanup_free_ char *tree3 = git1(root, "rover/task-1^{tree}");
	_cleanup_free_ char *wtree = git1(ws, "HEAD^{tree}");
	assert_string_equal(p1, t3);
	assert_string_equal(p2, snap);
	assert_string_equal(tree3, wtree);

	/* nothing new again: unchanged */
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", NULL), 0);
	_cleanup_free_ char *b4 = git1(root, "rover/task-1");
	assert_string_equal(b4, b3);
	taskgit_task_release(&tg);
}

/* An import with nothing new spares the fetch: it only records the import
 * (the first time) and moves nothing; a ref the loose-ref hint cannot read
 * (packed by the agent's git) still comes in by fetch. */
static void test_sync_nothing_new(void **state)
{
	(void)state;
	struct taskgit_task tg;
	project(&tg);
	const char *root = tg.root, *ws = tg.workspace;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", NULL), 0);
	_cleanup_free_ char *imp = git1(root, "refs/rover/imported/rover/task-1");
	_cleanup_free_ char *b1 = git1(root, "rover/task-1");
	assert_string_equal(imp, tg.base);
	assert_string_equal(b1, tg.base);

	/* the agent commits and packs its refs: no loose ref to read */
	sh("cd '%s' && echo a > a && git add a && " GITC " commit -q -m a && "
	   "git pack-refs --all && test ! -e .git/refs/heads/rover/task-1",
	   ws);
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", NULL), 0);
	_cleanup_free_ char *t2 = git1(ws, "HEAD");
	_cleanup_free_ char *b2 = git1(root, "rover/task-1");
	_cleanup_free_ char *imp2 = git1(root, "refs/rover/imported/rover/task-1");
	assert_string_equal(b2, t2);
	assert_string_equal(imp2, t2);

	taskgit_task_release(&tg);
}

/* A FIFO or a symlink anywhere in the workspace's .git refuses the import
 * before git runs: upload-pack would block on the FIFO (a plain open() of
 * every ref) and follow the symlink.  The project's branch stays. */
static void test_sync_refuses_planted_git_dir(void **state)
{
	(void)state;
	setenv("ROVER_GIT_TIMEOUT_S", "5", 1); /* a regression fails, not hangs */
	struct taskgit_task tg;
	project(&tg);
	const char *root = tg.root, *ws = tg.workspace;
	sh("cd '%s' && echo a > a && git add a && " GITC " commit -q -m a && "
	   "rm .git/refs/heads/rover/task-1 && mkfifo .git/refs/heads/rover/task-1",
	   ws);
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err), -EPERM);
	assert_non_null(strstr(rv_error_msg(err), "refs/heads/rover/task-1"));
	_cleanup_free_ char *b1 = git1(root, "rover/task-1");
	assert_string_equal(b1, tg.base);

	/* (HEAD names the FIFO: the host file gets the clone's ref) */
	sh("cd '%s' && mkdir -p ../host && "
	   "git rev-parse refs/remotes/origin/rover/task-1 > ../host/ref && "
	   "rm .git/refs/heads/rover/task-1 && ln -s ../../../../host/ref "
	   ".git/refs/heads/rover/task-1",
	   ws);
	_cleanup_error_ struct rv_error *err2 = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err2), -EPERM);
	assert_non_null(strstr(rv_error_msg(err2), "task-1"));
	_cleanup_free_ char *b2 = git1(root, "rover/task-1");
	assert_string_equal(b2, tg.base);

	/* An extra object directory named in objects/info/alternates, inside
	 * the workspace, whose pack index is a FIFO: upload-pack would open it
	 * and wait for ever.  Only the line rover wrote is accepted. */
	sh("cd '%s' && rm -f .git/refs/heads/rover/task-1 && mkdir -p .git/refs/heads/rover && "
	   "cp ../host/ref .git/refs/heads/rover/task-1 && echo b > b && git add b && " GITC
	   " commit -q -m b && "
	   "mkdir -p evil/objects/pack && mkfifo evil/objects/pack/pack-1.idx && "
	   ": > evil/objects/pack/pack-1.pack && "
	   "echo ../../evil/objects >> .git/objects/info/alternates",
	   ws);
	_cleanup_error_ struct rv_error *err3 = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err3), -EPERM);
	assert_non_null(strstr(rv_error_msg(err3), "alternates"));
	_cleanup_free_ char *b3 = git1(root, "rover/task-1");
	assert_string_equal(b3, tg.base);

	/* The alternates back as rover wrote them; the config includes a FIFO
	 * (upload-pack reads the repository's config); then a commondir. */
	sh("cd '%s' && sed -i '/evil/d' .git/objects/info/alternates && mkfifo evil/cfg && "
	   "printf '[user]\\n\\tname = agent\\n [IncludeIf \"gitdir:/\"]\\n\\tpath = ../evil/cfg\\n' "
	   ">> .git/config",
	   ws);
	_cleanup_error_ struct rv_error *err4 = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err4), -EPERM);
	assert_non_null(strstr(rv_error_msg(err4), "config includes"));
	sh("cd '%s' && sed -i '/IncludeIf/d; /evil/d' .git/config && echo ../evil > .git/commondir",
	   ws);
	_cleanup_error_ struct rv_error *err5 = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err5), -EPERM);
	assert_non_null(strstr(rv_error_msg(err5), "commondir"));
	_cleanup_free_ char *b5 = git1(root, "rover/task-1");
	assert_string_equal(b5, tg.base);

	/* A config too large to look through (an include could hide past any
	 * point rover stopped reading): refused, not read in part. */
	sh("cd '%s' && rm .git/commondir && cp .git/config ../config.saved && "
	   "head -c 2000000 /dev/zero | tr '\\0' '#' | fold -w 100 >> .git/config",
	   ws);
	_cleanup_error_ struct rv_error *err7 = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err7), -EPERM);
	assert_non_null(strstr(rv_error_msg(err7), "config cannot be read"));

	/* Put right, the import goes through (a [user] section is the agent's
	 * own business). */
	sh("cd '%s' && cp ../config.saved .git/config", ws);
	_cleanup_error_ struct rv_error *err6 = NULL;
	assert_int_equal(worktree_sync(root, ws, "rover/task-1", &err6), 0);
	_cleanup_free_ char *b6 = git1(root, "rover/task-1");
	assert_string_not_equal(b6, tg.base);
	taskgit_task_release(&tg);
	unsetenv("ROVER_GIT_TIMEOUT_S");
}

/* Everything a refused merge must leave as it was. */
static char *project_state(const char *root)
{
	_cleanup_free_ char *cmd = xasprintf(
		"cd '%s' && { git rev-parse HEAD; git status --porcelain; git diff; git diff --cached; "
		"git for-each-ref; } 2>&1",
		root);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *buf = xcalloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	pclose(f);
	return buf;
}

static void test_merge(void **state)
{
	(void)state;
	struct taskgit_task tg;
	project(&tg);
	const char *root = tg.root;
	sh("cd '%s' && echo agent >> README && echo new > new.txt", tg.workspace);
	struct taskgit_merge_result res = {0};
	struct rv_error *err = NULL;

	/* a dirty tree */
	sh("echo mine >> '%s/README'", root);
	_cleanup_free_ char *before = project_state(root);
	assert_int_equal(taskgit_merge(&tg, &res, &err), -EBUSY);
	assert_non_null(strstr(rv_error_msg(err), "1 uncommitted change(s) ( M README)"));
	err = rv_error_free(err);
	_cleanup_free_ char *after = project_state(root);
	assert_string_equal(before, after);
	sh("git -C '%s' checkout -q README", root);

	/* a conflict */
	sh("cd '%s' && echo 'hello user' > README && " GITC " commit -q -am user", root);
	_cleanup_free_ char *before2 = project_state(root);
	assert_int_equal(taskgit_merge(&tg, &res, &err), -EEXIST);
	assert_non_null(strstr(rv_error_msg(err), "in 1 file(s) (README); nothing was changed"));
	err = rv_error_free(err);
	_cleanup_free_ char *after2 = project_state(root);
	assert_string_equal(before2, after2);

	/* a clean merge: the snapshot committed on the branch, then merged */
	sh("git -C '%s' reset -q --hard HEAD~1", root);
	assert_int_equal(taskgit_merge(&tg, &res, &err), 0);
	assert_false(res.already);
	assert_non_null(res.snapshot);
	_cleanup_free_ char *head = git1(root, "HEAD");
	_cleanup_free_ char *p2 = git1(root, "HEAD^2");
	_cleanup_free_ char *br = git1(root, "rover/task-1");
	assert_string_equal(res.commit, head);
	assert_string_equal(p2, res.snapshot);
	assert_string_equal(br, res.snapshot);
	sh("grep -qx agent '%s/README' && grep -qx new '%s/new.txt'", root, root);
	taskgit_merge_result_release(&res);

	/* again: nothing to do, nothing changes */
	_cleanup_free_ char *before3 = project_state(root);
	assert_int_equal(taskgit_merge(&tg, &res, &err), 0);
	assert_true(res.already);
	assert_null(res.snapshot);
	_cleanup_free_ char *after3 = project_state(root);
	assert_string_equal(before3, after3);
	taskgit_merge_result_release(&res);

	/* nothing would be lost now */
	struct taskgit_loss l = {0};
	assert_int_equal(taskgit_loss(&tg, &l, NULL), 0);
	assert_false(taskgit_loss_any(&l));
	taskgit_loss_release(&l);
	taskgit_task_release(&tg);
}

static void test_push_keeps_work(void **state)
{
	(void)state;
	struct taskgit_task tg;
	project(&tg);
	const char *root = tg.root;
	sh("cd '%s' && echo a > a && git add a && " GITC " commit -q -m 'agent a' && "
	   "echo draft > draft",
	   tg.workspace);
	assert_int_equal(worktree_sync(root, tg.workspace, "rover/task-1", NULL), 0);
	struct taskgit_loss l = {0};
	assert_int_equal(taskgit_loss(&tg, &l, NULL), 0);
	assert_int_equal(l.n_commits, 1);
	assert_non_null(strstr(l.commits[0], " agent a"));
	assert_int_equal(l.n_changes, 1);
	assert_string_equal(l.changes[0], "A draft");
	taskgit_loss_release(&l);

	/* no such remote: refused before anything is committed */
	struct taskgit_push_result res = {0};
	struct rv_error *err = NULL;
	_cleanup_free_ char *tip = git1(root, "rover/task-1");
	assert_int_equal(taskgit_push(&tg, NULL, &res, &err), -ENOENT);
	assert_non_null(strstr(rv_error_msg(err), "no remote 'origin'"));
	err = rv_error_free(err);
	_cleanup_free_ char *tip2 = git1(root, "rover/task-1");
	assert_string_equal(tip, tip2);

	/* to a bare remote: the snapshot is committed, the branch appears
	 * there, and nothing would be lost any more (remote-tracking) */
	sh("git init -q --bare '%s/remote.git' && git -C '%s' remote add origin '%s/remote.git'",
	   tmp_root, root, tmp_root);
	assert_int_equal(taskgit_push(&tg, NULL, &res, &err), 0);
	assert_string_equal(res.remote, "origin");
	assert_non_null(res.snapshot);
	_cleanup_free_ char *remote_git = xasprintf("%s/remote.git", tmp_root);
	_cleanup_free_ char *there = git1(remote_git, "rover/task-1");
	assert_string_equal(there, res.snapshot);
	taskgit_push_result_release(&res);
	assert_int_equal(taskgit_loss(&tg, &l, NULL), 0);
	assert_false(taskgit_loss_any(&l));
	taskgit_loss_release(&l);
	taskgit_task_release(&tg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_diff),
		cmocka_unit_test(test_parse_merge_tree),
		cmocka_unit_test(test_loss_describe),
		cmocka_unit_test_setup_teardown(test_snapshot_hostile_workspace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_git_run_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_keeps_project_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_nothing_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_refuses_planted_git_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_keeps_work, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
