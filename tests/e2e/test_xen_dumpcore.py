# SPDX-License-Identifier: LGPL-2.1-or-later
"""gdb reads synthetic Xen 'xl dump-core' files (HVM and PV guests, made by
tests/tools/make-xen-dumpcore.py) through xenstub: the vCPUs are threads,
registers come from the vCPU contexts, memory is reached through the
guest's own 4-level page tables, and frames absent from the dump are
refused."""

import importlib.util
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "..", "tools", "make-xen-dumpcore.py")

# Runs each command in gdb and prints one JSON line per command:
# [command, true, output] or [command, false, error message].
SCRIPT = r'''
import json
import gdb
for cmd in json.loads(%r):
    try:
        res = [cmd, True, gdb.execute(cmd, to_string=True)]
    except gdb.error as e:
        res = [cmd, False, str(e)]
    print("RESULT " + json.dumps(res), flush=True)
'''

THREAD_ROW = re.compile(r"^\*?\s+(\d+)\s+Thread ", re.M)


def _generator():
    spec = importlib.util.spec_from_file_location("make_xen_dumpcore", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_dump(ctx, pv, nr_vcpus=2):
    data, facts = _generator().build(pv=pv, nr_vcpus=nr_vcpus)
    path = ctx.tmpfile("xen-%s.core" % facts["kind"].lower())
    with open(path, "wb") as f:
        f.write(data)
    return path, facts


def _run(ctx, path, commands):
    """Runs commands in one gdb session; returns (Result, [(ok, text)])."""
    r = ctx.gdb(target="core:" + path, xenstub_args=["--os=none"],
                python=SCRIPT % json.dumps(commands))
    got = [json.loads(line[len("RESULT "):]) for line in r.out.splitlines()
           if line.startswith("RESULT ")]
    ctx.check(r.rc == 0 and [g[0] for g in got] == commands,
              "gdb ran every command and exited cleanly", r)
    return r, [(g[1], g[2]) for g in got]


def _hex_value(text):
    """The value of 'p/x' output ('$1 = 0x...') or of an 'info registers'
    line ('rip  0x... ...'), as an int; None if there is none."""
    m = re.search(r"(?:=|^\w+)\s+(0x[0-9a-f]+)", text.strip())
    return int(m.group(1), 16) if m else None


def _check_dump(ctx, pv):
    path, f = _write_dump(ctx, pv)
    kind = f["kind"]
    v0, v1 = f["vcpus"]
    cannot = "Cannot access memory at address 0x%x"
    cmds = [
        "info threads",                                   # 0
        "info registers rip",                             # 1
        "x/s 0x%x" % f["string_va"],                      # 2
        "x/bx 0x%x" % f["absent_va"],                     # 3
        "x/bx 0x%x" % f["unmapped_va"],                   # 4
        "p/x $cr3",                                       # 5
        "p/x $fs_base",                                   # 6
        "p/x $gs_base",                                   # 7
        "p/x $k_gs_base",                                 # 8
        "p/x $xmm0.uint128",                              # 9
        "p/x $rax",                                       # 10
        "p/x $r15",                                       # 11
        "thread 2",                                       # 12
        "info registers rip",                             # 13
        "p/x $rsp",                                       # 14
        "monitor phys on",                                # 15
        "x/s 0x%x" % f["string_paddr"],                   # 16
        "x/bx 0x%x" % f["absent_paddr"],                  # 17
    ]
    r, out = _run(ctx, path, cmds)
    if len(out) != len(cmds):
        return

    rows = THREAD_ROW.findall(out[0][1]) if out[0][0] else []
    ctx.check([int(x) for x in rows] == [1, 2],
              "%s: info threads shows the 2 vCPUs as threads 1 and 2" % kind, out[0])
    ctx.check(out[1][0] and _hex_value(out[1][1]) == v0["rip"],
              "%s: vCPU 0's rip is 0x%x" % (kind, v0["rip"]), out[1])
    virt_ok = out[2][0] and '"%s"' % f["string"] in out[2][1]
    phys_ok = out[16][0] and '"%s"' % f["string"] in out[16][1]
    ctx.check(virt_ok, "%s: x/s at 0x%x prints the string, through the guest's page tables"
              % (kind, f["string_va"]), out[2])
    # refusals count only where a read in the same address space worked
    ctx.check(virt_ok and not out[3][0] and cannot % f["absent_va"] in out[3][1],
              "%s: a page mapped to a frame absent from the dump: Cannot access memory"
              % kind, out[3])
    ctx.check(virt_ok and not out[4][0] and cannot % f["unmapped_va"] in out[4][1],
              "%s: an unmapped page: Cannot access memory" % kind, out[4])
    for i, name in ((5, "cr3"), (6, "fs_base"), (7, "gs_base"), (8, "k_gs_base"),
                    (10, "rax"), (11, "r15")):
        ctx.check(out[i][0] and _hex_value(out[i][1]) == v0[name],
                  "%s: vCPU 0's %s is 0x%x" % (kind, name, v0[name]), out[i])
    xmm0 = int.from_bytes(bytes.fromhex(v0["xmm0"]), "little")
    ctx.check(out[9][0] and _hex_value(out[9][1]) == xmm0,
              "%s: vCPU 0's xmm0 comes from the context's FXSAVE area" % kind, out[9])
    ctx.check(out[13][0] and _hex_value(out[13][1]) == v1["rip"],
              "%s: thread 2 is vCPU 1, rip 0x%x" % (kind, v1["rip"]), out[13])
    ctx.check(out[14][0] and _hex_value(out[14][1]) == v1["rsp"],
              "%s: vCPU 1's rsp is 0x%x" % (kind, v1["rsp"]), out[14])
    where = "machine" if pv else "guest-physical"
    ctx.check(phys_ok, "%s: the string is at %s address 0x%x" % (kind, where, f["string_paddr"]),
              out[16])
    ctx.check(phys_ok and not out[17][0] and cannot % f["absent_paddr"] in out[17][1],
              "%s: the absent frame at %s address 0x%x: Cannot access memory"
              % (kind, where, f["absent_paddr"]), out[17])


def test_hvm_dumpcore(ctx):
    _check_dump(ctx, pv=False)


def test_pv_dumpcore(ctx):
    _check_dump(ctx, pv=True)


def test_truncated_dumpcore_is_refused(ctx):
    """An interrupted dump (section names are written last) is refused with
    a message naming the file and the problem."""
    path, f = _write_dump(ctx, pv=False)
    with open(path, "rb") as src:
        data = src.read()
    bad = ctx.tmpfile("xen-truncated.core")
    with open(bad, "wb") as dst:
        dst.write(data[:len(data) // 2])
    r = ctx.run_xenstub(["-", "core:" + bad])
    ctx.check(r.rc not in (0, None), "xenstub exits with an error", r)
    ctx.check(bad in r.err and "truncated" in r.err and "section name table" in r.err,
              "the message names the file and says it is truncated", r)
