// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The live Xen target's recovery: what a xenstub killed with -9 left in
 * a domain and only Xen calls can undo (single-steps, monitors and the
 * ring, vCPUs held by its events, pauses), undone from its journal.
 */
#include "stub/guest/xen/xen-internal.h"

#include <string.h>

#include "stub/base/log.h"
#include "stub/guest/journal.h"

/* Undoes what a dead xenstub left that only Xen calls can undo. */
int xen_ev_recover(struct target *t, const struct journal_state *st)
{
	struct xen_target *x = to_xen(t);
	unsigned v, i;
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
	if (st->ring) {
		/* every kind of monitor off (Xen answers EEXIST for one that
		 * is off already), then the ring itself */
		xc_monitor_software_breakpoint(x->xch, x->domid, false);
		xc_monitor_singlestep(x->xch, x->domid, false);
		xc_monitor_debug_exceptions(x->xch, x->domid, false, false);
		xc_monitor_emul_unimplemented(x->xch, x->domid, false);
		xc_monitor_inguest_pagefault(x->xch, x->domid, false);
		memset(x->mon, 0, sizeof(x->mon));
		if (xc_monitor_disable(x->xch, x->domid) < 0) {
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
			for (v = 0; v < t->nr_vcpus; v++) {
				vm_event_response_t rsp;

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
			xen_ev_disable(t);
		} else {
			log_warn(LC_TRAP, "vCPUs held by the dead xenstub's events could not be released: %s",
				 target_strerror(t));
			rc = -EIO;
		}
	}
	for (i = 0; i < st->pauses; i++) {
		if (xc_domain_unpause(x->xch, x->domid) < 0) {
			log_warn(LC_TRAP, "a pause of the dead xenstub could not be undone: %s",
				 strerror(errno));
			rc = -EIO;
			break;
		}
	}
	return rc;
}
