/* rover events [ID] [--follow] [--limit N] [--reverse] [--type T] [--since TIME] [--json] */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h> /* optind */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/journal.h"

static const struct cmdopt_spec spec = {
	.verb = "events",
	.header = "Usage: rover events [ID] [-f|--follow] [--limit N] [--reverse] [--type T]\n"
		  "                    [--since TIME] [--no-steps] [--json]\n"
		  "\n"
		  "The journal of a task (or, without ID, of every task of the project), in the\n"
		  "order things happened: created, started, step_started, step_done, paused\n"
		  "(with its reason), retry_scheduled, retry_fired, resumed (with how long the\n"
		  "task was paused and how old its checkpoint was), iteration_started,\n"
		  "completed, failed, restarted, resume_undone (a resume rolled back before its\n"
		  "container ran: the task is as it was).  Step events come from the runner's\n"
		  "log in the container; the others are written by rover on the host.\n"
		  "\n",
	.column = 20,
};

struct filter {
	char **types;
	size_t n_types;
	int64_t since_ms; /* 0: none */
	long limit;       /* 0: all */
	bool reverse, steps, json;
};

/* "30s", "10m", "2h", "1d" before now, or an RFC 3339 time. */
static bool parse_since(const char *s, int64_t now_ms, int64_t *ret)
{
	if (timeutil_parse_iso(s, ret))
		return true;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || n > 100000 || !end[0] || end[1])
		return false;
	int64_t unit = end[0] == 's'   ? 1000
		       : end[0] == 'm' ? 60000
		       : end[0] == 'h' ? 3600000
		       : end[0] == 'd' ? 86400000
				       : 0;
	if (!unit)
		return false;
	*ret = now_ms - (int64_t)n * unit;
	return true;
}

static bool wanted(const struct filter *f, struct json_object *e)
{
	const char *type = jsonutil_get_str(e, "type");
	if (!f->steps && jsonutil_get_str(e, "source"))
		return false;
	if (f->n_types) {
		bool hit = false;
		for (size_t i = 0; i < f->n_types && !hit; i++)
			hit = type && !strcmp(type, f->types[i]);
		if (!hit)
			return false;
	}
	if (f->since_ms) {
		int64_t ms = 0;
		const char *at = jsonutil_get_str(e, "at");
		if (!at || !timeutil_parse_iso(at, &ms) || ms < f->since_ms)
			return false;
	}
	return true;
}

/* One line for people: time, task, type, then the details as key=value,
 * every value escaped (step names and errors come from the container). */
static void print_human(struct json_object *e)
{
	const char *at = jsonutil_get_str(e, "at");
	int64_t id = 0;
	jsonutil_get_int64(e, "taskId", &id);
	_cleanup_free_ char *type = textutil_escape_terminal(jsonutil_get_str(e, "type"));
	printf("%-24s %6lld  %-17s", at ? at : "?", (long long)id, type ? type : "?");
	json_object_object_foreach(e, key, val)
	{
		if (!strcmp(key, "at") || !strcmp(key, "taskId") || !strcmp(key, "type") ||
		    !strcmp(key, "source"))
			continue;
		const char *text =
			json_object_is_type(val, json_type_string)
				? json_object_get_string(val)
				: json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		_cleanup_free_ char *esc = textutil_escape_terminal(text);
		printf(" %s=%s", key, esc ? esc : "");
	}
	putchar('\n');
}

static int by_at(const void *x, const void *y)
{
	struct json_object *a = *(struct json_object *const *)x;
	struct json_object *b = *(struct json_object *const *)y;
	const char *sa = jsonutil_get_str(a, "at"), *sb = jsonutil_get_str(b, "at");
	/* Fixed-width UTC times (journal.c writes them all alike) sort as text. */
	return strcmp(sa ? sa : "", sb ? sb : "");
}

/* The events of the tasks (one, or every one when id == 0), filtered, in
 * time order.  A JSON array. */
static struct json_object *gather(const struct cmd_env *env, int64_t id, const struct filter *f)
{
	size_t n_ids = 1;
	_cleanup_free_ int64_t *ids = NULL;
	if (id == 0)
		ids = task_store_ids(env->store, &n_ids);
	struct json_object *out = json_object_new_array();
	for (size_t i = 0; i < n_ids; i++) {
		int64_t one = id ? id : ids[i];
		_cleanup_json_ struct json_object *events = NULL;
		if (journal_read(env->store, one, f->steps, &events, NULL) < 0)
			continue;
		for (size_t k = 0; k < json_object_array_length(events); k++) {
			struct json_object *e = json_object_array_get_idx(events, k);
			if (wanted(f, e))
				json_object_array_add(out, json_object_get(e));
		}
	}
	if (id == 0)
		json_object_array_sort(out, by_at);
	return out;
}

/* Events already printed while following, by the hash of their text. */
struct seen {
	uint64_t *h;
	size_t n, cap;
};

static uint64_t hash_text(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* True the first time this event is offered.  The hashes are kept sorted:
 * a follow re-offers every event twice a second. */
static bool first_sight(struct seen *s, struct json_object *e)
{
	uint64_t h = hash_text(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->h[mid] == h)
			return false;
		if (s->h[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap)
		s->h = xrealloc(s->h, (s->cap = s->cap ? s->cap * 2 : 256) * sizeof(*s->h));
	memmove(s->h + lo + 1, s->h + lo, (s->n - lo) * sizeof(*s->h));
	s->h[lo] = h;
	s->n++;
	return true;
}

static void print_one(struct json_object *e, bool line_json)
{
	if (line_json)
		printf("%s\n", json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
	else
		print_human(e);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int follow(const struct cmd_env *env, int64_t id, const struct filter *f)
{
	struct seen seen = {0};
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!interrupted) {
		_cleanup_json_ struct json_object *events = gather(env, id, f);
		for (size_t i = 0; i < json_object_array_length(events); i++) {
			struct json_object *e = json_object_array_get_idx(events, i);
			if (first_sight(&seen, e))
				print_one(e, f->json);
		}
		fflush(stdout);
		/* The journal is small and re-read whole: twice a second costs
		 * little and needs no watch of every iteration directory. */
		poll(NULL, 0, 500);
	}
	free(seen.h);
	return CMD_OK;
}

static int print_events(const struct cmd_env *env, int64_t id, const struct filter *f)
{
	_cleanup_json_ struct json_object *events = gather(env, id, f);
	size_t n = json_object_array_length(events);
	size_t from = f->limit && (size_t)f->limit < n ? n - (size_t)f->limit : 0;
	_cleanup_json_ struct json_object *shown = json_object_new_array();
	for (size_t i = from; i < n; i++) {
		size_t k = f->reverse ? n - 1 - (i - from) : i;
		json_object_array_add(shown, json_object_get(json_object_array_get_idx(events, k)));
	}
	if (f->json) {
		cmd_print_json(shown);
	} else if (json_object_array_length(shown) == 0) {
		printf("No events%s.\n", id ? " for this task" : "");
	} else {
		for (size_t i = 0; i < json_object_array_length(shown); i++)
			print_human(json_object_array_get_idx(shown, i));
	}
	return CMD_OK;
}

static bool add_types(const char *verb, const char *arg, void *ptr)
{
	(void)verb;
	struct filter *f = ptr;
	_cleanup_free_ char *copy = xstrdup(arg);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		f->types = xrealloc(f->types, (f->n_types + 1) * sizeof(*f->types));
		f->types[f->n_types++] = xstrdup(t);
	}
	return true;
}

static bool since_option(const char *verb, const char *arg, void *ptr)
{
	if (parse_since(arg, timeutil_now_ms(), ptr))
		return true;
	cmd_usage_error(verb, "--since '%s' is neither an RFC 3339 time nor an age like 10m", arg);
	return false;
}

int cmd_events(int argc, char **argv)
{
	struct filter f = {.steps = true};
	bool follow_mode = false, no_steps = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("follow", 'f', &follow_mode,
			    "keep printing new events until interrupted (Ctrl+C)"),
		CMDOPT_UINT("limit", 'n', &f.limit, 1000000, "N",
			    "only the last N events (with --reverse: the newest N)"),
		CMDOPT_FLAG("reverse", 'r', &f.reverse, "newest first"),
		CMDOPT_CALL("type", 't', add_types, &f, "T",
			    "only events of type T (repeat, or T1,T2)"),
		CMDOPT_CALL("since", 0, since_option, &f.since_ms, "TIME",
			    "only events at or after TIME: RFC 3339\n"
			    "(2026-11-25T14:00:00Z) or an age (30s, 10m, 2h, 1d)"),
		CMDOPT_FLAG("no-steps", 0, &no_steps, "leave out the runner's step events"),
		CMDOPT_FLAG("json", 0, &f.json,
			    "a JSON array (with --follow: one JSON object per line)"),
		CMDOPT_END,
	};
	int rc = cmdopt_parse(&spec, opts, argc, argv);
	if (rc >= 0)
		return rc;
	f.steps = !no_steps;
	int64_t id = 0;
	if (optind < argc && !cmd_parse_id("events", argv[optind++], &id))
		return CMD_USAGE;
	if (optind < argc)
		return cmd_usage_error("events", "unexpected argument '%s'", argv[optind]);

	struct cmd_env env;
	rc = cmd_open(&env, f.json);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	if (id) {
		struct task *t = NULL;
		if (task_store_load_id(env.store, id, &t, &err) < 0) {
			rc = cmd_fail(f.json, CMD_FAILED, err);
			goto out;
		}
		task_free(t);
	}
	rc = follow_mode ? follow(&env, id, &f) : print_events(&env, id, &f);
out:
	for (size_t i = 0; i < f.n_types; i++)
		free(f.types[i]);
	free(f.types);
	cmd_env_release(&env);
	return rc;
}
