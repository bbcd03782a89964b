# SPDX-License-Identifier: LGPL-2.1-or-later
"""stepi by MTF over an instruction Xen completes in its exit handler
(cpuid): Xen raises no MTF exit after it, so without help the step would
end one instruction late (xensim does as Xen 4.17 does, seen on its VMX).
xenstub ends such a step with an int3 of its own at the next instruction;
another vCPU running the same code meanwhile goes past it unstopped, and
the int3 is gone at the stop."""

import re

import live_support as L


def _program(base):
    p = L.Program(base)
    p.mark("cpuid")
    p.insn(b"\x0f\xa2", op="cpuid")
    p.nop()
    p.nop()
    p.loop()
    return p


def _pc(g):
    out = g.cmd("p/x $pc")
    return int(out.split("=")[1].split()[0], 16) if out and "=" in out else None


def test_stepi_over_cpuid(ctx, brk="break", extra=()):
    """At a breakpoint on the cpuid: stepi ends right after it, the next
    stepi after the nop; monitor stats counts the step ended by the int3;
    the code has no int3 left; the guest is left as found."""
    p = _program(L.CODE)
    at = p.marks["cpuid"]
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "sx1")
        L.load_programs(sim, dom, {0: p}, start=True)
        L.wait_loops(sim, dom, 1)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "sx1", args=["-v"])
        try:
            g.cmd("set scheduler-locking on")
            for c in extra:
                g.cmd(c)
            g.cmd("%s *0x%x" % (brk, at))
            out = g.cmd("continue", timeout=120)
            n = 1 + len(extra)
            ctx.check(out is not None and "reakpoint %d" % n in out, "continue stops at the cpuid",
                      (out or g.out)[-1500:])
            g.cmd("delete %d" % n)
            pcs = []
            for _ in range(2):
                g.cmd("stepi", timeout=120)
                pcs.append(_pc(g))
            ctx.check(pcs == [at + 2, at + 3],
                      "the stepi over cpuid ends at the next instruction, the next one after "
                      "the nop (%#x, %#x)" % (at + 2, at + 3), [hex(x) if x else x for x in pcs])
            stats = g.cmd("monitor stats") or ""
            ctx.check("ended by an int3 after it: 1 " in stats,
                      "monitor stats counts one step ended by the int3 after the cpuid", stats)
            code = g.cmd("x/4xb 0x%x" % at) or ""
            ctx.check(re.search(r"0x0f\s+0xa2\s+0x90\s+0x90", code) is not None,
                      "gdb reads the guest's own bytes there", code)
            g.cmd("detach")
        finally:
            g.quit()
        st = sim.state(dom)
        ctx.check(all(v["counters"]["bp_delivered"] == 0 for v in st["vcpus"]),
                  "the guest never took a #BP (the step's int3 was always an event)",
                  [v["counters"]["bp_delivered"] for v in st["vcpus"]])
        # memory's digest included: no int3 left behind
        L.check_as_found(ctx, sim, dom, before, "after the steps",
                         allow=("regs", "counters"))


def test_stepi_over_cpuid_from_hbreak(ctx):
    """The same from a stop at an hbreak (an execute trap: the vCPU is held
    by a mem_access event) on the cpuid."""
    test_stepi_over_cpuid(ctx, "hbreak")


def test_stepi_over_cpuid_on_a_trapped_page(ctx):
    """The same with an execute trap elsewhere on the code's page (an
    hbreak that never hits): the step first faults on the page, and xenstub
    completes that access with the page relaxed; the step still ends right
    after the cpuid, and the next one after the nop."""
    test_stepi_over_cpuid(ctx, "break", extra=["hbreak *0x%x" % (L.CODE + 0x800)])


def test_stepi_over_cpuid_others_running(ctx):
    """Two vCPUs loop over the same code; vCPU 0 is stepped over the cpuid
    ten times with gdb's default scheduler-locking (vCPU 1 runs during each
    step): every step ends on vCPU 0 right after the cpuid, never with a
    stop of vCPU 1 at the step's int3; the guest is left as found."""
    p0 = _program(L.CODE)
    p1 = _program(L.CODE)
    at = p0.marks["cpuid"]
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "sx2")
        L.load_programs(sim, dom, {0: p0, 1: p1}, start=True)
        L.wait_loops(sim, dom, 1)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "sx2", args=["-v"])
        ends = []
        try:
            for _ in range(10):
                g.cmd("thread 1")
                g.cmd("break *0x%x thread 1" % at)
                g.cmd("continue", timeout=120)
                g.cmd("delete")
                if _pc(g) != at:
                    ends.append(("not at the cpuid", _pc(g)))
                    continue
                g.cmd("stepi", timeout=120)
                cur = g.cmd("thread") or ""
                m = re.search(r"Current thread is (\d+)", cur)
                ends.append((m.group(1) if m else cur, _pc(g)))
            stats = g.cmd("monitor stats") or ""
            g.cmd("detach")
        finally:
            g.quit()
        ctx.check(ends and all(e == ("1", at + 2) for e in ends),
                  "each of the 10 steps ends on vCPU 0 right after the cpuid", ends)
        m = re.search(r"other vCPUs let past that int3: (\d+)", stats)
        print("vCPU 1 went past the step's int3 %s times" % (m.group(1) if m else "0"))
        L.check_as_found(ctx, sim, dom, before, "after the steps",
                         allow=("regs", "counters"))
