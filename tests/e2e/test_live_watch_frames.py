# SPDX-License-Identifier: LGPL-2.1-or-later
"""Watchpoints on awkward frames, on xensim domains built from the Linux
fixture with real x86-64 code at every step's rip: a watch spanning two
frames, one frame reached through two virtual addresses (the marker
process's user mapping and the kernel's direct map; a kernel-style
writable alias of kernel text), permissions given back when a watchpoint
goes, a page-table page (the walk of another access faults in it), the
frame holding a software breakpoint's int3, one frame with a write watch,
a read watch and a hardware breakpoint on it, and the guest's own stack
(push, pop, call, pushf)."""

import live_support as L


def _after(prog, rip):
    for st in prog.steps:
        if st.get("rip") == L.h(rip):
            return rip + st["len"]
    raise KeyError(hex(rip))


def _cr3s(fx):
    return [int(r["cr3"], 16) for r in fx.truth["registers"]]


def _pcs(run):
    return [x["pc"] for x in run.stops]


def _want(ctx, run, want, what):
    got = _pcs(run)
    return ctx.check(got == want, what, "want %s\ngot  %s\n%s" % (
        [hex(x) for x in want], [hex(x) if isinstance(x, int) else x for x in got],
        run.describe()))


def test_watch_spanning_two_frames(ctx):
    """watch *(long*) over a frame boundary: accesses to either half stop,
    one crossing the boundary stops, the bytes beside it do not; an access
    crossing the next boundary, touching no watched byte, passes; both
    frames (and only those) are restricted while it is set, and none
    after gdb left."""
    f = L.SCRATCH + 0x3000
    a = f + 0xffc                              # 4 bytes in each frame
    other = f + 0x2010                         # another watch, next frame
    p = L.Program(L.CODE)
    hits = []
    p.store(a - 1, 1, 0x01)
    p.store(a - 4, 4, 0x02020202)              # ends one byte before
    hits.append(_after(p, p.store(a, 4, 0x11111111)))        # first frame's half
    hits.append(_after(p, p.store(a + 4, 4, 0x22222222)))    # second frame's half
    p.store(a + 8, 1, 0x03)                    # one byte after
    hits.append(_after(p, p.store(a - 2, 8, 0x3333333333333333)))  # crosses the boundary
    p.store(f + 0x1ffc, 8, 0x4444)             # crosses the next boundary, misses
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "span")
        L.load_programs(sim, dom, {0: p})
        before = L.snapshot(sim, dom)
        run = L.watch_run(ctx, sim, dom, "span",
                          ["watch *(long*)0x%x" % a, "watch *(long*)0x%x" % other,
                           "break *0x%x" % end], [(1, end)], counters=True,
                          reads=[("value", "*(unsigned long*)0x%x" % a)])
        after = L.snapshot(sim, dom)
        st = sim.state(dom)
    _want(ctx, run, hits + [end], "each access touching the watched quadword stops, "
          "on either side of the frame boundary")
    if len(run.stops) == 4:
        ctx.check([s["value"] for s in run.stops[:3]] ==
                  [0x11111111, 0x2222222211111111, 0x2222333333333333],
                  "gdb sees each new value", run.describe())
        gfn = L.SCRATCH_PHYS + 0x3000 >> 12
        acc = L.restricted_gfns({"mem_access": {"host": run.stops[0]["access"] or []}})
        ctx.check(sorted(acc) == [gfn, gfn + 1, gfn + 2] and set(acc.values()) == {"rx"},
                  "while stopped, exactly the watched frames lose write permission",
                  run.stops[0]["access"])
    c = st["vcpus"][0]["counters"]
    ctx.check(c["writes"] == 7 and c["emulated"] == 4, "every store was done; the 4 that touch "
              "no watched byte were emulated", c)
    d = L.diff(before, after)
    ctx.check(not d.keys() - {"digest"} and L.restricted(st) == {"host": [], "views": []},
              "after gdb left, every frame has its permission back", d)


def test_alias_marker_user_mapping(ctx):
    """A watch set on the kernel's direct-map address of the marker
    process's buffer stops when the kernel, on the marker's page tables,
    writes the buffer through its user address: the frame is compared by
    physical address and the stop names the watched address."""
    fx = ctx.fixture()
    mk = fx.truth["marker"]
    pgd, buf = int(mk["pgd_phys"], 16), int(mk["buffer_vaddr"], 16)
    walk = fx.walk(pgd, buf + 0x10)
    if walk["fault"]:
        ctx.skip("the marker's buffer is not mapped in the fixture: %s" % walk["fault"])
    dm = L.DIRECT_MAP + walk["paddr"]
    old = int.from_bytes(fx.read_phys(walk["paddr"], 8), "little")
    p = L.Program(L.CODE)
    p.write_cr3(pgd)                            # switch to the marker's mm
    p.stac()                                    # as copy_to_user does
    p.load(buf + 0x10, 8)                       # a read: not watched
    p.store(buf + 0x18, 8, 0x1)                 # the quadword after
    hit = _after(p, p.store(buf + 0x10, 8, 0x6b6b6b6b6b6b6b6b))
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "alias")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "alias", ["watch *(long*)0x%x" % dm, "break *0x%x" % end],
                          [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % dm)])
        st = sim.state(dom)
    if not _want(ctx, run, [hit, end], "the store through the user address stops after it"):
        return
    s = run.stops[0]
    ctx.check("hit Hardware watchpoint 1: *(long*)0x%x" % dm in s["text"] and
              "Old value = %d" % old in s["text"] and
              "New value = %d" % 0x6b6b6b6b6b6b6b6b in s["text"],
              "gdb reports the direct-map watchpoint with the marker's bytes as the old value",
              s["text"])
    ctx.check(s["value"] == 0x6b6b6b6b6b6b6b6b, "the direct map shows the new value", s)
    ctx.check(st["vcpus"][0]["counters"]["emulated"] == 1,
              "the store beside it was let through", st["vcpus"][0]["counters"])


def test_alias_writable_kernel_text(ctx):
    """A write watch on kernel text (read-only in the kernel's own page
    tables) stops when the text is written through a writable alias of its
    frame, as text_poke does; the stop names the text address."""
    fx = ctx.fixture()
    text = L.CODE_FRAME + 0x800
    tw = fx.walk(_cr3s(fx)[0], text)
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "poke")
        alias = L.alias_1g(sim, dom, _cr3s(fx))
        p = L.Program(L.CODE)
        p.store(alias + tw["paddr"] + 8, 8, 0x1)          # beside it
        hit = _after(p, p.store(alias + tw["paddr"], 8, 0xcccccccccccccccc))
        end = p.end()
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "poke", ["watch *(long*)0x%x" % text, "break *0x%x" % end],
                          [(1, end)], reads=[("value", "*(unsigned long*)0x%x" % text)])
    if not _want(ctx, run, [hit, end], "the store through the alias stops after it"):
        return
    ctx.check("hit Hardware watchpoint 1: *(long*)0x%x" % text in run.stops[0]["text"] and
              run.stops[0]["value"] == 0xcccccccccccccccc,
              "gdb reports the text address with the value written through the alias",
              run.stops[0]["text"])


def test_delete_gives_permission_back(ctx):
    """After `delete`, the next store to the address does not stop and the
    frame's permission is back (xensim) as soon as the guest runs."""
    w = L.SCRATCH + 0x5040
    p = L.Program(L.CODE)
    first = _after(p, p.store(w, 8, 0x1))
    p.store(w, 8, 0x2)
    p.store(w + 8, 8, 0x3)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "del")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "del", ["watch *(long*)0x%x" % w, "break *0x%x" % end],
                          [(1, end)], counters=True, between={0: ["delete 1"]},
                          reads=[("value", "*(unsigned long*)0x%x" % w)])
        st = sim.state(dom)
    if not _want(ctx, run, [first, end], "one stop, then none after the delete"):
        return
    gfn = (L.SCRATCH_PHYS + 0x5000) >> 12
    ctx.check(L.restricted_gfns({"mem_access": {"host": run.stops[0]["access"]}}) == {gfn: "rx"},
              "at the hit, the frame is restricted", run.stops[0]["access"])
    ctx.check(run.stops[1]["access"] == [], "at the end, after running without the watchpoint, "
              "the frame has its permission back", run.stops[1]["access"])
    ctx.check(run.stops[1]["value"] == 0x2 and
              st["vcpus"][0]["counters"]["emulated"] == 0,
              "the later stores ran at full speed (not trapped)", st["vcpus"][0]["counters"])
    s = L.stats_numbers(run.after.get("monitor stats"))
    ctx.check(s.get("points") == 0 and s.get("frames") == 0,
              "monitor stats: no point left, on no frame", run.after)


def test_page_table_frame(ctx):
    """A read watch on the page-directory entry that maps the direct map:
    every access through the direct map reads it in the page walk
    (MEM_ACCESS_FAULT_IN_GPT); that is not the program's read, gdb does
    not stop and the guest goes on."""
    fx = ctx.fixture()
    w = fx.walk(_cr3s(fx)[0], L.SCRATCH)
    pde = [e for e in w["levels"] if e[0] == "PDE"][0][1]
    p = L.Program(L.CODE)
    for i in range(4):
        p.store(L.SCRATCH + 0x700 + 8 * i, 8, i + 1)
        p.load(L.SCRATCH + 0x700 + 8 * i, 8)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "gpt")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "gpt", ["rwatch *(long*)0x%x" % (L.DIRECT_MAP + pde),
                                                 "break *0x%x" % end], [(1, end)])
        st = sim.state(dom)
    _want(ctx, run, [end], "no stop before the end: the page walks are not reads of the program")
    c = st["vcpus"][0]["counters"]
    ctx.check(c["writes"] == 4 and c["reads"] == 4 and c["by_reason"]["mem_access"] >= 8,
              "the guest went on: every access faulted in the page walk and was done", c)


def test_page_table_frame_hides_no_watchpoint(ctx):
    """The same read watch on a page-table entry, and a write watch on the
    data: the store must still stop, though its page walk faulted first
    on the page-table frame; and so must the kernel's own read of the
    watched entry (its walk faults on the same frame)."""
    fx = ctx.fixture()
    w = fx.walk(_cr3s(fx)[0], L.SCRATCH)
    pde = L.DIRECT_MAP + [e for e in w["levels"] if e[0] == "PDE"][0][1]
    data = L.SCRATCH + 0x740
    p = L.Program(L.CODE)
    p.store(data + 8, 8, 0x1)
    st_hit = _after(p, p.store(data, 8, 0x7e7e))
    rd_hit = _after(p, p.load(pde, 8))
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "gpt2")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "gpt2", ["rwatch *(long*)0x%x" % pde,
                                                  "watch *(long*)0x%x" % data,
                                                  "break *0x%x" % end], [(1, end)])
    _want(ctx, run, [st_hit, rd_hit, end],
          "the watched store and the read of the watched entry stop, although their page "
          "walks faulted on the watched page-table frame first")


def test_int3_frame(ctx):
    """A software breakpoint, a read watch on bytes of the same text frame
    (read RIP-relative, as the kernel reads constants next to its code)
    and an access watch on that frame (written through a writable alias):
    in a loop run twice, all stop both times: the breakpoint keeps working
    after the frame was relaxed for a watched access."""
    fx = ctx.fixture()
    const = L.CODE_FRAME + 0xc00
    poke = L.CODE_FRAME + 0xc08
    tw = fx.walk(_cr3s(fx)[0], poke)
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "int3")
        alias = L.alias_1g(sim, dom, _cr3s(fx))
        p = L.Program(L.CODE)
        want = []
        p.store(L.SCRATCH, 8, 1)
        want.append(p.nop())                                   # the breakpoint
        want.append(_after(p, p.load_rip(const)))              # rwatch
        want.append(_after(p, p.store(alias + tw["paddr"], 8, 0x5150)))  # awatch
        p.loop(times=1)
        end = p.end()
        L.load_programs(sim, dom, {0: p})
        orig = sim.ctl("read", dom, "--va", L.h(want[0]), "--vcpu", 0, 1)["hex"]
        run = L.watch_run(ctx, sim, dom, "int3",
                          ["break *0x%x" % want[0], "rwatch *(long*)0x%x" % const,
                           "awatch *(long*)0x%x" % poke, "break *0x%x" % end], [(1, end)])
        st = sim.state(dom)
        now = sim.ctl("read", dom, "--va", L.h(want[0]), "--vcpu", 0, 1)["hex"]
    _want(ctx, run, want + want + [end],
          "breakpoint, read watch, access watch, twice, then the end")
    ctx.check(st["vcpus"][0]["counters"]["bp_delivered"] == 0,
              "the guest never took our int3", st["vcpus"][0]["counters"])
    ctx.check(now == orig, "the int3 is gone from guest memory after gdb left", (orig, now))


def test_hbreak_frame_hides_no_watchpoint(ctx):
    """A hardware breakpoint restricts execution of its whole frame: the
    other instructions there are let through, and one of them that writes
    a watched address must still stop."""
    w = L.SCRATCH + 0x6040
    p = L.Program(L.CODE)
    hits = []
    for i in range(3):
        hits.append(_after(p, p.store(w, 8, i + 1)))
        p.nop()
    hb = p.nop()
    p.jump(L.CODE2)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "hbw")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "hbw", ["watch *(long*)0x%x" % w, "hbreak *0x%x" % hb,
                                                 "break *0x%x" % end], [(1, end)])
        st = sim.state(dom)
    _want(ctx, run, hits + [hb, end], "the three watched stores stop, then the hbreak, then the end")
    ctx.check(st["vcpus"][0]["counters"]["writes"] == 3, "the stores were done",
              st["vcpus"][0]["counters"])


def test_one_frame_every_kind(ctx):
    """Code and data on one frame (a read-write-execute alias, as JIT code
    or a kernel module with data beside its text): a write watch, a read
    watch and a hardware breakpoint on that frame each stop where they
    must."""
    fx = ctx.fixture()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "mixed")
        alias = L.alias_1g(sim, dom, _cr3s(fx))
        frame = alias + L.SCRATCH_PHYS + 0x8000
        wq, rq = frame + 0x800, frame + 0x810
        p = L.Program(frame + 0x100)
        want = []
        want.append(_after(p, p.store(wq, 8, 0x11)))
        p.store(wq + 8, 8, 0x1)
        want.append(_after(p, p.load(rq, 8)))
        p.load(rq + 8, 8)
        want.append(p.nop())                                   # hbreak
        want.append(_after(p, p.store(wq, 8, 0x22)))
        p.jump(L.CODE2)
        end = p.end()
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "mixed",
                          ["watch *(long*)0x%x" % wq, "rwatch *(long*)0x%x" % rq,
                           "hbreak *0x%x" % want[2], "break *0x%x" % end], [(1, end)])
    _want(ctx, run, want + [end], "write watch, read watch, hbreak, write watch, then the end")


def test_int3_on_hbreak_frame(ctx):
    """A software breakpoint on the frame of a hardware breakpoint: both
    stop, and the guest never takes gdb's int3 as its own."""
    p = L.Program(L.CODE)
    p.store(L.SCRATCH, 8, 1)
    bp = p.nop()
    p.store(L.SCRATCH, 8, 2)
    hb = p.nop()
    p.jump(L.CODE2)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "bphb")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "bphb", ["break *0x%x" % bp, "hbreak *0x%x" % hb,
                                                  "break *0x%x" % end], [(1, end)])
        st = sim.state(dom)
    _want(ctx, run, [bp, hb, end], "the breakpoint, the hardware breakpoint, the end")
    ctx.check(st["vcpus"][0]["counters"]["bp_delivered"] == 0,
              "the guest never took gdb's int3", st["vcpus"][0]["counters"])


def test_hbreak_on_watched_store(ctx):
    """A hardware breakpoint on a store to a watched address: the
    breakpoint stops before the store, the watchpoint after it, and
    nothing else stops."""
    w = L.SCRATCH + 0x6840
    p = L.Program(L.CODE)
    p.need("rdi", w)
    hb = p.store(w, 8, 0xabcdef)
    p.jump(L.CODE2)
    end = p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "hbst")
        L.load_programs(sim, dom, {0: p})
        run = L.watch_run(ctx, sim, dom, "hbst", ["watch *(long*)0x%x" % w, "hbreak *0x%x" % hb,
                                                  "break *0x%x" % end], [(1, end)],
                          reads=[("value", "*(unsigned long*)0x%x" % w)], max_stops=6)
    _want(ctx, run, [hb, _after(p, hb), end],
          "hbreak before the store, the watchpoint after it, the end")
    ctx.check(not any(s.get("event") == "SignalEvent" for s in run.stops),
              "no stray SIGTRAP stop", run.describe())


def test_guest_stack(ctx):
    """The frame of vCPU 1's own kernel stack: a write watch on the slot
    below RSP and a read watch on the slot at RSP; push, call and pushf
    store into the first (stop), pop reads the second (stop), other stack
    accesses pass."""
    fx = ctx.fixture()
    rsp = int(fx.truth["registers"][1]["rsp"], 16)
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "stack")
        orig = int(sim.ctl("read", dom, "--va", L.h(rsp - 8), "--vcpu", 1, 8)["hex"], 16)
        p = L.Program(L.CODE + 0x400)
        p.need("rsp", rsp)
        want = []
        want.append(_after(p, p.push(orig ^ 0x1111)))      # writes [rsp-8]
        want.append(_after(p, p.pop()))                    # reads [rsp]
        p.store(rsp - 16, 8, 1, base="rsp", disp=-16)      # below: passes
        p.load(rsp + 8, 8, base="rsp", disp=8)             # above: passes
        want.append(_after(p, p.call_next()))              # return address to [rsp-8]
        want.append(_after(p, p.pushf()))                  # RFLAGS to [rsp-8]
        p.pop()                                            # reads [rsp-8]: a write watch
        end = p.end()
        L.load_programs(sim, dom, {1: p})
        run = L.watch_run(ctx, sim, dom, "stack",
                          ["watch *(long*)0x%x" % (rsp - 8), "rwatch *(long*)0x%x" % rsp,
                           "break *0x%x" % end], [(2, end)],
                          reads=[("slot", "*(unsigned long*)0x%x" % (rsp - 8))])
        st = sim.state(dom)
    if not _want(ctx, run, want + [end], "push, pop, call and pushf stop; the rest passes"):
        return
    ctx.check([s["thread"] for s in run.stops] == [2] * 5, "every stop is on thread 2", run.describe())
    ctx.check(run.stops[2]["slot"] == want[2], "the call stored its return address (0x%x)" % want[2],
              run.stops[2])
    ctx.check("Hardware read watchpoint 2" in run.stops[1]["text"],
              "the pop is reported by the read watchpoint", run.stops[1]["text"])
    ctx.check(st["vcpus"][1]["counters"]["emulated"] == 3,
              "the three other stack accesses were let through", st["vcpus"][1]["counters"])


def test_watch_physical_address(ctx):
    """In physical mode (`monitor phys on`) a watchpoint is on a
    guest-physical address: a store through any virtual address of that
    frame stops, and the stop names the physical address."""
    pa = L.SCRATCH_PHYS + 0x940
    p = L.Program(L.CODE)
    p.store(L.SCRATCH + 0x948, 8, 0x1)
    hit = _after(p, p.store(L.SCRATCH + 0x940, 8, 0x4242))
    p.end()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "phys")
        L.load_programs(sim, dom, {0: p})
        # (a breakpoint would be at a physical address too: the run ends
        # with the watchpoint's stop)
        run = L.watch_run(ctx, sim, dom, "phys", ["monitor phys on", "watch *(long*)0x%x" % pa],
                          [(1, hit)], max_stops=1,
                          reads=[("value", "*(unsigned long*)0x%x" % pa)])
    if not _want(ctx, run, [hit], "the store through the direct map stops after it"):
        return
    ctx.check(run.stops[0].get("value") == 0x4242, "gdb reads the new value at the physical "
              "address", run.stops[0])
    ctx.check("hit Hardware watchpoint 1: *(long*)0x%x" % pa in run.stops[0]["text"],
              "gdb reports the physical watchpoint", run.stops[0]["text"])
