/*
 * builtin_workflows.h - workflows shipped inside rover, chosen by name with
 * `rover task --workflow NAME` (the default is "default", also "swe").
 */
#ifndef ROVER_BUILTIN_WORKFLOWS_H
#define ROVER_BUILTIN_WORKFLOWS_H

/* The YAML text of a built-in workflow, or NULL when there is none. */
const char *builtin_workflow(const char *name);

/* "default, swe" - for error messages. */
const char *builtin_workflow_names(void);

#endif
