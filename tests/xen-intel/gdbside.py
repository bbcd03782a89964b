# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gdb side of the xen-test-intel checks: loaded into gdb on the host
(gdb -batch -x), it connects to xenstub in dom0 (through the serial port the
driver relays to a loopback TCP port), runs one scenario and prints what it
saw as one line "XI-RESULT <json>" (and "XI-NOTE" progress lines). The driver
(checks.py) decides PASS or FAIL; nothing here judges.

What a scenario needs from dom0 (xenctx, the guest's console) it asks the
driver over the unix socket named by $XI_CTL, one JSON request a line.

Run as: gdb -q -n -batch -x gdbside.py -ex 'python run("NAME", "JSON-ARGS")'
Every scenario takes "port" (the loopback port gdb connects to).
"""

import json
import os
import re
import signal
import socket
import threading
import time
import traceback

import gdb

MASK64 = (1 << 64) - 1
T0 = time.monotonic()


def note(msg):
    print("XI-NOTE [%5.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def ex(cmd):
    """Runs a gdb command and returns what it printed."""
    return gdb.execute(cmd, to_string=True)


def host(req):
    """One request to the driver (see checks.py, Ctl): returns its answer."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["XI_CTL"])
    try:
        s.sendall((json.dumps(req) + "\n").encode())
        return json.loads(s.makefile().readline())
    finally:
        s.close()


def dom0(cmd, timeout=120):
    r = host({"sh": cmd, "timeout": timeout})
    return r["rc"], r["out"]


def ticks(name):
    return host({"ticks": name})["ticks"]


def parse_xenctx(out):
    vals = {}
    for name, val in re.findall(r"\b([a-z][a-z0-9_]*):\s*([0-9a-f]{4,16})\b", out):
        vals.setdefault(name, int(val, 16))
    return vals


def xenctx(domid, vcpu):
    """Registers of a vCPU as Debian's xenctx prints them (name -> int);
    -l 0: no stack dump."""
    rc, out = dom0("xenctx -a -l 0 %d %d" % (domid, vcpu))
    return {"rc": rc, "regs": parse_xenctx(out), "text": out[-3000:]}


def xenctx_all(domid, vcpus):
    """{vCPU: registers} by one xenctx for every vCPU (-C)."""
    rc, out = dom0("xenctx -a -C -l 0 %d" % domid)
    parts = re.split(r"^vcpu(\d+):$", out, flags=re.M)
    got = {int(parts[i]): parse_xenctx(parts[i + 1]) for i in range(1, len(parts) - 1, 2)}
    return {v: got.get(v, {}) for v in vcpus}


def attach(a):
    out = ex("target remote 127.0.0.1:%d" % a["port"])
    note("attached")
    return out


def detach():
    try:
        out = ex("detach")
        note("detached")
        return out
    except gdb.error as e:
        return "detach failed: %s" % e


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & MASK64


def regs(names):
    return {n: reg(n) for n in names}


def monitor_stats():
    """What monitor stats says, or the error gdb gave."""
    try:
        return ex("monitor stats")
    except gdb.error as e:
        return "error: %s" % e


def read(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def threads():
    """[(gdb number, vCPU, name)] sorted by vCPU (the stub numbers vCPUs
    1..N; OS tasks, if any, come after)."""
    out = []
    for th in gdb.selected_inferior().threads():
        out.append((th.num, th.ptid[1] - 1, th.name or ""))
    return sorted(out, key=lambda t: t[1])


def select_vcpu(vcpu):
    for num, v, _ in threads():
        if v == vcpu:
            ex("thread %d" % num)
            return
    raise gdb.GdbError("no thread for vCPU %d" % vcpu)


def cur_vcpu():
    return gdb.selected_thread().ptid[1] - 1


def all_vcpu_regs(n, names=("rip", "rsp", "cr3", "cs", "eflags")):
    """Registers of vCPUs 0..n-1 (selecting each thread), then back to the
    thread selected before."""
    keep = gdb.selected_thread()
    res = {}
    for v in range(n):
        select_vcpu(v)
        res[v] = regs(names)
    keep.switch()
    return res


def kernel_thread(n, tries=10):
    """Selects a vCPU stopped in kernel mode (a user-mode one has the user
    page table of a KPTI pair in CR3): when none is, lets the guest run a
    second and looks again, a few times. Returns the vCPU."""
    for _ in range(tries):
        for v in range(n):
            select_vcpu(v)
            if reg("cs") & 3 == 0:
                return v
        resume("continue", wait=1, tag="look")
    return cur_vcpu()


def translate(addrs):
    """{address: physical address or the error} by `monitor v2p` in the
    selected thread."""
    out = {}
    for addr in addrs:
        try:
            text = ex("monitor v2p %#x" % addr)
        except gdb.error as e:
            text = "error: %s" % e
        m = re.search(r"^physical (0x[0-9a-f]+)", text, re.M)
        out["%#x" % addr] = int(m.group(1), 16) if m else text
    return out


def insns_ending_at(pc, refs=()):
    """Decodings of the instruction that ends at pc: for each length 1..15,
    the text of the instruction at pc-len if the next one starts at pc.
    refs: addresses whose appearance in the text is noted. The bytes are
    read once, through a cached memory region."""
    found = []
    ex("set mem inaccessible-by-default off")
    ex("mem %#x %#x ro cache" % (pc - 16, pc + 16))
    try:
        for k in range(1, 16):
            try:
                lines = ex("x/2i %#x" % (pc - k)).strip().splitlines()
            except gdb.error:
                continue
            if len(lines) < 2:
                continue
            m = re.match(r"\s*(?:=>\s*)?(0x[0-9a-f]+)", lines[1])
            if m and int(m.group(1), 16) == pc:
                text = re.sub(r"^\s*(=>\s*)?", "", lines[0])
                found.append({"len": k, "text": text,
                              "refs": [r for r in refs if ("%#x" % r) in text.lower()]})
    finally:
        ex("delete mem")
    return found


class Interrupter:
    """While gdb waits in a resuming command: once cond() holds (polled), or
    after wait seconds, sends SIGINT to gdb (what Ctrl-C does)."""

    def __init__(self, wait, cond=None, every=1.0):
        self.done = threading.Event()
        self.fired = False
        self.th = threading.Thread(target=self.run, args=(wait, cond, every), daemon=True)

    def run(self, wait, cond, every):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.done.wait(every):
                return
            try:
                if cond and cond():
                    break
            except Exception as e:  # the condition is only a hint
                note("interrupter condition: %s" % e)
        if not self.done.is_set():
            self.fired = True
            os.kill(os.getpid(), signal.SIGINT)

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.th.join(10)


def resume(cmd, wait=None, cond=None, tag="stop"):
    """Runs a resuming command; when wait is given, gdb is interrupted after
    that many seconds (or once cond() holds). Returns a dict: the stop
    (signal, breakpoint numbers, thread's vCPU, pc), whether the interrupt
    was ours, gdb's error. What gdb printed of the stop is on its stdout,
    before the note "resume-TAG" this prints (the driver's resume_texts()
    pairs them)."""
    seen = []

    def on_stop(ev):
        bps = [b.number for b in getattr(ev, "breakpoints", [])] if \
            isinstance(ev, gdb.BreakpointEvent) else []
        seen.append({"signal": getattr(ev, "stop_signal", None), "bps": bps})
    gdb.events.stop.connect(on_stop)
    err = None
    irq = None
    # what gdb prints of the stop goes to its stdout, where the driver
    # reads it (captured, it would be lost around a failed resume)
    try:
        if wait is not None:
            with Interrupter(wait, cond) as irq:
                gdb.execute(cmd)
        else:
            gdb.execute(cmd)
    except gdb.error as e:
        err = str(e)
    finally:
        gdb.events.stop.disconnect(on_stop)
    r = {"cmd": cmd, "error": err, "interrupted": bool(irq and irq.fired)}
    if seen:
        r.update(seen[-1])
    try:
        r["vcpu"] = cur_vcpu()
        r["pc"] = reg("pc")
    except gdb.error as e:
        r["state_error"] = str(e)
    note("resume-%s %s: %s" % (tag, cmd, {k: r.get(k) for k in ("signal", "bps", "vcpu", "pc", "error",
                                                         "interrupted")}))
    return r


# ---- scenarios: each returns a dict, printed by run() ----

def sc_inspect(a):
    """Threads, registers of every vCPU, a string in memory, monitor sym."""
    res = {"attach": attach(a)}
    res["threads"] = threads()
    res["regs"] = {}
    for num, v, _ in res["threads"]:
        if v < a["vcpus"]:
            ex("thread %d" % num)
            res["regs"][v] = regs(a["regs"])
    # from a vCPU in kernel mode if there is one (check_kpti reads from
    # a user-mode one)
    kernel = [v for v in sorted(res["regs"]) if res["regs"][v].get("cs", 0) & 3 == 0]
    res["banner_vcpu"] = kernel[0] if kernel else cur_vcpu()
    select_vcpu(res["banner_vcpu"])
    res["v2p"] = translate(a.get("v2p", []))
    try:
        raw = read(a["banner"], 512)
        res["banner"] = raw.split(b"\0")[0].decode(errors="replace")
    except gdb.error as e:
        res["banner_error"] = "vCPU %d (cs %#x): %s" % (res["banner_vcpu"], reg("cs"), e)
    try:
        res["monitor_sym"] = ex("monitor sym linux_banner")
    except gdb.error as e:
        res["monitor_sym"] = "error: %s" % e
    res["detach"] = detach()
    return res


def sc_memread(a):
    res = {"attach": attach(a)}
    kernel_thread(a.get("vcpus", 1))
    res["bytes"] = {}
    for addr in a["addrs"]:
        try:
            res["bytes"]["%#x" % addr] = read(addr, a["len"]).hex()
        except gdb.error as e:
            res["bytes"]["%#x" % addr] = "error: %s" % e
    res["v2p"] = translate(a.get("v2p", []))
    res["detach"] = detach()
    return res


def one_stop(a, ph, res_stops):
    """continue to the next stop (bounded by ph["wait"]) and what is seen
    there: the stop, the instructions ending at pc, the watched memory,
    the registers of every vCPU (gdb) and of the stopped one (xenctx)."""
    before = None
    if ph.get("mem"):
        try:
            before = read(ph["mem"], ph.get("mem_len", 8)).hex()
        except gdb.error as e:
            before = "error: %s" % e
    r = resume("continue", wait=ph["wait"])
    r["mem_before"] = before
    res_stops.append(r)
    if r.get("error") or "pc" not in r:
        return False
    if ph.get("insns"):
        r["insns_before"] = insns_ending_at(r["pc"], ph.get("refs", []))
    if ph.get("mem"):
        try:
            r["mem"] = read(ph["mem"], ph.get("mem_len", 8)).hex()
        except gdb.error as e:
            r["mem"] = "error: %s" % e
    if ph.get("regs"):
        r["vcpu_regs"] = all_vcpu_regs(a["vcpus"])
    r["xenctx"] = xenctx(a["domid"], r["vcpu"])["regs"]
    return True


def sc_hits(a):
    """Phases, each: points (gdb commands), then up to "count" stops by
    continue, each bounded by "wait" seconds (then gdb's interrupt), then
    "delete"; see one_stop() for what is recorded at each stop. "until_vcpus"
    ends a phase once breakpoint stops were seen on each of those vCPUs;
    "after" lets the guest run that long after the last phase."""
    res = {"attach": attach(a), "phases": []}
    res["thread"] = kernel_thread(a["vcpus"])
    res["v2p"] = translate(a.get("v2p", []))
    for i, ph in enumerate(a["phases"]):
        note("phase %d begins" % i)
        r = {"points": [], "stops": []}
        res["phases"].append(r)
        for cmd in ph["points"]:
            try:
                r["points"].append(ex(cmd))
            except gdb.error as e:
                r["points"].append("error: %s" % e)
        for _ in range(ph["count"]):
            if not one_stop(a, ph, r["stops"]):
                break
            seen = set(st.get("vcpu") for st in r["stops"] if st.get("bps"))
            if ph.get("until_vcpus") and seen >= set(ph["until_vcpus"]):
                break
        r["stats"] = monitor_stats()
        try:
            ex("delete")
        except gdb.error as e:
            r["delete_error"] = str(e)
    if a.get("after"):
        r = resume("continue", wait=a["after"], tag="after")
        res["after"] = {k: r.get(k) for k in ("signal", "bps", "error", "interrupted")}
    res["detach"] = detach()
    return res


def stop_held(a, res):
    """Points from a["setup"], continue to their first hit (res["stop"]),
    delete them, scheduler-locking step: every vCPU is held at that stop,
    and only the stopped one steps."""
    kernel_thread(a["vcpus"])
    for cmd in a["setup"]:
        ex(cmd)
    r = resume("continue", wait=a.get("wait", 120))
    res["stop"] = {k: r.get(k) for k in ("signal", "bps", "vcpu", "pc", "error", "interrupted")}
    ex("delete")
    ex("set scheduler-locking step")


def sc_hold(a):
    """Points from a["setup"], continue to their first hit, delete them:
    every vCPU is held at that stop. Then stepi on the stopped vCPU with
    scheduler-locking step: after each step, the other vCPUs' rip by gdb
    and by xenctx, and where the stepped one is."""
    res = {"attach": attach(a)}
    stop_held(a, res)
    n = a["vcpus"]
    me = res["vcpu"] = cur_vcpu()
    others = [v for v in range(n) if v != me]
    res["ticks_0"] = ticks(a["guest"])
    res["before"] = {"gdb": all_vcpu_regs(n), "xenctx": xenctx_all(a["domid"], range(n))}
    steps = []
    for _ in range(a["count"]):
        pc = reg("pc")
        insns = ex("x/2i $pc").strip().splitlines()
        nxt = re.match(r"\s*(?:=>\s*)?(0x[0-9a-f]+)", insns[1]) if len(insns) > 1 else None
        r = resume("stepi")
        step = {"pc_before": pc, "insn": insns[0] if insns else "",
                "fallthrough": int(nxt.group(1), 16) if nxt else None,
                "signal": r.get("signal"), "error": r.get("error"), "vcpu": r.get("vcpu"),
                "pc_after": r.get("pc")}
        if r.get("error"):
            steps.append(step)
            break
        step["eflags"] = reg("eflags")
        ex("maintenance flush register-cache")
        step["others_gdb"] = {}
        for v in others:
            select_vcpu(v)
            step["others_gdb"][v] = reg("rip")
        select_vcpu(me)
        ctx = xenctx_all(a["domid"], range(n))
        step["others_xenctx"] = {v: ctx.get(v, {}).get("rip") for v in others}
        step["me_xenctx"] = ctx.get(me, {}).get("rip")
        steps.append(step)
    res["steps"] = steps
    time.sleep(a.get("quiet", 0))
    res["ticks_1"] = ticks(a["guest"])
    res["stats"] = monitor_stats()
    res["detach"] = detach()
    return res


def sc_stepexit(a):
    """A stepi over an instruction Xen completes in its exit handler
    (cpuid), by MTF: points from a["setup"], continue to their first hit,
    delete them; at that pc P, the code becomes `cpuid; nop; nop` (leaf 0)
    for two steps, then the guest's bytes and registers go back and pc is
    P again. Where each step ends, and what cpuid gave."""
    res = {"attach": attach(a)}
    stop_held(a, res)
    p = res["pc"] = reg("pc")
    keep = regs(["rax", "rbx", "rcx", "rdx"])
    orig = read(p, 4)
    inf = gdb.selected_inferior()
    steps = []
    try:
        inf.write_memory(p, b"\x0f\xa2\x90\x90")
        res["code"] = read(p, 4).hex()
        ex("set $rax = 0")
        ex("set $rcx = 0")
        for _ in range(2):
            pc = reg("pc")
            r = resume("stepi")
            steps.append({"pc_before": pc, "pc_after": r.get("pc"), "error": r.get("error"),
                          "signal": r.get("signal"), "ebx": reg("rbx") & 0xffffffff})
            if r.get("error"):
                break
    finally:
        inf.write_memory(p, orig)
        for n, v in keep.items():
            ex("set $%s = %#x" % (n, v))
        ex("set $pc = %#x" % p)
        res["restored"] = read(p, 4) == orig and reg("pc") == p
    res["steps"] = steps
    res["stats"] = monitor_stats()
    res["detach"] = detach()
    return res


def sc_many(a):
    """Many watchpoints at once, inserted as they are set and kept in
    place at stops (breakpoint always-inserted): each accepted; continue
    to a hit; monitor stats while they are in place; all deleted; the
    session goes on. The watched region is read once through gdb's cache
    (a memory region with the cache attribute) rather than once a point."""
    res = {"attach": attach(a)}
    kernel_thread(a["vcpus"])
    res["v2p"] = translate(a.get("v2p", []))
    ex("set mem inaccessible-by-default off")
    ex("set dcache line-size 4096")
    ex("set dcache size 16")
    for lo, hi in a.get("cache", []):
        ex("mem %#x %#x ro cache" % (lo, hi))
    ex("set breakpoint always-inserted on")
    t = time.monotonic()
    errors = []
    for cmd in a["points"]:
        try:
            ex(cmd)
        except gdb.error as e:
            errors.append("%s: %s" % (cmd, e))
    res["insert_errors"] = errors[:20]
    res["n_errors"] = len(errors)
    res["n_points"] = len(gdb.breakpoints())
    res["set_seconds"] = time.monotonic() - t
    note("%d points set in %.0f s" % (res["n_points"], res["set_seconds"]))
    r = resume("continue", wait=a["wait"])
    res["stop"] = r
    res["stats"] = monitor_stats()
    t = time.monotonic()
    try:
        ex("delete")
    except gdb.error as e:
        res["delete_error"] = str(e)
    res["delete_seconds"] = time.monotonic() - t
    r = resume("continue", wait=a["after"], tag="after")
    res["after"] = {k: r.get(k) for k in ("signal", "bps", "error", "interrupted")}
    res["detach"] = detach()
    return res


def sc_exit(a):
    """Sets points, then leaves by a["how"]: "detach" or "kill" from gdb at
    a stop; or, for ways out that happen outside gdb (the driver kills
    something), stops at a breakpoint or keeps running until the driver
    ends this gdb or its connection."""
    res = {"attach": attach(a), "points": []}
    kernel_thread(a["vcpus"])
    ex("set breakpoint always-inserted on")
    for cmd in a["points"]:
        try:
            res["points"].append(ex(cmd))
        except gdb.error as e:
            res["points"].append("error: %s" % e)
    if a["at"] == "stop":
        r = resume("continue", wait=a["wait"])
        res["stop"] = {k: r.get(k) for k in ("signal", "bps", "vcpu", "pc", "error")}
    note("ready to leave")
    host({"ready": a["how"]})
    if a["how"] == "detach":
        res["detach"] = detach()
    elif a["how"] == "kill":
        try:
            res["kill"] = ex("kill")
        except gdb.error as e:
            res["kill"] = "error: %s" % e
    elif a["at"] == "stop":
        # the driver ends xenstub (or the link) now: wait for gdb to notice
        r = resume("continue", wait=a["wait"])
        res["after"] = {k: r.get(k) for k in ("signal", "error")}
    else:
        r = resume("continue", wait=a["wait"])
        res["after"] = {k: r.get(k) for k in ("signal", "error")}
    return res


def sc_frame(a):
    """Interrupts the guest until vCPU a["vcpu"] is halted in the kernel
    (the byte before rip is hlt); then watches the a["len"] bytes below its
    rsp, where the CPU pushes the frame of the interrupt that wakes it,
    and continues to up to a["count"] stops, each bounded by a["wait"]."""
    res = {"attach": attach(a), "tries": 0, "stops": []}
    v = a["vcpu"]
    rsp = None
    for i in range(a["tries"]):
        res["tries"] = i + 1
        select_vcpu(v)
        if reg("cs") & 3 == 0:
            try:
                if read(reg("rip") - 1, 1) == b"\xf4":
                    rsp = reg("rsp")
                    res["rip"] = reg("rip")
                    break
            except gdb.error:
                pass
        r = resume("continue", wait=a["slice"], tag="look")
        if r.get("error"):
            res["resume_error"] = r["error"]
            break
    if rsp is None:
        res["detach"] = detach()
        return res
    res["rsp"] = rsp
    # in 64-bit mode the CPU aligns rsp down to 16 bytes, then pushes
    res["start"] = start = ((rsp & ~0xf) - a["len"]) & MASK64
    try:
        res["point"] = ex("watch -l *(char (*)[%d])%#x" % (a["len"], start))
    except gdb.error as e:
        res["point"] = "error: %s" % e
        res["detach"] = detach()
        return res
    for _ in range(a["count"]):
        r = resume("continue", wait=a["wait"])
        st = {k: r.get(k) for k in ("signal", "bps", "vcpu", "pc", "error", "interrupted")}
        if r.get("error") or not r.get("bps"):
            res["stops"].append(st)
            break
        try:
            st["mem"] = read(start, a["len"]).hex()
        except gdb.error as e:
            st["mem"] = "error: %s" % e
        res["stops"].append(st)
    try:
        res["stats"] = ex("monitor stats")
        ex("delete")
    except gdb.error as e:
        res["delete_error"] = str(e)
    r = resume("continue", wait=a.get("after", 10), tag="after")
    res["after"] = {k: r.get(k) for k in ("signal", "bps", "error", "interrupted")}
    res["detach"] = detach()
    return res


def sc_kpti(a):
    """Interrupts the guest until a vCPU is stopped in user mode (CS.RPL 3,
    CR3 the user half of a KPTI pair); from that vCPU's thread: reads
    linux_banner, sets a kernel breakpoint and a kernel watchpoint, and
    continues to their hits."""
    res = {"attach": attach(a), "tries": 0}
    found = None
    for i in range(a["tries"]):
        res["tries"] = i + 1
        rs = all_vcpu_regs(a["vcpus"])
        user = [v for v, r in rs.items() if r["cs"] & 3 == 3]
        if user:
            found = user[0]
            res["regs"] = rs[found]
            break
        r = resume("continue", wait=a["slice"], tag="look")
        if r.get("error"):
            res["resume_error"] = r["error"]
            break
    if found is None:
        res["detach"] = detach()
        return res
    res["vcpu"] = found
    # inserted as they are set: a refusal shows at once
    ex("set breakpoint always-inserted on")
    select_vcpu(found)
    res["cr3"] = reg("cr3")
    res["xenctx"] = xenctx(a["domid"], found)["regs"]
    try:
        res["banner"] = read(a["banner"], 256).split(b"\0")[0].decode(errors="replace")
    except gdb.error as e:
        res["banner_error"] = str(e)
    res["points"] = []
    for cmd in a["points"]:
        try:
            res["points"].append(ex(cmd))
        except gdb.error as e:
            res["points"].append("error: %s" % e)
    res["stops"] = []
    seen = set()
    # until every point has hit once (the watched jiffies changes several
    # times between two calls of the breakpoint's function), at most count
    for _ in range(a["count"]):
        r = resume("continue", wait=a["wait"])
        res["stops"].append({k: r.get(k) for k in ("signal", "bps", "vcpu", "pc", "error",
                                                    "interrupted")})
        seen.update(r.get("bps") or [])
        if r.get("error") or len(seen) >= len(a["points"]):
            break
    try:
        ex("delete")
    except gdb.error as e:
        res["delete_error"] = str(e)
    res["detach"] = detach()
    return res


def uptime():
    """dom0's uptime: the emulated machine's clock."""
    rc, out = dom0("cut -d' ' -f1 /proc/uptime")
    return float(out.split()[0])


def sc_rate(a):
    """A watchpoint on a byte nobody writes, in a frame the guest writes
    often; the guest runs until a["seconds"] of the machine's own time have
    passed (dom0's uptime); monitor stats counts the accesses let through."""
    res = {"attach": attach(a)}
    kernel_thread(a["vcpus"])
    res["v2p"] = translate(a.get("v2p", []))
    res["point"] = ex(a["point"])
    u0 = uptime()
    r = resume("continue", wait=a.get("wait", 300),
               cond=lambda: uptime() >= u0 + a["seconds"])
    res["seconds"] = uptime() - u0
    res["stop"] = {k: r.get(k) for k in ("signal", "bps", "error", "interrupted")}
    res["stats"] = monitor_stats()
    try:
        ex("delete")
    except gdb.error:
        pass
    res["detach"] = detach()
    return res


def run(name, args):
    """Entry point: runs scenario NAME with JSON ARGS, prints XI-RESULT."""
    try:
        res = {"ok": True}
        res.update(globals()["sc_" + name](json.loads(args)))
    except Exception as e:  # the driver reports it as a failure
        res = {"ok": False, "exception": "%s: %s" % (type(e).__name__, e),
               "traceback": traceback.format_exc()}
        try:
            detach()
        except Exception:
            pass
    print("XI-RESULT " + json.dumps(res), flush=True)
