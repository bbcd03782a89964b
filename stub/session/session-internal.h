/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session's private state, shared by session.c (threads, registers,
 * memory), run-*.c (run control), points.c (points) and monitor.c
 * (commands). Not part of the engine's public interface.
 */
#ifndef XENSTUB_SESSION_INTERNAL_H
#define XENSTUB_SESSION_INTERNAL_H

#include "stub/guest/target.h"
#include "stub/guest/vmem.h"
#include "stub/session/session.h"
#include "stub/traps/breakpoints.h"
#include "stub/traps/trap-env.h"

struct run_state;
struct traps;
struct dr_state;
struct pa_state;
struct trace_state;

struct session {
	struct target *t;
	struct vmem *mem;
	struct os *os;
	struct strbuf os_why;
	struct session_opts opts;
	const struct x86_gdb_layout *layout;

	struct thread_info *threads;	/* vCPUs first, then tasks */
	size_t nthreads;
	struct x86_regs *vcpu_regs;	/* per vCPU, valid while stopped */
	bool *vcpu_cached;

	bool phys_mode;
	bool cr3_override;
	uint64_t cr3_value;

	bool attached;
	bool running;
	struct stop_info last_stop;
	struct run_state *run;		/* run control's state, NULL for dumps */
	/* the trap engine: built on the target, guest memory and journal */
	struct trap_env env;
	struct bp_table *bps;		/* int3s (empty but for live guests) */
	struct traps *traps;		/* watchpoints, NULL until the first */
	struct dr_state *drs;		/* debug-register fallback, or NULL */
	struct pa_state *agent;		/* points' agent expressions, or NULL */
	struct trace_state *trace;	/* tracepoints and frames, or NULL */
};

/* The address space memory accesses use for a thread. */
int session_aspace(struct session *s, uint64_t tid, struct aspace *as);
/* Registers of a vCPU through the per-stop cache. */
int session_vcpu_regs(struct session *s, unsigned vcpu, struct x86_regs *r);
void session_invalidate_regs(struct session *s);

/* gdb's point types and stop reasons in the trap engine's terms. */
static inline enum trap_kind trap_kind_of(enum point_type t)
{
	switch (t) {
	case PT_HW_BREAK: return TK_EXEC;
	case PT_WRITE_WATCH: return TK_WRITE;
	case PT_READ_WATCH: return TK_READ;
	case PT_ACCESS_WATCH: return TK_ACCESS;
	default: return TK_NONE;
	}
}

static inline enum stop_reason stop_reason_of(enum trap_kind k)
{
	switch (k) {
	case TK_EXEC: return SR_HWBREAK;
	case TK_WRITE: return SR_WATCH;
	case TK_READ: return SR_RWATCH;
	case TK_ACCESS: return SR_AWATCH;
	default: return SR_NONE;
	}
}

#endif
