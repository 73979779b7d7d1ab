#define _GNU_SOURCE
#include "list_view.h"

#include <limits.h>
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
		char it_s[32] = "";
		if (task_iterations(t) > 1)
			snprintf(it_s, sizeof(it_s), " #%lld", (long long)task_iterations(t));
		if (r == TASK_PAUSE_APPROVAL)
			snprintf(buf, n, "Awaiting approval%s", it_s);
		else if (r == TASK_PAUSE_USER || r == TASK_PAUSE_SIGNAL || r == TASK_PAUSE_OPERATOR ||
			 r == TASK_PAUSE_DRAIN || r == TASK_PAUSE_STALLED || r == TASK_PAUSE_WINDOW ||
			 r == TASK_PAUSE_BUDGET)
			snprintf(buf, n, "Paused (%s)%s", task_pause_reason_name(r), it_s);
		else if (p)
			snprintf(buf, n, "Paused (%s)%s", p, it_s);
		else
			snprintf(buf, n, "Paused%s", it_s);
		return buf;
	}
	if (s == TASK_NEW && jsonutil_get_obj(task_json(t), "queued")) {
		snprintf(buf, n, "Queued");
		return buf;
	}
	/* A later iteration says so ("Completed #2"): "Completed" alone would
	 * read as the first run's result. */
	if (task_iterations(t) > 1)
		snprintf(buf, n, "%s #%lld", base, (long long)task_iterations(t));
	else
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
	if ((s == TASK_FAILED || (s == TASK_PAUSED && task_pause_reason(t) == TASK_PAUSE_APPROVAL)) &&
	    task_error(t)) {
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

static int imax(int a, int b)
{
	return a > b ? a : b;
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

/* ---- the table ---------------------------------------------------------- */

#define NATURAL_TITLE 30
#define NATURAL_AGENT 14
#define NATURAL_WORKFLOW 10
#define NATURAL_STATUS 20
#define NATURAL_PROGRESS 10
#define NATURAL_DURATION 8
#define MIN_TITLE 10
#define MIN_STEP 10

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int layout_total(const struct list_view_layout *l)
{
	const int w[] = {l->id, l->title, l->agent, l->workflow, l->status, l->progress, l->step,
			 l->duration};
	int total = 0, n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		if (w[i] > 0) {
			total += w[i];
			n++;
		}
	return total + (n > 0 ? n - 1 : 0);
}

void list_view_layout(int width, const struct list_view_want *want, struct list_view_layout *ret)
{
	struct list_view_layout l = {
		.id = want->id,
		.title = NATURAL_TITLE,
		.agent = NATURAL_AGENT,
		.workflow = NATURAL_WORKFLOW,
		.status = NATURAL_STATUS,
		.progress = NATURAL_PROGRESS,
		.step = want->step_natural,
		.duration = NATURAL_DURATION,
	};
	if (width <= 0) {
		*ret = l;
		return;
	}
	/* On a terminal: each column as wide as what it shows (at least its
	 * header), the title and the step sharing what is left; when even
	 * their minimum does not fit, the least needed columns go first. */
	l.agent = clampi(want->agent, 5, NATURAL_AGENT);
	l.workflow = clampi(want->workflow, 8, NATURAL_WORKFLOW);
	l.status = clampi(want->status, 6, NATURAL_STATUS);
	l.progress = 8;
	int t_want = want->title > 5 ? want->title : 5;
	int s_want = want->step > 12 ? want->step : 12;
	for (int stage = 0; stage < 5; stage++) {
		if (stage == 1)
			l.workflow = 0;
		else if (stage == 2)
			l.agent = 0;
		else if (stage == 3)
			l.progress = 0;
		else if (stage == 4)
			l.duration = 0;
		l.title = l.step = 1;
		int avail = width - layout_total(&l) + 2; /* the two 1s back */
		if (avail < MIN_TITLE + MIN_STEP && stage < 4)
			continue;
		if (t_want + s_want <= avail) {
			l.title = t_want;
			l.step = s_want;
		} else if (s_want <= t_want && avail - s_want >= MIN_TITLE) {
			/* the short one whole, the long one cut */
			l.step = s_want;
			l.title = avail - s_want;
		} else if (t_want < s_want && avail - t_want >= MIN_STEP) {
			l.title = t_want;
			l.step = avail - t_want;
		} else {
			/* both cut, in proportion to what each wants, each at least 10 */
			int t = (int)((long long)avail * t_want / (t_want + s_want));
			t = clampi(t, MIN_TITLE, avail - MIN_STEP > MIN_TITLE ? avail - MIN_STEP
									    : MIN_TITLE);
			l.title = t;
			l.step = avail - t > MIN_STEP ? avail - t : MIN_STEP;
		}
		break;
	}
	*ret = l;
}

/* A cell: s escaped for the terminal (titles, errors and steps come from the
 * container: no control character reaches it, textutil.h), fitted to width. */
static char *cell(const char *raw, int width, bool utf8, bool pad)
{
	_cleanup_free_ char *safe = textutil_escape_terminal(raw ? raw : "");
	return textutil_fit(safe, width, utf8, pad);
}

const char *list_view_status_color(enum task_status s)
{
	switch (s) {
	case TASK_COMPLETED:
	case TASK_MERGED:
	case TASK_PUSHED:
		return "\033[32m"; /* green */
	case TASK_FAILED:
		return "\033[31m"; /* red */
	case TASK_PAUSED:
		return "\033[33m"; /* yellow */
	case TASK_IN_PROGRESS:
	case TASK_ITERATING:
		return "\033[36m"; /* cyan */
	default:
		return NULL;
	}
}

/* One row of cells; the status cell (index status_col, or -1) coloured.
 * The line never exceeds style->width: the layout sees to it, and if even
 * the narrowest layout is too wide the whole line is cut (without colour). */
static void print_row(FILE *f, char *const cells[], size_t n, int status_col, const char *color,
		      const struct list_view_style *style)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		if (cells[i])
			len += strlen(cells[i]) + 1;
	_cleanup_free_ char *plain = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cells[i])
			continue;
		if (o)
			plain[o++] = ' ';
		size_t k = strlen(cells[i]);
		memcpy(plain + o, cells[i], k);
		o += k;
	}
	while (o > 0 && plain[o - 1] == ' ')
		o--; /* no trailing blanks */
	plain[o] = '\0';
	if (style->width > 0 && textutil_width(plain, style->utf8) > style->width) {
		_cleanup_free_ char *cut = textutil_fit(plain, style->width, style->utf8, false);
		fprintf(f, "%s\n", cut);
		return;
	}
	if (!color || status_col < 0 || !cells[status_col]) {
		fprintf(f, "%s\n", plain);
		return;
	}
	size_t last = 0;
	for (size_t i = 0; i < n; i++)
		if (cells[i])
			last = i;
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!cells[i])
			continue;
		if (!first)
			fputc(' ', f);
		first = false;
		if (i == last) { /* no trailing blanks */
			size_t k = strlen(cells[i]);
			while (k > 0 && cells[i][k - 1] == ' ')
				k--;
			if ((int)i != status_col) {
				fprintf(f, "%.*s", (int)k, cells[i]);
				continue;
			}
		}
		if ((int)i == status_col) {
			/* the label coloured, its padding not */
			const char *c = cells[i];
			size_t k = strlen(c);
			while (k > 0 && c[k - 1] == ' ')
				k--;
			fprintf(f, "%s%.*s\033[0m%s", color, (int)k, c, c + k);
		} else {
			fputs(cells[i], f);
		}
	}
	fputc('\n', f);
}

/* What each row shows, worked out once for the widths and the printing. */
struct row {
	int64_t id;
	const struct rv_error *err; /* a record that did not load */
	char *title, *agent, *workflow, *status, *step, *duration;
	int progress;
	enum task_status st;
};

static void rows_release(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].title);
		free(rows[i].agent);
		free(rows[i].workflow);
		free(rows[i].status);
		free(rows[i].step);
		free(rows[i].duration);
	}
	free(rows);
}

static int safe_width(const char *s, bool utf8)
{
	_cleanup_free_ char *safe = textutil_escape_terminal(s ? s : "");
	return textutil_width(safe, utf8);
}

void list_view_print_table_styled(FILE *f, const struct task_store *st, const struct task_list *l,
				  const struct project_retry *policy, int64_t now_ms,
				  const struct list_view_style *style)
{
	static const struct list_view_style plain = {.width = 0, .color = false, .utf8 = true};
	if (!style)
		style = &plain;
	const bool u = style->utf8;
	struct row *rows = xcalloc(l->n ? l->n : 1, sizeof(*rows));
	struct list_view_want want = {.id = 4};
	for (size_t i = 0; i < l->n; i++) {
		const struct task_list_entry *e = &l->entries[i];
		struct row *r = &rows[i];
		r->id = e->id;
		char tmp[32];
		int w = snprintf(tmp, sizeof(tmp), "%lld", (long long)e->id);
		if (w > want.id)
			want.id = w;
		if (!e->task) {
			r->err = e->err;
			continue;
		}
		const struct task *t = e->task;
		struct list_view_iter it;
		iter_for(st, t, &it);
		char b[256];
		const char *agent = task_get_str(t, "agent");
		const char *model = task_get_str(t, "agentModel");
		r->agent = model ? xasprintf("%s:%s", agent ? agent : "claude", model)
				 : xstrdup(agent ? agent : "claude");
		const char *wf = task_get_str(t, "workflowName");
		r->workflow = xstrdup(wf ? wf : "-");
		r->title = xstrdup(task_title(t));
		r->status = xstrdup(list_view_status_label(t, &it, b, sizeof(b)));
		r->step = xstrdup(list_view_step_label(t, &it, policy, b, sizeof(b)));
		r->duration = xstrdup(list_view_duration(duration_of(t, now_ms), b, sizeof(b)));
		r->progress = it.progress;
		r->st = task_status(t);
		list_view_iter_release(&it);
		want.title = imax(want.title, safe_width(r->title, u));
		want.agent = imax(want.agent, safe_width(r->agent, u));
		want.workflow = imax(want.workflow, safe_width(r->workflow, u));
		want.status = imax(want.status, safe_width(r->status, u));
		want.step = imax(want.step, safe_width(r->step, u));
	}
	/* Wide enough for "run rover resume <id>" of the largest id. */
	want.step_natural = 17 + want.id > 25 ? 17 + want.id : 25;
	struct list_view_layout lay;
	list_view_layout(style->width, &want, &lay);

	const int widths[] = {lay.id, lay.title, lay.agent, lay.workflow, lay.status, lay.progress,
			      lay.step, lay.duration};
	static const char *const heads[] = {"ID", "Title", "Agent", "Workflow", "Status",
					    "Progress", "Current Step", "Duration"};
	char *cells[8] = {0};
	for (size_t k = 0; k < 8; k++)
		cells[k] = widths[k] > 0 ? cell(heads[k], widths[k], u, true) : NULL;
	print_row(f, cells, 8, -1, NULL, style);
	for (size_t k = 0; k < 8; k++)
		cells[k] = (free(cells[k]), NULL);

	for (size_t i = 0; i < l->n; i++) {
		const struct row *r = &rows[i];
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)r->id);
		if (r->err || !r->status) {
			_cleanup_free_ char *msg = xasprintf("%s %s", u ? "⚠" : "!",
							     rv_error_msg(r->err));
			char *two[2] = {cell(id, lay.id, u, true),
					cell(msg, style->width > 0 ? style->width : INT_MAX / 2, u,
					     false)};
			print_row(f, two, 2, -1, NULL, style);
			free(two[0]);
			free(two[1]);
			continue;
		}
		char bar[64] = "";
		if (r->progress >= 0) {
			/* progress is the container's number: no overflow past 100% */
			int full = r->progress >= 100 ? 8 : r->progress * 8 / 100;
			size_t o = 0;
			for (int k = 0; k < 8; k++) {
				const char *g = u ? (k < full ? "█" : "░") : (k < full ? "#" : ".");
				size_t gl = strlen(g);
				memcpy(bar + o, g, gl);
				o += gl;
			}
			bar[o] = '\0';
		} else {
			strcpy(bar, "-");
		}
		const char *vals[8] = {id, r->title, r->agent, r->workflow, r->status, bar, r->step,
				       r->duration};
		for (size_t k = 0; k < 8; k++)
			cells[k] = widths[k] > 0 ? cell(vals[k], widths[k], u, true) : NULL;
		print_row(f, cells, 8, 4, style->color ? list_view_status_color(r->st) : NULL, style);
		for (size_t k = 0; k < 8; k++)
			cells[k] = (free(cells[k]), NULL);
	}
	rows_release(rows, l->n);
}

void list_view_print_table(FILE *f, const struct task_store *st, const struct task_list *l,
			   const struct project_retry *policy, int64_t now_ms)
{
	list_view_print_table_styled(f, st, l, policy, now_ms, NULL);
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

bool list_view_row_ticks(const struct task *t)
{
	/* The one cell that moves with the clock is the duration of a task
	 * that has started and not ended (duration_of); "retry at" is a time
	 * of day. */
	int64_t v;
	return duration_of(t, 0) < 0 && task_get_time(t, "startedAt", &v);
}
