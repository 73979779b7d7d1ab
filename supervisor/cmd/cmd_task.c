/*
 * rover task: create a task and start its container.
 *
 * Order matters for "nothing lost on bad input": everything that can be
 * checked without side effects (options, the workflow and its required
 * inputs, the engine answering, the image being on it: preflight.h) is
 * checked before the task exists, so a refusal leaves no record,
 * workspace or branch.  Once it exists, a failure to
 * start leaves it NEW with the reason, never half-made and silent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h> /* optind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/agent_tool.h"
#include "agent-runner/workflow.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/builtin_workflows.h"
#include "supervisor/lib/create.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/hardening.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/preflight.h"
#include "supervisor/lib/worktree.h"

static const struct cmdopt_spec spec = {
	.verb = "task",
	.header =
		"Usage: rover task [options] DESCRIPTION\n"
		"\n"
		"Create a task and start its agent in a container.  In a git project the task\n"
		"works in its own worktree on branch rover/task-<id>.\n"
		"\n",
	.column = 28,
};

static char *make_title(const char *description)
{
	size_t n = strcspn(description, "\n");
	if (n > 72) {
		char *t = xstrndup(description, 69);
		char *r = xasprintf("%s...", t);
		free(t);
		return r;
	}
	return xstrndup(description, n);
}

/* -i KEY=VALUE into the inputs object ptr. */
static bool input_option(const char *verb, const char *arg, void *ptr)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		cmd_usage_error(verb, "-i takes KEY=VALUE, got '%s'", arg);
		return false;
	}
	_cleanup_free_ char *k = xstrndup(arg, (size_t)(eq - arg));
	jsonutil_set_str(ptr, k, eq + 1);
	return true;
}

int cmd_task(int argc, char **argv)
{
	const char *workflow_arg = NULL, *agent = NULL, *model = NULL, *image = NULL,
		   *engine_arg = NULL;
	bool json = false;
	double budget = 0;
	_cleanup_json_ struct json_object *inputs = json_object_new_object();
	const struct cmdopt opts[] = {
		CMDOPT_STRING("workflow", 'w', &workflow_arg, "FILE|NAME",
			      "the workflow (a YAML file, or a built-in: default, swe)"),
		CMDOPT_STRING("agent", 'a', &agent, "TOOL",
			      "agent tool: claude, codex, gemini, qwen, opencode, cursor\n"
			      "(default: agent in rover.json, else the workflow's)"),
		CMDOPT_STRING("model", 'm', &model, "MODEL", "model for the agent tool"),
		CMDOPT_STRING("image", 0, &image, "IMAGE",
			      "container image (default: $ROVER_AGENT_IMAGE, else\n"
			      "agentImage in rover.json)"),
		CMDOPT_STRING("engine", 0, &engine_arg, "ENGINE",
			      "docker, podman, unix:///path or tcp://host:port"),
		CMDOPT_CALL("input", 'i', input_option, inputs, "KEY=VALUE",
			    "a workflow input; repeatable"),
		CMDOPT_DOLLARS("budget", 0, &budget, "USD",
			       "pause the task (reason budget, never auto-retried)\n"
			       "before an agent step once the agents reported this\n"
			       "many dollars (default: budgetUsd in rover.json)"),
		CMDOPT_FLAG("json", 0, &json, "print {\"taskId\": N, \"status\": ...} on stdout"),
		CMDOPT_END,
	};
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cmd_usage_error("task", "missing DESCRIPTION");
	/* The rest of the words are the description, so quoting is optional. */
	_cleanup_free_ char *description = xstrdup(argv[optind]);
	for (int i = optind + 1; i < argc; i++) {
		char *d = xasprintf("%s %s", description, argv[i]);
		free(description);
		description = d;
	}
	if (!*description)
		return cmd_usage_error("task", "DESCRIPTION is empty");
	/* The runner's own table decides which tools exist. */
	if (agent && !agent_tool_is_known(agent))
		return cmd_usage_error("task",
				       "unknown agent '%s' (claude, codex, gemini, qwen, opencode, "
				       "cursor)",
				       agent);
	if (!jsonutil_get_str(inputs, "description"))
		jsonutil_set_str(inputs, "description", description);

	_cleanup_error_ struct rv_error *err = NULL;
	/* Every cleanup variable is set before the first goto: a jump past its
	 * initialization would free garbage at out. */
	_cleanup_free_ char *wf_name_copy = NULL, *title = NULL;
	/* Freed at out: (not _cleanup_free_: gcc 12's -fanalyzer misreads it
	 * past the early return below) */
	char *base = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	if (!agent)
		agent = env.project->settings.agent; /* rover.json "agent" (rover init) */

	/* The workflow: a file, else a built-in name.  Parsed now, so a bad one
	 * never becomes a task. */
	_cleanup_free_ char *wf_text = NULL;
	size_t wf_len = 0;
	const char *wf_name = "default";
	int r0;
	rc = CMD_FAILED;
	if (workflow_arg && fileio_exists(workflow_arg)) {
		if (fileio_read_bounded(workflow_arg, WORKFLOW_MAX_BYTES, &wf_text, &wf_len, &err) < 0)
			goto out_fail;
	} else {
		const char *b = builtin_workflow(workflow_arg);
		if (!b) {
			rc = cmd_failf(json, CMD_FAILED,
				       "workflow '%s' is neither a file nor a built-in workflow (%s)",
				       workflow_arg, builtin_workflow_names());
			goto out;
		}
		wf_text = xstrdup(b);
		wf_len = strlen(b);
		if (workflow_arg)
			wf_name = workflow_arg;
	}
	struct workflow *wf = NULL;
	if (workflow_parse(wf_text, wf_len, workflow_arg ? workflow_arg : "default", &wf, &err) < 0)
		goto out_fail;
	if (workflow_arg && fileio_exists(workflow_arg))
		wf_name = wf->name ? wf->name : "custom";
	wf_name_copy = xstrdup(wf_name);
	/* Missing inputs are the user's to give now, not the runner's to
	 * discover in a container later. */
	r0 = preflight_inputs(wf, wf_name_copy, inputs, &err);
	workflow_free(wf);
	if (r0 < 0)
		goto out_fail;

	if (!image)
		image = project_agent_image(env.project);
	if (!image || !*image) {
		rc = cmd_failf(json, CMD_FAILED,
			       "no container image: pass --image, set ROVER_AGENT_IMAGE, or set "
			       "agentImage in rover.json");
		goto out;
	}
	/* The container's settings, so a rover.json that would loosen them is
	 * refused before any task exists (hardening.h). */
	struct hardening hd;
	if (hardening_load(env.project->root, &hd, &err) < 0)
		goto out_fail;
	hardening_release(&hd);
	if (env.project->is_git && worktree_head(env.project->root, &base, &err) < 0)
		goto out_fail;
	struct engine *engine = NULL;
	if (engine_discover(engine_arg, &engine, &err) < 0)
		goto out_fail;
	/* The engine never pulls for us (engine_container_create): an image
	 * it does not have would only fail once the task exists. */
	if (preflight_image(engine, image, NULL, &err) < 0) {
		engine_free(engine);
		goto out_fail;
	}

	title = make_title(description);
	struct create_opts co = {.title = title,
				 .description = description,
				 .workflow_name = wf_name_copy,
				 .workflow_text = wf_text,
				 .workflow_len = wf_len,
				 .agent = agent,
				 .model = model,
				 .image = image,
				 .inputs = inputs,
				 .engine = engine,
				 .base_commit = base,
				 .budget_usd = budget};
	int64_t id = 0;
	struct resume_outcome res;
	int r = create_task(env.project, env.store, &co, &id, &res, &err);
	engine_free(engine);
	if (r < 0)
		goto out_fail;
	if (res.result == RESUME_QUEUED) {
		rc = queue_view_task_queued(env.store, id, res.task, json);
		resume_outcome_release(&res);
		goto out;
	}
	if (res.result != RESUME_OK) {
		resume_outcome_release(&res);
		goto out_fail;
	}
	const struct task *final = res.task;
	if (json) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_int64(o, "taskId", id);
		jsonutil_set_str(o, "status", task_status_name(task_status(final)));
		jsonutil_set_str(o, "title", task_title(final));
		jsonutil_set_str(o, "containerId", res.container_id);
		const char *kind = NULL, *endpoint = NULL;
		task_get_engine(final, &kind, &endpoint);
		struct json_object *eng = json_object_new_object();
		jsonutil_set_str(eng, "kind", kind);
		jsonutil_set_str(eng, "endpoint", endpoint);
		json_object_object_add(o, "engine", eng);
		jsonutil_set_str(o, "workspace", task_get_str(final, "worktreePath"));
		jsonutil_set_str(o, "branch", task_get_str(final, "branchName"));
		cmd_print_json(o);
	} else {
		printf("%lld\n", (long long)id);
		fprintf(stderr, "✓ Task %lld started in container %.12s (%s)\n", (long long)id,
			res.container_id, image);
	}
	resume_outcome_release(&res);
	rc = CMD_OK;
	goto out;

out_fail:
	rc = cmd_fail(json, CMD_FAILED, err);
out:
	free(base);
	cmd_env_release(&env);
	return rc;
}
