// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The simulated CPU's page walk, written from the Intel SDM vol. 3,
 * chapter 4 (4.1 paging modes, 4.3 32-bit paging, 4.4 PAE paging, 4.5
 * 4-level and 5-level paging, 4.6 access rights, 4.7 page-fault causes)
 * and, for what Xen adds, Xen 4.17's guest_walk_tables and the reserved-bit
 * helpers of asm/guest_pt.h. Memory is read one entry at a time through a
 * callback, so the caller decides what a paging-structure read may touch.
 */
#include <errno.h>
#include <string.h>

#include "tests/xensim/simd.h"

/* Bits hi..lo of a 64-bit value; 0 when hi < lo. */
static uint64_t bit_range(unsigned hi, unsigned lo)
{
	uint64_t top;

	if (hi < lo)
		return 0;
	top = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
	return top & ~((1ull << lo) - 1);
}

enum sim_paging sim_paging_mode(const struct sim_mmu *m)
{
	if (!(m->cr0 & SIM_CR0_PG))
		return SIM_PAGING_OFF;
	if (!(m->cr4 & SIM_CR4_PAE))
		return SIM_PAGING_32;
	if (!(m->efer & SIM_EFER_LMA))
		return SIM_PAGING_PAE;
	return (m->cr4 & SIM_CR4_LA57) ? SIM_PAGING_5 : SIM_PAGING_4;
}

const char *sim_paging_name(enum sim_paging mode)
{
	switch (mode) {
	case SIM_PAGING_OFF: return "off";
	case SIM_PAGING_32: return "32-bit";
	case SIM_PAGING_PAE: return "PAE";
	case SIM_PAGING_4: return "4-level";
	case SIM_PAGING_5: return "5-level";
	}
	return "?";
}

const char *sim_walk_level_name(unsigned level)
{
	static const char *const names[] = { "CR3", "PTE", "PDE", "PDPTE",
					     "PML4E", "PML5E" };

	return level < 6 ? names[level] : "?";
}

const char *sim_walk_fault_name(enum sim_walk_fault f)
{
	switch (f) {
	case SIM_WALK_OK: return "ok";
	case SIM_WALK_NONCANONICAL: return "non-canonical";
	case SIM_WALK_NOT_PRESENT: return "not present";
	case SIM_WALK_RESERVED: return "reserved bit";
	case SIM_WALK_READ_ERROR: return "read error";
	}
	return "?";
}

struct walker {
	const struct sim_mmu *m;
	sim_walk_read_fn read;
	void *opaque;
	struct sim_walk *w;
	unsigned maxphy;	/* M */
	bool nxe;		/* XD is a bit, not reserved (PAE and up) */
};

static int stop(struct sim_walk *w, enum sim_walk_fault f, unsigned level)
{
	w->fault = f;
	w->level = level;
	return f == SIM_WALK_NONCANONICAL ? -EINVAL : -EFAULT;
}

static int read_entry(struct walker *k, unsigned level, uint64_t gpa,
		      unsigned size, uint64_t *e)
{
	struct sim_walk *w = k->w;
	int rc;

	*e = 0;
	w->level = level;
	w->entry_gpa[level] = gpa;
	rc = k->read(k->opaque, gpa, size, e);
	if (rc) {
		w->fault = SIM_WALK_READ_ERROR;
		return rc < 0 ? rc : -EIO;
	}
	if (size == 4)
		*e &= 0xffffffffull;
	w->entry[level] = *e;
	return 0;
}

/* SDM 4.6: R/W and U/S must be set at every level; XD at any level
 * forbids fetches (only when EFER.NXE makes it a bit). */
static void accumulate(struct walker *k, uint64_t e)
{
	struct sim_walk *w = k->w;

	w->writable = w->writable && (e & SIM_PTE_RW);
	w->user = w->user && (e & SIM_PTE_US);
	if (k->nxe && (e & SIM_PTE_XD))
		w->nx = true;
}

static void leaf(struct sim_walk *w, uint64_t frame, uint64_t la,
		 uint64_t size)
{
	w->page_size = size;
	w->gpa = frame | (la & (size - 1));
}

/*
 * 32-bit paging (SDM 4.3, tables 4-4 to 4-6). CR3 bits 31:12 locate the
 * page directory. Without CR4.PSE a PDE's PS bit is ignored; with it, PS
 * maps a 4 MiB page whose bits 20:13 give physical bits 39:32 (PSE-36,
 * M = min(MAXPHYADDR, 40)) and bits 21:(M-19) are reserved. Nothing else
 * is reserved in this mode, and there is no XD.
 */
static int walk_32(struct walker *k, uint64_t la)
{
	const struct sim_mmu *m = k->m;
	unsigned M = k->maxphy < 40 ? k->maxphy : 40;
	uint64_t pde, pte;
	int rc;

	la &= 0xffffffffull;
	rc = read_entry(k, SIM_LVL_PDE,
			(m->cr3 & 0xfffff000ull) | ((la >> 22) << 2), 4, &pde);
	if (rc)
		return rc;
	if (!(pde & SIM_PTE_P))
		return stop(k->w, SIM_WALK_NOT_PRESENT, SIM_LVL_PDE);
	if ((m->cr4 & SIM_CR4_PSE) && (pde & SIM_PTE_PS)) {
		if (pde & bit_range(21, M - 19))
			return stop(k->w, SIM_WALK_RESERVED, SIM_LVL_PDE);
		accumulate(k, pde);
		leaf(k->w, (pde & 0xffc00000ull) |
			   ((pde & bit_range(M - 20, 13)) << (32 - 13)),
		     la, 4ull << 20);
		return 0;
	}
	accumulate(k, pde);
	rc = read_entry(k, SIM_LVL_PTE,
			(pde & 0xfffff000ull) | (((la >> 12) & 0x3ff) << 2), 4,
			&pte);
	if (rc)
		return rc;
	if (!(pte & SIM_PTE_P))
		return stop(k->w, SIM_WALK_NOT_PRESENT, SIM_LVL_PTE);
	accumulate(k, pte);
	leaf(k->w, pte & 0xfffff000ull, la, 4096);
	return 0;
}

/*
 * The 64-bit entries below the top of PAE, 4-level and 5-level paging
 * (SDM tables 4-8 to 4-11 and 4-14 to 4-20), from level down to the leaf.
 * Reserved: the bits in common (51:M or 62:M, and XD without EFER.NXE);
 * PS in a PML5E or PML4E (and G on AMD, as Xen's guest_l4e_rsvd_bits);
 * bits 29:13 of a 1 GiB page and 20:13 of a 2 MiB page (bit 12 is PAT).
 * A PTE's bit 7 is PAT. Everything else (A, D, G, AVL, bits 62:52 in
 * 4-level and 5-level paging) is ignored.
 */
static int walk_down(struct walker *k, uint64_t la, uint64_t table,
		     unsigned level, uint64_t rsvd_common)
{
	uint64_t addr = bit_range(k->maxphy - 1, 12);

	for (;; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e, rsvd = rsvd_common;
		int rc;

		rc = read_entry(k, level, table | (((la >> shift) & 0x1ff) << 3),
				8, &e);
		if (rc)
			return rc;
		if (!(e & SIM_PTE_P))
			return stop(k->w, SIM_WALK_NOT_PRESENT, level);
		if (level >= SIM_LVL_PML4E)
			rsvd |= SIM_PTE_PS | (k->m->amd ? SIM_PTE_G : 0);
		else if (level > SIM_LVL_PTE && (e & SIM_PTE_PS))
			rsvd |= bit_range(shift - 1, 13);
		if (e & rsvd)
			return stop(k->w, SIM_WALK_RESERVED, level);
		accumulate(k, e);
		if (level == SIM_LVL_PTE || (e & SIM_PTE_PS)) {
			leaf(k->w, e & addr & ~((1ull << shift) - 1), la,
			     1ull << shift);
			return 0;
		}
		table = e & addr;
	}
}

/*
 * PAE paging (SDM 4.4): CR3 bits 31:5 locate four PDPTEs. A PDPTE
 * carries no access rights. The SDM reserves its bits 2:1, 8:5 and
 * 63:MAXPHYADDR; xensim rejects only 63:MAXPHYADDR, like the processors
 * that ran real PAE guests (a Debian 686-pae kernel runs with the
 * Accessed bit, 5, set in its PDPTEs; AMD's legacy-mode PDPTE format
 * differs from Intel's). PDEs and PTEs reserve bits 62:MAXPHYADDR.
 */
static int walk_pae(struct walker *k, uint64_t la)
{
	unsigned M = k->maxphy;
	uint64_t pdpte;
	int rc;

	la &= 0xffffffffull;
	rc = read_entry(k, SIM_LVL_PDPTE,
			(k->m->cr3 & 0xffffffe0ull) | ((la >> 30) << 3), 8,
			&pdpte);
	if (rc)
		return rc;
	if (!(pdpte & SIM_PTE_P))
		return stop(k->w, SIM_WALK_NOT_PRESENT, SIM_LVL_PDPTE);
	if (pdpte & bit_range(63, M))
		return stop(k->w, SIM_WALK_RESERVED, SIM_LVL_PDPTE);
	return walk_down(k, la, pdpte & bit_range(M - 1, 12), SIM_LVL_PDE,
			 bit_range(62, M) | (k->nxe ? 0 : SIM_PTE_XD));
}

/*
 * 4-level and 5-level paging (SDM 4.5): the address must be canonical
 * (bits 63:47, or 63:56, all equal), else the access is a #GP. CR3 bits
 * M-1:12 locate the top table: its low 12 bits are PCID or PWT/PCD,
 * never address bits.
 */
static int walk_long(struct walker *k, uint64_t la, unsigned levels)
{
	unsigned M = k->maxphy, vbits = levels == 5 ? 57 : 48;
	uint64_t high = la >> (vbits - 1);

	if (high && high != (~0ull >> (vbits - 1)))
		return stop(k->w, SIM_WALK_NONCANONICAL, 0);
	return walk_down(k, la, k->m->cr3 & bit_range(M - 1, 12), levels,
			 bit_range(51, M) | (k->nxe ? 0 : SIM_PTE_XD));
}

int sim_walk(const struct sim_mmu *m, uint64_t la, sim_walk_read_fn read,
	     void *opaque, struct sim_walk *w)
{
	struct walker k = { .m = m, .read = read, .opaque = opaque, .w = w };

	memset(w, 0, sizeof(*w));
	w->mode = sim_paging_mode(m);
	w->writable = w->user = true;
	k.maxphy = m->maxphyaddr < 32 ? 32 :
		   m->maxphyaddr > 52 ? 52 : m->maxphyaddr;
	k.nxe = m->efer & SIM_EFER_NXE;
	switch (w->mode) {
	case SIM_PAGING_OFF:
		w->gpa = la & 0xffffffffull;
		w->page_size = 4096;
		return 0;
	case SIM_PAGING_32:
		k.nxe = false;
		return walk_32(&k, la);
	case SIM_PAGING_PAE:
		return walk_pae(&k, la);
	case SIM_PAGING_4:
		return walk_long(&k, la, 4);
	case SIM_PAGING_5:
		return walk_long(&k, la, 5);
	}
	return -EINVAL;
}

bool sim_walk_permits(const struct sim_mmu *m, const struct sim_walk *w,
		      unsigned need, unsigned cpl)
{
	if (w->fault != SIM_WALK_OK)
		return false;
	if ((need & MEM_ACCESS_W) && !w->writable &&
	    (cpl == 3 || (m->cr0 & SIM_CR0_WP)))
		return false;
	if ((need & MEM_ACCESS_X) && w->nx)
		return false;
	if (cpl == 3 && !w->user)
		return false;
	return true;
}
