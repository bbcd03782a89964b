# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every way out of a live session leaves the domain exactly as found:
gdb's detach (at a breakpoint, after a stepi), kill, quit while the guest
runs, gdb killed with SIGKILL while stopped and while running, SIGINT,
SIGTERM and SIGHUP to xenstub while stopped at a breakpoint and while
running with breakpoints planted, and a fatal error (SIGSEGV). The
snapshot taken before attaching (the workload's own writes being stable)
must equal the one after: no pause, no ring, no monitor, no single-step,
no vCPU held, the same memory digest (so no int3 left). vCPU 1 keeps
executing the guest's own int3 all along, so events keep arriving while
xenstub tears down: they must be answered too."""

import signal
import time

import live_support as L

BP = L.CODE + 5          # executed by vCPU 0 in every loop
FAR_BP = L.CODE + 0x300  # never executed


def _workloads():
    return {
        0: [{"rip": L.h(L.CODE), "len": 5, "access": "none"},
            {"rip": L.h(BP), "len": 5, "access": "write", "va": L.h(L.SCRATCH), "size": 8,
             "value": "0x5a5a"},
            {"rip": L.h(L.CODE + 10), "len": 1, "access": "read", "va": L.h(L.SCRATCH + 8),
             "size": 8},
            {"op": "loop"}],
        # the guest's own int3: a monitor event each time while xenstub
        # watches int3s, given back to the guest
        1: [{"rip": L.h(L.CODE + 0x40), "len": 4, "access": "write", "va": L.h(L.SCRATCH + 0x40),
             "size": 8, "value": "0x6b6b"},
            {"rip": L.h(L.GUEST_INT3), "len": 1, "access": "none"},
            {"op": "loop"}],
    }


def _setup(ctx, sim):
    dom = L.make_domain(ctx, sim, workloads=_workloads())
    L.wait_loops(sim, dom, 3)
    return dom, L.snapshot(sim, dom)


def _settle_and_check(ctx, sim, dom, before, what):
    """Bounded wait for the state to settle (an injected #BP on its way,
    a teardown finishing), then the checks."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = sim.state(dom)
        if s["ring"] is None and L.snapshot(sim, dom) == before:
            break
        time.sleep(0.05)
    L.check_as_found(ctx, sim, dom, before, what)
    b = sim.ctl("read", dom, "--va", hex(BP), "--vcpu", 0, 1)["hex"]
    f = sim.ctl("read", dom, "--va", hex(FAR_BP), "--vcpu", 0, 1)["hex"]
    ctx.check(b != "cc" and f != "cc", "%s: no int3 of ours left in guest memory" % what, (b, f))
    s0 = sim.state(dom)
    try:
        sim.wait(dom, lambda s: all(v["counters"]["steps"] > w["counters"]["steps"] + 10
                                    for v, w in zip(s["vcpus"], s0["vcpus"])),
                 "the guest to run on", timeout=20)
        runs = True
    except AssertionError:
        runs = False
    ctx.check(runs, "%s: the guest runs on" % what)


def _stop_at_bp(ctx, g, what):
    g.cmd("break *0x%x" % BP)
    g.cmd("break *0x%x" % FAR_BP)
    out = g.cmd("continue", timeout=60)
    ok = out is not None and "hit Breakpoint 1, 0x" in out
    ctx.check(ok, "%s: stopped at the breakpoint" % what, out)
    return ok


def _run_with_bps(ctx, sim, dom, g, what):
    """Breakpoints planted (one never reached), the guest running."""
    g.cmd("break *0x%x" % FAR_BP)
    s0 = sim.state(dom)
    out = g.cmd("continue &")
    ctx.check(out is not None and "Continuing" in out, "%s: the guest runs" % what, out)
    sim.wait(dom, lambda s: all(v["counters"]["steps"] > w["counters"]["steps"] + 20
                                for v, w in zip(s["vcpus"], s0["vcpus"])), "the guest to run")
    s = sim.state(dom)
    ctx.check(s["monitor"]["software_breakpoint"] and
              sim.ctl("read", dom, "--va", hex(FAR_BP), "--vcpu", 0, 1)["hex"] == "cc",
              "%s: the int3 is planted and xenstub watches int3s" % what, s["monitor"])


# ---- gdb's ways out ('target remote | xenstub -') ----

def test_detach_at_breakpoint(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            if _stop_at_bp(ctx, g, "detach"):
                out = g.cmd("detach")
                ctx.check(out is not None and "detached" in out, "gdb detaches", out)
        finally:
            g.quit()
        _settle_and_check(ctx, sim, dom, before, "detach at a breakpoint")


def test_detach_after_stepi(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            g.cmd("thread 2")
            out = g.cmd("stepi")
            ctx.check(out is not None and "0x" in out, "stepi on thread 2", out)
            out = g.cmd("stepi")
            out = g.cmd("detach")
            ctx.check(out is not None and "detached" in out, "gdb detaches", out)
        finally:
            g.quit()
        _settle_and_check(ctx, sim, dom, before, "detach after stepi")


def test_kill(ctx):
    """gdb's kill: xenstub detaches instead of destroying the guest."""
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        try:
            if _stop_at_bp(ctx, g, "kill"):
                out = g.cmd("kill")
                ctx.check(out is not None and "killed" in out, "gdb says the inferior is killed", out)
        finally:
            g.quit()
        s = sim.state(dom)
        ctx.check(not s["dying"] and not s["shutdown"], "the domain is not destroyed",
                  (s["dying"], s["shutdown"]))
        _settle_and_check(ctx, sim, dom, before, "kill")


def test_quit_while_running(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        _run_with_bps(ctx, sim, dom, g, "quit")
        rc = g.quit()
        ctx.check(rc == 0, "gdb quits", (rc, g.out[-800:]))
        _settle_and_check(ctx, sim, dom, before, "quit while running")


def test_gdb_killed_while_stopped(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        _stop_at_bp(ctx, g, "kill -9 gdb")
        g.kill()
        _settle_and_check(ctx, sim, dom, before, "gdb killed (SIGKILL) while stopped")


def test_gdb_killed_while_running(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        g = L.gdb_session(ctx, sim, "web01", args=["--os=none"])
        _run_with_bps(ctx, sim, dom, g, "kill -9 gdb")
        g.kill()
        _settle_and_check(ctx, sim, dom, before, "gdb killed (SIGKILL) while running")


# ---- xenstub on a unix socket: signals, fatal errors, dropped connections ----

def _unix_case(ctx, sig, running, want_rc, rounds=1):
    name = "%s while %s" % (signal.Signals(sig).name,
                            "running with breakpoints" if running else "stopped at a breakpoint")
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        for n in range(rounds):
            what = name if rounds == 1 else "%s (round %d of %d)" % (name, n + 1, rounds)
            if not _unix_round(ctx, sim, dom, before, sig, running, want_rc, what):
                break


def _unix_round(ctx, sim, dom, before, sig, running, want_rc, name):
    p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
    g = L.gdb_session(ctx, sim, remote=sock)
    try:
        if running:
            _run_with_bps(ctx, sim, dom, g, name)
        else:
            _stop_at_bp(ctx, g, name)
        mark = g.mark()
        p.send_signal(sig)
        rc = L.wait_exit(p, 30)
        ok = ctx.check(rc == want_rc, "%s: xenstub's exit status is %s" % (name, want_rc),
                       (rc, L.read_log(p)))
        log = L.read_log(p)
        if sig == signal.SIGSEGV:
            ctx.check("fatal error: leaving the guest as found" in log,
                      "%s: xenstub says it leaves the guest as found" % name, log)
        else:
            ctx.check("received: leaving the guest as found" in log,
                      "%s: xenstub says why it leaves" % name, log)
        if not running:
            g.send("info threads")  # an idle gdb notices at its next packet
        m = g.wait_for(r"Remote connection closed|Remote communication error|"
                       r"Remote target .* disconnected|The program is not being run", mark, 30)
        ctx.check(m is not None, "%s: gdb sees the connection end" % name, g.out[mark:][-800:])
    finally:
        g.kill()
        if p.poll() is None:
            p.kill()
            p.wait()
    _settle_and_check(ctx, sim, dom, before, name)
    return ok


def test_sigint_stopped(ctx):
    _unix_case(ctx, signal.SIGINT, False, 128 + 2)


def test_sigterm_stopped(ctx):
    _unix_case(ctx, signal.SIGTERM, False, 128 + 15)


def test_sighup_stopped(ctx):
    _unix_case(ctx, signal.SIGHUP, False, 128 + 1)


def test_sigint_running(ctx):
    _unix_case(ctx, signal.SIGINT, True, 128 + 2)


def test_sigterm_running(ctx):
    _unix_case(ctx, signal.SIGTERM, True, 128 + 15)


def test_sighup_running(ctx):
    _unix_case(ctx, signal.SIGHUP, True, 128 + 1)


def test_sigsegv_stopped(ctx):
    _unix_case(ctx, signal.SIGSEGV, False, -signal.SIGSEGV)


def test_sigsegv_running(ctx):
    """Several rounds: the handler must leave the guest as found wherever
    the signal lands, including in the middle of a call to the Xen
    libraries."""
    _unix_case(ctx, signal.SIGSEGV, True, -signal.SIGSEGV, rounds=8)


def test_dropped_connection_unix(ctx):
    """gdb killed while the guest runs with a breakpoint planted: xenstub
    (without --once) leaves the guest as found and waits for the next gdb,
    which attaches again."""
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
        g = L.gdb_session(ctx, sim, remote=sock)
        _run_with_bps(ctx, sim, dom, g, "dropped connection")
        g.kill()
        _settle_and_check(ctx, sim, dom, before, "dropped connection (unix socket)")
        ctx.check(p.poll() is None, "xenstub still listens", L.read_log(p))
        g2 = L.gdb_session(ctx, sim, remote=sock)
        try:
            out = g2.cmd("info threads")
            ctx.check(out is not None and 'Thread 2 "vCPU 1' in out, "a second gdb attaches", out)
            s = sim.state(dom)
            ctx.check(all(v["state"] == "held" for v in s["vcpus"]), "and the vCPUs are held again",
                      [v["state"] for v in s["vcpus"]])
            g2.cmd("detach")
        finally:
            g2.quit()
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "xenstub exits on SIGTERM", L.read_log(p))
        _settle_and_check(ctx, sim, dom, before, "after the second gdb")


def test_sigterm_before_any_gdb(ctx):
    """xenstub listening on a unix socket with --attach-now holds the
    guest from its start; SIGTERM before any gdb came gives it back as
    found. (Without --attach-now the guest is not held before a debugger
    connects: test_hostile_process.)"""
    with L.xensim.sim_for(ctx) as sim:
        dom, before = _setup(ctx, sim)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none", "--attach-now"])
        s = sim.state(dom)
        ctx.check(s["paused"] >= 1 or all(v["state"] == "held" for v in s["vcpus"]),
                  "xenstub holds the guest while it waits for gdb",
                  (s["paused"], [v["state"] for v in s["vcpus"]]))
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "xenstub exits with 128+15", L.read_log(p))
        _settle_and_check(ctx, sim, dom, before, "SIGTERM before any gdb")
