# SPDX-License-Identifier: LGPL-2.1-or-later
"""Linux OS-awareness on the fixture dump, with no configuration: the
threads gdb lists are the guest's tasks (compared with truth.json's /proc
snapshot), the idle tasks and the vCPUs; `monitor os`, `monitor ps`,
`monitor sym`, `monitor ksym`, `info os processes`; --os=none."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_support as L  # noqa: E402


def truth_tasks(truth):
    """{tid: (pid, comm_task_struct, state, kernel_thread, ppid)} from truth."""
    out = {}
    for p in truth["processes"]:
        for t in p["threads"]:
            out[t["tid"]] = (p["pid"], t.get("comm_task_struct", t["comm"]), t.get("state"),
                             p.get("kernel_thread"), p["ppid"])
    return out


def text(r):
    """What gdb printed: monitor output goes to stderr in batch mode."""
    return r.out + r.err


def threads(ctx, fx, args=()):
    r = ctx.gdb(["info threads"], target="core:" + fx.memory, xenstub_args=args)
    return r, L.parse_threads(r.out)


def test_tasks_are_threads(ctx):
    fx = ctx.fixture()
    truth = fx.truth
    ncpu = truth["num_cpus"]
    r, ts = threads(ctx, fx)
    if not ctx.check(r.rc == 0 and len(ts) > ncpu, "info threads lists more than the vCPUs", r):
        return
    ctx.check([t["num"] for t in ts] == list(range(1, len(ts) + 1)) and
              [t["tid"] for t in ts[:ncpu]] == list(range(1, ncpu + 1)),
              "vCPUs are threads 1..%d, tasks come after them" % ncpu,
              [(t["num"], t["tid"]) for t in ts[:ncpu + 2]])
    tasks = [t for t in ts if t["tid"] > ncpu]
    ctx.check(all(t["pid"] is not None for t in tasks), "every task has pid, tid, name and state",
              [t for t in tasks if t["pid"] is None][:3])
    ctx.check(len(set(t["tid"] for t in tasks)) == len(tasks), "thread ids are unique")
    ctx.check(all(t["tid"] == (L.OS_TID_BASE + t["thread_id"] if t["thread_id"] else t["tid"])
                  for t in tasks), "thread id = 1000000 + Linux pid",
              [t for t in tasks if t["thread_id"] and t["tid"] != L.OS_TID_BASE + t["thread_id"]][:3])

    # idle tasks: pid 0, one per CPU, thread 1000000 - cpu
    idle = {t["tid"]: t for t in tasks if t["thread_id"] == 0}
    want = {L.OS_TID_BASE - c: "swapper/%d" % c for c in range(ncpu)}
    ctx.check({k: v["name"] for k, v in idle.items()} == want,
              "idle tasks swapper/0..%d are threads 1000000-cpu" % (ncpu - 1),
              {k: v["name"] for k, v in idle.items()})

    # every /proc task is there with its name; user tasks with their state
    tt = truth_tasks(truth)
    got = {t["thread_id"]: t for t in tasks if t["thread_id"]}
    missing = [tid for tid, v in tt.items() if tid not in got and not v[1].startswith("kworker/")]
    ctx.check(not missing, "every task of truth.json's /proc snapshot is a thread", missing)
    wrong = [(tid, got[tid]["pid"], got[tid]["name"], v[0], v[1]) for tid, v in tt.items()
             if tid in got and (got[tid]["pid"] != v[0] or got[tid]["name"] != v[1])]
    ctx.check(not wrong, "pid (tgid) and comm of every task equal truth", wrong)
    extra = [t["name"] for tid, t in got.items() if tid not in tt and not t["name"].startswith("kworker/")]
    ctx.check(not extra, "no task beyond truth's (but kworkers)", extra)
    # states: pid 1 was reading /proc for the snapshot; at dump time it
    # sleeps; kernel threads may change state between the /proc snapshot
    # and the dump: compare user tasks only
    kthreads = {p["pid"] for p in truth["processes"] if p.get("kernel_thread")}
    states = [(tid, got[tid]["state"], v[2]) for tid, v in tt.items()
              if tid in got and tid != 1 and tid not in kthreads and
              not v[1].startswith("kworker/") and got[tid]["state"] != v[2]]
    ctx.check(not states, "task states equal truth's (/proc letters)", states)
    ctx.check(got.get(1, {}).get("state") == "S", "init (pid 1) sleeps at dump time",
              got.get(1))
    m = truth["marker"]
    names = {t["tid"]: got.get(t["tid"], {}).get("name") for t in m["threads"]}
    ctx.check(names == {t["tid"]: t["comm"] for t in m["threads"]},
              "the marker's threads are named marker, mk-worker-1..3", names)
    ctx.check(all(got[t["tid"]]["pid"] == m["pid"] for t in m["threads"] if t["tid"] in got),
              "the marker's threads belong to process %d" % m["pid"])


def test_vcpu_threads_name_running_task(ctx):
    fx = ctx.fixture()
    ncpu = fx.truth["num_cpus"]
    r, ts = threads(ctx, fx)
    running = {t["vcpu"]: t for t in ts if t["vcpu"] is not None}
    ctx.check(sorted(running) == list(range(ncpu)), "one task runs on each vCPU",
              {k: v["name"] for k, v in running.items()})
    for v in range(ncpu):
        name = ts[v]["name"] if v < len(ts) else None
        task = running.get(v)
        ctx.check(task is not None and name == "vCPU %d: %s" % (v, task["name"]),
                  "thread %d is named 'vCPU %d: <comm of the task running there>'" % (v + 1, v), name)
        ctx.check(task is not None and task["state"] == "R", "the task on vCPU %d is R" % v, task)
    # the guest was idle: each vCPU runs its own CPU's idle task
    ctx.check([running.get(v, {}).get("name") for v in range(ncpu)] ==
              ["swapper/%d" % v for v in range(ncpu)], "the idle guest's vCPUs run swapper/N",
              [running.get(v, {}).get("name") for v in range(ncpu)])


def test_os_none(ctx):
    fx = ctx.fixture()
    ncpu = fx.truth["num_cpus"]
    r, ts = threads(ctx, fx, ["--os=none"])
    ctx.check([(t["tid"], t["name"]) for t in ts] == [(v + 1, "vCPU %d" % v) for v in range(ncpu)],
              "--os=none: the threads are the vCPUs only", r)
    r = ctx.gdb(["monitor os"], target="core:" + fx.memory, xenstub_args=["--os=none"])
    ctx.check("no guest OS" in text(r), "--os=none: monitor os says no OS is recognised", r)


def test_monitor_os(ctx):
    fx = ctx.fixture()
    truth = fx.truth
    r = ctx.gdb(["monitor os"], target="core:" + fx.memory)
    out = text(r)
    ctx.check("Linux %s" % truth["kernel_release"] in out, "monitor os names the release", out)
    ctx.check(truth["proc_version"].strip() in out, "monitor os shows linux_banner", out)
    slide = int(truth["kaslr"]["virtual_offset"], 16)
    ctx.check(re.search(r"KASLR slide: 0x%x \(from VMCOREINFO KERNELOFFSET\)" % slide, out) is not None,
              "monitor os gives the KASLR slide 0x%x and where it came from" % slide, out)
    ctx.check(re.search(r"symbols: kallsyms via VMCOREINFO .*: %d symbols" % truth["kallsyms_runtime_count"],
                        out) is not None,
              "symbols: kallsyms through VMCOREINFO, as many as /proc/kallsyms", out)
    btf = fx.symbol("__start_BTF")
    ctx.check(re.search(r"types: BTF in memory at __start_BTF 0x%x, \d+ bytes, \d+ types" % btf, out)
              is not None, "types: BTF at __start_BTF", out)
    ctx.check("tasks: %d processes, %d threads, %d idle tasks" %
              (truth["process_count"], truth["thread_count"], truth["num_cpus"]) in out,
              "monitor os counts processes, threads, idle tasks like truth", out)
    for v in range(truth["num_cpus"]):
        ctx.check(re.search(r"vCPU %d: CPU %d, running swapper/%d \(pid 0" % (v, v, v), out) is not None,
                  "monitor os: vCPU %d runs CPU %d's idle task" % (v, v), out)
    ctx.check(re.search(r"last refresh: [0-9.]+ ms, \d+ guest reads", out) is not None,
              "monitor os reports the cost of the last refresh", out)


def test_monitor_ps(ctx):
    fx = ctx.fixture()
    r = ctx.gdb(["monitor ps"], target="core:" + fx.memory)
    out = text(r)
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S)\s+(\S+)\s+0x([0-9a-f]{16})\s+(\S.*)$", line)
        if m:
            rows.setdefault(int(m.group(2)), []).append(m.groups())
    ctx.check(re.search(r"PID\s+TID\s+PPID\s+STATE\s+CPU\s+TASK\s+COMM", out) is not None,
              "monitor ps has a ps-like header", out[:300])
    tt = truth_tasks(fx.truth)
    bad = []
    for tid, (pid, comm, state, kthread, ppid) in tt.items():
        if comm.startswith("kworker/"):
            continue
        row = rows.get(tid, [None])[0]
        want_comm = "[%s]" % comm if kthread else comm
        if row is None or int(row[0]) != pid or int(row[2]) != ppid or row[6] != want_comm:
            bad.append((tid, row, (pid, ppid, want_comm)))
    ctx.check(not bad, "monitor ps: pid, tid, ppid and comm of each task equal truth", bad[:5])
    idle = rows.get(0, [])
    ctx.check(sorted(r[4] for r in idle) == ["%d*" % c for c in range(fx.truth["num_cpus"])],
              "monitor ps marks the running idle tasks with their CPU and *", idle)


def test_info_os_processes(ctx):
    fx = ctx.fixture()
    r = ctx.gdb(["info os processes"], target="core:" + fx.memory)
    got = {}
    for line in r.out.splitlines():
        m = re.match(r"^(\d+)\s+(\d*)\s+(\S+)", line)
        if m:
            got[int(m.group(1))] = m.group(3)
    want = {p["pid"]: p["comm_task_struct"] for p in fx.truth["processes"]
            if not p["comm_task_struct"].startswith("kworker/")}
    bad = {pid: (got.get(pid), c) for pid, c in want.items() if got.get(pid) != c}
    ctx.check(not bad, "info os processes lists every process with its command", bad)
    # a thread of the marker that is not its leader must not be a process
    thread_tid = [x["tid"] for x in fx.truth["marker"]["threads"]
                  if x["tid"] != fx.truth["marker"]["pid"]][0]
    ctx.check(0 not in got and thread_tid not in got,
              "info os processes: no idle task, no thread", got.get(thread_tid))


def test_monitor_sym(ctx):
    fx = ctx.fixture()
    names = [n for n, s in fx.truth["symbols"].items() if "runtime_kallsyms" in s]
    r = ctx.gdb(["monitor sym %s" % n for n in names] +
                ["monitor sym no_such_symbol_here",
                 "monitor ksym 0x%x" % (fx.symbol("linux_banner") + 5)],
                target="core:" + fx.memory)
    out = text(r)
    for n in names:
        want = "0x%x %s\n" % (fx.symbol(n), n)
        ctx.check(want in out, "monitor sym %s = truth's runtime address" % n, out[-400:])
    ctx.check("no_such_symbol_here: no such symbol" in out, "monitor sym of an unknown name says so", r)
    ctx.check("0x%x is linux_banner+0x5" % (fx.symbol("linux_banner") + 5) in out,
              "monitor ksym names the symbol and offset of an address", r)
