// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer harness for the agent expressions (stub/agent/): arbitrary
 * bytecode is compiled and, when accepted, evaluated against a fake guest
 * whose memory fails on some pages; or arbitrary text is parsed as the
 * options of a breakpoint packet and what it holds is evaluated. Nothing
 * may crash, hang or grow without bound, and every answer must keep the
 * module's contracts (error codes, reasons, the bounds in ax.h).
 *
 * Input: byte 0 chooses: bit 0 bytecode (0) or packet text (1); bit 1 a
 * 32-bit guest; bits 2-3 the step bound. The rest is the payload.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub/agent/ax-packet.h"
#include "stub/agent/ax.h"
#include "stub/base/log.h"
#include "stub/base/strbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-agent: broken invariant: %s\n", what);
		abort();
	}
}

struct fuzz_env {
	struct ax_env env;
	int64_t tsv[16];
	unsigned tsv_known;
	uint64_t collects, printed, sum;
};

static struct fuzz_env *fenv(struct ax_env *env)
{
	return (struct fuzz_env *)((char *)env - offsetof(struct fuzz_env, env));
}

/* Canonical addresses whose page number is not 3 modulo 7 are readable;
 * bytes are a hash of the address, with a NUL now and then. */
static int byte_at(uint64_t a)
{
	uint64_t top = a >> 47, h;

	if ((top != 0 && top != 0x1ffff) || (a >> 12) % 7 == 3)
		return -1;
	h = (a * 0x9e3779b97f4a7c15ull) >> 56;
	return h % 37 == 0 ? 0 : (int)h;
}

static int f_read_mem(struct ax_env *env, uint64_t addr, void *buf,
		      size_t len, char **msg)
{
	uint8_t *b = buf;
	size_t i;

	(void)env;
	check(len >= 1 && len <= 64, "read_mem of 1 to 64 bytes");
	for (i = 0; i < len; i++) {
		int v = byte_at(addr + i);

		if (v < 0) {
			*msg = xstrfmt("no page at 0x%llx",
				       (unsigned long long)(addr + i));
			return -EFAULT;
		}
		b[i] = (uint8_t)v;
	}
	return 0;
}

static int f_read_reg(struct ax_env *env, unsigned regno, uint64_t *val,
		      char **msg)
{
	(void)env;
	if (regno >= 80) {
		if (regno & 1)
			*msg = xstrfmt("no register %u", regno);
		return -ENODATA;
	}
	*val = regno * 0x0101010101010101ull;
	return 0;
}

static int f_get_tsv(struct ax_env *env, unsigned num, int64_t *val,
		     char **msg)
{
	struct fuzz_env *f = fenv(env);

	(void)msg;
	if (num >= 16 || !(f->tsv_known >> num & 1))
		return -ENOENT;
	*val = f->tsv[num];
	return 0;
}

static int f_set_tsv(struct ax_env *env, unsigned num, int64_t val,
		     char **msg)
{
	struct fuzz_env *f = fenv(env);

	if (num >= 16) {
		*msg = xstrdup("too many variables");
		return -ENOENT;
	}
	f->tsv[num] = val;
	f->tsv_known |= 1u << num;
	return 0;
}

static int f_collect_mem(struct ax_env *env, uint64_t addr, uint64_t len,
			 char **msg)
{
	(void)addr;
	(void)msg;
	fenv(env)->collects++;
	/* a trace buffer that refuses huge blocks */
	return len > (1u << 20) ? -ENOSPC : 0;
}

static int f_collect_tsv(struct ax_env *env, unsigned num, char **msg)
{
	(void)msg;
	fenv(env)->collects++;
	return num < 16 ? 0 : -ENOENT;
}

static int f_print(struct ax_env *env, const char *text, size_t len,
		   char **msg)
{
	struct fuzz_env *f = fenv(env);
	size_t i;

	(void)msg;
	check(len <= AX_PRINTF_MAX, "a printf within AX_PRINTF_MAX");
	/* every byte of the text is readable */
	for (i = 0; i < len; i++)
		f->sum += (unsigned char)text[i];
	f->printed += len;
	check(f->printed <= AX_PRINTF_MAX, "one evaluation's printing bounded");
	return 0;
}

static const struct ax_env_ops fuzz_ops = {
	.read_reg = f_read_reg,
	.read_mem = f_read_mem,
	.get_tsv = f_get_tsv,
	.set_tsv = f_set_tsv,
	.collect_mem = f_collect_mem,
	.collect_tsv = f_collect_tsv,
	.print = f_print,
};

static const unsigned step_bounds[4] = { 5, 1000, 20000, 0 };

static void env_init(struct fuzz_env *f, uint8_t opt)
{
	memset(f, 0, sizeof(*f));
	f->env.ops = &fuzz_ops;
	f->env.long_bits = opt & 2 ? 32 : 64;
	f->env.ptr_bits = opt & 2 ? 32 : 64;
	f->env.max_steps = step_bounds[(opt >> 2) & 3];
	f->tsv_known = 0x5555;
}

static void check_compile_error(int rc, const char *msg)
{
	check(rc == -EINVAL || rc == -E2BIG || rc == -EOPNOTSUPP,
	      "compile: an unexpected error code");
	check(msg && *msg, "compile: an error without a reason");
}

/* Runs x twice in fresh environments: the same answer both times (no
 * hidden state), within the bounds. */
static void run(const struct ax_expr *x, uint8_t opt)
{
	unsigned bound = step_bounds[(opt >> 2) & 3];
	struct ax_result r1, r2;
	struct fuzz_env f;
	char *msg = NULL;
	int rc1, rc2;

	if (!bound)
		bound = AX_STEPS_DEFAULT;
	env_init(&f, opt);
	rc1 = ax_eval(x, &f.env, &r1, &msg);
	check(r1.steps <= bound, "steps within the bound");
	if (rc1) {
		check(rc1 == -EFAULT || rc1 == -EDOM || rc1 == -ELOOP ||
		      rc1 == -E2BIG || rc1 == -ENODATA || rc1 == -ENOENT ||
		      rc1 == -ENOSPC,
		      "eval: an unexpected error code");
		check(msg && *msg, "eval: an error without a reason");
		check(rc1 != -ELOOP || r1.steps == bound,
		      "a step error before the bound");
	} else {
		check(!msg, "eval: a reason for a success");
		check(!r1.has_value || x->max_depth > 0,
		      "a value from an expression that never pushes");
	}
	free(msg);
	msg = NULL;
	env_init(&f, opt);
	rc2 = ax_eval(x, &f.env, &r2, NULL);
	check(rc1 == rc2 && r1.steps == r2.steps &&
	      r1.has_value == r2.has_value && r1.value == r2.value,
	      "two evaluations that differ");
}

static void fuzz_bytecode(const uint8_t *code, size_t len, uint8_t opt)
{
	struct strbuf sb = STRBUF_INIT;
	struct ax_expr *x = (struct ax_expr *)1;
	char *msg = NULL;
	int rc;

	rc = ax_compile(code, len, &x, &msg);
	if (rc) {
		check_compile_error(rc, msg);
		check(!x, "an expression left behind on failure");
		free(msg);
		return;
	}
	check(!msg, "compile: a reason for a success");
	check(x->len == len && !memcmp(x->code, code, len), "the code kept as given");
	check(x->max_depth <= AX_STACK_MAX, "the stack within its bound");
	ax_disassemble(x, &sb);
	check(sb.len > 0, "an empty listing");
	strbuf_release(&sb);
	run(x, opt);
	ax_free(x);
}

static void fuzz_packet(const char *s, size_t len, uint8_t opt)
{
	struct ax_point_options o;
	struct fuzz_env f;
	char *msg = NULL;
	bool stop;
	size_t i;
	int rc;

	rc = ax_parse_point_options(s, len, &o, &msg);
	if (rc) {
		check_compile_error(rc, msg);
		check(!o.conds && !o.cmds && !o.nconds && !o.ncmds,
		      "options left behind on failure");
		free(msg);
		return;
	}
	check(!msg, "parse: a reason for a success");
	check(o.nconds <= AX_POINT_EXPRS_MAX && o.ncmds <= AX_POINT_EXPRS_MAX,
	      "more expressions than the bound");
	env_init(&f, opt);
	rc = ax_eval_conditions(o.conds, o.nconds, &f.env, &stop, &msg);
	check(!rc || stop, "a failed condition that does not stop");
	free(msg);
	for (i = 0; i < o.nconds; i++)
		run(o.conds[i], opt);
	for (i = 0; i < o.ncmds; i++)
		run(o.cmds[i], opt);
	ax_point_options_release(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		fuzz_packet((const char *)data + 1, size - 1, data[0]);
	else
		fuzz_bytecode(data + 1, size - 1, data[0]);
	return 0;
}
