# SPDX-License-Identifier: LGPL-2.1-or-later
"""Choosing the Windows symbol table: without a matching one (unknown GUID,
another kernel's --profile, none given) a message names the file needed and
how to make it, and threads are the vCPUs; .json tables are found too."""

import lzma
import os
import re

from test_windows_common import image, profile_dir_args, profiles_dir, tables

OTHER_GUID = "0123456789ABCDEF0123456789ABCDEF"


def _vcpu_threads_only(out, n):
    ids = re.findall(r"^\*?\s+(\d+)\s+Thread (\d+) ", out or "", re.M)
    return [int(t) for _, t in ids] == list(range(1, n + 1))


def test_guid_without_table(ctx):
    for name, table in tables(ctx):
        core, man = image(ctx, table, "--guid", OTHER_GUID, "--age", "7")
        r, out = ctx.gdb_each(["info threads", "monitor os"], target="core:" + core,
                              xenstub_args=profile_dir_args())
        pdb = man["pdb"]
        path = "%s/windows/%s/%s-7.json.xz" % (profiles_dir(), pdb, OTHER_GUID)
        for what, text in (("xenstub's warning", r.out), ("monitor os", out[1] or "")):
            ctx.check("no symbol table for the Windows kernel %s (GUID %s, age 7)" % (pdb, OTHER_GUID)
                      in text and path in text,
                      "%s: %s names the PDB, GUID, age and the expected path" % (name, what), text)
            ctx.check("volatility3.framework.symbols.windows.pdbconv -p %s -g %s7" % (pdb, OTHER_GUID)
                      in text and "symbol server" in text,
                      "%s: %s says how to make the table" % (name, what), text)
        ctx.check(_vcpu_threads_only(out[0], len(man["vcpus"])),
                  "%s: without a table the threads are the vCPUs only" % name, out[0])


def test_no_profile_option(ctx):
    for name, table in tables(ctx)[:1]:
        core, man = image(ctx, table)
        r, out = ctx.gdb_each(["info threads", "monitor os"], target="core:" + core)
        text = out[1] or ""
        ctx.check("neither --profile-dir nor --profile given" in text and
                  "PROFILE_DIR/windows/%s/%s-%d.json.xz" % (man["pdb"], man["guid"], man["age"]) in text,
                  "%s: without --profile-dir the message says which file is needed" % name, text)
        ctx.check(_vcpu_threads_only(out[0], len(man["vcpus"])),
                  "%s: and the threads are the vCPUs only" % name, out[0])


def test_profile_for_another_kernel(ctx):
    tbl = tables(ctx)
    if len(tbl) < 2:
        ctx.skip("needs two Windows tables")
    (name, table), (_, other) = tbl[0], tbl[1]
    core, man = image(ctx, table)
    r, out = ctx.gdb_each(["info threads", "monitor os"], target="core:" + core,
                          xenstub_args=["--profile", other])
    text = out[1] or ""
    ctx.check("%s does not match the kernel in memory" % other in text and
              man["guid"] in text and "pdbconv" in text,
              "%s: a --profile table of another kernel is refused, naming both GUIDs" % name, text)
    ctx.check(_vcpu_threads_only(out[0], len(man["vcpus"])),
              "%s: and the threads are the vCPUs only" % name, out[0])


def test_profile_not_a_windows_table(ctx):
    name, table = tables(ctx)[0]
    core, man = image(ctx, table)
    bad = ctx.tmpfile("not-a-table.json")
    with open(bad, "w") as f:
        f.write('{"metadata": {"linux": {}}, "user_types": {}, "symbols": {}}')
    r, out = ctx.gdb_each(["info threads", "monitor os"], target="core:" + core,
                          xenstub_args=["--profile", bad])
    ctx.check("%s is not a Windows symbol table" % bad in (out[1] or ""),
              "%s: a Linux table given to a Windows guest is refused" % name, out[1])
    ctx.check(_vcpu_threads_only(out[0], len(man["vcpus"])),
              "%s: and the threads are the vCPUs only" % name, out[0])


def test_uncompressed_table_in_dir(ctx):
    name, table = tables(ctx)[0]
    core, man = image(ctx, table)
    d = ctx.tmpfile("profiles-json")
    sub = os.path.join(d, "windows", man["pdb"])
    os.makedirs(sub, exist_ok=True)
    with open(table, "rb") as f:
        data = f.read()
    if data[:6] == b"\xfd7zXZ\x00":
        data = lzma.decompress(data)
    path = os.path.join(sub, "%s-%d.json" % (man["guid"], man["age"]))
    with open(path, "wb") as f:
        f.write(data)
    r, out = ctx.gdb_each(["monitor os", "info threads"], target="core:" + core,
                          xenstub_args=["--profile-dir", d])
    ctx.check("profile: %s" % path in (out[0] or ""),
              "%s: --profile-dir finds DIR/windows/PDB/GUID-AGE.json" % name, out[0])
    ctx.check("Thread %d " % (1000000 + 4188) in (out[1] or ""),
              "%s: and lists the guest's threads" % name, out[1])
