/* rover shell [--image IMAGE] ID [-- COMMAND [ARG...]] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h> /* optind */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/tty.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/shell.h"

static const struct cmdopt_spec spec = {
	.verb = "shell",
	.header = "Usage: rover shell [--image IMAGE] ID [-- COMMAND [ARG...]]\n"
		  "\n"
		  "Open a shell in a task's workspace, in a new container of the task's image\n"
		  "with the task's mounts and confinement (the workspace at /workspace, the\n"
		  "working directory).  On a terminal it is interactive (the container gets a\n"
		  "terminal of the same size); with stdin from a pipe or file, the commands are\n"
		  "read from it.  The container is removed afterwards; rover exits with the\n"
		  "shell's exit status.  Works beside a running task, in the same files.\n"
		  "\n",
	.footer = "\n"
		  "COMMAND defaults to /bin/sh.\n",
	.column = 22,
	.stop_at_operand = true,
};

/* Ctrl+D: how a terminal says end of file (see engine_attach.h). */
#define EOT_CHAR '\x04'

struct session {
	struct shell *s;
	bool tty;
	int in_fd; /* -1 once stdin is done */
	char out[4096];
	size_t out_len, out_off;
	bool close_stdin; /* after out is sent */
	int signo;        /* the signal that ended it */
};

static int to_fd(void *userdata, enum engine_stream stream, const char *data, size_t len,
		 struct rv_error **err)
{
	(void)userdata;
	int fd = stream == ENGINE_STREAM_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
	int r = fileio_write_all(fd, data, len);
	/* A reader that went away: the session goes on, without its output. */
	if (r < 0 && r != -EPIPE)
		return rv_error_errno(err, -r, "cannot write the shell's output");
	return 0;
}

static void on_winch(struct session *se)
{
	unsigned rows, cols;
	if (se->tty && tty_size(STDIN_FILENO, &rows, &cols))
		(void)shell_resize(se->s, rows, cols, NULL); /* best effort */
}

static int read_stdin(struct session *se, struct rv_error **err)
{
	ssize_t n = read(se->in_fd, se->out, sizeof(se->out));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n > 0) {
		se->out_len = (size_t)n;
		se->out_off = 0;
		return 0;
	}
	if (n < 0 && errno == EIO && se->tty) {
		/* The terminal hung up: as SIGHUP. */
		se->signo = SIGHUP;
		return 0;
	}
	if (n < 0)
		return rv_error_errno(err, errno, "cannot read stdin");
	/* End of file.  A terminal's becomes its end-of-file character for
	 * the container's terminal; otherwise the container's stdin is closed. */
	se->in_fd = -1;
	if (se->tty) {
		se->out[0] = EOT_CHAR;
		se->out_len = 1;
		se->out_off = 0;
	} else {
		se->close_stdin = true;
	}
	return 0;
}

static int send_stdin(struct session *se, struct rv_error **err)
{
	struct engine_attach *a = shell_attach(se->s);
	while (se->out_off < se->out_len) {
		size_t n = 0;
		int r = engine_attach_write(a, se->out + se->out_off, se->out_len - se->out_off, &n,
					    err);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		se->out_off += n;
	}
	se->out_len = se->out_off = 0;
	if (se->close_stdin) {
		se->close_stdin = false;
		return engine_attach_close_stdin(a, err);
	}
	return 0;
}

/* Pump until the container's output ends (1) or a signal ends the session
 * (0, se->signo set). */
static int pump(struct session *se, int sfd, struct rv_error **err)
{
	struct engine_attach *a = shell_attach(se->s);
	for (;;) {
		if (se->signo)
			return 0;
		bool pending = se->out_off < se->out_len || se->close_stdin;
		struct pollfd p[3] = {
			{.fd = engine_attach_fd(a), .events = POLLIN | (pending ? POLLOUT : 0)},
			{.fd = sfd, .events = POLLIN},
			{.fd = !pending ? se->in_fd : -1, .events = POLLIN},
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return rv_error_errno(err, errno, "poll");
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					on_winch(se);
				else
					se->signo = (int)si.ssi_signo;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* A bounded helping, then the others' turn: a container
			 * that prints without end (yes) must not keep Ctrl+C, a
			 * resize or a signal from being seen. */
			int r = 1;
			for (int k = 0; k < 8 && r > 0; k++)
				r = engine_attach_read(a, to_fd, NULL, err);
			if (r == 0)
				return 1;
			if (r < 0 && r != -EAGAIN)
				return r;
		}
		if (pending && (p[0].revents & POLLOUT)) {
			int r = send_stdin(se, err);
			if (r < 0)
				return r;
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = read_stdin(se, err);
			if (r == 0 && (se->out_len || se->close_stdin))
				r = send_stdin(se, err);
			if (r < 0)
				return r;
		}
	}
}

/* The options, the task id and the command after "--"; -1 to go on. */
static int shell_args(int argc, char **argv, const char **image, int64_t *id, char ***cmdv)
{
	const struct cmdopt opts[] = {
		CMDOPT_STRING("image", 0, image, "IMAGE",
			      "another image (default: the one the task ran in)"),
		CMDOPT_END,
	};
	/* stop_at_operand: options end at the task id; what follows is the
	 * command's. */
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cmd_usage_error("shell", "missing task id");
	if (!cmd_parse_id("shell", argv[optind], id))
		return CMD_USAGE;
	*cmdv = argv + optind + 1;
	if (**cmdv && !strcmp(**cmdv, "--"))
		(*cmdv)++;
	else if (**cmdv)
		return cmd_usage_error("shell",
				       "put '--' before the command ('rover shell %lld -- %s')",
				       (long long)*id, **cmdv);
	return -1;
}

/* How the session ended (pump's r): the shell's own status, 128 + the
 * signal that ended it (its container removed), or a failure. */
static int session_end(struct session *se, int r, int64_t id, struct rv_error **err)
{
	if (r < 0)
		return cmd_fail(false, CMD_FAILED, *err);
	if (r == 0) {
		if (shell_remove(se->s, err) < 0)
			cmd_fail(false, CMD_FAILED, *err);
		else
			fprintf(stderr,
				"rover: the shell of task %lld ended by signal %d (%s); its "
				"container is removed\n",
				(long long)id, se->signo, strsignal(se->signo));
		return 128 + se->signo;
	}
	int code = 0;
	if (shell_finish(se->s, &code, err) < 0)
		return cmd_fail(false, CMD_FAILED, *err);
	return code;
}

/* The container started, the terminal raw, the session pumped to its end.
 * Signals are read in the loop, never delivered: whatever ends the
 * session, the terminal is given back and the container removed. */
static int run_session(const struct cmd_env *env, const struct task *t, const struct shell_opts *o)
{
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &old);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	_cleanup_error_ struct rv_error *err = NULL;
	int rc = CMD_FAILED;
	struct session se = {.tty = o->tty, .in_fd = STDIN_FILENO};
	struct tty_saved saved = {.fd = STDIN_FILENO};
	if (sfd < 0) {
		rc = cmd_failf(false, CMD_FAILED, "cannot open a shell: signalfd: %s",
			       strerror(errno));
	} else if (shell_start(env->project, env->store, t, o, &se.s, &err) < 0) {
		rc = cmd_fail(false, CMD_FAILED, err);
	} else {
		int k = o->tty ? tty_raw(STDIN_FILENO, &saved) : 0;
		if (k < 0) {
			rc = cmd_failf(false, CMD_FAILED, "cannot open a shell: raw terminal: %s",
				       strerror(-k));
		} else {
			if (o->tty)
				on_winch(&se);
			int r = pump(&se, sfd, &err);
			tty_restore(&saved);
			rc = session_end(&se, r, t->id, &err);
		}
	}
	tty_restore(&saved);
	shell_free(se.s);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int cmd_shell(int argc, char **argv)
{
	const char *image = NULL;
	int64_t id;
	char **cmdv = argv + argc; /* none */
	int rc = shell_args(argc, argv, &image, &id, &cmdv);
	if (rc >= 0)
		return rc;
	struct cmd_env env;
	rc = cmd_open(&env, false);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct task *t = NULL;
	if (task_store_load_id(env.store, id, &t, &err) < 0) {
		cmd_env_release(&env);
		return cmd_fail(false, CMD_FAILED, err);
	}
	/* Up to date first, so "is running" below is true. */
	observe_task(env.store, &t, 0, cmd_report_stderr, NULL);
	bool tty = isatty(STDIN_FILENO);
	struct shell_opts o = {
		.image = image,
		.cmd = *cmdv ? (const char *const *)cmdv : NULL,
		.tty = tty,
		.term = tty ? getenv("TERM") : NULL,
	};
	if (task_status_is_running(task_status(t)))
		fprintf(stderr, "%s Task %lld is running: its agent works in these same files\n",
			tty_utf8() ? "⚠" : "!", (long long)id);
	rc = run_session(&env, t, &o);
	task_free(t);
	cmd_env_release(&env);
	return rc;
}
