/*
 * testutil.h - small helpers shared by the unit tests (linked into every one).
 */
#ifndef ROVER_TEST_TESTUTIL_H
#define ROVER_TEST_TESTUTIL_H

/* Entries of dir other than "." and "..", or -1 when it cannot be read. */
int testutil_count_entries(const char *dir);

/* End a forked test child with `code`.  Through exec, not exit(): valgrind
 * would otherwise report the parent's allocations (still owned by the test
 * function the child was forked from) as leaks of the child. */
_Noreturn void testutil_child_exit(int code);

#endif
