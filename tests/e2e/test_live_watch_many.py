# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ten thousand watchpoints through gdb on a xensim domain built from the
Linux fixture: 7,000 packed on 28 frames and 3,000 one per frame. They
are set and listed; the frames restricted in xensim are exactly the
watched ones; a few stores to randomly chosen watched quadwords stop with
the right watchpoint, stores beside them do not; after `delete` every
frame has its permission back, and after gdb left the domain is as found.
gdb copes (about 7 s to set them, 2-3 s per continue, as gdb removes and
re-inserts every point around each stop): the figures are printed."""

import random
import time

import live_support as L

DENSE, DENSE_PHYS = 7000, 0x7100000     # 16 bytes apart: 250 per frame
SPARSE, SPARSE_PHYS = 3000, 0x7200000   # 0x1008 apart: one per frame
HITS = 6


def _addresses():
    dense = [L.DIRECT_MAP + DENSE_PHYS + 16 * i for i in range(DENSE)]
    sparse = [L.DIRECT_MAP + SPARSE_PHYS + 0x1008 * i for i in range(SPARSE)]
    return dense + sparse


def test_ten_thousand_watchpoints(ctx):
    addrs = _addresses()
    rnd = random.Random(20240611)
    picks = sorted(rnd.sample(range(len(addrs)), HITS), key=lambda i: rnd.random())
    p = L.Program(L.CODE)
    want = []
    for n, i in enumerate(picks):
        p.store(addrs[i] + 8, 8, 0x1)              # beside it: passes
        rip = p.store(addrs[i], 8, 0x1000 + n)
        want.append((rip + 3, i + 1))              # watchpoint numbers start at 1
    end = p.end()
    frames = {(a - L.DIRECT_MAP) >> 12 for a in addrs}
    setup = ["watch *(long*)0x%x" % a for a in addrs] + ["break *0x%x" % end]
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "many")
        L.load_programs(sim, dom, {0: p})
        before = L.snapshot(sim, dom)
        t0 = time.monotonic()
        run = L.watch_run(ctx, sim, dom, "many", setup, [(1, end)], counters=True,
                          between={HITS - 1: ["info watchpoints", "delete 1-%d" % len(addrs)]},
                          max_stops=HITS + 2, timeout=1800)
        took = time.monotonic() - t0
        after = L.snapshot(sim, dom)
    print("    gdb session with %d watchpoints: %.1f s for %d stops" % (len(addrs), took,
                                                                        len(run.stops)))
    got = [(s["pc"], (s.get("bps") or [None])[0]) for s in run.stops]
    ctx.check(got == want + [(end, len(addrs) + 1)],
              "each store to a watched quadword stops with its own watchpoint; the stores "
              "beside them do not", "want %s\ngot  %s\n%s" % (
                  [(hex(a), b) for a, b in want], [(hex(a) if a else a, b) for a, b in got],
                  run.describe()))
    if not run.stops:
        return
    acc = L.restricted_gfns({"mem_access": {"host": run.stops[0].get("access") or []}})
    ctx.check(set(acc) == frames and set(acc.values()) == {"rx"},
              "at a stop, exactly the %d watched frames are restricted (write)" % len(frames),
              "%d restricted, %d watched; extra %s; missing %s" % (
                  len(acc), len(frames), sorted(set(acc) - frames)[:10],
                  sorted(frames - set(acc))[:10]))
    listing = run.between(HITS - 1, "info watchpoints") or ""
    ctx.check(sum(1 for line in listing.splitlines() if "hw watchpoint" in line) == len(addrs),
              "info watchpoints lists %d hardware watchpoints" % len(addrs), listing[-500:])
    last = run.stops[-1]
    ctx.check(last["pc"] == end and last.get("access") == [],
              "after delete and running on, every frame has its permission back",
              last.get("access"))
    s = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check(s.get("watch", (0,))[0] == HITS and s.get("passed", (0,))[0] == HITS,
              "monitor stats: %d hits, %d passed through" % (HITS, HITS), run.after)
    d = L.diff(before, after)
    ctx.check(not d.keys() - {"digest"}, "the domain is as found after gdb left", d)
