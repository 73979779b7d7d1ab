/*
 * jsonutil.h - json-c at the edges: bounded file parsing with clear errors,
 * atomic pretty writes, and typed getters.
 *
 * Strings returned by the *_str getters are borrowed from the object and die
 * with it (json_object_put); copy them (xstrdup) before the object goes.
 * Objects returned through ret_* are owned by the caller.
 */
#ifndef ROVER_JSONUTIL_H
#define ROVER_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

/* Largest JSON file we read: task files and checkpoints are far smaller. */
#define JSONUTIL_MAX_FILE (64u * 1024u * 1024u)

/* Parse a whole buffer as one JSON value (trailing whitespace allowed).  what
 * names the source in errors ("'/x/description.json'").  -EBADMSG on bad JSON,
 * with the line and the parser's reason in the message. */
int jsonutil_parse(const char *buf, size_t len, const char *what, struct json_object **ret,
		   struct rv_error **err);

/* Read and parse a file; missing file -ENOENT; anything else that is not JSON
 * (empty, truncated, garbage) -EBADMSG naming the file. */
int jsonutil_read_file(const char *path, struct json_object **ret, struct rv_error **err);

/* As jsonutil_read_file, and the value must be an object. */
int jsonutil_read_object(const char *path, struct json_object **ret, struct rv_error **err);

/* The member `key` of the JSON object in the file at path (read up to max
 * bytes; what names it in errors): *ret is a new reference, or NULL when the
 * file or the member is missing (0).  A file that is not one JSON object is
 * an error naming it. */
int jsonutil_read_member(const char *path, size_t max, const char *what, const char *key,
			 struct json_object **ret, struct rv_error **err);

/* Pretty (2-space) JSON with a trailing newline, written atomically and durably. */
int jsonutil_write_file(const char *path, struct json_object *obj, struct rv_error **err);
/* The same through fileio_write_atomic_volatile() (fileio.h says when). */
int jsonutil_write_file_volatile(const char *path, struct json_object *obj, struct rv_error **err);

/* Pretty text of obj with trailing newline; caller frees. */
char *jsonutil_to_pretty(struct json_object *obj);

/* Getters: NULL / default when the key is missing or of another type. */
const char *jsonutil_get_str(struct json_object *obj, const char *key);
bool jsonutil_get_int64(struct json_object *obj, const char *key, int64_t *ret);
bool jsonutil_get_bool(struct json_object *obj, const char *key, bool *ret);
struct json_object *jsonutil_get_obj(struct json_object *obj, const char *key);
struct json_object *jsonutil_get_array(struct json_object *obj, const char *key);

/* Setters that take care of ownership; a NULL string deletes the key. */
void jsonutil_set_str(struct json_object *obj, const char *key, const char *val);
void jsonutil_set_int64(struct json_object *obj, const char *key, int64_t val);
void jsonutil_set_bool(struct json_object *obj, const char *key, bool val);

#endif
