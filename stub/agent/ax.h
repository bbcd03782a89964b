/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gdb's agent expressions: bytecode that gdb compiles breakpoint conditions,
 * agent-style dprintf and tracepoint actions to. This module checks bytecode
 * once, when it arrives, and evaluates it as often as needed against an
 * environment of callbacks (registers, guest memory, trace state variables,
 * collection, printed text). It knows nothing of the protocol or sessions;
 * it holds no global state.
 *
 * Conventions: actions return 0 or a negative errno and, on failure, set
 * *msg (when msg is not NULL) to a malloc'd reason the caller frees.
 */
#ifndef XENSTUB_AGENT_AX_H
#define XENSTUB_AGENT_AX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Bounds. Bytecode beyond them is refused when it is compiled. */
#define AX_CODE_MAX 65535u	/* bytes of one expression (jumps are 16-bit) */
#define AX_STACK_MAX 256u	/* values on the stack at once */
#define AX_NUM_MAX 1024u	/* printf field width and precision */
/* Bounds at evaluation. */
#define AX_STEPS_DEFAULT 100000u /* instructions one evaluation may execute */
#define AX_STRING_MAX 4096u	/* bytes a printf %s reads at most ("..." follows) */
#define AX_TRACENZ_MAX 65536u	/* bytes tracenz scans for the NUL */
/* What all of one evaluation may print, and read from guest memory (refN,
 * %s, tracenz), so that a loop cannot make it last for long. */
#define AX_PRINTF_MAX 65536u
#define AX_READ_MAX (1u << 20)

/* Opcodes, as gdb's manual numbers them ("Bytecode Descriptions"). */
enum ax_op {
	AX_OP_FLOAT = 0x01,
	AX_OP_ADD = 0x02,
	AX_OP_SUB = 0x03,
	AX_OP_MUL = 0x04,
	AX_OP_DIV_SIGNED = 0x05,
	AX_OP_DIV_UNSIGNED = 0x06,
	AX_OP_REM_SIGNED = 0x07,
	AX_OP_REM_UNSIGNED = 0x08,
	AX_OP_LSH = 0x09,
	AX_OP_RSH_SIGNED = 0x0a,
	AX_OP_RSH_UNSIGNED = 0x0b,
	AX_OP_TRACE = 0x0c,
	AX_OP_TRACE_QUICK = 0x0d,
	AX_OP_LOG_NOT = 0x0e,
	AX_OP_BIT_AND = 0x0f,
	AX_OP_BIT_OR = 0x10,
	AX_OP_BIT_XOR = 0x11,
	AX_OP_BIT_NOT = 0x12,
	AX_OP_EQUAL = 0x13,
	AX_OP_LESS_SIGNED = 0x14,
	AX_OP_LESS_UNSIGNED = 0x15,
	AX_OP_EXT = 0x16,
	AX_OP_REF8 = 0x17,
	AX_OP_REF16 = 0x18,
	AX_OP_REF32 = 0x19,
	AX_OP_REF64 = 0x1a,
	AX_OP_REF_FLOAT = 0x1b,
	AX_OP_REF_DOUBLE = 0x1c,
	AX_OP_REF_LONG_DOUBLE = 0x1d,
	AX_OP_L_TO_D = 0x1e,
	AX_OP_D_TO_L = 0x1f,
	AX_OP_IF_GOTO = 0x20,
	AX_OP_GOTO = 0x21,
	AX_OP_CONST8 = 0x22,
	AX_OP_CONST16 = 0x23,
	AX_OP_CONST32 = 0x24,
	AX_OP_CONST64 = 0x25,
	AX_OP_REG = 0x26,
	AX_OP_END = 0x27,
	AX_OP_DUP = 0x28,
	AX_OP_POP = 0x29,
	AX_OP_ZERO_EXT = 0x2a,
	AX_OP_SWAP = 0x2b,
	AX_OP_GETV = 0x2c,
	AX_OP_SETV = 0x2d,
	AX_OP_TRACEV = 0x2e,
	AX_OP_TRACENZ = 0x2f,
	AX_OP_TRACE16 = 0x30,
	/* 0x31 is unassigned */
	AX_OP_PICK = 0x32,
	AX_OP_ROT = 0x33,
	AX_OP_PRINTF = 0x34,
};

/* What an expression may do, so that a caller can refuse at insert time
 * what it cannot offer (e.g. collection in a breakpoint condition). */
enum ax_uses {
	AX_USES_REG = 1u << 0,		/* reg */
	AX_USES_MEM = 1u << 1,		/* refN, tracenz, printf with a %s */
	AX_USES_GETV = 1u << 2,		/* getv */
	AX_USES_SETV = 1u << 3,		/* setv */
	AX_USES_COLLECT = 1u << 4,	/* trace, trace_quick, trace16, tracenz, tracev */
	AX_USES_PRINTF = 1u << 5,	/* printf */
};

/*
 * A checked expression. Invariants once ax_compile() made it: every byte
 * belongs to a known, fully present instruction; every jump lands on an
 * instruction; every path from offset 0 reaches an `end` without running
 * off the code; the stack depth at each instruction is the same on every
 * path, never below what the instruction takes and never above
 * AX_STACK_MAX; printf formats are well formed and take exactly the
 * arguments the instruction pops.
 */
struct ax_expr {
	uint8_t *code;		/* len bytes, owned */
	size_t len;
	unsigned max_depth;	/* the deepest the stack gets */
	unsigned uses;		/* enum ax_uses */
	bool gives_value;	/* every reachable `end` leaves a value */
};

/*
 * Checks len bytes of bytecode and makes *out, which owns a copy.
 * -EINVAL: malformed (bad opcode, truncated instruction, jump outside the
 *          code or into an instruction, stack underflow, paths that
 *          disagree on the stack depth, no `end`, bad printf format);
 * -E2BIG: longer than AX_CODE_MAX, or the stack would exceed AX_STACK_MAX;
 * -EOPNOTSUPP: floating point opcodes or printf conversions.
 * The reason names the offset and the instruction.
 */
int ax_compile(const uint8_t *code, size_t len, struct ax_expr **out,
	       char **msg);
/* Frees x. NULL is allowed. */
void ax_free(struct ax_expr *x);

/* Appends a one-line listing, e.g. "reg 29; const16 0x1234; equal; end". */
void ax_disassemble(const struct ax_expr *x, struct strbuf *out);
/* The opcode's name ("less_signed"), or NULL when it is not one. */
const char *ax_op_name(unsigned op);

struct ax_env;

/*
 * The environment an expression runs in. Each callback gets the env it was
 * called through: embed struct ax_env in the caller's own state and reach
 * that with container_of. Every callback may be NULL: the instruction that
 * needs it then fails with -EOPNOTSUPP. A failing callback returns a
 * negative errno and may set *msg (malloc'd); the evaluation stops with
 * that code, and a reason that adds the offset and the instruction.
 */
struct ax_env_ops {
	/* Register regno in gdb's remote numbering (the target description's
	 * regnum), zero-extended to 64 bits. */
	int (*read_reg)(struct ax_env *env, unsigned regno, uint64_t *val,
			char **msg);
	/* len (1..64) bytes of guest memory at addr, all or an error
	 * (-EFAULT for an address that cannot be read). */
	int (*read_mem)(struct ax_env *env, uint64_t addr, void *buf,
			size_t len, char **msg);
	/* Trace state variable num: get its value, set it. */
	int (*get_tsv)(struct ax_env *env, unsigned num, int64_t *val,
		       char **msg);
	int (*set_tsv)(struct ax_env *env, unsigned num, int64_t val,
		       char **msg);
	/* Collection for tracepoints: record len bytes of memory at addr
	 * (trace, trace_quick, trace16, and tracenz with the length up to and
	 * including the string's NUL), or trace state variable num (tracev).
	 * len is whatever the bytecode asked for: the callee bounds it. */
	int (*collect_mem)(struct ax_env *env, uint64_t addr, uint64_t len,
			   char **msg);
	int (*collect_tsv)(struct ax_env *env, unsigned num, char **msg);
	/* The text one printf produced, len bytes (it may hold NUL bytes,
	 * from %c), never more than AX_PRINTF_MAX. */
	int (*print)(struct ax_env *env, const char *text, size_t len,
		     char **msg);
};

struct ax_env {
	const struct ax_env_ops *ops;
	/* Instructions one evaluation may execute; 0 means AX_STEPS_DEFAULT. */
	unsigned max_steps;
	/* Bits of the guest's long (printf %l) and of its pointers and size_t
	 * (%p, %z): 64 or 32; 0 means 64. */
	unsigned long_bits;
	unsigned ptr_bits;
};

struct ax_result {
	bool has_value;		/* the stack was not empty at `end` */
	uint64_t value;		/* its top then */
	unsigned steps;		/* instructions executed */
};

/*
 * Runs x in env. 0 with *res filled, or a negative errno:
 * -EFAULT: a memory read failed (the reason names the address),
 * -EDOM: division or remainder by zero,
 * -ELOOP: more than max_steps instructions (a loop),
 * -E2BIG: more than AX_PRINTF_MAX bytes printed or AX_READ_MAX bytes read,
 *         tracenz without a NUL in AX_TRACENZ_MAX bytes,
 * -EOPNOTSUPP: a callback the instruction needs is NULL,
 * or whatever a callback returned. res may be NULL.
 */
int ax_eval(const struct ax_expr *x, struct ax_env *env,
	    struct ax_result *res, char **msg);

/*
 * Breakpoint conditions, as gdb sends them for one address (one per
 * breakpoint there): evaluates them in order until one is true. *stop is
 * true when one is true, or when one cannot be evaluated (as gdbserver
 * does: the stop then goes to gdb); the return value is 0, or the first
 * evaluation error (with *msg) when that is why *stop is true. n == 0
 * means unconditional: *stop is true.
 */
int ax_eval_conditions(struct ax_expr *const *conds, size_t n,
		       struct ax_env *env, bool *stop, char **msg);

#endif
