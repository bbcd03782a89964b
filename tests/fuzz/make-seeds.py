# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes seed inputs for the fuzzers: gdb-like packet streams for
fuzz-server and small QEMU-style ELF dumps (x86_64 and i386) for
fuzz-dump. Usage: make-seeds.py SERVER_DIR DUMP_DIR"""

import os
import struct
import sys


def frame(body):
    """One packet as gdb sends it, escaped, with its checksum."""
    out = bytearray()
    for c in body:
        if c in b"$#}*":
            out += bytes([0x7d, c ^ 0x20])
        else:
            out.append(c)
    return b"$" + bytes(out) + b"#%02x" % (sum(out) & 0xff)


CONNECT = [b"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
           b"vMustReplyEmpty", b"QStartNoAckMode", b"Hg0",
           b"qXfer:features:read:target.xml:0,ffb", b"qTStatus", b"?",
           b"qXfer:threads:read::0,ffb", b"qAttached", b"Hc-1", b"qC",
           b"qOffsets", b"g", b"qfThreadInfo", b"qsThreadInfo"]

SESSIONS = {
    "connect": CONNECT,
    "memory": [b"m0,40", b"m1000,1000", b"mfff8,10", b"M0,4:deadbeef",
               b"X10,4:\x00$#}", b"m3ffff0,20", b"qCRC:0,1000",
               b"qSearch:memory:0;10000;\x07\x0e"],
    "registers": [b"g", b"p0", b"p10", b"p1b", b"p21", b"p41",
                  b"P0=0000000000000000", b"G" + b"00" * 608, b"Gxx"],
    "threads": [b"Hg1", b"Hgp1.1", b"T1", b"qThreadExtraInfo,1",
                b"vCont?", b"vCont;c", b"vCont;s:1;c", b"c", b"s", b"D"],
    "points": [b"Z0,1000,1", b"z0,1000,1", b"Z2,2000,4", b"Z4,3000,8",
               b"Z1,4000,1;X1,00"],
    "monitor": [b"qRcmd," + s.encode().hex().encode() for s in
                ("help", "phys", "v2p 0x1000", "cr3 0x1000", "stats",
                 "info version", "cr3 off")],
    "xfer": [b"qXfer:features:read:target.xml:%x,7" % o for o in
             range(0, 64, 7)] + [b"qXfer:osdata:read::0,fff"],
}


def server_seeds(d):
    os.makedirs(d, exist_ok=True)
    for mode in (0, 1, 2, 3, 4):
        for name, pkts in SESSIONS.items():
            data = b"+".join(frame(p) for p in pkts)
            # the first byte picks the paging mode and the feed size
            head = bytes([mode | (len(data) % 32) << 3])
            with open(os.path.join(d, "%s-%d" % (name, mode)), "wb") as f:
                f.write(head + data)
    with open(os.path.join(d, "specials"), "wb") as f:
        f.write(b"\x00" + b"junk\x03$m0,4" + frame(b"a") + b"$g#00-"
                + b"$m0,4*!#ff" + frame(b"qC"))


def note(owner, ntype, desc):
    name = owner + b"\0"
    pad = lambda b: b + b"\0" * ((4 - len(b) % 4) % 4)
    return struct.pack("<III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def qemu_note(v):
    regs = [0x1000 * v + i for i in range(18)]  # rax..r15 rip rflags
    segs = b"".join(struct.pack("<IIIIQ", 0x10, 0xffffffff, 0xaf9b00, 0, 0)
                    for _ in range(10))
    crs = struct.pack("<5Q", 0x80050033, 0, 0, 0x1000, 0x6f0)
    body = struct.pack("<II", 1, 440) + struct.pack("<18Q", *regs) + segs + crs
    return body + struct.pack("<Q", 0)


def prstatus(is64, v):
    if is64:
        return b"\0" * 112 + struct.pack("<27Q", *range(v, v + 27)) + b"\0" * 8
    return b"\0" * 72 + struct.pack("<17I", *range(v, v + 17)) + b"\0" * 4


def tables():
    """4-level tables at 0x1000 mapping a 2 MiB NX page; PAE at 0x5000."""
    mem = bytearray(0x8000)
    struct.pack_into("<Q", mem, 0x1000, 0x2003)
    struct.pack_into("<Q", mem, 0x2000, 0x3003)
    struct.pack_into("<Q", mem, 0x3000, 0x200083 | 1 << 63)
    struct.pack_into("<Q", mem, 0x5000, 0x6001)
    struct.pack_into("<Q", mem, 0x6000, 0x200083 | 1 << 63)
    return bytes(mem)


def elf(is64, nvcpus, segs):
    notes = b"".join(note(b"CORE", 1, prstatus(is64, v)) for v in range(nvcpus))
    notes += b"".join(note(b"QEMU", 0, qemu_note(v)) for v in range(nvcpus))
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    nph = 1 + len(segs)
    off = ehsize + nph * phsize
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1, 1]) + b"\0" * 9
    machine = 62 if is64 else 3
    if is64:
        eh = ident + struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, ehsize, 0,
                                 0, ehsize, phsize, nph, 0, 0, 0)
    else:
        eh = ident + struct.pack("<HHIIIIIHHHHHH", 4, machine, 1, 0, ehsize, 0,
                                 0, ehsize, phsize, nph, 0, 0, 0)
    phs = []
    data = off + len(notes)
    entries = [(4, off, 0, len(notes))]
    for paddr, blob in segs:
        entries.append((1, data, paddr, len(blob)))
        data += len(blob)
    for t, o, pa, sz in entries:
        if is64:
            phs.append(struct.pack("<IIQQQQQQ", t, 0, o, 0, pa, sz, sz, 0))
        else:
            phs.append(struct.pack("<IIIIIIII", t, o, 0, pa, sz, sz, 0, 0))
    return eh + b"".join(phs) + notes + b"".join(b for _, b in segs)


def dump_seeds(d):
    os.makedirs(d, exist_ok=True)
    mem = tables()
    page = bytes(range(256)) * 16
    seeds = {
        "x86_64-2cpu": elf(True, 2, [(0x100000, page), (0, mem)]),
        "x86_64-1cpu": elf(True, 1, [(0, mem)]),
        "i386-2cpu": elf(False, 2, [(0, mem), (0x9000, page)]),
    }
    for name, blob in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-seeds.py SERVER_DIR DUMP_DIR")
    server_seeds(sys.argv[1])
    dump_seeds(sys.argv[2])


if __name__ == "__main__":
    main()
