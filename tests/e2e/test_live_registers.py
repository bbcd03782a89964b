# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registers of a live guest on xensim: every register gdb shows for both
vCPUs equals xensim's vCPU state (each general register given a value of
its own first, so that a swapped pair shows); register writes ($rax, $rip,
$xmm0) reach the vCPU and read back; --read-only refuses register and
memory writes and software breakpoints with a reason, and allows hbreak
and watch, which write nothing into the guest."""

import json
import re
import subprocess
import sys

import live_support as L

GPRS = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]

READ_ALL = L.PY_STATE + r'''
import gdb
regs = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
        "r11", "r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es",
        "fs", "gs", "fs_base", "gs_base", "k_gs_base", "cr0", "cr2", "cr3", "cr4", "efer"]
res = {"gdb": [], "xensim": state()}
for t in (1, 2):
    gdb.execute("thread %%d" %% t)
    vals = {}
    for r in regs:
        v = gdb.parse_and_eval("$" + r)
        vals[r] = None if v.is_optimized_out else int(v) & (2**64 - 1)
    res["gdb"].append(vals)
print("RESULT " + _json.dumps(res))
'''


def _hx(v):
    return int(str(v), 16)


def _expected(v):
    """What gdb must show for one xensim vCPU (struct hvm_hw_cpu)."""
    r = v["regs"]
    want = {g: _hx(r[g]) for g in GPRS}
    want.update(rip=_hx(r["rip"]), eflags=_hx(r["rflags"]), cr0=_hx(r["cr0"]),
                cr2=_hx(r["cr2"]), cr3=_hx(r["cr3"]), cr4=_hx(r["cr4"]),
                efer=_hx(r["efer"]), fs_base=_hx(r["fs_base"]),
                gs_base=_hx(r["gs_base"]), k_gs_base=_hx(r["shadow_gs"]))
    for seg in ("cs", "ss", "ds", "es", "fs", "gs"):
        want[seg] = _hx(r[seg]["sel"])
    return want


def _compare(ctx, d, what):
    for i, v in enumerate(d["xensim"]["vcpus"]):
        want = _expected(v)
        got = d["gdb"][i]
        bad = {k: (hex(got.get(k) or 0) if got.get(k) is not None else None, hex(w))
               for k, w in want.items() if got.get(k) != w}
        ctx.check(not bad, "%s: every register of vCPU %d equals xensim's (%d registers)"
                  % (what, i, len(want)), bad)


def test_all_registers_both_vcpus(ctx):
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim)
        # a value of its own in every register: a swap cannot hide
        for v in (0, 1):
            vals = ["%s=0x%x" % (g, 0x1000000000000000 * (v + 1) + 0x1010 * (i + 1))
                    for i, g in enumerate(GPRS) if g != "rsp"]
            vals += ["fs_base=0x%x" % (0x7f0000001000 + v), "shadow_gs=0x%x" % (0xffff888000002000 + v)]
            sim.ctl("set-reg", dom, v, *vals)
        before = L.snapshot(sim, dom)
        r = L.gdb_live(ctx, sim, "web01", python=READ_ALL % {"dom": dom}, args=["--os=none"])
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "gdb read the registers of both vCPUs", r):
            return
        _compare(ctx, json.loads(m.group(1)), "stopped at attach")
        after = L.snapshot(sim, dom)
        ctx.check(before == after, "reading registers leaves the guest as found", L.diff(before, after))


def test_registers_of_a_running_guest(ctx):
    """Attached while the workload changes registers: what gdb shows is
    the vCPU's state at the stop, whatever the vCPU was doing."""
    regs_wl = lambda base, v: [  # noqa: E731
        {"op": "set_reg", "rip": L.h(base), "len": 10, "reg": "rax", "value": L.h(0xaaaa0000 + v)},
        {"op": "set_reg", "rip": L.h(base + 10), "len": 10, "reg": "r9", "value": L.h(0x99990000 + v)},
        {"rip": L.h(base + 20), "len": 4, "access": "write", "va": L.h(L.SCRATCH + 64 * v),
         "size": 8, "value": "0x1"},
        {"op": "set_reg", "rip": L.h(base + 24), "len": 10, "reg": "rax", "value": L.h(0xbbbb0000 + v)},
        {"op": "loop"},
    ]
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: regs_wl(L.CODE, 0), 1: regs_wl(L.CODE, 1)})
        L.wait_loops(sim, dom, 2)
        r = L.gdb_live(ctx, sim, "web01", python=READ_ALL % {"dom": dom}, args=["--os=none"])
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "gdb read the registers of the running guest", r):
            return
        d = json.loads(m.group(1))
        _compare(ctx, d, "attached while running")
        ctx.check(all(v["state"] == "held" for v in d["xensim"]["vcpus"]),
                  "every vCPU is held while gdb has the guest stopped",
                  [v["state"] for v in d["xensim"]["vcpus"]])


WRITES = L.PY_STATE + r'''
import gdb
res = {}
gdb.execute("thread 2")
gdb.execute("set $rax = 0x1122334455667788")
gdb.execute("set $r13 = 0x0d0d0d0d0d0d0d0d")
gdb.execute("set $rip = 0x%(newrip)x")
gdb.execute("set $eflags = $eflags | 0x1")
res["fpu_valid"] = not gdb.parse_and_eval("$xmm0").is_optimized_out and \
    "unavailable" not in str(gdb.parse_and_eval("$xmm0"))
if res["fpu_valid"]:
    gdb.execute("set $xmm0.v2_int64[0] = 0x0123456789abcdef")
    gdb.execute("set $xmm0.v2_int64[1] = 0x7edcba9876543210")
    gdb.execute("set $st0 = 1.5")
    res["xmm0"] = [int(gdb.parse_and_eval("$xmm0.v2_int64[%%d]" %% i)) & (2**64 - 1) for i in (0, 1)]
gdb.execute("flushregs")
res["back"] = {r: int(gdb.parse_and_eval("$" + r)) & (2**64 - 1)
               for r in ("rax", "r13", "rip", "eflags")}
if res["fpu_valid"]:
    res["xmm0_back"] = [int(gdb.parse_and_eval("$xmm0.v2_int64[%%d]" %% i)) & (2**64 - 1) for i in (0, 1)]
    res["st0_back"] = float(gdb.parse_and_eval("$st0"))
gdb.execute("thread 1")
res["v0_rax"] = int(gdb.parse_and_eval("$rax")) & (2**64 - 1)
res["state"] = state()
print("RESULT " + _json.dumps(res))
'''

# xensim's HVM CPU record of a vCPU through the stand-in libxenctrl, read
# without xenstub: its FXSAVE image is the first 512 bytes.
FPU_READER = r'''
import ctypes, sys
xc = ctypes.CDLL("libxenctrl.so.4.17")
xc.xc_interface_open.restype = ctypes.c_void_p
h = xc.xc_interface_open(None, None, 0)
buf = ctypes.create_string_buffer(4096)
rc = xc.xc_domain_hvm_getcontext_partial(ctypes.c_void_p(h), int(sys.argv[1]), 2,
                                         int(sys.argv[2]), buf, 4096)
print(rc, buf.raw[:512].hex())
'''


def _fpu(sim, dom, vcpu):
    r = subprocess.run([sys.executable, "-c", FPU_READER, str(dom), str(vcpu)],
                       env=sim.env(), capture_output=True, text=True, timeout=60)
    parts = r.stdout.split()
    if len(parts) != 2 or parts[0] != "0":
        return None
    return bytes.fromhex(parts[1])


def test_register_writes(ctx):
    """$rax, $r13, $rip, $eflags and (the FPU being valid) $xmm0 and $st0
    written on thread 2 land in vCPU 1 only and read back."""
    with L.xensim.sim_for(ctx) as sim:
        # zero-page domain: its vCPUs have a valid FPU (FNINIT state)
        dom = sim.create("web01", "--zero", "64", "--vcpus", "2")
        newrip = 0x401000
        r = L.gdb_live(ctx, sim, "web01", python=WRITES % {"dom": dom, "newrip": newrip},
                       args=["--os=none"])
        m = re.search(r"^RESULT (.*)$", r.out, re.M)
        if not ctx.check(m is not None, "the register writes ran", r):
            return
        d = json.loads(m.group(1))
        v1 = d["state"]["vcpus"][1]["regs"]
        v0 = d["state"]["vcpus"][0]["regs"]
        ctx.check(v1["rax"] == "0x1122334455667788" and v1["r13"] == "0xd0d0d0d0d0d0d0d",
                  "set $rax / $r13 on thread 2 show in vCPU 1's state", v1)
        ctx.check(v1["rip"] == hex(newrip), "set $rip shows in vCPU 1's state", v1["rip"])
        ctx.check(_hx(v1["rflags"]) & 1 == 1, "set $eflags (CF) shows in vCPU 1's state", v1["rflags"])
        ctx.check(d["back"]["rax"] == 0x1122334455667788 and d["back"]["rip"] == newrip and
                  d["back"]["r13"] == 0x0d0d0d0d0d0d0d0d and d["back"]["eflags"] & 1,
                  "the written registers read back after flushregs", d["back"])
        ctx.check(v0["rax"] != "0x1122334455667788" and d["v0_rax"] == _hx(v0["rax"]),
                  "vCPU 0 is not touched", (v0["rax"], d["v0_rax"]))
        if not ctx.check(d["fpu_valid"], "the zero-page domain's FPU is valid in gdb", d):
            return
        want = (0x0123456789abcdef).to_bytes(8, "little") + (0x7edcba9876543210).to_bytes(8, "little")
        ctx.check(d["xmm0_back"] == [0x0123456789abcdef, 0x7edcba9876543210],
                  "$xmm0 reads back", d.get("xmm0_back"))
        ctx.check(d.get("st0_back") == 1.5, "$st0 reads back", d.get("st0_back"))
        fpu1 = _fpu(sim, dom, 1)
        fpu0 = _fpu(sim, dom, 0)
        if not ctx.check(fpu1 is not None and fpu0 is not None,
                         "xensim's CPU record is readable without xenstub", (fpu0, fpu1)):
            return
        ctx.check(fpu1[160:176] == want, "$xmm0 is in vCPU 1's FXSAVE image (bytes 160..175)",
                  fpu1[160:176].hex())
        # st0 = 1.5 as an 80-bit extended value at bytes 32..41
        st0 = (0xc000000000000000).to_bytes(8, "little") + (0x3fff).to_bytes(2, "little")
        ctx.check(fpu1[32:42] == st0,
                  "$st0 = 1.5 is in vCPU 1's FXSAVE image", fpu1[32:42].hex())
        ctx.check(fpu0[160:176] != want, "vCPU 0's FPU is not touched", fpu0[160:176].hex())
        # a new session reads them from the hypervisor, not from a cache
        r2 = L.gdb_live(ctx, sim, "web01", ["thread 2", "p/x $rax", "p/x $xmm0.v2_int64",
                                            "p/x $rip"], args=["--os=none"])
        ctx.check("0x1122334455667788" in r2.out and "0x123456789abcdef" in r2.out and
                  "0x7edcba9876543210" in r2.out and hex(newrip) in r2.out,
                  "a second session reads the written registers", r2.out[-800:])


def _between(out, a, b):
    return out.split(a, 1)[-1].split(b, 1)[0]


def test_read_only(ctx):
    """--read-only: register and memory writes and break are refused
    with a reason; hbreak and watch work and write nothing."""
    code = L.CODE
    watched = L.SCRATCH + 0x100
    # real instructions under the scripted steps (xenstub decodes them to
    # know what an access touches): mov rdi, imm64; mov [rdi], rax twice;
    # nop
    text = "48bf" + watched.to_bytes(8, "little").hex() + "488907" + "488907" + "90"
    wl = [{"op": "set_reg", "rip": L.h(code), "len": 10, "reg": "rdi", "value": L.h(watched)},
          {"rip": L.h(code + 10), "len": 3, "access": "write", "va": L.h(watched),
           "size": 8, "value": "0x1111"},
          {"rip": L.h(code + 13), "len": 3, "access": "write", "va": L.h(watched),
           "size": 8, "value": "0x2222"},
          {"rip": L.h(code + 16), "len": 1, "access": "none"},
          {"op": "loop"}]
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim)
        sim.ctl("write", dom, "--va", hex(code), "--vcpu", 0, text)
        sim.workload(dom, 0, wl)
        sim.ctl("start", dom)
        L.wait_loops(sim, dom, 2)

        def quiet_snapshot():
            # the watched qword alternates: the workload stopped and that
            # qword set to one value, the rest of memory compares exactly
            sim.ctl("stop", dom)
            sim.ctl("write", dom, "--va", hex(watched), "--vcpu", 0, "00" * 8)
            snap = L.snapshot(sim, dom)
            sim.ctl("start", dom)
            return snap

        before = quiet_snapshot()
        rax = sim.state(dom)["vcpus"][0]["regs"]["rax"]
        cmds = ["set $rax = 0x4242", "echo @@1@@\\n", "p/x $rax", "echo @@2@@\\n",
                "set {long}0x%x = 0x4242" % (L.SCRATCH + 0x200), "echo @@3@@\\n",
                "break *0x%x" % code, "continue", "delete", "echo @@4@@\\n",
                "hbreak *0x%x" % (code + 16), "continue", "p/x $pc", "delete", "echo @@5@@\\n",
                "watch *(long*)0x%x" % watched, "continue", "continue",
                "delete", "echo @@6@@\\n", "info threads"]
        r = ctx.gdb(cmds, target="xen:web01", env=L.ctl_env(sim), merge_stderr=True,
                    xenstub_args=["--read-only", "--os=none"], timeout=60)
        out = r.out
        reg = out.split("@@1@@")[0]
        ctx.check(re.search(r"register write.*refused.*read-only", reg) is not None and
                  "memory dump" not in reg,
                  "set $rax: refused, the message says --read-only", reg[-800:])
        ctx.check(("0x%x" % int(rax, 16)) in _between(out, "@@1@@", "@@2@@"),
                  "rax keeps its value", _between(out, "@@1@@", "@@2@@"))
        mem = _between(out, "@@2@@", "@@3@@")
        ctx.check("Cannot access memory" in mem and re.search(r"memory write.*refused.*read-only", mem)
                  and "memory dump" not in mem,
                  "a memory write: refused, the message says --read-only", mem)
        bp = _between(out, "@@3@@", "@@4@@")
        ctx.check("Cannot insert breakpoint 1" in bp and re.search(r"read-only.*int3", bp),
                  "break: refused, saying it would write an int3", bp)
        hb = _between(out, "@@4@@", "@@5@@")
        ctx.check(re.search(r"Breakpoint 2, 0x0*%x" % (code + 16), hb) is not None and
                  re.search(r"\$\d+ = 0x%x" % (code + 16), hb) is not None,
                  "hbreak works under --read-only", hb)
        wp = _between(out, "@@5@@", "@@6@@")
        ctx.check(len(re.findall(r"Hardware watchpoint 3: \*\(long\*\)", wp)) >= 2 and
                  "New value = 4369" in wp and "New value = 8738" in wp,
                  "watch works under --read-only", wp)
        ctx.check(r.rc == 0 and "@@6@@" in out, "the session ran to its end", out[-1500:])
        s = sim.state(dom)
        ctx.check(s["vcpus"][0]["regs"]["rax"] == rax, "xensim: rax unchanged", s["vcpus"][0]["regs"]["rax"])
        after = quiet_snapshot()
        ctx.check(before == after, "--read-only wrote nothing: the guest is left exactly as found",
                  L.diff(before, after))


def test_register_write_fixture_guest(ctx):
    """A register write on the fixture guest itself: its context (its own
    CR4, EFER...) goes back to Xen with the new value."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={0: L.loop(L.CODE, L.SCRATCH, 1)})
        L.wait_loops(sim, dom, 2)
        r = L.gdb_live(ctx, sim, "web01", ["thread 2", "set $r12 = 0x1212121212121212", "p/x $r12"],
                       args=["--os=none"])
        out = r.out + r.err
        s = sim.state(dom)
        ctx.check(s["vcpus"][1]["regs"]["r12"] == "0x1212121212121212" and "Could not write" not in out,
                  "set $r12 on the fixture guest reaches vCPU 1", (s["vcpus"][1]["regs"]["r12"], out[-800:]))
        ctx.check(all(v["online"] for v in s["vcpus"]), "every vCPU is still online",
                  [(v["id"], v["online"], v["state"]) for v in s["vcpus"]])


def test_refused_register_write_keeps_vcpus(ctx):
    """Xen refuses a CPU record it cannot load (here CR4.LA57, which Xen
    4.17 never allows) after taking every vCPU down (hvm_load): the write
    must fail with a message, and the guest must keep its vCPUs."""
    with L.xensim.sim_for(ctx) as sim:
        dom = sim.create("web01", "--zero", "64", "--vcpus", "2")
        code = 0x100000
        sim.ctl("write", dom, "--gpa", hex(code), "90" * 8)
        for v in (0, 1):
            sim.workload(dom, v, [{"rip": L.h(code), "len": 1, "access": "write",
                                   "va": L.h(0x200000 + 64 * v), "size": 8, "value": L.h(v + 1)},
                                  {"rip": L.h(code + 1), "len": 1, "access": "none"},
                                  {"op": "loop"}])
        sim.ctl("start", dom)
        L.wait_loops(sim, dom, 2)
        before = L.snapshot(sim, dom)
        cr4 = sim.state(dom)["vcpus"][1]["regs"]["cr4"]
        r = ctx.gdb(["thread 2", "set $cr4 = $cr4 | 0x1000", "echo @@1@@\\n", "p/x $cr4",
                     "set $rax = 0x4242", "p/x $rax", "info threads"],
                    target="xen:web01", env=L.ctl_env(sim), merge_stderr=True, xenstub_args=["--os=none"])
        first = r.out.split("@@1@@")[0]
        ctx.check(re.search(r"Could not write register \"cr4\"", first) is not None and
                  re.search(r"xenstub: .*(HVM context|register write).*(Invalid argument|refused)", first),
                  "the refused write is an error, with xenstub's reason", first[-800:])
        s = sim.state(dom)
        ctx.check(all(v["online"] for v in s["vcpus"]), "every vCPU is still online after the refusal",
                  [(v["id"], v["online"], v["state"]) for v in s["vcpus"]])
        ctx.check(s["vcpus"][1]["regs"]["cr4"] == cr4, "CR4 is unchanged", (cr4, s["vcpus"][1]["regs"]["cr4"]))
        ctx.check(s["vcpus"][1]["regs"]["rax"] == "0x4242", "a later register write works",
                  s["vcpus"][1]["regs"]["rax"])
        s0 = sim.state(dom)
        try:
            sim.wait(dom, lambda s: all(v["counters"]["steps"] > w["counters"]["steps"] + 10
                                        for v, w in zip(s["vcpus"], s0["vcpus"])),
                     "both vCPUs to run", timeout=20)
            runs = True
        except AssertionError:
            runs = False
        ctx.check(runs, "both vCPUs run on after detach",
                  [(v["id"], v["online"], v["state"]) for v in sim.state(dom)["vcpus"]])
        after = L.snapshot(sim, dom)
        ctx.check(L.diff(before, after).keys() <= {"digest"} or L.diff(before, after) == {},
                  "otherwise as found", L.diff(before, after))
