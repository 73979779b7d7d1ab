/*
 * hardening.h - how a task's container is confined: capabilities,
 * no-new-privileges, pids/memory/CPU limits, read-only root, and which user
 * the agent runs as.  docs/design/hardening.md says why each default is what
 * it is and what it costs.
 *
 * Defaults (hardening_defaults): every capability dropped and none added,
 * no-new-privileges on, at most HARDENING_DEFAULT_PIDS_LIMIT tasks
 * (processes and threads), HARDENING_DEFAULT_MEMORY bytes of memory and no
 * swap beyond it, as many CPUs as the host has, a writable root filesystem,
 * and the user rover's choice (see hardening_agent_user).
 *
 * Sources, later ones applied over earlier ones:
 *   1. the defaults;
 *   2. the user's configuration file, key "container" (userconfig.h) -
 *      trusted: any valid value;
 *   3. the environment, ROVER_CONTAINER_* (HARDENING_ENV_*) - trusted;
 *   4. the repository's rover.json, key "container" - NOT trusted: a
 *      repository may only tighten.  A value at most as permissive as the one
 *      it replaces is applied; a looser one (a higher limit, no limit, a
 *      capability not already granted, noNewPrivileges false, readOnlyRootfs
 *      false over true, a user that is root or not numeric) fails the whole
 *      load with -EPERM and one line naming the key and where to set it
 *      instead.
 *
 * The "container" object, in either file:
 *     "pidsLimit": int            0: no limit
 *     "memory": "4g" | int bytes  suffix b, k, m, g, t (powers of 1024); 0: no limit
 *     "cpus": number | "1.5"      0: no limit; never more than the host has
 *     "capAdd": ["CHOWN", ...]    names with or without CAP_, any case; "ALL"
 *     "noNewPrivileges": bool
 *     "readOnlyRootfs": bool      a tmpfs is mounted on /tmp then
 *     "user": "uid:gid" | "name"  numeric uid:gid only from a repository
 * Anything else in it (an unknown key, a wrong type, a value out of range)
 * fails with -EINVAL naming the source and the key.
 *
 * Calling sequence:
 *     struct hardening_launch hl;
 *     if (hardening_prepare(root, store, workspace, iter_dir, &hl, &err) < 0) ...
 *     ... fill engine_create_spec from hl.h and hl.user ...
 *     hardening_launch_release(&hl);
 * which is hardening_load (all sources; a loosening rover.json refused),
 * hardening_agent_user and hardening_chown_tree.  `rover task` calls
 * hardening_load alone first, so a refused rover.json never makes a task.
 * Everything but hardening_load, hardening_prepare, hardening_host_now and
 * hardening_chown_tree is pure.
 */
#ifndef ROVER_HARDENING_H
#define ROVER_HARDENING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "common/error.h"

/* Threads count against the pids limit: a node CLI (about a dozen threads)
 * plus git and a parallel build or test run fit in it many times over; a
 * fork bomb stops at it within milliseconds. */
#define HARDENING_DEFAULT_PIDS_LIMIT 1024
#define HARDENING_DEFAULT_MEMORY (4LL << 30)
/* The agent's user when rover runs as root and nothing else is chosen: the
 * first user of most images that have one (node:* "node", devcontainers). */
#define HARDENING_ROOT_DEFAULT_USER "1000:1000"
/* A writable HOME for an agent whose uid may have no passwd entry. */
#define HARDENING_HOME "/tmp"

#define HARDENING_MIN_PIDS_LIMIT 16
#define HARDENING_MIN_MEMORY (16LL << 20)
#define HARDENING_MAX_MEMORY (1LL << 50)
#define HARDENING_MIN_NANO_CPUS 10000000LL /* 0.01 CPU */

#define HARDENING_ENV_PIDS_LIMIT "ROVER_CONTAINER_PIDS_LIMIT"
#define HARDENING_ENV_MEMORY "ROVER_CONTAINER_MEMORY"
#define HARDENING_ENV_CPUS "ROVER_CONTAINER_CPUS"
#define HARDENING_ENV_CAP_ADD "ROVER_CONTAINER_CAP_ADD" /* comma-separated; "" none */
#define HARDENING_ENV_USER "ROVER_CONTAINER_USER"
#define HARDENING_ENV_NO_NEW_PRIVILEGES "ROVER_CONTAINER_NO_NEW_PRIVILEGES" /* 1/0, true/false */
#define HARDENING_ENV_READ_ONLY_ROOTFS "ROVER_CONTAINER_READ_ONLY_ROOTFS"

struct hardening {
	char **cap_add; /* NULL-terminated, canonical ("CHOWN", "ALL"); never NULL */
	size_t n_cap_add;
	bool no_new_privileges;
	bool read_only_rootfs;
	int64_t pids_limit; /* 0: no limit */
	int64_t memory;     /* bytes; 0: no limit (MemorySwap is set equal) */
	int64_t nano_cpus;  /* 1e9 per CPU; 0: no limit */
	char *user;         /* NULL: rover's choice (hardening_agent_user) */
	/* Where each value came from, for messages: "default", "ROVER_CONTAINER_CPUS",
	 * "'<config.json>'", "'<rover.json>'" (static or owned by where_buf). */
	char *where[7];
};

/* What the defaults depend on. */
struct hardening_host {
	int ncpus; /* online CPUs, >= 1 */
};

/* The host rover runs on (sysconf). */
struct hardening_host hardening_host_now(void);

/* Pure: the defaults for host into *ret (release with hardening_release). */
void hardening_defaults(const struct hardening_host *host, struct hardening *ret);

void hardening_release(struct hardening *h);

/* Pure: apply a trusted "container" object (NULL: nothing), what naming its
 * file ("'/home/u/.config/rover/config.json'").  On failure *h is unchanged. */
int hardening_apply_trusted(struct hardening *h, const struct hardening_host *host,
			    struct json_object *container, const char *what, struct rv_error **err);

/* Pure: apply the ROVER_CONTAINER_* values getenv_fn returns (NULL or "":
 * unset; HARDENING_ENV_CAP_ADD "" is not "none": unset it to keep, use
 * "none" for no capabilities).  On failure *h is unchanged. */
int hardening_apply_env(struct hardening *h, const struct hardening_host *host,
			const char *(*getenv_fn)(const char *name), struct rv_error **err);

/* Pure: apply a repository's "container" object (NULL: nothing), tighten
 * only (see top).  what names rover.json.  -EPERM for a loosening, -EINVAL for
 * a bad value; on failure *h is unchanged. */
int hardening_apply_repo(struct hardening *h, const struct hardening_host *host,
			 struct json_object *container, const char *what, struct rv_error **err);

/* All sources: defaults for this host, the user's configuration file, the
 * environment, then <project_root>/rover.json (project_root NULL: none).
 * *ret only on success. */
int hardening_load(const char *project_root, struct hardening *ret, struct rv_error **err);

/* Parsers, exposed for tests.  "4g" -> 4 GiB; "1.5" -> 1500000000. */
int hardening_parse_memory(const char *s, int64_t *ret);
int hardening_parse_cpus(const char *s, int64_t *ret);
/* "CAP_chown" -> "CHOWN" (newly allocated), or NULL for an unknown name. */
char *hardening_cap_name(const char *s);

/* The user the agent runs as. */
struct hardening_user {
	char *spec;   /* for the engine's User: "1000:1000" or a name */
	bool numeric; /* uid and gid are known (spec is "uid:gid") */
	uid_t uid;
	gid_t gid;
	bool set_home; /* rover picked a bare uid: HOME=HARDENING_HOME goes in */
};

/* Pure: h->user when set; else the caller's euid:egid when not root; else
 * HARDENING_ROOT_DEFAULT_USER.  *ret (release with hardening_user_release)
 * only on success; -EINVAL for a user that does not parse. */
int hardening_agent_user(const struct hardening *h, uid_t euid, gid_t egid,
			 struct hardening_user *ret, struct rv_error **err);
void hardening_user_release(struct hardening_user *u);

/* Everything launch_container needs, for one container. */
struct hardening_launch {
	struct hardening h;
	struct hardening_user user;
};

/* hardening_load(project_root; NULL with a workspace outside the store: the
 * workspace, which is then the project directory), the agent's user, and the files it must
 * write given to that user: iter_dir always, workspace only when it lies
 * beneath store_dir (a workspace rover made; a project directory the user
 * owns is never re-owned).  With no user chosen, rover as root and a
 * workspace outside the store, the agent runs as the workspace's owner, and
 * a root-owned one is refused (-EPERM: name a user or chown it).  *ret only
 * on success; release with hardening_launch_release. */
int hardening_prepare(const char *project_root, const char *store_dir, const char *workspace,
		      const char *iter_dir, struct hardening_launch *ret, struct rv_error **err);
void hardening_launch_release(struct hardening_launch *l);

/* Give dir and everything beneath it to uid:gid, never following a symlink
 * (symlinks themselves are re-owned, never their targets; nothing beneath
 * another file system is entered; a regular file with other hard links keeps
 * its owner).  When dir and every entry directly in it already belong to
 * uid:gid nothing else is looked at, so the walk is paid once per directory
 * (again only when something at its top was re-made, like a workspace's
 * .git on resume).  A symlink or non-directory at dir: -ENOTDIR. */
int hardening_chown_tree(const char *dir, uid_t uid, gid_t gid, struct rv_error **err);

#endif
