# SPDX-License-Identifier: LGPL-2.1-or-later
"""Watched frames touched by the CPU itself: an external interrupt arrives
while a watchpoint restricts the frame its frame is pushed onto, or the
frame of its IDT gate. The access event then names memory the instruction
at rip does not touch. Emulating that instruction (what Xen does with an
EMULATE answer) would execute it out of turn and retry the delivery; with
a cli there, VM entry fails and Xen crashes the domain, as it does on real
Intel hosts. xenstub must step the vCPU through the delivery instead, and
report the delivery's own accesses to watched bytes: the frame push as a
write, the IDT read as a read, with a message that the CPU made them."""

import live_support as L

VECTOR = 0xf3
STACK = L.SCRATCH + 0x3000          # a stack frame of its own
STACK_TOP = STACK + 0x800
FRAME = STACK_TOP - 40              # where the interrupt frame goes
HANDLER = L.CODE + 0x800            # the handler's code
DELIVERY_MSG = "accessed by the CPU delivering an interrupt or exception"


def _program(after_iret_store=None):
    """vCPU 0: RSP := STACK_TOP; the interrupt arrives before a cli at X;
    the handler runs a nop and iretq; back at X: cli, then (optionally) a
    store, then the end."""
    p = L.Program(L.CODE)
    p.set_reg("rsp", STACK_TOP)
    x = p.pc
    p.steps.append({"op": "interrupt", "rip": L.h(x), "vector": VECTOR})
    p.chunks.append((HANDLER, bytearray()))
    handler = p.nop()
    p.insn(b"\x48\xcf", op="iret")
    p.chunks.append((x, bytearray()))
    p.insn(b"\xfa", op="cli")
    hit = None
    if after_iret_store is not None:
        hit = p.store(after_iret_store, 8, 0x5eed)
    end = p.end()
    return p, x, handler, hit, end


def _told(run):
    """gdb's console (its stderr here) says the CPU made the access."""
    return DELIVERY_MSG in run.r.out + run.r.err


def _domain(ctx, sim, name, prog):
    dom = L.make_domain(ctx, sim, name)
    L.load_programs(sim, dom, {0: prog})
    # interrupts enabled, as when an external interrupt is delivered
    sim.ctl("set-reg", dom, 0, "rflags=0x246")
    return dom


def _alive(ctx, st, what):
    ctx.check(not st.get("shutdown") and st["vcpus"][0]["workload"]["fault"] is None,
              "%s: the guest is alive (no crash, no VM-entry failure)" % what,
              {"shutdown": st.get("shutdown"), "reason": st.get("crash_reason"),
               "fault": st["vcpus"][0]["workload"]["fault"]})


def test_stack_watch_interrupt_delivery(ctx):
    """A watch on a stack variable of the frame the interrupt is pushed
    onto, touching none of the pushed bytes: the delivery is stepped
    through (not emulated: the cli at rip would run before the delivery,
    which Xen then retries with IF clear and VM entry fails), no stop for
    it, then the store to the variable stops with its value."""
    var = STACK + 0x100
    p, x, handler, hit, end = _program(after_iret_store=var)
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim, "dv1", p)
        run = L.watch_run(ctx, sim, dom, "dv1",
                          ["watch *(long*)0x%x" % var, "break *0x%x" % end],
                          [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % var)])
        st = sim.state(dom)
        frame = sim.ctl("read", dom, "--va", L.h(FRAME), "--vcpu", 0, 40)
    s = run.stops
    _alive(ctx, st, "stack watch")
    after_store = hit + next(st_["len"] for st_ in p.steps if st_.get("rip") == L.h(hit))
    if not ctx.check([(t["thread"], t["pc"]) for t in s] == [(1, after_store), (1, end)],
                     "two stops: after the store to the watched variable (0x%x), then the end"
                     % after_store, run.describe()):
        return
    ctx.check(s[0]["value"] == 0x5eed and "hit Hardware watchpoint 1" in s[0]["text"],
              "the store stops with the new value 0x5eed", s[0])
    ctx.check(not _told(run),
              "no stop says the CPU made an access: the delivery touched no watched byte",
              run.r.err[-2000:])
    c = st["vcpus"][0]["counters"]
    ctx.check(c["interrupts"] == 1 and c["emulated"] == 0,
              "xensim: the interrupt was delivered once and nothing was emulated", c)
    ctx.check(frame.get("hex", "")[:16] == x.to_bytes(8, "little").hex(),
              "the frame holds the interrupted rip 0x%x" % x, frame)
    n = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check("stepped through (delivery)" in run.after.get("monitor stats", "") and
              n.get("watch", (0,))[0] == 1,
              "monitor stats: the delivery stepped through, one watchpoint hit",
              run.after)


def test_watch_on_pushed_rip(ctx):
    """A watch on the slot the interrupted rip is pushed to: the stop comes
    after the delivery, at the handler, with the pushed value, and gdb's
    console says the CPU made the access."""
    p, x, handler, hit, end = _program()
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim, "dv2", p)
        run = L.watch_run(ctx, sim, dom, "dv2",
                          ["watch *(long*)0x%x" % FRAME, "break *0x%x" % end],
                          [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % FRAME)])
        st = sim.state(dom)
    s = run.stops
    _alive(ctx, st, "watch on the frame")
    if not ctx.check(len(s) >= 2 and s[0]["pc"] == handler and s[-1]["pc"] == end,
                     "the first stop is at the handler (0x%x), after the delivery" % handler,
                     run.describe()):
        return
    ctx.check(s[0]["value"] == x and "hit Hardware watchpoint 1" in s[0]["text"],
              "the watched slot holds the interrupted rip 0x%x" % x, s[0])
    ctx.check(_told(run),
              "gdb's console says the CPU made the access while delivering an interrupt",
              s[0]["text"])
    ctx.check(st["vcpus"][0]["counters"]["emulated"] == 0, "xensim: nothing was emulated",
              st["vcpus"][0]["counters"])


def test_watch_on_pushed_rflags(ctx):
    """A watch on the RFLAGS slot of the frame: the event names the frame's
    first byte, not the watched one; the change is found after the step
    and reported."""
    p, x, handler, hit, end = _program()
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim, "dv3", p)
        run = L.watch_run(ctx, sim, dom, "dv3",
                          ["watch *(long*)0x%x" % (FRAME + 16), "break *0x%x" % end],
                          [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % (FRAME + 16))])
        st = sim.state(dom)
    s = run.stops
    _alive(ctx, st, "watch on pushed RFLAGS")
    if not ctx.check(len(s) >= 2 and s[0]["pc"] == handler,
                     "the first stop is at the handler (0x%x)" % handler, run.describe()):
        return
    ctx.check(s[0]["value"] & 0x200 and "hit Hardware watchpoint 1" in s[0]["text"],
              "the watched slot holds the pushed RFLAGS (IF set)", s[0])
    ctx.check(_told(run),
              "gdb's console says the CPU made the access", s[0]["text"])


def test_rwatch_idt_gate(ctx):
    """A read watch on the IDT gate of the interrupt's vector: the
    delivery reads it, so the stop comes at the handler; nothing at rip is
    emulated."""
    p, x, handler, hit, end = _program()
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim, "dv4", p)
        idt = int(str(sim.state(dom)["vcpus"][0]["regs"]["idtr_base"]), 0)
        gate = idt + 16 * VECTOR
        run = L.watch_run(ctx, sim, dom, "dv4",
                          ["rwatch *(long*)0x%x" % gate, "break *0x%x" % end],
                          [(1, end)])
        st = sim.state(dom)
    s = run.stops
    _alive(ctx, st, "read watch on the IDT gate")
    if not ctx.check(len(s) >= 2 and s[0]["pc"] == handler and s[-1]["pc"] == end,
                     "the first stop is at the handler (0x%x), then the end" % handler,
                     run.describe()):
        return
    ctx.check("hit Hardware read watchpoint 1" in s[0]["text"] and
              (_told(run)),
              "a read watchpoint hit, made by the CPU", s[0]["text"])
    c = st["vcpus"][0]["counters"]
    ctx.check(c["interrupts"] == 1 and c["emulated"] == 0,
              "xensim: one delivery, nothing emulated", c)
