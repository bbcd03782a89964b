// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The live Xen target's memory: guest frames mapped into xenstub through
 * libxenforeignmemory, in batches, a frame that cannot be mapped
 * reported as missing rather than failing its neighbours.
 */
#include "stub/guest/xen/xen-internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "stub/base/log.h"

/* ---- memory ---- */

int xen_map(struct target *t, uint64_t gfn, unsigned count, bool write,
		   void **ptrs, void **handle)
{
	struct xen_target *x = to_xen(t);
	xen_pfn_t pfns[1024];
	int errs[1024];
	uint8_t *base;
	unsigned i, ok = 0;

	if (count > 1024)
		return -EINVAL;
	for (i = 0; i < count; i++)
		pfns[i] = (xen_pfn_t)(gfn + i);
	base = xenforeignmemory_map(x->fmem, x->domid,
				    write ? PROT_READ | PROT_WRITE : PROT_READ,
				    count, pfns, errs);
	if (!base) {
		int e = errno ? errno : EIO;

		target_set_error(t, "mapping frames 0x%llx..0x%llx failed: %s",
				 (unsigned long long)gfn,
				 (unsigned long long)(gfn + count - 1), strerror(e));
		/* report frames as missing rather than failing the read of
		 * a neighbour: map one at a time */
		if (count > 1)
			return -e;
		ptrs[0] = NULL;
		*handle = NULL;
		return 0;
	}
	for (i = 0; i < count; i++) {
		ptrs[i] = errs[i] ? NULL : base + (size_t)i * XC_PAGE_SIZE;
		ok += !errs[i];
	}
	log_dbg(LC_MEM, "mapped %u/%u frames at gfn 0x%llx", ok, count,
		(unsigned long long)gfn);
	*handle = base;
	return 0;
}

void xen_unmap(struct target *t, void *handle, unsigned count)
{
	xenforeignmemory_unmap(to_xen(t)->fmem, handle, count);
}
