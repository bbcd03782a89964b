# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guest-virtual memory of a dump through xenstub (banner, monitor cr3, page
crossings, unmapped addresses, dump memory, find, v2p, qCRC, qSearch),
checked against memory.elf read and page-walked by the harness itself."""

import os
import re

OS_NONE = ["--os=none"]


def crc32_gdb(data, crc=0xffffffff):
    """gdb's CRC-32: polynomial 0x04c11db7, MSB first, no reflection, no
    final xor (gdb/utils.c xcrc32)."""
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04c11db7) if c & 0x80000000 else c << 1
        table.append(c & 0xffffffff)
    for b in data:
        crc = ((crc << 8) & 0xffffffff) ^ table[((crc >> 24) ^ b) & 0xff]
    return crc


def vcpu_cr3(fx, i=0):
    return int(fx.truth["registers"][i]["cr3"], 16)


def marker(fx):
    m = fx.truth["marker"]
    return int(m["buffer_vaddr"], 16), m["buffer_len"], m["pattern"].encode(), int(m["pgd_phys"], 16)


def pattern_bytes(pattern, start, n):
    return bytes(pattern[(start + i) % len(pattern)] for i in range(n))


def unmapped_address(fx, cr3):
    """A canonical user-half address whose top-level entry is not present
    in cr3's tables (found by the harness's own walk)."""
    mode = fx.paging_mode()
    shift = {"5-level": 48, "4-level": 39, "pae": 30, "32-bit": 22}[mode]
    for idx in range(1, 256 if mode in ("4-level", "5-level") else 4):
        va = idx << shift
        w = fx.walk(cr3, va)
        if w["fault"] == "not present":
            return va
    return None


def noncanonical_addresses(fx):
    mode = fx.paging_mode()
    if mode not in ("4-level", "5-level"):
        return []
    bits = 57 if mode == "5-level" else 48
    # the first address past the lower half, the middle of the hole, and
    # the last page before the upper half
    return [1 << (bits - 1), 0x8000000000000000, (1 << 64) - (1 << (bits - 1)) - 0x1000]


def test_banner(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    n = fx.truth["num_cpus"]
    cmds = []
    for i in range(n):
        cmds += ["thread %d" % (i + 1), "x/s 0x%x" % banner]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    line = fx.truth["proc_version"].strip()
    for i in range(n):
        text = out[2 * i + 1] or ""
        m = re.search(r'^0x%x:\s+"(.*)"$' % banner, text, re.M)
        ctx.check(m is not None and m.group(1).startswith(line) and
                  m.group(1)[len(line):] in ("", "\\n"),
                  "thread %d: x/s linux_banner prints the guest's /proc/version line" % (i + 1),
                  text)


def test_marker_buffer_through_cr3(ctx):
    fx = ctx.fixture()
    buf, blen, pattern, pgd = marker(fx)
    start = 100
    n = min(blen - start, 3 * 4096 + 300)   # crosses three page boundaries
    dump1 = ctx.tmpfile("marker-1.bin")
    dump2 = ctx.tmpfile("marker-2.bin")
    cmds = ["monitor cr3 0x%x" % pgd,
            "monitor cr3",
            "x/s 0x%x" % buf,
            "dump binary memory %s 0x%x 0x%x" % (dump1, buf + start, buf + start + n),
            "x/32xb 0x%x" % (buf + 4096 - 16),
            "monitor cr3 default",
            "monitor cr3",
            "x/4xb 0x%x" % buf,
            "x/s 0x%x" % fx.symbol("linux_banner"),
            "monitor cr3 0x%x" % pgd,
            "dump binary memory %s 0x%x 0x%x" % (dump2, buf, buf + 64),
            ]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check("0x%x" % pgd in (out[0] or "") and "0x%x" % pgd in (out[1] or ""),
              "monitor cr3 VALUE is accepted and reported", out[:2])
    first = pattern_bytes(pattern, 0, 200).decode()
    ctx.check(re.search(r'^0x%x:\s+"%s' % (buf, re.escape(first)), out[2] or "", re.M) is not None,
              "x/s at the marker buffer shows the pattern", out[2])
    data = open(dump1, "rb").read() if os.path.exists(dump1) else b""
    ctx.check(data == pattern_bytes(pattern, start, n),
              "dump memory of %d bytes across page boundaries equals the pattern" % n,
              "%d bytes, first difference at %s" % (
                  len(data), next((i for i in range(min(len(data), n))
                                   if data[i] != pattern_bytes(pattern, start + i, 1)[0]), None)))
    # x/32xb prints "ADDR:<tab>0x..<tab>0x.." lines: collect the byte columns
    got = bytes(int(x, 16) for line in (out[4] or "").splitlines()
                for x in re.findall(r"\t0x([0-9a-f]{2})", line))
    ctx.check(got == pattern_bytes(pattern, 4096 - 16, 32),
              "x/32xb across the first page boundary shows the pattern", out[4])
    ctx.check("no CR3 override" in (out[6] or ""),
              "monitor cr3 default removes the override", out[5:7])
    expect = fx.read_virt(vcpu_cr3(fx), buf, 4)
    if expect is None:
        ctx.check("Cannot access memory at address 0x%x" % buf in (out[7] or ""),
                  "back in vCPU 0's address space, the marker buffer is not mapped", out[7])
    else:
        got = bytes(int(x, 16) for x in re.findall(r"\t0x([0-9a-f]{2})", out[7] or ""))
        ctx.check(got == expect,
                  "back in vCPU 0's address space, the buffer address shows vCPU 0's bytes",
                  out[7])
    ctx.check(fx.truth["proc_version"].strip()[:40] in (out[8] or ""),
              "kernel addresses still read after monitor cr3 default", out[8])
    data = open(dump2, "rb").read() if os.path.exists(dump2) else b""
    ctx.check(data == pattern_bytes(pattern, 0, 64),
              "monitor cr3 can be set again after default", out[10])


def test_unmapped_and_noncanonical(ctx):
    fx = ctx.fixture()
    cr3 = vcpu_cr3(fx)
    va = unmapped_address(fx, cr3)
    if va is None:
        ctx.skip("no unmapped top-level entry in vCPU 0's page tables")
    bad = noncanonical_addresses(fx)
    for a in bad:
        ctx.check(fx.walk(cr3, a)["fault"] == "non-canonical",
                  "harness: 0x%x is non-canonical" % a)
    cmds = ["x/xg 0x%x" % va, "p *(unsigned char *)0x%x" % va, "monitor v2p 0x%x" % va]
    for a in bad:
        cmds += ["x/xg 0x%x" % a, "monitor v2p 0x%x" % a]
    cmds.append("x/s 0x%x" % fx.symbol("linux_banner"))
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    msg = "Cannot access memory at address 0x%x" % va
    ctx.check(msg in (out[0] or ""), "x at an unmapped address: '%s'" % msg, out[0])
    ctx.check(msg in (out[1] or ""), "p at an unmapped address: '%s'" % msg, out[1])
    ctx.check("not mapped" in (out[2] or "") and "physical" not in (out[2] or ""),
              "monitor v2p says an unmapped address is not mapped", out[2])
    for j, a in enumerate(bad):
        msg = "Cannot access memory at address 0x%x" % a
        ctx.check(msg in (out[3 + 2 * j] or ""),
                  "x at non-canonical 0x%x: '%s'" % (a, msg), out[3 + 2 * j])
        ctx.check("not canonical" in (out[4 + 2 * j] or ""),
                  "monitor v2p says 0x%x is not canonical" % a, out[4 + 2 * j])
    ctx.check(fx.truth["proc_version"].strip()[:40] in (out[-1] or ""),
              "after the failed reads the session goes on", out[-1])


def test_dump_memory_kernel(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    start, end = banner - 0x1000 - 0x123, banner + 0x2000
    expect = fx.read_virt(vcpu_cr3(fx), start, end - start)
    if expect is None:
        ctx.skip("the range around linux_banner is not all in the dump")
    path = ctx.tmpfile("kernel.bin")
    r, out = ctx.gdb_each(["dump binary memory %s 0x%x 0x%x" % (path, start, end)],
                          target="core:" + fx.memory, xenstub_args=OS_NONE)
    data = open(path, "rb").read() if os.path.exists(path) else b""
    ctx.check(data == expect,
              "dump memory of 0x%x bytes of the kernel equals memory.elf through the page tables"
              % (end - start), r)


def test_find(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    cr3 = vcpu_cr3(fx)
    start, length = banner - 0x10000 - 0x37, 0x20000    # more than one 64 KiB chunk
    mem = fx.read_virt(cr3, start, length)
    if mem is None:
        ctx.skip("the range around linux_banner is not all in the dump")
    line = fx.truth["proc_version"].strip()
    # gdb searches for the string with its terminating NUL
    pat = (line + "\n").encode() + b"\0"
    want = mem.find(pat)
    ctx.check(want >= 0, "harness: the banner is in the searched range")
    patb = mem[want + 0x40:want + 0x48]
    wantb = mem.find(patb)
    gdbstr = line.replace("\\", "\\\\").replace('"', '\\"') + "\\n"
    cmds = ['find 0x%x, +0x%x, "%s"' % (start, length, gdbstr),
            "find /b 0x%x, +0x%x, %s" % (start, length, ", ".join("0x%02x" % b for b in patb)),
            'find 0x%x, +0x%x, "XENSTUB-E2E-NOT-IN-THE-GUEST"' % (start, length)]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    hits = re.findall(r"^(0x[0-9a-f]+)", out[0] or "", re.M)
    ctx.check(hits and int(hits[0], 16) == start + want,
              "find of the banner string returns 0x%x" % (start + want), out[0])
    hits = re.findall(r"^(0x[0-9a-f]+)", out[1] or "", re.M)
    ctx.check(hits and int(hits[0], 16) == start + wantb,
              "find /b of 8 bytes returns their first place, 0x%x" % (start + wantb), out[1])
    ctx.check("Pattern not found" in (out[2] or ""),
              "find of a string that is not there says so", out[2])


def parse_v2p(text):
    levels = [(m.group(1), int(m.group(2), 16), int(m.group(3), 16))
              for m in re.finditer(r"^\s+(\w+)\s+at 0x([0-9a-f]+) = 0x([0-9a-f]+)", text or "", re.M)]
    m = re.search(r"physical 0x([0-9a-f]+), page ([^,]+), (RW|RO) (U|S) (NX|X)", text or "")
    return levels, m


def size_name(n):
    return {4096: "4 KiB", 2 << 20: "2 MiB", 4 << 20: "4 MiB", 1 << 30: "1 GiB"}[n]


def check_v2p(ctx, fx, what, text, cr3, va):
    w = fx.walk(cr3, va)
    levels, m = parse_v2p(text)
    ctx.check(levels == w["levels"],
              "v2p %s: every level's entry address and value match the harness's walk" % what,
              "%s\nexpected %s" % (text, [(n, hex(a), hex(e)) for n, a, e in w["levels"]]))
    ctx.check(m is not None and int(m.group(1), 16) == w["paddr"],
              "v2p %s: physical 0x%x" % (what, w["paddr"]), text)
    if m:
        ctx.check(m.group(2) == size_name(w["page_size"]),
                  "v2p %s: page size %s" % (what, size_name(w["page_size"])), text)
        perms = ("RW" if w["writable"] else "RO", "U" if w["user"] else "S",
                 "NX" if w["nx"] else "X")
        ctx.check(m.groups()[2:] == perms, "v2p %s: permissions %s" % (what, " ".join(perms)), text)
    return m


def test_v2p(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    buf, _, _, pgd = marker(fx)
    cmds = ["monitor v2p 0x%x" % banner, "monitor cr3 0x%x" % pgd,
            "monitor v2p 0x%x" % (buf + 0x1234), "monitor cr3 default",
            "monitor phys on", "monitor v2p 0x%x" % banner]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    m = check_v2p(ctx, fx, "linux_banner", out[0], vcpu_cr3(fx), banner)
    # The kernel image is mapped linearly: its physical address is the
    # symbol's offset from _text plus where /proc/iomem put "Kernel code".
    code = [x for x in fx.truth["kaslr"]["kernel_image_physical"] if x["name"] == "Kernel code"]
    if code:
        want = int(code[0]["start"], 16) + banner - fx.symbol("_text")
        ctx.check(m is not None and int(m.group(1), 16) == want,
                  "v2p linux_banner = its KASLR-derived physical address 0x%x" % want, out[0])
    ctx.check("CR3 0x%x" % vcpu_cr3(fx) in (out[0] or ""),
              "v2p names the CR3 it walked", out[0])
    check_v2p(ctx, fx, "marker buffer", out[2], pgd, buf + 0x1234)
    ctx.check("CR3 0x%x" % pgd in (out[2] or ""), "v2p walks the CR3 override", out[2])
    ctx.check("physical address" in (out[5] or "") and "PML4E" not in (out[5] or ""),
              "v2p in physical mode says the address is physical", out[5])


def test_qcrc(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    buf, blen, pattern, pgd = marker(fx)
    kern = fx.read_virt(vcpu_cr3(fx), banner, 0x1800)
    va = unmapped_address(fx, vcpu_cr3(fx))
    mark_len = min(blen, 0x3000) - 7
    cmds = ["maint packet qCRC:%x,%x" % (banner, 0x1800),
            "maint packet qCRC:%x,%x" % (banner, 0),
            "maint packet qCRC:%x,%x" % (va, 0x10),
            "monitor cr3 0x%x" % pgd,
            "maint packet qCRC:%x,%x" % (buf + 7, mark_len)]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    want = crc32_gdb(kern)
    ctx.check('received: "C%x"' % want in (out[0] or ""),
              "qCRC of 0x1800 bytes at linux_banner = C%x" % want, out[0])
    ctx.check('received: "Cffffffff"' in (out[1] or ""),
              "qCRC of nothing is the initial value", out[1])
    ctx.check(re.search(r'received: "E[0-9a-f]{2}"', out[2] or "") is not None,
              "qCRC over an unmapped address is an error", out[2])
    want = crc32_gdb(pattern_bytes(pattern, 7, mark_len))
    ctx.check('received: "C%x"' % want in (out[4] or ""),
              "qCRC of the marker buffer (through monitor cr3) = C%x" % want, out[4])


def test_qsearch(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    start = banner - 0x3000 - 5
    mem = fx.read_virt(vcpu_cr3(fx), start, 0x6000)
    want = mem.find(b"Linux version ")
    cmds = ["maint packet qSearch:memory:%x;%x;Linux version " % (start, 0x6000),
            "maint packet qSearch:memory:%x;%x;XENSTUB-E2E-ABSENT" % (start, 0x6000),
            "maint packet qSearch:memory:%x;%x;Linux version " % (banner + 1, 0x100)]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check('received: "1,%x"' % (start + want) in (out[0] or ""),
              "qSearch:memory finds 'Linux version ' at 0x%x" % (start + want), out[0])
    ctx.check('received: "0"' in (out[1] or ""),
              "qSearch:memory answers 0 for a string that is not there", out[1])
    later = fx.read_virt(vcpu_cr3(fx), banner + 1, 0x100).find(b"Linux version ")
    if later < 0:
        ctx.check('received: "0"' in (out[2] or ""),
                  "qSearch:memory does not find what lies before its start", out[2])
    else:
        ctx.check('received: "1,%x"' % (banner + 1 + later) in (out[2] or ""),
                  "qSearch:memory finds the first place after its start", out[2])
