# SPDX-License-Identifier: LGPL-2.1-or-later
"""Corrupt Windows lists (a looping process or thread list, an unmapped or
non-canonical Flink) end the walk with a warning and what was found, never a
hang, on guests generated from each real Windows symbol table."""

import re

from test_windows_common import OS_TID_BASE, image, profile_dir_args, tables

CASES = [
    ("process-loop", "a loop in the process list"),
    ("process-badptr", "an unreadable process"),
    ("process-noncanonical", "a bad pointer in the process list"),
    ("thread-loop", "a loop in a thread list"),
]


def test_corrupt_lists(ctx):
    for name, table in tables(ctx):
        for kind, warning in CASES:
            core, man = image(ctx, table, "--corrupt", kind)
            r, out = ctx.gdb_each(["info threads", "monitor os", "monitor ps"],
                                  target="core:" + core, xenstub_args=profile_dir_args(),
                                  timeout=120)
            ctx.check(r.rc == 0 and all(o is not None for o in out),
                      "%s %s: gdb ran every command (no hang, no crash)" % (name, kind), r)
            ctx.check(("warning: windows: " + warning) in r.out,
                      "%s %s: xenstub warns: %s" % (name, kind, warning), r.out)
            nv = len(man["vcpus"])
            tids = sorted(int(t) for t in re.findall(r"^\*?\s+\d+\s+Thread (\d+) ", out[0] or "", re.M))
            ctx.check(tids[:nv] == list(range(1, nv + 1)) and tids[nv:] == man["expected_gdb_tids"],
                      "%s %s: the threads found before the damage are listed (%d)" %
                      (name, kind, len(man["expected_gdb_tids"])),
                      "gdb: %s\nexpected: %s" % (tids[nv:], man["expected_gdb_tids"]))
            ctx.check("a walk stopped early" in (out[1] or ""),
                      "%s %s: monitor os says the walk stopped early" % (name, kind), out[1])
            pids = sorted(int(p) for p in re.findall(r"^\s*(\d+)\s+\d+\s+\d+\s", out[2] or "", re.M))
            ctx.check(pids == sorted(man["listed_pids"]),
                      "%s %s: monitor ps lists the processes before the damage" % (name, kind),
                      "%s\nexpected %s" % (out[2], man["listed_pids"]))
            if man["looped_pid"] is not None:
                looped = [t for t in man["threads"] if t["pid"] == man["looped_pid"]]
                ctx.check(all((OS_TID_BASE + t["tid"]) in tids for t in looped),
                          "%s %s: every thread of the looping list is listed once" % (name, kind),
                          tids)
