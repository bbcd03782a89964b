# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guest memory of a live domain on xensim: reads and writes that cross a
frame boundary through virtual addresses whose frames are not adjacent,
an unmapped address, physical mode, the frame cache's counters, and a
1 MiB read through a 16-frame cache, each compared with xensim's memory
or with the fixture dump read directly."""

import hashlib
import json
import re

import live_support as L


def _kernel_cr3(fx):
    return int(fx.truth["registers"][0]["cr3"], 16)


def _split_pair(fx, cr3, start, end):
    """Two adjacent writable 4 KiB virtual pages in [start, end) whose
    frames are not adjacent, from a walk of the dump's page tables."""
    prev = None
    for va in range(start, end, 0x1000):
        w = fx.walk(cr3, va)
        if w["fault"] or w["page_size"] != 4096 or not w["writable"]:
            prev = None
            continue
        if prev and prev[1] + 0x1000 != w["paddr"]:
            return prev, (va, w["paddr"])
        prev = (va, w["paddr"])
    return None


def _unmapped(fx, cr3, candidates):
    for va in candidates:
        if fx.walk(cr3, va)["fault"] == "not present":
            return va
    return None


CROSS = L.PY_STATE + r'''
import gdb
inf = gdb.selected_inferior()
res = {}
a = %(addr)d
res["orig"] = inf.read_memory(a, 16).tobytes().hex()
inf.write_memory(a, bytes.fromhex("%(new)s"))
res["back"] = inf.read_memory(a, 16).tobytes().hex()
out = _sp.run([_os.environ["XSCTL"], "read", "%(dom)s", "--gpa", "%(gpa1)s", "8"], capture_output=True, text=True).stdout
res["gpa1"] = _json.loads(out)["hex"]
out = _sp.run([_os.environ["XSCTL"], "read", "%(dom)s", "--gpa", "%(gpa2)s", "8"], capture_output=True, text=True).stdout
res["gpa2"] = _json.loads(out)["hex"]
inf.write_memory(a, bytes.fromhex(res["orig"]))
res["restored"] = inf.read_memory(a, 16).tobytes().hex()
print("RESULT " + _json.dumps(res))
'''


def test_write_across_frames(ctx):
    fx = ctx.fixture()
    cr3 = _kernel_cr3(fx)
    # the vmalloc area (kernel stacks): adjacent pages, scattered frames
    vmalloc = int(fx.truth["registers"][1]["rsp"], 16) & ~0x3fffff
    pair = _split_pair(fx, cr3, vmalloc, vmalloc + 0x400000)
    if pair is None:
        ctx.skip("no two adjacent virtual pages with scattered frames near the kernel stacks")
    (va1, pa1), (va2, pa2) = pair
    addr = va2 - 8
    new = bytes(range(0xa0, 0xb0))
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim)
        before = L.snapshot(sim, dom)
        orig = fx.read_virt(cr3, addr, 16)
        r = L.gdb_live(ctx, sim, "web01", args=["--os=none"], python=CROSS % {
            "addr": addr, "new": new.hex(), "dom": dom, "gpa1": hex(pa1 + 0xff8), "gpa2": hex(pa2)})
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the write across frames ran", r):
            return
        d = json.loads(m.group(1))
        ctx.check(d["orig"] == orig.hex(), "a read across frames 0x%x / 0x%x equals the dump" % (pa1, pa2),
                  (d["orig"], orig.hex()))
        ctx.check(d["back"] == new.hex(), "the write reads back", d["back"])
        ctx.check(d["gpa1"] == new[:8].hex() and d["gpa2"] == new[8:].hex(),
                  "xensim: the first 8 bytes are at the end of frame 0x%x, the rest at the start of 0x%x"
                  % (pa1 >> 12, pa2 >> 12), d)
        ctx.check(d["restored"] == orig.hex(), "the original bytes written back", d["restored"])
        after = L.snapshot(sim, dom)
        ctx.check(before == after, "the guest is as found (digest included)", L.diff(before, after))


def test_read_across_frames_and_unmapped(ctx):
    """The marker process's buffer (its own page tables, a known pattern)
    read across page boundaries; an unmapped address is an error."""
    fx = ctx.fixture()
    mk = fx.truth["marker"]
    pat = mk["pattern"].encode()
    buf = int(mk["buffer_vaddr"], 16)
    cr3 = _kernel_cr3(fx)
    hole = _unmapped(fx, cr3, [0xffff800000000000, 0xffffffffff000000, 0x1000])
    start = buf + 0x1000 - 100
    n = 0x2000 + 200
    want = bytes(pat[(start - buf + i) % len(pat)] for i in range(n))
    with L.xensim.sim_for(ctx) as sim:
        L.make_domain(ctx, sim)
        py = r'''
import gdb, json
inf = gdb.selected_inferior()
gdb.execute("monitor cr3 %s")
data = inf.read_memory(%d, %d).tobytes()
gdb.execute("monitor cr3 default")
print("RESULT " + json.dumps({"data": data.hex()}))
''' % (mk["pgd_phys"], start, n)
        r = ctx.gdb(["x/gx 0x%x" % hole, "echo @@1@@\\n", "x/2gx 0x%x" % (buf + 0x10)],
                    target="xen:web01", python=py, env=L.ctl_env(sim), merge_stderr=True,
                    xenstub_args=["--os=none"])
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if ctx.check(m is not None, "the marker buffer read ran", r):
            got = bytes.fromhex(json.loads(m.group(1))["data"])
            ctx.check(got == want, "%d bytes across three frames of the marker's buffer match its pattern" % n,
                      (got[:64], want[:64]))
        ctx.check(re.search(r"Cannot access memory at address 0x%x" % hole, r.out.split("@@1@@")[0]),
                  "an unmapped address: Cannot access memory", r.out[:1500])
        ctx.check(re.search(r"Cannot access memory at address 0x%x" % (buf + 0x10), r.out.split("@@1@@")[-1]),
                  "a user address of another process under vCPU 0's page tables: not mapped",
                  r.out[-800:])


def test_physical_mode(ctx):
    fx = ctx.fixture()
    segs = fx.segments()
    hole = segs[0][0] + segs[0][1]  # the first gap between RAM segments
    if fx.segment_of(hole) is not None:
        ctx.skip("the fixture has no hole after its first segment")
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim)
        before = L.snapshot(sim, dom)
        gpa = L.SCRATCH_PHYS + 0x40
        orig = sim.ctl("read", dom, "--gpa", hex(gpa), 8)["hex"]
        cmds = ["monitor phys on", "x/gx 0x%x" % gpa, "echo @@1@@\\n",
                "set {unsigned long}0x%x = 0x0123456789abcdef" % gpa, "x/gx 0x%x" % gpa,
                "echo @@2@@\\n", "x/gx 0x%x" % hole, "echo @@3@@\\n",
                "monitor phys", "monitor phys off", "x/gx 0x%x" % (L.SCRATCH + 0x40),
                "echo @@4@@\\n", "monitor phys on",
                "set {unsigned long}0x%x = 0x%s" % (gpa, bytes.fromhex(orig)[::-1].hex()),
                "monitor phys off"]
        r = ctx.gdb(cmds, target="xen:web01", env=L.ctl_env(sim), merge_stderr=True,
                    xenstub_args=["--os=none"])
        out = r.out
        p1 = out.split("@@1@@")[0]
        want = int.from_bytes(bytes.fromhex(orig), "little")
        ctx.check(re.search(r"0x%x:\s+0x%016x" % (gpa, want), p1) is not None,
                  "phys on: a read at guest-physical 0x%x equals xensim's" % gpa, p1[-600:])
        p2 = out.split("@@1@@")[-1].split("@@2@@")[0]
        ctx.check("0x0123456789abcdef" in p2, "phys on: the write reads back", p2)
        p3 = out.split("@@2@@")[-1].split("@@3@@")[0]
        ctx.check("Cannot access memory at address 0x%x" % hole in p3,
                  "phys on: a hole in guest RAM (0x%x) is an error, not zeros" % hole, p3)
        p4 = out.split("@@3@@")[-1].split("@@4@@")[0]
        ctx.check("guest-physical" in p4 and "0x0123456789abcdef" in p4,
                  "phys off: the direct-map address shows the bytes written physically", p4)
        after = L.snapshot(sim, dom)
        ctx.check(before == after, "the original bytes are back: the guest is as found",
                  L.diff(before, after))


STATS = re.compile(r"frame cache: (\d+) hits, (\d+) misses, (\d+) map calls \((\d+) frames\), (\d+) unmaps")


def _stats(text):
    m = STATS.search(text or "")
    return tuple(int(x) for x in m.groups()) if m else None


def test_frame_cache_counters(ctx):
    base = L.SCRATCH + 0x100000
    with L.xensim.sim_for(ctx) as sim:
        L.make_domain(ctx, sim)
        r, outs = ctx.gdb_each(["monitor stats", "x/1024gx 0x%x" % base, "monitor stats",
                                "x/1024gx 0x%x" % base, "monitor stats"],
                               target="xen:web01", env=L.ctl_env(sim), xenstub_args=["--os=none"])
        s0, s1, s2 = _stats(outs[0]), _stats(outs[2]), _stats(outs[4])
        if not ctx.check(None not in (s0, s1, s2), "monitor stats shows the frame cache", outs):
            return
        ctx.check(s1[2] > s0[2] and s1[3] >= s0[3] + 2,
                  "reading two new frames maps them (map calls and frames move)", (s0, s1))
        ctx.check(s2[0] > s1[0] and s2[2] == s1[2] and s2[3] == s1[3],
                  "reading them again hits the cache and maps nothing", (s1, s2))


def test_small_cache_large_read(ctx):
    """--cache-frames 16: 1 MiB read physically and through the direct map
    (256 frames each, the cache evicting all along) equals the dump."""
    fx = ctx.fixture()
    gpa = 0x2000000
    size = 1 << 20
    want = fx.read_phys(gpa, size)
    if want is None:
        ctx.skip("guest-physical 0x%x..+1 MiB is not in the fixture" % gpa)
    direct = L.SCRATCH - L.SCRATCH_PHYS + gpa
    py = r'''
import gdb, hashlib, json
inf = gdb.selected_inferior()
gdb.execute("monitor phys on")
a = hashlib.sha256(inf.read_memory(%d, %d).tobytes()).hexdigest()
gdb.execute("monitor phys off")
b = hashlib.sha256(inf.read_memory(%d, %d).tobytes()).hexdigest()
print("RESULT " + json.dumps({"phys": a, "virt": b}))
gdb.execute("monitor stats")
''' % (gpa, size, direct, size)
    with L.xensim.sim_for(ctx) as sim:
        L.make_domain(ctx, sim)
        r = ctx.gdb([], target="xen:web01", python=py, env=L.ctl_env(sim), merge_stderr=True,
                    xenstub_args=["--os=none", "--cache-frames", "16"], timeout=300)
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the 1 MiB reads ran", r):
            return
        d = json.loads(m.group(1))
        h = hashlib.sha256(want).hexdigest()
        ctx.check(d["phys"] == h, "1 MiB read physically through 16 frames equals the dump", d)
        ctx.check(d["virt"] == h, "1 MiB read through the direct map equals the dump", d)
        st = _stats(r.out)
        # (hits, misses, map calls, frames mapped, unmaps): with room for
        # 16 frames, each of the 512 frames read was mapped, and every
        # mapping but the last batches was undone
        ctx.check(st is not None and st[3] >= 2 * 256 and st[4] >= st[2] - 16 and st[4] > 0,
                  "the cache kept at most 16 frames: every frame mapped, the mappings undone", st)
