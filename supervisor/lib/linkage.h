/*
 * linkage.h - how this rover binary was linked, and what that asks of its
 * start-up.
 *
 * bin/rover is linked statically (a static PIE): it starts without the
 * dynamic loader, whose mapping of libc.so, relocations and symbol lookups
 * were most of the start-up of every command that needs no engine
 * (bench/startup.sh).  libcurl is still loaded from the system, the first
 * time rover talks to an engine (curl_lazy.h), and glibc's dlopen() from a
 * static program is sound only with the very glibc the program was linked
 * with: its own loader code and the libc.so.6 it loads share internal data.
 * So the static link records which glibc that was (the path and GNU build
 * id of its libc.so.6, in an object the Makefile generates), and
 * linkage_start(), the first thing main() does, compares that with the
 * system's libc.so.6:
 *   - the same: go on; dlopen() is safe;
 *   - changed (an upgrade of the libc6 package): exec rover-dynamic, the
 *     same program linked the ordinary way (beside rover in the build tree,
 *     ../libexec/rover/ when installed), with the same arguments.  Nothing
 *     is lost but the faster start; `rover info` says so, and reinstalling
 *     rover brings it back;
 *   - changed, and no rover-dynamic: go on static; every command that needs
 *     no engine works, and the first engine call fails with an error that
 *     says to reinstall rover (linkage_dlopen_refusal()).
 * The check costs six system calls on Debian 12 (open; preads of the ELF
 * header, the program headers and the two note segments; close).
 *
 * In a dynamically linked rover (rover-dynamic, sanitizer builds,
 * ROVER_LINK=dynamic) and in every other program (tests, tools) nothing is
 * recorded and all of this does nothing.
 */
#ifndef ROVER_LINKAGE_H
#define ROVER_LINKAGE_H

#include <stddef.h>

/* The name of the dynamically linked twin, and the environment variable
 * the static rover sets when it hands over to it (its value: why). */
#define LINKAGE_DYNAMIC_NAME "rover-dynamic"
#define LINKAGE_FALLBACK_ENV "ROVER_DYNAMIC_BECAUSE"

/* What the static link recorded: the path of the libc.so.6 it was linked
 * against and that file's GNU build id in hex.  Empty strings (weak
 * defaults in linkage.c) everywhere but in the static bin/rover. */
extern const char linkage_libc_path[];
extern const char linkage_libc_build_id[];

/* Call first in main(), with main's argv: see the top of this file.
 * Returns only when this process goes on. */
void linkage_start(char **argv);

/* Why libcurl must not be loaded into this process (a message that says
 * what to do), or NULL when it may. */
const char *linkage_dlopen_refusal(void);

/* One line for `rover info`: "static", "dynamic", or how a fallback came
 * about.  Static storage. */
const char *linkage_describe(void);

/* The GNU build id of the ELF file at path, in lowercase hex, into
 * hex[size].  0, or -errno: -ENOENT and the like from open, -ENOEXEC for
 * a file that is not a 64-bit ELF file or holds no build id, -ENOSPC when
 * hex is too small. */
int linkage_read_build_id(const char *path, char *hex, size_t size);

#endif
