#define _GNU_SOURCE
#include "agent_tool.h"

#include <string.h>

#include "agent-runner/workflow.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"

struct tool {
	const char *name;
	const char *binary;
};

static const struct tool tools[] = {
	{"claude", "claude"}, {"codex", "codex"},       {"gemini", "gemini"},
	{"qwen", "qwen"},     {"opencode", "opencode"}, {"cursor", "cursor-agent"},
};

static const struct tool *find_tool(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
		if (name && !strcmp(tools[i].name, name))
			return &tools[i];
	return NULL;
}

bool agent_tool_is_known(const char *name)
{
	return find_tool(name) != NULL;
}

char *agent_tool_prompt(const char *prompt, const struct workflow_step *step,
			const char *output_dir)
{
	if (!step || step->n_outputs == 0)
		return xstrdup(prompt);
	size_t cap = strlen(prompt) + 512, len = 0;
	char *s = xmalloc(cap);
	len = (size_t)snprintf(s, cap,
			       "%s\n\nWhen you are done, end your answer with one JSON "
			       "object on its own line with these keys:",
			       prompt);
	for (size_t i = 0; i < step->n_outputs; i++) {
		const struct workflow_output *o = &step->outputs[i];
		char *line;
		if (o->type && !strcmp(o->type, "file") && o->filename)
			line = xasprintf("\n- \"%s\": write the file %s/%s and give its name",
					 o->name, output_dir, o->filename);
		else
			line = xasprintf("\n- \"%s\" (%s): %s", o->name,
					 o->type ? o->type : "string",
					 o->description ? o->description : "");
		size_t l = strlen(line);
		if (len + l + 1 > cap) {
			cap = (len + l + 1) * 2;
			s = xrealloc(s, cap);
		}
		memcpy(s + len, line, l + 1);
		len += l;
		free(line);
	}
	return s;
}

struct json_object *agent_tool_last_json_object(const char *text)
{
	/* Scan backwards for a '}' and try each '{' before it: the answer ends
	 * with the object, so the last balanced one is what we want. */
	if (!text)
		return NULL;
	size_t len = strlen(text);
	for (size_t end = len; end > 0; end--) {
		if (text[end - 1] != '}')
			continue;
		for (size_t start = end; start > 0; start--) {
			if (text[start - 1] != '{')
				continue;
			struct json_object *obj = NULL;
			if (jsonutil_parse(text + start - 1, end - start + 1, "output", &obj,
					   NULL) == 0 &&
			    json_object_is_type(obj, json_type_object))
				return obj;
			json_object_put(obj);
		}
		/* Only the last closing brace is tried: earlier objects are older
		 * chatter, not the answer. */
		return NULL;
	}
	return NULL;
}

static char *value_text(struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return xstrdup(json_object_get_string(v));
	return xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

void agent_tool_extract_outputs(const struct workflow_step *step, const char *stdout_text,
				const char *output_dir, struct json_object *outputs,
				char **ret_missing)
{
	_cleanup_json_ struct json_object *obj = agent_tool_last_json_object(stdout_text);
	char *missing = NULL;
	for (size_t i = 0; step && i < step->n_outputs; i++) {
		const struct workflow_output *o = &step->outputs[i];
		struct json_object *v = NULL;
		_cleanup_free_ char *val = NULL;
		if (obj && json_object_object_get_ex(obj, o->name, &v) && v)
			val = value_text(v);
		if (o->type && !strcmp(o->type, "file") && o->filename) {
			_cleanup_free_ char *path = fileio_join(output_dir, o->filename);
			if (fileio_exists(path)) {
				free(val);
				val = xstrdup(o->filename);
			} else {
				free(val);
				val = NULL;
			}
		}
		if (val) {
			jsonutil_set_str(outputs, o->name, val);
		} else if (o->required) {
			char *m =
				missing ? xasprintf("%s, %s", missing, o->name) : xstrdup(o->name);
			free(missing);
			missing = m;
		}
	}
	if (ret_missing)
		*ret_missing = missing;
	else
		free(missing);
}
