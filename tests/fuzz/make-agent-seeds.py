#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of tests/fuzz/fuzz-agent.c into a folder: the
breakpoint packet options and bytecode gdb 13 sends (recorded with
tests/tools/gdb-agent-bytecode.py), as bytecode inputs (byte 0 even) and as
packet text inputs (byte 0 odd).

Usage: make-agent-seeds.py DIR
"""

import os
import sys

# The options of Z packets gdb 13 sent, after "Z0,addr,kind".
PACKETS = [
    ";X9,260005164022031327",
    ";Xf,2482000000162019162022052b1427",
    ";Xa,26001d16402312341327",
    ";Xd,2600001640160822ff16081327",
    ";X13,26000416402208021640182400008000140e27",
    ";X1f,260005164022011320001c260005164022282b1420001c220021001e220127",
    ";X10,26000516402204051640220307164027",
    ";X9,260005164022031327X9,260000164022091327",
    ";Xa,2600072a402310001527",
    ";cmds:1,X35,2241260003164026000416402600051640220022003404001b7264693d"
    "2564207273693d256c7820733d257320633d25635c6e0027",
    ";cmds:1,Xa0,2200232000220722ff160822ff160822ff160822ff1608231234222a22"
    "2a2208222a222a222a222a224222082300ff2300ff22fb160822fb1608220022003415"
    "005d256920257520257820255820256f2025637c2535647c252d35647c253035787c25"
    "23787c25236f7c252b647c2520647c25257c25707c256c6420256c6c6420256c752025"
    "6c6c7820257a757c252e33737c25735c745c22715c225c6e0027",
    ";cmds:1,X1d,236008181610236000191620220022003402000825642025645c6e0027",
    ";cmds:1,X17,260000162022002200340100096561783d25755c6e0027",
    ";cmds:1,X1c,22002200340000135c655c615c625c665c725c765c5c5c225c6e0027",
]

# Tracepoint actions and conditions (QTDP) gdb 13 sent.
TRACE = [
    "2600072a400d081a164022080c27",
    "2c000122010216402d000127",
    "2c0001220a2b1427",
    "2c00012e00012927",
]


def bytecodes():
    for p in PACKETS:
        rest = p.split(",", 1)[1] if p.startswith(";cmds:") else p[1:]
        while rest.startswith("X"):
            n, rest = rest[1:].split(",", 1)
            n = int(n, 16)
            yield bytes.fromhex(rest[:2 * n])
            rest = rest[2 * n:]
    for t in TRACE:
        yield bytes.fromhex(t)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for code in bytecodes():
        # the default step bound, and a 32-bit guest with 1000 steps
        for opt in (0x0c, 0x06):
            with open(os.path.join(out, "seed-code-%03d" % n), "wb") as f:
                f.write(bytes([opt]) + code)
            n += 1
    for p in PACKETS:
        with open(os.path.join(out, "seed-packet-%03d" % n), "wb") as f:
            f.write(bytes([0x0d]) + p.encode())
        n += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
