#define _GNU_SOURCE
#include "faults.h"

#include <errno.h>
#include <stdio.h>
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

void faults_arm(enum fault_call call, int nth, int err, size_t short_len)
{
	f[call].nth = f[call].calls + nth;
	f[call].err = err;
	f[call].short_len = short_len;
}

void faults_reset(void)
{
	for (int i = 0; i < FAULT__MAX; i++)
		f[i].calls = f[i].nth = f[i].err = 0, f[i].short_len = 0;
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
	int e = hit(FAULT_WRITE);
	if (e > 0) {
		errno = e;
		return -1;
	}
	if (e < 0 && len > f[FAULT_WRITE].short_len)
		return __real_write(fd, buf, f[FAULT_WRITE].short_len);
	return __real_write(fd, buf, len);
}

int __wrap_fsync(int fd)
{
	int e = hit(FAULT_FSYNC);
	if (e > 0) {
		errno = e;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_rename(const char *a, const char *b)
{
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
	int e = hit(FAULT_CLOSE);
	if (e > 0) {
		__real_close(fd);
		errno = e;
		return -1;
	}
	return __real_close(fd);
}
