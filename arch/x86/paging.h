/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x86 page-table walks: 2-level (with 4 MiB PSE pages), PAE, 4-level and
 * 5-level paging, large pages included. Pure functions: physical memory is
 * read through a callback, so the same code serves dumps, Xen and tests.
 */
#ifndef XENSTUB_ARCH_X86_PAGING_H
#define XENSTUB_ARCH_X86_PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct x86_regs;

enum x86_paging_mode {
	X86_PAGING_NONE = 0,	/* paging off: virtual = physical */
	X86_PAGING_32,		/* 2-level, 32-bit entries, 4 MiB pages (CR4.PSE) */
	X86_PAGING_32_NOPSE,	/* 2-level without CR4.PSE: PDE.PS is ignored */
	X86_PAGING_PAE,		/* 3-level, 64-bit entries */
	X86_PAGING_4LEVEL,
	X86_PAGING_5LEVEL,
};

/* Reads len bytes of guest-physical memory; 0 or a negative errno. */
typedef int (*x86_phys_read_fn)(void *ctx, uint64_t paddr, void *buf,
				size_t len);

/* The paging mode from CR0.PG, CR4.PAE, CR4.LA57 and EFER.LMA. */
enum x86_paging_mode x86_paging_mode(uint64_t cr0, uint64_t cr4,
				     uint64_t efer);
enum x86_paging_mode x86_regs_paging_mode(const struct x86_regs *r);
const char *x86_paging_mode_name(enum x86_paging_mode mode);
/* Parses "32", "pae", "4", "5" or "none"; -1 if unknown. */
int x86_paging_mode_parse(const char *s);
/* Number of table levels walked in the mode (0 for NONE). */
unsigned x86_paging_levels(enum x86_paging_mode mode);

/* the smallest page: every frame of guest memory */
#define X86_PAGE_SHIFT 12
#define X86_PAGE_SIZE (1ull << X86_PAGE_SHIFT)

#define X86_PTE_P (1ull << 0)
#define X86_PTE_RW (1ull << 1)
#define X86_PTE_US (1ull << 2)
#define X86_PTE_PS (1ull << 7)
#define X86_PTE_NX (1ull << 63)

struct x86_walk_level {
	uint64_t table;		/* physical address of the table */
	uint64_t entry_addr;	/* physical address of the entry */
	uint64_t entry;		/* its value */
	const char *name;	/* "PML5E", "PML4E", "PDPTE", "PDE", "PTE" */
};

struct x86_walk {
	enum x86_paging_mode mode;
	unsigned nlevels;	/* levels actually read */
	struct x86_walk_level level[5];
	uint64_t paddr;		/* valid when the walk succeeded */
	uint64_t page_size;	/* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	bool writable, user, nx;	/* effective permissions */
};

/*
 * Translates vaddr in the address space rooted at cr3. Returns 0 with out
 * filled, -EFAULT if an entry is not present, -EINVAL for a non-canonical
 * address or a reserved bit set in an entry, or the callback's error when
 * a table cannot be read. On failure out->nlevels tells how far it went.
 * maxphys is the guest's physical address width (52 if unknown).
 */
int x86_translate(enum x86_paging_mode mode, uint64_t cr3, uint64_t vaddr,
		  unsigned maxphys, x86_phys_read_fn read, void *ctx,
		  struct x86_walk *out);

/* The page-aligned root table address in cr3 for the mode. */
uint64_t x86_cr3_root(enum x86_paging_mode mode, uint64_t cr3);

/* Bytes from vaddr to the end of its page of size page_size. */
static inline uint64_t x86_page_remaining(uint64_t vaddr, uint64_t page_size)
{
	return page_size - (vaddr & (page_size - 1));
}

#endif
