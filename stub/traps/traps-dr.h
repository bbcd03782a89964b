/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hardware breakpoints and watchpoints from the four x86 debug registers,
 * the fallback where Xen offers no mem_access. Internal to the engine.
 */
#ifndef XENSTUB_TRAPS_DR_H
#define XENSTUB_TRAPS_DR_H

#include <stdbool.h>
#include <stdint.h>

#include "stub/session/session-internal.h"

struct dr_state;

struct dr_state *dr_new(unsigned nr_vcpus);
void dr_free(struct dr_state *d);
bool dr_any(const struct dr_state *d);
/* 0, or -ENOSPC with *msg saying why the point cannot be had. */
int dr_insert(struct dr_state *d, enum point_type type, uint64_t addr,
	      uint64_t len, char **msg);
int dr_remove(struct dr_state *d, enum point_type type, uint64_t addr,
	      uint64_t len);
/* Writes DR0-3/DR7 of every vCPU (saving the guest's values first). */
int dr_commit(struct dr_state *d, struct target *t);
/* Gives the guest its own debug registers back. */
void dr_restore(struct dr_state *d, struct target *t);
/* Which of our debug registers a #DB (DR6 bits) is for. */
bool dr_match(const struct dr_state *d, uint64_t dr6, enum stop_reason *reason,
	      uint64_t *addr);

#endif
