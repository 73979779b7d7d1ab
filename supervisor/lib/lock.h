/*
 * lock.h - the resume lock: `iterations/<n>/.resume.lock` (the protocol and
 * its reasons are in docs/design/lock-protocol.md).
 *
 * The file exists only while a resume runs, and its content decides:
 *     <pid>:<epochMillis>\n          (rover's first line; the TypeScript rover
 *     host=<hostname>\n               wrote only this, without newline, or a
 *     start=<proc start ticks>\n      bare <pid>: both are read)
 *     boot=<kernel boot id>\n
 * It is never visible empty or half-written: the content goes to a unique
 * temp file in the same directory, which is then link(2)ed to the lock name
 * (EEXIST: someone holds it or left it behind) and unlinked.
 *
 * A lock is HELD when its timestamp (or, for a file without one, its mtime)
 * is less than LOCK_STALE_MS old and no more than LOCK_FUTURE_SKEW_MS in the
 * future, and
 *   - it was written on another host (then only the age can be judged), or
 *   - its PID is alive here (kill 0; EPERM counts as alive), the boot id
 *     matches when recorded, and the PID's start time matches when recorded.
 * Otherwise it is STALE: holder dead, PID reused (start time differs), another
 * boot, 30 minutes old, too far in the future.  A file whose content cannot be
 * parsed is held for LOCK_GARBAGE_GRACE_MS after its mtime (a foreign writer
 * may still be writing it), then stale.  Anything at the name that is not a
 * regular file (a symlink, dangling or not, a FIFO, a socket, a directory:
 * the container can plant them, the iteration directory is its /output) is
 * stale at once: it is never opened or followed (iterfile.h), and removal
 * uses unlinkat, which removes the link itself.  A lock held by this very process is
 * held: a second acquisition in the same process fails.
 *
 * Acquisition and release are serialised by flock(2) on the iteration
 * directory (the kernel drops it if we die), and the file is re-checked under
 * it, so two processes reclaiming one stale lock can never both own it, and
 * release removes the file only if it still holds our own content.
 *
 * Calling sequence:
 *     struct lock *l = NULL;
 *     r = lock_acquire(iter_dir, &l, &err);   (-EBUSY: someone resumes it)
 *     ... start the container ...
 *     lock_drop(l, NULL);                     (always, also on failure)
 */
#ifndef ROVER_LOCK_H
#define ROVER_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/layout.h"

#define LOCK_FILE_NAME LAYOUT_RESUME_LOCK_FILE
#define LOCK_STALE_MS (30 * 60 * 1000)
/* A timestamp ahead of our clock by up to this much is a clock difference
 * (two hosts on one store, an NTP step) and counts as fresh; further ahead it
 * cannot be trusted to ever expire and counts as stale. */
#define LOCK_FUTURE_SKEW_MS (60 * 1000)
#define LOCK_GARBAGE_GRACE_MS 5000
/* Lock files are tiny; a bigger one is garbage. */
#define LOCK_MAX_BYTES 4096

enum lock_state {
	LOCK_ABSENT,           /* no lock file */
	LOCK_HELD,             /* live holder on this host */
	LOCK_HELD_OTHER_HOST,  /* written elsewhere, younger than 30 min */
	LOCK_HELD_UNREADABLE,  /* unparsable but only seconds old */
	LOCK_STALE_DEAD,       /* PID not alive */
	LOCK_STALE_REUSED,     /* PID alive but a different process (start time) */
	LOCK_STALE_OTHER_BOOT, /* written before the last reboot */
	LOCK_STALE_AGE,        /* 30 minutes old or more */
	LOCK_STALE_FUTURE,     /* timestamp too far in the future */
	LOCK_STALE_UNREADABLE, /* unparsable and older than the grace period */
	LOCK_STALE_NOT_FILE,   /* a symlink, FIFO, socket or directory: planted */
};

struct lock_info {
	enum lock_state state;
	bool held;        /* state is one of the LOCK_HELD* */
	pid_t pid;        /* recorded PID, 0 when unknown */
	int64_t since_ms; /* recorded timestamp, else the file's mtime (epoch ms) */
	int64_t age_ms;   /* now - since_ms (negative: in the future) */
	char host[256];   /* recorded hostname, "" when none */
};

struct lock; /* opaque: the held lock */

/* Take the lock of iter_dir (which must exist).  On success *ret_lock is the
 * handle for lock_drop().  Held by someone: -EBUSY "already being resumed
 * by process N (since HH:MM)"; a stale lock is reclaimed.  Other failures
 * (directory missing, unwritable, flock refused) -errno naming the path. */
int lock_acquire(const char *iter_dir, struct lock **ret_lock, struct rv_error **err);

/* Give the lock up and free the handle (NULL-safe); named drop, not
 * release, because it frees (x_release means "contents only").  The file is
 * removed only if it still holds our content; if someone took it over
 * meanwhile (our lock went stale) it is left alone and -ESTALE is returned.
 * A file already gone is fine (0). */
int lock_drop(struct lock *l, struct rv_error **err);

/* Read and judge the lock of iter_dir without taking anything (the orphan
 * detector and `rover inspect` use it).  No file: 0 with state LOCK_ABSENT. */
int lock_inspect(const char *iter_dir, struct lock_info *ret, struct rv_error **err);

/* Short words for a state: "held", "holder is gone", ... */
const char *lock_state_describe(enum lock_state s);

#endif
