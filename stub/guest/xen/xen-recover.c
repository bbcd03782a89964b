// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The live Xen target's recovery: what a xenstub killed with -9 left in
 * a domain and only Xen calls can undo (single-steps, monitors and the
 * ring, vCPUs held by its events, trap flags, pauses), undone from its
 * journal.
 */
#include "stub/guest/xen/xen-internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stub/base/alloc.h"
#include "stub/base/log.h"
#include "stub/guest/journal.h"
#include "stub/guest/vmem.h"

/* How long the vCPUs whose trap flag goes back get to raise their
 * debug exception (one instruction, or an interrupt handler and one);
 * after it the caller writes the flag through the HVM context. */
#define TF_WAIT_MS	10000
#define TF_POLL_MS	20

/* Whether vCPU v's trap flag is what the journal says it was. */
static int tf_is_back(struct target *t, unsigned v, const struct journal_vcpu *jv)
{
	struct x86_regs r;
	int rc = xen_get_regs(t, v, &r);

	if (rc)
		return rc;
	return !!(r.rflags & X86_RFLAGS_TF) == jv->tf_was;
}

/*
 * Whether vCPU v's next instruction is a hlt: Xen completes it itself,
 * and with the trap flag set it injects that step's #DB into the guest
 * (svm's __update_guest_eip) instead of reporting it to the monitor.
 */
static bool next_is_hlt(struct target *t, unsigned v)
{
	struct x86_regs r;
	struct aspace as;
	struct vmem *m;
	uint8_t b = 0;
	bool hlt = false;

	if (xen_get_regs(t, v, &r))
		return false;
	m = vmem_new(t, 4, false);
	vmem_aspace_of(&r, &as);
	if (vmem_read(m, &as, r.rip, &b, 1, NULL) == 0)
		hlt = b == 0xf4;
	vmem_free(m);
	return hlt;
}

/*
 * One release per vCPU on the fresh ring, none with registers: it lets
 * go a vCPU an event of the dead listener holds and is ignored for any
 * other (Xen matches responses by vCPU and acts on one only while an
 * event holds it). Registers sent with such a release are not applied
 * when the vCPU next runs (seen on Xen 4.17 with SVM: its next
 * instruction still trapped) but later, over whatever it did meanwhile,
 * so a trap flag never goes back this way.
 */
static void release_all(struct target *t)
{
	struct xen_target *x = to_xen(t);
	vm_event_response_t rsp;
	unsigned v;

	for (v = 0; v < t->nr_vcpus; v++) {
		memset(&rsp, 0, sizeof(rsp));
		rsp.version = VM_EVENT_INTERFACE_VERSION;
		rsp.vcpu_id = v;
		rsp.flags = VM_EVENT_FLAG_VCPU_PAUSED;
		xen_put_response(x, &rsp);
		/* Xen takes them off the ring at once */
		if ((v + 1) % RING_SIZE(&x->back_ring) == 0)
			xc_monitor_resume(x->xch, x->domid);
	}
	xc_monitor_resume(x->xch, x->domid);
}

/*
 * With the debug-exception monitor on, lets the domain run until each
 * vCPU in want, which runs with the trap flag the dead xenstub set,
 * raised its #DB as an event of the fresh ring; the answer to that event
 * carries the flag back (VM_EVENT_FLAG_SET_REGISTERS, which Xen applies
 * for an event of the ring it answers) and the teardown (xen_ev_disable)
 * waits until the vCPU ran with it. Reading the flag in the vCPU's
 * registers would not do: inside an interrupt handler it reads clear
 * while the interrupted context, on the stack, still has it. Clears
 * want[v] and the journal's tf_set for each vCPU whose flag went back.
 * The dead xenstub's pauses are undone first (*undone_pauses counts
 * them); the domain is paused again on return.
 */
static void wait_tf_back(struct target *t, struct journal_state *st, bool *want,
			 unsigned *undone_pauses)
{
	struct xen_target *x = to_xen(t);
	struct timespec nap = { 0, TF_POLL_MS * 1000000L };
	struct target_event ev;
	struct x86_regs r;
	unsigned v, left, waited;

	for (; *undone_pauses < st->pauses; (*undone_pauses)++)
		if (xc_domain_unpause(x->xch, x->domid) < 0)
			break;
	xen_unpause(t);
	for (waited = 0; waited <= TF_WAIT_MS; waited += TF_POLL_MS) {
		while (xen_ev_next(t, &ev) > 0) {
			struct target_response rsp;

			if (!ev.held)
				continue;
			memset(&rsp, 0, sizeof(rsp));
			if (ev.kind == TEV_DEBUG_EXC && want[ev.vcpu] &&
			    xen_get_regs(t, ev.vcpu, &r) == 0) {
				r.rflags = journal_rflags(&st->vcpu[ev.vcpu], r.rflags);
				rsp.regs = &r;
				want[ev.vcpu] = false;
				st->vcpu[ev.vcpu].tf_set = false;
				log_info(LC_TRAP, "recover: vCPU %u's trap flag (%s) goes back with the "
					 "release of its debug exception at %#llx", ev.vcpu,
					 st->vcpu[ev.vcpu].tf_was ? "set" : "clear",
					 (unsigned long long)r.rip);
			}
			if (xen_ev_respond(t, &ev, &rsp))
				log_warn(LC_TRAP, "recover: releasing vCPU %u: %s", ev.vcpu,
					 target_strerror(t));
		}
		for (v = 0, left = 0; v < t->nr_vcpus; v++)
			left += want[v];
		if (!left)
			break;
		nanosleep(&nap, NULL);
	}
	if (xen_pause(t))
		log_warn(LC_TRAP, "recover: %s", target_strerror(t));
	for (v = 0; v < t->nr_vcpus; v++)
		if (want[v])
			log_warn(LC_TRAP, "recover: vCPU %u raised no debug exception in %u ms: its "
				 "trap flag goes back through the HVM context", v, TF_WAIT_MS);
}

/* Undoes what a dead xenstub left that only Xen calls can undo. */
int xen_ev_recover(struct target *t, struct journal_state *st)
{
	struct xen_target *x = to_xen(t);
	unsigned v, i, undone = 0;
	bool *want, any = false;
	int rc = 0;

	for (v = 0; v < st->nvcpu && v < t->nr_vcpus; v++) {
		if (!st->vcpu[v].single_step)
			continue;
		if (xc_domain_debug_control(x->xch, x->domid,
					    XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF, v) < 0) {
			log_warn(LC_TRAP, "single-step of vCPU %u could not be turned off: %s",
				 v, strerror(errno));
			rc = -EIO;
		}
	}
	want = xcalloc(t->nr_vcpus ? t->nr_vcpus : 1, sizeof(*want));
	for (v = 0; v < st->nvcpu && v < t->nr_vcpus; v++) {
		const struct journal_vcpu *jv = &st->vcpu[v];

		if (!jv->tf_set || jv->dr_saved || x->pv)
			continue;
		if (tf_is_back(t, v, jv) == 1) {
			st->vcpu[v].tf_set = false;
			continue;
		}
		/* such a vCPU's flag goes back through the HVM context (the
		 * caller's), before the domain runs */
		if (next_is_hlt(t, v)) {
			log_info(LC_TRAP, "recover: vCPU %u is at a hlt: its trap flag goes back "
				 "through the HVM context", v);
			continue;
		}
		want[v] = any = true;
	}
	if (st->ring || any) {
		/* every kind of monitor off (Xen answers EEXIST for one that
		 * is off already), then the ring itself */
		xc_monitor_software_breakpoint(x->xch, x->domid, false);
		xc_monitor_singlestep(x->xch, x->domid, false);
		xc_monitor_debug_exceptions(x->xch, x->domid, false, false);
		xc_monitor_emul_unimplemented(x->xch, x->domid, false);
		xc_monitor_inguest_pagefault(x->xch, x->domid, false);
		memset(x->mon, 0, sizeof(x->mon));
		if (st->ring && xc_monitor_disable(x->xch, x->domid) < 0) {
			log_warn(LC_TRAP, "the monitor ring could not be removed: %s",
				 strerror(errno));
			rc = -EIO;
		}
		/*
		 * vCPUs held by events of the dead listener stay paused when
		 * its ring goes. Xen matches responses by vCPU, acts on one
		 * only while an event holds it, and never lets the hold count
		 * go below zero (vm_event_resume, vm_event_vcpu_unpause): so a
		 * fresh ring with one release per vCPU lets exactly the held
		 * ones go, and touches no other.
		 */
		if (xen_ev_enable(t) == 0) {
			if (any && xen_ev_monitor(t, TMON_DEBUG_EXC, true))
				log_warn(LC_TRAP, "recover: the debug-exception monitor: %s",
					 target_strerror(t));
			release_all(t);
			if (any)
				wait_tf_back(t, st, want, &undone);
			xen_ev_disable(t);
		} else if (st->ring) {
			log_warn(LC_TRAP, "vCPUs held by the dead xenstub's events could not be released: %s",
				 target_strerror(t));
			rc = -EIO;
		}
	}
	free(want);
	for (i = undone; i < st->pauses; i++) {
		if (xc_domain_unpause(x->xch, x->domid) < 0) {
			log_warn(LC_TRAP, "a pause of the dead xenstub could not be undone: %s",
				 strerror(errno));
			rc = -EIO;
			break;
		}
	}
	return rc;
}
