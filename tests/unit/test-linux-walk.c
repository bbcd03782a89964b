// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the Linux task walk (os-awareness/linux-tasks.c) on a
 * synthetic guest built here: page tables mapping a direct map, task_structs
 * with a layout of our own, per-CPU areas, run queues and signal structs.
 * Covered: idle tasks, thread groups (signal->thread_head and the older
 * thread_group ring), vCPU to CPU matching, state letters, a sleeping
 * task's switch frame, address spaces; and lists that loop, hold bad or
 * unreadable pointers, end early or break their back-links: each walk ends
 * with a warning and the tasks found so far.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "os-awareness/linux-internal.h"
#include "stub/base/log.h"
#include "stub/guest/vmem.h"
#include "tests/unit/unit-helpers.h"
#include "tests/unit/unit-helpers.c"

#define DM 0xffff888000000000ull	/* the synthetic direct map */
#define NFRAMES 2048u			/* 8 MiB of guest memory */
#define TASKS_PA 0x100000u
#define SIG_PA 0x300000u
#define MM_PA 0x380000u
#define STACK_PA 0x400000u
#define PCPU_PA 0x600000u
#define THREAD_SIZE 0x4000u
#define PF_KTHREAD 0x00200000u

/* our task_struct layout */
enum {
	O_STATE = 0x10, O_STACK = 0x18, O_FLAGS = 0x2c, O_CPU = 0x30, O_ONCPU = 0x34,
	O_TASKS = 0x100, O_MM = 0x140, O_ACTIVE_MM = 0x148, O_EXIT = 0x150,
	O_PID = 0x180, O_TGID = 0x184, O_PARENT = 0x188, O_LEADER = 0x190,
	O_TNODE = 0x1a0, O_TGROUP = 0x1b0, O_COMM = 0x200, O_CRED = 0x218,
	O_SIGNAL = 0x220, O_SP = 0x300,
	S_THEAD = 0x10,		/* signal_struct.thread_head */
	M_PGD = 0x48,		/* mm_struct.pgd */
	R_CURR = 0x40, R_IDLE = 0x48,	/* struct rq */
	PCPU_CURRENT = 0x100, PCPU_RQ = 0x200,	/* per-CPU symbols */
	FRAME_SIZE = 0x38,
};

struct synth {
	struct fake_target *f;
	struct vmem *mem;
	struct lx *lx;
};

static uint64_t va(uint64_t pa) { return DM + pa; }
static uint64_t task(unsigned i) { return va(TASKS_PA + i * 0x1000ull); }
static uint64_t sig(unsigned i) { return va(SIG_PA + i * 0x100ull); }
static uint64_t mm(unsigned i) { return va(MM_PA + i * 0x100ull); }
static uint64_t cpu_off(unsigned c) { return va(PCPU_PA + c * 0x10000ull); }

static void w64(struct synth *s, uint64_t a, uint64_t v)
{
	memcpy(fake_phys(s->f, a - DM), &v, 8);
}

static void w32(struct synth *s, uint64_t a, uint32_t v)
{
	memcpy(fake_phys(s->f, a - DM), &v, 4);
}

static int regs_cb(void *ctx, unsigned vcpu, struct x86_regs *r)
{
	return target_get_regs(&((struct fake_target *)ctx)->base, vcpu, r);
}

/* A task; its stack holds a switch frame whose values say which task
 * they belong to. */
static void mk_task(struct synth *s, unsigned i, int pid, int tgid,
		    const char *comm, uint32_t state, uint32_t flags,
		    uint64_t mmp, unsigned sigi)
{
	uint64_t t = task(i), stack = va(STACK_PA + i * THREAD_SIZE);
	uint64_t sp = stack + THREAD_SIZE - 0x100;
	unsigned k;

	w32(s, t + O_STATE, state);
	w64(s, t + O_STACK, stack);
	w32(s, t + O_FLAGS, flags);
	w32(s, t + O_CPU, i % 2);
	w64(s, t + O_MM, mmp);
	w64(s, t + O_ACTIVE_MM, mmp);
	w32(s, t + O_PID, (uint32_t)pid);
	w32(s, t + O_TGID, (uint32_t)tgid);
	w64(s, t + O_PARENT, task(0));
	w64(s, t + O_LEADER, t);
	memset(fake_phys(s->f, t + O_COMM - DM), 0, 16);
	memcpy(fake_phys(s->f, t + O_COMM - DM), comm, strlen(comm));
	w64(s, t + O_SIGNAL, sig(sigi));
	w64(s, t + O_SP, sp);
	/* a single thread: its node is alone on its signal's list */
	w64(s, t + O_TNODE, sig(sigi) + S_THEAD);
	w64(s, t + O_TNODE + 8, sig(sigi) + S_THEAD);
	w64(s, sig(sigi) + S_THEAD, t + O_TNODE);
	w64(s, sig(sigi) + S_THEAD + 8, t + O_TNODE);
	w64(s, t + O_TGROUP, t + O_TGROUP);
	w64(s, t + O_TGROUP + 8, t + O_TGROUP);
	for (k = 0; k < 7; k++)		/* r15 r14 r13 r12 bx bp ret_addr */
		w64(s, sp + 8 * k, 0x1000ull * i + k);
}

/* Links nodes (addresses of list_heads) into a ring through head. */
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

static void kernel_regs(struct synth *s, unsigned v, uint64_t gs)
{
	struct x86_regs *r = &s->f->regs[v];

	memset(r, 0, sizeof(*r));
	r->seg[X86_CS].sel = 0x10;
	r->seg[X86_SS].sel = 0x18;
	r->seg[X86_GS].base = gs;
	r->gpr[X86_RSP] = 0x1234;
	x86_set_valid(r, XF_SEL0 + X86_CS);
	x86_set_valid(r, XF_SEL0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_GPR0 + X86_RSP);
}

/*
 * The guest: init_task (0) and CPU 1's idle task (1); init (2, running on
 * CPU 0), kthreadd (3), "proc" (4) with threads 5 and 6, a zombie (7).
 * vCPU 0 runs CPU 1, vCPU 1 runs CPU 0: matching must go by GS base.
 */
static struct synth *setup(void)
{
	struct synth *s = xcalloc(1, sizeof(*s));
	struct lx *lx;
	uint64_t nodes[8], pml4 = 0x1000, pdpt = 0x2000;
	unsigned k;

	s->f = fake_target_new(NFRAMES, 2, 64, 16, 0);
	/* a 1 GiB page maps the direct map onto physical 0 */
	w64(s, va(pml4 + 8 * ((DM >> 39) & 511)), pdpt | 3);
	w64(s, va(pdpt), 0x83);
	s->mem = vmem_new(&s->f->base, 256, false);

	mk_task(s, 0, 0, 0, "swapper/0", 0, PF_KTHREAD, 0, 0);
	mk_task(s, 1, 0, 0, "swapper/1", 0, PF_KTHREAD, 0, 1);
	mk_task(s, 2, 1, 1, "init", 0, 0, mm(0), 2);
	mk_task(s, 3, 2, 2, "kthreadd", 1, PF_KTHREAD, 0, 3);
	mk_task(s, 4, 10, 10, "proc", 0x402, 0, mm(1), 4);
	mk_task(s, 5, 11, 10, "worker-a", 1, 0, mm(1), 4);
	mk_task(s, 6, 12, 10, "worker-b", 2, 0, mm(1), 4);
	mk_task(s, 7, 20, 20, "zombie", 0, 0, 0, 7);
	w32(s, task(7) + O_EXIT, 0x20);
	w64(s, task(5) + O_PARENT, task(2));
	w64(s, task(4) + O_PARENT, task(2));
	w64(s, task(6) + O_PARENT, task(2));
	/* the process list and the thread group of proc */
	nodes[0] = task(2) + O_TASKS;
	nodes[1] = task(3) + O_TASKS;
	nodes[2] = task(4) + O_TASKS;
	nodes[3] = task(7) + O_TASKS;
	ring(s, task(0) + O_TASKS, nodes, 4);
	for (k = 0; k < 3; k++)
		nodes[k] = task(4 + k) + O_TNODE;
	ring(s, sig(4) + S_THEAD, nodes, 3);
	for (k = 0; k < 3; k++)
		nodes[k] = task(4 + k) + O_TGROUP;
	ring(s, task(4) + O_TGROUP, nodes + 1, 2);
	/* per-CPU: current task and run queue of each CPU */
	w64(s, cpu_off(0) + PCPU_CURRENT, task(2));
	w64(s, cpu_off(1) + PCPU_CURRENT, task(1));
	w64(s, cpu_off(0) + PCPU_RQ + R_IDLE, task(0));
	w64(s, cpu_off(1) + PCPU_RQ + R_IDLE, task(1));
	w64(s, cpu_off(0) + PCPU_RQ + R_CURR, task(2));
	w64(s, cpu_off(1) + PCPU_RQ + R_CURR, task(1));
	/* page tables of the mms: pgd pointers into the direct map */
	w64(s, mm(0) + M_PGD, va(0x1000));
	w64(s, mm(1) + M_PGD, va(0x7000));
	w64(s, mm(9) + M_PGD, va(0x5000));	/* init_mm */
	kernel_regs(s, 0, cpu_off(1));
	kernel_regs(s, 1, cpu_off(0) + 0x40);

	lx = s->lx = xcalloc(1, sizeof(*lx));
	lx->base.env.mem = s->mem;
	lx->base.env.nr_vcpus = 2;
	lx->base.env.guest_bits = 64;
	lx->base.env.vcpu_regs = regs_cb;
	lx->base.env.ctx = s->f;
	lx->bits = 64;
	lx->ptr = 8;
	lx->kmin = 0xffff800000000000ull;
	lx->kas.mode = X86_PAGING_4LEVEL;
	lx->kas.cr3 = pml4;
	lx->page_offset = DM;
	lx->have_page_offset = true;
	lx->L = (struct lx_layout){
		.task_size = 0x800,
		.tasks = { O_TASKS, 16 }, .pid = { O_PID, 4 },
		.tgid = { O_TGID, 4 }, .comm = { O_COMM, 16 },
		.state = { O_STATE, 4 }, .exit_state = { O_EXIT, 4 },
		.flags = { O_FLAGS, 4 }, .mm = { O_MM, 8 },
		.active_mm = { O_ACTIVE_MM, 8 }, .stack = { O_STACK, 8 },
		.real_parent = { O_PARENT, 8 }, .group_leader = { O_LEADER, 8 },
		.signal = { O_SIGNAL, 8 }, .thread_node = { O_TNODE, 16 },
		.thread_group = { O_TGROUP, 16 }, .thread_sp = { O_SP, 8 },
		.cpu = { O_CPU, 4 }, .on_cpu = { O_ONCPU, 4 },
		.real_cred = { O_CRED, 8 },
		.sig_thread_head = { S_THEAD, 16 }, .mm_pgd = { M_PGD, 8 },
		.rq_curr = { R_CURR, 8 }, .rq_idle = { R_IDLE, 8 },
		.frame_size = FRAME_SIZE,
		.frame_gpr = { [X86_RAX] = -1, [X86_RCX] = -1, [X86_RDX] = -1,
			       [X86_RSP] = -1, [X86_RSI] = -1, [X86_RDI] = -1,
			       [X86_R8] = -1, [X86_R9] = -1, [X86_R10] = -1,
			       [X86_R11] = -1, [X86_R15] = 0, [X86_R14] = 8,
			       [X86_R13] = 0x10, [X86_R12] = 0x18,
			       [X86_RBX] = 0x20, [X86_RBP] = 0x28 },
		.frame_ret = 0x30, .frame_flags = -1,
		.thread_size = THREAD_SIZE,
	};
	lx->S.init_task = task(0);
	lx->S.init_mm = mm(9);
	lx->S.current_task = PCPU_CURRENT;
	lx->S.runqueues = PCPU_RQ;
	lx->ncpus = 2;
	lx->cpu_off = xcalloc(2, sizeof(uint64_t));
	lx->cpu_off[0] = cpu_off(0);
	lx->cpu_off[1] = cpu_off(1);
	lx->vcpu_cpu = xcalloc(2, sizeof(int));
	lx->vcpu_cur = xcalloc(2, sizeof(uint64_t));
	lx->have_kcs = true;
	lx->kernel_cs = 0x10;
	lx->kernel_ss = 0x18;
	return s;
}

static void teardown(struct synth *s)
{
	lx_tasks_release(s->lx);
	free(s->lx->cpu_off);
	free(s->lx->vcpu_cpu);
	free(s->lx->vcpu_cur);
	free(s->lx);
	vmem_free(s->mem);
	fake_target_free(s->f);
	free(s);
}

static const struct os_task *by_name(const struct lx *lx, const char *name)
{
	size_t i;

	for (i = 0; i < lx->base.ntasks; i++)
		if (!strcmp(lx->base.tasks[i].name, name))
			return &lx->base.tasks[i];
	return NULL;
}

/* The walk's names, in order, joined by spaces. */
static void names(const struct lx *lx, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = 0;
	for (i = 0; i < lx->base.ntasks && n + 20 < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? " " : "",
				      lx->base.tasks[i].name);
}

static void walk_expect(struct synth *s, const char *expect,
			unsigned warnings)
{
	char got[512];

	assert_int_equal(lx_walk(s->lx), 0);
	names(s->lx, got, sizeof(got));
	assert_string_equal(got, expect);
	assert_int_equal(s->lx->last.warnings, warnings);
}

static void test_walk(void **state)
{
	struct synth *s = setup();
	const struct os_task *t;
	const struct lx_task *p;

	(void)state;
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    0);
	/* idle tasks: pid 0, thread ids from the CPU */
	t = by_name(s->lx, "swapper/0");
	assert_true(t->tid == OS_TID_BASE);
	assert_true(t->is_idle && t->kernel_thread);
	t = by_name(s->lx, "swapper/1");
	assert_true(t->tid == OS_TID_BASE - 1);
	/* vCPU 0 runs CPU 1 (its GS base), whose current is swapper/1 */
	assert_int_equal(t->vcpu, 0);
	assert_int_equal(s->lx->vcpu_cpu[0], 1);
	assert_int_equal(s->lx->vcpu_cpu[1], 0);
	t = by_name(s->lx, "init");
	assert_int_equal(t->vcpu, 1);
	assert_string_equal(t->state, "R");
	assert_true(t->tid == OS_TID_BASE + 1);
	assert_false(t->kernel_thread);
	t = by_name(s->lx, "kthreadd");
	assert_string_equal(t->state, "S");
	assert_int_equal(t->vcpu, -1);
	assert_true(t->kernel_thread);
	t = by_name(s->lx, "proc");
	assert_string_equal(t->state, "I");
	/* threads: pid is the group's, names their own, proc_name the
	 * leader's */
	t = by_name(s->lx, "worker-b");
	assert_int_equal(t->pid, 10);
	assert_int_equal(t->thread_id, 12);
	assert_true(t->tid == OS_TID_BASE + 12);
	assert_string_equal(t->proc_name, "proc");
	assert_string_equal(t->state, "D");
	p = &s->lx->tp[t - s->lx->base.tasks];
	assert_int_equal(p->ppid, 1);
	assert_int_equal(p->cpu, 0);
	t = by_name(s->lx, "zombie");
	assert_string_equal(t->state, "Z");
	assert_int_equal(s->lx->tp[t - s->lx->base.tasks].ppid, 0);
	assert_int_equal(s->lx->last.processes, 4);
	assert_int_equal(s->lx->last.threads, 6);
	assert_int_equal(s->lx->last.idle, 2);
	teardown(s);
}

static void test_rewalk_after_exit(void **state)
{
	struct synth *s = setup();
	uint64_t nodes[3];

	(void)state;
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    0);
	/* kthreadd and the zombie leave the list */
	nodes[0] = task(2) + O_TASKS;
	nodes[1] = task(4) + O_TASKS;
	ring(s, task(0) + O_TASKS, nodes, 2);
	vmem_flush(s->mem);
	walk_expect(s, "swapper/0 swapper/1 init proc worker-a worker-b", 0);
	assert_null(by_name(s->lx, "zombie"));
	teardown(s);
}

static void test_loop(void **state)
{
	struct synth *s = setup();

	(void)state;
	/* proc's next goes back to kthreadd: a loop */
	w64(s, task(4) + O_TASKS, task(3) + O_TASKS);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b",
		    1);
	teardown(s);
}

static void test_self_loop(void **state)
{
	struct synth *s = setup();

	(void)state;
	w64(s, task(2) + O_TASKS, task(2) + O_TASKS);
	walk_expect(s, "swapper/0 swapper/1 init", 1);
	teardown(s);
}

static void test_bad_pointers(void **state)
{
	struct synth *s = setup();

	(void)state;
	/* a user-space pointer */
	w64(s, task(3) + O_TASKS, 0x12345);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd", 1);
	/* misaligned */
	w64(s, task(3) + O_TASKS, task(4) + O_TASKS + 1);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd", 1);
	/* NULL: a list cut short */
	w64(s, task(3) + O_TASKS, 0);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd", 1);
	/* mapped by the page tables but not in guest memory */
	w64(s, task(3) + O_TASKS, va(NFRAMES * 4096ull + 0x100));
	walk_expect(s, "swapper/0 swapper/1 init kthreadd", 1);
	teardown(s);
}

static void test_broken_backlink(void **state)
{
	struct synth *s = setup();

	(void)state;
	w64(s, task(4) + O_TASKS + 8, task(2) + O_TASKS);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd", 1);
	teardown(s);
}

static void test_unreadable_init_task(void **state)
{
	struct synth *s = setup();

	(void)state;
	s->lx->S.init_task = va(NFRAMES * 4096ull);
	s->lx->S.runqueues = 0;		/* no idle tasks either */
	s->lx->S.current_task = 0;
	assert_int_equal(lx_walk(s->lx), -EFAULT);
	assert_int_equal(s->lx->base.ntasks, 0);
	teardown(s);
}

static void test_thread_group_faults(void **state)
{
	struct synth *s = setup();

	(void)state;
	/* worker-b links back to worker-a: a loop inside the group; the
	 * walk of the process list goes on */
	w64(s, task(6) + O_TNODE, task(5) + O_TNODE);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    1);
	teardown(s);

	s = setup();
	/* a thread of another process on the list */
	w32(s, task(6) + O_TGID, 99);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a zombie", 1);
	teardown(s);

	s = setup();
	/* a bad pointer in the group */
	w64(s, task(5) + O_TNODE, 8);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a zombie", 1);
	teardown(s);

	s = setup();
	/* an unreadable signal_struct: the leader alone */
	w64(s, task(4) + O_SIGNAL, va(NFRAMES * 4096ull));
	w64(s, task(4) + O_TNODE, task(5) + O_TNODE);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc zombie", 1);
	teardown(s);
}

static void test_duplicate_pid(void **state)
{
	struct synth *s = setup();
	const struct os_task *t;

	(void)state;
	/* the zombie claims kthreadd's pid: listed with a fallback id */
	w32(s, task(7) + O_PID, 2);
	w32(s, task(7) + O_TGID, 2);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    0);
	t = by_name(s->lx, "zombie");
	assert_true(t->tid == OS_TID_FALLBACK + 1);
	assert_string_equal(t->note, "duplicate pid");
	assert_true(by_name(s->lx, "kthreadd")->tid == OS_TID_BASE + 2);
	assert_null(by_name(s->lx, "kthreadd")->note);
	teardown(s);
}

static void test_idle_without_runqueues(void **state)
{
	struct synth *s = setup();
	const struct os_task *t;

	(void)state;
	/* no struct rq: init_task is CPU 0's idle task; CPU 1's appears
	 * because vCPU 0 runs it, as CPU 1's idle task */
	s->lx->L.rq_idle.size = 0;
	walk_expect(s, "swapper/0 init kthreadd proc worker-a worker-b zombie swapper/1",
		    0);
	t = by_name(s->lx, "swapper/1");
	assert_true(t->is_idle);
	assert_true(t->tid == OS_TID_BASE - 1);
	assert_int_equal(t->vcpu, 0);
	teardown(s);
}

static void test_old_thread_group(void **state)
{
	struct synth *s = setup();

	(void)state;
	/* kernels before signal->thread_head: the ring through the leader */
	s->lx->L.thread_node.size = 0;
	s->lx->L.sig_thread_head.size = 0;
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    0);
	assert_string_equal(by_name(s->lx, "worker-a")->proc_name, "proc");
	teardown(s);
}

static void test_state_letters(void **state)
{
	(void)state;
	assert_int_equal(lx_state_letter(0, 0), 'R');
	assert_int_equal(lx_state_letter(1, 0), 'S');
	assert_int_equal(lx_state_letter(2, 0), 'D');
	assert_int_equal(lx_state_letter(4, 0), 'T');
	assert_int_equal(lx_state_letter(8, 0), 't');
	assert_int_equal(lx_state_letter(0, 0x10), 'X');
	assert_int_equal(lx_state_letter(0, 0x20), 'Z');
	assert_int_equal(lx_state_letter(0x40, 0), 'P');
	assert_int_equal(lx_state_letter(0x402, 0), 'I');
	assert_int_equal(lx_state_letter(0x1000, 0), 'D');
	/* TASK_INTERRUPTIBLE | TASK_WAKEKILL | TASK_FREEZABLE */
	assert_int_equal(lx_state_letter(0x2101, 0), 'S');
	assert_int_equal(lx_state_letter(0x80, 0), 'R');	/* TASK_DEAD alone */
}

static void test_sleeping_regs(void **state)
{
	struct synth *s = setup();
	const struct os_task *t;
	struct os_task foreign;
	struct x86_regs r;
	uint64_t sp;

	(void)state;
	assert_int_equal(lx_walk(s->lx), 0);
	t = by_name(s->lx, "kthreadd");
	memset(&r, 0, sizeof(r));
	assert_int_equal(lx_task_regs(s->lx, t, &r), 0);
	sp = va(STACK_PA + 3 * THREAD_SIZE) + THREAD_SIZE - 0x100;
	assert_true(r.gpr[X86_R15] == 0x3000 && r.gpr[X86_R14] == 0x3001 &&
		    r.gpr[X86_R13] == 0x3002 && r.gpr[X86_R12] == 0x3003 &&
		    r.gpr[X86_RBX] == 0x3004 && r.gpr[X86_RBP] == 0x3005);
	assert_true(r.rip == 0x3006);
	assert_true(r.gpr[X86_RSP] == sp + FRAME_SIZE);
	assert_true(x86_valid(&r, XF_RIP) && x86_valid(&r, XF_GPR0 + X86_RSP));
	/* what the frame does not hold stays unknown */
	assert_false(x86_valid(&r, XF_GPR0 + X86_RAX));
	assert_false(x86_valid(&r, XF_GPR0 + X86_RDI));
	assert_false(x86_valid(&r, XF_RFLAGS));
	assert_true(x86_valid(&r, XF_SEL0 + X86_CS) && r.seg[X86_CS].sel == 0x10);
	assert_true(r.seg[X86_SS].sel == 0x18);
	/* a frame that saves the flags (32-bit kernels' pushfl) gives them */
	s->lx->L.frame_flags = 0x28;
	memset(&r, 0, sizeof(r));
	assert_int_equal(lx_task_regs(s->lx, t, &r), 0);
	assert_true(x86_valid(&r, XF_RFLAGS) && r.rflags == 0x3005);
	s->lx->L.frame_flags = -1;
	/* on a CPU that no vCPU runs: its saved frame is stale, nothing is
	 * known */
	w32(s, task(3) + O_ONCPU, 1);
	assert_int_equal(lx_walk(s->lx), 0);
	t = by_name(s->lx, "kthreadd");
	memset(&r, 0, sizeof(r));
	assert_int_equal(lx_task_regs(s->lx, t, &r), 0);
	assert_false(x86_valid(&r, XF_RIP));
	assert_false(x86_valid(&r, XF_GPR0 + X86_RSP));
	w32(s, task(3) + O_ONCPU, 0);
	/* a task that is not in the list */
	memset(&foreign, 0, sizeof(foreign));
	assert_int_equal(lx_task_regs(s->lx, &foreign, &r), -ESRCH);
	/* an unreadable stack pointer */
	w64(s, task(3) + O_SP, va(NFRAMES * 4096ull));
	assert_int_equal(lx_walk(s->lx), 0);
	t = by_name(s->lx, "kthreadd");
	assert_int_equal(lx_task_regs(s->lx, t, &r), -EFAULT);
	teardown(s);
}

static void test_aspace(void **state)
{
	struct synth *s = setup();
	struct aspace as;

	(void)state;
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(lx_task_aspace(s->lx, by_name(s->lx, "worker-a"), &as, NULL), 0);
	assert_false(as.phys);
	assert_int_equal(as.mode, X86_PAGING_4LEVEL);
	assert_true(as.cr3 == 0x7000);
	/* a kernel thread with neither mm nor active_mm: init_mm's */
	assert_int_equal(lx_task_aspace(s->lx, by_name(s->lx, "kthreadd"), &as, NULL), 0);
	assert_true(as.cr3 == 0x5000);
	/* without page_offset_base: by a walk of the kernel's tables */
	s->lx->have_page_offset = false;
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(lx_task_aspace(s->lx, by_name(s->lx, "init"), &as, NULL), 0);
	assert_true(as.cr3 == 0x1000);
	/* an mm whose pgd is garbage */
	w64(s, mm(1) + M_PGD, 0x42);
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(lx_task_aspace(s->lx, by_name(s->lx, "proc"), &as, NULL),
			 -EFAULT);
	teardown(s);
}

/* The reason lx_task_aspace() gives for a task, "" when it succeeds. */
static int aspace_why(struct synth *s, const char *name, struct aspace *as,
		      struct strbuf *why)
{
	strbuf_reset(why);
	memset(as, 0x5a, sizeof(*as));
	return lx_task_aspace(s->lx, by_name(s->lx, name), as, why);
}

static void test_aspace_validation(void **state)
{
	struct synth *s = setup();
	struct strbuf why = STRBUF_INIT;
	struct aspace as;

	(void)state;
	/* a kernel thread borrowing a garbage active_mm (not a kernel
	 * address): an error that says so, not the kernel's or anyone's */
	w64(s, task(3) + O_ACTIVE_MM, 0x4141414141414141ull);
	/* init's mm points where nothing is mapped */
	w64(s, task(2) + O_MM, va(NFRAMES * 4096ull + 0x1000));
	w64(s, task(2) + O_ACTIVE_MM, va(NFRAMES * 4096ull + 0x1000));
	/* the zombie's mm (mm(2)) has a misaligned pgd */
	w64(s, task(7) + O_MM, mm(2));
	w64(s, mm(2) + M_PGD, va(0x6008));
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(aspace_why(s, "kthreadd", &as, &why), -EFAULT);
	assert_non_null(strstr(why.buf, "kthreadd (pid 2)"));
	assert_non_null(strstr(why.buf, "its active_mm 0x4141414141414141 is not a kernel address"));
	assert_int_equal(aspace_why(s, "init", &as, &why), -EFAULT);
	assert_non_null(strstr(why.buf, "cannot be read"));
	assert_int_equal(aspace_why(s, "zombie", &as, &why), -EFAULT);
	assert_non_null(strstr(why.buf, "pgd 0xffff888000006008, which is not a page-aligned kernel address"));
	/* a pgd in the direct map, beyond the guest's memory */
	w64(s, mm(2) + M_PGD, va(NFRAMES * 4096ull + 0x8000));
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(aspace_why(s, "zombie", &as, &why), -EFAULT);
	assert_non_null(strstr(why.buf, "which is not in the guest's memory"));
	/* a pgd that is a user address */
	w64(s, mm(2) + M_PGD, 0x7000);
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(aspace_why(s, "zombie", &as, &why), -EFAULT);
	/* every error leaves the others alone, and asking again gives the
	 * same answer (nothing cached wrongly) */
	assert_int_equal(aspace_why(s, "worker-a", &as, &why), 0);
	assert_true(as.cr3 == 0x7000 && !as.phys);
	assert_int_equal(aspace_why(s, "zombie", &as, &why), -EFAULT);
	/* a kernel thread with no mm at all and no init_mm known: the
	 * kernel's own tables */
	w64(s, task(3) + O_ACTIVE_MM, 0);
	s->lx->S.init_mm = 0;
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(aspace_why(s, "kthreadd", &as, &why), 0);
	assert_true(as.cr3 == s->lx->kas.cr3);
	strbuf_release(&why);
	teardown(s);
}

/* Thread ids stay unique and valid whatever pids the guest holds. */
static void test_hostile_pids(void **state)
{
	struct synth *s = setup();
	const struct os_task *t;
	size_t i, j;

	(void)state;
	w32(s, task(3) + O_PID, (uint32_t)-999999);	/* would be thread 1 */
	w32(s, task(7) + O_PID, (uint32_t)-1000000);	/* thread 0 */
	w32(s, task(7) + O_TGID, (uint32_t)-1000000);
	w32(s, task(5) + O_PID, (uint32_t)-1000001);	/* thread -1 */
	w32(s, task(6) + O_PID, 10);			/* proc's */
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    0);
	for (i = 0; i < s->lx->base.ntasks; i++) {
		uint64_t tid = s->lx->base.tasks[i].tid;

		assert_true(tid > 2 && tid != (uint64_t)-1);
		for (j = 0; j < i; j++)
			assert_true(s->lx->base.tasks[j].tid != tid);
	}
	t = by_name(s->lx, "kthreadd");
	assert_true(t->tid == OS_TID_FALLBACK + 1);
	assert_string_equal(t->note, "impossible pid");
	assert_int_equal(t->thread_id, -999999);
	t = by_name(s->lx, "worker-a");
	assert_true(t->tid == OS_TID_FALLBACK + 2);
	assert_string_equal(t->note, "impossible pid");
	t = by_name(s->lx, "worker-b");
	assert_true(t->tid == OS_TID_FALLBACK + 3);
	assert_string_equal(t->note, "duplicate pid");
	t = by_name(s->lx, "zombie");
	assert_true(t->tid == OS_TID_FALLBACK + 4);
	/* the ones that keep their ids have no note */
	t = by_name(s->lx, "proc");
	assert_true(t->tid == OS_TID_BASE + 10);
	assert_null(t->note);
	assert_int_equal(s->lx->last.fallback_ids, 4);
	/* pid 0 outside the idle tasks is impossible too */
	w32(s, task(4) + O_PID, 0);
	walk_expect(s, "swapper/0 swapper/1 init kthreadd proc worker-a worker-b zombie",
		    0);
	t = by_name(s->lx, "proc");
	assert_true(t->tid > OS_TID_FALLBACK);
	assert_true(by_name(s->lx, "swapper/0")->tid == OS_TID_BASE);
	teardown(s);
}

/* Names are the guest's bytes, shown escaped and whole. */
static void test_hostile_names(void **state)
{
	struct synth *s = setup();
	const struct os_task *t;

	(void)state;
	memcpy(fake_phys(s->f, task(3) + O_COMM - DM), "\x1b[2J\x01" "caf\xe9\"\\<", 12);
	memcpy(fake_phys(s->f, task(4) + O_COMM - DM), "\xff\xff\xff\xff\xff\xff\xff\xff"
	       "\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	walk_expect(s, "swapper/0 swapper/1 init \\x1b[2J\\x01caf\\xe9\\\"\\\\< "
		    "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff "
		    "worker-a worker-b zombie", 0);
	/* the threads' process name is the leader's, escaped the same */
	t = by_name(s->lx, "worker-a");
	assert_string_equal(t->proc_name, "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff"
			    "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff");
	teardown(s);
}

static void test_vcpu_match_fallbacks(void **state)
{
	struct synth *s = setup();

	(void)state;
	/* no GS base: the vCPU's stack pointer inside a current task's
	 * kernel stack tells its CPU */
	x86_clear_valid(&s->f->regs[0], XF_SEGCACHE0 + X86_GS);
	x86_clear_valid(&s->f->regs[1], XF_SEGCACHE0 + X86_GS);
	s->f->regs[0].gpr[X86_RSP] = va(STACK_PA + 2 * THREAD_SIZE) + 0x200;
	s->f->regs[1].gpr[X86_RSP] = 0x1234;
	assert_int_equal(lx_walk(s->lx), 0);
	assert_int_equal(s->lx->vcpu_cpu[0], 0);
	assert_int_equal(by_name(s->lx, "init")->vcpu, 0);
	/* vCPU 1: nothing matches; with as many CPUs as vCPUs, by number */
	assert_int_equal(s->lx->vcpu_cpu[1], 1);
	assert_int_equal(by_name(s->lx, "swapper/1")->vcpu, 1);
	teardown(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_rewalk_after_exit),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_self_loop),
		cmocka_unit_test(test_bad_pointers),
		cmocka_unit_test(test_broken_backlink),
		cmocka_unit_test(test_unreadable_init_task),
		cmocka_unit_test(test_thread_group_faults),
		cmocka_unit_test(test_duplicate_pid),
		cmocka_unit_test(test_idle_without_runqueues),
		cmocka_unit_test(test_old_thread_group),
		cmocka_unit_test(test_state_letters),
		cmocka_unit_test(test_sleeping_regs),
		cmocka_unit_test(test_aspace),
		cmocka_unit_test(test_aspace_validation),
		cmocka_unit_test(test_hostile_pids),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_vcpu_match_fallbacks),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
