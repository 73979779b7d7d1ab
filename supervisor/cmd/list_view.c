#define _GNU_SOURCE
#include "list_view.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/retry.h"

void list_view_iter_read(const struct task_store *st, const struct task *t,
			 struct list_view_iter *ret)
{
	ret->progress = -1;
	ret->current_step = NULL;
	ret->provider = NULL;
	_cleanup_free_ char *path = task_store_iteration_file(st, t->id, task_iterations(t),
							      TASK_FILE_STATUS);
	_cleanup_json_ struct json_object *o = NULL;
	/* Container-written: read without following links or blocking. */
	if (iterfile_read_json(path, &o, NULL) < 0)
		return;
	int64_t p;
	if (jsonutil_get_int64(o, "progress", &p))
		ret->progress = (int)p;
	const char *s = jsonutil_get_str(o, "currentStep");
	if (s)
		ret->current_step = xstrdup(s);
	s = jsonutil_get_str(o, "provider");
	if (s)
		ret->provider = xstrdup(s);
}

/* Live tasks: their status file.  Others: what reconcile copied into the
 * record when they stopped (a listing of 10 000 finished tasks opens 10 000
 * files, not 20 000). */
static void iter_for(const struct task_store *st, const struct task *t, struct list_view_iter *it)
{
	enum task_status s = task_status(t);
	it->progress = -1;
	it->current_step = NULL;
	it->provider = NULL;
	if (task_status_is_running(s)) {
		list_view_iter_read(st, t, it);
		return;
	}
	int64_t p;
	if (task_get_int(t, "progress", &p))
		it->progress = (int)p;
	if (s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED)
		it->progress = 100;
	const char *step = task_get_str(t, "currentStep");
	if (step)
		it->current_step = xstrdup(step);
}

void list_view_iter_release(struct list_view_iter *it)
{
	free(it->current_step);
	free(it->provider);
	it->current_step = it->provider = NULL;
}

bool list_view_needs_person(const struct task *t, const struct project_retry *policy)
{
	if (!retry_eligible(t))
		return false;
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	int64_t max = ar.max > 0 ? ar.max : policy ? policy->max : 5;
	return ar.next_retry_at_ms == 0 && ar.count >= max;
}

static const char *provider_of(const struct task *t, const struct list_view_iter *it)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	if (ar.provider)
		return ar.provider;
	if (it && it->provider)
		return it->provider;
	return task_get_str(t, "agent");
}

const char *list_view_status_label(const struct task *t, const struct list_view_iter *it,
				   char *buf, size_t n)
{
	static const char *const names[] = {"New",       "In Progress", "Iterating", "Paused",
					    "Completed", "Failed",      "Merged",    "Pushed"};
	enum task_status s = task_status(t);
	const char *base = (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
	if (s == TASK_PAUSED) {
		enum task_pause_reason r = task_pause_reason(t);
		const char *p = r == TASK_PAUSE_RETRYABLE_ERROR ? provider_of(t, it) : NULL;
		if (r == TASK_PAUSE_USER || r == TASK_PAUSE_STALLED)
			snprintf(buf, n, "Paused (%s)", task_pause_reason_name(r));
		else if (p)
			snprintf(buf, n, "Paused (%s)", p);
		else
			snprintf(buf, n, "Paused");
		return buf;
	}
	if (s == TASK_NEW && jsonutil_get_obj(task_json(t), "queued")) {
		snprintf(buf, n, "Queued");
		return buf;
	}
	snprintf(buf, n, "%s", base);
	return buf;
}

const char *list_view_step_label(const struct task *t, const struct list_view_iter *it,
				 const struct project_retry *policy, char *buf, size_t n)
{
	enum task_status s = task_status(t);
	if (s == TASK_PAUSED) {
		struct task_auto_retry ar;
		task_get_auto_retry(t, &ar);
		if (list_view_needs_person(t, policy)) {
			snprintf(buf, n, "run rover resume %lld", (long long)t->id);
			return buf;
		}
		if (ar.next_retry_at_ms > 0) {
			char hhmm[8];
			snprintf(buf, n, "retry at %s", timeutil_format_hhmm(ar.next_retry_at_ms, hhmm));
			return buf;
		}
	}
	if (s == TASK_FAILED && task_error(t)) {
		snprintf(buf, n, "%s", task_error(t));
		return buf;
	}
	struct json_object *q = s == TASK_NEW ? jsonutil_get_obj(task_json(t), "queued") : NULL;
	if (q && jsonutil_get_str(q, "message")) {
		int64_t pos = 0;
		jsonutil_get_int64(q, "position", &pos);
		snprintf(buf, n, "#%lld %s", (long long)pos, jsonutil_get_str(q, "message"));
		return buf;
	}
	snprintf(buf, n, "%s", it && it->current_step ? it->current_step : "-");
	return buf;
}

const char *list_view_duration(int64_t ms, char *buf, size_t n)
{
	if (ms < 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	int64_t s = ms / 1000;
	if (s >= 3600)
		snprintf(buf, n, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, n, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, n, "%llds", (long long)s);
	return buf;
}

static int64_t duration_of(const struct task *t, int64_t now)
{
	int64_t start, end = now, v;
	if (!task_get_time(t, "startedAt", &start))
		return -1;
	enum task_status s = task_status(t);
	if (s == TASK_PAUSED && task_get_time(t, "pausedAt", &v))
		end = v;
	else if (s == TASK_FAILED && task_get_time(t, "failedAt", &v))
		end = v;
	else if ((s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED) &&
		 task_get_time(t, "completedAt", &v))
		end = v;
	return end - start;
}

/* Copy at most `width` display columns of s (UTF-8 aware), with "…" when cut. */
static void cell(char *out, size_t outn, const char *raw, int width)
{
	/* Titles, errors and steps come from the container: no control
	 * character reaches the terminal (textutil.h). */
	_cleanup_free_ char *s = textutil_escape_terminal(raw);
	int cols = 0;
	size_t i = 0, o = 0;
	size_t len = strlen(s);
	/* count columns */
	int total = 0;
	for (size_t k = 0; k < len; k++)
		if (((unsigned char)s[k] & 0xC0) != 0x80)
			total++;
	int limit = total > width ? width - 1 : width;
	while (i < len && o + 4 < outn) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch & 0xC0) != 0x80) {
			if (cols == limit)
				break;
			cols++;
		}
		out[o++] = (char)(ch == '\n' || ch == '\t' ? ' ' : ch);
		i++;
	}
	if (total > width && o + 4 < outn) {
		memcpy(out + o, "…", 3);
		o += 3;
		cols++;
	}
	while (cols < width && o + 1 < outn) {
		out[o++] = ' ';
		cols++;
	}
	out[o] = '\0';
}

void list_view_print_table(FILE *f, const struct task_store *st, const struct task_list *l,
			   const struct project_retry *policy, int64_t now_ms)
{
	char c1[64], c2[128], c3[64], c4[64], c5[64], c6[128], c7[64], b1[128], b2[256], b3[64];
	int idw = 4;
	for (size_t i = 0; i < l->n; i++) {
		char tmp[32];
		int w = snprintf(tmp, sizeof(tmp), "%lld", (long long)l->entries[i].id);
		if (w > idw)
			idw = w;
	}
	/* Wide enough for "run rover resume <id>" of the largest id. */
	int stepw = 17 + idw > 25 ? 17 + idw : 25;
	fprintf(f, "%s %s %s %s %s %s %s %s\n", (cell(c1, sizeof(c1), "ID", idw), c1),
		(cell(c2, sizeof(c2), "Title", 30), c2), (cell(c3, sizeof(c3), "Agent", 14), c3),
		(cell(c4, sizeof(c4), "Workflow", 10), c4), (cell(c5, sizeof(c5), "Status", 20), c5),
		"Progress  ", (cell(c6, sizeof(c6), "Current Step", stepw), c6), "Duration");
	for (size_t i = 0; i < l->n; i++) {
		const struct task_list_entry *e = &l->entries[i];
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)e->id);
		if (!e->task) {
			_cleanup_free_ char *msg = textutil_escape_terminal(rv_error_msg(e->err));
			fprintf(f, "%s ⚠ %s\n", (cell(c1, sizeof(c1), id, idw), c1), msg);
			continue;
		}
		const struct task *t = e->task;
		struct list_view_iter it;
		iter_for(st, t, &it);
		const char *agent = task_get_str(t, "agent");
		const char *model = task_get_str(t, "agentModel");
		if (model)
			snprintf(b1, sizeof(b1), "%s:%s", agent ? agent : "claude", model);
		else
			snprintf(b1, sizeof(b1), "%s", agent ? agent : "claude");
		char bar[64] = "";
		if (it.progress >= 0) {
			/* progress is the container's number: no overflow past 100% */
			int full = it.progress >= 100 ? 8 : it.progress * 8 / 100;
			size_t o = 0;
			for (int k = 0; k < 8; k++) {
				const char *g = k < full ? "█" : "░";
				memcpy(bar + o, g, 3);
				o += 3;
			}
			bar[o] = '\0';
			strcat(bar, "  ");
		} else {
			strcpy(bar, "-         ");
		}
		const char *wf = task_get_str(t, "workflowName");
		fprintf(f, "%s %s %s %s %s %s %s %s\n", (cell(c1, sizeof(c1), id, idw), c1),
			(cell(c2, sizeof(c2), task_title(t), 30), c2), (cell(c3, sizeof(c3), b1, 14), c3),
			(cell(c4, sizeof(c4), wf ? wf : "-", 10), c4),
			(cell(c5, sizeof(c5), list_view_status_label(t, &it, b3, sizeof(b3)), 20), c5),
			bar,
			(cell(c6, sizeof(c6), list_view_step_label(t, &it, policy, b2, sizeof(b2)), stepw),
			 c6),
			(list_view_duration(duration_of(t, now_ms), c7, sizeof(c7))));
		list_view_iter_release(&it);
	}
}

struct json_object *list_view_task_json(const struct task_store *st, struct task *t,
					const struct project_retry *policy)
{
	struct json_object *o = json_object_get(task_json(t));
	struct list_view_iter it;
	iter_for(st, t, &it);
	if (it.progress >= 0)
		jsonutil_set_int64(o, "progress", it.progress);
	if (it.current_step)
		jsonutil_set_str(o, "currentStep", it.current_step);
	jsonutil_set_bool(o, "needsManualResume", list_view_needs_person(t, policy));
	list_view_iter_release(&it);
	return o;
}

#define LIST_JSON_FLAGS (JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

char *list_view_task_text(const struct task_store *st, struct task *t,
			  const struct project_retry *policy, size_t *ret_len)
{
	struct json_object *o = list_view_task_json(st, t, policy);
	size_t len = 0;
	const char *s = json_object_to_json_string_length(o, LIST_JSON_FLAGS, &len);
	char *copy = xstrndup(s, len);
	json_object_put(o);
	*ret_len = len;
	return copy;
}

static struct json_object *entry_json(const struct task_store *st, struct task_list_entry *e,
				      const struct project_retry *policy)
{
	if (e->task)
		return list_view_task_json(st, e->task, policy);
	struct json_object *o = json_object_new_object();
	jsonutil_set_int64(o, "id", e->id);
	json_object_object_add(o, "status", NULL);
	jsonutil_set_str(o, "loadError", rv_error_msg(e->err));
	return o;
}

struct json_object *list_view_json(const struct task_store *st, const struct task_list *l,
				   const struct project_retry *policy)
{
	struct json_object *arr = json_object_new_array_ext((int)l->n);
	for (size_t i = 0; i < l->n; i++) {
		/* The caller keeps its records unchanged: view copies of them. */
		struct task_list_entry copy = l->entries[i];
		struct task tmp = {0};
		if (copy.task) {
			tmp.id = copy.task->id;
			json_object_deep_copy(copy.task->obj, &tmp.obj, NULL);
			copy.task = &tmp;
		}
		json_object_array_add(arr, entry_json(st, &copy, policy));
		json_object_put(tmp.obj);
	}
	return arr;
}

void list_view_print_json(FILE *f, const struct task_store *st, struct task_list *l,
			  const struct project_retry *policy)
{
	fputs("[", f);
	for (size_t i = 0; i < l->n; i++) {
		struct json_object *o = entry_json(st, &l->entries[i], policy);
		fputs(i ? ",\n" : "\n", f);
		fputs(json_object_to_json_string_ext(o, LIST_JSON_FLAGS), f);
		json_object_put(o);
	}
	fputs(l->n ? "\n]\n" : "]\n", f);
	fflush(f);
}
