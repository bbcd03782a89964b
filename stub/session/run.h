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

/* Takes a live guest (pauses it; holds every vCPU where it can). 0 or
 * -errno with *msg. Nothing for dumps. */
int run_attach(struct session *s, char **msg);
/* Leaves a live guest as found: every point out, every change undone, the
 * guest running. */
void run_detach(struct session *s);
void run_free(struct session *s);
/* Counters of run control for "monitor stats". */
void run_describe_stats(struct session *s, struct strbuf *out);

#endif
