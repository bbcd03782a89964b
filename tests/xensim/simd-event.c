// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The monitor side of Xen 4.17: the vm_event ring (xen/common/vm_event.c:
 * vm_event_enable, vm_event_disable, vm_event_put_request,
 * vm_event_mark_and_pause, vm_event_wake*, vm_event_wait_slot,
 * vm_event_resume), monitor_traps (xen/common/monitor.c), the monitor
 * domctl (xen/common/monitor.c, xen/arch/x86/monitor.c), vm_event_fill_regs
 * (xen/arch/x86/vm_event.c), and the event channels that connect the ring
 * to its listener (xen/common/event_channel.c with Linux's evtchn driver
 * on the dom0 side).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

/* ---- event channels ---- */

int sim_evtchn_alloc_unbound(struct sim_domain *d, uint32_t remote_dom,
			     bool xen_bound)
{
	unsigned p;

	for (p = 1; p < d->nports; p++)
		if (d->ports[p].state == ECS_FREE)
			break;
	if (p >= d->nports) {
		unsigned n = d->nports ? d->nports * 2 : 8;

		if (n > 4096)
			return -ENOSPC;
		d->ports = xrealloc(d->ports, n * sizeof(*d->ports));
		memset(d->ports + d->nports, 0,
		       (n - d->nports) * sizeof(*d->ports));
		if (!d->nports)
			p = 1;
		d->nports = n;
	}
	d->ports[p].state = ECS_UNBOUND;
	d->ports[p].remote_domid = remote_dom;
	d->ports[p].xen_bound = xen_bound;
	d->ports[p].peer = 0;
	return (int)p;
}

void sim_evtchn_free(struct sim *s, struct sim_domain *d, uint32_t port)
{
	struct sim_evtchn *e;

	if (port == 0 || port >= d->nports)
		return;
	e = &d->ports[port];
	if (e->state == ECS_INTERDOMAIN && e->peer < s->nlports) {
		/* evtchn_close: the dom0 end becomes unbound. */
		s->lports[e->peer].rport = 0;
	}
	memset(e, 0, sizeof(*e));
}

static void lport_deliver(struct sim *s, uint32_t lp)
{
	struct sim_lport *l = &s->lports[lp];

	if (!l->owner)
		return;
	if (l->masked) {
		l->pending = true;
		return;
	}
	l->masked = true;
	l->pending = false;
	if (send(l->owner->evfd, &lp, sizeof(lp),
		 MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(lp))
		log_warn(LC_TRAP, "cannot signal event channel port %u to its listener",
			 lp);
}

void sim_evtchn_notify_guest_port(struct sim *s, struct sim_domain *d,
				  uint32_t port)
{
	struct sim_evtchn *e;

	if (port == 0 || port >= d->nports)
		return;
	e = &d->ports[port];
	/* notify_via_xen_event_channel: only an interdomain channel has
	 * someone to tell; otherwise the notification is lost. */
	if (e->state == ECS_INTERDOMAIN && e->peer < s->nlports)
		lport_deliver(s, e->peer);
}

static int lport_alloc(struct sim *s)
{
	unsigned p;

	for (p = 1; p < s->nlports; p++)
		if (!s->lports[p].owner)
			return (int)p;
	if (s->nlports >= 65536)
		return -ENOSPC;
	p = s->nlports ? s->nlports : 1;
	s->nlports = s->nlports ? s->nlports * 2 : 32;
	s->lports = xrealloc(s->lports, s->nlports * sizeof(*s->lports));
	memset(s->lports + p, 0, (s->nlports - p) * sizeof(*s->lports));
	if (p == 1)
		memset(s->lports, 0, sizeof(*s->lports));
	return (int)p;
}

static void lport_close(struct sim *s, uint32_t lp)
{
	struct sim_lport *l = &s->lports[lp];
	struct sim_domain *d;

	if (l->rport && (d = sim_domain_get(s, l->rdom)) &&
	    l->rport < d->nports &&
	    d->ports[l->rport].state == ECS_INTERDOMAIN &&
	    d->ports[l->rport].peer == lp) {
		/* The guest's end returns to unbound, bindable by dom0. */
		d->ports[l->rport].state = ECS_UNBOUND;
		d->ports[l->rport].remote_domid = 0;
		d->ports[l->rport].peer = 0;
	}
	memset(l, 0, sizeof(*l));
}

int sim_evtchn_op(struct sim *s, struct sim_conn *c, unsigned op,
		  const struct xsim_evtchn_req *r)
{
	struct sim_domain *d;
	struct sim_evtchn *e;
	struct sim_lport *l;
	int lp;

	switch (op) {
	case XSIM_EVTCHN_BIND_INTERDOMAIN:
		if (r->a == 0 || r->a == DOMID_SELF)
			return -EINVAL;
		d = sim_domain_get(s, r->a);
		if (!d)
			return -ESRCH;
		if (r->b == 0 || r->b >= d->nports)
			return -EINVAL;
		e = &d->ports[r->b];
		if (e->state != ECS_UNBOUND || e->remote_domid != 0)
			return -EINVAL;
		lp = lport_alloc(s);
		if (lp < 0)
			return lp;
		l = &s->lports[lp];
		l->owner = c;
		l->rdom = r->a;
		l->rport = r->b;
		l->masked = false;
		l->pending = false;
		e->state = ECS_INTERDOMAIN;
		e->peer = (uint32_t)lp;
		log_dbg(LC_TRAP, "dom0 port %d bound to d%u port %u", lp, r->a,
			r->b);
		return lp;
	case XSIM_EVTCHN_UNBIND:
	case XSIM_EVTCHN_NOTIFY:
	case XSIM_EVTCHN_UNMASK:
		if (r->a == 0 || r->a >= s->nlports ||
		    s->lports[r->a].owner != c) {
			/* Linux's evtchn driver: not a port of this file */
			return op == XSIM_EVTCHN_UNMASK ? 0 : -ENOTCONN;
		}
		l = &s->lports[r->a];
		if (op == XSIM_EVTCHN_UNBIND) {
			lport_close(s, r->a);
			return 0;
		}
		if (op == XSIM_EVTCHN_UNMASK) {
			l->masked = false;
			if (l->pending)
				lport_deliver(s, r->a);
			return 0;
		}
		/* EVTCHNOP_send to a Xen-bound port: monitor_notification */
		if (l->rport && (d = sim_domain_get(s, l->rdom)) &&
		    l->rport < d->nports && d->ports[l->rport].xen_bound &&
		    d->ring && d->ring->xen_port == l->rport)
			sim_vm_event_resume(d);
		return 0;
	default:
		return -EINVAL;
	}
}

void sim_evtchn_conn_closed(struct sim *s, struct sim_conn *c)
{
	unsigned p;

	for (p = 1; p < s->nlports; p++)
		if (s->lports[p].owner == c)
			lport_close(s, p);
}

void sim_evtchn_domain_gone(struct sim *s, struct sim_domain *d)
{
	unsigned p;

	for (p = 1; p < s->nlports; p++)
		if (s->lports[p].owner && s->lports[p].rdom == d->domid)
			s->lports[p].rport = 0;
}

/* ---- the ring ---- */

int sim_vm_event_enable(struct sim *s, struct sim_domain *d, uint32_t *port)
{
	struct sim_ring *ring;
	uint64_t gfn = d->monitor_ring_pfn;
	int p;

	(void)s;
	if (d->ring)
		return -EBUSY;
	if (!gfn)
		return -EOPNOTSUPP;
	/* prepare_ring_for_helper: the ring gfn must hold a page. */
	if (!sim_gfn_populated(d, gfn))
		return -EINVAL;
	ring = xcalloc(1, sizeof(*ring));
	ring->slot = d->p2m[gfn];
	ring->sring = (vm_event_sring_t *)(d->mem + ((uint64_t)ring->slot
						     << SIM_PAGE_SHIFT));
	FRONT_RING_INIT(&ring->front, ring->sring, SIM_PAGE_SIZE);
	p = sim_evtchn_alloc_unbound(d, 0, true);
	if (p < 0) {
		free(ring);
		return p;
	}
	ring->xen_port = (uint32_t)p;
	ring->last_wake = d->nr_vcpus - 1;
	d->ring = ring;
	d->ring_gen++;
	*port = ring->xen_port;
	log_info(LC_TRAP, "d%u: monitor ring enabled (gfn 0x%llx, port %u, %u slots)",
		 d->domid, (unsigned long long)gfn, ring->xen_port,
		 (unsigned)RING_SIZE(&ring->front));
	return 0;
}

static void cleanup_vcpu_vm_event(struct sim_domain *d)
{
	unsigned i;

	/* vm_event_cleanup_domain frees v->arch.vm_event: pending
	 * emulation and register writes are dropped. */
	for (i = 0; i < d->nr_vcpus; i++) {
		d->vcpu[i].emulate_flags = 0;
		d->vcpu[i].set_gprs = false;
	}
	d->mon.emulate_each_rep = false;
}

void sim_ring_free(struct sim_domain *d)
{
	free(d->ring);
	d->ring = NULL;
}

int sim_vm_event_disable(struct sim_domain *d)
{
	struct sim_ring *ring = d->ring;
	unsigned i;
	int rc = 0;

	for (i = 0; i < d->nr_vcpus; i++)
		if (d->vcpu[i].waiting_slot)
			rc = -EBUSY;
	if (!rc) {
		sim_evtchn_free(d->sim, d, ring->xen_port);
		for (i = 0; i < d->nr_vcpus; i++) {
			if (d->vcpu[i].ring_blocked) {
				d->vcpu[i].ring_blocked = false;
				ring->blocked--;
			}
		}
		cleanup_vcpu_vm_event(d);
		sim_ring_free(d);
		log_info(LC_TRAP, "d%u: monitor ring disabled", d->domid);
	}
	/* vm_event_domctl calls arch_monitor_cleanup_domain whatever
	 * vm_event_disable said: every monitor setting is reset. */
	memset(&d->mon, 0, sizeof(d->mon));
	sim_update_timer(d->sim);
	return rc;
}

static unsigned ring_available(const struct sim_ring *r)
{
	return RING_FREE_REQUESTS(&r->front);
}

static void put_request(struct sim_vcpu *v, vm_event_request_t *req)
{
	struct sim_domain *d = v->d;
	struct sim_ring *r = d->ring;
	RING_IDX prod = r->front.req_prod_pvt;

	req->version = VM_EVENT_INTERFACE_VERSION;
	memcpy(RING_GET_REQUEST(&r->front, prod), req, sizeof(*req));
	r->front.req_prod_pvt = prod + 1;
	RING_PUSH_REQUESTS(&r->front);
	r->posted++;
	v->c.events++;
	if (req->reason < 16)
		v->c.reason[req->reason]++;
	log_dbg(LC_TRAP, "d%uv%u: request reason %u flags %#x posted (%u free)",
		d->domid, v->id, req->reason, req->flags, ring_available(r));
	/* vm_event_put_request: a black eye for a vCPU that would
	 * otherwise fill the ring with asynchronous events. */
	if (ring_available(r) < d->nr_vcpus && !v->vm_event_pause &&
	    !v->ring_blocked) {
		v->ring_blocked = true;
		v->c.ring_blocks++;
		r->blocked++;
	}
	sim_evtchn_notify_guest_port(d->sim, d, r->xen_port);
}

static void post_event(struct sim_vcpu *v, vm_event_request_t *req,
		       bool sync)
{
	struct sim_domain *d = v->d;

	req->vcpu_id = v->id;
	if (sync) {
		req->flags |= VM_EVENT_FLAG_VCPU_PAUSED;
		v->vm_event_pause++;
		v->held_gen = d->ring_gen;
		v->resync = true;
	}
	if (d->altp2m_active) {
		req->flags |= VM_EVENT_FLAG_ALTERNATE_P2M;
		req->altp2m_idx = (uint16_t)v->altp2m_idx;
	}
	sim_fill_regs(v, req);
	put_request(v, req);
}

enum sim_trap sim_monitor_traps(struct sim_vcpu *v, bool sync,
				vm_event_request_t *req,
				enum sim_wait_cont cont)
{
	struct sim_ring *r = v->d->ring;

	if (!r)
		return TRAP_NO_RING;
	if (!ring_available(r)) {
		/* vm_event_wait_slot: the guest vCPU sleeps on the queue. */
		v->waiting_slot = true;
		v->wait_req = *req;
		v->wait_sync = sync;
		v->wait_cont = cont;
		v->wait_seq = r->wait_seq++;
		v->c.ring_waits++;
		log_dbg(LC_TRAP, "d%uv%u: ring full, waiting for a slot",
			v->d->domid, v->id);
		return TRAP_WAIT;
	}
	post_event(v, req, sync);
	return sync ? TRAP_SYNC : TRAP_ASYNC;
}

static void wake_queued(struct sim_domain *d)
{
	struct sim_ring *r = d->ring;

	while (ring_available(r)) {
		struct sim_vcpu *first = NULL;
		unsigned i;

		for (i = 0; i < d->nr_vcpus; i++) {
			struct sim_vcpu *v = &d->vcpu[i];

			if (v->waiting_slot &&
			    (!first || v->wait_seq < first->wait_seq))
				first = v;
		}
		if (!first)
			return;
		first->waiting_slot = false;
		post_event(first, &first->wait_req, first->wait_sync);
		if (first->wait_cont == CONT_DELIVER_DB)
			sim_deliver_guest_db(first);
		first->wait_cont = CONT_NONE;
		if (!d->ring)
			return;
	}
}

static void wake_blocked(struct sim_domain *d)
{
	struct sim_ring *r = d->ring;
	unsigned avail = ring_available(r), j;

	if (!avail || !r->blocked)
		return;
	for (j = 0; j < d->nr_vcpus; j++) {
		unsigned k = (r->last_wake + 1 + j) % d->nr_vcpus;
		struct sim_vcpu *v = &d->vcpu[k];

		if (!r->blocked || !avail)
			break;
		if (v->ring_blocked) {
			v->ring_blocked = false;
			avail--;
			r->blocked--;
			r->last_wake = k;
		}
	}
}

static void vm_event_wake(struct sim_domain *d)
{
	unsigned i;

	for (i = 0; i < d->nr_vcpus; i++) {
		if (d->vcpu[i].waiting_slot) {
			wake_queued(d);
			return;
		}
	}
	wake_blocked(d);
}

static void toggle_singlestep(struct sim_vcpu *v,
			      const vm_event_response_t *rsp)
{
	if (!(rsp->flags & (VM_EVENT_FLAG_TOGGLE_SINGLESTEP |
			    VM_EVENT_FLAG_FAST_SINGLESTEP)))
		return;
	if (!sim_is_hvm(v->d) || v->d->vendor == SIM_AMD)
		return;	/* !hvm_is_singlestep_supported(): ignored */
	if (rsp->flags & VM_EVENT_FLAG_TOGGLE_SINGLESTEP) {
		v->single_step = !v->single_step;
		if (!v->single_step)
			v->mtf_pending = false;
	} else {
		v->d->unmodelled_flags |= VM_EVENT_FLAG_FAST_SINGLESTEP;
		log_warn(LC_TRAP, "d%uv%u: VM_EVENT_FLAG_FAST_SINGLESTEP is not modelled; treated as single-step on",
			 v->d->domid, v->id);
		v->single_step = true;
	}
}

static void emulate_check(struct sim_vcpu *v, const vm_event_response_t *rsp)
{
	if (!(rsp->flags & VM_EVENT_FLAG_EMULATE)) {
		v->emulate_flags = 0;
		return;
	}
	switch (rsp->reason) {
	case VM_EVENT_REASON_MEM_ACCESS:
		if (v->d->quirk_no_progress) {
			/* injected fault: the vCPU retries, faults again */
			log_dbg(LC_TRAP, "d%uv%u: EMULATE ignored (quirk no-progress)",
				v->d->domid, v->id);
			v->emulate_flags = 0;
			break;
		}
		if (sim_mem_access_emulate_check(v, rsp))
			v->emulate_flags = rsp->flags;
		break;
	case VM_EVENT_REASON_SOFTWARE_BREAKPOINT:
		if (rsp->flags & VM_EVENT_FLAG_SET_EMUL_INSN_DATA) {
			v->emulate_flags = rsp->flags;
			memcpy(v->emul_insn, rsp->data.emul.insn.data,
			       sizeof(v->emul_insn));
		}
		break;
	case VM_EVENT_REASON_DESCRIPTOR_ACCESS:
		v->emulate_flags = rsp->flags;
		break;
	default:
		break;
	}
}

int sim_vm_event_resume(struct sim_domain *d)
{
	struct sim_ring *r = d->ring;
	unsigned guard = 0;

	if (!r)
		return -ENODEV;
	while (d->ring && RING_HAS_UNCONSUMED_RESPONSES(&r->front)) {
		vm_event_response_t rsp;
		RING_IDX cons = r->front.rsp_cons;
		struct sim_vcpu *v;

		if (++guard > 4 * RING_SIZE(&r->front)) {
			log_warn(LC_TRAP, "d%u: the listener's rsp_prod (%u) runs %u ahead of Xen's rsp_cons: stopped after %u responses",
				 d->domid, r->sring->rsp_prod,
				 r->sring->rsp_prod - cons, guard - 1);
			break;
		}
		xen_rmb();
		memcpy(&rsp, RING_GET_RESPONSE(&r->front, cons), sizeof(rsp));
		r->front.rsp_cons = cons + 1;
		r->sring->rsp_event = cons + 2;
		r->consumed++;
		vm_event_wake(d);

		if (rsp.version != VM_EVENT_INTERFACE_VERSION) {
			log_warn(LC_TRAP, "d%u: vm_event interface version mismatch (%u)",
				 d->domid, rsp.version);
			continue;
		}
		if (rsp.vcpu_id >= d->nr_vcpus)
			continue;
		v = &d->vcpu[rsp.vcpu_id];
		log_dbg(LC_TRAP, "d%uv%u: response reason %u flags %#x%s",
			d->domid, v->id, rsp.reason, rsp.flags,
			v->vm_event_pause ? "" : " (vCPU not held: flags ignored)");
		if (!v->vm_event_pause)
			continue;
		emulate_check(v, &rsp);
		/* vm_event_register_write_resume: VM_EVENT_FLAG_DENY only
		 * matters for deferred control-register writes, which
		 * xensim does not defer. */
		toggle_singlestep(v, &rsp);
		if ((rsp.flags & VM_EVENT_FLAG_ALTERNATE_P2M) &&
		    d->altp2m_active)
			sim_altp2m_switch_vcpu(v, rsp.altp2m_idx);
		if (rsp.flags & VM_EVENT_FLAG_SET_REGISTERS) {
			v->gprs = rsp.data.regs.x86;
			v->set_gprs = true;
			/* Xen applies them as for any hold; but the real Xen
			 * 4.17 on SVM was seen to apply registers released
			 * with a hold of a ring since removed not when the
			 * vCPU next ran but at a later schedule-in, over what
			 * it did meanwhile: counted, for the tests */
			if (v->held_gen != d->ring_gen) {
				d->stale_hold_regs++;
				log_warn(LC_TRAP, "d%uv%u: registers sent with the release of a hold of "
					 "an earlier monitor ring", d->domid, v->id);
			}
		}
		if (rsp.flags & (VM_EVENT_FLAG_GET_NEXT_INTERRUPT |
				 VM_EVENT_FLAG_RESET_VMTRACE |
				 VM_EVENT_FLAG_RESET_FORK_STATE |
				 VM_EVENT_FLAG_RESET_FORK_MEMORY)) {
			d->unmodelled_flags |= rsp.flags &
				(VM_EVENT_FLAG_GET_NEXT_INTERRUPT |
				 VM_EVENT_FLAG_RESET_VMTRACE |
				 VM_EVENT_FLAG_RESET_FORK_STATE |
				 VM_EVENT_FLAG_RESET_FORK_MEMORY);
			log_warn(LC_TRAP, "d%uv%u: response flags %#x are not modelled by xensim and were ignored",
				 d->domid, v->id, rsp.flags);
		}
		if (rsp.flags & VM_EVENT_FLAG_VCPU_PAUSED) {
			v->vm_event_pause--;
			if (!v->vm_event_pause)
				sim_vcpu_released(v);
		}
	}
	sim_update_timer(d->sim);
	return 0;
}

/* ---- vm_event_fill_regs ---- */

static void pack_seg(struct vm_event_x86_selector_reg *s, uint32_t limit,
		     uint32_t attr)
{
	s->limit = (attr & (1u << 11)) ? limit >> 12 : limit;
	s->ar = attr & 0xfff;
}

void sim_fill_regs(const struct sim_vcpu *v, vm_event_request_t *req)
{
	const struct hvm_hw_cpu *r = &v->r;
	struct vm_event_regs_x86 *x = &req->data.regs.x86;

	x->rax = r->rax;
	x->rcx = r->rcx;
	x->rdx = r->rdx;
	x->rbx = r->rbx;
	x->rsp = r->rsp;
	x->rbp = r->rbp;
	x->rsi = r->rsi;
	x->rdi = r->rdi;
	x->r8 = r->r8;
	x->r9 = r->r9;
	x->r10 = r->r10;
	x->r11 = r->r11;
	x->r12 = r->r12;
	x->r13 = r->r13;
	x->r14 = r->r14;
	x->r15 = r->r15;
	x->rflags = r->rflags;
	x->rip = r->rip;
	x->dr7 = r->dr7;
	x->cr0 = r->cr0;
	x->cr2 = r->cr2;
	x->cr3 = r->cr3;
	x->cr4 = r->cr4;
	x->sysenter_cs = r->sysenter_cs;
	x->sysenter_esp = r->sysenter_esp;
	x->sysenter_eip = r->sysenter_eip;
	x->msr_efer = r->msr_efer;
	x->msr_star = r->msr_star;
	x->msr_lstar = r->msr_lstar;
	x->fs_base = r->fs_base;
	pack_seg(&x->fs, r->fs_limit, r->fs_arbytes);
	x->fs_sel = (uint16_t)r->fs_sel;
	x->gs_base = r->gs_base;
	pack_seg(&x->gs, r->gs_limit, r->gs_arbytes);
	x->gs_sel = (uint16_t)r->gs_sel;
	x->cs_base = (uint32_t)r->cs_base;
	pack_seg(&x->cs, r->cs_limit, r->cs_arbytes);
	x->cs_sel = (uint16_t)r->cs_sel;
	x->ss_base = (uint32_t)r->ss_base;
	pack_seg(&x->ss, r->ss_limit, r->ss_arbytes);
	x->ss_sel = (uint16_t)r->ss_sel;
	x->ds_base = (uint32_t)r->ds_base;
	pack_seg(&x->ds, r->ds_limit, r->ds_arbytes);
	x->ds_sel = (uint16_t)r->ds_sel;
	x->es_base = (uint32_t)r->es_base;
	pack_seg(&x->es, r->es_limit, r->es_arbytes);
	x->es_sel = (uint16_t)r->es_sel;
	x->gdtr_base = r->gdtr_base;
	x->gdtr_limit = (uint16_t)r->gdtr_limit;
	x->shadow_gs = r->shadow_gs;
	x->dr6 = r->dr6;
	x->vmtrace_pos = ~0ull;
}

/* ---- the monitor domctl ---- */

uint32_t sim_monitor_capabilities(const struct sim_domain *d)
{
	uint32_t caps;

	if (!sim_is_hvm(d))
		return 0;
	caps = (1u << XEN_DOMCTL_MONITOR_EVENT_GUEST_REQUEST) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_MOV_TO_MSR) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_INTERRUPT) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_CPUID) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_DEBUG_EXCEPTION) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_WRITE_CTRLREG) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_EMUL_UNIMPLEMENTED) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_INGUEST_PAGEFAULT) |
	       (1u << XEN_DOMCTL_MONITOR_EVENT_VMEXIT) |
	       /* both VMX and SVM set set_descriptor_access_exiting */
	       (1u << XEN_DOMCTL_MONITOR_EVENT_DESC_ACCESS);
	if (d->vendor == SIM_INTEL)	/* hvm_is_singlestep_supported */
		caps |= 1u << XEN_DOMCTL_MONITOR_EVENT_SINGLESTEP;
	return caps;
}

/* Flips one boolean setting: -EEXIST when it is already so. */
static int set_flag(struct sim_domain *d, bool *flag, bool requested)
{
	if (*flag == requested)
		return -EEXIST;
	*flag = requested;
	sim_update_timer(d->sim);
	return 0;
}

int sim_monitor_domctl(struct sim_domain *d, struct xen_domctl_monitor_op *m)
{
	struct sim_monitor *mon = &d->mon;
	bool requested = false;

	switch (m->op) {
	case XEN_DOMCTL_MONITOR_OP_ENABLE:
		requested = true;
		/* fall through */
	case XEN_DOMCTL_MONITOR_OP_DISABLE:
		if (m->event > 31)
			return -EINVAL;
		if (!(sim_monitor_capabilities(d) & (1u << m->event)))
			return -EOPNOTSUPP;
		break;
	case XEN_DOMCTL_MONITOR_OP_GET_CAPABILITIES:
		m->event = sim_monitor_capabilities(d);
		return 0;
	case XEN_DOMCTL_MONITOR_OP_EMULATE_EACH_REP:
		/* "meaningless" without a vm_event subscriber */
		if (!d->ring)
			return -EINVAL;
		mon->emulate_each_rep = !!m->event;
		return 0;
	case XEN_DOMCTL_MONITOR_OP_CONTROL_REGISTERS:
		mon->control_register_values = true;
		return 0;
	default:
		return -EOPNOTSUPP;
	}

	switch (m->event) {
	case XEN_DOMCTL_MONITOR_EVENT_GUEST_REQUEST:
		if (mon->guest_request == requested)
			return -EEXIST;
		mon->guest_request_sync = m->u.guest_request.sync;
		mon->guest_request = requested;
		mon->guest_request_userspace = m->u.guest_request.allow_userspace;
		return 0;
	case XEN_DOMCTL_MONITOR_EVENT_WRITE_CTRLREG: {
		unsigned idx = m->u.mov_to_cr.index;
		unsigned bit;

		if (idx >= 4 || m->u.mov_to_cr.pad1 || m->u.mov_to_cr.pad2)
			return -EINVAL;
		bit = 1u << idx;
		if (!!(mon->write_ctrlreg_enabled & bit) == requested)
			return -EEXIST;
		if (m->u.mov_to_cr.sync)
			mon->write_ctrlreg_sync |= bit;
		else
			mon->write_ctrlreg_sync &= ~bit;
		if (m->u.mov_to_cr.onchangeonly)
			mon->write_ctrlreg_onchangeonly |= bit;
		else
			mon->write_ctrlreg_onchangeonly &= ~bit;
		if (requested) {
			mon->write_ctrlreg_mask[idx] = m->u.mov_to_cr.bitmask;
			mon->write_ctrlreg_enabled |= bit;
		} else {
			mon->write_ctrlreg_mask[idx] = 0;
			mon->write_ctrlreg_enabled &= ~bit;
		}
		return 0;
	}
	case XEN_DOMCTL_MONITOR_EVENT_MOV_TO_MSR:
		return sim_unmodelled(d->sim, "MSR write monitoring (guests in xensim write no MSRs)");
	case XEN_DOMCTL_MONITOR_EVENT_SINGLESTEP:
		return set_flag(d, &mon->singlestep, requested);
	case XEN_DOMCTL_MONITOR_EVENT_INGUEST_PAGEFAULT:
		return set_flag(d, &mon->inguest_pagefault_disabled, requested);
	case XEN_DOMCTL_MONITOR_EVENT_DESC_ACCESS:
		return set_flag(d, &mon->descriptor_access, requested);
	case XEN_DOMCTL_MONITOR_EVENT_SOFTWARE_BREAKPOINT:
		return set_flag(d, &mon->software_breakpoint, requested);
	case XEN_DOMCTL_MONITOR_EVENT_DEBUG_EXCEPTION:
		if (mon->debug_exception == requested)
			return -EEXIST;
		mon->debug_exception = requested;
		mon->debug_exception_sync = requested ?
					    !!m->u.debug_exception.sync : false;
		return 0;
	case XEN_DOMCTL_MONITOR_EVENT_CPUID:
		return set_flag(d, &mon->cpuid, requested);
	case XEN_DOMCTL_MONITOR_EVENT_EMUL_UNIMPLEMENTED:
		return set_flag(d, &mon->emul_unimplemented, requested);
	case XEN_DOMCTL_MONITOR_EVENT_VMEXIT:
		if (mon->vmexit == requested)
			return -EEXIST;
		mon->vmexit = requested;
		mon->vmexit_sync = m->u.vmexit.sync;
		return 0;
	default:
		/* XEN_DOMCTL_MONITOR_EVENT_INTERRUPT is a capability but has
		 * no case in arch_monitor_domctl_event either. */
		return -EOPNOTSUPP;
	}
}
