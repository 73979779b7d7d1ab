/* A task's event journal: see journal.h. */
#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/task_store.h"

/* The runner's log of an iteration is read from its last RUNNER_LOG_TAIL
 * bytes: it is the container's file, as large as the container made it. */
#define RUNNER_LOG_TAIL (4u << 20)

void journal_facts_of(const struct task *t, struct journal_facts *ret)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	*ret = (struct journal_facts){
		.status = task_status(t),
		.reason = task_pause_reason(t),
		.iteration = task_iterations(t),
		.retry_count = ar.count,
		.next_retry_at_ms = ar.next_retry_at_ms,
	};
	if (!task_get_time(t, "pausedAt", &ret->paused_at_ms))
		ret->paused_at_ms = 0;
	const char *cid = task_container_id(t);
	snprintf(ret->container, sizeof(ret->container), "%s", cid ? cid : "");
	ret->resume_in_flight = resume_in_flight(t, NULL);
}

static struct json_object *event(const char *type, const struct task *t)
{
	struct json_object *e = json_object_new_object();
	jsonutil_set_str(e, "type", type);
	jsonutil_set_int64(e, "iteration", task_iterations(t));
	return e;
}

static void add_time(struct json_object *e, const char *key, int64_t ms)
{
	char buf[32];
	jsonutil_set_str(e, key, timeutil_format_iso(ms, buf));
}

/* The event of a change of status, or NULL when the status alone says
 * nothing new (e.g. IN_PROGRESS -> ITERATING). */
static struct json_object *status_event(const struct journal_facts *b, const struct task *t,
					const struct journal_facts *a, int64_t now_ms,
					int64_t checkpoint_age_ms)
{
	bool was_running = task_status_is_running(b->status);
	bool running = task_status_is_running(a->status);
	struct json_object *e = NULL;
	if (running && !was_running) {
		if (a->iteration > b->iteration)
			e = event("iteration_started", t);
		else if (b->status == TASK_NEW)
			e = event("started", t);
		else {
			e = event("resumed", t);
			jsonutil_set_str(e, "from", task_status_name(b->status));
			if (b->paused_at_ms > 0 && now_ms >= b->paused_at_ms)
				jsonutil_set_int64(e, "pauseDurationMs", now_ms - b->paused_at_ms);
			if (checkpoint_age_ms >= 0)
				jsonutil_set_int64(e, "checkpointAgeMs", checkpoint_age_ms);
		}
		const char *cid = task_container_id(t);
		if (cid && *cid)
			jsonutil_set_str(e, "containerId", cid);
	} else if (was_running && !running && b->resume_in_flight && !a->resume_in_flight &&
		   !strcmp(a->container, b->container)) {
		/* The resume's mark, undone before it recorded a container: the
		 * task is as it was, not newly paused or failed (hooks.h). */
		e = event("resume_undone", t);
		jsonutil_set_str(e, "status", task_status_name(a->status));
		const char *reason = task_pause_reason_name(a->reason);
		if (a->status == TASK_PAUSED && reason)
			jsonutil_set_str(e, "reason", reason);
	} else if (a->status == b->status || (running && was_running)) {
		/* IN_PROGRESS <-> ITERATING mirrors the runner's own status file:
		 * its step events tell that story. */
		return NULL;
	} else if (a->status == TASK_PAUSED) {
		e = event("paused", t);
		const char *reason = task_pause_reason_name(a->reason);
		if (reason)
			jsonutil_set_str(e, "reason", reason);
	} else if (a->status == TASK_COMPLETED) {
		e = event("completed", t);
	} else if (a->status == TASK_FAILED) {
		e = event("failed", t);
	} else if (a->status == TASK_NEW) {
		e = event("restarted", t);
	} else if (a->status == TASK_MERGED) {
		e = event("merged", t);
	} else if (a->status == TASK_PUSHED) {
		e = event("pushed", t);
	} else {
		e = event("status", t);
		jsonutil_set_str(e, "status", task_status_name(a->status));
	}
	const char *error = task_error(t);
	if (error && *error && (a->status == TASK_PAUSED || a->status == TASK_FAILED))
		jsonutil_set_str(e, "error", error);
	return e;
}

struct json_object *journal_changes(const struct journal_facts *before, const struct task *t,
				    int64_t now_ms, int64_t checkpoint_age_ms)
{
	struct json_object *out = json_object_new_array();
	struct journal_facts a;
	journal_facts_of(t, &a);
	if (!before) {
		json_object_array_add(out, event("created", t));
		return out;
	}
	/* A retry that fired is told before the resume it caused. */
	if (a.retry_count > before->retry_count) {
		struct json_object *e = event("retry_fired", t);
		jsonutil_set_int64(e, "attempt", a.retry_count);
		json_object_array_add(out, e);
	}
	struct json_object *s = status_event(before, t, &a, now_ms, checkpoint_age_ms);
	if (s)
		json_object_array_add(out, s);
	/* A breakpoint waits for a person: that is news for onNeedsAttention. */
	if (a.status == TASK_PAUSED &&
	    (a.reason == TASK_PAUSE_APPROVAL || a.reason == TASK_PAUSE_BUDGET) &&
	    (before->status != TASK_PAUSED || before->reason != a.reason)) {
		struct json_object *e = event("needs_attention", t);
		jsonutil_set_str(e, "reason",
				 a.reason == TASK_PAUSE_APPROVAL ? "waiting for approval"
								 : "the cost budget is spent");
		json_object_array_add(out, e);
	}
	/* A task is marked started before its container exists (mark, launch,
	 * record): the container is told when it is recorded. */
	if (a.container[0] && strcmp(a.container, before->container) &&
	    task_status_is_running(a.status) && !(s && jsonutil_get_str(s, "containerId"))) {
		struct json_object *e = event("container_started", t);
		jsonutil_set_str(e, "containerId", a.container);
		json_object_array_add(out, e);
	}
	/* ... and a retry scheduled after the pause that made it due. */
	if (a.next_retry_at_ms > 0 && a.next_retry_at_ms != before->next_retry_at_ms) {
		struct json_object *e = event("retry_scheduled", t);
		add_time(e, "retryAt", a.next_retry_at_ms);
		jsonutil_set_int64(e, "attempt", a.retry_count + 1);
		json_object_array_add(out, e);
	}
	return out;
}

static char *journal_path(const struct task_store *st, int64_t id)
{
	_cleanup_free_ char *dir = task_store_task_dir(st, id);
	return fileio_join(dir, JOURNAL_FILE);
}

int journal_append(const struct task_store *st, int64_t id, struct json_object *ev,
		   struct rv_error **err)
{
	_cleanup_free_ char *path = journal_path(st, id);
	_cleanup_json_ struct json_object *line = json_object_new_object();
	add_time(line, "at", timeutil_now_ms());
	jsonutil_set_int64(line, "taskId", id);
	json_object_object_foreach(ev, key, val)
	{
		if (strcmp(key, "at") && strcmp(key, "taskId"))
			json_object_object_add(line, key, json_object_get(val));
	}
	_cleanup_free_ char *text =
		xasprintf("%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
	/* The task directory is rover's own, but a link there is still never
	 * followed: the journal is only ever a regular file. */
	_cleanup_close_ int fd =
		open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open the journal '%s'", path);
	struct stat s;
	if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode))
		return rv_error_set(err, EINVAL, "the journal '%s' is not a regular file", path);
	/* A line torn by a crash would swallow this one: start on a new line. */
	char last = '\n';
	if (s.st_size > 0 && pread(fd, &last, 1, s.st_size - 1) == 1 && last != '\n')
		(void)fileio_write_all(fd, "\n", 1);
	/* One write(2) of the whole line: O_APPEND puts it at the end whole. */
	int r = fileio_write_all(fd, text, strlen(text));
	if (r < 0)
		return rv_error_errno(err, -r, "cannot append to the journal '%s'", path);
	if (fdatasync(fd) < 0)
		return rv_error_errno(err, errno, "cannot sync the journal '%s'", path);
	return 0;
}

void journal_record_change(const struct task_store *st, const struct journal_facts *before,
			   const struct task *t)
{
	int64_t age = -1;
	if (before && !task_status_is_running(before->status)) {
		/* The checkpoint a resume starts from: its age is its mtime's.  The
		 * runner writes it, so only lstat is used (no link followed). */
		_cleanup_free_ char *cp = task_store_iteration_file(st, t->id, task_iterations(t),
								    TASK_FILE_CHECKPOINT);
		struct stat s;
		if (lstat(cp, &s) == 0 && S_ISREG(s.st_mode)) {
			int64_t saved =
				(int64_t)s.st_mtim.tv_sec * 1000 + s.st_mtim.tv_nsec / 1000000;
			age = timeutil_now_ms() > saved ? timeutil_now_ms() - saved : 0;
		}
	}
	_cleanup_json_ struct json_object *events =
		journal_changes(before, t, timeutil_now_ms(), age);
	size_t n = json_object_array_length(events);
	for (size_t i = 0; i < n; i++)
		(void)journal_append(st, t->id, json_object_array_get_idx(events, i), NULL);
}

void journal_needs_attention(const struct task_store *st, int64_t id, const char *why)
{
	_cleanup_json_ struct json_object *events = NULL;
	if (journal_read(st, id, false, &events, NULL) < 0)
		return;
	for (size_t i = json_object_array_length(events); i-- > 0;) {
		const char *type = jsonutil_get_str(json_object_array_get_idx(events, i), "type");
		if (type && !strcmp(type, "needs_attention"))
			return; /* said since the last pause */
		if (type && !strcmp(type, "paused"))
			break;
	}
	_cleanup_json_ struct json_object *e = json_object_new_object();
	jsonutil_set_str(e, "type", "needs_attention");
	jsonutil_set_str(e, "reason", why);
	(void)journal_append(st, id, e, NULL);
}

/* Parse the lines of text into events appended to out; a line that does not
 * parse as an object with a string "at" (a torn last line, say) is skipped. */
static void parse_lines(char *text, struct json_object *out)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line);
		int64_t ms;
		const char *at = o && json_object_is_type(o, json_type_object)
					 ? jsonutil_get_str(o, "at")
					 : NULL;
		if (!at || !timeutil_parse_iso(at, &ms)) {
			json_object_put(o);
			continue;
		}
		json_object_array_add(out, o);
	}
}

/* The last max bytes of the open regular file fd, starting at a line. */
static char *read_tail(int fd, size_t max)
{
	struct stat s;
	if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode))
		return NULL;
	off_t from = s.st_size > (off_t)max ? s.st_size - (off_t)max : 0;
	size_t want = (size_t)(s.st_size - from);
	char *buf = NULL;
	size_t got = 0;
	/* Room for lines appended since the fstat (the file is appended to
	 * while it is read); more than that is read next time. */
	if (lseek(fd, from, SEEK_SET) < 0 ||
	    fileio_read_fd(fd, "a log", want + (1u << 20), want + 1, &buf, &got, NULL) < 0)
		return NULL;
	if (from > 0) {
		char *nl = strchr(buf, '\n');
		memmove(buf, nl ? nl + 1 : buf + got, strlen(nl ? nl + 1 : buf + got) + 1);
	}
	return buf;
}

static const struct {
	const char *runner; /* the runner's event name in rover.jsonl */
	const char *type;   /* the journal's */
} step_events[] = {
	{"step_start", "step_started"},
	{"step_complete", "step_done"},
	{"step_failed", "step_failed"},
};

/* The step events of iteration n, from the runner's log (container data:
 * only known event names, and only the fields named here, are taken). */
static void read_runner_steps(const struct task_store *st, int64_t id, int64_t n,
			      struct json_object *out)
{
	_cleanup_free_ char *path = task_store_iteration_file(st, id, n, TASK_FILE_EVENT_LOG);
	_cleanup_close_ int fd = iterfile_open_read(path, NULL, NULL);
	if (fd < 0)
		return;
	_cleanup_free_ char *text = read_tail(fd, RUNNER_LOG_TAIL);
	if (!text)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		_cleanup_json_ struct json_object *o = json_tokener_parse(line);
		if (!o || !json_object_is_type(o, json_type_object))
			continue;
		const char *name = jsonutil_get_str(o, "event");
		const char *ts = jsonutil_get_str(o, "timestamp");
		int64_t ms;
		if (!name || !ts || !timeutil_parse_iso(ts, &ms))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(step_events); i++) {
			if (strcmp(name, step_events[i].runner))
				continue;
			struct json_object *e = json_object_new_object();
			add_time(e, "at", ms);
			jsonutil_set_int64(e, "taskId", id);
			jsonutil_set_str(e, "type", step_events[i].type);
			jsonutil_set_int64(e, "iteration", n);
			jsonutil_set_str(e, "source", "runner");
			const char *step = jsonutil_get_str(o, "stepId");
			if (step)
				jsonutil_set_str(e, "step", step);
			int64_t duration;
			if (jsonutil_get_int64(o, "duration", &duration))
				jsonutil_set_int64(e, "durationMs", duration);
			const char *error = jsonutil_get_str(o, "error");
			if (error)
				jsonutil_set_str(e, "error", error);
			json_object_array_add(out, e);
		}
	}
}

static int64_t at_ms(struct json_object *e)
{
	int64_t ms = 0;
	const char *at = jsonutil_get_str(e, "at");
	return at && timeutil_parse_iso(at, &ms) ? ms : 0;
}

/* Stable by time: events of the same millisecond keep the order they were
 * read in (the journal's own order first). */
struct keyed {
	int64_t ms;
	size_t index;
	struct json_object *e;
};

static int by_time(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

int journal_read(const struct task_store *st, int64_t id, bool with_steps, struct json_object **ret,
		 struct rv_error **err)
{
	_cleanup_json_ struct json_object *all = json_object_new_array();
	_cleanup_free_ char *path = journal_path(st, id);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno != ENOENT)
		return rv_error_errno(err, errno, "cannot read the journal '%s'", path);
	if (fd >= 0) {
		_cleanup_free_ char *text = read_tail(fd, JOURNAL_MAX_BYTES);
		if (text)
			parse_lines(text, all);
	}
	int64_t iterations = 1;
	if (with_steps) {
		struct task *t = NULL;
		if (task_store_load_id(st, id, &t, NULL) == 0) {
			iterations = task_iterations(t);
			task_free(t);
		}
		for (int64_t n = 1; n <= iterations; n++)
			read_runner_steps(st, id, n, all);
	}
	if (!with_steps) {
		/* The journal alone, in the order it was written (hooks.c counts
		 * events by their place in the file). */
		*ret = TAKE_PTR(all);
		return 0;
	}
	size_t n = json_object_array_length(all);
	struct keyed *k = xcalloc(n ? n : 1, sizeof(*k));
	for (size_t i = 0; i < n; i++) {
		k[i].e = json_object_get(json_object_array_get_idx(all, i));
		k[i].ms = at_ms(k[i].e);
		k[i].index = i;
	}
	qsort(k, n, sizeof(*k), by_time);
	struct json_object *sorted = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(sorted, k[i].e);
	free(k);
	*ret = sorted;
	return 0;
}
