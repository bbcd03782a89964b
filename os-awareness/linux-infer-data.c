// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Offsets of task_struct checked and found on the kernel's data: init_task
 * and a sample of the tasks of its list (comm "swapper", a ring that
 * closes, small distinct pids), and the fields no stable function pins.
 *
 * From the data: active_mm (the pointer after mm: init_task's is init_mm),
 * mm_struct.pgd (init_mm's pointer to swapper_pg_dir), group_leader (each
 * listed task points to itself), thread_group (rings of tasks of one
 * tgid), stack (holds each sleeping task's saved stack pointer), __state
 * (the word before stack, with task-state values).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/linux-infer-internal.h"
#include "stub/base/alloc.h"
#include "stub/base/num.h"

#define MAX_LIST 65536u		/* steps along the task list at most */

static bool comm_is(const uint8_t *b, const char *prefix)
{
	return !memcmp(b, prefix, strlen(prefix));
}

static bool comm_printable(const uint8_t *b)
{
	unsigned i;

	if (!b[0])
		return false;
	for (i = 0; i < 16 && b[i]; i++)
		if (b[i] < 0x20 || b[i] >= 0x7f)
			return false;
	return i < 16;
}

/* init_task.tasks is a ring through tasks with printable names. */
static bool ring_ok(struct inf *in, uint64_t init, uint32_t toff,
		    uint32_t coff)
{
	uint64_t head = init + toff, node, prev = head;
	unsigned n = 0;
	bool ok = true;

	node = inf_rd(in, head, in->ptr, &ok);
	while (ok && node != head && n < MAX_LIST) {
		uint8_t c[16];

		if (!lx_kptr_ok(in->lx, node) ||
		    inf_rd(in, node + in->ptr, in->ptr, &ok) != prev ||
		    lx_read(in->lx, node - toff + coff, c, 16) || !comm_printable(c))
			return false;
		prev = node;
		node = inf_rd(in, node, in->ptr, &ok);
		n++;
	}
	return ok && node == head && n > 0;
}

int inf_check_init(struct inf *in, const char *comm_from)
{
	struct lx_layout *L = in->L;
	uint8_t c[16];
	unsigned i;

	if (!in->init_task || !L->tasks.size)
		return -ENOENT;
	if (L->comm.size) {
		in->comm_cand[0] = L->comm.off;
		in->ncomm = 1;
	}
	for (i = 0; i < in->ncomm; i++) {
		if (lx_read(in->lx, in->init_task + in->comm_cand[i], c, 16) ||
		    !comm_is(c, "swapper") ||
		    !ring_ok(in, in->init_task, L->tasks.off,
			     (uint32_t)in->comm_cand[i]))
			continue;
		if (!L->comm.size)
			inf_found(in, &L->comm, "task_struct.comm",
			      (uint32_t)in->comm_cand[i], 16,
			      "code of %s, checked: init_task's is \"swapper\"",
			      comm_from);
		return 0;
	}
	return -EINVAL;
}

/* Reads the first win bytes of up to MAX_SAMPLE tasks of the list. */
static void sample(struct inf *in)
{
	uint64_t head = in->init_task + in->L->tasks.off, node;
	bool ok = true;

	in->win = in->ptr == 8 ? 12288 : 6144;
	if (in->L->task_size && in->L->task_size < in->win)
		in->win = in->L->task_size;
	in->s[0].addr = in->init_task;
	in->ns = 1;
	node = inf_rd(in, head, in->ptr, &ok);
	while (ok && node != head && in->ns < MAX_SAMPLE) {
		in->s[in->ns++].addr = node - in->L->tasks.off;
		node = inf_rd(in, node, in->ptr, &ok);
	}
	for (unsigned i = 0; i < in->ns; i++) {
		size_t w = in->win;

		in->s[i].buf = xcalloc(1, w);
		/* a task_struct near the end of a slab page: read less */
		while (w > 256 && lx_read(in->lx, in->s[i].addr, in->s[i].buf, w))
			w -= 256;
	}
}

static uint64_t sget(const struct inf *in, unsigned i, uint64_t off, unsigned n)
{
	if (off + n > in->win)
		return 0;
	return get_le(in->s[i].buf + off, n);
}

/* pid and tgid: an int pair equal in every listed task (all lead their
 * group), 0 in init_task, small and distinct. */
static bool pid_pair_ok(const struct inf *in, uint64_t off)
{
	unsigned i, j;

	if (sget(in, 0, off, 4) || sget(in, 0, off + 4, 4) || in->ns < 3)
		return false;
	for (i = 1; i < in->ns; i++) {
		uint64_t p = sget(in, i, off, 4);

		if (!p || p > LX_PID_MAX || p != sget(in, i, off + 4, 4))
			return false;
		for (j = 1; j < i && j < 32; j++)
			if (sget(in, j, off, 4) == p)
				return false;
	}
	return true;
}

static void data_pid(struct inf *in)
{
	struct lx_layout *L = in->L;
	uint64_t o;

	if (L->pid.size && L->tgid.size)
		return;
	if (in->tgid_code > 4 && pid_pair_ok(in, (uint64_t)in->tgid_code - 4)) {
		inf_found(in, &L->pid, "task_struct.pid", (uint32_t)in->tgid_code - 4, 4,
		      "the int before tgid, checked on the task list");
		inf_found(in, &L->tgid, "task_struct.tgid", (uint32_t)in->tgid_code, 4,
		      "code of unhandled_signal: is_global_init()");
		return;
	}
	if (in->tgid_code > 0 && pid_pair_ok(in, (uint64_t)in->tgid_code)) {
		/* kernels whose is_global_init() tests pid */
		inf_found(in, &L->pid, "task_struct.pid", (uint32_t)in->tgid_code, 4,
		      "code of unhandled_signal: is_global_init()");
		inf_found(in, &L->tgid, "task_struct.tgid", (uint32_t)in->tgid_code + 4, 4,
		      "the int after pid, checked on the task list");
		return;
	}
	/* the data alone: after the task list's node */
	for (o = L->tasks.off; o + 8 <= in->win && o < L->tasks.off + 1024; o += 4)
		if (pid_pair_ok(in, o)) {
			inf_found(in, &L->pid, "task_struct.pid", (uint32_t)o, 4,
			      "the task list's data: 0 in init_task, small distinct ids");
			inf_found(in, &L->tgid, "task_struct.tgid", (uint32_t)o + 4, 4,
			      "the int after pid");
			return;
		}
}

/* mm_struct.pgd: the pointer of an mm of the task list (its own or the
 * one an idle task borrows) whose physical address a vCPU has in CR3. */
static void data_pgd(struct inf *in)
{
	struct lx *lx = in->lx;
	uint64_t roots[8], pa;
	unsigned nroots = 0, v, i, k, votes[64] = { 0 }, best = 0;
	uint8_t buf[512];

	for (v = 0; v < lx->base.env.nr_vcpus && nroots + 2 <= 8; v++) {
		struct x86_regs r;

		memset(&r, 0, sizeof(r));
		if (lx->base.env.vcpu_regs(lx->base.env.ctx, v, &r) ||
		    !x86_valid(&r, XF_CR3))
			continue;
		roots[nroots++] = x86_cr3_root(lx->kas.mode, r.cr3);
		if (lx->bits == 64)	/* the kernel half of a PTI pair */
			roots[nroots++] = x86_cr3_root(lx->kas.mode, r.cr3) & ~0x1000ull;
	}
	for (i = 0; i < in->ns && nroots; i++) {
		uint64_t mms[2] = { sget(in, i, in->L->mm.off, in->ptr),
				    sget(in, i, in->L->mm.off + in->ptr, in->ptr) };
		unsigned m;

		for (m = 0; m < 2; m++) {
			if (!lx_kptr_ok(lx, mms[m]) || (m && mms[1] == mms[0]) ||
			    lx_read(lx, mms[m], buf, sizeof(buf)))
				continue;
			for (k = 0; k < 64 && (k + 1) * in->ptr <= sizeof(buf); k++) {
				uint64_t p = get_le(buf + k * in->ptr, in->ptr);
				unsigned j;

				if (!lx_kptr_ok(lx, p) || (p & 31) || lx_pa(lx, p, &pa))
					continue;
				for (j = 0; j < nroots; j++)
					if (pa == roots[j])
						votes[k]++;
			}
		}
	}
	for (k = 1; k < 64; k++)
		if (votes[k] > votes[best])
			best = k;
	if (votes[best])
		inf_found(in, &in->L->mm_pgd, "mm_struct.pgd", best * in->ptr, in->ptr,
		      "the mm whose pointer a vCPU's CR3 holds (%u matches)",
		      votes[best]);
}

static void data_mm(struct inf *in)
{
	struct lx_layout *L = in->L;
	uint64_t mm0, amm0, v;
	bool ok = true;
	unsigned o;

	if (!L->mm.size)
		return;
	mm0 = sget(in, 0, L->mm.off, in->ptr);
	amm0 = sget(in, 0, L->mm.off + in->ptr, in->ptr);
	if (!L->active_mm.size && !mm0 && lx_kptr_ok(in->lx, amm0))
		inf_found(in, &L->active_mm, "task_struct.active_mm", L->mm.off + in->ptr,
		      in->ptr, "the pointer after mm: init_task's is init_mm");
	if (L->mm_pgd.size)
		return;
	/* init_mm's pointer to swapper_pg_dir, when both are known */
	for (o = 0; in->init_mm && in->swapper && o < 512; o += in->ptr) {
		v = inf_rd(in, in->init_mm + o, in->ptr, &ok);
		if (!ok)
			break;
		if (v == in->swapper) {
			inf_found(in, &L->mm_pgd, "mm_struct.pgd", o, in->ptr,
			      "init_mm's pointer to swapper_pg_dir");
			return;
		}
	}
	data_pgd(in);
}

/* group_leader: a pointer to the task itself, in every listed task. */
static void data_group_leader(struct inf *in)
{
	struct lx_layout *L = in->L;
	uint64_t o;
	unsigned i;

	if (L->group_leader.size || in->ns < 3)
		return;
	for (o = L->tasks.off + 2 * in->ptr; o + in->ptr <= in->win; o += in->ptr) {
		for (i = 0; i < in->ns; i++)
			if (sget(in, i, o, in->ptr) != in->s[i].addr)
				break;
		if (i == in->ns) {
			inf_found(in, &L->group_leader, "task_struct.group_leader",
			      (uint32_t)o, in->ptr,
			      "the task list's data: each group leader points to itself");
			return;
		}
	}
}

/* thread_group: a ring through the task's own node, of tasks of its
 * tgid only; one process at least must have threads to tell it. */
static void data_thread_group(struct inf *in)
{
	struct lx_layout *L = in->L;
	uint64_t o;
	unsigned i;

	if (L->thread_group.size || !L->tgid.size || !L->pid.size)
		return;
	for (o = L->tasks.off + 2 * in->ptr; o + 2 * in->ptr <= in->win;
	     o += in->ptr) {
		unsigned multi = 0;

		for (i = 1; i < in->ns; i++) {
			uint64_t head = in->s[i].addr + o, node, prev = head;
			uint64_t tgid = sget(in, i, L->tgid.off, 4);
			unsigned n = 0;
			bool ok = true;

			node = sget(in, i, o, in->ptr);
			if (sget(in, i, o + in->ptr, in->ptr) == 0)
				break;
			while (node != head && n < 4096) {
				if (!lx_kptr_ok(in->lx, node) ||
				    inf_rd(in, node + in->ptr, in->ptr, &ok) != prev ||
				    inf_rd(in, node - o + L->tgid.off, 4, &ok) != tgid ||
				    inf_rd(in, node - o + L->pid.off, 4, &ok) == tgid || !ok)
					break;
				prev = node;
				node = inf_rd(in, node, in->ptr, &ok);
				n++;
			}
			if (node != head)
				break;
			if (n)
				multi++;
		}
		if (i == in->ns && multi) {
			inf_found(in, &L->thread_group, "task_struct.thread_group",
			      (uint32_t)o, 2 * in->ptr,
			      "the task list's data: rings of threads of one tgid (%u processes with threads)",
			      multi);
			return;
		}
	}
}

/* stack: THREAD_SIZE-aligned, holding each sleeping task's thread.sp. */
static void data_stack(struct inf *in)
{
	struct lx_layout *L = in->L;
	uint64_t ts = in->ptr == 8 ? 16384 : 8192, o;
	unsigned i, checked;

	if (L->stack.size)
		goto state;
	for (o = 0; o < 256 && o + in->ptr <= in->win; o += in->ptr) {
		checked = 0;
		for (i = 0; i < in->ns; i++) {
			uint64_t st = sget(in, i, o, in->ptr), sp;

			if (!lx_kptr_ok(in->lx, st) || (st & (ts / 2 - 1)))
				break;
			if (!L->thread_sp.size)
				continue;
			sp = sget(in, i, L->thread_sp.off, in->ptr);
			if (sp && (sp < st || sp - st >= ts))
				break;
			checked++;
		}
		if (i == in->ns && (checked || !L->thread_sp.size)) {
			inf_found(in, &L->stack, "task_struct.stack", (uint32_t)o, in->ptr,
			      L->thread_sp.size ?
			      "the task list's data: holds each task's saved stack pointer" :
			      "the task list's data: an aligned stack address in each task");
			break;
		}
	}
state:
	if (L->state.size || !L->stack.size || L->stack.off < in->ptr)
		return;
	o = L->stack.off - in->ptr;
	for (i = 0; i < in->ns; i++) {
		uint64_t v = sget(in, i, o, 4);

		if (v & ~0xffffull)
			return;
	}
	inf_found(in, &L->state, "task_struct.__state", (uint32_t)o, 4,
	      "the word before stack, holding task states in every task");
}

/* The task each CPU runs now (current_task), up to n CPUs. */
static unsigned currents(struct inf *in, uint64_t *cur, unsigned n)
{
	unsigned c, k = 0;
	bool ok = true;

	if (!in->cur_task || !in->pcpu_off)
		return 0;
	for (c = 0; c < n; c++) {
		uint64_t off = inf_rd(in, in->pcpu_off + c * in->ptr, in->ptr, &ok), t;

		if (!ok)
			break;
		t = inf_rd(in, inf_trunc_addr(in, (int64_t)(in->cur_task + off)), in->ptr, &ok);
		if (ok && lx_kptr_ok(in->lx, t))
			cur[k++] = t;
	}
	return k;
}

/* rq.idle follows rq.curr; on_cpu is 1 in the tasks CPUs run, 0 in the
 * others; exit_state is two ints before exit_signal, which is SIGCHLD
 * in every listed task (the leaders of their groups). */
static void data_sched(struct inf *in)
{
	struct lx_layout *L = in->L;
	uint64_t cur[64], o;
	unsigned ncur = currents(in, cur, 64), i, j;
	bool ok = true;

	if (L->rq_curr.size && !L->rq_idle.size && in->runqueues && in->pcpu_off) {
		uint64_t off = inf_rd(in, in->pcpu_off, in->ptr, &ok);
		uint64_t idle = inf_rd(in, inf_trunc_addr(in, (int64_t)(in->runqueues + off)) +
				   L->rq_curr.off + in->ptr, in->ptr, &ok);

		if (ok && idle == in->init_task)
			inf_found(in, &L->rq_idle, "rq.idle", L->rq_curr.off + in->ptr,
			      in->ptr, "the pointer after rq.curr: CPU 0's is init_task");
	}
	for (o = L->flags.off + 4; L->flags.size && !L->on_cpu.size && ncur &&
	     o < L->flags.off + 64; o += 4) {
		unsigned ones = 0;

		for (i = 0; i < in->ns; i++) {
			uint64_t v = sget(in, i, o, 4);
			bool running = false;

			for (j = 0; j < ncur; j++)
				running |= cur[j] == in->s[i].addr;
			if (v > 1 || (v == 1) != running)
				break;
			ones += v == 1;
		}
		if (i == in->ns && ones)
			inf_found(in, &L->on_cpu, "task_struct.on_cpu", (uint32_t)o, 4,
			      "the task list's data: 1 in the tasks the CPUs run, 0 elsewhere");
	}
	for (o = L->mm.off + 2 * in->ptr; L->mm.size && L->pid.size &&
	     !L->exit_state.size && o < L->pid.off; o += 4) {
		unsigned sigchld = 0;

		for (i = 1; i < in->ns; i++) {
			uint64_t v = sget(in, i, o, 4);

			/* init and kthreadd are started with no signal */
			if ((v != 17 && v != 0) || sget(in, i, o - 8, 4))
				break;
			sigchld += v == 17;
		}
		if (i == in->ns && in->ns > 4 && sigchld * 2 >= in->ns)
			inf_found(in, &L->exit_state, "task_struct.exit_state",
			      (uint32_t)o - 8, 4,
			      "two ints before exit_signal, SIGCHLD (or 0) in every listed task");
	}
}

void inf_from_data(struct inf *in)
{
	sample(in);
	data_pid(in);
	data_mm(in);
	data_group_leader(in);
	data_thread_group(in);
	data_stack(in);
	data_sched(in);
}
