# SPDX-License-Identifier: LGPL-2.1-or-later
"""xensim's own page walk and dump loader, which share no code with
xenstub: walkcheck finds the two walkers agreeing on the fixture's tables
and both matching the SDM on synthetic ones; the loader reads QEMU ELF64
and ELF32 dumps built here byte by byte (registers, segment attributes,
derived EFER, memory) and refuses corrupt ones with a reason; the
simulated CPU faults on reserved bits where hardware does."""

import json
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "xensim"))
import xensim  # noqa: E402

PAGE = 4096


def _walkcheck(ctx, *args):
    exe = os.path.join(ctx.build, "xensim", "walkcheck")
    if not os.access(exe, os.X_OK):
        ctx.skip("walkcheck is not built in %s (make builds it)" % ctx.build)
    r = subprocess.run([exe] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=900)
    try:
        return r.returncode, json.loads(r.stdout), r
    except ValueError:
        return r.returncode, None, r


def test_walkers_agree_on_the_fixture(ctx):
    fx = ctx.fixture()
    rc, rep, raw = _walkcheck(ctx, "--dump", fx.memory)
    if not ctx.check(rep is not None, "walkcheck prints its JSON report",
                     "rc %s\n%s\n%s" % (raw.returncode, raw.stdout[-2000:], raw.stderr[-2000:])):
        return
    listed = json.dumps(rep.get("listed"), indent=1)[:6000]
    vcpus = rep["vcpus"]
    ctx.check(len(vcpus) == fx.truth["num_cpus"], "every vCPU of the fixture was walked",
              len(vcpus))
    for v in vcpus:
        ctx.check(v["differences"] == 0,
                  "vCPU %d (CR3 %s): both walkers agree on %d addresses"
                  % (v["vcpu"], v["cr3"], v["compared"]), listed)
        ctx.check(v["compared"] >= 500000 and v["translated"] >= 50000 and
                  v["in_large_pages"] > 0 and v["not_present"] > 0 and
                  v["non_canonical"] > 0,
                  "vCPU %d: the sample covers mapped 4 KiB and large pages, holes "
                  "and non-canonical addresses" % v["vcpu"], v)
    g = rep["garbage_roots"]
    ctx.check(g["differences"] == 0 and g["compared"] >= 100000 and g["reserved"] > 0,
              "frames of the dump taken as page tables: both walkers read %d garbage "
              "walks the same way (reserved bits %d times)" % (g["compared"], g["reserved"]),
              listed)
    s = rep["synthetic"]
    ctx.check(s["xensim_wrong"] == 0 and s["cases"] >= 2000,
              "xensim's walk gives the SDM's outcome in %d synthetic cases" % s["cases"], listed)
    ctx.check(s["xenstub_wrong"] == 0 and s["xenstub_checked"] >= 1000,
              "xenstub's walk gives the SDM's outcome in the %d cases it can express"
              % s["xenstub_checked"], listed)
    ctx.check(rc == 0 and rep["differences"] == 0 and rep["wrong"] == 0,
              "walkcheck exits 0: no difference at all", raw.stderr[-2000:])


def test_fixture_registers_match_qemu(ctx):
    """The loader against QEMU's own `info registers` at dump time."""
    fx = ctx.fixture()
    truth = fx.truth["registers"]
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("fx", "--from-dump", fx.memory)
        st = sim.state(dom)
        for t in truth:
            r = st["vcpus"][t["cpu"]]["regs"]
            want = {k: int(t[k], 16) for k in (
                "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
                "r10", "r11", "r12", "r13", "r14", "r15", "rip", "cr0", "cr2", "cr3",
                "cr4", "dr6", "dr7", "efer", "fs_base", "gs_base")}
            want["rflags"] = int(t["rflags"], 16)
            got = {k: int(r[k], 16) for k in want}
            ctx.check(got == want, "vCPU %d: general, control and debug registers and EFER "
                      "as QEMU had them" % t["cpu"],
                      {k: (hex(got[k]), hex(want[k])) for k in want if got[k] != want[k]})
            bad = {}
            for seg, name in (("cs", "cs"), ("ss", "ss"), ("ds", "ds"), ("es", "es"),
                              ("fs", "fs"), ("gs", "gs"), ("tr", "tr"), ("ldtr", "ldt")):
                q = t[name]
                flags = int(q["flags"], 16)
                # Xen's packed attributes: type/S/DPL/P, then AVL/L/DB/G
                attr = ((flags >> 8) & 0xff) | (((flags >> 20) & 0xf) << 8)
                w = {"sel": int(q["selector"], 16), "base": int(q["base"], 16),
                     "limit": int(q["limit"], 16), "attr": attr}
                g = {k: int(r[seg][k], 16) for k in w}
                if g != w:
                    bad[seg] = (g, w)
            for tab in ("gdt", "idt"):
                if (int(r[tab + "r_base"], 16), int(r[tab + "r_limit"], 16)) != \
                   (int(t[tab]["base"], 16), int(t[tab]["limit"], 16)):
                    bad[tab] = (r[tab + "r_base"], r[tab + "r_limit"], t[tab])
            ctx.check(not bad, "vCPU %d: segments, descriptor tables and packed attributes "
                      "as QEMU had them" % t["cpu"], bad)


# ---- QEMU dump-guest-memory files, built byte by byte ----

def _qemu_seg(sel=0, base=0, limit=0, flags=0):
    return struct.pack("<IIIIQ", sel, limit, flags, 0, base)


def _qemu_note_desc(c, size=440, version=1):
    gpr = [c.get(k, 0) for k in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
                                 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")]
    b = struct.pack("<II", version, size) + struct.pack("<16Q", *gpr)
    b += struct.pack("<QQ", c.get("rip", 0), c.get("rflags", 2))
    for s in ("cs", "ds", "es", "fs", "gs", "ss", "ldt", "tr", "gdt", "idt"):
        b += _qemu_seg(**c.get(s, {}))
    b += struct.pack("<5Q", c.get("cr0", 0), 0, c.get("cr2", 0), c.get("cr3", 0), c.get("cr4", 0))
    b += struct.pack("<Q", c.get("kernel_gs_base", 0))
    return b[:size] if size <= len(b) else b + bytes(size - len(b))


def _note(name, ntype, desc):
    n = name + b"\0"
    pad = lambda x: x + bytes(-len(x) % 4)  # noqa: E731
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def build_dump(cpus, segs, elf64=True, machine=62, prstatus=True, qemu=True,
               qemu_size=440, qemu_version=1):
    """A QEMU dump-guest-memory file: segs is [(gpa, bytes)], cpus a list
    of register dicts. Notes as QEMU writes them: every NT_PRSTATUS, then
    every QEMU note."""
    notes = b""
    if prstatus:
        for i, c in enumerate(cpus):
            if machine == 62:
                d = bytearray(336)
                struct.pack_into("<I", d, 32, i + 1)
                struct.pack_into("<Q", d, 112 + 16 * 8, c.get("rip", 0))
            else:
                d = bytearray(144)
                struct.pack_into("<I", d, 24, i + 1)
                struct.pack_into("<I", d, 72 + 12 * 4, c.get("rip", 0) & 0xffffffff)
            notes += _note(b"CORE", 1, bytes(d))
    if qemu:
        for c in cpus:
            notes += _note(b"QEMU", 0, _qemu_note_desc(c, qemu_size, qemu_version))
    nph = 1 + len(segs)
    ehsize, phsize = (64, 56) if elf64 else (52, 32)
    off = ehsize + nph * phsize
    phdrs = []
    note_off = off
    off += len(notes) + 3          # data deliberately not aligned in the file
    blobs = []
    for gpa, data in segs:
        phdrs.append((1, off, gpa, len(data)))
        blobs.append(data)
        off += len(data)
    ident = b"\x7fELF" + bytes([2 if elf64 else 1, 1, 1]) + bytes(9)
    if elf64:
        eh = ident + struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, ehsize, 0, 0, ehsize,
                                 phsize, nph, 0, 0, 0)
        ph = struct.pack("<IIQQQQQQ", 4, 0, note_off, 0, 0, len(notes), len(notes), 0)
        for t, o, gpa, n in phdrs:
            ph += struct.pack("<IIQQQQQQ", t, 0, o, 0, gpa, n, n, 0)
    else:
        eh = ident + struct.pack("<HHIIIIIHHHHHH", 4, machine, 1, 0, ehsize, 0, 0, ehsize,
                                 phsize, nph, 0, 0, 0)
        ph = struct.pack("<IIIIIIII", 4, note_off, 0, 0, len(notes), len(notes), 0, 0)
        for t, o, gpa, n in phdrs:
            ph += struct.pack("<IIIIIIII", t, o, 0, gpa, n, n, 0, 0)
    return eh + ph + notes + bytes(3) + b"".join(blobs)


def _fnv_digest(pages):
    """xensim's memory digest: FNV-1a 64 over each (gfn, page) in order."""
    h = 0xcbf29ce484222325
    for gfn in sorted(pages):
        for b in struct.pack("<Q", gfn) + pages[gfn]:
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "fnv1a64:%016x" % h


def _put(mem, addr, fmt, *vals):
    struct.pack_into(fmt, mem, addr, *vals)


def _image64():
    """RAM at 0..512 KiB and 1..1.25 MiB, a hole between; 4-level tables
    at 0x10000 map 0xffffffff80000000 with a 2 MiB page onto gpa 0 and
    0x400000 with 4 KiB pages (one NX, A/D/G/AVL bits set) onto 1 MiB."""
    low = bytearray(0x80000)
    high = bytearray(0x40000)
    for i in range(0, len(high), 8):
        struct.pack_into("<Q", high, i, 0x5a5a000000000000 | (0x100000 + i))
    for i in range(0, len(low), 8):
        if i >= 0x20000:
            struct.pack_into("<Q", low, i, 0xa5a5000000000000 | i)
    pml4, pdpt_hi, pd_hi, pdpt_lo, pd_lo, pt = 0x10000, 0x11000, 0x12000, 0x13000, 0x14000, 0x15000
    _put(low, pml4 + 511 * 8, "<Q", pdpt_hi | 0x63)
    _put(low, pdpt_hi + 510 * 8, "<Q", pd_hi | 0x23)
    _put(low, pd_hi + 0, "<Q", 0x0 | 0x1e3)                 # 2 MiB, G, A, D
    _put(low, pml4 + 0, "<Q", pdpt_lo | 0xe27)               # AVL bits set
    _put(low, pdpt_lo + 0, "<Q", pd_lo | 0x27)
    _put(low, pd_lo + 2 * 8, "<Q", pt | 0x67)
    for k in range(64):
        e = (0x100000 + k * PAGE) | 0x167                    # G, D, A, U, W, P
        if k == 3:
            e |= 1 << 63                                      # NX
        _put(low, pt + k * 8, "<Q", e)
    return low, high


def _cpu64(i, **kw):
    c = {"rax": 0x1111 + i, "rbx": 0x2222, "rcx": 0x3333, "rdx": 0x4444, "rsi": 0x5555,
         "rdi": 0x6666, "rsp": 0xffffffff80007ff0 - i * 0x100, "rbp": 0x7777,
         "r8": 8, "r9": 9, "r10": 10, "r11": 11, "r12": 12, "r13": 13, "r14": 14,
         "r15": 0xf15, "rip": 0xffffffff80001000 + i, "rflags": 0x44,
         "cs": {"sel": 0x10, "limit": 0xffffffff, "flags": 0x00af9b00},
         "ss": {"sel": 0x18, "limit": 0xffffffff, "flags": 0x00cf9300},
         "ds": {"sel": 0x18, "limit": 0xfffff, "flags": 0x00df9300},   # AVL set
         "gs": {"base": 0xffff888000001000 + i},
         "fs": {"sel": 0x2b, "base": 0x7f0000001000, "limit": 0xffffffff, "flags": 0x00cff300},
         "tr": {"sel": 0x40, "base": 0xfffffe0000003000, "limit": 0x4087, "flags": 0x8b00},
         "ldt": {"flags": 0x8200},
         "gdt": {"base": 0xfffffe0000001000, "limit": 0x7f},
         "idt": {"base": 0xfffffe0000000000, "limit": 0xfff},
         "cr0": 0x80050033, "cr2": 0x4000 + i, "cr3": 0x10000, "cr4": 0x20ef0,
         "kernel_gs_base": 0x1122334455667788 + i}
    c.update(kw)
    return c


def _check_regs(ctx, what, r, c, efer):
    want = {k: c[k] for k in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8",
                              "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
                              "cr0", "cr2", "cr3", "cr4")}
    want.update(rflags=c["rflags"] | 2, efer=efer, shadow_gs=c.get("kernel_gs_base", 0),
                dr6=0xffff0ff0, dr7=0x400)
    got = {k: int(r[k], 16) for k in want}
    ctx.check(got == want, what + ": registers from the QEMU note (RFLAGS bit 1, EFER "
              "derived, DR6/DR7 at reset)",
              {k: (hex(got[k]), hex(want[k])) for k in want if got[k] != want[k]})
    bad = {}
    for seg, q in (("cs", "cs"), ("ss", "ss"), ("ds", "ds"), ("es", "es"), ("fs", "fs"),
                   ("gs", "gs"), ("tr", "tr"), ("ldtr", "ldt")):
        s = c.get(q, {})
        f = s.get("flags", 0)
        w = {"sel": s.get("sel", 0), "base": s.get("base", 0), "limit": s.get("limit", 0),
             "attr": ((f >> 8) & 0xff) | (((f >> 20) & 0xf) << 8)}
        g = {k: int(r[seg][k], 16) for k in w}
        if g != w:
            bad[seg] = (g, w)
    ctx.check(not bad, what + ": segments with Xen's packed attributes", bad)


def test_loader_elf64(ctx):
    low, high = _image64()
    cpus = [_cpu64(0), _cpu64(1, cr0=0x10, cr3=0, cr4=0, rip=0xfff0,
                                cs={"sel": 0xf000, "base": 0xffff0000, "limit": 0xffff,
                                    "flags": 0x9b00})]
    path = ctx.tmpfile("walk-elf64.elf")
    with open(path, "wb") as f:
        f.write(build_dump(cpus, [(0, bytes(low)), (0x100000, bytes(high))]))
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("d64", "--from-dump", path)
        st = sim.state(dom, digest=True)
        ctx.check(st["nr_vcpus"] == 2, "one vCPU per NT_PRSTATUS/QEMU note pair", st["nr_vcpus"])
        _check_regs(ctx, "vCPU 0 (long mode, NX in its tables)", st["vcpus"][0]["regs"],
                    cpus[0], 0xd01)
        _check_regs(ctx, "vCPU 1 (paging off)", st["vcpus"][1]["regs"], cpus[1], 0)
        pages = {}
        for base, data in ((0, low), (0x100000, high)):
            for o in range(0, len(data), PAGE):
                pages[(base + o) // PAGE] = bytes(data[o:o + PAGE])
        ctx.check(st["memory"]["digest"] == _fnv_digest(pages) and
                  st["tot_pages"] == len(pages) + 8,
                  "guest memory is the segments at their p_paddr, the hole unpopulated "
                  "(plus the 8 HVM special pages)", (st["memory"], st["tot_pages"], len(pages)))
        r = sim.ctl("read", dom, "--gpa", "0x90000", "8", check=False)
        ctx.check(r["_rc"] == 1 and "not populated" in r["_stderr"],
                  "the hole between the segments is not populated", r)
        r = sim.ctl("read", dom, "--va", "0x403008", "--vcpu", "0", "8")
        ctx.check(r["hex"] == struct.pack("<Q", 0x5a5a000000000000 | 0x103008).hex(),
                  "a 4 KiB page read through the dump's own 4-level tables (A, D, G, AVL "
                  "bits set at every level)", r)
        r = sim.ctl("read", dom, "--va", "0xffffffff80020010", "--vcpu", "0", "8")
        ctx.check(r["hex"] == struct.pack("<Q", 0xa5a5000000000000 | 0x20010).hex(),
                  "a 2 MiB page read through the tables", r)
        r = sim.ctl("read", dom, "--va", "0x440000", "--vcpu", "0", "8", check=False)
        ctx.check(r["_rc"] == 1 and "not mapped" in r["_stderr"],
                  "an address past the mapped PTEs is not mapped", r)
        r = sim.ctl("read", dom, "--va", "0x20010", "--vcpu", "1", "8")
        ctx.check(r["hex"] == struct.pack("<Q", 0xa5a5000000000000 | 0x20010).hex(),
                  "a vCPU with paging off reads guest-physical memory", r)


def _image_i386():
    """RAM 0..2 MiB. PAE tables (PDPT at 0x10fe0: 32-byte aligned, its
    PDPTEs with the Accessed and other bits 2:1 and 8:5 set, as Debian's
    686-pae kernel leaves them) mapping 0xc0000000 onto 1 MiB with 4 KiB
    pages, one NX; and 32-bit tables with a 4 MiB PSE page at 0x80000000."""
    mem = bytearray(0x200000)
    for i in range(0x100000, 0x200000, 4):
        struct.pack_into("<I", mem, i, 0xc0de0000 | ((i >> 2) & 0xffff))
    pdpt, pd, pt = 0x10fe0, 0x11000, 0x12000
    _put(mem, pdpt + 3 * 8, "<Q", pd | 0x1 | 0x20 | 0x6 | 0x40)
    _put(mem, pd + 0, "<Q", pt | 0x27)
    for k in range(16):
        e = (0x100000 + k * PAGE) | 0x63
        if k == 5:
            e |= 1 << 63
        _put(mem, pt + k * 8, "<Q", e)
    pd32 = 0x13000
    _put(mem, pd32 + (0x80000000 >> 22) * 4, "<I", 0x0 | 0x1e3)       # 4 MiB at 0
    return mem


def test_loader_elf32_pae_and_pse(ctx):
    mem = _image_i386()
    base = {"rax": 0xa, "rbx": 0xb, "rcx": 0xc, "rdx": 0xd, "rsi": 0x51, "rdi": 0xd1,
            "rsp": 0xc0000ff0, "rbp": 0xb9, "rflags": 0x202,
            "r8": 0, "r9": 0, "r10": 0, "r11": 0, "r12": 0, "r13": 0, "r14": 0, "r15": 0,
            "cr2": 0xb7f00000,
            "cs": {"sel": 0x60, "limit": 0xffffffff, "flags": 0x00cf9b00},
            "ss": {"sel": 0x68, "limit": 0xffffffff, "flags": 0x00cf9300},
            "ds": {"sel": 0x7b, "limit": 0xffffffff, "flags": 0x00cff300},
            "fs": {"sel": 0xd8, "base": 0x1f000, "limit": 0xfffff, "flags": 0x00409300},
            "tr": {"sel": 0x80, "base": 0xff806000, "limit": 0x206b, "flags": 0x8b00},
            "gdt": {"base": 0xff801000, "limit": 0xff}, "idt": {"base": 0xff800000, "limit": 0x7ff}}
    c0 = dict(base, rip=0xc0001000, cr0=0x80050033, cr3=0x10fe0, cr4=0x6b0)   # PAE
    c1 = dict(base, rip=0x80001000, cr0=0x80050033, cr3=0x13000, cr4=0x690)   # PSE
    path = ctx.tmpfile("walk-i386.elf")
    with open(path, "wb") as f:
        f.write(build_dump([c0, c1], [(0, bytes(mem))], elf64=False, machine=3, qemu_size=432))
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("d32", "--from-dump", path)
        st = sim.state(dom)
        _check_regs(ctx, "i386 vCPU 0 (PAE, an NX PTE: NXE)", st["vcpus"][0]["regs"], c0, 0x800)
        _check_regs(ctx, "i386 vCPU 1 (32-bit paging)", st["vcpus"][1]["regs"], c1, 0)
        r = sim.ctl("read", dom, "--va", "0xc0003010", "--vcpu", "0", "4")
        ctx.check(r["hex"] == struct.pack("<I", 0xc0de0000 | ((0x103010 >> 2) & 0xffff)).hex(),
                  "PAE: read through PDPTEs with bits 2:1 and 8:5 set, from a CR3 that is "
                  "32-byte aligned", r)
        r = sim.ctl("read", dom, "--va", "0x80123454", "--vcpu", "1", "4")
        ctx.check(r["hex"] == struct.pack("<I", 0xc0de0000 | ((0x123454 >> 2) & 0xffff)).hex(),
                  "32-bit paging: read through a 4 MiB PSE page", r)
        r = sim.ctl("read", dom, "--va", "0xc0000ffc", "--vcpu", "0", "8", check=False)
        ctx.check(r["_rc"] == 0 and len(r.get("hex", "")) == 16,
                  "PAE: a read across two 4 KiB pages", r)


def _small_dump(**kw):
    low, high = _image64()
    return build_dump([_cpu64(0)], [(0, bytes(low[:0x20000])), (0x100000, bytes(high[:PAGE]))], **kw)


def _corruptions():
    """(what, bytes, a word the refusal must contain)."""
    good = _small_dump()
    out = []
    out.append(("an empty file", b"", "empty"))
    out.append(("not ELF", b"MZ" + good[2:], "not an ELF file"))
    out.append(("a truncated ELF header", good[:40], "truncated"))
    b = bytearray(good); b[4] = 7
    out.append(("an unknown ELF class", bytes(b), "class"))
    b = bytearray(good); b[5] = 2
    out.append(("big-endian", bytes(b), "big-endian"))
    b = bytearray(good); struct.pack_into("<H", b, 16, 2)
    out.append(("an executable, not a core", bytes(b), "ET_CORE"))
    b = bytearray(good); struct.pack_into("<H", b, 18, 40)
    out.append(("an ARM dump", bytes(b), "machine"))
    b = bytearray(good); struct.pack_into("<H", b, 56, 0x7000)
    out.append(("more program headers than the file holds", bytes(b), "truncated"))
    b = bytearray(good); struct.pack_into("<H", b, 54, 40)
    out.append(("a wrong program header size", bytes(b), "program headers of 40 bytes"))
    out.append(("the last segment cut short", good[:-100], "truncated"))
    # segment 2 (the second PT_LOAD) moved onto the first: overlap
    b = bytearray(good); struct.pack_into("<Q", b, 64 + 2 * 56 + 24, 0x1f000)
    out.append(("overlapping segments", bytes(b), "overlap"))
    b = bytearray(good); struct.pack_into("<Q", b, 64 + 2 * 56 + 24, 0x100800)
    out.append(("a segment not page-aligned", bytes(b), "page-aligned"))
    b = bytearray(good); struct.pack_into("<Q", b, 64 + 2 * 56 + 24, 0xfffffffffffff000)
    out.append(("a segment wrapping past the top", bytes(b), "wraps"))
    b = bytearray(good); struct.pack_into("<Q", b, 64 + 2 * 56 + 40, 0)
    out.append(("a segment with more file bytes than memory", bytes(b), "in memory"))
    b = bytearray(good); struct.pack_into("<I", b, 64 + 3 * 56 + 4, 0x10000)
    out.append(("a note running past its segment", bytes(b), "runs past"))
    b = bytearray(good); struct.pack_into("<Q", b, 64 + 32, 0x7fffffff)
    out.append(("the notes beyond the file", bytes(b), "truncated"))
    out.append(("a QEMU note of version 2", _small_dump(qemu_version=2), "version 2"))
    out.append(("a QEMU note too short for version 1", _small_dump(qemu_size=400), "version 1 needs"))
    out.append(("no QEMU note", _small_dump(qemu=False), "NT_PRSTATUS alone"))
    out.append(("no vCPU note at all", _small_dump(qemu=False, prstatus=False), "no vCPU state"))
    low, high = _image64()
    out.append(("2 NT_PRSTATUS but 1 QEMU note",
                build_dump([_cpu64(0), _cpu64(1)], [(0, bytes(low))], prstatus=True)
                .replace(b"QEMU\0\0\0\0", b"QEMX\0\0\0\0", 1), "NT_PRSTATUS notes but"))
    out.append(("200 vCPUs", build_dump([_cpu64(0)] * 200, [(0, bytes(low[:0x20000]))]),
                "vCPUs"))
    out.append(("no memory segment", build_dump([_cpu64(0)], []), "no guest memory"))
    return good, out


def test_loader_refuses_corrupt_dumps(ctx):
    good, bad = _corruptions()
    with xensim.sim_for(ctx) as sim:
        path = ctx.tmpfile("walk-good.elf")
        with open(path, "wb") as f:
            f.write(good)
        dom = sim.create("good", "--from-dump", path)
        sim.ctl("destroy", dom)
        for i, (what, data, word) in enumerate(bad):
            path = ctx.tmpfile("walk-bad-%d.elf" % i)
            with open(path, "wb") as f:
                f.write(data)
            r = sim.ctl("create", "--name", "bad%d" % i, "--from-dump", path, check=False)
            ctx.check(r["_rc"] == 1 and word in r["_stderr"] and path in r["_stderr"],
                      "%s is refused, naming the file and saying why (%s)" % (what, word),
                      r["_stderr"])
        ctx.check(sim.proc.poll() is None and sim.ctl("list")["domains"] == [],
                  "the daemon survives and holds no domain", sim.log()[-2000:])


def test_loader_survives_random_corruption(ctx):
    good = _small_dump()
    rng = random.Random(20240717)
    created = refused = 0
    with xensim.sim_for(ctx) as sim:
        path = ctx.tmpfile("walk-fuzz.elf")
        for i in range(150):
            b = bytearray(good)
            # flips in the headers and notes, where every field is checked
            for _ in range(rng.randint(1, 6)):
                b[rng.randrange(0, 64 + 3 * 56 + 2 * 700)] ^= 1 << rng.randrange(8)
            if i % 10 == 0:
                b = b[:rng.randrange(len(b))]
            with open(path, "wb") as f:
                f.write(b)
            r = sim.ctl("create", "--name", "fz", "--from-dump", path, check=False)
            if r["_rc"] == 0:
                created += 1
                sim.ctl("destroy", "fz")
            elif r["_stderr"].strip():
                refused += 1
            if sim.proc.poll() is not None:
                break
        ctx.check(sim.proc.poll() is None and created + refused == 150,
                  "150 randomly damaged dumps: each loads or is refused with a message, the "
                  "daemon never crashes (%d loaded, %d refused)" % (created, refused),
                  sim.log()[-3000:])


# ---- the simulated CPU on the walk's rules ----

def _run_one(sim, dom, va, rip="0x2000"):
    """Runs one read of va at rip on vCPU 0; returns the workload state."""
    sim.workload(dom, 0, [{"rip": rip, "len": 2, "access": "read", "va": va, "size": 8},
                          {"op": "halt"}])
    sim.ctl("start", dom)
    s = sim.wait(dom, lambda s: s["vcpus"][0]["workload"]["fault"] or
                 s["vcpus"][0]["workload"]["halted"], "the step to end")
    return s["vcpus"][0]


def test_cpu_faults_where_hardware_does(ctx):
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("cpu", "--zero", "16")
        cr3 = int(sim.state(dom)["vcpus"][0]["regs"]["cr3"], 16) & ~0xfff
        pml4e = int.from_bytes(bytes.fromhex(sim.ctl("read", dom, "--gpa", hex(cr3), "8")["hex"]),
                               "little")

        def set_pml4e(v):
            sim.ctl("write", dom, "--gpa", hex(cr3), struct.pack("<Q", v).hex())

        set_pml4e(pml4e | 0x20 | 0x40 | 0x100 | 0xe00 | (0x7f << 52))
        v = _run_one(sim, dom, "0x3000")
        ctx.check(v["workload"]["halted"] and not v["workload"]["fault"] and
                  v["counters"]["reads"] == 1,
                  "A, D, G, AVL and bits 58:52 in a PML4E are ignored", v["workload"])
        set_pml4e(pml4e | 0x80)
        v = _run_one(sim, dom, "0x3000")
        ctx.check("reserved bit" in (v["workload"]["fault"] or "") and
                  "PML4E" in v["workload"]["fault"],
                  "PS in a PML4E is a reserved-bit page fault", v["workload"])
        set_pml4e(pml4e | (1 << 46))
        v = _run_one(sim, dom, "0x3000")
        ctx.check("reserved bit" in (v["workload"]["fault"] or ""),
                  "bit 46 (MAXPHYADDR is 46) in a PML4E is a reserved-bit page fault",
                  v["workload"])
        set_pml4e(pml4e | (1 << 63))
        v = _run_one(sim, dom, "0x3000")
        ctx.check("page fault at 0x2000 (protection)" in (v["workload"]["fault"] or ""),
                  "with EFER.NXE, XD in the PML4E forbids the instruction fetch",
                  v["workload"])
        sim.ctl("set-reg", dom, 0, "efer=0x501")
        v = _run_one(sim, dom, "0x3000")
        ctx.check("reserved bit" in (v["workload"]["fault"] or ""),
                  "without EFER.NXE, bit 63 of a PML4E is reserved", v["workload"])
        sim.ctl("set-reg", dom, 0, "efer=0xd01")
        set_pml4e(pml4e)
        v = _run_one(sim, dom, "0x0000800000000000")
        ctx.check("general protection" in (v["workload"]["fault"] or "") and
                  "not canonical" in v["workload"]["fault"],
                  "a non-canonical address is a #GP, not a page fault", v["workload"])
        sim.ctl("set-reg", dom, 0, "cr3=%#x" % (cr3 | 0x7ff))
        v = _run_one(sim, dom, "0x3000")
        ctx.check(v["workload"]["halted"] and not v["workload"]["fault"],
                  "CR3's low 12 bits (PCID) are not part of the table address", v["workload"])
