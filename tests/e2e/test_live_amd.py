# SPDX-License-Identifier: LGPL-2.1-or-later
"""A guest on an AMD host (xensim --amd: no monitor trap flag, no
mem_access): stepi works through EFLAGS.TF and debug-exception events,
one instruction at a time, the program counter moving along; the guest
never sees the trap flag (a stepped pushf stores flags without TF, no #DB
reaches the guest, rflags has no TF after detach); breakpoints and
continue/interrupt work too."""

import json
import re

import live_support as L


class Layout:
    """Where the program, its stack and vCPU 1's scratch are: in the
    fixture guest (kernel text, direct map) or in a zero-page domain
    (identity-mapped)."""

    def __init__(self, fixture):
        if fixture:
            self.code, self.stack, self.scratch = L.CODE, L.SCRATCH + 0x2000, L.SCRATCH + 0x400
        else:
            self.code, self.stack, self.scratch = 0x100000, 0x300000, 0x200000


def _domain(ctx, sim, fixture):
    if fixture:
        return L.make_domain(ctx, sim, extra=("--amd",))
    return sim.create("web01", "--zero", "64", "--vcpus", "2", "--amd")


def _program(sim, dom, lay):
    """mov rsp, STACK; pushf; nop; loop (real bytes under the steps: the
    stub reads the opcode to find a stepped pushf)."""
    code = "48bc" + lay.stack.to_bytes(8, "little").hex() + "9c" + "90"
    sim.ctl("write", dom, "--va", hex(lay.code), "--vcpu", 0, code)
    sim.workload(dom, 0, [
        {"op": "set_reg", "rip": L.h(lay.code), "len": 10, "reg": "rsp", "value": L.h(lay.stack)},
        {"op": "pushf", "rip": L.h(lay.code + 10), "len": 1},
        {"rip": L.h(lay.code + 11), "len": 1, "access": "none"},
        {"op": "loop"},
    ])
    sim.workload(dom, 1, L.loop(lay.code + 0x40, lay.scratch, 7))
    sim.ctl("start", dom)


STEPS = L.PY_STATE + r'''
import gdb
res = {"steps": []}
gdb.execute("set scheduler-locking step")
gdb.execute("thread 1")
for i in range(%(n)d):
    s0 = state()
    pc0 = int(gdb.parse_and_eval("$pc"))
    gdb.execute("stepi")
    s1 = state()
    v0, v1 = s0["vcpus"][0], s1["vcpus"][0]
    res["steps"].append({
        "pc0": pc0, "pc1": int(gdb.parse_and_eval("$pc")),
        "rip1": int(v1["regs"]["rip"], 16),
        "retired": v1["counters"]["steps"] - v0["counters"]["steps"],
        "db": v1["counters"]["db_delivered"] - v0["counters"]["db_delivered"],
        "eflags": int(gdb.parse_and_eval("$eflags")),
        "rflags_xensim": int(v1["regs"]["rflags"], 16),
        "held": v1["vm_event_pause"],
        "slot": _json.loads(xsctl("read", %(dom)s, "--va", hex(%(slot)d), "--vcpu", 0, 8).stdout)["hex"],
        "thread": gdb.selected_thread().num})
res["stats"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
'''


def _stepi(ctx, fixture):
    n = 9  # three times round the loop: every step, the pushf three times
    lay = Layout(fixture)
    STACK = lay.stack
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim, fixture)
        ctx.check(sim.state(dom)["vendor"] == "amd", "xensim models an AMD host")
        _program(sim, dom, lay)
        L.wait_loops(sim, dom, 2)
        sim.ctl("stop", dom, "--vcpu", 0)
        sim.ctl("write", dom, "--va", hex(STACK - 8), "--vcpu", 0, "00" * 8)
        sim.ctl("start", dom, "--vcpu", 0)
        L.wait_loops(sim, dom, 3)
        before = L.snapshot(sim, dom)
        slot_before = sim.ctl("read", dom, "--va", hex(STACK - 8), "--vcpu", 0, 8)["hex"]
        before_steps_1 = sim.state(dom)["vcpus"][1]["counters"]["steps"]
        r = L.gdb_live(ctx, sim, "web01", python=STEPS % {"dom": dom, "n": n, "slot": STACK - 8},
                       args=["--os=none"])
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the AMD stepping session ran", r):
            return
        d = json.loads(m.group(1))
        st = d["steps"]
        ctx.check(all(s["retired"] == 1 for s in st), "each stepi retires exactly one instruction",
                  [s["retired"] for s in st])
        # rip after each instruction of the loop (xensim's loop is not an
        # instruction: after the nop rip is code + 12 until the next one)
        order = [lay.code + 10, lay.code + 11, lay.code + 12]
        ctx.check(all(s["pc1"] == s["rip1"] and s["pc1"] in order and s["pc1"] != s["pc0"] for s in st) and
                  all((order.index(s["pc1"]) - order.index(s["pc0"])) % 3 == 1 for s in st
                      if s["pc0"] in order),
                  "the program counter moves along the loop, one instruction a step",
                  [(hex(s["pc0"]), hex(s["pc1"])) for s in st])
        ctx.check(all(s["thread"] == 1 for s in st), "every step stops on thread 1", [s["thread"] for s in st])
        ctx.check(all(s["db"] == 0 for s in st), "no #DB reaches the guest", [s["db"] for s in st])
        # between steps the vCPU is held by its #DB event: its TF goes
        # with its release (or never, the next step wanting it again), so
        # Xen's copy may still have it, never the guest running
        ctx.check(all(not (s["eflags"] & 0x100) and
                      (s["held"] or not (s["rflags_xensim"] & 0x100)) for s in st),
                  "TF is never visible between steps (gdb's $eflags; xensim's rflags unless the "
                  "vCPU is held)",
                  [(hex(s["eflags"]), hex(s["rflags_xensim"]), s["held"]) for s in st])
        pushed = [s for s in st if s["pc0"] == lay.code + 10]
        ctx.check(len(pushed) >= 2, "the pushf was stepped (%d times)" % len(pushed),
                  [hex(s["pc0"]) for s in st])
        for s in pushed:
            flags = int.from_bytes(bytes.fromhex(s["slot"]), "little")
            ctx.check(flags != 0 and not (flags & 0x100),
                      "a stepped pushf stored the flags without TF (0x%x)" % flags, s)
        ctx.check("EFLAGS.TF" in d["stats"], "monitor stats: stepping uses EFLAGS.TF", d["stats"])
        # the first step of a vCPU that is only paused loads the whole HVM
        # context, whose CR2 Xen 4.17 on SVM keeps stale: said once
        said = (r.out + r.err).count("whose CR2 this Xen on AMD does not keep up to date")
        ctx.check(said == 1, "xenstub warns once that this Xen's HVM context has a stale CR2 "
                  "(%d times)" % said, r)
        s = sim.state(dom)
        ran = s["vcpus"][1]["counters"]["steps"] - before_steps_1
        stale = [v["counters"]["stale_loads"] for v in s["vcpus"]]
        ctx.check(ran > 0 and stale == [0, 0],
                  "vCPU 1 ran during the steps (%d instructions) and no register write put a "
                  "running vCPU back in time (stale HVM context records loaded: %s)" % (ran, stale))
        ctx.check(not int(s["vcpus"][0]["regs"]["rflags"], 16) & 0x100, "no TF in rflags after detach",
                  s["vcpus"][0]["regs"]["rflags"])
        L.check_as_found(ctx, sim, dom, before, "AMD stepping")
        slot = sim.ctl("read", dom, "--va", hex(STACK - 8), "--vcpu", 0, 8)["hex"]
        ctx.check(slot == slot_before, "the guest's own pushf stores the same flags as before", (slot_before, slot))


def test_stepi_with_trap_flag(ctx):
    """On a zero-page domain."""
    _stepi(ctx, False)


def test_stepi_with_trap_flag_fixture(ctx):
    """On the fixture guest (its own CR4 and EFER go back and forth through
    the HVM context with every step)."""
    _stepi(ctx, True)


def test_breakpoint_and_interrupt(ctx):
    """Breakpoints (gdb steps over them with TF) and Ctrl-C on an AMD host."""
    lay = Layout(False)
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim, False)
        _program(sim, dom, lay)
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            g.cmd("break *0x%x" % (lay.code + 11))
            hits = []
            for i in range(4):
                out = g.cmd("continue")
                hits.append(out)
                s = sim.state(dom)
                ctx.check(out is not None and re.search(r"hit Breakpoint 1, 0x0*%x" % (lay.code + 11), out)
                          and int(s["vcpus"][0]["regs"]["rip"], 16) == lay.code + 11,
                          "AMD: breakpoint hit %d at 0x%x" % (i + 1, lay.code + 11), out)
            g.cmd("delete")
            mark = g.mark()
            g.send("continue")
            s0 = sim.state(dom)
            sim.wait(dom, lambda s: s["vcpus"][0]["counters"]["steps"] > s0["vcpus"][0]["counters"]["steps"] + 20,
                     "the guest to run")
            g.signal(2)
            ctx.check(g.wait_for(r"received signal SIGINT", mark, 30) is not None, "AMD: Ctrl-C stops the guest",
                      g.out[mark:][-800:])
            s = sim.state(dom)
            ctx.check(s["paused"] >= 1, "stopped: the domain is paused (no vCPU holds without MTF)",
                      s["paused"])
            ctx.check(s["vcpus"][0]["counters"]["db_delivered"] == 0, "no #DB reached the guest",
                      s["vcpus"][0]["counters"])
            g.cmd("detach")
        finally:
            g.quit()
        L.check_as_found(ctx, sim, dom, before, "AMD breakpoints")
