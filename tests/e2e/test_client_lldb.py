# SPDX-License-Identifier: LGPL-2.1-or-later
"""LLDB (Debian's lldb, `gdb-remote`) against xenstub, in batch mode: thread
names, registers (unavailable ones shown as such), kernel and user memory
in the right address space (listing threads must not move it), memory
regions from the page tables, continue and step refused on a dump without
losing the session; on xensim: breakpoints, watchpoints, stepi, interrupt
and detach."""

import os
import re
import shutil
import subprocess

import live_support as L
from harness import Result

MARKER_TID_BASE = 1000000


def need_lldb(ctx):
    if shutil.which("lldb") is None:
        ctx.skip("lldb is not installed (Debian: apt-get install lldb)")


def lldb(ctx, sock, commands, env=None, timeout=180):
    """Runs LLDB in batch mode connected to xenstub's unix socket, then
    commands (an error does not end the list). Returns
    (Result, outputs): outputs[i] is what commands[i] printed, or None when
    LLDB never got to it."""
    need_lldb(ctx)
    n = len(ctx._procs)
    cmdfile = ctx.tmpfile("lldb-%d.cmds" % n)
    log = ctx.tmpfile("lldb-%d.packets" % n)
    with open(cmdfile, "w") as f:
        f.write("\n".join(commands) + "\n")
    argv = ["lldb", "--no-lldbinit", "--batch",
            "-o", "settings set plugin.process.gdb-remote.packet-timeout 60",
            "-o", "log enable -f %s gdb-remote packets" % log,
            "-o", "process connect unix-connect://" + sock,
            "-o", "command source -e false -c false " + cmdfile]
    p = ctx.spawn(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        out += "\n[lldb killed: no answer within %ss]" % timeout
    # LLDB echoes each command as "(lldb) COMMAND": split in order
    outputs, pos = [], 0
    starts = []
    for c in commands:
        k = out.find("(lldb) " + c + "\n", pos)
        if k < 0:
            break
        starts.append((k, k + len(c) + 8))
        pos = k + len(c) + 8
    for i in range(len(commands)):
        if i >= len(starts):
            outputs.append(None)
            continue
        end = starts[i + 1][0] if i + 1 < len(starts) else len(out)
        outputs.append(out[starts[i][1]:end])
    try:
        with open(log) as f:
            packets = f.read()
    except OSError:
        packets = ""
    r = Result(p.returncode, out, packets)
    return r, outputs


def dump_lldb(ctx, commands, args=(), **kw):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=list(args))
    r, outs = lldb(ctx, sock, commands, **kw)
    return fx, r, outs


def running_guest(ctx, sim):
    """A domain whose two vCPUs loop over writes and reads, and xenstub
    listening for it: (domain, its snapshot before, xenstub, socket)."""
    dom = L.make_domain(ctx, sim, workloads={
        0: L.loop(L.CODE, L.SCRATCH, 1), 1: L.loop(L.CODE + 16, L.SCRATCH + 64, 2)})
    L.wait_running(sim, dom)
    before = L.snapshot(sim, dom)
    p, sock = L.start_xenstub_unix(ctx, sim, "web01")
    return dom, before, p, sock


def marker(fx):
    m = fx.truth["marker"]
    return int(m["buffer_vaddr"], 16), m["pattern"].encode(), int(m["pgd_phys"], 16), m


def parse_bytes(text):
    """The bytes `memory read` printed (its hex columns)."""
    out = b""
    for line in (text or "").splitlines():
        mm = re.match(r"0x[0-9a-f]+: ((?:[0-9a-f]{2} )+)", line)
        if mm:
            out += bytes.fromhex(mm.group(1).replace(" ", ""))
    return out


def test_threads_have_names(ctx):
    fx, r, (tl, ps) = dump_lldb(ctx, ["thread list", "process plugin packet monitor ps"])
    if not ctx.check(tl is not None, "LLDB connected and listed threads", r):
        return
    ctx.check("name = 'vCPU 0: swapper/0'" in tl and "name = 'vCPU 1: swapper/1'" in tl,
              "threads 1 and 2 are the vCPUs, named after the task they run", tl[:1500])
    _, _, _, m = marker(fx)
    for t in m["threads"]:
        ctx.check(re.search(r"tid = %d, 0x[0-9a-f]+, name = '%s'" % (MARKER_TID_BASE + t["tid"], t["comm"]),
                            tl) is not None,
                  "thread %d is named %s" % (MARKER_TID_BASE + t["tid"], t["comm"]), tl[-3000:])
    ctx.check("QThreadSuffixSupported" in r.err and ";thread:" in r.err and
              re.search(r"send packet: \$Hg", r.err) is None,
              "LLDB reads registers with thread suffixes, never Hg", r.err[-2000:])
    ctx.check(ps is not None and re.search(r"^\s+%d\s+%d\s+1\s+S\s+\d+\s+0x[0-9a-f]+ marker$" %
                                            (m["pid"], m["pid"]), ps, re.M) is not None,
              "monitor commands run through 'process plugin packet monitor'", ps)


def test_registers(ctx):
    fx, r, (regs, unavail, whole) = dump_lldb(
        ctx, ["register read rip rsp cr3", "register read cr8 st0 xmm0", "register read"])
    if not ctx.check(regs is not None, "LLDB read registers", r):
        return
    t = fx.truth["registers"][0]
    for reg in ("rip", "rsp", "cr3"):
        ctx.check(re.search(r"%s = 0x0*%x\b" % (reg, int(t[reg], 16)), regs) is not None,
                  "vCPU 0 %s = %s" % (reg, t[reg]), regs)
    ctx.check(unavail is not None and all(re.search(r"%s\s+= error: unavailable" % n, unavail)
                                          for n in ("cr8", "st0", "xmm0")),
              "registers a dump does not hold are unavailable", unavail)
    ctx.check(whole is not None and "registers were unavailable" in whole and "0xcccc" not in whole,
              "register read shows no made-up values", whole)


def test_memory_in_the_stopped_threads_address_space(ctx):
    """LLDB lists threads (which used to leave xenstub reading through the
    last task's page tables) and never sends Hg before reading memory:
    memory is vCPU 0's address space until the user selects another."""
    fx = ctx.fixture()
    buf, pattern, pgd, m = marker(fx)
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    oracle = fx.read_virt(cr3, buf, 32)
    banner = fx.symbol("linux_banner")
    mtid = MARKER_TID_BASE + m["threads"][-1]["tid"]
    cmds = ["thread list",
            "memory read -c 32 0x%x" % buf,
            "memory read -c 32 0x%x" % banner,
            "process plugin packet send Hg%x" % mtid,
            "memory read -c 32 0x%x" % buf,
            "thread list",
            "memory read -c 32 0x%x" % buf,
            # back to vCPU 0, LLDB's cache off as the README says
            "settings set target.process.disable-memory-cache true",
            "process plugin packet send Hg1",
            "memory read -c 32 0x%x" % buf]
    fx, r, outs = dump_lldb(ctx, cmds)
    if not ctx.check(outs[1] is not None, "LLDB ran the memory reads", r):
        return
    got = parse_bytes(outs[1])
    if oracle is None:
        ctx.check("memory read failed" in outs[1] and not got,
                  "user address 0x%x with vCPU 0 selected: unmapped there, LLDB says so "
                  "(not the marker's bytes)" % buf, outs[1])
    else:
        ctx.check(got == oracle, "user address 0x%x reads vCPU 0's bytes" % buf, outs[1])
    ctx.check(pattern[:16] not in got, "vCPU 0 never shows another process's bytes", outs[1])
    ctx.check(fx.truth["proc_version"].encode()[:32] == parse_bytes(outs[2]),
              "kernel memory (linux_banner) reads", outs[2])
    ctx.check(outs[3] is not None and "response: OK" in outs[3],
              "Hg selects the marker's thread %d for memory" % mtid, outs[3])
    want = (pattern * 3)[:32]
    ctx.check(parse_bytes(outs[4]) == want, "then the marker's buffer reads through its page tables",
              outs[4])
    ctx.check(parse_bytes(outs[6]) == want, "listing threads again does not move the memory context",
              outs[6])
    ctx.check(outs[9] is not None and parse_bytes(outs[9]) == (oracle or b"") and
              (oracle is not None or "memory read failed" in outs[9]),
              "Hg1 goes back to vCPU 0's address space", outs[9])


def test_memory_regions(ctx):
    fx = ctx.fixture()
    buf, pattern, pgd, m = marker(fx)
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    rip = int(fx.truth["registers"][0]["rip"], 16)
    banner = fx.symbol("linux_banner")
    mtid = MARKER_TID_BASE + m["threads"][0]["tid"]
    cmds = ["memory region 0x%x" % rip, "memory region 0x%x" % banner,
            "memory region 0x%x" % buf,
            "process plugin packet send Hg%x" % mtid, "memory region 0x%x" % buf]
    fx, r, outs = dump_lldb(ctx, cmds)

    def want(cr3_, addr):
        w = fx.walk(cr3_, addr)
        if w["fault"]:
            return None
        size = w["page_size"]
        return (addr & ~(size - 1), size,
                "r" + ("w" if w["writable"] else "-") + ("-" if w["nx"] else "x"))

    for i, (c, addr, what) in enumerate([(cr3, rip, "kernel text at vCPU 0's rip"),
                                         (cr3, banner, "linux_banner"),
                                         (cr3, buf, "the marker's buffer seen from vCPU 0"),
                                         (pgd, buf, "the marker's buffer in its own space")]):
        out = outs[i if i < 3 else 4]
        if not ctx.check(out is not None, "memory region of %s ran" % what, r):
            continue
        mm = re.search(r"\[0x([0-9a-f]+)-0x([0-9a-f]+)\) (\S+)", out)
        w = want(c, addr)
        if w is None:
            ctx.check(mm is not None and mm.group(3) == "---" and
                      int(mm.group(1), 16) <= addr < int(mm.group(2), 16),
                      "%s: unmapped, a region without permissions around it" % what, out)
        else:
            ctx.check(mm is not None and (int(mm.group(1), 16), int(mm.group(2), 16) - int(mm.group(1), 16),
                                          mm.group(3)) == w,
                      "%s: the page [0x%x, +0x%x) %s as the page tables say" % ((what,) + w), out)


def test_continue_and_step_on_a_dump_keep_the_session(ctx):
    fx, r, outs = dump_lldb(ctx, ["continue", "stepi", "register read rip", "detach"])
    rip = int(fx.truth["registers"][0]["rip"], 16)
    ctx.check(outs[0] is not None and "cannot run" in outs[0] and "Process 1 stopped" in outs[0]
              and "exited" not in outs[0] and "lost connection" not in outs[0],
              "continue on a dump: the reason, and the process stays stopped", r.out[-2000:])
    ctx.check(outs[1] is not None and "cannot run" in outs[1] and "exited" not in outs[1],
              "stepi on a dump: the reason, and the process stays stopped", r.out[-2000:])
    ctx.check(outs[2] is not None and re.search(r"rip = 0x0*%x\b" % rip, outs[2]) is not None,
              "registers still read after both", outs[2])
    ctx.check(outs[3] is not None and "detached" in outs[3], "detach", outs[3])


def test_gdb_still_gets_an_error_for_continue_on_a_dump(ctx):
    """The answer LLDB gets is only for LLDB: gdb keeps its error."""
    fx = ctx.fixture()
    r = ctx.gdb(["continue", "info registers rip"], target="core:" + fx.memory,
                xenstub_args=["--os=none"])
    ctx.check("cannot run" in r.out + r.err and "rip" in r.out,
              "gdb: continue is refused with the reason, the session goes on", r)


def test_live_breakpoint_watchpoint_stepi_detach(ctx):
    need_lldb(ctx)
    with L.xensim.sim_for(ctx) as sim:
        dom, before, p, sock = running_guest(ctx, sim)
        bp = L.CODE + 3
        cmds = ["breakpoint set -a 0x%x" % bp,
                "continue",
                "register read rip",
                "breakpoint delete 1",
                "stepi",
                "register read rip",
                "watchpoint set expression -w write -s 8 -- 0x%x" % L.SCRATCH,
                "continue",
                "watchpoint delete 1",
                "memory read -c 8 0x%x" % L.SCRATCH,
                "detach"]
        r, outs = lldb(ctx, sock, cmds, env=sim.env())
        ctx.check(outs[1] is not None and "stop reason = breakpoint 1.1" in outs[1],
                  "continue stops at the breakpoint (stop reason breakpoint 1.1)", r.out[-3000:])
        ctx.check(outs[2] is not None and re.search(r"rip = 0x0*%x\b" % bp, outs[2]) is not None,
                  "rip is the breakpoint's address", outs[2])
        m = outs[5] and re.search(r"rip = 0x([0-9a-f]+)", outs[5])
        ctx.check(outs[4] is not None and "exited" not in outs[4] and m and
                  int(m.group(1), 16) in (L.CODE + 7, L.CODE + 11, L.CODE) and int(m.group(1), 16) != bp,
                  "stepi moves the thread one instruction on", (outs[4], outs[5]))
        ctx.check(outs[7] is not None and "stop reason = watchpoint 1" in outs[7],
                  "a write watchpoint stops the guest (stop reason watchpoint 1)", r.out[-3000:])
        ctx.check(outs[9] is not None and parse_bytes(outs[9]) == (1).to_bytes(8, "little"),
                  "the watched variable holds the value written", outs[9])
        ctx.check(outs[10] is not None and "detached" in outs[10], "detach", r.out[-1500:])
        L.wait_running(sim, dom, max(c["steps"] for c in L.counters(sim, dom)) + 6)
        after = L.snapshot(sim, dom)
        ctx.check(after["paused"] == 0 and not after["ring"],
                  "after detach the guest runs, with no ring", L.diff(before, after))


def lldb_python(ctx):
    """A folder for PYTHONPATH holding LLDB's Python module as Debian 12
    installs it (its own path lacks the module's native part), or None."""
    import glob
    src = sorted(glob.glob("/usr/lib/llvm-*/lib/python3*/dist-packages/lldb/__init__.py"))
    lib = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/liblldb-*.so.1"))
    if not src or not lib:
        return None
    top = ctx.tmpfile("pylldb")
    if not os.path.isdir(top):
        os.makedirs(os.path.join(top, "lldb"))
        d = os.path.dirname(src[-1])
        for name in os.listdir(d):
            if not name.startswith("_lldb"):
                os.symlink(os.path.join(d, name), os.path.join(top, "lldb", name))
        os.symlink(lib[-1], os.path.join(top, "lldb", "_lldb.so"))
    return top


INTERRUPT = r'''
import json, sys, time
import lldb

dbg = lldb.SBDebugger.Create()
dbg.SetAsync(True)
target = dbg.CreateTarget("")
listener = dbg.GetListener()
err = lldb.SBError()
proc = target.ConnectRemote(listener, "unix-connect://%(sock)s", "gdb-remote", err)

def wait(state, secs=120):
    ev = lldb.SBEvent()
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc.GetState() == state:
            return True
        listener.WaitForEvent(1, ev)
    return proc.GetState() == state

out = {"connected": err.Success() and wait(lldb.eStateStopped)}
proc.Continue()
out["running"] = wait(lldb.eStateRunning)
time.sleep(0.5)          # the guest runs a little (any delay will do)
out["stop_call"] = proc.Stop().Success()
out["stopped"] = wait(lldb.eStateStopped)
th = proc.GetSelectedThread()
out["reason"] = th.GetStopDescription(200)
out["threads"] = proc.GetNumThreads()
out["detach"] = proc.Detach().Success()
print("RESULT " + json.dumps(out))
'''


def test_live_interrupt(ctx):
    """Ctrl-C in LLDB (SBProcess.Stop: the 0x03 byte) stops a running
    guest with SIGINT; detach leaves it running."""
    need_lldb(ctx)
    path = lldb_python(ctx)
    if path is None:
        ctx.skip("LLDB's Python module (python3-lldb-14) is not installed")
    with L.xensim.sim_for(ctx) as sim:
        dom, before, p, sock = running_guest(ctx, sim)
        script = ctx.tmpfile("lldb-interrupt.py")
        with open(script, "w") as f:
            f.write(INTERRUPT % {"sock": sock})
        env = dict(os.environ, PYTHONPATH=path)
        q = ctx.spawn(["python3", script], env=env, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = q.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            q.kill()
            out = q.communicate()[0] + "\n[killed]"
        m = re.search(r"RESULT (.*)", out)
        if not ctx.check(m is not None, "the LLDB session ran", out[-3000:]):
            return
        import json
        d = json.loads(m.group(1))
        ctx.check(d["connected"] and d["running"], "LLDB connected and continued", d)
        ctx.check(d["stopped"] and "SIGINT" in d["reason"], "the interrupt stops the guest with SIGINT", d)
        ctx.check(d["detach"], "detach", d)
        after = L.snapshot(sim, dom)
        ctx.check(after["paused"] == 0 and not after["ring"],
                  "after detach the guest runs, with no ring", L.diff(before, after))
        # raises when the guest does not run on
        L.wait_running(sim, dom, max(c["steps"] for c in L.counters(sim, dom)) + 6)
