// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Register reads for the `reg` bytecode from an x86 register file, in the
 * numbering of xenstub's target description.
 */
#include "stub/agent/ax-x86.h"

#include <errno.h>

#include "arch/x86/regs.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"

int ax_x86_read_reg(const struct x86_regs *r, const struct x86_gdb_layout *l,
		    unsigned regno, uint64_t *val, char **msg)
{
	uint8_t buf[16];
	size_t size = x86_gdb_reg_size(l, regno);
	int rc;

	if (!size) {
		if (msg)
			*msg = xstrfmt("no register %u in the %s layout", regno,
				       l->arch);
		return -EINVAL;
	}
	if (size > 8) {
		if (msg)
			*msg = xstrfmt("register %u (%s) has %zu bits: not an integer",
				       regno, l->regs[regno].name, size * 8);
		return -EOPNOTSUPP;
	}
	rc = x86_gdb_reg_get(r, l, regno, buf);
	if (rc < 0) {
		if (msg)
			*msg = xstrfmt("register %u (%s) is not known", regno,
				       l->regs[regno].name);
		return rc == -ENODATA ? -ENODATA : rc;
	}
	*val = get_le(buf, (unsigned)size);
	return 0;
}
