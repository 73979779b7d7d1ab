/*
 * bare_lifecycle - the baseline of bench/task_overhead.sh: what one container
 * run costs through the Engine API alone, with rover's own engine client and
 * nothing else (no store, no worktree, no runner).
 *
 *   bare_lifecycle ENGINE IMAGE RUNS [CMD...]
 *
 * Each run: create (network none, label rover.bench=bare), start, wait until
 * it is not running, remove.  CMD defaults to /bin/sh -c 'echo hello'.
 * Prints one "run <i> <ms>" line per run on stderr and, on stdout,
 * "median_ms <m>" and "min_ms <m>".  Exit 1 (with the error) when a run fails
 * or the command exits non-zero.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"

static int cmp_ms(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int one_run(struct engine *e, const char *image, const char *const *cmd,
		   struct rv_error **err)
{
	const char *labels[] = {"rover.bench=bare", NULL};
	struct engine_create_spec spec = {
		.image = image,
		.cmd = cmd,
		.labels = labels,
		.network_mode = "none",
		.stop_timeout = -1,
	};
	_cleanup_free_ char *id = NULL;
	int r = engine_container_create(e, &spec, &id, err);
	if (r < 0)
		return r;
	int code = -1;
	r = engine_container_start(e, id, err);
	if (r == 0)
		r = engine_container_wait(e, id, ENGINE_WAIT_NOT_RUNNING, 60000, &code, err);
	int rm = engine_container_remove(e, id, r < 0, r < 0 ? NULL : err);
	if (r < 0)
		return r;
	if (rm < 0)
		return rm;
	if (code != 0)
		return rv_error_set(err, EIO, "the command exited %d", code);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: bare_lifecycle ENGINE IMAGE RUNS [CMD...]\n");
		return 2;
	}
	static const char *const def_cmd[] = {"/bin/sh", "-c", "echo hello", NULL};
	const char *const *cmd = argc > 4 ? (const char *const *)&argv[4] : def_cmd;
	int runs = atoi(argv[3]);
	_cleanup_error_ struct rv_error *err = NULL;
	struct engine *e = NULL;
	if (engine_open(argv[1], &e, &err) < 0) {
		fprintf(stderr, "bare_lifecycle: %s\n", rv_error_msg(err));
		return 1;
	}
	int64_t *ms = xcalloc((size_t)runs, sizeof(*ms));
	int rc = 0;
	for (int i = 0; i < runs; i++) {
		int64_t t0 = timeutil_mono_ms();
		if (one_run(e, argv[2], cmd, &err) < 0) {
			fprintf(stderr, "bare_lifecycle: run %d: %s\n", i + 1, rv_error_msg(err));
			rc = 1;
			break;
		}
		ms[i] = timeutil_mono_ms() - t0;
		fprintf(stderr, "run %d %lld\n", i + 1, (long long)ms[i]);
	}
	if (rc == 0) {
		qsort(ms, (size_t)runs, sizeof(*ms), cmp_ms);
		int64_t med = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
		printf("median_ms %lld\nmin_ms %lld\n", (long long)med, (long long)ms[0]);
	}
	free(ms);
	engine_free(e);
	return rc;
}
