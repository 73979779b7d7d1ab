#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal and type into it, as a person would.

    pty_drive.py [--rows R] [--cols C] [--timeout S] STEP... -- COMMAND [ARG...]

Steps, in order:
    --wait TEXT     wait until TEXT appears in the output (after the last match;
                    backslash escapes as for --type)
    --type TEXT     type TEXT (backslash escapes: \\n, \\r, \\x04 ...)
    --resize RxC    resize the terminal (the foreground process gets SIGWINCH)
    --signal NAME   send a signal (TERM, HUP, ...) to the command
Then wait for the command to end.  Prints everything the command wrote to
the terminal on stdout (raw), then one line per check on stderr:
    pty_drive: exit N                   the command's exit status (or -SIG)
    pty_drive: mode restored|changed    the terminal's mode at the end vs the start
and exits with the command's status (1 when a wait timed out).
"""
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    args = sys.argv[1:]
    rows, cols, timeout = 24, 80, 30.0
    steps = []
    while args and args[0] != "--":
        a = args.pop(0)
        if a == "--rows":
            rows = int(args.pop(0))
        elif a == "--cols":
            cols = int(args.pop(0))
        elif a == "--timeout":
            timeout = float(args.pop(0))
        elif a in ("--wait", "--type", "--resize", "--signal"):
            steps.append((a[2:], args.pop(0)))
        else:
            sys.exit(f"pty_drive: unknown argument {a}")
    if not args:
        sys.exit("pty_drive: no command (put it after --)")
    cmd = args[1:]

    master, slave = os.openpty()
    set_size(slave, rows, cols)
    before = termios.tcgetattr(slave)

    def child_setup():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=child_setup, close_fds=True)
    out = bytearray()
    seen = 0
    deadline = time.monotonic() + timeout

    def pump(wait_s):
        try:
            r, _, _ = select.select([master], [], [], wait_s)
        except InterruptedError:
            return
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            out.extend(data)

    status = 0
    for kind, val in steps:
        if kind == "wait":
            want = val.encode().decode("unicode_escape").encode("latin-1")
            while out.find(want, seen) < 0:
                # only the new bytes (and an overlap) are searched next time
                seen = max(seen, len(out) - len(want))
                if time.monotonic() > deadline or proc.poll() is not None and \
                        not select.select([master], [], [], 0.2)[0]:
                    sys.stdout.buffer.write(out)
                    print(f"\npty_drive: timed out waiting for {val!r}", file=sys.stderr)
                    proc.kill()
                    sys.exit(1)
                pump(0.1)
            seen = out.find(want, seen) + len(want)
        elif kind == "type":
            os.write(master, val.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "resize":
            r, c = val.split("x")
            set_size(master, int(r), int(c))
        elif kind == "signal":
            proc.send_signal(getattr(signal, "SIG" + val))
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            print("pty_drive: the command did not end in time", file=sys.stderr)
            status = 1
            break
        pump(0.1)
    # what is left in the terminal's buffer
    while select.select([master], [], [], 0.2)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out.extend(data)
    after = termios.tcgetattr(slave)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    rc = proc.returncode
    print(f"\npty_drive: exit {rc}", file=sys.stderr)
    print("pty_drive: mode " + ("restored" if before == after else "changed"), file=sys.stderr)
    sys.exit(status or (rc if rc >= 0 else 128 - rc))


if __name__ == "__main__":
    main()
