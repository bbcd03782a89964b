#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs every end-to-end test (tests/e2e/test_*.py) and prints PASS/FAIL
lines and a summary; the exit status is 1 when anything failed."""

import argparse
import glob
import importlib.util
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build", help="the build folder")
    ap.add_argument("--only", action="append", default=[],
                    help="run only tests whose module:function contains this text")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    ctx = harness.Context(args.build, args.verbose)
    if not os.access(ctx.xenstub, os.X_OK):
        print("FAIL setup: %s is not built" % ctx.xenstub)
        return 1
    errors = 0
    try:
        for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
            modname = os.path.splitext(os.path.basename(path))[0]
            spec = importlib.util.spec_from_file_location(modname, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            for name in sorted(n for n in dir(mod) if n.startswith("test_")):
                full = "%s:%s" % (modname, name)
                if args.only and not any(o in full for o in args.only):
                    continue
                ctx.current = full
                try:
                    getattr(mod, name)(ctx)
                except harness.Skip as e:
                    ctx.skipped += 1
                    print("SKIP %s: %s" % (full, e), flush=True)
                except Exception:
                    errors += 1
                    ctx.failed += 1
                    print("FAIL %s: exception" % full, flush=True)
                    for line in traceback.format_exc().splitlines():
                        print("    " + line)
    finally:
        ctx.cleanup()
    print("%d passed, %d failed, %d skipped" % (ctx.passed, ctx.failed, ctx.skipped))
    return 1 if ctx.failed else 0


if __name__ == "__main__":
    sys.exit(main())
