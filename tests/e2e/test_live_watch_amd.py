# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hardware breakpoints and watchpoints on a host without mem_access
(xensim --amd, as on AMD hosts): the fallback to the four debug
registers. watch, awatch and hbreak stop where they must; what the debug
registers cannot do (rwatch, unaligned or odd lengths, a fifth point) is
refused with a message saying why; the guest's own debug registers are
given back when gdb leaves, and a guest that used them gets a warning."""

import live_support as L

W = L.SCRATCH + 0x40
GUEST_DR0 = L.SCRATCH + 0x800          # the guest's own data breakpoint
GUEST_DR7 = 0x1 | 1 << 16 | 2 << 18 | 0x400   # L0, write, 8 bytes


def _after(prog, rip):
    for st in prog.steps:
        if st.get("rip") == L.h(rip):
            return rip + st["len"]
    raise KeyError(hex(rip))


def _amd_domain(ctx, sim, name):
    """A domain from the fixture on an AMD host. Its vCPUs are as the
    fixture has them (CR4.UMIP set by the guest kernel): the debug
    registers are written through the HVM context, which Xen accepts."""
    return L.make_domain(ctx, sim, name, extra=("--amd",))


def test_debug_registers_stop(ctx):
    """watch (8 bytes), awatch (4 bytes) and hbreak through DR0-DR2: each
    stops where it must, on the right thread, and the user is told once
    that debug registers are used and what that limits."""
    p = L.Program(L.CODE + 0x400)
    want = []
    p.store(W + 8, 8, 1)                              # beside the watch
    want.append(_after(p, p.store(W, 8, 7)))          # watch
    p.load(W, 8)                                      # a read: a write watch ignores it
    want.append(_after(p, p.load(W + 16, 4)))         # awatch: read
    want.append(_after(p, p.store(W + 16, 4, 0x55)))  # awatch: write
    p.nop()
    want.append(p.nop())                              # hbreak: before it
    want.append(_after(p, p.store(W, 8, 8)))          # watch again
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = _amd_domain(ctx, sim, "amd")
        L.load_programs(sim, dom, {1: p})
        before = L.snapshot(sim, dom)
        run = L.watch_run(ctx, sim, dom, "amd",
                          ["watch *(long*)0x%x" % W, "awatch *(int*)0x%x" % (W + 16),
                           "hbreak *0x%x" % want[3], "break *0x%x" % end], [(2, end)],
                          reads=[("value", "*(unsigned long*)0x%x" % W)])
        after = L.snapshot(sim, dom)
        st = sim.state(dom)
    got = [s["pc"] for s in run.stops]
    ctx.check(got == want + [end], "watch, awatch (read, write), hbreak, watch, then the end",
              "want %s\ngot  %s\n%s" % ([hex(x) for x in want + [end]],
                                       [hex(x) if isinstance(x, int) else x for x in got],
                                       run.describe()))
    if len(run.stops) == 6:
        t = [s["text"] for s in run.stops]
        ctx.check("hit Hardware watchpoint 1" in t[0] and "New value = 7" in t[0] and
                  "hit Hardware access (read/write) watchpoint 2" in t[1] and
                  "Value = 0" in t[1] and "New value = 85" in t[2] and
                  "hit Breakpoint 3, 0x%016x" % want[3] in t[3] and "New value = 8" in t[4],
                  "gdb reports each point as it does with hardware debug registers",
                  run.describe())
        ctx.check(all(s["thread"] == 2 for s in run.stops), "every stop is on thread 2",
                  run.describe())
    told = [line for line in run.r.err.splitlines()
            if "use the vCPUs' four debug registers" in line]
    ctx.check(1 <= len(told) <= 2 and len(set(line.replace("warning: ", "") for line in told)) == 1,
              "the user is told (once: in the log and in gdb's console) that the debug "
              "registers are used and what that limits", run.r.err)
    ctx.check(st["vcpus"][1]["counters"]["by_reason"]["mem_access"] == 0,
              "no mem_access event: Xen has none here", st["vcpus"][1]["counters"])
    d = L.diff(before, after)
    ctx.check(not d.keys() - {"digest"}, "debug registers and everything else as found", d)


def test_what_debug_registers_cannot_do(ctx):
    """rwatch, an unaligned watch, a 3-byte watch and a fifth point are
    refused, each with the reason; four points work."""
    p = L.Program(L.CODE)
    p.nop()
    end = p.nop()
    p.loop()
    with L.xensim.sim_for(ctx) as sim:
        dom = _amd_domain(ctx, sim, "amd2")
        L.load_programs(sim, dom, {0: p}, start=True)
        cmds = ["break *0x%x" % end,
                "rwatch *(long*)0x%x" % W, "continue", "delete 2",
                "watch *(int*)0x%x" % (W + 2), "continue", "delete 3",
                "watch *(char[3]*)0x%x" % W, "continue", "delete 4",
                "watch *(long*)0x%x" % W, "watch *(long*)0x%x" % (W + 8),
                "awatch *(int*)0x%x" % (W + 16), "hbreak *0x%x" % (L.CODE + 0x40),
                "continue",
                "watch *(char*)0x%x" % (W + 24), "continue"]
        r, outs = ctx.gdb_each(cmds, target="xen:amd2", env=sim.env())
    out = lambda i: outs[i] or ""   # noqa: E731
    ctx.check("Could not insert hardware watchpoint 2" in out(2) and
              "rwatch" in out(2) and "awatch" in out(2),
              "rwatch is refused: debug registers cannot trap reads alone (use awatch)", out(2))
    ctx.check("Could not insert hardware watchpoint 3" in out(5) and "not aligned" in out(5),
              "an unaligned watch is refused, saying it is not aligned", out(5))
    ctx.check("Could not insert hardware watchpoint 4" in out(8) and "not 3" in out(8),
              "a 3-byte watch is refused: 1, 2, 4 or 8 bytes only", out(8))
    ctx.check("Breakpoint 1," in out(14) and "Could not insert" not in out(14),
              "four points fit in the four debug registers", out(14))
    ctx.check("Could not insert hardware" in out(16) and
              "all four debug registers are in use" in out(16),
              "a fifth is refused: all four debug registers are in use", out(16))
    del r


def test_guest_debug_registers_given_back(ctx):
    """The guest's own data breakpoint (DR0/DR7) is set aside while gdb's
    watchpoint is in the debug registers, with a warning, and is the
    guest's again after detach: its #DB reaches the guest."""
    p = L.Program(L.CODE)
    p.store(W, 8, 0x1234)               # two values: each store changes it
    p.store(W, 8, 0x5678)
    p.store(GUEST_DR0, 8, 0x1)
    p.loop()
    with L.xensim.sim_for(ctx) as sim:
        dom = _amd_domain(ctx, sim, "amd3")
        sim.ctl("set-reg", dom, 0, "dr0=%s" % L.h(GUEST_DR0), "dr7=%s" % L.h(GUEST_DR7))
        L.load_programs(sim, dom, {0: p}, start=True)
        r = L.gdb_live(ctx, sim, "amd3", ["watch *(long*)0x%x" % W, "continue", "detach"],
                       pre=[])
        ctx.check("hit Hardware watchpoint 1" in r.out, "the watchpoint stops", r)
        ctx.check("the guest uses its debug registers (vCPU 0 DR7 0x%x)" % GUEST_DR7 in r.err,
                  "a warning says the guest's own debug registers are set aside", r.err[-1500:])
        regs = sim.state(dom)["vcpus"][0]["regs"]
        ctx.check(int(str(regs["dr0"]), 0) == GUEST_DR0 and int(str(regs["dr7"]), 0) == GUEST_DR7,
                  "after detach DR0 and DR7 are the guest's", (regs["dr0"], regs["dr7"]))
        sim.ctl("start", dom)
        db0 = sim.state(dom)["vcpus"][0]["counters"]["db_delivered"]
        try:
            sim.wait(dom, lambda s: s["vcpus"][0]["counters"]["db_delivered"] > db0,
                     "the guest's own #DB", timeout=30)
            ctx.check(True, "the guest's own data breakpoint fires again")
        except AssertionError as e:
            ctx.check(False, "the guest's own data breakpoint fires again", str(e))


def test_guest_debug_registers_changed_during_session(ctx):
    """After gdb's watchpoint is deleted the guest sets its debug registers
    itself (mov dr0, mov dr7); detaching must leave them as the guest set
    them, not as they were when gdb first took them."""
    p = L.Program(L.CODE)
    hit = _after(p, p.store(W, 8, 0x42))
    p.write_dr(0, GUEST_DR0)
    p.write_dr(7, GUEST_DR7)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = _amd_domain(ctx, sim, "amd4")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "amd4", ["watch *(long*)0x%x" % W, "break *0x%x" % end],
                          [(1, end)], between={0: ["delete 1"]})
        regs = sim.state(dom)["vcpus"][0]["regs"]
    ctx.check([s["pc"] for s in run.stops] == [hit, end], "the watchpoint stops, then the end",
              run.describe())
    ctx.check(int(str(regs["dr0"]), 0) == GUEST_DR0 and int(str(regs["dr7"]), 0) == GUEST_DR7,
              "after detach DR0/DR7 are what the guest last wrote (0x%x, 0x%x)" % (GUEST_DR0,
                                                                                 GUEST_DR7),
              (regs["dr0"], regs["dr7"]))
