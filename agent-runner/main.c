/*
 * rover-agent: the in-container workflow runner.  See docs/rover-agent.1.md.
 *
 *   rover-agent run WORKFLOW --output DIR [options]
 *
 * main() only parses the command line and the environment, then hands over to
 * runner_run(); every error is printed here, once, as one line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/runner.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/layout.h"

#define ROVER_VERSION "0.1.0"

static const char usage_text[] =
	"Usage: rover-agent run WORKFLOW --output DIR [options]\n"
	"\n"
	"Run a rover workflow step by step, saving a checkpoint after every step.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR           iteration directory: status.json, checkpoint.json,\n"
	"                             rover.jsonl and declared outputs (required)\n"
	"  -t, --task-id ID           task id recorded in status.json and rover.jsonl\n"
	"  -s, --status-file FILE     where to write the status (default DIR/status.json;\n"
	"                             needs --task-id)\n"
	"      --inputs-json FILE     workflow inputs as a JSON object\n"
	"  -i, --input KEY=VALUE      one input; repeatable; overrides --inputs-json\n"
	"  -c, --checkpoint FILE      resume from this checkpoint: completed steps are skipped\n"
	"      --allow-workflow-change  resume even if the workflow changed since the checkpoint\n"
	"      --agent-tool TOOL      claude, codex, gemini, qwen, opencode or cursor\n"
	"      --agent-model MODEL    model passed to the tool\n"
	"      --context-dir DIR      accepted for compatibility; unused\n"
	"      --approve ID=MESSAGE   the breakpoint step ID was approved, with MESSAGE\n"
	"                             (its outputs.message); repeatable\n"
	"      --approve-timeout ID   the breakpoint step ID timed out with onTimeout:\n"
	"                             continue; repeatable\n"
	"      --budget-usd DOLLARS   pause (reason budget) before an agent step once the\n"
	"                             agents' reported cost reaches DOLLARS\n"
	"  -C, --workdir DIR          run steps in DIR (default: the current directory)\n"
	"  -v, --verbose              more output\n"
	"  -h, --help                 this help\n"
	"      --version              print the version\n"
	"\n"
	"Exit status: 0 completed, 1 failed, 2 paused with a checkpoint saved.\n"
	"Environment: ROVER_AGENT_GRACE (seconds between a forwarded SIGTERM and SIGKILL,\n"
	"default 10), ROVER_AGENT_RETRY_DELAY_MS (first in-process retry delay, default\n"
	"10000).  Creating DIR/" LAYOUT_DRAIN_FILE " pauses after the current step.\n";

static void fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("rover-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'rover-agent --help'.\n", stderr);
	exit(1); /* bad options are a failure, never a success (the TypeScript rover exited 0) */
}

static long env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		fail_usage("%s must be an integer from %ld to %ld, got '%s'", name, min, max, v);
	return n;
}

int main(int argc, char **argv)
{
	enum {
		OPT_INPUTS_JSON = 256,
		OPT_ALLOW_CHANGE,
		OPT_TOOL,
		OPT_MODEL,
		OPT_CONTEXT,
		OPT_VERSION,
		OPT_APPROVE,
		OPT_APPROVE_TIMEOUT,
		OPT_BUDGET,
	};
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"task-id", required_argument, NULL, 't'},
		{"status-file", required_argument, NULL, 's'},
		{"inputs-json", required_argument, NULL, OPT_INPUTS_JSON},
		{"input", required_argument, NULL, 'i'},
		{"checkpoint", required_argument, NULL, 'c'},
		{"allow-workflow-change", no_argument, NULL, OPT_ALLOW_CHANGE},
		{"agent-tool", required_argument, NULL, OPT_TOOL},
		{"agent-model", required_argument, NULL, OPT_MODEL},
		{"context-dir", required_argument, NULL, OPT_CONTEXT},
		{"approve", required_argument, NULL, OPT_APPROVE},
		{"approve-timeout", required_argument, NULL, OPT_APPROVE_TIMEOUT},
		{"budget-usd", required_argument, NULL, OPT_BUDGET},
		{"workdir", required_argument, NULL, 'C'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	/* stdout is the container log: line-buffer it so progress shows. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("rover-agent %s\n", ROVER_VERSION);
		return 0;
	}
	if (argc < 2)
		fail_usage("missing command (expected 'run')");
	if (strcmp(argv[1], "run") != 0)
		fail_usage("unknown command '%s' (expected 'run')", argv[1]);

	_cleanup_json_ struct json_object *cli_inputs = json_object_new_object();
	_cleanup_json_ struct json_object *approvals = json_object_new_object();
	struct runner_opts o = {0};
	int c;
	/* Parse after "run" as if it were argv[0]: options may come before or
	 * after WORKFLOW. */
	int sub_argc = argc - 1;
	char **sub_argv = argv + 1;
	optind = 1;
	while ((c = getopt_long(sub_argc, sub_argv, "o:t:s:i:c:C:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.output_dir = optarg;
			break;
		case 't':
			o.task_id = optarg;
			break;
		case 's':
			o.status_path = optarg;
			break;
		case OPT_INPUTS_JSON:
			o.inputs_json = optarg;
			break;
		case 'i': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				fail_usage("-i takes KEY=VALUE, got '%s'", optarg);
			_cleanup_free_ char *key = xstrndup(optarg, (size_t)(eq - optarg));
			jsonutil_set_str(cli_inputs, key, eq + 1);
			break;
		}
		case 'c':
			o.checkpoint_path = optarg;
			break;
		case OPT_ALLOW_CHANGE:
			o.allow_workflow_change = true;
			break;
		case OPT_TOOL:
			o.agent_tool = optarg;
			break;
		case OPT_MODEL:
			o.agent_model = optarg;
			break;
		case OPT_CONTEXT:
			break;
		case OPT_BUDGET: {
			char *end = NULL;
			errno = 0;
			double d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(d > 0) || d > 1e9)
				fail_usage("--budget-usd '%s' is not a positive number of dollars",
					   optarg);
			o.budget_usd = d;
			break;
		}
		case OPT_APPROVE:
		case OPT_APPROVE_TIMEOUT: {
			/* Given by the host when it starts the container: the only
			 * way a breakpoint passes (runner.h). */
			size_t n = c == OPT_APPROVE ? strcspn(optarg, "=") : strlen(optarg);
			if (n == 0)
				fail_usage("--approve takes ID=MESSAGE, got '%s'", optarg);
			_cleanup_free_ char *key = xstrndup(optarg, n);
			struct json_object *a = json_object_new_object();
			jsonutil_set_str(a, "message", optarg[n] == '=' ? optarg + n + 1 : "");
			jsonutil_set_bool(a, "timedOut", c == OPT_APPROVE_TIMEOUT);
			json_object_object_add(approvals, key, a);
			break;
		}
		case 'C':
			o.workdir = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case OPT_VERSION:
			printf("rover-agent %s\n", ROVER_VERSION);
			return 0;
		default:
			fail_usage("invalid option");
		}
	}
	if (optind >= sub_argc)
		fail_usage("missing WORKFLOW file");
	if (optind + 1 < sub_argc)
		fail_usage("unexpected argument '%s'", sub_argv[optind + 1]);
	o.workflow_path = sub_argv[optind];
	if (!o.output_dir)
		fail_usage("--output DIR is required");
	if (o.status_path && !o.task_id)
		fail_usage("--task-id is required when --status-file is given");
	o.cli_inputs = cli_inputs;
	o.approvals = approvals;
	o.grace_s = (int)env_long("ROVER_AGENT_GRACE", 10, 0, 3600);
	o.retry_delay_ms = env_long("ROVER_AGENT_RETRY_DELAY_MS", 10000, 0, 3600000);

	_cleanup_error_ struct rv_error *err = NULL;
	int code = runner_run(&o, &err);
	if (err)
		fprintf(stderr, "rover-agent: %s\n", rv_error_msg(err));
	fflush(stdout);
	return code;
}
