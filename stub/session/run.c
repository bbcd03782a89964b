// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run control: continue, interrupt, single-step and software-breakpoint
 * stops of live guests over the target's monitor events, all-stop.
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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stub/base/log.h"
#include "stub/session/session-internal.h"
#include "stub/traps/journal.h"
#include "stub/traps/traps.h"
#include "stub/traps/traps-dr.h"

#define X86_EVENTTYPE_HW_EXCEPTION 3
#define X86_EVENTTYPE_SW_EXCEPTION 6
#define DR6_BS (1ull << 14)

/* Bounds on waits for events the guest owes us. They stop a hang; they
 * never decide a result on their own. */
#define HOLD_WAIT_MS 100
#define STEP_OVER_WAIT_MS 5000

static bool live(const struct session *s)
{
	return target_has(s->t, TCAP_RUN);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static int ensure_events(struct session *s, char **msg);
static void hold_all(struct session *s);
static int arm(struct session *s, unsigned v, bool on);

/* ---- attach / detach ---- */

int run_attach(struct session *s, char **msg)
{
	int rc;

	s->running = false;
	if (!live(s))
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

		if (ensure_events(s, &why) == 0 && s->run->holds)
			hold_all(s);
		else
			log_info(LC_SESSION, "vCPUs are not held individually: %s",
				 why ? why : "no monitor single-step");
		free(why);
	}
	return 0;
}

static int release(struct session *s, unsigned v,
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
	return 0;
}

/* Restores EFLAGS.TF of a vCPU we stepped with the trap flag. */
static void tf_restore(struct session *s, unsigned v)
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
		if (target_set_regs(s->t, v, &regs) < 0)
			log_warn(LC_TRAP, "could not clear the trap flag of vCPU %u: %s",
				 v, target_strerror(s->t));
		else
			journal_note(s->t->journal, "tf-off %u", v);
	}
	vr->tf_set_by_us = false;
	session_invalidate_regs(s);
}

void run_detach(struct session *s)
{
	struct run_state *r = s->run;
	unsigned v;

	if (!live(s) || !r)
		return;
	if (s->running && target_pause(s->t) < 0)
		log_warn(LC_SESSION, "%s", target_strerror(s->t));
	s->running = false;
	/* int3s out first: a released vCPU must find the guest's bytes */
	if (r->unplanted) {
		bp_replant_all(s->bps);
		r->unplanted = false;
	}
	bp_forget_all(s->bps);
	traps_restore_all(s->traps);
	dr_restore(s->drs);
	for (v = 0; v < s->t->nr_vcpus; v++)
		tf_restore(s, v);
	if (r->events_ready)
		target_ev_disable(s->t); /* answers what is held, in Xen's order */
	r->events_ready = false;
	for (v = 0; v < s->t->nr_vcpus; v++) {
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

/* ---- events ---- */

static int ensure_events(struct session *s, char **msg)
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

static uint64_t event_gpa(const struct target_event *ev)
{
	return (ev->u.swbp.gfn << 12) | (ev->regs.rip & 0xfff);
}

static void hold(struct session *s, const struct target_event *ev)
{
	struct vcpu_run *vr = &s->run->v[ev->vcpu];

	vr->held = true;
	vr->ev = *ev;
}

static void make_stop(struct stop_info *st, unsigned vcpu, int signo,
		      enum stop_reason reason)
{
	memset(st, 0, sizeof(*st));
	st->kind = STOP_SIGNAL;
	st->signo = signo;
	st->tid = vcpu + 1;
	st->reason = reason;
}

/* Says in the stop that the CPU, not an instruction, made the access. */
static void say_delivery(struct stop_info *st, uint64_t rip)
{
	snprintf(st->message, sizeof(st->message),
		 "xenstub: 0x%llx was accessed by the CPU delivering an interrupt or exception "
		 "(the guest was at 0x%llx), not by an instruction\n",
		 (unsigned long long)st->addr, (unsigned long long)rip);
}

/*
 * Is this #DB the end of our EFLAGS.TF step? Xen on Intel gives the cause
 * in pending_dbg (DR6.BS). Xen on AMD gives no cause at all: svm.c passes
 * pending_dbg 0 to hvm_monitor_debug() and the event's dr6 is 0 (Xen 4.17,
 * seen under QEMU's SVM emulation), so there a #DB from the vCPU we set TF
 * on is the step.
 */
static bool tf_step_done(const struct run_state *r,
			 const struct target_event *ev)
{
	if (r->phase != PH_STEPPING || r->step != STEP_TF ||
	    (int)ev->vcpu != r->step_vcpu)
		return false;
	if (ev->u.dbg.pending_dbg & DR6_BS)
		return true;
	return !ev->u.dbg.pending_dbg && r->v[ev->vcpu].tf_set_by_us;
}

/*
 * Handles one event. Returns 1 with *st when it is a stop for gdb (the
 * vCPU stays held), 0 when it was dealt with (released, or held as part
 * of a hold), or -errno.
 */
static int handle_event(struct session *s, const struct target_event *ev,
			struct stop_info *st)
{
	struct run_state *r = s->run;
	const struct swbp *bp;
	uint8_t byte;

	r->st.events++;
	if (!ev->held) {
		log_dbg(LC_TRAP, "asynchronous event %llu from vCPU %u ignored",
			(unsigned long long)ev->raw_reason, ev->vcpu);
		return 0;
	}
	hold(s, ev);
	switch (ev->kind) {
	case TEV_SWBP:
		bp = bp_find(s->bps, event_gpa(ev));
		if (bp) {
			r->st.bp_hits++;
			make_stop(st, ev->vcpu, 5, SR_SWBREAK);
			return 1;
		}
		if (vmem_read_phys(s->mem, event_gpa(ev), &byte, 1, NULL) == 0 &&
		    byte == 0xcc) {
			/* the guest's own int3: the guest takes it */
			int rc = target_ev_inject(s->t, ev->vcpu, 3,
					     X86_EVENTTYPE_SW_EXCEPTION, ~0u,
					     ev->u.swbp.insn_length ?
					     ev->u.swbp.insn_length : 1, 0);

			if (rc < 0)
				log_warn(LC_TRAP, "the guest's int3 at 0x%llx could not be given back to it: %s",
					 (unsigned long long)ev->regs.rip,
					 target_strerror(s->t));
			r->st.guest_int3_reinjected++;
		} else {
			/* queued before its breakpoint was removed */
			r->st.stale_bp_events++;
			log_dbg(LC_TRAP, "stale breakpoint event at 0x%llx dropped",
				(unsigned long long)ev->regs.rip);
		}
		release(s, ev->vcpu, NULL);
		return 0;
	case TEV_SINGLESTEP:
		if (r->phase == PH_STEPPING && (int)ev->vcpu == r->step_vcpu) {
			r->st.steps++;
			make_stop(st, ev->vcpu, 5, SR_NONE);
			return 1;
		}
		if (s->running && r->plan[ev->vcpu] == RESUME_CONTINUE) {
			/* from an arming that outlived its hold (the event
			 * was on its way when the vCPU was disarmed): gdb let
			 * this vCPU run, so it runs */
			r->st.stale_steps++;
			log_dbg(LC_TRAP, "single-step event of running vCPU %u dropped",
				ev->vcpu);
			arm(s, ev->vcpu, false);
			release(s, ev->vcpu, NULL);
			return 0;
		}
		r->st.holds++;
		return 0; /* a hold: stays held */
	case TEV_DEBUG_EXC: {
		enum trap_kind kind;
		enum stop_reason why;
		uint64_t where;

		if (dr_match(s->drs, ev->u.dbg.pending_dbg, &kind, &where)) {
			why = stop_reason_of(kind);
			/* one of our debug registers: data breakpoints trap
			 * after the access, instruction ones fault before */
			make_stop(st, ev->vcpu, 5, why);
			st->addr = where;
			r->v[ev->vcpu].set_rf = why == SR_HWBREAK;
			traps_note_event(s->traps, why == SR_HWBREAK ? TV_HIT_EXEC :
					 TV_HIT_DATA, 0);
			return 1;
		}
	}
		if (tf_step_done(r, ev)) {
			r->st.steps++;
			make_stop(st, ev->vcpu, 5, SR_NONE);
			return 1;
		}
		/* not ours: the guest's own #DB */
		if (target_ev_inject(s->t, ev->vcpu, 1, X86_EVENTTYPE_HW_EXCEPTION,
				~0u, 0, ev->u.dbg.pending_dbg) < 0)
			log_warn(LC_TRAP, "a #DB of vCPU %u could not be given back to the guest: %s",
				 ev->vcpu, target_strerror(s->t));
		release(s, ev->vcpu, NULL);
		return 0;
	case TEV_MEM_ACCESS: {
		struct trap_hit hit;
		uint64_t t0 = now_ns();
		enum trap_verdict tv = traps_classify(s->traps, ev, &hit);
		struct vcpu_run *vr = &r->v[ev->vcpu];
		bool stepping = r->phase == PH_STEPPING &&
				(int)ev->vcpu == r->step_vcpu;

		memcpy(vr->relax_gfns, hit.gfns, sizeof(hit.gfns));
		vr->nrelax = hit.ngfns;
		vr->then_reason = stop_reason_of(hit.then_kind);
		vr->then_addr = hit.then_addr;
		vr->then_delivery = false;
		vr->delivery = tv == TV_STEP;
		vr->delivery_rip = ev->regs.rip;
		traps_note_event(s->traps, tv, now_ns() - t0);
		if (tv == TV_STEP) {
			/* the CPU's own access: emulating the instruction at
			 * rip would run an unrelated instruction and retry
			 * the delivery (with IF clear by then, VM entry
			 * fails); the vCPU steps through it instead */
			vr->needs_completion = true;
			return 2;
		}
		if (tv == TV_PASS && (ev->u.mem.access & TACC_X) &&
		    bp_find(s->bps, (ev->u.mem.gfn << 12) | ev->u.mem.offset)) {
			/* one of our int3s on a frame that may not execute:
			 * Xen's emulator would give its #BP to the guest */
			r->st.bp_hits++;
			make_stop(st, ev->vcpu, 5, SR_SWBREAK);
			return 1;
		}
		if (tv == TV_PASS && !stepping) {
			/* not ours: Xen's emulator completes the access with
			 * the restriction still in place */
			struct target_response how;

			memset(&how, 0, sizeof(how));
			how.emulate = true;
			release(s, ev->vcpu, &how);
			return 0;
		}
		if (tv == TV_PASS) {
			/* the instruction gdb steps: an emulated one gives no
			 * single-step event, so it is executed for real */
			vr->needs_completion = true;
			return 2;
		}
		make_stop(st, ev->vcpu, 5, stop_reason_of(hit.kind));
		st->addr = hit.addr;
		vr->hit_delivery = hit.delivery;
		if (hit.delivery)
			say_delivery(st, ev->regs.rip);
		vr->needs_completion = tv == TV_HIT_DATA;
		return 1;
	}
	case TEV_EMUL_UNIMPL:
		/* Xen's emulator cannot do the instruction we asked it to
		 * emulate: it will be stepped for real instead */
		r->v[ev->vcpu].needs_completion = true;
		r->st.unemulated++;
		return 2;
	default:
		release(s, ev->vcpu, NULL);
		return 0;
	}
}

/* Takes events until pred() holds or the deadline passes; stops found
 * meanwhile become pending stops of their vCPUs. */
static void collect(struct session *s, unsigned wait_ms,
		    bool (*pred)(struct session *s, void *ctx), void *ctx)
{
	uint64_t deadline = now_ms() + wait_ms;

	for (;;) {
		struct target_event ev;
		struct stop_info st;
		int rc;

		while ((rc = target_ev_next(s->t, &ev)) > 0) {
			if (handle_event(s, &ev, &st) == 1) {
				struct vcpu_run *vr = &s->run->v[ev.vcpu];

				vr->pending = true;
				vr->pending_stop = st;
			} /* 2: held until it is stepped (see start()) */
		}
		if (rc < 0 || (pred && pred(s, ctx)))
			return;
		{
			uint64_t t = now_ms();
			struct pollfd pfd = { target_ev_fd(s->t), POLLIN, 0 };

			if (t >= deadline || pfd.fd < 0)
				return;
			poll(&pfd, 1, (int)(deadline - t));
		}
	}
}

/* Arms or disarms the monitor single-step of a vCPU, held or not (Xen's
 * debug_control sets it directly; responses never toggle it, so its state
 * is always the one set here). */
static int arm(struct session *s, unsigned v, bool on)
{
	if (s->run->step != STEP_MTF)
		return on ? -EOPNOTSUPP : 0;
	return target_ev_singlestep(s->t, v, on);
}

static bool all_held(struct session *s, void *ctx)
{
	unsigned v;
	bool *armed_halted = ctx;

	for (v = 0; v < s->t->nr_vcpus; v++)
		if (!s->run->v[v].held && !armed_halted[v])
			return false;
	return true;
}

/* Brings every vCPU to a hold (see the top of this file). Called with the
 * domain paused; returns with it paused. */
static void hold_all(struct session *s)
{
	struct run_state *r = s->run;
	bool *skip = xcalloc(s->t->nr_vcpus, sizeof(bool));
	unsigned v, missing = 0;

	for (v = 0; v < s->t->nr_vcpus; v++) {
		if (r->v[v].held)
			continue;
		if (arm(s, v, true) < 0) {
			log_warn(LC_TRAP, "vCPU %u cannot be held: %s", v,
				 target_strerror(s->t));
			skip[v] = true;
		}
	}
	if (all_held(s, skip))
		goto out;
	if (target_unpause(s->t) < 0) {
		log_warn(LC_TRAP, "%s", target_strerror(s->t));
		goto out;
	}
	collect(s, HOLD_WAIT_MS, all_held, skip);
	if (target_pause(s->t) < 0)
		log_err(LC_TRAP, "the guest could not be paused again: %s",
			target_strerror(s->t));
	/* what arrived while pausing */
	collect(s, 0, NULL, NULL);
	for (v = 0; v < s->t->nr_vcpus; v++)
		missing += !r->v[v].held;
	if (missing)
		log_dbg(LC_TRAP, "%u vCPU%s idle (halted): held by the domain pause, armed to stop after one instruction",
			missing, missing == 1 ? "" : "s");
out:
	free(skip);
}

static bool held_by_step(struct session *s, void *ctx)
{
	const struct vcpu_run *vr = &s->run->v[*(unsigned *)ctx];

	return vr->held && vr->ev.kind == TEV_SINGLESTEP;
}

static bool held_again(struct session *s, void *ctx)
{
	return s->run->v[*(unsigned *)ctx].held;
}

static void add_gfns(uint64_t *set, unsigned *n, unsigned max,
		     const uint64_t *gfns, unsigned k)
{
	unsigned i, j;

	for (i = 0; i < k; i++) {
		for (j = 0; j < *n && set[j] != gfns[i]; j++)
			;
		if (j == *n && *n < max)
			set[(*n)++] = gfns[i];
	}
}

#define COMPLETE_MAX_FRAMES 16
#define COMPLETE_MAX_ROUNDS 4

/*
 * Lets vCPU v, held before an access to a restricted frame, execute that
 * one instruction (or finish delivering an event) with its frames
 * relaxed, and takes it back after it. The domain is paused and the other
 * vCPUs held (or halted) on entry and on return, so no access by another
 * vCPU to those frames can go unseen. An event delivery may touch several
 * of our frames that nobody could name beforehand: each one it faults on
 * is relaxed in turn. On return vr->then_reason may name a stop owed to
 * gdb (a watched byte the delivery changed, or a hit on a later frame);
 * the caller reports it or clears it.
 */
static int complete_access(struct session *s, unsigned v)
{
	struct run_state *r = s->run;
	struct vcpu_run *vr = &r->v[v];
	uint64_t gfns[COMPLETE_MAX_FRAMES];
	unsigned n = 0, round;
	bool delivery = vr->delivery;
	struct stop_info owed;
	bool have_owed = false, owed_delivery = false;
	int rc = 0;

	vr->needs_completion = false;
	vr->delivery = false;
	if (r->step != STEP_MTF) {
		log_warn(LC_TRAP, "vCPU %u cannot be stepped past the access: it goes on without stopping after it", v);
		return -EOPNOTSUPP;
	}
	add_gfns(gfns, &n, COMPLETE_MAX_FRAMES, vr->relax_gfns, vr->nrelax);
	for (round = 0;; round++) {
		if (delivery)
			traps_snapshot(s->traps, gfns, n);
		rc = traps_relax(s->traps, gfns, n);
		if (rc == 0)
			rc = arm(s, v, true);
		if (rc == 0)
			rc = release(s, v, NULL);
		if (rc == 0)
			rc = target_unpause(s->t);
		if (rc < 0) {
			log_err(LC_TRAP, "stepping vCPU %u past an access failed: %s", v,
				target_strerror(s->t));
			break;
		}
		collect(s, STEP_OVER_WAIT_MS, held_again, &v);
		if (target_pause(s->t) < 0)
			log_err(LC_TRAP, "the guest could not be paused again: %s",
				target_strerror(s->t));
		collect(s, 0, NULL, NULL);
		if (!vr->held || vr->ev.kind != TEV_MEM_ACCESS ||
		    round + 1 == COMPLETE_MAX_ROUNDS)
			break;
		/* it faulted on another of our frames before its step was
		 * over: relax that one too and go again */
		log_dbg(LC_TRAP, "vCPU %u: the access also needs frame 0x%llx",
			v, (unsigned long long)vr->ev.u.mem.gfn);
		if (vr->pending && !have_owed) {
			/* a hit there: reported once the step is over */
			owed = vr->pending_stop;
			owed_delivery = vr->hit_delivery;
			have_owed = true;
		}
		vr->pending = false;
		vr->needs_completion = false;
		delivery |= vr->delivery;
		vr->delivery = false;
		add_gfns(gfns, &n, COMPLETE_MAX_FRAMES, vr->relax_gfns, vr->nrelax);
	}
	if (traps_unrelax(s->traps, gfns, n) < 0)
		log_err(LC_TRAP, "watched frames could not be restricted again: %s",
			target_strerror(s->t));
	if (delivery) {
		struct trap_hit h;

		/* what the delivery wrote is known only now */
		memset(&h, 0, sizeof(h));
		if (traps_changed(s->traps, &h) && vr->then_reason == SR_NONE) {
			vr->then_reason = stop_reason_of(h.kind);
			vr->then_addr = h.addr;
			vr->then_delivery = true;
		}
	}
	if (have_owed && vr->then_reason == SR_NONE) {
		vr->then_reason = owed.reason;
		vr->then_addr = owed.addr;
		vr->then_delivery = owed_delivery;
	}
	if (rc < 0)
		return rc;
	if (!held_by_step(s, &v)) {
		if (vr->held && vr->ev.kind == TEV_MEM_ACCESS)
			vr->needs_completion = true;
		log_warn(LC_TRAP, "vCPU %u did not come back from its step in %d ms",
			 v, STEP_OVER_WAIT_MS);
		return -ETIMEDOUT;
	}
	return 0;
}

/* Ends a stop whose vCPUs are all paused or held: the thread list is
 * rebuilt and the stop becomes the last one. */
static void finish_stop(struct session *s, const struct stop_info *st)
{
	struct run_state *r = s->run;

	if (r->unplanted) {
		/* back unless its breakpoint went meanwhile */
		bp_replant(s->bps, r->unplanted_gpa);
		r->unplanted = false;
	}
	r->phase = PH_STOPPED;
	r->step_vcpu = -1;
	r->st.stops++;
	s->last_stop = *st;
	session_refresh(s);
}

/* The world stops: pause the domain, collect what is queued, hold the
 * vCPUs, finish a watched access, rebuild the thread list. */
static void stop_world(struct session *s, const struct stop_info *st)
{
	struct run_state *r = s->run;

	if (target_pause(s->t) < 0)
		log_err(LC_SESSION, "the guest could not be paused: %s",
			target_strerror(s->t));
	s->running = false;
	collect(s, 0, NULL, NULL);
	if (r->holds)
		hold_all(s);
	/* a watchpoint stops after the access: finish it now */
	if (st->tid >= 1 && st->tid <= s->t->nr_vcpus &&
	    r->v[st->tid - 1].needs_completion) {
		complete_access(s, (unsigned)st->tid - 1);
		/* this stop is the one owed */
		r->v[st->tid - 1].then_reason = SR_NONE;
	}
	finish_stop(s, st);
}

/* A step through EFLAGS.TF must not show TF to the guest: a pushf that
 * was stepped pushed it. */
static void tf_hide_pushf(struct session *s, unsigned v)
{
	struct vcpu_run *vr = &s->run->v[v];
	unsigned i = 0;
	struct x86_regs regs;
	struct aspace as;
	uint64_t flags;

	while (i < 4 && (vr->step_opcode[i] == 0x66 ||
			 (vr->step_opcode[i] & 0xf0) == 0x40))
		i++;
	if (vr->step_opcode[i] != 0x9c || vr->tf_was_set)
		return;
	if (session_vcpu_regs(s, v, &regs) < 0)
		return;
	vmem_aspace_of(&regs, &as);
	if (vmem_read_u64(s->mem, &as, regs.gpr[X86_RSP], &flags) == 0 &&
	    (flags & X86_RFLAGS_TF)) {
		flags &= ~X86_RFLAGS_TF;
		vmem_write(s->mem, &as, regs.gpr[X86_RSP], &flags,
			   x86_in_long_mode(&regs) ? 8 : 4, NULL);
	}
}

/* ---- resuming ---- */

/* Lets a held vCPU go for a continue; steps it off a breakpoint first. */
static int release_for_continue(struct session *s, unsigned v)
{
	struct run_state *r = s->run;
	struct vcpu_run *vr = &r->v[v];
	struct target_response how;
	uint8_t insn[16];
	size_t got = 0;

	memset(&how, 0, sizeof(how));
	if (vr->ev.kind == TEV_SWBP && bp_find(s->bps, event_gpa(&vr->ev))) {
		/* sitting on one of our int3s: execute the guest's
		 * instruction in its place, in Xen's emulator, so no other
		 * vCPU can pass the breakpoint meanwhile */
		bp_read_code(s->bps, &vr->ev.regs, insn, sizeof(insn), &got);
		if (got) {
			how.emulate = true;
			how.insn = insn;
			how.insn_len = (unsigned)got;
		}
	}
	return release(s, v, &how);
}

/* The stop owed after a completed access (vr->then_reason). */
static void then_stop(struct run_state *r, unsigned v, struct stop_info *st)
{
	struct vcpu_run *vr = &r->v[v];

	make_stop(st, v, 5, vr->then_reason);
	st->addr = vr->then_addr;
	if (vr->then_delivery)
		say_delivery(st, vr->delivery_rip);
	vr->then_reason = SR_NONE;
	vr->then_delivery = false;
}

static int start(struct session *s, const struct resume_plan *plan, int step,
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
		rc = complete_access(s, v);
		if (rc == 0 && r->v[v].then_reason != SR_NONE) {
			/* a hardware breakpoint's instruction hit a watchpoint
			 * too, or an event delivery changed a watched byte:
			 * that is the next stop, whatever gdb asked */
			then_stop(r, v, &r->interrupt_stop);
			finish_stop(s, &r->interrupt_stop);
			s->running = true;
			r->report_pending = true;
			r->pending_vcpu = -1;
			return 0;
		}
		if ((int)v == step && rc == 0) {
			/* that instruction was the step */
			make_stop(&r->interrupt_stop, v, 5, SR_NONE);
			r->st.steps++;
			finish_stop(s, &r->interrupt_stop);
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
			arm(s, v, false);
		tf_restore(s, v);
		if (!r->v[v].held)
			continue;
		rc = r->v[v].ev.kind == TEV_SWBP ? release_for_continue(s, v) :
						   release(s, v, NULL);
		if (rc < 0) {
			*msg = xstrfmt("cannot resume vCPU %u: %s", v,
				       target_strerror(s->t));
			return rc;
		}
	}
	if (step >= 0) {
		struct vcpu_run *vr = &r->v[step];
		const struct swbp *bp = vr->held && vr->ev.kind == TEV_SWBP ?
					bp_find(s->bps, event_gpa(&vr->ev)) : NULL;

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
			rc = arm(s, (unsigned)step, true);
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
				rc = target_set_regs(s->t, (unsigned)step, &regs);
				if (rc == 0)
					vr->tf_set_by_us = true;
			}
		}
		if (rc == 0)
			rc = release(s, (unsigned)step, NULL);
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
		    !bp_find(s->bps, event_gpa(&vr->ev))) {
			/* its breakpoint is gone: the vCPU just goes on */
			continue;
		}
		if (vr->needs_completion) {
			int rc = complete_access(s, v);

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

	if (!live(s)) {
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
		rc = ensure_events(s, msg);
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
	return start(s, plan, step, msg);
}

int session_interrupt(struct session *s)
{
	struct run_state *r = s->run;
	struct stop_info st;
	unsigned v = 0;

	if (!live(s) || !s->running || r->report_pending)
		return 0;
	if (r->phase == PH_STEPPING && r->step_vcpu >= 0)
		v = (unsigned)r->step_vcpu;
	else if (s->last_stop.tid >= 1 && s->last_stop.tid <= s->t->nr_vcpus)
		v = (unsigned)(s->last_stop.tid - 1);
	make_stop(&st, v, 2, SR_NONE);
	stop_world(s, &st);
	s->running = true; /* gdb still waits for this stop */
	r->report_pending = true;
	r->pending_vcpu = -1;
	r->interrupt_stop = st;
	return 0;
}

int session_event_fd(struct session *s)
{
	if (!live(s) || !s->run->events_ready)
		return -1;
	return target_ev_fd(s->t);
}

static int check_shutdown(struct session *s, struct stop_info *st)
{
	struct target_status ts;

	if (target_ev_status(s->t, &ts) < 0)
		return 0;
	memset(st, 0, sizeof(*st));
	switch (ts.state) {
	case TSTATE_SHUTDOWN:
		/* SHUTDOWN_poweroff 0, _reboot 1, _suspend 2, _crash 3,
		 * _watchdog 4, _soft_reset 5 */
		if (ts.shutdown_code == 3 || ts.shutdown_code == 4) {
			st->kind = STOP_TERMINATED;
			st->signo = ts.shutdown_code == 3 ? 11 : 6;
			snprintf(st->message, sizeof(st->message),
				 "xenstub: the guest %s (Xen shutdown code %d)\n",
				 ts.shutdown_code == 3 ? "crashed" : "was reset by its watchdog",
				 ts.shutdown_code);
		} else {
			st->kind = STOP_EXITED;
			st->exit_code = ts.shutdown_code;
			snprintf(st->message, sizeof(st->message),
				 "xenstub: the guest %s (Xen shutdown code %d)\n",
				 ts.shutdown_code == 0 ? "powered off" :
				 ts.shutdown_code == 1 ? "rebooted" :
				 ts.shutdown_code == 2 ? "suspended" : "shut down",
				 ts.shutdown_code);
		}
		return 1;
	case TSTATE_DYING:
		st->kind = STOP_TERMINATED;
		st->signo = 9;
		snprintf(st->message, sizeof(st->message),
			 "xenstub: the guest was destroyed\n");
		return 1;
	default:
		return 0;
	}
}

/*
 * A vCPU whose access Xen could not emulate: stop the world, let it execute
 * the instruction for real with its frames relaxed, and go on as before.
 * Returns 1 with *stop when that instruction was a step gdb asked for, 0
 * when the guest runs again, or -errno.
 */
static int redo_unemulated(struct session *s, unsigned v, struct stop_info *stop)
{
	struct run_state *r = s->run;
	struct resume_plan plan = { s->t->nr_vcpus, r->plan };
	int step = r->phase == PH_STEPPING ? r->step_vcpu : -1;
	char *msg = NULL;
	int rc;

	if (target_pause(s->t) < 0)
		return -EIO;
	s->running = false;
	collect(s, 0, NULL, NULL);
	if (r->holds)
		hold_all(s);
	rc = complete_access(s, v);
	if (rc == 0 && r->v[v].then_reason != SR_NONE) {
		/* the delivery stepped through changed a watched byte */
		r->v[v].pending = false;
		then_stop(r, v, stop);
		finish_stop(s, stop);
		return 1;
	}
	if (rc == 0 && (int)v == step) {
		/* the single-step that ended it is this stop, not another */
		r->v[v].pending = false;
		make_stop(stop, v, 5, SR_NONE);
		r->st.steps++;
		finish_stop(s, stop);
		return 1;
	}
	r->phase = PH_STOPPED;
	rc = start(s, &plan, step, &msg);
	if (rc < 0)
		log_err(LC_TRAP, "the guest could not be resumed: %s", msg ? msg : "");
	free(msg);
	return rc < 0 ? rc : 0;
}

int session_poll_stop(struct session *s, struct stop_info *stop)
{
	struct run_state *r = s->run;

	if (!live(s) || !s->running)
		return 0;
	if (r->report_pending) {
		r->report_pending = false;
		s->running = false;
		if (r->pending_vcpu >= 0) {
			*stop = r->v[r->pending_vcpu].pending_stop;
			s->last_stop = *stop;
			session_refresh(s);
		} else {
			*stop = r->interrupt_stop;
		}
		return 1;
	}
	if (r->events_ready) {
		struct target_event ev;
		int rc;

		while ((rc = target_ev_next(s->t, &ev)) > 0) {
			struct stop_info st;
			int hrc = handle_event(s, &ev, &st);

			if (hrc == 2) {
				rc = redo_unemulated(s, ev.vcpu, stop);
				if (rc)
					return rc;
				continue;
			}
			if (hrc == 1) {
				stop_world(s, &st);
				if (r->step == STEP_TF && st.tid >= 1) {
					tf_hide_pushf(s, (unsigned)st.tid - 1);
					tf_restore(s, (unsigned)st.tid - 1);
				}
				*stop = st;
				return 1;
			}
		}
		if (rc < 0)
			return rc;
	}
	if (check_shutdown(s, stop)) {
		s->running = false;
		r->phase = PH_STOPPED;
		s->last_stop = *stop;
		return 1;
	}
	return 0;
}

/* ---- breakpoints and watchpoints ---- */

/* Watchpoints need Xen's mem_access: find out once whether it works. */
static int probe_mem_access(struct session *s, char **msg)
{
	struct run_state *r = s->run;
	uint8_t a;
	int rc;

	if (r->mem_access_probed) {
		if (r->mem_access_ok)
			return 0;
		*msg = xstrfmt("%s", r->mem_access_why);
		return -EOPNOTSUPP;
	}
	r->mem_access_probed = true;
	if (!target_has(s->t, TCAP_MEM_ACCESS)) {
		snprintf(r->mem_access_why, sizeof(r->mem_access_why),
			 "%s offers no memory access traps: watchpoints and hardware breakpoints are not available",
			 s->t->description);
		*msg = xstrfmt("%s", r->mem_access_why);
		return -EOPNOTSUPP;
	}
	rc = target_ev_get_access(s->t, 0, 0, &a);
	if (rc < 0) {
		snprintf(r->mem_access_why, sizeof(r->mem_access_why),
			 "watchpoints need Xen's mem_access, which needs an HVM/PVH guest on Intel VT-x with EPT; Xen refused it here: %s",
			 strerror(-rc));
		*msg = xstrfmt("%s", r->mem_access_why);
		return rc == -EINVAL || rc == -EOPNOTSUPP || rc == -ENOSYS ? -EOPNOTSUPP : rc;
	}
	r->mem_access_ok = true;
	/* an instruction Xen's emulator cannot do must come back to us
	 * instead of becoming a #UD in the guest */
	if (target_ev_monitor(s->t, TMON_EMUL_UNIMPL, true) < 0)
		log_warn(LC_TRAP, "%s: an access Xen cannot emulate near a watchpoint would fault in the guest",
			 target_strerror(s->t));
	return 0;
}

/* Without mem_access: the four debug registers, when Xen reports #DB. */
static int dr_fallback(struct session *s, enum point_type t, uint64_t addr,
		       uint64_t len, char **msg)
{
	struct strbuf why = STRBUF_INIT;
	char *no_ma = *msg;	/* why there is no mem_access */
	int rc;

	*msg = NULL;
	if (s->phys_mode) {
		*msg = xstrfmt("%s; debug registers watch virtual addresses, not physical ones", no_ma);
		free(no_ma);
		return -ENOSPC;
	}
	if (target_ev_monitor(s->t, TMON_DEBUG_EXC, true) < 0) {
		*msg = xstrfmt("%s; and Xen reports no debug exceptions for a debug-register fallback: %s",
			       no_ma, target_strerror(s->t));
		free(no_ma);
		return -ENOSPC;
	}
	if (!s->drs)
		s->drs = dr_new(&s->env);
	rc = dr_insert(s->drs, trap_kind_of(t), addr, len, &why);
	if (rc == 0 && !s->run->dr_told) {
		/* not an error: said once so the user knows the limits */
		*msg = xstrfmt("no mem_access here (%s): hardware breakpoints and watchpoints use the "
			       "vCPUs' four debug registers (aligned 1, 2, 4 or 8 bytes; no rwatch)",
			       "it needs Intel VT-x with EPT");
		s->run->dr_told = true;
	} else if (rc < 0 && why.len) {
		*msg = xstrfmt("%s (%s)", why.buf, no_ma);
	}
	strbuf_release(&why);
	free(no_ma);
	return rc;
}

/* A watchpoint or hardware breakpoint from mem_access. */
static int insert_trap(struct session *s, uint64_t tid, enum point_type t,
		       uint64_t addr, uint64_t len, char **msg)
{
	struct strbuf why = STRBUF_INIT;
	struct aspace as;
	int rc;

	if (!s->traps)
		s->traps = traps_new(&s->env, s->bps);
	/* gdb inserts every point again at each stop */
	if (traps_ref(s->traps, trap_kind_of(t), addr, len))
		return 0;
	rc = session_aspace(s, tid, &as);
	if (rc < 0) {
		*msg = xstrfmt("no address space for the selected thread: %s",
			       strerror(-rc));
		return rc;
	}
	rc = traps_insert(s->traps, &as, trap_kind_of(t), addr, len, &why);
	if (rc < 0)
		*msg = strbuf_detach(&why, NULL);
	strbuf_release(&why);
	return rc;
}

/* An int3 in guest memory. */
static int insert_int3(struct session *s, uint64_t tid, uint64_t addr,
		       char **msg)
{
	struct strbuf why = STRBUF_INIT;
	struct aspace as;
	int rc;

	/* without an address space it is refused as not mapped */
	rc = session_aspace(s, tid, &as);
	rc = bp_insert(s->bps, rc < 0 ? NULL : &as, addr, &why);
	if (rc < 0)
		*msg = strbuf_detach(&why, NULL);
	strbuf_release(&why);
	return rc;
}

int session_insert_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len, char **msg)
{
	int rc;

	if (!live(s)) {
		*msg = xstrfmt("%s cannot run, so it takes no breakpoints",
			       s->t->description ? s->t->description : "the target");
		return -EROFS;
	}
	rc = ensure_events(s, msg);
	if (rc < 0)
		/* an error, not "unsupported" (-EOPNOTSUPP makes the empty
		 * reply): gdb would then write the int3 itself, and a guest
		 * that reports no events (PV) would execute it */
		return rc == -EOPNOTSUPP ? -EPERM : rc;
	if (t != PT_SW_BREAK) {
		rc = probe_mem_access(s, msg);
		if (rc == -EOPNOTSUPP)
			return dr_fallback(s, t, addr, len, msg);
		if (rc < 0)
			return rc;
		return insert_trap(s, tid, t, addr, len, msg);
	}
	if (s->opts.read_only) {
		*msg = xstrfmt("--read-only: breakpoints write an int3 into guest memory (hbreak writes nothing)");
		return -EROFS;
	}
	rc = target_ev_monitor(s->t, TMON_SWBP, true);
	if (rc < 0) {
		*msg = xstrfmt("%s", target_strerror(s->t));
		return rc;
	}
	return insert_int3(s, tid, addr, msg);
}

int session_remove_point(struct session *s, uint64_t tid, enum point_type t,
			 uint64_t addr, uint64_t len)
{
	struct aspace as;

	if (!live(s))
		return -ENOENT;
	if (t != PT_SW_BREAK) {
		if (dr_remove(s->drs, trap_kind_of(t), addr, len) == 0)
			return 0;
		return traps_remove(s->traps, trap_kind_of(t), addr, len);
	}
	/* the mapping may have gone: then the int3 planted at addr */
	return bp_remove(s->bps, session_aspace(s, tid, &as) < 0 ? NULL : &as,
			 addr);
}

/* ---- statistics for "monitor stats" ---- */

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
	traps_describe(s->traps, out);
}
