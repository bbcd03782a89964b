# SPDX-License-Identifier: LGPL-2.1-or-later
# The xenstub program: its command line (cli.c), the transports gdb
# connects through (listen.c), signals and the event loop that joins gdb's
# connection (stub/gdb/) to the engine (libxenstub.a) (main.c).
PROG_SRCS += stub/main.c stub/cli.c stub/listen.c
