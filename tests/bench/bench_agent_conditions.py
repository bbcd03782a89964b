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
    gdb evaluates and resumes.

Each figure is the guest's breakpoint hits per second over a fixed
interval (xensim's count of int3s executed), the best of ctx.repeat runs,
and xenstub's evaluations from `monitor stats`.
"""

import os
import re
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


def bench_agent_conditions(ctx):
    if not os.access(os.path.join(ctx.build, "xensim", "xensimd"), os.X_OK):
        ctx.skip("xensim is not built in %s (make builds it)" % ctx.build)
    ctx.environment("xensimd", "--tick-us %d --steps-per-tick %d, one vCPU, a two-instruction loop"
                    % (TICK_US, STEPS_PER_TICK))
    ctx.environment("gdb", ctx.tool_version(["gdb", "--version"]))
    ctx.environment("interval", "%.1f s per run (after 0.5 s to settle)" % INTERVAL)
    with L.xensim.Sim(ctx.build, tick_us=TICK_US, steps_per_tick=STEPS_PER_TICK,
                      spawn=ctx.spawn) as sim:
        dom = sim.create("bench", "--zero", "16", "--vcpus", "1")
        p, bp = _program()
        L.load_programs(sim, dom, {0: p}, start=True)
        best = {"target": None, "host": None}
        stats = {}
        for i in range(ctx.repeat):
            for mode in ("target", "host"):
                rate, text = _run(ctx, sim, dom, bp, mode)
                if best[mode] is None or rate > best[mode]:
                    best[mode] = rate
                stats[mode] = text
            print("  run %d/%d: condition evaluated by xenstub %.0f hits/s; by gdb %.0f hits/s"
                  % (i + 1, ctx.repeat, best["target"], best["host"]), flush=True)
    ctx.figure("guest hits/s, condition false, evaluated by xenstub", best["target"], "/s")
    ctx.figure("guest hits/s, condition false, evaluated by gdb", best["host"], "/s")
    ctx.figure("ratio xenstub / gdb", best["target"] / best["host"] if best["host"] else 0.0, "x")
    m = re.search(r"agent expressions: .*", stats.get("target", ""))
    print("  xenstub's monitor stats (target evaluation): %s" % (m.group(0) if m else "none"))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import run
    sys.exit(run.main(modules=[__file__]))
