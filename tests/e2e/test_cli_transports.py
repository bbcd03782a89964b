# SPDX-License-Identifier: LGPL-2.1-or-later
"""Transports (unix socket, TCP on loopback with port 0, stdio), --once or
serving the next debugger the same guest, connections dropped mid-packet,
and k, vKill and D."""

import os
import re
import signal
import subprocess

from harness import RawConnection

OS_NONE = ["--os=none"]


def banner_ok(fx, text):
    return fx.truth["proc_version"].strip()[:60] in (text or "")


def wait_exit(ctx, p, what):
    ctx.wait_for(lambda: p.poll() is not None, what)
    return p.returncode


def thread_rows(text):
    return re.findall(r'^\*?\s+(\d+)\s+Thread \d+ "(vCPU \d+)"', text or "", re.M)


def test_unix_socket_once(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=["--once"] + OS_NONE)
    r, out = ctx.gdb_each(["info threads", "x/s 0x%x" % fx.symbol("linux_banner")],
                          remote=sock)
    ctx.check(len(thread_rows(out[0])) == fx.truth["num_cpus"],
              "gdb over unix:PATH lists the vCPUs", r)
    ctx.check(banner_ok(fx, out[1]), "gdb over unix:PATH reads memory", out[1])
    rc = wait_exit(ctx, p, "xenstub --once to exit after gdb left")
    ctx.check(rc == 0, "--once: xenstub exits 0 when gdb detaches", open(p.log_path).read())
    ctx.check(not os.path.exists(sock), "the unix socket is removed at exit")
    log = open(p.log_path).read()
    ctx.check("Listening on unix socket %s" % sock in log,
              "xenstub says where it listens", log)


def test_tcp_port_zero(ctx):
    fx = ctx.fixture()
    p, port = ctx.start_xenstub_tcp("core:" + fx.memory, args=["--once"] + OS_NONE)
    log = open(p.log_path).read()
    ctx.check(port > 0, "port 0 makes xenstub pick a port and print it", log)
    ctx.check(re.search(r"^Listening on port %d \(127\.0\.0\.1\)" % port, log, re.M) is not None,
              "':0' listens on loopback (127.0.0.1) only", log)
    r, out = ctx.gdb_each(["info threads", "x/s 0x%x" % fx.symbol("linux_banner")],
                          remote="127.0.0.1:%d" % port)
    ctx.check(len(thread_rows(out[0])) == fx.truth["num_cpus"],
              "gdb over TCP lists the vCPUs", r)
    ctx.check(banner_ok(fx, out[1]), "gdb over TCP reads memory", out[1])
    ctx.check(wait_exit(ctx, p, "xenstub --once to exit") == 0,
              "--once over TCP: exit 0 after gdb detaches", open(p.log_path).read())


def test_second_debugger_sees_the_same_guest(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=OS_NONE)
    m = fx.truth["marker"]
    cmds = ["info threads", "thread 2", "p/x $rsp", "x/s 0x%x" % fx.symbol("linux_banner"),
            "monitor cr3", "monitor phys"]
    r1, out1 = ctx.gdb_each(["monitor cr3 %s" % m["pgd_phys"], "monitor phys on"] + cmds[:4],
                            remote=sock)
    ctx.check(p.poll() is None, "without --once, xenstub keeps running after gdb detaches",
              open(p.log_path).read())
    r2, out2 = ctx.gdb_each(cmds, remote=sock)
    ctx.check(thread_rows(out2[0]) == thread_rows(out1[2]) and len(thread_rows(out2[0])) ==
              fx.truth["num_cpus"], "the second gdb sees the same threads", (out1[2], out2[0]))
    rsp = int(fx.truth["registers"][1]["rsp"], 16) if fx.truth["num_cpus"] > 1 else None
    if rsp is not None:
        ctx.check(re.search(r"= 0x%x\b" % rsp, out2[2] or "") is not None,
                  "the second gdb reads vCPU 1's registers", out2[2])
    ctx.check(banner_ok(fx, out2[3]), "the second gdb reads virtual memory", out2[3])
    ctx.check("no CR3 override" in (out2[4] or "") and "guest-virtual" in (out2[5] or ""),
              "the first gdb's cr3 override and physical mode ended with its session",
              out2[4:6])
    p.send_signal(signal.SIGTERM)
    rc = wait_exit(ctx, p, "xenstub to exit on SIGTERM")
    ctx.check(rc == 128 + signal.SIGTERM, "SIGTERM: exit status 128+15", rc)
    ctx.check(not os.path.exists(sock), "the unix socket is removed after SIGTERM")


def test_dropped_connections(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=OS_NONE)
    # half a packet, then gone
    c = RawConnection(sock, timeout=30)
    c.send_raw(b"$qSupported:multipro")
    c.close()
    # gone in the middle of an escape and in the middle of the checksum
    c = RawConnection(sock, timeout=30)
    c.send_raw(b"$X0,1:}")
    c.close()
    c = RawConnection(sock, timeout=30)
    c.send_raw(RawConnection.frame("qAttached")[:-1])
    c.close()
    # connected and closed without a byte
    RawConnection(sock, timeout=30).close()
    c = RawConnection(sock, timeout=30)
    ctx.check(c.cmd("qAttached") == b"1", "after dropped connections a new one is served")
    ctx.check(c.cmd("?").startswith(b"T05thread:1;"), "it starts from a clean stop state")
    c.close()
    ctx.check(p.poll() is None, "xenstub is still running", open(p.log_path).read())
    r, out = ctx.gdb_each(["x/s 0x%x" % fx.symbol("linux_banner")], remote=sock)
    ctx.check(banner_ok(fx, out[0]), "gdb works after the dropped connections", r)


def test_kill_and_detach(ctx):
    fx = ctx.fixture()
    p, sock = ctx.start_xenstub("core:" + fx.memory, args=OS_NONE)
    c = RawConnection(sock, timeout=30)
    ctx.check(c.cmd("qAttached") == b"1", "qAttached answers 1 (attached to an existing guest)")
    c.send_raw(RawConnection.frame("k"))
    ctx.check(c.read_byte() == b"+", "k is acknowledged")
    ctx.check(c.at_eof(), "k ends the connection without a reply")
    c.close()
    ctx.check(p.poll() is None, "k without --once: xenstub keeps serving",
              open(p.log_path).read())
    c = RawConnection(sock, timeout=30)
    ctx.check(c.cmd("vKill;1") == b"OK", "vKill answers OK")
    c.close()
    c = RawConnection(sock, timeout=30)
    ctx.check(c.cmd("D") == b"OK", "D answers OK")
    ctx.check(c.at_eof(), "D ends the connection")
    c.close()
    c = RawConnection(sock, timeout=30)
    ctx.check(c.cmd("qAttached") == b"1", "a new connection is served after k, vKill and D")
    c.close()
    ctx.check(p.poll() is None, "xenstub is still running", open(p.log_path).read())

    p2, sock2 = ctx.start_xenstub("core:" + fx.memory, args=["--once"] + OS_NONE)
    c = RawConnection(sock2, timeout=30)
    c.send_raw(RawConnection.frame("k"))
    ctx.check(c.read_byte() == b"+", "--once: k is acknowledged")
    rc = wait_exit(ctx, p2, "xenstub --once to exit after k")
    ctx.check(rc == 0, "--once: k makes xenstub exit 0", open(p2.log_path).read())
    c.close()


def test_stdio_ends_with_gdb(ctx):
    """'target remote | xenstub - TARGET': xenstub's stdout is the
    protocol, and it ends with gdb (--once is the default for stdio)."""
    fx = ctx.fixture()
    r, out = ctx.gdb_each(["info threads", "detach"], target="core:" + fx.memory,
                          xenstub_args=OS_NONE)
    ctx.check(len(thread_rows(out[0])) == fx.truth["num_cpus"], "gdb over stdio lists the vCPUs", r)
    ctx.check("Remote connection closed" not in r.out and "Ignoring packet error" not in r.out,
              "nothing but the protocol comes on xenstub's stdout", r)
    ctx.check(r.rc == 0, "gdb exits 0", r)
    # xenstub started by hand on stdio: its stdin closing ends it
    x = ctx.spawn([ctx.xenstub] + OS_NONE + ["-", "core:" + fx.memory],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = x.communicate(input=RawConnection.frame("qAttached"), timeout=60)
    ctx.check(out.startswith(b"+$1#31"), "stdio: the reply comes on stdout", out)
    ctx.check(x.returncode == 0, "stdio: xenstub exits 0 at the end of its input", err)
