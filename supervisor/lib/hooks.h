/*
 * hooks.h - commands the supervisor runs when a task pauses, needs a person,
 * completes or fails: exactly once per transition, crash or not (see below
 * for the one window where "at most once" is what is kept).
 *
 * The hooks are the USER's: "hooks" in ~/.config/rover/config.json
 * (userconfig.h), never in a project's rover.json.  A repository that could
 * name a command the supervisor runs would run code on every machine that
 * clones it; a rover.json "hooks" key is ignored and reported
 * (project_settings.repo_hooks_ignored).
 *
 *     "hooks": {"onPause": "notify-send rover \"task $ROVER_TASK_ID paused\"",
 *               "onNeedsAttention": "...", "onComplete": "...", "onFail": "..."}
 *
 * Each value is a command for /bin/sh -c.  It gets the task's record as JSON
 * on stdin (with the journal event that fired it as "event"), and
 * ROVER_TASK_ID, ROVER_EVENT (onPause, ...), ROVER_EVENT_TYPE (the journal's
 * type: paused, needs_attention, completed, failed) and ROVER_STORE in its
 * environment.  It runs detached (its own session, not the supervisor's
 * child), so a slow hook never holds the supervisor up and a supervisor
 * killed meanwhile does not kill it; its output goes to
 * <store>/tasks/<id>/hooks.log.
 *
 * What fires: the task's journal (journal.h) is the list of transitions.
 * Per task, `.hooks-cursor` in the task's directory counts the journal
 * events already dispatched.  hooks_dispatch() reads the events after the
 * cursor, and for each one that has a hook: writes the cursor past it
 * (atomically, durably), THEN starts the command.  So a supervisor killed
 * at any moment never runs a hook twice; one killed in the microseconds
 * between the cursor's write and the fork loses that one run (at most
 * once: a duplicate notification or a hook run twice was judged worse than
 * a lost one).  Only the process holding the scheduler lock dispatches, so
 * two supervisors never both run a hook.  Events older than the first time
 * hooks were dispatched in this store (<store>/.hooks-since) never fire:
 * turning hooks on does not replay a task's history.
 */
#ifndef ROVER_HOOKS_H
#define ROVER_HOOKS_H

#include <json-c/json.h>

#include "common/error.h"

struct task_store;

enum hook_kind {
	HOOK_ON_PAUSE,
	HOOK_ON_NEEDS_ATTENTION,
	HOOK_ON_COMPLETE,
	HOOK_ON_FAIL,
	HOOK__MAX
};

#define HOOKS_CURSOR_FILE ".hooks-cursor"
#define HOOKS_SINCE_FILE ".hooks-since"
#define HOOKS_LOG_FILE "hooks.log"
#define HOOKS_MAX_COMMAND 4096

struct hooks {
	char *command[HOOK__MAX]; /* NULL: no hook */
};

/* "onPause", ... */
const char *hooks_name(enum hook_kind k);

/* Parse the "hooks" object of the user's configuration (what: the file, for
 * messages): only the four names, each a non-empty string of at most
 * HOOKS_MAX_COMMAND bytes; anything else -EINVAL naming it.  obj NULL: no
 * hooks. */
int hooks_parse(struct json_object *obj, const char *what, struct hooks *ret,
		struct rv_error **err);

/* The user's hooks, from userconfig_path().  No file or no "hooks": none. */
int hooks_load(struct hooks *ret, struct rv_error **err);

bool hooks_any(const struct hooks *h);
void hooks_release(struct hooks *h);

/* The hook a journal event type fires, or -1 ("paused" -> HOOK_ON_PAUSE). */
int hooks_kind_of_event(const char *type);

typedef void (*hooks_report_fn)(void *userdata, int64_t task_id, const char *msg);

/* Dispatch every pending event of every task of the store (see top).
 * report (may be NULL) hears one line per hook started or failed. */
void hooks_dispatch(const struct task_store *st, const struct hooks *h, hooks_report_fn report,
		    void *userdata);

#endif
