#define _GNU_SOURCE
#include "admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/resume.h"

static const char *env_get(const char *name)
{
	return getenv(name);
}

void admit_account_of_task(const struct task *t, char **ret_key, char **ret_label)
{
	struct json_object *a = jsonutil_get_obj(task_json(t), "account");
	const char *k = a ? jsonutil_get_str(a, "key") : NULL;
	const char *l = a ? jsonutil_get_str(a, "label") : NULL;
	if (k && *k) {
		*ret_key = xstrdup(k);
		*ret_label = xstrdup(l && *l ? l : k);
		return;
	}
	gate_account_of(task_get_str(t, "agent"), env_get, ret_key, ret_label);
}

struct json_object *admit_queued(const struct task *t)
{
	if (task_status(t) != TASK_NEW)
		return NULL;
	struct json_object *q = jsonutil_get_obj(task_json(t), "queued");
	return q && json_object_is_type(q, json_type_object) ? q : NULL;
}

int admit_count_running(const struct task_list *l, const char *kind)
{
	int n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct task *t = l->entries[i].task;
		if (!t)
			continue;
		enum task_status s = task_status(t);
		if (!task_status_is_running(s) && !(s == TASK_NEW && resume_in_flight(t, NULL)))
			continue;
		const char *k = NULL;
		if (kind && (!task_get_engine(t, &k, NULL) || !k || strcmp(k, kind) != 0))
			continue;
		n++;
	}
	return n;
}

void admit_engine_limits(const struct project_settings *ps, const struct task_list *l,
			 struct admit_engines *ret)
{
	static const char *const kinds[] = {"docker", "podman"};
	for (size_t i = 0; i < 2; i++) {
		ret->kind[i] = kinds[i];
		ret->max[i] = project_max_running_of(ps, kinds[i]);
		ret->running[i] = ret->max[i] > 0 ? admit_count_running(l, kinds[i]) : 0;
	}
}

void admit_item_engine(struct admit_engines *e, const struct task *t, struct queue_item *it)
{
	const char *k = NULL;
	task_get_engine(t, &k, NULL);
	for (size_t i = 0; k && i < 2; i++)
		if (!strcmp(k, e->kind[i]) && e->max[i] > 0) {
			it->group_max = e->max[i];
			it->group_running = &e->running[i];
		}
}

struct queued_ctx {
	const struct queue_item *it;
	const char *message;
};

static int queued_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct queued_ctx *c = userdata;
	if (task_status(t) != TASK_NEW || resume_in_flight(t, NULL))
		return TASK_UPDATE_SKIP;
	struct json_object *q = admit_queued(t);
	const char *reason = queue_why_name(c->it->why);
	int64_t pos = 0;
	if (q && jsonutil_get_int64(q, "position", &pos) && pos == c->it->position &&
	    jsonutil_get_str(q, "reason") && !strcmp(jsonutil_get_str(q, "reason"), reason) &&
	    jsonutil_get_str(q, "message") && !strcmp(jsonutil_get_str(q, "message"), c->message))
		return TASK_UPDATE_SKIP;
	if (!q) {
		q = json_object_new_object();
		json_object_object_add(task_json(t), "queued", q);
		char iso[TIMEUTIL_ISO_LEN];
		jsonutil_set_str(q, "since", timeutil_format_iso(timeutil_now_ms(), iso));
	}
	jsonutil_set_str(q, "reason", reason);
	jsonutil_set_str(q, "message", c->message);
	jsonutil_set_int64(q, "position", c->it->position);
	if (c->it->account)
		jsonutil_set_str(q, "account", c->it->account);
	return 0;
}

int admit_set_queued(const struct task_store *st, int64_t id, const struct queue_item *it,
		     const char *message, struct rv_error **err)
{
	struct queued_ctx c = {.it = it, .message = message};
	return task_store_update(st, id, queued_fn, &c, NULL, err);
}

void admit_set_account(struct task *t)
{
	_cleanup_free_ char *key = NULL, *label = NULL;
	gate_account_of(task_get_str(t, "agent"), env_get, &key, &label);
	struct json_object *a = json_object_new_object();
	jsonutil_set_str(a, "key", key);
	jsonutil_set_str(a, "label", label);
	json_object_object_add(task_json(t), "account", a);
}

int admit_new_task(const struct project *p, const struct task_store *st, int64_t id,
		   struct admit_result *ret, struct rv_error **err)
{
	*ret = (struct admit_result){.start = true, .lock_fd = -1};
	struct task *t = NULL;
	int r = task_store_load_id(st, id, &t, err);
	if (r < 0)
		return r;
	/* The account was recorded with the task (admit_set_account). */
	_cleanup_free_ char *key = NULL, *label = NULL;
	admit_account_of_task(t, &key, &label);
	task_free(t);

	struct gate_policy gp;
	if ((r = gate_policy_init(&gp, env_get, err)) < 0)
		return r;
	_cleanup_close_ int fd = -1;
	if ((r = gate_queue_lock(st->dir, &fd, err)) < 0)
		return r;
	struct gate_table gates = {0};
	if ((r = gate_table_load(st->dir, &gates, err)) < 0)
		return r;
	int max_running = p->settings.max_running;
	bool engine_limits =
		p->settings.max_running_docker > 0 || p->settings.max_running_podman > 0;
	/* Nothing limits: no need to look at the other tasks. */
	if (gates.n == 0 && max_running <= 0 && !engine_limits) {
		gate_table_release(&gates);
		return 0;
	}
	struct task_list l = {0};
	if ((r = task_store_list(st, &l, err)) < 0) {
		gate_table_release(&gates);
		return r;
	}
	struct queue_item *items = xcalloc(l.n + 1, sizeof(*items));
	char **keys = xcalloc(l.n + 1, sizeof(*keys));
	struct admit_engines eng;
	admit_engine_limits(&p->settings, &l, &eng);
	size_t n = 0;
	const struct task *self = NULL;
	for (size_t i = 0; i < l.n; i++) {
		const struct task *o = l.entries[i].task;
		if (o && o->id == id)
			self = o;
		if (!o || o->id == id || !admit_queued(o))
			continue;
		_cleanup_free_ char *lbl = NULL;
		admit_account_of_task(o, &keys[n], &lbl);
		items[n] = (struct queue_item){.id = o->id, .account = keys[n], .due = true};
		admit_item_engine(&eng, o, &items[n]);
		n++;
	}
	items[n] = (struct queue_item){.id = id, .account = key, .due = true};
	if (self)
		admit_item_engine(&eng, self, &items[n]);
	n++;
	int running = admit_count_running(&l, NULL);
	int64_t now = timeutil_now_ms();
	queue_plan(items, n, &gates, &gp, max_running, running, now);
	/* queue_plan sorted the items; ours is among them. */
	const struct queue_item *mine = &items[n - 1];
	for (size_t i = 0; i < n; i++)
		if (items[i].id == id)
			mine = &items[i];
	ret->why = mine->why;
	ret->position = mine->position;
	if (mine->why == QUEUE_START) {
		/* Its admission moved a gate (the probe, a release): the next
		 * admission must see it. */
		if (gate_find(&gates, key))
			r = gate_table_save(st->dir, &gates, err);
		if (r == 0 && (max_running > 0 || engine_limits))
			ret->lock_fd = TAKE_FD(fd);
	} else {
		ret->start = false;
		const struct gate *g = gate_find(&gates, key);
		const char *kind = NULL;
		if (self)
			task_get_engine(self, &kind, NULL);
		if (mine->why != QUEUE_SLOTS)
			ret->message =
				queue_why_text(mine->why, g ? g->label : label, mine->at_ms, 0);
		else if (mine->group_full)
			ret->message = queue_why_text(mine->why, kind, 0, mine->group_max);
		else
			ret->message = queue_why_text(mine->why, NULL, 0, max_running);
		r = admit_set_queued(st, id, mine, ret->message, err);
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(items);
	task_list_release(&l);
	gate_table_release(&gates);
	return r < 0 ? r : 0;
}

void admit_result_release(struct admit_result *r)
{
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	r->lock_fd = -1;
	free(r->message);
	r->message = NULL;
}
