#include "layout.h"

#include "common/error.h"

_Static_assert(LAYOUT_DRAIN_REASON_MAX + 1 <= LAYOUT_DRAIN_FILE_MAX,
	       "the runner must be able to read every reason rover writes");

char *layout_label(const char *key, const char *value)
{
	return xasprintf("%s=%s", key, value ? value : "");
}

char *layout_label_id(const char *key, int64_t id)
{
	return xasprintf("%s=%lld", key, (long long)id);
}
