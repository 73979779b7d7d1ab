/* rover diff ID [FILE] [--stat] [--json] */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/taskgit.h"

static const struct cmdopt_spec spec = {
	.verb = "diff",
	.header = "Usage: rover diff ID [FILE] [--stat] [--json]\n"
		  "\n"
		  "Show a task's changes against the commit it started from: the commits on its\n"
		  "branch rover/task-ID and the files its agent left uncommitted (untracked ones\n"
		  "included) in its workspace.  git never runs in the workspace: its files are\n"
		  "read into the project as a snapshot.  FILE (a path from the project's top,\n"
		  "or a directory) limits the output to it.  On a terminal, control characters\n"
		  "in the content are shown escaped (\\xHH).\n"
		  "\n",
	.column = 17,
};

/* Printing the patch as git writes it: raw into a pipe, escaped on a
 * terminal (the content is the agent's). */
struct sink {
	bool escape;
	bool carry; /* a 0xC2 held back from the previous chunk */
	char *buf;  /* --json: everything */
	size_t len, cap;
};

#define JSON_PATCH_MAX (64u * 1024u * 1024u)

static int put(const char *s, size_t n)
{
	if (n && fwrite(s, 1, n, stdout) != n)
		return -EPIPE;
	return 0;
}

/* Control characters other than newline and tab become \xHH, C1 controls
 * (UTF-8 0xC2 0x80-0x9F) \u00HH: no escape sequence reaches the terminal.
 * A 0xC2 ending a chunk waits for the next one. */
static int put_escaped(struct sink *k, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	_cleanup_free_ char *out = xmalloc(n * 6 + 8);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (k->carry) {
			k->carry = false;
			if (c >= 0x80 && c <= 0x9F) {
				o += (size_t)sprintf(out + o, "\\u%04x", c);
				continue;
			}
			out[o++] = (char)0xC2;
		}
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
			o += (size_t)sprintf(out + o, "\\x%02x", c);
		else if (c == 0xC2)
			k->carry = true;
		else
			out[o++] = (char)c;
	}
	return put(out, o);
}

static int sink_write(void *ud, const char *buf, size_t len)
{
	struct sink *k = ud;
	if (!k->cap)
		return k->escape ? put_escaped(k, buf, len) : put(buf, len);
	if (k->len + len > JSON_PATCH_MAX)
		return -E2BIG;
	if (k->len + len + 1 > k->cap) {
		while (k->cap < k->len + len + 1)
			k->cap *= 2;
		k->buf = xrealloc(k->buf, k->cap);
	}
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	k->buf[k->len] = '\0';
	return 0;
}

static void warn_skipped(const struct taskgit_snapshot *s, int64_t id)
{
	for (size_t i = 0; i < s->n_skipped; i++) {
		_cleanup_free_ char *safe = textutil_escape_terminal(s->skipped[i]);
		fprintf(stderr, "⚠ Not in task %lld's snapshot: %s\n", (long long)id, safe);
	}
}

static void print_stat(const struct taskgit_file *f, size_t n)
{
	int64_t add = 0, del = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = textutil_escape_terminal(f[i].path);
		if (f[i].added < 0) {
			printf(" %c %s | binary\n", f[i].status, path);
			continue;
		}
		printf(" %c %s | +%lld -%lld\n", f[i].status, path, (long long)f[i].added,
		       (long long)f[i].deleted);
		add += f[i].added;
		del += f[i].deleted;
	}
	printf(" %zu file(s) changed, %lld insertion(s)(+), %lld deletion(s)(-)\n", n,
	       (long long)add, (long long)del);
}

static struct json_object *files_json(const struct taskgit_file *f, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char st[2] = {f[i].status, '\0'};
		_cleanup_free_ char *path = textutil_utf8_clean(f[i].path, strlen(f[i].path));
		jsonutil_set_str(o, "path", path);
		jsonutil_set_str(o, "status", st);
		if (f[i].added < 0) {
			json_object_object_add(o, "added", NULL);
			json_object_object_add(o, "deleted", NULL);
			jsonutil_set_bool(o, "binary", true);
		} else {
			jsonutil_set_int64(o, "added", f[i].added);
			jsonutil_set_int64(o, "deleted", f[i].deleted);
		}
		json_object_array_add(a, o);
	}
	return a;
}

/* The patch as one string for --json, or an error past JSON_PATCH_MAX. */
static int patch_string(struct taskgit_task *tg, const struct taskgit_snapshot *snap,
			const char *file, int64_t id, char **ret, struct rv_error **err)
{
	struct sink k = {.cap = 4096};
	k.buf = xmalloc(k.cap);
	k.buf[0] = '\0';
	int r = taskgit_diff_patch(tg, snap, file, sink_write, &k, err);
	if (r == -E2BIG)
		r = rv_error_set(err, E2BIG,
				 "task %lld's patch is larger than %u MiB; use --stat "
				 "--json, or rover diff without --json",
				 (long long)id, JSON_PATCH_MAX >> 20);
	/* JSON is UTF-8: other bytes become U+FFFD here. */
	if (r == 0)
		*ret = textutil_utf8_clean(k.buf, k.len);
	free(k.buf);
	return r;
}

static int print_diff_json(struct taskgit_task *tg, const struct taskgit_snapshot *snap,
			   const struct taskgit_file *files, size_t nf, const char *file,
			   int64_t id, bool stat)
{
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_json_ struct json_object *j = json_object_new_object();
	jsonutil_set_int64(j, "taskId", id);
	jsonutil_set_str(j, "base", snap->base);
	json_object_object_add(j, "files", files_json(files, nf));
	if (!stat) {
		_cleanup_free_ char *patch = NULL;
		if (patch_string(tg, snap, file, id, &patch, &err) < 0)
			return cmd_fail(true, CMD_FAILED, err);
		jsonutil_set_str(j, "patch", patch);
	}
	struct json_object *sk = json_object_new_array();
	for (size_t i = 0; i < snap->n_skipped; i++)
		json_object_array_add(sk, json_object_new_string(snap->skipped[i]));
	json_object_object_add(j, "skipped", sk);
	cmd_print_json(j);
	return CMD_OK;
}

static int print_diff_text(struct taskgit_task *tg, const struct taskgit_snapshot *snap,
			   const struct taskgit_file *files, size_t nf, const char *file,
			   int64_t id, bool stat)
{
	warn_skipped(snap, id);
	if (nf == 0) {
		fprintf(stderr, "ℹ Task %lld has no changes%s%s%s\n", (long long)id,
			file ? " in '" : "", file ? file : "", file ? "'" : "");
		return CMD_OK;
	}
	if (stat) {
		print_stat(files, nf);
		return CMD_OK;
	}
	_cleanup_error_ struct rv_error *err = NULL;
	struct sink k = {.escape = isatty(STDOUT_FILENO)};
	int r = taskgit_diff_patch(tg, snap, file, sink_write, &k, &err);
	if (r == 0 && k.carry)
		r = put("\xC2", 1);
	fflush(stdout);
	free(k.buf);
	/* A reader that went away (rover diff | head) is not a failure. */
	if (r < 0 && r != -EPIPE)
		return cmd_fail(false, CMD_FAILED, err);
	return CMD_OK;
}

struct diff_args {
	bool stat;
	const char *file; /* NULL: all */
};

static int diff(const struct cmd_env *env, struct taskgit_task *tg, int64_t id, bool json,
		void *ctx)
{
	(void)env;
	const struct diff_args *a = ctx;
	_cleanup_error_ struct rv_error *err = NULL;
	struct taskgit_snapshot snap = {0};
	struct taskgit_file *files = NULL;
	size_t nf = 0;
	int rc;
	int r = taskgit_snapshot(tg, &snap, &err);
	if (r == 0)
		r = taskgit_diff_files(tg, &snap, a->file, &files, &nf, &err);
	if (r < 0)
		rc = cmd_fail(json, CMD_FAILED, err);
	else if (json)
		rc = print_diff_json(tg, &snap, files, nf, a->file, id, a->stat);
	else
		rc = print_diff_text(tg, &snap, files, nf, a->file, id, a->stat);
	taskgit_files_free(files, nf);
	taskgit_snapshot_release(&snap);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	bool json = false;
	struct diff_args a = {0};
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("stat", 0, &a.stat,
			    "only the changed files, with added and deleted line counts"),
		CMDOPT_FLAG("json", 0, &json,
			    "print {taskId, base, files: [{path, status, added, deleted}],\n"
			    "patch, skipped}"),
		CMDOPT_END,
	};
	return cmd_run_taskgit(&spec, opts, argc, argv, &json, false, &a.file, diff, &a);
}
