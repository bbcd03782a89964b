# SPDX-License-Identifier: LGPL-2.1-or-later
"""What goes over the wire: run-length encoded replies (decoded by gdb 13
into the dump's exact bytes), gdb 16's binary x packet (raw client), find
across unreadable memory (physical and virtual), a second debugger refused
at once (unix socket and TCP, raw client and gdb), and `xenstub --gdb`,
the one-line way to open a dump over a private unix socket."""

import glob
import os
import re
import signal
import subprocess

from harness import RawConnection

OS_NONE = ["--os=none"]
PAGE = 4096


class WireConnection(RawConnection):
    """A raw client that keeps the frames as they came (before decoding)."""

    def read_frame(self):
        while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
            self._fill()
        start = self.buf.index(b"$")
        end = self.buf.index(b"#", start)
        frame = self.buf[start:end + 3]
        self.buf = self.buf[end + 3:]
        if not self.noack:
            self.s.sendall(b"+")
        return frame

    def cmd_frame(self, payload):
        self.s.sendall(self.frame(payload))
        if not self.noack:
            a = self.read_byte()
            if a != b"+":
                raise AssertionError("expected ack, got %r" % a)
        return self.read_frame()


def readable_pages(read, start, end):
    """[(address, bytes)] of the readable stretches of [start, end), read
    page by page with read(address, n) (None when unreadable)."""
    runs, cur, cur_start = [], b"", None
    for a in range(start, end, PAGE):
        b = read(a, min(PAGE, end - a))
        if b is None:
            if cur:
                runs.append((cur_start, cur))
            cur, cur_start = b"", None
            continue
        if cur_start is None:
            cur_start = a
        cur += b
    if cur:
        runs.append((cur_start, cur))
    return runs


def first_match(runs, pattern):
    for a, data in runs:
        i = data.find(pattern)
        if i >= 0:
            return a + i
    return None


def pattern_after_hole(runs, hole_end):
    """8 bytes that are not all alike, from the first stretch after the
    hole, whose first place in the readable memory is after the hole."""
    for a, data in runs:
        if a < hole_end:
            continue
        for off in range(0, len(data) - 8, 8):
            pat = data[off:off + 8]
            if len(set(pat)) >= 4 and first_match(runs, pat) == a + off:
                return pat, a + off
    return None, None


def find_cmd(start, end, pat):
    return "find /b 0x%x, 0x%x, %s" % (start, end - 1, ", ".join("0x%02x" % b for b in pat))


def hits(text):
    return [int(h, 16) for h in re.findall(r"^(0x[0-9a-f]+)", text or "", re.M)]


# ---- run-length encoding ----

def mostly_zero_range(fx, size=1 << 20):
    """A size-byte range of physical memory in the dump, at least half
    zeros and not all zeros (a MiB-aligned search)."""
    for seg_start, seg_size, _ in fx.segments():
        a = (seg_start + size - 1) & ~(size - 1)
        while a + size <= seg_start + seg_size:
            data = fx.read_phys(a, size)
            zeros = data.count(0)
            if size // 2 <= zeros < size:
                return a, data
            a += size
    return None, None


def test_rle_decoded_by_gdb(ctx):
    fx = ctx.fixture()
    start, want = mostly_zero_range(fx)
    if start is None:
        ctx.skip("no mostly-zero MiB of physical memory in the fixture")
    out = ctx.tmpfile("rle.bin")
    r, o = ctx.gdb_each(["monitor phys on",
                         "dump binary memory %s 0x%x 0x%x" % (out, start, start + len(want))],
                        target="core:" + fx.memory, xenstub_args=OS_NONE)
    got = open(out, "rb").read() if os.path.exists(out) else b""
    ctx.check(got == want, "gdb 13's dump of a mostly-zero MiB at 0x%x (%d%% zeros) equals the "
              "dump's bytes" % (start, 100 * want.count(0) // len(want)), r)

    # the same bytes are shorter on the wire
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=OS_NONE)
    c = WireConnection(sock)
    c.cmd("qSupported:multiprocess+")
    c.cmd("Qqemu.PhyMemMode:1")
    zero = next((start + i for i in range(0, len(want), PAGE)
                 if want[i:i + PAGE] == bytes(PAGE)), None)
    if zero is not None:
        frame = c.cmd_frame("m%x,%x" % (zero, PAGE))
        ctx.check(len(frame) < 400 and b"*" in frame,
                  "a zero page's m reply is run-length encoded (%d bytes on the wire for %d digits)"
                  % (len(frame), 2 * PAGE), frame[:80])
        ctx.check(RawConnection.unescape(frame[1:-3]) == b"0" * (2 * PAGE),
                  "and decodes to its %d zero digits" % (2 * PAGE))
    frame = c.cmd_frame("m%x,%x" % (start, 0x10000))
    body = frame[1:-3]
    counts = [body[i + 1] for i in range(len(body) - 1) if body[i] == 0x2a and
              (i == 0 or body[i - 1] != 0x7d)]
    ctx.check(all(ch not in b"#$*}" and 32 <= ch <= 126 for ch in counts),
              "no run count is '#', '$', '*' or '}' (%d runs)" % len(counts), counts[:40])
    ctx.check(RawConnection.unescape(body) == want[:0x10000].hex().encode(),
              "64 KiB read with m: the run-length encoded reply decodes to the dump's bytes")
    c.cmd("D")
    c.close()


# ---- gdb 16's x packet ----

def special_bytes_address(fx, start, data):
    """An address in data holding '$', '#', '}' and '*' within 256 bytes."""
    for i in range(0, len(data) - 256, 64):
        w = data[i:i + 256]
        if all(ch in w for ch in b"$#}*"):
            return start + i
    return None


def test_x_packet(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=OS_NONE)
    c = RawConnection(sock)
    sup = c.cmd("qSupported:multiprocess+;swbreak+")
    ctx.check(b"binary-upload" not in sup, "binary-upload is not offered to a client that does not "
              "offer it", sup)
    ctx.check(c.cmd("x0,10") == b"", "without binary-upload, x gets the empty reply (unsupported)")
    c.cmd("D")
    c.close()

    c = RawConnection(sock)
    sup = c.cmd("qSupported:multiprocess+;binary-upload+;swbreak+")
    ctx.check(b";binary-upload+" in sup, "binary-upload+ offered to a client that offers it", sup)
    c.cmd("Qqemu.PhyMemMode:1")
    start, size = 0x100000, 0x40000
    data = fx.read_phys(start, size)
    r = c.cmd("x%x,%x" % (start, size))
    ctx.check(r[:1] == b"b" and r[1:] == data[:0x1ffff],
              "x of 256 KiB answers 'b' and the dump's first bytes, as many as fit the "
              "128 KiB PacketSize (%d of %d)" % (len(r) - 1, size))
    r = c.cmd("x%x,%x" % (start + 0x1ffff, 0x10000))
    ctx.check(r == b"b" + data[0x1ffff:0x2ffff], "x of the next 64 KiB goes on from there")
    sp = special_bytes_address(fx, start, data)
    if sp is not None:
        r = c.cmd("x%x,100" % sp)
        ctx.check(r == b"b" + fx.read_phys(sp, 0x100),
                  "x of 256 bytes holding '$', '#', '}' and '*' (escaped) at 0x%x" % sp, r)
    r = c.cmd("x9ff00,200")
    ctx.check(r == b"b" + fx.read_phys(0x9ff00, 0x100),
              "x running into unreadable memory answers the bytes before it", r[:20])
    ctx.check(c.cmd("xa0000,10") == b"E0e", "x of unreadable memory is an error")
    ctx.check(c.cmd("x0,0") == b"b", "x of no byte answers 'b' alone")
    ctx.check(c.cmd("x0") == b"E16", "a malformed x packet is an error")
    r = c.cmd("m%x,10" % start)
    ctx.check(r == data[:16].hex().encode(), "m still answers in hex", r)
    c.cmd("D")
    c.close()


# ---- find across holes ----

def check_find(ctx, label, read, start, end, setup, xenstub_args):
    runs = readable_pages(read, start, end)
    holes = [(a, a + PAGE) for a in range(start, end, PAGE) if read(a, 1) is None]
    if not holes or not runs:
        ctx.skip("%s: no unreadable page between 0x%x and 0x%x" % (label, start, end))
    pat, want = pattern_after_hole(runs, holes[0][1])
    if pat is None:
        ctx.skip("%s: no pattern found only after the hole" % label)
    absent = b"XENSTUB!" if first_match(runs, b"XENSTUB!") is None else None
    cmds = setup + [find_cmd(start, end, pat)]
    if absent:
        cmds.append(find_cmd(start, end, absent))
    cmds.append("monitor help")
    r, out = ctx.gdb_each(cmds, target="core:" + ctx.fixture().memory,
                          xenstub_args=xenstub_args)
    found = hits(out[len(setup)])
    ctx.check(found[:1] == [want], "%s: find across the hole at 0x%x returns the first match "
              "after it, 0x%x" % (label, holes[0][0], want), out[len(setup)])
    hole_text = "unreadable memory skipped: 0x%x.." % holes[0][0]
    ctx.check(hole_text in (out[len(setup)] or ""), "%s: xenstub says which hole it skipped "
              "(its log, on gdb's terminal)" % label, out[len(setup)])
    if absent:
        ctx.check("Pattern not found" in (out[len(setup) + 1] or ""),
                  "%s: a pattern that is nowhere is still not found" % label, out[len(setup) + 1])
    ctx.check(hole_text in (out[-1] or "") and "the pattern was found after it" in (out[-1] or ""),
              "%s: the note reaches gdb's console at the next monitor command" % label, out[-1])


def test_find_across_the_legacy_hole_physical(ctx):
    fx = ctx.fixture()
    check_find(ctx, "physical", fx.read_phys, 0x9f000, 0x100000, ["monitor phys on"], OS_NONE)


def test_find_across_the_legacy_hole_virtual(ctx):
    fx = ctx.fixture()
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    task = int(fx.truth["marker"]["task_struct"], 16)
    w = fx.walk(cr3, task)
    if w["fault"]:
        ctx.skip("the marker's task_struct is not mapped through vCPU 0's CR3")
    base = task - w["paddr"]   # the kernel's direct map of physical memory
    start, end = base + 0x9f000, base + 0x100000

    def read(a, n):
        return fx.read_virt(cr3, a, n)

    check_find(ctx, "virtual (direct map)", read, start, end, [], OS_NONE)


# ---- a second debugger ----

def test_second_debugger_refused_unix(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=OS_NONE)
    a = RawConnection(sock)
    a.cmd("qSupported:multiprocess+")
    b = RawConnection(sock, timeout=30)
    r = b.cmd("qSupported:multiprocess+")
    ctx.check(r.startswith(b"E.") and b"another debugger is attached" in r,
              "a second client's first packet gets a one-line E. reply", r)
    ctx.check(b"pid %d" % os.getpid() in r, "the reply names the attached client's process", r)
    ctx.check(b.at_eof(), "then its connection is closed")
    b.close()
    r, out = ctx.gdb_each(["info threads"], remote=sock, timeout=60)
    ctx.check("another debugger is attached" in r.out and "pid %d" % os.getpid() in r.out,
              "gdb shows why it was refused", r)
    ctx.check(a.cmd("qAttached") == b"1", "the attached client is served on")
    log = open(p.log_path).read()
    ctx.check(len(re.findall(r"refused: .*pid %d.* is attached" % os.getpid(), log)) == 2,
              "xenstub's log says each refusal and who is attached", log)
    a.cmd("D")
    a.close()
    r, out = ctx.gdb_each(["info threads"], remote=sock)
    ctx.check("vCPU 0" in (out[0] or ""), "once it left, the next debugger is served", r)


def test_second_debugger_refused_tcp(ctx):
    fx = ctx.fixture()
    p, port = ctx.start_xenstub_tcp("core:" + fx.memory, args=OS_NONE)
    a = RawConnection(("127.0.0.1", port))
    a.cmd("qSupported:multiprocess+")
    who = "127.0.0.1:%d" % a.s.getsockname()[1]
    b = RawConnection(("127.0.0.1", port))
    r = b.cmd("qSupported")
    ctx.check(r.startswith(b"E.") and who.encode() in r,
              "over TCP the reply names the attached client's address %s" % who, r)
    ctx.check(b.at_eof(), "then the connection is closed")
    b.close()
    r, out = ctx.gdb_each(["info threads"], remote="127.0.0.1:%d" % port, timeout=60)
    ctx.check("another debugger is attached" in r.out and who in r.out,
              "gdb over TCP shows why it was refused", r)
    ctx.check(a.cmd("qAttached") == b"1", "the attached client is served on")
    a.cmd("D")
    a.close()


# ---- xenstub --gdb ----

def gdb_mode(ctx, fx, gdb_args, tmpdir, program=None):
    env = dict(os.environ, TMPDIR=tmpdir)
    env.pop("XDG_RUNTIME_DIR", None)
    r = ctx.xenstub_gdb("core:" + fx.memory, gdb_args, OS_NONE, program=program, env=env)
    return r.rc, r.out + r.err


def test_gdb_mode(ctx):
    fx = ctx.fixture()
    tmpdir = ctx.tmpfile("gdb-mode-tmp")
    os.makedirs(tmpdir, exist_ok=True)
    banner = fx.symbol("linux_banner")
    start, size = 0x100000, 1 << 20
    out_file = ctx.tmpfile("gdb-mode.bin")
    probe = ("python import glob, os; d = glob.glob(%r + '/xenstub-gdb-*'); "
             "print('DIRS', len(d), oct(os.stat(d[0]).st_mode & 0o777) if d else '-', "
             "sorted(os.listdir(d[0])) if d else '-')" % tmpdir)
    rc, out = gdb_mode(ctx, fx, ["-ex", "info threads", "-ex", "x/s 0x%x" % banner,
                                 "-ex", probe, "-ex", "monitor phys on",
                                 "-ex", "dump binary memory %s 0x%x 0x%x" % (out_file, start, start + size)],
                       tmpdir)
    ctx.check(rc == 0, "xenstub --gdb ... -- -batch: exit 0 when gdb exits 0", out)
    ctx.check(len(re.findall(r'Thread \d+ "vCPU \d+"', out)) == fx.truth["num_cpus"],
              "gdb started by xenstub lists the vCPUs", out)
    ctx.check(fx.truth["proc_version"].strip()[:60] in out, "and reads virtual memory", out)
    ctx.check("DIRS 1 0o700 ['gdb.sock']" in out,
              "the socket lies alone in a private folder (mode 0700) under TMPDIR", out)
    ctx.check(os.path.exists(out_file) and open(out_file, "rb").read() == fx.read_phys(start, size),
              "a 1 MiB dump through --gdb equals the dump's bytes", out)
    ctx.check(glob.glob(tmpdir + "/xenstub-gdb-*") == [], "the private folder is removed at the end",
              os.listdir(tmpdir))
    ctx.check("Listening on" not in out, "xenstub says nothing about its socket", out)

    rc, out = gdb_mode(ctx, fx, ["-ex", "x/x 0"], tmpdir)
    ctx.check(rc == 1, "gdb's exit status is xenstub's (1: the last command failed)", (rc, out))
    ctx.check(glob.glob(tmpdir + "/xenstub-gdb-*") == [], "the folder is removed then too",
              os.listdir(tmpdir))

    rc, out = gdb_mode(ctx, fx, [], tmpdir, program="/nonexistent/gdb")
    ctx.check(rc == 1 and "cannot start /nonexistent/gdb" in out,
              "a gdb that cannot be started: exit 1 and why", (rc, out))
    ctx.check(glob.glob(tmpdir + "/xenstub-gdb-*") == [], "no folder is left behind",
              os.listdir(tmpdir))

    # Ctrl-C in the terminal reaches both: xenstub leaves it to gdb
    rc, out = gdb_mode(ctx, fx, ["-ex", "python import os, signal; os.kill(os.getppid(), signal.SIGINT)",
                                 "-ex", "x/s 0x%x" % banner], tmpdir)
    ctx.check(rc == 0 and fx.truth["proc_version"].strip()[:60] in out,
              "SIGINT to xenstub --gdb is ignored: the session goes on", (rc, out))

    # gdb killed: xenstub ends with it, 128+9, and cleans up
    rc, out = gdb_mode(ctx, fx, ["-ex", "python import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
                       tmpdir)
    ctx.check(rc == 128 + signal.SIGKILL, "gdb killed: xenstub ends with status 128+9", (rc, out))
    ctx.check(glob.glob(tmpdir + "/xenstub-gdb-*") == [], "the folder is removed after gdb was killed",
              os.listdir(tmpdir))

    r = ctx.run_xenstub(["--gdb", "--once", "core:" + fx.memory])
    ctx.check(r.rc == 2 and "--once and --gdb" in r.err, "--gdb with --once is a command-line error", r)
    r = ctx.run_xenstub(["--gdb", "core:" + fx.memory, "unix:/tmp/x"])
    ctx.check(r.rc == 2 and "one TARGET" in r.err, "--gdb takes one TARGET; gdb's arguments follow '--'", r)
    r = ctx.run_xenstub(["--help"])
    ctx.check("--gdb[=PROGRAM]" in r.out, "--help describes --gdb", r)
