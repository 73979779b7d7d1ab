/*
 * fileio.h - durable file writes and bounded reads.
 *
 * fileio_write_atomic() is the one writer for every file rover and rover-agent
 * keep: it creates a unique temp file in the target's directory
 * (".<name>.tmp-XXXXXX", O_EXCL|O_CLOEXEC), writes all bytes (looping on short
 * writes and EINTR), fsyncs it, closes it checking the result, renames it over
 * the target and fsyncs the directory.  A reader therefore sees the old file or
 * the new one, never a torn or empty one, and after a crash the new name is
 * durable once the call returned 0.  On any failure the temp file is unlinked,
 * the old file is left as it was, and a failed fsync is never retried (its
 * pages may have been marked clean; see docs/design/durability.md).
 *
 * fileio_read_bounded() reads a whole file of at most max bytes into a
 * NUL-terminated buffer the caller frees.  A larger file fails with EFBIG, so no
 * input can make us allocate without bound.
 */
#ifndef ROVER_FILEIO_H
#define ROVER_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Write len bytes, retrying short writes and EINTR.  0 or -errno. */
int fileio_write_all(int fd, const void *buf, size_t len);

/* Atomically and durably replace path with buf.  mode is the new file's mode. */
int fileio_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			struct rv_error **err);

/* Read path (at most max bytes) into *ret_buf (NUL-terminated), length in
 * *ret_len (may be NULL).  Missing file: -ENOENT. */
int fileio_read_bounded(const char *path, size_t max, char **ret_buf, size_t *ret_len,
			struct rv_error **err);

/* mkdir -p with mode; existing directories are fine. */
int fileio_mkdir_p(const char *path, mode_t mode, struct rv_error **err);

/* fsync a directory so that entries created or renamed in it are durable. */
int fileio_fsync_dir(const char *dir, struct rv_error **err);

/* rm -rf path; a missing path is success.  Does not follow symlinks. */
int fileio_remove_tree(const char *path, struct rv_error **err);

/* Copy a file's bytes to a new path atomically (fileio_write_atomic). */
int fileio_copy(const char *from, const char *to, size_t max, mode_t mode,
		struct rv_error **err);

/* Remove temp files fileio_write_atomic() left in dir for `name` when its
 * writer was killed (".<name>.tmp-*").  Only for a directory with one writer:
 * a live writer's temp file would be removed too.  Returns how many. */
int fileio_remove_stale_temps(const char *dir, const char *name);

bool fileio_exists(const char *path);
bool fileio_is_dir(const char *path);

/* Newly allocated directory part of path ("." when there is none). */
char *fileio_dirname(const char *path);

/* Newly allocated "a/b" (no double slash). */
char *fileio_join(const char *a, const char *b);

#endif
