/*
 * fuzz_util.h - helpers shared by the libFuzzer harnesses of tests/fuzz/
 * (header-only: every harness is one .c file linked on its own).
 *
 * A harness gets arbitrary bytes.  Parsers that take a C string get a
 * NUL-terminated copy of exactly the input (so ASan sees a read past its
 * end); parsers that take several texts get the input split at a 0xff byte
 * (never valid UTF-8, so seeds stay readable); parsers that only read files
 * get the bytes written to a file in a private temporary directory.
 */
#ifndef ROVER_FUZZ_UTIL_H
#define ROVER_FUZZ_UTIL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split [data, data+size) at the first 0xff: *rest gets what follows. */
static inline char *fuzz_take(const uint8_t **data, size_t *size)
{
	const uint8_t *sep = memchr(*data, 0xff, *size);
	size_t n = sep ? (size_t)(sep - *data) : *size;
	char *s = fuzz_strndup(*data, n);
	*data += sep ? n + 1 : n;
	*size -= sep ? n + 1 : n;
	return s;
}

static char fuzz_dir[256];
static char fuzz_path[512];

static inline void fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

/* A path in a per-process temporary directory holding exactly the bytes
 * (one name per harness; removed at exit). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	char *dir = fuzz_dir, *path = fuzz_path;
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(fuzz_dir), "%s/rover-fuzz-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(fuzz_cleanup);
	}
	snprintf(path, sizeof(fuzz_path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	size_t off = 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);
	return path;
}

#endif
