/* The user's hooks, fired from the task journal: see hooks.h. */
#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/journal.h"
#include "supervisor/lib/task_store.h"
#include "supervisor/lib/userconfig.h"

static const char *const names[HOOK__MAX] = {
	[HOOK_ON_PAUSE] = "onPause",
	[HOOK_ON_NEEDS_ATTENTION] = "onNeedsAttention",
	[HOOK_ON_COMPLETE] = "onComplete",
	[HOOK_ON_FAIL] = "onFail",
};

/* The journal event type each hook follows. */
static const char *const event_types[HOOK__MAX] = {
	[HOOK_ON_PAUSE] = "paused",
	[HOOK_ON_NEEDS_ATTENTION] = "needs_attention",
	[HOOK_ON_COMPLETE] = "completed",
	[HOOK_ON_FAIL] = "failed",
};

const char *hooks_name(enum hook_kind k)
{
	return k < HOOK__MAX ? names[k] : NULL;
}

int hooks_kind_of_event(const char *type)
{
	for (int k = 0; type && k < HOOK__MAX; k++)
		if (!strcmp(type, event_types[k]))
			return k;
	return -1;
}

void hooks_release(struct hooks *h)
{
	for (int k = 0; k < HOOK__MAX; k++) {
		free(h->command[k]);
		h->command[k] = NULL;
	}
}

bool hooks_any(const struct hooks *h)
{
	for (int k = 0; k < HOOK__MAX; k++)
		if (h->command[k])
			return true;
	return false;
}

int hooks_parse(struct json_object *obj, const char *what, struct hooks *ret, struct rv_error **err)
{
	struct hooks h = {0};
	if (!obj) {
		*ret = h;
		return 0;
	}
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EINVAL, "%s: \"hooks\" must be an object", what);
	json_object_object_foreach(obj, key, val)
	{
		int kind = -1;
		for (int k = 0; k < HOOK__MAX; k++)
			if (!strcmp(key, names[k]))
				kind = k;
		const char *cmd = json_object_is_type(val, json_type_string)
					  ? json_object_get_string(val)
					  : NULL;
		int r = 0;
		if (kind < 0)
			r = rv_error_set(
				err, EINVAL,
				"%s: unknown hook '%.64s' (known: onPause, onNeedsAttention, "
				"onComplete, onFail)",
				what, key);
		else if (!cmd || !*cmd || strlen(cmd) > HOOKS_MAX_COMMAND)
			r = rv_error_set(err, EINVAL,
					 "%s: hooks.%s must be a command (a non-empty string of at "
					 "most %d bytes)",
					 what, key, HOOKS_MAX_COMMAND);
		if (r < 0) {
			hooks_release(&h);
			return r;
		}
		free(h.command[kind]);
		h.command[kind] = xstrdup(cmd);
	}
	*ret = h;
	return 0;
}

int hooks_load(struct hooks *ret, struct rv_error **err)
{
	*ret = (struct hooks){0};
	_cleanup_free_ char *path = userconfig_path();
	if (!path)
		return 0;
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	_cleanup_json_ struct json_object *obj = NULL;
	int r = jsonutil_read_member(path, USERCONFIG_MAX_BYTES, what, "hooks", &obj, err);
	if (r < 0)
		return r;
	return hooks_parse(obj, what, ret, err);
}

/* ---- the cursor -------------------------------------------------------------- */

/* "N" or "N SIZE": the first number, and the second in *ret_second (-1
 * when absent). */
static int64_t read_number(const char *path, int64_t fallback, int64_t *ret_second)
{
	if (ret_second)
		*ret_second = -1;
	_cleanup_free_ char *text = NULL;
	if (fileio_read_bounded(path, 64, &text, NULL, NULL) < 0)
		return fallback;
	char *end = NULL;
	long long v = strtoll(text, &end, 10);
	if (end == text || v < 0)
		return fallback;
	char *end2 = NULL;
	long long w = strtoll(end, &end2, 10);
	if (ret_second && end2 != end && w >= 0)
		*ret_second = w;
	return v;
}

static int write_numbers(const char *path, int64_t v, int64_t w, struct rv_error **err)
{
	char text[48];
	int n = w >= 0 ? snprintf(text, sizeof(text), "%lld %lld\n", (long long)v, (long long)w)
		       : snprintf(text, sizeof(text), "%lld\n", (long long)v);
	return fileio_write_atomic(path, text, (size_t)n, 0644, err);
}

/* When hooks were first dispatched in this store: events before it never
 * fire.  Written once. */
static int64_t hooks_since(const struct task_store *st)
{
	_cleanup_free_ char *path = fileio_join(st->dir, HOOKS_SINCE_FILE);
	int64_t since = read_number(path, -1, NULL);
	if (since >= 0)
		return since;
	since = timeutil_now_ms();
	(void)write_numbers(path, since, -1, NULL);
	return since;
}

/* ---- running one hook -------------------------------------------------------- */

/* The task's record with the event as "event", in a memory file for the
 * hook's stdin (-1 when it cannot be made: the hook gets /dev/null). */
static int stdin_of(const struct task *t, struct json_object *event)
{
	int fd = memfd_create("rover-hook-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	_cleanup_json_ struct json_object *doc = json_object_get(task_json(t));
	json_object_object_add(doc, "event", json_object_get(event));
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	if (fileio_write_all(fd, text, strlen(text)) < 0 || fileio_write_all(fd, "\n", 1) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	/* json_object_object_add took a reference into the record's object:
	 * take the event back out so the record stays as it was. */
	json_object_object_del(doc, "event");
	return fd;
}

/* Start cmd detached: a grandchild in its own session, which the
 * supervisor neither waits for nor takes down with it. */
static int spawn_detached(const char *cmd, int in_fd, int log_fd, char **env, struct rv_error **err)
{
	pid_t child = fork();
	if (child < 0)
		return rv_error_errno(err, errno, "cannot start the hook");
	if (child == 0) {
		if (setsid() < 0 || fork() != 0)
			_exit(0); /* the middle process: gone at once */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_RDWR);
		dup2(in_fd >= 0 ? in_fd : devnull, 0);
		dup2(log_fd >= 0 ? log_fd : devnull, 1);
		dup2(log_fd >= 0 ? log_fd : devnull, 2);
		const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
		execve("/bin/sh", (char *const *)argv, env);
		_exit(127);
	}
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

extern char **environ;

/* The supervisor's environment plus the hook's variables (built before
 * fork: the child must not allocate). */
static char **hook_environment(const struct task_store *st, int64_t id, enum hook_kind k,
			       const char *type, char ***ret_owned)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = xcalloc(n + 5, sizeof(*env));
	char **owned = xcalloc(5, sizeof(*owned));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "ROVER_TASK_ID=", 14) &&
		    strncmp(environ[i], "ROVER_EVENT", 11) &&
		    strncmp(environ[i], "ROVER_STORE=", 12))
			env[m++] = environ[i];
	owned[0] = xasprintf("ROVER_TASK_ID=%lld", (long long)id);
	owned[1] = xasprintf("ROVER_EVENT=%s", names[k]);
	owned[2] = xasprintf("ROVER_EVENT_TYPE=%s", type);
	owned[3] = xasprintf("ROVER_STORE=%s", st->dir);
	for (size_t i = 0; i < 4; i++)
		env[m++] = owned[i];
	env[m] = NULL;
	*ret_owned = owned;
	return env;
}

/* Run hook k for event, once: everything the hook needs is made ready
 * first, so that between the cursor's write (cursor_path := next) and the
 * fork there is nothing left to do.  A cursor that cannot be written runs
 * nothing (false: the caller stops, and tries again next pass). */
static bool run_hook(const struct task_store *st, const struct hooks *h, enum hook_kind k,
		     int64_t id, struct json_object *event, const char *cursor_path, int64_t next,
		     hooks_report_fn report, void *ud)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	char msg[512];
	if (task_store_load_id(st, id, &t, &err) < 0) {
		if (report) {
			snprintf(msg, sizeof(msg), "task %lld: hook %s not run: %s", (long long)id,
				 names[k], rv_error_msg(err));
			report(ud, id, msg);
		}
		/* The task is gone: nothing to run, now or later. */
		return write_numbers(cursor_path, next, -1, NULL) == 0;
	}
	_cleanup_close_ int in_fd = stdin_of(t, event);
	task_free(t);
	_cleanup_free_ char *dir = task_store_task_dir(st, id);
	_cleanup_free_ char *log = fileio_join(dir, HOOKS_LOG_FILE);
	_cleanup_close_ int log_fd =
		open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	char **owned = NULL;
	_cleanup_free_ char **env =
		hook_environment(st, id, k, jsonutil_get_str(event, "type"), &owned);
	/* At most once: the cursor moves past this event, durably, before the
	 * hook starts. */
	bool moved = write_numbers(cursor_path, next, -1, NULL) == 0;
	int r = moved ? spawn_detached(h->command[k], in_fd, log_fd, env, &err) : 0;
	for (size_t i = 0; owned && owned[i]; i++)
		free(owned[i]);
	free(owned);
	if (!moved)
		return false; /* nothing ran */
	if (!report)
		return true;
	if (r < 0)
		snprintf(msg, sizeof(msg), "task %lld: hook %s could not start: %s", (long long)id,
			 names[k], rv_error_msg(err));
	else
		snprintf(msg, sizeof(msg), "task %lld: hook %s started (output in %s)",
			 (long long)id, names[k], log);
	report(ud, id, msg);
	return true;
}

/* The pending events of one task, each hook after its cursor write. */
static void dispatch_task(const struct task_store *st, const struct hooks *h, int64_t id,
			  int64_t since_ms, hooks_report_fn report, void *ud)
{
	_cleanup_free_ char *dir = task_store_task_dir(st, id);
	_cleanup_free_ char *cursor_path = fileio_join(dir, HOOKS_CURSOR_FILE);
	_cleanup_free_ char *journal = fileio_join(dir, JOURNAL_FILE);
	/* The cursor also holds the journal's size when it was last read: an
	 * unchanged journal is not read again (one stat per task and pass). */
	int64_t seen_size = -1;
	int64_t cursor = read_number(cursor_path, -1, &seen_size);
	struct stat js;
	if (lstat(journal, &js) < 0 || !S_ISREG(js.st_mode) ||
	    (cursor >= 0 && seen_size == (int64_t)js.st_size))
		return;
	_cleanup_json_ struct json_object *events = NULL;
	if (journal_read(st, id, false, &events, NULL) < 0)
		return;
	bool fresh = cursor < 0;
	if (fresh)
		cursor = 0;
	int64_t n = (int64_t)json_object_array_length(events);
	for (int64_t i = cursor; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(events, (size_t)i);
		int kind = hooks_kind_of_event(jsonutil_get_str(e, "type"));
		int64_t at = 0;
		const char *at_text = jsonutil_get_str(e, "at");
		bool recent = at_text && timeutil_parse_iso(at_text, &at) && at >= since_ms;
		if (kind < 0 || !h->command[kind] || (fresh && !recent))
			continue;
		if (!run_hook(st, h, (enum hook_kind)kind, id, e, cursor_path, i + 1, report, ud))
			return; /* cannot promise once: try again next pass */
	}
	(void)write_numbers(cursor_path, n, (int64_t)js.st_size, NULL);
}

void hooks_dispatch(const struct task_store *st, const struct hooks *h, hooks_report_fn report,
		    void *userdata)
{
	if (!h || !hooks_any(h))
		return;
	int64_t since = hooks_since(st);
	size_t n = 0;
	_cleanup_free_ int64_t *ids = task_store_ids(st, &n);
	for (size_t i = 0; i < n; i++)
		dispatch_task(st, h, ids[i], since, report, userdata);
}
