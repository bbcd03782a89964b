#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory read rate: gdb's `dump binary memory FILE START START+64MiB` of
guest-physical memory through xenstub (core target on the fixture's dump,
`monitor phys on`), beside the same 64 MiB read through QEMU's own gdbstub
(a paused QEMU, 128 MiB of RAM, `maint packet Qqemu.PhyMemMode:1`) in the
same run, both over a unix socket.

QEMU's RAM is loaded with the very bytes of the dump's range (-device
loader), so both transfers carry the same data, and the two files gdb
writes are compared with each other and with the dump. Only the `dump`
command is timed (gdb Python, time.perf_counter), not the start of gdb or
of the stubs; each run starts fresh processes; the best of ctx.repeat runs
is kept, with the CPU seconds gdb and xenstub used in it. With --callgrind,
xenstub's instruction count for the transfer (one 64 MiB session minus one
4 KiB session, under valgrind) is printed too.
"""

import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
import verify_dump  # noqa: E402  (the fixture's ELF reader)

SIZE = 64 << 20
LOW_RAM_END = 0x100000          # start above the legacy hole
QEMU = "qemu-system-x86_64"
QEMU_MEM = "128M"
TIMEOUT = 900                   # bound on one transfer (a hang, not a timing)

TIMED_DUMP = r'''
import time
import gdb
t0 = time.perf_counter()
gdb.execute("dump binary memory %(out)s 0x%(start)x 0x%(end)x")
print("XENSTUB-BENCH seconds=%%.6f" %% (time.perf_counter() - t0))
'''


def pick_range(truth):
    """START of SIZE bytes of System RAM, from truth.json's /proc/iomem."""
    for r in truth.get("ram_ranges_iomem", []):
        start = max(int(r["start"], 16), LOW_RAM_END)
        start = (start + 0xfff) & ~0xfff
        if start + SIZE - 1 <= int(r["end_inclusive"], 16):
            return start
    return None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract(memory, start, size, out):
    """The dump's bytes at [start, start+size) into a raw file."""
    dump = verify_dump.CoreDump(memory)
    try:
        with open(out, "wb") as f:
            for a in range(start, start + size, 1 << 20):
                b = dump.read_phys(a, min(1 << 20, start + size - a))
                if b is None:
                    raise RuntimeError("the dump has no bytes at 0x%x" % a)
                f.write(b)
    finally:
        dump.close()


def children_cpu():
    """User+system seconds of the children reaped so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_dump(ctx, sock, setup, out, start, size):
    """Seconds gdb takes for the dump command over the stub at sock, the
    gdb process's CPU seconds (whole session) and gdb's result."""
    if os.path.exists(out):
        os.unlink(out)
    script = TIMED_DUMP % {"out": out, "start": start, "end": start + size}
    cpu0 = children_cpu()
    r = ctx.gdb(list(setup), remote=sock, python=script, timeout=TIMEOUT)
    gdb_cpu = children_cpu() - cpu0
    m = re.search(r"XENSTUB-BENCH seconds=([0-9.]+)", r.out)
    if not m or not os.path.exists(out) or os.path.getsize(out) != size:
        raise RuntimeError("gdb did not complete the dump over %s:\n%r" % (sock, r))
    return float(m.group(1)), gdb_cpu, r


def stop(p, timeout=60):
    """Waits for a process this benchmark started (killing it by pid when
    it does not exit by itself); returns its CPU seconds."""
    cpu0 = children_cpu()
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return children_cpu() - cpu0


def start_server(ctx, argv, sock, log_name, timeout=120):
    if os.path.exists(sock):
        os.unlink(sock)
    log = open(ctx.tmpfile(log_name), "w")
    p = ctx.spawn(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    ctx.wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                 "%s's socket" % argv[0], timeout=timeout)
    if p.poll() is not None:
        with open(ctx.tmpfile(log_name)) as f:
            raise RuntimeError("%s exited (status %s): %s" % (argv[0], p.returncode, f.read()[-2000:]))
    return p


def xenstub_run(ctx, memory, start, size, out, prefix=(), cpu=None):
    """Seconds of one transfer through a new xenstub; appends (gdb CPU s,
    xenstub CPU s) of the session to cpu."""
    sock = ctx.tmpfile("xenstub.sock")
    argv = list(prefix) + [ctx.xenstub, "--once", "unix:" + sock, "core:" + memory]
    p = start_server(ctx, argv, sock, "xenstub.log")
    gdb_cpu = None
    try:
        secs, gdb_cpu, r = timed_dump(ctx, sock, ["monitor phys on"], out, start, size)
        if "guest-physical" not in r.out + r.err:
            raise RuntimeError("xenstub did not confirm physical mode:\n%r" % r)
    finally:
        stub_cpu = stop(p, timeout=300 if prefix else 60)
    if cpu is not None:
        cpu.append((gdb_cpu, stub_cpu))
    return secs


def qemu_run(ctx, raw, start, size, out):
    sock = ctx.tmpfile("qemu-gdb.sock")
    argv = [QEMU, "-accel", "tcg", "-m", QEMU_MEM, "-nodefaults", "-display", "none", "-S",
            "-monitor", "none", "-serial", "none",
            "-gdb", "unix:%s,server=on,wait=off" % sock,
            "-device", "loader,file=%s,addr=0x%x,force-raw=on" % (raw, start)]
    p = start_server(ctx, argv, sock, "qemu.log")
    try:
        secs, _, r = timed_dump(ctx, sock, ["maint packet Qqemu.PhyMemMode:1"], out, start, size)
        if 'received: "OK"' not in r.out + r.err:
            raise RuntimeError("QEMU refused Qqemu.PhyMemMode:1:\n%r" % r)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    return secs


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no instruction total in %s" % path)


def rate(secs):
    return SIZE / secs / (1 << 20)


def bench_memory_read(ctx):
    fx = ctx.fixture()
    start = pick_range(fx.truth)
    if start is None:
        ctx.skip("the fixture has no System RAM range of %d MiB" % (SIZE >> 20))
    if shutil.which(QEMU) is None:
        ctx.skip("%s is not installed (Debian package qemu-system-x86)" % QEMU)
    memory = fx.memory
    ctx.environment("gdb", ctx.tool_version(["gdb", "--version"]))
    ctx.environment("QEMU", ctx.tool_version([QEMU, "--version"]))
    ctx.environment("fixture", fx.src)
    ctx.environment("transfer", "%d MiB of guest-physical memory at 0x%x, gdb `dump binary memory`, "
                    "unix sockets" % (SIZE >> 20, start))
    raw = ctx.tmpfile("range.bin")
    extract(memory, start, SIZE, raw)
    want = sha256(raw)

    xs_out, q_out = ctx.tmpfile("xenstub.bin"), ctx.tmpfile("qemu.bin")
    cpu = []
    xs_best, xs_all = ctx.best_of(lambda: xenstub_run(ctx, memory, start, SIZE, xs_out, cpu=cpu),
                                  "xenstub (core dump, monitor phys on)")
    xs_same = sha256(xs_out) == want
    q_best, q_all = ctx.best_of(lambda: qemu_run(ctx, raw, start, SIZE, q_out),
                                "QEMU gdbstub (paused, PhyMemMode 1)")
    q_same = sha256(q_out) == want

    ctx.figure("xenstub read rate", rate(xs_best), "MiB/s",
               "best %.3f s of %s" % (xs_best, ", ".join("%.3f" % t for t in xs_all)))
    ctx.figure("QEMU gdbstub read rate", rate(q_best), "MiB/s",
               "best %.3f s of %s" % (q_best, ", ".join("%.3f" % t for t in q_all)))
    ctx.figure("ratio xenstub / QEMU", rate(xs_best) / rate(q_best), "x")
    g, x = cpu[xs_all.index(xs_best)]
    ctx.figure("CPU in the best xenstub run: gdb", g, "s", "whole gdb session, user+system")
    ctx.figure("CPU in the best xenstub run: xenstub", x, "s", "whole xenstub session, user+system")
    ctx.figure("bytes equal to the dump's", "xenstub %s, QEMU %s" % (
        "yes" if xs_same else "NO", "yes" if q_same else "NO"), "")
    if not (xs_same and q_same):
        print("  WARNING: a transfer did not return the dump's bytes; the rates above measure "
              "something else than a correct read")

    if ctx.callgrind:
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            print("  callgrind: valgrind is not installed (Debian package valgrind)")
            return
        counts = {}
        for label, size in (("64 MiB", SIZE), ("4 KiB", 4096)):
            cg = ctx.tmpfile("callgrind-%d.out" % size)
            xenstub_run(ctx, memory, start, size, ctx.tmpfile("cg.bin"),
                        prefix=[valgrind, "--tool=callgrind", "--callgrind-out-file=" + cg])
            counts[size] = callgrind_total(cg)
            ctx.figure("callgrind: xenstub session with %s read" % label, counts[size], "instructions")
        per = (counts[SIZE] - counts[4096]) / (SIZE - 4096)
        ctx.figure("callgrind: xenstub instructions per byte read", per, "instr/byte",
                   "64 MiB session minus 4 KiB session")


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import run
    sys.exit(run.main(modules=[__file__]))
