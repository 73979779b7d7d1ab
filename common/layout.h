/*
 * layout.h - the file contract between rover (the supervisor) and
 * rover-agent (the runner in the container): the names of the files in an
 * iteration directory, where the container sees that directory and the
 * rest of its mounts, the labels rover puts on its containers, and the caps
 * of the drain file.  Both binaries spell these names only through this
 * header (docs/design/store-layout.md describes the directory).
 *
 * The formats of the files themselves live in agent-runner/ (status.h,
 * checkpoint.h, eventlog.h, workflow.h): agent-runner/README.md lists the
 * modules both binaries link.
 *
 * layout_label() and layout_label_id() build one "key=value" label, the
 * same text for a label set on a container and for a filter that finds it.
 */
#ifndef ROVER_LAYOUT_H
#define ROVER_LAYOUT_H

#include <stdint.h>

/* ---- the iteration directory: <store>/tasks/<id>/iterations/<n>/ ---- */
#define LAYOUT_STATUS_FILE "status.json"          /* the runner: status.h */
#define LAYOUT_CHECKPOINT_FILE "checkpoint.json"  /* the runner: checkpoint.h */
#define LAYOUT_EVENT_LOG_FILE "rover.jsonl"       /* the runner: eventlog.h */
#define LAYOUT_INPUTS_FILE "inputs.json"          /* rover task: the inputs */
#define LAYOUT_CONTAINER_LOG_FILE "container.log" /* rover: the saved container output */
#define LAYOUT_RESUME_LOCK_FILE ".resume.lock"    /* rover: supervisor/lib/lock.h */
/* rover pause: its content is the reason (one line); the runner pauses
 * after the current step when it appears. */
#define LAYOUT_DRAIN_FILE ".pause-requested"

/* The longest reason rover writes into the drain file (its first line,
 * cut), and the most the runner reads of the file. */
#define LAYOUT_DRAIN_REASON_MAX 1024
#define LAYOUT_DRAIN_FILE_MAX 4096

/* ---- inside the container ---- */
#define LAYOUT_CT_OUTPUT "/output"         /* the iteration directory */
#define LAYOUT_CT_WORKSPACE "/workspace"   /* the task's workspace */
#define LAYOUT_CT_WORKFLOW "/workflow.yml" /* the task's workflow, read-only */
#define LAYOUT_CT_RUNNER "/rover-agent"    /* the runner binary, read-only */
/* A file of the iteration directory as the container sees it. */
#define LAYOUT_CT_OUTPUT_FILE(name) LAYOUT_CT_OUTPUT "/" name

/* ---- container labels ---- */
#define LAYOUT_LABEL_STORE "rover.store"         /* the store directory */
#define LAYOUT_LABEL_TASK "rover.task"           /* the task id */
#define LAYOUT_LABEL_ITERATION "rover.iteration" /* the iteration number */
#define LAYOUT_LABEL_SHELL "rover.shell"         /* "1": a `rover shell` container */
#define LAYOUT_LABEL_SHELL_OWNER "rover.shell.owner"

/* "key=value", newly allocated (never NULL). */
char *layout_label(const char *key, const char *value);
/* "key=<decimal id>", newly allocated. */
char *layout_label_id(const char *key, int64_t id);

#endif
