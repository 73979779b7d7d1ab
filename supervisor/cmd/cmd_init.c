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

/* One `rover init`: what it was asked, what it found, what it wrote. */
struct init_run {
	const char *engine_arg, *image, *agent;
	bool json, force;
	char *root, *path; /* the project, its rover.json */
	bool is_git;
	struct json_object *existing; /* rover.json as it was, or NULL */
	struct init_found f;
	struct json_object *settings; /* as written */
	char *previous;               /* the engine the user configuration had */
	char *ucpath;                 /* the user configuration */
	bool saved;                   /* the engine was saved there */
};

static void init_run_release(struct init_run *in)
{
	free(in->root);
	free(in->path);
	json_object_put(in->existing);
	json_object_put(in->settings);
	free(in->previous);
	free(in->ucpath);
	engine_image_info_release(&in->f.image);
	engine_free(in->f.engine);
}

/* The cheap refusals first (an existing file without --force, a broken one,
 * no image), and the image and agent an existing rover.json keeps.
 * Returns -1 to go on, else the exit code. */
static int init_read_existing(struct init_run *in)
{
	_cleanup_error_ struct rv_error *err = NULL;
	if (project_find_root(NULL, &in->root, &in->is_git, &err) < 0)
		return cmd_fail(in->json, CMD_FAILED, err);
	in->path = fileio_join(in->root, PROJECT_SETTINGS_FILE);
	int r = project_settings_read_json(in->root, &in->existing, &err);
	if (r < 0 && r != -ENOENT)
		return cmd_fail(in->json, CMD_FAILED, err);
	if (r == 0 && !in->force)
		return cmd_failf(in->json, CMD_FAILED,
				 "'%s' exists; pass --force to update it (the keys init does not "
				 "set are kept)",
				 in->path);
	if (!in->image) {
		const char *env_image = getenv("ROVER_AGENT_IMAGE");
		in->image = env_image && *env_image ? env_image
						    : jsonutil_get_str(in->existing, "agentImage");
	}
	if (!in->image || !*in->image)
		return cmd_failf(
			in->json, CMD_FAILED,
			"no image to check: pass --image IMAGE (or set ROVER_AGENT_IMAGE)");
	if (!in->agent && in->existing) {
		const char *kept = jsonutil_get_str(in->existing, "agent");
		in->agent = kept && agent_tool_is_known(kept) ? kept : NULL;
	}
	return -1;
}

/* The engine answers and has the image; then rover.json is written and the
 * engine given with --engine saved in the user's configuration. */
static int init_check_and_write(struct init_run *in, struct rv_error **err)
{
	if (find_engine(in->engine_arg, &in->f, err) < 0)
		return rv_error_wrap(err, "cannot init %s: the engine does not answer", in->root);
	if (preflight_image(in->f.engine, in->image, &in->f.image, err) < 0)
		return rv_error_wrap(err, "cannot init %s", in->root);
	in->settings = project_settings_for_init(in->existing, in->image, in->agent);
	int r = project_settings_write(in->root, in->settings, err);
	if (r < 0)
		return r;
	if (in->engine_arg) {
		if (userconfig_set_engine(in->engine_arg, &in->previous, err) < 0)
			return rv_error_wrap(err, "'%s' was written, but", in->path);
		in->saved = true;
	}
	return 0;
}

static void init_print_json(const struct init_run *in)
{
	const struct engine *eng = in->f.engine;
	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_bool(o, "success", true);
	jsonutil_set_str(o, "settingsFile", in->path);
	json_object_object_add(o, "settings", json_object_get(in->settings));
	struct json_object *e = json_object_new_object();
	jsonutil_set_str(e, "kind", engine_kind_name(engine_get_kind(eng)));
	jsonutil_set_str(e, "endpoint", engine_get_uri(eng));
	jsonutil_set_str(e, "chosenBy", in->f.chosen_by);
	jsonutil_set_str(e, "server", engine_get_server(eng));
	jsonutil_set_str(e, "apiVersion", engine_get_api_version(eng));
	if (in->saved)
		jsonutil_set_str(e, "savedTo", in->ucpath);
	json_object_object_add(o, "engine", e);
	struct json_object *im = json_object_new_object();
	jsonutil_set_str(im, "name", in->image);
	jsonutil_set_str(im, "id", in->f.image.id);
	jsonutil_set_int64(im, "size", in->f.image.size);
	json_object_object_add(o, "image", im);
	jsonutil_set_str(o, "agent", in->agent);
	cmd_print_json(o);
}

static void init_print_text(const struct init_run *in)
{
	const struct engine *eng = in->f.engine;
	char size[32];
	preflight_format_size(in->f.image.size, size, sizeof(size));
	const char *server = engine_get_server(eng);
	printf("Project:  %s%s\n", in->root, in->is_git ? " (git)" : " (not a git repository)");
	printf("Engine:   %s at %s (%s, API %s), chosen by %s\n",
	       engine_kind_name(engine_get_kind(eng)), engine_get_uri(eng),
	       *server ? server : "version unknown", engine_get_api_version(eng), in->f.chosen_by);
	const char *id = in->f.image.id;
	if (!strncmp(id, "sha256:", 7))
		id += 7;
	printf("Image:    %s (%.12s, %s)\n", in->image, id, size);
	printf("Agent:    %s\n",
	       in->agent ? in->agent : "the workflow's default (pass --agent to set one)");
	printf("✓ Wrote %s\n", in->path);
	if (in->saved)
		printf("✓ Saved engine %s in %s%s%s%s\n", in->engine_arg, in->ucpath,
		       in->previous ? " (it was " : "", in->previous ? in->previous : "",
		       in->previous ? ")" : "");
	else
		printf("ℹ The engine is not saved anywhere (rover.json never names one); "
		       "'rover init --engine %s' saves it in %s\n",
		       engine_get_uri(eng), in->ucpath ? in->ucpath : "your configuration");
}

int cmd_init(int argc, char **argv)
{
	struct init_run in = {0};
	const struct cmdopt opts[] = {
		CMDOPT_STRING("engine", 0, &in.engine_arg, "ENGINE",
			      "docker, podman, unix:///path or tcp://host:port; saved\n"
			      "in your configuration (default: discovery, not saved)"),
		CMDOPT_STRING("image", 0, &in.image, "IMAGE",
			      "the agent image (default: $ROVER_AGENT_IMAGE, else the\n"
			      "agentImage of an existing rover.json with --force)"),
		CMDOPT_STRING("agent", 'a', &in.agent, "TOOL",
			      "default agent: claude, codex, gemini, qwen, opencode, cursor"),
		CMDOPT_FLAG("force", 0, &in.force,
			    "update an existing rover.json (keys init does not set\n"
			    "are kept)"),
		CMDOPT_FLAG("json", 0, &in.json, "print one JSON object"),
		CMDOPT_END,
	};
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (in.agent && !agent_tool_is_known(in.agent))
		return cmd_usage_error("init",
				       "unknown agent '%s' (claude, codex, gemini, qwen, opencode, "
				       "cursor)",
				       in.agent);
	if (in.engine_arg && !*in.engine_arg)
		return cmd_usage_error("init", "--engine needs a value");
	/* The global `rover --engine E init` is the same choice. */
	if (!in.engine_arg)
		in.engine_arg = engine_global_option();
	rc = init_read_existing(&in);
	if (rc < 0) {
		_cleanup_error_ struct rv_error *err = NULL;
		in.ucpath = userconfig_path();
		rc = CMD_OK;
		if (init_check_and_write(&in, &err) < 0)
			rc = cmd_fail(in.json, CMD_FAILED, err);
		else if (in.json)
			init_print_json(&in);
		else
			init_print_text(&in);
	}
	init_run_release(&in);
	return rc;
}
