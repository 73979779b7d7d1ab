/*
 * Why one file over 800 lines: it is one table of rules (which failures are
 * transient, retryable or fatal) and the matchers that table needs - JSON
 * error objects, text patterns compiled once, reset times.  The rules and
 * their matchers change together (docs/design/agents.md: classification
 * stays in one table-driven module).
 */
#define _GNU_SOURCE
#include "classify.h"

#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"

/*
 * The rules are POSIX extended regular expressions, matched case-insensitively
 * with REG_NEWLINE so that "." never crosses a line: a conjunction such as
 * "credit ... balance" must be in one line of the error, not anywhere in 64 KB
 * of output.  SEP is the TypeScript rover's separator (underscore, whitespace,
 * hyphen); WB/WA stand for \b before and after a word (POSIX ERE has no \b).
 */
#define SEP "[[:space:]_-]+"
#define WB "(^|[^[:alnum:]_])"
#define WA "([^[:alnum:]_]|$)"
#define TIMEOUT_WORD "time[[:space:]_-]*out"

/* ECONNREFUSED and friends: the network hiccups of the TypeScript rover's list. */
#define RX_NET_TRANSIENT                                                                   \
	"econnrefused|etimedout|enetunreach|econnreset|network" SEP "error|connection" SEP \
	"(failed|refused|reset)"
/* A connection timeout pauses but is not retried in-process (as before). */
#define RX_CONN_TIMEOUT "connection" SEP "(" TIMEOUT_WORD "|timed" SEP "out)"
#define RX_TOO_MANY "too" SEP "many" SEP "requests|" WB "429" WA
/* Our fix: the provider is down or busy, not the request wrong. */
#define RX_SERVER                                                                           \
	WB "5[0-9][0-9]" WA "|overloaded|service" SEP "unavailable|bad" SEP                 \
	   "gateway|gateway" SEP TIMEOUT_WORD "|internal" SEP "server" SEP "error|high" SEP \
	   "demand"
#define RX_RATE "rate" SEP "limit|ratelimit|" RX_TOO_MANY
/* A usage window of a subscription: "5-hour limit reached", "weekly limit". */
#define RX_USAGE                                                                            \
	"hit" SEP "your" SEP "limit|usage" SEP "limit|plan" SEP "limit|(hour|daily|weekly|" \
	"monthly|session)" SEP "limit"
/* Money or quota ran out: retryable, and it wins over an auth-looking
 * wrapper (the TypeScript rover's conjunctions, applied to plain text too).  The
 * conjunctions "credit ... balance" are matched as two patterns on one line
 * (see struct rx_alt), never as "credit.*balance": glibc's matcher is
 * quadratic in the length of a line for such a pattern. */
#define RX_CREDIT_PLAIN                                                                 \
	"insufficient" SEP "(quota|credits?|balance|funds)|exceed[a-z]*" SEP "your" SEP \
	"(current" SEP ")?quota"
#define CONJ_CREDIT                                                                         \
	{.a = RX_CREDIT_PLAIN},                                                             \
		{.a = WB "credit", .b = "[^[:alnum:]](limit|exhaust|balance|insufficien)"}, \
		{.a = WB "billing", .b = "[^[:alnum:]](limit|error|issue|problem)"},        \
		{.a = WB "quota", .b = "[^[:alnum:]](exceed|exhaust|limit|reached)"},       \
	{                                                                                   \
		.a = WB "balance", .b = "[^[:alnum:]](insufficien|low|zero|negative|empty)" \
	}
#define RX_INVALID_KEY "invalid" SEP "(x-)?api" SEP "key"
#define RX_AUTH_PLAIN                                                                  \
	"authenticat|unauthori[sz]ed|" RX_INVALID_KEY "|not" SEP "logged" SEP "in|log" \
	"[[:space:]]?in" SEP "required|please" SEP "(run" SEP ")?/?log[[:space:]]?in|" WB "401" WA
#define CONJ_AUTH                                                                             \
	{.a = RX_AUTH_PLAIN}, {.a = "api" SEP "key", .b = "invalid|missing|expired|revoked"}, \
	{                                                                                     \
		.a = "(oauth|access)" SEP "token", .b = "expired|revoked|invalid"             \
	}
#define CONJ_AUTH_PROMPT                                                             \
	{.a = "please visit the following url to authorize|enter the authorization " \
	      "code:|accounts\\.google\\.com/o/oauth2"},                             \
	{                                                                            \
		.a = "failed to authenticate", .b = "retrying"                       \
	}
#define RX_TOOL "fataltoolexecutionerror|invalid_tool_params|file path must be absolute"
#define CONJ_MODEL                                                               \
	{.a = "(invalid|unsupported|unknown)" SEP "model"},                      \
	{                                                                        \
		.a = "model", .b = "not" SEP "found|invalid|unsupported|not" SEP \
				   "supported|does" SEP "not" SEP "exist"        \
	}
#define RX_PERMISSION "permission" SEP "denied|access" SEP "denied|forbidden|" WB "403" WA

/* Only the end of a long text is looked at: that is where a tool prints its
 * error, and it bounds the work whatever a tool prints. */
#define MAX_TEXT (64u * 1024u)
/* The TypeScript rover scans the last 8 KB of a stream for a JSON error object. */
#define JSON_WINDOW (8u * 1024u)

/* The window of text a rule looks at: the last MAX_TEXT bytes. */
struct window {
	const char *start; /* the whole text (a match may look back one byte) */
	size_t from, to;   /* [from, to) is examined */
};

static bool window_of(const char *text, struct window *w)
{
	if (!text || !*text)
		return false;
	size_t len = strlen(text);
	*w = (struct window){text, len > MAX_TEXT ? len - MAX_TEXT : 0, len};
	return true;
}

/* One alternative of a rule: pattern a alone, or the conjunction "a, then b
 * later on the same line" (what "a.*b" meant, without its quadratic cost). */
struct rx_alt {
	const char *a, *b;
	regex_t ra, rb;
	bool ok; /* both compiled */
};

#define MAX_ALTS 6
struct rx_rule {
	struct rx_alt alt[MAX_ALTS];
};

enum {
	RULE_TRANSIENT,
	RULE_RETRYABLE,
	RULE_INVALID_KEY,
	RULE_CREDIT,
	RULE_JSON_RATE,
	RULE_AUTH_PROMPT,
	RULE_USAGE,
	RULE_AUTH,
	RULE_RATE,
	RULE_TOOL,
	RULE_MODEL,
	RULE_NETWORK,
	RULE_SERVER,
	RULE_PERMISSION,
	RULE__MAX
};

static struct rx_rule rules[RULE__MAX] = {
	[RULE_TRANSIENT] = {{{.a = RX_NET_TRANSIENT "|" RX_TOO_MANY "|" RX_SERVER}}},
	[RULE_RETRYABLE] = {{{.a = RX_RATE "|" RX_USAGE "|" RX_CONN_TIMEOUT}, CONJ_CREDIT}},
	[RULE_INVALID_KEY] = {{{.a = RX_INVALID_KEY}}},
	[RULE_CREDIT] = {{CONJ_CREDIT}},
	[RULE_JSON_RATE] = {{{.a = "rate" SEP "limit|ratelimit|quota|resource_exhausted|too" SEP
				   "many"}}},
	[RULE_AUTH_PROMPT] = {{CONJ_AUTH_PROMPT}},
	[RULE_USAGE] = {{{.a = RX_USAGE}}},
	[RULE_AUTH] = {{CONJ_AUTH}},
	[RULE_RATE] = {{{.a = RX_RATE}}},
	[RULE_TOOL] = {{{.a = RX_TOOL}}},
	[RULE_MODEL] = {{CONJ_MODEL}},
	[RULE_NETWORK] = {{{.a = RX_NET_TRANSIENT "|" RX_CONN_TIMEOUT}}},
	[RULE_SERVER] = {{{.a = RX_SERVER}}},
	[RULE_PERMISSION] = {{{.a = RX_PERMISSION}}},
};

#define WHEN_RULES 5
static regex_t when_rx[WHEN_RULES];
static bool when_ok[WHEN_RULES];
static void compile_when_rules(void);

/* Compiled once per process (the patterns are constants); regexec on a
 * compiled pattern is thread-safe in glibc.  A pattern that does not compile
 * (each has a positive unit test, so only ENOMEM) never matches. */
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void compile_all(void)
{
	const int flags = REG_EXTENDED | REG_ICASE | REG_NEWLINE;
	for (size_t i = 0; i < RULE__MAX; i++) {
		for (size_t j = 0; j < MAX_ALTS && rules[i].alt[j].a; j++) {
			struct rx_alt *x = &rules[i].alt[j];
			x->ok = regcomp(&x->ra, x->a, flags) == 0;
			if (x->ok && x->b && regcomp(&x->rb, x->b, flags | REG_NOSUB) != 0) {
				regfree(&x->ra);
				x->ok = false;
			}
		}
	}
	compile_when_rules();
}

/* Search re in text[from, to) (glibc's REG_STARTEND: no copy, and the byte
 * before `from` still counts for "^" and word starts). */
static bool find(const regex_t *re, const char *text, size_t from, size_t to, regmatch_t *ret)
{
	regmatch_t m[1] = {{(regoff_t)from, (regoff_t)to}};
	if (from >= to || regexec(re, text, 1, m, REG_STARTEND) != 0)
		return false;
	if (ret)
		*ret = m[0];
	return true;
}

static size_t line_end(const struct window *w, size_t at)
{
	const char *nl = memchr(w->start + at, '\n', w->to - at);
	return nl ? (size_t)(nl - w->start) : w->to;
}

/* Linear in the window: each byte is examined by one search for a and at
 * most one search for b (b is only looked for from an a on a line not yet
 * searched; a later a on that line could only find less). */
static bool alt_matches(const struct rx_alt *x, const struct window *w)
{
	regmatch_t m;
	if (!x->ok)
		return false;
	if (!x->b)
		return find(&x->ra, w->start, w->from, w->to, NULL);
	size_t pos = w->from, searched_to = 0;
	bool searched = false;
	while (find(&x->ra, w->start, pos, w->to, &m)) {
		size_t a_end = (size_t)m.rm_eo;
		if (!searched || a_end > searched_to) {
			size_t eol = line_end(w, a_end);
			if (find(&x->rb, w->start, a_end, eol, NULL))
				return true;
			searched = true;
			searched_to = eol;
		}
		pos = a_end > (size_t)m.rm_so ? a_end : (size_t)m.rm_so + 1;
	}
	return false;
}

static bool rule_matches(int rule, const char *text)
{
	struct window w;
	pthread_once(&compile_once, compile_all);
	if (!window_of(text, &w))
		return false;
	for (size_t j = 0; j < MAX_ALTS && rules[rule].alt[j].a; j++)
		if (alt_matches(&rules[rule].alt[j], &w))
			return true;
	return false;
}

bool classify_is_transient(const char *text)
{
	return rule_matches(RULE_TRANSIENT, text);
}

bool classify_is_retryable(const char *text, const char *error_retryable)
{
	if (error_retryable && strcmp(error_retryable, "true") == 0)
		return true;
	if (classify_is_transient(text))
		return true;
	return rule_matches(RULE_RETRYABLE, text);
}

bool classify_command_exit(int exit_code)
{
	return exit_code == 75; /* EX_TEMPFAIL, sysexits.h */
}

const char *classify_code_name(enum classify_code code)
{
	switch (code) {
	case CLASSIFY_GENERIC:
		return "GENERIC_ERROR";
	case CLASSIFY_AUTH:
		return "AUTHENTICATION_ERROR";
	case CLASSIFY_RATE_LIMIT:
		return "RATE_LIMIT_ERROR";
	case CLASSIFY_TIMEOUT:
		return "TIMEOUT_ERROR";
	case CLASSIFY_NETWORK:
		return "NETWORK_ERROR";
	case CLASSIFY_SERVER:
		return "SERVER_ERROR";
	case CLASSIFY_TOOL:
		return "TOOL_EXECUTION_ERROR";
	case CLASSIFY_INVALID_MODEL:
		return "INVALID_MODEL_ERROR";
	case CLASSIFY_PERMISSION:
		return "PERMISSION_ERROR";
	}
	return "GENERIC_ERROR";
}

static bool code_retryable(enum classify_code code)
{
	return code == CLASSIFY_RATE_LIMIT || code == CLASSIFY_NETWORK || code == CLASSIFY_SERVER;
}

/* ---- JSON error objects ------------------------------------------------- */

static bool is_error_object(struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return false;
	if (json_object_object_get_ex(o, "error", NULL))
		return true;
	const char *type = jsonutil_get_str(o, "type");
	if (type && strcmp(type, "error") == 0)
		return true;
	bool is_error = false;
	return jsonutil_get_bool(o, "is_error", &is_error) && is_error;
}

/* The last error object among the top-level {...} spans of the last
 * JSON_WINDOW bytes of text (a brace-depth scan, as the TypeScript rover does:
 * tools print JSON amid plain log lines).  Owned by the caller. */
static struct json_object *last_error_object(const char *text)
{
	if (!text)
		return NULL;
	size_t len = strlen(text);
	const char *p = len > JSON_WINDOW ? text + len - JSON_WINDOW : text;
	const char *end = text + len;
	struct json_object *found = NULL;
	const char *start = NULL;
	int depth = 0;
	bool in_str = false, esc = false;

	for (const char *c = p; c < end; c++) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (*c == '\\')
				esc = true;
			else if (*c == '"')
				in_str = false;
			continue;
		}
		/* Quotes outside an object are prose ("it said "{""), not JSON. */
		if (*c == '"' && depth > 0) {
			in_str = true;
		} else if (*c == '{') {
			if (depth++ == 0)
				start = c;
		} else if (*c == '}' && depth > 0 && --depth == 0) {
			struct json_tokener *tok = json_tokener_new();
			if (!tok)
				break;
			struct json_object *o =
				json_tokener_parse_ex(tok, start, (int)(c - start + 1));
			bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
			json_tokener_free(tok);
			if (ok && is_error_object(o)) {
				json_object_put(found);
				found = o;
			} else {
				json_object_put(o);
			}
		}
	}
	return found;
}

/* A string or integer member as text (borrowed), else NULL. */
static const char *scalar_text(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
		return json_object_get_string(v);
	return NULL;
}

static int http_code_of(const char *s)
{
	if (!s || strlen(s) != 3 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
		return 0;
	return atoi(s);
}

static bool contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle);
}

/* The TypeScript rover's step 3 on one error object, with our fixes (5xx/overloaded
 * is SERVER; "rate" must be a rate limit, not "generate").  GENERIC means
 * "nothing recognised": the caller then tries the text rules. */
static enum classify_code classify_json(struct json_object *o)
{
	struct json_object *eo = jsonutil_get_obj(o, "error");
	const char *parts[] = {
		scalar_text(eo, "type"), scalar_text(eo, "code"),  scalar_text(eo, "status"),
		scalar_text(o, "code"),  scalar_text(o, "status"),
	};
	const char *otype = jsonutil_get_str(o, "type");
	if (otype && (!strcmp(otype, "error") || !strcmp(otype, "result")))
		otype = NULL; /* the envelope, not the kind of error */

	_cleanup_free_ char *tc = xasprintf("%s", otype ? otype : "");
	int http = 0;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		if (!parts[i])
			continue;
		char *n = xasprintf("%s %s", tc, parts[i]);
		free(tc);
		tc = n;
		if (!http)
			http = http_code_of(parts[i]);
	}

	const char *msg = jsonutil_get_str(eo, "message");
	if (!msg)
		msg = jsonutil_get_str(o, "message");
	if (!msg)
		msg = jsonutil_get_str(o, "error");
	if (!msg)
		msg = jsonutil_get_str(o, "result");

	if (contains_ci(tc, "auth") || http == 401 || rule_matches(RULE_INVALID_KEY, msg))
		return rule_matches(RULE_CREDIT, msg) ? CLASSIFY_RATE_LIMIT : CLASSIFY_AUTH;
	if (rule_matches(RULE_JSON_RATE, tc) || http == 429)
		return CLASSIFY_RATE_LIMIT;
	if (contains_ci(tc, "overload") || contains_ci(tc, "unavailable") ||
	    (http >= 500 && http <= 599))
		return CLASSIFY_SERVER;
	if (contains_ci(tc, "tool"))
		return CLASSIFY_TOOL;
	if (contains_ci(tc, "model"))
		return CLASSIFY_INVALID_MODEL;
	if (contains_ci(tc, "permission") || http == 403)
		return CLASSIFY_PERMISSION;
	return CLASSIFY_GENERIC;
}

/* ---- text rules ----------------------------------------------------------- */

static const struct {
	int rule;
	enum classify_code code;
} text_rules[] = {
	/* First match wins (its step 4), money before auth. */
	{RULE_USAGE, CLASSIFY_RATE_LIMIT},
	{RULE_CREDIT, CLASSIFY_RATE_LIMIT},
	{RULE_AUTH, CLASSIFY_AUTH},
	{RULE_RATE, CLASSIFY_RATE_LIMIT},
	{RULE_TOOL, CLASSIFY_TOOL},
	{RULE_MODEL, CLASSIFY_INVALID_MODEL},
	{RULE_NETWORK, CLASSIFY_NETWORK},
	{RULE_SERVER, CLASSIFY_SERVER},
	{RULE_PERMISSION, CLASSIFY_PERMISSION},
};

static enum classify_code classify_text(const char *a, const char *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(text_rules); i++)
		if (rule_matches(text_rules[i].rule, a) || rule_matches(text_rules[i].rule, b))
			return text_rules[i].code;
	return CLASSIFY_GENERIC;
}

void classify_agent_failure(const char *stdout_text, const char *stderr_text, bool timed_out,
			    struct classify_result *ret)
{
	enum classify_code code = CLASSIFY_GENERIC;

	if (rule_matches(RULE_AUTH_PROMPT, stderr_text)) {
		code = CLASSIFY_AUTH;
	} else if (timed_out) {
		/* Never retryable: a step that times out would time out again after a
		 * resume, and pause/resume would loop (as in the TypeScript rover). */
		ret->code = CLASSIFY_TIMEOUT;
		ret->retryable = false;
		return;
	} else {
		_cleanup_json_ struct json_object *o = last_error_object(stderr_text);
		if (!o)
			o = last_error_object(stdout_text);
		if (o)
			code = classify_json(o);
		if (code == CLASSIFY_GENERIC)
			code = classify_text(stderr_text, stdout_text);
	}
	ret->code = code;
	ret->retryable = code_retryable(code);
}

/* ---- reset times ---------------------------------------------------------- */

#define MS_PER_S INT64_C(1000)
#define MS_PER_DAY (INT64_C(86400) * MS_PER_S)
/* A clock time this little in the past has just passed (our clock and the
 * provider's differ by a little): it is returned as is, not as tomorrow. */
#define CLOCK_GRACE_MS (INT64_C(10) * 60 * MS_PER_S)
/* Farther than this, the text is not a reset time we should wait for. */
#define MAX_AHEAD_MS (INT64_C(31) * MS_PER_DAY)

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static size_t word_len(const char *p)
{
	size_t n = 0;
	while (isalpha((unsigned char)p[n]))
		n++;
	return n;
}

static bool word_is(const char *p, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && strncasecmp(p, *words, n) == 0)
			return true;
	return false;
}

/* "120", "7.042": *ret in thousandths.  Bounded so that nothing overflows. */
static const char *parse_number_milli(const char *p, int64_t *ret)
{
	int64_t whole = 0;
	const char *q = p;
	while (isdigit((unsigned char)*q)) {
		if (whole > 10000000) /* no reset is 4 months of seconds away */
			return NULL;
		whole = whole * 10 + (*q++ - '0');
	}
	if (q == p)
		return NULL;
	int64_t frac = 0, scale = 1000;
	if (*q == '.' && isdigit((unsigned char)q[1])) {
		q++;
		while (isdigit((unsigned char)*q)) {
			if (scale > 1) {
				scale /= 10;
				frac += (*q - '0') * scale;
			}
			q++;
		}
	}
	*ret = whole * 1000 + frac;
	return q;
}

/* "120 seconds", "30", "5 minutes", "1m9.6s", "1 hour 30 minutes", "20ms". */
static bool parse_duration(const char *p, int64_t *ret_ms)
{
	static const char *const u_ms[] = {"ms", "msec", "millisecond", "milliseconds", NULL};
	static const char *const u_s[] = {"s", "sec", "secs", "second", "seconds", NULL};
	static const char *const u_m[] = {"m", "min", "mins", "minute", "minutes", NULL};
	static const char *const u_h[] = {"h", "hr", "hrs", "hour", "hours", NULL};
	static const char *const u_d[] = {"d", "day", "days", NULL};
	int64_t total = 0;
	bool any = false;

	p = skip_space(p);
	while (*p == ':' || *p == '=' || *p == '"' || *p == ' ')
		p++;
	for (;;) {
		int64_t milli;
		const char *q = parse_number_milli(p, &milli);
		if (!q)
			break;
		const char *u = skip_space(q);
		size_t n = word_len(u);
		int64_t unit;
		if (n == 0) {
			/* A bare number is seconds (Retry-After), unless it is part of a
			 * date or clock time ("2026-11-22", "14:30", "2.5.1"). */
			if (any || (*q && strchr("-:/.", *q) && isdigit((unsigned char)q[1])))
				break;
			total = milli; /* thousandths of a second = ms */
			any = true;
			break;
		}
		if (word_is(u, n, u_ms))
			unit = 1;
		else if (word_is(u, n, u_s))
			unit = MS_PER_S;
		else if (word_is(u, n, u_m))
			unit = 60 * MS_PER_S;
		else if (word_is(u, n, u_h))
			unit = 3600 * MS_PER_S;
		else if (word_is(u, n, u_d))
			unit = MS_PER_DAY;
		else
			break; /* "2pm", "3 attempts": not a duration */
		total += milli * unit / 1000;
		if (total > MAX_AHEAD_MS)
			return false;
		any = true;
		p = skip_space(u + n);
		if (*p == ',')
			p = skip_space(p + 1);
		if (strncasecmp(p, "and ", 4) == 0)
			p = skip_space(p + 4);
	}
	if (!any)
		return false;
	*ret_ms = total;
	return true;
}

/* A zone after a clock time: "UTC", "(UTC+2)", "GMT-05:30", "+02:00", a few
 * fixed-offset abbreviations.  A parenthesised name we cannot resolve
 * ("(America/Los_Angeles)": a static runner has no tz database) fails, as
 * guessing would be hours off; no zone at all means UTC. */
static bool parse_zone(const char *p, int64_t *ret_offset_ms)
{
	static const struct {
		const char *name;
		int minutes;
	} abbrevs[] = {
		{"utc", 0},    {"gmt", 0},    {"z", 0},      {"pst", -480}, {"pdt", -420},
		{"mst", -420}, {"mdt", -360}, {"cst", -360}, {"cdt", -300}, {"est", -300},
		{"edt", -240}, {"cet", 60},   {"cest", 120}, {"bst", 60},   {"jst", 540},
	};
	p = skip_space(p);
	bool paren = *p == '(';
	if (paren)
		p = skip_space(p + 1);
	int64_t off = 0;
	size_t n = word_len(p);
	bool named = false;
	if (n > 0) {
		for (size_t i = 0; i < ARRAY_SIZE(abbrevs); i++) {
			if (strlen(abbrevs[i].name) == n &&
			    strncasecmp(p, abbrevs[i].name, n) == 0) {
				off = (int64_t)abbrevs[i].minutes * 60 * MS_PER_S;
				named = true;
				break;
			}
		}
		if (!named) {
			if (paren)
				return false;
			*ret_offset_ms = 0; /* "resets 2pm tomorrow": no zone given */
			return true;
		}
		p += n;
	}
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		int sign = *p == '-' ? -1 : 1;
		const char *q = p + 1;
		int hh = 0, mm = 0, digits = 0;
		while (isdigit((unsigned char)*q) && digits < 2)
			hh = hh * 10 + (*q++ - '0'), digits++;
		if (*q == ':')
			q++;
		if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]))
			mm = (q[0] - '0') * 10 + (q[1] - '0');
		if (hh > 14 || mm > 59)
			return false;
		off += sign * ((int64_t)hh * 3600 + mm * 60) * MS_PER_S;
	} else if (paren && !named) {
		return false; /* "()" or "(+)" */
	}
	*ret_offset_ms = off;
	return true;
}

/* "2pm", "2:30 pm", "14:30", "12am": seconds after midnight; p advanced. */
static bool parse_clock(const char **pp, int *ret_sec)
{
	const char *p = *pp;
	int h = 0, m = 0, digits = 0;
	while (isdigit((unsigned char)*p) && digits < 3)
		h = h * 10 + (*p++ - '0'), digits++;
	if (digits == 0 || digits > 2)
		return false;
	bool has_min = false;
	if (*p == ':' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
	    !isdigit((unsigned char)p[3])) {
		m = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		has_min = true;
	}
	const char *q = skip_space(p);
	int ampm = 0;
	if (!strncasecmp(q, "am", 2) || !strncasecmp(q, "a.m.", 4))
		ampm = 1;
	else if (!strncasecmp(q, "pm", 2) || !strncasecmp(q, "p.m.", 4))
		ampm = 2;
	if (ampm) {
		size_t l = q[1] == '.' ? 4 : 2;
		if (isalpha((unsigned char)q[l]))
			ampm = 0; /* "2 amber", "2 pmx" */
		else
			p = q + l;
	}
	if (!ampm && !has_min)
		return false; /* "resets 3" is no time */
	if (m > 59)
		return false;
	if (ampm) {
		if (h < 1 || h > 12)
			return false;
		h = h % 12 + (ampm == 2 ? 12 : 0);
	} else if (h > 23) {
		return false;
	}
	*pp = p;
	*ret_sec = h * 3600 + m * 60;
	return true;
}

static int month_of(const char *p, size_t n)
{
	static const char *const names[] = {"january",   "february", "march",    "april",
					    "may",       "june",     "july",     "august",
					    "september", "october",  "november", "december"};
	if (n < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (n <= strlen(names[i]) && strncasecmp(p, names[i], n) == 0)
			return i;
	if (n == 4 && strncasecmp(p, "sept", 4) == 0)
		return 8;
	return -1;
}

/* "2pm", "at 14:30 (UTC+2)", "Oct 9 at 10am", "2026-11-22T15:00:00Z". */
static bool parse_absolute(const char *p, int64_t now_ms, int64_t *ret_ms)
{
	p = skip_space(p);
	if (isdigit((unsigned char)p[0]) && strnlen(p, 10) == 10 && p[4] == '-' && p[7] == '-') {
		char iso[40];
		size_t n = 0;
		while (n < sizeof(iso) - 1 && p[n] &&
		       (isalnum((unsigned char)p[n]) || strchr(":.+-", p[n])))
			n++;
		while (n > 0 && p[n - 1] == '.') /* the end of a sentence */
			n--;
		memcpy(iso, p, n);
		iso[n] = '\0';
		for (size_t i = 0; i < n; i++)
			iso[i] = (char)toupper((unsigned char)iso[i]);
		return timeutil_parse_iso(iso, ret_ms);
	}

	int month = -1, mday = 0;
	size_t n = word_len(p);
	if (n > 0) {
		month = month_of(p, n);
		if (month < 0)
			return false;
		p = skip_space(p + n);
		while (isdigit((unsigned char)*p) && mday < 100)
			mday = mday * 10 + (*p++ - '0');
		if (mday < 1 || mday > 31)
			return false;
		if (*p == ',')
			p++;
		p = skip_space(p);
		if (!strncasecmp(p, "at ", 3))
			p = skip_space(p + 3);
	}

	int sec;
	if (!parse_clock(&p, &sec))
		return false;
	int64_t off;
	if (!parse_zone(p, &off))
		return false;

	/* Work in the zone's wall clock, then shift back to UTC. */
	int64_t local_now = now_ms + off;
	int64_t cand;
	if (month < 0) {
		int64_t day = local_now / MS_PER_DAY - (local_now % MS_PER_DAY < 0);
		cand = day * MS_PER_DAY + (int64_t)sec * MS_PER_S - off;
		if (cand < now_ms - CLOCK_GRACE_MS)
			cand += MS_PER_DAY;
	} else {
		time_t t = (time_t)(local_now / MS_PER_S);
		struct tm tm;
		gmtime_r(&t, &tm);
		int year = tm.tm_year;
		for (int tries = 0;; tries++) {
			struct tm want = {.tm_year = year, .tm_mon = month, .tm_mday = mday};
			time_t day = timegm(&want);
			if (day == (time_t)-1 || want.tm_mday != mday) /* "Feb 30" */
				return false;
			cand = (int64_t)day * MS_PER_S + (int64_t)sec * MS_PER_S - off;
			if (cand >= now_ms - CLOCK_GRACE_MS || tries == 1)
				break;
			year++; /* "Jan 3" said in December */
		}
	}
	*ret_ms = cand;
	return true;
}

/* Epoch seconds or milliseconds after "limit reached|" (Claude Code's
 * machine-readable form). */
static bool parse_epoch(const char *p, int64_t *ret_ms)
{
	p = skip_space(p);
	int64_t v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*p) && digits < 14)
		v = v * 10 + (*p++ - '0'), digits++;
	if (isdigit((unsigned char)*p) || isalpha((unsigned char)*p))
		return false;
	if (digits == 10)
		v *= MS_PER_S;
	else if (digits != 13)
		return false;
	*ret_ms = v;
	return true;
}

enum when_kind { WHEN_RELATIVE, WHEN_AFTER, WHEN_ABSOLUTE, WHEN_EPOCH };

static const struct {
	const char *re;
	enum when_kind kind;
} when_rules[WHEN_RULES] = {
	{"retry" SEP "in|try" SEP "again" SEP "in|resets?" SEP "in", WHEN_RELATIVE},
	{"retry" SEP "after|try" SEP "again" SEP "after", WHEN_AFTER},
	{"resets?(" SEP "at)?" SEP, WHEN_ABSOLUTE},
	{"resets?" SEP "on" SEP, WHEN_ABSOLUTE},
	{"(limit|usage)" SEP "reached[[:space:]]*\\|", WHEN_EPOCH},
};

static void compile_when_rules(void)
{
	for (size_t i = 0; i < WHEN_RULES; i++)
		when_ok[i] = regcomp(&when_rx[i], when_rules[i].re,
				     REG_EXTENDED | REG_ICASE | REG_NEWLINE) == 0;
}

static bool parse_when(enum when_kind kind, const char *p, int64_t now_ms, int64_t *ret_ms)
{
	int64_t d;
	switch (kind) {
	case WHEN_RELATIVE:
		if (!parse_duration(p, &d))
			return false;
		*ret_ms = now_ms + d;
		return true;
	case WHEN_AFTER:
		if (parse_duration(p, &d)) {
			*ret_ms = now_ms + d;
			return true;
		}
		return parse_absolute(p, now_ms, ret_ms);
	case WHEN_ABSOLUTE:
		return parse_absolute(p, now_ms, ret_ms);
	case WHEN_EPOCH:
		return parse_epoch(p, ret_ms);
	}
	return false;
}

bool classify_reset_time(const char *text, int64_t now_ms, int64_t *ret_reset_ms)
{
	struct window w;
	pthread_once(&compile_once, compile_all);
	if (!window_of(text, &w))
		return false;
	const char *best_at = NULL;
	int64_t best = 0;

	for (size_t i = 0; i < WHEN_RULES; i++) {
		if (!when_ok[i])
			continue;
		size_t pos = w.from;
		regmatch_t m;
		while (find(&when_rx[i], w.start, pos, w.to, &m)) {
			const char *at = w.start + m.rm_so;
			int64_t when;
			/* The latest mention in the text is the freshest one.  Each
			 * parse stops at the first word that is not part of a time, so
			 * the parses of successive matches read disjoint text. */
			if (parse_when(when_rules[i].kind, w.start + m.rm_eo, now_ms, &when) &&
			    when >= now_ms - CLOCK_GRACE_MS && when <= now_ms + MAX_AHEAD_MS &&
			    (!best_at || at > best_at)) {
				best_at = at;
				best = when;
			}
			pos = m.rm_eo > m.rm_so ? (size_t)m.rm_eo : (size_t)m.rm_so + 1;
		}
	}
	if (!best_at)
		return false;
	*ret_reset_ms = best;
	return true;
}
