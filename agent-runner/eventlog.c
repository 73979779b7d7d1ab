#define _GNU_SOURCE
#include "eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/textutil.h"
#include "common/timeutil.h"

struct eventlog {
	int fd;
	char *task_id;
	unsigned failures;
	/* The last line did not reach the file whole: start the next one on a
	 * line of its own so that a reader loses one event, not two. */
	bool torn;
};

static const char *const levels[] = {"info", "warn", "error", "debug", NULL};
static const char *const reserved[] = {"timestamp", "level", "event", "message", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

int eventlog_open(const char *path, const char *task_id, struct eventlog **ret,
		  struct rv_error **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open event log '%s'", path);
	struct eventlog *log = xcalloc(1, sizeof(*log));
	log->fd = fd;
	log->task_id = task_id && *task_id ? xstrdup(task_id) : NULL;
	*ret = log;
	return 0;
}

struct eventlog *eventlog_free(struct eventlog *log)
{
	if (!log)
		return NULL;
	if (log->fd >= 0)
		close(log->fd);
	free(log->task_id);
	free(log);
	return NULL;
}

unsigned eventlog_failures(const struct eventlog *log)
{
	return log ? log->failures : 0;
}

/* A string that is safe in a JSON line and bounded. */
static struct json_object *safe_string(const char *s)
{
	_cleanup_free_ char *t = textutil_tail(s ? s : "", EVENTLOG_MAX_TEXT);
	return json_object_new_string(t);
}

char *eventlog_format(const char *task_id, const char *level, const char *event,
		      const char *message, struct json_object *fields)
{
	char iso[TIMEUTIL_ISO_LEN];
	_cleanup_json_ struct json_object *o = json_object_new_object();
	json_object_object_add(o, "timestamp",
			       json_object_new_string(timeutil_format_iso(timeutil_now_ms(), iso)));
	json_object_object_add(
		o, "level",
		json_object_new_string(level && in_list(level, levels) ? level : "info"));
	json_object_object_add(o, "event", safe_string(event ? event : "unknown"));
	json_object_object_add(o, "message", safe_string(message));
	if (task_id)
		json_object_object_add(o, "taskId", json_object_new_string(task_id));
	if (fields && json_object_is_type(fields, json_type_object)) {
		json_object_object_foreach(fields, key, val)
		{
			if (in_list(key, reserved))
				continue;
			if (val && json_object_is_type(val, json_type_string))
				json_object_object_add(o, key,
						       safe_string(json_object_get_string(val)));
			else
				json_object_object_add(o, key, json_object_get(val));
		}
	}
	/* PLAIN never emits a newline: one event is one line. */
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	return xasprintf("%s\n", s);
}

void eventlog_emit(struct eventlog *log, const char *level, const char *event, const char *message,
		   struct json_object *fields)
{
	if (!log || log->fd < 0)
		return;
	_cleanup_free_ char *line = eventlog_format(log->task_id, level, event, message, fields);
	if (log->torn) {
		char *l = xasprintf("\n%s", line);
		free(line);
		line = l;
	}
	size_t len = strlen(line), done = 0;
	ssize_t n;
	/* One write(2): with O_APPEND the line lands whole at the end of the file,
	 * even with another appender.  Only a short write (disk full) or EINTR
	 * makes us write again, to finish the line. */
	while (done < len) {
		n = write(log->fd, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done < len) {
		/* Said once on stderr (it reaches container.log and `rover logs`
		 * through the engine): the events are lost, the run goes on. */
		if (log->failures++ == 0)
			fprintf(stderr, "rover-agent: cannot write the event log rover.jsonl: %s\n",
				n < 0 ? strerror(errno) : "short write");
		log->torn = done > 0 || log->torn;
	} else {
		log->torn = false;
	}
}
