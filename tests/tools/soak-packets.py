#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A memory soak of xenstub against a live (xensim) guest: N random but
valid packets (memory and register reads, thread selection and lists,
breakpoints and watchpoints set and removed, single-steps, monitor
commands, malformed packets), xenstub's RSS sampled as they go; then, for
a plain build, glibc's malloc_trim(0) called in xenstub through gdb, to
tell memory the allocator keeps from memory still in use. With a
sanitizer build (make SAN=1) LeakSanitizer reports leaks when xenstub
exits; with --valgrind, valgrind --leak-check=full does.

Usage: soak-packets.py --build DIR [--packets N] [--valgrind]"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402
import live_support as L  # noqa: E402
from harness import RawConnection  # noqa: E402


def rss(pid):
    d = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, v = line.split(":", 1)
            d[k] = v.strip()
    return int(d["VmRSS"].split()[0]), int(d["VmHWM"].split()[0])


def packet(c, rnd):
    k = rnd.randrange(14)
    if k == 0:
        return "m%x,%x" % (L.SCRATCH + rnd.randrange(0x10000), rnd.randrange(1, 0x800))
    if k == 1:
        return "g"
    if k == 2:
        return "p%x" % rnd.randrange(0x50)
    if k == 3:
        return "qXfer:threads:read::0,fff"
    if k == 4:
        return "Hg%x" % rnd.randrange(1, 4)
    if k == 5:
        a = L.CODE + rnd.randrange(0x200, 0x400)
        c.cmd("Z0,%x,1" % a)
        return "z0,%x,1" % a
    if k == 6:
        return "vCont;s:%x" % rnd.randrange(1, 3)
    if k == 7:
        return "qRcmd," + b"stats".hex()
    if k == 8:
        return "qC"
    if k == 9:
        a = L.SCRATCH + 0x3000 + 8 * rnd.randrange(64)
        c.cmd("Z2,%x,8" % a)
        return "z2,%x,8" % a
    if k == 10:
        return "T%x" % rnd.randrange(1, 5)
    if k == 11:
        return "qThreadExtraInfo,%x" % rnd.randrange(1, 3)
    if k == 12:
        return "X%x,0:" % L.SCRATCH
    return "Zq,bogus"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--packets", type=int, default=100000)
    ap.add_argument("--valgrind", action="store_true")
    a = ap.parse_args()
    ctx = harness.Context(a.build)
    wrapper = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
               "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"] \
        if a.valgrind else []
    try:
        with L.xensim.sim_for(ctx) as sim:
            dom = L.make_domain(ctx, sim, workloads={
                0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
            L.wait_running(sim, dom)
            sock = ctx.tmpfile("soak.sock")
            log_path = sock + ".log"
            with open(log_path, "w") as log:
                p = ctx.spawn(wrapper + [ctx.xenstub, "unix:" + sock, "xen:web01"],
                              env=sim.env(), stdout=log, stderr=subprocess.STDOUT)
            ctx.wait_for(lambda: "Listening on" in open(log_path).read(), "xenstub to listen",
                         timeout=600)
            rnd = random.Random(1)
            c = RawConnection(sock, timeout=600)
            c.cmd("?")
            t0 = time.monotonic()
            every = max(1, a.packets // 20)
            for i in range(a.packets):
                c.cmd(packet(c, rnd))
                c.console = b""  # the harness keeps console output: not here
                if (i + 1) % every == 0:
                    r, h = rss(p.pid)
                    print("%8d packets %6.0f s  RSS %6d KiB  peak %6d KiB" %
                          (i + 1, time.monotonic() - t0, r, h), flush=True)
            if not a.valgrind and "san" not in a.build:
                subprocess.run(["gdb", "-p", str(p.pid), "-batch", "-nx",
                                "-ex", "call (int)malloc_trim(0)"],
                               capture_output=True, text=True, timeout=120)
                r, h = rss(p.pid)
                print("after malloc_trim(0): RSS %d KiB" % r)
            c.cmd("D")
            c.close()
            p.send_signal(signal.SIGTERM)
            rc = p.wait(600)
            print("xenstub exit status %d" % rc)
            text = open(log_path).read()
            keep = [ln for ln in text.splitlines()
                    if "LeakSanitizer" in ln or "definitely lost" in ln or "indirectly lost" in ln
                    or "ERROR SUMMARY" in ln or "SUMMARY:" in ln or "in use at exit" in ln]
            print("\n".join(keep) if keep else "(no leak report lines)")
            return 0 if rc in (0, 128 + 15) else 1
    finally:
        ctx.cleanup()


if __name__ == "__main__":
    sys.exit(main())
