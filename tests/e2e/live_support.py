# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for the tests of live guests: xenstub against xensim domains
built from the Linux fixture, with scripted workloads, and the snapshots of
xensim's state that prove a guest was left exactly as found."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))
import xensim  # noqa: E402

# Addresses in the fixture guest (derived from its own page tables with
# `monitor v2p`, see test_live_run): kernel text (read-only, executable)
# and a writable page of the kernel's direct map.
CODE = 0xffffffffa3459180          # default_idle, in a 2 MiB text page
GUEST_INT3 = 0xffffffffa345918c    # an int3 the kernel itself has there
SCRATCH = 0xffff8d71c7000000       # direct map of guest-physical 0x7000000
SCRATCH_PHYS = 0x7000000


def h(v):
    """Addresses go to xensim as hex strings (JSON integers stop at 2^63)."""
    return hex(v)


def loop(base, scratch, value):
    """Three instructions in a loop: no access, a write, a read."""
    return [
        {"rip": h(base), "len": 3, "access": "none"},
        {"rip": h(base + 3), "len": 4, "access": "write", "va": h(scratch), "size": 8,
         "value": h(value)},
        {"rip": h(base + 7), "len": 4, "access": "read", "va": h(scratch + 8), "size": 8},
        {"op": "loop"},
    ]


def make_domain(ctx, sim, name="web01", workloads=None, extra=()):
    """A domain from the fixture with a workload per vCPU (started)."""
    fx = ctx.fixture()
    dom = sim.create(name, "--from-dump", fx.memory, *extra)
    for vcpu, steps in (workloads or {}).items():
        sim.workload(dom, vcpu, steps)
    if workloads:
        sim.ctl("start", dom)
    return dom


def snapshot(sim, dom):
    """What must be the same before xenstub attaches and after it leaves:
    pauses, monitor settings and ring, each vCPU's hold, single-step,
    view and debug registers, access permissions, altp2m, memory."""
    s = sim.state(dom, digest=True)
    vcpus = []
    for v in s["vcpus"]:
        vcpus.append({
            "vm_event_pause": v.get("vm_event_pause"),
            "single_step": v.get("single_step"),
            "mtf_pending": v.get("mtf_pending"),
            "altp2m_view": v.get("altp2m_view"),
            "pending_injection": v.get("pending_injection"),
            "emulate_pending": v.get("emulate_pending"),
            "dr7": v["regs"].get("dr7"),
            "tf": int(str(v["regs"].get("rflags", "0")), 0) & 0x100,
        })
    return {
        "paused": s["paused"],
        "monitor": s["monitor"],
        "ring": s["ring"] is not None,
        "mem_access": s["mem_access"],
        "altp2m": s["altp2m"],
        "vcpus": vcpus,
        "digest": s["memory"]["digest"],
    }


def diff(a, b):
    """Keys whose values differ, for failure messages."""
    out = {}
    for k in set(a) | set(b):
        if a.get(k) != b.get(k):
            out[k] = (a.get(k), b.get(k))
    return out


def counters(sim, dom):
    return [v["counters"] for v in sim.state(dom)["vcpus"]]


def gdb_live(ctx, sim, name, commands=(), python=None, args=(), timeout=120, pre=()):
    """gdb attached through 'target remote | xenstub - xen:NAME'."""
    return ctx.gdb(commands, target="xen:" + name, python=python,
                   xenstub_args=list(args), env=sim.env(), timeout=timeout, pre=pre)


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)[:3000]
