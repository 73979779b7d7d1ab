/*
 * eventlog.h - rover.jsonl, the runner's structured event log:
 * one JSON object per line with timestamp, level, event, message and optional
 * fields (taskId, stepId, stepName, duration, error, errorCode,
 * errorRetryable, progress, metadata ...).
 *
 * Each event is one write(2) of a whole line to an O_APPEND descriptor, so
 * concurrent writers and a crash never interleave or tear a line beyond the
 * last one.  Logging never fails the run: errors are counted, not returned
 * (eventlog_failures()).  After a short write (disk full) the next event
 * starts with a newline, so one torn line never swallows the next event.
 *
 * String values (message, event, and the string members of fields) are made
 * valid UTF-8 and capped at EVENTLOG_MAX_TEXT bytes (tail kept).  An unknown
 * level is written as "info"; fields cannot override timestamp, level, event
 * or message.
 */
#ifndef ROVER_EVENTLOG_H
#define ROVER_EVENTLOG_H

#include <json-c/json.h>

#include "common/error.h"

#define EVENTLOG_MAX_TEXT (16u * 1024u)

struct eventlog;

/* Open (create) path for appending.  task_id is added to every event. */
int eventlog_open(const char *path, const char *task_id, struct eventlog **ret,
		  struct rv_error **err);
struct eventlog *eventlog_free(struct eventlog *log);

/* level: info|warn|error|debug.  fields (may be NULL) is merged in and stays
 * owned by the caller. */
void eventlog_emit(struct eventlog *log, const char *level, const char *event, const char *message,
		   struct json_object *fields);

/* How many events could not be written whole since the log was opened. */
unsigned eventlog_failures(const struct eventlog *log);

/* The line eventlog_emit() writes (with its newline), for tests and for
 * printing an event elsewhere.  task_id may be NULL.  Caller frees. */
char *eventlog_format(const char *task_id, const char *level, const char *event,
		      const char *message, struct json_object *fields);

#endif
