/* Fuzz the checkpoint loader (checkpoint.json, written inside the agent's
 * container, read by `rover inspect` and `rover supervise`): the host reads
 * it through iterfile_read_json (the path below) and checkpoint_from_json;
 * the runner loads it with checkpoint_load when it resumes.  Both ways run
 * on every input. */
#include "agent-runner/checkpoint.h"
#include "supervisor/lib/iterfile.h"
#include "tests/fuzz/fuzz_util.h"

static void use(struct checkpoint *cp)
{
	(void)checkpoint_completed_outputs(cp, "a");
	struct checkpoint_loop_progress lp;
	(void)checkpoint_loop_progress(cp, "a", &lp);
	if (cp->seq < 1 || cp->seq > (INT64_C(1) << 53))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("checkpoint.json", data, size);
	struct checkpoint *cp = NULL;
	char *warning = NULL;
	struct rv_error *err = NULL;
	if (checkpoint_load(path, &cp, &warning, &err) == 0)
		use(cp);
	cp = checkpoint_free(cp);
	free(warning);
	warning = NULL;
	rv_error_free(err);
	err = NULL;

	struct json_object *root = NULL;
	if (iterfile_read_json(path, &root, NULL) == 0) {
		if (checkpoint_from_json(root, path, &cp, &warning, &err) == 0)
			use(cp);
		checkpoint_free(cp);
		free(warning);
		rv_error_free(err);
		json_object_put(root);
	}
	return 0;
}
