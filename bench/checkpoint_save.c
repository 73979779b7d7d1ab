/*
 * checkpoint_save: median latency of checkpoint_store_save() (temp, write,
 * fsync, rename, fsync dir, read back and verify) beside a bare
 * write+fsync+rename of the same bytes, in the same directory.
 *
 *   build/bench/checkpoint_save [DIR] [SAVES] [STEPS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent-runner/checkpoint.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : "/tmp";
	int saves = argc > 2 ? atoi(argv[2]) : 300;
	int steps = argc > 3 ? atoi(argv[3]) : 10;
	_cleanup_free_ char *dir = xasprintf("%s/rover-bench-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	_cleanup_free_ char *path = fileio_join(dir, "checkpoint.json");
	struct checkpoint_store *st = checkpoint_store_new(
		path, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL);
	char value[2048];
	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < steps; i++) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_str(o, "summary", value);
		jsonutil_set_str(o, "exit_code", "0");
		char id[32];
		snprintf(id, sizeof(id), "step-%d", i);
		if (checkpoint_store_add_completed(st, id, o, NULL) < 0) {
			fprintf(stderr, "checkpoint_save: cannot save in %s\n", dir);
			return 1;
		}
	}
	double *a = calloc((size_t)saves, sizeof(double));
	double *b = calloc((size_t)saves, sizeof(double));
	for (int i = 0; i < saves; i++) {
		double t0 = now_ms();
		if (checkpoint_store_save(st, NULL) < 0)
			return 1;
		a[i] = now_ms() - t0;
	}
	_cleanup_free_ char *bytes = NULL;
	size_t len = 0;
	fileio_read_bounded(path, 1 << 26, &bytes, &len, NULL);
	_cleanup_free_ char *tmp = fileio_join(dir, "bare.tmp");
	_cleanup_free_ char *dst = fileio_join(dir, "bare.json");
	for (int i = 0; i < saves; i++) {
		double t0 = now_ms();
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || fileio_write_all(fd, bytes, len) < 0 || fsync(fd) < 0)
			return 1;
		close(fd);
		if (rename(tmp, dst) < 0)
			return 1;
		b[i] = now_ms() - t0;
	}
	/* Baseline B: the same plus the directory fsync that makes the rename
	 * itself durable (the part a bare rename leaves to luck). */
	double *c = calloc((size_t)saves, sizeof(double));
	for (int i = 0; i < saves; i++) {
		double t0 = now_ms();
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || fileio_write_all(fd, bytes, len) < 0 || fsync(fd) < 0)
			return 1;
		close(fd);
		if (rename(tmp, dst) < 0 || fileio_fsync_dir(dir, NULL) < 0)
			return 1;
		c[i] = now_ms() - t0;
	}
	double ma = median(a, saves), mb = median(b, saves), mc = median(c, saves);
	free(c);
	printf("checkpoint size: %zu bytes (%d steps), %d saves each, dir %s\n", len, steps, saves,
	       base);
	printf("checkpoint_store_save median: %.3f ms\n", ma);
	printf("bare write+fsync+rename median: %.3f ms\n", mb);
	printf("bare write+fsync+rename+fsync(dir) median: %.3f ms\n", mc);
	printf("ratio (checkpoint save / bare write+fsync+rename): %.2f\n", mb > 0 ? ma / mb : 0.0);
	printf("ratio (checkpoint save / bare incl. dir fsync): %.2f\n", mc > 0 ? ma / mc : 0.0);
	checkpoint_store_free(st);
	fileio_remove_tree(dir, NULL);
	free(a);
	free(b);
	return 0;
}
