// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The livelock guard of run control: a vCPU whose held event comes back
 * at the same place with nothing changed (same kind, same address, same
 * registers), LIVELOCK_REPEATS times in a row, is not making progress: a
 * hypervisor that does not complete what it is asked to, or an access
 * nothing can complete. The guest is stopped and the user told, instead of
 * answering the same event forever.
 */
#include "stub/session/run.h"

#include <stdio.h>
#include <string.h>

#include "stub/base/log.h"

/* What must stay the same for an event to count as a repeat. */
static void signature(const struct target_event *ev,
		      uint64_t sig[LIVELOCK_SIG_WORDS])
{
	unsigned i, n = 0;

	memset(sig, 0, sizeof(uint64_t) * LIVELOCK_SIG_WORDS);
	sig[n++] = ev->kind;
	sig[n++] = ev->raw_reason;
	sig[n++] = ev->regs.rip;
	sig[n++] = ev->regs.rflags;
	sig[n++] = ev->regs.cr3;
	for (i = 0; i < X86_GPR_NR; i++)
		sig[n++] = ev->regs.gpr[i];
	switch (ev->kind) {
	case TEV_MEM_ACCESS:
		sig[n++] = ev->u.mem.gfn;
		sig[n++] = ev->u.mem.offset;
		sig[n++] = ev->u.mem.gla;
		sig[n++] = ((uint64_t)ev->u.mem.access << 32) | ev->u.mem.flags;
		break;
	case TEV_SWBP:
		sig[n++] = ev->u.swbp.gfn;
		break;
	case TEV_DEBUG_EXC:
		sig[n++] = ev->u.dbg.pending_dbg;
		sig[n++] = ev->u.dbg.vector;
		break;
	default:
		break;
	}
}

static const char *kind_name(enum target_event_kind k)
{
	switch (k) {
	case TEV_MEM_ACCESS: return "memory access";
	case TEV_SWBP: return "breakpoint";
	case TEV_SINGLESTEP: return "single-step";
	case TEV_DEBUG_EXC: return "debug exception";
	case TEV_EMUL_UNIMPL: return "emulation failure";
	default: return "monitor";
	}
}

bool run_livelock_check(struct run_state *r, const struct target_event *ev,
			struct stop_info *st)
{
	struct vcpu_run *vr = &r->v[ev->vcpu];
	uint64_t sig[LIVELOCK_SIG_WORDS];
	unsigned seen;

	signature(ev, sig);
	if (vr->ll_repeats && !memcmp(sig, vr->ll_sig, sizeof(sig))) {
		vr->ll_repeats++;
	} else {
		memcpy(vr->ll_sig, sig, sizeof(sig));
		vr->ll_repeats = 1;
	}
	if (vr->ll_repeats < LIVELOCK_REPEATS)
		return false;
	seen = vr->ll_repeats;
	vr->ll_repeats = 0;
	r->st.livelocks++;
	if (ev->kind == TEV_MEM_ACCESS)
		log_warn(LC_TRAP, "vCPU %u makes no progress: the same memory access event (rip 0x%llx, gla 0x%llx, gfn 0x%llx, access %u) came back %u times in a row with the same registers; the guest is stopped",
			 ev->vcpu, (unsigned long long)ev->regs.rip,
			 (unsigned long long)ev->u.mem.gla,
			 (unsigned long long)ev->u.mem.gfn, ev->u.mem.access,
			 seen);
	else
		log_warn(LC_TRAP, "vCPU %u makes no progress: the same %s event at rip 0x%llx came back %u times in a row with the same registers; the guest is stopped",
			 ev->vcpu, kind_name(ev->kind),
			 (unsigned long long)ev->regs.rip, seen);
	run_make_stop(st, ev->vcpu, 5, SR_NONE);
	snprintf(st->message, sizeof(st->message),
		 "xenstub: vCPU %u makes no progress: the same %s event at 0x%llx came %u times in a row, registers unchanged; stopped\n",
		 ev->vcpu, kind_name(ev->kind),
		 (unsigned long long)ev->regs.rip, seen);
	/* held where the event left it: nothing of it is completed now */
	vr->needs_completion = false;
	vr->delivery = false;
	vr->then_reason = SR_NONE;
	vr->then_delivery = false;
	return true;
}

void run_livelock_reset(struct run_state *r, unsigned nr_vcpus)
{
	unsigned v;

	for (v = 0; v < nr_vcpus; v++)
		r->v[v].ll_repeats = 0;
}
