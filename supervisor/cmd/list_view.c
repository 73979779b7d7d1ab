#define _GNU_SOURCE
#include "list_view.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/numutil.h"
#include "common/strbuf.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/retry.h"

void list_view_iter_from_status(struct json_object *status, struct list_view_iter *ret)
{
	ret->progress = -1;
	ret->current_step = NULL;
	ret->provider = NULL;
	int64_t p;
	if (jsonutil_get_int64(status, "progress", &p))
		ret->progress = (int)p;
	const char *s = jsonutil_get_str(status, "currentStep");
	if (s)
		ret->current_step = xstrdup(s);
	s = jsonutil_get_str(status, "provider");
	if (s)
		ret->provider = xstrdup(s);
}

void list_view_iter_read(const struct task_store *st, const struct task *t,
			 struct list_view_iter *ret)
{
	_cleanup_free_ char *path =
		task_store_iteration_file(st, t->id, task_iterations(t), TASK_FILE_STATUS);
	_cleanup_json_ struct json_object *o = NULL;
	/* Container-written: read without following links or blocking. */
	(void)iterfile_read_json(path, &o, NULL);
	list_view_iter_from_status(o, ret);
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

const char *list_view_status_label(const struct task *t, const struct list_view_iter *it, char *buf,
				   size_t n)
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
		else if (r == TASK_PAUSE_USER || r == TASK_PAUSE_SIGNAL ||
			 r == TASK_PAUSE_OPERATOR || r == TASK_PAUSE_DRAIN ||
			 r == TASK_PAUSE_STALLED || r == TASK_PAUSE_WINDOW ||
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
			snprintf(buf, n, "retry at %s",
				 timeutil_format_hhmm(ar.next_retry_at_ms, hhmm));
			return buf;
		}
	}
	if ((s == TASK_FAILED ||
	     (s == TASK_PAUSED && task_pause_reason(t) == TASK_PAUSE_APPROVAL)) &&
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

static void put_i64_str(char *buf, int64_t v)
{
	char *p = buf;
	if (v < 0) {
		*p++ = '-';
		p = numutil_put_u64(p, (uint64_t)0 - (uint64_t)v);
	} else {
		p = numutil_put_u64(p, (uint64_t)v);
	}
	*p = '\0';
}

/* "<a><unit_a> <b><unit_b>" at p ("2h 5m"); returns the end. */
static char *put_two_units(char *p, uint64_t a, char unit_a, uint64_t b, char unit_b)
{
	p = numutil_put_u64(p, a);
	*p++ = unit_a;
	*p++ = ' ';
	p = numutil_put_u64(p, b);
	*p++ = unit_b;
	return p;
}

const char *list_view_duration(int64_t ms, char *buf, size_t n)
{
	char tmp[64], *p = tmp;
	uint64_t s = ms < 0 ? 0 : (uint64_t)ms / 1000;
	if (ms < 0) {
		*p++ = '-';
	} else if (s >= 3600) {
		p = put_two_units(p, s / 3600, 'h', s % 3600 / 60, 'm');
	} else if (s >= 60) {
		p = put_two_units(p, s / 60, 'm', s % 60, 's');
	} else {
		p = numutil_put_u64(p, s);
		*p++ = 's';
	}
	*p = '\0';
	if (n > 0) {
		size_t k = (size_t)(p - tmp) < n ? (size_t)(p - tmp) : n - 1;
		memcpy(buf, tmp, k);
		buf[k] = '\0';
	}
	return buf;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
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
	const int w[] = {l->id,     l->title,    l->agent, l->workflow,
			 l->status, l->progress, l->step,  l->duration};
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
			t = clampi(t, MIN_TITLE,
				   avail - MIN_STEP > MIN_TITLE ? avail - MIN_STEP : MIN_TITLE);
			l.title = t;
			l.step = avail - t > MIN_STEP ? avail - t : MIN_STEP;
		}
		break;
	}
	*ret = l;
}

/* Most cells are plain printable ASCII: one column a byte, nothing to
 * decode (textutil's UTF-8 walk was 3/4 of the table's time). */
static bool plain_ascii(const char *s, size_t *ret_len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (; *p; p++)
		if (*p < 0x20 || *p >= 0x7F)
			return false;
	*ret_len = (size_t)(p - (const unsigned char *)s);
	return true;
}

static int width_of(const char *s, bool utf8)
{
	size_t n;
	return plain_ascii(s, &n) ? (int)n : textutil_width(s, utf8);
}

/* The plain ASCII case of fit_into, in one pass over at most width + 1
 * bytes written straight into b: false (b's content unchanged) at the
 * first byte that is not printable ASCII, which textutil_fit handles.
 * The same bytes as textutil_fit: past width + 1 bytes the cell is cut
 * whatever follows.  (This path, allocation- and call-free, is most of
 * the table's cells: per-cell copies and a second scan for the width were
 * half of a 100-task listing's instructions.) */
static bool fit_ascii(struct strbuf *b, const char *s, int width, bool utf8, bool pad)
{
	size_t w = (size_t)width, n = 0;
	strbuf_grow(b, w + 3); /* a cut cell is w - 1 bytes and a 3-byte ellipsis */
	char *out = b->buf + b->len;
	for (; n <= w && s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c < 0x20 || c >= 0x7F)
			return false;
		out[n] = (char)c;
	}
	if (n > w) { /* cut, with an ellipsis of 1 column or "..." */
		size_t ell_w = utf8 ? 1 : w < 3 ? w : 3;
		n = w - ell_w;
		memcpy(out + n, utf8 ? "\xE2\x80\xA6" : "...", utf8 ? 3 : ell_w);
		n += utf8 ? 3 : ell_w;
	} else if (pad) {
		memset(out + n, ' ', w - n);
		n = w;
	}
	strbuf_setlen(b, b->len + n);
	return true;
}

/* Append s fitted to width columns (textutil_fit's result) to b.  A cell
 * whose width the caller knows (known_w >= 0: the progress bar) is not
 * measured. */
static void fit_into(struct strbuf *b, const char *s, int known_w, int width, bool utf8, bool pad)
{
	if (width > 0 && known_w >= 0 && known_w <= width) {
		strbuf_adds(b, s);
		if (pad && known_w < width) {
			size_t w = (size_t)(width - known_w);
			strbuf_grow(b, w);
			memset(b->buf + b->len, ' ', w);
			strbuf_setlen(b, b->len + w);
		}
		return;
	}
	if (width > 0 && known_w < 0 && fit_ascii(b, s, width, utf8, pad))
		return;
	_cleanup_free_ char *cut = textutil_fit(s, width, utf8, pad);
	strbuf_adds(b, cut);
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

/* A line being built: cells one blank apart, and where the status cell
 * is (its label is coloured, its padding not). */
struct line {
	struct strbuf b;
	size_t status_at, status_end; /* status_end 0: no status cell */
};

static void line_cell(struct line *l, const char *s, int known_w, int width, bool utf8, bool pad,
		      bool is_status)
{
	if (l->b.len)
		strbuf_add(&l->b, " ", 1);
	size_t at = l->b.len;
	fit_into(&l->b, s, known_w, width, utf8, pad);
	if (is_status) {
		l->status_at = at;
		l->status_end = l->b.len;
		while (l->status_end > at && l->b.buf[l->status_end - 1] == ' ')
			l->status_end--;
	}
}

static void line_release(struct line *l)
{
	strbuf_release(&l->b);
}

/* Print the line (and empty it).  It never exceeds style->width: the
 * layout sees to it, and if even the narrowest layout is too wide the
 * whole line is cut (without colour). */
static void line_emit(FILE *f, struct line *l, const char *color,
		      const struct list_view_style *style)
{
	size_t o = l->b.len;
	const char *p = strbuf_str(&l->b);
	while (o > 0 && p[o - 1] == ' ')
		o--; /* no trailing blanks */
	strbuf_setlen(&l->b, o);
	if (style->width > 0 && width_of(p, style->utf8) > style->width) {
		_cleanup_free_ char *cut = textutil_fit(p, style->width, style->utf8, false);
		fputs(cut, f);
	} else if (color && l->status_end > l->status_at && l->status_end <= o) {
		fwrite(p, 1, l->status_at, f);
		fputs(color, f);
		fwrite(p + l->status_at, 1, l->status_end - l->status_at, f);
		fputs("\033[0m", f);
		fwrite(p + l->status_end, 1, o - l->status_end, f);
	} else {
		fwrite(p, 1, o, f);
	}
	fputc('\n', f);
	strbuf_reset(&l->b);
	l->status_at = l->status_end = 0;
}

/* ---- rows: what the table shows of a task, rendered once ----------------
 *
 * A row is one line of text (list_cache.h keeps it in .list-rows): fields
 * separated by tabs, every string already escaped for a terminal (so none
 * holds a tab or any other control character):
 *   r1 status progress start_ms end_ms retry_at_ms title agent workflow
 *   status_label step
 * end_ms 0: the duration runs to now; start_ms -1: no duration; retry_at_ms
 * > 0: the step reads "retry at HH:MM", in the local time of the printing. */

#define ROW_MAGIC "r1"
#define ROW_FIELDS 11

struct row {
	int64_t id;
	enum task_status st;
	int progress;
	int64_t start_ms, end_ms, retry_at_ms;
	const char *title, *agent, *workflow, *status, *step;
	char *buf; /* the fields point into it: inline_buf, or allocated */
	char step_buf[32];
	char inline_buf[512];
};

static void row_end_ms(const struct task *t, int64_t *ret_start, int64_t *ret_end)
{
	int64_t start, v;
	*ret_start = -1;
	*ret_end = 0;
	if (!task_get_time(t, "startedAt", &start))
		return;
	*ret_start = start;
	enum task_status s = task_status(t);
	if (s == TASK_PAUSED && task_get_time(t, "pausedAt", &v))
		*ret_end = v;
	else if (s == TASK_FAILED && task_get_time(t, "failedAt", &v))
		*ret_end = v;
	else if ((s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED) &&
		 task_get_time(t, "completedAt", &v))
		*ret_end = v;
}

char *list_view_row_text(const struct task_store *st, struct task *t,
			 const struct project_retry *policy, size_t *ret_len)
{
	struct list_view_iter it;
	iter_for(st, t, &it);
	char status[256], step[512];
	const char *agent = task_get_str(t, "agent"), *model = task_get_str(t, "agentModel");
	const char *wf = task_get_str(t, "workflowName");
	_cleanup_free_ char *agent_s = model ? xasprintf("%s:%s", agent ? agent : "claude", model)
					     : xstrdup(agent ? agent : "claude");
	list_view_status_label(t, &it, status, sizeof(status));
	list_view_step_label(t, &it, policy, step, sizeof(step));
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	int64_t retry_at = 0, start, end;
	if (task_status(t) == TASK_PAUSED && !list_view_needs_person(t, policy) &&
	    ar.next_retry_at_ms > 0)
		retry_at = ar.next_retry_at_ms;
	row_end_ms(t, &start, &end);
	const char *raw[] = {task_title(t), agent_s, wf ? wf : "-", status, retry_at ? "" : step};
	char *safe[ARRAY_SIZE(raw)];
	for (size_t k = 0; k < ARRAY_SIZE(raw); k++)
		safe[k] = textutil_escape_terminal(raw[k] ? raw[k] : "");
	char *text = xasprintf(ROW_MAGIC "\t%d\t%d\t%lld\t%lld\t%lld\t%s\t%s\t%s\t%s\t%s",
			       (int)task_status(t), it.progress, (long long)start, (long long)end,
			       (long long)retry_at, safe[0], safe[1], safe[2], safe[3], safe[4]);
	for (size_t k = 0; k < ARRAY_SIZE(raw); k++)
		free(safe[k]);
	list_view_iter_release(&it);
	*ret_len = strlen(text);
	return text;
}

/* Split an item's row into r (false: not a row this version wrote). */
static bool row_parse(const struct list_view_item *item, struct row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = item->id;
	/* Most rows fit in the struct: no allocation per row. */
	r->buf = item->len < sizeof(r->inline_buf) ? r->inline_buf : xmalloc(item->len + 1);
	memcpy(r->buf, item->text, item->len);
	r->buf[item->len] = '\0';
	char *f[ROW_FIELDS], *p = r->buf;
	for (size_t k = 0; k < ROW_FIELDS; k++) {
		f[k] = p;
		char *tab = k + 1 < ROW_FIELDS ? strchr(p, '\t') : NULL;
		if (k + 1 < ROW_FIELDS && !tab)
			return false;
		if (tab) {
			*tab = '\0';
			p = tab + 1;
		}
	}
	if (strcmp(f[0], ROW_MAGIC))
		return false;
	r->st = (enum task_status)numutil_parse_i64(f[1]);
	r->progress = (int)numutil_parse_i64(f[2]);
	r->start_ms = numutil_parse_i64(f[3]);
	r->end_ms = numutil_parse_i64(f[4]);
	r->retry_at_ms = numutil_parse_i64(f[5]);
	r->title = f[6], r->agent = f[7], r->workflow = f[8], r->status = f[9], r->step = f[10];
	if (r->retry_at_ms > 0) {
		char hhmm[8];
		snprintf(r->step_buf, sizeof(r->step_buf), "retry at %s",
			 timeutil_format_hhmm(r->retry_at_ms, hhmm));
		r->step = r->step_buf;
	}
	return true;
}

static void row_release(struct row *r)
{
	if (r->buf != r->inline_buf)
		free(r->buf);
	r->buf = NULL;
}

/* The widths the rows want (a pass over them; only on a terminal). */
static void want_of(const struct list_view_item *items, size_t n, bool utf8, bool measure,
		    struct list_view_want *want)
{
	memset(want, 0, sizeof(*want));
	want->id = 4;
	for (size_t i = 0; i < n; i++) {
		char tmp[32];
		put_i64_str(tmp, items[i].id);
		want->id = imax(want->id, (int)strlen(tmp));
		struct row r;
		if (!measure || !items[i].text || !row_parse(&items[i], &r)) {
			if (measure && items[i].text)
				row_release(&r);
			continue;
		}
		want->title = imax(want->title, width_of(r.title, utf8));
		want->agent = imax(want->agent, width_of(r.agent, utf8));
		want->workflow = imax(want->workflow, width_of(r.workflow, utf8));
		want->status = imax(want->status, width_of(r.status, utf8));
		want->step = imax(want->step, width_of(r.step, utf8));
		row_release(&r);
	}
	/* Wide enough for "run rover resume <id>" of the largest id. */
	want->step_natural = 17 + want->id > 25 ? 17 + want->id : 25;
}

/* The cells of the layout's columns (width 0: left out), fitted; vals are
 * escaped already.  known_w: each value's width when the caller knows it
 * (-1: measure), may be NULL. */
static void print_cells(FILE *f, struct line *l, const int widths[8], const char *const vals[8],
			const int *known_w, int status_col, const char *color,
			const struct list_view_style *style)
{
	for (int k = 0; k < 8; k++)
		if (widths[k] > 0)
			line_cell(l, vals[k], known_w ? known_w[k] : -1, widths[k], style->utf8,
				  true, k == status_col);
	line_emit(f, l, color, style);
}

static void progress_bar(int progress, bool u, char *bar)
{
	if (progress < 0) {
		strcpy(bar, "-");
		return;
	}
	/* progress is the container's number: no overflow past 100% */
	int full = progress >= 100 ? 8 : progress * 8 / 100;
	size_t o = 0;
	for (int k = 0; k < 8; k++) {
		const char *g = u ? (k < full ? "█" : "░") : (k < full ? "#" : ".");
		size_t gl = strlen(g);
		memcpy(bar + o, g, gl);
		o += gl;
	}
	bar[o] = '\0';
}

/* A task whose record did not load (or whose row is unreadable). */
static void print_broken(FILE *f, struct line *l, const struct list_view_item *item, int id_width,
			 const struct list_view_style *style)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)item->id);
	const char *why = item->err ? rv_error_msg(item->err) : "cannot show this task";
	_cleanup_free_ char *msg = xasprintf("%s %s", style->utf8 ? "⚠" : "!", why);
	_cleanup_free_ char *safe = textutil_escape_terminal(msg);
	line_cell(l, id, -1, id_width, style->utf8, true, false);
	line_cell(l, safe, -1, style->width > 0 ? style->width : INT_MAX / 2, style->utf8, false,
		  false);
	line_emit(f, l, NULL, style);
}

static void print_one(FILE *f, struct line *l, const struct list_view_item *item,
		      const int widths[8], int64_t now_ms, const struct list_view_style *style)
{
	struct row r;
	if (!item->text || !row_parse(item, &r)) {
		if (item->text)
			row_release(&r);
		print_broken(f, l, item, widths[0], style);
		return;
	}
	char id[32], bar[64], dur[32];
	put_i64_str(id, r.id);
	progress_bar(r.progress, style->utf8, bar);
	list_view_duration(r.start_ms < 0 ? -1 : (r.end_ms ? r.end_ms : now_ms) - r.start_ms, dur,
			   sizeof(dur));
	const char *vals[8] = {id, r.title, r.agent, r.workflow, r.status, bar, r.step, dur};
	const int known_w[8] = {-1, -1, -1, -1, -1, r.progress < 0 ? 1 : 8, -1, -1};
	print_cells(f, l, widths, vals, known_w, 4,
		    style->color ? list_view_status_color(r.st) : NULL, style);
	row_release(&r);
}

void list_view_print_rows(FILE *f, const struct list_view_item *items, size_t n, int64_t now_ms,
			  const struct list_view_style *style)
{
	static const struct list_view_style plain = {.width = 0, .color = false, .utf8 = true};
	if (!style)
		style = &plain;
	/* Into a pipe the layout is the natural one whatever the rows hold:
	 * one pass, each row printed as it is read. */
	struct list_view_want want;
	want_of(items, n, style->utf8, style->width > 0, &want);
	struct list_view_layout lay;
	list_view_layout(style->width, &want, &lay);
	const int widths[] = {lay.id,     lay.title,    lay.agent, lay.workflow,
			      lay.status, lay.progress, lay.step,  lay.duration};
	static const char *const heads[] = {"ID",     "Title",    "Agent",        "Workflow",
					    "Status", "Progress", "Current Step", "Duration"};
	_cleanup_(line_release) struct line l = {.b = STRBUF_INIT};
	print_cells(f, &l, widths, heads, NULL, -1, NULL, style);
	for (size_t i = 0; i < n; i++)
		print_one(f, &l, &items[i], widths, now_ms, style);
}

void list_view_print_table_styled(FILE *f, const struct task_store *st, const struct task_list *l,
				  const struct project_retry *policy, int64_t now_ms,
				  const struct list_view_style *style)
{
	struct list_view_item *items = xcalloc(l->n ? l->n : 1, sizeof(*items));
	for (size_t i = 0; i < l->n; i++) {
		items[i].id = l->entries[i].id;
		if (l->entries[i].task) {
			items[i].owned =
				list_view_row_text(st, l->entries[i].task, policy, &items[i].len);
			items[i].text = items[i].owned;
		} else {
			items[i].err = l->entries[i].err;
		}
	}
	list_view_print_rows(f, items, l->n, now_ms, style);
	for (size_t i = 0; i < l->n; i++)
		free(items[i].owned);
	free(items);
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

void list_view_print_items_json(FILE *f, const struct list_view_item *items, size_t n)
{
	fputs("[", f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", f);
		if (items[i].text) {
			fwrite(items[i].text, 1, items[i].len, f);
			continue;
		}
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_int64(o, "id", items[i].id);
		json_object_object_add(o, "status", NULL);
		jsonutil_set_str(o, "loadError", rv_error_msg(items[i].err));
		fputs(json_object_to_json_string_ext(o, LIST_JSON_FLAGS), f);
	}
	fputs(n ? "\n]\n" : "]\n", f);
	fflush(f);
}

bool list_view_row_ticks(const struct task *t)
{
	/* The one cell that moves with the clock is the duration of a task
	 * that has started and not ended (row_end_ms: end 0); "retry at" is a
	 * time of day. */
	int64_t start, end;
	row_end_ms(t, &start, &end);
	return start >= 0 && end == 0;
}
