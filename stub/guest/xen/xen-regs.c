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

/*
 * The record of a whole-domain HVM context at *off: its descriptor in *d,
 * its payload returned and *off moved past it; NULL at the end marker or
 * at a record that runs past size.
 */
static uint8_t *next_record(uint8_t *ctx, uint32_t size, uint32_t *off,
			    struct hvm_save_descriptor *d)
{
	uint8_t *p;

	if (size - *off < sizeof(*d))
		return NULL;
	memcpy(d, ctx + *off, sizeof(*d));
	*off += (uint32_t)sizeof(*d);
	if (d->length > size - *off || d->typecode == HVM_SAVE_CODE(END))
		return NULL;
	p = ctx + *off;
	*off += d->length;
	return p;
}

/* Finds the CPU record of a vCPU in a whole-domain HVM context. */
static struct hvm_hw_cpu *find_cpu_record(uint8_t *ctx, uint32_t size,
					  unsigned vcpu)
{
	struct hvm_save_descriptor d;
	uint32_t off = 0;
	uint8_t *p;

	while ((p = next_record(ctx, size, &off, &d)))
		if (d.typecode == HVM_SAVE_CODE(CPU) && d.instance == vcpu &&
		    d.length >= sizeof(struct hvm_hw_cpu))
			return (struct hvm_hw_cpu *)p;
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
	struct hvm_save_descriptor d;
	uint32_t off = 0, khz = 0;
	uint64_t ticks = 0;
	uint8_t *p;

	while ((p = next_record(ctx, size, &off, &d))) {
		if (d.typecode == HVM_SAVE_CODE(HEADER) &&
		    d.length >= sizeof(struct hvm_save_header)) {
			struct hvm_save_header h;

			memcpy(&h, p, sizeof(h));
			khz = h.gtsc_khz;
			/* µs resolution keeps ns * khz within 64 bits */
			ticks = ns / 1000 * khz / 1000;
		} else if (d.typecode == HVM_SAVE_CODE(CPU) && khz &&
			   d.length >= sizeof(struct hvm_hw_cpu)) {
			((struct hvm_hw_cpu *)p)->tsc += ticks;
		}
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

/*
 * Xen 4.17 gives each vCPU's CPU record, in a save, the TSC it has at
 * sync_tsc, a TSC value read once at the start; a load sets each vCPU's
 * TSC against a sync_tsc read when it starts too. Both turn that value
 * into time against the current CPU's time stamp, and both run softirqs
 * after each record (process_pending_softirqs() in hvm_save() and
 * hvm_load()): when the once-a-second time calibration is among them, the
 * stamp moves past sync_tsc, and with an emulated TSC (vtsc: a host TSC Xen
 * does not deem reliable, or tsc_mode always_emulate) every later vCPU's
 * time comes from a negative delta and its TSC is garbage: seen as vCPU 1's
 * TSC moved by 70 years, then by 66 the other way, by register writes.
 * vCPU 0's never is (nothing runs between the header and its record).
 * What holds across saves of a paused domain is each vCPU's TSC less vCPU
 * 0's: a save is trusted when a second one agrees with it on those, and a
 * load when the save after it gives the same.
 */
#define TSC_READS 4

struct tsc_view {
	unsigned n;		/* CPU records seen, vCPUs 0..n-1 */
	uint32_t khz;
	uint64_t *tsc;		/* each vCPU's TSC, by vCPU id */
};

/* Fills v from the CPU records of ctx (shrunk by keep_cpu_records()). */
static void tsc_view_of(uint8_t *ctx, uint32_t size, unsigned nr, struct tsc_view *v)
{
	struct hvm_save_descriptor d;
	uint32_t off = 0;
	uint8_t *p;

	v->n = 0;
	v->khz = 0;
	memset(v->tsc, 0, nr * sizeof(*v->tsc));
	while ((p = next_record(ctx, size, &off, &d))) {
		if (d.typecode == HVM_SAVE_CODE(HEADER) &&
		    d.length >= sizeof(struct hvm_save_header)) {
			struct hvm_save_header h;

			memcpy(&h, p, sizeof(h));
			v->khz = h.gtsc_khz;
		} else if (d.typecode == HVM_SAVE_CODE(CPU) && d.instance < nr &&
			   d.length >= sizeof(struct hvm_hw_cpu)) {
			struct hvm_hw_cpu c;

			memcpy(&c, p, sizeof(c));
			v->tsc[d.instance] = c.tsc;
			if (d.instance + 1u > v->n)
				v->n = d.instance + 1u;
		}
	}
}

/* Whether a and b agree on every vCPU's TSC less vCPU 0's, to a
 * millisecond (what rounding leaves between two saves is a few ticks). */
static bool tsc_views_agree(const struct tsc_view *a, const struct tsc_view *b)
{
	uint64_t tol = (uint64_t)(a->khz ? a->khz : 1000000) + 1000;
	unsigned v;

	if (a->n != b->n)
		return false;
	for (v = 1; v < a->n; v++) {
		int64_t da = (int64_t)(a->tsc[v] - a->tsc[0]);
		int64_t db = (int64_t)(b->tsc[v] - b->tsc[0]);
		uint64_t diff = da > db ? (uint64_t)da - (uint64_t)db : (uint64_t)db - (uint64_t)da;

		if (diff > tol)
			return false;
	}
	return true;
}

/*
 * Reads the domain's HVM context into buf (at most cap bytes), shrunk by
 * keep_cpu_records(): *size, the time of the read in *at, its TSCs in *view.
 * Returns 0 or -errno with the reason set on t.
 */
static int read_cpu_records(struct target *t, uint8_t *buf, uint32_t cap, uint32_t *size,
			    uint64_t *at, struct tsc_view *view)
{
	struct xen_target *x = to_xen(t);
	int n;

	*at = mono_ns();
	n = xc_domain_hvm_getcontext(x->xch, x->domid, buf, cap);
	if (n <= 0) {
		int e = errno ? errno : EIO;

		target_set_error(t, "reading the HVM context of domain %u: %s", x->domid,
				 strerror(e));
		return -e;
	}
	*size = keep_cpu_records(buf, (uint32_t)n);
	if (!*size) {
		target_set_error(t, "the HVM context of domain %u is malformed (no end record)",
				 x->domid);
		return -EIO;
	}
	tsc_view_of(buf, *size, t->nr_vcpus, view);
	return 0;
}

/*
 * Reads the context until a read is trusted: it agrees with ref (when
 * given) or with the read before it. Leaves the trusted read in buf and
 * returns 1 when it agreed with ref, 0 when with the read before (ref, if
 * any, is then wrong), -errno on failure. A domain of one vCPU needs one
 * read.
 */
static int read_trusted(struct target *t, uint8_t *buf, uint32_t cap, uint32_t *size,
			uint64_t *at, struct tsc_view *view, const struct tsc_view *ref)
{
	struct tsc_view prev;
	unsigned i;
	int rc;

	prev.tsc = xcalloc(t->nr_vcpus ? t->nr_vcpus : 1, sizeof(*prev.tsc));
	prev.n = 0;
	for (i = 0; i < TSC_READS; i++) {
		rc = read_cpu_records(t, buf, cap, size, at, view);
		if (rc)
			goto out;
		if (view->n <= 1 || (ref && tsc_views_agree(view, ref))) {
			rc = 1;
			goto out;
		}
		if (i > 0 && tsc_views_agree(view, &prev)) {
			rc = 0;
			goto out;
		}
		prev.n = view->n;
		prev.khz = view->khz;
		memcpy(prev.tsc, view->tsc, view->n * sizeof(*prev.tsc));
	}
	target_set_error(t, "Xen gave %u different TSCs for the vCPUs of domain %u in %u reads "
			 "of its paused context; its registers are unchanged", TSC_READS,
			 to_xen(t)->domid, TSC_READS);
	rc = -EIO;
out:
	free(prev.tsc);
	return rc;
}

/* Sets each CPU record's TSC of ctx to vCPU 0's plus want's difference. */
static void put_tsc_view(uint8_t *ctx, uint32_t size, const struct tsc_view *want)
{
	struct hvm_save_descriptor d;
	uint32_t off = 0;
	uint64_t tsc0 = 0;
	bool have0 = false;
	uint8_t *p;

	while ((p = next_record(ctx, size, &off, &d))) {
		if (d.typecode == HVM_SAVE_CODE(CPU) && d.length >= sizeof(struct hvm_hw_cpu) &&
		    d.instance < want->n) {
			struct hvm_hw_cpu *c = (struct hvm_hw_cpu *)p;

			if (d.instance == 0) {
				tsc0 = c->tsc;
				have0 = true;
			} else if (have0) {
				c->tsc = tsc0 + (want->tsc[d.instance] - want->tsc[0]);
			}
		}
	}
}

/* Loads ctx (size bytes); on a refusal loads old back (see below). */
static int load_context(struct target *t, unsigned vcpu, uint8_t *ctx, uint8_t *old,
			uint32_t size, uint64_t got_at)
{
	struct xen_target *x = to_xen(t);

	advance_tsc(ctx, size, mono_ns() - got_at);
	if (xc_domain_hvm_setcontext(x->xch, x->domid, ctx, size) < 0) {
		int e = errno ? errno : EIO;

		/* hvm_load() takes every vCPU down before it checks the
		 * records and brings up only those it loaded: load the
		 * context as it was, so that a refusal loses no vCPU */
		advance_tsc(old, size, mono_ns() - got_at);
		if (xc_domain_hvm_setcontext(x->xch, x->domid, old, size) < 0)
			target_set_error(t, "Xen refused vCPU %u's new registers (%s), and putting "
					 "the old ones back failed too (%s): vCPUs of domain %u may be down",
					 vcpu, strerror(e), strerror(errno), x->domid);
		else
			target_set_error(t, "Xen refused vCPU %u's new registers: %s "
					 "(a value it does not accept?); they are unchanged",
					 vcpu, strerror(e));
		return -e;
	}
	return 0;
}

static int set_hvm_regs(struct target *t, unsigned vcpu, const struct x86_regs *r)
{
	struct xen_target *x = to_xen(t);
	struct tsc_view want, seen;
	struct hvm_hw_cpu *cpu;
	uint8_t *old = NULL, *check = NULL;
	uint32_t size, csize;
	uint64_t got_at, check_at;
	unsigned tries;
	int n, rc;

	if (x->stale_cr2 && !x->stale_cr2_said) {
		x->stale_cr2_said = true;
		log_warn(LC_TARGET, "domain %u: vCPU %u's registers go through the whole HVM context, "
			 "whose CR2 this Xen on AMD does not keep up to date (fixed in Xen 4.20.4, "
			 "4.21.2 and 4.22): every vCPU gets its last saved CR2 back, and one stopped "
			 "inside a page-fault handler that has not read CR2 yet would handle the "
			 "wrong address", x->domid, vcpu);
	}

	n = xc_domain_hvm_getcontext(x->xch, x->domid, NULL, 0);
	if (n <= 0)
		return -(errno ? errno : EIO);
	if ((uint32_t)n > x->ctx_size) {
		free(x->ctx);
		x->ctx = xmalloc((size_t)n);
		x->ctx_size = (uint32_t)n;
	}
	want.tsc = xcalloc(t->nr_vcpus ? t->nr_vcpus : 1, sizeof(*want.tsc));
	seen.tsc = xcalloc(t->nr_vcpus ? t->nr_vcpus : 1, sizeof(*seen.tsc));
	check = xmalloc(x->ctx_size);
	/* the vCPUs' TSCs as two reads agree on them */
	rc = read_trusted(t, x->ctx, x->ctx_size, &size, &got_at, &want, NULL);
	if (rc < 0)
		goto out;
	cpu = find_cpu_record(x->ctx, size, vcpu);
	if (!cpu) {
		target_set_error(t, "vCPU %u has no CPU record in the HVM context", vcpu);
		rc = -ENOENT;
		goto out;
	}
	old = xmalloc(x->ctx_size);
	memcpy(old, x->ctx, size);
	xen_regs_to_hvm_cpu(r, cpu);
	rc = load_context(t, vcpu, x->ctx, old, size, got_at);
	/* a load whose TSCs a trusted read does not find is made again from
	 * that read, which holds what was loaded but the TSCs */
	for (tries = 0; rc == 0 && want.n > 1; tries++) {
		rc = read_trusted(t, check, x->ctx_size, &csize, &check_at, &seen, &want);
		if (rc < 0)
			break;
		if (rc == 1) {
			rc = 0;
			break;
		}
		log_warn(LC_TARGET, "domain %u: Xen set other TSCs than loaded (vCPU 1 %+lld ticks "
			 "from vCPU 0, not %+lld): loading them again", x->domid,
			 (long long)(seen.tsc[1] - seen.tsc[0]), (long long)(want.tsc[1] - want.tsc[0]));
		if (tries == 2) {
			target_set_error(t, "Xen set the vCPUs' TSCs of domain %u wrong in three loads "
					 "of vCPU %u's new registers", x->domid, vcpu);
			rc = -EIO;
			break;
		}
		memcpy(old, check, csize);
		put_tsc_view(check, csize, &want);
		rc = load_context(t, vcpu, check, old, csize, check_at);
	}
out:
	free(old);
	free(check);
	free(want.tsc);
	free(seen.tsc);
	return rc;
}
