/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Run control of live targets: stops, holds, stepping, event handling.
 * Internal to the session.
 */
#ifndef XENSTUB_RUN_H
#define XENSTUB_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stub/base/strbuf.h"
#include "stub/guest/target.h"
#include "stub/guest/vmem.h"
#include "stub/session/session.h"

struct session;

enum step_method {
	STEP_NONE = 0,		/* no way to step */
	STEP_MTF,		/* monitor single-step (Intel MTF) */
	STEP_TF,		/* EFLAGS.TF + debug-exception events (AMD) */
};

enum run_phase {
	PH_STOPPED = 0,		/* all vCPUs held or paused; gdb knows */
	PH_RUNNING,		/* continue: waiting for a stop */
	PH_STEPPING,		/* one vCPU stepping, maybe others running */
};

/*
 * The livelock guard (run-livelock.c): a held event that comes back this
 * many times in a row with nothing changed (kind, address, general
 * registers, RIP, RFLAGS, CR3) stops the guest as making no progress. A
 * vCPU that executes the instruction moves on (a different RIP or
 * register) before the next event; one that comes back unchanged
 * thousands of times is stuck, or spins on a frame we trap with nothing
 * else happening: either way the user is better told than left waiting.
 * Large enough that a guest's own spin on a trapped frame rarely reaches
 * it (each repeat is a full round trip through the hypervisor), small
 * enough that a stuck vCPU is reported within a second or so.
 */
#define LIVELOCK_REPEATS 10000
#define LIVELOCK_SIG_WORDS (5 + X86_GPR_NR + 4)

struct vcpu_run {
	bool held;			/* an event holds it */
	struct target_event ev;		/* the event that holds it */
	bool stepping;			/* we asked it to step */
	bool tf_set_by_us;		/* STEP_TF: we set EFLAGS.TF */
	bool tf_was_set;		/* ... and the guest had it already */
	bool tf_off_owed;		/* TF given back while held: journaled
					 * once its release took it to Xen */
	uint8_t step_opcode[16];	/* bytes of the stepped instruction */
	bool pending;			/* a stop of this vCPU not reported */
	struct stop_info pending_stop;
	bool needs_completion;		/* held before a watched access */
	bool set_rf;			/* resume with EFLAGS.RF (DR fault) */
	uint64_t relax_gfns[8];		/* frames to relax to complete it */
	unsigned nrelax;
	enum stop_reason then_reason;	/* a watchpoint its held instruction
					 * hits, to report once it ran */
	uint64_t then_addr;
	bool then_delivery;		/* ... made by event delivery */
	bool delivery;			/* held before an access of the CPU's
					 * own (event delivery) that hit no
					 * point: watched bytes it changes are
					 * found after the step */
	uint64_t delivery_rip;		/* where the guest was interrupted */
	bool hit_delivery;		/* its pending stop is such a hit */
	uint64_t ll_sig[LIVELOCK_SIG_WORDS];	/* its last held event */
	unsigned ll_repeats;		/* ... and how many in a row */
};

struct run_stats {
	uint64_t events;
	uint64_t stops;
	uint64_t bp_hits;
	uint64_t stale_bp_events;
	uint64_t guest_int3_reinjected;
	uint64_t steps;
	uint64_t holds;
	uint64_t unemulated;
	uint64_t stale_steps;		/* single-steps of running vCPUs */
	uint64_t step_bp_ends;		/* steps ended at the step's int3 */
	uint64_t step_bp_passed;	/* ... which another vCPU passed */
	uint64_t livelocks;		/* stops for lack of progress */
};

struct run_state {
	bool events_ready;		/* monitor ring on */
	enum step_method step;
	enum run_phase phase;
	int step_vcpu;			/* PH_STEPPING: who */
	bool holds;			/* stops hold every vCPU (MTF) */
	struct vcpu_run *v;		/* per vCPU */
	unsigned next_stop_vcpu;	/* round robin over pending stops */
	bool mem_access_ok;		/* mem_access probed and available */
	bool dr_told;			/* the user knows DRs are used */
	bool mem_access_probed;
	char mem_access_why[256];
	bool unplanted;			/* a step runs with one int3 out */
	uint64_t unplanted_gpa;
	/* a step by MTF over an instruction Xen completes in its exit
	 * handler (x86_exit_insn()), after which Xen raises no MTF exit:
	 * an int3 of the step's own at the next instruction ends it */
	bool step_bp;
	unsigned step_bp_vcpu;		/* the vCPU it ends the step of */
	uint64_t step_bp_addr;		/* its address in step_bp_as */
	uint64_t step_bp_gpa;		/* and the byte it is in */
	struct aspace step_bp_as;
	enum resume_kind *plan;		/* the last resume, per vCPU */
	bool report_pending;		/* a stop to report without running */
	int pending_vcpu;		/* its vCPU, or -1 for interrupt_stop */
	struct stop_info interrupt_stop;
	struct run_stats st;
};

#define X86_EVENTTYPE_HW_EXCEPTION 3
#define X86_EVENTTYPE_SW_EXCEPTION 6

static inline bool run_live(const struct session *s);

/* ---- run-attach.c ---- */

/* Takes a live guest (pauses it; holds every vCPU where it can). 0 or
 * -errno with *msg. Nothing for dumps. */
int run_attach(struct session *s, char **msg);
/* Leaves a live guest as found: every point out, every change undone, the
 * guest running. */
void run_detach(struct session *s);
void run_free(struct session *s);
/* Counters of run control for "monitor stats". */
void run_describe_stats(struct session *s, struct strbuf *out);
/* Turns the monitor ring and the events run control needs on, once, and
 * finds how this host steps. 0, or -errno with *msg. */
int run_ensure_events(struct session *s, char **msg);
/* Answers the event holding vCPU v (how: NULL for a plain release). */
int run_release(struct session *s, unsigned v,
		const struct target_response *how);
/* Gives vCPU v its own EFLAGS.TF back after a step with the trap flag. */
void run_tf_restore(struct session *s, unsigned v);
/* Arms or disarms the monitor single-step of vCPU v (MTF hosts only). */
int run_arm(struct session *s, unsigned v, bool on);

/* ---- run-events.c ---- */

/* The guest-physical address of the int3 a TEV_SWBP event is for. */
uint64_t run_event_gpa(const struct target_event *ev);
void run_make_stop(struct stop_info *st, unsigned vcpu, int signo,
		   enum stop_reason reason);
/* Brings every vCPU to a hold; called and returns with the domain
 * paused. */
void run_hold_all(struct session *s);
/* Lets vCPU v, held before a watched access, complete it with its frames
 * relaxed while every other vCPU stays held. 0 or -errno. */
int run_complete_access(struct session *s, unsigned v);
/* Ends a stop whose vCPUs are all paused or held. */
void run_finish_stop(struct session *s, const struct stop_info *st);
/* Pauses the domain, holds the vCPUs, completes a watched access, and
 * ends the stop. */
void run_stop_world(struct session *s, const struct stop_info *st);
/* The stop owed after a completed access (vr->then_reason). */
void run_then_stop(struct run_state *r, unsigned v, struct stop_info *st);

/* ---- run-livelock.c ---- */

/* Notes a held event of its vCPU. True when it is the LIVELOCK_REPEATS-th
 * identical one in a row: *st is then the stop to report (with a message
 * for the user), the vCPU stays held with nothing of the event completed,
 * and the count starts again. */
bool run_livelock_check(struct run_state *r, const struct target_event *ev,
			struct stop_info *st);
/* Forgets the vCPUs' last events (a stop was reported). */
void run_livelock_reset(struct run_state *r, unsigned nr_vcpus);

/* ---- run-resume.c ---- */

/* Lets held vCPU v go for a continue; one sitting on our int3 executes
 * the guest's instruction in its place, in Xen's emulator. */
int run_release_continue(struct session *s, unsigned v);
/* Before a step by MTF of vCPU v: if its instruction is one Xen
 * completes in its exit handler, an int3 at the next instruction that
 * ends the step (Xen raises no MTF exit after such an instruction). */
void run_step_bp_plant(struct session *s, unsigned v);
/* Takes that int3 out (if any): when the step ended. */
void run_step_bp_drop(struct session *s);

/* Lets the vCPUs go per plan, step: the vCPU stepped or -1. 0 or -errno
 * with *msg. */
int run_start(struct session *s, const struct resume_plan *plan, int step,
	      char **msg);

static inline bool run_live(const struct session *s)
{
	return session_is_live(s);
}

#endif
