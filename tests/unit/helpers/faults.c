#define _GNU_SOURCE
#include "faults.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

ssize_t __real_write(int fd, const void *buf, size_t len);
int __real_fsync(int fd);
int __real_rename(const char *a, const char *b);
int __real_close(int fd);
ssize_t __wrap_write(int fd, const void *buf, size_t len);
int __wrap_fsync(int fd);
int __wrap_rename(const char *a, const char *b);
int __wrap_close(int fd);

static struct {
	int calls, nth, err;
	size_t short_len;
} f[FAULT__MAX];
static bool lost_write; /* the armed FAULT_WRITE is a lost one */

void faults_arm(enum fault_call call, int nth, int err, size_t short_len)
{
	f[call].nth = f[call].calls + nth;
	f[call].err = err;
	f[call].short_len = short_len;
}

static char trace[1024];

static void note(const char *word)
{
	size_t used = strlen(trace);
	if (used + strlen(word) + 2 < sizeof(trace))
		snprintf(trace + used, sizeof(trace) - used, "%s%s", used ? " " : "", word);
}

const char *faults_trace(void)
{
	return trace;
}

void faults_arm_lost_write(int nth, size_t kept)
{
	faults_arm(FAULT_WRITE, nth, 0, kept);
	lost_write = true;
}

void faults_reset(void)
{
	lost_write = false;
	for (int i = 0; i < FAULT__MAX; i++)
		f[i].calls = f[i].nth = f[i].err = 0, f[i].short_len = 0;
	trace[0] = '\0';
}

int faults_count(enum fault_call call)
{
	return f[call].calls;
}

/* Returns the errno to fail with (or -1 for "short write"), 0 to pass through. */
static int hit(enum fault_call call)
{
	f[call].calls++;
	if (f[call].nth && f[call].calls == f[call].nth)
		return f[call].err ? f[call].err : -1;
	return 0;
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	/* stdout/stderr belong to cmocka: never fault them. */
	if (fd <= 2)
		return __real_write(fd, buf, len);
	note("write");
	int e = hit(FAULT_WRITE);
	if (e > 0) {
		errno = e;
		return -1;
	}
	if (e < 0 && len > f[FAULT_WRITE].short_len) {
		ssize_t n = __real_write(fd, buf, f[FAULT_WRITE].short_len);
		return lost_write && n >= 0 ? (ssize_t)len : n;
	}
	return __real_write(fd, buf, len);
}

int __wrap_fsync(int fd)
{
	struct stat st;
	note(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? "fsync:dir" : "fsync:file");
	int e = hit(FAULT_FSYNC);
	if (e > 0) {
		errno = e;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_rename(const char *a, const char *b)
{
	note("rename");
	int e = hit(FAULT_RENAME);
	if (e > 0) {
		errno = e;
		return -1;
	}
	return __real_rename(a, b);
}

int __wrap_close(int fd)
{
	if (fd <= 2)
		return __real_close(fd);
	note("close");
	int e = hit(FAULT_CLOSE);
	if (e > 0) {
		__real_close(fd);
		errno = e;
		return -1;
	}
	return __real_close(fd);
}
