/* Fuzz engine_event_parse (one line of the engine's event stream). */
#include "supervisor/lib/engine_events.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_event ev = {0};
	struct rv_error *err = NULL;
	if (engine_event_parse((const char *)data, size, &ev, &err) == 0) {
		if (!ev.type || !ev.action || !ev.id || ev.time_ns < 0)
			abort();
		(void)engine_event_attr(&ev, "rover.task");
		engine_event_release(&ev);
	}
	rv_error_free(err);
	return 0;
}
