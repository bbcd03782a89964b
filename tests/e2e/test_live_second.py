# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two xenstubs and one domain: a second xenstub after the first left
gets the monitor ring again (breakpoints work); a second one while the
first is attached is told that another introspection tool holds the ring,
still reads memory and registers, and leaves the first one's session
untouched when it goes."""

import re
import subprocess

import live_support as L


def _wl():
    return {0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)}


def test_second_after_first(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_wl())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        for n in (1, 2, 3):
            g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
            try:
                s = sim.state(dom)
                ctx.check(s["monitor"]["ring"] and all(v["state"] == "held" for v in s["vcpus"]),
                          "xenstub #%d: has the ring, holds every vCPU" % n,
                          (s["monitor"]["ring"], [v["state"] for v in s["vcpus"]]))
                g.cmd("break *0x%x" % (L.CODE + 3))
                out = g.cmd("continue")
                ctx.check(out is not None and re.search(r"hit Breakpoint 1, 0x0*%x" % (L.CODE + 3), out),
                          "xenstub #%d: a breakpoint hits" % n, out)
                g.cmd("delete")
                g.cmd("detach")
            finally:
                g.quit()
            L.check_as_found(ctx, sim, dom, before, "after xenstub #%d" % n)


def test_second_while_first_attached(ctx):
    fx = ctx.fixture()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_wl())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
        g1 = L.gdb_session(ctx, sim, remote=sock)
        try:
            g1.cmd("set breakpoint always-inserted on")
            g1.cmd("break *0x%x" % (L.CODE + 3))
            out = g1.cmd("continue")
            ctx.check(out is not None and "hit Breakpoint 1" in out, "xenstub #1 stops at a breakpoint", out)
            s1 = sim.state(dom)
            regs = s1["vcpus"][1]["regs"]
            # the second one, while the first is attached and stopped
            cmds = ["info registers rip rsp", "thread 2", "info registers rip rsp",
                    "x/s 0x%x" % fx.symbol("linux_banner"), "echo @@step@@\\n", "stepi",
                    "echo @@bp@@\\n", "break *0x%x" % (L.CODE + 7), "continue", "delete",
                    "echo @@end@@\\n", "info threads"]
            r = ctx.gdb(cmds, target="xen:web01", env=L.ctl_env(sim), merge_stderr=True,
                        xenstub_args=["--os=none"], timeout=120)
            out2 = r.out
            ctx.check(re.search(r"^rsp\s+%s\b" % regs["rsp"], out2, re.M) is not None and
                      re.search(r"^rip\s+%s\b" % regs["rip"], out2, re.M) is not None,
                      "xenstub #2 reads vCPU 1's registers", out2[:2000])
            ctx.check(fx.truth["proc_version"].strip()[:30] in out2, "xenstub #2 reads memory", out2[:2000])
            step = out2.split("@@step@@")[-1].split("@@bp@@")[0]
            bp = out2.split("@@bp@@")[-1].split("@@end@@")[0]
            busy = r"another introspection tool is attached"
            ctx.check(re.search(busy, step) is not None,
                      "xenstub #2: stepi refused, saying another introspection tool is attached", step)
            ctx.check(re.search(busy, bp) is not None and "Cannot insert breakpoint" in bp,
                      "xenstub #2: break refused, saying another introspection tool is attached", bp)
            ctx.check('Thread 2 "vCPU 1' in out2.split("@@end@@")[-1], "xenstub #2's session goes on",
                      out2[-800:])
            # the first one's session is untouched
            s2 = sim.state(dom)
            ctx.check(s2["monitor"] == s1["monitor"] and s2["paused"] == s1["paused"] and
                      [v["state"] for v in s2["vcpus"]] == [v["state"] for v in s1["vcpus"]],
                      "after #2 left: #1's ring, monitors, pause count and held vCPUs are as they were",
                      {"monitor": (s1["monitor"], s2["monitor"]), "paused": (s1["paused"], s2["paused"]),
                       "vcpus": ([v["state"] for v in s1["vcpus"]], [v["state"] for v in s2["vcpus"]])})
            ctx.check(sim.ctl("read", dom, "--va", hex(L.CODE + 3), "--vcpu", 0, 1)["hex"] == "cc",
                      "#1's int3 is still in place", None)
            out = g1.cmd("continue")
            ctx.check(out is not None and "hit Breakpoint 1" in out, "xenstub #1 goes on: its breakpoint hits again",
                      out)
            g1.cmd("delete")
            g1.cmd("detach")
        finally:
            g1.quit()
            p.terminate()
            L.wait_exit(p, 30)
        L.check_as_found(ctx, sim, dom, before, "after both")


def test_other_tool_attached(ctx):
    """Xen's own xen-access holds the monitor ring: xenstub says that
    another introspection tool is attached when asked to step or break,
    still reads memory and registers, and takes the ring once xen-access
    has gone."""
    fx = ctx.fixture()
    where, why = L.xensim.fetch_utils()
    if not where:
        ctx.skip(why)
    import os
    import signal
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_wl())
        L.wait_loops(sim, dom, 2)
        log = open(os.path.join(sim.dir, "xen-access.out"), "w+")
        xa = ctx.spawn([os.path.join(where, "xen-access"), str(dom), "breakpoint"],
                       env=sim.env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            sim.wait(dom, lambda s: s["monitor"]["ring"] and s["monitor"]["software_breakpoint"],
                     "xen-access to enable its ring")
            regs = sim.state(dom)["vcpus"][1]["regs"]
            cmds = ["thread 2", "info registers rsp", "x/s 0x%x" % fx.symbol("linux_banner"),
                    "echo @@step@@\\n", "stepi", "echo @@bp@@\\n", "break *0x%x" % (L.CODE + 7),
                    "continue", "delete", "echo @@end@@\\n", "info threads"]
            r = ctx.gdb(cmds, target="xen:web01", env=L.ctl_env(sim), merge_stderr=True,
                        xenstub_args=["--os=none"], timeout=120)
            out = r.out
            ctx.check(re.search(r"^rsp\s+%s\b" % regs["rsp"], out, re.M) is not None,
                      "registers read while xen-access holds the ring", out[:1500])
            ctx.check(fx.truth["proc_version"].strip()[:30] in out, "memory reads", out[:1500])
            busy = r"another introspection tool is attached"
            step = out.split("@@step@@")[-1].split("@@bp@@")[0]
            bp = out.split("@@bp@@")[-1].split("@@end@@")[0]
            ctx.check(re.search(busy, step) is not None, "stepi: refused, naming another introspection tool",
                      step)
            ctx.check(re.search(busy, bp) is not None and "Cannot insert breakpoint" in bp,
                      "break: refused, naming another introspection tool", bp)
            ctx.check('Thread 2 "vCPU 1' in out.split("@@end@@")[-1], "the session goes on", out[-600:])
            s = sim.state(dom)
            ctx.check(s["monitor"]["ring"] and s["monitor"]["software_breakpoint"] and s["paused"] == 0,
                      "xen-access's ring and settings are untouched, the guest unpaused",
                      (s["monitor"], s["paused"]))
            ctx.check(xa.poll() is None, "xen-access still runs", log.name)
        finally:
            if xa.poll() is None:
                os.kill(xa.pid, signal.SIGINT)
            L.wait_exit(xa, 60)
            log.close()
        sim.wait(dom, lambda s: not s["monitor"]["ring"], "xen-access to remove its ring")
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", ["break *0x%x" % (L.CODE + 3), "continue", "delete"],
                       args=["--os=none"])
        ctx.check(re.search(r"hit Breakpoint 1, 0x0*%x" % (L.CODE + 3), r.out) is not None,
                  "after xen-access left, xenstub gets the ring: a breakpoint hits", r.out[-800:])
        L.check_as_found(ctx, sim, dom, before, "after xen-access, then xenstub")
