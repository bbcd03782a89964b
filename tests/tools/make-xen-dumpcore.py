#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a small synthetic Xen 'xl dump-core' file for tests: the layout of
Xen's xc_domain_dumpcore (see the comment at the top of stub/guest/dump-xen.c),
a 64-bit guest with 4-level page tables of its own, a string at a known
virtual address, a mapped page whose frame is absent from the dump, and N
vCPUs. HVM guests index pages by pfn (.xen_pfn); PV guests by {pfn, gmfn}
(.xen_p2m), and their page tables and CR3 hold machine frames (gmfn).

Usage: make-xen-dumpcore.py [--pv] [--vcpus N] -o FILE
prints what the file holds (addresses, registers) as JSON on stdout.
"""

import argparse
import json
import struct
import sys

PAGE = 4096
MAGIC_PV = 0xF00FEBED
MAGIC_HVM = 0xF00FEBEE
NOTE_NONE, NOTE_HEADER, NOTE_XEN_VERSION, NOTE_FORMAT = 0x2000000, 0x2000001, 0x2000002, 0x2000003
EM_X86_64 = 62
SHT_PROGBITS, SHT_NOTE, SHT_STRTAB = 1, 7, 3
CTX_SIZE = 5168            # sizeof(vcpu_guest_context_any_t) on x86_64
INVALID = (1 << 64) - 1

# vcpu_guest_context_x86_64 offsets (xen/include/public/arch-x86/xen-x86_64.h)
CTX_FLAGS = 512
USER_REGS = 520
REG_ORDER = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
             "rax", "rcx", "rdx", "rsi", "rdi"]       # 8 bytes each from 520
CTX_RIP, CTX_CS, CTX_RFLAGS, CTX_RSP = 648, 656, 664, 672
CTX_SS, CTX_ES, CTX_DS, CTX_FS, CTX_GS = 680, 688, 696, 704, 712
CTX_CTRLREG, CTX_DEBUGREG = 4984, 5048
CTX_FS_BASE, CTX_GS_BASE_KERNEL, CTX_GS_BASE_USER = 5144, 5152, 5160
VGCF_I387_VALID, VGCF_IN_KERNEL, VGCF_ONLINE = 1 << 0, 1 << 2, 1 << 5

# Guest layout (pseudo-physical frames)
PFN_PML4, PFN_PDPT, PFN_PD, PFN_PT = 0x100, 0x101, 0x102, 0x103
PFN_DATA, PFN_CODE = 0x200, 0x201
PFN_ABSENT = 0x180          # mapped by the page tables, not in the dump
BASE_VA = 0xFFFFFFFF81000000
STRING_VA = BASE_VA + 0x123
CODE_VA = BASE_VA + PAGE
ABSENT_VA = BASE_VA + 2 * PAGE
UNMAPPED_VA = BASE_VA + 3 * PAGE
MESSAGE = b"xenstub dump-core test: hello from the guest"

PTE_P, PTE_RW, PTE_NX = 1 << 0, 1 << 1, 1 << 63


def _index(va, level):
    return (va >> (12 + 9 * level)) & 511


def _shstrtab(names):
    blob = b"\0"
    offs = {}
    for n in names:
        offs[n] = len(blob)
        blob += n.encode() + b"\0"
    return blob, offs


def _note(ntype, desc):
    pad = (-len(desc)) % 4
    return struct.pack("<III", 4, len(desc), ntype) + b"Xen\0" + desc + b"\0" * pad


def _context(v, cr3, pv):
    c = bytearray(CTX_SIZE)
    # FXSAVE: FCW 0x37f, MXCSR 0x1f80, xmm0 a pattern
    struct.pack_into("<H", c, 0, 0x37F)
    struct.pack_into("<I", c, 24, 0x1F80)
    xmm0 = bytes(range(0x10 * (v + 1), 0x10 * (v + 1) + 16))
    c[160:176] = xmm0
    flags = VGCF_I387_VALID | VGCF_ONLINE | (VGCF_IN_KERNEL if pv else 0)
    struct.pack_into("<Q", c, CTX_FLAGS, flags)
    regs = {}
    for i, name in enumerate(REG_ORDER):
        regs[name] = 0xFFFF888000010000 + 0x100 * v + i
        struct.pack_into("<Q", c, USER_REGS + 8 * i, regs[name])
    regs["rip"] = CODE_VA + 0x10 * (v + 1)
    regs["rsp"] = 0xFFFFC90000004000 + 0x1000 * v
    regs["rflags"] = 0x246
    struct.pack_into("<Q", c, CTX_RIP, regs["rip"])
    struct.pack_into("<Q", c, CTX_RSP, regs["rsp"])
    struct.pack_into("<Q", c, CTX_RFLAGS, regs["rflags"])
    cs, ss = (0xE033, 0xE02B) if pv else (0x10, 0x18)
    for off, sel in ((CTX_CS, cs), (CTX_SS, ss), (CTX_ES, 0), (CTX_DS, 0),
                     (CTX_FS, 0), (CTX_GS, 0)):
        struct.pack_into("<H", c, off, sel)
    regs["cs"], regs["ss"] = cs, ss
    ctrl = [0x80050033, 0, 0, cr3, 0x3506F0, 0, 0, 0]
    struct.pack_into("<8Q", c, CTX_CTRLREG, *ctrl)
    struct.pack_into("<8Q", c, CTX_DEBUGREG, 0, 0, 0, 0, 0, 0, 0xFFFF0FF0, 0x400)
    regs["cr3"] = cr3
    regs["fs_base"] = 0x7F0000001000 + v
    regs["gs_base"] = 0xFFFF88807FC00000 + 0x10000 * v     # kernel mode: in use
    regs["k_gs_base"] = 0x7F0000002000 + v                  # the shadow
    struct.pack_into("<QQQ", c, CTX_FS_BASE, regs["fs_base"], regs["gs_base"],
                     regs["k_gs_base"])
    regs["xmm0"] = xmm0.hex()
    return bytes(c), regs


def build(pv=False, nr_vcpus=2):
    """Returns (file bytes, facts)."""
    # machine frames: identical for HVM; scattered for PV
    def frame(pfn):
        return (0x9000 - pfn) if pv else pfn

    pages = {}

    def table(pfn, entries):
        t = bytearray(PAGE)
        for idx, (target_pfn, flags) in entries.items():
            struct.pack_into("<Q", t, 8 * idx, (frame(target_pfn) << 12) | flags)
        pages[pfn] = bytes(t)

    table(PFN_PML4, {_index(BASE_VA, 3): (PFN_PDPT, PTE_P | PTE_RW)})
    table(PFN_PDPT, {_index(BASE_VA, 2): (PFN_PD, PTE_P | PTE_RW)})
    table(PFN_PD, {_index(BASE_VA, 1): (PFN_PT, PTE_P | PTE_RW)})
    table(PFN_PT, {_index(STRING_VA, 0): (PFN_DATA, PTE_P | PTE_RW | PTE_NX),
                   _index(CODE_VA, 0): (PFN_CODE, PTE_P),
                   _index(ABSENT_VA, 0): (PFN_ABSENT, PTE_P | PTE_RW | PTE_NX)})
    data = bytearray(PAGE)
    off = STRING_VA & (PAGE - 1)
    data[off:off + len(MESSAGE) + 1] = MESSAGE + b"\0"
    pages[PFN_DATA] = bytes(data)
    pages[PFN_CODE] = b"\x90" * (PAGE - 1) + b"\xf4"   # nop ... hlt
    pfns = sorted(pages) + [INVALID]                 # one padding entry
    nr_pages = len(pfns)

    cr3 = frame(PFN_PML4) << 12
    ctxs, vcpus = [], []
    for v in range(nr_vcpus):
        c, regs = _context(v, cr3, pv)
        ctxs.append(c)
        vcpus.append(regs)

    names = [".shstrtab", ".note.Xen", ".xen_prstatus", ".xen_pages",
             ".xen_p2m" if pv else ".xen_pfn"]
    strtab, name_off = _shstrtab(names)
    version = bytearray(1280)
    struct.pack_into("<QQ", version, 0, 4, 17)
    version[16:22] = b".0-sim"
    notes = (_note(NOTE_NONE, b"") +
             _note(NOTE_HEADER, struct.pack("<QQQQ", MAGIC_PV if pv else MAGIC_HVM,
                                            nr_vcpus, nr_pages, PAGE)) +
             _note(NOTE_XEN_VERSION, bytes(version)) +
             _note(NOTE_FORMAT, struct.pack("<Q", 1)))
    nsec = 1 + len(names)
    off_notes = 64 + 64 * nsec
    off_prs = off_notes + len(notes)
    prs = b"".join(ctxs)
    off_pages = (off_prs + len(prs) + PAGE - 1) // PAGE * PAGE
    esz = 16 if pv else 8
    off_index = off_pages + nr_pages * PAGE
    off_strtab = off_index + nr_pages * esz

    ehdr = bytearray(64)
    ehdr[0:16] = b"\x7fELF" + bytes([2, 1, 1, 0, 1]) + bytes(7)
    struct.pack_into("<HHIQQQIHHHHHH", ehdr, 16, 4, EM_X86_64, 1, 0, 0, 64, 0,
                     64, 56, 0, 64, nsec, 1)

    def shdr(name, stype, offset, size, align, entsize):
        return struct.pack("<IIQQQQIIQQ", name_off[name] if name else 0, stype,
                           0, 0, offset, size, 0, 0, align, entsize)

    shdrs = (shdr(None, 0, 0, 0, 0, 0) +
             shdr(".shstrtab", SHT_STRTAB, off_strtab, len(strtab), 0, 0) +
             shdr(".note.Xen", SHT_NOTE, off_notes, len(notes), 0, 0) +
             shdr(".xen_prstatus", SHT_PROGBITS, off_prs, len(prs), 8, CTX_SIZE) +
             shdr(".xen_pages", SHT_PROGBITS, off_pages, nr_pages * PAGE, PAGE, PAGE) +
             shdr(names[-1], SHT_PROGBITS, off_index, nr_pages * esz, 8, esz))
    out = bytearray(ehdr + shdrs + notes + prs)
    out += bytes(off_pages - len(out))
    for pfn in pfns:
        out += pages.get(pfn, bytes(PAGE))
    for pfn in pfns:
        if pv:
            out += struct.pack("<QQ", pfn, INVALID if pfn == INVALID else frame(pfn))
        else:
            out += struct.pack("<Q", pfn)
    out += strtab
    facts = {
        "kind": "PV" if pv else "HVM",
        "nr_vcpus": nr_vcpus,
        "string_va": STRING_VA,
        "string": MESSAGE.decode(),
        "code_va": CODE_VA,
        "absent_va": ABSENT_VA,
        "unmapped_va": UNMAPPED_VA,
        "string_paddr": (frame(PFN_DATA) << 12) | (STRING_VA & (PAGE - 1)),
        "absent_paddr": frame(PFN_ABSENT) << 12,
        "vcpus": vcpus,
        "size": len(out),
    }
    return bytes(out), facts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pv", action="store_true", help="a PV guest (.xen_p2m, machine frames)")
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    data, facts = build(args.pv, args.vcpus)
    with open(args.output, "wb") as f:
        f.write(data)
    json.dump(facts, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
