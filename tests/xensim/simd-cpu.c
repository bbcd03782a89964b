// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The simulated CPU: executes a vCPU's scripted workload one instruction
 * per quantum, through the guest's page tables and the p2m access of the
 * vCPU's view, and turns what happens into what Xen 4.17 on VT-x or SVM
 * would do: EPT violations into mem_access events
 * (hvm_hap_nested_page_fault, p2m_mem_access_check), int3 into
 * software-breakpoint events (vmx/svm #BP intercepts, hvm_monitor_debug),
 * the monitor trap flag into single-step events, EFLAGS.TF and DR0-3 into
 * #DB and debug-exception events, and the work hvm_do_resume does before
 * re-entering the guest (vm_event register writes, emulation, injected
 * events).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/base/num.h"
#include "tests/xensim/simd.h"

#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_NT (1ull << 14)
#define RFLAGS_RF (1ull << 16)
#define DR6_BASE 0xffff0ff0ull
#define DR6_BS (1ull << 14)
#define X86_EVENTTYPE_HW_EXCEPTION_ 3
#define X86_EVENTTYPE_SW_INTERRUPT_ 4
#define X86_EVENTTYPE_PRI_SW_EXCEPTION_ 5
#define X86_EVENTTYPE_SW_EXCEPTION_ 6

/* ---- registers by name ---- */

static const struct {
	const char *name;
	size_t off;
} reg_table[] = {
#define R(n, f) { n, offsetof(struct hvm_hw_cpu, f) }
	R("rax", rax), R("rbx", rbx), R("rcx", rcx), R("rdx", rdx),
	R("rbp", rbp), R("rsi", rsi), R("rdi", rdi), R("rsp", rsp),
	R("r8", r8), R("r9", r9), R("r10", r10), R("r11", r11),
	R("r12", r12), R("r13", r13), R("r14", r14), R("r15", r15),
	R("rip", rip), R("rflags", rflags),
	R("cr0", cr0), R("cr2", cr2), R("cr3", cr3), R("cr4", cr4),
	R("dr0", dr0), R("dr1", dr1), R("dr2", dr2), R("dr3", dr3),
	R("dr6", dr6), R("dr7", dr7), R("efer", msr_efer),
	R("cs_base", cs_base), R("ds_base", ds_base), R("es_base", es_base),
	R("fs_base", fs_base), R("gs_base", gs_base), R("ss_base", ss_base),
	R("shadow_gs", shadow_gs), R("gdtr_base", gdtr_base),
	R("idtr_base", idtr_base), R("sysenter_cs", sysenter_cs),
	R("sysenter_esp", sysenter_esp), R("sysenter_eip", sysenter_eip),
	R("star", msr_star), R("lstar", msr_lstar), R("cstar", msr_cstar),
	R("sfmask", msr_syscall_mask), R("tsc", tsc),
#undef R
};

int sim_reg_count(void)
{
	return (int)(sizeof(reg_table) / sizeof(reg_table[0]));
}

int sim_reg_index(const char *name)
{
	int i;

	for (i = 0; i < sim_reg_count(); i++)
		if (!strcmp(reg_table[i].name, name))
			return i;
	return -1;
}

const char *sim_reg_name(int i)
{
	return reg_table[i].name;
}

uint64_t *sim_reg_ptr(struct hvm_hw_cpu *r, int i)
{
	return (uint64_t *)((uint8_t *)r + reg_table[i].off);
}

/* ---- state ---- */

static bool held(const struct sim_vcpu *v)
{
	return v->vm_event_pause || v->waiting_slot || v->ring_blocked;
}

bool sim_vcpu_runnable(const struct sim_vcpu *v)
{
	return v->online && !sim_domain_paused(v->d) && !held(v) &&
	       v->wl.n && v->wl_running && !v->halted && !v->fault &&
	       v->budget;
}

static void stop_fault(struct sim_vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void stop_fault(struct sim_vcpu *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(v->fault);
	v->fault = xstrvfmt(fmt, ap);
	va_end(ap);
	log_warn(LC_TRAP, "d%uv%u: workload stopped: %s", v->d->domid, v->id,
		 v->fault);
	sim_update_timer(v->d->sim);
}

static void crash(struct sim_vcpu *v, const char *why)
{
	log_warn(LC_TRAP, "d%uv%u: domain_crash: %s", v->d->domid, v->id, why);
	sim_domain_shutdown(v->d, SHUTDOWN_crash, why);
}

static unsigned cpl(const struct hvm_hw_cpu *r)
{
	return (r->ss_arbytes >> 5) & 3;
}

/* ---- memory and permissions ---- */

/* The access of gfn in the vCPU's p2m; in an altp2m view a missing entry
 * is first copied from the host (p2m_altp2m_get_or_propagate). */
static uint8_t frame_access(struct sim_vcpu *v, uint64_t gfn)
{
	struct sim_domain *d = v->d;

	if (gfn >= d->p2m_size)
		return XENMEM_access_rwx;
	if (d->altp2m_active && d->view[v->altp2m_idx].exists) {
		struct sim_view *w = &d->view[v->altp2m_idx];

		if (w->acc[gfn] == SIM_ACC_ABSENT)
			w->acc[gfn] = d->host_acc[gfn];
		return w->acc[gfn];
	}
	return d->host_acc[gfn];
}

/* The switch in hvm_hap_nested_page_fault. */
static bool violates(uint8_t a, unsigned need)
{
	switch (a) {
	case XENMEM_access_r:
		return need & (MEM_ACCESS_W | MEM_ACCESS_X);
	case XENMEM_access_w:
		return need & (MEM_ACCESS_R | MEM_ACCESS_X);
	case XENMEM_access_x:
		return need & (MEM_ACCESS_R | MEM_ACCESS_W);
	case XENMEM_access_rx:
	case XENMEM_access_rx2rw:
		return need & MEM_ACCESS_W;
	case XENMEM_access_wx:
		return need & MEM_ACCESS_R;
	case XENMEM_access_rw:
		return need & MEM_ACCESS_X;
	case XENMEM_access_rwx:
		return false;
	default:
		return need != 0;
	}
}

/* EPT cannot express write without read: such an entry is an EPT
 * misconfiguration, which ept_handle_misconfig cannot resolve. */
static bool misconfigured(uint8_t a)
{
	return a == XENMEM_access_w || a == XENMEM_access_wx;
}

enum vres { V_RETRY, V_STOP, V_NOGPT };
enum npfec_kind { KIND_WITH_GLA, KIND_IN_GPT };

/* p2m_mem_access_check and what hvm_hap_nested_page_fault does with it. */
static enum vres handle_violation(struct sim_vcpu *v, uint64_t gfn,
				  unsigned need, uint64_t gla,
				  enum npfec_kind kind, uint64_t offset)
{
	struct sim_domain *d = v->d;
	uint8_t a = frame_access(v, gfn);
	vm_event_request_t req;
	bool sync;

	if ((need & MEM_ACCESS_W) && a == XENMEM_access_rx2rw) {
		sim_set_current_access(v, gfn, XENMEM_access_rw);
		return V_RETRY;
	}
	if (a == XENMEM_access_n2rwx)
		sim_set_current_access(v, gfn, XENMEM_access_rwx);
	if (!d->ring) {
		if (d->access_required) {
			crash(v, "memory access permissions failure, no vm_event listener");
			return V_STOP;
		}
		if (a != XENMEM_access_n2rwx)
			sim_set_current_access(v, gfn, XENMEM_access_rwx);
		log_dbg(LC_TRAP, "d%uv%u: gfn 0x%" PRIx64 " reset to rwx: no listener",
			d->domid, v->id, gfn);
		return V_RETRY;
	}
	if (d->mon.inguest_pagefault_disabled && kind == KIND_IN_GPT)
		return V_NOGPT;
	memset(&req, 0, sizeof(req));
	req.reason = VM_EVENT_REASON_MEM_ACCESS;
	req.u.mem_access.gfn = gfn;
	req.u.mem_access.offset = offset & (SIM_PAGE_SIZE - 1);
	req.u.mem_access.gla = gla;
	req.u.mem_access.flags = MEM_ACCESS_GLA_VALID |
		(kind == KIND_IN_GPT ? MEM_ACCESS_FAULT_IN_GPT
				     : MEM_ACCESS_FAULT_WITH_GLA) |
		(need & MEM_ACCESS_RWX);
	sync = a != XENMEM_access_n2rwx;
	switch (sim_monitor_traps(v, sync, &req, CONT_NONE)) {
	case TRAP_ASYNC:
	case TRAP_NO_RING:
		return V_RETRY;
	default:
		return V_STOP;
	}
}

/* Checks one access to a frame the vCPU reached. 0, or V_STOP. */
static int check_frame(struct sim_vcpu *v, uint64_t gfn, unsigned need,
		       uint64_t gla, uint64_t gpa)
{
	unsigned tries;

	if (!sim_gfn_populated(v->d, gfn)) {
		stop_fault(v, "access to guest-physical 0x%" PRIx64
			   ", which is not populated", gpa);
		return V_STOP;
	}
	for (tries = 0; tries < 4; tries++) {
		uint8_t a = frame_access(v, gfn);

		if (misconfigured(a)) {
			crash(v, "EPT misconfiguration: a write-only (w or wx) access entry");
			return V_STOP;
		}
		if (!violates(a, need))
			return 0;
		if (handle_violation(v, gfn, need, gla, KIND_WITH_GLA, gpa) !=
		    V_RETRY)
			return V_STOP;
	}
	stop_fault(v, "access to gfn 0x%" PRIx64 " keeps faulting", gfn);
	return V_STOP;
}

struct walk_ctx {
	struct sim_vcpu *v;
	bool check;
	bool violated;
	bool misconfig;
	bool missing;
	uint64_t gpa;
};

/* A page-table read of the simulated CPU: the frame must be populated
 * and, when checked, readable in the vCPU's p2m (EPT). */
static int walk_read(void *opaque, uint64_t gpa, unsigned size,
		     uint64_t *entry)
{
	struct walk_ctx *w = opaque;
	uint64_t gfn = gpa >> SIM_PAGE_SHIFT;
	uint8_t *p = sim_gfn_ptr(w->v->d, gfn);

	w->gpa = gpa;
	if (!p) {
		w->missing = true;
		return -ENXIO;
	}
	if (w->check) {
		uint8_t a = frame_access(w->v, gfn);

		if (misconfigured(a)) {
			w->misconfig = true;
			return -EACCES;
		}
		if (violates(a, MEM_ACCESS_R)) {
			w->violated = true;
			return -EACCES;
		}
	}
	*entry = get_le(p + (gpa & (SIM_PAGE_SIZE - 1)), size);
	return 0;
}

/* What the vCPU's walks depend on: its control registers and the CPU. */
static void vcpu_mmu(const struct sim_vcpu *v, struct sim_mmu *m)
{
	m->cr0 = v->r.cr0;
	m->cr3 = v->r.cr3;
	m->cr4 = v->r.cr4;
	m->efer = v->r.msr_efer;
	m->maxphyaddr = SIM_MAXPHYSADDR;
	m->amd = v->d->vendor == SIM_AMD;
}

int sim_gva_to_gfn(struct sim_vcpu *v, uint64_t va, uint64_t *gfn)
{
	struct walk_ctx w = { .v = v };
	struct sim_walk out;
	struct sim_mmu m;
	int rc;

	vcpu_mmu(v, &m);
	rc = sim_walk(&m, va, walk_read, &w, &out);
	if (rc)
		return rc;
	*gfn = out.gpa >> SIM_PAGE_SHIFT;
	return 0;
}

static uint64_t gfn_of_rip(struct sim_vcpu *v)
{
	uint64_t gfn;

	if (sim_gva_to_gfn(v, v->r.rip, &gfn))
		return ~0ull;	/* INVALID_GFN */
	return gfn;
}

enum tres { T_OK = 0, T_STOP };

/*
 * Translates va for an access of kind need (R, W or X), checking the p2m
 * access of every page-table frame read when check_gpt. *nogpt is set
 * when Xen would switch to emulation because in-guest page-table faults
 * are not to be reported (xc_monitor_inguest_pagefault).
 */
static enum tres translate(struct sim_vcpu *v, uint64_t va, unsigned need,
			   bool check_gpt, bool *nogpt, uint64_t *gpa)
{
	struct hvm_hw_cpu *r = &v->r;
	struct sim_mmu m;
	unsigned tries;

	vcpu_mmu(v, &m);
	for (tries = 0; tries < 8; tries++) {
		struct walk_ctx w = { .v = v, .check = check_gpt && !*nogpt };
		struct sim_walk out;

		sim_walk(&m, va, walk_read, &w, &out);
		if (w.misconfig) {
			crash(v, "EPT misconfiguration: a write-only (w or wx) access entry");
			return T_STOP;
		}
		if (w.violated) {
			enum vres vr = handle_violation(
				v, w.gpa >> SIM_PAGE_SHIFT, MEM_ACCESS_R, va,
				KIND_IN_GPT, w.gpa);

			if (vr == V_NOGPT)
				*nogpt = true;
			else if (vr != V_RETRY)
				return T_STOP;
			continue;
		}
		if (w.missing) {
			stop_fault(v, "the page walk of 0x%" PRIx64
				   " reads guest-physical 0x%" PRIx64
				   ", which is not populated", va, w.gpa);
			return T_STOP;
		}
		if (out.fault == SIM_WALK_NONCANONICAL) {
			/* A #GP for the guest: the script is wrong. */
			v->c.other_delivered++;
			stop_fault(v, "general protection fault: 0x%" PRIx64
				   " is not canonical", va);
			return T_STOP;
		}
		if (out.fault != SIM_WALK_OK ||
		    !sim_walk_permits(&m, &out, need, cpl(r))) {
			/* The guest takes #PF: in a scripted workload that
			 * means the script is wrong, so it stops there. */
			v->c.pf_delivered++;
			r->cr2 = va;
			if (out.fault == SIM_WALK_OK)
				stop_fault(v, "page fault at 0x%" PRIx64
					   " (protection)", va);
			else if (out.fault == SIM_WALK_NOT_PRESENT)
				stop_fault(v, "page fault at 0x%" PRIx64
					   " (not mapped: the %s at 0x%" PRIx64
					   " is not present)", va,
					   sim_walk_level_name(out.level),
					   out.entry_gpa[out.level]);
			else
				stop_fault(v, "page fault at 0x%" PRIx64
					   " (a reserved bit is set in the %s 0x%"
					   PRIx64 " at 0x%" PRIx64 ")", va,
					   sim_walk_level_name(out.level),
					   out.entry[out.level],
					   out.entry_gpa[out.level]);
			return T_STOP;
		}
		*gpa = out.gpa;
		return T_OK;
	}
	stop_fault(v, "the page walk of 0x%" PRIx64 " keeps faulting", va);
	return T_STOP;
}

/* ---- debug traps ---- */

static unsigned dr_len(uint64_t dr7, unsigned n)
{
	static const unsigned len[4] = { 1, 2, 8, 4 };

	return len[(dr7 >> (18 + 4 * n)) & 3];
}

static uint64_t dr_addr(const struct hvm_hw_cpu *r, unsigned n)
{
	const uint64_t a[4] = { r->dr0, r->dr1, r->dr2, r->dr3 };

	return a[n];
}

static bool dr_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;
}

static unsigned dr_match_exec(const struct hvm_hw_cpu *r, uint64_t rip)
{
	unsigned n, hits = 0;

	for (n = 0; n < 4; n++)
		if (dr_enabled(r->dr7, n) && !((r->dr7 >> (16 + 4 * n)) & 3) &&
		    dr_addr(r, n) == rip)
			hits |= 1u << n;
	return hits;
}

static unsigned dr_match_data(const struct hvm_hw_cpu *r, uint64_t va,
			      unsigned size, bool write)
{
	unsigned n, hits = 0;

	for (n = 0; n < 4; n++) {
		unsigned rw = (r->dr7 >> (16 + 4 * n)) & 3;
		unsigned len = dr_len(r->dr7, n);
		uint64_t lo = dr_addr(r, n) & ~(uint64_t)(len - 1);

		if (!dr_enabled(r->dr7, n) || rw == 0 || rw == 2)
			continue;
		if (rw == 1 && !write)
			continue;
		if (va < lo + len && lo < va + size)
			hits |= 1u << n;
	}
	return hits;
}

void sim_deliver_guest_db(struct sim_vcpu *v)
{
	/* The guest's #DB handler, as xensim models it, returns with TF
	 * clear and RF set (so an instruction breakpoint does not fire
	 * again on return). */
	v->c.db_delivered++;
	v->r.rflags = (v->r.rflags & ~RFLAGS_TF) | RFLAGS_RF;
}

/*
 * A #DB: DR6 gets the causes (VMX writes it from the exit qualification),
 * then hvm_monitor_debug(HVM_MONITOR_DEBUG_EXCEPTION, ..., pending_dbg 0)
 * or, without an event, the guest takes it.
 */
static void debug_trap(struct sim_vcpu *v, unsigned bits)
{
	struct sim_domain *d = v->d;
	vm_event_request_t req;
	bool sync = d->mon.debug_exception_sync;

	v->r.dr6 = DR6_BASE | bits;
	if (!d->mon.debug_exception || !sim_is_hvm(d)) {
		sim_deliver_guest_db(v);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.reason = VM_EVENT_REASON_DEBUG_EXCEPTION;
	req.u.debug_exception.gfn = gfn_of_rip(v);
	req.u.debug_exception.pending_dbg = 0;
	req.u.debug_exception.type = X86_EVENTTYPE_HW_EXCEPTION_;
	req.u.debug_exception.insn_length = 0;
	switch (sim_monitor_traps(v, sync, &req,
				  sync ? CONT_NONE : CONT_DELIVER_DB)) {
	case TRAP_NO_RING:
	case TRAP_ASYNC:
		/* rc 0 from hvm_monitor_debug: the #DB is propagated */
		sim_deliver_guest_db(v);
		break;
	default:
		break;
	}
}

/* The MTF VM exit after an instruction (vmx_vmexit_handler). */
static void mtf_exit(struct sim_vcpu *v)
{
	vm_event_request_t req;

	if (!v->d->mon.singlestep)
		return;	/* hvm_monitor_debug returns 0: no event */
	memset(&req, 0, sizeof(req));
	req.reason = VM_EVENT_REASON_SINGLESTEP;
	req.u.singlestep.gfn = gfn_of_rip(v);
	sim_monitor_traps(v, true, &req, CONT_NONE);
}

/* What follows the retirement of an instruction: a trap-like #DB from
 * TF or a data breakpoint, then the MTF exit. */
static void after_retire(struct sim_vcpu *v, unsigned db_bits)
{
	if (held(v)) {
		v->db_pending |= db_bits;
		if (v->single_step)
			v->mtf_pending = true;
		return;
	}
	if (db_bits) {
		debug_trap(v, db_bits);
		if (held(v)) {
			if (v->single_step)
				v->mtf_pending = true;
			return;
		}
	}
	if (v->single_step)
		mtf_exit(v);
}

/* ---- executing a step ---- */

enum run_mode {
	MODE_NORMAL,	/* hardware execution: every check */
	MODE_NOGPT,	/* emulation with send_event: no page-walk checks */
	MODE_EMULATE,	/* hvm_emulate_one_vm_event: no p2m checks */
};

struct chunk {
	uint64_t va;
	uint64_t gpa;
	unsigned len;
};

/* Moves the script past one retired instruction: an exec step stays
 * the current step until it has run its count. */
static void next_pc(struct sim_vcpu *v)
{
	const struct sim_step *st = v->pc < v->wl.n ? &v->wl.steps[v->pc] : NULL;

	if (st && st->kind == STEP_EXEC) {
		v->exec_done++;
		if (!st->count || v->exec_done < st->count)
			return;
		v->exec_done = 0;
	}
	v->pc++;
}

/*
 * exited: Xen's exit handler completed the instruction (cpuid, vmcall:
 * update_guest_eip()). Like an instruction of Xen's emulator, it gives
 * no MTF exit at its end: the vCPU exits after the instruction that
 * follows it (Xen 4.17 synthesises none; seen on its VMX under Bochs);
 * and TF gives a #DB injected into the guest (svm_inject_event() and
 * vmx_inject_event() add DR6.BS), never a monitor event.
 */
static void retire(struct sim_vcpu *v, uint64_t next_rip,
		   uint64_t rflags_before, unsigned dr_hits, enum run_mode mode,
		   bool exited)
{
	bool emulated = mode != MODE_NORMAL;

	v->r.rip = next_rip;
	v->r.rflags &= ~RFLAGS_RF;
	next_pc(v);
	v->c.steps++;
	if (emulated)
		v->c.emulated++;
	if (v->budget != UINT64_MAX)
		v->budget--;
	if (emulated || exited) {
		/* Xen's emulator: TF gives x86_emulate's retire.singlestep,
		 * a #DB injected straight into the guest without a monitor
		 * event; no MTF exit for the emulated instruction. */
		if (exited)
			v->c.exit_completed++;
		if (rflags_before & RFLAGS_TF) {
			v->r.dr6 = DR6_BASE | DR6_BS;
			sim_deliver_guest_db(v);
		}
		return;
	}
	after_retire(v, dr_hits | ((rflags_before & RFLAGS_TF) ? DR6_BS : 0));
}

/* The guest's own #BP for an int3 at step pc: its handler resumes after
 * the int3, so the step is done without its scripted effect. */
static void guest_bp(struct sim_vcpu *v, const struct sim_step *st,
		     uint64_t rflags_before, enum run_mode mode)
{
	struct sim_step one = *st;

	v->c.bp_delivered++;
	one.len = 1;
	retire(v, one.rip + one.len, rflags_before, 0, mode, false);
}

static bool int3_event(struct sim_vcpu *v, uint64_t code_gfn)
{
	vm_event_request_t req;

	if (!v->d->mon.software_breakpoint || !sim_is_hvm(v->d))
		return false;
	memset(&req, 0, sizeof(req));
	req.reason = VM_EVENT_REASON_SOFTWARE_BREAKPOINT;
	req.u.software_breakpoint.gfn = code_gfn;
	req.u.software_breakpoint.type = X86_EVENTTYPE_SW_EXCEPTION_;
	req.u.software_breakpoint.insn_length = 1;
	return sim_monitor_traps(v, true, &req, CONT_NONE) != TRAP_NO_RING;
}

static void write_bytes(struct sim_vcpu *v, const struct chunk *c,
			unsigned n, uint64_t value)
{
	unsigned i, k, pos = 0;

	for (i = 0; i < n; i++) {
		uint8_t *p = sim_gfn_ptr(v->d, c[i].gpa >> SIM_PAGE_SHIFT);

		for (k = 0; k < c[i].len; k++, pos++)
			p[(c[i].gpa & (SIM_PAGE_SIZE - 1)) + k] =
				(uint8_t)(value >> (8 * (pos % 8)));
	}
}

static void read_bytes(struct sim_vcpu *v, const struct chunk *c, unsigned n,
		       uint8_t *out)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const uint8_t *p = sim_gfn_ptr(v->d, c[i].gpa >> SIM_PAGE_SHIFT);

		memcpy(out, p + (c[i].gpa & (SIM_PAGE_SIZE - 1)), c[i].len);
		out += c[i].len;
	}
}

static void write_buf(struct sim_vcpu *v, const struct chunk *c, unsigned n,
		      const uint8_t *in)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint8_t *p = sim_gfn_ptr(v->d, c[i].gpa >> SIM_PAGE_SHIFT);

		memcpy(p + (c[i].gpa & (SIM_PAGE_SIZE - 1)), in, c[i].len);
		in += c[i].len;
	}
}

/*
 * Translates and checks every page of a data access; fills chunks.
 * Returns the number of chunks, or -1 when the vCPU cannot go on.
 */
static int data_access(struct sim_vcpu *v, uint64_t va, unsigned size,
		       unsigned acc, enum run_mode mode, bool *nogpt,
		       struct chunk *c, unsigned maxc)
{
	unsigned n = 0;
	uint64_t done = 0;

	while (done < size) {
		uint64_t a = va + done;
		unsigned len = (unsigned)(SIM_PAGE_SIZE - (a & (SIM_PAGE_SIZE - 1)));
		unsigned need;

		if (len > size - done)
			len = (unsigned)(size - done);
		if (n == maxc) {
			stop_fault(v, "a data access of %u bytes is too large", size);
			return -1;
		}
		need = (acc & ACC_WRITE) ? MEM_ACCESS_W : MEM_ACCESS_R;
		if (translate(v, a, need, mode == MODE_NORMAL && !*nogpt, nogpt,
			      &c[n].gpa) != T_OK)
			return -1;
		if (mode != MODE_EMULATE) {
			if ((acc & ACC_READ) &&
			    check_frame(v, c[n].gpa >> SIM_PAGE_SHIFT,
					MEM_ACCESS_R, a, c[n].gpa))
				return -1;
			/* The emulator reports writes as R|W
			 * (hvm_monitor_check_p2m); hardware as W. */
			if ((acc & ACC_WRITE) &&
			    check_frame(v, c[n].gpa >> SIM_PAGE_SHIFT,
					mode == MODE_NOGPT ?
					MEM_ACCESS_R | MEM_ACCESS_W :
					MEM_ACCESS_W, a, c[n].gpa))
				return -1;
		} else if (!sim_gfn_populated(v->d, c[n].gpa >> SIM_PAGE_SHIFT)) {
			stop_fault(v, "access to guest-physical 0x%" PRIx64
				   ", which is not populated", c[n].gpa);
			return -1;
		}
		c[n].va = a;
		c[n].len = len;
		n++;
		done += len;
	}
	return (int)n;
}

/* Raises a monitor event for a step that completes anyway (control
 * register writes, the guest-request hypercall): the event shows RIP at
 * the instruction, the vCPU goes on after it once released. */
static void completing_event(struct sim_vcpu *v, vm_event_request_t *req,
			     bool sync)
{
	enum sim_trap t = sim_monitor_traps(v, sync, req, CONT_NONE);

	if (t == TRAP_SYNC || t == TRAP_WAIT)
		v->resync = false;	/* the step retires below */
}

/* The general registers in encoding order (SDM vol. 2, table 2-2). */
static uint64_t *gpr_ptr(struct hvm_hw_cpu *r, int n)
{
	uint64_t *const p[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
		&r->rsi, &r->rdi, &r->r8, &r->r9, &r->r10, &r->r11,
		&r->r12, &r->r13, &r->r14, &r->r15,
	};

	return p[n & 15];
}

/* A register write of width bytes: 32-bit results zero-extend. */
static void set_gpr(struct hvm_hw_cpu *r, int n, unsigned width,
		    uint64_t value)
{
	*gpr_ptr(r, n) = width == 8 ? value : (uint32_t)value;
}

/*
 * Fetches and decodes the instruction at RIP (the code bytes of its
 * first frame, code_gpa, and the next page's when it crosses; a fetch
 * checks the first frame only). In Xen's emulator with
 * SET_EMUL_INSN_DATA, the bytes the monitor gave. 0, or -1 when the
 * vCPU stops (the bytes are not an instruction xensim executes).
 */
static int fetch_decode(struct sim_vcpu *v, uint64_t code_gpa, bool given,
			struct sim_insn *in)
{
	struct hvm_hw_cpu *r = &v->r;
	uint8_t bytes[16];
	uint64_t gpr[16], gfn;
	size_t have;
	char *why = NULL;
	int i;

	if (given) {
		memcpy(bytes, v->emul_insn, sizeof(bytes));
		have = sizeof(bytes);
	} else {
		size_t off = code_gpa & (SIM_PAGE_SIZE - 1);

		have = SIM_PAGE_SIZE - off;
		if (have > sizeof(bytes))
			have = sizeof(bytes);
		memcpy(bytes, sim_gfn_ptr(v->d, code_gpa >> SIM_PAGE_SHIFT) + off,
		       have);
		if (have < sizeof(bytes) &&
		    sim_gva_to_gfn(v, r->rip + have, &gfn) == 0 &&
		    sim_gfn_populated(v->d, gfn)) {
			memcpy(bytes + have, sim_gfn_ptr(v->d, gfn),
			       sizeof(bytes) - have);
			have = sizeof(bytes);
		}
	}
	for (i = 0; i < 16; i++)
		gpr[i] = *gpr_ptr(r, i);
	if (sim_insn_decode(bytes, have, r->rip, gpr, in, &why)) {
		stop_fault(v, "%s", why);
		free(why);
		return -1;
	}
	return 0;
}

/*
 * Executes a decoded instruction: its data access through the page
 * tables and the p2m (which may raise an event: then nothing changes),
 * then its register results. 0 with *next_rip and *hits, or -1.
 */
static int exec_insn(struct sim_vcpu *v, const struct sim_insn *in,
		     enum run_mode mode, bool nowrite, bool *nogpt,
		     uint64_t *next_rip, unsigned *hits)
{
	struct hvm_hw_cpu *r = &v->r;
	struct chunk ch[2];
	uint64_t value = 0;
	int nch;

	switch (in->op) {
	case SIM_OP_LOAD:
		nch = data_access(v, in->ea, in->width, ACC_READ, mode, nogpt,
				  ch, 2);
		if (nch < 0)
			return -1;
		if (mode != MODE_EMULATE)
			*hits = dr_match_data(r, in->ea, in->width, false);
		read_bytes(v, ch, (unsigned)nch, (uint8_t *)&value);
		v->c.reads++;
		set_gpr(r, in->reg, in->width, value);
		break;
	case SIM_OP_STORE:
	case SIM_OP_STORE_IMM:
		value = in->op == SIM_OP_STORE ? *gpr_ptr(r, in->rm) : in->imm;
		nch = data_access(v, in->ea, in->width, ACC_WRITE, mode, nogpt,
				  ch, 2);
		if (nch < 0)
			return -1;
		if (mode != MODE_EMULATE)
			*hits = dr_match_data(r, in->ea, in->width, true);
		if (!(mode == MODE_EMULATE && nowrite))
			write_bytes(v, ch, (unsigned)nch, value);
		v->c.writes++;
		break;
	case SIM_OP_MOV_RR:
		set_gpr(r, in->reg, in->width, *gpr_ptr(r, in->rm));
		break;
	case SIM_OP_MOV_IMM:
		set_gpr(r, in->reg, in->width, in->imm);
		break;
	case SIM_OP_LEA:
		set_gpr(r, in->reg, in->width, in->ea);
		break;
	case SIM_OP_JMP:
		*next_rip = in->target;
		return 0;
	case SIM_OP_NOP:
		break;
	}
	*next_rip = r->rip + in->len;
	return 0;
}

static void run_step(struct sim_vcpu *v, enum run_mode mode, bool nowrite)
{
	struct sim_domain *d = v->d;
	const struct sim_step *st = &v->wl.steps[v->pc];
	struct hvm_hw_cpu *r = &v->r;
	uint64_t rflags_before = r->rflags;
	uint64_t code_gpa, code_gfn;
	bool nogpt = mode == MODE_NOGPT;
	unsigned hits = 0;
	struct chunk ch[64];
	int nch = 0;
	uint8_t *code;
	uint64_t next_rip;
	struct sim_step here;
	/* completed by Xen's exit handler (see retire()) */
	bool exited = false;

	if (st->kind == STEP_EXEC) {
		/* the guest's own code: the instruction is the one at RIP */
		here = *st;
		here.rip = r->rip;
		here.len = 1;
		st = &here;
	}
	next_rip = st->rip + st->len;
	r->rip = st->rip;
	if (mode != MODE_EMULATE && !(r->rflags & RFLAGS_RF)) {
		unsigned x = dr_match_exec(r, st->rip);

		if (x) {
			/* An instruction breakpoint is a fault: #DB
			 * before the instruction executes. */
			debug_trap(v, x);
			return;
		}
	}
	if (translate(v, st->rip, MEM_ACCESS_X, mode == MODE_NORMAL, &nogpt,
		      &code_gpa) != T_OK)
		return;
	if (nogpt && mode == MODE_NORMAL)
		mode = MODE_NOGPT;
	code_gfn = code_gpa >> SIM_PAGE_SHIFT;
	if (mode != MODE_EMULATE) {
		if (check_frame(v, code_gfn, MEM_ACCESS_X, st->rip, code_gpa))
			return;
	} else if (!sim_gfn_populated(d, code_gfn)) {
		stop_fault(v, "code at guest-physical 0x%" PRIx64
			   " is not populated", code_gpa);
		return;
	}
	code = sim_gfn_ptr(d, code_gfn);
	if (code[code_gpa & (SIM_PAGE_SIZE - 1)] == 0xcc &&
	    !(mode == MODE_EMULATE &&
	      (v->emulate_flags & VM_EVENT_FLAG_SET_EMUL_INSN_DATA))) {
		v->c.int3++;
		if (mode != MODE_EMULATE && int3_event(v, code_gfn))
			return;	/* held at the int3 (or waiting) */
		guest_bp(v, st, rflags_before, mode);
		return;
	}

	switch (st->kind) {
	case STEP_EXEC: {
		struct sim_insn in;

		if (fetch_decode(v, code_gpa, mode == MODE_EMULATE &&
				 (v->emulate_flags & VM_EVENT_FLAG_SET_EMUL_INSN_DATA),
				 &in) ||
		    exec_insn(v, &in, mode, nowrite, &nogpt, &next_rip, &hits))
			return;
		break;
	}
	case STEP_INSN:
		if (st->access == ACC_NONE)
			break;
		nch = data_access(v, st->va, st->size, st->access, mode, &nogpt,
				  ch, 64);
		if (nch < 0)
			return;
		if (mode != MODE_EMULATE)
			hits = dr_match_data(r, st->va, st->size,
					     st->access & ACC_WRITE);
		if (st->access & ACC_READ)
			v->c.reads++;
		if (st->access & ACC_WRITE) {
			if (!(mode == MODE_EMULATE && nowrite))
				write_bytes(v, ch, (unsigned)nch, st->value);
			v->c.writes++;
		}
		break;
	case STEP_PUSHF:
		nch = data_access(v, r->rsp - 8, 8, ACC_WRITE, mode, &nogpt, ch,
				  64);
		if (nch < 0)
			return;
		if (mode != MODE_EMULATE)
			hits = dr_match_data(r, r->rsp - 8, 8, true);
		if (!(mode == MODE_EMULATE && nowrite))
			write_bytes(v, ch, (unsigned)nch, r->rflags & ~RFLAGS_RF);
		v->c.writes++;
		r->rsp -= 8;
		break;
	case STEP_SET_REG:
		*sim_reg_ptr(r, st->reg) = st->value;
		break;
	case STEP_IRET: {
		uint64_t f[5];

		nch = data_access(v, r->rsp, sizeof(f), ACC_READ, mode, &nogpt,
				  ch, 64);
		if (nch < 0)
			return;
		read_bytes(v, ch, (unsigned)nch, (uint8_t *)f);
		v->c.reads++;
		next_rip = f[0];
		r->rflags = f[2] | 2;
		r->rsp = f[3];
		break;
	}
	case STEP_CLI:
		r->rflags &= ~RFLAGS_IF;
		break;
	case STEP_STI:
		r->rflags |= RFLAGS_IF;
		break;
	case STEP_CPUID:
		if (mode != MODE_EMULATE && d->mon.cpuid) {
			vm_event_request_t req;

			memset(&req, 0, sizeof(req));
			req.reason = VM_EVENT_REASON_CPUID;
			req.u.cpuid.insn_length = st->len;
			req.u.cpuid.leaf = (uint32_t)r->rax;
			req.u.cpuid.subleaf = (uint32_t)r->rcx;
			if (sim_monitor_traps(v, true, &req, CONT_NONE) !=
			    TRAP_NO_RING)
				return;	/* the monitor completes it */
		}
		/* CPUID always exits; Xen's handler completes it */
		exited = mode != MODE_EMULATE;
		break;
	case STEP_WRITE_CR: {
		unsigned idx = st->reg == 0 ? VM_EVENT_X86_CR0 :
			       st->reg == 3 ? VM_EVENT_X86_CR3 :
					      VM_EVENT_X86_CR4;
		uint64_t *cr = st->reg == 0 ? &r->cr0 :
			       st->reg == 3 ? &r->cr3 : &r->cr4;
		uint64_t old = *cr;
		unsigned bit = 1u << idx;

		if (mode != MODE_EMULATE &&
		    (d->mon.write_ctrlreg_enabled & bit) &&
		    (!(d->mon.write_ctrlreg_onchangeonly & bit) ||
		     st->value != old) &&
		    ((st->value ^ old) & ~d->mon.write_ctrlreg_mask[idx])) {
			vm_event_request_t req;

			memset(&req, 0, sizeof(req));
			req.reason = VM_EVENT_REASON_WRITE_CTRLREG;
			req.u.write_ctrlreg.index = idx;
			req.u.write_ctrlreg.new_value = st->value;
			req.u.write_ctrlreg.old_value = old;
			completing_event(v, &req,
					 d->mon.write_ctrlreg_sync & bit);
		}
		*cr = st->value;
		break;
	}
	case STEP_VMCALL:
		if (mode != MODE_EMULATE && d->mon.guest_request &&
		    (cpl(r) == 0 || d->mon.guest_request_userspace)) {
			vm_event_request_t req;

			memset(&req, 0, sizeof(req));
			req.reason = VM_EVENT_REASON_GUEST_REQUEST;
			completing_event(v, &req, d->mon.guest_request_sync);
		}
		/* a hypercall: Xen's handler completes it */
		exited = mode != MODE_EMULATE;
		break;
	default:
		break;
	}
	retire(v, next_rip, rflags_before, hits, mode, exited);
}

/* ---- hvm_do_resume ---- */

static void apply_gprs(struct sim_vcpu *v)
{
	struct hvm_hw_cpu *r = &v->r;
	const struct vm_event_regs_x86 *g = &v->gprs;

	r->rax = g->rax;
	r->rbx = g->rbx;
	r->rcx = g->rcx;
	r->rdx = g->rdx;
	r->rsp = g->rsp;
	r->rbp = g->rbp;
	r->rsi = g->rsi;
	r->rdi = g->rdi;
	r->r8 = g->r8;
	r->r9 = g->r9;
	r->r10 = g->r10;
	r->r11 = g->r11;
	r->r12 = g->r12;
	r->r13 = g->r13;
	r->r14 = g->r14;
	r->r15 = g->r15;
	r->rflags = g->rflags;
	r->rip = g->rip;
	v->set_gprs = false;
}

/*
 * hvm_do_resume -> hvm_vm_event_do_resume: the registers a response set
 * (SET_REGISTERS) are loaded first thing on the vCPU's way back into the
 * guest, before the emulation the response asked for. Until then Xen's
 * state (getcontext) shows the old ones, a context load does not replace
 * them, and removing the ring drops them (vm_event_cleanup_domain). A vCPU
 * goes back into the guest once nothing pauses it, whatever its workload.
 */
static void enter_guest(struct sim_vcpu *v)
{
	if (v->set_gprs && v->online && !sim_domain_paused(v->d) && !held(v))
		apply_gprs(v);
}

void sim_vcpu_released(struct sim_vcpu *v)
{
	enter_guest(v);
	sim_update_timer(v->d->sim);
}

void sim_domain_unpaused(struct sim_domain *d)
{
	unsigned i;

	for (i = 0; i < d->nr_vcpus; i++)
		enter_guest(&d->vcpu[i]);
}

static bool current_is_insn(const struct sim_vcpu *v)
{
	return v->pc < v->wl.n && v->wl.steps[v->pc].kind != STEP_LOOP &&
	       v->wl.steps[v->pc].kind != STEP_HALT &&
	       v->wl.steps[v->pc].kind != STEP_SLEEP;
}

/*
 * The step Xen's emulator runs: the instruction at RIP. Normally the
 * current step; while an interrupt's delivery is pending (its frame push
 * or IDT read faulted), RIP is the interrupted instruction, further on in
 * the script than the handler's steps. -1 when the script has no such
 * step.
 */
static long emulated_step(const struct sim_vcpu *v)
{
	size_t i;

	if (!v->intr.pending)
		return current_is_insn(v) ? (long)v->pc : -1;
	for (i = v->pc; i < v->wl.n; i++) {
		const struct sim_step *st = &v->wl.steps[i];

		if (st->kind != STEP_LOOP && st->kind != STEP_HALT &&
		    st->kind != STEP_SLEEP && st->kind != STEP_INTERRUPT &&
		    st->rip == v->r.rip)
			return (long)i;
	}
	return -1;
}

static void emulate_current(struct sim_vcpu *v)
{
	uint32_t f = v->emulate_flags;
	long at = emulated_step(v);
	size_t pc = v->pc;

	if (at < 0) {
		v->emulate_flags = 0;
		if (v->intr.pending)
			stop_fault(v, "Xen's emulator was asked to emulate the instruction at 0x%" PRIx64
				   " while an interrupt was being delivered; the workload has no step there",
				   v->r.rip);
		return;
	}
	/* The order of hvm_vm_event_do_resume: read data first, then
	 * no-write, then instruction data. */
	v->pc = (size_t)at;
	run_step(v, MODE_EMULATE,
		 !(f & VM_EVENT_FLAG_SET_EMUL_READ_DATA) &&
		 (f & VM_EVENT_FLAG_EMULATE_NOWRITE));
	if ((size_t)at != pc) {
		/* executed out of order: the script skips it later */
		log_warn(LC_TRAP, "d%uv%u: Xen emulated the interrupted instruction at 0x%" PRIx64
			 " while delivering vector %u; the delivery is retried",
			 v->d->domid, v->id, v->wl.steps[at].rip, v->intr.vector);
		v->pc = pc;
		v->done_once = (size_t)at + 1;
	}
	v->emulate_flags = 0;
}

/*
 * Delivers the pending external interrupt (64-bit mode, same privilege):
 * reads its IDT gate, pushes RIP, CS, RFLAGS, RSP and SS below RSP aligned
 * to 16, clears IF, TF, NT and RF, and goes on at the handler (the next
 * step). Either access may fault on a restricted frame: the event names
 * the gate or the frame (its lowest address), RIP still at the
 * interrupted instruction, and the delivery is retried at the next entry
 * whatever RFLAGS.IF is then (VMX re-injects the event from the
 * IDT-vectoring information). Injecting an external interrupt with IF
 * clear fails the VM-entry checks on guest state.
 */
static void deliver_interrupt(struct sim_vcpu *v)
{
	struct hvm_hw_cpu *r = &v->r;
	struct chunk ch[2];
	bool nogpt = false;
	uint64_t frame[5], sp;
	int nch;

	if (v->intr.reinject && !(r->rflags & RFLAGS_IF)) {
		crash(v, "vmentry failure (reason 0x80000021): Invalid guest state "
		      "(an external interrupt injected with RFLAGS.IF=0)");
		return;
	}
	v->intr.reinject = true;
	if (data_access(v, r->idtr_base + 16ull * v->intr.vector, 16, ACC_READ,
			MODE_NORMAL, &nogpt, ch, 2) < 0)
		return;
	sp = (r->rsp & ~15ull) - sizeof(frame);
	nch = data_access(v, sp, sizeof(frame), ACC_WRITE, MODE_NORMAL, &nogpt,
			  ch, 2);
	if (nch < 0)
		return;
	frame[0] = r->rip;
	frame[1] = r->cs_sel;
	frame[2] = r->rflags & ~RFLAGS_RF;
	frame[3] = r->rsp;
	frame[4] = r->ss_sel;
	write_buf(v, ch, (unsigned)nch, (const uint8_t *)frame);
	r->rsp = sp;
	r->rflags &= ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_NT | RFLAGS_RF);
	v->intr.pending = false;
	v->intr.reinject = false;
	v->resync = false;
	v->c.interrupts++;
	if (current_is_insn(v))
		r->rip = v->wl.steps[v->pc].rip;
	log_dbg(LC_TRAP, "d%uv%u: interrupt vector %u delivered, handler at 0x%" PRIx64,
		v->d->domid, v->id, v->intr.vector, r->rip);
	/* like an injected event, the delivery ends with an MTF exit */
	if (v->single_step)
		mtf_exit(v);
}

static void deliver_injection(struct sim_vcpu *v)
{
	struct sim_inject ev = v->inject;
	bool after = ev.type == X86_EVENTTYPE_SW_EXCEPTION_ ||
		     ev.type == X86_EVENTTYPE_SW_INTERRUPT_ ||
		     ev.type == X86_EVENTTYPE_PRI_SW_EXCEPTION_;

	v->inject.vector = -1;
	v->resync = false;
	switch (ev.vector) {
	case 3:
		v->c.bp_delivered++;
		/* The guest's handler returns after the instruction: an
		 * int3 at the current step is done. */
		if (after && current_is_insn(v) &&
		    v->wl.steps[v->pc].kind == STEP_EXEC) {
			/* the guest's own code: on after the int3 */
			v->r.rip += ev.insn_len;
			next_pc(v);
			v->c.steps++;
			if (v->budget != UINT64_MAX)
				v->budget--;
		} else if (after && current_is_insn(v) &&
		    v->r.rip == v->wl.steps[v->pc].rip) {
			struct sim_step one = v->wl.steps[v->pc];

			one.len = ev.insn_len;
			v->r.rip = one.rip + one.len;
			v->pc++;
			v->c.steps++;
			if (v->budget != UINT64_MAX)
				v->budget--;
		}
		break;
	case 1:
		sim_deliver_guest_db(v);
		break;
	case 14:
		v->c.pf_delivered++;
		v->r.cr2 = ev.cr2;
		break;
	default:
		v->c.other_delivered++;
		break;
	}
	log_dbg(LC_TRAP, "d%uv%u: guest took injected vector %d (type %u)",
		v->d->domid, v->id, ev.vector, ev.type);
	if (v->single_step)
		mtf_exit(v);
}

/* Moves over loop, halt and sleep steps. False when no instruction is
 * to run in this quantum. */
static bool to_next_insn(struct sim_vcpu *v)
{
	size_t guard;

	for (guard = 0; guard <= v->wl.n; guard++) {
		const struct sim_step *st;

		if (v->pc >= v->wl.n) {
			v->halted = true;
			sim_update_timer(v->d->sim);
			return false;
		}
		if (v->done_once == v->pc + 1) {
			/* Xen's emulator already executed it */
			v->done_once = 0;
			v->pc++;
			continue;
		}
		st = &v->wl.steps[v->pc];
		switch (st->kind) {
		case STEP_INTERRUPT:
			v->intr.pending = true;
			v->intr.reinject = false;
			v->intr.vector = (unsigned)st->count;
			v->r.rip = st->rip;
			v->pc++;
			continue;
		case STEP_LOOP:
			if (!st->count || v->loops_done < st->count) {
				v->loops_done++;
				v->pc = 0;
			} else {
				v->pc++;
			}
			continue;
		case STEP_HALT:
			v->halted = true;
			sim_update_timer(v->d->sim);
			return false;
		case STEP_SLEEP:
			if (!v->sleeping) {
				v->sleeping = true;
				v->sleep_left = st->count;
			}
			if (v->sleep_left) {
				v->sleep_left--;
				return false;
			}
			v->sleeping = false;
			v->pc++;
			continue;
		default:
			return true;
		}
	}
	stop_fault(v, "the workload loops without executing an instruction");
	return false;
}

void sim_vcpu_step(struct sim_vcpu *v)
{
	const struct sim_step *st;

	enter_guest(v);
	if (!sim_vcpu_runnable(v))
		return;
	/* Traps owed by an instruction whose event held the vCPU. */
	if (v->db_pending) {
		unsigned bits = v->db_pending;

		v->db_pending = 0;
		debug_trap(v, bits);
		if (held(v)) {
			if (v->single_step)
				v->mtf_pending = true;
			return;
		}
	}
	if (v->mtf_pending) {
		v->mtf_pending = false;
		mtf_exit(v);
		if (held(v))
			return;
	}
	if (v->emulate_flags) {
		emulate_current(v);
		return;
	}
	if (v->inject.vector >= 0) {
		deliver_injection(v);
		return;
	}
	if (v->intr.pending && (v->intr.reinject || (v->r.rflags & RFLAGS_IF))) {
		deliver_interrupt(v);
		return;
	}
	if (!to_next_insn(v))
		return;
	if (v->intr.pending && (v->r.rflags & RFLAGS_IF)) {
		deliver_interrupt(v);
		return;
	}
	st = &v->wl.steps[v->pc];
	if (v->resync && st->kind == STEP_EXEC) {
		/* the guest's own code: whatever RIP the monitor left, the
		 * CPU executes what is there */
		v->resync = false;
	} else if (v->resync) {
		/* Held by a synchronous event at this step: a monitor that
		 * moved RIP past it (SET_REGISTERS) completed it. */
		v->resync = false;
		if (v->r.rip == st->rip + st->len && v->r.rip != st->rip) {
			v->pc++;
			v->c.steps++;
			if (v->budget != UINT64_MAX)
				v->budget--;
			return;
		}
	}
	run_step(v, MODE_NORMAL, false);
}
