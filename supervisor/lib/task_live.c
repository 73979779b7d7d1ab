#define _GNU_SOURCE
#include "task_live.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"
#include "supervisor/lib/watch.h"

/* Ids noted (unsorted, may repeat), or "all". */
struct idset {
	int64_t *v;
	size_t n, cap;
	bool all;
};

struct task_live {
	struct task_list cur; /* the model: owned, sorted by id */
	bool valid;           /* cur was read under watch generation gen */
	uint64_t gen;
	int64_t next_full_mono;
	int64_t *touched; /* task_live_touch() ids since the last listing */
	size_t n_touched, cap_touched;
	int64_t *waiting; /* listed directories without a record (being created) */
	size_t n_waiting;
	size_t last_read;
	bool last_full;
	/* What the listings re-read since task_live_take_changed last asked,
	 * and since task_live_list_update last patched its listing (someone
	 * else of the process may list in between). */
	struct idset since, unpatched;
};

struct task_live *task_live_new(void)
{
	struct task_live *m = xcalloc(1, sizeof(struct task_live));
	m->since.all = m->unpatched.all = true;
	return m;
}

void task_live_free(struct task_live *m)
{
	if (!m)
		return;
	task_list_release(&m->cur);
	free(m->touched);
	free(m->waiting);
	free(m->since.v);
	free(m->unpatched.v);
	free(m);
}

void task_live_touch(struct task_live *m, int64_t id)
{
	if (m->n_touched == m->cap_touched) {
		m->cap_touched = m->cap_touched ? m->cap_touched * 2 : 16;
		m->touched = xrealloc(m->touched, m->cap_touched * sizeof(*m->touched));
	}
	m->touched[m->n_touched++] = id;
}

void task_live_last(const struct task_live *m, size_t *ret_read, bool *ret_full)
{
	if (ret_read)
		*ret_read = m->last_read;
	if (ret_full)
		*ret_full = m->last_full;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort ids and drop repeats; returns the new count. */
static size_t sort_unique(int64_t *ids, size_t n)
{
	if (!n)
		return 0; /* ids may be NULL (qsort's argument must not be) */
	qsort(ids, n, sizeof(*ids), cmp_id);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || ids[i] != ids[k - 1])
			ids[k++] = ids[i];
	return k;
}

static void idset_add(struct idset *set, const int64_t *ids, size_t n)
{
	if (set->all || !n)
		return;
	if (set->n + n > WATCH_MAX_NOTED) {
		set->all = true;
		set->n = 0;
		return;
	}
	if (set->n + n > set->cap) {
		set->cap = set->n + n + 64;
		set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
	}
	memcpy(set->v + set->n, ids, n * sizeof(*ids));
	set->n += n;
}

static void idset_set_all(struct idset *set)
{
	set->all = true;
	set->n = 0;
}

bool task_live_take_changed(struct task_live *m, int64_t **ret_ids, size_t *ret_n)
{
	bool all = m->since.all;
	*ret_ids = NULL;
	*ret_n = 0;
	if (!all && m->since.n) {
		*ret_n = sort_unique(m->since.v, m->since.n);
		*ret_ids = xmalloc(*ret_n * sizeof(**ret_ids));
		memcpy(*ret_ids, m->since.v, *ret_n * sizeof(**ret_ids));
	}
	m->since.n = 0;
	m->since.all = false;
	return all;
}

/* The ids of tasks/ that the listing has no entry for: directories being
 * created (or gone meanwhile), to be looked at again. */
static void find_waiting(struct task_live *m, const struct task_store *s)
{
	free(m->waiting);
	m->waiting = NULL;
	m->n_waiting = 0;
	size_t n = 0;
	_cleanup_free_ int64_t *ids = task_store_ids(s, &n);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		while (j < m->cur.n && m->cur.entries[j].id < ids[i])
			j++;
		if (j < m->cur.n && m->cur.entries[j].id == ids[i])
			continue;
		m->waiting = xrealloc(m->waiting, (m->n_waiting + 1) * sizeof(*m->waiting));
		m->waiting[m->n_waiting++] = ids[i];
	}
}

static int read_all(struct task_live *m, const struct task_store *s, uint64_t gen,
		    struct rv_error **err)
{
	struct task_list l = {0};
	int r = task_store_list_disk(s, &l, err);
	if (r < 0)
		return r;
	task_list_release(&m->cur);
	m->cur = l;
	m->valid = gen != 0;
	m->gen = gen;
	m->next_full_mono = timeutil_mono_ms() + TASK_LIVE_FULL_MS;
	m->last_read = l.n;
	m->last_full = true;
	idset_set_all(&m->since);
	idset_set_all(&m->unpatched);
	find_waiting(m, s);
	return 0;
}

/* Replace the entries of ids (sorted, unique) in the model with fresh (the
 * entries read for them: a subset, sorted). */
static void merge(struct task_list *cur, const int64_t *ids, size_t n_ids, struct task_list *fresh)
{
	struct task_list_entry *out = xcalloc(cur->n + fresh->n + 1, sizeof(*out));
	size_t i = 0, k = 0, f = 0, o = 0;
	while (i < cur->n || f < fresh->n) {
		int64_t ci = i < cur->n ? cur->entries[i].id : INT64_MAX;
		int64_t fi = f < fresh->n ? fresh->entries[f].id : INT64_MAX;
		if (fi <= ci) {
			out[o++] = fresh->entries[f++];
			if (fi == ci) { /* replaced */
				task_free(cur->entries[i].task);
				rv_error_free(cur->entries[i].err);
				i++;
			}
			continue;
		}
		while (k < n_ids && ids[k] < ci)
			k++;
		if (k < n_ids && ids[k] == ci) { /* re-read and gone */
			task_free(cur->entries[i].task);
			rv_error_free(cur->entries[i].err);
		} else {
			out[o++] = cur->entries[i];
		}
		i++;
	}
	free(cur->entries);
	free(fresh->entries);
	*fresh = (struct task_list){0};
	cur->entries = out;
	cur->n = o;
}

/* The ids to re-read: noted by the watch, touched here, still waiting. */
static int64_t *dirty_ids(struct task_live *m, const struct watch_changes *c, size_t *ret_n)
{
	size_t n = c->n + m->n_touched + m->n_waiting;
	int64_t *ids = xmalloc((n ? n : 1) * sizeof(*ids));
	/* (memcpy from NULL is undefined even for 0 bytes) */
	if (c->n)
		memcpy(ids, c->ids, c->n * sizeof(*ids));
	if (m->n_touched)
		memcpy(ids + c->n, m->touched, m->n_touched * sizeof(*ids));
	if (m->n_waiting)
		memcpy(ids + c->n + m->n_touched, m->waiting, m->n_waiting * sizeof(*ids));
	m->n_touched = 0;
	*ret_n = sort_unique(ids, n);
	return ids;
}

static bool dir_exists(const struct task_store *s, int64_t id)
{
	_cleanup_free_ char *dir = task_store_task_dir(s, id);
	struct stat st;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int read_changed(struct task_live *m, const struct task_store *s,
			const struct watch_changes *c, struct rv_error **err)
{
	size_t n = 0;
	_cleanup_free_ int64_t *ids = dirty_ids(m, c, &n);
	m->last_read = n;
	m->last_full = false;
	if (!n)
		return 0;
	idset_add(&m->since, ids, n);
	idset_add(&m->unpatched, ids, n);
	struct task_list fresh = {0};
	int r = task_store_list_ids(s, ids, n, &fresh, err);
	if (r < 0)
		return r;
	merge(&m->cur, ids, n, &fresh);
	/* Still without a record: look again next time. */
	size_t w = 0;
	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < m->cur.n && m->cur.entries[j].id < ids[i])
			j++;
		if (j < m->cur.n && m->cur.entries[j].id == ids[i])
			continue;
		if (dir_exists(s, ids[i]))
			ids[w++] = ids[i];
	}
	free(m->waiting);
	m->waiting = NULL;
	m->n_waiting = 0;
	if (w) {
		m->waiting = xmalloc(w * sizeof(*m->waiting));
		memcpy(m->waiting, ids, w * sizeof(*ids));
		m->n_waiting = w;
	}
	return 0;
}

static void share_entry(const struct task_list_entry *e, struct task_list_entry *o)
{
	*o = (struct task_list_entry){.id = e->id};
	if (e->task) {
		o->task = xcalloc(1, sizeof(*o->task));
		o->task->id = e->task->id;
		o->task->obj = json_object_get(e->task->obj);
	}
	if (e->err)
		rv_error_set(&o->err, e->err->code, "%s", rv_error_msg(e->err));
}

/* The model as a listing the caller owns: the records are shared. */
static void hand_out(const struct task_list *cur, struct task_list *ret)
{
	ret->entries = xcalloc(cur->n ? cur->n : 1, sizeof(*ret->entries));
	ret->n = cur->n;
	for (size_t i = 0; i < cur->n; i++)
		share_entry(&cur->entries[i], &ret->entries[i]);
}

/* Bring the model up to date; *ret_full: everything was read. */
static int refresh(struct task_live *m, const struct task_store *s, bool *ret_full,
		   struct rv_error **err)
{
	struct watch_changes c;
	/* Taken before reading: what changes from now on is noted for the
	 * next listing. */
	bool watching = watch_changes_take(&c);
	int r;
	*ret_full = !watching || !m->valid || c.gen != m->gen || c.all ||
		    timeutil_mono_ms() >= m->next_full_mono;
	if (*ret_full) {
		m->n_touched = 0;
		r = read_all(m, s, watching ? c.gen : 0, err);
	} else {
		r = read_changed(m, s, &c, err);
	}
	free(c.ids);
	if (r < 0) {
		/* The model may have missed changes: read everything next time. */
		m->valid = false;
		return r;
	}
	return 0;
}

int task_live_list(struct task_live *m, const struct task_store *s, struct task_list *ret,
		   struct rv_error **err)
{
	*ret = (struct task_list){0};
	bool full = false;
	int r = refresh(m, s, &full, err);
	if (r < 0)
		return r;
	hand_out(&m->cur, ret);
	return 0;
}

static size_t find_at(const struct task_list *l, int64_t id, bool *found)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->entries[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < l->n && l->entries[lo].id == id;
	return lo;
}

static void drop_entry(struct task_list_entry *e)
{
	task_free(e->task);
	rv_error_free(e->err);
	*e = (struct task_list_entry){0};
}

/* Past this many re-read tasks a listing is handed out anew rather than
 * patched (each insertion moves the entries after it). */
#define TASK_LIVE_PATCH_MAX 64

int task_live_list_update(struct task_live *m, const struct task_store *s, struct task_list *list,
			  struct rv_error **err)
{
	bool full = false;
	int r = refresh(m, s, &full, err);
	if (r < 0)
		return r;
	/* Every task re-read since the last patch, by whichever listing. */
	struct idset *u = &m->unpatched;
	size_t n = u->all ? 0 : sort_unique(u->v, u->n);
	if (full || u->all || !list->entries || n > TASK_LIVE_PATCH_MAX) {
		u->all = false;
		u->n = 0;
		task_list_release(list);
		hand_out(&m->cur, list);
		return 0;
	}
	u->n = 0;
	const int64_t *ids = u->v;
	for (size_t i = 0; i < n; i++) {
		bool in_cur = false, in_list = false;
		size_t c = find_at(&m->cur, ids[i], &in_cur);
		size_t at = find_at(list, ids[i], &in_list);
		if (in_list)
			drop_entry(&list->entries[at]);
		if (in_cur && in_list) {
			share_entry(&m->cur.entries[c], &list->entries[at]);
		} else if (in_cur) {
			list->entries =
				xrealloc(list->entries, (list->n + 1) * sizeof(*list->entries));
			memmove(list->entries + at + 1, list->entries + at,
				(list->n - at) * sizeof(*list->entries));
			list->n++;
			share_entry(&m->cur.entries[c], &list->entries[at]);
		} else if (in_list) {
			memmove(list->entries + at, list->entries + at + 1,
				(list->n - at - 1) * sizeof(*list->entries));
			list->n--;
		}
	}
	return 0;
}
