# SPDX-License-Identifier: LGPL-2.1-or-later
# The guest: targets behind one ops table (dumps here, live Xen domains in
# xen/), their registry, guest memory over them, and the recovery journal
# of every change made to a live guest.
LIB_SRCS += stub/guest/target.c stub/guest/targets.c \
	stub/guest/target-core.c stub/guest/dump.c stub/guest/dump-qemu.c \
	stub/guest/dump-xen.c stub/guest/vmem.c stub/guest/journal.c
# the registry without the Xen target, for programs that do not link Xen's
# libraries
NOXEN_SRCS += stub/guest/targets-dump.c
