/* rover logs ID [-f|--follow] [--iteration N] [--tail N] [--since TIME] */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "common/timeutil.h"
#include "supervisor/lib/logsel.h"
#include "supervisor/lib/tasklogs.h"

static const char usage_text[] =
	"Usage: rover logs ID [-f|--follow] [--iteration N] [--tail N] [--since TIME] [--raw]\n"
	"\n"
	"Show a task's container output: what was saved from the iteration's containers\n"
	"(container.log), then the current container's stdout and stderr, read from the\n"
	"engine the task runs on (Docker or Podman).  Each container's output is shown\n"
	"once, whether it was saved, is still on the engine, or both.  On a terminal,\n"
	"control characters other than newline, tab and carriage return (escape\n"
	"sequences that set the title or clear the screen) are shown escaped, as\n"
	"\\x1b; piped or redirected, the output is exactly what the container wrote.\n"
	"\n"
	"Options:\n"
	"  -f, --follow        keep printing while the task runs: into the next container\n"
	"                      a resume or an automatic retry starts, and through a pause\n"
	"                      that a running `rover supervise` will retry; returns when\n"
	"                      the task is COMPLETED, FAILED, PAUSED with no retry coming,\n"
	"                      moves to another iteration, or is deleted\n"
	"  -n, --iteration N   another iteration (default: the latest)\n"
	"      --tail N        only the last N lines (of all the iteration's output)\n"
	"      --since TIME    only output since TIME: RFC 3339 (2026-11-25T14:05:00Z) or a\n"
	"                      duration back from now (90s, 10m, 1h30m, 2d).  Saved output\n"
	"                      has no per-line times: a saved container is kept or\n"
	"                      dropped whole, by when it ended; a container still on the\n"
	"                      engine is cut by the engine, to the second\n"
	"      --raw           never escape, even on a terminal\n"
	"  -h, --help          this help\n";

/* Per output: whether it is escaped, and a 0xC2 held back from the last
 * chunk (a C1 control split between two chunks is still caught). */
struct out {
	bool escape[2];
	bool held[2];
};

static int to_fd(void *userdata, enum engine_stream stream, const char *data, size_t len,
		 struct rv_error **err)
{
	struct out *o = userdata;
	int k = stream == ENGINE_STREAM_STDOUT ? 0 : 1;
	int fd = k == 0 ? STDOUT_FILENO : STDERR_FILENO;
	int r = 0;
	if (o->escape[k] && len > 0) {
		_cleanup_free_ char *joined = xmalloc(len + 1);
		size_t n = 0;
		if (o->held[k])
			joined[n++] = (char)0xC2;
		memcpy(joined + n, data, len);
		n += len;
		o->held[k] = (unsigned char)joined[n - 1] == 0xC2;
		if (o->held[k])
			n--;
		size_t elen = 0;
		_cleanup_free_ char *esc = textutil_escape_log(joined, n, &elen);
		r = fileio_write_all(fd, esc, elen);
	} else {
		r = fileio_write_all(fd, data, len);
	}
	if (r < 0)
		return rv_error_errno(err, -r, "cannot write the output");
	return 0;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{"follow", no_argument, NULL, 'f'},
		{"iteration", required_argument, NULL, 'n'},
		{"raw", no_argument, NULL, 'r'},
		{"tail", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool follow = false, raw = false;
	long iteration = 0, tail = -1;
	int64_t since_ms = 0;
	_cleanup_error_ struct rv_error *serr = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'n':
			if (!cmd_parse_uint("logs", "--iteration", optarg, 1000000, &iteration))
				return CMD_USAGE;
			if (iteration < 1)
				return cmd_usage_error("logs", "--iteration starts at 1");
			break;
		case 'r':
			raw = true;
			break;
		case 't':
			if (!cmd_parse_uint("logs", "--tail", optarg, 100000000, &tail))
				return CMD_USAGE;
			break;
		case 's':
			if (logsel_parse_since(optarg, timeutil_now_ms(), &since_ms, &serr) < 0)
				return cmd_usage_error("logs", "%s", rv_error_msg(serr));
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("logs", "invalid option");
		}
	}
	if (optind + 1 != argc)
		return optind >= argc ? cmd_usage_error("logs", "missing task id")
				      : cmd_usage_error("logs", "unexpected argument '%s'",
							argv[optind + 1]);
	int64_t id;
	if (!cmd_parse_id("logs", argv[optind], &id))
		return CMD_USAGE;

	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(false, CMD_FAILED, err);
	struct task *t = NULL;
	int rc = CMD_OK;
	if (task_store_load_id(env.store, id, &t, &err) < 0) {
		rc = cmd_fail(false, CMD_FAILED, err);
		goto out;
	}
	fflush(stdout);
	struct tasklogs_result res = {0};
	struct out o = {.escape = {!raw && isatty(STDOUT_FILENO), !raw && isatty(STDERR_FILENO)}};
	struct retry_policy policy;
	retry_policy_init(&policy, &env.project->settings.retry);
	struct tasklogs_opts lo = {.iteration = iteration,
				   .follow = follow,
				   .tail = tail,
				   .since_ms = since_ms,
				   .policy = &policy,
				   .report = follow ? cmd_report_stderr : NULL};
	int r = tasklogs_show(env.store, t, &lo, to_fd, &o, &res, &err);
	const struct task *end = res.task ? res.task : t;
	for (int k = 0; k < 2; k++)
		if (o.held[k])
			(void)fileio_write_all(k ? STDERR_FILENO : STDOUT_FILENO, "\\xc2", 4);
	if (r >= 0 && res.saved_refused)
		fprintf(stderr, "⚠ Saved output not shown: %s\n", res.saved_refused);
	if (r < 0) {
		/* A reader that went away (rover logs 3 | head) is not a failure. */
		rc = r == -EPIPE ? CMD_OK : cmd_fail(false, CMD_FAILED, err);
	} else if (res.container == TASKLOGS_GONE) {
		fprintf(stderr,
			res.had_saved ? "ℹ The container of task %lld is gone; above is the output "
					"saved from it\n"
				      : "ℹ The container of task %lld is gone and none of its "
					"output was saved\n",
			(long long)id);
	} else if (res.container == TASKLOGS_NONE && !follow) {
		fprintf(stderr, "ℹ Task %lld has no container (status %s)%s\n", (long long)id,
			task_status_name(task_status(end)),
			res.had_saved ? "; above is the saved output" : "");
	}
	if (r >= 0 && follow && res.task)
		fprintf(stderr, "ℹ Task %lld is %s\n", (long long)id,
			task_status_name(task_status(res.task)));
	tasklogs_result_release(&res);
	task_free(t);
out:
	cmd_env_release(&env);
	return rc;
}
