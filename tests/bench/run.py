#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs xenstub's benchmarks: every function bench_*(ctx) of every
tests/bench/bench_*.py module, in file order. Each prints its figures,
preferably beside a peer measured in the same run (QEMU's gdbstub, ...).
A benchmark never fails the build: one that cannot run says why (SKIP), one
that breaks prints ERROR and the others still run; the exit status is 0
unless --strict is given.

Usage:
  run.py [--build build] [--only TEXT] [--repeat N] [--callgrind] [--json FILE]

Writing a benchmark: tests/bench/bench_NAME.py with functions
bench_WHAT(ctx). The context (BenchContext below) extends the end-to-end
harness (tests/e2e/harness.py: ctx.fixture(), ctx.spawn(), ctx.wait_for(),
ctx.tmpfile(), processes killed by pid at the end) with:
  ctx.environment(name, value)   a line of the environment block (versions)
  ctx.figure(name, value, unit, detail=None)
                                 one measured figure, printed and kept for --json
  ctx.best_of(fn, what)          calls fn() ctx.repeat times; fn returns
                                 seconds; prints every run, returns the best
  ctx.tool_version(argv)         the first line a command prints (for versions)
  ctx.repeat, ctx.callgrind      the options above
  ctx.skip(why)                  the benchmark cannot run here
A module can run alone with:
  if __name__ == "__main__":
      sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
      import run
      sys.exit(run.main(modules=[__file__]))
"""

import argparse
import glob
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402


def first_line(argv):
    """The first line a command prints (a version), or why it could not run."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unavailable (%s)" % e
    lines = (r.stdout or r.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown (exit %d)" % r.returncode


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class BenchContext(harness.Context):
    """The e2e harness context plus figures, environment lines and timing."""

    def __init__(self, build, verbose=False, repeat=3, callgrind=False):
        super().__init__(build, verbose)
        self.repeat = max(1, repeat)
        self.callgrind = callgrind
        self.figures = []
        self.env = {}
        self._env_printed = set()

    def environment(self, name, value):
        """Records a line of the environment (printed once per name)."""
        self.env[name] = value
        if name not in self._env_printed:
            self._env_printed.add(name)
            print("  env %-22s %s" % (name + ":", value), flush=True)

    def figure(self, name, value, unit, detail=None):
        """Records and prints one measured figure."""
        self.figures.append({"benchmark": self.current, "name": name, "value": value,
                             "unit": unit, "detail": detail})
        if isinstance(value, float):
            text = "%.3f" % value if abs(value) < 1000 else "%.0f" % value
        else:
            text = str(value)
        print("  %-46s %s%s%s" % (name + ":", text, (" " + unit) if unit else "",
                                  ("  (" + detail + ")") if detail else ""), flush=True)

    def tool_version(self, argv):
        """The first line of a tool's version output."""
        return first_line(argv)

    def best_of(self, fn, what):
        """Runs fn() self.repeat times (fn returns seconds); returns the
        best time and the list of all times."""
        times = []
        for i in range(self.repeat):
            t = fn()
            times.append(t)
            print("  run %d/%d %-38s %.3f s" % (i + 1, self.repeat, what, t), flush=True)
        return min(times), times


def discover(modules):
    paths = modules or sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for fn in sorted(n for n in dir(mod) if n.startswith("bench_") and callable(getattr(mod, n))):
            yield "%s:%s" % (name, fn), getattr(mod, fn)


def main(argv=None, modules=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="the build folder (default: %(default)s)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only benchmarks whose module:function contains this text")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per measurement; the best is kept (default: %(default)s)")
    ap.add_argument("--callgrind", action="store_true",
                    help="also count xenstub's instructions with valgrind --tool=callgrind "
                         "where a benchmark supports it (slow)")
    ap.add_argument("--json", help="also write the figures and the environment to this file")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a benchmark broke (ERROR)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    ctx = BenchContext(args.build, args.verbose, args.repeat, args.callgrind)
    print("xenstub benchmarks (%s; best of %d)" % (time.strftime("%Y-%m-%d %H:%M:%S"), ctx.repeat))
    ctx.environment("host CPU", "%s, %d CPUs online" % (cpu_model(), os.cpu_count() or 0))
    ctx.environment("host kernel", platform.release())
    if not os.access(ctx.xenstub, os.X_OK):
        print("SKIP all: %s is not built (run make first)" % ctx.xenstub)
        ctx.cleanup()
        return 1 if args.strict else 0
    ctx.environment("xenstub", "%s (%s)" % (first_line([ctx.xenstub, "--version"]), ctx.xenstub))
    ran = skipped = errors = 0
    try:
        for full, fn in discover(modules):
            if args.only and not any(o in full for o in args.only):
                continue
            ctx.current = full
            print("== %s" % full, flush=True)
            t0 = time.monotonic()
            try:
                fn(ctx)
                ran += 1
                print("-- %s: done in %.1f s" % (full, time.monotonic() - t0), flush=True)
            except harness.Skip as e:
                skipped += 1
                print("SKIP %s: %s" % (full, e), flush=True)
            except Exception:
                errors += 1
                print("ERROR %s:" % full, flush=True)
                for line in traceback.format_exc().splitlines():
                    print("    " + line)
    finally:
        ctx.cleanup()
    print("%d benchmarks ran, %d skipped, %d broke" % (ran, skipped, errors))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": ctx.env, "figures": ctx.figures,
                       "repeat": ctx.repeat, "date": time.strftime("%Y-%m-%dT%H:%M:%S")}, f, indent=1)
            f.write("\n")
        print("figures written to %s" % args.json)
    return 1 if (args.strict and errors) else 0


if __name__ == "__main__":
    sys.exit(main())
