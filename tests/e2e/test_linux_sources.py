# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where the Linux module's symbols and types come from, on the fixture
dump and on copies of it with parts erased: kallsyms through VMCOREINFO,
kallsyms by signature when VMCOREINFO is gone, a System.map (--symbols)
with the KASLR slide found in memory, BTF in memory, an ISF profile
(--profile .json and .json.xz, --profile-dir) built by the tests from the
guest's BTF; every source gives the same offsets (equal to truth.json's,
from DWARF), the same symbols and the same threads. Without BTF the
offsets come from the kernel's own code and data, and when that fails too
the module says what is missing and what would help."""

import mmap
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_support as L  # noqa: E402

SYMS = ["init_task", "linux_banner", "init_top_pgt", "__per_cpu_offset", "current_task",
        "runqueues", "schedule", "do_nanosleep", "entry_SYSCALL_64", "_text", "_etext",
        "page_offset_base", "phys_base", "__start_BTF"]

_cache = {}


def text(r):
    return r.out + r.err


def run(ctx, memory, args=(), cmds=()):
    r = ctx.gdb(["info threads"] + list(cmds), target="core:" + memory, xenstub_args=list(args),
                timeout=300)
    return r, L.parse_threads(r.out)


def task_view(ts):
    return [(t["tid"], t["name"], t["extra"]) for t in ts]


def offsets_of(out):
    """`monitor offsets` rows: {member: (offset, size)}."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\d+)(?:\s+(\d+))?\s*$", line)
        if m:
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)) if m.group(3) else None)
    return rows


def syms_of(out):
    return {m.group(2): int(m.group(1), 16)
            for m in re.finditer(r"^0x([0-9a-f]+) (\S+)$", out, re.M)}


def baseline(ctx, fx):
    """The default run: threads, symbols, offsets."""
    if "base" not in _cache or _cache["base"][0] != ctx.tmp:
        r, ts = run(ctx, fx.memory, cmds=["monitor sym %s" % s for s in SYMS] + ["monitor offsets"])
        _cache["base"] = (ctx.tmp, task_view(ts), syms_of(text(r)), offsets_of(text(r)))
    return _cache["base"][1:]


def profile(ctx, fx, name, banner=None):
    """An ISF profile made from the guest's BTF and the System.map."""
    path = ctx.tmpfile(name)
    if not os.path.exists(path):
        dump = L.Dump(fx.memory)
        if _cache.get("types", (None,))[0] != ctx.tmp:
            _cache["types"] = (ctx.tmp, L.parse_btf(L.read_btf(dump, fx.truth)),
                               L.read_system_map(fx.system_map))
        types, smap = _cache["types"][1:]
        if banner is None:
            banner = dump.read(L.image_phys(fx.truth, fx.symbol("linux_banner")), 400).split(b"\0")[0]
        isf = L.make_isf(types, L.ROOTS, smap, banner)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        L.write_isf(isf, path)
    return path


def patched_copy(ctx, fx, name, patch):
    """A copy of memory.elf changed by patch(mmap, dump); the caller
    removes it."""
    path = ctx.tmpfile(name)
    shutil.copyfile(fx.memory, path)
    os.chmod(path, 0o600)
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        patch(m, L.Dump(path))
        m.flush()
        m.close()
    return path


def test_offsets_equal_truth(ctx):
    fx = ctx.fixture()
    _, _, offs = baseline(ctx, fx)
    want = fx.truth["struct_offsets"]
    bad = {k: (offs[k], v) for k, v in want.items() if k in offs and offs[k][0] != v}
    compared = [k for k in want if k in offs]
    ctx.check(len(compared) >= 15 and not bad,
              "offsets found in BTF equal truth.json's struct_offsets (%d compared)" % len(compared),
              (bad, sorted(set(want) - set(offs))))
    ctx.check(offs.get("inactive_task_frame.ret_addr", (None,))[0] is not None and
              offs.get("sizeof(inactive_task_frame)", (0,))[0] > offs["inactive_task_frame.ret_addr"][0],
              "the switch frame layout comes from BTF", offs)


def test_system_map(ctx):
    fx = ctx.fixture()
    base_threads, base_syms, base_offs = baseline(ctx, fx)
    smap = fx.system_map
    r, ts = run(ctx, fx.memory, ["--symbols", smap],
                ["monitor sym %s" % s for s in SYMS] +
                ["monitor sym kallsyms_names", "monitor os", "monitor offsets"])
    out = text(r)
    ctx.check("symbols: System.map %s" % smap in out, "monitor os: symbols from the System.map given", out)
    ctx.check(task_view(ts) == base_threads, "--symbols: the same threads as with kallsyms from memory",
              (len(ts), len(base_threads)))
    got = syms_of(out)
    ctx.check({k: got.get(k) for k in SYMS} == {k: base_syms.get(k) for k in SYMS},
              "System.map plus the slide gives the addresses kallsyms in memory gives",
              {k: (got.get(k), base_syms.get(k)) for k in SYMS if got.get(k) != base_syms.get(k)})
    link = L.read_system_map(smap)
    slide = int(fx.truth["kaslr"]["virtual_offset"], 16)
    ctx.check(got.get("kallsyms_names") == link["kallsyms_names"] + slide ==
              fx.symbol("kallsyms_names"),
              "a symbol kallsyms lacks (kallsyms_names) comes out of System.map, slid", got.get("kallsyms_names"))
    ctx.check(got.get("current_task") == link["current_task"],
              "per-CPU symbols keep their System.map value", got.get("current_task"))
    ctx.check(offsets_of(out) == base_offs, "--symbols: the same offsets")


def test_profile_isf(ctx):
    fx = ctx.fixture()
    base_threads, base_syms, base_offs = baseline(ctx, fx)
    for name in ("isf/plain.json", "isf/packed.json.xz"):
        path = profile(ctx, fx, name)
        r, ts = run(ctx, fx.memory, ["--profile", path],
                    ["monitor os", "monitor offsets"] + ["monitor sym %s" % s for s in SYMS])
        out = text(r)
        ctx.check("types: ISF profile %s" % path in out and "symbols: ISF profile %s" % path in out,
                  "%s: monitor os says types and symbols come from the profile" % name, out)
        ctx.check("warning" not in out.split("Linux")[1] if "Linux" in out else False,
                  "%s: the profile's banner matches the kernel's" % name, out)
        ctx.check(task_view(ts) == base_threads, "%s: the same threads as with BTF" % name,
                  (len(ts), len(base_threads)))
        offs = offsets_of(out)
        ctx.check(offs == base_offs, "%s: the same offsets as BTF gives" % name,
                  {k: (offs.get(k), v) for k, v in base_offs.items() if offs.get(k) != v})
        got = syms_of(out)
        ctx.check({k: got.get(k) for k in SYMS} == {k: base_syms.get(k) for k in SYMS},
                  "%s: the same symbol addresses" % name)


def test_profile_dir(ctx):
    fx = ctx.fixture()
    base_threads, _, _ = baseline(ctx, fx)
    rel = fx.truth["kernel_release"]
    path = profile(ctx, fx, "pdir/linux/%s.json.xz" % rel)
    r, ts = run(ctx, fx.memory, ["--profile-dir", ctx.tmpfile("pdir")], ["monitor os"])
    ctx.check("types: ISF profile %s" % path in text(r),
              "--profile-dir: the profile named after the release is found", text(r))
    ctx.check(task_view(ts) == base_threads, "--profile-dir: the same threads")


def test_profile_of_another_build(ctx):
    fx = ctx.fixture()
    path = profile(ctx, fx, "isf/other.json", banner=b"Linux version 6.1.0-99-amd64 (someone) #1 SMP")
    r, ts = run(ctx, fx.memory, ["--profile", path], ["monitor os"])
    ctx.check("warning: the profile was made for another build" in text(r) and
              "6.1.0-99-amd64" in text(r),
              "a profile whose linux_banner differs is flagged in monitor os", text(r))


def test_no_vmcoreinfo(ctx):
    """Without VMCOREINFO: kallsyms by signature; System.map slid by the
    mapped image."""
    fx = ctx.fixture()
    base_threads, base_syms, base_offs = baseline(ctx, fx)

    def erase(m, dump):
        i = 0
        while True:
            i = m.find(b"OSRELEASE=", i)
            if i < 0:
                break
            m[i:i + 1] = b"X"
            i += 10

    path = patched_copy(ctx, fx, "novmci.elf", erase)
    try:
        r, ts = run(ctx, path, (), ["monitor os", "monitor offsets"] +
                    ["monitor sym %s" % s for s in SYMS])
        out = text(r)
        ctx.check(re.search(r"symbols: kallsyms found by signature \(token table at 0x%x\): %d symbols" %
                            (fx.symbol("kallsyms_token_table"), fx.truth["kallsyms_runtime_count"]), out)
                  is not None, "no VMCOREINFO: kallsyms found by signature at kallsyms_token_table", out)
        ctx.check("VMCOREINFO at" not in out, "no VMCOREINFO is reported", out)
        ctx.check(task_view(ts) == base_threads, "no VMCOREINFO: the same threads", (len(ts), len(base_threads)))
        got = syms_of(out)
        ctx.check({k: got.get(k) for k in SYMS} == {k: base_syms.get(k) for k in SYMS},
                  "no VMCOREINFO: the same symbol addresses",
                  {k: (got.get(k), base_syms.get(k)) for k in SYMS if got.get(k) != base_syms.get(k)})
        slide = int(fx.truth["kaslr"]["virtual_offset"], 16)
        ctx.check("KASLR slide: 0x%x (from _text against the default link address" % slide in out,
                  "no VMCOREINFO: the slide from _text", out)
        r, ts = run(ctx, path, ["--symbols", fx.system_map], ["monitor os"])
        ctx.check("KASLR slide: 0x%x (from the mapped image, checked on linux_banner)" % slide in text(r),
                  "no VMCOREINFO, System.map: the slide is found from the mapped kernel image", text(r))
        ctx.check(task_view(ts) == base_threads, "no VMCOREINFO, System.map: the same threads")
    finally:
        os.unlink(path)


def kallsyms_of(fx, names):
    """{name: (runtime address, size)} of the named functions, from the
    fixture's own /proc/kallsyms."""
    import subprocess
    out = subprocess.run(["zstd", "-q", "-d", "-c", "--long=27",
                          os.path.join(fx.src, "truth-kallsyms.txt.zst")],
                         check=True, capture_output=True, text=True).stdout
    rows = sorted((int(p[0], 16), p[2]) for p in (line.split() for line in out.splitlines())
                  if len(p) >= 3 and p[1] in "tT")
    found = {}
    for i, (a, n) in enumerate(rows):
        if n in names and i + 1 < len(rows):
            found[n] = (a, rows[i + 1][0] - a)
    return found


def test_no_btf(ctx):
    """Without BTF: the same tasks from the kernel's own code and data;
    when that code cannot be read either, say what is missing and what
    would help; a profile then gives the tasks."""
    fx = ctx.fixture()
    base_threads, _, _ = baseline(ctx, fx)
    ncpu = fx.truth["num_cpus"]

    def erase(m, dump):
        off = dump.file_offset(L.image_phys(fx.truth, fx.symbol("__start_BTF")))
        m[off:off + 2] = b"\0\0"

    # for_each_process() in setpriority gives the task list's offset
    fns = kallsyms_of(fx, ("__do_sys_setpriority", "__x64_sys_setpriority",
                           "__ia32_sys_setpriority", "sys_setpriority"))

    def erase_code(m, dump):
        erase(m, dump)
        for a, size in fns.values():
            off = dump.file_offset(L.image_phys(fx.truth, a))
            m[off:off + size] = b"\xcc" * size

    path = patched_copy(ctx, fx, "nobtf.elf", erase)
    try:
        r, ts = run(ctx, path, (), ["monitor os"])
        ctx.check(task_view(ts) == base_threads,
                  "no BTF: the same %d threads, found with offsets from the kernel's code" % len(ts),
                  [t["name"] for t in ts])
        ctx.check("types: the kernel's code and data (no BTF in memory)" in text(r),
                  "no BTF: monitor os says the types come from the kernel's code and data", text(r))
    finally:
        os.unlink(path)
    if not fns:
        ctx.skip("the fixture's kallsyms has no setpriority")
    path = patched_copy(ctx, fx, "nobtf-nocode.elf", erase_code)
    try:
        r, ts = run(ctx, path, (), ["monitor os"])
        out = text(r)
        ctx.check(len(ts) == ncpu and all(t["name"] == "vCPU %d" % i for i, t in enumerate(ts)),
                  "no BTF and no setpriority code: the threads are the vCPUs", [t["name"] for t in ts])
        ctx.check("no BTF in guest memory" in out and "task_struct.tasks" in out and
                  "give --vmlinux FILE" in out and "--profile FILE.json" in out,
                  "no BTF and no setpriority code: monitor os names the offsets missing and the "
                  "files that would help", out)
        r, ts = run(ctx, path, ["--profile", profile(ctx, fx, "isf/plain.json")])
        ctx.check(task_view(ts) == base_threads, "no BTF, --profile: the tasks are back")
    finally:
        os.unlink(path)


def test_wrong_symbols(ctx):
    fx = ctx.fixture()
    ncpu = fx.truth["num_cpus"]
    bad = ctx.tmpfile("wrong.map")
    text_link = L.read_system_map(fx.system_map)["_text"]
    # another build: everything 16 MiB past _text moved by a page (a
    # uniform shift would be a mere link address, which the slide absorbs)
    with open(fx.system_map) as f, open(bad, "w") as out:
        for line in f:
            a, t, n = line.split()[:3]
            a = int(a, 16)
            out.write("%016x %s %s\n" % (a + 0x1000 if a >= text_link + (16 << 20) else a, t, n))
    r, ts = run(ctx, fx.memory, ["--symbols", bad], ["monitor os"])
    ctx.check(len(ts) == ncpu, "a System.map of another kernel: the threads are the vCPUs", len(ts))
    ctx.check("the symbols given do not match the kernel in memory" in text(r),
              "a System.map of another kernel is refused with a reason", text(r))
    r, ts = run(ctx, fx.memory, ["--symbols", ctx.tmpfile("no-such.map")], ["monitor os"])
    ctx.check("no-such.map: cannot open" in text(r), "a missing System.map is named in the message", text(r))
    garbage = ctx.tmpfile("garbage.map")
    with open(garbage, "w") as f:
        f.write("ffffffff81000000 T _text\nthis is not a map\n")
    r, ts = run(ctx, fx.memory, ["--symbols", garbage], ["monitor os"])
    ctx.check("garbage.map line 2 is not 'ADDRESS TYPE NAME'" in text(r),
              "a malformed System.map names the bad line", text(r))
    notjson = ctx.tmpfile("bad.json")
    with open(notjson, "w") as f:
        f.write('{"metadata": {}, "user_types": {')
    r, ts = run(ctx, fx.memory, ["--profile", notjson], ["monitor os"])
    ctx.check("bad.json: not JSON" in text(r), "a truncated profile is refused with a reason", text(r))
