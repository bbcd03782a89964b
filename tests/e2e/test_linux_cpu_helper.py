# SPDX-License-Identifier: LGPL-2.1-or-later
"""Which CPU a thread is on, for the kernel's gdb scripts, with no vmlinux
and no download: `monitor cpu THREAD` on the fixture dump (vCPU threads,
the running tasks' threads, a sleeping task's, bad input), and
xenstub-gdb.py against a stand-in for the scripts' modules (a `linux`
package whose get_current_cpu() and get_current_task() give up as the
real ones do against an unknown server or on i386, and whose lx-symbols
reload drops every symbol file and loads "vmlinux" by name): imported
after or before the file is sourced, get_current_cpu() is xenstub's
answer on each thread and the reload keeps gdb's symbols."""

import os
import re

import test_linux_vmlinux as lv

CPUS = """import gdb


def get_current_cpu():
    raise gdb.GdbError("Sorry, obtaining the current CPU is not yet supported with this gdb server.")


def get_current_task(cpu):
    raise gdb.GdbError("Sorry, obtaining the current task is not yet supported with this arch")


def per_cpu(var_ptr, cpu):
    return var_ptr.dereference()
"""

SYMBOLS = """import gdb


def reload():
    gdb.execute("symbol-file", to_string=True)
    gdb.execute("symbol-file vmlinux")
"""


def stand_in(ctx):
    """A folder holding the stand-in `linux` package."""
    root = ctx.tmpfile("lx-stand-in")
    os.makedirs(os.path.join(root, "linux"), exist_ok=True)
    for name, text in (("__init__.py", ""), ("cpus.py", CPUS), ("symbols.py", SYMBOLS)):
        with open(os.path.join(root, "linux", name), "w") as f:
            f.write(text)
    return root


def test_monitor_cpu(ctx):
    fx = ctx.fixture()
    ncpu = fx.truth["num_cpus"]
    sleeper = 1000000 + lv.sleeping_tid(fx)
    r, out = ctx.gdb_each(["info threads", "monitor ps"], target="core:" + fx.memory)
    tasks_on = re.findall(r'Thread (\d+) "[^"]+" \(pid \d+ tid \d+ "[^"]*" R \(running on vCPU (\d+)\)\)',
                          out[0] or "")
    ctx.check(len(tasks_on) == ncpu, "a running task thread per vCPU", out[0])
    row = re.search(r"^\s*\d+\s+%d\s+\d+\s+\S+\s+(\d+)\s" % (sleeper - 1000000), out[1] or "", re.M)
    cmds = ["monitor cpu %d" % (v + 1) for v in range(ncpu)]
    cmds += ["monitor cpu %s" % tid for tid, _ in tasks_on]
    cmds += ["monitor cpu %d" % sleeper, "monitor cpu %d" % (ncpu + 1), "monitor cpu", "monitor cpu x1",
             "monitor help"]
    r, got = ctx.gdb_each(cmds, target="core:" + fx.memory)
    # the dump's notes are in CPU order: vCPU v is CPU v
    for v in range(ncpu):
        ctx.check(got[v] is not None and got[v].strip() == "thread %d: CPU %d (vCPU %d)" % (v + 1, v, v),
                  "monitor cpu %d: vCPU %d's thread is CPU %d" % (v + 1, v, v), got[v])
    for i, (tid, v) in enumerate(tasks_on):
        ctx.check(got[ncpu + i] is not None and
                  got[ncpu + i].strip() == "thread %s: CPU %s (running on vCPU %s)" % (tid, v, v),
                  "monitor cpu %s: the task running on vCPU %s is on CPU %s" % (tid, v, v), got[ncpu + i])
    i = ncpu + len(tasks_on)
    ctx.check(row is not None and got[i] is not None and
              got[i].strip() == "thread %d: not running, its cpu field says CPU %s" % (sleeper, row.group(1)),
              "monitor cpu %d: a sleeping task, the CPU of its cpu field (monitor ps's CPU column, "
              "%s)" % (sleeper, row.group(1) if row else "?"), (got[i], row and row.group(0)))
    ctx.check(got[i + 1] is not None and "no such thread" in got[i + 1],
              "monitor cpu of no thread says so", got[i + 1])
    ctx.check(got[i + 2] is not None and "usage: cpu THREAD" in got[i + 2] and
              got[i + 3] is not None and "usage: cpu THREAD" in got[i + 3],
              "monitor cpu with no number or a bad one: its usage", (got[i + 2], got[i + 3]))
    ctx.check(got[i + 4] is not None and re.search(r"^\s+cpu THREAD\s", got[i + 4], re.M),
              "monitor help lists cpu THREAD", got[i + 4])


def test_helper_with_stand_in_scripts(ctx):
    fx = ctx.fixture()
    helper = os.path.join(os.path.dirname(ctx.xenstub), "xenstub-gdb.py")
    root = stand_in(ctx)
    ncpu = fx.truth["num_cpus"]
    sleeper = 1000000 + lv.sleeping_tid(fx)
    r, out = ctx.gdb_each(["info threads"], target="core:" + fx.memory)
    running = [int(t) for t in re.findall(r'Thread (\d+) "[^"]+" \(pid \d+ tid \d+ "[^"]*" R \(running on '
                                          r'vCPU \d+\)\)', out[0] or "")]
    threads = list(range(1, ncpu + 1)) + running + [sleeper]
    probe = ("python print('cpus:', [([t for t in gdb.selected_inferior().threads() if t.ptid[1] == n][0]"
             ".switch(), linux.cpus.get_current_cpu())[1] for n in %r])" % threads)
    want = []
    r, got = ctx.gdb_each(["monitor cpu %d" % n for n in threads], target="core:" + fx.memory)
    for g in got:
        m = re.search(r"(?:CPU|says CPU) (\d+)", g or "")
        want.append(int(m.group(1)) if m else None)
    # sourced first, the scripts imported after (as --gdb does it); then
    # the scripts first
    for order, cmds in (("sourced before the scripts are imported",
                         ["source " + helper, "python import sys; sys.path.insert(0, %r)" % root,
                          "python import linux.cpus, linux.symbols"]),
                        ("sourced after the scripts were imported",
                         ["python import sys; sys.path.insert(0, %r)" % root,
                          "python import linux.cpus, linux.symbols", "source " + helper])):
        r, out = ctx.gdb_each(cmds + [probe, "python print(linux.cpus.get_current_task(0))",
                                      "python linux.symbols.reload()"],
                              target="core:" + fx.memory)
        n = len(cmds)
        m = re.search(r"cpus: \[([0-9, ]*)\]", out[n] or "")
        ctx.check(None not in want and m is not None and
                  [int(c) for c in m.group(1).split(",")] == want,
                  "%s: the scripts' get_current_cpu() on threads %s is xenstub's answer, %s" % (
                      order, threads, want), (out[n], r.err[-1500:]))
        ctx.check(out[n + 1] is not None and "not yet supported with this arch" in out[n + 1],
                  "%s: get_current_task() still gives up where the architecture is not i386" % order,
                  out[n + 1])
        ctx.check(out[n + 2] is not None and "stays where it is loaded" in out[n + 2] and
                  "No such file" not in out[n + 2],
                  "%s: lx-symbols' 'symbol-file vmlinux' loads nothing" % order, out[n + 2])
