// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run control, taking and leaving a live guest: attach (pause, hold every
 * vCPU), detach (every change undone in order, the guest running as it was
 * found), the monitor events and the way to step this host offers, and the
 * counters of "monitor stats".
 *
 * Holding vCPUs. Xen has no toolstack call that pauses one vCPU (the
 * gdbsx domctls are compiled out of release hypervisors), but a vCPU that
 * raised a synchronous vm_event stays paused until it is answered. So at
 * every stop of a multi-vCPU guest xenstub arms the monitor single-step
 * (Intel MTF) on each vCPU that no event holds yet and lets the domain
 * run: each such vCPU executes at most one instruction and is then held
 * by its single-step event. A halted vCPU executes nothing; it stays
 * armed, so if an interrupt wakes it later it is held after at most one
 * instruction. With every vCPU held, one vCPU can be stepped or released
 * alone, which gives gdb's scheduler-locking and breakpoint step-over
 * without another vCPU slipping past a breakpoint. Without MTF (AMD
 * hosts), stepping uses EFLAGS.TF and the other vCPUs cannot be held.
 *
 * Dumps cannot run: every request is refused with a reason.
 */
#include "stub/session/run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stub/base/log.h"
#include "stub/session/points-agent.h"
#include "stub/session/session-internal.h"
#include "stub/session/trace.h"
#include "stub/guest/journal.h"
#include "stub/traps/traps.h"
#include "stub/traps/traps-dr.h"

int run_attach(struct session *s, char **msg)
{
	int rc;

	s->running = false;
	if (!run_live(s))
		return 0;
	if (!s->run) {
		s->run = xcalloc(1, sizeof(*s->run));
		s->run->v = xcalloc(s->t->nr_vcpus, sizeof(*s->run->v));
		s->run->plan = xcalloc(s->t->nr_vcpus, sizeof(*s->run->plan));
	}
	rc = target_pause(s->t);
	if (rc < 0) {
		*msg = xstrfmt("cannot pause %s: %s", s->t->description,
			       target_strerror(s->t));
		return rc;
	}
	s->run->phase = PH_STOPPED;
	s->run->step_vcpu = -1;
	log_info(LC_SESSION, "attached: %s paused", s->t->description);
	/* attaching is a stop like any other: where Xen can single-step, hold
	 * every vCPU now, so that the first step moves only the vCPU gdb asks
	 * for (guests without monitor events are just paused) */
	if (target_has(s->t, TCAP_SINGLESTEP) && s->t->nr_vcpus > 1) {
		char *why = NULL;

		if (run_ensure_events(s, &why) == 0 && s->run->holds)
			run_hold_all(s);
		else
			log_info(LC_SESSION, "vCPUs are not held individually: %s",
				 why ? why : "no monitor single-step");
		free(why);
	}
	return 0;
}

/* Journals that vCPU v's trap flag is given back, once the hypervisor has
 * it: registers written while a vCPU is held may reach it only with the
 * vCPU's release (target.h), and --recover after a kill -9 must still
 * find a TF that is there. */
static void tf_off_done(struct session *s, unsigned v)
{
	if (!s->run->v[v].tf_off_owed)
		return;
	s->run->v[v].tf_off_owed = false;
	journal_note(s->t->journal, "tf-off %u", v);
}

int run_release(struct session *s, unsigned v,
		const struct target_response *how)
{
	struct run_state *r = s->run;
	struct target_response plain;
	int rc;

	if (!r->v[v].held)
		return 0;
	if (!how) {
		memset(&plain, 0, sizeof(plain));
		how = &plain;
	}
	rc = target_ev_respond(s->t, &r->v[v].ev, how);
	if (rc < 0) {
		log_warn(LC_TRAP, "answering vCPU %u's event failed: %s", v,
			 strerror(-rc));
		return rc;
	}
	r->v[v].held = false;
	tf_off_done(s, v);
	return 0;
}

/* Restores EFLAGS.TF of a vCPU we stepped with the trap flag. */
void run_tf_restore(struct session *s, unsigned v)
{
	struct vcpu_run *vr = &s->run->v[v];
	struct x86_regs regs;

	if (!vr->tf_set_by_us)
		return;
	if (target_get_regs(s->t, v, &regs) == 0) {
		if (vr->tf_was_set)
			regs.rflags |= X86_RFLAGS_TF;
		else
			regs.rflags &= ~X86_RFLAGS_TF;
		if (target_set_regs(s->t, v, &regs) < 0) {
			log_warn(LC_TRAP, "could not clear the trap flag of vCPU %u: %s",
				 v, target_strerror(s->t));
		} else {
			vr->tf_off_owed = true;
			if (!vr->held)
				tf_off_done(s, v);
		}
	}
	vr->tf_set_by_us = false;
	session_invalidate_regs(s);
}

void run_detach(struct session *s)
{
	struct run_state *r = s->run;
	unsigned v;

	if (!run_live(s) || !r)
		return;
	if (s->running && target_pause(s->t) < 0)
		log_warn(LC_SESSION, "%s", target_strerror(s->t));
	s->running = false;
	/* int3s out first: a released vCPU must find the guest's bytes */
	if (r->unplanted) {
		bp_replant_all(s->bps);
		r->unplanted = false;
	}
	r->step_bp = false;	/* out with the others */
	bp_forget_all(s->bps);
	traps_restore_all(s->traps);
	dr_restore(s->drs);
	for (v = 0; v < s->t->nr_vcpus; v++)
		run_tf_restore(s, v);
	if (r->events_ready)
		target_ev_disable(s->t); /* answers what is held, in Xen's order */
	r->events_ready = false;
	for (v = 0; v < s->t->nr_vcpus; v++) {
		tf_off_done(s, v);	/* the teardown wrote what was pending */
		r->v[v].held = false;
		r->v[v].pending = false;
		r->v[v].stepping = false;
	}
	while (target_is_running(s->t) == 0) {
		if (target_unpause(s->t) < 0) {
			log_err(LC_SESSION, "the guest could not be unpaused: %s",
				target_strerror(s->t));
			break;
		}
	}
	r->phase = PH_STOPPED;
	s->running = true;
	log_info(LC_SESSION, "detached: %s runs again as found", s->t->description);
}

void run_free(struct session *s)
{
	if (!s->run)
		return;
	free(s->run->v);
	free(s->run->plan);
	traps_free(s->traps);
	s->traps = NULL;
	dr_free(s->drs);
	s->drs = NULL;
	free(s->run);
	s->run = NULL;
}

int run_ensure_events(struct session *s, char **msg)
{
	struct run_state *r = s->run;
	int rc;

	if (r->events_ready)
		return 0;
	if (!target_has(s->t, TCAP_EVENTS)) {
		*msg = xstrfmt("%s offers no monitor events: breakpoints and stepping are not available",
			       s->t->description);
		return -EOPNOTSUPP;
	}
	rc = target_ev_enable(s->t);
	if (rc < 0) {
		*msg = xstrfmt("%s", target_strerror(s->t));
		return rc;
	}
	r->events_ready = true;
	r->step = STEP_NONE;
	if (target_has(s->t, TCAP_SINGLESTEP) &&
	    target_ev_monitor(s->t, TMON_SINGLESTEP, true) == 0) {
		r->step = STEP_MTF;
		r->holds = s->t->nr_vcpus > 1;
	} else if (target_ev_monitor(s->t, TMON_DEBUG_EXC, true) == 0) {
		r->step = STEP_TF;
		log_info(LC_TRAP, "no monitor single-step here (it needs Intel's monitor trap flag): "
			 "stepping uses EFLAGS.TF and debug-exception events; other vCPUs run during a step");
	} else {
		log_warn(LC_TRAP, "no way to single-step this guest: %s",
			 target_strerror(s->t));
	}
	return 0;
}

/* Arms or disarms the monitor single-step of a vCPU, held or not (Xen's
 * debug_control sets it directly; responses never toggle it, so its state
 * is always the one set here). */
int run_arm(struct session *s, unsigned v, bool on)
{
	if (s->run->step != STEP_MTF)
		return on ? -EOPNOTSUPP : 0;
	return target_ev_singlestep(s->t, v, on);
}

void run_describe_stats(struct session *s, struct strbuf *out)
{
	struct run_state *r = s->run;

	if (!r)
		return;
	strbuf_addf(out, "events: %llu received, %llu stops reported, %llu breakpoint hits, "
		    "%llu stale breakpoint events dropped, %llu guest int3s given back, "
		    "%llu steps, %llu vCPU holds\n",
		    (unsigned long long)r->st.events, (unsigned long long)r->st.stops,
		    (unsigned long long)r->st.bp_hits,
		    (unsigned long long)r->st.stale_bp_events,
		    (unsigned long long)r->st.guest_int3_reinjected,
		    (unsigned long long)r->st.steps, (unsigned long long)r->st.holds);
	strbuf_addf(out, "stepping: %s%s\n",
		    r->step == STEP_MTF ? "monitor single-step (MTF)" :
		    r->step == STEP_TF ? "EFLAGS.TF with debug-exception events" :
		    r->events_ready ? "not available" : "not set up yet",
		    r->holds ? "; every vCPU is held at a stop" : "");
	if (r->st.unemulated)
		strbuf_addf(out, "accesses Xen could not emulate, stepped instead: %llu\n",
			    (unsigned long long)r->st.unemulated);
	if (r->st.stale_steps)
		strbuf_addf(out, "single-step events of running vCPUs let go: %llu\n",
			    (unsigned long long)r->st.stale_steps);
	if (r->st.step_bp_ends || r->st.step_bp_passed)
		strbuf_addf(out, "steps over an instruction Xen completes, ended by an int3 after it: "
			    "%llu (other vCPUs let past that int3: %llu)\n",
			    (unsigned long long)r->st.step_bp_ends,
			    (unsigned long long)r->st.step_bp_passed);
	if (r->st.livelocks)
		strbuf_addf(out, "stops of a vCPU that made no progress (the same event %d times): %llu\n",
			    LIVELOCK_REPEATS, (unsigned long long)r->st.livelocks);
	traps_describe(s->traps, out);
	pa_describe(s, out);
	trace_describe(s, out);
}
