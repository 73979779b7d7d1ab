/* Fuzz engine_container_info_parse (GET /containers/{id}/json). */
#include "common/jsonutil.h"
#include "supervisor/lib/engine.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL;
	if (jsonutil_parse((const char *)data, size, "inspect", &o, NULL) < 0)
		return 0;
	struct engine_container_info info = {0};
	struct rv_error *err = NULL;
	if (engine_container_info_parse(o, &info, &err) == 0) {
		if (!info.id || info.started_at_ms < 0 || info.finished_at_ms < 0)
			abort();
		(void)engine_label_get(info.labels, info.n_labels, "rover.task");
		engine_container_info_release(&info);
	}
	rv_error_free(err);
	json_object_put(o);
	return 0;
}
