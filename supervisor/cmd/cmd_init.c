/*
 * rover init [--engine E] [--image I] [--agent A] [--force] [--json]
 *
 * Checks first, writes last: the engine must answer and have the image
 * before rover.json is written, so a refusal leaves nothing behind.  The
 * engine goes to the user's own configuration (userconfig.h), never into
 * rover.json: a cloned repository must not choose where rover connects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/agent_tool.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/preflight.h"
#include "supervisor/lib/userconfig.h"

static const struct cmdopt_spec spec = {
	.verb = "init",
	.header =
		"Usage: rover init [--engine ENGINE] [--image IMAGE] [--agent TOOL] [--force] [--json]\n"
		"\n"
		"Set up rover for this project: check that the container engine answers and\n"
		"has the image, print what was found, and write rover.json (agentImage,\n"
		"agent, retry settings).  Nothing is written when a check fails.  The engine\n"
		"is never written to rover.json; --engine saves it in your own\n"
		"~/.config/rover/config.json.\n"
		"\n",
	.column = 23,
	.no_operands = true,
};

struct init_found {
	struct engine *engine;
	const char *chosen_by; /* static */
	struct engine_image_info image;
};

/* The engine discovery would pick for engine_arg, and what chose it. */
static int find_engine(const char *engine_arg, struct init_found *f, struct rv_error **err)
{
	struct engine_discover_env denv;
	struct userconfig uc = {0};
	int r = engine_discover_env_load(engine_arg, &denv, &uc, err);
	if (r < 0)
		return r;
	struct engine_candidates c = {0};
	r = engine_discover_candidates(&denv, &c, err);
	if (r >= 0) {
		f->chosen_by = c.source;
		r = engine_discover_with(&denv, &f->engine, err);
	}
	engine_candidates_release(&c);
	userconfig_release(&uc);
	return r;
}

int cmd_init(int argc, char **argv)
{
	const char *engine_arg = NULL, *image = NULL, *agent = NULL;
	bool json = false, force = false;
	const struct cmdopt opts[] = {
		CMDOPT_STRING("engine", 0, &engine_arg, "ENGINE",
			      "docker, podman, unix:///path or tcp://host:port; saved\n"
			      "in your configuration (default: discovery, not saved)"),
		CMDOPT_STRING("image", 0, &image, "IMAGE",
			      "the agent image (default: $ROVER_AGENT_IMAGE, else the\n"
			      "agentImage of an existing rover.json with --force)"),
		CMDOPT_STRING("agent", 'a', &agent, "TOOL",
			      "default agent: claude, codex, gemini, qwen, opencode, cursor"),
		CMDOPT_FLAG("force", 0, &force,
			    "update an existing rover.json (keys init does not set\n"
			    "are kept)"),
		CMDOPT_FLAG("json", 0, &json, "print one JSON object"),
		CMDOPT_END,
	};
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (agent && !agent_tool_is_known(agent))
		return cmd_usage_error("init",
				       "unknown agent '%s' (claude, codex, gemini, qwen, opencode, "
				       "cursor)",
				       agent);
	if (engine_arg && !*engine_arg)
		return cmd_usage_error("init", "--engine needs a value");
	/* The global `rover --engine E init` is the same choice. */
	if (!engine_arg)
		engine_arg = engine_global_option();

	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *root = NULL;
	bool is_git = false;
	if (project_find_root(NULL, &root, &is_git, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	_cleanup_free_ char *path = fileio_join(root, PROJECT_SETTINGS_FILE);

	/* The cheap refusals first: an existing file, a broken one. */
	_cleanup_json_ struct json_object *existing = NULL;
	int r = project_settings_read_json(root, &existing, &err);
	if (r < 0 && r != -ENOENT)
		return cmd_fail(json, CMD_FAILED, err);
	if (r == 0 && !force)
		return cmd_failf(json, CMD_FAILED,
				 "'%s' exists; pass --force to update it (the keys init does not "
				 "set are kept)",
				 path);
	rv_error_free(TAKE_PTR(err));
	if (!image) {
		const char *env_image = getenv("ROVER_AGENT_IMAGE");
		image = env_image && *env_image ? env_image : jsonutil_get_str(existing, "agentImage");
	}
	if (!image || !*image)
		return cmd_failf(json, CMD_FAILED,
				 "no image to check: pass --image IMAGE (or set ROVER_AGENT_IMAGE)");
	if (!agent && existing) {
		const char *kept = jsonutil_get_str(existing, "agent");
		agent = kept && agent_tool_is_known(kept) ? kept : NULL;
	}

	struct init_found f = {0};
	rc = CMD_FAILED;
	/* Freed at out: (not cleanup attributes: gcc 12's -fanalyzer misreads
	 * them past the early returns above) */
	struct json_object *settings = NULL;
	char *previous = NULL;
	char *ucpath = userconfig_path();
	bool saved = false;
	if (find_engine(engine_arg, &f, &err) < 0) {
		rv_error_wrap(&err, "cannot init %s: the engine does not answer", root);
		goto fail;
	}
	if (preflight_image(f.engine, image, &f.image, &err) < 0) {
		rv_error_wrap(&err, "cannot init %s", root);
		goto fail;
	}

	settings = project_settings_for_init(existing, image, agent);
	if (project_settings_write(root, settings, &err) < 0)
		goto fail;
	if (engine_arg) {
		if (userconfig_set_engine(engine_arg, &previous, &err) < 0) {
			rv_error_wrap(&err, "'%s' was written, but", path);
			goto fail;
		}
		saved = true;
	}

	char size[32];
	preflight_format_size(f.image.size, size, sizeof(size));
	const char *server = engine_get_server(f.engine);
	if (json) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_bool(o, "success", true);
		jsonutil_set_str(o, "settingsFile", path);
		json_object_object_add(o, "settings", json_object_get(settings));
		struct json_object *e = json_object_new_object();
		jsonutil_set_str(e, "kind", engine_kind_name(engine_get_kind(f.engine)));
		jsonutil_set_str(e, "endpoint", engine_get_uri(f.engine));
		jsonutil_set_str(e, "chosenBy", f.chosen_by);
		jsonutil_set_str(e, "server", server);
		jsonutil_set_str(e, "apiVersion", engine_get_api_version(f.engine));
		if (saved)
			jsonutil_set_str(e, "savedTo", ucpath);
		json_object_object_add(o, "engine", e);
		struct json_object *im = json_object_new_object();
		jsonutil_set_str(im, "name", image);
		jsonutil_set_str(im, "id", f.image.id);
		jsonutil_set_int64(im, "size", f.image.size);
		json_object_object_add(o, "image", im);
		jsonutil_set_str(o, "agent", agent);
		cmd_print_json(o);
	} else {
		printf("Project:  %s%s\n", root, is_git ? " (git)" : " (not a git repository)");
		printf("Engine:   %s at %s (%s, API %s), chosen by %s\n",
		       engine_kind_name(engine_get_kind(f.engine)), engine_get_uri(f.engine),
		       *server ? server : "version unknown", engine_get_api_version(f.engine),
		       f.chosen_by);
		const char *id = f.image.id;
		if (!strncmp(id, "sha256:", 7))
			id += 7;
		printf("Image:    %s (%.12s, %s)\n", image, id, size);
		printf("Agent:    %s\n", agent ? agent : "the workflow's default (pass --agent to set one)");
		printf("✓ Wrote %s\n", path);
		if (saved)
			printf("✓ Saved engine %s in %s%s%s%s\n", engine_arg, ucpath,
			       previous ? " (it was " : "", previous ? previous : "",
			       previous ? ")" : "");
		else
			printf("ℹ The engine is not saved anywhere (rover.json never names one); "
			       "'rover init --engine %s' saves it in %s\n",
			       engine_get_uri(f.engine), ucpath ? ucpath : "your configuration");
	}
	rc = CMD_OK;
	goto out;
fail:
	rc = cmd_fail(json, CMD_FAILED, err);
out:
	json_object_put(settings);
	free(previous);
	free(ucpath);
	engine_image_info_release(&f.image);
	engine_free(f.engine);
	return rc;
}
