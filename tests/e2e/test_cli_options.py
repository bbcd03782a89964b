# SPDX-License-Identifier: LGPL-2.1-or-later
"""xenstub's command line: --help and --version, and command line errors,
each reported in one line on stderr with exit status 2."""

import os
import re


def test_help(ctx):
    r = ctx.run_xenstub(["--help"])
    ctx.check(r.rc == 0, "--help exits 0", r)
    ctx.check(r.err == "", "--help writes nothing on stderr", r.err)
    for text in ("COMM", "TARGET", "HOST:PORT", ":PORT", "unix:PATH", "core:PATH",
                 "target remote | xenstub - ", "--once", "--os=", "Exit status"):
        ctx.check(text in r.out, "--help mentions %s" % text, r.out)
    ctx.check(re.search(r"^\s+-\s+.*stdin", r.out, re.M) is not None,
              "--help explains COMM '-' (stdio)", r.out)
    h = ctx.run_xenstub(["-h"])
    ctx.check(h.rc == 0 and h.out == r.out, "-h is --help", h)


def test_version(ctx):
    r = ctx.run_xenstub(["--version"])
    ctx.check(r.rc == 0, "--version exits 0", r)
    ctx.check(re.fullmatch(r"xenstub \d+\.\d+(\.\d+)?\S*\n", r.out) is not None,
              "--version prints one line 'xenstub VERSION'", r.out)
    ctx.check(r.err == "", "--version writes nothing on stderr", r.err)


def usage_error(ctx, args, what, words):
    r = ctx.run_xenstub(args)
    lines = r.err.splitlines()
    ctx.check(r.rc == 2, "%s: exit status 2" % what, r)
    ctx.check(len(lines) == 1 and lines[0].startswith("xenstub: "),
              "%s: exactly one line on stderr, starting 'xenstub: '" % what, r.err)
    ctx.check(all(w in r.err for w in words),
              "%s: the line says %s" % (what, " / ".join(words)), r.err)
    ctx.check(r.out == "", "%s: nothing on stdout" % what, r.out)


def test_usage_errors(ctx):
    fx = ctx.fixture()
    target = "core:" + fx.memory
    usage_error(ctx, [], "no arguments", ["COMM", "missing"])
    usage_error(ctx, ["-"], "no TARGET", ["TARGET", "missing"])
    usage_error(ctx, ["-", target, "extra"], "too many arguments", ["too many", "extra"])
    usage_error(ctx, ["--frobnicate", "-", target], "an unknown long option",
                ["--frobnicate", "unknown option"])
    usage_error(ctx, ["-q", "-", target], "an unknown short option", ["-q", "unknown option"])
    usage_error(ctx, ["-", target, "--os"], "an option without its value", ["--os", "value"])
    usage_error(ctx, ["--os=plan9", "-", target], "a bad --os value", ["plan9"])
    usage_error(ctx, ["--vcpu", "many", "-", target], "a bad --vcpu value", ["many"])
    usage_error(ctx, ["--cache-frames", "1", "-", target], "a bad --cache-frames value", ["1"])
    usage_error(ctx, ["--log=nothing", "-", target], "a bad --log category", ["nothing"])
    usage_error(ctx, ["tcp-please", target], "a COMM of no known form", ["tcp-please"])
    usage_error(ctx, ["unix:", target], "unix: without a path", ["unix:"])
    usage_error(ctx, [":12ab", target], "a port that is not a number", [":12ab"])


def test_vmlinux_named_to_gdb_too(ctx):
    """--vmlinux FILE --gdb loads FILE into gdb itself: FILE among gdb's
    arguments too (as its program, or an option's value, however spelt)
    is refused before anything starts."""
    d = ctx.tmpfile("vmlx")
    os.makedirs(d, exist_ok=True)
    image = os.path.join(d, "vmlinux")
    with open(image, "wb") as f:
        f.write(b"\x7fELF")
    mark = os.path.join(d, "gdb-ran")
    gdb = os.path.join(d, "fake-gdb")
    with open(gdb, "w") as f:
        f.write("#!/bin/sh\ntouch %s\n" % mark)
    os.chmod(gdb, 0o755)
    target = "core:" + os.path.join(d, "no-such-dump")
    for what, args in (("as gdb's program", [image]),
                       ("as --se=FILE, by another path", ["-q", "--se=" + d + "/./vmlinux"])):
        usage_error(ctx, ["--vmlinux", image, "--gdb=" + gdb, target, "--"] + args,
                    "--vmlinux FILE --gdb with FILE %s" % what,
                    ["--vmlinux", "--gdb", image, "gdb's arguments"])
    ctx.check(not os.path.exists(mark), "gdb is not started when its arguments are refused",
              os.listdir(d))
    # another file among gdb's arguments is gdb's business
    r = ctx.run_xenstub(["--vmlinux", image, "--gdb=" + gdb, target, "--", gdb])
    ctx.check(r.rc == 1 and "gdb's arguments" not in r.err and "no-such-dump" in r.err,
              "a file other than the vmlinux among gdb's arguments is not refused "
              "(the missing dump is what stops xenstub)", r)
