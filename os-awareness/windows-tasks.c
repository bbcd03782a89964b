// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Windows walks (processors, idle threads, processes and their threads,
 * drivers), a waiting thread's registers and a process's page tables. Every
 * list is bounded and checked; a bad link ends it with a warning.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os-awareness/walk.h"
#include "os-awareness/windows-internal.h"
#include "stub/base/log.h"
#include "stub/base/num.h"
#include "stub/guest/vmem.h"

int win_read(struct win *w, uint64_t va, void *buf, size_t len)
{
	w->reads++;
	return vmem_read(w->base.env.mem, &w->kas, va, buf, len, NULL);
}

int win_read_ptr(struct win *w, uint64_t va, uint64_t *v)
{
	uint8_t b[8];
	int rc = win_read(w, va, b, 8);

	if (rc == 0)
		*v = get_le(b, 8);
	return rc;
}

uint64_t win_kernel_min(enum x86_paging_mode mode)
{
	return mode == X86_PAGING_5LEVEL ? 0xff00000000000000ull :
					   0xffff800000000000ull;
}

bool win_kptr_ok(const struct win *w, uint64_t p)
{
	return p >= w->kmin && !(p & 7);
}

int win_read_unicode(struct win *w, uint64_t va, char *out, size_t outlen)
{
	const struct win_layout *L = &w->L;
	uint8_t us[32], text[WIN_MAX_NAME_BYTES];
	uint64_t len, buf;
	bool cut = false;
	int rc;

	out[0] = 0;
	if (!L->us_length.size || !L->us_buffer.size ||
	    L->us_buffer.off + 8 > sizeof(us) ||
	    L->us_length.off + 2 > sizeof(us))
		return -ENODATA;
	rc = win_read(w, va, us, L->us_buffer.off + 8);
	if (rc)
		return rc;
	len = get_le(us + L->us_length.off, 2);
	buf = get_le(us + L->us_buffer.off, 8);
	if (!len)
		return 0;
	if (len > sizeof(text)) {
		len = sizeof(text);
		cut = true;
	}
	if (!win_kptr_ok(w, buf & ~7ull) || (buf & 1))
		return -EFAULT;
	rc = win_read(w, buf, text, (size_t)len);
	if (rc)
		return rc;
	/* a counted string: every unit is the guest's, NULs included */
	guest_text(out, outlen, text, (size_t)len, true, cut);
	return 0;
}

const char *win_state_name(const struct win *w, int state, char *buf,
			   size_t len)
{
	if (state >= 0 && state < WIN_MAX_STATES && w->L.state_name[state][0])
		return w->L.state_name[state];
	snprintf(buf, len, "State%d", state);
	return buf;
}

/* ---- processors ---- */

/* A KPCR candidate holds its own address in Self and points CurrentPrcb
 * at its embedded KPRCB, where the table has those members. */
static bool kpcr_ok(struct win *w, uint64_t kpcr, uint64_t *kprcb)
{
	const struct win_layout *L = &w->L;
	uint64_t v;

	if (!win_kptr_ok(w, kpcr & ~7ull) || (kpcr & 7))
		return false;
	if (L->pcr_self.size == 8 &&
	    (win_read_ptr(w, kpcr + L->pcr_self.off, &v) || v != kpcr))
		return false;
	if (L->pcr_current_prcb.size == 8) {
		if (win_read_ptr(w, kpcr + L->pcr_current_prcb.off, &v) ||
		    !win_kptr_ok(w, v))
			return false;
		if (L->pcr_prcb.size && v != kpcr + L->pcr_prcb.off)
			return false;
		*kprcb = v;
	} else {
		*kprcb = kpcr + L->pcr_prcb.off;
	}
	/* a KPRCB's current thread is always set */
	return !win_read_ptr(w, *kprcb + L->prcb_current.off, &v) &&
	       win_kptr_ok(w, v);
}

static int prcb_number(struct win *w, uint64_t kprcb)
{
	uint8_t b[4];

	if (w->L.prcb_number.size < 1 || w->L.prcb_number.size > 4 ||
	    win_read(w, kprcb + w->L.prcb_number.off, b, w->L.prcb_number.size))
		return -1;
	return (int)get_le(b, w->L.prcb_number.size);
}

static void read_processor_block(struct win *w)
{
	uint32_t n = 0;
	unsigned i;

	free(w->prcbs);
	w->prcbs = NULL;
	w->nprcbs = 0;
	if (!w->S.prcb_block)
		return;
	if (w->S.nprocs) {
		uint8_t b[4];

		if (!win_read(w, w->S.nprocs, b, 4)) {
			n = (uint32_t)get_le(b, 4);
			/* a CCHAR in older kernels: what follows is not ours */
			if (n > WIN_MAX_CPUS)
				n = b[0];
		}
	}
	if (!n || n > WIN_MAX_CPUS)
		n = w->base.env.nr_vcpus;
	w->prcbs = xcalloc(n ? n : 1, sizeof(*w->prcbs));
	for (i = 0; i < n; i++) {
		uint64_t p, cur;
		int num;

		if (win_read_ptr(w, w->S.prcb_block + 8ull * i, &p) || !p)
			break;
		if (!win_kptr_ok(w, p) ||
		    win_read_ptr(w, p + w->L.prcb_current.off, &cur) ||
		    !win_kptr_ok(w, cur)) {
			log_warn(LC_OS, "windows: KiProcessorBlock[%u] = 0x%" PRIx64
				 " is not a processor block; %u processors listed",
				 i, p, i);
			break;
		}
		num = prcb_number(w, p);
		if (num >= 0 && (unsigned)num != i) {
			log_warn(LC_OS, "windows: KiProcessorBlock[%u] says it is processor %d; %u processors listed",
				 i, num, i);
			break;
		}
		w->prcbs[w->nprcbs++] = p;
	}
}

void win_match_vcpus(struct win *w)
{
	const struct win_layout *L = &w->L;
	unsigned v;

	for (v = 0; v < w->base.env.nr_vcpus; v++) {
		struct win_cpu *c = &w->vcpu[v];
		struct x86_regs r;
		uint64_t cand[2], kprcb = 0;
		const char *src[2];
		unsigned i, n = 0;

		memset(c, 0, sizeof(*c));
		c->number = -1;
		memset(&r, 0, sizeof(r));
		if (w->base.env.vcpu_regs(w->base.env.ctx, v, &r))
			continue;
		/* in user mode GS holds the TEB and the kernel's GS base
		 * waits in IA32_KERNEL_GS_BASE for swapgs */
		if (x86_cpl(&r) == 0) {
			if (x86_valid(&r, XF_SEGCACHE0 + X86_GS)) {
				src[n] = "GS base";
				cand[n++] = r.seg[X86_GS].base;
			}
			if (x86_valid(&r, XF_KGSBASE)) {
				src[n] = "IA32_KERNEL_GS_BASE";
				cand[n++] = r.k_gs_base;
			}
		} else {
			if (x86_valid(&r, XF_KGSBASE)) {
				src[n] = "IA32_KERNEL_GS_BASE, the vCPU being in user mode";
				cand[n++] = r.k_gs_base;
			}
			if (x86_valid(&r, XF_SEGCACHE0 + X86_GS)) {
				src[n] = "GS base";
				cand[n++] = r.seg[X86_GS].base;
			}
		}
		for (i = 0; i < n; i++) {
			if (!kpcr_ok(w, cand[i], &kprcb))
				continue;
			c->ok = true;
			c->kpcr = cand[i];
			c->kprcb = kprcb;
			c->kpcr_src = src[i];
			break;
		}
		if (!c->ok)
			continue;
		if (win_read_ptr(w, kprcb + L->prcb_current.off, &c->current) ||
		    !win_kptr_ok(w, c->current))
			c->current = 0;
		if (L->prcb_idle.size == 8 &&
		    (win_read_ptr(w, kprcb + L->prcb_idle.off, &c->idle) ||
		     !win_kptr_ok(w, c->idle)))
			c->idle = 0;
		c->number = prcb_number(w, kprcb);
		if (!w->have_kcs && x86_cpl(&r) == 0 &&
		    x86_valid(&r, XF_SEL0 + X86_CS) &&
		    x86_valid(&r, XF_SEL0 + X86_SS)) {
			w->kernel_cs = r.seg[X86_CS].sel;
			w->kernel_ss = r.seg[X86_SS].sel;
			w->have_kcs = true;
		}
	}
	read_processor_block(w);
}

/* ---- the walk ---- */


/* The second pointer of a LIST_ENTRY (Blink). */
static uint64_t sget_blink(const struct os_span *s, struct os_field f)
{
	struct os_field b = { f.off + 8, 8 };

	return f.size >= 16 ? os_span_get(s, b) : 0;
}

struct walk {
	struct win *w;
	struct os_task *tasks;
	struct win_thread *tp;
	size_t n, cap;
	struct win_proc *procs;
	size_t nprocs, pcap;
	struct addrmap seen;		/* list nodes and objects visited */
	struct os_tids tids;		/* gdb thread ids given */
	struct os_span ep, et;
	unsigned warnings;
	unsigned fallbacks;		/* threads given a fallback id */
	bool stop;
};

static void warn(struct walk *k, const char *what, uint64_t addr)
{
	k->warnings++;
	if (k->warnings <= 8)
		log_warn(LC_OS, "windows: %s at 0x%" PRIx64 "; the list ends there (%zu processes, %zu threads found so far)",
			 what, addr, k->nprocs, k->n);
}

static int read_ethread(struct walk *k, uint64_t ethread)
{
	return os_span_read(&k->et, k->w->base.env.mem, &k->w->kas, ethread,
			    &k->w->reads);
}

static void thread_name(struct walk *k, struct os_task *o)
{
	const struct win_layout *L = &k->w->L;
	uint64_t p = os_span_get(&k->et, L->thread_name);
	char name[sizeof(o->name)];

	/* ThreadName (Windows 10 1607 and later) points to a
	 * UNICODE_STRING when the thread was given a name */
	if (!L->thread_name.size || !p)
		return;
	if (!win_kptr_ok(k->w, p) || win_read_unicode(k->w, p, name, sizeof(name)))
		return;
	if (name[0])
		snprintf(o->name, sizeof(o->name), "%s", name);
}

/* Gives the thread being added (index k->n) its gdb thread id: its
 * TID's, its processor's for an idle thread, or a fallback id with a
 * note and a warning (the first few of a walk) when that is impossible
 * or taken. tid is Cid.UniqueThread as stored. */
static void give_tid(struct walk *k, struct os_task *o, uint64_t tid,
		     int idle_cpu)
{
	uint64_t want = idle_cpu >= 0 ? os_tid_idle(idle_cpu) :
			os_tid_of(tid > WIN_TID_MAX ? 0 : (int64_t)tid, WIN_TID_MAX);
	uint32_t holder;
	enum os_tid_kind kind = os_tids_give(&k->tids, want,
					     (uint32_t)(k->n + 1), &o->tid,
					     &holder);
	const char *what = idle_cpu >= 0 ? "processor number" : "TID";

	if (kind == OS_TID_OK)
		return;
	o->note = idle_cpu >= 0 ? (kind == OS_TID_TAKEN ? "duplicate processor" :
							 "impossible processor") :
		  kind == OS_TID_TAKEN ? "duplicate TID" : "impossible TID";
	if (++k->fallbacks > 8)
		return;
	if (kind == OS_TID_TAKEN)
		log_warn(LC_OS, "windows: thread 0x%" PRIx64 " of %s has %s %" PRIu64 ", which thread 0x%" PRIx64 " has too: shown as thread %" PRIu64,
			 o->addr, o->proc_name, what,
			 idle_cpu >= 0 ? (uint64_t)idle_cpu : tid,
			 k->tasks[holder - 1].addr, o->tid);
	else
		log_warn(LC_OS, "windows: thread 0x%" PRIx64 " of %s has %s %" PRIu64 " (0x%" PRIx64 "), which no thread can have: shown as thread %" PRIu64,
			 o->addr, o->proc_name, what,
			 idle_cpu >= 0 ? (uint64_t)idle_cpu : tid,
			 idle_cpu >= 0 ? (uint64_t)idle_cpu : tid, o->tid);
}

/* Adds the thread whose ETHREAD span is in k->et; proc_name is display
 * text. */
static void add_thread(struct walk *k, uint64_t ethread, int proc,
		       int idle_cpu, const char *proc_name)
{
	const struct win_layout *L = &k->w->L;
	struct os_task *o;
	struct win_thread *p;
	char sbuf[16];

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 256;
		k->tasks = xrealloc(k->tasks, st_mult(k->cap, sizeof(*k->tasks)));
		k->tp = xrealloc(k->tp, st_mult(k->cap, sizeof(*k->tp)));
	}
	o = &k->tasks[k->n];
	p = &k->tp[k->n];
	memset(o, 0, sizeof(*o));
	memset(p, 0, sizeof(*p));
	o->addr = ethread;
	o->is_idle = idle_cpu >= 0;
	o->pid = proc >= 0 ? k->procs[proc].pid : (int64_t)os_span_get(&k->et, L->cid_pid);
	o->thread_id = o->is_idle ? 0 : (int64_t)os_span_get(&k->et, L->cid_tid);
	snprintf(o->proc_name, sizeof(o->proc_name), "%s", proc_name);
	snprintf(o->name, sizeof(o->name), "%s", proc_name);
	thread_name(k, o);
	give_tid(k, o, o->is_idle ? 0 : os_span_get(&k->et, L->cid_tid),
		 idle_cpu);
	p->state = (int)os_span_get(&k->et, L->state);
	snprintf(o->state, sizeof(o->state), "%s",
		 win_state_name(k->w, p->state, sbuf, sizeof(sbuf)));
	o->vcpu = -1;
	p->kernel_stack = os_span_get(&k->et, L->kernel_stack);
	p->stack_base = os_span_get(&k->et, L->stack_base);
	p->stack_limit = os_span_get(&k->et, L->stack_limit);
	p->teb = os_span_get(&k->et, L->teb);
	p->proc = proc;
	o->kernel_thread = o->is_idle || (L->teb.size ? !p->teb :
					  o->pid == 4 || o->pid == 0);
	addrmap_put(&k->seen, ethread, (uint32_t)(k->n + 1));
	if (proc >= 0)
		k->procs[proc].nthreads++;
	k->n++;
}

/* ImageFileName (15 bytes, NUL-terminated or not) as display text. */
static void image_name(char *out, size_t len, const uint8_t *raw, size_t n)
{
	guest_text(out, len, raw, strnlen((const char *)raw, n), false, false);
}

/* The name of the process a thread (in k->et) belongs to, through its
 * KPROCESS pointer; dflt when it cannot be read. */
static void owner_name(struct walk *k, char *name, size_t len,
		       const char *dflt)
{
	const struct win_layout *L = &k->w->L;
	uint64_t proc = os_span_get(&k->et, L->process);
	size_t n = L->image_name.size < 15 ? L->image_name.size : 15;
	uint8_t buf[16];

	snprintf(name, len, "%s", dflt);
	if (!L->process.size || !win_kptr_ok(k->w, proc) ||
	    win_read(k->w, proc + L->image_name.off, buf, n))
		return;
	if (n && buf[0])
		image_name(name, len, buf, n);
}

static void add_idle(struct walk *k, uint64_t thread, int cpu)
{
	char name[OS_NAME_LEN];

	if (!thread || addrmap_get(&k->seen, thread))
		return;
	if (!win_kptr_ok(k->w, thread) || read_ethread(k, thread)) {
		warn(k, "an unreadable idle thread", thread);
		return;
	}
	owner_name(k, name, sizeof(name), "Idle");
	add_thread(k, thread, -1, cpu, name);
}

static void idle_threads(struct walk *k)
{
	struct win *w = k->w;
	unsigned i, v;

	for (i = 0; i < w->nprcbs && !k->stop; i++) {
		uint64_t idle;

		if (!w->L.prcb_idle.size ||
		    win_read_ptr(w, w->prcbs[i] + w->L.prcb_idle.off, &idle))
			continue;
		add_idle(k, idle, (int)i);
	}
	/* processors the vCPUs found that KiProcessorBlock did not list */
	for (v = 0; v < w->base.env.nr_vcpus; v++) {
		const struct win_cpu *c = &w->vcpu[v];

		if (c->ok && c->idle)
			add_idle(k, c->idle, c->number >= 0 ? c->number : (int)v);
	}
}

static int add_proc(struct walk *k, uint64_t eprocess)
{
	const struct win_layout *L = &k->w->L;
	struct win_proc *p;
	size_t nl = L->image_name.size < 15 ? L->image_name.size : 15;

	if (k->nprocs == k->pcap) {
		k->pcap = k->pcap ? k->pcap * 2 : 64;
		k->procs = xrealloc(k->procs, st_mult(k->pcap, sizeof(*k->procs)));
	}
	p = &k->procs[k->nprocs];
	memset(p, 0, sizeof(*p));
	p->addr = eprocess;
	p->pid = (int64_t)os_span_get(&k->ep, L->pid);
	p->ppid = L->ppid.size ? (int64_t)os_span_get(&k->ep, L->ppid) : -1;
	image_name(p->name, sizeof(p->name), os_span_ptr(&k->ep, L->image_name),
		   nl);
	p->dtb = os_span_get(&k->ep, L->dtb);
	p->user_dtb = os_span_get(&k->ep, L->user_dtb);
	p->peb = os_span_get(&k->ep, L->peb);
	return (int)k->nprocs++;
}

/* Walks one process's thread list: head is the list head in the
 * EPROCESS, first its Flink (already read). */
static void process_threads(struct walk *k, int proc, uint64_t head,
			    uint64_t first)
{
	const struct win_layout *L = &k->w->L;
	uint64_t prev = head, node = first;
	unsigned count = 0;
	char name[OS_NAME_LEN];

	snprintf(name, sizeof(name), "%s", k->procs[proc].name);
	while (node != head && !k->stop) {
		uint64_t ethread = node - L->thread_entry.off;

		if (++count > WIN_MAX_TASKS || k->n >= WIN_MAX_TASKS) {
			warn(k, "a thread list longer than the bound", head);
			k->stop = true;
			return;
		}
		if (!win_kptr_ok(k->w, node)) {
			warn(k, "a bad pointer in a thread list", node);
			return;
		}
		if (addrmap_get(&k->seen, ethread)) {
			warn(k, "a loop in a thread list", node);
			return;
		}
		if (read_ethread(k, ethread)) {
			warn(k, "an unreadable thread", ethread);
			return;
		}
		if (sget_blink(&k->et, L->thread_entry) != prev) {
			warn(k, "a broken back-link in a thread list", node);
			return;
		}
		if ((int64_t)os_span_get(&k->et, L->cid_pid) != k->procs[proc].pid) {
			warn(k, "a thread of another process in a thread list",
			     ethread);
			return;
		}
		/* an impossible or duplicate TID gets a fallback id */
		add_thread(k, ethread, proc, -1, name);
		prev = node;
		node = get_le(os_span_ptr(&k->et, L->thread_entry), 8);
	}
}

static void processes(struct walk *k)
{
	struct win *w = k->w;
	const struct win_layout *L = &w->L;
	uint64_t head = w->S.active_head, prev = head, node;
	unsigned count = 0;

	if (win_read_ptr(w, head, &node)) {
		warn(k, "an unreadable PsActiveProcessHead", head);
		return;
	}
	while (node != head && !k->stop) {
		uint64_t eprocess = node - L->links.off;
		int proc;

		if (++count > WIN_MAX_PROCS) {
			warn(k, "a process list longer than the bound", head);
			return;
		}
		if (!win_kptr_ok(k->w, node)) {
			warn(k, "a bad pointer in the process list", node);
			return;
		}
		if (addrmap_get(&k->seen, eprocess)) {
			warn(k, "a loop in the process list", node);
			return;
		}
		if (os_span_read(&k->ep, w->base.env.mem, &w->kas, eprocess,
				 &w->reads)) {
			warn(k, "an unreadable process", eprocess);
			return;
		}
		if (sget_blink(&k->ep, L->links) != prev) {
			warn(k, "a broken back-link in the process list", node);
			return;
		}
		addrmap_put(&k->seen, eprocess, UINT32_MAX);
		proc = add_proc(k, eprocess);
		process_threads(k, proc, eprocess + L->thread_head.off,
				os_span_get(&k->ep, L->thread_head));
		prev = node;
		node = os_span_get(&k->ep, L->links);
	}
}

void win_tasks_release(struct win *w)
{
	free(w->base.tasks);
	free(w->tp);
	free(w->procs);
	w->base.tasks = NULL;
	w->tp = NULL;
	w->procs = NULL;
	w->base.ntasks = 0;
	w->nprocs = 0;
}

int win_walk(struct win *w)
{
	const struct win_layout *L = &w->L;
	const struct os_field *ef[] = {
		&L->pid, &L->ppid, &L->links, &L->image_name, &L->thread_head,
		&L->dtb, &L->user_dtb, &L->peb,
	};
	const struct os_field *tf[] = {
		&L->cid_pid, &L->cid_tid, &L->thread_entry, &L->thread_name,
		&L->state, &L->kernel_stack, &L->initial_stack, &L->stack_base,
		&L->stack_limit, &L->teb, &L->process,
	};
	struct timespec t0, t1;
	uint64_t reads0 = w->reads;
	struct walk k;
	unsigned v;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&k, 0, sizeof(k));
	k.w = w;
	os_span_init(&k.ep, ef, sizeof(ef) / sizeof(ef[0]));
	os_span_init(&k.et, tf, sizeof(tf) / sizeof(tf[0]));
	win_match_vcpus(w);
	idle_threads(&k);
	processes(&k);

	/* the threads the vCPUs run, found through their KPRCBs */
	for (v = 0; v < w->base.env.nr_vcpus; v++) {
		uint64_t cur = w->vcpu[v].ok ? w->vcpu[v].current : 0;
		uint32_t n = cur ? addrmap_get(&k.seen, cur) : 0;

		if (!n && cur && !k.stop && !read_ethread(&k, cur)) {
			/* not on any list (exiting, or a corrupt list) */
			char name[OS_NAME_LEN];

			owner_name(&k, name, sizeof(name), "?");
			add_thread(&k, cur, -1, -1, name);
			n = (uint32_t)k.n;
		}
		if (n && n != UINT32_MAX)
			k.tasks[n - 1].vcpu = (int)v;
	}

	win_tasks_release(w);
	w->base.tasks = k.tasks;
	w->tp = k.tp;
	w->base.ntasks = k.n;
	w->procs = k.procs;
	w->nprocs = k.nprocs;
	memset(&w->last, 0, sizeof(w->last));
	for (i = 0; i < k.n; i++) {
		if (k.tasks[i].is_idle)
			w->last.idle++;
		else
			w->last.threads++;
	}
	w->last.processes = (unsigned)k.nprocs;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w->last.ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	w->last.reads = w->reads - reads0;
	w->last.warnings = k.warnings;
	w->last.fallback_ids = k.fallbacks;
	if (k.fallbacks > 8)
		log_warn(LC_OS, "windows: %u more threads with impossible or duplicate ids have fallback thread ids",
			 k.fallbacks - 8);
	log_dbg(LC_OS, "windows: %zu processes, %zu threads in %.3f ms (%" PRIu64 " guest reads)",
		k.nprocs, k.n, w->last.ms, w->last.reads);
	os_span_free(&k.ep);
	os_span_free(&k.et);
	addrmap_free(&k.seen);
	os_tids_free(&k.tids);
	return 0;
}

const struct win_thread *win_task_priv(const struct win *w,
				       const struct os_task *t)
{
	if (!w->base.ntasks || t < w->base.tasks ||
	    t >= w->base.tasks + w->base.ntasks)
		return NULL;
	return &w->tp[t - w->base.tasks];
}

int win_task_regs(struct win *w, const struct os_task *t, struct x86_regs *r)
{
	const struct win_thread *p = win_task_priv(w, t);
	const struct win_layout *L = &w->L;
	uint8_t frame[512];
	int rc;

	if (!p)
		return -ESRCH;
	if (!win_kptr_ok(w, p->kernel_stack) || L->frame_size > sizeof(frame))
		return -ENODATA;
	rc = win_read(w, p->kernel_stack, frame, L->frame_size);
	if (rc)
		return rc;
	if (w->have_kcs) {
		r->seg[X86_CS].sel = w->kernel_cs;
		r->seg[X86_SS].sel = w->kernel_ss;
		x86_set_valid(r, XF_SEL0 + X86_CS);
		x86_set_valid(r, XF_SEL0 + X86_SS);
	}
	r->rip = get_le(frame + L->frame_ret, 8);
	x86_set_valid(r, XF_RIP);
	if (L->frame_rbp >= 0) {
		r->gpr[X86_RBP] = get_le(frame + L->frame_rbp, 8);
		x86_set_valid(r, XF_GPR0 + X86_RBP);
	}
	r->gpr[X86_RSP] = p->kernel_stack + L->frame_size;
	x86_set_valid(r, XF_GPR0 + X86_RSP);
	return 0;
}

/*
 * A process's page-table root, checked as the processor would have it in
 * CR3: no reserved bit (52..62; the low twelve are PCID or ignored) and
 * a root frame the guest has. 0, or -EFAULT with why.
 */
static int dtb_root(struct win *w, const char *which, uint64_t dtb,
		    uint64_t *root, struct strbuf *why)
{
	uint64_t pa = x86_cr3_root(w->kas.mode, dtb);
	uint8_t b[8];

	if ((dtb & 0x7ff0000000000000ull) || !pa) {
		strbuf_addf(why, "its process's %s 0x%" PRIx64 " is not a page-table root",
			    which, dtb);
		return -EFAULT;
	}
	if (vmem_read_phys(w->base.env.mem, pa, b, sizeof(b), NULL)) {
		strbuf_addf(why, "its process's %s 0x%" PRIx64 " is at physical 0x%" PRIx64
			    ", which is not in the guest's memory", which, dtb, pa);
		return -EFAULT;
	}
	*root = pa;
	return 0;
}

int win_task_aspace(struct win *w, const struct os_task *t, struct aspace *as,
		    struct strbuf *why)
{
	struct win_thread *p = (struct win_thread *)win_task_priv(w, t);
	const struct win_proc *pr;
	struct strbuf msg = STRBUF_INIT;
	uint64_t dtb;
	int rc;

	if (!p) {
		if (why)
			strbuf_addstr(why, "not a thread of the last walk");
		return -ESRCH;
	}
	if (p->proc < 0) {
		*as = w->kas; /* idle threads run on the kernel's tables */
		return 0;
	}
	pr = &w->procs[p->proc];
	/* with KVA shadowing the kernel-mode tables map user space too; the
	 * user-mode copy serves only when the kernel-mode one is missing */
	if (!(pr->dtb & ~0xfffull) && x86_cr3_root(w->kas.mode, pr->user_dtb))
		rc = dtb_root(w, "UserDirectoryTableBase", pr->user_dtb, &dtb, &msg);
	else
		rc = dtb_root(w, "DirectoryTableBase", pr->dtb, &dtb, &msg);
	if (rc) {
		/* never another process's tables: nothing is read */
		if (!p->aspace_warned)
			log_warn(LC_OS, "windows: the address space of thread %" PRId64 " of %s (pid %" PRId64 ") cannot be used: %s; its memory is not read",
				 t->thread_id, pr->name, pr->pid, msg.buf);
		p->aspace_warned = true;
		if (why)
			strbuf_addf(why, "the address space of thread %" PRId64 " of %s (pid %" PRId64 ") cannot be used: %s",
				    t->thread_id, pr->name, pr->pid, msg.buf);
		strbuf_release(&msg);
		return rc;
	}
	as->phys = false;
	as->mode = w->kas.mode;
	as->cr3 = dtb;
	return 0;
}

/* ---- loaded drivers ---- */

void win_list_modules(struct win *w, struct strbuf *out)
{
	const struct win_layout *L = &w->L;
	const struct os_field *mf[] = {
		&L->ldr_links, &L->ldr_base, &L->ldr_size, &L->ldr_name,
		&L->ldr_path,
	};
	uint64_t head = w->S.module_list, prev, node;
	struct addrmap seen = ADDRMAP_INIT;
	struct os_span s;
	unsigned count = 0;

	if (!head || L->ldr_links.size < 16 || !L->ldr_base.size ||
	    !L->ldr_name.size) {
		strbuf_addf(out, "lm: the symbol table has no PsLoadedModuleList or %s: no driver list\n",
			    L->ldr_type);
		return;
	}
	if (win_read_ptr(w, head, &node)) {
		strbuf_addf(out, "lm: PsLoadedModuleList at 0x%" PRIx64 " cannot be read\n",
			    head);
		return;
	}
	os_span_init(&s, mf, sizeof(mf) / sizeof(mf[0]));
	strbuf_addf(out, "%-18s %-10s %-20s %s\n", "Base", "Size", "Name", "Path");
	prev = head;
	while (node != head) {
		uint64_t entry = node - L->ldr_links.off, base;
		char name[64], path[256];
		const char *bad = NULL;

		if (++count > WIN_MAX_MODULES)
			bad = "a driver list longer than the bound";
		else if (!win_kptr_ok(w, node))
			bad = "a bad pointer in the driver list";
		else if (addrmap_get(&seen, node))
			bad = "a loop in the driver list";
		else if (os_span_read(&s, w->base.env.mem, &w->kas, entry,
				      &w->reads))
			bad = "an unreadable driver entry";
		else if (sget_blink(&s, L->ldr_links) != prev)
			bad = "a broken back-link in the driver list";
		if (bad) {
			log_warn(LC_OS, "windows: %s at 0x%" PRIx64 "; %u drivers listed",
				 bad, node, count - 1);
			strbuf_addf(out, "warning: %s at 0x%" PRIx64 ": the list ends here\n",
				    bad, node);
			break;
		}
		addrmap_put(&seen, node, 1);
		base = os_span_get(&s, L->ldr_base);
		if (win_read_unicode(w, entry + L->ldr_name.off, name, sizeof(name)))
			snprintf(name, sizeof(name), "?");
		if (!L->ldr_path.size ||
		    win_read_unicode(w, entry + L->ldr_path.off, path, sizeof(path)))
			path[0] = 0;
		strbuf_addf(out, "0x%016" PRIx64 " 0x%08" PRIx64 " %-20s %s\n", base,
			    os_span_get(&s, L->ldr_size), name, path);
		prev = node;
		node = os_span_get(&s, L->ldr_links);
	}
	strbuf_addf(out, "%u drivers\n", count - (node == head ? 0 : 1));
	os_span_free(&s);
	addrmap_free(&seen);
}
