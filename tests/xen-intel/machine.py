# SPDX-License-Identifier: LGPL-2.1-or-later
"""The emulated machine of xen-test-intel: Bochs (an Intel CPU with VMX, EPT
and MTF) booting the ISO prepare.sh made, and the host's two links into its
dom0 over emulated serial ports: a command channel (dom0-init.sh serves it)
and a byte pipe for the GDB remote protocol, which the host offers gdb as a
TCP port on the loopback address. com1 is Xen's console, kept in a file.

Everything the emulator does wrong is reported as an EmulatorFailure, so
that the driver can tell it from a test failure and boot again once.
"""

import os
import re
import select
import socket
import subprocess
import threading
import time

BOCHSRC = """\
cpu: model=corei7_skylake_x, count={cpus}, ips=100000000, reset_on_triple_fault=0, ignore_bad_msrs=1
memory: guest=768, host=768
romimage: file={bochs_dir}/BIOS-bochs-latest
vgaromimage: file={bochs_dir}/VGABIOS-lgpl-latest.bin
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
clock: sync=none, time0=local
display_library: nogui
log: {log}
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
com1: enabled=1, mode=file, dev={console}
com2: enabled=1, mode=socket-client, dev=127.0.0.1:{cmd_port}
com4: enabled=1, mode=socket-client, dev=127.0.0.1:{gdb_port}
pci: enabled=1, chipset=i440fx
"""

# What the hypervisor or the emulator says when the machine itself broke
# (not the guest under test: its own console is elsewhere).
XEN_PANIC = re.compile(r"Panic on CPU \d|FATAL TRAP|\*\*\*\* Panic|Reboot in five seconds")
DOM0_PANIC = re.compile(r"^\[ *[0-9.]+\] (Kernel panic|BUG: |Oops)", re.M)


class EmulatorFailure(Exception):
    """The emulated machine stopped working: Bochs died or froze, Xen or
    dom0 panicked. The message quotes the line that shows it."""


def now():
    return time.monotonic()


class Machine:
    """One boot of Bochs. start() returns once dom0 serves commands;
    stop() kills Bochs (its pid only)."""

    def __init__(self, out, bochs_dir, iso, cpus=1):
        self.out, self.bochs_dir, self.iso, self.cpus = out, bochs_dir, iso, cpus
        self.console_path = os.path.join(out, "console.log")
        self.log_path = os.path.join(out, "bochs.log")
        self.proc = None
        self.cmd_sock = self.gdb_sock = None
        self.t0 = None
        self.cmd_buf = b""
        self.cmd_id = 0
        self.lock = threading.Lock()
        self.gdb_relay = None

    # ---- boot ----

    def start(self, timeout):
        for p in (self.console_path, self.log_path):
            if os.path.exists(p):
                os.unlink(p)
        listeners = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            listeners.append(s)
        cfg = BOCHSRC.format(cpus=self.cpus, bochs_dir=self.bochs_dir, iso=self.iso,
                             log=self.log_path, console=self.console_path,
                             cmd_port=listeners[0].getsockname()[1],
                             gdb_port=listeners[1].getsockname()[1])
        rc = os.path.join(self.out, "bochsrc")
        with open(rc, "w") as f:
            f.write(cfg)
        self.t0 = now()
        self.proc = subprocess.Popen([os.path.join(self.bochs_dir, "bochs"), "-q", "-f", rc],
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.out, "bochs.out"), "wb"),
                                     stderr=subprocess.STDOUT, cwd=self.out,
                                     start_new_session=True)
        socks = []
        for s in listeners:
            s.settimeout(60)
            try:
                c, _ = s.accept()
            except socket.timeout:
                raise EmulatorFailure("Bochs did not connect its serial ports within 60 s: %s"
                                      % self.bochs_tail())
            finally:
                s.close()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(c)
        self.cmd_sock, self.gdb_sock = socks
        # dom0 says hello on the command port once it serves it
        deadline = now() + timeout
        while True:
            self.check_alive()
            left = deadline - now()
            if left <= 0:
                raise EmulatorFailure("dom0 did not serve commands within %d s; console:\n%s"
                                      % (timeout, self.console_tail(25)))
            line = self._readline(min(left, 2))
            if line is not None and line.startswith("XC-HELLO"):
                return now() - self.t0

    def stop(self):
        if self.gdb_relay:
            self.gdb_relay.close()
        for s in (self.cmd_sock, self.gdb_sock):
            if s:
                try:
                    s.close()
                except OSError:
                    pass
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # our own Bochs, by its pid
            self.proc.wait()

    def cpu_seconds(self):
        """CPU time Bochs used so far (user + system): the wall time it
        would have taken on a core of its own."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return 0.0

    def elapsed(self):
        return now() - self.t0 if self.t0 else 0

    # ---- what the machine says ----

    def console(self):
        try:
            with open(self.console_path, "rb") as f:
                return f.read().decode(errors="replace").replace("\r", "")
        except OSError:
            return ""

    def console_tail(self, n=40):
        return "\n".join(self.console().splitlines()[-n:])

    def bochs_tail(self, n=15):
        text = ""
        for p in (os.path.join(self.out, "bochs.out"), self.log_path):
            try:
                with open(p, errors="replace") as f:
                    text += "".join(f.readlines()[-n:])
            except OSError:
                pass
        return text

    def check_alive(self):
        """Raises EmulatorFailure if Bochs ended, or Xen or dom0 panicked."""
        if self.proc.poll() is not None:
            raise EmulatorFailure("Bochs exited with status %s:\n%s"
                                  % (self.proc.returncode, self.bochs_tail()))
        text = self.console()
        m = XEN_PANIC.search(text) or DOM0_PANIC.search(text)
        if m:
            start = text.rfind("\n", 0, max(0, m.start() - 1500))
            raise EmulatorFailure("the hypervisor or dom0 crashed (%r):\n%s"
                                  % (m.group(0), text[start + 1:m.start() + 2500]))

    # ---- the command channel ----

    def _readline(self, timeout):
        """One line from the command port, or None after timeout seconds."""
        deadline = now() + timeout
        while b"\n" not in self.cmd_buf:
            left = deadline - now()
            if left <= 0:
                return None
            r, _, _ = select.select([self.cmd_sock], [], [], min(left, 1))
            if not r:
                continue
            data = self.cmd_sock.recv(65536)
            if not data:
                raise EmulatorFailure("Bochs closed the command port:\n%s" % self.bochs_tail())
            # ask for quick acks: Bochs sends byte by byte (Nagle would wait for them)
            self.cmd_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            self.cmd_buf += data
        line, self.cmd_buf = self.cmd_buf.split(b"\n", 1)
        return line.decode(errors="replace").rstrip("\r")

    def sh(self, cmd, timeout=120, kill_after=None):
        """Runs a shell command in dom0 (busybox sh); returns (exit status,
        stdout+stderr). kill_after: seconds after which dom0 kills it
        (status 137), for commands that may hang; others run in a subshell
        of dom0's command loop (cheaper). EmulatorFailure when dom0 stops
        answering within timeout seconds (plus the serial line's time)."""
        lines = cmd.rstrip("\n").split("\n")
        with self.lock:
            self.cmd_id += 1
            cid = self.cmd_id
            msg = "XC %d %d %d\n%s\n" % (cid, int(kill_after or 0), len(lines), "\n".join(lines))
            self.cmd_sock.sendall(msg.encode())
            # the serial line carries about 11 KB/s of emulated time
            deadline = now() + timeout + 60 + len(msg) / 2000
            out = []
            state = "wait"
            while True:
                left = deadline - now()
                if left <= 0:
                    self.check_alive()
                    raise EmulatorFailure("dom0 did not answer command %r within %d s; "
                                          "console:\n%s" % (cmd[:200], timeout + 60,
                                                            self.console_tail(25)))
                line = self._readline(min(left, 5))
                if line is None:
                    self.check_alive()
                    continue
                if state == "wait":
                    if line == "XC-OUT %d" % cid:
                        state = "out"
                    continue
                m = re.match(r"XC-END (\d+) (\d+)$", line)
                if m and int(m.group(1)) == cid:
                    break
                out.append(line)
            # the loop ends the output with a newline of its own
            if out and out[-1] == "":
                out.pop()
            return int(m.group(2)), "\n".join(out) + ("\n" if out else "")

    # ---- the GDB port ----

    def gdb_port(self):
        """A fresh loopback port for one gdb connection, relayed to com4.
        What gdb sends before the previous session's bytes are drained is
        not mixed up with them."""
        if self.gdb_relay:
            self.gdb_relay.close()
        self.gdb_relay = Relay(self.gdb_sock)
        return self.gdb_relay


class Relay:
    """Relays one gdb connection on a loopback port to the serial port's
    socket, in a thread. closed_by_gdb is set when gdb goes away."""

    def __init__(self, serial):
        self.serial = serial
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.closed_by_gdb = threading.Event()
        self.stop = threading.Event()
        self.to_gdb = self.from_gdb = 0
        self.drain()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def drain(self):
        """Drops what the serial side still had to say (a previous session)."""
        while True:
            r, _, _ = select.select([self.serial], [], [], 0)
            if not r or not self.serial.recv(65536):
                return

    def run(self):
        self.listener.settimeout(1)
        conn = None
        while not self.stop.is_set() and conn is None:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
        if conn is None:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not self.stop.is_set():
                r, _, _ = select.select([conn, self.serial], [], [], 0.5)
                if conn in r:
                    data = conn.recv(65536)
                    if not data:
                        self.closed_by_gdb.set()
                        return
                    self.from_gdb += len(data)
                    self.serial.sendall(data)
                if self.serial in r:
                    data = self.serial.recv(65536)
                    if not data:
                        return
                    self.serial.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                    self.to_gdb += len(data)
                    conn.sendall(data)
        except OSError:
            self.closed_by_gdb.set()
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.listener.close()
