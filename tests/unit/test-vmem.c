// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of guest memory (stub/guest/vmem.c) over a fake target: the frame
 * cache (batch mapping, LRU eviction, one unmap per map with the same
 * frame count, a bounded number of live mappings, missing frames, failed
 * maps), physical and virtual reads and writes across pages whose frames
 * are not adjacent, and partial reads that stop at an unmapped page.
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
#include "stub/base/log.h"
#include "stub/guest/vmem.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

#define PG 4096u

/* Each frame's bytes say which frame they are in: frame*7 + offset. */
static uint8_t pattern(uint64_t gfn, unsigned off)
{
	return (uint8_t)(gfn * 7 + off);
}

static struct fake_target *new_fake(size_t nframes, unsigned batch, bool rw)
{
	struct fake_target *f = fake_target_new(nframes, 1, 64, batch,
						rw ? TCAP_WRITE_MEM : 0);
	size_t g;
	unsigned o;

	for (g = 0; g < nframes; g++)
		for (o = 0; o < PG; o++)
			f->mem[g * PG + o] = pattern(g, o);
	return f;
}

static unsigned live_maps(const struct fake_target *f)
{
	const struct fake_map *m;
	unsigned n = 0;

	for (m = f->maps; m; m = m->next)
		if (!m->unmaps)
			n++;
	return n;
}

static void read_byte_ok(struct vmem *m, uint64_t gfn, unsigned off)
{
	uint8_t b = 0;
	size_t done = 99;

	assert_int_equal(vmem_read_phys(m, gfn * PG + off, &b, 1, &done), 0);
	assert_int_equal(done, 1);
	assert_int_equal(b, pattern(gfn, off));
}

/* ---- the frame cache ---- */

static void test_batch_maps_consecutive_frames(void **state)
{
	struct fake_target *f = new_fake(64, 16, false);
	struct vmem *m = vmem_new(&f->base, 64, false);
	unsigned g;

	(void)state;
	read_byte_ok(m, 5, 100);
	assert_int_equal(f->map_calls, 1);
	assert_true(f->maps->gfn == 0);
	assert_int_equal(f->maps->count, 16);
	assert_false(f->maps->write);
	/* the rest of the batch is already mapped */
	for (g = 0; g < 16; g++)
		read_byte_ok(m, g, g);
	assert_int_equal(f->map_calls, 1);
	assert_int_equal(vmem_stats(m)->misses, 1);
	assert_int_equal(vmem_stats(m)->hits, 16);
	/* the next batch is a second call */
	read_byte_ok(m, 16, 0);
	assert_int_equal(f->map_calls, 2);
	assert_true(f->maps->gfn == 16);
	vmem_free(m);
	assert_int_equal(fake_unbalanced_maps(f), 0);
	fake_target_free(f);
}

static void test_lru_eviction_tiny_cache(void **state)
{
	struct fake_target *f = new_fake(16, 1, false);
	struct vmem *m = vmem_new(&f->base, 4, false);

	(void)state;
	read_byte_ok(m, 0, 0);
	read_byte_ok(m, 1, 0);
	read_byte_ok(m, 2, 0);
	read_byte_ok(m, 3, 0);
	assert_int_equal(f->map_calls, 4);
	read_byte_ok(m, 0, 1); /* 0 is now the most recently used */
	assert_int_equal(f->map_calls, 4);
	read_byte_ok(m, 4, 0); /* evicts 1, the least recently used */
	assert_int_equal(f->map_calls, 5);
	assert_int_equal(f->unmap_calls, 1);
	assert_int_equal(fake_maps_of(f, 1), 1);
	read_byte_ok(m, 0, 2); /* still cached */
	read_byte_ok(m, 3, 2); /* still cached */
	assert_int_equal(f->map_calls, 5);
	read_byte_ok(m, 1, 1); /* mapped again; evicts 2 */
	assert_int_equal(f->map_calls, 6);
	assert_int_equal(fake_maps_of(f, 1), 2);
	read_byte_ok(m, 4, 1);
	read_byte_ok(m, 0, 3);
	read_byte_ok(m, 3, 3);
	assert_int_equal(f->map_calls, 6);
	read_byte_ok(m, 2, 0); /* was evicted */
	assert_int_equal(f->map_calls, 7);
	assert_int_equal(fake_maps_of(f, 2), 2);
	assert_int_equal(vmem_stats(m)->misses, 7);
	assert_true(live_maps(f) <= 4);
	vmem_free(m);
	assert_int_equal(f->unmap_calls, f->map_calls);
	assert_int_equal(fake_unbalanced_maps(f), 0);
	fake_target_free(f);
}

static void test_live_mappings_bounded(void **state)
{
	struct fake_target *f = new_fake(1024, 8, false);
	struct vmem *m = vmem_new(&f->base, 64, false);
	unsigned i;

	(void)state;
	/* touch every frame of a guest much larger than the cache, twice,
	 * in an order that defeats the cache */
	for (i = 0; i < 2048; i++) {
		uint64_t g = (i * 37u) % 1024;

		read_byte_ok(m, g, i % PG);
		assert_true(live_maps(f) <= 64 / 8);
	}
	vmem_flush(m);
	assert_int_equal(live_maps(f), 0);
	read_byte_ok(m, 3, 3);
	vmem_free(m);
	assert_int_equal(fake_unbalanced_maps(f), 0);
	assert_int_equal(f->unmap_calls, f->map_calls);
	fake_target_free(f);
}

static void test_unmap_matches_a_short_batch(void **state)
{
	/* 20 frames in batches of 16: the second batch maps only 4 */
	struct fake_target *f = new_fake(20, 16, false);
	struct vmem *m = vmem_new(&f->base, 64, false);
	uint8_t b;

	(void)state;
	read_byte_ok(m, 17, 5);
	assert_true(f->maps->gfn == 16);
	assert_int_equal(f->maps->count, 4);
	assert_int_equal(vmem_read_phys(m, 20ull * PG, &b, 1, NULL), -EFAULT);
	vmem_free(m);
	/* each unmap names as many frames as its map did */
	assert_int_equal(fake_unbalanced_maps(f), 0);
	fake_target_free(f);
}

static void test_missing_frame_in_batch(void **state)
{
	struct fake_target *f = new_fake(32, 16, false);
	struct vmem *m = vmem_new(&f->base, 64, false);
	uint8_t buf[200];
	size_t done = 99;
	unsigned i;

	(void)state;
	f->missing[7] = true;
	read_byte_ok(m, 6, 0);
	assert_int_equal(vmem_read_phys(m, 7 * PG + 10, buf, 1, &done), -EFAULT);
	assert_int_equal(done, 0);
	/* a read that runs into the missing frame stops there */
	assert_int_equal(vmem_read_phys(m, 6 * PG + 4000, buf, 200, &done), -EFAULT);
	assert_int_equal(done, 96);
	for (i = 0; i < 96; i++)
		assert_int_equal(buf[i], pattern(6, 4000 + i));
	/* the rest of the batch is fine, and it was one map call */
	read_byte_ok(m, 8, 8);
	assert_int_equal(f->map_calls, 1);
	/* vmem_frame says why */
	errno = 0;
	assert_null(vmem_frame(m, 7, false));
	assert_int_equal(errno, EFAULT);
	assert_non_null(vmem_frame(m, 8, false));
	vmem_free(m);
	fake_target_free(f);
}

static void test_failed_map_is_an_error(void **state)
{
	struct fake_target *f = new_fake(32, 4, false);
	struct vmem *m = vmem_new(&f->base, 16, false);
	uint8_t b;
	size_t done = 99;

	(void)state;
	f->map_error = -EIO;
	assert_int_equal(vmem_read_phys(m, 5 * PG, &b, 1, &done), -EIO);
	assert_int_equal(done, 0);
	/* nothing half-made was cached: the next try maps again */
	f->map_error = 0;
	read_byte_ok(m, 5, 0);
	assert_int_equal(f->map_calls, 1);
	vmem_free(m);
	assert_int_equal(fake_unbalanced_maps(f), 0);
	fake_target_free(f);
}

static void test_beyond_max_gfn_and_wrap(void **state)
{
	struct fake_target *f = new_fake(8, 4, false);
	struct vmem *m = vmem_new(&f->base, 16, false);
	uint8_t buf[64];
	size_t done = 99;

	(void)state;
	assert_int_equal(vmem_read_phys(m, 8ull * PG, buf, 1, &done), -EFAULT);
	assert_int_equal(done, 0);
	assert_int_equal(vmem_read_phys(m, 0xfffffffffffffff0ull, buf, 32, &done),
			 -EFAULT);
	assert_int_equal(done, 0);
	assert_int_equal(f->map_calls, 0);
	/* the last bytes of memory, then the end */
	assert_int_equal(vmem_read_phys(m, 8ull * PG - 16, buf, 32, &done), -EFAULT);
	assert_int_equal(done, 16);
	assert_int_equal(buf[15], pattern(7, PG - 1));
	vmem_free(m);
	fake_target_free(f);
}

static void test_phys_read_across_frames(void **state)
{
	struct fake_target *f = new_fake(64, 16, false);
	struct vmem *m = vmem_new(&f->base, 64, false);
	size_t len = 3 * PG + 100, done = 0, i;
	uint8_t *buf = xmalloc(len);
	uint64_t start = 15 * PG + 4000; /* crosses a batch boundary too */

	(void)state;
	assert_int_equal(vmem_read_phys(m, start, buf, len, &done), 0);
	assert_int_equal(done, len);
	for (i = 0; i < len; i++) {
		uint64_t a = start + i;

		assert_int_equal(buf[i], pattern(a / PG, a % PG));
	}
	assert_int_equal(vmem_read_phys(m, start, buf, 0, &done), 0);
	assert_int_equal(done, 0);
	free(buf);
	vmem_free(m);
	fake_target_free(f);
}

static void test_writes(void **state)
{
	struct fake_target *f = new_fake(16, 4, true);
	struct vmem *ro = vmem_new(&f->base, 16, false);
	struct vmem *rw;
	static const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t done = 99;

	(void)state;
	/* a read-only cache refuses writes */
	assert_int_equal(vmem_write_phys(ro, 2 * PG, data, 8, &done), -EROFS);
	assert_int_equal(done, 0);
	errno = 0;
	assert_null(vmem_frame(ro, 2, true));
	assert_int_equal(errno, EROFS);
	vmem_free(ro);

	rw = vmem_new(&f->base, 16, true);
	assert_int_equal(vmem_write_phys(rw, 3 * PG - 4, data, 8, &done), 0);
	assert_int_equal(done, 8);
	assert_memory_equal(f->mem + 3 * PG - 4, data, 8);
	assert_true(f->maps->write);
	/* a write into a missing frame stops there */
	f->missing[9] = true;
	assert_int_equal(vmem_write_phys(rw, 9 * PG - 4, data, 8, &done), -EFAULT);
	assert_int_equal(done, 4);
	assert_memory_equal(f->mem + 9 * PG - 4, data, 4);
	vmem_free(rw);
	assert_int_equal(fake_unbalanced_maps(f), 0);
	fake_target_free(f);
}

/* ---- virtual addresses ---- */

static void put64(struct fake_target *f, uint64_t pa, uint64_t v)
{
	uint8_t *p = fake_phys(f, pa);
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#define PRW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

/*
 * 4-level tables in frames 1-4 mapping va 0x400000 + n * 4096 to the
 * frames in map[n] (0 = not present).
 */
static void build_tables(struct fake_target *f, const uint64_t *map, unsigned n)
{
	unsigned i;

	memset(f->mem + PG, 0, 4 * PG);
	put64(f, 0x1000, 0x2000 | PRW);		/* PML4E 0 */
	put64(f, 0x2000, 0x3000 | PRW);		/* PDPTE 0 */
	put64(f, 0x3000 + 2 * 8, 0x4000 | PRW);	/* PDE 2: 0x400000 */
	for (i = 0; i < n; i++)
		if (map[i])
			put64(f, 0x4000 + i * 8, map[i] * PG | PRW);
}

static const struct aspace as4 = { false, X86_PAGING_4LEVEL, 0x1000 };

static void test_virtual_read_across_scattered_frames(void **state)
{
	struct fake_target *f = new_fake(32, 4, false);
	struct vmem *m;
	static const uint64_t map[3] = { 10, 6, 27 };
	uint8_t buf[PG + 32];
	size_t done = 0, i;

	(void)state;
	build_tables(f, map, 3);
	m = vmem_new(&f->base, 16, false);
	/* 16 bytes at the end of frame 10, a whole frame 6, 16 bytes of 27 */
	assert_int_equal(vmem_read(m, &as4, 0x400ff0, buf, sizeof(buf), &done), 0);
	assert_int_equal(done, sizeof(buf));
	for (i = 0; i < 16; i++)
		assert_int_equal(buf[i], pattern(10, 0xff0 + i));
	for (i = 0; i < PG; i++)
		assert_int_equal(buf[16 + i], pattern(6, i));
	for (i = 0; i < 16; i++)
		assert_int_equal(buf[16 + PG + i], pattern(27, i));
	assert_true(vmem_stats(m)->translations >= 3);
	vmem_free(m);
	fake_target_free(f);
}

static void test_virtual_read_stops_at_unmapped_page(void **state)
{
	struct fake_target *f = new_fake(32, 4, false);
	struct vmem *m;
	static const uint64_t map[3] = { 10, 0, 12 };
	uint8_t buf[64];
	size_t done = 99, i;

	(void)state;
	build_tables(f, map, 3);
	m = vmem_new(&f->base, 16, false);
	assert_int_equal(vmem_read(m, &as4, 0x400fd0, buf, sizeof(buf), &done),
			 -EFAULT);
	assert_int_equal(done, 0x30);
	for (i = 0; i < 0x30; i++)
		assert_int_equal(buf[i], pattern(10, 0xfd0 + i));
	/* the unmapped page itself */
	assert_int_equal(vmem_read(m, &as4, 0x401000, buf, 8, &done), -EFAULT);
	assert_int_equal(done, 0);
	/* a present entry whose frame the target lacks */
	f->missing[12] = true;
	assert_int_equal(vmem_read(m, &as4, 0x402000, buf, 8, &done), -EFAULT);
	assert_int_equal(done, 0);
	/* a non-canonical address is unmapped too */
	assert_int_equal(vmem_read(m, &as4, 0x0000800000000000ull, buf, 8, &done),
			 -EFAULT);
	vmem_free(m);
	fake_target_free(f);
}

static void test_virtual_read_frame_missing_midway(void **state)
{
	struct fake_target *f = new_fake(32, 4, false);
	struct vmem *m;
	static const uint64_t map[2] = { 10, 20 };
	uint8_t buf[64];
	size_t done = 99;

	(void)state;
	build_tables(f, map, 2);
	f->missing[20] = true;
	m = vmem_new(&f->base, 16, false);
	assert_int_equal(vmem_read(m, &as4, 0x400ff8, buf, 16, &done), -EFAULT);
	assert_int_equal(done, 8);
	assert_int_equal(buf[7], pattern(10, 0xfff));
	vmem_free(m);
	fake_target_free(f);
}

static void test_virtual_write_and_helpers(void **state)
{
	struct fake_target *f = new_fake(32, 4, true);
	struct vmem *m;
	static const uint64_t map[2] = { 10, 6 };
	static const uint8_t data[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
					 0x77, 0x88 };
	struct x86_walk w;
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	size_t done = 0;

	(void)state;
	build_tables(f, map, 2);
	m = vmem_new(&f->base, 16, true);
	assert_int_equal(vmem_write(m, &as4, 0x400ffc, data, 8, &done), 0);
	assert_int_equal(done, 8);
	assert_memory_equal(f->mem + 10 * PG + 0xffc, data, 4);
	assert_memory_equal(f->mem + 6 * PG, data + 4, 4);
	/* little-endian helpers read across the page boundary too */
	assert_int_equal(vmem_read_u64(m, &as4, 0x400ffc, &v64), 0);
	assert_true(v64 == 0x8877665544332211ull);
	assert_int_equal(vmem_read_u32(m, &as4, 0x400ffe, &v32), 0);
	assert_true(v32 == 0x66554433u);
	assert_int_equal(vmem_read_u64(m, &as4, 0x402000, &v64), -EFAULT);
	/* translation through the cache */
	assert_int_equal(vmem_translate(m, &as4, 0x401234, &w), 0);
	assert_true(w.paddr == 6 * PG + 0x234);
	assert_int_equal(w.nlevels, 4);
	vmem_free(m);
	assert_int_equal(fake_unbalanced_maps(f), 0);
	fake_target_free(f);
}

static void test_virtual_read_does_not_wrap(void **state)
{
	struct fake_target *f = new_fake(32, 4, false);
	struct vmem *m;
	static const struct aspace pae = { false, X86_PAGING_PAE, 0x6000 };
	uint8_t buf[16];
	size_t done = 99;
	unsigned i;

	(void)state;
	/* 4-level: the last page of the address space is frame 12 and the
	 * first one frame 13 */
	memset(f->mem + PG, 0, 10 * PG);
	put64(f, 0x1000 + 511 * 8, 0x2000 | PRW);
	put64(f, 0x2000 + 511 * 8, 0x3000 | PRW);
	put64(f, 0x3000 + 511 * 8, 0x4000 | PRW);
	put64(f, 0x4000 + 511 * 8, 12 * PG | PRW);
	put64(f, 0x1000, 0x5000 | PRW);
	put64(f, 0x5000, 0x7000 | PRW);
	put64(f, 0x7000, 0x8000 | PRW);
	put64(f, 0x8000, 13 * PG | PRW);
	/* PAE at 0x6000: the last page below 4 GiB is frame 12, page 0
	 * frame 13 */
	put64(f, 0x6000 + 3 * 8, 0x9000 | 1);
	put64(f, 0x9000 + 511 * 8, 0xa000 | PRW);
	put64(f, 0xa000 + 511 * 8, 12 * PG | PRW);
	put64(f, 0x6000, 0x9000 | 1);
	put64(f, 0x9000, 0xa000 | PRW);
	put64(f, 0xa000, 13 * PG | PRW);
	m = vmem_new(&f->base, 16, false);
	assert_int_equal(vmem_read(m, &as4, 0, buf, 4, &done), 0);
	assert_int_equal(buf[0], pattern(13, 0));
	/* a read across the top of the address space ends there: it does
	 * not go on at address 0 */
	assert_int_equal(vmem_read(m, &as4, 0xfffffffffffffff8ull, buf, 16, &done),
			 -EFAULT);
	assert_int_equal(done, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(buf[i], pattern(12, PG - 8 + i));
	/* the same at 4 GiB for 32-bit paging */
	assert_int_equal(vmem_read(m, &pae, 0, buf, 4, &done), 0);
	assert_int_equal(buf[0], pattern(13, 0));
	assert_int_equal(vmem_read(m, &pae, 0xfffffff8ull, buf, 16, &done), -EFAULT);
	assert_int_equal(done, 8);
	assert_int_equal(buf[7], pattern(12, PG - 1));
	vmem_free(m);
	fake_target_free(f);
}

static void test_physical_address_space(void **state)
{
	struct fake_target *f = new_fake(8, 4, false);
	struct vmem *m = vmem_new(&f->base, 16, false);
	struct aspace phys = { true, X86_PAGING_4LEVEL, 0x1000 };
	struct aspace off = { false, X86_PAGING_NONE, 0 };
	uint8_t buf[8];
	size_t done;

	(void)state;
	/* phys ignores the mode; paging off means physical too */
	assert_int_equal(vmem_read(m, &phys, 2 * PG + 5, buf, 8, &done), 0);
	assert_int_equal(buf[0], pattern(2, 5));
	assert_int_equal(vmem_read(m, &off, 3 * PG + 6, buf, 8, &done), 0);
	assert_int_equal(buf[0], pattern(3, 6));
	vmem_free(m);
	fake_target_free(f);
}

/*
 * A page-table isolation pair: the kernel's PML4 in frame 16 maps user va
 * 0x400000 (frame 28) and kernel va 0xffffffff80000000 (frame 29); the
 * user's, in frame 17 (CR3 bit 12), has the same user half and no kernel
 * half (but for NX, which Linux sets in the kernel's copy of a user
 * entry). Kernel addresses read through the user CR3 come from the twin;
 * not when the two lower halves differ otherwise (not a pair).
 */
static void test_kpti_twin(void **state)
{
	struct fake_target *f = new_fake(32, 4, false);
	struct aspace user = { false, X86_PAGING_4LEVEL, 0x11000 | 0x5 };
	struct vmem *m;
	uint8_t b[8];
	unsigned i;

	(void)state;
	memset(f->mem + 16 * PG, 0, 8 * PG);
	put64(f, 0x10000, 0x12000 | PRW);		/* user half */
	put64(f, 0x12000, 0x13000 | PRW);
	put64(f, 0x13000 + 2 * 8, 0x14000 | PRW);
	put64(f, 0x14000, 28 * PG | PRW);
	put64(f, 0x10000 + 511 * 8, 0x15000 | X86_PTE_P | X86_PTE_RW);
	put64(f, 0x15000 + 510 * 8, 0x16000 | X86_PTE_P | X86_PTE_RW);
	put64(f, 0x16000, 0x17000 | X86_PTE_P | X86_PTE_RW);
	put64(f, 0x17000, 29 * PG | X86_PTE_P | X86_PTE_RW);
	memcpy(f->mem + 0x11000, f->mem + 0x10000, 2048);
	/* as Linux does: NX in the kernel's copy of a user entry */
	put64(f, 0x10000, 0x12000 | PRW | X86_PTE_NX);
	m = vmem_new(&f->base, 16, false);
	assert_int_equal(vmem_read(m, &user, 0x400000, b, 8, NULL), 0);
	assert_int_equal(b[3], pattern(28, 3));
	assert_int_equal(vmem_read(m, &user, 0xffffffff80000000ull, b, 8, NULL), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(b[i], pattern(29, i));
	/* the user half of the odd page differs: no pair, no kernel */
	put64(f, 0x11000 + 8, 0x12000 | PRW);
	vmem_flush(m);
	assert_int_equal(vmem_read(m, &user, 0xffffffff80000000ull, b, 8, NULL),
			 -EFAULT);
	/* nothing mapped in the user half: no pair either */
	memset(f->mem + 0x11000, 0, PG);
	memset(f->mem + 0x10000, 0, 2048);
	vmem_flush(m);
	assert_int_equal(vmem_read(m, &user, 0xffffffff80000000ull, b, 8, NULL),
			 -EFAULT);
	vmem_free(m);
	fake_target_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_maps_consecutive_frames),
		cmocka_unit_test(test_lru_eviction_tiny_cache),
		cmocka_unit_test(test_live_mappings_bounded),
		cmocka_unit_test(test_unmap_matches_a_short_batch),
		cmocka_unit_test(test_missing_frame_in_batch),
		cmocka_unit_test(test_failed_map_is_an_error),
		cmocka_unit_test(test_beyond_max_gfn_and_wrap),
		cmocka_unit_test(test_phys_read_across_frames),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_virtual_read_across_scattered_frames),
		cmocka_unit_test(test_virtual_read_stops_at_unmapped_page),
		cmocka_unit_test(test_virtual_read_frame_missing_midway),
		cmocka_unit_test(test_virtual_write_and_helpers),
		cmocka_unit_test(test_virtual_read_does_not_wrap),
		cmocka_unit_test(test_physical_address_space),
		cmocka_unit_test(test_kpti_twin),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
