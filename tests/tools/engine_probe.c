/*
 * engine_probe - drive rover's engine client (supervisor/lib/engine*.h) from
 * integration tests against real engines.
 *
 *   engine_probe [-t REQUEST_MS] ENGINE COMMAND [ARGS...]
 *
 * ENGINE is a value as for `rover --engine` (docker, podman, unix:///path,
 * tcp://host:port), or "discover" for the discovery order of the contract
 * (ROVER_ENGINE, DOCKER_HOST, CONTAINER_HOST, default sockets).
 *
 * Commands:
 *   ping                          "ok"
 *   kind                          "<docker|podman> <api version> <endpoint uri>"
 *   create [OPTS] IMAGE [CMD...]  the new container's id
 *   run [OPTS] IMAGE [CMD...]     create, start, wait: "exit <code>" and "id <id>";
 *                                 timings on stderr
 *   run-events [OPTS] IMAGE [CMD...]
 *                                 as run, but learns of the exit from the event
 *                                 stream: "die <code> <ms after start returned>"
 *   start ID | wait ID | kill ID SIGNO | stop ID SECONDS | rm [-f] ID
 *   inspect ID                    key=value lines (status, running, exit_code, ...)
 *   logs [-f] ID                  the container's stdout to stdout, stderr to stderr
 *   list [LABEL...]               "<id> <name> <state>" per container with all labels
 *   events [--label L]... [--action A]... [--count N] [--timeout MS]
 *                                 "<action> <id> <name> exit=<code|->" per event;
 *                                 exit 0 after N events, 3 on timeout;
 *                                 ENGINE_PROBE_EVENT_TIME=1 puts the engine's
 *                                 own time of the event (epoch ms) first
 *   bench N IMAGE                 N pings and N create+start+wait+rm: medians
 * OPTS: --name N --label K=V --bind S:D[:ro] --env K=V --entrypoint ARG
 *       --user U --workdir D --network MODE (default none) --stop-signal SIG
 *       --stop-timeout SECONDS
 *
 * On failure: "engine_probe: <message>" and "error code=<ENAME> http=<status>"
 * on stderr, exit 1.  Timings go to stderr ("timing create_ms=..."; for
 * run-events also event_lag_ms, receipt minus the engine's event time).
 * ENGINE_PROBE_NO_SINCE=1 makes run-events subscribe without the replay
 * from the open time (engine_events.h), for measurements.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/engine_logs.h"

#define MAX_ARGS 64

static int fail(struct rv_error *err)
{
	fflush(stdout);
	const char *name = err ? strerrorname_np(err->code) : NULL;
	fprintf(stderr, "engine_probe: %s\n", rv_error_msg(err));
	fprintf(stderr, "error code=%s http=%d\n", name ? name : "?", err ? err->http_status : 0);
	rv_error_free(err);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: engine_probe [-t MS] ENGINE COMMAND [ARGS...] (see the source)\n");
	return 2;
}

struct opts {
	struct engine_create_spec spec;
	const char *labels[MAX_ARGS + 2];
	const char *binds[MAX_ARGS + 1];
	const char *env[MAX_ARGS + 1];
	const char *entrypoint[MAX_ARGS + 1];
	size_t nl, nb, ne, nep;
};

/* Parse OPTS, then IMAGE and CMD...; returns the index after, or -1. */
static int parse_opts(int argc, char **argv, int i, struct opts *o)
{
	o->spec = (struct engine_create_spec){.network_mode = "none", .stop_timeout = -1};
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return -1;
		if (o->nl >= MAX_ARGS || o->nb >= MAX_ARGS || o->ne >= MAX_ARGS ||
		    o->nep >= MAX_ARGS)
			return -1;
		if (!strcmp(k, "--name"))
			o->spec.name = v;
		else if (!strcmp(k, "--label"))
			o->labels[o->nl++] = v;
		else if (!strcmp(k, "--bind"))
			o->binds[o->nb++] = v;
		else if (!strcmp(k, "--env"))
			o->env[o->ne++] = v;
		else if (!strcmp(k, "--entrypoint"))
			o->entrypoint[o->nep++] = v;
		else if (!strcmp(k, "--user"))
			o->spec.user = v;
		else if (!strcmp(k, "--workdir"))
			o->spec.working_dir = v;
		else if (!strcmp(k, "--network"))
			o->spec.network_mode = v;
		else if (!strcmp(k, "--stop-signal"))
			o->spec.stop_signal = v;
		else if (!strcmp(k, "--stop-timeout"))
			o->spec.stop_timeout = atoi(v);
		else
			return -1;
	}
	if (i >= argc)
		return -1;
	o->spec.image = argv[i++];
	if (o->nl)
		o->spec.labels = o->labels;
	if (o->nb)
		o->spec.binds = o->binds;
	if (o->ne)
		o->spec.env = o->env;
	if (o->nep)
		o->spec.entrypoint = o->entrypoint;
	if (i < argc)
		o->spec.cmd = (const char *const *)&argv[i];
	return argc;
}

static int on_log(void *ud, enum engine_stream stream, const char *data, size_t len,
		  struct rv_error **err)
{
	(void)ud;
	FILE *f = stream == ENGINE_STREAM_STDOUT ? stdout : stderr;
	if (fwrite(data, 1, len, f) != len)
		return rv_error_errno(err, EIO, "cannot write the logs");
	fflush(f);
	return 0;
}

static void print_info(const struct engine_container_info *in)
{
	printf("id=%s\nname=%s\nimage=%s\nstatus=%s\nrunning=%d\npaused=%d\noom_killed=%d\n"
	       "dead=%d\nexit_code=%d\npid=%d\nstarted_at=%s\nfinished_at=%s\n"
	       "started_at_ms=%lld\nfinished_at_ms=%lld\nerror=%s\ntty=%d\n",
	       in->id, in->name ? in->name : "", in->image ? in->image : "", in->status,
	       in->running, in->paused, in->oom_killed, in->dead, in->exit_code, in->pid,
	       in->started_at ? in->started_at : "", in->finished_at ? in->finished_at : "",
	       (long long)in->started_at_ms, (long long)in->finished_at_ms,
	       in->error ? in->error : "", in->tty);
	for (size_t i = 0; i < in->n_labels; i++)
		printf("label.%s=%s\n", in->labels[i].key, in->labels[i].value);
}

struct ev_ctx {
	const char *want_id; /* run-events: the container to wait for */
	int64_t t0;
	int count;
	bool done;
	int exit_code;
	int64_t latency;
	int64_t lag_ms; /* receipt - the engine's event time */
};

static int on_event(void *ud, const struct engine_event *ev, struct rv_error **err)
{
	(void)err;
	struct ev_ctx *c = ud;
	if (c->want_id) {
		if (strcmp(ev->action, "die") == 0 && strcmp(ev->id, c->want_id) == 0) {
			c->done = true;
			c->exit_code = ev->has_exit_code ? ev->exit_code : -1;
			c->latency = timeutil_mono_ms() - c->t0;
			c->lag_ms = ev->time_ns ? timeutil_now_ms() - ev->time_ns / 1000000 : -1;
		}
		return 0;
	}
	/* The engine's time, not the receipt's: a loaded machine delivers
	 * events late and in bursts, which would make two starts 2 s apart
	 * look simultaneous. */
	const char *with_time = getenv("ENGINE_PROBE_EVENT_TIME");
	if (with_time && !strcmp(with_time, "1"))
		printf("%lld ", (long long)(ev->time_ns / 1000000));
	if (ev->has_exit_code)
		printf("%s %s %s exit=%d\n", ev->action, ev->id, ev->name ? ev->name : "-",
		       ev->exit_code);
	else
		printf("%s %s %s exit=-\n", ev->action, ev->id, ev->name ? ev->name : "-");
	fflush(stdout);
	c->count++;
	return 0;
}

static int cmd_events(struct engine *e, int argc, char **argv, int i)
{
	const char *labels[MAX_ARGS + 1] = {0}, *actions[MAX_ARGS + 1] = {0};
	size_t nl = 0, na = 0;
	int count = 1, timeout = 10000;
	for (; i + 1 < argc; i += 2) {
		if (nl >= MAX_ARGS || na >= MAX_ARGS)
			return usage();
		if (!strcmp(argv[i], "--label"))
			labels[nl++] = argv[i + 1];
		else if (!strcmp(argv[i], "--action"))
			actions[na++] = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atoi(argv[i + 1]);
		else
			return usage();
	}
	struct engine_events_filter f = {.labels = nl ? labels : NULL,
					 .actions = na ? actions : NULL};
	struct ev_ctx c = {0};
	struct engine_events *s = NULL;
	struct rv_error *err = NULL;
	if (engine_events_open(e, &f, on_event, &c, &s, &err) < 0)
		return fail(err);
	printf("listening\n");
	fflush(stdout);
	int64_t deadline = timeutil_mono_ms() + timeout;
	while (c.count < count) {
		int64_t left = deadline - timeutil_mono_ms();
		if (left <= 0)
			break;
		if (engine_events_poll(s, NULL, 0, (int)left, &err) < 0) {
			engine_events_free(s);
			return fail(err);
		}
	}
	engine_events_free(s);
	return c.count >= count ? 0 : 3;
}

static int cmd_run(struct engine *e, struct opts *o, bool with_events)
{
	struct rv_error *err = NULL;
	_cleanup_free_ char *id = NULL;
	_cleanup_free_ char *run_label = NULL;
	struct engine_events *s = NULL;
	struct ev_ctx c = {0};
	int code = 0;
	if (with_events) {
		/* a label of this run only, so the filter sees no other container */
		run_label = xasprintf("rover.test.events=%d-%lld", getpid(),
				      (long long)timeutil_now_ms());
		o->labels[o->nl++] = run_label;
		o->labels[o->nl] = NULL;
		o->spec.labels = o->labels;
		const char *const actions[] = {"die", NULL};
		const char *const labels[] = {run_label, NULL};
		struct engine_events_filter f = {.actions = actions, .labels = labels};
		/* for measurements: without the replay from the open time */
		if (getenv("ENGINE_PROBE_NO_SINCE") && *getenv("ENGINE_PROBE_NO_SINCE"))
			f.since_ms = ENGINE_EVENTS_SINCE_NONE;
		if (engine_events_open(e, &f, on_event, &c, &s, &err) < 0)
			return fail(err);
	}
	int64_t t0 = timeutil_mono_ms();
	if (engine_container_create(e, &o->spec, &id, &err) < 0)
		goto out;
	int64_t t1 = timeutil_mono_ms();
	if (engine_container_start(e, id, &err) < 0)
		goto out;
	int64_t t2 = timeutil_mono_ms();
	if (with_events) {
		c.want_id = id;
		c.t0 = t2;
		while (!c.done && timeutil_mono_ms() - t2 < 30000)
			if (engine_events_poll(s, NULL, 0, 1000, &err) < 0)
				goto out;
		if (!c.done) {
			rv_error_set(&err, ETIMEDOUT, "no die event for %s within 30 s", id);
			goto out;
		}
		printf("die %d %lld\nid %s\n", c.exit_code, (long long)c.latency, id);
		fflush(stdout);
		fprintf(stderr,
			"timing create_ms=%lld start_ms=%lld event_ms=%lld event_lag_ms=%lld\n",
			(long long)(t1 - t0), (long long)(t2 - t1), (long long)c.latency,
			(long long)c.lag_ms);
	} else {
		if (engine_container_wait(e, id, ENGINE_WAIT_NOT_RUNNING, 0, &code, &err) < 0)
			goto out;
		int64_t t3 = timeutil_mono_ms();
		printf("exit %d\nid %s\n", code, id);
		fflush(stdout);
		fprintf(stderr, "timing create_ms=%lld start_ms=%lld wait_ms=%lld total_ms=%lld\n",
			(long long)(t1 - t0), (long long)(t2 - t1), (long long)(t3 - t2),
			(long long)(t3 - t0));
	}
out:
	engine_events_free(s);
	if (err) {
		if (id)
			printf("id %s\n", id);
		fflush(stdout);
		return fail(err);
	}
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static int cmd_bench(struct engine *e, int n, const char *image)
{
	if (n < 1 || n > 10000)
		return usage();
	struct rv_error *err = NULL;
	long long *us = xcalloc((size_t)n, sizeof(*us));
	long long *cyc = xcalloc((size_t)n, sizeof(*cyc));
	struct timespec a, b;
	for (int i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (engine_ping(e, &err) < 0)
			goto out;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	const char *const cmd[] = {"sh", "-c", "exit 7", NULL};
	const char *const labels[] = {"rover.test=1", NULL};
	struct engine_create_spec spec = {.image = image,
					  .cmd = cmd,
					  .labels = labels,
					  .network_mode = "none",
					  .stop_timeout = -1};
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *id = NULL;
		int code = -1;
		int64_t t0 = timeutil_mono_ms();
		if (engine_container_create(e, &spec, &id, &err) < 0 ||
		    engine_container_start(e, id, &err) < 0 ||
		    engine_container_wait(e, id, ENGINE_WAIT_NOT_RUNNING, 0, &code, &err) < 0)
			goto out;
		cyc[i] = timeutil_mono_ms() - t0;
		if (code != 7) {
			rv_error_set(&err, EPROTO, "bench container exited %d, not 7", code);
			goto out;
		}
		if (engine_container_remove(e, id, true, &err) < 0)
			goto out;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp_ll);
	qsort(cyc, (size_t)n, sizeof(*cyc), cmp_ll);
	printf("ping_median_us %lld\nping_p90_us %lld\ncycle_median_ms %lld\ncycle_p90_ms %lld\n",
	       us[n / 2], us[(n * 9) / 10], cyc[n / 2], cyc[(n * 9) / 10]);
out:
	free(us);
	free(cyc);
	return err ? fail(err) : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	int i = 1;
	long request_ms = 0;
	if (i + 1 < argc && !strcmp(argv[i], "-t")) {
		request_ms = atol(argv[i + 1]);
		i += 2;
	}
	if (argc - i < 2)
		return usage();
	const char *engine_value = argv[i++];
	const char *cmd = argv[i++];

	struct rv_error *err = NULL;
	struct engine *e = NULL;
	int r = !strcmp(engine_value, "discover") ? engine_discover(NULL, &e, &err)
						  : engine_open(engine_value, &e, &err);
	if (r < 0)
		return fail(err);
	if (request_ms > 0)
		engine_set_timeouts(e, 0, request_ms);

	int rc = 0;
	const char *arg = i < argc ? argv[i] : NULL;
	if (!strcmp(cmd, "ping")) {
		rc = engine_ping(e, &err) < 0 ? fail(TAKE_PTR(err)) : (puts("ok"), 0);
	} else if (!strcmp(cmd, "kind")) {
		printf("%s %s %s\n", engine_kind_name(engine_get_kind(e)),
		       engine_get_api_version(e), engine_get_uri(e));
	} else if (!strcmp(cmd, "create") || !strcmp(cmd, "run") || !strcmp(cmd, "run-events")) {
		struct opts o = {0};
		if (parse_opts(argc, argv, i, &o) < 0) {
			rc = usage();
		} else if (!strcmp(cmd, "create")) {
			_cleanup_free_ char *id = NULL;
			rc = engine_container_create(e, &o.spec, &id, &err) < 0
				     ? fail(TAKE_PTR(err))
				     : (puts(id), 0);
		} else {
			rc = cmd_run(e, &o, !strcmp(cmd, "run-events"));
		}
	} else if (!strcmp(cmd, "start") && arg) {
		rc = engine_container_start(e, arg, &err) < 0 ? fail(TAKE_PTR(err)) : 0;
	} else if (!strcmp(cmd, "wait") && arg) {
		int code = 0;
		rc = engine_container_wait(e, arg, ENGINE_WAIT_NOT_RUNNING, 0, &code, &err) < 0
			     ? fail(TAKE_PTR(err))
			     : (printf("exit %d\n", code), 0);
	} else if (!strcmp(cmd, "kill") && arg && i + 1 < argc) {
		rc = engine_container_kill(e, arg, atoi(argv[i + 1]), &err) < 0
			     ? fail(TAKE_PTR(err))
			     : 0;
	} else if (!strcmp(cmd, "stop") && arg && i + 1 < argc) {
		rc = engine_container_stop(e, arg, atoi(argv[i + 1]), &err) < 0
			     ? fail(TAKE_PTR(err))
			     : 0;
	} else if (!strcmp(cmd, "rm") && arg) {
		bool force = !strcmp(arg, "-f");
		const char *id = force ? (i + 1 < argc ? argv[i + 1] : NULL) : arg;
		rc = !id                                               ? usage()
		     : engine_container_remove(e, id, force, &err) < 0 ? fail(TAKE_PTR(err))
								       : 0;
	} else if (!strcmp(cmd, "inspect") && arg) {
		struct engine_container_info in = {0};
		if (engine_container_inspect(e, arg, &in, &err) < 0) {
			rc = fail(TAKE_PTR(err));
		} else {
			print_info(&in);
			engine_container_info_release(&in);
		}
	} else if (!strcmp(cmd, "logs") && arg) {
		bool follow = !strcmp(arg, "-f");
		const char *id = follow ? (i + 1 < argc ? argv[i + 1] : NULL) : arg;
		rc = !id ? usage()
		     : engine_container_logs(e, id, follow ? ENGINE_LOGS_FOLLOW : 0, on_log, NULL,
					     &err) < 0
			     ? fail(TAKE_PTR(err))
			     : 0;
	} else if (!strcmp(cmd, "list")) {
		struct engine_container_summary *list = NULL;
		size_t n = 0;
		if (engine_container_list(e, (const char *const *)&argv[i], &list, &n, &err) < 0) {
			rc = fail(TAKE_PTR(err));
		} else {
			for (size_t k = 0; k < n; k++)
				printf("%s %s %s\n", list[k].id, list[k].name, list[k].state);
			engine_container_list_free(list, n);
		}
	} else if (!strcmp(cmd, "events")) {
		rc = cmd_events(e, argc, argv, i);
	} else if (!strcmp(cmd, "bench") && arg && i + 1 < argc) {
		rc = cmd_bench(e, atoi(arg), argv[i + 1]);
	} else {
		rc = usage();
	}
	engine_free(e);
	return rc;
}
