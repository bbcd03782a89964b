# SPDX-License-Identifier: LGPL-2.1-or-later
"""Linux guests without BTF: the offsets found in the kernel's own code
and data. On the i386 PAE fixture (no BTF, no KALLSYMS_ALL) every task
of truth.json is a thread with its name, pid and task_struct, the marker's
threads read its buffer through their own PAE page tables, sleeping tasks
have the registers of their 32-bit switch frame, and `monitor offsets`
gives truth's offsets and says which function each came from. On the
x86_64 fixture, a copy of the dump whose BTF headers are zeroed (the
kernel in memory as if built without BTF: nothing else of xenstub's input
changes, and no test-only switch exists in xenstub) gives the same
offsets as the BTF itself, and the same tasks. With --vmlinux (the
fixture kernel's Debian -dbg image, downloaded once into .cache/vmlinux,
skipped offline) the DWARF offsets equal the ones found without it, and
on x86_64 the ones of BTF."""

import os
import re

import vmlinux_support

I386 = "linux-i386-pae"
BTF_MAGIC = bytes([0x9f, 0xeb, 1, 0, 24, 0, 0, 0])
OFFSET_ROW = re.compile(r"^(\S+)\s+(\d+|-)(?:\s+(\d+|-))?(?:\s+(.*))?$")
PS_ROW = re.compile(r"^\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(\S+)\s+(\S+)\s+0x([0-9a-f]+)\s+(.*)$")


def offsets(text):
    """{member: (offset, size, source)} from 'monitor offsets'."""
    rows = {}
    for line in (text or "").splitlines():
        m = OFFSET_ROW.match(line.strip())
        if m and ("." in m.group(1) or m.group(1).startswith(("sizeof", "THREAD"))):
            rows[m.group(1)] = (m.group(2), m.group(3), m.group(4) or "")
    return rows


def ps(text):
    """[(pid, tid, state, task, comm)] from 'monitor ps'."""
    out = []
    for line in (text or "").splitlines():
        m = PS_ROW.match(line)
        if m:
            comm = m.group(7).strip()
            if comm.startswith("[") and comm.endswith("]"):
                comm = comm[1:-1]
            out.append((int(m.group(1)), int(m.group(2)), m.group(4), int(m.group(6), 16), comm))
    return out


def i386(ctx):
    fx = ctx.fixture(I386)
    if fx.paging_mode() != "pae":
        ctx.skip("fixture %s is not a PAE guest" % I386)
    return fx


def test_i386_tasks_equal_truth(ctx):
    fx = i386(ctx)
    r, out = ctx.gdb_each(["monitor os", "monitor ps", "info threads"], target="core:" + fx.memory)
    ctx.check("types: the kernel's code and data" in (out[0] or ""),
              "monitor os: the types come from the kernel's code and data", out[0])
    rows = ps(out[1])
    got = {(p, t): (task, comm) for p, t, _, task, comm in rows if t > 0}
    want = {}
    for proc in fx.truth["processes"]:
        for th in proc["threads"]:
            want[(proc["pid"], th["tid"])] = (int(th["task_struct"], 16), th["comm_task_struct"])
    ctx.check(got == want, "monitor ps: every task of truth.json, with its pid, tid, task_struct "
              "and name, and no other (%d tasks)" % len(want),
              "missing %s\nextra %s" % (sorted(set(want.items()) - set(got.items()))[:8],
                                         sorted(set(got.items()) - set(want.items()))[:8]))
    idle = [row for row in rows if row[1] == 0]
    ctx.check(len(idle) == fx.truth["num_cpus"] and
              {row[4] for row in idle} == {"swapper/%d" % c for c in range(fx.truth["num_cpus"])},
              "one idle task per CPU, swapper/N", idle)
    threads = out[2] or ""
    for (pid, tid), (_, comm) in sorted(want.items()):
        if not re.search(r'Thread %d "%s" \(pid %d tid %d "' % (1000000 + tid, re.escape(comm), pid, tid),
                         threads):
            ctx.check(False, "gdb lists thread %d (%s)" % (1000000 + tid, comm), threads[-2000:])
            break
    else:
        ctx.check(True, "gdb lists all %d tasks as threads with their names" % len(want))


def test_i386_offsets_and_sources(ctx):
    fx = i386(ctx)
    r, out = ctx.gdb_each(["monitor offsets"], target="core:" + fx.memory)
    rows = offsets(out[0])
    for name, want in sorted(fx.truth["struct_offsets"].items()):
        ctx.check(rows.get(name, ("-",))[0] == str(want),
                  "%s is %d, as the guest's own probe found" % (name, want), rows.get(name))
    code = {"task_struct.tasks": "setpriority", "task_struct.tgid": "unhandled_signal",
            "task_struct.comm": "__get_task_comm", "task_struct.mm": "get_task_mm",
            "task_struct.flags": "get_task_mm", "task_struct.thread.sp": "__switch_to_asm",
            "task_struct.real_parent": "getppid", "task_struct.cpu": "kick_process",
            "rq.curr": "kick_process"}
    for name, fn in sorted(code.items()):
        ctx.check(fn in rows.get(name, ("", "", ""))[2] and "code of" in rows[name][2],
                  "monitor offsets: %s comes from the code of %s" % (name, fn), rows.get(name))
    frame = re.search(r"sizeof\(inactive_task_frame\)\s+(\d+)\s+(.*)", out[0] or "")
    ctx.check(frame is not None and frame.group(1) == "24" and "__switch_to_asm" in frame.group(2),
              "the 32-bit switch frame: 24 bytes (flags, si, di, bx, bp, return), from __switch_to_asm",
              frame and frame.group(0))
    text = fx.symbol("_text")
    for sym in ("init_task", "__per_cpu_offset", "current_task", "runqueues"):
        m = re.search(r"symbol %s\s+0x([0-9a-f]+)\s+code of" % re.escape(sym), out[0] or "")
        want = fx.symbol(sym) if sym in fx.truth["symbols"] else None
        ctx.check(m is not None and (want is None or int(m.group(1), 16) == want) and
                  int(m.group(1), 16) >= text,
                  "data symbol %s found in code (absent from kallsyms)%s" % (
                      sym, "" if want is None else ", at its System.map address + KASLR"),
                  m and m.group(0))


MARKER_SCRIPT = r'''
import gdb, json, struct
spec = json.loads(open(%r).read())
inf = gdb.selected_inferior()
def check(cond, what, detail=""):
    print("%%s %%s%%s" %% ("PASS" if cond else "FAIL", what, "" if cond else " -- " + str(detail)[:300]))
def reg(name):
    v = gdb.selected_frame().read_register(name)
    return None if str(v) == "<unavailable>" else int(v) & 0xffffffff
threads = {t.ptid[1]: t for t in inf.threads()}
pat = spec["pattern"].encode()
n = spec["len"]
for tid in spec["tids"]:
    threads[1000000 + tid].switch()
    try:
        data = bytes(inf.read_memory(spec["buf"], n))
        bad = [k for k in range(n) if data[k] != pat[k %% len(pat)]]
        check(not bad, "thread %%d reads the marker buffer (%%d bytes) through its own page tables" %% (tid, n), bad[:3])
    except gdb.MemoryError as e:
        check(False, "thread %%d: the marker buffer is readable" %% tid, e)
threads[1000000 + spec["other"]].switch()
try:
    data = bytes(inf.read_memory(spec["buf"], 64))
    check(data != (pat * 3)[:64], "pid %%d does not have the buffer" %% spec["other"])
except gdb.MemoryError:
    check(True, "pid %%d does not have the buffer" %% spec["other"])
ok = sched = 0
for tid in spec["sleeping"]:
    threads[1000000 + tid].switch()
    eip, esp = reg("eip"), reg("esp")
    task = spec["tasks"][str(tid)]
    stack = struct.unpack("<I", bytes(inf.read_memory(task + spec["off_stack"], 4)))[0]
    if eip is not None and spec["text"] <= eip < spec["etext"] and esp is not None and stack <= esp < stack + 8192:
        ok += 1
    if eip is not None and spec["sched"][0] <= eip < spec["sched"][1]:
        sched += 1
check(ok == len(spec["sleeping"]), "%%d sleeping tasks: eip in kernel text, esp in the task's own stack" %% len(spec["sleeping"]), ok)
check(sched == len(spec["sleeping"]), "every sleeping task's eip is in __schedule (after its call to __switch_to_asm)", sched)
threads[1000000 + spec["tids"][0]].switch()
check(reg("eax") is None and reg("ebx") is not None and reg("ebp") is not None and reg("esi") is not None and reg("edi") is not None,
      "ebx, ebp, esi, edi come from the switch frame; eax, which it does not hold, is unavailable", (reg("eax"), reg("ebx")))
fl = reg("eflags")
check(fl is not None and fl & 2 and not fl & 0xffc08028,
      "eflags comes from the switch frame's pushfl (bit 1 set, reserved bits clear)", fl)
print("DONE")
'''


def kallsyms_range(ctx, fx, name):
    import subprocess
    path = ctx.tmpfile("kallsyms-%s.txt" % fx.name)
    if not os.path.exists(path):
        subprocess.run(["zstd", "-q", "-d", "--long=27", os.path.join(fx.src, "truth-kallsyms.txt.zst"),
                        "-o", path], check=True)
    rows = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[1] in "tT":
                rows.append((int(p[0], 16), p[2]))
    rows.sort()
    for i, (a, n) in enumerate(rows):
        if n == name:
            return a, rows[i + 1][0]
    return None


def test_i386_marker_threads_and_frames(ctx):
    import json
    fx = i386(ctx)
    m = fx.truth["marker"]
    r, out = ctx.gdb_each(["monitor offsets", "monitor ps"], target="core:" + fx.memory)
    stack = offsets(out[0]).get("task_struct.stack", ("-",))[0]
    if stack == "-":
        ctx.check(False, "monitor offsets has task_struct.stack", out[0])
        return
    rows = ps(out[1])
    sched = kallsyms_range(ctx, fx, "__schedule")
    tids = [t["tid"] for t in m["threads"]]
    sleeping = [t for p, t, st, _, _ in rows if t > 0 and "*" not in st and st not in ("R",)]
    spec = {"pattern": m["pattern"], "buf": int(m["buffer_vaddr"], 16), "len": m["buffer_len"],
            "tids": tids, "other": 1, "sleeping": sleeping,
            "tasks": {str(t): task for p, t, _, task, _ in rows if t > 0},
            "off_stack": int(stack), "text": fx.symbol("_text"), "etext": fx.symbol("_etext"),
            "sched": list(sched)}
    path = ctx.tmpfile("i386-marker.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    r = ctx.gdb([], target="core:" + fx.memory, python=MARKER_SCRIPT % path, timeout=300)
    lines = [ln for ln in r.out.splitlines() if ln.startswith(("PASS", "FAIL"))]
    ctx.check("DONE" in r.out and len(sleeping) > 40, "the gdb Python script ran to its end", r.out[-2000:] + r.err[-2000:])
    for ln in lines:
        ctx.check(ln.startswith("PASS"), ln[5:].split(" -- ")[0], ln)


def nobtf_copy(ctx, fx):
    """A copy of the fixture's dump whose BTF headers are zeroed."""
    path = ctx.tmpfile("%s-nobtf.elf" % fx.name)
    if os.path.exists(path):
        return path
    with open(fx.memory, "rb") as f:
        data = bytearray(f.read())
    n, i = 0, data.find(BTF_MAGIC)
    while i >= 0:
        data[i:i + 2] = b"\0\0"
        n += 1
        i = data.find(BTF_MAGIC, i + 1)
    if not n:
        ctx.skip("fixture %s has no BTF to hide" % fx.name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# what the inference must find on a 6.1 x86_64 kernel
MUST = ("task_struct.tasks", "task_struct.pid", "task_struct.tgid", "task_struct.comm",
        "task_struct.__state", "task_struct.exit_state", "task_struct.flags", "task_struct.mm",
        "task_struct.active_mm", "task_struct.stack", "task_struct.real_parent",
        "task_struct.group_leader", "task_struct.thread_group", "task_struct.thread.sp",
        "task_struct.cpu", "task_struct.on_cpu", "mm_struct.pgd", "rq.curr", "rq.idle",
        "sizeof(inactive_task_frame)", "inactive_task_frame.bx", "inactive_task_frame.bp",
        "inactive_task_frame.r12", "inactive_task_frame.r15", "inactive_task_frame.ret_addr")


def test_x86_64_without_btf_equals_btf(ctx):
    fx = ctx.fixture()
    cmds = ["monitor os", "monitor offsets", "monitor ps"]
    r1, with_btf = ctx.gdb_each(cmds, target="core:" + fx.memory)
    r2, without = ctx.gdb_each(cmds, target="core:" + nobtf_copy(ctx, fx))
    ctx.check("types: BTF" in (with_btf[0] or ""), "the fixture as it is: types from BTF", with_btf[0])
    ctx.check("types: the kernel's code and data (no BTF" in (without[0] or ""),
              "BTF hidden: types from the kernel's code and data", without[0])
    a, b = offsets(with_btf[1]), offsets(without[1])
    for name in MUST:
        ctx.check(b.get(name, ("-",))[0] != "-", "without BTF, %s is found" % name, b.get(name))
    differ = [(n, a.get(n), v) for n, v in b.items()
              if v[0] != "-" and not n.startswith("sizeof(task") and a.get(n, ("?",))[:2] != v[:2]]
    ctx.check(not differ and len(b) > 20,
              "every offset found without BTF equals BTF's (%d rows)" %
              len([v for v in b.values() if v[0] != "-"]), differ)
    ctx.check(ps(with_btf[2]) == ps(without[2]) and len(ps(without[2])) == fx.truth["thread_count"] + 2,
              "the same %d tasks, pids, states and names with and without BTF" % len(ps(without[2])),
              "%s\n---\n%s" % (with_btf[2], without[2]))


def test_vmlinux_dwarf(ctx):
    for name in ("linux-x86_64", I386):
        try:
            fx = ctx.fixture(name)
        except Exception as e:  # a missing fixture: the other one still runs
            print("SKIP %s: %s" % (name, e))
            continue
        path = vmlinux_support.vmlinux(ctx, fx)
        cmds = ["monitor os", "monitor offsets", "monitor ps"]
        r1, dw = ctx.gdb_each(cmds, target="core:" + fx.memory,
                              xenstub_args=["--vmlinux", path])
        target = fx.memory if name == I386 else nobtf_copy(ctx, fx)
        r2, inf = ctx.gdb_each(cmds, target="core:" + target)
        ctx.check("types: DWARF of vmlinux" in (dw[0] or ""), "%s: --vmlinux: types from its DWARF" % name, dw[0])
        a, b = offsets(dw[1]), offsets(inf[1])
        differ = [(n, a.get(n), v) for n, v in b.items()
                  if v[0] != "-" and not n.startswith("sizeof(task") and a.get(n, ("?",))[:2] != v[:2]]
        ctx.check(not differ and len(b) > 20, "%s: every offset found in the kernel's code and data "
                  "equals the DWARF one" % name, differ)
        ctx.check(ps(dw[2]) == ps(inf[2]) and len(ps(dw[2])) == fx.truth["thread_count"] + fx.truth["num_cpus"],
                  "%s: the same tasks with --vmlinux as without" % name, "%s\n---\n%s" % (dw[2], inf[2]))
        if name == "linux-x86_64":
            r3, btf = ctx.gdb_each(["monitor offsets"], target="core:" + fx.memory)
            c = offsets(btf[0])
            ctx.check(a and {n: v[:2] for n, v in a.items()} == {n: v[:2] for n, v in c.items()},
                      "x86_64: the DWARF offsets equal BTF's, row for row (%d rows)" % len(c),
                      sorted(set((n, v[:2]) for n, v in a.items()) ^ set((n, v[:2]) for n, v in c.items())))
