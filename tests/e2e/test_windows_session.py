# SPDX-License-Identifier: LGPL-2.1-or-later
"""Whole Windows sessions over a unix socket with --once: every command a
user would type, then xenstub must exit 0 with nothing in its log from the
sanitizers (leaks, memory errors) when built with SAN=1, on good, corrupt
and table-less guests."""

import re

from test_windows_common import image, profile_dir_args, tables

COMMANDS = ["info threads", "monitor os", "monitor ps", "monitor lm", "monitor threads",
            "monitor sym PsActiveProcessHead", "monitor ln 0x0", "info os processes",
            "thread 4", "info registers rip rsp", "x/4gx $sp", "thread 1", "x/2i $pc",
            "monitor help", "detach"]
SANITIZER = re.compile(r"Sanitizer|runtime error|Segmentation|Aborted", re.I)


def _session(ctx, core, args, what):
    p, sock = ctx.start_xenstub("core:" + core, args=["--once"] + args)
    r, out = ctx.gdb_each(COMMANDS, remote=sock, timeout=120)
    ctx.check(all(o is not None for o in out), "%s: gdb ran every command" % what, r)
    ctx.wait_for(lambda: p.poll() is not None, "xenstub to exit after gdb detached")
    with open(p.log_path) as f:
        log = f.read()
    ctx.check(p.returncode == 0 and not SANITIZER.search(log),
              "%s: xenstub exits 0 with a clean log" % what,
              "exit %s\n%s" % (p.returncode, log))
    return out


def test_sessions_exit_cleanly(ctx):
    for name, table in tables(ctx):
        out = _session(ctx, image(ctx, table)[0], profile_dir_args(), name)
        ctx.check("PsActiveProcessHead" in (out[5] or ""),
                  "%s: the session served the Windows commands" % name, out[5])
        _session(ctx, image(ctx, table, "--corrupt", "process-loop")[0],
                 profile_dir_args(), name + " process-loop")
        _session(ctx, image(ctx, table, "--corrupt", "thread-loop")[0],
                 profile_dir_args(), name + " thread-loop")
        _session(ctx, image(ctx, table, "--guid", "0" * 32)[0], profile_dir_args(),
                 name + " without a table")
        _session(ctx, image(ctx, table)[0], ["--profile", table], name + " --profile")
