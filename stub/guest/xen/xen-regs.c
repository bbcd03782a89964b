// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The live Xen target's vCPU registers: an HVM/PVH vCPU's from its CPU
 * save record, a PV vCPU's from its vcpu_guest_context (conversions in
 * arch/x86/xen-save.c), and register writes, which load the whole
 * domain's CPU records back with care for what loading them resets.
 */
#include "stub/guest/xen/xen-internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/hvm/save.h>

#include "arch/x86/xen-save.h"
#include "stub/base/alloc.h"
#include "stub/base/log.h"

/* Xen's CPU record of an HVM vCPU. 0 or -errno with the reason. */
static int read_cpu_record(struct target *t, unsigned vcpu,
			   struct hvm_hw_cpu *cpu)
{
	struct xen_target *x = to_xen(t);

	memset(cpu, 0, sizeof(*cpu));
	if (xc_domain_hvm_getcontext_partial(x->xch, x->domid, HVM_SAVE_CODE(CPU),
					     (uint16_t)vcpu, cpu, sizeof(*cpu)) < 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "reading vCPU %u's HVM context: %s", vcpu,
				 strerror(e));
		return -e;
	}
	return 0;
}

static bool has_pending(const struct xen_target *x, unsigned vcpu)
{
	return x->regs_pending && vcpu < x->base.nr_vcpus && x->regs_pending[vcpu];
}

int xen_get_regs(struct target *t, unsigned vcpu, struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);

	if (x->pv) {
		vcpu_guest_context_any_t any;

		if (xc_vcpu_getcontext(x->xch, x->domid, vcpu, &any) < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "reading vCPU %u's context: %s", vcpu,
					 strerror(e));
			return -e;
		}
		xen_vcpu_ctx_to_regs(&any, x->pv_width, true, r);
		xen_pv_fixed_mode(r, x->pv_width);
		return 0;
	} else {
		struct hvm_hw_cpu cpu;
		int rc = read_cpu_record(t, vcpu, &cpu);

		if (rc)
			return rc;
		/* what its release will give it */
		if (has_pending(x, vcpu))
			xen_event_regs_to_hvm_cpu(&x->pending_regs[vcpu], &cpu);
		xen_hvm_cpu_to_regs(&cpu, r);
		return 0;
	}
}

/* Finds the CPU record of a vCPU in a whole-domain HVM context. */
static struct hvm_hw_cpu *find_cpu_record(uint8_t *ctx, uint32_t size,
					  unsigned vcpu)
{
	uint32_t off = 0;

	while (off + sizeof(struct hvm_save_descriptor) <= size) {
		struct hvm_save_descriptor *d = (void *)(ctx + off);

		off += sizeof(*d);
		if (d->length > size - off)
			return NULL;
		if (d->typecode == HVM_SAVE_CODE(CPU) && d->instance == vcpu &&
		    d->length >= sizeof(struct hvm_hw_cpu))
			return (struct hvm_hw_cpu *)(ctx + off);
		if (d->typecode == HVM_SAVE_CODE(END))
			return NULL;
		off += d->length;
	}
	return NULL;
}

/*
 * Shrinks a whole-domain HVM context, in place, to what a register write
 * needs: the header, every vCPU's CPU and MTRR records, the end marker.
 * Writing back the rest (LAPIC registers, timers, interrupt controllers)
 * would undo what Xen did between our get and our set even with the domain
 * paused: an event-channel upcall Xen posts to a vLAPIC then is lost and
 * the vCPU never gets another interrupt (seen with Xen 4.17 and a PVH
 * guest). The CPU records of all vCPUs stay, because Xen's hvm_load()
 * takes down every vCPU whose CPU record is missing. The MTRR records
 * stay because on AMD with nested paging loading a CPU record resets the
 * guest's PAT MSR to its power-on value (Xen 4.17 svm_vmcb_restore():
 * vmcb_set_g_pat(vmcb, MSR_IA32_CR_PAT_RESET)), and the MTRR record, loaded
 * after it, puts the guest's PAT back; its MTRRs are loaded unchanged,
 * which Xen does not act on. Returns the new size, 0 if malformed.
 */
static uint32_t keep_cpu_records(uint8_t *ctx, uint32_t size)
{
	uint32_t off = 0, out = 0;

	while (off + sizeof(struct hvm_save_descriptor) <= size) {
		struct hvm_save_descriptor d;
		uint32_t len;

		memcpy(&d, ctx + off, sizeof(d));
		if (d.length > size - off - sizeof(d))
			return 0;
		len = (uint32_t)sizeof(d) + d.length;
		if (d.typecode == HVM_SAVE_CODE(END)) {
			memmove(ctx + out, ctx + off, sizeof(d));
			return out + (uint32_t)sizeof(d);
		}
		if (d.typecode == HVM_SAVE_CODE(HEADER) ||
		    d.typecode == HVM_SAVE_CODE(CPU) ||
		    d.typecode == HVM_SAVE_CODE(MTRR)) {
			memmove(ctx + out, ctx + off, len);
			out += len;
		}
		off += len;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Loading a CPU record sets that vCPU's TSC to the record's value, which
 * is the TSC as of the getcontext (Xen 4.17 hvm_load_cpu_ctxt():
 * hvm_set_guest_tsc_fixed(v, ctxt.tsc, sync_tsc of the load)): left alone,
 * every register write would set the TSC of every vCPU back by the time
 * between our get and our set (a fifth of a second under emulation), and
 * a guest whose clock runs on the TSC would see time go backwards. Each
 * CPU record's TSC is moved on by ns nanoseconds at the guest's TSC rate
 * (the header's gtsc_khz, the rate Xen gives the guest in every TSC mode).
 * ctx was shrunk by keep_cpu_records().
 */
static void advance_tsc(uint8_t *ctx, uint32_t size, uint64_t ns)
{
	uint32_t off = 0, khz = 0;
	uint64_t ticks = 0;

	while (off + sizeof(struct hvm_save_descriptor) <= size) {
		struct hvm_save_descriptor d;

		memcpy(&d, ctx + off, sizeof(d));
		off += (uint32_t)sizeof(d);
		if (d.length > size - off || d.typecode == HVM_SAVE_CODE(END))
			return;
		if (d.typecode == HVM_SAVE_CODE(HEADER) &&
		    d.length >= sizeof(struct hvm_save_header)) {
			struct hvm_save_header h;

			memcpy(&h, ctx + off, sizeof(h));
			khz = h.gtsc_khz;
			/* µs resolution keeps ns * khz within 64 bits */
			ticks = ns / 1000 * khz / 1000;
		} else if (d.typecode == HVM_SAVE_CODE(CPU) && khz &&
			   d.length >= sizeof(struct hvm_hw_cpu)) {
			struct hvm_hw_cpu *c = (struct hvm_hw_cpu *)(ctx + off);

			c->tsc += ticks;
		}
		off += d.length;
	}
}

static int set_hvm_regs(struct target *t, unsigned vcpu, const struct x86_regs *r);

/* Loads r into vCPU vcpu through the whole HVM context, the domain paused
 * around it; what was pending for the vCPU is then in Xen. */
static int load_hvm_regs(struct target *t, unsigned vcpu,
			 const struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);
	int rc, urc;

	/*
	 * Xen loads an HVM context whole: every vCPU's CPU record. A vCPU
	 * that ran between our read and our write would be put back where
	 * it was at the read, its registers older than its memory, and the
	 * guest would crash later, far from here. Every caller writes
	 * registers with the domain paused today; pausing here makes that
	 * a property of this function, not of its callers.
	 */
	rc = xen_pause(t);
	if (rc)
		return rc;
	rc = set_hvm_regs(t, vcpu, r);
	urc = xen_unpause(t);
	if (rc == 0 && has_pending(x, vcpu)) {
		x->regs_pending[vcpu] = false;
		log_dbg(LC_TRAP, "vCPU %u: its pending registers went with the whole HVM context",
			vcpu);
	}
	return rc ? rc : urc;
}

int xen_set_regs(struct target *t, unsigned vcpu,
			const struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);
	struct hvm_hw_cpu cpu;
	int rc;

	if (x->pv) {
		vcpu_guest_context_any_t any;

		if (xc_vcpu_getcontext(x->xch, x->domid, vcpu, &any) < 0)
			return -(errno ? errno : EIO);
		xen_regs_to_vcpu_ctx(r, x->pv_width, &any);
		if (xc_vcpu_setcontext(x->xch, x->domid, vcpu, &any) < 0) {
			int e = errno ? errno : EIO;

			target_set_error(t, "writing vCPU %u's context: %s", vcpu,
					 strerror(e));
			return -e;
		}
		return 0;
	}
	/*
	 * Loading the whole HVM context downs and wakes every vCPU and
	 * resets more than registers (see set_hvm_regs()): avoided when the
	 * write changes nothing, and, for a vCPU held by an event, when it
	 * changes only what the event's response can set
	 * (VM_EVENT_FLAG_SET_REGISTERS).
	 */
	rc = read_cpu_record(t, vcpu, &cpu);
	if (rc)
		return rc;
	if (has_pending(x, vcpu))
		xen_event_regs_to_hvm_cpu(&x->pending_regs[vcpu], &cpu);
	switch (xen_hvm_cpu_change(&cpu, r)) {
	case XEN_CPU_SAME:
		return 0;
	case XEN_CPU_EVENT_REGS:
		if (!x->ring_page || !x->held[vcpu])
			break;
		x->pending_regs[vcpu] = *r;
		x->pending_regs[vcpu].rflags |= XEN_RFLAGS_MBS;
		x->regs_pending[vcpu] = true;
		log_dbg(LC_TRAP, "vCPU %u: new registers kept for its release (rip 0x%llx rflags 0x%llx)",
			vcpu, (unsigned long long)r->rip,
			(unsigned long long)x->pending_regs[vcpu].rflags);
		return 0;
	case XEN_CPU_OTHER:
		break;
	}
	return load_hvm_regs(t, vcpu, r);
}

int xen_regs_flush(struct target *t, unsigned vcpu)
{
	struct x86_regs r;
	int rc;

	if (!has_pending(to_xen(t), vcpu))
		return 0;
	rc = xen_get_regs(t, vcpu, &r);
	if (rc == 0)
		rc = load_hvm_regs(t, vcpu, &r);
	return rc;
}

static int set_hvm_regs(struct target *t, unsigned vcpu, const struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);
	struct hvm_hw_cpu *cpu;
	uint64_t got_at;
	uint8_t *old;
	int size;

	size = xc_domain_hvm_getcontext(x->xch, x->domid, NULL, 0);
	if (size <= 0)
		return -(errno ? errno : EIO);
	if ((uint32_t)size > x->ctx_size) {
		free(x->ctx);
		x->ctx = xmalloc((size_t)size);
		x->ctx_size = (uint32_t)size;
	}
	got_at = mono_ns();
	size = xc_domain_hvm_getcontext(x->xch, x->domid, x->ctx, x->ctx_size);
	if (size <= 0)
		return -(errno ? errno : EIO);
	size = (int)keep_cpu_records(x->ctx, (uint32_t)size);
	if (!size) {
		target_set_error(t, "the HVM context of domain %u is malformed (no end record)",
				 x->domid);
		return -EIO;
	}
	cpu = find_cpu_record(x->ctx, (uint32_t)size, vcpu);
	if (!cpu) {
		target_set_error(t, "vCPU %u has no CPU record in the HVM context", vcpu);
		return -ENOENT;
	}
	old = xmalloc((size_t)size);
	memcpy(old, x->ctx, (size_t)size);
	xen_regs_to_hvm_cpu(r, cpu);
	advance_tsc(x->ctx, (uint32_t)size, mono_ns() - got_at);
	if (xc_domain_hvm_setcontext(x->xch, x->domid, x->ctx, (uint32_t)size) < 0) {
		int e = errno ? errno : EIO;

		/* hvm_load() takes every vCPU down before it checks the
		 * records and brings up only those it loaded: load the
		 * context as it was, so that a refusal loses no vCPU */
		advance_tsc(old, (uint32_t)size, mono_ns() - got_at);
		if (xc_domain_hvm_setcontext(x->xch, x->domid, old, (uint32_t)size) < 0)
			target_set_error(t, "Xen refused vCPU %u's new registers (%s), and putting "
					 "the old ones back failed too (%s): vCPUs of domain %u may be down",
					 vcpu, strerror(e), strerror(errno), x->domid);
		else
			target_set_error(t, "Xen refused vCPU %u's new registers: %s "
					 "(a value it does not accept?); they are unchanged",
					 vcpu, strerror(e));
		free(old);
		return -e;
	}
	free(old);
	return 0;
}
