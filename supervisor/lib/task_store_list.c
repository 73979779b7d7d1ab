/*
 * task_store_list.c - reading the store whole: the task ids in tasks/ (and
 * the sweep of what an interrupted delete or creation left there), and the
 * listing of every record, split over threads for a large store, or served
 * by the in-memory model (task_live.h) when one is attached.  The record
 * writes (create, save, update, delete) are in task_store.c; both follow
 * task_store.h.
 */
#define _GNU_SOURCE
#include "task_store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "supervisor/lib/task_live.h"
#include "supervisor/lib/task_store_internal.h"

/* Listing: stores this big are split over this many threads at most. */
#define TASK_STORE_PARALLEL_MIN 512
#define TASK_STORE_MAX_WORKERS 4

/* ".deleted-<id>-<pid>-<mono ms>" left by a delete that did not finish, or
 * ".new-0-<pid>-<mono ms>" by a creation that did not:
 * true when its process is gone, or it is older than the stale limit. */
static bool deleted_abandoned(const char *name, int64_t now_mono)
{
	long long id = 0, pid = 0, ms = 0;
	const char *rest = strchr(name + 1, '-'); /* ".deleted-" or ".new-" */
	if (!rest || sscanf(rest, "-%lld-%lld-%lld", &id, &pid, &ms) != 3 || pid <= 0)
		return true; /* not ours to wait for */
	if (now_mono - ms > TASK_STORE_DELETED_STALE_MS || now_mono < ms)
		return true;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void sweep_deleted(int dfd, const char *tasks_dir, char **names, size_t n)
{
	int64_t now = timeutil_mono_ms();
	for (size_t i = 0; i < n; i++)
		if (deleted_abandoned(names[i], now)) {
			_cleanup_free_ char *shown = fileio_join(tasks_dir, names[i]);
			(void)fileio_remove_tree_at(dfd, names[i], shown, NULL);
		}
}

/* ---- list -------------------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Per-thread state of a listing, reused from task to task: the read buffer,
 * the path buffer and the JSON tokener (allocating a tokener per file costs as
 * much as parsing the file). */
struct reader {
	struct strbuf buf;
	char *path;
	size_t path_cap;
	struct json_tokener *tok;
};

/* open, read, close: the three syscalls a listing needs per task.  A read that
 * returns less than asked is the end of a regular file on Linux; rover never
 * appends to description.json (it is replaced by rename), so no fstat or
 * extra read(0) is spent confirming it. */
static int read_one(int dfd, const char *rel, struct reader *rd, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct strbuf *b = &rd->buf;
	strbuf_reset(b);
	for (;;) {
		if (strbuf_avail(b) == 0) {
			if (b->len > TASK_MAX_FILE_BYTES)
				return -EFBIG;
			strbuf_grow(b, b->len);
		}
		size_t want = strbuf_avail(b);
		ssize_t n = read(fd, b->buf + b->len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		strbuf_setlen(b, b->len + (size_t)n);
		if ((size_t)n < want)
			break;
	}
	*ret_len = b->len;
	return 0;
}

/* Read and parse one task into *ent.  false: nothing to list (the task
 * vanished, or is being created right now). */
static bool list_one(int dfd, int64_t id, const char *tasks_dir, struct reader *rd, int64_t now_ms,
		     struct task_list_entry *ent)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "%lld/%s", (long long)id, TASK_DESCRIPTION_FILE);
	*ent = (struct task_list_entry){.id = id};
	size_t len = 0;
	int r = read_one(dfd, rel, rd, &len);
	if (r == -ENOENT) {
		struct stat st;
		char name[32];
		snprintf(name, sizeof(name), "%lld", (long long)id);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return false; /* deleted meanwhile */
		int64_t age =
			now_ms - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
		if (age >= 0 && age < TASK_STORE_CREATE_GRACE_MS)
			return false; /* being created */
		rv_error_set(&ent->err, ENOENT, "task %lld is broken: '%s/%s' does not exist",
			     (long long)id, tasks_dir, rel);
		return true;
	}
	snprintf(rd->path, rd->path_cap, "%s/%s", tasks_dir, rel);
	const char *path = rd->path;
	if (r == -EFBIG) {
		rv_error_set(&ent->err, EFBIG, "'%s' is larger than %u bytes", path,
			     TASK_MAX_FILE_BYTES);
		return true;
	}
	if (r < 0) {
		rv_error_errno(&ent->err, -r, "cannot read '%s'", path);
		return true;
	}
	json_tokener_reset(rd->tok);
	struct json_object *obj = json_tokener_parse_ex(rd->tok, rd->buf.buf, (int)len);
	bool ok = obj && json_tokener_get_error(rd->tok) == json_tokener_success;
	for (size_t i = ok ? json_tokener_get_parse_end(rd->tok) : len; i < len; i++)
		if (!isspace((unsigned char)rd->buf.buf[i]))
			ok = false;
	if (ok) {
		r = task_from_json(obj, id, path, &ent->task, NULL, &ent->err);
	} else {
		/* The slow path only words the error as every other reader does. */
		json_object_put(obj);
		r = task_parse(rd->buf.buf, len, id, path, &ent->task, NULL, &ent->err);
	}
	if (r < 0)
		ent->task = NULL;
	return true;
}

/* One slice of the ids, listed into out[0..]; *ret_n entries are filled. */
struct list_job {
	int dfd;
	const char *tasks_dir;
	const int64_t *ids;
	size_t n;
	int64_t now_ms;
	struct task_list_entry *out;
	size_t out_n;
	pthread_t thread;
	bool started;
};

static void *list_slice(void *arg)
{
	struct list_job *job = arg;
	struct reader rd = {.buf = STRBUF_INIT, .path_cap = strlen(job->tasks_dir) + 64};
	strbuf_grow(&rd.buf, 16384);
	rd.path = xmalloc(rd.path_cap);
	rd.tok = json_tokener_new();
	if (!rd.tok)
		abort(); /* out of memory, as xmalloc would */
	job->out_n = 0;
	for (size_t i = 0; i < job->n; i++)
		if (list_one(job->dfd, job->ids[i], job->tasks_dir, &rd, job->now_ms,
			     &job->out[job->out_n]))
			job->out_n++;
	json_tokener_free(rd.tok);
	free(rd.path);
	strbuf_release(&rd.buf);
	return NULL;
}

/* Parsing JSON is most of a listing's time (json-c builds a hash table per
 * object; about 4-6 us per 1 KiB task here, more than the open/read/close),
 * and it is independent per task: big stores are split over a few threads,
 * each with its own slice of the output.  Measured on this 2-CPU VM, 10,000
 * tasks of 1 KiB: 118 ms with one thread, 72 ms with two (median of 21). */
static size_t list_workers(size_t n)
{
	if (n < TASK_STORE_PARALLEL_MIN)
		return 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	if (cpus > TASK_STORE_MAX_WORKERS)
		cpus = TASK_STORE_MAX_WORKERS;
	return (size_t)cpus;
}

static int64_t *collect_ids(const struct task_store *s, bool sweep, size_t *ret_n)
{
	size_t n = 0, cap = 256, n_gone = 0;
	int64_t *ids = xmalloc(cap * sizeof(*ids));
	char **gone = NULL;
	DIR *d = opendir(s->tasks_dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		int64_t id;
		if (!task_store_parse_dir_name(de->d_name, &id)) {
			if (sweep && (!strncmp(de->d_name, ".deleted-", 9) ||
				      !strncmp(de->d_name, ".new-", 5))) {
				gone = xrealloc(gone, (n_gone + 1) * sizeof(*gone));
				gone[n_gone++] = xstrdup(de->d_name);
			}
			continue;
		}
		if (n == cap)
			ids = xrealloc(ids, (cap *= 2) * sizeof(*ids));
		ids[n++] = id;
	}
	if (n_gone)
		sweep_deleted(dirfd(d), s->tasks_dir, gone, n_gone);
	for (size_t i = 0; i < n_gone; i++)
		free(gone[i]);
	free(gone);
	if (d)
		closedir(d);
	qsort(ids, n, sizeof(*ids), cmp_id);
	*ret_n = n;
	return ids;
}

int64_t *task_store_ids(const struct task_store *s, size_t *ret_n)
{
	return collect_ids(s, false, ret_n);
}

int64_t *task_store_ids_sweep(const struct task_store *s, size_t *ret_n)
{
	return collect_ids(s, true, ret_n);
}

int task_store_list(const struct task_store *s, struct task_list *ret, struct rv_error **err)
{
	if (s->live)
		return task_live_list(s->live, s, ret, err);
	int dfd = -1;
	_cleanup_error_ struct rv_error *oerr = NULL;
	int r = task_store_open_tasks_dir(s, &dfd, &oerr);
	if (r == -ENOENT) {
		*ret = (struct task_list){0};
		return 0;
	}
	if (r < 0) {
		rv_error_pass(err, &oerr);
		return r;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return rv_error_errno(err, e, "cannot read '%s'", s->tasks_dir);
	}
	size_t n = 0, cap = 256;
	_cleanup_free_ int64_t *ids = xmalloc(cap * sizeof(*ids));
	char **gone = NULL;
	size_t n_gone = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		int64_t id;
		if (!task_store_parse_dir_name(de->d_name, &id)) {
			if (!strncmp(de->d_name, ".deleted-", 9) ||
			    !strncmp(de->d_name, ".new-", 5)) {
				gone = xrealloc(gone, (n_gone + 1) * sizeof(*gone));
				gone[n_gone++] = xstrdup(de->d_name);
			}
			continue;
		}
		if (n == cap) {
			cap *= 2;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = id;
	}
	int read_errno = errno;
	if (n_gone)
		sweep_deleted(dirfd(d), s->tasks_dir, gone, n_gone);
	for (size_t i = 0; i < n_gone; i++)
		free(gone[i]);
	free(gone);
	if (read_errno) {
		closedir(d);
		return rv_error_errno(err, read_errno, "cannot read '%s'", s->tasks_dir);
	}
	qsort(ids, n, sizeof(*ids), cmp_id);

	struct task_list l = {.entries = xcalloc(n ? n : 1, sizeof(*l.entries))};
	size_t nw = list_workers(n);
	struct list_job jobs[TASK_STORE_MAX_WORKERS];
	int64_t now = timeutil_now_ms();
	size_t w = 0, off = 0;
	do {
		size_t k = n / nw + (w < n % nw);
		jobs[w] = (struct list_job){.dfd = dirfd(d),
					    .tasks_dir = s->tasks_dir,
					    .ids = ids + off,
					    .n = k,
					    .now_ms = now,
					    .out = l.entries + off};
		off += k;
	} while (++w < nw);
	/* Worker 0 is this thread; a thread that cannot start runs inline. */
	for (w = 1; w < nw; w++)
		jobs[w].started = pthread_create(&jobs[w].thread, NULL, list_slice, &jobs[w]) == 0;
	list_slice(&jobs[0]);
	for (w = 1; w < nw; w++) {
		if (jobs[w].started)
			pthread_join(jobs[w].thread, NULL);
		else
			list_slice(&jobs[w]);
	}
	/* Close the gaps left by skipped tasks, keeping the order. */
	for (w = 0; w < nw; w++) {
		if (jobs[w].out != l.entries + l.n)
			memmove(l.entries + l.n, jobs[w].out, jobs[w].out_n * sizeof(*l.entries));
		l.n += jobs[w].out_n;
	}
	closedir(d);
	*ret = l;
	return 0;
}

int task_store_list_disk(const struct task_store *s, struct task_list *ret, struct rv_error **err)
{
	struct task_store plain = *s;
	plain.live = NULL;
	return task_store_list(&plain, ret, err);
}

int task_store_list_ids(const struct task_store *s, const int64_t *ids, size_t n,
			struct task_list *ret, struct rv_error **err)
{
	*ret = (struct task_list){0};
	int dfd = -1;
	_cleanup_error_ struct rv_error *oerr = NULL;
	int r = task_store_open_tasks_dir(s, &dfd, &oerr);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		rv_error_pass(err, &oerr);
		return r;
	}
	struct list_job job = {.dfd = dfd,
			       .tasks_dir = s->tasks_dir,
			       .ids = ids,
			       .n = n,
			       .now_ms = timeutil_now_ms(),
			       .out = xcalloc(n ? n : 1, sizeof(struct task_list_entry))};
	list_slice(&job);
	close(dfd);
	ret->entries = job.out;
	ret->n = job.out_n;
	return 0;
}

void task_list_release(struct task_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		task_free(l->entries[i].task);
		rv_error_free(l->entries[i].err);
	}
	free(l->entries);
	l->entries = NULL;
	l->n = 0;
}
