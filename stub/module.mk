# SPDX-License-Identifier: LGPL-2.1-or-later
# The live engine (run control, breakpoints) and the Xen target of the
# xenstub program, which links Debian's Xen libraries.
ENGINE_SRCS += stub/journal.c stub/breakpoints.c stub/traps.c stub/traps-dr.c
PROG_SRCS := stub/main.c stub/targets.c stub/target-xen.c
PROG_LIBS += -lxenctrl -lxenforeignmemory -lxenevtchn -lxendevicemodel -lxenstore
