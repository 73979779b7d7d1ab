#include "builtin_workflows.h"

#include <string.h>

/* The default: one agent step that does the work and commits it, one that
 * writes a summary file.  The task's description is the input. */
static const char default_workflow[] =
	"version: '1.0'\n"
	"name: default\n"
	"description: Do the task in the workspace, commit it, and summarize the change.\n"
	"inputs:\n"
	"  - name: description\n"
	"    description: What the task should achieve\n"
	"    type: string\n"
	"    required: true\n"
	"steps:\n"
	"  - id: implement\n"
	"    name: Implement\n"
	"    type: agent\n"
	"    prompt: |\n"
	"      You are working in /workspace, a git worktree of the project, on its own branch.\n"
	"      Task: {{inputs.description}}\n"
	"      Make the change, keep the project building and its tests passing, and commit\n"
	"      your work with a clear message.\n"
	"    outputs:\n"
	"      - name: summary\n"
	"        description: One paragraph on what was changed and why\n"
	"        type: string\n"
	"  - id: summarize\n"
	"    name: Summarize\n"
	"    type: agent\n"
	"    prompt: |\n"
	"      Write a short summary of the work done for this task to /output/summary.md:\n"
	"      what changed, how it was tested, and anything left to do.\n"
	"      Context: {{steps.implement.outputs.summary}}\n"
	"    outputs:\n"
	"      - name: summary_file\n"
	"        description: The summary\n"
	"        type: file\n"
	"        filename: summary.md\n";

const char *builtin_workflow(const char *name)
{
	if (!name || !strcmp(name, "default") || !strcmp(name, "swe"))
		return default_workflow;
	return NULL;
}

const char *builtin_workflow_names(void)
{
	return "default, swe";
}
