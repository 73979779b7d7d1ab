#define _GNU_SOURCE
#include "engine_logs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine_http.h"

void engine_demux_init(struct engine_demux *d, bool raw)
{
	*d = (struct engine_demux){.raw = raw};
}

int engine_demux_feed(struct engine_demux *d, const char *data, size_t len, engine_log_fn fn,
		      void *userdata, struct rv_error **err)
{
	if (d->raw)
		return len ? fn(userdata, ENGINE_STREAM_STDOUT, data, len, err) : 0;
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
		int r = fn(userdata, d->stream, data, take, err);
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

static int on_data(void *userdata, const char *data, size_t len, struct rv_error **err)
{
	struct logs_ctx *c = userdata;
	return engine_demux_feed(&c->demux, data, len, c->fn, c->userdata, err);
}

int engine_container_logs(struct engine *e, const char *id, unsigned flags, engine_log_fn fn,
			  void *userdata, struct rv_error **err)
{
	return engine_container_logs_select(e, id, flags, 0, -1, fn, userdata, err);
}

int engine_container_logs_select(struct engine *e, const char *id, unsigned flags, int64_t since_s,
				 int64_t tail, engine_log_fn fn, void *userdata,
				 struct rv_error **err)
{
	struct engine_container_info info = {0};
	int r = engine_container_inspect(e, id, &info, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot read the logs of container '%s'", id);
	bool tty = info.tty;
	engine_container_info_release(&info);

	_cleanup_free_ char *esc = NULL;
	r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	bool follow = flags & ENGINE_LOGS_FOLLOW;
	char sel[64] = "";
	int k = 0;
	if (since_s > 0)
		k = snprintf(sel, sizeof(sel), "&since=%lld", (long long)since_s);
	if (tail >= 0 && k >= 0 && (size_t)k < sizeof(sel))
		snprintf(sel + k, sizeof(sel) - (size_t)k, "&tail=%lld", (long long)tail);
	_cleanup_free_ char *path =
		xasprintf("%s/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d%s",
			  engine_path_prefix(e), esc, follow ? 1 : 0,
			  flags & ENGINE_LOGS_TIMESTAMPS ? 1 : 0, sel);
	struct logs_ctx ctx = {.fn = fn, .userdata = userdata};
	engine_demux_init(&ctx.demux, tty);
	struct engine_http_request req = {
		.method = "GET",
		.path = path,
		.timeout_ms = follow ? ENGINE_HTTP_TIMEOUT_NONE : ENGINE_HTTP_TIMEOUT_DEFAULT,
		.on_data = on_data,
		.userdata = &ctx,
	};
	struct engine_http_reply rep = {0};
	r = engine_http_perform(engine_http_of(e), &req, &rep, err);
	if (r < 0) {
		engine_http_reply_release(&rep);
		return rv_error_wrap(err, "cannot read the logs of container '%s'", id);
	}
	if (rep.status != 200) {
		_cleanup_free_ char *what = xasprintf("cannot read the logs of container '%s'", id);
		r = engine_http_status_error(rep.status, rep.body, rep.len, what, err);
		engine_http_reply_release(&rep);
		return r;
	}
	engine_http_reply_release(&rep);
	r = engine_demux_finish(&ctx.demux, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot read the logs of container '%s'", id);
	return 0;
}
