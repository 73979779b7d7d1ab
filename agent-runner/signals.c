#define _GNU_SOURCE
#include "signals.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"

static void handled_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGCHLD);
}

int signals_init(struct signals *s, struct rv_error **err)
{
	sigset_t set;
	handled_set(&set);
	s->fd = -1;
	if (sigprocmask(SIG_BLOCK, &set, &s->saved_mask) < 0)
		return rv_error_errno(err, errno, "cannot block signals");
	s->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->fd < 0)
		return rv_error_errno(err, errno, "cannot create a signalfd");
	/* PID 1 inherits orphans by definition; elsewhere ask for them, so a
	 * tool's background processes never become zombies of someone else. */
	if (getpid() != 1)
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signals_reap(-1, NULL);
	return 0;
}

void signals_release(struct signals *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	sigprocmask(SIG_SETMASK, &s->saved_mask, NULL);
}

int signals_next(struct signals *s)
{
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = read(s->fd, &si, sizeof(si));
		if (n == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
		if (n < 0 && errno == EINTR)
			continue;
		return 0;
	}
}

bool signals_reap(pid_t want, int *ret_status)
{
	bool found = false;
	for (;;) {
		int st = 0;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p <= 0) {
			if (p < 0 && errno == EINTR)
				continue;
			break;
		}
		if (want > 0 && p == want) {
			found = true;
			if (ret_status)
				*ret_status = st;
		}
	}
	return found;
}

void signals_child_reset(const struct signals *s)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &s->saved_mask, NULL);
}

int signals_wait_until(struct signals *s, int64_t deadline_mono_ms)
{
	for (;;) {
		int sig;
		while ((sig = signals_next(s)) != 0) {
			if (sig == SIGCHLD) {
				signals_reap(-1, NULL);
				continue;
			}
			return sig;
		}
		int64_t left = deadline_mono_ms - timeutil_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR)
			return 0;
	}
}
