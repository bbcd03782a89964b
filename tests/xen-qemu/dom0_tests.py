#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The xen-test checks, run by dom0's /init inside the QEMU VM: creates a PVH
and a PV guest, drives gdb + xenstub against the real Xen and prints PASS,
FAIL and SKIP lines, then "N passed, N failed, N skipped" on the console.
Exit status: 0 when nothing failed.

Each scenario runs in its own gdb (gdbside.py inside it) so that one crash
cannot take the others down; the decisions are made here, from what gdb,
xenctx, xl and the guests' consoles show. Every wait is bounded.
"""

import bisect
import json
import os
import re
import signal
import subprocess
import sys
import time

import hvmload

HERE = os.path.dirname(os.path.abspath(__file__))
GDBSIDE = os.path.join(HERE, "gdbside.py")
XENSTUB = "/usr/local/bin/xenstub"
XENCTX = "/usr/lib/xen-4.17/bin/xenctx"
HVMCTX = "/usr/lib/xen-4.17/bin/xen-hvmctx"
GUEST_DIR = os.path.join(HERE, "guest")
T0 = time.monotonic()

TF = 1 << 8
# xenstub without OS-awareness: what most scenarios need, and faster
PLAIN = "-v --os=none"
# a function every guest runs each second (its init calls hostname)
TICKING_FUNCTION = "__x64_sys_newuname"
# registers compared with xenctx: gdb's name -> xenctx's
COMPARED = dict([(n, n) for n in ("rip", "rsp", "cr3", "rax", "rbx", "rcx", "rdx", "rsi",
                                  "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                                  "r15", "cr0", "cr2", "cr4", "cs", "ss", "ds", "es")] +
                [("eflags", "flags")])
# The guests' kernel command line. A debugger stop pauses the domain, and
# Xen tells a guest nothing of the time it spent paused: after a long stop
# (under emulation, with other emulators on the same cores, a gdb session
# takes minutes) Linux's soft-lockup detector prints "watchdog: BUG: soft
# lockup - CPU#0 stuck for 38s" and RCU reports a stall, for a guest that
# is fine. Those two detectors are off; a guest that really stops getting
# its timer shows in its tick counter (Guest.runs_on).
GUEST_CMDLINE = "console=hvc0 quiet nosoftlockup rcupdate.rcu_cpu_stall_suppress=1"
# what a guest kernel prints when something went wrong in it
# how long a guest may take to print its ready line: 1 to 5 minutes under
# emulation, over 5 with a load average of 12 from other emulators
READY_WAIT = 600
GUEST_TROUBLE = re.compile(r"Kernel panic|BUG:|Oops|WARNING:|general protection|int3: ")


def note(msg):
    print("xen-test: [%4.0fs] %s" % (time.monotonic() - T0, msg), flush=True)


def sh(cmd, timeout=120):
    """Runs a command in its own process group; returns (exit status,
    stdout+stderr). On timeout the group (the command and what it
    started, e.g. gdb and its xenstub) gets SIGTERM, then SIGKILL."""
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    except OSError as e:
        return -1, str(e)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
        return -1, out.decode(errors="replace") + "\n[timed out after %d s]" % timeout


def indent(text, limit=60):
    """Text for a FAIL line: its head and its tail when it is long."""
    lines = str(text).rstrip().splitlines()
    if len(lines) > limit:
        lines = lines[:limit // 3] + ["... (%d lines left out)" % (len(lines) - limit)] + \
            lines[-(limit - limit // 3):]
    return "\n".join("    | " + line for line in lines)


def debug_keys(*keys):
    """Presses Xen's debug keys and returns the lines they added to Xen's
    console ring (read, not cleared: the triple-fault check reads it too)."""
    before = len(sh(["xl", "dmesg"])[1].splitlines())
    for k in keys:
        sh(["xl", "debug-keys", k])
    return sh(["xl", "dmesg"])[1].splitlines()[before:]


class Results:
    """PASS, FAIL and SKIP lines and their counts. Between hold() and
    commit() or drop() the lines of a check are kept back: a check whose
    guest the emulator killed meanwhile counts neither way (see guarded)."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.retried = 0
        self.held = None

    def _emit(self, kind, text):
        if self.held is not None:
            self.held.append((kind, text))
            return
        if kind == "PASS":
            self.passed += 1
        elif kind == "FAIL":
            self.failed += 1
        elif kind == "SKIP":
            self.skipped += 1
        print(text, flush=True)

    def check(self, cond, what, detail=""):
        if cond:
            self._emit("PASS", "PASS %s" % what)
        else:
            self._emit("FAIL", "FAIL %s" % what + ("\n" + indent(detail) if detail else ""))
        return bool(cond)

    def skip(self, what, why):
        self._emit("SKIP", "SKIP %s: %s" % (what, why))

    def hold(self):
        self.held = []

    def commit(self):
        held, self.held = self.held or [], None
        for kind, text in held:
            self._emit(kind, text)

    def drop(self):
        held, self.held = self.held or [], None
        return held


class Guest:
    """A domU of the test: its xl config, its console log, what its init
    printed (XQ-* lines, see guest-init.sh)."""

    def __init__(self, name, gtype, memory, vcpus):
        self.name, self.type, self.memory, self.vcpus = name, gtype, memory, vcpus
        self.log = "/var/log/xen/console/guest-%s.log" % name
        self.domid = None
        # where this incarnation's console starts in the log (xenconsoled
        # appends a new domain of the same name to the same file)
        self.log_start = 0
        self.boots = 0
        self.faults = []  # when each triple fault was seen
        # triple faults Xen had logged when the current check began, and
        # whether the counter has stood since while the guest was alive
        self.faults_seen = 0
        self.stalled_alive = False
        # what shows that the emulator stalled the guest during the current
        # check (lost_wakeup()), or None
        self.lost_wakeup_seen = None
        # the last state_report()'s readings (xenctx of each vCPU, debug
        # keys q and e) and its tasks_report()'s, or None
        self.last_state = None
        self.last_tasks = None

    def create(self):
        """xl create. A domain that shuts down or crashes is kept (not
        restarted by xl) so that its state can be read and the tests see
        it die rather than a stranger with its name."""
        cfg = "/tmp/%s.cfg" % self.name
        with open(cfg, "w") as f:
            f.write('name = "%s"\ntype = "%s"\nkernel = "%s/vmlinuz"\n'
                    'ramdisk = "%s/initrd.gz"\nextra = "%s"\n'
                    'memory = %d\nvcpus = %d\non_crash = "preserve"\n'
                    'on_reboot = "preserve"\non_poweroff = "preserve"\n'
                    % (self.name, self.type, GUEST_DIR, GUEST_DIR, GUEST_CMDLINE,
                       self.memory, self.vcpus))
        try:
            self.log_start = os.path.getsize(self.log)
        except OSError:
            self.log_start = 0
        self.domid = None
        self.boots += 1
        rc, out = sh(["xl", "create", cfg], timeout=240)
        if rc == 0:
            self.refresh_domid()
        return rc, out

    def recreate(self):
        """Destroys this domain and creates the guest again; returns
        whether the new one printed its ready line."""
        old = self.domid
        sh(["xl", "destroy", self.name])
        t = time.monotonic()
        rc, out = self.create()
        if rc != 0:
            note("xl create %s failed again:\n%s" % (self.name, indent(out)))
            return False
        ok = self.wait(self.ready, READY_WAIT)
        note("%s created again as domain %s (was %s) in %.0f s: %s" %
             (self.name, self.domid, old, time.monotonic() - t, "ready" if ok else "not ready"))
        return ok

    def refresh_domid(self):
        """The domain id from xl: it changes when the guest reboots (xl
        restarts it as a new domain)."""
        rc, out = sh(["xl", "domid", self.name])
        if rc == 0 and out.strip().isdigit():
            if self.domid is not None and int(out.strip()) != self.domid:
                note("%s is now domain %s (was %d): it rebooted" %
                     (self.name, out.strip(), self.domid))
            self.domid = int(out.strip())

    def console(self):
        """What this incarnation of the guest printed."""
        try:
            with open(self.log, errors="replace") as f:
                f.seek(self.log_start)
                return f.read().replace("\r", "")
        except OSError:
            return ""

    def triple_faults(self):
        """Xen's lines for each triple fault of this domain so far: the
        "dNvM Triple fault - invoking HVM shutdown action" line and the
        vCPU state Xen prints after it (from `xl dmesg`)."""
        if self.domid is None:
            return []
        rc, out = sh(["xl", "dmesg"])
        # without the lines every HVM context save and load logs
        lines = [line for line in out.splitlines()
                 if not re.search(r"\bHVM ?d?\d+(v\d+)? (save|restore):", line)]
        return [lines[i:i + 30] for i, line in enumerate(lines)
                if re.search(r"\bd%dv\d+ Triple fault" % self.domid, line)]

    def trouble_mark(self):
        """How many panic, BUG, Oops or WARNING lines the console has."""
        return len(GUEST_TROUBLE.findall(self.console()))

    def trouble_note(self, mark, when):
        """Notes each trouble line the console gained since mark, with the
        two lines before it (the counter's last ticks say when)."""
        lines = self.console().splitlines()
        hits = [i for i, line in enumerate(lines) if GUEST_TROUBLE.search(line)]
        if len(hits) > mark:
            note("%s: NEW trouble on its console %s:\n%s" % (self.name, when, indent("\n".join(
                "\n".join(lines[max(0, i - 2):i + 1]) for i in hits[mark:]), 200)))

    def version(self):
        m = re.search(r"^XQ-VERSION (.*)$", self.console(), re.M)
        return m.group(1) if m else None

    def sym(self, name):
        m = re.search(r"^XQ-SYM %s ([0-9a-f]+)$" % re.escape(name), self.console(), re.M)
        return m.group(1) if m else None

    def clock_syms(self):
        """The kallsyms addresses gdbside.clock() reads the guest's clock at."""
        syms = {n: self.sym(n) for n in ("jiffies_64", "__per_cpu_offset", "xen_vcpu")}
        syms["last_value"] = re.findall(r"^XQ-SYM last_value ([0-9a-f]+)$", self.console(), re.M)
        return syms

    def hvm_tsc(self):
        """{vCPU: the TSC in its CPU record} from xen-hvmctx."""
        rc, out = sh([HVMCTX, str(self.domid)])
        tsc, inst = {}, None
        for line in out.splitlines():
            m = re.search(r"type 2 instance (\d+)", line)
            if m:
                inst = int(m.group(1))
            elif line.startswith("Entry "):
                inst = None
            m = re.search(r"\btsc 0x([0-9a-f]+)", line)
            if m and inst is not None:
                tsc[inst] = int(m.group(1), 16)
        return tsc

    def dump_section(self, dump, header):
        """This domain's part of a debug-key dump whose per-domain parts
        begin with "HEADER N:", without Xen's line prefixes."""
        lines, inside = [], False
        for l in dump:
            if header in l:
                inside = re.search(r"domain %d:" % self.domid, l) is not None
            if inside:
                lines.append(re.sub(r"^\(XEN\) \[[ 0-9.]+\] ?", "", l))
        return lines

    def vcpu_snapshot(self):
        """Each vCPU's rip, rsp and rflags (xenctx), Xen's pause counts and
        flags of each, and the local APICs: where the vCPUs stand."""
        out = []
        for v in range(self.vcpus):
            rc, regs, _ = self.xenctx(v, all_regs=False)
            out.append("vCPU %d: rip %s rsp %s rflags %s" % (
                v, h(regs.get("rip", "?")), h(regs.get("rsp", "?")), h(regs.get("flags", "?"))))
        out += [l for l in self.dump_section(debug_keys("q"), "information and callbacks for domain")
                if "VCPU" in l or "pause_" in l]
        out.append(self.lapic_report())
        return "\n".join(out)

    def lapic_report(self):
        """Each vCPU's local APIC as its HVM record has it (xen-hvmctx):
        TPR, PPR, the in-service and requested vectors."""
        rc, out = sh([HVMCTX, str(self.domid)])
        regs, inst = {}, None
        for line in out.splitlines():
            m = re.search(r"type (\d+) instance (\d+)", line)
            if m:
                inst = int(m.group(2)) if m.group(1) == "6" else None
                continue
            if inst is None:
                continue
            for off, val in re.findall(r"0x([0-9a-f]{3}): 0x([0-9a-f]{8})", line):
                regs.setdefault(inst, {})[int(off, 16)] = int(val, 16)
        out = []
        for v in sorted(regs):
            r = regs[v]

            def vectors(base):
                return [i * 32 + b for i in range(8) for b in range(32)
                        if r.get(base + 16 * i, 0) >> b & 1]
            out.append("vCPU %d LAPIC: TPR %#x PPR %#x ISR %s IRR %s TMR %s LVTT %#x" % (
                v, r.get(0x80, 0), r.get(0xa0, 0), [hex(x) for x in vectors(0x100)],
                [hex(x) for x in vectors(0x200)], [hex(x) for x in vectors(0x180)],
                r.get(0x320, 0)))
        return "\n".join(out) if out else "no LAPIC record (xen-hvmctx exit %d)" % rc

    def tasks_report(self):
        """Where the guest's tasks are (xenstub with Linux awareness, read
        only): ps, threads, and the kernel stacks of the counter's shell,
        its children and the console's kthread, their kernel text addresses
        named through dom0's /proc/kallsyms (the same kernel) moved by the
        guest's KASLR offset; and the console ring's indexes."""
        rc, gfn = sh(["xenstore-read", "/local/domain/%d/console/ring-ref" % self.domid])
        r, text = gdb("tasks", target="xen:%d" % self.domid, xs_opts="-v",
                      names=["init", "sh", "sleep", "hostname", "khvcd"], words=48,
                      heads=["swapper", "init", "sleep", "hostname", "sh"],
                      vcpus=self.vcpus, percpu={n: self.sym(n) for n in (
                          "__per_cpu_offset", "call_single_queue", "runqueues")},
                      cons_gfn=int(gfn) if rc == 0 and gfn.strip().isdigit() else None,
                      timeout=240)
        self.last_tasks = r
        if r is None:
            return "the tasks could not be read:\n" + text[-1500:]
        ps = str(r.get("ps")).splitlines()
        out = ["xenstub ps (the first lines and the last):\n" + "\n".join(ps[:8] + ["..."] + ps[-12:]),
               "task heads (thread_info.flags: bit 3 NEED_RESCHED, bit 21 POLLING_NRFLAG; "
               "syscall_work, status, cpu, __state):\n" + "\n".join(
                   "%s: %s" % (k, v) for k, v in sorted(dict(r.get("task_heads") or {}).items()))
               if isinstance(r.get("task_heads"), dict) else "task heads: %s" % r.get("task_heads"),
               "per CPU (call_single_queue's first entry, 0 if empty; the runqueue's lock "
               "and nr_running):\n%s" % (
                   "\n".join("%s: %s" % kv for kv in sorted(r["percpu"].items()))
                   if isinstance(r.get("percpu"), dict) else r.get("percpu")),
               "gdb threads:\n" + str(r.get("threads"))[-2500:]]
        ring = r.get("cons_ring")
        if isinstance(ring, list):
            out.append("console ring (gfn %s): in_cons %d in_prod %d out_cons %d out_prod %d "
                       "(out: %d bytes unread by xenconsoled of 2048)" % (
                           gfn.strip(), ring[0], ring[1], ring[2], ring[3],
                           (ring[3] - ring[2]) & 0xffffffff))
        else:
            out.append("console ring: %s" % ring)
        names = kallsyms_namer(self.sym("_text"))
        for st in r.get("stacks", []):
            if "error" in st:
                out.append("thread %s %s: %s" % (st["thread"], st["name"], st["error"]))
                continue
            out.append("thread %s %s: pc %s sp %#x" % (st["thread"], st["name"],
                                                     names(st["pc"]), st["sp"]))
            out.append("  stack text: " + " ".join(
                names(w) for w in st["words"] if (w >> 32) == 0xffffffff and names(w)[0] != "0"))
        return "\n".join(out)

    def clock_report(self):
        """The guest's clock against Xen's, for a guest whose counter
        stopped: Xen's uptime, TSC mode and vCPU timers (debug keys s and
        a), each vCPU's TSC (its HVM CPU record), and what a read-only
        xenstub session reads in the guest: jiffies, pvclock's last_value
        and each vCPU's pvclock fields, with the time the pvclock gives at
        that vCPU's TSC (seconds)."""
        out = []
        dump = debug_keys("s", "a")
        out.append("xl debug-keys s a (TSC mode; timers: ex= is microseconds from now):\n" +
                   "\n".join(l for l in dump if re.search(
                       r"TSC|dom\d|emulated|CPU\d+:|singleshot|periodic", l)))
        tsc = self.hvm_tsc()
        r, text = gdb("clock", target="xen:%d" % self.domid, xs_opts=PLAIN, vcpus=self.vcpus,
                      syms=self.clock_syms(), timeout=240)
        tsc2 = self.hvm_tsc()
        out.append("vCPU TSCs (xen-hvmctx) before and after reading: %s %s" % (
            {v: h(t) for v, t in tsc.items()}, {v: h(t) for v, t in tsc2.items()}))
        if r is None:
            out.append("the clock could not be read:\n" + text[-1500:])
            return "\n".join(out)
        out.append(describe_clock(r["clock"], tsc))
        return "\n".join(out)

    def ready(self):
        return "XQ-READY" in self.console()

    def ticks(self):
        """[(n, hostname)] of every XQ-TICK line so far."""
        return [(int(n), h) for n, h in
                re.findall(r"^XQ-TICK (\d+) (\S+)", self.console(), re.M)]

    def last_tick(self):
        t = self.ticks()
        return t[-1][0] if t else 0

    @staticmethod
    def wait(pred, timeout):
        """Polls pred() until true or timeout seconds; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v or time.monotonic() >= deadline:
                return v
            time.sleep(0.5)

    def state(self):
        rc, out = sh(["xl", "list", self.name])
        for line in out.splitlines():
            f = line.split()
            if f and f[0] == self.name and len(f) >= 5:
                return f[4]
        return "?(%s)" % out.strip()

    def xenctx(self, vcpu, all_regs=True):
        """(exit status, {register: value}, text) from Debian's xenctx."""
        rc, out = sh([XENCTX] + (["-a"] if all_regs else []) + [str(self.domid), str(vcpu)])
        regs = {}
        for n, x in re.findall(r"\b([a-z][a-z0-9_]*):\s*([0-9a-f]{4,16})\b", out):
            regs.setdefault(n, int(x, 16))
        return rc, regs, out

    def runs_on(self, res, what, extra_ticks=2, timeout=60):
        """Checks the guest runs: not paused in Xen, its counter moves."""
        st = self.state()
        res.check("p" not in st and "c" not in st and not st.startswith("?"),
                  "%s: xl list shows it running, not paused (%s)" % (what, st),
                  sh(["xl", "list"])[1])
        t0 = self.last_tick()
        ok = self.wait(lambda: self.last_tick() >= t0 + extra_ticks, timeout)
        details = self.console()[-1500:]
        if not ok and not self.triple_faults()[self.faults_seen:]:
            # the counter stood while the guest was alive: a triple fault
            # that comes after it is not the emulator's alone (guarded)
            self.stalled_alive = True
        if not ok:
            # the whole report as a note: the failure text keeps only a head
            # and a tail
            details = self.stall_report(t0) + "\n" + self.console()[-300:]
        res.check(ok, "%s: its console counter moves (%d -> %d)" %
                  (what, t0, self.last_tick()), details)
        return ok

    def stall_report(self, t0):
        """What Xen and the guest say of a guest whose counter stands still
        (state_report); whether it bears the emulator's mark of a lost
        wakeup (lost_wakeup(), kept in lost_wakeup_seen); if not, whether
        the counter moves again within two more minutes (a stall, or a
        guest that is gone)."""
        out = [self.state_report()]
        self.lost_wakeup_seen = self.lost_wakeup()
        note("%s: %s" % (self.name, "the emulator's doing: " + self.lost_wakeup_seen
                         if self.lost_wakeup_seen else "no vCPU shows the mark of a wakeup "
                         "lost to a dropped STI shadow (see Guest.lost_wakeup())"))
        if self.lost_wakeup_seen:
            # known: no two minutes spent on it
            out.append("the emulator's mark of a lost wakeup: not waited for")
            later = True
        else:
            later = self.wait(lambda: self.last_tick() > t0, 120)
            out.append("two minutes later the counter %s (%d)" %
                       ("moved again" if later else "still stands", self.last_tick()))
        if not later:
            out.append(self.clock_report())
        # whole, as a note: a FAIL line keeps only a head and a tail
        note("%s: the stall report:\n%s" % (self.name, indent("\n".join(out), 2000)))
        return "\n".join(out)

    def state_report(self):
        """Each vCPU's registers, Xen's domain and event-channel dumps, the
        local APICs, the guest's clock and where its tasks are."""
        out = []
        ctxs = {}
        for v in range(self.vcpus):
            rc, regs, text = ctxs[v] = self.xenctx(v, all_regs=False)
            out.append("xenctx vCPU %d (exit %d):\n%s" % (v, rc, text.strip()))
        dump = debug_keys("q", "e")
        self.last_state = {"xenctx": ctxs, "dump": dump}
        out.append("xl debug-keys q:\n" + "\n".join(
            l for l in dump
            if "d%d" % self.domid in l or "Dom%d" % self.domid in l
            or "VCPU" in l or "pending" in l or "pause_" in l)[-2500:])
        out.append("xl debug-keys e (this domain's ports: [pending/masked/linked], "
                   "s=state n=vCPU, v=VIRQ):\n" + "\n".join(
                       self.dump_section(dump, "Event channel information for domain")[:80]))
        out.append(self.lapic_report())
        out.append(self.clock_report())
        out.append(self.tasks_report())
        return "\n".join(out)

    def lost_wakeup(self):
        """Whether a stalled guest bears the mark of QEMU's SVM dropping the
        STI interrupt shadow: helper_vmrun() does not load the VMCB's
        int_state, so a vCPU that left the guest right after the idle loop's
        `sti` (host interrupt, pause) re-enters without it, and an interrupt
        Xen held back for the shadow is taken before the `hlt`. When that
        interrupt is the wakeup of a task for that CPU, the vCPU halts with
        the task queued. The mark: a vCPU blocked in Xen right after
        `sti; hlt` with interrupts on, whose idle task has TIF_NEED_RESCHED
        and whose runqueue holds a task (as the last state_report() read
        them). Returns what shows it, or None."""
        r, st = self.last_tasks or {}, self.last_state
        heads, percpu = r.get("task_heads"), r.get("percpu")
        if not st or not isinstance(heads, dict) or not isinstance(percpu, dict):
            return None
        # debug key q's part of the dump, before e's
        dump = st["dump"]
        end = next((i for i, l in enumerate(dump) if "Event channel information" in l), len(dump))
        blocked, v = {}, None
        for l in self.dump_section(dump[:end], "information and callbacks for domain"):
            m = re.search(r"VCPU(\d+):", l)
            if m:
                v = int(m.group(1))
            m = re.search(r"pause_flags=([0-9a-f]+)", l)
            if m and v is not None and "VCPU" not in l:
                # _VPF_blocked is bit 0
                blocked[v] = int(m.group(1), 16) & 1
        for v in range(self.vcpus):
            rc, regs, text = st["xenctx"][v]
            m = re.search(r"Code \(instr addr ([0-9a-f]+)\)\s*\n\s*([0-9a-f<> ]+)", text)
            head = next((h for k, h in heads.items() if k.endswith("[swapper/%d]" % v)), "")
            cpu = percpu.get("cpu%d" % v)
            if not (m and " fb f4 <" in " " + m.group(2) and regs.get("flags", 0) & 0x200
                    and blocked.get(v) and len(head) >= 2 and int(head[:2], 16) & 0x08
                    and isinstance(cpu, dict) and cpu.get("rq.nr_running", 0) >= 1):
                continue
            return ("vCPU %d is blocked in Xen right after `sti; hlt` (rip %s, "
                    "interrupts on) while its idle task has TIF_NEED_RESCHED and its runqueue "
                    "holds %d task%s: a wakeup's interrupt was taken between sti and hlt, which the "
                    "STI shadow forbids. QEMU's SVM drops the shadow when it re-enters the guest "
                    "(helper_vmrun() does not load the VMCB's int_state)" % (
                        v, m.group(1), cpu["rq.nr_running"],
                        "" if cpu["rq.nr_running"] == 1 else "s"))
        return None


def kallsyms_namer(guest_text):
    """A function naming a guest kernel address as symbol+offset, from
    dom0's /proc/kallsyms (dom0 runs the guests' kernel) moved by the
    guest's KASLR offset (guest_text: its _text, hex); the bare address
    when it cannot."""
    syms = []
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                a, t, n = line.split()[:3]
                if t in "tTwW":
                    syms.append((int(a, 16), n))
    except OSError:
        pass
    syms.sort()
    text = [a for a, n in syms if n == "_text"]
    delta = int(guest_text, 16) - text[0] if guest_text and text and text[0] else None
    keys = [a for a, _ in syms]

    def name(addr):
        if delta is None or not keys:
            return "%#x" % addr
        i = bisect.bisect_right(keys, addr - delta) - 1
        if i < 0 or addr - delta - keys[i] > 0x10000:
            return "%#x" % addr
        return "%s+%#x" % (syms[i][1], addr - delta - keys[i])
    return name


def pvclock(vi, tsc):
    """The time (ns) Xen's pvclock fields vi give at guest TSC tsc, as
    Linux's __pvclock_read_cycles computes it (a TSC behind the timestamp
    wraps, as it does there)."""
    delta = (tsc - vi["tsc_timestamp"]) & ((1 << 64) - 1)
    delta = delta << vi["shift"] if vi["shift"] >= 0 else delta >> -vi["shift"]
    delta &= (1 << 64) - 1
    return (vi["system_time"] + ((delta * vi["mul"]) >> 32)) & ((1 << 64) - 1)


def describe_clock(clk, tsc):
    """One line per item of gdbside.clock()'s reading, times in seconds."""
    lines = []
    for k in sorted(clk):
        v = clk[k]
        if isinstance(v, dict) and "system_time" in v:
            line = "%s: vcpu_info %s upcall_pending %d mask %d sel %#x version %d tsc_timestamp %#x " \
                   "system_time %.6f s mul %#x shift %d flags %#x" % (
                       k, v["addr"], v["upcall_pending"], v["upcall_mask"], v["pending_sel"],
                       v["version"], v["tsc_timestamp"], v["system_time"] / 1e9, v["mul"],
                       v["shift"], v["flags"])
            t = tsc.get(int(k[4:]))
            if t is not None:
                line += "; its TSC %#x is %s the timestamp, pvclock %.6f s" % (
                    t, "BEHIND" if t < v["tsc_timestamp"] else "past", pvclock(v, t) / 1e9)
            lines.append(line)
        elif isinstance(v, int):
            lines.append("%s: %d (%#x)%s" % (k, v, v, " = %.6f s" % (v / 1e9)
                                              if k.startswith("last_value") else ""))
        else:
            lines.append("%s: %s" % (k, v))
    return "\n".join(lines)


def gdb(scenario, timeout=240, **args):
    """Runs one gdbside.py scenario in a new gdb; returns (result dict or
    None, everything gdb and xenstub printed)."""
    # Under emulation xenstub may take longer than gdb's default 2 s to
    # answer a packet: gdb would send it again and pair every later reply
    # with the wrong request.
    cmd = ["gdb", "-q", "-n", "-batch", "-ex", "set pagination off",
           "-ex", "set confirm off", "-ex", "set width 0",
           "-ex", "set remotetimeout 120", "-x", GDBSIDE,
           "-ex", "python run(%r, %r)" % (scenario, json.dumps(args))]
    t = time.monotonic()
    rc, out = sh(cmd, timeout=timeout)
    note("gdb %s on %s: %.0f s" % (scenario, args.get("target"), time.monotonic() - t))
    res = None
    lines = []
    for line in out.splitlines():
        if line.startswith("XQ-RESULT "):
            try:
                res = json.loads(line[len("XQ-RESULT "):])
                continue
            except ValueError:
                pass
        lines.append(line)
    out = "\n".join(lines)
    if res is None:
        out += "\n[gdb exit status %d, no result line]" % rc
    elif not res.get("ok"):
        out += "\n" + res.get("traceback", "")
        res = None
    return res, out


def h(v):
    return "%#x" % v if isinstance(v, int) else str(v)


def running(comm):
    """Pids of the processes named comm."""
    pids = []
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/comm" % p) as f:
                if p.isdigit() and f.read().strip() == comm:
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def phase_text(out, i):
    """What gdb and xenstub printed during phase i of a points scenario."""
    m = re.search(r"phase %d begins\n(.*?)(XQ-NOTE \[[ 0-9.]+s\] phase %d begins|\Z)"
                  % (i, i + 1), out, re.S)
    return m.group(1) if m else ""


def wanted(kind, *names):
    """Whether guest kind (pvh, pv) with one of the checks named is asked
    for: every check but those in ON_REQUEST when XQ_ONLY (run.py --only)
    is empty; else the checks it names, and every check but those in
    ON_REQUEST of a guest it names."""
    only = [w for w in os.environ.get("XQ_ONLY", "").split(",") if w]
    if not only:
        return any(n not in ON_REQUEST for n in names)
    return any(n in only or (kind in only and n not in ON_REQUEST) for n in names)


# ---- the checks ----

def check_setup(res):
    rc, out = sh(["ldd", XENSTUB])
    res.check(rc == 0 and "not found" not in out,
              "xenstub's shared libraries resolve in dom0 (ldd)", out)
    rc, out = sh(["xl", "info"])
    caps = re.search(r"^virt_caps\s*:\s*(.*)$", out, re.M)
    note("xl info virt_caps: %s" % (caps.group(1) if caps else "?"))
    res.check(rc == 0 and caps and "hvm" in caps.group(1) and "hap" in caps.group(1),
              "Xen offers HVM with HAP (virt_caps has hvm and hap)", out)


def check_attach(res, g, targets):
    """With the domain paused by xl: xenctx reads each vCPU, then xenstub
    attaches by each target form and must show the same rip, rsp and cr3,
    and the kernel's linux_banner equal to the guest's /proc/version."""
    banner, version = g.sym("linux_banner"), g.version()
    res.check(banner and version,
              "%s: the guest printed linux_banner's address and /proc/version" % g.name,
              g.console()[-2000:])
    rc, out = sh(["xl", "pause", g.name])
    if not res.check(rc == 0, "%s: xl pause" % g.name, out):
        return
    try:
        ctx = {}
        for v in range(g.vcpus):
            rc, regs, out = g.xenctx(v)
            ctx[v] = regs
            if v == 0:
                note("xenctx -a %d 0 (%s):\n%s" % (g.domid, g.name, indent(out, 100)))
            res.check(rc == 0 and "rip" in regs, "%s: xenctx reads vCPU %d" % (g.name, v), out)
        for i, target in enumerate(targets):
            what = "%s via %s" % (g.name, target)
            opts = "-v" if i == 0 else PLAIN
            if target.startswith("--read-only "):
                opts += " --read-only"
                target = target.split()[1]
            r, out = gdb("inspect", target=target, vcpus=g.vcpus, banner=banner,
                         monitor_sym=(i == 0), xs_opts=opts, regs=sorted(COMPARED))
            if not res.check(r is not None, "%s: gdb attaches" % what, out):
                continue
            vcpus = sorted(t[1] for t in r["threads"] if t[1] < g.vcpus)
            res.check(vcpus == list(range(g.vcpus)),
                      "%s: gdb shows a thread for each vCPU (%s)" % (what, vcpus),
                      json.dumps(r["threads"]))
            for v in range(g.vcpus):
                ours = {n: r["regs"].get(str(v), {}).get(n) for n in COMPARED}
                theirs = {n: ctx.get(v, {}).get(x) for n, x in COMPARED.items()}
                bad = ["%s: xenstub %s, xenctx %s" % (n, h(ours[n]), h(theirs[n]))
                       for n in sorted(ours) if ours[n] != theirs[n]]
                res.check(not bad, "%s: vCPU %d: rip %s, rsp %s, cr3 %s and %d more registers "
                          "as xenctx prints them" % (what, v, h(ours["rip"]), h(ours["rsp"]),
                                                     h(ours["cr3"]), len(ours) - 3),
                          "\n".join(bad))
            if banner and version:
                # the banner ends with a newline; the console line does not
                res.check((r.get("banner") or "").rstrip("\n") == version,
                          "%s: linux_banner in guest memory equals the guest's /proc/version" % what,
                          "memory:        %r\n/proc/version: %r" % (r.get("banner"), version))
            if i == 0:
                ms = r.get("monitor_sym", "")
                note("monitor sym linux_banner: %s" % ms.strip())
                if banner and re.search(r"0x0*%s\b" % banner.lstrip("0"), ms.lower()):
                    res.check(True, "%s: monitor sym linux_banner gives the kallsyms address" % what)
                elif "unknown" in ms.lower() or "no os" in ms.lower() or ms.startswith("error"):
                    res.skip("%s: monitor sym linux_banner" % what,
                             "no Linux symbol lookup: %s" % ms.strip()[:200])
                else:
                    res.check(False, "%s: monitor sym linux_banner gives the kallsyms address" % what,
                              "monitor: %s\nkallsyms: %s" % (ms, banner))
        st = g.state()
        res.check("p" in st, "%s: still paused after xenstub detached: it undoes only its own pause (%s)"
                  % (g.name, st))
    finally:
        sh(["xl", "unpause", g.name])
    # a stall that starts here is this check's (and the emulator's mark is
    # looked for), not the next one's
    g.runs_on(res, "%s: after xl unpause" % g.name)


def check_modify(res, g, reg, value):
    """A register written and read back (gdb and xenctx), then restored; a
    byte of the guest's host name (in init_uts_ns) written, read back by a
    new xenstub, and seen by the guest itself."""
    uts = g.sym("init_uts_ns")
    if not res.check(uts, "%s: the guest printed init_uts_ns's address" % g.name,
                     g.console()[-1500:]):
        return
    # the host name's last letter goes from a to b (or back, when the
    # checks run again on the same guest)
    ticks = g.ticks()
    host = ticks[-1][1] if ticks else "xq-scratch-a"
    old, new = host[-1], "a" if host.endswith("b") else "b"
    r, out = gdb("modify", target="xen:%s" % g.name, xs_opts=PLAIN, domid=g.domid,
                 reg=reg, value="%x" % value, addr=uts, find=host,
                 index=len(host) - 1, new=new)
    if not res.check(r is not None, "%s: register and memory writes: gdb session" % g.name, out):
        return
    what = "%s: write %s" % (g.name, reg)
    res.check(r["gdb_after_write"] == value,
              "%s: gdb reads back the value written (%s)" % (what, h(value)),
              "read %s" % h(r["gdb_after_write"]))
    res.check(r["xenctx_after_write"]["regs"].get(reg) == value,
              "%s: xenctx sees the value written" % what, r["xenctx_after_write"]["text"])
    res.check(r["gdb_after_restore"] == r["orig"] and
              r["xenctx_after_restore"]["regs"].get(reg) == r["orig"],
              "%s: the guest's value is back (%s)" % (what, h(r["orig"])),
              "gdb %s, xenctx %s" % (h(r["gdb_after_restore"]),
                                     h(r["xenctx_after_restore"]["regs"].get(reg))))
    what = "%s: memory write" % g.name
    if not res.check(r["offset"] >= 0, "%s: the host name string is in init_uts_ns" % what, out):
        return
    res.check(r["before"] == old.encode().hex() and r["after"] == new.encode().hex(),
              "%s: gdb reads back the byte written at %s" % (what, r["where"]),
              "before %s after %s" % (r["before"], r["after"]))
    r2, out2 = gdb("memread", target="xen:%d" % g.domid, xs_opts=PLAIN, addr=r["where"], len=1)
    res.check(r2 is not None and r2["bytes"] == new.encode().hex(),
              "%s: a new xenstub (fresh mappings) reads the byte written" % what, out2)
    n = len(ticks)
    # a guest that stopped ticking gets the stall report (and the
    # emulator's mark is looked for) rather than a hostname check
    if not g.runs_on(res, "%s: after the writes" % g.name):
        return
    ok = g.wait(lambda: any(name == host[:-1] + new for _, name in g.ticks()[n:]), 60)
    res.check(ok, "%s: the guest's own hostname shows the change" % what, g.console()[-1000:])


def check_interrupt(res, g):
    what = "%s: continue + interrupt" % g.name
    r, out = gdb("interrupt", target="xen:%s" % g.name, xs_opts=PLAIN, log=g.log,
                 name=g.name, min_ticks=2, wait=90)
    if not res.check(r is not None, "%s: gdb session" % what, out):
        return
    res.check("p" in r["state_attached"],
              "%s: attaching pauses the domain (xl: %s)" % (what, r["state_attached"]))
    moved = r.get("ticks_before_interrupt", 0) - r["ticks_at_continue"]
    res.check(moved >= 2, "%s: the guest runs after continue (counter +%d)" % (what, moved),
              g.console()[-1000:])
    res.check(r["stop_signal"] == "SIGINT" and not r["error"],
              "%s: gdb's interrupt stops it with SIGINT" % what,
              "signal %s error %s\n%s" % (r["stop_signal"], r["error"], out))
    res.check("p" in r["state_stopped"],
              "%s: stopped means paused in Xen (xl: %s)" % (what, r["state_stopped"]))
    g.runs_on(res, "%s: after detach" % g.name)


def check_step(res, g, count=6):
    what = "%s: stepi" % g.name
    rc, before, _ = g.xenctx(0, all_regs=False)
    r, out = gdb("step", target="xen:%s" % g.name, xs_opts="-v --os=none --log=trap",
                 count=count, domid=g.domid)
    note("stepi session:\n%s" % indent(out, 80))
    if not res.check(r is not None, "%s: gdb session" % what, out):
        return
    steps = r["steps"]
    if steps and "xenctx_dr6" in steps[0]:
        note("DR6 in Xen's HVM context at the first step stop (xenctx): %s"
             % h(steps[0]["xenctx_dr6"]))
    # gdb reports the end of a stepi as a plain stop (no signal event)
    bad = [s for s in steps if s["error"] or s["signal"] not in ("no signal", "SIGTRAP")]
    res.check(len(steps) == count and not bad,
              "%s: %d steps, each ending in a stop" % (what, count),
              json.dumps(steps, indent=1))
    # a step of a REP string instruction that is not its last iteration
    # (the trap flag traps after each one) stays at it with rcx one less
    def rep_iteration(s):
        return (re.search(r"\trep\w*\s", s["insn"]) is not None and
                s.get("pc_after") == s["pc_before"] and
                s.get("rcx_after") == (s.get("rcx_before", 0) - 1) & ((1 << 64) - 1))
    pcs = [s["pc_before"] for s in steps] + [steps[-1].get("pc_after", 0)]
    moved = sum(1 for s, a, b in zip(steps, pcs, pcs[1:]) if a != b or rep_iteration(s))
    res.check(moved == count, "%s: the program counter moves at each step, or rcx at each "
              "iteration of a REP string instruction (%s)" %
              (what, " ".join(h(p) for p in pcs)), json.dumps(steps, indent=1))
    # an instruction that does not branch must end at the next one
    plain = [s for s in steps if s.get("fallthrough") and "pc_after" in s and not
             re.search(r"\t(j\w+|call\w*|ret\w*|iret\w*|hlt|loop\w*|syscall|sysret\w*|int\w*|ud2)\b",
                       s["insn"])]
    wrong = ["%s: ended at %s, not %s" % (s["insn"], h(s["pc_after"]), h(s["fallthrough"]))
             for s in plain if s["pc_after"] != s["fallthrough"] and not rep_iteration(s)]
    res.check(plain and not wrong,
              "%s: each of the %d steps over a non-branching instruction ends at the next instruction"
              % (what, len(plain)), "\n".join(wrong) or json.dumps(steps, indent=1))
    res.check(all("eflags_after" in s and not s["eflags_after"] & TF for s in steps),
              "%s: gdb never sees the trap flag xenstub steps with" % what,
              " ".join(h(s.get("eflags_after")) for s in steps))
    stats = r.get("stats", "")
    note("monitor stats after stepping:\n%s" % indent(stats))
    res.check("EFLAGS.TF" in stats,
              "%s: without Intel MTF, stepping uses EFLAGS.TF and debug-exception events" % what,
              stats)
    rc, after, _ = g.xenctx(0, all_regs=False)
    fb, fa = before.get("flags"), after.get("flags")
    res.check(fa is not None and not (fa & TF and not (fb or 0) & TF),
              "%s: after detach the guest's RFLAGS has no TF it did not have (%s -> %s)"
              % (what, h(fb), h(fa)))
    g.runs_on(res, "%s: after detach" % what)


def check_debug_registers(res, g):
    """Watchpoints and hardware breakpoints where Xen has no mem_access:
    xenstub says why and falls back to debug registers; rwatch is refused;
    the session goes on and the guest gets its debug registers back. Also a
    second attach that needs the monitor ring (the first one freed it)."""
    uts, fn = g.sym("init_uts_ns"), g.sym(TICKING_FUNCTION)
    if not res.check(uts and fn, "%s: the guest printed init_uts_ns and %s" % (g.name, TICKING_FUNCTION),
                     g.console()[-1500:]):
        return
    rc, before, _ = g.xenctx(0)
    phases = [
        {"points": ["awatch *(char *)0x%s" % uts], "resume": "continue"},
        {"points": ["hbreak *0x%s" % fn], "resume": "continue"},
        {"points": ["rwatch *(char *)0x%s" % uts], "resume": "continue"},
    ]
    r, out = gdb("points", target="xen:%s" % g.name, xs_opts=PLAIN, phases=phases,
                 log=g.log, min_ticks=2, wait=60, probe_domid=g.domid, timeout=400)
    note("watchpoint session:\n%s" % indent(out, 80))
    what = "%s: awatch, hbreak, rwatch" % g.name
    if not res.check(r is not None and len(r["phases"]) == 3, "%s: gdb session" % what, out):
        return
    low = out.lower()
    res.check("already has a monitor ring" not in low and "ebusy" not in low,
              "%s: a new attach gets the monitor ring (freed by the previous ones)" % g.name, out)
    text0 = phase_text(out, 0)
    res.check("mem_access" in text0 and "VT-x with EPT" in text0,
              "%s: xenstub says why there are no mem_access traps (Intel VT-x with EPT)" % what, out)
    for i, name, ok_reason, addr, rw in ((0, "awatch", "watchpoint", uts, 3),
                                         (1, "hbreak", "breakpoint", fn, 0)):
        ph, text = r["phases"][i], phase_text(out, i)
        sig = ph["stop_signal"]
        dr = ph.get("xenctx_while_running", {})
        slot = [n for n in range(4) if dr.get("dr%d" % n) == int(addr, 16)]
        dr7 = dr.get("dr7", 0)
        res.check(sig == "SIGTRAP" or
                  (slot and dr7 & (3 << 2 * slot[0]) and (dr7 >> (16 + 4 * slot[0])) & 3 == rw),
                  "%s: %s: while the guest runs, xenctx shows a debug register on %s "
                  "enabled in DR7 for %s" % (g.name, name, addr,
                                             "reads and writes" if rw == 3 else "execution"),
                  "debug registers: %s" % {k: h(v) for k, v in dr.items() if k.startswith("dr")})
        if sig == "SIGTRAP":
            res.check(ok_reason in text.lower(),
                      "%s: %s on debug registers stops the guest where asked" % (g.name, name),
                      text)
        else:
            res.check(sig == "SIGINT" and not ph["error"],
                      "%s: %s on debug registers: the guest runs (QEMU 7.2's SVM raises no #DB "
                      "for them) and gdb's interrupt stops it" % (g.name, name),
                      json.dumps(ph, indent=1))
        res.check("pc_after" in ph and "delete_error" not in ph,
                  "%s: %s: the session goes on after it" % (g.name, name), json.dumps(ph, indent=1))
    ph, text = r["phases"][2], phase_text(out, 2)
    res.check(ph["error"] and "rwatch" in text and "mem_access" in text,
              "%s: rwatch is refused with the reason (no mem_access; debug registers cannot trap reads alone)"
              % g.name, json.dumps(ph, indent=1) + "\n" + out)
    res.check("pc_after" in ph, "%s: rwatch: the session goes on after it" % g.name,
              json.dumps(ph, indent=1))
    rc, after, text = g.xenctx(0)
    dr = [n for n in ("dr0", "dr1", "dr2", "dr3", "dr6", "dr7") if n in before]
    changed = ["%s %s -> %s" % (n, h(before[n]), h(after.get(n))) for n in dr
               if before[n] != after.get(n)]
    if dr:
        res.check(not changed, "%s: after detach the guest has its own debug registers back (%s)"
                  % (g.name, ", ".join("%s %s" % (n, h(after.get(n))) for n in dr)),
                  "\n".join(changed))
    else:
        res.skip("%s: debug registers given back" % g.name, "xenctx prints no debug registers")
    g.runs_on(res, "%s: after the watchpoint session" % g.name)


def check_kill9_recover(res, g):
    """xenstub killed with SIGKILL at a stop, then `xenstub --recover`: the
    guest runs again and a new xenstub attaches (the ring is free)."""
    what = "%s: kill -9 at a step stop, then --recover" % g.name
    trouble = g.trouble_mark()
    r, out = gdb("kill9", target="xen:%s" % g.name, xs_opts=PLAIN)
    note("kill -9 session:\n%s" % indent(out, 60))
    g.trouble_note(trouble, "during the kill -9 session")
    if not res.check(r is not None and r["killed"], "%s: gdb session, xenstub killed" % what, out):
        return
    st = g.state()
    res.check("p" in st, "%s: the dead xenstub left the domain paused (xl: %s)" % (what, st))
    note("before --recover:\n%s" % indent(g.vcpu_snapshot(), 60))
    trouble = g.trouble_mark()
    rc, rec = sh([XENSTUB, "-v", "--recover", "xen:%s" % g.name])
    note("xenstub -v --recover:\n%s" % indent(rec, 60))
    note("right after --recover:\n%s" % indent(g.vcpu_snapshot(), 60))
    time.sleep(3)
    g.trouble_note(trouble, "within 3 s of --recover")
    res.check(rc == 0 and "recovered" in rec, "%s: xenstub --recover succeeds" % what, rec)
    # the step's trap flag (EFLAGS.TF on AMD) goes with the held vCPU's
    # release, not through a whole HVM context load (every vCPU's state,
    # on AMD 4.17 with a stale CR2)
    res.check("trap flag given back with its release" in rec,
              "%s: the trap flag goes back with the vCPU's release" % what, rec)
    g.runs_on(res, what)
    r2, out2 = gdb("memread", target="xen:%d" % g.domid, xs_opts=PLAIN, addr=g.sym("init_uts_ns") or 0, len=1)
    res.check(r2 is not None, "%s: a new xenstub attaches afterwards" % what, out2)


def check_pv_refusals(res, g):
    """A PV guest has no monitor events: stepi and break are refused with
    the reason, nothing is written into the guest, the guest runs on."""
    fn = g.sym(TICKING_FUNCTION)
    if not res.check(fn, "%s: the guest printed %s's address" % (g.name, TICKING_FUNCTION),
                     g.console()[-1500:]):
        return
    r0, out0 = gdb("memread", target="xen:%s" % g.name, xs_opts=PLAIN, addr=fn, len=4)
    phases = [{"points": [], "resume": "stepi"},
              {"points": ["break *0x%s" % fn], "resume": "continue"}]
    r, out = gdb("points", target="xen:%s" % g.name, xs_opts=PLAIN, phases=phases,
                 log=g.log, min_ticks=3, wait=30)
    note("PV refusals session:\n%s" % indent(out, 60))
    if not res.check(r is not None and len(r["phases"]) == 2, "%s: stepi, break: gdb session"
                     % g.name, out):
        return
    st, br = r["phases"]
    text = phase_text(out, 0)
    # gdb takes the error reply to its step as "did not run": a warning and
    # a stop where it was
    res.check("PV" in text and "no monitor events" in text and "Remote failure reply" in text
              and st.get("pc_after") == r["pc_attached"],
              "%s: stepi is refused with the reason (PV: no monitor events) and nothing ran" % g.name,
              json.dumps(st, indent=1) + "\n" + out)
    text = phase_text(out, 1)
    res.check(br["error"] and "refused" in text and "PV" in text,
              "%s: break is refused with the reason (gdb does not plant the int3 itself)" % g.name,
              json.dumps(br, indent=1) + "\n" + out)
    res.check("pc_after" in st and "pc_after" in br,
              "%s: the session goes on after each refusal" % g.name, json.dumps(r, indent=1))
    r2, out2 = gdb("memread", target="xen:%s" % g.name, xs_opts=PLAIN, addr=fn, len=4)
    res.check(r0 is not None and r2 is not None and r0["bytes"] == r2["bytes"],
              "%s: guest memory at the breakpoint address is unchanged (%s)"
              % (g.name, r2 and r2["bytes"]), out0 + "\n" + out2)
    g.runs_on(res, "%s: after the refusals" % g.name)


def check_regstress(res, g, write, rounds=40, step=False):
    """Many register writes in a row, each followed by a run of the guest:
    r12 of vCPU 0 written to another value and back (two whole-domain HVM
    context loads, the guest's value unchanged), continue until the counter
    moves, interrupt; the counter must move after every round. Without
    write, the same rounds read every vCPU's registers instead: the control
    (what attaching, stopping and running does without a load). The guest's
    clock is read at every stop; at the first round whose counter stands,
    the guest and Xen are examined (stall_report)."""
    what = "%s: %d rounds of %s, continue, interrupt" % (
        g.name, rounds, "stepi" if step else "two register writes (r12 and back)" if write
        else "register reads (no write: the control)")
    t0 = g.last_tick()
    r, out = gdb("regstress", target="xen:%s" % g.name, xs_opts=PLAIN, log=g.log,
                 vcpus=g.vcpus, syms=g.clock_syms(), rounds=rounds, write=write, step=step,
                 min_ticks=1, wait=40, stall_wait=90, timeout=300 + rounds * 50)
    note("%s:\n%s" % (what, indent(out, 60)))
    if not res.check(r is not None, "%s: gdb session" % what, out):
        g.runs_on(res, "%s: after the session" % what)
        return
    moved = [rd.get("ticks_before_interrupt", 0) - rd["ticks_at_continue"] for rd in r["rounds"]]
    note("%s: the counter moved %s" % (what, moved))
    for i, rd in enumerate(r["rounds"]):
        note("round %d clock:\n%s" % (i, indent(describe_clock(rd["clock"], {}), 20)))
    details = "rounds: %s\n" % moved
    if "after_stall" in r:
        st = r["after_stall"]
        details += "after the stall, %d more seconds: counter %d -> %d\n" % (
            90, st["ticks_at_continue"], st.get("ticks_before_interrupt", 0))
        details += "clock at the stalled round:\n%s\nclock %d s later:\n%s\n" % (
            describe_clock(r["rounds"][-1]["clock"], {}), 90, describe_clock(st["clock"], {}))
        details += g.stall_report(g.last_tick())
    ok = len(r["rounds"]) == rounds and all(m >= 1 for m in moved) and \
        not any("access_error" in rd for rd in r["rounds"])
    if write and not step:
        ok = ok and all(rd.get("r12_back") for rd in r["rounds"])
    res.check(ok, "%s: the guest's counter moves after every round (%d rounds, counter %d -> %d)"
              % (what, len(r["rounds"]), t0, g.last_tick()), details + out[-3000:])
    g.runs_on(res, "%s: after detach" % what)


def check_hvmload(res, g, advance, rounds=60):
    """What xenstub's register write does to the domain, done without
    xenstub or gdb (hvmload.py, libxenctrl alone): rounds of pause, get the
    HVM context, load its header, CPU and MTRR records back (each vCPU's
    TSC moved on by the time between get and set with advance, as xenstub
    does; left as read without), unpause, then wait for the counter to
    move. A stall here is Xen's and the emulator's, not xenstub's."""
    what = "%s: %d context loads by libxenctrl alone (%s)" % (
        g.name, rounds, "TSC moved on by the gap, as xenstub does" if advance
        else "TSC loaded as read")
    note("Xen's TSC mode (debug key s):\n%s" % indent("\n".join(debug_keys("s"))))
    xc = hvmload.Xc()

    def one(i):
        gap, tscs = hvmload.load_cycle(xc, g.domid, advance)
        return "gap %d us, TSCs loaded %s, " % (gap, {v: h(t) for v, t in tscs.items()})
    counter_rounds(res, g, what, rounds, one, "round %d: the load succeeds", "load")


def counter_rounds(res, g, what, rounds, one_round, failed, noun):
    """Runs one_round(i) rounds times, each followed by a wait for guest
    g's counter to move, and logs each round (one_round returns what to
    log before the counter). A round whose call fails (OSError) fails the
    check with failed % i; a counter that does not move, with g's stall
    report."""
    log = []
    for i in range(rounds):
        t0 = g.last_tick()
        try:
            said = one_round(i)
        except OSError as e:
            res.check(False, "%s: %s" % (what, failed % i), str(e))
            return
        ok = g.wait(lambda: g.last_tick() > t0, 40)
        log.append("round %d: %scounter %d -> %d" % (i, said, t0, g.last_tick()))
        if not ok:
            note("%s:\n%s" % (what, indent("\n".join(log), 80)))
            res.check(False, "%s: the counter moves after every %s (stalled after round %d)"
                      % (what, noun, i), "\n".join(log[-5:]) + "\n" + g.stall_report(t0))
            return
    note("%s:\n%s" % (what, indent("\n".join(log), 80)))
    res.check(True, "%s: the counter moves after every %s" % (what, noun))


def check_pausestress(res, g, ring, rounds=60, hold=0.0, inspect=False):
    """What xenstub's attach and detach do to the domain apart from any
    event, done without xenstub or gdb (libxenctrl alone): rounds of pause,
    (with ring: the monitor ring and the debug-exception monitor on, as at
    attach on AMD), unpause, let it run half a second, pause, (both off, as
    at detach), unpause, then wait for the counter to move. With hold, the first pause lasts that many
    seconds (the guest's timers fire while it is paused, as at a debugger's
    stop). With inspect, a read-only xenstub session (threads, registers,
    memory, as the attach check's) runs inside each pause; else a stall
    here is Xen's and the emulator's."""
    what = "%s: %d rounds of pause%s%s%s, unpause, by libxenctrl%s" % (
        g.name, rounds, " held %g s" % hold if hold else "",
        ", monitor ring on and off" if ring else "",
        " with a gdb session through xenstub inside" if inspect else "",
        "" if inspect else " alone")
    xc = hvmload.Xc()

    def one(i):
        xc.call("xc_domain_pause", g.domid)
        page = xc.monitor_ring(g.domid) if ring else None
        time.sleep(hold)
        if inspect:
            gdb("inspect", target="xen:%d" % g.domid, vcpus=g.vcpus,
                banner=g.sym("linux_banner") or 0, monitor_sym=False, xs_opts=PLAIN,
                regs=sorted(COMPARED))
        xc.call("xc_domain_unpause", g.domid)
        time.sleep(0.5)
        xc.call("xc_domain_pause", g.domid)
        if page:
            xc.monitor_off(g.domid, page)
        xc.call("xc_domain_unpause", g.domid)
        return ""
    counter_rounds(res, g, what, rounds, one, "round %d succeeds", "round")


def check_report(res, g):
    """The stall report's view of a guest that runs, to set a stalled
    guest's against: the report is printed, and the guest must still tick
    after it (the report only reads)."""
    note("%s: the stall report of a running guest:\n%s"
         % (g.name, indent(g.state_report(), 2000)))
    g.runs_on(res, "%s: after the report" % g.name)


def fault_report(g, faults, when, emulator=True):
    """Shows what says the emulator killed guest g (or, emulator False, a
    triple fault that came after the guest had stalled): Xen's triple-fault
    line with the vCPU state it printed, and the guest's last console
    lines."""
    for block in faults:
        if emulator:
            g.faults.append(when)
        note("%s: %s (domain %s) triple-faulted %s; Xen says:\n%s"
             % ("EMULATOR" if emulator else "TRIPLE FAULT AFTER A STALL", g.name, g.domid,
                when, indent("\n".join(block), 40)))
    tail = g.console().rstrip().splitlines()[-12:]
    note("what %s printed last before it:\n%s" % (g.name, indent("\n".join(tail) or "(nothing)")))


def guarded(res, g, what, fn):
    """Runs check fn() on guest g, keeping its lines back. If Xen reports a
    triple fault of g meanwhile, the emulator killed the guest; if g's
    counter stood with the mark of QEMU's dropped STI shadow
    (Guest.lost_wakeup()), the emulator stalled it. Either way the lines
    are dropped (the check counts neither as passed nor as failed), what
    shows it is printed, and the check runs once more on a freshly created
    guest. A second time fails the check. A triple fault after a stall
    without that mark is not the emulator's alone: the lines count."""
    for attempt in (1, 2):
        seen = g.faults_seen = len(g.triple_faults())
        g.stalled_alive = False
        g.lost_wakeup_seen = None
        res.hold()
        t = time.monotonic()
        trouble = g.trouble_mark()
        fn()
        g.trouble_note(trouble, "during %s" % what)
        faults = g.triple_faults()[seen:]
        if not faults and not g.lost_wakeup_seen:
            res.commit()
            return
        if g.lost_wakeup_seen:
            # the emulator stalled the guest (lost_wakeup()): like its
            # triple faults, once more on a fresh guest
            dropped = res.drop()
            g.faults.append("a wakeup lost to a dropped STI shadow during %s" % what)
            note("EMULATOR: %s (domain %s) stalled during %s (%.0f s after it began): %s"
                 % (g.name, g.domid, what, time.monotonic() - t, g.lost_wakeup_seen))
            if faults:
                fault_report(g, faults, "after that stall", emulator=False)
        elif g.stalled_alive:
            # the guest had stopped ticking before it triple-faulted: the
            # check's failures count, and it is not run again
            fault_report(g, faults, "during %s (%.0f s after it began), after its counter "
                         "had stood still" % (what, time.monotonic() - t), emulator=False)
            note("%s: the guest's counter stood before the triple fault: its lines count, "
                 "no retry" % what)
            res.commit()
            return
        else:
            dropped = res.drop()
            fault_report(g, faults, "during %s (%.0f s after it began)" % (what, time.monotonic() - t))
        note("%s: %d PASS and %d FAIL lines of that attempt left out: a guest the emulator "
             "killed or stalled says nothing of xenstub" %
             (what, sum(k == "PASS" for k, _ in dropped), sum(k == "FAIL" for k, _ in dropped)))
        if attempt == 2:
            res.check(False, "%s: the emulator killed or stalled the guest during this check "
                      "again, on a fresh guest" % what)
            return
        res.retried += 1
        note("%s: again on a fresh guest" % what)
        if not res.check(g.recreate(), "%s: a fresh %s for the retry prints its ready line"
                         % (what, g.name), g.console()[-3000:]):
            return


def control_check(res, g, name, seconds):
    """Control mode: what check `name` does to guest g apart from xenstub
    (xl pause for attach, xenctx reads), and as long as the check takes,
    then the same after-detach wait: no debugger ever touches g."""
    what = "%s: control for %s" % (g.name, name)
    if name == "attach":
        sh(["xl", "pause", g.name])
    for v in range(g.vcpus):
        g.xenctx(v)
    time.sleep(seconds)
    if name == "attach":
        sh(["xl", "unpause", g.name])
    g.runs_on(res, "%s (left alone %d s)" % (what, seconds))


# The checks of each guest in order: (name, its function, what a run with
# xenstub typically spends in it, for the control mode)
PVH_CHECKS = (
    ("attach", "attach by name and id, registers, memory",
     lambda res, g: check_attach(res, g, ["xen:%s" % g.name, "xen:%d" % g.domid, str(g.domid)]), 30),
    ("modify", "register and memory writes",
     lambda res, g: check_modify(res, g, "r12", 0x1122334455667788), 45),
    ("interrupt", "continue and interrupt", check_interrupt, 20),
    ("step", "stepi", check_step, 20),
    ("recover", "kill -9 at a stop, then xenstub --recover", check_kill9_recover, 45),
    ("debugregs", "a new attach; watchpoints and hardware breakpoints",
     check_debug_registers, 35),
    # run only when named (XEN_TEST_ONLY): minutes each
    ("regcontrol", "40 rounds of register reads, continue, interrupt (control)",
     lambda res, g: check_regstress(res, g, False), 300),
    ("regstress", "40 rounds of register writes, continue, interrupt",
     lambda res, g: check_regstress(res, g, True), 300),
    ("stepstress", "40 rounds of stepi, continue, interrupt",
     lambda res, g: check_regstress(res, g, True, step=True), 300),
    ("hvmload", "60 context loads by libxenctrl alone, TSC moved on as xenstub does",
     lambda res, g: check_hvmload(res, g, True), 120),
    ("hvmplain", "60 context loads by libxenctrl alone, TSC as read",
     lambda res, g: check_hvmload(res, g, False), 120),
    ("pausestress", "60 rounds of pause and unpause by libxenctrl alone",
     lambda res, g: check_pausestress(res, g, False), 120),
    ("ringstress", "60 rounds of pause, monitor ring on, unpause, pause, ring off, unpause "
     "by libxenctrl alone", lambda res, g: check_pausestress(res, g, True), 150),
    ("longpause", "30 rounds of a 3 s pause, then unpause, by libxenctrl alone",
     lambda res, g: check_pausestress(res, g, False, rounds=30, hold=3.0), 180),
    ("inspectpause", "20 rounds of a pause with a read-only gdb session through xenstub inside",
     lambda res, g: check_pausestress(res, g, False, rounds=20, hold=1.0, inspect=True), 300),
    ("report", "what the stall report shows of a guest that runs (a baseline)",
     check_report, 120),
)
# checks that run only when XEN_TEST_ONLY names them
ON_REQUEST = ("regcontrol", "regstress", "stepstress", "hvmload", "hvmplain", "pausestress",
              "ringstress", "longpause", "inspectpause", "report")
PV_CHECKS = (
    ("attach", "attach by name and id (and read-only), registers, memory",
     lambda res, g: check_attach(res, g, ["xen:%s" % g.name, "xen:%d" % g.domid,
                                          "--read-only xen:%d" % g.domid]), 30),
    # PV frames are mapped writable only for the write itself: the guest
    # must go on using its page tables undisturbed
    ("modify", "register and memory writes",
     lambda res, g: check_modify(res, g, "r12", 0x1122334455667788), 45),
    ("interrupt", "continue and interrupt", check_interrupt, 20),
    ("refusals", "what needs monitor events is refused", check_pv_refusals, 30),
)


def main():
    res = Results()
    control = os.environ.get("XQ_CONTROL") == "1"
    repeat = int(os.environ.get("XQ_REPEAT", "1"))
    note("tests start%s%s%s" % (" (only %s)" % os.environ["XQ_ONLY"]
                                if os.environ.get("XQ_ONLY") else "",
                                " in CONTROL mode: no xenstub, the guests are only watched"
                                if control else "",
                                ", %d times" % repeat if repeat > 1 else ""))
    check_setup(res)
    pvh = Guest("xq-pvh", "pvh", 256, 2)
    pv = Guest("xq-pv", "pv", 192, 1)
    plan = [(pvh, "PVH", "pvh", PVH_CHECKS), (pv, "PV", "pv", PV_CHECKS)]
    guests = []
    for g, _, kind, checks in plan:
        if not wanted(kind, *[c[0] for c in checks]):
            continue
        t = time.monotonic()
        rc, out = g.create()
        note("xl create %s took %.0f s" % (g.name, time.monotonic() - t))
        if res.check(rc == 0 and g.domid is not None,
                     "xl create %s (type %s)" % (g.name, g.type), out):
            guests.append(g)
    for g in guests:
        ok = g.wait(g.ready, READY_WAIT)
        g.refresh_domid()
        note("%s (domain %s) %s" % (g.name, g.domid, "ready" if ok else "not ready"))
        faults = g.triple_faults()
        if faults:
            # before any debugger was attached: the emulator's (or the
            # guest kernel's) doing
            fault_report(g, faults, "while booting, before any debugger attached (%s its "
                         "ready line)" % ("after" if ok else "before"))
            res.retried += 1
            ok = g.recreate()
        elif not ok:
            # no debugger has touched it yet either: a boot that stalls
            # (seen under QEMU on an overloaded host: the kernel's console
            # stops after ACPI's lines, both vCPUs running) is the
            # emulator's, never xenstub's; once on a fresh guest
            tail = g.console().rstrip().splitlines()[-12:]
            note("EMULATOR: %s (domain %s) did not finish booting in %d s, before any "
                 "debugger attached; xl list says:\n%s\nits console last said:\n%s"
                 % (g.name, g.domid, READY_WAIT, indent(sh(["xl", "list"])[1]),
                    indent("\n".join(tail) or "(nothing)")))
            g.faults.append("a boot that stalled")
            res.retried += 1
            ok = g.recreate()
        res.check(ok, "%s: its init prints the ready line" % g.name,
                  g.console()[-3000:] + "\n" + sh(["xl", "list"])[1])
    ready = [g for g in guests if g.ready()]

    for g, label, kind, checks in plan:
        if g not in ready:
            if g in guests:
                res.skip("%s guest tests" % label, "the guest did not start")
            continue
        for i in range(repeat):
            for name, title, fn, seconds in checks:
                if not wanted(kind, name):
                    continue
                note("%s guest: %s%s%s" % (label, title, " (control)" if control else "",
                                           " (round %d of %d)" % (i + 1, repeat)
                                           if repeat > 1 else ""))
                if control:
                    guarded(res, g, "%s: %s" % (g.name, name),
                            lambda: control_check(res, g, name, seconds))
                else:
                    guarded(res, g, "%s: %s" % (g.name, name), lambda: fn(res, g))

    res.check(not running("xenstub"), "no xenstub is left running in dom0",
              "pids %s" % running("xenstub"))
    for g in guests:
        m = GUEST_TROUBLE.search(g.console())
        if m:
            # whole, without the counter's lines: a FAIL line keeps only a
            # head and a tail, and an Oops is long
            trouble = [line for line in g.console()[max(0, m.start() - 300):].splitlines()
                       if not line.startswith("XQ-TICK")]
            note("%s: its console from the first trouble on:\n%s"
                 % (g.name, indent("\n".join(trouble[:300]), 400)))
        res.check(not m, "%s: its console shows no panic, BUG, Oops or WARNING" % g.name,
                  g.console()[max(0, m.start() - 500):m.start() + 2500] if m else "")
    for g in guests:
        note("%s: %d boot%s, emulator failures: %s" % (g.name, g.boots, "s" if g.boots > 1 else "",
                                                   "; ".join(g.faults) or "none"))
    if res.retried:
        note("%d retried on a fresh guest after a triple fault, a stalled boot or a wakeup "
             "lost to a dropped STI shadow (see EMULATOR above)" % res.retried)
    note("tests done")
    print("%d passed, %d failed, %d skipped" % (res.passed, res.failed, res.skipped),
          flush=True)
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
