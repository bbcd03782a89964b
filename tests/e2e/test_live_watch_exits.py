# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every way out of a session with watchpoints and hardware breakpoints
set leaves the xensim domain as found: every frame's permission and view,
no ring, no monitor setting, no pause, no vCPU held, memory as the guest
left it, and the guest running on. Ways out: gdb's detach and kill at a
watchpoint stop and at a hardware-breakpoint stop (the vCPU held before
its instruction), a dropped connection while stopped and while running,
and SIGTERM to xenstub while stopped and while running."""

import os
import signal
import subprocess

import harness
import live_support as L

W = L.SCRATCH + 0x2040
QUIET = L.SCRATCH + 0x2100      # on the watched frame; nobody writes it


def _programs():
    """Two vCPUs looping over the same values (memory is stable after one
    loop): vCPU 0 stores to W and beside it, vCPU 1 reads W and writes
    another frame."""
    p0 = L.Program(L.CODE)
    p0.store(W, 8, 0x600d)
    p0.store(W + 8, 8, 0x1)
    p0.load(W - 8, 8)
    hb = p0.nop()
    p0.loop()
    p1 = L.Program(L.CODE2)
    p1.load(W, 8)
    p1.store(L.SCRATCH + 0x10000, 8, 0x2)
    p1.loop()
    return {0: p0, 1: p1}, hb


def _setup(ctx, sim, name):
    progs, hb = _programs()
    dom = L.make_domain(ctx, sim, name)
    L.load_programs(sim, dom, progs, start=True)
    sim.wait(dom, lambda s: all(v["workload"]["loops"] >= 2 for v in s["vcpus"]),
             "the workload to loop")
    return dom, hb, L.snapshot(sim, dom)


def _left_as_found(ctx, sim, dom, before, what):
    after = L.snapshot(sim, dom)
    s = sim.state(dom)
    d = L.diff(before, after)
    ctx.check(not d, "%s: the domain is as found (access, views, monitor, vCPUs, memory)" % what, d)
    ctx.check(s["paused"] == 0 and s["ring"] is None and
              L.restricted(s) == {"host": [], "views": []} and
              all(v["state"] not in ("held", "paused") and v["vm_event_pause"] == 0
                  for v in s["vcpus"]),
              "%s: nothing paused or held, no ring, every frame rwx" % what,
              {"paused": s["paused"], "ring": s["ring"], "access": L.restricted(s),
               "vcpus": [(v["state"], v["vm_event_pause"]) for v in s["vcpus"]]})
    steps = [v["counters"]["steps"] for v in s["vcpus"]]
    try:
        sim.wait(dom, lambda t: all(v["counters"]["steps"] > n
                                    for v, n in zip(t["vcpus"], steps)),
                 "the guest to run on", timeout=30)
        ctx.check(True, "%s: the guest runs on" % what)
    except AssertionError as e:
        ctx.check(False, "%s: the guest runs on" % what, str(e))


def _gdb_way_out(ctx, how, point):
    with L.xensim.sim_for(ctx) as sim:
        dom, hb, before = _setup(ctx, sim, "out")
        cmd = "awatch *(long*)0x%x" % W if point == "watch" else "hbreak *0x%x" % hb
        r = L.gdb_live(ctx, sim, "out", [cmd, "continue", "info threads", how])
        ctx.check(("hit Hardware access" if point == "watch" else "hit Breakpoint 1") in r.out,
                  "%s at a %s stop: gdb stopped there" % (how, point), r)
        _left_as_found(ctx, sim, dom, before, "%s at a %s stop" % (how, point))


def test_detach_at_watch_stop(ctx):
    _gdb_way_out(ctx, "detach", "watch")


def test_kill_at_watch_stop(ctx):
    _gdb_way_out(ctx, "kill", "watch")


def test_detach_at_hbreak_stop(ctx):
    _gdb_way_out(ctx, "detach", "hbreak")


def test_kill_at_hbreak_stop(ctx):
    _gdb_way_out(ctx, "kill", "hbreak")


def _raw(ctx, sim, name):
    p, sock = ctx.start_xenstub("xen:" + name, args=["--once"], env=sim.env())
    c = harness.RawConnection(sock)
    c.cmd("?")
    return p, c


def _wait_exit(p):
    try:
        return p.wait(60)
    except subprocess.TimeoutExpired:
        return None


def _raw_way_out(ctx, how, state):
    """state: 'stopped-watch', 'stopped-hbreak' or 'running'; how:
    'drop' (the connection closes) or 'sigterm' (to xenstub)."""
    with L.xensim.sim_for(ctx) as sim:
        dom, hb, before = _setup(ctx, sim, "raw")
        p, c = _raw(ctx, sim, "raw")
        what = "%s while %s" % (how, state)
        # an access watch nobody hits: every access to W's frame traps
        ok = c.cmd("Z4,%x,8" % QUIET) == b"OK"
        if state == "stopped-hbreak":
            ok = ok and c.cmd("Z1,%x,1" % hb) == b"OK"
        elif state == "stopped-watch":
            ok = ok and c.cmd("Z2,%x,8" % W) == b"OK"
        ctx.check(ok, "%s: the points are set" % what)
        if state.startswith("stopped"):
            # W is written with the value it holds: a watch stop all the same
            reply = c.cmd("vCont;c")
            want = b"watch:" if state == "stopped-watch" else b"hwbreak"
            ctx.check(want in reply, "%s: the stop reply has %r" % (what, want), reply)
        else:
            # a running guest whose accesses to the watched frames pass
            e0 = sim.state(dom)["vcpus"][0]["counters"]["emulated"]
            c.send_raw(c.frame("vCont;c"))
            sim.wait(dom, lambda s: s["vcpus"][0]["counters"]["emulated"] > e0 + 3,
                     "accesses to pass through the watched frame")
        if how == "drop":
            c.close()
        else:
            os.kill(p.pid, signal.SIGTERM)
        rc = _wait_exit(p)
        # after a signal, the conventional 128 + signal number
        ctx.check(rc == (0 if how == "drop" else 128 + signal.SIGTERM),
                  "%s: xenstub exits (status %s)" % (what, rc),
                  "status %s\n%s" % (rc, open(p.log_path).read()[-2000:]))
        if how != "drop":
            c.close()
        _left_as_found(ctx, sim, dom, before, what)


def test_drop_while_stopped_at_watch(ctx):
    _raw_way_out(ctx, "drop", "stopped-watch")


def test_drop_while_stopped_at_hbreak(ctx):
    _raw_way_out(ctx, "drop", "stopped-hbreak")


def test_drop_while_running(ctx):
    _raw_way_out(ctx, "drop", "running")


def test_sigterm_while_stopped_at_hbreak(ctx):
    _raw_way_out(ctx, "sigterm", "stopped-hbreak")


def test_sigterm_while_running(ctx):
    _raw_way_out(ctx, "sigterm", "running")
