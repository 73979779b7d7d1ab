/* Unit tests for agent-runner/checkpoint: round trip, upsert order, seeding a
 * resumed store, strict loading, loop progress, what is never persisted, and
 * fault injection (linked with -Wl,--wrap=write,fsync,rename,close: see
 * tests/unit/wraps.mk): a failed save keeps the previous file loadable, leaves
 * no temp file, keeps the memory state, and never reuses a seq. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/helpers/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-runner/checkpoint.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "tests/unit/helpers/faults.h"

#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HASH2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static char dir[] = "/tmp/rover-test-checkpoint-XXXXXX";
static char *cp_path;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-checkpoint-XXXXXX");
	faults_reset();
	if (!mkdtemp(dir))
		return -1;
	cp_path = fileio_join(dir, "checkpoint.json");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	faults_reset();
	free(cp_path);
	cp_path = NULL;
	return fileio_remove_tree(dir, NULL);
}

static char *read_raw(const char *path)
{
	char *buf = NULL;
	assert_int_equal(fileio_read_bounded(path, 1 << 26, &buf, NULL, NULL), 0);
	return buf;
}

static void write_raw(const char *text)
{
	assert_int_equal(fileio_write_atomic(cp_path, text, strlen(text), 0644, NULL), 0);
}

static struct json_object *outputs2(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct json_object *o = json_object_new_object();
	if (k1)
		jsonutil_set_str(o, k1, v1);
	if (k2)
		jsonutil_set_str(o, k2, v2);
	return o;
}

static void add(struct checkpoint_store *st, const char *id, const char *k, const char *v)
{
	_cleanup_json_ struct json_object *o = outputs2(k, v, NULL, NULL);
	struct rv_error *e = NULL;
	int r = checkpoint_store_add_completed(st, id, o, &e);
	if (r < 0)
		fail_msg("add_completed(%s): %s", id, rv_error_msg(e));
}

static struct checkpoint *load_ok(void)
{
	struct checkpoint *cp = NULL;
	struct rv_error *e = NULL;
	if (checkpoint_load(cp_path, &cp, NULL, &e) < 0)
		fail_msg("load: %s", rv_error_msg(e));
	return cp;
}

static const char *completed_id(const struct checkpoint *cp, size_t i)
{
	return jsonutil_get_str(json_object_array_get_idx(cp->completed_steps, i), "id");
}

static const char *output_of(const struct checkpoint *cp, const char *id, const char *key)
{
	return jsonutil_get_str(checkpoint_completed_outputs(cp, id), key);
}

/* ---- round trip ----------------------------------------------------------- */

static void test_checkpoint_round_trip(void **state)
{
	(void)state;
	int64_t before = timeutil_now_ms();
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	assert_false(fileio_exists(cp_path)); /* nothing until the first mutation */

	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_str(o, "raw_output", "done");
	jsonutil_set_str(o, "input_prompt", "SECRET-PROMPT with an API key");
	jsonutil_set_int64(o, "count", 42);
	jsonutil_set_bool(o, "ok", false);
	assert_int_equal(checkpoint_store_add_completed(st, "plan", o, NULL), 0);
	add(st, "build", "exit_code", "0");

	_cleanup_json_ struct json_object *subs = json_object_new_object();
	json_object_object_add(subs, "review", outputs2("verdict", "ok", "input_prompt", "X"));
	_cleanup_json_ struct json_object *skipped = json_object_new_array();
	json_object_array_add(skipped, json_object_new_string("fix"));
	assert_int_equal(
		checkpoint_store_set_loop_progress(st, "polish", 2, 1, subs, skipped, NULL), 0);
	assert_int_equal(
		checkpoint_store_set_failure(st, "test", "rate limit", true, "claude", NULL), 0);
	int64_t reset = timeutil_now_ms() + 3600 * 1000;
	reset -= reset % 1000;
	assert_int_equal(checkpoint_store_set_pause(st, "retryable_error", reset, NULL), 0);
	assert_int_equal(checkpoint_store_get(st)->seq, 5);

	_cleanup_free_ char *raw = read_raw(cp_path);
	assert_null(strstr(raw, "SECRET-PROMPT"));
	assert_null(strstr(raw, "input_prompt"));
	assert_non_null(strstr(raw, "{\n  \"version\"")); /* pretty, 2 spaces */

	struct checkpoint *cp = load_ok();
	assert_int_equal(cp->version, CHECKPOINT_VERSION);
	assert_string_equal(cp->workflow_hash, HASH);
	assert_int_equal(cp->seq, 5);
	assert_true(cp->saved_at_ms >= before - 1000 && cp->saved_at_ms <= timeutil_now_ms());
	assert_int_equal(json_object_array_length(cp->completed_steps), 2);
	assert_string_equal(completed_id(cp, 0), "plan");
	assert_string_equal(completed_id(cp, 1), "build");
	assert_string_equal(output_of(cp, "plan", "raw_output"), "done");
	assert_string_equal(output_of(cp, "plan", "count"), "42");
	assert_string_equal(output_of(cp, "plan", "ok"), "false");
	assert_null(output_of(cp, "plan", "input_prompt"));
	assert_string_equal(output_of(cp, "build", "exit_code"), "0");
	assert_null(checkpoint_completed_outputs(cp, "nope"));

	struct checkpoint_loop_progress lp;
	assert_true(checkpoint_loop_progress(cp, "polish", &lp));
	assert_int_equal(lp.iteration, 2);
	assert_int_equal(lp.next_sub_step_index, 1);
	struct json_object *rv = jsonutil_get_obj(lp.sub_step_outputs, "review");
	assert_string_equal(jsonutil_get_str(rv, "verdict"), "ok");
	assert_null(jsonutil_get_str(rv, "input_prompt"));
	assert_int_equal(json_object_array_length(lp.skipped), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(lp.skipped, 0)),
			    "fix");
	assert_false(checkpoint_loop_progress(cp, "other", &lp));

	assert_string_equal(cp->failed_step_id, "test");
	assert_string_equal(cp->error, "rate limit");
	assert_true(cp->has_is_retryable);
	assert_true(cp->is_retryable);
	assert_string_equal(cp->provider, "claude");
	assert_string_equal(cp->pause_reason, "retryable_error");
	assert_int_equal(cp->reset_at_ms, reset);
	assert_null(cp->extra);
	checkpoint_free(cp);
	checkpoint_store_free(st);
}

static void test_checkpoint_upsert_keeps_order(void **state)
{
	(void)state;
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	add(st, "b", "v", "2");
	add(st, "c", "v", "3");
	add(st, "a", "v", "new");
	struct checkpoint *cp = load_ok();
	assert_int_equal(json_object_array_length(cp->completed_steps), 3);
	assert_string_equal(completed_id(cp, 0), "a");
	assert_string_equal(completed_id(cp, 1), "b");
	assert_string_equal(completed_id(cp, 2), "c");
	assert_string_equal(output_of(cp, "a", "v"), "new");
	assert_int_equal(cp->seq, 4);
	checkpoint_free(cp);
	/* an empty id is refused and nothing is written */
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_store_add_completed(st, "", NULL, &e), -EINVAL);
	rv_error_free(e);
	assert_int_equal(checkpoint_store_get(st)->seq, 4);
	checkpoint_store_free(st);
}

static void test_checkpoint_seeding_clears_failure_and_continues_seq(void **state)
{
	(void)state;
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	_cleanup_json_ struct json_object *subs = json_object_new_object();
	assert_int_equal(checkpoint_store_set_loop_progress(st, "loop", 1, 2, subs, NULL, NULL), 0);
	assert_int_equal(checkpoint_store_set_failure(st, "b", "quota", true, "gemini", NULL), 0);
	assert_int_equal(checkpoint_store_set_pause(st, "retryable_error", 1795341600000, NULL), 0);
	checkpoint_store_free(st);

	struct checkpoint *prior = load_ok();
	assert_int_equal(prior->seq, 4);
	st = checkpoint_store_new(cp_path, HASH2, prior);
	const struct checkpoint *cur = checkpoint_store_get(st);
	assert_null(cur->failed_step_id);
	assert_null(cur->error);
	assert_null(cur->provider);
	assert_false(cur->has_is_retryable);
	assert_null(cur->pause_reason);
	assert_int_equal(cur->reset_at_ms, 0);
	assert_int_equal(cur->seq, 4);
	assert_string_equal(cur->workflow_hash, HASH2);
	assert_non_null(checkpoint_completed_outputs(cur, "a"));
	struct checkpoint_loop_progress lp;
	assert_true(checkpoint_loop_progress(cur, "loop", &lp));
	assert_int_equal(lp.next_sub_step_index, 2);

	/* a deep copy: the store's changes do not reach the prior */
	add(st, "b", "v", "2");
	assert_null(checkpoint_completed_outputs(prior, "b"));
	checkpoint_free(prior);
	checkpoint_store_free(st);

	struct checkpoint *cp = load_ok();
	assert_int_equal(cp->seq, 5);
	assert_string_equal(cp->workflow_hash, HASH2);
	assert_null(cp->failed_step_id);
	assert_false(cp->has_is_retryable);
	assert_null(cp->pause_reason);
	_cleanup_free_ char *raw = read_raw(cp_path);
	assert_null(strstr(raw, "failedStepId"));
	assert_null(strstr(raw, "isRetryable"));
	assert_null(strstr(raw, "resetAt"));
	checkpoint_free(cp);
}

/* A retryable pause saves once: the staged failure goes out with the pause. */
static void test_checkpoint_staged_failure_goes_out_with_the_pause(void **state)
{
	(void)state;
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	checkpoint_store_stage_failure(st, "b", "quota", true, "gemini");
	struct checkpoint *before = load_ok();
	assert_int_equal(before->seq, 1);
	assert_null(before->failed_step_id); /* not written by itself */
	checkpoint_free(before);
	assert_int_equal(checkpoint_store_set_pause(st, "retryable_error", 0, NULL), 0);
	checkpoint_store_free(st);
	struct checkpoint *cp = load_ok();
	assert_int_equal(cp->seq, 2);
	assert_string_equal(cp->failed_step_id, "b");
	assert_string_equal(cp->error, "quota");
	assert_string_equal(cp->provider, "gemini");
	assert_true(cp->has_is_retryable && cp->is_retryable);
	assert_string_equal(cp->pause_reason, "retryable_error");
	checkpoint_free(cp);
}

/* ---- strict loading -------------------------------------------------------------- */

static void check_rejected(const char *text, int code, const char *field)
{
	write_raw(text);
	struct checkpoint *cp = NULL;
	struct rv_error *e = NULL;
	int r = checkpoint_load(cp_path, &cp, NULL, &e);
	if (r != -code)
		fail_msg("load of <%s> returned %d, want %d (%s)", text, r, -code, rv_error_msg(e));
	assert_null(cp);
	assert_non_null(e);
	if (!strstr(e->msg, cp_path))
		fail_msg("message does not name the file: %s", e->msg);
	if (field && !strstr(e->msg, field))
		fail_msg("message does not name %s: %s", field, e->msg);
	rv_error_free(e);
}

#define HDR                                       \
	"{\"version\":1,\"workflowHash\":\"" HASH \
	"\",\"savedAt\":\"2026-11-22T10:00:00.000Z\",\"seq\":3,"

static void test_checkpoint_load_rejects_bad_files(void **state)
{
	(void)state;
	struct checkpoint *cp = NULL;
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_load(cp_path, &cp, NULL, &e), -ENOENT);
	assert_non_null(strstr(e->msg, cp_path));
	e = rv_error_free(e);

	/* a real file cut in half */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	checkpoint_store_free(st);
	_cleanup_free_ char *full = read_raw(cp_path);
	full[strlen(full) / 2] = '\0';
	check_rejected(full, EBADMSG, "truncated");

	check_rejected("", EBADMSG, NULL);
	check_rejected("garbage\x01\x02", EBADMSG, NULL);
	check_rejected("[1,2]", EBADMSG, NULL);
	check_rejected("{\"workflowHash\":\"" HASH "\",\"seq\":1,\"completedSteps\":[]}", EBADMSG,
		       "version");
	check_rejected("{\"version\":2,\"workflowHash\":\"" HASH
		       "\",\"savedAt\":\"2026-11-22T10:00:00Z\",\"seq\":1,\"completedSteps\":[]}",
		       EBADMSG, "version 2");
	check_rejected("{\"version\":\"1\"}", EBADMSG, "version");
	check_rejected("{\"version\":1,\"workflowHash\":\"abc\",\"seq\":1}", EBADMSG,
		       "workflowHash");
	check_rejected("{\"version\":1,\"workflowHash\":\"" HASH "\",\"seq\":\"3\"}", EBADMSG,
		       "seq");
	check_rejected("{\"version\":1,\"workflowHash\":\"" HASH "\",\"seq\":0}", EBADMSG, "seq");
	/* the next save increments seq: no room left is refused at load */
	check_rejected("{\"version\":1,\"workflowHash\":\"" HASH "\",\"seq\":9223372036854775807}",
		       EBADMSG, "seq");
	check_rejected("{\"version\":1,\"workflowHash\":\"" HASH
		       "\",\"seq\":1,\"savedAt\":\"yesterday\"}",
		       EBADMSG, "savedAt");
	check_rejected(HDR "\"completedSteps\":{}}", EBADMSG, "completedSteps");
	check_rejected(HDR "\"loopProgress\":{}}", EBADMSG, "completedSteps");
	check_rejected(HDR "\"completedSteps\":[{\"id\":7,\"outputs\":{}}]}", EBADMSG,
		       "completedSteps[0].id");
	check_rejected(
		HDR
		"\"completedSteps\":[{\"id\":\"a\",\"outputs\":{}},{\"id\":\"b\",\"outputs\":[]}]}",
		EBADMSG, "completedSteps[1].outputs");
	check_rejected(HDR "\"completedSteps\":[{\"id\":\"a\"}]}", EBADMSG,
		       "completedSteps[0].outputs");
	check_rejected(HDR "\"completedSteps\":[{\"id\":\"a\",\"outputs\":{\"k\":{\"x\":1}}}]}",
		       EBADMSG, "completedSteps[0].outputs.k");
	check_rejected(
		HDR
		"\"completedSteps\":[{\"id\":\"a\",\"outputs\":{}},{\"id\":\"a\",\"outputs\":{}}]}",
		EBADMSG, "twice");
	check_rejected(HDR "\"completedSteps\":[],\"loopProgress\":[]}", EBADMSG, "loopProgress");
	check_rejected(
		HDR
		"\"completedSteps\":[],\"loopProgress\":{\"l\":{\"iteration\":\"1\",\"nextSubStepIndex\":0}}}",
		EBADMSG, "loopProgress.l.iteration");
	check_rejected(
		HDR
		"\"completedSteps\":[],\"loopProgress\":{\"l\":{\"iteration\":1,\"nextSubStepIndex\":0,\"skippedSubSteps\":[1]}}}",
		EBADMSG, "skippedSubSteps[0]");
	check_rejected(HDR "\"completedSteps\":[],\"isRetryable\":\"yes\"}", EBADMSG,
		       "isRetryable");
	check_rejected(HDR "\"completedSteps\":[],\"error\":5}", EBADMSG, "error");
	check_rejected(HDR "\"completedSteps\":[],\"pauseReason\":\"bored\"}", EBADMSG,
		       "pauseReason");
	check_rejected(HDR "\"completedSteps\":[],\"resetAt\":\"soon\"}", EBADMSG, "resetAt");
}

static void test_checkpoint_load_coerces_and_keeps_unknown(void **state)
{
	(void)state;
	write_raw(HDR "\"completedSteps\":[{\"id\":\"a\",\"outputs\":{\"n\":42,\"b\":false,"
		      "\"z\":null,\"d\":1.5,\"s\":\"x\",\"input_prompt\":\"old secret\"}}],"
		      "\"error\":null,\"custom\":{\"by\":\"someone else\"}}");
	struct checkpoint *cp = load_ok();
	assert_string_equal(output_of(cp, "a", "n"), "42");
	assert_string_equal(output_of(cp, "a", "b"), "false");
	assert_string_equal(output_of(cp, "a", "z"), "null");
	assert_string_equal(output_of(cp, "a", "d"), "1.5");
	assert_string_equal(output_of(cp, "a", "s"), "x");
	assert_null(output_of(cp, "a", "input_prompt"));
	assert_null(cp->error); /* null = absent */
	assert_non_null(cp->extra);

	/* unknown keys survive a resumed run's rewrite */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, cp);
	add(st, "b", "v", "1");
	checkpoint_store_free(st);
	checkpoint_free(cp);
	cp = load_ok();
	assert_string_equal(jsonutil_get_str(jsonutil_get_obj(cp->extra, "custom"), "by"),
			    "someone else");
	assert_int_equal(cp->seq, 4);
	_cleanup_free_ char *raw = read_raw(cp_path);
	assert_null(strstr(raw, "old secret"));
	checkpoint_free(cp);
}

/* ---- loop progress ---------------------------------------------------------------- */

static void test_checkpoint_loop_progress_validation(void **state)
{
	(void)state;
	write_raw(HDR "\"completedSteps\":[],\"loopProgress\":{"
		      "\"zero\":{\"iteration\":0,\"nextSubStepIndex\":0},"
		      "\"neg\":{\"iteration\":1,\"nextSubStepIndex\":-1},"
		      "\"good\":{\"iteration\":3,\"nextSubStepIndex\":2}}}");
	struct checkpoint *cp = NULL;
	char *warning = NULL;
	assert_int_equal(checkpoint_load(cp_path, &cp, &warning, NULL), 0);
	assert_non_null(warning);
	assert_non_null(strstr(warning, "\"zero\": iteration=0"));
	assert_non_null(strstr(warning, "\"neg\": nextSubStepIndex=-1"));
	free(warning);
	struct checkpoint_loop_progress lp;
	assert_false(checkpoint_loop_progress(cp, "zero", &lp));
	assert_false(checkpoint_loop_progress(cp, "neg", &lp));
	assert_true(checkpoint_loop_progress(cp, "good", &lp));
	assert_int_equal(lp.iteration, 3);
	assert_int_equal(lp.next_sub_step_index, 2);
	assert_int_equal(json_object_object_length(lp.sub_step_outputs), 0);
	assert_int_equal(json_object_array_length(lp.skipped), 0);
	checkpoint_free(cp);

	/* the store refuses invalid progress and writes nothing */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	struct rv_error *e = NULL;
	faults_reset();
	assert_int_equal(checkpoint_store_set_loop_progress(st, "l", 0, 0, NULL, NULL, &e),
			 -EINVAL);
	assert_non_null(strstr(e->msg, "iteration=0"));
	e = rv_error_free(e);
	assert_int_equal(checkpoint_store_set_loop_progress(st, "l", 1, -1, NULL, NULL, &e),
			 -EINVAL);
	assert_non_null(strstr(e->msg, "nextSubStepIndex=-1"));
	e = rv_error_free(e);
	_cleanup_json_ struct json_object *not_array = json_object_new_object();
	assert_int_equal(checkpoint_store_set_loop_progress(st, "l", 1, 0, NULL, not_array, &e),
			 -EINVAL);
	e = rv_error_free(e);
	_cleanup_json_ struct json_object *bad_skip = json_object_new_array();
	json_object_array_add(bad_skip, json_object_new_int(3));
	assert_int_equal(checkpoint_store_set_loop_progress(st, "l", 1, 0, NULL, bad_skip, &e),
			 -EINVAL);
	e = rv_error_free(e);
	assert_int_equal(faults_count(FAULT_RENAME), 0);
	assert_false(checkpoint_loop_progress(checkpoint_store_get(st), "l", &lp));

	/* clearing the last loop removes the key from the file */
	assert_int_equal(checkpoint_store_set_loop_progress(st, "l", 1, 0, NULL, NULL, NULL), 0);
	_cleanup_free_ char *with = read_raw(cp_path);
	assert_non_null(strstr(with, "\"loopProgress\""));
	assert_int_equal(checkpoint_store_clear_loop_progress(st, "l", NULL), 0);
	_cleanup_free_ char *without = read_raw(cp_path);
	assert_null(strstr(without, "loopProgress"));
	checkpoint_store_free(st);
}

static void test_checkpoint_values_capped_and_utf8(void **state)
{
	(void)state;
	size_t n = CHECKPOINT_MAX_VALUE + 50000;
	char *big = malloc(n + 1);
	memset(big, 'a', n);
	memcpy(big + n - 4, "TAIL", 4);
	big[n] = '\0';
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_str(o, "stdout", big);
	jsonutil_set_str(o, "bin", "ok\xff\xfe end");
	assert_int_equal(checkpoint_store_add_completed(st, "cmd", o, NULL), 0);
	assert_int_equal(checkpoint_store_set_failure(st, "cmd", big, false, NULL, NULL), 0);
	free(big);
	checkpoint_store_free(st);

	struct checkpoint *cp = load_ok();
	const char *v = output_of(cp, "cmd", "stdout");
	const char *prefix = "[...truncated 50000 chars...]";
	assert_int_equal(strncmp(v, prefix, strlen(prefix)), 0);
	assert_int_equal(strlen(v), strlen(prefix) + CHECKPOINT_MAX_VALUE);
	assert_string_equal(v + strlen(v) - 4, "TAIL");
	assert_int_equal(strncmp(cp->error, prefix, strlen(prefix)), 0);
	const char *bin = output_of(cp, "cmd", "bin");
	assert_true(textutil_utf8_valid(bin, strlen(bin)));
	assert_string_equal(bin, "ok\xEF\xBF\xBD\xEF\xBF\xBD end");
	checkpoint_free(cp);
	/* the whole file is valid UTF-8 */
	_cleanup_free_ char *raw = read_raw(cp_path);
	assert_true(textutil_utf8_valid(raw, strlen(raw)));
}

/* ---- fault injection -------------------------------------------------------------- */

static void check_failed_save(enum fault_call call, int nth, int err, size_t short_len)
{
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	assert_int_equal(testutil_count_entries(dir), 1);

	faults_reset();
	faults_arm(call, nth, err, short_len);
	_cleanup_json_ struct json_object *o = outputs2("v", "2", NULL, NULL);
	struct rv_error *e = NULL;
	int r = checkpoint_store_add_completed(st, "b", o, &e);
	faults_reset();

	/* the error is returned and names the file */
	assert_int_equal(r, -err);
	assert_non_null(e);
	if (!strstr(e->msg, "checkpoint.json"))
		fail_msg("message does not name the file: %s", e->msg);
	rv_error_free(e);
	/* the previous file is intact and still loads with the previous seq */
	struct checkpoint *cp = load_ok();
	assert_int_equal(cp->seq, 1);
	assert_int_equal(json_object_array_length(cp->completed_steps), 1);
	assert_null(checkpoint_completed_outputs(cp, "b"));
	checkpoint_free(cp);
	/* no temp file is left */
	assert_int_equal(testutil_count_entries(dir), 1);
	/* the memory state is kept, and goes out with the next save */
	assert_non_null(checkpoint_completed_outputs(checkpoint_store_get(st), "b"));
	assert_int_equal(checkpoint_store_save(st, NULL), 0);
	cp = load_ok();
	assert_int_equal(json_object_array_length(cp->completed_steps), 2);
	assert_int_equal(cp->seq, 3); /* seq 2 was used up by the failed save */
	checkpoint_free(cp);
	checkpoint_store_free(st);
}

static void test_checkpoint_enospc_on_write(void **state)
{
	(void)state;
	check_failed_save(FAULT_WRITE, 1, ENOSPC, 0);
}

static void test_checkpoint_eio_on_fsync(void **state)
{
	(void)state;
	check_failed_save(FAULT_FSYNC, 1, EIO, 0);
}

static void test_checkpoint_exdev_on_rename(void **state)
{
	(void)state;
	check_failed_save(FAULT_RENAME, 1, EXDEV, 0);
}

static void test_checkpoint_eio_on_close(void **state)
{
	(void)state;
	check_failed_save(FAULT_CLOSE, 1, EIO, 0);
}

static void test_checkpoint_short_write_completes(void **state)
{
	(void)state;
	/* A short write is not an error: the writer finishes the file. */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	faults_reset();
	faults_arm(FAULT_WRITE, 1, 0, 7);
	add(st, "b", "v", "2");
	assert_true(faults_count(FAULT_WRITE) >= 2);
	faults_reset();
	struct checkpoint *cp = load_ok();
	assert_int_equal(cp->seq, 2);
	assert_string_equal(output_of(cp, "b", "v"), "2");
	checkpoint_free(cp);
	assert_int_equal(testutil_count_entries(dir), 1);
	checkpoint_store_free(st);
}

static void test_checkpoint_dir_fsync_failure_never_reuses_seq(void **state)
{
	(void)state;
	/* The directory fsync comes after the rename: the new file is in place
	 * but not known durable, so the save fails.  Its seq is used up. */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	faults_reset();
	faults_arm(FAULT_FSYNC, 2, EIO, 0);
	_cleanup_json_ struct json_object *o = outputs2("v", "2", NULL, NULL);
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_store_add_completed(st, "b", o, &e), -EIO);
	faults_reset();
	assert_non_null(strstr(e->msg, "fsync"));
	rv_error_free(e);
	struct checkpoint *cp = load_ok();
	assert_int_equal(cp->seq, 2); /* what is on disk is complete */
	checkpoint_free(cp);
	add(st, "c", "v", "3");
	cp = load_ok();
	assert_int_equal(cp->seq, 3);
	assert_int_equal(json_object_array_length(cp->completed_steps), 3);
	checkpoint_free(cp);
	assert_int_equal(testutil_count_entries(dir), 1);
	checkpoint_store_free(st);
}

static void test_checkpoint_save_syscall_order(void **state)
{
	(void)state;
	/* temp fsync + directory fsync, one rename, per save, in that order */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	faults_reset();
	assert_int_equal(checkpoint_store_save(st, NULL), 0);
	/* ... and the file's read-back after (its close is the last word) */
	assert_string_equal(faults_trace(), "write fsync:file close rename fsync:dir close close");
	faults_reset();
	checkpoint_store_free(st);
}

static void test_checkpoint_lost_write_fails_the_save(void **state)
{
	(void)state;
	/* The disk said yes but kept only part of the file: the read-back is
	 * what turns that into an error instead of a checkpoint a resume cannot
	 * load. */
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	faults_reset();
	faults_arm_lost_write(1, 10);
	_cleanup_json_ struct json_object *o = outputs2("v", "2", NULL, NULL);
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_store_add_completed(st, "b", o, &e), -EIO);
	faults_reset();
	if (!strstr(e->msg, "read back"))
		fail_msg("not a read-back error: %s", e->msg);
	rv_error_free(e);
	/* the next save writes the whole state again */
	assert_int_equal(checkpoint_store_save(st, NULL), 0);
	struct checkpoint *cp = load_ok();
	assert_non_null(checkpoint_completed_outputs(cp, "b"));
	checkpoint_free(cp);
	checkpoint_store_free(st);
}

static void test_checkpoint_missing_dir_fails(void **state)
{
	(void)state;
	_cleanup_free_ char *p = fileio_join(dir, "nope/checkpoint.json");
	struct checkpoint_store *st = checkpoint_store_new(p, HASH, NULL);
	_cleanup_json_ struct json_object *o = outputs2("v", "1", NULL, NULL);
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_store_add_completed(st, "a", o, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "nope"));
	rv_error_free(e);
	assert_non_null(checkpoint_completed_outputs(checkpoint_store_get(st), "a"));
	checkpoint_store_free(st);
}

static void test_checkpoint_verify_file(void **state)
{
	(void)state;
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	checkpoint_store_free(st);
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_verify_file(cp_path, 1, HASH, NULL), 0);
	assert_int_equal(checkpoint_verify_file(cp_path, 2, HASH, &e), -EIO);
	assert_non_null(strstr(e->msg, "seq 1, expected 2"));
	e = rv_error_free(e);
	assert_int_equal(checkpoint_verify_file(cp_path, 1, HASH2, &e), -EIO);
	assert_non_null(strstr(e->msg, "workflowHash"));
	e = rv_error_free(e);
	write_raw("{\"seq\": 1, \"workflowHash\": \"" HASH "\"");
	assert_int_equal(checkpoint_verify_file(cp_path, 1, HASH, &e), -EIO);
	assert_non_null(strstr(e->msg, cp_path));
	rv_error_free(e);
}

/* ---- other operations --------------------------------------------------------- */

static bool keep_not_b(const char *id, void *data)
{
	(*(int *)data)++;
	return strcmp(id, "b") != 0 && strcmp(id, "gone-loop") != 0;
}

static void test_checkpoint_drop_unknown(void **state)
{
	(void)state;
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	add(st, "a", "v", "1");
	add(st, "b", "v", "2");
	add(st, "c", "v", "3");
	assert_int_equal(
		checkpoint_store_set_loop_progress(st, "gone-loop", 1, 0, NULL, NULL, NULL), 0);
	assert_int_equal(
		checkpoint_store_set_loop_progress(st, "kept-loop", 1, 0, NULL, NULL, NULL), 0);
	checkpoint_store_free(st);
	struct checkpoint *cp = load_ok();
	int calls = 0;
	assert_int_equal(checkpoint_drop_unknown(cp, keep_not_b, &calls), 1);
	assert_true(calls >= 5);
	assert_int_equal(json_object_array_length(cp->completed_steps), 2);
	assert_string_equal(completed_id(cp, 0), "a");
	assert_string_equal(completed_id(cp, 1), "c");
	struct checkpoint_loop_progress lp;
	assert_false(checkpoint_loop_progress(cp, "gone-loop", &lp));
	assert_true(checkpoint_loop_progress(cp, "kept-loop", &lp));
	checkpoint_free(cp);
}

static void test_checkpoint_pause_and_remove(void **state)
{
	(void)state;
	struct checkpoint_store *st = checkpoint_store_new(cp_path, HASH, NULL);
	struct rv_error *e = NULL;
	assert_int_equal(checkpoint_store_set_pause(st, "napping", 0, &e), -EINVAL);
	e = rv_error_free(e);
	assert_false(fileio_exists(cp_path));
	assert_int_equal(checkpoint_store_set_pause(st, "signal", 0, NULL), 0);
	struct checkpoint *cp = load_ok();
	assert_string_equal(cp->pause_reason, "signal");
	assert_int_equal(cp->reset_at_ms, 0);
	checkpoint_free(cp);
	_cleanup_free_ char *raw = read_raw(cp_path);
	assert_null(strstr(raw, "resetAt"));
	assert_null(strstr(raw, "failedStepId"));

	assert_int_equal(checkpoint_store_remove(st, NULL), 0);
	assert_false(fileio_exists(cp_path));
	assert_int_equal(checkpoint_store_remove(st, NULL), 0); /* already gone: fine */
	assert_null(checkpoint_free(NULL));
	assert_null(checkpoint_store_free(st));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_checkpoint_round_trip),
		T(test_checkpoint_upsert_keeps_order),
		T(test_checkpoint_seeding_clears_failure_and_continues_seq),
		T(test_checkpoint_staged_failure_goes_out_with_the_pause),
		T(test_checkpoint_load_rejects_bad_files),
		T(test_checkpoint_load_coerces_and_keeps_unknown),
		T(test_checkpoint_loop_progress_validation),
		T(test_checkpoint_values_capped_and_utf8),
		T(test_checkpoint_enospc_on_write),
		T(test_checkpoint_eio_on_fsync),
		T(test_checkpoint_exdev_on_rename),
		T(test_checkpoint_eio_on_close),
		T(test_checkpoint_short_write_completes),
		T(test_checkpoint_dir_fsync_failure_never_reuses_seq),
		T(test_checkpoint_save_syscall_order),
		T(test_checkpoint_missing_dir_fails),
		T(test_checkpoint_verify_file),
		T(test_checkpoint_lost_write_fails_the_save),
		T(test_checkpoint_drop_unknown),
		T(test_checkpoint_pause_and_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
