/* bench/watch_floor.c - the floor of `rover list --watch` per changed task:
 * read and parse one task's description.json (task_store_load_id) and its
 * iteration's status.json, as a watch that updates one task must at least
 * do.  Prints the CPU time per task (CLOCK_PROCESS_CPUTIME_ID), over
 * ITERATIONS reads of tasks 1, 2, ... of the store.  Run by
 * bench/watch_cpu.sh; asserts nothing.
 *
 *     watch_floor STORE ITERATIONS */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <json-c/json.h>

#include "supervisor/lib/task_store.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: watch_floor STORE ITERATIONS\n");
		return 2;
	}
	struct task_store *st = NULL;
	struct rv_error *err = NULL;
	if (task_store_open(argv[1], &st, &err) < 0) {
		fprintf(stderr, "watch_floor: %s\n", rv_error_msg(err));
		return 1;
	}
	long n = atol(argv[2]);
	double t0 = cpu_s();
	for (long i = 0; i < n; i++) {
		int64_t id = 1 + i % 1000;
		struct task *t = NULL;
		if (task_store_load_id(st, id, &t, &err) < 0) {
			fprintf(stderr, "watch_floor: %s\n", rv_error_msg(err));
			return 1;
		}
		char *path = task_store_iteration_file(st, id, 1, TASK_FILE_STATUS);
		struct json_object *s = json_object_from_file(path);
		json_object_put(s);
		free(path);
		task_free(t);
	}
	printf("floor: reading and parsing one task (description.json + status.json): %.3f ms CPU\n",
	       (cpu_s() - t0) * 1000.0 / (double)n);
	task_store_free(st);
	return 0;
}
