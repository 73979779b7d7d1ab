#define _GNU_SOURCE
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* a regular file never does this; do not spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *fileio_dirname(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	return xstrdup(dirname(copy));
}

static char *base_name(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	return xstrdup(basename(copy));
}

char *fileio_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	if (la > 0 && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

int fileio_fsync_dir(const char *dir, struct rv_error **err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0)
		return rv_error_errno(err, errno, "cannot fsync directory '%s'", dir);
	return 0;
}

int fileio_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			struct rv_error **err)
{
	_cleanup_free_ char *dir = fileio_dirname(path);
	_cleanup_free_ char *base = base_name(path);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp-XXXXXX", dir, base);
	int r;

	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot create a temporary file beside '%s'", path);
	if (fchmod(fd, mode) < 0) {
		r = rv_error_errno(err, errno, "cannot set the mode of '%s'", tmp);
		goto out_close_unlink;
	}
	r = fileio_write_all(fd, buf, len);
	if (r < 0) {
		r = rv_error_errno(err, -r, "cannot write '%s'", path);
		goto out_close_unlink;
	}
	if (fsync(fd) < 0) {
		/* Never retried: after a failed fsync the kernel may have dropped the
		 * dirty pages, so a second "successful" fsync proves nothing. */
		r = rv_error_errno(err, errno, "cannot fsync '%s'", path);
		goto out_close_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = rv_error_errno(err, errno, "cannot close '%s'", path);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = rv_error_errno(err, errno, "cannot rename '%s' into place", path);
		goto out_unlink;
	}
	/* The new name is only durable once the directory entry is. */
	r = fileio_fsync_dir(dir, err);
	return r < 0 ? r : 0;

out_close_unlink:
	close(fd);
out_unlink:
	unlink(tmp);
	return r;
}

int fileio_read_bounded(const char *path, size_t max, char **ret_buf, size_t *ret_len,
			struct rv_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return rv_error_set(err, ENOENT, "'%s' does not exist", path);
		return rv_error_errno(err, e, "cannot open '%s'", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rv_error_errno(err, errno, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return rv_error_set(err, EISDIR, "'%s' is a directory", path);

	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > max)
				return rv_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path,
						    max);
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rv_error_errno(err, errno, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return rv_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

int fileio_mkdir_p(const char *path, mode_t mode, struct rv_error **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return rv_error_errno(err, errno, "cannot create directory '%s'", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return rv_error_errno(err, errno, "cannot create directory '%s'", p);
	if (!fileio_is_dir(p))
		return rv_error_set(err, ENOTDIR, "'%s' exists and is not a directory", p);
	return 0;
}

static int remove_at(int parent_fd, const char *name, const char *shown, struct rv_error **err)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_error_errno(err, errno, "cannot stat '%s'", shown);
	}
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return rv_error_errno(err, errno, "cannot open '%s'", shown);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return rv_error_errno(err, errno, "cannot read '%s'", shown);
		}
		struct dirent *de;
		int r = 0;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			_cleanup_free_ char *child = fileio_join(shown, de->d_name);
			r = remove_at(dirfd(d), de->d_name, child, err);
			if (r < 0)
				break;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return rv_error_errno(err, errno, "cannot remove '%s'", shown);
		return 0;
	}
	if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
		return rv_error_errno(err, errno, "cannot remove '%s'", shown);
	return 0;
}

int fileio_remove_tree(const char *path, struct rv_error **err)
{
	return remove_at(AT_FDCWD, path, path, err);
}

int fileio_copy(const char *from, const char *to, size_t max, mode_t mode,
		struct rv_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fileio_read_bounded(from, max, &buf, &len, err);
	if (r < 0)
		return r;
	return fileio_write_atomic(to, buf, len, mode, err);
}

int fileio_remove_stale_temps(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	_cleanup_free_ char *prefix = xasprintf(".%s.tmp-", name);
	size_t plen = strlen(prefix);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, plen) && unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	closedir(d);
	return n;
}

bool fileio_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

bool fileio_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
