/*
 * cleanup.h - scope-bound release of locals (GCC/Clang cleanup attribute).
 *
 * Every _cleanup_ variable is initialized where it is declared (NULL, -EBADF).
 * Ownership leaves the scope through TAKE_PTR()/TAKE_FD(), which also disarm the
 * cleanup.  closep() keeps errno so a failing path can still report it.
 */
#ifndef ROVER_CLEANUP_H
#define ROVER_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#include "error.h"

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

static inline void rv_error_freep(struct rv_error **e)
{
	rv_error_free(*e);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_json_ _cleanup_(json_putp)
#define _cleanup_error_ _cleanup_(rv_error_freep)

#define TAKE_PTR(p)                       \
	({                                \
		__typeof__(p) _tp_ = (p); \
		(p) = NULL;               \
		_tp_;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _tf_ = (fd); \
		(fd) = -EBADF;   \
		_tf_;            \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
