# SPDX-License-Identifier: LGPL-2.1-or-later
"""gdb with the kernel's debug image: `gdb vmlinux -ex 'target remote |
xenstub --vmlinux vmlinux - core:...'` on the KASLR'd fixtures. xenstub
checks that the file is the guest's kernel (its functions where kallsyms
puts them, moved by one slide) and answers qOffsets with its first
segment's runtime address, so gdb moves the file by the slide: symbols,
types, `p jiffies`, `p init_task.comm` and `bt` of a sleeping task work
with no manual relocation. Without --vmlinux, gdb's file is left where
it was linked. With `xenstub --vmlinux vmlinux --gdb core:...`, xenstub
loads the file into gdb itself, the per-CPU section (x86_64) at its link
address and the rest moved by the slide, so per-CPU variables read right.
The vmlinux is the fixture kernel's Debian -dbg image (vmlinux_support:
downloaded once, skipped with the reason offline)."""

import os
import re

import vmlinux_support

FIXTURES = ("linux-x86_64", "linux-i386-pae")


def fixtures(ctx):
    """(fixture, vmlinux) for each fixture whose vmlinux can be had."""
    out, why = [], []
    for name in FIXTURES:
        try:
            fx = ctx.fixture(name)
            out.append((fx, vmlinux_support.vmlinux(ctx, fx)))
        except Exception as e:  # Skip, or a fixture that cannot be read
            why.append("%s: %s" % (name, e))
    if not out:
        ctx.skip("; ".join(why))
    for w in why:
        print("SKIP (part) %s" % w)
    return out


def value(text):
    """The address a gdb 'p &sym' or 'p (long)&sym' printed."""
    m = re.search(r"0x([0-9a-f]+)", text or "")
    return int(m.group(1), 16) if m else None


def sleeping_tid(fx):
    """A task of the marker process other than the one running: its
    sleeper children, else its worker threads."""
    m = fx.truth["marker"]
    for th in m.get("threads", []):
        if th["tid"] != m["pid"]:
            return th["tid"]
    return m["pid"]


def test_vmlinux_relocated_by_qoffsets(ctx):
    for fx, path in fixtures(ctx):
        tid = sleeping_tid(fx)
        cmds = ["monitor os", "p &init_task", "p init_task.comm", "p jiffies",
                "p linux_banner", "p &__per_cpu_offset", "p &current_task", "maint packet qOffsets",
                "python [t for t in gdb.selected_inferior().threads() "
                "if t.ptid[1] == %d][0].switch()" % (1000000 + tid), "bt 12"]
        r, out = ctx.gdb_each(cmds, target="core:" + fx.memory,
                              xenstub_args=["--vmlinux", path],
                              pre=vmlinux_support.gdb_file(path), timeout=600)
        ctx.check(out[0] is not None and "vmlinux: its first segment is at 0x" in out[0],
                  "%s: monitor os says where the vmlinux's first segment is" % fx.name,
                  out[0] or r.err[-2000:])
        ctx.check(value(out[1]) == fx.symbol("init_task"),
                  "%s: gdb's &init_task is the runtime one, 0x%x (slide applied)" % (
                      fx.name, fx.symbol("init_task")), out[1])
        ctx.check(out[2] is not None and '"swapper/0' in out[2],
                  "%s: p init_task.comm reads \"swapper/0\"" % fx.name, out[2])
        ctx.check(out[3] is not None and re.search(r"^\$\d+ = \d+\s*$", out[3].strip()) is not None,
                  "%s: p jiffies prints a number" % fx.name, out[3])
        ctx.check(out[4] is not None and fx.truth["kernel_release"] in out[4] and "Linux version" in out[4],
                  "%s: p linux_banner (read-only data) reads the banner of %s" % (
                      fx.name, fx.truth["kernel_release"]), out[4])
        ctx.check(value(out[5]) == fx.symbol("__per_cpu_offset"),
                  "%s: &__per_cpu_offset is the runtime one" % fx.name, out[5])
        if fx.truth.get("arch", "").startswith("i"):
            ctx.check(value(out[6]) == fx.symbol("current_task"),
                      "i386: the per-CPU variable current_task is at its runtime address "
                      "(32-bit per-CPU data moves with the image)", out[6])
        else:
            link = int(fx.truth["symbols"]["current_task"]["system_map"], 16)
            slide = fx.symbol("_text") - int(fx.truth["symbols"]["_text"]["system_map"], 16)
            ctx.check(value(out[6]) == link + slide,
                      "x86_64, the documented limit of this form: gdb moves the per-CPU "
                      "section by the slide too (&current_task 0x%x, not 0x%x; --gdb gets it "
                      "right)" % (link + slide, link), out[6])
        seg = re.search(r"its first segment is at 0x([0-9a-f]+)", out[0] or "")
        ctx.check(seg is not None and out[7] is not None and
                  'received: "TextSeg=%s"' % seg.group(1) in out[7],
                  "%s: qOffsets answers TextSeg with that address" % fx.name, out[7])
        ctx.check(out[9] is not None and "__schedule" in out[9] and
                  re.search(r"\bschedule \(\)", out[9]) is not None,
                  "%s: bt of sleeping thread %d names __schedule and schedule() from the "
                  "vmlinux's symbols" % (fx.name, 1000000 + tid), (out[8], out[9]))


def test_vmlinux_not_moved_without_option(ctx):
    fx, path = fixtures(ctx)[0]
    r, out = ctx.gdb_each(["p &init_task", "monitor os"], target="core:" + fx.memory,
                          pre=vmlinux_support.gdb_file(path), timeout=600)
    link = int(fx.truth["symbols"]["init_task"]["system_map"], 16)
    ctx.check(value(out[0]) == link,
              "%s: without --vmlinux, gdb's file stays at its link address 0x%x (xenstub "
              "relocates no file it was not given)" % (fx.name, link), out[0])
    ctx.check(out[1] is not None and "types: BTF" in out[1] and "its first segment is at" not in out[1],
              "%s: monitor os: types from BTF, and no vmlinux told to gdb" % fx.name, out[1])


def test_vmlinux_of_another_kernel(ctx):
    pairs = fixtures(ctx)
    if len(pairs) < 2:
        ctx.skip("needs the vmlinux of both fixtures")
    (fx, _), (_, other) = pairs[0], pairs[1]
    # gdb itself is given no file: it would not take another
    # architecture's kernel against this target
    r, out = ctx.gdb_each(["monitor os", "info threads", "maint packet qOffsets"],
                          target="core:" + fx.memory, xenstub_args=["--vmlinux", other], timeout=600)
    ctx.check(out[0] is not None and "its first segment is at" not in out[0] and
              "is not the guest's kernel" in out[0] and os.path.basename(other) in out[0],
              "%s with another kernel's vmlinux: monitor os says the file is not the guest's "
              "kernel" % fx.name, out[0])
    ctx.check(out[1] is not None and "Thread 1000001 " not in out[1] and "vCPU 0" in out[1],
              "its types are not used: the threads are the vCPUs", out[1])
    ctx.check(out[2] is not None and 'received: ""' in out[2],
              "qOffsets gets the empty reply: gdb is told no relocation", out[2])


def gdb_launched(ctx, fx, path, cmds, xenstub_args=()):
    """Runs `xenstub [xenstub_args] --vmlinux path --gdb core:DUMP -- ...
    -ex CMD...` and splits what gdb printed by command, as gdb_each
    does. Returns (Result, outputs)."""
    mark = "@@xenstub-vmlx-%d@@"
    argv = vmlinux_support.gdb_index_early()
    for i, c in enumerate(cmds):
        argv += ["-ex", "echo \\n" + mark % i + "\\n", "-ex", c]
    argv += ["-ex", "echo \\n" + mark % len(cmds) + "\\n"]
    r = ctx.xenstub_gdb("core:" + fx.memory, argv,
                        xenstub_args=list(xenstub_args) + ["--vmlinux", path], timeout=600)
    outputs = []
    for i in range(len(cmds)):
        a, b = "\n" + mark % i + "\n", "\n" + mark % (i + 1) + "\n"
        outputs.append(r.out.split(a, 1)[1].split(b, 1)[0] if a in r.out and b in r.out else None)
    return r, outputs


def test_vmlinux_loaded_by_gdb_mode(ctx):
    for fx, path in fixtures(ctx):
        ncpu = fx.truth["num_cpus"]
        cmds = ["info threads", "p &current_task", "p jiffies", "p linux_banner", "p &init_task",
                "p &__per_cpu_offset"]
        cmds += ["p (*(struct task_struct **)((char *)&current_task + __per_cpu_offset[%d]))->comm" % n
                 for n in range(ncpu)]
        r, out = gdb_launched(ctx, fx, path, cmds, xenstub_args=["-v"])
        ctx.check(r.rc == 0, "%s: xenstub --vmlinux V --gdb ... -- -batch ends with gdb's 0" % fx.name,
                  (r.rc, r.err[-3000:]))
        x86_64 = not fx.truth.get("arch", "").startswith("i")
        load = re.search(r"gdb loads the kernel image: (.*)", r.err)
        ctx.check(load is not None and "add-symbol-file" in load.group(1) and
                  (" -s .data..percpu 0x0" in load.group(1)) == x86_64,
                  "%s: xenstub -v shows the add-symbol-file it gave gdb, with -s .data..percpu 0x0 "
                  "%s" % (fx.name, "(linked at 0, below the image)" if x86_64 else
                          "absent (i386 per-CPU data lies inside the image)"),
                  load.group(0) if load else r.err[-3000:])
        # the per-CPU variable's address is its link address: an offset
        # on x86_64 (moved by nothing), the runtime one on i386
        want = int(fx.truth["symbols"]["current_task"]["system_map"], 16) if x86_64 else \
            fx.symbol("current_task")
        ctx.check(value(out[1]) == want,
                  "%s: p &current_task is 0x%x, %s" % (
                      fx.name, want, "its per-CPU offset, not moved by the slide" if x86_64 else
                      "its runtime address"), out[1])
        ctx.check(out[2] is not None and re.search(r"^\$\d+ = \d+\s*$", out[2].strip()) is not None,
                  "%s: p jiffies prints a number" % fx.name, out[2])
        ctx.check(out[3] is not None and fx.truth["kernel_release"] in out[3] and "Linux version" in out[3],
                  "%s: p linux_banner reads the banner of %s" % (fx.name, fx.truth["kernel_release"]),
                  out[3])
        ctx.check(value(out[4]) == fx.symbol("init_task"),
                  "%s: &init_task is the runtime one, 0x%x" % (fx.name, fx.symbol("init_task")), out[4])
        ctx.check(value(out[5]) == fx.symbol("__per_cpu_offset"),
                  "%s: &__per_cpu_offset is the runtime one" % fx.name, out[5])
        # each CPU's current task through the per-CPU offset, against
        # xenstub's own thread list ("vCPU N: COMM")
        running = dict(re.findall(r'"vCPU (\d+): ([^"]+)"', out[0] or ""))
        ctx.check(len(running) == ncpu, "%s: info threads names each vCPU's task" % fx.name, out[0])
        for n in range(ncpu):
            got = re.search(r'= "([^"\\]*)', out[6 + n] or "")
            ctx.check(got is not None and str(n) in running and got.group(1) == running[str(n)],
                      "%s: CPU %d's current_task (per-CPU offset + __per_cpu_offset[%d]) is the task "
                      "xenstub shows on vCPU %d, %r" % (fx.name, n, n, n, running.get(str(n))),
                      (out[6 + n], running))


def test_vmlinux_of_another_kernel_gdb_mode(ctx):
    pairs = fixtures(ctx)
    if len(pairs) < 2:
        ctx.skip("needs the vmlinux of both fixtures")
    (fx, _), (_, other) = pairs[0], pairs[1]
    r, out = gdb_launched(ctx, fx, other, ["p jiffies", "info threads"])
    ctx.check(re.search(r"--vmlinux \S*%s: not loaded into gdb" % re.escape(os.path.basename(other)),
                        r.err) is not None,
              "%s with another kernel's vmlinux and --gdb: a warning says the file is not loaded" %
              fx.name, r.err[-2000:])
    # gdb's errors go to its stderr, apart from the marks on stdout
    ctx.check(out[0] is not None and "$1" not in out[0] and "No symbol table is loaded" in r.err,
              "gdb has no file rather than one at wrong addresses", (out[0], r.err[-2000:]))
    ctx.check(out[1] is not None and "vCPU 0" in out[1], "and the session goes on", out[1])
