/*
 * faults.h - fault injection for unit tests, through -Wl,--wrap=SYMBOL (see
 * tests/unit/wraps.mk).  Each wrapped call counts; when a fault is armed for
 * that call it fails with the given errno instead of reaching libc (or, for
 * write, writes only part of its buffer).  Tests that are not linked with the
 * wraps never see these functions called.
 */
#ifndef ROVER_TEST_FAULTS_H
#define ROVER_TEST_FAULTS_H

#include <stddef.h>

enum fault_call { FAULT_WRITE, FAULT_FSYNC, FAULT_RENAME, FAULT_CLOSE, FAULT__MAX };

/* Fail the nth (1-based) call of `call` from now on with errno `err`; for
 * FAULT_WRITE with err == 0, make that call a short write of `short_len` bytes. */
void faults_arm(enum fault_call call, int nth, int err, size_t short_len);

/* Make the nth write (1-based) from now on a lost write: only `kept` bytes
 * reach the file but the call reports the whole length, as a failing disk
 * or a buggy filesystem can.  Only a read-back can notice. */
void faults_arm_lost_write(int nth, size_t kept);

/* Disarm every fault and reset the counters. */
void faults_reset(void);

/* How many times `call` was made since the last reset. */
int faults_count(enum fault_call call);

/* The wrapped calls made since the last reset, in order, as words separated
 * by spaces: "write", "fsync:file", "fsync:dir", "close", "rename" (e.g.
 * "write fsync:file close rename fsync:dir close"), so a test can assert
 * the exact durability sequence, not only counts.  Capped at 1 KiB; the
 * string lives until the next reset. */
const char *faults_trace(void);

#endif
