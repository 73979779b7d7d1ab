#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h> /* optind */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textutil.h"
#include "common/tty.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/lib/taskgit.h"
#include "supervisor/lib/hooks.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/preflight.h"

int cmd_env_open(struct cmd_env *env, struct rv_error **err)
{
	env->project = NULL;
	env->store = NULL;
	int r = project_open(NULL, &env->project, err);
	if (r < 0)
		return r;
	/* A store the previous rover kept inside the project moves to the
	 * user's data directory; a .rover that came with the repository is
	 * only reported, once. */
	struct project_migration m = {0};
	r = project_migrate_store(env->project, &m, err);
	if (m.message)
		fprintf(stderr, "%s %s\n",
			tty_utf8() ? (m.warning ? "⚠" : "ℹ") : (m.warning ? "!" : "i"), m.message);
	project_migration_release(&m);
	if (r >= 0)
		r = task_store_open(env->project->store_dir, &env->store, err);
	if (r < 0) {
		project_free(env->project);
		env->project = NULL;
		return r;
	}
	env->store->project_root = env->project->root;
	env->store->project_is_git = env->project->is_git;
	return r;
}

void cmd_env_release(struct cmd_env *env)
{
	task_store_free(env->store);
	project_free(env->project);
	env->store = NULL;
	env->project = NULL;
}

void cmd_print_json(struct json_object *obj)
{
	_cleanup_free_ char *s = jsonutil_to_pretty(obj);
	fputs(s, stdout);
	fflush(stdout);
}

static int fail_msg(bool json, int code, const char *msg)
{
	/* A message may quote text the container wrote: no control
	 * characters on the terminal; the JSON below keeps it raw. */
	_cleanup_free_ char *safe = textutil_escape_terminal(msg);
	fprintf(stderr, "rover: %s\n", safe);
	if (json) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		struct json_object *errs = json_object_new_array();
		json_object_array_add(errs, json_object_new_string(msg));
		jsonutil_set_bool(o, "success", false);
		json_object_object_add(o, "errors", errs);
		cmd_print_json(o);
	}
	return code;
}

int cmd_fail(bool json, int code, struct rv_error *err)
{
	return fail_msg(json, code, rv_error_msg(err));
}

int cmd_failf(bool json, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return fail_msg(json, code, msg);
}

int cmd_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "rover: %s: ", verb);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'rover %s --help'.\n", verb);
	return CMD_USAGE;
}

bool cmd_parse_id(const char *verb, const char *s, int64_t *ret)
{
	_cleanup_error_ struct rv_error *e = NULL;
	if (!s) {
		cmd_usage_error(verb, "missing task id");
		return false;
	}
	if (task_store_parse_id(s, ret, &e) < 0) {
		cmd_usage_error(verb, "%s", rv_error_msg(e));
		return false;
	}
	return true;
}

bool cmd_parse_uint(const char *verb, const char *opt, const char *s, long max, long *ret)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	/* digits only: strtol alone would take " 5" and "+5" */
	if (errno || *s < '0' || *s > '9' || *end || v < 0 || v > max) {
		cmd_usage_error(verb, "%s takes a whole number from 0 to %ld, got '%s'", opt, max,
				s);
		return false;
	}
	*ret = v;
	return true;
}

void cmd_report_stderr(void *userdata, const char *level, int64_t id, const char *msg)
{
	(void)userdata;
	(void)id;
	_cleanup_free_ char *safe = textutil_escape_terminal(msg);
	bool warn = !strcmp(level, "warn");
	fprintf(stderr, "%s %s\n", tty_utf8() ? (warn ? "⚠" : "ℹ") : (warn ? "!" : "i"), safe);
}

char *cmd_join_words(int n, char **words)
{
	char *s = xstrdup(words[0]);
	for (int i = 1; i < n; i++) {
		char *d = xasprintf("%s %s", s, words[i]);
		free(s);
		s = d;
	}
	return s;
}

/* The one operand after the options (argv[optind]), a task id: -1 to go on,
 * else CMD_USAGE after the usage error. */
static int one_id(const char *verb, int argc, char **argv, int64_t *ret_id)
{
	if (optind + 1 != argc)
		return optind >= argc ? cmd_usage_error(verb, "missing task id")
				      : cmd_usage_error(verb, "unexpected argument '%s'",
							argv[optind + 1]);
	return cmd_parse_id(verb, argv[optind], ret_id) ? -1 : CMD_USAGE;
}

int cmd_open(struct cmd_env *env, bool json)
{
	_cleanup_error_ struct rv_error *err = NULL;
	if (cmd_env_open(env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	return -1;
}

int cmd_open_opts(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc, char **argv,
		  const bool *json, int64_t *ret_id, struct cmd_env *env)
{
	int rc = cmdopt_parse(spec, opts, argc, argv);
	if (rc < 0 && ret_id)
		rc = one_id(spec->verb, argc, argv, ret_id);
	if (rc < 0)
		rc = cmd_open(env, *json);
	return rc;
}

/* The task id's record loaded and observed; -1 to go on, else the exit
 * code (env released). */
static int load_observed(struct cmd_env *env, int64_t id, bool json, struct task **ret_task)
{
	_cleanup_error_ struct rv_error *err = NULL;
	struct task *t = NULL;
	if (task_store_load_id(env->store, id, &t, &err) < 0) {
		cmd_env_release(env);
		return cmd_fail(json, CMD_FAILED, err);
	}
	observe_task(env->store, &t, 0, json ? NULL : cmd_report_stderr, NULL);
	*ret_task = t;
	return -1;
}

/* cmd_run_task's opening: -1 to go on (*env and *ret_task the caller's). */
static int open_task(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc,
		     char **argv, const bool *json, struct cmd_env *env, struct task **ret_task)
{
	int64_t id;
	int rc = cmd_open_opts(spec, opts, argc, argv, json, &id, env);
	return rc >= 0 ? rc : load_observed(env, id, *json, ret_task);
}

int cmd_run_task(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc, char **argv,
		 const bool *json, cmd_task_body body, void *ctx)
{
	struct cmd_env env;
	struct task *t = NULL;
	int rc = open_task(spec, opts, argc, argv, json, &env, &t);
	if (rc >= 0)
		return rc;
	rc = body(&env, t, *json, ctx);
	task_free(t);
	cmd_env_release(&env);
	return rc;
}

int cmd_load_hooks(const struct cmd_env *env, bool json, struct hooks *ret)
{
	_cleanup_error_ struct rv_error *err = NULL;
	if (hooks_load(ret, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	if (env->project->settings.repo_hooks_ignored)
		fprintf(stderr,
			"rover: warning: %s/rover.json sets \"hooks\", which are ignored: a "
			"repository never chooses commands to run on your machine; set them in "
			"your own ~/.config/rover/config.json\n",
			env->project->root);
	return -1;
}

int cmd_preflight_task_image(const struct task *t, const char *image, struct rv_error **err)
{
	if (!image)
		return 0;
	struct engine *e = NULL;
	int r = launch_engine_for_task(t, &e, err);
	if (r == 0)
		r = preflight_image(e, image, NULL, err);
	engine_free(e);
	if (r < 0)
		return rv_error_wrap(err, "task %lld", (long long)t->id);
	return 0;
}

bool cmd_parse_dollars(const char *verb, const char *opt, const char *s, double *ret)
{
	char *end = NULL;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || !(d > 0) || d > PROJECT_BUDGET_LIMIT_USD) {
		cmd_usage_error(verb, "%s '%s' is not a number of dollars above 0 (at most %d)",
				opt, s, PROJECT_BUDGET_LIMIT_USD);
		return false;
	}
	*ret = d;
	return true;
}

/* cmd_run_taskgit's opening: -1 to go on (*env and *tg the caller's). */
static int open_taskgit(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc,
			char **argv, const bool *json, bool need_idle, const char **ret_file,
			struct cmd_env *env, int64_t *ret_id, struct taskgit_task *tg)
{
	const char *verb = spec->verb;
	int rc = cmdopt_parse(spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (ret_file && argc - optind == 2) {
		*ret_file = argv[--argc];
		if (!**ret_file)
			return cmd_usage_error(verb, "FILE is empty");
	}
	int64_t id;
	rc = one_id(verb, argc, argv, &id);
	if (rc < 0)
		rc = cmd_open(env, *json);
	struct task *t = NULL;
	if (rc < 0)
		rc = load_observed(env, id, *json, &t);
	if (rc >= 0)
		return rc;
	*ret_id = t->id;
	_cleanup_error_ struct rv_error *err = NULL;
	int r = need_idle ? taskgit_check_idle(t, verb, &err) : 0;
	if (r == 0)
		r = taskgit_open(env->project, env->store, t, tg, &err);
	task_free(t);
	if (r < 0) {
		cmd_env_release(env);
		return cmd_fail(*json, CMD_FAILED, err);
	}
	return -1;
}

int cmd_run_taskgit(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc,
		    char **argv, const bool *json, bool need_idle, const char **ret_file,
		    cmd_taskgit_body body, void *ctx)
{
	struct cmd_env env;
	struct taskgit_task tg = {0};
	int64_t id = 0;
	int rc = open_taskgit(spec, opts, argc, argv, json, need_idle, ret_file, &env, &id, &tg);
	if (rc >= 0)
		return rc;
	rc = body(&env, &tg, id, *json, ctx);
	taskgit_task_release(&tg);
	cmd_env_release(&env);
	return rc;
}

void cmd_mark_done(const struct cmd_env *env, int64_t id, enum task_status to, const char *done)
{
	_cleanup_error_ struct rv_error *err = NULL;
	if (taskgit_mark(env->store, id, to, &err) < 0)
		fprintf(stderr, "⚠ Task %lld was %s, but its status was not updated: %s\n",
			(long long)id, done, rv_error_msg(err));
}
