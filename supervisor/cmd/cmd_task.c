/*
 * rover task: create a task and start its container.
 *
 * Order matters for "nothing lost on bad input": the options are checked
 * here, and everything else that can be checked without side effects (the
 * workflow and its required inputs, the engine answering, the image being
 * on it) by create_task_checked() (create.h) before the task exists, so a
 * refusal leaves no record, workspace or branch.  Once it exists, a failure
 * to start leaves it NEW with the reason, never half-made and silent.
 */
#define _GNU_SOURCE
#include <getopt.h> /* optind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/agent_tool.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/create.h"

static const struct cmdopt_spec spec = {
	.verb = "task",
	.header = "Usage: rover task [options] DESCRIPTION\n"
		  "\n"
		  "Create a task and start its agent in a container.  In a git project the task\n"
		  "works in its own worktree on branch rover/task-<id>.\n"
		  "\n",
	.column = 28,
};

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

static int print_started(int64_t id, const struct resume_outcome *res, bool json)
{
	const struct task *final = res->task;
	if (!json) {
		printf("%lld\n", (long long)id);
		fprintf(stderr, "✓ Task %lld started in container %.12s (%s)\n", (long long)id,
			res->container_id, task_get_str(final, "agentImage"));
		return CMD_OK;
	}
	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_int64(o, "taskId", id);
	jsonutil_set_str(o, "status", task_status_name(task_status(final)));
	jsonutil_set_str(o, "title", task_title(final));
	jsonutil_set_str(o, "containerId", res->container_id);
	const char *kind = NULL, *endpoint = NULL;
	task_get_engine(final, &kind, &endpoint);
	struct json_object *eng = json_object_new_object();
	jsonutil_set_str(eng, "kind", kind);
	jsonutil_set_str(eng, "endpoint", endpoint);
	json_object_object_add(o, "engine", eng);
	jsonutil_set_str(o, "workspace", task_get_str(final, "worktreePath"));
	jsonutil_set_str(o, "branch", task_get_str(final, "branchName"));
	cmd_print_json(o);
	return CMD_OK;
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
	_cleanup_free_ char *description = cmd_join_words(argc - optind, argv + optind);
	if (!*description)
		return cmd_usage_error("task", "DESCRIPTION is empty");
	/* The runner's own table decides which tools exist. */
	if (agent && !agent_tool_is_known(agent))
		return cmd_usage_error("task",
				       "unknown agent '%s' (claude, codex, gemini, qwen, opencode, "
				       "cursor)",
				       agent);
	struct cmd_env env;
	rc = cmd_open(&env, json);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct create_request rq = {.description = description,
				    .workflow = workflow_arg,
				    .agent = agent,
				    .model = model,
				    .image = image,
				    .engine = engine_arg,
				    .inputs = inputs,
				    .budget_usd = budget};
	int64_t id = 0;
	struct resume_outcome res = {0};
	if (create_task_checked(env.project, env.store, &rq, &id, &res, &err) < 0)
		rc = cmd_fail(json, CMD_FAILED, err);
	else if (res.result == RESUME_QUEUED)
		rc = queue_view_task_queued(env.store, id, res.task, json);
	else if (res.result != RESUME_OK)
		rc = cmd_fail(json, CMD_FAILED, err);
	else
		rc = print_started(id, &res, json);
	resume_outcome_release(&res);
	cmd_env_release(&env);
	return rc;
}
