/*
 * engine_container.c - the image, label and container calls of the engine
 * client (engine.h: "images", "labels", "containers"): building the create
 * body, the container verbs, and parsing inspect and list replies.
 * Connecting and discovery, which every one of these calls relies on, stay
 * in engine.c; both implement engine.h and share struct engine through
 * engine_internal.h.
 */
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
#include "engine_internal.h"

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
	r = engine_call(e, "GET", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
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
	r = engine_reply_json(&rep, &o, err);
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
	if (!spec->image || !*spec->image)
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
			_cleanup_free_ char *key =
				eq ? xstrndup(*p, (size_t)(eq - *p)) : xstrdup(*p);
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
						    "bind mount '%s': expected src:/dst[:options]",
						    *p);
		}
		json_object_object_add(host, "Binds", str_array(spec->binds));
	}
	if (spec->network_mode)
		jsonutil_set_str(host, "NetworkMode", spec->network_mode);
	if (spec->cap_drop_all)
		json_object_object_add(host, "CapDrop",
				       str_array((const char *const[]){"ALL", NULL}));
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

int engine_container_create(struct engine *e, const struct engine_create_spec *spec, char **ret_id,
			    struct rv_error **err)
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
	r = engine_call(e, "POST", path, json_object_to_json_string_ext(body, JSON_FLAGS),
			ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot create container '%s'", label);
	if (rep.status != 201 && rep.status != 200)
		return status_err(&rep, "create", label, err);
	_cleanup_json_ struct json_object *o = NULL;
	r = engine_reply_json(&rep, &o, err);
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
	r = engine_call(e, "POST", path, NULL, timeout_ms, &rep, err);
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

int engine_container_stop(struct engine *e, const char *id, int timeout_s, struct rv_error **err)
{
	char q[32] = "";
	long timeout_ms = ENGINE_HTTP_TIMEOUT_NONE;
	if (timeout_s >= 0) {
		snprintf(q, sizeof(q), "t=%d", timeout_s);
		timeout_ms = (long)timeout_s * 1000L + e->http.timeout_ms;
	}
	return simple_post(e, id, "stop", timeout_s >= 0 ? q : NULL, "stop", true, timeout_ms, err);
}

int engine_container_resize(struct engine *e, const char *id, unsigned rows, unsigned cols,
			    struct rv_error **err)
{
	char q[64];
	snprintf(q, sizeof(q), "h=%u&w=%u", rows, cols);
	return simple_post(e, id, "resize", q, "resize", false, ENGINE_HTTP_TIMEOUT_DEFAULT, err);
}

int engine_container_remove(struct engine *e, const char *id, bool force, struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path =
		xasprintf("%s/containers/%s?force=%d", e->prefix, esc, force ? 1 : 0);
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = engine_call(e, "DELETE", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
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
	r = engine_call(e, "POST", path, NULL,
			timeout_ms > 0 ? timeout_ms : ENGINE_HTTP_TIMEOUT_NONE, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot wait for container '%s'", id);
	if (rep.status != 200)
		return status_err(&rep, "wait for", id, err);
	_cleanup_json_ struct json_object *o = NULL;
	int64_t code = 0;
	r = engine_reply_json(&rep, &o, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot wait for container '%s'", id);
	const char *msg = jsonutil_get_str(jsonutil_get_obj(o, "Error"), "Message");
	if (msg && *msg)
		return rv_error_set(err, EIO, "cannot wait for container '%s': %s", id, msg);
	if (!jsonutil_get_int64(o, "StatusCode", &code))
		return rv_error_set(err, EPROTO,
				    "cannot wait for container '%s': no StatusCode in the reply",
				    id);
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

int engine_container_inspect(struct engine *e, const char *id, struct engine_container_info *ret,
			     struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/containers/%s/json", e->prefix, esc);
	_cleanup_reply_ struct engine_http_reply rep = {0};
	r = engine_call(e, "GET", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot inspect container '%s'", id);
	if (rep.status != 200)
		return status_err(&rep, "inspect", id, err);
	_cleanup_json_ struct json_object *o = NULL;
	r = engine_reply_json(&rep, &o, err);
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
		const char *name =
			names && json_object_array_length(names) > 0
				? json_object_get_string(json_object_array_get_idx(names, 0))
				: NULL;
		struct engine_container_summary *s = &v[k++];
		s->id = xstrdup(id);
		s->name = name ? strip_slash(name) : xstrdup("");
		s->image =
			xstrdup(jsonutil_get_str(c, "Image") ? jsonutil_get_str(c, "Image") : "");
		s->state =
			xstrdup(jsonutil_get_str(c, "State") ? jsonutil_get_str(c, "State") : "");
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
	int r = engine_call(e, "GET", path, NULL, ENGINE_HTTP_TIMEOUT_DEFAULT, &rep, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot list containers");
	if (rep.status != 200)
		return engine_http_status_error(rep.status, rep.body, rep.len,
						"cannot list containers", err);
	_cleanup_json_ struct json_object *o = NULL;
	r = engine_reply_json(&rep, &o, err);
	if (r >= 0)
		r = engine_container_list_parse(o, ret, ret_n, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot list containers");
	return 0;
}
