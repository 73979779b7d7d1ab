#!/usr/bin/env python3
"""Driver of bench/watch_cpu.sh: run `rover list --watch` on a terminal (a
pty of ROWSxCOLS) and measure its CPU time, threads and kernel included, from
/proc/PID/task/*/schedstat (nanoseconds on a CPU: finer than utime+stime's
10 ms ticks, which an idle process never reaches).

    watch_cpu.py ROVER STORE N_CHANGES IDLE_SECONDS [--no-tty]

The idle window starts 35 s after the start: the loop's first periodic
full pass comes 30 s in, and only from then on does an unreachable engine
make them come every 5 s (supervise.h); measuring earlier would miss them.

Prints two lines: "idle <cpu_s> <seconds>" and "change <cpu_ms_per_change> <n>".
A change rewrites one task's status.json by rename, as the runner does
(tasks 1..N in turn); after each one the script waits until the process has
been off the CPU for 150 ms, so every change is measured whole and none is
batched with the next."""
import fcntl
import os
import pty
import struct
import sys
import termios
import threading
import time
import glob
import json

ROWS, COLS = 50, 200
WARMUP_S = 35


def cpu_ns(pid):
    total = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def settle(pid, quiet_s=0.15, limit_s=30.0):
    """Wait until the process used no CPU for quiet_s."""
    t_end = time.monotonic() + limit_s
    last = cpu_ns(pid)
    quiet_since = time.monotonic()
    while time.monotonic() < t_end:
        time.sleep(0.01)
        now = cpu_ns(pid)
        if now != last:
            last = now
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return


def drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def start(rover, tty):
    args = [rover, "list", "--watch", "3"]
    if not tty:
        devnull = os.open(os.devnull, os.O_WRONLY)
        pid = os.fork()
        if pid == 0:
            os.dup2(devnull, 1)
            os.execv(rover, args)
        return pid, None
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(rover, args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    threading.Thread(target=drain, args=(fd,), daemon=True).start()
    return pid, fd


def change(store, i, k):
    it = os.path.join(store, "tasks", str(i), "iterations", "1")
    tmp = os.path.join(it, ".status.json.bench")
    with open(os.path.join(it, "status.json")) as f:
        st = json.load(f)
    st["currentStep"] = "bench-%d" % k
    with open(tmp, "w") as f:
        json.dump(st, f)
    os.rename(tmp, os.path.join(it, "status.json"))


def main():
    rover, store, n, idle_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    tty = "--no-tty" not in sys.argv
    pid, fd = start(rover, tty)
    try:
        time.sleep(1.0)
        settle(pid, quiet_s=1.0, limit_s=120)
        time.sleep(WARMUP_S)
        c0 = cpu_ns(pid)
        time.sleep(idle_s)
        c1 = cpu_ns(pid)
        print("idle %.4f %.0f" % ((c1 - c0) / 1e9, idle_s), flush=True)
        settle(pid)
        c0 = cpu_ns(pid)
        t0 = time.monotonic()
        for k in range(1, n + 1):
            change(store, k, k)
            time.sleep(0.02)
            settle(pid)
        c1 = cpu_ns(pid)
        print("change %.3f %d" % ((c1 - c0) / 1e6 / n, n), flush=True)
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
