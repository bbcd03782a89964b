# SPDX-License-Identifier: LGPL-2.1-or-later
"""Windows monitor commands (os, ps, lm, sym, threads, ln) and info os
processes through gdb, on guests generated from each real Windows symbol
table; and --profile FILE working like --profile-dir."""

import json
import lzma
import re

from test_windows_common import image, profile_dir_args, tables


def _symbols(table):
    with open(table, "rb") as f:
        data = f.read()
    if data[:6] == b"\xfd7zXZ\x00":
        data = lzma.decompress(data)
    return json.loads(data)["symbols"]


COMMANDS = ["monitor os", "monitor ps", "monitor lm", "monitor sym PsActiveProcessHead",
            "monitor sym nt!KiProcessorBlock", "monitor sym NoSuchSymbolAnywhere",
            "info os processes", "monitor threads 4120", "monitor help"]


def test_monitor_os(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        r, out = ctx.gdb_each(COMMANDS[:1], target="core:" + core, xenstub_args=profile_dir_args())
        text = out[0] or ""
        v = man["version"]
        ctx.check("Windows %d.%d build %d" % (v["major"], v["minor"], v["build"]) in text,
                  "%s: monitor os names the Windows version and build" % name, text)
        ctx.check("at 0x%x" % man["kernel_base"] in text,
                  "%s: monitor os gives the kernel base" % name, text)
        ctx.check("GUID %s, age %d" % (man["guid"], man["age"]) in text and
                  ("%s-%d" % (man["table_guid"], man["table_age"])) in text and table in text,
                  "%s: monitor os names the profile: path, GUID and age" % name, text)
        for vc in man["vcpus"]:
            src = "IA32_KERNEL_GS_BASE" if vc["user_mode"] else "GS base"
            ctx.check(re.search(r"vCPU %d: KPCR 0x%x \(from %s" % (vc["index"], vc["kpcr"], src), text)
                      is not None,
                      "%s: monitor os gives vCPU %d's KPCR (from %s)" % (name, vc["index"], src), text)
        ctx.check(man["build_lab"] in text, "%s: monitor os gives NtBuildLab" % name, text)
        ctx.check(("names from the table's _KTHREAD_STATE" in text) == man["states_from_table"],
                  "%s: monitor os says where thread state names come from" % name, text)


def test_monitor_ps_lm_sym(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        r, out = ctx.gdb_each(COMMANDS, target="core:" + core, xenstub_args=profile_dir_args())
        ps = out[1] or ""
        rows = {}
        for line in ps.splitlines():
            m = re.match(r"\s*(\d+)\s+(\d+|-)\s+(\d+)\s+(\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", line)
            if m:
                rows[int(m.group(1))] = m
        ok = len(rows) == len(man["processes"])
        for p in man["processes"]:
            m = rows.get(p["pid"])
            ok = ok and m is not None and m.group(7) == p["name"] and \
                int(m.group(3)) == len(p["tids"]) and int(m.group(5), 16) == p["eprocess"] and \
                int(m.group(6), 16) == p["dtb"] and int(m.group(2)) == p["ppid"]
        ctx.check(ok, "%s: monitor ps lists every process: pid, ppid, threads, EPROCESS, DTB, name" % name, ps)
        running = {t["pid"]: t["vcpu"] for t in man["threads"] if t["vcpu"] >= 0 and t["pid"]}
        ctx.check(all(rows[pid].group(4) == str(v) for pid, v in running.items() if pid in rows),
                  "%s: monitor ps marks the vCPU running a process's thread" % name, ps)
        lm = out[2] or ""
        mods = re.findall(r"^0x([0-9a-f]{16}) 0x([0-9a-f]{8}) (\S+)\s+(\S*)$", lm, re.M)
        # names are guest text: a backslash is shown as \\
        ctx.check([(int(b, 16), int(s, 16), n, pth) for b, s, n, pth in mods] ==
                  [(m["base"], m["size"], m["name"], m["path"].replace("\\", "\\\\"))
                   for m in man["modules"]],
                  "%s: monitor lm lists the drivers of PsLoadedModuleList in order" % name, lm)
        syms = _symbols(table)
        want = man["kernel_base"] + syms["PsActiveProcessHead"]["address"]
        ctx.check((out[3] or "").strip() == "0x%x PsActiveProcessHead" % want,
                  "%s: monitor sym PsActiveProcessHead = kernel base + the table's RVA" % name, out[3])
        want = man["kernel_base"] + syms["KiProcessorBlock"]["address"]
        ctx.check(("0x%x" % want) in (out[4] or ""),
                  "%s: monitor sym accepts the nt! prefix" % name, out[4])
        ctx.check("no such symbol" in (out[5] or "") and "error" in (out[5] or "").lower(),
                  "%s: monitor sym of an unknown name is an error that says so" % name, out[5])
        osd = out[6] or ""
        got = re.findall(r"^(\d+)\s+(\S+)\s*(\d*)\s*$", osd, re.M)
        cores = {t["pid"]: str(t["vcpu"]) for t in man["threads"] if t["vcpu"] >= 0}
        ctx.check(sorted((int(p), c, k) for p, c, k in got) ==
                  sorted((p["pid"], p["name"], cores.get(p["pid"], "")) for p in man["processes"]),
                  "%s: info os processes lists pid, command and cores of each process" % name, osd)
        th = out[7] or ""
        tids = [int(x) for x in re.findall(r"^\s*4120\s+(\d+)\s", th, re.M)]
        ctx.check(tids == next(p["tids"] for p in man["processes"] if p["pid"] == 4120),
                  "%s: monitor threads 4120 lists that process's threads" % name, th)
        ctx.check(all(c in (out[8] or "") for c in ("lm ", "threads [PID]", "ln ADDRESS")),
                  "%s: monitor help lists the Windows commands" % name, out[8])


def test_monitor_ln(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        syms = _symbols(table)
        rva = syms["PsActiveProcessHead"]["address"]
        nxt = min((s["address"] for s in syms.values() if s.get("address", -1) > rva),
                  default=rva + 0x100)
        off = min(8, nxt - rva - 1)
        at_rva = sorted(n for n, s in syms.items() if s.get("address") == rva)
        r, out = ctx.gdb_each(["monitor ln 0x%x" % (man["kernel_base"] + rva + off),
                               "monitor ln 0x10"],
                              target="core:" + core, xenstub_args=profile_dir_args())
        ctx.check(("is nt!%s+0x%x" % (at_rva[0], off)) in (out[0] or ""),
                  "%s: monitor ln names the symbol at or below an address" % name, out[0])
        ctx.check("outside the kernel image" in (out[1] or ""),
                  "%s: monitor ln outside the kernel says so" % name, out[1])


def test_profile_file_like_profile_dir(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table)
        cmds = ["info threads", "monitor ps"]
        r1, a = ctx.gdb_each(cmds, target="core:" + core, xenstub_args=profile_dir_args())
        r2, b = ctx.gdb_each(cmds, target="core:" + core, xenstub_args=["--profile", table])
        ctx.check(a[0] and a[0] == b[0] and a[1] == b[1] and "explorer.exe" in (b[1] or ""),
                  "%s: --profile FILE gives the threads and processes --profile-dir does" % name,
                  "%s\n----\n%s" % (a, b))
        r3, c = ctx.gdb_each(["monitor os"], target="core:" + core,
                             xenstub_args=["--os=windows", "--profile", table])
        ctx.check("profile: %s" % table in (c[0] or ""),
                  "%s: --os=windows --profile FILE: monitor os names that file" % name, c[0])
