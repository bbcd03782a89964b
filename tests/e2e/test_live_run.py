# SPDX-License-Identifier: LGPL-2.1-or-later
"""The live Xen target against xensim: attach, registers and memory of the
fixture guest, continue and interrupt, single-step with the other vCPU
held, software breakpoints, the guest's own int3, register and memory
writes, and the guest left exactly as found."""

import re

import live_support as L


def wait_running(sim, dom, steps=6):
    """Until every vCPU has retired some steps (the workload runs)."""
    return sim.wait(dom, lambda s: all(v["counters"]["steps"] >= steps
                                       for v in s["vcpus"]),
                    "the workload to run")


def test_attach_registers_memory(ctx):
    fx = ctx.fixture()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim)
        before = L.snapshot(sim, dom)
        regs = []
        for i in range(fx.truth["num_cpus"]):
            regs += ["thread %d" % (i + 1), "info registers rip rsp cr0 cr3 cr4 efer"]
        r = L.gdb_live(ctx, sim, "web01",
                       ["info threads"] + regs +
                       ["x/s 0x%x" % fx.symbol("linux_banner"), "monitor os"])
        ctx.check(r.rc == 0, "gdb ran", r)
        ctx.check('Thread 1 "vCPU 0' in r.out and 'Thread 2 "vCPU 1' in r.out,
                  "threads 1 and 2 are the vCPUs", r.out[:2000])
        for i, t in enumerate(fx.truth["registers"]):
            for reg in ("rip", "rsp", "cr0", "cr3", "cr4", "efer"):
                want = int(t[reg], 16)
                ok = re.search(r"^%s\s+0x0*%x\b" % (reg, want), r.out, re.M)
                ctx.check(ok is not None, "vCPU %d %s = 0x%x" % (i, reg, want), r.out[-3000:])
        ctx.check(fx.truth["proc_version"].strip()[:40] in r.out, "linux_banner reads", r.out[-2000:])
        ctx.check("Linux" in r.out and "kernel" in r.out.lower(), "the Linux module found the kernel", r.out[-1500:])
        after = L.snapshot(sim, dom)
        ctx.check(before == after, "the guest is left exactly as found", L.diff(before, after))


CONTINUE_INTERRUPT = r'''
import gdb, os, signal, threading, time
gdb.execute("set scheduler-locking off")
def stop():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)   # what Ctrl-C in gdb's terminal does
threading.Thread(target=stop).start()
gdb.execute("continue")
print("STOPPED", gdb.selected_thread().num)
gdb.execute("info threads 1-2")
'''


def test_continue_and_interrupt(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
        wait_running(sim, dom)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=CONTINUE_INTERRUPT)
        ctx.check("SIGINT" in r.out and "STOPPED" in r.out,
                  "gdb's interrupt stops the running guest with SIGINT", r)
        ctx.check(r.rc == 0, "gdb ran to the end", r)
        after = L.snapshot(sim, dom)
        ctx.check(before["paused"] == after["paused"] == 0 and not after["ring"],
                  "after detach the guest runs, with no ring", L.diff(before, after))
        c1 = L.counters(sim, dom)
        wait_running(sim, dom, c1[0]["steps"] + 6)
        ctx.check(True, "the guest keeps running after detach")


STEPI = r'''
import gdb, json, subprocess, os
def counters():
    out = subprocess.run([os.environ["XSCTL"], "state", "1"], capture_output=True, text=True).stdout
    return [v["counters"]["steps"] for v in json.loads(out)["vcpus"]]
gdb.execute("set scheduler-locking step")
gdb.execute("thread 1")
c0 = counters()
pc0 = int(gdb.parse_and_eval("$pc"))
gdb.execute("stepi")
pc1 = int(gdb.parse_and_eval("$pc"))
c1 = counters()
gdb.execute("stepi")
pc2 = int(gdb.parse_and_eval("$pc"))
c2 = counters()
print("RESULT", json.dumps({"c0": c0, "c1": c1, "c2": c2, "pcs": [pc0, pc1, pc2],
                            "thread": gdb.selected_thread().num}))
'''


def test_stepi_one_vcpu(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
        wait_running(sim, dom)
        before = L.snapshot(sim, dom)
        os_env = sim.env()
        os_env["XSCTL"] = sim.ctl_bin
        os_env["XENSIM_SOCKET"] = sim.socket
        r = ctx.gdb([], target="xen:web01", python=STEPI, env=os_env)
        m = re.search(r"RESULT (.*)", r.out)
        if not ctx.check(m is not None, "stepi ran", r):
            return
        import json
        d = json.loads(m.group(1))
        ctx.check(d["c1"][0] == d["c0"][0] + 1 and d["c2"][0] == d["c1"][0] + 1,
                  "each stepi retires exactly one instruction on vCPU 0", d)
        ctx.check(d["c1"][1] == d["c0"][1] and d["c2"][1] == d["c0"][1],
                  "vCPU 1 does not move while vCPU 0 steps (scheduler-locking)", d)
        ctx.check(d["thread"] == 1, "the stop is reported on thread 1", d)
        # after a step the pc is the next step's rip, or just past the
        # last step of the loop before it jumps back
        ctx.check(d["pcs"][1] in (L.CODE, L.CODE + 3, L.CODE + 7, L.CODE + 11) and
                  d["pcs"][1] != d["pcs"][0],
                  "the program counter moves along the workload", [hex(p) for p in d["pcs"]])
        after = L.snapshot(sim, dom)
        ctx.check(L.diff(before, after).keys() <= {"digest"} and after["paused"] == 0,
                  "left as found after stepping", L.diff(before, after))


BREAK = r'''
import gdb, json
gdb.execute("break *%(addr)d")
hits = []
for i in range(%(n)d):
    gdb.execute("continue")
    hits.append((gdb.selected_thread().num, int(gdb.parse_and_eval("$pc"))))
mem = gdb.selected_inferior().read_memory(%(addr)d, 1).tobytes()
print("RESULT", json.dumps({"hits": hits, "byte": mem.hex()}))
gdb.execute("delete")
'''


def test_breakpoint_hits(ctx):
    addr = L.CODE + 3
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE, L.SCRATCH + 64, 2)})
        wait_running(sim, dom)
        orig = sim.ctl("read", dom, "--va", hex(addr), "--vcpu", 0, 1)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=BREAK % {"addr": addr, "n": 12})
        m = re.search(r"RESULT (.*)", r.out)
        if not ctx.check(m is not None, "the breakpoint session ran", r):
            return
        import json
        d = json.loads(m.group(1))
        ctx.check(all(pc == addr for _, pc in d["hits"]),
                  "every stop is at the breakpoint address", d)
        ctx.check({t for t, _ in d["hits"]} <= {1, 2}, "stops name the vCPU threads", d)
        ctx.check(d["byte"] != "cc", "gdb reads the guest's byte, not the int3", d)
        ctx.check("Breakpoint 1," in r.out, "gdb reports Breakpoint 1", r.out[-1500:])
        after = L.snapshot(sim, dom)
        ctx.check(L.diff(before, after).keys() <= {"digest"}, "left as found (but memory the workload writes)",
                  L.diff(before, after))
        now = sim.ctl("read", dom, "--va", hex(addr), "--vcpu", 0, 1)
        ctx.check(now == orig or str(now) == str(orig), "the int3 is gone from guest memory", (orig, now))


RENAME = r'''
import gdb, os, re, signal, subprocess, threading, time
def names():
    out = gdb.execute("info threads", to_string=True)
    return re.findall(r'Thread \d+ "([^"]*)"', out)
first = names()
# the guest renames the marker process while it runs
subprocess.run([os.environ["XSCTL"], "start", "1"], check=True, capture_output=True)
def stop():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=stop).start()
gdb.execute("continue")
second = names()
print("FIRST", first)
print("SECOND", second)
'''


def test_linux_rename_between_stops(ctx):
    """The live thread list follows the guest: a task renamed while the
    guest runs has its new name at the next stop."""
    fx = ctx.fixture()
    t = fx.truth
    if "task_struct" not in t["marker"] or "task_struct.comm" not in t.get("struct_offsets", {}):
        ctx.skip("the fixture's truth.json does not give the marker's task_struct and comm offset")
    comm = int(t["marker"]["task_struct"], 16) + t["struct_offsets"]["task_struct.comm"]
    new = b"renamed\0"
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim)
        sim.workload(dom, 0, [
            {"rip": L.h(L.CODE), "len": 4, "access": "write", "va": L.h(comm), "size": 8,
             "value": L.h(int.from_bytes(new, "little"))},
            {"op": "loop"}])
        env = sim.env()
        env["XSCTL"] = sim.ctl_bin
        r = ctx.gdb([], target="xen:web01", python=RENAME, env=env)
        first = re.search(r"FIRST (.*)", r.out)
        second = re.search(r"SECOND (.*)", r.out)
        if not ctx.check(first and second, "the session ran", r):
            return
        ctx.check("'marker'" in first.group(1) and "'renamed'" not in first.group(1),
                  "before: the marker process is listed as marker", first.group(1))
        ctx.check("'renamed'" in second.group(1) and "'marker'" not in second.group(1),
                  "after the guest renamed it: listed as renamed", second.group(1))
        ctx.check("'mk-worker-1'" in second.group(1), "its threads are still listed", second.group(1))


def test_kill9_then_recover(ctx):
    """xenstub killed with SIGKILL while the guest runs with a breakpoint
    planted: its journal lets `xenstub --recover` put the guest back."""
    import os
    import signal
    import subprocess
    import time
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
        wait_running(sim, dom)
        before = L.snapshot(sim, dom)
        jdir = ctx.tmpfile("journal")
        env = sim.env({"XENSTUB_JOURNAL_DIR": jdir})
        sock = ctx.tmpfile("k9.sock")
        log = open(sock + ".log", "w")
        stub = ctx.spawn([ctx.xenstub, "unix:" + sock, "xen:web01"], env=env,
                         stdout=log, stderr=subprocess.STDOUT)
        ctx.wait_for(lambda: "Listening" in open(sock + ".log").read(), "xenstub to listen")
        # break on an address the workload does not execute, then run
        gdb = ctx.spawn(["gdb", "-q", "-n", "-batch", "-ex", "set remotetimeout 60",
                         "-ex", "target remote " + sock,
                         "-ex", "break *0x%x" % (L.CODE + 32), "-ex", "continue"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        sim.wait(dom, lambda s: s["monitor"]["software_breakpoint"] and s["paused"] == 0,
                 "the guest to run with the breakpoint planted")
        os.kill(stub.pid, signal.SIGKILL)
        stub.wait()
        gdb.wait(timeout=60)
        left = L.snapshot(sim, dom)
        ctx.check(left["ring"] and left["digest"] != before["digest"],
                  "after kill -9 the ring and the int3 are still in the guest",
                  L.diff(before, left))
        journals = os.listdir(jdir)
        ctx.check(len(journals) == 1 and journals[0].startswith("xen-%d-" % dom),
                  "the journal is left behind", journals)
        r = ctx.run_xenstub(["--journal-dir", jdir, "--recover", "xen:web01"], env=env)
        ctx.check(r.rc == 0 and "recovered" in r.out, "xenstub --recover succeeds", r)
        after = L.snapshot(sim, dom)
        ctx.check(after == before, "after --recover the guest is exactly as found", L.diff(before, after))
        ctx.check(os.listdir(jdir) == [], "the journal is gone", os.listdir(jdir))
        # and a new session works: the ring is free again
        res = ctx.gdb(["info registers rip", "stepi", "info registers rip"],
                      target="xen:web01", env=env)
        ctx.check(res.rc == 0 and res.out.count("rip ") == 2 and "Cannot" not in res.err,
                  "a new xenstub attaches and steps", res)


def test_kill9_while_stopped_then_recover(ctx):
    """xenstub killed with SIGKILL while every vCPU is held at a breakpoint
    stop: `xenstub --recover` also releases the vCPUs the dead xenstub's
    events held (Xen keeps them paused when their listener goes)."""
    import os
    import signal
    import subprocess
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
        wait_running(sim, dom)
        before = L.snapshot(sim, dom)
        env = sim.env()
        sock = ctx.tmpfile("k9s.sock")
        log = open(sock + ".log", "w")
        stub = ctx.spawn([ctx.xenstub, "unix:" + sock, "xen:web01"], env=env,
                         stdout=log, stderr=subprocess.STDOUT)
        ctx.wait_for(lambda: "Listening" in open(sock + ".log").read(), "xenstub to listen")
        gdb = ctx.spawn(["gdb", "-q", "-n", "-batch", "-ex", "set remotetimeout 60",
                         "-ex", "target remote " + sock,
                         "-ex", "break *0x%x" % (L.CODE + 3), "-ex", "continue",
                         "-ex", "shell sleep 600"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        held = sim.wait(dom, lambda s: sum(v["vm_event_pause"] for v in s["vcpus"]) == 2,
                        "both vCPUs to be held at the breakpoint stop")
        ctx.check(held["paused"] >= 1, "the guest is stopped at the breakpoint", held["paused"])
        os.kill(stub.pid, signal.SIGKILL)
        stub.wait()
        os.kill(gdb.pid, signal.SIGKILL)
        gdb.wait()
        r = ctx.run_xenstub(["--recover", "xen:web01"], env=env)
        ctx.check(r.rc == 0 and "released" in r.out, "xenstub --recover succeeds", r)
        after = L.snapshot(sim, dom)
        ctx.check(all(v["vm_event_pause"] == 0 for v in after["vcpus"]) and after["paused"] == 0,
                  "no vCPU is held or paused any more", L.diff(before, after))
        ctx.check(after == before, "the guest is exactly as found", L.diff(before, after))
        c0 = L.counters(sim, dom)
        wait_running(sim, dom, max(c["steps"] for c in c0) + 6)
        ctx.check(True, "both vCPUs run again")
