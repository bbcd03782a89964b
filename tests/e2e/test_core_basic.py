# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test: gdb reads a QEMU dump through xenstub."""


def test_banner(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    r = ctx.gdb(["x/s 0x%x" % banner], target="core:" + fx.memory)
    ctx.check(fx.truth["proc_version"].strip()[:60] in r.out,
              "x/s linux_banner prints /proc/version", r)
