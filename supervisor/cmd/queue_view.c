#define _GNU_SOURCE
#include "queue_view.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/supervise.h"

int queue_view_task_queued(const struct task_store *st, int64_t id, const struct task *t, bool json)
{
	struct json_object *q = t ? admit_queued(t) : NULL;
	const char *msg = q ? jsonutil_get_str(q, "message") : NULL;
	int64_t pos = 0;
	if (q)
		jsonutil_get_int64(q, "position", &pos);
	pid_t pid = 0;
	bool sched = supervise_scheduler_info(st->dir, &pid, NULL);
	if (json) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_int64(o, "taskId", id);
		jsonutil_set_str(o, "status", "NEW");
		jsonutil_set_str(o, "title", t ? task_title(t) : NULL);
		json_object_object_add(o, "queued", q ? json_object_get(q) : NULL);
		jsonutil_set_bool(o, "schedulerRunning", sched);
		cmd_print_json(o);
		return CMD_OK;
	}
	printf("%lld\n", (long long)id);
	fprintf(stderr, "⏳ Task %lld is queued (position %lld): %s\n", (long long)id,
		(long long)pos, msg ? msg : "waiting");
	if (sched)
		fprintf(stderr, "  rover supervise (process %d) starts it when its turn comes\n",
			(int)pid);
	else
		fprintf(stderr, "  Nothing starts queued tasks now: run rover supervise (or rover "
				"list --watch)\n");
	return CMD_OK;
}

void queue_view_print_gates(FILE *f, const char *store_dir, int64_t now_ms)
{
	struct gate_table g = {0};
	if (gate_table_load(store_dir, &g, NULL) < 0)
		return;
	for (size_t i = 0; i < g.n; i++) {
		char hhmm[TIMEUTIL_ISO_LEN];
		_cleanup_free_ char *label = textutil_escape_terminal(g.v[i].label);
		if (now_ms < g.v[i].until_ms)
			fprintf(f, "%s: limited until %s (task %lld hit the limit)\n", label,
				timeutil_format_hhmm(g.v[i].until_ms, hhmm),
				(long long)g.v[i].task_id);
		else
			fprintf(f, "%s: limit reset at %s, its tasks are released one at a time\n",
				label, timeutil_format_hhmm(g.v[i].until_ms, hhmm));
	}
	gate_table_release(&g);
}

void queue_view_print_task(FILE *f, const struct task *t, struct json_object *gate, int64_t now_ms)
{
	struct json_object *q = admit_queued(t);
	if (q) {
		int64_t pos = 0;
		jsonutil_get_int64(q, "position", &pos);
		const char *m = jsonutil_get_str(q, "message");
		_cleanup_free_ char *safe = textutil_escape_terminal(m ? m : "waiting");
		fprintf(f, "%-16s position %lld: %s\n", "Queued", (long long)pos, safe);
	}
	_cleanup_free_ char *key = NULL, *label = NULL;
	admit_account_of_task(t, &key, &label);
	_cleanup_free_ char *safe = textutil_escape_terminal(label);
	int64_t until_ms = 0;
	char hhmm[TIMEUTIL_ISO_LEN];
	if (!gate || !timeutil_parse_iso(jsonutil_get_str(gate, "limitedUntil"), &until_ms))
		fprintf(f, "%-16s %s\n", "Account", safe);
	else if (now_ms < until_ms)
		fprintf(f, "%-16s %s: limited until %s\n", "Account", safe,
			timeutil_format_hhmm(until_ms, hhmm));
	else
		fprintf(f, "%-16s %s: limit reset at %s, released one at a time\n", "Account", safe,
			timeutil_format_hhmm(until_ms, hhmm));
}
