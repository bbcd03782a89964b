// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The offsets of task_struct and its neighbours for a kernel without BTF,
 * found in the kernel itself: VMCOREINFO's OFFSET() entries first, then the
 * machine code of small kernel functions that have kept their shape from
 * Linux 3.x to 6.x on x86_64 and i386 (found through kallsyms, read with
 * linux-code.c), each one pinning a few fields, then the kernel's data:
 * every offset is checked on init_task and on the tasks of its list, and
 * the few that no stable function pins are found there.
 *
 * Where the ideas come from:
 * - Reading offsets out of the instructions of kernel functions whose
 *   source is known, the functions located through the kernel's own
 *   symbol table recovered from memory: AutoProfile (F. Pagani, D.
 *   Balzarotti, "AutoProfile: Towards Automated Profile Generation for
 *   Memory Analysis", ACM TOPS 25(1), 2022, doi 10.1145/3485471), which
 *   matches the field accesses of the source to the memory operands of
 *   the binary function by function; here the matching is a hand-written
 *   rule per function instead of their compiler-plugin extraction.
 * - Rebuilding kernel code and symbols from the memory image alone, then
 *   extracting live-system information version by version with checks on
 *   the data ("An adaptive approach for Linux memory analysis based on
 *   kernel code reconstruction", EURASIP J. on Information Security 2016:14,
 *   doi 10.1186/s13635-016-0038-z): the cross-check of each offset on
 *   init_task and its list (comm "swapper", a ring that closes, small
 *   distinct pids) follows that idea.
 * - The data symbols a kernel without CONFIG_KALLSYMS_ALL does not list
 *   (init_task, __per_cpu_offset, current_task, runqueues) are taken from
 *   the absolute addresses and per-CPU operands of the same instructions.
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
 * From the data: active_mm (the pointer after mm: init_task's is init_mm),
 * mm_struct.pgd (init_mm's pointer to swapper_pg_dir), group_leader (each
 * listed task points to itself), thread_group (rings of tasks of one
 * tgid), stack (holds each sleeping task's saved stack pointer), __state
 * (the word before stack, with task-state values).
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/paging.h"
#include "os-awareness/linux-code.h"
#include "os-awareness/linux-infer.h"
#include "stub/base/log.h"
#include "stub/base/num.h"

#define PF_KTHREAD 0x00200000u
#define MAX_SAMPLE 128u		/* tasks of the list used for checks */
#define MAX_LIST 65536u		/* steps along the task list at most */

/* ---- origins ---- */

struct lx_origins {
	size_t n;
	struct { char name[48]; char src[160]; } e[64];
};

void lx_origin_set(struct lx *lx, const char *name, const char *fmt, ...)
{
	struct lx_origins *o;
	va_list ap;
	size_t i;

	if (!lx->origins)
		lx->origins = xcalloc(1, sizeof(*lx->origins));
	o = lx->origins;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->e[i].name, name))
			break;
	if (i == o->n) {
		if (o->n == sizeof(o->e) / sizeof(o->e[0]))
			return;
		o->n++;
		snprintf(o->e[i].name, sizeof(o->e[i].name), "%s", name);
	}
	va_start(ap, fmt);
	vsnprintf(o->e[i].src, sizeof(o->e[i].src), fmt, ap);
	va_end(ap);
}

const char *lx_origin(const struct lx *lx, const char *name)
{
	size_t i;

	if (!lx->origins)
		return NULL;
	for (i = 0; i < lx->origins->n; i++)
		if (!strcmp(lx->origins->e[i].name, name))
			return lx->origins->e[i].src;
	return NULL;
}

void lx_origins_free(struct lx *lx)
{
	free(lx->origins);
	lx->origins = NULL;
}

/* ---- state of one inference ---- */

struct sample {
	uint64_t addr;
	uint8_t *buf;		/* the first win bytes of its task_struct */
};

struct inf {
	struct lx *lx;
	struct lx_layout *L;
	const char *vmci;
	unsigned ptr;
	uint64_t lock;		/* task_struct.alloc_lock, or ~0 */
	uint64_t init_task, init_mm, pcpu_off, cur_task, runqueues, swapper;
	int64_t tgid_code;	/* the is_global_init operand, or -1 */
	uint64_t comm_cand[4];
	unsigned ncomm;
	struct sample s[MAX_SAMPLE];
	unsigned ns;
	size_t win;
	struct strbuf missing;
};

static void found(struct inf *in, struct os_field *f, const char *name,
		  uint32_t off, uint32_t size, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void found(struct inf *in, struct os_field *f, const char *name,
		  uint32_t off, uint32_t size, const char *fmt, ...)
{
	char src[160];
	va_list ap;

	f->off = off;
	f->size = size;
	va_start(ap, fmt);
	vsnprintf(src, sizeof(src), fmt, ap);
	va_end(ap);
	lx_origin_set(in->lx, name, "%s", src);
	log_dbg(LC_OS, "linux: %s at %u (%s)", name, off, src);
}

static uint64_t rd(struct inf *in, uint64_t va, unsigned n, bool *ok)
{
	uint8_t b[8];

	if (lx_read(in->lx, va, b, n)) {
		*ok = false;
		return 0;
	}
	return get_le(b, n);
}

static uint64_t trunc_addr(const struct inf *in, int64_t v)
{
	return in->ptr == 4 ? (uint64_t)(uint32_t)v : (uint64_t)v;
}

/* ---- VMCOREINFO ---- */

static bool vmci_value(const char *t, const char *key, int64_t *v, int base)
{
	size_t kl = strlen(key);
	const char *p = t;

	while (p && *p) {
		const char *eol = strchr(p, '\n');

		if (!strncmp(p, key, kl) && p[kl] == '=') {
			char *end;

			*v = strtoll(p + kl + 1, &end, base);
			return end != p + kl + 1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

struct named_field {
	const char *name;	/* as "monitor offsets" shows it */
	size_t dest;
	uint8_t size;		/* 0: a pointer */
};

#define NF(n, d, s) { n, offsetof(struct lx_layout, d), s }

static const struct named_field named[] = {
	NF("task_struct.tasks", tasks, 0), NF("task_struct.pid", pid, 4),
	NF("task_struct.tgid", tgid, 4), NF("task_struct.comm", comm, 16),
	NF("task_struct.__state", state, 4), NF("task_struct.exit_state", exit_state, 4),
	NF("task_struct.flags", flags, 4), NF("task_struct.mm", mm, 0),
	NF("task_struct.active_mm", active_mm, 0), NF("task_struct.stack", stack, 0),
	NF("task_struct.real_parent", real_parent, 0),
	NF("task_struct.group_leader", group_leader, 0),
	NF("task_struct.signal", signal, 0), NF("task_struct.thread_node", thread_node, 0),
	NF("task_struct.thread_group", thread_group, 0),
	NF("task_struct.thread.sp", thread_sp, 0), NF("task_struct.cpu", cpu, 4),
	NF("task_struct.on_cpu", on_cpu, 4), NF("task_struct.real_cred", real_cred, 0),
	NF("signal_struct.thread_head", sig_thread_head, 0),
	NF("mm_struct.pgd", mm_pgd, 0), NF("cred.uid", cred_uid, 4),
	NF("rq.curr", rq_curr, 0), NF("rq.idle", rq_idle, 0),
};

static struct os_field *field_at(struct inf *in, size_t dest)
{
	return (struct os_field *)((char *)in->L + dest);
}

/* OFFSET(type.member)=N lines: distribution kernels add some. */
static void from_vmcoreinfo(struct inf *in)
{
	size_t i;
	int64_t v;

	if (!in->vmci)
		return;
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		char key[80];
		const char *n = named[i].name;

		snprintf(key, sizeof(key), "OFFSET(%s)", n);
		if (!vmci_value(in->vmci, key, &v, 10) &&
		    (strcmp(n, "task_struct.__state") ||
		     !vmci_value(in->vmci, "OFFSET(task_struct.state)", &v, 10)))
			continue;
		if (v < 0 || v > 65536)
			continue;
		found(in, field_at(in, named[i].dest), n, (uint32_t)v,
		      named[i].size ? named[i].size : in->ptr, "VMCOREINFO %s", key);
	}
	/* struct new_utsname: sysname, nodename, release, each 65 bytes */
	if (vmci_value(in->vmci, "OFFSET(uts_namespace.name)", &v, 10) && v >= 0 &&
	    v < 65536)
		found(in, &in->L->uts_release, "uts_namespace.name.release",
		      (uint32_t)v + 130, 65,
		      "VMCOREINFO OFFSET(uts_namespace.name) + 130 (new_utsname.release)");
	if (vmci_value(in->vmci, "SIZE(task_struct)", &v, 10) && v > 0 && v < 65536)
		in->L->task_size = (uint32_t)v;
}

/* ---- functions ---- */

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
			found(in, &in->L->mm, "task_struct.mm", (uint32_t)a->disp,
			      in->ptr, "code of %s: the load after task_lock", name);
			have_mm = true;
		}
		if (a->kind == KC_TESTIMM && !have_flags)
			for (k = 0; k < 4; k++)
				if ((uint64_t)a->imm << (8 * k) == PF_KTHREAD &&
				    a->disp >= k) {
					found(in, &in->L->flags, "task_struct.flags",
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
				found(in, &L->thread_sp, "task_struct.thread.sp",
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
				found(in, &in->L->real_parent, "task_struct.real_parent",
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
			found(in, &in->L->cpu, "task_struct.cpu", (uint32_t)a->disp, 4,
			      "code of %s: task_cpu()", name);
		if (a->kind == KC_INDEXED && a->scale == in->ptr && !in->pcpu_off &&
		    lx_kptr_ok(in->lx, trunc_addr(in, a->imm))) {
			in->pcpu_off = trunc_addr(in, a->imm);
			lx_origin_set(in->lx, "__per_cpu_offset",
				      "code of %s: the indexed load of a CPU's offset", name);
		}
		if (a->kind == KC_MOVIMM && !rq)
			rq = trunc_addr(in, a->imm);
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
				found(in, &in->L->rq_curr, "rq.curr",
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
				head = trunc_addr(in, c->op[1].imm);
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
			found(in, &in->L->tasks, "task_struct.tasks", (uint32_t)best_t,
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

/* ---- the data ---- */

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

	node = rd(in, head, in->ptr, &ok);
	while (ok && node != head && n < MAX_LIST) {
		uint8_t c[16];

		if (!lx_kptr_ok(in->lx, node) ||
		    rd(in, node + in->ptr, in->ptr, &ok) != prev ||
		    lx_read(in->lx, node - toff + coff, c, 16) || !comm_printable(c))
			return false;
		prev = node;
		node = rd(in, node, in->ptr, &ok);
		n++;
	}
	return ok && node == head && n > 0;
}

/* Picks comm among the code's candidates: the one at which init_task is
 * named swapper and its list closes. */
static int check_init(struct inf *in, const char *comm_from)
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
			found(in, &L->comm, "task_struct.comm",
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
	node = rd(in, head, in->ptr, &ok);
	while (ok && node != head && in->ns < MAX_SAMPLE) {
		in->s[in->ns++].addr = node - in->L->tasks.off;
		node = rd(in, node, in->ptr, &ok);
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
		found(in, &L->pid, "task_struct.pid", (uint32_t)in->tgid_code - 4, 4,
		      "the int before tgid, checked on the task list");
		found(in, &L->tgid, "task_struct.tgid", (uint32_t)in->tgid_code, 4,
		      "code of unhandled_signal: is_global_init()");
		return;
	}
	if (in->tgid_code > 0 && pid_pair_ok(in, (uint64_t)in->tgid_code)) {
		/* kernels whose is_global_init() tests pid */
		found(in, &L->pid, "task_struct.pid", (uint32_t)in->tgid_code, 4,
		      "code of unhandled_signal: is_global_init()");
		found(in, &L->tgid, "task_struct.tgid", (uint32_t)in->tgid_code + 4, 4,
		      "the int after pid, checked on the task list");
		return;
	}
	/* the data alone: after the task list's node */
	for (o = L->tasks.off; o + 8 <= in->win && o < L->tasks.off + 1024; o += 4)
		if (pid_pair_ok(in, o)) {
			found(in, &L->pid, "task_struct.pid", (uint32_t)o, 4,
			      "the task list's data: 0 in init_task, small distinct ids");
			found(in, &L->tgid, "task_struct.tgid", (uint32_t)o + 4, 4,
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
		found(in, &in->L->mm_pgd, "mm_struct.pgd", best * in->ptr, in->ptr,
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
		found(in, &L->active_mm, "task_struct.active_mm", L->mm.off + in->ptr,
		      in->ptr, "the pointer after mm: init_task's is init_mm");
	if (L->mm_pgd.size)
		return;
	/* init_mm's pointer to swapper_pg_dir, when both are known */
	for (o = 0; in->init_mm && in->swapper && o < 512; o += in->ptr) {
		v = rd(in, in->init_mm + o, in->ptr, &ok);
		if (!ok)
			break;
		if (v == in->swapper) {
			found(in, &L->mm_pgd, "mm_struct.pgd", o, in->ptr,
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
			found(in, &L->group_leader, "task_struct.group_leader",
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
				    rd(in, node + in->ptr, in->ptr, &ok) != prev ||
				    rd(in, node - o + L->tgid.off, 4, &ok) != tgid ||
				    rd(in, node - o + L->pid.off, 4, &ok) == tgid || !ok)
					break;
				prev = node;
				node = rd(in, node, in->ptr, &ok);
				n++;
			}
			if (node != head)
				break;
			if (n)
				multi++;
		}
		if (i == in->ns && multi) {
			found(in, &L->thread_group, "task_struct.thread_group",
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
			found(in, &L->stack, "task_struct.stack", (uint32_t)o, in->ptr,
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
	found(in, &L->state, "task_struct.__state", (uint32_t)o, 4,
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
		uint64_t off = rd(in, in->pcpu_off + c * in->ptr, in->ptr, &ok), t;

		if (!ok)
			break;
		t = rd(in, trunc_addr(in, (int64_t)(in->cur_task + off)), in->ptr, &ok);
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
		uint64_t off = rd(in, in->pcpu_off, in->ptr, &ok);
		uint64_t idle = rd(in, trunc_addr(in, (int64_t)(in->runqueues + off)) +
				   L->rq_curr.off + in->ptr, in->ptr, &ok);

		if (ok && idle == in->init_task)
			found(in, &L->rq_idle, "rq.idle", L->rq_curr.off + in->ptr,
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
			found(in, &L->on_cpu, "task_struct.on_cpu", (uint32_t)o, 4,
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
			found(in, &L->exit_state, "task_struct.exit_state",
			      (uint32_t)o - 8, 4,
			      "two ints before exit_signal, SIGCHLD (or 0) in every listed task");
	}
}

static void add_sym(struct inf *in, const char *name, uint64_t addr,
		    bool *added)
{
	if (!addr || symtab_lookup(&in->lx->syms, name, NULL))
		return;
	symtab_add(&in->lx->syms, addr, 'D', name, strlen(name));
	*added = true;
}

static void need(struct inf *in, bool have, const char *what, const char *how)
{
	if (have)
		return;
	strbuf_addf(&in->missing, "%s%s (%s)", in->missing.len ? "; " : "",
		    what, how);
}

int lx_infer_layout(struct lx *lx, const char *vmcoreinfo, struct strbuf *why)
{
	struct inf in;
	struct lx_layout *L = &lx->L;
	const char *comm_from = "";
	int64_t v;
	bool added = false;
	unsigned i, k;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(L, 0, sizeof(*L));
	for (k = 0; k < X86_GPR_NR; k++)
		L->frame_gpr[k] = -1;
	L->frame_ret = -1;
	L->frame_flags = -1;
	in.lx = lx;
	in.L = L;
	in.vmci = vmcoreinfo && *vmcoreinfo ? vmcoreinfo : NULL;
	in.ptr = lx->ptr;
	in.lock = ~0ull;
	in.tgid_code = -1;
	strbuf_init(&in.missing, 0);
	symtab_lookup(&lx->syms, "init_task", &in.init_task);
	symtab_lookup(&lx->syms, "__per_cpu_offset", &in.pcpu_off);
	symtab_lookup(&lx->syms, "init_mm", &in.init_mm);
	if (!symtab_lookup(&lx->syms, lx->bits == 64 ? "init_top_pgt" :
			   "swapper_pg_dir", &in.swapper) &&
	    !symtab_lookup(&lx->syms, "swapper_pg_dir", &in.swapper) && in.vmci) {
		if (vmci_value(in.vmci, "SYMBOL(init_top_pgt)", &v, 16) ||
		    vmci_value(in.vmci, "SYMBOL(swapper_pg_dir)", &v, 16))
			in.swapper = trunc_addr(&in, v);
	}

	from_vmcoreinfo(&in);
	rule_get_task_mm(&in);
	rule_comm(&in, &comm_from);
	rule_switch(&in);
	rule_getppid(&in);
	rule_kick(&in);
	rule_setpriority(&in);
	rule_global_init(&in);
	if (lx_origin(lx, "init_task") == NULL && in.init_task)
		lx_origin_set(lx, "init_task", "kernel symbols");

	rc = check_init(&in, comm_from);
	if (rc == 0) {
		sample(&in);
		data_pid(&in);
		data_mm(&in);
		data_group_leader(&in);
		data_thread_group(&in);
		data_stack(&in);
		data_sched(&in);
	}

	need(&in, in.init_task, "init_task",
	     "sys_setpriority's for_each_process() was not recognised");
	need(&in, L->tasks.size, "task_struct.tasks",
	     "sys_setpriority's for_each_process() was not recognised");
	need(&in, L->comm.size, "task_struct.comm",
	     in.ncomm ? "no candidate of the code names init_task \"swapper\"" :
	     "__get_task_comm and __set_task_comm were not recognised");
	need(&in, L->pid.size && L->tgid.size, "task_struct.pid/tgid",
	     "no int pair of the task list holds distinct pids");
	if (in.missing.len) {
		strbuf_addf(why, "the offsets of this kernel's structures could not all be found in its code and data: %s; give --vmlinux FILE (the kernel's debug image, e.g. from Debian's linux-image-*-dbg), or --profile FILE.json",
			    in.missing.buf);
		rc = -ENOENT;
		goto out;
	}
	rc = 0;
	/* what the walk can do without */
	strbuf_reset(&in.missing);
	need(&in, L->thread_sp.size, "task_struct.thread.sp", "no __switch_to_asm: sleeping tasks have no registers");
	need(&in, L->mm.size && L->mm_pgd.size, "task_struct.mm / mm_struct.pgd", "tasks read memory through the kernel's page tables");
	need(&in, L->thread_group.size, "task_struct.thread_group", "no process with threads to tell it: threads other than leaders are not listed");
	need(&in, in.cur_task || in.runqueues, "current_task", "vCPUs are not matched to tasks");
	if (in.missing.len) {
		strbuf_addf(&lx->notes, "offsets not found in the kernel: %s; --vmlinux FILE would give them\n",
			    in.missing.buf);
		log_info(LC_OS, "linux: offsets not found: %s", in.missing.buf);
	}
	/* the data symbols the code gave, for kernel_data() */
	add_sym(&in, "init_task", in.init_task, &added);
	add_sym(&in, "init_mm", in.init_mm, &added);
	add_sym(&in, "__per_cpu_offset", in.pcpu_off, &added);
	add_sym(&in, "current_task", in.cur_task, &added);
	add_sym(&in, "runqueues", in.runqueues, &added);
	if (in.vmci && vmci_value(in.vmci, "SYMBOL(init_uts_ns)", &v, 16))
		add_sym(&in, "init_uts_ns", trunc_addr(&in, v), &added);
	if (in.swapper && lx->bits == 32)
		add_sym(&in, "swapper_pg_dir", in.swapper, &added);
	if (added)
		symtab_finish(&lx->syms);
out:
	for (i = 0; i < in.ns; i++)
		free(in.s[i].buf);
	strbuf_release(&in.missing);
	return rc;
}
