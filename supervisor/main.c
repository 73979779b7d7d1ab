/*
 * rover: the host supervisor of durable agent tasks.  See docs/man/rover.1.
 *
 * main() dispatches to the command; each command prints its own result and
 * errors and returns the exit code (supervisor/cmd/cmd.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "supervisor/cmd/cmd.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/linkage.h"

#define ROVER_VERSION "0.1.0"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"task", cmd_task, "create a task and start its container"},
	{"list", cmd_list, "list tasks (--json, --watch)"},
	{"ls", cmd_list, NULL},
	{"inspect", cmd_inspect, "show one task in detail"},
	{"logs", cmd_logs, "show a task's container output (-f to follow)"},
	{"pause", cmd_pause, "pause a task after its current step (--now: at once)"},
	{"stop", cmd_stop, "stop a task's container; the task ends FAILED, resumable"},
	{"resume", cmd_resume, "resume a paused or failed task from its checkpoint"},
	{"restart", cmd_restart, "run a task again from the start"},
	{"iterate", cmd_iterate, "start a new iteration of a finished task with instructions"},
	{"delete", cmd_delete, "remove a task, its container and workspace"},
	{"supervise", cmd_supervise, "run the supervisor: auto-retry, orphan detection"},
	{"info", cmd_info, "show the store, the project, the engine and the settings"},
	{"events", cmd_events, "a task's journal of transitions (--follow, --json)"},
	{"init", cmd_init, "check the engine and image, write rover.json"},
	{"wait", cmd_wait, "wait until tasks stop running; exit status tells how they ended"},
	{"shell", cmd_shell, "a shell in a task's workspace, in a new container"},
	{"diff", cmd_diff, "show a task's changes, committed and uncommitted"},
	{"merge", cmd_merge, "merge a task's work into the branch you are on"},
	{"push", cmd_push, "push a task's branch to a remote"},
	{"approve", cmd_approve, "let a task waiting at a breakpoint go on (--message)"},
	{"reject", cmd_reject, "refuse a task waiting at a breakpoint: it ends FAILED"},
};

static void usage(FILE *f)
{
	fputs("Usage: rover [--engine ENGINE] COMMAND [options]\n\n"
	      "Durable AI coding-agent tasks in Docker or Podman containers.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nGlobal option:\n"
	      "  --engine ENGINE  docker, podman, unix:///path or tcp://host:port; before\n"
	      "                   ROVER_ENGINE and the rest (a command's own --engine wins)\n"
	      "\nRun 'rover COMMAND --help' for a command's options.\n"
	      "Exit status: 0 success, 1 the operation failed, 2 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	/* A static rover whose glibc was upgraded hands over to rover-dynamic
	 * here, before anything is done (linkage.h). */
	linkage_start(argv);
	/* libcurl with CURLOPT_NOSIGNAL does not ignore SIGPIPE for us: a dead
	 * engine connection must be an error, not a killed process. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* `rover --engine E COMMAND`: the engine for every command that
	 * connects (engine.h, engine_set_global_option). */
	if (argc >= 2 && (!strcmp(argv[1], "--engine") || !strncmp(argv[1], "--engine=", 9))) {
		const char *v = argv[1][8] == '=' ? argv[1] + 9 : argc >= 3 ? argv[2] : NULL;
		if (!v || !*v) {
			fputs("rover: --engine needs a value: docker, podman, unix:///path or "
			      "tcp://host:port\nTry 'rover --help'.\n",
			      stderr);
			return CMD_USAGE;
		}
		engine_set_global_option(v);
		int shift = argv[1][8] == '=' ? 1 : 2;
		argc -= shift;
		argv += shift;
	}
	if (argc < 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CMD_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("rover %s\n", ROVER_VERSION);
		return CMD_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			/* libcurl is loaded and initialised by the first engine
			 * call, not here (curl_lazy.h). */
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "rover: unknown command '%s'\nTry 'rover --help'.\n", argv[1]);
	return CMD_USAGE;
}
