/* Unit tests for supervisor/lib/agent_logins: a login is shared only when
 * asked, as a read-only 0400 copy in the task's directory, mounted under
 * /rover-logins; unknown names are refused; the runner's adapter picks the
 * mounted copy up. */
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

#include "agent-runner/adapters.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fileio.h"
#include "supervisor/lib/agent_logins.h"

static char *tmpdir(void)
{
	char *t = xstrdup("/tmp/test-logins-XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void write_file(const char *path, const char *text)
{
	_cleanup_free_ char *dir = fileio_dirname(path);
	struct rv_error *err = NULL;
	assert_int_equal(fileio_mkdir_p(dir, 0700, &err), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_agent_logins_copies_read_only(void **state)
{
	(void)state;
	_cleanup_free_ char *home = tmpdir(), *task = tmpdir();
	_cleanup_free_ char *auth = xasprintf("%s/.codex/auth.json", home);
	write_file(auth, "{\"tokens\":\"secret\"}");
	char **binds = NULL;
	struct rv_error *err = NULL;
	/* Nothing asked: nothing shared. */
	assert_int_equal(agent_logins_prepare(NULL, home, task, false, 0, 0, &binds, &err), 0);
	assert_null(binds[0]);
	agent_logins_free(binds);
	_cleanup_free_ char *copy = xasprintf("%s/logins/codex/auth.json", task);
	assert_false(fileio_exists(copy));

	/* gemini asked but it has no login file here: only codex's. */
	assert_int_equal(
		agent_logins_prepare("codex, gemini", home, task, false, 0, 0, &binds, &err), 0);
	assert_non_null(binds[0]);
	assert_null(binds[1]);
	_cleanup_free_ char *want = xasprintf("%s:/rover-logins/codex/auth.json:ro", copy);
	assert_string_equal(binds[0], want);
	agent_logins_free(binds);
	struct stat st;
	assert_int_equal(stat(copy, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0400);
	char *text = NULL;
	assert_int_equal(fileio_read_bounded(copy, 1024, &text, NULL, &err), 0);
	assert_string_equal(text, "{\"tokens\":\"secret\"}");
	free(text);
	/* The user's own file is untouched. */
	assert_int_equal(stat(auth, &st), 0);
	assert_int_not_equal(st.st_mode & 0777, 0400);

	/* A second launch (resume) replaces the copy. */
	write_file(auth, "{\"tokens\":\"newer\"}");
	assert_int_equal(agent_logins_prepare("codex", home, task, false, 0, 0, &binds, &err), 0);
	agent_logins_free(binds);
	assert_int_equal(fileio_read_bounded(copy, 1024, &text, NULL, &err), 0);
	assert_string_equal(text, "{\"tokens\":\"newer\"}");
	free(text);
	assert_int_equal(fileio_remove_tree(home, &err), 0);
	assert_int_equal(fileio_remove_tree(task, &err), 0);
}

static void test_agent_logins_unknown_refused(void **state)
{
	(void)state;
	char **binds = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(agent_logins_prepare("claude", "/nonexistent", "/nonexistent", false, 0, 0,
					      &binds, &err),
			 -EINVAL);
	assert_non_null(strstr(rv_error_msg(err), "ROVER_AGENT_LOGINS: 'claude'"));
	rv_error_free(err);
}

static const char *env_home_only(const char *name)
{
	(void)name;
	return NULL;
}

/* The runner side: codex's private home gets the mounted copy. */
static void test_agent_logins_adapter_uses_mounted_copy(void **state)
{
	(void)state;
	_cleanup_free_ char *mnt = tmpdir(), *scratch = tmpdir();
	_cleanup_free_ char *mounted = xasprintf("%s/codex/auth.json", mnt);
	write_file(mounted, "{\"chatgpt\":1}");
	struct adapter_ctx c = {.tool = "codex",
				.scratch_dir = scratch,
				.getenv_fn = env_home_only,
				.logins_dir = mnt};
	char **argv = NULL, **env = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(adapter_prepare(&c, "P", &argv, &env, &err), 0);
	adapter_strv_free(argv);
	adapter_strv_free(env);
	_cleanup_free_ char *copied = xasprintf("%s/codex/auth.json", scratch);
	char *text = NULL;
	assert_int_equal(fileio_read_bounded(copied, 1024, &text, NULL, &err), 0);
	assert_string_equal(text, "{\"chatgpt\":1}");
	free(text);
	assert_int_equal(fileio_remove_tree(mnt, &err), 0);
	assert_int_equal(fileio_remove_tree(scratch, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_logins_copies_read_only),
		cmocka_unit_test(test_agent_logins_unknown_refused),
		cmocka_unit_test(test_agent_logins_adapter_uses_mounted_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
