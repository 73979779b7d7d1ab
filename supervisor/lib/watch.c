#define _GNU_SOURCE
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>

#include "common/cleanup.h"
#include "common/layout.h"

#define WATCH_MASK (IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE)

struct watch {
	char *root; /* tasks dir, with a trailing '/' */
	int pipe_rd, pipe_wr;
	pthread_t thread;
	bool thread_running;
	atomic_uint pending;
};

/* libinotifytools has one global instance. */
static atomic_bool in_use;

int watch_depth(const char *root, const char *path)
{
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (strncmp(root, path, rl) != 0 || (path[rl] != '\0' && path[rl] != '/'))
		return -1;
	int depth = 0;
	bool in_name = false;
	for (const char *p = path + rl; *p; p++) {
		if (*p == '/') {
			in_name = false;
		} else if (!in_name) {
			in_name = true;
			depth++;
		}
	}
	return depth;
}

bool watch_dir_wanted(int depth, const char *name)
{
	if (!name || !*name || name[0] == '.')
		return false;
	switch (depth) {
	case 0: /* a task directory */
		return true;
	case 1:
		return strcmp(name, "iterations") == 0;
	case 2: /* an iteration */
		return true;
	default:
		return false;
	}
}

bool watch_event_relevant(int depth, const char *name, bool is_dir)
{
	if (!name || !*name || name[0] == '.')
		return false;
	if (is_dir)
		return watch_dir_wanted(depth, name);
	if (depth == 1)
		return strcmp(name, "description.json") == 0;
	if (depth == 3)
		return strcmp(name, LAYOUT_STATUS_FILE) == 0;
	return false;
}

/* ---- the thread's side -------------------------------------------------- */

/* Watch dir (with trailing '/') at depth and the wanted directories below
 * it.  A directory that vanished meanwhile is no error. */
static void watch_tree(const char *dir, int depth)
{
	if (inotifytools_wd_from_filename(dir) < 0 && !inotifytools_watch_file(dir, WATCH_MASK))
		return;
	if (depth >= WATCH_MAX_DEPTH)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!watch_dir_wanted(depth, de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s%s/", dir, de->d_name);
		struct stat st;
		if (de->d_type == DT_UNKNOWN && (lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode)))
			continue;
		watch_tree(sub, depth + 1);
	}
	closedir(d);
}

static unsigned handle_event(struct watch *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		watch_tree(w->root, 0);
		return WATCH_OVERFLOW | WATCH_CHANGED;
	}
	if (ev->mask & IN_IGNORED || ev->len == 0)
		return 0;
	const char *dir = inotifytools_filename_from_wd(ev->wd);
	if (!dir || !*dir)
		return 0;
	int depth = watch_depth(w->root, dir);
	if (depth < 0)
		return 0;
	bool is_dir = ev->mask & IN_ISDIR;
	if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && depth < WATCH_MAX_DEPTH &&
	    watch_dir_wanted(depth, ev->name)) {
		_cleanup_free_ char *sub = xasprintf("%s%s/", dir, ev->name);
		watch_tree(sub, depth + 1);
	}
	return watch_event_relevant(depth, ev->name, is_dir) ? WATCH_CHANGED : 0;
}

static void report(struct watch *w, unsigned flags)
{
	if (!flags)
		return;
	atomic_fetch_or(&w->pending, flags);
	/* A full pipe already wakes the reader; the flags are in pending. */
	ssize_t n;
	do
		n = write(w->pipe_wr, "!", 1);
	while (n < 0 && errno == EINTR);
}

static void *thread_main(void *arg)
{
	struct watch *w = arg;
	int old;
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old);
	for (;;) {
		/* Cancellation (watch_stop) is allowed only while waiting, never
		 * in the middle of the library's bookkeeping. */
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
		struct inotify_event *ev = inotifytools_next_events(-1, 1);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		if (!ev) {
			int e = inotifytools_error();
			if (e == EINTR || e == 0)
				continue;
			report(w, WATCH_FAILED);
			return NULL;
		}
		unsigned flags = handle_event(w, ev);
		/* The rest of this batch, without waiting. */
		while ((ev = inotifytools_next_events(0, 1)))
			flags |= handle_event(w, ev);
		report(w, flags);
	}
}

/* libinotifytools opens its descriptor without O_CLOEXEC and does not
 * expose it: find it, so no child (git, a container runtime) inherits it. */
static void set_inotify_cloexec(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *de;
	char link[64];
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (fd <= 2 || fd == dirfd(d))
			continue;
		_cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:inotify") == 0) {
			int fl = fcntl(fd, F_GETFD);
			if (fl >= 0)
				fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		}
	}
	closedir(d);
}

int watch_start(const char *tasks_dir, struct watch **ret, struct rv_error **err)
{
	bool expected = false;
	if (!atomic_compare_exchange_strong(&in_use, &expected, true))
		return rv_error_set(err, EBUSY, "this process already watches a store");
	struct watch *w = xcalloc(1, sizeof(*w));
	w->pipe_rd = w->pipe_wr = -1;
	size_t l = strlen(tasks_dir);
	w->root = xasprintf("%s%s", tasks_dir, l && tasks_dir[l - 1] == '/' ? "" : "/");
	int r;
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = rv_error_errno(err, errno, "cannot create a pipe");
		goto fail;
	}
	w->pipe_rd = p[0];
	w->pipe_wr = p[1];
	if (!inotifytools_initialize()) {
		int e = inotifytools_error();
		r = rv_error_errno(err, e ? e : EIO, "cannot start inotify");
		goto fail;
	}
	set_inotify_cloexec();
	if (!inotifytools_watch_file(w->root, WATCH_MASK)) {
		int e = inotifytools_error();
		r = rv_error_errno(err, e ? e : EIO, "cannot watch '%s'", tasks_dir);
		inotifytools_cleanup();
		goto fail;
	}
	watch_tree(w->root, 0);
	r = pthread_create(&w->thread, NULL, thread_main, w);
	if (r != 0) {
		r = rv_error_errno(err, r, "cannot start the watch thread");
		inotifytools_cleanup();
		goto fail;
	}
	w->thread_running = true;
	*ret = w;
	return 0;
fail:
	if (w->pipe_rd >= 0)
		close(w->pipe_rd);
	if (w->pipe_wr >= 0)
		close(w->pipe_wr);
	free(w->root);
	free(w);
	atomic_store(&in_use, false);
	return r;
}

int watch_fd(const struct watch *w)
{
	return w->pipe_rd;
}

unsigned watch_drain(struct watch *w)
{
	char buf[256];
	while (read(w->pipe_rd, buf, sizeof(buf)) > 0)
		;
	return atomic_exchange(&w->pending, 0);
}

struct watch *watch_stop(struct watch *w)
{
	if (!w)
		return NULL;
	if (w->thread_running) {
		pthread_cancel(w->thread);
		pthread_join(w->thread, NULL);
	}
	inotifytools_cleanup();
	close(w->pipe_rd);
	close(w->pipe_wr);
	free(w->root);
	free(w);
	atomic_store(&in_use, false);
	return NULL;
}
