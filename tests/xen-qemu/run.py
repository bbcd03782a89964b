#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boots Xen 4.17 under QEMU software emulation with the files prepare.sh
made, shows the test lines dom0 prints on the serial console as they come,
and turns the closing "N passed, N failed" line into the exit status.

Usage: run.py --out DIR [--timeout SECONDS] [--qemu PROGRAM] [--only NAMES] [-v]
The whole QEMU run is bounded (default 900 s, XEN_QEMU_TIMEOUT overrides);
a hang or a VM that ends without the summary fails with the console's last
lines. The full console is kept in DIR/console.log.
"""

import argparse
import os
import re
import select
import subprocess
import sys
import time

XEN_ARGS = ("console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M "
            "dom0_max_vcpus=2 loglvl=all guest_loglvl=all")
DOM0_ARGS = "console=hvc0 earlyprintk=xen"
SHOW = re.compile(r"^(PASS|FAIL|SKIP|xen-test:|    \||\d+ passed, \d+ failed)")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the folder prepare.sh filled")
    ap.add_argument("--timeout", type=int,
                    default=int(os.environ.get("XEN_QEMU_TIMEOUT", "900")))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the whole console, not only the test lines")
    ap.add_argument("--only", default="",
                    help="run only these checks or guests, comma-separated "
                         "(pvh, pv, attach, modify, interrupt, step, debugregs, refusals)")
    args = ap.parse_args()

    out = os.path.abspath(args.out)
    files = {n: os.path.join(out, n) for n in ("xen", "vmlinuz", "dom0-initrd.gz")}
    for path in files.values():
        if not os.path.isfile(path):
            print("xen-test: %s is missing: run prepare.sh (make xen-test does)" % path)
            return 1
        if "," in path or " " in path:
            print("xen-test: %s: QEMU's multiboot module list cannot hold a path "
                  "with a comma or a space" % path)
            return 1
    dom0_args = DOM0_ARGS
    if args.only:
        if not re.fullmatch(r"[a-z0-9,]+", args.only):
            print("xen-test: --only takes comma-separated names, not %r" % args.only)
            return 2
        dom0_args += " xentest.only=" + args.only
    cmd = [args.qemu, "-accel", "tcg", "-cpu", "qemu64,+svm,+npt", "-smp", "2",
           "-m", "2G", "-nographic", "-no-reboot", "-monitor", "none",
           "-serial", "stdio", "-kernel", files["xen"], "-append", XEN_ARGS,
           "-initrd", "%s %s,%s" % (files["vmlinuz"], dom0_args, files["dom0-initrd.gz"])]
    log_path = os.path.join(out, "console.log")
    print("xen-test: booting Xen under QEMU (at most %d s); console in %s" %
          (args.timeout, log_path), flush=True)
    t0 = time.monotonic()
    summary = None
    timed_out = False
    tail = []
    with open(log_path, "wb") as log:
        try:
            qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        except OSError as e:
            print("xen-test: FAIL: cannot run %s: %s (Debian package qemu-system-x86)"
                  % (args.qemu, e.strerror))
            return 1
        buf = b""
        try:
            while True:
                left = t0 + args.timeout - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                r, _, _ = select.select([qemu.stdout], [], [], min(left, 5))
                if not r:
                    continue
                data = os.read(qemu.stdout.fileno(), 65536)
                if not data:
                    break
                log.write(data)
                log.flush()
                buf += data
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace").rstrip("\r")
                    tail = (tail + [line])[-60:]
                    if args.verbose or SHOW.match(line):
                        print(line, flush=True)
                    m = SUMMARY.match(line)
                    if m:
                        summary = (int(m.group(1)), int(m.group(2)))
        finally:
            if qemu.poll() is None:
                qemu.kill()  # our own QEMU, by its pid
            qemu.wait()
    took = time.monotonic() - t0
    if timed_out or summary is None:
        print("xen-test: FAIL: %s after %.0f s; the console's last lines:" %
              ("the run did not end in time" if timed_out else
               "the VM ended without the tests' summary", took))
        for line in tail[-40:]:
            print("    | " + line)
        return 1
    print("xen-test: QEMU run took %.0f s: %d passed, %d failed" %
          (took, summary[0], summary[1]), flush=True)
    return 0 if summary[1] == 0 and summary[0] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
