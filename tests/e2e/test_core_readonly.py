# SPDX-License-Identifier: LGPL-2.1-or-later
"""A dump cannot run and cannot be written: continue, stepi, register and
memory writes, breakpoints and watchpoints are refused with a message gdb
shows, nothing hangs, and the session goes on reading the dump."""

import re

OS_NONE = ["--os=none"]


def banner_ok(fx, text):
    return fx.truth["proc_version"].strip()[:60] in (text or "")


def no_desync(ctx, r, what):
    """Replies taken for the answer to another packet show up as these."""
    bad = [s for s in ("Invalid remote reply", "Cannot remove breakpoints",
                       "Remote replied unexpectedly", "Ignoring packet error",
                       "Remote connection closed")
           if s in r.out]
    ctx.check(not bad, "%s: no protocol confusion (%s)" % (what, ", ".join(bad) or "none"), r)


def test_run_control_refused(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    rip = int(fx.truth["registers"][0]["rip"], 16)
    cmds = ["continue", "x/s 0x%x" % banner,
            "stepi", "x/s 0x%x" % banner,
            "thread 2", "stepi", "info threads",
            "thread 1", "p/x $pc"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check(r.rc is not None, "gdb finished (nothing hung)", r)
    for j, what in ((0, "continue"), (2, "stepi"), (5, "stepi on thread 2")):
        text = out[j] or ""
        ctx.check("cannot run" in text and "Remote failure reply" in text,
                  "%s: gdb shows xenstub's reason and the failed resume" % what, text)
        ctx.check(re.search(r"\bprogram (exited|terminated)|Remote connection closed", text) is None,
                  "%s: the session is not over" % what, text)
    ctx.check(banner_ok(fx, out[1]), "x/s works after continue", out[1])
    ctx.check(banner_ok(fx, out[3]), "x/s works after stepi", out[3])
    rows = re.findall(r'^\*?\s+\d+\s+Thread \d+ "vCPU \d+"', out[6] or "", re.M)
    ctx.check(len(rows) == fx.truth["num_cpus"], "info threads still lists every vCPU", out[6])
    ctx.check(re.search(r"= 0x%x\b" % rip, out[8] or "") is not None,
              "the pc has not moved (0x%x)" % rip, out[8])
    no_desync(ctx, r, "continue/stepi")


def test_writes_refused(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    rax = int(fx.truth["registers"][0]["rax"], 16)
    cmds = ["set $rax = 1", "p/x $rax",
            "set {char}0x%x = 1" % banner, "x/s 0x%x" % banner,
            "set var *(long *)0x%x = 0" % banner, "x/s 0x%x" % banner,
            "monitor phys on", "set {char}0x1000 = 1", "monitor phys off",
            "x/s 0x%x" % banner]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check(r.rc is not None, "gdb finished (nothing hung)", r)
    ctx.check(re.search(r'Could not write register "rax"', out[0] or "") is not None,
              "set $rax=1: gdb says the register could not be written", out[0])
    ctx.check(re.search(r"= 0x%x\b" % rax, out[1] or "") is not None,
              "$rax keeps the dump's value 0x%x" % rax, out[1])
    for j in (2, 4):
        ctx.check("Cannot access memory at address 0x%x" % banner in (out[j] or ""),
                  "%s: gdb shows an error" % cmds[j], out[j])
        ctx.check(banner_ok(fx, out[j + 1]),
                  "after %s the banner is unchanged and readable" % cmds[j], out[j + 1])
    ctx.check("Cannot access memory at address 0x1000" in (out[7] or ""),
              "a physical write is refused too", out[7])
    ctx.check(banner_ok(fx, out[9]), "the session goes on", out[9])
    # gdb cannot show why; xenstub says it on its stderr (gdb's, here)
    ctx.check(re.search(r"register write .*refused: .*cannot be written", r.out) is not None,
              "xenstub says why the register write was refused", r.out)
    ctx.check(re.search(r"memory write .* at 0x%x refused: .*cannot be written" % banner,
                        r.out) is not None,
              "xenstub says why the memory write was refused", r.out)
    no_desync(ctx, r, "writes")


def test_breakpoints_refused(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    rip = int(fx.truth["registers"][0]["rip"], 16)
    other = rip + 0x15
    cmds = ["break *0x%x" % other, "continue", "x/s 0x%x" % banner,
            "delete",
            "hbreak *0x%x" % other, "continue", "delete",
            "watch *(long *)0x%x" % banner, "continue", "delete",
            "break *0x%x" % rip, "continue", "delete",
            "x/s 0x%x" % banner, "info threads"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check(r.rc is not None, "gdb finished (nothing hung)", r)
    ctx.check(re.search(r"Cannot insert breakpoint 1\.", out[1] or "") is not None and
              "Command aborted" in (out[1] or ""),
              "break + continue: gdb reports the breakpoint could not be inserted", out[1])
    # xenstub's stderr reaches gdb's through the pipe, maybe a bit later
    ctx.check(re.search(r"breakpoint at 0x%x refused: .*cannot run" % other, r.out) is not None,
              "break + continue: xenstub says why (on its stderr)", r.out)
    ctx.check(banner_ok(fx, out[2]), "x/s works after the refused breakpoint", out[2])
    ctx.check(re.search(r"Cannot insert hardware breakpoint 2\.", out[5] or "") is not None,
              "hbreak + continue: refused", out[5])
    ctx.check(re.search(r"Could not insert hardware watchpoint 3\.", out[8] or "") is not None,
              "watch + continue: refused", out[8])
    text = out[11] or ""
    ctx.check("cannot run" in text and "Remote failure reply" in text,
              "break at the pc + continue: the step over it is refused", text)
    ctx.check(banner_ok(fx, out[13]), "the session goes on", out[13])
    rows = re.findall(r'^\*?\s+\d+\s+Thread \d+ "vCPU \d+"', out[14] or "", re.M)
    ctx.check(len(rows) == fx.truth["num_cpus"], "the threads are still there", out[14])
    no_desync(ctx, r, "breakpoints")
