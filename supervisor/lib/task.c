/*
 * Why one file over 800 lines: it is the parser, migrator and accessor set of
 * one format, description.json.  Validation, version migration, the status
 * enum and the typed field accessors all read and write the same json-c
 * object under the same rules (task.h); apart they would each have to
 * repeat those rules.
 */
#define _GNU_SOURCE
#include "task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"

static const char *const status_names[TASK__STATUS_MAX] = {
	[TASK_NEW] = "NEW",
	[TASK_IN_PROGRESS] = "IN_PROGRESS",
	[TASK_ITERATING] = "ITERATING",
	[TASK_PAUSED] = "PAUSED",
	[TASK_COMPLETED] = "COMPLETED",
	[TASK_FAILED] = "FAILED",
	[TASK_MERGED] = "MERGED",
	[TASK_PUSHED] = "PUSHED",
};

static const char *const reason_names[TASK__PAUSE_MAX] = {
	[TASK_PAUSE_NONE] = NULL,           [TASK_PAUSE_RETRYABLE_ERROR] = "retryable_error",
	[TASK_PAUSE_STALLED] = "stalled",   [TASK_PAUSE_SIGNAL] = "signal",
	[TASK_PAUSE_USER] = "user",         [TASK_PAUSE_ORPHAN] = "orphan",
	[TASK_PAUSE_APPROVAL] = "approval", [TASK_PAUSE_OPERATOR] = "operator",
	[TASK_PAUSE_DRAIN] = "drain",       [TASK_PAUSE_WINDOW] = "window",
	[TASK_PAUSE_BUDGET] = "budget",
};

/* The table of task.h; rows are "from", columns "to". */
#define Y true
#define _ false
static const bool transitions[TASK__STATUS_MAX][TASK__STATUS_MAX] = {
	/*                  NEW IN_P ITER PAUS COMP FAIL MERG PUSH */
	[TASK_NEW] = {Y, Y, _, _, _, Y, _, _},       [TASK_IN_PROGRESS] = {Y, Y, Y, Y, Y, Y, _, _},
	[TASK_ITERATING] = {Y, Y, Y, Y, Y, Y, _, _}, [TASK_PAUSED] = {_, Y, _, Y, _, Y, _, _},
	[TASK_COMPLETED] = {_, _, _, _, Y, _, Y, Y}, [TASK_FAILED] = {_, Y, _, _, _, Y, _, _},
	[TASK_MERGED] = {_, _, _, _, _, _, Y, Y},    [TASK_PUSHED] = {_, _, _, _, _, _, Y, Y},
};
#undef Y
#undef _

const char *task_status_name(enum task_status s)
{
	if ((unsigned)s >= TASK__STATUS_MAX)
		return NULL;
	return status_names[s];
}

bool task_status_parse(const char *s, enum task_status *ret)
{
	if (!s)
		return false;
	for (int i = 0; i < TASK__STATUS_MAX; i++) {
		if (!strcmp(s, status_names[i])) {
			*ret = (enum task_status)i;
			return true;
		}
	}
	return false;
}

bool task_status_is_active(enum task_status s)
{
	return s == TASK_NEW || task_status_is_running(s);
}

bool task_status_is_running(enum task_status s)
{
	return s == TASK_IN_PROGRESS || s == TASK_ITERATING;
}

const char *task_pause_reason_name(enum task_pause_reason r)
{
	if ((unsigned)r >= TASK__PAUSE_MAX)
		return NULL;
	return reason_names[r];
}

bool task_pause_reason_parse(const char *s, enum task_pause_reason *ret)
{
	if (!s)
		return false;
	for (int i = 1; i < TASK__PAUSE_MAX; i++) {
		if (!strcmp(s, reason_names[i])) {
			*ret = (enum task_pause_reason)i;
			return true;
		}
	}
	return false;
}

bool task_transition_allowed(enum task_status from, enum task_status to)
{
	if ((unsigned)from >= TASK__STATUS_MAX || (unsigned)to >= TASK__STATUS_MAX)
		return false;
	return transitions[from][to];
}

/* ---- validation ---------------------------------------------------------- */

enum ftype { F_STR, F_INT, F_OBJ };

struct field {
	const char *key;
	enum ftype type;
	int64_t min; /* for F_INT */
};

/* Optional fields we read or write (null allowed for each).  Others are
 * carried along untouched. */
static const struct field fields[] = {
	{"uuid", F_STR, 0},
	{"title", F_STR, 0},
	{"description", F_STR, 0},
	{"inputs", F_OBJ, 0},
	{"createdAt", F_STR, 0},
	{"startedAt", F_STR, 0},
	{"completedAt", F_STR, 0},
	{"failedAt", F_STR, 0},
	{"pausedAt", F_STR, 0},
	{"lastIterationAt", F_STR, 0},
	{"lastStatusCheck", F_STR, 0},
	{"iterations", F_INT, 1},
	{"workflowName", F_STR, 0},
	{"worktreePath", F_STR, 0},
	{"branchName", F_STR, 0},
	{"agent", F_STR, 0},
	{"agentModel", F_STR, 0},
	{"sourceBranch", F_STR, 0},
	{"baseCommit", F_STR, 0},
	{"containerId", F_STR, 0},
	{"sandboxMetadata", F_OBJ, 0},
	{"executionStatus", F_STR, 0},
	{"runningAt", F_STR, 0},
	{"errorAt", F_STR, 0},
	{"exitCode", F_INT, INT64_MIN},
	{"error", F_STR, 0},
	{"restartCount", F_INT, 0},
	{"lastRestartAt", F_STR, 0},
	{"agentImage", F_STR, 0},
	{"networkConfig", F_OBJ, 0},
	{"onCompleteHookFiredAt", F_STR, 0},
	{"pauseReason", F_STR, 0},
	{"engine", F_OBJ, 0},
	{"autoRetry", F_OBJ, 0},
};

static const struct field auto_retry_fields[] = {
	{"count", F_INT, 0},    {"max", F_INT, 0},           {"nextRetryAt", F_STR, 0},
	{"provider", F_STR, 0}, {"lastAttemptAt", F_STR, 0},
};

static const char *type_name(struct json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

static int check_fields(struct json_object *obj, const struct field *fs, size_t n,
			const char *prefix, const char *path, struct rv_error **err)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = NULL;
		if (!json_object_object_get_ex(obj, fs[i].key, &v) || !v)
			continue;
		switch (fs[i].type) {
		case F_STR:
			if (!json_object_is_type(v, json_type_string))
				return rv_error_set(err, EBADMSG,
						    "'%s': field '%s%s' must be a string, not %s",
						    path, prefix, fs[i].key, type_name(v));
			break;
		case F_OBJ:
			if (!json_object_is_type(v, json_type_object))
				return rv_error_set(err, EBADMSG,
						    "'%s': field '%s%s' must be an object, not %s",
						    path, prefix, fs[i].key, type_name(v));
			break;
		case F_INT:
			if (!json_object_is_type(v, json_type_int))
				return rv_error_set(err, EBADMSG,
						    "'%s': field '%s%s' must be an integer, not %s",
						    path, prefix, fs[i].key, type_name(v));
			if (json_object_get_int64(v) < fs[i].min)
				return rv_error_set(
					err, EBADMSG,
					"'%s': field '%s%s' must be at least %lld (got %lld)", path,
					prefix, fs[i].key, (long long)fs[i].min,
					(long long)json_object_get_int64(v));
			break;
		}
	}
	return 0;
}

static int check_id(struct json_object *obj, int64_t expected_id, const char *path, int64_t *ret_id,
		    struct rv_error **err)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(obj, "id", &v) || !v)
		return rv_error_set(err, EBADMSG, "'%s': field 'id' is missing", path);
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
		return rv_error_set(err, EBADMSG,
				    "'%s': field 'id' must be a positive integer, not %s", path,
				    json_object_get_string(v));
	int64_t id = json_object_get_int64(v);
	if (expected_id > 0 && id != expected_id)
		return rv_error_set(err, EBADMSG,
				    "'%s': field 'id' is %lld but the task directory is %lld", path,
				    (long long)id, (long long)expected_id);
	*ret_id = id;
	return 0;
}

static int validate(struct json_object *obj, int64_t expected_id, const char *path, int64_t *ret_id,
		    struct rv_error **err)
{
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EBADMSG, "'%s' is not a JSON object", path);
	int r = check_id(obj, expected_id, path, ret_id, err);
	if (r < 0)
		return r;

	struct json_object *v = NULL;
	if (!json_object_object_get_ex(obj, "status", &v) || !v)
		return rv_error_set(err, EBADMSG, "'%s': field 'status' is missing", path);
	enum task_status st;
	if (!json_object_is_type(v, json_type_string) ||
	    !task_status_parse(json_object_get_string(v), &st))
		return rv_error_set(
			err, EBADMSG,
			"'%s': field 'status' is %.40s, expected one of NEW, IN_PROGRESS, "
			"ITERATING, PAUSED, COMPLETED, FAILED, MERGED, PUSHED",
			path, json_object_to_json_string(v));

	r = check_fields(obj, fields, ARRAY_SIZE(fields), "", path, err);
	if (r < 0)
		return r;

	const char *reason = jsonutil_get_str(obj, "pauseReason");
	enum task_pause_reason pr;
	if (reason && !task_pause_reason_parse(reason, &pr))
		return rv_error_set(
			err, EBADMSG,
			"'%s': field 'pauseReason' is '%.40s', expected one of "
			"retryable_error, signal, user, orphan, approval, operator, drain, "
			"stalled, window, budget",
			path, reason);

	struct json_object *engine = jsonutil_get_obj(obj, "engine");
	if (engine) {
		const char *kind = NULL;
		if (json_object_object_get_ex(engine, "kind", &v) && v) {
			if (!json_object_is_type(v, json_type_string))
				return rv_error_set(err, EBADMSG,
						    "'%s': field 'engine.kind' must be a string",
						    path);
			kind = json_object_get_string(v);
			if (strcmp(kind, "docker") && strcmp(kind, "podman"))
				return rv_error_set(
					err, EBADMSG,
					"'%s': field 'engine.kind' is '%.40s', expected "
					"docker or podman",
					path, kind);
		}
		if (json_object_object_get_ex(engine, "endpoint", &v) && v &&
		    !json_object_is_type(v, json_type_string))
			return rv_error_set(err, EBADMSG,
					    "'%s': field 'engine.endpoint' must be a string", path);
	}

	struct json_object *ar = jsonutil_get_obj(obj, "autoRetry");
	if (ar) {
		r = check_fields(ar, auto_retry_fields, ARRAY_SIZE(auto_retry_fields), "autoRetry.",
				 path, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- versions and migration ---------------------------------------------- */

/* "M.m" or "M.m.p", decimal; false for anything else. */
static bool parse_version(const char *s, long *ret_major, long *ret_minor)
{
	long part[3] = {0, 0, 0};
	int n = 0;
	const char *p = s;
	for (;;) {
		if (*p < '0' || *p > '9' || n == 3)
			return false;
		long v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v > 100000)
				return false;
			v = v * 10 + (*p++ - '0');
		}
		part[n++] = v;
		if (*p == '\0')
			break;
		if (*p++ != '.')
			return false;
	}
	if (n < 2)
		return false;
	*ret_major = part[0];
	*ret_minor = part[1];
	return true;
}

static void random_uuid(char out[37])
{
	uint8_t b[16];
	ssize_t n = getrandom(b, sizeof(b), GRND_NONBLOCK);
	if (n != (ssize_t)sizeof(b)) {
		/* No entropy yet (early boot): a uuid only has to be unique, and
		 * time, pid and an address are good enough for that. */
		uint64_t x = (uint64_t)timeutil_now_ms() ^ ((uint64_t)getpid() << 40) ^
			     (uint64_t)(uintptr_t)out;
		for (size_t i = 0; i < sizeof(b); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[i] = (uint8_t)x;
		}
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static const struct {
	const char *from;
	enum task_status to;
} legacy_status[] = {
	{"new", TASK_NEW},
	{"in_progress", TASK_IN_PROGRESS},
	{"running", TASK_IN_PROGRESS},
	{"iterating", TASK_ITERATING},
	{"completed", TASK_COMPLETED},
	{"failed", TASK_FAILED},
	{"merged", TASK_MERGED},
	{"pushed", TASK_PUSHED},
	{"paused", TASK_PAUSED},
};

static bool is_nonempty_str(struct json_object *obj, const char *key)
{
	const char *s = jsonutil_get_str(obj, key);
	return s && *s;
}

static bool has_type(struct json_object *obj, const char *key, json_type type)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(obj, key, &v) && v && json_object_is_type(v, type);
}

/* Migration on load (docs/design/store-layout.md).  Unknown fields stay. */
static void migrate(struct json_object *obj, int64_t now_ms)
{
	enum task_status st = TASK_NEW;
	const char *old = jsonutil_get_str(obj, "status");
	for (size_t i = 0; old && i < ARRAY_SIZE(legacy_status); i++) {
		if (!strcasecmp(old, legacy_status[i].from)) {
			st = legacy_status[i].to;
			break;
		}
	}
	jsonutil_set_str(obj, "status", status_names[st]);

	char ts[TIMEUTIL_ISO_LEN];
	if (!is_nonempty_str(obj, "title"))
		jsonutil_set_str(obj, "title", "Unknown Task");
	if (!has_type(obj, "description", json_type_string))
		jsonutil_set_str(obj, "description", "");
	if (!is_nonempty_str(obj, "workflowName"))
		jsonutil_set_str(obj, "workflowName", "swe");
	int64_t it = 0;
	if (!jsonutil_get_int64(obj, "iterations", &it) || it < 1)
		jsonutil_set_int64(obj, "iterations", 1);
	if (!has_type(obj, "inputs", json_type_object))
		json_object_object_add(obj, "inputs", json_object_new_object());
	if (!has_type(obj, "worktreePath", json_type_string))
		jsonutil_set_str(obj, "worktreePath", "");
	if (!has_type(obj, "branchName", json_type_string))
		jsonutil_set_str(obj, "branchName", "");
	if (!is_nonempty_str(obj, "createdAt"))
		jsonutil_set_str(obj, "createdAt", timeutil_format_iso(now_ms, ts));
	if (!is_nonempty_str(obj, "uuid")) {
		char uuid[37];
		random_uuid(uuid);
		jsonutil_set_str(obj, "uuid", uuid);
	}

	const char *docker_host = jsonutil_get_str(obj, "dockerHost");
	if (docker_host) {
		struct json_object *meta = jsonutil_get_obj(obj, "sandboxMetadata");
		if (!meta) {
			meta = json_object_new_object();
			json_object_object_add(obj, "sandboxMetadata", meta);
		}
		if (!jsonutil_get_str(meta, "dockerHost"))
			jsonutil_set_str(meta, "dockerHost", docker_host);
		json_object_object_del(obj, "dockerHost");
	}
	jsonutil_set_str(obj, "version", TASK_SCHEMA_VERSION);
}

/* 0: current or newer minor; 1: needs migration; < 0: refused. */
static int check_version(struct json_object *obj, const char *path, struct rv_error **err)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(obj, "version", &v) || !v)
		return 1; /* written before versions existed */
	if (!json_object_is_type(v, json_type_string))
		return rv_error_set(err, EBADMSG, "'%s': field 'version' must be a string, not %s",
				    path, type_name(v));
	long major = 0, minor = 0;
	if (!parse_version(json_object_get_string(v), &major, &minor))
		return rv_error_set(err, EBADMSG, "'%s': schema version '%.40s' is not valid", path,
				    json_object_get_string(v));
	if (major != TASK_SCHEMA_MAJOR)
		return rv_error_set(err, ENOTSUP,
				    "'%s': schema version %s is not supported (this rover reads "
				    "1.x, writes %s)",
				    path, json_object_get_string(v), TASK_SCHEMA_VERSION);
	return minor < TASK_SCHEMA_MINOR ? 1 : 0;
}

int task_from_json(struct json_object *obj, int64_t expected_id, const char *path,
		   struct task **ret, bool *ret_migrated, struct rv_error **err)
{
	_cleanup_json_ struct json_object *o = obj;
	if (!json_object_is_type(o, json_type_object))
		return rv_error_set(err, EBADMSG, "'%s' is not a JSON object", path);
	int r = check_version(o, path, err);
	if (r < 0)
		return r;
	bool migrated = r == 1;
	if (migrated)
		migrate(o, timeutil_now_ms());
	int64_t id = 0;
	r = validate(o, expected_id, path, &id, err);
	if (r < 0)
		return r;
	struct task *t = xcalloc(1, sizeof(*t));
	t->id = id;
	t->obj = TAKE_PTR(o);
	if (ret_migrated)
		*ret_migrated = migrated;
	*ret = t;
	return 0;
}

int task_parse(const char *buf, size_t len, int64_t expected_id, const char *path,
	       struct task **ret, bool *ret_migrated, struct rv_error **err)
{
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	struct json_object *obj = NULL;
	int r = jsonutil_parse(buf, len, what, &obj, err);
	if (r < 0)
		return r;
	return task_from_json(obj, expected_id, path, ret, ret_migrated, err);
}

int task_load(const char *path, int64_t expected_id, bool persist_migration, struct task **ret,
	      struct rv_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fileio_read_bounded(path, TASK_MAX_FILE_BYTES, &buf, &len, err);
	if (r < 0)
		return r;
	struct task *t = NULL;
	bool migrated = false;
	r = task_parse(buf, len, expected_id, path, &t, &migrated, err);
	if (r < 0)
		return r;
	if (migrated && persist_migration) {
		/* Backup first: if the save then fails, the original is still
		 * in place and the backup is a harmless copy of it. */
		_cleanup_free_ char *backup = xasprintf("%s%s", path, TASK_BACKUP_SUFFIX);
		r = fileio_write_atomic(backup, buf, len, 0644, err);
		if (r >= 0)
			r = task_save(t, path, err);
		if (r < 0) {
			task_free(t);
			return rv_error_wrap(err, "cannot migrate '%s' to schema %s", path,
					     TASK_SCHEMA_VERSION);
		}
	}
	*ret = t;
	return 0;
}

int task_validate(const struct task *t, const char *path, struct rv_error **err)
{
	int64_t id = 0;
	int r = check_version(t->obj, path, err);
	if (r < 0)
		return r;
	if (r == 1)
		return rv_error_set(err, EBADMSG, "'%s': schema version is older than %s", path,
				    TASK_SCHEMA_VERSION);
	return validate(t->obj, t->id, path, &id, err);
}

int task_save(const struct task *t, const char *path, struct rv_error **err)
{
	int r = task_validate(t, path, err);
	if (r < 0)
		return rv_error_wrap(err, "refusing to write an invalid task record");
	return jsonutil_write_file(path, t->obj, err);
}

void task_free(struct task *t)
{
	if (!t)
		return;
	json_object_put(t->obj);
	free(t);
}

double task_budget_usd(const struct task *t, double project_default)
{
	struct json_object *b = NULL;
	if (json_object_object_get_ex(t->obj, "budgetUsd", &b) &&
	    (json_object_is_type(b, json_type_double) || json_object_is_type(b, json_type_int))) {
		double d = json_object_get_double(b);
		if (d > 0)
			return d;
	}
	return project_default > 0 ? project_default : 0;
}

struct task *task_dup(const struct task *t)
{
	struct task *copy = xcalloc(1, sizeof(*copy));
	copy->id = t->id;
	if (json_object_deep_copy(t->obj, &copy->obj, NULL) != 0) {
		free(copy);
		return NULL;
	}
	return copy;
}

int task_new(int64_t id, const char *title, const char *description, int64_t now_ms,
	     struct task **ret, struct rv_error **err)
{
	if (id <= 0)
		return rv_error_set(err, EINVAL, "task id must be a positive integer");
	if (!title || !*title)
		return rv_error_set(err, EINVAL, "a task needs a title");
	char ts[TIMEUTIL_ISO_LEN], uuid[37];
	timeutil_format_iso(now_ms, ts);
	random_uuid(uuid);
	struct json_object *o = json_object_new_object();
	jsonutil_set_int64(o, "id", id);
	jsonutil_set_str(o, "uuid", uuid);
	jsonutil_set_str(o, "title", title);
	jsonutil_set_str(o, "description", description ? description : "");
	json_object_object_add(o, "inputs", json_object_new_object());
	jsonutil_set_str(o, "status", status_names[TASK_NEW]);
	jsonutil_set_str(o, "createdAt", ts);
	jsonutil_set_str(o, "lastStatusCheck", ts);
	jsonutil_set_int64(o, "iterations", 1);
	jsonutil_set_str(o, "workflowName", "swe");
	jsonutil_set_str(o, "worktreePath", "");
	jsonutil_set_str(o, "branchName", "");
	jsonutil_set_str(o, "version", TASK_SCHEMA_VERSION);
	struct task *t = xcalloc(1, sizeof(*t));
	t->id = id;
	t->obj = o;
	*ret = t;
	return 0;
}

/* ---- status ---------------------------------------------------------------- */

enum task_status task_status(const struct task *t)
{
	enum task_status st = TASK_NEW;
	task_status_parse(jsonutil_get_str(t->obj, "status"), &st);
	return st;
}

static void set_now(struct task *t, const char *key, const char *ts)
{
	jsonutil_set_str(t->obj, key, ts);
}

static bool present(const struct task *t, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(t->obj, key, &v) && v &&
	       !(json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0);
}

static void set_error(struct task *t, const char *error)
{
	jsonutil_set_str(t->obj, "error", error && *error ? error : NULL);
}

static void apply_status(struct task *t, enum task_status to, const char *error,
			 enum task_pause_reason reason, int64_t now_ms)
{
	char ts[TIMEUTIL_ISO_LEN];
	timeutil_format_iso(now_ms, ts);
	/* The supervisor's SIGTERM of a stalled task comes back as a signal
	 * pause (or an exit 2 without a status): it was a stall. */
	struct json_object *stall = jsonutil_get_obj(t->obj, "stallRequest");
	if (to == TASK_PAUSED && stall &&
	    (reason == TASK_PAUSE_SIGNAL || reason == TASK_PAUSE_ORPHAN)) {
		const char *c = jsonutil_get_str(stall, "containerId");
		const char *cur = jsonutil_get_str(t->obj, "containerId");
		if (c && cur && !strcmp(c, cur))
			reason = TASK_PAUSE_STALLED;
	}
	if (to != TASK_IN_PROGRESS && to != TASK_ITERATING)
		json_object_object_del(t->obj, "stallRequest");
	/* Kept while a start is in flight, so that a start that dies is
	 * rolled back into the queue (resume_recover: IN_PROGRESS -> NEW). */
	if (to != TASK_NEW && to != TASK_IN_PROGRESS)
		json_object_object_del(t->obj, "queued");
	jsonutil_set_str(t->obj, "status", status_names[to]);
	set_now(t, "lastStatusCheck", ts);
	switch (to) {
	case TASK_NEW:
		set_error(t, NULL);
		break;
	case TASK_IN_PROGRESS:
		if (!present(t, "startedAt"))
			set_now(t, "startedAt", ts);
		set_error(t, NULL);
		break;
	case TASK_ITERATING:
		set_now(t, "lastIterationAt", ts);
		set_error(t, NULL);
		break;
	case TASK_PAUSED:
		set_now(t, "pausedAt", ts);
		jsonutil_set_str(t->obj, "pauseReason", reason_names[reason]);
		set_error(t, error);
		break;
	case TASK_COMPLETED: {
		set_now(t, "completedAt", ts);
		struct json_object *ar = jsonutil_get_obj(t->obj, "autoRetry");
		if (ar)
			jsonutil_set_int64(ar, "count", 0);
		break;
	}
	case TASK_FAILED:
		set_now(t, "failedAt", ts);
		set_error(t, error);
		break;
	case TASK_MERGED:
	case TASK_PUSHED:
		if (!present(t, "completedAt"))
			set_now(t, "completedAt", ts);
		break;
	case TASK__STATUS_MAX:
		break;
	}
	/* A pause asked of a running task is used up once it is no longer
	 * running (reconcile.h). */
	if (!task_status_is_running(to))
		json_object_object_del(t->obj, "pauseRequested");
	if (to != TASK_PAUSED) {
		json_object_object_del(t->obj, "pausedAt");
		json_object_object_del(t->obj, "pauseReason");
		struct json_object *ar = jsonutil_get_obj(t->obj, "autoRetry");
		if (ar)
			json_object_object_del(ar, "nextRetryAt");
	}
}

int task_set_status(struct task *t, enum task_status to, const char *error,
		    enum task_pause_reason reason, int64_t now_ms, struct rv_error **err)
{
	if ((unsigned)to >= TASK__STATUS_MAX)
		return rv_error_set(err, EINVAL, "task %lld: invalid status %d", (long long)t->id,
				    (int)to);
	enum task_status from = task_status(t);
	if (!task_transition_allowed(from, to))
		return rv_error_set(err, EPERM, "task %lld cannot go from %s to %s",
				    (long long)t->id, status_names[from], status_names[to]);
	if (to == TASK_PAUSED && (reason <= TASK_PAUSE_NONE || reason >= TASK__PAUSE_MAX))
		return rv_error_set(err, EINVAL, "task %lld: a pause needs a reason",
				    (long long)t->id);
	apply_status(t, to, error, reason, now_ms);
	return 0;
}

int task_restart(struct task *t, int64_t now_ms, struct rv_error **err)
{
	enum task_status from = task_status(t);
	if (from == TASK_MERGED || from == TASK_PUSHED)
		return rv_error_set(err, EPERM, "task %lld cannot be restarted: it is %s",
				    (long long)t->id, status_names[from]);
	/* restartCount comes from a file anyone with the store can edit: a count
	 * that cannot grow is refused here rather than wrapping negative (which
	 * the next save would refuse, with the task already half-restarted). */
	int64_t n = 0, next;
	task_get_int(t, "restartCount", &n);
	if (n < 0 || __builtin_add_overflow(n, 1, &next))
		return rv_error_set(err, ERANGE,
				    "task %lld cannot be restarted: its restartCount %lld is out "
				    "of range; fix or delete the task record",
				    (long long)t->id, (long long)n);
	task_set_int(t, "restartCount", next);
	task_set_time(t, "lastRestartAt", now_ms);
	/* A run from the start asks its breakpoints again. */
	json_object_object_del(t->obj, "approvals");
	apply_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now_ms);
	return 0;
}

int task_iterate(struct task *t, int64_t now_ms, struct rv_error **err)
{
	enum task_status from = task_status(t);
	if (from != TASK_COMPLETED && from != TASK_FAILED && from != TASK_MERGED &&
	    from != TASK_PUSHED)
		return rv_error_set(err, EPERM, "task %lld cannot start a new iteration: it is %s",
				    (long long)t->id, status_names[from]);
	int64_t n = task_iterations(t), next;
	/* iterations comes from a file anyone with the store can edit. */
	if (__builtin_add_overflow(n, 1, &next))
		return rv_error_set(err, ERANGE,
				    "task %lld cannot start a new iteration: its iterations %lld "
				    "is out of range",
				    (long long)t->id, (long long)n);
	jsonutil_set_int64(t->obj, "iterations", next);
	char ts[TIMEUTIL_ISO_LEN];
	set_now(t, "lastIterationAt", timeutil_format_iso(now_ms, ts));
	apply_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now_ms);
	return 0;
}

/* ---- fields ---------------------------------------------------------------- */

const char *task_get_str(const struct task *t, const char *key)
{
	return jsonutil_get_str(t->obj, key);
}

void task_set_str(struct task *t, const char *key, const char *val)
{
	jsonutil_set_str(t->obj, key, val);
}

bool task_get_int(const struct task *t, const char *key, int64_t *ret)
{
	return jsonutil_get_int64(t->obj, key, ret);
}

void task_set_int(struct task *t, const char *key, int64_t val)
{
	jsonutil_set_int64(t->obj, key, val);
}

bool task_get_time(const struct task *t, const char *key, int64_t *ret_ms)
{
	return timeutil_parse_iso(jsonutil_get_str(t->obj, key), ret_ms);
}

void task_set_time(struct task *t, const char *key, int64_t ms)
{
	char ts[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(t->obj, key, ms < 0 ? NULL : timeutil_format_iso(ms, ts));
}

const char *task_title(const struct task *t)
{
	const char *s = jsonutil_get_str(t->obj, "title");
	return s ? s : "";
}

int64_t task_iterations(const struct task *t)
{
	int64_t n = 1;
	if (!jsonutil_get_int64(t->obj, "iterations", &n) || n < 1)
		n = 1;
	return n;
}

const char *task_container_id(const struct task *t)
{
	return jsonutil_get_str(t->obj, "containerId");
}

const char *task_error(const struct task *t)
{
	return jsonutil_get_str(t->obj, "error");
}

enum task_pause_reason task_pause_reason(const struct task *t)
{
	enum task_pause_reason r = TASK_PAUSE_NONE;
	task_pause_reason_parse(jsonutil_get_str(t->obj, "pauseReason"), &r);
	return r;
}

bool task_get_engine(const struct task *t, const char **ret_kind, const char **ret_endpoint)
{
	struct json_object *e = jsonutil_get_obj(t->obj, "engine");
	if (!e)
		return false;
	if (ret_kind)
		*ret_kind = jsonutil_get_str(e, "kind");
	if (ret_endpoint)
		*ret_endpoint = jsonutil_get_str(e, "endpoint");
	return true;
}

void task_set_engine(struct task *t, const char *kind, const char *endpoint)
{
	struct json_object *e = jsonutil_get_obj(t->obj, "engine");
	if (!e) {
		e = json_object_new_object();
		json_object_object_add(t->obj, "engine", e);
	}
	jsonutil_set_str(e, "kind", kind);
	jsonutil_set_str(e, "endpoint", endpoint);
}

struct json_object *task_container_end(const struct task *t)
{
	struct json_object *end = jsonutil_get_obj(t->obj, "containerEnd");
	const char *cid = task_container_id(t);
	const char *id = jsonutil_get_str(end, "id");
	return cid && id && !strcmp(cid, id) ? end : NULL;
}

void task_set_container_end(struct task *t, const char *id, const char *name, const char *state,
			    int exit_code, bool oom_killed, int64_t seen_ms)
{
	struct json_object *end = json_object_new_object();
	jsonutil_set_str(end, "id", id);
	if (name)
		jsonutil_set_str(end, "name", name);
	/* Podman says "stopped" for an exited container it has not cleaned up
	 * yet, and "exited" a moment later: one end, one name. */
	jsonutil_set_str(end, "state", state && !strcmp(state, "stopped") ? "exited" : state);
	jsonutil_set_int64(end, "exitCode", exit_code);
	jsonutil_set_bool(end, "oomKilled", oom_killed);
	char iso[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(end, "seenAt", timeutil_format_iso(seen_ms, iso));
	json_object_object_add(t->obj, "containerEnd", end);
}

void task_get_auto_retry(const struct task *t, struct task_auto_retry *ret)
{
	struct task_auto_retry a = {0};
	struct json_object *ar = jsonutil_get_obj(t->obj, "autoRetry");
	if (ar) {
		jsonutil_get_int64(ar, "count", &a.count);
		jsonutil_get_int64(ar, "max", &a.max);
		if (!timeutil_parse_iso(jsonutil_get_str(ar, "nextRetryAt"), &a.next_retry_at_ms))
			a.next_retry_at_ms = 0;
		if (!timeutil_parse_iso(jsonutil_get_str(ar, "lastAttemptAt"),
					&a.last_attempt_at_ms))
			a.last_attempt_at_ms = 0;
		a.provider = jsonutil_get_str(ar, "provider");
	}
	*ret = a;
}

void task_set_auto_retry(struct task *t, const struct task_auto_retry *a)
{
	struct json_object *ar = jsonutil_get_obj(t->obj, "autoRetry");
	if (!ar) {
		ar = json_object_new_object();
		json_object_object_add(t->obj, "autoRetry", ar);
	}
	char ts[TIMEUTIL_ISO_LEN];
	jsonutil_set_int64(ar, "count", a->count < 0 ? 0 : a->count);
	jsonutil_set_int64(ar, "max", a->max < 0 ? 0 : a->max);
	jsonutil_set_str(ar, "nextRetryAt",
			 a->next_retry_at_ms > 0 ? timeutil_format_iso(a->next_retry_at_ms, ts)
						 : NULL);
	/* provider may point into this very object: the setter copies the new
	 * string before the old one is released. */
	jsonutil_set_str(ar, "provider", a->provider);
	jsonutil_set_str(ar, "lastAttemptAt",
			 a->last_attempt_at_ms > 0 ? timeutil_format_iso(a->last_attempt_at_ms, ts)
						   : NULL);
}

void task_auto_retry_reset(struct task *t)
{
	struct json_object *ar = jsonutil_get_obj(t->obj, "autoRetry");
	if (!ar)
		return;
	jsonutil_set_int64(ar, "count", 0);
	json_object_object_del(ar, "nextRetryAt");
}

struct json_object *task_json(const struct task *t)
{
	return t->obj;
}
