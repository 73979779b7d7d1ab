/* Fuzz timeutil_parse_iso: no read past the string, no overflow, and what
 * it accepts formats back to the same instant. */
#include <stdbool.h>

#include "common/timeutil.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	int64_t ms = 0;
	if (timeutil_parse_iso(s, &ms)) {
		/* Years 1000-9999 print with four digits: the round trip holds. */
		if (ms >= -30610224000000 && ms < 253402300800000 && ms >= 0) {
			char buf[TIMEUTIL_ISO_LEN];
			int64_t back = 0;
			timeutil_format_iso(ms, buf);
			if (!timeutil_parse_iso(buf, &back) || back != ms)
				abort();
		}
	}
	free(s);
	return 0;
}
