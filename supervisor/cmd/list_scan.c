#define _GNU_SOURCE
#include "list_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/numutil.h"
#include "common/timeutil.h"

/* A task that needs more than its record key: a live entry waiting for the
 * engine's word, or a record to load. */
struct pending {
	size_t item;
	struct stat rec; /* before the read; st_ino 0: no record */
	struct list_cache_live live;
};

struct scan {
	const struct task_store *st;
	const struct list_scan_opts *o;
	struct list_scan *out;
	int dfd;                      /* tasks/ */
	struct observe_engines *eng;  /* one listing per endpoint for the pass */
	struct pending *check, *load; /* grown as needed: most tasks need neither */
	size_t n_check, n_load, cap_check, cap_load;
};

static struct pending *push_pending(struct pending **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	return &(*v)[(*n)++];
}

static void status_rel(char *buf, size_t n, int64_t id, int64_t iteration)
{
	snprintf(buf, n, "%lld/iterations/%lld/%s", (long long)id, (long long)iteration,
		 task_store_iter_file_name(TASK_FILE_STATUS));
}

/* The key of a status file: a regular file, never followed (the container
 * writes the directory). */
static bool status_key(int dfd, int64_t id, int64_t iteration, struct list_cache_key *ret)
{
	char rel[96];
	struct stat s;
	status_rel(rel, sizeof(rel), id, iteration);
	if (fstatat(dfd, rel, &s, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(s.st_mode))
		return false;
	list_cache_key_of(&s, ret);
	return true;
}

static void hit(struct scan *s, struct list_view_item *it, const char *text, size_t len)
{
	it->text = text;
	it->len = len;
	list_cache_use(s->out->cache, it->id);
}

/* "<id>/description.json" into rel (64 bytes): one per task and pass. */
static void description_rel(char rel[64], int64_t id)
{
	_Static_assert(sizeof(TASK_DESCRIPTION_FILE) < 64 - 22, "rel holds it");
	char *p = numutil_put_u64(rel, (uint64_t)(id < 0 ? 0 : id)); /* ids are > 0 */
	*p++ = '/';
	memcpy(p, TASK_DESCRIPTION_FILE, sizeof(TASK_DESCRIPTION_FILE));
}

/* A record this young without description.json is being created. */
static bool being_created(int dfd, int64_t id)
{
	char rel[32];
	struct stat d;
	snprintf(rel, sizeof(rel), "%lld", (long long)id);
	return errno == ENOENT && fstatat(dfd, rel, &d, 0) == 0 &&
	       timeutil_now_ms() - (int64_t)d.st_mtim.tv_sec * 1000 < TASK_STORE_CREATE_GRACE_MS;
}

/* Step 1: what the keys alone decide. */
static void classify(struct scan *s, const int64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pending p = {.item = s->out->n};
		char rel[64];
		description_rel(rel, ids[i]);
		if (fstatat(s->dfd, rel, &p.rec, 0) < 0) {
			if (being_created(s->dfd, ids[i]))
				continue;
			memset(&p.rec, 0, sizeof(p.rec));
		}
		struct list_view_item *it = &s->out->items[s->out->n++];
		it->id = ids[i];
		size_t len = 0;
		const char *text =
			p.rec.st_ino ? list_cache_peek(s->out->cache, ids[i], &p.rec, &len, &p.live)
				     : NULL;
		struct list_cache_key k;
		if (text && !p.live.iteration) {
			hit(s, it, text, len);
		} else if (text && status_key(s->dfd, ids[i], p.live.iteration, &k) &&
			   list_cache_key_same(&k, &p.live.status)) {
			if (s->o->no_engine)
				hit(s, it, text, len);
			else
				*push_pending(&s->check, &s->n_check, &s->cap_check) = p;
		} else {
			*push_pending(&s->load, &s->n_load, &s->cap_load) = p;
		}
	}
}

/* Step 2: the running hits, against one engine listing per endpoint. */
static void check_running(struct scan *s)
{
	for (size_t i = 0; i < s->n_check; i++) {
		struct pending *p = &s->check[i];
		struct list_view_item *it = &s->out->items[p->item];
		if (observe_unchanged_running(s->st, s->eng, s->dfd, it->id, p->live.iteration,
					      p->live.container_id, p->live.endpoint, s->o->report,
					      s->o->report_data)) {
			size_t len = 0;
			struct list_cache_live live;
			const char *text =
				list_cache_peek(s->out->cache, it->id, &p->rec, &len, &live);
			hit(s, it, text, len);
		} else {
			*push_pending(&s->load, &s->n_load, &s->cap_load) = *p;
		}
	}
}

/* A running task that missed, held for the one engine pass. */
struct held {
	struct pending *p;
	bool have_live;
	struct list_cache_live live; /* its strings owned */
};

/* The live fields of a running task, its status key taken now: before
 * observing reads the file. */
static void live_of(struct scan *s, const struct task *t, struct held *h)
{
	const char *cid = task_container_id(t), *uri = NULL;
	task_get_engine(t, NULL, &uri);
	h->live.iteration = task_iterations(t);
	h->live.container_id = xstrdup(cid ? cid : "");
	h->live.endpoint = xstrdup(uri ? uri : "");
	h->have_live = cid && *cid && h->live.iteration > 0 &&
		       status_key(s->dfd, t->id, h->live.iteration, &h->live.status);
}

static void observe_one(struct scan *s, struct task **t, observe_report_fn report)
{
	struct task_list_entry e = {.id = (*t)->id, .task = *t};
	struct task_list l = {.entries = &e, .n = 1};
	observe_tasks_with(s->st, &l, s->o->no_engine ? OBSERVE_STATUS_ONLY : 0, s->eng, report,
			   s->o->report_data);
	*t = e.task;
}

static bool record_stat(const struct scan *s, int64_t id, struct stat *ret)
{
	char rel[64];
	description_rel(rel, id);
	return fstatat(s->dfd, rel, ret, 0) == 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	struct list_cache_key x, y;
	list_cache_key_of(a, &x);
	list_cache_key_of(b, &y);
	return list_cache_key_same(&x, &y);
}

/* Cache the item's text when the record is still the one whose key was
 * taken before it was read (the observation changed nothing).  *ret_now:
 * the record's key now (st_ino 0: none). */
static bool cache_item(struct scan *s, struct list_view_item *it, const struct stat *key,
		       const struct task *t, const struct list_cache_live *live,
		       struct stat *ret_now)
{
	struct stat now;
	memset(&now, 0, sizeof(now));
	bool ok = record_stat(s, it->id, &now);
	if (ret_now)
		*ret_now = now;
	if (!ok || !same_file(&now, key))
		return false;
	bool running = task_status_is_running(task_status(t));
	if (running && !live)
		return true; /* no usable status key: looked at again next time */
	it->text = list_cache_put_live(s->out->cache, it->id, key, running ? live : NULL, it->text,
				       it->len);
	free(it->owned);
	it->owned = NULL;
	return true;
}

static void held_release(struct held *h)
{
	free((char *)h->live.container_id);
	free((char *)h->live.endpoint);
	memset(h, 0, sizeof(*h));
}

/* The record changed while it was observed (IN_PROGRESS -> ITERATING, a
 * verdict): read it once more as written, key first, so that the next
 * listing finds it cached and writes nothing.  Observed again, silently. */
static void recache(struct scan *s, struct list_view_item *it, const struct stat *key)
{
	struct task *t = NULL;
	if (task_store_load_id(s->st, it->id, &t, NULL) < 0)
		return;
	struct held h = {0};
	if (task_status_is_running(task_status(t)))
		live_of(s, t, &h);
	observe_one(s, &t, NULL);
	free(it->owned);
	it->owned = s->o->render(s->st, t, s->o->render_data, &it->len);
	it->text = it->owned;
	cache_item(s, it, key, t, h.have_live ? &h.live : NULL, NULL);
	task_free(t);
	held_release(&h);
}

/* Render t into its item and cache it (see cache_item, recache). */
static void render(struct scan *s, struct pending *p, struct task *t,
		   const struct list_cache_live *live)
{
	struct list_view_item *it = &s->out->items[p->item];
	it->owned = s->o->render(s->st, t, s->o->render_data, &it->len);
	it->text = it->owned;
	struct stat now;
	if (!cache_item(s, it, &p->rec, t, live, &now) && now.st_ino)
		recache(s, it, &now);
}

/* Step 3: load what missed; observe it (the running ones together); render. */
static void load_missed(struct scan *s)
{
	struct held *held = xcalloc(s->n_load ? s->n_load : 1, sizeof(*held));
	struct task_list l = {.entries = xcalloc(s->n_load ? s->n_load : 1, sizeof(*l.entries))};
	for (size_t i = 0; i < s->n_load; i++) {
		struct pending *p = &s->load[i];
		struct list_view_item *it = &s->out->items[p->item];
		struct task *t = NULL;
		if (task_store_load_id(s->st, it->id, &t, &it->err) < 0)
			continue;
		if (!task_status_is_running(task_status(t))) {
			observe_one(s, &t, s->o->report); /* settles an interrupted start */
			render(s, p, t, NULL);
			task_free(t);
			continue;
		}
		held[l.n].p = p;
		live_of(s, t, &held[l.n]);
		l.entries[l.n++] = (struct task_list_entry){.id = it->id, .task = t};
	}
	if (l.n)
		observe_tasks_with(s->st, &l, s->o->no_engine ? OBSERVE_STATUS_ONLY : 0, s->eng,
				   s->o->report, s->o->report_data);
	for (size_t i = 0; i < l.n; i++) {
		render(s, held[i].p, l.entries[i].task, held[i].have_live ? &held[i].live : NULL);
		task_free(l.entries[i].task);
		held_release(&held[i]);
	}
	free(l.entries);
	free(held);
}

void list_scan_run(const struct task_store *st, const struct list_scan_opts *o,
		   struct list_scan *ret)
{
	memset(ret, 0, sizeof(*ret));
	_cleanup_free_ char *cache_path = fileio_join(st->dir, o->cache_file);
	ret->cache = list_cache_open(cache_path, o->view_key);
	size_t n = 0;
	_cleanup_free_ int64_t *ids = task_store_ids_sweep(st, &n);
	ret->items = xcalloc(n ? n : 1, sizeof(*ret->items));
	struct scan s = {.st = st, .o = o, .out = ret};
	s.dfd = open(st->tasks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dfd >= 0)
		classify(&s, ids, n);
	s.eng = observe_engines_new();
	check_running(&s);
	load_missed(&s);
	observe_engines_free(s.eng);
	free(s.check);
	free(s.load);
	if (s.dfd >= 0)
		close(s.dfd);
}

void list_scan_finish(struct list_scan *s)
{
	/* A read-only store just goes without the cache. */
	(void)list_cache_save(s->cache, NULL);
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].owned);
		rv_error_free(s->items[i].err);
	}
	free(s->items);
	list_cache_free(s->cache);
	memset(s, 0, sizeof(*s));
}
