#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""xen-test-intel: boots Xen 4.17 under Bochs (an emulated Intel CPU with
VMX, EPT and MTF) from the ISO prepare.sh made, creates a 2-vCPU Linux PVH
guest, and runs the checks of checks.py: gdb on this host, xenstub in dom0,
over emulated serial ports. Prints PASS, FAIL and SKIP lines, then
"N passed, N failed, N skipped"; exit status 0 only when nothing failed.

A failure of the emulator itself (Bochs dies or freezes, Xen or dom0
panics) is said as such and the whole run is retried once on a fresh boot;
it never counts as a pass.

Usage: run.py --out DIR --build DIR --cache DIR [--only NAMES] [--boot-timeout SECONDS]
              [--bochs-dir DIR --cpus N]
"""

import argparse
import os
import re
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from machine import EmulatorFailure, Machine  # noqa: E402

GUEST = "xi-linux"


def load_syms(path):
    syms = {}
    try:
        with open(path) as f:
            for line in f:
                name, addr = line.split()
                syms[name] = int(addr, 16)
    except (OSError, ValueError):
        return {}
    return syms


def one_run(args, attempt, t0):
    """One boot and every check. Returns (Results, None) or raises
    EmulatorFailure."""
    res = checks.Results(t0)
    m = Machine(args.out, args.bochs, args.iso, cpus=args.cpus)
    suite = None
    try:
        print("xen-test-intel: booting Xen under Bochs (attempt %d); Xen's console in %s"
              % (attempt, m.console_path), flush=True)
        took = m.start(args.boot_timeout)
        res.note("dom0 serves commands after %.0f s (Bochs CPU %.0f s)" % (took, m.cpu_seconds()))
        suite = checks.Suite(m, res, args.build, args.cache, args.only)
        ksyms_path = os.path.join(args.cache, "kallsyms-%s" % args.kernel)
        cached = load_syms(ksyms_path)
        full = not all(n in cached for n in checks.NEEDED_SYMS)
        g = suite.guest = checks.Guest(m, GUEST, 2, 256, full_syms=full)
        if "setup" in [n for n, _ in checks.ORDER] and suite.wanted("setup"):
            checks.check_setup(suite)
        if not suite.create_guest():
            return res, suite
        if full:
            missing = [n for n in checks.NEEDED_SYMS if n not in g.syms]
            if not res.check(not missing, "the guest printed the kernel symbols the checks need",
                             "missing: %s" % missing):
                return res, suite
            with open(ksyms_path + ".tmp", "w") as f:
                for n in sorted(g.syms):
                    f.write("%s %x\n" % (n, g.syms[n]))
            os.replace(ksyms_path + ".tmp", ksyms_path)
        else:
            # the symbols of an earlier boot of the same kernel, if its base is the same
            if not res.check(g.syms.get("_text") == cached["_text"],
                             "the guest's kernel is where the cached symbols say (_text %#x)"
                             % cached["_text"], "guest: %s" % g.syms.get("_text")):
                return res, suite
            g.syms = cached
        kt = re.search(r"^XI-KALLSYMS ([0-9.]+) ([0-9.]+)$", g.console(), re.M)
        res.note("guest: %s; %s; %s vCPUs; kallsyms %s" %
                 (g.line("XI-VERSION")[:40], g.line("XI-KPTI"), g.line("XI-CPUS"),
                  "read in %.1f s of guest time" % (float(kt.group(2)) - float(kt.group(1)))
                  if kt else "?"))
        for name, fn in checks.ORDER + [c for c in checks.ON_REQUEST if c[0] in suite.only]:
            if name == "setup" or not suite.wanted(name):
                continue
            if not suite.ensure_guest(name):
                break
            t, c = time.monotonic(), m.cpu_seconds()
            res.note("check %s" % name)
            try:
                fn(suite)
            except EmulatorFailure:
                raise
            except Exception:  # a defect of the check itself: said, counted
                res.check(False, "check %s ran to its end" % name, traceback.format_exc())
            res.note("check %s took %.0f s (Bochs CPU %.0f s)"
                     % (name, time.monotonic() - t, m.cpu_seconds() - c))
        # the end: nothing left behind, nothing went wrong in the guest or Xen
        rc, out = m.sh("pidof xenstub nc min-listener")
        res.check(not out.strip(), "no xenstub, nc or min-listener is left running in dom0",
                  "pids %s" % out)
        text = g.console()
        mm = checks.GUEST_TROUBLE.search(text)
        res.check(not mm, "%s: its console shows no panic, BUG, Oops or WARNING" % g.name,
                  text[max(0, mm.start() - 500):mm.start() + 2500] if mm else "")
        trouble = suite.xen_console_trouble(0)
        res.check(not trouble, "Xen's console shows no guest crash (vmentry failure, "
                  "domain_crash, triple fault)", trouble or "")
        res.note("%d gdb sessions; Bochs CPU %.0f s in all" % (suite.sessions, m.cpu_seconds()))
        return res, suite
    finally:
        if suite:
            suite.ctl.close()
            if suite.guest and suite.guest.text:
                with open(os.path.join(args.out, "guest-%s.log" % GUEST), "w") as f:
                    f.write(suite.guest.text)
        m.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the folder prepare.sh filled")
    ap.add_argument("--build", required=True, help="make's O")
    ap.add_argument("--cache", required=True, help="the suite's cache (Bochs, kernel symbols)")
    ap.add_argument("--only", default="", help="run only these checks, comma-separated")
    ap.add_argument("--boot-timeout", type=int, default=600)
    ap.add_argument("--bochs-dir", help="another Bochs build (its binary and BIOS files), "
                    "e.g. an --enable-smp one")
    ap.add_argument("--cpus", type=int, default=1, help="emulated CPUs (an SMP Bochs for more than 1)")
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    args.cache = os.path.abspath(args.cache)
    args.bochs = os.path.abspath(args.bochs_dir) if args.bochs_dir else \
        os.path.join(args.cache, "bochs")
    args.iso = os.path.join(args.out, "xen-intel.iso")
    if args.only and not re.fullmatch(r"[a-z0-9,-]+", args.only):
        print("xen-test-intel: --only takes comma-separated names, not %r" % args.only)
        return 2
    for p in (args.iso, os.path.join(args.bochs, "bochs")):
        if not os.path.exists(p):
            print("xen-test-intel: %s is missing: run prepare.sh (make xen-test-intel does)" % p)
            return 1
    try:
        with open(os.path.join(args.out, "versions")) as f:
            args.kernel = re.search(r"^linux-image-(\S+)$", f.read(), re.M).group(1)
    except (OSError, AttributeError):
        args.kernel = "unknown"
    # SIGTERM (a bounded make, CI) ends the run through the cleanups: Bochs
    # and gdb are killed by their pids
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    t0 = time.monotonic()
    for attempt in (1, 2):
        try:
            res, _ = one_run(args, attempt, t0)
            break
        except EmulatorFailure as e:
            print("xen-test-intel: EMULATOR FAILURE (attempt %d, after %.0f s): %s"
                  % (attempt, time.monotonic() - t0, str(e)[:200]), flush=True)
            print(checks.indent(str(e), 80), flush=True)
            if attempt == 2:
                print("xen-test-intel: the emulator failed twice: no result")
                print("0 passed, 1 failed, 0 skipped")
                return 1
            print("xen-test-intel: this run's results are void; booting again", flush=True)
    print("xen-test-intel: run took %.0f s" % (time.monotonic() - t0))
    print("%d passed, %d failed, %d skipped" % (res.passed, res.failed, res.skipped), flush=True)
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
