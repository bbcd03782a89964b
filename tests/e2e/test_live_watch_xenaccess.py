# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's unmodified xen-access (xen-utils-4.17) in its `exec` and
`altp2m_exec` modes against xensim domains whose workload executes code on
several pages and writes data: the execute-access events Xen would report
(gfn, offset, linear address, flags, the view), the single-steps of the
altp2m pattern, and the guest going on to the end of its workload. The
checks of the mem_access semantics xenstub's watchpoints are built on,
seen by Xen's own reference client (test_xensim_xenaccess.py has the
breakpoint, write and altp2m_write modes)."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "xensim"))
import xensim  # noqa: E402

# Three instructions, each on its own page, two of them writing data.
CODE = [(0x1010, 4, 0x20010), (0x2ff0, 3, None), (0x3008, 4, 0x21010)]
ACCESS_RE = (r"(?m)^PAGE ACCESS: (...) for GFN (\w+) \(offset (\w+)\) gla (\w+) "
             r"\(valid: (.); fault in gpt: (.); fault with gla: (.)\) "
             r"\(vcpu (\d+) \[(.)\], altp2m view (\d+)\)$")


def _steps(loops):
    steps = []
    for i, (rip, n, va) in enumerate(CODE):
        st = {"rip": "0x%x" % rip, "len": n}
        if va is not None:
            st.update(access="write", va="0x%x" % va, size=4, value="0x%x" % (0xa0 + i))
        steps.append(st)
    if loops > 1:
        steps.append({"op": "loop", "times": loops - 1})
    steps.append({"op": "halt"})
    return steps


def _vcpu0(state):
    return state["vcpus"][0]


def test_xen_access_exec(ctx):
    """exec: every page is made rw (no execute); the first fetch from each
    code page is an event (--x, the page's gfn, offset and linear address
    of the instruction), after which xen-access opens the page to rwx; the
    second round of the loop raises nothing; data writes never do."""
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("ex", "--zero", "16")
        sim.workload(dom, 0, _steps(2))
        p, out, err = xensim.start_xen_access(ctx, sim, dom, "exec")
        sim.wait(dom, lambda s: s["mem_access"]["default"] == "rw" and
                 any(r["access"] == "rw" for r in s["mem_access"]["host"]) or
                 p.poll() is not None, "xen-access to take execute permission away")
        sim.ctl("start", dom)
        st = sim.wait(dom, lambda s: _vcpu0(s)["state"] == "halted" or p.poll() is not None,
                      "the workload to finish")
        rc, o, e = xensim.stop_xen_access(p, out, err)
        end = sim.state(dom)
    hits = re.findall(ACCESS_RE, o)
    ctx.check(rc == 0, "xen-access exits 0 after SIGINT", o[-1000:] + e[-2000:])
    ctx.check([(a, int(g, 16), int(off, 16), int(gla, 16)) for a, g, off, gla, *_ in hits] ==
              [("--x", rip >> 12, rip & 0xfff, rip) for rip, _, _ in CODE],
              "one execute event per code page, naming its gfn, offset and address", o[-2000:])
    ctx.check(all(h[4:10] == ("y", "n", "y", "0", "p", "0") for h in hits),
              "each event: gla valid, not in the page walk, with gla, vCPU 0 held, view 0",
              hits)
    c = _vcpu0(st)["counters"]
    ctx.check(c["steps"] == 2 * len(CODE) and c["writes"] == 4 and
              c["by_reason"]["mem_access"] == len(CODE) and c["emulated"] == 0,
              "the guest ran both rounds; the second one without events", c)
    ctx.check(end["mem_access"]["default"] == "rwx" and end["mem_access"]["host"] == [] and
              end["monitor"]["ring"] is False and end["paused"] == 0 and
              _vcpu0(end)["vm_event_pause"] == 0,
              "xen-access gave every page rwx back, no ring, nothing paused",
              (end["mem_access"], end["monitor"]["ring"]))


def test_xen_access_altp2m_exec(ctx):
    """altp2m_exec: a view where no page is executable; each instruction
    fetch is an event in view 1, answered by a switch to view 0 with
    single-step; the single-step after that one instruction switches back.
    So every instruction gives one execute event and one single-step (at
    the next instruction). Setting up takes one hypercall per gfn up to
    max_gpfn, as with real Xen."""
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("altx", "--zero", "16", "--altp2m", "external")
        sim.workload(dom, 0, _steps(1))
        p, out, err = xensim.start_xen_access(ctx, sim, dom, "altp2m_exec")
        sim.wait(dom, lambda s: (s["monitor"]["singlestep"] and
                                 _vcpu0(s)["altp2m_view"] == 1) or p.poll() is not None,
                 "xen-access to switch to its view", timeout=300)
        sim.ctl("start", dom)
        st = sim.wait(dom, lambda s: _vcpu0(s)["state"] == "halted" or p.poll() is not None,
                      "the workload to finish")
        rc, o, e = xensim.stop_xen_access(p, out, err)
        r = sim.ctl("read", dom, "--gpa", "0x21010", "1")
        end = sim.state(dom)
    acc = [(h[0], int(h[1], 16), int(h[3], 16), h[9]) for h in re.findall(ACCESS_RE, o)]
    steps = [int(x, 16) for x in re.findall(r"(?m)^Singlestep: rip=(\w+), vcpu 0, altp2m 0$", o)]
    ctx.check(acc == [("--x", rip >> 12, rip, "1") for rip, _, _ in CODE],
              "each instruction's fetch faults in view 1", o[-2000:])
    ctx.check(steps == [rip + n for rip, n, _ in CODE],
              "each is followed by one single-step in view 0, at the next instruction", o[-2000:])
    c = _vcpu0(st)["counters"]
    ctx.check(c["steps"] == len(CODE) and c["writes"] == 2 and r["hex"] == "a2",
              "every instruction ran once and its write landed", (c, r))
    # as in altp2m_write: xen-access turns single-step off for vCPUs 0..31,
    # and on this one-vCPU domain vCPUs 1..31 give EINVAL (exit code -1)
    ctx.check(rc == 255 and "xenaccess exit code -1" in e,
              "xen-access's exit status reflects XEN_DOMCTL_debug_op's EINVAL",
              "rc %s\n%s" % (rc, e[-1000:]))
    ctx.check(end["altp2m"]["active"] is False and end["altp2m"]["views"] == [] and
              end["monitor"]["ring"] is False and _vcpu0(end)["single_step"] is False and
              _vcpu0(end)["vm_event_pause"] == 0,
              "xen-access left altp2m off, no view, no ring, no single-step, nothing held",
              (end["altp2m"], end["monitor"]))
