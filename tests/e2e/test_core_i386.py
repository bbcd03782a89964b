# SPDX-License-Identifier: LGPL-2.1-or-later
"""gdb on the dump of a 32-bit PAE Linux guest (fixture linux-i386-pae,
built by make fixtures: Debian's 686-pae kernel under qemu-system-i386):
i386 registers of each vCPU equal the ones QEMU printed, kernel text and
data and a user process's memory read through the PAE page tables equal
the ground truth and the harness's own walk of memory.elf; then the
generic dump tests that hold for any x86 guest, run on this fixture.
Skipped when the fixture is not built."""

import os
import re

# private names: run.py runs every module-level name that starts with test_
import test_core_basic as _basic
import test_core_memory as _memory
import test_core_monitor as _monitor
import test_core_readonly as _readonly
import test_core_registers as _registers
import test_core_threads as _threads

FIXTURE = "linux-i386-pae"
OS_NONE = ["--os=none"]
PAGE = 4096

# truth.json key (QEMU's info registers) -> gdb's i386 register name
GPRS = ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip")
CONTROL = ("cr0", "cr2", "cr3", "cr4", "efer", "fs_base", "gs_base")
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")


class _OnI386:
    """The test context, with this fixture as the default one: the generic
    dump tests then run on the i386 guest."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def fixture(self, name=FIXTURE):
        return self._ctx.fixture(name)


def fixture(ctx):
    fx = ctx.fixture(FIXTURE)
    if fx.paging_mode() != "pae":
        ctx.skip("fixture %s is not a PAE guest (paging mode %r)" % (FIXTURE, fx.truth.get("paging_mode")))
    return fx


def registers(text):
    """{name: value text} from gdb's 'info registers' lines."""
    regs = {}
    for line in (text or "").splitlines():
        m = re.match(r"^(\w+)\s+(0x[0-9a-f]+|<unavailable>)", line)
        if m:
            regs[m.group(1)] = m.group(2)
    return regs


def marker(fx):
    m = fx.truth["marker"]
    return (int(m["buffer_vaddr"], 16), m["buffer_len"], m["pattern"].encode(),
            int(m["pgd_phys"], 16), [int(p, 16) for p in m.get("buffer_phys_pages", [])])


def pattern_bytes(pattern, start, n):
    return bytes(pattern[(start + i) % len(pattern)] for i in range(n))


def test_target_is_i386(ctx):
    fx = fixture(ctx)
    r, out = ctx.gdb_each(["monitor version", "show architecture", "p sizeof(void *)"],
                          target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check("QEMU ELF dump (i386)" in (out[0] or "") and
              "%d vCPUs" % fx.truth["num_cpus"] in (out[0] or ""),
              "monitor version names an i386 QEMU dump of %d vCPUs" % fx.truth["num_cpus"], out[0])
    ctx.check('currently "i386"' in (out[1] or ""), "gdb takes the target for i386", out[1])
    ctx.check(re.search(r"^\$\d+ = 4$", out[2] or "", re.M) is not None,
              "pointers are 4 bytes", out[2])


def test_registers_equal_truth(ctx):
    fx = fixture(ctx)
    n = fx.truth["num_cpus"]
    cmds = []
    for i in range(n):
        cmds += ["thread %d" % (i + 1), "info all-registers"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    for i in range(n):
        truth = fx.truth["registers"][i]
        regs = registers(out[2 * i + 1])
        ctx.check("rax" not in regs and "rip" not in regs,
                  "vCPU %d: gdb shows the i386 register set (no rax, rip)" % i, out[2 * i + 1])
        for key in GPRS + CONTROL:
            want = int(truth[key], 16)
            got = regs.get(key)
            ctx.check(got not in (None, "<unavailable>") and int(got, 16) == want,
                      "vCPU %d: %s = 0x%x" % (i, key, want), "gdb: %s = %s" % (key, got))
        got = regs.get("eflags")
        want = truth.get("rflags", truth.get("efl"))   # QEMU prints EFL= for i386
        ctx.check(got not in (None, "<unavailable>") and int(got, 16) == int(want, 16),
                  "vCPU %d: eflags = %s" % (i, want), got)
        for seg in SEGMENTS:
            want = int(truth[seg]["selector"], 16)
            ctx.check(regs.get(seg) not in (None, "<unavailable>") and int(regs[seg], 16) == want,
                      "vCPU %d: %s selector = 0x%x" % (i, seg, want), regs.get(seg))
        cr4 = int(truth["cr4"], 16)
        ctx.check(cr4 & (1 << 5) and not int(truth["efer"], 16) & (1 << 10),
                  "vCPU %d: the truth is PAE paging (CR4.PAE, not EFER.LMA)" % i)


def test_banner_through_each_vcpu(ctx):
    fx = fixture(ctx)
    banner = fx.symbol("linux_banner")
    n = fx.truth["num_cpus"]
    cmds = []
    for i in range(n):
        cmds += ["thread %d" % (i + 1), "x/s 0x%x" % banner]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    line = fx.truth["proc_version"].strip()
    for i in range(n):
        text = out[2 * i + 1] or ""
        m = re.search(r'^0x%x:\s+"(.*)"$' % banner, text, re.M)
        ctx.check(m is not None and m.group(1) in (line, line + "\\n"),
                  "thread %d (CR3 %s): x/s linux_banner (System.map + KASLR offset) prints the "
                  "guest's /proc/version" % (i + 1, fx.truth["registers"][i]["cr3"]), text)


def v2p_levels(text):
    """[(name, entry address, entry)] and the physical address of a
    'monitor v2p' answer."""
    levels = [(m.group(1), int(m.group(2), 16), int(m.group(3), 16))
              for m in re.finditer(r"^\s+(PDPTE|PDE|PTE)\s+at (0x[0-9a-f]+) = (0x[0-9a-f]+)",
                                   text or "", re.M)]
    m = re.search(r"^physical (0x[0-9a-f]+)", text or "", re.M)
    return levels, int(m.group(1), 16) if m else None


def test_v2p_pae_walks(ctx):
    """monitor v2p shows the PAE walk of kernel text, kernel data and the
    marker's buffer as the harness walks it in memory.elf; PDPTEs with
    the Accessed bit set (Linux sets it) are walked."""
    fx = fixture(ctx)
    buf, blen, pattern, pgd, frames = marker(fx)
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    kernel = [fx.symbol("_text"), fx.symbol("linux_banner"), fx.symbol("init_task")]
    user = [buf + i * PAGE for i in range(blen // PAGE)]
    cmds = ["monitor v2p 0x%x" % va for va in kernel]
    cmds += ["monitor cr3 0x%x" % pgd] + ["monitor v2p 0x%x" % va for va in user]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    accessed = 0
    for j, (root, va, text) in enumerate([(cr3, va, out[k]) for k, va in enumerate(kernel)] +
                                         [(pgd, va, out[len(kernel) + 1 + k])
                                          for k, va in enumerate(user)]):
        want = fx.walk(root, va)
        levels, phys = v2p_levels(text)
        ctx.check(not want["fault"] and "PAE paging" in (text or "") and levels == want["levels"]
                  and phys == want["paddr"],
                  "v2p 0x%x (CR3 0x%x): the PAE levels and physical 0x%x of the harness's walk" % (
                      va, root, want.get("paddr") or 0), {"xenstub": text, "harness": want})
        accessed += bool(levels and levels[0][2] & 0x20)
    ctx.check(accessed > 0, "the walks went through PDPTEs with the Accessed bit set (%d)" % accessed)
    code = [k for k in fx.truth["kaslr"]["kernel_image_physical"] if k["name"] == "Kernel code"]
    _, phys = v2p_levels(out[0])
    ctx.check(code and phys == int(code[0]["start"], 16),
              "_text is at the physical start of Kernel code (/proc/iomem)", out[0])
    if frames:
        got = [v2p_levels(out[len(kernel) + 1 + k])[1] for k in range(len(user))]
        ctx.check(got == frames, "the marker buffer's pages are at the frames /proc/self/pagemap gave",
                  {"xenstub": got, "pagemap": frames})


def test_marker_buffer(ctx):
    """The marker's whole buffer through its page tables, and one of its
    frames in physical mode."""
    fx = fixture(ctx)
    buf, blen, pattern, pgd, frames = marker(fx)
    whole = ctx.tmpfile("i386-marker.bin")
    phys = ctx.tmpfile("i386-frame.bin")
    cmds = ["monitor cr3 0x%x" % pgd,
            "dump binary memory %s 0x%x 0x%x" % (whole, buf, buf + blen),
            "monitor cr3 default",
            "x/4xb 0x%x" % buf]
    if frames:
        cmds += ["monitor phys on",
                 "dump binary memory %s 0x%x 0x%x" % (phys, frames[3], frames[3] + PAGE),
                 "monitor phys off"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    data = open(whole, "rb").read() if os.path.exists(whole) else b""
    ctx.check(data == pattern_bytes(pattern, 0, blen),
              "the marker's %d-byte buffer at 0x%x through its page tables (CR3 0x%x) holds the "
              "pattern" % (blen, buf, pgd), out[1])
    if fx.walk(int(fx.truth["registers"][0]["cr3"], 16), buf)["fault"]:
        ctx.check("Cannot access memory at address 0x%x" % buf in (out[3] or ""),
                  "in vCPU 0's address space the buffer address is not mapped", out[3])
    if frames:
        data = open(phys, "rb").read() if os.path.exists(phys) else b""
        ctx.check(data == pattern_bytes(pattern, 3 * PAGE, PAGE),
                  "monitor phys on: frame 0x%x holds page 3 of the buffer" % frames[3], out[5])


def test_task_structs(ctx):
    """Kernel data in the direct map: init_task's comm at its System.map
    address, and each user process's task_struct.comm at the address the
    guest's own task walk gave (truth.json)."""
    fx = fixture(ctx)
    so = fx.truth.get("struct_offsets") or {}
    if "task_struct.comm" not in so:
        ctx.skip("fixture %s records no task_struct offsets" % FIXTURE)
    comm = so["task_struct.comm"]
    procs = [p for p in fx.truth["processes"] if not p["kernel_thread"] and "task_struct" in p]
    cmds = ["x/s 0x%x" % (fx.symbol("init_task") + comm)]
    cmds += ["x/s 0x%x" % (int(p["task_struct"], 16) + comm) for p in procs]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check(re.search(r':\s+"swapper/0"$', out[0] or "", re.M) is not None,
              "init_task.comm is swapper/0", out[0])
    ctx.check(len(procs) >= 5, "the truth has the task_struct of the user processes (%d)" % len(procs))
    for p, text in zip(procs, out[1:]):
        ctx.check(re.search(r':\s+"%s"$' % re.escape(p["comm_task_struct"]), text or "", re.M)
                  is not None,
                  "pid %d: task_struct.comm at %s is %r" % (p["pid"], p["task_struct"], p["comm_task_struct"]),
                  text)


def test_vcpus_with_os_awareness(ctx):
    """With OS-awareness on (the default), threads 1..N are still the vCPUs
    with their registers, and monitor os answers."""
    fx = fixture(ctx)
    n = fx.truth["num_cpus"]
    cmds = ["info threads", "monitor os"]
    for i in range(n):
        cmds += ["thread %d" % (i + 1), "info registers eip esp cr3"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory)
    rows = re.findall(r'^\*?\s+(\d+)\s+Thread (\d+) "([^"]*)"', out[0] or "", re.M)
    ctx.check(len(rows) >= n and [(int(a), b) for a, b, _ in rows[:n]] ==
              [(i + 1, str(i + 1)) for i in range(n)] and
              all(re.match(r"vCPU %d(:|$)" % i, name) for i, (_, _, name) in enumerate(rows[:n])),
              "threads 1..%d are vCPU 0..%d" % (n, n - 1), out[0])
    ctx.check(bool((out[1] or "").strip()) and "linux" in (out[1] or "").lower(),
              "monitor os says what it found of the guest (linux named)", out[1])
    for i in range(n):
        regs = registers(out[3 + 2 * i])
        want = fx.truth["registers"][i]
        ctx.check(all(regs.get(k) not in (None, "<unavailable>") and int(regs[k], 16) == int(want[k], 16)
                      for k in ("eip", "esp", "cr3")),
                  "thread %d: eip, esp, cr3 of vCPU %d" % (i + 1, i), out[3 + 2 * i])


# ---- the generic dump tests, on this fixture

def _generic(test):
    def run(ctx):
        fixture(ctx)
        test(_OnI386(ctx))
    run.__doc__ = "%s, on the i386 PAE fixture" % test.__name__
    return run


test_generic_basic_banner = _generic(_basic.test_banner)
test_generic_memory_banner = _generic(_memory.test_banner)
test_generic_marker_buffer_through_cr3 = _generic(_memory.test_marker_buffer_through_cr3)
test_generic_unmapped = _generic(_memory.test_unmapped_and_noncanonical)
test_generic_dump_memory_kernel = _generic(_memory.test_dump_memory_kernel)
test_generic_find = _generic(_memory.test_find)
test_generic_qcrc = _generic(_memory.test_qcrc)
test_generic_qsearch = _generic(_memory.test_qsearch)
test_generic_v2p = _generic(_memory.test_v2p)
test_generic_monitor_help = _generic(_monitor.test_help_lists_every_command)
test_generic_monitor_without_os = _generic(_monitor.test_os_commands_without_os)
test_generic_monitor_bad_arguments = _generic(_monitor.test_unknown_and_bad_arguments)
test_generic_monitor_version_stats = _generic(_monitor.test_version_and_stats)
test_generic_breakpoints_refused = _generic(_readonly.test_breakpoints_refused)
test_generic_run_control_refused = _generic(_readonly.test_run_control_refused)
test_generic_unrecorded_registers = _generic(_registers.test_unrecorded_registers_unavailable)
test_generic_threads_are_vcpus = _generic(_threads.test_threads_are_vcpus)
test_generic_qxfer_threads = _generic(_threads.test_qxfer_threads_and_extra_info)
test_generic_vcpus_first = _generic(_threads.test_vcpus_first_with_os_awareness)
