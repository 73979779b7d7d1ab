#define _GNU_SOURCE
#include "iterfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/timeutil.h"

bool iterfile_planted(int r)
{
	return r == -ELOOP || r == -EINVAL;
}

static const char *mode_kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device node";
	return "not a regular file";
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Where ".../tasks/<id>/iterations/<n>" starts its rover-owned part: the
 * offset of "<id>" (after "tasks/"), or 0 when dir has another shape. */
static size_t owned_start(const char *dir)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	/* components from the end: <n>, iterations, <id>, tasks */
	size_t ends[4], starts[4];
	size_t e = len;
	for (int i = 0; i < 4; i++) {
		size_t s = e;
		while (s > 0 && dir[s - 1] != '/')
			s--;
		if (s == 0 || s == e)
			return 0;
		starts[i] = s;
		ends[i] = e;
		e = s - 1;
		while (e > 0 && dir[e - 1] == '/')
			e--;
	}
	if (!all_digits(dir + starts[0], ends[0] - starts[0]) || ends[1] - starts[1] != 10 ||
	    memcmp(dir + starts[1], "iterations", 10) ||
	    !all_digits(dir + starts[2], ends[2] - starts[2]) || ends[3] - starts[3] != 5 ||
	    memcmp(dir + starts[3], "tasks", 5))
		return 0;
	return starts[2];
}

int iterfile_open_dir(const char *dir, struct rv_error **err)
{
	size_t own = owned_start(dir);
	if (own == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == ELOOP || e == ENOTDIR)
				return rv_error_set(err, ELOOP,
						    "'%s' is not a directory (a symbolic link?); "
						    "not followed",
						    dir);
			return rv_error_errno(err, e, "cannot open the iteration directory '%s'",
					      dir);
		}
		return fd;
	}
	/* The store up to tasks/ is the user's (it may be a symlink on
	 * purpose); <id>/iterations/<n> are rover's and must be real. */
	_cleanup_free_ char *base = xstrndup(dir, own);
	_cleanup_close_ int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", base);
	_cleanup_free_ char *rest = xstrdup(dir + own);
	char *save = NULL;
	for (char *c = strtok_r(rest, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno;
			if (e == ELOOP || e == ENOTDIR)
				return rv_error_set(
					err, ELOOP,
					"'%s': '%s' is not a real directory (a symbolic "
					"link?); not followed",
					dir, c);
			return rv_error_errno(err, e, "cannot open the iteration directory '%s'",
					      dir);
		}
		close(fd);
		fd = next;
	}
	return TAKE_FD(fd);
}

/* Split path into its directory's fd and its last component. */
static int open_parent(const char *path, const char **ret_name, struct rv_error **err)
{
	const char *slash = strrchr(path, '/');
	/* Set on every path, so no caller can see it unset. */
	*ret_name = slash ? slash + 1 : path;
	if (!slash || !slash[1])
		return rv_error_set(err, EINVAL, "'%s' is not a file in an iteration directory",
				    path);
	_cleanup_free_ char *dir =
		slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	int fd = iterfile_open_dir(dir, err);
	return fd;
}

static int refuse(const char *path, mode_t m, struct rv_error **err)
{
	if (S_ISLNK(m))
		return rv_error_set(
			err, ELOOP,
			"'%s' is a symbolic link, not a file rover or its runner wrote; "
			"not followed",
			path);
	return rv_error_set(err, EINVAL, "'%s' is %s, not a regular file; ignored", path,
			    mode_kind(m));
}

static int open_read_at(int dfd, const char *name, const char *path, struct stat *ret_st,
			struct rv_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return rv_error_set(err, ENOENT, "'%s' does not exist", path);
		return rv_error_errno(err, errno, "cannot stat '%s'", path);
	}
	if (!S_ISREG(st.st_mode))
		return refuse(path, st.st_mode, err);
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return rv_error_set(err, ENOENT, "'%s' does not exist", path);
		if (e == ELOOP)
			return refuse(path, S_IFLNK, err);
		return rv_error_errno(err, e, "cannot open '%s'", path);
	}
	struct stat st2;
	if (fstat(fd, &st2) < 0) {
		int e = errno;
		close(fd);
		return rv_error_errno(err, e, "cannot stat '%s'", path);
	}
	if (!S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
		close(fd);
		/* Swapped between the two looks: someone is racing us. */
		return refuse(path, S_ISREG(st2.st_mode) ? S_IFIFO : st2.st_mode, err);
	}
	if (ret_st)
		*ret_st = st2;
	return fd;
}

int iterfile_open_read(const char *path, struct stat *ret_st, struct rv_error **err)
{
	const char *name = NULL;
	int r = open_parent(path, &name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = r;
	return open_read_at(dfd, name, path, ret_st, err);
}

int iterfile_read(const char *path, size_t max, char **ret_buf, size_t *ret_len,
		  struct rv_error **err)
{
	struct stat st;
	int r = iterfile_open_read(path, &st, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = r;
	if ((uint64_t)st.st_size > max)
		return rv_error_set(err, EFBIG, "'%s' is larger than %zu bytes; ignored", path,
				    max);
	return fileio_read_fd(fd, path, max, (size_t)st.st_size + 1, ret_buf, ret_len, err);
}

int iterfile_read_json(const char *path, struct json_object **ret, struct rv_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = iterfile_read(path, ITERFILE_JSON_MAX, &buf, &len, err);
	if (r < 0)
		return r;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!obj || je != json_tokener_success) {
		json_object_put(obj);
		return rv_error_set(err, EBADMSG, "'%s' is not valid JSON", path);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return rv_error_set(err, EBADMSG, "'%s' is not a JSON object", path);
	}
	*ret = obj;
	return 0;
}

bool iterfile_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *iterfile_kind(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return "nothing";
	return mode_kind(st.st_mode);
}

/* Remove name in dfd whatever it is, never following it. */
static int remove_at(int dfd, const char *name, const char *path, struct rv_error **err)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return rv_error_errno(err, errno, "cannot remove '%s'", path);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return rv_error_errno(err, errno, "cannot remove the directory '%s'", path);
	/* Walking a tree the container may still be changing is how links
	 * get followed: move it out of the way instead (it stays in the
	 * iteration directory, which is deleted with the task). */
	_cleanup_free_ char *aside =
		xasprintf(".%s.planted-%lld", name, (long long)timeutil_now_ms());
	if (renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE) < 0 && errno != ENOENT)
		return rv_error_errno(err, errno, "cannot move the directory '%s' aside", path);
	return 0;
}

int iterfile_remove(const char *path, struct rv_error **err)
{
	const char *name = NULL;
	int r = open_parent(path, &name, err);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	_cleanup_close_ int dfd = r;
	return remove_at(dfd, name, path, err);
}

static int clear_planted_at(int dfd, const char *name, const char *path, struct rv_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_error_errno(err, errno, "cannot stat '%s'", path);
	}
	if (S_ISREG(st.st_mode))
		return 0;
	int r = remove_at(dfd, name, path, err);
	return r < 0 ? r : 1;
}

int iterfile_clear_planted(const char *path, struct rv_error **err)
{
	const char *name = NULL;
	int r = open_parent(path, &name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = r;
	return clear_planted_at(dfd, name, path, err);
}

int iterfile_open_append(const char *path, struct rv_error **err)
{
	const char *name = NULL;
	int r = open_parent(path, &name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = r;
	/* Twice at most: something planted again between removal and open is
	 * a container racing us, and is refused. */
	for (int attempt = 0; attempt < 2; attempt++) {
		r = clear_planted_at(dfd, name, path, err);
		if (r < 0)
			return r;
		int fd = openat(dfd, name,
				O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
					O_CLOEXEC,
				0644);
		if (fd < 0) {
			if (errno == ELOOP || errno == ENXIO || errno == EISDIR)
				continue;
			return rv_error_errno(err, errno, "cannot open '%s'", path);
		}
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return fd;
		close(fd);
	}
	return rv_error_set(err, EINVAL,
			    "'%s' keeps being replaced by something that is not a regular file; "
			    "not written",
			    path);
}

int iterfile_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			  struct rv_error **err)
{
	const char *name = NULL;
	int r = open_parent(path, &name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = r;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		r = remove_at(dfd, name, path, err);
		if (r < 0)
			return r;
	}
	return fileio_write_atomic(path, buf, len, mode, err);
}

int iterfile_rename(const char *from, const char *to, bool noreplace, struct rv_error **err)
{
	const char *name = NULL;
	int r = open_parent(from, &name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = r;
	const char *to_name = strrchr(to, '/');
	to_name = to_name ? to_name + 1 : to;
	if (renameat2(dfd, name, dfd, to_name, noreplace ? RENAME_NOREPLACE : 0) < 0) {
		int e = errno;
		if (e == ENOENT)
			return -ENOENT; /* the caller decides whether that matters */
		return rv_error_errno(err, e, "cannot rename '%s' to '%s'", from, to_name);
	}
	return 0;
}
