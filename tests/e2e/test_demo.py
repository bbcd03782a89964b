# SPDX-License-Identifier: LGPL-2.1-or-later
"""make demo, as a user meets it: what tests/demo/demo.py starts (xensim
with both vCPUs executing the demo's loop of real code, xenstub listening
on TCP), then the user's own gdb attached with `target remote :PORT`:
watch, rwatch and awatch on vCPU 0's counter, hbreak, break and stepi on
the loop, each stop with the right thread, program counter and values;
the guest runs on after detach; LLDB's write watchpoint too. And the demo
script itself, run without a terminal, shows its session and stops
everything it started."""

import os
import re
import shutil
import subprocess
import sys

import live_support as L

sys.path.insert(0, os.path.join(L.REPO, "tests", "demo"))
import demo  # noqa: E402

C0 = demo.counter(0)


def _hex(text, name):
    """The value of `p/x EXPR` printed as `$N = 0x...`, or None."""
    m = re.search(r"^\$\d+ = (0x[0-9a-f]+)", text or "", re.M)
    return int(m.group(1), 16) if m else None


def _run(ctx, argv, timeout=900):
    """Runs argv (tracked by the harness) to its end or the bound; returns
    (exit status, stdout and stderr together)."""
    p = ctx.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return p.returncode, out


def _thread(text):
    m = re.search(r"Current thread is (\d+)", text or "")
    return int(m.group(1)) if m else None


def test_user_gdb(ctx):
    fx = ctx.fixture()
    d = demo.start(ctx.build, fx.memory, port=0, work=ctx.tmp, spawn=ctx.spawn)
    try:
        L.wait_running(d.sim, d.dom, 20)
        cmds = [
            # 0-6: watch
            "watch *(long*)0x%x" % C0, "continue", "p/x $pc", "thread",
            "p/x *(long*)0x%x" % C0, "p/x $rax", "delete",
            # 7-13: rwatch
            "rwatch *(long*)0x%x" % C0, "continue", "p/x $pc", "thread",
            "p/x *(long*)0x%x" % C0, "p/x $rax", "delete",
            # 14-19: awatch
            "awatch *(long*)0x%x" % C0, "continue", "p/x $pc", "thread",
            "p/x *(long*)0x%x" % C0, "delete",
            # 20-24: hbreak
            "hbreak *0x%x" % demo.STORE, "continue", "p/x $pc", "x/i $pc", "delete",
            # 25-30: break, and continue over it (Xen emulates the load)
            "break *0x%x" % demo.LOAD, "continue", "p/x $pc", "continue", "p/x $pc",
            "delete",
            # 31-35: stepi from the load
            "stepi", "p/x $pc", "p/x $rax", "p/x *(long*)$rbx", "thread",
            # 36: the code as the guest holds it (no int3 left)
            "x/6xb 0x%x" % demo.LOAD,
        ]
        r, o = ctx.gdb_each(cmds, remote=":%d" % d.port, env=L.ctl_env(d.sim), timeout=900)
        if not ctx.check(all(x is not None for x in o), "gdb ran every command", r):
            return

        # watch: after the store, on vCPU 0, old and new values one apart
        m = re.search(r"hit Hardware watchpoint 1: \*\(long\*\)0x%x\s+Old value = (\d+)\s+"
                      r"New value = (\d+)" % C0, o[1])
        ctx.check(m is not None and int(m.group(2)) == int(m.group(1)) + 1,
                  "watch: gdb stops with Old value N, New value N+1", o[1])
        ctx.check(_thread(o[3]) == 1 and _hex(o[2], "pc") == demo.AFTER_STORE,
                  "watch: on thread 1 (vCPU 0), $pc after the store (0x%x)" % demo.AFTER_STORE,
                  o[2] + o[3])
        ctx.check(m is not None and _hex(o[4], "mem") == int(m.group(2)) == _hex(o[5], "rax"),
                  "watch: memory and rax hold the new value", o[4] + o[5])

        # rwatch: after the load, the value read in rax
        m = re.search(r"hit Hardware read watchpoint 2: \*\(long\*\)0x%x\s+Value = (\d+)" % C0, o[8])
        ctx.check(m is not None, "rwatch: gdb stops at the read with its value", o[8])
        ctx.check(_thread(o[10]) == 1 and _hex(o[9], "pc") == demo.LOAD + 3,
                  "rwatch: on thread 1, $pc after the load (0x%x)" % (demo.LOAD + 3),
                  o[9] + o[10])
        ctx.check(m is not None and _hex(o[11], "mem") == _hex(o[12], "rax") == int(m.group(1)),
                  "rwatch: rax holds the value read, memory the same", o[11] + o[12])

        # awatch: the read or the write, whichever comes first
        ma = re.search(r"hit Hardware access \(read/write\) watchpoint 3: \*\(long\*\)0x%x\s+"
                       r"(?:Value = (\d+)|Old value = (\d+)\s+New value = (\d+))" % C0, o[15])
        pc = _hex(o[16], "pc")
        ok = ma is not None and (
            (ma.group(1) is not None and pc == demo.LOAD + 3 and
             _hex(o[18], "mem") == int(ma.group(1))) or
            (ma.group(3) is not None and pc == demo.AFTER_STORE and
             _hex(o[18], "mem") == int(ma.group(3))))
        ctx.check(ok and _thread(o[17]) == 1,
                  "awatch: stops on thread 1 after the load (Value) or the store (Old/New), "
                  "memory matching", o[15] + o[16] + o[17] + o[18])

        # hbreak and break: before the instruction, nothing written
        ctx.check(re.search(r"hit Breakpoint 4, 0x0*%x" % demo.STORE, o[21]) is not None and
                  _hex(o[22], "pc") == demo.STORE and "mov    %rax,(%rbx)" in o[23],
                  "hbreak: stops at the store, before it", o[21] + o[22] + o[23])
        ctx.check(re.search(r"hit Breakpoint 5, 0x0*%x" % demo.LOAD, o[26]) is not None and
                  _hex(o[27], "pc") == demo.LOAD,
                  "break: stops at the load", o[26] + o[27])
        ctx.check(re.search(r"hit Breakpoint 5, 0x0*%x" % demo.LOAD, o[28]) is not None and
                  _hex(o[29], "pc") == demo.LOAD,
                  "continue from the breakpoint: the loop goes round, the next pass stops "
                  "there again", o[28] + o[29])

        # stepi over the load: rax holds what the vCPU's counter holds
        ctx.check(_hex(o[32], "pc") == demo.LOAD + 3 and
                  _hex(o[33], "rax") == _hex(o[34], "mem") is not None,
                  "stepi: one instruction, rax loaded from the counter at [rbx]",
                  o[31] + o[32] + o[33] + o[34] + o[35])
        ctx.check("0x48\t0x8b\t0x03\t0x48\t0x8d\t0x40" in o[36].replace(" ", ""),
                  "the loop's bytes are the guest's own (no int3 left)", o[36])
        ctx.check(r.rc == 0, "gdb exits 0 (detaches)", r.err[-1500:])

        st = d.sim.state(d.dom)
        ctx.check(st["paused"] == 0 and st["ring"] is None and
                  all(v["vm_event_pause"] == 0 for v in st["vcpus"]),
                  "after detach: not paused, no ring, no vCPU held",
                  {"paused": st["paused"], "ring": st["ring"]})
        c1 = L.counters(d.sim, d.dom)
        L.wait_running(d.sim, d.dom, c1[0]["steps"] + 12)
        ctx.check(d.stub.poll() is None, "xenstub still serves, for the next gdb")
        faults = [v.get("fault") for v in d.sim.state(d.dom)["vcpus"] if v.get("fault")]
        ctx.check(not faults, "both vCPUs still run the loop", faults)
    finally:
        d.stop()


def test_demo_script(ctx):
    ctx.fixture()
    rc, out = _run(ctx, [sys.executable, os.path.join(L.REPO, "tests", "demo", "demo.py"),
                         "--build", ctx.build, "--port", "0"])
    ctx.check(rc == 0, "the demo ends by itself without a terminal, status 0",
              out[-3000:])
    ctx.check(re.search(r"hit Hardware watchpoint 1: \*\(long\*\)0x%x\s+Old value = \d+\s+"
                        r"New value = \d+" % C0, out) is not None,
              "its session shows a watchpoint hit with old and new values", out[-3000:])
    ctx.check(re.search(r"hit Breakpoint 2, 0x0*%x" % demo.STORE, out) is not None and
              "mov    %rax,(%rbx)" in out,
              "its session shows the loop's code and a breakpoint hit", out[-3000:])
    ctx.check("target remote :" in out and "watch *(long*)0x%x" % C0 in out,
              "it tells how to attach one's own gdb and what to watch", out[-1500:])


def test_user_lldb(ctx):
    """LLDB (`process connect connect://127.0.0.1:PORT`), as a user would:
    a write watchpoint on vCPU 0's counter stops after the store with the
    value in memory and in rax."""
    if shutil.which("lldb") is None:
        ctx.skip("lldb is not installed (Debian: apt-get install lldb)")
    fx = ctx.fixture()
    d = demo.start(ctx.build, fx.memory, port=0, work=ctx.tmp, spawn=ctx.spawn)
    try:
        L.wait_running(d.sim, d.dom, 20)
        cmds = ["watchpoint set expression -w write -s 8 -- 0x%x" % C0,
                "continue",
                "register read rip rax",
                "memory read -f x -s 8 -c 1 0x%x" % C0,
                "watchpoint delete 1",
                "detach"]
        argv = ["lldb", "--no-lldbinit", "--batch",
                "-o", "settings set plugin.process.gdb-remote.packet-timeout 60",
                "-o", "process connect connect://127.0.0.1:%d" % d.port]
        for c in cmds:
            argv += ["-o", c]
        rc, out = _run(ctx, argv, timeout=600)
        # LLDB echoes each command as "(lldb) COMMAND"
        parts = {}
        for i, c in enumerate(cmds):
            a = out.find("(lldb) " + c + "\n")
            b = out.find("(lldb) " + cmds[i + 1] + "\n") if i + 1 < len(cmds) else len(out)
            parts[i] = out[a:b] if a >= 0 and b >= a else None
        ctx.check(parts[1] is not None and "stop reason = watchpoint 1" in parts[1] and
                  "thread #1" in parts[1],
                  "continue stops vCPU 0 (thread #1) at the watchpoint", out[-3000:])
        rip = re.search(r"rip = 0x([0-9a-f]+)", parts[2] or "")
        rax = re.search(r"rax = 0x([0-9a-f]+)", parts[2] or "")
        mem = re.search(r"0x%x: (0x[0-9a-f]+)" % C0, parts[3] or "")
        ctx.check(rip is not None and int(rip.group(1), 16) == demo.AFTER_STORE,
                  "rip is after the store (0x%x)" % demo.AFTER_STORE, parts[2])
        ctx.check(rax is not None and mem is not None and
                  int(rax.group(1), 16) == int(mem.group(1), 16) != 0,
                  "the counter holds the value stored, rax the same", (parts[2], parts[3]))
        ctx.check(parts[5] is not None and rc == 0, "LLDB detaches", out[-1500:])
        st = d.sim.state(d.dom)
        ctx.check(st["paused"] == 0 and st["ring"] is None,
                  "after detach: not paused, no ring", {"paused": st["paused"], "ring": st["ring"]})
    finally:
        d.stop()
