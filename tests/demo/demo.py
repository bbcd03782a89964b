#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""make demo: xenstub on a simulated Xen guest, on a machine without Xen.

Starts xensim (the simulated Xen 4.17 of the tests) with a domain made
from the Linux fixture (../shared/fixtures, or the one `make fixtures`
builds), loads a small loop of real x86-64 code into the guest that both
vCPUs execute (xensim runs the instructions their bytes encode), starts
xenstub on it, runs a short gdb session (threads, registers, the code, a
watchpoint, a breakpoint, a step), then tells how to attach your own gdb
and waits until Enter or Ctrl-C (when run without a terminal it stops at
once). Everything it starts is stopped, by pid, on the way out.

tests/e2e/test_demo.py starts the same thing through start().
"""

import argparse
import os
import re
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

# Kernel text of the fixture guest (default_idle's, in an executable page)
# that the demo's loop replaces, and a writable page of its direct map.
CODE = 0xffffffffa3459180
SCRATCH = 0xffff8d71c7000000
BANNER = 0xffffffffa3b61900        # linux_banner

# The loop both vCPUs run; rbx points at the vCPU's counter (vCPU 0:
# SCRATCH, vCPU 1: SCRATCH + 64), so each pass reads its counter, adds
# one, writes it back, and reads the word after it.
LOOP = [
    # (offset, bytes, what)
    (0x00, "488b03", "mov rax, [rbx]       read the counter"),
    (0x03, "488d4001", "lea rax, [rax + 1]"),
    (0x07, "488903", "mov [rbx], rax       write it back"),
    (0x0a, "488b4b08", "mov rcx, [rbx + 8]   read the next word"),
    (0x0e, "f390", "pause"),
    (0x10, "ebee", "jmp CODE"),
]
LOAD = CODE + 0x00       # the instruction that reads the counter
STORE = CODE + 0x07      # ... that writes it
AFTER_STORE = CODE + 0x0a


def counter(vcpu):
    return SCRATCH + 64 * vcpu


def fixture_dir():
    for base in (os.environ.get("XENSTUB_FIXTURES"),
                 os.path.join(REPO, "..", "shared", "fixtures"),
                 os.path.join(REPO, ".cache", "fixtures")):
        if base and os.path.exists(os.path.join(base, "linux-x86_64", "memory.elf.zst")):
            return os.path.join(base, "linux-x86_64")
    return None


class Demo:
    """What start() started: sim (xensim.Sim), dom, stub (the xenstub
    process), port, log_path (xenstub's output)."""

    def __init__(self):
        self.sim = None
        self.dom = None
        self.stub = None
        self.port = None
        self.log_path = None

    def stop(self):
        """Stops xenstub (SIGTERM: it leaves the guest as found), then
        xensim, by pid."""
        p = self.stub
        if p is not None and p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
            except ProcessLookupError:
                pass
        if self.sim:
            self.sim.stop()
            self.sim = None


def start(build, memory, port=1234, work=None, spawn=None):
    """Starts xensim with domain 'demo' from the dump `memory`, loads the
    loop at CODE, points both vCPUs at it and starts them, then starts
    xenstub listening on the loopback port (0: a free one). spawn starts
    processes (subprocess.Popen by default). Returns a Demo; on an error
    everything started is stopped and the error raised."""
    spawn = spawn or subprocess.Popen
    work = work or tempfile.mkdtemp(prefix="xenstub-demo-")
    d = Demo()
    try:
        d.sim = xensim.Sim(build, spawn=spawn)
        d.dom = d.sim.create("demo", "--from-dump", memory)
        code = "".join(b for _, b, _ in LOOP)
        d.sim.ctl("write", d.dom, "--va", hex(CODE), "--vcpu", "0", code)
        for vcpu in (0, 1):
            d.sim.ctl("set-reg", d.dom, vcpu, "rip=" + hex(CODE),
                      "rbx=" + hex(counter(vcpu)), "rax=0", "rcx=0")
            d.sim.workload(d.dom, vcpu, [{"op": "exec"}])
        d.sim.ctl("start", d.dom)
        d.log_path = os.path.join(work, "xenstub.log")
        with open(d.log_path, "w") as log:
            d.stub = spawn([os.path.join(os.path.abspath(build), "xenstub"),
                            ":%d" % port, "xen:demo"],
                           env=d.sim.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            with open(d.log_path) as f:
                m = re.search(r"^Listening on port (\d+)", f.read(), re.M)
            if m:
                d.port = int(m.group(1))
                break
            if d.stub.poll() is not None or time.monotonic() > deadline:
                with open(d.log_path) as f:
                    raise RuntimeError("xenstub did not start:\n" + f.read())
            time.sleep(0.05)
        return d
    except BaseException:
        d.stop()
        raise


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
    demo = None
    try:
        memory = os.path.join(work, "memory.elf")
        subprocess.run(["zstd", "-q", "-d", "--long=27",
                        os.path.join(fx, "memory.elf.zst"), "-o", memory], check=True)
        say("Starting xensim, a simulated Xen 4.17, with domain 'demo' made from the "
            "Linux guest dump in " + os.path.relpath(fx) + ";\n"
            "both vCPUs run this loop, loaded at 0x%x (xensim executes its bytes):\n" % CODE +
            "\n".join("    0x%x  %-10s %s" % (CODE + o, b, w) for o, b, w in LOOP) +
            "\nwith rbx = 0x%x on vCPU 0 and 0x%x on vCPU 1 (their counters)"
            % (counter(0), counter(1)))
        say("Starting xenstub :%d xen:demo  (the libraries of xensim stand in for Xen's)"
            % args.port)
        try:
            demo = start(build, memory, args.port, work)
        except RuntimeError as e:
            sys.exit("demo: %s" % e)

        say("A short gdb session")
        cmds = ["info threads 1-6",
                "info registers rip rbx rax",
                "x/6i 0x%x" % CODE,
                "x/s 0x%x" % BANNER,
                "monitor ps",
                "watch *(long*)0x%x" % counter(0),
                "continue",
                "delete",
                "break *0x%x" % STORE,
                "continue",
                "delete",
                "stepi",
                "info registers rip rax",
                "x/gx 0x%x" % counter(0),
                "monitor stats",
                "detach"]
        argv = ["gdb", "-q", "-n", "-batch", "-ex", "set pagination off",
                "-ex", "target remote :%d" % demo.port]
        for c in cmds:
            argv += ["-ex", "echo \\n(gdb) %s\\n" % c, "-ex", c]
        subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=300)

        say("xenstub still serves the guest. Attach your own gdb with:\n"
            "    gdb -ex 'target remote :%d'\n"
            "and try, for instance (vCPU 0's counter is at 0x%x):\n"
            "    watch *(long*)0x%x       then continue\n"
            "    rwatch *(long*)0x%x      awatch *(long*)0x%x\n"
            "    hbreak *0x%x   break *0x%x   stepi   x/6i 0x%x\n"
            "(On a Xen host it is one line: 'xenstub :1234 xen:YOUR-DOMAIN' in dom0.)"
            % (demo.port, counter(0), counter(0), counter(0), counter(0),
               STORE, LOAD, CODE))
        if sys.stdin.isatty():
            try:
                input("Press Enter to stop the demo. ")
            except (KeyboardInterrupt, EOFError):
                pass
        return 0
    finally:
        if demo:
            demo.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
