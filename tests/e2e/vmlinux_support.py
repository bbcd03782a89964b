# SPDX-License-Identifier: LGPL-2.1-or-later
"""The debug image (vmlinux with DWARF) of a fixture's kernel, for the
--vmlinux tests: Debian's linux-image-RELEASE-dbg of the fixture's kernel
version, fetched once with apt-get download (an i386 package through the
fixture builder's private apt state), of which only vmlinux is kept, in
.cache/vmlinux/ (the package, 0.7 to 1 GiB, is deleted). Skips with the
reason when the archive cannot be reached."""

import glob
import os
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
