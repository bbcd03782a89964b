# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers of the Windows end-to-end tests (no tests here): the real Windows
symbol tables, guests generated from them by tests/tools/make-windows-image.py
(once per run), and a gdb script reporting each thread as a JSON line."""

import glob
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATOR = os.path.join(REPO, "tests", "tools", "make-windows-image.py")
OS_TID_BASE = 1000000

# The Windows version each known table's kernel has (the tables do not
# record it); others get a made-up one, which the tests read back the same.
KNOWN_VERSIONS = {
    "BBED7C2955FBE4522AAA23F4B8677AD9": "10.0.19041",
    "339E74133576439CBCDF7E0229DA3773": "6.1.7601",
}


def profiles_dir():
    """The folder of symbol tables laid out as Volatility 3 does."""
    for d in (os.environ.get("XENSTUB_PROFILES"),
              os.path.join(REPO, "..", "shared", "profiles")):
        if d and glob.glob(os.path.join(d, "windows", "*", "*.json*")):
            return os.path.abspath(d)
    return None


def tables(ctx):
    """Every Windows table: [(short name, path)]; skips when none."""
    d = profiles_dir()
    if d is None:
        ctx.skip("no Windows symbol tables in ../shared/profiles/windows (or $XENSTUB_PROFILES)")
    out = []
    for p in sorted(glob.glob(os.path.join(d, "windows", "*", "*.json*"))):
        out.append((os.path.basename(p).split(".")[0], p))
    return out


def table_guid(path):
    return os.path.basename(path).split("-")[0].upper()


def image(ctx, table, *extra):
    """Generates (once per run) a guest from table with the generator's
    extra arguments; returns (core path, manifest dict)."""
    cache = ctx.__dict__.setdefault("_windows_images", {})
    key = (table,) + tuple(extra)
    if key not in cache:
        n = len(cache)
        core = ctx.tmpfile("windows-%d.elf" % n)
        man = ctx.tmpfile("windows-%d.json" % n)
        version = KNOWN_VERSIONS.get(table_guid(table), "10.0.22000")
        r = subprocess.run([sys.executable, GENERATOR, "--profile", table, "-o", core,
                            "--manifest", man, "--version", version] + list(extra),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise AssertionError("make-windows-image.py failed (%d): %s" % (r.returncode, r.stderr))
        with open(man) as f:
            cache[key] = (core, json.load(f))
    return cache[key]


# A gdb Python script: one JSON line per thread (id, name, details), its
# registers, and the bytes at an address read while it is selected.
THREAD_SCRIPT = r'''
import gdb, json
ADDR = %(addr)d
LEN = %(len)d
inf = gdb.selected_inferior()
for th in sorted(inf.threads(), key=lambda t: t.num):
    th.switch()
    row = {"num": th.num, "tid": th.ptid[1], "name": th.name, "details": th.details}
    regs = {}
    try:
        frame = gdb.newest_frame()
        for r in ("rip", "rsp", "rbp", "rax", "rbx", "r15", "cs"):
            try:
                regs[r] = int(frame.read_register(r)) & (2**64 - 1)
            except gdb.error:
                regs[r] = None
    except gdb.error as e:
        row["frame_error"] = str(e)
    row["regs"] = regs
    try:
        row["mem"] = bytes(inf.read_memory(ADDR, LEN)).hex()
    except gdb.error as e:
        row["mem"] = None
        row["mem_error"] = str(e)
    print("ROW " + json.dumps(row))
print("DONE")
'''


def thread_rows(ctx, core, args, addr, length=64):
    """Runs gdb on core with xenstub args; returns (Result, {tid: row})."""
    r = ctx.gdb(target="core:" + core, xenstub_args=args,
                python=THREAD_SCRIPT % {"addr": addr, "len": length})
    rows = {}
    for line in r.out.splitlines():
        if line.startswith("ROW "):
            row = json.loads(line[4:])
            rows[row["tid"]] = row
    return r, rows


def profile_dir_args():
    return ["--profile-dir", profiles_dir()]
