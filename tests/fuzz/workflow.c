/* Fuzz workflow_parse (a repository's workflow YAML) and the helpers that
 * walk the tree it returns. */
#include "agent-runner/workflow.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct workflow *wf = NULL;
	struct rv_error *err = NULL;
	if (workflow_parse((const char *)data, size, "fuzz.yml", &wf, &err) == 0) {
		size_t n = workflow_count_steps(wf);
		if (n == 0 || n > WORKFLOW_MAX_STEPS)
			abort();
		for (size_t i = 0; i < wf->n_steps; i++) {
			if (workflow_find_step(wf, wf->steps[i].id) != &wf->steps[i])
				abort();
			(void)workflow_step_timeout(wf, &wf->steps[i]);
			if (wf->steps[i].type == WORKFLOW_STEP_LOOP &&
			    workflow_loop_max_iterations(wf, &wf->steps[i]) < 1)
				abort();
		}
	} else if (!err || !rv_error_msg(err)[0]) {
		abort(); /* every refusal says why */
	}
	workflow_free(wf);
	rv_error_free(err);
	return 0;
}
