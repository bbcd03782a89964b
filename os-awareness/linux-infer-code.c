// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Offsets of task_struct read out of the machine code of small kernel
 * functions (found through kallsyms, decoded by linux-code.c): one rule
 * per function, each pinning a few fields (see linux-infer.c for where
 * the idea comes from).
 *
 * Function -> what it pins (64-bit arguments rdi, rsi, rdx; 32-bit eax,
 * edx, ecx):
 *   get_task_mm(task)          task_lock's alloc_lock, mm (the first load
 *                              after the lock), flags (test of PF_KTHREAD)
 *   __get_task_comm(buf, n, task), get_task_comm(buf, task)
 *                              comm (task + X passed on to strscpy/strncpy)
 *   __set_task_comm(task, ...) comm, likewise
 *   __switch_to_asm(prev, next) thread.sp (mov %rsp, X(prev)) and the
 *                              switch frame (its pushes, in order)
 *   sys_getppid                current_task (the %gs:/%fs: load) and
 *                              real_parent (the load through it)
 *   kick_process(task)         cpu (task_cpu), __per_cpu_offset (the
 *                              indexed load), runqueues, rq.curr
 *   sys_setpriority            tasks and init_task (for_each_process:
 *                              lea -T(%r),%r2; cmp $init_task+T,%r)
 *   unhandled_signal(task)     tgid (is_global_init: cmpl $1, X(task));
 *                              pid is the int before it
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "os-awareness/linux-code.h"
#include "os-awareness/linux-infer-internal.h"
#include "stub/base/alloc.h"

#define PF_KTHREAD 0x00200000u

/* The longest function name fn_load() looks for, with its NUL. */
#define FN_NAME_MAX 64

/* Reads the first of the '|'-separated functions that kallsyms has into
 * *fn, its name into the caller's name[FN_NAME_MAX]: 0, or -ENOENT when
 * none could be read. */
static int fn_load(struct inf *in, const char *names, struct kc_fn *fn,
		   char *name)
{
	struct lx *lx = in->lx;
	const char *p = names;

	while (*p) {
		size_t l = strcspn(p, "|");
		const struct ksym *s;

		if (l < FN_NAME_MAX) {
			memcpy(name, p, l);
			name[l] = 0;
			s = symtab_find(&lx->syms, name);
			if (s) {
				const struct ksym *e = symtab_next(&lx->syms, s);
				uint64_t len = KC_MAX_CODE;
				uint8_t *code;
				int rc;

				while (e && e->addr <= s->addr)
					e = symtab_next(&lx->syms, e);
				if (e && e->addr - s->addr < len)
					len = e->addr - s->addr;
				code = xmalloc(len);
				/* the function may end near an unmapped page */
				while (len > 16 && lx_read(lx, s->addr, code, len))
					len /= 2;
				rc = len > 16 || !lx_read(lx, s->addr, code, len) ?
				     kc_read(fn, code, len, s->addr, lx->bits) : -EFAULT;
				free(code);
				if (rc == 0)
					return 0;
			}
		}
		p += l;
		if (*p)
			p++;
	}
	name[0] = 0;
	return -ENOENT;
}

static bool is_arg(const struct kc_val *v, int arg)
{
	return v->kind == KV_ARG && v->arg == arg;
}

/* get_task_mm(task): task_lock(task); mm = task->mm; if (mm) { if
 * (task->flags & PF_KTHREAD) ... } */
static void rule_get_task_mm(struct inf *in)
{
	struct kc_fn fn;
	char name[FN_NAME_MAX];
	size_t i;
	bool have_mm = in->L->mm.size != 0, have_flags = in->L->flags.size != 0;

	if (fn_load(in, "get_task_mm", &fn, name))
		return;
	for (i = 0; i < fn.nacc; i++) {
		const struct kc_acc *a = &fn.acc[i];
		unsigned k;

		if (!is_arg(&a->base, 0))
			continue;
		if (a->kind == KC_CALLARG && a->pos == 0 && in->lock == ~0ull &&
		    a->disp > 0)
			in->lock = (uint64_t)a->disp;
		if (a->kind == KC_LOAD && a->size == in->ptr && a->ncall >= 1 &&
		    !have_mm && a->disp > 0) {
			inf_found(in, &in->L->mm, "task_struct.mm", (uint32_t)a->disp,
			      in->ptr, "code of %s: the load after task_lock", name);
			have_mm = true;
		}
		if (a->kind == KC_TESTIMM && !have_flags)
			for (k = 0; k < 4; k++)
				if ((uint64_t)a->imm << (8 * k) == PF_KTHREAD &&
				    a->disp >= k) {
					inf_found(in, &in->L->flags, "task_struct.flags",
					      (uint32_t)(a->disp - k), 4,
					      "code of %s: the test of PF_KTHREAD", name);
					have_flags = true;
				}
	}
	kc_free(&fn);
}

static void comm_cand(struct inf *in, int64_t d)
{
	unsigned i;

	if (d <= 0 || (uint64_t)d == in->lock)
		return;
	for (i = 0; i < in->ncomm; i++)
		if (in->comm_cand[i] == (uint64_t)d)
			return;
	if (in->ncomm < 4)
		in->comm_cand[in->ncomm++] = (uint64_t)d;
}

/* comm: the task's address plus X handed on to the string copy. */
static void rule_comm(struct inf *in, const char **from)
{
	static const struct { const char *fn; int task; int minpos; } r[] = {
		{ "__get_task_comm", 2, 1 },	/* (buf, buf_size, tsk) */
		{ "get_task_comm", 1, 1 },	/* (buf, tsk), before 4.x */
		{ "__set_task_comm", 0, 0 },	/* (tsk, buf, exec) */
		{ "set_task_comm", 0, 0 },
	};
	size_t k, i;

	for (k = 0; k < sizeof(r) / sizeof(r[0]) && !in->ncomm; k++) {
		struct kc_fn fn;
		char name[FN_NAME_MAX];

		if (fn_load(in, r[k].fn, &fn, name))
			continue;
		for (i = 0; i < fn.nacc; i++) {
			const struct kc_acc *a = &fn.acc[i];

			if (a->kind == KC_CALLARG && is_arg(&a->base, r[k].task) &&
			    a->pos >= r[k].minpos)
				comm_cand(in, a->disp);
		}
		if (in->ncomm)
			*from = r[k].fn;
		kc_free(&fn);
	}
}

/* __switch_to_asm(prev, next): pushes, then mov %rsp, thread.sp(prev). */
static void rule_switch(struct inf *in)
{
	struct lx_layout *L = in->L;
	struct kc_fn fn;
	char name[FN_NAME_MAX];
	int prev = kc_arg_reg(in->lx->bits, 0), pushed[16];
	unsigned n = 0, i, k;

	if (fn_load(in, "__switch_to_asm", &fn, name))
		return;
	for (i = 0; i < fn.nins && i < 24; i++) {
		const struct kc_ins *x = &fn.ins[i];

		if ((x->id == X86_INS_PUSH && x->nops == 1 &&
		     x->op[0].type == X86_OP_REG && x->op[0].reg >= 0) ||
		    x->id == X86_INS_PUSHFD || x->id == X86_INS_PUSHFQ ||
		    x->id == X86_INS_PUSHF) {
			if (n < 16)
				pushed[n++] = x->id == X86_INS_PUSH ? x->op[0].reg : -1; /* -1: flags */
			continue;
		}
		if (x->id == X86_INS_MOV && x->nops == 2 &&
		    x->op[0].type == X86_OP_MEM && x->op[0].base == prev &&
		    x->op[0].index == -1 && x->op[1].type == X86_OP_REG &&
		    x->op[1].reg == 4 && x->op[0].disp > 0) {
			if (!L->thread_sp.size)
				inf_found(in, &L->thread_sp, "task_struct.thread.sp",
				      (uint32_t)x->op[0].disp, in->ptr,
				      "code of %s: the store of the stack pointer", name);
			if (!L->frame_size && n) {
				for (k = 0; k < X86_GPR_NR; k++)
					L->frame_gpr[k] = -1;
				for (k = 0; k < n; k++)
					if (pushed[k] >= 0)
						L->frame_gpr[pushed[k]] =
							(int32_t)((n - 1 - k) * in->ptr);
					else
						L->frame_flags =
							(int32_t)((n - 1 - k) * in->ptr);
				L->frame_ret = (int32_t)(n * in->ptr);
				L->frame_size = (n + 1) * in->ptr;
				lx_origin_set(in->lx, "inactive_task_frame",
					      "code of %s: its %u pushes", name, n);
			}
			break;
		}
		if (i > 0)
			break;	/* the pushes come first */
	}
	kc_free(&fn);
}

/* sys_getppid: current (a per-CPU load), then current->real_parent. */
static void rule_getppid(struct inf *in)
{
	struct kc_fn fn;
	char name[FN_NAME_MAX];
	size_t i;

	if (fn_load(in, "__do_sys_getppid|__x64_sys_getppid|__ia32_sys_getppid|sys_getppid|SyS_getppid",
		    &fn, name))
		return;
	for (i = 0; i < fn.nacc; i++) {
		const struct kc_acc *a = &fn.acc[i];

		if (a->kind == KC_LOAD && a->base.kind == KV_PERCPU &&
		    a->size == in->ptr && a->disp > 0) {
			if (!in->L->real_parent.size)
				inf_found(in, &in->L->real_parent, "task_struct.real_parent",
				      (uint32_t)a->disp, in->ptr,
				      "code of %s: the load through current", name);
			if (!in->cur_task) {
				in->cur_task = a->base.imm;
				lx_origin_set(in->lx, "current_task",
					      "code of %s: the per-CPU load of current", name);
			}
			break;
		}
	}
	kc_free(&fn);
}

/* kick_process(p): cpu = task_cpu(p); ... cpu_curr(cpu) == p */
static void rule_kick(struct inf *in)
{
	struct kc_fn fn;
	char name[FN_NAME_MAX];
	size_t i;
	uint64_t rq = 0;

	if (fn_load(in, "kick_process", &fn, name))
		return;
	for (i = 0; i < fn.nacc; i++) {
		const struct kc_acc *a = &fn.acc[i];

		if (a->kind == KC_LOAD && is_arg(&a->base, 0) && a->size == 4 &&
		    !in->L->cpu.size && a->disp >= 0)
			inf_found(in, &in->L->cpu, "task_struct.cpu", (uint32_t)a->disp, 4,
			      "code of %s: task_cpu()", name);
		if (a->kind == KC_INDEXED && a->scale == in->ptr && !in->pcpu_off &&
		    lx_kptr_ok(in->lx, inf_trunc_addr(in, a->imm))) {
			in->pcpu_off = inf_trunc_addr(in, a->imm);
			lx_origin_set(in->lx, "__per_cpu_offset",
				      "code of %s: the indexed load of a CPU's offset", name);
		}
		if (a->kind == KC_MOVIMM && !rq)
			rq = inf_trunc_addr(in, a->imm);
	}
	/* cmp rq.curr(%base,%index,1), p */
	for (i = 0; i < fn.nins && rq; i++) {
		const struct kc_ins *x = &fn.ins[i];
		unsigned k;

		if (x->id != X86_INS_CMP)
			continue;
		for (k = 0; k < x->nops; k++)
			if (x->op[k].type == X86_OP_MEM && x->op[k].base >= 0 &&
			    x->op[k].index >= 0 && x->op[k].scale == 1 &&
			    x->op[k].disp > 0 && !in->L->rq_curr.size) {
				inf_found(in, &in->L->rq_curr, "rq.curr",
				      (uint32_t)x->op[k].disp, in->ptr,
				      "code of %s: cpu_curr() == p", name);
				in->runqueues = rq;
				lx_origin_set(in->lx, "runqueues",
					      "code of %s: the per-CPU address of cpu_curr()",
					      name);
			}
	}
	kc_free(&fn);
}

/* The constant a register holds before instruction i (lea disp(%rip) or
 * mov $imm within a few instructions), or 0. */
static uint64_t reg_const(const struct kc_fn *fn, size_t i, int reg)
{
	size_t j;

	for (j = i; j-- > 0 && i - j <= 8;) {
		const struct kc_ins *x = &fn->ins[j];

		if (x->nops != 2 || x->op[0].type != X86_OP_REG ||
		    x->op[0].reg != reg)
			continue;
		if (x->id == X86_INS_MOV && x->op[1].type == X86_OP_IMM)
			return (uint64_t)x->op[1].imm;
		if (x->id == X86_INS_LEA && x->op[1].base == 16 &&
		    x->op[1].index == -1)
			return x->addr + x->len + (uint64_t)x->op[1].disp;
		return 0;
	}
	return 0;
}

/* for_each_process(p) in sys_setpriority: p = next_task(p) is
 * "lea -T(%rA), %rB" and the loop test "cmp $&init_task.tasks, %rA". */
static void rule_setpriority(struct inf *in)
{
	struct kc_fn fn;
	char name[FN_NAME_MAX];
	size_t i, j;
	uint64_t best_t = 0, best_init = 0;
	unsigned votes = 0;

	if (fn_load(in, "__do_sys_setpriority|__x64_sys_setpriority|__ia32_sys_setpriority|sys_setpriority|SyS_setpriority",
		    &fn, name))
		return;
	for (i = 0; i + 1 < fn.nins; i++) {
		const struct kc_ins *x = &fn.ins[i];
		int64_t t;

		if (x->id != X86_INS_LEA || x->nops != 2 ||
		    x->op[1].base < 0 || x->op[1].base >= 16 ||
		    x->op[1].index != -1 || x->op[1].disp >= 0 ||
		    x->op[1].disp < -65536)
			continue;
		t = -x->op[1].disp;
		for (j = i + 1; j < fn.nins && j <= i + 3; j++) {
			const struct kc_ins *c = &fn.ins[j];
			uint64_t head = 0;

			if (c->id != X86_INS_CMP || c->nops != 2 ||
			    c->op[0].type != X86_OP_REG ||
			    c->op[0].reg != x->op[1].base)
				continue;
			if (c->op[1].type == X86_OP_IMM)
				head = inf_trunc_addr(in, c->op[1].imm);
			else if (c->op[1].type == X86_OP_REG)
				head = reg_const(&fn, j, c->op[1].reg);
			if (!head || !lx_kptr_ok(in->lx, head - (uint64_t)t))
				continue;
			if (best_t == (uint64_t)t && best_init == head - (uint64_t)t) {
				votes++;
			} else if (!votes) {
				best_t = (uint64_t)t;
				best_init = head - (uint64_t)t;
				votes = 1;
			}
		}
	}
	if (votes) {
		if (!in->L->tasks.size)
			inf_found(in, &in->L->tasks, "task_struct.tasks", (uint32_t)best_t,
			      2 * in->ptr, "code of %s: for_each_process()", name);
		if (!in->init_task) {
			in->init_task = best_init;
			lx_origin_set(in->lx, "init_task",
				      "code of %s: for_each_process()'s end test", name);
		}
	}
	kc_free(&fn);
}

/* unhandled_signal(tsk, sig): is_global_init(tsk), cmpl $1, tgid(tsk). */
static void rule_global_init(struct inf *in)
{
	struct kc_fn fn;
	char name[FN_NAME_MAX];
	size_t i;

	if (fn_load(in, "unhandled_signal", &fn, name))
		return;
	for (i = 0; i < fn.nacc; i++) {
		const struct kc_acc *a = &fn.acc[i];

		if (a->kind == KC_CMPIMM && is_arg(&a->base, 0) && a->imm == 1 &&
		    a->size == 4 && a->disp > 0) {
			in->tgid_code = a->disp;
			break;
		}
	}
	kc_free(&fn);
}

void inf_from_code(struct inf *in, const char **comm_from)
{
	rule_get_task_mm(in);
	rule_comm(in, comm_from);
	rule_switch(in);
	rule_getppid(in);
	rule_kick(in);
	rule_setpriority(in);
	rule_global_init(in);
}
