// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Linux task walk: idle tasks, the init_task.tasks list of thread
 * group leaders, each group's threads, and which task each vCPU runs.
 * One read of the needed span of each task_struct; every list is bounded,
 * its pointers and back-links checked, and a loop or a bad link ends the
 * walk with a warning and the tasks found so far. Also a sleeping task's
 * registers (its saved switch frame) and its address space.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os-awareness/linux-internal.h"
#include "os-awareness/walk.h"
#include "stub/base/log.h"
#include "stub/base/num.h"
#include "stub/guest/vmem.h"

int lx_read(struct lx *lx, uint64_t va, void *buf, size_t len)
{
	lx->reads++;
	return vmem_read(lx->base.env.mem, &lx->kas, va, buf, len, NULL);
}

int lx_read_ptr(struct lx *lx, uint64_t va, uint64_t *v)
{
	uint8_t b[8];
	int rc = lx_read(lx, va, b, lx->ptr);

	if (rc == 0)
		*v = get_le(b, lx->ptr);
	return rc;
}

bool lx_kptr_ok(const struct lx *lx, uint64_t p)
{
	if (p < lx->kmin || (p & (lx->ptr - 1)))
		return false;
	return lx->bits == 64 || p <= 0xffffffffull;
}

int lx_pa(struct lx *lx, uint64_t va, uint64_t *pa)
{
	struct x86_walk w;
	int rc;

	if (lx->bits == 64 && lx->have_phys_base && va >= 0xffffffff80000000ull) {
		*pa = va - 0xffffffff80000000ull + lx->phys_base;
		return 0;
	}
	if (lx->have_page_offset && va >= lx->page_offset &&
	    (lx->bits == 32 || va < 0xffffc00000000000ull)) {
		*pa = va - lx->page_offset;
		return 0;
	}
	rc = vmem_translate(lx->base.env.mem, &lx->kas, va, &w);
	if (rc)
		return rc;
	*pa = w.paddr;
	return 0;
}

char lx_state_letter(uint64_t state, uint64_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	uint64_t s = (state | exit_state) & 0x7f;
	unsigned fls = 0;

	if (state == 0x402)		/* TASK_IDLE */
		s = 0x80;
	else if (state == 0x1000)	/* TASK_RTLOCK_WAIT */
		s = 0x02;
	while (s) {
		fls++;
		s >>= 1;
	}
	return letters[fls];
}

/* ---- per-walk state ---- */


/* What one read of a task_struct gives. */
struct trec {
	uint64_t addr;
	uint64_t tasks_next, tasks_prev;
	uint64_t pid, tgid, state, exit_state, flags;
	uint64_t mm, active_mm, stack, real_parent, group_leader, signal;
	uint64_t tnode_next, tnode_prev, tgroup_next, tgroup_prev;
	uint64_t cpu, on_cpu, real_cred;
	char comm[17];
};

struct walk {
	struct lx *lx;
	struct os_task *tasks;
	struct lx_task *tp;
	size_t n, cap;
	struct addrmap seen;	/* task addresses listed */
	struct os_tids tids;	/* gdb thread ids given */
	struct os_span span;	/* of task_struct */
	unsigned warnings;
	unsigned fallbacks;	/* tasks given a fallback id */
	bool stop;
};

static void warn(struct walk *w, const char *what, uint64_t addr)
{
	w->warnings++;
	if (w->warnings <= 8)
		log_warn(LC_OS, "linux: %s at 0x%llx; the task list ends with the %zu tasks found so far",
			 what, (unsigned long long)addr, w->n);
}

/* The span of task_struct holding every member the list needs; thread.sp,
 * far in the struct, is read only when a task's registers are asked for. */
static void span_init(struct walk *w)
{
	const struct lx_layout *L = &w->lx->L;
	const struct os_field *f[] = {
		&L->tasks, &L->pid, &L->tgid, &L->comm, &L->state,
		&L->exit_state, &L->flags, &L->mm, &L->active_mm, &L->stack,
		&L->real_parent, &L->group_leader, &L->signal, &L->thread_node,
		&L->thread_group, &L->cpu, &L->on_cpu, &L->real_cred,
	};
	os_span_init(&w->span, f, sizeof(f) / sizeof(f[0]));
}

static uint64_t fget(const struct walk *w, struct os_field f)
{
	return os_span_get(&w->span, f);
}

static uint64_t fget2(const struct walk *w, struct os_field f, unsigned which)
{
	struct os_field g = { f.off + which * w->lx->ptr, w->lx->ptr };

	return f.size ? fget(w, g) : 0;
}

static int read_task(struct walk *w, uint64_t addr, struct trec *t)
{
	const struct lx_layout *L = &w->lx->L;
	size_t cl;

	if (os_span_read(&w->span, w->lx->base.env.mem, &w->lx->kas, addr,
			 &w->lx->reads))
		return -EFAULT;
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	t->tasks_next = fget2(w, L->tasks, 0);
	t->tasks_prev = fget2(w, L->tasks, 1);
	t->pid = fget(w, L->pid);
	t->tgid = fget(w, L->tgid);
	t->state = fget(w, L->state);
	t->exit_state = fget(w, L->exit_state);
	t->flags = fget(w, L->flags);
	t->mm = fget(w, L->mm);
	t->active_mm = fget(w, L->active_mm);
	t->stack = fget(w, L->stack);
	t->real_parent = fget(w, L->real_parent);
	t->group_leader = fget(w, L->group_leader);
	t->signal = fget(w, L->signal);
	t->tnode_next = fget2(w, L->thread_node, 0);
	t->tnode_prev = fget2(w, L->thread_node, 1);
	t->tgroup_next = fget2(w, L->thread_group, 0);
	t->tgroup_prev = fget2(w, L->thread_group, 1);
	t->cpu = fget(w, L->cpu);
	t->on_cpu = fget(w, L->on_cpu);
	t->real_cred = fget(w, L->real_cred);
	cl = L->comm.size < 16 ? L->comm.size : 16;
	memcpy(t->comm, os_span_ptr(&w->span, L->comm), cl);
	t->comm[cl] = 0;
	return 0;
}

/* Gives the task being added (index w->n) its gdb thread id: its pid's,
 * its CPU's for an idle task, or a fallback id with a note and a
 * warning (the first few of a walk) when that is impossible or taken. */
static void give_tid(struct walk *w, struct os_task *o, int idle_cpu)
{
	uint64_t want = idle_cpu >= 0 ? os_tid_idle(idle_cpu) :
			os_tid_of(o->thread_id, LX_PID_MAX);
	uint32_t holder;
	enum os_tid_kind k = os_tids_give(&w->tids, want, (uint32_t)(w->n + 1),
					  &o->tid, &holder);

	if (k == OS_TID_OK)
		return;
	o->note = idle_cpu >= 0 ? (k == OS_TID_TAKEN ? "duplicate CPU" :
						       "impossible CPU") :
		  k == OS_TID_TAKEN ? "duplicate pid" : "impossible pid";
	if (++w->fallbacks > 8)
		return;
	if (k == OS_TID_TAKEN)
		log_warn(LC_OS, "linux: task 0x%llx (%s) has %s %lld, which task 0x%llx (%s) has too: shown as thread %llu",
			 (unsigned long long)o->addr, o->name,
			 idle_cpu >= 0 ? "CPU" : "pid",
			 idle_cpu >= 0 ? (long long)idle_cpu : (long long)o->thread_id,
			 (unsigned long long)w->tasks[holder - 1].addr,
			 w->tasks[holder - 1].name, (unsigned long long)o->tid);
	else
		log_warn(LC_OS, "linux: task 0x%llx (%s) has %s %lld, which no task can have: shown as thread %llu",
			 (unsigned long long)o->addr, o->name,
			 idle_cpu >= 0 ? "CPU" : "pid",
			 idle_cpu >= 0 ? (long long)idle_cpu : (long long)o->thread_id,
			 (unsigned long long)o->tid);
}

static void add(struct walk *w, const struct trec *t, const char *proc_name,
		int idle_cpu)
{
	struct os_task *o;
	struct lx_task *p;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->tasks = xrealloc(w->tasks, st_mult(w->cap, sizeof(*w->tasks)));
		w->tp = xrealloc(w->tp, st_mult(w->cap, sizeof(*w->tp)));
	}
	o = &w->tasks[w->n];
	p = &w->tp[w->n];
	memset(o, 0, sizeof(*o));
	memset(p, 0, sizeof(*p));
	o->addr = t->addr;
	o->pid = (int64_t)(int32_t)t->tgid;
	o->thread_id = (int64_t)(int32_t)t->pid;
	o->is_idle = idle_cpu >= 0;
	/* comm is the guest's bytes: shown escaped, whole (16 bytes fit) */
	guest_text(o->name, sizeof(o->name), t->comm, strnlen(t->comm, 16),
		   false, false);
	guest_text(o->proc_name, sizeof(o->proc_name), proc_name,
		   strnlen(proc_name, 16), false, false);
	give_tid(w, o, idle_cpu);
	if (w->lx->L.state.size)
		snprintf(o->state, sizeof(o->state), "%c",
			 lx_state_letter(t->state, t->exit_state));
	o->vcpu = -1;
	o->kernel_thread = (t->flags & 0x00200000) != 0; /* PF_KTHREAD */
	if (!w->lx->L.flags.size)
		o->kernel_thread = !t->mm;
	p->stack = t->stack;
	p->mm = t->mm;
	p->active_mm = t->active_mm;
	p->real_parent = t->real_parent;
	p->real_cred = t->real_cred;
	p->cpu = w->lx->L.cpu.size ? (int)t->cpu : -1;
	/* on a CPU now: its saved frame is stale until a vCPU claims it */
	p->on_other_cpu = t->on_cpu != 0;
	p->ppid = -1;
	addrmap_put(&w->seen, t->addr, (uint32_t)(w->n + 1));
	w->n++;
}

/* Walks one thread group's ring from head (signal->thread_head, or the
 * leader's own thread_group node in older kernels) through thread_node
 * (by_node) or thread_group; the leader is already listed. */
static void walk_group(struct walk *w, const struct trec *leader,
		       uint64_t head, uint64_t first_next, bool by_node)
{
	uint32_t moff = by_node ? w->lx->L.thread_node.off :
				  w->lx->L.thread_group.off;
	struct lx *lx = w->lx;
	uint64_t prev = head, node = first_next;
	unsigned count = 0;
	struct trec t;

	while (node != head && !w->stop) {
		uint64_t task = node - moff;
		uint64_t next, back;

		if (++count > LX_MAX_TASKS || w->n >= LX_MAX_TASKS) {
			warn(w, "a thread list longer than the bound", head);
			w->stop = true;
			return;
		}
		if (!lx_kptr_ok(lx, node)) {
			warn(w, "a bad pointer in a thread list", node);
			return;
		}
		if (task == leader->addr) {
			next = by_node ? leader->tnode_next : leader->tgroup_next;
			back = by_node ? leader->tnode_prev : leader->tgroup_prev;
		} else {
			if (addrmap_get(&w->seen, task)) {
				warn(w, "a loop in a thread list", node);
				return;
			}
			if (read_task(w, task, &t)) {
				warn(w, "an unreadable thread", task);
				return;
			}
			next = by_node ? t.tnode_next : t.tgroup_next;
			back = by_node ? t.tnode_prev : t.tgroup_prev;
			if (t.tgid != leader->tgid) {
				warn(w, "a thread of another process in a thread list",
				     task);
				return;
			}
		}
		if (back != prev) {
			warn(w, "a broken back-link in a thread list", node);
			return;
		}
		if (task != leader->addr)
			add(w, &t, leader->comm, -1);
		prev = node;
		node = next;
	}
}

static void add_threads(struct walk *w, const struct trec *leader)
{
	const struct lx_layout *L = &w->lx->L;
	uint64_t head, first;

	if (L->thread_node.size && L->signal.size && L->sig_thread_head.size) {
		if (!lx_kptr_ok(w->lx, leader->signal))
			return;
		head = leader->signal + L->sig_thread_head.off;
		/* a single thread links its node to the head both ways */
		if (leader->tnode_next == head && leader->tnode_prev == head)
			return;
		if (lx_read_ptr(w->lx, head, &first)) {
			warn(w, "an unreadable signal_struct", leader->signal);
			return;
		}
		walk_group(w, leader, head, first, true);
	} else if (L->thread_group.size) {
		/* older kernels: a ring through the leader, no head */
		head = leader->addr + L->thread_group.off;
		walk_group(w, leader, head, leader->tgroup_next, false);
	}
}

/* per_cpu(sym, cpu): the address of a per-CPU variable. */
static uint64_t per_cpu(const struct lx *lx, uint64_t sym, unsigned cpu)
{
	return sym + lx->cpu_off[cpu];
}

static uint64_t cpu_current(struct lx *lx, unsigned cpu)
{
	uint64_t v = 0;

	if (cpu >= lx->ncpus)
		return 0;
	if (lx->S.current_task &&
	    !lx_read_ptr(lx, per_cpu(lx, lx->S.current_task, cpu), &v) && v)
		return v;
	if (lx->S.pcpu_hot && lx->L.hot_current.size &&
	    !lx_read_ptr(lx, per_cpu(lx, lx->S.pcpu_hot, cpu) +
			 lx->L.hot_current.off, &v) && v)
		return v;
	if (lx->S.runqueues && lx->L.rq_curr.size &&
	    !lx_read_ptr(lx, per_cpu(lx, lx->S.runqueues, cpu) +
			 lx->L.rq_curr.off, &v) && v)
		return v;
	return 0;
}

static uint64_t cpu_idle(struct lx *lx, unsigned cpu)
{
	uint64_t v = 0;

	if (cpu < lx->ncpus && lx->S.runqueues && lx->L.rq_idle.size &&
	    !lx_read_ptr(lx, per_cpu(lx, lx->S.runqueues, cpu) +
			 lx->L.rq_idle.off, &v) && v)
		return v;
	return cpu == 0 ? lx->S.init_task : 0;
}

void lx_match_vcpus(struct lx *lx)
{
	unsigned n = lx->base.env.nr_vcpus, v, c;
	const char *how = NULL;

	for (v = 0; v < n; v++) {
		struct x86_regs r;
		uint64_t base = 0, best = ~0ull;
		int cpu = -1;

		lx->vcpu_cpu[v] = -1;
		lx->vcpu_cur[v] = 0;
		memset(&r, 0, sizeof(r));
		if (lx->base.env.vcpu_regs(lx->base.env.ctx, v, &r))
			continue;
		if (lx->bits == 64) {
			if (x86_cpl(&r) == 0 && x86_valid(&r, XF_SEGCACHE0 + X86_GS))
				base = r.seg[X86_GS].base;
			else if (x86_valid(&r, XF_KGSBASE))
				base = r.k_gs_base;
		} else if (x86_valid(&r, XF_SEGCACHE0 + X86_FS)) {
			base = r.seg[X86_FS].base;
		}
		/* the per-CPU base points into the CPU's per-CPU area */
		for (c = 0; base && c < lx->ncpus; c++) {
			uint64_t d = base - lx->cpu_off[c];

			if (base >= lx->cpu_off[c] && d < (2u << 20) && d < best) {
				best = d;
				cpu = (int)c;
			}
		}
		if (cpu >= 0) {
			how = "per-CPU base";
		} else if (x86_valid(&r, XF_GPR0 + X86_RSP) && x86_cpl(&r) == 0) {
			/* the task whose kernel stack holds the vCPU's rsp */
			for (c = 0; c < lx->ncpus && cpu < 0; c++) {
				uint64_t cur = cpu_current(lx, c), stack;

				if (cur && lx->L.stack.size &&
				    !lx_read_ptr(lx, cur + lx->L.stack.off, &stack) &&
				    r.gpr[X86_RSP] - stack < lx->L.thread_size) {
					cpu = (int)c;
					how = "kernel stack";
				}
			}
		}
		if (cpu < 0 && n == lx->ncpus) {
			cpu = (int)v;
			how = "vCPU number (no per-CPU base matched)";
		}
		lx->vcpu_cpu[v] = cpu;
		if (cpu >= 0)
			lx->vcpu_cur[v] = cpu_current(lx, (unsigned)cpu);
	}
	lx->vcpu_match = how ? how : "none";
}

void lx_tasks_release(struct lx *lx)
{
	free(lx->base.tasks);
	free(lx->tp);
	lx->base.tasks = NULL;
	lx->tp = NULL;
	lx->base.ntasks = 0;
}

static void resolve_parents(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		uint64_t rp = w->tp[i].real_parent;
		uint32_t k, tgid;

		if (w->tasks[i].is_idle || !rp || rp == w->tasks[i].addr) {
			w->tp[i].ppid = 0;
			continue;
		}
		k = addrmap_get(&w->seen, rp);
		if (k) {
			w->tp[i].ppid = w->tasks[k - 1].pid;
		} else if (w->lx->L.tgid.size == 4 && lx_kptr_ok(w->lx, rp) &&
			   !lx_read(w->lx, rp + w->lx->L.tgid.off, &tgid, 4)) {
			w->tp[i].ppid = (int32_t)get_le((const uint8_t *)&tgid, 4);
		}
	}
}

int lx_walk(struct lx *lx)
{
	const struct lx_layout *L = &lx->L;
	const struct vmem_stats *vs = vmem_stats(lx->base.env.mem);
	uint64_t frames0 = vs->frames_mapped, maps0 = vs->map_calls;
	uint64_t reads0 = lx->reads, head, node, prev;
	struct timespec t0, t1;
	struct walk w;
	struct trec t;
	unsigned c, v, count = 0;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&w, 0, sizeof(w));
	w.lx = lx;
	span_init(&w);
	lx_match_vcpus(lx);

	/* idle tasks first, one per CPU; CPU 0's is init_task */
	for (c = 0; c < (lx->ncpus ? lx->ncpus : 1); c++) {
		uint64_t idle = cpu_idle(lx, c);

		if (!idle || addrmap_get(&w.seen, idle) || !lx_kptr_ok(lx, idle))
			continue;
		if (read_task(&w, idle, &t)) {
			warn(&w, "an unreadable idle task", idle);
			continue;
		}
		add(&w, &t, t.comm, (int)c);
	}
	if (read_task(&w, lx->S.init_task, &t)) {
		log_warn(LC_OS, "linux: init_task at 0x%llx cannot be read: no task list",
			 (unsigned long long)lx->S.init_task);
		rc = -EFAULT;
		goto out;
	}
	if (!addrmap_get(&w.seen, t.addr))
		add(&w, &t, t.comm, 0);
	head = lx->S.init_task + L->tasks.off;
	prev = head;
	node = t.tasks_next;
	while (node != head && !w.stop) {
		uint64_t task = node - L->tasks.off;

		if (++count > LX_MAX_TASKS || w.n >= LX_MAX_TASKS) {
			warn(&w, "a task list longer than the bound", head);
			break;
		}
		if (!lx_kptr_ok(lx, node)) {
			warn(&w, "a bad pointer in the task list", node);
			break;
		}
		if (addrmap_get(&w.seen, task)) {
			warn(&w, "a loop in the task list", node);
			break;
		}
		if (read_task(&w, task, &t)) {
			warn(&w, "an unreadable task", task);
			break;
		}
		if (t.tasks_prev != prev) {
			warn(&w, "a broken back-link in the task list", node);
			break;
		}
		add(&w, &t, t.comm, -1);
		add_threads(&w, &t);
		prev = node;
		node = t.tasks_next;
	}

	/* the tasks running on the vCPUs (one may have left the list) */
	for (v = 0; v < lx->base.env.nr_vcpus; v++) {
		uint64_t cur = lx->vcpu_cur[v];
		uint32_t k = cur ? addrmap_get(&w.seen, cur) : 0;

		if (!k && cur && lx_kptr_ok(lx, cur) && !read_task(&w, cur, &t)) {
			/* pid 0 off the lists is that CPU's idle task */
			add(&w, &t, t.comm, t.pid == 0 && lx->vcpu_cpu[v] >= 0 ?
			    lx->vcpu_cpu[v] : -1);
			k = addrmap_get(&w.seen, cur);
		}
		if (k) {
			w.tasks[k - 1].vcpu = (int)v;
			w.tp[k - 1].on_other_cpu = false;
			snprintf(w.tasks[k - 1].state, sizeof(w.tasks[k - 1].state),
				 "R");
		}
	}
	resolve_parents(&w);
out:
	lx_tasks_release(lx);
	lx->base.tasks = w.tasks;
	lx->tp = w.tp;
	lx->base.ntasks = w.n;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	memset(&lx->last, 0, sizeof(lx->last));
	for (count = 0; count < w.n; count++) {
		if (w.tasks[count].is_idle)
			lx->last.idle++;
		else
			lx->last.threads++;
		if (!w.tasks[count].is_idle &&
		    w.tasks[count].pid == w.tasks[count].thread_id)
			lx->last.processes++;
	}
	lx->last.ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	lx->last.reads = lx->reads - reads0;
	lx->last.frames_mapped = vs->frames_mapped - frames0;
	lx->last.map_calls = vs->map_calls - maps0;
	lx->last.warnings = w.warnings;
	lx->last.fallback_ids = w.fallbacks;
	if (w.fallbacks > 8)
		log_warn(LC_OS, "linux: %u more tasks with impossible or duplicate ids have fallback thread ids",
			 w.fallbacks - 8);
	log_dbg(LC_OS, "linux: %zu tasks in %.3f ms: %llu guest reads, %llu frames mapped in %llu calls",
		w.n, lx->last.ms, (unsigned long long)lx->last.reads,
		(unsigned long long)lx->last.frames_mapped,
		(unsigned long long)lx->last.map_calls);
	os_span_free(&w.span);
	addrmap_free(&w.seen);
	os_tids_free(&w.tids);
	return rc;
}

static const struct lx_task *task_priv(struct lx *lx, const struct os_task *t)
{
	if (!lx->base.ntasks || t < lx->base.tasks ||
	    t >= lx->base.tasks + lx->base.ntasks)
		return NULL;
	return &lx->tp[t - lx->base.tasks];
}

int lx_task_regs(struct lx *lx, const struct os_task *t, struct x86_regs *r)
{
	const struct lx_task *p = task_priv(lx, t);
	const struct lx_layout *L = &lx->L;
	uint8_t frame[256];
	uint64_t sp;
	unsigned i;
	int rc;

	if (!p)
		return -ESRCH;
	/* running on a CPU no vCPU was matched to: nothing is known */
	if (p->on_other_cpu && t->vcpu < 0)
		return 0;
	if (!L->thread_sp.size)
		return -ENODATA;
	rc = lx_read_ptr(lx, t->addr + L->thread_sp.off, &sp);
	if (rc)
		return rc;
	if (!lx_kptr_ok(lx, sp))
		return -EFAULT;
	if (lx->have_kcs) {
		r->seg[X86_CS].sel = lx->kernel_cs;
		r->seg[X86_SS].sel = lx->kernel_ss;
		x86_set_valid(r, XF_SEL0 + X86_CS);
		x86_set_valid(r, XF_SEL0 + X86_SS);
	}
	if (!L->frame_size || L->frame_size > sizeof(frame)) {
		/* no switch frame type known: only the stack pointer */
		r->gpr[X86_RSP] = sp;
		x86_set_valid(r, XF_GPR0 + X86_RSP);
		return 0;
	}
	rc = lx_read(lx, sp, frame, L->frame_size);
	if (rc)
		return rc;
	for (i = 0; i < X86_GPR_NR; i++) {
		if (L->frame_gpr[i] < 0)
			continue;
		r->gpr[i] = get_le(frame + L->frame_gpr[i], lx->ptr);
		x86_set_valid(r, XF_GPR0 + i);
	}
	if (L->frame_ret >= 0) {
		r->rip = get_le(frame + L->frame_ret, lx->ptr);
		x86_set_valid(r, XF_RIP);
	}
	if (L->frame_flags >= 0 &&
	    (uint32_t)L->frame_flags + lx->ptr <= L->frame_size) {
		r->rflags = get_le(frame + L->frame_flags, lx->ptr);
		x86_set_valid(r, XF_RFLAGS);
	}
	r->gpr[X86_RSP] = sp + L->frame_size;
	x86_set_valid(r, XF_GPR0 + X86_RSP);
	return 0;
}

/*
 * The physical page-table root of a task: its mm's pgd (active_mm's for a
 * kernel thread, init_mm's when it has neither), checked as the kernel
 * would have it: an mm in kernel memory that can be read, whose pgd is a
 * page-aligned kernel address the kernel's tables translate into a frame
 * the guest has. 0, or -EFAULT with why.
 */
static int task_root(struct lx *lx, const struct lx_task *p, uint64_t *root,
		     struct strbuf *why)
{
	const char *which = p->mm ? "mm" : p->active_mm ? "active_mm" : "init_mm";
	uint64_t mm = p->mm ? p->mm : p->active_mm ? p->active_mm : lx->S.init_mm;
	uint64_t pgd, pa, align = lx->kas.mode == X86_PAGING_PAE ? 32 : 4096;
	uint8_t b[8];

	if (!lx_kptr_ok(lx, mm)) {
		strbuf_addf(why, "its %s 0x%llx is not a kernel address", which,
			    (unsigned long long)mm);
		return -EFAULT;
	}
	if (lx_read_ptr(lx, mm + lx->L.mm_pgd.off, &pgd)) {
		strbuf_addf(why, "its %s 0x%llx cannot be read", which,
			    (unsigned long long)mm);
		return -EFAULT;
	}
	if (!lx_kptr_ok(lx, pgd) || (pgd & (align - 1))) {
		strbuf_addf(why, "its %s 0x%llx has pgd 0x%llx, which is not a page-aligned kernel address",
			    which, (unsigned long long)mm, (unsigned long long)pgd);
		return -EFAULT;
	}
	if (lx_pa(lx, pgd, &pa)) {
		strbuf_addf(why, "its %s 0x%llx has pgd 0x%llx, which the kernel's page tables do not map",
			    which, (unsigned long long)mm, (unsigned long long)pgd);
		return -EFAULT;
	}
	if (x86_cr3_root(lx->kas.mode, pa) != pa ||
	    vmem_read_phys(lx->base.env.mem, pa, b, sizeof(b), NULL)) {
		strbuf_addf(why, "its %s 0x%llx has pgd 0x%llx at physical 0x%llx, which is not in the guest's memory",
			    which, (unsigned long long)mm, (unsigned long long)pgd,
			    (unsigned long long)pa);
		return -EFAULT;
	}
	*root = pa;
	return 0;
}

int lx_task_aspace(struct lx *lx, const struct os_task *t, struct aspace *as,
		   struct strbuf *why)
{
	struct lx_task *p = (struct lx_task *)task_priv(lx, t);
	struct strbuf msg = STRBUF_INIT;
	int rc;

	if (!p) {
		if (why)
			strbuf_addstr(why, "not a task of the last walk");
		return -ESRCH;
	}
	if (!p->have_cr3) {
		if (!lx->L.mm_pgd.size ||
		    (!p->mm && !p->active_mm && !lx->S.init_mm)) {
			/* a kernel thread, or no mm_struct layout: the
			 * kernel's own tables */
			*as = lx->kas;
			return 0;
		}
		rc = task_root(lx, p, &p->cr3, &msg);
		if (rc) {
			/* never another task's tables: nothing is read */
			if (!p->aspace_warned)
				log_warn(LC_OS, "linux: the address space of %s (pid %lld) cannot be used: %s; its memory is not read",
					 t->name, (long long)t->thread_id, msg.buf);
			p->aspace_warned = true;
			if (why)
				strbuf_addf(why, "the address space of %s (pid %lld) cannot be used: %s",
					    t->name, (long long)t->thread_id, msg.buf);
			strbuf_release(&msg);
			return rc;
		}
		p->have_cr3 = true;
	}
	as->phys = false;
	as->mode = lx->kas.mode;
	as->cr3 = p->cr3;
	return 0;
}
