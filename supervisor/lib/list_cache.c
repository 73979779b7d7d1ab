#define _GNU_SOURCE
#include "list_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"

/* Version 2: the status-file key and the live fields.  A version 1 file has
 * another magic and is ignored (rebuilt). */
#define MAGIC "rover-list-cache 2 "
/* The cache of 100 000 tasks is ~150 MiB; refuse to read more than that. */
#define MAX_CACHE_BYTES (256u << 20)
/* id, record key (5), status key (5), iteration, cid length, endpoint length,
 * text length */
#define N_FIELDS 15

struct entry {
	int64_t id;
	struct list_cache_key rec;
	struct list_cache_key status;
	int64_t iteration;                 /* > 0: live */
	const char *cid, *endpoint, *text; /* into buf, or owned when `owned` */
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

void list_cache_key_of(const struct stat *st, struct list_cache_key *ret)
{
	ret->dev = (uint64_t)st->st_dev;
	ret->ino = (uint64_t)st->st_ino;
	ret->size = (uint64_t)st->st_size;
	ret->mtime_s = (uint64_t)st->st_mtim.tv_sec;
	ret->mtime_ns = (uint64_t)st->st_mtim.tv_nsec;
}

bool list_cache_key_same(const struct list_cache_key *a, const struct list_cache_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}

static struct entry *add(struct list_cache *c)
{
	if (c->n == c->cap) {
		/* Small at first: 1024 entries (136 KiB) went to a fresh mmap whose
		 * pages a listing of 100 tasks paid to fault in and unmap. */
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	struct entry *e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* N_FIELDS decimal numbers separated by single spaces, ending at the line's
 * end.  By hand: sscanf costs more than the rest of a warm listing. */
static bool parse_numbers(const char *p, const char *nl, uint64_t v[N_FIELDS])
{
	for (int k = 0; k < N_FIELDS; k++) {
		if (k && *p++ != ' ')
			return false;
		if (p >= nl || *p < '0' || *p > '9')
			return false;
		uint64_t x = 0;
		int digits = 0;
		for (; p < nl && *p >= '0' && *p <= '9'; p++, digits++)
			x = x * 10 + (uint64_t)(*p - '0');
		if (digits > 19)
			return false;
		v[k] = x;
	}
	return p == nl;
}

/* One field of n bytes at *p followed by '\n' (made the NUL): its start. */
static const char *take(char **p, char *end, uint64_t n)
{
	if (n >= (uint64_t)(end - *p) || (*p)[n] != '\n')
		return NULL;
	char *s = *p;
	s[n] = '\0';
	*p += n + 1;
	return s;
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
		uint64_t v[N_FIELDS];
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || !parse_numbers(p, nl, v))
			break;
		p = nl + 1;
		struct entry tmp = {.id = (int64_t)v[0], .iteration = (int64_t)v[11], .len = v[14]};
		tmp.rec = (struct list_cache_key){v[1], v[2], v[3], v[4], v[5]};
		tmp.status = (struct list_cache_key){v[6], v[7], v[8], v[9], v[10]};
		if (!(tmp.cid = take(&p, end, v[12])) || !(tmp.endpoint = take(&p, end, v[13])) ||
		    !(tmp.text = take(&p, end, v[14])))
			break; /* truncated: keep what parsed so far */
		if (tmp.iteration > 0 && !*tmp.cid)
			break; /* not something we wrote */
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
		/* Saved in order: sorting is for a file someone else wrote. */
		bool sorted = true;
		for (size_t i = 1; i < c->n && sorted; i++)
			sorted = c->e[i - 1].id < c->e[i].id;
		if (!sorted)
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

const char *list_cache_peek(struct list_cache *c, int64_t id, const struct stat *st,
			    size_t *ret_len, struct list_cache_live *ret_live)
{
	struct entry *e = find(c, id);
	struct list_cache_key k;
	list_cache_key_of(st, &k);
	memset(ret_live, 0, sizeof(*ret_live));
	if (!e || !e->text || !list_cache_key_same(&e->rec, &k))
		return NULL;
	if (e->iteration > 0) {
		ret_live->status = e->status;
		ret_live->iteration = e->iteration;
		ret_live->container_id = e->cid;
		ret_live->endpoint = e->endpoint;
	}
	*ret_len = e->len;
	return e->text;
}

void list_cache_use(struct list_cache *c, int64_t id)
{
	struct entry *e = find(c, id);
	if (e)
		e->used = true;
}

const char *list_cache_get(struct list_cache *c, int64_t id, const struct stat *st, size_t *ret_len)
{
	struct list_cache_live live;
	size_t len = 0;
	const char *text = list_cache_peek(c, id, st, &len, &live);
	if (!text || live.iteration > 0)
		return NULL;
	list_cache_use(c, id);
	*ret_len = len;
	return text;
}

static void entry_clear(struct entry *e)
{
	if (e->owned) {
		free((char *)e->text);
		free((char *)e->cid);
		free((char *)e->endpoint);
	}
}

const char *list_cache_put_live(struct list_cache *c, int64_t id, const struct stat *st,
				const struct list_cache_live *live, const char *text, size_t len)
{
	size_t i = lower_bound(c, id);
	struct entry *e;
	if (i < c->n && c->e[i].id == id) {
		e = &c->e[i];
		entry_clear(e);
	} else {
		/* Insert in place: the array stays sorted for find(). */
		add(c);
		memmove(&c->e[i + 1], &c->e[i], (c->n - 1 - i) * sizeof(*c->e));
		e = &c->e[i];
	}
	memset(e, 0, sizeof(*e));
	e->id = id;
	list_cache_key_of(st, &e->rec);
	if (live && live->iteration > 0 && live->container_id && *live->container_id) {
		e->status = live->status;
		e->iteration = live->iteration;
		e->cid = xstrdup(live->container_id);
		e->endpoint = xstrdup(live->endpoint ? live->endpoint : "");
	} else {
		e->cid = xstrdup("");
		e->endpoint = xstrdup("");
	}
	char *copy = xmalloc(len + 1); /* a row may hold any byte */
	memcpy(copy, text, len);
	copy[len] = '\0';
	e->text = copy;
	e->len = len;
	e->owned = e->used = true;
	c->dirty = true;
	return e->text;
}

const char *list_cache_put(struct list_cache *c, int64_t id, const struct stat *st,
			   const char *text, size_t len)
{
	return list_cache_put_live(c, id, st, NULL, text, len);
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
		cap += c->e[i].len + strlen(c->e[i].cid) + strlen(c->e[i].endpoint) + 400;
	_cleanup_free_ char *out = xmalloc(cap);
	len += (size_t)snprintf(out, cap, "%s%s\n", MAGIC, c->view_key);
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		if (!e->used || !e->text)
			continue;
		const struct list_cache_key *r = &e->rec, *s = &e->status;
		len += (size_t)snprintf(out + len, cap - len,
					"%" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
					" %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
					" %" PRIu64 " %" PRId64 " %zu %zu %zu\n%s\n%s\n",
					e->id, r->dev, r->ino, r->size, r->mtime_s, r->mtime_ns,
					s->dev, s->ino, s->size, s->mtime_s, s->mtime_ns,
					e->iteration, strlen(e->cid), strlen(e->endpoint), e->len,
					e->cid, e->endpoint);
		memcpy(out + len, e->text, e->len);
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
		entry_clear(&c->e[i]);
	free(c->e);
	free(c->buf);
	free(c->path);
	free(c->view_key);
	free(c);
}
