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
import shutil
import signal
import socket
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
        self.wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                      "xenstub's socket %s" % sock)
        if p.poll() is not None:
            raise AssertionError("xenstub exited (%s): %s" % (p.returncode, open(sock + ".log").read()))
        p.log_path = sock + ".log"
        return p, sock

    def gdb(self, commands=(), target=None, remote=None, python=None,
            xenstub_args=(), timeout=120, env=None, pre=(), batch=True):
        """Runs gdb in batch mode. target: a TARGET for 'target remote |
        xenstub - TARGET'; remote: an address for 'target remote ADDR'.
        python: a Python script run after connecting (gdb -x). Returns a
        Result; a gdb crash or hang is reported by the caller's checks."""
        argv = ["gdb", "-q", "-n", "-nx"]
        if batch:
            argv.append("-batch")
        argv += ["-ex", "set pagination off", "-ex", "set confirm off",
                 "-ex", "set width 0"]
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
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       text=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return Result(None, out, err + "\n[gdb killed: no answer within %ss]" % timeout)
        if self.verbose:
            print(out, err)
        return Result(p.returncode, out, err)

    def run_xenstub(self, args, timeout=30, input=None):
        """Runs xenstub to completion (for option and error tests)."""
        p = self.spawn([self.xenstub] + list(args), stdout=subprocess.PIPE,
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
    ack mode, escaping). Talks to xenstub over a unix socket."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
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
                self.s.sendall(b"+")
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

    def close(self):
        self.s.close()
