/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Software breakpoints of live guests: the table of int3 bytes xenstub
 * planted (one per guest-physical byte, shared by every address that
 * translates to it) and the guest's bytes they replaced. Reads see the
 * guest's bytes, writes keep the int3s in place, and every int3 comes out
 * on every way out. Each plant and removal is journaled first.
 */
#ifndef XENSTUB_TRAPS_BREAKPOINTS_H
#define XENSTUB_TRAPS_BREAKPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"
#include "stub/base/strbuf.h"
#include "stub/guest/vmem.h"
#include "stub/traps/trap-env.h"

/* A planted int3. */
struct swbp {
	uint64_t gpa;
	uint64_t vaddr;		/* the first address it was asked for at */
	uint8_t orig;		/* the guest's byte under the int3 */
	unsigned refs;		/* breakpoints that translate to it */
};

struct bp_table;

/* An empty table over env (which must outlive it). */
struct bp_table *bp_new(const struct trap_env *env);
/* Frees the table without touching the guest (bp_forget_all() first to
 * take the int3s out). NULL is allowed. */
void bp_free(struct bp_table *bt);
size_t bp_count(const struct bp_table *bt);
/* The int3 at gpa, or NULL. */
const struct swbp *bp_find(const struct bp_table *bt, uint64_t gpa);

/*
 * Plants an int3 at addr of address space as (NULL: the caller has none,
 * which is refused like an unmapped address), or adds a reference to the
 * one already at its guest-physical byte. 0, or -errno with why.
 */
int bp_insert(struct bp_table *bt, const struct aspace *as, uint64_t addr,
	      struct strbuf *why);
/* Drops a reference to the int3 addr translates to in as (NULL, or addr
 * no longer mapped: the one first planted at addr); the last one takes
 * the int3 out. 0 or -ENOENT. */
int bp_remove(struct bp_table *bt, const struct aspace *as, uint64_t addr);
/* Takes every int3 out (where the guest did not overwrite it) and forgets
 * them. */
void bp_forget_all(struct bp_table *bt);

/* Puts the guest's bytes back under every int3 / the int3s back, keeping
 * the table (around a resume that must not meet them). */
void bp_unplant_all(struct bp_table *bt);
void bp_replant_all(struct bp_table *bt);
/* The same for the one int3 at gpa: 0, or -ENOENT when none is there
 * (bp_replant() then writes nothing). */
int bp_unplant(struct bp_table *bt, uint64_t gpa);
int bp_replant(struct bp_table *bt, uint64_t gpa);

/* Replaces the int3s planted in [addr, addr+len) of as by the guest's
 * bytes in buf, just read from there. bt may be NULL (nothing to do). */
void bp_shadow(const struct bp_table *bt, const struct aspace *as,
	       uint64_t addr, void *buf, size_t len);
/* Reads the instruction bytes at a vCPU's rip, in the address space its
 * registers r give, as the guest wrote them (our int3s taken out). Returns
 * what vmem_read() returns, *got the bytes read. */
int bp_read_code(const struct bp_table *bt, const struct x86_regs *r,
		 uint8_t *buf, size_t len, size_t *got);
/* Writes guest memory in as, all or nothing: a byte under an int3 becomes
 * the guest's byte kept for it, and the int3 stays. 0 or -errno. */
int bp_write(struct bp_table *bt, const struct aspace *as, uint64_t addr,
	     const void *buf, size_t len);

#endif
