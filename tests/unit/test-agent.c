// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the agent expression module (stub/agent/): every opcode
 * against values worked out here from gdb's manual, the bounds (steps,
 * stack, printf output), failing reads, division by zero, each class of
 * malformed bytecode, printf formats, collection order, the Z packet
 * options, and the exact packets gdb 13 sends for conditions, dprintf and
 * tracepoints with xenstub's target description.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "arch/x86/regs.h"
#include "stub/agent/ax-packet.h"
#include "stub/agent/ax-x86.h"
#include "stub/agent/ax.h"
#include "stub/base/num.h"
#include "stub/base/strbuf.h"

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

/* ---- a fake environment ---- */

/* Guest memory: [LOW_BASE, LOW_BASE + LOW_SIZE) is readable, and the page
 * after it is not; one page at MID_BASE and one at HIGH_BASE (a kernel
 * address); ENDLESS_BASE starts 1 MiB of 'z' without a NUL. */
#define LOW_BASE 0x1000ull
#define LOW_SIZE 0x2000ull
#define HOLE 0x3000ull
#define MID_BASE 0x6000ull
#define HIGH_BASE 0xffffffff82000000ull
#define ENDLESS_BASE 0x4000000000ull

struct fake {
	struct ax_env env;
	uint8_t low[LOW_SIZE];
	uint8_t mid[0x1000];
	uint8_t high[0x1000];
	uint64_t regs[64];
	uint64_t reg_known;	/* bit per register */
	int64_t tsv[8];
	unsigned tsv_known;	/* bit per variable */
	struct strbuf log;	/* "mem ADDR LEN;" "tsv N;" "setv N V;" in order */
	struct strbuf printed;
	unsigned prints, reads;
	bool fail_print;
};

static struct fake *fake_of(struct ax_env *env)
{
	return container_of(env, struct fake, env);
}

static int f_read_reg(struct ax_env *env, unsigned regno, uint64_t *val,
		      char **msg)
{
	struct fake *f = fake_of(env);

	if (regno >= 64 || !(f->reg_known >> regno & 1)) {
		*msg = xstrfmt("register %u unknown", regno);
		return -ENODATA;
	}
	*val = f->regs[regno];
	return 0;
}

static int f_read_mem(struct ax_env *env, uint64_t addr, void *buf,
		      size_t len, char **msg)
{
	struct fake *f = fake_of(env);

	f->reads++;
	if (addr + len < addr) {
		*msg = xstrdup("wraps around");
		return -EFAULT;
	}
	if (addr >= LOW_BASE && addr + len <= LOW_BASE + LOW_SIZE) {
		memcpy(buf, f->low + (addr - LOW_BASE), len);
		return 0;
	}
	if (addr >= MID_BASE && addr + len <= MID_BASE + 0x1000) {
		memcpy(buf, f->mid + (addr - MID_BASE), len);
		return 0;
	}
	if (addr >= HIGH_BASE && addr + len <= HIGH_BASE + 0x1000) {
		memcpy(buf, f->high + (addr - HIGH_BASE), len);
		return 0;
	}
	if (addr >= ENDLESS_BASE && addr + len <= ENDLESS_BASE + (1u << 20)) {
		memset(buf, 'z', len);
		return 0;
	}
	*msg = xstrdup("not mapped");
	return -EFAULT;
}

static int f_get_tsv(struct ax_env *env, unsigned num, int64_t *val,
		     char **msg)
{
	struct fake *f = fake_of(env);

	if (num >= 8 || !(f->tsv_known >> num & 1)) {
		*msg = xstrfmt("no variable %u", num);
		return -ENOENT;
	}
	*val = f->tsv[num];
	return 0;
}

static int f_set_tsv(struct ax_env *env, unsigned num, int64_t val,
		     char **msg)
{
	struct fake *f = fake_of(env);

	if (num >= 8) {
		*msg = xstrfmt("no variable %u", num);
		return -ENOENT;
	}
	f->tsv[num] = val;
	f->tsv_known |= 1u << num;
	strbuf_addf(&f->log, "setv %u %lld;", num, (long long)val);
	return 0;
}

static int f_collect_mem(struct ax_env *env, uint64_t addr, uint64_t len,
			 char **msg)
{
	struct fake *f = fake_of(env);

	if (len > 0x100000) {
		*msg = xstrdup("no room in the trace buffer");
		return -ENOSPC;
	}
	if (addr == 0xdead) {
		*msg = xstrdup("address refused");
		return -EACCES;
	}
	strbuf_addf(&f->log, "mem 0x%llx %llu;", (unsigned long long)addr,
		    (unsigned long long)len);
	return 0;
}

static int f_collect_tsv(struct ax_env *env, unsigned num, char **msg)
{
	struct fake *f = fake_of(env);

	(void)msg;
	if (num >= 8)
		return -ENOENT;	/* and no reason */
	strbuf_addf(&f->log, "tsv %u;", num);
	return 0;
}

static int f_print(struct ax_env *env, const char *text, size_t len,
		   char **msg)
{
	struct fake *f = fake_of(env);

	assert_true(len <= AX_PRINTF_MAX);
	if (f->fail_print) {
		*msg = xstrdup("console closed");
		return -EPIPE;
	}
	f->prints++;
	strbuf_add(&f->printed, text, len);
	return 0;
}

static const struct ax_env_ops fake_ops = {
	.read_reg = f_read_reg,
	.read_mem = f_read_mem,
	.get_tsv = f_get_tsv,
	.set_tsv = f_set_tsv,
	.collect_mem = f_collect_mem,
	.collect_tsv = f_collect_tsv,
	.print = f_print,
};

static struct fake *F;

static int setup(void **state)
{
	size_t i;

	(void)state;
	F = xcalloc(1, sizeof(*F));
	F->env.ops = &fake_ops;
	strbuf_init(&F->log, 0);
	strbuf_init(&F->printed, 0);
	/* memory byte i of the low region is (i * 7 + 1) & 0xff */
	for (i = 0; i < LOW_SIZE; i++)
		F->low[i] = (uint8_t)(i * 7 + 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	strbuf_release(&F->log);
	strbuf_release(&F->printed);
	free(F);
	F = NULL;
	return 0;
}

static void set_reg(unsigned regno, uint64_t v)
{
	F->regs[regno] = v;
	F->reg_known |= 1ull << regno;
}

static void poke(uint64_t addr, const void *data, size_t len)
{
	if (addr >= MID_BASE && addr + len <= MID_BASE + 0x1000) {
		memcpy(F->mid + (addr - MID_BASE), data, len);
		return;
	}
	assert_true(addr >= LOW_BASE && addr + len <= LOW_BASE + LOW_SIZE);
	memcpy(F->low + (addr - LOW_BASE), data, len);
}

/* ---- helpers ---- */

#define CODE(...) (const uint8_t[]){ __VA_ARGS__ }, \
	sizeof((const uint8_t[]){ __VA_ARGS__ })

/* 16-, 32- and 64-bit big-endian operands */
#define BE16(v) (uint8_t)((v) >> 8), (uint8_t)(v)
#define BE32(v) BE16((v) >> 16), BE16(v)
#define BE64(v) BE32((uint64_t)(v) >> 32), BE32(v)

static struct ax_expr *compile_ok(const uint8_t *code, size_t len)
{
	struct ax_expr *x = NULL;
	char *msg = NULL;
	int rc = ax_compile(code, len, &x, &msg);

	if (rc)
		fail_msg("compile: %d %s", rc, msg);
	assert_null(msg);
	assert_non_null(x);
	return x;
}

/* Compiles and runs code in the fake environment; returns the value. */
static uint64_t run(const uint8_t *code, size_t len)
{
	struct ax_expr *x = compile_ok(code, len);
	struct ax_result res;
	char *msg = NULL;
	int rc = ax_eval(x, &F->env, &res, &msg);

	if (rc)
		fail_msg("eval: %d %s", rc, msg);
	assert_true(res.has_value);
	ax_free(x);
	return res.value;
}

/* Compiles (it must compile) and runs code expecting an error: returns
 * the code, *msg the reason (to free). */
static int run_err(const uint8_t *code, size_t len, char **msg)
{
	struct ax_expr *x = compile_ok(code, len);
	struct ax_result res;
	int rc;

	*msg = NULL;
	rc = ax_eval(x, &F->env, &res, msg);
	assert_true(rc < 0);
	assert_non_null(*msg);
	ax_free(x);
	return rc;
}

/* The code must be refused with rc, with a reason holding `has`. */
static void refused(const uint8_t *code, size_t len, int rc, const char *has)
{
	struct ax_expr *x = (struct ax_expr *)1;
	char *msg = NULL;
	int got = ax_compile(code, len, &x, &msg);

	if (got != rc || !msg || !strstr(msg, has))
		fail_msg("expected %d \"%s\", got %d \"%s\"", rc, has, got,
			 msg ? msg : "(none)");
	assert_null(x);
	free(msg);
}

static void assert_has(const char *msg, const char *has)
{
	if (!msg || !strstr(msg, has))
		fail_msg("\"%s\" does not hold \"%s\"", msg ? msg : "(null)", has);
}

/* ---- arithmetic ---- */

#define C8(v) AX_OP_CONST8, (uint8_t)(v)
#define C64(v) AX_OP_CONST64, BE64(v)
#define END AX_OP_END

static void test_arithmetic(void **state)
{
	(void)state;
	assert_int_equal(run(CODE(C8(5), C8(7), AX_OP_ADD, END)), 12);
	assert_int_equal(run(CODE(C8(5), C8(7), AX_OP_SUB, END)), (uint64_t)-2);
	assert_int_equal(run(CODE(C8(6), C8(7), AX_OP_MUL, END)), 42);
	/* wrap-around at 64 bits */
	assert_int_equal(run(CODE(C64(UINT64_MAX), C8(2), AX_OP_ADD, END)), 1);
	assert_int_equal(run(CODE(C64(1ull << 63), C8(2), AX_OP_MUL, END)), 0);
	/* -7 / 2 and -7 % 2 truncate towards zero */
	assert_int_equal(run(CODE(C64(-7), C8(2), AX_OP_DIV_SIGNED, END)),
			 (uint64_t)-3);
	assert_int_equal(run(CODE(C64(-7), C8(2), AX_OP_REM_SIGNED, END)),
			 (uint64_t)-1);
	assert_int_equal(run(CODE(C64(-7), C8(2), AX_OP_DIV_UNSIGNED, END)),
			 (uint64_t)-7 / 2);
	assert_int_equal(run(CODE(C64(-7), C8(2), AX_OP_REM_UNSIGNED, END)),
			 (uint64_t)-7 % 2);
	assert_int_equal(run(CODE(C8(100), C64(-7), AX_OP_DIV_SIGNED, END)),
			 (uint64_t)-14);
	/* INT64_MIN / -1 wraps instead of trapping; the remainder is 0 */
	assert_int_equal(run(CODE(C64(INT64_MIN), C64(-1), AX_OP_DIV_SIGNED, END)),
			 (uint64_t)INT64_MIN);
	assert_int_equal(run(CODE(C64(INT64_MIN), C64(-1), AX_OP_REM_SIGNED, END)),
			 0);
	assert_int_equal(run(CODE(C8(7), C64(-1), AX_OP_DIV_SIGNED, END)),
			 (uint64_t)-7);
}

static void test_shifts(void **state)
{
	(void)state;
	assert_int_equal(run(CODE(C8(3), C8(4), AX_OP_LSH, END)), 48);
	assert_int_equal(run(CODE(C8(1), C8(63), AX_OP_LSH, END)), 1ull << 63);
	assert_int_equal(run(CODE(C8(0x80), C8(4), AX_OP_RSH_UNSIGNED, END)), 8);
	assert_int_equal(run(CODE(C64(-16), C8(2), AX_OP_RSH_SIGNED, END)),
			 (uint64_t)-4);
	assert_int_equal(run(CODE(C64(-16), C8(2), AX_OP_RSH_UNSIGNED, END)),
			 (uint64_t)-16 >> 2);
	assert_int_equal(run(CODE(C8(0x40), C8(2), AX_OP_RSH_SIGNED, END)), 0x10);
	/* 64 and more: every bit shifted out */
	assert_int_equal(run(CODE(C8(1), C8(64), AX_OP_LSH, END)), 0);
	assert_int_equal(run(CODE(C64(-1), C8(200), AX_OP_RSH_UNSIGNED, END)), 0);
	assert_int_equal(run(CODE(C64(-1), C8(64), AX_OP_RSH_SIGNED, END)),
			 UINT64_MAX);
	assert_int_equal(run(CODE(C8(5), C64(1ull << 40), AX_OP_RSH_SIGNED, END)),
			 0);
}

static void test_logic(void **state)
{
	(void)state;
	assert_int_equal(run(CODE(C8(0), AX_OP_LOG_NOT, END)), 1);
	assert_int_equal(run(CODE(C8(5), AX_OP_LOG_NOT, END)), 0);
	assert_int_equal(run(CODE(C64(1ull << 63), AX_OP_LOG_NOT, END)), 0);
	assert_int_equal(run(CODE(C8(0xc), C8(0xa), AX_OP_BIT_AND, END)), 8);
	assert_int_equal(run(CODE(C8(0xc), C8(0xa), AX_OP_BIT_OR, END)), 0xe);
	assert_int_equal(run(CODE(C8(0xc), C8(0xa), AX_OP_BIT_XOR, END)), 6);
	assert_int_equal(run(CODE(C8(0), AX_OP_BIT_NOT, END)), UINT64_MAX);
	assert_int_equal(run(CODE(C8(3), C8(3), AX_OP_EQUAL, END)), 1);
	assert_int_equal(run(CODE(C8(3), C8(4), AX_OP_EQUAL, END)), 0);
	/* a b less: a < b, with a the one below the top */
	assert_int_equal(run(CODE(C8(3), C8(4), AX_OP_LESS_SIGNED, END)), 1);
	assert_int_equal(run(CODE(C8(4), C8(3), AX_OP_LESS_SIGNED, END)), 0);
	assert_int_equal(run(CODE(C8(4), C8(4), AX_OP_LESS_SIGNED, END)), 0);
	/* -1 against 1: signed and unsigned disagree */
	assert_int_equal(run(CODE(C64(-1), C8(1), AX_OP_LESS_SIGNED, END)), 1);
	assert_int_equal(run(CODE(C64(-1), C8(1), AX_OP_LESS_UNSIGNED, END)), 0);
	assert_int_equal(run(CODE(C8(1), C64(-1), AX_OP_LESS_UNSIGNED, END)), 1);
	assert_int_equal(run(CODE(C64(INT64_MIN), C64(INT64_MAX),
				  AX_OP_LESS_SIGNED, END)), 1);
}

static void test_extension(void **state)
{
	(void)state;
	assert_int_equal(run(CODE(C8(0x80), AX_OP_EXT, 8, END)),
			 0xffffffffffffff80ull);
	assert_int_equal(run(CODE(C8(0x7f), AX_OP_EXT, 8, END)), 0x7f);
	/* only the low n bits count */
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(0x1280), AX_OP_EXT, 8, END)),
			 0xffffffffffffff80ull);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(0x8000), AX_OP_EXT, 16, END)),
			 0xffffffffffff8000ull);
	assert_int_equal(run(CODE(AX_OP_CONST32, BE32(0x82000000), AX_OP_EXT, 32,
				  END)), 0xffffffff82000000ull);
	assert_int_equal(run(CODE(C8(1), AX_OP_EXT, 1, END)), UINT64_MAX);
	assert_int_equal(run(CODE(C8(2), AX_OP_EXT, 1, END)), 0);
	/* 64 and more: no effect (gdb sends "ext 64" after every 64-bit
	 * register) */
	assert_int_equal(run(CODE(C64(0x8000000000000001ull), AX_OP_EXT, 64, END)),
			 0x8000000000000001ull);
	assert_int_equal(run(CODE(C8(0x80), AX_OP_EXT, 200, END)), 0x80);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(0x1234), AX_OP_ZERO_EXT, 8,
				  END)), 0x34);
	assert_int_equal(run(CODE(C64(-1), AX_OP_ZERO_EXT, 32, END)), 0xffffffffull);
	assert_int_equal(run(CODE(C64(-1), AX_OP_ZERO_EXT, 1, END)), 1);
	assert_int_equal(run(CODE(C64(-1), AX_OP_ZERO_EXT, 0, END)), 0);
	assert_int_equal(run(CODE(C64(-1), AX_OP_ZERO_EXT, 64, END)), UINT64_MAX);
}

static void test_constants(void **state)
{
	(void)state;
	/* most significant byte first, never sign-extended */
	assert_int_equal(run(CODE(C8(0xff), END)), 0xff);
	assert_int_equal(run(CODE(AX_OP_CONST16, 0x12, 0x34, END)), 0x1234);
	assert_int_equal(run(CODE(AX_OP_CONST16, 0xff, 0xfe, END)), 0xfffe);
	assert_int_equal(run(CODE(AX_OP_CONST32, 0x89, 0xab, 0xcd, 0xef, END)),
			 0x89abcdef);
	assert_int_equal(run(CODE(AX_OP_CONST64, 1, 2, 3, 4, 5, 6, 7, 8, END)),
			 0x0102030405060708ull);
	assert_int_equal(run(CODE(C64(0xfedcba9876543210ull), END)),
			 0xfedcba9876543210ull);
}

static void test_refs(void **state)
{
	uint64_t a = LOW_BASE + 0x101;	/* unaligned */
	uint8_t v[8] = { 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8 };

	(void)state;
	poke(a, v, 8);
	/* little-endian, unsigned on the stack */
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF8, END)), 0xf1);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF16, END)),
			 0xf2f1);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF32, END)),
			 0xf4f3f2f1);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF64, END)),
			 0xf8f7f6f5f4f3f2f1ull);
	/* then signed by ext, as gdb does for signed types */
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF8, AX_OP_EXT, 8,
				  END)), (uint64_t)(int8_t)0xf1);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF16, AX_OP_EXT,
				  16, END)), (uint64_t)(int16_t)0xf2f1);
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(a), AX_OP_REF32, AX_OP_EXT,
				  32, END)), (uint64_t)(int32_t)0xf4f3f2f1);
	/* the last bytes before the hole */
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(HOLE - 8), AX_OP_REF64, END)),
			 get_le(F->low + LOW_SIZE - 8, 8));
	/* a kernel address */
	F->high[0x10] = 0x2a;
	assert_int_equal(run(CODE(C64(HIGH_BASE + 0x10), AX_OP_REF8, END)), 0x2a);
}

static void test_failing_reads(void **state)
{
	char *msg;
	int rc;

	(void)state;
	rc = run_err(CODE(C8(0), C8(0), AX_OP_ADD, AX_OP_CONST16, BE16(HOLE),
			  AX_OP_REF32, END), &msg);
	assert_int_equal(rc, -EFAULT);
	/* the instruction, its offset, the address and the callee's reason */
	assert_has(msg, "ref32 at 8");
	assert_has(msg, "4 bytes at 0x3000");
	assert_has(msg, "not mapped");
	free(msg);
	/* straddling the end of readable memory */
	rc = run_err(CODE(AX_OP_CONST16, BE16(HOLE - 2), AX_OP_REF32, END), &msg);
	assert_int_equal(rc, -EFAULT);
	assert_has(msg, "at 0x2ffe");
	free(msg);
	rc = run_err(CODE(C64(0xfffffffffffffffeull), AX_OP_REF64, END), &msg);
	assert_int_equal(rc, -EFAULT);
	assert_has(msg, "8 bytes at 0xfffffffffffffffe");
	free(msg);
}

static void test_division_by_zero(void **state)
{
	static const uint8_t ops[] = { AX_OP_DIV_SIGNED, AX_OP_DIV_UNSIGNED,
				       AX_OP_REM_SIGNED, AX_OP_REM_UNSIGNED };
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		char *msg;
		int rc = run_err(CODE(C8(5), C8(0), ops[i], END), &msg);

		assert_int_equal(rc, -EDOM);
		assert_has(msg, ax_op_name(ops[i]));
		assert_has(msg, "division by zero");
		free(msg);
	}
}

/* ---- the stack ---- */

/* Runs code and prints its stack with printf: the top first. */
static const char *stack_of(const uint8_t *code, size_t len)
{
	struct ax_expr *x = compile_ok(code, len);
	char *msg = NULL;

	strbuf_reset(&F->printed);
	if (ax_eval(x, &F->env, NULL, &msg))
		fail_msg("eval: %s", msg);
	ax_free(x);
	return F->printed.buf;
}

#define PRINT3 C8(0), C8(0), AX_OP_PRINTF, 3, BE16(9), \
	'%', 'd', ' ', '%', 'd', ' ', '%', 'd', 0, END
#define PRINT4 C8(0), C8(0), AX_OP_PRINTF, 4, BE16(12), \
	'%', 'd', ' ', '%', 'd', ' ', '%', 'd', ' ', '%', 'd', 0, END

static void test_stack_ops(void **state)
{
	(void)state;
	assert_string_equal(stack_of(CODE(C8(1), C8(2), C8(3), PRINT3)), "3 2 1");
	/* dup, pop, swap */
	assert_string_equal(stack_of(CODE(C8(1), C8(2), AX_OP_DUP, PRINT3)),
			    "2 2 1");
	assert_string_equal(stack_of(CODE(C8(1), C8(2), C8(3), C8(4), AX_OP_POP,
					  PRINT3)), "3 2 1");
	assert_string_equal(stack_of(CODE(C8(1), C8(2), C8(3), AX_OP_SWAP,
					  PRINT3)), "2 3 1");
	/* rot: a b c => c a b, so 1 2 3 becomes 3 1 2 (top last) */
	assert_string_equal(stack_of(CODE(C8(1), C8(2), C8(3), AX_OP_ROT,
					  PRINT3)), "2 1 3");
	assert_string_equal(stack_of(CODE(C8(9), C8(1), C8(2), C8(3), AX_OP_ROT,
					  PRINT4)), "2 1 3 9");
	/* pick 0 is dup; pick n copies the item n below the top */
	assert_string_equal(stack_of(CODE(C8(1), C8(2), AX_OP_PICK, 0, PRINT3)),
			    "2 2 1");
	assert_string_equal(stack_of(CODE(C8(1), C8(2), C8(3), AX_OP_PICK, 2,
					  PRINT4)), "1 3 2 1");
	assert_string_equal(stack_of(CODE(C8(7), C8(1), C8(2), AX_OP_PICK, 1,
					  PRINT4)), "1 2 1 7");
	/* the value at end is the top, whatever is below */
	assert_int_equal(run(CODE(C8(1), C8(2), C8(3), END)), 3);
}

static void test_jumps(void **state)
{
	(void)state;
	/* 0: const8 c; 2: if_goto 8; 5: const8 10; 7: end; 8: const8 20; 10: end */
	assert_int_equal(run(CODE(C8(0), AX_OP_IF_GOTO, BE16(8), C8(10), END,
				  C8(20), END)), 10);
	assert_int_equal(run(CODE(C8(5), AX_OP_IF_GOTO, BE16(8), C8(10), END,
				  C8(20), END)), 20);
	/* if_goto pops its operand either way */
	assert_string_equal(stack_of(CODE(C8(4), C8(0), AX_OP_IF_GOTO, BE16(7),
					  C8(5), C8(6), PRINT3)), "6 5 4");
	/* goto skips; a backward jump is fine when it terminates:
	 * 0: goto 6; 3: const8 1; 5: end; 6: goto 3 */
	assert_int_equal(run(CODE(AX_OP_GOTO, BE16(6), C8(1), END,
				  AX_OP_GOTO, BE16(3))), 1);
}

static void test_countdown_loop(void **state)
{
	struct ax_expr *x;
	struct ax_result res;
	char *msg = NULL;

	(void)state;
	/* v0 = 5; do v0 = v0 - 1 while v0; end with 42:
	 *  0: const8 5   2: setv 0   5: pop
	 *  6: getv 0     9: const8 1  11: sub  12: setv 0  15: if_goto 6
	 * 18: const8 42 20: end */
	x = compile_ok(CODE(C8(5), AX_OP_SETV, BE16(0), AX_OP_POP,
			    AX_OP_GETV, BE16(0), C8(1), AX_OP_SUB,
			    AX_OP_SETV, BE16(0), AX_OP_IF_GOTO, BE16(6),
			    C8(42), END));
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_int_equal(res.value, 42);
	assert_int_equal(F->tsv[0], 0);
	assert_int_equal(res.steps, 3 + 5 * 5 + 2);
	ax_free(x);
}

/* ---- registers and variables ---- */

static void test_reg(void **state)
{
	char *msg;

	(void)state;
	set_reg(5, 0x1122334455667788ull);
	set_reg(63, 3);
	assert_int_equal(run(CODE(AX_OP_REG, BE16(5), END)), 0x1122334455667788ull);
	assert_int_equal(run(CODE(AX_OP_REG, BE16(63), AX_OP_REG, BE16(5),
				  AX_OP_ADD, END)), 0x112233445566778bull);
	/* a failing register: the callee's code and reason, the instruction */
	assert_int_equal(run_err(CODE(AX_OP_REG, BE16(6), END), &msg), -ENODATA);
	assert_has(msg, "reg 6 at 0");
	assert_has(msg, "register 6 unknown");
	free(msg);
	assert_int_equal(run_err(CODE(AX_OP_REG, BE16(0x1234), END), &msg),
			 -ENODATA);
	assert_has(msg, "reg 4660");
	free(msg);
}

static void test_tsv(void **state)
{
	char *msg;

	(void)state;
	F->tsv[1] = -5;
	F->tsv_known = 2;
	assert_int_equal(run(CODE(AX_OP_GETV, BE16(1), END)), (uint64_t)-5);
	/* setv leaves the value on the stack */
	assert_int_equal(run(CODE(C8(9), AX_OP_SETV, BE16(2), C8(1), AX_OP_ADD,
				  END)), 10);
	assert_int_equal(F->tsv[2], 9);
	assert_int_equal(run(CODE(AX_OP_GETV, BE16(2), AX_OP_GETV, BE16(1),
				  AX_OP_ADD, END)), 4);
	assert_int_equal(run_err(CODE(AX_OP_GETV, BE16(7), END), &msg), -ENOENT);
	assert_has(msg, "getv 7 at 0: no variable 7");
	free(msg);
}

/* ---- collection ---- */

static void test_collection_order(void **state)
{
	struct ax_result res;
	struct ax_expr *x;
	char *msg = NULL;
	const char s[] = "hello";

	(void)state;
	poke(0x1800, s, sizeof(s));
	F->tsv[3] = 1;
	F->tsv_known = 8;
	x = compile_ok(CODE(
		/* trace: addr size => ; */
		AX_OP_CONST16, BE16(0x1100), C8(16), AX_OP_TRACE,
		/* trace_quick 4: addr => addr */
		AX_OP_CONST16, BE16(0x1200), AX_OP_TRACE_QUICK, 4,
		/* trace16 0x1234: addr => addr */
		AX_OP_TRACE16, BE16(0x1234),
		AX_OP_POP,
		/* tracev 3 touches nothing on the stack */
		AX_OP_TRACEV, BE16(3),
		/* tracenz: up to and with the NUL, or size */
		AX_OP_CONST16, BE16(0x1800), C8(100), AX_OP_TRACENZ,
		AX_OP_CONST16, BE16(0x1800), C8(3), AX_OP_TRACENZ,
		C8(77), END));
	assert_int_equal(x->uses, AX_USES_COLLECT | AX_USES_MEM);
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_true(res.has_value);
	assert_int_equal(res.value, 77);
	assert_string_equal(F->log.buf,
			    "mem 0x1100 16;mem 0x1200 4;mem 0x1200 4660;tsv 3;"
			    "mem 0x1800 6;mem 0x1800 3;");
	ax_free(x);
}

static void test_tracenz_bounds(void **state)
{
	char *msg;
	int rc;

	(void)state;
	/* no NUL before readable memory ends */
	memset(F->low + LOW_SIZE - 64, 'x', 64);
	rc = run_err(CODE(AX_OP_CONST16, BE16(HOLE - 64), C8(200), AX_OP_TRACENZ,
			  C8(0), END), &msg);
	assert_int_equal(rc, -EFAULT);
	assert_has(msg, "tracenz at 5");
	assert_has(msg, "at 0x3000");
	free(msg);
	/* a string up to the hole, with its NUL just before it, is fine */
	F->low[LOW_SIZE - 1] = 0;
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(HOLE - 64), C8(200),
				  AX_OP_TRACENZ, C8(0), END)), 0);
	assert_string_equal(F->log.buf, "mem 0x2fc0 64;");
	/* an endless string is not scanned past the bound */
	F->reads = 0;
	rc = run_err(CODE(C64(ENDLESS_BASE), C64(1ull << 40), AX_OP_TRACENZ,
			  C8(0), END), &msg);
	assert_int_equal(rc, -E2BIG);
	assert_has(msg, "no NUL in the first 65536 bytes at 0x4000000000");
	free(msg);
	assert_int_equal(F->reads, AX_TRACENZ_MAX / 64);
	/* up to the bound, size bytes without a NUL are collected */
	strbuf_reset(&F->log);
	assert_int_equal(run(CODE(C64(ENDLESS_BASE), C64(AX_TRACENZ_MAX),
				  AX_OP_TRACENZ, C8(0), END)), 0);
	assert_string_equal(F->log.buf, "mem 0x4000000000 65536;");
}

static void test_callback_failures(void **state)
{
	char *msg;

	(void)state;
	assert_int_equal(run_err(CODE(C8(1), AX_OP_SETV, BE16(9), END), &msg),
			 -ENOENT);
	assert_has(msg, "setv 9 at 2: no variable 9");
	free(msg);
	assert_int_equal(run_err(CODE(C8(1), C64(1ull << 30), AX_OP_TRACE, C8(0),
				      END), &msg), -ENOSPC);
	assert_has(msg, "trace at 11: no room in the trace buffer");
	free(msg);
	assert_int_equal(run_err(CODE(AX_OP_CONST16, BE16(0xdead), AX_OP_TRACE16,
				      BE16(0xffff), END), &msg), -EACCES);
	assert_has(msg, "trace16 65535 at 3: address refused");
	free(msg);
	/* a callee without a reason: the module gives one */
	assert_int_equal(run_err(CODE(AX_OP_TRACEV, BE16(8), C8(0), END), &msg),
			 -ENOENT);
	assert_has(msg, "tracev 8 at 0: collection failed");
	free(msg);
	assert_int_equal(run_err(CODE(C64(ENDLESS_BASE), C64(1ull << 30),
				      AX_OP_TRACENZ, C8(0), END), &msg), -E2BIG);
	free(msg);
	F->fail_print = true;
	assert_int_equal(run_err(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(2), 'a',
				      0, END), &msg), -EPIPE);
	assert_has(msg, "printf 0 at 4: console closed");
	free(msg);
}

static void test_tracenz_across_pages(void **state)
{
	char s[40];

	(void)state;
	/* a string across a page boundary, read page by page */
	memset(s, 'p', sizeof(s));
	s[sizeof(s) - 1] = 0;
	poke(0x2000 - 20, s, sizeof(s));
	assert_int_equal(run(CODE(AX_OP_CONST16, BE16(0x2000 - 20), C8(100),
				  AX_OP_TRACENZ, C8(0), END)), 0);
	assert_string_equal(F->log.buf, "mem 0x1fec 40;");
	assert_int_equal(F->reads, 2);
}

/* ---- printf ---- */

/* A printf of fmt (a C string) with the given argument values (pushed in
 * reverse, as gdb does), through bytecode. */
static int printf_code(const char *fmt, const uint64_t *args, unsigned nargs,
		       uint8_t *code, size_t size)
{
	size_t n = 0, flen = strlen(fmt) + 1;
	unsigned i;

	for (i = nargs; i-- > 0;) {
		code[n++] = AX_OP_CONST64;
		for (int b = 7; b >= 0; b--)
			code[n++] = (uint8_t)(args[i] >> (8 * b));
	}
	code[n++] = AX_OP_CONST8;
	code[n++] = 0;
	code[n++] = AX_OP_CONST8;
	code[n++] = 0;
	code[n++] = AX_OP_PRINTF;
	code[n++] = (uint8_t)nargs;
	code[n++] = (uint8_t)(flen >> 8);
	code[n++] = (uint8_t)flen;
	assert_true(n + flen + 1 <= size);
	memcpy(code + n, fmt, flen);
	n += flen;
	code[n++] = AX_OP_END;
	return (int)n;
}

static void expect_printf(const char *fmt, const char *want, unsigned nargs,
			  ...)
{
	uint64_t args[32];
	uint8_t code[4096];
	struct ax_expr *x;
	char *msg = NULL;
	va_list ap;
	unsigned i;
	int n;

	va_start(ap, nargs);
	for (i = 0; i < nargs; i++)
		args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	n = printf_code(fmt, args, nargs, code, sizeof(code));
	x = compile_ok(code, (size_t)n);
	strbuf_reset(&F->printed);
	if (ax_eval(x, &F->env, NULL, &msg))
		fail_msg("printf \"%s\": %s", fmt, msg);
	if (F->printed.len != strlen(want) || memcmp(F->printed.buf, want, F->printed.len))
		fail_msg("printf \"%s\": got \"%s\", want \"%s\"", fmt,
			 F->printed.buf, want);
	ax_free(x);
}

/* Formats that must be refused when compiled. */
static void refused_printf(const char *fmt, unsigned nargs, int rc,
			   const char *has)
{
	uint64_t args[32] = { 0 };
	uint8_t code[4096];
	int n = printf_code(fmt, args, nargs, code, sizeof(code));

	refused(code, (size_t)n, rc, has);
}

#define U(v) (uint64_t)(v)

static void test_printf_integers(void **state)
{
	(void)state;
	expect_printf("plain text", "plain text", 0);
	expect_printf("%d|%i|%u", "-5|-5|4294967291", 3, U(-5), U(-5), U(-5));
	/* %d is an int: the value is cut to 32 bits */
	expect_printf("%d %u", "1 1", 2, U(0x100000001ull), U(0x100000001ull));
	expect_printf("%x %X %o", "ff FF 10", 3, U(255), U(255), U(8));
	expect_printf("%c%c%c", "abc", 3, U('a'), U(0x162), U('c'));
	expect_printf("|%5d|%-5d|%05x|", "|   42|42   |0002a|", 3, U(42), U(42),
		      U(42));
	expect_printf("%#x %#o %+d % d %.3d", "0x2a 010 +42  42 042", 5, U(42),
		      U(8), U(42), U(42), U(42));
	expect_printf("100%%", "100%", 0);
	expect_printf("%hd %hu", "-1 65535", 2, U(0xffff), U(-1));
	expect_printf("%ld %lu %lx", "-1 18446744073709551615 ffffffffffffffff",
		      3, U(-1), U(-1), U(-1));
	expect_printf("%lld %llu %llx", "-2 18446744073709551614 fffffffffffffffe",
		      3, U(-2), U(-2), U(-2));
	expect_printf("%zu %zx", "7 ffffffffffffffff", 2, U(7), U(-1));
	expect_printf("%I64d", "-3", 1, U(-3));
	expect_printf("%p %p", "0x1234 (nil)", 2, U(0x1234), U(0));
	expect_printf("[%18p][%-8p]", "[    0xffff88801234][(nil)   ]", 2,
		      U(0xffff88801234ull), U(0));
	/* C escapes as gdb sends them, unresolved */
	expect_printf("a\\tb\\n\\\"\\\\\\a\\e", "a\tb\n\"\\\a\x1b", 0);
	/* a %c of 0 is a NUL byte in the text */
	{
		uint64_t z = 0;
		uint8_t code[64];
		int n = printf_code("<%c>", &z, 1, code, sizeof(code));
		struct ax_expr *x = compile_ok(code, (size_t)n);

		strbuf_reset(&F->printed);
		assert_int_equal(ax_eval(x, &F->env, NULL, NULL), 0);
		assert_int_equal(F->printed.len, 3);
		assert_memory_equal(F->printed.buf, "<\0>", 3);
		ax_free(x);
	}
}

static void test_printf_guest_widths(void **state)
{
	(void)state;
	/* a 32-bit guest: long, size_t and pointers are 32 bits */
	F->env.long_bits = 32;
	F->env.ptr_bits = 32;
	expect_printf("%ld %lu %zu %p", "-1 4294967295 4294967295 0x89abcdef", 4,
		      U(0xffffffffull), U(-1), U(-1), U(0x1234567889abcdefull));
	expect_printf("%lld", "-1", 1, U(-1));
	expect_printf("%p", "(nil)", 1, U(0x100000000ull));
}

static void test_printf_strings(void **state)
{
	char long_str[AX_STRING_MAX + 100], want[AX_STRING_MAX + 10];
	char *msg;
	uint8_t code[128];
	uint64_t a;
	int n;

	(void)state;
	poke(0x1800, "guest", 6);
	expect_printf("[%s]", "[guest]", 1, U(0x1800));
	expect_printf("[%.3s][%8s][%-8s|]", "[gue][   guest][guest   |]", 3,
		      U(0x1800), U(0x1800), U(0x1800));
	expect_printf("%s", "(null)", 1, U(0));
	/* a string ending just before unreadable memory */
	poke(HOLE - 4, "end", 4);
	expect_printf("%s", "end", 1, U(HOLE - 4));
	/* precision: no NUL needed within it */
	poke(HOLE - 2, "xy", 2);
	expect_printf("%.2s", "xy", 1, U(HOLE - 2));
	/* too long: cut at AX_STRING_MAX with "..." */
	memset(long_str, 'q', sizeof(long_str));
	long_str[sizeof(long_str) - 1] = 0;
	poke(LOW_BASE, long_str, sizeof(long_str));
	memset(want, 'q', AX_STRING_MAX);
	strcpy(want + AX_STRING_MAX, "...");
	expect_printf("%s", want, 1, U(LOW_BASE));
	/* a string that cannot be read */
	a = HOLE - 2;
	F->low[LOW_SIZE - 2] = 'z';
	F->low[LOW_SIZE - 1] = 'z';
	n = printf_code("%s", &a, 1, code, sizeof(code));
	assert_int_equal(run_err(code, (size_t)n, &msg), -EFAULT);
	assert_has(msg, "printf 1 at");
	assert_has(msg, "at 0x3000");
	free(msg);
}

static void test_printf_refused(void **state)
{
	(void)state;
	refused_printf("%d %d", 1, -EINVAL, "takes 2 arguments, the bytecode gives 1");
	refused_printf("%d", 2, -EINVAL, "takes 1 argument, the bytecode gives 2");
	refused_printf("%f", 1, -EOPNOTSUPP, "floating point");
	refused_printf("%Lg", 1, -EOPNOTSUPP, "floating point");
	refused_printf("%n", 1, -EINVAL, "%n");
	refused_printf("%*d", 2, -EINVAL, "'*'");
	refused_printf("%.*d", 2, -EINVAL, "'*'");
	refused_printf("%l*d", 2, -EINVAL, "'*'");
	refused_printf("%lc", 1, -EOPNOTSUPP, "wide");
	refused_printf("%ls", 1, -EOPNOTSUPP, "wide");
	refused_printf("%hhd", 1, -EINVAL, "unknown conversion 'h'");
	refused_printf("%jd", 1, -EINVAL, "unknown conversion 'j'");
	refused_printf("%q", 1, -EINVAL, "unknown conversion 'q'");
	refused_printf("%+u", 1, -EINVAL, "modifiers");
	refused_printf("%#u", 1, -EINVAL, "modifiers");
	refused_printf("%05c", 1, -EINVAL, "modifiers");
	refused_printf("%.2c", 1, -EINVAL, "modifiers");
	refused_printf("%.2p", 1, -EINVAL, "modifiers");
	refused_printf("%lp", 1, -EINVAL, "modifiers");
	refused_printf("%05s", 1, -EINVAL, "modifiers");
	refused_printf("%Ld", 1, -EINVAL, "modifiers");
	refused_printf("%2000d", 1, -E2BIG, "field width beyond 1024");
	refused_printf("%.2000d", 1, -E2BIG, "precision beyond 1024");
	refused_printf("abc%", 1, -EINVAL, "incomplete");
	refused_printf("abc%l", 1, -EINVAL, "incomplete");
	refused_printf("\\q", 0, -EINVAL, "unknown escape '\\q'");
	refused_printf("\\101", 0, -EINVAL, "unknown escape '\\1'");
	refused_printf("ab\\", 0, -EINVAL, "'\\' at the end");
	/* the format's length must include a final NUL, and no other */
	refused(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(2), 'a', 'b', END),
		-EINVAL, "does not end with a NUL");
	refused(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(0), END),
		-EINVAL, "does not end with a NUL");
	refused(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(3), 'a', 0, 0, END),
		-EINVAL, "a NUL byte at 1");
	/* the format runs past the code */
	refused(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(9), 'a', 0, END),
		-EINVAL, "printf at 4 runs past the end");
	/* printf takes function, channel and its arguments */
	refused(CODE(C8(0), AX_OP_PRINTF, 0, BE16(2), 'a', 0, END),
		-EINVAL, "printf takes 2 values, the stack holds 1");
	refused(CODE(C8(0), C8(0), AX_OP_PRINTF, 1, BE16(3), '%', 'd', 0, END),
		-EINVAL, "printf takes 3 values, the stack holds 2");
}

static void test_printf_output_bound(void **state)
{
	static char fmt[250 * 6 + 1];
	uint64_t args[250] = { 0 };
	uint8_t *code = xmalloc(8192);
	struct ax_expr *x;
	char *msg = NULL;
	unsigned i;
	int n;

	(void)state;
	/* 250 fields of 1000 characters: more than AX_PRINTF_MAX */
	for (i = 0; i < 250; i++)
		memcpy(fmt + 6 * i, "%1000d", 6);
	n = printf_code(fmt, args, 250, code, 8192);
	x = compile_ok(code, (size_t)n);
	assert_int_equal(ax_eval(x, &F->env, NULL, &msg), -E2BIG);
	assert_has(msg, "more than 65536 bytes printed");
	assert_int_equal(F->prints, 0);
	free(msg);
	ax_free(x);
	free(code);
}

static void test_budgets_of_loops(void **state)
{
	uint8_t *code = xmalloc(2048);
	struct ax_result res;
	struct ax_expr *x;
	char *msg = NULL;
	size_t n = 0;

	(void)state;
	/* 0: const8 0; 2: const8 0; 4: printf 0 "<1000 x>"; goto 0: each
	 * turn prints 1000 bytes, and the 66th would pass AX_PRINTF_MAX */
	code[n++] = AX_OP_CONST8;
	code[n++] = 0;
	code[n++] = AX_OP_CONST8;
	code[n++] = 0;
	code[n++] = AX_OP_PRINTF;
	code[n++] = 0;
	code[n++] = 1001 >> 8;
	code[n++] = 1001 & 0xff;
	memset(code + n, 'x', 1000);
	n += 1000;
	code[n++] = 0;
	code[n++] = AX_OP_GOTO;
	code[n++] = 0;
	code[n++] = 0;
	x = compile_ok(code, n);
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), -E2BIG);
	assert_has(msg, "more than 65536 bytes printed in one evaluation");
	assert_int_equal(F->prints, 65);
	assert_int_equal(F->printed.len, 65000);
	free(msg);
	msg = NULL;
	ax_free(x);
	/* tracenz of 64 KiB in a loop: stopped by AX_READ_MAX, not by the
	 * steps (16 turns of 4 instructions) */
	x = compile_ok(CODE(C64(ENDLESS_BASE), C64(AX_TRACENZ_MAX), AX_OP_TRACENZ,
			    AX_OP_GOTO, BE16(0)));
	F->reads = 0;
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), -E2BIG);
	assert_has(msg, "more than 1048576 bytes of guest memory read");
	assert_int_equal(F->reads, AX_READ_MAX / 64);
	assert_int_equal(res.steps, 4 * 17 - 1);
	free(msg);
	ax_free(x);
	free(code);
}

/* ---- bounds ---- */

static void test_step_bound(void **state)
{
	struct ax_result res;
	struct ax_expr *x;
	char *msg = NULL;

	(void)state;
	/* an endless loop */
	x = compile_ok(CODE(AX_OP_GOTO, BE16(0)));
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), -ELOOP);
	assert_int_equal(res.steps, AX_STEPS_DEFAULT);
	assert_has(msg, "gave up after 100000 steps at 0 (goto)");
	free(msg);
	msg = NULL;
	ax_free(x);
	/* an endless loop that reads memory at each turn */
	x = compile_ok(CODE(AX_OP_CONST16, BE16(0x1000), AX_OP_REF8, AX_OP_POP,
			    AX_OP_GOTO, BE16(0)));
	F->env.max_steps = 1000;
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), -ELOOP);
	assert_int_equal(res.steps, 1000);
	assert_int_equal(F->reads, 250);
	free(msg);
	msg = NULL;
	ax_free(x);
	/* exactly the bound is fine, one more is not */
	F->env.max_steps = 4;
	x = compile_ok(CODE(C8(1), C8(2), AX_OP_ADD, END));
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_int_equal(res.steps, 4);
	ax_free(x);
	x = compile_ok(CODE(C8(1), C8(2), AX_OP_ADD, AX_OP_LOG_NOT, END));
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), -ELOOP);
	free(msg);
	ax_free(x);
}

static void test_stack_bound(void **state)
{
	uint8_t code[2 * (AX_STACK_MAX + 1) + 1];
	struct ax_expr *x;
	unsigned i;

	(void)state;
	for (i = 0; i <= AX_STACK_MAX; i++) {
		code[2 * i] = AX_OP_CONST8;
		code[2 * i + 1] = (uint8_t)i;
	}
	/* AX_STACK_MAX values: fine */
	code[2 * AX_STACK_MAX] = AX_OP_END;
	x = compile_ok(code, 2 * AX_STACK_MAX + 1);
	assert_int_equal(x->max_depth, AX_STACK_MAX);
	assert_int_equal(ax_eval(x, &F->env, NULL, NULL), 0);
	ax_free(x);
	/* one more: refused before it runs */
	code[2 * AX_STACK_MAX] = AX_OP_CONST8;
	code[2 * AX_STACK_MAX + 2] = AX_OP_END;
	refused(code, sizeof(code), -E2BIG, "stack overflow at 512: const8 would make it 257 values deep (bound 256)");
	/* dup in a loop grows the stack at each turn: refused, as the
	 * paths into the loop disagree on the depth */
	refused(CODE(C8(1), AX_OP_DUP, AX_OP_GOTO, BE16(2)), -EINVAL,
		"paths meet at 2 with different stack depths (1 and 2)");
}

/* ---- malformed bytecode ---- */

static void test_malformed(void **state)
{
	uint8_t *big;

	(void)state;
	refused(NULL, 0, -EINVAL, "empty");
	big = xcalloc(AX_CODE_MAX + 1, 1);
	refused(big, AX_CODE_MAX + 1, -E2BIG, "longer than 65535");
	free(big);
	/* opcodes gdb does not define */
	refused(CODE(0x00), -EINVAL, "bad opcode 0x00 at 0");
	refused(CODE(C8(1), 0x31, END), -EINVAL, "bad opcode 0x31 at 2");
	refused(CODE(C8(1), END, 0x35), -EINVAL, "bad opcode 0x35 at 3");
	refused(CODE(C8(1), END, 0xff), -EINVAL, "bad opcode 0xff at 3");
	/* floating point: defined, not supported (as gdbserver) */
	refused(CODE(AX_OP_FLOAT, END), -EOPNOTSUPP, "float (0x01) at 0");
	refused(CODE(C8(1), AX_OP_REF_FLOAT, END), -EOPNOTSUPP, "ref_float");
	refused(CODE(C8(1), AX_OP_REF_DOUBLE, END), -EOPNOTSUPP, "ref_double");
	refused(CODE(C8(1), AX_OP_REF_LONG_DOUBLE, END), -EOPNOTSUPP,
		"ref_long_double");
	refused(CODE(C8(1), AX_OP_L_TO_D, END), -EOPNOTSUPP, "l_to_d");
	refused(CODE(C8(1), AX_OP_D_TO_L, END), -EOPNOTSUPP, "d_to_l");
	/* truncated instructions */
	refused(CODE(AX_OP_CONST32, 1, 2), -EINVAL,
		"const32 at 0 runs past the end of the code (3 bytes)");
	refused(CODE(C8(1), AX_OP_CONST64, 1, 2, 3, 4, 5, 6, 7), -EINVAL,
		"const64 at 2 runs past");
	refused(CODE(C8(1), AX_OP_IF_GOTO, 0), -EINVAL, "if_goto at 2 runs past");
	refused(CODE(AX_OP_REG, 0), -EINVAL, "reg at 0 runs past");
	refused(CODE(C8(1), AX_OP_EXT), -EINVAL, "ext at 2 runs past");
	refused(CODE(AX_OP_CONST8), -EINVAL, "const8 at 0 runs past");
	/* jumps outside the code or into an instruction */
	refused(CODE(AX_OP_GOTO, BE16(4), END), -EINVAL,
		"goto at 0 jumps to 4, outside the code (4 bytes)");
	refused(CODE(C8(1), AX_OP_IF_GOTO, BE16(0xffff), END), -EINVAL,
		"if_goto at 2 jumps to 65535, outside");
	refused(CODE(AX_OP_GOTO, BE16(4), AX_OP_CONST16, 0, AX_OP_END, END),
		-EINVAL, "goto at 0 jumps to 4, inside an instruction");
	refused(CODE(C8(1), AX_OP_IF_GOTO, BE16(1), END), -EINVAL,
		"jumps to 1, inside an instruction");
	/* a jump into a printf's format */
	refused(CODE(AX_OP_GOTO, BE16(10), C8(0), C8(0), AX_OP_PRINTF, 0, BE16(2),
		     END, 0, END), -EINVAL, "jumps to 10, inside an instruction");
	/* stack underflow */
	refused(CODE(AX_OP_ADD, END), -EINVAL,
		"stack underflow at 0: add takes 2 values, the stack holds 0");
	refused(CODE(C8(1), AX_OP_SUB, END), -EINVAL, "sub takes 2 values, the stack holds 1");
	refused(CODE(AX_OP_POP, END), -EINVAL, "pop takes 1 value,");
	refused(CODE(AX_OP_DUP, END), -EINVAL, "dup takes 1 value,");
	refused(CODE(C8(1), AX_OP_SWAP, END), -EINVAL, "swap takes 2");
	refused(CODE(C8(1), C8(2), AX_OP_ROT, END), -EINVAL, "rot takes 3");
	refused(CODE(C8(1), AX_OP_PICK, 1, END), -EINVAL, "pick takes 2 values, the stack holds 1");
	refused(CODE(AX_OP_IF_GOTO, BE16(3), END), -EINVAL, "if_goto takes 1");
	refused(CODE(AX_OP_REF8, END), -EINVAL, "ref8 takes 1");
	refused(CODE(AX_OP_SETV, BE16(0), END), -EINVAL, "setv takes 1");
	refused(CODE(C8(1), AX_OP_TRACE, END), -EINVAL, "trace takes 2");
	refused(CODE(C8(1), AX_OP_TRACENZ, END), -EINVAL, "tracenz takes 2");
	refused(CODE(AX_OP_TRACE_QUICK, 4, END), -EINVAL, "trace_quick takes 1");
	/* underflow after a jump */
	refused(CODE(C8(1), AX_OP_IF_GOTO, BE16(6), END, AX_OP_ADD, END), -EINVAL,
		"stack underflow at 6");
	/* no end */
	refused(CODE(C8(1)), -EINVAL, "no end: const8 at 0 is the last instruction");
	refused(CODE(C8(1), C8(2), AX_OP_ADD), -EINVAL, "no end: add at 4");
	/* if_goto may fall through: it needs an end after it too */
	refused(CODE(C8(1), AX_OP_IF_GOTO, BE16(0)), -EINVAL, "no end: if_goto at 2");
	/* ext 0 has no sign bit */
	refused(CODE(C8(1), AX_OP_EXT, 0, END), -EINVAL, "ext 0 at 2");
	/* paths that meet with different depths */
	refused(CODE(C8(1), AX_OP_IF_GOTO, BE16(7), C8(2), C8(3), C8(4), END),
		-EINVAL, "paths meet at 7 with different stack depths");
}

static void test_unreachable_code_checked(void **state)
{
	struct ax_expr *x;

	(void)state;
	/* after end, bytes must still be instructions */
	refused(CODE(C8(1), END, 0x00), -EINVAL, "bad opcode 0x00 at 3");
	/* but an unreachable instruction needs no stack */
	x = compile_ok(CODE(C8(1), END, AX_OP_ADD, END));
	assert_true(x->gives_value);
	assert_int_equal(x->max_depth, 1);
	ax_free(x);
}

static void test_what_it_uses(void **state)
{
	struct ax_expr *x;

	(void)state;
	x = compile_ok(CODE(AX_OP_REG, BE16(1), C8(1), AX_OP_EQUAL, END));
	assert_int_equal(x->uses, AX_USES_REG);
	assert_true(x->gives_value);
	ax_free(x);
	x = compile_ok(CODE(C8(1), AX_OP_REF32, AX_OP_GETV, BE16(0), AX_OP_SETV,
			    BE16(1), END));
	assert_int_equal(x->uses, AX_USES_MEM | AX_USES_GETV | AX_USES_SETV);
	ax_free(x);
	x = compile_ok(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(2), 'a', 0, END));
	assert_int_equal(x->uses, AX_USES_PRINTF);
	assert_false(x->gives_value);
	ax_free(x);
	x = compile_ok(CODE(C8(0), C8(0), C8(0), AX_OP_PRINTF, 1, BE16(3), '%',
			    's', 0, END));
	assert_int_equal(x->uses, AX_USES_PRINTF | AX_USES_MEM);
	ax_free(x);
	/* a value on one path only */
	x = compile_ok(CODE(C8(1), AX_OP_IF_GOTO, BE16(8), C8(2), END, END));
	assert_false(x->gives_value);
	ax_free(x);
}

static void test_missing_callbacks(void **state)
{
	static const struct ax_env_ops none;
	struct ax_env env = { .ops = &none };
	struct ax_result res;
	struct ax_expr *x;
	char *msg = NULL;

	(void)state;
	x = compile_ok(CODE(AX_OP_REG, BE16(0), END));
	assert_int_equal(ax_eval(x, &env, &res, &msg), -EOPNOTSUPP);
	assert_has(msg, "reg 0 at 0: register is not available here");
	free(msg);
	ax_free(x);
	/* no environment at all: constants still work */
	x = compile_ok(CODE(C8(2), C8(3), AX_OP_MUL, END));
	assert_int_equal(ax_eval(x, NULL, &res, NULL), 0);
	assert_int_equal(res.value, 6);
	ax_free(x);
	x = compile_ok(CODE(C8(1), AX_OP_REF8, END));
	assert_int_equal(ax_eval(x, NULL, &res, &msg), -EOPNOTSUPP);
	assert_has(msg, "guest memory is not available here");
	free(msg);
	ax_free(x);
}

static void test_disassemble(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct ax_expr *x;

	(void)state;
	x = compile_ok(CODE(AX_OP_REG, BE16(29), AX_OP_EXT, 64, AX_OP_CONST16,
			    BE16(0x1234), AX_OP_EQUAL, AX_OP_IF_GOTO, BE16(17),
			    C8(0), AX_OP_GOTO, BE16(19), C8(1), END));
	ax_disassemble(x, &sb);
	assert_string_equal(sb.buf, "reg 29; ext 64; const16 0x1234; equal; "
			    "if_goto 17; const8 0x0; goto 19; const8 0x1; end");
	ax_free(x);
	strbuf_reset(&sb);
	x = compile_ok(CODE(C8(0), C8(0), AX_OP_PRINTF, 0, BE16(5), 'a', '\t', '"',
			    'b', 0, END));
	ax_disassemble(x, &sb);
	assert_string_equal(sb.buf, "const8 0x0; const8 0x0; printf 0 \"a\\x09\"b\"; end");
	ax_free(x);
	strbuf_release(&sb);
	assert_string_equal(ax_op_name(AX_OP_ROT), "rot");
	assert_null(ax_op_name(0x31));
	assert_null(ax_op_name(0x99));
}

/* ---- Z packet options ---- */

static void options_ok(const char *s, size_t nconds, size_t ncmds,
		       bool persist, struct ax_point_options *o)
{
	char *msg = NULL;
	int rc = ax_parse_point_options(s, strlen(s), o, &msg);

	if (rc)
		fail_msg("\"%s\": %d %s", s, rc, msg);
	assert_int_equal(o->nconds, nconds);
	assert_int_equal(o->ncmds, ncmds);
	assert_int_equal(o->persist, persist);
}

static void options_refused(const char *s, int rc, const char *has)
{
	struct ax_point_options o;
	char *msg = NULL;
	int got;

	memset(&o, 0x55, sizeof(o));
	got = ax_parse_point_options(s, strlen(s), &o, &msg);
	if (got != rc || !msg || !strstr(msg, has))
		fail_msg("\"%s\": expected %d \"%s\", got %d \"%s\"", s, rc, has,
			 got, msg ? msg : "(none)");
	/* nothing kept */
	assert_null(o.conds);
	assert_null(o.cmds);
	assert_int_equal(o.nconds + o.ncmds, 0);
	free(msg);
}

static void test_point_options(void **state)
{
	struct ax_point_options o;
	struct ax_result res;

	(void)state;
	options_ok("", 0, 0, false, &o);
	ax_point_options_release(&o);
	options_ok(";X3,220127", 1, 0, false, &o);
	assert_int_equal(ax_eval(o.conds[0], &F->env, &res, NULL), 0);
	assert_int_equal(res.value, 1);
	ax_point_options_release(&o);
	/* several conditions: one after another (gdb 13) or with ';' */
	options_ok(";X3,220127X3,220227X3,220327", 3, 0, false, &o);
	assert_int_equal(ax_eval(o.conds[2], &F->env, &res, NULL), 0);
	assert_int_equal(res.value, 3);
	ax_point_options_release(&o);
	options_ok(";X3,220127;X3,220227", 2, 0, false, &o);
	ax_point_options_release(&o);
	/* upper case and leading zeros, as in tracepoint packets */
	options_ok(";X0003,22FF27", 1, 0, false, &o);
	assert_int_equal(ax_eval(o.conds[0], &F->env, &res, NULL), 0);
	assert_int_equal(res.value, 0xff);
	ax_point_options_release(&o);
}

static void test_point_options_commands(void **state)
{
	struct ax_point_options o;

	(void)state;
	/* printf "" is: const8 0; const8 0; printf 0 len 1 ""; end */
	options_ok(";cmds:0,Xa,220022003400000100" "27", 0, 1, false, &o);
	ax_point_options_release(&o);
	options_ok(";X3,220127;cmds:1,Xa,22002200340000010027Xa,22002200340000010027",
		   1, 2, true, &o);
	ax_point_options_release(&o);
}

static void test_point_options_refused(void **state)
{
	char many[AX_POINT_EXPRS_MAX * 10 + 16];
	size_t i, n;

	(void)state;
	options_refused("X3,220127", -EINVAL, "unexpected breakpoint option 'X3,220127'");
	options_refused(";", -EINVAL, "empty breakpoint option");
	options_refused(";Y", -EINVAL, "unexpected breakpoint option 'Y'");
	options_refused(";X3,2201", -EINVAL, "condition 1: agent expression of 3 bytes has only 4 hex digits");
	options_refused(";X3,22zz27", -EINVAL, "condition 1: agent expression: 'zz' at byte 1 is not hex");
	options_refused(";X0,", -EINVAL, "condition 1: empty agent expression");
	options_refused(";X,", -EINVAL, "must start with 'X<length>,'");
	options_refused(";X3;220127", -EINVAL, "must start with 'X<length>,'");
	options_refused(";X123456789,00", -E2BIG, "longer than 65535");
	options_refused(";X10000,00", -E2BIG, "longer than 65535");
	options_refused(";X3,220127X2,2227", -EINVAL,
			"condition 2: bytecode: no end: const8 at 0");
	options_refused(";X3,220127junk", -EINVAL, "unexpected breakpoint option 'junk'");
	options_refused(";X3,220127;", -EINVAL, "unexpected breakpoint option ';'");
	options_refused(";X2,0127", -EOPNOTSUPP, "condition 1: bytecode: float (0x01) at 0");
	options_refused(";cmds:2,X3,220127", -EINVAL, "unexpected breakpoint option 'cmds:2,X3,220127'");
	options_refused(";cmds:1", -EINVAL, "unexpected breakpoint option 'cmds:1'");
	options_refused(";cmds:1,", -EINVAL, "breakpoint commands: no expression");
	options_refused(";cmds:1,X3,220127;X3,220127", -EINVAL,
			"unexpected breakpoint option ';X3,220127'");
	options_refused(";cmds:1,X1,31", -EINVAL, "command 1: bytecode: bad opcode 0x31");
	options_refused(";cmds:0,X3,220127;cmds:0,X3,220127", -EINVAL,
			"unexpected breakpoint option ';cmds:0");
	/* a bad printf in a command */
	options_refused(";cmds:1,Xc,2200220034010003256400" "27", -EINVAL,
			"command 1: bytecode: stack underflow");
	/* more expressions than the bound */
	n = 0;
	many[n++] = ';';
	for (i = 0; i <= AX_POINT_EXPRS_MAX; i++) {
		memcpy(many + n, "X3,220127", 9);
		n += 9;
	}
	many[n] = 0;
	options_refused(many, -E2BIG, "more than 256 conditions");
}

static void test_conditions(void **state)
{
	struct ax_expr *t = compile_ok(CODE(C8(1), END));
	struct ax_expr *f = compile_ok(CODE(C8(0), END));
	struct ax_expr *bad = compile_ok(CODE(AX_OP_CONST16, BE16(HOLE), AX_OP_REF8,
					      END));
	struct ax_expr *none = compile_ok(CODE(END));
	struct ax_expr *list[3];
	char *msg = NULL;
	bool stop;

	(void)state;
	/* no condition: always stop */
	assert_int_equal(ax_eval_conditions(NULL, 0, &F->env, &stop, &msg), 0);
	assert_true(stop);
	list[0] = f;
	list[1] = f;
	assert_int_equal(ax_eval_conditions(list, 2, &F->env, &stop, &msg), 0);
	assert_false(stop);
	/* any true one stops; later ones are not evaluated */
	list[1] = t;
	list[2] = bad;
	assert_int_equal(ax_eval_conditions(list, 3, &F->env, &stop, &msg), 0);
	assert_true(stop);
	assert_int_equal(F->reads, 0);
	/* one that fails stops too, with its reason */
	list[1] = bad;
	stop = false;
	assert_int_equal(ax_eval_conditions(list, 2, &F->env, &stop, &msg), -EFAULT);
	assert_true(stop);
	assert_has(msg, "at 0x3000");
	free(msg);
	msg = NULL;
	/* one that leaves no value */
	list[1] = none;
	stop = false;
	assert_int_equal(ax_eval_conditions(list, 2, &F->env, &stop, &msg), -ENODATA);
	assert_true(stop);
	assert_has(msg, "condition 1 left no value");
	free(msg);
	ax_free(t);
	ax_free(f);
	ax_free(bad);
	ax_free(none);
}

/* ---- what gdb 13 really sends ----
 *
 * Every packet below was recorded from GNU gdb (Debian 13.1-3) 13.1 with
 * `python3 tests/tools/gdb-agent-bytecode.py` (and --bits 32, --trace, or
 * the command as argument): gdb talks to a fake stub that serves the target
 * description xenstub serves (x86_tdesc_xml) and offers
 * ConditionalBreakpoints+ and BreakpointCommands+; the commands were run
 * after "set breakpoint condition-evaluation target", "set breakpoint
 * always-inserted on" and "set dprintf-style agent".
 */

/* An environment over a real register file and xenstub's layouts. */
struct x86_env {
	struct ax_env env;
	struct x86_regs regs;
	const struct x86_gdb_layout *layout;
	struct fake *mem;
};

static int x_read_reg(struct ax_env *env, unsigned regno, uint64_t *val,
		      char **msg)
{
	struct x86_env *e = container_of(env, struct x86_env, env);

	return ax_x86_read_reg(&e->regs, e->layout, regno, val, msg);
}

static int x_read_mem(struct ax_env *env, uint64_t addr, void *buf,
		      size_t len, char **msg)
{
	struct x86_env *e = container_of(env, struct x86_env, env);

	return f_read_mem(&e->mem->env, addr, buf, len, msg);
}

static int x_print(struct ax_env *env, const char *text, size_t len,
		   char **msg)
{
	struct x86_env *e = container_of(env, struct x86_env, env);

	return f_print(&e->mem->env, text, len, msg);
}

static int x_collect_mem(struct ax_env *env, uint64_t addr, uint64_t len,
			 char **msg)
{
	struct x86_env *e = container_of(env, struct x86_env, env);

	return f_collect_mem(&e->mem->env, addr, len, msg);
}

static const struct ax_env_ops x86_ops = {
	.read_reg = x_read_reg,
	.read_mem = x_read_mem,
	.print = x_print,
	.collect_mem = x_collect_mem,
};

static struct x86_env *x86_env_new(unsigned bits)
{
	struct x86_env *e = xcalloc(1, sizeof(*e));

	e->env.ops = &x86_ops;
	e->env.long_bits = bits;
	e->env.ptr_bits = bits;
	e->layout = x86_gdb_layout(bits);
	e->mem = F;
	x86_set_valid_range(&e->regs, XF_GPR0, XF_EFER);
	return e;
}

/* Parses the options of a recorded Z packet (after "Zt,addr,kind"). */
static void packet(const char *z, struct ax_point_options *o)
{
	const char *opts = strchr(z, ';');
	char *msg = NULL;

	assert_non_null(opts);
	if (ax_parse_point_options(opts, strlen(opts), o, &msg))
		fail_msg("%s: %s", z, msg);
}

/* Evaluates the conditions of o: does the breakpoint stop? */
static bool stops(struct ax_point_options *o, struct x86_env *e)
{
	char *msg = NULL;
	bool stop;

	if (ax_eval_conditions(o->conds, o->nconds, &e->env, &stop, &msg))
		fail_msg("conditions: %s", msg);
	return stop;
}

static void test_gdb13_register_conditions(void **state)
{
	struct x86_env *e = x86_env_new(64);
	struct ax_point_options o;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	/* break *0xffffffff81000100 if $rdi == 3: rdi is register 5 */
	packet("Z0,ffffffff81000100,1;X9,260005164022031327", &o);
	ax_disassemble(o.conds[0], &sb);
	assert_string_equal(sb.buf, "reg 5; ext 64; const8 0x3; equal; end");
	e->regs.gpr[X86_RDI] = 3;
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RDI] = 0x100000003ull;
	assert_false(stops(&o, e));
	ax_point_options_release(&o);

	/* break *0xffffffff81000300 if $cr3 == 0x1234: cr3 is register 29,
	 * its row in xenstub's 64-bit layout */
	packet("Z0,ffffffff81000300,1;Xa,26001d16402312341327", &o);
	strbuf_reset(&sb);
	ax_disassemble(o.conds[0], &sb);
	assert_string_equal(sb.buf, "reg 29; ext 64; const16 0x1234; equal; end");
	assert_string_equal(e->layout->regs[29].name, "cr3");
	e->regs.cr3 = 0x1234;
	assert_true(stops(&o, e));
	e->regs.cr3 = 0x2234;
	assert_false(stops(&o, e));
	/* cr3 unknown: the condition fails, so the stop goes to gdb */
	x86_clear_valid(&e->regs, XF_CR3);
	{
		char *msg = NULL;
		bool stop = false;

		assert_int_equal(ax_eval_conditions(o.conds, 1, &e->env, &stop,
						    &msg), -ENODATA);
		assert_true(stop);
		assert_has(msg, "reg 29 at 0: register 29 (cr3) is not known");
		free(msg);
	}
	x86_set_valid(&e->regs, XF_CR3);
	ax_point_options_release(&o);

	/* (char)$rax == -1: reg 0; ext 64; ext 8; const8 0xff; ext 8; equal */
	packet("Z0,ffffffff81000500,1;Xd,2600001640160822ff16081327", &o);
	e->regs.gpr[X86_RAX] = 0x12ff;
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RAX] = 0xfe;
	assert_false(stops(&o, e));
	ax_point_options_release(&o);

	/* $rdi == 1 || $rdi > 40: if_goto, goto, swap and less_signed */
	packet("Z0,ffffffff81000700,1;X1f,260005164022011320001c260005164022282b"
	       "1420001c220021001e220127", &o);
	e->regs.gpr[X86_RDI] = 1;
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RDI] = 40;
	assert_false(stops(&o, e));
	e->regs.gpr[X86_RDI] = 41;
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RDI] = (uint64_t)-5;	/* signed: -5 > 40 is false */
	assert_false(stops(&o, e));
	ax_point_options_release(&o);

	/* $rdi / 4 % 3 */
	packet("Z0,ffffffff81000800,1;X10,26000516402204051640220307164027", &o);
	e->regs.gpr[X86_RDI] = 12;	/* 3 % 3 */
	assert_false(stops(&o, e));
	e->regs.gpr[X86_RDI] = 16;	/* 4 % 3 */
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RDI] = (uint64_t)-16;	/* -4 % 3 = -1 */
	assert_true(stops(&o, e));
	ax_point_options_release(&o);

	/* $rsp < 0x1000: a data_ptr register gets zero_ext 64 and an
	 * unsigned comparison */
	packet("Z0,1000,1;Xa,2600072a402310001527", &o);
	e->regs.gpr[X86_RSP] = 0xfff;
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RSP] = (uint64_t)-8;
	assert_false(stops(&o, e));
	ax_point_options_release(&o);

	/* hbreak *0xffffffff81000900 if $rdx == 7: Z1, same form */
	packet("Z1,ffffffff81000900,1;X9,260003164022071327", &o);
	e->regs.gpr[X86_RDX] = 7;
	assert_true(stops(&o, e));
	ax_point_options_release(&o);

	/* two breakpoints at one address ($rdi == 3 and $rax == 9): both
	 * conditions, one after the other behind one ';' */
	packet("Z0,ffffffff81000100,1;X9,260005164022031327X9,260000164022091327",
	       &o);
	assert_int_equal(o.nconds, 2);
	e->regs.gpr[X86_RDI] = 0;
	e->regs.gpr[X86_RAX] = 9;
	assert_true(stops(&o, e));
	e->regs.gpr[X86_RAX] = 8;
	assert_false(stops(&o, e));
	ax_point_options_release(&o);

	strbuf_release(&sb);
	free(e);
}

static void test_gdb13_memory_conditions(void **state)
{
	struct x86_env *e = x86_env_new(64);
	struct ax_point_options o;
	int32_t v;
	uint16_t h;

	(void)state;
	/* *(int*)0xffffffff82000000 > 5: the address is const32 0x82000000
	 * sign-extended by ext 32, then ref32, ext 32, swap, less_signed */
	packet("Z0,ffffffff81000200,1;Xf,2482000000162019162022052b1427", &o);
	v = 6;
	memcpy(F->high, &v, 4);
	assert_true(stops(&o, e));
	v = 5;
	memcpy(F->high, &v, 4);
	assert_false(stops(&o, e));
	v = -7;
	memcpy(F->high, &v, 4);
	assert_false(stops(&o, e));
	ax_point_options_release(&o);

	/* *(unsigned short*)($rsi + 8) >= 0x8000: ref16 without ext,
	 * less_signed then log_not */
	packet("Z0,ffffffff81000600,1;X13,26000416402208021640182400008000140e27",
	       &o);
	e->regs.gpr[X86_RSI] = 0x1400;
	h = 0x8000;
	poke(0x1408, &h, 2);
	assert_true(stops(&o, e));
	h = 0x7fff;
	poke(0x1408, &h, 2);
	assert_false(stops(&o, e));
	/* an unreadable pointer: stop, and say where */
	e->regs.gpr[X86_RSI] = HOLE;
	{
		char *msg = NULL;
		bool stop = false;

		assert_int_equal(ax_eval_conditions(o.conds, 1, &e->env, &stop,
						    &msg), -EFAULT);
		assert_true(stop);
		assert_has(msg, "ref16 at 10: cannot read 2 bytes at 0x3008: not mapped");
		free(msg);
	}
	ax_point_options_release(&o);
	free(e);
}

static void test_gdb13_dprintf(void **state)
{
	struct x86_env *e = x86_env_new(64);
	struct ax_point_options o;
	struct ax_result res;
	char *msg = NULL;

	(void)state;
	/* dprintf *0xffffffff81000a00,"rdi=%d rsi=%lx s=%s c=%c\n", $rdi,
	 * $rsi, (char*)$rdx, 65: the arguments pushed last first, then
	 * channel 0 and function 0, printf 4 with the format as typed
	 * ("\n" is two characters), end; persist is 1 */
	packet("Z0,ffffffff81000a00,1;cmds:1,X35,224126000316402600041640260005"
	       "1640220022003404001b7264693d2564207273693d256c7820733d257320633d"
	       "25635c6e0027", &o);
	assert_int_equal(o.nconds, 0);
	assert_int_equal(o.ncmds, 1);
	assert_true(o.persist);
	assert_int_equal(o.cmds[0]->uses, AX_USES_REG | AX_USES_PRINTF | AX_USES_MEM);
	assert_false(o.cmds[0]->gives_value);
	poke(0x1800, "task", 5);
	e->regs.gpr[X86_RDI] = (uint64_t)-2;
	e->regs.gpr[X86_RSI] = 0xffff888012345678ull;
	e->regs.gpr[X86_RDX] = 0x1800;
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &e->env, &res, &msg), 0);
	assert_false(res.has_value);
	assert_string_equal(F->printed.buf, "rdi=-2 rsi=ffff888012345678 s=task c=A\n");
	ax_point_options_release(&o);

	/* every integer conversion gdb accepts, a pointer, strings */
	packet("Z0,1000,1;cmds:1,Xa0,2200232000220722ff160822ff160822ff160822ff16"
	       "08231234222a222a2208222a222a222a222a224222082300ff2300ff22fb1608"
	       "22fb1608220022003415005d256920257520257820255820256f2025637c2535"
	       "647c252d35647c253035787c2523787c25236f7c252b647c2520647c25257c25"
	       "707c256c6420256c6c6420256c7520256c6c7820257a757c252e33737c25735c"
	       "745c22715c225c6e0027", &o);
	poke(0x2000, "abcdef", 7);
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &e->env, &res, &msg), 0);
	assert_string_equal(F->printed.buf,
			    "-5 4294967291 ff FF 10 B|   42|42   |0002a|0x2a|010|+42| 42|%|"
			    "0x1234|-1 -1 18446744073709551615 ffffffffffffffff 7|abc|"
			    "(null)\t\"q\"\n");
	ax_point_options_release(&o);

	/* dprintf *0x5000,"%d %d\n", *(int*)0x6000, *(short*)0x6008:
	 * ref32/ref16 then ext */
	packet("Z0,5000,1;cmds:1,X1d,2360081816102360001916202200220034020008256420"
	       "25645c6e0027", &o);
	{
		int32_t i = -70000;
		int16_t s = -3;

		poke(0x6000, &i, 4);
		poke(0x6008, &s, 2);
	}
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &e->env, &res, &msg), 0);
	assert_string_equal(F->printed.buf, "-70000 -3\n");
	ax_point_options_release(&o);
	free(e);
}

static void test_gdb13_refused(void **state)
{
	struct ax_point_options o;
	char *msg = NULL;
	const char *z;

	(void)state;
	/* dprintf *0x6000,"%d %s\n", $rdi: gdb sends one argument for two
	 * conversions; refused when it arrives */
	z = ";cmds:1,X16,2600051640220022003401000825642025735c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg), -EINVAL);
	assert_has(msg, "command 1: bytecode: printf at 9: the format takes 2 arguments, the bytecode gives 1");
	free(msg);
	msg = NULL;
	/* dprintf *0x2000,"%f\n", 1.0: gdb sends a floating point format
	 * with an integer argument */
	z = ";cmds:1,X10,2201220022003401000525665c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg),
			 -EOPNOTSUPP);
	assert_has(msg, "%f (floating point) is not supported");
	free(msg);
	msg = NULL;
	/* dprintf *0x2000,"%lc\n", 1 */
	z = ";cmds:1,X11,22012200220034010006256c635c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg),
			 -EOPNOTSUPP);
	free(msg);
	msg = NULL;
	/* accepted: "%hd\n", 1 and "%ps\n", 1 ("%p" then "s": gdb's %ps
	 * styling is not for agents) and "%I64d\n", 1 */
	z = ";cmds:1,X11,220122002200340100062568645c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg), 0);
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &F->env, NULL, NULL), 0);
	assert_string_equal(F->printed.buf, "1\n");
	ax_point_options_release(&o);
	z = ";cmds:1,X11,220122002200340100062570735c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg), 0);
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &F->env, NULL, NULL), 0);
	assert_string_equal(F->printed.buf, "0x1s\n");
	ax_point_options_release(&o);
	z = ";cmds:1,X13,2201220022003401000825493634645c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg), 0);
	ax_point_options_release(&o);
	/* dprintf *0x6000,"\e\a\b\f\r\v\\\"\n" */
	z = ";cmds:1,X1c,22002200340000135c655c615c625c665c725c765c5c5c225c6e0027";
	assert_int_equal(ax_parse_point_options(z, strlen(z), &o, &msg), 0);
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &F->env, NULL, NULL), 0);
	assert_string_equal(F->printed.buf, "\x1b\a\b\f\r\v\\\"\n");
	ax_point_options_release(&o);
}

static void test_gdb13_i386(void **state)
{
	struct x86_env *e = x86_env_new(32);
	struct ax_point_options o;
	char *msg = NULL;

	(void)state;
	/* --bits 32: break *0xc1000100 if $edi == 3: edi is register 7,
	 * an int32: ext 32 */
	packet("Z0,c1000100,1;X9,260007162022031327", &o);
	e->regs.gpr[X86_RDI] = 0xffffffff00000003ull;	/* only 32 bits seen */
	assert_true(stops(&o, e));
	ax_point_options_release(&o);
	/* break *0xc1000200 if $cr3 == 0x1234: cr3 is register 21 here */
	packet("Z0,c1000200,1;Xa,26001516202312341327", &o);
	assert_string_equal(e->layout->regs[21].name, "cr3");
	e->regs.cr3 = 0x1234;
	assert_true(stops(&o, e));
	ax_point_options_release(&o);
	/* dprintf *0xc1000300,"eax=%u\n", $eax */
	packet("Z0,c1000300,1;cmds:1,X17,260000162022002200340100096561783d25755c"
	       "6e0027", &o);
	e->regs.gpr[X86_RAX] = 0xfffffffe;
	strbuf_reset(&F->printed);
	assert_int_equal(ax_eval(o.cmds[0], &e->env, NULL, &msg), 0);
	assert_string_equal(F->printed.buf, "eax=4294967294\n");
	ax_point_options_release(&o);
	free(e);
}

static void test_gdb13_tracepoints(void **state)
{
	const char *p, *end;
	struct ax_expr *x;
	struct ax_result res;
	char *msg = NULL;
	uint64_t v;

	(void)state;
	/* --trace: "collect *(long*)*(long*)$rsp, $rdi" and "teval $hits =
	 * $hits + 1" at tstart give
	 * QTDP:-1:ffffffff81000b00:X0000000E,2600072a400d081a164022080c27X0000000C,2c000122010216402d000127
	 * ($rdi goes in the register mask "R", not in bytecode) */
	p = "X0000000E,2600072a400d081a164022080c27X0000000C,2c000122010216402d000127";
	end = p + strlen(p);
	assert_int_equal(ax_parse_x(&p, end, &x, &msg), 0);
	set_reg(7, 0x1100);
	v = 0x1200;
	poke(0x1100, &v, 8);
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	/* the pointer, then what it points to */
	assert_string_equal(F->log.buf, "mem 0x1100 8;mem 0x1200 8;");
	assert_false(res.has_value);
	ax_free(x);
	assert_int_equal(ax_parse_x(&p, end, &x, &msg), 0);
	assert_true(p == end);
	F->tsv[1] = 41;
	F->tsv_known = 2;
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_int_equal(F->tsv[1], 42);
	ax_free(x);
	/* "trace ... if $hits > 10": QTDP:2:ffffffff81000c00:E:0:0:X8,2c0001220a2b1427- */
	p = "X8,2c0001220a2b1427-";
	assert_int_equal(ax_parse_x(&p, p + strlen(p), &x, &msg), 0);
	assert_string_equal(p, "-");
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_int_equal(res.value, 1);
	F->tsv[1] = 10;
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_int_equal(res.value, 0);
	ax_free(x);
	/* "collect $hits": getv 1; tracev 1; pop; end (so tracev leaves the
	 * stack alone): QTDP:-2:ffffffff81000c00:X00000008,2c00012e00012927 */
	p = "X00000008,2c00012e00012927";
	assert_int_equal(ax_parse_x(&p, p + strlen(p), &x, &msg), 0);
	assert_false(x->gives_value);
	strbuf_reset(&F->log);
	assert_int_equal(ax_eval(x, &F->env, &res, &msg), 0);
	assert_string_equal(F->log.buf, "tsv 1;");
	ax_free(x);
}

/* ---- the x86 register adapter ---- */

static void test_x86_read_reg(void **state)
{
	const struct x86_gdb_layout *l64 = x86_gdb_layout(64);
	const struct x86_gdb_layout *l32 = x86_gdb_layout(32);
	struct x86_regs r;
	char *msg = NULL;
	uint64_t v;

	(void)state;
	memset(&r, 0, sizeof(r));
	x86_set_valid_range(&r, XF_GPR0, XF_EFER);
	r.gpr[X86_RDI] = 0x8877665544332211ull;
	r.rflags = 0xffffffff00000246ull;
	r.cr3 = 0xabcd000;
	assert_int_equal(ax_x86_read_reg(&r, l64, 5, &v, &msg), 0);
	assert_int_equal(v, 0x8877665544332211ull);
	/* eflags is 32 bits in both layouts */
	assert_int_equal(ax_x86_read_reg(&r, l64, 17, &v, &msg), 0);
	assert_int_equal(v, 0x246);
	assert_int_equal(ax_x86_read_reg(&r, l64, 29, &v, &msg), 0);
	assert_int_equal(v, 0xabcd000);
	/* i386: edi is 7, 32 bits */
	assert_int_equal(ax_x86_read_reg(&r, l32, 7, &v, &msg), 0);
	assert_int_equal(v, 0x44332211);
	assert_int_equal(ax_x86_read_reg(&r, l32, 21, &v, &msg), 0);
	assert_int_equal(v, 0xabcd000);
	/* st0 is 80 bits */
	assert_int_equal(ax_x86_read_reg(&r, l64, 33, &v, &msg), -EOPNOTSUPP);
	assert_has(msg, "register 33 (st0) has 80 bits");
	free(msg);
	msg = NULL;
	assert_int_equal(ax_x86_read_reg(&r, l64, 500, &v, &msg), -EINVAL);
	assert_has(msg, "no register 500");
	free(msg);
	msg = NULL;
	x86_clear_valid(&r, XF_GPR0 + X86_RDI);
	assert_int_equal(ax_x86_read_reg(&r, l64, 5, &v, &msg), -ENODATA);
	assert_has(msg, "register 5 (rdi) is not known");
	free(msg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_arithmetic),
		T(test_shifts),
		T(test_logic),
		T(test_extension),
		T(test_constants),
		T(test_refs),
		T(test_failing_reads),
		T(test_division_by_zero),
		T(test_stack_ops),
		T(test_jumps),
		T(test_countdown_loop),
		T(test_reg),
		T(test_tsv),
		T(test_collection_order),
		T(test_tracenz_bounds),
		T(test_callback_failures),
		T(test_tracenz_across_pages),
		T(test_printf_integers),
		T(test_printf_guest_widths),
		T(test_printf_strings),
		T(test_printf_refused),
		T(test_printf_output_bound),
		T(test_budgets_of_loops),
		T(test_step_bound),
		T(test_stack_bound),
		T(test_malformed),
		T(test_unreachable_code_checked),
		T(test_what_it_uses),
		T(test_missing_callbacks),
		T(test_disassemble),
		T(test_point_options),
		T(test_point_options_commands),
		T(test_point_options_refused),
		T(test_conditions),
		T(test_gdb13_register_conditions),
		T(test_gdb13_memory_conditions),
		T(test_gdb13_dprintf),
		T(test_gdb13_refused),
		T(test_gdb13_i386),
		T(test_gdb13_tracepoints),
		T(test_x86_read_reg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
