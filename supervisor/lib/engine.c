#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "engine_http.h"
#include "userconfig.h"

/* Compact, and "/" left alone (paths are in labels and binds). */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct engine {
	struct engine_http http;
	enum engine_kind kind;
	char api_version[ENGINE_API_VERSION_LEN];
	char prefix[ENGINE_API_VERSION_LEN + 4]; /* "/v1.41" */
	char *server;
};

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

static void reply_releasep(struct engine_http_reply *r)
{
	engine_http_reply_release(r);
}
#define _cleanup_reply_ _cleanup_(reply_releasep)

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

static int call(struct engine *e, const char *method, const char *path, const char *body,
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

/* The reply's body as JSON; anything else is a protocol error. */
static int reply_json(const struct engine_http_reply *r, struct json_object **ret,
		      struct rv_error **err)
{
	if (!r->body || r->len == 0)
		return rv_error_set(err, EPROTO, "empty reply from the engine (HTTP %ld)", r->status);
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
		return rv_error_set(err, EPROTO, "the engine reports no usable API version ('%.32s')",
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
	int r = call(e, "GET", "/_ping", NULL, t, ret, err);
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
	int k = call(e, "GET", "/version", NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &r, err);
	if (k >= 0 && r.status != 200)
		k = engine_http_status_error(r.status, r.body, r.len, "GET /version", err);
	if (k >= 0)
		k = reply_json(&r, &v, err);
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

int engine_discover_candidates(const struct engine_discover_env *env,
			       struct engine_candidates *ret, struct rv_error **err)
{
	const struct {
		const char *value;
		const char *source;
	} order[] = {
		{env->explicit_value, "--engine"},
		{env->rover_engine, "ROVER_ENGINE"},
		{env->docker_host, "DOCKER_HOST"},
		{env->container_host, "CONTAINER_HOST"},
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
			return rv_error_set(err, -r, "%s; %s", rv_error_msg(e), ENGINE_HTTP_HINT_DOWN);
		if (err) {
			rv_error_free(*err);
			*err = TAKE_PTR(e);
		}
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
	return rv_error_set(err, denied ? EACCES : ECONNREFUSED,
			    "no container engine answers (%s%s): %s%s%s",
			    strcmp(c->source, "default") == 0 ? "tried the default places"
							      : "from ",
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
		return rv_error_set(err, EINVAL,
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
		r = rv_error_set(err, EPERM,
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

/* ---- images ------------------------------------------------------------- */

#define MAX_IMAGE_LEN 512

int engine_image_path(const char *name, char **ret, struct rv_error **err)
{
	if (!name || !*name)
		return rv_error_set(err, EINVAL, "empty image name");
	size_t n = strlen(name);
	if (n > MAX_IMAGE_LEN)
		return rv_error_set(err, EINVAL, "image name longer than %d bytes", MAX_IMAGE_LEN);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
			return rv_error_set(err, EINVAL,
					    "image name '%.64s' holds a space or control character",
					    name);
	_cleanup_free_ char *copy = xstrdup(name);
	_cleanup_free_ char *out = xstrdup("");
	char *save = NULL;
	bool first = true;
	if (name[0] == '/' || name[n - 1] == '/' || strstr(name, "//"))
		return rv_error_set(err, EINVAL, "bad image name '%.64s'", name);
	for (char *seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, ".") || !strcmp(seg, ".."))
			return rv_error_set(err, EINVAL, "bad image name '%.64s'", name);
		_cleanup_free_ char *esc = engine_http_escape(seg);
		char *more = xasprintf("%s%s%s", out, first ? "" : "/", esc);
		free(out);
		out = more;
		first = false;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

void engine_image_info_release(struct engine_image_info *info)
{
	if (!info)
		return;
	free(info->id);
	free(info->created);
	*info = (struct engine_image_info){0};
}

int engine_image_inspect(struct engine *e, const char *name, struct engine_image_info *ret,
			 struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_image_path(name, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/images/%s/json", e->prefix, esc);
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = call(e, "GET", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot inspect image '%s'", name);
	if (rep.status == 404) {
		rv_error_set(err, ENOENT, "image '%s' is not on the %s engine at %s", name,
			     engine_kind_name(e->kind), e->http.ep.uri);
		if (err && *err)
			(*err)->http_status = 404;
		return -ENOENT;
	}
	if (rep.status != 200) {
		_cleanup_free_ char *what = xasprintf("cannot inspect image '%s'", name);
		return engine_http_status_error(rep.status, rep.body, rep.len, what, err);
	}
	_cleanup_json_ struct json_object *o = NULL;
	r = reply_json(&rep, &o, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot inspect image '%s'", name);
	const char *id = jsonutil_get_str(o, "Id");
	if (!id)
		return rv_error_set(err, EPROTO, "cannot inspect image '%s': the reply has no Id",
				    name);
	struct engine_image_info info = {.id = xstrdup(id)};
	int64_t size = 0;
	if (jsonutil_get_int64(o, "Size", &size) && size > 0)
		info.size = size;
	const char *created = jsonutil_get_str(o, "Created");
	if (created)
		info.created = xstrdup(created);
	*ret = info;
	return 0;
}

/* ---- labels ------------------------------------------------------------- */

const char *engine_label_get(const struct engine_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i].key, key) == 0)
			return labels[i].value;
	return NULL;
}

void engine_labels_free(struct engine_label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(labels[i].key);
		free(labels[i].value);
	}
	free(labels);
}

/* Labels from a JSON object of strings (others are skipped). */
static void labels_parse(struct json_object *obj, struct engine_label **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	if (!obj || !json_object_is_type(obj, json_type_object))
		return;
	size_t n = 0, cap = (size_t)json_object_object_length(obj);
	struct engine_label *l = xcalloc(cap ? cap : 1, sizeof(*l));
	json_object_object_foreach(obj, k, v)
	{
		if (!json_object_is_type(v, json_type_string) || n >= cap)
			continue;
		l[n].key = xstrdup(k);
		l[n].value = xstrdup(json_object_get_string(v));
		n++;
	}
	*ret = l;
	*ret_n = n;
}

/* ---- containers --------------------------------------------------------- */

static struct json_object *str_array(const char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

int engine_create_body(const struct engine_create_spec *spec, struct json_object **ret,
		       struct rv_error **err)
{
	if (!set(spec->image))
		return rv_error_set(err, EINVAL, "no image given for the container");
	_cleanup_json_ struct json_object *o = json_object_new_object();
	_cleanup_json_ struct json_object *host = json_object_new_object();
	jsonutil_set_str(o, "Image", spec->image);
	if (spec->cmd)
		json_object_object_add(o, "Cmd", str_array(spec->cmd));
	if (spec->entrypoint)
		json_object_object_add(o, "Entrypoint", str_array(spec->entrypoint));
	if (spec->env)
		json_object_object_add(o, "Env", str_array(spec->env));
	if (spec->labels) {
		struct json_object *l = json_object_new_object();
		json_object_object_add(o, "Labels", l);
		for (const char *const *p = spec->labels; *p; p++) {
			const char *eq = strchr(*p, '=');
			_cleanup_free_ char *key = eq ? xstrndup(*p, (size_t)(eq - *p)) : xstrdup(*p);
			if (!*key)
				return rv_error_set(err, EINVAL, "label '%s' has an empty key", *p);
			json_object_object_add(l, key, json_object_new_string(eq ? eq + 1 : ""));
		}
	}
	if (spec->user)
		jsonutil_set_str(o, "User", spec->user);
	if (spec->working_dir)
		jsonutil_set_str(o, "WorkingDir", spec->working_dir);
	if (spec->stop_signal)
		jsonutil_set_str(o, "StopSignal", spec->stop_signal);
	if (spec->stop_timeout >= 0)
		jsonutil_set_int64(o, "StopTimeout", spec->stop_timeout);
	json_object_object_add(o, "Tty", json_object_new_boolean(spec->tty));
	json_object_object_add(o, "OpenStdin", json_object_new_boolean(spec->open_stdin));
	if (spec->open_stdin) {
		/* One attach owns stdin; its end of file closes the container's. */
		json_object_object_add(o, "StdinOnce", json_object_new_boolean(true));
		json_object_object_add(o, "AttachStdin", json_object_new_boolean(true));
		json_object_object_add(o, "AttachStdout", json_object_new_boolean(true));
		json_object_object_add(o, "AttachStderr", json_object_new_boolean(true));
	}
	if (spec->binds) {
		for (const char *const *p = spec->binds; *p; p++) {
			const char *colon = strchr(*p, ':');
			if (!colon || colon == *p || colon[1] != '/')
				return rv_error_set(err, EINVAL,
						    "bind mount '%s': expected src:/dst[:options]", *p);
		}
		json_object_object_add(host, "Binds", str_array(spec->binds));
	}
	if (spec->network_mode)
		jsonutil_set_str(host, "NetworkMode", spec->network_mode);
	if (spec->cap_drop_all)
		json_object_object_add(host, "CapDrop", str_array((const char *const[]){"ALL", NULL}));
	if (spec->cap_add && spec->cap_add[0])
		json_object_object_add(host, "CapAdd", str_array(spec->cap_add));
	/* The bare word, the one spelling Docker 20.10 and Podman 4.3 both
	 * document (both also take "no-new-privileges:true"). */
	if (spec->no_new_privileges)
		json_object_object_add(host, "SecurityOpt",
				       str_array((const char *const[]){"no-new-privileges", NULL}));
	if (spec->pids_limit)
		jsonutil_set_int64(host, "PidsLimit", spec->pids_limit < 0 ? -1 : spec->pids_limit);
	if (spec->memory > 0) {
		jsonutil_set_int64(host, "Memory", spec->memory);
		/* MemorySwap is memory + swap: equal means no swap to escape into. */
		jsonutil_set_int64(host, "MemorySwap", spec->memory);
	}
	if (spec->nano_cpus > 0)
		jsonutil_set_int64(host, "NanoCpus", spec->nano_cpus);
	if (spec->read_only_rootfs) {
		json_object_object_add(host, "ReadonlyRootfs", json_object_new_boolean(true));
		/* Programs need a writable /tmp (and rover puts HOME there); exec
		 * because test runners build and run binaries there (Docker's tmpfs
		 * default is noexec). */
		struct json_object *tmpfs = json_object_new_object();
		jsonutil_set_str(tmpfs, "/tmp", "rw,nosuid,nodev,exec,mode=1777");
		json_object_object_add(host, "Tmpfs", tmpfs);
	}
	json_object_object_add(o, "HostConfig", TAKE_PTR(host));
	*ret = TAKE_PTR(o);
	return 0;
}

/* A status error for a call on container id. */
static int status_err(const struct engine_http_reply *r, const char *verb, const char *id,
		      struct rv_error **err)
{
	_cleanup_free_ char *what = xasprintf("cannot %s container '%s'", verb, id);
	return engine_http_status_error(r->status, r->body, r->len, what, err);
}

int engine_container_create(struct engine *e, const struct engine_create_spec *spec,
			    char **ret_id, struct rv_error **err)
{
	const char *label = spec->name ? spec->name : spec->image ? spec->image : "";
	_cleanup_json_ struct json_object *body = NULL;
	int r = engine_create_body(spec, &body, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot create container '%s'", label);
	_cleanup_free_ char *path = NULL;
	if (spec->name) {
		_cleanup_free_ char *esc = NULL;
		r = engine_escape_id(spec->name, &esc, err);
		if (r < 0)
			return r;
		path = xasprintf("%s/containers/create?name=%s", e->prefix, esc);
	} else {
		path = xasprintf("%s/containers/create", e->prefix);
	}
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = call(e, "POST", path, json_object_to_json_string_ext(body, JSON_FLAGS),
		 ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot create container '%s'", label);
	if (rep.status != 201 && rep.status != 200)
		return status_err(&rep, "create", label, err);
	_cleanup_json_ struct json_object *o = NULL;
	r = reply_json(&rep, &o, err);
	const char *id = r < 0 ? NULL : jsonutil_get_str(o, "Id");
	if (!id || !*id) {
		if (r >= 0)
			rv_error_set(err, EPROTO, "the engine's reply has no container Id");
		return rv_error_wrap(err, "cannot create container '%s'", label);
	}
	*ret_id = xstrdup(id);
	return 0;
}

/* POST /containers/{id}/<action>[?query] expecting 204 (or 304 when ok304). */
static int simple_post(struct engine *e, const char *id, const char *action, const char *query,
		       const char *verb, bool ok304, long timeout_ms, struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/containers/%s/%s%s%s", e->prefix, esc, action,
					      query ? "?" : "", query ? query : "");
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = call(e, "POST", path, NULL, timeout_ms, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot %s container '%s'", verb, id);
	if (rep.status == 204 || rep.status == 200 || (ok304 && rep.status == 304))
		return 0;
	return status_err(&rep, verb, id, err);
}

int engine_container_start(struct engine *e, const char *id, struct rv_error **err)
{
	return simple_post(e, id, "start", NULL, "start", true, ENGINE_HTTP_TIMEOUT_DEFAULT, err);
}

int engine_container_kill(struct engine *e, const char *id, int signo, struct rv_error **err)
{
	if (signo <= 0 || signo > 64)
		return rv_error_set(err, EINVAL, "cannot kill container '%s': bad signal %d", id,
				    signo);
	char q[32];
	snprintf(q, sizeof(q), "signal=%d", signo);
	int r = simple_post(e, id, "kill", q, "kill", false, ENGINE_HTTP_TIMEOUT_DEFAULT, err);
	/* Both engines refuse to signal a container that is not running
	 * (Docker 409; Podman 500 "container state improper", mapped to 409). */
	if (r == -EBUSY && err && *err && (*err)->http_status == 409) {
		(*err)->code = ESRCH;
		return -ESRCH;
	}
	return r;
}

int engine_container_stop(struct engine *e, const char *id, int timeout_s,
			  struct rv_error **err)
{
	char q[32] = "";
	long timeout_ms = ENGINE_HTTP_TIMEOUT_NONE;
	if (timeout_s >= 0) {
		snprintf(q, sizeof(q), "t=%d", timeout_s);
		timeout_ms = (long)timeout_s * 1000L + e->http.timeout_ms;
	}
	return simple_post(e, id, "stop", timeout_s >= 0 ? q : NULL, "stop", true, timeout_ms,
			   err);
}

int engine_container_resize(struct engine *e, const char *id, unsigned rows, unsigned cols,
			    struct rv_error **err)
{
	char q[64];
	snprintf(q, sizeof(q), "h=%u&w=%u", rows, cols);
	return simple_post(e, id, "resize", q, "resize", false, ENGINE_HTTP_TIMEOUT_DEFAULT, err);
}

int engine_container_remove(struct engine *e, const char *id, bool force,
			    struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path =
		xasprintf("%s/containers/%s?force=%d", e->prefix, esc, force ? 1 : 0);
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = call(e, "DELETE", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot remove container '%s'", id);
	if (rep.status == 204 || rep.status == 200)
		return 0;
	return status_err(&rep, "remove", id, err);
}

int engine_container_wait(struct engine *e, const char *id, enum engine_wait_condition cond,
			  long timeout_ms, int *ret_exit_code, struct rv_error **err)
{
	static const char *const conds[] = {"not-running", "next-exit", "removed"};
	if ((unsigned)cond >= ARRAY_SIZE(conds))
		return rv_error_set(err, EINVAL, "bad wait condition %d", (int)cond);
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path =
		xasprintf("%s/containers/%s/wait?condition=%s", e->prefix, esc, conds[cond]);
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = call(e, "POST", path, NULL, timeout_ms > 0 ? timeout_ms : ENGINE_HTTP_TIMEOUT_NONE,
		 &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot wait for container '%s'", id);
	if (rep.status != 200)
		return status_err(&rep, "wait for", id, err);
	_cleanup_json_ struct json_object *o = NULL;
	int64_t code = 0;
	r = reply_json(&rep, &o, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot wait for container '%s'", id);
	const char *msg = jsonutil_get_str(jsonutil_get_obj(o, "Error"), "Message");
	if (msg && *msg)
		return rv_error_set(err, EIO, "cannot wait for container '%s': %s", id, msg);
	if (!jsonutil_get_int64(o, "StatusCode", &code))
		return rv_error_set(err, EPROTO,
				    "cannot wait for container '%s': no StatusCode in the reply", id);
	*ret_exit_code = (int)code;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static int64_t iso_ms(const char *s)
{
	int64_t ms = 0;
	/* the zero time "0001-01-01T00:00:00Z" means never */
	if (!s || !timeutil_parse_iso(s, &ms) || ms < 0)
		return 0;
	return ms;
}

static char *strip_slash(const char *name)
{
	if (!name)
		return NULL;
	return xstrdup(name[0] == '/' ? name + 1 : name);
}

int engine_container_info_parse(struct json_object *obj, struct engine_container_info *ret,
				struct rv_error **err)
{
	const char *id = jsonutil_get_str(obj, "Id");
	struct json_object *st = jsonutil_get_obj(obj, "State");
	if (!id || !st)
		return rv_error_set(err, EPROTO, "container inspect reply without Id or State");
	struct json_object *cfg = jsonutil_get_obj(obj, "Config");
	struct engine_container_info in = {
		.id = xstrdup(id),
		.name = strip_slash(jsonutil_get_str(obj, "Name")),
		.image = dup_or_null(jsonutil_get_str(cfg, "Image")),
		.status = xstrdup(jsonutil_get_str(st, "Status") ? jsonutil_get_str(st, "Status")
								  : "unknown"),
		.started_at = dup_or_null(jsonutil_get_str(st, "StartedAt")),
		.finished_at = dup_or_null(jsonutil_get_str(st, "FinishedAt")),
		.error = dup_or_null(jsonutil_get_str(st, "Error")),
	};
	if (!in.image)
		in.image = dup_or_null(jsonutil_get_str(obj, "Image"));
	int64_t v = 0;
	if (jsonutil_get_int64(st, "ExitCode", &v))
		in.exit_code = (int)v;
	if (jsonutil_get_int64(st, "Pid", &v))
		in.pid = (int)v;
	jsonutil_get_bool(st, "Running", &in.running);
	jsonutil_get_bool(st, "Paused", &in.paused);
	jsonutil_get_bool(st, "Restarting", &in.restarting);
	jsonutil_get_bool(st, "OOMKilled", &in.oom_killed);
	jsonutil_get_bool(st, "Dead", &in.dead);
	jsonutil_get_bool(cfg, "Tty", &in.tty);
	in.started_at_ms = iso_ms(in.started_at);
	in.finished_at_ms = iso_ms(in.finished_at);
	labels_parse(jsonutil_get_obj(cfg, "Labels"), &in.labels, &in.n_labels);
	*ret = in;
	return 0;
}

void engine_container_info_release(struct engine_container_info *info)
{
	if (!info)
		return;
	free(info->id);
	free(info->name);
	free(info->image);
	free(info->status);
	free(info->started_at);
	free(info->finished_at);
	free(info->error);
	engine_labels_free(info->labels, info->n_labels);
	*info = (struct engine_container_info){0};
}

int engine_container_inspect(struct engine *e, const char *id,
			     struct engine_container_info *ret, struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/containers/%s/json", e->prefix, esc);
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = call(e, "GET", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot inspect container '%s'", id);
	if (rep.status != 200)
		return status_err(&rep, "inspect", id, err);
	_cleanup_json_ struct json_object *o = NULL;
	r = reply_json(&rep, &o, err);
	if (r >= 0)
		r = engine_container_info_parse(o, ret, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot inspect container '%s'", id);
	return 0;
}

void engine_container_list_free(struct engine_container_summary *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].name);
		free(list[i].image);
		free(list[i].state);
		free(list[i].status);
		engine_labels_free(list[i].labels, list[i].n_labels);
	}
	free(list);
}

int engine_container_list_parse(struct json_object *arr, struct engine_container_summary **ret,
				size_t *ret_n, struct rv_error **err)
{
	if (!arr || !json_object_is_type(arr, json_type_array))
		return rv_error_set(err, EPROTO, "container list reply is not an array");
	size_t n = json_object_array_length(arr), k = 0;
	struct engine_container_summary *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(arr, i);
		const char *id = jsonutil_get_str(c, "Id");
		if (!id)
			continue;
		struct json_object *names = jsonutil_get_array(c, "Names");
		const char *name = names && json_object_array_length(names) > 0
					   ? json_object_get_string(json_object_array_get_idx(names, 0))
					   : NULL;
		struct engine_container_summary *s = &v[k++];
		s->id = xstrdup(id);
		s->name = name ? strip_slash(name) : xstrdup("");
		s->image = xstrdup(jsonutil_get_str(c, "Image") ? jsonutil_get_str(c, "Image") : "");
		s->state = xstrdup(jsonutil_get_str(c, "State") ? jsonutil_get_str(c, "State") : "");
		s->status =
			xstrdup(jsonutil_get_str(c, "Status") ? jsonutil_get_str(c, "Status") : "");
		jsonutil_get_int64(c, "Created", &s->created);
		labels_parse(jsonutil_get_obj(c, "Labels"), &s->labels, &s->n_labels);
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

int engine_container_list(struct engine *e, const char *const *label_filters,
			  struct engine_container_summary **ret, size_t *ret_n,
			  struct rv_error **err)
{
	_cleanup_free_ char *path = NULL;
	if (label_filters && *label_filters) {
		_cleanup_json_ struct json_object *f = json_object_new_object();
		json_object_object_add(f, "label", str_array(label_filters));
		_cleanup_free_ char *esc =
			engine_http_escape(json_object_to_json_string_ext(f, JSON_FLAGS));
		path = xasprintf("%s/containers/json?all=1&filters=%s", e->prefix, esc);
	} else {
		path = xasprintf("%s/containers/json?all=1", e->prefix);
	}
	_cleanup_reply_ struct engine_http_reply rep = {0};
	int r = call(e, "GET", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot list containers");
	if (rep.status != 200)
		return engine_http_status_error(rep.status, rep.body, rep.len,
						"cannot list containers", err);
	_cleanup_json_ struct json_object *o = NULL;
	r = reply_json(&rep, &o, err);
	if (r >= 0)
		r = engine_container_list_parse(o, ret, ret_n, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot list containers");
	return 0;
}
