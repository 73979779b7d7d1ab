/*
 * list_cache.h - the rendered JSON of tasks that are not running, so
 * `rover list --json` over thousands of tasks does not parse every
 * description.json on every call.
 *
 * <store>/.list-cache holds, per task, the exact JSON text `rover list --json`
 * prints for it, keyed by the identity of its description.json as stat(2)
 * saw it BEFORE it was read: device, inode, size and mtime in nanoseconds.
 * Every write of a record replaces the file by rename (a new inode), so a
 * changed task always misses; and since the key is taken before the read, a
 * hit can never serve content older than the file.  Running tasks are never
 * cached (their status file is live).  The header carries the view's own
 * inputs (view_key: e.g. the retry budget behind needsManualResume); another
 * key discards the whole cache.
 *
 * The cache is only an accelerator: a missing, truncated or foreign cache file
 * is ignored and rebuilt from the records, and it is written atomically
 * (fileio_write_atomic) only when something changed.
 */
#ifndef ROVER_LIST_CACHE_H
#define ROVER_LIST_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/error.h"

#define LIST_CACHE_FILE ".list-cache"

struct list_cache;

/* Read the cache at path; never fails (an unusable file gives an empty
 * cache).  view_key must not contain a newline. */
struct list_cache *list_cache_open(const char *path, const char *view_key);

/* The cached text for id when st matches its key, else NULL.  Marks the
 * entry as used (entries not used by the end are dropped on save). */
const char *list_cache_get(struct list_cache *c, int64_t id, const struct stat *st,
			   size_t *ret_len);

/* Remember the text for id under key st (copied). */
void list_cache_put(struct list_cache *c, int64_t id, const struct stat *st, const char *json,
		    size_t len);

/* Write the cache back when anything changed (used entries only). */
int list_cache_save(struct list_cache *c, struct rv_error **err);

void list_cache_free(struct list_cache *c);

#endif
