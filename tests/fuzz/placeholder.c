/* Fuzz the placeholder resolver: input = text 0xff inputs-JSON 0xff
 * steps-JSON, in every mode. */
#include <json-c/json.h>

#include "agent-runner/placeholder.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_take(&data, &size);
	char *in = fuzz_take(&data, &size);
	char *st = fuzz_strndup(data, size);
	struct json_object *inputs = json_tokener_parse(in);
	struct json_object *steps = json_tokener_parse(st);
	static const unsigned modes[] = {PLACEHOLDER_LENIENT, PLACEHOLDER_STRICT,
					 PLACEHOLDER_SHELL_QUOTE,
					 PLACEHOLDER_STRICT | PLACEHOLDER_SHELL_QUOTE};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *out = NULL, *unresolved = NULL;
		struct rv_error *err = NULL;
		if (placeholder_resolve(text, inputs, steps, modes[i], &out, &unresolved, &err) ==
			    0 &&
		    !out)
			abort();
		free(out);
		free(unresolved);
		rv_error_free(err);
	}
	char *cmd = NULL, **env = NULL;
	struct rv_error *err = NULL;
	if (placeholder_resolve_env(text, inputs, steps, &cmd, &env, &err) == 0) {
		if (!cmd || !env)
			abort();
		free(cmd);
		placeholder_env_free(env);
	}
	rv_error_free(err);
	free(placeholder_shell_quote(text));
	json_object_put(inputs);
	json_object_put(steps);
	free(st);
	free(in);
	free(text);
	return 0;
}
