# SPDX-License-Identifier: LGPL-2.1-or-later
"""Per-task registers and address spaces on the fixture dump, checked from
a gdb Python script: a marker thread reads its process's buffer with no
`monitor cr3`; a sleeping task's rip is in kernel text (in __schedule) and
its rsp in its own kernel stack; a scan of that stack, symbolized with the
guest's own /proc/kallsyms (not xenstub's), finds the call chain that led
to the sleep; a running task has its vCPU's registers."""

import json
import os
import re
import subprocess

SCRIPT = r'''
import bisect, json, re, struct
import gdb

spec = json.loads(open(%r).read())
inf = gdb.selected_inferior()

def check(cond, what, detail=""):
    print("%%s %%s%%s" %% ("PASS" if cond else "FAIL", what, "" if cond else " -- " + str(detail)[:300]))

rows = []
with open(spec["kallsyms"]) as f:
    for line in f:
        p = line.split()
        if len(p) >= 3 and p[1] in "tTwW":
            rows.append((int(p[0], 16), p[2]))
rows.sort()
addrs = [r[0] for r in rows]

def sym(a):
    i = bisect.bisect_right(addrs, a) - 1
    return rows[i][1] if i >= 0 and a - rows[i][0] < 0x10000 else None

def reg(name):
    v = gdb.selected_frame().read_register(name)
    return None if str(v) == "<unavailable>" else int(v) & 0xffffffffffffffff

threads = {t.ptid[1]: t for t in inf.threads()}
ps = gdb.execute("monitor ps", to_string=True)
task = {}
for line in ps.splitlines():
    m = re.match(r"\s*(\d+)\s+(\d+)\s+\d+\s+(\S)\s+(\S+)\s+0x([0-9a-f]+)\s+(\S+)", line)
    if m and int(m.group(2)):
        task[1000000 + int(m.group(2))] = (int(m.group(5), 16), m.group(3), m.group(4).endswith("*"))
check(len(task) >= spec["min_tasks"], "monitor ps lists the tasks with their task_struct", len(task))

# the marker's buffer, in each of its threads' own address space
pat = spec["pattern"].encode()
n = 3 * 4096 + 123
for tid in spec["marker_tids"]:
    threads[1000000 + tid].switch()
    try:
        data = bytes(inf.read_memory(spec["buf"], n))
        bad = [k for k in range(n) if data[k] != pat[k %% len(pat)]]
        check(not bad, "thread %%d: %%d bytes at the marker buffer follow the pattern" %% (tid, n), bad[:3])
    except gdb.MemoryError as e:
        check(False, "thread %%d: the marker buffer is readable" %% tid, e)
    banner = bytes(inf.read_memory(spec["banner"], 20))
    check(banner == b"Linux version " + spec["release"][:6].encode(),
          "thread %%d: kernel memory reads the same from a task" %% tid, banner)

# another process's address space does not hold it
threads[1000000 + spec["other_tid"]].switch()
try:
    data = bytes(inf.read_memory(spec["buf"], 64))
    check(data != (pat * 3)[:64], "pid %%d: the marker buffer is not in its address space" %% spec["other_tid"], data[:32])
except gdb.MemoryError:
    check(True, "pid %%d: the marker buffer is not in its address space" %% spec["other_tid"])

# sleeping tasks: the saved switch frame
n_sched = n_ok = 0
sleeping = [t for t, v in task.items() if not v[2]]
for tid in sleeping:
    addr, state, running = task[tid]
    threads[tid].switch()
    rip, rsp = reg("rip"), reg("rsp")
    stack = struct.unpack("<Q", bytes(inf.read_memory(addr + spec["off_stack"], 8)))[0]
    ok = (rip is not None and spec["text"] <= rip < spec["etext"] and
          rsp is not None and stack <= rsp < stack + spec["thread_size"])
    n_ok += ok
    if not ok:
        check(False, "tid %%d: rip in kernel text, rsp in its kernel stack" %% (tid - 1000000),
              (hex(rip or 0), hex(rsp or 0), hex(stack)))
    if sym(rip) == "__schedule":
        n_sched += 1
check(n_ok == len(sleeping) and len(sleeping) > 40,
      "%%d sleeping tasks: rip in kernel text, rsp inside task->stack .. +THREAD_SIZE" %% len(sleeping), n_ok)
check(n_sched == len(sleeping), "every sleeping task's rip is in __schedule", n_sched)
threads[1000000 + spec["marker_tids"][0]].switch()
check(reg("rax") is None and reg("eflags") is None and reg("rdi") is None,
      "registers the switch frame does not hold are unavailable", (reg("rax"), reg("eflags")))
check(reg("cs") == spec["kernel_cs"], "cs is the kernel's code selector", reg("cs"))
for r in ("rbx", "rbp", "r12", "r13", "r14", "r15"):
    check(reg(r) is not None, "%%s comes from the switch frame" %% r)

# the call chain on each stack (no frame pointers in this kernel: scan)
for tid, chain in spec["chains"].items():
    tid = int(tid)
    threads[1000000 + tid].switch()
    rsp = reg("rsp")
    top = (rsp | (spec["thread_size"] - 1)) + 1
    words = struct.unpack("<%%dQ" %% ((top - rsp) // 8), bytes(inf.read_memory(rsp, top - rsp)))
    names = [s for s in (sym(w) for w in words) if s]
    it = iter(names)
    check(all(any(c == n for n in it) for c in chain),
          "tid %%d: its stack holds the calls %%s" %% (tid, " <- ".join(chain)), names[:12])
    gdb.execute("frame 0", to_string=True)

# a running task is its vCPU
for v, regs in enumerate(spec["vcpu_regs"]):
    threads[1000000 - v].switch()
    check(reg("rip") == regs["rip"] and reg("rsp") == regs["rsp"] and reg("eflags") is not None,
          "swapper/%%d runs on vCPU %%d: its registers are the vCPU's" %% (v, v), (reg("rip"), reg("rsp")))
print("DONE")
'''


def kallsyms_text(ctx, fx):
    path = ctx.tmpfile("truth-kallsyms.txt")
    if not os.path.exists(path):
        subprocess.run(["zstd", "-q", "-d", "--long=27",
                        os.path.join(fx.src, "truth-kallsyms.txt.zst"), "-o", path], check=True)
    return path


def etext(path):
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[2] == "_etext":
                return int(p[0], 16)
    return None


def test_task_registers_and_memory(ctx):
    fx = ctx.fixture()
    t = fx.truth
    ks = kallsyms_text(ctx, fx)
    m = t["marker"]
    others = [p["pid"] for p in t["processes"] if p["comm"] == "sleep"]
    spec = {
        "kallsyms": ks,
        "min_tasks": t["thread_count"],
        "pattern": m["pattern"],
        "buf": int(m["buffer_vaddr"], 16),
        "marker_tids": [x["tid"] for x in m["threads"]],
        "other_tid": others[0],
        "banner": fx.symbol("linux_banner"),
        "release": t["kernel_release"],
        "text": fx.symbol("_text"),
        "etext": etext(ks),
        "off_stack": t["struct_offsets"]["task_struct.stack"],
        # x86_64 without KASAN: THREAD_SIZE is 4 pages
        "thread_size": 16384,
        "kernel_cs": int(t["registers"][0]["cs"]["selector"], 16),
        "chains": {
            str(m["threads"][1]["tid"]): ["schedule", "__x64_sys_pause", "do_syscall_64",
                                          "entry_SYSCALL_64_after_hwframe"],
            str(m["pid"]): ["schedule", "__x64_sys_pause", "entry_SYSCALL_64_after_hwframe"],
            str(others[0]): ["schedule", "do_nanosleep", "hrtimer_nanosleep",
                             "entry_SYSCALL_64_after_hwframe"],
            "2": ["schedule", "kthreadd", "ret_from_fork"],
        },
        "vcpu_regs": [{"rip": int(r["rip"], 16), "rsp": int(r["rsp"], 16)} for r in t["registers"]],
    }
    specfile = ctx.tmpfile("tasks-spec.json")
    with open(specfile, "w") as f:
        json.dump(spec, f)
    r = ctx.gdb([], target="core:" + fx.memory, python=SCRIPT % specfile, timeout=300)
    lines = [ln for ln in r.out.splitlines() if re.match(r"^(PASS|FAIL) ", ln)]
    ctx.check("DONE" in r.out and len(lines) > 20, "the gdb Python script ran to its end", r)
    for ln in lines:
        ctx.check(ln.startswith("PASS"), ln[5:].split(" -- ")[0], ln)
