#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "common/timeutil.h"

/* The tail of a stream: at most cap bytes are kept, older bytes are dropped. */
struct tail {
	char *buf;
	size_t len, cap, dropped;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	if (t->cap == 0) {
		t->dropped += n;
		return;
	}
	if (n >= t->cap) {
		t->dropped += t->len + (n - t->cap);
		memcpy(t->buf, p + (n - t->cap), t->cap);
		t->len = t->cap;
		return;
	}
	if (t->len + n > t->cap) {
		size_t drop = t->len + n - t->cap;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->dropped += drop;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Carry out what the pause machine answered, for the step's group.  Between
 * two looks at the signalfd nothing else decides: the table does. */
static void carry_out(unsigned act, pid_t pid, int signo, int64_t grace_ms, int64_t *grace_at,
		      bool *exit_now)
{
	if (act & PAUSE_ACT_FORWARD_SIGNAL)
		kill(-pid, signo == SIGINT ? SIGINT : SIGTERM);
	if (act & PAUSE_ACT_ARM_GRACE)
		*grace_at = timeutil_mono_ms() + grace_ms;
	if (act & PAUSE_ACT_KILL_GROUP)
		kill(-pid, SIGKILL);
	if (act & PAUSE_ACT_EXIT_NOW)
		*exit_now = true;
}

static void child_exec(const struct spawn_opts *o, const struct signals *sig, int out_w, int err_w)
{
	setpgid(0, 0);
	signals_child_reset(sig);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0) {
		dup2(devnull, 0);
		if (devnull > 2)
			close(devnull);
	}
	dup2(out_w, 1);
	dup2(err_w, 2);
	for (char *const *e = o->env; e && *e; e++)
		putenv(*e);
	if (o->cwd && chdir(o->cwd) < 0) {
		dprintf(2, "rover-agent: cannot enter '%s': %s\n", o->cwd, strerror(errno));
		_exit(126);
	}
	execvp(o->argv[0], o->argv);
	int e = errno;
	dprintf(2, "rover-agent: cannot run '%s': %s\n", o->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

int spawn_run(const struct spawn_opts *o, struct signals *sig, struct pause_machine *pm,
	      struct spawn_result *ret, struct rv_error **err)
{
	int out_p[2], err_p[2];
	if (pipe2(out_p, O_CLOEXEC) < 0)
		return rv_error_errno(err, errno, "cannot create a pipe for '%s'", o->argv[0]);
	if (pipe2(err_p, O_CLOEXEC) < 0) {
		close(out_p[0]);
		close(out_p[1]);
		return rv_error_errno(err, errno, "cannot create a pipe for '%s'", o->argv[0]);
	}
	int64_t start = timeutil_mono_ms();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out_p[0]), close(out_p[1]), close(err_p[0]), close(err_p[1]);
		return rv_error_errno(err, e, "cannot start '%s'", o->argv[0]);
	}
	if (pid == 0)
		child_exec(o, sig, out_p[1], err_p[1]);
	/* Both sides set the group, so a signal sent right after fork finds it. */
	setpgid(pid, pid);
	close(out_p[1]);
	close(err_p[1]);

	struct tail tails[2] = {{.buf = xmalloc(o->capture_cap + 1), .cap = o->capture_cap},
				{.buf = xmalloc(o->capture_cap + 1), .cap = o->capture_cap}};
	int fds[2] = {out_p[0], err_p[0]};
	int status = 0;
	bool exited = false, timed_out = false, exit_now = false, group_killed = false;
	int64_t timeout_at = o->timeout_s > 0 ? start + (int64_t)o->timeout_s * 1000 : 0;
	int64_t kill_at = 0;     /* the timeout's grace: SIGKILL the group then */
	int64_t grace_at = 0;    /* the pause's grace: tell the machine then */
	int64_t drain_until = 0; /* stop reading pipes after the child's exit */
	int64_t grace_ms = (int64_t)(o->grace_s > 0 ? o->grace_s : 10) * 1000;
	bool beat_on = o->heartbeat && o->heartbeat_ms > 0, printed = false;
	int64_t next_beat = beat_on ? start + o->heartbeat_ms : 0;

	while (fds[0] >= 0 || fds[1] >= 0 || !exited) {
		int64_t now = timeutil_mono_ms();
		if (!exited && timeout_at && now >= timeout_at && !timed_out) {
			timed_out = true;
			kill(-pid, SIGTERM);
			kill_at = now + grace_ms;
		}
		if (!exited && kill_at && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
		if (!exited && grace_at && now >= grace_at) {
			grace_at = 0;
			carry_out(pause_machine_handle(pm, PAUSE_EV_GRACE_EXPIRED), pid, 0,
				  grace_ms, &grace_at, &exit_now);
		}
		if (exited && drain_until && now >= drain_until)
			break;
		if (beat_on && !exited && now >= next_beat) {
			o->heartbeat(o->heartbeat_ud, printed);
			printed = false;
			next_beat = now + o->heartbeat_ms;
		}

		int64_t next = -1;
		if (!exited && timeout_at && !timed_out)
			next = timeout_at;
		if (!exited && kill_at && (next < 0 || kill_at < next))
			next = kill_at;
		if (!exited && grace_at && (next < 0 || grace_at < next))
			next = grace_at;
		if (exited && drain_until && (next < 0 || drain_until < next))
			next = drain_until;
		if (beat_on && !exited && (next < 0 || next_beat < next))
			next = next_beat;
		int wait_ms = next < 0 ? -1 : (int)(next - now > 0 ? next - now : 0);

		struct pollfd pfd[3] = {{.fd = fds[0], .events = POLLIN},
					{.fd = fds[1], .events = POLLIN},
					{.fd = signals_fd(sig), .events = POLLIN}};
		int n = poll(pfd, 3, wait_ms);
		if (n < 0 && errno != EINTR)
			break;

		for (int i = 0; i < 2; i++) {
			if (fds[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[16384];
			ssize_t r = read(fds[i], buf, sizeof(buf));
			if (r > 0) {
				printed = true;
				tail_add(&tails[i], buf, (size_t)r);
				if (o->tee)
					(void)fileio_write_all(i == 0 ? 1 : 2, buf, (size_t)r);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(fds[i]);
				fds[i] = -1;
			}
		}

		int s;
		while ((s = signals_next(sig)) != 0) {
			if (s == SIGCHLD) {
				if (signals_reap(pid, &status) && !exited) {
					exited = true;
					/* Leftovers of the step (background jobs) die with it;
					 * they would otherwise hold the pipes open. */
					kill(-pid, SIGKILL);
					group_killed = true;
					drain_until = timeutil_mono_ms() + 2000;
				}
				continue;
			}
			/* Fed to the machine even after the exit: a pause asked for
			 * now must not be lost. */
			carry_out(pause_feed_signal(pm, s), pid, s, grace_ms, &grace_at, &exit_now);
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (!group_killed)
		kill(-pid, SIGKILL);
	if (!exited) {
		/* poll failed: do not leave the child behind */
		waitpid(pid, &status, 0);
	}

	for (int i = 0; i < 2; i++)
		tails[i].buf[tails[i].len] = '\0';
	ret->exit_code = proc_exit_code(status);
	ret->timed_out = timed_out;
	ret->exit_now = exit_now;
	ret->out = tails[0].buf;
	ret->err = tails[1].buf;
	ret->out_dropped = tails[0].dropped;
	ret->err_dropped = tails[1].dropped;
	ret->duration_ms = timeutil_mono_ms() - start;
	return 0;
}

void spawn_result_release(struct spawn_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}
