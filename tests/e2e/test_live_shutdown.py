# SPDX-License-Identifier: LGPL-2.1-or-later
"""The guest shuts down, reboots, crashes or is reset by its watchdog
while gdb has it running: gdb reports the end of the inferior (W exited
or X terminated, with xenstub's message), xenstub exits on its own with
status 0, and the domain has no ring and no monitor left."""

import re

import live_support as L

CASES = [
    # reason, gdb's line, xenstub's message
    ("poweroff", r"\[Inferior 1 \(Remote target\) exited normally\]", r"the guest powered off"),
    ("reboot", r"\[Inferior 1 \(Remote target\) exited with code 01\]", r"the guest rebooted"),
    ("crash", r"Program terminated with signal SIGSEGV", r"the guest crashed"),
    ("watchdog", r"Program terminated with signal SIGABRT", r"the guest was reset by its watchdog"),
]


def _one(ctx, reason, gdb_re, msg_re, breakpoint):
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
        L.wait_loops(sim, dom, 2)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
        g = L.gdb_session(ctx, sim, remote=sock)
        what = "%s%s" % (reason, " (a breakpoint planted)" if breakpoint else "")
        try:
            if breakpoint:
                g.cmd("break *0x%x" % (L.CODE + 0x200))
            mark = g.mark()
            g.send("continue")
            s0 = sim.state(dom)
            sim.wait(dom, lambda s: all(v["counters"]["steps"] > w["counters"]["steps"] + 10
                                        for v, w in zip(s["vcpus"], s0["vcpus"])),
                     "the guest to run")
            sim.ctl("shutdown", dom, reason)
            m = g.wait_for(gdb_re, mark, 15)
            ctx.check(m is not None, "%s: gdb reports the end of the guest" % what, g.out[mark:][-1500:])
            ctx.check(re.search(r"xenstub: " + msg_re, g.out[mark:]) is not None,
                      "%s: gdb shows xenstub's message" % what, g.out[mark:][-1500:])
            rc = L.wait_exit(p, 15)
            ctx.check(rc == 0, "%s: xenstub exits by itself with status 0" % what, (rc, L.read_log(p)))
            log = L.read_log(p)
            ctx.check(not re.search(r"\b(error|failed)\b", log, re.I),
                      "%s: xenstub's teardown reports no failure" % what, log)
        finally:
            if p.poll() is None:
                # it missed the end of the guest: SIGTERM, so that it
                # still cleans up and the checks below are about this
                p.terminate()
                L.wait_exit(p, 30)
            g.kill()
        s = sim.state(dom)
        mon = [k for k, v in s["monitor"].items()
               if k not in ("port", "capabilities", "write_ctrlreg") and v]
        ctx.check(s["ring"] is None and not mon and s["paused"] == 0,
                  "%s: no ring, no monitor, no pause of ours left" % what,
                  {"ring": s["ring"], "monitor": mon, "paused": s["paused"]})
        ctx.check(all(v["vm_event_pause"] == 0 and not v["single_step"] for v in s["vcpus"]),
                  "%s: no vCPU held or single-stepping" % what,
                  [(v["state"], v["vm_event_pause"], v["single_step"]) for v in s["vcpus"]])
        if breakpoint:
            b = sim.ctl("read", dom, "--va", hex(L.CODE + 0x200), "--vcpu", 0, 1)["hex"]
            ctx.check(b != "cc", "%s: the int3 is gone" % what, b)


def test_poweroff(ctx):
    _one(ctx, *CASES[0], breakpoint=False)


def test_reboot(ctx):
    _one(ctx, *CASES[1], breakpoint=True)


def test_crash(ctx):
    _one(ctx, *CASES[2], breakpoint=False)


def test_watchdog(ctx):
    _one(ctx, *CASES[3], breakpoint=True)


def test_shutdown_seen_by_stdio_gdb(ctx):
    """The usual 'target remote | xenstub -' session: gdb's Python thread
    shuts the guest down while `continue` waits."""
    py = L.PY_STATE + r'''
import gdb, threading, time
def later():
    time.sleep(0.5)
    xsctl("shutdown", %(dom)s, "poweroff")
threading.Thread(target=later).start()
gdb.execute("continue")
print("AFTER", gdb.selected_inferior().pid)
'''
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: L.loop(L.CODE, L.SCRATCH, 1)})
        L.wait_loops(sim, dom, 2)
        r = ctx.gdb([], target="xen:web01", python=py % {"dom": dom}, env=L.ctl_env(sim),
                    merge_stderr=True, timeout=60)
        ctx.check("[Inferior 1 (Remote target) exited normally]" in r.out and
                  "xenstub: the guest powered off" in r.out and "AFTER 0" in r.out,
                  "gdb reports that the guest powered off", r.out[-1500:])
        s = sim.state(dom)
        ctx.check(s["ring"] is None and s["paused"] == 0, "no ring, no pause left",
                  {"ring": s["ring"], "paused": s["paused"]})
