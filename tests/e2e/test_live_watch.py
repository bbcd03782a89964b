# SPDX-License-Identifier: LGPL-2.1-or-later
"""Watchpoints and hardware breakpoints made from mem_access traps, on
xensim domains built from the Linux fixture, with real x86-64 code at every
step's rip: watch, rwatch, awatch and hbreak stop exactly at the access, on
the right thread, with the program counter and memory gdb must show; other
accesses to the watched frames pass without a stop and are counted; the
exact boundaries of watched ranges; the figures of `monitor stats`."""

import live_support as L

W = L.SCRATCH + 0x40          # the watched quadword of most tests
OTHER = L.SCRATCH + 0x10000   # a frame nobody watches


def _stop_text_ok(stop, *needles):
    text = stop.get("text", "")
    return all(n in text for n in needles)


def _run_one(ctx, sim, name, programs, setup, ends, reads=(), counters=False):
    dom = L.make_domain(ctx, sim, name)
    L.load_programs(sim, dom, programs)
    run = L.watch_run(ctx, sim, dom, name, setup, ends, reads=reads, counters=counters)
    return dom, run


def _after(prog, rip):
    """The address after the instruction at rip."""
    for st in prog.steps:
        if st.get("rip") == L.h(rip):
            return rip + st["len"]
    raise KeyError(hex(rip))


def test_watch_write(ctx):
    """watch: the stop comes after the store, on vCPU 1's thread, with the
    old and new values; the store before it, ending one byte short, and
    the read of the watched bytes do not stop."""
    p = L.Program(L.CODE + 0x400)
    p.store(W - 8, 8, 0x1111)             # the quadword before: not watched
    p.load(W, 8)                          # a read: a write watch ignores it
    hit = p.store(W, 8, 0x5a5a0001)
    p.store(W + 8, 8, 0x2222)             # the quadword after
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "w1", {1: p},
                            ["watch *(long*)0x%x" % W, "break *0x%x" % end],
                            [(2, end)], reads=[("value", "*(unsigned long*)0x%x" % W)])
        st = sim.state(dom)
    s = run.stops
    if not ctx.check(len(s) == 2 and s[-1]["pc"] == end, "two stops: the watchpoint, then the end",
                     run.describe()):
        return
    ctx.check(s[0]["thread"] == 2 and s[0]["pc"] == _after(p, hit),
              "the stop is on thread 2 (vCPU 1) with $pc after the store (0x%x)" % (_after(p, hit)),
              run.describe())
    ctx.check(_stop_text_ok(s[0], "hit Hardware watchpoint 1: *(long*)0x%x" % W,
                            "Old value = 0", "New value = %d" % 0x5a5a0001),
              "gdb prints 'Hardware watchpoint 1', the old and the new value", s[0]["text"])
    ctx.check(s[0]["value"] == 0x5a5a0001, "memory holds the new value at the stop", s[0])
    ctx.check(s[1].get("bps") == [2], "the end breakpoint is the only other stop", s[1])
    c = st["vcpus"][1]["counters"]
    ctx.check(c["writes"] == 3 and c["reads"] == 1 and c["emulated"] == 2,
              "xensim: three stores and a read were done, the two unwatched stores "
              "let through by Xen's emulator", c)
    n = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check(n.get("passed", (0,))[0] == 2 and n.get("watch", (0,))[0] == 1,
              "monitor stats: 2 accesses passed through, 1 watchpoint hit", run.after)


def test_rwatch_read(ctx):
    """rwatch: a store to the watched bytes and a read next to them pass;
    the read of them stops after it, with 'Value = '."""
    p = L.Program(L.CODE)
    p.store(W, 8, 0x77)                   # a write: not a read
    p.load(W - 8, 8)                      # the quadword before
    hit = p.load(W, 8)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "r1", {0: p},
                            ["rwatch *(long*)0x%x" % W, "break *0x%x" % end],
                            [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % W)])
        st = sim.state(dom)
    s = run.stops
    if not ctx.check(len(s) == 2 and s[-1]["pc"] == end, "two stops: the read watchpoint, then the end",
                     run.describe()):
        return
    ctx.check(s[0]["thread"] == 1 and s[0]["pc"] == _after(p, hit),
              "the stop is on thread 1 with $pc after the load (0x%x)" % (_after(p, hit)), run.describe())
    ctx.check(_stop_text_ok(s[0], "hit Hardware read watchpoint 1: *(long*)0x%x" % W,
                            "Value = %d" % 0x77),
              "gdb prints 'Hardware read watchpoint 1' and 'Value = 119'", s[0]["text"])
    c = st["vcpus"][0]["counters"]
    ctx.check(c["emulated"] == 2 and c["reads"] == 2 and c["writes"] == 1,
              "xensim: the store and the other read were trapped and emulated", c)


def test_awatch_read_and_write(ctx):
    """awatch: a read stops ('Value = '), a write stops ('Old value',
    'New value'), accesses beside them do not."""
    p = L.Program(L.CODE)
    rd = p.load(W, 8)
    wr = p.store(W, 8, 0x3c3c)
    p.store(W + 8, 8, 0x1)
    p.load(W + 8, 8)
    p.load(W - 1, 1)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "a1", {0: p},
                            ["awatch *(long*)0x%x" % W, "break *0x%x" % end],
                            [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % W)])
        st = sim.state(dom)
    s = run.stops
    if not ctx.check([x["pc"] for x in s] == [_after(p, rd), _after(p, wr), end],
                     "stops after the read, after the write, then the end", run.describe()):
        return
    ctx.check(_stop_text_ok(s[0], "hit Hardware access (read/write) watchpoint 1: *(long*)0x%x" % W,
                            "Value = 0"),
              "the read: 'Hardware access (read/write) watchpoint 1', 'Value = 0'", s[0]["text"])
    ctx.check(_stop_text_ok(s[1], "hit Hardware access (read/write) watchpoint 1",
                            "Old value = 0", "New value = %d" % 0x3c3c) and s[1]["value"] == 0x3c3c,
              "the write: old and new value, memory holds the new one", s[1])
    c = st["vcpus"][0]["counters"]
    ctx.check(c["emulated"] == 3, "xensim: the three accesses beside the range were emulated", c)


def test_hbreak_before_the_instruction(ctx):
    """hbreak: the stop is at the instruction, before it executes (its
    store has not happened), on the thread that fetched it; every other
    instruction of the frame is let through."""
    p = L.Program(L.CODE + 0x400)
    p.store(OTHER, 8, 1)
    p.need("rdi", W)
    hb = p.store(W, 8, 0x99)
    p.jump(L.CODE2)                        # the end is on another frame
    end = p.end()
    on_frame = [int(st["rip"], 16) for st in p.steps
                if "rip" in st and int(st["rip"], 16) >> 12 == L.CODE_FRAME >> 12]
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "hb1", {1: p},
                            ["hbreak *0x%x" % hb, "break *0x%x" % end],
                            [(2, end)], reads=[("value", "*(unsigned long*)0x%x" % W)])
        st = sim.state(dom)
    s = run.stops
    if not ctx.check([x["pc"] for x in s] == [hb, end], "stops at the hbreak, then at the end",
                     run.describe()):
        return
    ctx.check(s[0]["thread"] == 2 and _stop_text_ok(s[0], "hit Breakpoint 1, 0x%016x" % hb),
              "gdb prints 'Breakpoint 1, 0x%x' on thread 2" % hb, s[0]["text"])
    ctx.check(s[0]["value"] == 0 and s[1]["value"] == 0x99,
              "the store has not happened at the stop, it has after continuing", s)
    n = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check(n.get("hbreak", (0,))[0] == 1 and n.get("passed", (0,))[0] == len(on_frame) - 1,
              "monitor stats: 1 hardware breakpoint hit, the %d other fetches from the frame "
              "passed through" % (len(on_frame) - 1), run.after)
    c = st["vcpus"][1]["counters"]
    ctx.check(c["writes"] == 2, "both stores were done", c)


def test_unrelated_accesses_pass(ctx):
    """A frame with a write watch, a read watch and an access watch: reads
    and writes of every size at every other offset (the bytes right
    beside each range included), a read of the write-watched bytes and a
    write of the read-watched ones go on without a stop; each is counted
    by xensim and by `monitor stats`."""
    wq, rq, aw = L.SCRATCH + 0x100, L.SCRATCH + 0x204, L.SCRATCH + 0x302
    p = L.Program(L.CODE)
    n = 0
    for size in (1, 2, 4, 8):
        for va in (wq - size, wq + 8, rq - size, rq + 4, aw - size, aw + 2,
                   L.SCRATCH, L.SCRATCH + 0xff8 - size + 8):
            p.store(va, size, size)
            p.load(va, size)
            n += 2
    p.load(wq, 8)                           # read of a write watch
    p.store(rq, 4, 0x1234)                  # write of a read watch
    n += 2
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "u1", {0: p},
                            ["watch *(long*)0x%x" % wq, "rwatch *(int*)0x%x" % rq,
                             "awatch *(short*)0x%x" % aw, "break *0x%x" % end],
                            [(1, end)])
        st = sim.state(dom)
    ctx.check([x["pc"] for x in run.stops] == [end], "no stop before the end", run.describe())
    c = st["vcpus"][0]["counters"]
    ctx.check(c["emulated"] == n and c["reads"] + c["writes"] == n,
              "xensim: all %d accesses were trapped and let through by the emulator" % n, c)
    s = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check(s.get("passed", (0,))[0] == n and s.get("watch", (1,))[0] == 0,
              "monitor stats: %d passed through, no hit" % n, run.after)
    ctx.check(s.get("passed", (0, 0.0))[1] > 0, "monitor stats: a mean handling time", run.after)


def test_boundaries(ctx):
    """Byte-exact ranges: an unaligned 5-byte watch, a 1-byte watch, an
    8 KiB watch over three frames and an unaligned 5-byte read watch; an
    access that covers the first or the last byte stops, one that ends one
    byte before or starts one byte after does not."""
    a, b, m, c = L.SCRATCH + 0x403, L.SCRATCH + 0x603, L.SCRATCH + 0x1800, L.SCRATCH + 0x803
    p = L.Program(L.CODE)
    hits = []
    p.store(a - 8, 8, 0x0101010101010101)         # ends one byte before a
    hits.append(_after(p, p.store(a - 7, 8, 0x1100000000000000)))   # its last byte is a
    p.store(a + 5, 1, 0x12)                       # one byte after
    hits.append(_after(p, p.store(a + 4, 2, 0x2222)))    # covers the last byte
    hits.append(_after(p, p.store(a + 1, 4, 0x33333333)))
    p.store(b - 1, 1, 0x40)
    p.store(b + 1, 1, 0x41)
    hits.append(_after(p, p.store(b, 1, 0x44)))
    hits.append(_after(p, p.store(b - 1, 2, 0x5555)))    # straddles the one byte
    p.store(m - 8, 8, 0x6060)
    hits.append(_after(p, p.store(m, 1, 0x66)))
    hits.append(_after(p, p.store(m + 0x1000, 8, 0x7777)))  # the middle frame
    hits.append(_after(p, p.store(m + 0x1fff, 1, 0x88)))    # the last byte
    p.store(m + 0x2000, 8, 0x9999)
    p.load(c - 8, 8)
    hits.append(_after(p, p.load(c - 7, 8)))
    p.load(c + 5, 1)
    hits.append(_after(p, p.load(c + 4, 2)))
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "b1", {0: p},
                            ["watch *(char[5]*)0x%x" % a, "watch *(char*)0x%x" % b,
                             "watch *(char[8192]*)0x%x" % m, "rwatch *(char[5]*)0x%x" % c,
                             "break *0x%x" % end], [(1, end)])
        st = sim.state(dom)
    got = [x["pc"] for x in run.stops]
    ctx.check(got == hits + [end], "exactly the accesses that touch a watched byte stop, "
              "each with $pc after it", "want %s\ngot  %s\n%s" % (
                  [hex(x) for x in hits + [end]], [hex(x) for x in got], run.describe()))
    want_bp = [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5]
    got_bp = [(x.get("bps") or [None])[0] for x in run.stops]
    ctx.check(got_bp == want_bp[:len(got_bp)] and len(got_bp) == len(want_bp),
              "gdb names the watchpoint of each stop", (want_bp, got_bp))
    ctx.check("Hardware read watchpoint 4" in run.r.out,
              "the read watch reports as 'Hardware read watchpoint 4'", run.describe())
    c0 = st["vcpus"][0]["counters"]
    ctx.check(c0["writes"] == 14 and c0["reads"] == 4, "every access was done", c0)


def test_rep_string_covers_watch(ctx):
    """rep stos and rep movs write RCX elements from RDI: one whose range
    covers the watched quadword stops after it, wherever RDI starts; one
    that ends one byte before, or starts one byte after, does not."""
    w = L.SCRATCH + 0x940
    p = L.Program(L.CODE)
    hits = []
    p.rep_stos(w - 0x40, 0x40, 1, 0x0f)                      # ends one byte before
    hits.append(_after(p, p.rep_stos(w - 0x40, 0x100, 1, 0x11)))   # covers it
    hits.append(_after(p, p.rep_stos(w, 4, 8, 0x2222)))            # starts at it
    p.rep_stos(w + 8, 0x20, 8, 0x0e)                         # starts one byte after
    hits.append(_after(p, p.rep_movs(w - 0x18, OTHER, 8, 8, 0x3333)))  # covers it
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "rep", {0: p},
                            ["watch *(long*)0x%x" % w, "break *0x%x" % end], [(1, end)],
                            reads=[("value", "*(unsigned long*)0x%x" % w)])
    got = [x["pc"] for x in run.stops]
    ctx.check(got == hits + [end], "each rep string instruction whose range covers the "
              "watched bytes stops after it", "want %s\ngot  %s\n%s" % (
                  [hex(x) for x in hits + [end]], [hex(x) for x in got], run.describe()))
    ctx.check([x.get("value") for x in run.stops[:-1]] ==
              [0x1111111111111111, 0x2222, 0x3333][:len(run.stops) - 1],
              "memory holds each instruction's new value", run.describe())


def test_monitor_stats(ctx):
    """`monitor stats` counts every access event by what became of it
    (passed through, watchpoint hit, hardware-breakpoint hit) with a mean
    handling time, and the events received and stops reported; its counts
    agree with xensim's and with the stops gdb saw."""
    w = L.SCRATCH + 0x3040
    p = L.Program(L.CODE)
    for i in range(3):
        p.store(w + 8, 8, i)                     # passes
        p.store(w, 8, i + 1)                     # hits
    p.store(w - 8, 8, 9)
    p.store(w + 16, 8, 9)
    p.jump(L.CODE2)
    hb1 = p.nop()
    p.nop()                                      # (a step over hb1 ends here)
    hb2 = p.nop()
    p.jump(L.CODE2 + 0x1000)                     # the end on a third frame
    end = p.end()
    on_hb_frame = sum(1 for st in p.steps if "rip" in st and
                      int(st["rip"], 16) >> 12 == L.CODE2 >> 12 and
                      int(st["rip"], 16) not in (hb1, hb2))
    passes = 5 + on_hb_frame
    with L.xensim.sim_for(ctx) as sim:
        dom, run = _run_one(ctx, sim, "st1", {0: p},
                            ["watch *(long*)0x%x" % w, "hbreak *0x%x" % hb1,
                             "hbreak *0x%x" % hb2, "break *0x%x" % end], [(1, end)])
        st = sim.state(dom)
    if not ctx.check(len(run.stops) == 6, "3 watchpoint stops, 2 hbreak stops, the end",
                     run.describe()):
        return
    s = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check(s.get("passed", (0,))[0] == passes and s.get("watch", (0,))[0] == 3 and
              s.get("hbreak", (0,))[0] == 2,
              "per kind: %d passed through, 3 watchpoint hits, 2 hardware breakpoint hits"
              % passes, run.after)
    ctx.check(all(s.get(k, (0, 0.0))[1] > 0 for k in ("passed", "watch", "hbreak")),
              "a mean handling time for each kind", run.after)
    ev = st["vcpus"][0]["counters"]["by_reason"]
    ctx.check(ev["mem_access"] == passes + 3 + 2,
              "xensim raised exactly as many access events as xenstub sorted (%d)"
              % (passes + 5), (ev, run.after))
    ctx.check(s.get("received", 0) == sum(ev.values()) and
              s.get("received", 0) >= ev["mem_access"] + ev["software_breakpoint"],
              "events received = every event xensim raised for the vCPU (access, "
              "breakpoint, single-step)", (ev, run.after))
    # gdb steps over each hbreak before continuing: those stops are not shown
    ctx.check(s.get("stops", 0) == len(run.stops) + 2 and s.get("steps") == 2,
              "stops reported = the 6 stops gdb showed + its 2 steps over the hbreaks",
              run.after)


STEPI = r"""
import gdb, json, os, signal, subprocess, threading, time
def state():
    out = subprocess.run([os.environ["XSCTL"], "state", "%(dom)d"], capture_output=True,
                         text=True).stdout
    return json.loads(out)
def steps():
    return state()["vcpus"][0]["counters"]["steps"]
stepping = [False]
interrupted = [False]
def bound():
    # a step that never ends (the workload finished under it): interrupt
    seen = 0
    while True:
        time.sleep(0.5)
        seen = seen + 1 if stepping[0] and state()["vcpus"][0]["state"] == "halted" else 0
        if seen == 3 and stepping[0]:
            interrupted[0] = True
            os.kill(os.getpid(), signal.SIGINT)
            seen = 0
threading.Thread(target=bound, daemon=True).start()
%(setup)s
subprocess.run([os.environ["XSCTL"], "start", "%(dom)d"], capture_output=True)
gdb.execute("continue")
rec = [(int(gdb.parse_and_eval("$pc")), steps())]
for i in range(%(n)d):
    stepping[0] = True
    gdb.execute("stepi")
    stepping[0] = False
    rec.append((int(gdb.parse_and_eval("$pc")), steps()))
    if interrupted[0]:
        break
print("STEPI-RESULT " + json.dumps(rec))
"""


def _stepi_run(ctx, name, prog, setup, n):
    import json
    import re
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, name)
        L.load_programs(sim, dom, {0: prog})
        script = STEPI % {"dom": dom, "n": n,
                          "setup": "\n".join("gdb.execute(%r)" % c for c in setup)}
        env = sim.env({"XSCTL": sim.ctl_bin, "XENSIM_SOCKET": sim.socket})
        r = ctx.gdb(["set scheduler-locking step"], target="xen:" + name, python=script,
                    env=env, timeout=120)
    m = re.search(r"STEPI-RESULT (.*)", r.out)
    return (json.loads(m.group(1)) if m else None), r


def test_stepi_past_an_access_that_passes(ctx):
    """stepi over instructions that touch a watched frame but no watched
    byte (Xen's emulator completes them) moves exactly one instruction
    each time."""
    w = L.SCRATCH + 0x3840
    p = L.Program(L.CODE2)
    p.need("rdi", w + 8)
    first = p.nop()
    p.store(w + 8, 8, 1)
    p.store(w + 8, 8, 2)
    p.nop()
    p.nop()
    p.end()
    pcs = [first] + [_after(p, int(st["rip"], 16)) for st in p.steps[1:4]]
    rec, r = _stepi_run(ctx, "step1", p, ["watch *(long*)0x%x" % w, "hbreak *0x%x" % first], 3)
    if not ctx.check(rec is not None, "the stepping session ran", r):
        return
    ctx.check([pc for pc, _ in rec] == pcs,
              "each stepi ends at the next instruction", ([hex(x) for x, _ in rec],
                                                          [hex(x) for x in pcs]))
    ctx.check([n - rec[0][1] for _, n in rec] == [0, 1, 2, 3],
              "xensim: each stepi retired exactly one instruction", rec)


def test_stepi_on_an_hbreak_frame(ctx):
    """stepi through instructions of a frame that holds a hardware
    breakpoint elsewhere (their fetches are let through) moves exactly
    one instruction each time."""
    p = L.Program(L.CODE)
    first = p.nop()
    for _ in range(4):
        p.nop()
    other = p.nop()                 # the hbreak that restricts the frame
    p.end()
    rec, r = _stepi_run(ctx, "step2", p, ["hbreak *0x%x" % first, "hbreak *0x%x" % other], 3)
    if not ctx.check(rec is not None, "the stepping session ran", r):
        return
    ctx.check([pc for pc, _ in rec] == [first, first + 1, first + 2, first + 3],
              "each stepi ends at the next instruction", [hex(x) for x, _ in rec])
    ctx.check([n - rec[0][1] for _, n in rec] == [0, 1, 2, 3],
              "xensim: each stepi retired exactly one instruction", rec)
