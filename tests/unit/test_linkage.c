/* Unit tests for supervisor/lib/linkage: the GNU build id read from an ELF
 * file is the one the loader sees in memory, and a file that is not an ELF
 * file, is cut short or holds malformed notes is refused without reading
 * past its end; in a program that is not the static rover nothing is
 * checked and libcurl may be loaded. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "supervisor/lib/linkage.h"

static char dir[] = "/tmp/rover-test-linkage-XXXXXX";

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-linkage-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fileio_remove_tree(dir, NULL);
}

static char *write_file(const char *name, const void *data, size_t len)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* The main program's build id as the loader mapped it (dl_iterate_phdr):
 * an independent reading of the same note. */
static int main_program_id(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	char *hex = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		size_t at = 0, align = ph->p_align == 8 ? 8 : 4;
		while (at + sizeof(ElfW(Nhdr)) <= ph->p_memsz) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(p + at);
			size_t name_at = at + sizeof(*nh);
			size_t desc_at = name_at + ((nh->n_namesz + align - 1) & ~(align - 1));
			if (nh->n_type == NT_GNU_BUILD_ID && !memcmp(p + name_at, "GNU", 4)) {
				for (size_t k = 0; k < nh->n_descsz; k++)
					sprintf(hex + 2 * k, "%02x", p[desc_at + k]);
				return 1;
			}
			at = desc_at + ((nh->n_descsz + align - 1) & ~(align - 1));
		}
	}
	return 1; /* the first object is the main program: stop there */
}

static void test_build_id_of_this_program(void **state)
{
	(void)state;
	char in_memory[129] = "", from_file[129] = "";
	dl_iterate_phdr(main_program_id, in_memory);
	assert_true(strlen(in_memory) >= 16);
	assert_int_equal(linkage_read_build_id("/proc/self/exe", from_file, sizeof(from_file)), 0);
	assert_string_equal(from_file, in_memory);
	char small[8];
	assert_int_equal(linkage_read_build_id("/proc/self/exe", small, sizeof(small)), -ENOSPC);
}

static void test_not_elf_or_missing(void **state)
{
	(void)state;
	char hex[129];
	char *text = write_file("text", "#!/bin/sh\necho hi\n", 18);
	assert_int_equal(linkage_read_build_id(text, hex, sizeof(hex)), -ENOEXEC);
	char *empty = write_file("empty", "", 0);
	assert_int_equal(linkage_read_build_id(empty, hex, sizeof(hex)), -ENOEXEC);
	char *missing = NULL;
	assert_true(asprintf(&missing, "%s/missing", dir) > 0);
	assert_int_equal(linkage_read_build_id(missing, hex, sizeof(hex)), -ENOENT);
	free(text);
	free(empty);
	free(missing);
}

static void test_cut_short_is_refused(void **state)
{
	(void)state;
	char *self = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_bounded("/proc/self/exe", 64u << 20, &self, &len, NULL), 0);
	char hex[129];
	/* Only the ELF header: the program headers are past the end. */
	char *head = write_file("head", self, sizeof(Elf64_Ehdr));
	assert_int_equal(linkage_read_build_id(head, hex, sizeof(hex)), -ENOEXEC);
	/* Headers, but the notes are past the end. */
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)self;
	size_t upto = eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr);
	char *phdrs = write_file("phdrs", self, upto);
	int r = linkage_read_build_id(phdrs, hex, sizeof(hex));
	/* Unless the notes come before the end of the program headers. */
	assert_true(r == -ENOEXEC || r == 0);
	free(head);
	free(phdrs);
	free(self);
}

/* A file whose one note claims more bytes than the segment has. */
static void test_malformed_note_is_refused(void **state)
{
	(void)state;
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		Elf64_Nhdr nh;
		char name[4];
		unsigned char desc[20];
	} f;
	memset(&f, 0, sizeof(f));
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_phoff = offsetof(typeof(f), ph);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 1;
	f.ph.p_type = PT_NOTE;
	f.ph.p_offset = offsetof(typeof(f), nh);
	f.ph.p_filesz = sizeof(f.nh) + sizeof(f.name) + sizeof(f.desc);
	f.ph.p_align = 4;
	f.nh.n_namesz = 4;
	f.nh.n_type = NT_GNU_BUILD_ID;
	memcpy(f.name, "GNU", 4);
	memset(f.desc, 0xab, sizeof(f.desc));
	char hex[129];

	f.nh.n_descsz = sizeof(f.desc); /* well-formed first: the id is read */
	char *good = write_file("good", &f, sizeof(f));
	assert_int_equal(linkage_read_build_id(good, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "abababababababababababababababababababab");

	f.nh.n_descsz = 0x7fffffff;
	char *bad = write_file("bad", &f, sizeof(f));
	assert_int_equal(linkage_read_build_id(bad, hex, sizeof(hex)), -ENOEXEC);
	f.nh.n_descsz = sizeof(f.desc);
	f.ph.p_filesz = 1u << 30; /* a segment larger than any note table */
	char *huge = write_file("huge", &f, sizeof(f));
	assert_int_equal(linkage_read_build_id(huge, hex, sizeof(hex)), -ENOEXEC);
	free(good);
	free(bad);
	free(huge);
}

/* This test program is linked the ordinary way: nothing is recorded. */
static void test_dynamic_program_checks_nothing(void **state)
{
	(void)state;
	assert_string_equal(linkage_libc_build_id, "");
	char name[] = "test_linkage";
	char *argv[] = {name, NULL};
	linkage_start(argv); /* returns: nothing to hand over to */
	assert_null(linkage_dlopen_refusal());
	assert_string_equal(linkage_describe(), "dynamic");
}

/* rover-dynamic run by a static rover says why, and does not pass the
 * reason on: a static rover started later (from a hook) would take it for
 * a hand-over already made and not make its own. */
static void test_handed_over_to_says_why_and_passes_nothing_on(void **state)
{
	(void)state;
	char name[] = "rover-dynamic";
	char *argv[] = {name, NULL};
	setenv(LINKAGE_FALLBACK_ENV, "the glibc changed", 1);
	linkage_start(argv);
	assert_null(getenv(LINKAGE_FALLBACK_ENV));
	assert_non_null(strstr(linkage_describe(), "rover-dynamic ran instead"));
	assert_non_null(strstr(linkage_describe(), "the glibc changed"));
	assert_null(linkage_dlopen_refusal());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_id_of_this_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_elf_or_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_short_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_note_is_refused, setup, teardown),
		cmocka_unit_test(test_dynamic_program_checks_nothing),
		cmocka_unit_test(test_handed_over_to_says_why_and_passes_nothing_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
