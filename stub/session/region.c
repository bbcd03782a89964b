// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory regions of a thread's address space, from its page tables: the
 * page that maps an address with its effective permissions, or the
 * unmapped range around it. What LLDB's qMemoryRegionInfo shows.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "os-awareness/os.h"
#include "stub/session/session-internal.h"

/* Bits of address one entry of level k (0 = the root) covers. */
static unsigned level_shift(enum x86_paging_mode mode, unsigned k)
{
	unsigned n = x86_paging_levels(mode);
	unsigned per = (mode == X86_PAGING_32 || mode == X86_PAGING_32_NOPSE) ?
		       10 : 9;

	return X86_PAGE_SHIFT + per * (n - 1 - k);
}

static void phys_region(struct session *s, uint64_t addr,
			struct mem_region *out)
{
	uint8_t b;

	out->start = addr & ~(X86_PAGE_SIZE - 1);
	out->size = X86_PAGE_SIZE;
	out->mapped = vmem_read_phys(s->mem, addr, &b, 1, NULL) == 0;
	out->readable = out->writable = out->executable = out->mapped;
}

int session_mem_region(struct session *s, uint64_t tid, uint64_t addr,
		       struct mem_region *out)
{
	struct aspace as;
	struct x86_walk w;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = session_aspace(s, tid, &as);
	if (rc < 0)
		return rc;
	if (as.phys || as.mode == X86_PAGING_NONE) {
		phys_region(s, addr, out);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	rc = vmem_translate(s->mem, &as, addr, &w);
	if (rc == 0) {
		out->start = addr & ~(w.page_size - 1);
		out->size = w.page_size;
		out->mapped = out->readable = true;
		out->writable = w.writable;
		out->executable = !w.nx;
		out->user = w.user;
		return 0;
	}
	if (rc == -EINVAL && w.nlevels == 0 &&
	    (as.mode == X86_PAGING_4LEVEL || as.mode == X86_PAGING_5LEVEL)) {
		/* non-canonical: the hole between the two halves */
		unsigned bits = as.mode == X86_PAGING_5LEVEL ? 57 : 48;

		out->start = 1ull << (bits - 1);
		out->size = (~0ull << (bits - 1)) - out->start;
		return 0;
	}
	if (rc == -EFAULT && w.nlevels > 0) {
		/* the entry that is not present covers this much */
		unsigned shift = level_shift(as.mode, w.nlevels - 1);

		if (shift >= 64)
			shift = 63;
		out->start = addr & ~((1ull << shift) - 1);
		out->size = 1ull << shift;
		if (as.mode != X86_PAGING_4LEVEL &&
		    as.mode != X86_PAGING_5LEVEL && out->start + out->size > (1ull << 32))
			out->size = (1ull << 32) - out->start;
		return 0;
	}
	/* an unreadable table or a reserved bit: this page only */
	out->start = addr & ~(X86_PAGE_SIZE - 1);
	out->size = X86_PAGE_SIZE;
	return 0;
}

const char *session_os_name(const struct session *s)
{
	return s->os ? os_name(s->os) : NULL;
}
