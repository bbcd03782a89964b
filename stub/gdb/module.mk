# SPDX-License-Identifier: LGPL-2.1-or-later
# The GDB remote protocol front end: packet codec, dispatch, handlers. Not
# part of libxenstub.a: it talks to the engine through session.h only.
GDB_SRCS += stub/gdb/rsp.c stub/gdb/server.c stub/gdb/gdb-query.c \
	stub/gdb/gdb-data.c stub/gdb/gdb-run.c stub/gdb/gdb-lldb.c stub/gdb/refuse.c \
	stub/gdb/launch.c stub/gdb/launch-image.c stub/gdb/gdb-trace.c

# gdb's side of xenstub for the kernel's gdb scripts, next to the program
# (where `xenstub --vmlinux FILE --gdb` looks for it first)
EXTRA_TARGETS += $(O)/xenstub-gdb.py
$(O)/xenstub-gdb.py: stub/gdb/xenstub-gdb.py
	@mkdir -p $(dir $@)
	cp $< $@
