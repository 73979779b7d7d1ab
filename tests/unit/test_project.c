#define _GNU_SOURCE
/* Unit tests for supervisor/lib/project: root discovery (.git dir or file,
 * else the start dir), the store location, rover.json settings with defaults,
 * environment overrides and validation errors that name the file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/sha256.h"
#include "supervisor/lib/project.h"

static char dir[] = "/tmp/rover-test-project-XXXXXX";
static char *real_dir;

static void clear_env(void)
{
	unsetenv("ROVER_STORE");
	unsetenv("ROVER_RETRY_MAX");
	unsetenv("ROVER_RETRY_BASE_SECONDS");
	unsetenv("ROVER_RETRY_CAP_SECONDS");
	unsetenv("ROVER_AGENT_IMAGE");
	unsetenv("XDG_DATA_HOME");
	unsetenv("ROVER_MAX_RUNNING");
	unsetenv("ROVER_STALL_SECONDS");
}

static int setup(void **state)
{
	(void)state;
	clear_env();
	strcpy(dir, "/tmp/rover-test-project-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	real_dir = realpath(dir, NULL);
	return real_dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	clear_env();
	free(real_dir);
	real_dir = NULL;
	return fileio_remove_tree(dir, NULL);
}

static char *path_in(const char *rel)
{
	return fileio_join(real_dir, rel);
}

static void write_file(const char *rel, const char *content)
{
	_cleanup_free_ char *p = path_in(rel);
	assert_int_equal(fileio_write_atomic(p, content, strlen(content), 0644, NULL), 0);
}

static void make_dir(const char *rel)
{
	_cleanup_free_ char *p = path_in(rel);
	assert_int_equal(fileio_mkdir_p(p, 0755, NULL), 0);
}

static void test_project_root_is_git_top_level(void **state)
{
	(void)state;
	make_dir("repo/.git");
	make_dir("repo/src/deep/er");
	_cleanup_free_ char *start = path_in("repo/src/deep/er");
	_cleanup_free_ char *want = path_in("repo");
	_cleanup_free_ char *root = NULL;
	bool is_git = false;
	assert_int_equal(project_find_root(start, &root, &is_git, NULL), 0);
	assert_string_equal(root, want);
	assert_true(is_git);

	/* from the top level itself */
	free(root);
	root = NULL;
	assert_int_equal(project_find_root(want, &root, NULL, NULL), 0);
	assert_string_equal(root, want);
}

static void test_project_root_git_file_marks_worktree(void **state)
{
	(void)state;
	make_dir("repo/.git");
	make_dir("repo/wt/sub");
	write_file("repo/wt/.git", "gitdir: /somewhere/.git/worktrees/wt\n");
	_cleanup_free_ char *start = path_in("repo/wt/sub");
	_cleanup_free_ char *want = path_in("repo/wt");
	_cleanup_free_ char *root = NULL;
	assert_int_equal(project_find_root(start, &root, NULL, NULL), 0);
	assert_string_equal(root, want);
}

static void test_project_root_without_git_is_start(void **state)
{
	(void)state;
	if (fileio_exists("/.git") || fileio_exists("/tmp/.git"))
		skip();
	make_dir("plain/sub");
	_cleanup_free_ char *start = path_in("plain/sub");
	_cleanup_free_ char *root = NULL;
	bool is_git = true;
	assert_int_equal(project_find_root(start, &root, &is_git, NULL), 0);
	assert_string_equal(root, start);
	assert_false(is_git);
}

static void test_project_root_missing_start_fails(void **state)
{
	(void)state;
	_cleanup_free_ char *start = path_in("nope");
	_cleanup_free_ char *root = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(project_find_root(start, &root, NULL, &e), -ENOENT);
	assert_null(root);
	assert_non_null(strstr(e->msg, "nope"));
}

static void test_project_store_dir(void **state)
{
	(void)state;
	make_dir("repo/.git");
	const char *orig_home = getenv("HOME");
	_cleanup_free_ char *saved_home = orig_home ? xstrdup(orig_home) : NULL;
	_cleanup_free_ char *start = path_in("repo");
	_cleanup_free_ char *data = path_in("data");
	setenv("XDG_DATA_HOME", data, 1);
	struct project *p = NULL;
	assert_int_equal(project_open(start, &p, NULL), 0);
	/* <data>/rover/projects/<name>-<16 hex of sha256(root)>, outside the repo */
	char hex[SHA256_HEX_LEN];
	sha256_hex(start, strlen(start), hex);
	_cleanup_free_ char *want = xasprintf("%s/rover/projects/repo-%.16s", data, hex);
	assert_string_equal(p->store_dir, want);
	assert_string_equal(p->store_source, "XDG_DATA_HOME");
	assert_true(p->is_git);
	assert_null(strstr(p->store_dir, "/repo/"));
	project_free(p);

	/* without XDG_DATA_HOME (or a relative one): $HOME/.local/share */
	_cleanup_free_ char *home = path_in("home");
	setenv("HOME", home, 1);
	setenv("XDG_DATA_HOME", "relative/data", 1);
	assert_int_equal(project_open(start, &p, NULL), 0);
	_cleanup_free_ char *want_home =
		xasprintf("%s/.local/share/rover/projects/repo-%.16s", home, hex);
	assert_string_equal(p->store_dir, want_home);
	assert_string_equal(p->store_source, "HOME");
	project_free(p);

	/* neither: a clear error pointing at ROVER_STORE */
	unsetenv("XDG_DATA_HOME");
	unsetenv("HOME");
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(project_open(start, &p, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "ROVER_STORE"));
	setenv("XDG_DATA_HOME", data, 1);
	if (saved_home)
		setenv("HOME", saved_home, 1);

	/* two projects of one name get two stores */
	make_dir("other/repo/.git");
	_cleanup_free_ char *start2 = path_in("other/repo");
	assert_int_equal(project_open(start2, &p, NULL), 0);
	assert_string_not_equal(p->store_dir, want);
	project_free(p);

	/* the name is made plain: no ':' (a bind separator) or leading '.' */
	make_dir(".odd:na me/.git");
	_cleanup_free_ char *odd = path_in(".odd:na me");
	_cleanup_free_ char *store = NULL;
	assert_int_equal(project_default_store(odd, &store, NULL, NULL), 0);
	assert_null(strchr(strrchr(store, '/'), ':'));
	assert_non_null(strstr(store, "/_odd_na_me-"));

	setenv("ROVER_STORE", "/var/tmp/elsewhere", 1);
	assert_int_equal(project_open(start, &p, NULL), 0);
	assert_string_equal(p->store_dir, "/var/tmp/elsewhere");
	assert_string_equal(p->store_source, "ROVER_STORE");
	project_free(p);

	/* relative: against the cwd */
	setenv("ROVER_STORE", "rel/store", 1);
	assert_int_equal(project_open(start, &p, NULL), 0);
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *want_rel = fileio_join(cwd, "rel/store");
	assert_string_equal(p->store_dir, want_rel);
	project_free(p);

	/* empty: as unset */
	setenv("ROVER_STORE", "", 1);
	assert_int_equal(project_open(start, &p, NULL), 0);
	assert_string_equal(p->store_dir, want);
	project_free(p);
	project_free(NULL);
}

/* ---- the in-repository store of the previous rover --------------------------- */

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

/* A git project with an old-style store holding task 1 (a workspace dir). */
static struct project *old_style_project(bool mark)
{
	_cleanup_free_ char *repo = path_in("proj");
	_cleanup_free_ char *data = path_in("data");
	setenv("XDG_DATA_HOME", data, 1);
	sh("git init -q '%s' && git -C '%s' -c user.email=t@x.invalid -c user.name=t "
	   "commit -q --allow-empty -m init",
	   repo, repo);
	sh("mkdir -p '%s/.rover/tasks/1' && git -C '%s' worktree add -q -b rover/task-1 "
	   ".rover/workspaces/1 && echo work > '%s/.rover/workspaces/1/file'",
	   repo, repo, repo);
	_cleanup_free_ char *desc = xasprintf(
		"{\"id\": 1, \"title\": \"t\", \"description\": \"d\", \"status\": \"FAILED\", "
		"\"version\": \"1.6\", \"createdAt\": \"2026-01-01T00:00:00.000Z\", "
		"\"worktreePath\": \"%s/.rover/workspaces/1\", \"branchName\": \"rover/task-1\"}",
		repo);
	_cleanup_free_ char *dpath = xasprintf("%s/.rover/tasks/1/description.json", repo);
	assert_int_equal(fileio_write_atomic(dpath, desc, strlen(desc), 0644, NULL), 0);
	if (mark)
		sh("printf '# rover'\"'\"'s task store\\n/.rover/\\n' >> '%s/.git/info/exclude'",
		   repo);
	struct project *p = NULL;
	assert_int_equal(project_open(repo, &p, NULL), 0);
	return p;
}

static void test_project_legacy_rule(void **state)
{
	(void)state;
	struct project *p = old_style_project(false);
	_cleanup_free_ char *why = NULL;
	/* no mark: nothing shows it is the user's */
	assert_int_equal(project_legacy_store(p, &why), PROJECT_LEGACY_UNPROVEN);
	assert_non_null(strstr(why, "exclude"));
	free(why);
	why = NULL;
	/* the mark rover wrote: ours */
	sh("printf '# rover'\"'\"'s task store\\n/.rover/\\n' >> '%s/.git/info/exclude'", p->root);
	assert_int_equal(project_legacy_store(p, NULL), PROJECT_LEGACY_OURS);
	/* ROVER_STORE: the user chose a store; nothing is migrated */
	setenv("ROVER_STORE", "/var/tmp/x", 1);
	assert_int_equal(project_legacy_store(p, NULL), PROJECT_LEGACY_NONE);
	unsetenv("ROVER_STORE");
	/* one tracked file: shipped, mark or not */
	sh("git -C '%s' add -f .rover/tasks/1/description.json", p->root);
	assert_int_equal(project_legacy_store(p, &why), PROJECT_LEGACY_SHIPPED);
	assert_non_null(strstr(why, "tracked"));
	free(why);
	why = NULL;
	sh("git -C '%s' rm -q --cached .rover/tasks/1/description.json", p->root);
	assert_int_equal(project_legacy_store(p, NULL), PROJECT_LEGACY_OURS);
	/* a symlink is never ours */
	sh("mv '%s/.rover' '%s/.rover-real' && ln -s .rover-real '%s/.rover'", p->root, p->root,
	   p->root);
	assert_int_equal(project_legacy_store(p, NULL), PROJECT_LEGACY_UNPROVEN);
	sh("rm '%s/.rover' && mv '%s/.rover-real' '%s/.rover'", p->root, p->root, p->root);
	/* no .rover at all */
	sh("rm -rf '%s/.rover'", p->root);
	assert_int_equal(project_legacy_store(p, NULL), PROJECT_LEGACY_NONE);
	project_free(p);
}

static void test_project_migrates_own_store(void **state)
{
	(void)state;
	struct project *p = old_style_project(true);
	_cleanup_free_ char *old = fileio_join(p->root, ".rover");
	struct project_migration m = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	if (project_migrate_store(p, &m, &e) < 0)
		fail_msg("migrate: %s", rv_error_msg(e));
	assert_true(m.migrated);
	if (m.warning)
		fail_msg("warning: %s", m.message);
	assert_non_null(strstr(m.message, old));
	assert_non_null(strstr(m.message, p->store_dir));
	project_migration_release(&m);
	assert_false(fileio_exists(old));
	_cleanup_free_ char *file = xasprintf("%s/workspaces/1/file", p->store_dir);
	assert_true(fileio_exists(file));
	_cleanup_free_ char *desc = xasprintf("%s/tasks/1/description.json", p->store_dir);
	_cleanup_free_ char *buf = NULL;
	assert_int_equal(fileio_read_bounded(desc, 1 << 20, &buf, NULL, NULL), 0);
	_cleanup_free_ char *moved = xasprintf("\"%s/workspaces/1\"", p->store_dir);
	assert_non_null(strstr(buf, moved));
	/* git follows the worktree to its new place */
	sh("git -C '%s/workspaces/1' status --short >/dev/null 2>&1", p->store_dir);
	sh("git -C '%s' worktree list | grep -q '%s/workspaces/1'", p->root, p->store_dir);
	/* once: nothing more to do */
	assert_int_equal(project_migrate_store(p, &m, NULL), 0);
	assert_false(m.migrated);
	assert_null(m.message);
	project_free(p);
}

static void test_project_shipped_store_is_left_alone(void **state)
{
	(void)state;
	struct project *p = old_style_project(true);
	sh("git -C '%s' add -f .rover && git -C '%s' -c user.email=t@x.invalid -c user.name=t "
	   "commit -q -m shipped",
	   p->root, p->root);
	_cleanup_free_ char *desc = xasprintf("%s/.rover/tasks/1/description.json", p->root);
	_cleanup_free_ char *before = NULL;
	assert_int_equal(fileio_read_bounded(desc, 1 << 20, &before, NULL, NULL), 0);
	struct project_migration m = {0};
	assert_int_equal(project_migrate_store(p, &m, NULL), 0);
	assert_false(m.migrated);
	assert_true(m.warning);
	assert_non_null(strstr(m.message, "tracked"));
	project_migration_release(&m);
	/* the warning is given once */
	assert_int_equal(project_migrate_store(p, &m, NULL), 0);
	assert_null(m.message);
	/* untouched, and the user's store holds no task from it */
	_cleanup_free_ char *after = NULL;
	assert_int_equal(fileio_read_bounded(desc, 1 << 20, &after, NULL, NULL), 0);
	assert_string_equal(before, after);
	_cleanup_free_ char *tasks = fileio_join(p->store_dir, "tasks");
	assert_false(fileio_exists(tasks));
	project_free(p);
}

static void test_project_settings_defaults(void **state)
{
	(void)state;
	struct project_settings s = {0};
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_null(s.agent_image);
	assert_int_equal(s.retry.max, 5);
	assert_int_equal(s.retry.base_seconds, 60);
	assert_int_equal(s.retry.cap_seconds, 3600);
	project_settings_release(&s);
}

static void test_project_settings_from_file_and_env(void **state)
{
	(void)state;
	write_file("rover.json",
		   "{\"version\": \"1.3\", \"languages\": [\"c\"],\n"
		   " \"agentImage\": \"ghcr.io/x/agent:1\",\n"
		   " \"retry\": {\"max\": 3, \"baseSeconds\": 10, \"capSeconds\": 100}}");
	struct project_settings s = {0};
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_string_equal(s.agent_image, "ghcr.io/x/agent:1");
	assert_int_equal(s.retry.max, 3);
	assert_int_equal(s.retry.base_seconds, 10);
	assert_int_equal(s.retry.cap_seconds, 100);
	project_settings_release(&s);

	setenv("ROVER_RETRY_MAX", "0", 1); /* 0 turns auto-retry off */
	setenv("ROVER_RETRY_BASE_SECONDS", "20", 1);
	setenv("ROVER_RETRY_CAP_SECONDS", "40", 1);
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_int_equal(s.retry.max, 0);
	assert_int_equal(s.retry.base_seconds, 20);
	assert_int_equal(s.retry.cap_seconds, 40);
	project_settings_release(&s);

	/* partial retry object keeps the other defaults */
	clear_env();
	write_file("rover.json", "{\"retry\": {\"capSeconds\": 7200}}");
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_int_equal(s.retry.max, 5);
	assert_int_equal(s.retry.base_seconds, 60);
	assert_int_equal(s.retry.cap_seconds, 7200);
	project_settings_release(&s);
}

static void expect_env_error(const char *name, const char *value, const char *needle);
#define expect_env_error_fwd expect_env_error

static void test_project_queue_and_stall_settings(void **state)
{
	(void)state;
	struct project_settings s = {0};
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_int_equal(s.max_running, 0); /* defaults: no limit, no stall check */
	assert_int_equal(s.stall_seconds, 0);
	project_settings_release(&s);
	write_file("rover.json", "{\"maxRunning\": 2, \"stallSeconds\": 600}");
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_int_equal(s.max_running, 2);
	assert_int_equal(s.stall_seconds, 600);
	project_settings_release(&s);
	setenv("ROVER_MAX_RUNNING", "3", 1);
	setenv("ROVER_STALL_SECONDS", "4", 1);
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_int_equal(s.max_running, 3);
	assert_int_equal(s.stall_seconds, 4);
	project_settings_release(&s);
	clear_env();
	_cleanup_error_ struct rv_error *e = NULL;
	write_file("rover.json", "{\"maxRunning\": \"two\"}");
	assert_int_equal(project_load_settings(real_dir, &s, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "maxRunning must be an integer"));
	assert_non_null(strstr(e->msg, "rover.json"));
	rv_error_free(TAKE_PTR(e));
	write_file("rover.json", "{\"stallSeconds\": -1}");
	assert_int_equal(project_load_settings(real_dir, &s, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "stallSeconds"));
	rv_error_free(TAKE_PTR(e));
	/* per engine kind */
	write_file("rover.json", "{\"maxRunning\": {\"docker\": 2, \"podman\": 0}}");
	assert_int_equal(project_load_settings(real_dir, &s, NULL), 0);
	assert_int_equal(s.max_running, 0);
	assert_int_equal(project_max_running_of(&s, "docker"), 2);
	assert_int_equal(project_max_running_of(&s, "podman"), 0);
	assert_int_equal(project_max_running_of(&s, NULL), 0);
	project_settings_release(&s);
	write_file("rover.json", "{\"maxRunning\": {\"kubernetes\": 2}}");
	assert_int_equal(project_load_settings(real_dir, &s, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "expected docker or podman"));
	rv_error_free(TAKE_PTR(e));
	write_file("rover.json", "{\"maxRunning\": {\"docker\": -1}}");
	assert_int_equal(project_load_settings(real_dir, &s, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "maxRunning.docker"));
	write_file("rover.json", "{}");
	expect_env_error_fwd("ROVER_MAX_RUNNING", "lots", "ROVER_MAX_RUNNING");
}

static void test_project_agent_image_precedence(void **state)
{
	(void)state;
	write_file("rover.json", "{\"agentImage\": \"from-file\"}");
	struct project *p = NULL;
	assert_int_equal(project_open(real_dir, &p, NULL), 0);
	assert_string_equal(project_agent_image(p), "from-file");
	setenv("ROVER_AGENT_IMAGE", "from-env", 1);
	assert_string_equal(project_agent_image(p), "from-env");
	project_free(p);
	assert_string_equal(project_agent_image(NULL), "from-env");
	unsetenv("ROVER_AGENT_IMAGE");
	assert_null(project_agent_image(NULL));
}

static void expect_file_error(const char *content, int code, const char *needle)
{
	write_file("rover.json", content);
	struct project_settings s = {.agent_image = NULL};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(project_load_settings(real_dir, &s, &e), -code);
	assert_non_null(e);
	assert_non_null(strstr(e->msg, "rover.json"));
	if (needle && !strstr(e->msg, needle))
		fail_msg("message '%s' lacks '%s'", e->msg, needle);
	assert_null(s.agent_image); /* not written on failure */
	/* project_open fails the same way */
	struct project *p = NULL;
	_cleanup_error_ struct rv_error *e2 = NULL;
	assert_int_equal(project_open(real_dir, &p, &e2), -code);
	assert_null(p);
}

static void test_project_settings_file_errors(void **state)
{
	(void)state;
	expect_file_error("{\"retry\": {\"max\": 3", EBADMSG, "truncated");
	expect_file_error("", EBADMSG, "empty");
	expect_file_error("[1, 2]", EINVAL, "not a JSON object");
	expect_file_error("{\"agentImage\": 7}", EINVAL, "agentImage");
	expect_file_error("{\"retry\": 5}", EINVAL, "retry must be an object");
	expect_file_error("{\"retry\": {\"max\": \"3\"}}", EINVAL, "retry.max");
	expect_file_error("{\"retry\": {\"baseSeconds\": 1.5}}", EINVAL, "baseSeconds");
	expect_file_error("{\"retry\": {\"baseSeconds\": 0}}", EINVAL, "baseSeconds");
	expect_file_error("{\"retry\": {\"max\": -1}}", EINVAL, "retry.max");
	expect_file_error("{\"retry\": {\"capSeconds\": 99999999999}}", EINVAL, "capSeconds");
	expect_file_error("{\"retry\": {\"baseSeconds\": 500, \"capSeconds\": 100}}", EINVAL,
			  "larger than capSeconds");
}

static void expect_env_error(const char *name, const char *value, const char *needle)
{
	setenv(name, value, 1);
	struct project_settings s = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(project_load_settings(real_dir, &s, &e), -EINVAL);
	assert_non_null(e);
	if (!strstr(e->msg, needle))
		fail_msg("message '%s' lacks '%s'", e->msg, needle);
	unsetenv(name);
}

static void test_project_settings_env_errors(void **state)
{
	(void)state;
	expect_env_error("ROVER_RETRY_MAX", "five", "ROVER_RETRY_MAX");
	expect_env_error("ROVER_RETRY_MAX", "5x", "ROVER_RETRY_MAX");
	expect_env_error("ROVER_RETRY_MAX", " 5", "ROVER_RETRY_MAX");
	expect_env_error("ROVER_RETRY_MAX", "-2", "ROVER_RETRY_MAX");
	expect_env_error("ROVER_RETRY_BASE_SECONDS", "0", "ROVER_RETRY_BASE_SECONDS");
	expect_env_error("ROVER_RETRY_CAP_SECONDS", "99999999999999999999", "ROVER_RETRY_CAP");
	expect_env_error("ROVER_RETRY_BASE_SECONDS", "7200", "larger than capSeconds");
	/* the environment wins over a valid file, and a file error still counts */
	write_file("rover.json", "{\"retry\": {\"baseSeconds\": 10, \"capSeconds\": 20}}");
	expect_env_error("ROVER_RETRY_CAP_SECONDS", "5", "larger than capSeconds");
}

static void test_project_settings_unreadable(void **state)
{
	(void)state;
	/* rover.json that is a directory: a clear error, not defaults */
	make_dir("rover.json");
	struct project_settings s = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(project_load_settings(real_dir, &s, &e), -EISDIR);
	assert_non_null(strstr(e->msg, "rover.json"));
}

/* rover init: what it writes keeps the rest, fills retry, never names an
 * engine, and a file rover would refuse is never written. */
static void test_project_settings_for_init(void **state)
{
	(void)state;
	write_file("rover.json", "{\"languages\": [\"c\"], \"retry\": {\"max\": 2}, "
				 "\"agentImage\": \"old:1\"}");
	struct json_object *existing = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(project_settings_read_json(real_dir, &existing, &err), 0);
	struct json_object *o = project_settings_for_init(existing, "img:2", "codex");
	assert_string_equal(jsonutil_get_str(o, "agentImage"), "img:2");
	assert_string_equal(jsonutil_get_str(o, "agent"), "codex");
	assert_non_null(jsonutil_get_array(o, "languages"));
	struct json_object *retry = jsonutil_get_obj(o, "retry");
	int64_t v = 0;
	assert_true(jsonutil_get_int64(retry, "max", &v));
	assert_int_equal(v, 2);
	assert_true(jsonutil_get_int64(retry, "capSeconds", &v));
	assert_int_equal(v, PROJECT_RETRY_DEFAULT_CAP);
	assert_false(json_object_object_get_ex(o, "engine", NULL));
	/* existing is not changed */
	assert_string_equal(jsonutil_get_str(existing, "agentImage"), "old:1");
	assert_int_equal(project_settings_write(real_dir, o, &err), 0);
	struct project_settings s = {0};
	assert_int_equal(project_load_settings(real_dir, &s, &err), 0);
	assert_string_equal(s.agent_image, "img:2");
	assert_string_equal(s.agent, "codex");
	assert_int_equal(s.retry.max, 2);
	project_settings_release(&s);
	json_object_put(o);
	json_object_put(existing);

	/* a new file; and one rover would refuse is not written */
	o = project_settings_for_init(NULL, "img:3", NULL);
	assert_false(json_object_object_get_ex(o, "agent", NULL));
	jsonutil_set_str(o, "agent", "notatool");
	assert_int_equal(project_settings_write(real_dir, o, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "agent must be one of"));
	err = rv_error_free(err);
	json_object_put(o);
	assert_int_equal(project_load_settings(real_dir, &s, &err), 0);
	assert_string_equal(s.agent_image, "img:2"); /* the old file is intact */
	project_settings_release(&s);

	write_file("rover.json", "[1]");
	assert_int_equal(project_settings_read_json(real_dir, &existing, &err), -EINVAL);
	err = rv_error_free(err);
	_cleanup_free_ char *f = path_in("rover.json");
	unlink(f);
	assert_int_equal(project_settings_read_json(real_dir, &existing, &err), -ENOENT);
	rv_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_project_root_is_git_top_level, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_root_git_file_marks_worktree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_root_without_git_is_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_root_missing_start_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_store_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_legacy_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_migrates_own_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_shipped_store_is_left_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_settings_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_settings_from_file_and_env, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_queue_and_stall_settings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_agent_image_precedence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_project_settings_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_settings_env_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_settings_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_settings_for_init, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
