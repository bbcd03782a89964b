# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the tests of live guests: xenstub against xensim domains
built from the Linux fixture, with scripted workloads, and the snapshots of
xensim's state that prove a guest was left exactly as found."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))
import xensim  # noqa: E402

# Addresses in the fixture guest (derived from its own page tables with
# `monitor v2p`, see test_live_run): kernel text (read-only, executable)
# and a writable page of the kernel's direct map.
CODE = 0xffffffffa3459180          # default_idle, in a 2 MiB text page
GUEST_INT3 = 0xffffffffa345918c    # an int3 the kernel itself has there
SCRATCH = 0xffff8d71c7000000       # direct map of guest-physical 0x7000000
SCRATCH_PHYS = 0x7000000


def h(v):
    """Addresses go to xensim as hex strings (JSON integers stop at 2^63)."""
    return hex(v)


def loop(base, scratch, value):
    """Three instructions in a loop: no access, a write, a read."""
    return [
        {"rip": h(base), "len": 3, "access": "none"},
        {"rip": h(base + 3), "len": 4, "access": "write", "va": h(scratch), "size": 8,
         "value": h(value)},
        {"rip": h(base + 7), "len": 4, "access": "read", "va": h(scratch + 8), "size": 8},
        {"op": "loop"},
    ]


def make_domain(ctx, sim, name="web01", workloads=None, extra=()):
    """A domain from the fixture with a workload per vCPU (started)."""
    fx = ctx.fixture()
    dom = sim.create(name, "--from-dump", fx.memory, *extra)
    for vcpu, steps in (workloads or {}).items():
        sim.workload(dom, vcpu, steps)
    if workloads:
        sim.ctl("start", dom)
    return dom


def snapshot(sim, dom):
    """What must be the same before xenstub attaches and after it leaves:
    pauses, monitor settings and ring, each vCPU's hold, single-step,
    view and debug registers, access permissions, altp2m, memory."""
    s = sim.state(dom, digest=True)
    vcpus = []
    for v in s["vcpus"]:
        vcpus.append({
            "vm_event_pause": v.get("vm_event_pause"),
            "single_step": v.get("single_step"),
            "mtf_pending": v.get("mtf_pending"),
            "altp2m_view": v.get("altp2m_view"),
            "pending_injection": v.get("pending_injection"),
            "emulate_pending": v.get("emulate_pending"),
            "dr7": v["regs"].get("dr7"),
            "tf": int(str(v["regs"].get("rflags", "0")), 0) & 0x100,
        })
    return {
        "paused": s["paused"],
        "monitor": s["monitor"],
        "ring": s["ring"] is not None,
        "mem_access": s["mem_access"],
        "altp2m": s["altp2m"],
        "vcpus": vcpus,
        "digest": s["memory"]["digest"],
    }


def diff(a, b):
    """Keys whose values differ, for failure messages."""
    out = {}
    for k in set(a) | set(b):
        if a.get(k) != b.get(k):
            out[k] = (a.get(k), b.get(k))
    return out


def counters(sim, dom):
    return [v["counters"] for v in sim.state(dom)["vcpus"]]


def gdb_live(ctx, sim, name, commands=(), python=None, args=(), timeout=120, pre=()):
    """gdb attached through 'target remote | xenstub - xen:NAME'."""
    return ctx.gdb(commands, target="xen:" + name, python=python,
                   xenstub_args=list(args), env=ctl_env(sim), timeout=timeout, pre=pre)


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)[:3000]


# ---- interactive gdb, unix-socket xenstub, the "as found" checks ----

import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402


def wait_running(sim, dom, steps=6):
    """Until every vCPU has retired at least `steps` steps."""
    return sim.wait(dom, lambda s: all(v["counters"]["steps"] >= steps
                                       for v in s["vcpus"]),
                    "the workload to run")


def wait_loops(sim, dom, loops=2):
    """Until every vCPU's workload went round its loop `loops` times: from
    then on a loop's writes are stable and the memory digest is the
    guest's own."""
    return sim.wait(dom, lambda s: all(v["workload"]["loops"] >= loops
                                       for v in s["vcpus"] if v["workload"]["steps"]),
                    "the workload to loop")


def ctl_env(sim, extra=None):
    """sim.env() plus XSCTL and XENSIM_SOCKET, so that a gdb Python script
    can run the control command (`state`, `shutdown`...) itself."""
    e = sim.env(extra)
    e["XSCTL"] = sim.ctl_bin
    e["XENSIM_SOCKET"] = sim.socket
    return e


# A gdb Python prelude: state() is xensim's JSON state of domain DOMID.
PY_STATE = r'''
import json as _json, os as _os, subprocess as _sp
def state(dom=%(dom)s):
    out = _sp.run([_os.environ["XSCTL"], "state", str(dom)], capture_output=True, text=True).stdout
    return _json.loads(out)
def xsctl(*args):
    return _sp.run([_os.environ["XSCTL"]] + [str(a) for a in args], capture_output=True, text=True)
'''


class GdbSession:
    """gdb driven interactively through pipes (not batch mode), so that
    asynchronous stops are processed between commands, and so that a test
    can send a signal to gdb or to xenstub between two commands, kill gdb,
    or read what gdb printed so far. Started through ctx.spawn (killed by
    pid at the end of the run)."""

    def __init__(self, ctx, argv, env=None):
        self.p = ctx.spawn(argv, env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, bufsize=1)
        self._out = []
        self._lines = 0
        self._eof = False
        # notified at each line gdb prints (and at its end): a waiter
        # wakes when there is something new to look at
        self._cond = threading.Condition()
        self._n = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.p.stdout:
            with self._cond:
                self._out.append(line)
                self._lines += 1
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def out(self):
        with self._cond:
            if len(self._out) > 1:
                self._out[:] = ["".join(self._out)]
            return self._out[0] if self._out else ""

    def send(self, line):
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def wait_for(self, pattern, start=0, timeout=30.0):
        """Polls what gdb printed (from offset start) for a regex; the match
        or None once gdb exited or the bound passed."""
        deadline = time.monotonic() + timeout
        seen = -1
        while True:
            with self._cond:
                lines, eof = self._lines, self._eof
            if lines != seen:
                seen = lines
                m = re.search(pattern, self.out[start:], re.M)
                if m:
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if eof or self.p.poll() is not None:
                self._reader.join(2)
                return re.search(pattern, self.out[start:], re.M)
            with self._cond:
                if self._lines == seen and not self._eof:
                    self._cond.wait(min(left, 0.5))

    def mark(self):
        return len(self.out)

    def cmd(self, command, timeout=60.0):
        """Runs one command; returns what it printed, or None when gdb did
        not come back to its prompt within the bound (or died)."""
        self._n += 1
        mark = "@@live-%d@@" % self._n
        start = self.mark()
        if not self.send(command) or not self.send("echo \\n%s\\n" % mark):
            return None
        if not self.wait_for(re.escape(mark), start, timeout):
            return None
        return self.out[start:].split(mark)[0]

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)

    def quit(self, timeout=30.0):
        """`quit` (gdb detaches first); returns gdb's exit status or None."""
        self.send("quit")
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """kill -9: the connection drops without a goodbye."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()


def gdb_session(ctx, sim, name=None, remote=None, args=(), pre=(), env=None):
    """An interactive gdb attached to xenstub: through 'target remote |
    xenstub - xen:NAME' (name) or to a listening xenstub (remote: a socket
    path or HOST:PORT). Returns the session once gdb answered its first
    command; what connecting printed is in session.connect_out."""
    # remotetimeout: see Context.gdb in harness.py
    argv = ["gdb", "-q", "-n", "-nx", "-ex", "set pagination off",
            "-ex", "set confirm off", "-ex", "set width 0", "-ex", "set height 0",
            "-ex", "set remotetimeout 60"]
    for c in pre:
        argv += ["-ex", c]
    g = GdbSession(ctx, argv, env=env or ctl_env(sim))
    if name is not None:
        cmd = " ".join([ctx.xenstub] + list(args) + ["-", "xen:" + name])
        g.connect_out = g.cmd("target remote | " + cmd, timeout=120)
    else:
        g.connect_out = g.cmd("target remote " + remote, timeout=120)
    return g


def start_xenstub_unix(ctx, sim, name, args=()):
    """xenstub listening on a unix socket for xen:NAME (the way a user
    runs it beside gdb); returns (process, socket path). Its output is in
    process.log_path."""
    return ctx.start_xenstub("xen:" + name, args=list(args), env=sim.env())


def wait_exit(p, timeout=30.0):
    """A process's exit status, or None if it is still running after the
    bound."""
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def read_log(p):
    try:
        with open(p.log_path) as f:
            return f.read()
    except (OSError, AttributeError):
        return ""


def check_as_found(ctx, sim, dom, before, what, allow=()):
    """The checks of "the domain is left exactly as found", after xenstub
    left: the snapshot equals the one taken before it attached (but the
    keys in allow), nothing is paused or held, there is no ring, no
    monitor, no single-step. Returns the state for further checks."""
    after = snapshot(sim, dom)
    s = sim.state(dom)
    d = {k: v for k, v in diff(before, after).items() if k not in allow}
    ok = ctx.check(not d, "%s: the domain is left exactly as found" % what, d)
    mon = s["monitor"]
    on = [k for k, v in mon.items()
          if k not in ("port", "capabilities", "write_ctrlreg") and v]
    ctx.check(s["paused"] == 0 and s["ring"] is None and not on and
              not mon.get("write_ctrlreg"),
              "%s: not paused, no ring, no monitor event on" % what,
              {"paused": s["paused"], "ring": s["ring"], "monitor": on})
    vc = [(v["id"], v["state"], v["vm_event_pause"], v["single_step"],
           v["mtf_pending"]) for v in s["vcpus"]]
    ctx.check(all(v["vm_event_pause"] == 0 and not v["single_step"] and
                  not v["mtf_pending"] and v["state"] not in ("held", "paused")
                  for v in s["vcpus"]),
              "%s: no vCPU held, paused or single-stepping" % what, vc)
    return ok, s


# ---- watchpoint tests: real machine code behind scripted steps ----
#
# xensim executes scripted steps, but xenstub decodes the bytes at each
# step's rip to learn what the instruction touches. A Program lays out real
# x86-64 instructions and, beside each one, the step that does what that
# instruction does, so that the range xenstub decodes (from the bytes and
# the registers) is exactly the range xensim accesses. Registers a memory
# operand uses are loaded first with `movabs reg, imm64` (a set_reg step).
# xensim does not move RSP for a scripted push, pop or call: the program
# keeps RSP where it was, and the operand of each stack instruction is
# computed from that RSP (pushf is xensim's own op and does move it).

import re as _re  # noqa: E402

GPR = {"rax": 0, "rcx": 1, "rdx": 2, "rbx": 3, "rsp": 4, "rbp": 5, "rsi": 6,
       "rdi": 7, "r8": 8, "r9": 9, "r10": 10, "r11": 11, "r12": 12,
       "r13": 13, "r14": 14, "r15": 15}

# A 4 KiB frame of the fixture's kernel text (default_idle's) and the next
# one; a physical page that is zero (free) in the fixture, for page tables
# a test writes itself; the direct map's base (SCRATCH - SCRATCH_PHYS).
CODE_FRAME = CODE & ~0xfff
CODE2 = CODE_FRAME + 0x1000 + 0x180
FREE_PHYS = 0x70ff000
DIRECT_MAP = SCRATCH - SCRATCH_PHYS


def _u64(v):
    return v & 0xffffffffffffffff


def enc_movabs(reg, value):
    """movabs reg, imm64 (10 bytes)."""
    r = GPR[reg]
    return bytes([0x48 | (r >> 3), 0xb8 + (r & 7)]) + _u64(value).to_bytes(8, "little")


def _mem_operand(reg_field, base, disp):
    """ModRM (+SIB, +displacement) for [base+disp]; returns (REX.B, bytes)."""
    b = GPR[base]
    if disp == 0 and (b & 7) != 5:
        mod, dbytes = 0, b""
    elif -128 <= disp < 128:
        mod, dbytes = 1, disp.to_bytes(1, "little", signed=True)
    else:
        mod, dbytes = 2, disp.to_bytes(4, "little", signed=True)
    modrm = (mod << 6) | ((reg_field & 7) << 3) | (b & 7)
    sib = b"\x24" if (b & 7) == 4 else b""
    return b >> 3, bytes([modrm]) + sib + dbytes


def _sized(size, opcode8, opcode, reg, base, disp):
    r = GPR[reg]
    rexb, tail = _mem_operand(r, base, disp)
    rex = (0x48 if size == 8 else 0x40) | ((r >> 3) << 2) | rexb
    need_rex = size == 8 or (rex & 0xf) or (size == 1 and r in (4, 5, 6, 7))
    return (b"\x66" if size == 2 else b"") + (bytes([rex]) if need_rex else b"") + \
        bytes([opcode8 if size == 1 else opcode]) + tail


def enc_mov(size, store, base, disp=0, reg="rax"):
    """mov [base+disp], reg (store) or mov reg, [base+disp]: 1, 2, 4 or 8
    bytes."""
    return _sized(size, 0x88 if store else 0x8a, 0x89 if store else 0x8b, reg, base, disp)


def enc_add_to_mem(size, base, disp=0, reg="rax"):
    """add [base+disp], reg: a read and a write of the same bytes."""
    return _sized(size, 0x00, 0x01, reg, base, disp)


_STRING_PREFIX = {1: b"", 2: b"\x66", 4: b"", 8: b"\x48"}


def enc_rep_stos(elem):
    return b"\xf3" + _STRING_PREFIX[elem] + (b"\xaa" if elem == 1 else b"\xab")


def enc_rep_movs(elem):
    return b"\xf3" + _STRING_PREFIX[elem] + (b"\xa4" if elem == 1 else b"\xa5")


def enc_push(reg):
    r = GPR[reg]
    return (b"\x41" if r >= 8 else b"") + bytes([0x50 + (r & 7)])


def enc_pop(reg):
    r = GPR[reg]
    return (b"\x41" if r >= 8 else b"") + bytes([0x58 + (r & 7)])


def replicate(value, elem):
    """An element value as the 8-byte pattern a rep store leaves."""
    pat = (value & ((1 << (8 * elem)) - 1)).to_bytes(elem, "little") * (8 // elem)
    return int.from_bytes(pat, "little")


class Program:
    """Real x86-64 code and the xensim steps it stands for. Each method
    appends one instruction (after the register loads its memory operand
    needs) and returns its address; program.steps is the workload,
    program.marks the addresses named with mark(), program.ends (after
    end()) the address of the last instruction. Code goes in chunks: jump()
    continues at another address (with a real jmp)."""

    def __init__(self, base):
        self.chunks = [(base, bytearray())]
        self.steps = []
        self.regs = {}
        self.marks = {}
        self.end_pc = None

    @property
    def pc(self):
        base, code = self.chunks[-1]
        return base + len(code)

    def mark(self, name):
        self.marks[name] = self.pc
        return self.pc

    def insn(self, enc, **step):
        rip = self.pc
        st = {"rip": h(rip), "len": len(enc)}
        st.update(step)
        self.chunks[-1][1].extend(enc)
        self.steps.append(st)
        return rip

    def set_reg(self, reg, value):
        rip = self.insn(enc_movabs(reg, value), op="set_reg", reg=reg, value=h(_u64(value)))
        self.regs[reg] = _u64(value)
        return rip

    def need(self, reg, value):
        """Loads reg with value unless the program already did."""
        if self.regs.get(reg) != _u64(value):
            self.set_reg(reg, value)

    def nop(self):
        return self.insn(b"\x90", access="none")

    def jump(self, target):
        """jmp rel32 to target (jmp rax when it is farther than 2 GiB);
        the code goes on there."""
        rel = target - (self.pc + 5)
        if -(1 << 31) <= rel < (1 << 31):
            rip = self.insn(b"\xe9" + rel.to_bytes(4, "little", signed=True), access="none")
        else:
            self.need("rax", target)
            rip = self.insn(b"\xff\xe0", access="none")
        self.chunks.append((target, bytearray()))
        return rip

    def store(self, va, size, value, base="rdi", disp=0):
        """mov [base+disp], al/ax/eax/rax."""
        self.need(base, va - disp)
        return self.insn(enc_mov(size, True, base, disp), access="write", va=h(va),
                         size=size, value=h(_u64(value)))

    def load(self, va, size, base="rsi", disp=0, reg="rax"):
        """mov al/ax/eax/rax, [base+disp]."""
        self.need(base, va - disp)
        return self.insn(enc_mov(size, False, base, disp, reg), access="read", va=h(va),
                         size=size)

    def load_rip(self, va, size=8):
        """mov rax, [rip+disp32]: a read of memory near the code."""
        n = {1: 6, 2: 7, 4: 6, 8: 7}[size]
        disp = va - (self.pc + n)
        enc = {1: b"\x8a\x05", 2: b"\x66\x8b\x05", 4: b"\x8b\x05", 8: b"\x48\x8b\x05"}[size]
        return self.insn(enc + disp.to_bytes(4, "little", signed=True), access="read",
                         va=h(va), size=size)

    def add_to(self, va, size, value, base="rdi", disp=0):
        """add [base+disp], rax: reads then writes (xensim's access rw)."""
        self.need(base, va - disp)
        return self.insn(enc_add_to_mem(size, base, disp), access="rw", va=h(va), size=size,
                         value=h(_u64(value)))

    def rep_stos(self, va, count, elem=1, value=0):
        """rep stos: count elements of value from va (RDI, RCX loaded)."""
        self.need("rdi", va)
        self.need("rcx", count)
        return self.insn(enc_rep_stos(elem), access="write", va=h(va), size=count * elem,
                         value=h(replicate(value, elem)))

    def rep_movs(self, dst, src, count, elem=8, value=0):
        """rep movs from src to dst. A step has one access: xensim models
        the writes, so src must be memory nobody watches."""
        self.need("rdi", dst)
        self.need("rsi", src)
        self.need("rcx", count)
        return self.insn(enc_rep_movs(elem), access="write", va=h(dst), size=count * elem,
                         value=h(replicate(value, elem)))

    def push(self, value, reg="rax"):
        """push reg: writes [RSP-8] (load RSP first: need('rsp', ...))."""
        return self.insn(enc_push(reg), access="write", va=h(self.regs["rsp"] - 8), size=8,
                         value=h(_u64(value)))

    def pop(self, reg="rax"):
        """pop reg: reads [RSP]."""
        return self.insn(enc_pop(reg), access="read", va=h(self.regs["rsp"]), size=8)

    def call_next(self):
        """call to the next instruction (e8 00000000): stores its address
        at [RSP-8]."""
        return self.insn(b"\xe8\x00\x00\x00\x00", access="write",
                         va=h(self.regs["rsp"] - 8), size=8, value=h(self.pc + 5))

    def pushf(self):
        """pushfq (xensim's pushf: RFLAGS to [RSP-8], RSP -= 8)."""
        rip = self.insn(b"\x9c", op="pushf")
        self.regs["rsp"] -= 8
        return rip

    def write_cr3(self, value):
        """mov cr3, rax."""
        self.need("rax", value)
        return self.insn(b"\x0f\x22\xd8", op="write_cr", cr=3, value=h(value))

    def write_dr(self, n, value):
        """mov drN, rax (xensim: a set_reg step of drN)."""
        self.need("rax", value)
        return self.insn(bytes([0x0f, 0x23, 0xc0 | n << 3]), op="set_reg", reg="dr%d" % n,
                         value=h(_u64(value)))

    def stac(self):
        return self.insn(b"\x0f\x01\xcb", access="none")

    def end(self):
        """A nop, then the nop that ends the program (where a breakpoint
        goes: apart from the stop after the last instruction), then halt."""
        self.nop()
        self.end_pc = self.nop()
        self.steps.append({"op": "halt"})
        return self.end_pc

    def loop(self, times=None):
        self.steps.append({"op": "loop"} if times is None else {"op": "loop", "times": times})
        self.regs = {}

    def write_code(self, sim, dom, vcpu=0):
        """Writes the code into guest memory through vCPU vcpu's page tables."""
        for base, code in self.chunks:
            if code:
                sim.ctl("write", dom, "--va", h(base), "--vcpu", vcpu, code.hex())


def load_programs(sim, dom, programs, start=False):
    """Writes each vCPU's program and gives it as that vCPU's workload
    (started only when start)."""
    for vcpu, prog in programs.items():
        prog.write_code(sim, dom, vcpu)
        sim.workload(dom, vcpu, prog.steps)
    if start:
        sim.ctl("start", dom)


def alias_1g(sim, dom, cr3s, slot=1, table=FREE_PHYS):
    """Maps guest-physical [0, 1 GiB) a second time, supervisor read, write
    and execute, at slot * 512 GiB (PML4 entry `slot` of each CR3 in cr3s,
    through a page-directory-pointer table in the free frame `table`), as
    a kernel makes a writable alias of its text (text_poke). Returns the
    virtual base: base + P is guest-physical P."""
    sim.ctl("write", dom, "--gpa", h(table), (0xe3).to_bytes(8, "little").hex())
    for cr3 in cr3s:
        sim.ctl("write", dom, "--gpa", h((cr3 & ~0xfff) + 8 * slot),
                (table | 0x63).to_bytes(8, "little").hex())
    return slot << 39


# A gdb Python driver: runs the setup commands, starts the workloads
# (xensim `start`, while xenstub holds the domain), then `continue`s,
# recording each stop (thread, $pc, the stop event, expressions read) until
# every end address was reached by the threads expected there, or MAX
# stops. A watcher thread bounds a continue that nothing will end: when
# every vCPU has finished its workload (or faulted) and gdb still waits, it
# interrupts gdb (what Ctrl-C does), and the stop is recorded as SIGINT.
WATCH_DRIVER = r'''
import gdb, json, os, signal, subprocess, threading, time
def _xsctl(*a):
    return subprocess.run([os.environ["XSCTL"]] + [str(x) for x in a],
                          capture_output=True, text=True)
def _state():
    try:
        return json.loads(_xsctl("state", %(dom)d).stdout)
    except ValueError:
        return None
_last = {}
def _on_stop(ev):
    _last.clear()
    _last["event"] = type(ev).__name__
    if isinstance(ev, gdb.BreakpointEvent):
        _last["bps"] = [b.number for b in ev.breakpoints]
    if isinstance(ev, gdb.SignalEvent):
        _last["signal"] = ev.stop_signal
gdb.events.stop.connect(_on_stop)
_lock = threading.Lock()
_continuing = [False]
def _finished(s):
    return s is not None and all(v["state"] in ("halted", "idle", "faulted", "stopped")
                                 for v in s["vcpus"])
def _watch():
    seen = 0
    while True:
        time.sleep(0.5)
        with _lock:
            if not _continuing[0]:
                seen = 0
                continue
        seen = seen + 1 if _finished(_state()) else 0
        if seen >= 3:
            with _lock:
                if _continuing[0]:
                    os.kill(os.getpid(), signal.SIGINT)
                    _continuing[0] = False
            seen = 0
threading.Thread(target=_watch, daemon=True).start()
for _c in %(setup)r:
    gdb.execute(_c)
if %(start)r:
    _xsctl("start", %(dom)d)
_stops = []
_ends = %(ends)r
_done = set()
for _i in range(%(max)d):
    print("@@stop %%d@@" %% _i)
    _last.clear()
    with _lock:
        _continuing[0] = True
    try:
        gdb.execute("continue")
    finally:
        with _lock:
            _continuing[0] = False
    rec = dict(_last)
    rec["thread"] = gdb.selected_thread().num if gdb.selected_thread() else None
    try:
        rec["pc"] = int(gdb.parse_and_eval("$pc"))
    except gdb.error as e:
        rec["pc"] = None
        rec["error"] = str(e)
    for _k, _e in %(reads)r:
        try:
            rec[_k] = int(gdb.parse_and_eval(_e))
        except gdb.error as e:
            rec[_k] = "error: %%s" %% e
    if %(counters)r:
        _s = _state()
        rec["counters"] = [v["counters"] for v in _s["vcpus"]] if _s else None
        rec["access"] = _s["mem_access"]["host"] if _s else None
    _stops.append(rec)
    for _c in %(between)r.get(str(_i), []):
        print("@@between %%d %%s@@" %% (_i, _c))
        print(gdb.execute(_c, to_string=True))
    if rec.get("signal") == "SIGINT":
        break
    for _t, _a in _ends:
        if rec["pc"] == _a and rec["thread"] == _t:
            _done.add((_t, _a))
    if len(_done) == len(_ends):
        break
print("@@end@@")
for _c in %(after)r:
    print("@@after %%s@@" %% _c)
    print(gdb.execute(_c, to_string=True))
print("WATCH-RESULT " + json.dumps(_stops))
'''


class WatchRun:
    """What one driver session gave: the gdb Result, the stops (dicts:
    thread, pc, event, bps, signal, the reads, counters, and text: what gdb
    printed for that stop) and the text each `after` command printed."""

    def __init__(self, r, stops, after):
        self.r = r
        self.stops = stops
        self.after = after

    def pcs(self):
        return [(s["thread"], s["pc"]) for s in self.stops]

    def between(self, i, command):
        """What command printed when it ran after stop i (None if not)."""
        mark = "@@between %d %s@@" % (i, command)
        a = self.r.out.find(mark)
        if a < 0:
            return None
        rest = self.r.out[a + len(mark):]
        b = rest.find("@@")
        return rest[:b] if b >= 0 else rest

    def describe(self):
        lines = ["%d stops:" % len(self.stops)]
        for s in self.stops:
            lines.append("  thread %s pc %s %s %s" % (
                s.get("thread"), hex(s["pc"]) if isinstance(s.get("pc"), int) else s.get("pc"),
                s.get("event"), " ".join(x.strip() for x in s.get("text", "").splitlines()
                                         if x.strip())[:300]))
        return "\n".join(lines) + "\n--- gdb stdout (end)\n" + self.r.out[-2500:] + \
            "\n--- gdb stderr (end)\n" + self.r.err[-2500:]


def watch_run(ctx, sim, dom, name, setup, ends, reads=(), max_stops=50, start=True,
              after=("monitor stats",), counters=False, between=None, args=(),
              timeout=180):
    """Runs WATCH_DRIVER in gdb against `xenstub - xen:NAME`. ends: (thread,
    address) pairs that end the run once each was a stop; reads: (key,
    expression) pairs read at each stop; counters: also record xensim's
    per-vCPU counters and host access runs at each stop; between: {stop
    index: [commands]} run after that stop. Returns a WatchRun; stops have
    no "text" when gdb died before printing them."""
    script = WATCH_DRIVER % {"dom": dom, "setup": list(setup), "start": bool(start),
                             "ends": [tuple(e) for e in ends], "max": max_stops,
                             "reads": list(reads), "counters": bool(counters),
                             "after": list(after),
                             "between": {str(k): list(v) for k, v in (between or {}).items()}}
    env = sim.env({"XSCTL": sim.ctl_bin, "XENSIM_SOCKET": sim.socket})
    r = ctx.gdb([], target="xen:" + name, python=script, env=env,
                xenstub_args=list(args), timeout=timeout)
    m = _re.search(r"^WATCH-RESULT (.*)$", r.out, _re.M)
    stops = json.loads(m.group(1)) if m else []
    for i, s in enumerate(stops):
        a = r.out.find("@@stop %d@@" % i)
        b = r.out.find("@@stop %d@@" % (i + 1))
        if b < 0:
            b = r.out.find("@@end@@")
        s["text"] = r.out[a:b] if a >= 0 and b >= 0 else ""
    after_out = {}
    for c in after:
        a = r.out.find("@@after %s@@" % c)
        if a >= 0:
            rest = r.out[a + len("@@after %s@@" % c):]
            b = min([x for x in (rest.find("@@after "), rest.find("WATCH-RESULT ")) if x >= 0] or
                    [len(rest)])
            after_out[c] = rest[:b]
    return WatchRun(r, stops, after_out)


def stats_numbers(text):
    """The figures of `monitor stats`: received, stops, bp_hits, steps,
    holds, points, frames, and per kind (passed, watch, hbreak) the events
    and the mean handling in us."""
    out = {}
    m = _re.search(r"events: (\d+) received, (\d+) stops reported, (\d+) breakpoint hits, "
                   r".*?(\d+) steps, (\d+) vCPU holds", text or "")
    if m:
        out["received"], out["stops"], out["bp_hits"], out["steps"], out["holds"] = \
            (int(x) for x in m.groups())
    for key, label in (("passed", "passed through"), ("watch", "watchpoint hits"),
                       ("hbreak", "hardware breakpoint hits")):
        m = _re.search(r"%s\s+(\d+) events, mean handling ([0-9.]+) us" % label, text or "")
        if m:
            out[key] = (int(m.group(1)), float(m.group(2)))
    m = _re.search(r"access traps: (\d+) points on (\d+) frames", text or "")
    if m:
        out["points"], out["frames"] = int(m.group(1)), int(m.group(2))
    return out


def restricted(state):
    """The host and view entries of xensim's mem_access state that are not
    rwx (empty when every frame is as Xen made it)."""
    ma = state["mem_access"]
    return {"host": ma["host"], "views": [v for v in ma["views"] if v.get("entries")]}


def restricted_gfns(state):
    """{gfn: access} of every host entry xensim reports as not rwx."""
    out = {}
    for run in state["mem_access"]["host"]:
        first, last = int(run["first"], 16), int(run["last"], 16)
        for g in range(first, last + 1):
            out[g] = run["access"]
    return out
