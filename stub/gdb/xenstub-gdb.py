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

import importlib.abc
import importlib.machinery
import re
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
