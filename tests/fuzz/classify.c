/* Fuzz the error classifier: input = stdout 0xff stderr (an agent's output). */
#include "agent-runner/classify.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = fuzz_take(&data, &size);
	char *errs = fuzz_strndup(data, size);
	struct classify_result r;
	classify_agent_failure(out, errs, false, &r);
	if (r.retryable != (r.code == CLASSIFY_RATE_LIMIT || r.code == CLASSIFY_NETWORK ||
			    r.code == CLASSIFY_SERVER))
		abort();
	classify_agent_failure(out, errs, true, &r);
	(void)classify_is_transient(errs);
	(void)classify_is_retryable(out, NULL);
	const int64_t now = INT64_C(1795335467123);
	int64_t reset = 0;
	if (classify_reset_time(errs, now, &reset) &&
	    (reset < now - 10 * 60 * 1000 || reset > now + INT64_C(31) * 86400 * 1000))
		abort();
	free(errs);
	free(out);
	return 0;
}
