# SPDX-License-Identifier: LGPL-2.1-or-later
"""The README's worked example on xensim: every system call of one process,
with its number and first three arguments, printed by an agent dprintf on
the kernel's syscall entry whose condition (from `monitor process-condition
PID`) is true only when the current task belongs to that process. vCPU 0 of
a domain made from the Linux fixture plays three threads of two processes
in turn (marker's main thread, sleeper-a, another thread of marker), each
switching the per-CPU base to a per-CPU area whose current task is that
thread and entering the kernel at entry_SYSCALL_64_after_hwframe with its
syscall registers, then marker and sleeper-a again with the kernel's base
in KERNEL_GS_BASE and a user gs base in place, as before swapgs; then a
fast tracepoint with the same condition collects the same calls as
frames. Also: without --tracepoints gdb is not told of tracepoints, and
tstart says why it fails."""

import json
import re

import live_support as L

TASKS_OFF, PID_OFF, TGID_OFF = "task_struct.tasks", "task_struct.pid", "task_struct.tgid"
CURRENT_TASK = 0x1fb80       # the fixture's per-CPU current_task (6.1)
PAGE_OFFSET = L.SCRATCH - L.SCRATCH_PHYS
AREAS_PHYS = (0x7400000, 0x7500000, 0x7600000)   # free frames of the fixture
WRGSBASE_RAX = bytes.fromhex("f3480faed8")
WRMSR = bytes.fromhex("0f30")       # KERNEL_GS_BASE (the step sets it)
USER_GS = 0x7f5a00001000            # a user thread's gs base


def _u64(fx, cr3, va):
    return int.from_bytes(fx.read_virt(cr3, va, 8), "little")


def _tasks(fx):
    """(task_struct address, pid, tgid) of every task, walked in the
    fixture's memory from init_task with truth.json's offsets (not
    xenstub's)."""
    off = fx.truth["struct_offsets"]
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    init = fx.symbol("init_task")
    out, t = [], init
    for _ in range(2000):
        pid = int.from_bytes(fx.read_virt(cr3, t + off[PID_OFF], 4), "little")
        tgid = int.from_bytes(fx.read_virt(cr3, t + off[TGID_OFF], 4), "little")
        out.append((t, pid, tgid))
        t = _u64(fx, cr3, t + off[TASKS_OFF]) - off[TASKS_OFF]
        if t == init:
            break
    return out


def _threads(fx, cr3, leader):
    """Task addresses of the thread group of leader (via signal's
    thread_head), leader first."""
    off = fx.truth["struct_offsets"]
    sig = _u64(fx, cr3, leader + off["task_struct.signal"])
    head = sig + off["signal_struct.thread_head"]
    out, n = [], _u64(fx, cr3, head)
    while n != head and len(out) < 64:
        out.append(n - off["task_struct.thread_node"])
        n = _u64(fx, cr3, n)
    return out


def _entry(fx):
    """entry_SYSCALL_64_after_hwframe at run time: its System.map address
    moved by the kernel's KASLR slide."""
    slide = fx.symbol("_text") - int(fx.truth["symbols"]["_text"]["system_map"], 16)
    with open(fx.system_map) as f:
        for line in f:
            a, _, name = line.split()
            if name == "entry_SYSCALL_64_after_hwframe":
                return int(a, 16) + slide
    raise AssertionError("no entry_SYSCALL_64_after_hwframe in System.map")


def _domain(ctx, sim):
    """The domain, its fake per-CPU areas (written before xenstub comes)
    and vCPU 0's round of three system calls. Returns (dom, entry, end,
    calls) or None; calls: (tgid, nr, a1, a2, a3) in the order of a round."""
    fx = ctx.fixture()
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    tasks = _tasks(fx)
    marker = [t for t, pid, tgid in tasks if pid == tgid and tgid == 94]
    sleeper = [t for t, pid, tgid in tasks if pid == tgid and tgid == 92]
    if not ctx.check(len(marker) == 1 and len(sleeper) == 1,
                     "the fixture has marker (94) and sleeper-a (92)", [x[1:] for x in tasks]):
        return None
    mthreads = _threads(fx, cr3, marker[0])
    if not ctx.check(len(mthreads) == 4 and mthreads[0] == marker[0],
                     "marker has 4 threads", mthreads):
        return None
    entry = _entry(fx)
    dom = L.make_domain(ctx, sim)
    areas = []
    for phys, task in zip(AREAS_PHYS, (mthreads[0], sleeper[0], mthreads[2])):
        slot = phys + CURRENT_TASK
        if sim.ctl("read", dom, "--gpa", L.h(slot), 8)["hex"] != "00" * 8:
            ctx.check(False, "the fixture's frame at 0x%x is free" % slot)
            return None
        sim.ctl("write", dom, "--gpa", L.h(slot), task.to_bytes(8, "little").hex())
        areas.append(PAGE_OFFSET + phys)
    # the last two with the user's gs base still in place and the
    # kernel's in KERNEL_GS_BASE, as before swapgs: the condition takes
    # $k_gs_base then
    calls = [(94, 0, 3, 0x7ffd1000, 64), (92, 35, 0x7ffe2000, 0, 0), (94, 1, 1, 0x7ffd3000, 5),
             (94, 39, 0, 0, 0), (92, 230, 1, 0, 0)]
    p = L.Program(L.CODE + 0x400)
    for area, (tgid, nr, a1, a2, a3) in zip(areas + [areas[0], areas[1]], calls):
        if nr in (39, 230):
            p.insn(WRMSR, op="set_reg", reg="shadow_gs", value=L.h(area))
            area = USER_GS
        p.set_reg("rax", area)
        p.insn(WRGSBASE_RAX, op="set_reg", reg="gs_base", value=L.h(area))
        for reg, v in (("rax", nr), ("rdi", a1), ("rsi", a2), ("rdx", a3)):
            p.set_reg(reg, v)
        # the kernel's own code there (push %rax: pt_regs->orig_ax)
        p.steps.append({"rip": L.h(entry), "len": 1, "access": "none"})
    end = p.nop()
    p.write_code(sim, dom, 0)
    sim.workload(dom, 0, p.steps + [{"op": "loop"}])
    sim.workload(dom, 1, L.loop(L.CODE + 0x40, L.SCRATCH + 0x400, 9))
    sim.ctl("start", dom)
    L.wait_loops(sim, dom, 2)
    return dom, entry, end, calls


EXAMPLE = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("break *%(end)d")
gdb.execute("continue")
res["tp_packet"] = gdb.execute("show remote conditional-tracepoints-packet", to_string=True)
out = gdb.execute("monitor process-condition 94", to_string=True)
res["monitor"] = out
cond = [l for l in out.splitlines() if l and not l.startswith("#")][0]
gdb.execute("set dprintf-style agent")
gdb.execute('dprintf *%(entry)d,"syscall %%ld (%%#lx, %%#lx, %%#lx)\\n", $rax, $rdi, $rsi, $rdx')
gdb.execute("condition $bpnum " + cond)
gdb.execute("continue")
gdb.execute("continue")
res["stats"] = gdb.execute("monitor stats", to_string=True)
gdb.execute("condition $bpnum")
gdb.execute("continue")
res["pc"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("delete")
# the same with a fast tracepoint (an execute trap: no int3 in the
# guest): one round, then the frames
gdb.execute("break *%(end)d")
gdb.execute("ftrace *%(entry)d if " + cond)
with open("%(actions)s", "w") as f:
    f.write("actions\ncollect $rax, $rdi, $rsi, $rdx\nend\n")
gdb.execute("source %(actions)s")
gdb.execute("tstart")
res["info_tp"] = gdb.execute("info tracepoints", to_string=True)
res["byte"] = _json.loads(xsctl("read", %(dom)s, "--va", hex(%(entry)d), "--vcpu", 0, 1).stdout)["hex"]
gdb.execute("continue")
gdb.execute("tstop")
res["frames"] = []
for i in range(8):
    out = gdb.execute("tfind %%d" %% i, to_string=True)
    if "Found trace frame" not in out:
        break
    res["frames"].append([int(gdb.parse_and_eval(r)) & 0xffffffffffffffff
                          for r in ("$rax", "$rdi", "$rsi", "$rdx")])
gdb.execute("tfind none")
res["tstatus"] = gdb.execute("tstatus", to_string=True)
gdb.execute("delete")
print("RESULT " + _json.dumps(res))
gdb.execute("detach")
'''


def test_syscalls_of_one_process(ctx):
    """Two rounds with the condition print marker's two calls of each
    round, in order, with their numbers and arguments, and never
    sleeper-a's (false hits resumed at once, counted); a round without the
    condition prints all three; a tracepoint with the condition gives
    marker's calls of one round as frames; the guest is left as found."""
    with L.xensim.sim_for(ctx) as sim:
        made = _domain(ctx, sim)
        if made is None:
            return
        dom, entry, end, calls = made
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", args=["--tracepoints"], timeout=240,
                       python=EXAMPLE % {"dom": dom, "entry": entry, "end": end,
                                         "actions": ctx.tmpfile("actions.gdb")})
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the session ran", (r.out[-3000:], r.err[-3000:])):
            return
        d = json.loads(m.group(1))
        ctx.check(re.search(r"^\*\(int \*\)\(\*\(unsigned long \*\)\(\(\$gs_base < 0 \? \$gs_base : "
                            r"\$k_gs_base\) \+ 0x1fb80\) \+ 2420\) == 94$", d["monitor"], re.M)
                  is not None and "marker" in d["monitor"] and "4 threads" in d["monitor"],
                  "monitor process-condition 94: the current task's tgid through current_task "
                  "and task_struct.tgid", d["monitor"])

        def line(c):
            # C's %#lx: 0 has no 0x
            return "syscall %d (%s)" % (c[1], ", ".join("%#x" % v if v else "0" for v in c[2:]))
        mine = [line(c) for c in calls if c[0] == 94]
        got = re.findall(r"syscall [^\n\\]*", r.err)
        ctx.check(got == mine * 2 + [line(c) for c in calls],
                  "2 rounds: marker's calls only, in order, with their arguments; then a "
                  "round without the condition: all three", (got, r.err[-2000:]))
        s = L.stats_numbers(d["stats"])
        m = re.search(r"(\d+) condition evaluations, (\d+) hits resumed at once", d["stats"])
        ev = [int(x) for x in m.groups()] if m else None
        ctx.check(ev == [2 * len(calls)] * 2 and
                  "%d lines for gdb, 0 dropped" % (2 * len(mine)) in d["stats"],
                  "monitor stats: every hit evaluated and resumed at once, marker's lines",
                  d["stats"])
        ctx.check(d["pc"] == end, "the only stops are the end breakpoint's", (d["pc"], s))
        ctx.check("currently enabled" in d["tp_packet"],
                  "with --tracepoints gdb is told of conditional tracepoints", d["tp_packet"])
        ctx.check(d["frames"] == [list(c[1:]) for c in calls if c[0] == 94] and
                  "Collected %d trace frames" % len(mine) in d["tstatus"],
                  "a fast tracepoint with the same condition: one round gives marker's calls "
                  "as frames, with their registers", (d["frames"], d["tstatus"]))
        fx = ctx.fixture()
        own = fx.read_virt(int(fx.truth["registers"][0]["cr3"], 16), entry, 1).hex()
        ctx.check("fast tracepoint" in d["info_tp"] and d["byte"] == own == "50",
                  "ftrace: gdb made a fast tracepoint, and the guest's code under it is its "
                  "own (push %rax) while the experiment runs", (d["info_tp"], d["byte"], own))
        L.check_as_found(ctx, sim, dom, before, "after the syscall log")


def test_no_tracepoints_without_the_option(ctx):
    """Without --tracepoints (here on a dump, where they never are) gdb is
    not told of tracepoints, and tstart fails with xenstub's reason."""
    fx = ctx.fixture()
    r = ctx.gdb(["show remote conditional-tracepoints-packet", "trace *0x%x" % _entry(fx),
                 "tstart"], target="core:" + fx.memory, xenstub_args=["--os=none"])
    ctx.check("ConditionalTracepoints' packet is auto-detected, currently disabled" in r.out,
              "gdb is not told of conditional tracepoints", r.out[-1500:])
    ctx.check("Target does not support this command" in r.out + r.err and
              "xenstub: tracepoints are off: they need a live guest and xenstub started "
              "with --tracepoints" in r.err,
              "tstart: refused, and xenstub says why", (r.out[-1500:], r.err[-1500:]))
