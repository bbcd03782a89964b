#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Breakpoint conditions decided by xenstub against the same conditions
decided by gdb: how fast a guest runs a loop through a breakpoint whose
condition is never true (`break *ADDR if $rdi == 3`, $rdi is 1), on one
xensim domain, in the same run, with gdb 13 attached through xenstub and

  - `set breakpoint condition-evaluation target`: gdb sends the condition
    as agent bytecode, xenstub evaluates it at each hit and lets the vCPU
    go at once;
  - `set breakpoint condition-evaluation host`: every hit is a stop that
    gdb evaluates and resumes;
  - min-int3-listener (tests/bench/min-int3-listener.c), no xenstub: the
    smallest listener answering every software breakpoint event at once
    (Xen emulates the nop the int3 stands for), the ceiling for any
    debugger deciding hits outside the guest;
  - a tracepoint there instead (xenstub --tracepoints, `collect $regs`):
    trace frames collected per second.

Each figure is the guest's breakpoint hits per second over a fixed
interval (xensim's count of int3s executed), the best of ctx.repeat runs,
and xenstub's evaluations and mean handling time per hit from `monitor
stats`.
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
import live_support as L  # noqa: E402

INTERVAL = 3.0          # seconds measured per run
TICK_US = 20            # xensimd's tick, and steps per tick per vCPU
STEPS_PER_TICK = 64
CODE = 0x100000         # identity-mapped zero domain: the loop's code


def _program():
    """movabs rdi, 1; nop (the breakpoint); loop."""
    p = L.Program(CODE)
    p.set_reg("rdi", 1)
    bp = p.nop()
    p.loop()
    return p, bp


def _int3s(sim, dom):
    return sim.state(dom)["vcpus"][0]["counters"]["int3"], time.monotonic()


def _run(ctx, sim, dom, bp, mode):
    """(hits/s, monitor stats text) with the condition evaluated by mode."""
    g = L.gdb_session(ctx, sim, "bench", args=["--os=none"])
    try:
        if g.connect_out is None:
            raise RuntimeError("gdb did not attach: %s" % g.out[-2000:])
        g.cmd("set breakpoint condition-evaluation %s" % mode)
        g.cmd("break *%d if $rdi == 3" % bp)
        mark = g.mark()
        g.cmd("continue &")
        time.sleep(0.5)            # settle
        a = _int3s(sim, dom)
        time.sleep(INTERVAL)
        b = _int3s(sim, dom)
        g.send("interrupt")
        if not g.wait_for(r"SIGINT", mark, 60):
            raise RuntimeError("gdb did not stop: %s" % g.out[-2000:])
        stats = g.cmd("monitor stats") or ""
        g.cmd("delete")
    finally:
        g.quit()
    return (b[0] - a[0]) / (b[1] - a[1]), stats


def _listener(ctx, sim, dom, bp):
    """(hits/s, the listener's own count line) under min-int3-listener,
    with an int3 of our own at bp (the nop given back afterwards)."""
    exe = os.path.join(ctx.build, "tests", "bench", "min-int3-listener")
    sim.ctl("write", dom, "--va", L.h(bp), "--vcpu", 0, "cc")
    try:
        p = ctx.spawn([exe, str(dom), "90"], env=sim.env(), stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.kill()
            raise RuntimeError("min-int3-listener did not start: %s%s" % (line, p.stderr.read()))
        time.sleep(0.5)
        a = _int3s(sim, dom)
        time.sleep(INTERVAL)
        b = _int3s(sim, dom)
        os.kill(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        if p.returncode != 0:
            raise RuntimeError("min-int3-listener failed (%s): %s" % (p.returncode, err))
    finally:
        sim.ctl("write", dom, "--va", L.h(bp), "--vcpu", 0, "90")
    return (b[0] - a[0]) / (b[1] - a[1]), out.strip()


def _trace(ctx, sim, dom, bp):
    """(hits/s, frames/s, monitor stats text) with a tracepoint at bp
    collecting the registers: frames made (monitor stats, read once the
    guest is stopped) over the time the guest ran."""
    import tempfile
    g = L.gdb_session(ctx, sim, "bench", args=["--os=none", "--tracepoints"])
    with tempfile.NamedTemporaryFile("w", suffix=".gdb", delete=False) as f:
        f.write("actions\ncollect $regs\nend\n")
    try:
        if g.connect_out is None:
            raise RuntimeError("gdb did not attach: %s" % g.out[-2000:])
        g.cmd("set circular-trace-buffer on")
        g.cmd("trace *%d" % bp)
        g.cmd("source " + f.name)
        g.cmd("tstart")
        mark = g.mark()
        t0 = time.monotonic()
        g.cmd("continue &")
        time.sleep(0.5)
        a = _int3s(sim, dom)
        time.sleep(INTERVAL)
        b = _int3s(sim, dom)
        g.send("interrupt")
        if not g.wait_for(r"SIGINT", mark, 60):
            raise RuntimeError("gdb did not stop: %s" % g.out[-2000:])
        t1 = time.monotonic()
        stats = g.cmd("monitor stats") or ""
        g.cmd("tstop")
        g.cmd("delete")
    finally:
        g.quit()
        os.unlink(f.name)
    m = re.search(r"tracepoints: .*?(\d+) frames made", stats)
    frames = int(m.group(1)) if m else 0
    return (b[0] - a[0]) / (b[1] - a[1]), frames / (t1 - t0), stats


def _handling_us(stats):
    m = re.search(r"int3 hits let go without a stop .*?: (\d+), mean handling ([0-9.]+) us", stats or "")
    return float(m.group(2)) if m else 0.0


def bench_agent_conditions(ctx):
    if not os.access(os.path.join(ctx.build, "xensim", "xensimd"), os.X_OK):
        ctx.skip("xensim is not built in %s (make builds it)" % ctx.build)
    ctx.environment("xensimd", "--tick-us %d --steps-per-tick %d, one vCPU, a two-instruction loop"
                    % (TICK_US, STEPS_PER_TICK))
    ctx.environment("gdb", ctx.tool_version(["gdb", "--version"]))
    ctx.environment("interval", "%.1f s per run (after 0.5 s to settle)" % INTERVAL)
    if not os.access(os.path.join(ctx.build, "tests", "bench", "min-int3-listener"), os.X_OK):
        ctx.skip("tests/bench/min-int3-listener is not built in %s (make builds it)" % ctx.build)
    with L.xensim.Sim(ctx.build, tick_us=TICK_US, steps_per_tick=STEPS_PER_TICK,
                      spawn=ctx.spawn) as sim:
        dom = sim.create("bench", "--zero", "16", "--vcpus", "1")
        p, bp = _program()
        L.load_programs(sim, dom, {0: p}, start=True)
        best = {"target": None, "host": None, "listener": None, "trace": None, "frames": None}
        stats = {}
        for i in range(ctx.repeat):
            for mode in ("target", "host"):
                rate, text = _run(ctx, sim, dom, bp, mode)
                if best[mode] is None or rate > best[mode]:
                    best[mode] = rate
                    stats[mode] = text
            rate, line = _listener(ctx, sim, dom, bp)
            if best["listener"] is None or rate > best["listener"]:
                best["listener"] = rate
                stats["listener"] = line
            rate, frames, text = _trace(ctx, sim, dom, bp)
            if best["trace"] is None or rate > best["trace"]:
                best["trace"], best["frames"] = rate, frames
                stats["trace"] = text
            print("  run %d/%d: condition evaluated by xenstub %.0f hits/s; by gdb %.0f hits/s; "
                  "min-int3-listener %.0f hits/s; tracepoint %.0f hits/s, %.0f frames/s"
                  % (i + 1, ctx.repeat, best["target"], best["host"], best["listener"],
                     best["trace"], best["frames"]), flush=True)
    ctx.figure("guest hits/s, condition false, evaluated by xenstub", best["target"], "/s")
    ctx.figure("guest hits/s, condition false, evaluated by gdb", best["host"], "/s")
    ctx.figure("ratio xenstub / gdb", best["target"] / best["host"] if best["host"] else 0.0, "x")
    ctx.figure("guest hits/s under min-int3-listener (every event answered at once)",
               best["listener"], "/s")
    ctx.figure("ratio xenstub / min-int3-listener",
               best["target"] / best["listener"] if best["listener"] else 0.0, "x")
    ctx.figure("xenstub mean handling time per hit, condition false",
               _handling_us(stats.get("target")), "us", "monitor stats: event to release")
    ctx.figure("guest hits/s with a tracepoint (collect $regs)", best["trace"], "/s")
    ctx.figure("trace frames collected per second", best["frames"], "/s",
               "frames made over the time the guest ran")
    ctx.figure("xenstub mean handling time per hit, tracepoint",
               _handling_us(stats.get("trace")), "us", "monitor stats: event to release")
    m = re.search(r"agent expressions: .*", stats.get("target", ""))
    print("  xenstub's monitor stats (target evaluation): %s" % (m.group(0) if m else "none"))
    print("  min-int3-listener: %s" % stats.get("listener"))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import run
    sys.exit(run.main(modules=[__file__]))
