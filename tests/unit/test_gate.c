#define _GNU_SOURCE
/* Unit tests for supervisor/lib/gate: accounts (hash, never the secret),
 * the gate's phases on an injected clock (closed, probe, stagger, release,
 * re-close by a probe that hits the limit again, expiry), the queue plan
 * (creation order, slots, a gated account does not block another), the
 * texts, and gates.json round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "supervisor/lib/gate.h"

#define S 1000LL
#define T0 1800000000000LL /* 2027-01-15 */

static const char *fake_env_key;
static const char *fake_env_val;
static const char *fake_get(const char *name)
{
	return fake_env_key && !strcmp(name, fake_env_key) ? fake_env_val : NULL;
}

static void test_account_hashes_credential(void **state)
{
	(void)state;
	_cleanup_free_ char *k1 = NULL, *l1 = NULL, *k2 = NULL, *l2 = NULL, *k3 = NULL, *l3 = NULL;
	fake_env_key = "ANTHROPIC_API_KEY";
	fake_env_val = "sk-ant-secret-1";
	gate_account_of("claude", fake_get, &k1, &l1);
	assert_int_equal(strlen(k1), strlen("claude:") + 12);
	assert_true(!strncmp(k1, "claude:", 7));
	assert_null(strstr(k1, "secret"));
	assert_null(strstr(l1, "secret"));
	assert_non_null(strstr(l1, "claude (key …"));
	fake_env_val = "sk-ant-secret-2";
	gate_account_of(NULL, fake_get, &k2, &l2); /* default tool: claude */
	assert_true(!strncmp(k2, "claude:", 7));
	assert_string_not_equal(k1, k2);
	/* the same key for another tool is another account */
	fake_env_key = NULL;
	gate_account_of("codex", fake_get, &k3, &l3);
	assert_string_equal(k3, "codex");
	assert_string_equal(l3, "codex");
	char *k4 = NULL, *l4 = NULL;
	fake_env_key = "CLAUDE_CODE_OAUTH_TOKEN";
	fake_env_val = "oauth";
	gate_account_of("claude", fake_get, &k4, &l4);
	assert_non_null(strstr(l4, "(token …"));
	free(k4);
	free(l4);
}

static const struct gate_policy pol = {.probe_wait_ms = 60 * S, .stagger_ms = 30 * S};

static void test_gate_phases(void **state)
{
	(void)state;
	struct gate_table t = {0};
	int64_t at = 0;
	assert_int_equal(gate_check(gate_find(&t, "a"), &pol, T0, &at), GATE_OPEN);
	/* a reset in the past or too far ahead closes nothing */
	assert_false(gate_close(&t, "a", "A", T0 - 1, 7, "limit", T0));
	assert_false(gate_close(&t, "a", "A", T0 + GATE_HORIZON_MS + 1, 7, "limit", T0));
	assert_true(gate_close(&t, "a", "A", T0 + 600 * S, 7, "limit", T0));
	/* the same reset seen again changes nothing (every pass sees it) */
	assert_false(gate_close(&t, "a", "A", T0 + 600 * S, 8, "limit", T0 + S));
	struct gate *g = gate_find(&t, "a");
	assert_non_null(g);
	assert_int_equal(gate_check(g, &pol, T0 + 599 * S, &at), GATE_CLOSED);
	assert_int_equal(at, T0 + 600 * S);
	assert_int_equal(gate_check(g, &pol, T0 + 600 * S, &at), GATE_PROBE);
	gate_admitted(g, 7, T0 + 600 * S);
	assert_int_equal(g->probe_task, 7);
	assert_int_equal(gate_check(g, &pol, T0 + 620 * S, &at), GATE_STAGGER);
	assert_int_equal(at, T0 + 660 * S);
	assert_int_equal(gate_check(g, &pol, T0 + 660 * S, &at), GATE_RELEASE);
	gate_admitted(g, 8, T0 + 661 * S);
	assert_int_equal(gate_check(g, &pol, T0 + 670 * S, &at), GATE_STAGGER);
	assert_int_equal(at, T0 + 691 * S);
	/* the probe hit the limit again: closed until the new reset, and
	 * the next opening starts with a probe again */
	assert_true(gate_close(&t, "a", "A", T0 + 900 * S, 7, "again", T0 + 670 * S));
	g = gate_find(&t, "a");
	assert_int_equal(gate_check(g, &pol, T0 + 700 * S, &at), GATE_CLOSED);
	assert_int_equal(gate_check(g, &pol, T0 + 900 * S, &at), GATE_PROBE);
	/* expiry: not while work waits, not before the reset, not during the
	 * probe's wait */
	assert_false(gate_expire(&t, "a", &pol, T0 + 800 * S, 0));
	assert_false(gate_expire(&t, "a", &pol, T0 + 900 * S, 2));
	gate_admitted(gate_find(&t, "a"), 9, T0 + 900 * S);
	assert_false(gate_expire(&t, "a", &pol, T0 + 930 * S, 0));
	assert_true(gate_expire(&t, "a", &pol, T0 + 960 * S, 0));
	assert_null(gate_find(&t, "a"));
	gate_table_release(&t);
}

static void test_plan_gate_holds_account_only(void **state)
{
	(void)state;
	struct gate_table t = {0};
	gate_close(&t, "claude:1", "claude (key …0001)", T0 + 100 * S, 1, NULL, T0);
	struct queue_item it[] = {
		{.id = 4, .account = "codex", .due = true},
		{.id = 2, .account = "claude:1", .due = true},
		{.id = 3, .account = "claude:1", .due = true},
		{.id = 1, .account = "claude:1", .due = false}, /* the paused one, not due */
	};
	int64_t wake = queue_plan(it, 4, &t, &pol, 0, 0, T0 + 10 * S);
	/* sorted by creation order */
	assert_int_equal(it[0].id, 1);
	assert_int_equal(it[0].why, QUEUE_NOT_DUE);
	assert_int_equal(it[1].why, QUEUE_GATE);
	assert_int_equal(it[1].at_ms, T0 + 100 * S);
	assert_int_equal(it[1].position, 1);
	assert_int_equal(it[2].why, QUEUE_GATE);
	assert_int_equal(it[2].position, 2);
	/* another account runs meanwhile */
	assert_int_equal(it[3].why, QUEUE_START);
	assert_int_equal(wake, T0 + 100 * S);

	/* at the reset: one probe, the other waits for the stagger */
	wake = queue_plan(it, 4, &t, &pol, 0, 1, T0 + 100 * S);
	assert_int_equal(it[1].why, QUEUE_START);
	assert_true(it[1].probe);
	assert_int_equal(it[2].why, QUEUE_STAGGER);
	assert_int_equal(it[2].at_ms, T0 + 160 * S);
	assert_int_equal(wake, T0 + 160 * S);
	/* then one per stagger, never two at once */
	struct queue_item rest[] = {{.id = 3, .account = "claude:1", .due = true},
				    {.id = 5, .account = "claude:1", .due = true},
				    {.id = 6, .account = "claude:1", .due = true}};
	queue_plan(rest, 3, &t, &pol, 0, 0, T0 + 160 * S);
	assert_int_equal(rest[0].why, QUEUE_START);
	assert_false(rest[0].probe);
	assert_int_equal(rest[1].why, QUEUE_STAGGER);
	assert_int_equal(rest[1].at_ms, T0 + 190 * S);
	assert_int_equal(rest[2].why, QUEUE_STAGGER);
	queue_plan(rest + 1, 2, &t, &pol, 0, 0, T0 + 190 * S);
	assert_int_equal(rest[1].why, QUEUE_START);
	assert_int_equal(rest[2].why, QUEUE_STAGGER);
	gate_table_release(&t);
}

static void test_plan_slots_in_creation_order(void **state)
{
	(void)state;
	struct gate_table t = {0};
	struct queue_item it[5];
	for (int i = 0; i < 5; i++)
		it[i] = (struct queue_item){.id = 10 - i, .account = "x", .due = true};
	queue_plan(it, 5, &t, &pol, 2, 1, T0);
	assert_int_equal(it[0].id, 6);
	assert_int_equal(it[0].why, QUEUE_START);
	for (int i = 1; i < 5; i++) {
		assert_int_equal(it[i].why, QUEUE_SLOTS);
		assert_int_equal(it[i].position, i);
	}
	/* no limit: all start */
	queue_plan(it, 5, &t, &pol, 0, 100, T0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(it[i].why, QUEUE_START);
	/* slots full already: nobody */
	queue_plan(it, 5, &t, &pol, 2, 2, T0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(it[i].why, QUEUE_SLOTS);
	/* a gated task does not take a slot from a later one */
	gate_close(&t, "g", "G", T0 + 50 * S, 1, NULL, T0);
	struct queue_item m[] = {{.id = 1, .account = "g", .due = true},
				 {.id = 2, .account = "x", .due = true},
				 {.id = 3, .account = "x", .due = true}};
	queue_plan(m, 3, &t, &pol, 2, 1, T0);
	assert_int_equal(m[0].why, QUEUE_GATE);
	assert_int_equal(m[1].why, QUEUE_START);
	assert_int_equal(m[2].why, QUEUE_SLOTS);
	assert_int_equal(m[2].position, 2);
	gate_table_release(&t);
}

static void test_plan_per_engine_slots(void **state)
{
	(void)state;
	struct gate_table t = {0};
	/* docker: at most 1 (1 running already); podman: no limit of its own;
	 * store-wide: at most 3 */
	int docker_running = 1;
	struct queue_item it[] = {
		{.id = 1,
		 .account = "a",
		 .due = true,
		 .group_max = 1,
		 .group_running = &docker_running},
		{.id = 2, .account = "a", .due = true},
		{.id = 3,
		 .account = "a",
		 .due = true,
		 .group_max = 1,
		 .group_running = &docker_running},
		{.id = 4, .account = "a", .due = true},
		{.id = 5, .account = "a", .due = true},
	};
	queue_plan(it, 5, &t, &pol, 3, 1, T0);
	/* a full docker does not hold back podman tasks */
	assert_int_equal(it[0].why, QUEUE_SLOTS);
	assert_true(it[0].group_full);
	assert_int_equal(it[1].why, QUEUE_START);
	assert_int_equal(it[2].why, QUEUE_SLOTS);
	assert_int_equal(it[3].why, QUEUE_START);
	/* the store-wide limit (3) is reached now */
	assert_int_equal(it[4].why, QUEUE_SLOTS);
	assert_false(it[4].group_full);
	assert_int_equal(it[4].position, 3);
	/* a docker slot frees: the oldest docker task goes, and counts */
	docker_running = 0;
	queue_plan(it, 5, &t, &pol, 0, 0, T0);
	assert_int_equal(it[0].why, QUEUE_START);
	assert_int_equal(it[2].why, QUEUE_SLOTS);
	assert_int_equal(docker_running, 1);
	_cleanup_free_ char *m = queue_why_text(QUEUE_SLOTS, "docker", 0, 1);
	assert_string_equal(m, "waiting for a free docker slot (maxRunning 1)");
}

static void test_texts(void **state)
{
	(void)state;
	_cleanup_free_ char *a = queue_why_text(QUEUE_GATE, "claude (key …3f2a)", T0, 0);
	assert_non_null(strstr(a, "claude (key …3f2a): limited until "));
	_cleanup_free_ char *b = queue_why_text(QUEUE_SLOTS, NULL, 0, 2);
	assert_non_null(strstr(b, "maxRunning 2"));
	assert_string_equal(queue_why_name(QUEUE_SLOTS), "maxRunning");
	assert_string_equal(queue_why_name(QUEUE_GATE), "gate");
}

static void test_policy_env(void **state)
{
	(void)state;
	struct gate_policy p;
	assert_int_equal(gate_policy_init(&p, NULL, NULL), 0);
	assert_int_equal(p.probe_wait_ms, GATE_DEFAULT_PROBE_WAIT_S * S);
	fake_env_key = "ROVER_GATE_STAGGER_SECONDS";
	fake_env_val = "2";
	assert_int_equal(gate_policy_init(&p, fake_get, NULL), 0);
	assert_int_equal(p.stagger_ms, 2 * S);
	fake_env_val = "2x";
	struct rv_error *err = NULL;
	assert_int_equal(gate_policy_init(&p, fake_get, &err), -EINVAL);
	assert_non_null(strstr(rv_error_msg(err), "ROVER_GATE_STAGGER_SECONDS"));
	assert_int_equal(p.stagger_ms, 2 * S); /* unchanged */
	rv_error_free(err);
	fake_env_key = NULL;
}

static void test_table_round_trip(void **state)
{
	(void)state;
	char dir[] = "/tmp/rover-test-gate-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct gate_table t = {0}, r = {0};
	assert_int_equal(gate_table_load(dir, &r, NULL), 0);
	assert_int_equal(r.n, 0);
	int64_t now = T0;
	gate_close(&t, "claude:ab", "claude (key …00ab)", now + 30 * S, 7, "You've hit your limit",
		   now);
	gate_admitted(gate_find(&t, "claude:ab"), 7, now + 30 * S);
	assert_int_equal(gate_table_save(dir, &t, NULL), 0);
	int fd = -1;
	assert_int_equal(gate_queue_lock(dir, &fd, NULL), 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(gate_table_load(dir, &r, NULL), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].account, "claude:ab");
	assert_string_equal(r.v[0].label, "claude (key …00ab)");
	assert_int_equal(r.v[0].until_ms, now + 30 * S);
	assert_int_equal(r.v[0].probe_task, 7);
	assert_int_equal(r.v[0].probe_at_ms, now + 30 * S);
	assert_int_equal(r.v[0].task_id, 7);
	gate_table_release(&r);
	/* an empty table removes the file */
	gate_table_release(&t);
	assert_int_equal(gate_table_save(dir, &t, NULL), 0);
	_cleanup_free_ char *path = fileio_join(dir, GATE_FILE);
	assert_false(fileio_exists(path));
	/* garbage is reported, naming the file */
	assert_int_equal(fileio_write_atomic(path, "{nope", 5, 0644, NULL), 0);
	struct rv_error *err = NULL;
	assert_true(gate_table_load(dir, &r, &err) < 0);
	assert_non_null(strstr(rv_error_msg(err), GATE_FILE));
	rv_error_free(err);
	assert_int_equal(r.n, 0);
	fileio_remove_tree(dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_hashes_credential),
		cmocka_unit_test(test_gate_phases),
		cmocka_unit_test(test_plan_gate_holds_account_only),
		cmocka_unit_test(test_plan_slots_in_creation_order),
		cmocka_unit_test(test_plan_per_engine_slots),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_policy_env),
		cmocka_unit_test(test_table_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
