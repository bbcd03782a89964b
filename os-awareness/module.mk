# SPDX-License-Identifier: LGPL-2.1-or-later
# OS-awareness: the OS modules behind one ops table (Linux, Windows) and
# the symbol and type sources they share (kallsyms, System.map, BTF,
# Volatility 3 ISF, PE/RSDS).
LIB_SRCS += os-awareness/os.c os-awareness/walk.c \
	os-awareness/symtab.c os-awareness/kallsyms.c \
	os-awareness/kallsyms-scan.c os-awareness/sysmap.c os-awareness/btf.c \
	os-awareness/isf.c os-awareness/pe.c \
	os-awareness/linux.c os-awareness/linux-find.c \
	os-awareness/linux-sources.c \
	os-awareness/linux-types.c os-awareness/linux-tasks.c \
	os-awareness/linux-code.c os-awareness/linux-infer.c \
	os-awareness/linux-infer-code.c os-awareness/linux-infer-data.c \
	os-awareness/linux-dwarf.c \
	os-awareness/windows.c os-awareness/windows-find.c \
	os-awareness/windows-layout.c os-awareness/windows-tasks.c
LIB_LIBS += -ljson-c -llzma -ldw -lelf
