# SPDX-License-Identifier: LGPL-2.1-or-later
# gdb's agent expressions (breakpoint conditions, agent dprintf, tracepoint
# collection): part of the library, beside the trap engine, on base and
# arch only.
LIB_SRCS += stub/agent/ax.c stub/agent/ax-printf.c stub/agent/ax-packet.c \
	stub/agent/ax-x86.c
