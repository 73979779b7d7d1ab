#define _GNU_SOURCE
#include "userconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "supervisor/lib/engine_http.h"

char *userconfig_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/rover/config.json", xdg);
	const char *home = getenv("HOME");
	if (home && home[0] == '/')
		return xasprintf("%s/.config/rover/config.json", home);
	return NULL;
}

/* "docker", "podman" or an endpoint engine_endpoint_parse() takes. */
static int check_engine(const char *value, const char *path, struct rv_error **err)
{
	if (!strcmp(value, "docker") || !strcmp(value, "podman"))
		return 0;
	if (strncmp(value, "unix://", 7) != 0 && strncmp(value, "tcp://", 6) != 0)
		return rv_error_set(err, EINVAL,
				    "'%s': \"engine\" must be \"docker\", \"podman\", "
				    "\"unix:///path\" or \"tcp://host:port\", not '%.100s'",
				    path, value);
	struct engine_endpoint ep = {0};
	int r = engine_endpoint_parse(value, &ep, err);
	engine_endpoint_release(&ep);
	if (r < 0)
		return rv_error_wrap(err, "'%s': \"engine\"", path);
	return 0;
}

int userconfig_parse(const char *buf, size_t len, const char *path, struct userconfig *ret,
		     struct rv_error **err)
{
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	_cleanup_json_ struct json_object *obj = NULL;
	int r = jsonutil_parse(buf, len, what, &obj, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EINVAL, "%s must hold one JSON object", what);
	_cleanup_free_ char *engine = NULL;
	json_object_object_foreach(obj, key, val)
	{
		if (!strcmp(key, "container") || !strcmp(key, "hooks"))
			continue; /* hardening.c and hooks.c read and check them */
		if (strcmp(key, "engine") != 0)
			return rv_error_set(
				err, EINVAL,
				"%s: unknown setting '%.64s' (known: \"engine\", \"container\", "
				"\"hooks\")",
				what, key);
		if (!json_object_is_type(val, json_type_string) ||
		    json_object_get_string_len(val) == 0)
			return rv_error_set(err, EINVAL,
					    "%s: \"engine\" must be a non-empty string", what);
		r = check_engine(json_object_get_string(val), path, err);
		if (r < 0)
			return r;
		free(engine);
		engine = xstrdup(json_object_get_string(val));
	}
	free(ret->engine);
	ret->engine = TAKE_PTR(engine);
	return 0;
}

int userconfig_load(struct userconfig *ret, struct rv_error **err)
{
	struct userconfig c = {.path = userconfig_path()};
	if (!c.path) {
		*ret = c;
		return 0;
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_error_ struct rv_error *e = NULL;
	int r = fileio_read_bounded(c.path, USERCONFIG_MAX_BYTES, &buf, &len, &e);
	if (r == -ENOENT || r == -ENOTDIR) {
		*ret = c;
		return 0;
	}
	if (r >= 0) {
		c.present = true;
		r = userconfig_parse(buf, len, c.path, &c, &e);
	}
	if (r < 0) {
		rv_error_pass(err, &e);
		rv_error_wrap(err, "your rover configuration is not valid (fix or remove it)");
		userconfig_release(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void userconfig_release(struct userconfig *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->engine);
	c->path = NULL;
	c->engine = NULL;
	c->present = false;
}

int userconfig_set_engine(const char *value, char **ret_previous, struct rv_error **err)
{
	_cleanup_free_ char *path = userconfig_path();
	if (!path)
		return rv_error_set(
			err, ENOENT,
			"cannot save the engine: neither XDG_CONFIG_HOME nor HOME is set");
	int r = check_engine(value, path, err);
	if (r < 0)
		return r;
	struct userconfig cur = {0};
	r = userconfig_load(&cur, err);
	if (r < 0)
		return r;
	_cleanup_json_ struct json_object *obj = NULL;
	if (cur.present) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		r = fileio_read_bounded(path, USERCONFIG_MAX_BYTES, &buf, &len, err);
		if (r >= 0)
			r = jsonutil_parse(buf, len, path, &obj, err);
		if (r < 0) {
			userconfig_release(&cur);
			return r;
		}
	} else {
		obj = json_object_new_object();
	}
	jsonutil_set_str(obj, "engine", value);
	_cleanup_free_ char *dir = fileio_dirname(path);
	r = fileio_mkdir_p(dir, 0700, err);
	if (r >= 0) {
		_cleanup_free_ char *text = jsonutil_to_pretty(obj);
		r = fileio_write_atomic(path, text, strlen(text), 0600, err);
	}
	if (r < 0) {
		userconfig_release(&cur);
		return rv_error_wrap(err, "cannot save the engine in '%s'", path);
	}
	if (ret_previous)
		*ret_previous = TAKE_PTR(cur.engine);
	userconfig_release(&cur);
	return 0;
}
