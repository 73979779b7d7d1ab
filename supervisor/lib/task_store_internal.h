/*
 * task_store_internal.h - what task_store.c and task_store_list.c share,
 * and nothing else includes.
 */
#ifndef ROVER_TASK_STORE_INTERNAL_H
#define ROVER_TASK_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/task_store.h"

/* A task directory's name ("123", no sign, no leading zero) -> its id. */
bool task_store_parse_dir_name(const char *name, int64_t *ret);

/* tasks/ of the store, opened without following a symlink at tasks/. */
int task_store_open_tasks_dir(const struct task_store *s, int *ret_fd, struct rv_error **err);

#endif
