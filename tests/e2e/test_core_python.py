# SPDX-License-Identifier: LGPL-2.1-or-later
"""A gdb Python script (gdb -x) against a dump: it walks every thread,
reads registers with Frame.read_register and memory with
Inferior.read_memory, and prints PASS/FAIL lines that this test checks."""

import json
import re

SCRIPT = r'''
import json
import gdb

spec = json.loads(%r)
inf = gdb.selected_inferior()
count = 0

def check(cond, what, detail=""):
    global count
    count += 1
    print("%%s %%s%%s" %% ("PASS" if cond else "FAIL", what, "" if cond else " -- " + str(detail)))

def reg(frame, name):
    v = frame.read_register(name)
    return None if str(v) == "<unavailable>" else int(v) & 0xffffffffffffffff

threads = sorted(inf.threads(), key=lambda t: t.num)
check([t.num for t in threads] == list(range(1, spec["ncpus"] + 1)),
      "threads are 1..%%d" %% spec["ncpus"], [t.num for t in threads])
for t in threads:
    t.switch()
    frame = gdb.selected_frame()
    i = t.num - 1
    check(t.name == "vCPU %%d" %% i, "thread %%d is named vCPU %%d" %% (t.num, i), t.name)
    check(t.ptid[1] == t.num, "thread %%d has remote id %%d" %% (t.num, t.num), t.ptid)
    check(t.is_valid() and t.is_stopped(), "thread %%d is valid and stopped" %% t.num)
    for name, want in sorted(spec["regs"][i].items()):
        got = reg(frame, name)
        check(got == want, "vCPU %%d %%s = 0x%%x" %% (i, name, want),
              None if got is None else hex(got))
    check(frame.pc() == spec["regs"][i][spec["pc"]], "vCPU %%d frame pc = its rip" %% i, hex(frame.pc()))
    check(str(frame.read_register("cr8")) == "<unavailable>", "vCPU %%d cr8 is unavailable" %% i)
    check(str(frame.read_register("st0")) == "<unavailable>", "vCPU %%d st0 is unavailable" %% i)
    data = bytes(inf.read_memory(spec["banner"], len(spec["banner_text"])))
    check(data.decode(errors="replace") == spec["banner_text"],
          "vCPU %%d: read_memory(linux_banner) is the banner" %% i, data[:40])

threads[0].switch()
gdb.execute("monitor cr3 0x%%x" %% spec["pgd"], to_string=True)
n = spec["marker_len"]
data = bytes(inf.read_memory(spec["buf"], n))
pat = spec["pattern"].encode()
bad = [k for k in range(n) if data[k] != pat[k %% len(pat)]]
check(len(data) == n and not bad, "marker: %%d bytes through monitor cr3 follow the pattern" %% n,
      bad[:4])
gdb.execute("monitor cr3 default", to_string=True)
try:
    inf.read_memory(spec["buf"], 16)
    check(spec["buf_mapped_default"], "marker buffer without cr3 override: readable as the walk says")
except gdb.MemoryError as e:
    check(not spec["buf_mapped_default"], "marker buffer without cr3 override: MemoryError as the walk says", e)
try:
    inf.read_memory(spec["unmapped"], 8)
    check(False, "read_memory at an unmapped address raises MemoryError")
except gdb.MemoryError as e:
    check("Cannot access memory at address 0x%%x" %% spec["unmapped"] in str(e),
          "read_memory at an unmapped address raises MemoryError", e)
found = inf.search_memory(spec["banner"] - 0x1000, 0x3000, spec["banner_text"].encode())
check(found == spec["banner"], "search_memory finds the banner", found)
print("DONE %%d checks" %% count)
'''


def test_python_walk(ctx):
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    wide = fx.truth.get("elf_class", 64) == 64
    names = (["rip", "rsp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r15",
              "cr0", "cr2", "cr3", "cr4", "efer", "gs_base"] if wide else
             ["rip", "rsp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "cr0", "cr3", "cr4"])
    regs = []
    for i in range(n):
        t = fx.truth["registers"][i]
        regs.append({(k if wide or not k.startswith("r") else "e" + k[1:]): int(t[k], 16)
                     for k in names if k in t})
    m = fx.truth["marker"]
    buf = int(m["buffer_vaddr"], 16)
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    unmapped = None
    for idx in range(1, 256):
        if fx.walk(cr3, idx << 39)["fault"] == "not present":
            unmapped = idx << 39
            break
    if unmapped is None or not wide:
        ctx.skip("the script is written for a 4-level x86_64 guest")
    banner_text = fx.truth["proc_version"].strip()
    spec = {"ncpus": n, "regs": regs, "pc": "rip" if wide else "eip",
            "banner": fx.symbol("linux_banner"), "banner_text": banner_text,
            "pgd": int(m["pgd_phys"], 16), "buf": buf,
            "marker_len": min(m["buffer_len"], 5 * 4096 + 17), "pattern": m["pattern"],
            "buf_mapped_default": fx.read_virt(cr3, buf, 16) is not None,
            "unmapped": unmapped}
    r = ctx.gdb(target="core:" + fx.memory, xenstub_args=["--os=none"],
                python=SCRIPT % json.dumps(spec))
    lines = re.findall(r"^(PASS|FAIL) (.*)$", r.out, re.M)
    done = re.search(r"^DONE (\d+) checks$", r.out, re.M)
    ctx.check(done is not None, "the gdb Python script ran to the end", r)
    ctx.check(done is not None and int(done.group(1)) == len(lines),
              "every check of the script printed a line", r)
    expected = 1 + n * (3 + len(names) + 4) + 4
    ctx.check(len(lines) == expected, "the script made %d checks" % expected, len(lines))
    for verdict, what in lines:
        ctx.check(verdict == "PASS", "gdb Python: " + what)
    ctx.check(r.rc == 0, "gdb exited 0", r)
