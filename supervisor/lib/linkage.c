/* How this binary was linked: see linkage.h. */
#define _GNU_SOURCE
#include "linkage.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/proc.h"

/* Weak: the static link adds a generated object whose strong definitions
 * replace these (Makefile, $(BUILD)/linked_libc.c). */
__attribute__((weak)) const char linkage_libc_path[] = "";
__attribute__((weak)) const char linkage_libc_build_id[] = "";

enum state {
	DYNAMIC,        /* ld.so loads whatever glibc there is: nothing to check */
	STATIC_MATCHED, /* the glibc it was linked with is the system's */
	STATIC_CHANGED, /* it is not, and no rover-dynamic took over */
};
static enum state state = DYNAMIC;
static char changed_why[256];
static char handed_over_why[320]; /* why a static rover ran this one instead */

/* A build id is at most 64 bytes here (GNU ld writes 20). */
#define BUILD_ID_MAX 64

static bool pread_all(int fd, void *buf, size_t n, off_t at)
{
	return pread(fd, buf, n, at) == (ssize_t)n;
}

/* The NT_GNU_BUILD_ID note among the notes in buf[len] (align: the
 * segment's alignment, 4 or 8), as hex.  0 found, 1 not there. */
static int find_build_id(const unsigned char *buf, size_t len, size_t align, char *hex, size_t size)
{
	size_t at = 0;
	while (len - at >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, buf + at, sizeof(nh));
		size_t name_at = at + sizeof(nh);
		size_t desc_at = name_at + (((size_t)nh.n_namesz + align - 1) & ~(align - 1));
		size_t next = desc_at + (((size_t)nh.n_descsz + align - 1) & ~(align - 1));
		if (nh.n_namesz > len || nh.n_descsz > len || desc_at > len || next > len)
			return 1; /* a malformed note: the rest cannot be trusted */
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(buf + name_at, "GNU", 4) && nh.n_descsz > 0 &&
		    nh.n_descsz <= BUILD_ID_MAX) {
			if (size < 2 * (size_t)nh.n_descsz + 1)
				return -ENOSPC;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", buf[desc_at + i]);
			return 0;
		}
		at = next;
	}
	return 1;
}

int linkage_read_build_id(const char *path, char *hex, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	Elf64_Ehdr eh;
	if (!pread_all(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 64)
		return -ENOEXEC;
	Elf64_Phdr ph[64];
	if (eh.e_phoff > (uint64_t)LLONG_MAX ||
	    !pread_all(fd, ph, eh.e_phnum * sizeof(*ph), (off_t)eh.e_phoff))
		return -ENOEXEC;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		unsigned char notes[1024];
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > sizeof(notes) ||
		    ph[i].p_offset > (uint64_t)LLONG_MAX ||
		    !pread_all(fd, notes, ph[i].p_filesz, (off_t)ph[i].p_offset))
			continue;
		int r = find_build_id(notes, ph[i].p_filesz, ph[i].p_align == 8 ? 8 : 4, hex, size);
		if (r <= 0)
			return r;
	}
	return -ENOEXEC;
}

/* rover-dynamic beside this binary (the build tree), or in
 * ../libexec/rover/ (an install); NULL when neither is there. */
static char *find_dynamic_twin(void)
{
	_cleanup_free_ char *dir = proc_self_dir();
	if (!dir)
		return NULL;
	static const char *const places[] = {LINKAGE_DYNAMIC_NAME,
					     "../libexec/rover/" LINKAGE_DYNAMIC_NAME};
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		char *path = fileio_join(dir, places[i]);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return NULL;
}

void linkage_start(char **argv)
{
	/* Set by a static rover that exec'd this one.  Read once and not
	 * passed on: a rover started later from a hook or a script makes its
	 * own check. */
	const char *why = getenv(LINKAGE_FALLBACK_ENV);
	bool handed_over = why != NULL;
	if (handed_over) {
		snprintf(handed_over_why, sizeof(handed_over_why), "%s", why);
		unsetenv(LINKAGE_FALLBACK_ENV);
	}
	if (!linkage_libc_build_id[0])
		return;
	char now[2 * BUILD_ID_MAX + 1];
	int r = linkage_read_build_id(linkage_libc_path, now, sizeof(now));
	if (r == 0 && !strcmp(now, linkage_libc_build_id)) {
		state = STATIC_MATCHED;
		return;
	}
	state = STATIC_CHANGED;
	if (r < 0)
		snprintf(changed_why, sizeof(changed_why), "%s, which rover was linked with: %s",
			 linkage_libc_path, strerror(-r));
	else
		snprintf(changed_why, sizeof(changed_why),
			 "%s is not the glibc rover was linked with (build id %.12s, now %.12s)",
			 linkage_libc_path, linkage_libc_build_id, now);
	/* Handed over to already: this is a static rover run in rover-dynamic's
	 * place (a copy of it installed under that name), which must not exec
	 * again. */
	char *twin = handed_over ? NULL : find_dynamic_twin();
	if (twin) {
		setenv(LINKAGE_FALLBACK_ENV, changed_why, 1);
		execv(twin, argv);
		/* Could not run it: go on static, without libcurl. */
		unsetenv(LINKAGE_FALLBACK_ENV);
		free(twin);
	}
}

const char *linkage_dlopen_refusal(void)
{
	static char msg[512];
	if (state != STATIC_CHANGED)
		return NULL;
	snprintf(msg, sizeof(msg),
		 "libcurl cannot be loaded into this statically linked rover: %s, and %s is "
		 "not installed beside it; reinstall rover (make install)",
		 changed_why, LINKAGE_DYNAMIC_NAME);
	return msg;
}

const char *linkage_describe(void)
{
	static char line[512];
	switch (state) {
	case STATIC_MATCHED:
		return "static (libcurl is loaded when an engine is needed)";
	case STATIC_CHANGED:
		snprintf(line, sizeof(line),
			 "static, without libcurl: %s; reinstall rover (make install)",
			 changed_why);
		return line;
	case DYNAMIC:
	default:
		if (!handed_over_why[0])
			return "dynamic";
		snprintf(line, sizeof(line),
			 "dynamic (%s ran instead of the static rover: %.300s); reinstall "
			 "rover (make install) for the faster start",
			 LINKAGE_DYNAMIC_NAME, handed_over_why);
		return line;
	}
}
