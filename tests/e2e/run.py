#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs every end-to-end test (tests/e2e/test_*.py) and prints PASS/FAIL
lines and a summary; the exit status is 1 when anything failed.

With --jobs N (default: the number of CPUs), the test modules run in N
worker processes, each with its own harness.Context (its own temporary
folder, fixtures and processes); what a module prints is shown whole when
it is done, so lines of different modules never mix. --jobs 1 runs every
module in this process, one after the other."""

import argparse
import glob
import importlib.util
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def run_module(ctx, path, only):
    """Runs the test functions of one module (those --only selects) with
    ctx, printing their PASS/FAIL/SKIP lines; the counts go to ctx."""
    modname = os.path.splitext(os.path.basename(path))[0]
    try:
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except Exception:
        ctx.failed += 1
        print("FAIL %s: exception while loading the module" % modname, flush=True)
        for line in traceback.format_exc().splitlines():
            print("    " + line)
        return
    for name in sorted(n for n in dir(mod) if n.startswith("test_")):
        full = "%s:%s" % (modname, name)
        if only and not any(o in full for o in only):
            continue
        ctx.current = full
        try:
            getattr(mod, name)(ctx)
        except harness.Skip as e:
            ctx.skipped += 1
            print("SKIP %s: %s" % (full, e), flush=True)
        except Exception:
            ctx.failed += 1
            print("FAIL %s: exception" % full, flush=True)
            for line in traceback.format_exc().splitlines():
                print("    " + line)
    sys.stdout.flush()


# Modules that take a minute or more (the "-- module: ... in N s" lines of
# a run), handed out first when they run in parallel, longest first: a
# long module started last would leave the other workers idle at the end.
SLOW_FIRST = ("test_live_exits", "test_live_watch_many", "test_hostile_process",
              "test_xensim_xenaccess", "test_live_watch_xenaccess", "test_xensim_walk",
              "test_live_watch", "test_live_targets", "test_linux_sources",
              "test_live_watch_frames", "test_live_run", "test_agent_conditions",
              "test_live_runctl", "test_live_watch_exits")


def schedule(paths):
    """paths in the order they are handed out: SLOW_FIRST's, then the rest
    in name order."""
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    first = [paths[names.index(n)] for n in SLOW_FIRST if n in names]
    return first + [p for p in paths if p not in first]


def timing_line(path, seconds, passed, failed, skipped):
    """The line after each module's output: what it counted and how long it
    took (what a run's time budget is spent on); nothing for a module
    --only left out."""
    if not passed + failed + skipped:
        return ""
    return "-- %s: %d passed, %d failed, %d skipped in %.1f s\n" % (
        os.path.splitext(os.path.basename(path))[0], passed, failed, skipped, seconds)


def run_serial(args, paths):
    ctx = harness.Context(args.build, args.verbose)
    try:
        for path in paths:
            before = (ctx.passed, ctx.failed, ctx.skipped)
            t0 = time.monotonic()
            run_module(ctx, path, args.only)
            sys.stdout.write(timing_line(path, time.monotonic() - t0, ctx.passed - before[0],
                                         ctx.failed - before[1], ctx.skipped - before[2]))
            sys.stdout.flush()
    finally:
        ctx.cleanup()
    return ctx.passed, ctx.failed, ctx.skipped


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def worker(conn, out_path, build, verbose, only):
    """A worker process: runs the modules it is sent (a path; None ends
    it) with one Context, and sends back for each (path, output, passed,
    failed, skipped). Everything written to its stdout and stderr, by the
    tests and by the processes they start, goes to out_path, which is read
    back and emptied after each module (and read by the parent if the
    worker dies)."""
    signal.signal(signal.SIGTERM, _terminated)
    ctx = harness.Context(build, verbose)
    try:
        out = open(out_path, "w+b")
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        while True:
            path = conn.recv()
            if path is None:
                break
            before = (ctx.passed, ctx.failed, ctx.skipped)
            t0 = time.monotonic()
            run_module(ctx, path, only)
            sys.stdout.flush()
            sys.stderr.flush()
            out.seek(0)
            text = out.read().decode(errors="replace")
            text += timing_line(path, time.monotonic() - t0, ctx.passed - before[0],
                                ctx.failed - before[1], ctx.skipped - before[2])
            out.seek(0)
            out.truncate()
            conn.send((path, text, ctx.passed - before[0], ctx.failed - before[1],
                       ctx.skipped - before[2]))
    finally:
        # the cleanup (killing what the tests started) is not cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        ctx.cleanup()


def run_parallel(args, paths):
    """Hands the modules out, in order, to args.jobs workers as each gets
    free, and prints each module's output when it is back. A worker that
    dies in a module fails that module, and another takes its place."""
    mp = multiprocessing.get_context("fork")
    todo = list(paths)
    totals = [0, 0, 0]
    workers = []         # [process, connection or None, module path or None, output file]
    outdir = tempfile.mkdtemp(prefix="xenstub-e2e-run-")

    def give(w):
        w[2] = todo.pop(0) if todo else None
        try:
            w[1].send(w[2])
        except OSError:
            pass         # it died: seen at its sentinel
        if w[2] is None:
            w[1].close()
            w[1] = None

    def start():
        parent, child = mp.Pipe()
        out_path = os.path.join(outdir, "worker-%d.out" % len(os.listdir(outdir)))
        open(out_path, "w").close()
        p = mp.Process(target=worker, args=(child, out_path, args.build, args.verbose,
                                            args.only))
        p.start()
        child.close()
        w = [p, parent, None, out_path]
        workers.append(w)
        give(w)

    sys.stdout.flush()
    # a SIGTERM ends the workers too, each after its cleanup
    signal.signal(signal.SIGTERM, _terminated)
    try:
        for _ in range(min(args.jobs, len(todo))):
            start()
        while workers:
            ready = multiprocessing.connection.wait(
                [w[1] for w in workers if w[1] is not None] + [w[0].sentinel for w in workers])
            for w in list(workers):
                p, conn = w[0], w[1]
                if conn is not None and (conn in ready or p.sentinel in ready) and conn.poll():
                    try:
                        _, text, passed, failed, skipped = conn.recv()
                    except (EOFError, OSError):
                        conn.close()
                        w[1] = None
                    else:
                        sys.stdout.write(text)
                        sys.stdout.flush()
                        totals[0] += passed
                        totals[1] += failed
                        totals[2] += skipped
                        give(w)
                if p.sentinel in ready:
                    p.join()
                    workers.remove(w)
                    if w[1] is not None:
                        w[1].close()
                    if w[2] is not None:
                        with open(w[3], errors="replace") as f:
                            sys.stdout.write(f.read())
                        totals[1] += 1
                        print("FAIL %s: the worker process running it ended "
                              "(exit status %s)"
                              % (os.path.splitext(os.path.basename(w[2]))[0], p.exitcode),
                              flush=True)
                        if todo:
                            start()
    finally:
        for w in workers:
            if w[0].is_alive():
                w[0].terminate()
            w[0].join()
        shutil.rmtree(outdir, ignore_errors=True)
    return tuple(totals)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build", help="the build folder")
    ap.add_argument("--only", action="append", default=[],
                    help="run only tests whose module:function contains this text")
    ap.add_argument("--jobs", "-j", type=int, default=len(os.sched_getaffinity(0)),
                    help="test modules run at once, each in its own process "
                    "(default: the number of CPUs; 1 runs them here, one by one)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")

    xenstub = os.path.join(os.path.abspath(args.build), "xenstub")
    if not os.access(xenstub, os.X_OK):
        print("FAIL setup: %s is not built" % xenstub)
        return 1
    paths = sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    if args.jobs == 1:
        passed, failed, skipped = run_serial(args, paths)
    else:
        passed, failed, skipped = run_parallel(args, schedule(paths))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
