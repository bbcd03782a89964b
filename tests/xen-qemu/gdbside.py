# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gdb side of the xen-test checks: loaded into gdb (gdb -batch -x) in
dom0, it attaches to a guest through xenstub, runs one scenario and prints
what it saw as one line "XQ-RESULT <json>" (and "XQ-NOTE" progress lines).
dom0_tests.py starts one gdb per scenario and decides PASS or FAIL from
that line; nothing here judges.

Run as: gdb -q -n -batch -x gdbside.py -ex 'python run("NAME", "JSON-ARGS")'
Every scenario takes "target" (xenstub's TARGET) and "xs_opts" (options).
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import traceback

import gdb

XENSTUB = os.environ.get("XQ_XENSTUB", "/usr/local/bin/xenstub")
XENCTX = "/usr/lib/xen-4.17/bin/xenctx"
MASK64 = (1 << 64) - 1
T0 = time.monotonic()


def note(msg):
    print("XQ-NOTE [%5.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def ex(cmd):
    """Runs a gdb command and returns what it printed."""
    return gdb.execute(cmd, to_string=True)


def attach(a):
    """Connects gdb to xenstub serving a["target"] over a pipe."""
    out = ex("target remote | %s %s - %s" % (XENSTUB, a.get("xs_opts", "-v"), a["target"]))
    note("attached to %s" % a["target"])
    return out


def detach():
    try:
        out = ex("detach")
        note("detached")
        return out
    except gdb.error as e:
        return "detach failed: %s" % e


def reg(name):
    # int() takes integers, pointers and flags types alike (a cast of the
    # eflags flags type would not)
    return int(gdb.parse_and_eval("$" + name)) & MASK64


def regs(names):
    return {n: reg(n) for n in names}


def read(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def threads():
    """[(gdb number, vCPU, name)] sorted by vCPU; only vCPU threads (the
    stub numbers them 1..N; OS tasks, if any, come after)."""
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


def ticks(log):
    """The last XQ-TICK number in a guest's console log (0 if none)."""
    try:
        with open(log, errors="replace") as f:
            found = re.findall(r"XQ-TICK (\d+)", f.read())
    except OSError:
        return 0
    return int(found[-1]) if found else 0


def xl_state(name):
    """The state column of `xl list NAME` (e.g. '--p---'), or the error."""
    p = subprocess.run(["xl", "list", name], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    for line in p.stdout.splitlines():
        f = line.split()
        if f and f[0] == name and len(f) >= 5:
            return f[4]
    return "?" + p.stdout.strip()


def xenctx(domid, vcpu):
    """Registers of a vCPU as Debian's xenctx prints them (name -> int)."""
    p = subprocess.run([XENCTX, "-a", str(domid), str(vcpu)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    vals = {}
    for name, val in re.findall(r"\b([a-z][a-z0-9_]*):\s*([0-9a-f]{4,16})\b", p.stdout):
        vals.setdefault(name, int(val, 16))
    return {"rc": p.returncode, "regs": vals, "text": p.stdout[-3000:]}


def resume(cmd):
    """Runs a resuming command, its output going to gdb's own (the driver
    reads it there: what gdb and xenstub print around a failed resume is
    lost when it is captured); returns (the signal of the stop gdb
    reported, "no signal" for a plain stop, or None; gdb's error or None)."""
    seen = []

    def on_stop(ev):
        seen.append(getattr(ev, "stop_signal", "no signal"))
    gdb.events.stop.connect(on_stop)
    err = None
    try:
        gdb.execute(cmd)
    except gdb.error as e:
        err = str(e)
    finally:
        gdb.events.stop.disconnect(on_stop)
    sig = seen[-1] if seen else None
    note("%s: signal %s, error %s" % (cmd, sig, err))
    return sig, err


def continue_until_ticks(a, res):
    """continue, then SIGINT to gdb (what Ctrl-C does) once the guest's
    console shows a["min_ticks"] more ticks, or after a["wait"] seconds."""
    res["ticks_at_continue"] = t0 = ticks(a["log"])
    done = threading.Event()
    state = {}

    def interrupter():
        deadline = time.monotonic() + a.get("wait", 60)
        while time.monotonic() < deadline and ticks(a["log"]) < t0 + a["min_ticks"]:
            if done.wait(0.2):
                return
        state["ticks_before_interrupt"] = ticks(a["log"])
        if a.get("probe_domid") is not None and not done.is_set():
            # what the running guest's vCPU 0 holds, as xenctx sees it
            state["xenctx_while_running"] = xenctx(a["probe_domid"], 0)["regs"]
        if not done.is_set():
            os.kill(os.getpid(), signal.SIGINT)
    th = threading.Thread(target=interrupter, daemon=True)
    th.start()
    sig, err = resume("continue")
    done.set()
    th.join(10)
    res.update(state)
    res.update(stop_signal=sig, error=err)


# ---- scenarios: each returns a dict, printed by run() ----

def sc_inspect(a):
    """Threads, registers of every vCPU, a string in memory, and the Linux
    symbol lookup when asked."""
    res = {"attach": attach(a)}
    res["threads"] = threads()
    res["regs"] = {}
    for num, v, _ in res["threads"]:
        if v < a["vcpus"]:
            ex("thread %d" % num)
            res["regs"][v] = regs(a["regs"])
    if a.get("banner"):
        raw = read(int(a["banner"], 16), 512)
        res["banner"] = raw.split(b"\0")[0].decode(errors="replace")
    if a.get("monitor_sym"):
        try:
            res["monitor_sym"] = ex("monitor sym linux_banner")
        except gdb.error as e:
            res["monitor_sym"] = "error: %s" % e
    res["detach"] = detach()
    return res


def sc_modify(a):
    """Writes a register (read back through gdb and xenctx, then put back)
    and one byte of the scratch string."""
    res = {"attach": attach(a)}
    select_vcpu(0)
    name, value = a["reg"], int(a["value"], 16)
    res["orig"] = orig = reg(name)
    ex("set $%s = %#x" % (name, value))
    ex("maintenance flush register-cache")
    res["gdb_after_write"] = reg(name)
    res["xenctx_after_write"] = xenctx(a["domid"], 0)
    ex("set $%s = %#x" % (name, orig))
    ex("maintenance flush register-cache")
    res["gdb_after_restore"] = reg(name)
    res["xenctx_after_restore"] = xenctx(a["domid"], 0)
    note("register written and restored")

    base = int(a["addr"], 16)
    raw = read(base, 1024)
    i = raw.find(a["find"].encode())
    res["offset"] = i
    if i >= 0:
        where = base + i + a["index"]
        res["where"] = "%#x" % where
        res["before"] = read(where, 1).hex()
        ex("set {unsigned char}%#x = %d" % (where, ord(a["new"])))
        res["after"] = read(where, 1).hex()
    res["detach"] = detach()
    return res


def sc_memread(a):
    res = {"attach": attach(a)}
    res["bytes"] = read(int(a["addr"], 16), a["len"]).hex()
    res["detach"] = detach()
    return res


def sc_interrupt(a):
    """continue + interrupt; what Xen shows while attached and stopped."""
    res = {"attach": attach(a)}
    res["state_attached"] = xl_state(a["name"])
    continue_until_ticks(a, res)
    res["state_stopped"] = xl_state(a["name"])
    res["pc"] = reg("pc")
    res["detach"] = detach()
    return res


def sc_step(a):
    """stepi several times on vCPU 0: where each stop lands and what gdb
    sees of RFLAGS."""
    res = {"attach": attach(a)}
    select_vcpu(0)
    steps = []
    for _ in range(a["count"]):
        pc = reg("pc")
        insns = ex("x/2i $pc").strip().splitlines()
        nxt = re.match(r"\s*(0x[0-9a-f]+)", insns[1]) if len(insns) > 1 else None
        rcx = reg("rcx")
        sig, err = resume("stepi")
        step = {"pc_before": pc, "insn": insns[0] if insns else "",
                "fallthrough": int(nxt.group(1), 16) if nxt else None,
                "rcx_before": rcx, "signal": sig, "error": err}
        if err:
            steps.append(step)
            break
        step["pc_after"] = reg("pc")
        step["rcx_after"] = reg("rcx")
        step["eflags_after"] = reg("eflags")
        step["vcpu_after"] = gdb.selected_thread().ptid[1] - 1
        if a.get("domid") is not None and not steps:
            # what Xen's HVM context says of DR6 at a step stop
            step["xenctx_dr6"] = xenctx(a["domid"], 0)["regs"].get("dr6")
        steps.append(step)
    res["steps"] = steps
    try:
        res["stats"] = ex("monitor stats")
    except gdb.error as e:
        res["stats"] = "monitor stats failed: %s" % e
    res["detach"] = detach()
    return res


def sc_kill9(a):
    """stepi once (the vCPU is then held by Xen's debug-exception event),
    then xenstub is killed with SIGKILL: nothing of it can clean up."""
    res = {"attach": attach(a)}
    select_vcpu(0)
    sig, err = resume("stepi")
    res["step"] = {"signal": sig, "error": err, "pc": reg("pc")}
    pids = subprocess.run(["pidof", "xenstub"], capture_output=True, text=True).stdout.split()
    res["killed"] = pids
    for p in pids:
        os.kill(int(p), signal.SIGKILL)
    try:
        ex("detach")
    except gdb.error:
        pass
    return res


def sc_points(a):
    """Phases, each: gdb commands that ask for breakpoints or watchpoints
    ("points"), then a resume ("continue" until the guest ticked, or a
    command such as "stepi"), then "delete". Records what gdb said, how it
    stopped, and that the session goes on."""
    res = {"attach": attach(a), "phases": [], "pc_attached": reg("pc")}
    for i, ph in enumerate(a["phases"]):
        note("phase %d begins" % i)
        r = {"points": []}
        for cmd in ph["points"]:
            try:
                r["points"].append(ex(cmd))
            except gdb.error as e:
                r["points"].append("error: %s" % e)
        if ph["resume"] == "continue":
            continue_until_ticks(a, r)
        else:
            sig, err = resume(ph["resume"])
            r.update(stop_signal=sig, error=err)
        try:
            ex("delete")
        except gdb.error as e:
            r["delete_error"] = str(e)
        try:
            r["pc_after"] = reg("pc")
        except gdb.error as e:
            r["still_usable_error"] = str(e)
        res["phases"].append(r)
    note("phase %d begins" % len(a["phases"]))
    res["detach"] = detach()
    return res


def collect(out, name, fn):
    """out[name] = fn(), or the error it raised: reported, not judged."""
    try:
        out[name] = fn()
    except Exception as e:  # noqa: BLE001
        out[name] = "error: %s" % e


def u64(addr):
    return int.from_bytes(read(addr, 8), "little")


def clock(a):
    """The guest's clock as its memory holds it (a["syms"]: kallsyms
    addresses, hex): jiffies_64, pvclock's last_value (the largest time any
    vCPU read; Linux never returns less) and each vCPU's vcpu_info (through
    the per-CPU pointer xen_vcpu): its event flags and Xen's pvclock fields
    (version, tsc_timestamp, system_time, tsc_to_system_mul, tsc_shift,
    flags). A field that cannot be read holds the error."""
    syms = a.get("syms", {})
    out = {}

    def get(name, fn):
        collect(out, name, fn)
    if syms.get("jiffies_64"):
        get("jiffies_64", lambda: u64(int(syms["jiffies_64"], 16)))
    for i, addr in enumerate(syms.get("last_value", [])):
        get("last_value_%d" % i, lambda addr=addr: u64(int(addr, 16)))
    if syms.get("__per_cpu_offset") and syms.get("xen_vcpu"):
        for v in range(a.get("vcpus", 1)):
            def vcpu_info(v=v):
                pco = u64(int(syms["__per_cpu_offset"], 16) + 8 * v)
                ptr = u64((pco + int(syms["xen_vcpu"], 16)) & MASK64)
                raw = read(ptr, 64)
                le = lambda o, n: int.from_bytes(raw[o:o + n], "little")
                shift = raw[60] - 256 if raw[60] > 127 else raw[60]
                return {"addr": "%#x" % ptr, "upcall_pending": raw[0], "upcall_mask": raw[1],
                        "pending_sel": le(8, 8), "version": le(32, 4),
                        "tsc_timestamp": le(40, 8), "system_time": le(48, 8),
                        "mul": le(56, 4), "shift": shift, "flags": raw[61]}
            get("vcpu%d" % v, vcpu_info)
    return out


def sc_clock(a):
    """Reads the guest's clock (see clock()) and detaches."""
    res = {"attach": attach(a)}
    res["clock"] = clock(a)
    res["detach"] = detach()
    return res


def sc_tasks(a):
    """What the guest's tasks are doing, for a guest whose counter stands
    (read only): xenstub's `monitor ps` and `info threads`; for each task
    named in a["names"], its pc, sp and a["words"] words of its kernel stack
    from sp; and with a["cons_gfn"], the indexes of the guest's console ring
    (xencons_interface: in_cons, in_prod, out_cons, out_prod at 3072) read by
    guest-physical address."""
    res = {"attach": attach(a)}

    def get(name, fn):
        collect(res, name, fn)
    get("ps", lambda: ex("monitor ps"))

    def heads():
        # each listed task's first 32 bytes: thread_info (flags: bit 3
        # TIF_NEED_RESCHED, bit 21 TIF_POLLING_NRFLAG; syscall_work; status;
        # cpu), then __state
        out = {}
        for line in str(res.get("ps", "")).splitlines():
            f = line.split()
            if len(f) >= 7 and f[5].startswith("0x") and \
                    f[6].strip("[]").split("/")[0] in a.get("heads", ()):
                out["%s %s" % (f[0], f[6])] = read(int(f[5], 16), 32).hex()
        return out
    get("task_heads", heads)

    def percpu():
        # each CPU's scheduling state (a["percpu"]: kallsyms addresses, hex;
        # per-CPU ones are offsets into the areas at __per_cpu_offset[]):
        # the first entry of call_single_queue (0: empty; a waker that finds
        # it non-empty sends no IPI) and runqueues' first word (the lock)
        # and nr_running
        p = a.get("percpu") or {}
        out = {}
        for cpu in range(a.get("vcpus", 1)):
            def one(cpu=cpu):
                pco = u64(int(p["__per_cpu_offset"], 16) + 8 * cpu)
                r = {}
                if p.get("call_single_queue"):
                    r["call_single_queue.first"] = "%#x" % u64(
                        (pco + int(p["call_single_queue"], 16)) & MASK64)
                if p.get("runqueues"):
                    w = u64((pco + int(p["runqueues"], 16)) & MASK64)
                    r["rq.lock"] = "%#x" % (w & 0xffffffff)
                    r["rq.nr_running"] = w >> 32
                return r
            collect(out, "cpu%d" % cpu, one)
        return out
    if (a.get("percpu") or {}).get("__per_cpu_offset"):
        get("percpu", percpu)
    get("threads", lambda: ex("info threads"))
    res["stacks"] = []
    for th in gdb.selected_inferior().threads():
        if (th.name or "") not in a.get("names", ()):
            continue
        st = {"thread": th.num, "name": th.name}
        try:
            th.switch()
            st["pc"] = int(gdb.parse_and_eval("$pc")) & MASK64
            st["sp"] = int(gdb.parse_and_eval("$sp")) & MASK64
            n = 8 * a.get("words", 64)
            try:
                raw = read(st["sp"], n)
            except gdb.MemoryError:
                # the stack's top page ends below n: up to its end
                raw = read(st["sp"], min(n, 4096 - (st["sp"] & 4095)))
            st["words"] = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]
        except Exception as e:  # noqa: BLE001
            st["error"] = str(e)
        res["stacks"].append(st)
    if a.get("cons_gfn") is not None:
        def ring():
            ex("monitor phys on")
            try:
                raw = read(a["cons_gfn"] * 4096 + 3072, 16)
            finally:
                ex("monitor phys off")
            return [int.from_bytes(raw[i:i + 4], "little") for i in range(0, 16, 4)]
        get("cons_ring", ring)
    res["detach"] = detach()
    return res


def sc_regstress(a):
    """Rounds of: with a["step"], one stepi of vCPU 0; else with a["write"],
    vCPU 0's r12 written to another value and back (two register writes,
    the guest's value unchanged); without, every vCPU's registers read (the
    control); then continue until the guest's
    counter moves a["min_ticks"] or a["wait"] seconds pass, and SIGINT. The
    guest's clock is read at each stop. At the first round whose counter
    did not move, one more continue of a["stall_wait"] seconds tells a
    pause from a stall, and the rounds end."""
    res = {"attach": attach(a), "rounds": []}
    select_vcpu(0)
    res["clock_attached"] = clock(a)
    for i in range(a["rounds"]):
        r = {}
        try:
            if a.get("step"):
                # a step over an instruction Xen completes itself (hlt:
                # the idle loop's) ends in a #DB Xen injects, which no
                # event reports: such a round steps nothing, and a step
                # that does not end in a minute is interrupted
                insn = ex("x/i $pc")
                r["insn"] = insn.strip()
                if re.search(r"\t(hlt|cpuid|in|out|ins\w*|outs\w*|rdmsr|wrmsr|vmmcall)\b", insn):
                    r["step"] = "skipped"
                else:
                    done = threading.Event()

                    def bound():
                        if not done.wait(60):
                            r["step_interrupted"] = True
                            os.kill(os.getpid(), signal.SIGINT)
                    th = threading.Thread(target=bound, daemon=True)
                    th.start()
                    sig, err = resume("stepi")
                    done.set()
                    th.join(5)
                    r["step"] = {"signal": sig, "error": err, "pc": reg("pc")}
                    if err or r.get("step_interrupted"):
                        r["access_error"] = err or "the step did not end in 60 s"
            elif a["write"]:
                orig = reg("r12")
                ex("set $r12 = %#x" % (orig ^ 1))
                ex("set $r12 = %#x" % orig)
                ex("maintenance flush register-cache")
                r["r12_back"] = reg("r12") == orig
            else:
                ex("maintenance flush register-cache")
                for num, _, _ in threads():
                    ex("thread %d" % num)
                    reg("r12")
                select_vcpu(0)
        except gdb.error as e:
            r["access_error"] = str(e)
        continue_until_ticks(a, r)
        r["clock"] = clock(a)
        res["rounds"].append(r)
        moved = r.get("ticks_before_interrupt", 0) - r["ticks_at_continue"]
        note("round %d: counter +%d, %s" % (i, moved, r["stop_signal"]))
        if moved < a["min_ticks"] or r["error"] or "access_error" in r:
            later = {}
            continue_until_ticks(dict(a, wait=a["stall_wait"]), later)
            later["clock"] = clock(a)
            res["after_stall"] = later
            break
    res["detach"] = detach()
    return res


def run(name, args):
    """Entry point: runs scenario NAME with JSON ARGS, prints XQ-RESULT."""
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
    print("XQ-RESULT " + json.dumps(res), flush=True)
