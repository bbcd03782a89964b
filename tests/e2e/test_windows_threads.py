# SPDX-License-Identifier: LGPL-2.1-or-later
"""Windows threads through gdb, on guests generated from each real Windows
symbol table: the manifest's threads (ids, names, states), their registers
(vCPU's or switch frame's), and each thread's own process memory."""

from test_windows_common import (OS_TID_BASE, image, profile_dir_args,
                                 tables, thread_rows)


def _by_tid(man):
    return {t["gdb_tid"]: t for t in man["threads"]}


def test_threads_match_manifest(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        r, rows = thread_rows(ctx, core, profile_dir_args(), man["pattern_va"])
        nv = len(man["vcpus"])
        want = _by_tid(man)
        os_tids = sorted(t for t in rows if t > nv)
        ctx.check("DONE" in r.out, "%s: gdb walked every thread" % name, r)
        ctx.check(sorted(rows)[:nv] == list(range(1, nv + 1)),
                  "%s: threads 1..%d are the vCPUs" % (name, nv), sorted(rows))
        ctx.check(os_tids == man["expected_gdb_tids"],
                  "%s: the OS threads are the manifest's (%d)" % (name, len(os_tids)),
                  "gdb: %s\nmanifest: %s" % (os_tids, man["expected_gdb_tids"]))
        bad_names, bad_details = [], []
        for tid in os_tids:
            t, row = want.get(tid), rows[tid]
            if t is None:
                continue
            if row["name"] != t["name"]:
                bad_names.append((tid, row["name"], t["name"]))
            details = 'pid %d tid %d "%s" %s' % (t["pid"], t["tid"], t["name"], t["state"])
            if t["vcpu"] >= 0:
                details += " (running on vCPU %d)" % t["vcpu"]
            if row["details"] != details:
                bad_details.append((tid, row["details"], details))
        ctx.check(not bad_names, "%s: thread names (ThreadName or the process's ImageFileName)" % name,
                  bad_names)
        ctx.check(not bad_details, "%s: each thread's extra info: pid, tid, name, state" % name,
                  bad_details)
        idle = sorted(t["gdb_tid"] for t in man["threads"] if t["idle_cpu"] is not None)
        ctx.check(idle == sorted(OS_TID_BASE - c for c in range(nv)),
                  "%s: one idle thread per processor, ids %d - cpu" % (name, OS_TID_BASE), idle)
        if man["thread_names"]:
            named = [t for t in man["threads"] if t["thread_name"]]
            ctx.check(named and all(rows[t["gdb_tid"]]["name"] == t["thread_name"] for t in named),
                      "%s: named threads show their ThreadName" % name, named)
        for v in man["vcpus"]:
            t = want[v["gdb_tid"]]
            ctx.check(rows.get(v["index"] + 1, {}).get("name") == "vCPU %d: %s" % (v["index"], t["name"]),
                      "%s: vCPU %d's thread is named after the thread it runs" % (name, v["index"]),
                      rows.get(v["index"] + 1))


def test_thread_registers(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        r, rows = thread_rows(ctx, core, profile_dir_args(), man["pattern_va"])
        want = _by_tid(man)
        for v in man["vcpus"]:
            row = rows.get(v["gdb_tid"], {}).get("regs", {})
            exp = v["regs"]
            ctx.check(all(row.get(k) == exp[k] for k in ("rip", "rsp", "rax", "rbx", "r15")),
                      "%s: thread %d running on vCPU %d has the vCPU's registers" %
                      (name, v["gdb_tid"], v["index"]),
                      "gdb %s\nmanifest %s" % (row, exp))
        waiting = [t for t in man["threads"] if t["vcpu"] < 0 and t["gdb_tid"] in rows]
        bad = []
        for t in waiting:
            regs = rows[t["gdb_tid"]]["regs"]
            if (regs.get("rip"), regs.get("rsp"), regs.get("rbp")) != (t["rip"], t["rsp"], t["rbp"]) \
                    or regs.get("rax") is not None:
                bad.append((t["gdb_tid"], regs, t["rip"], t["rsp"], t["rbp"]))
        ctx.check(waiting and not bad,
                  "%s: %d waiting threads: rip, rsp, rbp from the switch frame, rax unavailable" %
                  (name, len(waiting)), bad or r)
        kcs = [rows[t["gdb_tid"]]["regs"].get("cs") for t in waiting]
        ctx.check(set(kcs) == {0x10},
                  "%s: waiting threads get the kernel CS selector the vCPUs use" % name, kcs)


def test_process_memory(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        r, rows = thread_rows(ctx, core, profile_dir_args(), man["pattern_va"])
        procs = {p["pid"]: p for p in man["processes"]}
        checked = 0
        bad = []
        for t in man["threads"]:
            p = procs.get(t["pid"])
            row = rows.get(t["gdb_tid"])
            if not p or not p["pattern"] or row is None:
                continue
            want = (p["pattern"].encode() * 4)[:64].hex()
            got = row["mem"]
            checked += 1
            if got != want:
                bad.append((t["gdb_tid"], p["name"], got, row.get("mem_error")))
        ctx.check(checked >= 6 and not bad,
                  "%s: %d threads of %d processes read their own process's pattern at 0x%x" %
                  (name, checked, len([p for p in procs.values() if p["pattern"]]), man["pattern_va"]),
                  bad or r)
        # the same address in two processes holds different bytes
        a = [p for p in man["processes"] if p["pattern"]]
        ctx.check(len({p["pattern"] for p in a}) == len(a) >= 2,
                  "%s: every process's pattern differs" % name, a)
        user = [v for v in man["vcpus"] if v["user_mode"]]
        for v in user:
            row = rows.get(v["index"] + 1, {})
            ctx.check(row.get("regs", {}).get("cs") == 0x33 and row.get("mem") is not None,
                      "%s: vCPU %d in user mode reads user memory through its own CR3" % (name, v["index"]),
                      row)


def test_os_none_gives_vcpus_only(ctx):
    for name, table in tables(ctx)[:1]:
        core, man = image(ctx, table)
        r, rows = thread_rows(ctx, core, ["--os=none"] + profile_dir_args(), man["pattern_va"])
        ctx.check(sorted(rows) == list(range(1, len(man["vcpus"]) + 1)),
                  "%s: --os=none lists the vCPUs only" % name, sorted(rows))
