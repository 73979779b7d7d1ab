#define _GNU_SOURCE
#include "engine_events.h"

#include <errno.h>
#include <limits.h>
#include <sys/select.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "engine_http.h"

/* Compact, and "/" left alone (paths are in labels and binds). */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- parsing ------------------------------------------------------------ */

void engine_event_release(struct engine_event *ev)
{
	if (!ev)
		return;
	free(ev->type);
	free(ev->action);
	free(ev->id);
	free(ev->name);
	free(ev->image);
	engine_labels_free(ev->attrs, ev->n_attrs);
	*ev = (struct engine_event){0};
}

const char *engine_event_attr(const struct engine_event *ev, const char *key)
{
	return engine_label_get(ev->attrs, ev->n_attrs, key);
}

/* An exit code given as "3" (both engines) or 3. */
static bool exit_code_of(struct json_object *attrs, const char *key, int *ret)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(attrs, key, &v) || !v)
		return false;
	if (json_object_is_type(v, json_type_int)) {
		*ret = json_object_get_int(v);
		return true;
	}
	if (!json_object_is_type(v, json_type_string))
		return false;
	const char *s = json_object_get_string(v);
	char *end = NULL;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < INT_MIN || n > INT_MAX)
		return false;
	*ret = (int)n;
	return true;
}

int engine_event_parse(const char *json, size_t len, struct engine_event *ret,
		       struct rv_error **err)
{
	_cleanup_json_ struct json_object *o = NULL;
	if (jsonutil_parse(json, len, "engine event", &o, err) < 0) {
		if (err && *err)
			(*err)->code = EPROTO;
		return -EPROTO;
	}
	if (!json_object_is_type(o, json_type_object))
		return rv_error_set(err, EPROTO, "engine event is not a JSON object");
	const char *action = jsonutil_get_str(o, "Action");
	if (!action)
		action = jsonutil_get_str(o, "status"); /* API < 1.22 shape */
	if (!action)
		return rv_error_set(err, EPROTO, "engine event without an Action");
	struct json_object *actor = jsonutil_get_obj(o, "Actor");
	struct json_object *attrs = jsonutil_get_obj(actor, "Attributes");
	const char *id = jsonutil_get_str(actor, "ID");
	if (!id)
		id = jsonutil_get_str(o, "id");
	const char *type = jsonutil_get_str(o, "Type");

	struct engine_event ev = {
		.type = xstrdup(type ? type : "container"),
		/* Podman's native name; its compat layer mostly says "die" already */
		.action = xstrdup(strcmp(action, "died") == 0 ? "die" : action),
		.id = xstrdup(id ? id : ""),
		.name = jsonutil_get_str(attrs, "name") ? xstrdup(jsonutil_get_str(attrs, "name"))
							: NULL,
		.image = jsonutil_get_str(attrs, "image")
				 ? xstrdup(jsonutil_get_str(attrs, "image"))
				 : NULL,
	};
	if (strcmp(ev.action, "die") == 0 && attrs)
		ev.has_exit_code = exit_code_of(attrs, "exitCode", &ev.exit_code) ||
				   exit_code_of(attrs, "containerExitCode", &ev.exit_code);
	/* The engine's clock, in seconds (time) or nanoseconds (timeNano).  An
	 * engine that sends milliseconds, or garbage, must not overflow the
	 * conversion: a time that does not fit is no time (0), as if absent. */
	int64_t t = 0;
	if (jsonutil_get_int64(o, "timeNano", &t) && t > 0)
		ev.time_ns = t;
	else if (jsonutil_get_int64(o, "time", &t) && t > 0 &&
		 __builtin_mul_overflow(t, INT64_C(1000000000), &ev.time_ns))
		ev.time_ns = 0;
	if (attrs && json_object_is_type(attrs, json_type_object)) {
		size_t cap = (size_t)json_object_object_length(attrs);
		ev.attrs = xcalloc(cap ? cap : 1, sizeof(*ev.attrs));
		json_object_object_foreach(attrs, k, v)
		{
			if (ev.n_attrs >= cap || !json_object_is_type(v, json_type_string))
				continue;
			ev.attrs[ev.n_attrs].key = xstrdup(k);
			ev.attrs[ev.n_attrs].value = xstrdup(json_object_get_string(v));
			ev.n_attrs++;
		}
	}
	*ret = ev;
	return 0;
}

/* ---- the query ---------------------------------------------------------- */

static struct json_object *str_array(const char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

char *engine_events_query(const struct engine_events_filter *f, enum engine_kind kind,
			  int64_t now_ms)
{
	_cleanup_json_ struct json_object *filters = json_object_new_object();
	json_object_object_add(filters, "type",
			       str_array((const char *const[]){"container", NULL}));
	if (f->actions && *f->actions) {
		struct json_object *ev = str_array(f->actions);
		if (kind == ENGINE_KIND_PODMAN)
			for (const char *const *a = f->actions; *a; a++)
				if (strcmp(*a, "die") == 0)
					json_object_array_add(ev, json_object_new_string("died"));
		json_object_object_add(filters, "event", ev);
	}
	if (f->labels && *f->labels)
		json_object_object_add(filters, "label", str_array(f->labels));
	if (f->containers && *f->containers)
		json_object_object_add(filters, "container", str_array(f->containers));
	_cleanup_free_ char *esc =
		engine_http_escape(json_object_to_json_string_ext(filters, JSON_FLAGS));
	int64_t since = f->since_ms == 0 ? now_ms : f->since_ms;
	if (since < 0)
		return xasprintf("filters=%s", esc);
	/* seconds.nanoseconds, as both engines parse it */
	return xasprintf("since=%lld.%09lld&filters=%s", (long long)(since / 1000),
			 (long long)(since % 1000) * 1000000LL, esc);
}

/* ---- the stream --------------------------------------------------------- */

struct engine_events {
	struct engine_http http;
	CURLM *multi;
	bool attached; /* http.curl is in multi */
	char *path;
	struct engine_http_request req;
	engine_event_fn fn;
	void *userdata;
	struct strbuf line; /* the event being received, up to its newline */
	int delivered;
	int over; /* 0 while open; else the final -errno */
	char *over_msg;
	int over_http;
};

static int deliver_line(struct engine_events *s, const char *line, size_t len,
			struct rv_error **err)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	struct engine_event ev = {0};
	int r = engine_event_parse(line, len, &ev, err);
	if (r < 0)
		return r;
	r = s->fn(s->userdata, &ev, err);
	engine_event_release(&ev);
	if (r < 0)
		return r;
	s->delivered++;
	return 0;
}

static int on_data(void *userdata, const char *data, size_t len, struct rv_error **err)
{
	struct engine_events *s = userdata;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (s->line.len + take > ENGINE_EVENTS_MAX_LINE)
			return rv_error_set(err, EPROTO, "engine event longer than %u bytes",
					    ENGINE_EVENTS_MAX_LINE);
		strbuf_add(&s->line, data, take);
		data += take;
		len -= take;
		if (!nl)
			break;
		data++; /* the newline */
		len--;
		int r = deliver_line(s, strbuf_str(&s->line), s->line.len, err);
		strbuf_reset(&s->line);
		if (r < 0)
			return r;
	}
	return 0;
}

static void detach(struct engine_events *s)
{
	if (s->attached) {
		curl_multi_remove_handle(s->multi, s->http.curl);
		s->attached = false;
	}
}

/* Record the end of the stream and return its code. */
static int set_over(struct engine_events *s, int code, struct rv_error **err)
{
	s->over = code;
	free(s->over_msg);
	s->over_msg = xstrdup(err && *err ? (*err)->msg : "event stream ended");
	s->over_http = err && *err ? (*err)->http_status : 0;
	detach(s);
	return code;
}

static int over_again(const struct engine_events *s, struct rv_error **err)
{
	int r = rv_error_set(err, -s->over, "%s", s->over_msg);
	if (err && *err)
		(*err)->http_status = s->over_http;
	return r;
}

/* Collect a finished transfer, if any: its error ends the stream. */
static int check_done(struct engine_events *s, struct rv_error **err)
{
	int left = 0;
	CURLMsg *m;
	while ((m = curl_multi_info_read(s->multi, &left))) {
		if (m->msg != CURLMSG_DONE || m->easy_handle != s->http.curl)
			continue;
		CURLcode rc = m->data.result;
		struct engine_http_reply rep = {0};
		int r = engine_http_complete(&s->http, rc, &rep, err);
		if (r >= 0) {
			if (rep.status == 200)
				r = rv_error_set(err, ECONNRESET,
						 "the engine at %s closed the event stream",
						 s->http.ep.uri);
			else
				r = engine_http_status_error(rep.status, rep.body, rep.len,
							     "cannot read engine events", err);
		} else {
			rv_error_wrap(err, "engine event stream");
		}
		engine_http_reply_release(&rep);
		return set_over(s, r, err);
	}
	return 0;
}

static int perform(struct engine_events *s, struct rv_error **err)
{
	int running = 0;
	CURLMcode mc = curl_multi_perform(s->multi, &running);
	if (mc != CURLM_OK) {
		rv_error_set(err, EIO, "engine event stream: %s", curl_multi_strerror(mc));
		return set_over(s, -EIO, err);
	}
	return check_done(s, err);
}

struct engine_events *engine_events_free(struct engine_events *s)
{
	if (!s)
		return NULL;
	detach(s);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	engine_http_release(&s->http);
	free(s->path);
	strbuf_release(&s->line);
	free(s->over_msg);
	free(s);
	return NULL;
}

int engine_events_open(struct engine *e, const struct engine_events_filter *filter,
		       engine_event_fn fn, void *userdata, struct engine_events **ret,
		       struct rv_error **err)
{
	struct engine_http *eh = engine_http_of(e);
	_cleanup_engine_events_ struct engine_events *s = xcalloc(1, sizeof(*s));
	s->fn = fn;
	s->userdata = userdata;
	int r = engine_http_open(&s->http, &eh->ep, err);
	if (r < 0)
		return r;
	engine_http_set_timeouts(&s->http, eh->connect_timeout_ms, 0);
	_cleanup_free_ char *q = engine_events_query(filter, engine_get_kind(e), timeutil_now_ms());
	s->path = xasprintf("%s/events?%s", engine_path_prefix(e), q);
	s->req = (struct engine_http_request){
		.method = "GET",
		.path = s->path,
		.timeout_ms = ENGINE_HTTP_TIMEOUT_NONE,
		.on_data = on_data,
		.userdata = s,
	};
	r = engine_http_setup(&s->http, &s->req, err);
	if (r < 0)
		return r;
	s->multi = curl_multi_init();
	if (!s->multi)
		return rv_error_set(err, ENOMEM, "cannot create a libcurl multi handle");
	if (curl_multi_add_handle(s->multi, s->http.curl) != CURLM_OK)
		return rv_error_set(err, ENOMEM, "cannot start the engine event stream");
	s->attached = true;

	/* Drive the transfer until the request is on the wire (or failed); the
	 * engine's answer is not awaited. */
	int64_t deadline = timeutil_mono_ms() + eh->connect_timeout_ms;
	for (;;) {
		r = perform(s, err);
		if (r < 0 || s->over)
			return r < 0 ? r : s->over;
		long req_size = 0;
		if (curl_easy_getinfo(s->http.curl, CURLINFO_REQUEST_SIZE, &req_size) == CURLE_OK &&
		    req_size > 0)
			break;
		int64_t left = deadline - timeutil_mono_ms();
		if (left <= 0) {
			rv_error_set(err, ETIMEDOUT,
				     "engine event stream: could not send the request to %s within "
				     "%ld ms",
				     s->http.ep.uri, eh->connect_timeout_ms);
			return -ETIMEDOUT;
		}
		curl_multi_poll(s->multi, NULL, 0, left < 50 ? (int)left : 50, NULL);
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* The stream ended during this call: events delivered before the end are
 * reported first; the end comes with the next call. */
static int ended(struct engine_events *s, int r, struct rv_error **err)
{
	if (s->delivered == 0)
		return r;
	if (err)
		*err = rv_error_free(*err);
	return s->delivered;
}

int engine_events_poll(struct engine_events *s, struct pollfd *extra, unsigned n_extra,
		       int timeout_ms, struct rv_error **err)
{
	if (s->over)
		return over_again(s, err);
	if (n_extra > ENGINE_EVENTS_MAX_EXTRA_FDS)
		return rv_error_set(err, EINVAL, "too many descriptors to poll (%u > %d)", n_extra,
				    ENGINE_EVENTS_MAX_EXTRA_FDS);
	struct curl_waitfd w[ENGINE_EVENTS_MAX_EXTRA_FDS];
	for (unsigned i = 0; i < n_extra; i++) {
		w[i] = (struct curl_waitfd){.fd = extra[i].fd, .events = 0};
		if (extra[i].events & POLLIN)
			w[i].events |= CURL_WAIT_POLLIN;
		if (extra[i].events & POLLPRI)
			w[i].events |= CURL_WAIT_POLLPRI;
		if (extra[i].events & POLLOUT)
			w[i].events |= CURL_WAIT_POLLOUT;
		extra[i].revents = 0;
	}
	s->delivered = 0;
	/* Data that arrived since the last call is read at once. */
	int r = perform(s, err);
	if (r < 0)
		return ended(s, r, err);
	if (s->delivered > 0)
		timeout_ms = 0;
	int t = timeout_ms < 0 ? INT_MAX : timeout_ms;
	CURLMcode mc = curl_multi_poll(s->multi, n_extra ? w : NULL, n_extra, t, NULL);
	if (mc != CURLM_OK) {
		rv_error_set(err, EIO, "engine event stream: %s", curl_multi_strerror(mc));
		return set_over(s, -EIO, err);
	}
	for (unsigned i = 0; i < n_extra; i++) {
		if (w[i].revents & CURL_WAIT_POLLIN)
			extra[i].revents |= POLLIN;
		if (w[i].revents & CURL_WAIT_POLLPRI)
			extra[i].revents |= POLLPRI;
		if (w[i].revents & CURL_WAIT_POLLOUT)
			extra[i].revents |= POLLOUT;
	}
	r = perform(s, err);
	if (r < 0)
		return ended(s, r, err);
	return s->delivered;
}

unsigned engine_events_pollfds(struct engine_events *s, struct pollfd *fds, unsigned max,
			       int *ret_timeout_ms)
{
	*ret_timeout_ms = 0;
	if (s->over)
		return 0;
	fd_set r, w, x;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	int maxfd = -1;
	if (curl_multi_fdset(s->multi, &r, &w, &x, &maxfd) != CURLM_OK)
		return 0;
	unsigned n = 0;
	for (int fd = 0; fd <= maxfd && n < max; fd++) {
		short ev =
			(short)((FD_ISSET(fd, &r) ? POLLIN : 0) | (FD_ISSET(fd, &w) ? POLLOUT : 0) |
				(FD_ISSET(fd, &x) ? POLLPRI : 0));
		if (ev)
			fds[n++] = (struct pollfd){.fd = fd, .events = ev};
	}
	long t = -1;
	if (curl_multi_timeout(s->multi, &t) != CURLM_OK)
		t = 0;
	if (n == 0 && (t < 0 || t > ENGINE_EVENTS_BLIND_MS))
		t = ENGINE_EVENTS_BLIND_MS;
	*ret_timeout_ms = t < 0 ? -1 : t > INT_MAX ? INT_MAX : (int)t;
	return n;
}

int engine_events_dispatch(struct engine_events *s, struct rv_error **err)
{
	if (s->over)
		return over_again(s, err);
	s->delivered = 0;
	int r = perform(s, err);
	if (r < 0)
		return ended(s, r, err);
	return s->delivered;
}
