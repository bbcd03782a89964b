// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Agent expressions: the opcode table, the checks made once when bytecode
 * arrives (decoding, jumps, a stack-depth analysis over every path), and
 * the interpreter. Values are 64-bit; memory is little-endian (x86).
 */
#include "stub/agent/ax.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stub/agent/ax-internal.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"

/* One opcode: operand bytes after it, values it takes and leaves. pick and
 * printf take a number of values their operand says. */
struct op_info {
	const char *name;
	uint8_t operand;
	uint8_t pops, pushes;
	uint8_t flags;
};

#define OF_FLOAT 1u	/* defined by gdb but not implemented (as gdbserver) */
#define OF_JUMP 2u	/* operand is a 16-bit target */
#define OF_STOP 4u	/* no fall-through: end, goto */

#define OP(code, nm, opnd, po, pu, fl) [code] = { nm, opnd, po, pu, fl }

static const struct op_info ops_table[AX_OP_PRINTF + 1] = {
	OP(AX_OP_FLOAT, "float", 0, 0, 0, OF_FLOAT),
	OP(AX_OP_ADD, "add", 0, 2, 1, 0),
	OP(AX_OP_SUB, "sub", 0, 2, 1, 0),
	OP(AX_OP_MUL, "mul", 0, 2, 1, 0),
	OP(AX_OP_DIV_SIGNED, "div_signed", 0, 2, 1, 0),
	OP(AX_OP_DIV_UNSIGNED, "div_unsigned", 0, 2, 1, 0),
	OP(AX_OP_REM_SIGNED, "rem_signed", 0, 2, 1, 0),
	OP(AX_OP_REM_UNSIGNED, "rem_unsigned", 0, 2, 1, 0),
	OP(AX_OP_LSH, "lsh", 0, 2, 1, 0),
	OP(AX_OP_RSH_SIGNED, "rsh_signed", 0, 2, 1, 0),
	OP(AX_OP_RSH_UNSIGNED, "rsh_unsigned", 0, 2, 1, 0),
	OP(AX_OP_TRACE, "trace", 0, 2, 0, 0),
	OP(AX_OP_TRACE_QUICK, "trace_quick", 1, 1, 1, 0),
	OP(AX_OP_LOG_NOT, "log_not", 0, 1, 1, 0),
	OP(AX_OP_BIT_AND, "bit_and", 0, 2, 1, 0),
	OP(AX_OP_BIT_OR, "bit_or", 0, 2, 1, 0),
	OP(AX_OP_BIT_XOR, "bit_xor", 0, 2, 1, 0),
	OP(AX_OP_BIT_NOT, "bit_not", 0, 1, 1, 0),
	OP(AX_OP_EQUAL, "equal", 0, 2, 1, 0),
	OP(AX_OP_LESS_SIGNED, "less_signed", 0, 2, 1, 0),
	OP(AX_OP_LESS_UNSIGNED, "less_unsigned", 0, 2, 1, 0),
	OP(AX_OP_EXT, "ext", 1, 1, 1, 0),
	OP(AX_OP_REF8, "ref8", 0, 1, 1, 0),
	OP(AX_OP_REF16, "ref16", 0, 1, 1, 0),
	OP(AX_OP_REF32, "ref32", 0, 1, 1, 0),
	OP(AX_OP_REF64, "ref64", 0, 1, 1, 0),
	OP(AX_OP_REF_FLOAT, "ref_float", 0, 1, 1, OF_FLOAT),
	OP(AX_OP_REF_DOUBLE, "ref_double", 0, 1, 1, OF_FLOAT),
	OP(AX_OP_REF_LONG_DOUBLE, "ref_long_double", 0, 1, 1, OF_FLOAT),
	OP(AX_OP_L_TO_D, "l_to_d", 0, 1, 1, OF_FLOAT),
	OP(AX_OP_D_TO_L, "d_to_l", 0, 1, 1, OF_FLOAT),
	OP(AX_OP_IF_GOTO, "if_goto", 2, 1, 0, OF_JUMP),
	OP(AX_OP_GOTO, "goto", 2, 0, 0, OF_JUMP | OF_STOP),
	OP(AX_OP_CONST8, "const8", 1, 0, 1, 0),
	OP(AX_OP_CONST16, "const16", 2, 0, 1, 0),
	OP(AX_OP_CONST32, "const32", 4, 0, 1, 0),
	OP(AX_OP_CONST64, "const64", 8, 0, 1, 0),
	OP(AX_OP_REG, "reg", 2, 0, 1, 0),
	OP(AX_OP_END, "end", 0, 0, 0, OF_STOP),
	OP(AX_OP_DUP, "dup", 0, 1, 2, 0),
	OP(AX_OP_POP, "pop", 0, 1, 0, 0),
	OP(AX_OP_ZERO_EXT, "zero_ext", 1, 1, 1, 0),
	OP(AX_OP_SWAP, "swap", 0, 2, 2, 0),
	OP(AX_OP_GETV, "getv", 2, 0, 1, 0),
	OP(AX_OP_SETV, "setv", 2, 1, 1, 0),
	/* gdb's table says tracev leaves a value; gdb's own code (getv n,
	 * tracev n, pop) and gdbserver treat it as leaving the stack alone */
	OP(AX_OP_TRACEV, "tracev", 2, 0, 0, 0),
	OP(AX_OP_TRACENZ, "tracenz", 0, 2, 0, 0),
	OP(AX_OP_TRACE16, "trace16", 2, 1, 1, 0),
	OP(AX_OP_PICK, "pick", 1, 0, 1, 0),
	OP(AX_OP_ROT, "rot", 0, 3, 3, 0),
	OP(AX_OP_PRINTF, "printf", 3, 2, 0, 0),
};

static const struct op_info *op_info(unsigned op)
{
	if (op >= sizeof(ops_table) / sizeof(ops_table[0]) || !ops_table[op].name)
		return NULL;
	return &ops_table[op];
}

const char *ax_op_name(unsigned op)
{
	const struct op_info *oi = op_info(op);

	return oi ? oi->name : NULL;
}

/* Puts "prefix: " before the reason a callee left in *msg, or gives the
 * fallback when it left none. */
static void prefix_msg(char **msg, const char *fallback, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void prefix_msg(char **msg, const char *fallback, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!msg)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addf(&sb, ": %s", *msg ? *msg : fallback);
	free(*msg);
	*msg = strbuf_detach(&sb, NULL);
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* ---- checks ---- */

/* Bytes the instruction at pc takes, operands included; 0 when it does not
 * fit in the code. */
static size_t insn_size(const uint8_t *code, size_t len, size_t pc,
			const struct op_info *oi)
{
	size_t n = 1 + (size_t)oi->operand;

	if (pc + n > len)
		return 0;
	if (code[pc] == AX_OP_PRINTF) {
		n += get_be(code + pc + 2, 2);
		if (pc + n > len)
			return 0;
	}
	return n;
}

static int check_printf(const uint8_t *code, size_t pc, unsigned *uses,
			char **msg)
{
	unsigned nargs = code[pc + 1], nconv;
	bool strings;
	size_t slen = (size_t)get_be(code + pc + 2, 2);
	const char *fmt = (const char *)code + pc + 4;
	int rc;

	if (!slen || fmt[slen - 1] != '\0') {
		msg_setf(msg, "printf at %zu: the format does not end with a NUL",
			pc);
		return -EINVAL;
	}
	rc = ax_printf_check(fmt, slen - 1, &nconv, &strings, msg);
	if (rc) {
		prefix_msg(msg, "bad format", "printf at %zu", pc);
		return rc;
	}
	if (nconv != nargs) {
		msg_setf(msg, "printf at %zu: the format takes %u argument%s, the bytecode gives %u",
			pc, nconv, nconv == 1 ? "" : "s", nargs);
		return -EINVAL;
	}
	*uses |= AX_USES_PRINTF | (strings ? AX_USES_MEM : 0);
	return 0;
}

/* Decodes every instruction in order: marks where each starts in `start`. */
static int decode(const uint8_t *code, size_t len, uint8_t *start,
		  unsigned *uses, char **msg)
{
	size_t pc = 0, n;
	int rc;

	while (pc < len) {
		const struct op_info *oi = op_info(code[pc]);

		if (!oi) {
			msg_setf(msg, "bad opcode 0x%02x at %zu", code[pc], pc);
			return -EINVAL;
		}
		if (oi->flags & OF_FLOAT) {
			msg_setf(msg, "%s (0x%02x) at %zu: floating point is not supported",
				oi->name, code[pc], pc);
			return -EOPNOTSUPP;
		}
		n = insn_size(code, len, pc, oi);
		if (!n) {
			msg_setf(msg, "%s at %zu runs past the end of the code (%zu bytes)",
				oi->name, pc, len);
			return -EINVAL;
		}
		switch (code[pc]) {
		case AX_OP_EXT:
			if (!code[pc + 1]) {
				msg_setf(msg, "ext 0 at %zu: no bit to extend", pc);
				return -EINVAL;
			}
			break;
		case AX_OP_PRINTF:
			rc = check_printf(code, pc, uses, msg);
			if (rc)
				return rc;
			break;
		case AX_OP_REG:
			*uses |= AX_USES_REG;
			break;
		case AX_OP_REF8: case AX_OP_REF16: case AX_OP_REF32:
		case AX_OP_REF64:
			*uses |= AX_USES_MEM;
			break;
		case AX_OP_GETV:
			*uses |= AX_USES_GETV;
			break;
		case AX_OP_SETV:
			*uses |= AX_USES_SETV;
			break;
		case AX_OP_TRACENZ:
			*uses |= AX_USES_MEM;
			/* fall through */
		case AX_OP_TRACE: case AX_OP_TRACE_QUICK: case AX_OP_TRACE16:
		case AX_OP_TRACEV:
			*uses |= AX_USES_COLLECT;
			break;
		}
		start[pc] = 1;
		pc += n;
	}
	return 0;
}

/* Values the instruction at pc takes from the stack. */
static unsigned insn_pops(const uint8_t *code, size_t pc,
			  const struct op_info *oi)
{
	if (code[pc] == AX_OP_PICK)
		return code[pc + 1] + 1u;
	if (code[pc] == AX_OP_PRINTF)
		return code[pc + 1] + 2u;
	return oi->pops;
}

static unsigned insn_pushes(const uint8_t *code, size_t pc,
			    const struct op_info *oi)
{
	if (code[pc] == AX_OP_PICK)
		return code[pc + 1] + 2u;
	return oi->pushes;
}

/*
 * The stack depth before each reachable instruction, over every path from
 * offset 0 (a work list: each instruction is visited once, as a depth
 * once known must agree on every later path).
 */
static int analyse(const uint8_t *code, size_t len, const uint8_t *start,
		   struct ax_expr *x, char **msg)
{
	int32_t *depth = xmalloc(st_mult(len, sizeof(*depth)));
	size_t *work = xmalloc(st_mult(len, sizeof(*work)));
	size_t nwork = 0, i;
	int rc = 0;

	for (i = 0; i < len; i++)
		depth[i] = -1;
	depth[0] = 0;
	work[nwork++] = 0;
	x->gives_value = true;
	while (nwork) {
		size_t pc = work[--nwork], succ[2];
		const struct op_info *oi = op_info(code[pc]);
		unsigned d = (unsigned)depth[pc], pops, after, nsucc = 0, k;

		pops = insn_pops(code, pc, oi);
		if (d < pops) {
			msg_setf(msg, "stack underflow at %zu: %s takes %u value%s, the stack holds %u",
				pc, oi->name, pops, pops == 1 ? "" : "s", d);
			rc = -EINVAL;
			goto out;
		}
		after = d - pops + insn_pushes(code, pc, oi);
		if (after > AX_STACK_MAX) {
			msg_setf(msg, "stack overflow at %zu: %s would make it %u values deep (bound %u)",
				pc, oi->name, after, AX_STACK_MAX);
			rc = -E2BIG;
			goto out;
		}
		if (after > x->max_depth)
			x->max_depth = after;
		if (code[pc] == AX_OP_END && after == 0)
			x->gives_value = false;
		if (oi->flags & OF_JUMP) {
			size_t to = (size_t)get_be(code + pc + 1, 2);

			if (to >= len) {
				msg_setf(msg, "%s at %zu jumps to %zu, outside the code (%zu bytes)",
					oi->name, pc, to, len);
				rc = -EINVAL;
				goto out;
			}
			if (!start[to]) {
				msg_setf(msg, "%s at %zu jumps to %zu, inside an instruction",
					oi->name, pc, to);
				rc = -EINVAL;
				goto out;
			}
			succ[nsucc++] = to;
		}
		if (!(oi->flags & OF_STOP)) {
			size_t next = pc + insn_size(code, len, pc, oi);

			if (next >= len) {
				msg_setf(msg, "no end: %s at %zu is the last instruction and does not stop",
					oi->name, pc);
				rc = -EINVAL;
				goto out;
			}
			succ[nsucc++] = next;
		}
		for (k = 0; k < nsucc; k++) {
			size_t s = succ[k];

			if (depth[s] < 0) {
				depth[s] = (int32_t)after;
				work[nwork++] = s;
			} else if ((unsigned)depth[s] != after) {
				msg_setf(msg, "paths meet at %zu with different stack depths (%d and %u)",
					s, depth[s], after);
				rc = -EINVAL;
				goto out;
			}
		}
	}
out:
	free(work);
	free(depth);
	return rc;
}

static int compile(const uint8_t *code, size_t len, struct ax_expr **out,
		   char **msg)
{
	struct ax_expr *x;
	uint8_t *start;
	int rc;

	*out = NULL;
	if (!len) {
		msg_setf(msg, "empty bytecode");
		return -EINVAL;
	}
	if (len > AX_CODE_MAX) {
		msg_setf(msg, "bytecode of %zu bytes is longer than %u", len,
			AX_CODE_MAX);
		return -E2BIG;
	}
	x = xcalloc(1, sizeof(*x));
	start = xcalloc(len, 1);
	rc = decode(code, len, start, &x->uses, msg);
	if (!rc)
		rc = analyse(code, len, start, x, msg);
	free(start);
	if (rc) {
		free(x);
		return rc;
	}
	x->code = xmalloc(len);
	memcpy(x->code, code, len);
	x->len = len;
	*out = x;
	return 0;
}

/* Hands a reason made with the internal convention (*why NULL or
 * malloc'd, always set on failure) to a public caller. */
static int give_msg(int rc, char *why, char **msg)
{
	if (rc && msg)
		*msg = why ? why : xstrdup("failed");
	else
		free(why);
	return rc;
}

int ax_compile(const uint8_t *code, size_t len, struct ax_expr **out,
	       char **msg)
{
	char *why = NULL;
	int rc = compile(code, len, out, &why);

	return give_msg(rc, why, msg);
}

void ax_free(struct ax_expr *x)
{
	if (!x)
		return;
	free(x->code);
	free(x);
}

void ax_disassemble(const struct ax_expr *x, struct strbuf *out)
{
	size_t pc = 0;

	while (pc < x->len) {
		const uint8_t *c = x->code + pc;
		const struct op_info *oi = op_info(c[0]);
		size_t n = insn_size(x->code, x->len, pc, oi);

		if (pc)
			strbuf_addstr(out, "; ");
		strbuf_addstr(out, oi->name);
		switch (c[0]) {
		case AX_OP_PRINTF:
			{
				size_t i, flen = (size_t)get_be(c + 2, 2) - 1;

				strbuf_addf(out, " %u \"", c[1]);
				for (i = 0; i < flen; i++) {
					if (c[4 + i] >= 0x20 && c[4 + i] < 0x7f)
						strbuf_addch(out, c[4 + i]);
					else
						strbuf_addf(out, "\\x%02x", c[4 + i]);
				}
				strbuf_addch(out, '"');
			}
			break;
		case AX_OP_CONST8: case AX_OP_CONST16: case AX_OP_CONST32:
		case AX_OP_CONST64:
			strbuf_addf(out, " 0x%llx",
				    (unsigned long long)get_be(c + 1, oi->operand));
			break;
		default:
			if (oi->operand)
				strbuf_addf(out, " %llu", (unsigned long long)
					    get_be(c + 1, oi->operand));
		}
		pc += n;
	}
}

/* ---- the environment, through wrappers ---- */

static int no_op(const char *what, char **msg)
{
	msg_setf(msg, "%s is not available here", what);
	return -EOPNOTSUPP;
}

int ax_read_mem(struct ax_run *run, uint64_t addr, void *buf, size_t len,
		char **msg)
{
	struct ax_env *env = run->env;
	char *why = NULL;
	int rc;

	if (run->read + len > AX_READ_MAX) {
		msg_setf(msg, "more than %u bytes of guest memory read in one evaluation",
			AX_READ_MAX);
		return -E2BIG;
	}
	run->read += len;
	if (!env->ops->read_mem)
		return no_op("guest memory", msg);
	rc = env->ops->read_mem(env, addr, buf, len, &why);
	if (rc) {
		msg_setf(msg, "cannot read %zu byte%s at 0x%llx%s%s", len,
			len == 1 ? "" : "s", (unsigned long long)addr,
			why ? ": " : "", why ? why : "");
		free(why);
		return rc < 0 ? rc : -EFAULT;
	}
	free(why);
	return 0;
}

/* Calls one callback; on failure makes sure there is a negative errno and
 * a reason (the callee's, or "<what> failed"). */
#define CALL(env, op, what, msg, ...)                                          \
	({                                                                     \
		int rc_;                                                       \
		if (!(env)->ops->op) {                                         \
			rc_ = no_op(what, msg);                                \
		} else {                                                       \
			char *why_ = NULL;                                     \
			rc_ = (env)->ops->op((env), __VA_ARGS__, &why_);       \
			if (rc_) {                                             \
				if (rc_ > 0)                                   \
					rc_ = -EIO;                            \
				msg_setf(msg, "%s%s", why_ ? why_ : what,       \
					why_ ? "" : " failed");                \
			}                                                      \
			free(why_);                                            \
		}                                                              \
		rc_;                                                           \
	})

static int collect_string(struct ax_run *run, uint64_t addr, uint64_t size,
			  char **msg)
{
	struct ax_env *env = run->env;
	uint64_t limit = size < AX_TRACENZ_MAX ? size : AX_TRACENZ_MAX;
	uint64_t got = 0;
	uint8_t chunk[64];

	while (got < limit) {
		uint64_t a = addr + got, n = sizeof(chunk), i;
		int rc;

		if (n > 4096 - (a & 4095))
			n = 4096 - (a & 4095);
		if (n > limit - got)
			n = limit - got;
		rc = ax_read_mem(run, a, chunk, (size_t)n, msg);
		if (rc)
			return rc;
		for (i = 0; i < n; i++)
			if (!chunk[i])
				return CALL(env, collect_mem, "collection", msg,
					    addr, got + i + 1);
		got += n;
	}
	if (size > AX_TRACENZ_MAX) {
		msg_setf(msg, "no NUL in the first %u bytes at 0x%llx",
			AX_TRACENZ_MAX, (unsigned long long)addr);
		return -E2BIG;
	}
	return CALL(env, collect_mem, "collection", msg, addr, size);
}

static int do_printf(struct ax_run *run, const uint8_t *c,
		     const uint64_t *args, char **msg)
{
	struct ax_env *env = run->env;
	struct strbuf out = STRBUF_INIT;
	int rc;

	rc = ax_printf_format((const char *)c + 4, (size_t)get_be(c + 2, 2) - 1,
			      args, c[1], run, &out, msg);
	run->printed += out.len;
	if (!rc)
		rc = CALL(env, print, "printing", msg, out.buf, out.len);
	strbuf_release(&out);
	return rc;
}

/* ---- the interpreter ---- */

static uint64_t sign_extend(uint64_t v, unsigned bits)
{
	uint64_t m;

	if (bits >= 64)
		return v;
	m = 1ull << (bits - 1);
	v &= (1ull << bits) - 1;
	return (v ^ m) - m;
}

/* "reg 29", "ref32", "printf 2": an instruction for messages. */
static void insn_text(const uint8_t *c, const struct op_info *oi,
		      struct strbuf *sb)
{
	strbuf_addstr(sb, oi->name);
	if (oi->operand && c[0] != AX_OP_CONST8 && c[0] != AX_OP_CONST16 &&
	    c[0] != AX_OP_CONST32 && c[0] != AX_OP_CONST64)
		strbuf_addf(sb, " %llu", (unsigned long long)get_be(
			c + 1, c[0] == AX_OP_PRINTF ? 1 : oi->operand));
}

static int eval(const struct ax_expr *x, struct ax_env *env,
		struct ax_result *res, char **msg)
{
	static const struct ax_env_ops none;
	struct ax_env env0 = { .ops = &none };
	uint64_t stack[AX_STACK_MAX], a, b;
	const uint8_t *code = x->code;
	struct ax_run run;
	unsigned max_steps, steps = 0;
	size_t pc = 0, sp = 0;
	int rc = 0;

	if (!env)
		env = &env0;
	run.env = env;
	run.read = 0;
	run.printed = 0;
	max_steps = env->max_steps ? env->max_steps : AX_STEPS_DEFAULT;
	if (res)
		memset(res, 0, sizeof(*res));

/* The checks at compile time make these impossible; they stay as a last
 * line against a damaged expression. */
#define NEED(n)                                                                \
	do {                                                                   \
		if (sp < (n)) {                                                \
			rc = -EPROTO;                                          \
			goto broken;                                           \
		}                                                              \
	} while (0)
#define ROOM(n)                                                                \
	do {                                                                   \
		if (sp + (n) > AX_STACK_MAX) {                                 \
			rc = -EPROTO;                                          \
			goto broken;                                           \
		}                                                              \
	} while (0)
#define TOP stack[sp - 1]

	for (;;) {
		const uint8_t *c;
		const struct op_info *oi;
		size_t n;

		if (pc >= x->len) {
			rc = -EPROTO;
			goto broken;
		}
		c = code + pc;
		oi = op_info(c[0]);
		if (!oi || !(n = insn_size(code, x->len, pc, oi))) {
			rc = -EPROTO;
			goto broken;
		}
		if (steps >= max_steps) {
			msg_setf(msg, "gave up after %u steps at %zu (%s): a loop?",
				steps, pc, oi->name);
			rc = -ELOOP;
			goto out;
		}
		steps++;
		pc += n;

		switch (c[0]) {
		case AX_OP_ADD: case AX_OP_SUB: case AX_OP_MUL:
		case AX_OP_DIV_SIGNED: case AX_OP_DIV_UNSIGNED:
		case AX_OP_REM_SIGNED: case AX_OP_REM_UNSIGNED:
		case AX_OP_LSH: case AX_OP_RSH_SIGNED: case AX_OP_RSH_UNSIGNED:
		case AX_OP_BIT_AND: case AX_OP_BIT_OR: case AX_OP_BIT_XOR:
		case AX_OP_EQUAL: case AX_OP_LESS_SIGNED:
		case AX_OP_LESS_UNSIGNED:
			NEED(2);
			b = stack[--sp];
			a = stack[sp - 1];
			switch (c[0]) {
			case AX_OP_ADD: a += b; break;
			case AX_OP_SUB: a -= b; break;
			case AX_OP_MUL: a *= b; break;
			case AX_OP_DIV_SIGNED:
			case AX_OP_DIV_UNSIGNED:
			case AX_OP_REM_SIGNED:
			case AX_OP_REM_UNSIGNED:
				if (!b) {
					msg_setf(msg, "%s at %zu: division by zero",
						oi->name, pc - n);
					rc = -EDOM;
					goto out;
				}
				if (c[0] == AX_OP_DIV_UNSIGNED)
					a /= b;
				else if (c[0] == AX_OP_REM_UNSIGNED)
					a %= b;
				else if (b == UINT64_MAX)
					/* by -1: INT64_MIN / -1 would trap */
					a = c[0] == AX_OP_DIV_SIGNED ? 0 - a : 0;
				else if (c[0] == AX_OP_DIV_SIGNED)
					a = (uint64_t)((int64_t)a / (int64_t)b);
				else
					a = (uint64_t)((int64_t)a % (int64_t)b);
				break;
			/* shifts by 64 or more: every bit shifted out */
			case AX_OP_LSH: a = b < 64 ? a << b : 0; break;
			case AX_OP_RSH_UNSIGNED: a = b < 64 ? a >> b : 0; break;
			case AX_OP_RSH_SIGNED:
				a = (uint64_t)((int64_t)a >> (b < 64 ? b : 63));
				break;
			case AX_OP_BIT_AND: a &= b; break;
			case AX_OP_BIT_OR: a |= b; break;
			case AX_OP_BIT_XOR: a ^= b; break;
			case AX_OP_EQUAL: a = a == b; break;
			case AX_OP_LESS_SIGNED: a = (int64_t)a < (int64_t)b; break;
			case AX_OP_LESS_UNSIGNED: a = a < b; break;
			}
			TOP = a;
			break;
		case AX_OP_LOG_NOT:
			NEED(1);
			TOP = !TOP;
			break;
		case AX_OP_BIT_NOT:
			NEED(1);
			TOP = ~TOP;
			break;
		case AX_OP_EXT:
			NEED(1);
			TOP = sign_extend(TOP, c[1]);
			break;
		case AX_OP_ZERO_EXT:
			NEED(1);
			if (c[1] < 64)
				TOP &= (1ull << c[1]) - 1;
			break;
		case AX_OP_REF8: case AX_OP_REF16: case AX_OP_REF32:
		case AX_OP_REF64: {
			unsigned size = 1u << (c[0] - AX_OP_REF8);
			uint8_t buf[8];

			NEED(1);
			rc = ax_read_mem(&run, TOP, buf, size, msg);
			if (rc)
				goto failed;
			TOP = get_le(buf, size);
			break;
		}
		case AX_OP_IF_GOTO:
			NEED(1);
			if (stack[--sp])
				pc = (size_t)get_be(c + 1, 2);
			break;
		case AX_OP_GOTO:
			pc = (size_t)get_be(c + 1, 2);
			break;
		case AX_OP_CONST8: case AX_OP_CONST16: case AX_OP_CONST32:
		case AX_OP_CONST64:
			ROOM(1);
			stack[sp++] = get_be(c + 1, oi->operand);
			break;
		case AX_OP_REG:
			ROOM(1);
			rc = CALL(env, read_reg, "register", msg,
				  (unsigned)get_be(c + 1, 2), &a);
			if (rc)
				goto failed;
			stack[sp++] = a;
			break;
		case AX_OP_END:
			if (res) {
				res->has_value = sp > 0;
				res->value = sp ? TOP : 0;
			}
			goto out;
		case AX_OP_DUP:
			NEED(1);
			ROOM(1);
			stack[sp] = stack[sp - 1];
			sp++;
			break;
		case AX_OP_POP:
			NEED(1);
			sp--;
			break;
		case AX_OP_SWAP:
			NEED(2);
			a = TOP;
			TOP = stack[sp - 2];
			stack[sp - 2] = a;
			break;
		case AX_OP_PICK:
			NEED((size_t)c[1] + 1);
			ROOM(1);
			stack[sp] = stack[sp - 1 - c[1]];
			sp++;
			break;
		case AX_OP_ROT:
			/* a b c => c a b */
			NEED(3);
			a = stack[sp - 1];
			stack[sp - 1] = stack[sp - 2];
			stack[sp - 2] = stack[sp - 3];
			stack[sp - 3] = a;
			break;
		case AX_OP_GETV: {
			int64_t v;

			ROOM(1);
			rc = CALL(env, get_tsv, "trace state variable", msg,
				  (unsigned)get_be(c + 1, 2), &v);
			if (rc)
				goto failed;
			stack[sp++] = (uint64_t)v;
			break;
		}
		case AX_OP_SETV:
			NEED(1);
			rc = CALL(env, set_tsv, "trace state variable", msg,
				  (unsigned)get_be(c + 1, 2), (int64_t)TOP);
			if (rc)
				goto failed;
			break;
		case AX_OP_TRACE:
			NEED(2);
			b = stack[--sp];
			a = stack[--sp];
			rc = CALL(env, collect_mem, "collection", msg, a, b);
			if (rc)
				goto failed;
			break;
		case AX_OP_TRACE_QUICK:
		case AX_OP_TRACE16:
			NEED(1);
			rc = CALL(env, collect_mem, "collection", msg, TOP,
				  get_be(c + 1, oi->operand));
			if (rc)
				goto failed;
			break;
		case AX_OP_TRACENZ:
			NEED(2);
			b = stack[--sp];
			a = stack[--sp];
			rc = collect_string(&run, a, b, msg);
			if (rc)
				goto failed;
			break;
		case AX_OP_TRACEV:
			rc = CALL(env, collect_tsv, "collection", msg,
				  (unsigned)get_be(c + 1, 2));
			if (rc)
				goto failed;
			break;
		case AX_OP_PRINTF: {
			/* from the top: function, channel (both unused: the
			 * text goes to print), then the arguments, first
			 * one first */
			uint64_t args[256];
			unsigned i, nargs = c[1];

			NEED((size_t)nargs + 2);
			sp -= 2;
			for (i = 0; i < nargs; i++)
				args[i] = stack[--sp];
			rc = do_printf(&run, c, args, msg);
			if (rc)
				goto failed;
			break;
		}
		default:
			msg_setf(msg, "%s (0x%02x) at %zu is not supported",
				oi->name, c[0], pc - n);
			rc = -EOPNOTSUPP;
			goto out;
		}
		continue;
failed: {
			struct strbuf sb = STRBUF_INIT;

			insn_text(c, oi, &sb);
			prefix_msg(msg, "failed", "%s at %zu", sb.buf, pc - n);
			strbuf_release(&sb);
			goto out;
		}
	}
broken:
	msg_setf(msg, "damaged expression at %zu (stack %zu)", pc, sp);
out:
	if (res)
		res->steps = steps;
	return rc;
#undef NEED
#undef ROOM
#undef TOP
}

int ax_eval(const struct ax_expr *x, struct ax_env *env,
	    struct ax_result *res, char **msg)
{
	char *why = NULL;
	int rc = eval(x, env, res, &why);

	return give_msg(rc, why, msg);
}

int ax_eval_conditions(struct ax_expr *const *conds, size_t n,
		       struct ax_env *env, bool *stop, char **msg)
{
	struct ax_result res;
	char *why = NULL;
	size_t i;
	int rc = 0;

	*stop = true;
	for (i = 0; i < n; i++) {
		rc = eval(conds[i], env, &res, &why);
		if (rc)
			break;
		if (!res.has_value) {
			msg_setf(&why, "condition %zu left no value on the stack",
				i);
			rc = -ENODATA;
			break;
		}
		if (res.value)
			break;
	}
	if (!rc && i == n)
		*stop = n == 0;
	return give_msg(rc, why, msg);
}
