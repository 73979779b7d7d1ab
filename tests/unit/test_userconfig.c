/* Unit tests for supervisor/lib/userconfig and the engine endpoints a user
 * configures: the file's location, strict parsing with errors naming the
 * file, its place in the engine selection order, and the check that refuses
 * a task record's endpoint the user did not configure (before any
 * connection). */
#define _GNU_SOURCE
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
#include "supervisor/lib/engine.h"
#include "supervisor/lib/userconfig.h"

static char dir[] = "/tmp/rover-test-userconfig-XXXXXX";

static void clear_env(void)
{
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("ROVER_ENGINE");
	unsetenv("DOCKER_HOST");
	unsetenv("CONTAINER_HOST");
}

static int setup(void **state)
{
	(void)state;
	clear_env();
	strcpy(dir, "/tmp/rover-test-userconfig-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	clear_env();
	return fileio_remove_tree(dir, NULL);
}

static char *write_config(const char *text)
{
	_cleanup_free_ char *cfg = fileio_join(dir, "config/rover");
	assert_int_equal(fileio_mkdir_p(cfg, 0755, NULL), 0);
	char *path = fileio_join(cfg, "config.json");
	assert_int_equal(fileio_write_atomic(path, text, strlen(text), 0644, NULL), 0);
	_cleanup_free_ char *home = fileio_join(dir, "config");
	setenv("XDG_CONFIG_HOME", home, 1);
	return path;
}

static void test_userconfig_path(void **state)
{
	(void)state;
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	_cleanup_free_ char *a = userconfig_path();
	assert_string_equal(a, "/x/cfg/rover/config.json");
	/* a relative XDG_CONFIG_HOME is ignored (XDG spec) */
	const char *home = getenv("HOME");
	_cleanup_free_ char *saved = home ? xstrdup(home) : NULL;
	setenv("XDG_CONFIG_HOME", "rel", 1);
	setenv("HOME", "/h", 1);
	_cleanup_free_ char *b = userconfig_path();
	assert_string_equal(b, "/h/.config/rover/config.json");
	unsetenv("HOME");
	assert_null(userconfig_path());
	if (saved)
		setenv("HOME", saved, 1);
}

static void test_userconfig_load(void **state)
{
	(void)state;
	/* missing: an empty configuration */
	_cleanup_free_ char *home = fileio_join(dir, "none");
	setenv("XDG_CONFIG_HOME", home, 1);
	struct userconfig uc = {0};
	assert_int_equal(userconfig_load(&uc, NULL), 0);
	assert_false(uc.present);
	assert_null(uc.engine);
	userconfig_release(&uc);

	static const char *const good[] = {"docker", "podman", "unix:///run/x.sock",
					   "tcp://127.0.0.1:2375"};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *text = xasprintf("{\"engine\": \"%s\"}\n", good[i]);
		_cleanup_free_ char *path = write_config(text);
		assert_int_equal(userconfig_load(&uc, NULL), 0);
		assert_true(uc.present);
		assert_string_equal(uc.engine, good[i]);
		assert_string_equal(uc.path, path);
		userconfig_release(&uc);
	}
	/* "container" belongs to hardening.c: accepted here */
	free(write_config("{\"container\": {\"pidsLimit\": 10}, \"engine\": \"docker\"}"));
	assert_int_equal(userconfig_load(&uc, NULL), 0);
	assert_string_equal(uc.engine, "docker");
	userconfig_release(&uc);
	_cleanup_free_ char *path = write_config("{}");
	assert_int_equal(userconfig_load(&uc, NULL), 0);
	assert_null(uc.engine);
	userconfig_release(&uc);
}

static void test_userconfig_strict(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int code;
		const char *says;
	} bad[] = {
		{"", -EBADMSG, ""},
		{"{\"engine\": \"docker\"", -EBADMSG, ""},
		{"{\"engine\": \"docker\"} x", -EBADMSG, ""},
		{"[\"docker\"]", -EINVAL, "object"},
		{"{\"engine\": 1}", -EINVAL, "string"},
		{"{\"engine\": \"\"}", -EINVAL, "string"},
		{"{\"engine\": \"dockr\"}", -EINVAL, "dockr"},
		{"{\"engine\": \"http://x:1\"}", -EINVAL, "http://x:1"},
		{"{\"engine\": \"tcp://nohost\"}", -EINVAL, "engine"},
		{"{\"engien\": \"docker\"}", -EINVAL, "engien"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *path = write_config(bad[i].text);
		struct userconfig uc = {0};
		_cleanup_error_ struct rv_error *e = NULL;
		int r = userconfig_load(&uc, &e);
		if (r != bad[i].code)
			fail_msg("'%s': %d (%s)", bad[i].text, r, rv_error_msg(e));
		assert_non_null(strstr(e->msg, path));
		assert_non_null(strstr(e->msg, bad[i].says));
		assert_null(uc.engine);
	}
	/* too big: refused, not read on */
	char *big = xmalloc(USERCONFIG_MAX_BYTES + 100);
	memset(big, ' ', USERCONFIG_MAX_BYTES + 99);
	big[USERCONFIG_MAX_BYTES + 99] = '\0';
	_cleanup_free_ char *path = write_config(big);
	free(big);
	struct userconfig uc = {0};
	assert_int_equal(userconfig_load(&uc, NULL), -EFBIG);
}

/* Selection: --engine, ROVER_ENGINE, DOCKER_HOST, CONTAINER_HOST, the user's
 * file, the default sockets. */
static void test_engine_order_with_user_config(void **state)
{
	(void)state;
	struct engine_discover_env env = {.user_engine = "tcp://127.0.0.1:7001",
					  .user_config = "/u/config.json",
					  .docker_sock = "/d.sock",
					  .podman_root_sock = "/p.sock"};
	struct engine_candidates c = {0};
	assert_int_equal(engine_discover_candidates(&env, &c, NULL), 0);
	assert_string_equal(c.source, "user config");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.uris[0], "tcp://127.0.0.1:7001");
	engine_candidates_release(&c);
	env.container_host = "unix:///c.sock";
	assert_int_equal(engine_discover_candidates(&env, &c, NULL), 0);
	assert_string_equal(c.source, "CONTAINER_HOST");
	engine_candidates_release(&c);
	env.container_host = NULL;
	env.user_engine = "bogus";
	_cleanup_error_ struct rv_error *e = NULL;
	assert_true(engine_discover_candidates(&env, &c, &e) < 0);
	assert_non_null(strstr(e->msg, "/u/config.json"));
}

/* A record's endpoint must be one the user configured; refused ones name
 * the task and the endpoint, and nothing is contacted. */
static void test_engine_recorded_endpoint_check(void **state)
{
	(void)state;
	struct engine_discover_env env = {.rover_engine = "unix:///run/t/docker.sock",
					  .user_engine = "tcp://127.0.0.1:7001",
					  .xdg_runtime_dir = "/run/user/7",
					  .docker_sock = "/d.sock",
					  .podman_root_sock = "/p.sock"};
	static const char *const ok[] = {"unix:///run/t/docker.sock",
					 "tcp://127.0.0.1:7001",
					 "unix:///d.sock",
					 "unix:///p.sock",
					 "unix:///run/user/7/podman/podman.sock",
					 "docker",
					 "podman"};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		_cleanup_error_ struct rv_error *e = NULL;
		if (engine_check_recorded(&env, 3, ok[i], &e) != 0)
			fail_msg("%s: %s", ok[i], rv_error_msg(e));
	}
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(engine_check_recorded(&env, 3, "tcp://127.0.0.1:1", &e), -EPERM);
	assert_string_equal(e->msg,
			    "task 3 names engine endpoint tcp://127.0.0.1:1, which is not "
			    "configured here; set ROVER_ENGINE=tcp://127.0.0.1:1 to use it");
	e = rv_error_free(e);
	assert_int_equal(engine_check_recorded(&env, 4, "unix:///tmp/evil.sock", &e), -EPERM);
	assert_non_null(strstr(e->msg, "task 4"));
	e = rv_error_free(e);
	assert_int_equal(engine_check_recorded(&env, 5, "http://x", &e), -EINVAL);
	assert_non_null(strstr(e->msg, "task 5"));
	e = rv_error_free(e);
	assert_int_equal(engine_check_recorded(&env, 5, "", &e), -EINVAL);

	/* from the process environment: refused before any connection (a
	 * connection to port 1 would say "cannot connect") */
	_cleanup_free_ char *home = fileio_join(dir, "none");
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("ROVER_ENGINE", "unix:///run/t/docker.sock", 1);
	struct engine *eng = NULL;
	e = rv_error_free(e);
	assert_int_equal(engine_open_recorded(7, "tcp://127.0.0.1:1", &eng, &e), -EPERM);
	assert_null(eng);
	assert_non_null(strstr(e->msg, "task 7 names engine endpoint tcp://127.0.0.1:1"));
	/* configured in the user's file: allowed (and then really tried) */
	_cleanup_free_ char *path = write_config("{\"engine\": \"tcp://127.0.0.1:1\"}");
	e = rv_error_free(e);
	assert_int_equal(engine_open_recorded(7, "tcp://127.0.0.1:1", &eng, &e), -ECONNREFUSED);
	/* a broken file refuses too, naming the file */
	free(write_config("{"));
	e = rv_error_free(e);
	assert_true(engine_open_recorded(7, "tcp://127.0.0.1:1", &eng, &e) < 0);
	assert_non_null(strstr(e->msg, path));
}

/* rover init --engine: the engine saved, the rest kept, a broken file
 * never overwritten. */
static void test_userconfig_set_engine(void **state)
{
	(void)state;
	_cleanup_free_ char *home = fileio_join(dir, "fresh");
	setenv("XDG_CONFIG_HOME", home, 1);
	struct rv_error *err = NULL;
	char *prev = NULL;
	assert_int_equal(userconfig_set_engine("podman", &prev, &err), 0);
	assert_null(prev);
	struct userconfig uc = {0};
	assert_int_equal(userconfig_load(&uc, &err), 0);
	assert_true(uc.present);
	assert_string_equal(uc.engine, "podman");
	struct stat sb;
	assert_int_equal(stat(uc.path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	userconfig_release(&uc);

	_cleanup_free_ char *path = write_config("{\"engine\": \"docker\", \"container\": "
						 "{\"pidsLimit\": 100}}");
	assert_int_equal(userconfig_set_engine("tcp://127.0.0.1:2375", &prev, &err), 0);
	assert_string_equal(prev, "docker");
	free(prev);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_bounded(path, 65536, &buf, &len, NULL), 0);
	assert_non_null(strstr(buf, "\"tcp://127.0.0.1:2375\""));
	assert_non_null(strstr(buf, "pidsLimit"));

	/* a bad value or a broken file: refused, the file as it was */
	assert_int_equal(userconfig_set_engine("ssh://x", NULL, &err), -EINVAL);
	err = rv_error_free(err);
	free(write_config("{\"engine\": "));
	assert_int_equal(userconfig_set_engine("docker", NULL, &err), -EBADMSG);
	err = rv_error_free(err);
	free(buf);
	buf = NULL;
	assert_int_equal(fileio_read_bounded(path, 65536, &buf, &len, NULL), 0);
	assert_string_equal(buf, "{\"engine\": ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_userconfig_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconfig_set_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconfig_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userconfig_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_order_with_user_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_engine_recorded_endpoint_check, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
