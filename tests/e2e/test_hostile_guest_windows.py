# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile Windows guest, on guests generated from each real Windows
symbol table: an ImageFileName and a ThreadName with terminal escapes,
control characters, markup and units that are not text are shown escaped
everywhere; impossible and duplicate TIDs and an impossible processor
number get fallback thread ids with a warning, and every thread is still
listed; a process whose DirectoryTableBase cannot be a page-table root, or
points at memory the guest does not have, reads nothing (its user-mode
tables do not stand in) and xenstub says why."""

import importlib.util
import os
import re
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_hostile_guest import OS_TID_BASE, OS_TID_FALLBACK, common_checks, dec, gdb_bytes, \
    raw_controls, shown  # noqa: E402
from test_windows_common import GENERATOR, image, profile_dir_args, tables  # noqa: E402

PATTERN_VA = 0x00007FF612340000

IMAGE_NAME = b"\x1b[2J\x9bpwn\x07<&>\"\\!"          # 15 bytes, no NUL
THREAD_UNITS = [0x1b, ord("["), ord("3"), ord("1"), ord("m"), 0x202e, 0xd800, 0xe9, 0, ord('"')]


def generator():
    spec = importlib.util.spec_from_file_location("make_windows_image", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Core(harness.Fixture):
    """Page walks and file offsets of a generated guest's ELF core."""

    def __init__(self, path, cr3):
        self._memory = path
        self._segments = None
        self.truth = {"paging_mode": "4-level"}
        self.cr3 = cr3

    def offset(self, va):
        w = self.walk(self.cr3, va)
        if w["fault"]:
            raise AssertionError("0x%x is not mapped in the generated guest" % va)
        seg = self.segment_of(w["paddr"])
        return seg[2] + w["paddr"] - seg[0]

    def u64(self, va):
        return struct.unpack("<Q", self.read_virt(self.cr3, va, 8))[0]


def test_hostile_windows(ctx):
    gen = generator()
    for tname, table in tables(ctx):
        core, man = image(ctx, table)
        t = gen.Table(table)
        kcr3 = man["processes"][0]["dtb"]
        g = Core(core, kcr3)
        threads = {th["tid"]: th for th in man["threads"] if th["idle_cpu"] is None}
        procs = {p["pid"]: p for p in man["processes"]}
        cid = t.off("_ETHREAD", "Cid.UniqueThread")
        writes = {}
        # notepad.exe's image name
        writes[g.offset(procs[5204]["eprocess"] + t.off("_EPROCESS", "ImageFileName"))] = IMAGE_NAME
        # EditWorker's ThreadName: the same length, other units
        if man["thread_names"]:
            us = g.u64(threads[5212]["ethread"] + t.off("_ETHREAD", "ThreadName"))
            buf = g.u64(us + t.off("_UNICODE_STRING", "Buffer"))
            writes[g.offset(buf)] = b"".join(struct.pack("<H", u) for u in THREAD_UNITS)
        # impossible and duplicate TIDs in explorer.exe
        bad_tids = {4124: 0, 4192: 8, 4196: 0xFFFFFFFFFFFFFFFF}
        for tid, v in bad_tids.items():
            writes[g.offset(threads[tid]["ethread"] + cid)] = struct.pack("<Q", v)
        # processor 1 says it is processor 60000
        nf = t.field("_KPRCB", "Number")
        writes[g.offset(man["vcpus"][1]["kprcb"] + nf[0])] = struct.pack("<Q", 60000)[:nf[1]]
        # page-table roots: reserved bits; a frame the guest does not have
        dtb = t.off("_EPROCESS", "Pcb.DirectoryTableBase")
        writes[g.offset(procs[452]["eprocess"] + dtb)] = struct.pack("<Q", 0x4141414141414000)
        writes[g.offset(procs[348]["eprocess"] + dtb)] = struct.pack("<Q", 0x7ff0000000)
        path = ctx.tmpfile("hostile-%s.elf" % tname)
        shutil.copyfile(core, path)
        with open(path, "r+b") as f:
            for off, data in writes.items():
                f.seek(off)
                f.write(data)

        cmds = ["info threads", "monitor ps", "monitor threads", "monitor os", "info os processes",
                "monitor lm"]
        args = profile_dir_args()
        brc, bout, bparts, brows = gdb_bytes(ctx, "core:" + core, cmds, args=args)
        ctx.check(brc == 0 and len(brows) == len(man["vcpus"]) + len(man["threads"]) and
                  not raw_controls(bout),
                  "%s: the generated guest: every thread, nothing raw" % tname, dec(bout)[-2000:])
        try:
            rc, out, parts, rows = gdb_bytes(ctx, "core:" + path, cmds, args=args)
            common_checks(ctx, tname, rc, out, rows, brows)
            ctx.check(b"\x1b" not in out, "%s: no ESC byte reaches the terminal" % tname, repr(out[:3000]))
            tids = [r["tid"] for r in rows]
            nv = len(man["vcpus"])
            ctx.check(len(set(tids)) == len(tids) and all(x > nv for x in tids[nv:]) and
                      tids[:nv] == list(range(1, nv + 1)),
                      "%s: thread ids are unique, the vCPUs' only theirs" % tname, tids)
            # names
            want = shown(IMAGE_NAME)
            ps, thr, osd, osproc, lm = (dec(parts[i]) for i in (1, 2, 3, 4, 5))
            np = [r for r in rows if ('tid %d ' % 5208) in (r.get("details") or "")]
            ctx.check(len(np) == 1 and np[0]["name"] == want and
                      ('"%s"' % want) in np[0]["details"],
                      "%s: notepad.exe's thread shows its ImageFileName escaped: %s" % (tname, want), np)
            ctx.check(("5204" in ps and want in ps) and want in osproc and want in thr,
                      "%s: monitor ps, monitor threads and info os processes show it escaped" % tname,
                      (ps, osproc))
            if man["thread_names"]:
                tw = shown(b"".join(struct.pack("<H", u) for u in THREAD_UNITS), wide=True)
                ew = [r for r in rows if ('tid %d ' % 5212) in (r.get("details") or "")]
                ctx.check(len(ew) == 1 and ew[0]["name"] == tw,
                          "%s: a ThreadName with escapes, a lone surrogate and a NUL is shown as %s" %
                          (tname, tw), ew)
            # ids
            fb = [r for r in rows if r["tid"] > OS_TID_FALLBACK]
            ctx.check(len(fb) == len(bad_tids) + 1,
                      "%s: each impossible or taken id (3 TIDs, 1 processor) has a fallback id" % tname, fb)
            for tid, v in bad_tids.items():
                sv = v if v < (1 << 63) else v - (1 << 64)
                r = [x for x in rows if ("tid %d " % sv) in (x.get("details") or "")
                     and "explorer" in (x.get("details") or "") + x["name"]]
                r = r or [x for x in fb if ("tid %d " % sv) in (x.get("details") or "")]
                ctx.check(len(r) >= 1 and r[-1]["tid"] > OS_TID_FALLBACK and
                          re.search(r"\[(impossible|duplicate) TID\]", r[-1]["details"]) is not None,
                          "%s: TID %d planted as %#x is listed with a fallback id and a note" % (tname, tid, v), r)
            sysrows = [r for r in rows if r["tid"] == OS_TID_BASE + 8]
            ctx.check(len(sysrows) == 1 and "pid 4 " in sysrows[0]["details"],
                      "%s: System's thread 8 keeps its id" % tname, sysrows)
            idle = [r for r in fb if "impossible processor" in (r.get("details") or "")]
            ctx.check(len(idle) == 1, "%s: the idle thread of processor 60000 has a fallback id" % tname, fb)
            ctx.check(fb and all((b"shown as thread %d" % r["tid"]) in out for r in fb),
                      "%s: xenstub warns, naming the fallback ids" % tname, dec(out)[-3000:])
            ctx.check("impossible or duplicate ids" in osd,
                      "%s: monitor os counts the threads with fallback ids" % tname, osd)
        except Exception:
            os.unlink(path)
            raise

        # reads through the corrupt page-table roots
        num_b = {r["tid"]: r["num"] for r in brows}
        num_h = {r["tid"]: r["num"] for r in rows}
        checks = [(456, 452, "DirectoryTableBase 0x4141414141414000 is not a page-table root"),
                  (352, 348, "DirectoryTableBase 0x7ff0000000 is at physical 0x7ff0000000, "
                             "which is not in the guest's memory"),
                  (5212, 5204, None)]
        for tid, pid, reason in checks:
            if not ctx.check(OS_TID_BASE + tid in num_b and OS_TID_BASE + tid in num_h,
                             "%s: thread %d is listed" % (tname, tid), sorted(num_h)):
                continue
            rd = ["thread %d", "x/s 0x%x" % PATTERN_VA, "monitor v2p 0x%x" % PATTERN_VA]
            _, ob, pb, _ = gdb_bytes(ctx, "core:" + core, [rd[0] % num_b[OS_TID_BASE + tid]] + rd[1:],
                                     args=args)
            _, oh, ph, _ = gdb_bytes(ctx, "core:" + path, [rd[0] % num_h[OS_TID_BASE + tid]] + rd[1:],
                                     args=args)
            before, got, v2p = dec(pb[1]), dec(ph[1]), dec(ph[2])
            pat = "xenstub windows pattern: pid %d" % pid
            ctx.check(pat in before, "%s: thread %d reads its process's pattern on the generated guest" %
                      (tname, tid), before)
            if reason is None:
                ctx.check(pat in got, "%s: thread %d (untouched process) still reads it" % (tname, tid), got)
                continue
            ctx.check("Cannot access memory" in got and "pattern" not in got,
                      "%s: thread %d of the process with a bad DirectoryTableBase reads nothing" %
                      (tname, tid), got)
            ctx.check(reason in dec(oh) and ("(pid %d)" % pid) in dec(oh),
                      "%s: xenstub says why: %s" % (tname, reason), dec(oh)[-3000:])
            ctx.check("no address space" in v2p and reason in v2p,
                      "%s: monitor v2p says why" % tname, v2p)
        os.unlink(path)
