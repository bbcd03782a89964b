# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GDB remote protocol at the packet level: acks, checksums and
retransmission, no-ack mode, escapes and run-lengths sent to xenstub, the
packet size limit, unknown packets and malformed arguments."""

import re
import struct

from harness import RawConnection

OS_NONE = ["--os=none"]


def connect(ctx, fx, args=()):
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=list(args) + OS_NONE)
    return p, sock, RawConnection(sock, timeout=30)


def escape(data):
    out = bytearray()
    for b in data:
        if b in b"$#}*":
            out += bytes([0x7d, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def rle(data):
    """Run-length encodes as gdb does: a run of n >= 4 equal bytes is the
    byte, '*' and chr(29 + n - 1); counts giving '#' or '$' are split."""
    out = bytearray()
    i = 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i] and j - i < 98:
            j += 1
        n = j - i
        while n - 1 in (6, 7):          # chr(35) '#' and chr(36) '$'
            n -= 1
        if n >= 4:
            out += bytes([data[i], 0x2a, 29 + n - 1])
        else:
            n = 1
            out.append(data[i])
        i += n
    return bytes(out)


def frame_raw(payload):
    """Frames already-encoded bytes: the checksum covers them as sent."""
    return b"$" + payload + b"#%02x" % (sum(payload) & 0xff)


def cmd_raw(c, payload):
    c.send_raw(frame_raw(payload))
    if not c.noack:
        a = c.read_byte()
        if a != b"+":
            raise AssertionError("expected '+', got %r" % a)
    return c.read_packet()


def is_error(reply):
    return re.fullmatch(rb"E[0-9a-fA-F]{2}", reply) is not None


def test_acks_checksums_retransmission(ctx):
    fx = ctx.fixture()
    p, sock, c = connect(ctx, fx)
    c.send_raw(b"$qAttached#00")
    ctx.check(c.read_byte() == b"-", "a bad checksum is answered '-'")
    c.send_raw(b"$qAttached#zz")
    ctx.check(c.read_byte() == b"-", "a checksum that is not hex is answered '-'")
    c.send_raw(RawConnection.frame("qAttached"))
    ctx.check(c.read_byte() == b"+" and c.read_packet() == b"1",
              "the retransmitted packet is acknowledged and answered")
    # xenstub retransmits its reply when gdb answers '-'
    c.send_raw(RawConnection.frame("qC"))
    ctx.check(c.read_byte() == b"+", "qC is acknowledged")
    c.noack = True                 # read the reply without acking it
    first = c.read_packet()
    c.send_raw(b"-")
    again = c.read_packet()
    c.noack = False
    c.send_raw(b"+")
    ctx.check(first == b"QC1" and again == first, "'-' makes xenstub send its reply again",
              (first, again))
    # noise between packets, stray acks and an interrupt while stopped
    c.send_raw(b"garbage+++" + b"\x03" + RawConnection.frame("qAttached"))
    ctx.check(c.read_byte() == b"+" and c.read_packet() == b"1",
              "noise, stray acks and 0x03 while stopped are ignored")
    c.send_raw(b"$qAttac$qAttached#" + b"%02x" % (sum(b"qAttached") & 0xff))
    ctx.check(c.read_byte() == b"+" and c.read_packet() == b"1",
              "a packet cut short by a new '$' is dropped; the new one is served")
    c.close()


def test_no_ack_mode(ctx):
    fx = ctx.fixture()
    p, sock, c = connect(ctx, fx)
    ctx.check(c.cmd("QStartNoAckMode") == b"OK", "QStartNoAckMode answers OK (acknowledged)")
    c.noack = True
    c.send_raw(b"+")               # gdb acks the OK
    c.send_raw(RawConnection.frame("qAttached"))
    ctx.check(c.read_byte() == b"$", "no-ack mode: the reply comes without a '+' first")
    c.buf = b"$" + c.buf
    ctx.check(c.read_packet() == b"1", "no-ack mode: the reply is right")
    c.send_raw(b"$qAttached#00" + RawConnection.frame("qC"))
    ctx.check(c.read_byte() == b"$", "no-ack mode: a bad checksum gets no '-'")
    c.buf = b"$" + c.buf
    ctx.check(c.read_packet() == b"QC1", "no-ack mode: the bad packet is dropped, the next served")
    c.send_raw(b"-" + RawConnection.frame("qAttached"))
    ctx.check(c.read_packet() == b"1", "no-ack mode: '-' asks for nothing")
    c.close()
    # a new connection starts in ack mode again
    c = RawConnection(sock, timeout=30)
    c.send_raw(RawConnection.frame("qAttached"))
    ctx.check(c.read_byte() == b"+", "a new connection starts in ack mode")
    ctx.check(c.read_packet() == b"1", "and is served")
    c.close()


def test_escapes_and_run_lengths(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    cr3 = int(fx.truth["registers"][0]["cr3"], 16)
    p, sock, c = connect(ctx, fx)
    data = b"}#$*\x00\xff}}"
    r = cmd_raw(c, b"X%x,%x:" % (banner, len(data)) + escape(data))
    ctx.check(r == b"E1e", "X with escaped bytes parses (length matches) and is refused: read-only",
              r)
    r = cmd_raw(c, b"X%x,%x:" % (banner, len(data) + 1) + escape(data))
    ctx.check(is_error(r) and r != b"E1e",
              "X whose escaped data is one byte short is a malformed packet", r)
    text = fx.truth["proc_version"].encode()
    k = text.find(b"#")
    if k >= 0:
        pat = text[k:k + 6]
        r = cmd_raw(c, b"qSearch:memory:%x;%x;" % (banner, 0x400) + escape(pat))
        ctx.check(r == b"1,%x" % (banner + k),
                  "qSearch:memory with an escaped '#' finds %r at 0x%x" % (pat, banner + k), r)
    # a pattern with '}', '*' or '$' found in kernel memory near the banner
    mem = fx.read_virt(cr3, banner - 0x4000, 0x8000) or b""
    hit = next((i for i in range(len(mem) - 8)
                if any(b in mem[i:i + 8] for b in b"}*$") and mem[i] not in b"}*$"), None)
    if hit is not None:
        pat = mem[hit:hit + 8]
        a = banner - 0x4000 + hit
        r = cmd_raw(c, b"qSearch:memory:%x;%x;" % (a, 0x20) + escape(pat))
        ctx.check(r == b"1,%x" % a, "qSearch:memory with escaped %r finds it at 0x%x" % (pat, a), r)
    plain = cmd_raw(c, b"m%x,40" % banner)
    enc = rle(b"m%x,40" % banner)
    ctx.check(b"*" in enc, "harness: the m packet is run-length encoded", enc)
    ctx.check(cmd_raw(c, enc) == plain and plain[:16] == text[:8].hex().encode(),
              "an m packet with run-length encoded digits reads the same memory", enc)
    enc = rle(b"m0000000000%x,0000008" % banner)
    ctx.check(cmd_raw(c, enc) == plain[:16], "runs of leading zeros decode too", enc)
    line = "v2p 0x%x" % banner
    c.console = b""
    ok = c.cmd(b"qRcmd," + line.encode().hex().encode())
    plain_out = c.console
    c.console = b""
    enc = rle(b"qRcmd," + line.encode().hex().encode())
    ctx.check(b"*" in enc, "harness: the qRcmd packet is run-length encoded", enc)
    ok2 = cmd_raw(c, enc)
    ctx.check(ok == ok2 == b"OK" and c.console == plain_out and b"physical 0x" in plain_out,
              "qRcmd with run-length encoded hex runs the same command", (enc, c.console))
    # a run-length count below the minimum (3 repeats) is no valid run:
    # the packet is dropped ('-') or answered as unknown, never as qAttached
    c.send_raw(frame_raw(b"qAttached*\x1f"))
    a = c.read_byte()
    r = c.read_packet() if a == b"+" else None
    ctx.check(a == b"-" or (a == b"+" and r != b"1"),
              "a '*' with a count below 3 is not taken for a run", (a, r))
    ctx.check(c.cmd("qAttached") == b"1", "and the connection goes on")
    c.close()


def test_packet_size_limit(ctx):
    fx = ctx.fixture()
    banner = fx.symbol("linux_banner")
    p, sock, c = connect(ctx, fx)
    sup = c.cmd("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+")
    m = re.search(rb"PacketSize=([0-9a-fA-F]+)", sup)
    ctx.check(m is not None, "qSupported advertises PacketSize", sup)
    size = int(m.group(1), 16)
    for feat in (b"QStartNoAckMode+", b"qXfer:features:read+", b"qXfer:threads:read+"):
        ctx.check(feat in sup.split(b";"), "qSupported offers %s" % feat.decode(), sup)
    tail = b"%x,4" % banner
    exact = b"m" + b"0" * (size - 1 - len(tail)) + tail
    ctx.check(len(exact) == size, "harness: a packet of exactly PacketSize bytes")
    text = fx.truth["proc_version"].encode()
    ctx.check(c.cmd(exact) == text[:4].hex().encode(), "a packet of PacketSize bytes is served")
    big = b"m" + b"0" * (size - len(tail)) + tail
    r = c.cmd(big)
    ctx.check(is_error(r), "a packet of PacketSize+1 bytes is refused with an E reply", r)
    ctx.check(c.cmd("qAttached") == b"1", "the packet after the refused one is served")
    r = cmd_raw(c, b"m" + b"0*~" * (size // 98 + 2) + b",1")
    ctx.check(is_error(r), "a short packet whose run-lengths expand past PacketSize is refused", r)
    ctx.check(c.cmd("qAttached") == b"1", "and the next packet is served")
    r = c.cmd("m%x,%x" % (banner, size * 4))
    ctx.check(0 < len(r) <= size and len(r) % 2 == 0 and
              bytes.fromhex(r[:len(text) * 2].decode()) == text,
              "an m asking for more than a packet holds gets a short read of real bytes", len(r))
    c.close()


def test_simple_packets(ctx):
    fx = ctx.fixture()
    n = fx.truth["num_cpus"]
    p, sock, c = connect(ctx, fx)
    for pkt in ("qXenstubFrobnicate", "vFrobnicate", "QFrobnicate:1", "!", "Jx",
                "qXfer:frobnicate:read::0,10", "Z9,1000,1", "bc", "vMustReplyEmpty",
                "qAttachedToo", "vKillerFeature", "qCx", "qfThreadInfoX"):
        ctx.check(c.cmd(pkt) == b"", "%s gets the empty reply" % pkt)
    ctx.check(c.cmd("qAttached") == b"1", "qAttached answers 1")
    ctx.check(c.cmd("qAttached:1") == b"1", "qAttached:PID answers 1")
    ctx.check(c.cmd("?").startswith(b"T05thread:1;"), "? reports a SIGTRAP stop of thread 1")
    ctx.check(c.cmd("qC") == b"QC1", "qC names thread 1")
    vc = c.cmd("vCont?")
    ctx.check(vc.startswith(b"vCont") and b";c" in vc and b";s" in vc, "vCont? lists c and s", vc)
    wide = fx.truth.get("elf_class", 64) == 64
    rsp_no, rsp_size = (7, 8) if wide else (4, 4)
    for i in range(n):
        ctx.check(c.cmd("Hg%x" % (i + 1)) == b"OK", "Hg%x answers OK" % (i + 1))
        want = struct.pack("<Q", int(fx.truth["registers"][i]["rsp"], 16))[:rsp_size].hex()
        ctx.check(c.cmd("p%x" % rsp_no) == want.encode(),
                  "after Hg%x, p%x is vCPU %d's stack pointer" % (i + 1, rsp_no, i))
    ctx.check(is_error(c.cmd("Hg%x" % (n + 1))), "Hg of a thread that does not exist is an error")
    ctx.check(c.cmd("Hg0") == b"OK" and c.cmd("Hc-1") == b"OK", "Hg0 and Hc-1 are accepted")
    want = struct.pack("<Q", int(fx.truth["registers"][0]["rsp"], 16))[:rsp_size].hex()
    ctx.check(c.cmd("p%x" % rsp_no) == want.encode(), "Hg0 selects the stopped thread (vCPU 0)")
    doc, off = b"", 0
    for _ in range(1000):
        r = c.cmd("qXfer:features:read:target.xml:%x,100" % off)
        ctx.check(r[:1] in (b"m", b"l"), "qXfer:features chunk at 0x%x" % off, r[:40])
        doc += r[1:]
        off += len(r) - 1
        if r[:1] != b"m":
            break
    ctx.check(doc.startswith(b"<?xml") and doc.rstrip().endswith(b"</target>"),
              "qXfer:features:read served in 0x100-byte pieces makes the whole target.xml",
              doc[-80:])
    ctx.check(c.cmd("qXfer:features:read:target.xml:%x,100" % (len(doc) + 10)) == b"l",
              "qXfer past the end answers 'l'")
    ctx.check(is_error(c.cmd("qXfer:features:read:nothing.xml:0,100")),
              "qXfer of an unknown annex is an error")
    ctx.check(c.cmd("D") == b"OK", "D answers OK")
    c.close()


def test_malformed_arguments(ctx):
    fx = ctx.fixture()
    p, sock, c = connect(ctx, fx)
    for pkt in ("m", "mzz,4", "m1000", "m1000,", "m1000,zz", "m1,2,3", "M0,1:zz", "M0,2:00",
                "X0,2:a", "p", "pzz", "p9999", "P0=12", "Hx1", "Hg", "T", "Tzz",
                "qCRC:zz", "qCRC:1000", "qSearch:memory:1000;10", "qSearch:memory:zz;1;a",
                "qXfer:threads:read::zz", "qXfer:threads:read::0", "qThreadExtraInfo,zz",
                "Qqemu.PhyMemMode:", "Z0,zz,1", "z0,1000", "vCont;x", "vCont;c:zz",
                "m1%s,1" % ("0" * 20), "qRcmd,6", "qRcmd,zz"):
        r = c.cmd(pkt)
        ctx.check(is_error(r), "%s is answered with an error" % pkt, r)
    ctx.check(c.cmd("qAttached") == b"1", "the connection survives malformed packets")
    ctx.check(p.poll() is None, "xenstub survives malformed packets", open(p.log_path).read())
    c.close()
