#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boots Xen 4.17 under QEMU software emulation with the files prepare.sh
made, shows the test lines dom0 prints on the serial console as they come,
and turns the closing "N passed, N failed" line into the exit status.

Usage: run.py --out DIR [--timeout SECONDS] [--qemu PROGRAM] [--only NAMES]
              [--repeat N] [--control] [-v]
The whole QEMU run is bounded (default 900 s, XEN_QEMU_TIMEOUT overrides);
a hang or a VM that ends without the summary fails with the console's last
lines. The full console is kept in DIR/console.log, and in
DIR/console-timed.log with the seconds since QEMU started before each line.
--control (or XEN_TEST_CONTROL=1) creates the same guests and spends the
same time on each check without xenstub: how often the emulator alone
kills a guest.
"""

import argparse
import os
import re
import select
import subprocess
import sys
import time

# console_timestamps: Xen's lines say when (seconds since Xen booted);
# conring_size: `xl dmesg` in dom0 keeps the whole run (the tests look
# there for a guest's triple fault)
XEN_ARGS = ("console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M "
            "dom0_max_vcpus=2 loglvl=all guest_loglvl=all "
            "console_timestamps=boot conring_size=1M")
DOM0_ARGS = "console=hvc0 earlyprintk=xen"
SHOW = re.compile(r"^(PASS|FAIL|SKIP|xen-test:|    \||\d+ passed, \d+ failed)")
# Xen's line when an HVM guest's vCPU triple-faults
TRIPLE = re.compile(r"\bd(\d+)v(\d+) Triple fault")
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
                         "(pvh, pv, attach, modify, interrupt, step, recover, debugregs, "
                         "refusals; regcontrol and regstress run only when named)")
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("XEN_TEST_REPEAT", "1")),
                    help="run the checks this many times on the same guests, to catch "
                         "what fails by chance (XEN_TEST_REPEAT)")
    ap.add_argument("--control", action="store_true",
                    default=os.environ.get("XEN_TEST_CONTROL", "") not in ("", "0"),
                    help="no xenstub: create the guests and leave them alone as long "
                         "as the checks would take (XEN_TEST_CONTROL=1)")
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
    if args.control:
        dom0_args += " xentest.control=1"
    if args.repeat < 1:
        print("xen-test: --repeat takes a count of 1 or more, not %d" % args.repeat)
        return 2
    if args.repeat > 1:
        dom0_args += " xentest.repeat=%d" % args.repeat
    # the checks end (and dom0 reports) before QEMU's own bound
    dom0_args += " xentest.timeout=%d" % max(60, args.timeout - 120)
    cmd = [args.qemu, "-accel", "tcg", "-cpu", "qemu64,+svm,+npt", "-smp", "2",
           "-m", "2G", "-nographic", "-no-reboot", "-monitor", "none",
           "-serial", "stdio", "-kernel", files["xen"], "-append", XEN_ARGS,
           # QEMU's module list is comma-separated: ",," is a comma in
           # dom0's command line (xentest.only=pv,step)
           "-initrd", "%s %s,%s" % (files["vmlinuz"], dom0_args.replace(",", ",,"),
                                    files["dom0-initrd.gz"])]
    log_path = os.path.join(out, "console.log")
    timed_path = os.path.join(out, "console-timed.log")
    print("xen-test: booting Xen under QEMU (at most %d s); console in %s" %
          (args.timeout, log_path), flush=True)
    t0 = time.monotonic()
    summary = None
    timed_out = False
    tail = []
    faults = []
    with open(log_path, "wb") as log, open(timed_path, "w") as timed:
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
                    timed.write("[%7.2f] %s\n" % (time.monotonic() - t0, line))
                    if TRIPLE.search(line):
                        faults.append("%.0f s: %s" % (time.monotonic() - t0, line.strip()))
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
        for f in faults:
            print("xen-test: Xen reported a triple fault at %s" % f)
        return 1
    for f in faults:
        print("xen-test: Xen reported a triple fault at %s" % f)
    print("xen-test: QEMU run took %.0f s: %d passed, %d failed%s" %
          (took, summary[0], summary[1],
           ", Xen reported %d triple fault%s of a guest" % (len(faults), "s" if len(faults) > 1 else "")
           if faults else ""), flush=True)
    return 0 if summary[1] == 0 and summary[0] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
