/*
 * workflow_yaml.h - the YAML layer under workflow.c: reading a libyaml
 * document strictly, as the workflow format needs it, within the limits of
 * workflow.h.  Only workflow.c includes it.
 *
 *   - Loading: wfyaml_check_nesting() runs first, through the event API, and
 *     refuses text nested deeper than WORKFLOW_MAX_YAML_DEPTH or with more
 *     than WORKFLOW_MAX_NODES nodes, before libyaml builds the document
 *     (its scanner would take time in proportion to the depth per token);
 *     wfyaml_failure() turns libyaml's own error into one message.
 *   - Scalars are resolved by the YAML 1.2 core schema (plain "true" is a
 *     boolean, "1" an integer, "~" null); wfyaml_get_* accept only the kind
 *     asked for ("must be a string, not an integer (quote it)") and refuse
 *     a scalar with an embedded NUL.
 *   - Every node looked at costs one unit of c->nodes, so aliases used over
 *     and over cannot make the conversion run without bound.
 *
 * Every error is -EBADMSG (-ENOMEM when libyaml ran out of memory) with
 * "<file>:<line>: [<where>: ]<reason>"; user text echoed in it is cut to 64
 * bytes (ECHO).
 */
#ifndef ROVER_WORKFLOW_YAML_H
#define ROVER_WORKFLOW_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "agent-runner/workflow.h"
#include "common/error.h"

/* User text echoed in a message is cut to this many bytes. */
#define ECHO "%.64s"

struct seen_id {
	const char *id; /* borrowed from the tree */
	int line;
};

/* One conversion: the document, the name messages start with, where the
 * error goes, the nodes spent, and the step ids seen so far (workflow.c's
 * duplicate check). */
struct wfyaml_ctx {
	yaml_document_t *doc;
	const char *name;
	struct rv_error **err;
	size_t nodes;
	struct seen_id *ids;
	size_t n_ids;
};

int wfyaml_line_of(const yaml_node_t *n);

/* "<file>:<line>: [<where>: ]<reason>", code EBADMSG. */
int wfyaml_fail(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "a mapping", "a list" or "a scalar". */
const char *wfyaml_kind_name(const yaml_node_t *n);

enum wfyaml_scalar_kind { WFYAML_STRING, WFYAML_NULL, WFYAML_BOOL, WFYAML_INT, WFYAML_FLOAT };

const char *wfyaml_scalar_text(const yaml_node_t *n);
enum wfyaml_scalar_kind wfyaml_scalar_kind(const yaml_node_t *n);
/* A scalar, without an embedded NUL. */
int wfyaml_check_scalar(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			const char *key);

/* The value of n, named key in messages, as the type asked for; *ret is
 * written only on success (a string replaces, and frees, the old one). */
int wfyaml_get_string(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
		      const char *key, char **ret);
int wfyaml_get_bool(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		    bool *ret);
/* An integer in [min, max]. */
int wfyaml_get_int(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		   int min, int max, int *ret);
/* A string of 1 to WORKFLOW_MAX_ID_LEN characters of [A-Za-z0-9_-]. */
int wfyaml_get_name(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		    char **ret);
/* One of allowed; expected names them in the message. */
int wfyaml_get_enum(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		    const char *const *allowed, size_t n_allowed, const char *expected, char **ret);

struct wfyaml_key_rule {
	const char *const *allowed; /* the keys this mapping may hold */
	size_t n_allowed;
	bool ignore_unknown;
	const char *const *foreign; /* keys of a sibling kind (NULL-terminated) */
	const char *foreign_msg;    /* "... does not apply to <foreign_msg>" */
};

/* Check the keys of map: scalar strings, known (or ignored), not repeated. */
int wfyaml_check_keys(struct wfyaml_ctx *c, const yaml_node_t *map, const char *where,
		      const struct wfyaml_key_rule *rule);
/* The value of key in map, NULL when absent (keys already checked). */
yaml_node_t *wfyaml_map_get(struct wfyaml_ctx *c, const yaml_node_t *map, const char *key);
int wfyaml_expect_mapping(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			  const char *key);
/* A list; *ret_n gets its length. */
int wfyaml_expect_sequence(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			   const char *key, size_t *ret_n);
yaml_node_t *wfyaml_seq_item(struct wfyaml_ctx *c, const yaml_node_t *seq, size_t i);

/* libyaml's own message for a document it could not load. */
int wfyaml_failure(struct wfyaml_ctx *c, const yaml_parser_t *p, const char *buf, size_t len);
/* The first pass (see top): 0 when buf may be loaded. */
int wfyaml_check_nesting(struct wfyaml_ctx *c, const char *buf, size_t len);

#endif
