/*
 * proc.h - process identity on this host, for lock holders and reaping.
 *
 * A PID alone does not name a process: PIDs are reused (about 12 s for a full
 * wrap on these machines).  The start time (field 22 of /proc/PID/stat, clock
 * ticks since boot) together with the PID does, within one boot.
 */
#ifndef ROVER_PROC_H
#define ROVER_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* kill(pid, 0) succeeds or fails with EPERM; pid must be > 0. */
bool proc_is_alive(pid_t pid);

/* Start time of pid in clock ticks since boot; false when pid does not exist. */
bool proc_start_time(pid_t pid, uint64_t *ret_ticks);

/* The running kernel's boot id (a UUID), copied into buf of 40 bytes; false if
 * unknown. */
bool proc_boot_id(char *buf, size_t len);

/* The directory of the running program's binary (/proc/self/exe), newly
 * allocated; NULL with errno set when it cannot be read.  Where rover finds
 * the files installed beside it (rover-agent, rover-dynamic). */
char *proc_self_dir(void);

/* Exit status as a shell shows it: the exit code, or 128 + signal. */
int proc_exit_code(int wait_status);

#endif
