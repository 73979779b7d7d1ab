/* bench/classify.c - time to classify an agent's output (classify.h) as the
 * output grows: 16 KiB, 64 KiB, 1 MiB and 16 MiB of a few kinds of text, among them
 * the pathological ones of issue 15 (one long line of "credit " took 2-3 s
 * for 64 KiB when the conjunctions were ".*" regular expressions).
 * Prints, per size and text, the best of a few runs and the time per byte of
 * the window the rules read (the last 64 KiB) and of the whole text.  Run by
 * bench/classify.sh; asserts nothing. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-runner/classify.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *fill(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(n + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		s[i] = unit[i % ul];
	s[n] = '\0';
	return s;
}

/* One classification as the runner does it after a failed agent step. */
static double classify_once(const char *out, const char *err)
{
	struct classify_result r;
	int64_t reset;
	double t0 = now_s();
	classify_agent_failure(out, err, false, &r);
	(void)classify_is_retryable(err, NULL);
	(void)classify_reset_time(err, INT64_C(1795335467123), &reset);
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 3;
	static const struct {
		const char *name, *unit;
	} texts[] = {
		{"credit-line", "credit "}, /* one line, no newline: the case */
		{"model-line", "model "},
		{"api-key-line", "api key "},
		{"log-lines", "tool call: Read src/main.c (412 lines) ok; thinking...\n"},
		{"json-lines", "{\"type\":\"assistant\",\"message\":{\"content\":\"ok\"}}\n"},
		{"resets-lines", "resets in 0s, retry after 1m; "},
	};
	static const size_t sizes[] = {16u << 10, 64u << 10, 1u << 20, 16u << 20};
	printf("%-14s %10s %12s %14s %14s\n", "text", "bytes", "best ms", "ns/window B", "ns/byte");
	(void)classify_once("x", "y"); /* the patterns are compiled on first use */
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			char *err = fill(texts[t].unit, sizes[z]);
			char *out = fill(texts[t].unit, sizes[z] / 4);
			double best = 1e9;
			for (int i = 0; i < runs; i++) {
				double d = classify_once(out, err);
				if (d < best)
					best = d;
			}
			size_t window = sizes[z] < (64u << 10) ? sizes[z] : (64u << 10);
			printf("%-14s %10zu %12.3f %14.2f %14.4f\n", texts[t].name, sizes[z],
			       best * 1e3, best * 1e9 / (double)window,
			       best * 1e9 / (double)sizes[z]);
			free(out);
			free(err);
		}
	}
	return 0;
}
