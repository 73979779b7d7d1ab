#define _GNU_SOURCE
#include "retry.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"

void retry_policy_init(struct retry_policy *p, const struct project_retry *s)
{
	p->max = s ? s->max : PROJECT_RETRY_DEFAULT_MAX;
	p->backoff.base_seconds = s ? s->base_seconds : PROJECT_RETRY_DEFAULT_BASE;
	p->backoff.cap_seconds = s ? s->cap_seconds : PROJECT_RETRY_DEFAULT_CAP;
	p->reset_min_ms = RETRY_RESET_MIN_MS;
	p->reset_max_ms = RETRY_RESET_MAX_MS;
}

static bool parse_seconds(const char *s, char **end, int64_t *ret)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	long long v = strtoll(s, end, 10);
	if (errno || v < 0 || v > RETRY_RESET_WINDOW_LIMIT_S)
		return false;
	*ret = v;
	return true;
}

int retry_policy_set_reset_window(struct retry_policy *p, const char *spec, struct rv_error **err)
{
	if (!spec || !*spec)
		return 0;
	int64_t lo, hi;
	char *end = NULL;
	if (!parse_seconds(spec, &end, &lo))
		goto bad;
	if (*end == '\0') {
		hi = lo;
	} else {
		if (*end != '-' || !parse_seconds(end + 1, &end, &hi) || *end != '\0')
			goto bad;
	}
	if (lo > hi)
		goto bad;
	p->reset_min_ms = lo * 1000;
	p->reset_max_ms = hi * 1000;
	return 0;
bad:
	return rv_error_set(err, EINVAL,
			    "ROVER_RETRY_RESET_WINDOW '%s': expected MIN-MAX seconds after a "
			    "provider's reset time (0 <= MIN <= MAX <= %d), e.g. 120-540",
			    spec, RETRY_RESET_WINDOW_LIMIT_S);
}

bool retry_eligible(const struct task *t)
{
	/* A stall is retried like a transient failure: the step runs again. */
	return task_status(t) == TASK_PAUSED &&
	       (task_pause_reason(t) == TASK_PAUSE_RETRYABLE_ERROR ||
		task_pause_reason(t) == TASK_PAUSE_STALLED);
}

/* span * rnd / UINT32_MAX without overflow. */
static int64_t scale(int64_t span, uint32_t rnd)
{
	if (span <= 0)
		return 0;
	return (int64_t)(((unsigned __int128)span * rnd) / UINT32_MAX);
}

int64_t retry_due_at(const struct task *t, const struct retry_policy *p, int64_t now_ms,
		     int64_t reset_at_ms, uint32_t rnd)
{
	int64_t at;
	/* Defence in depth: a reset time nobody judged (retry_reset_check)
	 * can still not schedule a retry for year 10000. */
	if (reset_at_ms > now_ms + RETRY_RESET_HORIZON_MS || reset_at_ms < RETRY_RESET_FLOOR_MS)
		reset_at_ms = 0;
	if (reset_at_ms > 0) {
		at = reset_at_ms + p->reset_min_ms + scale(p->reset_max_ms - p->reset_min_ms, rnd);
	} else {
		struct task_auto_retry ar;
		task_get_auto_retry(t, &ar);
		/* Counted from the pause (or the last attempt, whichever is later),
		 * so a supervisor started long after the pause does not add a
		 * second wait, and a failed start waits a full delay again. */
		int64_t base = 0, paused = 0;
		if (task_get_time(t, "pausedAt", &paused))
			base = paused;
		if (ar.last_attempt_at_ms > base)
			base = ar.last_attempt_at_ms;
		if (base <= 0 || base > now_ms)
			base = now_ms;
		int attempt = ar.count > 1000 ? 1000 : (int)ar.count;
		at = base + backoff_delay_ms(&p->backoff, attempt, rnd);
	}
	return at > now_ms ? at : now_ms;
}

void retry_decide(const struct task *t, const struct retry_policy *p, int64_t now_ms,
		  int64_t reset_at_ms, uint32_t rnd, struct retry_decision *ret)
{
	struct retry_decision d = {.action = RETRY_NONE, .max = p->max};
	if (!retry_eligible(t)) {
		*ret = d;
		return;
	}
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	/* count comes from the task record: INT64_MAX must not overflow */
	d.attempt = ar.count < INT_MAX ? (int)ar.count + 1 : INT_MAX;
	if (p->max <= 0 || ar.count >= p->max) {
		d.action = RETRY_GIVE_UP;
	} else if (ar.next_retry_at_ms <= 0) {
		d.action = RETRY_SCHEDULE;
		d.at_ms = retry_due_at(t, p, now_ms, reset_at_ms, rnd);
	} else {
		d.at_ms = ar.next_retry_at_ms;
		d.action = now_ms >= ar.next_retry_at_ms ? RETRY_FIRE : RETRY_WAIT;
	}
	*ret = d;
}

bool retry_apply_schedule(struct task *t, const struct retry_policy *p, int64_t now_ms,
			  int64_t reset_at_ms, uint32_t rnd)
{
	struct retry_decision d;
	retry_decide(t, p, now_ms, reset_at_ms, rnd, &d);
	if (d.action != RETRY_SCHEDULE)
		return false;
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	ar.next_retry_at_ms = d.at_ms;
	ar.max = p->max;
	task_set_auto_retry(t, &ar);
	return true;
}

bool retry_apply_give_up(struct task *t, const struct retry_policy *p, int64_t now_ms)
{
	struct retry_decision d;
	retry_decide(t, p, now_ms, 0, 0, &d);
	if (d.action != RETRY_GIVE_UP)
		return false;
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	if (ar.max == p->max && ar.next_retry_at_ms == 0)
		return false;
	/* With max 0 (auto-retry off) the recorded max stays 0 and the view
	 * falls back to the policy's 0, which also says "resume by hand". */
	ar.max = p->max;
	ar.next_retry_at_ms = 0;
	task_set_auto_retry(t, &ar);
	return true;
}

bool retry_apply_attempt(struct task *t, const struct retry_policy *p, int64_t now_ms)
{
	struct retry_decision d;
	retry_decide(t, p, now_ms, 0, 0, &d);
	if (d.action != RETRY_FIRE)
		return false;
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	ar.count++;
	ar.max = p->max;
	ar.last_attempt_at_ms = now_ms;
	ar.next_retry_at_ms = 0;
	task_set_auto_retry(t, &ar);
	return true;
}

void retry_undo_attempt(struct task *t, int64_t due_ms)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	if (ar.count > 0)
		ar.count--;
	ar.next_retry_at_ms = due_ms > 0 ? due_ms : 1;
	task_set_auto_retry(t, &ar);
}

enum retry_recover_action retry_recover_decide(const struct retry_recover_obs *o)
{
	if (!o->in_flight)
		return RECOVER_NONE;
	if (o->lock_held)
		return RECOVER_WAIT;
	bool active = task_status_is_running(o->status);
	if (!active || o->has_container_id)
		return RECOVER_CLEAR;
	if (!o->engine_known)
		return RECOVER_WAIT;
	/* The engine gives creation times in whole seconds: a container created
	 * in the marker's second or later is the one this resume made (launch
	 * removes the iteration's previous container before creating one). */
	if (o->container_exists && o->container_created_ms / 1000 >= o->since_ms / 1000)
		return o->container_never_started ? RECOVER_START : RECOVER_ADOPT;
	return RECOVER_ROLLBACK;
}

const char *retry_action_name(enum retry_action a)
{
	static const char *const names[] = {"none", "give_up", "schedule", "wait", "fire"};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const char *retry_recover_action_name(enum retry_recover_action a)
{
	static const char *const names[] = {"none", "wait", "clear", "adopt", "start", "rollback"};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

enum retry_reset_check retry_reset_check(const char *text, int64_t now_ms, int64_t *ret_ms)
{
	if (!text || !*text)
		return RETRY_RESET_NONE;
	int64_t ms = 0;
	if (!timeutil_parse_iso(text, &ms))
		return RETRY_RESET_UNPARSABLE;
	if (ms < RETRY_RESET_FLOOR_MS)
		return RETRY_RESET_TOO_OLD;
	if (ms > now_ms + RETRY_RESET_HORIZON_MS)
		return RETRY_RESET_TOO_FAR;
	*ret_ms = ms;
	return RETRY_RESET_OK;
}

char *retry_reset_note(enum retry_reset_check c, const char *text)
{
	const char *why = NULL;
	switch (c) {
	case RETRY_RESET_NONE:
	case RETRY_RESET_OK:
		return NULL;
	case RETRY_RESET_TOO_FAR:
		why = "more than 7 days ahead";
		break;
	case RETRY_RESET_TOO_OLD:
		why = "before the year 2000";
		break;
	case RETRY_RESET_UNPARSABLE:
		why = "not a valid time";
		break;
	}
	/* The text is the container's: capped and escaped for any display. */
	_cleanup_free_ char *cut = xstrndup(text ? text : "", 64);
	_cleanup_free_ char *safe = textutil_escape_terminal(cut);
	return xasprintf("reset time %s ignored: %s; the normal backoff is used", safe, why);
}

static const char *reset_text(const char *path, struct json_object **holder)
{
	if (!path || iterfile_read_json(path, holder, NULL) < 0)
		return NULL;
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(*holder, "resetAt", &v) || !v)
		return NULL;
	/* A non-string resetAt is as unparsable as a bad string. */
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "?";
}

int64_t retry_read_reset_at(const char *checkpoint_path, const char *status_path, int64_t now_ms,
			    char **ret_note)
{
	_cleanup_json_ struct json_object *cp = NULL, *st = NULL;
	const char *text = reset_text(checkpoint_path, &cp);
	if (!text)
		text = reset_text(status_path, &st);
	int64_t ms = 0;
	enum retry_reset_check c = retry_reset_check(text, now_ms, &ms);
	if (ret_note)
		*ret_note = retry_reset_note(c, text);
	return c == RETRY_RESET_OK ? ms : 0;
}

bool retry_set_reset_note(struct task *t, const char *note)
{
	struct json_object *ar = jsonutil_get_obj(t->obj, "autoRetry");
	const char *cur = ar ? jsonutil_get_str(ar, "resetAtIgnored") : NULL;
	if (!note) {
		if (!cur)
			return false;
		json_object_object_del(ar, "resetAtIgnored");
		return true;
	}
	if (cur && !strcmp(cur, note))
		return false;
	if (!ar) {
		ar = json_object_new_object();
		json_object_object_add(t->obj, "autoRetry", ar);
	}
	jsonutil_set_str(ar, "resetAtIgnored", note);
	return true;
}
