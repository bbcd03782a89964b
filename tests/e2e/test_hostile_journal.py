# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile journals: root never writes through a link planted where a
journal goes, nor uses a journal folder others may write; `--recover`
applies nothing xenstub could not have written (the guest's own int3 is
not rewritten, no impossible debug register or access value, no flood of
unpauses), works in bounded time on a huge journal and refuses one past
the cap; a dead xenstub whose pid now belongs to another process is
recognised as dead (its journal is not locked), and a new xenstub does
not attach past its journal."""

import os
import signal
import time

import live_support as L


def _attach_now(ctx):
    """--attach-now, where xenstub has it (a xenstub without the option
    attaches at start anyway)."""
    r = ctx.run_xenstub(["--help"])
    return ["--attach-now"] if "--attach-now" in r.out else []


def _key(ctx, sim, name, jdir):
    """The journal's name for domain name: a xenstub that attached
    (--attach-now) is killed (SIGKILL), its journal read, and the guest
    recovered. Returns (key, the journal's text)."""
    env = sim.env({"XENSTUB_JOURNAL_DIR": jdir})
    p, sock = ctx.start_xenstub("xen:" + name, args=_attach_now(ctx) + ["--os=none"], env=env)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    names = [n for n in os.listdir(jdir) if n.endswith(".journal")]
    text = open(os.path.join(jdir, names[0])).read() if names else ""
    r = ctx.run_xenstub(["--recover", "xen:" + name], env=env)
    if r.rc != 0:
        raise AssertionError("recovery of the key probe failed: %r" % r)
    return names[0][:-len(".journal")], text


def _domain(ctx, sim, name="web01"):
    dom = L.make_domain(ctx, sim, name, workloads={
        0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
    L.wait_running(sim, dom)
    return dom


def _guest_int3_phys(ctx):
    fx = ctx.fixture()
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    return fx.walk(cr3, L.GUEST_INT3)["paddr"]


def test_no_write_through_a_planted_link(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        probe = ctx.tmpfile("jprobe")
        key, _ = _key(ctx, sim, "web01", probe)
        victim = ctx.tmpfile("victim")
        for mode, what in ((0o1777, "a sticky folder anyone may write"),
                           (0o777, "a folder anyone may write"),
                           (0o700, "our own folder (a link planted by a race)")):
            with open(victim, "w") as f:
                f.write("precious\n")
            d = ctx.tmpfile("jdir-%o" % mode)
            os.mkdir(d)
            os.chmod(d, mode)
            os.symlink(victim, os.path.join(d, key + ".journal"))
            p, sock = ctx.start_xenstub("xen:web01", args=_attach_now(ctx) + ["--os=none"],
                                        env=sim.env({"XENSTUB_JOURNAL_DIR": d}))
            p.terminate()
            rc = L.wait_exit(p, 30)
            log = L.read_log(p)
            ctx.check(open(victim).read() == "precious\n",
                      "%s: the link's target is not written" % what, open(victim).read()[:200])
            if mode != 0o700:
                ctx.check("writable by others" in log and "--journal-dir" in log,
                          "%s: xenstub says why it does not journal there" % what, log)
            else:
                ctx.check("link" in log, "%s: xenstub says a link is in the way" % what, log)
            ctx.check(rc == 128 + 15, "%s: xenstub still serves and exits on SIGTERM" % what, (rc, log))
        d = ctx.tmpfile("jdir-other")
        os.mkdir(d, 0o700)
        os.chown(d, 65534, 65534)
        p, sock = ctx.start_xenstub("xen:web01", args=_attach_now(ctx) + ["--os=none"],
                                    env=sim.env({"XENSTUB_JOURNAL_DIR": d}))
        p.terminate()
        L.wait_exit(p, 30)
        ctx.check("belongs to uid 65534" in L.read_log(p),
                  "a folder of another user is not used, saying why", L.read_log(p))
        r = ctx.run_xenstub(["--journal-dir", ctx.tmpfile("jdir-777"), "--recover", "xen:web01"],
                            env=sim.env())
        ctx.check(r.rc == 1 and "writable by others" in r.err,
                  "--recover refuses a journal in a folder anyone may write", r)
        L.check_as_found(ctx, sim, dom, before, "after the planted links")


def _crafted(ctx, sim, key, body, name):
    d = ctx.tmpfile("jc-" + name)
    os.mkdir(d, 0o700)
    with open(os.path.join(d, key + ".journal"), "w") as f:
        f.write("xenstub-journal 1 pid=999999 target=%s\n" % key)
        f.write(body)
    os.chmod(os.path.join(d, key + ".journal"), 0o600)
    return d


def test_recover_applies_only_what_xenstub_writes(ctx):
    """Crafted journals, while another xenstub holds the guest stopped
    (its pause must not be undone by someone else's journal)."""
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim)
        key, real = _key(ctx, sim, "web01", ctx.tmpfile("jprobe"))
        ctx.check(real.startswith("xenstub-journal 1 pid="), "harness: a real journal", real)
        gpa = _guest_int3_phys(ctx)
        code = sim.ctl("read", dom, "--gpa", hex(gpa), 1)["hex"]
        ctx.check(code == "cc", "harness: the guest's own int3 is at 0x%x" % gpa, code)
        holder, sock = ctx.start_xenstub("xen:web01", args=_attach_now(ctx) + ["--os=none"],
                                         env=sim.env({"XENSTUB_JOURNAL_DIR": ctx.tmpfile("jholder")}))
        before = L.snapshot(sim, dom)
        paused = sim.state(dom)["paused"]
        ctx.check(paused >= 1, "harness: the guest is held by another xenstub", paused)
        cases = [
            ("an int3 'planted' in a guest xenstub had not stopped", "int3 %x 90\n" % gpa),
            ("an original byte that is no byte", "pause\nint3 %x 190\nunpause\n" % gpa),
            ("a DR7 no vCPU can hold", "dr 0 0 0 0 0 ffff0ff0 ffffffffffffffff\n"),
            ("an access value Xen does not have", "ring on\naccess 0 7000 ff\n"),
            ("a flood of unpauses", "pause\n" * 50),
        ]
        for what, body in cases:
            d = _crafted(ctx, sim, key, body, str(len(what)))
            r = ctx.run_xenstub(["--journal-dir", d, "--recover", "xen:web01"], env=sim.env())
            ctx.check(r.rc == 1 and "nothing of it is used" in r.err,
                      "%s: --recover refuses the journal, saying why" % what, r)
            after = L.snapshot(sim, dom)
            s = sim.state(dom)
            ctx.check(after == before and s["paused"] == paused and
                      sim.ctl("read", dom, "--gpa", hex(gpa), 1)["hex"] == "cc",
                      "%s: the guest is untouched (its own int3, the other xenstub's pause)" % what,
                      (L.diff(before, after), s["paused"]))
        holder.terminate()
        ctx.check(L.wait_exit(holder, 30) == 128 + 15, "the other xenstub leaves", L.read_log(holder))


def test_recover_huge_journal(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim)
        key, _ = _key(ctx, sim, "web01", ctx.tmpfile("jprobe"))
        before = L.snapshot(sim, dom)
        # 100,000 distinct plants on guest memory that holds no 0xcc: the
        # bytes are not ours to rewrite, and the reading is linear
        body = "pause\n" + "".join("int3 %x 90\n" % (0x7000000 + 16 * i) for i in range(100000)) + \
            "unpause\n"
        d = _crafted(ctx, sim, key, body, "huge")
        t0 = time.monotonic()
        r = ctx.run_xenstub(["--journal-dir", d, "--recover", "xen:web01"], env=sim.env(), timeout=120)
        took = time.monotonic() - t0
        ctx.check(r.rc == 0 and "int3 bytes put back: 0 of 100000" in r.out,
                  "100,000 plants: recovered, no byte that is not 0xcc rewritten (%.1f s)" % took, r)
        L.check_as_found(ctx, sim, dom, before, "after a huge journal")
        body = "pause\nunpause\n" * 2000001
        d = _crafted(ctx, sim, key, body, "capped")
        r = ctx.run_xenstub(["--journal-dir", d, "--recover", "xen:web01"], env=sim.env(), timeout=120)
        ctx.check(r.rc == 1 and "more than" in r.err and "lines" in r.err,
                  "a journal past the line cap is refused, saying why", r)


def test_pid_reused_by_another_process(ctx):
    """The journal names a pid that a live process (not xenstub) holds
    now: its xenstub is dead all the same (the journal is not locked)."""
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        jdir = ctx.tmpfile("jreuse")
        env = sim.env({"XENSTUB_JOURNAL_DIR": jdir})
        p, sock = ctx.start_xenstub("xen:web01", args=_attach_now(ctx) + ["--os=none"], env=env)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        name = [n for n in os.listdir(jdir) if n.endswith(".journal")][0]
        path = os.path.join(jdir, name)
        text = open(path).read()
        sleeper = ctx.spawn(["sleep", "600"])
        lines = text.split("\n")
        lines[0] = lines[0].replace("pid=%d" % p.pid, "pid=%d" % sleeper.pid)
        with open(path, "w") as f:
            f.write("\n".join(lines))
        s = sim.state(dom)
        ctx.check(s["paused"] >= 1, "harness: the dead xenstub left the guest paused", s["paused"])
        # a new xenstub does not attach past the dead one's journal
        r = ctx.run_xenstub(_attach_now(ctx) + ["--once", ":0", "xen:web01"], env=env, timeout=30)
        ctx.check(r.rc == 1 and "died without undoing" in r.err and "--recover" in r.err,
                  "a new xenstub refuses, pointing at --recover", r)
        r = ctx.run_xenstub(["--recover", "xen:web01"], env=env)
        ctx.check(r.rc == 0 and "recovered" in r.out,
                  "--recover recovers although the pid is alive (pid %d is 'sleep')" % sleeper.pid, r)
        sleeper.kill()
        sleeper.wait()
        L.check_as_found(ctx, sim, dom, before, "recovery past a reused pid")
        ctx.check(os.listdir(jdir) == [], "the journal is gone", os.listdir(jdir))
