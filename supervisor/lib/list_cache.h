/*
 * list_cache.h - the rendered view of each task, so `rover list` over
 * thousands of tasks does not parse every description.json on every call.
 *
 * A cache file (<store>/.list-cache for `list --json`, <store>/.list-rows for
 * the table: one module, two renderings) holds, per task, the exact text the
 * view shows for it, keyed by the identity of its description.json as
 * stat(2) saw it BEFORE it was read: device, inode, size and mtime in
 * nanoseconds.  Every write of a record replaces the file by rename (a new
 * inode), so a changed task always misses; and since the key is taken before
 * the read, a hit can never serve content older than the file.
 *
 * A task that was running when it was rendered (a "live" entry) has a second
 * key, its iteration's status.json (the container rewrites it as it works),
 * and what deciding on it without reading the record needs: the iteration,
 * the container id and the engine endpoint.  A live entry is only valid while
 * both keys match AND its container is still alive (observe.h,
 * observe_unchanged_running); the caller checks that.  Entries are only put
 * when the observation changed nothing, so an unchanged running task costs
 * two stat calls and no read, no lock, no write.
 *
 * The header carries the view's own inputs (view_key: e.g. the retry budget
 * behind needsManualResume); another key discards the whole cache.  The cache
 * is only an accelerator: a missing, truncated or foreign file is ignored and
 * rebuilt from the records, and it is written atomically
 * (fileio_write_atomic) only when something changed.
 */
#ifndef ROVER_LIST_CACHE_H
#define ROVER_LIST_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/error.h"

#define LIST_CACHE_FILE ".list-cache"
#define LIST_CACHE_ROWS_FILE ".list-rows"

struct list_cache;

/* A file's identity as the cache compares it. */
struct list_cache_key {
	uint64_t dev, ino, size, mtime_s, mtime_ns;
};
void list_cache_key_of(const struct stat *st, struct list_cache_key *ret);
bool list_cache_key_same(const struct list_cache_key *a, const struct list_cache_key *b);

/* What a live entry carries besides its text. */
struct list_cache_live {
	struct list_cache_key status; /* iterations/<iteration>/status.json */
	int64_t iteration;            /* > 0 */
	const char *container_id;     /* never empty */
	const char *endpoint;         /* "" when the task recorded none */
};

/* Read the cache at path; never fails (an unusable file gives an empty
 * cache).  view_key must not contain a newline. */
struct list_cache *list_cache_open(const char *path, const char *view_key);

/* The cached text of a task that was not running, when st matches its key;
 * else NULL.  Marks the entry as used (entries not used by the end are
 * dropped on save). */
const char *list_cache_get(struct list_cache *c, int64_t id, const struct stat *st,
			   size_t *ret_len);

/* The entry of id whose record key is st, live or not, without marking it
 * used; *ret_live is filled for a live one (iteration 0: not live). */
const char *list_cache_peek(struct list_cache *c, int64_t id, const struct stat *st,
			    size_t *ret_len, struct list_cache_live *ret_live);

/* Mark the entry of id as used (after list_cache_peek). */
void list_cache_use(struct list_cache *c, int64_t id);

/* Remember the text for id under key st (copied); live NULL: not running.
 * Returns the cache's copy, valid until list_cache_free (a caller can drop
 * its own and print that one: a cold listing holds each text once). */
const char *list_cache_put(struct list_cache *c, int64_t id, const struct stat *st,
			   const char *text, size_t len);
const char *list_cache_put_live(struct list_cache *c, int64_t id, const struct stat *st,
				const struct list_cache_live *live, const char *text, size_t len);

/* Write the cache back when anything changed (used entries only). */
int list_cache_save(struct list_cache *c, struct rv_error **err);

void list_cache_free(struct list_cache *c);

#endif
