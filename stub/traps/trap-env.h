/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every object of the trap engine (breakpoints, access traps, debug
 * registers) is built from: a target, guest memory over it and the journal
 * of changes. The engine takes address spaces, never thread ids, and knows
 * nothing of sessions or of the protocol.
 */
#ifndef XENSTUB_TRAPS_TRAP_ENV_H
#define XENSTUB_TRAPS_TRAP_ENV_H

struct target;
struct vmem;
struct journal;

/* Owned by the caller, and outliving every object built from it. */
struct trap_env {
	struct target *t;
	struct vmem *mem;	/* guest memory over t */
	struct journal *j;	/* where changes are noted first; NULL: none */
};

/* The kinds of trap, and of what a trap's hit was. */
enum trap_kind {
	TK_NONE = 0,
	TK_EXEC,		/* a hardware breakpoint */
	TK_WRITE,		/* a write watchpoint */
	TK_READ,		/* a read watchpoint */
	TK_ACCESS,		/* an access (read or write) watchpoint */
};

#endif
