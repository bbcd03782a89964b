# SPDX-License-Identifier: LGPL-2.1-or-later
# OS-awareness: the Linux module and the symbol and type sources it shares
# with other OS modules (kallsyms, System.map, BTF, Volatility 3 ISF).
ENGINE_SRCS += os-awareness/walk.c os-awareness/kallsyms.c os-awareness/sysmap.c \
	os-awareness/btf.c os-awareness/isf.c \
	os-awareness/linux.c os-awareness/linux-find.c \
	os-awareness/linux-types.c os-awareness/linux-tasks.c \
	os-awareness/linux-code.c os-awareness/linux-infer.c os-awareness/linux-dwarf.c
ENGINE_LIBS += -ljson-c -llzma -ldw -lelf
include os-awareness/windows.mk
