/* Fuzz the task record parser (task_parse: tasks/<id>/task.json, which any
 * process with the store can edit) and what rover does next with a record:
 * validate, read its fields, decide an automatic retry, restart it. */
#include "common/timeutil.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/task.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct task *t = NULL;
	struct rv_error *err = NULL;
	bool migrated = false;
	if (task_parse((const char *)data, size, 0, "task.json", &t, &migrated, &err) == 0) {
		if (task_validate(t, "task.json", NULL) < 0)
			abort(); /* parse accepted what validate refuses */
		int64_t ms;
		(void)task_get_time(t, "createdAt", &ms);
		(void)task_iterations(t);
		(void)task_title(t);
		(void)task_pause_reason(t);
		struct task_auto_retry ar;
		task_get_auto_retry(t, &ar);
		const char *kind, *endpoint;
		(void)task_get_engine(t, &kind, &endpoint);
		static const struct project_retry settings = {
			.max = 5, .base_seconds = 60, .cap_seconds = 3600};
		struct retry_policy p;
		retry_policy_init(&p, &settings);
		struct retry_decision d;
		retry_decide(t, &p, INT64_C(1795335467123), 0, 0, &d);
		(void)retry_apply_schedule(t, &p, INT64_C(1795335467123), 0, 0);
		(void)retry_apply_attempt(t, &p, INT64_C(1795335467123) + 3600 * 1000);
		if (task_validate(t, "task.json", &err) < 0) {
			fprintf(stderr, "retry made the record invalid: %s\n", rv_error_msg(err));
			abort();
		}
		if (task_restart(t, INT64_C(1795335467123), NULL) == 0 &&
		    task_validate(t, "task.json", &err) < 0) {
			fprintf(stderr, "restart made the record invalid: %s\n", rv_error_msg(err));
			abort();
		}
		struct json_object *o = task_json(t);
		(void)o;
		task_free(t);
	}
	rv_error_free(err);
	return 0;
}
