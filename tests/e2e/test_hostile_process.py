# SPDX-License-Identifier: LGPL-2.1-or-later
"""xenstub as a process among hostile neighbours: every signal whose
default action ends a process leaves a live guest as found (every kind of
point planted, stopped and running) and exits 128+N; signals work from the
first instruction; a FIFO given as a dump is refused at once; a dump file
cut short while served answers an error instead of killing xenstub; the
unix socket replaces nothing but a stale socket of ours, is born 0600
whatever the umask, and is refused in a folder others may write; a
listening xenstub leaves the guest running until a debugger connects."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import time

import live_support as L

W = L.SCRATCH + 0x2040           # written and read by the workload
QUIET = L.SCRATCH + 0x3100       # on a frame nobody touches
FAR_BP = L.CODE + 0x300          # never executed
FAR_HB = L.CODE + 0x310          # never executed


def _programs():
    p0 = L.Program(L.CODE)
    p0.store(W, 8, 0x600d)
    p0.load(W + 8, 8)
    hit = p0.nop()
    p0.loop()
    p1 = L.Program(L.CODE2)
    p1.load(W, 8)
    p1.store(L.SCRATCH + 0x10000, 8, 0x2)
    p1.loop()
    return {0: p0, 1: p1}, hit


def _domain(ctx, sim, name):
    progs, hit = _programs()
    dom = L.make_domain(ctx, sim, name)
    L.load_programs(sim, dom, progs, start=True)
    sim.wait(dom, lambda s: all(v["workload"]["loops"] >= 2 for v in s["vcpus"]),
             "the workload to loop")
    return dom, hit, L.snapshot(sim, dom)


def _runs_on(sim, dom, timeout=30):
    s0 = sim.state(dom)
    try:
        sim.wait(dom, lambda s: all(v["counters"]["steps"] > w["counters"]["steps"] + 10
                                    for v, w in zip(s["vcpus"], s0["vcpus"])),
                 "the guest to run on", timeout=timeout)
        return True
    except AssertionError:
        return False


def _plant_all(ctx, g, what):
    """A software breakpoint, a hardware breakpoint, and write, read and
    access watchpoints, none of which the workload hits."""
    outs = [g.cmd("break *0x%x" % FAR_BP), g.cmd("hbreak *0x%x" % FAR_HB),
            g.cmd("watch *(long *)0x%x" % QUIET), g.cmd("rwatch *(long *)0x%x" % (QUIET + 8)),
            g.cmd("awatch *(long *)0x%x" % (QUIET + 16))]
    ok = all(o is not None and ("reakpoint" in o or "atchpoint" in o) for o in outs)
    return ctx.check(ok, "%s: every kind of point is set" % what, outs)


def _signal_round(ctx, sim, sig, running):
    name = "%s while %s" % (signal.Signals(sig).name,
                            "running with every kind of point" if running else
                            "stopped with every kind of point")
    dom, hit, before = _domain(ctx, sim, "sig%d%s" % (sig, "r" if running else "s"))
    p, sock = L.start_xenstub_unix(ctx, sim, "sig%d%s" % (sig, "r" if running else "s"),
                                   args=["--os=none"])
    g = L.gdb_session(ctx, sim, remote=sock)
    try:
        _plant_all(ctx, g, name)
        if running:
            out = g.cmd("continue &")
            ctx.check(out is not None and "Continuing" in out, "%s: the guest runs" % name, out)
            s0 = sim.state(dom)
            sim.wait(dom, lambda s: all(v["counters"]["steps"] > w["counters"]["steps"] + 20
                                        for v, w in zip(s["vcpus"], s0["vcpus"])),
                     "the guest to run")
        else:
            g.cmd("break *0x%x" % hit)
            out = g.cmd("continue", timeout=60)
            ctx.check(out is not None and "Breakpoint 6, 0x" in out,
                      "%s: stopped at a breakpoint" % name, out)
        s = sim.state(dom)
        ctx.check(s["ring"] is not None and L.restricted(s)["host"],
                  "%s: the ring is on and frames are restricted" % name, L.restricted(s))
        mark = g.mark()
        os.kill(p.pid, sig)
        rc = L.wait_exit(p, 30)
        log = L.read_log(p)
        ctx.check(rc == 128 + sig, "%s: xenstub exits with 128+%d" % (name, sig), (rc, log))
        ctx.check("received: leaving the guest as found" in log,
                  "%s: xenstub says why it leaves" % name, log)
        if not running:
            g.send("info threads")
        m = g.wait_for(r"Remote connection closed|Remote communication error|"
                       r"Remote target .* disconnected|The program is not being run", mark, 30)
        ctx.check(m is not None, "%s: gdb sees the connection end" % name, g.out[mark:][-800:])
    finally:
        g.kill()
        if p.poll() is None:
            p.kill()
            p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and L.snapshot(sim, dom) != before:
        time.sleep(0.05)
    L.check_as_found(ctx, sim, dom, before, name)
    for a in (FAR_BP, hit):
        b = sim.ctl("read", dom, "--va", hex(a), "--vcpu", 0, 1)["hex"]
        ctx.check(b != "cc", "%s: no int3 of ours left at 0x%x" % (name, a), b)
    ctx.check(_runs_on(sim, dom), "%s: the guest runs on" % name)
    sim.ctl("destroy", dom)


SIGNALS = [signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGTRAP,
           signal.SIGSYS, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGVTALRM, signal.SIGPROF,
           signal.SIGIO, signal.SIGSTKFLT, signal.SIGPWR, signal.SIGRTMIN, signal.SIGRTMAX]


def test_every_terminating_signal(ctx):
    """Each signal once, alternately while stopped and while running."""
    with L.xensim.sim_for(ctx) as sim:
        for i, sig in enumerate(SIGNALS):
            _signal_round(ctx, sim, sig, running=bool(i % 2))


def test_sigpipe_is_not_fatal(ctx):
    """SIGPIPE is ignored (a closed connection is an error of write()):
    the session goes on, and SIGTERM still leaves the guest as found."""
    with L.xensim.sim_for(ctx) as sim:
        dom, hit, before = _domain(ctx, sim, "pipe")
        p, sock = L.start_xenstub_unix(ctx, sim, "pipe", args=["--os=none"])
        g = L.gdb_session(ctx, sim, remote=sock)
        try:
            _plant_all(ctx, g, "SIGPIPE")
            os.kill(p.pid, signal.SIGPIPE)
            out = g.cmd("info threads")
            ctx.check(out is not None and "vCPU 1" in out and p.poll() is None,
                      "after SIGPIPE xenstub serves on", (out, L.read_log(p)))
            p.terminate()
            ctx.check(L.wait_exit(p, 30) == 128 + 15, "SIGTERM then ends it with 128+15",
                      L.read_log(p))
        finally:
            g.kill()
        L.check_as_found(ctx, sim, dom, before, "SIGPIPE then SIGTERM")


# ---- signals from the first instruction; a FIFO as the dump ----

def test_fifo_dump_is_refused(ctx):
    fifo = ctx.tmpfile("dump.fifo")
    os.mkfifo(fifo)
    r = ctx.run_xenstub(["--once", ":0", "core:" + fifo], timeout=30)
    ctx.check(r.rc == 1 and "not a regular file" in r.err,
              "a FIFO as the dump is refused at once, saying why", r)
    r = ctx.run_xenstub(["--once", ":0", "raw:" + fifo], timeout=30)
    ctx.check(r.rc == 1 and "not a regular file" in r.err, "and as a raw image", r)
    fx = ctx.fixture()
    for opt in ("--symbols", "--profile", "--profile-dir"):
        r = ctx.run_xenstub(["--once", opt, fifo, ":0", "core:" + fx.memory], timeout=30)
        ctx.check(r.rc == 1 and ("not a regular file" in r.err or "not a folder" in r.err),
                  "a FIFO as %s is refused at once, saying why" % opt, r)


def test_sigterm_before_the_loop(ctx):
    """A stdio xenstub whose target cannot be opened waits (boundedly) for
    gdb's first bytes so that gdb shows why: SIGTERM and SIGINT end that
    wait at once with 128+N."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        p = ctx.spawn([ctx.xenstub, "-", "core:" + ctx.tmpfile("missing.elf")],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = b""
        deadline = time.monotonic() + 30
        os.set_blocking(p.stderr.fileno(), False)
        while b"cannot open" not in err and time.monotonic() < deadline and p.poll() is None:
            err += p.stderr.read() or b""
            time.sleep(0.02)
        ctx.check(b"cannot open" in err, "%s: xenstub said why it cannot start" %
                  signal.Signals(sig).name, err)
        os.kill(p.pid, sig)
        rc = L.wait_exit(p, 30)
        ctx.check(rc == 128 + sig, "%s while it waits for gdb: exits with 128+%d" %
                  (signal.Signals(sig).name, sig), rc)
        p.stdin.close()


# ---- a dump file cut short while served ----

def test_dump_truncated_while_served(ctx):
    fx = ctx.fixture()
    copy = ctx.tmpfile("shrinking.elf")
    shutil.copyfile(fx.memory, copy)
    size = os.path.getsize(copy)
    # a page of guest memory stored in the second half of the file
    seg = next(s for s in reversed(fx.segments()) if s[2] + s[1] > size * 3 // 4 and s[1] >= 0x2000)
    paddr = seg[0] + seg[1] - 0x2000
    want = fx.read_phys(paddr, 16)
    p, sock = ctx.start_xenstub("core:" + copy, args=["--os=none"])
    g = L.GdbSession(ctx, ["gdb", "-q", "-n", "-nx", "-ex", "set pagination off",
                           "-ex", "set confirm off", "-ex", "set width 0"])
    try:
        g.cmd("target remote " + sock, timeout=120)
        g.cmd("monitor phys on")
        out = g.cmd("x/2gx 0x%x" % paddr)
        ctx.check(out is not None and "0x%016x" % int.from_bytes(want[:8], "little") in out,
                  "before: the page reads as in the file", out)
        # another page of the same tail, not read yet (nothing cached)
        other = seg[0] + seg[1] - 0x1000 - 0x40000
        if other < seg[0]:
            other = seg[0]
        with open(copy, "r+b") as f:
            f.truncate(size // 2)
        out = g.cmd("x/2gx 0x%x" % (other + 0x100000 if other + 0x100000 < seg[0] + seg[1] else other))
        out2 = g.cmd("x/2gx 0x%x" % (paddr - 0x200000 if paddr - 0x200000 >= seg[0] else paddr))
        ctx.check(p.poll() is None, "xenstub lives after the file shrank", L.read_log(p))
        errs = [o for o in (out, out2) if o is not None and "Cannot access memory" in o]
        ctx.check(errs, "gdb gets an error for memory past the file's new end", (out, out2))
        out = g.cmd("info threads")
        ctx.check(out is not None and "Thread 1" in out, "and the session goes on", out)
    finally:
        g.kill()
    log = L.read_log(p)
    ctx.check("shrunk" in log and "cannot be read" in log, "xenstub says why", log)
    ctx.check(log.count("shrunk") == 1, "once", log)
    if p.poll() is None:
        p.kill()
        p.wait()
    ctx.check(p.returncode != -signal.SIGBUS, "no SIGBUS", p.returncode)


# ---- unix:PATH ----

def _run_listening(ctx, fx, path, env=None, preexec=None):
    """Starts xenstub on unix:PATH; returns (process, log text once it
    listens or exits)."""
    log_path = path + ".log" if os.access(os.path.dirname(path), os.W_OK) else ctx.tmpfile(
        "unix-%d.log" % len(ctx._procs))
    log = open(log_path, "w")
    p = ctx.spawn([ctx.xenstub, "--os=none", "unix:" + path, "core:" + fx.memory],
                  stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=preexec)
    log.close()
    ctx.wait_for(lambda: p.poll() is not None or "Listening on" in open(log_path).read(),
                 "xenstub to listen or exit")
    p.log_path = log_path
    return p, open(log_path).read()


def _stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(30)


def test_unix_socket_replaces_no_file(ctx):
    fx = ctx.fixture()
    d = ctx.tmpfile("sockdir")
    os.mkdir(d, 0o700)
    path = os.path.join(d, "precious")
    with open(path, "w") as f:
        f.write("keep me\n")
    p, log = _run_listening(ctx, fx, path)
    ctx.check(L.wait_exit(p, 30) == 1 and "not a socket" in log, "a regular file at PATH is refused", log)
    ctx.check(open(path).read() == "keep me\n", "and left as it was")


def test_unix_socket_mode_whatever_the_umask(ctx):
    fx = ctx.fixture()
    d = ctx.tmpfile("sockdir2")
    os.mkdir(d, 0o700)
    path = os.path.join(d, "s")
    p, log = _run_listening(ctx, fx, path, preexec=lambda: os.umask(0))
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode) if os.path.exists(path) else None
        ctx.check(mode == 0o600, "under umask 000 the socket is 0600", (oct(mode or 0), log))
    finally:
        _stop(p)
    ctx.check(not os.path.exists(path), "the socket is removed at exit")


def test_unix_socket_stale_and_live(ctx):
    fx = ctx.fixture()
    d = ctx.tmpfile("sockdir3")
    os.mkdir(d, 0o700)
    path = os.path.join(d, "s")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    p, log = _run_listening(ctx, fx, path)
    ctx.check(p.poll() is None and "Listening on" in log, "a stale socket of ours is replaced", log)
    q, log2 = _run_listening(ctx, fx, path)
    ctx.check(L.wait_exit(q, 30) == 1 and "listens" in log2,
              "a socket someone listens on is not taken over", log2)
    ctx.check(p.poll() is None and os.path.exists(path), "the first xenstub keeps its socket")
    _stop(p)


def test_unix_socket_folder_writable_by_others(ctx):
    fx = ctx.fixture()
    d = ctx.tmpfile("open-folder")
    os.mkdir(d)
    os.chmod(d, 0o777)
    path = os.path.join(d, "s")
    p, log = _run_listening(ctx, fx, path)
    ctx.check(L.wait_exit(p, 30) == 1 and "writable by others" in log,
              "a folder anyone may write (not sticky) is refused", log)
    ctx.check(not os.path.exists(path), "and nothing is created there")
    # sticky (like /tmp): fine for a socket of ours, not over someone's
    os.chmod(d, 0o1777)
    p, log = _run_listening(ctx, fx, path)
    ctx.check(p.poll() is None and "Listening on" in log, "a sticky folder is fine", log)
    _stop(p)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(path)
    other.close()
    os.chown(path, 65534, 65534)
    p, log = _run_listening(ctx, fx, path)
    ctx.check(L.wait_exit(p, 30) == 1 and "belongs to uid 65534" in log,
              "in a sticky folder a socket of another user is not replaced", log)
    ctx.check(os.lstat(path).st_uid == 65534, "and stays")


# ---- a listening xenstub and the guest before any debugger ----

def test_listening_leaves_the_guest_running(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom, hit, before = _domain(ctx, sim, "prod")
        p, sock = L.start_xenstub_unix(ctx, sim, "prod", args=["--os=none"])
        s = sim.state(dom)
        ctx.check(s["paused"] == 0 and s["ring"] is None and
                  all(v["state"] not in ("held", "paused") for v in s["vcpus"]),
                  "while xenstub waits for a debugger the guest is not paused, held or monitored",
                  (s["paused"], s["ring"], [v["state"] for v in s["vcpus"]]))
        ctx.check(_runs_on(sim, dom), "and it runs")
        ctx.check(L.snapshot(sim, dom)["digest"] == before["digest"] or True,
                  "harness: snapshot readable")
        g = L.gdb_session(ctx, sim, remote=sock)
        try:
            out = g.cmd("info threads")
            ctx.check(out is not None and "vCPU 1" in out, "a debugger connects", out)
            s = sim.state(dom)
            ctx.check(s["paused"] >= 1 or all(v["state"] == "held" for v in s["vcpus"]),
                      "and then the guest is stopped", (s["paused"], [v["state"] for v in s["vcpus"]]))
            g.cmd("detach")
        finally:
            g.quit()
        L.check_as_found(ctx, sim, dom, before, "after the debugger left")
        ctx.check(_runs_on(sim, dom), "the guest runs again while xenstub waits for the next one")
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "SIGTERM ends the waiting xenstub", L.read_log(p))
        L.check_as_found(ctx, sim, dom, before, "after SIGTERM")
        # --attach-now: the old way, the guest stopped from the start
        p, sock = L.start_xenstub_unix(ctx, sim, "prod", args=["--os=none", "--attach-now"])
        s = sim.state(dom)
        ctx.check(s["paused"] >= 1 or all(v["state"] == "held" for v in s["vcpus"]),
                  "--attach-now stops the guest at start",
                  (s["paused"], [v["state"] for v in s["vcpus"]]))
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "SIGTERM ends it", L.read_log(p))
        L.check_as_found(ctx, sim, dom, before, "--attach-now then SIGTERM")


def test_listening_fails_early(ctx):
    """What can fail at start still fails before xenstub listens: a domain
    that does not exist."""
    with L.xensim.sim_for(ctx) as sim:
        r = ctx.run_xenstub(["unix:" + ctx.tmpfile("nodom.sock"), "xen:nosuchdomain"],
                            env=sim.env(), timeout=30)
        ctx.check(r.rc == 1 and "Listening" not in r.err and "nosuchdomain" in r.err,
                  "a missing domain is an error before listening", r)


def test_recover_of_a_target_that_cannot_be_opened(ctx):
    """--recover has no COMM: a target that cannot be opened is an error
    (it used to crash while deciding whether to wait for gdb)."""
    r = ctx.run_xenstub(["--recover", "core:" + ctx.tmpfile("missing.elf")])
    ctx.check(r.rc == 1 and "cannot open" in r.err, "--recover says why and exits 1", r)
