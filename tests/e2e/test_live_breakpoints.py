# SPDX-License-Identifier: LGPL-2.1-or-later
"""Software breakpoints of a live guest on xensim: the hit is on the right
thread at the exact address with swbreak; continuing from it executes the
instruction once; delete runs free; two vCPUs executing the breakpointed
instruction never pass it unseen (stops counted per thread against
xensim's count of executions); a hit still queued when its breakpoint is
removed is dropped without harm; reads and x/i show the guest's byte; a
gdb write over a planted int3 changes the byte under it; the guest's own
int3 reaches the guest whether xenstub watches int3s or not."""

import json
import re

import live_support as L
from harness import RawConnection

# the loop both vCPUs run: the breakpointed instruction (CODE + 5) is the
# loop's only write, so xensim's write counter counts its executions
BP = L.CODE + 5


def _bp_loop(v):
    """vCPU v's loop: v extra steps, so that the vCPUs drift apart."""
    return [
        {"rip": L.h(L.CODE), "len": 5, "access": "none"},
        {"rip": L.h(BP), "len": 5, "access": "write", "va": L.h(L.SCRATCH + 0x80 * v),
         "size": 8, "value": L.h(0x100 + v)},
        {"rip": L.h(L.CODE + 10), "len": 1, "access": "read", "va": L.h(L.SCRATCH + 0x80 * v + 8),
         "size": 8},
    ] + [{"rip": L.h(L.CODE + 11), "len": 1, "access": "none"}] * v + [{"op": "loop"}]


def _result(ctx, r, what):
    m = re.search(r"^RESULT (.*)$", r.out, re.M)
    if not ctx.check(m is not None, what, r):
        return None
    return json.loads(m.group(1))


HIT = L.PY_STATE + r'''
import gdb
res = {"hits": []}
gdb.execute("set debug remote 1")
gdb.execute("break *%(addr)d")
s0 = state()
for i in range(3):
    gdb.execute("continue")
    s = state()
    res["hits"].append({"thread": gdb.selected_thread().num, "pc": int(gdb.parse_and_eval("$pc")),
                        "rip": [int(v["regs"]["rip"], 16) for v in s["vcpus"]],
                        "writes": [v["counters"]["writes"] for v in s["vcpus"]]})
res["writes0"] = [v["counters"]["writes"] for v in s0["vcpus"]]
gdb.execute("set debug remote 0")
gdb.execute("delete")
s1 = state()
import threading, os, signal, time
def stop():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=stop).start()
gdb.execute("continue")
s2 = state()
res["free"] = [[v["counters"]["writes"] for v in s["vcpus"]] for s in (s1, s2)]
res["free_thread"] = gdb.selected_thread().num
res["free_pc"] = int(gdb.parse_and_eval("$pc"))
print("RESULT " + _json.dumps(res))
'''


def test_hit_continue_delete(ctx):
    """Only vCPU 1 executes the breakpointed address: three hits on
    thread 2 at the exact address, each continue executes it once;
    after delete the guest runs free until Ctrl-C."""
    addr = L.CODE + 0x40 + 5
    with L.xensim.sim_for(ctx) as sim:
        wl1 = [{"rip": L.h(L.CODE + 0x40), "len": 5, "access": "none"},
               {"rip": L.h(addr), "len": 5, "access": "write", "va": L.h(L.SCRATCH + 0x80),
                "size": 8, "value": "0x77"},
               {"rip": L.h(L.CODE + 0x40 + 10), "len": 1, "access": "none"},
               {"op": "loop"}]
        dom = L.make_domain(ctx, sim, workloads={0: L.loop(L.CODE, L.SCRATCH, 1), 1: wl1})
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=HIT % {"dom": dom, "addr": addr})
        out = r.out + r.err
        d = _result(ctx, r, "the breakpoint session ran")
        if d is None:
            return
        ctx.check(all(h["thread"] == 2 and h["pc"] == addr and h["rip"][1] == addr for h in d["hits"]),
                  "each hit: thread 2, $pc and vCPU 1's rip at 0x%x exactly" % addr, d["hits"])
        replies = re.findall(r"Packet received: (T05[^\s]*)", out)
        ctx.check(len([p for p in replies if "swbreak:" in p and "thread:2;" in p]) == 3,
                  "the stop replies carry swbreak and thread 2", replies)
        ctx.check(len(re.findall(r'Thread 2 "vCPU 1[^"]*" hit Breakpoint 1, 0x0*%x' % addr, r.out)) == 3,
                  "gdb prints 'Thread 2 ... hit Breakpoint 1, 0x%x'" % addr, r.out[-1500:])
        w = [d["writes0"][1]] + [h["writes"][1] for h in d["hits"]]
        ctx.check(all(b == a + 1 for a, b in zip(w[1:], w[2:])),
                  "continuing from the breakpoint executes it exactly once before the next hit", w)
        ctx.check(w[1] == w[0], "the first hit is before the instruction executed", w)
        (a, b) = d["free"]
        ctx.check(b[1] > a[1] + 5 and b[0] > a[0] + 5, "after delete, continue runs free", d["free"])
        ctx.check("SIGINT" in r.out.split("hit Breakpoint 1")[-1],
                  "and it only stops at Ctrl-C", r.out[-800:])
        L.check_as_found(ctx, sim, dom, before, "after the breakpoints")


COUNT = L.PY_STATE + r'''
import gdb
res = {"stops": []}
s0 = state()
# gdb steps the selected thread over a breakpoint at its own pc without
# reporting it: that one execution is not a hit
res["at_bp"] = [gdb.selected_thread().num, int(gdb.parse_and_eval("$pc")) == %(addr)d]
gdb.execute("break *%(addr)d")
for i in range(%(n)d):
    gdb.execute("continue")
    res["stops"].append([gdb.selected_thread().num, int(gdb.parse_and_eval("$pc"))])
s1 = state()
res["w0"] = [v["counters"]["writes"] for v in s0["vcpus"]]
res["w1"] = [v["counters"]["writes"] for v in s1["vcpus"]]
res["int3"] = [[v["counters"]["int3"] for v in s["vcpus"]] for s in (s0, s1)]
res["bp_delivered"] = [v["counters"]["bp_delivered"] for v in s1["vcpus"]]
res["rips"] = [int(v["regs"]["rip"], 16) for v in s1["vcpus"]]
res["stats"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
'''


def test_two_vcpus_never_pass_unseen(ctx):
    """Both vCPUs run the breakpointed instruction. Per vCPU, the number
    of executions xensim counted while the breakpoint was in equals the
    stops gdb saw on that thread (less the last stop, whose instruction
    has not executed yet)."""
    n = 40
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: _bp_loop(0), 1: _bp_loop(1)})
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=COUNT % {"dom": dom, "addr": BP, "n": n},
                       args=["--os=none"], timeout=300)
        d = _result(ctx, r, "%d continues ran" % n)
        if d is None:
            return
        ctx.check(all(pc == BP for _, pc in d["stops"]), "every stop is at the breakpoint", d["stops"])
        stops = [sum(1 for t, _ in d["stops"] if t == v + 1) for v in (0, 1)]
        last = d["stops"][-1][0] - 1
        executed = [b - a for a, b in zip(d["w0"], d["w1"])]
        stepped_over = d["at_bp"][0] - 1 if d["at_bp"][1] else None
        want = [stops[v] - (1 if v == last else 0) + (1 if v == stepped_over else 0) for v in (0, 1)]
        ctx.check(executed == want,
                  "per vCPU: executions of the instruction == stops seen (no pass unseen)",
                  {"executed": executed, "stops": stops, "last stop on vCPU": last,
                   "gdb stepped over it first on vCPU": stepped_over})
        ctx.check(min(stops) >= 5, "both vCPUs hit it (%s)" % stops, stops)
        ctx.check(d["bp_delivered"] == [0, 0], "no #BP reached the guest", d["bp_delivered"])
        L.check_as_found(ctx, sim, dom, before, "after %d hits on two vCPUs" % n)


QUEUED = L.PY_STATE + r'''
import gdb, os, signal, threading, time
res = {"tries": 0}
gdb.execute("break *%(addr)d")
queued = []
for i in range(40):
    res["tries"] += 1
    gdb.execute("continue")
    t = gdb.selected_thread().num
    s = state()
    # other vCPUs held at the int3 by their own hit: queued stops
    queued = [v["id"] for v in s["vcpus"] if v["id"] != t - 1 and
              int(v["regs"]["rip"], 16) == %(addr)d and v["state"] == "held"]
    if queued:
        break
res["queued"] = queued
s0 = state()
res["bp0"] = [v["counters"]["bp_delivered"] for v in s0["vcpus"]]
res["w0"] = [v["counters"]["writes"] for v in s0["vcpus"]]
gdb.execute("delete")
gdb.execute("set debug remote 1")
def stop():
    time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=stop).start()
gdb.execute("continue")
gdb.execute("set debug remote 0")
s1 = state()
res["bp1"] = [v["counters"]["bp_delivered"] for v in s1["vcpus"]]
res["w1"] = [v["counters"]["writes"] for v in s1["vcpus"]]
res["stats"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
'''


def test_removed_while_queued(ctx):
    """Eight vCPUs run the breakpointed instruction every other step, so
    that when one hit is reported another vCPU's hit is queued; the
    breakpoint is deleted and the guest continued: the queued hit is not
    reported, that vCPU goes on, and the guest takes no #BP."""
    nv = 8
    code = 0x100000
    addr = code + 1
    with L.xensim.sim_for(ctx) as sim:
        dom = sim.create("web01", "--zero", "64", "--vcpus", str(nv))
        sim.ctl("write", dom, "--gpa", hex(code), "9090909090909090")
        for v in range(nv):
            sim.workload(dom, v, [
                {"rip": L.h(code), "len": 1, "access": "none"},
                {"rip": L.h(addr), "len": 1, "access": "write", "va": L.h(0x200000 + 64 * v),
                 "size": 8, "value": L.h(v + 1)},
                {"op": "loop"}])
        sim.ctl("start", dom)
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=QUEUED % {"dom": dom, "addr": addr},
                       args=["--os=none"], timeout=300)
        out = r.out + r.err
        d = _result(ctx, r, "the queued-hit session ran")
        if d is None:
            return
        if not d["queued"]:
            ctx.skip("no second hit was queued in %d tries: the case could not be forced" % d["tries"])
        ctx.check(True, "a hit of vCPU(s) %s was queued behind the reported one (try %d)"
                  % (d["queued"], d["tries"]))
        after_delete = out.split("Sending packet: $z0", 1)[-1]
        stops = re.findall(r"Packet received: (T[0-9a-f]{2}[^\s]*)", after_delete)
        ctx.check(len(stops) == 1 and stops[0].startswith("T02"),
                  "after delete, the only stop is the Ctrl-C (no stale breakpoint stop)", stops)
        moved = [b - a for a, b in zip(d["w0"], d["w1"])]
        ctx.check(all(moved[v] > 0 for v in d["queued"]),
                  "the vCPUs whose hit was queued went on", moved)
        ctx.check(d["bp1"] == d["bp0"] == [0] * nv, "no #BP reached the guest", (d["bp0"], d["bp1"]))
        L.check_as_found(ctx, sim, dom, before, "after a queued hit was dropped")


SHADOW = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("set breakpoint always-inserted on")
gdb.execute("break *%(addr)d")
inf = gdb.selected_inferior()
def xsread(a, n):
    return _json.loads(xsctl("read", %(dom)s, "--va", hex(a), "--vcpu", 0, n).stdout)["hex"]
res["planted"] = xsread(%(addr)d, 4)
res["gdb_read"] = inf.read_memory(%(addr)d, 4).tobytes().hex()
res["x_i"] = gdb.execute("x/2i %(addr)d", to_string=True)
# a write over the planted int3 (and the byte after it)
inf.write_memory(%(addr)d, bytes.fromhex("9090"))
res["after_write_xensim"] = xsread(%(addr)d, 4)
res["after_write_gdb"] = inf.read_memory(%(addr)d, 4).tobytes().hex()
gdb.execute("continue")
res["hit_pc"] = int(gdb.parse_and_eval("$pc"))
res["hit_thread"] = gdb.selected_thread().num
gdb.execute("delete")
res["removed_xensim"] = xsread(%(addr)d, 4)
inf.write_memory(%(addr)d, bytes.fromhex("%(orig)s"))
res["restored_xensim"] = xsread(%(addr)d, 4)
print("RESULT " + _json.dumps(res))
'''


def test_reads_and_writes_over_a_breakpoint(ctx):
    """With the int3 kept in (always-inserted on): gdb reads the guest's
    byte and x/i disassembles the original instruction, while xensim's
    memory has 0xcc; a gdb write over it changes the byte under the
    int3, which stays and still stops the guest."""
    addr = L.CODE  # nopl 0x0(%rax,%rax,1), 5 bytes, in the kernel's text
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: _bp_loop(0)})
        L.wait_loops(sim, dom, 2)
        orig = sim.ctl("read", dom, "--va", hex(addr), "--vcpu", 0, 4)["hex"]
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=SHADOW % {"dom": dom, "addr": addr, "orig": orig[:4]},
                       args=["--os=none"])
        d = _result(ctx, r, "the always-inserted session ran")
        if d is None:
            return
        ctx.check(d["planted"] == "cc" + orig[2:], "xensim: the int3 is planted", (d["planted"], orig))
        ctx.check(d["gdb_read"] == orig, "gdb reads the guest's bytes, not the int3", (d["gdb_read"], orig))
        ctx.check(re.search(r"0x0*%x:\s+nopl\s+0x0\(%%rax,%%rax,1\)" % addr, d["x_i"]) is not None and
                  "int3" not in d["x_i"],
                  "x/i shows the original instruction", d["x_i"])
        ctx.check(d["after_write_xensim"] == "cc90" + orig[4:],
                  "a write over the breakpoint keeps the int3 and writes the next byte",
                  (d["after_write_xensim"], orig))
        ctx.check(d["after_write_gdb"] == "9090" + orig[4:], "gdb reads the bytes it wrote",
                  d["after_write_gdb"])
        ctx.check(d["hit_pc"] == addr and d["hit_thread"] == 1, "the breakpoint still stops the guest",
                  (hex(d["hit_pc"]), d["hit_thread"]))
        ctx.check(d["removed_xensim"] == "9090" + orig[4:],
                  "after delete, the byte gdb wrote is under it, not the old one",
                  (d["removed_xensim"], orig))
        ctx.check(d["restored_xensim"] == orig, "the original bytes written back", d["restored_xensim"])
        L.check_as_found(ctx, sim, dom, before, "after writes over a breakpoint")


def test_guest_int3_reaches_guest(ctx):
    """The kernel's own int3 at GUEST_INT3 is executed by vCPU 0's
    workload: the guest takes #BP (bp_delivered moves) without xenstub
    watching int3s, and with it watching (a breakpoint elsewhere), and
    gdb never stops there."""
    wl = [{"rip": L.h(L.CODE), "len": 5, "access": "none"},
          {"rip": L.h(L.GUEST_INT3), "len": 1, "access": "none"},
          {"op": "loop"}]
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: wl})
        byte = sim.ctl("read", dom, "--va", hex(L.GUEST_INT3), "--vcpu", 0, 1)["hex"]
        if byte != "cc":
            ctx.skip("the fixture has 0x%s at 0x%x, not an int3" % (byte, L.GUEST_INT3))
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            for phase, setup in (("no int3 monitor", None),
                                 ("int3 monitor on", "break *0x%x" % (L.CODE + 0x300))):
                if setup:
                    g.cmd(setup)
                s0 = sim.state(dom)
                mark = g.mark()
                g.send("continue")
                try:
                    sim.wait(dom, lambda s: s["vcpus"][0]["counters"]["bp_delivered"] >=
                             s0["vcpus"][0]["counters"]["bp_delivered"] + 10,
                             "the guest to take its own #BP", timeout=20)
                    took = True
                except AssertionError:
                    took = False
                s1 = sim.state(dom)
                ctx.check(s1["monitor"]["software_breakpoint"] == bool(setup),
                          "%s: xensim's software_breakpoint monitor is %s" % (phase, bool(setup)),
                          s1["monitor"])
                ctx.check(took, "%s: the guest's own int3 reaches the guest (bp_delivered moves)" % phase,
                          s1["vcpus"][0]["counters"])
                g.signal(2)
                m = g.wait_for(r"received signal (\w+)", mark, 30)
                ctx.check(m is not None and m.group(1) == "SIGINT" and "Breakpoint" not in g.out[mark:],
                          "%s: gdb stopped only at Ctrl-C" % phase, g.out[mark:][-800:])
                # stopped: every int3 executed became a #BP of the guest,
                # but one whose #BP may still be on its way in
                v2 = sim.state(dom)["vcpus"][0]
                c0, c2 = s0["vcpus"][0]["counters"], v2["counters"]
                owed = (c2["int3"] - c0["int3"]) - (c2["bp_delivered"] - c0["bp_delivered"])
                ctx.check(owed == 0 or (owed == 1 and (v2["pending_injection"] or
                                                       int(v2["regs"]["rip"], 16) == L.GUEST_INT3)),
                          "%s: every int3 the guest executed became its own #BP" % phase,
                          (c0, c2, v2["pending_injection"], v2["regs"]["rip"]))
            st = g.cmd("monitor stats")
            m = re.search(r"(\d+) guest int3s given back", st or "")
            ctx.check(m is not None and int(m.group(1)) >= 10, "monitor stats counts the int3s given back", st)
        finally:
            g.quit()
        L.check_as_found(ctx, sim, dom, before, "after the guest's own int3s")


def test_continue_over_planted_int3_raw(ctx):
    """At the packet level, with the int3 left in (no z0 before resuming,
    as a client without gdb's step-over may do): each vCont;c executes
    the breakpointed instruction once, in place, and the next stop is
    the next time round the loop."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: _bp_loop(0), 1: L.loop(L.CODE + 0x40, L.SCRATCH + 0x400, 9)})
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
        c = RawConnection(sock)
        try:
            c.cmd("QStartNoAckMode")
            c.noack = True
            ok = c.cmd("Z0,%x,1" % BP)
            ctx.check(ok == b"OK", "Z0 planted", ok)
            w = []
            stops = []
            for i in range(5):
                rep = c.cmd("vCont;c")
                stops.append(rep.decode())
                w.append(sim.state(dom)["vcpus"][0]["counters"]["writes"])
            ctx.check(all(re.match(r"T05thread:0*1;swbreak:;", s) for s in stops),
                      "every stop is thread 1's breakpoint", stops)
            ctx.check(all(b == a + 1 for a, b in zip(w, w[1:])),
                      "each continue executed the instruction once (emulated in place)", w)
            rip = int(sim.state(dom)["vcpus"][0]["regs"]["rip"], 16)
            ctx.check(rip == BP, "vCPU 0 is at the breakpoint", hex(rip))
            # a step off the planted int3, without z0 either
            w0 = sim.state(dom)["vcpus"][0]["counters"]
            rep = c.cmd("vCont;s:1").decode()
            s = sim.state(dom)
            ctx.check(re.match(r"T05thread:0*1;", rep) is not None and "swbreak" not in rep,
                      "vCont;s:1 from the breakpoint: a plain step stop on thread 1", rep)
            ctx.check(s["vcpus"][0]["counters"]["writes"] == w0["writes"] + 1 and
                      s["vcpus"][0]["counters"]["steps"] == w0["steps"] + 1 and
                      int(s["vcpus"][0]["regs"]["rip"], 16) == L.CODE + 10,
                      "the step executed the guest's instruction once",
                      (w0, s["vcpus"][0]["counters"], s["vcpus"][0]["regs"]["rip"]))
            ctx.check(sim.ctl("read", dom, "--va", hex(BP), "--vcpu", 0, 1)["hex"] == "cc",
                      "the int3 is back in place after the step")
            ctx.check(c.cmd("m%x,1" % BP) != b"cc", "m reads the guest's byte, not the int3")
            rep = c.cmd("vCont;c").decode()
            ctx.check(re.match(r"T05thread:0*1;swbreak:;", rep) is not None,
                      "and the next continue hits it again", rep)
            ctx.check(c.cmd("z0,%x,1" % BP) == b"OK", "z0 removed")
            c.cmd("D")
        finally:
            c.close()
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "xenstub exits on SIGTERM (128+15)", L.read_log(p))
        L.check_as_found(ctx, sim, dom, before, "after raw continues over an int3")
