# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's unmodified xen-access (xen-utils-4.17) against xensim: the
monitor ring, event channel, software-breakpoint events with reinjection,
and mem_access write events, as Xen's own reference client uses them."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "xensim"))
import xensim  # noqa: E402

LOOPS = 12


def _vcpu0(state):
    return state["vcpus"][0]


def test_xen_access_breakpoint(ctx):
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("bp", "--zero", "16")
        sim.ctl("write", dom, "--gpa", "0x1000", "cc")
        before = sim.state(dom, digest=True)["memory"]["digest"]
        sim.workload(dom, 0, [
            {"rip": "0x1000", "len": 1},
            {"rip": "0x1001", "len": 3, "access": "write", "va": "0x2000",
             "size": 8, "value": "0x1122334455667788"},
            {"op": "sleep", "ticks": 2},
            {"op": "loop", "times": LOOPS - 1},
        ])
        p, out, err = xensim.start_xen_access(ctx, sim, dom, "breakpoint")
        sim.wait(dom, lambda s: s["monitor"]["software_breakpoint"] or
                 p.poll() is not None, "xen-access to enable breakpoint events")
        sim.ctl("start", dom)
        st = sim.wait(dom, lambda s: _vcpu0(s)["state"] == "halted" or
                      p.poll() is not None, "the workload to finish")
        rc, o, e = xensim.stop_xen_access(p, out, err)
        events = len(re.findall(r"(?m)^Breakpoint: rip=0000000000001000, gfn=1 \(vcpu 0\)$", o))
        c = _vcpu0(st)["counters"]
        ctx.check(rc == 0, "xen-access exits 0 after SIGINT", o[-1000:] + e[-2000:])
        ctx.check(events == LOOPS, "xen-access saw one event per int3 (%d)" % LOOPS,
                  "%d events\n%s" % (events, o[-1500:]))
        ctx.check(c["int3"] == LOOPS and c["by_reason"]["software_breakpoint"] == LOOPS,
                  "int3 executed equals events raised", c)
        ctx.check(c["bp_delivered"] == LOOPS and c["writes"] == LOOPS,
                  "every reinjected #BP reached the guest, which went on", c)
        end = sim.state(dom, digest=True)
        ctx.check(end["monitor"]["ring"] is False and
                  end["monitor"]["software_breakpoint"] is False and
                  _vcpu0(end)["vm_event_pause"] == 0 and end["paused"] == 0,
                  "xen-access left no ring, setting or pause behind", end["monitor"])
        sim.ctl("write", dom, "--gpa", "0x2000", "0000000000000000")
        ctx.check(sim.ctl("digest", dom)["memory"]["digest"] == before,
                  "memory differs only by the workload's own write",
                  sim.log()[-2000:])


def test_xen_access_write(ctx):
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("wr", "--zero", "16")
        pages = [0x20, 0x21, 0x40]
        steps = []
        for i, g in enumerate(pages):
            steps.append({"rip": "0x%x" % (0x1000 + 4 * i), "len": 4,
                          "access": "write", "va": "0x%x" % (g << 12 | 0x10),
                          "size": 4, "value": "0x%x" % (0xa0 + i)})
        steps += [{"op": "loop", "times": 1}, {"op": "halt"}]
        sim.workload(dom, 0, steps)
        p, out, err = xensim.start_xen_access(ctx, sim, dom, "write")
        sim.wait(dom, lambda s: any(r["access"] == "rx" for r in s["mem_access"]["host"])
                 or p.poll() is not None, "xen-access to restrict guest memory")
        sim.ctl("start", dom)
        st = sim.wait(dom, lambda s: _vcpu0(s)["state"] == "halted" or
                      p.poll() is not None, "the workload to finish")
        rc, o, e = xensim.stop_xen_access(p, out, err)
        hits = re.findall(r"(?m)^PAGE ACCESS: (...) for GFN (\w+) \(offset (\w+)\) "
                          r"gla (\w+) \(valid: y; fault in gpt: n; fault with gla: y\)", o)
        ctx.check(rc == 0, "xen-access exits 0 after SIGINT", o[-1000:] + e[-2000:])
        ctx.check(sorted(int(g, 16) for _, g, _, _ in hits) == pages and
                  all(a == "-w-" for a, _, _, _ in hits) and
                  all(int(off, 16) == 0x10 for _, _, off, _ in hits),
                  "one write event per page, before the page is opened to rwx",
                  o[-2000:])
        ctx.check(_vcpu0(st)["counters"]["writes"] == 2 * len(pages),
                  "every write was done (the second round without events)",
                  _vcpu0(st)["counters"])
        r = sim.ctl("read", dom, "--gpa", "0x40010", "4")
        ctx.check(r["hex"] == "a2000000", "the guest's write landed", r)
        end = sim.state(dom)
        ctx.check(end["mem_access"]["host"] == [] and end["monitor"]["ring"] is False,
                  "xen-access reset every page to rwx on its way out",
                  end["mem_access"])


def test_xen_access_altp2m_write(ctx):
    """xen-access's altp2m pattern: a restricted view, a write event in it,
    a switch to view 0 with single-step, back to the view after one
    instruction. Setting up takes one hypercall per gfn up to max_gpfn
    (about a million), as with real Xen."""
    with xensim.sim_for(ctx) as sim:
        dom = sim.create("alt", "--zero", "16", "--altp2m", "external")
        sim.workload(dom, 0, [
            {"rip": "0x1000", "len": 4, "access": "write", "va": "0x20010",
             "size": 4, "value": "0xa0"},
            {"rip": "0x1004", "len": 4, "access": "write", "va": "0x21010",
             "size": 4, "value": "0xa1"},
            {"op": "halt"},
        ])
        p, out, err = xensim.start_xen_access(ctx, sim, dom, "altp2m_write")
        sim.wait(dom, lambda s: (s["monitor"]["singlestep"] and
                                 _vcpu0(s)["altp2m_view"] == 1) or
                 p.poll() is not None, "xen-access to switch to its view",
                 timeout=300)
        sim.ctl("start", dom)
        st = sim.wait(dom, lambda s: _vcpu0(s)["state"] == "halted" or
                      p.poll() is not None, "the workload to finish")
        rc, o, e = xensim.stop_xen_access(p, out, err)
        acc = re.findall(r"(?m)^PAGE ACCESS: -w- for GFN (\w+) .*\(vcpu 0 \[p\], altp2m view 1\)$", o)
        steps = re.findall(r"(?m)^Singlestep: rip=(\w+), vcpu 0, altp2m 0$", o)
        ctx.check([int(g, 16) for g in acc] == [0x20, 0x21],
                  "each write faults in view 1", o[-2000:])
        ctx.check([int(r, 16) for r in steps] == [0x1004, 0x1008],
                  "each is followed by one single-step in view 0", o[-2000:])
        ctx.check(_vcpu0(st)["counters"]["writes"] == 2 and
                  sim.ctl("read", dom, "--gpa", "0x21010", "1")["hex"] == "a1",
                  "both writes were done", _vcpu0(st)["counters"])
        # xen-access turns single-step off for vCPUs 0..31: on this
        # one-vCPU domain vCPUs 1..31 give EINVAL, so it exits with -1,
        # as it would on Xen.
        ctx.check(rc == 255 and "xenaccess exit code -1" in e,
                  "xen-access's exit status reflects XEN_DOMCTL_debug_op's EINVAL",
                  "rc %s\n%s" % (rc, e[-1000:]))
        end = sim.state(dom)
        ctx.check(end["altp2m"]["active"] is False and end["altp2m"]["views"] == [] and
                  end["monitor"]["ring"] is False and
                  _vcpu0(end)["single_step"] is False,
                  "xen-access left altp2m off, no view, no ring, no single-step",
                  (end["altp2m"], end["monitor"]))
