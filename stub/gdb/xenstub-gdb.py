# SPDX-License-Identifier: LGPL-2.1-or-later
# gdb's side of xenstub for the Linux kernel's own gdb scripts (the kernel's
# scripts/gdb, loaded by its vmlinux-gdb.py): which CPU a thread runs on is
# asked of xenstub, and lx-symbols keeps the kernel image where it is loaded.
# `xenstub --vmlinux FILE --gdb` sources this file; with another gdb
# command line, `source` it (before or after vmlinux-gdb.py). Against
# another gdb server it changes nothing but the 32-bit x86 case below.
#
# - $lx_current(), $lx_per_cpu() and everything else that asks the scripts'
#   get_current_cpu(): the scripts take "gdb thread number - 1" as the CPU
#   when the server answers "monitor info version" (QEMU's rule). xenstub's
#   threads are the vCPUs, then the kernel's tasks, so that rule is wrong
#   for task threads. Here the CPU comes from "monitor cpu THREAD": the CPU
#   a vCPU thread or a running task is on, or, for a task that waits, the
#   CPU its task_struct names (the run queue it was last on, as the
#   scripts read it themselves under kgdb).
# - $lx_current() on 32-bit x86: the scripts of 6.1 and earlier find the
#   current task only when gdb's architecture name has "x86" in it, which
#   "i386" has not. Here, where they give up, the per-CPU current task is
#   read as they read it on x86-64 (current_task, or pcpu_hot.current_task
#   from 6.2 on).
# - lx-symbols drops every symbol file and loads vmlinux again by its name,
#   at its link address: the KASLR slide and the per-CPU section's place
#   would be lost (and a file whose name does not end in "vmlinux" is not
#   found at all). Here its "symbol-file" commands only drop the module
#   files an earlier lx-symbols loaded; the kernel image stays as loaded.
# - `gdb vmlinux -ex 'target remote | xenstub ...'`: gdb moves the whole
#   file by the slide qOffsets gives (with --vmlinux), per-CPU section
#   included, or not at all (without). Sourced once connected, this file
#   loads the kernel image again as `xenstub --vmlinux FILE --gdb` does
#   (every section moved by the KASLR slide but those linked below the
#   image, x86_64's per-CPU data at 0) when gdb's addresses are not those
#   of the guest; the command `xenstub-vmlinux` does it on demand.

import importlib.abc
import importlib.machinery
import re
import struct
import sys

import gdb

_servers = {}


def _is_xenstub():
    """True when the selected inferior is connected to xenstub (asked once
    per connection: "monitor version" begins with "xenstub")."""
    inf = gdb.selected_inferior()
    conn = getattr(inf, "connection_num", None)
    if conn is None:
        return False
    if conn not in _servers:
        try:
            out = gdb.execute("monitor version", to_string=True)
        except gdb.error:
            out = ""
        _servers[conn] = out.startswith("xenstub")
    return _servers[conn]


def _forget(event):
    _servers.clear()


gdb.events.exited.connect(_forget)
if hasattr(gdb.events, "connection_removed"):
    gdb.events.connection_removed.connect(_forget)


def xenstub_cpu(thread=None):
    """The Linux CPU number of a gdb thread (the selected one by default),
    as xenstub says: the CPU it runs on, or for a task that waits, the CPU
    its task_struct names. Raises gdb.GdbError with xenstub's words when there
    is none."""
    thread = thread or gdb.selected_thread()
    if thread is None:
        raise gdb.GdbError("No thread selected.")
    out = gdb.execute("monitor cpu %d" % thread.ptid[1], to_string=True)
    m = re.match(r"thread \d+: (?:not running, its cpu field says )?CPU (\d+)\b", out)
    if not m:
        raise gdb.GdbError("xenstub: " + out.strip())
    return int(m.group(1))


def _patch_cpus(mod):
    orig = mod.get_current_cpu
    if getattr(orig, "_xenstub", False):
        return

    def get_current_cpu():
        if _is_xenstub():
            return xenstub_cpu()
        return orig()

    get_current_cpu._xenstub = True
    mod.get_current_cpu = get_current_cpu

    task = getattr(mod, "get_current_task", None)
    if task is None:
        return

    def get_current_task(cpu):
        try:
            return task(cpu)
        except gdb.GdbError:
            if gdb.newest_frame().architecture().name() != "i386":
                raise
        for name in ("&current_task", "&pcpu_hot.current_task"):
            try:
                var = gdb.parse_and_eval(name)
            except gdb.error:
                continue
            return mod.per_cpu(var, cpu).dereference()
        raise gdb.GdbError("no current_task or pcpu_hot in the kernel's symbols")

    mod.get_current_task = get_current_task


class _SymbolsGdb:
    """The gdb module as lx-symbols sees it: "symbol-file" with no file
    drops only module files (*.ko, *.ko.debug); "symbol-file FILE" keeps
    the kernel image where it is. Everything else is gdb's own."""

    def __getattr__(self, name):
        return getattr(gdb, name)

    def execute(self, command, *args, **kw):
        words = command.split()
        if not words or words[0] != "symbol-file" or not _is_xenstub():
            return gdb.execute(command, *args, **kw)
        if len(words) == 1:
            for obj in list(gdb.objfiles()):
                name = obj.filename or ""
                if re.search(r"\.ko(\.debug)?$", name):
                    gdb.execute("remove-symbol-file " + name, to_string=True)
        else:
            gdb.write("xenstub: the kernel image stays where it is loaded "
                      "(not reloaded from %s)\n" % " ".join(words[1:]))
        return "" if kw.get("to_string") else None


def _patch_symbols(mod):
    if not isinstance(getattr(mod, "gdb", None), _SymbolsGdb):
        mod.gdb = _SymbolsGdb()


_PATCHES = {"linux.cpus": _patch_cpus, "linux.symbols": _patch_symbols}


class _Finder(importlib.abc.MetaPathFinder):
    """Patches the kernel's modules as they are imported, so this file
    may be sourced before vmlinux-gdb.py."""

    xenstub = True

    def find_spec(self, name, path, target=None):
        if name not in _PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _PATCHES[name](module)

        spec.loader.exec_module = exec_module
        return spec


if not any(getattr(f, "xenstub", False) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
for _name, _patch in _PATCHES.items():
    if _name in sys.modules:
        _patch(sys.modules[_name])


def _elf_layout(path):
    """(first loadable segment's link address, [(name, address)] of the
    allocated sections linked below it) from an ELF file's headers."""
    with open(path, "rb") as f:
        data = f.read(64)
        if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
            raise gdb.GdbError("%s is not an ELF file" % path)
        e = "<" if data[5] == 1 else ">"
        if data[4] == 2:
            phoff, shoff = struct.unpack_from(e + "QQ", data, 0x20)
            phsz, phnum, shsz, shnum, shstr = struct.unpack_from(e + "HHHHH", data, 0x36)
            ph, sh = e + "II8xQ", e + "IIQQQQ"
        else:
            phoff, shoff = struct.unpack_from(e + "II", data, 0x1c)
            phsz, phnum, shsz, shnum, shstr = struct.unpack_from(e + "HHHHH", data, 0x2a)
            ph, sh = e + "I4xI", e + "IIIIII"
        f.seek(phoff)
        phdrs = f.read(phsz * phnum)
        link = None
        for i in range(phnum):
            if data[4] == 2:
                p_type, _, p_vaddr = struct.unpack_from(ph, phdrs, i * phsz)
            else:
                p_type, p_vaddr = struct.unpack_from(ph, phdrs, i * phsz)
            if p_type == 1:
                link = p_vaddr
                break
        if link is None:
            raise gdb.GdbError("%s has no loadable segment" % path)
        f.seek(shoff)
        shdrs = [struct.unpack_from(sh, f.read(shsz)) for _ in range(shnum)]
        f.seek(shdrs[shstr][4])
        names = f.read(shdrs[shstr][5])
    low = []
    for name, _, flags, addr, _, size in shdrs:
        if flags & 2 and size and addr < link:
            low.append((names[name:names.index(b"\0", name)].decode(), addr))
    return link, low


def _runtime(name):
    """A kernel symbol's runtime address, as xenstub's 'monitor sym' says,
    or None."""
    try:
        out = gdb.execute("monitor sym " + name, to_string=True)
    except gdb.error:
        return None
    m = re.match(r"0x([0-9a-f]+) ", out)
    return int(m.group(1), 16) if m else None


def _here(name):
    """gdb's address of a symbol, or None."""
    try:
        return int(gdb.parse_and_eval("(unsigned long)&" + name)) & _mask()
    except gdb.error:
        return None


def _mask():
    return (1 << (8 * gdb.lookup_type("long").sizeof)) - 1


def _kernel_file():
    """The file gdb's kernel symbols come from, or None."""
    sym = gdb.lookup_global_symbol("init_task")
    if sym is not None and sym.symtab is not None:
        return sym.symtab.objfile.filename
    return gdb.current_progspace().filename


CHECKED = ("_text", "schedule", "do_exit", "linux_banner")


def _misplaced(low):
    """Why gdb's kernel symbols are not at the guest's addresses, or None."""
    for name in CHECKED:
        want, got = _runtime(name), _here(name)
        if want is not None and got is not None and want != got:
            return "%s is at 0x%x in gdb, 0x%x in the guest" % (name, got, want)
    for sect, addr in low:
        got = _here("__per_cpu_start")
        if sect == ".data..percpu" and got is not None and got != addr:
            return "the per-CPU section starts at 0x%x in gdb, linked at 0x%x" % (got, addr)
    return None


def xenstub_vmlinux(path=None, quiet=False):
    """Loads the kernel image (gdb's, or path) where the guest runs it:
    every section moved by the slide, but those linked below the image."""
    if not _is_xenstub():
        raise gdb.GdbError("not connected to xenstub")
    path = path or _kernel_file()
    if not path:
        raise gdb.GdbError("no kernel image: give its file")
    link, low = _elf_layout(path)
    os_text = gdb.execute("monitor os", to_string=True)
    m = re.search(r"vmlinux: its first segment is at 0x([0-9a-f]+)", os_text)
    if m:
        slide = (int(m.group(1), 16) - link) & _mask()
    else:
        m = re.search(r"KASLR slide: (-?)0x([0-9a-f]+)", os_text)
        if not m:
            raise gdb.GdbError("xenstub knows no KASLR slide ('monitor os')")
        slide = (-int(m.group(2), 16) if m.group(1) else int(m.group(2), 16)) & _mask()
    if slide >> (8 * gdb.lookup_type("long").sizeof - 1):
        slide -= _mask() + 1
    why = _misplaced(low)
    if why is None:
        if not quiet:
            gdb.write("xenstub: %s is already where the guest runs it\n" % path)
        return
    cmd = "add-symbol-file %s -o %s0x%x" % (path, "-" if slide < 0 else "", abs(slide))
    cmd += "".join(" -s %s 0x%x" % (n, a) for n, a in low)
    gdb.write("xenstub: %s; loading it again: %s\n" % (why, cmd))
    gdb.execute("with confirm off -- symbol-file", to_string=True)
    gdb.execute("with confirm off -- " + cmd, to_string=True)
    why = _misplaced(low)
    if why:
        # no file rather than one at wrong addresses
        gdb.execute("with confirm off -- symbol-file", to_string=True)
        raise gdb.GdbError("xenstub: %s is not the guest's kernel (%s): not loaded" % (path, why))


class _XenstubVmlinux(gdb.Command):
    """Load the kernel image where the guest runs it: xenstub-vmlinux [FILE]
(by default the file of gdb's kernel symbols). Every section is moved by the
KASLR slide xenstub found, except those linked below the image (x86_64's
per-CPU data), so that per-CPU variables are offsets as the kernel uses
them. Nothing is done when gdb's addresses are already the guest's."""

    def __init__(self):
        super().__init__("xenstub-vmlinux", gdb.COMMAND_FILES, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        xenstub_vmlinux(arg.strip() or None)


_XenstubVmlinux()
try:
    _connected = gdb.selected_inferior().connection_num is not None and \
        gdb.selected_inferior().pid != 0 and _is_xenstub()
except gdb.error:
    _connected = False
if _connected and _kernel_file():
    xenstub_vmlinux(quiet=True)
