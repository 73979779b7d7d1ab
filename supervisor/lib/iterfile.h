/*
 * iterfile.h - the host's only way into a task's iteration directory
 * (`<store>/tasks/<id>/iterations/<n>/`).
 *
 * That directory is bind-mounted read-write into the task's container as
 * /output, so everything in it may have been planted by a hostile agent:
 * symlinks to host files, FIFOs, sockets, device nodes, directories, huge
 * files (docs/design/untrusted-files.md has the rules and their reasons).
 * Every host read or write of a file there goes through this module, which
 *   - opens the directory itself with O_DIRECTORY|O_NOFOLLOW, and for a path
 *     of the form .../tasks/<id>/iterations/<n> walks those four components
 *     with openat(O_NOFOLLOW) too, so none of them can be a symlink;
 *   - looks at the name with fstatat(AT_SYMLINK_NOFOLLOW) before opening it,
 *     so a FIFO or device is never opened at all, then opens it with
 *     openat(O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC) and checks with fstat
 *     that the same regular file was opened: nothing here can block or
 *     follow a link;
 *   - caps what it reads into memory (EFBIG beyond max);
 *   - for a name rover owns and writes (container.log, .resume.lock,
 *     .pause-requested, status.json, inputs.json), removes a planted
 *     non-regular thing first with unlinkat (which never follows); a planted
 *     non-empty directory is renamed aside to ".<name>.planted-<ms>" instead
 *     of being walked.
 *
 * Paths are the full paths task_store_iteration_file() builds; the module
 * splits them into directory and name itself.
 *
 * Errors (negative errno, err naming the file):
 *   -ENOENT  nothing at that name (err says "does not exist")
 *   -ELOOP   a symlink at that name, or a symlink among the directory's
 *            components ("is a symbolic link; not followed")
 *   -EINVAL  something that is not a regular file (FIFO, socket, device,
 *            directory): "is a FIFO, not a regular file; ignored"
 *   -EFBIG   larger than the caller's cap
 * iterfile_planted(r) is true for the two refusals.
 */
#ifndef ROVER_ITERFILE_H
#define ROVER_ITERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

struct json_object;

/* Caps for files read whole: the runner's JSON files are a few KiB. */
#define ITERFILE_JSON_MAX (4u * 1024u * 1024u)

/* True for the errors that mean "something was planted there". */
bool iterfile_planted(int r);

/* Open the iteration directory dir (see top).  Returns the descriptor
 * (O_RDONLY|O_DIRECTORY|O_CLOEXEC) or -errno. */
int iterfile_open_dir(const char *dir, struct rv_error **err);

/* Open the regular file at path for reading.  Returns the descriptor; *ret_st
 * (may be NULL) gets its fstat. */
int iterfile_open_read(const char *path, struct stat *ret_st, struct rv_error **err);

/* Read the whole regular file at path (at most max bytes) into *ret_buf
 * (NUL-terminated), its length into *ret_len (may be NULL). */
int iterfile_read(const char *path, size_t max, char **ret_buf, size_t *ret_len,
		  struct rv_error **err);

/* iterfile_read() of at most ITERFILE_JSON_MAX bytes, parsed: a JSON object,
 * else -EBADMSG naming the file. */
int iterfile_read_json(const char *path, struct json_object **ret, struct rv_error **err);

/* A regular file is at path (lstat, so a symlink or FIFO is "no"). */
bool iterfile_exists(const char *path);

/* Open path for appending (O_RDWR|O_APPEND|O_CREAT, mode 0644: readable so
 * the caller can look at what is there with pread), after
 * removing anything but a regular file at that name.  Returns the fd. */
int iterfile_open_append(const char *path, struct rv_error **err);

/* fileio_write_atomic() into the iteration directory: the directory is
 * checked first, a planted directory at the name is removed (a rename could
 * not replace it), the temp file is created O_EXCL (never through a link),
 * and the rename replaces a planted symlink or FIFO itself. */
int iterfile_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			  struct rv_error **err);

/* Remove whatever is at path without following it (unlinkat; an empty
 * directory with AT_REMOVEDIR; a non-empty one renamed aside).  Missing: 0. */
int iterfile_remove(const char *path, struct rv_error **err);

/* Remove what is at path unless it is a regular file (or absent).  Returns 1
 * when something was removed, 0 when there was nothing to do, or -errno. */
int iterfile_clear_planted(const char *path, struct rv_error **err);

/* renameat(2) within one iteration directory (RENAME_NOREPLACE when
 * noreplace); never follows a link. */
int iterfile_rename(const char *from, const char *to, bool noreplace, struct rv_error **err);

/* What is at path, in a few words ("a symbolic link", "a FIFO", ...), for
 * messages; "nothing" when absent. */
const char *iterfile_kind(const char *path);

#endif
