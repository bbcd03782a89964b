// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run control, from events to stops: each monitor event of a live guest
 * becomes a stop for gdb, a hold, or is dealt with and released (a guest's
 * own int3 or #DB given back, an access that is not ours let through); a
 * stop stops the world (every vCPU paused or held) and completes the
 * watched access it was made before; shutdowns are stops too.
 */
#include "stub/session/run.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stub/base/log.h"
#include "stub/session/points-agent.h"
#include "stub/session/session-internal.h"
#include "stub/traps/traps.h"
#include "stub/traps/traps-dr.h"

#define DR6_BS (1ull << 14)

/* Bounds on waits for events the guest owes us. They stop a hang; they
 * never decide a result on their own. */
#define HOLD_WAIT_MS 100
#define STEP_OVER_WAIT_MS 5000
/* Events session_poll_stop() handles before it returns. */
#define POLL_EVENTS_MAX 256

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

uint64_t run_event_gpa(const struct target_event *ev)
{
	return (ev->u.swbp.gfn << 12) | (ev->regs.rip & 0xfff);
}

static void hold(struct session *s, const struct target_event *ev)
{
	struct vcpu_run *vr = &s->run->v[ev->vcpu];

	vr->held = true;
	vr->ev = *ev;
}

void run_make_stop(struct stop_info *st, unsigned vcpu, int signo,
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
	if (run_livelock_check(r, ev, st))
		return 1;	/* the same event again and again: stop */
	switch (ev->kind) {
	case TEV_SWBP:
		bp = bp_find(s->bps, run_event_gpa(ev));
		if (bp && r->step_bp && bp->gpa == r->step_bp_gpa) {
			if (ev->vcpu == r->step_bp_vcpu) {
				/* the step's own int3: the instruction Xen
				 * completed is done, and the vCPU is held as
				 * by the single-step that did not come */
				r->v[ev->vcpu].ev.kind = TEV_SINGLESTEP;
				r->st.step_bp_ends++;
				if (r->phase == PH_STEPPING && (int)ev->vcpu == r->step_vcpu) {
					r->st.steps++;
					run_make_stop(st, ev->vcpu, 5, SR_NONE);
					return 1;
				}
				return 0; /* a step past an access: held */
			}
			if (bp->refs == 1) {
				/* another vCPU running during the step: past
				 * it, as if it were not there */
				r->st.step_bp_passed++;
				if (run_release_continue(s, ev->vcpu) < 0)
					log_warn(LC_TRAP, "vCPU %u could not be let go past the step's int3 at 0x%llx: %s",
						 ev->vcpu, (unsigned long long)ev->regs.rip,
						 target_strerror(s->t));
				return 0;
			}
		}
		if (bp) {
			r->st.bp_hits++;
			run_make_stop(st, ev->vcpu, 5, SR_SWBREAK);
			/* its conditions false, or a dprintf: it goes on */
			return pa_swbp_go(s, ev, st) ? 0 : 1;
		}
		if (vmem_read_phys(s->mem, run_event_gpa(ev), &byte, 1, NULL) == 0 &&
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
		run_release(s, ev->vcpu, NULL);
		return 0;
	case TEV_SINGLESTEP:
		if (r->phase == PH_STEPPING && (int)ev->vcpu == r->step_vcpu) {
			r->st.steps++;
			run_make_stop(st, ev->vcpu, 5, SR_NONE);
			return 1;
		}
		if (s->running && r->plan[ev->vcpu] == RESUME_CONTINUE) {
			/* from an arming that outlived its hold (the event
			 * was on its way when the vCPU was disarmed): gdb let
			 * this vCPU run, so it runs */
			r->st.stale_steps++;
			log_dbg(LC_TRAP, "single-step event of running vCPU %u dropped",
				ev->vcpu);
			run_arm(s, ev->vcpu, false);
			run_release(s, ev->vcpu, NULL);
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
			run_make_stop(st, ev->vcpu, 5, why);
			st->addr = where;
			r->v[ev->vcpu].set_rf = why == SR_HWBREAK;
			traps_note_event(s->traps, why == SR_HWBREAK ? TV_HIT_EXEC :
					 TV_HIT_DATA, 0);
			return pa_dr_go(s, ev, st) ? 0 : 1;
		}
	}
		if (tf_step_done(r, ev)) {
			r->st.steps++;
			run_make_stop(st, ev->vcpu, 5, SR_NONE);
			return 1;
		}
		/* not ours: the guest's own #DB */
		if (target_ev_inject(s->t, ev->vcpu, 1, X86_EVENTTYPE_HW_EXCEPTION,
				~0u, 0, ev->u.dbg.pending_dbg) < 0)
			log_warn(LC_TRAP, "a #DB of vCPU %u could not be given back to the guest: %s",
				 ev->vcpu, target_strerror(s->t));
		run_release(s, ev->vcpu, NULL);
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
			run_make_stop(st, ev->vcpu, 5, SR_SWBREAK);
			return 1;
		}
		if (tv == TV_PASS && !stepping) {
			/* not ours: Xen's emulator completes the access with
			 * the restriction still in place */
			struct target_response how;

			memset(&how, 0, sizeof(how));
			how.emulate = true;
			run_release(s, ev->vcpu, &how);
			return 0;
		}
		if (tv == TV_PASS) {
			/* the instruction gdb steps: an emulated one gives no
			 * single-step event, so it is executed for real */
			vr->needs_completion = true;
			return 2;
		}
		run_make_stop(st, ev->vcpu, 5, stop_reason_of(hit.kind));
		st->addr = hit.addr;
		vr->hit_delivery = hit.delivery;
		if (hit.delivery)
			say_delivery(st, ev->regs.rip);
		vr->needs_completion = tv == TV_HIT_DATA;
		/* a point with conditions or commands decides here, or
		 * once the access is done */
		return pa_trap_hit(s, ev, tv, &hit, st);
	}
	case TEV_EMUL_UNIMPL:
		/* Xen's emulator cannot do the instruction we asked it to
		 * emulate: it will be stepped for real instead */
		r->v[ev->vcpu].needs_completion = true;
		r->st.unemulated++;
		return 2;
	default:
		run_release(s, ev->vcpu, NULL);
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
			} /* 2: held until it is stepped (see run_start()) */
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
void run_hold_all(struct session *s)
{
	struct run_state *r = s->run;
	bool *skip = xcalloc(s->t->nr_vcpus, sizeof(bool));
	unsigned v, missing = 0;

	for (v = 0; v < s->t->nr_vcpus; v++) {
		if (r->v[v].held)
			continue;
		if (run_arm(s, v, true) < 0) {
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
int run_complete_access(struct session *s, unsigned v)
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
			rc = run_arm(s, v, true);
		if (rc == 0)
			run_step_bp_plant(s, v);
		if (rc == 0)
			rc = run_release(s, v, NULL);
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
		run_step_bp_drop(s);
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
void run_finish_stop(struct session *s, const struct stop_info *st)
{
	struct run_state *r = s->run;

	if (r->unplanted) {
		/* back unless its breakpoint went meanwhile */
		bp_replant(s->bps, r->unplanted_gpa);
		r->unplanted = false;
	}
	run_step_bp_drop(s);
	r->phase = PH_STOPPED;
	r->step_vcpu = -1;
	r->st.stops++;
	run_livelock_reset(r, s->t->nr_vcpus);
	s->last_stop = *st;
	session_refresh(s);
}

/* The world stops: pause the domain, collect what is queued, hold the
 * vCPUs, finish a watched access, rebuild the thread list. */
void run_stop_world(struct session *s, const struct stop_info *st)
{
	struct run_state *r = s->run;

	if (target_pause(s->t) < 0)
		log_err(LC_SESSION, "the guest could not be paused: %s",
			target_strerror(s->t));
	s->running = false;
	collect(s, 0, NULL, NULL);
	if (r->holds)
		run_hold_all(s);
	/* a watchpoint stops after the access: finish it now */
	if (st->tid >= 1 && st->tid <= s->t->nr_vcpus &&
	    r->v[st->tid - 1].needs_completion) {
		run_complete_access(s, (unsigned)st->tid - 1);
		/* this stop is the one owed */
		r->v[st->tid - 1].then_reason = SR_NONE;
	}
	run_finish_stop(s, st);
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

/* The stop owed after a completed access (vr->then_reason). */
void run_then_stop(struct run_state *r, unsigned v, struct stop_info *st)
{
	struct vcpu_run *vr = &r->v[v];

	run_make_stop(st, v, 5, vr->then_reason);
	st->addr = vr->then_addr;
	if (vr->then_delivery)
		say_delivery(st, vr->delivery_rip);
	vr->then_reason = SR_NONE;
	vr->then_delivery = false;
}

int session_event_fd(struct session *s)
{
	if (!run_live(s) || !s->run->events_ready)
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
		run_hold_all(s);
	rc = run_complete_access(s, v);
	if (!pa_watch_stops(s, v))
		r->v[v].then_reason = SR_NONE;	/* its conditions are false */
	if (rc == 0 && r->v[v].then_reason != SR_NONE) {
		/* the delivery stepped through changed a watched byte, or
		 * a watchpoint's conditions were true after the access */
		r->v[v].pending = false;
		run_then_stop(r, v, stop);
		pa_take_message(s, stop);
		run_finish_stop(s, stop);
		return 1;
	}
	if (rc == 0 && (int)v == step) {
		/* the single-step that ended it is this stop, not another */
		r->v[v].pending = false;
		run_make_stop(stop, v, 5, SR_NONE);
		r->st.steps++;
		run_finish_stop(s, stop);
		return 1;
	}
	r->phase = PH_STOPPED;
	rc = run_start(s, &plan, step, &msg);
	if (rc < 0)
		log_err(LC_TRAP, "the guest could not be resumed: %s", msg ? msg : "");
	free(msg);
	return rc < 0 ? rc : 0;
}

int session_poll_stop(struct session *s, struct stop_info *stop)
{
	struct run_state *r = s->run;

	if (!run_live(s) || !s->running)
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
		unsigned n = 0;
		int rc = 0;

		/* hits that resume at once (false conditions, dprintf,
		 * tracepoints) never end: a batch at a time, so that gdb's
		 * packets (an interrupt) are read between batches */
		while (n++ < POLL_EVENTS_MAX && (rc = target_ev_next(s->t, &ev)) > 0) {
			struct stop_info st;
			int hrc = handle_event(s, &ev, &st);

			if (hrc == 2) {
				rc = redo_unemulated(s, ev.vcpu, stop);
				if (rc)
					return rc;
				continue;
			}
			if (hrc == 1) {
				run_stop_world(s, &st);
				if (r->step == STEP_TF && st.tid >= 1) {
					tf_hide_pushf(s, (unsigned)st.tid - 1);
					run_tf_restore(s, (unsigned)st.tid - 1);
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
