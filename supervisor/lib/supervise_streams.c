/* supervise_streams.c - the engine event streams of the loop; see
 * supervise_streams.h. */
#define _GNU_SOURCE
#include "supervise_streams.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/supervise_report.h"

int64_t supervise_reconnect_delay_ms(int failures)
{
	int64_t d = SUPERVISE_RECONNECT_MIN_MS;
	for (int i = 1; i < failures && d < SUPERVISE_RECONNECT_MAX_MS; i++)
		d *= 2;
	return d > SUPERVISE_RECONNECT_MAX_MS ? SUPERVISE_RECONNECT_MAX_MS : d;
}

static int on_engine_event(void *userdata, const struct engine_event *ev, struct rv_error **err)
{
	(void)err;
	struct sv *s = userdata;
	if (strcmp(ev->action, "die") != 0 && strcmp(ev->action, "destroy") != 0 &&
	    strcmp(ev->action, "remove") != 0)
		return 0;
	s->engine_event = true;
	if (!ev->id || !*ev->id)
		return 0;
	for (size_t i = 0; i < s->n_exits; i++)
		if (!strcmp(s->exits[i].container_id, ev->id))
			return 0;
	if (s->n_exits == SUPERVISE_MAX_PENDING_EXITS) {
		free(s->exits[0].container_id);
		memmove(s->exits, s->exits + 1, (s->n_exits - 1) * sizeof(s->exits[0]));
		s->n_exits--;
	}
	s->exits[s->n_exits++] = (struct exit_seen){.container_id = xstrdup(ev->id),
						    .since_mono = timeutil_mono_ms()};
	s->recheck_delay_ms = SUPERVISE_RECHECK_FIRST_MS;
	return 0;
}

/* After a full pass: drop the exits whose task is settled (or unknown) and
 * plan another look at the others. */
void sv_exits_check(struct sv *s)
{
	int64_t mono = timeutil_mono_ms();
	size_t k = 0;
	for (size_t i = 0; i < s->n_exits; i++) {
		bool pending = false;
		for (size_t j = 0; j < s->list.n && !pending; j++) {
			const struct task *t = s->list.entries[j].task;
			const char *cid = t ? task_container_id(t) : NULL;
			pending = cid && task_status_is_running(task_status(t)) &&
				  !strcmp(cid, s->exits[i].container_id);
		}
		if (pending && mono - s->exits[i].since_mono < SUPERVISE_RECHECK_FOR_MS)
			s->exits[k++] = s->exits[i];
		else
			free(s->exits[i].container_id);
	}
	s->n_exits = k;
	if (k == 0) {
		s->next_recheck_mono = 0;
		return;
	}
	s->next_recheck_mono = mono + s->recheck_delay_ms;
	s->recheck_delay_ms *= 2;
}

static void sv_stream_close(struct stream *st)
{
	st->ev = engine_events_free(st->ev);
	st->engine = engine_free(st->engine);
}

static void sv_stream_open(struct sv *s, struct stream *st)
{
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *label = layout_label(LAYOUT_LABEL_STORE, s->o->store->dir);
	const char *const actions[] = {"die", "destroy", "remove", NULL};
	const char *const labels[] = {label, NULL};
	struct engine_events_filter f = {.actions = actions, .labels = labels};
	/* Only an endpoint the user configured: uri comes from a record. */
	int r = engine_open_recorded(st->task_id, st->uri, &st->engine, &err);
	if (r == 0)
		r = engine_events_open(st->engine, &f, on_engine_event, s, &st->ev, &err);
	if (r < 0) {
		sv_stream_close(st);
		st->failures++;
		st->retry_mono = timeutil_mono_ms() + supervise_reconnect_delay_ms(st->failures);
		if (st->failures == 1)
			sv_emit(s, SUPERVISE_ENGINE, 0,
				"engine %s: no event stream (%s); retrying, with full checks every %ds",
				st->uri, rv_error_msg(err), SUPERVISE_FALLBACK_MS / 1000);
		return;
	}
	if (st->failures > 0)
		sv_emit(s, SUPERVISE_ENGINE, 0, "engine %s: event stream is back", st->uri);
	st->failures = 0;
	/* Anything that exited before the stream existed is found by listing. */
	s->need_full = true;
}

static void sv_stream_lost(struct sv *s, struct stream *st, const struct rv_error *err)
{
	sv_stream_close(st);
	st->failures++;
	st->retry_mono = timeutil_mono_ms() + supervise_reconnect_delay_ms(st->failures);
	sv_emit(s, SUPERVISE_ENGINE, 0, "engine %s: event stream lost (%s); reconnecting", st->uri,
		rv_error_msg(err));
	s->need_full = true;
}

/* Open streams for endpoints newly in use; when s->list is every task
 * (prune), drop the others. */
void sv_streams_sync(struct sv *s, bool prune)
{
	for (size_t i = 0; i < s->n_streams && prune; i++)
		s->streams[i].wanted = false;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		const char *uri = NULL;
		if (!t || !(task_status_is_running(task_status(t)) || retry_eligible(t)) ||
		    !task_get_engine(t, NULL, &uri) || !uri || !*uri)
			continue;
		struct stream *st = NULL;
		for (size_t k = 0; k < s->n_streams && !st; k++)
			if (!strcmp(s->streams[k].uri, uri))
				st = &s->streams[k];
		if (!st) {
			s->streams = xrealloc(s->streams, (s->n_streams + 1) * sizeof(*s->streams));
			st = &s->streams[s->n_streams++];
			*st = (struct stream){.uri = xstrdup(uri), .task_id = (long long)t->id};
			sv_stream_open(s, st);
		}
		st->wanted = true;
	}
	/* Unused endpoints are dropped, so a dead old engine is not retried
	 * for ever. */
	size_t k = 0;
	for (size_t i = 0; i < s->n_streams; i++) {
		if (s->streams[i].wanted) {
			s->streams[k++] = s->streams[i];
		} else {
			sv_stream_close(&s->streams[i]);
			free(s->streams[i].uri);
		}
	}
	s->n_streams = k;
}

bool sv_streams_all_up(const struct sv *s)
{
	for (size_t i = 0; i < s->n_streams; i++)
		if (!s->streams[i].ev)
			return false;
	return true;
}

void sv_streams_open_due(struct sv *s, int64_t now_mono)
{
	for (size_t i = 0; i < s->n_streams; i++)
		if (!s->streams[i].ev && s->streams[i].retry_mono <= now_mono)
			sv_stream_open(s, &s->streams[i]);
}

int64_t sv_streams_next_retry(const struct sv *s)
{
	int64_t next = 0;
	for (size_t i = 0; i < s->n_streams; i++)
		if (!s->streams[i].ev && (next == 0 || s->streams[i].retry_mono < next))
			next = s->streams[i].retry_mono;
	return next;
}

unsigned sv_streams_pollfds(struct sv *s, struct pollfd *fds, unsigned max, int *ret_timeout_ms)
{
	unsigned n = 0;
	for (size_t i = 0; i < s->n_streams; i++) {
		if (!s->streams[i].ev)
			continue;
		int t = -1;
		n += engine_events_pollfds(s->streams[i].ev, fds + n, max - n, &t);
		if (t >= 0 && (*ret_timeout_ms < 0 || t < *ret_timeout_ms))
			*ret_timeout_ms = t;
	}
	return n;
}

void sv_streams_dispatch(struct sv *s)
{
	for (size_t i = 0; i < s->n_streams; i++) {
		struct stream *st = &s->streams[i];
		if (!st->ev)
			continue;
		_cleanup_error_ struct rv_error *err = NULL;
		if (engine_events_dispatch(st->ev, &err) < 0)
			sv_stream_lost(s, st, err);
	}
}

void sv_streams_free(struct sv *s)
{
	for (size_t i = 0; i < s->n_streams; i++) {
		sv_stream_close(&s->streams[i]);
		free(s->streams[i].uri);
	}
	free(s->streams);
	s->streams = NULL;
	s->n_streams = 0;
}
