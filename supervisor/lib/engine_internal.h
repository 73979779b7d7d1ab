/*
 * engine_internal.h - what engine.c (connecting, discovery) and
 * engine_container.c (images, labels, containers) share: the engine handle
 * itself and the one request helper.  Only those two files include it;
 * everyone else sees struct engine as opaque (engine.h).
 */
#ifndef ROVER_ENGINE_INTERNAL_H
#define ROVER_ENGINE_INTERNAL_H

#include "common/cleanup.h"
#include "engine.h"
#include "engine_http.h"

/* Compact, and "/" left alone (paths are in labels and binds). */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct engine {
	struct engine_http http;
	enum engine_kind kind;
	char api_version[ENGINE_API_VERSION_LEN];
	char prefix[ENGINE_API_VERSION_LEN + 4]; /* "/v1.41" */
	char *server;
};

static inline void engine_reply_releasep(struct engine_http_reply *r)
{
	engine_http_reply_release(r);
}
#define _cleanup_reply_ _cleanup_(engine_reply_releasep)

/* One request on e's connection (engine_http_perform); timeout_ms as there. */
int engine_call(struct engine *e, const char *method, const char *path, const char *body,
		long timeout_ms, struct engine_http_reply *ret, struct rv_error **err);

/* The reply's body as JSON; anything else is a protocol error (-EPROTO). */
int engine_reply_json(const struct engine_http_reply *r, struct json_object **ret,
		      struct rv_error **err);

#endif
