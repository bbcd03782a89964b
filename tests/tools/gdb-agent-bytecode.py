#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shows the agent bytecode the installed gdb sends for breakpoint conditions,
agent-style dprintf and tracepoint actions, with xenstub's own register
numbering: gdb talks to a small fake remote stub that serves the target
description xenstub serves (printed by tests/tools/print-tdesc.c, built
against the library) and offers ConditionalBreakpoints+, BreakpointCommands+
and tracepoints; the stub logs every Z and QTDP packet and answers OK.
The bytes recorded in tests/unit/test-agent.c come from this tool.

Usage: gdb-agent-bytecode.py [--build build] [--bits 64|32] [--trace]
       [--gdb gdb] [COMMAND...]
(after `make`: it links print-tdesc.c against build/libxenstub.a)
Each COMMAND is a gdb command run after connecting (the defaults below when
none is given); the tool prints each command and the packets it caused.
"""

import argparse
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULT_64 = [
    "break *0xffffffff81000100 if $rdi == 3",
    "break *0xffffffff81000200 if *(int*)0xffffffff82000000 > 5",
    "break *0xffffffff81000300 if $cr3 == 0x1234",
    "break *0xffffffff81000400 if $rsp < 0x1000 && $eflags != 2",
    "break *0xffffffff81000500 if (char)$rax == -1",
    "break *0xffffffff81000600 if *(unsigned short*)($rsi + 8) >= 0x8000",
    "break *0xffffffff81000700 if $rdi == 1 || $rdi > 40",
    "break *0xffffffff81000800 if $rdi / 4 % 3",
    "hbreak *0xffffffff81000900 if $rdx == 7",
    "dprintf *0xffffffff81000a00,\"rdi=%d rsi=%lx s=%s c=%c\\n\", $rdi, $rsi, (char*)$rdx, 65",
    "watch *(int*)0xffffffff82000010 if $rdi == 3",
    "break *0xffffffff81000100 if $rax == 9",
]

DEFAULT_32 = [
    "break *0xc1000100 if $edi == 3",
    "break *0xc1000200 if $cr3 == 0x1234",
    "dprintf *0xc1000300,\"eax=%u\\n\", $eax",
]

# Tracepoints: the packets come at tstart.
TRACE_64 = [
    "tvariable $hits = 0",
    "trace *0xffffffff81000b00",
    "actions\ncollect *(long*)*(long*)$rsp, $rdi\nteval $hits = $hits + 1\nend",
    "trace *0xffffffff81000c00 if $hits > 10",
    "actions\ncollect $hits\nend",
    "tstart",
]


def checksum(data):
    return "%02x" % (sum(data.encode("latin-1")) & 0xFF)


class FakeStub:
    """The stub side, on stdin/stdout (gdb runs it with `target remote |`)."""

    def __init__(self, xml, log, gsize):
        self.xml = xml
        self.log = log
        self.gsize = gsize
        self.ack = True
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer

    def send(self, data):
        pkt = "$%s#%s" % (data, checksum(data))
        self.out.write(pkt.encode("latin-1"))
        self.out.flush()

    def read_packet(self):
        while True:
            c = self.inp.read(1)
            if not c:
                return None
            if c == b"$":
                break
        data = bytearray()
        while True:
            c = self.inp.read(1)
            if not c:
                return None
            if c == b"#":
                break
            data += c
        self.inp.read(2)
        if self.ack:
            self.out.write(b"+")
            self.out.flush()
        return data.decode("latin-1")

    def reply(self, pkt):
        if pkt.startswith("qSupported"):
            return ("PacketSize=4000;QStartNoAckMode+;qXfer:features:read+;"
                    "ConditionalBreakpoints+;BreakpointCommands+;"
                    "ConditionalTracepoints+;TraceStateVariables+;"
                    "EnableDisableTracepoints+;tracenz+;swbreak+;hwbreak+")
        if pkt == "QStartNoAckMode":
            self.send("OK")
            self.ack = False
            return None
        if pkt.startswith("qXfer:features:read:target.xml:"):
            off, length = (int(x, 16) for x in pkt.split(":")[4].split(","))
            chunk = self.xml[off:off + length]
            return ("m" if off + length < len(self.xml) else "l") + chunk
        if pkt == "?":
            return "T05thread:1;"
        if pkt in ("qfThreadInfo",):
            return "m1"
        if pkt in ("qsThreadInfo",):
            return "l"
        if pkt == "qC":
            return "QC1"
        if pkt == "qAttached":
            return "1"
        if pkt == "g":
            return "00" * self.gsize
        if pkt[0] == "m":
            length = int(pkt[1:].split(",")[1], 16)
            return "00" * length
        if pkt[0] in "HMXT" or pkt.startswith("qSymbol"):
            return "OK"
        if pkt[0] in "Zz" or pkt.startswith("QT"):
            self.log.write(pkt + "\n")
            self.log.flush()
            return "OK"
        if pkt == "qTStatus":
            return "T0;tnotrun:0"
        if pkt.startswith("qTfP") or pkt.startswith("qTsP") or pkt.startswith("qTfV"):
            return "l"
        if pkt.startswith("qTV"):
            return "U"
        if pkt[0] in "Dk":
            self.send("OK")
            raise SystemExit(0)
        return ""

    def run(self):
        while True:
            pkt = self.read_packet()
            if pkt is None:
                return
            r = self.reply(pkt)
            if r is not None:
                self.send(r)


def g_size(xml):
    """Bytes of the 'g' image: the sum of every register's bitsize."""
    import re
    return sum(int(b) for b in re.findall(r'bitsize="(\d+)"', xml)) // 8


def stub_main(args):
    with open(args.xml) as f:
        xml = f.read()
    with open(args.log, "a") as log:
        FakeStub(xml, log, g_size(xml)).run()


def build_tdesc(build, bits, tmp):
    exe = os.path.join(tmp, "print-tdesc")
    subprocess.run(["cc", "-std=gnu11", "-I", REPO, "-D_GNU_SOURCE",
                    os.path.join(REPO, "tests/tools/print-tdesc.c"),
                    os.path.join(build, "libxenstub.a"), "-o", exe], check=True)
    out = subprocess.run([exe, str(bits)], check=True, capture_output=True, text=True)
    path = os.path.join(tmp, "target-%d.xml" % bits)
    with open(path, "w") as f:
        f.write(out.stdout)
    return path


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--stub":
        p = argparse.ArgumentParser()
        p.add_argument("--stub", action="store_true")
        p.add_argument("--xml", required=True)
        p.add_argument("--log", required=True)
        stub_main(p.parse_args())
        return 0

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"))
    p.add_argument("--bits", type=int, default=64, choices=(64, 32))
    p.add_argument("--gdb", default="gdb")
    p.add_argument("--trace", action="store_true",
                   help="tracepoint actions instead of conditions")
    p.add_argument("commands", nargs="*")
    args = p.parse_args()
    cmds = args.commands or (TRACE_64 if args.trace else
                             DEFAULT_64 if args.bits == 64 else DEFAULT_32)

    version = subprocess.run([args.gdb, "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    print("# %s, %d-bit target description of xenstub" % (version, args.bits))
    with tempfile.TemporaryDirectory() as tmp:
        xml = build_tdesc(os.path.abspath(args.build), args.bits, tmp)
        # Tracepoint commands build on each other: one gdb for all of them.
        # Otherwise one gdb per command, so that no breakpoint made by an
        # earlier command is sent again with the next one.
        runs = [cmds] if args.trace else [[c] for c in cmds]
        for k, cmds_k in enumerate(runs):
            run_gdb(args.gdb, xml, cmds_k, os.path.join(tmp, "run%d" % k))
    return 0


def run_gdb(gdb, xml, cmds, tmp):
    os.makedirs(tmp)
    log = os.path.join(tmp, "packets.log")
    open(log, "w").close()
    stub = "%s %s --stub --xml %s --log %s" % (
        sys.executable, os.path.abspath(__file__), xml, log)
    argv = [gdb, "-q", "-n", "-batch",
            "-ex", "set confirm off",
            "-ex", "target remote | %s" % stub,
            # after connecting: gdb refuses target evaluation before it
            # knows the target offers it
            "-ex", "set breakpoint condition-evaluation target",
            "-ex", "set breakpoint always-inserted on",
            "-ex", "set dprintf-style agent"]
    for i, c in enumerate(cmds):
        # each command in a file of its own, so that multi-line commands
        # work and an error stops only that command
        script = os.path.join(tmp, "cmd%d.gdb" % i)
        with open(script, "w") as f:
            f.write(c + "\n")
        argv += ["-ex", "source " + script,
                 # a marker packet, so that the log can be cut
                 "-ex", "maint packet QTmark:%d" % i]
    argv += ["-ex", "disconnect"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    with open(log) as f:
        lines = f.read().splitlines()
    i = 0
    for n, c in enumerate(cmds):
        print("(gdb) " + c.replace("\n", "\n      "))
        while i < len(lines) and lines[i] != "QTmark:%d" % n:
            print("    " + lines[i])
            i += 1
        i += 1
    for line in out.stderr.splitlines():
        if "No executable has been specified" in line or \
           "determining executable automatically" in line:
            continue
        print("    gdb: " + line)


if __name__ == "__main__":
    sys.exit(main())
