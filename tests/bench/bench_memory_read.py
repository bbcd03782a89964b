#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory read rate: gdb's `dump binary memory FILE START START+64MiB` of
guest-physical memory through xenstub (core target on the fixture's dump,
`monitor phys on`) in every transport the README gives (a unix socket,
TCP on loopback, `xenstub --gdb`, and `target remote | xenstub -`), beside
the same 64 MiB read in the same run through QEMU's own gdbstub (a paused
QEMU, 128 MiB of RAM, `maint packet Qqemu.PhyMemMode:1`, unix socket) and
through gdbserver attached to a native process that holds exactly those
bytes (TCP: gdbserver listens on nothing else).

QEMU's RAM is loaded with the very bytes of the dump's range (-device
loader), the native process maps the same bytes, and every file gdb writes
is compared with the dump. Only the `dump` command is timed (gdb Python,
time.perf_counter), not the start of gdb or of the stubs; each run starts
fresh processes; the best of ctx.repeat runs is kept, with the CPU seconds
gdb and the stub used in it (one figure for both where one is the other's
child: --gdb and the pipe). The bytes each stub puts on the wire for the
transfer are counted once per stub, untimed, through a relay. A raw client
then reads 4 MiB of the range with m (hex) and with gdb 16's x (binary)
packets and counts the bytes of the replies. With --callgrind, xenstub's
instruction count for the transfer (one 64 MiB session minus one 4 KiB
session, under valgrind) is printed too.
"""

import hashlib
import os
import re
import resource
import select
import shutil
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
import verify_dump  # noqa: E402  (the fixture's ELF reader)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from harness import RawConnection  # noqa: E402

# XENSTUB_BENCH_MIB: another size, for a quick try of the benchmark itself
SIZE = int(os.environ.get("XENSTUB_BENCH_MIB", "64")) << 20
# the pipe form reads gdb's child's stderr after every byte: 64 MiB would
# take many minutes, so its rate is measured once, on the first 8 MiB
PIPE_SIZE = min(SIZE, 8 << 20)
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


def gdb_seconds(r, what, out, size):
    m = re.search(r"XENSTUB-BENCH seconds=([0-9.]+)", r.out)
    if not m or not os.path.exists(out) or os.path.getsize(out) != size:
        raise RuntimeError("gdb did not complete the dump over %s:\n%r" % (what, r))
    return float(m.group(1))


def timed_dump(ctx, sock, setup, out, start, size, pre=(), target=None, xenstub_args=()):
    """Seconds gdb takes for the dump command over the stub at sock (or
    through 'target remote | xenstub ... - target'), the gdb process's CPU
    seconds (whole session; with target, xenstub's are in them) and gdb's
    result."""
    if os.path.exists(out):
        os.unlink(out)
    script = TIMED_DUMP % {"out": out, "start": start, "end": start + size}
    cpu0 = children_cpu()
    r = ctx.gdb(list(setup), remote=None if target else sock, target=target,
                xenstub_args=xenstub_args, python=script, timeout=TIMEOUT, pre=pre)
    gdb_cpu = children_cpu() - cpu0
    return gdb_seconds(r, target or sock, out, size), gdb_cpu, r


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


def xenstub_run(ctx, memory, start, size, out, prefix=(), cpu=None, tcp=False, relay=None):
    """Seconds of one transfer through a new xenstub on a unix socket (or
    TCP); appends (gdb CPU s, xenstub CPU s) of the session to cpu. relay:
    a function from the stub's address to the one gdb connects to."""
    if tcp:
        p, port = ctx.start_xenstub_tcp("core:" + memory, args=["--once"])
        addr = "127.0.0.1:%d" % port
    else:
        sock = ctx.tmpfile("xenstub.sock")
        argv = list(prefix) + [ctx.xenstub, "--once", "unix:" + sock, "core:" + memory]
        p = start_server(ctx, argv, sock, "xenstub.log")
        addr = sock
    gdb_cpu = None
    try:
        secs, gdb_cpu, r = timed_dump(ctx, relay(addr) if relay else addr, ["monitor phys on"],
                                      out, start, size)
        if "guest-physical" not in r.out + r.err:
            raise RuntimeError("xenstub did not confirm physical mode:\n%r" % r)
    finally:
        stub_cpu = stop(p, timeout=300 if prefix else 60)
    if cpu is not None:
        cpu.append((gdb_cpu, stub_cpu))
    return secs


def xenstub_pipe_run(ctx, memory, start, size, out, cpu=None):
    """One transfer through 'target remote | xenstub - core:...'."""
    secs, both, r = timed_dump(ctx, None, ["monitor phys on"], out, start, size,
                               target="core:" + memory)
    if "guest-physical" not in r.out + r.err:
        raise RuntimeError("xenstub did not confirm physical mode:\n%r" % r)
    if cpu is not None:
        cpu.append(both)
    return secs


def xenstub_gdb_run(ctx, memory, start, size, out, cpu=None):
    """One transfer through 'xenstub --gdb core:... -- GDB-ARGUMENTS'."""
    if os.path.exists(out):
        os.unlink(out)
    script = ctx.tmpfile("gdb-mode.py")
    with open(script, "w") as f:
        f.write(TIMED_DUMP % {"out": out, "start": start, "end": start + size})
    cpu0 = children_cpu()
    r = ctx.xenstub_gdb("core:" + memory, ["-ex", "monitor phys on", "-x", script], timeout=TIMEOUT)
    if cpu is not None:
        cpu.append(children_cpu() - cpu0)
    if "guest-physical" not in r.out + r.err:
        raise RuntimeError("xenstub --gdb did not confirm physical mode:\n%r" % r)
    return gdb_seconds(r, "xenstub --gdb", out, size)


HOLDER = r'''
import ctypes, mmap, os, sys, time
size = int(sys.argv[2])
m = mmap.mmap(-1, size)
with open(sys.argv[1], "rb") as f:
    m.write(f.read())
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write("%d %x\n" % (os.getpid(), addr))
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while True:
    time.sleep(3600)
'''


def native_holder(ctx, raw, size):
    """A native process holding the range's bytes at one address: (process,
    pid, address)."""
    script, info = ctx.tmpfile("holder.py"), ctx.tmpfile("holder.info")
    with open(script, "w") as f:
        f.write(HOLDER)
    if os.path.exists(info):
        os.unlink(info)
    p = ctx.spawn([sys.executable, script, raw, str(size), info], stdin=subprocess.DEVNULL)
    ctx.wait_for(lambda: os.path.exists(info) or p.poll() is not None, "the native process's bytes")
    if p.poll() is not None:
        raise RuntimeError("the native process holding the bytes exited (%s)" % p.returncode)
    pid, addr = open(info).read().split()
    return p, int(pid), int(addr, 16)


def gdbserver_run(ctx, pid, addr, size, out, cpu=None, relay=None):
    """One transfer through gdbserver attached to the native process
    (TCP on loopback)."""
    log_path = ctx.tmpfile("gdbserver.log")
    log = open(log_path, "w")
    p = ctx.spawn(["gdbserver", "--once", "--attach", "127.0.0.1:0", str(pid)],
                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    port = ctx.listening_port(p, log_path, "gdbserver")
    addr_s = "127.0.0.1:%d" % port
    gdb_cpu = None
    try:
        # the process's files are read here, not over the connection
        secs, gdb_cpu, _ = timed_dump(ctx, relay(addr_s) if relay else addr_s, [], out, addr, size,
                                      pre=["set sysroot /", "set auto-solib-add off"])
    finally:
        stub_cpu = stop(p)
    if cpu is not None:
        cpu.append((gdb_cpu, stub_cpu))
    return secs


class Relay:
    """Counts the bytes each way between gdb and a stub: listens on a unix
    socket, connects each client to the stub (a unix path or HOST:PORT)."""

    def __init__(self, ctx, name):
        self.path = ctx.tmpfile(name)
        self.to_gdb = self.to_stub = 0
        self.upstream = None
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        self.ls.listen(1)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def __call__(self, upstream):
        self.upstream = upstream
        return self.path

    def _connect(self):
        if os.path.exists(self.upstream) or "/" in self.upstream:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.upstream)
            return s
        host, port = self.upstream.rsplit(":", 1)
        return socket.create_connection((host, int(port)))

    def _run(self):
        c, _ = self.ls.accept()
        u = self._connect()
        peer = {c: u, u: c}
        reading = {c, u}
        # each way ends on its own: an end of file is passed on as one
        while reading:
            r, _, _ = select.select(list(reading), [], [], 600)
            if not r:
                break
            for s in r:
                try:
                    d = s.recv(1 << 20)
                except OSError:
                    d = b""
                if not d:
                    reading.discard(s)
                    try:
                        peer[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                if s is u:
                    self.to_gdb += len(d)
                else:
                    self.to_stub += len(d)
                try:
                    peer[s].sendall(d)
                except OSError:
                    reading.discard(s)
        c.close()
        u.close()
        self.ls.close()


class CountingConnection(RawConnection):
    """A raw client that counts the bytes it receives."""

    received = 0

    def _fill(self):
        before = len(self.buf)
        super()._fill()
        self.received += len(self.buf) - before


def packet_bytes(ctx, memory, start, size, raw):
    """Bytes on the wire for size bytes read with m and with x packets (4
    KiB to 64 KiB each, as gdb asks), and whether both read the range's
    bytes."""
    sock = ctx.tmpfile("xenstub-raw.sock")
    p = start_server(ctx, [ctx.xenstub, "--once", "unix:" + sock, "core:" + memory], sock,
                     "xenstub-raw.log")
    want = open(raw, "rb").read(size)
    res = {}
    try:
        c = CountingConnection(sock)
        sup = c.cmd("qSupported:multiprocess+;binary-upload+;swbreak+")
        if b"binary-upload+" not in sup:
            raise RuntimeError("xenstub did not offer binary-upload: %r" % sup)
        c.cmd("QStartNoAckMode")
        c.noack = True
        c.cmd("Qqemu.PhyMemMode:1")
        for kind in ("m", "x"):
            got = bytearray()
            c.received = 0
            while len(got) < size:
                n = min(0x10000, size - len(got))
                r = c.cmd("%s%x,%x" % (kind, start + len(got), n))
                if kind == "x":
                    if not r.startswith(b"b"):
                        raise RuntimeError("x reply without 'b': %r" % r[:20])
                    got += r[1:]
                else:
                    got += bytes.fromhex(r.decode())
            res[kind] = (c.received, bytes(got) == want)
        c.cmd("D")
        c.close()
    finally:
        stop(p)
    return res


def qemu_run(ctx, raw, start, size, out, relay=None):
    sock = ctx.tmpfile("qemu-gdb.sock")
    argv = [QEMU, "-accel", "tcg", "-m", QEMU_MEM, "-nodefaults", "-display", "none", "-S",
            "-monitor", "none", "-serial", "none",
            "-gdb", "unix:%s,server=on,wait=off" % sock,
            "-device", "loader,file=%s,addr=0x%x,force-raw=on" % (raw, start)]
    p = start_server(ctx, argv, sock, "qemu.log")
    try:
        secs, _, r = timed_dump(ctx, relay(sock) if relay else sock,
                                ["maint packet Qqemu.PhyMemMode:1"], out, start, size)
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

    out = ctx.tmpfile("out.bin")
    results = {}

    def measure(key, what, fn, size=SIZE):
        cpu = []
        if size == SIZE:
            best, times = ctx.best_of(lambda: fn(cpu), what)
            same = sha256(out) == want
        else:
            best = fn(cpu)
            times = [best]
            print("  run 1/1 %-38s %.3f s (%d MiB)" % (what, best, size >> 20), flush=True)
            with open(raw, "rb") as f:
                same = open(out, "rb").read() == f.read(size)
        # seconds scaled to SIZE, so that rates compare
        results[key] = (best * SIZE / size, times,
                        cpu[times.index(best)] if cpu else None, same)
        ctx.figure("%s: rate" % what, rate(best * SIZE / size), "MiB/s",
                   "best %.3f s of %s for %d MiB" % (best, ", ".join("%.3f" % t for t in times),
                                                    size >> 20))
        c = results[key][2]
        if isinstance(c, tuple):
            ctx.figure("%s: CPU gdb / stub" % what, "%.2f s / %.2f s" % c, "",
                       "whole sessions, user+system, best run")
        elif c is not None:
            ctx.figure("%s: CPU gdb + xenstub" % what, c, "s", "one process the other's child; "
                       "%d MiB" % (size >> 20))
        if not same:
            print("  WARNING: %s did not return the dump's bytes" % what)

    measure("unix", "xenstub, unix socket",
            lambda cpu: xenstub_run(ctx, memory, start, SIZE, out, cpu=cpu))
    measure("tcp", "xenstub, TCP",
            lambda cpu: xenstub_run(ctx, memory, start, SIZE, out, cpu=cpu, tcp=True))
    measure("gdbmode", "xenstub --gdb",
            lambda cpu: xenstub_gdb_run(ctx, memory, start, SIZE, out, cpu=cpu))
    measure("pipe", "target remote | xenstub -",
            lambda cpu: xenstub_pipe_run(ctx, memory, start, PIPE_SIZE, out, cpu=cpu), PIPE_SIZE)
    measure("qemu", "QEMU gdbstub, unix socket", lambda cpu: qemu_run(ctx, raw, start, SIZE, out))
    have_gdbserver = shutil.which("gdbserver") is not None
    holder = None
    if have_gdbserver:
        ctx.environment("gdbserver", ctx.tool_version(["gdbserver", "--version"]))
        holder, pid, addr = native_holder(ctx, raw, SIZE)
        measure("gdbserver", "gdbserver (native process), TCP",
                lambda cpu: gdbserver_run(ctx, pid, addr, SIZE, out, cpu=cpu))
    else:
        print("  gdbserver: not installed (Debian package gdbserver): no figure")

    r = {k: rate(v[0]) for k, v in results.items()}
    ctx.figure("ratio xenstub unix / QEMU", r["unix"] / r["qemu"], "x")
    if "gdbserver" in r:
        ctx.figure("ratio xenstub TCP / gdbserver TCP", r["tcp"] / r["gdbserver"], "x")
        ctx.figure("ratio xenstub unix / gdbserver TCP", r["unix"] / r["gdbserver"], "x")
    ctx.figure("ratio xenstub --gdb / unix socket", r["gdbmode"] / r["unix"], "x")
    ctx.figure("ratio pipe / unix socket", r["pipe"] / r["unix"], "x")
    ctx.figure("bytes equal to the dump's", ", ".join(
        "%s %s" % (k, "yes" if v[3] else "NO") for k, v in results.items()), "")

    # bytes on the wire, untimed, through a counting relay
    for key, what, fn in (
            ("xenstub", "xenstub", lambda rl: xenstub_run(ctx, memory, start, SIZE, out, relay=rl)),
            ("qemu", "QEMU gdbstub", lambda rl: qemu_run(ctx, raw, start, SIZE, out, relay=rl)),
            ("gdbserver", "gdbserver",
             (lambda rl: gdbserver_run(ctx, pid, addr, SIZE, out, relay=rl)) if have_gdbserver else None)):
        if fn is None:
            continue
        rl = Relay(ctx, "relay-%s.sock" % key)
        fn(rl)
        rl.t.join(timeout=60)
        ctx.figure("bytes on the wire, %s" % what, rl.to_gdb, "bytes",
                   "to gdb for the whole session, %.3f per byte of memory; %d from gdb" % (
                       rl.to_gdb / SIZE, rl.to_stub))
    if holder is not None:
        holder.kill()
        holder.wait()

    # m against x, raw client
    small = min(4 << 20, SIZE)
    pb = packet_bytes(ctx, memory, start, small, raw)
    for kind, label in (("m", "m packets (hex, run-length encoded)"),
                        ("x", "x packets (binary, run-length encoded)")):
        n, same = pb[kind]
        ctx.figure("wire bytes per MiB, %s" % label, n / (small >> 20), "bytes",
                   "%d MiB read by a raw client; %s" % (small >> 20, "bytes right" if same else "WRONG BYTES"))
    ctx.figure("wire bytes per MiB, hex without run-length encoding", 2 * (1 << 20), "bytes",
               "what a stub that does not encode runs sends, framing aside")

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
