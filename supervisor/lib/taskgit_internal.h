/*
 * taskgit_internal.h - the helpers taskgit.c and taskgit_snapshot.c share.
 * Only those two files include it.
 */
#ifndef ROVER_TASKGIT_INTERNAL_H
#define ROVER_TASKGIT_INTERNAL_H

#include <stddef.h>

#include "common/error.h"

/* Append s (taken) to a NULL-terminated list of n strings. */
void taskgit_list_add(char ***list, size_t *n, char *s);
void taskgit_list_free(char **list, size_t n);

/* The deadline of one git command: ROVER_GIT_TIMEOUT_S, else
 * TASKGIT_TIMEOUT_S. */
int taskgit_timeout_s(void);

/* git in the project, output captured whole (NULs kept). */
int taskgit_git_out(const char *root, const char *const *argv, char **ret, size_t *ret_len,
		    struct rv_error **err);

/* The commit rev names in the project, or NULL (no error). */
char *taskgit_rev_quiet(const char *root, const char *rev);

#endif
