# SPDX-License-Identifier: LGPL-2.1-or-later
# The Windows OS-awareness module: PE/RSDS parsing, finding the kernel and
# its Volatility 3 symbol table, processes and threads, loaded drivers.
# Included from os-awareness/module.mk; the ISF reader and its libraries
# (json-c, liblzma) come from there.
ENGINE_SRCS += os-awareness/pe.c os-awareness/windows.c \
	os-awareness/windows-find.c os-awareness/windows-layout.c \
	os-awareness/windows-tasks.c
