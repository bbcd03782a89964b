# SPDX-License-Identifier: LGPL-2.1-or-later
"""IDA's "Remote GDB debugger" as its documentation describes it, replayed
with a raw client: a bare qSupported, no memory map, registers by 'g'
(general registers at gdb's fixed x86-64 offsets, the rest as target.xml
says), the old-style Hg/Hc thread selection with 's' and 'c' (never
vCont), breakpoints by Z0 at the address, the 0x03 interrupt and D."""

import re

import live_support as L
from harness import RawConnection

# gdb's fixed x86-64 'g' layout: (name, bytes) in order; xenstub's (QEMU's)
# has the same first 24, then fs_base..efer before x87 and SSE
FIXED = ([(r, 8) for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                           "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip")] +
         [("eflags", 4)] + [(s, 4) for s in ("cs", "ss", "ds", "es", "fs", "gs")] +
         [("st%d" % i, 10) for i in range(8)] +
         [(f, 4) for f in ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")] +
         [("xmm%d" % i, 16) for i in range(16)] + [("mxcsr", 4)])
RIP_AT = 16 * 8


def offsets():
    out, off = {}, 0
    for name, size in FIXED:
        out[name] = (off, size)
        off += size
    return out, off


def handshake(ctx, c):
    """What IDA sends when it attaches; returns the 'g' reply."""
    sup = c.cmd("qSupported").decode()
    ctx.check(re.search(r"PacketSize=[0-9a-f]+", sup) is not None,
              "a bare qSupported is answered with the packet size", sup)
    stop = c.cmd("?").decode()
    ctx.check(re.match(r"T05thread:0*1;", stop) is not None, "? reports thread 1 stopped", stop)
    ctx.check(c.cmd("Hg0") == b"OK" and c.cmd("Hc-1") == b"OK", "old-style Hg0 / Hc-1 are accepted")
    ctx.check(c.cmd("qC") == b"QC1", "qC names thread 1")
    threads = c.cmd("qfThreadInfo").decode()
    ctx.check(threads.startswith("m1,2") and c.cmd("qsThreadInfo") == b"l",
              "qfThreadInfo/qsThreadInfo list the vCPUs first", threads[:80])
    ctx.check(c.cmd("qXfer:memory-map:read::0,1000") == b"",
              "no memory map (IDA asks for segments instead)")
    g = c.cmd("g").decode()
    return g


def check_layout(ctx, c, g):
    """What IDA needs of 'g': the general registers, rip, eflags and the
    segment selectors at gdb's fixed x86-64 offsets, and target.xml (which
    IDA reads when qSupported offers it) describing the whole reply."""
    sup = c.cmd("qSupported").decode()
    ctx.check("qXfer:features:read+" in sup, "qSupported offers target.xml", sup)
    xml = b""
    while True:
        part = c.cmd("qXfer:features:read:target.xml:%x,800" % len(xml))
        xml += part[1:]
        if part[:1] != b"m":
            break
    regs = [(n.decode(), int(b) // 8)
            for n, b in re.findall(rb'<reg name="([^"]+)" bitsize="(\d+)"', xml)]
    core = FIXED[:24]                   # rax..r15, rip, eflags, cs..gs
    ctx.check(regs[:24] == core, "the first 24 registers are gdb's fixed x86-64 ones, in order",
              [x for x in zip(regs, core) if x[0] != x[1]][:5])
    ctx.check(sum(size for _, size in regs) * 2 == len(g),
              "target.xml describes the whole 'g' reply", (len(g) // 2, sum(s for _, s in regs)))
    names = {n for n, _ in regs}
    ctx.check(all(n in names for n, _ in FIXED), "and holds every register of the fixed layout (x87, SSE)",
              [n for n, _ in FIXED if n not in names])


def test_dump_session(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory)
    c = RawConnection(sock, timeout=60)
    try:
        g = handshake(ctx, c)
        check_layout(ctx, c, g)
        t = fx.truth["registers"][0]
        rip = int.from_bytes(bytes.fromhex(g[2 * RIP_AT:2 * RIP_AT + 16]), "little")
        ctx.check(rip == int(t["rip"], 16), "rip from 'g' at the fixed offset is vCPU 0's", hex(rip))
        rsp = int.from_bytes(bytes.fromhex(g[2 * 56:2 * 64]), "little")
        ctx.check(rsp == int(t["rsp"], 16), "rsp too", hex(rsp))
        # IDA reads code at rip, then the other vCPU's registers
        cr3 = int(t["cr3"], 16)
        mem = c.cmd("m%x,10" % rip).decode()
        ctx.check(bytes.fromhex(mem) == fx.read_virt(cr3, rip, 16), "m at rip reads the code there", mem)
        ctx.check(c.cmd("Hg2") == b"OK", "Hg2 selects vCPU 1")
        g2 = c.cmd("g").decode()
        rip2 = int.from_bytes(bytes.fromhex(g2[2 * RIP_AT:2 * RIP_AT + 16]), "little")
        ctx.check(rip2 == int(fx.truth["registers"][1]["rip"], 16), "vCPU 1's rip after Hg2", hex(rip2))
        # a dump cannot run or take breakpoints: errors, and the session goes on
        ctx.check(re.fullmatch(rb"E[0-9a-f]{2}", c.cmd("Z0,%x,1" % rip)) is not None,
                  "Z0 on a dump is refused with an error")
        ctx.check(c.cmd("Hc1") == b"OK", "Hc1 before a step")
        ctx.check(re.fullmatch(rb"E[0-9a-f]{2}", c.cmd("s")) is not None, "s on a dump: an error")
        ctx.check(re.fullmatch(rb"E[0-9a-f]{2}", c.cmd("c")) is not None, "c on a dump: an error")
        ctx.check(c.cmd("Hg1") == b"OK" and c.cmd("g").decode() == g, "thread 1's registers unchanged")
        ctx.check(c.cmd("D") == b"OK", "D detaches")
    finally:
        c.close()


def test_live_session(ctx):
    """On xensim: Z0 at an address, 'c' to it, 's' with Hc, the 0x03
    interrupt, z0 and D; the guest is left as found."""
    bp = L.CODE + 3
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
        L.wait_running(sim, dom)
        before = L.snapshot(sim, dom)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01")
        c = RawConnection(sock, timeout=120)
        try:
            g = handshake(ctx, c)
            check_layout(ctx, c, g)
            ctx.check(c.cmd("Z0,%x,1" % bp) == b"OK", "Z0 at the address (kind 1)")
            ctx.check(c.cmd("Hc-1") == b"OK", "Hc-1 before continuing all threads")
            rep = c.cmd("c").decode()
            m = re.match(r"T05thread:0*([0-9a-f]+);", rep)
            ctx.check(m is not None and m.group(1) == "1" and "swbreak" in rep,
                      "c stops at the breakpoint on vCPU 0", rep)
            ctx.check(c.cmd("Hg1") == b"OK", "Hg1 to read the stopped thread")
            g = c.cmd("g").decode()
            rip = int.from_bytes(bytes.fromhex(g[2 * RIP_AT:2 * RIP_AT + 16]), "little")
            ctx.check(rip == bp, "rip is the breakpoint's address (IDA does not adjust it)", hex(rip))
            ctx.check(c.cmd("m%x,1" % bp) != b"cc", "m reads the guest's byte, not the int3")
            # IDA removes its breakpoints before stepping off one
            ctx.check(c.cmd("z0,%x,1" % bp) == b"OK", "z0 removes it")
            ctx.check(c.cmd("Hc1") == b"OK", "Hc1 selects the thread to step")
            steps0 = sim.state(dom)["vcpus"][1]["counters"]["steps"]
            rep = c.cmd("s").decode()
            ctx.check(re.match(r"T05thread:0*1;", rep) is not None, "s stops thread 1", rep)
            g = c.cmd("g").decode()
            rip = int.from_bytes(bytes.fromhex(g[2 * RIP_AT:2 * RIP_AT + 16]), "little")
            ctx.check(rip == L.CODE + 7, "one instruction on", hex(rip))
            ctx.check(sim.state(dom)["vcpus"][1]["counters"]["steps"] == steps0,
                      "vCPU 1 stayed still during the step")
            # run, then interrupt
            ctx.check(c.cmd("Hc-1") == b"OK", "Hc-1")
            c.send_raw(c.frame("c"))
            ctx.check(c.read_byte() == b"+", "c acknowledged")
            L.wait_running(sim, dom, sim.state(dom)["vcpus"][1]["counters"]["steps"] + 6)
            c.send_raw(b"\x03")
            rep = c.read_packet().decode()
            ctx.check(re.match(r"T02thread:", rep) is not None, "0x03 stops the guest (SIGINT)", rep)
            ctx.check(c.cmd("D") == b"OK", "D detaches")
        finally:
            c.close()
        p.terminate()
        L.wait_exit(p, 30)
        L.check_as_found(ctx, sim, dom, before, "after IDA's session")
