# SPDX-License-Identifier: LGPL-2.1-or-later
"""Monitor commands on a dump: 'monitor help' lists every command and each
exists; unknown commands and bad arguments say so as gdb errors; OS
commands without an OS module say that no OS is recognised."""

import re

OS_NONE = ["--os=none"]
# The commands the engine offers on every target.
EXPECTED = ("help", "info", "version", "phys", "cr3", "v2p", "os", "ps", "sym", "stats")


def listed_commands(text):
    """Command names from 'monitor help': indented first words."""
    return re.findall(r"^  (\w[\w-]*)", text or "", re.M)


def test_help_lists_every_command(ctx):
    fx = ctx.fixture()
    r, out = ctx.gdb_each(["monitor help"], target="core:" + fx.memory, xenstub_args=OS_NONE)
    names = listed_commands(out[0])
    for name in EXPECTED:
        ctx.check(name in names, "monitor help lists '%s'" % name, out[0])
    ctx.check(len(names) == len(set(names)), "no command is listed twice", names)
    # every listed command exists: running it never says "unknown"
    if not names:
        return
    r, out = ctx.gdb_each(["monitor %s" % n for n in names] + ["monitor help", "monitor"],
                          target="core:" + fx.memory, xenstub_args=OS_NONE)
    for n, text in zip(names, out):
        ctx.check(text is not None and "unknown monitor command" not in text,
                  "'monitor %s' is a known command" % n, text)
    ctx.check(listed_commands(out[-2]) == names,
              "the session goes on after every command", out[-2])
    ctx.check(listed_commands(out[-1]) == names and "error" not in (out[-1] or "").lower(),
              "a bare 'monitor' lists the commands too", out[-1])


def test_unknown_and_bad_arguments(ctx):
    fx = ctx.fixture()
    cmds = ["monitor frobnicate now", "monitor cr3 not-a-number", "monitor v2p",
            "monitor phys sideways", "monitor info nothing",
            "x/s 0x%x" % fx.symbol("linux_banner")]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check("unknown monitor command 'frobnicate" in (out[0] or "") and
              "monitor help" in (out[0] or ""),
              "an unknown command is named and 'monitor help' suggested", out[0])
    ctx.check("error" in (out[0] or "").lower(),
              "gdb shows an unknown command as an error", out[0])
    ctx.check("not a number" in (out[1] or "") and "usage: cr3" in (out[1] or ""),
              "monitor cr3 with a bad value says so and shows the usage", out[1])
    ctx.check("usage: v2p" in (out[2] or ""), "monitor v2p without an address shows the usage", out[2])
    ctx.check("usage: phys" in (out[3] or ""), "monitor phys with a bad word shows the usage", out[3])
    ctx.check("usage: info" in (out[4] or ""), "monitor info with a bad word shows the usage", out[4])
    for j in range(1, 5):
        ctx.check("error" in (out[j] or "").lower(),
                  "gdb shows '%s' as an error" % cmds[j], out[j])
    ctx.check(fx.truth["proc_version"].strip()[:60] in (out[5] or ""),
              "the session goes on", out[5])


def test_os_commands_without_os(ctx):
    fx = ctx.fixture()
    cmds = ["monitor os", "monitor ps", "monitor sym linux_banner", "monitor offsets",
            "monitor lm"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    for j, c in enumerate(cmds):
        ctx.check("no guest OS" in (out[j] or ""),
                  "'%s' with --os=none says no guest OS is recognised" % c, out[j])
        ctx.check("error" not in (out[j] or "").lower(),
                  "'%s' with no OS is an answer, not a protocol error" % c, out[j])
    ctx.check("offsets: a command of the linux module" in (out[3] or "") and
              "lm: a command of the windows module" in (out[4] or ""),
              "an OS module's command says which module it belongs to", out[3:])


def test_version_and_stats(ctx):
    fx = ctx.fixture()
    v = ctx.run_xenstub(["--version"])
    version = v.out.strip()
    cmds = ["monitor version", "monitor info version",
            "x/s 0x%x" % fx.symbol("linux_banner"), "monitor stats"]
    r, out = ctx.gdb_each(cmds, target="core:" + fx.memory, xenstub_args=OS_NONE)
    ctx.check(version.startswith("xenstub ") and version in (out[0] or ""),
              "monitor version prints the version of --version", out[0])
    ctx.check(fx.memory in (out[0] or "") and "%d vCPU" % fx.truth["num_cpus"] in (out[0] or ""),
              "monitor version describes the target (file, vCPUs)", out[0])
    ctx.check(version in (out[1] or ""), "monitor info version prints the version", out[1])
    m = re.search(r"(\d+) hits, (\d+) misses", out[3] or "")
    ctx.check(m is not None and int(m.group(1)) + int(m.group(2)) > 0,
              "monitor stats counts frame cache lookups", out[3])
