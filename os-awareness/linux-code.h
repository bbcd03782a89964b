/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading one kernel function's machine code as the accesses it makes:
 * a linear pass of Capstone's decoding with a small abstract state (which
 * register holds which argument plus an offset, the current task, a
 * constant), giving loads, stores, address computations, comparisons and
 * call arguments relative to the function's arguments. linux-infer.c
 * finds structure offsets in these records.
 */
#ifndef XENSTUB_LINUX_CODE_H
#define XENSTUB_LINUX_CODE_H

#include <stddef.h>
#include <stdint.h>

#define KC_MAX_CODE 8192u	/* bytes of a function read at most */

/* What a register holds. */
enum kc_vkind {
	KV_UNK,
	KV_ARG,		/* argument .arg plus .off */
	KV_LOADED,	/* a value loaded by access .acc (plus .off) */
	KV_IMM,		/* the constant .imm (also a RIP-relative address) */
	KV_PERCPU,	/* loaded from the per-CPU address .imm (%fs/%gs) */
};

struct kc_val {
	uint8_t kind;
	int8_t arg;
	int32_t acc;		/* KV_LOADED: index of the load */
	int64_t off;
	uint64_t imm;
};

enum kc_kind {
	KC_LOAD,	/* register <- [base + disp] */
	KC_STORE,	/* [base + disp] <- register or constant */
	KC_LEA,		/* register <- base + disp */
	KC_CMPIMM,	/* cmp [base + disp], imm */
	KC_TESTIMM,	/* test [base + disp], imm */
	KC_USE,		/* any other access to [base + disp] */
	KC_CALLARG,	/* a call's argument .pos is base + disp */
	KC_PERCPU,	/* register <- %fs/%gs:.imm */
	KC_INDEXED,	/* register <- [.imm + index * .scale], no base */
	KC_MOVIMM,	/* register <- .imm */
	KC_CMPREG,	/* cmp register(base + disp), imm (register compare) */
};

/* One access, its base as the abstract value of the base register. */
struct kc_acc {
	uint8_t kind;
	uint8_t size;		/* bytes accessed (0 unknown) */
	uint8_t scale;		/* KC_INDEXED */
	int8_t pos;		/* KC_CALLARG: argument position */
	int8_t dst;		/* register written (hardware number) or -1 */
	struct kc_val base;	/* base register's value; .off folded in disp */
	int64_t disp;
	int64_t imm;
	uint64_t addr;		/* the instruction's address */
	unsigned ncall;		/* calls made before it */
	int next_ins;		/* index of the next instruction */
};

/* One decoded instruction, reduced to what the rules look at. */
struct kc_ins {
	uint64_t addr;
	unsigned id;		/* Capstone's x86_insn */
	uint8_t len, nops;
	struct kc_op {
		uint8_t type;	/* 1 reg, 2 imm, 3 mem (Capstone's) */
		uint8_t size;
		int8_t reg;	/* hardware number, or -1 */
		int8_t base, index;	/* -1 none, 16 RIP */
		uint8_t scale, seg;	/* seg: 0 none, 4 %fs, 5 %gs */
		int64_t imm, disp;
	} op[3];
};

struct kc_fn {
	uint64_t start;
	unsigned bits;
	struct kc_ins *ins;
	size_t nins;
	struct kc_acc *acc;
	size_t nacc;
	unsigned ncalls;
	uint64_t *calls;	/* direct call and jmp targets, in order */
	size_t ncallt;
};

/*
 * Decodes len bytes of a function at start (bits 64 or 32) and runs the
 * abstract pass: arguments in rdi, rsi, rdx, rcx, r8, r9 (64-bit) or
 * eax, edx, ecx (32-bit, regparm(3) as Linux builds i386). Stops at the
 * first undecodable byte. 0, or -ENOMEM /
 * -EINVAL (nothing decodes).
 */
int kc_read(struct kc_fn *fn, const uint8_t *code, size_t len, uint64_t start,
	    unsigned bits);
void kc_free(struct kc_fn *fn);

/* The argument register of position pos, as a hardware number, or -1. */
int kc_arg_reg(unsigned bits, unsigned pos);

#endif
