/*
 * logsel.h - the pure parts of `rover logs`: which lines to show.
 *
 *   - `--since TIME`: an RFC 3339 time, or a duration back from now
 *     ("90s", "10m", "1h30m", "2d"; units s, m, h, d, summed);
 *   - container.log framing (launch.h writes it): each saved container's
 *     output is preceded by "==== container <id>, saved <time> ====" and
 *     followed by "==== end of container <id> ====".  The saved lines carry
 *     no time of their own, so `--since` keeps or drops a saved container
 *     whole, by the time it was saved (after it ended): saved before TIME,
 *     all of its lines are older and it is dropped; saved after, it is shown
 *     whole.  The file is written by the container too (it is under /output):
 *     a forged frame only changes what this file shows of itself;
 *   - `--tail N`: a ring of the last N complete lines of both streams (a
 *     line is cut at LOGSEL_MAX_LINE bytes, so a container that never writes
 *     a newline costs bounded memory).
 * Nothing here reads a clock, a file or the engine.
 */
#ifndef ROVER_LOGSEL_H
#define ROVER_LOGSEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/engine_logs.h"

#define LOGSEL_MAX_LINE (1024u * 1024u)

/* TIME as above into epoch ms.  -EINVAL naming the text when it is neither;
 * a duration of more than 100 years, or a time in the future, is refused. */
int logsel_parse_since(const char *text, int64_t now_ms, int64_t *ret_ms, struct rv_error **err);

/* A header line (len bytes, '\n' excluded or included): true with the id
 * (copied into id, at most idsz - 1 bytes) and the save time (0: not
 * parsable). */
bool logsel_parse_header(const char *line, size_t len, char *id, size_t idsz,
			 int64_t *ret_saved_ms);

/* A trailer line: true with the id. */
bool logsel_parse_trailer(const char *line, size_t len, char *id, size_t idsz);

/* Whether two container ids name the same container: equal, or one a
 * prefix (of at least 12 hex digits) of the other. */
bool logsel_same_container(const char *a, const char *b);

/* The last `cap` lines of what is pushed, per stream in order. */
struct logsel_line {
	enum engine_stream stream;
	char *data; /* with its '\n' (the last line may lack it) */
	size_t len;
};

struct logsel_ring {
	size_t cap;   /* lines kept; 0 keeps none */
	size_t n;     /* lines in the ring (<= cap) */
	size_t start; /* index of the oldest */
	size_t alloc; /* slots allocated (grows up to cap) */
	struct logsel_line *lines;
	uint64_t pushed;  /* complete lines seen */
	char *partial[3]; /* an unfinished line per stream (stdout, stderr, other) */
	size_t partial_len[3];
};

void logsel_ring_init(struct logsel_ring *r, size_t cap);
void logsel_ring_release(struct logsel_ring *r);

/* Feed bytes of one stream; complete lines enter the ring. */
void logsel_ring_feed(struct logsel_ring *r, enum engine_stream stream, const char *data,
		      size_t len);

/* Unfinished lines become lines (at the end of the output). */
void logsel_ring_flush(struct logsel_ring *r);

/* Hand the lines to fn, oldest first, skipping the first `skip` of them.
 * Stops at fn's first error and returns it. */
int logsel_ring_emit(const struct logsel_ring *r, size_t skip, engine_log_fn fn, void *userdata,
		     struct rv_error **err);

#endif
