#define _GNU_SOURCE
#include "engine_logs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "engine_http.h"

void engine_demux_init(struct engine_demux *d, bool raw)
{
	*d = (struct engine_demux){.raw = raw};
}

/* Payload to fn, less what d->skip still drops. */
static int pass_on(struct engine_demux *d, enum engine_stream stream, const char *data, size_t len,
		   engine_log_fn fn, void *userdata, struct rv_error **err)
{
	size_t drop = d->skip < len ? (size_t)d->skip : len;
	d->skip -= drop;
	data += drop;
	len -= drop;
	if (len == 0)
		return 0;
	int r = fn(userdata, stream, data, len, err);
	if (r < 0)
		return r;
	d->passed += len;
	return 0;
}

int engine_demux_feed(struct engine_demux *d, const char *data, size_t len, engine_log_fn fn,
		      void *userdata, struct rv_error **err)
{
	if (d->raw)
		return pass_on(d, ENGINE_STREAM_STDOUT, data, len, fn, userdata, err);
	while (len > 0) {
		if (d->remaining == 0) {
			size_t take = sizeof(d->hdr) - d->hdr_len;
			if (take > len)
				take = len;
			memcpy(d->hdr + d->hdr_len, data, take);
			d->hdr_len += take;
			data += take;
			len -= take;
			if (d->hdr_len < sizeof(d->hdr))
				return 0;
			d->hdr_len = 0;
			const unsigned char *h = d->hdr;
			if (h[0] > ENGINE_STREAM_SYSTEM || h[1] || h[2] || h[3])
				return rv_error_set(
					err, EPROTO,
					"bad log frame header %02x %02x %02x %02x after "
					"%llu frames (a TTY stream read as multiplexed?)",
					h[0], h[1], h[2], h[3], (unsigned long long)d->frames);
			d->stream = (enum engine_stream)h[0];
			d->remaining = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
				       (uint32_t)h[6] << 8 | (uint32_t)h[7];
			d->frames++;
			continue;
		}
		size_t take = d->remaining < len ? d->remaining : len;
		int r = pass_on(d, d->stream, data, take, fn, userdata, err);
		if (r < 0)
			return r;
		d->remaining -= (uint32_t)take;
		data += take;
		len -= take;
	}
	return 0;
}

int engine_demux_finish(const struct engine_demux *d, struct rv_error **err)
{
	if (d->raw || (d->hdr_len == 0 && d->remaining == 0))
		return 0;
	return rv_error_set(err, EPROTO,
			    "log stream ended inside a frame (%zu header bytes, "
			    "%u payload bytes missing)",
			    d->hdr_len, d->remaining);
}

struct logs_ctx {
	struct engine_demux demux;
	engine_log_fn fn;
	void *userdata;
};

/* The confirming inspect's budget (the container has just exited: the
 * engine answers at once). */
#define EXIT_CHECK_MS 5000L
/* How long one poll of the two transfers sleeps when nothing happens. */
#define FOLLOW_POLL_MS 1000
/* A follow is cut at the exit only while the output it showed is below
 * this: the read after the cut brings all of it again, and Podman 4.3
 * serves logs at about 2.5 MB/s here, so past this size reading it again
 * costs more than waiting for the engine's own end (about 470 ms). */
#define CUT_MAX_SHOWN (512u * 1024u)

static int on_data(void *userdata, const char *data, size_t len, struct rv_error **err)
{
	struct logs_ctx *c = userdata;
	return engine_demux_feed(&c->demux, data, len, c->fn, c->userdata, err);
}

/* It ran and is not running now: its output is complete (rover never
 * restarts a container; a resume makes a new one).  A created container
 * that has not started yet is not over. */
static bool info_exited(const struct engine_container_info *info)
{
	return !info->running && !info->paused && !info->restarting && info->started_at_ms > 0 &&
	       info->status &&
	       (strcmp(info->status, "exited") == 0 || strcmp(info->status, "stopped") == 0 ||
		strcmp(info->status, "dead") == 0);
}

/* Whether the container is over, as inspected on h.  Any failure says no:
 * the follow then ends as the engine ends it. */
static bool has_exited(struct engine_http *h, const char *prefix, const char *esc)
{
	_cleanup_free_ char *path = xasprintf("%s/containers/%s/json", prefix, esc);
	struct engine_http_request req = {
		.method = "GET", .path = path, .timeout_ms = EXIT_CHECK_MS};
	struct engine_http_reply rep = {0};
	bool over = false;
	if (engine_http_perform(h, &req, &rep, NULL) == 0 && rep.status == 200) {
		_cleanup_json_ struct json_object *o = NULL;
		struct engine_container_info info = {0};
		if (jsonutil_parse(rep.body, rep.len, "inspect reply", &o, NULL) == 0 &&
		    engine_container_info_parse(o, &info, NULL) == 0) {
			over = info_exited(&info);
			engine_container_info_release(&info);
		}
	}
	engine_http_reply_release(&rep);
	return over;
}

/* The follow request req on the engine's connection, driven in one curl
 * multi handle with POST /containers/{id}/wait?condition=next-exit on a
 * second connection.  When the wait answers and an inspect confirms the
 * exit, the follow is dropped (*ret_cut) without waiting for the engine to
 * close it; else it ends as engine_http_perform would end it (*rep filled).
 * The wait is only ever a shortcut: if it cannot be sent, fails, or answers
 * too early, the follow goes on alone. */
static int follow_until_exit(struct engine *e, const char *esc,
			     const struct engine_http_request *req, const struct logs_ctx *ctx,
			     struct engine_http_reply *rep, bool *ret_cut, struct rv_error **err)
{
	struct engine_http *lh = engine_http_of(e);
	*ret_cut = false;
	CURLM *m = curl_multi_init();
	if (!m)
		return engine_http_perform(lh, req, rep, err);
	struct engine_http wh = {0};
	_cleanup_free_ char *wpath =
		xasprintf("%s/containers/%s/wait?condition=next-exit", engine_path_prefix(e), esc);
	struct engine_http_request wreq = {
		.method = "POST", .path = wpath, .timeout_ms = ENGINE_HTTP_TIMEOUT_NONE};
	bool waiting = false, logs_in = false, done = false;
	if (engine_http_open(&wh, &lh->ep, NULL) == 0) {
		engine_http_set_timeouts(&wh, lh->connect_timeout_ms, 0);
		waiting = engine_http_setup(&wh, &wreq, NULL) == 0 &&
			  curl_multi_add_handle(m, wh.curl) == CURLM_OK;
	}
	int r = engine_http_setup(lh, req, err);
	if (r >= 0 && curl_multi_add_handle(m, lh->curl) != CURLM_OK)
		r = rv_error_set(err, ENOMEM, "cannot start reading the logs");
	logs_in = r >= 0;
	while (r >= 0 && !done && !*ret_cut) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(m, &running);
		if (mc != CURLM_OK) {
			r = rv_error_set(err, EIO, "%s", curl_multi_strerror(mc));
			break;
		}
		CURLMsg *msg;
		int left = 0;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *which = msg->easy_handle;
			CURLcode rc = msg->data.result; /* msg dies with the removal */
			curl_multi_remove_handle(m, which);
			if (which == lh->curl) {
				logs_in = false;
				done = true;
				r = engine_http_complete(lh, rc, rep, err);
				continue;
			}
			waiting = false;
			struct engine_http_reply wrep = {0};
			/* A wait may also answer for a container that did not exit
			 * (removed, not started yet, an engine's own reading of
			 * next-exit): only the inspect's word cuts the follow. */
			if (engine_http_complete(&wh, rc, &wrep, NULL) == 0 && wrep.status == 200 &&
			    ctx->demux.passed < CUT_MAX_SHOWN &&
			    has_exited(&wh, engine_path_prefix(e), esc))
				*ret_cut = true;
			engine_http_reply_release(&wrep);
		}
		/* The logs' own end wins over the wait's: nothing to read again. */
		if (done || *ret_cut)
			break;
		mc = curl_multi_poll(m, NULL, 0, FOLLOW_POLL_MS, NULL);
		if (mc != CURLM_OK)
			r = rv_error_set(err, EIO, "%s", curl_multi_strerror(mc));
	}
	if (logs_in) {
		curl_multi_remove_handle(m, lh->curl);
		engine_http_abandon(lh);
	}
	if (done)
		*ret_cut = false;
	if (waiting)
		curl_multi_remove_handle(m, wh.curl);
	engine_http_release(&wh);
	curl_multi_cleanup(m);
	return r;
}

int engine_container_logs(struct engine *e, const char *id, unsigned flags, engine_log_fn fn,
			  void *userdata, struct rv_error **err)
{
	return engine_container_logs_select(e, id, flags, 0, -1, fn, userdata, err);
}

/* GET path into ctx's demultiplexer: a follow with cut_at_exit is ended at
 * the container's exit (*ret_cut), else it ends when the engine ends it. */
static int read_logs(struct engine *e, const char *id, const char *esc, const char *path,
		     bool follow, bool cut_at_exit, struct logs_ctx *ctx, bool *ret_cut,
		     struct rv_error **err)
{
	struct engine_http_request req = {
		.method = "GET",
		.path = path,
		.timeout_ms = follow ? ENGINE_HTTP_TIMEOUT_NONE : ENGINE_HTTP_TIMEOUT_DEFAULT,
		.on_data = on_data,
		.userdata = ctx,
	};
	struct engine_http_reply rep = {0};
	*ret_cut = false;
	int r = cut_at_exit ? follow_until_exit(e, esc, &req, ctx, &rep, ret_cut, err)
			    : engine_http_perform(engine_http_of(e), &req, &rep, err);
	if (r < 0) {
		engine_http_reply_release(&rep);
		return rv_error_wrap(err, "cannot read the logs of container '%s'", id);
	}
	if (*ret_cut)
		return 0;
	if (rep.status != 200) {
		_cleanup_free_ char *what = xasprintf("cannot read the logs of container '%s'", id);
		r = engine_http_status_error(rep.status, rep.body, rep.len, what, err);
		engine_http_reply_release(&rep);
		return r;
	}
	engine_http_reply_release(&rep);
	r = engine_demux_finish(&ctx->demux, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot read the logs of container '%s'", id);
	return 0;
}

static char *logs_path(struct engine *e, const char *esc, bool follow, unsigned flags,
		       int64_t since_s, int64_t tail)
{
	char sel[64] = "";
	int k = 0;
	if (since_s > 0)
		k = snprintf(sel, sizeof(sel), "&since=%lld", (long long)since_s);
	if (tail >= 0 && k >= 0 && (size_t)k < sizeof(sel))
		snprintf(sel + k, sizeof(sel) - (size_t)k, "&tail=%lld", (long long)tail);
	return xasprintf("%s/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d%s",
			 engine_path_prefix(e), esc, follow ? 1 : 0,
			 flags & ENGINE_LOGS_TIMESTAMPS ? 1 : 0, sel);
}

int engine_container_logs_select(struct engine *e, const char *id, unsigned flags, int64_t since_s,
				 int64_t tail, engine_log_fn fn, void *userdata,
				 struct rv_error **err)
{
	struct engine_container_info info = {0};
	int r = engine_container_inspect(e, id, &info, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot read the logs of container '%s'", id);
	bool tty = info.tty, running = info.running;
	/* Over already: all it wrote is there to read, and a follow would only
	 * add the engine's delay (Podman 4.3 ends the stream of a container
	 * that exited before the request about 250 ms after it). */
	if (info_exited(&info))
		flags &= ~(unsigned)ENGINE_LOGS_FOLLOW;
	engine_container_info_release(&info);

	_cleanup_free_ char *esc = NULL;
	r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	bool follow = flags & ENGINE_LOGS_FOLLOW;
	/* Cut at the exit only where the read again below repeats the follow's
	 * output exactly: the same since selects the same entries, but the
	 * last tail lines of the output at the end are not the last tail lines
	 * at the start followed by the rest, so with tail the follow ends as the
	 * engine ends it (Podman 4.3: about 470 ms after the exit). */
	/* Podman only: Docker ends the stream itself as the container ends,
	 * and its exit (the wait's answer, the inspect) can come before the
	 * last of the output reached its log, so a read after a cut there lost
	 * the end of a 200 KiB burst on a loaded machine. */
	bool cut_at_exit =
		follow && running && tail < 0 && engine_get_kind(e) == ENGINE_KIND_PODMAN;
	_cleanup_free_ char *path = logs_path(e, esc, follow, flags, since_s, tail);
	struct logs_ctx ctx = {.fn = fn, .userdata = userdata};
	engine_demux_init(&ctx.demux, tty);
	bool cut = false;
	r = read_logs(e, id, esc, path, follow, cut_at_exit, &ctx, &cut, err);
	if (r < 0 || !cut)
		return r;
	/* Cut short: what the container wrote before its exit that the follow
	 * had not brought yet comes from one read of the whole, less the bytes
	 * already handed on (engine_demux_feed's skip). */
	uint64_t shown = ctx.demux.passed;
	_cleanup_free_ char *again = logs_path(e, esc, false, flags, since_s, tail);
	engine_demux_init(&ctx.demux, tty);
	ctx.demux.skip = shown;
	return read_logs(e, id, esc, again, false, false, &ctx, &cut, err);
}
