/*
 * watch.h - learn of changes in a store's task files without polling: the
 * only module that uses libinotifytools.
 *
 * libinotifytools is process-global (one inotify descriptor, static event
 * buffers) and hands out no descriptor to poll.  So one thread owns it: it
 * blocks in inotifytools_next_events(), drains the batch that arrived, and
 * writes one byte to a pipe (O_CLOEXEC|O_NONBLOCK) per batch; the caller
 * polls the pipe's read end in its own event loop (supervise.c) and calls
 * watch_drain() when it is readable.  At most one watch exists per process.
 *
 * What is watched - directories, because every file we keep is replaced by
 * rename (a watch on the file would follow the old inode):
 *     tasks/                       depth 0: task directories come and go
 *     tasks/<id>/                  depth 1: description.json
 *     tasks/<id>/iterations/       depth 2: iteration directories
 *     tasks/<id>/iterations/<n>/   depth 3: status.json
 * for IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE.
 * A directory created at depth < 3 gets its watch (and its existing
 * subdirectories theirs) as soon as its event is read, and only then is its
 * task noted as changed (below): a reader that re-reads the task after
 * taking the note sees the files written before the watch existed, and any
 * written later have their own events.  Names starting with '.' (locks, temp files, deleted tasks)
 * and files other than description.json and status.json are ignored, so the
 * supervisor's own lock traffic does not wake it.  IN_Q_OVERFLOW (events
 * were lost): every directory is watched again and WATCH_OVERFLOW tells the
 * caller to re-read everything.
 *
 * Which tasks changed: every relevant event names a task (tasks/<id> or a
 * path below it), and the thread notes its id in a set that any code of the
 * process may take with watch_changes_take() - the supervisor loop only
 * drains the pipe, while the listing it reads (task_live.h) takes the ids.
 * After an overflow, or past WATCH_MAX_NOTED ids, the note says "all".
 *
 * The thread inherits the signal mask of the caller of watch_start(): block
 * the signals the caller reads from a signalfd first, or the thread may get
 * them.
 *
 * Calling sequence:
 *     struct watch *w = NULL;
 *     watch_start(tasks_dir, &w, &err);       (tasks_dir must exist)
 *     poll({watch_fd(w), POLLIN}, ...);
 *     unsigned f = watch_drain(w);            (WATCH_CHANGED, ...)
 *     w = watch_stop(w);
 */
#ifndef ROVER_WATCH_H
#define ROVER_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* Deepest directory watched (iterations/<n>/). */
#define WATCH_MAX_DEPTH 3

enum watch_flags {
	WATCH_CHANGED = 1 << 0,  /* a relevant file or directory changed */
	WATCH_OVERFLOW = 1 << 1, /* events were lost: re-read everything */
	WATCH_FAILED = 1 << 2,   /* the watch thread stopped (an inotify error) */
};

struct watch;

/* Watch tasks_dir as described above and start the thread.  -EBUSY when
 * this process already has a watch; inotify errors (ENOSPC: the watch limit)
 * as -errno naming the directory. */
int watch_start(const char *tasks_dir, struct watch **ret, struct rv_error **err);

/* The descriptor to poll for POLLIN. */
int watch_fd(const struct watch *w);

/* Read what the thread reported since the last call: watch_flags. */
unsigned watch_drain(struct watch *w);

/* Stop the thread, release libinotifytools.  NULL-safe; returns NULL. */
struct watch *watch_stop(struct watch *w);

/* More changed tasks than this between two takes: the note says "all". */
#define WATCH_MAX_NOTED 4096

/* What changed since the last take (or since the watch started). */
struct watch_changes {
	uint64_t gen; /* which watch of this process noted them: a reader that
			  read everything under another generation (or with no
			  watch running) must read everything again */
	bool all;     /* events were lost or too many: read everything */
	int64_t *ids; /* sorted, unique; free() it */
	size_t n;
};

/* Take (and clear) what the running watch noted.  false when no watch runs
 * in this process (never started, stopped, or its thread failed): nothing
 * is known, so the caller must read everything.  Thread-safe. */
bool watch_changes_take(struct watch_changes *ret);

/* Note that anything may have changed, as after an overflow (tests use it
 * to force a full read). */
void watch_note_all(void);

/* Pure: the id of the task an event names - the name itself at depth 0,
 * else the first component of dir below root; 0 when none (not a canonical
 * task id). */
int64_t watch_event_task(const char *root, const char *dir, int depth, const char *name);

/* Pure, for the thread and tests: the depth of directory path below root
 * (root itself 0; -1 when path is not inside root).  Both may end in '/'. */
int watch_depth(const char *root, const char *path);

/* Pure: whether an event about `name` in a watched directory of this depth
 * matters (see top). */
bool watch_event_relevant(int depth, const char *name, bool is_dir);

/* Pure: whether a directory `name` appearing at this depth gets a watch. */
bool watch_dir_wanted(int depth, const char *name);

#endif
