# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TARGET forms of a live Xen domain (xen:NAME, xen:ID, a bare id, a
bare name) against xensim, the domains xenstub refuses and why (dom0, an
unknown domain, a dying one, one that has shut down), and PV guests:
attach, registers, memory, continue and interrupt work; stepping and
breakpoints are refused with a reason and the session goes on."""

import json
import re
import subprocess

import live_support as L


def _version_line(out):
    m = re.search(r"^target: (.*)$", out or "", re.M)
    return m.group(1) if m else None


def test_target_forms(ctx):
    """Each form attaches to the domain it names, not to another one."""
    with L.xensim.sim_for(ctx) as sim:
        web = L.make_domain(ctx, sim, "web01")
        db = sim.create("db02", "--zero", "32", "--vcpus", "1")
        # db02's vCPU gets a register value of its own, to tell them apart
        sim.ctl("set-reg", db, 0, "rbx=0x0db0200000000002")
        before = {d: L.snapshot(sim, d) for d in (web, db)}
        forms = [("xen:web01", web, "web01"), ("xen:%d" % web, web, "web01"),
                 (str(web), web, "web01"), ("web01", web, "web01"),
                 ("xen:db02", db, "db02"), (str(db), db, "db02"),
                 ("db02", db, "db02"), ("xen:0x%x" % db, db, "db02")]
        for spec, dom, name in forms:
            r = ctx.gdb(["monitor version", "info registers rbx", "info threads"],
                        target=spec, env=sim.env(), merge_stderr=True)
            line = _version_line(r.out)
            ctx.check(r.rc == 0 and line is not None and
                      "Xen domain %d '%s'" % (dom, name) in line,
                      "TARGET %s attaches to domain %d '%s'" % (spec, dom, name), r.out[-1500:])
            want_rbx = "0xdb0200000000002" if name == "db02" else "0x0"
            ctx.check(re.search(r"^rbx\s+%s\b" % want_rbx, r.out, re.M) is not None,
                      "TARGET %s: rbx is %s's" % (spec, name), r.out[-800:])
            nthreads = 1 if name == "db02" else 2
            ctx.check(('Thread %d "vCPU %d' % (nthreads, nthreads - 1)) in r.out and
                      ('Thread %d "vCPU %d' % (nthreads + 1, nthreads)) not in r.out,
                      "TARGET %s: %d vCPU thread(s)" % (spec, nthreads), r.out[-1500:])
        for d in (web, db):
            after = L.snapshot(sim, d)
            ctx.check(before[d] == after, "domain %d left as found after every form" % d,
                      L.diff(before[d], after))


def _refused(ctx, sim, spec, why_re, what):
    """gdb shows xenstub's one-line reason; xenstub exits 1 on its own."""
    r = ctx.gdb(["info threads"], target=spec, env=sim.env(), merge_stderr=True, timeout=60)
    m = re.search(r"^xenstub: (.*)$", r.out, re.M)
    ctx.check(m is not None and re.search(why_re, m.group(1)) is not None,
              "%s: gdb shows xenstub's reason (%s)" % (what, why_re), r.out[-1500:])
    ctx.check("Thread 1" not in r.out, "%s: nothing attached" % what, r.out[-800:])
    p = ctx.spawn([ctx.xenstub, "-", spec], env=sim.env(), stdin=subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    ctx.check(p.returncode == 1 and re.search(why_re, err) is not None and
              len(err.strip().splitlines()) == 1 and not out,
              "%s: xenstub exits 1 with one line on stderr" % what,
              "rc=%s\nstdout: %s\nstderr: %s" % (p.returncode, out, err))


def test_refusals(ctx):
    with L.xensim.sim_for(ctx) as sim:
        web = L.make_domain(ctx, sim, "web01")
        dying = sim.create("dying1", "--zero", "16")
        down = sim.create("down1", "--zero", "16")
        crashed = sim.create("crashed1", "--zero", "16")
        sim.ctl("destroy", dying, "--dying")
        sim.ctl("shutdown", down, "poweroff")
        sim.ctl("shutdown", crashed, "crash")
        before = L.snapshot(sim, web)
        _refused(ctx, sim, "xen:0", r"domain 0.*control domain.*cannot be debugged", "dom0 (xen:0)")
        _refused(ctx, sim, "0", r"domain 0.*cannot be debugged", "dom0 (bare 0)")
        _refused(ctx, sim, "xen:nosuch", r"nosuch.*no domain has that name", "an unknown name")
        _refused(ctx, sim, "xen:77", r"xen:77.*no such domain", "an unknown id")
        _refused(ctx, sim, "nosuch", r"nosuch.*no domain has that name", "an unknown bare name")
        _refused(ctx, sim, "xen:dying1", r"dying1.*dying", "a dying domain")
        _refused(ctx, sim, "xen:%d" % dying, r"dying", "a dying domain by id")
        _refused(ctx, sim, "xen:down1", r"down1.*shut down", "a domain that powered off")
        _refused(ctx, sim, "xen:crashed1", r"crashed1.*(shut down|crash)", "a domain that crashed")
        s = sim.state(down)
        ctx.check(s["paused"] == 0 and s["ring"] is None, "the shut-down domain is untouched",
                  {"paused": s["paused"], "ring": s["ring"]})
        after = L.snapshot(sim, web)
        ctx.check(before == after, "the other domain is untouched", L.diff(before, after))


PV_SESSION = L.PY_STATE + r'''
import gdb, re, os, signal, threading, time
res = {"stops": []}
def on_stop(ev):
    res["stops"].append(getattr(ev, "stop_signal", None) or type(ev).__name__)
gdb.events.stop.connect(on_stop)
def out(cmd):
    try:
        return gdb.execute(cmd, to_string=True)
    except gdb.error as e:
        return "ERROR " + str(e)
res["paused_attached"] = state()["paused"]
res["regs"] = {r: int(gdb.parse_and_eval("$" + r)) & (2**64 - 1)
               for r in ("rip", "rsp", "rax", "rbx", "rcx", "rdi", "r15", "eflags", "cr3")}
gdb.execute("thread 2")
res["regs2"] = {r: int(gdb.parse_and_eval("$" + r)) & (2**64 - 1) for r in ("rip", "rsp", "rdi")}
gdb.execute("thread 1")
res["mem"] = gdb.selected_inferior().read_memory(%(banner)d, 32).tobytes().hex()
# a register write goes to the vCPU context
gdb.execute("set $rbx = 0x1122334455667788")
res["rbx_state"] = state()["vcpus"][0]["regs"]["rbx"]
# stepping and breakpoints: refused with a reason, the session goes on
res["stepi"] = out("stepi")
res["stepi_pc"] = int(gdb.parse_and_eval("$pc"))
res["after_bp"] = out("info threads 1-2")
# continue, then Ctrl-C
def stop():
    time.sleep(0.5)
    res["paused_running"] = state()["paused"]
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=stop).start()
res["stops"] = []
res["cont"] = out("continue")
res["paused_stopped"] = state()["paused"]
res["threads"] = out("info threads 1-2")
print("RESULT " + _json.dumps(res))
'''


def test_pv_guest(ctx):
    fx = ctx.fixture()
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, "pv01", extra=("--type", "pv"))
        st0 = sim.state(dom)
        ctx.check(st0["type"] == "pv", "xensim made a PV domain", st0["type"])
        before = L.snapshot(sim, dom)
        scratch = L.SCRATCH + 0x200
        orig = sim.ctl("read", dom, "--va", hex(scratch), "--vcpu", 0, 8)["hex"]
        py = PV_SESSION % {"dom": dom, "banner": fx.symbol("linux_banner"),
                           "scratch": scratch, "code": L.CODE}
        # what xenstub says goes to gdb's terminal: these run as gdb
        # commands so that it shows in the output in order
        cmds = ["set {unsigned long}%d = 0x5eedf00d5eedf00d" % scratch,
                "echo @@x@@\\n", "x/gx %d" % scratch, "echo @@bp@@\\n",
                "break *0x%x" % L.CODE, "continue", "delete", "echo @@end@@\\n"]
        r = ctx.gdb(cmds, target="xen:pv01", python=py, env=L.ctl_env(sim), merge_stderr=True)
        write_out = r.out.split("@@x@@")[0]
        read_out = r.out.split("@@x@@")[-1].split("@@bp@@")[0]
        bp_out = r.out.split("@@bp@@")[-1].split("@@end@@")[0]
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the PV session ran to its end", r):
            return
        d = json.loads(m.group(1))
        regs = st0["vcpus"][0]["regs"]
        for k, want in (("rip", "rip"), ("rsp", "rsp"), ("rax", "rax"), ("rcx", "rcx"),
                        ("rdi", "rdi"), ("r15", "r15")):
            ctx.check(d["regs"][k] == int(regs[want], 16), "PV vCPU 0 %s = %s" % (k, regs[want]),
                      d["regs"])
        ctx.check(d["regs2"]["rsp"] == int(st0["vcpus"][1]["regs"]["rsp"], 16) and
                  d["regs2"]["rdi"] == int(st0["vcpus"][1]["regs"]["rdi"], 16),
                  "PV vCPU 1 registers are its own", d["regs2"])
        ctx.check(d["regs"]["cr3"] == int(regs["cr3"], 16), "PV cr3 reads as the page-table root",
                  (hex(d["regs"]["cr3"]), regs["cr3"]))
        banner = fx.truth["proc_version"].encode()[:32].hex()
        ctx.check(d["mem"] == banner, "PV memory reads (linux_banner)", d["mem"])
        ctx.check(d["paused_attached"] == 1, "the PV domain is paused while gdb has it stopped",
                  d["paused_attached"])
        ctx.check(d["rbx_state"] == "0x1122334455667788", "a PV register write reaches the vCPU",
                  d["rbx_state"])
        now = sim.ctl("read", dom, "--va", hex(scratch), "--vcpu", 0, 8)["hex"]
        ctx.check("Cannot access memory" not in write_out and "0x5eedf00d5eedf00d" in read_out,
                  "a PV memory write is accepted and reads back", (write_out[-600:], read_out))
        ctx.check(now == "0df0ed5e0df0ed5e", "the PV memory write reaches guest memory", (orig, now))
        ctx.check(re.search(r"no monitor events", d["stepi"]) is not None and "PV" in d["stepi"],
                  "stepi on PV: a message that Xen offers no monitor events for PV guests", d["stepi"])
        ctx.check(d["stepi_pc"] == d["regs"]["rip"], "the refused stepi did not move the vCPU",
                  (hex(d["stepi_pc"]), hex(d["regs"]["rip"])))
        ctx.check(re.search(r"breakpoint at 0x%x refused: .*PV.*no monitor events" % L.CODE, bp_out)
                  is not None and "Cannot insert breakpoint 1" in bp_out and "Command aborted" in bp_out,
                  "break + continue on PV: refused with the reason", bp_out)
        ctx.check('Thread 2 "vCPU 1' in d["after_bp"], "the session goes on after the refusals",
                  d["after_bp"])
        ctx.check(d.get("paused_running") == 0, "continue unpauses the PV domain",
                  d.get("paused_running"))
        ctx.check(d["stops"] == ["SIGINT"] and d["paused_stopped"] == 1,
                  "Ctrl-C stops the PV guest (paused again)", (d["stops"], d["cont"], d["paused_stopped"]))
        ctx.check('Thread 2 "vCPU 1' in d["threads"], "info threads after the interrupt",
                  d["threads"])
        after = L.snapshot(sim, dom)
        dd = {k: v for k, v in L.diff(before, after).items() if k != "digest"}
        ctx.check(not dd and after["paused"] == 0, "the PV domain is left as found (but the write)", dd)
        s = sim.state(dom)
        ctx.check(s["vcpus"][0]["regs"]["rbx"] == "0x1122334455667788",
                  "the register write stays after detach", s["vcpus"][0]["regs"]["rbx"])
