/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Run control and software breakpoints of live targets: the state shared
 * by run.c (stops, holds, stepping, event handling) and breakpoints.c
 * (int3 planting, shadowing, restoring). Internal to the engine.
 */
#ifndef XENSTUB_RUN_H
#define XENSTUB_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stub/session/session-internal.h"

/* A planted int3: one per guest-physical byte, shared by every gdb
 * breakpoint that translates to it. */
struct swbp {
	uint64_t gpa;
	uint64_t vaddr;		/* the first address gdb used for it */
	uint8_t orig;		/* the guest's byte under the int3 */
	unsigned refs;
};

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

struct vcpu_run {
	bool held;			/* an event holds it */
	struct target_event ev;		/* the event that holds it */
	bool stepping;			/* we asked it to step */
	bool tf_set_by_us;		/* STEP_TF: we set EFLAGS.TF */
	bool tf_was_set;		/* ... and the guest had it already */
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
};

struct run_state {
	bool events_ready;		/* monitor ring on */
	enum step_method step;
	enum run_phase phase;
	int step_vcpu;			/* PH_STEPPING: who */
	bool holds;			/* stops hold every vCPU (MTF) */
	struct vcpu_run *v;		/* per vCPU */
	struct swbp *bps;
	size_t nbps, capbps;
	unsigned next_stop_vcpu;	/* round robin over pending stops */
	bool mem_access_ok;		/* mem_access probed and available */
	bool dr_told;			/* the user knows DRs are used */
	bool mem_access_probed;
	char mem_access_why[256];
	bool unplanted;			/* a step runs with one int3 out */
	uint64_t unplanted_gpa;
	enum resume_kind *plan;		/* the last resume, per vCPU */
	bool report_pending;		/* a stop to report without running */
	int pending_vcpu;		/* its vCPU, or -1 for interrupt_stop */
	struct stop_info interrupt_stop;
	struct run_stats st;
};

/* breakpoints.c */
int bp_insert(struct session *s, uint64_t tid, uint64_t addr, char **msg);
int bp_remove(struct session *s, uint64_t tid, uint64_t addr);
struct swbp *bp_find_gpa(struct run_state *r, uint64_t gpa);
/* Takes every int3 out of guest memory (restoring the guest's bytes) or
 * puts them all back. */
void bp_unplant_all(struct session *s);
void bp_replant_all(struct session *s);
void bp_forget_all(struct session *s);

#endif
