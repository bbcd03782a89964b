# SPDX-License-Identifier: LGPL-2.1-or-later
# The instruction decoder of the trap engine uses Capstone.
ENGINE_SRCS += arch/x86/insn.c
ENGINE_LIBS += -lcapstone
