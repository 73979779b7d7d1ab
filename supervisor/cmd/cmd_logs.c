/* rover logs ID [-f|--follow] [--iteration N] [--tail N] [--since TIME] */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "common/timeutil.h"
#include "supervisor/lib/logsel.h"
#include "supervisor/lib/tasklogs.h"

static const struct cmdopt_spec spec = {
	.verb = "logs",
	.header =
		"Usage: rover logs ID [-f|--follow] [--iteration N] [--tail N] [--since TIME] [--raw]\n"
		"\n"
		"Show a task's container output: what was saved from the iteration's containers\n"
		"(container.log), then the current container's stdout and stderr, read from the\n"
		"engine the task runs on (Docker or Podman).  Each container's output is shown\n"
		"once, whether it was saved, is still on the engine, or both.  On a terminal,\n"
		"control characters other than newline, tab and carriage return (escape\n"
		"sequences that set the title or clear the screen) are shown escaped, as\n"
		"\\x1b; piped or redirected, the output is exactly what the container wrote.\n"
		"\n",
	.column = 22,
};

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

static bool iteration_option(const char *verb, const char *arg, void *ptr)
{
	long *iteration = ptr;
	if (!cmd_parse_uint(verb, "--iteration", arg, 1000000, iteration))
		return false;
	if (*iteration < 1) {
		cmd_usage_error(verb, "--iteration starts at 1");
		return false;
	}
	return true;
}

static bool since_option(const char *verb, const char *arg, void *ptr)
{
	_cleanup_error_ struct rv_error *err = NULL;
	if (logsel_parse_since(arg, timeutil_now_ms(), ptr, &err) < 0) {
		cmd_usage_error(verb, "%s", rv_error_msg(err));
		return false;
	}
	return true;
}

/* What is said after the output: why there is no more (the container
 * gone, none, the task's status once followed); the exit code. */
static int logs_end(int r, const struct tasklogs_result *res, const struct task *end, bool follow,
		    struct rv_error *err)
{
	int64_t id = end->id;
	if (r >= 0 && res->saved_refused)
		fprintf(stderr, "⚠ Saved output not shown: %s\n", res->saved_refused);
	if (r < 0)
		/* A reader that went away (rover logs 3 | head) is not a failure. */
		return r == -EPIPE ? CMD_OK : cmd_fail(false, CMD_FAILED, err);
	if (res->container == TASKLOGS_GONE)
		fprintf(stderr,
			res->had_saved
				? "ℹ The container of task %lld is gone; above is the output "
				  "saved from it\n"
				: "ℹ The container of task %lld is gone and none of its "
				  "output was saved\n",
			(long long)id);
	else if (res->container == TASKLOGS_NONE && !follow)
		fprintf(stderr, "ℹ Task %lld has no container (status %s)%s\n", (long long)id,
			task_status_name(task_status(end)),
			res->had_saved ? "; above is the saved output" : "");
	if (follow && res->task)
		fprintf(stderr, "ℹ Task %lld is %s\n", (long long)id,
			task_status_name(task_status(res->task)));
	return CMD_OK;
}

int cmd_logs(int argc, char **argv)
{
	bool follow = false, raw = false;
	long iteration = 0, tail = -1;
	int64_t since_ms = 0;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("follow", 'f', &follow,
			    "keep printing while the task runs: into the next container\n"
			    "a resume or an automatic retry starts, and through a pause\n"
			    "that a running `rover supervise` will retry; returns when\n"
			    "the task is COMPLETED, FAILED, PAUSED with no retry coming,\n"
			    "moves to another iteration, or is deleted"),
		CMDOPT_CALL("iteration", 'n', iteration_option, &iteration, "N",
			    "another iteration (default: the latest)"),
		CMDOPT_UINT("tail", 0, &tail, 100000000, "N",
			    "only the last N lines (of all the iteration's output)"),
		CMDOPT_CALL("since", 0, since_option, &since_ms, "TIME",
			    "only output since TIME: RFC 3339 (2026-11-25T14:05:00Z) or a\n"
			    "duration back from now (90s, 10m, 1h30m, 2d).  Saved output\n"
			    "has no per-line times: a saved container is kept or\n"
			    "dropped whole, by when it ended; a container still on the\n"
			    "engine is cut by the engine, to the second"),
		CMDOPT_FLAG("raw", 0, &raw, "never escape, even on a terminal"),
		CMDOPT_END,
	};
	int64_t id;
	struct cmd_env env;
	const bool json = false; /* logs has no --json */
	int rc = cmd_open_opts(&spec, opts, argc, argv, &json, &id, &env);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct task *t = NULL;
	rc = CMD_OK;
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
	rc = logs_end(r, &res, end, follow, err);
	tasklogs_result_release(&res);
	task_free(t);
out:
	cmd_env_release(&env);
	return rc;
}
