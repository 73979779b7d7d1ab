/* Fuzz checkpoint_load (checkpoint.json, written by the agent's container,
 * read by `rover supervise` and `rover inspect`). */
#include "agent-runner/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("checkpoint.json", data, size);
	struct checkpoint *cp = NULL;
	char *warning = NULL;
	struct rv_error *err = NULL;
	if (checkpoint_load(path, &cp, &warning, &err) == 0) {
		(void)checkpoint_completed_outputs(cp, "a");
		struct checkpoint_loop_progress lp;
		(void)checkpoint_loop_progress(cp, "a", &lp);
	}
	checkpoint_free(cp);
	free(warning);
	rv_error_free(err);
	return 0;
}
