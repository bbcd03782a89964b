# SPDX-License-Identifier: LGPL-2.1-or-later
"""The debug image (vmlinux with DWARF) of a fixture's kernel, for the
--vmlinux tests: Debian's linux-image-RELEASE-dbg of the fixture's kernel
version, fetched once with apt-get download (an i386 package through the
fixture builder's private apt state), of which only vmlinux is kept, in
.cache/vmlinux/ (the package, 0.7 to 1 GiB, is deleted). Skips with the
reason when the archive cannot be reached."""

import glob
import os
import re
import shlex
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(REPO, ".cache", "vmlinux")


def vmlinux(ctx, fx):
    """The path of the fixture's vmlinux, or ctx.skip() saying why not."""
    build = fx.truth.get("build", {})
    pkg = build.get("kernel_package")
    version = build.get("kernel_package_version")
    if not pkg or not version:
        ctx.skip("fixture %s does not name its kernel package" % fx.name)
    release = pkg[len("linux-image-"):]
    dest = os.path.join(CACHE, "vmlinux-%s_%s" % (release, version.replace(":", "%3a")))
    if os.path.exists(dest):
        return dest
    if os.environ.get("XENSTUB_TEST_VMLINUX") != "1":
        # 0.7 to 1 GiB per kernel and a minute of gdb's indexing: not
        # something every test run should do behind the user's back
        ctx.skip("no %s yet: XENSTUB_TEST_VMLINUX=1 downloads Debian's %s-dbg "
                 "(about 1 GiB) into .cache/vmlinux once" % (dest, pkg))
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
    try:
        import build_linux_dump as b
    finally:
        sys.path.pop(0)
    downloads = os.path.join(CACHE, "downloads")
    os.makedirs(downloads, exist_ok=True)
    arch = "i386" if fx.truth.get("elf_machine") == 3 or "i386" in fx.name else None
    dbg = pkg + "-dbg"
    try:
        apt = b.Apt(arch, CACHE)
        apt.update()
        subprocess.run(apt.cmd("apt-get", "download", "-q", "%s=%s" % (dbg, version)),
                       cwd=downloads, check=True, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=1800)
    except (b.BuildError, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        ctx.skip("cannot download %s=%s (offline, or no longer in the archive): %s" % (
            dbg, version, detail.strip().splitlines()[-1:] if detail else ""))
    debs = glob.glob(os.path.join(downloads, "%s_*.deb" % dbg))
    if not debs:
        ctx.skip("apt-get download %s=%s left no package" % (dbg, version))
    member = "./usr/lib/debug/boot/vmlinux-" + release
    tmp = dest + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    sh = "dpkg-deb --fsys-tarfile %s | tar -x -C %s --occurrence=1 %s" % (
        shlex.quote(debs[0]), shlex.quote(tmp), shlex.quote(member))
    subprocess.run(["sh", "-c", sh], stdin=subprocess.DEVNULL, capture_output=True)
    got = os.path.join(tmp, member)
    for d in debs:
        os.remove(d)
    if not os.path.exists(got):
        ctx.skip("%s has no %s" % (os.path.basename(debs[0]), member))
    os.rename(got, dest)
    subprocess.run(["rm", "-rf", tmp])
    return dest


def gdb_file(path):
    """gdb commands that load vmlinux path, with gdb's index cache in
    .cache/vmlinux/gdb-index: gdb indexes a kernel's DWARF in about a
    minute the first time, then loads it in seconds."""
    index = os.path.join(CACHE, "gdb-index")
    os.makedirs(index, exist_ok=True)
    return ["set index-cache directory " + index, "set index-cache enabled on",
            "file " + path]


def gdb_index_early():
    """gdb arguments that turn on the index cache of gdb_file() before any
    file is loaded (-iex runs before the -ex commands xenstub --gdb puts
    first)."""
    index = os.path.join(CACHE, "gdb-index")
    os.makedirs(index, exist_ok=True)
    return ["-iex", "set index-cache directory " + index, "-iex", "set index-cache enabled on"]


def _kernel_series(release):
    """'6.1' and the ABI '6.1.0-56' of a release such as 6.1.0-56-amd64."""
    m = re.match(r"((\d+\.\d+)\.\d+-\d+)", release)
    return (m.group(2), m.group(1)) if m else (None, None)


def gdb_scripts(ctx, fx):
    """A folder with the kernel's own gdb scripts for the fixture's kernel:
    vmlinux-gdb.py and scripts/gdb/linux/*.py, with the constants.py the
    kernel's build would make (scripts/gdb/linux/constants.py.in through
    the C preprocessor with the kernel's flags, headers and configuration).
    Debian ships neither in a binary package: the scripts come from
    linux-source-X.Y, the headers and configuration from
    linux-headers-RELEASE and linux-headers-ABI-common, all of the
    fixture's kernel version, fetched once with apt-get download; only the
    folder is kept, in .cache/vmlinux. ctx.skip() says why when it cannot
    be had."""
    build = fx.truth.get("build", {})
    pkg, version = build.get("kernel_package"), build.get("kernel_package_version")
    if not pkg or not version:
        ctx.skip("fixture %s does not name its kernel package" % fx.name)
    release = pkg[len("linux-image-"):]
    series, abi = _kernel_series(release)
    if not series:
        ctx.skip("cannot read the kernel series of %s" % release)
    dest = os.path.join(CACHE, "gdb-scripts-%s_%s" % (release, version.replace(":", "%3a")))
    if os.path.exists(os.path.join(dest, "vmlinux-gdb.py")):
        return dest
    if os.environ.get("XENSTUB_TEST_VMLINUX") != "1":
        ctx.skip("no %s yet: XENSTUB_TEST_VMLINUX=1 builds it from Debian's linux-source-%s and "
                 "linux-headers-%s (about 150 MB downloaded once)" % (dest, series, release))
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
    try:
        import build_linux_dump as b
    finally:
        sys.path.pop(0)
    arch = "i386" if fx.truth.get("elf_machine") == 3 or "i386" in fx.name else None
    work = dest + ".tmp"
    subprocess.run(["rm", "-rf", work])
    os.makedirs(work)
    wanted = ["linux-source-%s=%s" % (series, version),
              "linux-headers-%s=%s" % (release, version),
              "linux-headers-%s-common=%s" % (abi, version)]
    try:
        apt = b.Apt(arch, CACHE)
        apt.update()
        subprocess.run(apt.cmd("apt-get", "download", "-q", *wanted), cwd=work, check=True,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    except (b.BuildError, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        subprocess.run(["rm", "-rf", work])
        ctx.skip("cannot download %s (offline, or no longer in the archive): %s" % (
            " ".join(wanted), detail.strip().splitlines()[-1:] if detail else ""))

    def sh(cmd, what):
        r = subprocess.run(["sh", "-c", cmd], cwd=work, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        if r.returncode:
            subprocess.run(["rm", "-rf", work])
            ctx.skip("%s failed: %s" % (what, r.stderr.strip()[-500:]))

    # only scripts/gdb of the source tree
    sh("dpkg-deb --fsys-tarfile linux-source-*.deb | tar -xO --wildcards './usr/src/linux-source-*.tar.xz'"
       " | xz -dc | tar -x --wildcards --strip-components=1 '*/scripts/gdb/*'", "unpacking scripts/gdb")
    sh("for d in linux-headers-*.deb; do dpkg-deb -x \"$d\" root || exit 1; done", "unpacking the headers")
    common = "root/usr/src/linux-headers-%s-common" % abi
    built = "root/usr/src/linux-headers-%s" % release
    # what scripts/gdb/linux/Makefile does: $(CPP) -E -x c -P $(c_flags),
    # then everything up to the end-c-headers mark deleted
    inc = []
    for a, b2 in (("arch/x86/include", common), ("arch/x86/include/generated", built),
                  ("include", common), ("include", built),
                  ("arch/x86/include/uapi", common), ("arch/x86/include/generated/uapi", built),
                  ("include/uapi", common), ("include/generated/uapi", built)):
        inc.append("-I%s/%s" % (b2, a))
    cpp = ["gcc", "-E", "-x", "c", "-P", "-nostdinc"] + inc + [
        "-include", common + "/include/linux/compiler-version.h",
        "-include", common + "/include/linux/kconfig.h",
        "-include", common + "/include/linux/compiler_types.h",
        "-D__KERNEL__", "-std=gnu11", "-fno-PIE", "-funsigned-char",
        "-m32" if fx.truth.get("elf_class") == 32 else "-m64",
        "-DKBUILD_BASENAME=\"constants.py\"", "scripts/gdb/linux/constants.py.in"]
    sh(" ".join(shlex.quote(w) for w in cpp) + " > constants.py && "
       "sed -i '1,/<!-- end-c-headers -->/d;' constants.py && "
       "mv constants.py scripts/gdb/linux/ && mv scripts/gdb/vmlinux-gdb.py .",
       "making constants.py")
    out = dest + ".new"
    subprocess.run(["rm", "-rf", out])
    os.makedirs(os.path.join(out, "scripts"))
    os.rename(os.path.join(work, "scripts", "gdb"), os.path.join(out, "scripts", "gdb"))
    os.rename(os.path.join(work, "vmlinux-gdb.py"), os.path.join(out, "vmlinux-gdb.py"))
    subprocess.run(["rm", "-rf", work])
    os.rename(out, dest)
    return dest
