# SPDX-License-Identifier: LGPL-2.1-or-later
"""What a register write does to an HVM/PVH domain, done with libxenctrl
alone (no xenstub, no gdb), for dom0_tests.py's on-request `hvmload` check
(and the pauses and monitor rings of its `pausestress` and `ringstress`):
pause the domain, read its whole HVM context, load back the header and
every vCPU's CPU and MTRR records, unpause. This tells what Xen's context
load itself does to a guest from what xenstub adds to it.
"""

import ctypes
import struct
import time

HEADER, CPU, MTRR, END = 1, 2, 14, 0
# struct hvm_hw_cpu (Xen 4.17 public/arch-x86/hvm/save.h): where tsc lies
CPU_TSC_OFFSET = 1008
# struct hvm_save_header: magic, version, changeset, cpuid, gtsc_khz
HEADER_GTSC_OFFSET = 20


class Xc:
    """The few libxenctrl calls a context load needs."""

    def __init__(self):
        self.lib = ctypes.CDLL("libxenctrl.so.4.17", use_errno=True)
        self.lib.xc_interface_open.restype = ctypes.c_void_p
        self.lib.xc_interface_open.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint]
        for name in ("xc_domain_pause", "xc_domain_unpause"):
            getattr(self.lib, name).argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        self.lib.xc_domain_hvm_getcontext.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                                      ctypes.c_void_p, ctypes.c_uint32]
        self.lib.xc_domain_hvm_setcontext.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                                      ctypes.c_void_p, ctypes.c_uint32]
        self.lib.xc_monitor_enable.restype = ctypes.c_void_p
        self.lib.xc_monitor_enable.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                               ctypes.POINTER(ctypes.c_uint32)]
        self.lib.xc_monitor_disable.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        self.lib.xc_monitor_debug_exceptions.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                                         ctypes.c_bool, ctypes.c_bool]
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.xch = self.lib.xc_interface_open(None, None, 0)
        if not self.xch:
            raise OSError(ctypes.get_errno(), "xc_interface_open")

    def call(self, name, *args):
        rc = getattr(self.lib, name)(self.xch, *args)
        if rc < 0:
            raise OSError(ctypes.get_errno(), name)
        return rc

    def monitor_ring(self, domid):
        """What xenstub's attach does on AMD: xc_monitor_enable, then the
        synchronous debug-exception monitor on. The ring page (for
        monitor_off)."""
        port = ctypes.c_uint32()
        page = self.lib.xc_monitor_enable(self.xch, domid, ctypes.byref(port))
        if not page:
            raise OSError(ctypes.get_errno(), "xc_monitor_enable")
        self.call("xc_monitor_debug_exceptions", domid, True, True)
        return page

    def monitor_off(self, domid, page):
        self.call("xc_monitor_debug_exceptions", domid, False, False)
        self.call("xc_monitor_disable", domid)
        self.libc.munmap(page, 4096)

    def getcontext(self, domid):
        size = self.call("xc_domain_hvm_getcontext", domid, None, 0)
        buf = ctypes.create_string_buffer(size)
        size = self.call("xc_domain_hvm_getcontext", domid, buf, size)
        return buf.raw[:size]


def records(ctx):
    """[(typecode, instance, body)] of a whole-domain HVM context."""
    out, off = [], 0
    while off + 8 <= len(ctx):
        code, inst, length = struct.unpack_from("<HHI", ctx, off)
        out.append((code, inst, ctx[off + 8:off + 8 + length]))
        off += 8 + length
        if code == END:
            break
    return out


def pack(recs):
    return b"".join(struct.pack("<HHI", c, i, len(b)) + b for c, i, b in recs)


def load_cycle(xc, domid, advance=True):
    """One register write's worth of context load: pause, get, keep the
    header, CPU and MTRR records (and the end), with advance move each
    CPU record's TSC on by the time between the get and the set at the
    guest's TSC rate (what xenstub does), set, unpause. Returns the gap in
    microseconds and the TSCs loaded {vCPU: tsc}."""
    xc.call("xc_domain_pause", domid)
    try:
        got = time.monotonic_ns()
        recs = [r for r in records(xc.getcontext(domid)) if r[0] in (HEADER, CPU, MTRR, END)]
        khz = 0
        for code, _, body in recs:
            if code == HEADER:
                khz = struct.unpack_from("<I", body, HEADER_GTSC_OFFSET)[0]
        gap = time.monotonic_ns() - got
        ticks = gap // 1000 * khz // 1000 if advance else 0
        out, tscs = [], {}
        for code, inst, body in recs:
            if code == CPU:
                tsc = (struct.unpack_from("<Q", body, CPU_TSC_OFFSET)[0] + ticks) & ((1 << 64) - 1)
                body = body[:CPU_TSC_OFFSET] + struct.pack("<Q", tsc) + body[CPU_TSC_OFFSET + 8:]
                tscs[inst] = tsc
            out.append((code, inst, body))
        data = pack(out)
        buf = ctypes.create_string_buffer(data, len(data))
        xc.call("xc_domain_hvm_setcontext", domid, buf, len(data))
        return gap // 1000, tscs
    finally:
        xc.call("xc_domain_unpause", domid)
