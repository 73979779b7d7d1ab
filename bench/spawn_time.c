/*
 * spawn_time - the median wall time of running a command, for start-up
 * figures (bench/startup.sh): posix_spawn + waitpid, stdout and stderr to
 * /dev/null, RUNS runs after 5 warm-up runs.
 *
 *   spawn_time RUNS CMD [ARGS...]    prints "median_us N"
 *   spawn_time RUNS -- CMD1 [ARGS...] -- CMD2 [ARGS...] ...
 *                                    prints "median_us N" per command, in
 *                                    order.  The commands take turns, one
 *                                    run each per round, so a change in the
 *                                    machine's load during the measurement
 *                                    falls on all of them alike and their
 *                                    ratios stay meaningful.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define MAX_CMDS 32

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawn_time RUNS CMD [ARGS...]\n"
				"       spawn_time RUNS -- CMD1 [ARGS...] -- CMD2 [ARGS...] ...\n");
		return 2;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		runs = 1;
	char **cmds[MAX_CMDS];
	int ncmds = 0;
	if (strcmp(argv[2], "--") != 0) {
		cmds[ncmds++] = argv + 2;
	} else {
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--") != 0)
				continue;
			argv[i] = NULL; /* ends the previous command's argv */
			if (i + 1 < argc && strcmp(argv[i + 1], "--") != 0) {
				if (ncmds == MAX_CMDS) {
					fprintf(stderr, "spawn_time: at most %d commands\n",
						MAX_CMDS);
					return 2;
				}
				cmds[ncmds++] = argv + i + 1;
			}
		}
	}
	if (ncmds == 0) {
		fprintf(stderr, "spawn_time: no command\n");
		return 2;
	}
	for (int c = 0; c < ncmds; c++)
		for (int i = 0; i < 5; i++)
			run_once(cmds[c]);
	long long *t = calloc((size_t)runs * (size_t)ncmds, sizeof(*t));
	if (!t)
		return 1;
	for (int i = 0; i < runs; i++)
		for (int c = 0; c < ncmds; c++)
			t[(size_t)c * (size_t)runs + (size_t)i] = run_once(cmds[c]);
	for (int c = 0; c < ncmds; c++) {
		long long *v = t + (size_t)c * (size_t)runs;
		qsort(v, (size_t)runs, sizeof(*v), by_value);
		printf("median_us %lld\n", v[runs / 2]);
	}
	free(t);
	return 0;
}
