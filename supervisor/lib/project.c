#define _GNU_SOURCE
#include "project.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"

static int absolute_dir(const char *start, char **ret, struct rv_error **err)
{
	char *abs = realpath(start ? start : ".", NULL);
	if (!abs) {
		int e = errno;
		rv_error_errno(err, e, "cannot resolve directory '%s'", start ? start : ".");
		return -e;
	}
	if (!fileio_is_dir(abs)) {
		int r = rv_error_set(err, ENOTDIR, "'%s' is not a directory", abs);
		free(abs);
		return r;
	}
	*ret = abs;
	return 0;
}

int project_find_root(const char *start, char **ret_root, bool *ret_is_git,
		      struct rv_error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = absolute_dir(start, &dir, err);
	if (r < 0 || !dir)
		return r < 0 ? r : -EIO;

	/* Walk up in place: dir is cut at each '/' from the end. */
	_cleanup_free_ char *probe = xmalloc(strlen(dir) + sizeof("/.git"));
	size_t len = strlen(dir);
	for (;;) {
		memcpy(probe, dir, len);
		strcpy(probe + len, len == 1 ? ".git" : "/.git"); /* "/" + ".git" */
		struct stat st;
		/* A .git file marks a linked worktree or a submodule: its top
		 * level is the root, as `git rev-parse --show-toplevel` says. */
		if (stat(probe, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
			*ret_root = xstrndup(dir, len);
			if (ret_is_git)
				*ret_is_git = true;
			return 0;
		}
		if (len == 1)
			break;
		while (len > 1 && dir[len - 1] != '/')
			len--;
		if (len > 1)
			len--; /* drop the '/' unless it is the root */
	}
	*ret_root = TAKE_PTR(dir);
	if (ret_is_git)
		*ret_is_git = false;
	return 0;
}

/* Strict decimal: digits only (an optional '-' so that a negative value is
 * reported as out of range rather than as garbage). */
static bool parse_int64(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return false;
	const char *p = s[0] == '-' ? s + 1 : s;
	if (!*p)
		return false;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

static int check_range(int64_t v, int64_t lo, int64_t hi, const char *where, const char *name,
		       struct rv_error **err)
{
	if (v < lo || v > hi)
		return rv_error_set(err, EINVAL, "%s: %s must be an integer from %lld to %lld (got %lld)",
				    where, name, (long long)lo, (long long)hi, (long long)v);
	return 0;
}

/* An integer member of retry; absent or null keeps *val. */
static int json_retry_int(struct json_object *retry, const char *key, const char *where,
			  int64_t *val, struct rv_error **err)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(retry, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return rv_error_set(err, EINVAL, "%s: retry.%s must be an integer, not %s", where,
				    key, json_type_to_name(json_object_get_type(v)));
	*val = json_object_get_int64(v);
	return 0;
}

static int read_settings_file(const char *root, struct project_settings *s, int64_t *max,
			      int64_t *base, int64_t *cap, struct rv_error **err)
{
	_cleanup_free_ char *path = fileio_join(root, PROJECT_SETTINGS_FILE);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_error_ struct rv_error *rerr = NULL;
	int r = fileio_read_bounded(path, PROJECT_SETTINGS_MAX_BYTES, &buf, &len, &rerr);
	if (r == -ENOENT)
		return 0; /* optional */
	if (r < 0) {
		if (err) {
			rv_error_free(*err);
			*err = TAKE_PTR(rerr);
		}
		return r;
	}
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	_cleanup_json_ struct json_object *obj = NULL;
	r = jsonutil_parse(buf, len, what, &obj, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EINVAL, "%s is not a JSON object", what);

	struct json_object *v = NULL;
	if (json_object_object_get_ex(obj, "agentImage", &v) && v) {
		if (!json_object_is_type(v, json_type_string))
			return rv_error_set(err, EINVAL, "%s: agentImage must be a string", what);
		if (json_object_get_string_len(v) > 0)
			s->agent_image = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(obj, "retry", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return rv_error_set(err, EINVAL, "%s: retry must be an object", what);
		if ((r = json_retry_int(v, "max", what, max, err)) < 0 ||
		    (r = json_retry_int(v, "baseSeconds", what, base, err)) < 0 ||
		    (r = json_retry_int(v, "capSeconds", what, cap, err)) < 0)
			return r;
		if ((r = check_range(*max, 0, PROJECT_RETRY_MAX_LIMIT, what, "retry.max", err)) < 0 ||
		    (r = check_range(*base, 1, PROJECT_RETRY_CAP_LIMIT, what, "retry.baseSeconds",
				     err)) < 0 ||
		    (r = check_range(*cap, 1, PROJECT_RETRY_CAP_LIMIT, what, "retry.capSeconds",
				     err)) < 0)
			return r;
	}
	return 0;
}

static int env_int(const char *name, int64_t lo, int64_t hi, int64_t *val, struct rv_error **err)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return 0;
	int64_t v;
	if (!parse_int64(s, &v))
		return rv_error_set(err, EINVAL, "environment variable %s must be an integer, not '%.64s'",
				    name, s);
	_cleanup_free_ char *where = xasprintf("environment variable %s", name);
	int r = check_range(v, lo, hi, "invalid setting", where, err);
	if (r < 0)
		return r;
	*val = v;
	return 0;
}

int project_load_settings(const char *root, struct project_settings *ret, struct rv_error **err)
{
	struct project_settings s = {0};
	int64_t max = PROJECT_RETRY_DEFAULT_MAX, base = PROJECT_RETRY_DEFAULT_BASE,
		cap = PROJECT_RETRY_DEFAULT_CAP;
	int r = read_settings_file(root, &s, &max, &base, &cap, err);
	if (r >= 0)
		r = env_int("ROVER_RETRY_MAX", 0, PROJECT_RETRY_MAX_LIMIT, &max, err);
	if (r >= 0)
		r = env_int("ROVER_RETRY_BASE_SECONDS", 1, PROJECT_RETRY_CAP_LIMIT, &base, err);
	if (r >= 0)
		r = env_int("ROVER_RETRY_CAP_SECONDS", 1, PROJECT_RETRY_CAP_LIMIT, &cap, err);
	if (r >= 0 && base > cap)
		r = rv_error_set(err, EINVAL,
				 "invalid retry settings: baseSeconds (%lld) is larger than capSeconds "
				 "(%lld); check %s/%s and ROVER_RETRY_*_SECONDS",
				 (long long)base, (long long)cap, root, PROJECT_SETTINGS_FILE);
	if (r < 0) {
		project_settings_release(&s);
		return r;
	}
	s.retry.max = (int)max;
	s.retry.base_seconds = base;
	s.retry.cap_seconds = cap;
	*ret = s;
	return 0;
}

void project_settings_release(struct project_settings *s)
{
	if (!s)
		return;
	free(s->agent_image);
	s->agent_image = NULL;
}

static int store_dir_of(const char *root, char **ret, struct rv_error **err)
{
	const char *env = getenv("ROVER_STORE");
	if (!env || !*env) {
		*ret = fileio_join(root, PROJECT_STORE_NAME);
		return 0;
	}
	if (env[0] == '/') {
		*ret = xstrdup(env);
		return 0;
	}
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return rv_error_errno(err, errno, "cannot resolve ROVER_STORE '%s'", env);
	*ret = fileio_join(cwd, env);
	return 0;
}

int project_open(const char *start, struct project **ret, struct rv_error **err)
{
	struct project *p = xcalloc(1, sizeof(*p));
	int r = project_find_root(start, &p->root, &p->is_git, err);
	if (r >= 0)
		r = store_dir_of(p->root, &p->store_dir, err);
	if (r >= 0)
		r = project_load_settings(p->root, &p->settings, err);
	if (r < 0) {
		project_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void project_free(struct project *p)
{
	if (!p)
		return;
	free(p->root);
	free(p->store_dir);
	project_settings_release(&p->settings);
	free(p);
}

const char *project_agent_image(const struct project *p)
{
	const char *env = getenv("ROVER_AGENT_IMAGE");
	if (env && *env)
		return env;
	return p ? p->settings.agent_image : NULL;
}
