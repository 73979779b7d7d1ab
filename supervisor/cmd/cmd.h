/*
 * cmd.h - the `rover` commands.  Each cmd_<verb>() describes its options
 * in one table (cmdopt.h: it parses argv, argv[0] being the verb, and writes
 * the --help), calls library code, prints the result, and returns
 * the exit code: 0 success, 1 the operation failed, 2 a usage error (an
 * unknown flag, a task id that is not a positive integer).  Errors are printed
 * here, once: "rover: <message>" on stderr, and with --json also
 * {"success": false, "errors": ["<message>"]} on stdout.
 *
 * A command over one task is its table and a body: cmd_run_task() (or
 * cmd_run_taskgit() for diff, merge and push) parses, opens the project and
 * the task, runs the body and releases them.
 */
#ifndef ROVER_CMD_H
#define ROVER_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task_store.h"

#define CMD_OK 0
#define CMD_FAILED 1
#define CMD_USAGE 2

int cmd_task(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_supervise(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_wait(int argc, char **argv);
/* Exits with the shell's own status once one ran (see rover(1)). */
int cmd_shell(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_iterate(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_reject(int argc, char **argv);
/* `pause --all` and `resume --all` (cmd_all.c); cmd_pause and cmd_resume
 * hand over to them when argv holds --all. */
bool cmd_wants_all(int argc, char **argv);
int cmd_pause_all(int argc, char **argv);
int cmd_resume_all(int argc, char **argv);

struct cmdopt;
struct cmdopt_spec;

/* The project and its store, opened from the current directory. */
struct cmd_env {
	struct project *project;
	struct task_store *store;
};
int cmd_env_open(struct cmd_env *env, struct rv_error **err);
void cmd_env_release(struct cmd_env *env);

/* Print err (or the message) as the command's failure; returns code. */
int cmd_fail(bool json, int code, struct rv_error *err);
int cmd_failf(bool json, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A usage error: "rover: <verb>: <message>" and a hint; returns CMD_USAGE. */
int cmd_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a task id argument; on failure prints the usage error. */
bool cmd_parse_id(const char *verb, const char *s, int64_t *ret);

/* Print one JSON document on stdout (pretty, newline-terminated). */
void cmd_print_json(struct json_object *obj);

/* Parse a --budget value: dollars above 0, at most PROJECT_BUDGET_LIMIT_USD;
 * false after a usage error message otherwise. */
bool cmd_parse_dollars(const char *verb, const char *opt, const char *s, double *ret);

/* Parse a non-negative integer option value; false (after a usage error
 * message) when it is not one or is above max. */
bool cmd_parse_uint(const char *verb, const char *opt, const char *s, long max, long *ret);

/* A "rover VERB [options] ID" command whole: its options (cmdopt.h; *json
 * is read once they are parsed), exactly one operand, a valid task id, the
 * project opened, the task loaded and reconciled with its status file and
 * container (observe_task); then body (ctx: the command's options); then
 * both released.  Returns the exit code: the usage error's, or --help's, or
 * the failure to open's (each printed), else the body's. */
typedef int (*cmd_task_body)(const struct cmd_env *env, struct task *t, bool json, void *ctx);
int cmd_run_task(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc, char **argv,
		 const bool *json, cmd_task_body body, void *ctx);

/* diff, merge and push whole: as cmd_run_task (with ret_file, an optional
 * FILE operand after the id, diff's, not empty), refused while its
 * container runs when need_idle (taskgit_check_idle), its git side opened
 * (taskgit_open); then body with the project, the task's git side and its
 * id; then all released.  Returns as cmd_run_task. */
struct taskgit_task;
typedef int (*cmd_taskgit_body)(const struct cmd_env *env, struct taskgit_task *tg, int64_t id,
				bool json, void *ctx);
int cmd_run_taskgit(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc,
		    char **argv, const bool *json, bool need_idle, const char **ret_file,
		    cmd_taskgit_body body, void *ctx);

/* After a merge or a push: the task marked MERGED or PUSHED (taskgit_mark);
 * a failure is only a warning naming what was done ("merged"). */
void cmd_mark_done(const struct cmd_env *env, int64_t id, enum task_status to, const char *done);

/* The user's hooks for a supervising command (supervise, list --watch),
 * and the warning that a project's rover.json "hooks" are ignored.  Returns
 * -1 to go on (release *ret with hooks_release), else the exit code (the
 * error printed). */
struct hooks;
int cmd_load_hooks(const struct cmd_env *env, bool json, struct hooks *ret);

/* `rover list --watch`: the live table over the supervisor loop (interval
 * 0: the default).  Returns the exit code. */
int cmd_list_watch(struct cmd_env *env, int interval_s, bool json, bool no_engine);

/* Prints observe/resume reports on stderr: "⚠ msg" or "ℹ msg". */
void cmd_report_stderr(void *userdata, const char *level, int64_t id, const char *msg);

/* --image on restart/resume: the image is on the engine task t runs on
 * (preflight.h), checked before anything changes.  NULL image: 0. */
int cmd_preflight_task_image(const struct task *t, const char *image, struct rv_error **err);

/* words[0..n-1] (n >= 1) joined by single spaces: a description or
 * instructions given unquoted.  The caller frees it. */
char *cmd_join_words(int n, char **words);

/* The project and its store, opened from the current directory; -1 to go
 * on (cmd_env_release it), else the exit code (the error printed). */
int cmd_open(struct cmd_env *env, bool json);

/* The options (cmdopt.h; *json is read once they are parsed), with ret_id
 * exactly one operand, a task id then the project opened
 * (cmd_open).  -1 to go on (release *env), else the exit code (--help
 * printed, or the error). */
int cmd_open_opts(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc, char **argv,
		  const bool *json, int64_t *ret_id, struct cmd_env *env);

#endif
