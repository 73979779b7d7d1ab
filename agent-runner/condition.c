/* condition.c - the `if`/`until` evaluator; see condition.h. */
#define _GNU_SOURCE
#include "condition.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"

/* Echoed expressions are cut so a warning stays one readable line. */
#define ECHO_MAX 200

struct clause {
	const char *id;
	size_t id_len;
	const char *out;
	size_t out_len;
	bool neq;
	const char *val; /* trimmed, non-empty */
	size_t val_len;
};

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static bool is_space(char c)
{
	return isspace((unsigned char)c);
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

static size_t name_span(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_name_char(s[i]))
		i++;
	return i;
}

/* `steps.<id>.outputs.<name> (==|!=) <value>` over s[0..n), whitespace around
 * it allowed, value non-empty. */
static bool parse_clause(const char *s, size_t n, struct clause *c)
{
	static const char steps[] = "steps.", outputs[] = ".outputs.";
	trim(&s, &n);
	if (n < sizeof(steps) - 1 || memcmp(s, steps, sizeof(steps) - 1))
		return false;
	s += sizeof(steps) - 1;
	n -= sizeof(steps) - 1;
	c->id = s;
	c->id_len = name_span(s, n);
	if (!c->id_len)
		return false;
	s += c->id_len;
	n -= c->id_len;
	if (n < sizeof(outputs) - 1 || memcmp(s, outputs, sizeof(outputs) - 1))
		return false;
	s += sizeof(outputs) - 1;
	n -= sizeof(outputs) - 1;
	c->out = s;
	c->out_len = name_span(s, n);
	if (!c->out_len)
		return false;
	s += c->out_len;
	n -= c->out_len;
	while (n && is_space(*s)) {
		s++;
		n--;
	}
	if (n < 2 || s[1] != '=' || (s[0] != '=' && s[0] != '!'))
		return false;
	c->neq = s[0] == '!';
	s += 2;
	n -= 2;
	trim(&s, &n);
	if (!n)
		return false;
	c->val = s;
	c->val_len = n;
	return true;
}

/* Whitespace at p (at least one), then `steps.`. */
static bool followed_by_steps(const char *p, bool need_space)
{
	const char *q = p;
	while (is_space(*q))
		q++;
	if (need_space && q == p)
		return false;
	return !strncmp(q, "steps.", 6);
}

/* ` && ` between clauses: whitespace before, `steps.` after. */
static bool has_and(const char *expr)
{
	for (const char *p = strstr(expr, "&&"); p; p = strstr(p + 1, "&&"))
		if (p > expr && is_space(p[-1]) && followed_by_steps(p + 2, false))
			return true;
	return false;
}

/* End of the clause that starts at s for evaluation: the next `||` with
 * whitespace on both sides and `steps.` after it, so `a||b` in a value stays
 * in the value.  *ret_next gets where the following clause starts (NULL at
 * the end). */
static size_t eval_clause_len(const char *s, const char **ret_next)
{
	for (const char *p = strstr(s, "||"); p; p = strstr(p + 1, "||")) {
		if (p > s && is_space(p[-1]) && followed_by_steps(p + 2, true)) {
			*ret_next = p + 2;
			return (size_t)(p - s);
		}
	}
	*ret_next = NULL;
	return strlen(s);
}

/* true/yes -> "true", false/no -> "false" (any case); else the text itself. */
static const char *normalize(const char *s)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		return "true";
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no"))
		return "false";
	return s;
}

/* The output's text, borrowed from steps; NULL when undefined. */
static const char *lookup(struct json_object *steps, const struct clause *c)
{
	_cleanup_free_ char *id = xstrndup(c->id, c->id_len);
	_cleanup_free_ char *out = xstrndup(c->out, c->out_len);
	struct json_object *step = NULL, *val = NULL;
	if (!steps || !json_object_object_get_ex(steps, id, &step) ||
	    !json_object_is_type(step, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(step, out, &val) || !val)
		return NULL;
	if (json_object_is_type(val, json_type_string))
		return json_object_get_string(val);
	return json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
}

static bool clause_eval(struct json_object *steps, const struct clause *c)
{
	const char *actual = lookup(steps, c);
	if (!actual)
		return c->neq;
	size_t alen = strlen(actual);
	trim(&actual, &alen);
	_cleanup_free_ char *a = xstrndup(actual, alen);
	_cleanup_free_ char *want = xstrndup(c->val, c->val_len);
	bool equal = !strcmp(normalize(a), normalize(want));
	return c->neq ? !equal : equal;
}

bool condition_eval(const char *expr, struct json_object *steps, char **ret_warning)
{
	_cleanup_free_ char *warning = NULL;
	bool result = false;
	const char *s = expr ? expr : "";
	size_t n = strlen(s);
	trim(&s, &n);

	if (!n) {
		warning = xstrdup("empty condition evaluates to false");
	} else if (n > CONDITION_MAX_LEN) {
		warning = xasprintf("condition longer than %d bytes evaluates to false",
				    CONDITION_MAX_LEN);
	} else if (has_and(s)) {
		warning = xasprintf("\"&&\" is not supported in conditions (join clauses with "
				    "\"||\" or use separate steps); \"%.*s\" evaluates to false",
				    ECHO_MAX, s);
	} else {
		for (const char *p = s; p;) {
			const char *next = NULL;
			size_t len = eval_clause_len(p, &next);
			struct clause c;
			if (parse_clause(p, len, &c)) {
				result = clause_eval(steps, &c) || result;
			} else if (!warning) {
				const char *q = p;
				trim(&q, &len);
				warning = xasprintf(
					"clause \"%.*s\" does not match \"steps.<id>.outputs.<name> "
					"== <value>\" (or !=); it evaluates to false",
					(int)(len < ECHO_MAX ? len : ECHO_MAX), q);
			}
			p = next;
		}
	}
	if (ret_warning)
		*ret_warning = TAKE_PTR(warning);
	return result;
}

bool condition_is_valid(const char *expr, char **ret_reason)
{
	_cleanup_free_ char *reason = NULL;
	const char *s = expr ? expr : "";
	size_t n = strlen(s);
	trim(&s, &n);

	if (!n) {
		reason = xstrdup("empty condition");
	} else if (n > CONDITION_MAX_LEN) {
		reason = xasprintf("condition longer than %d bytes", CONDITION_MAX_LEN);
	} else if (has_and(s)) {
		reason = xstrdup("\"&&\" is not supported (join clauses with \"||\")");
	} else {
		/* Validation splits on every `||`, whatever the spacing, so a value
		 * cannot contain one (workflow format 1.0). */
		_cleanup_free_ char *copy = xstrndup(s, n);
		for (char *p = copy; p && !reason;) {
			char *bar = strstr(p, "||");
			size_t len = bar ? (size_t)(bar - p) : strlen(p);
			struct clause c;
			if (!parse_clause(p, len, &c)) {
				const char *q = p;
				trim(&q, &len);
				reason = xasprintf(
					"\"%.*s\" is not a clause of the form "
					"\"steps.<id>.outputs.<name> == <value>\" (or !=)",
					(int)(len < ECHO_MAX ? len : ECHO_MAX), q);
			}
			p = bar ? bar + 2 : NULL;
		}
	}
	bool ok = !reason;
	if (ret_reason)
		*ret_reason = TAKE_PTR(reason);
	return ok;
}
