# SPDX-License-Identifier: LGPL-2.1-or-later
"""Each vCPU's registers as gdb shows them equal the ones QEMU printed
before the dump (truth.json), and registers the dump does not record are
<unavailable>, never zeros."""

import re

OS_NONE = ["--os=none"]

# truth.json key -> gdb register name (x86_64)
NAMES64 = {k: k for k in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                          "rip", "cr0", "cr2", "cr3", "cr4", "efer",
                          "fs_base", "gs_base")}
NAMES64["rflags"] = "eflags"
NAMES32 = {"r" + k: "e" + k for k in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip")}
NAMES32.update({k: k for k in ("cr0", "cr2", "cr3", "cr4", "efer")})
NAMES32["rflags"] = "eflags"
REQUIRED = ("rip", "rsp", "cr0", "cr3", "cr4", "efer")
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")


def parse_registers(text):
    regs = {}
    for line in (text or "").splitlines():
        m = re.match(r"^(\w+)\s+(0x[0-9a-f]+|<unavailable>)", line)
        if m:
            regs[m.group(1)] = m.group(2)
    return regs


def test_registers_equal_truth(ctx):
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    names = NAMES64 if fx.truth.get("elf_class", 64) == 64 else NAMES32
    cmds = []
    for i in range(n):
        cmds += ["thread %d" % (i + 1), "info all-registers"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    for i in range(n):
        truth = fx.truth["registers"][i]
        regs = parse_registers(out[2 * i + 1])
        ctx.check(len(regs) > 20, "vCPU %d: info all-registers prints registers" % i, r)
        for key in REQUIRED:
            ctx.check(names.get(key) in regs,
                      "vCPU %d: gdb shows %s" % (i, names.get(key)), out[2 * i + 1])
        compared = 0
        for key, name in sorted(names.items()):
            if key not in truth or name not in regs:
                continue
            want = int(truth[key], 16)
            got = regs[name]
            ok = got != "<unavailable>" and int(got, 16) == want
            ctx.check(ok, "vCPU %d: %s = 0x%x" % (i, name, want),
                      "gdb: %s = %s" % (name, got))
            compared += 1
        for seg in SEGMENTS:
            if seg in truth and seg in regs:
                want = int(truth[seg]["selector"], 16)
                ctx.check(regs[seg] != "<unavailable>" and int(regs[seg], 16) == want,
                          "vCPU %d: %s selector = 0x%x" % (i, seg, want), regs[seg])
        ctx.check(compared >= len(REQUIRED),
                  "vCPU %d: at least the required registers were compared (%d)" % (i, compared))


def test_unrecorded_registers_unavailable(ctx):
    """A QEMU dump records no x87/SSE state and no CR8: gdb must say
    <unavailable> rather than show zeros."""
    fx = ctx.fixture()
    cmds = ["info registers cr8", "info registers st0", "info registers mxcsr",
            "p $xmm0.uint128", "p $st7", "p $fctrl", "info all-registers"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check(re.search(r"^cr8\s+<unavailable>", out[0] or "", re.M) is not None,
              "cr8 is <unavailable>", out[0])
    ctx.check(re.search(r"^st0\s+<unavailable>", out[1] or "", re.M) is not None,
              "st0 is <unavailable>", out[1])
    ctx.check(re.search(r"^mxcsr\s+<unavailable>", out[2] or "", re.M) is not None,
              "mxcsr is <unavailable>", out[2])
    for j, what in ((3, "$xmm0.uint128"), (4, "$st7"), (5, "$fctrl")):
        ctx.check(re.search(r"^\$\d+ = <unavailable>", out[j] or "", re.M) is not None,
                  "p %s is <unavailable>" % what, out[j])
    regs = parse_registers(out[6])
    fpu = [k for k in regs if re.match(r"^(st[0-7]|f(ctrl|stat|tag|iseg|ioff|oseg|ooff|op)|mxcsr)$", k)]
    ctx.check(len(fpu) >= 9 and all(regs[k] == "<unavailable>" for k in fpu),
              "every x87/SSE control register listed is <unavailable>",
              {k: regs[k] for k in fpu})
    xmm = re.findall(r"^(xmm\d+)\s+(.*)$", out[6] or "", re.M)
    ctx.check(len(xmm) >= 8 and all("<unavailable>" in v and not re.search(r"0x[0-9a-f]", v)
                                    for _, v in xmm),
              "every xmm register is <unavailable>", xmm[:2])
