// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the int3 table (stub/traps/breakpoints.c) on a fake
 * target: planting and taking out, reads that see the guest's bytes,
 * writes under a breakpoint, two breakpoints on one byte (the same
 * address twice, or two addresses that translate to it), a guest that
 * overwrote an int3, and the journal notes of each plant and removal.
 *
 * The address space is 32-bit paging with 4 MiB pages: virtual 0 and
 * virtual 4 MiB both map guest-physical 0, virtual 8 MiB is not mapped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stub/guest/journal.h"
#include "stub/traps/breakpoints.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

#define NFRAMES 16
#define PD 0x2000ull		/* the page directory */
#define ALIAS 0x400000ull	/* virtual 4 MiB: the same bytes as 0 */
#define UNMAPPED 0x800000ull
#define BP 0x1000ull
#define KEY "xen-9-00112233445566778899aabbccddeeff"

struct rig {
	struct fake_target *f;
	struct vmem *mem;
	struct trap_env env;
	struct bp_table *bt;
	struct aspace as, phys;
	struct strbuf why;
	char dir[64];
};

static int setup(void **state)
{
	struct rig *g = xcalloc(1, sizeof(*g));
	uint32_t pde = 0x83;	/* frame 0, present, writable, 4 MiB */
	unsigned i;

	g->f = fake_target_new(NFRAMES, 1, 32, 4, TCAP_WRITE_MEM);
	g->mem = vmem_new(&g->f->base, 8, true);
	memcpy(fake_phys(g->f, PD), &pde, 4);
	memcpy(fake_phys(g->f, PD + 4), &pde, 4);
	for (i = 0; i < 0x100; i++)
		*fake_phys(g->f, BP - 0x80 + i) = (uint8_t)i;
	g->as = (struct aspace){ false, X86_PAGING_32, PD };
	g->phys.phys = true;
	snprintf(g->dir, sizeof(g->dir), "/tmp/test-bp-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	g->env = (struct trap_env){ &g->f->base, g->mem, NULL };
	g->bt = bp_new(&g->env);
	strbuf_init(&g->why, 0);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct rig *g = *state;
	char cmd[128];

	bp_free(g->bt);
	vmem_free(g->mem);
	fake_target_free(g->f);
	strbuf_release(&g->why);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
	assert_int_equal(system(cmd), 0);
	free(g);
	return 0;
}

static uint8_t byte(struct rig *g, uint64_t pa)
{
	return *fake_phys(g->f, pa);
}

static void test_plant_and_unplant(void **state)
{
	struct rig *g = *state;
	const struct swbp *bp;

	assert_int_equal(bp_insert(g->bt, &g->as, BP, &g->why), 0);
	assert_int_equal(byte(g, BP), 0xcc);
	bp = bp_find(g->bt, BP);
	assert_non_null(bp);
	assert_int_equal(bp->orig, 0x80);
	assert_int_equal(bp->vaddr, BP);
	assert_int_equal(bp_count(g->bt), 1);
	/* around a resume that must not meet it */
	bp_unplant_all(g->bt);
	assert_int_equal(byte(g, BP), 0x80);
	bp_replant_all(g->bt);
	assert_int_equal(byte(g, BP), 0xcc);
	assert_int_equal(bp_unplant(g->bt, BP), 0);
	assert_int_equal(byte(g, BP), 0x80);
	assert_int_equal(bp_replant(g->bt, BP), 0);
	assert_int_equal(byte(g, BP), 0xcc);
	assert_int_equal(bp_unplant(g->bt, BP + 1), -ENOENT);
	assert_int_equal(byte(g, BP + 1), 0x81);
	assert_int_equal(bp_remove(g->bt, &g->as, BP), 0);
	assert_int_equal(byte(g, BP), 0x80);
	assert_int_equal(bp_count(g->bt), 0);
	assert_int_equal(bp_remove(g->bt, &g->as, BP), -ENOENT);
	/* an address that is not mapped, or no address space */
	assert_int_equal(bp_insert(g->bt, &g->as, UNMAPPED, &g->why), -EFAULT);
	assert_non_null(strstr(g->why.buf, "not mapped"));
	assert_int_equal(bp_insert(g->bt, NULL, BP, NULL), -EFAULT);
	assert_int_equal(bp_count(g->bt), 0);
}

static void test_reads_see_the_guest(void **state)
{
	struct rig *g = *state;
	uint8_t buf[0x20];
	struct x86_regs r;
	size_t got = 0;
	unsigned i;

	assert_int_equal(bp_insert(g->bt, &g->as, BP, NULL), 0);
	assert_int_equal(bp_insert(g->bt, &g->as, BP + 3, NULL), 0);
	assert_int_equal(vmem_read(g->mem, &g->as, ALIAS + BP - 0x10, buf,
				   sizeof(buf), &got), 0);
	assert_int_equal(buf[0x10], 0xcc);
	bp_shadow(g->bt, &g->as, ALIAS + BP - 0x10, buf, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x70 + i);
	/* the code at a vCPU's rip, as the guest wrote it */
	memset(&r, 0, sizeof(r));
	r.rip = BP;
	r.cr0 = X86_CR0_PE | X86_CR0_PG;
	r.cr4 = X86_CR4_PSE;
	r.cr3 = PD;
	x86_set_valid_range(&r, XF_CR0, XF_CR4);
	assert_int_equal(bp_read_code(g->bt, &r, buf, 8, &got), 0);
	assert_int_equal(got, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0x80 + i);
	bp_forget_all(g->bt);
	assert_int_equal(byte(g, BP), 0x80);
	assert_int_equal(byte(g, BP + 3), 0x83);
}

static void test_writes_under_a_breakpoint(void **state)
{
	struct rig *g = *state;
	static const uint8_t data[] = { 0xa0, 0xa1, 0xa2 };

	assert_int_equal(bp_insert(g->bt, &g->as, BP, NULL), 0);
	assert_int_equal(bp_write(g->bt, &g->as, BP - 1, data, sizeof(data)), 0);
	assert_int_equal(byte(g, BP - 1), 0xa0);
	assert_int_equal(byte(g, BP), 0xcc);	/* the int3 stays */
	assert_int_equal(byte(g, BP + 1), 0xa2);
	assert_int_equal(bp_find(g->bt, BP)->orig, 0xa1);
	/* all or nothing: a write that runs into an unmapped page does
	 * nothing at all */
	assert_int_equal(bp_write(g->bt, &g->as, ALIAS * 2 - 1, data,
				  sizeof(data)), -EFAULT);
	assert_int_equal(bp_remove(g->bt, &g->as, BP), 0);
	assert_int_equal(byte(g, BP), 0xa1);
}

static void test_two_on_one_byte(void **state)
{
	struct rig *g = *state;

	/* the same address twice (gdb's breakpoint and a dprintf) */
	assert_int_equal(bp_insert(g->bt, &g->as, BP, NULL), 0);
	assert_int_equal(bp_insert(g->bt, &g->as, BP, NULL), 0);
	/* and an alias of it */
	assert_int_equal(bp_insert(g->bt, &g->as, ALIAS + BP, NULL), 0);
	assert_int_equal(bp_count(g->bt), 1);
	assert_int_equal(bp_find(g->bt, BP)->refs, 3);
	assert_int_equal(bp_find(g->bt, BP)->orig, 0x80);
	assert_int_equal(bp_remove(g->bt, &g->as, ALIAS + BP), 0);
	assert_int_equal(bp_remove(g->bt, &g->as, BP), 0);
	assert_int_equal(byte(g, BP), 0xcc);
	assert_int_equal(bp_remove(g->bt, &g->as, BP), 0);
	assert_int_equal(byte(g, BP), 0x80);
	assert_int_equal(bp_count(g->bt), 0);
}

static void test_guest_overwrote_it(void **state)
{
	struct rig *g = *state;

	assert_int_equal(bp_insert(g->bt, &g->as, BP, NULL), 0);
	*fake_phys(g->f, BP) = 0x5a;	/* the guest's own code changed */
	bp_forget_all(g->bt);
	assert_int_equal(byte(g, BP), 0x5a);
	assert_int_equal(bp_count(g->bt), 0);
}

static void test_journal_notes(void **state)
{
	struct rig *g = *state;
	struct journal_state st;
	struct journal *j;
	char *msg = NULL;

	j = journal_open(g->dir, KEY, &msg);
	assert_non_null(j);
	/* int3s are planted in a stopped guest only (the journal's reader
	 * checks it) */
	journal_note(j, "pause");
	g->env.j = j;
	bp_free(g->bt);
	g->bt = bp_new(&g->env);
	assert_int_equal(bp_insert(g->bt, &g->as, BP, NULL), 0);
	assert_int_equal(bp_insert(g->bt, &g->as, BP + 5, NULL), 0);
	if (journal_read(g->dir, KEY, &st, &msg))
		fail_msg("%s", msg);
	assert_int_equal(st.nint3, 2);
	assert_int_equal(st.int3[0].gpa, BP);
	assert_int_equal(st.int3[0].orig, 0x80);
	assert_int_equal(st.int3[1].gpa, BP + 5);
	assert_int_equal(st.int3[1].orig, 0x85);
	journal_state_free(&st);
	assert_int_equal(bp_remove(g->bt, &g->as, BP), 0);
	*fake_phys(g->f, BP + 5) = 0x11;	/* overwritten by the guest */
	bp_forget_all(g->bt);
	if (journal_read(g->dir, KEY, &st, &msg))
		fail_msg("%s", msg);
	assert_int_equal(st.nint3, 0);
	journal_state_free(&st);
	journal_close(j, true);
	g->env.j = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plant_and_unplant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_see_the_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_under_a_breakpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_on_one_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_overwrote_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_notes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
