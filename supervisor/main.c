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
	{"delete", cmd_delete, "remove a task, its container and workspace"},
	{"supervise", cmd_supervise, "run the supervisor: auto-retry, orphan detection"},
	{"info", cmd_info, "show the store, the project, the engine and the settings"},
	{"approve", cmd_approve, "let a task waiting at a breakpoint go on (--message)"},
	{"reject", cmd_reject, "refuse a task waiting at a breakpoint: it ends FAILED"},
};

static void usage(FILE *f)
{
	fputs("Usage: rover COMMAND [options]\n\n"
	      "Durable AI coding-agent tasks in Docker or Podman containers.\n\nCommands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'rover COMMAND --help' for a command's options.\n"
	      "Exit status: 0 success, 1 the operation failed, 2 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	/* libcurl with CURLOPT_NOSIGNAL does not ignore SIGPIPE for us: a dead
	 * engine connection must be an error, not a killed process. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
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
