/*
 * checkpoint.h - the durable resume point of a workflow run
 * (`<output>/checkpoint.json`; format in docs/design/checkpoint-format.md and
 * schemas/checkpoint.schema.json).
 *
 * Content: rover's fields (docs/design/checkpoint-format.md) - completedSteps [{id, outputs}],
 * loopProgress {loopId: {iteration, nextSubStepIndex, subStepOutputs,
 * skippedSubSteps}}, failedStepId, error, isRetryable, provider - plus ours:
 * version (CHECKPOINT_VERSION), workflowHash (SHA-256 hex of the workflow
 * file), savedAt (ISO-8601), seq (+1 on every save, continuing across resumes),
 * and when paused pauseReason (retryable_error|signal|user) and resetAt.
 * Outputs never hold `input_prompt` (it can be rebuilt from the workflow and
 * may carry secrets); other output values are stored as strings (42 -> "42"),
 * made valid UTF-8, and capped at CHECKPOINT_MAX_VALUE bytes: the tail is
 * kept behind a "[...truncated N chars...]" prefix (common/textutil.h).  The
 * failure `error` is capped the same way.
 *
 * A store keeps the checkpoint in memory; every mutation saves the whole
 * document through fileio_write_atomic() and then reads the file back and
 * checks that it parses and carries the seq and hash just written.  When a
 * save fails, the memory copy is kept, the previous file on disk is intact,
 * and the error is returned: the caller decides (a pause that cannot save
 * exits 1, not 2).  Each save uses up a seq number even when it fails
 * (a failure after the rename can leave that number on disk), so two
 * different files never carry the same seq; seq in memory is therefore the
 * last number tried, not necessarily the one on disk.
 *
 * Load is strict: a missing file is -ENOENT; a file that does not parse, has
 * another version, or has fields of the wrong type is -EBADMSG naming the
 * file and the field.  Loop progress entries that are invalid (iteration < 1,
 * index < 0) are dropped with a warning in *ret_warning, as the TypeScript rover does.
 * Output values that are numbers, booleans or null are coerced to strings
 * like the TypeScript rover (42 -> "42", null -> "null"); objects and arrays there
 * are errors.  A stored `input_prompt` is dropped.  JSON null counts as
 * absent for the optional fields.  Unknown top-level keys are kept in
 * cp->extra and written back by a store seeded from cp.
 */
#ifndef ROVER_CHECKPOINT_H
#define ROVER_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

#define CHECKPOINT_VERSION 1
#define CHECKPOINT_MAX_VALUE (100u * 1000u)

struct checkpoint {
	int version;
	char *workflow_hash; /* 64 hex chars */
	int64_t seq;
	int64_t saved_at_ms;
	struct json_object *completed_steps; /* array of {"id": s, "outputs": {k: "v"}} */
	struct json_object *loop_progress;   /* object; may be empty */
	char *failed_step_id;                /* NULL when absent, like the 3 below */
	char *error;
	char *provider;
	bool has_is_retryable;
	bool is_retryable;
	char *pause_reason;
	int64_t reset_at_ms;       /* 0: none */
	struct json_object *extra; /* unknown top-level keys, kept on rewrite; may be NULL */
};

struct checkpoint_loop_progress {
	int iteration;                        /* >= 1 */
	int next_sub_step_index;              /* >= 0 */
	struct json_object *sub_step_outputs; /* borrowed: {stepId: {k: v}} */
	struct json_object *skipped;          /* borrowed: array of ids */
};

/* Load and validate a checkpoint file.  ret_warning may be NULL. */
int checkpoint_load(const char *path, struct checkpoint **ret, char **ret_warning,
		    struct rv_error **err);

/* The same for a document already read (the host reads the file through
 * supervisor/lib/iterfile.h, which never follows a link or blocks); root
 * stays the caller's, path only names it in messages. */
int checkpoint_from_json(struct json_object *root, const char *path, struct checkpoint **ret,
			 char **ret_warning, struct rv_error **err);

struct checkpoint *checkpoint_free(struct checkpoint *cp);
static inline void checkpoint_freep(struct checkpoint **cp)
{
	checkpoint_free(*cp);
}
#define _cleanup_checkpoint_ __attribute__((cleanup(checkpoint_freep)))

/* Outputs of a completed step, or NULL (borrowed). */
struct json_object *checkpoint_completed_outputs(const struct checkpoint *cp, const char *step_id);

/* Loop progress for a loop id; false when none. */
bool checkpoint_loop_progress(const struct checkpoint *cp, const char *loop_id,
			      struct checkpoint_loop_progress *ret);

/* Drop completed entries and loop progress whose ids `keep` rejects; returns
 * how many completed entries were dropped. */
int checkpoint_drop_unknown(struct checkpoint *cp, bool (*keep)(const char *id, void *data),
			    void *data);

struct checkpoint_store;

/* A store for path, for a run of the workflow with this hash.  When prior is
 * not NULL (a resume), completed steps and loop progress are copied from it,
 * its failure and pause fields are cleared, and seq continues from prior->seq.
 * Nothing is written until the first mutation or checkpoint_store_save(). */
struct checkpoint_store *checkpoint_store_new(const char *path, const char *workflow_hash,
					      const struct checkpoint *prior);
struct checkpoint_store *checkpoint_store_free(struct checkpoint_store *st);

/* The in-memory checkpoint (borrowed; valid until the next mutation). */
const struct checkpoint *checkpoint_store_get(const struct checkpoint_store *st);

/* Upsert {id, outputs} (outputs copied) and save.  An existing id keeps its
 * place in the list.  -EINVAL for an empty id (nothing changes). */
int checkpoint_store_add_completed(struct checkpoint_store *st, const char *id,
				   struct json_object *outputs, struct rv_error **err);

/* Record where a loop is (outputs and skipped copied; NULL means none) and
 * save.  -EINVAL, with nothing changed or written, for iteration < 1, index
 * < 0, or outputs/skipped of the wrong JSON type (checkpoint-format.md). */
int checkpoint_store_set_loop_progress(struct checkpoint_store *st, const char *loop_id,
				       int iteration, int next_sub_step_index,
				       struct json_object *sub_step_outputs,
				       struct json_object *skipped, struct rv_error **err);

/* Remove a loop's progress and save. */
int checkpoint_store_clear_loop_progress(struct checkpoint_store *st, const char *loop_id,
					 struct rv_error **err);

/* Failure snapshot (B.4 step 3) and save.  NULL strings leave that key out;
 * isRetryable is always written. */
int checkpoint_store_set_failure(struct checkpoint_store *st, const char *failed_step_id,
				 const char *error, bool is_retryable, const char *provider,
				 struct rv_error **err);

/* The same in memory only: it goes out with the next save (a pause's
 * checkpoint_store_set_pause(), so a retryable pause saves once). */
void checkpoint_store_stage_failure(struct checkpoint_store *st, const char *failed_step_id,
				    const char *error, bool is_retryable, const char *provider);

/* Pause fields (reason, reset time or 0) and save.  pause_reason is NULL or
 * one of retryable_error, signal, user (else -EINVAL, nothing written). */
int checkpoint_store_set_pause(struct checkpoint_store *st, const char *pause_reason,
			       int64_t reset_at_ms, struct rv_error **err);

/* The run's cost and usage so far (adapters.h's usage document), carried
 * from the prior checkpoint on resume; NULL when none (borrowed). */
struct json_object *checkpoint_store_usage(const struct checkpoint_store *st);

/* Replace it (a reference is taken).  Not saved by itself: it goes out with
 * the next save (a completed step, a failure or a pause). */
void checkpoint_store_set_usage(struct checkpoint_store *st, struct json_object *usage);

/* Save the in-memory checkpoint now (seq + 1, savedAt now), read it back, verify.
 * Errors: the fileio_write_atomic() errno (-ENOSPC, -EIO, ...), -EIO when the
 * file does not read back with this seq and hash, -EFBIG when the document
 * would exceed JSONUTIL_MAX_FILE (nothing is written then). */
int checkpoint_store_save(struct checkpoint_store *st, struct rv_error **err);

/* Delete the file after a fully successful run and fsync its directory (so
 * a crash cannot bring it back); a missing file is fine. */
int checkpoint_store_remove(struct checkpoint_store *st, struct rv_error **err);

/* The read-back check of a save: path parses as a JSON object whose seq and
 * workflowHash are these.  0, or -EIO naming the file and the mismatch. */
int checkpoint_verify_file(const char *path, int64_t seq, const char *workflow_hash,
			   struct rv_error **err);

#endif
