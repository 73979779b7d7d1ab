#!/usr/bin/env python3
"""The median wall time, the median CPU time (user + system, of the command
and its children: os.wait4) and the least CPU time of RUNS runs of a
command after 3 warm-up runs, its output to /dev/null.  On a loaded machine
the CPU time is the steadier figure (the wall time also counts waiting for
a core), and its minimum the least disturbed one (a busy neighbour also
slows a process's own work: caches, memory bandwidth).

    bench/runtime.py RUNS CMD [ARGS...]     prints "WALL_US CPU_US CPU_MIN_US"
"""
import os
import subprocess
import sys
import time


def once(argv):
    null = os.open(os.devnull, os.O_WRONLY)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=null, stderr=null)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    os.close(null)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("runtime.py: %s exited %d" % (argv[0], p.returncode))
    return wall * 1e6, (ru.ru_utime + ru.ru_stime) * 1e6


def main():
    runs, argv = int(sys.argv[1]), sys.argv[2:]
    for _ in range(3):
        once(argv)
    res = [once(argv) for _ in range(max(runs, 1))]
    med = lambda xs: sorted(xs)[len(xs) // 2]
    cpu = [c for _, c in res]
    print("%d %d %d" % (med([w for w, _ in res]), med(cpu), min(cpu)))


if __name__ == "__main__":
    main()
