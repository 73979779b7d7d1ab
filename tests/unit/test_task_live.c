/* Unit tests for supervisor/lib/task_live: a listing kept in memory must
 * equal a fresh listing of the disk after every kind of change - a record
 * rewritten by another process, a task created, one removed, a write of this
 * process listed before the watch thread saw it - while re-reading only the
 * tasks that changed; and it must read everything when the watch lost
 * events or no watch runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_live.h"
#include "supervisor/lib/task_store.h"
#include "supervisor/lib/watch.h"

static char dir[] = "/tmp/rover-test-live-XXXXXX";
static struct task_store *st;    /* with the model attached */
static struct task_store *other; /* the same store, as another process sees it */
static struct watch *w;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-live-XXXXXX");
	if (!mkdtemp(dir) || task_store_open(dir, &st, NULL) < 0 ||
	    task_store_open(dir, &other, NULL) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (task_store_create(other, "task", "do it", timeutil_now_ms(), NULL, NULL, NULL,
				      NULL) < 0)
			return -1;
	st->live = task_live_new();
	return watch_start(st->tasks_dir, &w, NULL);
}

static int teardown(void **state)
{
	(void)state;
	watch_stop(w);
	task_live_free(st->live);
	st->live = NULL;
	task_store_free(st);
	task_store_free(other);
	return fileio_remove_tree(dir, NULL);
}

/* Until the watch thread reported the change (it notes ids first). */
static void wait_event(void)
{
	int64_t deadline = timeutil_mono_ms() + 5000;
	while (timeutil_mono_ms() < deadline) {
		struct pollfd p = {.fd = watch_fd(w), .events = POLLIN};
		if (poll(&p, 1, 50) > 0 && (watch_drain(w) & WATCH_CHANGED)) {
			/* the rest of a batch (a directory and its files) */
			poll(&p, 1, 100);
			watch_drain(w);
			return;
		}
	}
	fail_msg("no watch event within 5 s");
}

/* The model's listing equals the disk's: ids, statuses and titles. */
static void check_same(size_t want_read, bool want_full)
{
	struct task_list live = {0}, disk = {0};
	assert_int_equal(task_store_list(st, &live, NULL), 0);
	assert_int_equal(task_store_list_disk(st, &disk, NULL), 0);
	assert_int_equal(live.n, disk.n);
	for (size_t i = 0; i < live.n; i++) {
		assert_int_equal(live.entries[i].id, disk.entries[i].id);
		assert_non_null(live.entries[i].task);
		assert_int_equal(task_status(live.entries[i].task),
				 task_status(disk.entries[i].task));
		assert_string_equal(task_title(live.entries[i].task),
				    task_title(disk.entries[i].task));
	}
	size_t n_read = 0;
	bool full = false;
	task_live_last(st->live, &n_read, &full);
	assert_int_equal(full, want_full);
	if (!want_full)
		assert_int_equal(n_read, want_read);
	task_list_release(&live);
	task_list_release(&disk);
}

static int set_title(struct task *t, void *ud, struct rv_error **err)
{
	(void)err;
	jsonutil_set_str(t->obj, "title", ud);
	return 0;
}

static void test_changes_are_read_one_by_one(void **state)
{
	(void)state;
	check_same(0, true);  /* the first listing reads everything */
	check_same(0, false); /* nothing changed: nothing read */
	/* another process rewrites a record */
	assert_int_equal(task_store_update(other, 2, set_title, (char *)"renamed", NULL, NULL), 0);
	wait_event();
	check_same(1, false);
	/* another process creates a task */
	assert_int_equal(
		task_store_create(other, "new", "x", timeutil_now_ms(), NULL, NULL, NULL, NULL), 0);
	wait_event();
	check_same(1, false);
	/* and removes one */
	assert_int_equal(task_store_delete(other, 1, NULL), 0);
	wait_event();
	check_same(1, false);
	/* an edit in place (an editor, not a rename) */
	_cleanup_free_ char *p = task_store_description_path(other, 3);
	_cleanup_json_ struct json_object *o = json_object_from_file(p);
	assert_non_null(o);
	jsonutil_set_str(o, "title", "edited in place");
	assert_int_equal(json_object_to_file(p, o), 0);
	wait_event();
	check_same(1, false);
}

static void test_own_writes_are_seen_at_once(void **state)
{
	(void)state;
	/* The watch looks elsewhere, so no event can tell the model: only
	 * the note of the write itself does (in real use the loop may list
	 * before the watch thread has seen the write). */
	w = watch_stop(w);
	_cleanup_free_ char *elsewhere = fileio_join(dir, "elsewhere");
	assert_int_equal(fileio_mkdir_p(elsewhere, 0755, NULL), 0);
	assert_int_equal(watch_start(elsewhere, &w, NULL), 0);
	check_same(0, true);
	assert_int_equal(task_store_update(st, 3, set_title, (char *)"mine", NULL, NULL), 0);
	struct task_list l = {0};
	assert_int_equal(task_store_list(st, &l, NULL), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(task_title(l.entries[2].task), "mine");
	task_list_release(&l);
	assert_int_equal(task_store_delete(st, 2, NULL), 0);
	assert_int_equal(task_store_list(st, &l, NULL), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.entries[1].id, 3);
	task_list_release(&l);
	assert_int_equal(
		task_store_create(st, "mine too", "x", timeutil_now_ms(), NULL, NULL, NULL, NULL),
		0);
	check_same(1, false);
}

static void test_lost_events_or_no_watch_read_everything(void **state)
{
	(void)state;
	check_same(0, true);
	check_same(0, false);
	watch_note_all(); /* as after IN_Q_OVERFLOW */
	check_same(0, true);
	check_same(0, false);
	/* no watch: every listing reads the disk, changes included */
	w = watch_stop(w);
	check_same(0, true);
	assert_int_equal(task_store_update(other, 1, set_title, (char *)"unwatched", NULL, NULL),
			 0);
	check_same(0, true);
	/* a new watch: read once more, then incrementally again */
	assert_int_equal(watch_start(st->tasks_dir, &w, NULL), 0);
	check_same(0, true);
	check_same(0, false);
}

static void test_a_task_being_created_is_looked_at_again(void **state)
{
	(void)state;
	check_same(0, true);
	/* a directory without its record yet (created just now: not broken) */
	_cleanup_free_ char *d = task_store_task_dir(other, 9);
	assert_int_equal(fileio_mkdir_p(d, 0755, NULL), 0);
	wait_event();
	check_same(1, false);
	/* its record appears: listed, though only the directory had an event
	 * before its watch existed */
	_cleanup_free_ char *src = task_store_description_path(other, 3);
	_cleanup_free_ char *dst = task_store_description_path(other, 9);
	_cleanup_json_ struct json_object *o = json_object_from_file(src);
	jsonutil_set_int64(o, "id", 9);
	assert_int_equal(json_object_to_file(dst, o), 0);
	wait_event();
	struct task_list l = {0};
	assert_int_equal(task_store_list(st, &l, NULL), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.entries[3].id, 9);
	task_list_release(&l);
}

/* What the listings re-read is kept for the supervisor loop until it asks,
 * across listings made by anyone in the process. */
static void test_changed_ids_are_kept_until_taken(void **state)
{
	(void)state;
	int64_t *ids = NULL;
	size_t n = 0;
	assert_true(task_live_take_changed(st->live, &ids, &n)); /* a new model: all */
	check_same(0, true);
	assert_true(task_live_take_changed(st->live, &ids, &n)); /* a full read: all */
	assert_null(ids);
	check_same(0, false);
	assert_false(task_live_take_changed(st->live, &ids, &n));
	assert_int_equal(n, 0);
	assert_null(ids);
	/* two changes, each listed (by someone else of the process) */
	assert_int_equal(task_store_update(other, 3, set_title, (char *)"a", NULL, NULL), 0);
	wait_event();
	check_same(1, false);
	assert_int_equal(task_store_update(other, 1, set_title, (char *)"b", NULL, NULL), 0);
	wait_event();
	check_same(1, false);
	assert_false(task_live_take_changed(st->live, &ids, &n));
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 3);
	free(ids);
	/* taken: nothing left */
	assert_false(task_live_take_changed(st->live, &ids, &n));
	assert_int_equal(n, 0);
	/* lost events: all again */
	watch_note_all();
	check_same(0, true);
	assert_true(task_live_take_changed(st->live, &ids, &n));
	assert_null(ids);
}

/* A kept listing patched by task_live_list_update equals a fresh one. */
static void check_kept(struct task_list *kept)
{
	struct task_list disk = {0};
	assert_int_equal(task_live_list_update(st->live, st, kept, NULL), 0);
	assert_int_equal(task_store_list_disk(st, &disk, NULL), 0);
	assert_int_equal(kept->n, disk.n);
	for (size_t i = 0; i < kept->n; i++) {
		assert_int_equal(kept->entries[i].id, disk.entries[i].id);
		assert_string_equal(task_title(kept->entries[i].task),
				    task_title(disk.entries[i].task));
	}
	task_list_release(&disk);
}

static void test_a_kept_listing_is_patched(void **state)
{
	(void)state;
	struct task_list kept = {0};
	check_kept(&kept);
	struct task_list_entry *before = kept.entries;
	check_kept(&kept); /* nothing changed: not handed out anew */
	assert_ptr_equal(kept.entries, before);
	assert_int_equal(task_store_update(other, 2, set_title, (char *)"patched", NULL, NULL), 0);
	wait_event();
	check_kept(&kept);
	assert_string_equal(task_title(kept.entries[1].task), "patched");
	assert_int_equal(
		task_store_create(other, "new", "x", timeutil_now_ms(), NULL, NULL, NULL, NULL), 0);
	wait_event();
	check_kept(&kept);
	assert_int_equal(kept.n, 4);
	assert_int_equal(task_store_delete(other, 1, NULL), 0);
	wait_event();
	check_kept(&kept);
	assert_int_equal(kept.n, 3);
	assert_int_equal(kept.entries[0].id, 2);
	/* another listing of the process re-reads a change first: the kept
	 * listing is still patched with it */
	assert_int_equal(task_store_update(other, 2, set_title, (char *)"listed first", NULL, NULL),
			 0);
	wait_event();
	struct task_list l = {0};
	assert_int_equal(task_store_list(st, &l, NULL), 0);
	task_list_release(&l);
	check_kept(&kept);
	assert_string_equal(task_title(kept.entries[0].task), "listed first");
	/* this process's own write, before the watch saw it */
	assert_int_equal(task_store_update(st, 3, set_title, (char *)"mine", NULL, NULL), 0);
	check_kept(&kept);
	assert_string_equal(task_title(kept.entries[1].task), "mine");
	task_list_release(&kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changes_are_read_one_by_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_writes_are_seen_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_events_or_no_watch_read_everything, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_task_being_created_is_looked_at_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_changed_ids_are_kept_until_taken, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_kept_listing_is_patched, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
