// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the x86 page-table walks (arch/x86/paging.c) on synthetic
 * page tables: every paging mode, large pages, PSE-36, reserved bits,
 * canonical addresses, non-present entries at every level, permissions
 * across levels, and the paging mode of every CR0/CR4/EFER combination.
 * Expectations follow the Intel SDM volume 3, chapter 4.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "arch/x86/paging.h"
#include "arch/x86/regs.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

#define P X86_PTE_P
#define RW X86_PTE_RW
#define US X86_PTE_US
#define PS X86_PTE_PS
#define NX X86_PTE_NX
#define PAT_LARGE (1ull << 12)
#define PRW (P | RW | US)

/* Sparse guest-physical memory: pages created on first write. */
struct pm {
	struct {
		uint64_t pa;
		uint8_t data[4096];
	} page[64];
	unsigned n;
	unsigned reads;
};

static uint8_t *pm_find(struct pm *m, uint64_t pa)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->page[i].pa == (pa & ~0xfffull))
			return m->page[i].data + (pa & 0xfff);
	return NULL;
}

static uint8_t *pm_at(struct pm *m, uint64_t pa)
{
	uint8_t *p = pm_find(m, pa);

	if (p)
		return p;
	assert_true(m->n < 64);
	m->page[m->n].pa = pa & ~0xfffull;
	memset(m->page[m->n].data, 0, 4096);
	return m->page[m->n++].data + (pa & 0xfff);
}

static void set64(struct pm *m, uint64_t pa, uint64_t v)
{
	uint8_t *p = pm_at(m, pa);
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void set32(struct pm *m, uint64_t pa, uint32_t v)
{
	uint8_t *p = pm_at(m, pa);
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The walker's read callback: a page that was never written cannot be
 * read (-EIO), and no read may cross a page. */
static int pm_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct pm *m = ctx;
	uint8_t *p = pm_find(m, pa);

	m->reads++;
	assert_true((pa & 0xfff) + len <= 4096);
	if (!p)
		return -EIO;
	memcpy(buf, p, len);
	return 0;
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct pm));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int xlate(struct pm *m, enum x86_paging_mode mode, uint64_t cr3,
		 uint64_t va, unsigned maxphys, struct x86_walk *w)
{
	return x86_translate(mode, cr3, va, maxphys, pm_read, m, w);
}

/*
 * Writes a chain of 64-bit entries for va: the first at root, indexed
 * from top_shift down by 9 bits a level; entry i points at next[i] (the
 * last one at leaf) with flags[i].
 */
static void chain(struct pm *m, uint64_t root, uint64_t va, unsigned top_shift,
		  unsigned nlev, const uint64_t *next, uint64_t leaf,
		  const uint64_t *flags)
{
	uint64_t table = root;
	unsigned i, shift = top_shift;

	for (i = 0; i < nlev; i++, shift -= 9) {
		uint64_t target = i + 1 < nlev ? next[i] : leaf;

		set64(m, table + ((va >> shift) & 0x1ff) * 8, target | flags[i]);
		table = target;
	}
}

/* ---- no paging ---- */

static void test_none_is_identity(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;

	assert_int_equal(xlate(m, X86_PAGING_NONE, 0x1000, 0x12345678, 52, &w), 0);
	assert_true(w.paddr == 0x12345678);
	assert_int_equal(w.nlevels, 0);
	assert_true(w.writable && w.user && !w.nx);
	assert_int_equal(m->reads, 0);
}

/* ---- 2-level paging ---- */

static void test_32_small_page(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;
	uint64_t va = 0x00403123;

	/* PDE 1 of the directory at 0x1000, PTE 3 of the table at 0x2000 */
	set32(m, 0x1000 + 1 * 4, 0x2000 | PRW);
	set32(m, 0x2000 + 3 * 4, 0x5000 | PRW);
	/* CR3's PWT/PCD bits are not part of the address */
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1018, va, 52, &w), 0);
	assert_true(w.paddr == 0x5123);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.nlevels, 2);
	assert_true(w.level[0].entry_addr == 0x1004);
	assert_true(w.level[1].entry_addr == 0x200c);
	assert_true(w.level[1].table == 0x2000);
	assert_true(w.level[1].entry == (0x5000 | PRW));
	assert_string_equal(w.level[0].name, "PDE");
	assert_string_equal(w.level[1].name, "PTE");
	assert_true(w.writable && w.user && !w.nx);
	/* the same without PSE */
	assert_int_equal(xlate(m, X86_PAGING_32_NOPSE, 0x1000, va, 52, &w), 0);
	assert_true(w.paddr == 0x5123);
}

static void test_32_pse_large_page(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;
	uint64_t va = 0x00812345; /* PDE 2 */

	/* a 4 MiB page at 0x0c000000; PAT (bit 12) is not an address bit */
	set32(m, 0x1000 + 2 * 4, 0x0c000000 | PAT_LARGE | PS | P | RW);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 52, &w), 0);
	assert_true(w.paddr == 0x0c012345);
	assert_true(w.page_size == 4 * MiB);
	assert_int_equal(w.nlevels, 1);
	assert_true(w.writable && !w.user);
}

static void test_32_pse36_high_bits(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;
	uint64_t va = 0x00812345;

	/* PDE bits 20:13 are physical address bits 39:32 */
	set32(m, 0x1000 + 2 * 4, 0x0c000000 | (0x5aull << 13) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 40, &w), 0);
	assert_true(w.paddr == 0x5a0c012345ull);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 52, &w), 0);
	assert_true(w.paddr == 0x5a0c012345ull);
	/* bit 21 is reserved */
	set32(m, 0x1000 + 2 * 4, 0x0c000000 | (1u << 21) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 52, &w), -EINVAL);
	assert_int_equal(w.nlevels, 1);
}

static void test_32_pse36_above_maxphys(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;
	uint64_t va = 0x00812345;

	/* MAXPHYADDR 36: address bits 35:32 come from PDE bits 16:13, and
	 * PDE bits 20:17 are reserved */
	set32(m, 0x1000 + 2 * 4, 0x0c000000 | (0x0full << 13) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 36, &w), 0);
	assert_true(w.paddr == 0xf0c012345ull);
	set32(m, 0x1000 + 2 * 4, 0x0c000000 | (0x10ull << 13) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 36, &w), -EINVAL);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 40, &w), 0);
	assert_true(w.paddr == 0x100c012345ull);
	/* MAXPHYADDR 32: no address bit above 31 exists */
	set32(m, 0x1000 + 2 * 4, 0x0c000000 | (1ull << 13) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 32, &w), -EINVAL);
}

static void test_32_nopse_ignores_ps(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;
	uint64_t va = 0x00812345;

	/* without CR4.PSE the PS bit is ignored: the PDE names a table */
	set32(m, 0x1000 + 2 * 4, 0x00c00000 | PS | PRW);
	set32(m, 0x00c00000 + 0x12 * 4, 0x9000 | PRW);
	assert_int_equal(xlate(m, X86_PAGING_32_NOPSE, 0x1000, va, 52, &w), 0);
	assert_true(w.paddr == 0x9345);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.nlevels, 2);
	/* with PSE the same entry is a 4 MiB page */
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, va, 52, &w), 0);
	assert_true(w.paddr == 0x00c12345);
	assert_true(w.page_size == 4 * MiB);
}

static void test_32_not_present(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;

	set32(m, 0x1000 + 1 * 4, 0x2000 | RW | US); /* not present */
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, 0x00403000, 52, &w), -EFAULT);
	assert_int_equal(w.nlevels, 1);
	assert_true(w.level[0].entry == (0x2000 | RW | US));
	set32(m, 0x1000 + 1 * 4, 0x2000 | PRW);
	set32(m, 0x2000 + 3 * 4, 0x5000 | RW); /* not present */
	assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, 0x00403000, 52, &w), -EFAULT);
	assert_int_equal(w.nlevels, 2);
	/* a table that cannot be read: the reader's error */
	assert_int_equal(xlate(m, X86_PAGING_32, 0x7000, 0x00403000, 52, &w), -EIO);
	assert_int_equal(w.nlevels, 0);
}

static void test_32_permissions(void **state)
{
	struct pm *m = *state;
	unsigned pde, pte;

	for (pde = 0; pde < 4; pde++) {
		for (pte = 0; pte < 4; pte++) {
			uint64_t fp = (pde & 1 ? RW : 0) | (pde & 2 ? US : 0);
			uint64_t ft = (pte & 1 ? RW : 0) | (pte & 2 ? US : 0);
			struct x86_walk w;

			set32(m, 0x1000, (uint32_t)(0x2000 | P | fp));
			set32(m, 0x2000, (uint32_t)(0x3000 | P | ft));
			assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, 0x10, 52, &w), 0);
			assert_int_equal(w.writable, (pde & 1) && (pte & 1));
			assert_int_equal(w.user, (pde & 2) && (pte & 2));
			assert_false(w.nx);
			/* a 4 MiB page takes the PDE's permissions */
			set32(m, 0x1000, (uint32_t)(0x400000 | PS | P | fp));
			assert_int_equal(xlate(m, X86_PAGING_32, 0x1000, 0x10, 52, &w), 0);
			assert_int_equal(w.writable, (pde & 1) != 0);
			assert_int_equal(w.user, (pde & 2) != 0);
		}
	}
}

/* ---- PAE ---- */

/* va 0x40201123: PDPTE 1, PDE 1, PTE 1 */
#define PAE_VA 0x40201123ull
#define PAE_CR3 0x1020ull /* 32-byte aligned, not page aligned */

static void pae_map(struct pm *m, uint64_t pdpte_flags, uint64_t pde_flags,
		    uint64_t pte_flags)
{
	set64(m, 0x1020 + 1 * 8, 0x2000 | pdpte_flags);
	set64(m, 0x2000 + 1 * 8, 0x3000 | pde_flags);
	set64(m, 0x3000 + 1 * 8, 0x7000 | pte_flags);
}

static void test_pae_small_page(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;

	pae_map(m, P, PRW, PRW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 52, &w), 0);
	assert_true(w.paddr == 0x7123);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.nlevels, 3);
	assert_true(w.level[0].entry_addr == 0x1028);
	assert_true(w.level[1].entry_addr == 0x2008);
	assert_true(w.level[2].entry_addr == 0x3008);
	assert_string_equal(w.level[0].name, "PDPTE");
	assert_string_equal(w.level[1].name, "PDE");
	assert_string_equal(w.level[2].name, "PTE");
	assert_true(w.writable && w.user && !w.nx);
	/* tables above 4 GiB */
	set64(m, 0x1020 + 1 * 8, 0x100002000ull | P);
	set64(m, 0x100002000ull + 1 * 8, 0x3000 | PRW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 40, &w), 0);
	assert_true(w.paddr == 0x7123);
}

static void test_pae_large_page(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;
	uint64_t va = 0x40412345; /* PDPTE 1, PDE 2 */

	set64(m, 0x1020 + 1 * 8, 0x2000 | P);
	set64(m, 0x2000 + 2 * 8, 0x12e00000ull | PAT_LARGE | PS | P | RW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, va, 52, &w), 0);
	assert_true(w.paddr == 0x12e12345);
	assert_true(w.page_size == 2 * MiB);
	assert_int_equal(w.nlevels, 2);
	assert_true(w.writable && !w.user);
	/* bits 20:13 of a 2 MiB entry are reserved */
	set64(m, 0x2000 + 2 * 8, 0x12e00000ull | (1ull << 13) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, va, 52, &w), -EINVAL);
	set64(m, 0x2000 + 2 * 8, 0x12e00000ull | (1ull << 20) | PS | P);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, va, 52, &w), -EINVAL);
}

static void test_pae_pdpte_reserved_bits(void **state)
{
	struct pm *m = *state;
	static const unsigned bad[] = { 36, 40, 51, 52, 55, 58, 62, 63 };
	struct x86_walk w;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pae_map(m, P | (1ull << bad[i]), PRW, PRW);
		assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w),
				 -EINVAL);
		assert_int_equal(w.nlevels, 1);
	}
	/* PWT, PCD and the ignored bits 11:9 are allowed; so are 2:1 and
	 * 8:5 (Intel calls them reserved, but guests run with the Accessed
	 * bit set there: a debugger is never stricter than their CPU) */
	pae_map(m, P | (1ull << 3) | (1ull << 4) | (7ull << 9), PRW, PRW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w), 0);
	assert_true(w.paddr == 0x7123);
	for (i = 0; i < 9; i++) {
		if (i == 0 || i == 3 || i == 4)
			continue;
		pae_map(m, P | (1ull << i), PRW, PRW);
		assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w), 0);
		assert_true(w.paddr == 0x7123);
	}
	/* the real entry of a Debian 686-pae guest: P and Accessed */
	set64(m, 0x1020 + 1 * 8, 0x2000 | 0x21);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w), 0);
	assert_true(w.paddr == 0x7123);
}

/* Accessed, Dirty, Global, PAT/PWT/PCD and the bits software may use
 * (AVL 11:9, and 62:52 in 64-bit entries) change no translation, at any
 * level and in any mode. */
static void test_status_and_ignored_bits_everywhere(void **state)
{
	struct pm *m = *state;
	const uint64_t any = (1ull << 5) | (1ull << 3) | (1ull << 4) | (7ull << 9);
	const uint64_t leaf = any | (1ull << 6) | (1ull << 8);
	const uint64_t hi = 0x7ffull << 52;	/* 62:52, 64-bit entries */
	struct x86_walk w;

	/* 4-level, 4 KiB pages: va 0x0000_0080_4020_1123 */
	set64(m, 0x1000 + 1 * 8, 0x2000 | PRW | any | hi);
	set64(m, 0x2000 + 1 * 8, 0x3000 | PRW | any | hi);
	set64(m, 0x3000 + 1 * 8, 0x4000 | PRW | any | hi);
	set64(m, 0x4000 + 1 * 8, 0x9000 | PRW | leaf | hi);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, 0x8040201123ull, 52, &w), 0);
	assert_true(w.paddr == 0x9123 && w.writable && w.user && !w.nx);
	/* PAE (whose PDEs and PTEs reserve 62:MAXPHYADDR) */
	pae_map(m, P | (1ull << 5) | (1ull << 3) | (7ull << 9), PRW | any, PRW | leaf);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 52, &w), 0);
	assert_true(w.paddr == 0x7123);
	/* 2-level */
	set32(m, 0x5000 + 1 * 4, 0x6000 | (uint32_t)(PRW | any));
	set32(m, 0x6000 + 1 * 4, 0x8000 | (uint32_t)(PRW | leaf));
	assert_int_equal(xlate(m, X86_PAGING_32, 0x5000, 0x401123, 52, &w), 0);
	assert_true(w.paddr == 0x8123);
}

static void test_pae_pde_pte_reserved_bits(void **state)
{
	struct pm *m = *state;
	static const unsigned bad[] = { 36, 40, 51, 52, 57, 62 };
	struct x86_walk w;
	size_t i;

	/* in PAE paging, bits 62:MAXPHYADDR of PDEs and PTEs are reserved
	 * (none of them is ignored as in 4-level paging) */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pae_map(m, P, PRW | (1ull << bad[i]), PRW);
		assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w),
				 -EINVAL);
		assert_int_equal(w.nlevels, 2);
		pae_map(m, P, PRW, PRW | (1ull << bad[i]));
		assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w),
				 -EINVAL);
		assert_int_equal(w.nlevels, 3);
	}
	/* bit 35 is an address bit with MAXPHYADDR 36 */
	pae_map(m, P, PRW, PRW | (1ull << 35));
	set64(m, 0x3000 + 1 * 8, 0x800007000ull | PRW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 36, &w), 0);
	assert_true(w.paddr == 0x800007123ull);
}

static void test_pae_not_present(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;

	pae_map(m, 0, PRW, PRW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 52, &w), -EFAULT);
	assert_int_equal(w.nlevels, 1);
	pae_map(m, P, RW | US, PRW);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 52, &w), -EFAULT);
	assert_int_equal(w.nlevels, 2);
	pae_map(m, P, PRW, RW | US);
	assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 52, &w), -EFAULT);
	assert_int_equal(w.nlevels, 3);
}

static void test_pae_permissions(void **state)
{
	struct pm *m = *state;
	unsigned pde, pte;

	for (pde = 0; pde < 8; pde++) {
		for (pte = 0; pte < 8; pte++) {
			uint64_t fd = (pde & 1 ? RW : 0) | (pde & 2 ? US : 0) |
				      (pde & 4 ? NX : 0);
			uint64_t ft = (pte & 1 ? RW : 0) | (pte & 2 ? US : 0) |
				      (pte & 4 ? NX : 0);
			struct x86_walk w;

			pae_map(m, P, P | fd, P | ft);
			assert_int_equal(xlate(m, X86_PAGING_PAE, PAE_CR3, PAE_VA, 52, &w), 0);
			assert_int_equal(w.writable, (pde & 1) && (pte & 1));
			assert_int_equal(w.user, (pde & 2) && (pte & 2));
			assert_int_equal(w.nx, (pde & 4) || (pte & 4));
		}
	}
}

/* ---- 4-level and 5-level ---- */

#define K_VA 0xffff888000201123ull /* a canonical kernel address */

static void map4(struct pm *m, uint64_t va, const uint64_t flags[4])
{
	static const uint64_t next[3] = { 0x2000, 0x3000, 0x4000 };

	chain(m, 0x1000, va, 39, 4, next, 0x9000, flags);
}

static void test_4level_small_page(void **state)
{
	struct pm *m = *state;
	static const uint64_t f[4] = { PRW, PRW, PRW, PRW };
	struct x86_walk w;
	static const char *const names[4] = { "PML4E", "PDPTE", "PDE", "PTE" };
	unsigned i;

	map4(m, K_VA, f);
	/* CR3 bits 11:0 (PCID, PWT, PCD) are not part of the address */
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000 | 0x123, K_VA, 52, &w), 0);
	assert_true(w.paddr == 0x9123);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.nlevels, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(w.level[i].name, names[i]);
	assert_true(w.level[0].entry_addr == 0x1000 + ((K_VA >> 39) & 0x1ff) * 8);
	assert_true(w.level[1].entry_addr == 0x2000 + ((K_VA >> 30) & 0x1ff) * 8);
	assert_true(w.level[2].entry_addr == 0x3000 + ((K_VA >> 21) & 0x1ff) * 8);
	assert_true(w.level[3].entry_addr == 0x4000 + ((K_VA >> 12) & 0x1ff) * 8);
	assert_true(w.writable && w.user && !w.nx);
}

static void test_4level_large_pages(void **state)
{
	struct pm *m = *state;
	static const uint64_t next[1] = { 0x2000 };
	static const uint64_t next2[2] = { 0x2000, 0x3000 };
	static const uint64_t f1g[2] = { PRW, PS | PAT_LARGE | P | RW };
	static const uint64_t f2m[3] = { PRW, PRW, PS | PAT_LARGE | P | US };
	uint64_t va1 = 0xffff888012345678ull, va2 = 0x00007f0000345678ull;
	struct x86_walk w;

	chain(m, 0x1000, va1, 39, 2, next, 0x1c0000000ull, f1g);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, va1, 52, &w), 0);
	assert_true(w.paddr == 0x1c0000000ull + (va1 & (GiB - 1)));
	assert_true(w.page_size == GiB);
	assert_int_equal(w.nlevels, 2);
	assert_true(w.writable && !w.user);

	chain(m, 0x1000, va2, 39, 3, next2, 0x12e00000ull, f2m);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, va2, 52, &w), 0);
	assert_true(w.paddr == 0x12e00000ull + (va2 & (2 * MiB - 1)));
	assert_true(w.page_size == 2 * MiB);
	assert_int_equal(w.nlevels, 3);
	assert_true(!w.writable && w.user);
}

static void test_4level_large_page_reserved_low_bits(void **state)
{
	struct pm *m = *state;
	static const uint64_t next[2] = { 0x2000, 0x3000 };
	uint64_t va = 0x0000000040200000ull;
	static const unsigned bad1g[] = { 13, 20, 21, 29 };
	static const unsigned bad2m[] = { 13, 16, 20 };
	struct x86_walk w;
	size_t i;

	for (i = 0; i < sizeof(bad1g) / sizeof(bad1g[0]); i++) {
		uint64_t f[2] = { PRW, PS | P | (1ull << bad1g[i]) };

		chain(m, 0x1000, va, 39, 2, next, 0x40000000, f);
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, va, 52, &w), -EINVAL);
		assert_int_equal(w.nlevels, 2);
	}
	for (i = 0; i < sizeof(bad2m) / sizeof(bad2m[0]); i++) {
		uint64_t f[3] = { PRW, PRW, PS | P | (1ull << bad2m[i]) };

		chain(m, 0x1000, va, 39, 3, next, 0x40200000, f);
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, va, 52, &w), -EINVAL);
		assert_int_equal(w.nlevels, 3);
	}
}

static void test_4level_ps_in_pml4e_is_reserved(void **state)
{
	struct pm *m = *state;
	static const uint64_t f[4] = { PRW | PS, PRW, PRW, PRW };
	struct x86_walk w;

	map4(m, K_VA, f);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w), -EINVAL);
	assert_int_equal(w.nlevels, 1);
}

static void test_4level_reserved_above_maxphys(void **state)
{
	struct pm *m = *state;
	unsigned lvl, bit;

	for (lvl = 0; lvl < 4; lvl++) {
		static const unsigned bits[] = { 40, 45, 51 };

		for (bit = 0; bit < 3; bit++) {
			uint64_t f[4] = { PRW, PRW, PRW, PRW };
			struct x86_walk w;

			f[lvl] |= 1ull << bits[bit];
			map4(m, K_VA, f);
			assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 40, &w),
					 -EINVAL);
			assert_int_equal(w.nlevels, lvl + 1);
		}
	}
}

static void test_4level_ignored_high_bits(void **state)
{
	struct pm *m = *state;
	/* bits 62:52 are ignored (software bits, protection keys) */
	static const uint64_t f[4] = { PRW | (1ull << 52), PRW | (1ull << 58),
				       PRW | (1ull << 59), PRW | (0x7ffull << 52) };
	struct x86_walk w;

	map4(m, K_VA, f);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 46, &w), 0);
	assert_true(w.paddr == 0x9123);
}

static void test_4level_maxphys_out_of_range(void **state)
{
	struct pm *m = *state;
	uint64_t f[4] = { PRW, PRW, PRW, PRW };
	struct x86_walk w;

	/* a leaf address bit 45 is legal with 52 bits, reserved with 40 */
	map4(m, K_VA, f);
	set64(m, 0x4000 + ((K_VA >> 12) & 0x1ff) * 8, (1ull << 45) | 0x9000 | PRW);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 40, &w), -EINVAL);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w), 0);
	assert_true(w.paddr == ((1ull << 45) | 0x9123));
	/* a width the CPU cannot have means "unknown": 52 */
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 0, &w), 0);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 64, &w), 0);
	assert_true(w.paddr == ((1ull << 45) | 0x9123));
}

static void test_4level_non_canonical(void **state)
{
	struct pm *m = *state;
	static const uint64_t bad[] = { 0x0000800000000000ull, 0xffff7fffffffffffull,
					0x0001000000000000ull, 0x8000000000000000ull,
					0x00ff800000000000ull };
	struct x86_walk w;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, bad[i], 52, &w),
				 -EINVAL);
		assert_int_equal(w.nlevels, 0);
	}
	assert_int_equal(m->reads, 0);
	/* the last canonical addresses of each half are walked */
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, 0x00007fffffffffffull, 52, &w),
			 -EIO);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, 0xffff800000000000ull, 52, &w),
			 -EIO);
}

static void test_4level_not_present_each_level(void **state)
{
	struct pm *m = *state;
	unsigned lvl;

	for (lvl = 0; lvl < 4; lvl++) {
		uint64_t f[4] = { PRW, PRW, PRW, PRW };
		struct x86_walk w;

		f[lvl] &= ~P;
		map4(m, K_VA, f);
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w),
				 -EFAULT);
		assert_int_equal(w.nlevels, lvl + 1);
		assert_true((w.level[lvl].entry & P) == 0);
	}
}

static void test_4level_unreadable_table(void **state)
{
	struct pm *m = *state;
	struct x86_walk w;

	/* the page table at 0xabc000 was never written: reading it fails */
	set64(m, 0x1000 + ((K_VA >> 39) & 0x1ff) * 8, 0x2000 | PRW);
	set64(m, 0x2000 + ((K_VA >> 30) & 0x1ff) * 8, 0x3000 | PRW);
	set64(m, 0x3000 + ((K_VA >> 21) & 0x1ff) * 8, 0xabc000 | PRW);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w), -EIO);
	assert_int_equal(w.nlevels, 3);
}

static void test_4level_permissions_combine(void **state)
{
	struct pm *m = *state;
	unsigned lvl;

	for (lvl = 0; lvl < 4; lvl++) {
		uint64_t f[4] = { PRW, PRW, PRW, PRW };
		struct x86_walk w;

		/* one level without RW: read-only */
		f[lvl] &= ~RW;
		map4(m, K_VA, f);
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w), 0);
		assert_true(!w.writable && w.user && !w.nx);
		/* one level without US: supervisor only */
		f[lvl] = PRW & ~US;
		map4(m, K_VA, f);
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w), 0);
		assert_true(w.writable && !w.user && !w.nx);
		/* one level with NX: not executable */
		f[lvl] = PRW | NX;
		map4(m, K_VA, f);
		assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, K_VA, 52, &w), 0);
		assert_true(w.writable && w.user && w.nx);
	}
}

static void map5(struct pm *m, uint64_t va, const uint64_t flags[5])
{
	static const uint64_t next[4] = { 0x2000, 0x3000, 0x4000, 0x5000 };

	chain(m, 0x1000, va, 48, 5, next, 0x9000, flags);
}

static void test_5level_walk(void **state)
{
	struct pm *m = *state;
	static const uint64_t f[5] = { PRW, PRW, PRW, PRW, PRW };
	static const char *const names[5] = { "PML5E", "PML4E", "PDPTE", "PDE",
					      "PTE" };
	/* bits 55:47 set, bit 56 clear: canonical only with 57 bits */
	uint64_t va = 0x00ff800000201123ull;
	struct x86_walk w;
	unsigned i;

	map5(m, va, f);
	assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, va, 52, &w), 0);
	assert_true(w.paddr == 0x9123);
	assert_int_equal(w.nlevels, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(w.level[i].name, names[i]);
	assert_true(w.level[0].entry_addr == 0x1000 + ((va >> 48) & 0x1ff) * 8);
	assert_int_equal(xlate(m, X86_PAGING_4LEVEL, 0x1000, va, 52, &w), -EINVAL);
}

static void test_5level_canonical_bit_56(void **state)
{
	struct pm *m = *state;
	static const uint64_t bad[] = { 0x0100000000000000ull, 0xfe00000000000000ull,
					0x8000000000000000ull, 0x7f00000000000000ull };
	static const uint64_t good[] = { 0xff00000000000000ull, 0x00ffffffffffffffull,
					 0xffff800000000000ull };
	struct x86_walk w;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, bad[i], 52, &w),
				 -EINVAL);
		assert_int_equal(w.nlevels, 0);
	}
	assert_int_equal(m->reads, 0);
	pm_at(m, 0x1000); /* an empty PML5 table */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, good[i], 52, &w),
				 -EFAULT);
		assert_int_equal(w.nlevels, 1);
	}
}

static void test_5level_not_present_and_ps(void **state)
{
	struct pm *m = *state;
	uint64_t va = 0xff12345678901000ull;
	unsigned lvl;

	for (lvl = 0; lvl < 5; lvl++) {
		uint64_t f[5] = { PRW, PRW, PRW, PRW, PRW };
		struct x86_walk w;

		f[lvl] &= ~P;
		map5(m, va, f);
		assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, va, 52, &w), -EFAULT);
		assert_int_equal(w.nlevels, lvl + 1);
	}
	{
		/* PS is reserved in a PML5E and a PML4E */
		uint64_t f[5] = { PRW | PS, PRW, PRW, PRW, PRW };
		struct x86_walk w;

		map5(m, va, f);
		assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, va, 52, &w), -EINVAL);
		assert_int_equal(w.nlevels, 1);
		f[0] = PRW;
		f[1] = PRW | PS;
		map5(m, va, f);
		assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, va, 52, &w), -EINVAL);
		assert_int_equal(w.nlevels, 2);
	}
	{
		/* a 1 GiB page at the third level */
		static const uint64_t next[2] = { 0x2000, 0x3000 };
		static const uint64_t f[3] = { PRW, PRW, PS | P | NX };
		struct x86_walk w;

		chain(m, 0x1000, va, 48, 3, next, 0x80000000ull, f);
		assert_int_equal(xlate(m, X86_PAGING_5LEVEL, 0x1000, va, 52, &w), 0);
		assert_true(w.paddr == 0x80000000ull + (va & (GiB - 1)));
		assert_true(w.page_size == GiB);
		assert_int_equal(w.nlevels, 3);
		assert_true(!w.writable && !w.user && w.nx);
	}
}

/* ---- modes ---- */

static void test_mode_every_combination(void **state)
{
	unsigned bits;

	(void)state;
	/* CR0.PG, CR4.PAE, CR4.PSE, CR4.LA57, EFER.LME, EFER.LMA, CR0.PE */
	for (bits = 0; bits < 128; bits++) {
		bool pg = bits & 1, pae = bits & 2, pse = bits & 4, la57 = bits & 8;
		bool lme = bits & 16, lma = bits & 32, pe = bits & 64;
		uint64_t cr0 = (pg ? 1ull << 31 : 0) | (pe ? 1 : 0);
		uint64_t cr4 = (pae ? 1ull << 5 : 0) | (pse ? 1ull << 4 : 0) |
			       (la57 ? 1ull << 12 : 0);
		uint64_t efer = (lme ? 1ull << 8 : 0) | (lma ? 1ull << 10 : 0);
		enum x86_paging_mode want;
		struct x86_regs r;

		if (!pg)
			want = X86_PAGING_NONE;
		else if (!pae)
			/* EFER.LMA cannot be set without CR4.PAE; LA57
			 * needs long mode: both are ignored here */
			want = pse ? X86_PAGING_32 : X86_PAGING_32_NOPSE;
		else if (!lma)
			/* LME without LMA: long mode not active yet */
			want = X86_PAGING_PAE;
		else
			want = la57 ? X86_PAGING_5LEVEL : X86_PAGING_4LEVEL;
		assert_int_equal(x86_paging_mode(cr0, cr4, efer), want);
		/* other bits change nothing */
		assert_int_equal(x86_paging_mode(cr0 | (1ull << 16) | (1ull << 5),
						 cr4 | (1ull << 7) | (1ull << 17),
						 efer | (1ull << 11) | 1),
				 want);
		memset(&r, 0, sizeof(r));
		r.cr0 = cr0;
		r.cr4 = cr4;
		r.efer = efer;
		assert_int_equal(x86_regs_paging_mode(&r), want);
	}
}

static void test_mode_helpers(void **state)
{
	(void)state;
	assert_int_equal(x86_paging_levels(X86_PAGING_NONE), 0);
	assert_int_equal(x86_paging_levels(X86_PAGING_32), 2);
	assert_int_equal(x86_paging_levels(X86_PAGING_32_NOPSE), 2);
	assert_int_equal(x86_paging_levels(X86_PAGING_PAE), 3);
	assert_int_equal(x86_paging_levels(X86_PAGING_4LEVEL), 4);
	assert_int_equal(x86_paging_levels(X86_PAGING_5LEVEL), 5);

	assert_int_equal(x86_paging_mode_parse("32"), X86_PAGING_32);
	assert_int_equal(x86_paging_mode_parse("2-level"), X86_PAGING_32);
	assert_int_equal(x86_paging_mode_parse("PAE"), X86_PAGING_PAE);
	assert_int_equal(x86_paging_mode_parse("4"), X86_PAGING_4LEVEL);
	assert_int_equal(x86_paging_mode_parse("5-level"), X86_PAGING_5LEVEL);
	assert_int_equal(x86_paging_mode_parse("none"), X86_PAGING_NONE);
	assert_int_equal(x86_paging_mode_parse("6"), -1);
	assert_int_equal(x86_paging_mode_parse(""), -1);

	assert_true(x86_cr3_root(X86_PAGING_32, 0xfffff018ull | (1ull << 40)) ==
		    0xfffff000ull);
	assert_true(x86_cr3_root(X86_PAGING_PAE, 0x12345ffull) == 0x12345e0ull);
	assert_true(x86_cr3_root(X86_PAGING_4LEVEL, 0x8000000123456fffull) ==
		    0x123456000ull);
	assert_true(x86_cr3_root(X86_PAGING_5LEVEL, 0x123456789abcull) ==
		    0x123456789000ull);

	assert_true(x86_page_remaining(0x1ff0, 4096) == 0x10);
	assert_true(x86_page_remaining(0x2000, 4096) == 4096);
	assert_true(x86_page_remaining(0x3fffff, 2 * MiB) == 1);
	assert_true(strcmp(x86_paging_mode_name(X86_PAGING_PAE), "?"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_none_is_identity),
		T(test_32_small_page),
		T(test_32_pse_large_page),
		T(test_32_pse36_high_bits),
		T(test_32_pse36_above_maxphys),
		T(test_32_nopse_ignores_ps),
		T(test_32_not_present),
		T(test_32_permissions),
		T(test_pae_small_page),
		T(test_pae_large_page),
		T(test_pae_pdpte_reserved_bits),
		T(test_status_and_ignored_bits_everywhere),
		T(test_pae_pde_pte_reserved_bits),
		T(test_pae_not_present),
		T(test_pae_permissions),
		T(test_4level_small_page),
		T(test_4level_large_pages),
		T(test_4level_large_page_reserved_low_bits),
		T(test_4level_ps_in_pml4e_is_reserved),
		T(test_4level_reserved_above_maxphys),
		T(test_4level_ignored_high_bits),
		T(test_4level_maxphys_out_of_range),
		T(test_4level_non_canonical),
		T(test_4level_not_present_each_level),
		T(test_4level_unreadable_table),
		T(test_4level_permissions_combine),
		T(test_5level_walk),
		T(test_5level_canonical_bit_56),
		T(test_5level_not_present_and_ps),
		cmocka_unit_test(test_mode_every_combination),
		cmocka_unit_test(test_mode_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
