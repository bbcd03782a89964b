# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile clients at the packet level: a packet that never ends is cut
off (memory bounded while it arrives, a message, the connection closed)
while a live guest's events keep being served; a '}' right before the
'#' gets an error reply like every malformed packet."""

import socket
import time

import live_support as L
from harness import RawConnection


def _frame_raw(payload):
    return b"$" + payload + b"#%02x" % (sum(payload) & 0xff)


def _status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _flood(c, total, chunk=1 << 20, between=None):
    """Sends '$' and then total bytes with no '#'; returns the bytes sent
    before the peer closed the connection (total if it never did)."""
    sent = 0
    data = b"a" * chunk
    try:
        c.send_raw(b"$")
        while sent < total:
            c.send_raw(data)
            sent += len(data)
            if between:
                between()
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


def test_unterminated_packet_on_a_dump(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=["--os=none"])
    c = RawConnection(sock, timeout=60)
    ctx.check(c.cmd("qAttached") == b"1", "a first packet is served")
    rss0 = _status(p.pid, "VmRSS")
    sent = _flood(c, 40 << 20)
    hwm = _status(p.pid, "VmHWM")
    ctx.check(sent < 40 << 20, "xenstub closes the connection before 40 MB without '#' arrived",
              sent)
    ctx.check(c.at_eof(), "the connection is closed")
    ctx.check(hwm is not None and rss0 is not None and hwm - rss0 < 8 * 1024,
              "xenstub's memory stays bounded while the bytes arrive (peak - start < 8 MiB)",
              (rss0, hwm))
    log = L.read_log(p) if hasattr(p, "log_path") else ""
    ctx.check("without its end" in log, "xenstub says why it closed the connection", log)
    c.close()
    c = RawConnection(sock, timeout=30)
    ctx.check(p.poll() is None and c.cmd("qAttached") == b"1", "the next debugger is served", L.read_log(p))
    c.close()


def test_unterminated_packet_while_the_guest_runs(ctx):
    """vCPU 1 executes the guest's own int3 in a loop: each is an event
    xenstub must answer (it watches int3s for its breakpoint). While a
    client sends a packet that never ends, the guest goes on."""
    with L.xensim.sim_for(ctx) as sim:
        dom = L.make_domain(ctx, sim, workloads={
            0: [{"rip": L.h(L.CODE), "len": 5, "access": "none"}, {"op": "loop"}],
            1: [{"rip": L.h(L.CODE + 0x40), "len": 4, "access": "write",
                 "va": L.h(L.SCRATCH + 0x40), "size": 8, "value": "0x6b6b"},
                {"rip": L.h(L.GUEST_INT3), "len": 1, "access": "none"},
                {"op": "loop"}]})
        L.wait_loops(sim, dom, 3)
        before = L.snapshot(sim, dom)
        p, sock = ctx.start_xenstub("xen:web01", args=["--os=none", "--once"], env=sim.env())
        c = RawConnection(sock, timeout=60)
        c.cmd("?")
        ctx.check(c.cmd("Z0,%x,1" % (L.CODE + 0x300)) == b"OK", "a breakpoint is planted")
        c.send_raw(RawConnection.frame("vCont;c"))
        c.read_byte()
        loops = []

        def note():
            loops.append(sim.state(dom)["vcpus"][1]["workload"]["loops"])

        # slowly first (under the cut-off), the guest looked at in between
        c.send_raw(b"$")
        for i in range(24):
            c.send_raw(b"a" * 8192)
            note()
            time.sleep(0.05)
        ctx.check(len(loops) >= 2 and loops[-1] > loops[0],
                  "the guest's int3 events are served while the packet comes", loops)
        sent = _flood(c, 24 << 20, chunk=256 << 10)
        ctx.check(sent < 24 << 20, "the packet with no end is cut off", sent)
        ctx.check(L.wait_exit(p, 30) is not None, "xenstub (--once) leaves with the connection")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and L.snapshot(sim, dom) != before:
            time.sleep(0.05)
        L.check_as_found(ctx, sim, dom, before, "a packet with no end")
        ctx.check("without its end" in L.read_log(p), "xenstub says why", L.read_log(p))


def test_escape_right_before_the_checksum(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=["--os=none"])
    for noack in (False, True):
        c = RawConnection(sock, timeout=10)
        mode = "no-ack mode" if noack else "ack mode"
        if noack:
            ctx.check(c.cmd("QStartNoAckMode") == b"OK", "no-ack mode on")
            c.noack = True
        for body in (b"X0,4:}", b"m0,4*"):
            c.send_raw(_frame_raw(body))
            try:
                if not noack:
                    a = c.read_byte()
                    ctx.check(a == b"+", "%s: %r is acknowledged (it arrived as sent)" %
                              (mode, body), a)
                r = c.read_packet()
            except (socket.timeout, EOFError) as e:
                r = repr(e)
            ctx.check(isinstance(r, bytes) and r.startswith(b"E"),
                      "%s: %r gets an error reply" % (mode, body), r)
        ctx.check(c.cmd("qAttached") == b"1", "%s: the session goes on" % mode)
        c.close()
    p.terminate()


def test_packet_sent_again_during_a_slow_start(ctx):
    """gdb sends a packet again when its ack is late (here: xenstub starts
    3 s after gdb with remotetimeout 2, so qSupported goes out twice or
    more before xenstub reads it). Each copy that came before xenstub's
    answer is the same request: answered once, or gdb takes the second
    answer for the reply to its next packet."""
    fx = ctx.fixture()
    cmd = "sh -c 'sleep 3; exec %s --os=none - core:%s'" % (ctx.xenstub, fx.memory)
    r = ctx.gdb(["info threads", "x/s 0x%x" % fx.symbol("linux_banner")],
                pre=["set remotetimeout 2"], merge_stderr=True,
                remote="| " + cmd)
    ctx.check("replied unexpectedly" not in r.out and 'Thread 2 "vCPU 1"' in r.out and
              "Linux version" in r.out,
              "the session is sound: threads listed, memory read", r)
