# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers of the Linux OS-awareness end-to-end tests, independent of
xenstub: read guest-physical memory straight from a QEMU ELF dump, parse
the kernel's BTF with a reader of our own, write a Volatility 3 ISF
profile (the shape dwarf2json gives) from that BTF and a System.map (so
that xenstub's --profile path can be checked against its BTF path), parse
what gdb prints about threads, and symbolize with /proc/kallsyms text."""

import base64
import json
import lzma
import struct

BTF_INT, BTF_PTR, BTF_ARRAY, BTF_STRUCT, BTF_UNION, BTF_ENUM, BTF_FWD = 1, 2, 3, 4, 5, 6, 7
BTF_TYPEDEF, BTF_VOLATILE, BTF_CONST, BTF_RESTRICT, BTF_FUNC = 8, 9, 10, 11, 12
BTF_FUNC_PROTO, BTF_VAR, BTF_DATASEC, BTF_FLOAT, BTF_DECL_TAG = 13, 14, 15, 16, 17
BTF_TYPE_TAG, BTF_ENUM64 = 18, 19
QUALIFIERS = (BTF_TYPEDEF, BTF_VOLATILE, BTF_CONST, BTF_RESTRICT, BTF_TYPE_TAG)


class Dump:
    """Guest-physical reads from a little-endian ELF64 core file."""

    def __init__(self, path):
        self.path = path
        self.segs = []
        with open(path, "rb") as f:
            eh = f.read(64)
            if eh[:4] != b"\x7fELF" or eh[4] != 2:
                raise ValueError("%s is not an ELF64 file" % path)
            phoff, = struct.unpack_from("<Q", eh, 32)
            phentsize, phnum = struct.unpack_from("<HH", eh, 54)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
        for i in range(phnum):
            typ, _, off, _, paddr, filesz, _, _ = struct.unpack_from(
                "<IIQQQQQQ", ph, i * phentsize)
            if typ == 1 and filesz:
                self.segs.append((paddr, filesz, off))

    def file_offset(self, paddr):
        for base, size, off in self.segs:
            if base <= paddr < base + size:
                return off + paddr - base
        return None

    def read(self, paddr, n):
        out = b""
        with open(self.path, "rb") as f:
            while len(out) < n:
                a = paddr + len(out)
                off = None
                for base, size, o in self.segs:
                    if base <= a < base + size:
                        off, k = o + a - base, min(n - len(out), base + size - a)
                if off is None:
                    raise ValueError("physical 0x%x is not in %s" % (a, self.path))
                f.seek(off)
                out += f.read(k)
        return out


def image_phys(truth, vaddr):
    """Physical address of a kernel-image virtual address, from truth.json:
    runtime _text sits at the start of "Kernel code"."""
    text = int(truth["symbols"]["_text"]["runtime_kallsyms"], 16)
    code = [r for r in truth["kaslr"]["kernel_image_physical"] if r["name"] == "Kernel code"]
    return vaddr - text + int(code[0]["start"], 16)


def runtime(truth, name):
    s = truth["symbols"][name]
    return int(s.get("runtime_kallsyms") or s.get("runtime_computed"), 16)


def read_btf(dump, truth):
    start, stop = runtime(truth, "__start_BTF"), runtime(truth, "__stop_BTF")
    return dump.read(image_phys(truth, start), stop - start)


def parse_btf(data):
    """A list indexed by type id (0 = void) of dicts."""
    magic, ver, _, hdr_len, toff, tlen, soff, slen = struct.unpack_from("<HBBIIIII", data, 0)
    if magic != 0xeb9f or ver != 1:
        raise ValueError("not BTF")
    types = data[hdr_len + toff:hdr_len + toff + tlen]
    strs = data[hdr_len + soff:hdr_len + soff + slen]

    def s(off):
        return strs[off:strs.index(b"\0", off)].decode()

    out = [{"kind": 0, "name": "void"}]
    pos = 0
    while pos < len(types):
        name_off, info, size = struct.unpack_from("<III", types, pos)
        pos += 12
        kind, vlen, kflag = (info >> 24) & 0x1f, info & 0xffff, info >> 31
        t = {"kind": kind, "name": s(name_off), "size": size, "ref": size, "id": len(out)}
        if kind == BTF_INT:
            enc, = struct.unpack_from("<I", types, pos)
            t["signed"] = bool((enc >> 24) & 1)
            pos += 4
        elif kind == BTF_ARRAY:
            t["elem"], _, t["count"] = struct.unpack_from("<III", types, pos)
            pos += 12
        elif kind in (BTF_STRUCT, BTF_UNION):
            t["members"] = []
            for _ in range(vlen):
                mn, mt, mo = struct.unpack_from("<III", types, pos)
                pos += 12
                bits = (mo >> 24) if kflag else 0
                t["members"].append((s(mn), mt, (mo & 0xffffff) if kflag else mo, bits))
        elif kind == BTF_ENUM:
            t["values"] = {}
            for _ in range(vlen):
                vn, vv = struct.unpack_from("<Ii", types, pos)
                pos += 8
                t["values"][s(vn)] = vv
        elif kind == BTF_ENUM64:
            t["values"] = {}
            for _ in range(vlen):
                vn, lo, hi = struct.unpack_from("<III", types, pos)
                pos += 12
                t["values"][s(vn)] = lo | hi << 32
        elif kind in (BTF_FUNC_PROTO,):
            pos += 8 * vlen
        elif kind in (BTF_VAR, BTF_DECL_TAG):
            pos += 4
        elif kind == BTF_DATASEC:
            pos += 12 * vlen
        out.append(t)
    return out


def resolve(types, tid):
    for _ in range(32):
        if types[tid]["kind"] in QUALIFIERS:
            tid = types[tid]["ref"]
        else:
            return tid
    return 0


def type_size(types, tid):
    t = types[resolve(types, tid)]
    if t["kind"] == BTF_PTR:
        return 8
    if t["kind"] == BTF_ARRAY:
        return t["count"] * type_size(types, t["elem"])
    return t.get("size", 0) if t["kind"] else 0


def struct_name(t):
    return t["name"] or "unnamed_%x" % t["id"]


def desc(types, tid, need):
    """An ISF type description; struct types met by value go into need."""
    t = types[resolve(types, tid)]
    k = t["kind"]
    if k == BTF_INT or k == BTF_FLOAT:
        return {"kind": "base", "name": t["name"]}
    if k == BTF_PTR:
        sub = types[resolve(types, t["ref"])]
        if sub["kind"] in (BTF_STRUCT, BTF_UNION):
            return {"kind": "pointer", "subtype": {"kind": "struct" if sub["kind"] == BTF_STRUCT else "union",
                                                   "name": struct_name(sub)}}
        return {"kind": "pointer", "subtype": {"kind": "base", "name": "void"}}
    if k == BTF_ARRAY:
        return {"kind": "array", "count": t["count"], "subtype": desc(types, t["elem"], need)}
    if k in (BTF_STRUCT, BTF_UNION):
        need.append(t["id"])
        return {"kind": "struct" if k == BTF_STRUCT else "union", "name": struct_name(t)}
    if k in (BTF_ENUM, BTF_ENUM64):
        return {"kind": "enum", "name": t["name"] or "unnamed_%x" % t["id"]}
    if k == BTF_FUNC_PROTO:
        return {"kind": "function"}
    return {"kind": "base", "name": "void"}


def make_isf(types, roots, symbols, banner=None):
    """ISF with the struct types named in roots and every struct they hold
    by value; symbols: {name: link-time address}."""
    by_name = {}
    for t in types:
        if t["kind"] in (BTF_STRUCT, BTF_UNION) and t["name"] and t["name"] not in by_name:
            by_name[t["name"]] = t["id"]
    need = [by_name[r] for r in roots if r in by_name]
    user_types, base_types, enums = {}, {}, {}
    done = set()
    while need:
        tid = need.pop()
        if tid in done:
            continue
        done.add(tid)
        t = types[tid]
        fields = {}
        for name, mt, bitoff, bits in t["members"]:
            d = desc(types, mt, need)
            f = {"offset": bitoff // 8}
            if bits:
                f["type"] = {"kind": "bitfield", "bit_position": bitoff % 8,
                             "bit_length": bits, "type": d}
            else:
                f["type"] = d
            if not name:
                name = "unnamed_field_%x" % (bitoff // 8)
                f["anonymous"] = True
            fields[name] = f
        user_types[struct_name(t)] = {"kind": "struct" if t["kind"] == BTF_STRUCT else "union",
                                      "size": t["size"], "fields": fields}
    for t in types:
        if t["kind"] == BTF_INT and t["name"] not in base_types:
            base_types[t["name"]] = {"size": t["size"], "signed": t["signed"],
                                     "kind": "char" if "char" in t["name"] else
                                     "bool" if t["name"] == "_Bool" else "int",
                                     "endian": "little"}
        if t["kind"] in (BTF_ENUM, BTF_ENUM64) and t["name"]:
            enums[t["name"]] = {"size": t["size"], "base": "int", "constants": t["values"]}
    base_types["pointer"] = {"size": 8, "signed": False, "kind": "int", "endian": "little"}
    base_types["void"] = {"size": 0, "signed": False, "kind": "void", "endian": "little"}
    syms = {n: {"address": a} for n, a in symbols.items()}
    if banner is not None and "linux_banner" in syms:
        syms["linux_banner"]["constant_data"] = base64.b64encode(banner).decode()
    return {
        "metadata": {"format": "6.2.0", "producer": {"name": "xenstub-tests", "version": "1"},
                     "linux": {"symbols": [{"kind": "symbols", "name": "System.map"}],
                               "types": [{"kind": "btf", "name": "vmlinux"}]}},
        "base_types": base_types, "user_types": user_types, "enums": enums, "symbols": syms,
    }


def read_system_map(path):
    syms = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[2] not in syms:
                syms[p[2]] = int(p[0], 16)
    return syms


def write_isf(isf, path):
    data = json.dumps(isf).encode()
    if path.endswith(".xz"):
        data = lzma.compress(data, format=lzma.FORMAT_XZ)
    with open(path, "wb") as f:
        f.write(data)


ROOTS = ["task_struct", "signal_struct", "mm_struct", "cred", "rq", "pcpu_hot",
         "uts_namespace", "inactive_task_frame", "thread_union", "list_head"]


# ---- what gdb and xenstub print ----

OS_TID_BASE = 1000000

def parse_threads(text):
    """`info threads` lines: a list of dicts with num, tid, name, and for
    tasks pid, thread_id, comm, state, vcpu (or None)."""
    import re
    out = []
    for line in text.splitlines():
        m = re.match(r'^[* ]\s*(\d+)\s+Thread (\d+) "([^"]*)" \((.*)\)\s+\S', line)
        if not m:
            continue
        t = {"num": int(m.group(1)), "tid": int(m.group(2)), "name": m.group(3),
             "extra": m.group(4), "pid": None, "thread_id": None, "state": None, "vcpu": None}
        x = re.match(r'pid (-?\d+) tid (-?\d+) "([^"]*)" (\S+)(?: \(running on vCPU (\d+)\))?', m.group(4))
        if x:
            t["pid"], t["thread_id"] = int(x.group(1)), int(x.group(2))
            t["comm"], t["state"] = x.group(3), x.group(4)
            t["vcpu"] = int(x.group(5)) if x.group(5) else None
        out.append(t)
    return out


def kallsyms_file(path):
    """(sorted addresses, names, types) of a /proc/kallsyms text file."""
    rows = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3:
                rows.append((int(p[0], 16), p[2], p[1]))
    rows.sort()
    return rows


def symbolize(rows, addr):
    """name of the symbol at or below addr and its type, by bisection."""
    import bisect
    i = bisect.bisect_right(rows, (addr, "\xff", "")) - 1
    return (rows[i][1], rows[i][2], addr - rows[i][0]) if i >= 0 else (None, None, 0)


def is_subsequence(want, got):
    it = iter(got)
    return all(any(w == g for g in it) for w in want)
