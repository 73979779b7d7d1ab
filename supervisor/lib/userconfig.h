/*
 * userconfig.h - the user's own rover configuration, outside any repository.
 *
 * File: ${XDG_CONFIG_HOME:-$HOME/.config}/rover/config.json (XDG_CONFIG_HOME
 * counts only when it is an absolute path, as the XDG spec says).  It is
 * optional: a missing file (or no HOME to find it from) is an empty
 * configuration.  A repository can never supply it: rover.json in a project
 * is a different file and can never choose an engine endpoint.
 *
 *     {"engine": "docker" | "podman" | "unix:///path" | "tcp://host:port",
 *      "container": {...},   (read and checked by hardening.h, skipped here)
 *      "hooks": {...}}       (read and checked by hooks.h, skipped here)
 *
 * Strict: the file is read up to USERCONFIG_MAX_BYTES (a bigger one is
 * refused, never read on), must be one JSON object, and may hold only the
 * keys above with the types above; anything else fails with -EINVAL (or
 * -EBADMSG when it is not JSON, -EFBIG when too big) and a message naming
 * the file, so a typo never silently falls back to another engine.
 *
 * Calling sequence:
 *     struct userconfig uc = {0};
 *     if (userconfig_load(&uc, &err) < 0) ...
 *     ... uc.engine (NULL: not set) ...
 *     userconfig_release(&uc);
 */
#ifndef ROVER_USERCONFIG_H
#define ROVER_USERCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define USERCONFIG_MAX_BYTES (64 * 1024)

struct userconfig {
	char *path;   /* the file read, or that would be read; NULL without HOME */
	bool present; /* the file exists */
	char *engine; /* "engine", or NULL */
};

/* The file's path from the environment (XDG_CONFIG_HOME, HOME), newly
 * allocated; NULL when neither is usable. */
char *userconfig_path(void);

/* Parse buf (len bytes) as the configuration file `path` (for messages).
 * *ret's engine is filled only on success; ret->path is not touched. */
int userconfig_parse(const char *buf, size_t len, const char *path, struct userconfig *ret,
		     struct rv_error **err);

/* Read and parse the file at userconfig_path().  Missing: 0 with present
 * false.  *ret is filled only on success. */
int userconfig_load(struct userconfig *ret, struct rv_error **err);

/* Save "engine": value in the file at userconfig_path() (`rover init
 * --engine`): the file is read and checked as userconfig_load() does (a
 * broken one is refused, never overwritten), its other keys ("container")
 * are kept, value is checked as the "engine" setting, the directory is
 * made (0700) when missing, and the file written atomically
 * (fileio_write_atomic, mode 0600).  No HOME: -ENOENT.  *ret_previous
 * (may be NULL): the engine it replaced, or NULL. */
int userconfig_set_engine(const char *value, char **ret_previous, struct rv_error **err);

void userconfig_release(struct userconfig *c);

#endif
