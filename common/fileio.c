#define _GNU_SOURCE
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "strbuf.h"

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

/* How durable write_atomic makes a file: not at all, its data only (the
 * caller fsyncs the directory), or data and name. */
enum durability { VOLATILE, DATA_ONLY, DURABLE };

static int write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			enum durability durable, struct rv_error **err)
{
	_cleanup_free_ char *dir = fileio_dirname(path);
	_cleanup_free_ char *base = base_name(path);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp-XXXXXX", dir, base);
	int r;

	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot create a temporary file beside '%s'",
				      path);
	if (fchmod(fd, mode) < 0) {
		r = rv_error_errno(err, errno, "cannot set the mode of '%s'", tmp);
		goto out_close_unlink;
	}
	r = fileio_write_all(fd, buf, len);
	if (r < 0) {
		r = rv_error_errno(err, -r, "cannot write '%s'", path);
		goto out_close_unlink;
	}
	if (durable != VOLATILE && fsync(fd) < 0) {
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
	if (durable != DURABLE)
		return 0;
	/* The new name is only durable once the directory entry is. */
	r = fileio_fsync_dir(dir, err);
	return r < 0 ? r : 0;

out_close_unlink:
	close(fd);
out_unlink:
	unlink(tmp);
	return r;
}

int fileio_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
			struct rv_error **err)
{
	return write_atomic(path, buf, len, mode, DURABLE, err);
}

int fileio_write_atomic_volatile(const char *path, const void *buf, size_t len, mode_t mode,
				 struct rv_error **err)
{
	return write_atomic(path, buf, len, mode, VOLATILE, err);
}

int fileio_write_atomic_dir_later(const char *path, const void *buf, size_t len, mode_t mode,
				  struct rv_error **err)
{
	return write_atomic(path, buf, len, mode, DATA_ONLY, err);
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
	/* Room for the whole file at once (one read, and the one at its end),
	 * when it is a sane size. */
	size_t first = 4096;
	if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < max)
		first = (size_t)st.st_size + 1;
	return fileio_read_fd(fd, path, max, first, ret_buf, ret_len, err);
}

int fileio_read_fd(int fd, const char *path, size_t max, size_t first_cap, char **ret_buf,
		   size_t *ret_len, struct rv_error **err)
{
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	strbuf_grow(&b, first_cap ? first_cap : 4096);
	for (;;) {
		if (strbuf_avail(&b) == 0) {
			if (b.len > max)
				return rv_error_set(err, EFBIG, "'%s' is larger than %zu bytes",
						    path, max);
			strbuf_grow(&b, b.len);
		}
		ssize_t n = read(fd, b.buf + b.len, strbuf_avail(&b));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rv_error_errno(err, errno, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		strbuf_setlen(&b, b.len + (size_t)n);
		if (b.len > max)
			return rv_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
	}
	*ret_buf = strbuf_detach(&b, ret_len);
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

/* One component: not empty, no '/', not "." or "..". */
static bool is_component(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int remove_at(int parent_fd, const char *name, const char *shown, int depth,
		     struct rv_error **err)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_error_errno(err, errno, "cannot stat '%s'", shown);
	}
	if (!S_ISDIR(st.st_mode)) {
		/* A symlink is removed itself; its target is never looked at. */
		if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
			return rv_error_errno(err, errno, "cannot remove '%s'", shown);
		return 0;
	}
	if (depth > 4096)
		return rv_error_set(err, ELOOP, "'%s' is nested too deeply to remove", shown);
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* ELOOP/ENOTDIR: replaced by a symlink or a file since the
		 * fstatat; not ours to follow. */
		return rv_error_errno(err, errno, "cannot open '%s'", shown);
	}
	struct stat fst;
	if (fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		close(fd);
		return rv_error_set(err, EBUSY,
				    "'%s' changed while it was being removed; try again", shown);
	}
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
		r = remove_at(dirfd(d), de->d_name, child, depth + 1, err);
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

int fileio_remove_tree_at(int dirfd, const char *name, const char *shown, struct rv_error **err)
{
	if (!is_component(name))
		return rv_error_set(err, EINVAL, "refusing to remove '%s': not a single name",
				    shown ? shown : "");
	return remove_at(dirfd, name, shown ? shown : name, 0, err);
}

int fileio_remove_tree(const char *path, struct rv_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *slash = strrchr(copy, '/');
	const char *name = slash ? slash + 1 : copy;
	_cleanup_free_ char *parent =
		slash ? xstrndup(copy, slash == copy ? 1 : (size_t)(slash - copy)) : xstrdup(".");
	if (!is_component(name))
		return rv_error_set(err, EINVAL, "refusing to remove '%s'", path);
	_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_error_errno(err, errno, "cannot open '%s'", parent);
	}
	return remove_at(pfd, name, path, 0, err);
}

int fileio_open_dir_beneath(int dirfd, const char *rel)
{
	if (!rel || !*rel || rel[0] == '/')
		return -EINVAL;
	_cleanup_free_ char *copy = xstrdup(rel);
	int fd = -1;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!is_component(c)) {
			if (fd >= 0)
				close(fd);
			return -EINVAL;
		}
		int at = fd >= 0 ? fd : dirfd;
		int next = openat(at, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		int e = errno;
		/* Linux says ENOTDIR for a symlink under O_DIRECTORY|O_NOFOLLOW:
		 * tell the two apart for the caller's message. */
		struct stat st;
		if (next < 0 && e == ENOTDIR && fstatat(at, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		if (fd >= 0)
			close(fd);
		if (next < 0)
			return -e;
		fd = next;
	}
	return fd < 0 ? -EINVAL : fd;
}

static int copy_file_at(int sfd, int dfd, const char *name, mode_t mode, const char *shown,
			struct rv_error **err)
{
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (in < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", shown);
	_cleanup_close_ int out = openat(
		dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
	if (out < 0)
		return rv_error_errno(err, errno, "cannot create a copy of '%s'", shown);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rv_error_errno(err, errno, "cannot read '%s'", shown);
		}
		if (n == 0)
			break;
		int r = fileio_write_all(out, buf, (size_t)n);
		if (r < 0)
			return rv_error_errno(err, -r, "cannot write a copy of '%s'", shown);
	}
	if (fsync(out) < 0)
		return rv_error_errno(err, errno, "cannot fsync a copy of '%s'", shown);
	if (close(TAKE_FD(out)) < 0)
		return rv_error_errno(err, errno, "cannot close a copy of '%s'", shown);
	return 0;
}

static int copy_dir_at(int sfd, int dfd, const char *shown, int depth, struct rv_error **err)
{
	if (depth > 4096)
		return rv_error_set(err, ELOOP, "'%s' is nested too deeply to copy", shown);
	int fd = dup(sfd);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot read '%s'", shown);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return rv_error_errno(err, errno, "cannot read '%s'", shown);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = fileio_join(shown, de->d_name);
		struct stat st;
		if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = rv_error_errno(err, errno, "cannot stat '%s'", child);
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, de->d_name, st.st_mode & 07777) < 0) {
				r = rv_error_errno(err, errno, "cannot create a copy of '%s'",
						   child);
				continue;
			}
			_cleanup_close_ int s2 = openat(
				sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			_cleanup_close_ int d2 = openat(
				dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (s2 < 0 || d2 < 0)
				r = rv_error_errno(err, errno, "cannot open '%s'", child);
			else
				r = copy_dir_at(s2, d2, child, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file_at(sfd, dfd, de->d_name, st.st_mode, child, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(sfd, de->d_name, target, sizeof(target) - 1);
			if (n < 0) {
				r = rv_error_errno(err, errno, "cannot read the symlink '%s'",
						   child);
				continue;
			}
			target[n] = '\0';
			if (symlinkat(target, dfd, de->d_name) < 0)
				r = rv_error_errno(err, errno, "cannot copy the symlink '%s'",
						   child);
		}
		/* sockets, fifos, devices: nothing rover keeps; skipped */
	}
	closedir(d);
	return r;
}

int fileio_copy_tree(const char *from, const char *to, struct rv_error **err)
{
	_cleanup_close_ int sfd = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sfd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", from);
	struct stat st;
	if (fstat(sfd, &st) < 0)
		return rv_error_errno(err, errno, "cannot stat '%s'", from);
	if (mkdir(to, st.st_mode & 07777) < 0)
		return rv_error_errno(err, errno, "cannot create '%s'", to);
	_cleanup_close_ int dfd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	int r = dfd < 0 ? rv_error_errno(err, errno, "cannot open '%s'", to)
			: copy_dir_at(sfd, dfd, from, 0, err);
	if (r < 0)
		fileio_remove_tree(to, NULL);
	else if (fsync(dfd) < 0)
		r = rv_error_errno(err, errno, "cannot fsync '%s'", to);
	return r;
}

int fileio_copy(const char *from, const char *to, size_t max, mode_t mode, struct rv_error **err)
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
