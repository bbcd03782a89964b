#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs shell commands at once, each with its output in its own log file,
and prints each log whole when its command ends, so that the lines of two
commands never mix. The exit status is 1 when any command failed.
`make xen-tests` runs the real-Xen suites with it (each is one emulator
thread).

Usage: concurrently.py --logs DIR [--live NAME] NAME=COMMAND [NAME=COMMAND ...]
Each COMMAND runs under sh with stdout and stderr in DIR/NAME.log, but
the --live one, which writes to this program's stdout and stderr as it
goes; the other logs are then shown after it ended."""

import argparse
import os
import signal
import subprocess
import sys
import time


def show(name, log, rc, took):
    """What a command printed (from its log), and how it ended."""
    if log is not None:
        print("==== %s: exit status %d after %d s; its output (%s):" % (name, rc, took, log))
        with open(log, "rb") as f:
            sys.stdout.write(f.read().decode(errors="replace"))
    print("==== %s: exit status %d after %d s" % (name, rc, took), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", required=True, help="the folder for the NAME.log files")
    ap.add_argument("--live", metavar="NAME",
                    help="the command whose output is shown as it comes")
    ap.add_argument("jobs", nargs="+", metavar="NAME=COMMAND")
    args = ap.parse_args()
    jobs = []
    for j in args.jobs:
        name, sep, cmd = j.partition("=")
        if not sep or not name or not cmd.strip() or "/" in name:
            ap.error("%r is not NAME=COMMAND" % j)
        if name in (n for n, _ in jobs):
            ap.error("%s is named twice" % name)
        jobs.append((name, cmd))
    if args.live is not None and args.live not in (n for n, _ in jobs):
        ap.error("--live %s: no command has that name" % args.live)
    os.makedirs(args.logs, exist_ok=True)

    running = {}          # pid -> (name, log path, Popen, start time)
    stopped = []

    def stop(signum, frame):
        # each command is a process group of its own: pass the signal on
        # to every one, and still wait for them (their logs are shown)
        stopped.append(signum)
        for _, _, p, _ in running.values():
            try:
                os.killpg(p.pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)

    for name, cmd in jobs:
        if name == args.live:
            log = None
            print("%s: started (%s), its output follows" % (name, cmd), flush=True)
            p = subprocess.Popen(["sh", "-c", cmd], stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        else:
            log = os.path.join(args.logs, name + ".log")
            print("%s: started (%s), its output goes to %s" % (name, cmd, log), flush=True)
            with open(log, "wb") as f:
                p = subprocess.Popen(["sh", "-c", cmd], stdout=f, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        running[p.pid] = (name, log, p, time.monotonic())

    failed = []
    ended = []            # logged commands that ended while the live one ran
    live = args.live
    while running:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        if pid not in running:
            continue
        name, log, p, t0 = running.pop(pid)
        rc = os.waitstatus_to_exitcode(status)
        p.returncode = rc
        if rc != 0:
            failed.append(name)
        ended.append((name, log, rc, time.monotonic() - t0))
        if name == live:
            live = None
        while ended and live is None:
            show(*ended.pop(0))
    if failed:
        print("failed: %s" % ", ".join(failed), flush=True)
    if stopped:
        return 128 + stopped[0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
