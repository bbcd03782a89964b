# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two vCPUs hammering one watched frame, with real x86-64 code at every
step's rip: no hit is lost while the other vCPU is stepped past its own
access. Each vCPU writes (or reads) the watched quadword a known number of
times among unrelated accesses to the same frame; gdb must report every
one, on the right thread, with the value that thread's instruction left."""

import live_support as L

W = L.SCRATCH + 0x4040
N = 25


def _program(base, vcpu, kind):
    """N watched accesses by one vCPU, each among unrelated ones; returns
    the program and {address after a watched access: the value it left}."""
    p = L.Program(base)
    hits = {}
    for i in range(N):
        p.store(L.SCRATCH + 0x4100 + 8 * vcpu, 8, i)
        if kind == "write":
            v = (vcpu + 1) << 32 | (i + 1)
            rip = p.store(W, 8, v)
            hits[rip + 3] = v
        else:
            rip = p.load(W, 8)
            hits[rip + 3] = None
        p.load(L.SCRATCH + 0x4200 + 8 * vcpu, 8)
    p.end()
    return p, hits


def _hammer(ctx, kinds, point):
    progs, hits = {}, {}
    for v, kind in enumerate(kinds):
        progs[v], hits[v] = _program(L.CODE + 0x600 * v, v, kind)
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "smp")
        L.load_programs(sim, dom, progs)
        ends = [(v + 1, progs[v].end_pc) for v in progs]
        run = L.watch_run(ctx, sim, dom, "smp",
                          ["%s *(long*)0x%x" % (point, W)] +
                          ["break *0x%x" % e for _, e in ends], ends,
                          reads=[("value", "*(unsigned long*)0x%x" % W)],
                          max_stops=2 * N + 4, timeout=600)
        st = sim.state(dom)
    per = {1: [], 2: []}
    for s in run.stops:
        if s.get("thread") in per and s["pc"] not in (e for _, e in ends):
            per[s["thread"]].append(s)
    for v in progs:
        t = v + 1
        got = [s["pc"] for s in per[t]]
        ctx.check(got == sorted(hits[v]),
                  "thread %d: one stop after each of vCPU %d's %d watched accesses, in order"
                  % (t, v, N), "%d stops\n%s" % (len(got), run.describe()))
        wrong = [(hex(s["pc"]), s["value"]) for s in per[t]
                 if hits[v].get(s["pc"]) is not None and s["value"] != hits[v][s["pc"]]]
        ctx.check(not wrong, "thread %d: at each stop memory holds what that store wrote" % t,
                  wrong)
        c = st["vcpus"][v]["counters"]
        ctx.check(c["writes"] + c["reads"] == 3 * N,
                  "xensim: vCPU %d did its %d accesses" % (v, 3 * N), c)
    ctx.check({(s["thread"], s["pc"]) for s in run.stops if s.get("bps") and
               s["pc"] in (e for _, e in ends)} == set(ends),
              "both vCPUs reached their end", run.describe())
    s = L.stats_numbers(run.after.get("monitor stats"))
    hits_total = sum(len(hits[v]) for v in progs)
    ctx.check(s.get("watch", (0,))[0] == hits_total,
              "monitor stats: %d watchpoint hits" % hits_total, run.after)
    return run


def test_two_vcpus_write_one_watch(ctx):
    """watch: both vCPUs store distinct values into the watched quadword."""
    _hammer(ctx, ["write", "write"], "watch")


def test_two_vcpus_read_and_write_one_awatch(ctx):
    """awatch: vCPU 0 reads the quadword, vCPU 1 writes it."""
    _hammer(ctx, ["read", "write"], "awatch")
