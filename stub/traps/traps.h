/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The access trap engine: watchpoints and hardware breakpoints made from
 * mem_access permissions on the guest frames they cover, reference-counted
 * per frame and applied to the target lazily, and the decision for each
 * access event: a hit to report, or an unrelated access to let through.
 * Points are given by address space and address, never by thread.
 */
#ifndef XENSTUB_TRAPS_TRAPS_H
#define XENSTUB_TRAPS_TRAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "stub/base/strbuf.h"
#include "stub/guest/target.h"
#include "stub/guest/vmem.h"
#include "stub/traps/breakpoints.h"
#include "stub/traps/trap-env.h"

struct traps;

enum trap_verdict {
	TV_PASS = 0,		/* not ours: the target's emulator completes it */
	TV_HIT_DATA,		/* a watchpoint: report after the access */
	TV_HIT_EXEC,		/* a hardware breakpoint: report now */
	TV_STEP,		/* not ours, and not made by the instruction at
				 * rip (the CPU delivering an event): emulating
				 * that instruction would be wrong, so the
				 * vCPU steps through it with its frames
				 * relaxed */
	TV_NR
};

#define TRAP_HIT_MAX_GFNS 8

struct trap_hit {
	enum trap_kind kind;		/* the point hit (TK_NONE: none) */
	uint64_t addr;			/* the point's address of the byte hit
					 * (a hardware breakpoint's own) */
	/* frames the faulting instruction touches that we restrict: they
	 * are relaxed while the vCPU completes the access */
	uint64_t gfns[TRAP_HIT_MAX_GFNS];
	unsigned ngfns;
	/* TV_HIT_EXEC: a watchpoint the instruction's own access hits too,
	 * to report after it (TK_NONE when none) */
	enum trap_kind then_kind;
	uint64_t then_addr;
	/* the access was not made by the instruction at rip but by the CPU
	 * itself (an interrupt or exception frame, an IDT/GDT/TSS read) */
	bool delivery;
};

/* An engine over env (which must outlive it). bps, when not NULL, is the
 * breakpoint table whose int3s instruction reads see through. */
struct traps *traps_new(const struct trap_env *env,
			const struct bp_table *bps);
/* Frees the engine without touching the guest (traps_restore_all()
 * first). NULL is allowed. */
void traps_free(struct traps *tr);
bool traps_any(const struct traps *tr);

/* Adds a reference to the point of that kind, address and length if
 * there is one: true. */
bool traps_ref(struct traps *tr, enum trap_kind kind, uint64_t addr,
	       uint64_t len);
/*
 * Adds a point (a hardware breakpoint's len is ignored), translated in as
 * now; one already there gets a reference. Nothing reaches the target
 * before traps_commit(). 0, or -errno with why.
 */
int traps_insert(struct traps *tr, const struct aspace *as,
		 enum trap_kind kind, uint64_t addr, uint64_t len,
		 struct strbuf *why);
/* Drops a reference; the last one removes the point. 0 or -ENOENT. */
int traps_remove(struct traps *tr, enum trap_kind kind, uint64_t addr,
		 uint64_t len);

/* Applies pending permission changes to the target (before the guest
 * runs): each frame gets the least restriction that catches its points,
 * and a frame no point needs any more gets its own permission back. 0 or
 * -errno with the reason in target_strerror(). */
int traps_commit(struct traps *tr);
/* Gives every frame we changed its original permission back. */
void traps_restore_all(struct traps *tr);

/* Classifies an access event (TEV_MEM_ACCESS): decodes the instruction at
 * the event's rip and compares what it touches, byte-exact and by
 * physical address, with the points. */
enum trap_verdict traps_classify(struct traps *tr,
				 const struct target_event *ev,
				 struct trap_hit *hit);

/* Temporarily gives frames their original permission (and back). */
int traps_relax(struct traps *tr, const uint64_t *gfns, unsigned n);
int traps_unrelax(struct traps *tr, const uint64_t *gfns, unsigned n);

/*
 * For an access whose size nobody knows (TV_STEP, or a hit by event
 * delivery): traps_snapshot() keeps the bytes of the write and access
 * watches on the frames before the vCPU steps through it;
 * traps_changed() then finds a watched byte that changed, fills
 * hit->kind and hit->addr and returns true.
 */
void traps_snapshot(struct traps *tr, const uint64_t *gfns, unsigned n);
bool traps_changed(struct traps *tr, struct trap_hit *hit);

/* Counters for "monitor stats". */
void traps_note_event(struct traps *tr, enum trap_verdict v, uint64_t ns);
void traps_describe(const struct traps *tr, struct strbuf *out);

#endif
