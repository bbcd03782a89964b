// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the Linux task walk over hostile guest memory: a
 * well-formed synthetic guest (page tables, task_structs with thread
 * groups, signal and mm structs, per-CPU areas, switch frames; the layout
 * of tests/unit/test-linux-walk.c) that the input patches anywhere, with
 * layout variants the input chooses. Every walk must end (bounded), and
 * give unique valid thread ids, display-text names and address spaces
 * whose root exists, or a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/linux-internal.h"
#include "stub/base/log.h"
#include "tests/fuzz/fuzz-os-guest.h"

#define DM 0xffff888000000000ull
#define TASKS_PA 0x10000u		/* 16 slots of 0x1000 */
#define SIG_PA 0x20000u
#define MM_PA 0x22000u
#define STACK_PA 0x30000u		/* 8 stacks of THREAD_SIZE */
#define PCPU_PA 0x80000u		/* 4 CPUs of 0x8000 */
#define THREAD_SIZE 0x4000u
#define PF_KTHREAD 0x00200000u

enum {
	O_STATE = 0x10, O_STACK = 0x18, O_FLAGS = 0x2c, O_CPU = 0x30, O_ONCPU = 0x34,
	O_TASKS = 0x100, O_MM = 0x140, O_ACTIVE_MM = 0x148, O_EXIT = 0x150,
	O_PID = 0x180, O_TGID = 0x184, O_PARENT = 0x188, O_LEADER = 0x190,
	O_TNODE = 0x1a0, O_TGROUP = 0x1b0, O_COMM = 0x200, O_CRED = 0x218,
	O_SIGNAL = 0x220, O_SP = 0x300,
	S_THEAD = 0x10, M_PGD = 0x48, R_CURR = 0x40, R_IDLE = 0x48,
	PCPU_CURRENT = 0x100, PCPU_RQ = 0x200, FRAME_SIZE = 0x38,
	C_UID = 0x4,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fg g;
extern const struct os_ops os_linux;

static uint64_t va(uint64_t pa) { return DM + pa; }
static uint64_t task(unsigned i) { return va(TASKS_PA + i * 0x1000ull); }
static uint64_t sig(unsigned i) { return va(SIG_PA + i * 0x100ull); }
static uint64_t mm(unsigned i) { return va(MM_PA + i * 0x100ull); }
static uint64_t cpu_off(unsigned c) { return va(PCPU_PA + c * 0x8000ull); }

static void w64(uint64_t a, uint64_t v) { fg_put64(g.base, a - DM, v); }
static void w32(uint64_t a, uint32_t v) { fg_put32(g.base, a - DM, v); }

static void mk_task(unsigned i, int pid, int tgid, const char *comm,
		    uint32_t state, uint32_t flags, uint64_t mmp, unsigned sigi)
{
	uint64_t t = task(i), stack = va(STACK_PA + i * THREAD_SIZE);
	uint64_t sp = stack + THREAD_SIZE - 0x100;
	unsigned k;

	w32(t + O_STATE, state);
	w64(t + O_STACK, stack);
	w32(t + O_FLAGS, flags);
	w32(t + O_CPU, i % 2);
	w64(t + O_MM, mmp);
	w64(t + O_ACTIVE_MM, mmp);
	w32(t + O_PID, (uint32_t)pid);
	w32(t + O_TGID, (uint32_t)tgid);
	w64(t + O_PARENT, task(0));
	w64(t + O_LEADER, t);
	memcpy(g.base + (t + O_COMM - DM), comm, strlen(comm));
	w64(t + O_SIGNAL, sig(sigi));
	w64(t + O_CRED, va(MM_PA + 0xf00));
	w64(t + O_SP, sp);
	w64(t + O_TNODE, sig(sigi) + S_THEAD);
	w64(t + O_TNODE + 8, sig(sigi) + S_THEAD);
	w64(sig(sigi) + S_THEAD, t + O_TNODE);
	w64(sig(sigi) + S_THEAD + 8, t + O_TNODE);
	w64(t + O_TGROUP, t + O_TGROUP);
	w64(t + O_TGROUP + 8, t + O_TGROUP);
	for (k = 0; k < 7; k++)
		w64(sp + 8 * k, 0x1000ull * i + k);
}

static void ring(uint64_t head, const uint64_t *nodes, unsigned n)
{
	unsigned k;

	for (k = 0; k <= n; k++) {
		uint64_t cur = k ? nodes[k - 1] : head;
		uint64_t next = k < n ? nodes[k] : head;

		w64(cur, next);
		w64(next + 8, cur);
	}
}

/* The guest of test-linux-walk.c: init_task (0) and CPU 1's idle task
 * (1); init (2), kthreadd (3), "proc" (4) with threads 5 and 6, a
 * zombie (7); 4-level tables map the direct map onto physical 0. */
static void build(void)
{
	uint64_t nodes[8];
	unsigned k;

	fg_put64(g.base, 0x1000 + 8 * ((DM >> 39) & 511), 0x2000 | 3);
	fg_put64(g.base, 0x2000, 0x83);
	mk_task(0, 0, 0, "swapper/0", 0, PF_KTHREAD, 0, 0);
	mk_task(1, 0, 0, "swapper/1", 0, PF_KTHREAD, 0, 1);
	mk_task(2, 1, 1, "init", 0, 0, mm(0), 2);
	mk_task(3, 2, 2, "kthreadd", 1, PF_KTHREAD, 0, 3);
	mk_task(4, 10, 10, "proc", 0x402, 0, mm(1), 4);
	mk_task(5, 11, 10, "worker-a", 1, 0, mm(1), 4);
	mk_task(6, 12, 10, "worker-b", 2, 0, mm(1), 4);
	mk_task(7, 20, 20, "zombie", 0, 0, 0, 7);
	w32(task(7) + O_EXIT, 0x20);
	nodes[0] = task(2) + O_TASKS;
	nodes[1] = task(3) + O_TASKS;
	nodes[2] = task(4) + O_TASKS;
	nodes[3] = task(7) + O_TASKS;
	ring(task(0) + O_TASKS, nodes, 4);
	for (k = 0; k < 3; k++)
		nodes[k] = task(4 + k) + O_TNODE;
	ring(sig(4) + S_THEAD, nodes, 3);
	for (k = 0; k < 3; k++)
		nodes[k] = task(4 + k) + O_TGROUP;
	ring(task(4) + O_TGROUP, nodes + 1, 2);
	for (k = 0; k < 4; k++) {
		w64(cpu_off(k) + PCPU_CURRENT, task(k == 0 ? 2 : 1));
		w64(cpu_off(k) + PCPU_RQ + R_IDLE, task(k == 0 ? 0 : 1));
		w64(cpu_off(k) + PCPU_RQ + R_CURR, task(k == 0 ? 2 : 1));
	}
	w64(mm(0) + M_PGD, va(0x1000));
	w64(mm(1) + M_PGD, va(0x7000));
	w64(mm(9) + M_PGD, va(0x5000));
	w32(va(MM_PA + 0xf00) + C_UID, 1000);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* warnings about the hostile guest are expected: not shown */
	log_set_level(LOG_ERROR);
	fg_init(&g);
	build();
	return 0;
}

static void vcpu_regs(unsigned v, uint8_t how, uint64_t rsp)
{
	struct x86_regs *r = &g.regs[v];

	memset(r, 0, sizeof(*r));
	r->seg[X86_CS].sel = how & 0x80 ? 0x33 : 0x10;
	r->seg[X86_SS].sel = how & 0x80 ? 0x2b : 0x18;
	r->seg[X86_SS].attr = X86_SEG_ATTR_P | (how & 0x80 ? 3u << 5 : 0);
	/* a GS base in one of the per-CPU areas (or nowhere) */
	r->seg[X86_GS].base = how & 4 ? 0 : cpu_off(how & 3) + (how >> 3 & 15) * 8;
	r->k_gs_base = cpu_off((how >> 5) & 3);
	r->gpr[X86_RSP] = rsp;
	x86_set_valid(r, XF_SEL0 + X86_CS);
	x86_set_valid(r, XF_SEL0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_SS);
	x86_set_valid(r, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_KGSBASE);
	x86_set_valid(r, XF_GPR0 + X86_RSP);
}

static void layout(struct lx *lx, uint8_t opt)
{
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
		.real_cred = { O_CRED, 8 }, .cred_uid = { C_UID, 4 },
		.sig_thread_head = { S_THEAD, 16 }, .mm_pgd = { M_PGD, 8 },
		.rq_curr = { R_CURR, 8 }, .rq_idle = { R_IDLE, 8 },
		.frame_size = FRAME_SIZE,
		.frame_gpr = { [X86_RAX] = -1, [X86_RCX] = -1, [X86_RDX] = -1,
			       [X86_RSP] = -1, [X86_RSI] = -1, [X86_RDI] = -1,
			       [X86_R8] = -1, [X86_R9] = -1, [X86_R10] = -1,
			       [X86_R11] = -1, [X86_R15] = 0, [X86_R14] = 8,
			       [X86_R13] = 0x10, [X86_R12] = 0x18,
			       [X86_RBX] = 0x20, [X86_RBP] = 0x28 },
		.frame_ret = 0x30,
		.thread_size = THREAD_SIZE,
	};
	/* the variants kernels come in */
	if (opt & 1) {		/* before signal->thread_head */
		lx->L.thread_node.size = 0;
		lx->L.sig_thread_head.size = 0;
	}
	if (opt & 2)
		lx->L.rq_idle.size = 0;
	if (opt & 4)
		lx->L.flags.size = 0;
	if (opt & 8)
		lx->L.frame_size = 0;
	if (opt & 16)
		lx->L.cpu.size = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = { "offsets", "ksym", NULL };
	const uint8_t *cfg = data;
	struct lx *lx;
	unsigned c;

	if (!fg_load(&g, data, size, 8))
		return 0;
	vcpu_regs(0, cfg[1], va(STACK_PA + (cfg[3] & 7) * THREAD_SIZE) + cfg[4] * 64ull);
	vcpu_regs(1, cfg[2], va(STACK_PA + (cfg[3] >> 3 & 7) * THREAD_SIZE) + cfg[5] * 64ull);
	g.vm = vmem_new(&g.t, 64, false);
	lx = xcalloc(1, sizeof(*lx));
	lx->base.ops = &os_linux;
	lx->base.env.mem = g.vm;
	lx->base.env.nr_vcpus = FG_VCPUS;
	lx->base.env.guest_bits = 64;
	lx->base.env.vcpu_regs = fg_env_regs;
	lx->base.env.ctx = &g.t;
	lx->bits = 64;
	lx->ptr = 8;
	lx->kmin = 0xffff800000000000ull;
	lx->kas.mode = X86_PAGING_4LEVEL;
	lx->kas.cr3 = 0x1000;
	lx->page_offset = DM;
	lx->have_page_offset = !(cfg[0] & 0x20);
	layout(lx, cfg[0]);
	lx->S.init_task = task(0);
	lx->S.init_mm = cfg[0] & 0x40 ? 0 : mm(9);
	lx->S.current_task = cfg[0] & 0x80 ? 0 : PCPU_CURRENT;
	lx->S.runqueues = PCPU_RQ;
	lx->ncpus = 1 + (cfg[6] & 3);
	lx->cpu_off = xcalloc(lx->ncpus, sizeof(uint64_t));
	for (c = 0; c < lx->ncpus; c++)
		lx->cpu_off[c] = cpu_off(c);
	lx->vcpu_cpu = xcalloc(FG_VCPUS, sizeof(int));
	lx->vcpu_cur = xcalloc(FG_VCPUS, sizeof(uint64_t));
	strbuf_init(&lx->sym_src, 0);
	strbuf_init(&lx->type_src, 0);
	strbuf_init(&lx->slide_src, 0);
	strbuf_init(&lx->kas_src, 0);
	strbuf_init(&lx->notes, 0);
	symtab_init(&lx->syms);
	/* the banner and release are the guest's too */
	memcpy(lx->banner, g.mem + 0x9000, sizeof(lx->banner) - 1);
	memcpy(lx->release, g.mem + 0x9100, sizeof(lx->release) - 1);
	lx_walk(lx);
	fg_exercise(&lx->base, cmds);
	/* a second walk over the same memory, as at the next stop */
	if (cfg[7] & 1) {
		lx_walk(lx);
		fg_exercise(&lx->base, cmds);
	}
	os_linux.free(&lx->base);
	vmem_free(g.vm);
	return 0;
}
