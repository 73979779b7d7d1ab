#define _GNU_SOURCE
#include "agent_logins.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"

static const struct {
	const char *cli, *rel, *name;
} login_files[] = {
	{"codex", ".codex/auth.json", "auth.json"},
	{"gemini", ".gemini/oauth_creds.json", "oauth_creds.json"},
	{"gemini", ".gemini/google_accounts.json", "google_accounts.json"},
};

/* A login file is a few KB; anything larger is not one. */
#define MAX_LOGIN_FILE (1u << 20)

void agent_logins_free(char **binds)
{
	if (!binds)
		return;
	for (char **p = binds; *p; p++)
		free(*p);
	free(binds);
}

static bool known(const char *cli)
{
	for (size_t i = 0; i < ARRAY_SIZE(login_files); i++)
		if (!strcmp(login_files[i].cli, cli))
			return true;
	return false;
}

int agent_logins_prepare(const char *clis, const char *home, const char *task_dir, bool chown_to,
			 uid_t uid, gid_t gid, char ***ret_binds, struct rv_error **err)
{
	char **binds = xcalloc(ARRAY_SIZE(login_files) + 1, sizeof(char *));
	size_t nb = 0;
	int r = 0;
	_cleanup_free_ char *list = xstrdup(clis ? clis : "");
	char *save = NULL;
	for (char *cli = strtok_r(list, ", ", &save); cli; cli = strtok_r(NULL, ", ", &save)) {
		if (!known(cli)) {
			r = rv_error_set(err, EINVAL,
					 "%s: '%.40s' has no login file to share (known: codex, "
					 "gemini; claude takes CLAUDE_CODE_OAUTH_TOKEN)",
					 AGENT_LOGINS_ENV, cli);
			goto fail;
		}
		for (size_t i = 0; i < ARRAY_SIZE(login_files); i++) {
			if (strcmp(login_files[i].cli, cli) || !home || !*home)
				continue;
			_cleanup_free_ char *from = fileio_join(home, login_files[i].rel);
			if (!fileio_exists(from))
				continue;
			_cleanup_free_ char *dir = xasprintf("%s/logins/%s", task_dir, cli);
			_cleanup_free_ char *to = fileio_join(dir, login_files[i].name);
			if ((r = fileio_mkdir_p(dir, 0700, err)) < 0 ||
			    (r = fileio_copy(from, to, MAX_LOGIN_FILE, 0400, err)) < 0)
				goto fail;
			/* The agent's uid must read its copy; the user's file is
			 * left as it is. */
			if (chown_to && (chown(dir, uid, gid) < 0 || chown(to, uid, gid) < 0)) {
				r = rv_error_errno(err, errno,
						   "cannot give '%s' to the agent's user", to);
				goto fail;
			}
			binds[nb++] = xasprintf("%s:%s/%s/%s:ro", to, AGENT_LOGINS_DIR, cli,
						login_files[i].name);
		}
	}
	*ret_binds = binds;
	return 0;
fail:
	agent_logins_free(binds);
	return r;
}
