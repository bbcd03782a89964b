# SPDX-License-Identifier: LGPL-2.1-or-later
# The xenstub program: command line, signals and the event loop that joins
# gdb's connection (stub/gdb/) to the engine (libxenstub.a).
PROG_SRCS += stub/main.c
