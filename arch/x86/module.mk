# SPDX-License-Identifier: LGPL-2.1-or-later
# x86, pure code: the register file and its gdb layouts, page walks, the
# memory operands of instructions (decoded with Capstone), the conversions
# of Xen's register records.
LIB_SRCS += arch/x86/regs.c arch/x86/paging.c arch/x86/insn.c arch/x86/xen-save.c
LIB_LIBS += -lcapstone
