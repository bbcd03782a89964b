# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dump files xenstub cannot use (missing, empty, truncated, not ELF, another
architecture, a directory): one line on stderr naming the file and the
problem, exit status 1, and gdb shows that line."""

import os
import struct


def file_error(ctx, path, what, words):
    r = ctx.run_xenstub(["-", "core:" + path])
    lines = r.err.splitlines()
    ctx.check(r.rc == 1, "%s: exit status 1" % what, r)
    ctx.check(len(lines) == 1, "%s: exactly one line on stderr" % what, r.err)
    ctx.check(path in r.err, "%s: the line names the file" % what, r.err)
    ctx.check(any(w.lower() in r.err.lower() for w in words),
              "%s: the line says %s" % (what, " or ".join(repr(w) for w in words)), r.err)
    ctx.check(r.out == "", "%s: nothing on stdout (gdb's channel)" % what, r.out)
    return r


def head(fx, n):
    with open(fx.memory, "rb") as f:
        return f.read(n)


def test_missing_and_empty(ctx):
    missing = ctx.tmpfile("no-such-dump.elf")
    file_error(ctx, missing, "a missing file", ["No such file"])
    empty = ctx.tmpfile("empty.elf")
    open(empty, "wb").close()
    file_error(ctx, empty, "an empty file", ["empty"])
    d = ctx.tmpfile("a-directory.elf")
    os.makedirs(d, exist_ok=True)
    file_error(ctx, d, "a directory", ["not a regular file", "directory"])


def test_truncated(ctx):
    fx = ctx.fixture()
    segs = fx.segments()
    # cut inside the ELF header, inside the program headers, inside the
    # notes, and inside the memory of the first and of a later segment
    sizes = [40, 100, 1024, 64 * 1024, segs[1][2] + 4096 if len(segs) > 1 else 1 << 20]
    for n in sizes:
        path = ctx.tmpfile("truncated-%d.elf" % n)
        with open(path, "wb") as f:
            f.write(head(fx, n))
        file_error(ctx, path, "the first %d bytes of memory.elf" % n, ["truncated", "shorter"])
        os.unlink(path)


def test_not_elf(ctx):
    path = ctx.tmpfile("notes.txt")
    with open(path, "w") as f:
        f.write("These are not the frames you are looking for.\n" * 200)
    file_error(ctx, path, "a text file", ["not an ELF"])
    short = ctx.tmpfile("tiny.bin")
    with open(short, "wb") as f:
        f.write(b"\x7fEL")
    file_error(ctx, short, "a 3-byte file", ["not an ELF", "shorter", "truncated"])


def test_foreign_architecture(ctx):
    fx = ctx.fixture()
    data = bytearray(head(fx, 1 << 20))
    is64 = data[4] == 2
    # e_machine is at the same offset (18) in ELF32 and ELF64 headers
    struct.pack_into("<H", data, 18, 183)           # EM_AARCH64
    path = ctx.tmpfile("aarch64.elf")
    with open(path, "wb") as f:
        f.write(data)
    file_error(ctx, path, "an ELF core of another machine (aarch64)",
               ["architecture", "machine"])
    struct.pack_into("<H", data, 18, 62 if not is64 else 3)
    struct.pack_into("<H", data, 16, 2)               # ET_EXEC, not a core
    path2 = ctx.tmpfile("exec.elf")
    with open(path2, "wb") as f:
        f.write(data)
    file_error(ctx, path2, "an ELF executable, not a core", ["not a core", "core dump"])
    os.unlink(path)
    os.unlink(path2)


def test_gdb_shows_the_reason(ctx):
    """Through 'target remote | xenstub - core:...', the user sees the line."""
    missing = ctx.tmpfile("gone.elf")
    r = ctx.gdb(["info threads"], target="core:" + missing, merge_stderr=True)
    ctx.check(r.rc is not None, "gdb does not hang when xenstub cannot start", r)
    ctx.check("xenstub: %s: cannot open" % missing in r.out,
              "gdb's output shows xenstub's one-line reason", r)
