#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Watchpoint event rate: how fast a guest runs when it writes, in a tight
loop, a frame that holds a watchpoint, at an offset that is not watched:
every store is a mem_access event that must be let through. Measured on
one xensim domain (xensimd with a fast tick), in the same run, under

  - xenstub: one watchpoint (Z2 over a raw GDB connection on a unix socket,
    then continue); each event is decoded and answered with EMULATE;
  - min-listener (tests/bench/min-listener.c): the smallest listener doing
    the same with the same Xen library calls (write access taken away from
    the frame, every event answered at once with EMULATE);
  - nobody: the same loop with no trap, for scale.

Each figure is the guest's stores per second over a fixed interval, taken
from xensim's per-vCPU counters (the best of ctx.repeat runs), and for
xenstub the events it handled per second and its mean handling time per
event from `monitor stats`.
"""

import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402
import live_support as L  # noqa: E402

INTERVAL = 2.0          # seconds measured per run
TICK_US = 20            # xensimd's tick, and steps per tick per vCPU
STEPS_PER_TICK = 64
CODE = 0x100000         # identity-mapped zero domain: code here,
DATA = 0x200000         # the watched frame here: the watch at DATA,
STORE = DATA + 0x800    # the loop's store here


def _program():
    """mov [rdi], rax in a loop (RDI is loaded before the workload starts,
    so that the loop is that one store)."""
    p = L.Program(CODE)
    p.regs["rdi"] = STORE
    p.store(STORE, 8, 0x5a)
    p.loop()
    return p


def _counters(sim, dom):
    c = sim.state(dom)["vcpus"][0]["counters"]
    return c["writes"], c["by_reason"]["mem_access"], time.monotonic()


def _rate(a, b):
    return (b[0] - a[0]) / (b[2] - a[2]), (b[1] - a[1]) / (b[2] - a[2])


def _measure(sim, dom):
    a = _counters(sim, dom)
    time.sleep(INTERVAL)
    b = _counters(sim, dom)
    return _rate(a, b)


def _xenstub_run(ctx, sim, dom):
    """(stores/s, events/s, mean handling us, stats text) under xenstub."""
    p, sock = ctx.start_xenstub("xen:bench", args=["--once"], env=sim.env())
    c = harness.RawConnection(sock)
    try:
        c.cmd("?")
        if c.cmd("Z2,%x,8" % DATA) != b"OK":
            raise RuntimeError("xenstub refused the watchpoint: %s" % open(p.log_path).read())
        c.send_raw(c.frame("vCont;c"))
        if c.ack() != b"+":
            raise RuntimeError("xenstub did not acknowledge vCont;c")
        time.sleep(0.3)            # settle
        stores, events = _measure(sim, dom)
        c.send_raw(b"\x03")
        stop = c.read_packet()
        if not stop.startswith((b"T", b"S")):
            raise RuntimeError("no stop reply after the interrupt: %r" % stop)
        c.console = b""
        c.cmd("qRcmd," + b"stats".hex())
        text = c.console.decode(errors="replace")
        c.cmd("D")
    finally:
        c.close()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    m = re.search(r"passed through\s+(\d+) events, mean handling ([0-9.]+) us", text)
    if not m:
        raise RuntimeError("monitor stats has no 'passed through' line:\n" + text)
    return stores, events, float(m.group(2)), text


def _listener_run(ctx, sim, dom, gfn):
    """(stores/s, events/s, the listener's own count line) under min-listener."""
    exe = os.path.join(ctx.build, "tests", "bench", "min-listener")
    p = ctx.spawn([exe, str(dom), hex(gfn)], env=sim.env(), stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError("min-listener did not start: %s%s" % (line, p.stderr.read()))
    time.sleep(0.3)
    stores, events = _measure(sim, dom)
    os.kill(p.pid, signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    if p.returncode != 0:
        raise RuntimeError("min-listener failed (%s): %s" % (p.returncode, err))
    return stores, events, out.strip()


def bench_watch_events(ctx):
    if not os.access(os.path.join(ctx.build, "xensim", "xensimd"), os.X_OK):
        ctx.skip("xensim is not built in %s (make builds it)" % ctx.build)
    if not os.access(os.path.join(ctx.build, "tests", "bench", "min-listener"), os.X_OK):
        ctx.skip("tests/bench/min-listener is not built in %s (make builds it)" % ctx.build)
    ctx.environment("xensimd", "--tick-us %d --steps-per-tick %d, one vCPU, a store loop"
                    % (TICK_US, STEPS_PER_TICK))
    ctx.environment("interval", "%.1f s per run (after 0.3 s to settle)" % INTERVAL)
    with L.xensim.Sim(ctx.build, tick_us=TICK_US, steps_per_tick=STEPS_PER_TICK,
                      spawn=ctx.spawn) as sim:
        dom = sim.create("bench", "--zero", "16", "--vcpus", "1")
        sim.ctl("set-reg", dom, 0, "rdi=%s" % L.h(STORE))
        L.load_programs(sim, dom, {0: _program()}, start=True)
        best = {"none": None, "xenstub": None, "listener": None}
        detail = {}
        for i in range(ctx.repeat):
            free = _measure(sim, dom)
            xs = _xenstub_run(ctx, sim, dom)
            ml = _listener_run(ctx, sim, dom, DATA >> 12)
            print("  run %d/%d: no trap %.0f stores/s; xenstub %.0f stores/s (%.0f events/s, "
                  "mean %.1f us); min-listener %.0f stores/s (%.0f events/s)"
                  % (i + 1, ctx.repeat, free[0], xs[0], xs[1], xs[2], ml[0], ml[1]), flush=True)
            for key, val in (("none", free), ("xenstub", xs), ("listener", ml)):
                if best[key] is None or val[0] > best[key][0]:
                    best[key] = val
            detail["stats"] = xs[3]
            detail["listener"] = ml[2]
        st = sim.state(dom)
    free, xs, ml = best["none"], best["xenstub"], best["listener"]
    ctx.figure("guest stores/s, no trap", free[0], "/s")
    ctx.figure("guest stores/s under xenstub (all passed through)", xs[0], "/s")
    ctx.figure("guest stores/s under min-listener", ml[0], "/s")
    ctx.figure("ratio xenstub / min-listener", xs[0] / ml[0] if ml[0] else 0.0, "x")
    ctx.figure("events/s handled by xenstub", xs[1], "/s")
    ctx.figure("events/s handled by min-listener", ml[1], "/s")
    ctx.figure("xenstub mean handling time per event", xs[2], "us", "monitor stats, passed through")
    ctx.figure("xenstub handling share of the event round trip",
               xs[2] * xs[1] / 1e6 if xs[1] else 0.0, "",
               "mean handling x events/s: the fraction of time inside xenstub's decision")
    if st["mem_access"]["host"] or st["monitor"]["ring"]:
        print("  WARNING: the domain was not left as found: %s" % L.restricted(st))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import run
    sys.exit(run.main(modules=[__file__]))
