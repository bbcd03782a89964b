# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Linux kernel's own gdb scripts (scripts/gdb: lx-ps, lx-dmesg,
lx-version, lx-cpus, lx-lsmod, lx-symbols, $lx_current(), $lx_per_cpu())
through xenstub on the KASLR'd fixtures, with the fixture kernel's Debian
-dbg vmlinux: `xenstub --vmlinux V --gdb DUMP` (which sources
xenstub-gdb.py) and `gdb V -ex 'target remote | xenstub [--vmlinux V] -
DUMP'` with xenstub-gdb.py sourced once connected (it loads V again
where the guest runs it). What they print is compared with the
fixture's truth.json and with xenstub's own thread list. The scripts and
their constants.py are built for the fixture's kernel from Debian's
linux-source and linux-headers packages (vmlinux_support.gdb_scripts);
like the vmlinux, they are fetched only with XENSTUB_TEST_VMLINUX=1, and
the test is skipped with the reason otherwise or offline."""

import os
import re

import test_linux_vmlinux as lv
import vmlinux_support


def setups(ctx):
    """(fixture, vmlinux, scripts folder) for each fixture that has all."""
    out, why = [], []
    for fx, path in lv.fixtures(ctx):
        try:
            out.append((fx, path, vmlinux_support.gdb_scripts(ctx, fx)))
        except Exception as e:  # Skip: no scripts for this one
            why.append("%s: %s" % (fx.name, e))
    if not out:
        ctx.skip("; ".join(why))
    for w in why:
        print("SKIP (part) %s" % w)
    return out


def switch(ptid):
    return ("python [t for t in gdb.selected_inferior().threads() "
            "if t.ptid[1] == %d][0].switch()" % ptid)


def string(text):
    """The string a gdb 'p ...comm' printed, without its NUL padding."""
    m = re.search(r'= "((?:[^"\\]|\\[^0])*)', text or "")
    return m.group(1) if m else None


def number(text):
    m = re.search(r"^\$\d+ = (-?\d+)\s*$", (text or "").strip())
    return int(m.group(1)) if m else None


def dmesg_matches(truth_lines, text):
    """The truth's dmesg lines missing from lx-dmesg's output, in order.
    Timestamps may differ by one in the last digit: the script rounds the
    nanoseconds to microseconds where the kernel truncates them."""
    got = []
    for line in (text or "").splitlines():
        m = re.match(r"\[\s*(\d+\.\d+)\] ?(.*)$", line)
        if m:
            got.append((float(m.group(1)), m.group(2).rstrip()))
    missing, i = [], 0
    for line in truth_lines:
        m = re.match(r"\[\s*(\d+\.\d+)\] ?(.*)$", line)
        if not m:
            continue
        ts, msg = float(m.group(1)), m.group(2).rstrip()
        j = i
        while j < len(got) and not (got[j][1] == msg and abs(got[j][0] - ts) <= 1.5e-6):
            j += 1
        if j == len(got):
            missing.append(line)
        else:
            i = j + 1
    return missing


def test_kernel_gdb_scripts_gdb_mode(ctx):
    for fx, path, scripts in setups(ctx):
        ncpu = fx.truth["num_cpus"]
        sleeper = lv.sleeping_tid(fx)
        # each vCPU thread; then the running tasks' threads are found in
        # info threads by the first run below
        r, out = lv.gdb_launched(ctx, fx, path, ["info threads"])
        running = dict(re.findall(r'"vCPU (\d+): ([^"]+)"', out[0] or ""))
        tasks_on = re.findall(r'Thread (\d+) "([^"]+)" \(pid \d+ tid \d+ "[^"]*" R \(running on vCPU (\d+)\)\)',
                              out[0] or "")
        ctx.check(len(running) == ncpu and len(tasks_on) == ncpu,
                  "%s: info threads names each vCPU's task and shows it as a running task thread" %
                  fx.name, out[0])
        cmds = ["source %s/vmlinux-gdb.py" % scripts, "lx-version", "lx-ps", "lx-dmesg", "lx-cpus",
                "lx-lsmod", "p modules.next == &modules", "p init_task.comm", "p &current_task"]
        base = len(cmds)
        for n in range(ncpu):
            cmds += [switch(n + 1), "p $lx_current().comm", 'p $lx_per_cpu("runqueues").cpu']
        for tid, _, _ in tasks_on:
            cmds += [switch(int(tid)), "p $lx_current().comm"]
        at_sleeper = len(cmds)
        cmds += [switch(1000000 + sleeper), "p $lx_current().comm", 'p $lx_per_cpu("runqueues").cpu',
                 "p $lx_task_by_pid(%d)->cpu" % sleeper, "p $lx_thread_info_by_pid(%d).cpu" % sleeper,
                 "bt 12", "lx-symbols", "p &init_task", "p &current_task", "p $lx_current().comm",
                 "lx-cmdline", "lx-iomem", "lx-mounts"]
        r, out = lv.gdb_launched(ctx, fx, path, cmds)
        ctx.check(r.rc == 0 and "Python Exception" not in r.err,
                  "%s: vmlinux-gdb.py loads and every command runs without a Python exception" %
                  fx.name, (r.rc, r.err[-3000:]))
        ctx.check(out[1] is not None and fx.truth["proc_version"] in out[1],
                  "%s: lx-version prints the banner /proc/version gave" % fx.name, out[1])
        ps = set((int(p), c) for p, c in re.findall(r"^0x[0-9a-f]+\s+(\d+)\s+(\S.*?)\s*$", out[2] or "", re.M))
        want = set((th["tid"], th.get("comm_task_struct", th["comm"]))
                   for p in fx.truth["processes"] for th in p["threads"])
        ctx.check(want and want <= ps and (0, "swapper/0") in ps,
                  "%s: lx-ps lists all %d threads of the truth with their pid and comm, and "
                  "swapper/0" % (fx.name, len(want)), sorted(want - ps) or out[2])
        missing = dmesg_matches(fx.truth["dmesg_head"], out[3])
        ctx.check(out[3] is not None and not missing,
                  "%s: lx-dmesg prints the truth's %d first kernel log lines, in order" % (
                      fx.name, len(fx.truth["dmesg_head"])), missing[:5] or out[3])
        online = re.search(r"Online CPUs\s*: \[([0-9, ]*)\]", out[4] or "")
        ctx.check(online is not None and [int(c) for c in online.group(1).split(",") if c.strip()] ==
                  list(range(ncpu)), "%s: lx-cpus: online CPUs 0..%d" % (fx.name, ncpu - 1), out[4])
        rows = [l for l in (out[5] or "").splitlines()[1:] if l.strip()]
        ctx.check(out[5] is not None and re.search(r"Address\s+Module\s+Size\s+Used by", out[5]) and
                  (number(out[6]) == 1) == (not rows),
                  "%s: lx-lsmod prints its table, a row per module of the kernel's list "
                  "(%s)" % (fx.name, "empty: this guest loads none" if number(out[6]) == 1 else
                            "%d rows" % len(rows)), (out[5], out[6]))
        ctx.check(string(out[7]) == "swapper/0", "%s: p init_task.comm" % fx.name, out[7])
        i = base
        for n in range(ncpu):
            ctx.check(string(out[i + 1]) == running.get(str(n)),
                      "%s: $lx_current() on vCPU %d's thread is %r, the task xenstub shows "
                      "there" % (fx.name, n, running.get(str(n))), out[i + 1])
            ctx.check(number(out[i + 2]) == n,
                      "%s: $lx_per_cpu(\"runqueues\").cpu on vCPU %d's thread is %d" % (fx.name, n, n),
                      out[i + 2])
            i += 3
        for tid, comm, v in tasks_on:
            ctx.check(string(out[i + 1]) == comm,
                      "%s: $lx_current() on task thread %s (running on vCPU %s) is that task, "
                      "%r" % (fx.name, tid, v, comm), out[i + 1])
            i += 2
        i = at_sleeper
        cpu = number(out[i + 3]) if number(out[i + 3]) is not None else number(out[i + 4])
        ctx.check(cpu is not None and 0 <= cpu < ncpu,
                  "%s: the sleeping task %d's cpu field reads %s" % (fx.name, sleeper, cpu),
                  (out[i + 3], out[i + 4]))
        ctx.check(cpu is not None and string(out[i + 1]) == running.get(str(cpu)),
                  "%s: $lx_current() on the sleeping task %d's thread is the task running on "
                  "its CPU %s, %r (the rule of the scripts under kgdb)" % (
                      fx.name, sleeper, cpu, running.get(str(cpu))), out[i + 1])
        ctx.check(cpu is not None and number(out[i + 2]) == cpu,
                  "%s: $lx_per_cpu(\"runqueues\").cpu there is its CPU" % fx.name, out[i + 2])
        ctx.check(out[i + 5] is not None and "__schedule" in out[i + 5] and
                  re.search(r"\bschedule \(\)", out[i + 5]) is not None,
                  "%s: bt of the sleeping task names __schedule and schedule()" % fx.name, out[i + 5])
        ctx.check(out[i + 6] is not None and "stays where it is loaded" in out[i + 6],
                  "%s: lx-symbols keeps the kernel image where xenstub loaded it" % fx.name,
                  (out[i + 6], r.err[-2000:]))
        ctx.check(lv.value(out[i + 7]) == fx.symbol("init_task") and
                  lv.value(out[i + 8]) is not None and lv.value(out[i + 8]) == lv.value(out[8]),
                  "%s: after lx-symbols, &init_task is still 0x%x and &current_task where it "
                  "was" % (fx.name, fx.symbol("init_task")), (out[i + 7], out[i + 8], out[8]))
        ctx.check(string(out[i + 9]) == running.get(str(cpu)),
                  "%s: and $lx_current() still reads" % fx.name, out[i + 9])
        ctx.check(out[i + 10] is not None and out[i + 10].strip() == fx.truth["kernel_cmdline"].strip(),
                  "%s: lx-cmdline is /proc/cmdline's %r" % (fx.name, fx.truth["kernel_cmdline"]),
                  out[i + 10])
        iomem = set(l.strip() for l in (out[i + 11] or "").splitlines())
        want = ["%08x-%08x : %s" % (int(x["start"], 16), int(x["end_inclusive"], 16), x["name"])
                for x in fx.truth["ram_ranges_iomem"]]
        ctx.check(want and all(w in iomem for w in want),
                  "%s: lx-iomem has /proc/iomem's RAM ranges %s" % (fx.name, want), out[i + 11])
        ctx.check(out[i + 12] is not None and re.search(r" rootfs / rootfs ", out[i + 12]) and
                  re.search(r" proc /proc proc ", out[i + 12]),
                  "%s: lx-mounts lists the root file system and /proc (which the truth was read "
                  "from)" % fx.name, out[i + 12])


def test_kernel_gdb_scripts_plain_gdb(ctx):
    helper = os.path.join(os.path.dirname(ctx.xenstub), "xenstub-gdb.py")
    for fx, path, scripts in setups(ctx):
        x86_64 = not fx.truth.get("arch", "").startswith("i")
        link = int(fx.truth["symbols"]["current_task"]["system_map"], 16)
        for args, how in ((["--vmlinux", path], "qOffsets moved it all"),
                          ([], "gdb left it at its link address")):
            cmds = ["source " + helper, "source %s/vmlinux-gdb.py" % scripts, "lx-version", "lx-ps",
                    "p $lx_current().comm", "p &current_task", "lx-symbols", "p &init_task",
                    "p jiffies", "thread 2", "p $lx_current().comm", "info threads"]
            # through a pipe, the slow transport: no lx-dmesg here
            r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=args,
                                  pre=vmlinux_support.gdb_file(path), timeout=900)
            what = "%s, gdb vmlinux, xenstub %s(%s)" % (fx.name, "--vmlinux " if args else "", how)
            moved = re.search(r"xenstub: (.*); loading it again: (add-symbol-file .*)", out[0] or "")
            if x86_64 or not args:
                ctx.check(moved is not None and (" -s .data..percpu 0x0" in moved.group(2)) == x86_64,
                          "%s: sourcing xenstub-gdb.py loads the file again where the guest runs "
                          "it%s" % (what, ", per-CPU section at 0" if x86_64 else ""), out[0])
            else:
                ctx.check(out[0] is not None and moved is None,
                          "%s: sourcing xenstub-gdb.py leaves the file where qOffsets put it (32-bit "
                          "per-CPU data moves with the image)" % what, out[0])
            ctx.check(out[2] is not None and fx.truth["proc_version"] in out[2],
                      "%s: lx-version prints the banner" % what, out[2])
            m = fx.truth["marker"]
            ctx.check(out[3] is not None and
                      re.search(r"^0x[0-9a-f]+\s+%d\s+%s\s*$" % (m["pid"], re.escape(m["comm"])), out[3],
                                re.M),
                      "%s: lx-ps lists the marker, pid %d" % (what, m["pid"]), out[3])
            running = dict(re.findall(r'"vCPU (\d+): ([^"]+)"', out[11] or ""))
            ctx.check(string(out[4]) is not None and string(out[4]) == running.get("0") and
                      string(out[10]) == running.get("1"),
                      "%s: $lx_current() on vCPU 0's and vCPU 1's threads is the task xenstub shows "
                      "there" % what, (out[4], out[10], running))
            ctx.check(lv.value(out[5]) == (link if x86_64 else fx.symbol("current_task")),
                      "%s: &current_task is 0x%x" % (what, link if x86_64 else fx.symbol("current_task")),
                      out[5])
            ctx.check(out[6] is not None and "stays where it is loaded" in out[6] and
                      lv.value(out[7]) == fx.symbol("init_task") and number(out[8]) is not None,
                      "%s: lx-symbols keeps the file where it is: &init_task 0x%x, p jiffies reads" % (
                          what, fx.symbol("init_task")), (out[6], out[7], out[8]))
