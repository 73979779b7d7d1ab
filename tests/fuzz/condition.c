/* Fuzz the if/until evaluator: input = expression 0xff steps-JSON. */
#include <json-c/json.h>

#include "agent-runner/condition.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = fuzz_take(&data, &size);
	char *json = fuzz_strndup(data, size);
	struct json_object *steps = json_tokener_parse(json);
	char *reason = NULL, *warning = NULL;
	bool valid = condition_is_valid(expr, &reason);
	if (!valid && !reason)
		abort();
	(void)condition_eval(expr, steps, &warning);
	free(reason);
	free(warning);
	json_object_put(steps);
	free(json);
	free(expr);
	return 0;
}
