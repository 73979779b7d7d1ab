/* Fuzz the host's readers of status.json (written by the agent's container):
 * reconcile_from_status() on an active task, and the provider reset time
 * (retry_read_reset_at, which reads `resetAt` of checkpoint.json and then of
 * status.json; the same bytes serve as both).  Whatever the file says, the
 * task must stay a record that validates (it is saved next). */
#include "supervisor/lib/reconcile.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/task.h"
#include "tests/fuzz/fuzz_util.h"

#define T0 INT64_C(1795335467123)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("status.json", data, size);
	for (int pass = 0; pass < 2; pass++) {
		struct task *t = NULL;
		if (task_new(7, "fuzz", NULL, T0, &t, NULL) < 0)
			abort();
		if (task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, T0, NULL) < 0)
			abort();
		if (pass == 1 &&
		    task_set_status(t, TASK_ITERATING, NULL, TASK_PAUSE_NONE, T0, NULL) < 0)
			abort();
		bool changed = false;
		struct rv_error *err = NULL;
		(void)reconcile_from_status(t, path, T0 + 1, &changed, &err);
		rv_error_free(err);
		err = NULL;
		if (task_validate(t, "task.json", &err) < 0) {
			fprintf(stderr, "record no longer valid: %s\n", rv_error_msg(err));
			abort();
		}
		task_free(t);
	}
	char *note = NULL;
	int64_t reset = retry_read_reset_at(path, path, T0, &note);
	if (reset < 0)
		abort();
	free(note);
	return 0;
}
