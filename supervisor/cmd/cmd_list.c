/* rover list [--json] [--watch [SECONDS]] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/tty.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/list_cache.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/supervise.h"

static const char usage_text[] =
	"Usage: rover list [--json] [--watch [SECONDS]]\n"
	"\n"
	"List the tasks of this project.  Active tasks are first brought up to date\n"
	"from their status files and containers (a container that exited or vanished\n"
	"without saying so is classified, see 'rover inspect').\n"
	"\n"
	"Options:\n"
	"      --json             print a JSON array of task objects\n"
	"  -w, --watch [SECONDS]  a live table, refreshed on every change and at least\n"
	"                         every SECONDS (1-60, default 3); runs auto-retries\n"
	"                         unless another supervisor does\n"
	"      --no-engine        do not ask the engine (status files only)\n"
	"  -h, --help             this help\n"
	"\n"
	"On a terminal the table fits its width ($COLUMNS, else the terminal's):\n"
	"long titles and steps end with an ellipsis, lines never wrap; statuses are\n"
	"in colour unless NO_COLOR is set.  Into a pipe or a file, lines are whole\n"
	"and plain (--watch prints each frame after a '----' line, no screen\n"
	"clearing).  Outside a UTF-8 locale the output is plain ASCII.\n";

/* One element of the --json array, in id order. */
struct item {
	int64_t id;
	const char *text; /* cached, or `owned` */
	size_t len;
	char *owned;
	struct task *task; /* running: rendered after reconciling */
	struct rv_error *err;
};

/* list --json: finished tasks come from the list cache when their record did
 * not change (list_cache.h); running ones are read and reconciled live. */
static void print_json_listing(const struct cmd_env *env, bool no_engine)
{
	const struct project_retry *policy = &env->project->settings.retry;
	/* One document, read by a program: fully buffered (main line-buffers
	 * stdout for people, which cost one write(2) per task here). */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	_cleanup_free_ char *cache_path = fileio_join(env->store->dir, LIST_CACHE_FILE);
	char key[64];
	snprintf(key, sizeof(key), "retry-max=%d", policy->max);
	struct list_cache *cache = list_cache_open(cache_path, key);
	size_t n = 0;
	_cleanup_free_ int64_t *ids = task_store_ids(env->store, &n);
	struct item *items = xcalloc(n ? n : 1, sizeof(*items));
	_cleanup_close_ int dfd = open(env->store->tasks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n_items = 0, n_running = 0;
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[n_items];
		it->id = ids[i];
		char rel[64];
		snprintf(rel, sizeof(rel), "%lld/%s", (long long)ids[i], TASK_DESCRIPTION_FILE);
		struct stat st;
		if (fstatat(dfd, rel, &st, 0) < 0) {
			/* A task directory with no record yet is being created. */
			struct stat dst;
			snprintf(rel, sizeof(rel), "%lld", (long long)ids[i]);
			if (errno == ENOENT && fstatat(dfd, rel, &dst, 0) == 0 &&
			    timeutil_now_ms() - (int64_t)dst.st_mtim.tv_sec * 1000 <
				    TASK_STORE_CREATE_GRACE_MS)
				continue;
		} else if ((it->text = list_cache_get(cache, ids[i], &st, &it->len))) {
			n_items++;
			continue;
		}
		struct task *t = NULL;
		if (task_store_load_id(env->store, ids[i], &t, &it->err) < 0) {
			n_items++;
			continue;
		}
		if (task_status_is_running(task_status(t))) {
			it->task = t;
			n_running++;
		} else {
			it->owned = list_view_task_text(env->store, t, policy, &it->len);
			it->text = it->owned;
			list_cache_put(cache, ids[i], &st, it->owned, it->len);
			task_free(t);
		}
		n_items++;
	}
	if (n_running) {
		struct task_list l = {.entries = xcalloc(n_running, sizeof(*l.entries)), .n = 0};
		for (size_t i = 0; i < n_items; i++)
			if (items[i].task)
				l.entries[l.n++] = (struct task_list_entry){.id = items[i].id,
									    .task = items[i].task};
		observe_tasks(env->store, &l, no_engine ? OBSERVE_STATUS_ONLY : 0, NULL, NULL);
		for (size_t i = 0, k = 0; i < n_items; i++)
			if (items[i].task) {
				items[i].task = l.entries[k++].task;
				items[i].owned = list_view_task_text(env->store, items[i].task, policy,
								     &items[i].len);
				items[i].text = items[i].owned;
			}
		free(l.entries);
	}
	fputs("[", stdout);
	for (size_t i = 0; i < n_items; i++) {
		fputs(i ? ",\n" : "\n", stdout);
		if (items[i].text) {
			fwrite(items[i].text, 1, items[i].len, stdout);
		} else {
			_cleanup_json_ struct json_object *o = json_object_new_object();
			jsonutil_set_int64(o, "id", items[i].id);
			json_object_object_add(o, "status", NULL);
			jsonutil_set_str(o, "loadError", rv_error_msg(items[i].err));
			fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED), stdout);
		}
	}
	fputs(n_items ? "\n]\n" : "]\n", stdout);
	fflush(stdout);
	/* A read-only store just goes without the cache. */
	(void)list_cache_save(cache, NULL);
	for (size_t i = 0; i < n_items; i++) {
		free(items[i].owned);
		task_free(items[i].task);
		rv_error_free(items[i].err);
	}
	free(items);
	list_cache_free(cache);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"watch", optional_argument, NULL, 'w'},
		{"no-engine", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, watch = false, no_engine = false;
	long interval = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "w::h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = true;
			/* "--watch 5" as well as "--watch=5" */
			if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++];
			if (optarg) {
				if (!cmd_parse_uint("list", "--watch", optarg, 60, &interval))
					return CMD_USAGE;
				if (interval < 1)
					return cmd_usage_error("list",
							       "Watch interval must be between 1 and 60 "
							       "seconds");
			}
			break;
		case 'n':
			no_engine = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("list", "invalid option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("list", "unexpected argument '%s'", argv[optind]);

	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	int rc;
	if (json && !watch) {
		print_json_listing(&env, no_engine);
		cmd_env_release(&env);
		return CMD_OK;
	}
	if (watch) {
		rc = cmd_list_watch(&env, (int)interval, json, no_engine);
		cmd_env_release(&env);
		return rc;
	}
	/* Static: the listing stays reachable until exit and is not freed.
	 * Freeing 10 000 parsed records costs ~60 ms, as much as reading them,
	 * for memory the kernel takes back a moment later anyway. */
	static struct task_list l;
	if (task_store_list(env.store, &l, &err) < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		cmd_env_release(&env);
		return rc;
	}
	observe_tasks(env.store, &l, no_engine ? OBSERVE_STATUS_ONLY : 0, json ? NULL : cmd_report_stderr,
		      NULL);
	if (json) {
		list_view_print_json(stdout, env.store, &l, &env.project->settings.retry);
	} else if (l.n == 0) {
		printf("No tasks yet. Create one with: rover task \"what to do\"\n");
	} else {
		struct list_view_style style = {.width = tty_columns(STDOUT_FILENO),
						.color = tty_color(STDOUT_FILENO),
						.utf8 = tty_utf8()};
		list_view_print_table_styled(stdout, env.store, &l, &env.project->settings.retry,
					     timeutil_now_ms(), &style);
		queue_view_print_gates(stdout, env.store->dir, timeutil_now_ms());
	}
	if (!json && supervise_draining(env.project->store_dir))
		fprintf(stderr, "ℹ The supervisor is in drain mode: running tasks pause after their "
				"current step and nothing new starts\n");
	cmd_env_release(&env);
	return CMD_OK;
}
