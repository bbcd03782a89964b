// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run control, resuming: continue and step per gdb's plan (one vCPU
 * stepped, others continued or kept held), a stop already seen reported
 * without running, stepping off our own int3, and interrupting a running
 * guest.
 */
#include "stub/session/run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/insn.h"
#include "stub/base/log.h"
#include "stub/session/points-agent.h"
#include "stub/session/session-internal.h"
#include "stub/guest/journal.h"
#include "stub/traps/traps.h"
#include "stub/traps/traps-dr.h"

/*
 * Before a step by MTF of vCPU v: if its instruction is one Xen completes
 * in its exit handler (cpuid, hlt, vmcall, rdmsr...), Xen 4.17 raises no
 * MTF exit after it and the step would end one instruction late; an int3
 * at the next instruction ends it there (the MTF exit still ends it if the
 * instruction faults). Without a plant the step goes as it would.
 */
void run_step_bp_plant(struct session *s, unsigned v)
{
	struct run_state *r = s->run;
	struct x86_regs regs;
	struct strbuf why = STRBUF_INIT;
	uint8_t code[16];
	size_t got = 0;
	const char *name = NULL;
	unsigned len, bits;
	uint64_t next;
	struct x86_walk w;

	/* one at a time: a step that completes a held access on its way
	 * plants nothing more */
	if (r->step_bp || s->opts.read_only || target_get_regs(s->t, v, &regs) < 0 ||
	    bp_read_code(s->bps, &regs, code, sizeof(code), &got) < 0 || !got)
		return;
	bits = x86_code_bits(&regs);
	len = x86_exit_insn(code, got, bits, &name);
	if (!len)
		return;
	/* the int3 must be an event, never the guest's #BP */
	if (target_ev_monitor(s->t, TMON_SWBP, true) < 0) {
		log_dbg(LC_TRAP, "vCPU %u: no int3 after its %s (%s): the step may end one "
			"instruction late", v, name, target_strerror(s->t));
		return;
	}
	next = regs.rip + len;
	if (bits < 64)
		next &= 0xffffffffu;
	vmem_aspace_of(&regs, &r->step_bp_as);
	if (r->step_bp_as.phys)
		w.paddr = next;
	else if (vmem_translate(s->mem, &r->step_bp_as, next, &w) < 0)
		return;
	if (bp_insert(s->bps, &r->step_bp_as, next, &why) < 0) {
		log_dbg(LC_TRAP, "vCPU %u: no int3 after its %s at 0x%llx (%s): the step may "
			"end one instruction late", v, name, (unsigned long long)regs.rip, why.buf);
		strbuf_release(&why);
		return;
	}
	strbuf_release(&why);
	r->step_bp = true;
	r->step_bp_vcpu = v;
	r->step_bp_addr = next;
	r->step_bp_gpa = w.paddr;
	log_dbg(LC_TRAP, "vCPU %u: %s at 0x%llx is completed by Xen, which raises no single-step "
		"after it: the step ends at an int3 at 0x%llx", v, name,
		(unsigned long long)regs.rip, (unsigned long long)next);
}

void run_step_bp_drop(struct session *s)
{
	struct run_state *r = s->run;

	if (!r->step_bp)
		return;
	r->step_bp = false;
	if (bp_remove(s->bps, &r->step_bp_as, r->step_bp_addr) < 0)
		log_warn(LC_TRAP, "the step's int3 at 0x%llx was not found to take out",
			 (unsigned long long)r->step_bp_addr);
}

int run_release_continue(struct session *s, unsigned v)
{
	struct run_state *r = s->run;
	struct vcpu_run *vr = &r->v[v];
	struct target_response how;
	struct x86_regs regs;
	uint8_t insn[16];
	size_t got = 0;

	memset(&how, 0, sizeof(how));
	if (vr->ev.kind == TEV_SWBP && bp_find(s->bps, run_event_gpa(&vr->ev)) &&
	    target_get_regs(s->t, v, &regs) == 0 && regs.rip == vr->ev.regs.rip) {
		/* sitting on one of our int3s (gdb did not move it on):
		 * execute the guest's instruction in its place, in Xen's
		 * emulator, so no other vCPU can pass the breakpoint
		 * meanwhile */
		bp_read_code(s->bps, &vr->ev.regs, insn, sizeof(insn), &got);
		if (got) {
			how.emulate = true;
			how.insn = insn;
			how.insn_len = (unsigned)got;
		}
	}
	return run_release(s, v, &how);
}

int run_start(struct session *s, const struct resume_plan *plan, int step,
	      char **msg)
{
	struct run_state *r = s->run;
	unsigned v;
	int rc;

	if (plan->vcpu != r->plan)
		memcpy(r->plan, plan->vcpu, sizeof(*r->plan) * s->t->nr_vcpus);
	/* vCPUs held before a restricted access execute it first, alone
	 * (the others are still held) */
	for (v = 0; v < s->t->nr_vcpus; v++) {
		if (plan->vcpu[v] == RESUME_STOPPED || !r->v[v].held ||
		    (r->v[v].ev.kind != TEV_MEM_ACCESS && !r->v[v].needs_completion))
			continue;
		rc = run_complete_access(s, v);
		if (!pa_watch_stops(s, v))
			r->v[v].then_reason = SR_NONE; /* its conditions are false */
		if (rc == 0 && r->v[v].then_reason != SR_NONE) {
			/* a hardware breakpoint's instruction hit a watchpoint
			 * too, or an event delivery changed a watched byte:
			 * that is the next stop, whatever gdb asked */
			run_then_stop(r, v, &r->interrupt_stop);
			pa_take_message(s, &r->interrupt_stop);
			run_finish_stop(s, &r->interrupt_stop);
			s->running = true;
			r->report_pending = true;
			r->pending_vcpu = -1;
			return 0;
		}
		if ((int)v == step && rc == 0) {
			/* that instruction was the step */
			run_make_stop(&r->interrupt_stop, v, 5, SR_NONE);
			r->st.steps++;
			run_finish_stop(s, &r->interrupt_stop);
			s->running = true;
			r->report_pending = true;
			r->pending_vcpu = -1;
			return 0;
		}
	}
	rc = traps_commit(s->traps);
	if (rc == 0 && s->drs)
		rc = dr_commit(s->drs);
	if (rc < 0) {
		*msg = xstrfmt("cannot apply the watchpoints: %s", target_strerror(s->t));
		return rc;
	}
	/* resuming from an instruction breakpoint of a debug register:
	 * RF lets that instruction run once */
	for (v = 0; v < s->t->nr_vcpus; v++) {
		struct x86_regs regs;

		if (!r->v[v].set_rf || plan->vcpu[v] == RESUME_STOPPED)
			continue;
		r->v[v].set_rf = false;
		if (target_get_regs(s->t, v, &regs) == 0) {
			regs.rflags |= X86_RFLAGS_RF;
			target_set_regs(s->t, v, &regs);
		}
	}
	/* the vCPUs that run: disarmed, then let go */
	for (v = 0; v < s->t->nr_vcpus; v++) {
		if ((int)v == step || plan->vcpu[v] == RESUME_STOPPED)
			continue;
		if (r->events_ready)
			run_arm(s, v, false);
		run_tf_restore(s, v);
		if (!r->v[v].held)
			continue;
		rc = r->v[v].ev.kind == TEV_SWBP ? run_release_continue(s, v) :
						   run_release(s, v, NULL);
		if (rc < 0) {
			*msg = xstrfmt("cannot resume vCPU %u: %s", v,
				       target_strerror(s->t));
			return rc;
		}
	}
	if (step >= 0) {
		struct vcpu_run *vr = &r->v[step];
		const struct swbp *bp = vr->held && vr->ev.kind == TEV_SWBP ?
					bp_find(s->bps, run_event_gpa(&vr->ev)) : NULL;

		vr->stepping = true;
		r->step_vcpu = step;
		if (bp) {
			/* stepping off one of our int3s: the guest's byte
			 * goes back for this one instruction (the other
			 * vCPUs are held, or there are none) */
			bp_unplant(s->bps, bp->gpa);
			r->unplanted = true;
			r->unplanted_gpa = bp->gpa;
		}
		if (r->step == STEP_MTF) {
			rc = run_arm(s, (unsigned)step, true);
			if (rc == 0)
				run_step_bp_plant(s, (unsigned)step);
		} else {
			struct x86_regs regs;
			size_t got = 0;

			rc = target_get_regs(s->t, (unsigned)step, &regs);
			if (rc == 0) {
				memset(vr->step_opcode, 0, sizeof(vr->step_opcode));
				bp_read_code(s->bps, &regs, vr->step_opcode,
						  sizeof(vr->step_opcode), &got);
				vr->tf_was_set = regs.rflags & X86_RFLAGS_TF;
				regs.rflags |= X86_RFLAGS_TF;
				journal_note(s->t->journal, "tf %d %d", step,
					     vr->tf_was_set ? 1 : 0);
				/* held: TF goes with the release, and a TF
				 * given back at the last stop but still
				 * pending never reaches the guest */
				rc = target_set_regs(s->t, (unsigned)step, &regs);
				if (rc == 0) {
					vr->tf_set_by_us = true;
					vr->tf_off_owed = false;
				}
			}
		}
		if (rc == 0)
			rc = run_release(s, (unsigned)step, NULL);
		if (rc < 0) {
			*msg = xstrfmt("cannot step vCPU %d: %s", step,
				       target_strerror(s->t));
			return rc;
		}
		r->phase = PH_STEPPING;
	} else {
		r->phase = PH_RUNNING;
	}
	session_invalidate_regs(s);
	rc = target_unpause(s->t);
	if (rc < 0) {
		*msg = xstrfmt("cannot unpause %s: %s", s->t->description,
			       target_strerror(s->t));
		return rc;
	}
	s->running = true;
	return 0;
}

/* A pending stop still valid for a vCPU the plan resumes? */
static int take_pending(struct session *s, const struct resume_plan *plan)
{
	struct run_state *r = s->run;
	unsigned i, n = s->t->nr_vcpus;

	for (i = 0; i < n; i++) {
		unsigned v = (r->next_stop_vcpu + i) % n;
		struct vcpu_run *vr = &r->v[v];

		if (!vr->pending || plan->vcpu[v] == RESUME_STOPPED)
			continue;
		vr->pending = false;
		if (vr->pending_stop.reason == SR_SWBREAK &&
		    !bp_find(s->bps, run_event_gpa(&vr->ev))) {
			/* its breakpoint is gone: the vCPU just goes on */
			continue;
		}
		if (vr->needs_completion) {
			int rc = run_complete_access(s, v);

			vr->then_reason = SR_NONE; /* this stop is the one owed */
			if (rc < 0)
				continue;
		}
		r->next_stop_vcpu = v + 1;
		return (int)v;
	}
	return -1;
}

int session_resume(struct session *s, const struct resume_plan *plan,
		   char **msg)
{
	struct run_state *r = s->run;
	int step = -1, pend;
	bool others_run = false;
	unsigned v;
	int rc;

	if (!run_live(s)) {
		*msg = xstrfmt("%s cannot run: it is a memory dump",
			       s->t->description ? s->t->description : "the target");
		return -EOPNOTSUPP;
	}
	if (s->running || r->phase != PH_STOPPED) {
		*msg = xstrfmt("the guest is already running");
		return -EBUSY;
	}
	for (v = 0; v < plan->nr && v < s->t->nr_vcpus; v++) {
		if (plan->vcpu[v] == RESUME_STEP) {
			if (step >= 0) {
				*msg = xstrfmt("only one vCPU can be stepped at a time");
				return -EINVAL;
			}
			step = (int)v;
		} else if (plan->vcpu[v] == RESUME_CONTINUE) {
			others_run = true;
		}
	}
	if (step < 0 && !others_run) {
		*msg = xstrfmt("nothing to resume");
		return -EINVAL;
	}
	if (step >= 0 || bp_count(s->bps)) {
		rc = run_ensure_events(s, msg);
		if (rc < 0 && step >= 0)
			return rc;
	}
	if (step >= 0 && r->step == STEP_NONE) {
		*msg = xstrfmt("this guest cannot be single-stepped: %s",
			       target_strerror(s->t));
		return -EOPNOTSUPP;
	}
	if (step < 0 && others_run && r->holds) {
		bool partial = false;

		for (v = 0; v < s->t->nr_vcpus; v++)
			partial |= plan->vcpu[v] == RESUME_STOPPED;
		if (partial)
			log_dbg(LC_SESSION, "continuing some vCPUs; the others stay held");
	} else if (step < 0 && others_run && !r->holds) {
		for (v = 0; v < s->t->nr_vcpus; v++) {
			if (plan->vcpu[v] == RESUME_STOPPED) {
				*msg = xstrfmt("this guest's vCPUs cannot be resumed one by one (no monitor single-step to hold them)");
				return -EOPNOTSUPP;
			}
		}
	}
	/* a stop already seen is reported without running (gdbserver's
	 * rule) */
	pend = take_pending(s, plan);
	if (pend >= 0) {
		r->phase = PH_STOPPED;
		s->running = true;
		r->report_pending = true;
		r->pending_vcpu = pend;
		return 0;
	}
	session_invalidate_regs(s);
	return run_start(s, plan, step, msg);
}

int session_interrupt(struct session *s)
{
	struct run_state *r = s->run;
	struct stop_info st;
	unsigned v = 0;

	if (!run_live(s) || !s->running || r->report_pending)
		return 0;
	if (r->phase == PH_STEPPING && r->step_vcpu >= 0)
		v = (unsigned)r->step_vcpu;
	else if (s->last_stop.tid >= 1 && s->last_stop.tid <= s->t->nr_vcpus)
		v = (unsigned)(s->last_stop.tid - 1);
	run_make_stop(&st, v, 2, SR_NONE);
	run_stop_world(s, &st);
	s->running = true; /* gdb still waits for this stop */
	r->report_pending = true;
	r->pending_vcpu = -1;
	r->interrupt_stop = st;
	return 0;
}
