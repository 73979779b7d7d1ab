/*
 * engine.c - the engine handle, connecting and discovery (engine.h: top,
 * "connecting").  The image, label and container calls are in
 * engine_container.c.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "engine_http.h"
#include "engine_internal.h"
#include "userconfig.h"

/* _ping is cheap on both engines; it must never hang discovery. */
#define PING_TIMEOUT_MS 5000L
#define MAX_ID_LEN 256

const char *engine_kind_name(enum engine_kind kind)
{
	switch (kind) {
	case ENGINE_KIND_DOCKER:
		return "docker";
	case ENGINE_KIND_PODMAN:
		return "podman";
	default:
		return "unknown";
	}
}

struct engine *engine_free(struct engine *e)
{
	if (e) {
		engine_http_release(&e->http);
		free(e->server);
		free(e);
	}
	return NULL;
}

void engine_set_timeouts(struct engine *e, long connect_ms, long request_ms)
{
	engine_http_set_timeouts(&e->http, connect_ms, request_ms);
}

enum engine_kind engine_get_kind(const struct engine *e)
{
	return e->kind;
}

const char *engine_get_uri(const struct engine *e)
{
	return e->http.ep.uri;
}

const char *engine_get_api_version(const struct engine *e)
{
	return e->api_version;
}

const char *engine_get_server(const struct engine *e)
{
	return e->server ? e->server : "";
}

struct engine_http *engine_http_of(struct engine *e)
{
	return &e->http;
}

const char *engine_path_prefix(const struct engine *e)
{
	return e->prefix;
}

/* ---- small helpers ------------------------------------------------------ */

int engine_call(struct engine *e, const char *method, const char *path, const char *body,
		long timeout_ms, struct engine_http_reply *ret, struct rv_error **err)
{
	struct engine_http_request req = {
		.method = method,
		.path = path,
		.body = body,
		.timeout_ms = timeout_ms,
	};
	return engine_http_perform(&e->http, &req, ret, err);
}

int engine_reply_json(const struct engine_http_reply *r, struct json_object **ret,
		      struct rv_error **err)
{
	if (!r->body || r->len == 0)
		return rv_error_set(err, EPROTO, "empty reply from the engine (HTTP %ld)",
				    r->status);
	int k = jsonutil_parse(r->body, r->len, "the engine's reply", ret, err);
	if (k < 0) {
		if (err && *err)
			(*err)->code = EPROTO;
		return -EPROTO;
	}
	return 0;
}

int engine_escape_id(const char *id, char **ret, struct rv_error **err)
{
	if (!id || !*id)
		return rv_error_set(err, EINVAL, "empty container id");
	if (strlen(id) > MAX_ID_LEN || strchr(id, '/'))
		return rv_error_set(err, EINVAL, "bad container id or name '%.64s'", id);
	*ret = engine_http_escape(id);
	return 0;
}

static bool version_parse(const char *s, int *major, int *minor)
{
	char tail = 0;
	return s && sscanf(s, "%d.%d%c", major, minor, &tail) == 2 && *major >= 0 && *minor >= 0;
}

int engine_negotiate_api_version(const char *server_version, char ret[ENGINE_API_VERSION_LEN],
				 struct rv_error **err)
{
	int smaj, smin, maj, min, lmaj, lmin;
	if (!version_parse(server_version, &smaj, &smin))
		return rv_error_set(err, EPROTO,
				    "the engine reports no usable API version ('%.32s')",
				    server_version ? server_version : "");
	version_parse(ENGINE_API_VERSION, &maj, &min);
	version_parse(ENGINE_API_VERSION_MIN, &lmaj, &lmin);
	if (smaj < lmaj || (smaj == lmaj && smin < lmin))
		return rv_error_set(err, ENOTSUP,
				    "the engine speaks API %d.%d; rover needs %s or later", smaj,
				    smin, ENGINE_API_VERSION_MIN);
	if (smaj > maj || (smaj == maj && smin > min))
		snprintf(ret, ENGINE_API_VERSION_LEN, "%d.%d", maj, min);
	else
		snprintf(ret, ENGINE_API_VERSION_LEN, "%d.%d", smaj, smin);
	return 0;
}

enum engine_kind engine_kind_from_headers(const char *server, const char *libpod_api_version)
{
	if (libpod_api_version && *libpod_api_version)
		return ENGINE_KIND_PODMAN;
	if (server && strncasecmp(server, "Libpod", 6) == 0)
		return ENGINE_KIND_PODMAN;
	if (server && strncasecmp(server, "Docker", 6) == 0)
		return ENGINE_KIND_DOCKER;
	return ENGINE_KIND_UNKNOWN;
}

enum engine_kind engine_kind_from_version(struct json_object *version)
{
	struct json_object *comps = jsonutil_get_array(version, "Components");
	bool engine = false;
	size_t n = comps ? json_object_array_length(comps) : 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = jsonutil_get_str(json_object_array_get_idx(comps, i), "Name");
		if (!name)
			continue;
		if (strcasestr(name, "podman"))
			return ENGINE_KIND_PODMAN;
		if (strcmp(name, "Engine") == 0)
			engine = true;
	}
	const char *platform = jsonutil_get_str(jsonutil_get_obj(version, "Platform"), "Name");
	if (platform && strcasestr(platform, "podman"))
		return ENGINE_KIND_PODMAN;
	if (engine || (platform && strcasestr(platform, "docker")))
		return ENGINE_KIND_DOCKER;
	return ENGINE_KIND_UNKNOWN;
}

/* ---- connecting --------------------------------------------------------- */

static int ping_reply(struct engine *e, struct engine_http_reply *ret, struct rv_error **err)
{
	long t = e->http.timeout_ms < PING_TIMEOUT_MS ? e->http.timeout_ms : PING_TIMEOUT_MS;
	int r = engine_call(e, "GET", "/_ping", NULL, t, ret, err);
	if (r < 0)
		return r;
	if (ret->status != 200) {
		_cleanup_free_ char *what = xasprintf("engine at %s", e->http.ep.uri);
		return engine_http_status_error(ret->status, ret->body, ret->len, what, err);
	}
	return 0;
}

int engine_ping(struct engine *e, struct rv_error **err)
{
	_cleanup_reply_ struct engine_http_reply r = {0};
	return ping_reply(e, &r, err);
}

/* GET /version, for an engine whose _ping headers said too little. */
static int version_fallback(struct engine *e, const char *api_hdr, struct rv_error **err)
{
	_cleanup_reply_ struct engine_http_reply r = {0};
	_cleanup_json_ struct json_object *v = NULL;
	int k = engine_call(e, "GET", "/version", NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &r, err);
	if (k >= 0 && r.status != 200)
		k = engine_http_status_error(r.status, r.body, r.len, "GET /version", err);
	if (k >= 0)
		k = engine_reply_json(&r, &v, err);
	if (k < 0)
		return rv_error_wrap(err, "engine at %s", e->http.ep.uri);
	if (e->kind == ENGINE_KIND_UNKNOWN)
		e->kind = engine_kind_from_version(v);
	/* The API is Docker's; an engine we cannot name is treated as Docker. */
	if (e->kind == ENGINE_KIND_UNKNOWN)
		e->kind = ENGINE_KIND_DOCKER;
	if (!api_hdr)
		api_hdr = jsonutil_get_str(v, "ApiVersion");
	k = engine_negotiate_api_version(api_hdr, e->api_version, err);
	if (k < 0)
		return rv_error_wrap(err, "engine at %s", e->http.ep.uri);
	return 0;
}

static int open_endpoint(const char *uri, struct engine **ret, struct rv_error **err)
{
	struct engine_endpoint ep = {0};
	int r = engine_endpoint_parse(uri, &ep, err);
	if (r < 0)
		return r;
	_cleanup_engine_ struct engine *e = xcalloc(1, sizeof(*e));
	r = engine_http_open(&e->http, &ep, err);
	engine_endpoint_release(&ep);
	if (r < 0)
		return r;

	_cleanup_reply_ struct engine_http_reply ping = {0};
	r = ping_reply(e, &ping, err);
	if (r < 0)
		return r;
	e->server = ping.server ? xstrdup(ping.server) : NULL;
	e->kind = engine_kind_from_headers(ping.server, ping.libpod_api_version);
	if (e->kind == ENGINE_KIND_UNKNOWN || !ping.api_version) {
		r = version_fallback(e, ping.api_version, err);
		if (r < 0)
			return r;
	} else {
		r = engine_negotiate_api_version(ping.api_version, e->api_version, err);
		if (r < 0)
			return rv_error_wrap(err, "engine at %s", e->http.ep.uri);
	}
	snprintf(e->prefix, sizeof(e->prefix), "/v%s", e->api_version);
	*ret = TAKE_PTR(e);
	return 0;
}

void engine_candidates_release(struct engine_candidates *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->uris[i]);
	free(c->uris);
	*c = (struct engine_candidates){0};
}

static void push_uri(struct engine_candidates *c, char *uri)
{
	c->uris = xrealloc(c->uris, (c->n + 2) * sizeof(*c->uris));
	c->uris[c->n++] = uri;
	c->uris[c->n] = NULL;
}

static bool set(const char *s)
{
	return s && *s;
}

static void push_podman(struct engine_candidates *c, const struct engine_discover_env *env)
{
	/* rootless first: a user's own service before the system one */
	if (set(env->xdg_runtime_dir) && env->xdg_runtime_dir[0] == '/')
		push_uri(c, xasprintf("unix://%s/podman/podman.sock", env->xdg_runtime_dir));
	push_uri(c, xasprintf("unix://%s", set(env->podman_root_sock) ? env->podman_root_sock
								      : ENGINE_PODMAN_ROOT_SOCK));
}

static const char *docker_sock(const struct engine_discover_env *env)
{
	return set(env->docker_sock) ? env->docker_sock : ENGINE_DOCKER_SOCK;
}

static int expand_value(const char *value, const struct engine_discover_env *env,
			struct engine_candidates *c, struct rv_error **err)
{
	if (strcmp(value, "docker") == 0) {
		push_uri(c, xasprintf("unix://%s", docker_sock(env)));
		return 0;
	}
	if (strcmp(value, "podman") == 0) {
		push_podman(c, env);
		return 0;
	}
	struct engine_endpoint ep = {0};
	int r = engine_endpoint_parse(value, &ep, err);
	if (r < 0)
		return r;
	push_uri(c, TAKE_PTR(ep.uri));
	engine_endpoint_release(&ep);
	return 0;
}

int engine_discover_candidates(const struct engine_discover_env *env, struct engine_candidates *ret,
			       struct rv_error **err)
{
	const struct {
		const char *value;
		const char *source;
	} order[] = {
		{env->explicit_value, "--engine"}, {env->rover_engine, "ROVER_ENGINE"},
		{env->docker_host, "DOCKER_HOST"}, {env->container_host, "CONTAINER_HOST"},
		{env->user_engine, "user config"},
	};
	struct engine_candidates c = {0};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!set(order[i].value))
			continue;
		c.source = order[i].source;
		int r = expand_value(order[i].value, env, &c, err);
		if (r < 0) {
			engine_candidates_release(&c);
			if (i == 4 && set(env->user_config))
				return rv_error_wrap(err, "\"engine\" in '%s'", env->user_config);
			return rv_error_wrap(err, "%s", order[i].source);
		}
		*ret = c;
		return 0;
	}
	c.source = "default";
	push_uri(&c, xasprintf("unix://%s", docker_sock(env)));
	push_podman(&c, env);
	*ret = c;
	return 0;
}

bool engine_error_means_down(int code)
{
	return code == ECONNREFUSED || code == ETIMEDOUT || code == EHOSTUNREACH ||
	       code == ECONNRESET;
}

static int try_candidates(const struct engine_candidates *c, struct engine **ret,
			  struct rv_error **err)
{
	if (c->n == 1) {
		_cleanup_error_ struct rv_error *e = NULL;
		int r = open_endpoint(c->uris[0], ret, &e);
		if (r >= 0)
			return r;
		if (strcmp(c->source, "default") != 0 && strcmp(c->source, "--engine") != 0)
			rv_error_wrap(&e, "engine from %s", c->source);
		/* The hint once, at the end, where a person reads what to do. */
		if (engine_error_means_down(-r))
			return rv_error_set(err, -r, "%s; %s", rv_error_msg(e),
					    ENGINE_HTTP_HINT_DOWN);
		rv_error_pass(err, &e);
		return r;
	}
	_cleanup_free_ char *tried = xstrdup("");
	bool down = false, denied = false;
	for (size_t i = 0; i < c->n; i++) {
		_cleanup_error_ struct rv_error *e = NULL;
		int r = open_endpoint(c->uris[i], ret, &e);
		if (r == 0)
			return 0;
		down |= engine_error_means_down(-r);
		denied |= r == -EACCES && e && e->http_status == 0;
		char *more = xasprintf("%s%s%s", tried, *tried ? "; " : "", rv_error_msg(e));
		free(tried);
		tried = more;
	}
	/* One socket we may not open among missing ones: the permission is
	 * what to fix (its hint is in its own message), not the engine. */
	return rv_error_set(
		err, denied ? EACCES : ECONNREFUSED, "no container engine answers (%s%s): %s%s%s",
		strcmp(c->source, "default") == 0 ? "tried the default places" : "from ",
		strcmp(c->source, "default") == 0 ? "" : c->source, tried,
		down && !denied ? "; " : "", down && !denied ? ENGINE_HTTP_HINT_DOWN : "");
}

int engine_discover_with(const struct engine_discover_env *env, struct engine **ret,
			 struct rv_error **err)
{
	struct engine_candidates c = {0};
	int r = engine_discover_candidates(env, &c, err);
	if (r < 0)
		return r;
	r = try_candidates(&c, ret, err);
	engine_candidates_release(&c);
	return r;
}

/* `rover --engine E COMMAND`: set once by main before any command runs. */
static const char *global_engine;

void engine_set_global_option(const char *value)
{
	global_engine = value && *value ? value : NULL;
}

const char *engine_global_option(void)
{
	return global_engine;
}

int engine_discover_env_load(const char *explicit_value, struct engine_discover_env *env,
			     struct userconfig *uc, struct rv_error **err)
{
	if (!set(explicit_value))
		explicit_value = global_engine;
	struct userconfig c = {0};
	int r = userconfig_load(&c, err);
	if (r < 0)
		return r;
	*uc = c;
	*env = (struct engine_discover_env){
		.explicit_value = explicit_value,
		.rover_engine = getenv("ROVER_ENGINE"),
		.docker_host = getenv("DOCKER_HOST"),
		.container_host = getenv("CONTAINER_HOST"),
		.user_engine = uc->engine,
		.user_config = uc->path,
		.xdg_runtime_dir = getenv("XDG_RUNTIME_DIR"),
	};
	return 0;
}

int engine_discover(const char *explicit_value, struct engine **ret, struct rv_error **err)
{
	struct engine_discover_env env;
	struct userconfig uc = {0};
	int r = engine_discover_env_load(explicit_value, &env, &uc, err);
	if (r < 0)
		return r;
	r = engine_discover_with(&env, ret, err);
	userconfig_release(&uc);
	return r;
}

static bool has_uri(const struct engine_candidates *c, const char *uri)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->uris[i], uri))
			return true;
	return false;
}

void engine_configured_endpoints(const struct engine_discover_env *env,
				 struct engine_candidates *ret)
{
	const char *const values[] = {env->explicit_value, env->rover_engine, env->docker_host,
				      env->container_host, env->user_engine};
	struct engine_candidates all = {.source = "configured"};
	struct engine_candidates one = {0};
	for (size_t i = 0; i <= ARRAY_SIZE(values); i++) {
		if (i < ARRAY_SIZE(values)) {
			if (!set(values[i]) || expand_value(values[i], env, &one, NULL) < 0) {
				engine_candidates_release(&one);
				continue;
			}
		} else {
			push_uri(&one, xasprintf("unix://%s", docker_sock(env)));
			push_podman(&one, env);
		}
		for (size_t k = 0; k < one.n; k++)
			if (!has_uri(&all, one.uris[k]))
				push_uri(&all, xstrdup(one.uris[k]));
		engine_candidates_release(&one);
	}
	*ret = all;
}

int engine_check_recorded(const struct engine_discover_env *env, long long task_id,
			  const char *value, struct rv_error **err)
{
	struct engine_candidates rec = {0};
	_cleanup_error_ struct rv_error *perr = NULL;
	if (!set(value) || expand_value(value, env, &rec, &perr) < 0)
		return rv_error_set(
			err, EINVAL,
			"task %lld names engine endpoint '%.200s', which is not a valid "
			"endpoint (%s); refusing to use it",
			task_id, value ? value : "", rv_error_msg(perr));
	struct engine_candidates ok = {0};
	engine_configured_endpoints(env, &ok);
	const char *bad = NULL;
	for (size_t i = 0; i < rec.n && !bad; i++)
		if (!has_uri(&ok, rec.uris[i]))
			bad = rec.uris[i];
	int r = 0;
	if (bad)
		r = rv_error_set(
			err, EPERM,
			"task %lld names engine endpoint %s, which is not configured here; "
			"set ROVER_ENGINE=%s to use it",
			task_id, bad, bad);
	engine_candidates_release(&ok);
	engine_candidates_release(&rec);
	return r;
}

int engine_open_recorded(long long task_id, const char *value, struct engine **ret,
			 struct rv_error **err)
{
	struct engine_discover_env env;
	struct userconfig uc = {0};
	int r = engine_discover_env_load(NULL, &env, &uc, err);
	if (r >= 0)
		r = engine_check_recorded(&env, task_id, value, err);
	userconfig_release(&uc);
	if (r < 0)
		return r;
	return engine_open(value, ret, err);
}

int engine_open(const char *value, struct engine **ret, struct rv_error **err)
{
	if (!set(value))
		return rv_error_set(err, EINVAL, "empty engine value");
	struct engine_discover_env env = {
		.explicit_value = value,
		.xdg_runtime_dir = getenv("XDG_RUNTIME_DIR"),
	};
	return engine_discover_with(&env, ret, err);
}
