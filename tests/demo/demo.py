#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make demo: xenstub on a simulated Xen guest, on a machine without Xen.

Starts xensim (the simulated Xen 4.17 of the tests) with a domain made
from the Linux fixture (../shared/fixtures, or the one `make fixtures`
builds), gives its two vCPUs a small workload, starts xenstub on it, runs a
short gdb session (threads, registers, memory, a breakpoint hit, a step),
then tells how to attach your own gdb and waits until Enter or Ctrl-C
(when run without a terminal it stops at once). Everything it starts is
stopped, by pid, on the way out.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))
import xensim  # noqa: E402

CODE = 0xffffffffa3459180      # kernel text of the fixture guest
SCRATCH = 0xffff8d71c7000000   # a writable page of its direct map


def fixture_dir():
    for base in (os.environ.get("XENSTUB_FIXTURES"),
                 os.path.join(REPO, "..", "shared", "fixtures"),
                 os.path.join(REPO, ".cache", "fixtures")):
        if base and os.path.exists(os.path.join(base, "linux-x86_64", "memory.elf.zst")):
            return os.path.join(base, "linux-x86_64")
    return None


def say(text):
    print("\n\033[1m== %s\033[0m" % text if sys.stdout.isatty() else "\n== %s" % text,
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--port", type=int, default=1234)
    args = ap.parse_args()
    build = os.path.abspath(args.build)

    fx = fixture_dir()
    if not fx:
        say("No Linux guest fixture yet: building one with 'make fixtures' (about two minutes)")
        subprocess.run(["make", "-C", REPO, "fixtures", "O=" + build], check=True)
        fx = fixture_dir()
        if not fx:
            sys.exit("demo: no fixture could be built")
    work = tempfile.mkdtemp(prefix="xenstub-demo-")
    procs = []
    sim = None
    try:
        memory = os.path.join(work, "memory.elf")
        subprocess.run(["zstd", "-q", "-d", "--long=27",
                        os.path.join(fx, "memory.elf.zst"), "-o", memory], check=True)
        say("Starting xensim, a simulated Xen 4.17, with domain 'demo' made from the "
            "Linux guest dump in " + os.path.relpath(fx))
        sim = xensim.Sim(build)
        dom = sim.create("demo", "--from-dump", memory)
        for vcpu in (0, 1):
            sim.workload(dom, vcpu, [
                {"rip": hex(CODE), "len": 3, "access": "none"},
                {"rip": hex(CODE + 3), "len": 4, "access": "write",
                 "va": hex(SCRATCH + 64 * vcpu), "size": 8, "value": hex(vcpu + 1)},
                {"rip": hex(CODE + 7), "len": 4, "access": "read",
                 "va": hex(SCRATCH + 8), "size": 8},
                {"op": "loop"},
            ])
        sim.ctl("start", dom)

        say("Starting xenstub :%d xen:demo  (the libraries of xensim stand in for Xen's)"
            % args.port)
        log = open(os.path.join(work, "xenstub.log"), "w")
        stub = subprocess.Popen([os.path.join(build, "xenstub"), ":%d" % args.port, "xen:demo"],
                                env=sim.env(), stdout=log, stderr=subprocess.STDOUT)
        procs.append(stub)
        deadline = time.monotonic() + 30
        while "Listening on port" not in open(log.name).read():
            if stub.poll() is not None or time.monotonic() > deadline:
                sys.exit("demo: xenstub did not start:\n" + open(log.name).read())
            time.sleep(0.05)

        say("A short gdb session")
        cmds = ["info threads 1-6",
                "info registers rip rsp cr3 efer",
                "x/s linux_banner_addr".replace("linux_banner_addr", "0xffffffffa3b61900"),
                "monitor ps",
                "break *0x%x" % (CODE + 3),
                "continue",
                "info registers rip",
                "delete",
                "stepi",
                "info registers rip",
                "monitor stats",
                "detach"]
        argv = ["gdb", "-q", "-n", "-batch", "-ex", "set pagination off",
                "-ex", "target remote :%d" % args.port]
        for c in cmds:
            argv += ["-ex", "echo \\n(gdb) %s\\n" % c, "-ex", c]
        subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=300)

        say("xenstub still serves the guest. Attach your own gdb with:\n"
            "    gdb -ex 'target remote :%d'\n"
            "(On a Xen host it is one line: 'xenstub :%d xen:YOUR-DOMAIN' in dom0.)"
            % (args.port, args.port))
        if sys.stdin.isatty():
            try:
                input("Press Enter to stop the demo. ")
            except (KeyboardInterrupt, EOFError):
                pass
        return 0
    finally:
        if sim:
            sim.stop()
        for p in reversed(procs):
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                    p.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.kill(p.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
