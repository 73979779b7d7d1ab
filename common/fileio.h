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

/* fileio_write_atomic() without its two fsyncs: readers still see the old
 * or the new content, never a mix, but a power cut may lose the change (or,
 * on a file system without ext4's flush on replace-by-rename, leave the file
 * empty).  Only for a file whose latest version merely informs (a running
 * task's progress), never for one a recovery reads: those are written
 * durably, and the next durable write of the same file covers this one. */
int fileio_write_atomic_volatile(const char *path, const void *buf, size_t len, mode_t mode,
				 struct rv_error **err);

/* fileio_write_atomic() whose directory fsync the caller does, once for
 * this and the other names it just renamed into the same directory: until
 * then a power cut may keep the old file (never an empty one: the data is
 * fsynced before the rename). */
int fileio_write_atomic_dir_later(const char *path, const void *buf, size_t len, mode_t mode,
				  struct rv_error **err);

/* Read path (at most max bytes) into *ret_buf (NUL-terminated), length in
 * *ret_len (may be NULL).  Missing file: -ENOENT. */
int fileio_read_bounded(const char *path, size_t max, char **ret_buf, size_t *ret_len,
			struct rv_error **err);

/* Read the open fd to its end (at most max bytes; more: -EFBIG) into
 * *ret_buf (NUL-terminated), starting with a buffer of first_cap bytes (0:
 * 4096; a file's size avoids regrowing).  path only names it in errors.
 * The one bounded read loop of fileio_read_bounded() and iterfile.h. */
int fileio_read_fd(int fd, const char *path, size_t max, size_t first_cap, char **ret_buf,
		   size_t *ret_len, struct rv_error **err);

/* mkdir -p with mode; existing directories are fine. */
int fileio_mkdir_p(const char *path, mode_t mode, struct rv_error **err);

/* fsync a directory so that entries created or renamed in it are durable. */
int fileio_fsync_dir(const char *dir, struct rv_error **err);

/* rm -rf: remove the entry `name` of the directory dirfd and, when it is a
 * directory, everything under it; a missing entry is success.  The walk is
 * openat/unlinkat from dirfd down, each directory opened with
 * O_NOFOLLOW|O_DIRECTORY and checked to be the one lstat'ed (same device and
 * inode): a symlink anywhere - name itself included - is unlinked, never
 * followed, so nothing outside dirfd's directory is ever removed, whatever
 * is renamed or replaced meanwhile.  name must be one path component (no
 * '/', not "." or ".."): -EINVAL.  shown names the entry in messages. */
int fileio_remove_tree_at(int dirfd, const char *name, const char *shown, struct rv_error **err);

/* fileio_remove_tree_at() of path's last component, from its parent opened
 * with the usual path walk: for a path the caller created and trusts (its
 * parents are rover's own directories).  Inside the tree nothing is
 * followed. */
int fileio_remove_tree(const char *path, struct rv_error **err);

/* Open the directory rel below dirfd one component at a time, each with
 * O_NOFOLLOW|O_DIRECTORY, so that no symlink on the way is followed (rel:
 * "a/b/c", no "." or ".." components: -EINVAL).  A symlink is -ELOOP, a
 * non-directory -ENOTDIR, a missing component -ENOENT.  Returns the fd
 * (O_CLOEXEC) or -errno; nothing is set in an error (callers word it). */
int fileio_open_dir_beneath(int dirfd, const char *rel);

/* Copy the tree at from to the new path to (which must not exist) without
 * following symlinks: directories and regular files are copied with their
 * permission bits, symlinks are re-created as symlinks with the same
 * target, anything else (sockets, fifos, devices) is skipped.  On failure
 * what was copied is removed again. */
int fileio_copy_tree(const char *from, const char *to, struct rv_error **err);

/* Copy a file's bytes to a new path atomically (fileio_write_atomic). */
int fileio_copy(const char *from, const char *to, size_t max, mode_t mode, struct rv_error **err);

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
