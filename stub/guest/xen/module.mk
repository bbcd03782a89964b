# SPDX-License-Identifier: LGPL-2.1-or-later
# The live Xen target, on Debian's Xen libraries (libxen-dev, LGPL-2.1).
LIB_SRCS += stub/guest/xen/xen.c stub/guest/xen/xen-mem.c \
	stub/guest/xen/xen-regs.c stub/guest/xen/xen-events.c \
	stub/guest/xen/xen-recover.c
XEN_LIBS += -lxenctrl -lxenforeignmemory -lxenevtchn -lxendevicemodel -lxenstore
