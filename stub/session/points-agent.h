/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent expressions of gdb's points, inside the session: conditions and
 * commands (agent dprintf) kept per point, evaluated where a vCPU hits the
 * point against its own registers and address space, and the console text
 * the commands print while the guest runs. Internal to the session.
 */
#ifndef XENSTUB_POINTS_AGENT_H
#define XENSTUB_POINTS_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "stub/agent/ax.h"
#include "stub/guest/target.h"
#include "stub/guest/vmem.h"
#include "stub/session/session.h"
#include "stub/traps/traps.h"

struct session;
struct strbuf;
struct x86_regs;

/*
 * The environment an agent expression runs in at a hit: the hitting vCPU's
 * registers (those the event did not carry are read from the target, once)
 * and its address space. Embed it first to add to it; ops may use
 * pa_env_read_reg and pa_env_read_mem.
 */
struct pa_env {
	struct ax_env env;
	struct session *s;
	unsigned vcpu;
	struct x86_regs regs;
	bool full;			/* regs read from the target */
	bool have_as;
	struct aspace as;
};

void pa_env_init(struct pa_env *e, const struct ax_env_ops *ops,
		 struct session *s, unsigned vcpu, const struct x86_regs *regs);
/* Reads every register from the target (once). 0 or -errno with *msg. */
int pa_env_full_regs(struct pa_env *e, char **msg);
int pa_env_read_reg(struct ax_env *env, unsigned regno, uint64_t *val,
		    char **msg);
int pa_env_read_mem(struct ax_env *env, uint64_t addr, void *buf,
		    size_t len, char **msg);

/* What a hit on a point with agent expressions comes to. */
enum pa_verdict {
	PA_STOP = 0,		/* report the stop (no expression, one true,
				 * or one that failed: st->message says why) */
	PA_GO,			/* resume the vCPU at once */
};

/*
 * A vCPU hit point (t, addr) with the registers regs (its own address
 * space comes from them; fields regs lacks are read from the target).
 * Evaluates the point's conditions, runs its commands when they hold, and
 * says whether the hit is a stop. Fills st->message (when it is empty) the
 * first time a condition of this point fails.
 */
enum pa_verdict pa_hit(struct session *s, enum point_type t, uint64_t addr,
		       unsigned vcpu, const struct x86_regs *regs,
		       struct stop_info *st);
/* True when point (t, addr) has conditions or commands, which makes a hit
 * on a watchpoint wait until its access is complete (see pa_defer). */
bool pa_has(struct session *s, enum point_type t, uint64_t addr);
/* A watchpoint hit of vCPU v to decide once its access completed: kept
 * until pa_watch_stops(). */
void pa_defer(struct session *s, unsigned v, enum point_type t,
	      uint64_t addr);
/* The decision kept by pa_defer(): true (stop) when nothing was deferred
 * for v or the point's expressions say stop; the message for the stop is
 * left for pa_take_message(). */
bool pa_watch_stops(struct session *s, unsigned v);
/* Copies the reason kept by pa_watch_stops() into st->message (if any). */
void pa_take_message(struct session *s, struct stop_info *st);
/*
 * Run control's decisions at a hit, each with the stop it would report in
 * *st (its message may be filled). pa_swbp_go: the vCPU of ev sits on our
 * int3; pa_dr_go: one of our debug registers matched; both return true
 * when the vCPU was let go (its conditions are false, or it ran commands).
 * pa_trap_hit: a mem_access hit (tv, hit): 0 when the vCPU was let go, 2
 * when the decision waits until the access is complete (the vCPU is left
 * needing completion with the stop owed in then_reason; see
 * pa_watch_stops), 1 when it is a stop now.
 */
bool pa_swbp_go(struct session *s, const struct target_event *ev,
		struct stop_info *st);
bool pa_dr_go(struct session *s, const struct target_event *ev,
	      struct stop_info *st);
int pa_trap_hit(struct session *s, const struct target_event *ev,
		enum trap_verdict tv, const struct trap_hit *hit,
		struct stop_info *st);
/* Removes the expressions of point (t, addr, len). */
void pa_forget(struct session *s, enum point_type t, uint64_t addr,
	       uint64_t len);
/* Drops every point's expressions (the points went with a detach). */
void pa_reset(struct session *s);
void pa_free(struct session *s);
/*
 * "monitor process-condition PID": a breakpoint condition, in gdb's
 * syntax and compilable to agent bytecode, that is true when the hitting
 * vCPU runs a task of process PID (its tgid), read through the OS
 * module's per-CPU current task and task_struct offsets. 0 with the text
 * in out (also when no condition can be made: out says why); -EINVAL for
 * a bad PID.
 */
int pa_process_condition(struct session *s, const char *args,
			 struct strbuf *out);
/* Counters for "monitor stats". */
void pa_describe(struct session *s, struct strbuf *out);

#endif
