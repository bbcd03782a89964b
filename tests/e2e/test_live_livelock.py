# SPDX-License-Identifier: LGPL-2.1-or-later
"""The livelock guard: when Xen never completes an access xenstub lets
through (xensim's `quirk no-progress`: EMULATE answers ignored, so the
vCPU raises the same mem_access event again and again with the same
registers), xenstub stops the guest after LIVELOCK_REPEATS identical
events and says so, on gdb's console and in its log, instead of spinning;
after detach the guest is left exactly as found."""

import re

import live_support as L

LIVELOCK_REPEATS = 10000       # stub/session/run.h

# Real code both vCPUs execute (xensim `exec` steps run these bytes):
#   mov qword [rbx], 42 ; mov rcx, [rbx + 8] ; pause ; jmp back
CODE = L.CODE
LOOP = "48c7032a000000" "488b4b08" "f390" "ebf1"
STORE = CODE
AFTER = CODE + 7              # the instruction after the store
WATCHED = L.SCRATCH + 0x800   # same frame as vCPU 0's stores, other bytes
# the word each vCPU stores to: vCPU 1's is on a frame nobody watches
TARGET = {0: L.SCRATCH, 1: L.SCRATCH + 0x10000}


def _domain(ctx, sim):
    fx = ctx.fixture()
    dom = sim.create("web01", "--from-dump", fx.memory)
    sim.ctl("write", dom, "--va", L.h(CODE), "--vcpu", "0", LOOP)
    for vcpu in (0, 1):
        sim.ctl("set-reg", dom, vcpu, "rip=" + L.h(CODE),
                "rbx=" + L.h(TARGET[vcpu]), "rcx=0")
        sim.workload(dom, vcpu, [{"op": "exec"}])
    sim.ctl("start", dom)
    return dom


def test_no_progress_stops(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = _domain(ctx, sim)
        L.wait_running(sim, dom, 20)
        before = L.snapshot(sim, dom)
        sim.ctl("quirk", dom, "no-progress", "on")
        ev0 = sum(c["events"] for c in L.counters(sim, dom))
        # stderr merged: gdb prints the target's console output there,
        # and xenstub's log is there too, in the order printed
        r = ctx.gdb([
            "watch *(long*)0x%x" % WATCHED,
            "continue",
            "echo @@STOPPED@@\\n",
            "info registers rip rbx",
            "x/gx 0x%x" % WATCHED,
            "monitor stats",
            # then on: the held store executes for real (frames relaxed)
            "set scheduler-locking on",
            "break *0x%x" % AFTER,
            "continue",
            "echo @@AGAIN@@\\n",
            "p/x $pc",
            "thread",
        ], target="xen:web01", env=L.ctl_env(sim), timeout=600, merge_stderr=True)
        ctx.check(r.rc == 0 and "@@STOPPED@@" in r.out,
                  "continue comes back (the guest is stopped, gdb goes on)", r)
        m = re.search(r"xenstub: vCPU (\d) makes no progress: the same memory access event "
                      r"at 0x%x came (\d+) times in a row, registers unchanged; stopped" % STORE,
                      r.out)
        ctx.check(m is not None and int(m.group(2)) == LIVELOCK_REPEATS,
                  "gdb's console shows the no-progress message, with the store's "
                  "address and %d repeats" % LIVELOCK_REPEATS, r.out[-3000:])
        before_stop = r.out.split("@@STOPPED@@")[0]
        ctx.check(m is not None and "SIGTRAP" in before_stop[m.end():],
                  "then the stop: SIGTRAP, after the message", before_stop[-1500:])
        ctx.check(m is not None and m.group(1) == "0" and
                  'Thread 1 "vCPU 0' in before_stop[m.end():],
                  "it is vCPU 0's (vCPU 1 stores to a frame nobody watches)", r.out[-2000:])
        ctx.check(re.search(r"^rip\s+0x%x\b" % STORE, r.out, re.M) is not None and
                  re.search(r"^rbx\s+0x%x\b" % TARGET[0], r.out, re.M) is not None,
                  "the stopped thread is at the store that never completed", r.out[-2000:])
        ctx.check(re.search(r"made no progress.*: 1$", r.out, re.M) is not None,
                  "monitor stats counts one no-progress stop", r.out[-2500:])
        ctx.check("makes no progress: the same memory access event (rip 0x%x" % STORE in r.out,
                  "xenstub's log says so too, with the address accessed", r.out[-2000:])
        again = r.out.split("@@AGAIN@@")[-1] if "@@AGAIN@@" in r.out else ""
        ctx.check(re.search(r"^\$\d+ = 0x%x$" % AFTER, again, re.M) is not None and
                  "Current thread is 1 " in again,
                  "continue from there: vCPU 0 gets past the store, to the breakpoint after it",
                  r.out[-2000:])
        ev1 = sum(c["events"] for c in L.counters(sim, dom))
        ctx.check(ev1 - ev0 >= LIVELOCK_REPEATS,
                  "xensim raised at least %d events meanwhile" % LIVELOCK_REPEATS,
                  (ev0, ev1))
        sim.ctl("quirk", dom, "no-progress", "off")
        L.check_as_found(ctx, sim, dom, before, "after detach")
        c1 = L.counters(sim, dom)
        L.wait_running(sim, dom, c1[0]["steps"] + 6)
        ctx.check(True, "the guest runs on after detach")
