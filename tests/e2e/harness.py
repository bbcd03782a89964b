# SPDX-License-Identifier: LGPL-2.1-or-later
"""End-to-end test harness: runs the real gdb against the real xenstub.

Each tests/e2e/test_*.py module defines functions named test_*(ctx). The
context gives fixtures (decompressed once per run into a temporary folder),
helpers that start xenstub and gdb, and check() which prints PASS/FAIL.
Processes are started by the harness and killed by pid; nothing else is
touched. No assertion depends on timing: waits are bounded polls.
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Skip(Exception):
    """Raised by a test (ctx.skip) that cannot run here; says why."""


class Fixture:
    """A Linux guest dump fixture: paths and the ground truth."""

    def __init__(self, name, src, tmp):
        self.name = name
        self.src = src
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(src, "truth.json")) as f:
            self.truth = json.load(f)
        self._memory = None
        self._sysmap = None
        self._segments = None

    def _unzstd(self, name, out):
        path = os.path.join(self.dir, out)
        if not os.path.exists(path):
            src = os.path.join(self.src, name)
            subprocess.run(["zstd", "-q", "-d", "--long=27", src, "-o", path],
                           check=True)
        return path

    @property
    def memory(self):
        """The uncompressed memory.elf path."""
        if self._memory is None:
            self._memory = self._unzstd("memory.elf.zst", "memory.elf")
        return self._memory

    @property
    def system_map(self):
        if self._sysmap is None:
            names = [n for n in os.listdir(self.src) if n.startswith("System.map")]
            if not names:
                raise Skip("fixture %s has no System.map" % self.name)
            self._sysmap = self._unzstd(names[0], "System.map")
        return self._sysmap

    def symbol(self, name):
        """Runtime address of a truth.json symbol (int)."""
        s = self.truth["symbols"][name]
        v = s.get("runtime_kallsyms") or s.get("runtime_computed")
        return int(v, 16)

    # ---- the dump read directly, as an oracle independent of xenstub ----
    def segments(self):
        """memory.elf's PT_LOAD segments with data, sorted: a list of
        (guest-physical address, size, file offset)."""
        if self._segments is None:
            with open(self.memory, "rb") as f:
                eh = f.read(64)
                if eh[:4] != b"\x7fELF" or eh[5] != 1:
                    raise AssertionError("%s is not a little-endian ELF file" % self.memory)
                segs = []
                if eh[4] == 2:
                    phoff, = struct.unpack_from("<Q", eh, 32)
                    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
                    f.seek(phoff)
                    ph = f.read(phentsize * phnum)
                    for i in range(phnum):
                        typ, _, off, _, paddr, filesz, _, _ = struct.unpack_from(
                            "<IIQQQQQQ", ph, i * phentsize)
                        if typ == 1 and filesz:
                            segs.append((paddr, filesz, off))
                else:
                    phoff, = struct.unpack_from("<I", eh, 28)
                    phentsize, phnum = struct.unpack_from("<HH", eh, 42)
                    f.seek(phoff)
                    ph = f.read(phentsize * phnum)
                    for i in range(phnum):
                        typ, off, _, paddr, filesz = struct.unpack_from(
                            "<IIIII", ph, i * phentsize)
                        if typ == 1 and filesz:
                            segs.append((paddr, filesz, off))
            self._segments = sorted(segs)
        return self._segments

    def segment_of(self, paddr):
        """The segment (paddr, size, offset) holding paddr, or None."""
        for seg in self.segments():
            if seg[0] <= paddr < seg[0] + seg[1]:
                return seg
        return None

    def read_phys(self, paddr, n):
        """n bytes of guest-physical memory from memory.elf, or None when
        a byte of the range lies outside every segment."""
        out = b""
        with open(self.memory, "rb") as f:
            while len(out) < n:
                a = paddr + len(out)
                seg = self.segment_of(a)
                if seg is None:
                    return None
                k = min(n - len(out), seg[0] + seg[1] - a)
                f.seek(seg[2] + a - seg[0])
                out += f.read(k)
        return out

    def paging_mode(self):
        """The vCPUs' paging mode from truth.json: '4-level', '5-level',
        'pae' or '32-bit'."""
        m = str(self.truth.get("paging_mode", "")).lower()
        for key, mode in (("5", "5-level"), ("4", "4-level"),
                          ("pae", "pae"), ("32", "32-bit"), ("2-level", "32-bit")):
            if key in m:
                return mode
        raise Skip("fixture %s: paging mode %r is not known to the harness" % (self.name, m))

    def walk(self, cr3, vaddr, mode=None):
        """A page walk over memory.elf, written from the architecture
        manuals. Returns a dict: levels [(name, entry address, entry)],
        and either fault ('not present', 'non-canonical', 'unreadable')
        or paddr, page_size, writable, user, nx."""
        mode = mode or self.paging_mode()
        res = {"levels": [], "fault": None}
        addr_mask = 0x000ffffffffff000
        if mode in ("4-level", "5-level"):
            bits = 57 if mode == "5-level" else 48
            top = vaddr >> (bits - 1)
            if top not in (0, (1 << (65 - bits)) - 1):
                res["fault"] = "non-canonical"
                return res
            names = ["PML5E", "PML4E", "PDPTE", "PDE", "PTE"][5 - (bits - 12) // 9:]
            shifts = [48, 39, 30, 21, 12][5 - (bits - 12) // 9:]
            table = cr3 & addr_mask
            esize = 8
        elif mode == "pae":
            names, shifts = ["PDPTE", "PDE", "PTE"], [30, 21, 12]
            table = cr3 & 0xffffffe0
            esize = 8
        else:
            names, shifts = ["PDE", "PTE"], [22, 12]
            table = cr3 & 0xfffff000
            esize = 4
        w = u = True
        nx = False
        for name, shift in zip(names, shifts):
            nbits = 2 if (mode == "pae" and name == "PDPTE") else (10 if esize == 4 else 9)
            idx = (vaddr >> shift) & ((1 << nbits) - 1)
            ea = table + idx * esize
            raw = self.read_phys(ea, esize)
            if raw is None:
                res["fault"] = "unreadable"
                return res
            e = int.from_bytes(raw, "little")
            res["levels"].append((name, ea, e))
            if not e & 1:
                res["fault"] = "not present"
                return res
            if not (mode == "pae" and name == "PDPTE"):
                w = w and bool(e & 2)
                u = u and bool(e & 4)
            if esize == 8:
                nx = nx or bool(e >> 63)
            last = name == "PTE" or (name in ("PDPTE", "PDE") and e & 0x80
                                     and not (mode == "pae" and name == "PDPTE"))
            if last:
                size = 1 << shift
                if esize == 4:
                    base = e & 0xffc00000 if name == "PDE" else e & 0xfffff000
                else:
                    base = e & addr_mask & ~(size - 1)
                res.update(paddr=base + (vaddr & (size - 1)), page_size=size,
                           writable=w, user=u, nx=nx)
                return res
            table = (e & 0xfffff000) if esize == 4 else (e & addr_mask)
        raise AssertionError("page walk did not end")

    def read_virt(self, cr3, vaddr, n):
        """n bytes at vaddr in the address space rooted at cr3, from
        memory.elf; None when a page is not mapped or not in the dump."""
        out = b""
        while len(out) < n:
            r = self.walk(cr3, vaddr + len(out))
            if r["fault"]:
                return None
            k = min(n - len(out), r["page_size"] - (r["paddr"] & (r["page_size"] - 1)))
            b = self.read_phys(r["paddr"], k)
            if b is None:
                return None
            out += b
        return out


class Result:
    def __init__(self, proc_rc, out, err):
        self.rc = proc_rc
        self.out = out
        self.err = err

    def __repr__(self):
        return "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.out, self.err)


class Context:
    def __init__(self, build, verbose=False):
        self.build = os.path.abspath(build)
        self.xenstub = os.path.join(self.build, "xenstub")
        self.verbose = verbose
        self.tmp = tempfile.mkdtemp(prefix="xenstub-e2e-")
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.current = "?"
        self._fixtures = {}
        self._procs = []

    # ---- results ----
    def check(self, cond, what, detail=None):
        """Records one assertion; detail is printed when it fails."""
        if cond:
            self.passed += 1
            print("PASS %s: %s" % (self.current, what), flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (self.current, what), flush=True)
            if detail is not None:
                for line in str(detail).splitlines()[-60:]:
                    print("    " + line)
        return cond

    def skip(self, why):
        raise Skip(why)

    # ---- fixtures ----
    def fixture_dir(self, name):
        """Where a fixture is: ../shared/fixtures, else .cache/fixtures."""
        for base in (os.environ.get("XENSTUB_FIXTURES"),
                     os.path.join(REPO, "..", "shared", "fixtures"),
                     os.path.join(REPO, ".cache", "fixtures")):
            if base and os.path.exists(os.path.join(base, name, "truth.json")):
                return os.path.abspath(os.path.join(base, name))
        return None

    def fixture(self, name="linux-x86_64"):
        if name not in self._fixtures:
            src = self.fixture_dir(name)
            if src is None:
                raise Skip("fixture %s not found in ../shared/fixtures or .cache/fixtures "
                           "(run 'make fixtures' to build one)" % name)
            self._fixtures[name] = Fixture(name, src, self.tmp)
        return self._fixtures[name]

    def tmpfile(self, name):
        return os.path.join(self.tmp, name)

    # ---- processes ----
    def spawn(self, argv, env=None, **kw):
        """Starts a process the harness will kill (by pid) at the end."""
        p = subprocess.Popen(argv, env=env, **kw)
        self._procs.append(p)
        return p

    def wait_for(self, predicate, what, timeout=60.0):
        """Polls predicate until true; raises on timeout (a failure, not a
        timing assertion: the bound only stops a hang)."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        raise AssertionError("timed out waiting for " + what)

    def start_xenstub(self, target, args=(), env=None, sock=None):
        """Starts xenstub on a unix socket; returns (process, socket path)."""
        if sock is None:
            sock = self.tmpfile("xs-%d.sock" % len(self._procs))
        if os.path.exists(sock):
            os.unlink(sock)
        log = open(sock + ".log", "w")
        p = self.spawn([self.xenstub] + list(args) + ["unix:" + sock, target],
                       env=env, stdout=log, stderr=subprocess.STDOUT)

        def listening():
            # the path exists from bind(); connections work after listen(),
            # which xenstub reports with its "Listening on" line
            if p.poll() is not None:
                return True
            with open(sock + ".log") as f:
                return os.path.exists(sock) and "Listening on" in f.read()

        self.wait_for(listening, "xenstub's socket %s" % sock)
        if p.poll() is not None:
            raise AssertionError("xenstub exited (%s): %s" % (p.returncode, open(sock + ".log").read()))
        p.log_path = sock + ".log"
        return p, sock

    def start_xenstub_tcp(self, target, args=(), env=None, comm=":0"):
        """Starts xenstub listening on TCP (by default a free loopback
        port); returns (process, port) once it printed "Listening on port
        N"."""
        log_path = self.tmpfile("xs-tcp-%d.log" % len(self._procs))
        log = open(log_path, "w")
        p = self.spawn([self.xenstub] + list(args) + [comm, target],
                       env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        port = self.listening_port(p, log_path, "xenstub")
        p.log_path = log_path
        return p, port

    def listening_port(self, p, log_path, name):
        """The port of the "Listening on port N" line a server (xenstub,
        gdbserver) started by p writes to log_path; raises if p exits
        first."""
        found = []

        def listening():
            with open(log_path) as f:
                m = re.search(r"^Listening on port (\d+)", f.read(), re.M)
            if m:
                found.append(int(m.group(1)))
            return bool(found) or p.poll() is not None

        self.wait_for(listening, "%s's 'Listening on port' line" % name)
        if not found:
            raise AssertionError("%s exited (%s): %s" % (name, p.returncode, open(log_path).read()))
        return found[0]

    def xenstub_gdb(self, target, gdb_args=(), xenstub_args=(), program=None, env=None,
                    timeout=300):
        """Runs `xenstub [xenstub_args] --gdb[=program] TARGET -- gdb_args`
        (gdb in batch mode, as gdb() runs it) and returns a Result (stdout
        and stderr apart); a hang is killed and said in err."""
        argv = [self.xenstub] + list(xenstub_args) + ["--gdb" + ("=" + program if program else ""),
                                                      target, "--", "-q", "-n", "-nx", "-batch",
                                                      "-ex", "set pagination off",
                                                      "-ex", "set remotetimeout 60"] + list(gdb_args)
        p = self.spawn(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return Result(None, out, err + "\n[killed: no end within %ss]" % timeout)
        return Result(p.returncode, out, err)

    def gdb(self, commands=(), target=None, remote=None, python=None,
            xenstub_args=(), timeout=120, env=None, pre=(), batch=True,
            merge_stderr=False):
        """Runs gdb in batch mode. target: a TARGET for 'target remote |
        xenstub - TARGET'; remote: an address for 'target remote ADDR'.
        python: a Python script run after connecting (gdb -x). With
        merge_stderr, gdb's (and xenstub's) stderr is interleaved with its
        stdout in Result.out, in the order printed. Returns a Result; a gdb
        crash or hang is reported by the caller's checks."""
        argv = ["gdb", "-q", "-n", "-nx"]
        if batch:
            argv.append("-batch")
        # gdb gives up on a reply after 2 s by default and sends the packet
        # again, pairing every later reply with the wrong request; a loaded
        # machine (emulators beside the tests) can take longer than that
        argv += ["-ex", "set pagination off", "-ex", "set confirm off",
                 "-ex", "set width 0", "-ex", "set remotetimeout 60"]
        for c in pre:
            argv += ["-ex", c]
        if target is not None:
            cmd = " ".join([self.xenstub] + list(xenstub_args) + ["-", target])
            argv += ["-ex", "target remote | " + cmd]
        elif remote is not None:
            argv += ["-ex", "target remote " + remote]
        for c in commands:
            argv += ["-ex", c]
        if python is not None:
            path = self.tmpfile("script-%d.py" % len(self._procs))
            with open(path, "w") as f:
                f.write(python)
            argv += ["-x", path]
        p = self.spawn(argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                       stdin=subprocess.DEVNULL, text=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return Result(None, out, (err or "") + "\n[gdb killed: no answer within %ss]" % timeout)
        if err is None:
            err = ""
        if self.verbose:
            print(out, err)
        return Result(p.returncode, out, err)

    def gdb_each(self, commands, **kw):
        """Runs commands in one gdb session (arguments as for gdb()) with
        stderr merged, and splits what gdb printed by command. Returns
        (Result, outputs): outputs[i] is the text commands[i] printed,
        errors and warnings included, or None when gdb never got to
        it (it died or hung)."""
        mark = "@@xenstub-e2e-%d@@"
        argv = []
        for i, c in enumerate(commands):
            argv += ["echo \\n" + mark % i + "\\n", c]
        argv.append("echo \\n" + mark % len(commands) + "\\n")
        kw["merge_stderr"] = True
        r = self.gdb(argv, **kw)
        outputs = []
        for i in range(len(commands)):
            a, b = "\n" + mark % i + "\n", "\n" + mark % (i + 1) + "\n"
            if a in r.out and b in r.out:
                outputs.append(r.out.split(a, 1)[1].split(b, 1)[0])
            else:
                outputs.append(None)
        return r, outputs

    def run_xenstub(self, args, timeout=30, input=None, env=None):
        """Runs xenstub to completion (for option and error tests)."""
        p = self.spawn([self.xenstub] + list(args), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        try:
            out, err = p.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return Result(None, out.decode(errors="replace"), err.decode(errors="replace") + "\n[killed]")
        return Result(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    def cleanup(self):
        for p in self._procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class RawConnection:
    """A raw GDB-protocol client for packet-level tests (malformed input,
    ack mode, escaping). Talks to xenstub over a unix socket (path) or
    TCP (a (host, port) tuple)."""

    def __init__(self, path, timeout=30):
        if isinstance(path, tuple):
            self.s = socket.create_connection(path, timeout=timeout)
        else:
            # a unix socket whose backlog is full refuses at once
            # (EAGAIN) rather than waiting: retry, boundedly
            deadline = time.monotonic() + timeout
            while True:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.settimeout(timeout)
                try:
                    self.s.connect(path)
                    break
                except BlockingIOError:
                    self.s.close()
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        self.buf = b""
        self.noack = False

    @staticmethod
    def frame(payload):
        if isinstance(payload, str):
            payload = payload.encode()
        return b"$" + payload + b"#%02x" % (sum(payload) & 0xff)

    def send_raw(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def read_byte(self):
        while not self.buf:
            self._fill()
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def read_packet(self, skip_console=True):
        """Returns the next packet payload (bytes), acking it; 'O' console
        packets are skipped (and collected in self.console)."""
        while True:
            while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
                self._fill()
            start = self.buf.index(b"$")
            end = self.buf.index(b"#", start)
            payload = self.buf[start + 1:end]
            self.buf = self.buf[end + 3:]
            if not self.noack:
                try:
                    self.s.sendall(b"+")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the last reply (D, k): the peer may be gone
            data = self.unescape(payload)
            if skip_console and data.startswith(b"O") and data != b"OK":
                self.console = getattr(self, "console", b"") + bytes.fromhex(data[1:].decode())
                continue
            return data

    @staticmethod
    def unescape(p):
        out = bytearray()
        i = 0
        while i < len(p):
            c = p[i]
            if c == 0x7d:
                out.append(p[i + 1] ^ 0x20)
                i += 2
            elif c == 0x2a:
                out += bytes([out[-1]]) * (p[i + 1] - 29)
                i += 2
            else:
                out.append(c)
                i += 1
        return bytes(out)

    def ack(self):
        """Reads one ack byte ('+' or '-')."""
        return self.read_byte()

    def cmd(self, payload):
        """Sends a packet, consumes its ack, returns the reply payload."""
        self.s.sendall(self.frame(payload))
        if not self.noack:
            a = self.read_byte()
            if a != b"+":
                raise AssertionError("expected ack, got %r" % a)
        return self.read_packet()

    def at_eof(self):
        """Waits (up to the socket timeout) for the peer to close the
        connection; True when it did, False if data came instead."""
        try:
            d = self.s.recv(1)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        if d:
            self.buf += d
            return False
        return True

    def close(self):
        self.s.close()
