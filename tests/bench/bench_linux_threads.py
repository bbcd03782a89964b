#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Linux thread list: the time from a stop to the complete thread list,
on the fixture's dump (61 tasks) and on a copy of it with 10,000 more
tasks, and what it costs in guest reads and mapped frames per task.

How: xenstub serves the dump on a unix socket without --once; it finds
the kernel and lists the tasks once at start (detection), then every new
connection after the first attaches the session again, which rebuilds the
task list the way a stop of a live guest does (a warm refresh). A raw protocol client times connect -> complete qfThreadInfo
reply, then the whole qXfer:threads document (what gdb reads), and asks
`monitor os` for xenstub's own figures of that refresh (ms, guest reads,
frames mapped). The peer is the same with --os=none (vCPU threads only).

The synthetic guest: the fixture's memory.elf plus one PT_LOAD segment at
guest-physical 4 GiB holding N copies of a sleeping task's task_struct and
signal_struct (pids, names and list links rewritten), mapped into the
kernel's direct map by one new 1 GiB PUD entry and linked into
init_task.tasks: real kernel, real kallsyms and BTF, N more tasks. Offsets
for building it come from truth.json (DWARF), never from xenstub.
"""

import os
import re
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import harness  # noqa: E402
import linux_support as L  # noqa: E402

EXTRA_TASKS = 10000
SLOT = 0x3000                   # bytes per synthetic task + signal_struct
SEG_PA = 1 << 32                # the new segment's guest-physical address
CONNECTS = 5                    # warm refreshes measured per run

REFRESH_RE = re.compile(r"last refresh: ([0-9.]+) ms, (\d+) guest reads, (\d+) frames mapped "
                        r"in (\d+) calls; detection took ([0-9.]+) ms")
TASKS_RE = re.compile(r"tasks: (\d+) processes, (\d+) threads, (\d+) idle tasks")


def u64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def session(ctx, sock):
    """One connection: (seconds to the full qfThreadInfo reply, thread
    count, seconds to read qXfer:threads, monitor os text)."""
    t0 = time.perf_counter()
    c = harness.RawConnection(sock, timeout=600)
    reply = c.cmd("qfThreadInfo")
    t1 = time.perf_counter()
    n = len(reply[1:].split(b",")) if reply.startswith(b"m") else 0
    off, doc = 0, b""
    while True:
        r = c.cmd("qXfer:threads:read::%x,10000" % off)
        doc += r[1:]
        off += len(r) - 1
        if r[:1] != b"m":
            break
    t2 = time.perf_counter()
    c.console = b""
    c.cmd("qRcmd," + b"os".hex())
    text = c.console.decode(errors="replace")
    c.close()
    return t1 - t0, n, t2 - t1, text, doc.count(b"<thread ")


def measure(ctx, memory, args=()):
    """The first session (after detection) and CONNECTS-1 warm ones."""
    p, sock = ctx.start_xenstub("core:" + memory, list(args))
    first = None
    warm = []
    try:
        for _ in range(CONNECTS):
            r = session(ctx, sock)
            if first is None:
                first = r
            else:
                warm.append(r)
    finally:
        p.kill()
        p.wait()
    return first, warm


def report(ctx, label, first, warm, peer_warm):
    t_first, n, x_first, text, xml_threads = first
    best = min(warm, key=lambda r: r[0])
    ctx.figure("%s: threads listed" % label, n, "threads",
               "qXfer:threads has %d" % xml_threads)
    m = REFRESH_RE.search(best[3])
    tm = TASKS_RE.search(best[3])
    if m:
        ms, reads, frames, calls, detect = (float(m.group(1)), int(m.group(2)), int(m.group(3)),
                                            int(m.group(4)), float(m.group(5)))
        tasks = sum(int(x) for x in tm.groups()[1:]) if tm else max(n, 1)
        ctx.figure("%s: detection at start (first list included)" % label, detect, "ms")
        ctx.figure("%s: refresh at a stop (xenstub's own clock)" % label, ms, "ms",
                   "%.2f us per task" % (1000.0 * ms / max(tasks, 1)))
        ctx.figure("%s: guest reads per task" % label, reads / max(tasks, 1), "reads",
                   "%d reads, %d tasks" % (reads, tasks))
        ctx.figure("%s: frames mapped per task" % label, frames / max(tasks, 1), "frames",
                   "%d frames in %d map calls (cache of --cache-frames)" % (frames, calls))
    ctx.figure("%s: connect -> complete qfThreadInfo, warm" % label, best[0] * 1000, "ms",
               "first connection, no refresh: %.1f ms" % (t_first * 1000))
    ctx.figure("%s: qXfer:threads document read" % label, best[2] * 1000, "ms")
    if peer_warm:
        peer = min(r[0] for r in peer_warm)
        ctx.figure("%s: ratio to --os=none (vCPUs only)" % label, best[0] / peer if peer else 0.0,
                   "x", "--os=none: %.2f ms" % (peer * 1000))


def bench_fixture_threads(ctx):
    fx = ctx.fixture()
    first, warm = measure(ctx, fx.memory)
    _, peer = measure(ctx, fx.memory, ["--os=none"])
    report(ctx, "fixture", first, warm, peer)


def build_synthetic(ctx, fx, extra):
    """A copy of memory.elf with `extra` more tasks; returns its path."""
    t = fx.truth
    so = t["struct_offsets"]
    dump = L.Dump(fx.memory)
    img = lambda va: L.image_phys(t, va)  # noqa: E731
    pob = u64(dump.read(img(L.runtime(t, "page_offset_base")), 8), 0)

    def pa(va):
        return img(va) if va >= 0xffffffff80000000 else va - pob

    def rd(va, n):
        return dump.read(pa(va), n)

    o_tasks, o_comm = so["task_struct.tasks"], so["task_struct.comm"]
    init = L.runtime(t, "init_task")
    # the template: a sleeping user process of one thread
    node, tpl_va = u64(rd(init + o_tasks, 8), 0), None
    for _ in range(1000):
        if node == init + o_tasks:
            break
        task = node - o_tasks
        if rd(task + o_comm, 16).split(b"\0")[0] == b"sleeper-a":
            tpl_va = task
        node = u64(rd(node, 8), 0)
    if tpl_va is None:
        ctx.skip("no 'sleeper-a' task in the fixture to copy")
    tsize, ssize = so["sizeof(task_struct)"], so["sizeof(signal_struct)"]
    tpl = rd(tpl_va, tsize)
    sig_tpl = rd(u64(tpl, so["task_struct.signal"]), ssize)
    last = u64(rd(init + o_tasks + 8, 8), 0)          # init_task.tasks.prev
    seg_va = pob + SEG_PA
    # one 1 GiB page of the direct map for the new segment
    pgd = img(L.runtime(t, "init_top_pgt"))
    pgde = u64(dump.read(pgd + 8 * ((seg_va >> 39) & 511), 8), 0)
    pud_entry_pa = (pgde & 0x000ffffffffff000) + 8 * ((seg_va >> 30) & 511)
    if u64(dump.read(pud_entry_pa, 8), 0) != 0:
        ctx.skip("the direct map already uses the PUD slot for 4 GiB")
    if extra * SLOT > 1 << 30:
        ctx.skip("more tasks than one 1 GiB page holds")

    seg = bytearray(extra * SLOT)
    s_off = (tsize + 63) & ~63
    for i in range(extra):
        t_va = seg_va + i * SLOT
        s_va = t_va + s_off
        task = bytearray(tpl)
        struct.pack_into("<II", task, so["task_struct.pid"], 100000 + i, 100000 + i)
        task[o_comm:o_comm + 16] = (b"bench-%05d" % i).ljust(16, b"\0")
        nxt = seg_va + (i + 1) * SLOT + o_tasks if i + 1 < extra else init + o_tasks
        prv = seg_va + (i - 1) * SLOT + o_tasks if i else last
        struct.pack_into("<QQ", task, o_tasks, nxt, prv)
        head = s_va + so["signal_struct.thread_head"]
        struct.pack_into("<QQ", task, so["task_struct.thread_node"], head, head)
        tg = t_va + so["task_struct.thread_group"]
        struct.pack_into("<QQ", task, so["task_struct.thread_group"], tg, tg)
        struct.pack_into("<Q", task, so["task_struct.signal"], s_va)
        struct.pack_into("<Q", task, so["task_struct.group_leader"], t_va)
        sig = bytearray(sig_tpl)
        node_va = t_va + so["task_struct.thread_node"]
        struct.pack_into("<QQ", sig, so["signal_struct.thread_head"], node_va, node_va)
        base = i * SLOT
        seg[base:base + tsize] = task
        seg[base + s_off:base + s_off + ssize] = sig

    path = ctx.tmpfile("synthetic-%d.elf" % extra)
    with open(fx.memory, "rb") as f:
        orig = f.read()
    out = bytearray(orig)

    def patch(paddr, data):
        off = dump.file_offset(paddr)
        out[off:off + len(data)] = data

    patch(pud_entry_pa, struct.pack("<Q", SEG_PA | 0x1e3))
    patch(pa(last), struct.pack("<Q", seg_va + o_tasks))                # last.tasks.next
    patch(pa(init + o_tasks + 8), struct.pack("<Q", seg_va + (extra - 1) * SLOT + o_tasks))
    phoff, = struct.unpack_from("<Q", out, 32)
    phentsize, phnum = struct.unpack_from("<HH", out, 54)
    phdrs = bytes(out[phoff:phoff + phentsize * phnum])
    seg_off = (len(out) + 4095) & ~4095
    out += b"\0" * (seg_off - len(out))
    out += seg
    new_phoff = len(out)
    out += phdrs + struct.pack("<IIQQQQQQ", 1, 6, seg_off, SEG_PA, SEG_PA, len(seg), len(seg), 0)
    struct.pack_into("<Q", out, 32, new_phoff)
    struct.pack_into("<H", out, 56, phnum + 1)
    with open(path, "wb") as f:
        f.write(out)
    return path


def bench_synthetic_10k_tasks(ctx):
    fx = ctx.fixture()
    t0 = time.perf_counter()
    path = build_synthetic(ctx, fx, EXTRA_TASKS)
    ctx.figure("synthetic guest built", time.perf_counter() - t0, "s",
               "%d tasks added to the fixture" % EXTRA_TASKS)
    try:
        first, warm = measure(ctx, path)
        _, peer = measure(ctx, path, ["--os=none"])
        report(ctx, "%d+ tasks" % EXTRA_TASKS, first, warm, peer)
        if first[1] < EXTRA_TASKS:
            raise AssertionError("only %d threads listed: the synthetic tasks were not found"
                                 % first[1])
        # the same with a frame cache that holds every task
        first, warm = measure(ctx, path, ["--cache-frames", "65536"])
        report(ctx, "%d+ tasks, --cache-frames 65536" % EXTRA_TASKS, first, warm, None)
    finally:
        os.unlink(path)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import run
    sys.exit(run.main(modules=[__file__]))
