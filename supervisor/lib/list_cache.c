#define _GNU_SOURCE
#include "list_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"

#define MAGIC "rover-list-cache 1 "
/* The cache of 100 000 tasks is ~100 MiB; refuse to read more than that. */
#define MAX_CACHE_BYTES (256u << 20)

struct entry {
	int64_t id;
	uint64_t dev, ino, size, mtime_s, mtime_ns;
	const char *json; /* into buf, or owned when `owned` */
	size_t len;
	bool owned, used;
};

struct list_cache {
	char *path;
	char *view_key;
	char *buf; /* the file as read */
	struct entry *e;
	size_t n, cap;
	bool dirty;
};

static struct entry *add(struct list_cache *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	struct entry *e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void parse(struct list_cache *c, size_t len)
{
	char *p = c->buf, *end = c->buf + len;
	size_t ml = strlen(MAGIC), kl = strlen(c->view_key);
	if (len < ml + kl + 1 || memcmp(p, MAGIC, ml) || memcmp(p + ml, c->view_key, kl) ||
	    p[ml + kl] != '\n')
		return;
	p += ml + kl + 1;
	while (p < end) {
		struct entry tmp = {0};
		unsigned long long v[7];
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		*nl = '\0';
		if (sscanf(p, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5], &v[6]) != 7)
			break;
		p = nl + 1;
		if (v[6] > (unsigned long long)(end - p) || p[v[6]] != '\n')
			break; /* truncated: keep what parsed so far */
		tmp.id = (int64_t)v[0], tmp.dev = v[1], tmp.ino = v[2], tmp.size = v[3];
		tmp.mtime_s = v[4], tmp.mtime_ns = v[5];
		tmp.json = p, tmp.len = (size_t)v[6];
		p[v[6]] = '\0';
		p += v[6] + 1;
		*add(c) = tmp;
	}
}

static int cmp_entry(const void *a, const void *b)
{
	int64_t x = ((const struct entry *)a)->id, y = ((const struct entry *)b)->id;
	return x < y ? -1 : x > y;
}

struct list_cache *list_cache_open(const char *path, const char *view_key)
{
	struct list_cache *c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->view_key = xstrdup(view_key);
	size_t len = 0;
	if (fileio_read_bounded(path, MAX_CACHE_BYTES, &c->buf, &len, NULL) == 0) {
		parse(c, len);
		if (c->n > 1)
			qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	}
	return c;
}

/* Index of the first entry with an id >= id (entries are sorted by id). */
static size_t lower_bound(const struct list_cache *c, int64_t id)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->e[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct entry *find(struct list_cache *c, int64_t id)
{
	size_t i = lower_bound(c, id);
	return i < c->n && c->e[i].id == id ? &c->e[i] : NULL;
}

static bool same(const struct entry *e, const struct stat *st)
{
	return e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino &&
	       e->size == (uint64_t)st->st_size && e->mtime_s == (uint64_t)st->st_mtim.tv_sec &&
	       e->mtime_ns == (uint64_t)st->st_mtim.tv_nsec;
}

const char *list_cache_get(struct list_cache *c, int64_t id, const struct stat *st,
			   size_t *ret_len)
{
	struct entry *e = find(c, id);
	if (!e || !e->json || !same(e, st))
		return NULL;
	e->used = true;
	*ret_len = e->len;
	return e->json;
}

void list_cache_put(struct list_cache *c, int64_t id, const struct stat *st, const char *json,
		    size_t len)
{
	size_t i = lower_bound(c, id);
	struct entry *e;
	if (i < c->n && c->e[i].id == id) {
		e = &c->e[i];
		if (e->owned)
			free((char *)e->json);
	} else {
		/* Insert in place: the array stays sorted for find(). */
		add(c);
		memmove(&c->e[i + 1], &c->e[i], (c->n - 1 - i) * sizeof(*c->e));
		e = &c->e[i];
		memset(e, 0, sizeof(*e));
		e->id = id;
	}
	e->dev = (uint64_t)st->st_dev, e->ino = (uint64_t)st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtime_s = (uint64_t)st->st_mtim.tv_sec, e->mtime_ns = (uint64_t)st->st_mtim.tv_nsec;
	e->json = xstrndup(json, len);
	e->len = len;
	e->owned = e->used = true;
	c->dirty = true;
}

int list_cache_save(struct list_cache *c, struct rv_error **err)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->e[i].used)
			c->dirty = true; /* a task went away */
	if (!c->dirty)
		return 0;
	size_t cap = 4096, len = 0;
	for (size_t i = 0; i < c->n; i++)
		cap += c->e[i].len + 128;
	_cleanup_free_ char *out = xmalloc(cap);
	len += (size_t)snprintf(out, cap, "%s%s\n", MAGIC, c->view_key);
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		if (!e->used || !e->json)
			continue;
		len += (size_t)snprintf(out + len, cap - len,
					"%" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
					" %" PRIu64 " %zu\n",
					e->id, e->dev, e->ino, e->size, e->mtime_s, e->mtime_ns, e->len);
		memcpy(out + len, e->json, e->len);
		len += e->len;
		out[len++] = '\n';
	}
	int r = fileio_write_atomic(c->path, out, len, 0644, err);
	if (r == 0)
		c->dirty = false;
	return r;
}

void list_cache_free(struct list_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].owned)
			free((char *)c->e[i].json);
	free(c->e);
	free(c->buf);
	free(c->path);
	free(c->view_key);
	free(c);
}
