// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86 page-table walks for every paging mode, following the Intel SDM
 * volume 3, chapter 4 ("Paging"): entry formats, large pages, reserved
 * bits and the way permissions combine across levels.
 */
#include "arch/x86/paging.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "arch/x86/regs.h"

enum x86_paging_mode x86_paging_mode(uint64_t cr0, uint64_t cr4,
				     uint64_t efer)
{
	if (!(cr0 & X86_CR0_PG))
		return X86_PAGING_NONE;
	if (!(cr4 & X86_CR4_PAE))
		return (cr4 & X86_CR4_PSE) ? X86_PAGING_32 : X86_PAGING_32_NOPSE;
	if (!(efer & X86_EFER_LMA))
		return X86_PAGING_PAE;
	return (cr4 & X86_CR4_LA57) ? X86_PAGING_5LEVEL : X86_PAGING_4LEVEL;
}

enum x86_paging_mode x86_regs_paging_mode(const struct x86_regs *r)
{
	return x86_paging_mode(r->cr0, r->cr4, r->efer);
}

const char *x86_paging_mode_name(enum x86_paging_mode mode)
{
	switch (mode) {
	case X86_PAGING_NONE: return "none (paging off)";
	case X86_PAGING_32: return "2-level (32-bit, PSE)";
	case X86_PAGING_32_NOPSE: return "2-level (32-bit)";
	case X86_PAGING_PAE: return "PAE";
	case X86_PAGING_4LEVEL: return "4-level";
	case X86_PAGING_5LEVEL: return "5-level";
	}
	return "?";
}

int x86_paging_mode_parse(const char *s)
{
	if (!strcmp(s, "32") || !strcasecmp(s, "2") || !strcasecmp(s, "2-level"))
		return X86_PAGING_32;
	if (!strcasecmp(s, "pae") || !strcmp(s, "3"))
		return X86_PAGING_PAE;
	if (!strcmp(s, "4") || !strcasecmp(s, "4-level"))
		return X86_PAGING_4LEVEL;
	if (!strcmp(s, "5") || !strcasecmp(s, "5-level"))
		return X86_PAGING_5LEVEL;
	if (!strcasecmp(s, "none") || !strcasecmp(s, "off"))
		return X86_PAGING_NONE;
	return -1;
}

unsigned x86_paging_levels(enum x86_paging_mode mode)
{
	switch (mode) {
	case X86_PAGING_32:
	case X86_PAGING_32_NOPSE: return 2;
	case X86_PAGING_PAE: return 3;
	case X86_PAGING_4LEVEL: return 4;
	case X86_PAGING_5LEVEL: return 5;
	default: return 0;
	}
}

uint64_t x86_cr3_root(enum x86_paging_mode mode, uint64_t cr3)
{
	switch (mode) {
	case X86_PAGING_32:
	case X86_PAGING_32_NOPSE: return cr3 & 0xfffff000ull;
	case X86_PAGING_PAE: return cr3 & 0xffffffe0ull;
	default: return cr3 & 0x000ffffffffff000ull;
	}
}

static uint64_t bits(unsigned hi, unsigned lo)
{
	return ((hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1))) &
	       ~((1ull << lo) - 1);
}

static int read_entry(x86_phys_read_fn read, void *ctx, uint64_t addr,
		      unsigned size, uint64_t *val)
{
	uint8_t b[8];
	unsigned i;
	int rc = read(ctx, addr, b, size);

	if (rc)
		return rc < 0 ? rc : -EIO;
	*val = 0;
	for (i = 0; i < size; i++)
		*val |= (uint64_t)b[i] << (8 * i);
	return 0;
}

static int walk32(bool pse, uint64_t cr3, uint64_t va, unsigned maxphys,
		  x86_phys_read_fn read, void *ctx, struct x86_walk *w)
{
	uint64_t pd = x86_cr3_root(X86_PAGING_32, cr3), pde, pt, pte;
	int rc;

	va &= 0xffffffffull;
	w->level[0] = (struct x86_walk_level){ pd, pd + ((va >> 22) & 0x3ff) * 4,
					       0, "PDE" };
	rc = read_entry(read, ctx, w->level[0].entry_addr, 4, &pde);
	if (rc)
		return rc;
	w->level[0].entry = pde;
	w->nlevels = 1;
	if (!(pde & X86_PTE_P))
		return -EFAULT;
	w->writable = pde & X86_PTE_RW;
	w->user = pde & X86_PTE_US;
	if (pse && (pde & X86_PTE_PS)) {
		/* PSE-36: PDE bits (M-20):13 are physical address bits
		 * (M-1):32 and bits 21:(M-19) are reserved, where M is
		 * MAXPHYADDR capped at 40 */
		unsigned m = maxphys < 40 ? maxphys : 40;

		if (pde & bits(21, m - 19))
			return -EINVAL;
		w->page_size = 4ull << 20;
		w->paddr = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32) |
			   (va & 0x3fffff);
		return 0;
	}
	pt = pde & 0xfffff000ull;
	w->level[1] = (struct x86_walk_level){ pt, pt + ((va >> 12) & 0x3ff) * 4,
					       0, "PTE" };
	rc = read_entry(read, ctx, w->level[1].entry_addr, 4, &pte);
	if (rc)
		return rc;
	w->level[1].entry = pte;
	w->nlevels = 2;
	if (!(pte & X86_PTE_P))
		return -EFAULT;
	w->writable = w->writable && (pte & X86_PTE_RW);
	w->user = w->user && (pte & X86_PTE_US);
	w->page_size = 4096;
	w->paddr = (pte & 0xfffff000ull) | (va & 0xfff);
	return 0;
}

int x86_translate(enum x86_paging_mode mode, uint64_t cr3, uint64_t va,
		  unsigned maxphys, x86_phys_read_fn read, void *ctx,
		  struct x86_walk *w)
{
	static const char *const names5[] = { "PML5E", "PML4E", "PDPTE", "PDE",
					      "PTE" };
	unsigned levels, lvl, shift;
	uint64_t table, addr_mask, rsvd_hi;
	int rc;

	memset(w, 0, sizeof(*w));
	w->mode = mode;
	if (maxphys < 32 || maxphys > 52)
		maxphys = 52;
	addr_mask = bits(maxphys - 1, 12);
	rsvd_hi = bits(51, maxphys);

	switch (mode) {
	case X86_PAGING_NONE:
		w->paddr = va;
		w->page_size = 4096;
		w->writable = w->user = true;
		return 0;
	case X86_PAGING_32:
	case X86_PAGING_32_NOPSE:
		return walk32(mode == X86_PAGING_32, cr3, va, maxphys, read, ctx,
			      w);
	case X86_PAGING_PAE: {
		uint64_t pdpt = x86_cr3_root(mode, cr3), e;

		va &= 0xffffffffull;
		w->level[0] = (struct x86_walk_level){
			pdpt, pdpt + ((va >> 30) & 3) * 8, 0, "PDPTE" };
		rc = read_entry(read, ctx, w->level[0].entry_addr, 8, &e);
		if (rc)
			return rc;
		w->level[0].entry = e;
		w->nlevels = 1;
		if (!(e & X86_PTE_P))
			return -EFAULT;
		/* PAE PDPTEs carry no permissions. Intel's manual calls
		 * bits 2:1, 8:5 and 63:MAXPHYADDR reserved, but the CPUs
		 * that ran real guests do not all check 2:1 and 8:5 (a
		 * Debian 686-pae guest runs with the Accessed bit, 5, set
		 * in its PDPTEs) and AMD's legacy-mode format differs: a
		 * debugger must not be stricter than the CPU that ran the
		 * guest, so only the bits from MAXPHYADDR up, reserved in
		 * both manuals, are checked. In PDEs and PTEs bits
		 * 62:MAXPHYADDR are reserved (none is ignored as in
		 * 4-level). */
		rsvd_hi = bits(62, maxphys);
		if (e & (rsvd_hi | X86_PTE_NX))
			return -EINVAL;
		w->writable = w->user = true;
		table = e & addr_mask;
		levels = 2;
		lvl = 1;
		shift = 21;
		break;
	}
	case X86_PAGING_4LEVEL:
	case X86_PAGING_5LEVEL: {
		unsigned vbits = mode == X86_PAGING_5LEVEL ? 57 : 48;
		int64_t sx = (int64_t)(va << (64 - vbits)) >> (64 - vbits);

		if ((uint64_t)sx != va)
			return -EINVAL; /* not canonical */
		table = x86_cr3_root(mode, cr3);
		levels = mode == X86_PAGING_5LEVEL ? 5 : 4;
		lvl = 0;
		shift = mode == X86_PAGING_5LEVEL ? 48 : 39;
		w->writable = w->user = true;
		break;
	}
	default:
		return -EINVAL;
	}

	for (; lvl < levels + (mode == X86_PAGING_PAE ? 1 : 0); lvl++, shift -= 9) {
		unsigned depth = (mode == X86_PAGING_PAE) ? lvl + 2 : 5 - levels + lvl;
		uint64_t idx = (va >> shift) & 0x1ff, e;
		struct x86_walk_level *L = &w->level[w->nlevels];
		bool last = shift == 12;

		*L = (struct x86_walk_level){ table, table + idx * 8, 0,
					      names5[depth] };
		rc = read_entry(read, ctx, L->entry_addr, 8, &e);
		if (rc)
			return rc;
		L->entry = e;
		w->nlevels++;
		if (!(e & X86_PTE_P))
			return -EFAULT;
		if (e & rsvd_hi)
			return -EINVAL;
		w->writable = w->writable && (e & X86_PTE_RW);
		w->user = w->user && (e & X86_PTE_US);
		w->nx = w->nx || (e & X86_PTE_NX);
		if (!last && (e & X86_PTE_PS)) {
			/* PS is reserved in PML5E/PML4E; 1 GiB at PDPTE,
			 * 2 MiB at PDE. Bits 12..shift-1 are reserved except
			 * bit 12 (PAT). */
			if (shift > 30)
				return -EINVAL;
			if (e & bits(shift - 1, 13))
				return -EINVAL;
			w->page_size = 1ull << shift;
			w->paddr = (e & addr_mask & ~(w->page_size - 1)) |
				   (va & (w->page_size - 1));
			return 0;
		}
		if (last) {
			w->page_size = 4096;
			w->paddr = (e & addr_mask) | (va & 0xfff);
			return 0;
		}
		table = e & addr_mask;
	}
	return -EINVAL; /* not reached */
}
