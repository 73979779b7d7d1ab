/* rover info [--engine VALUE] [--json] */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/linkage.h"
#include "supervisor/lib/supervise.h"
#include "supervisor/lib/userconfig.h"

static const struct cmdopt_spec spec = {
	.verb = "info",
	.header = "Usage: rover info [--engine VALUE] [--json]\n"
		  "\n"
		  "Show where rover keeps this project's tasks (the store), the project root,\n"
		  "your configuration file, the container engine rover would use and what\n"
		  "chose it (--engine, ROVER_ENGINE, DOCKER_HOST, CONTAINER_HOST, your\n"
		  "configuration, or the default sockets), and the project's settings.\n"
		  "The engine is pinged to tell which one answers.  Binary: how this rover\n"
		  "was linked (static, or rover-dynamic run in its place, and why).\n"
		  "\n",
	.column = 22,
	.no_operands = true,
};

/* Which engine, and what chose it; the engine is pinged, not used. */
static struct json_object *engine_json(const char *explicit_value, struct rv_error **err)
{
	struct engine_discover_env denv;
	struct userconfig uc = {0};
	int r = engine_discover_env_load(explicit_value, &denv, &uc, err);
	if (r < 0)
		return NULL;
	struct json_object *o = json_object_new_object();
	struct engine_candidates c = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	if (engine_discover_candidates(&denv, &c, &e) < 0) {
		jsonutil_set_str(o, "error", rv_error_msg(e));
		userconfig_release(&uc);
		return o;
	}
	jsonutil_set_str(o, "chosenBy", c.source);
	struct json_object *cands = json_object_new_array();
	for (size_t i = 0; i < c.n; i++)
		json_object_array_add(cands, json_object_new_string(c.uris[i]));
	json_object_object_add(o, "candidates", cands);
	struct engine *eng = NULL;
	if (engine_discover_with(&denv, &eng, &e) == 0) {
		jsonutil_set_str(o, "endpoint", engine_get_uri(eng));
		jsonutil_set_str(o, "kind", engine_kind_name(engine_get_kind(eng)));
		engine_free(eng);
	} else {
		jsonutil_set_str(o, "error", rv_error_msg(e));
	}
	struct engine_candidates ok = {0};
	engine_configured_endpoints(&denv, &ok);
	struct json_object *allowed = json_object_new_array();
	for (size_t i = 0; i < ok.n; i++)
		json_object_array_add(allowed, json_object_new_string(ok.uris[i]));
	json_object_object_add(o, "configuredEndpoints", allowed);
	engine_candidates_release(&ok);
	engine_candidates_release(&c);
	userconfig_release(&uc);
	return o;
}

static bool get_bool(struct json_object *o, const char *key)
{
	bool b = false;
	return jsonutil_get_bool(o, key, &b) && b;
}

static long long get_int(struct json_object *o, const char *key)
{
	int64_t v = 0;
	return jsonutil_get_int64(o, key, &v) ? (long long)v : 0;
}

static const char *str_or(struct json_object *o, const char *key, const char *dflt)
{
	const char *s = jsonutil_get_str(o, key);
	return s && *s ? s : dflt;
}

static void print_text(struct json_object *o)
{
	struct json_object *cfg = NULL, *eng = NULL, *set = NULL, *retry = NULL;
	json_object_object_get_ex(o, "userConfig", &cfg);
	json_object_object_get_ex(o, "engine", &eng);
	json_object_object_get_ex(o, "settings", &set);
	json_object_object_get_ex(set, "retry", &retry);
	printf("Project:      %s%s\n", str_or(o, "projectRoot", "?"),
	       get_bool(o, "isGit") ? " (git)" : " (not a git repository)");
	printf("Store:        %s (from %s)\n", str_or(o, "store", "?"),
	       str_or(o, "storeSource", "?"));
	printf("User config:  %s (%s)\n", str_or(cfg, "path", "none: no HOME"),
	       get_bool(cfg, "present") ? "present" : "absent");
	const char *ep = str_or(eng, "endpoint", NULL);
	if (ep)
		printf("Engine:       %s at %s (chosen by %s)\n", str_or(eng, "kind", "?"), ep,
		       str_or(eng, "chosenBy", "?"));
	else
		printf("Engine:       none (chosen by %s): %s\n", str_or(eng, "chosenBy", "?"),
		       str_or(eng, "error", "?"));
	printf("Agent image:  %s\n", str_or(set, "agentImage", "(not set)"));
	printf("Auto-retry:   max %lld, delay %lld s doubling up to %lld s\n",
	       get_int(retry, "max"), get_int(retry, "baseSeconds"), get_int(retry, "capSeconds"));
	printf("Binary:       %s\n", str_or(o, "binary", "?"));
	struct json_object *sup = jsonutil_get_obj(o, "supervisor");
	if (sup)
		printf("Supervisor:   pid %lld%s\n", get_int(sup, "pid"),
		       get_bool(sup, "draining")
			       ? ", in drain mode (running tasks pause after their "
				 "current step; nothing new starts)"
			       : "");
}

int cmd_info(int argc, char **argv)
{
	bool json = false;
	const char *engine_arg = NULL;
	const struct cmdopt opts[] = {
		CMDOPT_STRING("engine", 0, &engine_arg, "VALUE",
			      "show what 'rover task --engine VALUE' would use"),
		CMDOPT_FLAG("json", 0, &json, "print one JSON object"),
		CMDOPT_END,
	};
	struct cmd_env env;
	int rc = cmd_open_opts(&spec, opts, argc, argv, &json, NULL, &env);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct json_object *eng = engine_json(engine_arg, &err);
	if (!eng) {
		cmd_env_release(&env);
		return cmd_fail(json, CMD_FAILED, err);
	}
	const struct project *p = env.project;
	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_str(o, "projectRoot", p->root);
	jsonutil_set_bool(o, "isGit", p->is_git);
	jsonutil_set_str(o, "store", p->store_dir);
	jsonutil_set_str(o, "storeSource", p->store_source);
	struct json_object *cfg = json_object_new_object();
	_cleanup_free_ char *cfg_path = userconfig_path();
	jsonutil_set_str(cfg, "path", cfg_path);
	jsonutil_set_bool(cfg, "present", cfg_path && access(cfg_path, F_OK) == 0);
	json_object_object_add(o, "userConfig", cfg);
	json_object_object_add(o, "engine", eng);
	struct json_object *set = json_object_new_object();
	jsonutil_set_str(set, "agentImage", project_agent_image(p));
	struct json_object *retry = json_object_new_object();
	jsonutil_set_int64(retry, "max", p->settings.retry.max);
	jsonutil_set_int64(retry, "baseSeconds", p->settings.retry.base_seconds);
	jsonutil_set_int64(retry, "capSeconds", p->settings.retry.cap_seconds);
	json_object_object_add(set, "retry", retry);
	json_object_object_add(o, "settings", set);
	jsonutil_set_str(o, "binary", linkage_describe());
	pid_t sup_pid = 0;
	if (supervise_scheduler_info(p->store_dir, &sup_pid, NULL)) {
		struct json_object *sup = json_object_new_object();
		jsonutil_set_int64(sup, "pid", sup_pid);
		jsonutil_set_bool(sup, "draining", supervise_draining(p->store_dir));
		json_object_object_add(o, "supervisor", sup);
	}
	if (json)
		cmd_print_json(o);
	else
		print_text(o);
	cmd_env_release(&env);
	return CMD_OK;
}
