# SPDX-License-Identifier: LGPL-2.1-or-later
# The trap engine: int3 breakpoints, mem_access traps, debug registers and
# the recovery journal of every change made to a live guest.
LIB_SRCS += stub/traps/journal.c stub/traps/breakpoints.c \
	stub/traps/traps.c stub/traps/traps-dr.c
