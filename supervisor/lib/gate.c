#define _GNU_SOURCE
#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/sha256.h"
#include "common/textutil.h"
#include "common/timeutil.h"

/* ---- accounts --------------------------------------------------------------- */

struct cred {
	const char *tool;
	const char *var;
	const char *kind; /* "key" or "token", for the label */
	const char *base_url;
};

/* The variables launch.c passes to the container, per tool, preferred
 * first: the CLI uses the first one set. */
static const struct cred creds[] = {
	{"claude", "CLAUDE_CODE_OAUTH_TOKEN", "token", "ANTHROPIC_BASE_URL"},
	{"claude", "ANTHROPIC_API_KEY", "key", "ANTHROPIC_BASE_URL"},
	{"codex", "OPENAI_API_KEY", "key", "OPENAI_BASE_URL"},
	{"opencode", "OPENAI_API_KEY", "key", "OPENAI_BASE_URL"},
	{"gemini", "GEMINI_API_KEY", "key", "GOOGLE_GEMINI_BASE_URL"},
	{"gemini", "GOOGLE_API_KEY", "key", "GOOGLE_GEMINI_BASE_URL"},
	{"qwen", "DASHSCOPE_API_KEY", "key", NULL},
	{"cursor", "CURSOR_API_KEY", "key", NULL},
};

void gate_account_of(const char *tool, gate_getenv_fn get, char **ret_key, char **ret_label)
{
	if (!tool || !*tool)
		tool = "claude";
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		if (strcmp(creds[i].tool, tool) != 0)
			continue;
		const char *v = get ? get(creds[i].var) : NULL;
		if (!v || !*v)
			continue;
		const char *base = creds[i].base_url && get ? get(creds[i].base_url) : NULL;
		/* The secret goes into the hash only; 48 bits tell accounts
		 * apart without helping anyone guess a key. */
		_cleanup_free_ char *material =
			xasprintf("%s=%s\n%s", creds[i].var, v, base ? base : "");
		char hex[SHA256_HEX_LEN];
		sha256_hex(material, strlen(material), hex);
		explicit_bzero(material, strlen(material));
		hex[12] = '\0';
		*ret_key = xasprintf("%s:%s", tool, hex);
		*ret_label = xasprintf("%s (%s …%s)", tool, creds[i].kind, hex + 8);
		return;
	}
	*ret_key = xstrdup(tool);
	*ret_label = xstrdup(tool);
}

/* ---- policy ------------------------------------------------------------------ */

static int env_seconds(gate_getenv_fn get, const char *name, int64_t *ret_ms, struct rv_error **err)
{
	const char *s = get ? get(name) : NULL;
	if (!s || !*s)
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 86400)
		return rv_error_set(err, EINVAL,
				    "environment variable %s must be a number of seconds from 0 to "
				    "86400, not '%.64s'",
				    name, s);
	*ret_ms = v * 1000;
	return 0;
}

int gate_policy_init(struct gate_policy *p, gate_getenv_fn get, struct rv_error **err)
{
	struct gate_policy q = {.probe_wait_ms = GATE_DEFAULT_PROBE_WAIT_S * 1000LL,
				.stagger_ms = GATE_DEFAULT_STAGGER_S * 1000LL};
	int r = env_seconds(get, "ROVER_GATE_PROBE_SECONDS", &q.probe_wait_ms, err);
	if (r == 0)
		r = env_seconds(get, "ROVER_GATE_STAGGER_SECONDS", &q.stagger_ms, err);
	if (r < 0)
		return r;
	*p = q;
	return 0;
}

/* ---- the table ----------------------------------------------------------------- */

static void gate_release_one(struct gate *g)
{
	free(g->account);
	free(g->label);
	free(g->reason);
}

void gate_table_release(struct gate_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		gate_release_one(&t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

struct gate *gate_find(const struct gate_table *t, const char *account)
{
	for (size_t i = 0; account && i < t->n; i++)
		if (!strcmp(t->v[i].account, account))
			return &t->v[i];
	return NULL;
}

bool gate_close(struct gate_table *t, const char *account, const char *label, int64_t until_ms,
		int64_t task_id, const char *reason, int64_t now_ms)
{
	if (!account || until_ms <= now_ms || until_ms > now_ms + GATE_HORIZON_MS)
		return false;
	struct gate *g = gate_find(t, account);
	if (g && until_ms <= g->until_ms)
		return false;
	if (!g) {
		if (t->n >= GATE_MAX_ENTRIES)
			return false;
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		g = &t->v[t->n++];
		*g = (struct gate){.account = xstrdup(account)};
	}
	free(g->label);
	g->label = xstrdup(label ? label : account);
	free(g->reason);
	g->reason = reason ? xstrndup(reason, 512) : NULL;
	g->until_ms = until_ms;
	g->closed_at_ms = now_ms;
	g->task_id = task_id;
	g->probe_task = 0;
	g->probe_at_ms = 0;
	g->last_release_ms = 0;
	return true;
}

enum gate_verdict gate_check(const struct gate *g, const struct gate_policy *p, int64_t now_ms,
			     int64_t *ret_at)
{
	if (!g)
		return GATE_OPEN;
	if (now_ms < g->until_ms) {
		*ret_at = g->until_ms;
		return GATE_CLOSED;
	}
	if (g->probe_at_ms <= 0)
		return GATE_PROBE;
	int64_t next = g->probe_at_ms + p->probe_wait_ms;
	if (g->last_release_ms > 0 && g->last_release_ms + p->stagger_ms > next)
		next = g->last_release_ms + p->stagger_ms;
	if (now_ms < next) {
		*ret_at = next;
		return GATE_STAGGER;
	}
	return GATE_RELEASE;
}

void gate_admitted(struct gate *g, int64_t id, int64_t now_ms)
{
	if (!g)
		return;
	if (g->probe_at_ms <= 0) {
		g->probe_task = id;
		g->probe_at_ms = now_ms;
	} else {
		g->last_release_ms = now_ms;
	}
}

bool gate_expire(struct gate_table *t, const char *account, const struct gate_policy *p,
		 int64_t now_ms, size_t waiting)
{
	struct gate *g = gate_find(t, account);
	if (!g || waiting > 0 || now_ms < g->until_ms)
		return false;
	if (g->probe_at_ms > 0 && now_ms < g->probe_at_ms + p->probe_wait_ms)
		return false;
	size_t i = (size_t)(g - t->v);
	gate_release_one(g);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
	return true;
}

/* ---- the queue ------------------------------------------------------------------ */

static int by_id(const void *a, const void *b)
{
	const struct queue_item *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int64_t queue_plan(struct queue_item *items, size_t n, struct gate_table *gates,
		   const struct gate_policy *p, int max_running, int running, int64_t now_ms)
{
	if (n > 1)
		qsort(items, n, sizeof(*items), by_id);
	int64_t wake = 0;
	int position = 0;
	for (size_t i = 0; i < n; i++) {
		struct queue_item *it = &items[i];
		it->probe = false;
		it->at_ms = 0;
		it->position = 0;
		it->group_full = false;
		if (!it->due) {
			it->why = QUEUE_NOT_DUE;
			continue;
		}
		struct gate *g = gate_find(gates, it->account);
		int64_t at = 0;
		enum gate_verdict v = gate_check(g, p, now_ms, &at);
		if (v == GATE_CLOSED || v == GATE_STAGGER) {
			it->why = v == GATE_CLOSED ? QUEUE_GATE : QUEUE_STAGGER;
			it->at_ms = at;
			it->position = ++position;
			if (wake == 0 || at < wake)
				wake = at;
			continue;
		}
		it->group_full = it->group_max > 0 && it->group_running &&
				 *it->group_running >= it->group_max;
		if ((max_running > 0 && running >= max_running) || it->group_full) {
			it->why = QUEUE_SLOTS;
			it->position = ++position;
			continue;
		}
		it->why = QUEUE_START;
		it->probe = v == GATE_PROBE;
		running++;
		if (it->group_running)
			(*it->group_running)++;
		gate_admitted(g, it->id, now_ms);
	}
	return wake;
}

const char *queue_why_name(enum queue_why w)
{
	switch (w) {
	case QUEUE_GATE:
		return "gate";
	case QUEUE_STAGGER:
		return "stagger";
	case QUEUE_SLOTS:
		return "maxRunning";
	case QUEUE_START:
		return "start";
	case QUEUE_NOT_DUE:
		return "notDue";
	}
	return "?";
}

char *queue_why_text(enum queue_why w, const char *label, int64_t at_ms, int max_running)
{
	char hhmm[TIMEUTIL_ISO_LEN];
	switch (w) {
	case QUEUE_GATE:
		return xasprintf("%s: limited until %s", label ? label : "?",
				 timeutil_format_hhmm(at_ms, hhmm));
	case QUEUE_STAGGER:
		return xasprintf("%s: limit reset, released one at a time (next at %s)",
				 label ? label : "?", timeutil_format_hhmm(at_ms, hhmm));
	case QUEUE_SLOTS:
		if (label)
			return xasprintf("waiting for a free %s slot (maxRunning %d)", label,
					 max_running);
		return xasprintf("waiting for a free slot (maxRunning %d)", max_running);
	case QUEUE_START:
	case QUEUE_NOT_DUE:
		break;
	}
	return xstrdup("waiting");
}

/* ---- persistence ------------------------------------------------------------------ */

static void set_time(struct json_object *o, const char *key, int64_t ms)
{
	char iso[TIMEUTIL_ISO_LEN];
	if (ms > 0)
		jsonutil_set_str(o, key, timeutil_format_iso(ms, iso));
}

static int64_t get_time(struct json_object *o, const char *key)
{
	int64_t ms = 0;
	const char *s = jsonutil_get_str(o, key);
	return s && timeutil_parse_iso(s, &ms) ? ms : 0;
}

int gate_table_load(const char *store_dir, struct gate_table *ret, struct rv_error **err)
{
	*ret = (struct gate_table){0};
	_cleanup_free_ char *path = fileio_join(store_dir, GATE_FILE);
	_cleanup_json_ struct json_object *j = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	int r = jsonutil_read_object(path, &j, &e);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		rv_error_pass(err, &e);
		return r;
	}
	struct json_object *arr = jsonutil_get_array(j, "gates");
	size_t n = arr ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n && ret->n < GATE_MAX_ENTRIES; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *acc = o ? jsonutil_get_str(o, "account") : NULL;
		int64_t until = o ? get_time(o, "limitedUntil") : 0;
		if (!acc || !*acc || until <= 0 || gate_find(ret, acc))
			continue;
		const char *label = jsonutil_get_str(o, "label"),
			   *reason = jsonutil_get_str(o, "reason");
		int64_t task = 0, probe = 0;
		jsonutil_get_int64(o, "task", &task);
		jsonutil_get_int64(o, "probeTask", &probe);
		ret->v = xrealloc(ret->v, (ret->n + 1) * sizeof(*ret->v));
		ret->v[ret->n++] = (struct gate){.account = xstrdup(acc),
						 .label = xstrdup(label ? label : acc),
						 .reason = reason ? xstrdup(reason) : NULL,
						 .until_ms = until,
						 .closed_at_ms = get_time(o, "closedAt"),
						 .task_id = task,
						 .probe_task = probe,
						 .probe_at_ms = get_time(o, "probeAt"),
						 .last_release_ms = get_time(o, "lastReleaseAt")};
	}
	return 0;
}

int gate_table_save(const char *store_dir, const struct gate_table *t, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(store_dir, GATE_FILE);
	if (t->n == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			return rv_error_errno(err, errno, "cannot remove '%s'", path);
		return 0;
	}
	_cleanup_json_ struct json_object *j = json_object_new_object();
	jsonutil_set_int64(j, "version", 1);
	struct json_object *arr = json_object_new_array();
	json_object_object_add(j, "gates", arr);
	for (size_t i = 0; i < t->n; i++) {
		const struct gate *g = &t->v[i];
		struct json_object *o = json_object_new_object();
		jsonutil_set_str(o, "account", g->account);
		jsonutil_set_str(o, "label", g->label);
		set_time(o, "limitedUntil", g->until_ms);
		set_time(o, "closedAt", g->closed_at_ms);
		if (g->task_id > 0)
			jsonutil_set_int64(o, "task", g->task_id);
		if (g->reason)
			jsonutil_set_str(o, "reason", g->reason);
		if (g->probe_task > 0)
			jsonutil_set_int64(o, "probeTask", g->probe_task);
		set_time(o, "probeAt", g->probe_at_ms);
		set_time(o, "lastReleaseAt", g->last_release_ms);
		json_object_array_add(arr, o);
	}
	return jsonutil_write_file(path, j, err);
}

int gate_queue_lock(const char *store_dir, int *ret_fd, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(store_dir, GATE_LOCK_FILE);
	int r = fileio_mkdir_p(store_dir, 0755, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return rv_error_errno(err, errno, "cannot lock '%s'", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}
