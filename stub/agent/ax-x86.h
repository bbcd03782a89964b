/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `reg` bytecode over an x86 register file: gdb numbers registers as
 * xenstub's target description does (regnum = the row of the layout), so
 * this is the read_reg a caller with a struct x86_regs can use.
 */
#ifndef XENSTUB_AGENT_AX_X86_H
#define XENSTUB_AGENT_AX_X86_H

#include <stdint.h>

struct x86_regs;
struct x86_gdb_layout;

/*
 * Register regno of layout l (x86_gdb_layout(64) or (32)) in r, zero-
 * extended. 0; -ENODATA when r does not know it; -EINVAL when l has no
 * such register; -EOPNOTSUPP when it is wider than 64 bits (x87, SSE).
 * On failure *msg (malloc'd) names the register.
 */
int ax_x86_read_reg(const struct x86_regs *r, const struct x86_gdb_layout *l,
		    unsigned regno, uint64_t *val, char **msg);

#endif
