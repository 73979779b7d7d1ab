#define _GNU_SOURCE
#include "adapters.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent-runner/classify.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/numutil.h"
#include "common/jsonutil.h"

/* In-CLI retries when the user set none.  The runner's own transient
 * retries (runner.c) absorb an overload; a rate limit or exhausted credit
 * must reach the runner within seconds and pause.  Claude and Codex sleep
 * out the provider's retry-after before a retry (one Claude retry at a
 * 50 s retry-after took 53 s), so they get none; Gemini one attempt (its
 * default: 10, 5-7 minutes). */
#define CLAUDE_MAX_RETRIES "0"
#define CODEX_MAX_RETRIES "0" /* Codex sleeps for the whole retry-after */
#define GEMINI_MAX_ATTEMPTS 1
#define GEMINI_DEFAULT_MODEL "gemini-2.5-pro" /* the CLI's own default model */

/* A string vector under construction. */
struct strv {
	char **v;
	size_t n, cap;
};

static void strv_add(struct strv *s, char *owned)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = owned;
	s->v[s->n] = NULL;
}

void adapter_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static const char *env_of(const struct adapter_ctx *c, const char *name)
{
	const char *v = c->getenv_fn ? c->getenv_fn(name) : NULL;
	return v && *v ? v : NULL;
}

/* NAME=value unless the user already set NAME (the user's choice wins). */
static void env_default(struct strv *env, const struct adapter_ctx *c, const char *name,
			const char *value)
{
	if (!env_of(c, name))
		strv_add(env, xasprintf("%s=%s", name, value));
}

/* Copy a subscription login to <dir>/<name> when there is one: the copy
 * rover mounted read-only (ADAPTER_LOGINS_DIR/<cli>/<name>), else
 * $HOME/<rel>.  The CLI may refresh its copy. */
static int copy_login(const struct adapter_ctx *c, const char *rel, const char *dir,
		      const char *name, struct rv_error **err)
{
	const char *cli = c->tool ? c->tool : "";
	const char *mount_dir = c->logins_dir ? c->logins_dir : ADAPTER_LOGINS_DIR;
	_cleanup_free_ char *mounted = xasprintf("%s/%s/%s", mount_dir, cli, name);
	_cleanup_free_ char *from = NULL;
	const char *home = env_of(c, "HOME");
	if (fileio_exists(mounted))
		from = TAKE_PTR(mounted);
	else if (home)
		from = fileio_join(home, rel);
	if (!from || !fileio_exists(from))
		return 0;
	_cleanup_free_ char *to = fileio_join(dir, name);
	return fileio_copy(from, to, 1u << 20, 0600, err);
}

static int prepare_codex(const struct adapter_ctx *c, struct strv *argv, struct strv *env,
			 struct rv_error **err)
{
	strv_add(argv, xstrdup("exec"));
	strv_add(argv, xstrdup("--json"));
	strv_add(argv, xstrdup("--skip-git-repo-check"));
	/* The container is the sandbox; Codex's own (landlock/seccomp) cannot
	 * work without the capabilities rover drops. */
	strv_add(argv, xstrdup("--dangerously-bypass-approvals-and-sandbox"));
	if (!env_of(c, "CODEX_HOME") && c->scratch_dir) {
		_cleanup_free_ char *home = fileio_join(c->scratch_dir, "codex");
		int r = fileio_mkdir_p(home, 0700, err);
		if (r < 0)
			return r;
		r = copy_login(c, ".codex/auth.json", home, "auth.json", err);
		if (r < 0)
			return r;
		strv_add(env, xasprintf("CODEX_HOME=%s", home));
	}
	if (env_of(c, "OPENAI_API_KEY")) {
		const char *base = env_of(c, "OPENAI_BASE_URL");
		strv_add(argv, xstrdup("-c"));
		strv_add(argv, xstrdup("model_provider=\"rover\""));
		static const char *const fixed[] = {
			"model_providers.rover.name=\"rover\"",
			"model_providers.rover.env_key=\"OPENAI_API_KEY\"",
			"model_providers.rover.wire_api=\"responses\"",
			"model_providers.rover.request_max_retries=" CODEX_MAX_RETRIES,
			"model_providers.rover.stream_max_retries=" CODEX_MAX_RETRIES,
		};
		for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
			strv_add(argv, xstrdup("-c"));
			strv_add(argv, xstrdup(fixed[i]));
		}
		strv_add(argv, xstrdup("-c"));
		strv_add(argv, xasprintf("model_providers.rover.base_url=\"%s\"",
					 base ? base : "https://api.openai.com/v1"));
	}
	return 0;
}

static int prepare_gemini(const struct adapter_ctx *c, struct strv *env, struct rv_error **err)
{
	env_default(env, c, "GEMINI_CLI_TRUST_WORKSPACE", "true");
	if (env_of(c, "GEMINI_CLI_HOME") || !c->scratch_dir)
		return 0;
	/* Gemini reads its auth method and retry bound only from a settings
	 * file (GOOGLE_GEMINI_BASE_URL alone selects a "gateway" method that
	 * headless mode refuses), and skips one under a world-writable parent
	 * such as /tmp: a private home of its own, 0700. */
	_cleanup_free_ char *home = fileio_join(c->scratch_dir, "gemini");
	_cleanup_free_ char *dir = fileio_join(home, ".gemini");
	int r = fileio_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	const char *auth = "oauth-personal";
	if (env_of(c, "GEMINI_API_KEY"))
		auth = "gemini-api-key";
	else if (env_of(c, "GOOGLE_API_KEY") || env_of(c, "GOOGLE_GENAI_USE_VERTEXAI"))
		auth = "vertex-ai";
	else if ((r = copy_login(c, ".gemini/oauth_creds.json", dir, "oauth_creds.json", err)) <
			 0 ||
		 (r = copy_login(c, ".gemini/google_accounts.json", dir, "google_accounts.json",
				 err)) < 0)
		return r;
	_cleanup_json_ struct json_object *s = json_object_new_object();
	struct json_object *sec = json_object_new_object(), *a = json_object_new_object();
	jsonutil_set_str(a, "selectedType", auth);
	json_object_object_add(sec, "auth", a);
	json_object_object_add(s, "security", sec);
	struct json_object *gen = json_object_new_object();
	jsonutil_set_int64(gen, "maxAttempts", GEMINI_MAX_ATTEMPTS);
	json_object_object_add(s, "general", gen);
	_cleanup_free_ char *path = fileio_join(dir, "settings.json");
	r = jsonutil_write_file(path, s, err);
	if (r < 0)
		return r;
	strv_add(env, xasprintf("GEMINI_CLI_HOME=%s", home));
	return 0;
}

int adapter_prepare(const struct adapter_ctx *c, const char *prompt, char ***ret_argv,
		    char ***ret_env, struct rv_error **err)
{
	struct strv argv = {0}, env = {0};
	const char *t = c->tool ? c->tool : "claude";
	bool model = c->model && *c->model;
	int r = 0;
	/* Reset times printed in UTC: the static runner has no tz database. */
	strv_add(&env, xstrdup("TZ=UTC"));
	if (!strcmp(t, "claude")) {
		strv_add(&argv, xstrdup("claude"));
		strv_add(&argv, xstrdup("-p"));
		strv_add(&argv, xstrdup(prompt));
		strv_add(&argv, xstrdup("--output-format"));
		strv_add(&argv, xstrdup("stream-json"));
		strv_add(&argv, xstrdup("--verbose"));
		strv_add(&argv, xstrdup("--dangerously-skip-permissions"));
		/* Claude refuses to skip permissions as root outside a sandbox;
		 * the container is one. */
		if (c->as_root)
			strv_add(&env, xstrdup("IS_SANDBOX=1"));
		env_default(&env, c, "CLAUDE_CODE_MAX_RETRIES", CLAUDE_MAX_RETRIES);
		env_default(&env, c, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
		env_default(&env, c, "DISABLE_AUTOUPDATER", "1");
	} else if (!strcmp(t, "codex")) {
		strv_add(&argv, xstrdup("codex"));
		r = prepare_codex(c, &argv, &env, err);
	} else if (!strcmp(t, "gemini") || !strcmp(t, "qwen")) {
		strv_add(&argv, xstrdup(t));
		strv_add(&argv, xstrdup("-p"));
		strv_add(&argv, xstrdup(prompt));
		strv_add(&argv, xstrdup("--yolo"));
		if (!strcmp(t, "gemini")) {
			strv_add(&argv, xstrdup("-o"));
			strv_add(&argv, xstrdup("stream-json"));
			r = prepare_gemini(c, &env, err);
		}
	} else if (!strcmp(t, "opencode")) {
		strv_add(&argv, xstrdup("opencode"));
		strv_add(&argv, xstrdup("run"));
	} else if (!strcmp(t, "cursor")) {
		strv_add(&argv, xstrdup("cursor-agent"));
		strv_add(&argv, xstrdup("-p"));
		strv_add(&argv, xstrdup(prompt));
		strv_add(&argv, xstrdup("--force"));
	} else {
		strv_add(&argv, xstrdup(t));
		strv_add(&argv, xstrdup("-p"));
		strv_add(&argv, xstrdup(prompt));
	}
	if (r < 0) {
		adapter_strv_free(argv.v);
		adapter_strv_free(env.v);
		return r;
	}
	if (model) {
		strv_add(&argv, xstrdup("--model"));
		strv_add(&argv, xstrdup(c->model));
	} else if (!strcmp(t, "gemini")) {
		/* Without a model Gemini's "auto" router sends a request of its own
		 * that its own retry loop repeats up to 10 times whatever
		 * maxAttempts says: a limit would pause minutes late. */
		strv_add(&argv, xstrdup("--model"));
		strv_add(&argv, xstrdup(GEMINI_DEFAULT_MODEL));
	}
	/* The prompt is the last argument where there is no -p. */
	if (!strcmp(t, "codex") || !strcmp(t, "opencode"))
		strv_add(&argv, xstrdup(prompt));
	*ret_argv = argv.v;
	*ret_env = env.v;
	return 0;
}

/* ---- reading -------------------------------------------------------------- */

void adapter_report_release(struct adapter_report *r)
{
	if (!r)
		return;
	free(r->answer);
	free(r->error);
	*r = (struct adapter_report){0};
}

void adapter_usage_add(struct agent_usage *a, const struct agent_usage *b)
{
	a->input_tokens += b->input_tokens;
	a->output_tokens += b->output_tokens;
	a->cache_read_tokens += b->cache_read_tokens;
	a->cache_write_tokens += b->cache_write_tokens;
	a->cost_usd += b->cost_usd;
	a->has_usage |= b->has_usage;
	a->has_cost |= b->has_cost;
}

static void set_text(char **slot, const char *v)
{
	free(*slot);
	*slot = v && *v ? xstrdup(v) : NULL;
}

static int64_t get_i64(struct json_object *o, const char *key)
{
	int64_t v = 0;
	if (!jsonutil_get_int64(o, key, &v) || v < 0 || v > (INT64_C(1) << 50))
		return 0;
	return v;
}

/* Call fn on each line of text that parses as a JSON object. */
static void each_json_line(const char *text, void (*fn)(struct json_object *, void *), void *arg)
{
	if (!text)
		return;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 1 && p[0] == '{') {
			struct json_object *o = NULL;
			if (jsonutil_parse(p, len, "line", &o, NULL) == 0 &&
			    json_object_is_type(o, json_type_object))
				fn(o, arg);
			json_object_put(o);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* Claude Code, --output-format stream-json --verbose. */
static void claude_line(struct json_object *o, void *arg)
{
	struct adapter_report *r = arg;
	const char *type = jsonutil_get_str(o, "type");
	if (!type)
		return;
	if (!strcmp(type, "rate_limit_event")) {
		struct json_object *info = jsonutil_get_obj(o, "rate_limit_info");
		const char *status = jsonutil_get_str(info, "status");
		int64_t at = get_i64(info, "resetsAt");
		/* "allowed_warning" events name a reset too, but nothing refused. */
		if (status && !strcmp(status, "rejected") && at > 0)
			r->reset_at_ms = at < INT64_C(100000000000) ? at * 1000 : at;
		r->structured = true;
	} else if (!strcmp(type, "result")) {
		r->structured = true;
		bool is_error = false;
		jsonutil_get_bool(o, "is_error", &is_error);
		const char *text = jsonutil_get_str(o, "result");
		const char *sub = jsonutil_get_str(o, "subtype");
		if (is_error || (sub && strcmp(sub, "success"))) {
			set_text(&r->error, text ? text : sub);
			set_text(&r->answer, NULL);
		} else {
			set_text(&r->answer, text);
		}
		int64_t st = get_i64(o, "api_error_status");
		if (st >= 100 && st <= 599)
			r->http_status = (int)st;
		struct json_object *u = jsonutil_get_obj(o, "usage"), *c = NULL;
		if (u) {
			r->usage.input_tokens = get_i64(u, "input_tokens");
			r->usage.output_tokens = get_i64(u, "output_tokens");
			r->usage.cache_read_tokens = get_i64(u, "cache_read_input_tokens");
			r->usage.cache_write_tokens = get_i64(u, "cache_creation_input_tokens");
			r->usage.has_usage = true;
		}
		if (json_object_object_get_ex(o, "total_cost_usd", &c) &&
		    (json_object_is_type(c, json_type_double) ||
		     json_object_is_type(c, json_type_int))) {
			double d = json_object_get_double(c);
			if (isfinite(d) && d >= 0 && d < 1e9) {
				r->usage.cost_usd = d;
				r->usage.has_cost = true;
			}
		}
	} else if (!strcmp(type, "assistant")) {
		/* A synthetic message carries the error kind ("billing_error"). */
		const char *e = jsonutil_get_str(o, "error");
		if (e && !strcmp(e, "billing_error"))
			r->not_transient = true;
	}
}

/* Codex, exec --json. */
static void codex_line(struct json_object *o, void *arg)
{
	struct adapter_report *r = arg;
	const char *type = jsonutil_get_str(o, "type");
	if (!type)
		return;
	if (!strcmp(type, "item.completed")) {
		struct json_object *item = jsonutil_get_obj(o, "item");
		const char *it = jsonutil_get_str(item, "type");
		if (it && !strcmp(it, "agent_message"))
			set_text(&r->answer, jsonutil_get_str(item, "text"));
		r->structured = true;
	} else if (!strcmp(type, "turn.completed")) {
		struct json_object *u = jsonutil_get_obj(o, "usage");
		if (u) {
			/* Several turns in one run add up. */
			r->usage.input_tokens += get_i64(u, "input_tokens");
			r->usage.output_tokens += get_i64(u, "output_tokens");
			r->usage.cache_read_tokens += get_i64(u, "cached_input_tokens");
			r->usage.cache_write_tokens += get_i64(u, "cache_write_input_tokens");
			r->usage.has_usage = true;
		}
		r->structured = true;
	} else if (!strcmp(type, "turn.failed")) {
		set_text(&r->error, jsonutil_get_str(jsonutil_get_obj(o, "error"), "message"));
		r->structured = true;
	} else if (!strcmp(type, "error")) {
		if (!r->error)
			set_text(&r->error, jsonutil_get_str(o, "message"));
		r->structured = true;
	} else if (!strcmp(type, "thread.started") || !strcmp(type, "turn.started")) {
		r->structured = true;
	}
}

/* Gemini CLI, -o stream-json (and -o json's single object). */
static void gemini_line(struct json_object *o, void *arg)
{
	struct adapter_report *r = arg;
	const char *type = jsonutil_get_str(o, "type");
	struct json_object *stats = jsonutil_get_obj(o, "stats");
	if (type && !strcmp(type, "message")) {
		const char *role = jsonutil_get_str(o, "role");
		const char *content = jsonutil_get_str(o, "content");
		if (role && !strcmp(role, "assistant") && content) {
			char *s = r->answer ? xasprintf("%s%s", r->answer, content)
					    : xstrdup(content);
			free(r->answer);
			r->answer = s;
		}
		r->structured = true;
		return;
	}
	if (type && strcmp(type, "result") && strcmp(type, "error"))
		return;
	r->structured = true;
	struct json_object *e = jsonutil_get_obj(o, "error");
	if (e) {
		set_text(&r->error, jsonutil_get_str(e, "message"));
		int64_t code = get_i64(e, "code");
		if (code >= 100 && code <= 599)
			r->http_status = (int)code;
	} else if (type && !strcmp(type, "error")) {
		set_text(&r->error, jsonutil_get_str(o, "message"));
	}
	if (!type) /* -o json: {"response": ..., "stats": ..., "error": ...} */
		set_text(&r->answer, jsonutil_get_str(o, "response"));
	if (stats) {
		r->usage.input_tokens = get_i64(stats, "input_tokens");
		r->usage.output_tokens = get_i64(stats, "output_tokens");
		r->usage.cache_read_tokens = get_i64(stats, "cached");
		r->usage.has_usage = true;
	}
}

/* "Please retry in 20.5s" / "retry in 350ms" (Gemini's RetryInfo, in text). */
static bool retry_in(const char *text, int64_t now_ms, int64_t *ret)
{
	if (!text)
		return false;
	bool found = false;
	for (const char *p = text; (p = strcasestr(p, "retry in ")); p += 9) {
		const char *q = p + 9;
		char *end = NULL;
		errno = 0;
		double v = strtod(q, &end);
		if (end == q || errno || !isfinite(v) || v < 0 || v > 31.0 * 86400)
			continue;
		double ms;
		if (!strncmp(end, "ms", 2))
			ms = v;
		else if (*end == 's' || !strncmp(end, " s", 2) || !strncmp(end, " second", 7))
			ms = v * 1000;
		else
			continue;
		*ret = now_ms + numutil_ceil_i64(ms);
		found = true;
	}
	return found;
}

/* The tz database the named-zone rewrite reads; the agent image carries it. */
#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* "resets 7:56pm (Europe/Berlin)": the CLI printed the reset in its local
 * zone.  classify_reset_time() reads fixed offsets only (no tz database in
 * a static runner), so the named zone is replaced by its UTC offset at now,
 * read from ZONEINFO_DIR with TZ set for one localtime_r (the runner is
 * single-threaded; TZ is restored).  A name that is not a file of the
 * database is left alone: glibc would silently take it as UTC. */
static bool zone_reset(const char *text, int64_t now_ms, int64_t *ret)
{
	if (!text)
		return false;
	const char *open = NULL;
	for (const char *p = text; (p = strchr(p, '(')); p++) {
		const char *close = strchr(p, ')');
		const char *slash = memchr(p, '/', close ? (size_t)(close - p) : 0);
		if (close && slash && close - p > 3 && close - p < 64)
			open = p;
	}
	if (!open)
		return false;
	const char *close = strchr(open, ')');
	_cleanup_free_ char *zone = xstrndup(open + 1, (size_t)(close - open - 1));
	for (const char *z = zone; *z; z++)
		if (!isalnum((unsigned char)*z) && !strchr("/_+-", *z))
			return false;
	if (strstr(zone, "..") || zone[0] == '/')
		return false;
	_cleanup_free_ char *file = xasprintf("%s/%s", ZONEINFO_DIR, zone);
	if (access(file, R_OK) != 0)
		return false;
	const char *old = getenv("TZ");
	_cleanup_free_ char *saved = old ? xstrdup(old) : NULL;
	setenv("TZ", zone, 1);
	tzset();
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	bool ok = localtime_r(&t, &tm) != NULL;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	if (!ok)
		return false;
	long off = tm.tm_gmtoff / 60;
	_cleanup_free_ char *fixed =
		xasprintf("%.*s(UTC%c%02ld:%02ld)%s", (int)(open - text), text, off < 0 ? '-' : '+',
			  labs(off) / 60, labs(off) % 60, close + 1);
	return classify_reset_time(fixed, now_ms, ret);
}

void adapter_parse(const char *tool, const char *out, const char *err, int64_t now_ms,
		   struct adapter_report *ret)
{
	struct adapter_report r = {0};
	const char *t = tool ? tool : "";
	if (!strcmp(t, "claude"))
		each_json_line(out, claude_line, &r);
	else if (!strcmp(t, "codex"))
		each_json_line(out, codex_line, &r);
	else if (!strcmp(t, "gemini"))
		each_json_line(out, gemini_line, &r);
	if (!r.structured) {
		set_text(&r.answer, NULL);
		set_text(&r.error, NULL);
	}
	/* The reset time: a structured epoch first, then the CLI's error text,
	 * then whatever it printed. */
	if (!r.reset_at_ms) {
		int64_t at = 0;
		if (retry_in(r.error, now_ms, &at) || zone_reset(r.error, now_ms, &at) ||
		    classify_reset_time(r.error, now_ms, &at) || retry_in(err, now_ms, &at) ||
		    classify_reset_time(err, now_ms, &at) ||
		    (!r.structured && classify_reset_time(out, now_ms, &at)))
			r.reset_at_ms = at;
	}
	/* A daily or monthly quota comes back no sooner than tomorrow, and
	 * exhausted credit not before someone pays: never transient. */
	const char *texts[] = {r.error, err, r.structured ? NULL : out};
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		const char *s = texts[i];
		if (s && (strcasestr(s, "daily quota") || strcasestr(s, "TerminalQuotaError") ||
			  strcasestr(s, "PerDay") || strcasestr(s, "insufficient_quota") ||
			  strcasestr(s, "credit balance is too low") ||
			  strcasestr(s, "exceeded your current quota") ||
			  strcasestr(s, "check your plan and billing")))
			r.not_transient = true;
	}
	*ret = r;
}

/* Add u's numbers into the object o ({"inputTokens", ...}). */
static void usage_add_into(struct json_object *o, const struct agent_usage *u)
{
	static const char *const keys[] = {"inputTokens", "outputTokens", "cacheReadTokens",
					   "cacheWriteTokens"};
	const int64_t vals[] = {u->input_tokens, u->output_tokens, u->cache_read_tokens,
				u->cache_write_tokens};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		int64_t cur = 0;
		jsonutil_get_int64(o, keys[i], &cur);
		if (cur < 0 || cur > (INT64_C(1) << 60))
			cur = 0;
		jsonutil_set_int64(o, keys[i], cur + vals[i]);
	}
	if (u->has_cost) {
		struct json_object *c = NULL;
		double cur = 0;
		if (json_object_object_get_ex(o, "costUsd", &c) &&
		    (json_object_is_type(c, json_type_double) ||
		     json_object_is_type(c, json_type_int)))
			cur = json_object_get_double(c);
		if (!isfinite(cur) || cur < 0)
			cur = 0;
		/* Micro-dollars: what the CLIs print, without binary noise. */
		double sum = cur + u->cost_usd;
		if (sum < 1e12) /* a real bill; beyond, nothing to tidy */
			sum = (double)numutil_round_i64(sum * 1e6) / 1e6;
		json_object_object_add(o, "costUsd", json_object_new_double(sum));
	}
	int64_t runs = 0;
	jsonutil_get_int64(o, "agentRuns", &runs);
	jsonutil_set_int64(o, "agentRuns", runs < 0 ? 1 : runs + 1);
}

struct json_object *adapter_usage_record(struct json_object *doc, const char *step_id,
					 const struct agent_usage *u)
{
	struct json_object *d = NULL;
	if (!doc || json_object_deep_copy(doc, &d, NULL) < 0 ||
	    !json_object_is_type(d, json_type_object)) {
		json_object_put(d);
		d = json_object_new_object();
	}
	usage_add_into(d, u);
	struct json_object *steps = jsonutil_get_obj(d, "steps");
	if (!steps) {
		steps = json_object_new_object();
		json_object_object_add(d, "steps", steps);
	}
	if (step_id) {
		struct json_object *s = jsonutil_get_obj(steps, step_id);
		if (!s) {
			s = json_object_new_object();
			json_object_object_add(steps, step_id, s);
		}
		usage_add_into(s, u);
	}
	return d;
}

void adapter_judge(const struct adapter_report *rep, const char *out, const char *err,
		   const char *error, int exit_code, bool timed_out, struct adapter_verdict *ret)
{
	struct adapter_verdict v = {0};
	/* Structured stdout is events, not words: its numbers and ids would
	 * read as status codes.  Only the CLI's message and stderr count. */
	if (rep->structured)
		v.full_text =
			xasprintf("%s%s\n%s", error ? error : "",
				  rep->http_status == 429 ? " (HTTP 429)" : "", err ? err : "");
	else
		v.full_text =
			xasprintf("%s\n%s\n%s", error ? error : "", err ? err : "", out ? out : "");
	if (rep->error) {
		/* The CLI's own message, with the provider's status when it gave
		 * one; its stderr still has the provider's words. */
		_cleanup_free_ char *said =
			rep->http_status ? xasprintf("%s (HTTP %d)", rep->error, rep->http_status)
					 : xstrdup(rep->error);
		classify_agent_failure(said, err, timed_out, &v.cls);
	} else {
		classify_agent_failure(out, err, timed_out, &v.cls);
	}
	bool ran = !timed_out && exit_code != 127;
	/* A CLI that reported a rate limit or a quota in its structured output
	 * has already retried as much as it was allowed to: pause now, within
	 * seconds of the refusal, rather than retry in-process. */
	v.transient = ran && !rep->not_transient &&
		      !(rep->structured && v.cls.code == CLASSIFY_RATE_LIMIT) &&
		      (classify_is_transient(error) || v.cls.code == CLASSIFY_SERVER);
	v.retryable =
		ran && (v.cls.retryable || v.transient || classify_is_retryable(error, NULL) ||
			classify_is_retryable(v.full_text, NULL));
	*ret = v;
}

/* Known figures only, each a number in range: the rest is dropped. */
static struct json_object *figures_copy(struct json_object *o)
{
	static const char *const ints[] = {"inputTokens", "outputTokens", "cacheReadTokens",
					   "cacheWriteTokens", "agentRuns"};
	struct json_object *d = json_object_new_object();
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		int64_t v;
		if (jsonutil_get_int64(o, ints[i], &v) && v >= 0 && v <= (INT64_C(1) << 60))
			jsonutil_set_int64(d, ints[i], v);
	}
	struct json_object *c = NULL;
	if (json_object_object_get_ex(o, "costUsd", &c) &&
	    (json_object_is_type(c, json_type_double) || json_object_is_type(c, json_type_int))) {
		double v = json_object_get_double(c);
		if (isfinite(v) && v >= 0 && v < 1e12)
			json_object_object_add(d, "costUsd", json_object_new_double(v));
	}
	return d;
}

struct json_object *adapter_usage_sanitize(struct json_object *usage)
{
	if (!usage || !json_object_is_type(usage, json_type_object))
		return NULL;
	struct json_object *d = figures_copy(usage);
	struct json_object *steps = jsonutil_get_obj(usage, "steps");
	if (steps) {
		struct json_object *ds = json_object_new_object();
		size_t n = 0;
		json_object_object_foreach(steps, k, v)
		{
			if (n++ >= ADAPTER_MAX_USAGE_STEPS || strlen(k) > 256 ||
			    !json_object_is_type(v, json_type_object))
				continue;
			json_object_object_add(ds, k, figures_copy(v));
		}
		json_object_object_add(d, "steps", ds);
	}
	return d;
}
