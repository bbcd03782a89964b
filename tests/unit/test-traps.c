// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the trap engine (stub/traps/traps.c, traps-dr.c) built on
 * a fake target with mem_access: per-frame reference counts across kinds
 * of points, the least restriction per frame, permissions applied only at
 * commit (so gdb's remove and re-insert around each stop cost nothing),
 * the classification of an access event (hit, pass, an access made by
 * event delivery, an instruction that cannot be decoded), the snapshot of
 * watched bytes and its change detection, restoring every frame; and the
 * debug-register fallback's limits.
 *
 * The guest is a 32-bit protected-mode one without paging (linear =
 * physical), so that addresses in the tests are guest-physical ones.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stub/traps/traps-dr.h"
#include "stub/traps/traps.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

#define NFRAMES 32
#define CODE 0x1000ull		/* where the instructions are */

struct rig {
	struct fake_target *f;
	struct vmem *mem;
	struct trap_env env;
	struct traps *tr;
	struct aspace phys;
	struct strbuf why;
};

static int setup(void **state)
{
	struct rig *g = xcalloc(1, sizeof(*g));

	g->f = fake_target_new(NFRAMES, 2, 32, 4,
			       TCAP_RUN | TCAP_EVENTS | TCAP_MEM_ACCESS |
			       TCAP_WRITE_MEM | TCAP_WRITE_REGS);
	fake_target_events(g->f);
	g->mem = vmem_new(&g->f->base, 8, true);
	g->env = (struct trap_env){ &g->f->base, g->mem, NULL };
	g->tr = traps_new(&g->env, NULL);
	g->phys.phys = true;
	strbuf_init(&g->why, 0);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct rig *g = *state;

	traps_free(g->tr);
	vmem_free(g->mem);
	fake_target_free(g->f);
	strbuf_release(&g->why);
	free(g);
	return 0;
}

static void insert(struct rig *g, enum trap_kind k, uint64_t addr,
		   uint64_t len)
{
	strbuf_reset(&g->why);
	assert_int_equal(traps_insert(g->tr, &g->phys, k, addr, len, &g->why), 0);
}

static void commit(struct rig *g)
{
	assert_int_equal(traps_commit(g->tr), 0);
}

/* ---- permissions ---- */

static void test_commit_on_resume(void **state)
{
	struct rig *g = *state;

	insert(g, TK_WRITE, 0x5000, 4);
	/* nothing reaches the target before the commit */
	assert_int_equal(g->f->set_access_calls, 0);
	assert_int_equal(g->f->access[5], TACC_RWX);
	commit(g);
	assert_int_equal(g->f->set_access_calls, 1);
	assert_int_equal(g->f->access[5], TACC_R | TACC_X);
	/* gdb takes every point out and puts it back around a stop: that
	 * costs no hypercall at all */
	assert_int_equal(traps_remove(g->tr, TK_WRITE, 0x5000, 4), 0);
	insert(g, TK_WRITE, 0x5000, 4);
	commit(g);
	assert_int_equal(g->f->set_access_calls, 1);
	/* nor does a commit with nothing changed */
	commit(g);
	assert_int_equal(g->f->set_access_calls, 1);
	assert_int_equal(traps_remove(g->tr, TK_WRITE, 0x5000, 4), 0);
	commit(g);
	assert_int_equal(g->f->access[5], TACC_RWX);
	assert_false(traps_any(g->tr));
}

static void test_refcounts_across_kinds(void **state)
{
	struct rig *g = *state;

	insert(g, TK_WRITE, 0x5000, 4);
	insert(g, TK_READ, 0x5100, 1);
	commit(g);
	/* EPT cannot express write-only: a read watch takes R and W */
	assert_int_equal(g->f->access[5], TACC_X);
	insert(g, TK_EXEC, 0x5200, 1);
	commit(g);
	assert_int_equal(g->f->access[5], 0);
	/* the same point twice: two references */
	insert(g, TK_READ, 0x5100, 1);
	assert_true(traps_ref(g->tr, TK_READ, 0x5100, 1));
	assert_false(traps_ref(g->tr, TK_READ, 0x5101, 1));
	assert_int_equal(traps_remove(g->tr, TK_READ, 0x5100, 1), 0);
	assert_int_equal(traps_remove(g->tr, TK_READ, 0x5100, 1), 0);
	commit(g);
	assert_int_equal(g->f->access[5], 0);
	/* the last reference of the read watch: W and X stay taken */
	assert_int_equal(traps_remove(g->tr, TK_READ, 0x5100, 1), 0);
	assert_int_equal(traps_remove(g->tr, TK_READ, 0x5100, 1), -ENOENT);
	commit(g);
	assert_int_equal(g->f->access[5], TACC_R);
	assert_int_equal(traps_remove(g->tr, TK_EXEC, 0x5200, 1), 0);
	commit(g);
	assert_int_equal(g->f->access[5], TACC_R | TACC_X);
	assert_int_equal(traps_remove(g->tr, TK_WRITE, 0x5000, 4), 0);
	commit(g);
	assert_int_equal(g->f->access[5], TACC_RWX);
}

static void test_least_restriction(void **state)
{
	struct rig *g = *state;
	unsigned calls;

	/* frame 6 is read/execute only before we come: a write watch needs
	 * nothing more, and what we restrict is relative to that */
	g->f->access[6] = TACC_R | TACC_X;
	insert(g, TK_WRITE, 0x6010, 8);
	commit(g);
	assert_int_equal(g->f->set_access_calls, 0);
	assert_int_equal(g->f->access[6], TACC_R | TACC_X);
	insert(g, TK_ACCESS, 0x6020, 2);
	commit(g);
	assert_int_equal(g->f->access[6], TACC_X);
	calls = g->f->set_access_calls;
	assert_int_equal(traps_remove(g->tr, TK_ACCESS, 0x6020, 2), 0);
	assert_int_equal(traps_remove(g->tr, TK_WRITE, 0x6010, 8), 0);
	commit(g);
	/* back to its own permission, not to RWX */
	assert_int_equal(g->f->access[6], TACC_R | TACC_X);
	assert_int_equal(g->f->set_access_calls, calls + 1);
}

static void test_span_and_refusals(void **state)
{
	struct rig *g = *state;

	/* a watch across a frame boundary restricts both frames */
	insert(g, TK_WRITE, 0x7ffe, 4);
	commit(g);
	assert_int_equal(g->f->access[7], TACC_R | TACC_X);
	assert_int_equal(g->f->access[8], TACC_R | TACC_X);
	assert_int_equal(g->f->access[9], TACC_RWX);
	strbuf_reset(&g->why);
	assert_int_equal(traps_insert(g->tr, &g->phys, TK_WRITE, 0x5000, 0,
				      &g->why), -EINVAL);
	assert_non_null(strstr(g->why.buf, "not supported"));
	strbuf_reset(&g->why);
	assert_int_equal(traps_insert(g->tr, &g->phys, TK_WRITE,
				      NFRAMES * 4096ull + 8, 4, &g->why), -EFAULT);
	assert_non_null(strstr(g->why.buf, "outside the guest's memory"));
	/* a refused point leaves nothing behind */
	commit(g);
	assert_int_equal(traps_remove(g->tr, TK_WRITE, NFRAMES * 4096ull + 8, 4),
			 -ENOENT);
}

static void test_restore_all(void **state)
{
	struct rig *g = *state;
	uint8_t before[NFRAMES];

	g->f->access[12] = TACC_R;
	memcpy(before, g->f->access, NFRAMES);
	insert(g, TK_WRITE, 0xa000, 4);
	insert(g, TK_READ, 0xb000, 4);
	insert(g, TK_EXEC, 0xc000, 1);
	insert(g, TK_ACCESS, 0xd000, 4096);
	commit(g);
	assert_memory_not_equal(before, g->f->access, NFRAMES);
	traps_restore_all(g->tr);
	assert_memory_equal(before, g->f->access, NFRAMES);
	/* relax and unrelax: one frame back to its own and restricted again */
	commit(g);
	{
		uint64_t gfn = 0xb;

		assert_int_equal(traps_relax(g->tr, &gfn, 1), 0);
		assert_int_equal(g->f->access[0xb], TACC_RWX);
		assert_int_equal(traps_unrelax(g->tr, &gfn, 1), 0);
		assert_int_equal(g->f->access[0xb], TACC_X);
	}
	traps_restore_all(g->tr);
	assert_memory_equal(before, g->f->access, NFRAMES);
}

/* ---- classifying events ---- */

static void code(struct rig *g, const void *bytes, size_t n)
{
	memcpy(fake_phys(g->f, CODE), bytes, n);
}

static void event(struct target_event *ev, uint64_t gla, unsigned access)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = TEV_MEM_ACCESS;
	ev->regs.rip = CODE;
	ev->regs.cr0 = X86_CR0_PE;
	ev->regs.gpr[X86_RAX] = 0x11223344;
	ev->regs.rflags = 2;
	x86_set_valid_range(&ev->regs, XF_GPR0, XF_RFLAGS);
	x86_set_valid(&ev->regs, XF_CR0);
	ev->u.mem.gfn = gla >> 12;
	ev->u.mem.offset = (uint32_t)(gla & 0xfff);
	ev->u.mem.gla = gla;
	ev->u.mem.access = access;
	ev->u.mem.flags = TMEM_GLA_VALID;
}

static bool has_gfn(const struct trap_hit *h, uint64_t gfn)
{
	unsigned i;

	for (i = 0; i < h->ngfns; i++)
		if (h->gfns[i] == gfn)
			return true;
	return false;
}

/* mov [0x5000], eax: 4 bytes written at 0x5000 */
static const uint8_t store[] = { 0xa3, 0x00, 0x50, 0x00, 0x00 };
/* mov eax, [0x5000] */
static const uint8_t load[] = { 0x8b, 0x05, 0x00, 0x50, 0x00, 0x00 };

static void test_classify_hit_and_pass(void **state)
{
	struct rig *g = *state;
	struct target_event ev;
	struct trap_hit hit;

	code(g, store, sizeof(store));
	insert(g, TK_WRITE, 0x5002, 1);
	commit(g);
	event(&ev, 0x5000, TACC_W);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_HIT_DATA);
	assert_int_equal(hit.kind, TK_WRITE);
	/* the watched byte, not the faulting address */
	assert_int_equal(hit.addr, 0x5002);
	assert_true(has_gfn(&hit, 5));
	assert_false(hit.delivery);

	/* a store that misses the watched byte on the same frame */
	assert_int_equal(traps_remove(g->tr, TK_WRITE, 0x5002, 1), 0);
	insert(g, TK_WRITE, 0x5004, 4);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_PASS);
	assert_true(has_gfn(&hit, 5));

	/* a read watch is not hit by a store, and is by a load */
	insert(g, TK_READ, 0x5003, 1);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_PASS);
	code(g, load, sizeof(load));
	event(&ev, 0x5000, TACC_R);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_HIT_DATA);
	assert_int_equal(hit.kind, TK_READ);
	assert_int_equal(hit.addr, 0x5003);
	/* an access watch takes both */
	insert(g, TK_ACCESS, 0x5001, 1);
	assert_int_equal(traps_remove(g->tr, TK_READ, 0x5003, 1), 0);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_HIT_DATA);
	assert_int_equal(hit.kind, TK_ACCESS);
	assert_int_equal(hit.addr, 0x5001);
}

static void test_classify_delivery(void **state)
{
	struct rig *g = *state;
	static const uint8_t nop[] = { 0x90 };
	struct target_event ev;
	struct trap_hit hit;

	/* the instruction at rip touches no memory: a write to 0x5800 was
	 * made by the CPU delivering an event (an exception frame) */
	code(g, nop, sizeof(nop));
	insert(g, TK_WRITE, 0x5800, 8);
	commit(g);
	event(&ev, 0x5800, TACC_W);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_HIT_DATA);
	assert_true(hit.delivery);
	assert_int_equal(hit.kind, TK_WRITE);
	assert_int_equal(hit.addr, 0x5800);
	/* one byte below the watch: not ours, but not the instruction's
	 * either: stepped through, with the frames relaxed */
	event(&ev, 0x57ff, TACC_W);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_STEP);
	assert_true(hit.delivery);
	assert_true(has_gfn(&hit, 5));
}

static void test_classify_undecodable(void **state)
{
	struct rig *g = *state;
	struct target_event ev;
	struct trap_hit hit;

	/* rip on a frame that cannot be read: judged by the faulting byte */
	insert(g, TK_WRITE, 0x5010, 4);
	commit(g);
	g->f->missing[1] = true;
	event(&ev, 0x5012, TACC_W);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_HIT_DATA);
	assert_int_equal(hit.addr, 0x5012);
	event(&ev, 0x5014, TACC_W);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_PASS);
	/* a read of a write-watched byte is no hit either */
	event(&ev, 0x5012, TACC_R);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_PASS);
	g->f->missing[1] = false;
}

static void test_classify_exec(void **state)
{
	struct rig *g = *state;
	struct target_event ev;
	struct trap_hit hit;

	code(g, store, sizeof(store));
	insert(g, TK_EXEC, CODE, 1);
	insert(g, TK_WRITE, 0x5000, 4);
	commit(g);
	event(&ev, CODE, TACC_X);
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_HIT_EXEC);
	assert_int_equal(hit.kind, TK_EXEC);
	assert_int_equal(hit.addr, CODE);
	/* the store it makes hits a watchpoint: reported after it */
	assert_int_equal(hit.then_kind, TK_WRITE);
	assert_int_equal(hit.then_addr, 0x5000);
	assert_true(has_gfn(&hit, 1));
	assert_true(has_gfn(&hit, 5));
	/* a fetch of the next instruction on the frame: not ours */
	assert_int_equal(traps_remove(g->tr, TK_WRITE, 0x5000, 4), 0);
	event(&ev, CODE, TACC_X);
	ev.u.mem.offset = 0x10;
	ev.u.mem.gla = CODE + 0x10;
	ev.regs.rip = CODE + 0x10;
	assert_int_equal(traps_classify(g->tr, &ev, &hit), TV_PASS);
}

/* ---- accesses of unknown size ---- */

static void test_snapshot_and_change(void **state)
{
	struct rig *g = *state;
	uint64_t gfn = 6;
	struct trap_hit hit;

	insert(g, TK_WRITE, 0x6100, 4);
	insert(g, TK_READ, 0x6200, 4);	/* reads change nothing */
	commit(g);
	traps_snapshot(g->tr, &gfn, 1);
	memset(&hit, 0, sizeof(hit));
	*fake_phys(g->f, 0x6200) = 0x77;	/* not a write watch */
	*fake_phys(g->f, 0x6104) = 0x77;	/* beside it */
	assert_false(traps_changed(g->tr, &hit));
	traps_snapshot(g->tr, &gfn, 1);
	*fake_phys(g->f, 0x6102) = 0x99;
	assert_true(traps_changed(g->tr, &hit));
	assert_int_equal(hit.kind, TK_WRITE);
	assert_int_equal(hit.addr, 0x6102);
	/* the snapshot is used up */
	assert_false(traps_changed(g->tr, &hit));
}

/* ---- the debug-register fallback ---- */

static void test_dr_limits(void **state)
{
	struct rig *g = *state;
	struct dr_state *d = dr_new(&g->env);
	struct x86_regs *r = g->f->regs;
	enum trap_kind kind;
	uint64_t addr;
	unsigned v;

	for (v = 0; v < 2; v++) {
		r[v].dr[0] = 0x1111 + v;
		r[v].dr[7] = 0x400;
		x86_set_valid_range(&r[v], XF_DR0, XF_DR7);
	}
	strbuf_reset(&g->why);
	assert_int_equal(dr_insert(d, TK_READ, 0x2000, 4, &g->why), -ENOSPC);
	assert_non_null(strstr(g->why.buf, "rwatch"));
	strbuf_reset(&g->why);
	assert_int_equal(dr_insert(d, TK_WRITE, 0x2000, 3, &g->why), -ENOSPC);
	assert_non_null(strstr(g->why.buf, "1, 2, 4 or 8 bytes"));
	strbuf_reset(&g->why);
	assert_int_equal(dr_insert(d, TK_WRITE, 0x2002, 4, &g->why), -ENOSPC);
	assert_non_null(strstr(g->why.buf, "not aligned"));
	assert_false(dr_any(d));

	assert_int_equal(dr_insert(d, TK_EXEC, 0xc1000000, 1, NULL), 0);
	assert_int_equal(dr_insert(d, TK_WRITE, 0x2000, 4, NULL), 0);
	assert_int_equal(dr_insert(d, TK_ACCESS, 0x3000, 8, NULL), 0);
	assert_int_equal(dr_insert(d, TK_WRITE, 0x4000, 2, NULL), 0);
	/* the same point again takes no register */
	assert_int_equal(dr_insert(d, TK_WRITE, 0x2000, 4, NULL), 0);
	strbuf_reset(&g->why);
	assert_int_equal(dr_insert(d, TK_WRITE, 0x5000, 1, &g->why), -ENOSPC);
	assert_non_null(strstr(g->why.buf, "four"));

	assert_int_equal(dr_commit(d), 0);
	for (v = 0; v < 2; v++) {
		assert_int_equal(r[v].dr[0], 0xc1000000);
		assert_int_equal(r[v].dr[1], 0x2000);
		assert_int_equal(r[v].dr[2], 0x3000);
		assert_int_equal(r[v].dr[3], 0x4000);
		/* L0-L3; RW1 write + LEN1 4 bytes; RW2 access + LEN2 8 bytes;
		 * RW3 write + LEN3 2 bytes; exec RW0/LEN0 0; LE GE */
		assert_int_equal(r[v].dr[7], 0x55ull | 0x300 |
				 (1ull << 20) | (3ull << 22) |
				 (3ull << 24) | (2ull << 26) |
				 (1ull << 28) | (1ull << 30));
	}
	assert_true(dr_match(d, 0x2, &kind, &addr));
	assert_int_equal(kind, TK_WRITE);
	assert_int_equal(addr, 0x2000);
	assert_true(dr_match(d, 0x4, &kind, &addr));
	assert_int_equal(kind, TK_ACCESS);
	assert_false(dr_match(d, 0x4000 /* BS only */, &kind, &addr));

	/* one reference of the shared point goes: it stays */
	assert_int_equal(dr_remove(d, TK_WRITE, 0x2000, 4), 0);
	assert_true(dr_match(d, 0x2, &kind, &addr));
	dr_restore(d);
	for (v = 0; v < 2; v++) {
		assert_int_equal(r[v].dr[0], 0x1111 + v);
		assert_int_equal(r[v].dr[7], 0x400);
	}
	assert_false(dr_match(d, 0x2, &kind, &addr));
	dr_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_on_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refcounts_across_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_least_restriction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classify_hit_and_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classify_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classify_undecodable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classify_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_and_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dr_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
