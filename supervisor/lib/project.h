/*
 * project.h - where a rover project lives and how it is configured.
 *
 * The project root is the git top level of the starting directory: the
 * nearest ancestor (the directory itself included) that holds a `.git`
 * directory or a `.git` file (a linked worktree or a submodule).  Without
 * one, the starting directory itself is the root and the project is not a
 * git repository.  The store is `ROVER_STORE` when that is set and not
 * empty (a relative value is taken against the current working directory),
 * else `<root>/.rover`.
 * Nothing is created here: the task store creates directories on first write.
 *
 * Settings come from `<root>/rover.json` (optional; other keys in it belong
 * to other tools and are ignored):
 *     "agentImage": string
 *     "retry": {"max": int, "baseSeconds": int, "capSeconds": int}
 * and the environment overrides them: ROVER_RETRY_MAX, ROVER_RETRY_BASE_SECONDS,
 * ROVER_RETRY_CAP_SECONDS (decimal integers).  Defaults: max 5, base 60,
 * cap 3600.  Valid values: 0 <= max <= PROJECT_RETRY_MAX_LIMIT (0 turns
 * auto-retry off), 1 <= base <= cap <= PROJECT_RETRY_CAP_LIMIT seconds.  A
 * malformed rover.json, a wrong type or a value out of range fails with
 * -EINVAL (or -EBADMSG for JSON that does not parse) and a message naming
 * the file or the variable; nothing is half-applied.
 *
 * Calling sequence:
 *     struct project *p = NULL;
 *     if (project_open(NULL, &p, &err) < 0) ...    (NULL: the cwd)
 *     ... p->root, p->store_dir, p->retry ...
 *     project_free(p);
 */
#ifndef ROVER_PROJECT_H
#define ROVER_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define PROJECT_SETTINGS_FILE "rover.json"
#define PROJECT_STORE_NAME ".rover"
/* rover.json is small; a bigger one is refused rather than read. */
#define PROJECT_SETTINGS_MAX_BYTES (1024 * 1024)

#define PROJECT_RETRY_DEFAULT_MAX 5
#define PROJECT_RETRY_DEFAULT_BASE 60
#define PROJECT_RETRY_DEFAULT_CAP 3600
#define PROJECT_RETRY_MAX_LIMIT 1000
#define PROJECT_RETRY_CAP_LIMIT (30 * 24 * 3600)

struct project_retry {
	int max;              /* auto-retry attempts across re-pauses */
	int64_t base_seconds; /* first delay */
	int64_t cap_seconds;  /* longest delay */
};

struct project_settings {
	char *agent_image; /* rover.json "agentImage", or NULL */
	struct project_retry retry;
};

struct project {
	char *root;      /* absolute, no trailing slash */
	char *store_dir; /* absolute */
	bool is_git;     /* root holds .git */
	struct project_settings settings;
};

/* Find the project root from start (absolute or relative to the cwd; NULL:
 * the cwd).  *ret_root is absolute and newly allocated; *ret_is_git tells
 * whether a .git was found (may be NULL). */
int project_find_root(const char *start, char **ret_root, bool *ret_is_git,
		      struct rv_error **err);

/* Read settings from <root>/rover.json (missing file: defaults) and apply the
 * environment overrides.  *ret is filled only on success; release it with
 * project_settings_release(). */
int project_load_settings(const char *root, struct project_settings *ret, struct rv_error **err);

void project_settings_release(struct project_settings *s);

/* Root, store and settings together.  start as for project_find_root(). */
int project_open(const char *start, struct project **ret, struct rv_error **err);

/* NULL-safe. */
void project_free(struct project *p);

/* The image for new containers: ROVER_AGENT_IMAGE when set and not empty,
 * else rover.json's agentImage, else NULL.  Borrowed. */
const char *project_agent_image(const struct project *p);

#endif
