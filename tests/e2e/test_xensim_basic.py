# SPDX-License-Identifier: LGPL-2.1-or-later
"""xensim itself: the stand-in libraries carry Debian's sonames and symbol
versions, the control command and its JSON state, and the Xen 4.17
semantics checked through the libraries by simcheck."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "xensim"))
import xensim  # noqa: E402

DEBIAN_LIBDIR = "/usr/lib/x86_64-linux-gnu"
LIBS = ["libxenctrl.so.4.17", "libxenevtchn.so.1", "libxenforeignmemory.so.1",
        "libxendevicemodel.so.1", "libxenstore.so.4", "libxentoollog.so.1"]


def _dynsyms(path):
    """{symbol: version node} of the symbols a library defines."""
    out = subprocess.run(["objdump", "-T", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4 or "*UND*" in line or not re.match(r"^[0-9a-f]{16}", line):
            continue
        name, ver = f[-1], f[-2].strip("()")
        if name != ver:
            syms[name] = ver
    return syms


def _soname(path):
    out = subprocess.run(["objdump", "-p", path], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    m = re.search(r"SONAME\s+(\S+)", out)
    return m.group(1) if m else None


def test_libraries_match_debian(ctx):
    libdir = os.path.join(ctx.build, "xensim", "lib")
    if not os.path.isdir(libdir):
        ctx.skip("xensim is not built")
    for lib in LIBS:
        ours = os.path.join(libdir, lib)
        theirs = os.path.join(DEBIAN_LIBDIR, lib)
        if not os.path.exists(theirs):
            ctx.skip("Debian's %s is not installed (libxen-dev)" % lib)
        ctx.check(_soname(ours) == lib, "%s has the soname %s" % (lib, lib),
                  _soname(ours))
        a, b = _dynsyms(ours), _dynsyms(theirs)
        wrong = sorted(s for s in b if a.get(s) != b[s])
        extra = sorted(s for s in a if s not in b)
        ctx.check(not wrong and not extra,
                  "%s exports each of Debian's %d symbols in the same version node"
                  % (lib, len(b)),
                  "missing or other node: %s; not in Debian: %s" % (wrong[:20], extra[:20]))


def test_control_command(ctx):
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("web01", "--zero", "16", "--vcpus", "2")
        ctx.check(dom == 1, "the first domain gets id 1", dom)
        lst = sim.ctl("list")["domains"]
        ctx.check([d["name"] for d in lst] == ["web01"], "list shows it", lst)
        st = sim.state("web01", digest=True)
        ctx.check(st["nr_vcpus"] == 2 and len(st["vcpus"]) == 2 and
                  st["vcpus"][0]["regs"]["cr0"] == "0x80050033" and
                  st["monitor"]["ring"] is False and st["paused"] == 0,
                  "state describes the domain, its vCPUs and monitor", st)
        before = st["memory"]["digest"]
        sim.ctl("write", dom, "--gpa", "0x3000", "deadbeef")
        r = sim.ctl("read", dom, "--va", "0x3000", "--vcpu", "1", "4")
        ctx.check(r["hex"] == "deadbeef", "write, then read through the page tables", r)
        changed = sim.ctl("digest", dom)["memory"]["digest"]
        sim.ctl("write", dom, "--gpa", "0x3000", "00000000")
        after = sim.ctl("digest", dom)["memory"]["digest"]
        ctx.check(changed != before and after == before,
                  "the memory digest sees a change and its undoing",
                  (before, changed, after))
        r = sim.ctl("read", dom, "--gpa", "0x50000000", "8", check=False)
        ctx.check(r["_rc"] == 1 and "not populated" in r["_stderr"],
                  "reading a hole fails and says why", r)
        sim.ctl("shutdown", dom, "crash")
        st = sim.state(dom)
        ctx.check(st["shutdown"] and st["shutdown_reason"] == "crash",
                  "an injected crash shows in the state", st["shutdown_reason"])
        sim.ctl("destroy", dom)
        r = sim.ctl("state", dom, check=False)
        ctx.check(r["_rc"] == 1 and "no domain" in r["_stderr"],
                  "a destroyed domain is gone", r)
        r = sim.ctl("create", "--name", "x", "--zero", "4", "--type", "hvmx", check=False)
        ctx.check(r["_rc"] == 1 and "hvm, pvh or pv" in r["_stderr"],
                  "a bad option is refused with the choices", r)


def test_semantics(ctx):
    simcheck = os.path.join(ctx.build, "xensim", "simcheck")
    if not os.access(simcheck, os.X_OK):
        ctx.skip("simcheck is not built")
    with xensim.sim_for(ctx) as sim:
        p = ctx.spawn([simcheck], env=sim.env(), stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        lines = [l for l in out.splitlines() if l.startswith(("ok ", "FAIL "))]
        for line in lines:
            ctx.check(line.startswith("ok "), line[3:] if line.startswith("ok ") else line[5:],
                      err[-3000:] + "\n--- xensimd\n" + sim.log()[-3000:])
        ctx.check(p.returncode == 0 and len(lines) >= 100,
                  "simcheck ran every scenario (%d checks)" % len(lines),
                  "rc %s\n%s\n%s" % (p.returncode, out[-2000:], err[-2000:]))
        ctx.check("xc_domain_setmaxmem: not modelled by xensim" in err and
                  "xc_hvm_param_get: not modelled by xensim" in err,
                  "calls xensim does not model say so on stderr", err[-2000:])
