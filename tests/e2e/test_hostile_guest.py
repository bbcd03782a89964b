# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile guest: what a guest writes in its own memory must not break
gdb's view, reach the analyst's terminal raw, or make xenstub read the
wrong memory. Each case is planted in a copy of the Linux fixture (or of a
generated Windows guest, or in a live xensim domain) and checked in what
gdb shows: task names with control bytes, bytes that are not UTF-8, XML
markup and terminal escape sequences are shown escaped (printable ASCII:
\\xNN, \\uXXXX, \\\\, \\") in every path (the thread list, extra info,
monitor ps/os, info os processes) and gdb lists every thread; impossible
or duplicate thread ids get a fallback id and a warning, never 0, -1 or a
vCPU's id; a task whose page-table root cannot be validated reads nothing
and says why."""

import json
import os
import re
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import linux_support as L  # noqa: E402

OS_TID_BASE = 1000000
OS_TID_FALLBACK = 100000000

_cache = {}


def shown(raw, wide=False):
    """The display form of guest text, written from the README's rule:
    printable ASCII stands for itself, but for \\ and " (escaped with a
    backslash); any other byte is \\xNN, any other UTF-16 unit \\uXXXX."""
    out = []
    if wide:
        units = [int.from_bytes(raw[i:i + 2], "little") for i in range(0, len(raw) - 1, 2)]
    else:
        units = list(raw)
    for c in units:
        if c in (0x5c, 0x22):
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        else:
            out.append(("\\u%04x" if wide else "\\x%02x") % c)
    return "".join(out)


def raw_controls(data):
    """The bytes of gdb's output no terminal should receive from a guest:
    C0 controls but tab and newline, DEL, and every byte >= 0x80."""
    return sorted({b for b in data if (b < 0x20 and b not in (9, 10)) or b >= 0x7f})


THREADS_PY = r'''
import gdb, json
for th in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
    row = {"num": th.num, "tid": th.ptid[1]}
    for k in ("name", "details"):
        try:
            row[k] = getattr(th, k)
        except Exception as e:
            row[k] = "<error %s>" % e
    print("THREAD " + json.dumps(row))
'''


def gdb_bytes(ctx, target, commands, args=(), env=None, timeout=300, python=None):
    """One batch gdb session on `target remote | xenstub ARGS - TARGET`,
    with xenstub's and gdb's stderr merged into stdout, kept as bytes (a
    raw byte must be seen as it is). Runs THREADS_PY first, then the
    Python script python if given, then commands. Returns (rc,
    all bytes, [what each command printed, or None], [thread rows])."""
    mark = "@@hostile-%d@@"
    script = ctx.tmpfile("hostile-threads.py")
    with open(script, "w") as f:
        f.write(THREADS_PY)
    argv = ["gdb", "-q", "-n", "-nx", "-batch", "-ex", "set pagination off",
            "-ex", "set confirm off", "-ex", "set width 0",
            "-ex", "set remotetimeout 120",
            "-ex", "target remote | " + " ".join([ctx.xenstub] + list(args) + ["-", target]),
            "-ex", "source " + script]
    if python is not None:
        extra = ctx.tmpfile("hostile-extra.py")
        with open(extra, "w") as f:
            f.write(python)
        argv += ["-x", extra]
    for i, c in enumerate(commands):
        argv += ["-ex", "echo \\n" + mark % i + "\\n", "-ex", c]
    argv += ["-ex", "echo \\n" + mark % len(commands) + "\\n"]
    p = ctx.spawn(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        out += b"\n[gdb killed: no answer within %ds]" % timeout
    parts = []
    for i, c in enumerate(commands):
        a, b = ("\n" + mark % i + "\n").encode(), ("\n" + mark % (i + 1) + "\n").encode()
        parts.append(out.split(a, 1)[1].split(b, 1)[0] if a in out and b in out else None)
    rows = []
    for line in out.splitlines():
        if line.startswith(b"THREAD "):
            try:
                rows.append(json.loads(line[7:].decode("utf-8", "replace")))
            except ValueError:
                rows.append({"bad": line.decode("latin-1")})
    return p.returncode, out, parts, rows


def dec(b):
    return (b or b"").decode("latin-1")


# ---- the Linux fixture, read here independently of xenstub ----

def linux_tasks(fx):
    """{pid: task_struct address} of the thread-group leaders on
    init_task.tasks, walked through the vCPU 0 page tables of memory.elf."""
    key = ("tasks", fx.memory)
    if key not in _cache:
        so = fx.truth["struct_offsets"]
        cr3 = int(fx.truth["registers"][0]["cr3"], 16)
        head = fx.symbol("init_task") + so["task_struct.tasks"]
        out, node = {}, u64(fx, cr3, head)
        while node != head and len(out) < 10000:
            task = node - so["task_struct.tasks"]
            pid = struct.unpack("<i", fx.read_virt(cr3, task + so["task_struct.pid"], 4))[0]
            out[pid] = task
            node = u64(fx, cr3, node)
        _cache[key] = out
    return _cache[key]


def u64(fx, cr3, va):
    return struct.unpack("<Q", fx.read_virt(cr3, va, 8))[0]


def file_offset(fx, va):
    """memory.elf's file offset of a kernel virtual address."""
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    w = fx.walk(cr3, va)
    seg = fx.segment_of(w["paddr"])
    return seg[2] + w["paddr"] - seg[0]


def patched(ctx, fx, name, writes):
    """A copy of memory.elf with writes {file offset: bytes} done."""
    path = ctx.tmpfile(name)
    shutil.copyfile(fx.memory, path)
    os.chmod(path, 0o600)
    with open(path, "r+b") as f:
        for off, data in sorted(writes.items()):
            f.seek(off)
            f.write(data)
    return path


def field(fx, task, member):
    return task + fx.truth["struct_offsets"]["task_struct." + member]


def baseline(ctx, fx, commands=()):
    """The unmodified dump's thread rows (and outputs of commands)."""
    key = ("base", ctx.tmp, tuple(commands))
    if key not in _cache:
        _cache[key] = gdb_bytes(ctx, "core:" + fx.memory, list(commands))
    return _cache[key]


def common_checks(ctx, what, rc, out, rows, base_rows):
    ctx.check(rc == 0 and b"[gdb killed" not in out, "%s: gdb ran every command" % what, dec(out)[-3000:])
    ctx.check(b"not well-formed" not in out and b"while parsing threads" not in out,
              "%s: gdb parses the thread list (no XML error)" % what, dec(out)[:3000])
    ctx.check(len(rows) == len(base_rows),
              "%s: gdb lists as many threads as on the unmodified dump (%d)" % (what, len(base_rows)),
              "%d threads: %s" % (len(rows), rows[:8]))
    bad = raw_controls(out)
    ctx.check(not bad, "%s: no raw control byte, DEL or byte >= 0x80 in gdb's output" % what,
              "bytes %s in: %r" % (bad, out[:4000]))


# Names planted in task_struct.comm (16 bytes, NUL-terminated or not).
NAMES = {
    2: b"caf\xe9\0",                         # Latin-1, not UTF-8
    3: b"a\x01b\0",                          # a control character (&#1; is not XML 1.0)
    4: b"\x1b[2J\x1b]0;pwn\x07\0",           # clear screen, set the title
    5: b"]]>\0",                             # the end of a CDATA section
    6: b"<a&b>\"'\0",                        # markup and quotes
    7: b"ABCDEFGHIJKLMNOP",                  # 16 bytes, no NUL
    8: b"x\ny\rz\tq\0",                      # newline, carriage return, tab
    9: b"back\\slash\0",                     # the escape character itself
    10: b"\xc3\xa9t\xc3\xa9\0",             # valid UTF-8 ("ete" with accents)
    11: b"\xe2\x80\xaetxt.exe\0",           # U+202E RIGHT-TO-LEFT OVERRIDE
    12: b"\x9b2J\x7f\0",                     # C1 CSI as a raw byte, DEL
}
IDLE_NAME = b"sw\x1b]2;owned\x07\0"          # init_task: vCPU 0's thread name


def comm_text(raw):
    return shown(raw.split(b"\0")[0][:16])


def test_hostile_names(ctx):
    """Task names with control bytes, invalid UTF-8, XML markup and
    terminal escapes are shown escaped everywhere, and the thread list
    stays whole."""
    fx = ctx.fixture()
    tasks = linux_tasks(fx)
    cmds = ["info threads", "monitor ps", "monitor os", "info os processes"]
    brc, bout, bparts, brows = baseline(ctx, fx, cmds)
    if not ctx.check(brc == 0 and len(brows) > 10 and not raw_controls(bout),
                     "the unmodified dump: gdb lists the tasks, nothing raw", dec(bout)[-2000:]):
        return
    writes = {file_offset(fx, field(fx, tasks[pid], "comm")): raw for pid, raw in NAMES.items()}
    writes[file_offset(fx, field(fx, fx.symbol("init_task"), "comm"))] = IDLE_NAME
    path = patched(ctx, fx, "hostile-names.elf", writes)
    try:
        rc, out, parts, rows = gdb_bytes(ctx, "core:" + path, cmds)
        common_checks(ctx, "renamed tasks", rc, out, rows, brows)
        ctx.check(b"\x1b" not in out, "no ESC byte reaches the terminal", repr(out[:3000]))
        ctx.check([r["tid"] for r in rows] == [r["tid"] for r in brows],
                  "the same thread ids as on the unmodified dump")
        by_tid = {r["tid"]: r for r in rows}
        ps, osd, procs = dec(parts[1]), dec(parts[2]), dec(parts[3])
        for pid, raw in NAMES.items():
            want = comm_text(raw)
            r = by_tid.get(OS_TID_BASE + pid, {})
            ctx.check(r.get("name") == want, "pid %d named %r: gdb shows %s" % (pid, raw, want),
                      r)
            ctx.check(('tid %d "%s" ' % (pid, want)) in (r.get("details") or ""),
                      "pid %d: the extra info quotes the escaped name" % pid, r)
            ctx.check(re.search(r"^\s*%d\s+%d\s.*\s\[?%s\]?$" % (pid, pid, re.escape(want)), ps, re.M)
                      is not None, "pid %d: monitor ps shows the escaped name" % pid, ps)
            ctx.check(re.search(r"^\s*%d\s+\S+\s+%s\s*" % (pid, re.escape(want)), procs, re.M)
                      is not None or (" %d " % pid in procs and want in procs),
                      "pid %d: info os processes shows the escaped name" % pid, procs)
        idle = comm_text(IDLE_NAME)
        ctx.check(by_tid.get(1, {}).get("name") == "vCPU 0: " + idle,
                  "vCPU 0's thread is named after its (renamed) idle task, escaped", by_tid.get(1))
        ctx.check(by_tid.get(OS_TID_BASE, {}).get("name") == idle,
                  "the idle task of CPU 0 shows its escaped name", by_tid.get(OS_TID_BASE))
        ctx.check("running %s (pid 0" % idle in osd, "monitor os names the running task escaped", osd)
        # the escaped form reads back as the guest's bytes
        back = {pid: by_tid.get(OS_TID_BASE + pid, {}).get("name", "") for pid in NAMES}
        ctx.check(all(bytes(back[p], "ascii").decode("unicode_escape").encode("latin-1") ==
                      NAMES[p].split(b"\0")[0][:16] for p in NAMES if back[p].isascii()),
                  "every escaped name reads back as the guest's bytes", back)
    finally:
        os.unlink(path)


# pid values planted in task_struct.pid (int32), by the task's real pid.
BAD_PIDS = {
    4: -999999,         # thread id 1: vCPU 0's
    5: -1000000,        # thread id 0: "any thread" in the protocol
    6: -1000001,        # thread id -1: "all threads"
    7: 0,               # pid 0 outside the idle tasks: swapper/0's id
    8: 2,               # kthreadd's pid
    9: -2147483648,     # INT32_MIN
    10: -1,             # thread id 999999: swapper/1's
    11: -999998,        # thread id 2: vCPU 1's
}


def test_hostile_thread_ids(ctx):
    """Impossible and duplicate pids: every task is still listed, ids are
    unique and never 0, -1 or a vCPU's, with a warning and a fallback
    id."""
    fx = ctx.fixture()
    tasks = linux_tasks(fx)
    ncpu = fx.truth["num_cpus"]
    cmds = ["info threads", "monitor ps", "monitor os"]
    brc, bout, bparts, brows = baseline(ctx, fx, cmds)
    writes = {file_offset(fx, field(fx, tasks[pid], "pid")): struct.pack("<i", v)
              for pid, v in BAD_PIDS.items()}
    ctx.check(0x49f91a8 in writes or fx.truth.get("kernel_release") != "6.1.0-56-amd64",
              "the planted pid of rcu_par_gp is at file offset 0x49f91a8", sorted(hex(k) for k in writes))
    path = patched(ctx, fx, "hostile-ids.elf", writes)
    try:
        rc, out, parts, rows = gdb_bytes(ctx, "core:" + path, cmds)
        common_checks(ctx, "bad pids", rc, out, rows, brows)
        tids = [r["tid"] for r in rows]
        ctx.check(len(set(tids)) == len(tids), "thread ids are unique", sorted(tids))
        ctx.check(all(t > 0 for t in tids), "no thread id 0 or negative", sorted(tids)[:6])
        ctx.check(tids[:ncpu] == list(range(1, ncpu + 1)) and
                  all(rows[i]["name"].startswith("vCPU %d" % i) for i in range(ncpu)),
                  "threads 1..%d are the vCPUs and only they" % ncpu, rows[:ncpu + 1])
        ctx.check(all(t > ncpu for t in tids[ncpu:]), "no task has a vCPU's id", tids)
        by_name = {}
        for r in rows:
            by_name.setdefault(r["name"], []).append(r)
        base_by_tid = {r["tid"]: r for r in brows}
        fallbacks = sorted(t for t in tids if t > OS_TID_FALLBACK)
        ctx.check(len(fallbacks) == len(BAD_PIDS),
                  "each task with an impossible or taken pid has a fallback id above %d" % OS_TID_FALLBACK,
                  fallbacks)
        for pid, v in BAD_PIDS.items():
            name = base_by_tid[OS_TID_BASE + pid]["name"]
            mine = [r for r in by_name.get(name, []) if "tid %d " % v in (r.get("details") or "")]
            if not ctx.check(len(mine) == 1, "pid %d (%s) planted as %d is listed once" % (pid, name, v),
                             by_name.get(name)):
                continue
            r = mine[0]
            ctx.check(r["tid"] > OS_TID_FALLBACK, "%s: a fallback thread id (%d)" % (name, r["tid"]), r)
            ctx.check(re.search(r"\[(impossible|duplicate) pid\]", r.get("details") or "") is not None,
                      "%s: the extra info says the pid is impossible or taken" % name, r)
            ctx.check(("shown as thread %d" % r["tid"]).encode() in out,
                      "%s: xenstub warns, naming the fallback id" % name, dec(out)[:3000])
        # the tasks whose ids were claimed keep them
        for tid, name in ((1, "vCPU 0: swapper/0"), (OS_TID_BASE, "swapper/0"),
                          (OS_TID_BASE - 1, "swapper/1"), (OS_TID_BASE + 2, "kthreadd")):
            got = [r["name"] for r in rows if r["tid"] == tid]
            ctx.check(got == [name], "thread %d is still %s" % (tid, name), got)
        # the thread ids lead to the right tasks: same saved registers
        ps = dec(parts[1])
        ctx.check(all(re.search(r"^\s*%d\s+%d\s" % (p, v), ps, re.M) or
                      re.search(r"^\s*-?\d+\s+%d\s" % v, ps, re.M) for p, v in BAD_PIDS.items()),
                  "monitor ps lists every task with the pid the guest gives", ps)
        ctx.check("impossible or duplicate" in dec(parts[2]),
                  "monitor os counts the tasks with fallback ids", dec(parts[2]))
        rip_cmds = []
        for pid in BAD_PIDS:
            name = base_by_tid[OS_TID_BASE + pid]["name"]
            r = [x for x in rows if x["name"] == name and x["tid"] > OS_TID_FALLBACK]
            if r:
                rip_cmds.append((pid, r[0]["num"]))
        if rip_cmds:
            cmds2 = []
            for pid, num in rip_cmds:
                cmds2 += ["thread %d" % num, "info registers rip"]
            _, out2, parts2, _ = gdb_bytes(ctx, "core:" + path, cmds2)
            bnum = {r["tid"]: r["num"] for r in brows}
            cmds3 = []
            for pid, _ in rip_cmds:
                cmds3 += ["thread %d" % bnum[OS_TID_BASE + pid], "info registers rip"]
            _, out3, _, _ = gdb_bytes(ctx, "core:" + fx.memory, cmds3)
            a = re.findall(rb"^rip\s+(0x[0-9a-f]+)", out2, re.M)
            b = re.findall(rb"^rip\s+(0x[0-9a-f]+)", out3, re.M)
            ctx.check(len(a) == len(rip_cmds) and a == b,
                      "each fallback id selects its own task (the same saved rip as on the unmodified dump)",
                      (a, b))
    finally:
        os.unlink(path)


def test_hostile_mm(ctx):
    """A task whose mm, active_mm or pgd cannot be validated reads
    nothing, says why, and never reads another address space."""
    fx = ctx.fixture()
    tasks = linux_tasks(fx)
    so = fx.truth["struct_offsets"]
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    marker = fx.truth["marker"]
    mpid, buf = marker["pid"], int(marker["buffer_vaddr"], 16)
    pattern = marker["pattern"].encode()
    page_offset = u64(fx, cr3, fx.symbol("page_offset_base"))
    victims = {}
    by_comm = {}
    for pid, t in tasks.items():
        by_comm[fx.read_virt(cr3, field(fx, t, "comm"), 16).split(b"\0")[0]] = pid
    sa, sb = by_comm.get(b"sleeper-a"), by_comm.get(b"sleeper-b")
    if sa is None or sb is None or mpid not in tasks:
        ctx.skip("the fixture has no sleeper-a, sleeper-b or marker process")
    mm_m = u64(fx, cr3, field(fx, tasks[mpid], "mm"))
    mm_b = u64(fx, cr3, field(fx, tasks[sb], "mm"))
    pgd_b = u64(fx, cr3, mm_b + so["mm_struct.pgd"])
    writes = {
        # kthreadd (a kernel thread: mm NULL) borrows a garbage active_mm
        file_offset(fx, field(fx, tasks[2], "active_mm")): struct.pack("<Q", 0x4141414141414141),
        # marker's mm_struct points pgd at a frame the guest does not have
        file_offset(fx, mm_m + so["mm_struct.pgd"]): struct.pack("<Q", page_offset + (1 << 40)),
        # sleeper-a's mm points into the kernel half, where nothing is mapped
        file_offset(fx, field(fx, tasks[sa], "mm")): struct.pack("<Q", 0xffff800000001000),
        # sleeper-b's pgd is not page-aligned
        file_offset(fx, mm_b + so["mm_struct.pgd"]): struct.pack("<Q", pgd_b + 8),
    }
    victims = {2: "active_mm 0x4141414141414141 is not a kernel address",
               mpid: "physical",
               sa: "mm 0xffff800000001000 cannot be read",
               sb: "is not a page-aligned kernel address"}
    elf = 0x400000
    brc, bout, _, brows = baseline(ctx, fx)
    bnum = {r["tid"]: r["num"] for r in brows}

    order = list(victims) + [1]

    def reads(memory, rows):
        """For each task: x/4xb and monitor v2p at 0x400000 (the marker:
        at its buffer) on its thread."""
        num = {r["tid"]: r["num"] for r in rows}
        cmds = []
        for pid in order:
            addr = buf if pid == mpid else elf
            cmds += ["thread %d" % num[OS_TID_BASE + pid], "x/4xb 0x%x" % addr,
                     "monitor v2p 0x%x" % addr]
        return gdb_bytes(ctx, "core:" + memory, cmds)

    brc, bout, bparts, brows = baseline(ctx, fx)
    rc, bout, bparts, _ = reads(fx.memory, brows)
    ctx.check(rc == 0, "the unmodified dump: gdb ran", dec(bout)[-2000:])
    path = patched(ctx, fx, "hostile-mm.elf", writes)
    try:
        rc, out, parts, rows = gdb_bytes(ctx, "core:" + path, [])
        common_checks(ctx, "bad mm", rc, out, rows, brows)
        rc, out, hparts, _ = reads(path, rows)
        ctx.check(rc == 0, "gdb ran", dec(out)[-2000:])
        for k, pid in enumerate(order):
            got, before = dec(hparts[3 * k + 1]), dec(bparts[3 * k + 1])
            v2p = dec(hparts[3 * k + 2])
            if pid == 1:
                ctx.check("0x7f\t0x45\t0x4c\t0x46" in got and got == before,
                          "init (untouched) still reads its ELF header at 0x400000", (got, before))
                continue
            ctx.check("Cannot access memory" in got and "0x7f\t0x45" not in got,
                      "pid %d: a read through its corrupt address space is an error, not another's memory"
                      % pid, (got, before))
            if pid == 2:
                ctx.check("Cannot access memory" in before,
                          "kthreadd on the unmodified dump: 0x400000 is not mapped either", before)
            elif pid == mpid:
                want = "\t".join("0x%02x" % c for c in pattern[:4])
                ctx.check(want in before, "marker on the unmodified dump reads its buffer", before)
            else:
                ctx.check("0x7f\t0x45\t0x4c\t0x46" in before,
                          "pid %d on the unmodified dump reads its ELF header" % pid, before)
            ctx.check(victims[pid] in dec(out) and ("(pid %d)" % pid) in dec(out),
                      "pid %d: xenstub says why: ...%s..." % (pid, victims[pid]), dec(out)[-4000:])
            ctx.check("no address space" in v2p and victims[pid] in v2p,
                      "pid %d: monitor v2p refuses to translate, and says why" % pid, v2p)
    finally:
        os.unlink(path)


# On a live guest the list is rebuilt at every stop: the guest renames a
# process and gives it an impossible pid while it runs.
LIVE_PY = r'''
import gdb, json, os, signal, subprocess, threading, time
ctl = [os.environ["XSCTL"], "--socket", os.environ["XENSIM_SOCKET"]]
subprocess.run(ctl + ["start", os.environ["XSDOM"]], check=True, capture_output=True)
def stop():
    # until vCPU 0 has done both writes (bounded), then interrupt
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        s = json.loads(subprocess.run(ctl + ["state", os.environ["XSDOM"]], check=True,
                                      capture_output=True, text=True).stdout)
        if s["vcpus"][0]["counters"]["steps"] >= 3:
            break
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=stop).start()
gdb.execute("continue")
print("AFTER THE GUEST RAN")
gdb.execute("source " + os.environ["THREADS_SCRIPT"])
'''


def test_hostile_live(ctx):
    """On a live (xensim) guest: a process renames itself to a terminal
    escape and gets pid -999999 while it runs; at the next stop gdb shows
    the new name escaped and a fallback thread id, never vCPU 0's."""
    import live_support as LS
    fx = ctx.fixture()
    t = fx.truth
    if "task_struct" not in t["marker"]:
        ctx.skip("the fixture's truth.json does not give the marker's task_struct")
    task = int(t["marker"]["task_struct"], 16)
    comm, pidf = field(fx, task, "comm"), field(fx, task, "pid")
    new = b"\x1b[2J\xe9\n\0\0"
    with LS.xensim.sim_for(ctx) as sim:
        dom = LS.make_domain(ctx, sim)
        sim.workload(dom, 0, [
            {"rip": LS.h(LS.CODE), "len": 4, "access": "write", "va": LS.h(comm), "size": 8,
             "value": LS.h(int.from_bytes(new, "little"))},
            {"rip": LS.h(LS.CODE + 4), "len": 4, "access": "write", "va": LS.h(pidf), "size": 4,
             "value": LS.h(-999999 & 0xffffffff)},
            {"op": "loop"}])
        env = sim.env({"XSCTL": sim.ctl_bin, "XSDOM": str(dom),
                       "THREADS_SCRIPT": ctx.tmpfile("hostile-threads.py")})
        rc, out, parts, rows = gdb_bytes(ctx, "xen:web01", ["info threads", "monitor ps"], env=env,
                                         python=LIVE_PY)
        ctx.check(rc == 0 and b"AFTER THE GUEST RAN" in out, "gdb ran, the guest ran and stopped",
                  dec(out)[-3000:])
        half = out.split(b"AFTER THE GUEST RAN", 1)
        n_before = half[0].count(b"THREAD {") if len(half) == 2 else 0
        before, after = rows[:n_before], rows[n_before:]
        ctx.check(len(before) > 10 and len(after) == len(before),
                  "as many threads after the guest ran as before (%d)" % len(before),
                  (len(before), len(after)))
        ctx.check(b"not well-formed" not in out and not raw_controls(out),
                  "no XML error, no raw control byte in gdb's output", repr(out[-3000:]))
        mk = [r for r in after if "tid -999999 " in (r.get("details") or "")]
        ctx.check(len(mk) == 1 and mk[0]["name"] == shown(new.split(b"\0")[0]) and
                  mk[0]["tid"] > OS_TID_FALLBACK and "[impossible pid]" in mk[0]["details"],
                  "the renamed process: name %s, a fallback id, a note" % shown(new.split(b"\0")[0]), mk)
        tids = [r["tid"] for r in after]
        ctx.check(len(set(tids)) == len(tids) and tids[:2] == [1, 2] and
                  after[0]["name"].startswith("vCPU 0"),
                  "thread ids unique, 1 and 2 still the vCPUs", tids)
        ctx.check(any(r["tid"] == OS_TID_BASE + t["marker"]["pid"] for r in before),
                  "before: the marker process had its own id", [r for r in before if "marker" in r["name"]])
