#define _GNU_SOURCE
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"

struct lock {
	char *path;
	char *dir;
	char *content;
};

/* What a lock file says. */
struct lock_content {
	bool parsed; /* a PID > 0 on the first line */
	pid_t pid;
	bool has_ts;
	int64_t ts_ms;
	bool has_start;
	uint64_t start;
	char host[256];
	char boot[40];
};

/* Who we are, for judging. */
struct self {
	char host[256];
	char boot[40];
};

/* Read once per process: the boot id cannot change while we run, and the
 * host name is what this process writes into its own locks, so judging by the
 * one it started with keeps the two consistent.  A listing of 1,000 running
 * tasks then costs no uname(2) and no /proc read per task. */
static struct self self_cached;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_read(void)
{
	if (gethostname(self_cached.host, sizeof(self_cached.host) - 1) < 0)
		self_cached.host[0] = '\0';
	if (!proc_boot_id(self_cached.boot, sizeof(self_cached.boot)))
		self_cached.boot[0] = '\0';
}

static void self_init(struct self *s)
{
	pthread_once(&self_once, self_read);
	*s = self_cached;
}

static bool parse_u64(const char *s, size_t len, uint64_t *ret)
{
	if (len == 0 || len > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static void copy_value(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* First line "<pid>[:<ms>]", then key=value lines; unknown keys are skipped. */
static void parse_content(const char *buf, size_t len, struct lock_content *c)
{
	memset(c, 0, sizeof(*c));
	const char *end = buf + len;
	const char *nl = memchr(buf, '\n', len);
	const char *line_end = nl ? nl : end;
	const char *colon = memchr(buf, ':', (size_t)(line_end - buf));
	const char *pid_end = colon ? colon : line_end;
	uint64_t v = 0;
	if (parse_u64(buf, (size_t)(pid_end - buf), &v) && v > 0 && v <= INT_MAX) {
		c->parsed = true;
		c->pid = (pid_t)v;
	}
	if (colon && parse_u64(colon + 1, (size_t)(line_end - colon - 1), &v) && v <= INT64_MAX) {
		c->has_ts = true; /* anything else is "absent", as rover reads it */
		c->ts_ms = (int64_t)v;
	}
	for (const char *p = nl ? nl + 1 : end; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		size_t n = (size_t)(e - p);
		if (n > 5 && !memcmp(p, "host=", 5))
			copy_value(c->host, sizeof(c->host), p + 5, n - 5);
		else if (n > 5 && !memcmp(p, "boot=", 5))
			copy_value(c->boot, sizeof(c->boot), p + 5, n - 5);
		else if (n > 6 && !memcmp(p, "start=", 6))
			c->has_start = parse_u64(p + 6, n - 6, &c->start);
		p = e + 1;
	}
}

static enum lock_state judge(const struct lock_content *c, int64_t mtime_ms, int64_t now_ms,
			     const struct self *self, int64_t *ret_since)
{
	if (!c->parsed) {
		*ret_since = mtime_ms;
		int64_t age = now_ms - mtime_ms;
		return age < LOCK_GARBAGE_GRACE_MS && age > -LOCK_FUTURE_SKEW_MS
			       ? LOCK_HELD_UNREADABLE
			       : LOCK_STALE_UNREADABLE;
	}
	/* A bare PID (older rover) has no timestamp: its mtime is when it was
	 * written, so PID reuse cannot make such a lock live forever. */
	int64_t since = c->has_ts ? c->ts_ms : mtime_ms;
	*ret_since = since;
	int64_t age = now_ms - since;
	if (age >= LOCK_STALE_MS)
		return LOCK_STALE_AGE;
	if (age < -LOCK_FUTURE_SKEW_MS)
		return LOCK_STALE_FUTURE;
	if (c->host[0] && self->host[0] && strcmp(c->host, self->host))
		return LOCK_HELD_OTHER_HOST; /* its PID means nothing here */
	if (c->boot[0] && self->boot[0] && strcmp(c->boot, self->boot))
		return LOCK_STALE_OTHER_BOOT;
	if (!proc_is_alive(c->pid))
		return LOCK_STALE_DEAD;
	if (c->has_start) {
		uint64_t start = 0;
		if (!proc_start_time(c->pid, &start))
			return LOCK_STALE_DEAD; /* exited between the two checks */
		if (start != c->start)
			return LOCK_STALE_REUSED;
	}
	return LOCK_HELD;
}

static bool state_held(enum lock_state s)
{
	return s == LOCK_HELD || s == LOCK_HELD_OTHER_HOST || s == LOCK_HELD_UNREADABLE;
}

const char *lock_state_describe(enum lock_state s)
{
	switch (s) {
	case LOCK_ABSENT:
		return "not locked";
	case LOCK_HELD:
		return "held";
	case LOCK_HELD_OTHER_HOST:
		return "held by another host";
	case LOCK_HELD_UNREADABLE:
		return "being written";
	case LOCK_STALE_DEAD:
		return "stale: the holder is gone";
	case LOCK_STALE_REUSED:
		return "stale: the holder's PID now belongs to another process";
	case LOCK_STALE_OTHER_BOOT:
		return "stale: written before the last reboot";
	case LOCK_STALE_AGE:
		return "stale: older than 30 minutes";
	case LOCK_STALE_FUTURE:
		return "stale: its timestamp is in the future";
	case LOCK_STALE_UNREADABLE:
		return "stale: unreadable";
	case LOCK_STALE_NOT_FILE:
		return "stale: not a regular file (planted by the container?)";
	}
	return "unknown";
}

/* Read the lock file: 0, -ENOENT, -ELOOP/-EINVAL (something planted that is
 * not a regular file: iterfile.h), or -errno.  *ret_buf is NUL-terminated.
 * Never blocks: a FIFO at the name is refused before it is opened. */
static int read_lock(const char *path, char *buf, size_t cap, size_t *ret_len,
		     int64_t *ret_mtime_ms)
{
	struct stat st;
	int r = iterfile_open_read(path, &st, NULL);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = r;
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_len = len;
	*ret_mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return 0;
}

static void fill_info(const struct lock_content *c, enum lock_state state, int64_t since,
		      int64_t now, struct lock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = state;
	info->held = state_held(state);
	info->pid = c->parsed ? c->pid : 0;
	info->since_ms = since;
	info->age_ms = now - since;
	snprintf(info->host, sizeof(info->host), "%s", c->host);
}

/* Judge the file at path.  -ENOENT when there is none. */
/* Who this process is (host, boot, process start) is looked up only once
 * a lock file is there to judge: most iterations have none, and a
 * read-only `rover inspect` or `list` need not pay for uname and the boot
 * id then. */
static int inspect_path(const char *path, struct lock_info *info, struct rv_error **err)
{
	char buf[LOCK_MAX_BYTES + 1];
	size_t len = 0;
	int64_t mtime = 0;
	int r = read_lock(path, buf, sizeof(buf), &len, &mtime);
	if (r == -ENOENT)
		return r;
	if (iterfile_planted(r)) {
		/* A symlink (dangling or not), FIFO, socket or directory: no rover
		 * ever made it, so it cannot hold the lock; it is reclaimed. */
		struct lock_content none;
		memset(&none, 0, sizeof(none));
		int64_t now = timeutil_now_ms();
		fill_info(&none, LOCK_STALE_NOT_FILE, now, now, info);
		return 0;
	}
	if (r < 0)
		return rv_error_errno(err, -r, "cannot read the resume lock '%s'", path);
	struct lock_content c;
	parse_content(buf, len, &c);
	struct self self;
	self_init(&self);
	int64_t now = timeutil_now_ms(), since = 0;
	enum lock_state st = judge(&c, mtime, now, &self, &since);
	fill_info(&c, st, since, now, info);
	return 0;
}

int lock_inspect(const char *iter_dir, struct lock_info *ret, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(iter_dir, LOCK_FILE_NAME);
	struct lock_info info;
	int r = inspect_path(path, &info, err);
	if (r == -ENOENT) {
		memset(ret, 0, sizeof(*ret));
		ret->state = LOCK_ABSENT;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = info;
	return 0;
}

static int busy(const struct lock_info *info, const char *path, struct rv_error **err)
{
	char hhmm[8];
	if (info->state == LOCK_HELD_UNREADABLE)
		return rv_error_set(err, EBUSY,
				    "already being resumed: the lock '%s' is being written", path);
	timeutil_format_hhmm(info->since_ms, hhmm);
	if (info->state == LOCK_HELD_OTHER_HOST)
		return rv_error_set(err, EBUSY,
				    "already being resumed by process %d on host %s (since %s)",
				    (int)info->pid, info->host, hhmm);
	return rv_error_set(err, EBUSY, "already being resumed by process %d (since %s)",
			    (int)info->pid, hhmm);
}

/* Serialise every acquire and release of one iteration: the kernel drops the
 * flock when its holder dies, so it can never go stale itself. */
static int lock_dir(const char *dir, struct rv_error **err)
{
	int fd = iterfile_open_dir(dir, err);
	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return rv_error_errno(err, e, "cannot lock directory '%s'", dir);
		}
	}
	return fd;
}

static char *make_content(const struct self *self)
{
	pid_t pid = getpid();
	uint64_t start = 0;
	char host_line[300] = "", start_line[40] = "", boot_line[48] = "";
	if (self->host[0])
		snprintf(host_line, sizeof(host_line), "host=%s\n", self->host);
	if (proc_start_time(pid, &start))
		snprintf(start_line, sizeof(start_line), "start=%" PRIu64 "\n", start);
	if (self->boot[0])
		snprintf(boot_line, sizeof(boot_line), "boot=%s\n", self->boot);
	return xasprintf("%d:%lld\n%s%s%s", (int)pid, (long long)timeutil_now_ms(), host_line,
			 start_line, boot_line);
}

/* Publish tmp as path without ever replacing an existing file. */
static int publish(const char *tmp, const char *path)
{
	if (link(tmp, path) == 0)
		return 0;
	int e = errno;
	if (e != EPERM && e != EOPNOTSUPP && e != ENOSYS)
		return -e;
	/* A file system without hard links: an exclusive rename does the same. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	return -errno;
}

int lock_acquire(const char *iter_dir, struct lock **ret_lock, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(iter_dir, LOCK_FILE_NAME);
	struct self self;
	self_init(&self);
	int r = lock_dir(iter_dir, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = r;
	/* Stamped under the flock, so a wait for it does not age the lock. */
	_cleanup_free_ char *text = make_content(&self);

	_cleanup_free_ char *tmp = xasprintf("%s/%s.tmp-XXXXXX", iter_dir, LOCK_FILE_NAME);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot create a temporary file beside '%s'",
				      path);
	/* No fsync: the lock only means something while its holder lives; after
	 * a crash its boot id (or unreadable content) makes it stale anyway. */
	r = fileio_write_all(fd, text, strlen(text));
	if (r >= 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return rv_error_errno(err, -r, "cannot write '%s'", tmp);
	}

	for (int attempt = 0;; attempt++) {
		r = publish(tmp, path);
		if (r == 0)
			break;
		if (r != -EEXIST || attempt > 0) {
			unlink(tmp);
			if (r == -EEXIST) /* re-created by a writer that ignores our flock */
				return rv_error_set(err, EBUSY,
						    "already being resumed: '%s' was just taken",
						    path);
			return rv_error_errno(err, -r, "cannot create the resume lock '%s'", path);
		}
		struct lock_info info;
		r = inspect_path(path, &info, err);
		if (r == -ENOENT)
			continue; /* released meanwhile by a writer without flock */
		if (r < 0) {
			unlink(tmp);
			return r;
		}
		if (info.held) {
			unlink(tmp);
			return busy(&info, path, err);
		}
		/* Stale, and nobody else can act on it while we hold the flock.
		 * unlinkat never follows: a planted symlink goes, not its target. */
		_cleanup_error_ struct rv_error *rerr = NULL;
		r = iterfile_remove(path, &rerr);
		if (r < 0) {
			unlink(tmp);
			return rv_error_errno(err, -r,
					      "cannot remove the stale resume lock '%s': %s", path,
					      rv_error_msg(rerr));
		}
	}
	unlink(tmp);

	struct lock *l = xcalloc(1, sizeof(*l));
	l->path = TAKE_PTR(path);
	l->dir = xstrdup(iter_dir);
	l->content = TAKE_PTR(text);
	*ret_lock = l;
	return 0;
}

static void lock_free(struct lock *l)
{
	free(l->path);
	free(l->dir);
	free(l->content);
	free(l);
}

int lock_drop(struct lock *l, struct rv_error **err)
{
	if (!l)
		return 0;
	_cleanup_error_ struct rv_error *derr = NULL;
	int r = lock_dir(l->dir, &derr);
	if (r < 0) {
		/* The directory is gone (task deleted): so is the lock. */
		if (r != -ENOENT && err) {
			rv_error_free(*err);
			*err = TAKE_PTR(derr);
		}
		lock_free(l);
		return r == -ENOENT ? 0 : r;
	}
	_cleanup_close_ int dfd = r;
	char buf[LOCK_MAX_BYTES + 1];
	size_t len = 0;
	int64_t mtime = 0;
	r = read_lock(l->path, buf, sizeof(buf), &len, &mtime);
	if (r == -ENOENT || iterfile_planted(r)) {
		/* Ours is gone; what the container put there instead is a stale
		 * lock for the next acquire to reclaim (never followed). */
		r = 0;
	} else if (r < 0) {
		r = rv_error_errno(err, -r, "cannot read the resume lock '%s'", l->path);
	} else if (len == strlen(l->content) && !memcmp(buf, l->content, len)) {
		if (unlink(l->path) < 0 && errno != ENOENT)
			r = rv_error_errno(err, errno, "cannot remove the resume lock '%s'",
					   l->path);
	} else {
		struct lock_content c;
		parse_content(buf, len, &c);
		r = rv_error_set(err, ESTALE,
				 "the resume lock '%s' was taken over by process %d; left in place",
				 l->path, c.parsed ? (int)c.pid : 0);
	}
	lock_free(l);
	return r;
}
