// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the Windows walks (os-awareness/windows-tasks.c) on a
 * synthetic guest with a layout of our own, including lists that loop or hold
 * bad pointers or broken back-links, or hostile data (names with control
 * characters, impossible or duplicate thread ids, page-table roots that
 * do not exist); and how UNICODE_STRING names are shown.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/windows-internal.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

#define DM 0xffff888000000000ull	/* a direct map of guest memory */
#define NFRAMES 1024u			/* 4 MiB */
#define KAS_PML4 0x1000u
#define USER_PML4 0x3000u

/* our layout */
enum {
	PCR_SELF = 0x18, PCR_CUR_PRCB = 0x20, PCR_PRCB = 0x180,
	PRCB_CUR = 0x8, PRCB_IDLE = 0x18, PRCB_NUMBER = 0x24,
	EP_DTB = 0x28, EP_UDTB = 0x30, EP_THEAD = 0x40, EP_PID = 0x80,
	EP_LINKS = 0x88, EP_PPID = 0xa0, EP_NAME = 0xb0, EP_PEB = 0xc0,
	ET_STATE = 0x10, ET_KSTACK = 0x18, ET_TEB = 0x20, ET_PROC = 0x28,
	ET_ENTRY = 0x40, ET_CPID = 0x60, ET_CTID = 0x68, ET_NAME = 0x70,
	ET_SBASE = 0x78,
	LDR_LINKS = 0, LDR_BASE = 0x30, LDR_SIZE = 0x40, LDR_PATH = 0x48,
	LDR_NAME = 0x58,
};
enum { ST_READY = 1, ST_RUNNING = 2, ST_WAITING = 5 };

/* where things are (physical; virtual = DM + physical) */
#define PCR_PA(c) (0x10000u + (c) * 0x1000u)
#define PROC_PA(i) (0x20000u + (i) * 0x200u)
#define THR_PA(i) (0x30000u + (i) * 0x200u)
#define STACK_PA(i) (0x40000u + (i) * 0x1000u)
#define STR_PA 0x60000u
#define LDR_PA 0x70000u
#define GLOBALS_PA 0x80000u
#define G_ACTIVE (GLOBALS_PA + 0x0)
#define G_MODULES (GLOBALS_PA + 0x10)
#define G_PRCBS (GLOBALS_PA + 0x20)
#define G_NPROCS (GLOBALS_PA + 0x100)

static uint64_t va(uint64_t pa) { return DM + pa; }
static uint64_t pcr(unsigned c) { return va(PCR_PA(c)); }
static uint64_t proc(unsigned i) { return va(PROC_PA(i)); }
static uint64_t thr(unsigned i) { return va(THR_PA(i)); }

struct synth {
	struct fake_target *f;
	struct vmem *mem;
	struct win *w;
};

static void w64(struct synth *s, uint64_t a, uint64_t v)
{
	memcpy(fake_phys(s->f, a - DM), &v, 8);
}

static void w8(struct synth *s, uint64_t a, uint8_t v)
{
	*fake_phys(s->f, a - DM) = v;
}

static int regs_cb(void *ctx, unsigned vcpu, struct x86_regs *r)
{
	return target_get_regs(&((struct fake_target *)ctx)->base, vcpu, r);
}

static void ring(struct synth *s, uint64_t head, const uint64_t *nodes,
		 unsigned n)
{
	unsigned k;

	for (k = 0; k <= n; k++) {
		uint64_t cur = k ? nodes[k - 1] : head;
		uint64_t next = k < n ? nodes[k] : head;

		w64(s, cur, next);
		w64(s, next + 8, cur);
	}
}

static uint64_t ustr(struct synth *s, unsigned slot, const char *text)
{
	uint64_t us = va(STR_PA + slot * 0x100u), buf = us + 0x20;
	size_t i, n = strlen(text);

	for (i = 0; i < n; i++) {
		w8(s, buf + 2 * i, (uint8_t)text[i]);
		w8(s, buf + 2 * i + 1, 0);
	}
	w64(s, us, (uint64_t)(2 * n) | (uint64_t)(2 * n + 2) << 16);
	w64(s, us + 8, buf);
	return us;
}

static void mk_proc(struct synth *s, unsigned i, int64_t pid, int64_t ppid,
		    const char *name, uint64_t dtb)
{
	uint64_t p = proc(i);

	w64(s, p + EP_DTB, dtb);
	w64(s, p + EP_PID, (uint64_t)pid);
	w64(s, p + EP_PPID, (uint64_t)ppid);
	memset(fake_phys(s->f, p + EP_NAME - DM), 0, 15);
	memcpy(fake_phys(s->f, p + EP_NAME - DM), name, strlen(name));
	/* no threads yet */
	w64(s, p + EP_THEAD, p + EP_THEAD);
	w64(s, p + EP_THEAD + 8, p + EP_THEAD);
}

/* A thread whose switch frame says which thread it belongs to. */
static void mk_thread(struct synth *s, unsigned i, unsigned owner,
		      int64_t pid, int64_t tid, uint8_t state, uint64_t teb)
{
	uint64_t t = thr(i), kstack = va(STACK_PA(i)) + 0x800;

	w8(s, t + ET_STATE, state);
	w64(s, t + ET_KSTACK, kstack);
	w64(s, t + ET_TEB, teb);
	w64(s, t + ET_PROC, proc(owner));
	w64(s, t + ET_CPID, (uint64_t)pid);
	w64(s, t + ET_CTID, (uint64_t)tid);
	w64(s, t + ET_SBASE, va(STACK_PA(i)) + 0x1000);
	w64(s, kstack + 0x30, 0xb0b0000 + i);		/* Rbp */
	w64(s, kstack + 0x38, 0xfffff80000100000ull + i);	/* Return */
}

static void threads_of(struct synth *s, unsigned p, const unsigned *t,
		       unsigned n)
{
	uint64_t nodes[8];
	unsigned k;

	for (k = 0; k < n; k++)
		nodes[k] = thr(t[k]) + ET_ENTRY;
	ring(s, proc(p) + EP_THEAD, nodes, n);
}

static void set_regs(struct synth *s, unsigned v, bool user, uint64_t gs,
		     uint64_t kgs)
{
	struct x86_regs *r = &s->f->regs[v];

	memset(r, 0, sizeof(*r));
	r->seg[X86_CS].sel = user ? 0x33 : 0x10;
	r->seg[X86_SS].sel = user ? 0x2b : 0x18;
	r->seg[X86_SS].attr = X86_SEG_ATTR_P | (user ? 3u << 5 : 0);
	r->seg[X86_GS].base = gs;
	r->k_gs_base = kgs;
	x86_set_valid(r, XF_SEL0 + X86_CS);
	x86_set_valid(r, XF_SEL0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_KGSBASE);
}

static void mk_pcr(struct synth *s, unsigned c, uint64_t current,
		   uint64_t idle)
{
	uint64_t k = pcr(c), prcb = k + PCR_PRCB;

	w64(s, k + PCR_SELF, k);
	w64(s, k + PCR_CUR_PRCB, prcb);
	w64(s, prcb + PRCB_CUR, current);
	w64(s, prcb + PRCB_IDLE, idle);
	w64(s, prcb + PRCB_NUMBER, c);
	w64(s, va(G_PRCBS) + 8 * c, prcb);
}

/*
 * Processes: System (4: threads 8, 12), "app.exe" (100: 104 named
 * "worker", 108), "user.exe" (200: 204); the Idle process (index 3) with
 * idle threads 6 and 7. vCPU 0 runs thread 104 in kernel mode, vCPU 1
 * thread 204 in user mode.
 */
static struct synth *setup(void)
{
	struct synth *s = xcalloc(1, sizeof(*s));
	static const unsigned sys_t[] = { 0, 1 }, app_t[] = { 2, 3 },
			      user_t[] = { 4 };
	uint64_t nodes[3];
	struct win *w;

	s->f = fake_target_new(NFRAMES, 2, 64, 16, 0);
	/* a 1 GiB page maps the direct map onto physical 0 */
	w64(s, va(KAS_PML4 + 8 * ((DM >> 39) & 511)), 0x2000 | 3);
	w64(s, va(0x2000), 0x83);
	s->mem = vmem_new(&s->f->base, 256, false);

	mk_proc(s, 0, 4, 0, "System", KAS_PML4);
	mk_proc(s, 1, 100, 4, "app.exe", 0x5000);
	mk_proc(s, 2, 200, 100, "user.exe", 0x6000);
	w64(s, proc(2) + EP_UDTB, USER_PML4);
	mk_proc(s, 3, 0, 0, "Idle", KAS_PML4);
	mk_thread(s, 0, 0, 4, 8, ST_WAITING, 0);
	mk_thread(s, 1, 0, 4, 12, ST_READY, 0);
	mk_thread(s, 2, 1, 100, 104, ST_RUNNING, 0x7ff00000);
	mk_thread(s, 3, 1, 100, 108, ST_WAITING, 0x7ff02000);
	mk_thread(s, 4, 2, 200, 204, ST_RUNNING, 0x7ff00000);
	mk_thread(s, 6, 3, 0, 0, ST_READY, 0);
	mk_thread(s, 7, 3, 0, 0, ST_READY, 0);
	w64(s, thr(2) + ET_NAME, ustr(s, 0, "worker"));
	threads_of(s, 0, sys_t, 2);
	threads_of(s, 1, app_t, 2);
	threads_of(s, 2, user_t, 1);
	nodes[0] = proc(0) + EP_LINKS;
	nodes[1] = proc(1) + EP_LINKS;
	nodes[2] = proc(2) + EP_LINKS;
	ring(s, va(G_ACTIVE), nodes, 3);
	mk_pcr(s, 0, thr(2), thr(6));
	mk_pcr(s, 1, thr(4), thr(7));
	w64(s, va(G_NPROCS), 2);
	set_regs(s, 0, false, pcr(0), 0x7ff00000);
	set_regs(s, 1, true, 0x7ff00000, pcr(1));

	w = s->w = xcalloc(1, sizeof(*w));
	w->base.env.mem = s->mem;
	w->base.env.nr_vcpus = 2;
	w->base.env.guest_bits = 64;
	w->base.env.vcpu_regs = regs_cb;
	w->base.env.ctx = s->f;
	w->kas.mode = X86_PAGING_4LEVEL;
	w->kas.cr3 = KAS_PML4;
	w->kmin = win_kernel_min(X86_PAGING_4LEVEL);
	w->vcpu = xcalloc(2, sizeof(*w->vcpu));
	w->L = (struct win_layout){
		.pcr_self = { PCR_SELF, 8 }, .pcr_current_prcb = { PCR_CUR_PRCB, 8 },
		.pcr_prcb = { PCR_PRCB, 0x100 },
		.prcb_current = { PRCB_CUR, 8 }, .prcb_idle = { PRCB_IDLE, 8 },
		.prcb_number = { PRCB_NUMBER, 4 },
		.eprocess_size = 0x100,
		.pid = { EP_PID, 8 }, .ppid = { EP_PPID, 8 },
		.links = { EP_LINKS, 16 }, .image_name = { EP_NAME, 15 },
		.thread_head = { EP_THEAD, 16 }, .dtb = { EP_DTB, 8 },
		.user_dtb = { EP_UDTB, 8 }, .peb = { EP_PEB, 8 },
		.ethread_size = 0x100,
		.cid_pid = { ET_CPID, 8 }, .cid_tid = { ET_CTID, 8 },
		.thread_entry = { ET_ENTRY, 16 }, .thread_name = { ET_NAME, 8 },
		.state = { ET_STATE, 1 }, .kernel_stack = { ET_KSTACK, 8 },
		.stack_base = { ET_SBASE, 8 }, .teb = { ET_TEB, 8 },
		.process = { ET_PROC, 8 },
		.thread_list = "_EPROCESS.ThreadListHead",
		.frame_size = 0x40, .frame_ret = 0x38, .frame_rbp = 0x30,
		.us_length = { 0, 2 }, .us_buffer = { 8, 8 },
		.ldr_type = "_KLDR_DATA_TABLE_ENTRY",
		.ldr_links = { LDR_LINKS, 16 }, .ldr_base = { LDR_BASE, 8 },
		.ldr_size = { LDR_SIZE, 4 }, .ldr_name = { LDR_NAME, 16 },
		.ldr_path = { LDR_PATH, 16 },
	};
	snprintf(w->L.state_name[1], 24, "Ready");
	snprintf(w->L.state_name[2], 24, "Running");
	snprintf(w->L.state_name[5], 24, "Waiting");
	w->S.active_head = va(G_ACTIVE);
	w->S.module_list = va(G_MODULES);
	w->S.prcb_block = va(G_PRCBS);
	w->S.nprocs = va(G_NPROCS);
	return s;
}

static void teardown(struct synth *s)
{
	win_tasks_release(s->w);
	free(s->w->vcpu);
	free(s->w->prcbs);
	free(s->w);
	vmem_free(s->mem);
	fake_target_free(s->f);
	free(s);
}

static const struct os_task *find(struct synth *s, uint64_t tid)
{
	size_t i;

	for (i = 0; i < s->w->base.ntasks; i++)
		if (s->w->base.tasks[i].tid == tid)
			return &s->w->base.tasks[i];
	return NULL;
}

static void test_walk(void **state)
{
	struct synth *s = setup();
	struct win *w = s->w;
	const struct os_task *t;

	(void)state;
	assert_int_equal(win_walk(w), 0);
	assert_int_equal(w->base.ntasks, 7);
	assert_int_equal(w->nprocs, 3);
	assert_int_equal(w->last.warnings, 0);
	assert_int_equal(w->last.idle, 2);
	assert_int_equal(w->nprcbs, 2);
	/* processors: vCPU 0 by GS base, vCPU 1 (user mode) by KGS base */
	assert_true(w->vcpu[0].ok);
	assert_int_equal(w->vcpu[0].kpcr, pcr(0));
	assert_string_equal(w->vcpu[0].kpcr_src, "GS base");
	assert_true(w->vcpu[1].ok);
	assert_int_equal(w->vcpu[1].kpcr, pcr(1));
	assert_non_null(strstr(w->vcpu[1].kpcr_src, "IA32_KERNEL_GS_BASE"));
	assert_int_equal(w->vcpu[1].number, 1);
	/* idle threads: ids OS_TID_BASE - cpu, named after the Idle process */
	t = find(s, OS_TID_BASE);
	assert_non_null(t);
	assert_true(t->is_idle);
	assert_string_equal(t->name, "Idle");
	assert_int_equal(t->addr, thr(6));
	t = find(s, OS_TID_BASE - 1);
	assert_non_null(t);
	assert_int_equal(t->addr, thr(7));
	/* System's threads */
	t = find(s, OS_TID_BASE + 8);
	assert_non_null(t);
	assert_int_equal(t->pid, 4);
	assert_string_equal(t->name, "System");
	assert_string_equal(t->state, "Waiting");
	assert_true(t->kernel_thread);
	assert_int_equal(t->vcpu, -1);
	t = find(s, OS_TID_BASE + 12);
	assert_string_equal(t->state, "Ready");
	/* a named thread, running on vCPU 0 */
	t = find(s, OS_TID_BASE + 104);
	assert_non_null(t);
	assert_string_equal(t->name, "worker");
	assert_string_equal(t->proc_name, "app.exe");
	assert_string_equal(t->state, "Running");
	assert_int_equal(t->vcpu, 0);
	assert_false(t->kernel_thread);
	t = find(s, OS_TID_BASE + 108);
	assert_string_equal(t->name, "app.exe");
	t = find(s, OS_TID_BASE + 204);
	assert_int_equal(t->vcpu, 1);
	assert_int_equal(t->pid, 200);
	assert_int_equal(w->procs[2].ppid, 100);
	assert_int_equal(w->procs[2].user_dtb, USER_PML4);
	assert_int_equal(w->procs[1].nthreads, 2);
	assert_true(w->have_kcs);
	teardown(s);
}

static void test_registers_and_aspace(void **state)
{
	struct synth *s = setup();
	struct win *w = s->w;
	const struct os_task *t;
	struct x86_regs r;
	struct aspace as;

	(void)state;
	assert_int_equal(win_walk(w), 0);
	t = find(s, OS_TID_BASE + 108);
	memset(&r, 0, sizeof(r));
	assert_int_equal(win_task_regs(w, t, &r), 0);
	assert_true(x86_valid(&r, XF_RIP));
	assert_int_equal(r.rip, 0xfffff80000100000ull + 3);
	assert_int_equal(r.gpr[X86_RSP], va(STACK_PA(3)) + 0x800 + 0x40);
	assert_int_equal(r.gpr[X86_RBP], 0xb0b0000 + 3);
	assert_false(x86_valid(&r, XF_GPR0 + X86_RAX));
	assert_int_equal(r.seg[X86_CS].sel, 0x10);
	assert_int_equal(r.seg[X86_SS].sel, 0x18);
	/* a kernel stack that is no kernel pointer: nothing to give */
	w64(s, thr(0) + ET_KSTACK, 0x1234);
	assert_int_equal(win_walk(w), 0);
	t = find(s, OS_TID_BASE + 8);
	memset(&r, 0, sizeof(r));
	assert_int_equal(win_task_regs(w, t, &r), -ENODATA);
	/* an unreadable switch frame is an error, not zeros */
	w64(s, thr(0) + ET_KSTACK, va(NFRAMES * 4096ull + 0x1000));
	assert_int_equal(win_walk(w), 0);
	t = find(s, OS_TID_BASE + 8);
	assert_int_equal(win_task_regs(w, t, &r), -EFAULT);
	/* address spaces: the process's DTB; idle threads the kernel's */
	assert_int_equal(win_task_aspace(w, find(s, OS_TID_BASE + 108), &as, NULL), 0);
	assert_int_equal(as.cr3, 0x5000);
	assert_int_equal(as.mode, X86_PAGING_4LEVEL);
	assert_false(as.phys);
	assert_int_equal(win_task_aspace(w, find(s, OS_TID_BASE - 1), &as, NULL), 0);
	assert_int_equal(as.cr3, KAS_PML4);
	/* without DirectoryTableBase the user-mode tables serve */
	w64(s, proc(2) + EP_DTB, 0);
	assert_int_equal(win_walk(w), 0);
	assert_int_equal(win_task_aspace(w, find(s, OS_TID_BASE + 204), &as, NULL), 0);
	assert_int_equal(as.cr3, USER_PML4);
	w64(s, proc(2) + EP_UDTB, 0);
	assert_int_equal(win_walk(w), 0);
	assert_int_equal(win_task_aspace(w, find(s, OS_TID_BASE + 204), &as, NULL),
			 -EFAULT);
	/* a task that is not the module's */
	{
		struct os_task other;

		memset(&other, 0, sizeof(other));
		assert_int_equal(win_task_regs(w, &other, &r), -ESRCH);
		assert_int_equal(win_task_aspace(w, &other, &as, NULL), -ESRCH);
	}
	teardown(s);
}

static void test_process_list_damage(void **state)
{
	struct synth *s;

	(void)state;
	/* a loop: user.exe's Flink back to app.exe */
	s = setup();
	w64(s, proc(2) + EP_LINKS, proc(1) + EP_LINKS);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->nprocs, 3);
	assert_int_equal(s->w->base.ntasks, 7);
	assert_true(s->w->last.warnings >= 1);
	teardown(s);
	/* a non-canonical Flink after System */
	s = setup();
	w64(s, proc(0) + EP_LINKS, 0x4141414141414141ull);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->nprocs, 1);
	assert_true(s->w->last.warnings >= 1);
	/* the threads running on vCPUs are still listed */
	assert_non_null(find(s, OS_TID_BASE + 104));
	assert_string_equal(find(s, OS_TID_BASE + 104)->proc_name, "app.exe");
	assert_non_null(find(s, OS_TID_BASE + 204));
	assert_null(find(s, OS_TID_BASE + 108));
	teardown(s);
	/* an unreadable process */
	s = setup();
	w64(s, proc(1) + EP_LINKS, va(NFRAMES * 4096ull + 0x88));
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->nprocs, 2);
	teardown(s);
	/* a broken back-link */
	s = setup();
	w64(s, proc(2) + EP_LINKS + 8, proc(0) + EP_LINKS);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->nprocs, 2);
	assert_true(s->w->last.warnings >= 1);
	teardown(s);
	/* an unreadable list head: no process at all */
	s = setup();
	s->w->S.active_head = va(NFRAMES * 4096ull);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->nprocs, 0);
	assert_true(s->w->last.warnings >= 1);
	teardown(s);
}

static void test_thread_list_damage(void **state)
{
	struct synth *s;

	(void)state;
	/* a loop in app.exe's threads: 108's Flink back to 104 */
	s = setup();
	w64(s, thr(3) + ET_ENTRY, thr(2) + ET_ENTRY);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->base.ntasks, 7);
	assert_int_equal(s->w->nprocs, 3);
	assert_true(s->w->last.warnings >= 1);
	teardown(s);
	/* a thread of another process in the list */
	s = setup();
	w64(s, thr(3) + ET_CPID, 200);
	assert_int_equal(win_walk(s->w), 0);
	assert_null(find(s, OS_TID_BASE + 108));
	assert_non_null(find(s, OS_TID_BASE + 204));
	assert_true(s->w->last.warnings >= 1);
	teardown(s);
	/* a duplicate thread id: listed with a fallback id and a note */
	s = setup();
	w64(s, thr(3) + ET_CTID, 8);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->base.ntasks, 7);
	assert_int_equal(find(s, OS_TID_BASE + 8)->pid, 4);
	assert_null(find(s, OS_TID_BASE + 8)->note);
	assert_int_equal(find(s, OS_TID_FALLBACK + 1)->addr, thr(3));
	assert_string_equal(find(s, OS_TID_FALLBACK + 1)->note, "duplicate TID");
	assert_int_equal(s->w->last.fallback_ids, 1);
	teardown(s);
	/* a bad pointer in a thread list */
	s = setup();
	w64(s, thr(0) + ET_ENTRY, 0x8000000000000000ull);
	assert_int_equal(win_walk(s->w), 0);
	assert_non_null(find(s, OS_TID_BASE + 8));
	assert_null(find(s, OS_TID_BASE + 12));
	assert_non_null(find(s, OS_TID_BASE + 108));
	teardown(s);
}

static void test_processors(void **state)
{
	struct synth *s;

	(void)state;
	/* a GS base that is no KPCR (Self does not match) */
	s = setup();
	w64(s, pcr(0) + PCR_SELF, 0);
	assert_int_equal(win_walk(s->w), 0);
	assert_false(s->w->vcpu[0].ok);
	assert_true(s->w->vcpu[1].ok);
	assert_int_equal(find(s, OS_TID_BASE + 104)->vcpu, -1);
	/* KiProcessorBlock still lists both idle threads */
	assert_non_null(find(s, OS_TID_BASE));
	assert_non_null(find(s, OS_TID_BASE - 1));
	teardown(s);
	/* a KiProcessorBlock entry that lies about its number */
	s = setup();
	w64(s, pcr(1) + PCR_PRCB + PRCB_NUMBER, 5);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->nprcbs, 1);
	teardown(s);
	/* a garbage KeNumberProcessors: bounded by the vCPUs */
	s = setup();
	w64(s, va(G_NPROCS), 0xffffffffffffffffull);
	assert_int_equal(win_walk(s->w), 0);
	assert_true(s->w->nprcbs <= 255);
	teardown(s);
}

static void test_modules(void **state)
{
	struct synth *s = setup();
	struct strbuf out = STRBUF_INIT;
	uint64_t e0 = va(LDR_PA), e1 = va(LDR_PA + 0x100), nodes[2] = { e0, e1 };

	(void)state;
	w64(s, e0 + LDR_BASE, 0xfffff80000000000ull);
	w64(s, e0 + LDR_SIZE, 0x123000);
	memcpy(fake_phys(s->f, e0 + LDR_NAME - DM),
	       fake_phys(s->f, ustr(s, 1, "ntoskrnl.exe") - DM), 16);
	memcpy(fake_phys(s->f, e0 + LDR_PATH - DM),
	       fake_phys(s->f, ustr(s, 2, "\\SystemRoot\\ntoskrnl.exe") - DM), 16);
	w64(s, e1 + LDR_BASE, 0xfffff80000400000ull);
	w64(s, e1 + LDR_SIZE, 0x9000);
	memcpy(fake_phys(s->f, e1 + LDR_NAME - DM),
	       fake_phys(s->f, ustr(s, 3, "hal.dll") - DM), 16);
	ring(s, va(G_MODULES), nodes, 2);
	win_list_modules(s->w, &out);
	assert_non_null(strstr(out.buf, "0xfffff80000000000 0x00123000 ntoskrnl.exe"));
	/* guest text: the backslashes are escaped */
	assert_non_null(strstr(out.buf, "\\\\SystemRoot\\\\ntoskrnl.exe"));
	assert_non_null(strstr(out.buf, "0xfffff80000400000 0x00009000 hal.dll"));
	assert_non_null(strstr(out.buf, "2 drivers"));
	/* a loop */
	strbuf_reset(&out);
	w64(s, e1 + LDR_LINKS, e0);
	win_list_modules(s->w, &out);
	assert_non_null(strstr(out.buf, "a loop in the driver list"));
	assert_non_null(strstr(out.buf, "2 drivers"));
	strbuf_release(&out);
	teardown(s);
}

/* Guest text is shown escaped: UNICODE_STRING names unit by unit, NULs,
 * lone surrogates and all; ImageFileName byte by byte. */
static void test_hostile_names(void **state)
{
	/* "E", ESC, e-acute, U+202E, a lone surrogate, a NUL, '\', '"' */
	static const uint16_t units[] = { 'E', 0x1b, 0xe9, 0x202e, 0xd800, 0,
					  '\\', '"' };
	struct synth *s = setup();
	uint64_t us = va(STR_PA + 0x800), buf = us + 0x20;
	const struct os_task *t;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(units) / 2; i++) {
		w8(s, buf + 2 * i, (uint8_t)units[i]);
		w8(s, buf + 2 * i + 1, (uint8_t)(units[i] >> 8));
	}
	w64(s, us, sizeof(units) | (uint64_t)sizeof(units) << 16);
	w64(s, us + 8, buf);
	w64(s, thr(2) + ET_NAME, us);
	memcpy(fake_phys(s->f, proc(1) + EP_NAME - DM), "\x1b]0;x\x07\xff<&>]]>!", 15);
	assert_int_equal(win_walk(s->w), 0);
	t = find(s, OS_TID_BASE + 104);
	assert_string_equal(t->name, "E\\u001b\\u00e9\\u202e\\ud800\\u0000\\\\\\\"");
	/* 15 bytes, no NUL: the whole name */
	assert_string_equal(t->proc_name, "\\x1b]0;x\\x07\\xff<&>]]>!");
	assert_string_equal(s->w->procs[1].name, t->proc_name);
	assert_string_equal(find(s, OS_TID_BASE + 108)->name, t->proc_name);
	/* a name longer than what is read: cut, and marked so */
	w64(s, us, 0xfffeull | 0xfffeull << 16);
	for (i = 0; i < WIN_MAX_NAME_BYTES; i += 2)
		w8(s, buf + i, 'a' + i % 26);
	assert_int_equal(win_walk(s->w), 0);
	t = find(s, OS_TID_BASE + 104);
	assert_true(strlen(t->name) == sizeof(t->name) - 1 ||
		    strlen(t->name) == sizeof(t->name) - 2);
	assert_non_null(strstr(t->name, "\\..."));
	teardown(s);
}

/* Thread ids stay unique and valid whatever the guest's TIDs and
 * processor numbers say. */
static void test_hostile_ids(void **state)
{
	struct synth *s = setup();
	size_t i, j;

	(void)state;
	w64(s, thr(0) + ET_CTID, 0);				/* impossible */
	w64(s, thr(1) + ET_CTID, 0xffffffffffffffffull);	/* would be -1 + BASE */
	w64(s, thr(3) + ET_CTID, 0x100000004ull);		/* above 2^26 */
	/* processor 1 says it is number 60000: its idle thread, found
	 * through vCPU 1, gets a fallback id */
	w64(s, pcr(1) + PCR_PRCB + PRCB_NUMBER, 60000);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(s->w->base.ntasks, 7);
	for (i = 0; i < s->w->base.ntasks; i++) {
		uint64_t tid = s->w->base.tasks[i].tid;

		assert_true(tid > 2 && tid != (uint64_t)-1);
		for (j = 0; j < i; j++)
			assert_true(s->w->base.tasks[j].tid != tid);
	}
	assert_int_equal(s->w->last.fallback_ids, 4);
	for (i = 1; i <= 4; i++)
		assert_non_null(find(s, OS_TID_FALLBACK + i));
	/* in the order of the walk: idle threads, then processes */
	assert_int_equal(find(s, OS_TID_FALLBACK + 1)->addr, thr(7));
	assert_string_equal(find(s, OS_TID_FALLBACK + 1)->note, "impossible processor");
	assert_int_equal(find(s, OS_TID_FALLBACK + 2)->addr, thr(0));
	assert_string_equal(find(s, OS_TID_FALLBACK + 2)->note, "impossible TID");
	assert_int_equal(find(s, OS_TID_FALLBACK + 3)->addr, thr(1));
	assert_int_equal(find(s, OS_TID_FALLBACK + 4)->addr, thr(3));
	assert_int_equal(find(s, OS_TID_FALLBACK + 4)->thread_id, 0x100000004ll);
	assert_non_null(find(s, OS_TID_BASE + 104));
	teardown(s);
}

/* A process's page-table root is checked as CR3 would be: reserved bits
 * clear, a frame the guest has; else nothing is read, and why is said. */
static void test_hostile_dtb(void **state)
{
	struct synth *s = setup();
	struct strbuf why = STRBUF_INIT;
	struct aspace as;

	(void)state;
	w64(s, proc(1) + EP_DTB, 0x4141414141414000ull);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(win_task_aspace(s->w, find(s, OS_TID_BASE + 108), &as, &why),
			 -EFAULT);
	assert_non_null(strstr(why.buf, "DirectoryTableBase 0x4141414141414000 is not a page-table root"));
	assert_non_null(strstr(why.buf, "of app.exe (pid 100)"));
	strbuf_reset(&why);
	w64(s, proc(1) + EP_DTB, NFRAMES * 4096ull + 0x2000);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(win_task_aspace(s->w, find(s, OS_TID_BASE + 108), &as, &why),
			 -EFAULT);
	assert_non_null(strstr(why.buf, "which is not in the guest's memory"));
	/* the low twelve bits (PCID) are not the root's */
	w64(s, proc(1) + EP_DTB, 0x5002);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(win_task_aspace(s->w, find(s, OS_TID_BASE + 108), &as, NULL), 0);
	assert_int_equal(as.cr3, 0x5000);
	/* a bad DirectoryTableBase is not replaced by the user-mode one */
	w64(s, proc(2) + EP_DTB, 0x0010000000000000ull);
	assert_int_equal(win_walk(s->w), 0);
	assert_int_equal(win_task_aspace(s->w, find(s, OS_TID_BASE + 204), &as, NULL),
			 -EFAULT);
	strbuf_release(&why);
	teardown(s);
}

static void test_state_names(void **state)
{
	struct synth *s = setup();
	char buf[16];

	(void)state;
	assert_string_equal(win_state_name(s->w, 5, buf, sizeof(buf)), "Waiting");
	assert_string_equal(win_state_name(s->w, 12, buf, sizeof(buf)), "State12");
	assert_string_equal(win_state_name(s->w, 255, buf, sizeof(buf)), "State255");
	teardown(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_registers_and_aspace),
		cmocka_unit_test(test_process_list_damage),
		cmocka_unit_test(test_thread_list_damage),
		cmocka_unit_test(test_processors),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_hostile_ids),
		cmocka_unit_test(test_hostile_dtb),
		cmocka_unit_test(test_state_names),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
