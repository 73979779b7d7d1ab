/*
 * classify.h - which step failures are transient (retry in-process), retryable
 * (pause the workflow, resume later) or fatal (fail).  The TypeScript rover's rules,
 * with these fixes:
 *   - HTTP 5xx (500-599 as a whole word), 529 and "overloaded" are transient;
 *   - a plain step timeout is never retryable (no pause/resume loop);
 *   - "insufficient credit balance" and the credit/billing/quota/balance
 *     conjunctions are retryable from plain text too, not only from JSON;
 *   - command steps exiting 75 (EX_TEMPFAIL) are retryable (the runner checks
 *     the exit code; classify_command_exit()).
 * All matching is case-insensitive; "sep" in the TypeScript rover (underscore,
 * whitespace or hyphen, one or more) is honoured; conjunctions ("credit ...
 * balance") must fall within one line.  Only the last 64 KiB of a text is
 * examined (where a tool prints its error; it also bounds the work), JSON
 * error objects only in its last 8 KiB.  Agent output is untrusted and may be
 * megabytes: the patterns are compiled once per process, and matching is
 * linear in the window (a conjunction is two patterns on one line, never a
 * ".*" regular expression, which glibc matches in quadratic time), so one
 * classification costs the same bounded time at 64 KiB or 16 MiB plus a
 * strlen (bench/classify.sh).
 * Additions to the TypeScript rover's lists, each with a unit test:
 *   - transient: ECONNRESET, "service unavailable", "bad gateway", "gateway
 *     timeout", "internal server error" (the 5xx reasons without a number),
 *     "high demand" (Codex's words for a provider's 5xx);
 *   - retryable: "ratelimit" as one word, usage windows ("5-hour limit",
 *     "weekly limit", "session limit"), "insufficient quota/credits/funds",
 *     "exceeded your current quota", "connection timed out";
 *   - NOT retryable: "limit ... exceeded" alone (a context or token limit
 *     would fail again after any wait).
 * Pure functions (no I/O, no clock, no environment); thread-safe.
 */
#ifndef ROVER_CLASSIFY_H
#define ROVER_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

enum classify_code {
	CLASSIFY_GENERIC,
	CLASSIFY_AUTH,
	CLASSIFY_RATE_LIMIT,
	CLASSIFY_TIMEOUT,
	CLASSIFY_NETWORK,
	CLASSIFY_SERVER, /* 5xx, 529, overloaded */
	CLASSIFY_TOOL,
	CLASSIFY_INVALID_MODEL,
	CLASSIFY_PERMISSION,
};

struct classify_result {
	enum classify_code code;
	bool retryable; /* pause rather than fail, once in-process retries are spent */
};

/* Transient: worth an in-process retry (B.4) before anything else. */
bool classify_is_transient(const char *text);

/* Retryable: the workflow should pause.  error_retryable is the step's
 * `error_retryable` output ("true" counts) or NULL. */
bool classify_is_retryable(const char *text, const char *error_retryable);

/* The standard Runner classification of an agent CLI's failure (B.5 list,
 * steps 1-5: auth prompts, timeout, JSON error objects in the last 8 KB of
 * stderr then stdout, text patterns).  timed_out: the step hit its timeout;
 * the result is CLASSIFY_TIMEOUT and, unlike the TypeScript rover, NOT retryable.
 * Of several JSON error objects the last one counts; an object whose type,
 * code and status say nothing we know (GENERIC) falls through to the text
 * rules, so a money message inside an "invalid_request_error" still pauses.
 * JSON codes 401/403/429/5xx, "overloaded" and "unavailable" count like the
 * words.  Text order: usage limits, credit/billing/quota, auth, rate limit,
 * tool, model, network, server, permission.  retryable is true for
 * RATE_LIMIT, NETWORK and SERVER.  Either text may be NULL. */
void classify_agent_failure(const char *stdout_text, const char *stderr_text, bool timed_out,
			    struct classify_result *ret);

/* EX_TEMPFAIL (75) from a command step pauses the workflow. */
bool classify_command_exit(int exit_code);

/* "RATE_LIMIT_ERROR" etc., for the error_code output and logs. */
const char *classify_code_name(enum classify_code code);

/* A provider's reset time named in an error text, as epoch milliseconds:
 *   "retry after 120 seconds", "retry-after: 30", "try again in 5 minutes",
 *   "try again in 1m9.6s", "resets in 2h",
 *   "resets 2pm", "resets at 14:30", "resets 2:30pm (UTC)", "(UTC+2)",
 *   "GMT-05:30", "+01:00", "PST" (fixed-offset US/EU abbreviations),
 *   "resets Nov 25 at 10am", "reset at 2026-11-22T15:00:00Z",
 *   "usage limit reached|1749924000" (epoch s or ms).
 * Clock times mean the next such time after now_ms, in UTC unless the text
 * names an offset; one at most 10 minutes in the past counts as just passed
 * (clock skew) and is returned as is.  A zone in parentheses that we cannot
 * resolve ("(America/Los_Angeles)": the static runner has no tz database)
 * gives false rather than a guess hours off.  Results outside [now - 10 min,
 * now + 31 days] are ignored.  When the text names several, the last one
 * wins.  Returns false when the text names none; *ret_reset_ms is then not
 * written. */
bool classify_reset_time(const char *text, int64_t now_ms, int64_t *ret_reset_ms);

#endif
