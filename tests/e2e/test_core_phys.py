# SPDX-License-Identifier: LGPL-2.1-or-later
"""Physical mode on a dump ('monitor phys on', or Qqemu.PhyMemMode:1 from
gdb Python): reads equal memory.elf's PT_LOAD bytes, addresses in no
segment are errors, and qqemu.PhyMemMode answers the mode."""

import hashlib
import json
import os
import re

OS_NONE = ["--os=none"]


def ram_ranges(fx):
    out = []
    for r in fx.truth["ram_ranges_iomem"]:
        if "System RAM" in r.get("name", "System RAM"):
            out.append((int(r["start"], 16), int(r["end_inclusive"], 16) + 1))
    return out


def probe_ranges(fx):
    """(address, length) pieces of each RAM range: its start and its end,
    each more than two pages and not page-aligned."""
    pieces = []
    for start, end in ram_ranges(fx):
        n = min(end - start, 0x2923)
        pieces.append((start, n))
        pieces.append((end - n, n))
    return pieces


def outside_addresses(fx):
    """Physical addresses in no segment and in no RAM range: the first
    byte of each hole between segments and the first byte past the last."""
    segs = fx.segments()
    cands = []
    for (a, n, _), (b, _, _) in zip(segs, segs[1:]):
        if a + n < b:
            cands.append(a + n)
    cands.append(max(a + n for a, n, _ in segs))
    return [c for c in cands
            if fx.segment_of(c) is None and
            not any(s <= c < e for s, e in ram_ranges(fx))]


def banner_phys(fx):
    code = [x for x in fx.truth["kaslr"]["kernel_image_physical"] if x["name"] == "Kernel code"]
    if not code:
        return None
    return int(code[0]["start"], 16) + fx.symbol("linux_banner") - fx.symbol("_text")


def test_monitor_phys(ctx):
    fx = ctx.fixture()
    pieces = probe_ranges(fx)
    outside = outside_addresses(fx)
    for a, n in pieces:
        ctx.check(fx.read_phys(a, n) is not None,
                  "harness: RAM 0x%x..0x%x lies in a PT_LOAD segment" % (a, a + n))
    ctx.check(len(outside) >= 1, "harness: found a physical address outside the dump", outside)
    cmds = ["maint packet qqemu.PhyMemMode", "monitor phys", "monitor phys on",
            "maint packet qqemu.PhyMemMode", "monitor phys"]
    files = []
    for i, (a, n) in enumerate(pieces):
        files.append(ctx.tmpfile("phys-%d.bin" % i))
        cmds.append("dump binary memory %s 0x%x 0x%x" % (files[-1], a, a + n))
    for a in outside:
        cmds.append("x/xb 0x%x" % a)
    edge = outside[0]
    cmds.append("x/16xb 0x%x" % (edge - 8))
    bp = banner_phys(fx)
    cmds += ["x/s 0x%x" % bp if bp is not None else "echo",
             "monitor phys off", "maint packet qqemu.PhyMemMode",
             "x/s 0x%x" % fx.symbol("linux_banner")]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check('received: "0"' in (out[0] or ""), "qqemu.PhyMemMode is 0 at attach", out[0])
    ctx.check("guest-virtual" in (out[1] or ""), "monitor phys says virtual", out[1])
    ctx.check('received: "1"' in (out[3] or ""),
              "qqemu.PhyMemMode is 1 after monitor phys on", out[3])
    ctx.check("guest-physical" in (out[4] or ""), "monitor phys says physical", out[4])
    k = 5
    for (a, n), path in zip(pieces, files):
        data = open(path, "rb").read() if os.path.exists(path) else None
        ctx.check(data == fx.read_phys(a, n),
                  "physical 0x%x..0x%x equals memory.elf's segment bytes" % (a, a + n), out[k])
        k += 1
    for a in outside:
        ctx.check("Cannot access memory at address 0x%x" % a in (out[k] or ""),
                  "physical 0x%x (in no segment) cannot be read" % a, out[k])
        k += 1
    # a read running off a segment: the bytes that exist, then an error
    got = bytes(int(x, 16) for x in re.findall(r"\t0x([0-9a-f]{2})", out[k] or ""))
    ctx.check(got == fx.read_phys(edge - 8, 8) and
              "Cannot access memory at address 0x%x" % edge in (out[k] or ""),
              "x/16xb across the end of a segment shows its 8 bytes, then an error", out[k])
    k += 1
    if bp is not None:
        ctx.check(fx.truth["proc_version"].strip()[:60] in (out[k] or ""),
                  "x/s at linux_banner's physical address 0x%x prints the banner" % bp, out[k])
    ctx.check('received: "0"' in (out[k + 2] or ""),
              "qqemu.PhyMemMode is 0 after monitor phys off", out[k + 2])
    ctx.check(fx.truth["proc_version"].strip()[:60] in (out[k + 3] or ""),
              "virtual addresses work again after monitor phys off", out[k + 3])


PY_SCRIPT = r'''
import hashlib, json, gdb
spec = json.loads(%r)
inf = gdb.selected_inferior()
conn = inf.connection

def send(p):
    r = conn.send_packet(p)
    return r.decode() if isinstance(r, bytes) else r

def read(a, n):
    try:
        return hashlib.sha256(bytes(inf.read_memory(a, n))).hexdigest()
    except gdb.MemoryError as e:
        return "error: %%s" %% e

res = {"q0": send("qqemu.PhyMemMode"), "set1": send("Qqemu.PhyMemMode:1"),
       "q1": send("qqemu.PhyMemMode"), "bad": send("Qqemu.PhyMemMode:7")}
res["q1b"] = send("qqemu.PhyMemMode")
res["reads"] = [read(a, n) for a, n in spec["pieces"]]
res["outside"] = [read(a, 16) for a in spec["outside"]]
res["set0"] = send("Qqemu.PhyMemMode:0")
res["q2"] = send("qqemu.PhyMemMode")
res["virt"] = bytes(inf.read_memory(spec["banner"], 13)).decode(errors="replace")
print("RESULT " + json.dumps(res))
'''


def test_python_phymemmode(ctx):
    """The QEMU packets, sent the way gdb Python users (and QEMU's
    scripts) send them."""
    fx = ctx.fixture()
    pieces = probe_ranges(fx)
    outside = outside_addresses(fx)
    spec = {"pieces": pieces, "outside": outside, "banner": fx.symbol("linux_banner")}
    r = ctx.gdb(target="core:" + fx.memory, xenstub_args=OS_NONE,
                python=PY_SCRIPT % json.dumps(spec))
    m = re.search(r"^RESULT (.*)$", r.out, re.M)
    ctx.check(m is not None, "the gdb Python script ran to the end", r)
    if not m:
        return
    res = json.loads(m.group(1))
    ctx.check(res["q0"] == "0", "qqemu.PhyMemMode answers 0 at first", res)
    ctx.check(res["set1"] == "OK", "Qqemu.PhyMemMode:1 answers OK", res)
    ctx.check(res["q1"] == "1", "qqemu.PhyMemMode answers 1 after it", res)
    ctx.check(re.match(r"^E[0-9a-f]{2}$", res["bad"] or "") is not None and res["q1b"] == "1",
              "Qqemu.PhyMemMode:7 is an error and changes nothing", res)
    for (a, n), got in zip(pieces, res["reads"]):
        want = hashlib.sha256(fx.read_phys(a, n)).hexdigest()
        ctx.check(got == want,
                  "read_memory(0x%x, 0x%x) in physical mode equals memory.elf" % (a, n), got)
    for a, got in zip(outside, res["outside"]):
        ctx.check(got.startswith("error:") and "Cannot access memory" in got,
                  "read_memory at physical 0x%x (in no segment) raises MemoryError" % a, got)
    ctx.check(res["set0"] == "OK" and res["q2"] == "0",
              "Qqemu.PhyMemMode:0 goes back to virtual", res)
    ctx.check(res["virt"] == "Linux version",
              "virtual reads work again after Qqemu.PhyMemMode:0", res["virt"])
