/* supervise_lock.c - the scheduler lock and .supervisor.json; see
 * supervise_lock.h. */
#define _GNU_SOURCE
#include "supervise_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/proc.h"
#include "common/timeutil.h"
#include "supervisor/lib/supervise_report.h"

int supervise_lock_try(const char *store_dir, int *ret_fd, struct rv_error **err)
{
	*ret_fd = -1;
	_cleanup_free_ char *path = fileio_join(store_dir, SUPERVISE_LOCK_FILE);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return 0;
		return rv_error_errno(err, errno, "cannot lock '%s'", path);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

void sv_info_write(const struct supervise_opts *o, bool draining)
{
	_cleanup_free_ char *path = fileio_join(o->store->dir, SUPERVISE_INFO_FILE);
	_cleanup_json_ struct json_object *j = json_object_new_object();
	char host[256] = "", ts[TIMEUTIL_ISO_LEN];
	gethostname(host, sizeof(host) - 1);
	jsonutil_set_int64(j, "pid", (int64_t)getpid());
	jsonutil_set_str(j, "role", o->role ? o->role : "supervise");
	jsonutil_set_str(j, "host", host);
	jsonutil_set_str(j, "since", timeutil_format_iso(timeutil_now_ms(), ts));
	if (draining)
		jsonutil_set_bool(j, "draining", true);
	(void)jsonutil_write_file(path, j, NULL);
}

bool supervise_draining(const char *store_dir)
{
	pid_t pid = 0;
	if (!supervise_scheduler_info(store_dir, &pid, NULL))
		return false;
	_cleanup_free_ char *path = fileio_join(store_dir, SUPERVISE_INFO_FILE);
	_cleanup_json_ struct json_object *j = NULL;
	bool draining = false;
	if (jsonutil_read_object(path, &j, NULL) == 0)
		jsonutil_get_bool(j, "draining", &draining);
	return draining;
}

bool supervise_scheduler_info(const char *store_dir, pid_t *ret_pid, char **ret_role)
{
	_cleanup_free_ char *path = fileio_join(store_dir, SUPERVISE_INFO_FILE);
	_cleanup_json_ struct json_object *j = NULL;
	if (jsonutil_read_object(path, &j, NULL) < 0)
		return false;
	int64_t pid = 0;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	const char *h = jsonutil_get_str(j, "host");
	if (!jsonutil_get_int64(j, "pid", &pid) || pid <= 0 || pid > INT_MAX)
		return false;
	if ((!h || !strcmp(h, host)) && !proc_is_alive((pid_t)pid))
		return false;
	*ret_pid = (pid_t)pid;
	if (ret_role) {
		const char *r = jsonutil_get_str(j, "role");
		*ret_role = r ? xstrdup(r) : NULL;
	}
	return true;
}

void sv_lock_try_take(struct sv *s)
{
	if (s->lock_fd >= 0 || s->o->no_engine)
		return;
	s->next_lock_mono = timeutil_mono_ms() + SUPERVISE_LOCK_RETRY_MS;
	_cleanup_error_ struct rv_error *err = NULL;
	if (supervise_lock_try(s->o->store->dir, &s->lock_fd, &err) < 0) {
		sv_warn(s, 0, rv_error_msg(err));
		return;
	}
	if (s->lock_fd >= 0) {
		sv_info_write(s->o, s->draining);
		s->announced_other = false;
		s->announced_schedule = false;
		sv_emit(s, SUPERVISE_SCHEDULER, 0,
			"this process schedules auto-retries for %s (up to %d attempts per task)",
			s->o->store->dir, s->o->policy.max);
		s->need_full = true;
		return;
	}
	pid_t pid = 0;
	_cleanup_free_ char *role = NULL;
	bool known = supervise_scheduler_info(s->o->store->dir, &pid, &role);
	/* Another process took over or went away: the view says who schedules,
	 * and an idle loop draws nothing unless told (nothing else changed). */
	if ((known ? pid : 0) != s->seen_scheduler) {
		s->seen_scheduler = known ? pid : 0;
		s->need_status = true;
	}
	if (!s->announced_other) {
		s->announced_other = true;
		if (known)
			sv_emit(s, SUPERVISE_SCHEDULER, 0,
				"auto-retries are scheduled by process %d (rover %s); this one only "
				"watches",
				(int)pid, role ? role : "supervise");
		else
			sv_emit(s, SUPERVISE_SCHEDULER, 0,
				"auto-retries are scheduled by another process; this one only watches");
	}
}
