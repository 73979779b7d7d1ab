/*
 * engine_logs.h - a container's output through the engine API, split back
 * into stdout and stderr.
 *
 * Without a TTY the engine sends a multiplexed stream of frames:
 *     byte 0      stream: 0 stdin, 1 stdout, 2 stderr, 3 engine error
 *     bytes 1-3   zero
 *     bytes 4-7   payload length, big-endian
 *     payload
 * With a TTY (Config.Tty) the stream is the raw terminal output, all of it
 * reported as stdout.  Frames arrive split across reads at any byte; the
 * demultiplexer keeps only the 8-byte header between calls and hands payload
 * bytes on as they come, so a frame of any length needs no buffer.
 */
#ifndef ROVER_ENGINE_LOGS_H
#define ROVER_ENGINE_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine.h"

enum engine_stream {
	ENGINE_STREAM_STDIN = 0,
	ENGINE_STREAM_STDOUT = 1,
	ENGINE_STREAM_STDERR = 2,
	ENGINE_STREAM_SYSTEM = 3, /* an error written by the engine itself */
};

/* Receives a piece of one stream (a frame may come in several pieces, never
 * two streams in one call).  Return < 0 (setting *err) to stop; the call that
 * fed the data then returns that code. */
typedef int (*engine_log_fn)(void *userdata, enum engine_stream stream, const char *data,
			     size_t len, struct rv_error **err);

struct engine_demux {
	bool raw;             /* TTY: no frames */
	unsigned char hdr[8]; /* header being collected */
	size_t hdr_len;
	uint32_t remaining; /* payload bytes left in the current frame */
	enum engine_stream stream;
	uint64_t frames; /* complete headers seen */
	uint64_t skip;   /* payload bytes still to drop before any is handed on */
	uint64_t passed; /* payload bytes handed on */
};

void engine_demux_init(struct engine_demux *d, bool raw);

/* Feed len bytes of the stream.  A bad header (stream > 3 or non-zero
 * padding): -EPROTO; the consumer's code when it stops.  The first d->skip
 * payload bytes (set after init) are dropped, whatever their stream: a read
 * of the whole output that repeats one cut short hands on only what the cut
 * one had not (d->passed of that one), frames in the same order, one frame
 * possibly in part. */
int engine_demux_feed(struct engine_demux *d, const char *data, size_t len, engine_log_fn fn,
		      void *userdata, struct rv_error **err);

/* At the end of the stream: -EPROTO when it ended inside a frame. */
int engine_demux_finish(const struct engine_demux *d, struct rv_error **err);

enum {
	ENGINE_LOGS_FOLLOW = 1 << 0,     /* keep streaming until the container stops */
	ENGINE_LOGS_TIMESTAMPS = 1 << 1, /* each line starts with an RFC 3339 time */
};

/* Both streams of container id from the start, to fn.  One inspect first
 * tells whether the container has a TTY.  Without ENGINE_LOGS_FOLLOW the call
 * has the request timeout; with it, none: it returns when the container
 * stops (or fn returns < 0).  No such container: -ENOENT.  Uses the engine's
 * connection (and, while following, a second one): nothing else can be
 * called on e from fn.
 *
 * Follow ends at the exit, not when the engine closes the stream (Podman 4.3
 * closes it about 470 ms after the exit; Docker at once):
 *   - a container that is over at the inspect (it ran, and is exited,
 *     stopped or dead) is read once without follow;
 *   - a running one is followed while POST /containers/{id}/wait?condition=
 *     next-exit waits on a second connection, both in one curl multi
 *     handle.  When the wait answers and an inspect says the container is
 *     over, the follow is dropped and the output read once more without
 *     follow, handing on only the bytes the follow had not (struct
 *     engine_demux's skip): the same frames in the same order, so fn sees
 *     every byte once.  Not with a tail (the last lines at the end are not
 *     the last lines at the start plus the rest): that follow ends when the
 *     engine ends it.  Nor once the follow showed CUT_MAX_SHOWN (512 KiB,
 *     engine_logs.c): reading that again would cost more than the wait.
 * The wait is only a shortcut: when it cannot be sent or fails, the follow
 * ends as the engine ends it, and its errors are the follow's own. */
int engine_container_logs(struct engine *e, const char *id, unsigned flags, engine_log_fn fn,
			  void *userdata, struct rv_error **err);

/* As engine_container_logs, with the engine's own selection: since_s > 0
 * keeps what was written at or after that Unix second; tail >= 0 keeps the
 * last tail lines only (< 0: all). */
int engine_container_logs_select(struct engine *e, const char *id, unsigned flags, int64_t since_s,
				 int64_t tail, engine_log_fn fn, void *userdata,
				 struct rv_error **err);

#endif
