# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's unmodified xenctx (xen-utils-4.17) against a xensim domain
built from the fixture dump: it must print the fixture's registers, which
checks the stand-in libxenctrl call by call (getinfo, pause, vcpu and HVM
contexts, version, foreign mappings, address translation)."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "xensim"))
import xensim  # noqa: E402


def _xenctx(ctx, sim, *args):
    where, why = xensim.fetch_utils()
    if not where:
        ctx.skip(why)
    p = ctx.spawn([os.path.join(where, "xenctx")] + [str(a) for a in args],
                  env=sim.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                  text=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return p.returncode, out, err


def _reg(text, name):
    m = re.search(r"(?m)^\s*%s:\s*([0-9a-f]+)" % re.escape(name), text)
    return int(m.group(1), 16) if m else None


def test_xenctx_prints_fixture_registers(ctx):
    fx = ctx.fixture()
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("linux", "--from-dump", fx.memory)
        before = sim.state(dom, digest=True)["memory"]["digest"]
        for cpu in fx.truth["registers"]:
            vcpu = cpu["cpu"]
            rc, out, err = _xenctx(ctx, sim, "-a", dom, vcpu)
            ctx.check(rc == 0, "xenctx -a %s %s exits 0" % (dom, vcpu), out + err)
            for name in ("rip", "rsp", "cr3"):
                want = int(cpu[name], 16)
                ctx.check(_reg(out, name) == want,
                          "vCPU %d %s matches truth.json" % (vcpu, name),
                          "got %s want %#x\n%s" % (_reg(out, name), want, out))
            ctx.check("Call Trace:" in out and "Code (instr addr" in out,
                      "vCPU %d: code bytes and stack read through guest page tables" % vcpu,
                      out + err)
        rc, out, err = _xenctx(ctx, sim, "-C", dom)
        ctx.check(rc == 0 and out.count("rip: ") == len(fx.truth["registers"]),
                  "xenctx -C shows every vCPU", out + err)
        after = sim.state(dom, digest=True)
        ctx.check(after["paused"] == 0, "xenctx's pause and unpause balance",
                  after["paused"])
        ctx.check(after["memory"]["digest"] == before,
                  "the guest is left exactly as found", (before, after["memory"]))
        sim.ctl("destroy", dom)
        rc, out, err = _xenctx(ctx, sim, dom, 0)
        ctx.check(rc != 0 and ("xc_domain_getinfo" in out + err or
                               "xc_domain_pause" in out + err),
                  "a destroyed domain makes xenctx fail", out + err)
