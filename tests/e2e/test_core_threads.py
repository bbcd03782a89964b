# SPDX-License-Identifier: LGPL-2.1-or-later
"""gdb on a QEMU dump through xenstub: every vCPU is a thread (ids 1..N,
named "vCPU n", with extra info), and selecting a thread selects that
vCPU's registers."""

import re

OS_NONE = ["--os=none"]

THREAD_ROW = re.compile(r'^(\*?)\s+(\d+)\s+Thread (\d+) "([^"]*)"(?: \(([^)]*)\))?', re.M)


def info_registers(text):
    """{name: value text} from gdb's 'info registers' lines."""
    regs = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)\s+(0x[0-9a-f]+|<unavailable>|-?\d+)", line)
        if m:
            regs[m.group(1)] = m.group(2)
    return regs


def test_threads_are_vcpus(ctx):
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    r, out = ctx.gdb_each(["info threads"], target="core:" + fx.memory,
                          xenstub_args=OS_NONE)
    rows = [x[1:] for x in THREAD_ROW.findall(out[0] or "")]
    current = [x[1] for x in THREAD_ROW.findall(out[0] or "") if x[0] == "*"]
    ctx.check(len(rows) == n, "info threads lists exactly %d threads" % n, r)
    ctx.check([int(x[0]) for x in rows] == list(range(1, n + 1)),
              "thread ids are 1..%d" % n, rows)
    ctx.check(all(x[0] == x[1] for x in rows),
              "the remote thread id equals gdb's id", rows)
    ctx.check([x[2] for x in rows] == ["vCPU %d" % i for i in range(n)],
              "threads are named vCPU 0..%d in order" % (n - 1), rows)
    ctx.check([x[3] for x in rows] == ["vCPU %d" % i for i in range(n)],
              "each thread's extra info names its vCPU", rows)
    ctx.check(current == ["1"], "thread 1 (vCPU 0) is selected at attach", out[0])


def test_vcpus_first_with_os_awareness(ctx):
    """Whatever OS-awareness finds, threads 1..N stay the vCPUs."""
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    r, out = ctx.gdb_each(["info threads"], target="core:" + fx.memory)
    rows = [x[1:] for x in THREAD_ROW.findall(out[0] or "")]
    first = rows[:n]
    ctx.check(len(rows) >= n, "at least %d threads listed" % n, r)
    ctx.check([int(x[0]) for x in first] == list(range(1, n + 1)) and
              all(re.match(r"vCPU %d(:|$)" % i, x[2]) for i, x in enumerate(first)),
              "threads 1..%d are vCPU 0..%d in order" % (n, n - 1), rows)


def test_qxfer_threads_and_extra_info(ctx):
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    cmds = ["maint packet qXfer:threads:read::0,fff"]
    cmds += ["maint packet qThreadExtraInfo,%x" % (i + 1) for i in range(n)]
    cmds += ["maint packet qThreadExtraInfo,%x" % (n + 1),
             "maint packet qfThreadInfo", "maint packet qsThreadInfo",
             "maint packet T%x" % n, "maint packet T%x" % (n + 1)]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    xml = out[0] or ""
    threads = re.findall(r'<thread id="([0-9a-f]+)" core="(\d+)" name="([^"]*)"', xml)
    ctx.check(threads == [("%x" % (i + 1), str(i), "vCPU %d" % i) for i in range(n)],
              "qXfer:threads:read lists id, core and name of each vCPU", xml)
    ctx.check(xml.count("<thread ") == n and "</threads>" in xml,
              "qXfer:threads:read is one complete document of %d threads" % n, xml)
    for i in range(n):
        m = re.search(r'received: "([0-9a-f]*)"', out[1 + i] or "")
        text = bytes.fromhex(m.group(1)).decode() if m else None
        ctx.check(text == "vCPU %d" % i,
                  "qThreadExtraInfo,%x is hex of 'vCPU %d'" % (i + 1, i), out[1 + i])
    ctx.check(re.search(r'received: "E[0-9a-f]{2}"', out[1 + n] or "") is not None,
              "qThreadExtraInfo of a thread that does not exist is an error", out[1 + n])
    ids = ",".join("%x" % (i + 1) for i in range(n))
    ctx.check('received: "m%s"' % ids in (out[2 + n] or ""),
              "qfThreadInfo lists the vCPU threads", out[2 + n])
    ctx.check('received: "l"' in (out[3 + n] or ""),
              "qsThreadInfo ends the list", out[3 + n])
    ctx.check('received: "OK"' in (out[4 + n] or ""),
              "T answers OK for the last vCPU thread", out[4 + n])
    ctx.check(re.search(r'received: "E[0-9a-f]{2}"', out[5 + n] or "") is not None,
              "T answers an error for a thread beyond the vCPUs", out[5 + n])


def test_thread_switch_selects_registers(ctx):
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    if n < 2:
        ctx.skip("the fixture has one vCPU")
    cmds = []
    for i in range(n):
        cmds += ["thread %d" % (i + 1), "info registers"]
    cmds += ["thread 1", "info registers"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    wide = fx.truth.get("elf_class", 64) == 64
    names = ["rsp", "rip", "cr3", "rcx", "rdi"] if wide else ["esp", "eip", "cr3", "ecx", "edi"]
    for i in range(n):
        ctx.check(re.search(r'Switching to thread %d\b' % (i + 1), out[2 * i] or "") is not None,
                  "thread %d switches" % (i + 1), out[2 * i])
        regs = info_registers(out[2 * i + 1] or "")
        truth = fx.truth["registers"][i]
        for name in names:
            key = "r" + name[1:] if name[0] == "e" and name != "efer" else name
            want = int(truth[key], 16)
            got = regs.get(name)
            ctx.check(got is not None and got.startswith("0x") and int(got, 16) == want,
                      "thread %d: info registers %s = 0x%x (vCPU %d)" % (i + 1, name, want, i),
                      out[2 * i + 1])
    regs = info_registers(out[-1] or "")
    want = int(fx.truth["registers"][0][names[0] if wide else "rsp"], 16)
    ctx.check(regs.get(names[0]) is not None and int(regs[names[0]], 16) == want,
              "back on thread 1, registers are vCPU 0's again", out[-1])
