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

/* The changed tasks noted by the thread (watch.h), taken by any reader. */
static pthread_mutex_t noted_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool active; /* a watch runs and its thread is alive */
	uint64_t gen;
	bool all;
	int64_t *ids; /* in arrival order, may repeat */
	size_t n, cap;
} noted;

static void noted_reset(bool active)
{
	pthread_mutex_lock(&noted_lock);
	noted.active = active;
	if (active)
		noted.gen++;
	noted.all = false;
	free(noted.ids);
	noted.ids = NULL;
	noted.n = noted.cap = 0;
	pthread_mutex_unlock(&noted_lock);
}

/* id 0: everything. */
static void note(int64_t id)
{
	pthread_mutex_lock(&noted_lock);
	if (noted.all) {
		/* nothing to add */
	} else if (id <= 0 || noted.n == WATCH_MAX_NOTED) {
		noted.all = true;
		noted.n = 0;
	} else if (!noted.n || noted.ids[noted.n - 1] != id) {
		/* A running task rewrites its status file again and again:
		 * repeats in a row are dropped here, the rest on take. */
		if (noted.n == noted.cap) {
			noted.cap = noted.cap ? noted.cap * 2 : 64;
			noted.ids = xrealloc(noted.ids, noted.cap * sizeof(*noted.ids));
		}
		noted.ids[noted.n++] = id;
	}
	pthread_mutex_unlock(&noted_lock);
}

void watch_note_all(void)
{
	note(0);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

bool watch_changes_take(struct watch_changes *ret)
{
	*ret = (struct watch_changes){0};
	pthread_mutex_lock(&noted_lock);
	bool active = noted.active;
	if (active) {
		ret->gen = noted.gen;
		ret->all = noted.all;
		ret->ids = noted.ids;
		ret->n = noted.n;
		noted.ids = NULL;
		noted.n = noted.cap = 0;
		noted.all = false;
	}
	pthread_mutex_unlock(&noted_lock);
	if (ret->n > 1) {
		qsort(ret->ids, ret->n, sizeof(*ret->ids), cmp_id);
		size_t k = 1;
		for (size_t i = 1; i < ret->n; i++)
			if (ret->ids[i] != ret->ids[k - 1])
				ret->ids[k++] = ret->ids[i];
		ret->n = k;
	}
	return active;
}

/* A canonical task directory name (task_store_parse_id's rules), up to the
 * first '/' or the end; 0 when not one. */
static int64_t parse_task_name(const char *s)
{
	if (*s < '1' || *s > '9')
		return 0;
	int64_t v = 0;
	size_t n = 0;
	for (; *s && *s != '/'; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 12)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int64_t watch_event_task(const char *root, const char *dir, int depth, const char *name)
{
	if (depth < 0 || !name)
		return 0;
	if (depth == 0)
		return parse_task_name(name);
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	const char *p = dir + rl;
	while (*p == '/')
		p++;
	return parse_task_name(p);
}

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
		note(0);
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
	if (!watch_event_relevant(depth, ev->name, is_dir))
		return 0;
	/* Noted after the new directory's watch exists (watch.h). */
	int64_t id = watch_event_task(w->root, dir, depth, ev->name);
	if (id > 0)
		note(id);
	return WATCH_CHANGED;
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
			noted_reset(false);
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
	/* A new generation before any event can be noted: a reader's next
	 * take tells it to read everything once. */
	noted_reset(true);
	r = pthread_create(&w->thread, NULL, thread_main, w);
	if (r != 0) {
		r = rv_error_errno(err, r, "cannot start the watch thread");
		noted_reset(false);
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
	noted_reset(false);
	inotifytools_cleanup();
	close(w->pipe_rd);
	close(w->pipe_wr);
	free(w->root);
	free(w);
	atomic_store(&in_use, false);
	return NULL;
}
