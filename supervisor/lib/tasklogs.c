#define _GNU_SOURCE
#include "tasklogs.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/logsel.h"
#include "supervisor/lib/supervise.h"
#include "supervisor/lib/watch.h"

#define LOGS_CONNECT_MS 5000L
#define LOGS_REQUEST_MS 30000L
/* Follow: the longest wait between two looks at the task when the file
 * watch says nothing (and the wait when there is no watch). */
#define LOGS_RECHECK_MS 2000
#define ID_MAX 129

/* Containers whose output was shown (or all saved): never shown again. */
struct shown {
	char **ids;
	size_t n;
};

static bool shown_has(const struct shown *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (logsel_same_container(s->ids[i], id))
			return true;
	return false;
}

static void shown_add(struct shown *s, const char *id)
{
	if (shown_has(s, id))
		return;
	s->ids = xrealloc(s->ids, (s->n + 1) * sizeof(*s->ids));
	s->ids[s->n++] = xstrdup(id);
}

static void shown_release(struct shown *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
}

/* Where output goes: the caller, or the --tail ring. */
struct sink {
	engine_log_fn fn;
	void *userdata;
	struct logsel_ring *ring;
};

static int sink_write(void *userdata, enum engine_stream stream, const char *data, size_t len,
		      struct rv_error **err)
{
	struct sink *s = userdata;
	if (s->ring) {
		logsel_ring_feed(s->ring, stream, data, len);
		return 0;
	}
	return s->fn(s->userdata, stream, data, len, err);
}

/* Counts the lines of a read without keeping them. */
static int count_write(void *userdata, enum engine_stream stream, const char *data, size_t len,
		       struct rv_error **err)
{
	(void)err;
	logsel_ring_feed(userdata, stream, data, len);
	return 0;
}

/* Where the reading of container.log stands between passes (follow reads
 * it again after every container). */
struct reader {
	off_t offset;   /* bytes consumed: shown, skipped, or handled as a frame */
	bool skip;      /* inside a container's frame that is not shown */
	bool long_line; /* inside a line longer than LOGSEL_MAX_LINE: content */
};

/* One complete line (its '\n' included, or the file's last bytes). */
static int saved_line(struct reader *rd, struct shown *shown, int64_t since_ms, const char *line,
		      size_t n, struct sink *out, bool *ret_any, struct rv_error **err)
{
	char id[ID_MAX];
	int64_t saved_ms = 0;
	bool show;
	if (logsel_parse_header(line, n, id, sizeof(id), &saved_ms)) {
		/* Saved (after it ended) before --since: every line is older. */
		rd->skip = shown_has(shown, id) ||
			   (since_ms > 0 && saved_ms > 0 && saved_ms < since_ms);
		show = !rd->skip;
	} else if (logsel_parse_trailer(line, n, id, sizeof(id))) {
		show = !rd->skip;
		shown_add(shown, id); /* whole: the engine's copy is not shown */
		rd->skip = false;
	} else {
		show = !rd->skip;
	}
	if (!show)
		return 0;
	*ret_any = true;
	return sink_write(out, ENGINE_STREAM_STDOUT, line, n, err);
}

/* One pass over what container.log gained since the last one.  A line
 * without its newline is left for the next pass unless final (it may be
 * being written).  The file is the container's to write: it is read in
 * fixed chunks, and a line longer than LOGSEL_MAX_LINE is passed on in
 * pieces as content, never held whole. */
static int saved_pass(const char *path, struct reader *rd, struct shown *shown, int64_t since_ms,
		      bool final, struct sink *out, bool *ret_any, char **ret_refused,
		      struct rv_error **err)
{
	_cleanup_error_ struct rv_error *oe = NULL;
	struct stat stb;
	int r = iterfile_open_read(path, &stb, &oe);
	if (r == -ENOENT)
		return 0;
	if (iterfile_planted(r)) {
		if (!*ret_refused)
			*ret_refused = xstrdup(rv_error_msg(oe));
		return 0;
	}
	if (r < 0) {
		*err = TAKE_PTR(oe);
		return r;
	}
	_cleanup_close_ int fd = r;
	if (stb.st_size < rd->offset)
		rd->offset = stb.st_size; /* a failed save was cut back: nothing new */
	if (lseek(fd, rd->offset, SEEK_SET) < 0)
		return rv_error_errno(err, errno, "cannot read '%s'", path);
	_cleanup_free_ char *acc = xmalloc(LOGSEL_MAX_LINE);
	size_t acc_len = 0;
	char buf[65536];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return rv_error_errno(err, errno, "cannot read '%s'", path);
		if (k == 0)
			break;
		const char *p = buf;
		size_t left = (size_t)k;
		while (left > 0) {
			const char *nl = memchr(p, '\n', left);
			size_t take = nl ? (size_t)(nl - p) + 1 : left;
			if (rd->long_line) {
				if (!rd->skip) {
					*ret_any = true;
					r = sink_write(out, ENGINE_STREAM_STDOUT, p, take, err);
					if (r < 0)
						return r;
				}
				rd->offset += (off_t)take;
				rd->long_line = !nl;
			} else if (acc_len + take > LOGSEL_MAX_LINE) {
				/* Too long to be a frame: what is held so far and this
				 * piece go on as content. */
				if (!rd->skip) {
					*ret_any = true;
					r = sink_write(out, ENGINE_STREAM_STDOUT, acc, acc_len,
						       err);
					if (r >= 0)
						r = sink_write(out, ENGINE_STREAM_STDOUT, p, take,
							       err);
					if (r < 0)
						return r;
				}
				rd->offset += (off_t)(acc_len + take);
				acc_len = 0;
				rd->long_line = !nl;
			} else {
				memcpy(acc + acc_len, p, take);
				acc_len += take;
				if (nl) {
					r = saved_line(rd, shown, since_ms, acc, acc_len, out,
						       ret_any, err);
					if (r < 0)
						return r;
					rd->offset += (off_t)acc_len;
					acc_len = 0;
				}
			}
			p += take;
			left -= take;
		}
	}
	if (acc_len > 0 && final) {
		r = saved_line(rd, shown, since_ms, acc, acc_len, out, ret_any, err);
		if (r < 0)
			return r;
		rd->offset += (off_t)acc_len;
	}
	return 0;
}

/* The container of iteration n: the recorded one for the current
 * iteration, else the newest labelled with it (an earlier iteration, or a
 * start that has not recorded its container yet).  *ret NULL: none. */
static int container_of(struct engine *e, const struct task_store *st, const struct task *t,
			int64_t n, char **ret, struct rv_error **err)
{
	*ret = NULL;
	const char *cid = task_container_id(t);
	if (n == task_iterations(t) && cid && *cid) {
		*ret = xstrdup(cid);
		return 0;
	}
	char f_task[64], f_iter[64];
	snprintf(f_task, sizeof(f_task), LAYOUT_LABEL_TASK "=%lld", (long long)t->id);
	snprintf(f_iter, sizeof(f_iter), LAYOUT_LABEL_ITERATION "=%lld", (long long)n);
	_cleanup_free_ char *f_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	const char *filters[] = {f_task, f_iter, f_store, NULL};
	struct engine_container_summary *list = NULL;
	size_t nl = 0;
	int r = engine_container_list(e, filters, &list, &nl, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot look up the container of task %lld",
				     (long long)t->id);
	const struct engine_container_summary *best = NULL;
	for (size_t i = 0; i < nl; i++)
		if (!best || list[i].created > best->created)
			best = &list[i];
	if (best && best->id)
		*ret = xstrdup(best->id);
	engine_container_list_free(list, nl);
	return 0;
}

static void notef(const struct tasklogs_opts *o, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void notef(const struct tasklogs_opts *o, int64_t id, const char *fmt, ...)
{
	if (!o->report)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	o->report(o->report_userdata, "info", id, msg ? msg : "");
}

/* Follow: whether a PAUSED task will be resumed without a person. */
static bool retry_pending(const struct task_store *st, const struct task *t,
			  const struct retry_policy *p, int64_t *ret_at_ms)
{
	if (!p || !retry_eligible(t))
		return false;
	struct retry_decision d;
	retry_decide(t, p, timeutil_now_ms(), 0, 0, &d);
	if (d.action != RETRY_SCHEDULE && d.action != RETRY_WAIT && d.action != RETRY_FIRE)
		return false;
	*ret_at_ms = d.action == RETRY_SCHEDULE ? 0 : d.at_ms;
	pid_t pid = 0;
	return supervise_scheduler_info(st->dir, &pid, NULL);
}

/* Follow: wait for a change in the store (or LOGS_RECHECK_MS). */
static void wait_change(const struct task_store *st, struct watch **w, bool *watch_failed)
{
	if (!*w && !*watch_failed) {
		_cleanup_free_ char *tasks = fileio_join(st->dir, "tasks");
		if (watch_start(tasks, w, NULL) < 0)
			*watch_failed = true;
	}
	struct pollfd pfd = {.fd = *w ? watch_fd(*w) : -1, .events = POLLIN};
	if (poll(&pfd, 1, LOGS_RECHECK_MS) > 0 && *w)
		(void)watch_drain(*w);
}

struct run {
	const struct task_store *st;
	const struct tasklogs_opts *o;
	struct sink out;
	struct logsel_ring ring;
	struct shown shown;
	struct reader rd;
	struct engine *engine;
	struct tasklogs_result res;
	char *path; /* container.log */
	int64_t n;
};

static int open_engine(struct run *ru, const struct task *t, struct rv_error **err)
{
	if (ru->engine)
		return 0;
	int r = launch_engine_for_task(t, &ru->engine, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot read the output of task %lld from its engine%s",
				     (long long)t->id,
				     ru->res.had_saved ? " (the saved output was shown)" : "");
	engine_set_timeouts(ru->engine, LOGS_CONNECT_MS, LOGS_REQUEST_MS);
	return 0;
}

/* The live part for the record t.  first: the first container looked at
 * (where --tail applies). */
static int live_pass(struct run *ru, const struct task *t, bool first, struct rv_error **err)
{
	const struct tasklogs_opts *o = ru->o;
	const char *cid = task_container_id(t);
	const char *endpoint = NULL;
	bool recorded = task_get_engine(t, NULL, &endpoint) && endpoint && *endpoint;
	if (!(cid && *cid) && !recorded)
		return 0; /* never started */
	_cleanup_free_ char *ref = NULL;
	int r;
	if (ru->n == task_iterations(t) && cid && *cid) {
		ref = xstrdup(cid);
	} else {
		r = open_engine(ru, t, err);
		if (r >= 0)
			r = container_of(ru->engine, ru->st, t, ru->n, &ref, err);
		if (r < 0)
			return r;
	}
	if (!ref) {
		ru->res.container = TASKLOGS_GONE;
		return 0;
	}
	/* Saved whole already (list, inspect or the supervisor saw it end):
	 * no engine call at all. */
	if (shown_has(&ru->shown, ref)) {
		ru->res.container = TASKLOGS_SAVED;
		return 0;
	}
	r = open_engine(ru, t, err);
	if (r < 0)
		return r;
	int64_t since_s = o->since_ms > 0 ? o->since_ms / 1000 : 0;
	unsigned flags = o->follow ? ENGINE_LOGS_FOLLOW : 0;
	int64_t tail = -1;
	if (first && o->tail >= 0 && o->follow) {
		/* The last N lines of it all, then follow: count the live
		 * container's share first, show the saved ones' rest, then
		 * follow the live one from its last K lines. */
		struct logsel_ring count;
		logsel_ring_init(&count, 0);
		r = engine_container_logs_select(ru->engine, ref, 0, since_s, o->tail, count_write,
						 &count, err);
		logsel_ring_flush(&count);
		uint64_t k = count.pushed;
		logsel_ring_release(&count);
		if (r == -ENOENT) {
			*err = rv_error_free(*err);
			ru->res.container = TASKLOGS_GONE;
			return 0;
		}
		if (r < 0)
			return r;
		if (k > (uint64_t)o->tail)
			k = (uint64_t)o->tail;
		logsel_ring_flush(&ru->ring);
		size_t keep = (size_t)((uint64_t)o->tail - k);
		size_t skip = ru->ring.n > keep ? ru->ring.n - keep : 0;
		ru->out.ring = NULL;
		r = logsel_ring_emit(&ru->ring, skip, ru->out.fn, ru->out.userdata, err);
		if (r < 0)
			return r;
		/* tail=0 would hide what arrived between the two reads. */
		tail = k > 0 ? (int64_t)k : -1;
	} else if (first && o->tail >= 0) {
		tail = o->tail;
	}
	r = engine_container_logs_select(ru->engine, ref, flags, since_s, tail, sink_write,
					 &ru->out, err);
	if (r == -ENOENT) {
		*err = rv_error_free(*err);
		ru->res.container = TASKLOGS_GONE;
		return 0;
	}
	if (r < 0)
		return r;
	ru->res.container = TASKLOGS_LIVE;
	ru->res.followed++;
	shown_add(&ru->shown, ref);
	return 0;
}

static int flush_ring(struct run *ru, struct rv_error **err)
{
	if (!ru->out.ring)
		return 0;
	logsel_ring_flush(&ru->ring);
	ru->out.ring = NULL;
	return logsel_ring_emit(&ru->ring, 0, ru->out.fn, ru->out.userdata, err);
}

/* Follow: the record now, observed; NULL when the task is gone. */
static struct task *look_again(struct run *ru, int64_t id)
{
	struct task *t = NULL;
	if (task_store_load_id(ru->st, id, &t, NULL) < 0)
		return NULL;
	observe_task(ru->st, &t, 0, ru->o->report, ru->o->report_userdata);
	return t;
}

int tasklogs_show(const struct task_store *st, const struct task *t, const struct tasklogs_opts *o,
		  engine_log_fn fn, void *userdata, struct tasklogs_result *ret,
		  struct rv_error **err)
{
	int64_t last = task_iterations(t);
	int64_t n = o->iteration ? o->iteration : last;
	if (n < 1 || n > last)
		return rv_error_set(err, EINVAL, "task %lld has no iteration %lld (it has %lld)",
				    (long long)t->id, (long long)n, (long long)last);
	struct run ru = {.st = st, .o = o, .n = n, .res = {.container = TASKLOGS_NONE}};
	ru.out = (struct sink){.fn = fn, .userdata = userdata};
	if (o->tail >= 0) {
		logsel_ring_init(&ru.ring, (size_t)o->tail);
		ru.out.ring = &ru.ring;
	}
	ru.path = task_store_iteration_file(st, t->id, n, TASK_FILE_CONTAINER_LOG);
	struct watch *w = NULL;
	bool watch_failed = false, noted_wait = false;
	struct task *cur = NULL; /* follow: the latest record (owned) */
	const struct task *view = t;
	int r;
	for (bool first = true;; first = false) {
		r = saved_pass(ru.path, &ru.rd, &ru.shown, o->since_ms, !o->follow, &ru.out,
			       &ru.res.had_saved, &ru.res.saved_refused, err);
		if (r >= 0)
			r = live_pass(&ru, view, first, err);
		if (r < 0 || !o->follow)
			break;
		r = flush_ring(&ru, err);
		if (r < 0)
			break;
		/* What now: look at the task again, as it is after this end. */
		for (;;) {
			struct task *fresh = look_again(&ru, t->id);
			task_free(cur);
			cur = fresh;
			view = cur;
			if (!cur || task_iterations(cur) != n)
				goto final;
			enum task_status s = task_status(cur);
			const char *cid = task_container_id(cur);
			if (task_status_is_running(s)) {
				if (cid && *cid && !shown_has(&ru.shown, cid)) {
					notef(o, t->id, "Following task %lld into container %.12s",
					      (long long)t->id, cid);
					noted_wait = false;
					break;
				}
			} else {
				int64_t at = 0;
				if (!retry_pending(st, cur, o->policy, &at))
					goto final;
				if (!noted_wait) {
					char iso[TIMEUTIL_ISO_LEN];
					notef(o, t->id,
					      "Task %lld is PAUSED; waiting for its automatic retry%s%s "
					      "(Ctrl+C to stop)",
					      (long long)t->id, at > 0 ? " at " : "",
					      at > 0 ? timeutil_format_iso(at, iso) : "");
					noted_wait = true;
				}
			}
			/* The new container's earlier output may be saved already. */
			r = saved_pass(ru.path, &ru.rd, &ru.shown, o->since_ms, false, &ru.out,
				       &ru.res.had_saved, &ru.res.saved_refused, err);
			if (r < 0)
				goto out;
			wait_change(st, &w, &watch_failed);
		}
	}
	if (r >= 0 && !o->follow)
		r = flush_ring(&ru, err);
	goto out;
final:
	r = saved_pass(ru.path, &ru.rd, &ru.shown, o->since_ms, true, &ru.out, &ru.res.had_saved,
		       &ru.res.saved_refused, err);
out:
	watch_stop(w);
	engine_free(ru.engine);
	logsel_ring_release(&ru.ring);
	shown_release(&ru.shown);
	free(ru.path);
	if (r < 0) {
		task_free(cur);
		tasklogs_result_release(&ru.res);
		return r;
	}
	ru.res.task = cur;
	*ret = ru.res;
	return 0;
}

void tasklogs_result_release(struct tasklogs_result *r)
{
	free(r->saved_refused);
	task_free(r->task);
	r->saved_refused = NULL;
	r->task = NULL;
}
