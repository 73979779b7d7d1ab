#define _GNU_SOURCE
#include "jsonutil.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"

static size_t line_of(const char *buf, size_t off)
{
	size_t line = 1;
	for (size_t i = 0; i < off && buf[i]; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

int jsonutil_parse(const char *buf, size_t len, const char *what, struct json_object **ret,
		   struct rv_error **err)
{
	size_t start = 0;
	while (start < len && isspace((unsigned char)buf[start]))
		start++;
	if (start == len)
		return rv_error_set(err, EBADMSG, "%s is empty, expected JSON", what);

	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return rv_error_set(err, ENOMEM, "out of memory parsing %s", what);
	struct json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return rv_error_set(err, EBADMSG,
					    "%s is truncated: JSON ends early at line %zu", what,
					    line_of(buf, len));
		return rv_error_set(err, EBADMSG, "%s is not valid JSON: %s at line %zu", what,
				    json_tokener_error_desc(jerr), line_of(buf, used));
	}
	for (size_t i = used; i < len; i++) {
		if (!isspace((unsigned char)buf[i])) {
			json_object_put(obj);
			return rv_error_set(err, EBADMSG,
					    "%s is not valid JSON: trailing data at line %zu", what,
					    line_of(buf, i));
		}
	}
	*ret = obj;
	return 0;
}

int jsonutil_read_file(const char *path, struct json_object **ret, struct rv_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fileio_read_bounded(path, JSONUTIL_MAX_FILE, &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	return jsonutil_parse(buf, len, what, ret, err);
}

int jsonutil_read_object(const char *path, struct json_object **ret, struct rv_error **err)
{
	_cleanup_json_ struct json_object *obj = NULL;
	int r = jsonutil_read_file(path, &obj, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EBADMSG, "'%s' is not a JSON object", path);
	*ret = TAKE_PTR(obj);
	return 0;
}

int jsonutil_read_member(const char *path, size_t max, const char *what, const char *key,
			 struct json_object **ret, struct rv_error **err)
{
	*ret = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_error_ struct rv_error *rerr = NULL;
	int r = fileio_read_bounded(path, max, &buf, &len, &rerr);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		rv_error_pass(err, &rerr);
		return r;
	}
	_cleanup_json_ struct json_object *obj = NULL;
	r = jsonutil_parse(buf, len, what, &obj, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(obj, json_type_object))
		return rv_error_set(err, EINVAL, "%s is not a JSON object", what);
	struct json_object *member = NULL;
	if (json_object_object_get_ex(obj, key, &member) && member)
		*ret = json_object_get(member);
	return 0;
}

char *jsonutil_to_pretty(struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_SPACED |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	return xasprintf("%s\n", s);
}

int jsonutil_write_file(const char *path, struct json_object *obj, struct rv_error **err)
{
	_cleanup_free_ char *text = jsonutil_to_pretty(obj);
	return fileio_write_atomic(path, text, strlen(text), 0644, err);
}

int jsonutil_write_file_volatile(const char *path, struct json_object *obj, struct rv_error **err)
{
	_cleanup_free_ char *text = jsonutil_to_pretty(obj);
	return fileio_write_atomic_volatile(path, text, strlen(text), 0644, err);
}

const char *jsonutil_get_str(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool jsonutil_get_int64(struct json_object *obj, const char *key, int64_t *ret)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

bool jsonutil_get_bool(struct json_object *obj, const char *key, bool *ret)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return false;
	*ret = json_object_get_boolean(v);
	return true;
}

struct json_object *jsonutil_get_obj(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

struct json_object *jsonutil_get_array(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

void jsonutil_set_str(struct json_object *obj, const char *key, const char *val)
{
	if (!val) {
		json_object_object_del(obj, key);
		return;
	}
	json_object_object_add(obj, key, json_object_new_string(val));
}

void jsonutil_set_int64(struct json_object *obj, const char *key, int64_t val)
{
	json_object_object_add(obj, key, json_object_new_int64(val));
}

void jsonutil_set_bool(struct json_object *obj, const char *key, bool val)
{
	json_object_object_add(obj, key, json_object_new_boolean(val));
}
