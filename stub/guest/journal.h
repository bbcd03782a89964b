/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The recovery journal: every change xenstub makes to a live guest that
 * would outlive a kill -9 of xenstub (an int3 byte, a restricted frame,
 * debug registers, a trap flag, a single-step, a pause, a monitor ring) is
 * appended to a file before it is made, and its undoing after. A clean
 * exit removes the file; `xenstub --recover TARGET` reads what a dead
 * xenstub left and undoes it.
 */
#ifndef XENSTUB_JOURNAL_H
#define XENSTUB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/regs.h"

struct journal;

/* The folder journals live in: --journal-dir, else $XENSTUB_JOURNAL_DIR,
 * else /run/xenstub when it can be created, else $TMPDIR/xenstub-UID. */
const char *journal_dir(const char *option);

/*
 * Starts the journal of a target (key names it, e.g. "xen-5"). Returns
 * NULL with *msg when the file cannot be written (then nothing is
 * journaled, and the caller says so), or when a journal of a xenstub that
 * is still alive exists (*msg says which pid). The folder must belong to
 * the user xenstub runs as and be writable by nobody else (*msg says why
 * not); the file is created new (never through a link) and locked
 * (flock) for as long as the xenstub that wrote it lives: that lock, not
 * the pid, tells a live owner from a dead one. A journal a dead xenstub
 * left with nothing to undo is replaced.
 */
struct journal *journal_open(const char *dir, const char *key, char **msg);
/* Appends a record (one line). Safe with j NULL. */
void journal_note(struct journal *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Closes; removes the file when everything recorded was undone. */
void journal_close(struct journal *j, bool everything_undone);

/* What a journal says is still changed in the guest. */
struct journal_int3 {
	uint64_t gpa;
	uint8_t orig;
};
struct journal_access {
	unsigned view;
	uint64_t gfn;
	uint8_t orig;
};
struct journal_vcpu {
	bool dr_saved;
	uint64_t dr[8];
	bool tf_set;
	bool tf_was;
	bool single_step;
};

/* rflags with the trap flag the vCPU had before xenstub set it, as jv
 * says (rflags as given when xenstub did not set it). */
static inline uint64_t journal_rflags(const struct journal_vcpu *jv, uint64_t rflags)
{
	if (!jv->tf_set)
		return rflags;
	return jv->tf_was ? rflags | X86_RFLAGS_TF : rflags & ~X86_RFLAGS_TF;
}

struct journal_state {
	char path[512];
	long pid;			/* the xenstub that wrote it */
	bool pid_alive;			/* its lock is held: it lives */
	bool locked;			/* journal_read() holds the lock
					 * (lock_fd) until journal_state_free() */
	int lock_fd;
	unsigned pauses;		/* pauses not undone */
	bool ring;			/* a monitor ring left enabled */
	struct journal_int3 *int3;
	size_t nint3;
	struct journal_access *access;
	size_t naccess;
	struct journal_vcpu *vcpu;	/* indexed by vCPU */
	unsigned nvcpu;
	bool altp2m;			/* altp2m turned on by xenstub */
};

/* Limits of what xenstub writes; a journal past them is not one. */
#define JOURNAL_MAX_LINES	4000000
#define JOURNAL_MAX_BYTES	((size_t)256 << 20)
#define JOURNAL_MAX_VCPUS	4096
#define JOURNAL_MAX_PAUSES	8

/* Reads the journal of key. 0 with *st; -ENOENT when there is none;
 * -EINVAL with *msg when it is unreadable or holds anything xenstub
 * could not have written (then nothing of it is to be used). */
int journal_read(const char *dir, const char *key, struct journal_state *st,
		 char **msg);
/*
 * The parser behind journal_read(), a pure function over a buffer: the
 * state the records of buf leave (st->path names the file in messages;
 * the rest of *st is filled). key, when not NULL, must be the target the
 * header names. Each record is checked against what xenstub writes
 * (known words, numbers in range, a plant only where nothing is planted,
 * debug registers saved once until given back, a bounded pause count);
 * an incomplete last line (a write cut by a kill) is ignored. Linear in
 * len. 0, or -EINVAL with *msg naming the line and why.
 */
int journal_parse(const char *buf, size_t len, const char *key,
		  struct journal_state *st, char **msg);
void journal_state_free(struct journal_state *st);
/* Removes the journal file of key (after a recovery). */
int journal_remove(const char *dir, const char *key);

#endif
