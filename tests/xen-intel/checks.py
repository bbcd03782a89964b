# SPDX-License-Identifier: LGPL-2.1-or-later
"""The xen-test-intel checks, run on the host by run.py once dom0 serves
commands: create the Linux guest, then, for each check, start xenstub in
dom0 (listening on dom0's loopback, bridged by nc to the gdb serial port),
run one gdbside.py scenario in a gdb on this host, and compare what gdb saw
with Xen's own view: xenctx, xl, xen-probe (mem_access permissions, the
monitor ring) and the guest's console. Prints PASS, FAIL and SKIP lines.

Each check is a function check_NAME(suite); run.py calls them in ORDER.
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

from machine import EmulatorFailure

HERE = os.path.dirname(os.path.abspath(__file__))
GDBSIDE = os.path.join(HERE, "gdbside.py")
TF = 1 << 8
# registers compared with xenctx: gdb's name -> xenctx's
COMPARED = dict([(n, n) for n in ("rip", "rsp", "cr3", "rax", "rbx", "rcx", "rdx", "rsi",
                                  "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                                  "r15", "cr0", "cr2", "cr4", "cs", "ss", "ds", "es")] +
                [("eflags", "flags")])
GUEST_TROUBLE = re.compile(r"Kernel panic|BUG:|Oops|WARNING: CPU:|general protection|int3: |"
                           r"stack-protector|segfault")
# what Xen says when it crashes a guest (its console, not the guest's)
XEN_GUEST_CRASH = re.compile(r"vmentry failure|Invalid guest state|domain_crash|"
                             r"Triple fault|d\d+v\d+ Unexpected")
XS_PORT = 4444
PLAIN = "-v --os=none"
# what the guest's kernel symbols are needed for
NEEDED_SYMS = ("_text", "linux_banner", "jiffies_64", "idt_table", "init_stack",
               "__x64_sys_newuname", "__x64_sys_clock_nanosleep", "__x64_sys_getppid",
               "__x64_sys_reboot", "asm_sysvec_xen_hvm_callback", "__per_cpu_offset",
               "__preempt_count")
# per-CPU variables written once at boot: a watch on one of them, in the
# page of __preempt_count (written all the time), sees only let-throughs
PERCPU_QUIET = ("sev_vmsa", "cea_exception_stacks", "injectm", "cpu_devices", "this_cpu_off",
                "cpu_number")
# the callback vector of Xen's event channels (Xen: "upcall vector f3")
XEN_CALLBACK_VECTOR = 0xf3


def resume_texts(text, tag="stop"):
    """What gdb printed during each resuming command tagged tag of a
    scenario, in order (gdbside notes "resume-TAG CMD: ..." after each)."""
    parts = re.split(r"^XI-NOTE \[[ 0-9.]+s\] resume-(\w+) .*$", text, flags=re.M)
    # parts: text, tag, text, tag, ..., text
    return [re.sub(r"^XI-NOTE .*\n?", "", parts[i - 1], flags=re.M)
            for i in range(1, len(parts), 2) if parts[i] == tag]


def watch_values(text):
    """gdb's report of a watchpoint hit: {"old", "new"} or {"value"}."""
    m = re.search(r"Old value = (.*)\nNew value = (.*)", text)
    if m:
        return {"old": m.group(1).strip(), "new": m.group(2).strip()}
    m = re.search(r"^Value = (.*)$", text, re.M)
    return {"value": m.group(1).strip()} if m else {}


def le(hexstr):
    """A little-endian number from a hex string of bytes, or None."""
    return int.from_bytes(bytes.fromhex(hexstr), "little") \
        if hexstr and re.fullmatch(r"([0-9a-f]{2})+", hexstr) else None


def indent(text, limit=60):
    lines = str(text).rstrip().splitlines()
    if len(lines) > limit:
        lines = lines[:limit // 3] + ["... (%d lines left out)" % (len(lines) - limit)] + \
            lines[-(limit - limit // 3):]
    return "\n".join("    | " + line for line in lines)


def h(v):
    return "%#x" % v if isinstance(v, int) else str(v)


class Results:
    def __init__(self, t0):
        self.passed = self.failed = self.skipped = 0
        self.t0 = t0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("PASS %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL %s" % what, flush=True)
            if detail:
                print(indent(detail), flush=True)
        return bool(cond)

    def skip(self, what, why):
        self.skipped += 1
        print("SKIP %s: %s" % (what, why), flush=True)

    def note(self, msg):
        print("xen-test-intel: [%4.0fs] %s" % (time.monotonic() - self.t0, msg), flush=True)


class Ctl:
    """The driver's end of gdbside.py's requests (a unix socket): dom0
    commands, the guest's ticks, and "ready" (a scenario waits for the
    driver's way out)."""

    def __init__(self, suite):
        self.suite = suite
        self.dir = tempfile.mkdtemp(prefix="xen-test-intel-")
        self.path = os.path.join(self.dir, "ctl")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.ready = threading.Event()
        self.error = None
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        try:
            req = json.loads(c.makefile().readline())
            if "sh" in req:
                rc, out = self.suite.m.sh(req["sh"], req.get("timeout", 120))
                resp = {"rc": rc, "out": out}
            elif "ticks" in req:
                resp = {"ticks": self.suite.guest.last_tick()}
            elif "ready" in req:
                self.ready.set()
                resp = {}
            else:
                resp = {"error": "unknown request"}
            c.sendall((json.dumps(resp) + "\n").encode())
        except EmulatorFailure as e:
            self.error = e
        except (OSError, ValueError):
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass


class Guest:
    """The Linux PVH guest: its xl config, its console (read through dom0,
    only what is new each time), what its init printed."""

    def __init__(self, m, name, vcpus, memory, full_syms):
        self.m, self.name, self.vcpus, self.memory = m, name, vcpus, memory
        self.full_syms = full_syms
        self.log = "/var/log/xen/console/guest-%s.log" % name
        self.domid = None
        self.text = ""
        self.syms = {}

    def create(self):
        # cryptomgr.notests, lpj: the crypto self-tests and the delay-loop
        # calibration cost about 10 s of boot under emulation.
        # nosoftlockup, rcu_cpu_stall_suppress: a debugger stop pauses the
        # domain and Xen tells the guest nothing of the time it spent
        # paused, so after a long stop Linux would report a soft lockup or
        # an RCU stall of a guest that is fine (a guest that really loses
        # its timer shows in its tick counter, checked after every check)
        extra = "console=hvc0 cryptomgr.notests lpj=400000 nosoftlockup " \
            "rcupdate.rcu_cpu_stall_suppress=1" + \
            (" xi.kallsyms=full" if self.full_syms else "")
        cfg = ('name = "%s"\ntype = "pvh"\nkernel = "/xen-test/guest-vmlinux"\n'
               'ramdisk = "/xen-test/guest-initrd.gz"\nextra = "%s"\nmemory = %d\n'
               'vcpus = %d\non_crash = "preserve"\non_reboot = "preserve"\n'
               % (self.name, extra, self.memory, self.vcpus))
        self.text = ""
        rc, out = self.m.sh("rm -f %s; cat > /tmp/%s.cfg <<'EOF'\n%sEOF\nxl create /tmp/%s.cfg"
                            % (self.log, self.name, cfg, self.name), timeout=300,
                            kill_after=280)
        self.refresh_domid()
        return rc, out

    def destroy(self):
        return self.m.sh("xl destroy %s" % self.name, timeout=120)

    def refresh_domid(self):
        rc, out = self.m.sh("xl domid %s" % self.name)
        self.domid = int(out.strip()) if rc == 0 and out.strip().isdigit() else None
        return self.domid

    def console(self):
        """Everything the guest printed so far (fetches what is new)."""
        rc, out = self.m.sh("tail -c +%d %s 2>/dev/null" % (len(self.text.encode()) + 1, self.log))
        if rc == 0:
            self.text += out.replace("\r", "")
        return self.text

    def line(self, tag):
        m = re.search(r"^%s (.*)$" % re.escape(tag), self.text, re.M)
        return m.group(1) if m else None

    def ready(self):
        return "XI-READY" in self.console()

    def ticks(self):
        """[(n, loops on CPU 0, loops on CPU 1)] of every XI-TICK line."""
        return [(int(n), int(a), int(b)) for n, a, b in
                re.findall(r"^XI-TICK (\d+) \S+ (\d+) (\d+)$", self.console(), re.M)]

    def last_tick(self):
        t = self.ticks()
        return t[-1] if t else (0, 0, 0)

    def state(self):
        rc, out = self.m.sh("xl list %s" % self.name)
        for line in out.splitlines():
            f = line.split()
            if f and f[0] == self.name and len(f) >= 5:
                return f[4]
        return "?(%s)" % out.strip()

    def xenctx(self, vcpu):
        rc, out = self.m.sh("xenctx -a -l 0 %d %d" % (self.domid, vcpu))
        regs = {}
        for n, x in re.findall(r"\b([a-z][a-z0-9_]*):\s*([0-9a-f]{4,16})\b", out):
            regs.setdefault(n, int(x, 16))
        return rc, regs, out

    def sym(self, name):
        return self.syms.get(name)

    def wait(self, pred, timeout, every=1.0):
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v or time.monotonic() >= deadline:
                return v
            time.sleep(every)


class Suite:
    def __init__(self, m, res, build, cache, only):
        self.m, self.res, self.build, self.cache = m, res, build, cache
        self.only = [w for w in (only or "").split(",") if w]
        self.ctl = Ctl(self)
        self.guest = None
        self.sessions = 0
        self.gfn_cache = {}
        # the guest was seen running (runs()) since the last gdb session
        self.seen_running = False

    def wanted(self, name):
        return not self.only or name in self.only

    def note(self, msg):
        self.res.note(msg)

    # ---- one xenstub + gdb session ----

    def start_xenstub(self, target, opts, link):
        """Starts xenstub in dom0 on the gdb serial port: link "stdio"
        (xenstub's stdin and stdout are the port), or "tcp" (xenstub
        listens on dom0's loopback and nc bridges the port to it, so that
        killing nc drops the connection). Returns (status, what xenstub said
        when ready)."""
        if link == "stdio":
            run = ("setsid sh -c 'xenstub %s - %s </dev/ttyS3 >/dev/ttyS3 2>/tmp/xs.log; "
                   "echo $? >/tmp/xs.rc' </dev/null >/dev/null 2>&1 &\n" % (opts, target))
            ready = "attached"
        else:
            run = ("setsid sh -c 'xenstub %s --once 127.0.0.1:%d %s >/tmp/xs.log 2>&1; "
                   "echo $? >/tmp/xs.rc' </dev/null >/dev/null 2>&1 &\n" % (opts, XS_PORT, target))
            ready = "Listening on"
        cmd = ("rm -f /tmp/xs.log /tmp/xs.rc /tmp/nc.pid\n" + run +
               "i=0; while ! grep -q '%s' /tmp/xs.log 2>/dev/null && [ ! -f /tmp/xs.rc ]; do\n"
               "  i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.1; done\n"
               "cat /tmp/xs.log\n"
               "if [ -f /tmp/xs.rc ]; then echo \"xenstub exited with status $(cat /tmp/xs.rc)\"; "
               "exit 1; fi\n"
               % ready)
        if link == "tcp":
            cmd += ("setsid nc 127.0.0.1 %d </dev/ttyS3 >/dev/ttyS3 2>/dev/null &\n"
                    "echo $! >/tmp/nc.pid\n" % XS_PORT)
        return self.m.sh(cmd, timeout=120)

    def end_xenstub(self, closed, wait=60):
        """After gdb: when gdb closed its connection (closed) and xenstub is
        on TCP, the bridge closes xenstub's too, as a socket would. Then
        waits for xenstub to end; if it does not, drops its connection, or
        for a serial link, sends it SIGTERM (and says so). Returns (exit
        status or None, its log)."""
        rc, out = self.m.sh(
            ("[ -f /tmp/nc.pid ] && kill $(cat /tmp/nc.pid) 2>/dev/null\n" if closed else "") +
            "i=0; while pidof xenstub >/dev/null && [ $i -lt %d ]; do i=$((i + 1)); sleep 0.2; done\n"
            "if pidof xenstub >/dev/null; then\n"
            "  if [ -f /tmp/nc.pid ]; then echo 'XI: xenstub still runs: dropping its connection'; "
            "kill $(cat /tmp/nc.pid) 2>/dev/null\n"
            "  else echo 'XI: xenstub still runs after gdb ended: SIGTERM'; kill $(pidof xenstub); fi\n"
            "  i=0; while pidof xenstub >/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.2; done\n"
            "fi\n"
            "[ -f /tmp/nc.pid ] && kill $(cat /tmp/nc.pid) 2>/dev/null\n"
            "pidof xenstub >/dev/null && echo 'XI: xenstub still runs'\n"
            "echo \"XI: status $(cat /tmp/xs.rc 2>/dev/null)\"\n"
            "tail -c 30000 /tmp/xs.log" % (wait * 5), timeout=wait + 60)
        m = re.search(r"^XI: status (\d+)$", out, re.M)
        return (int(m.group(1)) if m else None), out

    def gdb(self, scenario, target=None, xs_opts=PLAIN, timeout=600, during=None, link="stdio",
            **args):
        """Runs one gdbside.py scenario against a new xenstub. Returns
        (result dict or None, gdb's output, xenstub's status and log).
        during(proc), if given, runs while gdb does (for ways out that
        happen outside gdb)."""
        self.sessions += 1
        self.seen_running = False
        target = target or "xen:%s" % self.guest.name
        t = time.monotonic()
        rc, out = self.start_xenstub(target, xs_opts, link)
        if rc != 0:
            return None, "xenstub did not start:\n" + out, (None, out)
        relay = self.m.gdb_port()
        args["port"] = relay.port
        cmd = ["gdb", "-q", "-n", "-batch", "-ex", "set pagination off",
               "-ex", "set confirm off", "-ex", "set width 0", "-ex", "set height 0",
               "-ex", "set remotetimeout 120", "-x", GDBSIDE,
               "-ex", "python run(%r, %r)" % (scenario, json.dumps(args))]
        env = dict(os.environ, XI_CTL=self.ctl.path)
        self.ctl.ready.clear()
        self.ctl.error = None
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
        outbuf = []
        reader = threading.Thread(target=lambda: outbuf.append(p.stdout.read()), daemon=True)
        reader.start()
        extra = ""
        try:
            if during:
                extra = during(p) or ""
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            extra += "\n[gdb timed out after %d s]" % timeout
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)  # our own gdb, by its process group
                p.wait()
        reader.join(30)
        if self.ctl.error:
            raise self.ctl.error
        text = (outbuf[0] if outbuf else b"").decode(errors="replace") + extra
        relay.thread.join(3)  # it sees gdb's end of the connection
        xs = self.end_xenstub(relay.closed_by_gdb.is_set())
        with open(os.path.join(self.m.out, "session-%02d-%s.log" % (self.sessions, scenario)),
                  "w") as f:
            f.write("%s\n--- xenstub started ---\n%s\n--- gdb ---\n%s\n--- xenstub "
                    "(status %s) ---\n%s" % (json.dumps(args), out, text, xs[0], xs[1]))
        self.note("session %d: gdb %s on %s: %.0f s (%d bytes to gdb, %d from gdb)" %
                  (self.sessions, scenario, target, time.monotonic() - t, relay.to_gdb,
                   relay.from_gdb))
        res = None
        lines = []
        for line in text.splitlines():
            if line.startswith("XI-RESULT "):
                try:
                    res = json.loads(line[len("XI-RESULT "):])
                    continue
                except ValueError:
                    pass
            lines.append(line)
        text = "\n".join(lines)
        if res is not None:
            res["resume_texts"] = resume_texts(text)
        if res is None:
            text += "\n[gdb exit status %s, no result line]" % p.returncode
        elif not res.get("ok"):
            text += "\n" + res.get("traceback", "")
            res = None
        return res, text + "\n--- xenstub (status %s) ---\n%s" % xs, xs

    # ---- Xen's view ----

    def probe_access(self, gfns):
        """{gfn: access} from xen-probe (xc_get_mem_access)."""
        if not gfns:
            return {}, ""
        rc, out = self.m.sh("xen-probe access %d %s" % (
            self.guest.domid, " ".join("%#x" % g for g in sorted(gfns))))
        got = {int(g, 16): a for g, a in re.findall(r"^gfn (0x[0-9a-f]+) (\S+)$", out, re.M)}
        return got, out

    def probe_monitor(self):
        rc, out = self.m.sh("xen-probe monitor %d" % self.guest.domid)
        return rc == 0 and "monitor ring: free" in out, out

    def learn_v2p(self, v2p):
        """Keeps the frames of a scenario's `monitor v2p` answers."""
        for a, p in (v2p or {}).items():
            if isinstance(p, int):
                self.gfn_cache[int(a, 16) & ~0xfff] = p >> 12

    def gfns_of(self, addrs):
        """Guest frame numbers of kernel virtual addresses (page-aligned
        or not), from xenstub's `monitor v2p` in a kernel-mode thread
        (cached: the kernel image does not move)."""
        need = [a for a in addrs if (a & ~0xfff) not in self.gfn_cache]
        if need:
            r, out, _ = self.gdb("memread", addrs=[], len=1, vcpus=self.guest.vcpus,
                                 v2p=[a & ~0xfff for a in need])
            if r:
                self.learn_v2p(r["v2p"])
        return {a: self.gfn_cache.get(a & ~0xfff) for a in addrs}

    def xen_read(self, addr, n):
        """Guest memory as Xen maps it for dom0 (xen-probe read), by the
        frame xenstub translated addr to: hex, or None."""
        gfn = self.gfns_of([addr])[addr]
        if gfn is None:
            return None, "no frame known for %s" % h(addr)
        rc, out = self.m.sh("xen-probe read %d %#x:%#x:%d" % (self.guest.domid, gfn,
                                                             addr & 0xfff, n))
        m = re.search(r"^read 0x[0-9a-f]+:0x[0-9a-f]+ ([0-9a-f]+)$", out, re.M)
        return (m.group(1) if rc == 0 and m else None), out

    def xen_view(self, gfns, reads):
        """Xen's view after a session, in one dom0 command: whether the
        monitor ring is free, the access of each frame in gfns, the bytes
        at each (gfn, offset, length) in reads, the domain's state in xl.
        Returns (ring free, {gfn: access}, {(gfn, offset): hex}, state, text)."""
        d = self.guest.domid
        cmd = ["xen-probe monitor %d" % d]
        if gfns:
            cmd.append("xen-probe access %d %s" % (d, " ".join("%#x" % g for g in sorted(gfns))))
        if reads:
            cmd.append("xen-probe read %d %s" % (d, " ".join("%#x:%#x:%d" % r for r in reads)))
        cmd.append("xl list %s" % self.guest.name)
        rc, out = self.m.sh("\n".join(cmd))
        free = "monitor ring: free" in out
        acc = {int(g, 16): a for g, a in re.findall(r"^gfn (0x[0-9a-f]+) (\S+)$", out, re.M)}
        got = {(int(g, 16), int(o, 16)): b for g, o, b in
               re.findall(r"^read (0x[0-9a-f]+):(0x[0-9a-f]+) ([0-9a-f]+)$", out, re.M)}
        st = "?"
        for line in out.splitlines():
            f = line.split()
            if f and f[0] == self.guest.name and len(f) >= 5:
                st = f[4]
        return free, acc, got, st, out

    def runs(self, what, extra_ticks=1, timeout=90, both_cpus=True, state=None):
        """Checks the guest runs as found: not paused in Xen (state: what xl
        list just said, if known), its counter moves, and (both_cpus) the
        user loops on both vCPUs move."""
        g = self.guest
        st = state or g.state()
        self.res.check("p" not in st and "c" not in st and not st.startswith("?"),
                       "%s: xl list shows the guest running, not paused (%s)" % (what, st))
        t0 = g.last_tick()
        ok = g.wait(lambda: g.last_tick()[0] >= t0[0] + extra_ticks and
                    (not both_cpus or (g.last_tick()[1] > t0[1] and g.last_tick()[2] > t0[2])),
                    timeout, every=0.3)
        t1 = g.last_tick()
        self.seen_running = bool(ok) and "p" not in st and "c" not in st
        self.res.check(ok, "%s: the guest ticks (%d -> %d) and both vCPUs run its user loops "
                       "(CPU 0 %d -> %d, CPU 1 %d -> %d)" % (what, t0[0], t1[0], t0[1], t1[1],
                                                             t0[2], t1[2]),
                       g.console()[-1500:])
        return ok

    def xen_console_trouble(self, since):
        text = self.m.console()[since:]
        m = XEN_GUEST_CRASH.search(text)
        return (text[max(0, m.start() - 1500):m.start() + 1500] if m else None)

    def guest_alive(self):
        st = self.guest.state()
        return not st.startswith("?") and "c" not in st and "s" not in st

    def ensure_guest(self, what):
        """Before a check: the guest must be alive; one Xen crashed (or a
        check left unable to run) is destroyed and created again."""
        if self.guest.domid is not None and (self.seen_running or self.guest_alive()):
            return True
        self.note("the guest is not running before %s (xl: %s): creating it again"
                  % (what, self.guest.state()))
        self.guest.destroy()
        return self.create_guest()

    def create_guest(self):
        g = self.guest
        t = time.monotonic()
        rc, out = g.create()
        self.note("xl create %s: %.0f s" % (g.name, time.monotonic() - t))
        if not self.res.check(rc == 0 and g.domid is not None,
                              "xl create %s (PVH, %d vCPUs, %d MiB)" % (g.name, g.vcpus, g.memory),
                              out):
            return False
        ok = g.wait(g.ready, 600, every=3)
        self.note("%s (domain %s) %s after %.0f s (Bochs CPU %.0f s so far)"
                  % (g.name, g.domid, "ready" if ok else "not ready", time.monotonic() - t,
                     self.m.cpu_seconds()))
        if not self.res.check(ok, "%s: its init prints the ready line" % g.name,
                              g.console()[-3000:]):
            return False
        for name, addr in re.findall(r"^XI-SYM (\S+) ([0-9a-f]+)$", g.console(), re.M):
            g.syms[name] = int(addr, 16)
        return True


# ---- the checks ----

def check_setup(s):
    res, m = s.res, s.m
    rc, out = m.sh("for f in /usr/local/bin/xenstub /usr/local/bin/xen-probe "
                   "/usr/local/bin/min-listener /usr/lib/xen-4.17/bin/xl "
                   "/usr/lib/xen-4.17/bin/xenctx /usr/lib/xen-4.17/bin/xen-access; do "
                   "echo \"== $f\"; /lib64/ld-linux-x86-64.so.2 --list $f; done")
    res.check(rc == 0 and "not found" not in out,
              "the shared libraries of xenstub, xen-probe, min-listener, xl, xenctx and "
              "xen-access resolve in dom0", out)
    rc, out = m.sh("xl info")
    caps = re.search(r"^virt_caps\s*:\s*(.*)$", out, re.M)
    s.note("xl info virt_caps: %s" % (caps.group(1) if caps else "?"))
    res.check(rc == 0 and caps and "hvm" in caps.group(1) and "hap" in caps.group(1),
              "Xen offers HVM with HAP (virt_caps has hvm and hap)", out)
    con = m.console()
    res.check("VMX enabled" in con and "HAP" in con,
              "Xen's console: VMX enabled, hardware-assisted paging (EPT)",
              "\n".join(l for l in con.splitlines() if "VMX" in l or "HAP" in l or "HVM" in l))


def check_attach(s):
    """With the domain paused by xl: xenctx reads each vCPU, then xenstub
    shows the same registers, and linux_banner equal to /proc/version."""
    res, g = s.res, s.guest
    version = g.line("XI-VERSION")
    banner = g.sym("linux_banner")
    rc, out = s.m.sh("xl pause %s" % g.name)
    if not res.check(rc == 0, "%s: xl pause" % g.name, out):
        return
    try:
        ctx = {}
        for v in range(g.vcpus):
            rc, regs, out = g.xenctx(v)
            ctx[v] = regs
            res.check(rc == 0 and "rip" in regs, "%s: xenctx reads vCPU %d" % (g.name, v), out)
        r, out, _ = s.gdb("inspect", xs_opts="-v", vcpus=g.vcpus, banner=banner,
                          regs=sorted(COMPARED),
                          v2p=sorted(set(a & ~0xfff for a in g.syms.values())))
        if not res.check(r is not None, "attach: gdb attaches through the serial link", out):
            return
        s.learn_v2p(r.get("v2p"))
        vcpus = sorted(t[1] for t in r["threads"] if t[1] < g.vcpus)
        res.check(vcpus == list(range(g.vcpus)),
                  "attach: gdb shows a thread for each vCPU (%s)" % vcpus, json.dumps(r["threads"]))
        for v in range(g.vcpus):
            ours = {n: r["regs"].get(str(v), {}).get(n) for n in COMPARED}
            theirs = {n: ctx.get(v, {}).get(x) for n, x in COMPARED.items()}
            bad = ["%s: xenstub %s, xenctx %s" % (n, h(ours[n]), h(theirs[n]))
                   for n in sorted(ours) if ours[n] != theirs[n]]
            res.check(not bad, "attach: vCPU %d: rip %s, rsp %s, cr3 %s, cs %s and %d more "
                      "registers as xenctx prints them" % (v, h(ours["rip"]), h(ours["rsp"]),
                                                           h(ours["cr3"]), h(ours["cs"]),
                                                           len(ours) - 4), "\n".join(bad))
        res.check((r.get("banner") or "").rstrip("\n") == version,
                  "attach: linux_banner in guest memory equals the guest's /proc/version",
                  "memory:        %r %s\n/proc/version: %r" % (r.get("banner"),
                                                               r.get("banner_error", ""), version))
        ms = r.get("monitor_sym", "")
        res.check(re.search(r"0x0*%x\b" % banner, ms.lower()),
                  "attach: monitor sym linux_banner gives the kallsyms address (%s)" % h(banner), ms)
        st = g.state()
        res.check("p" in st, "attach: still paused after xenstub detached: it undoes only "
                  "its own pause (%s)" % st)
    finally:
        s.m.sh("xl unpause %s" % g.name)


def classify_access(stop, addr):
    """The decodings of the instruction that ends at the stop's pc which
    name addr (the access a watchpoint stop must follow)."""
    return [i["text"] for i in stop.get("insns_before", []) if addr in i["refs"]]


def phase_stops(r, i):
    """The stops of phase i of a hits scenario, with gdb's report of each
    (Old/New value or Value) from what it printed."""
    texts = r["resume_texts"]
    before = sum(len(p["stops"]) for p in r["phases"][:i])
    stops = r["phases"][i]["stops"]
    for k, st in enumerate(stops):
        j = before + k
        st["gdb_text"] = texts[j] if j < len(texts) else ""
        st.update(watch_values(st["gdb_text"]))
    return stops


def check_watch(s):
    """watch, rwatch and awatch on jiffies_64, one phase each: a stop after
    the access, the value and the pc past the accessing instruction, as
    debug registers would report them; xenctx agrees on the stopped vCPU;
    afterwards Xen shows the frame unrestricted."""
    res, g = s.res, s.guest
    jif = g.sym("jiffies_64")
    cmds = ("watch", "rwatch", "awatch")
    phases = [{"points": ["%s *(long *)%#x" % (c, jif)], "count": 2, "wait": 120,
               "refs": [jif], "mem": jif, "insns": True} for c in cmds]
    r, out, _ = s.gdb("hits", phases=phases, vcpus=g.vcpus, domid=g.domid)
    if not res.check(r is not None and len(r["phases"]) == 3, "watch: gdb session", out):
        return
    for i, cmd in enumerate(cmds):
        what = "%s jiffies_64" % cmd
        ph = r["phases"][i]
        if not res.check("error" not in ph["points"][0], "%s: the watchpoint is accepted" % what,
                         ph["points"][0]):
            continue
        stops = phase_stops(r, i)
        good = [st for st in stops if st.get("bps") and not st.get("error")]
        res.check(len(good) == 2, "%s: two stops, each reported as the watchpoint's hit (%s)"
                  % (what, [(st.get("signal"), st.get("bps")) for st in stops]),
                  json.dumps(stops, indent=1)[:6000] + "\n" + out[-3000:])
        for k, st in enumerate(good):
            where = classify_access(st, jif)
            res.check(where, "%s: hit %d: the instruction just before the reported pc %s "
                      "accesses jiffies_64 (%s)" % (what, k, h(st.get("pc")),
                                                    where[0] if where else "none"),
                      json.dumps(st.get("insns_before"), indent=1))
            mem, before = le(st.get("mem")), le(st.get("mem_before"))
            shown = st.get("new") or st.get("value")
            res.check(mem is not None and shown is not None and int(shown, 0) == mem,
                      "%s: hit %d: gdb shows the value in memory after the access (%s, memory %s)"
                      % (what, k, shown, h(mem)), st["gdb_text"])
            if cmd == "watch":
                res.check(st.get("old") is not None and int(st["old"], 0) == before and
                          mem is not None and before is not None and mem > before,
                          "%s: hit %d: old value %s is what memory held before, and jiffies "
                          "went up to %s" % (what, k, st.get("old"), st.get("new")),
                          "memory before %s, after %s" % (h(before), h(mem)))
            xrip = st.get("xenctx", {}).get("rip")
            res.check(xrip == st.get("pc"),
                      "%s: hit %d: xenctx shows vCPU %s at the reported pc (%s)"
                      % (what, k, st.get("vcpu"), h(xrip)), json.dumps(st.get("xenctx")))
        res.check("delete_error" not in ph, "%s: the point is removed and the session goes on"
                  % what, ph.get("delete_error", ""))
    gfn = s.gfns_of([jif])[jif]
    acc, pout = s.probe_access([gfn] if gfn is not None else [])
    res.check(gfn is not None and acc.get(gfn) == "rwx",
              "watch: afterwards Xen reports jiffies_64's frame %s unrestricted (%s)"
              % (h(gfn), acc.get(gfn)), pout)
    s.runs("watch: afterwards")


def check_breakpoints(s):
    """hbreak (an execute trap): two stops before the instruction, at the
    address. break (int3): hits on both vCPUs (each user loop sleeps on its
    own CPU). Each stop is where xenctx shows the vCPU. Afterwards Xen shows
    the frames unrestricted and the guest's own bytes (no int3 left)."""
    res, g = s.res, s.guest
    fh, fb = g.sym("__x64_sys_newuname"), g.sym("__x64_sys_clock_nanosleep")
    b0, out0 = s.xen_read(fb, 8)
    phases = [{"points": ["hbreak *%#x" % fh], "count": 2, "wait": 120},
              {"points": ["break *%#x" % fb], "count": 8, "wait": 120,
               "until_vcpus": list(range(g.vcpus))}]
    r, out, _ = s.gdb("hits", phases=phases, vcpus=g.vcpus, domid=g.domid)
    if not res.check(r is not None and len(r["phases"]) == 2, "breakpoints: gdb session", out):
        return
    for i, (name, fn, kind) in enumerate((("hbreak", fh, "hardware breakpoint"),
                                          ("break", fb, "breakpoint"))):
        ph = r["phases"][i]
        if not res.check("error" not in ph["points"][0], "%s: the %s is accepted" % (name, kind),
                         ph["points"][0]):
            continue
        stops = phase_stops(r, i)
        good = [st for st in stops if st.get("bps")]
        if name == "hbreak":
            res.check(len(good) == 2 and all(st.get("pc") == fn for st in good),
                      "hbreak __x64_sys_newuname: two stops, each before its first instruction "
                      "(%s)" % [h(st.get("pc")) for st in stops],
                      json.dumps(stops, indent=1)[:5000])
            res.check(re.search(r"hardware breakpoint hits\s+[1-9]", ph.get("stats", "")),
                      "hbreak: monitor stats counts the execute-trap hits", ph.get("stats", ""))
        else:
            seen = sorted(set(st.get("vcpu") for st in good))
            res.check(seen == list(range(g.vcpus)),
                      "break __x64_sys_clock_nanosleep: hits on every vCPU (%s, in %d stops)"
                      % (seen, len(stops)), json.dumps(stops, indent=1)[:5000])
            res.check(re.search(r"[1-9]\d* breakpoint hits", ph.get("stats", "")),
                      "break: monitor stats counts the int3 events", ph.get("stats", ""))
        res.check(good and all(st.get("pc") == fn and st.get("xenctx", {}).get("rip") == fn
                               for st in good),
                  "%s: every hit is reported at the address, where xenctx shows the vCPU" % name,
                  json.dumps([(st.get("vcpu"), h(st.get("pc")),
                               h(st.get("xenctx", {}).get("rip"))) for st in stops]))
    gfns = s.gfns_of([fh, fb])
    acc, pout = s.probe_access([f for f in gfns.values() if f is not None])
    bad = {h(f): acc.get(f) for f in gfns.values() if acc.get(f) != "rwx"}
    res.check(None not in gfns.values() and not bad,
              "breakpoints: afterwards Xen reports the functions' frames unrestricted",
              "%s\n%s" % (bad, pout))
    b2, out2 = s.xen_read(fb, 8)
    res.check(b0 and b2 == b0,
              "break: afterwards Xen shows the guest's own bytes at the address (%s, no int3 "
              "left)" % b2, "before: %s\nafter: %s" % (out0, out2))
    s.runs("breakpoints: afterwards")


def check_hold(s):
    """At a breakpoint stop every vCPU is held: stepi by MTF on the stopped
    vCPU with scheduler-locking step leaves the other's rip unchanged (gdb
    and xenctx), each step ends at the next instruction, and the guest
    makes no progress while stopped."""
    res, g = s.res, s.guest
    if g.vcpus < 2:
        res.skip("hold", "the guest has one vCPU")
        return
    fn = g.sym("__x64_sys_clock_nanosleep")
    r, out, _ = s.gdb("hold", setup=["hbreak *%#x" % fn], vcpus=g.vcpus, domid=g.domid,
                      guest=g.name, count=4, quiet=5)
    if not res.check(r is not None and r["steps"] and r["stop"].get("bps"),
                     "hold: gdb session, stopped at the hardware breakpoint", out):
        return
    s.note("hold: stepped vCPU %s from %s" % (r.get("vcpu"), h(r["steps"][0]["pc_before"])))
    steps = r["steps"]
    bad = [st for st in steps if st.get("error")]
    res.check(not bad and len(steps) == 4, "hold: four stepi, each ending in a stop",
              json.dumps(steps, indent=1))
    me = r["vcpu"]
    before = r["before"]
    moved = []
    for i, st in enumerate(steps):
        for v, rip in st.get("others_gdb", {}).items():
            b = before["gdb"][v]["rip"]
            if rip != b:
                moved.append("step %d: vCPU %s rip %s -> %s (gdb)" % (i, v, h(b), h(rip)))
        for v, rip in st.get("others_xenctx", {}).items():
            b = before["xenctx"][v].get("rip")
            if rip != b:
                moved.append("step %d: vCPU %s rip %s -> %s (xenctx)" % (i, v, h(b), h(rip)))
    res.check(not moved, "hold: the other vCPU's rip does not change across the steps, by gdb "
              "and by xenctx (%s)" % ", ".join(h(before["xenctx"][v].get("rip"))
                                               for v in before["xenctx"] if int(v) != me),
              "\n".join(moved))
    plain = [st for st in steps if st.get("fallthrough") and st.get("pc_after") and not
             re.search(r"\t(j\w+|call\w*|ret\w*|iret\w*|hlt|loop\w*|syscall|sysret\w*|int\w*|ud2)\b",
                       st["insn"])]
    wrong = ["%s: ended at %s, not %s" % (st["insn"], h(st["pc_after"]), h(st["fallthrough"]))
             for st in plain if st["pc_after"] != st["fallthrough"]]
    res.check(plain and not wrong, "hold: each of the %d steps over a non-branching instruction "
              "ends at the next one" % len(plain), "\n".join(wrong) or json.dumps(steps, indent=1))
    res.check(all(st.get("me_xenctx") == st.get("pc_after") for st in steps),
              "hold: xenctx shows the stepped vCPU where gdb does after each step",
              json.dumps([(h(st.get("pc_after")), h(st.get("me_xenctx"))) for st in steps]))
    res.check(all(not st.get("eflags", 0) & TF for st in steps),
              "hold: gdb never sees a trap flag (the steps are MTF)",
              " ".join(h(st.get("eflags")) for st in steps))
    stats = r.get("stats", "")
    res.check("monitor single-step (MTF)" in stats and "every vCPU is held" in stats,
              "hold: monitor stats says MTF stepping with every vCPU held", stats)
    res.check(r["ticks_1"][0] == r["ticks_0"][0],
              "hold: the guest's counter stays still while it is stopped (%d, then %d after "
              "the steps and 5 s)" % (r["ticks_0"][0], r["ticks_1"][0]))
    s.runs("hold: after detach")


def check_many(s):
    """1000 watchpoints at once (999 on read-only data spread over several
    frames, one on jiffies_64): all accepted, the jiffies one hits, monitor
    stats shows them in place, all removed; Xen shows every frame
    unrestricted afterwards."""
    res, g = s.res, s.guest
    base, jif = g.sym("linux_banner"), g.sym("jiffies_64")
    addrs = [base + 16 * i for i in range(999)]
    points = ["watch *(char *)%#x" % a for a in addrs] + ["watch *(long *)%#x" % jif]
    pages = sorted(set([a & ~0xfff for a in addrs] + [jif & ~0xfff]))
    r, out, _ = s.gdb("many", points=points, wait=180, after=10, timeout=1500, vcpus=g.vcpus,
                      cache=[[base & ~0xfff, (addrs[-1] | 0xfff) + 1]], v2p=pages)
    if not res.check(r is not None, "1000 watchpoints: gdb session", out):
        return
    s.learn_v2p(r.get("v2p"))
    res.check(r["n_errors"] == 0 and r["n_points"] == 1000,
              "1000 watchpoints: all accepted (%d points, %d errors, %.0f s to set)"
              % (r["n_points"], r["n_errors"], r["set_seconds"]), "\n".join(r["insert_errors"]))
    st = r["stop"]
    texts = r["resume_texts"]
    st.update(watch_values(texts[0] if texts else ""))
    res.check(st.get("bps") == [1000] and st.get("new") is not None,
              "1000 watchpoints: the stop is the hit on jiffies_64 (%s: %s -> %s)"
              % (st.get("bps"), st.get("old"), st.get("new")), json.dumps(st, indent=1))
    m = re.search(r"access traps: (\d+) points on (\d+) frames", r.get("stats", ""))
    res.check(m and int(m.group(1)) == 1000,
              "1000 watchpoints: monitor stats at the stop: %s" % (m.group(0) if m else "?"),
              r.get("stats", ""))
    res.check("delete_error" not in r and r["after"].get("interrupted"),
              "1000 watchpoints: all deleted (%.0f s), the guest runs until gdb's interrupt"
              % r.get("delete_seconds", 0), json.dumps(r["after"]))
    frames = s.gfns_of(sorted(set([a & ~0xfff for a in addrs] + [jif])))
    acc, pout = s.probe_access([f for f in frames.values() if f is not None])
    bad = {h(f): acc.get(f) for f in frames.values() if acc.get(f) != "rwx"}
    res.check(frames and not bad and None not in frames.values(),
              "1000 watchpoints: afterwards Xen reports the %d frames unrestricted" % len(frames),
              "%s\n%s" % (bad, pout))
    s.runs("1000 watchpoints: afterwards")


def exits_setup(s):
    """The points every way out leaves behind: an int3 that never hits
    (reboot), a write watch on read-only data, an execute trap on a
    function's frame; at a stop, also an int3 that hits often."""
    g = s.guest
    rare, often = g.sym("__x64_sys_reboot"), g.sym("__x64_sys_clock_nanosleep")
    banner, hb = g.sym("linux_banner"), g.sym("__x64_sys_getppid")
    points = ["break *%#x" % rare, "watch *(int *)%#x" % banner, "hbreak *%#x" % hb]
    return rare, often, banner, hb, points


EXITS = [
    # (name, where the guest is, what ends the session)
    ("detach", "stop", "gdb detaches at a breakpoint stop"),
    ("kill", "stop", "gdb's kill at a breakpoint stop"),
    ("gdb-killed", "running", "gdb killed (SIGKILL) while the guest runs"),
    ("dropped", "stop", "the connection dropped at a breakpoint stop"),
    ("sigterm", "running", "SIGTERM to xenstub while the guest runs"),
    ("sigint", "stop", "SIGINT to xenstub at a breakpoint stop"),
    ("sighup", "running", "SIGHUP to xenstub while the guest runs"),
    ("kill9", "stop", "kill -9 of xenstub at a breakpoint stop, then xenstub --recover"),
]


def check_exits(s):
    """Every way out, with points in place (breakpoint always-inserted),
    at a breakpoint stop (every vCPU held) or while the guest runs:
    afterwards xenstub's exit status, then Xen's view: the monitor ring
    free, the frames unrestricted, the guest's own bytes under the int3s,
    the domain not paused and both vCPUs running."""
    res, g = s.res, s.guest
    rare, often, banner, hb, points = exits_setup(s)
    frames = s.gfns_of([rare, often, banner, hb])
    orig = {a: s.xen_read(a, 8) for a in (rare, often)}
    for name, at, text in EXITS:
        if s.only and "exits" not in s.only and name not in s.only:
            continue
        if not s.ensure_guest("exit " + name):
            return
        what = "exit: %s" % text

        def during(p, name=name, at=at):
            """The way out that happens outside gdb, once it is ready."""
            if name in ("detach", "kill"):
                return ""
            if not s.ctl.ready.wait(300):
                return "\n[the scenario never got ready]"
            if at == "running":
                t0 = g.last_tick()[0]
                g.wait(lambda: g.last_tick()[0] >= t0 + 2, 60)
            if name == "gdb-killed":
                os.killpg(p.pid, signal.SIGKILL)  # our own gdb
                return "\n[gdb-killed: gdb got SIGKILL]"
            sig = {"sigterm": "TERM", "sigint": "INT", "sighup": "HUP", "kill9": "KILL"}.get(name)
            if sig:
                rc, out = s.m.sh("kill -%s $(pidof xenstub)" % sig)
            else:  # dropped: the TCP connection to xenstub goes away
                rc, out = s.m.sh("kill $(cat /tmp/nc.pid)")
            # gdb would wait for its remote timeout: end it once xenstub is gone
            s.m.sh("i=0; while pidof xenstub >/dev/null && [ $i -lt 300 ]; do i=$((i+1)); "
                   "sleep 0.2; done")
            time.sleep(2)
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            return "\n[%s sent: %s]" % (name, out.strip())

        pts = points + (["break *%#x" % often] if at == "stop" else [])
        # a dropped connection needs one to drop: xenstub on TCP, bridged
        r, out, xs = s.gdb("exit", how=name, at=at, points=pts, wait=120, during=during,
                           timeout=600, vcpus=g.vcpus,
                           link="tcp" if name in ("gdb-killed", "dropped") else "stdio")
        if at == "stop" and name in ("detach", "kill"):
            stopped = r and r.get("stop", {}).get("bps")
            res.check(r is not None and stopped, "%s: gdb session, stopped at the breakpoint" % what,
                      out)
        elif at == "running":
            # gdb, waiting in its continue, was ended by the driver afterwards
            ran = out.split("ready to leave", 1)[-1]
            res.check("ready to leave" in out and "hit Breakpoint" not in ran and
                      "watchpoint" not in ran.lower() and "[%s" % name in ran,
                      "%s: the guest ran, no point hit, until the way out" % what, out[-3000:])
        status, log = xs
        if name == "kill9":
            st = g.state()
            s.note("exit kill9: xl list after the kill: %s" % st)
            rc, rec = s.m.sh("xenstub --recover xen:%s" % g.name, timeout=180, kill_after=150)
            s.note("xenstub --recover:\n%s" % indent(rec, 20))
            res.check(rc == 0 and "recovered" in rec, "%s: xenstub --recover succeeds" % what, rec)
        else:
            want = {"sigterm": 128 + 15, "sigint": 128 + 2, "sighup": 128 + 1}.get(name, 0)
            res.check(status == want, "%s: xenstub ends with status %d (%s)" % (what, want, status),
                      log[-4000:] + "\n" + out[-3000:])
        gfns = [f for f in frames.values() if f is not None]
        reads = [(frames[a], a & 0xfff, 8) for a in orig if frames.get(a) is not None]
        free, acc, got, st, view = s.xen_view(gfns, reads)
        res.check(free, "%s: the monitor ring is free (a fresh xc_monitor_enable works)" % what,
                  view)
        bad = {h(f): acc.get(f) for f in gfns if acc.get(f) != "rwx"}
        res.check(not bad and len(gfns) == len(frames),
                  "%s: Xen reports the watched and trapped frames unrestricted (rwx)" % what,
                  "%s\n%s" % (bad, view))
        for a, (b0, out0) in orig.items():
            now = got.get((frames.get(a), a & 0xfff))
            res.check(b0 and now == b0,
                      "%s: Xen shows the guest's own bytes under the int3 at %s" % (what, h(a)),
                      "before %s\nafter  %s\n%s" % (b0, now, view))
        s.runs(what, state=st)


def check_kpti(s):
    """The KPTI guest stopped in user mode (CR3 the user half of the pair):
    from that vCPU's thread gdb reads kernel memory, sets a kernel
    breakpoint and a kernel watchpoint, and both hit."""
    res, g = s.res, s.guest
    kpti = g.line("XI-KPTI") or ""
    if not res.check("PTI" in kpti, "kpti: the guest uses page-table isolation (%s)" % kpti):
        return
    fn, jif = g.sym("__x64_sys_clock_nanosleep"), g.sym("jiffies_64")
    r, out, _ = s.gdb("kpti", vcpus=g.vcpus, domid=g.domid, tries=30, slice=3,
                      banner=g.sym("linux_banner"), count=40, wait=120,
                      points=["break *%#x" % fn, "watch *(long *)%#x" % jif])
    if not res.check(r is not None, "kpti: gdb session", out):
        return
    if not res.check("vcpu" in r, "kpti: a stop with a vCPU in user mode (after %d tries)"
                     % r.get("tries", 0), out):
        return
    cr3 = r["cr3"]
    res.check(r["regs"]["cs"] & 3 == 3 and cr3 & (1 << 12),
              "kpti: vCPU %d stopped in user mode (cs %s) with the user page table (cr3 %s, "
              "bit 12 set)" % (r["vcpu"], h(r["regs"]["cs"]), h(cr3)))
    res.check(r["xenctx"].get("cr3") == cr3 and r["xenctx"].get("cs") == r["regs"]["cs"],
              "kpti: xenctx agrees (cr3 %s, cs %s)" % (h(r["xenctx"].get("cr3")),
                                                      h(r["xenctx"].get("cs"))))
    version = g.line("XI-VERSION")
    res.check((r.get("banner") or "").rstrip("\n") == version,
              "kpti: from the user-mode thread gdb reads linux_banner (kernel memory)",
              "read: %r %s" % (r.get("banner"), r.get("banner_error", "")))
    errs = [p for p in r.get("points", []) if p.startswith("error")]
    res.check(len(r.get("points", [])) == 2 and not errs,
              "kpti: a kernel breakpoint and a kernel watchpoint are accepted from that thread",
              "\n".join(r.get("points", [])) + "\n" + out[-3000:])
    hits = r.get("stops", [])
    for i, st in enumerate(hits):
        st.update(watch_values(r["resume_texts"][i] if i < len(r["resume_texts"]) else ""))
    bp = [st for st in hits if st.get("bps") == [1] and st.get("pc") == fn]
    wp = [st for st in hits if st.get("bps") == [2] and st.get("new")]
    res.check(bp and wp, "kpti: both hit (breakpoint %d times, watchpoint %d times)"
              % (len(bp), len(wp)), json.dumps(hits, indent=1)[:4000])
    s.runs("kpti: afterwards")


def check_stack(s):
    """A watchpoint on the idle task's stack page while interrupts arrive:
    each interrupt pushes its frame onto the restricted frame. The guest
    stays alive (Xen does not crash it), the accesses that touch no
    watched byte are let through, and a hit, if any, is a real access."""
    res, g = s.res, s.guest
    stack = g.sym("init_stack")
    since = len(s.m.console())
    # vCPU 0's idle loop runs on init_stack (16 KiB): its frames, and the
    # interrupt frames pushed below them, sit in the top page; a word 3.5
    # KiB below the idle loop's frames is not written
    quiet = stack + 0x3100
    phases = [{"points": ["watch *(long *)%#x" % quiet], "count": 1, "wait": 60, "mem": quiet}]
    r, out, _ = s.gdb("hits", phases=phases, vcpus=g.vcpus, domid=g.domid, after=10)
    if res.check(r is not None, "stack: watch on the idle stack's page: gdb session", out):
        st = (phase_stops(r, 0) or [{}])[0]
        hit = st.get("bps")
        res.check(not hit or (st.get("new") and int(st["new"], 0) == le(st.get("mem"))),
                  "stack: the watch on %s reports no access but a real one (%s)"
                  % (h(quiet), "interrupted" if st.get("interrupted") else
                     "hit: %s -> %s" % (st.get("old"), st.get("new"))),
                  json.dumps(st, indent=1)[:4000])
        stats = r["phases"][0].get("stats", "")
        m = re.search(r"passed through\s+(\d+) events", stats)
        res.check(m and int(m.group(1)) > 0,
                  "stack: accesses to the page that touch no watched byte were let through (%s)"
                  % (m.group(1) if m else "?"), stats)
        res.check(r.get("after", {}).get("interrupted") and not r["after"].get("error"),
                  "stack: after the watch is deleted the guest runs until gdb's interrupt",
                  json.dumps(r.get("after")))
    trouble = s.xen_console_trouble(since)
    res.check(not trouble, "stack: Xen did not crash the guest (no vmentry failure)", trouble or "")
    if not s.guest_alive():
        res.check(False, "stack: the guest is alive after the watch (xl: %s)" % g.state())
        return
    s.runs("stack: after the watch on the idle stack")


def check_frame(s):
    """A write watch on the 40 bytes below the rsp of a vCPU halted in the
    kernel: the interrupt that wakes it pushes its frame (ss, rsp, rflags,
    cs, rip) there before any instruction runs. The stops are the watch's
    hits; the first is said to be made by the CPU delivering an interrupt
    (not by the instruction at rip) and is reported once the delivery is
    done: at an entry point of the IDT, with the frame's saved cs and rip
    (the halted vCPU's) in the watched bytes; the guest lives on."""
    res, g = s.res, s.guest
    handler = g.sym("asm_sysvec_xen_hvm_callback")
    since = len(s.m.console())
    r, out, _ = s.gdb("frame", vcpu=0, vcpus=g.vcpus, domid=g.domid, tries=30, slice=3,
                      len=40, count=2, wait=120, after=10)
    if not res.check(r is not None, "frame: gdb session", out):
        return
    if not res.check("rsp" in r, "frame: vCPU 0 stopped halted in the kernel (after %d tries, "
                     "pc %s)" % (r.get("tries", 0), h(r.get("rip"))), out[-3000:]):
        return
    res.check(not r.get("point", "").startswith("error"),
              "frame: a 40-byte write watch below its rsp (%s) is accepted" % h(r["rsp"]),
              r.get("point", ""))
    texts = resume_texts(out)
    hits = [st for st in r["stops"] if st.get("bps")]
    res.check(len(hits) >= 1 and len(hits) == len(r["stops"]),
              "frame: the stops are the watch's hits (%d of %d)" % (len(hits), len(r["stops"])),
              json.dumps(r["stops"], indent=1)[:4000] + "\n" + out[-3000:])
    # the first hit can only be the delivery (the vCPU was halted); later
    # ones may be the idle loop's own calls writing the stack again
    for k, st in enumerate(hits[:1]):
        text = texts[k] if k < len(texts) else ""
        res.check("accessed by the CPU delivering an interrupt" in text,
                  "frame: hit %d: xenstub says the CPU delivering an interrupt made the "
                  "access" % k, text[-2000:])
        raw = bytes.fromhex(st["mem"]) if re.fullmatch(r"([0-9a-f]{2}){40}", st.get("mem", "")) \
            else b""
        saved_rip = int.from_bytes(raw[:8], "little") if raw else None
        saved_cs = int.from_bytes(raw[8:16], "little") if raw else None
        res.check(saved_rip == r["rip"] and saved_cs is not None and saved_cs & 3 == 0,
                  "frame: hit %d: the watched bytes hold the frame of the halted vCPU "
                  "(saved rip %s, cs %s)" % (k, h(saved_rip), h(saved_cs)),
                  json.dumps(st, indent=1))
        res.check(st.get("pc") == handler,
                  "frame: hit %d: reported once the delivery is done, at the handler's "
                  "entry (pc %s; asm_sysvec_xen_hvm_callback %s: Xen's event channel "
                  "upcall, the one interrupt of a PVH guest without APICv)"
                  % (k, h(st.get("pc")), h(handler)))
    res.check(r.get("after", {}).get("interrupted") and not r["after"].get("error"),
              "frame: after the watch is deleted the guest runs until gdb's interrupt",
              json.dumps(r.get("after")))
    trouble = s.xen_console_trouble(since)
    res.check(not trouble, "frame: Xen did not crash the guest", trouble or "")
    if not s.guest_alive():
        res.check(False, "frame: the guest is alive after the watch (xl: %s)" % g.state())
        return
    s.runs("frame: afterwards")


def check_idt(s):
    """A read watch on the IDT entry of Xen's callback vector: the CPU reads
    the gate at each delivery; each hit is reported at the handler's first
    instruction (the delivery done), with the gate as the value."""
    res, g = s.res, s.guest
    idt, handler = g.sym("idt_table"), g.sym("asm_sysvec_xen_hvm_callback")
    gate = idt + 16 * XEN_CALLBACK_VECTOR
    since = len(s.m.console())
    phases = [{"points": ["rwatch *(long *)%#x" % gate], "count": 2, "wait": 120, "mem": gate,
               "mem_len": 16}]
    r, out, _ = s.gdb("hits", phases=phases, vcpus=g.vcpus, domid=g.domid, after=10)
    what = "idt: rwatch on the gate of vector %#x" % XEN_CALLBACK_VECTOR
    if res.check(r is not None and "error" not in r["phases"][0]["points"][0],
                 "%s: gdb session, the watchpoint is accepted" % what, out):
        stops = phase_stops(r, 0)
        good = [st for st in stops if st.get("bps")]
        res.check(len(good) == 2, "%s: two stops, reported as the watchpoint's hits (%s)"
                  % (what, [(st.get("signal"), st.get("bps")) for st in stops]),
                  json.dumps(stops, indent=1)[:5000])
        for k, st in enumerate(good):
            raw = bytes.fromhex(st["mem"]) if re.fullmatch(r"[0-9a-f]{32}", st.get("mem", "")) \
                else b""
            off = None
            if len(raw) == 16:
                lo, hi = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
                off = (lo & 0xffff) | ((lo >> 48) & 0xffff) << 16 | (hi & 0xffffffff) << 32
            res.check(off == handler, "idt: hit %d: the gate points at "
                      "asm_sysvec_xen_hvm_callback (%s)" % (k, h(off)))
            shown = st.get("value")
            res.check(shown is not None and int(shown, 0) % (1 << 64) == le(st.get("mem", "")[:16]),
                      "idt: hit %d: gdb shows the gate's first 8 bytes (%s)" % (k, shown),
                      st.get("gdb_text", ""))
            res.check(st.get("pc") == handler and st.get("xenctx", {}).get("rip") == handler,
                      "idt: hit %d: reported at the handler's first instruction after the "
                      "delivery (pc %s, xenctx %s)" % (k, h(st.get("pc")),
                                                       h(st.get("xenctx", {}).get("rip"))),
                      json.dumps(st, indent=1)[:3000])
        res.check(r.get("after", {}).get("interrupted") and not r["after"].get("error"),
                  "idt: after the watch is deleted the guest runs until gdb's interrupt",
                  json.dumps(r.get("after")))
    trouble = s.xen_console_trouble(since)
    res.check(not trouble, "idt: Xen did not crash the guest", trouble or "")
    if s.guest_alive():
        s.runs("idt: afterwards")
    else:
        res.check(False, "idt: the guest is alive afterwards (xl: %s)" % g.state())


def check_rate(s):
    """Event-rate figure: a write watch on a byte nobody writes in the
    per-CPU page where preempt_count lives (written all the time), xenstub's
    let-through rate against min-listener's on the same frame. Printed, not
    asserted."""
    res, g = s.res, s.guest
    pco, pc = g.sym("__per_cpu_offset"), g.sym("__preempt_count")
    quiet_syms = [n for n in PERCPU_QUIET if g.sym(n) is not None and g.sym(n) >> 12 == pc >> 12]
    if not quiet_syms:
        res.skip("rate", "no per-CPU variable written once at boot shares __preempt_count's page")
        return
    r0, out0, _ = s.gdb("memread", addrs=[pco], len=8, vcpus=g.vcpus)
    if not res.check(r0 is not None, "rate: __per_cpu_offset[0] read", out0):
        return
    off0 = le(r0["bytes"]["%#x" % pco])
    hot, quiet = off0 + pc, off0 + g.sym(quiet_syms[0])
    s.note("rate: watching %s of CPU 0 (%s), in the page of __preempt_count (%s)"
           % (quiet_syms[0], h(quiet), h(hot)))
    seconds = 3  # of the machine's own time (dom0's uptime): both rates are per emulated second
    r, out, _ = s.gdb("rate", point="watch *(int *)%#x" % quiet, seconds=seconds,
                      vcpus=g.vcpus, v2p=[hot])
    if not res.check(r is not None, "rate: xenstub session", out):
        return
    s.learn_v2p(r.get("v2p"))
    gfn = s.gfns_of([hot])[hot]
    m = re.search(r"passed through\s+(\d+) events, mean handling ([0-9.]+) us", r.get("stats", ""))
    xs_n = int(m.group(1)) if m else 0
    xs_rate = xs_n / r["seconds"]
    rc, mout = s.m.sh("min-listener %d %#x >/tmp/ml.out 2>&1 & p=$!; sleep %d; kill -INT $p; "
                      "wait $p; cat /tmp/ml.out" % (g.domid, gfn, seconds), timeout=seconds + 120)
    mm = re.search(r"events (\d+) seconds ([0-9.]+)", mout)
    ml_rate = int(mm.group(1)) / float(mm.group(2)) if mm else 0
    s.note("rate (per second of the emulated machine): xenstub let through %d accesses in "
           "%.1f s: %.0f events/s (mean handling %s us in xenstub); min-listener %s: "
           "%.0f events/s; ratio %.2f"
           % (xs_n, r["seconds"], xs_rate, m.group(2) if m else "?", mm.group(0) if mm else mout,
              ml_rate, xs_rate / ml_rate if ml_rate else 0))
    res.check(xs_n > 0 and mm, "rate: both listeners saw events (xenstub %d, min-listener %s)"
              % (xs_n, mm.group(1) if mm else "?"), out[-2000:] + "\n" + mout)
    s.runs("rate: afterwards")


# a clock id no caller passes: the false condition's constant
NO_CLOCK = 0x5eed5eed


def check_conditions(s):
    """Breakpoint conditions and dprintf evaluated by xenstub (agent
    expressions) at the int3 hits on the real Xen: a condition that reads
    guest memory through the hit vCPU's registers (the clock id in the
    syscall's pt_regs, *(long *)($rdi + 112)) and is never true lets every
    hit go on without a stop while xenstub counts its evaluations; its
    negation stops at the address; an agent-style dprintf prints the id
    at each hit and never stops. Afterwards the guest's own bytes are back
    and the guest runs."""
    res, g = s.res, s.guest
    fb = g.sym("__x64_sys_clock_nanosleep")
    b0, out0 = s.xen_read(fb, 8)
    arg = "*(long *)($rdi + 112)"
    phases = [{"points": ["set breakpoint condition-evaluation target",
                          "break *%#x if %s == %#x" % (fb, arg, NO_CLOCK)],
               "count": 1, "wait": 40},
              {"points": ["break *%#x if %s != %#x" % (fb, arg, NO_CLOCK)],
               "count": 2, "wait": 120},
              {"points": ["set dprintf-style agent",
                          "dprintf *%#x,\"xs-clock %%ld\\n\", %s" % (fb, arg)],
               "count": 1, "wait": 30}]
    r, out, _ = s.gdb("hits", phases=phases, vcpus=g.vcpus, domid=g.domid)
    if not res.check(r is not None and len(r["phases"]) == 3, "conditions: gdb session", out):
        return
    never, always, dpf = r["phases"]
    res.check(all("error" not in str(p) for ph in r["phases"] for p in ph["points"]),
              "conditions: gdb accepts the conditions (evaluated by the target) and the dprintf",
              json.dumps([ph["points"] for ph in r["phases"]], indent=1))
    m = re.search(r"(\d+) condition evaluations, (\d+) hits resumed at once", never.get("stats", ""))
    stops = phase_stops(r, 0)
    res.check(not any(st.get("bps") for st in stops) and m and int(m.group(1)) > 0 and
              int(m.group(2)) > 0,
              "conditions: a condition never true: no stop in 40 s, while xenstub evaluated it "
              "at %s hits and let them go on" % (m.group(1) if m else "?"),
              never.get("stats", "") + "\n" + json.dumps(stops, indent=1)[:3000])
    stops = phase_stops(r, 1)
    good = [st for st in stops if st.get("bps")]
    res.check(len(good) == 2 and all(st.get("pc") == fb and st.get("xenctx", {}).get("rip") == fb
                                     for st in good),
              "conditions: its negation stops twice at the address, where xenctx shows the vCPU "
              "(%s)" % [h(st.get("pc")) for st in stops], json.dumps(stops, indent=1)[:3000])
    printed = re.findall(r"^xs-clock (-?\d+)$", out, re.M)
    stops = phase_stops(r, 2)
    res.check(printed and not any(st.get("bps") for st in stops) and
              all(int(v) != NO_CLOCK for v in printed),
              "conditions: the agent's dprintf prints the clock id at each hit (%d lines: %s) "
              "and never stops" % (len(printed), sorted(set(printed))[:4]),
              dpf.get("stats", "") + "\n" + out[-3000:])
    b2, out2 = s.xen_read(fb, 8)
    res.check(b0 and b2 == b0,
              "conditions: afterwards Xen shows the guest's own bytes at the address (%s)" % b2,
              "before: %s\nafter: %s" % (out0, out2))
    s.runs("conditions: afterwards")


def check_stepexit(s):
    """A stepi by MTF over an instruction Xen completes in its exit handler
    (cpuid), after which Xen 4.17 raises no MTF exit: at a breakpoint stop
    the code at pc becomes `cpuid; nop; nop` for two steps; the cpuid's
    step must end right after it (xenstub's int3 there ends it), the nop's
    one after the nop; the guest's bytes and registers go back before the
    detach, and it must run on."""
    res, g = s.res, s.guest
    fn = g.sym("__x64_sys_clock_nanosleep")
    b0, out0 = s.xen_read(fn, 4)
    r, out, _ = s.gdb("stepexit", setup=["hbreak *%#x" % fn], vcpus=g.vcpus, domid=g.domid,
                      guest=g.name)
    if not res.check(r is not None and r.get("steps") and r["stop"].get("bps"),
                     "stepexit: gdb session, stopped at the hardware breakpoint", out):
        return
    p = r["pc"]
    for i, st in enumerate(r["steps"]):
        s.note("stepexit: step %d over %s at %s ended at %s (%s), ebx %#x" % (
            i, "cpuid" if i == 0 else "nop", h(st["pc_before"]), h(st.get("pc_after")),
            "+%d" % (st["pc_after"] - st["pc_before"]) if st.get("pc_after") else "?",
            st.get("ebx", 0)))
    first = r["steps"][0]
    res.check(first.get("ebx") == 0x756e6547,
              "stepexit: the stepped cpuid ran (leaf 0: ebx 'Genu')", json.dumps(r["steps"]))
    second = r["steps"][1] if len(r["steps"]) > 1 else {}
    res.check(first.get("pc_after") == p + 2 and second.get("pc_after") == p + 3,
              "stepexit: the stepi over cpuid ends right after it (%s), the next one after the "
              "nop (%s)" % (h(p + 2), h(p + 3)), json.dumps(r["steps"]))
    res.check("ended by an int3 after it: 1 " in r.get("stats", ""),
              "stepexit: monitor stats says the step over cpuid ended at xenstub's int3 after it",
              r.get("stats", ""))
    b2, out2 = s.xen_read(fn, 4)
    res.check(r.get("restored") and b0 and b2 == b0,
              "stepexit: afterwards the guest's own bytes are back (%s) and pc too" % b2,
              "before: %s\nafter: %s" % (out0, out2))
    s.runs("stepexit: afterwards")


# checks run only when named (XEN_INTEL_ONLY)
ON_REQUEST = []

ORDER = [("setup", check_setup), ("attach", check_attach), ("watch", check_watch),
         ("breakpoints", check_breakpoints), ("conditions", check_conditions),
         ("hold", check_hold), ("stepexit", check_stepexit),
         ("many", check_many), ("kpti", check_kpti), ("exits", check_exits),
         ("rate", check_rate), ("stack", check_stack), ("frame", check_frame),
         ("idt", check_idt)]
