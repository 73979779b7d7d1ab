#define _GNU_SOURCE
#include "checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"

struct checkpoint_store {
	char *path;
	struct checkpoint cp;
};

static const char *const known_keys[] = {
	"version",      "workflowHash", "savedAt", "seq",         "completedSteps",
	"loopProgress", "failedStepId", "error",   "isRetryable", "provider",
	"pauseReason",  "resetAt",      NULL,
};

static const char *const pause_reasons[] = {"retryable_error", "signal", "user",
					    "approval",        "budget", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static struct json_object *deep_copy(struct json_object *src)
{
	struct json_object *dst = NULL;
	if (!src)
		return NULL;
	/* Only fails on out-of-memory, which aborts everywhere else too. */
	if (json_object_deep_copy(src, &dst, NULL) < 0)
		abort();
	return dst;
}

static void checkpoint_release(struct checkpoint *cp)
{
	free(cp->workflow_hash);
	json_object_put(cp->completed_steps);
	json_object_put(cp->loop_progress);
	free(cp->failed_step_id);
	free(cp->error);
	free(cp->provider);
	free(cp->pause_reason);
	json_object_put(cp->extra);
	*cp = (struct checkpoint){0};
}

struct checkpoint *checkpoint_free(struct checkpoint *cp)
{
	if (!cp)
		return NULL;
	checkpoint_release(cp);
	free(cp);
	return NULL;
}

/* ---- values -------------------------------------------------------------- */

/* An output value as we store it: a string, valid UTF-8, at most
 * CHECKPOINT_MAX_VALUE bytes of its tail. */
static struct json_object *stored_value(struct json_object *v)
{
	const char *s;
	if (!v)
		s = "null";
	else if (json_object_is_type(v, json_type_object) ||
		 json_object_is_type(v, json_type_array))
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	else
		s = json_object_get_string(v); /* 42 -> "42", true -> "true" */
	_cleanup_free_ char *t = textutil_tail(s, CHECKPOINT_MAX_VALUE);
	return json_object_new_string(t);
}

/* outputs as stored: strings only, no input_prompt (it can be rebuilt from the
 * workflow and may carry secrets).  NULL gives {}. */
static struct json_object *stored_outputs(struct json_object *outputs)
{
	struct json_object *o = json_object_new_object();
	if (!outputs || !json_object_is_type(outputs, json_type_object))
		return o;
	json_object_object_foreach(outputs, key, val)
	{
		if (strcmp(key, "input_prompt") == 0)
			continue;
		json_object_object_add(o, key, stored_value(val));
	}
	return o;
}

/* ---- load ------------------------------------------------------------------ */

struct loader {
	const char *path;
	struct rv_error **err;
	char *warning;
};

static int bad(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *what = xvasprintf(fmt, ap);
	va_end(ap);
	return rv_error_set(l->err, EBADMSG, "invalid checkpoint '%s': %s", l->path,
			    what ? what : "malformed");
}

static void warn(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *w = xvasprintf(fmt, ap);
	va_end(ap);
	if (!w)
		return;
	char *joined = l->warning ? xasprintf("%s; %s", l->warning, w) : xstrdup(w);
	free(l->warning);
	l->warning = joined;
}

/* Optional member: absent and JSON null both count as absent. */
static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int opt_string(struct loader *l, struct json_object *root, const char *key, char **ret)
{
	struct json_object *v = member(root, key);
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(l, "\"%s\" must be a string", key);
	*ret = xstrdup(json_object_get_string(v));
	return 0;
}

/* An outputs map read from a file: scalar values coerced to strings as the
 * TypeScript rover does (42 -> "42", false -> "false", null -> "null"). */
static int load_outputs(struct loader *l, struct json_object *v, const char *where,
			struct json_object **ret)
{
	if (!v || !json_object_is_type(v, json_type_object))
		return bad(l, "%s must be an object", where);
	_cleanup_json_ struct json_object *o = json_object_new_object();
	json_object_object_foreach(v, key, val)
	{
		if (val && (json_object_is_type(val, json_type_object) ||
			    json_object_is_type(val, json_type_array)))
			return bad(l, "%s.%s must be a string", where, key);
		if (strcmp(key, "input_prompt") == 0)
			continue; /* written by an older runner: never carried forward */
		json_object_object_add(
			o, key, json_object_new_string(val ? json_object_get_string(val) : "null"));
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int load_completed(struct loader *l, struct json_object *root, struct json_object **ret)
{
	struct json_object *arr = member(root, "completedSteps");
	if (!arr)
		return bad(l, "\"completedSteps\" is missing");
	if (!json_object_is_type(arr, json_type_array))
		return bad(l, "\"completedSteps\" must be an array");
	_cleanup_json_ struct json_object *out = json_object_new_array();
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (!e || !json_object_is_type(e, json_type_object))
			return bad(l, "completedSteps[%zu] must be an object", i);
		const char *id = jsonutil_get_str(e, "id");
		if (!id || !*id)
			return bad(l, "completedSteps[%zu].id must be a non-empty string", i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(id, jsonutil_get_str(json_object_array_get_idx(out, j), "id")))
				return bad(l, "completedSteps[%zu].id \"%s\" appears twice", i, id);
		_cleanup_free_ char *where = xasprintf("completedSteps[%zu].outputs", i);
		struct json_object *outputs = NULL;
		int r = load_outputs(l, member(e, "outputs"), where, &outputs);
		if (r < 0)
			return r;
		struct json_object *entry = json_object_new_object();
		json_object_object_add(entry, "id", json_object_new_string(id));
		json_object_object_add(entry, "outputs", outputs);
		json_object_array_add(out, entry);
	}
	*ret = TAKE_PTR(out);
	return 0;
}

static int load_loop_entry(struct loader *l, const char *id, struct json_object *v,
			   struct json_object **ret)
{
	*ret = NULL;
	if (!json_object_is_type(v, json_type_object))
		return bad(l, "loopProgress.%s must be an object", id);
	struct json_object *it = member(v, "iteration"), *ix = member(v, "nextSubStepIndex");
	if (!it || !json_object_is_type(it, json_type_int))
		return bad(l, "loopProgress.%s.iteration must be an integer", id);
	if (!ix || !json_object_is_type(ix, json_type_int))
		return bad(l, "loopProgress.%s.nextSubStepIndex must be an integer", id);
	int64_t iteration = json_object_get_int64(it), index = json_object_get_int64(ix);

	_cleanup_json_ struct json_object *subs = json_object_new_object();
	struct json_object *so = member(v, "subStepOutputs");
	if (so) {
		if (!json_object_is_type(so, json_type_object))
			return bad(l, "loopProgress.%s.subStepOutputs must be an object", id);
		json_object_object_foreach(so, sid, sval)
		{
			_cleanup_free_ char *where =
				xasprintf("loopProgress.%s.subStepOutputs.%s", id, sid);
			struct json_object *o = NULL;
			int r = load_outputs(l, sval, where, &o);
			if (r < 0)
				return r;
			json_object_object_add(subs, sid, o);
		}
	}
	_cleanup_json_ struct json_object *skipped = json_object_new_array();
	struct json_object *sk = member(v, "skippedSubSteps");
	if (sk) {
		if (!json_object_is_type(sk, json_type_array))
			return bad(l, "loopProgress.%s.skippedSubSteps must be an array", id);
		size_t n = json_object_array_length(sk);
		for (size_t i = 0; i < n; i++) {
			struct json_object *s = json_object_array_get_idx(sk, i);
			if (!s || !json_object_is_type(s, json_type_string))
				return bad(l,
					   "loopProgress.%s.skippedSubSteps[%zu] must be a string",
					   id, i);
			json_object_array_add(skipped, json_object_get(s));
		}
	}

	/* Out of range is what an older or edited file may hold: drop it as the
	 * TypeScript rover does, the loop then starts over. */
	if (iteration < 1 || iteration > INT_MAX) {
		warn(l, "Ignoring invalid loop progress for \"%s\": iteration=%lld", id,
		     (long long)iteration);
		return 0;
	}
	if (index < 0 || index > INT_MAX) {
		warn(l, "Ignoring invalid loop progress for \"%s\": nextSubStepIndex=%lld", id,
		     (long long)index);
		return 0;
	}
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "iteration", json_object_new_int64(iteration));
	json_object_object_add(e, "nextSubStepIndex", json_object_new_int64(index));
	json_object_object_add(e, "subStepOutputs", TAKE_PTR(subs));
	json_object_object_add(e, "skippedSubSteps", TAKE_PTR(skipped));
	*ret = e;
	return 0;
}

static int load_loops(struct loader *l, struct json_object *root, struct json_object **ret)
{
	_cleanup_json_ struct json_object *out = json_object_new_object();
	struct json_object *lp = member(root, "loopProgress");
	if (lp) {
		if (!json_object_is_type(lp, json_type_object))
			return bad(l, "\"loopProgress\" must be an object");
		json_object_object_foreach(lp, id, v)
		{
			struct json_object *e = NULL;
			int r = load_loop_entry(l, id, v, &e);
			if (r < 0)
				return r;
			if (e)
				json_object_object_add(out, id, e);
		}
	}
	*ret = TAKE_PTR(out);
	return 0;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int load_header(struct loader *l, struct json_object *root, struct checkpoint *cp)
{
	struct json_object *v = member(root, "version");
	if (!v)
		return bad(l, "\"version\" is missing");
	if (!json_object_is_type(v, json_type_int))
		return bad(l, "\"version\" must be an integer");
	int64_t version = json_object_get_int64(v);
	if (version != CHECKPOINT_VERSION)
		return bad(l, "version %lld is not supported (this rover-agent reads version %d)",
			   (long long)version, CHECKPOINT_VERSION);
	cp->version = CHECKPOINT_VERSION;

	const char *hash = jsonutil_get_str(root, "workflowHash");
	if (!hash || !is_hex64(hash))
		return bad(l, "\"workflowHash\" must be 64 lowercase hex digits");
	cp->workflow_hash = xstrdup(hash);

	/* seq is incremented on every save: one from the file must leave room
	 * (2^53, JSON's exact integers; a checkpoint per step never gets near). */
	v = member(root, "seq");
	if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
	    json_object_get_int64(v) > (INT64_C(1) << 53))
		return bad(l, "\"seq\" must be an integer from 1 to 2^53");
	cp->seq = json_object_get_int64(v);

	const char *saved = jsonutil_get_str(root, "savedAt");
	if (!saved || !timeutil_parse_iso(saved, &cp->saved_at_ms))
		return bad(l, "\"savedAt\" must be an ISO-8601 time");
	return 0;
}

static int load_failure_and_pause(struct loader *l, struct json_object *root, struct checkpoint *cp)
{
	int r;
	if ((r = opt_string(l, root, "failedStepId", &cp->failed_step_id)) < 0 ||
	    (r = opt_string(l, root, "error", &cp->error)) < 0 ||
	    (r = opt_string(l, root, "provider", &cp->provider)) < 0 ||
	    (r = opt_string(l, root, "pauseReason", &cp->pause_reason)) < 0)
		return r;
	struct json_object *v = member(root, "isRetryable");
	if (v) {
		if (!json_object_is_type(v, json_type_boolean))
			return bad(l, "\"isRetryable\" must be a boolean");
		cp->has_is_retryable = true;
		cp->is_retryable = json_object_get_boolean(v);
	}
	if (cp->pause_reason && !in_list(cp->pause_reason, pause_reasons))
		return bad(
			l,
			"\"pauseReason\" \"%s\" is not retryable_error, signal, user, approval or budget",
			cp->pause_reason);
	v = member(root, "resetAt");
	if (v) {
		const char *s =
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (!s || !timeutil_parse_iso(s, &cp->reset_at_ms))
			return bad(l, "\"resetAt\" must be an ISO-8601 time");
	}
	return 0;
}

int checkpoint_load(const char *path, struct checkpoint **ret, char **ret_warning,
		    struct rv_error **err)
{
	_cleanup_json_ struct json_object *root = NULL;
	int r = jsonutil_read_object(path, &root, err);
	if (r < 0)
		return r; /* -ENOENT, or -EBADMSG naming the file */
	return checkpoint_from_json(root, path, ret, ret_warning, err);
}

int checkpoint_from_json(struct json_object *root, const char *path, struct checkpoint **ret,
			 char **ret_warning, struct rv_error **err)
{
	int r;
	struct loader l = {.path = path, .err = err};
	_cleanup_checkpoint_ struct checkpoint *cp = xcalloc(1, sizeof(*cp));
	if ((r = load_header(&l, root, cp)) < 0 ||
	    (r = load_completed(&l, root, &cp->completed_steps)) < 0 ||
	    (r = load_loops(&l, root, &cp->loop_progress)) < 0 ||
	    (r = load_failure_and_pause(&l, root, cp)) < 0) {
		free(l.warning);
		return r;
	}
	json_object_object_foreach(root, key, val)
	{
		if (in_list(key, known_keys))
			continue;
		if (!cp->extra)
			cp->extra = json_object_new_object();
		json_object_object_add(cp->extra, key, json_object_get(val));
	}
	if (ret_warning)
		*ret_warning = l.warning;
	else
		free(l.warning);
	*ret = TAKE_PTR(cp);
	return 0;
}

/* ---- queries ------------------------------------------------------------------ */

static struct json_object *find_completed(struct json_object *arr, const char *id, size_t *ret_i)
{
	size_t n = arr ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		const char *eid = jsonutil_get_str(e, "id");
		if (eid && strcmp(eid, id) == 0) {
			if (ret_i)
				*ret_i = i;
			return e;
		}
	}
	return NULL;
}

struct json_object *checkpoint_completed_outputs(const struct checkpoint *cp, const char *step_id)
{
	if (!cp || !step_id)
		return NULL;
	return jsonutil_get_obj(find_completed(cp->completed_steps, step_id, NULL), "outputs");
}

bool checkpoint_loop_progress(const struct checkpoint *cp, const char *loop_id,
			      struct checkpoint_loop_progress *ret)
{
	if (!cp || !loop_id)
		return false;
	struct json_object *e = jsonutil_get_obj(cp->loop_progress, loop_id);
	int64_t it = 0, ix = 0;
	if (!e || !jsonutil_get_int64(e, "iteration", &it) ||
	    !jsonutil_get_int64(e, "nextSubStepIndex", &ix))
		return false;
	ret->iteration = (int)it;
	ret->next_sub_step_index = (int)ix;
	ret->sub_step_outputs = jsonutil_get_obj(e, "subStepOutputs");
	ret->skipped = jsonutil_get_array(e, "skippedSubSteps");
	return true;
}

int checkpoint_drop_unknown(struct checkpoint *cp, bool (*keep)(const char *id, void *data),
			    void *data)
{
	int dropped = 0;
	if (!cp)
		return 0;
	struct json_object *arr = cp->completed_steps;
	for (size_t i = arr ? json_object_array_length(arr) : 0; i-- > 0;) {
		const char *id = jsonutil_get_str(json_object_array_get_idx(arr, i), "id");
		if (!id || !keep(id, data)) {
			json_object_array_del_idx(arr, i, 1);
			dropped++;
		}
	}
	if (cp->loop_progress) {
		/* Collect first: deleting inside json_object_object_foreach is unsafe. */
		_cleanup_json_ struct json_object *gone = json_object_new_array();
		json_object_object_foreach(cp->loop_progress, id, v)
		{
			(void)v;
			if (!keep(id, data))
				json_object_array_add(gone, json_object_new_string(id));
		}
		for (size_t i = 0; i < json_object_array_length(gone); i++)
			json_object_object_del(
				cp->loop_progress,
				json_object_get_string(json_object_array_get_idx(gone, i)));
	}
	return dropped;
}

/* ---- store --------------------------------------------------------------------- */

struct checkpoint_store *checkpoint_store_new(const char *path, const char *workflow_hash,
					      const struct checkpoint *prior)
{
	struct checkpoint_store *st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->cp.version = CHECKPOINT_VERSION;
	st->cp.workflow_hash = xstrdup(workflow_hash);
	if (prior) {
		/* Failure and pause fields describe the run that stopped, not this
		 * one: a later save must not re-write them (the TypeScript rover did). */
		st->cp.seq = prior->seq;
		st->cp.completed_steps = deep_copy(prior->completed_steps);
		st->cp.loop_progress = deep_copy(prior->loop_progress);
		st->cp.extra = deep_copy(prior->extra);
	}
	if (!st->cp.completed_steps)
		st->cp.completed_steps = json_object_new_array();
	if (!st->cp.loop_progress)
		st->cp.loop_progress = json_object_new_object();
	return st;
}

struct checkpoint_store *checkpoint_store_free(struct checkpoint_store *st)
{
	if (!st)
		return NULL;
	checkpoint_release(&st->cp);
	free(st->path);
	free(st);
	return NULL;
}

const struct checkpoint *checkpoint_store_get(const struct checkpoint_store *st)
{
	return &st->cp;
}

static struct json_object *to_json(const struct checkpoint *cp, int64_t seq, int64_t saved_at)
{
	char iso[TIMEUTIL_ISO_LEN];
	struct json_object *o = json_object_new_object();
	jsonutil_set_int64(o, "version", cp->version);
	jsonutil_set_str(o, "workflowHash", cp->workflow_hash);
	jsonutil_set_str(o, "savedAt", timeutil_format_iso(saved_at, iso));
	jsonutil_set_int64(o, "seq", seq);
	json_object_object_add(o, "completedSteps", json_object_get(cp->completed_steps));
	if (json_object_object_length(cp->loop_progress) > 0)
		json_object_object_add(o, "loopProgress", json_object_get(cp->loop_progress));
	jsonutil_set_str(o, "failedStepId", cp->failed_step_id);
	jsonutil_set_str(o, "error", cp->error);
	if (cp->has_is_retryable)
		jsonutil_set_bool(o, "isRetryable", cp->is_retryable);
	jsonutil_set_str(o, "provider", cp->provider);
	jsonutil_set_str(o, "pauseReason", cp->pause_reason);
	if (cp->reset_at_ms > 0)
		jsonutil_set_str(o, "resetAt", timeutil_format_iso(cp->reset_at_ms, iso));
	if (cp->extra) {
		json_object_object_foreach(cp->extra, key, val)
		{
			if (!json_object_object_get_ex(o, key, NULL))
				json_object_object_add(o, key, json_object_get(val));
		}
	}
	return o;
}

int checkpoint_verify_file(const char *path, int64_t seq, const char *workflow_hash,
			   struct rv_error **err)
{
	_cleanup_json_ struct json_object *o = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (jsonutil_read_object(path, &o, &e) < 0)
		return rv_error_set(err, EIO, "checkpoint '%s' does not read back: %s", path,
				    rv_error_msg(e));
	int64_t got = 0;
	if (!jsonutil_get_int64(o, "seq", &got) || got != seq)
		return rv_error_set(err, EIO,
				    "checkpoint '%s' reads back with seq %lld, expected %lld", path,
				    (long long)got, (long long)seq);
	const char *hash = jsonutil_get_str(o, "workflowHash");
	if (!hash || strcmp(hash, workflow_hash) != 0)
		return rv_error_set(err, EIO,
				    "checkpoint '%s' reads back with another workflowHash", path);
	return 0;
}

int checkpoint_store_save(struct checkpoint_store *st, struct rv_error **err)
{
	/* The number is used up even if the save fails: a failure after the
	 * rename (directory fsync, read back) can leave it on disk, and seq must
	 * never name two different files. */
	int64_t seq = ++st->cp.seq;
	int64_t now = timeutil_now_ms();
	_cleanup_json_ struct json_object *doc = to_json(&st->cp, seq, now);
	_cleanup_free_ char *text = jsonutil_to_pretty(doc);
	size_t len = strlen(text);
	if (len > JSONUTIL_MAX_FILE)
		/* We could not read it back, nor could a resume. */
		return rv_error_set(err, EFBIG, "checkpoint '%s' would be %zu bytes (at most %u)",
				    st->path, len, JSONUTIL_MAX_FILE);
	int r = fileio_write_atomic(st->path, text, len, 0644, err);
	if (r < 0)
		return r;
	r = checkpoint_verify_file(st->path, seq, st->cp.workflow_hash, err);
	if (r < 0)
		return r;
	st->cp.saved_at_ms = now;
	return 0;
}

int checkpoint_store_add_completed(struct checkpoint_store *st, const char *id,
				   struct json_object *outputs, struct rv_error **err)
{
	if (!id || !*id)
		return rv_error_set(err, EINVAL, "a completed step needs an id");
	struct json_object *stored = stored_outputs(outputs);
	struct json_object *e = find_completed(st->cp.completed_steps, id, NULL);
	if (e) {
		json_object_object_add(e, "outputs", stored); /* in place: order kept */
	} else {
		e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(id));
		json_object_object_add(e, "outputs", stored);
		json_object_array_add(st->cp.completed_steps, e);
	}
	return checkpoint_store_save(st, err);
}

int checkpoint_store_set_loop_progress(struct checkpoint_store *st, const char *loop_id,
				       int iteration, int next_sub_step_index,
				       struct json_object *sub_step_outputs,
				       struct json_object *skipped, struct rv_error **err)
{
	if (!loop_id || !*loop_id)
		return rv_error_set(err, EINVAL, "loop progress needs a loop id");
	if (iteration < 1)
		return rv_error_set(err, EINVAL, "invalid loop progress for \"%s\": iteration=%d",
				    loop_id, iteration);
	if (next_sub_step_index < 0)
		return rv_error_set(err, EINVAL,
				    "invalid loop progress for \"%s\": nextSubStepIndex=%d",
				    loop_id, next_sub_step_index);
	if (sub_step_outputs && !json_object_is_type(sub_step_outputs, json_type_object))
		return rv_error_set(err, EINVAL,
				    "invalid loop progress for \"%s\": subStepOutputs is not an "
				    "object",
				    loop_id);
	if (skipped && !json_object_is_type(skipped, json_type_array))
		return rv_error_set(err, EINVAL,
				    "invalid loop progress for \"%s\": skippedSubSteps is not an "
				    "array",
				    loop_id);
	size_t n_skipped = skipped ? json_object_array_length(skipped) : 0;
	for (size_t i = 0; i < n_skipped; i++)
		if (!json_object_is_type(json_object_array_get_idx(skipped, i), json_type_string))
			return rv_error_set(
				err, EINVAL,
				"invalid loop progress for \"%s\": skippedSubSteps[%zu] "
				"is not a string",
				loop_id, i);

	struct json_object *subs = json_object_new_object();
	if (sub_step_outputs) {
		json_object_object_foreach(sub_step_outputs, sid, sval)
		{
			json_object_object_add(subs, sid, stored_outputs(sval));
		}
	}
	struct json_object *sk = json_object_new_array();
	for (size_t i = 0; i < n_skipped; i++)
		json_object_array_add(sk, json_object_new_string(json_object_get_string(
						  json_object_array_get_idx(skipped, i))));
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "iteration", json_object_new_int(iteration));
	json_object_object_add(e, "nextSubStepIndex", json_object_new_int(next_sub_step_index));
	json_object_object_add(e, "subStepOutputs", subs);
	json_object_object_add(e, "skippedSubSteps", sk);
	json_object_object_add(st->cp.loop_progress, loop_id, e);
	return checkpoint_store_save(st, err);
}

int checkpoint_store_clear_loop_progress(struct checkpoint_store *st, const char *loop_id,
					 struct rv_error **err)
{
	if (loop_id)
		json_object_object_del(st->cp.loop_progress, loop_id);
	return checkpoint_store_save(st, err);
}

static void set_field(char **field, const char *val)
{
	free(*field);
	*field = val ? xstrdup(val) : NULL;
}

void checkpoint_store_stage_failure(struct checkpoint_store *st, const char *failed_step_id,
				    const char *error, bool is_retryable, const char *provider)
{
	set_field(&st->cp.failed_step_id, failed_step_id);
	free(st->cp.error);
	st->cp.error = error ? textutil_tail(error, CHECKPOINT_MAX_VALUE) : NULL;
	st->cp.has_is_retryable = true;
	st->cp.is_retryable = is_retryable;
	set_field(&st->cp.provider, provider);
}

int checkpoint_store_set_failure(struct checkpoint_store *st, const char *failed_step_id,
				 const char *error, bool is_retryable, const char *provider,
				 struct rv_error **err)
{
	checkpoint_store_stage_failure(st, failed_step_id, error, is_retryable, provider);
	return checkpoint_store_save(st, err);
}

int checkpoint_store_set_pause(struct checkpoint_store *st, const char *pause_reason,
			       int64_t reset_at_ms, struct rv_error **err)
{
	if (pause_reason && !in_list(pause_reason, pause_reasons))
		return rv_error_set(err, EINVAL,
				    "pause reason \"%s\" is not retryable_error, signal, user or "
				    "approval",
				    pause_reason);
	set_field(&st->cp.pause_reason, pause_reason);
	st->cp.reset_at_ms = reset_at_ms > 0 ? reset_at_ms : 0;
	return checkpoint_store_save(st, err);
}

int checkpoint_store_remove(struct checkpoint_store *st, struct rv_error **err)
{
	if (unlink(st->path) < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_error_errno(err, errno, "cannot remove checkpoint '%s'", st->path);
	}
	/* Otherwise a crash could bring back the checkpoint of a finished run. */
	_cleanup_free_ char *dir = fileio_dirname(st->path);
	return fileio_fsync_dir(dir, err);
}

/* Cost and usage ride in the document's top-level "usage" object, kept
 * like any key a newer writer added: copied from the prior checkpoint on
 * resume, so the totals add up across pauses. */
struct json_object *checkpoint_store_usage(const struct checkpoint_store *st)
{
	struct json_object *u = NULL;
	if (!st->cp.extra || !json_object_object_get_ex(st->cp.extra, "usage", &u) ||
	    !json_object_is_type(u, json_type_object))
		return NULL;
	return u;
}

void checkpoint_store_set_usage(struct checkpoint_store *st, struct json_object *usage)
{
	if (!st->cp.extra)
		st->cp.extra = json_object_new_object();
	json_object_object_add(st->cp.extra, "usage", json_object_get(usage));
}
