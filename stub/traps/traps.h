/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The trap engine: gdb's watchpoints (Z2/Z3/Z4) and hardware breakpoints
 * (Z1) made from mem_access permissions on the guest frames they cover,
 * reference-counted per frame and applied to Xen lazily, and the decision
 * for each access event: a hit to report, or an unrelated access to let
 * through. Internal to the engine; run.c drives it.
 */
#ifndef XENSTUB_TRAPS_H
#define XENSTUB_TRAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "stub/session/session-internal.h"

struct traps;

enum trap_verdict {
	TV_PASS = 0,		/* not ours: Xen's emulator completes it */
	TV_HIT_DATA,		/* a watchpoint: report after the access */
	TV_HIT_EXEC,		/* a hardware breakpoint: report now */
	TV_STEP,		/* not ours, and not made by the instruction at
				 * rip (the CPU delivering an event): emulating
				 * that instruction would be wrong, so the
				 * vCPU steps through it with its frames
				 * relaxed */
	TV_NR
};

struct trap_hit {
	enum stop_reason reason;	/* SR_WATCH, SR_RWATCH, SR_AWATCH, SR_HWBREAK */
	uint64_t addr;			/* the watched address gdb knows */
	/* frames the faulting instruction touches that we restrict: they
	 * are relaxed while the vCPU completes the access */
	uint64_t gfns[8];
	unsigned ngfns;
	/* TV_HIT_EXEC: a watchpoint the instruction's own access hits too,
	 * to report after it (SR_NONE when none) */
	enum stop_reason then_reason;
	uint64_t then_addr;
	/* the access was not made by the instruction at rip but by the CPU
	 * itself (an interrupt or exception frame, an IDT/GDT/TSS read) */
	bool delivery;
};

struct traps *traps_new(void);
void traps_free(struct traps *tr);
bool traps_any(const struct traps *tr);

/* Adds or removes a gdb point (types 1..4). The address is translated in
 * tid's address space now. 0, or -errno with *msg. */
int traps_insert(struct session *s, uint64_t tid, enum point_type type,
		 uint64_t addr, uint64_t len, char **msg);
int traps_remove(struct session *s, uint64_t tid, enum point_type type,
		 uint64_t addr, uint64_t len);

/* Applies pending permission changes to the target (before the guest
 * runs). 0 or -errno with the reason in target_strerror(). */
int traps_commit(struct session *s);
/* Gives every frame we changed its original permission back. */
void traps_restore_all(struct session *s);

/* Classifies an access event (TEV_MEM_ACCESS). */
enum trap_verdict traps_classify(struct session *s,
				 const struct target_event *ev,
				 struct trap_hit *hit);

/* Temporarily gives frames their original permission (and back). */
int traps_relax(struct session *s, const uint64_t *gfns, unsigned n);
int traps_unrelax(struct session *s, const uint64_t *gfns, unsigned n);

/*
 * For an access whose size nobody knows (TV_STEP, or a hit by event
 * delivery): traps_snapshot() keeps the bytes of the write and access
 * watches on the frames before the vCPU steps through it;
 * traps_changed() then finds a watched byte that changed, fills
 * hit->reason and hit->addr and returns true.
 */
void traps_snapshot(struct session *s, const uint64_t *gfns, unsigned n);
bool traps_changed(struct session *s, struct trap_hit *hit);

/* Counters for "monitor stats". */
void traps_note_event(struct session *s, enum trap_verdict v, uint64_t ns);
void traps_describe(struct session *s, struct strbuf *out);

#endif
