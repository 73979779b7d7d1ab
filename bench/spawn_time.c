/*
 * spawn_time - the median wall time of running a command, for start-up
 * figures (bench/startup.sh): posix_spawn + waitpid, stdout and stderr to
 * /dev/null, RUNS runs after 5 warm-up runs.
 *
 *   spawn_time RUNS CMD [ARGS...]    prints "median_us N"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int by_value(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static long long run_once(char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	long long t0 = now_us();
	pid_t pid;
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		perror(argv[0]);
		exit(1);
	}
	int st;
	waitpid(pid, &st, 0);
	long long dt = now_us() - t0;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "spawn_time: %s failed\n", argv[0]);
		exit(1);
	}
	return dt;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawn_time RUNS CMD [ARGS...]\n");
		return 2;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		runs = 1;
	for (int i = 0; i < 5; i++)
		run_once(argv + 2);
	long long *t = calloc((size_t)runs, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < runs; i++)
		t[i] = run_once(argv + 2);
	qsort(t, (size_t)runs, sizeof(*t), by_value);
	printf("median_us %lld\n", t[runs / 2]);
	free(t);
	return 0;
}
