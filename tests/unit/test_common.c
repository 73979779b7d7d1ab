/* Unit tests for the small common modules: error, jsonutil, timeutil, sha256, proc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/proc.h"
#include "common/sha256.h"
#include "common/timeutil.h"
#include "common/tty.h"

static void test_error_wrap_prefixes_and_keeps_code(void **state)
{
	(void)state;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(rv_error_set(&e, ENOENT, "task %d not found", 7), -ENOENT);
	assert_int_equal(rv_error_wrap(&e, "cannot resume"), -ENOENT);
	assert_string_equal(e->msg, "cannot resume: task 7 not found");
	assert_false(rv_error_is_transient(e));
	e->http_status = 503;
	assert_true(rv_error_is_transient(e));
	assert_int_equal(rv_error_set(NULL, EIO, "ignored"), -EIO);
}

static void test_sha256_known_vectors(void **state)
{
	(void)state;
	char hex[SHA256_HEX_LEN];
	sha256_hex("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(m, strlen(m), hex);
	assert_string_equal(hex,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *a = malloc(1000000);
	memset(a, 'a', 1000000);
	sha256_hex(a, 1000000, hex);
	free(a);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_timeutil_roundtrip(void **state)
{
	(void)state;
	char buf[TIMEUTIL_ISO_LEN];
	int64_t ms = 1795335467123;
	timeutil_format_iso(ms, buf);
	assert_string_equal(buf, "2026-11-22T08:17:47.123Z");
	int64_t back = 0;
	assert_true(timeutil_parse_iso(buf, &back));
	assert_int_equal(back, ms);
	assert_true(timeutil_parse_iso("2026-11-22T09:17:47+01:00", &back));
	assert_int_equal(back, 1795335467000);
	assert_false(timeutil_parse_iso("yesterday", &back));
	assert_false(timeutil_parse_iso("2026-11-22T08:17:47", &back));
}

/* Issue 15: a zone offset with one-digit fields passed a "%2d:%2d" scan and
 * the parser then stepped six bytes, past the end of the string.  The text
 * sits in a buffer whose following bytes are NULs, so the old code accepted
 * it (and read out of bounds); an exact-size heap copy makes ASan see the
 * read too (make check). */
static void parse_exact(const char *text, bool want_ok, int64_t want_ms)
{
	char padded[64] = {0};
	assert_true(strlen(text) < sizeof(padded) - 8);
	memcpy(padded, text, strlen(text));
	int64_t ms = -42;
	if (timeutil_parse_iso(padded, &ms) != want_ok)
		fail_msg("timeutil_parse_iso(\"%s\") should %s", text, want_ok ? "pass" : "fail");
	if (want_ok)
		assert_int_equal(ms, want_ms);
	else
		assert_int_equal(ms, -42); /* not written */
	char *exact = strdup(text);
	ms = -42;
	assert_int_equal(timeutil_parse_iso(exact, &ms), want_ok);
	free(exact);
}

static void test_timeutil_parse_strict(void **state)
{
	(void)state;
	/* the two inputs of issue 15 */
	parse_exact("2026-11-26T14:00:00+1:0", false, 0);
	parse_exact("1-1-1T0:0:0-0:0", false, 0);
	/* what engines and our runner write */
	parse_exact("2026-11-26T14:00:00Z", true, 1795701600000);
	parse_exact("2026-11-26T14:00:00.5Z", true, 1795701600500);
	parse_exact("2026-11-26T14:00:00.123456789Z", true, 1795701600123);
	parse_exact("2026-11-26T15:30:00+01:30", true, 1795701600000);
	parse_exact("2026-11-26T12:00:00-02:00", true, 1795701600000);
	parse_exact("0001-01-01T00:00:00Z", true, -62135596800000); /* Docker's "never" */
	parse_exact("2024-02-29T00:00:00Z", true, 1709164800000);
	/* wrong digit counts, ranges, separators, trailers */
	const char *bad[] = {
		"",
		"2026-11-26T14:00:00",
		"2026-11-26T14:00:00+01",
		"2026-11-26T14:00:00+0100",
		"2026-11-26T14:00:00+01:0",
		"2026-11-26T14:00:00+01:000",
		"2026-11-26T14:00:00+24:00",
		"2026-11-26T14:00:00+01:60",
		"2026-11-26T14:00:00.Z",
		"2026-11-26T14:00:00.1234567890Z",
		"2026-11-26T14:00:00ZZ",
		"2026-11-26T14:00:00z",
		"2026-11-26 14:00:00Z",
		"2026-1-26T14:00:00Z",
		"2026-13-26T14:00:00Z",
		"2026-00-26T14:00:00Z",
		"2026-11-31T14:00:00Z",
		"2025-02-29T00:00:00Z",
		"2026-11-26T24:00:00Z",
		"2026-11-26T14:60:00Z",
		"2026-11-26T14:00:61Z",
		"+2026-11-26T14:00:00Z",
		" 2026-11-26T14:00:00Z",
		"2026-11-26T14:00:00Z ",
		"2026-11-26T14:00:00.1-00:00x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_exact(bad[i], false, 0);
	/* a long text is refused without being read to its end */
	char *longer = malloc(4096);
	memset(longer, '9', 4095);
	longer[4095] = '\0';
	memcpy(longer, "2026-11-26T14:00:00.", 20);
	int64_t ms;
	assert_false(timeutil_parse_iso(longer, &ms));
	free(longer);
	assert_false(timeutil_parse_iso(NULL, &ms));
}

static void test_jsonutil_parse_errors_name_the_source(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(jsonutil_parse("{\"a\": 1", 7, "'x.json'", &o, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "'x.json' is truncated"));
	assert_int_equal(jsonutil_parse("", 0, "'x.json'", &o, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "empty"));
	assert_int_equal(jsonutil_parse("{} x", 4, "'x.json'", &o, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "trailing"));
	assert_int_equal(jsonutil_parse("{\n\"a\": tru }", 12, "'x.json'", &o, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "line 2"));
	assert_int_equal(jsonutil_parse(" {\"a\": [1]} \n", 13, "'x.json'", &o, &e), 0);
	assert_non_null(jsonutil_get_array(o, "a"));
	json_object_put(o);
}

static void test_jsonutil_write_read_roundtrip(void **state)
{
	(void)state;
	char dir[] = "/tmp/rover-test-json-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *p = xasprintf("%s/x.json", dir);
	_cleanup_json_ struct json_object *o = json_object_new_object();
	jsonutil_set_str(o, "path", "a/b");
	jsonutil_set_int64(o, "n", 42);
	jsonutil_set_bool(o, "ok", true);
	assert_int_equal(jsonutil_write_file(p, o, NULL), 0);
	_cleanup_json_ struct json_object *back = NULL;
	assert_int_equal(jsonutil_read_object(p, &back, NULL), 0);
	assert_string_equal(jsonutil_get_str(back, "path"), "a/b");
	int64_t n = 0;
	assert_true(jsonutil_get_int64(back, "n", &n));
	assert_int_equal(n, 42);
	bool b = false;
	assert_true(jsonutil_get_bool(back, "ok", &b));
	assert_true(b);
	assert_null(jsonutil_get_str(back, "n"));
	unlink(p);
	rmdir(dir);
}

static void test_proc_identity(void **state)
{
	(void)state;
	uint64_t t1 = 0, t2 = 0;
	assert_true(proc_is_alive(getpid()));
	assert_false(proc_is_alive(0));
	assert_false(proc_is_alive(-5));
	assert_true(proc_start_time(getpid(), &t1));
	assert_true(proc_start_time(getpid(), &t2));
	assert_int_equal(t1, t2);
	assert_false(proc_start_time(999999999, &t1));
	char boot[40];
	assert_true(proc_boot_id(boot, sizeof(boot)));
	assert_int_equal(strlen(boot), 36);
}

static void test_tty_manners(void **state)
{
	(void)state;
	/* $COLUMNS wins when it is a positive number, else the terminal's width */
	assert_int_equal(tty_columns_from("60", 200), 60);
	assert_int_equal(tty_columns_from(NULL, 132), 132);
	assert_int_equal(tty_columns_from("", 132), 132);
	assert_int_equal(tty_columns_from("wide", 132), 132);
	assert_int_equal(tty_columns_from("-5", 0), 0);
	assert_int_equal(tty_columns_from("0", 90), 90);
	/* colour only on a terminal, never with NO_COLOR or TERM=dumb */
	assert_true(tty_color_from(true, NULL, "xterm"));
	assert_true(tty_color_from(true, "", "xterm"));
	assert_false(tty_color_from(false, NULL, "xterm"));
	assert_false(tty_color_from(true, "1", "xterm"));
	assert_false(tty_color_from(true, NULL, "dumb"));
	assert_true(tty_codeset_is_utf8("UTF-8"));
	assert_true(tty_codeset_is_utf8("utf8"));
	assert_false(tty_codeset_is_utf8("ANSI_X3.4-1968"));
	assert_false(tty_codeset_is_utf8(NULL));
	/* the locale's name: LC_ALL over LC_CTYPE over LANG, empty = unset */
	assert_true(tty_locale_is_utf8(NULL, NULL, "en_US.UTF-8"));
	assert_true(tty_locale_is_utf8(NULL, NULL, "C.utf8"));
	assert_true(tty_locale_is_utf8("", "de_DE.UTF-8@euro", "C"));
	assert_false(tty_locale_is_utf8("C", "en_US.UTF-8", "en_US.UTF-8"));
	assert_false(tty_locale_is_utf8("POSIX", NULL, NULL));
	assert_false(tty_locale_is_utf8(NULL, NULL, "en_US"));
	assert_false(tty_locale_is_utf8(NULL, NULL, "en_US.ISO-8859-1"));
	assert_false(tty_locale_is_utf8(NULL, NULL, NULL));
	assert_false(tty_locale_is_utf8(NULL, NULL, "x.UTF-8-but-far-too-long-a-codeset"));
	/* not a terminal: no raw mode, nothing to restore */
	struct tty_saved saved;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(tty_raw(fds[0], &saved), -ENOTTY);
	assert_false(saved.saved);
	tty_restore(&saved);
	assert_int_equal(tty_columns(fds[1]), 0);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tty_manners),
		cmocka_unit_test(test_error_wrap_prefixes_and_keeps_code),
		cmocka_unit_test(test_sha256_known_vectors),
		cmocka_unit_test(test_timeutil_roundtrip),
		cmocka_unit_test(test_timeutil_parse_strict),
		cmocka_unit_test(test_jsonutil_parse_errors_name_the_source),
		cmocka_unit_test(test_jsonutil_write_read_roundtrip),
		cmocka_unit_test(test_proc_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
