/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session's private state, shared by session.c (threads, registers,
 * memory), run.c (run control, breakpoints) and monitor.c (commands).
 * Not part of the engine's public interface.
 */
#ifndef XENSTUB_SESSION_INTERNAL_H
#define XENSTUB_SESSION_INTERNAL_H

#include "stub/guest/target.h"
#include "stub/guest/vmem.h"
#include "stub/session/session.h"

struct run_state;
struct traps;
struct dr_state;

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
	struct run_state *run;		/* run.c's state, NULL for dumps */
	struct traps *traps;		/* watchpoints, NULL until the first */
	struct dr_state *drs;		/* debug-register fallback, or NULL */
};

/* The address space memory accesses use for a thread. */
int session_aspace(struct session *s, uint64_t tid, struct aspace *as);
/* Registers of a vCPU through the per-stop cache. */
int session_vcpu_regs(struct session *s, unsigned vcpu, struct x86_regs *r);
void session_invalidate_regs(struct session *s);

/* run.c */
int run_attach(struct session *s, char **msg);
void run_detach(struct session *s);
void run_free(struct session *s);
/* Replaces breakpoint bytes the stub planted by the guest's own bytes in
 * a buffer just read from [addr, addr+len) of as. */
void run_shadow_breakpoints(struct session *s, const struct aspace *as,
			    uint64_t addr, void *buf, size_t len);
/* Reads the instruction bytes at a vCPU's rip, in its own address space
 * (whatever gdb's physical mode or CR3 override), as the guest wrote them
 * (our int3s taken out). Returns what vmem_read() returns. */
int session_read_code(struct session *s, const struct x86_regs *r,
		      uint8_t *buf, size_t len, size_t *got);
/* Writes guest memory, keeping planted breakpoints in place. */
int run_write_mem(struct session *s, const struct aspace *as, uint64_t addr,
		  const void *buf, size_t len);
/* Counters of run control for "monitor stats". */
void run_describe_stats(struct session *s, struct strbuf *out);

#endif
