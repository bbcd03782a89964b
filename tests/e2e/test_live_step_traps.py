# SPDX-License-Identifier: LGPL-2.1-or-later
"""stepi among access traps that do not fire: an hbreak elsewhere on the
code frame the vCPU executes and an rwatch elsewhere on the data frame it
reads. Each instruction then faults on a restricted frame; the step must
complete it for real (an emulated instruction gives no single-step event)
and stop after exactly one instruction, with nothing waiting for an event
that never comes."""

import live_support as L

DATA = L.SCRATCH + 0x5000


def _program():
    p = L.Program(L.CODE)
    p.set_reg("rsi", DATA + 0x100)
    p.load(DATA + 0x100, 8)
    p.nop()
    p.load(DATA + 0x100, 8)
    p.nop()
    p.loop()
    return p


def test_stepi_past_unrelated_traps(ctx):
    """Five stepi on vCPU 0 with scheduler-locking on: each lands on the
    next instruction; xenstub never says a vCPU did not come back from its
    step; the guest is left as found."""
    p = _program()
    rips = [int(s["rip"], 16) for s in p.steps if "rip" in s]
    lens = {int(s["rip"], 16): s["len"] for s in p.steps if "rip" in s}
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "st1")
        L.load_programs(sim, dom, {0: p}, start=True)
        L.wait_loops(sim, dom, 1)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "st1", args=["-v"])
        try:
            g.cmd("set scheduler-locking on")
            g.cmd("hbreak *0x%x" % (L.CODE + 0x40))
            g.cmd("rwatch *(long*)0x%x" % (DATA + 0x800))
            # run into the loop, then step through it
            g.cmd("break *0x%x" % rips[1])
            out = g.cmd("continue", timeout=120)
            ctx.check(out is not None and "Breakpoint 3" in out, "continue stops at the load",
                      (out or g.out)[-1500:])
            g.cmd("delete 3")
            pcs = []
            for _ in range(5):
                out = g.cmd("stepi", timeout=120)
                pc = g.cmd("p/x $pc")
                pcs.append(int(pc.split("=")[1].split()[0], 16) if pc and "=" in pc else None)
            # xensim's loop has no jump: after the last step the pc is past
            # it, and the next step starts the loop again
            want = [rips[(1 + j) % len(rips)] + lens[rips[(1 + j) % len(rips)]]
                    for j in range(5)]
            ctx.check(pcs == want, "each stepi ends at the next instruction %s" %
                      [hex(x) for x in want], [hex(x) if x else x for x in pcs])
            g.cmd("detach")
        finally:
            g.quit()
        ctx.check("did not come back" not in g.out,
                  "no step waited for an event that never came", g.out[-3000:])
        L.check_as_found(ctx, sim, dom, before, "after the steps",
                         allow=("digest", "regs", "counters"))


def test_stepi_when_the_bytes_disagree(ctx):
    """The same with a workload whose scripted accesses are not what the
    bytes at its rips decode to (xenstub cannot know which frames the
    instruction needs): each frame it faults on during the step is
    relaxed in turn, and every stepi still ends after one instruction."""
    steps = L.loop(L.CODE, DATA + 0x100, 1)
    rips = [int(s["rip"], 16) for s in steps if "rip" in s]
    lens = {int(s["rip"], 16): s["len"] for s in steps if "rip" in s}
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "st2", workloads={0: steps})
        L.wait_loops(sim, dom, 1)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "st2", args=["-v"])
        try:
            g.cmd("set scheduler-locking on")
            g.cmd("hbreak *0x%x" % (L.CODE + 0x40))
            g.cmd("rwatch *(long*)0x%x" % (DATA + 0x800))
            pcs = []
            for _ in range(6):
                g.cmd("stepi", timeout=120)
                pc = g.cmd("p/x $pc")
                pcs.append(int(pc.split("=")[1].split()[0], 16) if pc and "=" in pc else None)
            ctx.check(len(pcs) == 6 and all(pc in [r + lens[r] for r in rips] for pc in pcs) and
                      all(pcs[i] != pcs[i + 1] for i in range(5)),
                      "each stepi ends after one scripted instruction", [hex(x) if x else x for x in pcs])
            g.cmd("detach")
        finally:
            g.quit()
        ctx.check("did not come back" not in g.out,
                  "no step waited for an event that never came", g.out[-3000:])
        L.check_as_found(ctx, sim, dom, before, "after the steps",
                         allow=("digest", "regs", "counters"))
