/*
 * worktree_git.c - the one way rover runs git on the host (worktree_git.h):
 * the hardening options, the cleaned environment, the captured and capped
 * output, the deadline.  The workspace operations built on it are in
 * worktree.c.
 */
#define _GNU_SOURCE
#include "worktree_git.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

extern char **environ;

/* Options in front of every git command rover runs: no hook and no
 * fsmonitor command runs, whatever a repository's configuration says. */
static const char *const hardening[] = {
	"-c", "core.hooksPath=/dev/null",   "-c", "core.fsmonitor=false",
	"-c", "protocol.file.allow=always",
};

/* Variables that would make git act on another repository than the one
 * rover named: dropped from git's environment. */
static bool is_location_var(const char *kv)
{
	static const char *const names[] = {
		"GIT_DIR=",
		"GIT_WORK_TREE=",
		"GIT_INDEX_FILE=",
		"GIT_COMMON_DIR=",
		"GIT_NAMESPACE=",
		"GIT_OBJECT_DIRECTORY=",
		"GIT_CONFIG=",
		"GIT_CEILING_DIRECTORIES=",
		"GIT_DISCOVERY_ACROSS_FILESYSTEM=",
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=",
		"GIT_CONFIG_PARAMETERS=",
		"GIT_CONFIG_COUNT=",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(kv, names[i], strlen(names[i])))
			return true;
	return false;
}

/* Built before fork: the child of a threaded process must not allocate.
 * extra: "NAME=value" entries added after the location variables were
 * dropped (a temporary GIT_INDEX_FILE, an identity). */
static char **git_environment(const char *const *extra)
{
	size_t n = 0, nx = 0;
	while (environ[n])
		n++;
	while (extra && extra[nx])
		nx++;
	char **env = xcalloc(n + nx + 2, sizeof(*env));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!is_location_var(environ[i]) && strncmp(environ[i], "GIT_TERMINAL_PROMPT=", 20))
			env[k++] = environ[i];
	env[k++] = (char *)"GIT_TERMINAL_PROMPT=0";
	for (size_t i = 0; i < nx; i++)
		env[k++] = (char *)extra[i];
	env[k] = NULL;
	return env;
}

/* What git printed: stdout captured (up to out_max, the rest read and
 * dropped) or handed to out_fn; stderr captured (up to 64 KiB). */
struct git_capture {
	struct strbuf out;
	size_t out_max;
	bool out_truncated;
	struct strbuf err;
	int fn_error; /* out_fn's first failure */
};

static void capture_release(struct git_capture *c)
{
	strbuf_release(&c->out);
	strbuf_release(&c->err);
}

#define GIT_STDERR_MAX (64u * 1024u)

static void capture_append(struct strbuf *b, size_t max, bool *truncated, const char *data,
			   size_t n)
{
	if (b->len + n > max) {
		*truncated = true;
		n = max > b->len ? max - b->len : 0;
	}
	strbuf_add(b, data, n);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read both pipes until git closes them (poll, so that neither can fill up
 * while the other is read) or the deadline passes.  false: timed out. */
static bool drain(int outfd, int errfd, const struct worktree_git_opts *o, struct git_capture *c)
{
	int64_t deadline = o->timeout_s > 0 ? now_ms() + (int64_t)o->timeout_s * 1000 : 0;
	struct pollfd p[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
	char buf[65536];
	bool dummy = false;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int wait = -1;
		if (deadline) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return false;
			wait = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		int n = poll(p, 2, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return true;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t r = read(p[i].fd, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				p[i].fd = -1;
				continue;
			}
			if (i == 1)
				capture_append(&c->err, GIT_STDERR_MAX, &dummy, buf, (size_t)r);
			else if (o->out_fn && !c->fn_error)
				c->fn_error = o->out_fn(o->out_userdata, buf, (size_t)r);
			else if (!o->out_fn)
				capture_append(&c->out, c->out_max, &c->out_truncated, buf,
					       (size_t)r);
			if (c->fn_error)
				return true; /* the reader is gone: stop git */
		}
	}
	return true;
}

/* The git command argv runs ("add" in git -c x=y --git-dir=d add -A), for
 * messages. */
static const char *git_verb(const char *const *argv)
{
	for (size_t i = 1; argv[i]; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "-C")) {
			if (!argv[++i])
				break;
			continue;
		}
		if (argv[i][0] != '-')
			return argv[i];
	}
	return argv[1] ? argv[1] : "";
}

/* The one place git is started.  Returns git's exit status (>= 0; 128 + n
 * when killed by signal n) or < 0 when it could not be run or timed out. */
static int git_run(const struct worktree_git_opts *o, const char *const *argv,
		   struct git_capture *c, struct rv_error **err)
{
	size_t argc = 0;
	while (argv[argc])
		argc++;
	_cleanup_free_ const char **full = xcalloc(argc + ARRAY_SIZE(hardening) + 1, sizeof(*full));
	size_t k = 0;
	full[k++] = "git";
	for (size_t i = 0; i < ARRAY_SIZE(hardening); i++)
		full[k++] = hardening[i];
	for (size_t i = 1; i < argc; i++)
		full[k++] = argv[i];
	full[k] = NULL;
	_cleanup_free_ char **env = git_environment(o->env);
	const char *cwd = o->cwd;
	bool own_group = o->timeout_s > 0 || o->out_fn;

	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return rv_error_errno(err, errno, "cannot run git");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]);
		return rv_error_errno(err, errno, "cannot run git");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
		return rv_error_errno(err, e, "cannot run git");
	}
	if (pid == 0) {
		/* The supervisor blocks SIGINT/SIGTERM for its signalfd; git must
		 * start with the default mask, or it could not be interrupted. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* A git that may be killed on a deadline takes whatever it
		 * starts (a filter, a pager) with it. */
		if (own_group)
			setpgid(0, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvpe("git", (char *const *)full, env);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	bool finished = drain(out[0], errp[0], o, c);
	if (!finished || c->fn_error)
		kill(own_group ? -pid : pid, SIGKILL);
	close(out[0]);
	close(errp[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!finished)
		return rv_error_set(err, ETIMEDOUT,
				    "git %s did not finish within %d s and was stopped",
				    git_verb(argv), o->timeout_s);
	if (c->fn_error)
		return c->fn_error;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* git's first line of complaint, for the error message. */
static const char *first_error_line(struct git_capture *c)
{
	if (!c->err.buf)
		return "(no message)";
	char *e = c->err.buf;
	char *nl = strchr(e, '\n');
	if (nl && strncmp(e, "Preparing", 9) == 0)
		e = nl + 1;
	e[strcspn(e, "\n")] = '\0';
	return *e ? e : "(no message)";
}

int worktree_git_timeout_s(void)
{
	const char *v = getenv("ROVER_GIT_TIMEOUT_S");
	long n = v && *v ? strtol(v, NULL, 10) : 0;
	return n > 0 && n < 86400 ? (int)n : WORKTREE_GIT_TIMEOUT_S;
}

int worktree_git_run(const struct worktree_git_opts *o, const char *const *argv, char **ret_out,
		     size_t *ret_len, struct rv_error **err)
{
	struct git_capture c = {.out_max = o->out_max ? o->out_max : 64u * 1024u * 1024u};
	int st = git_run(o, argv, &c, err);
	if (st < 0 && !c.fn_error) {
		capture_release(&c);
		return st;
	}
	if (st < 0) { /* the reader's own error: no message from git */
		capture_release(&c);
		return rv_error_set(err, -st, "stopped git %s: %s", git_verb(argv), strerror(-st));
	}
	int r = 0;
	if (st == 127)
		r = rv_error_set(err, ENOENT, "git is not installed");
	else if (st != 0 && !(o->ret_status && st < 128))
		r = rv_error_set(err, EIO, "git %s failed: %s", git_verb(argv),
				 first_error_line(&c));
	else if (c.out_truncated)
		r = rv_error_set(err, E2BIG, "git %s printed more than %zu bytes", git_verb(argv),
				 c.out_max);
	if (r == 0) {
		if (o->ret_status)
			*o->ret_status = st;
		if (ret_len)
			*ret_len = c.out.len;
		if (o->ret_stderr)
			*o->ret_stderr = strbuf_detach(&c.err, NULL);
		if (ret_out)
			*ret_out = strbuf_detach(&c.out, NULL);
	}
	capture_release(&c);
	return r;
}

int worktree_git(const char *cwd, const char *const *argv, char **ret_out, struct rv_error **err)
{
	/* git's answers here are short: more than 1 MiB is cut, not an error. */
	struct worktree_git_opts o = {.cwd = cwd};
	struct git_capture c = {.out_max = 1u << 20};
	int st = git_run(&o, argv, &c, err);
	int r = 0;
	if (st < 0)
		r = st;
	else if (st == 127)
		r = rv_error_set(err, ENOENT, "git is not installed");
	else if (st != 0)
		r = rv_error_set(err, EIO, "git %s failed: %s", git_verb(argv),
				 first_error_line(&c));
	if (r == 0 && ret_out) {
		size_t len = c.out.len;
		while (len > 0 && (c.out.buf[len - 1] == '\n' || c.out.buf[len - 1] == '\r'))
			len--;
		strbuf_setlen(&c.out, len);
		*ret_out = strbuf_detach(&c.out, NULL);
	}
	capture_release(&c);
	return r;
}
