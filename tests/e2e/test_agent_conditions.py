# SPDX-License-Identifier: LGPL-2.1-or-later
"""Breakpoint conditions and agent dprintf decided by xenstub, on xensim
domains: a condition true once in N hits stops exactly at that hit with the
right registers, the false hits resume at once (counted in `monitor stats`,
no stop reported); the same for hbreak (execute traps) and, through raw
packets, for watchpoints (gdb evaluates a watchpoint's condition itself:
`watch x if $cr3 == ...` is checked too); agent dprintf lines reach gdb's
console in order with the right values while the guest runs; every way out
with conditions and commands active leaves the guest as found."""

import json
import re

import live_support as L
from harness import RawConnection

W = L.SCRATCH + 0x40        # the loop's i-th store writes i at W + 8 * i
N = 6                       # hits per round of the loop


def _program(base=L.CODE + 0x400):
    """vCPU 0's loop: `movabs rdi, i; movabs rsi, W + 8 * i; mov [rsi],
    rax` for i = 1..N at the same three addresses (the store writes i),
    then a nop, the end of a round. Returns (steps, code program, set_rdi,
    store, end)."""
    p = L.Program(base)
    set_rdi = p.set_reg("rdi", 1)
    set_rsi = p.set_reg("rsi", W + 8)
    store = p.store(W + 8, 8, 1, base="rsi")
    end = p.nop()
    steps = []
    for i in range(1, N + 1):
        steps.append({"rip": L.h(set_rdi), "len": 10, "op": "set_reg", "reg": "rdi",
                      "value": L.h(i)})
        steps.append({"rip": L.h(set_rsi), "len": 10, "op": "set_reg", "reg": "rsi",
                      "value": L.h(W + 8 * i)})
        steps.append({"rip": L.h(store), "len": p.steps[2]["len"], "access": "write",
                      "va": L.h(W + 8 * i), "size": 8, "value": L.h(i)})
    steps.append(p.steps[-1])
    steps.append({"op": "loop"})
    return steps, p, set_rdi, store, end


def _domain(ctx, sim, extra=()):
    steps, p, set_rdi, store, end = _program()
    dom = L.make_domain(ctx, sim, extra=extra)
    p.write_code(sim, dom, 0)
    sim.workload(dom, 0, steps)
    sim.workload(dom, 1, L.loop(L.CODE + 0x40, L.SCRATCH + 0x400, 9))
    sim.ctl("start", dom)
    L.wait_loops(sim, dom, 2)
    return dom, set_rdi, store, end


def _result(ctx, r, what):
    m = re.search(r"^RESULT (.*)$", r.out, re.M)
    if not ctx.check(m is not None, what, (r.out[-3000:], r.err[-3000:])):
        return None
    return json.loads(m.group(1))


def _stats(text):
    out = L.stats_numbers(text)
    m = re.search(r"(\d+) condition evaluations, (\d+) hits resumed at once .*?, (\d+) evaluations failed",
                  text or "")
    if m:
        out["evals"], out["go"], out["failed"] = (int(x) for x in m.groups())
    m = re.search(r"agent dprintf: (\d+) commands run, (\d+) lines for gdb, (\d+) dropped", text or "")
    if m:
        out["cmds"], out["lines"], out["dropped"] = (int(x) for x in m.groups())
    return out


# Goes to the end of a round first (so that the next round is whole), then
# puts the conditional point in and continues: the stop must be the hit
# with $rdi == 3, after exactly two false hits.
COND = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("break *%(end)d")
gdb.execute("continue")
gdb.execute("delete")
s0 = state()
st0 = gdb.execute("monitor stats", to_string=True)
gdb.execute("%(cmd)s *%(store)d if $rdi == 3")
gdb.execute("continue")
s1 = state()
res["thread"] = gdb.selected_thread().num
res["pc"] = int(gdb.parse_and_eval("$pc"))
res["rdi"] = int(gdb.parse_and_eval("$rdi"))
res["rsi"] = int(gdb.parse_and_eval("$rsi")) & 0xffffffffffffffff
res["writes"] = [s["vcpus"][0]["counters"]["writes"] for s in (s0, s1)]
res["stats0"] = st0
res["stats1"] = gdb.execute("monitor stats", to_string=True)
# and once more: the next round stops at its third hit again
gdb.execute("continue")
res["rdi2"] = int(gdb.parse_and_eval("$rdi"))
res["pc2"] = int(gdb.parse_and_eval("$pc"))
res["stats2"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
%(leave)s
'''


def _cond_test(ctx, cmd, leave):
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none"], timeout=240,
                       python=COND % {"dom": dom, "end": end, "store": store,
                                      "cmd": cmd, "leave": leave})
        d = _result(ctx, r, "%s with a condition: the session ran" % cmd)
        if d is None:
            return
        ctx.check(d["thread"] == 1 and d["pc"] == store and d["rdi"] == 3,
                  "%s: the stop is vCPU 0's hit with $rdi == 3, at the store" % cmd, d)
        ctx.check(d["rsi"] == W + 24 and d["writes"][1] - d["writes"][0] == 2,
                  "%s: the two false hits executed their store once each, the true one not yet" % cmd,
                  d)
        a, b, c = _stats(d["stats0"]), _stats(d["stats1"]), _stats(d["stats2"])
        ctx.check(b.get("stops") == a.get("stops") + 1 and b.get("go") == 2 and
                  b.get("evals") == 3 and b.get("failed") == 0,
                  "%s: one stop reported; 3 evaluations, the 2 false ones resumed at once" % cmd,
                  (d["stats0"], d["stats1"]))
        # (gdb steps over the breakpoint first: a stop of its own)
        ctx.check(d["rdi2"] == 3 and d["pc2"] == store and c.get("go") == 2 + N - 1 and
                  c.get("stops") == b.get("stops") + 2,
                  "%s: the next round stops at its $rdi == 3 hit again, N - 1 false hits between" % cmd,
                  (d, d["stats2"]))
        L.check_as_found(ctx, sim, dom, before, "%s with a condition, then %s" % (cmd, leave))


def test_break_if(ctx):
    """break *ADDR if $rdi == 3: int3 hits decided in xenstub; detach
    with the condition in place."""
    _cond_test(ctx, "break", 'gdb.execute("detach")')


def test_hbreak_if(ctx):
    """hbreak *ADDR if $rdi == 3: execute-trap hits decided in xenstub;
    gdb kills (xenstub detaches) with the condition in place."""
    _cond_test(ctx, "hbreak", 'gdb.execute("kill")')


def test_watch_condition_packet(ctx):
    """Z2 with a condition (gdb itself sends none for watchpoints: raw
    packets): the stop is after the store with $rdi == 3, the false
    hits complete their store and go on; a condition that cannot be read
    stops at once and says why in an O packet; then `awatch x if $cr3 ==`
    from gdb stops for the right CR3 and never for another (a `watch`
    would not stop either: the loop writes the value already there)."""
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none"])
        c = RawConnection(sock)
        try:
            c.cmd("QStartNoAckMode")
            c.noack = True
            ok = c.cmd("Z0,%x,1" % end)
            rep = c.cmd("vCont;c")
            ctx.check(ok == b"OK" and rep.startswith(b"T05thread:1;swbreak"),
                      "at the end of a round", (ok, rep))
            c.cmd("z0,%x,1" % end)
            # reg 5 (rdi); ext 64; const8 3; equal; end
            ok = c.cmd("Z2,%x,%x;X9,260005164022031327" % (W + 8, 8 * N))
            ctx.check(ok == b"OK", "Z2 with a condition accepted", ok)
            rep = c.cmd("vCont;c").decode()
            ctx.check(rep.startswith("T05thread:1;watch:%x;" % (W + 24)),
                      "the stop is vCPU 0's watchpoint", (rep, getattr(c, "console", b"")))
            rdi = int.from_bytes(bytes.fromhex(c.cmd("p5").decode()), "little")
            val = int.from_bytes(bytes.fromhex(c.cmd("m%x,8" % (W + 24)).decode()), "little")
            ctx.check(rdi == 3 and val == 3, "after the store of the hit with $rdi == 3", (rdi, val))
            c.console = b""
            c.cmd("qRcmd," + b"stats".hex())
            st = _stats(c.console.decode())
            ctx.check(st.get("go") == 2 and st.get("stops") == 2,
                      "monitor stats: the 2 false hits resumed, 2 stops reported", c.console)
            c.cmd("z2,%x,%x" % (W + 8, 8 * N))
            # ref64 of an address nobody maps: the condition fails
            ok = c.cmd("Z2,%x,8;XB,25000000000000100a1a27" % (W + 8))
            ctx.check(ok == b"OK", "Z2 with a condition reading unmapped memory accepted", ok)
            c.send_raw(c.frame("vCont;c"))
            o, rep = b"", b""
            while True:
                pkt = c.read_packet(skip_console=False)
                if pkt.startswith(b"O") and not pkt.startswith(b"OK"):
                    o += bytes.fromhex(pkt[1:].decode())
                    continue
                rep = pkt
                break
            ctx.check(rep.startswith(b"T05thread:1;watch:%x;" % (W + 8)),
                      "a condition that fails stops at the hit", rep)
            ctx.check(b"could not be evaluated" in o and b"0x100a" in o,
                      "and says why on the console", o)
            c.cmd("z2,%x,8" % (W + 8))
            c.cmd("D")
        finally:
            c.close()
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "xenstub exits on SIGTERM (128+15)", L.read_log(p))
        L.check_as_found(ctx, sim, dom, before, "after conditional watchpoints")
        # gdb evaluates a watchpoint's condition itself
        cr3 = int(sim.state(dom)["vcpus"][0]["regs"]["cr3"], 16)
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none"], timeout=240, python=(L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("break *%(end)d")
gdb.execute("awatch *(long*)%(w)d if $cr3 == %(bad)d")
gdb.execute("continue")
res["first"] = [gdb.selected_thread().num, int(gdb.parse_and_eval("$pc"))]
gdb.execute("delete")
gdb.execute("awatch *(long*)%(w)d if $cr3 == %(cr3)d")
gdb.execute("continue")
res["second"] = [gdb.selected_thread().num, int(gdb.parse_and_eval("*(long*)%(w)d"))]
gdb.execute("delete")
print("RESULT " + _json.dumps(res))
gdb.execute("detach")
''') % {"dom": dom, "end": end, "w": W + 8, "cr3": cr3, "bad": cr3 ^ 0x1000})
        d = _result(ctx, r, "watch if $cr3: the session ran")
        if d is not None:
            ctx.check(d["first"] == [1, end], "awatch if $cr3 == another CR3 never stops", d)
            ctx.check(d["second"] == [1, 1], "awatch if $cr3 == vCPU 0's stops at the first store", d)
        L.check_as_found(ctx, sim, dom, before, "after watch if $cr3")


DPRINTF = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("break *%(end)d")
gdb.execute("continue")
gdb.execute("set dprintf-style agent")
gdb.execute('dprintf *%(store)d,"agent-line rdi=%%d value=%%ld\\n", $rdi, *(long*)$rsi')
gdb.execute("continue")
res["pc"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("continue")
res["stats"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
gdb.execute("detach")
'''


def test_agent_dprintf(ctx):
    """set dprintf-style agent: each round prints N lines, in order, with
    $rdi and the memory the store is about to overwrite, without a stop
    (gdb stops only at the end breakpoint); nothing is dropped."""
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none"], timeout=240,
                       python=DPRINTF % {"dom": dom, "end": end, "store": store, "w": W})
        d = _result(ctx, r, "agent dprintf: the session ran")
        if d is None:
            return
        want = ["agent-line rdi=%d value=%d" % (i, i) for i in range(1, N + 1)]
        # gdb prints a stub's console text on its stderr
        got = re.findall(r"agent-line [^\n\\]*", r.err)
        ctx.check(got == want + want, "2 rounds of N lines, in order, with the right values",
                  (got, r.out[-2000:]))
        ctx.check(d["pc"] == end, "the only stops are the end breakpoint's", d["pc"])
        s = _stats(d["stats"])
        ctx.check(s.get("lines") == 2 * N and s.get("dropped") == 0 and s.get("cmds") == 2 * N,
                  "monitor stats: 2N commands run, 2N lines, none dropped", d["stats"])
        L.check_as_found(ctx, sim, dom, before, "after agent dprintf")


TRACE = L.PY_STATE + r'''
import gdb
res = {"frames": []}
gdb.execute("break *%(end)d")
gdb.execute("continue")
gdb.execute("trace *%(store)d")
# actions are read from a script: gdb.execute takes no actions list
with open("%(file)s.gdb", "w") as f:
    f.write("actions\ncollect $regs\ncollect *(long*)$rsi\nend\n")
gdb.execute("source %(file)s.gdb")
gdb.execute("tstart")
gdb.execute("continue")
res["pc_end"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("tstop")
res["status"] = gdb.execute("tstatus", to_string=True)
for i in range(%(n)d + 1):
    try:
        out = gdb.execute("tfind %%d" %% i, to_string=True)
    except gdb.error as e:
        res["tfind_error"] = str(e)
        res["frames"].append(None)
        break
    if "No trace frame found" in out or "not found" in out:
        res["frames"].append(None)
        break
    if i == %(n)d:
        res["last"] = out
    res["frames"].append({"pc": int(gdb.parse_and_eval("$pc")),
                          "rdi": int(gdb.parse_and_eval("$rdi")),
                          "rsi": int(gdb.parse_and_eval("$rsi")) & 0xffffffffffffffff,
                          "mem": int(gdb.parse_and_eval("*(long*)$rsi"))})
gdb.execute("tfind 0")
res["tdump"] = gdb.execute("tdump", to_string=True)
gdb.execute("tfind none")
gdb.execute("tsave %(file)s")
res["live_pc"] = int(gdb.parse_and_eval("$pc"))
res["stats"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
gdb.execute("detach")
'''


def test_tracepoint_frames(ctx):
    """trace + collect $regs and memory + tstart: one round of the loop
    (N hits, no stop but the end breakpoint) gives N frames whose
    registers are those of each hit and whose memory is what the store is
    about to overwrite; tdump shows them; tfind none is the live guest
    again; the guest is left as found; tsave writes a trace file that
    gdb reads back (target tfile) with the same frames."""
    import os
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        path = os.path.join(ctx.tmp, "frames.tf")
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none", "--tracepoints"], timeout=240,
                       python=TRACE % {"dom": dom, "end": end, "store": store, "n": N, "file": path})
        d = _result(ctx, r, "tracepoints: the session ran")
        if d is None:
            return
        ctx.check(d["pc_end"] == end, "the run with the tracepoint stops only at the end", d)
        ctx.check("Collected %d trace frames" % N in d["status"], "tstatus: N frames", d["status"])
        want = [{"pc": store, "rdi": i, "rsi": W + 8 * i, "mem": i} for i in range(1, N + 1)]
        ctx.check(d["frames"] == want + [None],
                  "frame i: $pc at the store, $rdi == i, $rsi and the collected memory of hit i",
                  d["frames"])
        ctx.check("rdi" in d["tdump"] and "*(long*)$rsi = 1" in d["tdump"],
                  "tdump shows the collected registers and memory", d["tdump"])
        ctx.check(d["live_pc"] == end, "tfind none: the live guest's registers again", d)
        ctx.check(re.search(r"tracepoints: 1 defined, not running; %d hits, %d frames made" % (N, N),
                            d["stats"]) is not None, "monitor stats counts the hits and frames",
                  d["stats"])
        L.check_as_found(ctx, sim, dom, before, "after a trace experiment")
    # the file tsave wrote, read back by gdb on its own
    r = ctx.gdb(["target tfile " + path, "tstatus", "info tracepoints", "tfind 2", "p/x $pc",
                 "p $rdi", "p *(long*)$rsi", "tdump", "tfind %d" % (N - 1), "p $rdi",
                 "tfind %d" % N], timeout=120)
    ctx.check("Collected %d trace frames" % N in r.out and
              re.search(r"Found trace frame 2, .*\n\$1 = 0x%x\n\$2 = 3\n\$3 = 3\n" % store, r.out) and
              re.search(r"Found trace frame %d, .*\n\$4 = %d\n" % (N - 1, N), r.out) and
              "No trace frame found" in r.out,
              "tsave wrote the N frames: target tfile gives frame 2's and the last one's "
              "registers and memory", (r.out[-2000:], r.err[-2000:]))
    ctx.check("collect *(long*)$rsi" in r.out and "*(long*)$rsi = 3" in r.out and
              "no source location" not in r.err,
              "the file has the tracepoint's source (QTDPsrc uploaded back): info "
              "tracepoints lists its actions, tdump shows frame 2's collected memory",
              (r.out[-2500:], r.err[-1000:]))


def test_refusals(ctx):
    """Bad bytecode and bad tracepoint packets are refused and change
    nothing: no int3 goes into the guest for a Z0 whose condition is
    malformed or uses floating point, no tracepoint is defined by a
    malformed QTDP; an empty trace has no frame; the guest is left as
    found."""
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        p, sock = L.start_xenstub_unix(ctx, sim, "web01", args=["--os=none", "--tracepoints"])
        c = RawConnection(sock)
        try:
            c.cmd("QStartNoAckMode")
            c.noack = True
            byte = sim.ctl("read", dom, "--va", hex(store), "--vcpu", 0, 1)["hex"]
            # reg without its operand; a floating-point opcode; a jump
            # past the end
            for bad in ("X2,2627", "X2,0127", "X4,21000527"):
                rep = c.cmd("Z0,%x,1;%s" % (store, bad))
                ctx.check(rep.startswith(b"E"), "Z0 with %s refused" % bad, rep)
            ctx.check(sim.ctl("read", dom, "--va", hex(store), "--vcpu", 0, 1)["hex"] == byte,
                      "and no int3 went into the guest", byte)
            rep = c.cmd("qTStatus").decode()
            ctx.check(rep.startswith("T0;tnotrun:0;tframes:0;"), "qTStatus: no experiment yet", rep)
            ctx.check(c.cmd("QTinit") == b"OK", "QTinit")
            for bad in ("QTDP:1:%x:E:0:0:X2,2627" % store, "QTDP:1:%x:Q:0:0" % store,
                        "QTDP:-7:%x:R1" % store, "QTBuffer:size:20000000"):
                rep = c.cmd(bad)
                ctx.check(rep == b"E01", "%s refused" % bad, rep)
            ctx.check(c.cmd("qTfP") == b"l", "no tracepoint was defined", None)
            ctx.check(c.cmd("QTFrame:0") == b"F-1", "no frame to select", None)
            # a 0x03 that reaches xenstub while stopped (gdb sends it when
            # a stop reply crosses it, e.g. while it resumes after hits
            # whose condition it evaluates false): the next continue
            # stops at once, with SIGINT; the one after runs
            c.send_raw(b"\x03")
            rep = c.cmd("vCont;c").decode()
            ctx.check(rep.startswith("T02"), "a 0x03 received while stopped stops the next "
                      "continue (SIGINT), as gdbserver's pending SIGINT does", rep)
            ok = c.cmd("Z0,%x,1" % end)
            rep = c.cmd("vCont;c").decode()
            ctx.check(ok == b"OK" and rep.startswith("T05thread:1;swbreak"),
                      "and only that one: the next continue runs to the breakpoint", (ok, rep))
            c.cmd("z0,%x,1" % end)
            c.cmd("D")
        finally:
            c.close()
        p.terminate()
        ctx.check(L.wait_exit(p, 30) == 128 + 15, "xenstub exits on SIGTERM (128+15)", L.read_log(p))
        L.check_as_found(ctx, sim, dom, before, "after refused packets")


DR = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("break *%(end)d")
gdb.execute("continue")
gdb.execute("delete")
gdb.execute("hbreak *%(store)d if $rdi == 3")
gdb.execute("continue")
res["stop"] = [gdb.selected_thread().num, int(gdb.parse_and_eval("$pc")),
               int(gdb.parse_and_eval("$rdi"))]
res["stats"] = gdb.execute("monitor stats", to_string=True)
# a fast tracepoint there: a debug register too
gdb.execute("delete")
gdb.execute("break *%(end)d")
gdb.execute("continue")
gdb.execute("ftrace *%(store)d")
with open("%(actions)s", "w") as f:
    f.write("actions\ncollect $rdi\nend\n")
gdb.execute("source %(actions)s")
gdb.execute("tstart")
gdb.execute("continue")
res["end"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("tstop")
res["rdi"] = []
for i in range(%(n)d + 1):
    if "Found trace frame" not in gdb.execute("tfind %%d" %% i, to_string=True):
        break
    res["rdi"].append(int(gdb.parse_and_eval("$rdi")))
gdb.execute("tfind none")
print("RESULT " + _json.dumps(res))
gdb.execute("detach")
'''


def test_hbreak_if_debug_registers(ctx):
    """Without mem_access (xensim --amd): hbreak *ADDR if $rdi == 3 on a
    debug register; the false hits resume (with RF) without a stop, the
    stop is the hit with $rdi == 3; then a fast tracepoint (ftrace) on a
    debug register collects a round's N hits without a stop; the debug
    registers are given back."""
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim, extra=("--amd",))
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none", "--tracepoints"], timeout=240,
                       python=DR % {"dom": dom, "end": end, "store": store, "n": N,
                                    "actions": ctx.tmpfile("dr-actions.gdb")})
        d = _result(ctx, r, "hbreak if on a debug register: the session ran")
        if d is None:
            return
        ctx.check(d["stop"] == [1, store, 3], "the stop is vCPU 0's hit with $rdi == 3", d)
        st = _stats(d["stats"])
        ctx.check(st.get("go") == 2 and st.get("evals") == 3,
                  "3 evaluations, the 2 false hits resumed at once", d["stats"])
        ctx.check(d["end"] == end and d["rdi"] == list(range(1, N + 1)),
                  "ftrace on a debug register: a round's N hits as frames, no stop", d)
        L.check_as_found(ctx, sim, dom, before, "after hbreak if on a debug register")


CR3 = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("break *%(end)d")
gdb.execute("continue")
gdb.execute("break *%(store)d if $cr3 == %(bad)d")
gdb.execute("continue")
res["first"] = int(gdb.parse_and_eval("$pc"))
gdb.execute("delete 2")
gdb.execute("break *%(store)d if $cr3 == %(cr3)d")
gdb.execute("continue")
res["second"] = [int(gdb.parse_and_eval("$pc")), int(gdb.parse_and_eval("$rdi"))]
res["stats"] = gdb.execute("monitor stats", to_string=True)
print("RESULT " + _json.dumps(res))
gdb.execute("detach")
'''


def test_break_if_cr3(ctx):
    """break *ADDR if $cr3 == ...: decided by xenstub from the hitting
    vCPU's CR3 (a per-process breakpoint): another CR3 never stops (the
    round runs to its end), vCPU 0's stops at the round's first hit."""
    with L.xensim.sim_for(ctx) as sim:
        dom, set_rdi, store, end = _domain(ctx, sim)
        before = L.snapshot(sim, dom)
        cr3 = int(sim.state(dom)["vcpus"][0]["regs"]["cr3"], 16)
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none"], timeout=240,
                       python=CR3 % {"dom": dom, "end": end, "store": store, "cr3": cr3,
                                     "bad": cr3 ^ 0x1000})
        d = _result(ctx, r, "break if $cr3: the session ran")
        if d is None:
            return
        ctx.check(d["first"] == end, "another CR3: no stop before the end of the round", d)
        ctx.check(d["second"] == [store, 1], "vCPU 0's CR3: the round's first hit", d)
        st = _stats(d["stats"])
        ctx.check(st.get("go") == N and st.get("evals") == N + 1,
                  "N false hits resumed at once, then the true one", d["stats"])
        L.check_as_found(ctx, sim, dom, before, "after break if $cr3")
