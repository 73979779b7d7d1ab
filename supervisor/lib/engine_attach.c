#define _GNU_SOURCE
#include "engine_attach.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "engine_http.h"

struct engine_attach {
	struct engine_http_raw raw;
	struct engine_demux demux;
};

int engine_attach_open(struct engine *e, const char *id, bool tty, struct engine_attach **ret,
		       struct rv_error **err)
{
	_cleanup_free_ char *esc = NULL;
	int r = engine_escape_id(id, &esc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path =
		xasprintf("%s/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1",
			  engine_path_prefix(e), esc);
	_cleanup_free_ char *what = xasprintf("cannot attach to container '%s'", id);
	struct engine_http *h = engine_http_of(e);
	struct engine_attach *a = xcalloc(1, sizeof(*a));
	r = engine_http_upgrade(&h->ep, path, h->timeout_ms, what, &a->raw, err);
	if (r < 0) {
		free(a);
		return r;
	}
	engine_demux_init(&a->demux, tty);
	*ret = a;
	return 0;
}

int engine_attach_fd(const struct engine_attach *a)
{
	return engine_http_raw_fd(&a->raw);
}

int engine_attach_read(struct engine_attach *a, engine_log_fn fn, void *userdata,
		       struct rv_error **err)
{
	char buf[16384];
	size_t n = 0;
	int r = engine_http_raw_recv(&a->raw, buf, sizeof(buf), &n, err);
	if (r < 0)
		return r;
	if (n == 0) {
		r = engine_demux_finish(&a->demux, err);
		return r < 0 ? r : 0;
	}
	r = engine_demux_feed(&a->demux, buf, n, fn, userdata, err);
	return r < 0 ? r : 1;
}

int engine_attach_write(struct engine_attach *a, const char *data, size_t len, size_t *ret_n,
			struct rv_error **err)
{
	return engine_http_raw_send(&a->raw, data, len, ret_n, err);
}

int engine_attach_close_stdin(struct engine_attach *a, struct rv_error **err)
{
	return engine_http_raw_shutdown_write(&a->raw, err);
}

struct engine_attach *engine_attach_free(struct engine_attach *a)
{
	if (a) {
		engine_http_raw_release(&a->raw);
		free(a);
	}
	return NULL;
}
