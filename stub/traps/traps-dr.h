/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hardware breakpoints and watchpoints from the four x86 debug registers,
 * the fallback where the target offers no mem_access: aligned 1, 2, 4 or 8
 * bytes of linear address, at most four at once, no read-only watch.
 */
#ifndef XENSTUB_TRAPS_TRAPS_DR_H
#define XENSTUB_TRAPS_TRAPS_DR_H

#include <stdbool.h>
#include <stdint.h>

#include "stub/base/strbuf.h"
#include "stub/traps/trap-env.h"

struct dr_state;

/* Debug-register points for every vCPU of env's target (env must outlive
 * the state). */
struct dr_state *dr_new(const struct trap_env *env);
/* Frees the state without touching the guest (dr_restore() first). NULL
 * is allowed. */
void dr_free(struct dr_state *d);
bool dr_any(const struct dr_state *d);
/* Adds a point at a linear address, or a reference to the same one. 0, or
 * -ENOSPC with why saying why the point cannot be had. */
int dr_insert(struct dr_state *d, enum trap_kind kind, uint64_t addr,
	      uint64_t len, struct strbuf *why);
/* Drops a reference: 0 or -ENOENT. */
int dr_remove(struct dr_state *d, enum trap_kind kind, uint64_t addr,
	      uint64_t len);
/* Writes DR0-3/DR7 of every vCPU (saving the guest's values first, and
 * journaling them). 0 or -errno with the reason in target_strerror(). */
int dr_commit(struct dr_state *d);
/* Gives the guest its own debug registers back. NULL is allowed. */
void dr_restore(struct dr_state *d);
/* Which of our debug registers a #DB (DR6 bits) is for: true with the
 * point's kind and address. NULL is allowed. */
bool dr_match(const struct dr_state *d, uint64_t dr6, enum trap_kind *kind,
	      uint64_t *addr);

#endif
