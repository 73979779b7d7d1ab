/*
 * agent_logins.h - share a subscription login with the agent CLI, on
 * request, as a read-only copy of one file; never the user's home.
 *
 * ROVER_AGENT_LOGINS (comma-separated: codex, gemini) names the CLIs whose
 * login files the user wants in the container.  For each, the files that
 * exist under the host user's $HOME:
 *     codex   .codex/auth.json                  (ChatGPT login)
 *     gemini  .gemini/oauth_creds.json, .gemini/google_accounts.json (Google login)
 * are copied into <task dir>/logins/<cli>/ (a copy, so that the agent's uid
 * can be given the file without changing the user's own; mode 0400, owned
 * by the agent's uid when rover knows it), and bind-mounted read-only at
 * AGENT_LOGINS_DIR/<cli>/<file>, where the runner's adapters look first
 * (agent-runner/adapters.c copies it into the CLI's private home, where the
 * CLI may refresh it).  Claude needs no file: CLAUDE_CODE_OAUTH_TOKEN is an
 * environment variable.  An unknown name fails with -EINVAL naming it.
 * The copies go with the task (`rover delete`).
 */
#ifndef ROVER_AGENT_LOGINS_H
#define ROVER_AGENT_LOGINS_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent-runner/adapters.h"
#include "common/error.h"

#define AGENT_LOGINS_DIR ADAPTER_LOGINS_DIR
#define AGENT_LOGINS_ENV "ROVER_AGENT_LOGINS"

/* Make the copies for `clis` (NULL or "": none) from home into task_dir and
 * return the engine bind strings ("host:container:ro", NULL-terminated,
 * free with agent_logins_free) in *ret_binds.  chown_to: give the copies to
 * uid:gid (rover runs as root and picked a numeric user); else they stay
 * the caller's. */
int agent_logins_prepare(const char *clis, const char *home, const char *task_dir, bool chown_to,
			 uid_t uid, gid_t gid, char ***ret_binds, struct rv_error **err);

void agent_logins_free(char **binds);

#endif
