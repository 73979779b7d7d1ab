/* Fuzz engine_container_list_parse (GET /containers/json). */
#include "common/jsonutil.h"
#include "supervisor/lib/engine.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL;
	if (jsonutil_parse((const char *)data, size, "list", &o, NULL) < 0)
		return 0;
	struct engine_container_summary *list = NULL;
	size_t n = 0;
	struct rv_error *err = NULL;
	if (engine_container_list_parse(o, &list, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!list[i].id)
				abort();
		engine_container_list_free(list, n);
	}
	rv_error_free(err);
	json_object_put(o);
	return 0;
}
