# SPDX-License-Identifier: LGPL-2.1-or-later
"""make install into a temporary DESTDIR, then the installed copy: the
program serves the fixture dump to gdb, the man page and --help list the
same options, the version agrees everywhere (version.h, --version, the
man page, xenstub.pc, debian/changelog), the library exports only its
public interface, and the example (examples/xenstub-threads.c) builds
with pkg-config against the installed header and library and reads the
dump through it. make uninstall removes every file installed."""

import os
import re
import shutil
import subprocess

from harness import REPO

PREFIX = "/usr/local"
_installed = {}


def make_env():
    """The environment for a make of our own: nothing of the make that
    may have started the tests (its jobserver is not ours)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def needed(path):
    """The DT_NEEDED and DT_SONAME entries of an ELF file (readelf -d)."""
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    return (re.findall(r"\(NEEDED\).*\[(.*)\]", out),
            re.findall(r"\(SONAME\).*\[(.*)\]", out))


def sanitized(ctx):
    """True when the build under test is an ASan build (SAN=1)."""
    lib = os.path.join(ctx.build, "libxenstub.so")
    return any("asan" in n for n in needed(lib)[0])


def make(ctx, dest, *targets):
    argv = ["make", "-s", "-C", REPO, "O=" + ctx.build, "DESTDIR=" + dest]
    if sanitized(ctx):
        argv.append("SAN=1")
    return subprocess.run(argv + list(targets), env=make_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)


def install(ctx):
    """make install into ctx's temporary folder, once per run; returns the
    DESTDIR (or skips the caller when make install failed)."""
    if ctx.tmp not in _installed:
        dest = ctx.tmpfile("destdir")
        r = make(ctx, dest, "install")
        ctx.check(r.returncode == 0, "make install DESTDIR=%s" % dest, r.stdout)
        _installed[ctx.tmp] = dest if r.returncode == 0 else None
    if _installed[ctx.tmp] is None:
        ctx.skip("make install failed")
    return _installed[ctx.tmp]


def files_under(root):
    """Every file and symbolic link under root, relative to it."""
    found = set()
    for d, dirs, files in os.walk(root):
        for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            found.add(os.path.relpath(os.path.join(d, n), root))
    return found


def version_h():
    with open(os.path.join(REPO, "stub", "base", "version.h")) as f:
        return re.search(r'#define XENSTUB_VERSION "([^"]+)"', f.read()).group(1)


def test_install_and_uninstall(ctx):
    dest = install(ctx)
    v = version_h()
    p = PREFIX.lstrip("/")
    want = {
        p + "/sbin/xenstub",
        p + "/share/man/man8/xenstub.8",
        p + "/share/xenstub/xenstub-gdb.py",
        p + "/lib/libxenstub.so." + v,
        p + "/lib/libxenstub.so.0",
        p + "/lib/libxenstub.so",
        p + "/lib/libxenstub.a",
        p + "/lib/pkgconfig/xenstub.pc",
        p + "/include/xenstub/xenstub.h",
        p + "/include/xenstub/stub/session/session.h",
    }
    have = files_under(dest)
    ctx.check(want <= have, "make install puts the program, the man page and the library "
              "under PREFIX", sorted(want - have))
    ctx.check(os.access(os.path.join(dest, p, "sbin/xenstub"), os.X_OK),
              "the installed program is executable")
    ctx.check(os.readlink(os.path.join(dest, p, "lib/libxenstub.so.0")) == "libxenstub.so." + v
              and os.readlink(os.path.join(dest, p, "lib/libxenstub.so")) == "libxenstub.so.0",
              "libxenstub.so -> libxenstub.so.0 -> libxenstub.so.%s" % v)
    ctx.check(needed(os.path.join(dest, p, "lib/libxenstub.so." + v))[1] == ["libxenstub.so.0"],
              "the installed library's SONAME is libxenstub.so.0")
    # uninstall from a DESTDIR of its own: nothing of ours is left
    other = ctx.tmpfile("destdir-uninstall")
    r = make(ctx, other, "install")
    ctx.check(r.returncode == 0, "make install into a second DESTDIR", r.stdout)
    r = make(ctx, other, "uninstall")
    ctx.check(r.returncode == 0, "make uninstall", r.stdout)
    left = files_under(other)
    ctx.check(not left, "make uninstall removes every file make install put", sorted(left))


def use_installed(ctx):
    """Points the harness's xenstub at the installed program; returns the
    path of the build's, to put back."""
    dest = install(ctx)
    before = ctx.xenstub
    ctx.xenstub = os.path.join(dest, PREFIX.lstrip("/"), "sbin", "xenstub")
    return before


def test_installed_program_serves_dump(ctx):
    fx = ctx.fixture()
    before = use_installed(ctx)
    try:
        cr3 = int(fx.truth["registers"][0]["cr3"], 16)
        banner = fx.symbol("linux_banner")
        truth = fx.read_virt(cr3, banner, 32)
        r, outs = ctx.gdb_each(["info threads", "x/32xb 0x%x" % banner],
                               target="core:" + fx.memory)
        ctx.check(r.rc == 0 and outs[0] is not None and "vCPU 0" in outs[0],
                  "the installed xenstub serves the dump: gdb lists vCPU 0", r.out + r.err)
        got = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})\b", outs[1] or ""))
        ctx.check(got == truth, "gdb reads linux_banner through the installed xenstub "
                  "as in memory.elf", outs[1])
    finally:
        ctx.xenstub = before


def test_installed_program_sources_gdb_helper(ctx):
    fx = ctx.fixture()
    dest = install(ctx)
    helper = os.path.join(dest, PREFIX.lstrip("/"), "share", "xenstub", "xenstub-gdb.py")
    before = use_installed(ctx)
    try:
        # any ELF file will do as --vmlinux here: gdb gets no kernel image
        # from one that is not the guest's, but the helper all the same
        r = ctx.xenstub_gdb("core:" + fx.memory, ["-ex", 'python print("helper:", "xenstub_cpu" in dir())'],
                            xenstub_args=["-v", "--vmlinux", ctx.xenstub])
        ctx.check("gdb sources %s" % helper in r.err and "helper: True" in r.out,
                  "--vmlinux with --gdb: the installed xenstub has gdb source the installed "
                  "xenstub-gdb.py (../share/xenstub from the program)", (r.out[-1000:], r.err[-2000:]))
    finally:
        ctx.xenstub = before


def help_options(text):
    """The options of --help's Options: section."""
    opts = set()
    section = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    for line in section.splitlines():
        m = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
        if m:
            opts.update(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", m.group(1)))
    return opts


def roff_text(line):
    """A roff line as text: fonts dropped, \\- as -, quotes and macros
    gone."""
    line = re.sub(r"^\.[A-Z]{1,2}\s*", "", line)
    line = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-").replace('"', "")
    return line


def man_sections(src):
    """{section name: its lines} of a man page source."""
    sections, cur = {}, None
    for line in src.splitlines():
        if line.startswith(".SH "):
            cur = line[4:].strip().strip('"')
            sections[cur] = []
        elif cur:
            sections[cur].append(line)
    return sections


def man_options(src):
    """The options tagged in the man page's OPTIONS section (each .TP's
    tag line)."""
    opts = set()
    lines = man_sections(src)["OPTIONS"]
    for i, line in enumerate(lines[:-1]):
        if line.startswith(".TP"):
            tag = roff_text(lines[i + 1])
            opts.update(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", tag.replace(",", " ")))
    return opts


def test_man_page_matches_help(ctx):
    dest = install(ctx)
    before = use_installed(ctx)
    try:
        r = ctx.run_xenstub(["--help"])
    finally:
        ctx.xenstub = before
    ctx.check(r.rc == 0 and "Options:" in r.out, "xenstub --help", r)
    man = os.path.join(dest, PREFIX.lstrip("/"), "share/man/man8/xenstub.8")
    with open(man) as f:
        src = f.read()
    h, m = help_options(r.out), man_options(src)
    ctx.check(len(h) >= 20, "--help lists the options (%d found)" % len(h), sorted(h))
    ctx.check(h - m == set(), "every option of --help is in the man page", sorted(h - m))
    ctx.check(m - h == set(), "every option of the man page is in --help", sorted(m - h))
    # the kinds of TARGET --help lists are the man page's
    section = re.search(r"^TARGET[^\n]*\n(.*?)(?:\n\n|$)", r.out, re.M | re.S)
    kinds = set(re.findall(r"^  ([a-z]+):", section.group(1) if section else "", re.M))
    man_kinds = set(re.findall(r"\b([a-z]+):", " ".join(
        roff_text(x) for x in man_sections(src)["TARGET"])))
    ctx.check(kinds and kinds <= man_kinds, "every kind of TARGET of --help is in the man page "
              "(%s)" % ", ".join(sorted(kinds)), (sorted(kinds), sorted(man_kinds)))
    if shutil.which("groff") is None:
        ctx.skip("groff not installed (groff-base): the page's rendering not checked")
    g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", man],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx.check(g.returncode == 0 and g.stderr == "", "groff renders the man page "
              "without a warning", g.stderr)


def test_version_agrees(ctx):
    dest = install(ctx)
    v = version_h()
    root = os.path.join(dest, PREFIX.lstrip("/"))
    out = subprocess.run([os.path.join(root, "sbin/xenstub"), "--version"],
                         stdout=subprocess.PIPE, text=True).stdout
    ctx.check(re.search(r"\b%s\b" % re.escape(v), out) is not None,
              "xenstub --version says %s (version.h)" % v, out)
    with open(os.path.join(root, "lib/pkgconfig/xenstub.pc")) as f:
        pc = f.read()
    ctx.check(re.search(r"^Version: %s$" % re.escape(v), pc, re.M) is not None,
              "xenstub.pc's Version is %s" % v, pc)
    with open(os.path.join(root, "share/man/man8/xenstub.8")) as f:
        th = [x for x in f.read().splitlines() if x.startswith(".TH ")]
    ctx.check(th and '"xenstub %s"' % v in th[0], "the man page says xenstub %s" % v, th)
    with open(os.path.join(REPO, "debian", "changelog")) as f:
        first = f.readline()
    ctx.check(first.startswith("xenstub (%s) " % v),
              "debian/changelog's latest entry is version %s" % v, first)


# besides the functions of session.h and strbuf.h, what xenstub.h names
OTHER_PUBLIC = {"strbuf_empty", "guest_text", "target_open", "target_close", "target_strerror",
                "target_type_help", "log_set_level", "log_get_level", "log_set_categories",
                "log_parse_categories", "log_set_prefix"}


def test_library_exports_its_interface_only(ctx):
    dest = install(ctx)
    inc = os.path.join(dest, PREFIX.lstrip("/"), "include", "xenstub")
    declared = set()
    for h, prefix in (("stub/session/session.h", "session_"), ("stub/base/strbuf.h", "strbuf_")):
        with open(os.path.join(inc, h)) as f:
            declared |= set(re.findall(r"\b(%s\w+)\s*\(" % prefix, f.read()))
    lib = os.path.join(dest, PREFIX.lstrip("/"), "lib", "libxenstub.so.0")
    out = subprocess.run(["nm", "-D", "--defined-only", lib], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    syms = {line.split()[-1].split("@")[0] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] != "A"}
    ctx.check(len(declared) > 40 and declared <= syms,
              "libxenstub.so exports every function of session.h and strbuf.h (%d)"
              % len(declared), sorted(declared - syms))
    ctx.check(OTHER_PUBLIC <= syms, "libxenstub.so exports the target's opening and the "
              "log's settings", sorted(OTHER_PUBLIC - syms))
    extra = sorted(syms - declared - OTHER_PUBLIC)
    ctx.check(not extra, "libxenstub.so exports nothing else (%d symbols)" % len(syms), extra)


def test_library_example(ctx):
    fx = ctx.fixture()
    dest = install(ctx)
    if shutil.which("pkg-config") is None:
        ctx.check(False, "pkg-config is installed (pkgconf, debian-packages.txt)")
        return
    root = os.path.join(dest, PREFIX.lstrip("/"))
    env = make_env()
    env["PKG_CONFIG_SYSROOT_DIR"] = dest
    env["PKG_CONFIG_LIBDIR"] = os.path.join(root, "lib", "pkgconfig")
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "xenstub"], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ctx.check(pc.returncode == 0 and "-I%s/include/xenstub" % root in pc.stdout
              and "-lxenstub" in pc.stdout,
              "pkg-config --cflags --libs xenstub names the installed copy", pc.stdout)
    exe = ctx.tmpfile("xenstub-threads")
    cc = os.environ.get("CC", "cc")
    argv = [cc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2",
            os.path.join(REPO, "examples", "xenstub-threads.c"), "-o", exe] + pc.stdout.split()
    if sanitized(ctx):
        argv.append("-fsanitize=address,undefined")
    b = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       cwd=ctx.tmp)
    if not ctx.check(b.returncode == 0, "the example builds against the installed header "
                     "and library (%s)" % " ".join(argv[-4:]), b.stdout):
        return
    ctx.check(needed(exe)[0].count("libxenstub.so.0") == 1,
              "the example is linked to libxenstub.so.0", needed(exe))
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    banner = fx.symbol("linux_banner")
    env["LD_LIBRARY_PATH"] = os.path.join(root, "lib")
    r = subprocess.run([exe, "core:" + fx.memory, "0x%x" % banner, "48"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    ctx.check(r.returncode == 0, "the example runs on the dump", r.stdout + r.stderr)
    ncpu = fx.truth["num_cpus"]
    for i in range(ncpu):
        ctx.check(re.search(r"^thread %d vcpu %d " % (i + 1, i), r.stdout, re.M) is not None,
                  "the example lists vCPU %d as thread %d" % (i, i + 1), r.stdout[:2000])
    m = fx.truth["marker"]
    for t in m["threads"]:
        ctx.check(re.search(r"^thread %d vcpu -?\d+ .*%s" % (1000000 + t["tid"], re.escape(t["comm"])),
                            r.stdout, re.M) is not None,
                  "the example lists task %d (%s) as thread %d" % (t["tid"], t["comm"],
                                                                   1000000 + t["tid"]),
                  r.stdout[:3000])
    want = fx.read_virt(cr3, banner, 48).hex()
    ctx.check("memory 0x%x:%s\n" % (banner, want) in r.stdout,
              "the example reads linux_banner as in memory.elf", r.stdout[-400:])
