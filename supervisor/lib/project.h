/*
 * project.h - where a rover project lives and how it is configured.
 *
 * The project root is the git top level of the starting directory: the
 * nearest ancestor (the directory itself included) that holds a `.git`
 * directory or a `.git` file (a linked worktree or a submodule).  Without
 * one, the starting directory itself is the root and the project is not a
 * git repository.
 *
 * The store belongs to the user, never to the repository
 * (docs/design/store-layout.md): it is `ROVER_STORE` when that is set and not
 * empty (a relative value is taken against the current working directory),
 * else
 *     ${XDG_DATA_HOME:-$HOME/.local/share}/rover/projects/<name>-<hash>
 * where <name> is the root's last component (characters other than
 * [A-Za-z0-9._-] replaced by '_', at most 64) and <hash> the first 16 hex
 * digits of sha256(root) (root is already a realpath).  store_dir is
 * canonical: the part of it that exists is resolved with realpath() once,
 * here, so paths built from it compare exactly.  A `.rover/` inside the
 * project is never read, written or removed - except by
 * project_migrate_store(), for a store the previous rover made there.
 * Nothing is created here: the task store creates directories on first write.
 *
 * Settings come from `<root>/rover.json` (optional; other keys in it belong
 * to other tools and are ignored):
 *     "agentImage": string
 *     "agent": string, a known agent tool (claude, codex, ...): the default
 *              of `rover task -a`
 *     "retry": {"max": int, "baseSeconds": int, "capSeconds": int}
 *     "maxRunning": int      containers of the store running at once (0: no
 *                            limit; more wait in the queue, gate.h), or
 *                 {"docker": int, "podman": int}  the same per engine kind
 *                            (a kind not named has no limit)
 *     "stallSeconds": int    pause a task that showed no progress this long
 *                            (0: off; supervise.c, retry-policy.md)
 * and the environment overrides them: ROVER_RETRY_MAX, ROVER_RETRY_BASE_SECONDS,
 * ROVER_RETRY_CAP_SECONDS, ROVER_MAX_RUNNING, ROVER_STALL_SECONDS (decimal
 * integers).  maxRunning 0..PROJECT_MAX_RUNNING_LIMIT, stallSeconds
 * 0..PROJECT_RETRY_CAP_LIMIT.  Defaults: max 5, base 60,
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

#include <json-c/json.h>

#include "common/error.h"
#include "supervisor/lib/windows.h"

#define PROJECT_SETTINGS_FILE "rover.json"
/* Where rover up to 0.x kept the store, inside the project. */
#define PROJECT_LEGACY_STORE_NAME ".rover"
/* The line that rover wrote into .git/info/exclude above "/.rover/". */
#define PROJECT_LEGACY_EXCLUDE_MARK "# rover's task store"
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

#define PROJECT_MAX_RUNNING_LIMIT 10000

/* Largest cost budget rover.json or --budget may set, in dollars. */
#define PROJECT_BUDGET_LIMIT_USD 1000000

struct project_settings {
	char *agent_image; /* rover.json "agentImage", or NULL */
	char *agent;       /* rover.json "agent", or NULL */
	struct project_retry retry;
	/* rover.json has "hooks": never used (commands a repository names must
	 * not run on the user's machine; hooks.h), but reported. */
	bool repo_hooks_ignored;
	int max_running;        /* 0: no limit */
	int max_running_docker; /* per engine kind; 0: no limit of its own */
	int max_running_podman;
	int64_t stall_seconds;              /* 0: no stall detection */
	struct pause_windows pause_windows; /* rover.json "pauseWindows" (windows.h) */
	double budget_usd; /* rover.json "budgetUsd": each task's default (0: none) */
};

struct project {
	char *root;      /* absolute, no trailing slash */
	char *store_dir; /* absolute, canonical (see top) */
	/* static: how store_dir was chosen: "ROVER_STORE", "XDG_DATA_HOME"
	 * or "HOME" */
	const char *store_source;
	bool is_git; /* root holds .git */
	struct project_settings settings;
};

/* What is found at <root>/.rover (project_legacy_store). */
enum project_legacy {
	PROJECT_LEGACY_NONE = 0, /* nothing there, or ROVER_STORE is set */
	PROJECT_LEGACY_OURS,     /* made by the previous rover for this user: migrate */
	PROJECT_LEGACY_SHIPPED,  /* tracked by git: came with the repository */
	PROJECT_LEGACY_UNPROVEN, /* there, but nothing proves it is the user's */
};

/* Find the project root from start (absolute or relative to the cwd; NULL:
 * the cwd).  *ret_root is absolute and newly allocated; *ret_is_git tells
 * whether a .git was found (may be NULL). */
int project_find_root(const char *start, char **ret_root, bool *ret_is_git, struct rv_error **err);

/* Read settings from <root>/rover.json (missing file: defaults) and apply the
 * environment overrides.  *ret is filled only on success; release it with
 * project_settings_release(). */
int project_load_settings(const char *root, struct project_settings *ret, struct rv_error **err);

void project_settings_release(struct project_settings *s);

/* Root, store and settings together.  start as for project_find_root(). */
int project_open(const char *start, struct project **ret, struct rv_error **err);

/* NULL-safe. */
void project_free(struct project *p);

/* The default store of the project at root (see top) from XDG_DATA_HOME and
 * HOME, not canonicalized; *ret_source (may be NULL) is "XDG_DATA_HOME" or
 * "HOME".  Neither usable: -ENOENT naming both and ROVER_STORE. */
int project_default_store(const char *root, char **ret, const char **ret_source,
			  struct rv_error **err);

/* Classify <root>/.rover (nothing is changed).  It is the user's own
 * (PROJECT_LEGACY_OURS) only when all of these hold, none of which a clone
 * or a downloaded tree can arrange:
 *   - ROVER_STORE is not set (the user did not choose a store);
 *   - the root holds a `.git` directory whose info/exclude has the line
 *     PROJECT_LEGACY_EXCLUDE_MARK followed by "/.rover/" - the previous rover
 *     wrote them when it created the store, and git never transfers
 *     .git/info (a clone starts with its own template);
 *   - <root>/.rover is a real directory (lstat: not a symlink) owned by the
 *     current user;
 *   - `git ls-files -- .rover` lists nothing: no file of it is tracked.
 * A tracked file is PROJECT_LEGACY_SHIPPED, whatever the marker says.
 * *ret_detail (may be NULL) gets a short reason for UNPROVEN/SHIPPED. */
enum project_legacy project_legacy_store(const struct project *p, char **ret_detail);

/* What project_migrate_store() did, for the command to print. */
struct project_migration {
	bool migrated; /* the old store was moved to store_dir */
	char *message; /* one line, or NULL: nothing to say */
	bool warning;  /* message is a warning (else information) */
};

/* Move a PROJECT_LEGACY_OURS store to store_dir: refused (a warning, the
 * old store left as it is) while a task in it is running or when store_dir
 * already holds tasks.  The directory is renamed, or copied and removed
 * across filesystems (never following symlinks); every record's
 * worktreePath under the old store is rewritten under the new one; linked
 * git worktrees are re-pointed with `git worktree repair`.  Serialized with
 * a lock beside store_dir.  A SHIPPED or UNPROVEN .rover gets one warning,
 * the first time only (a marker file in store_dir remembers it), and is
 * otherwise ignored.  Returns < 0 only when a migration started and
 * failed half-way (the message says where things are). */
int project_migrate_store(const struct project *p, struct project_migration *ret,
			  struct rv_error **err);
void project_migration_release(struct project_migration *m);

/* ---- rover init ---------------------------------------------------------- */

/* rover.json as a JSON object (read up to PROJECT_SETTINGS_MAX_BYTES):
 * -ENOENT when there is none; -EBADMSG/-EINVAL naming the file when it is
 * not one JSON object.  Used to keep the keys init does not set. */
int project_settings_read_json(const char *root, struct json_object **ret, struct rv_error **err);

/* Pure: the rover.json `rover init` writes - a deep copy of existing (NULL:
 * a new object) with "agentImage" = image, "agent" = agent when not NULL,
 * and "retry" with each of max/baseSeconds/capSeconds it lacks set to the
 * default.  Every other key is kept as it was; "engine" is never added (a
 * repository must not choose where rover connects). */
struct json_object *project_settings_for_init(struct json_object *existing, const char *image,
					      const char *agent);

/* Write obj as <root>/rover.json, atomically (fileio_write_atomic) after
 * checking that it loads as settings (project_load_settings' rules, the
 * environment aside): nothing is written when it would not. */
int project_settings_write(const char *root, struct json_object *obj, struct rv_error **err);
/* The limit of an engine kind ("docker", "podman"; 0: none). */
int project_max_running_of(const struct project_settings *s, const char *kind);

/* The image for new containers: ROVER_AGENT_IMAGE when set and not empty,
 * else rover.json's agentImage, else NULL.  Borrowed. */
const char *project_agent_image(const struct project *p);

#endif
