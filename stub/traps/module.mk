# SPDX-License-Identifier: LGPL-2.1-or-later
# The trap engine: int3 breakpoints, mem_access traps and debug registers,
# built from a target, guest memory and the recovery journal.
LIB_SRCS += stub/traps/breakpoints.c stub/traps/traps.c stub/traps/traps-dr.c
