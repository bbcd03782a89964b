# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run control of a live guest on xensim: continue and interrupt (Ctrl-C,
and `interrupt` after `continue &`) with every vCPU held afterwards;
stepi on thread 2 with scheduler-locking on (only vCPU 1 moves) and off
(vCont;s:2;c: vCPU 1 moves one instruction, the stop is on thread 2);
stepi 5; continuing one thread (vCont;c:1) while the other stays held;
info threads after each stop."""

import json
import re
import time

import live_support as L


def _two_loops():
    return {0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)}


def _held_all(s):
    return all(v["state"] == "held" and v["vm_event_pause"] == 1 for v in s["vcpus"])


def _steps(s):
    return [v["counters"]["steps"] for v in s["vcpus"]]


def _threads_ok(ctx, out, what):
    ctx.check(out is not None and 'Thread 1 "vCPU 0' in out and 'Thread 2 "vCPU 1' in out and
              re.search(r'Thread \d+ "(swapper|init|kthreadd)', out) is not None,
              "%s: info threads shows both vCPUs and the guest's tasks" % what, (out or "")[:1500])


def test_interrupt_both_ways(ctx):
    """Ctrl-C (SIGINT to gdb) during a foreground continue, and the
    `interrupt` command after `continue &`: each stops the guest with
    SIGINT and leaves every vCPU held, the counters still."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_two_loops())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01")
        try:
            ctx.check(g.connect_out is not None and _held_all(sim.state(dom)),
                      "attached: every vCPU is held", g.connect_out)
            _threads_ok(ctx, g.cmd("info threads"), "after attach")
            for how in ("Ctrl-C", "interrupt"):
                s0 = sim.state(dom)
                mark = g.mark()
                if how == "Ctrl-C":
                    g.send("continue")
                else:
                    out = g.cmd("continue &")
                    ctx.check(out is not None and "Continuing" in out, "continue & returns at once", out)
                # running: the counters move (a bounded poll)
                sim.wait(dom, lambda s: all(a > b + 20 for a, b in zip(_steps(s), _steps(s0))),
                         "both vCPUs to run")
                ctx.check(sim.state(dom)["paused"] == 0, "%s: the guest runs unpaused" % how)
                if how == "Ctrl-C":
                    g.signal(2)
                else:
                    g.cmd("interrupt")
                m = g.wait_for(r'Thread \d+ "vCPU \d[^"]*" received signal SIGINT, Interrupt', mark, 30)
                ctx.check(m is not None, "%s: gdb reports SIGINT on a vCPU thread" % how, g.out[mark:])
                out = g.cmd("info threads")
                _threads_ok(ctx, out, "after %s" % how)
                s1 = sim.state(dom)
                ctx.check(_held_all(s1), "%s: every vCPU is held afterwards" % how,
                          [(v["state"], v["vm_event_pause"]) for v in s1["vcpus"]])
                time.sleep(0.3)
                s2 = sim.state(dom)
                ctx.check(_steps(s1) == _steps(s2), "%s: stopped means stopped (no step retired)" % how,
                          (_steps(s1), _steps(s2)))
            out = g.cmd("detach")
            ctx.check(out is not None and "detached" in out, "detach", out)
        finally:
            g.quit()
        L.check_as_found(ctx, sim, dom, before, "after two interrupts")


STEP = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("set scheduler-locking %(lock)s")
gdb.execute("set debug remote 1")
gdb.execute("thread 2")
s0 = state()
pc0 = int(gdb.parse_and_eval("$pc"))
gdb.execute("stepi")
gdb.execute("set debug remote 0")
s1 = state()
res["thread"] = gdb.selected_thread().num
res["pc"] = [pc0, int(gdb.parse_and_eval("$pc"))]
res["rip_xensim"] = int(s1["vcpus"][1]["regs"]["rip"], 16)
res["steps"] = [[v["counters"]["steps"] for v in s["vcpus"]] for s in (s0, s1)]
res["held"] = [(v["state"], v["vm_event_pause"]) for v in s1["vcpus"]]
gdb.execute("set debug remote 1")
s2 = state()
gdb.execute("stepi 5")
gdb.execute("set debug remote 0")
s3 = state()
res["steps5"] = [[v["counters"]["steps"] for v in s["vcpus"]] for s in (s2, s3)]
res["thread5"] = gdb.selected_thread().num
res["threads"] = gdb.execute("info threads", to_string=True)
print("RESULT " + _json.dumps(res))
'''


def _step_run(ctx, sim, dom, lock):
    r = L.gdb_live(ctx, sim, "web01", python=STEP % {"dom": dom, "lock": lock})
    out = r.out + r.err
    m = re.search(r"^RESULT (.*)$", r.out, re.M)
    if not ctx.check(m is not None, "scheduler-locking %s: the steps ran" % lock, r):
        return None, out
    return json.loads(m.group(1)), out


def test_stepi_thread2_locked(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_two_loops())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        d, out = _step_run(ctx, sim, dom, "on")
        if d is None:
            return
        (a0, a1), (b0, b1) = d["steps"]
        ctx.check(re.search(r"Sending packet: \$vCont;s:(p[0-9a-f]+\.)?2#", out) is not None,
                  "gdb sends vCont;s:2", re.findall(r"Sending packet: \$vCont[^#]*", out))
        ctx.check(b1 == a1 + 1 and b0 == a0, "stepi on thread 2: vCPU 1 retires one step, vCPU 0 none",
                  d["steps"])
        ctx.check(d["thread"] == 2, "the stop is on thread 2", d["thread"])
        ctx.check(d["pc"][1] == d["rip_xensim"] and d["pc"][1] != d["pc"][0],
                  "$pc moved to vCPU 1's new rip", [hex(x) for x in d["pc"]] + [hex(d["rip_xensim"])])
        ctx.check(all(h == ["held", 1] for h in d["held"]), "both vCPUs held after the step", d["held"])
        (c0, c1), (e0, e1) = d["steps5"]
        ctx.check(e1 == c1 + 5 and e0 == c0, "stepi 5: exactly 5 steps on vCPU 1, none on vCPU 0",
                  d["steps5"])
        ctx.check(d["thread5"] == 2, "stepi 5 ends on thread 2", d["thread5"])
        _threads_ok(ctx, d["threads"], "after stepi 5")
        L.check_as_found(ctx, sim, dom, before, "after stepping with scheduler-locking")


def test_stepi_thread2_unlocked(ctx):
    """gdb sends vCont;s:2;c: vCPU 1 steps once, vCPU 0 may run, the stop
    is reported on thread 2 (not a stop of vCPU 0)."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_two_loops())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        d, out = _step_run(ctx, sim, dom, "off")
        if d is None:
            return
        ctx.check(re.search(r"Sending packet: \$vCont;s:(p[0-9a-f]+\.)?2;c#", out) is not None,
                  "gdb sends vCont;s:2;c", re.findall(r"Sending packet: \$vCont[^#]*", out))
        (a0, a1), (b0, b1) = d["steps"]
        ctx.check(b1 == a1 + 1, "vCPU 1 retires exactly one step", d["steps"])
        ctx.check(b0 >= a0, "vCPU 0 may run meanwhile", d["steps"])
        ctx.check(d["thread"] == 2, "the stop is reported on thread 2", d["thread"])
        ctx.check(d["pc"][1] == d["rip_xensim"], "$pc is vCPU 1's rip", [hex(x) for x in d["pc"]])
        ctx.check(all(h == ["held", 1] for h in d["held"]), "both vCPUs held after the step", d["held"])
        (c0, c1), (e0, e1) = d["steps5"]
        ctx.check(e1 == c1 + 5, "stepi 5: exactly 5 steps on vCPU 1", d["steps5"])
        ctx.check(d["thread5"] == 2, "stepi 5 ends on thread 2", d["thread5"])
        L.check_as_found(ctx, sim, dom, before, "after stepping without scheduler-locking")


def test_continue_one_thread(ctx):
    """scheduler-locking on + continue on thread 1: gdb sends vCont;c:1;
    vCPU 0 runs, vCPU 1 stays held; Ctrl-C stops it sanely on thread 1."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_two_loops())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        g = L.gdb_session(ctx, sim, "web01")
        try:
            g.cmd("set scheduler-locking on")
            g.cmd("thread 1")
            g.cmd("set debug remote 1")
            s0 = sim.state(dom)
            mark = g.mark()
            g.send("continue")
            ok = True
            try:
                sim.wait(dom, lambda s: _steps(s)[0] > _steps(s0)[0] + 50, "vCPU 0 to run", timeout=20)
            except AssertionError:
                ok = False
            s1 = sim.state(dom)
            sent = re.findall(r"Sending packet: \$(vCont[^#]*)", g.out[mark:])
            ctx.check(any(re.match(r"vCont;c:(p[0-9a-f]+\.)?1$", p) for p in sent),
                      "gdb sends vCont;c:1", sent)
            ctx.check(ok and _steps(s1)[1] == _steps(s0)[1],
                      "vCPU 0 runs, vCPU 1 does not move", (_steps(s0), _steps(s1)))
            ctx.check(s1["vcpus"][1]["state"] == "held" and s1["paused"] == 0,
                      "vCPU 1 is held by its event, the domain is not paused",
                      (s1["paused"], [v["state"] for v in s1["vcpus"]]))
            g.signal(2)
            m = g.wait_for(r'Thread 1 "vCPU 0[^"]*" received signal SIGINT', mark, 30)
            ctx.check(m is not None, "Ctrl-C: the stop is on thread 1", g.out[mark:][-1500:])
            g.cmd("set debug remote 0")
            s2 = sim.state(dom)
            ctx.check(_held_all(s2), "every vCPU held after the stop",
                      [(v["state"], v["vm_event_pause"]) for v in s2["vcpus"]])
            ctx.check(_steps(s2)[1] == _steps(s0)[1], "vCPU 1 never moved", (_steps(s0), _steps(s2)))
            _threads_ok(ctx, g.cmd("info threads"), "after continuing one thread")
            # and everything runs again with scheduler-locking off
            g.cmd("set scheduler-locking off")
            mark = g.mark()
            g.send("continue")
            try:
                sim.wait(dom, lambda s: all(a > b + 20 for a, b in zip(_steps(s), _steps(s2))),
                         "both vCPUs to run", timeout=20)
                both = True
            except AssertionError:
                both = False
            ctx.check(both, "continue with scheduler-locking off runs both vCPUs again",
                      _steps(sim.state(dom)))
            g.signal(2)
            ctx.check(g.wait_for(r"received signal SIGINT", mark, 30) is not None,
                      "and Ctrl-C stops them", g.out[mark:][-800:])
        finally:
            g.quit()
        L.check_as_found(ctx, sim, dom, before, "after continuing one thread")


STEP_AMID_BP = L.PY_STATE + r'''
import gdb
res = {"stops": []}
def on_stop(ev):
    res["stops"].append([type(ev).__name__, getattr(ev, "stop_signal", None),
                         gdb.selected_thread().num, int(gdb.parse_and_eval("$pc"))])
gdb.events.stop.connect(on_stop)
gdb.execute("set scheduler-locking off")
s0 = state()
gdb.execute("break *%(addr)d")
for i in range(15):
    gdb.execute("thread 2")
    gdb.execute("stepi")
# when the last stepi ended with thread 1's breakpoint, vCPU 1's step may
# be done but not yet reported (xenstub reports it at the next resume, as
# gdbserver does): one more stepi, with no breakpoint left, settles it
gdb.execute("delete")
gdb.execute("thread 2")
gdb.execute("stepi")
s1 = state()
res["steps"] = [[v["counters"]["steps"] for v in s["vcpus"]] for s in (s0, s1)]
res["rip1"] = int(s1["vcpus"][1]["regs"]["rip"], 16)
print("RESULT " + _json.dumps(res))
'''


def test_stepi_while_another_vcpu_hits_breakpoints(ctx):
    """stepi on thread 2 without scheduler-locking while vCPU 0 keeps
    hitting a breakpoint: the breakpoint stops are thread 1's, thread 2's
    stops are steps (never a spurious signal), and vCPU 1 retired exactly
    as many instructions as gdb saw it step."""
    bp = L.CODE + 3
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_two_loops())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=STEP_AMID_BP % {"dom": dom, "addr": bp},
                       args=["--os=none"])
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the session ran", r):
            return
        d = json.loads(m.group(1))
        stops = d["stops"]
        bps = [s for s in stops if s[0] == "BreakpointEvent"]
        steps2 = [s for s in stops if s[0] != "BreakpointEvent"]
        ctx.check(all(s[2] == 1 and s[3] == bp for s in bps) and len(bps) >= 2,
                  "breakpoint stops: thread 1 at 0x%x (%d of them)" % (bp, len(bps)), stops)
        ctx.check(all(s[2] == 2 and s[1] is None for s in steps2),
                  "every other stop is a step of thread 2, no signal", steps2)
        (a0, a1), (b0, b1) = d["steps"]
        ctx.check(b1 - a1 == len(steps2) and steps2 and steps2[-1][3] == d["rip1"],
                  "vCPU 1 retired exactly one instruction per reported step",
                  {"retired": b1 - a1, "step stops": len(steps2)})
        ctx.check("SIGTRAP" not in r.out, "no spurious SIGTRAP", r.out[-800:])
        L.check_as_found(ctx, sim, dom, before, "after stepping amid breakpoint hits")


TASK_STEP = L.PY_STATE + r'''
import gdb
res = {"signals": []}
def on_stop(ev):
    res["signals"].append([getattr(ev, "stop_signal", None), gdb.selected_thread().num])
gdb.events.stop.connect(on_stop)
gdb.execute("set scheduler-locking on")
import re
listing = gdb.execute("info threads", to_string=True)
rows = [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^[ *]+(\d+)\s+(Thread .*)$", listing, re.M)]
def find(pred):
    for num, text in rows:
        if num > 2 and pred(text):
            return num
    return None
running = find(lambda d: "running on vCPU 0" in d)
sleeping = find(lambda d: re.search(r'" [SI]\)', d) is not None)
res["running"], res["sleeping"] = running, sleeping
gdb.execute("thread %%d" %% sleeping)
try:
    res["sleep_step"] = gdb.execute("stepi", to_string=True)
except gdb.error as e:
    res["sleep_step"] = "ERROR " + str(e)
res["signals"] = []
s0 = state()
gdb.execute("thread %%d" %% running)
gdb.execute("stepi")
s1 = state()
res["after_thread"] = gdb.selected_thread().num
res["pc"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("thread 1")
# gdb caches registers per thread and does not know that the task's thread
# and vCPU 0's thread are the same CPU: after a step of only the task's
# thread, vCPU 0's thread needs its cache flushed (README says so)
gdb.execute("maint flush register-cache")
res["pc_vcpu_thread"] = int(gdb.parse_and_eval("$pc"))
res["rip"] = int(s1["vcpus"][0]["regs"]["rip"], 16)
res["steps"] = [[v["counters"]["steps"] for v in s["vcpus"]] for s in (s0, s1)]
print("RESULT " + _json.dumps(res))
'''


def test_stepi_on_task_threads(ctx):
    """With OS-awareness, the task running on vCPU 0 is a thread of its
    own: stepi on it steps vCPU 0 once and completes like any stepi (no
    SIGTRAP on another thread), and every thread of vCPU 0 shows the new
    pc; stepi on a sleeping task is refused with a reason."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads=_two_loops())
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        r = ctx.gdb([], target="xen:web01", python=TASK_STEP % {"dom": dom}, env=L.ctl_env(sim),
                    merge_stderr=True)
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the task-thread session ran", r):
            return
        d = json.loads(m.group(1))
        if not ctx.check(d["running"] and d["sleeping"], "a running and a sleeping task thread exist", d):
            return
        ctx.check(re.search(r"not running on a vCPU", r.out) is not None,
                  "stepi on a sleeping task: refused, it is not running on a vCPU", d["sleep_step"])
        (a0, a1), (b0, b1) = d["steps"]
        ctx.check(b0 == a0 + 1 and b1 == a1, "stepi on the running task steps vCPU 0 once", d["steps"])
        ctx.check(d["signals"] == [[None, d["running"]]] and "SIGTRAP" not in r.out,
                  "the step completes on the stepped thread, without a SIGTRAP",
                  (d["signals"], d["running"], r.out[-600:]))
        ctx.check(d["pc"] == d["rip"], "the stepped thread shows the new pc",
                  [hex(d["pc"]), hex(d["rip"])])
        ctx.check(d["pc_vcpu_thread"] == d["rip"],
                  "vCPU 0's own thread shows the new pc too (it is the same vCPU; after gdb's cache flush)",
                  [hex(d["pc_vcpu_thread"]), hex(d["rip"])])
        L.check_as_found(ctx, sim, dom, before, "after stepping a task thread")
