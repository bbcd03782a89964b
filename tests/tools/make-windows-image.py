#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Builds the memory of a Windows-like 64-bit guest from a real Windows
kernel's Volatility 3 symbol table (ISF, .json or .json.xz) and writes it as
a QEMU-style ELF core that `xenstub - core:FILE --profile-dir DIR` reads.

The core holds PT_LOAD segments and, per vCPU, NT_PRSTATUS and QEMU
CPU-state notes (as QEMU's dump-guest-memory writes them).

Every offset, size and symbol comes from the table given, so any Windows 7
to 11 x64 table works unchanged. Only architectural facts are fixed: the
PE format, x86-64 paging and descriptors, the x64 KSWITCH_FRAME layout
(for tables without _KSWITCH_FRAME) and KI_USER_SHARED_DATA's address.

What the memory holds:
  - 4-level page tables: the kernel's (the System process's), and one set
    per process with its own user mappings; with KVA shadowing (tables
    with _KPROCESS.UserDirectoryTableBase) a user-mode copy per process;
  - the kernel image: MZ/PE headers, a debug directory whose CodeView
    RSDS record names the table's PDB, GUID and age (or --guid), and the
    kernel globals the symbols name (PsActiveProcessHead,
    PsLoadedModuleList, KiProcessorBlock, NtBuildNumber, ...);
  - an IDT whose gates point into the image, a KPCR/KPRCB per vCPU
    (GS base, or IA32_KERNEL_GS_BASE for a vCPU in user mode);
  - processes (_EPROCESS) with several threads each (_ETHREAD): ids,
    names (_ETHREAD.ThreadName where the build has it), states, kernel
    stacks with a switch frame at _KTHREAD.KernelStack, a page at the
    same user address in every process holding that process's pattern;
  - the idle threads (KPRCB.IdleThread), KUSER_SHARED_DATA, and the
    loaded drivers (PsLoadedModuleList).
vCPU 0 runs a thread of one process in kernel mode, vCPU 1 (if any) a
thread of another in user mode, further vCPUs their idle threads.

--corrupt damages a list to test bounded walks: process-loop (the last
process links back to the second), process-badptr (the third process's
Flink points to unmapped kernel memory), process-noncanonical (a
non-canonical Flink), thread-loop (a thread list loops).

Usage: make-windows-image.py --profile TABLE -o CORE.elf [--manifest M.json]
           [--vcpus N] [--version 10.0.19041] [--guid HEX32] [--age N]
           [--corrupt KIND]
The manifest (JSON) describes everything built: kernel base, symbols,
vCPUs and their registers, processes, threads with their expected gdb
thread ids, states and registers, drivers.
"""

import argparse
import json
import lzma
import struct
import sys

PAGE = 4096
OS_TID_BASE = 1000000
PTE_P, PTE_RW, PTE_US, PTE_NX = 1, 2, 4, 1 << 63

# x64 KSWITCH_FRAME (WDK ntamd64 headers, ReactOS): used when the table
# has no _KSWITCH_FRAME
SWITCH_FRAME_SIZE, SWITCH_FRAME_RBP, SWITCH_FRAME_RETURN = 0x40, 0x30, 0x38
# _KTHREAD_STATE values Windows has kept since NT 5.2, for tables without
# the enum
STABLE_STATES = ["Initialized", "Ready", "Running", "Standby", "Terminated",
                 "Waiting", "Transition", "DeferredReady"]
KUSER_SHARED_DATA = 0xFFFFF78000000000

POOL_BASE = 0xFFFFB38000000000
STACK_BASE = 0xFFFFD00000000000
DRIVER_BASE = 0xFFFFF80000000000
PATTERN_VA = 0x00007FF612340000
TEB_VA = 0x000000D800000000
USER_STACK_VA = 0x000000D900000000
STACK_PAGES = 3


class Table:
    """The ISF table: sizes, offsets by path, symbols, enums."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if data[:6] == b"\xfd7zXZ\x00":
            data = lzma.decompress(data)
        self.doc = json.loads(data)
        self.types = self.doc["user_types"]
        pdb = self.doc["metadata"]["windows"]["pdb"]
        self.guid = pdb["GUID"].upper()
        self.age = int(pdb["age"])
        self.pdb = pdb.get("database", "ntkrnlmp.pdb")

    def has(self, type_name):
        return type_name in self.types

    def size(self, type_name):
        if type_name in self.types:
            return self.types[type_name]["size"]
        if type_name in self.doc["base_types"]:
            return self.doc["base_types"][type_name]["size"]
        if type_name in self.doc["enums"]:
            return self.doc["enums"][type_name]["size"]
        raise KeyError(type_name)

    def _desc_size(self, d):
        kind = d["kind"]
        if kind == "pointer":
            return self.doc["base_types"]["pointer"]["size"]
        if kind == "array":
            return d["count"] * self._desc_size(d["subtype"])
        if kind == "bitfield":
            return self._desc_size(d["type"])
        return self.size(d["name"])

    def _find(self, type_name, name, depth=0):
        fields = self.types.get(type_name, {}).get("fields", {})
        if name in fields:
            return fields[name]["offset"], fields[name]["type"]
        if depth > 16:
            return None
        for fname, f in fields.items():
            if (f.get("anonymous") or fname.startswith("unnamed_field")) and \
                    f["type"].get("name"):
                r = self._find(f["type"]["name"], name, depth + 1)
                if r:
                    return f["offset"] + r[0], r[1]
        return None

    def field(self, type_name, path):
        """(offset, size, type description) of a member path, or None."""
        off, cur, desc = 0, type_name, None
        for part in path.split("."):
            r = self._find(cur, part) if cur else None
            if r is None:
                return None
            off += r[0]
            desc = r[1]
            cur = desc.get("name") if desc["kind"] in ("struct", "union") else None
        return off, self._desc_size(desc), desc

    def off(self, type_name, path):
        r = self.field(type_name, path)
        if r is None:
            raise KeyError("%s.%s" % (type_name, path))
        return r[0]

    def symbol(self, name):
        s = self.doc["symbols"].get(name)
        return s["address"] if s and "address" in s else None

    def max_rva(self):
        """The highest symbol RVA below 256 MiB (the image must hold them)."""
        return max(s["address"] for s in self.doc["symbols"].values()
                   if "address" in s and s["address"] < (256 << 20))

    def states(self):
        """{name: value} of _KTHREAD.State, and whether from the table."""
        e = self.doc["enums"].get("_KTHREAD_STATE")
        if e:
            return dict(e["constants"]), True
        return {n: i for i, n in enumerate(STABLE_STATES)}, False


class Memory:
    """Guest-physical frames, allocated densely from 1 MiB."""

    def __init__(self):
        self.frames = {}
        self.next_pfn = 0x100

    def alloc(self):
        pfn = self.next_pfn
        self.next_pfn += 1
        self.frames[pfn] = bytearray(PAGE)
        return pfn << 12

    def write(self, pa, data):
        while data:
            pfn, o = pa >> 12, pa & (PAGE - 1)
            n = min(len(data), PAGE - o)
            self.frames[pfn][o:o + n] = data[:n]
            data = data[n:]
            pa += n

    def read(self, pa, n):
        out = b""
        while len(out) < n:
            a = pa + len(out)
            pfn, o = a >> 12, a & (PAGE - 1)
            k = min(n - len(out), PAGE - o)
            out += bytes(self.frames[pfn][o:o + k])
        return out


class Space:
    """4-level page tables rooted at one PML4."""

    def __init__(self, mem, root=None):
        self.mem = mem
        self.root = root if root is not None else mem.alloc()

    def _entry(self, table, idx):
        return struct.unpack_from("<Q", self.mem.frames[table >> 12], idx * 8)[0]

    def _set(self, table, idx, val):
        struct.pack_into("<Q", self.mem.frames[table >> 12], idx * 8, val)

    def lookup(self, va):
        table = self.root
        for shift in (39, 30, 21, 12):
            e = self._entry(table, (va >> shift) & 511)
            if not e & PTE_P:
                return None
            table = e & 0x000FFFFFFFFFF000
        return table | (va & (PAGE - 1))

    def map(self, va, pa, user=False, writable=True, nx=True):
        table = self.root
        upper = PTE_P | PTE_RW | (PTE_US if user else 0)
        for shift in (39, 30, 21):
            idx = (va >> shift) & 511
            e = self._entry(table, idx)
            if not e & PTE_P:
                e = self.mem.alloc() | upper
                self._set(table, idx, e)
            elif user and not e & PTE_US:
                self._set(table, idx, e | PTE_US)
            table = e & 0x000FFFFFFFFFF000
        leaf = PTE_P | (PTE_RW if writable else 0) | (PTE_US if user else 0) | \
            (PTE_NX if nx else 0)
        self._set(table, (va >> 12) & 511, pa | leaf)

    def ensure(self, va, length, user=False, nx=True):
        """Backs [va, va+length) with fresh frames where unmapped."""
        a = va & ~(PAGE - 1)
        while a < va + length:
            if self.lookup(a) is None:
                self.map(a, self.mem.alloc(), user=user, nx=nx)
            a += PAGE

    def write(self, va, data, user=False):
        self.ensure(va, len(data), user=user)
        while data:
            n = min(len(data), PAGE - (va & (PAGE - 1)))
            self.mem.write(self.lookup(va), data[:n])
            data = data[n:]
            va += n

    def read(self, va, n):
        out = b""
        while len(out) < n:
            a = va + len(out)
            k = min(n - len(out), PAGE - (a & (PAGE - 1)))
            out += self.mem.read(self.lookup(a), k)
        return out

    def copy_kernel_half(self, other):
        for idx in range(256, 512):
            self._set(self.root, idx, other._entry(other.root, idx))


class Obj:
    """One kernel structure at a virtual address, written through the
    table's offsets."""

    def __init__(self, k, type_name, va):
        self.k, self.type, self.va = k, type_name, va

    def has(self, path):
        return self.k.t.field(self.type, path) is not None

    def addr(self, path):
        return self.va + self.k.t.off(self.type, path)

    def set(self, path, value, optional=False):
        r = self.k.t.field(self.type, path)
        if r is None:
            if optional:
                return False
            raise KeyError("%s.%s" % (self.type, path))
        off, size, _ = r
        size = min(size, 8)
        self.k.kspace.write(self.va + off, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
        return True

    def set_bytes(self, path, data):
        off, size, _ = self.k.t.field(self.type, path)
        self.k.kspace.write(self.va + off, data[:size].ljust(size, b"\0"))


class Kernel:
    def __init__(self, args):
        self.args = args
        self.t = Table(args.profile)
        self.mem = Memory()
        self.kspace = Space(self.mem)
        self.kbase = args.kernel_base
        self.pool = POOL_BASE
        self.stacks = STACK_BASE
        self.shadow = self.t.field("_KPROCESS", "UserDirectoryTableBase") is not None
        self.states, self.states_from_table = self.t.states()
        self.ptr = self.t.size("pointer")
        self.size_of_image = (self.t.max_rva() + 0x1000 + PAGE - 1) & ~(PAGE - 1)
        self.vcpus = []
        self.procs = []
        self.threads = []
        self.modules = []

    # ---- allocation ----
    def kalloc(self, size, align=16):
        self.pool = (self.pool + align - 1) & ~(align - 1)
        va = self.pool
        self.pool += size
        self.kspace.ensure(va, size)
        return va

    def obj(self, type_name, va=None):
        if va is None:
            va = self.kalloc(self.t.size(type_name), 64)
        else:
            self.kspace.ensure(va, self.t.size(type_name))
        return Obj(self, type_name, va)

    def sym(self, name):
        rva = self.t.symbol(name)
        return None if rva is None else self.kbase + rva

    def write_sym(self, name, data):
        va = self.sym(name)
        if va is not None:
            self.kspace.write(va, data)
        return va

    def state(self, name):
        return self.states[name]

    def unicode_string(self, text, va=None):
        """A _UNICODE_STRING (in the pool unless va is given)."""
        buf = text.encode("utf-16-le")
        bva = self.kalloc(len(buf) + 2, 16)
        self.kspace.write(bva, buf + b"\0\0")
        us = Obj(self, "_UNICODE_STRING", va if va is not None else self.kalloc(self.t.size("_UNICODE_STRING")))
        us.set("Length", len(buf))
        us.set("MaximumLength", len(buf) + 2)
        us.set("Buffer", bva)
        return us.va

    def link(self, head, entries):
        """Circular doubly linked list of LIST_ENTRY addresses."""
        nodes = [head] + entries
        for i, n in enumerate(nodes):
            nxt = nodes[(i + 1) % len(nodes)]
            prv = nodes[i - 1]
            self.kspace.write(n, struct.pack("<QQ", nxt, prv))

    # ---- the image ----
    def build_image(self):
        a = self.args
        guid = (a.guid or self.t.guid).upper()
        age = a.age if a.age is not None else self.t.age
        self.guid, self.age = guid, age
        rva_debug, rva_rsds = 0x400, 0x420
        name = self.t.pdb.encode() + b"\0"
        rsds = b"RSDS" + struct.pack("<IHH", int(guid[0:8], 16), int(guid[8:12], 16),
                                     int(guid[12:16], 16)) + bytes.fromhex(guid[16:32]) + \
            struct.pack("<I", age) + name
        hdr = bytearray(PAGE)
        hdr[0:2] = b"MZ"
        lfanew = 0x108
        struct.pack_into("<I", hdr, 0x3C, lfanew)
        hdr[lfanew:lfanew + 4] = b"PE\0\0"
        coff = lfanew + 4
        nsect = 3
        struct.pack_into("<HHIIIHH", hdr, coff, 0x8664, nsect, 0x5E0A3B1C, 0, 0, 0xF0, 0x22)
        opt = coff + 20
        struct.pack_into("<HBB", hdr, opt, 0x20B, 14, 20)
        struct.pack_into("<I", hdr, opt + 16, 0x1000)            # AddressOfEntryPoint
        struct.pack_into("<Q", hdr, opt + 24, 0x140000000)       # ImageBase (preferred)
        struct.pack_into("<II", hdr, opt + 32, 0x1000, 0x200)    # alignments
        struct.pack_into("<HH", hdr, opt + 40, 10, 0)            # OS version
        struct.pack_into("<I", hdr, opt + 56, self.size_of_image)
        struct.pack_into("<I", hdr, opt + 60, 0x1000)            # SizeOfHeaders
        struct.pack_into("<H", hdr, opt + 68, 1)                 # native subsystem
        struct.pack_into("<I", hdr, opt + 108, 16)
        struct.pack_into("<II", hdr, opt + 112 + 6 * 8, rva_debug, 28)
        sect = opt + 0xF0
        half = (self.size_of_image // 2) & ~(PAGE - 1)
        for i, (sname, va, size, ch) in enumerate([
                (b".text", 0x1000, half - 0x1000, 0x68000020),
                (b".data", half, self.size_of_image - half - 0x1000, 0xC8000040),
                (b".rsrc", self.size_of_image - 0x1000, 0x1000, 0x42000040)]):
            struct.pack_into("<8sIIII", hdr, sect + 40 * i, sname, size, va, size, va)
            struct.pack_into("<I", hdr, sect + 40 * i + 36, ch)
        struct.pack_into("<IIHHIIII", hdr, rva_debug, 0, 0x5E0A3B1C, 0, 0, 2,
                         len(rsds), rva_rsds, rva_rsds)
        hdr[rva_rsds:rva_rsds + len(rsds)] = rsds
        self.kspace.write(self.kbase, bytes(hdr))

    def code_addr(self, names, fallback_rva):
        for n in names:
            if self.t.symbol(n) is not None:
                return self.kbase + self.t.symbol(n)
        return self.kbase + fallback_rva

    def build_idt(self):
        idt = self.kalloc(PAGE, PAGE)
        sfx = ["Shadow", ""] if self.shadow else [""]
        handlers = {0: ["KiDivideErrorFault" + s for s in sfx],
                    1: ["KiDebugTrapOrFault" + s for s in sfx],
                    3: ["KiBreakpointTrap" + s for s in sfx],
                    13: ["KiGeneralProtectionFault" + s for s in sfx],
                    14: ["KiPageFault" + s for s in sfx]}
        gates = bytearray(PAGE)
        for i in range(256):
            h = self.code_addr(handlers.get(i, []), 0x1000 + 0x40 * i)
            struct.pack_into("<HHBBHII", gates, 16 * i, h & 0xFFFF, 0x10, 0, 0x8E,
                             (h >> 16) & 0xFFFF, h >> 32, 0)
        self.kspace.write(idt, bytes(gates))
        self.idt = idt
        self.gdt = self.kalloc(PAGE, PAGE)
        self.kspace.write(self.gdt, struct.pack("<QQQQ", 0, 0, 0x00209B0000000000, 0x00409300000000))
        self.idt_handlers = {i: self.code_addr(handlers[i], 0) for i in handlers}

    def build_globals(self):
        a = self.args
        major, minor, build = [int(x) for x in a.version.split(".")]
        self.version = (major, minor, build)
        self.build_lab = "%d.1.amd64fre.xenstub_test.000000-0000" % build
        self.write_sym("NtBuildNumber", struct.pack("<I", 0xF0000000 | build))
        self.write_sym("NtBuildLab", self.build_lab.encode() + b"\0")
        self.write_sym("NtMajorVersion", struct.pack("<I", major))
        self.write_sym("NtMinorVersion", struct.pack("<I", minor))
        if not self.t.has("_KUSER_SHARED_DATA"):
            return
        kusd = Obj(self, "_KUSER_SHARED_DATA", KUSER_SHARED_DATA)
        self.kspace.ensure(KUSER_SHARED_DATA, self.t.size("_KUSER_SHARED_DATA"))
        kusd.set("NtMajorVersion", major, optional=True)
        kusd.set("NtMinorVersion", minor, optional=True)
        kusd.set("NtBuildNumber", build, optional=True)

    # ---- processes and threads ----
    def new_stack(self):
        self.stacks += PAGE  # guard page, left unmapped
        lo = self.stacks
        self.kspace.ensure(lo, STACK_PAGES * PAGE)
        self.stacks += STACK_PAGES * PAGE
        return lo, self.stacks

    def switch_frame(self):
        if self.t.has("_KSWITCH_FRAME") and self.t.field("_KSWITCH_FRAME", "Return"):
            ret = self.t.off("_KSWITCH_FRAME", "Return")
            rbp = self.t.field("_KSWITCH_FRAME", "Rbp")
            return self.t.size("_KSWITCH_FRAME"), ret, rbp[0] if rbp else None
        return SWITCH_FRAME_SIZE, SWITCH_FRAME_RETURN, SWITCH_FRAME_RBP

    def new_process(self, name, pid, ppid, user, space=None):
        ep = self.obj("_EPROCESS")
        space = space or Space(self.mem)
        uspace = Space(self.mem) if (user and self.shadow) else None
        p = {"name": name, "pid": pid, "ppid": ppid, "eprocess": ep.va, "obj": ep,
             "space": space, "uspace": uspace, "threads": [], "user": user,
             "dtb": space.root, "user_dtb": uspace.root if uspace else 0}
        ep.set("Pcb.Header.Type", 3, optional=True)
        ep.set("UniqueProcessId", pid)
        ep.set("InheritedFromUniqueProcessId", ppid, optional=True)
        ep.set_bytes("ImageFileName", name.encode()[:14] + b"\0")
        ep.set("Pcb.DirectoryTableBase", space.root)
        if uspace:
            ep.set("Pcb.UserDirectoryTableBase", uspace.root, optional=True)
        if user:
            pattern = ("xenstub windows pattern: pid %d %s " % (pid, name)).encode()
            page = (pattern * (PAGE // len(pattern) + 1))[:PAGE]
            self.user_write(p, PATTERN_VA, page)
            p["pattern"] = pattern.decode()
            peb = PATTERN_VA + 0x10000
            self.user_write(p, peb, b"PEB\0" + struct.pack("<I", pid))
            ep.set("Peb", peb, optional=True)
        self.procs.append(p)
        return p

    def user_write(self, p, va, data):
        """Writes user memory of process p (both of its page tables)."""
        for sp in (p["space"], p["uspace"]):
            if sp is None:
                continue
            a = va & ~(PAGE - 1)
            while a < va + len(data):
                if sp is p["space"] and sp.lookup(a) is None:
                    sp.map(a, self.mem.alloc(), user=True)
                elif sp is not p["space"] and sp.lookup(a) is None:
                    sp.map(a, p["space"].lookup(a), user=True)
                a += PAGE
        p["space"].write(va, data, user=True)

    def new_thread(self, p, tid, state, name=None, va=None):
        et = self.obj("_ETHREAD", va)
        lo, hi = self.new_stack()
        fsize, fret, frbp = self.switch_frame()
        kstack = hi - 0x600 - fsize
        n = len(self.threads)
        ret = self.code_addr(["KiSwapContext", "SwapContext"], 0x2000) + 0x70 + 8 * (n % 7)
        rbp = hi - 0x100
        frame = bytearray(fsize)
        struct.pack_into("<Q", frame, fret, ret)
        if frbp is not None:
            struct.pack_into("<Q", frame, frbp, rbp)
        self.kspace.write(kstack, bytes(frame))
        et.set("Tcb.Header.Type", 6, optional=True)
        et.set("Cid.UniqueProcess", p["pid"] if p else 0)
        et.set("Cid.UniqueThread", tid)
        et.set("Tcb.State", self.state(state))
        et.set("Tcb.KernelStack", kstack)
        et.set("Tcb.InitialStack", hi - 0x400, optional=True)
        et.set("Tcb.StackBase", hi, optional=True)
        et.set("Tcb.StackLimit", lo, optional=True)
        if p:
            if not et.set("Tcb.Process", p["eprocess"], optional=True):
                et.set("Tcb.ApcState.Process", p["eprocess"], optional=True)
            et.set("Tcb.ApcState.Process", p["eprocess"], optional=True)
        tebva = 0
        if p and p["user"]:
            tebva = TEB_VA + 0x2000 * n
            self.user_write(p, tebva, struct.pack("<QQQ", 0, 0, 0) + struct.pack("<Q", tebva) * 4)
            et.set("Tcb.Teb", tebva, optional=True)
        named = name if (name and self.t.field("_ETHREAD", "ThreadName")) else None
        if named:
            et.set("ThreadName", self.unicode_string(named))
        th = {"tid": tid, "pid": p["pid"] if p else 0, "ethread": et.va, "obj": et,
              "state": state, "thread_name": named,
              "proc_name": p["name"] if p else "Idle",
              "name": named or (p["name"] if p else "Idle"),
              "kernel_stack": kstack, "stack": [lo, hi], "teb": tebva,
              "rip": ret, "rsp": kstack + fsize, "rbp": rbp if frbp is not None else None,
              "vcpu": -1, "idle_cpu": None}
        if p:
            p["threads"].append(th)
        self.threads.append(th)
        return th

    def link_threads(self, p):
        """Links the threads on the EPROCESS and KPROCESS lists (where the
        table has them)."""
        ep = p["obj"]
        for head, entry in (("ThreadListHead", "ThreadListEntry"),
                            ("Pcb.ThreadListHead", "Tcb.ThreadListEntry")):
            if ep.has(head) and self.t.field("_ETHREAD", entry):
                self.link(ep.addr(head), [t["obj"].addr(entry) for t in p["threads"]])
        ep.set("ActiveThreads", len(p["threads"]), optional=True)

    def build_processes(self):
        named = self.t.field("_ETHREAD", "ThreadName") is not None
        specs = [
            ("System", 4, 0, False, [(8, "Waiting", None), (12, "Waiting", "MiZeroPageThread"),
                                     (16, "Ready", None), (20, "Waiting", "CcWorkerThread")]),
            ("smss.exe", 348, 4, True, [(352, "Waiting", None), (356, "Waiting", None)]),
            ("csrss.exe", 452, 440, True, [(456, "Waiting", None), (460, "DeferredReady", "CsrApiRequestThread"),
                                           (464, "Waiting", None)]),
            ("explorer.exe", 4120, 4088, True, [(4124, "Waiting", None), (4188, "Running", "ShellTaskScheduler"),
                                                (4192, "Standby", None), (4196, "Waiting", "TrayNotify")]),
            ("notepad.exe", 5204, 4120, True, [(5208, "Running", None), (5212, "Waiting", "EditWorker")]),
        ]
        if "DeferredReady" not in self.states:
            specs[2][4][1] = (460, "Ready", "CsrApiRequestThread")
        if self.args.vcpus < 2:
            specs[4][4][0] = (5208, "Ready", None)
        for name, pid, ppid, user, threads in specs:
            p = self.new_process(name, pid, ppid, user,
                                 self.kspace if name == "System" else None)
            for tid, state, tname in threads:
                self.new_thread(p, tid, state, tname if named else None)
            self.link_threads(p)
        self.system = self.procs[0]
        self.idle_proc = self.new_process("Idle", 0, 0, False, self.kspace)
        self.procs.remove(self.idle_proc)
        head = self.sym("PsActiveProcessHead")
        self.link(head, [p["obj"].addr("ActiveProcessLinks") for p in self.procs])
        self.write_sym("PsInitialSystemProcess", struct.pack("<Q", self.system["eprocess"]))
        self.write_sym("PsIdleProcess", struct.pack("<Q", self.idle_proc["eprocess"]))

    # ---- processors ----
    def build_cpus(self):
        n = self.args.vcpus
        running = [self.procs[3]["threads"][1]]
        if n > 1:
            running.append(self.procs[4]["threads"][0])
        block = []
        for cpu in range(n):
            kpcr_va = None
            if cpu == 0 and self.sym("KiInitialPCR"):
                kpcr_va = self.sym("KiInitialPCR")
            kpcr = self.obj("_KPCR", kpcr_va)
            prcb = kpcr.addr("Prcb") if kpcr.has("Prcb") else self.obj("_KPRCB").va
            kprcb = Obj(self, "_KPRCB", prcb)
            kpcr.set("Self", kpcr.va, optional=True)
            kpcr.set("CurrentPrcb", prcb, optional=True)
            kpcr.set("IdtBase", self.idt, optional=True)
            kpcr.set("GdtBase", self.gdt, optional=True)
            kprcb.set("Number", cpu, optional=True)
            # the idle thread: KiInitialThread for processor 0
            idle_va = self.sym("KiInitialThread") if cpu == 0 else None
            th = self.new_idle(cpu, idle_va)
            kprcb.set("IdleThread", th["ethread"], optional=True)
            cur = running[cpu] if cpu < len(running) else th
            kprcb.set("CurrentThread", cur["ethread"])
            cur["vcpu"] = cpu
            if cur is th:
                th["state"] = "Running"
                th["obj"].set("Tcb.State", self.state("Running"))
            block.append(prcb)
            self.vcpus.append({"index": cpu, "kpcr": kpcr.va, "kprcb": prcb,
                               "thread": cur})
        self.write_sym("KiProcessorBlock", b"".join(struct.pack("<Q", p) for p in block))
        self.write_sym("KeNumberProcessors", struct.pack("<I", n))

    def new_idle(self, cpu, va):
        th = self.new_thread(None, 0, "Ready", va=va)
        if not th["obj"].set("Tcb.Process", self.idle_proc["eprocess"], optional=True):
            th["obj"].set("Tcb.ApcState.Process", self.idle_proc["eprocess"], optional=True)
        th["obj"].set("Tcb.ApcState.Process", self.idle_proc["eprocess"], optional=True)
        th["idle_cpu"] = cpu
        th["proc_name"] = th["name"] = "Idle"
        return th

    # ---- drivers ----
    def build_modules(self):
        ldr = "_KLDR_DATA_TABLE_ENTRY" if self.t.has("_KLDR_DATA_TABLE_ENTRY") else "_LDR_DATA_TABLE_ENTRY"
        mods = [("ntoskrnl.exe", self.kbase, self.size_of_image),
                ("hal.dll", DRIVER_BASE + 0x4000000, 0x6B000),
                ("kdcom.dll", DRIVER_BASE + 0x4200000, 0xB000),
                ("ACPI.sys", DRIVER_BASE + 0x5000000, 0xD9000),
                ("xenstubtest.sys", DRIVER_BASE + 0x6000000, 0x12000)]
        ents = []
        for name, base, size in mods:
            e = self.obj(ldr)
            e.set("DllBase", base)
            e.set("SizeOfImage", size)
            path = "\\SystemRoot\\system32\\" + ("drivers\\" if name.endswith(".sys") else "") + name
            self.unicode_string(name, e.addr("BaseDllName"))
            self.unicode_string(path, e.addr("FullDllName"))
            ents.append(e.addr("InLoadOrderLinks"))
            self.modules.append({"name": name, "path": path, "base": base, "size": size})
        self.link(self.sym("PsLoadedModuleList"), ents)

    # ---- corruption ----
    def corrupt(self, kind):
        links = [p["obj"].addr("ActiveProcessLinks") for p in self.procs]
        if kind == "process-loop":
            self.kspace.write(links[-1], struct.pack("<Q", links[1]))
            return [p["pid"] for p in self.procs], None
        if kind == "process-badptr":
            self.kspace.write(links[2], struct.pack("<Q", 0xFFFFC0DE00000000))
            return [p["pid"] for p in self.procs[:3]], None
        if kind == "process-noncanonical":
            self.kspace.write(links[2], struct.pack("<Q", 0x4141414141414141))
            return [p["pid"] for p in self.procs[:3]], None
        if kind == "thread-loop":
            p = self.procs[2]
            entry = "ThreadListEntry" if p["obj"].has("ThreadListHead") else "Tcb.ThreadListEntry"
            ents = [t["obj"].addr(entry) for t in p["threads"]]
            self.kspace.write(ents[-1], struct.pack("<Q", ents[0]))
            return [p["pid"] for p in self.procs], p["pid"]
        raise ValueError(kind)

    # ---- registers ----
    def vcpu_regs(self, v):
        th = v["thread"]
        cpu = v["index"]
        user = cpu == 1 and th["pid"] != 0
        p = next((p for p in self.procs if p["pid"] == th["pid"]), None)
        regs = {name: 0x1000000000 * (cpu + 1) + 0x100 * i + 0x11
                for i, name in enumerate(["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
                                          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"])}
        if user:
            stack = USER_STACK_VA + 0x10000 * cpu
            self.user_write(p, stack, b"user stack of tid %d\0" % th["tid"])
            regs.update(rip=PATTERN_VA + 0x123, rsp=stack + 0x800, cs=0x33, ss=0x2B,
                        cs_flags=0x0020FB00, ss_flags=0x00C0F300,
                        gs_base=th["teb"], kgs_base=v["kpcr"],
                        cr3=p["user_dtb"] or p["dtb"])
        else:
            rip = self.code_addr(["KeQueryPerformanceCounter", "KiIdleLoop"], 0x3000) + 0x20 + cpu
            regs.update(rip=rip, rsp=th["stack"][1] - 0x300 - 8 * cpu, cs=0x10, ss=0x18,
                        cs_flags=0x00209B00, ss_flags=0x00409300,
                        gs_base=v["kpcr"], kgs_base=th["teb"] or 0,
                        cr3=p["dtb"] if p else self.system["dtb"])
        regs.update(rflags=0x246 if not user else 0x202, cr0=0x80050033, cr2=0,
                    cr4=0x000406F8, idt=self.idt, gdt=self.gdt, user=user)
        return regs

    # ---- output ----
    def finalize_tables(self):
        # every process shares the kernel half of the System process's
        # tables (the user-mode copies of KVA shadowing do not)
        for p in self.procs:
            if p["space"] is not self.kspace:
                p["space"].copy_kernel_half(self.kspace)


def qemu_segment(sel, flags, base=0, limit=0xFFFFFFFF):
    return struct.pack("<IIIIQ", sel, limit, flags, 0, base)


def prstatus(cpu, r):
    d = bytearray(336)
    struct.pack_into("<I", d, 32, cpu + 1)
    order = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax",
             "rcx", "rdx", "rsi", "rdi", None, "rip", "cs", "rflags", "rsp", "ss",
             None, "gs_base", "ds", "es", "fs", "gs"]
    vals = dict(r, ds=0x2B, es=0x2B, fs=0x53, gs=0x2B)
    for i, name in enumerate(order):
        struct.pack_into("<Q", d, 112 + 8 * i, vals.get(name, 0) if name else 0)
    return bytes(d)


def qemu_state(r):
    d = struct.pack("<II", 1, 440)
    for name in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
                 "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"]:
        d += struct.pack("<Q", r[name])
    data = 0x00C0F300
    d += qemu_segment(r["cs"], r["cs_flags"], 0, 0)
    d += qemu_segment(0x2B, data)                         # ds
    d += qemu_segment(0x2B, data)                         # es
    d += qemu_segment(0x53, 0x0040F300, 0, 0x3C00)        # fs
    d += qemu_segment(0x2B, data, r["gs_base"])           # gs
    d += qemu_segment(r["ss"], r["ss_flags"])             # ss
    d += qemu_segment(0, 0x00008200, 0, 0xFFFF)           # ldt
    d += qemu_segment(0x40, 0x00008B00, 0, 0x67)          # tr
    d += qemu_segment(0, 0, r["gdt"], 0x7F)               # gdt
    d += qemu_segment(0, 0, r["idt"], 0xFFF)              # idt
    d += struct.pack("<QQQQQ", r["cr0"], 0, r["cr2"], r["cr3"], r["cr4"])
    d += struct.pack("<Q", r["kgs_base"])
    assert len(d) == 440
    return d


def note(owner, ntype, desc):
    name = owner + b"\0"
    pad = lambda b: b + b"\0" * ((4 - len(b) % 4) % 4)
    return struct.pack("<III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def write_elf(path, mem, regs):
    notes = b"".join(note(b"CORE", 1, prstatus(i, r)) for i, r in enumerate(regs))
    notes += b"".join(note(b"QEMU", 0, qemu_state(r)) for r in regs)
    pfns = sorted(mem.frames)
    runs = []
    for pfn in pfns:
        if runs and runs[-1][0] + runs[-1][1] == pfn:
            runs[-1][1] += 1
        else:
            runs.append([pfn, 1])
    phnum = 1 + len(runs)
    off = 64 + 56 * phnum
    note_off = off
    off += len(notes)
    off = (off + PAGE - 1) & ~(PAGE - 1)
    ph = struct.pack("<IIQQQQQQ", 4, 0, note_off, 0, 0, len(notes), len(notes), 0)
    data_off = []
    for pfn, n in runs:
        ph += struct.pack("<IIQQQQQQ", 1, 0, off, 0, pfn << 12, n * PAGE, n * PAGE, 0)
        data_off.append(off)
        off += n * PAGE
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    eh += struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, phnum, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(eh + ph + notes)
        for (pfn, n), o in zip(runs, data_off):
            f.seek(o)
            for i in range(n):
                f.write(mem.frames[pfn + i])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True, help="the ISF table (.json or .json.xz)")
    ap.add_argument("-o", "--output", required=True, help="the ELF core to write")
    ap.add_argument("--manifest", help="where to write the manifest (JSON); default stdout")
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--version", default="10.0.19041",
                    help="MAJOR.MINOR.BUILD written to NtBuildNumber and friends (the table does not record it)")
    ap.add_argument("--guid", help="the RSDS GUID (32 hex digits) instead of the table's")
    ap.add_argument("--age", type=int, help="the RSDS age instead of the table's")
    ap.add_argument("--kernel-base", type=lambda s: int(s, 0), default=0xFFFFF8054E600000)
    ap.add_argument("--corrupt", choices=["process-loop", "process-badptr",
                                          "process-noncanonical", "thread-loop"])
    a = ap.parse_args()
    if a.vcpus < 1 or a.vcpus > 64:
        ap.error("--vcpus must be between 1 and 64")
    if a.guid is not None and (len(a.guid) != 32 or any(c not in "0123456789abcdefABCDEF" for c in a.guid)):
        ap.error("--guid needs 32 hex digits")

    k = Kernel(a)
    for need in ("PsActiveProcessHead", "PsLoadedModuleList"):
        if k.sym(need) is None:
            sys.exit("make-windows-image: the table has no symbol %s" % need)
    k.build_image()
    k.build_idt()
    k.build_globals()
    k.build_processes()
    k.build_cpus()
    k.build_modules()
    listed_pids, looped = ([p["pid"] for p in k.procs], None)
    if a.corrupt:
        listed_pids, looped = k.corrupt(a.corrupt)
    k.finalize_tables()
    regs = [k.vcpu_regs(v) for v in k.vcpus]
    write_elf(a.output, k.mem, regs)

    def tid_of(t):
        return OS_TID_BASE - t["idle_cpu"] if t["idle_cpu"] is not None else OS_TID_BASE + t["tid"]

    listed = []
    for t in k.threads:
        if t["idle_cpu"] is not None or t["pid"] in listed_pids or t["vcpu"] >= 0:
            listed.append(tid_of(t))
    fsize, fret, frbp = k.switch_frame()
    man = {
        "profile": a.profile, "pdb": k.t.pdb, "guid": k.guid, "age": k.age,
        "table_guid": k.t.guid, "table_age": k.t.age,
        "kernel_base": k.kbase, "size_of_image": k.size_of_image,
        "version": {"major": k.version[0], "minor": k.version[1], "build": k.version[2]},
        "build_lab": k.build_lab, "kva_shadow": k.shadow,
        "states_from_table": k.states_from_table,
        "switch_frame": {"size": fsize, "return": fret, "rbp": frbp,
                         "from_table": k.t.has("_KSWITCH_FRAME")},
        "thread_names": k.t.field("_ETHREAD", "ThreadName") is not None,
        "symbols": {n: k.sym(n) for n in ("PsActiveProcessHead", "PsLoadedModuleList",
                                           "KiProcessorBlock", "NtBuildNumber")
                    if k.sym(n) is not None},
        "idt": k.idt, "idt_handlers": {str(i): h for i, h in k.idt_handlers.items()},
        "pattern_va": PATTERN_VA,
        "vcpus": [{"index": v["index"], "kpcr": v["kpcr"], "kprcb": v["kprcb"],
                   "user_mode": regs[i]["user"], "cr3": regs[i]["cr3"],
                   "gdb_tid": tid_of(v["thread"]),
                   "regs": {n: regs[i][n] for n in ("rip", "rsp", "rax", "rbx", "rbp", "r15",
                                                      "gs_base", "kgs_base")}}
                  for i, v in enumerate(k.vcpus)],
        "processes": [{"pid": p["pid"], "ppid": p["ppid"], "name": p["name"],
                       "eprocess": p["eprocess"], "dtb": p["dtb"], "user_dtb": p["user_dtb"],
                       "pattern": p.get("pattern"),
                       "tids": [t["tid"] for t in p["threads"]]} for p in k.procs],
        "threads": [{"gdb_tid": tid_of(t), "tid": t["tid"], "pid": t["pid"], "name": t["name"],
                     "thread_name": t["thread_name"], "proc_name": t["proc_name"],
                     "state": t["state"], "ethread": t["ethread"], "vcpu": t["vcpu"],
                     "idle_cpu": t["idle_cpu"], "kernel_stack": t["kernel_stack"],
                     "rip": t["rip"], "rsp": t["rsp"], "rbp": t["rbp"]} for t in k.threads],
        "modules": k.modules,
        "corrupt": a.corrupt, "listed_pids": listed_pids, "looped_pid": looped,
        "expected_gdb_tids": sorted(listed),
    }
    text = json.dumps(man, indent=1, sort_keys=True)
    if a.manifest:
        with open(a.manifest, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
