# SPDX-License-Identifier: LGPL-2.1-or-later
"""A vCPU stopped with the user page table of a page-table isolation pair
(Linux's KPTI: every guest of an Intel host before Ice Lake) in CR3. That
table maps user space and none of the kernel, so kernel addresses must be
translated through its twin, the kernel table in the other half of the
8 KiB pair: gdb reads kernel memory, and kernel breakpoints and
watchpoints are planted at the right guest-physical addresses, from the
vCPU's own thread."""

import live_support as L

# Free frames of the fixture (checked to be zero before use): the kernel
# and user top-level tables of the pair (8 KiB aligned), a page-directory-
# pointer table for a user mapping, and a page of user code.
KERN_PGD = 0x70f8000
USER_PGD = KERN_PGD + 0x1000
USER_PDPT = KERN_PGD + 0x2000
USER_CODE_PHYS = KERN_PGD + 0x3000
USER_BASE = 1 << 39                 # PML4 slot 1: guest-physical [0, 1 GiB), user
USER_CODE = USER_BASE + USER_CODE_PHYS
PCID = 0x5                          # CR3's low bits: not part of the address
W = L.SCRATCH + 0x80


def _q(v):
    return v.to_bytes(8, "little").hex()


def _make_pair(ctx, sim, dom):
    """Builds the pair from vCPU 1's (the fixture kernel's) top-level
    table. Returns False when the frames are not free."""
    for gpa in (KERN_PGD, USER_PGD, USER_PDPT, USER_CODE_PHYS):
        if sim.ctl("read", dom, "--gpa", L.h(gpa), 4096)["hex"] != "00" * 4096:
            ctx.check(False, "frame 0x%x of the fixture is free" % gpa)
            return False
    regs = sim.state(dom)["vcpus"][1]["regs"]
    cr3 = int(str(regs["cr3"]), 0) & ~0xfff
    kern = bytearray.fromhex(sim.ctl("read", dom, "--gpa", L.h(cr3), 4096)["hex"])
    # user space: a 1 GiB user page at slot 1, in both tables
    kern[8:16] = (USER_PDPT | 0x67).to_bytes(8, "little")
    # slot 2, user data: as Linux does, the kernel's copy has NX set (slot
    # 1 stays executable in both: the program's user code runs on after
    # its switch to the kernel table)
    kern[16:24] = (USER_PDPT | 0x67).to_bytes(8, "little")
    user = kern[:2048] + bytes(2048)     # no kernel half at all
    kern[23] |= 0x80
    sim.ctl("write", dom, "--gpa", L.h(USER_PDPT), _q(0x0 | 0xe7))
    sim.ctl("write", dom, "--gpa", L.h(KERN_PGD), kern.hex())
    sim.ctl("write", dom, "--gpa", L.h(USER_PGD), user.hex())
    return True


def test_kernel_memory_and_points_from_user_table(ctx):
    """vCPU 0 stopped with the user table in CR3 (PCID bits set): gdb reads
    kernel text, `monitor v2p` says it walked the kernel twin, and a
    kernel watchpoint and breakpoint set there are hit once the vCPU runs
    into the kernel (mov cr3 to the kernel table, a store, a jump)."""
    p = L.Program(USER_CODE)
    p.nop()
    p.nop()
    p.write_cr3(KERN_PGD | PCID)
    hit = p.store(W, 8, 0xc0ffee)
    p.jump(L.CODE)
    end = p.end()
    after_store = hit + next(s["len"] for s in p.steps if s.get("rip") == L.h(hit))
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "kpti")
        if not _make_pair(ctx, sim, dom):
            return
        sim.ctl("set-reg", dom, 0, "cr3=0x%x" % (USER_PGD | PCID))
        for base, code in p.chunks:   # the kernel's part through vCPU 1
            if code and base >= USER_BASE << 1:
                sim.ctl("write", dom, "--va", L.h(base), "--vcpu", 1, code.hex())
            elif code:
                sim.ctl("write", dom, "--gpa", L.h(base - USER_BASE), code.hex())
        sim.workload(dom, 0, p.steps)
        want = sim.ctl("read", dom, "--va", L.h(L.CODE), "--vcpu", 1, 8)["hex"]
        run = L.watch_run(ctx, sim, dom, "kpti",
                          ["p/x $cr3", "x/8xb 0x%x" % L.CODE, "monitor v2p 0x%x" % L.CODE,
                           "watch *(long*)0x%x" % W, "break *0x%x" % end],
                          [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % W)])
        st = sim.state(dom)
    out = run.r.out
    ctx.check("= 0x%x" % (USER_PGD | PCID) in out,
              "at the first stop vCPU 0's CR3 is the user table (0x%x)" % (USER_PGD | PCID),
              out[:2000])
    shown = " ".join("%02x" % b for b in bytes.fromhex(want))
    got = " ".join(x[2:] for x in out.split() if x.startswith("0x") and len(x) == 4)
    ctx.check(shown in got, "kernel text read from vCPU 0's thread equals the guest's bytes (%s)"
              % shown, out[:3000] + run.r.err[-1500:])
    ctx.check("walked through the kernel's table at 0x%x" % KERN_PGD in out + run.r.err,
              "monitor v2p says the kernel half was walked through the kernel's table",
              out[:3000] + run.r.err[-2000:])
    s = run.stops
    if not ctx.check([(x["thread"], x["pc"]) for x in s] == [(1, after_store), (1, end)],
                     "the kernel watchpoint stops after the store (0x%x), then the kernel "
                     "breakpoint (0x%x)" % (after_store, end), run.describe()):
        return
    ctx.check(s[0]["value"] == 0xc0ffee, "the watched quadword holds the stored value", s[0])
    ctx.check(st["vcpus"][0]["workload"]["fault"] is None, "the workload ran without a fault",
              st["vcpus"][0]["workload"])
