/* placeholder.c - `{{inputs.x}}` / `{{steps.id.outputs.y}}` substitution; see
 * placeholder.h. */
#define _GNU_SOURCE
#include "placeholder.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"

/* The output, cut off (too_big) past PLACEHOLDER_MAX_OUTPUT. */
struct buf {
	struct strbuf sb;
	bool too_big;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->too_big)
		return;
	if (b->sb.len + n > PLACEHOLDER_MAX_OUTPUT) {
		b->too_big = true;
		return;
	}
	strbuf_add(&b->sb, s, n);
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* A name of [A-Za-z0-9_-]+ at *s, up to end; advances *s past it. */
static bool take_name(const char **s, const char *end, const char **ret, size_t *ret_len)
{
	const char *p = *s;
	while (p < end && is_name_char(*p))
		p++;
	if (p == *s)
		return false;
	*ret = *s;
	*ret_len = (size_t)(p - *s);
	*s = p;
	return true;
}

static bool take_lit(const char **s, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *s) < n || memcmp(*s, lit, n))
		return false;
	*s += n;
	return true;
}

struct ref {
	bool is_step;
	char *id;   /* steps only */
	char *name; /* input or output name */
};

static void ref_release(struct ref *r)
{
	free(r->id);
	free(r->name);
}

static void skip_space(const char **s, const char *end)
{
	while (*s < end && isspace((unsigned char)**s))
		(*s)++;
}

/* Parse `{{ inputs.<name> }}` or `{{ steps.<id>.outputs.<name> }}` at s (which
 * points at the braces).  On success *ret_end is just past the closing braces.
 * Scanning stops at the first character that cannot belong to the form, so a
 * text full of stray braces costs linear time. */
static bool parse_ref(const char *s, const char *end, struct ref *r, const char **ret_end)
{
	const char *id = NULL, *name = NULL;
	size_t id_len = 0, name_len = 0;
	bool is_step;
	if (!take_lit(&s, end, "{{"))
		return false;
	skip_space(&s, end);
	if (take_lit(&s, end, "inputs.")) {
		is_step = false;
		if (!take_name(&s, end, &name, &name_len))
			return false;
	} else if (take_lit(&s, end, "steps.")) {
		is_step = true;
		if (!take_name(&s, end, &id, &id_len) || !take_lit(&s, end, ".outputs.") ||
		    !take_name(&s, end, &name, &name_len))
			return false;
	} else {
		return false;
	}
	skip_space(&s, end);
	if (!take_lit(&s, end, "}}"))
		return false;
	r->is_step = is_step;
	r->id = is_step ? xstrndup(id, id_len) : NULL;
	r->name = xstrndup(name, name_len);
	*ret_end = s;
	return true;
}

/* Text of the value, borrowed from the JSON objects; NULL when unresolved. */
static const char *lookup(const struct ref *r, struct json_object *inputs,
			  struct json_object *steps)
{
	struct json_object *scope = r->is_step ? NULL : inputs, *val = NULL;
	if (r->is_step && (!steps || !json_object_object_get_ex(steps, r->id, &scope) ||
			   !json_object_is_type(scope, json_type_object)))
		return NULL;
	if (!scope || !json_object_is_type(scope, json_type_object) ||
	    !json_object_object_get_ex(scope, r->name, &val) || !val)
		return NULL;
	if (json_object_is_type(val, json_type_string))
		return json_object_get_string(val);
	return json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
}

/* Append "{{...}}" to the comma-separated list unless `seen` (a JSON object
 * used as a hash set) already has it. */
static void note_unresolved(struct buf *list, struct json_object *seen, const struct ref *r)
{
	_cleanup_free_ char *p = r->is_step ? xasprintf("{{steps.%s.outputs.%s}}", r->id, r->name)
					    : xasprintf("{{inputs.%s}}", r->name);
	if (json_object_object_get_ex(seen, p, NULL))
		return;
	json_object_object_add(seen, p, NULL);
	if (list->sb.len)
		buf_adds(list, ", ");
	buf_adds(list, p);
}

char *placeholder_shell_quote(const char *s)
{
	struct buf b = {STRBUF_INIT, false};
	buf_adds(&b, "'");
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '\'')
			buf_adds(&b, "'\\''");
		else
			buf_add(&b, p, 1);
	}
	buf_adds(&b, "'");
	return strbuf_detach(&b.sb, NULL);
}

/* Values passed through the environment (placeholder_resolve_env). */
struct env_list {
	char **vars;
	size_t n, cap;
	size_t bytes; /* of all the variables: counted against PLACEHOLDER_MAX_OUTPUT */
};

void placeholder_env_free(char **env)
{
	for (char **p = env; p && *p; p++)
		free(*p);
	free(env);
}

static int resolve(const char *text, struct json_object *inputs, struct json_object *steps,
		   unsigned flags, struct env_list *env, char **ret, char **ret_unresolved,
		   struct rv_error **err)
{
	if (!text)
		return rv_error_set(err, EINVAL, "no text to resolve placeholders in");

	struct buf out = {STRBUF_INIT, false}, unresolved = {STRBUF_INIT, false};
	_cleanup_json_ struct json_object *seen = json_object_new_object();
	const char *end = text + strlen(text);
	const char *p = text;
	buf_add(&out, "", 0);
	for (;;) {
		/* Past the limit nothing more is kept: stop before looking up (and
		 * serializing) more values, whatever is left of the text. */
		if (out.too_big || unresolved.too_big)
			break;
		const char *open = strstr(p, "{{");
		if (!open) {
			buf_add(&out, p, (size_t)(end - p));
			break;
		}
		buf_add(&out, p, (size_t)(open - p));
		struct ref r = {0};
		const char *after = NULL;
		if (!parse_ref(open, end, &r, &after)) {
			/* Not ours: keep one brace and look again from the next
			 * character, so `{{{inputs.x}}}` still finds the inner one. */
			buf_add(&out, open, 1);
			p = open + 1;
			continue;
		}
		const char *val = lookup(&r, inputs, steps);
		if (!val) {
			note_unresolved(&unresolved, seen, &r);
			buf_add(&out, open, (size_t)(after - open));
		} else if (env) {
			size_t vlen = strlen(val) + 32;
			if (env->bytes + vlen > PLACEHOLDER_MAX_OUTPUT) {
				out.too_big = true;
				ref_release(&r);
				break;
			}
			env->bytes += vlen;
			if (env->n + 2 > env->cap) {
				env->cap = env->cap ? 2 * env->cap : 8;
				env->vars = xrealloc(env->vars, env->cap * sizeof(char *));
			}
			env->vars[env->n] = xasprintf("ROVER_PH_%zu=%s", env->n, val);
			char name[48];
			snprintf(name, sizeof(name), "\"${ROVER_PH_%zu}\"", env->n);
			env->vars[++env->n] = NULL;
			buf_adds(&out, name);
		} else if (flags & PLACEHOLDER_SHELL_QUOTE) {
			_cleanup_free_ char *q = placeholder_shell_quote(val);
			buf_adds(&out, q);
		} else {
			buf_adds(&out, val);
		}
		ref_release(&r);
		p = after;
	}

	int rc = 0;
	if (out.too_big || unresolved.too_big)
		rc = rv_error_set(err, E2BIG,
				  "text after placeholder substitution exceeds %u bytes",
				  PLACEHOLDER_MAX_OUTPUT);
	else if ((flags & PLACEHOLDER_STRICT) && unresolved.sb.len)
		rc = rv_error_set(err, EINVAL, "unresolved placeholders: %s",
				  strbuf_str(&unresolved.sb));
	if (rc < 0) {
		strbuf_release(&out.sb);
		strbuf_release(&unresolved.sb);
		return rc;
	}
	*ret = strbuf_detach(&out.sb, NULL);
	/* NULL when every placeholder resolved, as callers expect */
	if (ret_unresolved && unresolved.sb.buf)
		*ret_unresolved = strbuf_detach(&unresolved.sb, NULL);
	else if (ret_unresolved)
		*ret_unresolved = NULL;
	strbuf_release(&unresolved.sb);
	return 0;
}

int placeholder_resolve(const char *text, struct json_object *inputs, struct json_object *steps,
			unsigned flags, char **ret, char **ret_unresolved, struct rv_error **err)
{
	return resolve(text, inputs, steps, flags, NULL, ret, ret_unresolved, err);
}

int placeholder_resolve_env(const char *text, struct json_object *inputs, struct json_object *steps,
			    char **ret, char ***ret_env, struct rv_error **err)
{
	struct env_list env = {.vars = xcalloc(1, sizeof(char *)), .cap = 1};
	int r = resolve(text, inputs, steps, PLACEHOLDER_STRICT, &env, ret, NULL, err);
	if (r < 0) {
		placeholder_env_free(env.vars);
		return r;
	}
	*ret_env = env.vars;
	return 0;
}
