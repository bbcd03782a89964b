# SPDX-License-Identifier: LGPL-2.1-or-later
"""Register writes to a vCPU held by an event go to Xen with its release
(VM_EVENT_FLAG_SET_REGISTERS), not through a whole HVM context load, on a
guest of an AMD host (xensim --amd: stepping with EFLAGS.TF): a stepi
sequence from a breakpoint or a watchpoint stop loads no context, gdb never
sees TF and the guest gets its flags back; gdb's writes of general registers
and rip at a held stop are read back, reach the guest at continue and load
no context; a segment base or control register still goes through the
context, with the pending general registers; xenstub killed with TF still
pending in its release, --recover takes TF off."""

import re
import signal
import subprocess
import sys

import live_support as L

CODE = 0x100000      # identity-mapped zero-page domain
STACK = 0x300000
SLOT = STACK - 8     # where the pushf stores the flags


def _domain(sim):
    """mov rsp, STACK; pushf; nop; loop on vCPU 0 (real bytes under the
    steps: xenstub reads the opcode of a stepped pushf), a loop on vCPU 1."""
    dom = sim.create("web01", "--zero", "64", "--vcpus", "2", "--amd")
    code = "48bc" + STACK.to_bytes(8, "little").hex() + "9c" + "90"
    sim.ctl("write", dom, "--va", hex(CODE), "--vcpu", 0, code)
    sim.workload(dom, 0, [
        {"op": "set_reg", "rip": L.h(CODE), "len": 10, "reg": "rsp", "value": L.h(STACK)},
        {"op": "pushf", "rip": L.h(CODE + 10), "len": 1},
        {"rip": L.h(CODE + 11), "len": 1, "access": "none"},
        {"op": "loop"},
    ])
    sim.workload(dom, 1, L.loop(CODE + 0x40, 0x200000, 7))
    sim.ctl("start", dom)
    L.wait_loops(sim, dom, 2)
    return dom


def _val(g, expr):
    """An integer gdb prints for p/x EXPR, or None."""
    out = g.cmd("p/x " + expr)
    m = re.search(r"= (0x[0-9a-f]+)", out or "")
    return int(m.group(1), 16) if m else None


def _vcpu(sim, dom, v=0):
    return sim.state(dom)["vcpus"][v]


def _reg(vc, name):
    return int(str(vc["regs"][name]), 0)


def _stop_at(ctx, g, how):
    """A first stop of vCPU 0 held by its event: a breakpoint on the pushf
    or an access watchpoint on its slot (a debug register on AMD)."""
    if how == "break":
        g.cmd("break *0x%x" % (CODE + 10))
        out = g.cmd("continue")
        return ctx.check(out is not None and re.search(r"Breakpoint 1, 0x0*%x" % (CODE + 10), out),
                         "stopped at the breakpoint", out)
    g.cmd("awatch *(long *)0x%x" % SLOT)
    out = g.cmd("continue")
    return ctx.check(out is not None and "atchpoint 1" in out and "Value = " in out,
                     "stopped at the access watchpoint", out)


def _stepi_held(ctx, how):
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(sim)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            if not _stop_at(ctx, g, how):
                return
            g.cmd("thread 1")
            loads0 = sim.state(dom)["hvm_loads"]
            steps = []
            for i in range(6):
                pc0 = _val(g, "$pc")
                s0 = _vcpu(sim, dom)
                out = g.cmd("stepi")
                vc = _vcpu(sim, dom)
                steps.append({"pc0": pc0, "pc1": _val(g, "$pc"), "rip": _reg(vc, "rip"),
                              "eflags": _val(g, "$eflags"), "held": vc["vm_event_pause"],
                              "retired": vc["counters"]["steps"] - s0["counters"]["steps"],
                              "out": (out or "")[-200:]})
            loads = sim.state(dom)["hvm_loads"] - loads0
            order = [CODE + 10, CODE + 11, CODE + 12]
            ctx.check(all(s["pc0"] in order and s["pc1"] in order and s["pc1"] == s["rip"] and
                          (order.index(s["pc1"]) - order.index(s["pc0"])) % 3 == 1 and
                          s["retired"] == 1 for s in steps),
                      "%s: each stepi ends at the next instruction, one retired" % how,
                      [(hex(s["pc0"] or 0), hex(s["pc1"] or 0), hex(s["rip"]), s["retired"]) for s in steps])
            ctx.check(loads == 0, "%s: 6 stepi of a held vCPU load no whole HVM context (%d)" % (how, loads))
            ctx.check(all(s["held"] for s in steps), "%s: the vCPU is held by its event at each stop" % how,
                      [s["held"] for s in steps])
            ctx.check(all(s["eflags"] is not None and not s["eflags"] & 0x100 for s in steps),
                      "%s: gdb never sees TF" % how, [s["eflags"] for s in steps])
            stats = g.cmd("monitor stats") or ""
            ctx.check("EFLAGS.TF" in stats, "%s: stepping uses EFLAGS.TF" % how, stats)
            g.cmd("delete")
            d0 = sim.state(dom)["hvm_loads"]
            g.cmd("detach")
        finally:
            g.quit()
        s = sim.state(dom)
        # the flags still pending go with the release; (awatch) each
        # vCPU's debug registers (two vCPUs) through the context
        ctx.check(s["hvm_loads"] - d0 <= (0 if how == "break" else 2),
                  "%s: detaching loads the context %d times" % (how, s["hvm_loads"] - d0))
        ctx.check(not _reg(s["vcpus"][0], "rflags") & 0x100 and not s["vcpus"][0]["set_registers_pending"],
                  "%s: RFLAGS as found after detach (no TF)" % how, s["vcpus"][0]["regs"]["rflags"])
        L.wait_loops(sim, dom, s["vcpus"][0]["workload"]["loops"] + 1)
        s = sim.state(dom)
        ctx.check(s["vcpus"][0]["counters"]["db_delivered"] == 0 and
                  not int(sim.ctl("read", dom, "--va", hex(SLOT), "--vcpu", 0, 8)["hex"][2:4], 16) & 1,
                  "%s: the guest ran on, no #DB delivered, its pushf stores no TF" % how,
                  s["vcpus"][0]["counters"])
        L.check_as_found(ctx, sim, dom, before, "%s: stepi on a held vCPU" % how)


def test_stepi_from_breakpoint(ctx):
    _stepi_held(ctx, "break")


def test_stepi_from_watchpoint(ctx):
    _stepi_held(ctx, "awatch")


def test_gdb_writes_at_held_stop(ctx):
    """$r12 and $rip written at a breakpoint stop: read back, not in Xen
    until the release, in the guest at continue (the instruction rip was
    moved past is not executed, nor emulated in its place), no context
    load. Then a segment base and CR2: through the context, with the
    pending general registers."""
    r12 = 0x1122334455667788
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(sim)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            if not _stop_at(ctx, g, "break"):
                return
            loads0 = sim.state(dom)["hvm_loads"]
            old_r12 = _val(g, "$r12")
            g.cmd("set $r12 = 0x%x" % r12)
            g.cmd("set $rip = 0x%x" % (CODE + 11))
            g.cmd("flushregs")
            ctx.check(_val(g, "$r12") == r12 and _val(g, "$pc") == CODE + 11,
                      "gdb reads back $r12 and $rip (registers read again from xenstub)",
                      (_val(g, "$r12"), _val(g, "$pc")))
            vc = _vcpu(sim, dom)
            ctx.check(vc["vm_event_pause"] and _reg(vc, "rip") == CODE + 10 and _reg(vc, "r12") == old_r12,
                      "the vCPU is held; Xen has its old registers until its release",
                      (vc["vm_event_pause"], vc["regs"]["rip"], vc["regs"]["r12"]))
            w0, s0 = vc["counters"]["writes"], vc["counters"]["steps"]
            out = g.cmd("continue")
            vc = _vcpu(sim, dom)
            ctx.check(out is not None and re.search(r"Breakpoint 1, 0x0*%x" % (CODE + 10), out),
                      "continue: the breakpoint is hit again", out)
            ctx.check(_reg(vc, "r12") == r12, "the guest runs with the new r12 (xensim)", vc["regs"]["r12"])
            ctx.check(vc["counters"]["writes"] == w0 and vc["counters"]["steps"] - s0 == 3,
                      "the guest went on at the new rip: the pushf was skipped, not emulated "
                      "(writes +%d, steps +%d)" % (vc["counters"]["writes"] - w0,
                                                   vc["counters"]["steps"] - s0))
            ctx.check(sim.state(dom)["hvm_loads"] == loads0,
                      "gdb's writes of r12 and rip loaded no whole HVM context",
                      sim.state(dom)["hvm_loads"] - loads0)

            # more than SET_REGISTERS carries: through the context
            r12b = 0x0badc0ffee0ddf00
            g.cmd("set $r12 = 0x%x" % r12b)
            loads1 = sim.state(dom)["hvm_loads"]
            fs0, cr2_0 = _val(g, "$fs_base"), _val(g, "$cr2")
            g.cmd("set $fs_base = 0x7f0012345000")
            vc = _vcpu(sim, dom)
            ctx.check(sim.state(dom)["hvm_loads"] == loads1 + 1 and
                      _reg(vc, "fs_base") == 0x7f0012345000 and _reg(vc, "r12") == r12b,
                      "a segment base goes through the whole context, with the pending r12",
                      (sim.state(dom)["hvm_loads"] - loads1, vc["regs"]["fs_base"], vc["regs"]["r12"]))
            g.cmd("set $cr2 = 0xdead000")
            g.cmd("flushregs")
            vc = _vcpu(sim, dom)
            ctx.check(sim.state(dom)["hvm_loads"] == loads1 + 2 and _reg(vc, "cr2") == 0xdead000 and
                      _val(g, "$cr2") == 0xdead000 and _val(g, "$fs_base") == 0x7f0012345000,
                      "a control register too; gdb reads both back",
                      (sim.state(dom)["hvm_loads"] - loads1, vc["regs"]["cr2"]))
            g.cmd("set $fs_base = 0x%x" % (fs0 or 0))
            g.cmd("set $cr2 = 0x%x" % (cr2_0 or 0))
            g.cmd("set $r12 = 0x%x" % (old_r12 or 0))
            g.cmd("delete")
            g.cmd("detach")
        finally:
            g.quit()
        L.check_as_found(ctx, sim, dom, before, "register writes at a held stop")


def test_recover_after_kill_with_tf_pending(ctx):
    """xenstub killed (SIGKILL) at the stop after a stepi: the flags without
    TF were still waiting for the vCPU's release, so Xen has TF; --recover
    takes it off and the guest runs on without a #DB."""
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(sim)
        before = L.snapshot(sim, dom)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
        g = L.gdb_session(ctx, sim, remote=sock)
        try:
            if not _stop_at(ctx, g, "break"):
                return
            g.cmd("stepi")
            ef = _val(g, "$eflags")
            vc = _vcpu(sim, dom)
            ctx.check(ef is not None and not ef & 0x100 and vc["vm_event_pause"] and
                      _reg(vc, "rflags") & 0x100,
                      "after the stepi gdb sees no TF; Xen still has it (the vCPU is held)",
                      (ef, vc["vm_event_pause"], vc["regs"]["rflags"]))
            p.kill()
            p.wait()
        finally:
            g.kill()
        loads0 = sim.state(dom)["hvm_loads"]
        r = ctx.run_xenstub(["-v", "--recover", "xen:web01"], env=sim.env())
        ctx.check(r.rc == 0 and "trap flag given back with its release" in r.out and
                  "recovered" in r.out, "--recover gives the trap flag back", r)
        s = sim.state(dom)
        # a whole-context load writes every vCPU's state (on AMD a stale
        # CR2 too): the held vCPU's release carries the flag instead
        ctx.check(s["hvm_loads"] == loads0, "--recover loads no HVM context",
                  (loads0, s["hvm_loads"]))
        # registers released with the dead ring's hold were seen applied
        # late on the real Xen (SVM): the flag goes back with the release of
        # the vCPU's next #DB, an event of the fresh ring
        ctx.check(s["stale_hold_regs"] == 0 and "goes back with the release of its debug "
                  "exception" in r.err + r.out,
                  "--recover sends no registers with the dead ring's hold; the flag goes "
                  "back with the vCPU's next debug exception", (s["stale_hold_regs"], r))
        ctx.check(not _reg(s["vcpus"][0], "rflags") & 0x100, "no TF after --recover",
                  s["vcpus"][0]["regs"]["rflags"])
        L.wait_loops(sim, dom, s["vcpus"][0]["workload"]["loops"] + 1)
        s = sim.state(dom)
        ctx.check(s["vcpus"][0]["counters"]["db_delivered"] == 0,
                  "the guest runs on, no #DB delivered", s["vcpus"][0]["counters"])
        L.check_as_found(ctx, sim, dom, before, "recovery with TF pending")


# `xl pause` / `xl unpause` through the stand-in libxenctrl
XL_PAUSE = r'''
import ctypes, sys
xc = ctypes.CDLL("libxenctrl.so.4.17")
xc.xc_interface_open.restype = ctypes.c_void_p
h = xc.xc_interface_open(None, None, 0)
f = xc.xc_domain_pause if sys.argv[2] == "pause" else xc.xc_domain_unpause
print(f(ctypes.c_void_p(h), int(sys.argv[1])))
'''


def _xl(sim, dom, what):
    r = subprocess.run([sys.executable, "-c", XL_PAUSE, str(dom), what],
                       env=sim.env(), capture_output=True, text=True, timeout=60)
    return r.stdout.strip() == "0"


def test_detach_before_release_applied(ctx):
    """A continue from a step stop sends the flags without TF with the
    vCPU's release; Xen applies them only when the vCPU next runs and drops
    them with the ring. The vCPU does not run (an `xl pause` of the domain
    came before), gdb interrupts and detaches: the teardown finds the
    vCPU's registers still those of the event and writes the sent ones
    itself, so the guest runs on without TF and without a #DB."""
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(sim)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            if not _stop_at(ctx, g, "break"):
                return
            g.cmd("delete")
            g.cmd("stepi")
            ctx.check(_xl(sim, dom, "pause"), "xl pause")
            mark = g.mark()
            g.send("continue")
            ctx.check(g.wait_for(r"Continuing", mark), "continue sent", g.out[mark:])
            vc = _vcpu(sim, dom)
            ctx.check(not vc["vm_event_pause"] and vc["set_registers_pending"] and
                      _reg(vc, "rflags") & 0x100,
                      "released with its registers, not applied: Xen's record still has TF",
                      (vc["vm_event_pause"], vc["set_registers_pending"], vc["regs"]["rflags"]))
            g.signal(signal.SIGINT)
            ctx.check(g.wait_for(r"SIGINT|SIGTRAP|stopped", mark),
                      "gdb interrupts the continue", g.out[mark:])
            rc = g.quit()
            ctx.check(rc == 0, "gdb detaches", (rc, g.out[mark:]))
        finally:
            g.kill()
        vc = _vcpu(sim, dom)
        ctx.check(not _reg(vc, "rflags") & 0x100 and not vc["set_registers_pending"],
                  "after the detach Xen has the flags without TF",
                  (vc["regs"]["rflags"], vc["set_registers_pending"]))
        ctx.check(_xl(sim, dom, "unpause"), "xl unpause")
        L.wait_loops(sim, dom, vc["workload"]["loops"] + 1)
        s = sim.state(dom)
        ctx.check(s["vcpus"][0]["counters"]["db_delivered"] == 0,
                  "the guest runs on, no #DB delivered", s["vcpus"][0]["counters"])
        L.check_as_found(ctx, sim, dom, before, "detach before the release was applied")
