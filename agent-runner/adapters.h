/*
 * adapters.h - one adapter per agent CLI: how to run it headless in a
 * container, and how to read what it printed.  docs/design/agents.md.
 *
 * Each adapter owns
 *   - the argv, with the CLI's structured output where it has one:
 *       claude -p PROMPT --output-format stream-json --verbose
 *              --dangerously-skip-permissions [--model M]
 *       codex  exec --json --skip-git-repo-check
 *              --dangerously-bypass-approvals-and-sandbox
 *              [-c model_provider=rover -c model_providers.rover...] [--model M] PROMPT
 *         (the "rover" provider only with OPENAI_API_KEY: Codex ignores
 *         OPENAI_BASE_URL, and only a provider entry bounds its retries)
 *       gemini -p PROMPT -o stream-json --yolo [--model M]
 *       qwen, opencode, cursor: their plain headless modes (no parser);
 *   - the environment to run headless: TZ=UTC (reset times come out in UTC,
 *     which the static runner reads without a tz database), IS_SANDBOX=1 for
 *     claude only when the runner is root, the CLIs' own retries bounded
 *     (CLAUDE_CODE_MAX_RETRIES, Codex request/stream_max_retries, Gemini
 *     general.maxAttempts) unless the user set them, trust prompts skipped
 *     (GEMINI_CLI_TRUST_WORKSPACE) and Gemini's auth method chosen from the
 *     credentials present; Codex and Gemini get a private home for their
 *     settings (CODEX_HOME, GEMINI_CLI_HOME) into which a subscription
 *     login file is copied: the one rover mounted under ADAPTER_LOGINS_DIR
 *     (ROVER_AGENT_LOGINS), else one found under $HOME (never the home);
 *   - the reading of stdout/stderr: answer text, the CLI's error message,
 *     the provider's reset time (Claude's rate_limit_event resetsAt, "retry
 *     in 20.5s", a clock time in a named IANA zone, any text
 *     classify_reset_time() reads), whether a quota is
 *     terminal (a daily quota: never retried in-process), cost and usage.
 * Classification stays in classify.c; the runner feeds it what is read here.
 */
#ifndef ROVER_ADAPTERS_H
#define ROVER_ADAPTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent-runner/classify.h"
#include "common/error.h"

/* Tokens and dollars one run of a CLI reports (summed when added up). */
struct agent_usage {
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t cache_read_tokens;
	int64_t cache_write_tokens;
	double cost_usd;
	bool has_usage; /* the CLI reported tokens */
	bool has_cost;  /* the CLI reported dollars (Claude only) */
};

/* What an adapter read from one run. */
struct adapter_report {
	bool structured;     /* the CLI's structured output was found */
	char *answer;        /* final answer text, or NULL */
	char *error;         /* the CLI's own error message, or NULL */
	int http_status;     /* the provider's HTTP status when the CLI names it, else 0 */
	int64_t reset_at_ms; /* the provider's reset time, epoch ms; 0: none */
	bool not_transient;  /* a quota or credit refusal: pause, never retry in-process */
	struct agent_usage usage;
};

typedef const char *(*adapter_getenv_fn)(const char *name);

struct adapter_ctx {
	const char *tool;            /* claude, codex, gemini, qwen, opencode, cursor */
	const char *model;           /* NULL or "": the CLI's default */
	bool as_root;                /* the runner (and so the CLI) runs as uid 0 */
	const char *scratch_dir;     /* private, writable directory for CLI homes (codex, gemini) */
	adapter_getenv_fn getenv_fn; /* getenv, or a stub in tests */
	const char *logins_dir;      /* NULL: ADAPTER_LOGINS_DIR (tests set another) */
};

/* Where rover mounts the login copies the user chose to share
 * (supervisor/lib/agent_logins.h): <dir>/<cli>/<file>, read-only. */
#define ADAPTER_LOGINS_DIR "/rover-logins"

/* The argv (NULL-terminated, argv[0] looked up on PATH) and the environment
 * additions ("NAME=value", NULL-terminated) for one run of prompt.  Writes
 * the CLI's settings under scratch_dir (gemini) and copies login files found
 * under $HOME (codex auth.json, gemini oauth_creds.json).  *ret_* only on
 * success; free both with adapter_strv_free.  Fails (-errno) only when a
 * settings file cannot be written. */
int adapter_prepare(const struct adapter_ctx *c, const char *prompt, char ***ret_argv,
		    char ***ret_env, struct rv_error **err);

void adapter_strv_free(char **v);

/* Read one run's output.  now_ms resolves relative reset times.  Pure but
 * for one thing: a reset time printed in a named zone ("resets 7:56pm
 * (Europe/Berlin)") is resolved with the tz database under
 * /usr/share/zoneinfo when it has that zone (TZ is set for the lookup and
 * restored: single-threaded callers only).  Unknown tools and unstructured
 * output give structured = false and the reset time / terminal flag of the
 * plain text. */
void adapter_parse(const char *tool, const char *out, const char *err, int64_t now_ms,
		   struct adapter_report *ret);

void adapter_report_release(struct adapter_report *r);

/* A new usage document: doc (NULL: none yet) plus one CLI run of step_id.
 * The document, in status.json, the checkpoint and description.json:
 *   {"inputTokens": n, "outputTokens": n, "cacheReadTokens": n,
 *    "cacheWriteTokens": n, "costUsd": x (only once a CLI reported dollars),
 *    "agentRuns": n, "steps": {stepId: {the same keys but steps}}}
 * Failed runs count too: a refused request costs nothing, but a run that
 * worked for a while before failing did spend.  Caller puts the result. */
struct json_object;
struct json_object *adapter_usage_record(struct json_object *doc, const char *step_id,
					 const struct agent_usage *u);

/* What to do with a failed run (exit_code != 0 or timed out). */
struct adapter_verdict {
	struct classify_result cls;
	bool transient;  /* retry in-process (an overload blip) */
	bool retryable;  /* when not retried (or retries spent): pause, not fail */
	char *full_text; /* what was classified, for the reset time; caller frees */
};

/* Judge a failed run: error is the message the runner records (the CLI's
 * own when rep has one).  classify.c decides from the CLI's message (with
 * "(HTTP n)" when the CLI named the status) and stderr; structured stdout
 * is never read as words.  A rate limit the CLI reported in its structured
 * output, a daily quota or exhausted credit is never transient: the CLI
 * already retried within its bound, so the task pauses at once. */
void adapter_judge(const struct adapter_report *rep, const char *out, const char *err,
		   const char *error, int exit_code, bool timed_out, struct adapter_verdict *ret);

/* A copy of a usage document read from an untrusted file (a container's
 * status.json): the known figures only, numbers in range, at most
 * ADAPTER_MAX_USAGE_STEPS steps with ids up to 256 bytes.  NULL when usage
 * is not an object.  Caller puts. */
#define ADAPTER_MAX_USAGE_STEPS 1000
struct json_object *adapter_usage_sanitize(struct json_object *usage);

/* a += b */
void adapter_usage_add(struct agent_usage *a, const struct agent_usage *b);

#endif
