/* Unit tests for supervisor/lib/hardening: defaults, value parsers, trusted
 * sources (user config, environment) applied as given, a repository's
 * rover.json allowed only to tighten, bad values refused with messages that
 * name the key, the agent's user, hardening_load end to end on files, the
 * engine create body carrying every setting, and the tree re-owning walk
 * (which never follows a symlink). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/hardening.h"

static const struct hardening_host host4 = {.ncpus = 4};

/* A fake environment for hardening_apply_env: NAME=value pairs. */
static const char *const *fake_env;
static const char *fake_getenv(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *p = fake_env; p && *p; p++)
		if (!strncmp(*p, name, n) && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = NULL;
	assert_int_equal(jsonutil_parse(text, strlen(text), "test", &o, NULL), 0);
	return o;
}

static void test_hardening_defaults(void **state)
{
	(void)state;
	struct hardening h;
	hardening_defaults(&host4, &h);
	assert_non_null(h.cap_add);
	assert_null(h.cap_add[0]);
	assert_int_equal(h.n_cap_add, 0);
	assert_true(h.no_new_privileges);
	assert_false(h.read_only_rootfs);
	assert_int_equal(h.pids_limit, HARDENING_DEFAULT_PIDS_LIMIT);
	assert_int_equal(h.memory, 4LL << 30);
	assert_int_equal(h.nano_cpus, 4000000000LL);
	assert_null(h.user);
	hardening_release(&h);
}

static void test_hardening_parsers(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(hardening_parse_memory("4g", &v), 0);
	assert_int_equal(v, 4LL << 30);
	assert_int_equal(hardening_parse_memory("512M", &v), 0);
	assert_int_equal(v, 512LL << 20);
	assert_int_equal(hardening_parse_memory("1.5GiB", &v), 0);
	assert_int_equal(v, 3LL << 29);
	assert_int_equal(hardening_parse_memory("2kb", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(hardening_parse_memory("1048576", &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(hardening_parse_memory("0", &v), 0);
	assert_int_equal(v, 0);
	const char *bad_mem[] = {"", "g", "-1g", "4x", "4 g", "0x10", "1e9", "inf", "4gg", "1.2.3"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_mem); i++)
		assert_int_equal(hardening_parse_memory(bad_mem[i], &v), -EINVAL);
	assert_int_equal(hardening_parse_memory("99999999t", &v), -ERANGE);

	assert_int_equal(hardening_parse_cpus("1.5", &v), 0);
	assert_int_equal(v, 1500000000LL);
	assert_int_equal(hardening_parse_cpus("2", &v), 0);
	assert_int_equal(v, 2000000000LL);
	const char *bad_cpu[] = {"", "-1", "1,5", "two", "1.5c"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_cpu); i++)
		assert_int_equal(hardening_parse_cpus(bad_cpu[i], &v), -EINVAL);

	_cleanup_free_ char *c1 = hardening_cap_name("cap_net_bind_service");
	assert_string_equal(c1, "NET_BIND_SERVICE");
	_cleanup_free_ char *c2 = hardening_cap_name("Chown");
	assert_string_equal(c2, "CHOWN");
	_cleanup_free_ char *c3 = hardening_cap_name("all");
	assert_string_equal(c3, "ALL");
	assert_null(hardening_cap_name("CAP_"));
	assert_null(hardening_cap_name("FLY"));
}

static void test_hardening_trusted_sources_may_loosen(void **state)
{
	(void)state;
	struct hardening h;
	hardening_defaults(&host4, &h);
	_cleanup_json_ struct json_object *c = parse(
		"{\"pidsLimit\": 4096, \"memory\": \"16g\", \"cpus\": 3.5, \"capAdd\": "
		"[\"chown\", \"CAP_SETUID\", \"CHOWN\"], \"noNewPrivileges\": false, \"user\": "
		"\"0:0\"}");
	assert_int_equal(hardening_apply_trusted(&h, &host4, c, "'cfg'", NULL), 0);
	assert_int_equal(h.pids_limit, 4096);
	assert_int_equal(h.memory, 16LL << 30);
	assert_int_equal(h.nano_cpus, 3500000000LL);
	assert_int_equal(h.n_cap_add, 2);
	assert_string_equal(h.cap_add[0], "CHOWN");
	assert_string_equal(h.cap_add[1], "SETUID");
	assert_null(h.cap_add[2]);
	assert_false(h.no_new_privileges);
	assert_string_equal(h.user, "0:0");
	assert_string_equal(h.where[0], "'cfg'");

	/* The environment wins over the file; "none" empties capAdd. */
	const char *env[] = {
		"ROVER_CONTAINER_PIDS_LIMIT=0",       "ROVER_CONTAINER_MEMORY=",
		"ROVER_CONTAINER_CAP_ADD=none",       "ROVER_CONTAINER_NO_NEW_PRIVILEGES=yes",
		"ROVER_CONTAINER_READ_ONLY_ROOTFS=1", "ROVER_CONTAINER_USER=node",
		"ROVER_CONTAINER_CPUS=0.5",           NULL};
	fake_env = env;
	assert_int_equal(hardening_apply_env(&h, &host4, fake_getenv, NULL), 0);
	assert_int_equal(h.pids_limit, 0);      /* no limit */
	assert_int_equal(h.memory, 16LL << 30); /* "" is unset */
	assert_int_equal(h.n_cap_add, 0);
	assert_null(h.cap_add[0]);
	assert_true(h.no_new_privileges);
	assert_true(h.read_only_rootfs);
	assert_string_equal(h.user, "node");
	assert_int_equal(h.nano_cpus, 500000000LL);
	assert_string_equal(h.where[0], "ROVER_CONTAINER_PIDS_LIMIT");
	hardening_release(&h);
}

static void test_hardening_env_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *var, *needle;
	} cases[] = {
		{"ROVER_CONTAINER_PIDS_LIMIT=lots",
		 "ROVER_CONTAINER_PIDS_LIMIT must be an integer"},
		{"ROVER_CONTAINER_PIDS_LIMIT=3", "ROVER_CONTAINER_PIDS_LIMIT"},
		{"ROVER_CONTAINER_PIDS_LIMIT=-5", "ROVER_CONTAINER_PIDS_LIMIT"},
		{"ROVER_CONTAINER_MEMORY=4q", "ROVER_CONTAINER_MEMORY must be a size"},
		{"ROVER_CONTAINER_MEMORY=1k", "at least 16m"},
		{"ROVER_CONTAINER_CPUS=9", "more than the 4 CPUs"},
		{"ROVER_CONTAINER_CPUS=0.001", "at least 0.01"},
		{"ROVER_CONTAINER_CAP_ADD=CHOWN,FLY", "'FLY', which is not a Linux capability"},
		{"ROVER_CONTAINER_NO_NEW_PRIVILEGES=maybe", "must be 1 or 0"},
		{"ROVER_CONTAINER_USER=1000", "must be uid:gid"},
		{"ROVER_CONTAINER_USER=a b", "must be uid:gid"},
		{"ROVER_CONTAINER_USER=1000:", "must be uid:gid"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hardening h;
		hardening_defaults(&host4, &h);
		const char *env[] = {cases[i].var, NULL};
		fake_env = env;
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(hardening_apply_env(&h, &host4, fake_getenv, &e), -EINVAL);
		if (!strstr(e->msg, cases[i].needle))
			fail_msg("%s: message '%s' lacks '%s'", cases[i].var, e->msg,
				 cases[i].needle);
		/* nothing half-applied */
		assert_int_equal(h.pids_limit, HARDENING_DEFAULT_PIDS_LIMIT);
		assert_int_equal(h.n_cap_add, 0);
		assert_null(h.user);
		hardening_release(&h);
	}
}

static void test_hardening_repo_may_tighten(void **state)
{
	(void)state;
	struct hardening h;
	hardening_defaults(&host4, &h);
	_cleanup_json_ struct json_object *c = parse(
		"{\"pidsLimit\": 100, \"memory\": \"1g\", \"cpus\": \"1\", \"capAdd\": [], "
		"\"noNewPrivileges\": true, \"readOnlyRootfs\": true, \"user\": \"2000:2000\"}");
	assert_int_equal(hardening_apply_repo(&h, &host4, c, "'rover.json'", NULL), 0);
	assert_int_equal(h.pids_limit, 100);
	assert_int_equal(h.memory, 1LL << 30);
	assert_int_equal(h.nano_cpus, 1000000000LL);
	assert_true(h.read_only_rootfs);
	assert_string_equal(h.user, "2000:2000");
	assert_string_equal(h.where[1], "'rover.json'");
	/* Equal to what is in effect is not looser. */
	_cleanup_json_ struct json_object *same = parse("{\"pidsLimit\": 100}");
	assert_int_equal(hardening_apply_repo(&h, &host4, same, "'rover.json'", NULL), 0);
	hardening_release(&h);

	/* A capability the user granted may be kept (a subset). */
	hardening_defaults(&host4, &h);
	const char *env[] = {"ROVER_CONTAINER_CAP_ADD=CHOWN,SETUID", NULL};
	fake_env = env;
	assert_int_equal(hardening_apply_env(&h, &host4, fake_getenv, NULL), 0);
	_cleanup_json_ struct json_object *sub = parse("{\"capAdd\": [\"CAP_CHOWN\"]}");
	assert_int_equal(hardening_apply_repo(&h, &host4, sub, "'rover.json'", NULL), 0);
	assert_int_equal(h.n_cap_add, 1);
	assert_string_equal(h.cap_add[0], "CHOWN");
	hardening_release(&h);
}

static void test_hardening_repo_loosening_refused(void **state)
{
	(void)state;
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{"{\"pidsLimit\": 2048}", "container.pidsLimit 2048 is looser than the 1024"},
		{"{\"pidsLimit\": 0}", "container.pidsLimit no limit is looser"},
		{"{\"memory\": \"8g\"}", "container.memory 8g is looser than the 4g"},
		{"{\"memory\": 0}", "container.memory no limit"},
		{"{\"cpus\": 4.5}", "more than the 4 CPUs"}, /* out of range before looser */
		{"{\"capAdd\": [\"SYS_ADMIN\"]}", "container.capAdd [\"SYS_ADMIN\"]"},
		{"{\"noNewPrivileges\": false}", "container.noNewPrivileges false"},
		{"{\"user\": \"0:0\"}", "container.user \"0:0\""},
		{"{\"user\": \"root\"}", "container.user \"root\""},
		{"{\"user\": \"1000:0\"}", "container.user \"1000:0\""},
		{"{\"user\": \"node\"}", "container.user \"node\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hardening h;
		hardening_defaults(&host4, &h);
		_cleanup_json_ struct json_object *c = parse(cases[i].json);
		_cleanup_error_ struct rv_error *e = NULL;
		int r = hardening_apply_repo(&h, &host4, c, "'/p/rover.json'", &e);
		assert_true(r == -EPERM || r == -EINVAL);
		if (!strstr(e->msg, cases[i].needle) || !strstr(e->msg, "'/p/rover.json'"))
			fail_msg("%s: message '%s' lacks '%s'", cases[i].json, e->msg,
				 cases[i].needle);
		if (r == -EPERM) {
			/* says where to put it instead, on one line */
			assert_non_null(strstr(e->msg, "ROVER_CONTAINER_"));
			assert_non_null(strstr(e->msg, "config.json"));
			assert_null(strchr(e->msg, '\n'));
		}
		/* nothing applied */
		assert_int_equal(h.pids_limit, HARDENING_DEFAULT_PIDS_LIMIT);
		assert_int_equal(h.memory, HARDENING_DEFAULT_MEMORY);
		assert_true(h.no_new_privileges);
		assert_null(h.user);
		hardening_release(&h);
	}
	/* readOnlyRootfs false over a user's true is looser too, and the message
	 * names where the value in effect came from. */
	struct hardening h;
	hardening_defaults(&host4, &h);
	const char *env[] = {"ROVER_CONTAINER_READ_ONLY_ROOTFS=true", NULL};
	fake_env = env;
	assert_int_equal(hardening_apply_env(&h, &host4, fake_getenv, NULL), 0);
	_cleanup_json_ struct json_object *c = parse("{\"readOnlyRootfs\": false}");
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(hardening_apply_repo(&h, &host4, c, "'rover.json'", &e), -EPERM);
	assert_non_null(strstr(e->msg, "from ROVER_CONTAINER_READ_ONLY_ROOTFS"));
	hardening_release(&h);
}

static void test_hardening_json_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{"[]", "\"container\" must be an object"},
		{"{\"pidLimit\": 5}", "unknown setting container.pidLimit"},
		{"{\"pidsLimit\": \"5\"}", "container.pidsLimit must be an integer"},
		{"{\"pidsLimit\": 8}", "container.pidsLimit must be 0 (no limit) or 16"},
		{"{\"memory\": true}", "container.memory must be a size"},
		{"{\"memory\": \"lots\"}", "container.memory 'lots' is not a size"},
		{"{\"cpus\": \"x\"}", "container.cpus 'x' is not a number"},
		{"{\"cpus\": -1}", "container.cpus must be 0 or more"},
		{"{\"capAdd\": \"CHOWN\"}", "container.capAdd must be an array"},
		{"{\"capAdd\": [1]}", "container.capAdd must hold strings"},
		{"{\"noNewPrivileges\": 1}", "container.noNewPrivileges must be true or false"},
		{"{\"user\": 1000}", "container.user must be a string"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hardening h;
		hardening_defaults(&host4, &h);
		_cleanup_json_ struct json_object *c = parse(cases[i].json);
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(hardening_apply_trusted(&h, &host4, c, "'cfg'", &e), -EINVAL);
		if (!strstr(e->msg, cases[i].needle))
			fail_msg("%s: message '%s' lacks '%s'", cases[i].json, e->msg,
				 cases[i].needle);
		hardening_release(&h);
	}
}

static void test_hardening_agent_user(void **state)
{
	(void)state;
	struct hardening h;
	hardening_defaults(&host4, &h);
	struct hardening_user u;
	/* rover as a user: that user */
	assert_int_equal(hardening_agent_user(&h, 1234, 99, &u, NULL), 0);
	assert_string_equal(u.spec, "1234:99");
	assert_true(u.numeric && u.set_home);
	assert_int_equal(u.uid, 1234);
	assert_int_equal(u.gid, 99);
	hardening_user_release(&u);
	/* rover as root: never root by default */
	assert_int_equal(hardening_agent_user(&h, 0, 0, &u, NULL), 0);
	assert_string_equal(u.spec, HARDENING_ROOT_DEFAULT_USER);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	hardening_user_release(&u);
	/* chosen: 0:0 only when asked; a name keeps the image's HOME */
	h.user = xstrdup("0:0");
	assert_int_equal(hardening_agent_user(&h, 0, 0, &u, NULL), 0);
	assert_string_equal(u.spec, "0:0");
	assert_true(u.numeric);
	assert_int_equal(u.uid, 0);
	hardening_user_release(&u);
	free(h.user);
	h.user = xstrdup("node");
	assert_int_equal(hardening_agent_user(&h, 0, 0, &u, NULL), 0);
	assert_false(u.numeric);
	assert_false(u.set_home);
	hardening_user_release(&u);
	hardening_release(&h);
}

static char tmpdir[] = "/tmp/rover-test-hardening-XXXXXX";

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/rover-test-hardening-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *rel, const char *text)
{
	_cleanup_free_ char *p = fileio_join(tmpdir, rel);
	_cleanup_free_ char *d = fileio_dirname(p);
	assert_int_equal(fileio_mkdir_p(d, 0755, NULL), 0);
	assert_int_equal(fileio_write_atomic(p, text, strlen(text), 0644, NULL), 0);
}

static void test_hardening_load_files(void **state)
{
	(void)state;
	static const char *const vars[] = {"ROVER_CONTAINER_PIDS_LIMIT",
					   "ROVER_CONTAINER_MEMORY",
					   "ROVER_CONTAINER_CPUS",
					   "ROVER_CONTAINER_CAP_ADD",
					   "ROVER_CONTAINER_USER",
					   "ROVER_CONTAINER_NO_NEW_PRIVILEGES",
					   "ROVER_CONTAINER_READ_ONLY_ROOTFS"};
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
	_cleanup_free_ char *cfg = fileio_join(tmpdir, "cfg");
	_cleanup_free_ char *proj = fileio_join(tmpdir, "proj");
	setenv("XDG_CONFIG_HOME", cfg, 1);
	assert_int_equal(fileio_mkdir_p(proj, 0755, NULL), 0);

	/* nothing anywhere: the defaults */
	struct hardening h;
	assert_int_equal(hardening_load(proj, &h, NULL), 0);
	assert_int_equal(h.pids_limit, HARDENING_DEFAULT_PIDS_LIMIT);
	hardening_release(&h);

	/* The user grants SYS_PTRACE and 8g; the repository keeps ptrace,
	 * asks 6g: allowed (tighter than what the user granted). */
	write_text("cfg/rover/config.json",
		   "{\"engine\": \"docker\", \"container\": {\"capAdd\": [\"SYS_PTRACE\"], "
		   "\"memory\": \"8g\"}}");
	write_text("proj/rover.json",
		   "{\"agentImage\": \"x\", \"container\": {\"capAdd\": [\"SYS_PTRACE\"], "
		   "\"memory\": \"6g\", \"pidsLimit\": 200}}");
	assert_int_equal(hardening_load(proj, &h, NULL), 0);
	assert_int_equal(h.memory, 6LL << 30);
	assert_int_equal(h.pids_limit, 200);
	assert_int_equal(h.n_cap_add, 1);
	hardening_release(&h);

	/* ... and the environment is applied before the repository: lowering
	 * the memory makes the repository's 6g a loosening. */
	setenv("ROVER_CONTAINER_MEMORY", "2g", 1);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(hardening_load(proj, &h, &e), -EPERM);
	assert_non_null(strstr(e->msg, "rover.json'"));
	assert_non_null(strstr(e->msg, "container.memory 6g is looser than the 2g in effect "
				       "(from ROVER_CONTAINER_MEMORY)"));
	unsetenv("ROVER_CONTAINER_MEMORY");

	/* A bad user config is named. */
	write_text("cfg/rover/config.json", "{\"container\": {\"cpus\": \"many\"}}");
	e = rv_error_free(e);
	assert_int_equal(hardening_load(NULL, &h, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "config.json': container.cpus 'many'"));
	unsetenv("XDG_CONFIG_HOME");
}

static void test_hardening_create_body(void **state)
{
	(void)state;
	const char *caps[] = {"CHOWN", NULL};
	struct engine_create_spec spec = {.image = "img",
					  .stop_timeout = -1,
					  .cap_drop_all = true,
					  .cap_add = caps,
					  .no_new_privileges = true,
					  .pids_limit = 512,
					  .memory = 1LL << 30,
					  .nano_cpus = 1500000000LL,
					  .read_only_rootfs = true};
	_cleanup_json_ struct json_object *o = NULL;
	assert_int_equal(engine_create_body(&spec, &o, NULL), 0);
	struct json_object *hc = jsonutil_get_obj(o, "HostConfig");
	assert_string_equal(json_object_to_json_string_ext(jsonutil_get_array(hc, "CapDrop"),
							   JSON_C_TO_STRING_PLAIN),
			    "[\"ALL\"]");
	assert_string_equal(json_object_to_json_string_ext(jsonutil_get_array(hc, "CapAdd"),
							   JSON_C_TO_STRING_PLAIN),
			    "[\"CHOWN\"]");
	assert_string_equal(json_object_to_json_string_ext(jsonutil_get_array(hc, "SecurityOpt"),
							   JSON_C_TO_STRING_PLAIN),
			    "[\"no-new-privileges\"]");
	int64_t v = 0;
	assert_true(jsonutil_get_int64(hc, "PidsLimit", &v) && v == 512);
	assert_true(jsonutil_get_int64(hc, "Memory", &v) && v == 1LL << 30);
	assert_true(jsonutil_get_int64(hc, "MemorySwap", &v) && v == 1LL << 30);
	assert_true(jsonutil_get_int64(hc, "NanoCpus", &v) && v == 1500000000LL);
	bool b = false;
	assert_true(jsonutil_get_bool(hc, "ReadonlyRootfs", &b) && b);
	assert_non_null(jsonutil_get_str(jsonutil_get_obj(hc, "Tmpfs"), "/tmp"));

	/* unset: nothing sent (the engine's defaults); no limit: PidsLimit -1 */
	struct engine_create_spec bare = {.image = "img", .stop_timeout = -1, .pids_limit = -7};
	_cleanup_json_ struct json_object *o2 = NULL;
	assert_int_equal(engine_create_body(&bare, &o2, NULL), 0);
	hc = jsonutil_get_obj(o2, "HostConfig");
	assert_null(jsonutil_get_array(hc, "CapDrop"));
	assert_null(jsonutil_get_array(hc, "SecurityOpt"));
	assert_false(jsonutil_get_int64(hc, "Memory", &v));
	assert_false(jsonutil_get_int64(hc, "NanoCpus", &v));
	assert_true(jsonutil_get_int64(hc, "PidsLimit", &v) && v == -1);
	assert_null(jsonutil_get_obj(hc, "Tmpfs"));
}

static void owner_is(const char *rel, uid_t uid, gid_t gid)
{
	_cleanup_free_ char *p = fileio_join(tmpdir, rel);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	if (st.st_uid != uid || st.st_gid != gid)
		fail_msg("%s is %u:%u, wanted %u:%u", rel, (unsigned)st.st_uid, (unsigned)st.st_gid,
			 (unsigned)uid, (unsigned)gid);
}

static void test_hardening_chown_tree(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	write_text("ws/a/b/c.txt", "x");
	write_text("ws/top.txt", "y");
	write_text("outside/secret", "s");
	_cleanup_free_ char *ws = fileio_join(tmpdir, "ws");
	_cleanup_free_ char *lnk = fileio_join(tmpdir, "ws/a/link");
	_cleanup_free_ char *lnkdir = fileio_join(tmpdir, "ws/dirlink");
	_cleanup_free_ char *outside = fileio_join(tmpdir, "outside");
	_cleanup_free_ char *secret = fileio_join(tmpdir, "outside/secret");
	_cleanup_free_ char *hard = fileio_join(tmpdir, "ws/hard");
	assert_int_equal(symlink(secret, lnk), 0);
	assert_int_equal(symlink(outside, lnkdir), 0);
	assert_int_equal(link(secret, hard), 0);

	assert_int_equal(hardening_chown_tree(ws, 4321, 4322, NULL), 0);
	owner_is("ws", 4321, 4322);
	owner_is("ws/a", 4321, 4322);
	owner_is("ws/a/b/c.txt", 4321, 4322);
	owner_is("ws/top.txt", 4321, 4322);
	owner_is("ws/a/link", 4321, 4322); /* the link itself */
	owner_is("ws/dirlink", 4321, 4322);
	/* never what a symlink points at, nor a file hard-linked from outside */
	owner_is("outside", 0, 0);
	owner_is("outside/secret", 0, 0);
	owner_is("ws/hard", 0, 0);

	/* Paid once: with the top already owned, nothing beneath is visited. */
	_cleanup_free_ char *later = fileio_join(tmpdir, "ws/a/later");
	write_text("ws/a/later", "z");
	assert_int_equal(hardening_chown_tree(ws, 4321, 4322, NULL), 0);
	owner_is("ws/a/later", 0, 0);
	/* Something re-made at the top (a .git replaced on resume) walks again. */
	write_text("ws/.git/HEAD", "ref: refs/heads/x\n");
	assert_int_equal(hardening_chown_tree(ws, 4321, 4322, NULL), 0);
	owner_is("ws/.git", 4321, 4322);
	owner_is("ws/.git/HEAD", 4321, 4322);
	owner_is("ws/a/later", 4321, 4322);
	/* A new owner walks again. */
	assert_int_equal(hardening_chown_tree(ws, 4000, 4000, NULL), 0);
	owner_is("ws/a/later", 4000, 4000);

	/* A symlink at the top is refused, not followed. */
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(hardening_chown_tree(lnkdir, 4321, 4322, &e), -ENOTDIR);
	owner_is("outside", 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hardening_defaults),
		cmocka_unit_test(test_hardening_parsers),
		cmocka_unit_test(test_hardening_trusted_sources_may_loosen),
		cmocka_unit_test(test_hardening_env_bad_values),
		cmocka_unit_test(test_hardening_repo_may_tighten),
		cmocka_unit_test(test_hardening_repo_loosening_refused),
		cmocka_unit_test(test_hardening_json_bad_values),
		cmocka_unit_test(test_hardening_agent_user),
		cmocka_unit_test_setup_teardown(test_hardening_load_files, setup_dir, teardown_dir),
		cmocka_unit_test(test_hardening_create_body),
		cmocka_unit_test_setup_teardown(test_hardening_chown_tree, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
