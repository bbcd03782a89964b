/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The live Xen target's state and what its files share: xen.c (opening,
 * domain state, pause, closing, the ops tables), xen-mem.c (foreign
 * mappings), xen-regs.c (vCPU registers), xen-events.c (the vm_event
 * ring, monitors, responses, mem_access) and xen-recover.c (undoing what
 * a dead xenstub left). Private to stub/guest/xen/.
 */
#ifndef XENSTUB_GUEST_XEN_INTERNAL_H
#define XENSTUB_GUEST_XEN_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/io/ring.h>
#include <xen/vm_event.h>

#include "stub/guest/target.h"

/*
 * Everything changed in the domain is tracked here at the level of Xen
 * objects (our pauses, the ring, enabled monitors, armed single-steps,
 * held vCPUs) so that close() undoes it in Xen's order even when the
 * caller could not.
 */
struct xen_target {
	struct target base;
	xc_interface *xch;
	xenforeignmemory_handle *fmem;
	xendevicemodel_handle *dmod;
	xenevtchn_handle *xce;
	uint32_t domid;
	char name[128];
	bool hvm;
	bool pv;
	unsigned pv_width;	/* PV: 4 or 8 */
	bool read_only;

	unsigned our_pauses;	/* xc_domain_pause calls not yet undone */

	/* monitor ring */
	void *ring_page;
	vm_event_back_ring_t back_ring;
	uint32_t remote_port;
	int local_port;
	uint32_t mon_caps;	/* XEN_DOMCTL_MONITOR_EVENT_* bits */
	/* SVM host whose Xen never reads a vCPU's CR2 back from the VMCB
	 * (before 4.20.4, 4.21.2, 4.22): its HVM context has a stale CR2,
	 * which a load writes into every vCPU; said once when it happens */
	bool stale_cr2, stale_cr2_said;
	bool mon[TMON_INGUEST_PF + 1];
	bool *ss_armed;		/* per vCPU: debug_control single-step on */
	bool *held;		/* per vCPU: a request waits for our answer */
	vm_event_request_t *held_req;
	/*
	 * Per vCPU: registers written while it was held that Xen does not
	 * have yet. They differ from its CPU record only in what a response's
	 * VM_EVENT_FLAG_SET_REGISTERS sets (rax..r15, rip, rflags), and go to
	 * Xen with its release (xen_ev_respond), or through the whole HVM
	 * context (xen_regs_flush) when the release cannot carry them.
	 * xen_get_regs() returns them meanwhile.
	 */
	bool *regs_pending;
	struct x86_regs *pending_regs;
	/*
	 * Per vCPU: registers a release carried, until the vCPU is known to
	 * have run (Xen applies them at its next run, and drops them when
	 * the ring goes): what was sent, and the registers of the event it
	 * answered, which the vCPU's CPU record keeps until then.
	 */
	bool *regs_sent;
	struct x86_regs *sent_regs;
	struct vm_event_regs_x86 *sent_over;
	/* requests read from the ring but not handed out yet */
	vm_event_request_t *queue;
	unsigned nqueue, qcap;

	/* HVM context blob, for register writes */
	uint8_t *ctx;
	uint32_t ctx_size;
};

static inline struct xen_target *to_xen(struct target *t)
{
	return (struct xen_target *)t;
}

static inline int xen_errno(int rc)
{
	int e = errno;

	if (rc >= 0)
		return 0;
	return e ? -e : -EIO;
}

/* ---- xen-mem.c: target_ops.map and .unmap (see target.h) ---- */
int xen_map(struct target *t, uint64_t gfn, unsigned count, bool write,
	    void **ptrs, void **handle);
void xen_unmap(struct target *t, void *handle, unsigned count);

/* ---- xen-regs.c: target_ops.get_regs and .set_regs ---- */
int xen_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r);
/* A write to an HVM vCPU held by an event that changes only what
 * SET_REGISTERS sets is kept pending (see struct xen_target); a write that
 * changes nothing does nothing. */
int xen_set_regs(struct target *t, unsigned vcpu, const struct x86_regs *r);
/* Loads a held vCPU's pending registers through the whole HVM context,
 * for a release that cannot carry them. 0 (also when nothing is pending)
 * or -errno with the reason; they stay pending on failure. */
int xen_regs_flush(struct target *t, unsigned vcpu);
/* xen.c: one pause of the domain by us (journalled), and its undoing */
int xen_pause(struct target *t);
int xen_unpause(struct target *t);

/* ---- xen-events.c: target_event_ops (see target.h for each contract) ---- */
int xen_ev_enable(struct target *t);
/* Teardown in Xen's order; also what close() does with events on. */
void xen_ev_disable(struct target *t);
int xen_ev_fd(struct target *t);
int xen_ev_next(struct target *t, struct target_event *ev);
int xen_ev_respond(struct target *t, const struct target_event *ev,
		   const struct target_response *r);
int xen_ev_monitor(struct target *t, enum target_monitor what, bool on);
int xen_ev_singlestep(struct target *t, unsigned vcpu, bool on);
int xen_ev_inject(struct target *t, unsigned vcpu, unsigned vector,
		  unsigned type, uint32_t error_code, unsigned insn_len,
		  uint64_t cr2);
int xen_ev_set_access(struct target *t, unsigned view, const uint64_t *gfns,
		      const uint8_t *access, unsigned n);
int xen_ev_get_access(struct target *t, unsigned view, uint64_t gfn,
		      uint8_t *access);
/* What a response's VM_EVENT_FLAG_SET_REGISTERS sets (rax..r15, rip,
 * rflags), from r into v; the rest of v is left as it is. */
void xen_regs_to_event(const struct x86_regs *r, struct vm_event_regs_x86 *v);
/* Puts one response on the ring and notifies Xen. 0 or -errno. */
int xen_put_response(struct xen_target *x, const vm_event_response_t *rsp);

/* ---- xen-recover.c: target_event_ops.recover ---- */
int xen_ev_recover(struct target *t, struct journal_state *st);

#endif
