// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The live Xen target's events: the vm_event monitor ring (libxenctrl
 * monitor calls, libxenevtchn), the monitors for breakpoints, single-step
 * and debug exceptions, answers to held vCPUs, event injection, mem_access
 * restrictions, and the teardown in Xen's order.
 */
#include "stub/guest/xen/xen-internal.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include <xen/hvm/save.h>

#include "stub/base/log.h"
#include "stub/base/strbuf.h"
#include "stub/guest/journal.h"

/* ---- events ---- */

int xen_ev_enable(struct target *t)
{
	struct xen_target *x = to_xen(t);
	int rc;

	if (x->ring_page)
		return 0;
	if (x->pv) {
		target_set_error(t, "domain %u is a PV guest: Xen offers no monitor events (breakpoints, stepping, watchpoints) for PV guests",
				 x->domid);
		return -EOPNOTSUPP;
	}
	journal_note(t->journal, "ring on");
	x->ring_page = xc_monitor_enable(x->xch, x->domid, &x->remote_port);
	if (!x->ring_page) {
		int e = errno ? errno : EIO;

		journal_note(t->journal, "ring off");
		if (e == EBUSY)
			target_set_error(t, "domain %u already has a monitor ring: another introspection tool is attached, "
					 "or one died without cleaning up (try 'xenstub --recover xen:%u')",
					 x->domid, x->domid);
		else
			target_set_error(t, "enabling the monitor ring of domain %u: %s",
					 x->domid, strerror(e));
		return -e;
	}
	x->xce = xenevtchn_open(NULL, 0);
	if (!x->xce) {
		rc = -(errno ? errno : EIO);
		target_set_error(t, "opening the event channel device: %s", strerror(-rc));
		goto fail;
	}
	x->local_port = xenevtchn_bind_interdomain(x->xce, x->domid, x->remote_port);
	if (x->local_port < 0) {
		rc = -(errno ? errno : EIO);
		target_set_error(t, "binding event channel port %u: %s", x->remote_port,
				 strerror(-rc));
		goto fail;
	}
	SHARED_RING_INIT((vm_event_sring_t *)x->ring_page);
	BACK_RING_INIT(&x->back_ring, (vm_event_sring_t *)x->ring_page, XC_PAGE_SIZE);
	log_info(LC_TRAP, "monitor ring enabled on domain %u (port %u, %u slots)",
		 x->domid, x->remote_port, (unsigned)RING_SIZE(&x->back_ring));
	return 0;
fail:
	if (x->xce) {
		if (x->local_port >= 0)
			xenevtchn_unbind(x->xce, (evtchn_port_t)x->local_port);
		xenevtchn_close(x->xce);
		x->xce = NULL;
	}
	x->local_port = -1;
	xc_monitor_disable(x->xch, x->domid);
	journal_note(t->journal, "ring off");
	munmap(x->ring_page, XC_PAGE_SIZE);
	x->ring_page = NULL;
	return rc;
}

int xen_ev_fd(struct target *t)
{
	struct xen_target *x = to_xen(t);

	return x->xce ? xenevtchn_fd(x->xce) : -1;
}

/* Moves every unconsumed request from the ring into our queue. */
static void pull_requests(struct xen_target *x)
{
	RING_IDX rc = x->back_ring.req_cons, rp;

	rp = x->back_ring.sring->req_prod;
	xen_rmb();
	while (rc != rp) {
		vm_event_request_t req;

		memcpy(&req, RING_GET_REQUEST(&x->back_ring, rc), sizeof(req));
		rc++;
		x->back_ring.req_cons = rc;
		x->back_ring.sring->req_event = rc + 1;
		if (x->nqueue == x->qcap) {
			x->qcap = x->qcap ? x->qcap * 2 : 16;
			x->queue = xrealloc(x->queue, x->qcap * sizeof(*x->queue));
		}
		x->queue[x->nqueue++] = req;
		/* an event of a vCPU: it ran, with what its release carried */
		if (req.vcpu_id < x->base.nr_vcpus)
			x->regs_sent[req.vcpu_id] = false;
		if (rc == rp) { /* look again: more may have arrived */
			xen_mb();
			rp = x->back_ring.sring->req_prod;
			xen_rmb();
		}
	}
}

static void ack_channel(struct xen_target *x)
{
	struct pollfd pfd = { xenevtchn_fd(x->xce), POLLIN, 0 };

	while (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) {
		xenevtchn_port_or_error_t port = xenevtchn_pending(x->xce);

		if (port < 0)
			break;
		xenevtchn_unmask(x->xce, (evtchn_port_t)port);
	}
}

static void regs_from_event(const struct vm_event_regs_x86 *v,
			    struct x86_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->gpr[X86_RAX] = v->rax; r->gpr[X86_RCX] = v->rcx;
	r->gpr[X86_RDX] = v->rdx; r->gpr[X86_RBX] = v->rbx;
	r->gpr[X86_RSP] = v->rsp; r->gpr[X86_RBP] = v->rbp;
	r->gpr[X86_RSI] = v->rsi; r->gpr[X86_RDI] = v->rdi;
	r->gpr[X86_R8] = v->r8; r->gpr[X86_R9] = v->r9;
	r->gpr[X86_R10] = v->r10; r->gpr[X86_R11] = v->r11;
	r->gpr[X86_R12] = v->r12; r->gpr[X86_R13] = v->r13;
	r->gpr[X86_R14] = v->r14; r->gpr[X86_R15] = v->r15;
	r->rflags = v->rflags;
	r->dr[6] = v->dr6; r->dr[7] = v->dr7;
	r->rip = v->rip;
	r->cr0 = v->cr0; r->cr2 = v->cr2; r->cr3 = v->cr3; r->cr4 = v->cr4;
	r->sysenter_cs = v->sysenter_cs; r->sysenter_esp = v->sysenter_esp;
	r->sysenter_eip = v->sysenter_eip;
	r->efer = v->msr_efer; r->star = v->msr_star; r->lstar = v->msr_lstar;
	r->seg[X86_CS].sel = v->cs_sel; r->seg[X86_SS].sel = v->ss_sel;
	r->seg[X86_DS].sel = v->ds_sel; r->seg[X86_ES].sel = v->es_sel;
	r->seg[X86_FS].sel = v->fs_sel; r->seg[X86_GS].sel = v->gs_sel;
	r->seg[X86_CS].base = v->cs_base; r->seg[X86_SS].base = v->ss_base;
	r->seg[X86_DS].base = v->ds_base; r->seg[X86_ES].base = v->es_base;
	r->seg[X86_FS].base = v->fs_base; r->seg[X86_GS].base = v->gs_base;
	r->seg[X86_CS].limit = v->cs.limit; r->seg[X86_CS].attr = (uint16_t)v->cs.ar;
	r->seg[X86_SS].limit = v->ss.limit; r->seg[X86_SS].attr = (uint16_t)v->ss.ar;
	r->seg[X86_DS].limit = v->ds.limit; r->seg[X86_DS].attr = (uint16_t)v->ds.ar;
	r->seg[X86_ES].limit = v->es.limit; r->seg[X86_ES].attr = (uint16_t)v->es.ar;
	r->seg[X86_FS].limit = v->fs.limit; r->seg[X86_FS].attr = (uint16_t)v->fs.ar;
	r->seg[X86_GS].limit = v->gs.limit; r->seg[X86_GS].attr = (uint16_t)v->gs.ar;
	r->k_gs_base = v->shadow_gs;
	x86_set_valid_range(r, XF_GPR0, XF_RFLAGS);
	x86_set_valid_range(r, XF_SEL0, XF_SEL0 + X86_GS);
	x86_set_valid_range(r, XF_SEGCACHE0, XF_SEGCACHE0 + X86_GS);
	x86_set_valid(r, XF_CR0);
	x86_set_valid(r, XF_CR2);
	x86_set_valid(r, XF_CR3);
	x86_set_valid(r, XF_CR4);
	x86_set_valid(r, XF_EFER);
}

static void translate_event(const vm_event_request_t *q,
			    struct target_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->vcpu = q->vcpu_id;
	ev->held = q->flags & VM_EVENT_FLAG_VCPU_PAUSED;
	ev->in_view = q->flags & VM_EVENT_FLAG_ALTERNATE_P2M;
	ev->view = q->altp2m_idx;
	ev->raw_reason = q->reason;
	regs_from_event(&q->data.regs.x86, &ev->regs);
	switch (q->reason) {
	case VM_EVENT_REASON_SOFTWARE_BREAKPOINT:
		ev->kind = TEV_SWBP;
		ev->u.swbp.gfn = q->u.software_breakpoint.gfn;
		ev->u.swbp.insn_length = q->u.software_breakpoint.insn_length;
		break;
	case VM_EVENT_REASON_SINGLESTEP:
		ev->kind = TEV_SINGLESTEP;
		break;
	case VM_EVENT_REASON_DEBUG_EXCEPTION:
		ev->kind = TEV_DEBUG_EXC;
		/* Xen 4.17 passes pending_dbg 0 from both vmx.c and svm.c;
		 * the cause is in DR6 (vmx.c writes the exit qualification
		 * there), which the event's registers carry */
		ev->u.dbg.pending_dbg = (q->u.debug_exception.pending_dbg |
					 q->data.regs.x86.dr6) & 0x400full;
		ev->u.dbg.type = q->u.debug_exception.type;
		ev->u.dbg.insn_length = q->u.debug_exception.insn_length;
		ev->u.dbg.vector = 1;
		break;
	case VM_EVENT_REASON_MEM_ACCESS:
		ev->kind = TEV_MEM_ACCESS;
		ev->u.mem.gfn = q->u.mem_access.gfn;
		ev->u.mem.offset = (uint32_t)q->u.mem_access.offset;
		ev->u.mem.gla = q->u.mem_access.gla;
		ev->u.mem.access = q->u.mem_access.flags & MEM_ACCESS_RWX;
		if (q->u.mem_access.flags & MEM_ACCESS_GLA_VALID)
			ev->u.mem.flags |= TMEM_GLA_VALID;
		if (q->u.mem_access.flags & MEM_ACCESS_FAULT_WITH_GLA)
			ev->u.mem.flags |= TMEM_FAULT_WITH_GLA;
		if (q->u.mem_access.flags & MEM_ACCESS_FAULT_IN_GPT)
			ev->u.mem.flags |= TMEM_FAULT_IN_GPT;
		break;
	case VM_EVENT_REASON_EMUL_UNIMPLEMENTED:
		ev->kind = TEV_EMUL_UNIMPL;
		break;
	default:
		ev->kind = TEV_OTHER;
		break;
	}
}

int xen_ev_next(struct target *t, struct target_event *ev)
{
	struct xen_target *x = to_xen(t);
	vm_event_request_t q;

	if (!x->ring_page)
		return 0;
	ack_channel(x);
	pull_requests(x);
	if (!x->nqueue)
		return 0;
	q = x->queue[0];
	memmove(x->queue, x->queue + 1, (x->nqueue - 1) * sizeof(*x->queue));
	x->nqueue--;
	if (q.version != VM_EVENT_INTERFACE_VERSION)
		log_warn(LC_TRAP, "vm_event request version %u, expected %u",
			 q.version, VM_EVENT_INTERFACE_VERSION);
	if (q.vcpu_id >= t->nr_vcpus) {
		log_warn(LC_TRAP, "vm_event request for vCPU %u ignored", q.vcpu_id);
		return 0;
	}
	translate_event(&q, ev);
	if (ev->kind == TEV_DEBUG_EXC && !(ev->u.dbg.pending_dbg & 0x400full)) {
		struct hvm_hw_cpu cpu;

		if (xc_domain_hvm_getcontext_partial(x->xch, x->domid,
						     HVM_SAVE_CODE(CPU),
						     (uint16_t)q.vcpu_id, &cpu,
						     sizeof(cpu)) == 0)
			ev->u.dbg.pending_dbg |= cpu.dr6 & 0x400full;
	}
	if (ev->held) {
		x->held[q.vcpu_id] = true;
		x->held_req[q.vcpu_id] = q;
	}
	log_dbg(LC_TRAP, "event: reason %u vCPU %u rip 0x%llx%s", q.reason,
		q.vcpu_id, (unsigned long long)q.data.regs.x86.rip,
		ev->held ? " (held)" : "");
	if (q.reason == VM_EVENT_REASON_DEBUG_EXCEPTION)
		log_dbg(LC_TRAP, "debug exception: pending_dbg 0x%llx type %u insn_length %u dr6 0x%llx rflags 0x%llx",
			(unsigned long long)q.u.debug_exception.pending_dbg,
			q.u.debug_exception.type, q.u.debug_exception.insn_length,
			(unsigned long long)q.data.regs.x86.dr6,
			(unsigned long long)q.data.regs.x86.rflags);
	return 1;
}

void xen_regs_to_event(const struct x86_regs *r, struct vm_event_regs_x86 *v)
{
	v->rax = r->gpr[X86_RAX]; v->rcx = r->gpr[X86_RCX];
	v->rdx = r->gpr[X86_RDX]; v->rbx = r->gpr[X86_RBX];
	v->rsp = r->gpr[X86_RSP]; v->rbp = r->gpr[X86_RBP];
	v->rsi = r->gpr[X86_RSI]; v->rdi = r->gpr[X86_RDI];
	v->r8 = r->gpr[X86_R8]; v->r9 = r->gpr[X86_R9];
	v->r10 = r->gpr[X86_R10]; v->r11 = r->gpr[X86_R11];
	v->r12 = r->gpr[X86_R12]; v->r13 = r->gpr[X86_R13];
	v->r14 = r->gpr[X86_R14]; v->r15 = r->gpr[X86_R15];
	v->rflags = r->rflags;
	v->rip = r->rip;
}

int xen_put_response(struct xen_target *x, const vm_event_response_t *rsp)
{
	RING_IDX idx = x->back_ring.rsp_prod_pvt;

	memcpy(RING_GET_RESPONSE(&x->back_ring, idx), rsp, sizeof(*rsp));
	x->back_ring.rsp_prod_pvt = idx + 1;
	RING_PUSH_RESPONSES(&x->back_ring);
	if (xenevtchn_notify(x->xce, (evtchn_port_t)x->local_port) < 0)
		return -(errno ? errno : EIO);
	return 0;
}

int xen_ev_respond(struct target *t, const struct target_event *ev,
		      const struct target_response *r)
{
	struct xen_target *x = to_xen(t);
	const vm_event_request_t *q;
	vm_event_response_t rsp;
	unsigned v = ev->vcpu;
	bool carry;
	int rc;

	if (v >= t->nr_vcpus || !x->held[v])
		return -EINVAL;
	q = &x->held_req[v];
	if (r->regs) {
		/* kept pending, or loaded now if they change more */
		rc = xen_set_regs(t, v, r->regs);
		if (rc)
			return rc;
	}
	/*
	 * Xen 4.17 applies SET_REGISTERS when the vCPU next runs, before
	 * the emulation the response asks for. The registers share a union
	 * with the instruction bytes to emulate (SET_EMUL_INSN_DATA), and a
	 * response that keeps the vCPU held would leave them waiting in Xen,
	 * where a later HVM context load would not replace them: those
	 * releases cannot carry them, which go first through the context.
	 */
	carry = !r->keep_held && !(r->emulate && r->insn && r->insn_len);
	if (x->regs_pending[v] && !carry) {
		rc = xen_regs_flush(t, v);
		if (rc)
			return rc;
	}
	memset(&rsp, 0, sizeof(rsp));
	rsp.version = VM_EVENT_INTERFACE_VERSION;
	rsp.vcpu_id = q->vcpu_id;
	rsp.reason = q->reason;
	rsp.altp2m_idx = q->altp2m_idx;
	rsp.u = q->u;
	rsp.flags = r->keep_held ? 0 : (q->flags & VM_EVENT_FLAG_VCPU_PAUSED);
	if (r->toggle_singlestep)
		rsp.flags |= VM_EVENT_FLAG_TOGGLE_SINGLESTEP;
	if (r->set_view) {
		rsp.flags |= VM_EVENT_FLAG_ALTERNATE_P2M;
		rsp.altp2m_idx = (uint16_t)r->view;
	}
	if (r->emulate) {
		rsp.flags |= VM_EVENT_FLAG_EMULATE;
		if (r->emulate_nowrite)
			rsp.flags |= VM_EVENT_FLAG_EMULATE_NOWRITE;
		if (r->insn && r->insn_len) {
			unsigned n = r->insn_len;

			if (n > sizeof(rsp.data.emul.insn.data))
				n = sizeof(rsp.data.emul.insn.data);
			rsp.flags |= VM_EVENT_FLAG_SET_EMUL_INSN_DATA;
			memcpy(rsp.data.emul.insn.data, r->insn, n);
		}
	}
	if (x->regs_pending[v] && carry) {
		rsp.flags |= VM_EVENT_FLAG_SET_REGISTERS;
		rsp.data.regs.x86 = q->data.regs.x86;
		xen_regs_to_event(&x->pending_regs[v], &rsp.data.regs.x86);
	}
	rc = xen_put_response(x, &rsp);
	if (rc)
		return rc;
	/* Xen took the response in the notification: it has them */
	if (rsp.flags & VM_EVENT_FLAG_SET_REGISTERS) {
		x->regs_pending[v] = false;
		x->regs_sent[v] = true;
		x->sent_regs[v] = x->pending_regs[v];
		x->sent_over[v] = q->data.regs.x86;
		log_dbg(LC_TRAP, "vCPU %u released with its new registers (rip 0x%llx rflags 0x%llx)",
			v, (unsigned long long)rsp.data.regs.x86.rip,
			(unsigned long long)rsp.data.regs.x86.rflags);
	}
	if (!r->keep_held)
		x->held[v] = false;
	if (r->toggle_singlestep) {
		x->ss_armed[v] = !x->ss_armed[v];
		journal_note(t->journal, "ss %u %s", v,
			     x->ss_armed[v] ? "on" : "off");
	}
	return 0;
}

int xen_ev_monitor(struct target *t, enum target_monitor what, bool on)
{
	struct xen_target *x = to_xen(t);
	int rc;

	if (x->mon[what] == on)
		return 0;
	switch (what) {
	case TMON_SWBP:
		rc = xc_monitor_software_breakpoint(x->xch, x->domid, on);
		break;
	case TMON_SINGLESTEP:
		rc = xc_monitor_singlestep(x->xch, x->domid, on);
		break;
	case TMON_DEBUG_EXC:
		rc = xc_monitor_debug_exceptions(x->xch, x->domid, on, true);
		break;
	case TMON_EMUL_UNIMPL:
		rc = xc_monitor_emul_unimplemented(x->xch, x->domid, on);
		break;
	case TMON_INGUEST_PF:
		/* Xen's flag means "do not report page-table walks" */
		rc = xc_monitor_inguest_pagefault(x->xch, x->domid, on);
		break;
	default:
		return -EINVAL;
	}
	if (rc < 0) {
		int e = errno ? errno : EIO;
		static const char *const names[] = {
			"software breakpoint", "single-step", "debug exception",
			"unimplemented emulation", "in-guest page fault",
		};

		target_set_error(t, "turning %s %s events: %s%s", on ? "on" : "off",
				 names[what], strerror(e),
				 what == TMON_SINGLESTEP && e == EOPNOTSUPP ?
				 " (Xen's single-step needs Intel's monitor trap flag)" : "");
		return -e;
	}
	x->mon[what] = on;
	return 0;
}

int xen_ev_singlestep(struct target *t, unsigned vcpu, bool on)
{
	struct xen_target *x = to_xen(t);

	if (vcpu >= t->nr_vcpus)
		return -EINVAL;
	if (x->ss_armed[vcpu] == on)
		return 0;
	if (on)
		journal_note(t->journal, "ss %u on", vcpu);
	if (xc_domain_debug_control(x->xch, x->domid,
				    on ? XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON :
					 XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF,
				    vcpu) < 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "single-step %s on vCPU %u: %s", on ? "on" : "off",
				 vcpu, strerror(e));
		return -e;
	}
	x->ss_armed[vcpu] = on;
	if (!on)
		journal_note(t->journal, "ss %u off", vcpu);
	return 0;
}

int xen_ev_inject(struct target *t, unsigned vcpu, unsigned vector,
		     unsigned type, uint32_t error_code, unsigned insn_len,
		     uint64_t cr2)
{
	struct xen_target *x = to_xen(t);

	if (!x->dmod)
		return -EOPNOTSUPP;
	if (xendevicemodel_inject_event(x->dmod, (domid_t)x->domid, (int)vcpu,
					(uint8_t)vector, (uint8_t)type, error_code,
					(uint8_t)insn_len, cr2) < 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "injecting vector %u into vCPU %u: %s", vector,
				 vcpu, strerror(e));
		return -e;
	}
	return 0;
}

static xenmem_access_t to_xenmem(uint8_t a)
{
	switch (a & TACC_RWX) {
	case 0: return XENMEM_access_n;
	case TACC_R: return XENMEM_access_r;
	case TACC_W: return XENMEM_access_w;
	case TACC_R | TACC_W: return XENMEM_access_rw;
	case TACC_X: return XENMEM_access_x;
	case TACC_R | TACC_X: return XENMEM_access_rx;
	case TACC_W | TACC_X: return XENMEM_access_wx;
	default: return XENMEM_access_rwx;
	}
}

static uint8_t from_xenmem(xenmem_access_t a)
{
	switch (a) {
	case XENMEM_access_n: return 0;
	case XENMEM_access_r: return TACC_R;
	case XENMEM_access_w: return TACC_W;
	case XENMEM_access_rw: return TACC_R | TACC_W;
	case XENMEM_access_x: return TACC_X;
	case XENMEM_access_rx: return TACC_R | TACC_X;
	case XENMEM_access_wx: return TACC_W | TACC_X;
	default: return TACC_RWX;
	}
}

int xen_ev_set_access(struct target *t, unsigned view, const uint64_t *gfns,
			 const uint8_t *access, unsigned n)
{
	struct xen_target *x = to_xen(t);
	unsigned i;

	for (i = 0; i < n; i++) {
		int rc = view ?
			xc_altp2m_set_mem_access(x->xch, x->domid, (uint16_t)view,
						 gfns[i], to_xenmem(access[i])) :
			xc_set_mem_access(x->xch, x->domid, to_xenmem(access[i]),
					  gfns[i], 1);

		if (rc < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "setting access of frame 0x%llx: %s%s",
					 (unsigned long long)gfns[i], strerror(e),
					 e == EINVAL || e == EOPNOTSUPP ?
					 " (Xen's mem_access needs an HVM/PVH guest on Intel VT-x with EPT)" : "");
			return -e;
		}
	}
	return 0;
}

int xen_ev_get_access(struct target *t, unsigned view, uint64_t gfn,
			 uint8_t *access)
{
	struct xen_target *x = to_xen(t);
	xenmem_access_t a;
	int rc = view ? xc_altp2m_get_mem_access(x->xch, x->domid,
						 (uint16_t)view, gfn, &a) :
			xc_get_mem_access(x->xch, x->domid, gfn, &a);

	if (rc < 0)
		return -(errno ? errno : EIO);
	*access = from_xenmem(a);
	return 0;
}

/* Teardown: answers what is held and whatever arrives until the ring is
 * quiet; a vCPU we were stepping stops being stepped. */
static void answer_all(struct target *t)
{
	struct xen_target *x = to_xen(t);
	struct target_event ev;
	struct target_response r;
	unsigned v, round;

	for (round = 0; round < 64; round++) {
		bool any = false;

		while (xen_ev_next(t, &ev) > 0)
			any = true;
		for (v = 0; v < t->nr_vcpus; v++) {
			if (!x->held[v])
				continue;
			memset(&r, 0, sizeof(r));
			ev.vcpu = v;
			r.toggle_singlestep = x->ss_armed[v];
			if (xen_ev_respond(t, &ev, &r))
				log_warn(LC_TRAP, "teardown: releasing vCPU %u failed", v);
			any = true;
		}
		if (!any)
			break;
	}
}

/* Whether vCPU v, released with registers, has not run since: its CPU
 * record still holds the registers of the event that release answered. */
static bool not_run_since_release(struct target *t, unsigned v)
{
	struct xen_target *x = to_xen(t);
	struct vm_event_regs_x86 now;
	struct x86_regs r;

	if (xen_get_regs(t, v, &r))
		return false;
	/* what a release sets, as it is now, over the event's registers
	 * (copied bytewise, so that padding compares equal) */
	memcpy(&now, &x->sent_over[v], sizeof(now));
	xen_regs_to_event(&r, &now);
	return !memcmp(&now, &x->sent_over[v], sizeof(now));
}

#define APPLY_WAIT_MS	2000
#define APPLY_POLL_MS	2

/* Teardown, the domain paused by us: lets it run until every vCPU a
 * release carried registers to ran (or APPLY_WAIT_MS passed), answering
 * what arrives meanwhile, and pauses it again. */
static void wait_applied(struct target *t)
{
	struct xen_target *x = to_xen(t);
	struct timespec nap = { 0, APPLY_POLL_MS * 1000000L };
	unsigned v, n, left, waited;

	for (v = 0, left = 0; v < t->nr_vcpus; v++)
		left += x->regs_sent[v];
	if (!left)
		return;
	/* the teardown's pause and any of ours that a stop left */
	for (n = 0; n < 1 + x->our_pauses; n++) {
		if (xc_domain_unpause(x->xch, x->domid) < 0) {
			log_warn(LC_TRAP, "teardown: unpausing domain %u: %s", x->domid,
				 strerror(errno));
			break;
		}
		journal_note(t->journal, "unpause");
	}
	for (waited = 0; waited < APPLY_WAIT_MS; waited += APPLY_POLL_MS) {
		answer_all(t);
		for (v = 0, left = 0; v < t->nr_vcpus; v++) {
			if (x->regs_sent[v] && !not_run_since_release(t, v))
				x->regs_sent[v] = false;
			left += x->regs_sent[v];
		}
		if (!left)
			break;
		nanosleep(&nap, NULL);
	}
	while (n--) {
		journal_note(t->journal, "pause");
		if (xc_domain_pause(x->xch, x->domid) < 0)
			log_warn(LC_TRAP, "teardown: pausing domain %u again: %s", x->domid,
				 strerror(errno));
	}
	log_dbg(LC_TRAP, "teardown: %u vCPU(s) had not run %u ms after their release", left, waited);
}

/*
 * With the domain paused: the registers a release carried to vCPU v, if
 * it has not run since, made pending again, for the teardown to load
 * before the ring goes. Its CPU record still holds the registers of the
 * event that release answered then (Xen loads them at the vCPU's next
 * run); once it ran, it holds the sent ones or what the vCPU made of them.
 */
static void resend_unapplied(struct target *t, unsigned v)
{
	struct xen_target *x = to_xen(t);

	if (!x->regs_sent[v] || x->held[v] || x->regs_pending[v])
		return;
	x->regs_sent[v] = false;
	if (!not_run_since_release(t, v))
		return;
	x->pending_regs[v] = x->sent_regs[v];
	x->regs_pending[v] = true;
	log_info(LC_TRAP, "teardown: vCPU %u has not run since its release carried new registers "
		 "(rip 0x%llx rflags 0x%llx): they go through the HVM context", v,
		 (unsigned long long)x->sent_regs[v].rip,
		 (unsigned long long)x->sent_regs[v].rflags);
}

/*
 * Teardown in Xen's order (tools/misc/xen-access.c): with the domain
 * paused, answer everything outstanding, turn each monitor off, then the
 * ring, then the event channel. Every step is tried; failures are logged.
 */
void xen_ev_disable(struct target *t)
{
	struct xen_target *x = to_xen(t);
	unsigned v, i;
	bool paused = false;

	if (!x->ring_page) {
		for (v = 0; v < t->nr_vcpus; v++)
			if (x->ss_armed[v])
				xen_ev_singlestep(t, v, false);
		return;
	}
	journal_note(t->journal, "pause");
	if (xc_domain_pause(x->xch, x->domid) == 0) {
		paused = true;
	} else {
		journal_note(t->journal, "unpause");
		log_warn(LC_TRAP, "teardown: pausing domain %u: %s", x->domid,
			 strerror(errno));
	}
	for (v = 0; v < t->nr_vcpus; v++)
		if (x->ss_armed[v] && !x->held[v])
			xen_ev_singlestep(t, v, false);
	for (i = 0; i <= TMON_INGUEST_PF; i++)
		if (x->mon[i] && xen_ev_monitor(t, (enum target_monitor)i, false))
			log_warn(LC_TRAP, "teardown: %s", target_strerror(t));
	/* held vCPUs go, their pending registers with their releases */
	answer_all(t);
	/*
	 * Xen applies registers a release carried when the vCPU next runs,
	 * and drops them when the ring goes (vm_event_cleanup_domain): the
	 * domain runs until each such vCPU ran. Those that did not (paused
	 * by another tool, say) get theirs through the whole HVM context,
	 * which Xen loads into every vCPU (on AMD with a stale CR2, see
	 * xen-regs.c), so it is the way out only.
	 */
	if (paused) {
		wait_applied(t);
		for (v = 0; v < t->nr_vcpus; v++)
			resend_unapplied(t, v);
	}
	for (v = 0; v < t->nr_vcpus; v++) {
		if (!x->regs_pending[v] || !xen_regs_flush(t, v))
			continue;
		log_err(LC_TRAP, "teardown: vCPU %u's new registers could not be written: %s",
			v, target_strerror(t));
		x->regs_pending[v] = false;
	}
	answer_all(t);
	if (xc_monitor_disable(x->xch, x->domid) < 0)
		log_warn(LC_TRAP, "teardown: disabling the monitor ring of domain %u: %s",
			 x->domid, strerror(errno));
	else
		journal_note(t->journal, "ring off");
	if (x->xce) {
		if (x->local_port >= 0 &&
		    xenevtchn_unbind(x->xce, (evtchn_port_t)x->local_port) < 0)
			log_warn(LC_TRAP, "teardown: unbinding the event channel: %s",
				 strerror(errno));
		xenevtchn_close(x->xce);
		x->xce = NULL;
	}
	x->local_port = -1;
	munmap(x->ring_page, XC_PAGE_SIZE);
	x->ring_page = NULL;
	x->nqueue = 0;
	if (paused && xc_domain_unpause(x->xch, x->domid) < 0)
		log_warn(LC_TRAP, "teardown: unpausing domain %u: %s", x->domid,
			 strerror(errno));
	else if (paused)
		journal_note(t->journal, "unpause");
	log_info(LC_TRAP, "monitor ring of domain %u removed", x->domid);
}
