/*
 * workflow_parse: how long a 1 MiB workflow of each hostile shape takes to
 * parse or be refused, against a 1 MiB workflow of ordinary steps (the
 * baseline).  Goal (untrusted-input issue): every shape under one second.
 *
 *   build/bench/workflow_parse [REPEAT]     (bench/workflow_parse.sh)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-runner/workflow.h"
#include "common/cleanup.h"

#define TARGET (1024 * 1024 - 64)

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s)
{
	size_t l = strlen(s);
	if (b->n + l + 1 > b->cap) {
		b->cap = (b->n + l + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, l + 1);
	b->n += l;
}

static const char head[] = "version: '1.0'\nname: shape\nsteps:\n";

/* Each generator fills b with about TARGET bytes of one shape. */
static void ordinary_steps(struct buf *b)
{
	/* WORKFLOW_MAX_STEPS steps with ~1 KiB commands: as big as a real
	 * workflow can be and still be accepted. */
	put(b, head);
	char pad[1001];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	char line[1200];
	for (int i = 0; i < WORKFLOW_MAX_STEPS && b->n < TARGET - sizeof(line); i++) {
		snprintf(line, sizeof(line),
			 "  - id: s%d\n    type: command\n    command: echo %s\n", i, pad);
		put(b, line);
	}
}

static void repeat_until(struct buf *b, const char *prefix, const char *unit, const char *tail)
{
	put(b, prefix);
	while (b->n + strlen(unit) + strlen(tail) < TARGET)
		put(b, unit);
	put(b, tail);
}

static void flow_seq_nest(struct buf *b)
{
	repeat_until(b, "x: ", "[", "\n");
}
static void flow_map_nest(struct buf *b)
{
	repeat_until(b, "x: ", "{a: ", "\n");
}
static void block_seq_nest(struct buf *b)
{
	repeat_until(b, "x:\n", "- ", "1\n");
}
static void wide_flow_seq(struct buf *b)
{
	repeat_until(b, "x: [", "1,", "1]\n");
}
static void many_keys(struct buf *b)
{
	put(b, head);
	put(b, "  - id: a\n    type: command\n    command: echo\n    env:\n");
	char line[64];
	for (int i = 0; b->n < TARGET - 64; i++) {
		snprintf(line, sizeof(line), "      k%d: v\n", i);
		put(b, line);
	}
}
static void long_scalar(struct buf *b)
{
	put(b, head);
	put(b, "  - id: a\n    type: command\n    command: \"");
	while (b->n < TARGET - 8)
		put(b, "aaaaaaaaaaaaaaaa");
	put(b, "\"\n");
}
static void aliases(struct buf *b)
{
	/* A "billion laughs": every level names the previous one ten times. */
	put(b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	char line[128];
	for (int i = 1; b->n < TARGET - 128; i++) {
		snprintf(line, sizeof(line), "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
			 i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		put(b, line);
	}
}
static void deep_indent(struct buf *b)
{
	put(b, "x:\n");
	char line[4096];
	for (int d = 1; b->n < TARGET - 4096 && d < 2000; d++) {
		memset(line, ' ', (size_t)d);
		snprintf(line + d, sizeof(line) - (size_t)d, "k%d:\n", d);
		put(b, line);
	}
	while (b->n < TARGET - 16)
		put(b, "#padding padding\n");
}
static void unclosed_quotes(struct buf *b)
{
	repeat_until(b, "x: '", "it''s ", "\n");
}
static void random_bytes(struct buf *b)
{
	srand(7);
	b->cap = TARGET + 1;
	b->p = xrealloc(b->p, b->cap);
	for (b->n = 0; b->n < TARGET; b->n++)
		b->p[b->n] = (char)(rand() & 0xff);
	b->p[b->n] = '\0';
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Best of repeat runs, in ms; *ret_ok tells whether it parsed. */
static double time_parse(const struct buf *b, int repeat, int *ret_ok)
{
	double best = 1e18;
	for (int i = 0; i < repeat; i++) {
		struct workflow *wf = NULL;
		struct rv_error *err = NULL;
		double t0 = now_ms();
		int r = workflow_parse(b->p, b->n, "shape", &wf, &err);
		double dt = now_ms() - t0;
		*ret_ok = r == 0;
		workflow_free(wf);
		rv_error_free(err);
		if (dt < best)
			best = dt;
	}
	return best;
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 3;
	if (repeat < 1)
		repeat = 1;
	static const struct {
		const char *name;
		void (*gen)(struct buf *);
	} shapes[] = {
		{"ordinary steps (baseline)", ordinary_steps},
		{"nested flow sequences [[[", flow_seq_nest},
		{"nested flow mappings {a: {a:", flow_map_nest},
		{"nested block sequences - - -", block_seq_nest},
		{"one wide flow sequence", wide_flow_seq},
		{"many keys in one mapping", many_keys},
		{"one 1 MiB scalar", long_scalar},
		{"aliases (billion laughs)", aliases},
		{"deep indentation", deep_indent},
		{"quoted scalar of escapes", unclosed_quotes},
		{"random bytes", random_bytes},
	};
	double base = 0, worst = 0;
	printf("%-32s %9s %8s %9s  %s\n", "shape (1 MiB)", "bytes", "ms", "x base", "result");
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct buf b = {0};
		shapes[i].gen(&b);
		int ok = 0;
		double ms = time_parse(&b, repeat, &ok);
		if (i == 0)
			base = ms > 0.001 ? ms : 0.001;
		if (ms > worst)
			worst = ms;
		printf("%-32s %9zu %8.1f %9.2f  %s\n", shapes[i].name, b.n, ms, ms / base,
		       ok ? "parsed" : "refused");
		free(b.p);
	}
	printf("slowest: %.1f ms (goal: under 1000 ms for any shape)\n", worst);
	return 0;
}
